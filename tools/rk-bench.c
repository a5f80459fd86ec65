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
#include <getopt.h>
#include <math.h>
#include <stdnoreturn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: rk-bench [OPTION]... WORKLOAD...\n"
	"       rk-bench [OPTION]... --all\n"
	"       rk-bench [OPTION]... --cmd COMMAND [--cmd COMMAND]...\n"
	"       rk-bench [OPTION]... --analyze [FILE]...\n"
	"Benchmarks workloads (built in or plugins; --all: every built-in),\n"
	"shell commands, or timings read from input; reports mean,\n"
	"median, spread, Student-t confidence intervals, outliers and scaling;\n"
	"compares with a baseline and exits 1 on a significant regression.\n"
	"\n"
	"What to measure:\n"
	"  --cmd COMMAND        time a shell command (sh -c), like hyperfine;\n"
	"                       repeat for several\n"
	"  -n, --name NAME      the name of the next --cmd in reports\n"
	"  --prepare COMMAND    run before every run of a command, untimed\n"
	"  -L, --parameter-list NAME A,B,C\n"
	"                       run each --cmd once per value, {NAME} replaced\n"
	"  --parameter-scan NAME MIN MAX\n"
	"                       the same for MIN, MIN + STEP, ... MAX\n"
	"  -D, --parameter-step-size STEP  (default 1)\n"
	"  --sizes LIST         with --cmd: {size} replaced, and the size kept\n"
	"  -N, --shell SHELL    run commands with SHELL -c (default /bin/sh);\n"
	"                       none (-N): split into words, no shell\n"
	"  --no-overhead        do not subtract the shell's start-up time\n"
	"  -i, --ignore-failure time commands that exit non-zero\n"
	"  --show-output        keep the commands' stderr\n"
	"  --analyze            read timing records (bench records, or objects\n"
	"                       with time, seconds, times, samples or value, or\n"
	"                       bare numbers of seconds) from FILEs or stdin\n"
	"  --all                every built-in workload\n"
	"  --list               list the workloads and exit\n"
	"  --plugin-dir DIR     look for workload plugins in DIR first\n"
	"\n"
	"How:\n"
	"  --preset NAME        quick (1 warm-up, 3 runs or more, threshold\n"
	"                       15%, 2 s budget), default (3, 5, 10%, 5 s),\n"
	"                       ci (2, 5, 10%, 10 s), comprehensive (5, 10,\n"
	"                       5%, 30 s)\n"
	"  -w, --warmup N       untimed runs first (overrides the preset)\n"
	"  -r, --runs N|auto    N timed runs (samples), at least 1; auto (the\n"
	"                       presets' way): more runs until a change of the\n"
	"                       threshold's size is detectable, or the budget\n"
	"                       ends\n"
	"  -m, --min-runs N     auto, with at least N runs (default: the preset's)\n"
	"  -M, --max-runs N     auto, with at most N runs (default 1000)\n"
	"  --budget TIME        auto: timed runs of one benchmark take at most\n"
	"                       this long (default: the preset's)\n"
	"  --sizes LIST         workload sizes, e.g. 4k,64k,1M (default: each\n"
	"                       workload's own sweep)\n"
	"  --min-time TIME      a workload sample lasts at least this long; the\n"
	"                       iteration count scales up to it (default 50ms)\n"
	"  --timeout TIME       a command run, or one workload iteration, may\n"
	"                       take this long (default: none)\n"
	"  --metrics LIST       time, throughput, instructions (default:\n"
	"                       time,throughput; time for --cmd)\n"
	"  --insn-iterations N  iterations counted for instructions (default 10)\n"
	"  --callgrind          count instructions with callgrind even where a\n"
	"                       perf counter exists (as a baseline made by it)\n"
	"  --confidence P       of the intervals (default 0.95)\n"
	"\n"
	"Baselines and reports:\n"
	"  --save-baseline FILE write the results as a baseline\n"
	"  --baseline FILE      compare with a baseline: a change beyond the\n"
	"                       threshold with p < 0.05 (Welch) is a regression;\n"
	"                       one that could not be seen (power 80%) is\n"
	"                       inconclusive\n"
	"  --threshold X        relative change that counts (0.1 or 10%)\n"
	"  --format FORMAT      markdown, json, latex, tsv or jsonl (default:\n"
	"                       markdown on a terminal, else jsonl records)\n"
	"  --plot FILE          draw FILE.svg or FILE.png with gnuplot: means\n"
	"                       with confidence intervals, box and whiskers,\n"
	"                       throughput, changes; y axes from zero\n"
	"  --plot-log           a logarithmic y axis instead\n"
	"  --export-json FILE, --export-csv FILE, --export-markdown FILE\n"
	"                       command timings as hyperfine writes them\n"
	"  --progress           a progress bar even when stderr is no terminal\n"
	"  --json, --table      jsonl records or the markdown report\n"
	"  -q, -v               quieter; progress on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 regression found, 2 usage, I/O or measurement\n"
	"error, 3 plugin load failure, 5 bad input record, 6 inconclusive: a\n"
	"comparison could not detect a change of the threshold's size. See\n"
	"rk-bench(1).\n";

#define MAX_CMDS 64

static struct {
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
	const char *cmds[MAX_CMDS], *names[MAX_CMDS];
	size_t ncmds, nnames;
	const char *prepare;
	const char *shell;
	struct coren_bench_param params[8];
	size_t nparams;
	const char *scan_step; /* -D */
	const char *scan_name, *scan_min, *scan_max;
	const char *export_json, *export_csv, *export_md;
	int progress, all;
	unsigned plot_flags;
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

static unsigned count_option(const char *name, const char *arg, unsigned min)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v < min || v > 1000000)
		tool_usage_error("%s: want a whole number from %u, not '%s'", name,
				 min, arg);
	return (unsigned)v;
}

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
		tool_usage_error("--threshold: want a fraction like 0.1 or 10%%, not "
				 "'%s'", arg);
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

static void parse_options(int argc, char **argv)
{
	enum { CMD = TOOL_OPT__END, PREPARE, NO_OVERHEAD, SHOW_OUTPUT, ANALYZE,
	       LIST, PLUGIN_DIR, PRESET, SIZES, MIN_TIME, TIMEOUT, METRICS,
	       INSN_ITERS, CONFIDENCE, SAVE, BASELINE, THRESHOLD, FORMAT, PLOT,
	       INSN_CHILD, CHILD_SIZE, CALLGRIND, BUDGET, SCAN, EXPORT_JSON,
	       EXPORT_CSV, EXPORT_MD, SHELL, PROGRESS, ALL, PLOT_LOG };
	static const struct option opts[] = {
		{"cmd", required_argument, NULL, CMD},
		{"name", required_argument, NULL, 'n'},
		{"prepare", required_argument, NULL, PREPARE},
		{"parameter-list", required_argument, NULL, 'L'},
		{"parameter-scan", required_argument, NULL, SCAN},
		{"parameter-step-size", required_argument, NULL, 'D'},
		{"shell", required_argument, NULL, SHELL},
		{"export-json", required_argument, NULL, EXPORT_JSON},
		{"export-csv", required_argument, NULL, EXPORT_CSV},
		{"export-markdown", required_argument, NULL, EXPORT_MD},
		{"progress", no_argument, NULL, PROGRESS},
		{"all", no_argument, NULL, ALL},
		{"no-overhead", no_argument, NULL, NO_OVERHEAD},
		{"ignore-failure", no_argument, NULL, 'i'},
		{"show-output", no_argument, NULL, SHOW_OUTPUT},
		{"analyze", no_argument, NULL, ANALYZE},
		{"list", no_argument, NULL, LIST},
		{"plugin-dir", required_argument, NULL, PLUGIN_DIR},
		{"preset", required_argument, NULL, PRESET},
		{"warmup", required_argument, NULL, 'w'},
		{"runs", required_argument, NULL, 'r'},
		{"min-runs", required_argument, NULL, 'm'},
		{"max-runs", required_argument, NULL, 'M'},
		{"budget", required_argument, NULL, BUDGET},
		{"sizes", required_argument, NULL, SIZES},
		{"min-time", required_argument, NULL, MIN_TIME},
		{"timeout", required_argument, NULL, TIMEOUT},
		{"metrics", required_argument, NULL, METRICS},
		{"insn-iterations", required_argument, NULL, INSN_ITERS},
		{"confidence", required_argument, NULL, CONFIDENCE},
		{"save-baseline", required_argument, NULL, SAVE},
		{"baseline", required_argument, NULL, BASELINE},
		{"threshold", required_argument, NULL, THRESHOLD},
		{"format", required_argument, NULL, FORMAT},
		{"plot", required_argument, NULL, PLOT},
		{"plot-log", no_argument, NULL, PLOT_LOG},
		{"callgrind", no_argument, NULL, CALLGRIND},
		{"insn-child", no_argument, NULL, INSN_CHILD},	/* internal */
		{"child-size", required_argument, NULL, CHILD_SIZE}, /* internal */
		TOOL_COMMON_OPTIONS,
		{NULL, 0, NULL, 0}};
	int c;

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
	while ((c = getopt_long(argc, argv, "hqvn:iw:r:m:M:L:D:N", opts, NULL)) != -1) {
		if (tool_common_option(c, optarg))
			continue;
		switch (c) {
		case 'h': fputs(usage, stdout); exit(0);
		case CMD:
			if (opt.ncmds == MAX_CMDS)
				tool_usage_error("at most %d commands", MAX_CMDS);
			opt.cmds[opt.ncmds++] = optarg;
			break;
		case 'n':
			if (opt.nnames == MAX_CMDS)
				tool_usage_error("at most %d names", MAX_CMDS);
			opt.names[opt.nnames++] = optarg;
			break;
		case PREPARE: opt.prepare = optarg; break;
		case 'L':
			if (optind >= argc)
				tool_usage_error("-L %s: want a list of values", optarg);
			add_param(optarg, argv[optind++], NULL, NULL);
			break;
		case SCAN:
			if (optind + 1 >= argc)
				tool_usage_error("--parameter-scan %s: want MIN and MAX", optarg);
			opt.scan_name = optarg;
			opt.scan_min = argv[optind++];
			opt.scan_max = argv[optind++];
			break;
		case 'D': opt.scan_step = optarg; break;
		case 'N': opt.shell = "none"; break;
		case SHELL: opt.shell = optarg; break;
		case EXPORT_JSON: opt.export_json = optarg; break;
		case EXPORT_CSV: opt.export_csv = optarg; break;
		case EXPORT_MD: opt.export_md = optarg; break;
		case PROGRESS: opt.progress = 1; break;
		case ALL: opt.all = 1; break;
		case NO_OVERHEAD: opt.no_overhead = 1; break;
		case 'i': opt.cmd_flags |= COREN_BENCH_CMD_IGNORE_FAILURE; break;
		case SHOW_OUTPUT: opt.cmd_flags |= COREN_BENCH_CMD_STDERR; break;
		case ANALYZE: opt.analyze = 1; break;
		case LIST: opt.list = 1; break;
		case PLUGIN_DIR:
			if (opt.ndirs == 16)
				tool_usage_error("at most 16 --plugin-dir");
			opt.dirs[opt.ndirs++] = optarg;
			break;
		case PRESET:
			if (!(opt.preset = coren_bench_preset(optarg)))
				tool_usage_error("unknown preset '%s' (quick, default, ci, "
						 "comprehensive)", optarg);
			break;
		case 'w': opt.warmup = (int)count_option("--warmup", optarg, 0); break;
		case 'r':
			if (strcmp(optarg, "auto")) {
				opt.runs = (int)count_option("--runs", optarg, 1);
				opt.fixed = 1;
			} else {
				opt.fixed = 0;
			}
			break;
		case 'm':
			opt.runs = (int)count_option("--min-runs", optarg, 1);
			opt.fixed = 0;
			break;
		case 'M':
			opt.max_runs = count_option("--max-runs", optarg, 1);
			opt.fixed = 0;
			break;
		case BUDGET: opt.budget = tool_number_option("--budget", optarg, 1); break;
		case SIZES: parse_sizes(optarg); break;
		case MIN_TIME: opt.run.min_time = tool_number_option("--min-time", optarg, 1); break;
		case TIMEOUT: opt.run.timeout = tool_number_option("--timeout", optarg, 1); break;
		case METRICS: parse_metrics(optarg); break;
		case INSN_ITERS: opt.insn_iters = count_option("--insn-iterations", optarg, 1); break;
		case CONFIDENCE:
			opt.confidence = tool_number_option("--confidence", optarg, 0);
			if (!(opt.confidence > 0 && opt.confidence < 1))
				tool_usage_error("--confidence: want a level in (0, 1)");
			break;
		case SAVE: opt.save = optarg; break;
		case BASELINE: opt.baseline = optarg; break;
		case THRESHOLD: opt.threshold = threshold_option(optarg); break;
		case FORMAT:
			if ((opt.format = coren_bench_format_parse(optarg)) < 0)
				tool_usage_error("unknown format '%s' (markdown, json, "
						 "latex, tsv, jsonl)", optarg);
			break;
		case PLOT:
			if (coren_bench_plot_check(optarg, &err))
				tool_usage_error("%s", err.msg);
			opt.plot = optarg;
			break;
		case PLOT_LOG: opt.plot_flags |= COREN_BENCH_PLOT_LOG; break;
		case CALLGRIND: opt.callgrind = 1; break;
		case INSN_CHILD: opt.insn_child = 1; break;
		case CHILD_SIZE: opt.child_size = strtoull(optarg, NULL, 10); break;
		default: tool_usage_error("unknown option");
		}
	}
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
		fprintf(stderr, "%.*s", (int)(strstr(usage, "Benchmarks") - usage), usage);
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
