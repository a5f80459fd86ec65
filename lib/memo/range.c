/* range.c - the values of an axis given as a range (A..B[..STEP], YAML
 * {from, to, step}), made on demand and never listed: a range of 10M
 * values costs these few bytes, where a list of them cost ~600 MB of
 * json_t and the plan's texts. Value i is exactly what the list written
 * out gives (exp.c states the rule): the same JSON value, so the same
 * canonical text and the same chunk ids. */
#include "config.h"

#include <coren/json.h>

#include "memo_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The double nearest to x * 10^e10, read from that decimal text by
 * strtod: exactly the double a list of the same values would give. */
double memo_decimal_double(__int128 x, long e10)
{
	char buf[64], *p = buf + 40;
	unsigned __int128 u =
	    x < 0 ? -(unsigned __int128)x : (unsigned __int128)x;

	*p = '\0';
	do
		*--p = (char)('0' + (int)(u % 10));
	while ((u /= 10) && p > buf + 1);
	if (x < 0)
		*--p = '-';
	snprintf(buf + 40, sizeof buf - 40, "e%ld", e10);
	return strtod(p, NULL);
}

/* The exact value i, an integer (of 10^e10 for a real range). */
static __int128 exact(const struct coren_memo_range *r, size_t i)
{
	return r->start + (__int128)i * r->step;
}

json_t *memo_range_value(const struct coren_memo_range *r, size_t i)
{
	__int128 x = exact(r, i);

	if (r->real)
		return json_real(memo_decimal_double(x, r->e10));
	return x > INT64_MAX ? coren_json_u64((uint64_t)x)
			     : json_integer((json_int_t)x);
}

enum coren_err memo_range_text(const struct coren_memo_range *r, size_t i,
			       struct coren_buf *b)
{
	__int128 x = exact(r, i);
	enum coren_err rc = COREN_OK;

	if (r->real)
		return coren_json_dump_double(memo_decimal_double(x, r->e10),
					      b);
	if (x < 0)
		rc = coren_buf_putc(b, '-');
	return rc ? rc
		  : coren_json_dump_u64(x < 0 ? (uint64_t)-x : (uint64_t)x, b);
}

/* Whether value i's canonical text is the len bytes at text. */
static bool text_is(const struct coren_memo_range *r, size_t i,
		    const char *text, size_t len)
{
	struct coren_buf b;
	bool same;

	coren_buf_init(&b, 0);
	same = !memo_range_text(r, i, &b) && b.len == len &&
	       !memcmp(b.data, text, len);
	coren_buf_release(&b);
	return same;
}

/* An integer's text: [-]digits, at most 20 of them; -1 otherwise. */
static int int_text(const char *t, size_t len, __int128 *out)
{
	size_t i = len && t[0] == '-';
	__int128 v = 0;

	if (i == len || len - i > 20)
		return -1;
	for (; i < len; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	*out = t[0] == '-' ? -v : v;
	return 0;
}

/* The index a real range's value text may have: near where its double
 * lies; text_is() decides. */
static size_t real_guess(const struct coren_memo_range *r, const char *text,
			 size_t len)
{
	char num[64], *end;
	double d, first, step, k;

	if (len >= sizeof num)
		return SIZE_MAX;
	memcpy(num, text, len);
	num[len] = '\0';
	d = strtod(num, &end);
	if (*end || !isfinite(d))
		return SIZE_MAX;
	first = memo_decimal_double(r->start, r->e10);
	step = memo_decimal_double(r->step, r->e10);
	k = nearbyint((d - first) / step);
	if (!(k >= -1 && k <= (double)r->count))
		return SIZE_MAX;
	return k < 0 ? 0 : k >= (double)r->count ? r->count - 1 : (size_t)k;
}

size_t memo_range_find(const struct coren_memo_range *r, const char *text,
		       size_t len)
{
	__int128 x, d;
	size_t k;

	if (!r->real) {
		if (int_text(text, len, &x))
			return SIZE_MAX;
		d = x - r->start;
		if (d % r->step || d / r->step < 0 ||
		    d / r->step >= (__int128)r->count)
			return SIZE_MAX;
		k = (size_t)(d / r->step);
		return text_is(r, k, text, len) ? k : SIZE_MAX;
	}
	if ((k = real_guess(r, text, len)) == SIZE_MAX)
		return SIZE_MAX;
	/* the guess is within one of the value (count <= 10^7 steps) */
	for (size_t i = k ? k - 1 : 0; i <= k + 1 && i < r->count; i++)
		if (text_is(r, i, text, len))
			return i;
	return SIZE_MAX;
}

size_t coren_memo_axis_nvalues(const struct coren_memo_axis *a)
{
	return a->range ? a->range->count : json_array_size(a->values);
}

json_t *coren_memo_axis_value(const struct coren_memo_axis *a, size_t i)
{
	if (a->range)
		return i < a->range->count ? memo_range_value(a->range, i)
					   : NULL;
	return json_incref(json_array_get(a->values, i));
}
