/* tool.h - what every coren command does the same way (DESIGN §9):
 * its name on diagnostics, SIGPIPE, usage errors, error reports, checking
 * stdout at exit. Tools only: the library never prints. */
#ifndef COREN_TOOL_H
#define COREN_TOOL_H

#include <coren/cap.h>
#include <coren/error.h>
#include <coren/record.h>
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
