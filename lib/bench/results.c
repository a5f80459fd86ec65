/* bench and regression records, comparisons, baselines, --analyze input. */
#include "config.h"

#include <coren/bench.h>
#include <coren/buf.h>
#include <coren/file.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/stats.h>
#include <coren/version.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum coren_err nomem(struct coren_error *err)
{
	return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

/* A double as JSON: a number, or null when not finite. */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *coren_bench_record(const struct coren_bench_set *s, double confidence,
			   const char *machine, struct coren_error *err)
{
	struct coren_summary m;
	json_t *rec, *xs;
	size_t i;
	int bad = 0;

	if (coren_stats_summary(s->x, s->n, confidence, &m, err))
		return NULL;
	if (!(rec = coren_record_new("bench")) || !(xs = json_array())) {
		json_decref(rec);
		nomem(err);
		return NULL;
	}
	for (i = 0; i < s->n; i++)
		bad |= json_array_append_new(xs, num(s->x[i]));
	bad |= json_object_set_new(rec, "workload", json_string(s->workload));
	if (s->size)
		bad |= json_object_set_new(rec, "size", coren_json_u64(s->size));
	bad |= json_object_set_new(rec, "backend", json_string(s->backend));
	bad |= json_object_set_new(rec, "metric", json_string(s->metric));
	bad |= json_object_set_new(rec, "unit", json_string(s->unit));
	bad |= json_object_set_new(rec, "n", coren_json_u64(m.n));
	bad |= json_object_set_new(rec, "mean", num(m.mean));
	bad |= json_object_set_new(rec, "median", num(m.median));
	bad |= json_object_set_new(rec, "stddev", num(m.stddev));
	bad |= json_object_set_new(rec, "min", num(m.min));
	bad |= json_object_set_new(rec, "max", num(m.max));
	bad |= json_object_set_new(rec, "q1", num(m.q1));
	bad |= json_object_set_new(rec, "q3", num(m.q3));
	bad |= json_object_set_new(rec, "iqr", num(m.iqr));
	bad |= json_object_set_new(rec, "cv", num(m.cv));
	bad |= json_object_set_new(rec, "ci_lo", num(m.ci_lo));
	bad |= json_object_set_new(rec, "ci_hi", num(m.ci_hi));
	bad |= json_object_set_new(rec, "confidence", json_real(m.confidence));
	bad |= json_object_set_new(rec, "outliers", coren_json_u64(m.outliers));
	bad |= json_object_set_new(rec, "detectable",
				   num(coren_bench_detectable(NULL, s->x, s->n)));
	if (s->stop)
		bad |= json_object_set_new(rec, "stop", json_string(s->stop));
	if (s->iterations)
		bad |= json_object_set_new(rec, "iterations", coren_json_u64(s->iterations));
	bad |= json_object_set_new(rec, "samples", xs);
	bad |= json_object_set_new(rec, "version", json_string(coren_version()));
	if (machine)
		bad |= json_object_set_new(rec, "machine", json_string(machine));
	if (bad) {
		json_decref(rec);
		nomem(err);
		return NULL;
	}
	return rec;
}

enum coren_err coren_bench_record_samples(const json_t *rec, double **x, size_t *n,
					  struct coren_error *err)
{
	const json_t *a = json_object_get(rec, "samples"), *v;
	size_t i;

	*x = NULL;
	*n = 0;
	if (json_is_array(a) && json_array_size(a) > 0) {
		if (!(*x = malloc(json_array_size(a) * sizeof **x)))
			return nomem(err);
		json_array_foreach(a, i, v) {
			if (!json_is_number(v)) {
				free(*x);
				*x = NULL;
				return coren_error_set(err, COREN_ERR_RECORD,
						       "field 'samples' holds a "
						       "non-number at index %zu", i);
			}
			(*x)[i] = json_number_value(v);
		}
		*n = json_array_size(a);
		return COREN_OK;
	}
	if (!json_is_number(json_object_get(rec, "mean")) ||
	    !json_is_integer(json_object_get(rec, "n")))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "bench record has neither 'samples' nor 'n' "
				       "and 'mean'");
	*n = (size_t)json_integer_value(json_object_get(rec, "n"));
	return COREN_OK;
}

char *coren_bench_key(const json_t *rec)
{
	const char *w = json_string_value(json_object_get(rec, "workload"));
	const char *b = json_string_value(json_object_get(rec, "backend"));
	const char *m = json_string_value(json_object_get(rec, "metric"));
	json_t *size = json_object_get(rec, "size");
	char *key;

	if (!w || !m)
		return NULL;
	if (asprintf(&key, "%s|%.0f|%s|%s", w,
		     json_is_number(size) ? json_number_value(size) : 0.0,
		     b ? b : "", m) < 0)
		return NULL;
	return key;
}

bool coren_bench_higher_is_better(const char *metric)
{
	size_t n = strlen(metric);

	return !strcmp(metric, "throughput") || !strcmp(metric, "ops") ||
	       (n > 6 && !strcmp(metric + n - 6, "_per_s"));
}

bool coren_bench_deterministic(const char *metric)
{
	return !strcmp(metric, "instructions");
}

const char *coren_bench_verdict_name(enum coren_bench_verdict v)
{
	static const char *const names[] = {"unchanged", "improved", "regression",
					    "inconclusive"};

	return v <= COREN_BENCH_INCONCLUSIVE ? names[v] : "unknown";
}

/* mean, stddev and n of a bench record, from its samples when it has
 * them (then *x holds them, malloc'd). */
static enum coren_err moments(const json_t *rec, double *mean, double *sd, size_t *n,
			      double **x, struct coren_error *err)
{
	enum coren_err rc;

	if ((rc = coren_bench_record_samples(rec, x, n, err)))
		return rc;
	if (*x) {
		*mean = coren_stats_mean(*x, *n);
		*sd = coren_stats_stddev(*x, *n);
	} else {
		*mean = json_number_value(json_object_get(rec, "mean"));
		*sd = json_number_value(json_object_get(rec, "stddev"));
	}
	return COREN_OK;
}

enum coren_err coren_bench_compare(const json_t *base, const json_t *cur,
				   double threshold, double alpha,
				   struct coren_bench_cmp *c, struct coren_error *err)
{
	const char *metric = json_string_value(json_object_get(cur, "metric"));
	double sb, sc, *xb = NULL, *xc = NULL, worse;
	struct coren_test t;
	size_t nb, nc;
	enum coren_err rc;

	memset(c, 0, sizeof *c);
	c->p_mw = NAN;
	c->power = COREN_BENCH_POWER;
	if (!metric)
		return coren_error_set(err, COREN_ERR_RECORD, "bench record has no 'metric'");
	if ((rc = moments(base, &c->base, &sb, &nb, &xb, err)) ||
	    (rc = moments(cur, &c->cur, &sc, &nc, &xc, err)))
		goto out;
	if (!(c->base > 0) || !isfinite(c->base) || !isfinite(c->cur)) {
		rc = coren_error_set(err, COREN_ERR_RECORD,
				     "cannot compare: baseline mean %g, current %g",
				     c->base, c->cur);
		goto out;
	}
	c->change = (c->cur - c->base) / c->base;
	c->n_base = nb;
	c->n_cur = nc;
	c->deterministic = coren_bench_deterministic(metric);
	c->detectable = c->deterministic ? 0
			: coren_stats_detectable(sb, nb, sc, nc, alpha, c->power,
						 NULL) / c->base;
	if (c->deterministic) {
		c->p = fabs(c->change) > threshold ? 0 : 1;
	} else if (nb >= 2 && nc >= 2) {
		rc = xb && xc ? coren_stats_welch(xb, nb, xc, nc, &t, err)
			      : coren_stats_welch_summary(c->base, sb, nb, c->cur, sc,
							  nc, &t, err);
		if (rc)
			goto out;
		c->p = t.p;
		if (xb && xc && !coren_stats_mann_whitney(xb, nb, xc, nc, &t, err))
			c->p_mw = t.p;
	} else {
		c->p = NAN; /* one sample: no test, never significant */
	}
	worse = coren_bench_higher_is_better(metric) ? -c->change : c->change;
	if (fabs(c->change) > threshold && c->p < alpha)
		c->verdict = worse > 0 ? COREN_BENCH_REGRESSION : COREN_BENCH_IMPROVED;
	else if (!(c->detectable <= threshold))
		c->verdict = COREN_BENCH_INCONCLUSIVE;
out:
	free(xb);
	free(xc);
	return rc;
}

static json_t *comparison(const struct coren_bench_cmp *c, double threshold)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:o,s:f,s:s}", "mean",
			 num(c->base), "n", coren_json_u64(c->n_base), "current", num(c->cur), "change",
			 num(c->change), "p", num(c->p), "p_mw", num(c->p_mw),
			 "threshold", threshold, "detectable", num(c->detectable),
			 "power", c->power, "verdict",
			 coren_bench_verdict_name(c->verdict));
}

enum coren_err coren_bench_annotate(json_t *cur, const struct coren_bench_cmp *c,
				    double threshold, struct coren_error *err)
{
	json_t *o = comparison(c, threshold);

	if (!o || json_object_set_new(cur, "baseline", o))
		return nomem(err);
	return COREN_OK;
}

json_t *coren_bench_regression_record(const json_t *cur,
				      const struct coren_bench_cmp *c,
				      double threshold)
{
	static const char *const keys[] = {"workload", "size", "backend", "metric", "unit"};
	json_t *rec = coren_record_new("regression"), *o;
	size_t i;

	if (!rec)
		return NULL;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if ((o = json_object_get(cur, keys[i])))
			json_object_set(rec, keys[i], o);
	if (json_object_set_new(rec, "current", num(c->cur)) ||
	    json_object_set_new(rec, "change", num(c->change)) ||
	    json_object_set_new(rec, "p", num(c->p)) ||
	    json_object_set_new(rec, "p_mw", num(c->p_mw)) ||
	    json_object_set_new(rec, "threshold", json_real(threshold)) ||
	    json_object_set_new(rec, "detectable", num(c->detectable)) ||
	    json_object_set_new(rec, "baseline", comparison(c, threshold)) ||
	    json_object_set_new(rec, "test",
				json_string(c->deterministic ? "threshold" : "welch"))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

enum coren_err coren_bench_baseline_load(const char *path, json_t **map,
					 char **machine, struct coren_error *err)
{
	struct coren_reader *r;
	enum coren_err rc;
	json_t *rec;
	FILE *f;
	char *key;
	double *x;
	size_t n;

	*map = NULL;
	*machine = NULL;
	if (!(f = fopen(path, "r")))
		return coren_error_set(err, errno == ENOENT ? COREN_ERR_NOTFOUND
							    : COREN_ERR_IO,
				       "cannot open baseline '%s': %s", path,
				       strerror(errno));
	if (!(r = coren_reader_new(f, path, 0)) || !(*map = json_object())) {
		coren_reader_free(r);
		fclose(f);
		return nomem(err);
	}
	while (!(rc = coren_reader_next(r, &rec, err)) && rec) {
		const char *t = coren_record_type(rec), *m;

		if (strcmp(t, "bench")) { /* other records may share the file */
			json_decref(rec);
			continue;
		}
		if (!(key = coren_bench_key(rec)) ||
		    (rc = coren_bench_record_samples(rec, &x, &n, err))) {
			if (!key)
				coren_error_set(err, COREN_ERR_RECORD, "bench record "
						"without 'workload' or 'metric'");
			rc = err->code;
			coren_reader_locate(r, err);
			json_decref(rec);
			break;
		}
		free(x);
		m = json_string_value(json_object_get(rec, "machine"));
		if (m && !*machine)
			*machine = strdup(m);
		json_object_set_new(*map, key, rec);
		free(key);
	}
	coren_reader_free(r);
	fclose(f);
	if (!rc)
		return COREN_OK;
	json_decref(*map);
	*map = NULL;
	free(*machine);
	*machine = NULL;
	return rc;
}

enum coren_err coren_bench_baseline_save(const char *path, const json_t *recs,
					 struct coren_error *err)
{
	struct coren_buf b;
	enum coren_err rc;
	const json_t *rec;
	size_t i;
	char *s;

	coren_buf_init(&b, 0);
	json_array_foreach(recs, i, rec) {
		if (strcmp(coren_record_type(rec), "bench"))
			continue;
		if (!(s = coren_json_dumps(rec, 0)) ||
		    coren_buf_printf(&b, "%s\n", s)) {
			free(s);
			coren_buf_release(&b);
			return nomem(err);
		}
		free(s);
	}
	rc = coren_file_replace(path, b.data ? b.data : "", b.len, 0644, err);
	coren_buf_release(&b);
	return rc;
}
