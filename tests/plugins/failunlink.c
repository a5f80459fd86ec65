/* failunlink - error injection for the tests (LD_PRELOAD): unlink() of a
 * path containing $COREN_FAIL_UNLINK fails with EACCES, as it would for a
 * user without write access (root ignores permissions, so the tests of
 * "cannot remove" need this). Every other call is the real unlink(). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int unlink(const char *path)
{
	static int (*real)(const char *);
	const char *mark = getenv("COREN_FAIL_UNLINK");

	if (mark && *mark && strstr(path, mark)) {
		errno = EACCES;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "unlink");
	return real ? real(path) : -1;
}
