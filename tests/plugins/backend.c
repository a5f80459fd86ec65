/* A broken plugin for the loader's tests: a valid backend plugin (wrong kind for exec) */
#include <coren/plugin.h>

static const int ops = 1;

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_BACKEND, "backend", "1", NULL, &ops)
