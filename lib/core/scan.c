/* scan.c - an allocation-free scanner for flat records (coren/record.h).
 *
 * The fast path of filters: a line that is a JSON object of plain values
 * (ASCII strings without escapes, numbers, true, false, null) is split
 * into fields without building a json_t. Anything else, valid or not, is
 * refused (-1), and the caller takes the full parser, which also explains
 * every error. So the scanner only has to be right about what it accepts.
 */
#include "config.h"

#include <coren/json.h>
#include <coren/record.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A plain string at p ('"' included): its end after the closing quote, or
 * NULL for escapes, control or non-ASCII bytes, or no closing quote. */
static const char *plain_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return NULL;
	}
	return NULL;
}

/* A JSON number at p: its end, or NULL if the grammar is not followed. */
static const char *number(const char *p, const char *end)
{
	const char *d;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (p < end && *p == '.') {
		for (d = ++p; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p == d)
			return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		for (d = p; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p == d)
			return NULL;
	}
	return p;
}

/* Whether the number [p, q) is one the full parser takes: an integer in
 * [-2^63, 2^64-1], or a real that does not overflow. */
static int number_ok(const char *p, const char *q)
{
	struct coren_field f = {NULL, 0, p, (size_t)(q - p), 'n'};
	const char *r = p;
	uint64_t u;
	char buf[64];
	double d;

	while (r < q && *r != '.' && *r != 'e' && *r != 'E') /* one pass: */
		r++; /* numbers are short, three memchr calls cost more */
	if (r == q) {
		if (*p != '-')
			return coren_field_u64(&f, &u) == 0;
		f.val++;
		f.vlen--;
		return coren_field_u64(&f, &u) == 0 && u <= (uint64_t)1 << 63;
	}
	if ((size_t)(q - p) >= sizeof buf)
		return 0;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	return !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
}

static const char *literal(const char *p, const char *end, char *kind)
{
	static const struct {
		const char *word;
		char kind;
	} words[] = {{"true", 'b'}, {"false", 'b'}, {"null", 'z'}};
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i].word);
		if ((size_t)(end - p) >= n && !memcmp(p, words[i].word, n)) {
			*kind = words[i].kind;
			return p + n;
		}
	}
	return NULL;
}

/* An array of numbers at p ('['), nothing nested: its end, or NULL. */
static const char *number_array(const char *p, const char *end)
{
	const char *q;

	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;;) {
		if (!(q = number(p, end)) || !number_ok(p, q))
			return NULL;
		p = skip_ws(q, end);
		if (p < end && *p == ']')
			return p + 1;
		if (p == end || *p != ',')
			return NULL;
		p = skip_ws(p + 1, end);
	}
}

/* ---- any JSON value, strictly -------------------------------------------- */

#define VALUE_DEPTH 64 /* deeper: refused (the parser takes 2048) */
#define VALUE_KEYS 128 /* keys of the objects open at once */

/* A string at p ('"'), escapes allowed but for \u0000 and surrogates (or,
 * for a key, any escape: keys are compared as bytes), well-formed UTF-8:
 * its end after the closing quote, or NULL. */
static const char *any_string(const char *p, const char *end, int key)
{
	const char *s = ++p;
	int high = 0;

	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return !high || coren_json_utf8_valid(s, (size_t)(p - s)) ? p + 1 : NULL;
		if (c < 0x20 || (c == '\\' && (key || end - p < 2)))
			return NULL;
		high |= c >= 0x80;
		if (c != '\\')
			continue;
		c = (unsigned char)*++p;
		if (c == 'u') {
			unsigned v = 0;

			if (end - p < 5)
				return NULL;
			for (int i = 1; i <= 4; i++) {
				char h = p[i];

				if (h >= '0' && h <= '9')
					v = v * 16 + (unsigned)(h - '0');
				else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
					v = v * 16 + (unsigned)((h | 0x20) - 'a' + 10);
				else
					return NULL;
			}
			if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
				return NULL; /* refused, or paired: the parser decides */
			p += 4;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return NULL;
		}
	}
	return NULL;
}

struct key_span {
	const char *k;
	size_t n;
};

/* A member's key at p, not one of keys[from, *nkeys) (duplicates are
 * refused), then ':': past the whitespace after it, or NULL. */
static const char *member_key(const char *p, const char *end, struct key_span *keys,
			      int *nkeys, int from)
{
	const char *q;

	if (p >= end || *p != '"' || !(q = any_string(p, end, 1)) || *nkeys == VALUE_KEYS)
		return NULL;
	for (int i = from; i < *nkeys; i++)
		if (keys[i].n == (size_t)(q - p) && !memcmp(keys[i].k, p, keys[i].n))
			return NULL;
	keys[*nkeys].k = p;
	keys[(*nkeys)++].n = (size_t)(q - p);
	p = skip_ws(q, end);
	return p < end && *p == ':' ? skip_ws(p + 1, end) : NULL;
}

/* A scalar at p: its end, or NULL. */
static const char *any_scalar(const char *p, const char *end)
{
	const char *q;
	char kind;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return any_string(p, end, 0);
	if (*p == '-' || (*p >= '0' && *p <= '9'))
		return (q = number(p, end)) && number_ok(p, q) ? q : NULL;
	return literal(p, end, &kind);
}

size_t coren_json_scan(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	char open[VALUE_DEPTH];
	int keys_at[VALUE_DEPTH], depth = 0, nkeys = 0;
	struct key_span keys[VALUE_KEYS];

	for (;;) { /* a value starts at p */
		if (p < end && (*p == '{' || *p == '[')) {
			if (depth == VALUE_DEPTH)
				return 0;
			open[depth] = *p == '{' ? '}' : ']';
			keys_at[depth++] = nkeys;
			p = skip_ws(p + 1, end);
			if (p < end && *p == open[depth - 1]) {
				nkeys = keys_at[--depth];
				p++;
			} else if (open[depth - 1] == ']' ||
				   (p = member_key(p, end, keys, &nkeys, keys_at[depth - 1]))) {
				continue; /* the first element's value */
			} else {
				return 0;
			}
		} else if (!(p = any_scalar(p, end))) {
			return 0;
		}
		for (;;) { /* after a value: the end, a close or a ',' */
			if (!depth)
				return (size_t)(p - s);
			p = skip_ws(p, end);
			if (p < end && *p == open[depth - 1]) {
				nkeys = keys_at[--depth];
				p++;
				continue;
			}
			if (p >= end || *p != ',')
				return 0;
			p = skip_ws(p + 1, end);
			if (open[depth - 1] == '}' &&
			    !(p = member_key(p, end, keys, &nkeys, keys_at[depth - 1])))
				return 0;
			break;
		}
	}
}

/* ---- records ----------------------------------------------------------------- */

/* mode: 0 flat, 1 and arrays of numbers, 2 and any value (kind 'j'). */
static int scan(const char *line, size_t len, struct coren_field *f, int max,
		int mode)
{
	const char *p = line, *end = line + len, *q;
	int n = 0, i;

	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return -1;
	p = skip_ws(p, end);
	if (p < end && *p == '}')
		p++;
	else
		for (;;) {
			if (n == max || p == end || *p != '"' ||
			    !(q = plain_string(p, end)))
				return -1;
			f[n].key = p + 1;
			f[n].klen = (size_t)(q - p) - 2;
			for (i = 0; i < n; i++) /* duplicate keys: refused */
				if (f[i].klen == f[n].klen &&
				    !memcmp(f[i].key, f[n].key, f[n].klen))
					return -1;
			p = skip_ws(q, end);
			if (p == end || *p++ != ':')
				return -1;
			p = skip_ws(p, end);
			if (p == end)
				return -1;
			if (*p == '"') {
				q = plain_string(p, end);
				f[n].kind = 's';
			} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
				q = number(p, end);
				if (q && !number_ok(p, q))
					q = NULL;
				f[n].kind = 'n';
			} else if (mode && *p == '[' && (q = number_array(p, end))) {
				f[n].kind = 'a';
			} else if (mode == 2 && (*p == '[' || *p == '{')) {
				size_t k = coren_json_scan(p, (size_t)(end - p));

				q = k ? p + k : NULL;
				f[n].kind = 'j';
			} else if (*p == '[') {
				q = NULL;
			} else {
				q = literal(p, end, &f[n].kind);
			}
			if (!q)
				return -1;
			f[n].val = f[n].kind == 's' ? p + 1 : p;
			f[n].vlen = (size_t)(q - p) - (f[n].kind == 's' ? 2 : 0);
			n++;
			p = skip_ws(q, end);
			if (p < end && *p == ',') {
				p = skip_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			return -1;
		}
	return skip_ws(p, end) == end ? n : -1;
}

int coren_record_scan_flat(const char *line, size_t len,
			   struct coren_field *f, int max)
{
	return scan(line, len, f, max, 0);
}

int coren_record_scan_vectors(const char *line, size_t len,
			      struct coren_field *f, int max)
{
	return scan(line, len, f, max, 1);
}

int coren_record_scan_values(const char *line, size_t len,
			     struct coren_field *f, int max)
{
	return scan(line, len, f, max, 2);
}

const struct coren_field *coren_field_find(const struct coren_field *f, int n,
					   const char *key)
{
	size_t k = strlen(key);
	int i;

	for (i = 0; i < n; i++)
		if (f[i].klen == k && !memcmp(f[i].key, key, k))
			return &f[i];
	return NULL;
}

int coren_field_u64(const struct coren_field *f, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!f || f->kind != 'n' || !f->vlen || f->vlen > 20 || f->val[0] == '-')
		return -1;
	for (i = 0; i < f->vlen; i++) {
		unsigned d = (unsigned char)f->val[i] - '0';

		if (d > 9 || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, d, &v))
			return -1;
	}
	*out = v;
	return 0;
}

int coren_field_is(const struct coren_field *f, const char *s)
{
	size_t n = strlen(s);

	return f && f->kind == 's' && f->vlen == n && !memcmp(f->val, s, n);
}
