/* probe.c - measuring MachCap (coren/cap.h, coren-probe(1)).
 *
 * FLOP/s: a double-precision FMA loop with enough independent accumulators
 * to hide the FMA latency, dispatched at run time (AVX-512, AVX2+FMA,
 * scalar); one pinned thread per physical core; best of three trials.
 * Memory: STREAM triad a[i] = b[i] + s*c[i], 24 bytes per iteration; each
 * array as large as the last-level cache the CPU reports (a VM may report
 * its host's whole L3), at least 64 MiB, at most 512 MiB and RAM/8; pages
 * pre-faulted (huge pages where allowed) before timing; plain and
 * non-temporal stores, best of several trials of each.
 */
#include "config.h"

#include <coren/cap.h>
#include <coren/log.h>
#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 512
#define MiB ((size_t)1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- which CPUs: one per physical core ---------------------------------- */

/* The number in /sys/devices/system/cpu/cpuCPU/topology/WHAT, or -1. */
static long topology(int cpu, const char *what)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s",
		 cpu, what);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int coren_probe_cores(int *cpus, int max)
{
	long seen[MAX_THREADS][2];
	cpu_set_t set;
	int n = 0, c, i;

	if (sched_getaffinity(0, sizeof set, &set) < 0) {
		cpus[0] = -1;
		return 1;
	}
	for (c = 0; c < CPU_SETSIZE && n < max; c++) {
		long pkg, core;

		if (!CPU_ISSET(c, &set))
			continue;
		pkg = topology(c, "physical_package_id");
		core = topology(c, "core_id");
		for (i = 0; i < n && core >= 0; i++)
			if (seen[i][0] == pkg && seen[i][1] == core)
				break;
		if (core >= 0 && i < n)
			continue; /* an SMT sibling of a core already taken */
		seen[n][0] = pkg;
		seen[n][1] = core;
		cpus[n++] = c;
	}
	return n ? n : (cpus[0] = -1, 1);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* ---- threads that start together ------------------------------------------ */

struct team;
typedef void work_fn(struct team *t, int id);

struct team {
	int n;			/* threads running (set before go) */
	int cpus[MAX_THREADS];
	atomic_int go;		/* the members start together */
	work_fn *fn;
	void *arg;
	double seconds[MAX_THREADS]; /* each thread's timed part */
};

struct member {
	struct team *t;
	int id;
};

/* Waits until every member has been started. */
static void team_wait(struct team *t)
{
	while (!atomic_load_explicit(&t->go, memory_order_acquire))
		sched_yield();
}

static void *member_main(void *p)
{
	struct member *m = p;

	pin(m->t->cpus[m->id]);
	m->t->fn(m->t, m->id);
	return NULL;
}

/* Runs fn on n pinned threads (n <= 0: one per core); if a thread cannot
 * be started, on those that could. */
static void team_run(struct team *t, int n, work_fn *fn, void *arg)
{
	pthread_t tid[MAX_THREADS];
	struct member m[MAX_THREADS];
	int all = coren_probe_cores(t->cpus, MAX_THREADS), i;
	cpu_set_t mine;
	int restore = pthread_getaffinity_np(pthread_self(), sizeof mine,
					     &mine) == 0;

	n = n <= 0 || n > all ? all : n;
	t->fn = fn;
	t->arg = arg;
	atomic_store(&t->go, 0);
	for (i = 0; i < n; i++) {
		m[i].t = t;
		m[i].id = i;
		if (i && pthread_create(&tid[i], NULL, member_main, &m[i]))
			break;
	}
	t->n = i;
	atomic_store_explicit(&t->go, 1, memory_order_release);
	member_main(&m[0]);
	while (--i > 0)
		pthread_join(tid[i], NULL);
	if (restore) /* the caller runs where it ran before */
		pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
}

static double team_max_seconds(const struct team *t)
{
	double s = 0;
	int i;

	for (i = 0; i < t->n; i++)
		if (t->seconds[i] > s)
			s = t->seconds[i];
	return s;
}

/* ---- peak FLOP/s -------------------------------------------------------- */

static volatile double sink;

/* Twelve independent accumulators: FMA latency (4-5 cycles) times two FMA
 * pipes needs at least ten to keep the units busy. Written out so that
 * every accumulator stays in a register. */
#define ACC 12
#define FMA12(F, b, c)                                                       \
	a0 = F(a0, b, c); a1 = F(a1, b, c); a2 = F(a2, b, c);                \
	a3 = F(a3, b, c); a4 = F(a4, b, c); a5 = F(a5, b, c);                \
	a6 = F(a6, b, c); a7 = F(a7, b, c); a8 = F(a8, b, c);                \
	a9 = F(a9, b, c); a10 = F(a10, b, c); a11 = F(a11, b, c)
#define SUM12(ADD) \
	ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))), \
	    ADD(ADD(a8, a9), ADD(a10, a11)))
#define INIT12(SET)                                                          \
	a0 = SET(1.000), a1 = SET(1.001), a2 = SET(1.002), a3 = SET(1.003),  \
	a4 = SET(1.004), a5 = SET(1.005), a6 = SET(1.006), a7 = SET(1.007),  \
	a8 = SET(1.008), a9 = SET(1.009), a10 = SET(1.010), a11 = SET(1.011)

__attribute__((target("avx512f"))) static double fma_avx512(uint64_t iters)
{
	__m512d a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
	__m512d b = _mm512_set1_pd(0.999999999), c = _mm512_set1_pd(1e-9);
	double out[8], s = 0;
	uint64_t i;
	int k;

	INIT12(_mm512_set1_pd);
	for (i = 0; i < iters; i++) {
		FMA12(_mm512_fmadd_pd, b, c);
	}
	_mm512_storeu_pd(out, SUM12(_mm512_add_pd));
	for (k = 0; k < 8; k++)
		s += out[k];
	return s;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(uint64_t iters)
{
	__m256d a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
	__m256d b = _mm256_set1_pd(0.999999999), c = _mm256_set1_pd(1e-9);
	double out[4], s = 0;
	uint64_t i;
	int k;

	INIT12(_mm256_set1_pd);
	for (i = 0; i < iters; i++) {
		FMA12(_mm256_fmadd_pd, b, c);
	}
	_mm256_storeu_pd(out, SUM12(_mm256_add_pd));
	for (k = 0; k < 4; k++)
		s += out[k];
	return s;
}

#define ID(x) (x)
#define PLUS(x, y) ((x) + (y))

static double fma_scalar(uint64_t iters)
{
	double a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
	uint64_t i;

	INIT12(ID);
	for (i = 0; i < iters; i++) {
		FMA12(fma, 0.999999999, 1e-9);
	}
	return SUM12(PLUS);
}

struct fma_kernel {
	const char *name;
	double (*fn)(uint64_t);
	double flops_per_iter;
};

static struct fma_kernel pick_kernel(void)
{
	struct fma_kernel k = {"scalar", fma_scalar, ACC * 2.0};

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		k.name = "avx512";
		k.fn = fma_avx512;
		k.flops_per_iter = ACC * 8 * 2.0;
	} else if (__builtin_cpu_supports("avx2") &&
		   __builtin_cpu_supports("fma")) {
		k.name = "avx2";
		k.fn = fma_avx2;
		k.flops_per_iter = ACC * 4 * 2.0;
	}
	return k;
}

struct fma_job {
	struct fma_kernel k;
	uint64_t iters;
};

static void fma_work(struct team *t, int id)
{
	struct fma_job *j = t->arg;
	double s;

	team_wait(t);
	s = now();
	sink = j->k.fn(j->iters);
	t->seconds[id] = now() - s;
}

/* (best - worst) / best of n trials' rates. */
static double spread_of(const double *rate, int n)
{
	double lo = rate[0], hi = rate[0];
	int i;

	for (i = 1; i < n; i++) {
		lo = rate[i] < lo ? rate[i] : lo;
		hi = rate[i] > hi ? rate[i] : hi;
	}
	return hi > 0 ? (hi - lo) / hi : 0;
}

double coren_probe_flops(int threads, double seconds, const char **simd)
{
	double spread;

	return coren_probe_flops_spread(threads, seconds, simd, &spread);
}

double coren_probe_flops_spread(int threads, double seconds, const char **simd,
				double *spread)
{
	struct fma_job j = {pick_kernel(), 1000};
	struct team t;
	double best = 0, s, rate[3] = {0};
	int trial;

	/* calibrate: iterations for about seconds on one core */
	do {
		s = now();
		sink = j.k.fn(j.iters);
		s = now() - s;
		if (s < seconds / 4)
			j.iters *= 4;
	} while (s < seconds / 4 && j.iters < (1ULL << 40));
	j.iters = (uint64_t)((double)j.iters * seconds / (s > 0 ? s : 1e-6)) + 1;
	for (trial = 0; trial < 3; trial++) {
		team_run(&t, threads, fma_work, &j);
		s = team_max_seconds(&t);
		rate[trial] = s > 0 ? t.n * j.k.flops_per_iter * (double)j.iters / s : 0;
		if (rate[trial] > best)
			best = rate[trial];
	}
	if (simd)
		*simd = j.k.name;
	*spread = spread_of(rate, 3);
	return best;
}

/* ---- STREAM triad ------------------------------------------------------- */

struct triad_job {
	double *a, *b, *c;
	size_t n; /* elements per array */
	int nt;	  /* non-temporal stores */
	int prefault;
};

/* This thread's share [lo, hi) of n, in whole 64-byte lines. */
static void share(size_t n, int id, int nthreads, size_t *lo, size_t *hi)
{
	size_t per = (n / (size_t)nthreads) & ~(size_t)7;

	*lo = per * (size_t)id;
	*hi = id == nthreads - 1 ? n : *lo + per;
}

static void triad_plain(double *restrict a, const double *restrict b,
			const double *restrict c, size_t lo, size_t hi)
{
	size_t i;

	for (i = lo; i < hi; i++)
		a[i] = b[i] + 3.0 * c[i];
}

__attribute__((target("avx512f"))) static void
triad_nt512(double *a, const double *b, const double *c, size_t lo, size_t hi)
{
	__m512d s = _mm512_set1_pd(3.0);
	size_t i;

	for (i = lo; i + 8 <= hi; i += 8)
		_mm512_stream_pd(a + i, _mm512_fmadd_pd(s, _mm512_load_pd(c + i),
							_mm512_load_pd(b + i)));
	for (; i < hi; i++)
		a[i] = b[i] + 3.0 * c[i];
	_mm_sfence();
}

__attribute__((target("avx2,fma"))) static void
triad_nt256(double *a, const double *b, const double *c, size_t lo, size_t hi)
{
	__m256d s = _mm256_set1_pd(3.0);
	size_t i;

	for (i = lo; i + 4 <= hi; i += 4)
		_mm256_stream_pd(a + i, _mm256_fmadd_pd(s, _mm256_load_pd(c + i),
							_mm256_load_pd(b + i)));
	for (; i < hi; i++)
		a[i] = b[i] + 3.0 * c[i];
	_mm_sfence();
}

static void triad_work(struct team *t, int id)
{
	struct triad_job *j = t->arg;
	size_t lo, hi;
	double s;

	team_wait(t);
	share(j->n, id, t->n, &lo, &hi);
	if (j->prefault) { /* first touch by the thread that will use it */
		memset(j->a + lo, 0, (hi - lo) * sizeof(double));
		memset(j->b + lo, 0, (hi - lo) * sizeof(double));
		memset(j->c + lo, 0, (hi - lo) * sizeof(double));
		t->seconds[id] = 0;
		return;
	}
	s = now();
	if (!j->nt)
		triad_plain(j->a, j->b, j->c, lo, hi);
	else if (__builtin_cpu_supports("avx512f"))
		triad_nt512(j->a, j->b, j->c, lo, hi);
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		triad_nt256(j->a, j->b, j->c, lo, hi);
	else
		triad_plain(j->a, j->b, j->c, lo, hi);
	t->seconds[id] = now() - s;
}

static double *huge_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

double coren_probe_triad(int threads, size_t bytes, int trials)
{
	double spread;

	return coren_probe_triad_spread(threads, bytes, trials, &spread);
}

double coren_probe_triad_spread(int threads, size_t bytes, int trials,
				double *spread)
{
	struct triad_job j = {0};
	struct team t;
	double best = 0, s, rate[16], sp;
	int trial, nt;

	*spread = 0;
	if (trials > 16)
		trials = 16;

	j.n = bytes / sizeof(double) & ~(size_t)7;
	j.a = huge_alloc(j.n * sizeof(double));
	j.b = huge_alloc(j.n * sizeof(double));
	j.c = huge_alloc(j.n * sizeof(double));
	if (j.a && j.b && j.c) {
		j.prefault = 1;
		team_run(&t, threads, triad_work, &j);
		j.prefault = 0;
		for (nt = 0; nt < 2; nt++) {
			j.nt = nt;
			for (trial = 0; trial < trials; trial++) {
				team_run(&t, threads, triad_work, &j);
				s = team_max_seconds(&t);
				rate[trial] = s > 0 ? 24.0 * (double)j.n / s : 0;
				if (rate[trial] > best)
					best = rate[trial];
			}
			/* plain and non-temporal stores differ by design:
			 * the spread is within each */
			sp = trials > 0 ? spread_of(rate, trials) : 0;
			*spread = sp > *spread ? sp : *spread;
		}
	}
	if (j.a)
		munmap(j.a, j.n * sizeof(double));
	if (j.b)
		munmap(j.b, j.n * sizeof(double));
	if (j.c)
		munmap(j.c, j.n * sizeof(double));
	return best;
}

/* ---- disk --------------------------------------------------------------- */

enum coren_err coren_probe_disk(const char *dir, size_t bytes, double *read_bw,
				double *write_bw, struct coren_error *err)
{
	size_t block = 4 * MiB, done;
	char *path = NULL;
	void *buf = NULL;
	double s;
	int fd = -1;
	enum coren_err rc = COREN_OK;

	if (asprintf(&path, "%s/.probe-disk.XXXXXX", dir) < 0 ||
	    posix_memalign(&buf, 4096, block)) {
		free(path);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	memset(buf, 0xa5, block);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		rc = coren_error_set(err, COREN_ERR_IO,
				     "cannot create a file in '%s': %s", dir,
				     strerror(errno));
		goto out;
	}
	s = now();
	for (done = 0; done < bytes; done += block)
		if (write(fd, buf, block) != (ssize_t)block)
			break;
	if (done < bytes || fsync(fd) < 0) {
		rc = coren_error_set(err, COREN_ERR_IO, "cannot write '%s': %s",
				     path, strerror(errno));
		goto out;
	}
	*write_bw = (double)done / (now() - s);
	close(fd);
	/* read back past the page cache: O_DIRECT, else drop the pages */
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	if (fd < 0) {
		rc = coren_error_set(err, COREN_ERR_IO, "cannot read '%s': %s",
				     path, strerror(errno));
		goto out;
	}
	s = now();
	for (done = 0; done < bytes;) {
		ssize_t n = read(fd, buf, block);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	*read_bw = (double)done / (now() - s);
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
	free(buf);
	return rc;
}
