/* units.c - the one grammar of numbers with units (coren/units.h). */
#include "config.h"

#include <coren/units.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct unit {
	const char *name;
	double mult; /* exact for every size and count unit (<= 2^53 * 2^k) */
};

static const struct unit size_units[] = {
	{"", 1},	{"B", 1},	{"k", 1e3},	{"K", 1e3},
	{"kB", 1e3},	{"KB", 1e3},	{"M", 1e6},	{"MB", 1e6},
	{"G", 1e9},	{"GB", 1e9},	{"T", 1e12},	{"TB", 1e12},
	{"P", 1e15},	{"PB", 1e15},	{"Ki", 0x1p10}, {"KiB", 0x1p10},
	{"Mi", 0x1p20}, {"MiB", 0x1p20}, {"Gi", 0x1p30}, {"GiB", 0x1p30},
	{"Ti", 0x1p40}, {"TiB", 0x1p40}, {"Pi", 0x1p50}, {"PiB", 0x1p50},
	{NULL, 0}};

static const struct unit count_units[] = {
	{"", 1},   {"k", 1e3},	{"K", 1e3},  {"M", 1e6},
	{"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {NULL, 0}};

static const struct unit duration_units[] = {
	{"", 1},    {"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
	{"m", 60},  {"min", 60},  {"h", 3600},  {"d", 86400}, {NULL, 0}};

static const struct unit *table(enum coren_unit kind)
{
	switch (kind) {
	case COREN_UNIT_COUNT:
		return count_units;
	case COREN_UNIT_DURATION:
		return duration_units;
	case COREN_UNIT_SIZE:
	case COREN_UNIT_RATE:
		break;
	}
	return size_units;
}

const char *coren_unit_name(enum coren_unit kind)
{
	static const char *const names[] = {"size", "count", "duration",
					    "rate"};

	return names[kind];
}

const char *coren_unit_list(enum coren_unit kind)
{
	switch (kind) {
	case COREN_UNIT_COUNT:
		return "k, M, G, T, P";
	case COREN_UNIT_DURATION:
		return "ns, us, ms, s, m, h, d";
	case COREN_UNIT_SIZE:
	case COREN_UNIT_RATE:
		break;
	}
	return "B, k, M, G, T, P, KiB, MiB, GiB, TiB, PiB";
}

/* A scanned number: its digits as an integer m (saturating: big), the
 * power of ten to apply, the unit's multiplier; text spans [s, end). */
struct number {
	unsigned __int128 m;
	int big;
	long exp10;
	double mult;
	const char *unit; /* where the unit starts */
};

static enum coren_err bad(struct coren_error *err, const char *s,
			  const char *at, const char **end, const char *why)
{
	(void)s;
	if (end)
		*end = at;
	return coren_error_set(err, COREN_ERR_USAGE, "%s", why);
}

/* The digits, fraction and exponent at s; *q after them. */
static enum coren_err mantissa(const char *s, const char **q,
			       struct number *n, const char **end,
			       struct coren_error *err)
{
	const char *p = s;
	int digits = 0, dot = 0, frac = 0;
	long e = 0, esign = 1;

	for (; isdigit((unsigned char)*p) || *p == '_' || *p == '.'; p++) {
		if (*p == '_') {
			if (p == s || !isdigit((unsigned char)p[-1]) ||
			    !isdigit((unsigned char)p[1]))
				return bad(err, s, p, end,
					   "misplaced '_' in a number");
			continue;
		}
		if (*p == '.') {
			if (dot++)
				return bad(err, s, p, end, "two decimal points in a number");
			continue;
		}
		digits++;
		frac += dot;
		if (n->m > ((unsigned __int128)1 << 100))
			n->big = 1; /* too large for a whole number */
		else
			n->m = n->m * 10 + (unsigned)(*p - '0');
	}
	if (!digits)
		return bad(err, s, s, end, *s == '-' ? "expected a non-negative number"
						     : "expected a number");
	if ((*p == 'e' || *p == 'E') &&
	    (isdigit((unsigned char)p[1]) ||
	     ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		long x = 0;

		p++;
		if (*p == '+' || *p == '-')
			esign = *p++ == '-' ? -1 : 1;
		for (; isdigit((unsigned char)*p); p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
		e += esign * x;
	}
	n->exp10 = e - frac;
	*q = n->unit = p;
	return COREN_OK;
}

/* The unit at q: letters only, looked up in the kind's table. */
static enum coren_err unit(const char *s, const char *q, enum coren_unit kind,
			   struct number *n, const char **end,
			   struct coren_error *err)
{
	size_t len = 0;

	while (isalpha((unsigned char)q[len]))
		len++;
	for (const struct unit *u = table(kind); u->name; u++)
		if (strlen(u->name) == len && !strncmp(u->name, q, len)) {
			n->mult = u->mult;
			*end = q + len;
			return COREN_OK;
		}
	if (end)
		*end = q;
	(void)s;
	return coren_error_set(err, COREN_ERR_USAGE, "unknown unit '%.*s'",
			       (int)len, q);
}

static enum coren_err scan(const char *s, enum coren_unit kind,
			   const char **end, struct number *n,
			   struct coren_error *err)
{
	const char *q = s;
	enum coren_err rc;

	memset(n, 0, sizeof *n);
	if ((rc = mantissa(s, &q, n, end, err)))
		return rc;
	return unit(s, q, kind, n, end, err);
}

enum coren_err coren_unit_scan_u64(const char *s, enum coren_unit kind,
				   const char **end, uint64_t *out,
				   struct coren_error *err)
{
	const unsigned __int128 limit = UINT64_MAX;
	struct number n;
	const char *e;
	enum coren_err rc;
	unsigned __int128 m;

	if ((rc = scan(s, kind, &e, &n, err))) {
		if (end)
			*end = e;
		return rc;
	}
	if (end)
		*end = s; /* the whole number is at fault from here on */
	m = n.m * (unsigned __int128)n.mult;
	for (; n.exp10 > 0 && m && m <= limit; n.exp10--)
		m *= 10;
	for (; n.exp10 < 0 && m; n.exp10++) {
		if (m % 10)
			return coren_error_set(err, COREN_ERR_USAGE,
					       "'%.*s' is not an integer",
					       (int)(e - s), s);
		m /= 10;
	}
	if (n.big || m > limit)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "'%.*s' is too large (the largest is "
				       "18446744073709551615)",
				       (int)(e - s), s);
	*out = (uint64_t)m;
	if (end)
		*end = e;
	return COREN_OK;
}

enum coren_err coren_unit_scan_real(const char *s, enum coren_unit kind,
				    const char **end, double *out,
				    struct coren_error *err)
{
	char text[128];
	size_t k = 0;
	const char *e, *p;
	struct number n;
	enum coren_err rc;
	double v;

	if ((rc = scan(s, kind, &e, &n, err))) {
		if (end)
			*end = e;
		return rc;
	}
	if (end)
		*end = e;
	/* the number again, without '_', for a correctly rounded strtod */
	for (p = s; p < n.unit && k + 1 < sizeof text; p++)
		if (*p != '_')
			text[k++] = *p;
	text[k] = '\0';
	v = strtod(text, NULL) * n.mult;
	if (!isfinite(v))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "'%.*s' is too large", (int)(e - s), s);
	*out = v;
	return COREN_OK;
}

static enum coren_err whole(const char *s, const char *e,
			    struct coren_error *err)
{
	if (*e)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "unexpected '%s' after the number", e);
	return COREN_OK;
}

enum coren_err coren_unit_u64(const char *s, enum coren_unit kind,
			      uint64_t *out, struct coren_error *err)
{
	const char *e;
	uint64_t v;
	enum coren_err rc;

	if (!s)
		return coren_error_set(err, COREN_ERR_USAGE, "no value");
	if ((rc = coren_unit_scan_u64(s, kind, &e, &v, err)) ||
	    (rc = whole(s, e, err)))
		return rc;
	*out = v;
	return COREN_OK;
}

enum coren_err coren_unit_real(const char *s, enum coren_unit kind,
			       double *out, struct coren_error *err)
{
	const char *e;
	double v;
	enum coren_err rc;

	if (!s)
		return coren_error_set(err, COREN_ERR_USAGE, "no value");
	if ((rc = coren_unit_scan_real(s, kind, &e, &v, err)) ||
	    (rc = whole(s, e, err)))
		return rc;
	*out = v;
	return COREN_OK;
}
