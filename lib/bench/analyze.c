/* --analyze: timing records grouped into samples; scaling fits. */
#include "config.h"

#include <coren/bench.h>
#include <coren/record.h>
#include <coren/stats.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct group {
	char *key, *workload, *backend, *metric, *unit;
	uint64_t size;
	double *x;
	size_t n, alloc;
};

struct coren_bench_collect {
	struct group *g;
	size_t n, alloc;
	json_t *index; /* key -> position in g */
};

struct coren_bench_collect *coren_bench_collect_new(void)
{
	struct coren_bench_collect *c = calloc(1, sizeof *c);

	if (c && !(c->index = json_object())) {
		free(c);
		return NULL;
	}
	return c;
}

void coren_bench_collect_free(struct coren_bench_collect *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		struct group *g = &c->g[i];

		free(g->key), free(g->workload), free(g->backend);
		free(g->metric), free(g->unit), free(g->x);
	}
	free(c->g);
	json_decref(c->index);
	free(c);
}

static const char *str(const json_t *rec, const char *k)
{
	return json_string_value(json_object_get(rec, k));
}

/* The group of these keys, made when new; NULL on ENOMEM. */
static struct group *group_for(struct coren_bench_collect *c, const char *w,
			       uint64_t size, const char *b, const char *m,
			       const char *unit)
{
	struct group *g;
	json_t *at;
	char *key;

	if (asprintf(&key, "%s|%llu|%s|%s", w, (unsigned long long)size, b, m) < 0)
		return NULL;
	if ((at = json_object_get(c->index, key))) {
		free(key);
		return &c->g[json_integer_value(at)];
	}
	if (c->n == c->alloc) {
		size_t na = c->alloc ? 2 * c->alloc : 8;
		struct group *ng = realloc(c->g, na * sizeof *ng);

		if (!ng) {
			free(key);
			return NULL;
		}
		c->g = ng;
		c->alloc = na;
	}
	g = &c->g[c->n];
	memset(g, 0, sizeof *g);
	g->key = key;
	g->size = size;
	if (!(g->workload = strdup(w)) || !(g->backend = strdup(b)) ||
	    !(g->metric = strdup(m)) || !(g->unit = strdup(unit)) ||
	    json_object_set_new(c->index, key, json_integer((json_int_t)c->n))) {
		free(g->workload), free(g->backend), free(g->metric), free(g->unit);
		free(key);
		return NULL;
	}
	c->n++;
	return g;
}

static int push(struct group *g, double v)
{
	if (g->n == g->alloc) {
		size_t na = g->alloc ? 2 * g->alloc : 16;
		double *nx = realloc(g->x, na * sizeof *nx);

		if (!nx)
			return -1;
		g->x = nx;
		g->alloc = na;
	}
	g->x[g->n++] = v;
	return 0;
}

/* The values of rec: its "samples" or "times" array, or "time" or
 * "value" alone. Returns the count, 0 when none, -1 for a bad one. */
static long values(const json_t *rec, const json_t **arr, double *one,
		   const char **field)
{
	static const char *const arrays[] = {"samples", "times"};
	static const char *const scalars[] = {"time", "seconds", "value"};
	const json_t *v;
	size_t i, j;

	*arr = NULL;
	for (i = 0; i < 2; i++)
		if ((v = json_object_get(rec, arrays[i]))) {
			*field = arrays[i];
			if (!json_is_array(v) || !json_array_size(v))
				return -1;
			for (j = 0; j < json_array_size(v); j++)
				if (!json_is_number(json_array_get(v, j)))
					return -1;
			*arr = v;
			return (long)json_array_size(v);
		}
	for (i = 0; i < 3; i++)
		if ((v = json_object_get(rec, scalars[i]))) {
			*field = scalars[i];
			if (!json_is_number(v) || !isfinite(json_number_value(v)))
				return -1;
			*one = json_number_value(v);
			return 1;
		}
	return 0;
}

enum coren_err coren_bench_collect_add(struct coren_bench_collect *c,
				       const json_t *rec, struct coren_error *err)
{
	const char *w, *b, *m, *unit, *field = "time";
	const json_t *arr, *sz;
	struct group *g;
	double one = 0;
	uint64_t size = 0;
	long k, i;

	if (json_is_array(json_object_get(rec, "results"))) { /* hyperfine's JSON */
		const json_t *res;
		enum coren_err rc;

		json_array_foreach(json_object_get(rec, "results"), i, res)
			if ((rc = coren_bench_collect_add(c, res, err)))
				return rc;
		return COREN_OK;
	}
	if (json_is_number(rec)) { /* a bare number: seconds */
		one = json_number_value(rec);
		k = 1;
		arr = NULL;
	} else if (!json_is_object(rec)) {
		return coren_error_set(err, COREN_ERR_RECORD,
				       "not a timing record (a JSON object or number)");
	} else if ((k = values(rec, &arr, &one, &field)) <= 0) {
		return k ? coren_error_set(err, COREN_ERR_RECORD,
					   "field '%s' is not a number or an array "
					   "of numbers", field)
			 : coren_error_set(err, COREN_ERR_RECORD,
					   "no timing: want 'samples', 'times', 'time', "
					   "'seconds' or 'value'");
	}
	w = json_is_object(rec) ? str(rec, "workload") : NULL;
	if (!w && json_is_object(rec) && !(w = str(rec, "name")))
		w = str(rec, "command");
	if (!w)
		w = "stdin";
	b = json_is_object(rec) && str(rec, "backend") ? str(rec, "backend") : "";
	m = json_is_object(rec) ? str(rec, "metric") : NULL;
	unit = json_is_object(rec) ? str(rec, "unit") : NULL;
	if (!m)
		m = !strcmp(field, "value") ? "value" : "time";
	if (!unit)
		unit = !strcmp(m, "time") ? "s" : "";
	sz = json_is_object(rec) ? json_object_get(rec, "size") : NULL;
	if (sz && (!json_is_number(sz) || json_number_value(sz) < 0))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field 'size' is not a non-negative number");
	if (sz)
		size = (uint64_t)json_number_value(sz);
	if (!(g = group_for(c, w, size, b, m, unit)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (i = 0; i < k; i++)
		if (push(g, arr ? json_number_value(json_array_get(arr, (size_t)i)) : one))
			return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return COREN_OK;
}

json_t *coren_bench_collect_records(const struct coren_bench_collect *c,
				    double confidence, const char *machine,
				    struct coren_error *err)
{
	json_t *out = json_array(), *rec;
	size_t i;

	if (!out) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < c->n; i++) {
		const struct group *g = &c->g[i];
		struct coren_bench_set s = {g->workload, g->backend, g->metric, g->unit,
					    g->size, 0, g->x, g->n, NULL};

		if (!(rec = coren_bench_record(&s, confidence, machine, err)) ||
		    json_array_append_new(out, rec)) {
			json_decref(out);
			return NULL;
		}
		if (!*g->backend)
			json_object_del(rec, "backend");
	}
	return out;
}

/* Whether rec is a time record of workload w. */
static bool time_of(const json_t *rec, const char *w)
{
	const char *m = str(rec, "metric"), *rw = str(rec, "workload");

	return m && rw && !strcmp(m, "time") && !strcmp(rw, w);
}

void coren_bench_add_scaling(json_t *recs)
{
	size_t i, j, n, cap = json_array_size(recs);
	double *size = malloc((cap + 1) * sizeof *size);
	double *mean = malloc((cap + 1) * sizeof *mean);
	struct coren_error err;
	struct coren_fit f;
	const char *w;
	json_t *q, *fit;

	for (i = 0; size && mean && i < cap; i++) {
		w = str(json_array_get(recs, i), "workload");
		/* once per workload: at its first time record */
		for (j = 0; w && j < i && !time_of(json_array_get(recs, j), w); j++)
			;
		if (!w || j < i || !time_of(json_array_get(recs, i), w))
			continue;
		for (n = 0, j = i; j < cap; j++) {
			q = json_array_get(recs, j);
			if (time_of(q, w) && json_is_number(json_object_get(q, "size"))) {
				size[n] = json_number_value(json_object_get(q, "size"));
				mean[n++] = json_number_value(json_object_get(q, "mean"));
			}
		}
		if (n < 2 || coren_stats_power_fit(size, mean, n, &f, &err))
			continue;
		for (j = i; j < cap; j++) {
			q = json_array_get(recs, j);
			if (time_of(q, w) &&
			    (fit = json_pack("{s:f,s:f,s:f,s:s}", "exponent", f.exponent,
					     "coefficient", f.coefficient, "r2", f.r2,
					     "quality", f.quality)))
				json_object_set_new(q, "scaling", fit);
		}
	}
	free(size);
	free(mean);
}
