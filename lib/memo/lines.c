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

/* The hot loop of the cached path compares a few dozen bytes and finds
 * one newline per line: done a word at a time here, without the calls
 * memcmp() and memchr() cost for such short spans. */
static inline uint64_t word(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
	return w;
}

/* 16 bytes at p, for comparing (GCC's and Clang's vector extension: one
 * SSE2 load and compare on x86-64). */
typedef unsigned char bytes16 __attribute__((vector_size(16)));
typedef long long words2 __attribute__((vector_size(16)));

static inline bool same16(const char *a, const char *b)
{
	bytes16 x, y;
	words2 d;

	memcpy(&x, a, 16);
	memcpy(&y, b, 16);
	d = (words2)(x ^ y);
	return !(d[0] | d[1]);
}

/* Whether the n bytes at a and b are equal. */
static inline bool same(const char *a, const char *b, size_t n)
{
	if (n < 16) {
		if (n < 8) /* n may be 0, b then NULL (an empty text) */
			return !n || !memcmp(a, b, n);
		return word(a) == word(b) &&
		       word(a + n - 8) == word(b + n - 8);
	}
	for (size_t i = 0; i + 16 < n; i += 16)
		if (!same16(a + i, b + i))
			return false;
	return same16(a + n - 16, b + n - 16); /* the last 16, overlapping */
}

/* The first newline in the n bytes at p, or NULL. */
static inline const char *newline(const char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101u, nl = ones * '\n';

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t x = word(p) ^ nl;
		uint64_t hit = (x - ones) & ~x & (ones << 7);

		if (hit) /* the lowest flagged byte is the first newline */
			return p + (__builtin_ctzll(hit) >> 3);
	}
#endif
	return memchr(p, '\n', n);
}

/* Whether the n bytes at *at begin with t (tn bytes); moves *at past it. */
static inline bool take(const char **at, size_t *n, const char *t, size_t tn)
{
	if (*n < tn || !same(*at, t, tn))
		return false;
	*at += tn;
	*n -= tn;
	return true;
}

/* What the lines of a chunk must begin with, kept up to date as the check
 * walks the chunk's points: the text before the last axis's value (head,
 * rebuilt when an axis other than the last moves), then one of the last
 * axis's value texts followed by the text after the point (rest, one per
 * value of the chunk, back to back; without axes, one: the text after
 * the head). Two comparisons a line. */
struct expect {
	struct coren_buf head;
	struct coren_buf rest;
	size_t *rest_off; /* values of the last axis + 1 offsets into rest */
};

static enum coren_err head_of(const struct memo_line_check *c,
			      const size_t *vidx, struct expect *x)
{
	const char *seg = c->seg.data;
	enum coren_err rc = COREN_OK;

	x->head.len = 0;
	for (size_t a = 0; !rc && a < c->naxes; a++) {
		rc = coren_buf_append(&x->head, seg + c->seg_off[a],
				      c->seg_off[a + 1] - c->seg_off[a]);
		if (!rc && a + 1 < c->naxes)
			rc = coren_memo_plan_value_text(c->p, a, vidx[a],
							&x->head);
	}
	return rc;
}

/* Whether the line at line (the content's rest, n bytes) is the result
 * record of the point whose last axis's value is the chunk's k-th: the
 * exact prefix, a value, then "}\n". Its length, or 0. */
static size_t line_ok(const struct expect *x, size_t k, const char *line,
		      size_t n, bool parse)
{
	const char *at = line, *nl;

	if (!take(&at, &n, x->head.data, x->head.len) ||
	    !take(&at, &n, x->rest.data + x->rest_off[k],
		  x->rest_off[k + 1] - x->rest_off[k]) ||
	    !(nl = newline(at, n)) || nl - at < 2 || nl[-1] != '}')
		return 0;
	if (parse) {
		struct coren_error e = {0};
		json_t *j = coren_json_parse(at, (size_t)(nl - 1 - at), &e);

		json_decref(j);
		if (!j)
			return 0;
	} else if (coren_json_valid(at, (size_t)(nl - 1 - at)) != 1) {
		return 0; /* one value, not 'null,"point":{...}' */
	}
	return (size_t)(nl + 1 - line);
}

/* The next point of a chunk, row-major over lens from first (value
 * indices), last axis fastest: coren_memo_plan_point()'s order. Returns
 * the first axis that moved. */
static size_t next_point(size_t na, const size_t *first, const size_t *lens,
			 size_t *vidx)
{
	for (size_t a = na; a-- > 0;) {
		if (++vidx[a] < first[a] + lens[a])
			return a;
		vidx[a] = first[a];
	}
	return 0;
}

static enum coren_err bad_line(struct coren_error *err, uint64_t i)
{
	return coren_error_set(err, COREN_ERR_CORRUPT,
			       "line %llu is not the result of its point",
			       (unsigned long long)i + 1);
}

/* Sets up x for the chunk whose points start at first, of lengths lens. */
static enum coren_err expect_init(const struct memo_line_check *c,
				  const size_t *first, const size_t *lens,
				  struct expect *x)
{
	size_t na = c->naxes, nl = na ? lens[na - 1] : 1;
	const char *tail = c->seg.data + c->seg_off[na];
	enum coren_err rc = COREN_OK;

	coren_buf_init(&x->head, 0);
	coren_buf_init(&x->rest, 0);
	x->rest_off = malloc((nl + 1) * sizeof *x->rest_off);
	if (!x->rest_off)
		return COREN_ERR_NOMEM;
	x->rest_off[0] = 0;
	for (size_t k = 0; !rc && k < nl; k++) {
		if (na)
			rc = coren_memo_plan_value_text(
			    c->p, na - 1, first[na - 1] + k, &x->rest);
		if (!rc)
			rc = coren_buf_append(&x->rest, tail,
					      c->seg_off[na + 1] -
						      c->seg_off[na]);
		x->rest_off[k + 1] = x->rest.len;
	}
	return rc ? rc : head_of(c, first, x);
}

static void expect_release(struct expect *x)
{
	coren_buf_release(&x->head);
	coren_buf_release(&x->rest);
	free(x->rest_off);
}

/* Checks the lines of content; the chunk's geometry set up in x. The
 * last axis moves fastest: only when it wraps do the others move and the
 * head change. */
static enum coren_err walk(const struct memo_line_check *c, struct expect *x,
			   size_t *first, const size_t *lens, size_t *vidx,
			   const char *content, size_t len, uint64_t npoints,
			   size_t *line_off, bool parse, struct coren_error *err)
{
	size_t na = c->naxes, nlast = na ? lens[na - 1] : 1, pos = 0, k = 0;
	enum coren_err rc = COREN_OK;

	for (uint64_t i = 0; !rc && i < npoints; i++) {
		size_t n = line_ok(x, k, content + pos, len - pos, parse);

		if (!n)
			return bad_line(err, i);
		if (line_off)
			line_off[i] = pos;
		pos += n;
		if (++k < nlast)
			continue;
		k = 0;
		if (na > 1) {
			vidx[na - 1] = first[na - 1] + nlast - 1;
			next_point(na, first, lens, vidx);
			rc = head_of(c, vidx, x);
		}
	}
	if (!rc && pos != len)
		rc = coren_error_set(err, COREN_ERR_CORRUPT,
				     "more than %llu lines",
				     (unsigned long long)npoints);
	if (line_off)
		line_off[npoints] = pos;
	return rc == COREN_ERR_NOMEM
		       ? coren_error_set(err, rc, "out of memory")
		       : rc;
}

enum coren_err memo_check_lines(const struct memo_line_check *c,
				const size_t *bins, const size_t *lens,
				const char *content, size_t len,
				uint64_t npoints, size_t *line_off, bool parse,
				struct coren_error *err)
{
	size_t na = c->naxes, *first = malloc((3 * na + 1) * sizeof *first);
	size_t *vidx = first + na, *own = vidx + na;
	struct expect x = {0};
	enum coren_err rc = first ? COREN_OK : COREN_ERR_NOMEM;

	if (!rc && !lens) {
		coren_memo_plan_chunk_lens(c->p, bins, own);
		lens = own;
	}
	for (size_t a = 0; !rc && a < na; a++)
		vidx[a] = first[a] = bins[a] * c->bin[a];
	if (!rc)
		rc = expect_init(c, first, lens, &x);
	if (!rc)
		rc = walk(c, &x, first, lens, vidx, content, len, npoints,
			  line_off, parse, err);
	else
		coren_error_set(err, rc, "out of memory");
	expect_release(&x);
	free(first);
	return rc;
}
