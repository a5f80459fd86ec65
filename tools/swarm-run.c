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
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_head[] =
	"usage: swarm-run [OPTION]... [--exec PLUGIN | --cmd PROG ARG... |\n"
	"                 --coproc PROG ARG...]\n"
	"Evaluates a function at every point of a grid of parameters, in\n"
	"parallel, caching results in chunk files so that no chunk is ever\n"
	"computed twice. Writes 'result' records in grid order, then a 'diag'.\n"
	"\n"
	"  -c, --config FILE     the experiment in YAML (options override it);\n"
	"                        its keys: %s\n";

static const char usage_tail[] =
	"\n"
	"Sizes take B, k, M, G, T, P and KiB..PiB; counts k, M, G (10k); durations\n"
	"ns, us, ms, s, m, h, d (default seconds); '_' may group digits.\n"
	"Exit status: 0 ok, 1 --verify found damage, 2 usage, configuration or\n"
	"I/O error, 3 plugin load failure, 4 some points failed, 130/143\n"
	"interrupted (finished chunks are kept). See swarm-run(1).\n";

enum mode { MODE_RUN, MODE_STREAM, MODE_PLAN, MODE_VERIFY, MODE_GC };

/* swarm-run's own settings, beside the experiment's (struct
 * coren_memo_exp, coren_memo_exp_settings) and the shared ones (tool). */
struct args {
	char *config;
	char **dirs; /* --plugin-dir, NULL-terminated */
	int mode;    /* enum mode */
	bool isolate, dry_run, all_functions;
	int progress; /* -1 auto */
	double max_age;
	char *serve;
	bool sharded;
	uint32_t shard, shards;
	unsigned slurm; /* tasks of --slurm; 0: none */
	bool submit, publish, explain, trust_unsigned, public_key;
	bool values; /* --values: results as "values" records */
	char *remote, *cap_file, *generate_key, *ca_file;
	double tier_timeout;
	size_t tier_min_speed;
	int fetch; /* enum coren_fetch_policy */
	size_t max_fetch;
};

static void set_mode(struct args *a, enum mode m)
{
	if (a->mode != MODE_RUN && a->mode != (int)m)
		tool_usage_error("--stream, --plan, --verify and --gc exclude "
				 "each other");
	a->mode = m;
}

#define MODE_SETTER(fn, m)                                                   \
	static enum coren_err fn(void *a, const char *v,                     \
				 struct coren_error *err)                    \
	{                                                                    \
		(void)v, (void)err;                                          \
		set_mode(a, m);                                              \
		return COREN_OK;                                             \
	}
MODE_SETTER(set_stream, MODE_STREAM)
MODE_SETTER(set_plan, MODE_PLAN)
MODE_SETTER(set_verify, MODE_VERIFY)
MODE_SETTER(set_gc, MODE_GC)

static enum coren_err set_progress(void *a, const char *v,
				   struct coren_error *err)
{
	(void)v, (void)err;
	((struct args *)a)->progress = 1;
	return COREN_OK;
}

static enum coren_err set_no_progress(void *a, const char *v,
				      struct coren_error *err)
{
	(void)v, (void)err;
	((struct args *)a)->progress = 0;
	return COREN_OK;
}

/* "I/N" (0 <= I < N), or "auto": Slurm's array task, counted from the
 * array's first task. */
static enum coren_err set_shard(void *obj, const char *arg,
				struct coren_error *err)
{
	struct args *a = obj;
	const char *id = getenv("SLURM_ARRAY_TASK_ID");
	const char *count = getenv("SLURM_ARRAY_TASK_COUNT");
	const char *min = getenv("SLURM_ARRAY_TASK_MIN");
	unsigned long long i, n, m = 0;
	char tail;

	(void)err;
	if (!strcmp(arg, "auto")) {
		if (!id || !count ||
		    sscanf(id, "%llu%c", &i, &tail) != 1 ||
		    sscanf(count, "%llu%c", &n, &tail) != 1 ||
		    (min && sscanf(min, "%llu%c", &m, &tail) != 1) || i < m)
			tool_usage_error("--shard auto: not in a Slurm job "
					 "array (SLURM_ARRAY_TASK_ID and "
					 "SLURM_ARRAY_TASK_COUNT)");
		i -= m;
	} else if (strspn(arg, "0123456789/") != strlen(arg) ||
		   sscanf(arg, "%llu/%llu%c", &i, &n, &tail) != 2) {
		tool_usage_error("--shard '%s': I/N, e.g. 0/4, or auto", arg);
	}
	if (n < 1 || n > UINT32_MAX || i >= n)
		tool_usage_error("--shard %llu/%llu: I must be below N", i, n);
	a->sharded = true;
	a->shard = (uint32_t)i;
	a->shards = (uint32_t)n;
	return COREN_OK;
}

static const char *const fetch_policies[] = {"verdict", "always", NULL};

#define ARG(member) COREN_SETTING_AT(struct args, member)

static const struct coren_setting rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "Running the function:")},
	{COREN_ROW(STRING, NULL, "config", 'c', "FILE", NULL), ARG(config)},
	{COREN_ROW(STRINGS, NULL, "plugin-dir", 0, "DIR",
		   "look for plugins in DIR first (repeatable)"),
	 ARG(dirs)},
	{COREN_ROW(FLAG, NULL, "isolate", 0, NULL,
		   "run the plugin in worker processes: a crash\n"
		   "loses only its exec chunk"),
	 ARG(isolate)},
	{COREN_ROW(STRING, NULL, "serve", 0, "PLUGIN", NULL), ARG(serve)},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL,
		   "What to do (default: run and write results):")},
	{COREN_ROW(CUSTOM, NULL, "stream", 0, NULL,
		   "write chunks only, no results (bounded memory)"),
	 .set = set_stream},
	{COREN_ROW(FLAG, NULL, "values", 0, NULL,
		   "results as 'values' records: the values of a\n"
		   "run of points in grid order, no points"),
	 ARG(values)},
	{COREN_ROW(CUSTOM, NULL, "plan", 0, NULL,
		   "print a 'chunk' record per chunk, run nothing"),
	 .set = set_plan},
	{COREN_ROW(CUSTOM, NULL, "verify", 0, NULL,
		   "check every chunk in the cache (exit 1: damage)"),
	 .set = set_verify},
	{COREN_ROW(CUSTOM, NULL, "gc", 0, NULL,
		   "remove this function's chunks the experiment\n"
		   "does not reach, and/or (with --max-age) older\n"
		   "ones; other functions' chunks are never touched"),
	 .set = set_gc},
	{COREN_ROW(DURATION, NULL, "max-age", 0, "DURATION",
		   "with --gc: e.g. 30d, 12h"),
	 ARG(max_age)},
	{COREN_ROW(FLAG, NULL, "dry-run", 0, NULL,
		   "with --gc: list what would go, remove nothing"),
	 ARG(dry_run)},
	{COREN_ROW(FLAG, NULL, "all-functions", 0, NULL,
		   "with --gc --max-age: old chunks of every\n"
		   "function, those of renamed or edited ones too"),
	 ARG(all_functions)},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "Beyond one machine:")},
	{COREN_ROW(CUSTOM, NULL, "shard", 0, "I/N|auto",
		   "compute only task I's share (of N) of the\n"
		   "missing chunks into the cache; no results.\n"
		   "auto: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"),
	 .set = set_shard},
	{COREN_ROW(COUNT, NULL, "slurm", 0, "N",
		   "print a script that runs the sweep as a Slurm\n"
		   "job array of N tasks (1..1000000), resubmits\n"
		   "failed tasks and assembles the results"),
	 .min = 1, .max = 1e6, ARG(slurm)},
	{COREN_ROW(FLAG, NULL, "submit", 0, NULL,
		   "with --slurm: run the script"),
	 ARG(submit)},
	{COREN_ROW(STRING, NULL, "remote", 0, "DIR|URL",
		   "a shared chunk tier: chunks missing here are\n"
		   "fetched from it when coren's verdict says\n"
		   "fetching beats computing (token: the\n"
		   "COREN_REMOTE_TOKEN environment variable)"),
	 ARG(remote)},
	{COREN_ROW(FLAG, NULL, "publish", 0, NULL,
		   "put the chunks computed here on the tier"),
	 ARG(publish)},
	{COREN_ROW(ENUM, NULL, "fetch", 0, "verdict|always",
		   "how to choose (default verdict)"),
	 .choices = fetch_policies, ARG(fetch)},
	{COREN_ROW(FLAG, NULL, "explain", 0, NULL,
		   "a 'verdict' record per decision"),
	 ARG(explain)},
	{COREN_ROW(SIZE, NULL, "max-fetch", 0, "SIZE",
		   "refuse remote chunk files larger (default 1GiB)"),
	 .min = 1, ARG(max_fetch)},
	{COREN_ROW(DURATION, NULL, "tier-timeout", 0, "DURATION",
		   "longest a transfer may take (default 60s)"),
	 .min = 0.001, ARG(tier_timeout)},
	{COREN_ROW(SIZE, NULL, "tier-min-speed", 0, "SIZE",
		   "slowest a transfer may go, per second\n"
		   "(default 1KiB); either ends the tier's use"),
	 .min = 1, .max = 9223372036854775807.0, ARG(tier_min_speed)},
	{COREN_ROW(STRING, NULL, "ca-file", 0, "FILE",
		   "trust these certificates (PEM) for https://"),
	 ARG(ca_file)},
	{COREN_ROW(FLAG, NULL, "trust-unsigned", 0, NULL,
		   "accept unsigned tier chunks (a private tier)"),
	 ARG(trust_unsigned)},
	{COREN_ROW(STRING, NULL, "generate-key", 0, "NAME",
		   "write a new key pair's secret key to the\n"
		   "--secret-key FILE, print its public key"),
	 ARG(generate_key)},
	{COREN_ROW(FLAG, NULL, "public-key", 0, NULL,
		   "print the public key of --secret-key FILE"),
	 ARG(public_key)},
	{COREN_ROW(STRING, NULL, "cap", 0, "FILE",
		   "this machine (a cap record) for the verdicts\n"
		   "and --gc (default: coren-probe's cache)"),
	 ARG(cap_file)},
	{COREN_ROW(CUSTOM, NULL, "progress", 0, NULL,
		   "a bar on stderr (default: on a terminal)"),
	 .set = set_progress},
	{COREN_ROW(CUSTOM, NULL, "no-progress", 0, NULL, "no bar"),
	 .set = set_no_progress},
	TOOL_ROW_END};

/* The shared options swarm-run takes (no --json, --table, --max-record:
 * it reads no records). */
static const struct coren_setting common_rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "And:")},
	TOOL_ROW_KEEP_GOING("finish every other chunk after a failed point"),
	TOOL_ROW_QUIET,
	TOOL_ROW_VERBOSE,
	TOOL_ROW_HELP,
	{COREN_ROW(CUSTOM, NULL, "version", 0, NULL,
		   "print swarm-run's version (the experiment's\n"
		   "is --exp-version)"),
	 .set = tool_set_version},
	TOOL_ROW_END};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	if (stop) { /* a second signal: go now */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop = sig;
}

/* --version prints swarm-run's version. The experiment's version was
 * once --version=V: a value given to --version, or an argument after it
 * (--version v2, which used to print this version and exit 0 into a
 * results file), is a usage error, never a silent success. */
static void check_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *value = NULL;

		if (!strcmp(argv[i], "--cmd") || !strcmp(argv[i], "--coproc"))
			return;
		if (!strncmp(argv[i], "--version=", 10))
			value = argv[i] + 10;
		else if (!strcmp(argv[i], "--version") && i + 1 < argc &&
			 argv[i + 1][0] != '-')
			value = argv[i + 1];
		if (value)
			tool_usage_error("--version takes no value ('%s'); the "
					 "experiment's version is "
					 "--exp-version %s",
					 value, value);
	}
}

/* Whether an option names the function (it replaces the file's). */
static bool names_function(const struct coren_setting_use *uses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (uses[i].row->key && (!strcmp(uses[i].row->key, "exec") ||
					 !strcmp(uses[i].row->key, "cmd") ||
					 !strcmp(uses[i].row->key, "coproc")))
			return true;
	return false;
}

static void check_args(const struct args *a)
{
	if ((a->max_age >= 0 || a->dry_run) && a->mode != MODE_GC)
		tool_usage_error("--max-age and --dry-run go with --gc");
	if (a->all_functions && (a->mode != MODE_GC || a->max_age < 0))
		tool_usage_error("--all-functions goes with --gc --max-age");
	if (a->submit && !a->slurm)
		tool_usage_error("--submit goes with --slurm");
	if (a->trust_unsigned && !a->remote)
		tool_usage_error("--trust-unsigned goes with --remote");
	if (a->generate_key && a->public_key)
		tool_usage_error("--generate-key and --public-key exclude each "
				 "other");
	if ((a->publish || a->explain || a->max_fetch || a->tier_timeout ||
	     a->tier_min_speed || a->ca_file) &&
	    !a->remote)
		tool_usage_error("--publish, --explain, --max-fetch, "
				 "--tier-timeout, --tier-min-speed and "
				 "--ca-file go with --remote");
	if (a->values && (a->sharded || a->slurm || a->mode != MODE_RUN))
		tool_usage_error("--values goes with a run that writes results");
	if (a->slurm && (a->sharded || a->mode != MODE_RUN))
		tool_usage_error("--slurm makes its own --shard runs; give "
				 "it the experiment only");
	if ((a->sharded || a->remote) &&
	    (a->mode == MODE_PLAN || a->mode == MODE_VERIFY ||
	     a->mode == MODE_GC))
		tool_usage_error("--shard and --remote go with a run or "
				 "--stream");
}

/* Parses argv: swarm-run's own options act now; the experiment's are
 * kept in *uses for after the file. */
static void parse_args(int argc, char **argv, struct args *a,
		       struct coren_memo_exp *e,
		       struct coren_setting_use **uses, size_t *nuses)
{
	const struct coren_settings tabs[] = {
		{coren_memo_exp_settings, e}, {rows, a}, {common_rows, &tool}};
	char *keys = coren_settings_keys(coren_memo_exp_settings), *head,
	     *wrapped;
	int next;

	if (!keys)
		abort();
	wrapped = tool_wrap(keys, 34, 24);
	if (asprintf(&head, usage_head, wrapped) < 0)
		abort();
	free(keys);
	free(wrapped);

	a->progress = -1;
	a->max_age = -1;
	check_version(argc, argv);
	next = tool_parse(tabs, 3, head, usage_tail, argc, argv, uses, nuses);
	free(head);
	if (next < argc)
		tool_usage_error("unexpected argument '%s' (a command goes "
				 "after --cmd or --coproc)",
				 argv[next]);
	check_args(a);
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

static void memo_free_argv(char ***v)
{
	for (char **p = *v; p && *p; p++)
		free(*p);
	free(*v);
	*v = NULL;
}

/* The file (-c), then the options over it. */
static void load_experiment(struct coren_memo_exp *e, struct args *a,
			    const struct coren_setting_use *uses,
			    size_t nuses)
{
	struct coren_error err = {0};

	if (a->config) {
		struct coren_yaml_doc *doc;

		/* the file's directory: its relative paths are its own */
		const char *slash = strrchr(a->config, '/');
		char *dir = slash ? strndup(a->config, (size_t)(slash - a->config) +
								(slash == a->config))
				  : NULL;

		if (coren_yaml_load_file(a->config, &doc, &err) ||
		    coren_memo_exp_load_yaml(e, coren_yaml_root(doc), dir,
					     &err)) {
			if (err.code == COREN_ERR_CONFIG ||
			    err.code == COREN_ERR_NOTFOUND)
				err.code = COREN_ERR_USAGE;
			tool_die(&err);
		}
		free(dir);
		coren_yaml_free(doc);
	}
	if (names_function(uses, nuses)) { /* the options' function only */
		free(e->exec);
		memo_free_argv(&e->cmd);
		memo_free_argv(&e->coproc);
		free(e->prog); /* a command line's program is as written */
		e->exec = e->prog = NULL;
	}
	tool_apply(uses, nuses);
	if (!e->cache)
		e->cache = default_cache();
	if (!e->workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		e->workers = n > 0 ? (unsigned)n : 1;
	}
	if (coren_memo_exp_finish(e, &err))
		tool_die(&err);
}

/* Names the function in the experiment (e->fn) for the chunk ids. */
static void identify(struct coren_memo_exp *e, const struct coren_memo_exec *x)
{
	struct coren_error err = {0};

	if (coren_memo_exp_identify(e, x, &err))
		tool_die(&err);
}

static size_t ndirs(const struct args *a)
{
	size_t n = 0;

	while (a->dirs && a->dirs[n])
		n++;
	return n;
}

/* The exec function the experiment names, its identity in e->fn; NULL
 * when --plan or --gc are given only a --fn-id. */
static struct coren_memo_exec *open_exec(struct coren_memo_exp *e,
					 struct args *a)
{
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	int n = !!e->exec + !!e->cmd + !!e->coproc;
	enum coren_err rc;

	if (n > 1)
		tool_usage_error("choose one of --exec, --cmd and --coproc");
	if (n == 0) {
		if (!e->fn_id || a->mode == MODE_RUN || a->mode == MODE_STREAM)
			tool_usage_error("no function: give --exec, --cmd or "
					 "--coproc%s",
					 a->mode == MODE_RUN ||
							 a->mode == MODE_STREAM
						 ? ""
						 : " (or --fn-id: chunk ids "
						   "name the function)");
		identify(e, NULL);
		return NULL;
	}
	if (a->isolate && !e->exec)
		tool_usage_error("--isolate goes with --exec");
	if (e->timeout > 0 && e->exec && !a->isolate)
		tool_usage_error("--timeout goes with --cmd, --coproc or "
				 "--isolate (a plugin in this process cannot "
				 "be stopped)");
	if (e->exec && a->isolate) {
		char self[PATH_MAX];
		const char **argv = calloc(4 + 2 * ndirs(a), sizeof *argv);
		ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
		size_t k = 0;

		if (len <= 0 || !argv)
			tool_usage_error("--isolate: cannot find swarm-run itself");
		self[len] = '\0';
		/* load it here first: a bad plugin is exit 3 before any run */
		rc = coren_memo_exec_plugin(e->exec, (const char *const *)a->dirs, &x, &err);
		if (rc)
			tool_die_code(&err, COREN_EXIT_PLUGIN);
		identify(e, x); /* the plugin's, wherever it runs */
		coren_memo_exec_free(x);
		argv[k++] = self;
		for (size_t i = 0; a->dirs && a->dirs[i]; i++) {
			argv[k++] = "--plugin-dir";
			argv[k++] = a->dirs[i];
		}
		argv[k++] = "--serve";
		argv[k++] = e->exec;
		rc = coren_memo_exec_coproc(argv, NULL, &x, &err);
		free(argv);
	} else if (e->exec) {
		rc = coren_memo_exec_plugin(e->exec, (const char *const *)a->dirs, &x, &err);
	} else if (e->cmd) {
		rc = coren_memo_exec_cmd((const char *const *)e->cmd, e->prog,
					 &x, &err);
	} else {
		rc = coren_memo_exec_coproc((const char *const *)e->coproc,
					    e->prog, &x, &err);
	}
	if (rc == COREN_ERR_NOTFOUND && e->exec) /* a plugin: exit 3 */
		tool_die_code(&err, COREN_EXIT_PLUGIN);
	if (rc)
		tool_die(&err);
	if (!e->fn)
		identify(e, x);
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

	if (!params)
		tool_die(&err);
	if (coren_memo_exec_plugin(a->serve, (const char *const *)a->dirs, &x, &err))
		tool_die(&err);
	if (coren_memo_exec_serve(x, params, stdin, stdout, &err))
		tool_die(&err);
	coren_memo_exec_free(x);
	json_decref(params);
	return 0;
}

/* Points and chunks with an outcome (computed, failed, cached, fetched,
 * reused, skipped), as the workers report them: drawn from the start. */
static void show_progress(const struct coren_memo_stats *s, void *data)
{
	coren_progress_update2(data, s->points_done, s->chunks_done);
}

/* Before records go to stdout when it is a terminal: erase the bar. */
static void clear_progress(void *data)
{
	coren_progress_clear(data);
}

/* The keys whose tier chunks the run accepts: --trusted-key and the
 * file's trusted_keys, and COREN_TRUSTED_KEYS. */
static struct coren_trust *load_trust(const struct coren_memo_exp *e,
				      const struct args *a)
{
	struct coren_trust *t = coren_trust_new();
	struct coren_error err = {0};
	const char *env = getenv("COREN_TRUSTED_KEYS");

	if (!t) {
		coren_error_set(&err, COREN_ERR_NOMEM, "out of memory");
		tool_die(&err);
	}
	for (char **k = e->trusted_keys; k && *k; k++)
		if (coren_trust_add(t, *k, &err))
			tool_usage_error("--trusted-key: %s", err.msg);
	if (env && *env && coren_trust_add(t, env, &err))
		tool_usage_error("COREN_TRUSTED_KEYS: %s", err.msg);
	(void)a;
	return t;
}

/* The key chunks are signed with: --secret-key, the file's secret_key,
 * or COREN_SECRET_KEY_FILE; NULL when none. */
static struct coren_secret_key *load_signer(const struct coren_memo_exp *e)
{
	const char *path = e->secret_key ? e->secret_key
					 : getenv("COREN_SECRET_KEY_FILE");
	struct coren_secret_key *k = NULL;
	struct coren_error err = {0};

	if (path && *path && coren_secret_key_load(path, &k, &err))
		tool_usage_error("%s", err.msg);
	return k;
}

/* --generate-key NAME --secret-key FILE: a new secret key into FILE
 * (created, mode 600, never overwritten); its public key on stdout. And
 * --public-key: the public key of the secret key. */
static int keys(struct args *a, struct coren_memo_exp *e)
{
	struct coren_error err = {0};
	struct coren_secret_key *k = NULL;
	char *pub;
	const char *path = e->secret_key ? e->secret_key
					 : getenv("COREN_SECRET_KEY_FILE");

	if (!path || !*path)
		tool_usage_error("%s needs --secret-key FILE",
				 a->generate_key ? "--generate-key"
						 : "--public-key");
	if (a->generate_key &&
	    coren_key_generate_file(a->generate_key, path, &err))
		tool_die(&err);
	if (coren_secret_key_load(path, &k, &err))
		tool_usage_error("%s", err.msg);
	if (!(pub = coren_secret_key_public(k))) {
		coren_error_set(&err, COREN_ERR_NOMEM, "out of memory");
		tool_die(&err);
	}
	printf("%s\n", pub);
	free(pub);
	coren_secret_key_free(k);
	return fflush(stdout) ? COREN_EXIT_USAGE : 0;
}

static int run(struct coren_memo_plan *p, struct coren_memo_exec *x,
	       struct args *a, struct coren_memo_exp *e)
{
	struct coren_memo_run_opts o = {0};
	struct coren_memo_stats st;
	struct coren_error err = {0};
	struct coren_progress *bar = NULL;
	struct coren_remote *remote = NULL;
	struct coren_trust *trust;
	struct coren_secret_key *signer;
	struct coren_cap cap;
	uint32_t *owner = NULL;
	enum coren_err rc;
	json_t *diag;

	if (a->sharded &&
	    coren_memo_shard_assign(p, x, a->shards, &owner, &err))
		tool_die(&err);
	trust = load_trust(e, a);
	o.signer = signer = load_signer(e);
	o.trust = trust;
	o.trust_unsigned = a->trust_unsigned;
	if (a->remote && !coren_trust_count(trust) && !a->trust_unsigned)
		tool_usage_error("--remote needs the keys whose chunks to "
				 "accept (--trusted-key, COREN_TRUSTED_KEYS), "
				 "or --trust-unsigned for a private tier");
	if (a->remote) {
		tool_cap(a->cap_file, &cap);
		if (coren_remote_open(a->remote, getenv("COREN_REMOTE_TOKEN"),
				      &cap, &remote, &err))
			tool_die(&err);
		coren_remote_set_limits(remote, a->tier_timeout,
					(long)a->tier_min_speed);
		if (a->ca_file &&
		    coren_remote_set_ca_file(remote, a->ca_file, &err))
			tool_die(&err);
		o.remote = remote;
		o.cap = &cap;
		o.publish = a->publish;
		o.fetch = a->fetch;
		o.explain = a->explain ? stdout : NULL;
		o.max_fetch = a->max_fetch;
	}
	o.owner = owner;
	o.shard = a->shard;

	if (a->progress != 0 && tool.verbosity > 0) {
		bar = coren_progress_new(stderr, "swarm-run",
					 coren_memo_plan_points(p), "points",
					 a->progress == 1);
		coren_progress_set_sub(bar, coren_memo_plan_chunks(p), "chunks");
	}
	o.out = a->mode == MODE_STREAM || a->sharded ? NULL : stdout;
	o.values = a->values;
	o.keep_going = tool.keep_going;
	o.workers = e->workers;
	o.stop = &stop;
	o.progress = bar ? show_progress : NULL;
	o.progress_data = bar;
	/* records on the terminal the bar is on: erased before each write */
	o.progress_clear = bar && (o.out || o.explain) &&
				   isatty(STDOUT_FILENO) == 1
				   ? clear_progress
				   : NULL;
	rc = coren_memo_run(p, x, &o, &st, &err);
	coren_progress_finish(bar);
	coren_progress_free(bar);
	if (remote && coren_remote_slow(remote) && tool.verbosity > 0)
		tool_warn("the remote tier was too slow: what it did not give "
			  "was computed here");
	else if (remote && coren_remote_down(remote) && tool.verbosity > 0)
		tool_warn("the remote tier went away: what it did not give "
			  "was computed here");
	coren_remote_free(remote);
	coren_trust_free(trust);
	coren_secret_key_free(signer);
	if (a->remote)
		coren_cap_release(&cap);
	free(owner);
	diag = coren_memo_stats_record(&st);
	coren_record_write(stdout, diag);
	json_decref(diag);
	if (rc == COREN_ERR_INTERRUPTED) {
		fflush(stdout);
		tool_report(&err);
		return 128 + (int)stop;
	}
	if (coren_memo_exec_fatal(x)) { /* as a plugin that cannot load */
		coren_error_set(&err, COREN_ERR_PLUGIN_DLOPEN, "%s",
				coren_memo_exec_fatal(x));
		tool_die_code(&err, COREN_EXIT_PLUGIN);
	}
	if (rc)
		tool_report(&err);
	return coren_exit_code(rc);
}

static int cache_verify(const struct coren_memo_exp *e, const struct args *a)
{
	struct coren_memo_cache_stats st;
	struct coren_error err = {0};
	struct coren_trust *trust = load_trust(e, a);
	json_t *d;

	if (coren_memo_cache_verify(e->cache, 0, trust, tool.verbosity > 1,
				    stdout, &st, &err))
		tool_die(&err);
	coren_trust_free(trust);
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

static int cache_gc(const struct coren_memo_plan *p, struct args *a,
		    const struct coren_memo_exp *e)
{
	struct coren_memo_gc_opts o = {e->fn,	   e->naxes ? p : NULL,
				       a->max_age, NULL,
				       a->dry_run, stdout,
				       a->all_functions};
	struct coren_memo_cache_stats st;
	struct coren_error err = {0};
	struct coren_cap cap;
	json_t *d;

	if (!e->naxes && a->max_age < 0)
		tool_usage_error("--gc needs an experiment (--split, -c) or "
				 "--max-age");
	if (a->max_age >= 0) { /* expensive chunks live longer */
		tool_cap(a->cap_file, &cap);
		o.cap = &cap;
	}
	if (coren_memo_cache_gc(e->cache, &o, &st, &err))
		tool_die(&err);
	if (a->max_age >= 0)
		coren_cap_release(&cap);
	d = coren_record_new("diag");
	json_object_set_new(d, "chunks_checked", coren_json_u64(st.checked));
	json_object_set_new(d, "chunks_removed", coren_json_u64(st.removed));
	json_object_set_new(d, "chunks_kept", coren_json_u64(st.kept));
	json_object_set_new(d, "chunks_other", coren_json_u64(st.other));
	json_object_set_new(d, "remove_failed", coren_json_u64(st.failed));
	json_object_set_new(d, "bytes_removed", coren_json_u64(st.bytes_removed));
	json_object_set_new(d, "temp_removed", coren_json_u64(st.temp_removed));
	json_object_set_new(d, "dry_run", json_boolean(a->dry_run));
	coren_record_write(stdout, d);
	json_decref(d);
	if (st.failed)
		tool_warn("%llu chunks could not be removed",
			  (unsigned long long)st.failed);
	return st.failed ? COREN_EXIT_USAGE : 0;
}

/* s as one shell word. */
static void put_quoted(FILE *f, const char *s)
{
	putc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			putc(*s, f);
	putc('\'', f);
}

static const char slurm_body[] =
	"work=${SWARM_WORK:-.swarm-slurm.$$}\n"
	"command -v sbatch >/dev/null || {\n"
	"\techo \"swarm-run: sbatch not found (is Slurm installed?)\" >&2\n"
	"\texit 2\n"
	"}\n"
	"mkdir -p \"$work\" || exit 2\n"
	"tasks=0-$((n - 1))\n"
	"try=0\n"
	"while :; do\n"
	"\t# shellcheck disable=SC2086 # SWARM_SBATCH: several options\n"
	"\tsbatch --wait --array=\"$tasks\" --job-name=swarm-run \\\n"
	"\t\t--output=\"$work/task-%a.log\" ${SWARM_SBATCH:-} \\\n"
	"\t\t--wrap \"$swarm --shard \\$SLURM_ARRAY_TASK_ID/$n --no-progress \\\n"
	"\t\t\t>/dev/null && touch '$work'/ok.\\$SLURM_ARRAY_TASK_ID\" \\\n"
	"\t\t>/dev/null\n"
	"\ttasks=\n"
	"\ti=0\n"
	"\twhile [ \"$i\" -lt \"$n\" ]; do\n"
	"\t\t[ -e \"$work/ok.$i\" ] || tasks=\"$tasks${tasks:+,}$i\"\n"
	"\t\ti=$((i + 1))\n"
	"\tdone\n"
	"\t[ -z \"$tasks\" ] && break\n"
	"\ttry=$((try + 1))\n"
	"\tif [ \"$try\" -gt \"${SWARM_RETRIES:-2}\" ]; then\n"
	"\t\techo \"swarm-run: tasks $tasks failed (logs in $work);\" \\\n"
	"\t\t\t\"assembling, computing what they left\" >&2\n"
	"\t\tbreak\n"
	"\tfi\n"
	"\techo \"swarm-run: resubmitting tasks $tasks\" >&2\n"
	"done\n"
	"[ -n \"$tasks\" ] || rm -rf \"$work\"\n"
	"eval \"exec $swarm\"\n";

/* The swarm-run command line of argv less --slurm N and --submit, one
 * quoted word each (malloc'd). Everything after --cmd or --coproc is the
 * command's, kept as it is. */
static char *task_command(int argc, char **argv)
{
	char *text = NULL;
	size_t len = 0;
	bool command = false;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		abort();
	fputs("swarm-run", m); /* from PATH, on every node */
	for (int i = 1; i < argc; i++) {
		if (!command && !strcmp(argv[i], "--submit"))
			continue;
		if (!command && !strcmp(argv[i], "--slurm")) {
			i++;
			continue;
		}
		if (!command && !strncmp(argv[i], "--slurm=", 8))
			continue;
		command |= !strcmp(argv[i], "--cmd") ||
			   !strcmp(argv[i], "--coproc");
		putc(' ', m);
		put_quoted(m, argv[i]);
	}
	fclose(m);
	return text;
}

/* The --slurm script: the sweep of argv (less --slurm and --submit) as a
 * job array of n tasks, failed tasks resubmitted, then the assembly. */
static void slurm_script(FILE *f, int argc, char **argv, unsigned n)
{
	char cwd[PATH_MAX];
	char *command = task_command(argc, argv);

	if (!getcwd(cwd, sizeof cwd))
		tool_usage_error("--slurm: cannot name the current directory");
	fprintf(f, "#!/bin/sh\n"
		   "# The sweep as a Slurm job array of %u tasks (swarm-run "
		   "--slurm, coren %s).\n"
		   "# Each task computes its share of the missing chunks into "
		   "the shared cache;\n"
		   "# failed tasks are resubmitted ($SWARM_RETRIES times, "
		   "default 2); then the\n"
		   "# results are assembled from the cache here, computing "
		   "whatever is still\n"
		   "# missing. $SWARM_SBATCH: more sbatch options (e.g. "
		   "\"-p batch -t 1:00:00\").\n"
		   "set -u\n"
		   "cd ",
		n, PACKAGE_VERSION);
	put_quoted(f, cwd);
	fprintf(f, " || exit 2\nn=%u\nswarm=", n);
	put_quoted(f, command); /* the quoted words, as one quoted string */
	fputs("\n", f);
	fputs(slurm_body, f);
	free(command);
}

/* --slurm: prints the script, or with --submit runs it. */
static int slurm(int argc, char **argv, const struct args *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (!a->submit) {
		slurm_script(stdout, argc, argv, a->slurm);
		return 0;
	}
	m = open_memstream(&text, &len);
	if (!m)
		abort();
	slurm_script(m, argc, argv, a->slurm);
	fclose(m);
	fflush(NULL);
	execl("/bin/sh", "sh", "-c", text, "swarm-run-slurm", (char *)NULL);
	tool_warn("cannot run /bin/sh: %s", strerror(errno));
	free(text);
	return COREN_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct coren_setting_use *uses = NULL;
	size_t nuses = 0;
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
	coren_memo_exp_init(&e);
	parse_args(argc, argv, &a, &e, &uses, &nuses);
	if (a.serve)
		return serve(&a);
	if (a.generate_key || a.public_key) {
		tool_apply(uses, nuses);
		status = keys(&a, &e);
		coren_memo_exp_release(&e);
		return status;
	}
	load_experiment(&e, &a, uses, nuses);
	free(uses);
	if (a.slurm) { /* checked (the experiment loads), then handed over */
		if (e.naxes == 0)
			tool_usage_error("--slurm: no experiment (--split, -c)");
		return slurm(argc, argv, &a);
	}
	if (a.all_functions && (e.naxes || e.exec || e.cmd || e.coproc ||
				e.fn_id))
		tool_usage_error("--all-functions removes old chunks of every "
				 "function: give it no experiment or function");
	if (a.mode != MODE_VERIFY && !a.all_functions)
		x = open_exec(&e, &a);
	if (a.mode != MODE_VERIFY && coren_memo_plan_new(&e, &p, &err))
		tool_die(&err);
	if (p) /* the plan serves large axes' values from its texts */
		coren_memo_plan_compact(p, &e);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	switch (a.mode) {
	case MODE_VERIFY:
		status = cache_verify(&e, &a);
		break;
	case MODE_GC:
		status = cache_gc(p, &a, &e);
		break;
	case MODE_PLAN:
		if (coren_memo_plan_write(p, x, stdout, &err))
			tool_die(&err);
		break;
	default:
		status = run(p, x, &a, &e);
	}
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	return status;
}
