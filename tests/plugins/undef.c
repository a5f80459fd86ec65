/* A broken plugin for the loader's tests: needs a symbol nothing defines (dlopen fails) */
#include <coren/plugin.h>

static const int ops = 1;

int coren_no_such_function(void);
COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "undef", "1", NULL, &ops)
COREN_PLUGIN_EXPORT int use_it(void);
COREN_PLUGIN_EXPORT int use_it(void)
{
	return coren_no_such_function();
}
