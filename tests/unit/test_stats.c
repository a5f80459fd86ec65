/* test_stats - lib/bench statistics against answers found independently
 * here: a printed Student-t table, the t density integrated by Simpson's
 * rule, Mann-Whitney p-values by enumerating every rank assignment, exact
 * power laws. */
#include "config.h"

#include "tap.h"

#include <coren/stats.h>
#include <math.h>
#include <stdlib.h>

static int near(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

#define is_near(got, want, tol, ...)                                          \
	do {                                                                  \
		double g_ = (got), w_ = (want);                               \
		if (!ok(near(g_, w_, tol), __VA_ARGS__))                      \
			printf("#   got %.10g, want %.10g\n", g_, w_);        \
	} while (0)

/* t(0.975, df) for df = 1..29 (n = 2..30), as printed in statistics
 * tables to 4 decimals, and the normal 1.95996. */
static const double t975[] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646,
			      2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604, 2.1448,
			      2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796,
			      2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484,
			      2.0452};

static void t_table(void)
{
	int bad = 0;

	for (int df = 1; df <= 29; df++) {
		double q = coren_stats_t_quantile(0.975, df);

		if (!near(q, t975[df - 1], 0.00006)) {
			printf("#   df %d: got %.6f, table %.4f\n", df, q, t975[df - 1]);
			bad++;
		}
	}
	is_int(bad, 0, "t(0.975) for n = 2..30 matches the printed table");
	is_near(coren_stats_t_quantile(0.975, INFINITY), 1.959964, 1e-6, "t(0.975, inf) = 1.959964");
	is_near(coren_stats_t_quantile(0.995, 10), 3.1693, 0.0001, "t(0.995, 10) = 3.1693");
	is_near(coren_stats_t_quantile(0.025, 5), -2.5706, 0.0001, "lower tail is symmetric");
	ok(isnan(coren_stats_t_quantile(1, 5)) && isnan(coren_stats_t_quantile(0.5, 0)),
	   "p = 1 or df = 0: NaN");
}

/* The t density, integrated from 0 to t by Simpson's rule. */
static double t_pdf(double x, double df)
{
	return exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / sqrt(df * M_PI) *
	       pow(1 + x * x / df, -(df + 1) / 2);
}

static double simpson_cdf(double t, double df)
{
	int n = 20000;
	double h = t / n, s = t_pdf(0, df) + t_pdf(t, df);

	for (int i = 1; i < n; i++)
		s += (i % 2 ? 4 : 2) * t_pdf(i * h, df);
	return 0.5 + s * h / 3;
}

static void t_cdf(void)
{
	static const double cases[][2] = {{1.0, 3.0}, {2.5, 5.882}, {0.3, 1.5}, {4.0, 12.25}};
	int bad = 0;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		double got = coren_stats_t_cdf(cases[i][0], cases[i][1]);
		double want = simpson_cdf(cases[i][0], cases[i][1]);

		if (!near(got, want, 1e-9)) {
			printf("#   t %g df %g: got %.12f, Simpson %.12f\n", cases[i][0],
			       cases[i][1], got, want);
			bad++;
		}
	}
	is_int(bad, 0, "t cdf agrees with the integrated density (fractional df too)");
	is_near(coren_stats_t_cdf(-1.0, 3.0), 1 - simpson_cdf(1.0, 3.0), 1e-9, "negative t");
	is_near(coren_stats_t_cdf(0, 7), 0.5, 1e-15, "cdf(0) = 1/2");
}

static void describe(void)
{
	static const double four[] = {4, 1, 3, 2};
	static const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
	double sorted4[] = {1, 2, 3, 4};
	struct coren_summary s;
	struct coren_error err = {0};

	is_near(coren_stats_percentile(sorted4, 4, 25), 1.75, 1e-12, "p25 of 1..4 = 1.75");
	is_near(coren_stats_percentile(sorted4, 4, 50), 2.5, 1e-12, "p50 of 1..4 = 2.5");
	is_near(coren_stats_percentile(sorted4, 4, 90), 3.7, 1e-12, "p90 of 1..4 = 3.7");
	is_near(coren_stats_percentile(sorted4, 4, 100), 4, 0, "p100 is the max");
	ok(!coren_stats_summary(four, 4, 0.95, &s, &err) && s.min == 1 && s.max == 4 &&
	   near(s.median, 2.5, 1e-12), "summary sorts a copy");
	ok(!coren_stats_summary(x, 8, 0.95, &s, &err), "summary of 8 values");
	is_near(s.mean, 5, 1e-12, "mean 5");
	is_near(s.stddev, sqrt(32.0 / 7), 1e-12, "sample stddev sqrt(32/7)");
	is_near(s.median, 4.5, 1e-12, "median 4.5");
	is_near(s.iqr, 5.5 - 4, 1e-12, "IQR 1.5 (q1 4, q3 5.5)");
	is_near(s.cv, sqrt(32.0 / 7) / 5, 1e-12, "CV = stddev / mean");
	is_near(s.ci_hi - s.mean, 2.3646 * sqrt(32.0 / 7) / sqrt(8), 1e-4,
		"95%% interval: t(0.975, 7) = 2.3646, not 1.96");
	ok(coren_stats_summary(x, 0, 0.95, &s, &err) == COREN_ERR_USAGE, "no values: usage error");
	ok(coren_stats_summary(x, 8, 1.0, &s, &err) == COREN_ERR_USAGE, "confidence 1: usage error");
	ok(!coren_stats_summary(x, 1, 0.95, &s, &err) && s.ci_lo == 2 && s.ci_hi == 2 &&
	   s.stddev == 0, "one value: a zero-width interval");
}

static void outliers(void)
{
	static const double x[] = {10, 10.1, 9.9, 10.2, 9.8, 10, 50, 10.05};
	static const double flat[] = {3, 3, 3, 3, 8};
	unsigned char f[8];

	is_int(coren_stats_outliers(x, 8, COREN_STATS_OUTLIER_Z, f), 1, "one outlier");
	ok(f[6] && !f[0] && !f[5], "it is the 50");
	is_int(coren_stats_outliers(flat, 5, COREN_STATS_OUTLIER_Z, NULL), 0,
	       "MAD 0: nothing flagged");
}

static void welch(void)
{
	static const double a[] = {1, 2, 3, 4, 5}, b[] = {2, 4, 6, 8, 10};
	static const double c[] = {7, 7, 7}, d[] = {7, 7, 7}, e[] = {8, 8, 8};
	struct coren_test t;
	double df = 6.25 / (0.25 / 4 + 4.0 / 4);

	ok(!coren_stats_welch(a, 5, b, 5, &t, NULL), "Welch on two samples");
	is_near(t.statistic, -3 / sqrt(2.5), 1e-12, "t = -3 / sqrt(0.5 + 2)");
	is_near(t.df, df, 1e-12, "Welch-Satterthwaite df = 5.882");
	is_near(t.p, 2 * (1 - simpson_cdf(3 / sqrt(2.5), df)), 1e-8,
		"p = twice the tail of the integrated density");
	ok(!coren_stats_welch(c, 3, d, 3, &t, NULL) && t.p == 1, "equal constants: p = 1");
	ok(!coren_stats_welch(c, 3, e, 3, &t, NULL) && t.p == 0, "different constants: p = 0");
	ok(coren_stats_welch(a, 1, b, 5, &t, NULL) == COREN_ERR_USAGE, "one value: usage error");
	ok(!coren_stats_welch_summary(3, sqrt(2.5), 5, 6, sqrt(10), 5, &t, NULL) &&
	   near(t.statistic, -3 / sqrt(2.5), 1e-12), "from summaries, the same");
}

/* U of a against b, by definition: pairs (x in a, y in b) with x > y, ties
 * one half. */
/* A standard normal deviate (Box-Muller on rand()). */
static double gauss(void)
{
	double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = rand() / (RAND_MAX + 1.0);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* The detectable difference against a printed t table, then its meaning
 * checked by simulation: Welch's test at 0.05 rejects about 80% of the
 * time when the means differ by it. */
static void detectable(void)
{
	double df, d = coren_stats_detectable(1, 5, 1, 5, 0.05, 0.8, &df);
	double a[8], b[8];
	int hits = 0, trials = 4000;
	struct coren_test t;

	is_near(df, 8, 1e-9, "equal samples: df = na + nb - 2");
	is_near(d, (2.3060 + 0.8889) * sqrt(0.4), 0.0005, "(t(.975,8) + t(.8,8)) * sqrt(1/5 + 1/5)");
	ok(isinf(coren_stats_detectable(1, 1, 1, 5, 0.05, 0.8, NULL)), "one value: infinite");
	ok(coren_stats_detectable(0, 5, 0, 5, 0.05, 0.8, NULL) == 0, "constant samples: 0");
	d = coren_stats_detectable(1, 8, 2, 8, 0.05, 0.8, NULL);
	srand(7);
	for (int k = 0; k < trials; k++) {
		for (int i = 0; i < 8; i++) {
			a[i] = gauss();
			b[i] = d + 2 * gauss();
		}
		hits += !coren_stats_welch(a, 8, b, 8, &t, NULL) && t.p < 0.05;
	}
	if (!ok(hits > 0.76 * trials && hits < 0.84 * trials,
		"a difference of the detectable size is found about 80%% of the time"))
		printf("#   %d of %d\n", hits, trials);
}

static double u_of(const double *a, int na, const double *b, int nb)
{
	double u = 0;

	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
	return u;
}

/* The exact two-sided p by enumerating every way to give m of m + n
 * ranks to the first sample. */
static double enumerate_p(double u_obs, int m, int n)
{
	int N = m + n;
	double le = 0, ge = 0, total = 0;

	for (unsigned mask = 0; mask < 1u << N; mask++) {
		double u = 0;
		int k = __builtin_popcount(mask);

		if (k != m)
			continue;
		for (int i = 0; i < N; i++) /* rank i + 1 in the first sample */
			if (mask >> i & 1)
				for (int j = 0; j < i; j++)
					u += !(mask >> j & 1);
		total++;
		le += u <= u_obs;
		ge += u >= u_obs;
	}
	return fmin(1, 2 * fmin(le, ge) / total);
}

static void mann_whitney(void)
{
	static const double a[] = {1.1, 2.5, 3.7, 8.0}, b[] = {0.5, 4.2, 5.9, 6.1, 9.3, 7.7};
	static const double lo[] = {1, 2, 3, 4, 5}, hi[] = {6, 7, 8, 9, 10};
	static const double ta[] = {1, 2, 2, 3, 3, 3}, tb[] = {3, 4, 4, 5, 6, 6, 7};
	struct coren_test t;

	ok(!coren_stats_mann_whitney(a, 4, b, 6, &t, NULL) && t.exact, "exact without ties");
	is_near(t.statistic, u_of(a, 4, b, 6), 1e-12, "U counts the pairs a > b");
	is_near(t.p, enumerate_p(u_of(a, 4, b, 6), 4, 6), 1e-12,
		"p as by enumerating all 210 rank sets");
	ok(!coren_stats_mann_whitney(lo, 5, hi, 5, &t, NULL) && t.statistic == 0, "separated: U = 0");
	is_near(t.p, 2.0 / 252, 1e-12, "p = 2 / C(10, 5)");
	ok(!coren_stats_mann_whitney(ta, 6, tb, 7, &t, NULL) && !t.exact, "ties: the normal approximation");
	is_near(t.statistic, u_of(ta, 6, tb, 7), 1e-12, "U with ties counts halves");
	ok(t.p > 0.001 && t.p < 0.05, "ties: p = %.4f, below 0.05", t.p);
	ok(coren_stats_mann_whitney(a, 0, b, 6, &t, NULL) == COREN_ERR_USAGE, "empty: usage error");
}

static void power_fit(void)
{
	double x[] = {1, 2, 4, 8, 16, 32}, y[6], noisy[6];
	struct coren_fit f;

	for (int i = 0; i < 6; i++) {
		y[i] = 3 * pow(x[i], 1.5);
		noisy[i] = y[i] * (i % 2 ? 1.02 : 0.98);
	}
	ok(!coren_stats_power_fit(x, y, 6, &f, NULL), "fit of y = 3 x^1.5");
	is_near(f.exponent, 1.5, 1e-12, "exponent 1.5");
	is_near(f.coefficient, 3, 1e-12, "coefficient 3");
	ok(near(f.r2, 1, 1e-12) && !strcmp(f.quality, "excellent"), "R2 1, excellent");
	ok(!coren_stats_power_fit(x, noisy, 6, &f, NULL) && near(f.exponent, 1.5, 0.02) &&
	   f.r2 > 0.99 && f.r2 < 1, "2%% noise: exponent %.4f, R2 %.5f", f.exponent, f.r2);
	y[5] = y[0];
	ok(!coren_stats_power_fit(x, y, 6, &f, NULL) && strcmp(f.quality, "excellent"),
	   "a broken law: %s (R2 %.3f)", f.quality, f.r2);
	ok(coren_stats_power_fit(x, y, 1, &f, NULL) == COREN_ERR_USAGE, "one point: usage error");
	x[0] = 0;
	ok(coren_stats_power_fit(x, y, 6, &f, NULL) == COREN_ERR_USAGE, "size 0: usage error");
}

int main(void)
{
	t_table();
	t_cdf();
	describe();
	outliers();
	welch();
	detectable();
	mann_whitney();
	power_fit();
	return done_testing();
}
