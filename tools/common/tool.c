/* tool.c - the conventions every coren command shares (tool.h). */
#include "config.h"

#include "tool.h"

#include <coren/log.h>
#include <coren/record.h>
#include <coren/units.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tool_common tool = {COREN_OUTPUT_AUTO, 0, 0, 1};
static const char *name = "coren";

static void log_to_stderr(enum coren_log_level level, const char *msg,
			  void *data)
{
	(void)data;
	fprintf(stderr, "%s: %s: %s\n", name, coren_log_level_name(level), msg);
}

/* Checks that everything written to stdout reached it (git's
 * run_builtin): a full disk must not pass as success. */
static void close_stdout(void)
{
	int failed = fflush(stdout) != 0 || ferror(stdout);

	if (fclose(stdout) != 0 && errno != EBADF)
		failed = 1;
	if (failed) {
		fprintf(stderr, "%s: error: write error on stdout: %s\n", name,
			strerror(errno));
		_exit(COREN_EXIT_USAGE);
	}
}

void tool_init(const char *tool_name_)
{
	name = tool_name_;
	signal(SIGPIPE, SIG_DFL);
	coren_log_set_handler(log_to_stderr, NULL);
	coren_log_set_level(COREN_LOG_WARNING);
	atexit(close_stdout);
}

const char *tool_name(void)
{
	return name;
}

int tool_parse_size(const char *s, size_t *out)
{
	uint64_t v;

	if (coren_unit_u64(s, COREN_UNIT_SIZE, &v, NULL) || v > SIZE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

int tool_parse_number(const char *s, double *out)
{
	return coren_unit_real(s, COREN_UNIT_RATE, out, NULL) ? -1 : 0;
}

int tool_parse_duration(const char *s, double *out)
{
	return coren_unit_real(s, COREN_UNIT_DURATION, out, NULL) ? -1 : 0;
}

double tool_number_option(const char *option, const char *arg, int duration)
{
	double v;

	if (duration ? tool_parse_duration(arg, &v) : tool_parse_number(arg, &v))
		tool_usage_error("invalid %s '%s'", option, arg);
	return v;
}

void tool_bad_record(const struct coren_error *err)
{
	if (err->code == COREN_ERR_IO || err->code == COREN_ERR_NOMEM ||
	    !tool.keep_going)
		tool_die_code(err, COREN_EXIT_RECORD);
	tool_report(err);
}

FILE *tool_open(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;

	if (!f) {
		fprintf(stderr, "%s: error: cannot open '%s': %s\n", name, path,
			strerror(errno));
		exit(COREN_EXIT_USAGE);
	}
	return f;
}

int tool_common_option(int c, const char *arg)
{
	switch (c) {
	case TOOL_OPT_JSON:
		tool.output = COREN_OUTPUT_JSON;
		return 1;
	case TOOL_OPT_TABLE:
		tool.output = COREN_OUTPUT_TABLE;
		return 1;
	case TOOL_OPT_MAX_RECORD:
		if (tool_parse_size(arg, &tool.max_record) || !tool.max_record)
			tool_usage_error("invalid --max-record '%s'", arg);
		return 1;
	case TOOL_OPT_KEEP_GOING:
		tool.keep_going = 1;
		return 1;
	case TOOL_OPT_VERSION:
		printf("%s (coren) %s\n", name, PACKAGE_VERSION);
		exit(COREN_EXIT_OK);
	case 'q':
		tool.verbosity = 0;
		coren_log_set_level(COREN_LOG_ERROR);
		return 1;
	case 'v':
		tool.verbosity++;
		coren_log_set_level(tool.verbosity > 2 ? COREN_LOG_DEBUG
							: COREN_LOG_INFO);
		return 1;
	case '?':
		/* getopt_long already said what was wrong */
		fprintf(stderr, "try '%s --help'\n", name);
		exit(COREN_EXIT_USAGE);
	}
	return 0;
}

/* The tables and texts --help prints, set by tool_parse. */
static struct {
	const struct coren_settings *tabs;
	size_t ntabs;
	const char *head, *tail;
} help_of;

enum coren_err tool_set_json(void *obj, const char *v, struct coren_error *err)
{
	(void)v, (void)err;
	((struct tool_common *)obj)->output = COREN_OUTPUT_JSON;
	return COREN_OK;
}

enum coren_err tool_set_table(void *obj, const char *v,
			      struct coren_error *err)
{
	(void)v, (void)err;
	((struct tool_common *)obj)->output = COREN_OUTPUT_TABLE;
	return COREN_OK;
}

enum coren_err tool_set_help(void *obj, const char *v, struct coren_error *err)
{
	char *opts = coren_settings_help(help_of.tabs, help_of.ntabs);

	(void)obj, (void)v, (void)err;
	fputs(help_of.head, stdout);
	fputs(opts ? opts : "", stdout);
	fputs(help_of.tail, stdout);
	free(opts);
	exit(COREN_EXIT_OK);
}

enum coren_err tool_set_version(void *obj, const char *v,
				struct coren_error *err)
{
	(void)obj, (void)v, (void)err;
	printf("%s (coren) %s\n", name, PACKAGE_VERSION);
	exit(COREN_EXIT_OK);
}

enum coren_err tool_set_quiet(void *obj, const char *v,
			      struct coren_error *err)
{
	(void)v, (void)err;
	((struct tool_common *)obj)->verbosity = 0;
	coren_log_set_level(COREN_LOG_ERROR);
	return COREN_OK;
}

enum coren_err tool_set_verbose(void *obj, const char *v,
				struct coren_error *err)
{
	struct tool_common *t = obj;

	(void)v, (void)err;
	t->verbosity++;
	coren_log_set_level(t->verbosity > 2 ? COREN_LOG_DEBUG
					     : COREN_LOG_INFO);
	return COREN_OK;
}

char *tool_wrap(const char *text, size_t col, size_t indent)
{
	size_t n = strlen(text), len = 0;
	char *out = malloc(n * (indent + 2) + 1);

	if (!out)
		abort();
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");

		if (col + w > 78 && col > indent) {
			len--; /* the space before the word */
			out[len++] = '\n';
			memset(out + len, ' ', indent);
			len += indent;
			col = indent;
		}
		memcpy(out + len, p, w);
		len += w;
		col += w;
		p += w;
		if (*p == ' ') {
			out[len++] = *p++;
			col++;
		}
	}
	out[len] = '\0';
	return out;
}

int tool_parse(const struct coren_settings *tabs, size_t ntabs,
	       const char *head, const char *tail, int argc, char **argv,
	       struct coren_setting_use **uses, size_t *nuses)
{
	struct coren_error err = {0};
	int next;

	help_of.tabs = tabs;
	help_of.ntabs = ntabs;
	help_of.head = head;
	help_of.tail = tail;
	if (coren_settings_argv(tabs, ntabs, argc, argv, uses, nuses, &next,
				&err)) {
		if (err.code != COREN_ERR_USAGE)
			tool_die(&err);
		tool_usage_error("%s", err.msg);
	}
	return next;
}

void tool_apply(const struct coren_setting_use *uses, size_t nuses)
{
	struct coren_error err = {0};

	if (coren_settings_apply_uses(uses, nuses, &err)) {
		if (err.code != COREN_ERR_USAGE)
			tool_die(&err);
		tool_usage_error("%s", err.msg);
	}
}

void tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry '%s --help'\n", name);
	exit(COREN_EXIT_USAGE);
}

void tool_report(const struct coren_error *err)
{
	if (err->where[0])
		fprintf(stderr, "%s: error (at %s): %s\n", name, err->where,
			err->msg);
	else
		fprintf(stderr, "%s: error: %s\n", name,
			err->msg[0] ? err->msg : coren_strerror(err->code));
}

void tool_warn(const char *fmt, ...)
{
	va_list ap;

	if (!tool.verbosity)
		return;
	fprintf(stderr, "%s: warning: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tool_die(const struct coren_error *err)
{
	tool_report(err);
	exit(coren_exit_code(err->code));
}

void tool_die_code(const struct coren_error *err, int status)
{
	tool_report(err);
	if (err->code == COREN_ERR_IO || err->code == COREN_ERR_NOMEM)
		status = coren_exit_code(err->code);
	exit(status);
}

void tool_cap(const char *path, struct coren_cap *cap)
{
	struct coren_probe_options po = {0};
	enum coren_probe_source src;
	struct coren_reader *r;
	struct coren_error err = {0};
	FILE *f;
	json_t *rec = NULL;

	if (!path) {
		po.max_age = 7 * 86400;
		if (coren_cap_get(&po, cap, &src, &err))
			tool_die(&err);
		return;
	}
	f = tool_open(path);
	r = coren_reader_new(f, path, tool.max_record);
	if (!r || coren_reader_next(r, &rec, &err))
		tool_die_code(&err, COREN_EXIT_USAGE);
	if (!rec || strcmp(coren_record_type(rec), "cap")) {
		coren_error_set(&err, COREN_ERR_RECORD, "no cap record in '%s'",
				path);
		tool_die_code(&err, COREN_EXIT_USAGE);
	}
	if (coren_cap_from_json(rec, cap, &err)) {
		coren_reader_locate(r, &err);
		tool_die_code(&err, COREN_EXIT_USAGE);
	}
	json_decref(rec);
	coren_reader_free(r);
	if (f != stdin)
		fclose(f);
}
