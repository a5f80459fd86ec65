/* coren/bench.h - rk-bench's library (rk-bench(1)): workloads, measuring
 * them and shell commands, bench records, baselines and regression
 * verdicts, reports.
 *
 * Records are jansson objects: functions returning json_t * hand over a
 * new reference; functions taking const json_t * only read it.
 */
#ifndef COREN_BENCH_H
#define COREN_BENCH_H

#include <coren/error.h>
#include <coren/plugin.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Workloads ------------------------------------------------------ */

/* The operations table of a workload plugin (COREN_PLUGIN_WORKLOAD):
 *
 *     static const struct coren_workload_ops ops = {
 *         .struct_size = sizeof ops, .unit = "bytes", .sizes = sizes,
 *         .setup = setup, .run = run, .ops = ops_per_iteration,
 *         .teardown = teardown };
 *     COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_WORKLOAD, "mine", "1.0",
 *                           "what it does", &ops)
 *
 * rk-bench calls setup once per size, run many times (warm-ups, the
 * calibration of the iteration count, the samples), then teardown. Only
 * run is timed, and run must do the same work for the same iters each
 * time: the instruction count is taken as deterministic. */
struct coren_workload_ops {
	uint32_t struct_size;	/* sizeof(struct coren_workload_ops) */
	const char *unit;	/* what one op is: "bytes", "flops", "msgs"... */
	const uint64_t *sizes;	/* default sweep, 0-terminated; NULL: size 0 */
	/* Prepares size; *state goes to run, ops and teardown. */
	enum coren_err (*setup)(uint64_t size, void **state, struct coren_error *err);
	/* Does iters iterations of the measured work. */
	enum coren_err (*run)(void *state, uint64_t iters, struct coren_error *err);
	/* Ops per iteration (throughput = ops / seconds); NULL: 1. */
	double (*ops)(const void *state, uint64_t size);
	void (*teardown)(void *state); /* may be NULL */
};

/* A workload by name: built in, or a plugin. */
struct coren_workload {
	const char *name;
	const char *summary;
	const struct coren_workload_ops *ops;
	struct coren_plugin *plugin; /* NULL for a built-in */
};

/* Finds spec: a built-in name first, else a workload plugin by name or
 * path (coren_plugin_open, with dirs). The loader's errors pass through;
 * a plugin whose table is too small is COREN_ERR_PLUGIN_DESC. */
enum coren_err coren_workload_open(const char *spec, const char *const *dirs,
				   struct coren_workload *w, struct coren_error *err);

/* Unloads a plugin workload; nothing for a built-in. */
void coren_workload_release(struct coren_workload *w);

/* The i-th built-in workload (triad, matmul, memcpy, queue, roundtrip,
 * spsc, hlc, envelope, record, verdict, chunk), NULL past the last. */
const struct coren_workload *coren_workload_builtin(size_t i);

/* ---- Presets -------------------------------------------------------- */

struct coren_bench_preset {
	const char *name;
	unsigned warmup, runs; /* runs: the least; more are added (--runs auto) */
	double threshold;      /* relative change that counts, e.g. 0.10 */
	double budget;	       /* seconds of timed runs at most, per benchmark */
};

/* quick (1, 3, 0.15, 2 s), default (3, 5, 0.10, 5 s), ci (2, 5, 0.10,
 * 10 s), comprehensive (5, 10, 0.05, 30 s); NULL for another name. */
const struct coren_bench_preset *coren_bench_preset(const char *name);

/* ---- Measuring ------------------------------------------------------ */

struct coren_bench_opts {
	unsigned warmup;  /* untimed samples before the timed ones */
	unsigned runs;	  /* timed samples, >= 1 */
	double min_time;  /* seconds a workload sample lasts at least */
	double timeout;	  /* seconds; 0: none (see each function) */
};

/* How many runs: o->runs at least; then, when until is not NULL and its
 * target above 0, more until a comparison could detect a change of the
 * target's size, or the budget or max_runs ends first (--runs auto). */
struct coren_bench_until {
	double target;	   /* relative change to be detectable, e.g. 0.10 */
	double budget;	   /* seconds of timed runs at most; 0: none */
	unsigned max_runs; /* the most samples: the capacity of times */
	/* The baseline the samples will be compared with (base_n = 0: none;
	 * then a baseline like the samples themselves is assumed). */
	double base_mean, base_sd;
	size_t base_n;
};

enum coren_bench_stop {
	COREN_BENCH_STOP_RUNS = 0,   /* a fixed count of runs */
	COREN_BENCH_STOP_DETECTABLE, /* the target became detectable */
	COREN_BENCH_STOP_BUDGET,     /* the time budget ended first */
	COREN_BENCH_STOP_MAX_RUNS    /* max_runs ended first */
};

#define COREN_BENCH_AUTO_MIN 5 /* samples before the noise is trusted */

/* "runs", "detectable", "budget", "max-runs". */
const char *coren_bench_stop_name(enum coren_bench_stop s);

/* The smallest relative change a comparison of the n samples x with u's
 * baseline (or, without one, with n samples like x) detects at level
 * COREN_BENCH_ALPHA with probability COREN_BENCH_POWER
 * (coren_stats_detectable over the mean). INFINITY for n < 2. */
double coren_bench_detectable(const struct coren_bench_until *u, const double *x,
			      size_t n);

/* Whether the n samples x, timed over elapsed seconds, are enough: n has
 * reached o->runs and, under u, the target is detectable (and n has
 * reached COREN_BENCH_AUTO_MIN) or the budget or max_runs is spent. *stop says which; *detectable (may be NULL) gets
 * coren_bench_detectable. */
bool coren_bench_enough(const struct coren_bench_opts *o,
			const struct coren_bench_until *u, const double *x, size_t n,
			double elapsed, enum coren_bench_stop *stop, double *detectable);

/* The seconds of CLOCK_MONOTONIC. */
double coren_bench_now(void);

/* Measures w at size: setup, the iteration count doubled (at most x100
 * a step) until one sample takes o->min_time, o->warmup untimed samples,
 * then o->runs samples. times[i] is seconds per iteration of sample i;
 * *iters the iterations per sample; *ops the ops per iteration.
 * COREN_ERR_TIMEOUT when one iteration alone takes longer than
 * o->timeout (checked between samples: a running iteration is not
 * interrupted). */
enum coren_err coren_bench_measure(const struct coren_workload *w, uint64_t size,
				   const struct coren_bench_opts *o, double *times,
				   uint64_t *iters, double *ops,
				   struct coren_error *err);

/* coren_bench_measure with the runs decided by u (see coren_bench_until;
 * NULL: o->runs). times has room for u->max_runs (o->runs without u); *n
 * gets the samples taken, *stop why no more were. */
enum coren_err coren_bench_measure_until(const struct coren_workload *w,
					 uint64_t size, const struct coren_bench_opts *o,
					 const struct coren_bench_until *u,
					 double *times, size_t *n,
					 enum coren_bench_stop *stop, uint64_t *iters,
					 double *ops, struct coren_error *err);

/* Instructions retired per iteration of w at size, in user space, by the
 * calling thread, counted by perf_event_open(2): setup, one iteration
 * untimed, then iters iterations counted. COREN_ERR_NOTFOUND when the
 * kernel offers no instruction counter (a VM, perf_event_paranoid). */
enum coren_err coren_bench_instructions(const struct coren_workload *w,
					uint64_t size, uint64_t iters,
					double *per_iter, struct coren_error *err);

/* The region coren_bench_callgrind counts: runs w->ops->run(state,
 * iters). Not inlined, so callgrind --toggle-collect can name it. */
enum coren_err coren_bench_region(const struct coren_workload *w, void *state,
				  uint64_t iters, struct coren_error *err);
#define COREN_BENCH_REGION "coren_bench_region"

/* Runs argv under valgrind --tool=callgrind (children traced) and sums the
 * instructions (Ir) of every process, or only within the function named
 * toggle when toggle is not NULL. COREN_ERR_NOTFOUND without valgrind;
 * COREN_ERR_IO when the command fails. */
enum coren_err coren_bench_callgrind(const char *const *argv, const char *toggle,
				     double *instructions, struct coren_error *err);

#define COREN_BENCH_CMD_STDERR 1	  /* keep the command's stderr */
#define COREN_BENCH_CMD_IGNORE_FAILURE 2 /* a non-zero exit is no error */

/* One run of a shell command: `/bin/sh -c cmd`, stdin and stdout from
 * /dev/null, stderr to /dev/null unless flags has COREN_BENCH_CMD_STDERR. *wall is the seconds
 * from spawn to exit (CLOCK_MONOTONIC), *cpu the user plus system seconds
 * of the command and its children. A non-zero exit is COREN_ERR_IO
 * naming the status; a run longer than timeout (> 0) is killed (its
 * process group) and is COREN_ERR_TIMEOUT. */
enum coren_err coren_bench_cmd_run(const char *cmd, double timeout, unsigned flags,
				   double *wall, double *cpu, struct coren_error *err);

/* One run of a command, measured. */
struct coren_bench_run {
	double wall;	     /* seconds from spawn to exit */
	double user, system; /* CPU seconds of the command and its children */
	int status;	     /* exit status; 128 + the signal when killed */
};

/* coren_bench_cmd_run with the figures apart, and a shell: NULL for
 * /bin/sh, a path (run as SHELL -c cmd), or "none": cmd split into words
 * (blanks; '...' and "..." quote, backslash escapes) and run by
 * posix_spawnp without a shell (hyperfine -N). */
enum coren_err coren_bench_cmd_run_full(const char *cmd, const char *shell,
					double timeout, unsigned flags,
					struct coren_bench_run *run,
					struct coren_error *err);

/* A command to time by coren_bench_cmd_measure. */
struct coren_bench_cmd {
	const char *cmd;     /* run by /bin/sh -c */
	const char *prepare; /* run before each run, untimed; NULL: none */
	/* Subtracted from each run's wall, user and system seconds (each
	 * never below 0), as hyperfine does: coren_bench_shell_overhead's. */
	struct coren_bench_run overhead;
	unsigned flags;	     /* COREN_BENCH_CMD_* */
	/* Called after each timed run (may be NULL): the runs so far, the
	 * runs expected in all (a guess under --runs auto), the seconds. */
	void (*progress)(void *data, size_t done, size_t expected, double elapsed);
	void *data;
	const char *shell;   /* as coren_bench_cmd_run_full's; NULL: /bin/sh */
	/* Filled per timed run when not NULL, with room as times has. */
	double *user, *system;
	int *status;
};

/* Times c: o->warmup runs untimed, then runs as coren_bench_measure_until
 * decides, each with c->prepare before it. times, *n and *stop as there.
 * The first failing run's error ends it. */
enum coren_err coren_bench_cmd_measure(const struct coren_bench_cmd *c,
				       const struct coren_bench_opts *o,
				       const struct coren_bench_until *u, double *times,
				       size_t *n, enum coren_bench_stop *stop,
				       struct coren_error *err);

/* What the shell costs a run by itself, as hyperfine measures it: SHELL -c ''
 * run as coren_bench_cmd_run_full runs commands (shell and flags as there),
 * a warm-up run, then the means of the wall, user and system seconds of
 * COREN_BENCH_OVERHEAD_RUNS runs (hyperfine: 50). *runs is the count.
 * mean->status is 0. A shell of "none" costs nothing (no runs). */
#define COREN_BENCH_OVERHEAD_RUNS 30
enum coren_err coren_bench_shell_overhead(const char *shell, unsigned flags,
					  struct coren_bench_run *mean,
					  unsigned *runs,
					  struct coren_error *err);

/* ---- Records -------------------------------------------------------- */

/* A set of samples of one metric of one benchmark. */
struct coren_bench_set {
	const char *workload; /* a name, or the command */
	const char *backend;  /* "cpu", "shell"... */
	const char *metric;   /* "time", "throughput", "instructions"... */
	const char *unit;     /* "s", "bytes/s", "instructions"... */
	uint64_t size;	      /* 0: none */
	uint64_t iterations;  /* per sample; 0: unknown */
	const double *x;      /* the samples */
	size_t n;
	const char *stop;     /* how the runs ended (coren_bench_stop_name); NULL: not said */
};

/* A `bench` record: the set's keys, every statistic of
 * coren_stats_summary at confidence (0.95), "detectable" (the smallest
 * relative change a comparison with a set like this one detects,
 * coren_bench_detectable), "stop" when the set says it, the samples, the
 * coren version and machine (a fingerprint, may be NULL). */
json_t *coren_bench_record(const struct coren_bench_set *s, double confidence,
			   const char *machine, struct coren_error *err);

/* The samples of a bench record (malloc'd into *x, count in *n), checked:
 * a numeric array, else the fields n, mean and stddev (then *x is NULL).
 * COREN_ERR_RECORD naming the field when neither is there. */
enum coren_err coren_bench_record_samples(const json_t *rec, double **x, size_t *n,
					  struct coren_error *err);

/* The key of a bench record: "workload|size|backend|metric" (malloc'd;
 * NULL when a field is missing). */
char *coren_bench_key(const json_t *rec);

/* Whether a larger value of metric is better ("throughput", "*_per_s",
 * "ops"); time, instructions and anything else: smaller is better. */
bool coren_bench_higher_is_better(const char *metric);

/* A metric that does not vary from run to run ("instructions"): judged
 * by the threshold alone. */
bool coren_bench_deterministic(const char *metric);

/* ---- Comparing ------------------------------------------------------ */

enum coren_bench_verdict {
	COREN_BENCH_UNCHANGED = 0,
	COREN_BENCH_IMPROVED,
	COREN_BENCH_REGRESSION,
	/* no significant change beyond the threshold, but the comparison
	 * could not have detected one of the threshold's size */
	COREN_BENCH_INCONCLUSIVE
};

/* The power of the gate: a comparison states the smallest change it
 * would detect with this probability at level COREN_BENCH_ALPHA. */
#define COREN_BENCH_ALPHA 0.05
#define COREN_BENCH_POWER 0.8

const char *coren_bench_verdict_name(enum coren_bench_verdict v);

struct coren_bench_cmp {
	double base, cur;  /* the means */
	double change;	   /* (cur - base) / base; a worse value is positive
			      for smaller-is-better metrics, negative else */
	double p;	   /* Welch's two-sided p; 0 or 1 when deterministic */
	double p_mw;	   /* Mann-Whitney's, from samples; NaN without them */
	bool deterministic;
	/* the smallest relative change this comparison detects with
	 * probability power (coren_stats_detectable over the base mean);
	 * 0 when deterministic, INFINITY with one sample a side */
	double detectable, power;
	size_t n_base, n_cur; /* the sample counts */
	enum coren_bench_verdict verdict;
};

/* Compares a current bench record with its baseline record. A regression
 * (improvement) is a change for the worse (better) by more than threshold
 * that is also significant, Welch's p < alpha, or, for a deterministic
 * metric, any change beyond the threshold. Anything else is unchanged
 * when the comparison could have detected a change of the threshold's
 * size (c->detectable <= threshold at power COREN_BENCH_POWER), else
 * inconclusive. Welch runs on the samples when both records have at least
 * two, else on n, mean and stddev. */
enum coren_err coren_bench_compare(const json_t *base, const json_t *cur,
				   double threshold, double alpha,
				   struct coren_bench_cmp *c, struct coren_error *err);

/* Adds the comparison to cur as "baseline": {mean, n (of the baseline),
 * current, change, p, p_mw, threshold, detectable, power, verdict}. */
enum coren_err coren_bench_annotate(json_t *cur, const struct coren_bench_cmp *c,
				    double threshold, struct coren_error *err);

/* A `regression` record naming the benchmark of cur, the comparison's
 * current, change, p, p_mw and threshold, and "baseline", the same object
 * as coren_bench_annotate's. */
json_t *coren_bench_regression_record(const json_t *cur,
				      const struct coren_bench_cmp *c,
				      double threshold);

/* ---- Baselines ------------------------------------------------------ */

/* Reads a baseline file (bench records, JSON Lines) into *map, an object
 * from coren_bench_key to record; the first machine fingerprint met goes
 * to *machine (malloc'd, NULL if none). Errors name the file and line. */
enum coren_err coren_bench_baseline_load(const char *path, json_t **map,
					 char **machine, struct coren_error *err);

/* Writes the bench records of the array recs to path atomically. */
enum coren_err coren_bench_baseline_save(const char *path, const json_t *recs,
					 struct coren_error *err);

/* ---- Analysis and reports ------------------------------------------- */

/* Collects timing input for --analyze: a bench record (its samples), or
 * any record with an array "samples" or "times", or a number "time" or
 * "seconds" (seconds), else "value" (then "metric"
 * and "unit" name it), grouped by workload (else "name", else "command",
 * else "stdin"), size, backend and metric. */
struct coren_bench_collect;

struct coren_bench_collect *coren_bench_collect_new(void);
void coren_bench_collect_free(struct coren_bench_collect *c);

/* Adds rec; COREN_ERR_RECORD (naming the field) when it has no timing. */
enum coren_err coren_bench_collect_add(struct coren_bench_collect *c,
				       const json_t *rec, struct coren_error *err);

/* The groups as bench records, in order of first appearance. */
json_t *coren_bench_collect_records(const struct coren_bench_collect *c,
				    double confidence, const char *machine,
				    struct coren_error *err);

/* Adds "scaling": {exponent, coefficient, r2, quality} to each time
 * record of a workload measured at two sizes or more (the log-log fit of
 * its mean against size). */
void coren_bench_add_scaling(json_t *recs);

enum coren_bench_format {
	COREN_BENCH_MARKDOWN = 0,
	COREN_BENCH_JSON,  /* one document: {"benchmarks": [...], "regressions": [...]} */
	COREN_BENCH_LATEX, /* a booktabs table */
	COREN_BENCH_TSV,
	COREN_BENCH_JSONL  /* the bench, then regression, records */
};

/* "markdown", "json", "latex", "tsv", "jsonl"; -1 for another name. */
int coren_bench_format_parse(const char *name);

/* Writes the bench records recs and regression records regs (either may
 * be an empty array) as a report. */
enum coren_err coren_bench_report(FILE *out, enum coren_bench_format f,
				  const json_t *recs, const json_t *regs,
				  struct coren_error *err);

/* ---- Commands: parameters, relative speed, hyperfine's exports ------- */

#define COREN_BENCH_PARAM_MAX 10000 /* values of one parameter at most */

/* A parameter of the commands: {name} in a command takes each value. */
struct coren_bench_param {
	char *name;
	char **values;
	size_t n;
};

/* -L name a,b,c: the values of a comma-separated list. */
enum coren_err coren_bench_param_list(const char *name, const char *list,
				      struct coren_bench_param *p,
				      struct coren_error *err);

/* --parameter-scan name min max [-D step]: min, min + step, ... up to
 * max; integers without a step (step 1), else written with the step's
 * decimals. COREN_ERR_USAGE for bad bounds. */
enum coren_err coren_bench_param_scan(const char *name, const char *min,
				      const char *max, const char *step,
				      struct coren_bench_param *p,
				      struct coren_error *err);

void coren_bench_param_release(struct coren_bench_param *p);

/* tmpl with each {name} of the np parameters ps replaced by its value
 * at[i] (malloc'd; NULL on ENOMEM). */
char *coren_bench_substitute(const char *tmpl, const struct coren_bench_param *ps,
			     size_t np, const size_t *at);

/* With two time records or more in recs, adds "relative" to each:
 * {to: the fastest's workload, ratio: mean / fastest mean, stddev:
 * ratio * sqrt(cv^2 + cv_fastest^2)} (hyperfine's summary; 0 for the
 * fastest itself). */
enum coren_err coren_bench_relative(json_t *recs, struct coren_error *err);

enum coren_bench_export_kind {
	COREN_BENCH_EXPORT_JSON, /* {"results": [{command, mean, ..., times}]} */
	COREN_BENCH_EXPORT_CSV,
	COREN_BENCH_EXPORT_MARKDOWN
};

/* Writes the time records of recs to path as hyperfine's --export-json,
 * --export-csv or --export-markdown would (atomically). The JSON is one
 * line, which --analyze reads as it is. */
enum coren_err coren_bench_export(const char *path, enum coren_bench_export_kind k,
				  const json_t *recs, struct coren_error *err);

/* Draws into path (.svg or .png) through gnuplot ($GNUPLOT, else gnuplot
 * on PATH), a panel each: the mean of every time record with its
 * confidence interval, its samples as box and whiskers, throughput
 * against size (a line per workload), and with baselines the change of
 * each benchmark. The y axes start at zero (COREN_BENCH_PLOT_LOG: log
 * scale); gnuplot's messages are kept from the user, the first in the
 * error when it fails. COREN_ERR_NOTFOUND when it is not installed. */
enum coren_err coren_bench_plot(const char *path, const json_t *recs,
				struct coren_error *err);

#define COREN_BENCH_PLOT_LOG 1 /* a logarithmic time axis */

enum coren_err coren_bench_plot_flags(const char *path, const json_t *recs,
				      unsigned flags, struct coren_error *err);

/* COREN_ERR_USAGE when path cannot be a plot (not .svg or .png, a quote
 * or newline in it): checked before measuring. */
enum coren_err coren_bench_plot_check(const char *path, struct coren_error *err);

#ifdef __cplusplus
}
#endif

#endif
