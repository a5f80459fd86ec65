/* stats.c - summaries, Student-t, outliers, Welch and Mann-Whitney tests,
 * power-law fits (coren/stats.h). */
#include "config.h"

#include <coren/stats.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double *sorted_copy(const double *x, size_t n)
{
	double *s = malloc((n ? n : 1) * sizeof *s);

	if (s) {
		memcpy(s, x, n * sizeof *s);
		qsort(s, n, sizeof *s, cmp_double);
	}
	return s;
}

double coren_stats_mean(const double *x, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return n ? sum / (double)n : 0;
}

double coren_stats_stddev(const double *x, size_t n)
{
	double m = coren_stats_mean(x, n), ss = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	return sqrt(ss / (double)(n - 1));
}

double coren_stats_percentile(const double *s, size_t n, double p)
{
	double h, f;
	size_t i;

	if (!n)
		return NAN;
	if (p <= 0)
		return s[0];
	if (p >= 100)
		return s[n - 1];
	h = (double)(n - 1) * p / 100;
	f = floor(h);
	i = (size_t)f;
	return i + 1 < n ? s[i] + (h - f) * (s[i + 1] - s[i]) : s[i];
}

/* ---- the incomplete beta function and Student's t ------------------------ */

/* The continued fraction of I_x(a, b), evaluated by the modified Lentz
 * method; converges quickly for x < (a + 1) / (a + b + 2). */
static double beta_fraction(double a, double b, double x)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 1000; m++) {
		double m2 = 2.0 * m, num, delta;

		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		c = 1 + num / c;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		if (fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		if (fabs(c) < tiny)
			c = tiny;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1) < 1e-15)
			break;
	}
	return h;
}

/* The regularised incomplete beta function I_x(a, b). */
static double inc_beta(double a, double b, double x)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_fraction(a, b, x) / a;
	return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

/* P(|T| >= |t|) for df degrees of freedom, without the cancellation of
 * 1 - cdf. */
static double t_two_sided(double t, double df)
{
	if (isnan(t))
		return NAN;
	if (isinf(t))
		return 0;
	if (isinf(df))
		return erfc(fabs(t) / sqrt(2.0));
	return inc_beta(df / 2, 0.5, df / (df + t * t));
}

double coren_stats_t_cdf(double t, double df)
{
	double tail;

	if (isnan(t) || !(df > 0))
		return NAN;
	tail = t_two_sided(t, df) / 2;
	return t > 0 ? 1 - tail : tail;
}

double coren_stats_t_quantile(double p, double df)
{
	double lo = -1, hi = 1;

	if (!(p > 0 && p < 1) || !(df > 0))
		return NAN;
	if (p == 0.5)
		return 0;
	while (coren_stats_t_cdf(lo, df) > p && lo > -1e300)
		lo *= 2;
	while (coren_stats_t_cdf(hi, df) < p && hi < 1e300)
		hi *= 2;
	for (int i = 0; i < 400 && hi - lo > 1e-15 * fmax(1, fabs(lo)); i++) {
		double mid = lo + (hi - lo) / 2;

		if (coren_stats_t_cdf(mid, df) < p)
			lo = mid;
		else
			hi = mid;
	}
	return lo + (hi - lo) / 2;
}

/* ---- summaries and outliers ----------------------------------------------- */

size_t coren_stats_outliers(const double *x, size_t n, double z, unsigned char *flags)
{
	double *s = sorted_copy(x, n), med, mad;
	size_t count = 0;

	if (!s)
		return (size_t)-1;
	if (flags)
		memset(flags, 0, n);
	med = coren_stats_percentile(s, n, 50);
	for (size_t i = 0; i < n; i++)
		s[i] = fabs(x[i] - med);
	qsort(s, n, sizeof *s, cmp_double);
	mad = coren_stats_percentile(s, n, 50);
	free(s);
	if (!(mad > 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (0.6745 * fabs(x[i] - med) / mad > z) {
			count++;
			if (flags)
				flags[i] = 1;
		}
	}
	return count;
}

enum coren_err coren_stats_summary(const double *x, size_t n, double confidence,
				   struct coren_summary *out, struct coren_error *err)
{
	double *s, half = 0;
	size_t outliers;

	if (!n)
		return coren_error_set(err, COREN_ERR_USAGE, "no values to describe");
	if (!(confidence > 0 && confidence < 1))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "confidence %g is not between 0 and 1", confidence);
	if (!(s = sorted_copy(x, n)) || (outliers = coren_stats_outliers(x, n, COREN_STATS_OUTLIER_Z, NULL)) == (size_t)-1) {
		free(s);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	memset(out, 0, sizeof *out);
	out->n = n;
	out->mean = coren_stats_mean(x, n);
	out->stddev = coren_stats_stddev(x, n);
	out->min = s[0];
	out->max = s[n - 1];
	out->median = coren_stats_percentile(s, n, 50);
	out->q1 = coren_stats_percentile(s, n, 25);
	out->q3 = coren_stats_percentile(s, n, 75);
	out->iqr = out->q3 - out->q1;
	out->cv = out->mean != 0 ? out->stddev / fabs(out->mean) : 0;
	if (n >= 2)
		half = coren_stats_t_quantile((1 + confidence) / 2, (double)(n - 1)) *
		       out->stddev / sqrt((double)n);
	out->ci_lo = out->mean - half;
	out->ci_hi = out->mean + half;
	out->confidence = confidence;
	out->outliers = outliers;
	free(s);
	return COREN_OK;
}

/* ---- two-sample tests -------------------------------------------------------- */

enum coren_err coren_stats_welch_summary(double ma, double sa, size_t na,
					 double mb, double sb, size_t nb,
					 struct coren_test *t, struct coren_error *err)
{
	double va, vb, se2;

	if (na < 2 || nb < 2)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "Welch's test needs 2 values a side (%zu and %zu)", na, nb);
	va = sa * sa / (double)na;
	vb = sb * sb / (double)nb;
	se2 = va + vb;
	memset(t, 0, sizeof *t);
	if (!(se2 > 0)) { /* two constant samples */
		t->statistic = ma == mb ? 0 : ma > mb ? INFINITY : -INFINITY;
		t->df = (double)(na + nb - 2);
		t->p = ma == mb ? 1 : 0;
		return COREN_OK;
	}
	t->statistic = (ma - mb) / sqrt(se2);
	t->df = se2 * se2 / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
	t->p = t_two_sided(t->statistic, t->df);
	return COREN_OK;
}

enum coren_err coren_stats_welch(const double *a, size_t na, const double *b,
				 size_t nb, struct coren_test *t, struct coren_error *err)
{
	return coren_stats_welch_summary(coren_stats_mean(a, na), coren_stats_stddev(a, na), na,
					 coren_stats_mean(b, nb), coren_stats_stddev(b, nb), nb,
					 t, err);
}

double coren_stats_detectable(double sa, size_t na, double sb, size_t nb,
			      double alpha, double power, double *df)
{
	double va, vb, se2, nu;

	if (df)
		*df = NAN;
	if (na < 2 || nb < 2)
		return INFINITY;
	va = sa * sa / (double)na;
	vb = sb * sb / (double)nb;
	se2 = va + vb;
	if (!(se2 > 0))
		return 0;
	nu = se2 * se2 / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
	if (df)
		*df = nu;
	return (coren_stats_t_quantile(1 - alpha / 2, nu) +
		coren_stats_t_quantile(power, nu)) * sqrt(se2);
}

struct ranked {
	double v;
	int from_a;
};

static int cmp_ranked(const void *x, const void *y)
{
	return cmp_double(&((const struct ranked *)x)->v, &((const struct ranked *)y)->v);
}

/* Exact two-sided p of U = u for samples of m and n without ties: the
 * rank-sum distribution counted by choosing m of the m + n ranks. */
static double exact_p(double u, size_t m, size_t n, struct coren_error *err, int *ok)
{
	size_t N = m + n, max = N * (N + 1) / 2, shift = m * (m + 1) / 2;
	double *dp = calloc((m + 1) * (max + 1), sizeof *dp), total = 0, le = 0, ge = 0;

	*ok = dp != NULL;
	if (!dp) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return NAN;
	}
	dp[0] = 1;
	for (size_t r = 1; r <= N; r++)
		for (size_t k = r < m ? r : m; k >= 1; k--)
			for (size_t s = max; s >= r; s--)
				dp[k * (max + 1) + s] += dp[(k - 1) * (max + 1) + s - r];
	for (size_t s = shift; s <= max; s++) {
		double c = dp[m * (max + 1) + s], us = (double)(s - shift);

		total += c;
		if (us <= u + 1e-9)
			le += c;
		if (us >= u - 1e-9)
			ge += c;
	}
	free(dp);
	return fmin(1, 2 * fmin(le, ge) / total);
}

enum coren_err coren_stats_mann_whitney(const double *a, size_t na,
					const double *b, size_t nb,
					struct coren_test *t, struct coren_error *err)
{
	size_t N = na + nb, i = 0;
	struct ranked *r;
	double ra = 0, ties = 0, u, mu, sigma2, d;

	if (!na || !nb)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the Mann-Whitney test needs values on both sides");
	if (!(r = malloc(N * sizeof *r)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < na; k++)
		r[k] = (struct ranked){a[k], 1};
	for (size_t k = 0; k < nb; k++)
		r[na + k] = (struct ranked){b[k], 0};
	qsort(r, N, sizeof *r, cmp_ranked);
	while (i < N) { /* average ranks over runs of ties */
		size_t j = i;
		double rank;

		while (j + 1 < N && r[j + 1].v == r[i].v)
			j++;
		rank = (double)(i + j + 2) / 2;
		for (size_t k = i; k <= j; k++)
			if (r[k].from_a)
				ra += rank;
		if (j > i)
			ties += pow((double)(j - i + 1), 3) - (double)(j - i + 1);
		i = j + 1;
	}
	free(r);
	u = ra - (double)na * (double)(na + 1) / 2;
	memset(t, 0, sizeof *t);
	t->statistic = u;
	if (!ties && na * nb <= 2500) {
		int ok;

		t->p = exact_p(u, na, nb, err, &ok);
		t->exact = 1;
		return ok ? COREN_OK : COREN_ERR_NOMEM;
	}
	mu = (double)na * (double)nb / 2;
	sigma2 = (double)na * (double)nb / 12 *
		 ((double)(N + 1) - ties / ((double)N * (double)(N - 1)));
	d = fabs(u - mu) - 0.5;
	t->p = sigma2 > 0 ? (d > 0 ? erfc(d / sqrt(sigma2) / sqrt(2.0)) : 1) : 1;
	return COREN_OK;
}

/* ---- power-law fits ----------------------------------------------------------- */

enum coren_err coren_stats_power_fit(const double *size, const double *value,
				     size_t n, struct coren_fit *f,
				     struct coren_error *err)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, res = 0;

	if (n < 2)
		return coren_error_set(err, COREN_ERR_USAGE, "a fit needs 2 points or more");
	for (size_t i = 0; i < n; i++) {
		if (!(size[i] > 0) || !(value[i] > 0))
			return coren_error_set(err, COREN_ERR_USAGE,
					       "point %zu: size %g and value %g must be positive",
					       i + 1, size[i], value[i]);
		mx += log(size[i]);
		my += log(value[i]);
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double dx = log(size[i]) - mx, dy = log(value[i]) - my;

		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (!(sxx > 0))
		return coren_error_set(err, COREN_ERR_USAGE, "a fit needs two different sizes");
	f->exponent = sxy / sxx;
	f->coefficient = exp(my - f->exponent * mx);
	for (size_t i = 0; i < n; i++) {
		double e = log(value[i]) - (my + f->exponent * (log(size[i]) - mx));

		res += e * e;
	}
	f->r2 = syy > 0 ? 1 - res / syy : 1;
	f->quality = f->r2 >= 0.99 ? "excellent" : f->r2 >= 0.95 ? "good"
		   : f->r2 >= 0.80 ? "fair" : "poor";
	return COREN_OK;
}
