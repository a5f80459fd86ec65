/* A broken plugin for the loader's tests: describe() returns NULL */
#include <coren/plugin.h>

static const int ops = 1;

COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void);
COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void)
{
	return (void)ops, NULL;
}
