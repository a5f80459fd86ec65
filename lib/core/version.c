/* version.c - the library's version. */
#include "config.h"

#include <coren/version.h>

const char *coren_version(void)
{
	return PACKAGE_VERSION;
}
