/* coren/stats.h - the statistics behind rk-bench (rk-bench(1)): summaries,
 * Student-t intervals, outliers, two-sample tests, power-law fits.
 *
 * Every function is pure: it reads its inputs, writes only its outputs,
 * allocates only where it says so, and is safe from any thread.
 */
#ifndef COREN_STATS_H
#define COREN_STATS_H

#include <coren/error.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A sample described. stddev is the sample standard deviation (n - 1);
 * cv = stddev / mean; q1, q3 and iqr by coren_stats_percentile; ci_lo and
 * ci_hi the Student-t confidence interval of the mean at the level asked
 * (both the mean when n < 2); outliers counts the points whose modified
 * z-score passes COREN_STATS_OUTLIER_Z. */
struct coren_summary {
	size_t n;
	double mean, median, stddev, min, max;
	double q1, q3, iqr, cv;
	double ci_lo, ci_hi, confidence;
	size_t outliers;
};

#define COREN_STATS_OUTLIER_Z 3.5 /* Iglewicz and Hoaglin */

/* The arithmetic mean (0 when n is 0). */
double coren_stats_mean(const double *x, size_t n);

/* The sample standard deviation, n - 1 in the denominator (0 when n < 2). */
double coren_stats_stddev(const double *x, size_t n);

/* The p-th percentile (0 <= p <= 100) of n sorted values by linear
 * interpolation between closest ranks: rank h = (n - 1) p / 100, value
 * x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]) (numpy's
 * default, R's type 7). NaN when n is 0. */
double coren_stats_percentile(const double *sorted, size_t n, double p);

/* Describes n values (not changed; copied to sort). confidence in (0, 1),
 * e.g. 0.95. COREN_ERR_USAGE for n = 0 or a bad level, COREN_ERR_NOMEM. */
enum coren_err coren_stats_summary(const double *x, size_t n, double confidence,
				   struct coren_summary *s, struct coren_error *err);

/* Student's t distribution with df degrees of freedom (df = INFINITY: the
 * standard normal): P(T <= t), and its inverse for 0 < p < 1, exact to
 * about 1e-12 (the regularised incomplete beta function, inverted by
 * bisection), not a normal approximation. */
double coren_stats_t_cdf(double t, double df);
double coren_stats_t_quantile(double p, double df);

/* Flags (flags[i] = 1) the values whose modified z-score
 * 0.6745 |x - median| / MAD exceeds z (COREN_STATS_OUTLIER_Z), where MAD
 * is the median absolute deviation; none when MAD is 0. flags may be NULL.
 * Returns how many; (size_t)-1 on ENOMEM. */
size_t coren_stats_outliers(const double *x, size_t n, double z, unsigned char *flags);

/* A two-sample test of a against b, two-sided. */
struct coren_test {
	double statistic; /* Welch: t; Mann-Whitney: U of sample a */
	double df;	  /* Welch: Welch-Satterthwaite; Mann-Whitney: 0 */
	double p;	  /* two-sided p-value */
	int exact;	  /* Mann-Whitney: 1 when p is exact */
};

/* Welch's unequal-variance t-test from the samples (n >= 2 each).
 * Identical constant samples give p = 1 when the means are equal, else 0.
 * COREN_ERR_USAGE for fewer than 2 values. */
enum coren_err coren_stats_welch(const double *a, size_t na, const double *b,
				 size_t nb, struct coren_test *t, struct coren_error *err);

/* The same from summaries (mean, sample stddev, n), as a baseline stores. */
enum coren_err coren_stats_welch_summary(double ma, double sa, size_t na,
					 double mb, double sb, size_t nb,
					 struct coren_test *t, struct coren_error *err);

/* The smallest difference of means Welch's test at two-sided level alpha
 * detects with probability power, for samples with these standard
 * deviations and counts: (t(1 - alpha/2, df) + t(power, df)) * se, where
 * se = sqrt(sa^2/na + sb^2/nb) and df is Welch-Satterthwaite's (the
 * usual approximation, e.g. Cohen; G*Power's for unequal variances).
 * *df gets the df when not NULL. INFINITY when na or nb is below 2 (no
 * test), 0 when both samples are constant. */
double coren_stats_detectable(double sa, size_t na, double sb, size_t nb,
			      double alpha, double power, double *df);

/* The Mann-Whitney U test (Wilcoxon rank-sum). Exact p from the null
 * distribution of U when there are no ties and na * nb <= 2500; otherwise
 * the normal approximation with the tie correction and a continuity
 * correction. COREN_ERR_USAGE for an empty sample, COREN_ERR_NOMEM. */
enum coren_err coren_stats_mann_whitney(const double *a, size_t na,
					const double *b, size_t nb,
					struct coren_test *t, struct coren_error *err);

/* value = coefficient * size^exponent, fitted by least squares on
 * (log size, log value); r2 of that fit; quality "excellent" (r2 >= 0.99),
 * "good" (>= 0.95), "fair" (>= 0.80) or "poor". */
struct coren_fit {
	double exponent, coefficient, r2;
	const char *quality;
};

/* COREN_ERR_USAGE for fewer than 2 points, a size or value <= 0, or all
 * sizes equal. */
enum coren_err coren_stats_power_fit(const double *size, const double *value,
				     size_t n, struct coren_fit *f,
				     struct coren_error *err);

#ifdef __cplusplus
}
#endif

#endif
