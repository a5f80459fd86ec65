/* rk-bench - benchmarks with sound statistics, baselines and regression
 * gates (rk-bench(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/bench.h>
#include <coren/buf.h>
#include <coren/cap.h>
#include <coren/json.h>
#include <coren/progress.h>
#include <coren/record.h>
#include <coren/units.h>
#include <math.h>
#include <stdnoreturn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_head[] =
	"usage: rk-bench [OPTION]... WORKLOAD...\n"
	"       rk-bench [OPTION]... --all\n"
	"       rk-bench [OPTION]... --cmd COMMAND [--cmd COMMAND]...\n"
	"       rk-bench [OPTION]... --analyze [FILE]...\n"
	"Benchmarks workloads (built in or plugins; --all: every built-in),\n"
	"shell commands, or timings read from input; reports mean,\n"
	"median, spread, Student-t confidence intervals, outliers and scaling;\n"
	"compares with a baseline and exits 1 on a significant regression.\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"Exit status: 0 ok, 1 regression found, 2 usage, I/O or measurement\n"
	"error, 3 plugin load failure, 5 bad input record, 6 inconclusive: a\n"
	"comparison could not detect a change of the threshold's size. See\n"
	"rk-bench(1).\n";

static struct rk_opts {
	struct coren_bench_opts run;
	const struct coren_bench_preset *preset;
	int warmup, runs; /* -1: the preset's */
	int fixed;	  /* --runs N: exactly N, no more */
	unsigned max_runs;
	double budget;	  /* < 0: the preset's */
	struct coren_bench_until until;
	json_t *base_map; /* the baseline's records by key */
	char *base_machine;
	double threshold; /* < 0: the preset's */
	double confidence;
	char **cmds, **names; /* --cmd, -n: NULL-terminated (STRINGS rows) */
	size_t ncmds, nnames; /* their counts, once parsed */
	const char *prepare;
	const char *shell;
	struct coren_bench_param params[8];
	size_t nparams;
	const char *scan_step; /* -D */
	const char *scan_name, *scan_min, *scan_max;
	const char *export_json, *export_csv, *export_md;
	int progress, all;
	unsigned plot_flags;	/* from plot_log */
	bool plot_log, ignore_failure, show_output;
	int no_overhead;
	unsigned cmd_flags;
	int analyze, list;
	const char *dirs[17];
	size_t ndirs;
	uint64_t sizes[64];
	size_t nsizes;
	int want_time, want_tp, want_insn, metrics_set;
	uint64_t insn_iters;
	const char *save, *baseline, *plot;
	int format; /* -1: by stdout */
	int insn_child, callgrind;
	uint64_t child_size;
} opt;

static struct coren_error err;
static char machine[17];
static json_t *errors;	    /* error records of bad input (--keep-going) */
static unsigned long nbad; /* how many */
static size_t ninconclusive; /* comparisons that could not see the threshold */

/* Reads the baseline before measuring: --runs auto aims at it. */
static void load_baseline(void)
{
	if (coren_bench_baseline_load(opt.baseline, &opt.base_map, &opt.base_machine,
				      &err))
		tool_die(&err);
	if (opt.base_machine && *machine && strcmp(opt.base_machine, machine))
		tool_warn("baseline '%s' was measured on another machine (%s, this is "
			  "%s): timings may not compare", opt.baseline, opt.base_machine,
			  machine);
}

static void say(const char *fmt, ...) COREN_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;

	if (tool.verbosity < 2)
		return;
	fprintf(stderr, "rk-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- options ------------------------------------------------------- */

static void parse_sizes(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	double v;

	if (!copy)
		tool_usage_error("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t z;

		if (!tool_parse_size(tok, &z))
			v = (double)z;
		else if (tool_parse_number(tok, &v) || v != floor(v))
			tool_usage_error("--sizes: '%s' is not a size", tok);
		if (v < 1)
			tool_usage_error("--sizes: '%s' is not a size of at least 1", tok);
		if (opt.nsizes == sizeof opt.sizes / sizeof opt.sizes[0])
			tool_usage_error("--sizes: at most 64 sizes");
		opt.sizes[opt.nsizes++] = (uint64_t)v;
	}
	free(copy);
	if (!opt.nsizes)
		tool_usage_error("--sizes: no size in '%s'", arg);
}

static void parse_metrics(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (!copy)
		tool_usage_error("out of memory");
	opt.want_time = opt.want_tp = opt.want_insn = 0;
	opt.metrics_set = 1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "time"))
			opt.want_time = 1;
		else if (!strcmp(tok, "throughput"))
			opt.want_tp = 1;
		else if (!strcmp(tok, "instructions"))
			opt.want_insn = 1;
		else
			tool_usage_error("--metrics: unknown metric '%s' (time, "
					 "throughput, instructions)", tok);
	}
	free(copy);
}

static double threshold_option(const char *arg)
{
	size_t n = strlen(arg);
	char *end;
	double v = strtod(arg, &end);

	if (n && arg[n - 1] == '%' && end == arg + n - 1)
		v /= 100;
	else if (!n || *end)
		v = -1;
	if (!(v > 0 && v < 10))
		tool_usage_error("--threshold '%s': a fraction like 0.1 or 10%%",
				 arg);
	return v;
}

/* A parameter of the commands: -L (list), else --parameter-scan. */
static void add_param(const char *name, const char *a, const char *max,
		      const char *step)
{
	struct coren_bench_param *p = &opt.params[opt.nparams];
	size_t i;

	if (opt.nparams == sizeof opt.params / sizeof opt.params[0])
		tool_usage_error("at most 8 parameters");
	for (i = 0; i < opt.nparams; i++)
		if (!strcmp(opt.params[i].name, name))
			tool_usage_error("parameter '%s' given twice", name);
	if (max ? coren_bench_param_scan(name, a, max, step, p, &err)
		: coren_bench_param_list(name, a, p, &err))
		tool_usage_error("%s", err.msg);
	opt.nparams++;
}

/* --sizes with --cmd: {size} takes each size. */
static void sizes_param(void)
{
	char list[64 * 24] = "", *at = list;
	size_t i;

	for (i = 0; i < opt.nsizes; i++)
		at += sprintf(at, "%s%llu", i ? "," : "", (unsigned long long)opt.sizes[i]);
	for (i = 0; i < opt.ncmds; i++)
		if (!strstr(opt.cmds[i], "{size}"))
			tool_usage_error("--sizes with --cmd: '%s' has no {size} to "
					 "replace", opt.cmds[i]);
	add_param("size", list, NULL, NULL);
}

static enum coren_err set_list(void *o, const char *name, char *const *more,
			       struct coren_error *e)
{
	(void)o, (void)e;
	add_param(name, more[0], NULL, NULL);
	return COREN_OK;
}

static enum coren_err set_scan(void *o, const char *name, char *const *more,
			       struct coren_error *e)
{
	(void)o, (void)e;
	opt.scan_name = name;
	opt.scan_min = more[0];
	opt.scan_max = more[1];
	return COREN_OK;
}

static enum coren_err set_no_shell(void *o, const char *v,
				   struct coren_error *e)
{
	(void)o, (void)v, (void)e;
	opt.shell = "none";
	return COREN_OK;
}

static enum coren_err set_dir(void *o, const char *v, struct coren_error *e)
{
	(void)o, (void)e;
	if (opt.ndirs == 16)
		tool_usage_error("at most 16 --plugin-dir");
	opt.dirs[opt.ndirs++] = v;
	return COREN_OK;
}

static enum coren_err set_preset(void *o, const char *v, struct coren_error *e)
{
	(void)o, (void)e;
	if (!(opt.preset = coren_bench_preset(v)))
		tool_usage_error("--preset '%s': one of quick, default, ci, "
				 "comprehensive", v);
	return COREN_OK;
}

/* A count of runs, 1..1000000, through the unit grammar. */
static unsigned runs_of(const char *name, const char *v)
{
	struct coren_error e = {0};
	uint64_t n;

	if (coren_unit_u64(v, COREN_UNITS_COUNT, &n, &e) || n < 1 || n > 1000000)
		tool_usage_error("%s '%s': a count from 1 to 1000000%s", name, v,
				 strcmp(name, "--runs") ? "" : ", or auto");
	return (unsigned)n;
}

static enum coren_err set_runs(void *o, const char *v, struct coren_error *e)
{
	(void)o, (void)e;
	opt.fixed = strcmp(v, "auto") != 0;
	if (opt.fixed)
		opt.runs = (int)runs_of("--runs", v);
	return COREN_OK;
}

static enum coren_err set_min_runs(void *o, const char *v,
				   struct coren_error *e)
{
	(void)o, (void)e;
	opt.runs = (int)runs_of("--min-runs", v);
	opt.fixed = 0;
	return COREN_OK;
}

static enum coren_err set_max_runs(void *o, const char *v,
				   struct coren_error *e)
{
	(void)o, (void)e;
	opt.max_runs = runs_of("--max-runs", v);
	opt.fixed = 0;
	return COREN_OK;
}

static enum coren_err set_sizes(void *o, const char *v, struct coren_error *e)
{
	(void)o, (void)e;
	parse_sizes(v);
	return COREN_OK;
}

static enum coren_err set_metrics(void *o, const char *v,
				  struct coren_error *e)
{
	(void)o, (void)e;
	parse_metrics(v);
	return COREN_OK;
}

static enum coren_err set_confidence(void *o, const char *v,
				     struct coren_error *e)
{
	(void)o;
	if (coren_unit_real(v, COREN_UNITS_RATE, &opt.confidence, e) ||
	    !(opt.confidence > 0 && opt.confidence < 1))
		tool_usage_error("--confidence '%s': a level in (0, 1)", v);
	return COREN_OK;
}

static enum coren_err set_threshold(void *o, const char *v,
				    struct coren_error *e)
{
	(void)o, (void)e;
	opt.threshold = threshold_option(v);
	return COREN_OK;
}

static enum coren_err set_format(void *o, const char *v, struct coren_error *e)
{
	(void)o, (void)e;
	if ((opt.format = coren_bench_format_parse(v)) < 0)
		tool_usage_error("--format '%s': one of markdown, json, latex, tsv, "
				 "jsonl", v);
	return COREN_OK;
}

static enum coren_err set_plot(void *o, const char *v, struct coren_error *e)
{
	(void)o;
	if (coren_bench_plot_check(v, e))
		tool_usage_error("%s", e->msg);
	opt.plot = v;
	return COREN_OK;
}

#define OPT(member) COREN_SETTING_AT(struct rk_opts, member)

/* An rk-bench run's settings. */
static const struct coren_setting rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "What to measure:")},
	{COREN_ROW(STRINGS, NULL, "cmd", 0, "COMMAND",
		   "time a shell command (sh -c), like hyperfine;\n"
		   "repeat for several"),
	 OPT(cmds)},
	{COREN_ROW(STRINGS, NULL, "name", 'n', "NAME",
		   "a --cmd's name in reports: the first -n names\n"
		   "the first --cmd, and so on"),
	 OPT(names)},
	{COREN_ROW(STRING, NULL, "prepare", 0, "COMMAND",
		   "run before every run of a command, untimed"),
	 OPT(prepare)},
	{COREN_ROW(CUSTOM, NULL, "parameter-list", 'L', "NAME A,B,C",
		   "run each --cmd once per value, {NAME} replaced"),
	 .extra = 1, .set_more = set_list},
	{COREN_ROW(CUSTOM, NULL, "parameter-scan", 0, "NAME MIN MAX",
		   "the same for MIN, MIN + STEP, ... MAX"),
	 .extra = 2, .set_more = set_scan},
	{COREN_ROW(STRING, NULL, "parameter-step-size", 'D', "STEP",
		   "the scan's step (default 1)"),
	 OPT(scan_step)},
	{COREN_ROW(STRING, NULL, "shell", 0, "SHELL",
		   "run commands with SHELL -c (default /bin/sh)"),
	 OPT(shell)},
	{COREN_ROW(CUSTOM, NULL, NULL, 'N', NULL,
		   "no shell: split commands into words"),
	 .set = set_no_shell},
	{COREN_ROW(FLAG, NULL, "no-overhead", 0, NULL,
		   "do not subtract the shell's start-up time"),
	 OPT(no_overhead)},
	{COREN_ROW(FLAG, NULL, "ignore-failure", 'i', NULL,
		   "time commands that exit non-zero"),
	 OPT(ignore_failure)},
	{COREN_ROW(FLAG, NULL, "show-output", 0, NULL,
		   "keep the commands' stderr"),
	 OPT(show_output)},
	{COREN_ROW(FLAG, NULL, "analyze", 0, NULL,
		   "read timing records (bench records, or objects\n"
		   "with time, seconds, times, samples or value, or\n"
		   "bare numbers of seconds) from FILEs or stdin"),
	 OPT(analyze)},
	{COREN_ROW(FLAG, NULL, "all", 0, NULL, "every built-in workload"),
	 OPT(all)},
	{COREN_ROW(FLAG, NULL, "list", 0, NULL,
		   "list the workloads and exit"),
	 OPT(list)},
	{COREN_ROW(CUSTOM, NULL, "plugin-dir", 0, "DIR",
		   "look for workload plugins in DIR first"),
	 .set = set_dir},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nHow:")},
	{COREN_ROW(CUSTOM, NULL, "preset", 0, "NAME",
		   "quick (1 warm-up, 3 runs or more, threshold\n"
		   "15%, 2 s budget), default (3, 5, 10%, 5 s),\n"
		   "ci (2, 5, 10%, 10 s), comprehensive (5, 10,\n"
		   "5%, 30 s)"),
	 .set = set_preset},
	{COREN_ROW(COUNT, NULL, "warmup", 'w', "N",
		   "untimed runs first (overrides the preset)"),
	 .max = 1e6, OPT(warmup)},
	{COREN_ROW(CUSTOM, NULL, "runs", 'r', "N|auto",
		   "N timed runs (samples), at least 1; auto (the\n"
		   "presets' way): more runs until a change of the\n"
		   "threshold's size is detectable, or the budget\n"
		   "ends"),
	 .set = set_runs},
	{COREN_ROW(CUSTOM, NULL, "min-runs", 'm', "N",
		   "auto, with at least N runs (default: the preset's)"),
	 .set = set_min_runs},
	{COREN_ROW(CUSTOM, NULL, "max-runs", 'M', "N",
		   "auto, with at most N runs (default 1000)"),
	 .set = set_max_runs},
	{COREN_ROW(DURATION, NULL, "budget", 0, "DURATION",
		   "auto: timed runs of one benchmark take at most\n"
		   "this long (default: the preset's)"),
	 OPT(budget)},
	{COREN_ROW(CUSTOM, NULL, "sizes", 0, "LIST",
		   "workload sizes, e.g. 4k,64k,1M (default: each\n"
		   "workload's own sweep); with --cmd: {size}\n"
		   "replaced, and the size kept"),
	 .set = set_sizes},
	{COREN_ROW(DURATION, NULL, "min-time", 0, "DURATION",
		   "a workload sample lasts at least this long; the\n"
		   "iteration count scales up to it (default 50ms)"),
	 OPT(run.min_time)},
	{COREN_ROW(DURATION, NULL, "timeout", 0, "DURATION",
		   "a command run, or one workload iteration, may\n"
		   "take this long (default: none)"),
	 OPT(run.timeout)},
	{COREN_ROW(CUSTOM, NULL, "metrics", 0, "LIST",
		   "time, throughput, instructions (default:\n"
		   "time,throughput; time for --cmd)"),
	 .set = set_metrics},
	{COREN_ROW(COUNT, NULL, "insn-iterations", 0, "N",
		   "iterations counted for instructions (default 10)"),
	 .min = 1, .max = 1e6, OPT(insn_iters)},
	{COREN_ROW(FLAG, NULL, "callgrind", 0, NULL,
		   "count instructions with callgrind even where a\n"
		   "perf counter exists (as a baseline made by it)"),
	 OPT(callgrind)},
	{COREN_ROW(CUSTOM, NULL, "confidence", 0, "P",
		   "of the intervals (default 0.95)"),
	 .set = set_confidence},
	{COREN_ROW(FLAG, NULL, "insn-child", 0, NULL, NULL), OPT(insn_child)},
	{COREN_ROW(COUNT, NULL, "child-size", 0, "N", NULL), OPT(child_size)},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nBaselines and reports:")},
	{COREN_ROW(STRING, NULL, "save-baseline", 0, "FILE",
		   "write the results as a baseline"),
	 OPT(save)},
	{COREN_ROW(STRING, NULL, "baseline", 0, "FILE",
		   "compare with a baseline: a change beyond the\n"
		   "threshold with p < 0.05 (Welch) is a regression;\n"
		   "one that could not be seen (power 80%) is\n"
		   "inconclusive"),
	 OPT(baseline)},
	{COREN_ROW(CUSTOM, NULL, "threshold", 0, "X",
		   "relative change that counts (0.1 or 10%)"),
	 .set = set_threshold},
	{COREN_ROW(CUSTOM, NULL, "format", 0, "FORMAT",
		   "markdown, json, latex, tsv or jsonl (default:\n"
		   "markdown on a terminal, else jsonl records)"),
	 .set = set_format},
	{COREN_ROW(CUSTOM, NULL, "plot", 0, "FILE",
		   "draw FILE.svg or FILE.png with gnuplot: means\n"
		   "with confidence intervals, box and whiskers,\n"
		   "throughput, changes; y axes from zero"),
	 .set = set_plot},
	{COREN_ROW(FLAG, NULL, "plot-log", 0, NULL,
		   "a logarithmic y axis instead"),
	 OPT(plot_log)},
	{COREN_ROW(STRING, NULL, "export-json", 0, "FILE",
		   "command timings as hyperfine writes them"),
	 OPT(export_json)},
	{COREN_ROW(STRING, NULL, "export-csv", 0, "FILE", "the same, as CSV"),
	 OPT(export_csv)},
	{COREN_ROW(STRING, NULL, "export-markdown", 0, "FILE",
		   "the same, as a markdown table"),
	 OPT(export_md)},
	{COREN_ROW(FLAG, NULL, "progress", 0, NULL,
		   "a progress bar even when stderr is no terminal"),
	 OPT(progress)},
	TOOL_ROW_END};

static const struct coren_setting common_rows[] = {
	{COREN_ROW(CUSTOM, NULL, "json", 0, NULL, "jsonl records"),
	 .set = tool_set_json},
	{COREN_ROW(CUSTOM, NULL, "table", 0, NULL, "the markdown report"),
	 .set = tool_set_table},
	TOOL_ROW_KEEP_GOING("--analyze: report a bad record as an error\n"
			    "record, go on"),
	TOOL_ROW_MAX_RECORD,
	TOOL_ROW_QUIET,
	{COREN_ROW(CUSTOM, NULL, "verbose", 'v', NULL, "progress on stderr"),
	 .set = tool_set_verbose},
	TOOL_ROW_HELP,
	TOOL_ROW_VERSION,
	TOOL_ROW_END};

static void parse_options(int argc, char **argv)
{
	const struct coren_settings tabs[] = {{rows, &opt},
					      {common_rows, &tool}};
	struct coren_setting_use *uses;
	size_t nuses;

	opt.preset = coren_bench_preset("default");
	opt.warmup = opt.runs = -1;
	opt.threshold = -1;
	opt.budget = -1;
	opt.max_runs = 1000;
	opt.confidence = 0.95;
	opt.run.min_time = 0.05;
	opt.insn_iters = 10;
	opt.format = -1;
	opt.want_time = opt.want_tp = 1;
	/* the operands from optind on (getopt's, as the rest of rk-bench reads) */
	optind = tool_parse(tabs, 2, usage_head, usage_tail, argc, argv, &uses,
			    &nuses);
	free(uses);
	while (opt.cmds && opt.cmds[opt.ncmds])
		opt.ncmds++;
	while (opt.names && opt.names[opt.nnames])
		opt.nnames++;
	opt.cmd_flags = (opt.ignore_failure ? COREN_BENCH_CMD_IGNORE_FAILURE : 0) |
			(opt.show_output ? COREN_BENCH_CMD_STDERR : 0);
	opt.plot_flags = opt.plot_log ? COREN_BENCH_PLOT_LOG : 0;
	opt.run.warmup = opt.warmup >= 0 ? (unsigned)opt.warmup : opt.preset->warmup;
	opt.run.runs = opt.runs >= 0 ? (unsigned)opt.runs : opt.preset->runs;
	if (opt.threshold < 0)
		opt.threshold = opt.preset->threshold;
	if (opt.budget < 0)
		opt.budget = opt.preset->budget;
	if (!opt.fixed && opt.max_runs < opt.run.runs)
		tool_usage_error("--max-runs %u is below the %u runs asked", opt.max_runs,
				 opt.run.runs);
	opt.until.target = opt.fixed ? 0 : opt.threshold;
	opt.until.budget = opt.budget;
	opt.until.max_runs = opt.fixed ? opt.run.runs : opt.max_runs;
	if (opt.ncmds && opt.analyze)
		tool_usage_error("--cmd and --analyze do not mix");
	if (opt.ncmds && optind < argc)
		tool_usage_error("--cmd and workloads do not mix ('%s')", argv[optind]);
	if (opt.nnames > opt.ncmds)
		tool_usage_error("more --name than --cmd");
	if (opt.ncmds && !opt.metrics_set)
		opt.want_tp = 0;
	if (opt.ncmds && opt.metrics_set && !opt.want_time && !opt.want_insn)
		tool_usage_error("--metrics: a command has no throughput; time or "
				 "instructions");
	if (opt.scan_name)
		add_param(opt.scan_name, opt.scan_min, opt.scan_max, opt.scan_step ? opt.scan_step : NULL);
	else if (opt.scan_step)
		tool_usage_error("-D needs --parameter-scan");
	if ((opt.nparams || opt.shell || opt.export_json || opt.export_csv || opt.export_md) &&
	    !opt.ncmds)
		tool_usage_error("-L, --parameter-scan, --shell and --export-* are for --cmd");
	if (opt.ncmds && opt.nsizes)
		sizes_param();
	if (opt.all && (opt.ncmds || opt.analyze || optind < argc))
		tool_usage_error("--all runs the built-in workloads, and nothing else");
	if (!opt.ncmds && !opt.analyze && !opt.list && !opt.all && !opt.insn_child &&
	    optind == argc) {
		fprintf(stderr, "%.*s", (int)(strstr(usage_head, "Benchmarks") - usage_head),
			usage_head);
		tool_usage_error("nothing to measure: name workloads (--list), --all, "
				 "--cmd or --analyze");
	}
	if (!opt.want_time && !opt.want_tp && !opt.want_insn)
		tool_usage_error("--metrics: nothing to measure");
}

/* ---- measuring ----------------------------------------------------- */

static void add(json_t *recs, json_t *rec)
{
	if (!rec || json_array_append_new(recs, rec))
		tool_die(&err);
}

/* Instructions per iteration of w at size: perf_event_open, else the
 * region counted by callgrind in a child rk-bench. */
static int instructions(const char *spec, const struct coren_workload *w,
			uint64_t size, double *per_iter)
{
	char self[4096], sz[32], it[32];
	const char *argv[48];
	size_t n = 0, i;
	double total;
	ssize_t len;

	if (!opt.callgrind) {
		if (!coren_bench_instructions(w, size, opt.insn_iters, per_iter, &err))
			return 0;
		if (err.code != COREN_ERR_NOTFOUND)
			tool_die(&err);
		say("%s", err.msg);
	}
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		return -1;
	self[len] = '\0';
	snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
	snprintf(it, sizeof it, "%llu", (unsigned long long)opt.insn_iters);
	argv[n++] = self;
	argv[n++] = "--insn-child";
	argv[n++] = "--child-size";
	argv[n++] = sz;
	argv[n++] = "--insn-iterations";
	argv[n++] = it;
	for (i = 0; i < opt.ndirs; i++) {
		argv[n++] = "--plugin-dir";
		argv[n++] = opt.dirs[i];
	}
	argv[n++] = spec;
	argv[n] = NULL;
	if (coren_bench_callgrind(argv, COREN_BENCH_REGION, &total, &err)) {
		if (err.code == COREN_ERR_NOTFOUND)
			return -1;
		tool_die(&err);
	}
	*per_iter = total / (double)opt.insn_iters;
	return 0;
}

/* The --insn-child side: one iteration to warm, then the counted region. */
static int insn_child(const char *spec)
{
	struct coren_workload w;
	void *state = NULL;

	if (coren_workload_open(spec, opt.ndirs ? opt.dirs : NULL, &w, &err) ||
	    w.ops->setup(opt.child_size, &state, &err) || w.ops->run(state, 1, &err) ||
	    coren_bench_region(&w, state, opt.insn_iters, &err))
		tool_die(&err);
	if (w.ops->teardown)
		w.ops->teardown(state);
	coren_workload_release(&w);
	return 0;
}

/* The until of one benchmark: the options', with the baseline's time
 * record of this key when there is one. */
static const struct coren_bench_until *until_for(const char *name, uint64_t size,
						 const char *backend,
						 struct coren_bench_until *u)
{
	const json_t *base;
	char *key;

	*u = opt.until;
	if (!opt.base_map ||
	    asprintf(&key, "%s|%llu|%s|time", name, (unsigned long long)size, backend) < 0)
		return u;
	if ((base = json_object_get(opt.base_map, key)) &&
	    json_is_number(json_object_get(base, "stddev")) &&
	    json_is_integer(json_object_get(base, "n"))) {
		u->base_mean = json_number_value(json_object_get(base, "mean"));
		u->base_sd = json_number_value(json_object_get(base, "stddev"));
		u->base_n = (size_t)json_integer_value(json_object_get(base, "n"));
	}
	free(key);
	return u;
}

/* Says how the runs of a benchmark ended: a warning when the target
 * stayed out of reach, a note with -v. */
static void said_stop(const char *name, uint64_t size, size_t n,
		      enum coren_bench_stop stop, const struct coren_bench_until *u,
		      const double *x)
{
	double d = coren_bench_detectable(u, x, n);
	char at[48] = "";

	if (size)
		snprintf(at, sizeof at, " size %llu", (unsigned long long)size);
	if (stop == COREN_BENCH_STOP_BUDGET || stop == COREN_BENCH_STOP_MAX_RUNS)
		tool_warn("'%s'%s: after %zu runs (%s) the smallest detectable change "
			  "is %.1f%%, above the %.0f%% threshold", name, at, n,
			  stop == COREN_BENCH_STOP_BUDGET ? "the time budget ended"
							  : "--max-runs",
			  100 * d, 100 * u->target);
	else if (stop == COREN_BENCH_STOP_DETECTABLE)
		say("'%s'%s: %zu runs detect a change of %.1f%% (threshold %.0f%%)", name,
		    at, n, 100 * d, 100 * u->target);
}

static void bench_size(json_t *recs, const char *spec, const struct coren_workload *w,
		       uint64_t size)
{
	double *t = calloc(opt.until.max_runs, sizeof *t), ops, per;
	struct coren_bench_set s = {w->name, "cpu", "time", "s", size, 0, t, 0, NULL};
	struct coren_bench_until u;
	enum coren_bench_stop stop;
	char unit[64];
	uint64_t iters;
	size_t i;

	if (!t)
		tool_die(&err);
	say("%s size %llu", w->name, (unsigned long long)size);
	if (opt.want_time || opt.want_tp) {
		if (coren_bench_measure_until(w, size, &opt.run,
					      until_for(w->name, size, "cpu", &u), t,
					      &s.n, &stop, &iters, &ops, &err))
			tool_die(&err);
		s.iterations = iters;
		s.stop = coren_bench_stop_name(stop);
		said_stop(w->name, size, s.n, stop, &u, t);
		if (opt.want_time)
			add(recs, coren_bench_record(&s, opt.confidence, machine, &err));
		if (opt.want_tp) {
			for (i = 0; i < s.n; i++)
				t[i] = t[i] > 0 ? ops / t[i] : 0;
			snprintf(unit, sizeof unit, "%s/s", w->ops->unit ? w->ops->unit : "ops");
			s.metric = "throughput";
			s.unit = unit;
			add(recs, coren_bench_record(&s, opt.confidence, machine, &err));
		}
	}
	if (opt.want_insn) {
		if (instructions(spec, w, size, &per)) {
			tool_warn("no instruction counts: no perf counter and no valgrind");
			opt.want_insn = 0;
		} else {
			s.metric = "instructions";
			s.unit = "instructions";
			s.iterations = opt.insn_iters;
			s.x = &per;
			s.n = 1;
			s.stop = NULL;
			add(recs, coren_bench_record(&s, opt.confidence, machine, &err));
		}
	}
	free(t);
}

static void name_plugin(const struct coren_plugin *p, void *data)
{
	struct coren_buf *b = data;

	coren_buf_printf(b, ", %s", p->desc->name);
}

/* Dies: spec names no workload (exit 2, with the known ones), or its
 * plugin would not load (exit 3). */
static noreturn void unknown_workload(const char *spec)
{
	const struct coren_workload *w;
	struct coren_buf b;
	size_t i;

	if (err.code != COREN_ERR_NOTFOUND || strchr(spec, '/'))
		tool_die_code(&err, COREN_EXIT_PLUGIN);
	coren_buf_init(&b, 0);
	for (i = 0; (w = coren_workload_builtin(i)); i++)
		coren_buf_printf(&b, "%s%s", i ? ", " : "", w->name);
	coren_plugin_list(COREN_PLUGIN_WORKLOAD, opt.ndirs ? opt.dirs : NULL, name_plugin,
			  &b);
	fprintf(stderr, "rk-bench: unknown workload '%s' (known: %s)\n", spec,
		b.data ? b.data : "");
	coren_buf_release(&b);
	exit(COREN_EXIT_USAGE);
}

static void bench_workload(json_t *recs, const char *spec)
{
	struct coren_workload w;
	const uint64_t *sz;
	uint64_t zero = 0;
	size_t i;

	if (coren_workload_open(spec, opt.ndirs ? opt.dirs : NULL, &w, &err))
		unknown_workload(spec);
	if (opt.nsizes)
		for (i = 0; i < opt.nsizes; i++)
			bench_size(recs, spec, &w, opt.sizes[i]);
	else
		for (sz = w.ops->sizes ? w.ops->sizes : &zero;
		     sz == &zero || *sz; sz++) {
			bench_size(recs, spec, &w, *sz);
			if (sz == &zero)
				break;
		}
	coren_workload_release(&w);
}

/* One command to time: a --cmd with its parameters' values. */
struct job {
	char *cmd, *name;
	json_t *params; /* {name: value}; NULL: none */
	uint64_t size;	/* the value of {size}; 0: none */
};

static void on_progress(void *data, size_t done, size_t expected, double elapsed)
{
	(void)elapsed;
	coren_progress_set_total(data, expected);
	coren_progress_update(data, done);
}

/* The per-run figures of a command as record fields: user and system
 * (means, seconds) and exit_codes, as hyperfine exports them. */
static void add_run_fields(json_t *rec, const double *user, const double *sys,
			   const int *status, size_t n)
{
	json_t *codes = json_array();
	double u = 0, y = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		u += user[i];
		y += sys[i];
		json_array_append_new(codes, json_integer(status[i]));
	}
	json_object_set_new(rec, "user", json_real(n ? u / (double)n : 0));
	json_object_set_new(rec, "system", json_real(n ? y / (double)n : 0));
	json_object_set_new(rec, "exit_codes", codes);
}

static void bench_cmd(json_t *recs, const struct job *j, json_t *overhead,
		      const struct coren_bench_run *sub)
{
	size_t cap = opt.until.max_runs;
	double *t = calloc(cap, sizeof *t), *user = calloc(cap, sizeof *user);
	double *sys = calloc(cap, sizeof *sys), ir;
	int *status = calloc(cap, sizeof *status);
	struct coren_bench_set s = {j->name, "shell", "time", "s", j->size, 1, t, 0, NULL};
	const char *argv[] = {"/bin/sh", "-c", j->cmd, NULL};
	struct coren_bench_cmd c = {
	    j->cmd, opt.prepare, *sub, opt.cmd_flags, on_progress,
	    NULL,   opt.shell,	 user, sys,	      status};
	struct coren_bench_until u;
	enum coren_bench_stop stop;
	json_t *rec;

	if (!t || !user || !sys || !status)
		tool_die(&err);
	say("%s", j->name);
	if (tool.verbosity > 0 && (opt.progress || isatty(2)))
		c.data = coren_progress_new(stderr, j->name, opt.run.runs, "runs",
					    opt.progress);
	if (!c.data)
		c.progress = NULL;
	if (coren_bench_cmd_measure(&c, &opt.run, until_for(j->name, j->size, "shell", &u),
				    t, &s.n, &stop, &err))
		tool_die(&err);
	coren_progress_finish(c.data);
	coren_progress_free(c.data);
	s.stop = coren_bench_stop_name(stop);
	said_stop(j->name, j->size, s.n, stop, &u, t);
	if (opt.want_time) {
		add(recs, rec = coren_bench_record(&s, opt.confidence, machine, &err));
		add_run_fields(rec, user, sys, status, s.n);
		if (strcmp(j->name, j->cmd))
			json_object_set_new(rec, "command", json_string(j->cmd));
		if (j->params)
			json_object_set(rec, "parameters", j->params);
		if (overhead)
			json_object_set(rec, "overhead", overhead);
	}
	if (opt.want_insn) {
		if (coren_bench_callgrind(argv, NULL, &ir, &err))
			tool_die(&err);
		s.metric = s.unit = "instructions";
		s.x = &ir;
		s.n = 1;
		s.stop = NULL;
		add(recs, coren_bench_record(&s, opt.confidence, machine, &err));
	}
	free(t);
	free(user);
	free(sys);
	free(status);
}

/* Times command k once per combination of the parameters' values. */
static void bench_cmd_params(json_t *recs, size_t k, json_t *overhead,
			     const struct coren_bench_run *sub)
{
	const char *name = k < opt.nnames ? opt.names[k] : opt.cmds[k];
	size_t at[8] = {0}, i;
	struct job j;

	for (;;) {
		j.cmd = coren_bench_substitute(opt.cmds[k], opt.params, opt.nparams, at);
		/* the sizes of --sizes are one benchmark's, for its scaling fit:
		 * {size} stays in the name (it is the last parameter) */
		j.name = coren_bench_substitute(name, opt.params,
						opt.nparams - (opt.ncmds && opt.nsizes), at);
		j.params = opt.nparams ? json_object() : NULL;
		j.size = 0;
		if (!j.cmd || !j.name || (opt.nparams && !j.params))
			tool_die(&err);
		for (i = 0; i < opt.nparams; i++) {
			json_object_set_new(j.params, opt.params[i].name,
					    json_string(opt.params[i].values[at[i]]));
			if (!strcmp(opt.params[i].name, "size"))
				j.size = strtoull(opt.params[i].values[at[i]], NULL, 10);
		}
		bench_cmd(recs, &j, overhead, sub);
		free(j.cmd);
		free(j.name);
		json_decref(j.params);
		/* the next combination, the last parameter fastest */
		for (i = opt.nparams; i-- > 0 && ++at[i] == opt.params[i].n;)
			at[i] = 0;
		if (i == (size_t)-1)
			break;
	}
}

/* hyperfine's summary: how much faster the fastest command ran. */
static void summary(const json_t *recs)
{
	const json_t *r, *rel;
	size_t i;
	int head = 0;

	if (tool.verbosity < 1)
		return;
	json_array_foreach(recs, i, r) {
		if (!(rel = json_object_get(r, "relative")) ||
		    json_real_value(json_object_get(rel, "ratio")) == 1)
			continue;
		if (!head++)
			fprintf(stderr, "Summary\n  '%s' ran\n",
				json_string_value(json_object_get(rel, "to")));
		fprintf(stderr, "    %.2f ± %.2f times faster than '%s'\n",
			json_real_value(json_object_get(rel, "ratio")),
			json_real_value(json_object_get(rel, "stddev")),
			json_string_value(json_object_get(r, "workload")));
	}
}

static void bench_cmds(json_t *recs)
{
	struct coren_bench_run sub = {0, 0, 0, 0};
	json_t *overhead = NULL;
	unsigned n = 0;
	size_t k;

	if (!opt.no_overhead && coren_bench_shell_overhead(
				    opt.shell, opt.cmd_flags, &sub, &n, &err))
		tool_die(&err);
	if (n) { /* what every run had subtracted, in its record */
		overhead = json_pack("{s:f, s:f, s:f, s:i, s:s}", "wall",
				     sub.wall, "user", sub.user, "system",
				     sub.system, "runs", (json_int_t)n, "shell",
				     opt.shell ? opt.shell : "/bin/sh");
		say("shell start-up %.3g ms (mean of %u runs), subtracted",
		    sub.wall * 1e3, n);
	}
	for (k = 0; k < opt.ncmds; k++)
		bench_cmd_params(recs, k, overhead, &sub);
	json_decref(overhead);
	if (coren_bench_relative(recs, &err))
		tool_die(&err);
	summary(recs);
}

/* ---- --analyze ----------------------------------------------------- */

/* A bad input record: dies, or with --keep-going is counted and kept as an
 * error record for the output. */
static void bad_record(void)
{
	tool_bad_record(&err);
	nbad++;
	if (errors || (errors = json_array()))
		json_array_append_new(errors, coren_record_from_error(&err));
}

static void analyze_file(struct coren_bench_collect *c, const char *path)
{
	FILE *in = tool_open(path);
	const char *name = strcmp(path, "-") ? path : "stdin";
	struct coren_reader *r = coren_reader_new(in, name, tool.max_record);
	const char *line;
	json_t *v;
	size_t len;

	if (!r)
		tool_die(&err);
	for (;;) {
		if (coren_reader_next_line(r, &line, &len, &err)) {
			if (err.code != COREN_ERR_TOOLONG)
				tool_die(&err);
			bad_record();
			continue;
		}
		if (!line)
			break;
		v = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (!v)
			coren_error_set(&err, COREN_ERR_JSON, "not valid JSON");
		if (!v || coren_bench_collect_add(c, v, &err)) {
			coren_reader_locate(r, &err);
			bad_record();
		}
		json_decref(v);
	}
	coren_reader_free(r);
	if (in != stdin)
		fclose(in);
}

static json_t *analyze(int argc, char **argv)
{
	struct coren_bench_collect *c = coren_bench_collect_new();
	json_t *recs;
	int i;

	if (!c)
		tool_die(&err);
	if (optind == argc)
		analyze_file(c, "-");
	for (i = optind; i < argc; i++)
		analyze_file(c, argv[i]);
	if (!(recs = coren_bench_collect_records(c, opt.confidence, NULL, &err)))
		tool_die(&err);
	coren_bench_collect_free(c);
	return recs;
}

/* ---- baselines, reports -------------------------------------------- */

/* Compares recs with the baseline file; returns the regression records. */
static json_t *compare(json_t *recs)
{
	json_t *map = opt.base_map, *regs = json_array(), *rec;
	struct coren_bench_cmp cmp;
	size_t i, matched = 0;
	char *key;

	json_array_foreach(recs, i, rec) {
		const json_t *base;

		if (!(key = coren_bench_key(rec)))
			continue;
		base = json_object_get(map, key);
		free(key);
		if (!base)
			continue;
		matched++;
		if (coren_bench_compare(base, rec, opt.threshold, 0.05, &cmp, &err)) {
			tool_report(&err);
			continue;
		}
		coren_bench_annotate(rec, &cmp, opt.threshold, &err);
		ninconclusive += cmp.verdict == COREN_BENCH_INCONCLUSIVE;
		if (cmp.verdict == COREN_BENCH_REGRESSION)
			add(regs, coren_bench_regression_record(rec, &cmp, opt.threshold));
	}
	if (!matched)
		tool_warn("nothing in baseline '%s' matches these benchmarks",
			  opt.baseline);
	return regs;
}

static int list(void)
{
	const struct coren_workload *w;
	size_t i;

	for (i = 0; (w = coren_workload_builtin(i)); i++)
		printf("%-10s %s\n", w->name, w->summary);
	return 0;
}

static void list_plugin(const struct coren_plugin *p, void *data)
{
	(void)data;
	printf("%-10s %s (plugin %s)\n", p->desc->name,
	       p->desc->summary ? p->desc->summary : "", p->path);
}

int main(int argc, char **argv)
{
	json_t *recs, *regs;
	int format, i;

	tool_init("rk-bench");
	parse_options(argc, argv);
	if (opt.insn_child)
		return optind < argc ? insn_child(argv[optind]) : 2;
	if (opt.list) {
		list();
		coren_plugin_list(COREN_PLUGIN_WORKLOAD, opt.ndirs ? opt.dirs : NULL,
				  list_plugin, NULL);
		return 0;
	}
	if (!opt.analyze && coren_cap_fingerprint(machine, &err))
		tool_die(&err);
	if (opt.baseline)
		load_baseline();
	if (opt.analyze) {
		recs = analyze(argc, argv);
	} else if (!(recs = json_array())) {
		tool_die(&err);
	} else if (opt.ncmds) {
		bench_cmds(recs);
	} else if (optind < argc) {
		for (i = optind; i < argc; i++)
			bench_workload(recs, argv[i]);
	} else { /* --all */
		const struct coren_workload *w;
		size_t k;

		for (k = 0; (w = coren_workload_builtin(k)); k++)
			bench_workload(recs, w->name);
	}
	coren_bench_add_scaling(recs);
	regs = opt.baseline ? compare(recs) : json_array();
	if (opt.save && coren_bench_baseline_save(opt.save, recs, &err))
		tool_die(&err);
	format = opt.format >= 0 ? opt.format
		 : coren_output_is_table(tool.output, stdout) ? COREN_BENCH_MARKDOWN
							      : COREN_BENCH_JSONL;
	if (coren_bench_report(stdout, format, recs, regs, &err))
		tool_die(&err);
	if (errors && format == COREN_BENCH_JSONL)
		coren_bench_report(stdout, format, errors, NULL, &err);
	if ((opt.export_json &&
	     coren_bench_export(opt.export_json, COREN_BENCH_EXPORT_JSON, recs, &err)) ||
	    (opt.export_csv &&
	     coren_bench_export(opt.export_csv, COREN_BENCH_EXPORT_CSV, recs, &err)) ||
	    (opt.export_md &&
	     coren_bench_export(opt.export_md, COREN_BENCH_EXPORT_MARKDOWN, recs, &err)))
		tool_die(&err);
	if (opt.plot && coren_bench_plot_flags(opt.plot, recs, opt.plot_flags, &err)) {
		if (err.code != COREN_ERR_NOTFOUND)
			tool_die(&err);
		tool_warn("%s", err.msg);
	}
	i = json_array_size(regs) ? COREN_EXIT_NEGATIVE
	    : ninconclusive	   ? COREN_EXIT_INCONCLUSIVE
				   : COREN_EXIT_OK;
	if (json_array_size(regs) && tool.verbosity > 0)
		fprintf(stderr, "rk-bench: %zu regression%s beyond %.0f%%\n",
			json_array_size(regs), json_array_size(regs) == 1 ? "" : "s",
			opt.threshold * 100);
	if (ninconclusive && tool.verbosity > 0)
		fprintf(stderr, "rk-bench: %zu inconclusive: a change of %.0f%% could "
			"go unseen with this noise and these runs (--runs auto, "
			"--budget)\n", ninconclusive, opt.threshold * 100);
	json_decref(recs);
	json_decref(regs);
	json_decref(errors);
	json_decref(opt.base_map);
	free(opt.base_machine);
	if (nbad) {
		fprintf(stderr, "rk-bench: %lu bad record%s\n", nbad, nbad == 1 ? "" : "s");
		return COREN_EXIT_RECORD;
	}
	return i;
}
