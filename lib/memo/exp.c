/* exp.c - an experiment from YAML and options (DESIGN §5). */
#include "config.h"

#include "memo_int.h"

#include <coren/json.h>
#include <coren/memo.h>
#include <coren/settings.h>
#include <coren/units.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RANGE_MAX 10000000u /* values an A..B range may expand to */

void coren_memo_exp_init(struct coren_memo_exp *e)
{
	memset(e, 0, sizeof *e);
	e->params = json_object();
	e->version = strdup(COREN_MEMO_VERSION_DEFAULT);
	e->exec_chunk = 0; /* auto */
}

void memo_argv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

char **memo_argv_copy(const char *const *argv)
{
	size_t n = 0;
	char **v;

	while (argv[n])
		n++;
	v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(argv[i]))) {
			memo_argv_free(v);
			return NULL;
		}
	return v;
}

enum coren_err coren_memo_exp_command(struct coren_memo_exp *e,
				      const char *const *argv, bool coproc,
				      struct coren_error *err)
{
	char **v = memo_argv_copy(argv), ***slot = coproc ? &e->coproc : &e->cmd;

	if (!v)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	memo_argv_free(*slot);
	*slot = v;
	free(e->prog); /* a command line's program is as written */
	e->prog = NULL;
	return COREN_OK;
}

void coren_memo_exp_release(struct coren_memo_exp *e)
{
	json_decref(e->params);
	for (size_t i = 0; i < e->naxes; i++) {
		free(e->axes[i].name);
		json_decref(e->axes[i].values);
		free(e->axes[i].range);
	}
	free(e->axes);
	for (size_t i = 0; i < e->naxis_order; i++)
		free(e->axis_order[i]);
	free(e->axis_order);
	free(e->version);
	free(e->cache);
	free(e->exec);
	memo_argv_free(e->cmd);
	memo_argv_free(e->coproc);
	free(e->prog);
	free(e->fn_id);
	json_decref(e->fn);
	free(e->secret_key);
	memo_argv_free(e->trusted_keys);
	memset(e, 0, sizeof *e);
}

/* The axis named name, created (no values, no bin) if absent. */
static struct coren_memo_axis *axis(struct coren_memo_exp *e, const char *name,
				    size_t len)
{
	struct coren_memo_axis *a;

	for (size_t i = 0; i < e->naxes; i++)
		if (strlen(e->axes[i].name) == len &&
		    !memcmp(e->axes[i].name, name, len))
			return &e->axes[i];
	a = realloc(e->axes, (e->naxes + 1) * sizeof *a);
	if (!a)
		return NULL;
	e->axes = a;
	a = &e->axes[e->naxes];
	memset(a, 0, sizeof *a);
	a->name = strndup(name, len);
	if (!a->name)
		return NULL;
	e->naxes++;
	return a;
}

/* The axis's values: a list, or a range (the other NULL). */
static void set_values(struct coren_memo_axis *a, json_t *values,
		       struct coren_memo_range *range)
{
	json_decref(a->values);
	free(a->range);
	a->values = values;
	a->range = range;
}

/* Whether s is a YAML 1.2 spelling of NaN or an infinity. */
static int nonfinite_name(const char *s)
{
	static const char *const names[] = {".nan", ".NaN", ".NAN", ".inf",
					    ".Inf", ".INF", NULL};
	const char *p = s + (*s == '-' || *s == '+');

	for (size_t i = 0; names[i]; i++)
		if (!strcmp(i < 3 ? s : p, names[i]))
			return 1;
	return 0;
}

/* v, or NULL with a usage error when v is a big-integer box: axis values
 * and params are held to int64 and uint64 (as in YAML), so that one value
 * has one spelling in every source. */
static json_t *in_range(json_t *v, const char *s, struct coren_error *err)
{
	if (!json_is_object(v) || !json_object_get(v, COREN_JSON_INT_KEY))
		return v;
	json_decref(v);
	coren_error_set(err, COREN_ERR_USAGE,
			"integer '%s' is out of range (-2^63..2^64-1)", s);
	return NULL;
}

json_t *coren_memo_parse_value(const char *s, struct coren_error *err)
{
	struct coren_error perr = {0};
	size_t n = strlen(s);
	uint64_t u;
	json_t *v;

	if (!coren_json_utf8_valid(s, n)) {
		coren_error_set(err, COREN_ERR_USAGE, "value is not valid UTF-8");
		return NULL;
	}
	if (nonfinite_name(s)) { /* refused as YAML refuses it */
		coren_error_set(err, COREN_ERR_USAGE,
				"value '%s' is not a finite number", s);
		return NULL;
	}
	if (!n || !strchr("\"-tfn0123456789", s[0]))
		return json_string(s);
	v = coren_json_parse(s, n, &perr);
	if (!v && perr.code == COREN_ERR_RECORD) { /* JSON, not exact */
		coren_error_set(err, COREN_ERR_USAGE, "%s", perr.msg);
		return NULL;
	}
	if (!v && s[0] == '"') { /* meant as a JSON string: never its text */
		coren_error_set(err, COREN_ERR_USAGE,
				"value '%s' is not a JSON string (%s)", s,
				perr.msg);
		return NULL;
	}
	if (v && (!json_is_object(v) || coren_json_get_u64(v, &u) == 0 ||
		  json_object_get(v, COREN_JSON_INT_KEY)))
		return in_range(v, s, err); /* a scalar, or a boxed integer */
	json_decref(v);
	return json_string(s);
}

/* Rewrites err (set by a value parser) as "OPTION 'SPEC': why". */
static enum coren_err option_error(struct coren_error *err, const char *option,
				   const char *spec)
{
	char why[COREN_ERROR_MSG_MAX];

	if (err->code == COREN_ERR_NOMEM)
		return err->code;
	snprintf(why, sizeof why, "%s", err->msg);
	if (!coren_json_utf8_valid(spec, strlen(spec)))
		spec = "(not UTF-8)";
	return coren_error_set(err, COREN_ERR_USAGE, "%s '%s': %s", option,
			       spec, why);
}

/* An integer range endpoint: [+-]digits within int64..uint64 (0), out of
 * that range (-2), or not an integer (-1). */
static int int_number(const char *s, size_t n, __int128 *out)
{
	size_t i = s[0] == '-' || s[0] == '+';
	__int128 v = 0;

	if (!n || i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v <= (__int128)UINT64_MAX) /* else out of range anyway */
			v = v * 10 + (s[i] - '0');
	}
	*out = s[0] == '-' ? -v : v;
	return *out < INT64_MIN || *out > (__int128)UINT64_MAX ? -2 : 0;
}

/* A strict number: all of s. */
static int number(const char *s, size_t n, double *out)
{
	char buf[64], *end;

	if (!n || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (*end || !isfinite(*out) || buf[0] == ' ' || strpbrk(buf, "xXnN"))
		return -1;
	return 0;
}

/* The three texts of "A..B[..STEP]" (step "1" if absent); -1 if s has no
 * "..". */
static int range_parts(const char *s, const char *part[3], size_t len[3])
{
	const char *d1 = strstr(s, ".."), *d2;

	if (!d1)
		return -1;
	d2 = strstr(d1 + 2, "..");
	part[0] = s;
	len[0] = (size_t)(d1 - s);
	part[1] = d1 + 2;
	len[1] = d2 ? (size_t)(d2 - d1 - 2) : strlen(d1 + 2);
	part[2] = d2 ? d2 + 2 : "1";
	len[2] = d2 ? strlen(d2 + 2) : 1;
	return 0;
}

static void *range_error(struct coren_error *err, const char *s,
			 const char *why)
{
	if (why)
		coren_error_set(err, COREN_ERR_USAGE, "range '%s' %s", s, why);
	else
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return NULL;
}

/* A decimal number: all of s is [+-]DIGITS[.DIGITS][(e|E)[+-]DIGITS]
 * with a digit somewhere in the mantissa, as M * 10^E with M exact (at
 * most DEC_DIGITS significant digits). -1 if s is not of that form, -2
 * if it has too many digits. */
#define DEC_DIGITS  36 /* |M| < 10^36 < 2^127: sums of two stay exact */
#define DEC_EXP_MAX 100000

static int decimal(const char *s, size_t n, __int128 *m, long *e10)
{
	size_t i = s[0] == '-' || s[0] == '+', digits = 0, sig = 0;
	long frac = 0, ex = 0;
	int esign = 1, point = 0;
	__int128 v = 0;

	for (;
	     i < n && (isdigit((unsigned char)s[i]) || (s[i] == '.' && !point));
	     i++) {
		if (s[i] == '.') {
			point = 1;
			continue;
		}
		digits++;
		frac += point;
		if (v || s[i] != '0')
			sig++;
		if (sig > DEC_DIGITS)
			return -2;
		v = v * 10 + (s[i] - '0');
	}
	if (!digits)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			esign = s[i++] == '-' ? -1 : 1;
		if (i == n)
			return -1;
		for (; i < n && isdigit((unsigned char)s[i]); i++)
			if ((ex = ex * 10 + (s[i] - '0')) > DEC_EXP_MAX)
				return -2;
	}
	if (i != n)
		return -1;
	*m = s[0] == '-' ? -v : v;
	*e10 = esign * ex - frac;
	return 0;
}

/* m * 10^k in *out when |result| < 10^(DEC_DIGITS + 1); -1 if larger. */
static int dec_scale(__int128 m, long k, __int128 *out)
{
	__int128 lim = 1;

	for (int i = 0; i <= DEC_DIGITS; i++)
		lim *= 10;
	for (; k > 0 && m; k--) {
		if (m >= lim / 10 || m <= -lim / 10)
			return -1;
		m *= 10;
	}
	*out = m;
	return 0;
}

/* The values v[0], v[0] + v[2], ... up to v[1] (exact integers: of a
 * decimal unit 10^e for a real range, each the double nearest to its
 * decimal (memo_decimal_double()); the integers themselves for an
 * integer range, e unused), as a range: made on demand (range.c), the
 * values of the list that names them one by one. */
static struct coren_memo_range *range_values(const char *s, const __int128 v[3],
					     long e, bool real,
					     struct coren_error *err)
{
	struct coren_memo_range *r;
	__int128 n;

	if (v[2] == 0 || (v[1] - v[0]) / v[2] < 0)
		return range_error(err, s, "is empty or its step is 0");
	n = (v[1] - v[0]) / v[2] + 1;
	if (n > RANGE_MAX)
		return range_error(err, s, "has more than 10000000 values");
	if (!(r = calloc(1, sizeof *r)))
		return range_error(err, s, NULL);
	r->start = v[0];
	r->step = v[2];
	r->e10 = e;
	r->real = real;
	r->count = (size_t)n;
	return r;
}

/* An integer range, in exact 128-bit arithmetic: every value lies
 * between the endpoints, so within int64..uint64. */
static struct coren_memo_range *int_range(const char *s, const __int128 v[3],
					  struct coren_error *err)
{
	return range_values(s, v, 0, false, err);
}

/* A range with a real endpoint or step, in decimal: the three numbers
 * as integers of their smallest common unit 10^e (0..1..0.1: 0, 10, 1
 * in tenths), value i the double of the decimal text of A + i*STEP, so
 * 0.3 and not 0.30000000000000004, and the count exact (B is included
 * when it lands exactly). */
static struct coren_memo_range *real_range(const char *s, const char *part[3],
					   const size_t len[3],
					   const double dv[3],
					   struct coren_error *err)
{
	__int128 m[3], v[3];
	long e10[3], e;
	double est;

	for (int i = 0; i < 3; i++) {
		int rc = decimal(part[i], len[i], &m[i], &e10[i]);

		if (rc)
			return range_error(
			    err, s,
			    rc == -2 ? "has a number of more than 36 "
				       "significant digits"
				     : "has a number that is not decimal");
	}
	if (m[2] == 0)
		return range_error(err, s, "is empty or its step is 0");
	/* first in doubles, which cannot overflow where integers would */
	est = fabs(dv[1] / dv[2] - dv[0] / dv[2]);
	if (!(est <= 2.0 * RANGE_MAX))
		return range_error(err, s,
				   (dv[1] - dv[0]) / dv[2] < 0
				       ? "is empty or its step is 0"
				       : "has more than 10000000 values");
	e = e10[0] < e10[1] ? e10[0] : e10[1];
	e = e < e10[2] ? e : e10[2];
	for (int i = 0; i < 3; i++)
		if (dec_scale(m[i], e10[i] - e, &v[i]))
			return range_error(err, s,
					   "spans more than 37 "
					   "decimal digits");
	return range_values(s, v, e, true, err);
}

/* "A..B" or "A..B..STEP" (inclusive, numbers) as a range, or NULL with
 * err set; *is_range 0 when s is not of that form. Integer ranges are
 * exact (the values a list of the same integers would give); a real
 * endpoint or step makes every value a real. */
static struct coren_memo_range *range(const char *s, int *is_range,
				      struct coren_error *err)
{
	const char *part[3];
	size_t len[3];
	__int128 iv[3];
	double dv[3];
	int ints = 1, rc;

	*is_range = 0;
	if (range_parts(s, part, len))
		return NULL;
	for (int i = 0; i < 3; i++) {
		if (number(part[i], len[i], &dv[i]))
			return NULL;
		rc = int_number(part[i], len[i], &iv[i]);
		if (rc == -2) {
			*is_range = 1;
			return range_error(err, s, "has an integer out of "
						   "range (-2^63..2^64-1)");
		}
		ints = ints && rc == 0;
	}
	*is_range = 1;
	return ints ? int_range(s, iv, err) : real_range(s, part, len, dv, err);
}

/* The "name=value" split of kv, or a usage error naming option. */
static const char *split_kv(const char *kv, const char *option,
			    struct coren_error *err)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv) {
		coren_error_set(err, COREN_ERR_USAGE,
				"%s '%s': expected NAME=VALUE", option, kv);
		return NULL;
	}
	return eq;
}

/* The NAME of "NAME=..." checked: names become JSON keys and
 * environment names, so they must be UTF-8. */
static enum coren_err check_name(const char *kv, const char *eq,
				 const char *option, struct coren_error *err)
{
	if (coren_json_utf8_valid(kv, (size_t)(eq - kv)))
		return COREN_OK;
	return coren_error_set(err, COREN_ERR_USAGE,
			       "%s: name is not valid UTF-8", option);
}

enum coren_err coren_memo_exp_param(struct coren_memo_exp *e, const char *kv,
				    struct coren_error *err)
{
	const char *eq = split_kv(kv, "--param", err);
	char *name;
	json_t *v;
	int rc;

	if (!eq || check_name(kv, eq, "--param", err))
		return COREN_ERR_USAGE;
	if (!(v = coren_memo_parse_value(eq + 1, err)))
		return option_error(err, "--param", kv);
	name = strndup(kv, (size_t)(eq - kv));
	rc = name ? json_object_set_new(e->params, name, v) : -1;
	if (!name)
		json_decref(v);
	free(name);
	return rc ? coren_error_set(err, COREN_ERR_NOMEM, "out of memory")
		  : COREN_OK;
}

/* The comma-separated values of a --split list, each typed. */
static json_t *split_list(const char *p, struct coren_error *err)
{
	json_t *values = json_array(), *v;

	while (values) {
		const char *c = strchr(p, ',');
		char *item = strndup(p, c ? (size_t)(c - p) : strlen(p));

		v = item ? coren_memo_parse_value(item, err) : NULL;
		if (!item)
			coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		free(item);
		if (!v || json_array_append_new(values, v)) {
			json_decref(values);
			return NULL;
		}
		if (!c)
			break;
		p = c + 1;
	}
	if (!values)
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return values;
}

enum coren_err coren_memo_exp_split(struct coren_memo_exp *e, const char *spec,
				    struct coren_error *err)
{
	const char *eq = split_kv(spec, "--split", err);
	struct coren_memo_axis *a;
	struct coren_memo_range *r;
	json_t *values = NULL;
	int is_range;

	if (!eq || check_name(spec, eq, "--split", err))
		return COREN_ERR_USAGE;
	r = range(eq + 1, &is_range, err);
	if (is_range && !r)
		return err->code;
	if (!r && !(values = split_list(eq + 1, err)))
		return option_error(err, "--split", spec);
	a = axis(e, spec, (size_t)(eq - spec));
	if (!a) {
		json_decref(values);
		free(r);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	set_values(a, values, r);
	return COREN_OK;
}

#define BIN_MAX 4611686018427387904.0 /* 2^62: values of an axis per chunk */

/* A memo chunk size: a count (coren/units.h), 1..2^62. */
static int parse_size(const char *s, size_t *out)
{
	uint64_t v;

	if (coren_unit_u64(s, COREN_UNITS_COUNT, &v, NULL) || v == 0 ||
	    (double)v > BIN_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

enum coren_err coren_memo_exp_memo_chunk(struct coren_memo_exp *e,
					 const char *spec,
					 struct coren_error *err)
{
	const char *eq = split_kv(spec, "--memo-chunk", err);
	struct coren_memo_axis *a;
	size_t n;

	if (!eq || check_name(spec, eq, "--memo-chunk", err))
		return COREN_ERR_USAGE;
	if (parse_size(eq + 1, &n))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--memo-chunk '%s': size is not a "
				       "count from 1 to 2^62",
				       spec);
	a = axis(e, spec, (size_t)(eq - spec));
	if (!a)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	a->bin = n;
	return COREN_OK;
}

/* ---- YAML ------------------------------------------------------------- */

static enum coren_err yaml_size(const struct coren_yaml_node *n, size_t *out,
				struct coren_error *err)
{
	if (n->kind != COREN_YAML_SCALAR || parse_size(n->value, out))
		return coren_yaml_error(n, err, "memo_chunk '%s': a count from "
						"1 to 2^62",
					n->kind == COREN_YAML_SCALAR
						? n->value
						: "a collection");
	return COREN_OK;
}

static enum coren_err yaml_string(const struct coren_yaml_node *n, char **out,
				  struct coren_error *err)
{
	const char *s;

	if (coren_yaml_get_string(n, &s, err))
		return err->code;
	free(*out);
	*out = strdup(s);
	return *out ? COREN_OK
		    : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

/* An axis's values: a list (*out), or {from, to, step} (*rout). */
static enum coren_err yaml_values(const struct coren_yaml_node *n, json_t **out,
				  struct coren_memo_range **rout,
				  struct coren_error *err)
{
	static const char *const keys[] = {"from", "to", "step", NULL};
	const struct coren_yaml_node *from, *to, *step;
	char spec[128];
	int is_range;

	if (n->kind == COREN_YAML_SEQUENCE) {
		*out = coren_yaml_to_json(n, err);
		return *out ? COREN_OK : err->code;
	}
	if (n->kind != COREN_YAML_MAPPING)
		return coren_yaml_error(n, err, "expected a list of values or "
						"{from, to, step}");
	if (coren_yaml_check_keys(n, keys, err))
		return err->code;
	from = coren_yaml_get(n, "from");
	to = coren_yaml_get(n, "to");
	step = coren_yaml_get(n, "step");
	if (!from || !to || from->kind != COREN_YAML_SCALAR ||
	    to->kind != COREN_YAML_SCALAR ||
	    (step && step->kind != COREN_YAML_SCALAR))
		return coren_yaml_error(n, err, "a range needs scalars 'from' "
						"and 'to'");
	snprintf(spec, sizeof spec, "%s..%s%s%s", from->value, to->value,
		 step ? ".." : "", step ? step->value : "");
	*rout = range(spec, &is_range, err);
	if (!is_range)
		return coren_yaml_error(n, err, "range '%s': not numbers",
					spec);
	if (!*rout) {
		char msg[COREN_ERROR_MSG_MAX];

		snprintf(msg, sizeof msg, "%s", err->msg);
		return coren_yaml_error(n, err, "%s", msg);
	}
	return COREN_OK;
}

static enum coren_err yaml_split(void *obj, const struct coren_yaml_node *n,
				 const char *dir, struct coren_error *err)
{
	struct coren_memo_exp *e = obj;

	(void)dir;
	if (coren_yaml_expect(n, COREN_YAML_MAPPING, err))
		return err->code;
	for (size_t i = 0; i < n->n; i++) {
		const struct coren_yaml_node *k = n->items[2 * i];
		struct coren_memo_axis *a;
		struct coren_memo_range *r = NULL;
		json_t *values = NULL;

		if (yaml_values(n->items[2 * i + 1], &values, &r, err))
			return err->code;
		a = axis(e, k->value, k->len);
		if (!a) {
			json_decref(values);
			free(r);
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
		}
		set_values(a, values, r);
	}
	return COREN_OK;
}

static enum coren_err yaml_memo_chunk(void *obj,
				      const struct coren_yaml_node *n,
				      const char *dir, struct coren_error *err)
{
	static const char *const keys[] = {"size", NULL};
	struct coren_memo_exp *e = obj;

	(void)dir;
	if (coren_yaml_expect(n, COREN_YAML_MAPPING, err))
		return err->code;
	for (size_t i = 0; i < n->n; i++) {
		const struct coren_yaml_node *k = n->items[2 * i];
		const struct coren_yaml_node *v = n->items[2 * i + 1];
		struct coren_memo_axis *a = axis(e, k->value, k->len);

		if (!a)
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
		if (v->kind == COREN_YAML_MAPPING) {
			if (coren_yaml_check_keys(v, keys, err))
				return err->code;
			if (!coren_yaml_get(v, "size"))
				return coren_yaml_error(v, err,
							"missing key 'size'");
			v = coren_yaml_get(v, "size");
		}
		if (yaml_size(v, &a->bin, err))
			return err->code;
	}
	return COREN_OK;
}

static enum coren_err yaml_axis_order(void *obj,
				      const struct coren_yaml_node *n,
				      const char *dir, struct coren_error *err)
{
	struct coren_memo_exp *e = obj;

	(void)dir;
	if (coren_yaml_expect(n, COREN_YAML_SEQUENCE, err))
		return err->code;
	for (size_t i = 0; i < e->naxis_order; i++)
		free(e->axis_order[i]);
	free(e->axis_order);
	e->naxis_order = 0;
	e->axis_order = calloc(n->n ? n->n : 1, sizeof *e->axis_order);
	if (!e->axis_order)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		if (yaml_string(n->items[i], &e->axis_order[i], err))
			return err->code;
		e->naxis_order++;
	}
	return COREN_OK;
}

/* *path taken against the file's directory dir when it is relative
 * (and, with need_slash, names a path rather than a name to search):
 * running "swarm-run -c sweep/exp.yaml" from elsewhere finds the same
 * cache and program as running it in sweep/. */
static enum coren_err against(const char *dir, char **path, bool need_slash,
			      struct coren_error *err)
{
	char *joined;

	if (!dir || !*dir || !strcmp(dir, ".") || !*path || **path == '/' ||
	    (need_slash && !strchr(*path, '/')))
		return COREN_OK;
	if (asprintf(&joined, "%s%s%s", dir,
		     dir[strlen(dir) - 1] == '/' ? "" : "/", *path) < 0)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	free(*path);
	*path = joined;
	return COREN_OK;
}

/* The file's cache, exec and program of cmd or coproc, against its
 * directory; a command's other arguments are the command's (python3
 * f.py opens f.py where it runs), and argv[0] keeps its text, which
 * names the function in chunk ids wherever the run starts. */
static enum coren_err yaml_paths(struct coren_memo_exp *e,
				 const struct coren_yaml_node *root,
				 const char *dir, struct coren_error *err)
{
	bool cmd = coren_yaml_get(root, "cmd"),
	     co = coren_yaml_get(root, "coproc");
	char **argv = co ? e->coproc : e->cmd;

	if ((coren_yaml_get(root, "cache") &&
	     against(dir, &e->cache, false, err)) ||
	    (coren_yaml_get(root, "exec") && against(dir, &e->exec, true, err)) ||
	    (coren_yaml_get(root, "secret_key") &&
	     against(dir, &e->secret_key, false, err)))
		return err->code;
	/* a trusted key without ':' is a file of keys */
	for (char **k = coren_yaml_get(root, "trusted_keys") ? e->trusted_keys
							     : NULL;
	     k && *k; k++)
		if (!strchr(*k, ':') && against(dir, k, false, err))
			return err->code;
	if (!cmd && !co)
		return COREN_OK;
	free(e->prog);
	e->prog = NULL;
	if (!strchr(argv[0], '/') || argv[0][0] == '/')
		return COREN_OK;
	if (!(e->prog = strdup(argv[0])))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return against(dir, &e->prog, true, err);
}

/* ---- the settings table --------------------------------------------- */

static enum coren_err set_param(void *e, const char *v, struct coren_error *err)
{
	return coren_memo_exp_param(e, v, err);
}

static enum coren_err set_split(void *e, const char *v, struct coren_error *err)
{
	return coren_memo_exp_split(e, v, err);
}

static enum coren_err set_memo_chunk(void *e, const char *v,
				     struct coren_error *err)
{
	return coren_memo_exp_memo_chunk(e, v, err);
}

/* --axis-order A,B,...: replaces the file's. */
static enum coren_err set_axis_order(void *obj, const char *v,
				     struct coren_error *err)
{
	struct coren_memo_exp *e = obj;
	size_t n = 1;
	char *copy = strdup(v), *save = NULL;

	for (const char *p = v; *p; p++)
		n += *p == ',';
	for (size_t i = 0; i < e->naxis_order; i++)
		free(e->axis_order[i]);
	free(e->axis_order);
	e->naxis_order = 0;
	e->axis_order = calloc(n, sizeof *e->axis_order);
	if (!copy || !e->axis_order) {
		free(copy);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!(e->axis_order[e->naxis_order++] = strdup(tok)))
			break;
	free(copy);
	return COREN_OK;
}

static enum coren_err yaml_params(void *obj, const struct coren_yaml_node *n,
				  const char *dir, struct coren_error *err)
{
	struct coren_memo_exp *e = obj;
	json_t *p;

	(void)dir;
	if (coren_yaml_expect(n, COREN_YAML_MAPPING, err))
		return err->code;
	if (!(p = coren_yaml_to_json(n, err)))
		return err->code;
	json_object_update(e->params, p);
	json_decref(p);
	return COREN_OK;
}

#define EXP(member) COREN_SETTING_AT(struct coren_memo_exp, member)

const struct coren_setting coren_memo_exp_settings[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL,
		   "The experiment (options override the file):")},
	{COREN_ROW(CUSTOM, "params", "param", 0, "K=V",
		   "a fixed parameter (V: JSON scalar, else string)"),
	 .set = set_param, .set_yaml = yaml_params},
	{COREN_ROW(CUSTOM, "split", "split", 0, "AXIS=V1,V2,..",
		   "an axis and its values, or AXIS=A..B[..STEP]"),
	 .set = set_split, .set_yaml = yaml_split},
	{COREN_ROW(CUSTOM, "memo_chunk", "memo-chunk", 0, "AXIS=N",
		   "values of AXIS per memo chunk"),
	 .set = set_memo_chunk, .set_yaml = yaml_memo_chunk},
	{COREN_ROW(COUNT, "exec_chunk", "exec-chunk", 0, "N|auto",
		   "points per worker batch (default auto: sized\n"
		   "from the measured time of a point), 1..1G"),
	 .flags = COREN_SETTING_AUTO, .min = 1, .max = 1e9, EXP(exec_chunk)},
	{COREN_ROW(CUSTOM, "axis_order", "axis-order", 0, "A,B,..",
		   "axis order (default: sorted by name)"),
	 .set = set_axis_order, .set_yaml = yaml_axis_order},
	{COREN_ROW(STRING, "cache", "cache", 0, "DIR",
		   "chunk cache (default $COREN_CACHE_DIR/chunks,\n"
		   "else $XDG_CACHE_HOME/coren/chunks, else\n"
		   "~/.cache/coren/chunks)"),
	 .flags = COREN_SETTING_NONEMPTY, EXP(cache)},
	{COREN_ROW(STRING, "version", "exp-version", 0, "V",
		   "the experiment's version (default v1), part of\n"
		   "every chunk id"),
	 EXP(version)},
	{COREN_ROW(COUNT, "workers", "workers", 0, "N|auto",
		   "parallel workers, 1..4096 (default auto: one\n"
		   "per core)"),
	 .flags = COREN_SETTING_AUTO, .min = 1, .max = 4096, EXP(workers)},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "The function (one of):")},
	{COREN_ROW(STRING, "exec", "exec", 0, "PLUGIN",
		   "an exec plugin, by name or path"),
	 EXP(exec)},
	{COREN_ROW(ARGV, "cmd", "cmd", 0, "PROG ARG...",
		   "run PROG per point (the rest of the line);\n"
		   "{axis} in ARGs is the point's value, and\n"
		   "SWARM_POINT, SWARM_PARAMS, SWARM_V_<axis> are set"),
	 EXP(cmd)},
	{COREN_ROW(ARGV, "coproc", "coproc", 0, "PROG ARG...",
		   "one PROG per worker, started at its first\n"
		   "batch, fed 'point' lines with a 'seq' on stdin,\n"
		   "answering one 'result' or 'error' line per\n"
		   "point, naming its seq (protocol v2)"),
	 EXP(coproc)},
	{COREN_ROW(DURATION, "timeout", "timeout", 0, "DURATION",
		   "with --cmd, --coproc, --isolate: a point that\n"
		   "takes longer fails with reason 'timeout' and\n"
		   "its process group is killed (e.g. 1.5, 30s)"),
	 EXP(timeout)},
	{COREN_ROW(COUNT, "retries", "retries", 0, "N",
		   "run a failed point up to N more times\n"
		   "(default 0, at most 1000000)"),
	 .max = 1e6, EXP(retries)},
	{COREN_ROW(STRING, "fn_id", "fn-id", 0, "TEXT",
		   "name the function TEXT in chunk ids instead of\n"
		   "its plugin name and version, or its command\n"
		   "and the SHA-256 of its program and scripts"),
	 .flags = COREN_SETTING_NONEMPTY, EXP(fn_id)},
	{COREN_ROW(STRINGS, "trusted_keys", "trusted-key", 0, "KEY|FILE",
		   "accept tier chunks this key signed\n"
		   "(repeatable; also COREN_TRUSTED_KEYS)"),
	 EXP(trusted_keys)},
	{COREN_ROW(STRING, "secret_key", "secret-key", 0, "FILE",
		   "sign the chunks stored and published here\n"
		   "(also COREN_SECRET_KEY_FILE)"),
	 EXP(secret_key)},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};

enum coren_err coren_memo_exp_load_yaml(struct coren_memo_exp *e,
					const struct coren_yaml_node *root,
					const char *base_dir,
					struct coren_error *err)
{
	const struct coren_settings tab = {coren_memo_exp_settings, e};

	if (coren_settings_yaml(&tab, 1, root, NULL, err))
		return err->code;
	return yaml_paths(e, root, base_dir, err);
}

/* ---- finishing -------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct coren_memo_axis *)a)->name,
		      ((const struct coren_memo_axis *)b)->name);
}

enum coren_err coren_memo_exp_finish(struct coren_memo_exp *e,
				     struct coren_error *err)
{
	if (!e->params || !e->version)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (e->cache && !*e->cache) /* "" would put chunks in / */
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the cache directory is empty ('')");
	if (e->fn_id && !*e->fn_id)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the function id is empty ('')");
	for (size_t i = 0; i < e->naxes; i++) {
		if (!e->axes[i].values && !e->axes[i].range)
			return coren_error_set(err, COREN_ERR_USAGE,
					       "memo chunk size for '%s', "
					       "which is not a split axis",
					       e->axes[i].name);
		if (!e->axes[i].bin)
			return coren_error_set(err, COREN_ERR_USAGE,
					       "no memo chunk size for axis "
					       "'%s' (--memo-chunk %s=N)",
					       e->axes[i].name,
					       e->axes[i].name);
		if (json_object_get(e->params, e->axes[i].name))
			return coren_error_set(err, COREN_ERR_USAGE,
					       "'%s' is both a param and an "
					       "axis",
					       e->axes[i].name);
	}
	if (e->naxes)
		qsort(e->axes, e->naxes, sizeof *e->axes, by_name);
	if (!e->naxis_order)
		return COREN_OK;
	if (e->naxis_order != e->naxes)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "axis order names %zu axes, the split "
				       "has %zu",
				       e->naxis_order, e->naxes);
	for (size_t i = 0; i < e->naxis_order; i++) {
		size_t j;

		for (j = i; j < e->naxes; j++)
			if (!strcmp(e->axes[j].name, e->axis_order[i]))
				break;
		if (j == e->naxes)
			return coren_error_set(err, COREN_ERR_USAGE,
					       "axis order: '%s' is not a "
					       "split axis (or named twice)",
					       e->axis_order[i]);
		if (j != i) {
			struct coren_memo_axis t = e->axes[i];

			e->axes[i] = e->axes[j];
			e->axes[j] = t;
		}
	}
	return COREN_OK;
}
