/* Timing commands: the shell's own cost, measured as hyperfine does and
 * subtracted from wall, user and system; a timeout that waits for the exit.
 * No timing asserts: only bounds that load cannot break. */
#include "config.h"

#include <coren/bench.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static char dir[] = "/tmp/coren-test-bench-XXXXXX", shell[64], count[80];

/* A shell that counts its runs in count and runs a command with /bin/sh;
 * every 10th run of an empty command sleeps 0.2 s: the spawn times have a
 * median of milliseconds and a mean of more than 10 ms. */
static int make_shell(void)
{
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(shell, sizeof shell, "%s/sh", dir);
	snprintf(count, sizeof count, "%s/sh.count", dir);
	if (!(f = fopen(shell, "w")))
		return -1;
	fprintf(f,
		"#!/bin/sh\n"
		"n=$(($(cat '%s' 2>/dev/null || echo 0) + 1))\n"
		"echo $n > '%s'\n"
		"[ \"$1\" = -c ] || exit 9\n"
		"[ -n \"$2\" ] && exec /bin/sh -c \"$2\"\n"
		"[ $((n %% 10)) -ne 0 ] || sleep 0.2\n",
		count, count);
	return fclose(f) || chmod(shell, 0755) ? -1 : 0;
}

static long runs_of_shell(void)
{
	FILE *f = fopen(count, "r");
	long n = 0;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	unlink(count);
	return n;
}

static void shell_overhead(void)
{
	struct coren_error err = {0};
	struct coren_bench_run m;
	enum coren_err rc;
	unsigned n = 99;

	ok(!coren_bench_shell_overhead("none", 0, &m, &n, &err) && n == 0 &&
	       m.wall == 0 && m.user == 0 && m.system == 0,
	   "no shell (-N): nothing to subtract, nothing run");
	is_int(runs_of_shell(), 0, "... and the shell never started");
	rc = coren_bench_shell_overhead(shell, COREN_BENCH_CMD_IGNORE_FAILURE,
					&m, &n, &err);
	ok(!rc, "the shell's own cost measured%s%s", rc ? ": " : "", err.msg);
	is_int(n, COREN_BENCH_OVERHEAD_RUNS,
	       "%d runs, as many whatever their spread",
	       COREN_BENCH_OVERHEAD_RUNS);
	is_int(runs_of_shell(), n + 1,
	       "... after a warm-up run, of SHELL -c ''");
	/* 3 runs of 0.2 s in 30: a median would be milliseconds */
	ok(m.wall >= 0.6 / 30,
	   "the mean, as hyperfine subtracts, not the median (%g s)", m.wall);
	ok(m.user > 0 || m.system > 0, "with the CPU time the shell takes");
	rc = coren_bench_shell_overhead(dir, 0, &m, &n, &err);
	ok(rc == COREN_ERR_IO, "a shell that cannot run: an error (%s)",
	   err.msg);
}

/* Three runs of a busy loop with sub subtracted. */
static enum coren_err busy(struct coren_bench_run sub, double *t, double *user,
			   double *sys, struct coren_error *err)
{
	struct coren_bench_cmd c;
	struct coren_bench_opts o;
	enum coren_bench_stop stop;
	size_t n;

	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	c.cmd = "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done";
	o.runs = 3;
	c.overhead = sub;
	c.user = user;
	c.system = sys;
	return coren_bench_cmd_measure(&c, &o, NULL, t, &n, &stop, err);
}

static void subtracted(void)
{
	struct coren_bench_run none = {0, 0, 0, 0}, all = {100, 100, 100, 0};
	double t[3], user[3], sys[3];
	struct coren_error err = {0};
	int i, zero = 1, some = 1;

	ok(!busy(none, t, user, sys, &err), "a busy loop timed");
	for (i = 0; i < 3; i++)
		some &= t[i] > 0 && user[i] + sys[i] > 0;
	ok(some, "nothing subtracted: wall and CPU seconds above zero");
	ok(!busy(all, t, user, sys, &err), "timed again");
	for (i = 0; i < 3; i++)
		zero &= t[i] == 0 && user[i] == 0 && sys[i] == 0;
	ok(zero, "more subtracted than it took: wall, user and system each 0, "
		 "never below");
}

static void timeout(void)
{
	struct coren_error err = {0};
	struct coren_bench_run r;
	enum coren_err rc;

	rc = coren_bench_cmd_run_full("sleep 5", NULL, 0.2, 0, &r, &err);
	ok(rc == COREN_ERR_TIMEOUT, "a run past the timeout is killed (%s)",
	   err.msg);
	rc = coren_bench_cmd_run_full("sleep 0.05", NULL, 30, 0, &r, &err);
	ok(!rc && r.wall >= 0.05 && r.wall < 15,
	   "a timeout waits for the exit, not for the deadline (%g s)", r.wall);
	ok(!coren_bench_cmd_run_full(
	       "exit 3", NULL, 30, COREN_BENCH_CMD_IGNORE_FAILURE, &r, &err) &&
	       r.status == 3,
	   "and sees its status");
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void descriptors(void)
{
	struct coren_error err = {0};
	struct coren_bench_run r;
	int before = open_fds(), i, fails = 0;

	for (i = 0; i < 20; i++) {
		fails += coren_bench_cmd_run_full("true", NULL, 0, 0, &r,
						  &err) != COREN_OK;
		fails += coren_bench_cmd_run_full("true", NULL, 5, 0, &r,
						  &err) != COREN_OK;
		fails += coren_bench_cmd_run_full("'open", "none", 0, 0, &r,
						  &err) == COREN_OK;
		fails += coren_bench_cmd_run_full("no-such-cmd-x", "none", 0, 0,
						  &r, &err) == COREN_OK;
	}
	ok(!fails,
	   "runs, timed runs, bad words and missing commands as expected");
	is_int(open_fds(), before, "no descriptor left open by any of them");
}

int main(void)
{
	if (make_shell()) {
		perror("test_bench_cmd: cannot make the test shell");
		return 1;
	}
	shell_overhead();
	subtracted();
	timeout();
	descriptors();
	unlink(shell);
	rmdir(dir);
	return done_testing();
}
