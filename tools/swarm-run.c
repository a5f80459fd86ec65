/* swarm-run - a function over a grid of parameters, in parallel, never
 * computing a chunk twice (swarm-run(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/cap.h>
#include <coren/json.h>
#include <coren/log.h>
#include <coren/memo.h>
#include <coren/progress.h>
#include <coren/record.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: swarm-run [OPTION]... [--exec PLUGIN | --cmd PROG ARG... |\n"
	"                 --coproc PROG ARG...]\n"
	"Evaluates a function at every point of a grid of parameters, in\n"
	"parallel, caching results in chunk files so that no chunk is ever\n"
	"computed twice. Writes 'result' records in grid order, then a 'diag'.\n"
	"\n"
	"The experiment (options override the file):\n"
	"  -c, --config FILE     YAML: params, split, memo_chunk, exec_chunk,\n"
	"                        cache, version, workers, axis_order, exec, cmd,\n"
	"                        coproc\n"
	"  --param K=V           a fixed parameter (V: JSON scalar, else string)\n"
	"  --split AXIS=V1,V2,.. an axis and its values, or AXIS=A..B[..STEP]\n"
	"  --memo-chunk AXIS=N   values of AXIS per memo chunk\n"
	"  --exec-chunk N        points per worker batch (default 1)\n"
	"  --axis-order A,B,..   axis order (default: sorted by name)\n"
	"  --cache DIR           chunk cache (default $COREN_CACHE_DIR/chunks,\n"
	"                        else ~/.cache/coren/chunks)\n"
	"  --version=V           the experiment's version (default v1); a bare\n"
	"                        --version prints swarm-run's version\n"
	"  --workers N|auto      parallel workers (default auto: one per core)\n"
	"The function (one of):\n"
	"  --exec PLUGIN         an exec plugin, by name or path\n"
	"  --plugin-dir DIR      look for plugins in DIR first\n"
	"  --isolate             run the plugin in worker processes: a crash\n"
	"                        loses only its exec chunk\n"
	"  --cmd PROG ARG...     run PROG per point (the rest of the line);\n"
	"                        {axis} in ARGs is the point's value, and\n"
	"                        SWARM_POINT, SWARM_PARAMS, SWARM_V_<axis> are set\n"
	"  --coproc PROG ARG...  one PROG per worker, fed 'point' lines on\n"
	"                        stdin, answering one line per point\n"
	"What to do (default: run and write results):\n"
	"  --stream              write chunks only, no results (bounded memory)\n"
	"  --plan                print a 'chunk' record per chunk, run nothing\n"
	"  --verify              check every chunk in the cache (exit 1: damage)\n"
	"  --gc                  remove chunks the experiment does not reach,\n"
	"                        and/or (with --max-age) older ones\n"
	"  --max-age DURATION    with --gc: e.g. 30d, 12h\n"
	"  --keep-going          finish every other chunk after a failed point\n"
	"  --progress, --no-progress  bar on stderr (default: on a terminal)\n"
	"  -q, -v, --help\n"
	"\n"
	"Exit status: 0 ok, 1 --verify found damage, 2 usage, configuration or\n"
	"I/O error, 3 plugin load failure, 4 some points failed, 130/143\n"
	"interrupted (finished chunks are kept). See swarm-run(1).\n";

enum {
	OPT_PARAM = TOOL_OPT__END,
	OPT_SPLIT,
	OPT_MEMO_CHUNK,
	OPT_EXEC_CHUNK,
	OPT_AXIS_ORDER,
	OPT_CACHE,
	OPT_WORKERS,
	OPT_EXEC,
	OPT_PLUGIN_DIR,
	OPT_ISOLATE,
	OPT_CMD,
	OPT_COPROC,
	OPT_STREAM,
	OPT_PLAN,
	OPT_VERIFY,
	OPT_GC,
	OPT_MAX_AGE,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_SERVE,
	OPT_EXP_VERSION
};

static const struct option options[] = {
	{"config", required_argument, NULL, 'c'},
	{"param", required_argument, NULL, OPT_PARAM},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"memo-chunk", required_argument, NULL, OPT_MEMO_CHUNK},
	{"exec-chunk", required_argument, NULL, OPT_EXEC_CHUNK},
	{"axis-order", required_argument, NULL, OPT_AXIS_ORDER},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
	{"isolate", no_argument, NULL, OPT_ISOLATE},
	{"cmd", no_argument, NULL, OPT_CMD},
	{"coproc", no_argument, NULL, OPT_COPROC},
	{"stream", no_argument, NULL, OPT_STREAM},
	{"plan", no_argument, NULL, OPT_PLAN},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"gc", no_argument, NULL, OPT_GC},
	{"max-age", required_argument, NULL, OPT_MAX_AGE},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"serve", required_argument, NULL, OPT_SERVE},
	{"version", optional_argument, NULL, OPT_EXP_VERSION},
	{"json", no_argument, NULL, TOOL_OPT_JSON},
	{"max-record", required_argument, NULL, TOOL_OPT_MAX_RECORD},
	{"keep-going", no_argument, NULL, TOOL_OPT_KEEP_GOING},
	{"help", no_argument, NULL, 'h'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{NULL, 0, NULL, 0}};

enum mode { MODE_RUN, MODE_STREAM, MODE_PLAN, MODE_VERIFY, MODE_GC };

struct args {
	const char *config;
	char **later;	 /* options applied after the file, in order */
	int *later_opt;
	size_t nlater;
	const char *dirs[64];
	size_t ndirs;
	enum mode mode;
	bool isolate, exec_chunk_set;
	int progress; /* -1 auto */
	double max_age;
	const char *serve;
	char **cmd, **coproc;
	bool workers_set;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	if (stop) { /* a second signal: go now */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop = sig;
}

static void set_mode(struct args *a, enum mode m)
{
	if (a->mode != MODE_RUN && a->mode != m)
		tool_usage_error("--stream, --plan, --verify and --gc exclude "
				 "each other");
	a->mode = m;
}

static void later(struct args *a, int opt, char *arg)
{
	a->later = realloc(a->later, (a->nlater + 1) * sizeof *a->later);
	a->later_opt = realloc(a->later_opt, (a->nlater + 1) * sizeof *a->later_opt);
	if (!a->later || !a->later_opt)
		abort();
	a->later[a->nlater] = arg;
	a->later_opt[a->nlater++] = opt;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	int c;

	a->progress = -1;
	a->max_age = -1;
	while ((c = getopt_long(argc, argv, "+c:hqv", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case OPT_PARAM:
		case OPT_SPLIT:
		case OPT_MEMO_CHUNK:
		case OPT_EXEC_CHUNK:
		case OPT_AXIS_ORDER:
		case OPT_CACHE:
		case OPT_WORKERS:
		case OPT_EXEC:
			later(a, c, optarg);
			break;
		case OPT_EXP_VERSION:
			if (!optarg) {
				printf("swarm-run (coren) %s\n", PACKAGE_VERSION);
				exit(0);
			}
			later(a, c, optarg);
			break;
		case OPT_PLUGIN_DIR:
			if (a->ndirs + 1 < sizeof a->dirs / sizeof *a->dirs)
				a->dirs[a->ndirs++] = optarg;
			break;
		case OPT_ISOLATE:
			a->isolate = true;
			break;
		case OPT_CMD:
		case OPT_COPROC:
			if (optind >= argc)
				tool_usage_error("%s needs a command",
						 c == OPT_CMD ? "--cmd"
							      : "--coproc");
			*(c == OPT_CMD ? &a->cmd : &a->coproc) = argv + optind;
			optind = argc;
			break;
		case OPT_STREAM:
			set_mode(a, MODE_STREAM);
			break;
		case OPT_PLAN:
			set_mode(a, MODE_PLAN);
			break;
		case OPT_VERIFY:
			set_mode(a, MODE_VERIFY);
			break;
		case OPT_GC:
			set_mode(a, MODE_GC);
			break;
		case OPT_MAX_AGE:
			a->max_age = tool_number_option("--max-age", optarg, 1);
			break;
		case OPT_PROGRESS:
		case OPT_NO_PROGRESS:
			a->progress = c == OPT_PROGRESS;
			break;
		case OPT_SERVE:
			a->serve = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			if (!tool_common_option(c, optarg))
				tool_usage_error("unknown option");
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (a command goes "
				 "after --cmd or --coproc)",
				 argv[optind]);
	if (a->max_age >= 0 && a->mode != MODE_GC)
		tool_usage_error("--max-age goes with --gc");
}

/* An option applied over the experiment. */
static void apply(struct coren_memo_exp *e, int opt, char *arg)
{
	struct coren_error err = {0};
	enum coren_err rc = COREN_OK;
	double d;

	switch (opt) {
	case OPT_PARAM:
		rc = coren_memo_exp_param(e, arg, &err);
		break;
	case OPT_SPLIT:
		rc = coren_memo_exp_split(e, arg, &err);
		break;
	case OPT_MEMO_CHUNK:
		rc = coren_memo_exp_memo_chunk(e, arg, &err);
		break;
	case OPT_EXEC_CHUNK:
		d = tool_number_option("--exec-chunk", arg, 0);
		if (d < 1 || d > 1e9 || d != (double)(size_t)d)
			tool_usage_error("--exec-chunk '%s': not a positive "
					 "integer",
					 arg);
		e->exec_chunk = (size_t)d;
		break;
	case OPT_WORKERS:
		if (!strcmp(arg, "auto")) {
			e->workers = 0;
			break;
		}
		d = tool_number_option("--workers", arg, 0);
		if (d < 1 || d > 4096 || d != (double)(unsigned)d)
			tool_usage_error("--workers '%s': 1..4096 or auto", arg);
		e->workers = (unsigned)d;
		break;
	case OPT_AXIS_ORDER: {
		size_t n = 1;

		for (const char *p = arg; *p; p++)
			n += *p == ',';
		for (size_t i = 0; i < e->naxis_order; i++)
			free(e->axis_order[i]);
		free(e->axis_order);
		e->axis_order = calloc(n, sizeof *e->axis_order);
		e->naxis_order = 0;
		for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ","))
			e->axis_order[e->naxis_order++] = strdup(tok);
		break;
	}
	case OPT_CACHE:
		free(e->cache);
		e->cache = strdup(arg);
		break;
	case OPT_EXP_VERSION:
		free(e->version);
		e->version = strdup(arg);
		break;
	case OPT_EXEC:
		free(e->exec);
		e->exec = strdup(arg);
		break;
	}
	if (rc)
		tool_usage_error("%s", err.msg);
}

/* The cache directory of coren-probe's cap, plus /chunks. */
static char *default_cache(void)
{
	char *dir = coren_cap_cache_dir(), *out = NULL;

	if (asprintf(&out, "%s/chunks", dir ? dir : ".cache/coren") < 0)
		out = NULL;
	free(dir);
	return out;
}

static void load_experiment(struct coren_memo_exp *e, struct args *a)
{
	struct coren_error err = {0};

	coren_memo_exp_init(e);
	if (a->config) {
		struct coren_yaml_doc *doc;

		if (coren_yaml_load_file(a->config, &doc, &err) ||
		    coren_memo_exp_load_yaml(e, coren_yaml_root(doc), &err)) {
			if (err.code == COREN_ERR_CONFIG ||
			    err.code == COREN_ERR_NOTFOUND)
				err.code = COREN_ERR_USAGE;
			tool_die(&err);
		}
		coren_yaml_free(doc);
	}
	for (size_t i = 0; i < a->nlater; i++)
		apply(e, a->later_opt[i], a->later[i]);
	if ((a->cmd && coren_memo_exp_command(e, (const char *const *)a->cmd,
					      false, &err)) ||
	    (a->coproc && coren_memo_exp_command(e, (const char *const *)a->coproc,
						 true, &err)))
		tool_die(&err);
	if (!e->cache)
		e->cache = default_cache();
	if (!e->workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		e->workers = n > 0 ? (unsigned)n : 1;
	}
	if (coren_memo_exp_finish(e, &err))
		tool_die(&err);
}

/* The exec function the experiment names, or NULL for --plan without one. */
static struct coren_memo_exec *open_exec(struct coren_memo_exp *e,
					 struct args *a, bool required)
{
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	int n = !!e->exec + !!e->cmd + !!e->coproc;
	enum coren_err rc;

	a->dirs[a->ndirs] = NULL;
	if (n > 1)
		tool_usage_error("choose one of --exec, --cmd and --coproc");
	if (n == 0) {
		if (required)
			tool_usage_error("no function: give --exec, --cmd or "
					 "--coproc");
		return NULL;
	}
	if (a->isolate && !e->exec)
		tool_usage_error("--isolate goes with --exec");
	if (e->exec && a->isolate) {
		char self[PATH_MAX];
		const char **argv = calloc(4 + 2 * a->ndirs, sizeof *argv);
		ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
		size_t k = 0;

		if (len <= 0 || !argv)
			tool_usage_error("--isolate: cannot find swarm-run itself");
		self[len] = '\0';
		/* load it here first: a bad plugin is exit 3 before any run */
		rc = coren_memo_exec_plugin(e->exec, a->dirs, &x, &err);
		if (rc)
			tool_die_code(&err, COREN_EXIT_PLUGIN);
		coren_memo_exec_free(x);
		argv[k++] = self;
		for (size_t i = 0; i < a->ndirs; i++) {
			argv[k++] = "--plugin-dir";
			argv[k++] = a->dirs[i];
		}
		argv[k++] = "--serve";
		argv[k++] = e->exec;
		rc = coren_memo_exec_coproc(argv, &x, &err);
		free(argv);
	} else if (e->exec) {
		rc = coren_memo_exec_plugin(e->exec, a->dirs, &x, &err);
	} else if (e->cmd) {
		rc = coren_memo_exec_cmd((const char *const *)e->cmd, &x, &err);
	} else {
		rc = coren_memo_exec_coproc((const char *const *)e->coproc, &x,
					    &err);
	}
	if (rc == COREN_ERR_NOTFOUND && e->exec) /* a plugin: exit 3 */
		tool_die_code(&err, COREN_EXIT_PLUGIN);
	if (rc)
		tool_die(&err);
	return x;
}

/* The worker of --isolate: the co-process protocol over a plugin. */
static int serve(struct args *a)
{
	struct coren_memo_exec *x;
	struct coren_error err = {0};
	const char *ptext = getenv("SWARM_PARAMS");
	json_t *params = ptext ? coren_json_parse(ptext, strlen(ptext), &err)
			       : json_object();

	a->dirs[a->ndirs] = NULL;
	if (!params)
		tool_die(&err);
	if (coren_memo_exec_plugin(a->serve, a->dirs, &x, &err))
		tool_die(&err);
	if (coren_memo_exec_serve(x, params, stdin, stdout, &err))
		tool_die(&err);
	coren_memo_exec_free(x);
	json_decref(params);
	return 0;
}

static void show_progress(const struct coren_memo_stats *s, void *data)
{
	coren_progress_update(data, s->chunks_cached + s->chunks_executed);
}

static int run(struct coren_memo_plan *p, struct coren_memo_exec *x,
	       struct args *a, struct coren_memo_exp *e)
{
	struct coren_memo_run_opts o = {0};
	struct coren_memo_stats st;
	struct coren_error err = {0};
	struct coren_progress *bar = NULL;
	enum coren_err rc;
	json_t *diag;

	if (a->progress != 0 && tool.verbosity > 0)
		bar = coren_progress_new(stderr, "swarm-run",
					 coren_memo_plan_chunks(p), "chunks",
					 a->progress == 1);
	o.out = a->mode == MODE_STREAM ? NULL : stdout;
	o.keep_going = tool.keep_going;
	o.workers = e->workers;
	o.stop = &stop;
	o.progress = bar ? show_progress : NULL;
	o.progress_data = bar;
	rc = coren_memo_run(p, x, &o, &st, &err);
	coren_progress_finish(bar);
	coren_progress_free(bar);
	diag = coren_memo_stats_record(&st);
	coren_record_write(stdout, diag);
	json_decref(diag);
	if (rc == COREN_ERR_INTERRUPTED) {
		fflush(stdout);
		tool_report(&err);
		return 128 + (int)stop;
	}
	if (rc)
		tool_report(&err);
	return coren_exit_code(rc);
}

static int cache_verify(const struct coren_memo_exp *e)
{
	struct coren_memo_cache_stats st;
	struct coren_error err = {0};
	json_t *d;

	if (coren_memo_cache_verify(e->cache, 0, tool.verbosity > 1, stdout,
				    &st, &err))
		tool_die(&err);
	d = coren_record_new("diag");
	json_object_set_new(d, "chunks_checked", coren_json_u64(st.checked));
	json_object_set_new(d, "chunks_damaged", coren_json_u64(st.damaged));
	coren_record_write(stdout, d);
	json_decref(d);
	if (st.damaged && tool.verbosity > 0)
		fprintf(stderr, "swarm-run: %llu of %llu chunks are damaged\n",
			(unsigned long long)st.damaged,
			(unsigned long long)st.checked);
	return st.damaged ? COREN_EXIT_NEGATIVE : 0;
}

static int cache_gc(const struct coren_memo_plan *p, double max_age,
		    const struct coren_memo_exp *e)
{
	struct coren_memo_cache_stats st;
	struct coren_error err = {0};
	json_t *d;

	if (!e->naxes && max_age < 0)
		tool_usage_error("--gc needs an experiment (--split, -c) or "
				 "--max-age");
	if (coren_memo_cache_gc(e->cache, e->naxes ? p : NULL, max_age, &st,
				&err))
		tool_die(&err);
	d = coren_record_new("diag");
	json_object_set_new(d, "chunks_checked", coren_json_u64(st.checked));
	json_object_set_new(d, "chunks_removed", coren_json_u64(st.removed));
	json_object_set_new(d, "chunks_kept", coren_json_u64(st.kept));
	json_object_set_new(d, "bytes_removed", coren_json_u64(st.bytes_removed));
	json_object_set_new(d, "temp_removed", coren_json_u64(st.temp_removed));
	coren_record_write(stdout, d);
	json_decref(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	struct sigaction sa;
	int status = 0;

	tool_init("swarm-run");
	/* chunks are large buffers, made and freed all the time: keep them in
	 * the heap rather than mmap'ing fresh pages (page faults) each time */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	parse_args(argc, argv, &a);
	if (a.serve)
		return serve(&a);
	load_experiment(&e, &a);
	if (a.mode != MODE_VERIFY && coren_memo_plan_new(&e, &p, &err))
		tool_die(&err);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	switch (a.mode) {
	case MODE_VERIFY:
		status = cache_verify(&e);
		break;
	case MODE_GC:
		status = cache_gc(p, a.max_age, &e);
		break;
	case MODE_PLAN:
		x = open_exec(&e, &a, false);
		if (coren_memo_plan_write(p, x, stdout, &err))
			tool_die(&err);
		break;
	default:
		x = open_exec(&e, &a, true);
		status = run(p, x, &a, &e);
	}
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	free(a.later);
	free(a.later_opt);
	return status;
}
