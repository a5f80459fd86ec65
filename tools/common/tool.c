/* tool.c - the conventions every coren command shares (tool.h). */
#include "config.h"

#include "tool.h"

#include <coren/log.h>
#include <coren/record.h>
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
	static const struct {
		const char *suffix;
		unsigned long long mult;
	} units[] = {{"", 1},	      {"k", 1000},	{"K", 1000},
		     {"KiB", 1 << 10}, {"M", 1000000},	{"MiB", 1 << 20},
		     {"G", 1000000000}, {"GiB", 1 << 30}, {"B", 1}};
	unsigned long long v;
	char *end;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (!strcmp(end, units[i].suffix)) {
			if (v > SIZE_MAX / units[i].mult)
				return -1;
			*out = (size_t)(v * units[i].mult);
			return 0;
		}
	}
	return -1;
}

/* The multiplier of a suffix, 0 if unknown. */
static double suffix(const char *s)
{
	static const struct {
		const char *name;
		double mult;
	} units[] = {{"", 1},	       {"k", 1e3},	   {"K", 1e3},
		     {"M", 1e6},       {"G", 1e9},	   {"T", 1e12},
		     {"KB", 1e3},      {"MB", 1e6},	   {"GB", 1e9},
		     {"TB", 1e12},     {"KiB", 1024.0},	   {"MiB", 1048576.0},
		     {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
	size_t i;

	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(s, units[i].name))
			return units[i].mult;
	return 0;
}

int tool_parse_number(const char *s, double *out)
{
	double v, m;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v == HUGE_VAL ||
	    !(m = suffix(end)))
		return -1;
	*out = v * m;
	return 0;
}

int tool_parse_duration(const char *s, double *out)
{
	static const struct {
		const char *name;
		double mult;
	} units[] = {{"", 1}, {"s", 1}, {"ms", 1e-3}, {"m", 60},
		     {"h", 3600}, {"d", 86400}};
	double v;
	char *end;
	size_t i;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v == HUGE_VAL)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(end, units[i].name)) {
			*out = v * units[i].mult;
			return 0;
		}
	return -1;
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
