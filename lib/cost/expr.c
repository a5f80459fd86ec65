/* expr.c - the cost expression parser (coren_cost_parse, coren/cost.h).
 *
 *   top  := [NAME "="] seq
 *   seq  := par { ("then" | "+") par }
 *   par  := rep { "par" rep }
 *   rep  := atom { "repeat" NUMBER }
 *   atom := "(" seq ")" | FUNCTION "(" NUMBER { "," NUMBER } ")"
 */
#include "config.h"

#include <coren/cost.h>
#include <coren/units.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200

struct parser {
	const char *s;	/* the whole expression */
	const char *p;	/* current position */
	int depth;
	size_t *col;
	struct coren_error *err;
};

static enum coren_err fail(struct parser *ps, const char *at, const char *fmt,
			   ...) COREN_PRINTF(3, 4);

static enum coren_err fail(struct parser *ps, const char *at, const char *fmt,
			   ...)
{
	char msg[COREN_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	*ps->col = (size_t)(at - ps->s) + 1;
	return coren_error_set(ps->err, COREN_ERR_USAGE, "%s", msg);
}

static void skip_space(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static int is_ident(int c)
{
	return isalnum(c) || c == '_';
}

/* Length of the identifier at p. */
static size_t ident_len(const char *p)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return 0;
	while (is_ident((unsigned char)p[n]))
		n++;
	return n;
}

/* Whether the next token is the keyword kw; consumes it if so. */
static int keyword(struct parser *ps, const char *kw)
{
	size_t n = strlen(kw);

	skip_space(ps);
	if (ident_len(ps->p) == n && !strncmp(ps->p, kw, n)) {
		ps->p += n;
		return 1;
	}
	return 0;
}

/* A number with its unit, through the one grammar (coren/units.h). */
static enum coren_err number(struct parser *ps, uint64_t *out)
{
	struct coren_error uerr = {0};
	const char *end;

	skip_space(ps);
	if (coren_unit_scan_u64(ps->p, COREN_UNIT_SIZE, &end, out, &uerr)) {
		const char *why = strstr(uerr.msg, "': ");

		if (!isdigit((unsigned char)*ps->p))
			return fail(ps, ps->p,
				    *ps->p ? "expected a number, got '%.*s'"
					   : "expected a number at the end",
				    (int)(ident_len(ps->p) ? ident_len(ps->p)
							   : 1),
				    ps->p);
		return fail(ps, end, "%s", why ? why + 3 : uerr.msg);
	}
	ps->p = end;
	return COREN_OK;
}

static const struct {
	const char *name;
	int arity;
	const char *args;
} functions[] = {
	{"new", 4, "W, Q, M, R"},   {"scan", 2, "nb, R"},
	{"sort", 3, "n, b, R"},	    {"hash", 1, "nb"},
	{"matmul", 4, "m, n, k, R"}, {"etl", 4, "rows, rb, fpr, R"},
	{"copy", 1, "size"},
};

static struct coren_cost apply(int f, const uint64_t *a)
{
	switch (f) {
	case 0: return coren_cost_new(a[0], a[1], a[2], a[3]);
	case 1: return coren_cost_scan(a[0], a[1]);
	case 2: return coren_cost_sort(a[0], a[1], a[2]);
	case 3: return coren_cost_hash(a[0]);
	case 4: return coren_cost_matmul(a[0], a[1], a[2], a[3]);
	case 5: return coren_cost_etl(a[0], a[1], a[2], a[3]);
	default: return coren_cost_copy(a[0]);
	}
}

static enum coren_err seq(struct parser *ps, struct coren_cost *out);

/* FUNCTION "(" NUMBER { "," NUMBER } ")" */
static enum coren_err call(struct parser *ps, struct coren_cost *out)
{
	const char *name = ps->p;
	size_t n = ident_len(name), f, nf = sizeof functions / sizeof functions[0];
	uint64_t args[4];
	int argc = 0;
	enum coren_err rc;

	for (f = 0; f < nf; f++)
		if (strlen(functions[f].name) == n &&
		    !strncmp(functions[f].name, name, n))
			break;
	if (f == nf)
		return fail(ps, name, "unknown function '%.*s' (known: new, scan, "
				      "sort, hash, matmul, etl, copy)",
			    (int)n, name);
	ps->p += n;
	skip_space(ps);
	if (*ps->p != '(')
		return fail(ps, ps->p, "expected '(' after '%s'",
			    functions[f].name);
	ps->p++;
	for (;;) {
		skip_space(ps);
		if (argc == 4 || (argc > 0 && *ps->p == ')'))
			break;
		if ((rc = number(ps, &args[argc++])))
			return rc;
		skip_space(ps);
		if (*ps->p != ',')
			break;
		ps->p++;
	}
	skip_space(ps);
	if (argc != functions[f].arity || *ps->p != ')') {
		if (!*ps->p)
			return fail(ps, ps->p, "expected ')' at the end");
		if (*ps->p != ')' && *ps->p != ',')
			return fail(ps, ps->p, "expected ',' or ')', got '%c'",
				    *ps->p);
		return fail(ps, name, "'%s' takes %d argument%s (%s)",
			    functions[f].name, functions[f].arity,
			    functions[f].arity == 1 ? "" : "s",
			    functions[f].args);
	}
	ps->p++;
	*out = apply((int)f, args);
	return COREN_OK;
}

/* "(" seq ")" | call */
static enum coren_err atom(struct parser *ps, struct coren_cost *out)
{
	const char *open;
	enum coren_err rc;

	skip_space(ps);
	if (*ps->p != '(') {
		if (!*ps->p)
			return fail(ps, ps->p,
				    "expected a function or '(' at the end");
		if (!ident_len(ps->p))
			return fail(ps, ps->p, "expected a function or '(', got '%c'",
				    *ps->p);
		return call(ps, out);
	}
	open = ps->p++;
	if (++ps->depth > MAX_DEPTH)
		return fail(ps, open, "parentheses nested deeper than %d",
			    MAX_DEPTH);
	if ((rc = seq(ps, out)))
		return rc;
	ps->depth--;
	skip_space(ps);
	if (*ps->p != ')')
		return fail(ps, ps->p, *ps->p ? "expected ')' to close the '(' at "
						"column %zu"
					      : "expected ')' to close the '(' at "
						"column %zu, at the end",
			    (size_t)(open - ps->s) + 1);
	ps->p++;
	return COREN_OK;
}

static enum coren_err rep(struct parser *ps, struct coren_cost *out)
{
	enum coren_err rc = atom(ps, out);
	uint64_t k;

	while (!rc && keyword(ps, "repeat")) {
		if (!(rc = number(ps, &k)))
			*out = coren_cost_repeat(*out, k);
	}
	return rc;
}

static enum coren_err par(struct parser *ps, struct coren_cost *out)
{
	enum coren_err rc = rep(ps, out);
	struct coren_cost b;

	while (!rc && keyword(ps, "par")) {
		if (!(rc = rep(ps, &b)))
			*out = coren_cost_par(*out, b);
	}
	return rc;
}

static enum coren_err seq(struct parser *ps, struct coren_cost *out)
{
	enum coren_err rc = par(ps, out);
	struct coren_cost b;

	for (;;) {
		if (rc)
			return rc;
		skip_space(ps);
		if (*ps->p == '+')
			ps->p++;
		else if (!keyword(ps, "then"))
			return COREN_OK;
		if (!(rc = par(ps, &b)))
			*out = coren_cost_then(*out, b);
	}
}

/* The "NAME =" prefix, if any (an expression never holds '='): the name
 * without surrounding blanks in *name and *len; returns the position after
 * '=', or s when there is none. */
static const char *name_prefix(const char *s, const char **name, size_t *len)
{
	const char *eq = strchr(s, '='), *e;

	*len = 0;
	if (!eq)
		return s;
	*name = s;
	while (isspace((unsigned char)**name))
		(*name)++;
	for (e = eq; e > *name && isspace((unsigned char)e[-1]); e--)
		;
	*len = (size_t)(e - *name);
	return eq + 1;
}

enum coren_err coren_cost_parse(const char *expr, struct coren_cost *out,
				char **name, size_t *col,
				struct coren_error *err)
{
	struct parser ps = {expr, expr, 0, col, err};
	const char *nm = NULL;
	size_t n;
	enum coren_err rc;

	*col = 0;
	if (name)
		*name = NULL;
	ps.p = name_prefix(expr, &nm, &n);
	if (ps.p != expr && !n)
		return fail(&ps, expr, "empty name before '='");
	if (n && name && !(*name = strndup(nm, n)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	skip_space(&ps);
	if (!*ps.p)
		rc = fail(&ps, ps.p, "empty expression");
	else
		rc = seq(&ps, out);
	if (!rc) {
		skip_space(&ps);
		if (*ps.p)
			rc = fail(&ps, ps.p, "unexpected '%.*s' after the expression",
				  (int)(ident_len(ps.p) ? ident_len(ps.p) : 1),
				  ps.p);
	}
	if (rc && name) {
		free(*name);
		*name = NULL;
	}
	return rc;
}
