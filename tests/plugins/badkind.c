/* A broken plugin for the loader's tests: an unknown kind */
#include <coren/plugin.h>

static const int ops = 1;

COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void);
COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void)
{
	static const struct coren_plugin_desc d = {
		COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR, sizeof d, 99, 0,
		"badkind", "1", NULL, &ops
	};
	return &d;
}
