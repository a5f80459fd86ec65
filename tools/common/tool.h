/* tool.h - what every coren command does the same way (DESIGN §9):
 * its name on diagnostics, SIGPIPE, usage errors, error reports, checking
 * stdout at exit. Tools only: the library never prints. */
#ifndef COREN_TOOL_H
#define COREN_TOOL_H

#include <coren/cap.h>
#include <coren/error.h>
#include <coren/record.h>
#include <coren/settings.h>
#include <stdnoreturn.h>

/* Long options every tool shares; a tool appends TOOL_COMMON_OPTIONS to its
 * getopt_long table and passes unknown codes to tool_common_option(). */
enum tool_option {
	TOOL_OPT_JSON = 0x100,
	TOOL_OPT_TABLE,
	TOOL_OPT_MAX_RECORD,
	TOOL_OPT_KEEP_GOING,
	TOOL_OPT_VERSION,
	TOOL_OPT__END
};

#define TOOL_COMMON_OPTIONS                                                  \
	{"json", no_argument, NULL, TOOL_OPT_JSON},                          \
	{"table", no_argument, NULL, TOOL_OPT_TABLE},                        \
	{"max-record", required_argument, NULL, TOOL_OPT_MAX_RECORD},        \
	{"keep-going", no_argument, NULL, TOOL_OPT_KEEP_GOING},              \
	{"version", no_argument, NULL, TOOL_OPT_VERSION},                    \
	{"help", no_argument, NULL, 'h'},                                    \
	{"quiet", no_argument, NULL, 'q'},                                   \
	{"verbose", no_argument, NULL, 'v'}

/* Rows of the shared options for a tool's settings table (their object
 * is the struct tool_common below; tool_parse gives it). */
enum coren_err tool_set_json(void *obj, const char *v, struct coren_error *err);
enum coren_err tool_set_table(void *obj, const char *v,
			      struct coren_error *err);
enum coren_err tool_set_help(void *obj, const char *v, struct coren_error *err);
enum coren_err tool_set_version(void *obj, const char *v,
				struct coren_error *err);
enum coren_err tool_set_quiet(void *obj, const char *v,
			      struct coren_error *err);
enum coren_err tool_set_verbose(void *obj, const char *v,
				struct coren_error *err);

#define TOOL_ROW_JSON                                                        \
	{COREN_ROW(CUSTOM, NULL, "json", 0, NULL,                            \
		   "JSON Lines output (default when stdout is not\n"          \
		   "a terminal)"),                                           \
	 .set = tool_set_json}
#define TOOL_ROW_TABLE                                                       \
	{COREN_ROW(CUSTOM, NULL, "table", 0, NULL,                           \
		   "an aligned table (default at a terminal)"),              \
	 .set = tool_set_table}
#define TOOL_ROW_MAX_RECORD                                                  \
	{COREN_ROW(SIZE, NULL, "max-record", 0, "SIZE",                      \
		   "longest input record (default 16MiB)"),                  \
	 .min = 1, COREN_SETTING_AT(struct tool_common, max_record)}
#define TOOL_ROW_KEEP_GOING(help)                                            \
	{COREN_ROW(FLAG, NULL, "keep-going", 0, NULL, help),                 \
	 COREN_SETTING_AT(struct tool_common, keep_going)}
#define TOOL_ROW_HELP                                                        \
	{COREN_ROW(CUSTOM, NULL, "help", 'h', NULL, "print this help"),      \
	 .set = tool_set_help}
#define TOOL_ROW_VERSION                                                     \
	{COREN_ROW(CUSTOM, NULL, "version", 0, NULL,                         \
		   "print the version"),                                     \
	 .set = tool_set_version}
#define TOOL_ROW_QUIET                                                       \
	{COREN_ROW(CUSTOM, NULL, "quiet", 'q', NULL,                         \
		   "errors only on stderr"),                                 \
	 .set = tool_set_quiet}
#define TOOL_ROW_VERBOSE                                                     \
	{COREN_ROW(CUSTOM, NULL, "verbose", 'v', NULL,                       \
		   "more on stderr (repeat for debugging)"),                 \
	 .set = tool_set_verbose}
#define TOOL_ROW_END {COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}

/* The shared rows of a tool that reads records (coren-cost,
 * coren-verdict): output form, --keep-going, --max-record and the rest. */
#define TOOL_ROWS_RECORDS(keep_going_help)                                   \
	TOOL_ROW_JSON, TOOL_ROW_TABLE, TOOL_ROW_KEEP_GOING(keep_going_help),   \
		TOOL_ROW_MAX_RECORD, TOOL_ROW_QUIET, TOOL_ROW_VERBOSE,       \
		TOOL_ROW_HELP, TOOL_ROW_VERSION, TOOL_ROW_END

/* Parses argv through the tool's tables (its own and &tool's rows): the
 * options without a YAML key act at once; the others are returned for
 * after the file (coren_settings_apply_uses). --help prints head, the
 * options generated from the rows, then tail. A bad option is a usage
 * error (exit 2). Returns the index of the first operand. */
int tool_parse(const struct coren_settings *tabs, size_t ntabs,
	       const char *head, const char *tail, int argc, char **argv,
	       struct coren_setting_use **uses, size_t *nuses);

/* text wrapped at 78 columns, starting at column col, continuation lines
 * indented (malloc'd). */
char *tool_wrap(const char *text, size_t col, size_t indent);

/* Applies what tool_parse kept for after the file; a usage error else. */
void tool_apply(const struct coren_setting_use *uses, size_t nuses);

/* Settings of the shared options. */
struct tool_common {
	enum coren_output_mode output;
	size_t max_record;
	int keep_going;
	int verbosity; /* 0 quiet, 1 default, 2+ verbose */
};

extern struct tool_common tool;

/* Sets the tool's name for diagnostics, restores SIGPIPE, installs the
 * library's log handler and the check of stdout at exit. */
void tool_init(const char *name);

/* The tool's name. */
const char *tool_name(void);

/* Handles a shared option (-q, -v, --json, ...). Returns 1 if c was one. */
int tool_common_option(int c, const char *arg);

/* Prints "NAME: MSG" and "try 'NAME --help'" on stderr; exits 2. */
noreturn void tool_usage_error(const char *fmt, ...) COREN_PRINTF(1, 2);

/* Prints "NAME: error (at WHERE): MSG" on stderr. */
void tool_report(const struct coren_error *err);

/* Prints "NAME: warning: MSG" unless quiet. */
void tool_warn(const char *fmt, ...) COREN_PRINTF(1, 2);

/* Reports err and exits with its exit code. */
noreturn void tool_die(const struct coren_error *err);

/* Reports err and exits with status (I/O and memory errors keep theirs). */
noreturn void tool_die_code(const struct coren_error *err, int status);

/* Parses a byte size ("16777216", "16MiB", "64k"); -1 if invalid. */
int tool_parse_size(const char *s, size_t *out);

/* Parses a non-negative number with an optional SI or IEC suffix ("1.5e9",
 * "125M", "1GiB", "10k"); -1 if invalid. */
int tool_parse_number(const char *s, double *out);

/* Parses a duration: seconds, or a number followed by ms, s, m, h or d;
 * -1 if invalid. */
int tool_parse_duration(const char *s, double *out);

/* The value arg of option: a number (tool_parse_number) or, when
 * duration, a duration; a usage error otherwise. */
double tool_number_option(const char *option, const char *arg, int duration);

/* A bad input record: dies (exit 5; I/O and memory errors keep their
 * codes) unless --keep-going, when it is reported on stderr and the caller
 * writes an error record and goes on. */
void tool_bad_record(const struct coren_error *err);

/* Opens FILE for reading ("-": stdin) or dies with exit 2. */
FILE *tool_open(const char *path);

/* The machine: the first record of path, which must be a cap record (else
 * exit 2), or with path NULL coren-probe's cached cap (measured and cached
 * when missing or older than a week). */
void tool_cap(const char *path, struct coren_cap *cap);

#endif
