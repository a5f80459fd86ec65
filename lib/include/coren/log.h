/* coren/log.h - the library's diagnostics go to a callback, never to a stream.
 *
 * By default messages are discarded. A tool installs a handler that prints
 * them to stderr with its name. Set the handler and level before starting
 * threads; coren_log() itself is thread-safe if the handler is.
 */
#ifndef COREN_LOG_H
#define COREN_LOG_H

#include <coren/error.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_log_level {
	COREN_LOG_ERROR = 0,
	COREN_LOG_WARNING = 1,
	COREN_LOG_INFO = 2,
	COREN_LOG_DEBUG = 3
};

typedef void coren_log_fn(enum coren_log_level level, const char *msg,
			  void *data);

/* Installs fn (NULL: discard messages); data is passed back to it. */
void coren_log_set_handler(coren_log_fn *fn, void *data);

/* Messages above max are not formatted nor delivered (default: WARNING). */
void coren_log_set_level(enum coren_log_level max);

/* Whether a message at level would be delivered. */
int coren_log_enabled(enum coren_log_level level);

/* Formats and delivers a message (at most 1023 bytes; longer is cut). */
void coren_log(enum coren_log_level level, const char *fmt, ...)
	COREN_PRINTF(2, 3);

/* Name of a level: "error", "warning", "info", "debug". */
const char *coren_log_level_name(enum coren_log_level level);

#ifdef __cplusplus
}
#endif
#endif
