/* log.c - diagnostics through a caller-installed callback. */
#include "config.h"

#include <coren/log.h>
#include <stdarg.h>
#include <stdio.h>

static coren_log_fn *handler;
static void *handler_data;
static enum coren_log_level max_level = COREN_LOG_WARNING;

void coren_log_set_handler(coren_log_fn *fn, void *data)
{
	handler = fn;
	handler_data = data;
}

void coren_log_set_level(enum coren_log_level max)
{
	max_level = max;
}

int coren_log_enabled(enum coren_log_level level)
{
	return handler && level <= max_level;
}

void coren_log(enum coren_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!coren_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	handler(level, msg, handler_data);
}

const char *coren_log_level_name(enum coren_log_level level)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	if ((unsigned)level > COREN_LOG_DEBUG)
		return "debug";
	return names[level];
}
