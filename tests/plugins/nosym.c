/* A broken plugin for the loader's tests: no coren_plugin_describe symbol */
#include <coren/plugin.h>

static const int ops = 1;

COREN_PLUGIN_EXPORT int something_else(void);
COREN_PLUGIN_EXPORT int something_else(void)
{
	return ops;
}
