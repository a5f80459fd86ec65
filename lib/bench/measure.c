/* Measuring: workloads in process, instruction counts, shell commands. */
#include "config.h"

#include <coren/bench.h>
#include <coren/stats.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* posix_spawn's argv is char *const[]: the strings are not written. */
static char *unconst(const char *s)
{
	union {
		const char *c;
		char *m;
	} u = {s};

	return u.m;
}

double coren_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((noinline)) enum coren_err
coren_bench_region(const struct coren_workload *w, void *state, uint64_t iters,
		   struct coren_error *err)
{
	enum coren_err rc = w->ops->run(state, iters, err);

	__asm__ volatile("" ::: "memory"); /* no tail call: the region ends here */
	return rc;
}

/* Seconds for iters iterations. */
static enum coren_err timed(const struct coren_workload *w, void *state,
			    uint64_t iters, double *secs, struct coren_error *err)
{
	double t0 = coren_bench_now();
	enum coren_err rc = coren_bench_region(w, state, iters, err);

	*secs = coren_bench_now() - t0;
	return rc;
}

/* The iteration count that makes a sample last min_time. */
static enum coren_err calibrate(const struct coren_workload *w, void *state,
				const struct coren_bench_opts *o, uint64_t *iters,
				struct coren_error *err)
{
	uint64_t n = 1, next;
	enum coren_err rc;
	double t;

	for (;;) {
		if ((rc = timed(w, state, n, &t, err)))
			return rc;
		if (n == 1 && o->timeout > 0 && t > o->timeout)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "workload '%s': one iteration took %.3g s, "
					       "more than the timeout", w->name, t);
		if (t >= o->min_time || n >= (UINT64_C(1) << 40))
			break;
		next = t > 0 ? (uint64_t)ceil((double)n * o->min_time * 1.1 / t) : n * 100;
		if (next > n * 100)
			next = n * 100;
		n = next > n * 2 ? next : n * 2;
	}
	*iters = n;
	return COREN_OK;
}

enum coren_err coren_bench_measure_until(const struct coren_workload *w,
					 uint64_t size, const struct coren_bench_opts *o,
					 const struct coren_bench_until *u,
					 double *times, size_t *n,
					 enum coren_bench_stop *stop, uint64_t *iters,
					 double *ops, struct coren_error *err)
{
	size_t cap = u && u->target > 0 && u->max_runs > o->runs ? u->max_runs : o->runs;
	void *state = NULL;
	enum coren_err rc;
	double t, t0;
	unsigned i;

	*n = 0;
	*stop = COREN_BENCH_STOP_RUNS;
	if (o->runs < 1)
		return coren_error_set(err, COREN_ERR_USAGE, "runs must be at least 1");
	if ((rc = w->ops->setup(size, &state, err)))
		return rc;
	if ((rc = calibrate(w, state, o, iters, err)))
		goto out;
	for (i = 0; i < o->warmup; i++)
		if ((rc = timed(w, state, *iters, &t, err)))
			goto out;
	t0 = coren_bench_now();
	for (;;) {
		if ((rc = timed(w, state, *iters, &t, err)))
			goto out;
		times[(*n)++] = t / (double)*iters;
		if (coren_bench_enough(o, u, times, *n, coren_bench_now() - t0, stop, NULL))
			break;
		if (*n == cap) {
			*stop = COREN_BENCH_STOP_MAX_RUNS;
			break;
		}
	}
	*ops = w->ops->ops ? w->ops->ops(state, size) : 1.0;
out:
	if (w->ops->teardown)
		w->ops->teardown(state);
	return rc;
}

enum coren_err coren_bench_measure(const struct coren_workload *w, uint64_t size,
				   const struct coren_bench_opts *o, double *times,
				   uint64_t *iters, double *ops,
				   struct coren_error *err)
{
	enum coren_bench_stop stop;
	size_t n;

	return coren_bench_measure_until(w, size, o, NULL, times, &n, &stop, iters, ops,
					 err);
}

/* A user-space instruction counter on this thread; -1 when none. */
static int insn_counter(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof a);
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof a;
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

enum coren_err coren_bench_instructions(const struct coren_workload *w,
					uint64_t size, uint64_t iters,
					double *per_iter, struct coren_error *err)
{
	uint64_t count = 0;
	void *state = NULL;
	enum coren_err rc;
	int fd = insn_counter();

	if (fd < 0)
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "no instruction counter: perf_event_open: %s",
				       strerror(errno));
	if (iters < 1)
		iters = 1;
	if ((rc = w->ops->setup(size, &state, err)))
		goto out;
	if ((rc = coren_bench_region(w, state, 1, err))) /* warm */
		goto done;
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	rc = coren_bench_region(w, state, iters, err);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (!rc && read(fd, &count, sizeof count) != sizeof count)
		rc = coren_error_set(err, COREN_ERR_IO, "cannot read the instruction counter");
	*per_iter = (double)count / (double)iters;
done:
	if (w->ops->teardown)
		w->ops->teardown(state);
out:
	close(fd);
	return rc;
}

/* Sums the "totals:" (or "summary:") lines of the callgrind files in dir,
 * one per process, and removes them and dir. */
static enum coren_err sum_callgrind(const char *dir, double *total,
				    struct coren_error *err)
{
	char path[4096], line[512];
	unsigned found = 0;
	struct dirent *e;
	DIR *d;
	FILE *f;

	*total = 0;
	if (!(d = opendir(dir)))
		return coren_error_set(err, COREN_ERR_IO, "cannot read '%s': %s", dir,
				       strerror(errno));
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "r"))) {
			while (fgets(line, sizeof line, f))
				if (!strncmp(line, "totals:", 7) ||
				    !strncmp(line, "summary:", 8)) {
					*total += strtod(strchr(line, ':') + 1, NULL);
					found++;
					break;
				}
			fclose(f);
		}
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
	if (!found)
		return coren_error_set(err, COREN_ERR_IO, "callgrind wrote no totals");
	return COREN_OK;
}

enum coren_err coren_bench_callgrind(const char *const *argv, const char *toggle,
				     double *instructions, struct coren_error *err)
{
	char dir[] = "/tmp/coren-callgrind-XXXXXX", out[64 + sizeof dir], tog[256];
	char *vg[64];
	enum coren_err rc;
	size_t n = 0, i;
	int status;
	pid_t pid;

	if (system("command -v valgrind >/dev/null 2>&1"))
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "valgrind is not installed (apt-get install valgrind)");
	if (!mkdtemp(dir))
		return coren_error_set(err, COREN_ERR_IO, "cannot make a temporary "
				       "directory: %s", strerror(errno));
	snprintf(out, sizeof out, "--callgrind-out-file=%s/cg.out.%%p", dir);
	vg[n++] = unconst("valgrind");
	vg[n++] = unconst("--tool=callgrind");
	vg[n++] = unconst("--quiet");
	vg[n++] = unconst("--trace-children=yes");
	vg[n++] = out;
	if (toggle) {
		snprintf(tog, sizeof tog, "--toggle-collect=%s", toggle);
		vg[n++] = unconst("--collect-atstart=no");
		vg[n++] = tog;
	}
	for (i = 0; argv[i] && n < 63; i++)
		vg[n++] = unconst(argv[i]);
	vg[n] = NULL;
	if (posix_spawnp(&pid, "valgrind", NULL, NULL, vg, environ)) {
		rc = coren_error_set(err, COREN_ERR_NOTFOUND, "cannot run valgrind");
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		rc = coren_error_set(err, COREN_ERR_IO,
				     "'%s' under callgrind failed (status %d)", argv[0],
				     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	return sum_callgrind(dir, instructions, err);
out:
	sum_callgrind(dir, instructions, &(struct coren_error){0}); /* cleans up */
	return rc;
}

/* Kills the process group of pid and reaps it. */
static void kill_group(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Waits until pid's seconds left before deadline are up; 1 when it has
 * exited by then (not reaped), 0 when not. Through a pidfd, which wakes
 * at the exit itself: polling added up to a poll's period to every run. */
static int exited_by(pid_t pid, double deadline)
{
	struct timespec ts;
	double left;
	siginfo_t si;
	int fd = -1, r, exited;

#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		si.si_pid = 0;
		r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		exited = r < 0 ? errno != EINTR
			       : si.si_pid == pid; /* wait4 says why */
		if (exited)
			break;
		if ((left = deadline - coren_bench_now()) <= 0)
			break;
		if (fd < 0 && left > 2e-4)
			left = 2e-4; /* no pidfd: polls */
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		if (fd >= 0)
			ppoll(&(struct pollfd){fd, POLLIN, 0}, 1, &ts, NULL);
		else
			nanosleep(&ts, NULL);
	}
	if (fd >= 0)
		close(fd);
	return exited;
}

enum coren_err coren_bench_cmd_run(const char *cmd, double timeout, unsigned flags,
				   double *wall, double *cpu, struct coren_error *err)
{
	struct coren_bench_run r;
	enum coren_err rc = coren_bench_cmd_run_full(cmd, NULL, timeout, flags, &r, err);

	*wall = r.wall;
	*cpu = r.user + r.system;
	return rc;
}

/* Splits cmd into words at blanks, with '...' and "..." quoting and
 * backslash escapes (hyperfine -N); the words point into *buf (malloc'd).
 * Returns the count, -1 for too many words or an open quote. */
static int split_words(const char *cmd, char **buf, char **argv, int max)
{
	char *o = *buf = malloc(strlen(cmd) + 1), q = 0;
	int n = 0, in = 0;

	if (!o)
		return -1;
	for (; *cmd; cmd++) {
		char c = *cmd;

		if (!q && (c == ' ' || c == '\t' || c == '\n')) {
			if (in)
				*o++ = '\0';
			in = 0;
			continue;
		}
		if (!in) {
			if (n == max - 1)
				return -1;
			argv[n++] = o;
			in = 1;
		}
		if (q ? c == q : (c == '\'' || c == '"')) {
			q = q ? 0 : c;
			continue;
		}
		if (c == '\\' && q != '\'' && cmd[1])
			c = *++cmd;
		*o++ = c;
	}
	*o = '\0';
	argv[n] = NULL;
	return q ? -1 : n;
}

/* /dev/null for reading and for writing, close-on-exec; -1 on failure. */
static int null_fds(int nul[2])
{
	nul[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	nul[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul[0] >= 0 && nul[1] >= 0)
		return 0;
	if (nul[0] >= 0)
		close(nul[0]);
	if (nul[1] >= 0)
		close(nul[1]);
	return -1;
}

/* The environment of a timed run: the process's, with
 * RK_BENCH_RANDOMIZED_ENVIRONMENT_OFFSET set to 0..4095 'X's drawn anew
 * for each run, as hyperfine sets its HYPERFINE_... variable: the size of
 * the environment moves where the command's stack starts, and a mean over
 * random offsets is not one alignment's luck (Mytkowicz et al., "Producing
 * wrong data without doing anything obviously wrong!", ASPLOS 2009).
 * Made before the clock starts; *env and *var freed by the caller. */
#define OFFSET_VAR "RK_BENCH_RANDOMIZED_ENVIRONMENT_OFFSET"
static char **offset_env(char **var)
{
	static unsigned long long rng;
	size_t n = 0, k = 0, len;
	char **env;

	if (!rng)
		rng = ((unsigned long long)time(NULL) << 20 ^ (unsigned long long)getpid()) | 1;
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	len = (size_t)(rng % 4096);
	while (environ && environ[n])
		n++;
	env = malloc((n + 2) * sizeof *env);
	*var = malloc(sizeof OFFSET_VAR + 1 + len);
	if (!env || !*var) {
		free(env);
		free(*var);
		*var = NULL;
		return NULL;
	}
	memcpy(*var, OFFSET_VAR "=", sizeof OFFSET_VAR);
	memset(*var + sizeof OFFSET_VAR, 'X', len);
	(*var)[sizeof OFFSET_VAR + len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], OFFSET_VAR "=", sizeof OFFSET_VAR))
			env[k++] = environ[i];
	env[k++] = *var;
	env[k] = NULL;
	return env;
}

enum coren_err coren_bench_cmd_run_full(const char *cmd, const char *shell,
					double timeout, unsigned flags,
					struct coren_bench_run *run,
					struct coren_error *err)
{
	char *sh_argv[] = {unconst(shell ? shell : "/bin/sh"), unconst("-c"), unconst(cmd),
			   NULL};
	char *words[256], *buf = NULL, **argv = sh_argv, **env, *var = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct rusage ru;
	double t0;
	int status = 0, r, nul[2];
	enum coren_err rc;
	pid_t pid;

	memset(run, 0, sizeof *run);
	if (shell && !strcmp(shell, "none")) { /* no shell: the words run as is */
		if (split_words(cmd, &buf, words, 256) < 1) {
			free(buf);
			return coren_error_set(err, COREN_ERR_USAGE,
					       "cannot split '%s' into words", cmd);
		}
		argv = words;
	}
	/* The clock starts before the command's standard streams are opened
	 * and its environment made, as hyperfine's does: the two tools time
	 * the same span (rk-bench(1), "rk-bench for hyperfine users") */
	t0 = coren_bench_now();
	if (null_fds(nul)) {
		free(buf);
		return coren_error_set(err, COREN_ERR_IO,
				       "cannot open /dev/null: %s",
				       strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, nul[0], 0);
	posix_spawn_file_actions_adddup2(&fa, nul[1], 1);
	if (!(flags & COREN_BENCH_CMD_STDERR))
		posix_spawn_file_actions_adddup2(&fa, nul[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0); /* a timeout kills the whole group */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	env = offset_env(&var);
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv, env ? env : environ);
	close(nul[0]);
	close(nul[1]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	free(var);
	if (r) {
		rc = coren_error_set(err, COREN_ERR_IO, "cannot run '%s': %s", argv[0],
				     strerror(r));
		free(buf);
		return rc;
	}
	free(buf);
	if (timeout > 0 && !exited_by(pid, t0 + timeout)) {
		kill_group(pid, &status);
		return coren_error_set(err, COREN_ERR_TIMEOUT,
				       "'%s' ran longer than %g s, killed", cmd,
				       timeout);
	}
	while ((r = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
		;
	run->wall = coren_bench_now() - t0;
	if (r < 0)
		return coren_error_set(err, COREN_ERR_IO, "wait: %s", strerror(errno));
	run->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
	run->system = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
	run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (WIFSIGNALED(status))
		return coren_error_set(err, COREN_ERR_IO, "'%s' was killed by signal %d",
				       cmd, WTERMSIG(status));
	if (WEXITSTATUS(status) && !(flags & COREN_BENCH_CMD_IGNORE_FAILURE))
		return coren_error_set(err, COREN_ERR_IO,
				       "'%s' exited with status %d (use --ignore-failure "
				       "to time it anyway)", cmd, WEXITSTATUS(status));
	return COREN_OK;
}

enum coren_err coren_bench_shell_overhead(const char *shell, unsigned flags,
					  struct coren_bench_run *mean,
					  unsigned *runs,
					  struct coren_error *err)
{
	struct coren_bench_run r;
	enum coren_err rc;

	memset(mean, 0, sizeof *mean);
	*runs = 0;
	if (shell && !strcmp(shell, "none"))
		return COREN_OK;
	flags &= ~(unsigned)COREN_BENCH_CMD_IGNORE_FAILURE;
	/* a warm-up run first: the shell's first start loads it */
	if ((rc = coren_bench_cmd_run_full("", shell, 0, flags, &r, err)))
		return rc;
	/* a fixed count: stopping once the spread looks small would stop
	 * on samples that missed the rare slow start, a mean biased low */
	while (*runs < COREN_BENCH_OVERHEAD_RUNS) {
		if ((rc = coren_bench_cmd_run_full("", shell, 0, flags, &r,
						   err)))
			return rc;
		mean->wall += r.wall;
		mean->user += r.user;
		mean->system += r.system;
		++*runs;
	}
	mean->wall /= *runs;
	mean->user /= *runs;
	mean->system /= *runs;
	return COREN_OK;
}

const struct coren_bench_preset *coren_bench_preset(const char *name)
{
	static const struct coren_bench_preset presets[] = {
		{"quick", 1, 3, 0.15, 2},
		{"default", 3, 5, 0.10, 5},
		{"ci", 2, 5, 0.10, 10},
		{"comprehensive", 5, 10, 0.05, 30},
	};
	size_t i;

	for (i = 0; i < sizeof presets / sizeof presets[0]; i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}
