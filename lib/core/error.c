/* error.c - error codes, messages and exit codes. */
#include "config.h"

#include <coren/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[COREN_ERR__COUNT] = {
	[COREN_OK] = "success",
	[COREN_ERR_NOMEM] = "out of memory",
	[COREN_ERR_IO] = "input/output error",
	[COREN_ERR_USAGE] = "invalid argument",
	[COREN_ERR_JSON] = "invalid JSON",
	[COREN_ERR_RECORD] = "invalid record",
	[COREN_ERR_TOOLONG] = "too long",
	[COREN_ERR_CONFIG] = "invalid configuration",
	[COREN_ERR_NOTFOUND] = "not found",
	[COREN_ERR_PLUGIN_NOTREG] = "plugin is not a regular file",
	[COREN_ERR_PLUGIN_DLOPEN] = "plugin cannot be loaded",
	[COREN_ERR_PLUGIN_NOSYM] = "plugin has no descriptor symbol",
	[COREN_ERR_PLUGIN_DESC] = "plugin descriptor is malformed",
	[COREN_ERR_PLUGIN_ABI_MAJOR] = "plugin ABI major version differs",
	[COREN_ERR_PLUGIN_ABI_MINOR] = "plugin built for a newer ABI",
	[COREN_ERR_PLUGIN_KIND] = "plugin kind is wrong",
	[COREN_ERR_BUSY] = "resource busy",
	[COREN_ERR_CORRUPT] = "data is corrupt",
	[COREN_ERR_PARTIAL] = "some items failed",
	[COREN_ERR_INTERRUPTED] = "interrupted",
	[COREN_ERR_ENV_SHORT] = "envelope shorter than its header",
	[COREN_ERR_ENV_MAGIC] = "envelope has a bad magic",
	[COREN_ERR_ENV_VERSION] = "envelope version not supported",
	[COREN_ERR_ENV_TOOBIG] = "envelope payload too large",
	[COREN_ERR_ENV_TRUNCATED] = "envelope payload truncated",
	[COREN_ERR_ENV_CHECKSUM] = "envelope checksum mismatch",
	[COREN_ERR_CLOCK_SKEW] = "clock skew beyond the drift limit",
	[COREN_ERR_FULL] = "queue full",
	[COREN_ERR_TIMEOUT] = "timed out",
	[COREN_ERR_STATE] = "not allowed in this state",
	[COREN_ERR_LIMIT] = "resource limit exceeded",
	[COREN_ERR_PLUGIN_ELF] = "plugin is not a well-formed shared object",
	[COREN_ERR_PLUGIN_UNSAFE] = "plugin is world-writable",
};

const char *coren_strerror(enum coren_err code)
{
	if ((unsigned)code >= COREN_ERR__COUNT)
		return "unknown error";
	return messages[code];
}

int coren_exit_code(enum coren_err code)
{
	switch (code) {
	case COREN_OK:
		return COREN_EXIT_OK;
	case COREN_ERR_JSON:
	case COREN_ERR_RECORD:
	case COREN_ERR_TOOLONG:
	case COREN_ERR_ENV_SHORT:
	case COREN_ERR_ENV_MAGIC:
	case COREN_ERR_ENV_VERSION:
	case COREN_ERR_ENV_TOOBIG:
	case COREN_ERR_ENV_TRUNCATED:
	case COREN_ERR_ENV_CHECKSUM:
		return COREN_EXIT_RECORD;
	case COREN_ERR_PLUGIN_NOTREG:
	case COREN_ERR_PLUGIN_DLOPEN:
	case COREN_ERR_PLUGIN_NOSYM:
	case COREN_ERR_PLUGIN_DESC:
	case COREN_ERR_PLUGIN_ABI_MAJOR:
	case COREN_ERR_PLUGIN_ABI_MINOR:
	case COREN_ERR_PLUGIN_KIND:
	case COREN_ERR_PLUGIN_ELF:
	case COREN_ERR_PLUGIN_UNSAFE:
		return COREN_EXIT_PLUGIN;
	case COREN_ERR_CORRUPT:
		return COREN_EXIT_NEGATIVE;
	case COREN_ERR_PARTIAL:
		return COREN_EXIT_PARTIAL;
	default:
		return COREN_EXIT_USAGE;
	}
}

void coren_error_clear(struct coren_error *e)
{
	if (!e)
		return;
	e->code = COREN_OK;
	e->where[0] = '\0';
	e->msg[0] = '\0';
}

enum coren_err coren_error_set(struct coren_error *e, enum coren_err code,
			       const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	e->where[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

void coren_error_at(struct coren_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->where[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->where, sizeof e->where, fmt, ap);
	va_end(ap);
}
