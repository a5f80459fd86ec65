/* json.c - exact unsigned integers on jansson, coren's serializer and
 * canonical JSON (coren/json.h). */
#include "config.h"

#include <coren/hash.h>
#include <coren/json.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of a u64 box, or -1 if v is not one. A box holds a decimal
 * above INT64_MAX: smaller values are plain integers. */
static int box_value(const json_t *v, uint64_t *out)
{
	const json_t *s;
	const char *t;
	char *end;
	unsigned long long u;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return -1;
	s = json_object_get(v, COREN_JSON_U64_KEY);
	if (!json_is_string(s))
		return -1;
	t = json_string_value(s);
	if (t[0] < '1' || t[0] > '9' || strlen(t) > 20)
		return -1;
	errno = 0;
	u = strtoull(t, &end, 10);
	if (errno || *end || u <= INT64_MAX)
		return -1;
	*out = u;
	return 0;
}

/* Whether the n digits at s (a '-' first allowed) fit the range of
 * int64 (or, with unsigned_ok and no sign, uint64). */
static int digits_fit(const char *s, size_t n, int unsigned_ok)
{
	char buf[24], *end;

	if (n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (unsigned_ok && buf[0] != '-')
		(void)strtoull(buf, &end, 10);
	else
		(void)strtoll(buf, &end, 10);
	return !errno && !*end;
}

/* Whether the n bytes at s spell a JSON integer: -?(0|[1-9][0-9]*). */
static int integer_text(const char *s, size_t n)
{
	size_t i = n && s[0] == '-';

	if (i == n || (s[i] == '0' && n > i + 1))
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The digits of a big-integer box, or NULL if v is not one. Its digits
 * are an integer beyond both int64 and uint64 (so each integer has exactly
 * one form: plain, u64 box or this) of at most COREN_JSON_INT_DIGITS_MAX
 * digits. */
static const char *bigint_digits(const json_t *v, size_t *len)
{
	const json_t *s;
	const char *t;
	size_t n;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	s = json_object_get(v, COREN_JSON_INT_KEY);
	if (!json_is_string(s))
		return NULL;
	t = json_string_value(s);
	n = json_string_length(s);
	if (!integer_text(t, n) || n - (t[0] == '-') > COREN_JSON_INT_DIGITS_MAX ||
	    digits_fit(t, n, 1))
		return NULL;
	*len = n;
	return t;
}

/* The value of a float box ("nan", "inf", "-inf"), or -1. */
static int float_box(const json_t *v, double *out)
{
	const char *t;

	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    !(t = json_string_value(json_object_get(v, COREN_JSON_FLOAT_KEY))))
		return -1;
	if (!strcmp(t, "nan"))
		*out = NAN;
	else if (!strcmp(t, "inf") || !strcmp(t, "-inf"))
		*out = t[0] == '-' ? -INFINITY : INFINITY;
	else
		return -1;
	return 0;
}

/* The reserved key of a one-key object, or NULL. */
static const char *reserved_key(const json_t *v)
{
	static const char *const keys[] = {COREN_JSON_U64_KEY, COREN_JSON_INT_KEY,
					   COREN_JSON_FLOAT_KEY};

	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (json_object_get(v, keys[i]))
			return keys[i];
	return NULL;
}

static int valid_box(const json_t *v)
{
	uint64_t u;
	size_t n;
	double d;

	return box_value(v, &u) == 0 || bigint_digits(v, &n) ||
	       float_box(v, &d) == 0;
}

enum coren_err coren_json_check_boxes(const json_t *v, struct coren_error *err)
{
	const char *key = reserved_key(v), *k;
	size_t i;
	json_t *x;

	if (key && !valid_box(v)) {
		char *text = coren_json_dumps(v, 0);
		size_t n = text ? strlen(text) : 0;

		if (n > 80) /* cut at a character boundary: reasons are UTF-8 */
			for (n = 80; (text[n] & 0xc0) == 0x80; n--)
				;
		coren_error_set(err, COREN_ERR_RECORD,
				"value %.*s%s is not a valid '%s' box", (int)n,
				text ? text : "", text && text[n] ? "..." : "", key);
		free(text);
		return COREN_ERR_RECORD;
	}
	if (key)
		return COREN_OK;
	if (json_is_array(v))
		for (i = 0; i < json_array_size(v); i++)
			if (coren_json_check_boxes(json_array_get(v, i), err))
				return COREN_ERR_RECORD;
	if (json_is_object(v))
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			if (coren_json_check_boxes(x, err))
				return COREN_ERR_RECORD;
	return COREN_OK;
}

json_t *coren_json_float(double v)
{
	if (isfinite(v))
		return json_real(v);
	return json_pack("{s:s}", COREN_JSON_FLOAT_KEY,
			 isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

json_t *coren_json_u64(uint64_t v)
{
	char digits[24];
	json_t *box;

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(digits, sizeof digits, "%" PRIu64, v);
	box = json_object();
	if (box && json_object_set_new(box, COREN_JSON_U64_KEY,
				       json_string(digits))) {
		json_decref(box);
		return NULL;
	}
	return box;
}

int coren_json_get_u64(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	return box_value(v, out);
}

int coren_json_get_double(const json_t *v, double *out)
{
	uint64_t u;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (box_value(v, &u) == 0) {
		*out = (double)u;
		return 0;
	}
	return -1;
}

/* Length of the JSON number token at s (0 if none); loose: jansson
 * judges its syntax, this only finds its end. */
static size_t number_token(const char *s, const char *end)
{
	const char *p = s;

	while (p < end && (*p == '-' || *p == '+' || *p == '.' || *p == 'e' ||
			   *p == 'E' || (*p >= '0' && *p <= '9')))
		p++;
	return (size_t)(p - s);
}

/* Sets err (its first refusal only: the one to name) and returns OK, so
 * that scanning goes on: the refusal stands only if the rest is JSON. */
static enum coren_err refuse(struct coren_error *err, const char *p, size_t n,
			     const char *why)
{
	if (!err->code)
		coren_error_set(err, COREN_ERR_RECORD, "value %.*s%s %s",
				(int)(n > 40 ? 40 : n), p, n > 40 ? "..." : "",
				why);
	return COREN_OK;
}

/* Appends the number token p (n bytes) in the form jansson can read: an
 * integer beyond int64 as a u64 or big-integer box. A real that overflows
 * a double, or an integer of too many digits, is refused in err and
 * replaced by 0 (a placeholder that keeps the syntax). */
static enum coren_err box_number(const char *p, size_t n, int *boxed,
				 struct coren_buf *out, struct coren_error *err)
{
	size_t digits = n - (p[0] == '-');
	char *copy;
	double d;

	if (integer_text(p, n)) {
		if (digits_fit(p, n, 0))
			return coren_buf_append(out, p, n);
		(*boxed)++;
		if (digits > COREN_JSON_INT_DIGITS_MAX) {
			refuse(err, p, n, "has more than 4300 digits");
			return coren_buf_putc(out, '0');
		}
		return coren_buf_printf(out, "{\"%s\":\"%.*s\"}",
					digits_fit(p, n, 1) ? COREN_JSON_U64_KEY
							    : COREN_JSON_INT_KEY,
					(int)n, p);
	}
	copy = strndup(p, n);
	if (!copy)
		return COREN_ERR_NOMEM;
	d = strtod(copy, NULL);
	free(copy);
	if (!isinf(d))
		return coren_buf_append(out, p, n);
	(*boxed)++;
	refuse(err, p, n, "is not a finite double");
	return coren_buf_putc(out, '0');
}

/* The float box for Python's spellings NaN, Infinity, -Infinity at p, or
 * NULL; its length in *n. */
static const char *nonfinite_token(const char *p, const char *end, size_t *n)
{
	static const char *const tok[] = {"NaN", "Infinity", "-Infinity"};
	static const char *const box[] = {"nan", "inf", "-inf"};

	for (size_t i = 0; i < 3; i++) {
		*n = strlen(tok[i]);
		if ((size_t)(end - p) >= *n && !memcmp(p, tok[i], *n))
			return box[i];
	}
	return NULL;
}

/* Copies text with every integer beyond int64 replaced by a box (and,
 * with COREN_JSON_NONFINITE, NaN/Infinity/-Infinity by float boxes), so
 * that jansson can read it; *boxed counts replacements. */
static enum coren_err box_tokens(const char *text, size_t len, unsigned flags,
				 int *boxed, struct coren_buf *out,
				 struct coren_error *err)
{
	const char *p = text, *end = text + len, *box;
	int in_string = 0;
	enum coren_err rc = COREN_OK;
	size_t n;

	while (p < end && !rc) {
		if (in_string) {
			if (*p == '\\' && p + 1 < end) {
				rc = coren_buf_append(out, p, 2);
				p += 2;
				continue;
			}
			in_string = *p != '"';
			rc = coren_buf_putc(out, *p++);
		} else if (*p == '"') {
			in_string = 1;
			rc = coren_buf_putc(out, *p++);
		} else if ((flags & COREN_JSON_NONFINITE) &&
			   (box = nonfinite_token(p, end, &n))) {
			(*boxed)++;
			rc = coren_buf_printf(out, "{\"%s\":\"%s\"}",
					      COREN_JSON_FLOAT_KEY, box);
			p += n;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			n = number_token(p, end);
			rc = box_number(p, n ? n : 1, boxed, out, err);
			p += n ? n : 1;
		} else {
			rc = coren_buf_putc(out, *p++);
		}
	}
	return rc;
}

static json_t *load(const char *text, size_t len, json_error_t *jerr)
{
	return json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			  jerr);
}

/* Parses text that jansson refused as it was, boxing what it cannot hold
 * (box_tokens). NULL with err set: a refused value if the rest is JSON,
 * else jansson's complaint (about the boxed text: columns may be off by
 * the boxes' lengths, which is rare and still points near). */
static json_t *load_boxed(const char *text, size_t len, unsigned flags,
			  json_error_t *jerr, struct coren_error *err)
{
	struct coren_error why = {0};
	struct coren_buf boxed;
	json_t *v = NULL;
	int n = 0;

	coren_buf_init(&boxed, (size_t)-1);
	if (box_tokens(text, len, flags, &n, &boxed, &why)) {
		coren_buf_release(&boxed);
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (n)
		v = load(boxed.data, boxed.len, jerr);
	coren_buf_release(&boxed);
	if (v && why.code) {
		json_decref(v);
		coren_error_set(err, why.code, "%s", why.msg);
		return NULL;
	}
	if (!v && json_error_code(jerr) == json_error_out_of_memory)
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	else if (!v)
		coren_error_set(err, COREN_ERR_JSON,
				"invalid JSON at column %d: %s",
				jerr->column > 0 ? jerr->column : 1, jerr->text);
	return v;
}

json_t *coren_json_parse_flags(const char *text, size_t len, unsigned flags,
			       struct coren_error *err)
{
	json_error_t jerr;
	json_t *v = load(text, len, &jerr);

	if (v)
		return v;
	if (json_error_code(&jerr) == json_error_out_of_memory) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return load_boxed(text, len, flags, &jerr, err);
}

json_t *coren_json_parse(const char *text, size_t len, struct coren_error *err)
{
	return coren_json_parse_flags(text, len, 0, err);
}

json_t *coren_json_parse_value(const char *text, size_t len,
			       struct coren_error *err)
{
	json_t *v = coren_json_parse_flags(text, len, COREN_JSON_NONFINITE, err);

	if (v && coren_json_check_boxes(v, err)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left, s[0]
 * >= 0x80), or 0: no overlong forms, surrogates or code points above
 * U+10FFFF, as RFC 3629 and jansson require. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], k;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		k = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, cp = c & 0x07;
	else
		return 0;
	if (n <= k)
		return 0;
	for (unsigned j = 1; j <= k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k + 1;
}

int coren_json_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (!(k = utf8_seq(u + i, n - i)))
			return 0;
		i += k;
	}
	return 1;
}

/* ---- validating JSON text without building it --------------------------- */

static const unsigned char *skip_ws(const unsigned char *p,
				    const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hex4(const unsigned char *p)
{
	for (int i = 0; i < 4; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return 0;
	return 1;
}

/* Past the string at p (at its '"'), or NULL. */
static const unsigned char *valid_string(const unsigned char *p,
					 const unsigned char *end)
{
	for (p++; p < end;) {
		size_t k;

		if (*p == '"')
			return p + 1;
		if (*p < 0x20)
			return NULL;
		if (*p == '\\') {
			if (end - p < 2)
				return NULL;
			if (p[1] == 'u') {
				if (end - p < 6 || !hex4(p + 2))
					return NULL;
				p += 6;
			} else if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
				p += 2;
			} else {
				return NULL;
			}
		} else if (*p < 0x80) {
			p++;
		} else if ((k = utf8_seq(p, (size_t)(end - p)))) {
			p += k;
		} else {
			return NULL;
		}
	}
	return NULL;
}

static const unsigned char *digits(const unsigned char *p,
				   const unsigned char *end)
{
	const unsigned char *start = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

/* Past the number at p, or NULL: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const unsigned char *valid_number(const unsigned char *p,
					 const unsigned char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!(p < end && *p >= '1' && *p <= '9') || !(p = digits(p, end)))
		return NULL;
	if (p < end && *p == '.' && !(p = digits(p + 1, end)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		p = digits(p, end);
	}
	return p;
}

/* Past the scalar at p, or NULL. */
static const unsigned char *valid_scalar(const unsigned char *p,
					 const unsigned char *end)
{
	static const char *const words[] = {"true", "false", "null"};

	if (p >= end)
		return NULL;
	if (*p == '"')
		return valid_string(p, end);
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(end - p) >= n && !memcmp(p, words[i], n))
			return p + n;
	}
	return valid_number(p, end);
}

/* Past a member's key and its ':' (and the whitespace after), or NULL. */
static const unsigned char *valid_key(const unsigned char *p,
				      const unsigned char *end)
{
	if (p >= end || *p != '"' || !(p = valid_string(p, end)))
		return NULL;
	p = skip_ws(p, end);
	return p < end && *p == ':' ? skip_ws(p + 1, end) : NULL;
}

int coren_json_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char open[COREN_JSON_DEPTH_MAX]; /* '}' or ']' per level entered */
	size_t depth = 0;

	for (p = skip_ws(p, end);;) { /* a value starts at p */
		if (p < end && (*p == '{' || *p == '[')) {
			if (depth == sizeof open)
				return -1;
			open[depth++] = *p == '{' ? '}' : ']';
			p = skip_ws(p + 1, end);
			if (p >= end || *p != open[depth - 1]) {
				if (open[depth - 1] == '}' &&
				    !(p = valid_key(p, end)))
					return 0;
				continue; /* the first member's value */
			}
			depth--; /* empty */
			p++;
		} else if (!(p = valid_scalar(p, end))) {
			return 0;
		}
		for (;;) { /* after a value: a close, a ',', or the end */
			p = skip_ws(p, end);
			if (!depth)
				return p == end;
			if (p < end && *p == open[depth - 1]) {
				depth--;
				p++;
				continue;
			}
			if (p >= end || *p != ',')
				return 0;
			p = skip_ws(p + 1, end);
			if (open[depth - 1] == '}' && !(p = valid_key(p, end)))
				return 0;
			break;
		}
	}
}

/* Appends s as a JSON string, escaping as Python's json module does with
 * ensure_ascii=False. Bytes that are not UTF-8 are COREN_ERR_JSON (b then
 * holds a partial string: callers drop it), never raw bytes in JSON. */
static enum coren_err dump_string(const char *s, size_t n, struct coren_buf *b)
{
	enum coren_err rc = coren_buf_putc(b, '"');
	size_t i, run = 0, k;

	for (i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char hex[8];

		if (c >= 0x80) { /* a multibyte sequence, copied as is */
			if (!(k = utf8_seq((const unsigned char *)s + i, n - i)))
				return COREN_ERR_JSON;
			run += k;
			i += k - 1;
			continue;
		}
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(hex, sizeof hex, "\\u%04x", c);
				esc = hex;
			}
		}
		if (!esc) {
			run++;
			continue;
		}
		rc = coren_buf_append(b, s + i - run, run);
		run = 0;
		if (!rc)
			rc = coren_buf_append(b, esc, strlen(esc));
	}
	if (!rc)
		rc = coren_buf_append(b, s + n - run, run);
	return rc ? rc : coren_buf_putc(b, '"');
}

static const double powers10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
				  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				  1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
				  1e18, 1e19, 1e20, 1e21, 1e22};

/* The k for which a * 10^k lies in [10^(n-1), 10^n), or -1 if that k is
 * not within 0..22 (where 10^k is exact). */
static int scale_for(double a, int n)
{
	int k = n - 1 - (int)floor(log10(a)), i;

	for (i = 0; i < 3 && k >= 0 && k <= 22; i++) { /* log10 may be off by 1 */
		long double x = (long double)a * (long double)powers10[k];

		if (x < (long double)powers10[n - 1])
			k++;
		else if (x >= (long double)powers10[n])
			k--;
		else
			return k;
	}
	return -1;
}

/* Writes the decimal digits of d (> 0) without trailing zeros; their
 * count in *nd and the decimal exponent of the first in *exp10, for d
 * standing for d * 10^-k. */
static void put_digits(uint64_t d, int k, char *digits, int *nd, int *exp10)
{
	char buf[24];
	int n = 0, z = 0;

	for (; d; d /= 10)
		buf[n++] = (char)('0' + d % 10);
	*exp10 = n - 1 - k;
	while (z < n - 1 && buf[z] == '0') /* trailing zeros */
		z++;
	*nd = n - z;
	while (n-- > z)
		*digits++ = buf[n];
	*digits = '\0';
}

/* The shortest decimal digits of a > 0 that read back to a, for the
 * common case 1e-8 <= a < 1e15: at the k where a * 10^k has 15 digits (so
 * is below 2^50), the only 15-digit candidate is m = round(a * 10^k), any
 * other integer being more than 1/2 away (a is within half an ulp of the
 * decimal it stands for); the division m / 10^k, correctly rounded, says
 * exactly whether it reads back. If it does, m without its trailing zeros
 * is the shortest form; if not, no form of 15 digits or fewer reads back
 * (padded with zeros it would be m), and -2 says the shortest has 16 or
 * 17. -1 outside that range (then the caller searches with printf). */
static int fast_digits(double a, char *digits, int *nd, int *exp10)
{
	int k = a >= 1e-8 && a < 1e15 ? scale_for(a, 15) : -1;
	uint64_t m;

	if (k < 0)
		return -1;
	m = (uint64_t)((long double)a * (long double)powers10[k] + 0.5L);
	if ((double)m / powers10[k] != a)
		return -2;
	put_digits(m, k, digits, nd, exp10);
	return 0;
}

typedef unsigned __int128 u128;

/* Whether the decimal d * 10^-k reads back to a = m * 2^-s, exactly: it
 * must fall within half an ulp of a (a quarter below a power of two),
 * boundaries going to the even significand. All in 128 bits: the caller
 * keeps m * 10^k * 4 and d * 2^(s+2) below 2^127. */
static int reads_back(u128 d, uint64_t m, int s, u128 pow10k)
{
	u128 x = d << (s + 2), c = (u128)m * pow10k * 4;
	u128 hi = pow10k * 2, lo = m == (1ULL << 52) ? pow10k : pow10k * 2;
	int even = !(m & 1);

	if (x >= c)
		return x - c < hi || (even && x - c == hi);
	return c - x < lo || (even && c - x == lo);
}

/* The 16 or 17 shortest digits of a in [1e-4, 1e15) when no form of 15
 * digits or fewer reads back (fast_digits said -2), in exact integer
 * arithmetic: the closest 16-digit decimal if one reads back (a tie to the
 * even one, as printf rounds), else the correctly rounded 17 digits. -1
 * outside that range. */
static int exact_digits(double a, char *digits, int *nd, int *exp10)
{
	int e, s, k = a >= 1e-4 && a < 1e15 ? scale_for(a, 17) : -1;
	uint64_t m = (uint64_t)ldexp(frexp(a, &e), 53); /* a = m * 2^(e-53) */
	u128 p10, num, d, half, r, lo16, hi16;
	int lo_ok, hi_ok;

	if (k < 1 || k > 21)
		return -1;
	s = 53 - e;
	p10 = (u128)powers10[k]; /* exact: 10^k fits a double's 53 bits here */
	/* the correctly rounded 17 digits: round(m * 10^k / 2^s), half even */
	num = (u128)m * p10;
	d = num >> s;
	r = num - (d << s);
	half = (u128)1 << (s - 1);
	if (r > half || (r == half && (d & 1)))
		d++;
	/* the two 16-digit neighbours of a * 10^(k-1) */
	lo16 = (num >> s) / 10;
	hi16 = lo16 + 1;
	lo_ok = reads_back(lo16, m, s, p10 / 10);
	hi_ok = reads_back(hi16, m, s, p10 / 10);
	if (lo_ok && hi_ok) { /* the closer to a; a tie to the even one */
		u128 xl = lo16 * 10 << s, xh = hi16 * 10 << s;

		d = num - xl < xh - num	  ? lo16
		    : num - xl > xh - num ? hi16
		    : (lo16 & 1)	  ? hi16
					  : lo16;
		k--;
	} else if (lo_ok || hi_ok) {
		d = lo_ok ? lo16 : hi16;
		k--;
	}
	put_digits((uint64_t)d, k, digits, nd, exp10);
	return 0;
}

/* The shortest digits that read back to a > 0, by printf, with at least
 * min_digits digits: round-tripping is monotonic in the precision (more
 * correctly rounded digits are never further from a), so binary search. */
static void slow_digits(double a, int min_digits, char *digits, int *nd,
			int *exp10)
{
	char sci[40];
	int lo = min_digits - 1, hi = 16, n = 0;
	const char *p;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		snprintf(sci, sizeof sci, "%.*e", mid, a);
		if (strtod(sci, NULL) == a)
			hi = mid;
		else
			lo = mid + 1;
	}
	snprintf(sci, sizeof sci, "%.*e", lo, a);
	for (p = sci; *p && *p != 'e'; p++) /* "d[.ddd]e[+-]XX" */
		if (*p != '.')
			digits[n++] = *p;
	digits[n] = '\0';
	*exp10 = (int)strtol(p + 1, NULL, 10);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	*nd = n;
}

/* Appends a finite double as Python's repr() writes it: the shortest digits
 * that read back to v, fixed notation for decimal exponents -4..15, else
 * d.ddde+XX. */
static enum coren_err dump_real(double v, struct coren_buf *b)
{
	char digits[24], out[40], *o = out;
	int nd, exp, i;
	double a = fabs(v);

	if (signbit(v))
		*o++ = '-';
	if (a == 0) {
		digits[0] = '0';
		digits[1] = '\0';
		nd = 1;
		exp = 0;
	} else if ((i = fast_digits(a, digits, &nd, &exp)) != 0 &&
		   (i != -2 || exact_digits(a, digits, &nd, &exp))) {
		slow_digits(a, i == -2 ? 16 : 1, digits, &nd, &exp);
	}
	if (exp < -4 || exp >= 16) {
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = exp < 0 ? '-' : '+';
		i = exp < 0 ? -exp : exp;
		if (i >= 100)
			*o++ = (char)('0' + i / 100);
		*o++ = (char)('0' + i / 10 % 10);
		*o++ = (char)('0' + i % 10);
	} else if (exp < 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = -1; i > exp; i--)
			*o++ = '0';
		memcpy(o, digits, (size_t)nd);
		o += nd;
	} else {
		for (i = 0; i <= exp; i++)
			*o++ = i < nd ? digits[i] : '0';
		*o++ = '.';
		if (nd > exp + 1) {
			memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
			o += nd - exp - 1;
		} else {
			*o++ = '0';
		}
	}
	return coren_buf_append(b, out, (size_t)(o - out));
}

/* Appends the decimal digits of u (no printf: this is the hot path). */
static enum coren_err dump_u64(uint64_t u, int negative, struct coren_buf *b)
{
	char buf[24], *p = buf + sizeof buf;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (negative)
		*--p = '-';
	return coren_buf_append(b, p, (size_t)(buf + sizeof buf - p));
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum coren_err dump(const json_t *v, unsigned flags,
			   struct coren_buf *b);

/* Appends "key":value. */
static enum coren_err dump_member(const char *k, const json_t *x,
				  unsigned flags, struct coren_buf *b)
{
	enum coren_err rc = dump_string(k, strlen(k), b);

	if (!rc)
		rc = coren_buf_putc(b, ':');
	return rc ? rc : dump(x, flags, b);
}

static enum coren_err dump_object(const json_t *v, unsigned flags,
				  struct coren_buf *b)
{
	/* jansson iterates non-const objects only; nothing is modified */
	json_t *obj = (json_t *)(uintptr_t)v;
	size_t n = json_object_size(v), i = 0;
	enum coren_err rc = coren_buf_putc(b, '{');
	const char **keys;
	const char *k;
	json_t *x;

	if (!(flags & COREN_JSON_SORT_KEYS)) { /* insertion order, no copy */
		json_object_foreach(obj, k, x) {
			if (!rc && i++)
				rc = coren_buf_putc(b, ',');
			if (!rc)
				rc = dump_member(k, x, flags, b);
		}
		return rc ? rc : coren_buf_putc(b, '}');
	}
	keys = malloc((n ? n : 1) * sizeof *keys);
	if (!keys)
		return COREN_ERR_NOMEM;
	json_object_foreach(obj, k, x) keys[i++] = k;
	qsort(keys, n, sizeof *keys, key_cmp);
	for (i = 0; i < n && !rc; i++) {
		if (i)
			rc = coren_buf_putc(b, ',');
		if (!rc)
			rc = dump_member(keys[i], json_object_get(v, keys[i]),
					 flags, b);
	}
	free(keys);
	return rc ? rc : coren_buf_putc(b, '}');
}

static enum coren_err dump(const json_t *v, unsigned flags, struct coren_buf *b)
{
	enum coren_err rc = COREN_OK;
	const char *digits;
	uint64_t u;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (box_value(v, &u) == 0)
			return dump_u64(u, 0, b);
		if ((digits = bigint_digits(v, &i)))
			return coren_buf_append(b, digits, i);
		return dump_object(v, flags, b); /* float boxes as they are */
	case JSON_ARRAY:
		rc = coren_buf_putc(b, '[');
		for (i = 0; i < json_array_size(v) && !rc; i++) {
			if (i)
				rc = coren_buf_putc(b, ',');
			if (!rc)
				rc = dump(json_array_get(v, i), flags, b);
		}
		return rc ? rc : coren_buf_putc(b, ']');
	case JSON_STRING:
		return dump_string(json_string_value(v), json_string_length(v),
				   b);
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(v);

		return dump_u64(n < 0 ? 0 - (uint64_t)n : (uint64_t)n, n < 0, b);
	}
	case JSON_REAL:
		return dump_real(json_real_value(v), b);
	case JSON_TRUE:
		return coren_buf_append(b, "true", 4);
	case JSON_FALSE:
		return coren_buf_append(b, "false", 5);
	default:
		return coren_buf_append(b, "null", 4);
	}
}

enum coren_err coren_json_dumpb(const json_t *v, unsigned flags,
				struct coren_buf *b)
{
	return dump(v, flags, b);
}

enum coren_err coren_json_dump_string(const char *s, size_t n,
				      struct coren_buf *b)
{
	return dump_string(s, n, b);
}

enum coren_err coren_json_dump_double(double v, struct coren_buf *b)
{
	return dump_real(v, b);
}

enum coren_err coren_json_dump_u64(uint64_t v, struct coren_buf *b)
{
	return dump_u64(v, 0, b);
}

char *coren_json_dumps(const json_t *v, unsigned flags)
{
	struct coren_buf b;

	coren_buf_init(&b, 0);
	if (dump(v, flags, &b)) {
		coren_buf_release(&b);
		return NULL;
	}
	return coren_buf_detach(&b, NULL);
}

enum coren_err coren_json_canonical(const json_t *v, struct coren_buf *b)
{
	return dump(v, COREN_JSON_SORT_KEYS, b);
}

enum coren_err coren_json_sha256(const json_t *v, char hex[65])
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, 0);
	rc = dump(v, COREN_JSON_SORT_KEYS, &b);
	if (!rc)
		rc = coren_sha256_hex(b.data, b.len, hex);
	coren_buf_release(&b);
	return rc;
}
