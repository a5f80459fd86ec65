/* test_run - the executor through the library: grid order, caching,
 * failures with and without keep_going, exec_batch, stop, and chunks whose
 * lines are not their points' (crafted with coren_chunk_store()), and a
 * directory tier fetched beside the workers. Uses the
 * shipped exec plugins (COREN_EXEC_PLUGINS). Also built with
 * ThreadSanitizer as test_run_tsan. */
#include "config.h"

#include "tap.h"

#include <coren/buf.h>
#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>
#include <coren/memo.h>

#include <fcntl.h>

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char cache[] = "/tmp/test_run.XXXXXX";

/* A run of a plugin over x=1..n in chunks of bin. */
struct spec {
	const char *plugin;
	int n, bin;
	const char *param; /* NULL or name=value */
	bool keep_going;
	unsigned workers;
	int stop_after;	   /* > 0: set the stop flag after so many chunks */
	const char *cache; /* NULL: cache */
	const char *remote; /* a directory tier (unsigned chunks trusted) */
	enum coren_fetch_policy fetch;
	unsigned fetch_threads;
};

static volatile sig_atomic_t stop;
static int stop_after; /* main thread only */
static int calls;      /* progress calls */
static uint64_t last_done, first_done = UINT64_MAX; /* points_done seen */
static bool done_down; /* points_done went down between two calls */

/* The progress callback (main thread): stops the run when stop_after
 * chunks are done. */
static void progress(const struct coren_memo_stats *st, void *data)
{
	(void)data;
	if (!calls++)
		first_done = st->points_done;
	done_down |= st->points_done < last_done;
	last_done = st->points_done;
	if (stop_after && st->chunks_done >= (uint64_t)stop_after)
		stop = 1;
}

static void exp_of(const struct spec *sp, struct coren_memo_exp *e,
		   struct coren_memo_plan **p)
{
	struct coren_error err = {0};
	char spec[64];

	coren_memo_exp_init(e);
	snprintf(spec, sizeof spec, "x=1..%d", sp->n);
	coren_memo_exp_split(e, spec, &err);
	snprintf(spec, sizeof spec, "x=%d", sp->bin);
	coren_memo_exp_memo_chunk(e, spec, &err);
	if (sp->param)
		coren_memo_exp_param(e, sp->param, &err);
	e->exec_chunk = 2;
	e->cache = strdup(sp->cache ? sp->cache : cache);
	if (coren_memo_exp_finish(e, &err) || coren_memo_plan_new(e, p, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
}

/* Runs sp; the output in *out. */
static enum coren_err run_spec(const struct spec *sp,
			       struct coren_memo_stats *st, char **out)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	struct coren_memo_run_opts o = {0};
	const char *dir = getenv("COREN_EXEC_PLUGINS");
	char path[4096];
	size_t len;
	FILE *f;
	enum coren_err rc;
	struct coren_cap cap = {.flops = 1e9, .mem_bw = 1e9, .disk_read_bw = 1e9,
				.net_bw = 1e9, .net_latency = 1e-3};

	exp_of(sp, &e, &p);
	if (sp->remote &&
	    coren_remote_open(sp->remote, NULL, &cap, &o.remote, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	o.cap = &cap;
	o.trust_unsigned = true;
	o.fetch = sp->fetch;
	o.fetch_threads = sp->fetch_threads;
	snprintf(path, sizeof path, "%s/%s.so", dir ? dir : ".", sp->plugin);
	if (coren_memo_exec_plugin(path, NULL, &x, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	f = open_memstream(out, &len);
	o.out = f;
	o.keep_going = sp->keep_going;
	o.workers = sp->workers;
	stop = 0;
	calls = 0;
	last_done = 0;
	first_done = UINT64_MAX;
	done_down = false;
	stop_after = sp->stop_after;
	o.stop = &stop;
	o.progress = progress;
	rc = coren_memo_run(p, x, &o, st, &err);
	fclose(f);
	coren_remote_free(o.remote);
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	return rc;
}

static enum coren_err run(const char *plugin, int n, int bin, const char *param,
			  bool keep_going, unsigned workers,
			  struct coren_memo_stats *st, char **out)
{
	struct spec sp = {plugin, n, bin, param, keep_going, workers, 0, NULL,
			  NULL, COREN_FETCH_VERDICT, 0};

	return run_spec(&sp, st, out);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The output of a clean run of fail over x=1..n: value x. */
static char *expected(int n)
{
	char *out, line[96];
	size_t len;
	FILE *f = open_memstream(&out, &len);

	for (int x = 1; x <= n; x++) {
		snprintf(line, sizeof line,
			 "{\"type\":\"result\",\"point\":{\"x\":%d},\"value\":%d}\n",
			 x, x);
		fputs(line, f);
	}
	fclose(f);
	return out;
}

/* Stores chunk c of sp's plan (cut to lens, NULL: whole) with content as
 * given, its header correct: what a forger, or a bug, could leave. */
/* Appends key to the cache's index of e's function (no fn: "null"), as a
 * run that stored the chunk would (lib/memo/index.c). */
static void index_add(const struct coren_memo_exp *e,
		      const struct coren_memo_plan *p, const json_t *key)
{
	struct coren_buf fam, k;
	char hex[65], path[4200];
	FILE *f;

	coren_buf_init(&fam, 0);
	coren_buf_init(&k, 0);
	coren_buf_printf(&fam, "{\"fn\":null,\"params\":%s,\"version\":\"%s\"}",
			 coren_memo_plan_params_text(p), e->version);
	coren_sha256_hex(fam.data, fam.len, hex);
	coren_json_canonical(key, &k);
	snprintf(path, sizeof path, "%s/index", e->cache);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/index/%s.jsonl", e->cache, hex);
	if ((f = fopen(path, "a"))) {
		fprintf(f, "%.*s\n", (int)k.len, k.data);
		fclose(f);
	}
	coren_buf_release(&fam);
	coren_buf_release(&k);
}

static void forge(const struct spec *sp, uint64_t c, const size_t *lens,
		  const char *content)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_chunk_header h = {0};
	struct coren_error err = {0};
	size_t bins[1];

	exp_of(sp, &e, &p);
	coren_memo_plan_chunk_bins(p, c, bins);
	coren_memo_plan_chunk_id(p, bins, lens, h.id);
	h.chunk_key = coren_memo_plan_chunk_key(p, bins, lens);
	h.params = e.params;
	h.version = e.version;
	h.points = (uint64_t)lines(content);
	h.producer = "test_run";
	if (coren_chunk_store(e.cache, &h, content, strlen(content), NULL, &err))
		printf("Bail out! cannot forge a chunk: %s\n", err.msg);
	if (lens)
		index_add(&e, p, h.chunk_key);
	json_decref(h.chunk_key);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

/* A cached chunk whose second line names another point (x=3 in place of
 * x=2, values to match) is corrupt: recomputed, and only true lines are
 * printed. */
static void forged_cached(const char *dir)
{
	struct spec sp = {"fail", 6, 3, NULL, false, 2, 0, dir, NULL, COREN_FETCH_VERDICT, 0};
	struct coren_memo_stats st;
	char *out, *want = expected(6);

	forge(&sp, 0, NULL,
	      "{\"type\":\"result\",\"point\":{\"x\":1},\"value\":1}\n"
	      "{\"type\":\"result\",\"point\":{\"x\":3},\"value\":3}\n"
	      "{\"type\":\"result\",\"point\":{\"x\":3},\"value\":3}\n");
	is_int(run_spec(&sp, &st, &out), COREN_OK, "forged: the run succeeds");
	is_u64(st.chunks_corrupt, 1, "forged: the chunk is corrupt");
	is_u64(st.chunks_cached, 0, "forged: and not taken as cached");
	is_str(out, want, "forged: only the true lines, in order");
	free(out);
	is_int(run_spec(&sp, &st, &out), COREN_OK, "forged: a second run");
	is_u64(st.chunks_cached, 2, "forged: the recomputed chunk is cached");
	is_str(out, want, "forged: the same lines");
	free(out);
	free(want);
}

/* An earlier, shorter chunk (x=4 of the last bin x=4,5) whose line names
 * x=5 is not reused: x=4 is computed. */
static void forged_shorter(const char *dir)
{
	struct spec sp = {"fail", 5, 3, NULL, false, 2, 0, dir, NULL, COREN_FETCH_VERDICT, 0};
	struct coren_memo_stats st;
	static const size_t one[1] = {1};
	char *out, *want = expected(5);

	forge(&sp, 1, one,
	      "{\"type\":\"result\",\"point\":{\"x\":5},\"value\":99}\n");
	is_int(run_spec(&sp, &st, &out), COREN_OK, "forged shorter: the run");
	is_u64(st.points_reused, 0, "forged shorter: nothing reused");
	is_u64(st.chunks_corrupt, 1, "forged shorter: counted as corrupt");
	is_str(out, want, "forged shorter: only the true lines");
	free(out);
	free(want);
}

/* Whether the k lines of out are lines of a clean run of n points, in
 * its order, 0 < k < n (a stop: what ran, in grid order, with holes). */
static bool clean_subsequence(const char *out, int n)
{
	char *want = expected(n), *at = want;
	int k = lines(out);
	bool ok = k > 0 && k < n;

	for (const char *l = out; ok && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = (size_t)(nl - l) + 1;

		while (*at && strncmp(at, l, len))
			at = strchr(at, '\n') + 1;
		ok = *at != '\0';
		at += ok ? len : 0;
		l += len;
	}
	free(want);
	return ok;
}

/* The count of lines of out holding s. */
static int count(const char *out, const char *s)
{
	int n = 0;

	for (const char *l = out; (l = strstr(l, s)); l++)
		n++;
	return n;
}

/* Every point is a result, an error record, or counted as not run. */
static bool exact(const char *out, const struct coren_memo_stats *st)
{
	uint64_t res = (uint64_t)count(out, "\"type\":\"result\"");
	uint64_t errs = (uint64_t)count(out, "\"type\":\"error\"");

	if (res + errs + st->points_unrun == st->points_total &&
	    errs == st->points_failed)
		return true;
	printf("# %llu results, %llu errors (failed %llu), %llu unrun, "
	       "%llu total\n", (unsigned long long)res,
	       (unsigned long long)errs, (unsigned long long)st->points_failed,
	       (unsigned long long)st->points_unrun,
	       (unsigned long long)st->points_total);
	return false;
}

/* Several workers, the stop flag set after 3 chunks; and keep_going with
 * failures in several chunks: TSan sees the abort paths. */
static void aborts(void)
{
	struct spec sp = {"fail", 40, 2, "sleep_ms=20", false, 4, 3, NULL, NULL, COREN_FETCH_VERDICT, 0};
	struct coren_memo_stats st;
	char *out;

	is_int(run_spec(&sp, &st, &out), COREN_ERR_INTERRUPTED,
	       "stop mid-run: interrupted");
	ok(clean_subsequence(out, 40),
	   "stop mid-run: the points that ran, in grid order");
	is_u64(st.points_failed, 0, "stop mid-run: no point failed");
	ok(st.interrupted, "stop mid-run: interrupted in the stats");
	ok(st.points_unrun > 0, "stop mid-run: points not run, counted");
	ok(exact(out, &st), "stop mid-run: results + errors + unrun = total");
	is_u64(st.points_executed, (uint64_t)lines(out),
	       "stop mid-run: executed = the points printed");
	ok(st.chunks_executed * 2 <= st.points_executed,
	   "stop mid-run: only chunks whose points all ran are written");
	free(out);
	sp = (struct spec){"fail", 30, 4, "fail=9", true, 4, 0, NULL, NULL, COREN_FETCH_VERDICT, 0};
	is_int(run_spec(&sp, &st, &out), COREN_ERR_PARTIAL,
	       "keep_going, 4 workers: partial");
	is_int(lines(out), 30, "keep_going, 4 workers: every point has its line");
	ok(exact(out, &st) && st.points_unrun == 0 && !st.interrupted,
	   "keep_going, 4 workers: exact, nothing unrun");
	is_u64(st.chunks_executed, 7, "keep_going: 7 of 8 chunks written");
	ok(strstr(out, "{\"type\":\"error\",\"point\":{\"x\":9},") != NULL,
	   "keep_going, 4 workers: x=9 failed");
	free(out);
	sp = (struct spec){"fail", 30, 2, "fail=5", false, 4, 0, NULL, NULL, COREN_FETCH_VERDICT, 0};
	is_int(run_spec(&sp, &st, &out), COREN_ERR_PARTIAL,
	   "a failure, 4 workers: partial");
	ok(strstr(out, "{\"type\":\"error\",\"point\":{\"x\":5},") != NULL,
	   "a failure, 4 workers: its error record");
	ok(exact(out, &st), "a failure, 4 workers: exact accounting");
	is_u64(st.points_executed, (uint64_t)lines(out),
	       "a failure, 4 workers: executed = the points printed");
	free(out);
}

/* A grid of two axes on 4 workers, per point (fail) and in batches
 * (rosenbrock): the workers build points from the plan's shared values,
 * which ThreadSanitizer (test_run_tsan) watches. */
static void two_axes(const char *plugin)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	struct coren_memo_run_opts o = {0};
	struct coren_memo_stats st;
	const char *dir = getenv("COREN_EXEC_PLUGINS");
	char path[4096], *out = NULL, tmp[] = "/tmp/test_run.XXXXXX";
	size_t len;
	FILE *f;

	coren_memo_exp_init(&e);
	coren_memo_exp_split(&e, "x=1..8", &err);
	coren_memo_exp_split(&e, "y=1..6", &err);
	coren_memo_exp_memo_chunk(&e, "x=3", &err);
	coren_memo_exp_memo_chunk(&e, "y=2", &err);
	e.cache = strdup(mkdtemp(tmp) ? tmp : cache);
	snprintf(path, sizeof path, "%s/%s.so", dir ? dir : ".", plugin);
	if (coren_memo_exp_finish(&e, &err) || coren_memo_plan_new(&e, &p, &err) ||
	    coren_memo_exec_plugin(path, NULL, &x, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	f = open_memstream(&out, &len);
	o.out = f;
	o.workers = 4;
	is_int(coren_memo_run(p, x, &o, &st, &err), COREN_OK,
	       "%s over two axes on 4 workers", plugin);
	fclose(f);
	is_int(lines(out), 48, "%s: 48 results", plugin);
	ok(strstr(out, "{\"type\":\"result\",\"point\":{\"x\":8,\"y\":6},") != NULL,
	   "%s: the last point is there", plugin);
	free(out);
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	snprintf(path, sizeof path, "rm -rf %s", tmp);
	if (system(path) != 0)
		printf("# could not remove %s\n", tmp);
}

/* Claims of "another run": a byte of <cache>/claims each (claim.c: at the
 * offset of the id's first 15 hex digits), locked through two opens of
 * it of this thread's own (OFD locks of two open files conflict within
 * one process too), let go after 200 ms. */
struct holder {
	int fd[2];
	off_t at[2];
};

static int lock_at(int fd, off_t at, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
			   .l_start = at, .l_len = 1};

	return fcntl(fd, F_OFD_SETLK, &fl);
}

static void *let_go(void *arg)
{
	struct holder *h = arg;

	nanosleep(&(struct timespec){0, 200000000}, NULL);
	lock_at(h->fd[0], h->at[0], F_UNLCK); /* the first gives it up */
	close(h->fd[1]);		      /* the second dies */
	return NULL;
}

/* Chunks 0 and 2 of x=1..9 in 3 claimed elsewhere: the run waits for
 * them (the others are computed meanwhile), then claims and computes
 * them once let go, and leaves no file per chunk behind. */
static void claimed_elsewhere(void)
{
	char dir[] = "/tmp/test_run.XXXXXX", id[65], *out, cmd[128], hex[16];
	char path[4200];
	struct spec sp = {"fail", 9, 3, NULL, false, 2, 0, dir, NULL, COREN_FETCH_VERDICT, 0};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_stats st;
	struct holder h;
	struct stat sb;
	pthread_t t;
	size_t bins[2];

	if (!mkdtemp(dir))
		exit(99);
	exp_of(&sp, &e, &p);
	snprintf(path, sizeof path, "%s/claims", dir);
	for (int k = 0; k < 2; k++) {
		coren_memo_plan_chunk_bins(p, (uint64_t)(2 * k), bins);
		coren_memo_plan_chunk_id(p, bins, NULL, id);
		memcpy(hex, id, 15);
		hex[15] = '\0';
		h.at[k] = (off_t)strtoull(hex, NULL, 16);
		h.fd[k] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (h.fd[k] < 0 || lock_at(h.fd[k], h.at[k], F_WRLCK))
			exit(99);
	}
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	if (pthread_create(&t, NULL, let_go, &h))
		exit(99);
	is_int(run_spec(&sp, &st, &out), COREN_OK, "claimed elsewhere: ok");
	pthread_join(t, NULL);
	is_u64(st.chunks_executed, 3, "claimed elsewhere: 3 chunks computed");
	ok(exact(out, &st) && st.points_unrun == 0 && lines(out) == 9,
	   "claimed elsewhere: exact, 9 results");
	ok(st.seconds >= 0.2, "claimed elsewhere: it waited for the claims");
	snprintf(cmd, sizeof cmd, "find %s -name '*.claim' | grep -q .", dir);
	ok(system(cmd) != 0 && !stat(path, &sb) && S_ISREG(sb.st_mode),
	   "claimed elsewhere: one claims file, none per chunk");
	close(h.fd[0]);
	free(out);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* A NUL byte in a value --cmd would pass as an argument: refused before
 * any command runs (the tools' inputs refuse NUL already: this is the
 * check behind them). */
static void nul_in_cmd_value(void)
{
	static const char *const argv[] = {"echo", "{x}", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	struct coren_memo_run_opts o = {0};
	struct coren_memo_stats st;
	json_t *values = json_pack("[s]", "ok");

	json_array_append_new(values, json_stringn("a\0b", 3));
	coren_memo_exp_init(&e);
	coren_memo_exp_split(&e, "x=1", &err);
	coren_memo_exp_memo_chunk(&e, "x=1", &err);
	json_decref(e.axes[0].values);
	e.axes[0].values = values;
	e.cache = strdup(cache);
	if (coren_memo_exp_finish(&e, &err) || coren_memo_plan_new(&e, &p, &err) ||
	    coren_memo_exec_cmd(argv, NULL, &x, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	o.workers = 1;
	is_int(coren_memo_run(p, x, &o, &st, &err), COREN_ERR_USAGE,
	       "a NUL byte in a --cmd value is refused");
	ok(strstr(err.msg, "NUL byte") != NULL, "... saying so: %s", err.msg);
	is_u64(st.points_executed, 0, "... before any command runs");
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

/* Chunk c's file in cache dir of sp's plan. */
static void chunk_file(const struct spec *sp, const char *dir, uint64_t c,
		       char *path, size_t size)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	size_t bins[1];
	char id[65];

	exp_of(sp, &e, &p);
	coren_memo_plan_chunk_bins(p, c, bins);
	coren_memo_plan_chunk_id(p, bins, NULL, id);
	snprintf(path, size, "%s/%.2s/%s.zst", dir, id, id);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

/* A directory tier fetched by a pool of fetchers beside the workers
 * (fetchers.c), under ThreadSanitizer in test_run_tsan: chunks fetched,
 * damaged or missing ones computed, a failed point aborting while
 * fetches are in flight. */
static void remote_tier(void)
{
	char tier[] = "/tmp/test_run.XXXXXX", c1[] = "/tmp/test_run.XXXXXX";
	char c2[] = "/tmp/test_run.XXXXXX", c3[] = "/tmp/test_run.XXXXXX";
	char path[4200], cmd[160], *out, *want = expected(30);
	struct spec sp = {"fail", 30, 2, "sleep_ms=2", true, 3, 0, tier,
			  NULL, COREN_FETCH_ALWAYS, 3};
	struct coren_memo_stats st;
	FILE *f;

	if (!mkdtemp(tier) || !mkdtemp(c1) || !mkdtemp(c2) || !mkdtemp(c3))
		exit(99);
	is_int(run_spec(&sp, &st, &out), COREN_OK, "tier: made");
	free(out);
	chunk_file(&sp, tier, 4, path, sizeof path);
	unlink(path); /* missing */
	chunk_file(&sp, tier, 9, path, sizeof path);
	if ((f = fopen(path, "r+"))) { /* damaged */
		fputs("garbage", f);
		fclose(f);
	}
	sp.cache = c1;
	sp.remote = tier;
	is_int(run_spec(&sp, &st, &out), COREN_OK, "tier: fetched");
	is_u64(st.chunks_fetched, 13, "tier: 13 of 15 chunks fetched");
	is_u64(st.chunks_executed, 2, "tier: the missing and the bad computed");
	is_u64(st.remote_bad, 1, "tier: one bad");
	ok(st.fetches_max_parallel >= 1 && st.fetches_max_parallel <= 3,
	   "tier: at most 3 fetches at once (%llu)",
	   (unsigned long long)st.fetches_max_parallel);
	is_str(out, want, "tier: the results of a local run, in grid order");
	ok(exact(out, &st), "tier: exact");
	free(out);
	/* by the verdict (no cost: priced by the points measured here) */
	sp.cache = c2;
	sp.fetch = COREN_FETCH_VERDICT;
	is_int(run_spec(&sp, &st, &out), COREN_OK, "tier, verdict: ok");
	is_u64(st.chunks_fetched + st.chunks_executed, 15,
	       "tier, verdict: every chunk fetched or computed");
	is_str(out, want, "tier, verdict: the same results");
	free(out);
	/* a point fails (not kept going) while fetches are in flight */
	sp.cache = c3;
	sp.fetch = COREN_FETCH_ALWAYS;
	sp.param = "fail=9";
	sp.keep_going = false;
	sp.remote = NULL;
	is_int(run_spec(&sp, &st, &out), COREN_ERR_PARTIAL, "tier 2: made");
	free(out);
	snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir %s", c1, c1);
	if (system(cmd) != 0)
		exit(99);
	sp.remote = c3;
	sp.cache = c1;
	sp.fetch_threads = 0; /* the default */
	is_int(run_spec(&sp, &st, &out), COREN_ERR_PARTIAL,
	       "a failure beside the fetches: partial");
	is_u64(st.points_failed, 1, "... one point failed");
	ok(exact(out, &st), "... exact accounting");
	free(out);
	free(want);
	snprintf(cmd, sizeof cmd, "rm -rf %s %s %s %s", tier, c1, c2, c3);
	if (system(cmd) != 0)
		exit(99);
}

int main(void)
{
	struct coren_memo_stats st;
	char *out, *again, cmd[128];
	static const char first[] = "{\"type\":\"result\",\"point\":{\"x\":1},\"value\":1}\n";
	static const char last[] = "{\"type\":\"result\",\"point\":{\"x\":7},\"value\":7}\n";

	if (!getenv("COREN_EXEC_PLUGINS")) {
		printf("1..0 # SKIP COREN_EXEC_PLUGINS is not set (run by make check)\n");
		return 0;
	}
	if (!mkdtemp(cache))
		return 99;

	is_int(run("fail", 7, 3, NULL, false, 2, &st, &out), COREN_OK, "a cold run");
	is_u64(st.chunks_executed, 3, "3 chunks computed");
	is_u64(st.exec_chunks, 4, "7 points in exec chunks of 2: 4");
	is_int(lines(out), 7, "7 results");
	ok(exact(out, &st) && st.points_unrun == 0 && !st.interrupted,
	   "cold: exact, nothing unrun, not interrupted");
	is_u64(st.points_done, 7, "cold: all 7 points done");
	is_u64(st.chunks_done, 3, "cold: all 3 chunks done");
	ok(!strncmp(out, first, strlen(first)), "the first is x=1");
	ok(strlen(out) > strlen(last) &&
		   !strcmp(out + strlen(out) - strlen(last), last),
	   "the last is x=7");
	is_int(run("fail", 7, 3, NULL, false, 1, &st, &again), COREN_OK, "a warm run");
	is_u64(st.chunks_cached, 3, "all 3 cached");
	is_u64(st.points_executed, 0, "no point computed");
	ok(exact(again, &st) && st.points_unrun == 0, "warm: exact");
	is_u64(st.points_done, 7, "warm: progress counts the cached points");
	ok(calls >= 2 && first_done == 0 && !done_down,
	   "progress: called from the start (0 done), never going down");
	is_str(again, out, "the same bytes");
	free(out);
	free(again);

	is_int(run("fail", 9, 3, "fail=8", false, 1, &st, &out), COREN_ERR_PARTIAL,
	       "a failed point is a partial failure");
	ok(strstr(out, "\"point\":{\"x\":8},\"reason\":\"failing on demand") != NULL,
	   "with an error record for it");
	is_u64(st.points_failed, 1, "one point failed");
	/* 1..6 in two chunks, then (7, 8): 8 fails, 9 never runs */
	is_u64(st.points_executed, 8, "a failure: 8 points ran, 9 did not");
	is_u64(st.chunks_executed, 2, "a failure: 2 chunks written");
	is_u64(st.points_unrun, 1, "a failure: x=9 not run");
	ok(strstr(out, "\"point\":{\"x\":7},\"value\":7") != NULL,
	   "a failure: x=7, which ran, is printed");
	ok(exact(out, &st), "a failure: exact accounting");
	free(out);
	is_int(run("fail", 12, 3, "fail=8", true, 2, &st, &out), COREN_ERR_PARTIAL,
	       "keep_going: still partial");
	is_int(lines(out), 12, "keep_going: every point has its line");
	ok(strstr(out, "{\"type\":\"result\",\"point\":{\"x\":12},\"value\":12}") != NULL,
	   "keep_going: the chunks after the failure ran");
	free(out);

	/* rosenbrock evaluates batches (exec_batch); without a y axis every
	 * point fails on its own */
	is_int(run("rosenbrock", 4, 2, "a=1", true, 2, &st, &out),
	       COREN_ERR_PARTIAL, "exec_batch: failures per point");
	is_u64(st.points_failed, 4, "exec_batch: all 4 failed");
	ok(strstr(out, "\"point\":{\"x\":3},\"reason\":\"the point has no 'y'\"") != NULL,
	   "exec_batch: with the plugin's reason");
	free(out);

	aborts();
	two_axes("fail");
	two_axes("rosenbrock");
	nul_in_cmd_value();
	claimed_elsewhere();
	remote_tier();
	{
		char dir1[] = "/tmp/test_run.XXXXXX", dir2[] = "/tmp/test_run.XXXXXX";

		if (!mkdtemp(dir1) || !mkdtemp(dir2))
			return 99;
		forged_cached(dir1);
		forged_shorter(dir2);
		snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir1, dir2);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir1);
	}

	snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", cache);
	return done_testing();
}
