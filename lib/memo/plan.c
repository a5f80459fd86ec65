/* plan.c - memo chunks of a grid: bins, cartesian product, ids. */
#include "config.h"

#include <coren/hash.h>
#include <coren/json.h>
#include <coren/memo.h>

#include "memo_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct plan_axis {
	const char *name;
	size_t nvalues, bin, nbins;
	json_t *values;	 /* borrowed from the experiment */
	const struct coren_memo_range *range; /* the experiment's, or NULL:
					       * values made on demand */
	struct coren_buf text; /* canonical values, back to back: a list's,
				* a range's of at most MEMO_COPY_MAX values */
	size_t *off;	      /* nvalues + 1 offsets into text, or NULL: a large
			       * range's texts are made when asked for */
	struct coren_buf key; /* "name": as JSON */
	struct coren_buf lead; /* what comes before its value in a point's
				* text: {"name": (the first axis) or ,"name": */
};

struct coren_memo_plan {
	const struct coren_memo_exp *exp;
	size_t naxes;
	struct plan_axis *axes;
	uint64_t chunks, points;
	struct coren_buf params; /* canonical */
	struct coren_buf version; /* as a JSON string */
	struct coren_buf fn; /* the function's identity, canonical */
};

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static enum coren_err axis_init(struct plan_axis *pa,
				const struct coren_memo_axis *a)
{
	enum coren_err rc = COREN_OK;

	pa->name = a->name;
	pa->values = a->values;
	pa->range = a->range;
	pa->nvalues = coren_memo_axis_nvalues(a);
	pa->bin = a->bin;
	pa->nbins = (pa->nvalues + pa->bin - 1) / pa->bin;
	coren_buf_init(&pa->text, 0);
	coren_buf_init(&pa->key, 0);
	if (pa->range && pa->nvalues > MEMO_COPY_MAX) /* made when asked */
		return coren_json_dump_string(a->name, strlen(a->name),
					      &pa->key);
	/* a small range's texts too: a real's is costly to make each time */
	pa->off = malloc((pa->nvalues + 1) * sizeof *pa->off);
	if (!pa->off)
		return COREN_ERR_NOMEM;
	for (size_t i = 0; !rc && i < pa->nvalues; i++) {
		pa->off[i] = pa->text.len;
		rc = pa->range ? memo_range_text(pa->range, i, &pa->text)
			       : coren_json_canonical(
				     json_array_get(a->values, i), &pa->text);
	}
	pa->off[pa->nvalues] = pa->text.len;
	if (!rc)
		rc = coren_json_dump_string(a->name, strlen(a->name), &pa->key);
	return rc;
}

enum coren_err coren_memo_plan_new(const struct coren_memo_exp *e,
				   struct coren_memo_plan **out,
				   struct coren_error *err)
{
	struct coren_memo_plan *p = calloc(1, sizeof *p);
	enum coren_err rc = COREN_OK;

	*out = NULL;
	if (!p)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	p->exp = e;
	p->naxes = e->naxes;
	p->axes = calloc(e->naxes ? e->naxes : 1, sizeof *p->axes);
	coren_buf_init(&p->params, 0);
	coren_buf_init(&p->version, 0);
	coren_buf_init(&p->fn, 0);
	p->chunks = p->points = 1;
	if (!p->axes)
		rc = COREN_ERR_NOMEM;
	for (size_t i = 0; !rc && i < e->naxes; i++) {
		struct plan_axis *pa = &p->axes[i];

		rc = axis_init(pa, &e->axes[i]);
		coren_buf_init(&pa->lead, 0);
		if (!rc)
			rc = coren_buf_putc(&pa->lead, i ? ',' : '{');
		if (!rc)
			rc = coren_buf_append(&pa->lead, pa->key.data, pa->key.len);
		if (!rc)
			rc = coren_buf_putc(&pa->lead, ':');
		p->chunks = mul_sat(p->chunks, p->axes[i].nbins);
		p->points = mul_sat(p->points, p->axes[i].nvalues);
	}
	if (!rc)
		rc = coren_json_canonical(e->params, &p->params);
	if (!rc)
		rc = coren_json_dump_string(e->version, strlen(e->version),
					    &p->version);
	if (!rc) /* no function: ids nothing can compute */
		rc = e->fn ? coren_json_canonical(e->fn, &p->fn)
			   : coren_buf_append(&p->fn, "null", 4);
	if (!rc && (p->chunks == UINT64_MAX || p->points == UINT64_MAX))
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "the grid has too many points");
	else if (rc)
		coren_error_set(err, rc, "out of memory");
	if (rc) {
		coren_memo_plan_free(p);
		return rc;
	}
	*out = p;
	return COREN_OK;
}

void coren_memo_plan_free(struct coren_memo_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->axes && i < p->naxes; i++) {
		coren_buf_release(&p->axes[i].text);
		coren_buf_release(&p->axes[i].key);
		coren_buf_release(&p->axes[i].lead);
		free(p->axes[i].off);
	}
	free(p->axes);
	coren_buf_release(&p->params);
	coren_buf_release(&p->version);
	coren_buf_release(&p->fn);
	free(p);
}

uint64_t coren_memo_plan_chunks(const struct coren_memo_plan *p)
{
	return p->chunks;
}

uint64_t coren_memo_plan_points(const struct coren_memo_plan *p)
{
	return p->points;
}

size_t coren_memo_plan_naxes(const struct coren_memo_plan *p)
{
	return p->naxes;
}

const struct coren_memo_exp *coren_memo_plan_exp(const struct coren_memo_plan *p)
{
	return p->exp;
}

const char *coren_memo_plan_axis_name(const struct coren_memo_plan *p, size_t a)
{
	return p->axes[a].name;
}

const char *coren_memo_plan_params_text(const struct coren_memo_plan *p)
{
	return p->params.data ? p->params.data : "{}";
}

/* Value v of pa's canonical text, appended to b. */
static enum coren_err value_append(const struct plan_axis *pa, size_t v,
				   struct coren_buf *b)
{
	if (!pa->off)
		return memo_range_text(pa->range, v, b);
	return coren_buf_append(b, pa->text.data + pa->off[v],
				pa->off[v + 1] - pa->off[v]);
}

enum coren_err coren_memo_plan_value_text(const struct coren_memo_plan *p,
					  size_t a, size_t v,
					  struct coren_buf *b)
{
	return value_append(&p->axes[a], v, b);
}

bool memo_plan_is_range(const struct coren_memo_plan *p, size_t a)
{
	return p->axes[a].range != NULL;
}

void coren_memo_plan_chunk_bins(const struct coren_memo_plan *p, uint64_t c,
				size_t *bins)
{
	for (size_t i = p->naxes; i-- > 0;) {
		bins[i] = (size_t)(c % p->axes[i].nbins);
		c /= p->axes[i].nbins;
	}
}

/* Length of bin b of axis a. */
static size_t bin_len(const struct plan_axis *a, size_t b)
{
	size_t start = b * a->bin;

	return a->nvalues - start < a->bin ? a->nvalues - start : a->bin;
}

size_t coren_memo_plan_nbins(const struct coren_memo_plan *p, size_t a)
{
	return p->axes[a].nbins;
}

void coren_memo_plan_chunk_lens(const struct coren_memo_plan *p,
				const size_t *bins, size_t *lens)
{
	for (size_t a = 0; a < p->naxes; a++)
		lens[a] = bin_len(&p->axes[a], bins[a]);
}

uint64_t coren_memo_plan_chunk_points(const struct coren_memo_plan *p,
				      const size_t *bins)
{
	uint64_t n = 1;

	for (size_t i = 0; i < p->naxes; i++)
		n *= bin_len(&p->axes[i], bins[i]);
	return n;
}

void coren_memo_plan_point(const struct coren_memo_plan *p, const size_t *bins,
			   uint64_t i, size_t *vidx)
{
	for (size_t a = p->naxes; a-- > 0;) {
		size_t len = bin_len(&p->axes[a], bins[a]);

		vidx[a] = bins[a] * p->axes[a].bin + (size_t)(i % len);
		i /= len;
	}
}

/* The chunk key's canonical text: [[axis,[values...]],...]. */
static enum coren_err key_text(const struct coren_memo_plan *p,
			       const size_t *bins, const size_t *lens,
			       struct coren_buf *b)
{
	enum coren_err rc = coren_buf_putc(b, '[');

	for (size_t a = 0; !rc && a < p->naxes; a++) {
		const struct plan_axis *pa = &p->axes[a];
		size_t first = bins[a] * pa->bin;
		size_t n = lens ? lens[a] : bin_len(pa, bins[a]);

		rc = coren_buf_append(b, a ? ",[" : "[", a ? 2 : 1);
		if (!rc)
			rc = coren_buf_append(b, pa->key.data, pa->key.len);
		if (!rc)
			rc = coren_buf_append(b, ",[", 2);
		for (size_t v = first; !rc && v < first + n; v++) {
			if (v > first)
				rc = coren_buf_putc(b, ',');
			if (!rc)
				rc = value_append(pa, v, b);
		}
		if (!rc)
			rc = coren_buf_append(b, "]]", 2);
	}
	if (!rc)
		rc = coren_buf_putc(b, ']');
	return rc;
}

enum coren_err memo_plan_key_text(const struct coren_memo_plan *p,
				  const size_t *bins, const size_t *lens,
				  struct coren_buf *b)
{
	return key_text(p, bins, lens, b);
}

/* {"chunk_key":KEY,"fn":FN,"params":P,"version":V}, or without KEY (key
 * NULL) the function's family: what every chunk of p shares. */
static enum coren_err id_text(const struct coren_memo_plan *p,
			      const char *key, size_t klen, struct coren_buf *b)
{
	enum coren_err rc = coren_buf_putc(b, '{');

	if (!rc && key)
		rc = coren_buf_append(b, "\"chunk_key\":", 12);
	if (!rc && key)
		rc = coren_buf_append(b, key, klen);
	if (!rc)
		rc = coren_buf_append(b, key ? ",\"fn\":" : "\"fn\":",
				      key ? 6 : 5);
	if (!rc)
		rc = coren_buf_append(b, p->fn.data, p->fn.len);
	if (!rc)
		rc = coren_buf_append(b, ",\"params\":", 10);
	if (!rc)
		rc = coren_buf_append(b, coren_memo_plan_params_text(p),
				      strlen(coren_memo_plan_params_text(p)));
	if (!rc)
		rc = coren_buf_append(b, ",\"version\":", 11);
	if (!rc)
		rc = coren_buf_append(b, p->version.data, p->version.len);
	if (!rc)
		rc = coren_buf_putc(b, '}');
	return rc;
}

enum coren_err memo_plan_key_id(const struct coren_memo_plan *p,
				const char *key, size_t len, char hex[65])
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, 0);
	rc = id_text(p, key ? key : "", key ? len : 0, &b);
	if (!rc)
		rc = coren_sha256_hex(b.data, b.len, hex);
	coren_buf_release(&b);
	return rc;
}

enum coren_err memo_plan_family(const struct coren_memo_plan *p,
				char hex[65])
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, 0);
	rc = id_text(p, NULL, 0, &b);
	if (!rc)
		rc = coren_sha256_hex(b.data, b.len, hex);
	coren_buf_release(&b);
	return rc;
}

enum coren_err coren_memo_plan_chunk_id(const struct coren_memo_plan *p,
					const size_t *bins, const size_t *lens,
					char hex[65])
{
	struct coren_buf key;
	enum coren_err rc;

	coren_buf_init(&key, 0);
	rc = key_text(p, bins, lens, &key);
	if (!rc)
		rc = memo_plan_key_id(p, key.data, key.len, hex);
	coren_buf_release(&key);
	return rc;
}

json_t *coren_memo_plan_chunk_key(const struct coren_memo_plan *p,
				  const size_t *bins, const size_t *lens)
{
	json_t *key = json_array();

	for (size_t a = 0; key && a < p->naxes; a++) {
		const struct plan_axis *pa = &p->axes[a];
		size_t first = bins[a] * pa->bin;
		size_t n = lens ? lens[a] : bin_len(pa, bins[a]);
		json_t *vals = json_array();

		for (size_t v = first; vals && v < first + n; v++)
			if (json_array_append_new(vals,
						  memo_plan_value(p, a, v))) {
				json_decref(vals);
				vals = NULL;
			}
		if (!vals || json_array_append_new(
				     key, json_pack("[so]", pa->name, vals))) {
			json_decref(key);
			key = NULL;
		}
	}
	return key;
}

json_t *coren_memo_plan_point_json(const struct coren_memo_plan *p,
				   const size_t *vidx)
{
	json_t *pt = json_object();

	/* copies: the plan's values are shared by every worker, and jansson
	 * reads their reference counts without atomics */
	for (size_t a = 0; pt && a < p->naxes; a++)
		if (json_object_set_new(pt, p->axes[a].name,
					memo_plan_value(p, a, vidx[a]))) {
			json_decref(pt);
			pt = NULL;
		}
	return pt;
}

/* Written twice per point run (the co-process's line, the chunk's):
 * two appends an axis, each axis's lead made once by the plan. A text
 * that does not fit is not written at all. */
enum coren_err coren_memo_plan_point_text(const struct coren_memo_plan *p,
					  const size_t *vidx,
					  struct coren_buf *b)
{
	size_t at = b->len;
	enum coren_err rc = p->naxes ? COREN_OK : coren_buf_putc(b, '{');

	for (size_t a = 0; !rc && a < p->naxes; a++) {
		const struct plan_axis *pa = &p->axes[a];

		rc = coren_buf_append(b, pa->lead.data, pa->lead.len);
		if (!rc)
			rc = value_append(pa, vidx[a], b);
	}
	if (!rc)
		rc = coren_buf_putc(b, '}');
	if (rc && b->data) {
		b->len = at;
		b->data[at] = '\0';
	}
	return rc;
}

size_t coren_memo_plan_nvalues(const struct coren_memo_plan *p, size_t a)
{
	return p->axes[a].nvalues;
}

json_t *memo_plan_value(const struct coren_memo_plan *p, size_t a, size_t v)
{
	const struct plan_axis *pa = &p->axes[a];
	const char *t;
	size_t len, d;
	char num[24], *end;
	long long n;

	if (pa->range)
		return memo_range_value(pa->range, v);
	if (pa->values)
		return json_deep_copy(json_array_get(pa->values, v));
	t = pa->text.data + pa->off[v];
	len = pa->off[v + 1] - pa->off[v];
	d = len && *t == '-';
	/* an integer that fits: made at once (ranges are most large axes);
	 * the texts are back to back: only these len bytes are looked at */
	while (d < len && t[d] >= '0' && t[d] <= '9')
		d++;
	if (len && len < sizeof num && d == len) {
		memcpy(num, t, len);
		num[len] = '\0';
		errno = 0;
		n = strtoll(num, &end, 10);
		if (!errno && *end == '\0')
			return json_integer((json_int_t)n);
	}
	return coren_json_parse(t, len, NULL);
}

void coren_memo_plan_compact(struct coren_memo_plan *p,
			     struct coren_memo_exp *e)
{
	for (size_t a = 0; a < p->naxes && a < e->naxes; a++) {
		struct plan_axis *pa = &p->axes[a];

		if (pa->range || pa->nvalues <= MEMO_COPY_MAX ||
		    pa->values != e->axes[a].values)
			continue;
		json_decref(e->axes[a].values);
		e->axes[a].values = NULL;
		pa->values = NULL;
	}
}

/* ---- points built by one thread (memo_int.h) --------------------------- */

/* This thread's own array of axis a's values (a range's made here). */
static json_t *axis_copy(const struct coren_memo_plan *p, size_t a)
{
	const struct plan_axis *pa = &p->axes[a];
	json_t *arr;

	if (!pa->range)
		return json_deep_copy(pa->values);
	arr = json_array();
	for (size_t v = 0; arr && v < pa->nvalues; v++)
		if (json_array_append_new(arr,
					  memo_range_value(pa->range, v))) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

enum coren_err memo_points_init(struct memo_points *pts,
				const struct coren_memo_plan *p, bool shared)
{
	pts->p = p;
	pts->shared = shared;
	pts->values = shared ? NULL : calloc(p->naxes + 1, sizeof *pts->values);
	if (!shared && !pts->values)
		return COREN_ERR_NOMEM;
	for (size_t a = 0; !shared && a < p->naxes; a++)
		if (p->axes[a].nvalues <= MEMO_COPY_MAX &&
		    !(pts->values[a] = axis_copy(p, a)))
			return COREN_ERR_NOMEM;
	return COREN_OK;
}

void memo_points_release(struct memo_points *pts)
{
	for (size_t a = 0; pts->values && a < pts->p->naxes; a++)
		json_decref(pts->values[a]);
	free(pts->values);
	pts->values = NULL;
}

enum coren_err memo_points_set(const struct memo_points *pts, json_t *point,
			       const size_t *vidx)
{
	const struct coren_memo_plan *p = pts->p;

	for (size_t a = 0; a < p->naxes; a++) {
		json_t *v = json_array_get(p->axes[a].values, vidx[a]);
		int rc;

		if (pts->shared && v)
			rc = json_object_set(point, p->axes[a].name, v);
		else if (!pts->shared && pts->values[a])
			rc = json_object_set(point, p->axes[a].name,
					     json_array_get(pts->values[a],
							    vidx[a]));
		else /* a large axis: a copy, or made from its text */
			rc = json_object_set_new(point, p->axes[a].name,
						 memo_plan_value(p, a, vidx[a]));
		if (rc)
			return COREN_ERR_NOMEM;
	}
	return COREN_OK;
}

json_t *memo_points_json(const struct memo_points *pts, const size_t *vidx)
{
	json_t *pt = json_object();

	if (pt && memo_points_set(pts, pt, vidx)) {
		json_decref(pt);
		pt = NULL;
	}
	return pt;
}
