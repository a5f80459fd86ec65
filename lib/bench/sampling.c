/* How many runs a benchmark takes (--runs auto), and timing commands. */
#include "config.h"

#include <coren/bench.h>
#include <coren/stats.h>
#include <math.h>
#include <stdlib.h>

const char *coren_bench_stop_name(enum coren_bench_stop s)
{
	static const char *const names[] = {"runs", "detectable", "budget", "max-runs"};

	return s <= COREN_BENCH_STOP_MAX_RUNS ? names[s] : "unknown";
}

double coren_bench_detectable(const struct coren_bench_until *u, const double *x,
			      size_t n)
{
	double m = coren_stats_mean(x, n), sd = coren_stats_stddev(x, n);
	double bm = m, bsd = sd, d;
	size_t bn = n;

	if (u && u->base_n) { /* the comparison that will be made */
		bm = u->base_mean;
		bsd = u->base_sd;
		bn = u->base_n;
	}
	d = coren_stats_detectable(bsd, bn, sd, n, COREN_BENCH_ALPHA, COREN_BENCH_POWER,
				   NULL);
	return bm > 0 ? d / bm : INFINITY;
}

bool coren_bench_enough(const struct coren_bench_opts *o,
			const struct coren_bench_until *u, const double *x, size_t n,
			double elapsed, enum coren_bench_stop *stop, double *detectable)
{
	double d = NAN;
	bool adaptive = u && u->target > 0;

	/* the detection limit is only worth its two t quantiles when it
	 * decides something or is asked for */
	if (detectable || (adaptive && n >= o->runs))
		d = coren_bench_detectable(u, x, n);
	if (detectable)
		*detectable = d;
	*stop = COREN_BENCH_STOP_RUNS;
	if (n < o->runs)
		return false;
	if (!adaptive)
		return true;
	/* a standard deviation from fewer samples is too rough to stop on:
	 * by chance it is small, and the stop would be premature */
	if (d <= u->target && n >= COREN_BENCH_AUTO_MIN)
		*stop = COREN_BENCH_STOP_DETECTABLE;
	else if (u->max_runs && n >= u->max_runs)
		*stop = COREN_BENCH_STOP_MAX_RUNS;
	else if (u->budget > 0 && elapsed >= u->budget)
		*stop = COREN_BENCH_STOP_BUDGET;
	else
		return false;
	return true;
}

/* The runs expected in all, for a progress bar: the fixed count, or under
 * --runs auto what the budget allows at the pace so far. */
static size_t expected_runs(const struct coren_bench_opts *o,
			    const struct coren_bench_until *u, size_t done,
			    double elapsed)
{
	size_t e = o->runs;

	if (u && u->target > 0) {
		if (u->budget > 0 && done && elapsed > 0)
			e = (size_t)(u->budget / (elapsed / (double)done));
		if (u->max_runs && e > u->max_runs)
			e = u->max_runs;
		if (e < o->runs)
			e = o->runs;
	}
	return e > done ? e : done;
}

/* One run of c, with its prepare command first (under /bin/sh); *t the
 * seconds, the rest into c's arrays at i when it has them (not for a
 * warm-up, i = -1). */
static enum coren_err one_run(const struct coren_bench_cmd *c, double timeout,
			      double *t, size_t i, struct coren_error *err)
{
	struct coren_bench_run r;
	enum coren_err rc;
	double wall, cpu;

	if (c->prepare &&
	    (rc = coren_bench_cmd_run(c->prepare, timeout, c->flags & COREN_BENCH_CMD_STDERR,
				      &wall, &cpu, err)))
		return rc;
	if ((rc = coren_bench_cmd_run_full(c->cmd, c->shell, timeout, c->flags, &r, err)))
		return rc;
	*t = fdim(r.wall, c->overhead.wall);
	if (i == (size_t)-1)
		return COREN_OK;
	if (c->user)
		c->user[i] = fdim(r.user, c->overhead.user);
	if (c->system)
		c->system[i] = fdim(r.system, c->overhead.system);
	if (c->status)
		c->status[i] = r.status;
	return COREN_OK;
}

enum coren_err coren_bench_cmd_measure(const struct coren_bench_cmd *c,
				       const struct coren_bench_opts *o,
				       const struct coren_bench_until *u, double *times,
				       size_t *n, enum coren_bench_stop *stop,
				       struct coren_error *err)
{
	size_t cap = u && u->target > 0 && u->max_runs > o->runs ? u->max_runs : o->runs;
	enum coren_err rc;
	double t, t0;
	unsigned i;

	*n = 0;
	*stop = COREN_BENCH_STOP_RUNS;
	for (i = 0; i < o->warmup; i++)
		if ((rc = one_run(c, o->timeout, &t, (size_t)-1, err)))
			return rc;
	t0 = coren_bench_now();
	while (*n < cap) {
		if ((rc = one_run(c, o->timeout, &times[*n], *n, err)))
			return rc;
		++*n;
		t = coren_bench_now() - t0;
		if (c->progress)
			c->progress(c->data, *n, expected_runs(o, u, *n, t), t);
		if (coren_bench_enough(o, u, times, *n, t, stop, NULL))
			return COREN_OK;
	}
	*stop = u && u->target > 0 ? COREN_BENCH_STOP_MAX_RUNS : COREN_BENCH_STOP_RUNS;
	return COREN_OK;
}
