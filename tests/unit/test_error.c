#include "tap.h"
#include <coren/error.h>
#include <coren/log.h>

static char last[256];
static void capture(enum coren_log_level level, const char *msg, void *data)
{
	snprintf(last, sizeof last, "%s:%s:%s", coren_log_level_name(level), msg,
		 (const char *)data);
}

int main(void)
{
	struct coren_error e = {0};
	int code;

	is_str(coren_strerror(COREN_OK), "success", "strerror OK");
	is_str(coren_strerror(COREN_ERR_NOMEM), "out of memory", "strerror NOMEM");
	is_str(coren_strerror((enum coren_err)999), "unknown error", "strerror out of range");
	for (code = 0; code < COREN_ERR__COUNT; code++)
		ok(coren_strerror((enum coren_err)code)[0] != '\0', "code %d has a message", code);

	is_int(coren_exit_code(COREN_OK), 0, "exit: ok is 0");
	is_int(coren_exit_code(COREN_ERR_RECORD), 5, "exit: bad record is 5");
	is_int(coren_exit_code(COREN_ERR_JSON), 5, "exit: bad JSON is 5");
	is_int(coren_exit_code(COREN_ERR_TOOLONG), 5, "exit: overlong record is 5");
	is_int(coren_exit_code(COREN_ERR_PLUGIN_ABI_MAJOR), 3, "exit: plugin failure is 3");
	is_int(coren_exit_code(COREN_ERR_PLUGIN_DLOPEN), 3, "exit: dlopen failure is 3");
	is_int(coren_exit_code(COREN_ERR_CONFIG), 2, "exit: config error is 2");
	is_int(coren_exit_code(COREN_ERR_IO), 2, "exit: I/O error is 2");
	is_int(coren_exit_code(COREN_ERR_NOTFOUND), 2, "exit: not found is 2");

	is_int(coren_error_set(&e, COREN_ERR_RECORD, "field '%s' is bad", "x"),
	       COREN_ERR_RECORD, "error_set returns its code");
	is_str(e.msg, "field 'x' is bad", "error_set formats");
	is_str(e.where, "", "error_set clears where");
	coren_error_at(&e, "stdin:%d", 12);
	is_str(e.where, "stdin:12", "error_at sets where");
	coren_error_at(&e, "other:%d", 1);
	is_str(e.where, "stdin:12", "error_at keeps an existing where");
	coren_error_clear(&e);
	ok(e.code == COREN_OK && !e.msg[0] && !e.where[0], "error_clear resets");
	is_int(coren_error_set(NULL, COREN_ERR_IO, "x"), COREN_ERR_IO, "error_set accepts NULL");

	coren_log(COREN_LOG_ERROR, "dropped");
	is_str(last, "", "log without handler drops");
	coren_log_set_handler(capture, "ud");
	coren_log(COREN_LOG_WARNING, "w %d", 1);
	is_str(last, "warning:w 1:ud", "log delivers with user data");
	coren_log(COREN_LOG_INFO, "hidden");
	is_str(last, "warning:w 1:ud", "log filters above the level");
	coren_log_set_level(COREN_LOG_DEBUG);
	ok(coren_log_enabled(COREN_LOG_DEBUG), "log level raised");
	coren_log(COREN_LOG_DEBUG, "d");
	is_str(last, "debug:d:ud", "debug delivered");
	return done_testing();
}
