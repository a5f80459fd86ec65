/* lines.c - result and error records: the one writer, and the check that
 * a chunk's lines are exactly the records of its points. A line read from
 * a chunk reaches the output only through memo_check_lines(), so no file
 * can make swarm-run print a line computed for another point. */
#include "config.h"

#include "memo_int.h"

#include <coren/json.h>

#include <stdlib.h>
#include <string.h>

#define RESULT_HEAD "{\"type\":\"result\",\"point\":"
#define ERROR_HEAD "{\"type\":\"error\",\"point\":"
#define VALUE_KEY ",\"value\":"

enum coren_err memo_result_line(const struct coren_memo_plan *p,
				const size_t *vidx, const char *value,
				size_t len, struct coren_buf *b)
{
	enum coren_err rc = coren_buf_append(b, RESULT_HEAD,
					     sizeof RESULT_HEAD - 1);

	if (!rc)
		rc = coren_memo_plan_point_text(p, vidx, b);
	if (!rc)
		rc = coren_buf_append(b, VALUE_KEY, sizeof VALUE_KEY - 1);
	if (!rc)
		rc = coren_buf_append(b, value, len);
	if (!rc)
		rc = coren_buf_append(b, "}\n", 2);
	return rc;
}

enum coren_err memo_error_line(const struct coren_memo_plan *p,
			       const size_t *vidx, const char *reason,
			       struct coren_buf *b)
{
	enum coren_err rc = coren_buf_append(b, ERROR_HEAD,
					     sizeof ERROR_HEAD - 1);

	if (!rc)
		rc = coren_memo_plan_point_text(p, vidx, b);
	if (!rc)
		rc = coren_buf_append(b, ",\"reason\":", 10);
	if (!rc)
		rc = coren_json_dump_string(reason, strlen(reason), b);
	if (!rc)
		rc = coren_buf_append(b, "}\n", 2);
	return rc;
}

/* The fixed texts of a result line, one segment before each axis's value
 * and one after the last: RESULT_HEAD "{" key0 ":", then "," key ":" per
 * further axis, then "}" VALUE_KEY. They match what
 * coren_memo_plan_point_text() writes around the values. */
enum coren_err memo_line_check_init(struct memo_line_check *c,
				    const struct coren_memo_plan *p)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	size_t na = coren_memo_plan_naxes(p);
	enum coren_err rc = COREN_OK;

	c->p = p;
	c->naxes = na;
	coren_buf_init(&c->seg, 0);
	c->bin = malloc((2 * na + 2) * sizeof *c->bin);
	if (!c->bin)
		return COREN_ERR_NOMEM;
	c->seg_off = c->bin + na;
	rc = coren_buf_append(&c->seg, RESULT_HEAD "{", sizeof RESULT_HEAD);
	for (size_t a = 0; !rc && a < na; a++) {
		const char *name = coren_memo_plan_axis_name(p, a);

		c->bin[a] = e->axes[a].bin;
		if (a)
			rc = coren_buf_putc(&c->seg, ',');
		if (!rc)
			rc = coren_json_dump_string(name, strlen(name), &c->seg);
		if (!rc)
			rc = coren_buf_putc(&c->seg, ':');
		c->seg_off[a + 1] = c->seg.len;
	}
	c->seg_off[0] = 0;
	if (!rc)
		rc = coren_buf_append(&c->seg, "}" VALUE_KEY, sizeof VALUE_KEY);
	c->seg_off[na + 1] = c->seg.len;
	return rc;
}

void memo_line_check_release(struct memo_line_check *c)
{
	free(c->bin);
	c->bin = NULL;
	coren_buf_release(&c->seg);
}

/* Whether the n bytes at *at begin with t (tn bytes); moves *at past it. */
static bool take(const char **at, size_t *n, const char *t, size_t tn)
{
	if (*n < tn || memcmp(*at, t, tn))
		return false;
	*at += tn;
	*n -= tn;
	return true;
}

/* Whether line (n bytes, its '\n' included) is the result record of the
 * point vidx: the exact prefix, then a value, then "}\n". */
static bool line_ok(const struct memo_line_check *c, const size_t *vidx,
		    const char *line, size_t n, bool parse)
{
	const char *at = line, *seg = c->seg.data;
	size_t vlen;

	for (size_t a = 0; a < c->naxes; a++) {
		const char *v = coren_memo_plan_value_text(c->p, a, vidx[a], &vlen);

		if (!take(&at, &n, seg + c->seg_off[a],
			  c->seg_off[a + 1] - c->seg_off[a]) ||
		    !take(&at, &n, v, vlen))
			return false;
	}
	if (!take(&at, &n, seg + c->seg_off[c->naxes],
		  c->seg_off[c->naxes + 1] - c->seg_off[c->naxes]) ||
	    n < 3 || at[n - 2] != '}')
		return false;
	if (parse) {
		struct coren_error e = {0};
		json_t *j = coren_json_parse(at, n - 2, &e);

		json_decref(j);
		return j != NULL;
	}
	return true;
}

/* The next point of a chunk, row-major over lens from first (value
 * indices), last axis fastest: coren_memo_plan_point()'s order. */
static void next_point(size_t na, const size_t *first, const size_t *lens,
		       size_t *vidx)
{
	for (size_t a = na; a-- > 0;) {
		if (++vidx[a] < first[a] + lens[a])
			return;
		vidx[a] = first[a];
	}
}

static enum coren_err bad_line(struct coren_error *err, uint64_t i)
{
	return coren_error_set(err, COREN_ERR_CORRUPT,
			       "line %llu is not the result of its point",
			       (unsigned long long)i + 1);
}

enum coren_err memo_check_lines(const struct memo_line_check *c,
				const size_t *bins, const size_t *lens,
				const char *content, size_t len,
				uint64_t npoints, size_t *line_off, bool parse,
				struct coren_error *err)
{
	size_t na = c->naxes, *first = malloc((3 * na + 1) * sizeof *first);
	size_t *vidx = first + na, *own = vidx + na, pos = 0;
	enum coren_err rc = COREN_OK;

	if (!first)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (!lens) {
		coren_memo_plan_chunk_lens(c->p, bins, own);
		lens = own;
	}
	for (size_t a = 0; a < na; a++)
		vidx[a] = first[a] = bins[a] * c->bin[a];
	for (uint64_t i = 0; !rc && i < npoints; i++) {
		const char *nl = pos < len ? memchr(content + pos, '\n',
						    len - pos)
					   : NULL;
		size_t n = nl ? (size_t)(nl - (content + pos)) + 1 : 0;

		if (!nl || !line_ok(c, vidx, content + pos, n, parse))
			rc = bad_line(err, i);
		if (line_off)
			line_off[i] = pos;
		pos += n;
		next_point(na, first, lens, vidx);
	}
	if (!rc && pos != len)
		rc = coren_error_set(err, COREN_ERR_CORRUPT,
				     "more than %llu lines",
				     (unsigned long long)npoints);
	if (line_off)
		line_off[npoints] = pos;
	free(first);
	return rc;
}
