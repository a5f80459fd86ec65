/* test_run - the executor through the library: grid order, caching,
 * failures with and without keep_going, exec_batch, stop. Uses the shipped
 * exec plugins (COREN_EXEC_PLUGINS). */
#include "config.h"

#include "tap.h"

#include <coren/memo.h>
#include <stdlib.h>
#include <string.h>

static char cache[] = "/tmp/test_run.XXXXXX";

/* Runs plugin over x=1..n in chunks of bin; the output in *out. */
static enum coren_err run(const char *plugin, int n, int bin, const char *param,
			  bool keep_going, unsigned workers,
			  struct coren_memo_stats *st, char **out)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct coren_memo_exec *x = NULL;
	struct coren_error err = {0};
	struct coren_memo_run_opts o = {0};
	const char *dir = getenv("COREN_EXEC_PLUGINS");
	char spec[64], path[4096];
	size_t len;
	FILE *f;
	enum coren_err rc;

	coren_memo_exp_init(&e);
	snprintf(spec, sizeof spec, "x=1..%d", n);
	coren_memo_exp_split(&e, spec, &err);
	snprintf(spec, sizeof spec, "x=%d", bin);
	coren_memo_exp_memo_chunk(&e, spec, &err);
	if (param)
		coren_memo_exp_param(&e, param, &err);
	e.exec_chunk = 2;
	e.cache = strdup(cache);
	snprintf(path, sizeof path, "%s/%s.so", dir ? dir : ".", plugin);
	if (coren_memo_exp_finish(&e, &err) || coren_memo_plan_new(&e, &p, &err) ||
	    coren_memo_exec_plugin(path, NULL, &x, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	f = open_memstream(out, &len);
	o.out = f;
	o.keep_going = keep_going;
	o.workers = workers;
	rc = coren_memo_run(p, x, &o, st, &err);
	fclose(f);
	coren_memo_exec_free(x);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	return rc;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
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
	ok(!strncmp(out, first, strlen(first)), "the first is x=1");
	ok(strlen(out) > strlen(last) &&
		   !strcmp(out + strlen(out) - strlen(last), last),
	   "the last is x=7");
	is_int(run("fail", 7, 3, NULL, false, 1, &st, &again), COREN_OK, "a warm run");
	is_u64(st.chunks_cached, 3, "all 3 cached");
	is_u64(st.points_executed, 0, "no point computed");
	is_str(again, out, "the same bytes");
	free(out);
	free(again);

	is_int(run("fail", 9, 3, "fail=8", false, 1, &st, &out), COREN_ERR_PARTIAL,
	       "a failed point is a partial failure");
	ok(strstr(out, "\"point\":{\"x\":8},\"reason\":\"failing on demand") != NULL,
	   "with an error record for it");
	is_u64(st.points_failed, 1, "one point failed");
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

	snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", cache);
	return done_testing();
}
