/* Parameters of commands (-L, --parameter-scan, --sizes with --cmd) and
 * the relative speed of commands (hyperfine's summary). */
#include "config.h"

#include <coren/bench.h>
#include <coren/buf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static enum coren_err nomem(struct coren_error *err)
{
	return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

static enum coren_err push(struct coren_bench_param *p, const char *v, size_t len,
			   struct coren_error *err)
{
	char **nv;

	if (p->n == COREN_BENCH_PARAM_MAX)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "parameter '%s': more than %d values", p->name,
				       COREN_BENCH_PARAM_MAX);
	if (!(nv = realloc(p->values, (p->n + 1) * sizeof *nv)) ||
	    !(nv[p->n] = strndup(v, len))) {
		if (nv)
			p->values = nv;
		return nomem(err);
	}
	p->values = nv;
	p->n++;
	return COREN_OK;
}

static enum coren_err named(const char *name, struct coren_bench_param *p,
			    struct coren_error *err)
{
	memset(p, 0, sizeof *p);
	if (!*name || strpbrk(name, "{} \t"))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "'%s' is not a parameter name", name);
	return (p->name = strdup(name)) ? COREN_OK : nomem(err);
}

enum coren_err coren_bench_param_list(const char *name, const char *list,
				      struct coren_bench_param *p,
				      struct coren_error *err)
{
	enum coren_err rc;
	const char *at = list, *comma;

	if ((rc = named(name, p, err)))
		return rc;
	do {
		comma = strchr(at, ',');
		if ((rc = push(p, at, comma ? (size_t)(comma - at) : strlen(at), err)))
			return rc;
		at = comma + 1;
	} while (comma);
	return COREN_OK;
}

/* The decimals of a number as written ("0.25": 2). */
static int decimals(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot ? (int)strspn(dot + 1, "0123456789") : 0;
}

enum coren_err coren_bench_param_scan(const char *name, const char *min,
				      const char *max, const char *step,
				      struct coren_bench_param *p,
				      struct coren_error *err)
{
	char *e1, *e2, *e3, v[64];
	double lo = strtod(min, &e1), hi = strtod(max, &e2);
	double d = step ? strtod(step, &e3) : 1;
	int places = step ? decimals(step) : 0;
	enum coren_err rc;
	long k, n;

	if ((rc = named(name, p, err)))
		return rc;
	if (!*min || *e1 || !*max || *e2 || (step && (!*step || *e3)) || !(d > 0) ||
	    !(hi >= lo) || !isfinite(hi - lo))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--parameter-scan %s: want MIN <= MAX and a "
				       "step above 0, not '%s' '%s'%s%s", name, min, max,
				       step ? " -D " : "", step ? step : "");
	if (!step && (lo != floor(lo) || hi != floor(hi)))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--parameter-scan %s: decimal bounds need a "
				       "step (-D)", name);
	n = (long)floor((hi - lo) / d + 1e-9) + 1;
	if (n > COREN_BENCH_PARAM_MAX)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "parameter '%s': more than %d values", name,
				       COREN_BENCH_PARAM_MAX);
	for (k = 0; k < n; k++) {
		snprintf(v, sizeof v, "%.*f", places, lo + (double)k * d);
		if ((rc = push(p, v, strlen(v), err)))
			return rc;
	}
	return COREN_OK;
}

void coren_bench_param_release(struct coren_bench_param *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->values[i]);
	free(p->values);
	free(p->name);
	memset(p, 0, sizeof *p);
}

char *coren_bench_substitute(const char *tmpl, const struct coren_bench_param *ps,
			     size_t np, const size_t *at)
{
	struct coren_buf b;
	size_t i, len;

	coren_buf_init(&b, 0);
	while (*tmpl) {
		for (i = 0; i < np; i++) {
			len = strlen(ps[i].name);
			if (tmpl[0] == '{' && !strncmp(tmpl + 1, ps[i].name, len) &&
			    tmpl[1 + len] == '}')
				break;
		}
		if (i < np) {
			if (coren_buf_printf(&b, "%s", ps[i].values[at[i]]))
				goto fail;
			tmpl += strlen(ps[i].name) + 2;
		} else if (coren_buf_printf(&b, "%c", *tmpl++)) {
			goto fail;
		}
	}
	if (coren_buf_printf(&b, "%s", ""))
		goto fail;
	return b.data ? b.data : strdup(""); /* handed over */
fail:
	coren_buf_release(&b);
	return NULL;
}

/* ---- relative speed --------------------------------------------------- */

static double num(const json_t *r, const char *k)
{
	return json_number_value(json_object_get(r, k));
}

static bool is_time(const json_t *r)
{
	const char *m = json_string_value(json_object_get(r, "metric"));

	return m && !strcmp(m, "time") && num(r, "mean") > 0;
}

enum coren_err coren_bench_relative(json_t *recs, struct coren_error *err)
{
	const json_t *fast = NULL;
	json_t *r, *o;
	size_t i, n = 0;

	json_array_foreach(recs, i, r)
		if (is_time(r)) {
			n++;
			if (!fast || num(r, "mean") < num(fast, "mean"))
				fast = r;
		}
	if (n < 2)
		return COREN_OK;
	json_array_foreach(recs, i, r) {
		double ratio, a, b;

		if (!is_time(r))
			continue;
		ratio = num(r, "mean") / num(fast, "mean");
		a = num(r, "stddev") / num(r, "mean");
		b = num(fast, "stddev") / num(fast, "mean");
		o = json_pack("{s:O,s:f,s:f}", "to", json_object_get(fast, "workload"),
			      "ratio", ratio, "stddev",
			      r == fast ? 0.0 : ratio * sqrt(a * a + b * b));
		if (!o || json_object_set_new(r, "relative", o))
			return nomem(err);
	}
	return COREN_OK;
}
