/* hyperfine's exports of command timings: JSON, CSV and markdown
 * (--export-json, --export-csv, --export-markdown), written atomically. */
#include "config.h"

#include <coren/bench.h>
#include <coren/buf.h>
#include <coren/file.h>
#include <coren/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double num(const json_t *r, const char *k)
{
	const json_t *v = json_object_get(r, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *r, const char *k)
{
	const char *s = json_string_value(json_object_get(r, k));

	return s ? s : "";
}

static bool is_time(const json_t *r)
{
	return !strcmp(str(r, "metric"), "time");
}

/* One result of hyperfine's JSON: command, mean, stddev, median, user,
 * system, min, max, times, exit_codes, parameters. */
static json_t *result(const json_t *r)
{
	json_t *o = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:O}", "command",
			      str(r, "workload"), "mean", num(r, "mean"), "stddev",
			      num(r, "stddev"), "median", num(r, "median"), "user",
			      isfinite(num(r, "user")) ? num(r, "user") : 0.0, "system",
			      isfinite(num(r, "system")) ? num(r, "system") : 0.0, "min",
			      num(r, "min"), "max", num(r, "max"), "times",
			      json_object_get(r, "samples"));
	const json_t *v;

	if (!o)
		return NULL;
	if ((v = json_object_get(r, "exit_codes")))
		json_object_set_new(o, "exit_codes", json_deep_copy(v));
	if ((v = json_object_get(r, "parameters")))
		json_object_set_new(o, "parameters", json_deep_copy(v));
	return o;
}

static enum coren_err export_json(struct coren_buf *b, const json_t *recs)
{
	json_t *doc = json_object(), *arr = json_array(), *r;
	enum coren_err rc = COREN_ERR_NOMEM;
	size_t i;
	char *s;

	if (!doc || !arr || json_object_set(doc, "results", arr))
		goto out;
	json_array_foreach(recs, i, r)
		if (is_time(r) && json_array_append_new(arr, result(r)))
			goto out;
	if ((s = coren_json_dumps(doc, 0))) {
		rc = coren_buf_printf(b, "%s\n", s);
		free(s);
	}
out:
	json_decref(arr);
	json_decref(doc);
	return rc;
}

/* A CSV field, quoted when it must be (RFC 4180). */
static enum coren_err csv_field(struct coren_buf *b, const char *s)
{
	enum coren_err rc = COREN_OK;

	if (!strpbrk(s, ",\"\n"))
		return coren_buf_printf(b, "%s", s);
	rc |= coren_buf_printf(b, "\"");
	for (; *s && !rc; s++)
		rc = coren_buf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
	return rc ? rc : coren_buf_printf(b, "\"");
}

static enum coren_err export_csv(struct coren_buf *b, const json_t *recs)
{
	const json_t *first = NULL, *r;
	json_t *v, *params;
	const char *k;
	size_t i;
	enum coren_err rc;

	json_array_foreach(recs, i, r)
		if (is_time(r) && !first)
			first = r;
	/* a copy: jansson iterates over non-const objects only */
	params = first ? json_deep_copy(json_object_get(first, "parameters")) : NULL;
	rc = coren_buf_printf(b, "command,mean,stddev,median,user,system,min,max");
	json_object_foreach(params, k, v)
		rc = rc ? rc : coren_buf_printf(b, ",parameter_%s", k);
	rc = rc ? rc : coren_buf_printf(b, "\n");
	json_array_foreach(recs, i, r) {
		if (!is_time(r) || rc)
			continue;
		rc = csv_field(b, str(r, "workload"));
		rc = rc ? rc
			: coren_buf_printf(b, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g",
					   num(r, "mean"), num(r, "stddev"),
					   num(r, "median"),
					   isfinite(num(r, "user")) ? num(r, "user") : 0,
					   isfinite(num(r, "system")) ? num(r, "system") : 0,
					   num(r, "min"), num(r, "max"));
		json_object_foreach(params, k, v) {
			const char *pv = str(json_object_get(r, "parameters"), k);

			rc = rc ? rc : coren_buf_printf(b, ",");
			rc = rc ? rc : csv_field(b, pv);
		}
		rc = rc ? rc : coren_buf_printf(b, "\n");
	}
	json_decref(params);
	return rc;
}

/* hyperfine's markdown: the unit of the fastest mean (ms below 1 s). */
static enum coren_err export_markdown(struct coren_buf *b, const json_t *recs)
{
	double fastest = INFINITY, scale;
	const char *unit;
	const json_t *r, *rel;
	enum coren_err rc;
	size_t i;

	json_array_foreach(recs, i, r)
		if (is_time(r) && num(r, "mean") < fastest)
			fastest = num(r, "mean");
	scale = fastest < 1 ? 1e3 : 1;
	unit = fastest < 1 ? "ms" : "s";
	rc = coren_buf_printf(b, "| Command | Mean [%s] | Min [%s] | Max [%s] | Relative |\n"
				 "|:---|---:|---:|---:|---:|\n", unit, unit, unit);
	json_array_foreach(recs, i, r) {
		if (!is_time(r) || rc)
			continue;
		rel = json_object_get(r, "relative");
		rc = coren_buf_printf(b, "| `%s` | %.1f ± %.1f | %.1f | %.1f | ",
				      str(r, "workload"), num(r, "mean") * scale,
				      num(r, "stddev") * scale, num(r, "min") * scale,
				      num(r, "max") * scale);
		if (!rc && rel && num(rel, "ratio") != 1)
			rc = coren_buf_printf(b, "%.2f ± %.2f |\n", num(rel, "ratio"),
					      num(rel, "stddev"));
		else if (!rc)
			rc = coren_buf_printf(b, "1.00 |\n");
	}
	return rc;
}

enum coren_err coren_bench_export(const char *path, enum coren_bench_export_kind k,
				  const json_t *recs, struct coren_error *err)
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, 0);
	rc = k == COREN_BENCH_EXPORT_JSON  ? export_json(&b, recs)
	     : k == COREN_BENCH_EXPORT_CSV ? export_csv(&b, recs)
					   : export_markdown(&b, recs);
	if (rc) {
		coren_buf_release(&b);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	rc = coren_file_replace(path, b.data ? b.data : "", b.len, 0644, err);
	coren_buf_release(&b);
	return rc;
}
