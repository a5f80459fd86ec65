/* coren/error.h - one error enum, error details, exit codes.
 *
 * Every fallible coren function returns an enum coren_err (COREN_OK is 0) and,
 * when given a non-NULL struct coren_error, fills it with a message and, where
 * known, the position of the offending input ("stdin:1532", "exp.yaml:12:5").
 * The library never prints and never exits: tools print the error.
 */
#ifndef COREN_ERROR_H
#define COREN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define COREN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define COREN_PRINTF(f, a)
#endif

enum coren_err {
	COREN_OK = 0,
	COREN_ERR_NOMEM,	 /* out of memory */
	COREN_ERR_IO,		 /* read, write or file system error */
	COREN_ERR_USAGE,	 /* invalid argument or option */
	COREN_ERR_JSON,		 /* input is not valid JSON */
	COREN_ERR_RECORD,	 /* valid JSON, but not a valid record */
	COREN_ERR_TOOLONG,	 /* record or buffer longer than its cap */
	COREN_ERR_CONFIG,	 /* invalid YAML configuration */
	COREN_ERR_NOTFOUND,	 /* file or plugin not found */
	COREN_ERR_PLUGIN_NOTREG, /* plugin path is not a regular file */
	COREN_ERR_PLUGIN_DLOPEN, /* dlopen() failed */
	COREN_ERR_PLUGIN_NOSYM,	 /* no coren_plugin_describe symbol */
	COREN_ERR_PLUGIN_DESC,	 /* descriptor missing or malformed */
	COREN_ERR_PLUGIN_ABI_MAJOR, /* plugin built for another ABI major */
	COREN_ERR_PLUGIN_ABI_MINOR, /* plugin built for a newer ABI minor */
	COREN_ERR_PLUGIN_KIND,	 /* unknown plugin kind, or not the kind wanted */
	COREN_ERR_BUSY,		 /* lock held elsewhere (non-blocking request) */
	COREN_ERR_CORRUPT,	 /* stored data failed verification */
	COREN_ERR_PARTIAL,	 /* some points or items failed, the rest is done */
	COREN_ERR_INTERRUPTED,	 /* stopped by a signal; finished work is kept */
	COREN_ERR_ENV_SHORT,	 /* envelope: buffer shorter than a header */
	COREN_ERR_ENV_MAGIC,	 /* envelope: bad magic */
	COREN_ERR_ENV_VERSION,	 /* envelope: unsupported version */
	COREN_ERR_ENV_TOOBIG,	 /* envelope: payload larger than 64 KiB */
	COREN_ERR_ENV_TRUNCATED, /* envelope: payload shorter than announced */
	COREN_ERR_ENV_CHECKSUM,	 /* envelope: payload CRC-32C mismatch */
	COREN_ERR_CLOCK_SKEW,	 /* HLC: remote clock too far ahead */
	COREN_ERR_FULL,		 /* queue or inbox full */
	COREN_ERR_TIMEOUT,	 /* deadline passed */
	COREN_ERR_STATE,	 /* not allowed in the current state */
	COREN_ERR_LIMIT,	 /* resource limit would be exceeded */
	COREN_ERR_PLUGIN_ELF,	 /* plugin file is not a well-formed shared object */
	COREN_ERR_PLUGIN_UNSAFE, /* plugin file or directory is world-writable */
	COREN_ERR__COUNT
};

/* Exit codes shared by every coren tool (coren(7)). */
enum coren_exit {
	COREN_EXIT_OK = 0,
	COREN_EXIT_NEGATIVE = 1, /* a negative answer: regression, damage found */
	COREN_EXIT_USAGE = 2,	 /* usage, configuration or I/O error */
	COREN_EXIT_PLUGIN = 3,	 /* plugin load failure */
	COREN_EXIT_PARTIAL = 4,	 /* partial failure: some points failed */
	COREN_EXIT_RECORD = 5,	 /* bad input record */
	COREN_EXIT_INCONCLUSIVE = 6 /* no answer: a test without the power to tell */
};

#define COREN_ERROR_WHERE_MAX 256
#define COREN_ERROR_MSG_MAX 1024

/* Details of the last error. Zero-initialise, or coren_error_clear(). */
struct coren_error {
	enum coren_err code;
	char where[COREN_ERROR_WHERE_MAX]; /* "file:line[:col]", or "" */
	char msg[COREN_ERROR_MSG_MAX];	   /* lowercase, no trailing period */
};

/* Short description of an error code ("out of memory"); never NULL. */
const char *coren_strerror(enum coren_err code);

/* The tool exit code for an error code (COREN_EXIT_*). */
int coren_exit_code(enum coren_err code);

/* Resets e to "no error". e may be NULL. */
void coren_error_clear(struct coren_error *e);

/* Records code and a printf-style message in e (which may be NULL), clears
 * e->where, and returns code, so that `return coren_error_set(...)` works. */
enum coren_err coren_error_set(struct coren_error *e, enum coren_err code,
			       const char *fmt, ...) COREN_PRINTF(3, 4);

/* Sets e->where (printf-style) unless it is already set. e may be NULL. */
void coren_error_at(struct coren_error *e, const char *fmt, ...)
	COREN_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif
