/* A broken plugin for the loader's tests: built for ABI major 2 */
#include <coren/plugin.h>

static const int ops = 1;

COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void);
COREN_PLUGIN_EXPORT const struct coren_plugin_desc *coren_plugin_describe(void)
{
	static const struct coren_plugin_desc d = {
		2, 0, sizeof d, COREN_PLUGIN_EXEC, 0, "abi_major", "1", NULL, &ops
	};
	return &d;
}
