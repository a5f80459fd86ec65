/* settings.c - one table of settings per configured object
 * (coren/settings.h): the command line, YAML files and --help from the
 * same rows. */
#include "config.h"

#include <coren/settings.h>
#include <coren/units.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_BASE 0x1000 /* getopt codes: CODE_BASE + the row's number */

static void store_u64(void *at, size_t width, uint64_t v)
{
	if (width == sizeof(uint32_t))
		*(uint32_t *)at = (uint32_t)v;
	else if (width == sizeof(uint16_t))
		*(uint16_t *)at = (uint16_t)v;
	else if (width == sizeof(uint8_t))
		*(uint8_t *)at = (uint8_t)v;
	else
		*(uint64_t *)at = v;
}

static double width_max(size_t width)
{
	return width >= 8 ? 18446744073709551615.0
			  : (double)((UINT64_C(1) << (8 * width)) - 1);
}

/* "from 1 to 4096", "at least 1", "at most 10", for messages. */
static void range_text(const struct coren_setting *s, char *buf, size_t n)
{
	double max = s->max > 0 ? s->max : 0;

	if (max > 0)
		snprintf(buf, n, "from %.15g to %.15g", s->min, max);
	else
		snprintf(buf, n, "at least %.15g", s->min);
}

static enum coren_err out_of_range(const struct coren_setting *s,
				   const char *label, const char *value,
				   struct coren_error *err)
{
	char range[96];

	range_text(s, range, sizeof range);
	return coren_error_set(err, COREN_ERR_USAGE, "%s '%s': a %s %s%s",
			       label, value,
			       s->type == COREN_SETTING_DURATION ? "duration"
			       : s->type == COREN_SETTING_SIZE	 ? "size"
			       : s->type == COREN_SETTING_RATE	 ? "rate"
								 : "count",
			       range,
			       s->flags & COREN_SETTING_AUTO ? ", or auto" : "");
}

static enum coren_err unit_error(const char *label, const char *value,
				 enum coren_units kind, struct coren_error *err)
{
	char msg[COREN_ERROR_MSG_MAX], quoted[COREN_ERROR_MSG_MAX];
	size_t q;

	snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
	/* "'1.5' is not an integer": the value is said once, before */
	q = (size_t)snprintf(quoted, sizeof quoted, "'%s' is ", value);
	if (!strncmp(msg, quoted, q))
		memmove(msg, msg + q, strlen(msg + q) + 1);
	if (!strncmp(msg, "unknown unit", 12))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "%s '%s': %s (a %s takes %s)", label,
				       value, msg, coren_unit_name(kind),
				       coren_unit_list(kind));
	return coren_error_set(err, COREN_ERR_USAGE, "%s '%s': %s", label,
			       value, msg);
}

static enum coren_err apply_number(const struct coren_setting *s, void *at,
				   const char *label, const char *value,
				   struct coren_error *err)
{
	double max = s->max > 0 ? s->max : width_max(s->width);
	uint64_t u;
	double d;

	if ((s->flags & COREN_SETTING_AUTO) && !strcmp(value, "auto")) {
		if (s->type == COREN_SETTING_SIZE ||
		    s->type == COREN_SETTING_COUNT)
			store_u64(at, s->width, 0);
		else
			*(double *)at = 0;
		return COREN_OK;
	}
	if (s->type == COREN_SETTING_SIZE || s->type == COREN_SETTING_COUNT) {
		enum coren_units kind = s->type == COREN_SETTING_SIZE
					       ? COREN_UNITS_SIZE
					       : COREN_UNITS_COUNT;

		if (coren_unit_u64(value, kind, &u, err))
			return unit_error(label, value, kind, err);
		if ((s->flags & COREN_SETTING_DOUBLE) &&
		    ((double)u < s->min || (s->max > 0 && (double)u > s->max)))
			return out_of_range(s, label, value, err);
		if (s->flags & COREN_SETTING_DOUBLE) {
			*(double *)at = (double)u;
			return COREN_OK;
		}
		if ((double)u < s->min || (double)u > max ||
		    (s->width < 8 && u > (UINT64_C(1) << (8 * s->width)) - 1))
			return out_of_range(s, label, value, err);
		store_u64(at, s->width, u);
		return COREN_OK;
	}
	if (coren_unit_real(value,
			    s->type == COREN_SETTING_DURATION
				    ? COREN_UNITS_DURATION
				    : COREN_UNITS_RATE,
			    &d, err))
		return unit_error(label, value,
				  s->type == COREN_SETTING_DURATION
					  ? COREN_UNITS_DURATION
					  : COREN_UNITS_RATE,
				  err);
	if (d < s->min || (s->max > 0 && d > s->max))
		return out_of_range(s, label, value, err);
	*(double *)at = d;
	return COREN_OK;
}

static enum coren_err apply_enum(const struct coren_setting *s, void *at,
				 const char *label, const char *value,
				 struct coren_error *err)
{
	char list[256] = "";

	for (int i = 0; s->choices[i]; i++) {
		if (!strcmp(s->choices[i], value)) {
			*(int *)at = i;
			return COREN_OK;
		}
		snprintf(list + strlen(list), sizeof list - strlen(list),
			 "%s%s", i ? ", " : "", s->choices[i]);
	}
	return coren_error_set(err, COREN_ERR_USAGE, "%s '%s': one of %s",
			       label, value, list);
}

static enum coren_err append(char ***list, const char *value,
			     struct coren_error *err)
{
	size_t n = 0;
	char **v;

	while (*list && (*list)[n])
		n++;
	if (!(v = realloc(*list, (n + 2) * sizeof *v)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	*list = v;
	if (!(v[n] = strdup(value)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	v[n + 1] = NULL;
	return COREN_OK;
}

enum coren_err coren_setting_apply(const struct coren_setting *s, void *obj,
				   const char *label, const char *value,
				   struct coren_error *err)
{
	void *at = (char *)obj + s->offset;
	char *copy;

	switch (s->type) {
	case COREN_SETTING_FLAG:
		store_u64(at, s->width, 1);
		return COREN_OK;
	case COREN_SETTING_SIZE:
	case COREN_SETTING_COUNT:
	case COREN_SETTING_DURATION:
	case COREN_SETTING_RATE:
		return apply_number(s, at, label, value, err);
	case COREN_SETTING_ENUM:
		return apply_enum(s, at, label, value, err);
	case COREN_SETTING_STRING:
		if ((s->flags & COREN_SETTING_NONEMPTY) && !*value)
			return coren_error_set(err, COREN_ERR_USAGE,
					       "%s '': may not be empty", label);
		if (!(copy = strdup(value)))
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
		free(*(char **)at);
		*(char **)at = copy;
		return COREN_OK;
	case COREN_SETTING_STRINGS:
		return append((char ***)at, value, err);
	case COREN_SETTING_CUSTOM: {
		enum coren_err rc = s->set(obj, value, err);
		char why[COREN_ERROR_MSG_MAX];

		if (rc != COREN_ERR_USAGE || !(s->flags & COREN_SETTING_REASON) ||
		    !err)
			return rc;
		snprintf(why, sizeof why, "%s", err->msg);
		return coren_error_set(err, rc, "%s '%s': %s", label, value, why);
	}
	case COREN_SETTING_ARGV:
	case COREN_SETTING_END:
	case COREN_SETTING_HEADING:
		break;
	}
	return coren_error_set(err, COREN_ERR_USAGE, "%s: takes no value",
			       label);
}

/* Copies the NULL-terminated argv v into the row's char ** (replacing). */
static enum coren_err set_argv(const struct coren_setting *s, void *obj,
			       char *const *v, struct coren_error *err)
{
	char ***at = (char ***)((char *)obj + s->offset);

	for (char **p = *at; p && *p; p++)
		free(*p);
	free(*at);
	*at = NULL;
	for (; *v; v++)
		if (append(at, *v, err))
			return err ? err->code : COREN_ERR_NOMEM;
	if (!*at)
		return coren_error_set(err, COREN_ERR_USAGE, "no command");
	return COREN_OK;
}

/* ---- the command line ---------------------------------------------- */

struct row_ref {
	const struct coren_setting *row;
	void *obj;
};

static size_t count_rows(const struct coren_settings *tabs, size_t ntabs)
{
	size_t n = 0;

	for (size_t t = 0; t < ntabs; t++)
		for (const struct coren_setting *s = tabs[t].rows; s->type; s++)
			n++;
	return n;
}

static bool takes_value(const struct coren_setting *s)
{
	return s->type != COREN_SETTING_FLAG && s->type != COREN_SETTING_ARGV &&
	       !(s->type == COREN_SETTING_CUSTOM && !s->arg);
}

/* The getopt tables: long options, optstring, and the rows by code. */
static enum coren_err build(const struct coren_settings *tabs, size_t ntabs,
			    struct option **longs, char **shorts,
			    struct row_ref **refs, struct coren_error *err)
{
	size_t n = count_rows(tabs, ntabs), k = 0, i = 0, j;

	*longs = calloc(n + 1, sizeof **longs);
	*shorts = calloc(2 * n + 3, 1);
	*refs = calloc(n + 1, sizeof **refs);
	if (!*longs || !*shorts || !*refs)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	/* options may follow operands (GNU), unless a row takes the rest of
	 * the line: then the first operand ends the options */
	(*shorts)[0] = '-';
	(*shorts)[1] = ':';
	for (size_t t = 0; t < ntabs; t++)
		for (const struct coren_setting *s = tabs[t].rows; s->type; s++)
			if (s->type == COREN_SETTING_ARGV)
				(*shorts)[0] = '+';
	if ((*shorts)[0] == '-')
		memmove(*shorts, *shorts + 1, 2);
	j = strlen(*shorts);
	for (size_t t = 0; t < ntabs; t++)
		for (const struct coren_setting *s = tabs[t].rows; s->type;
		     s++, i++) {
			(*refs)[i] = (struct row_ref){s, tabs[t].obj};
			if (s->name)
				(*longs)[k++] = (struct option){
					s->name,
					takes_value(s) ? required_argument
						       : no_argument,
					NULL, (int)(CODE_BASE + i)};
			if (s->short_name) {
				(*shorts)[j++] = (char)s->short_name;
				if (takes_value(s))
					(*shorts)[j++] = ':';
			}
		}
	return COREN_OK;
}

/* The row a getopt code names: CODE_BASE + i, or a short option. */
static const struct row_ref *lookup(const struct row_ref *refs, size_t n,
				    int c)
{
	if (c >= CODE_BASE && (size_t)(c - CODE_BASE) < n)
		return &refs[c - CODE_BASE];
	for (size_t i = 0; i < n; i++)
		if (refs[i].row->short_name == c)
			return &refs[i];
	return NULL;
}

static enum coren_err bad_option(int c, int argc, char **argv,
				 struct coren_error *err)
{
	const char *arg = optind - 1 < argc && optind > 0 ? argv[optind - 1]
							  : "";
	char opt[3] = {'-', (char)optopt, 0};
	bool is_long = !strncmp(arg, "--", 2);

	if (c == ':')
		return coren_error_set(err, COREN_ERR_USAGE,
				       "option '%s' needs a value",
				       is_long ? arg : opt);
	if (is_long && optopt && strchr(arg, '='))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "option '%.*s' takes no value",
				       (int)(strchr(arg, '=') - arg), arg);
	return coren_error_set(err, COREN_ERR_USAGE, "unknown option '%s'",
			       is_long ? arg : opt);
}

static enum coren_err keep(struct coren_setting_use **uses, size_t *nuses,
			   struct coren_setting_use u, struct coren_error *err)
{
	struct coren_setting_use *v = realloc(*uses, (*nuses + 1) * sizeof *v);

	if (!v)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	*uses = v;
	v[(*nuses)++] = u;
	return COREN_OK;
}

/* "--name" or "-c", for messages. */
static void label_of(const struct coren_setting *s, char *buf, size_t n)
{
	if (s->name)
		snprintf(buf, n, "--%s", s->name);
	else
		snprintf(buf, n, "-%c", s->short_name);
}

static enum coren_err one(const struct row_ref *r, int argc, char **argv,
			  struct coren_setting_use **uses, size_t *nuses,
			  struct coren_error *err)
{
	struct coren_setting_use u = {r->row, r->obj, optarg, NULL};
	char label[80];

	if (r->row->type == COREN_SETTING_ARGV) {
		if (optind >= argc) {
			label_of(r->row, label, sizeof label);
			return coren_error_set(err, COREN_ERR_USAGE,
					       "%s needs a command", label);
		}
		u.rest = argv + optind;
		optind = argc;
	}
	if (r->row->extra) {
		if (optind + (int)r->row->extra > argc) {
			label_of(r->row, label, sizeof label);
			return coren_error_set(err, COREN_ERR_USAGE,
					       "%s %s: needs %u more value%s",
					       label, optarg, r->row->extra,
					       r->row->extra > 1 ? "s" : "");
		}
		u.rest = argv + optind;
		optind += (int)r->row->extra;
	}
	if (r->row->key || (r->row->flags & COREN_SETTING_LATER))
		return keep(uses, nuses, u, err);
	return coren_settings_apply_uses(&u, 1, err);
}

enum coren_err coren_settings_argv(const struct coren_settings *tabs,
				   size_t ntabs, int argc, char **argv,
				   struct coren_setting_use **uses,
				   size_t *nuses, int *next,
				   struct coren_error *err)
{
	struct option *longs = NULL;
	struct row_ref *refs = NULL;
	char *shorts = NULL;
	size_t n = count_rows(tabs, ntabs);
	enum coren_err rc;
	int c, saved = opterr;

	*uses = NULL;
	*nuses = 0;
	if ((rc = build(tabs, ntabs, &longs, &shorts, &refs, err)))
		goto out;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct row_ref *r = lookup(refs, n, c);

		if (c == '?' || c == ':' || !r) {
			rc = bad_option(c, argc, argv, err);
			break;
		}
		if ((rc = one(r, argc, argv, uses, nuses, err)))
			break;
	}
	*next = optind;
out:
	opterr = saved;
	free(longs);
	free(shorts);
	free(refs);
	return rc;
}

enum coren_err coren_settings_apply_uses(const struct coren_setting_use *uses,
					 size_t nuses, struct coren_error *err)
{
	char label[80];
	enum coren_err rc;

	for (size_t i = 0; i < nuses; i++) {
		const struct coren_setting *s = uses[i].row;

		label_of(s, label, sizeof label);
		if (s->type == COREN_SETTING_ARGV)
			rc = set_argv(s, uses[i].obj, uses[i].rest, err);
		else if (s->extra)
			rc = s->set_more(uses[i].obj, uses[i].value,
					 uses[i].rest, err);
		else
			rc = coren_setting_apply(s, uses[i].obj, label,
						 uses[i].value, err);
		if (rc)
			return rc;
	}
	return COREN_OK;
}

/* ---- YAML ---------------------------------------------------------- */

static const struct coren_setting *find_key(const struct coren_settings *tabs,
					    size_t ntabs, const char *key,
					    void **obj)
{
	for (size_t t = 0; t < ntabs; t++)
		for (const struct coren_setting *s = tabs[t].rows; s->type; s++)
			if (s->key && !strcmp(s->key, key)) {
				*obj = tabs[t].obj;
				return s;
			}
	return NULL;
}

static enum coren_err yaml_strings(const struct coren_setting *s, void *obj,
				   const struct coren_yaml_node *v,
				   struct coren_error *err)
{
	char **list = NULL;
	enum coren_err rc = COREN_OK;

	if (v->kind != COREN_YAML_SEQUENCE || !v->n)
		return coren_yaml_error(v, err, "%s: a list of strings, e.g. "
						"[%s]",
					s->key,
					s->type == COREN_SETTING_ARGV
						? "prog, arg"
						: "a, b");
	for (size_t i = 0; i < v->n && !rc; i++) {
		if (v->items[i]->kind != COREN_YAML_SCALAR) {
			rc = coren_yaml_error(v->items[i], err,
					      "%s: expected a string, got a %s",
					      s->key,
					      coren_yaml_kind_name(
						      v->items[i]->kind));
			break;
		}
		rc = append(&list, v->items[i]->value, err);
	}
	if (!rc && s->type == COREN_SETTING_ARGV)
		rc = set_argv(s, obj, list, err);
	else if (!rc)
		for (char **p = list; *p && !rc; p++)
			rc = append((char ***)((char *)obj + s->offset), *p, err);
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
	return rc;
}

static enum coren_err yaml_scalar(const struct coren_setting *s, void *obj,
				  const struct coren_yaml_node *v,
				  struct coren_error *err)
{
	enum coren_err rc;

	if (v->kind != COREN_YAML_SCALAR)
		return coren_yaml_error(v, err, "%s: expected a scalar, got a %s",
					s->key, coren_yaml_kind_name(v->kind));
	if (s->type == COREN_SETTING_FLAG) {
		bool b;

		if (coren_yaml_get_bool(v, &b, NULL))
			return coren_yaml_error(v, err, "%s '%s': true or false",
						s->key, v->value);
		store_u64((char *)obj + s->offset, s->width, b);
		return COREN_OK;
	}
	rc = coren_setting_apply(s, obj, s->key, v->value, err);
	if (rc && rc != COREN_ERR_NOMEM) {
		char msg[COREN_ERROR_MSG_MAX];

		snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
		return coren_yaml_error(v, err, "%s", msg);
	}
	return rc;
}

enum coren_err coren_setting_yaml(const struct coren_setting *s, void *obj,
				  const struct coren_yaml_node *v,
				  const char *dir, struct coren_error *err)
{
	if (s->type == COREN_SETTING_CUSTOM && s->set_yaml)
		return s->set_yaml(obj, v, dir, err);
	if (s->type == COREN_SETTING_ARGV || s->type == COREN_SETTING_STRINGS)
		return yaml_strings(s, obj, v, err);
	return yaml_scalar(s, obj, v, err);
}

enum coren_err coren_settings_yaml(const struct coren_settings *tabs,
				   size_t ntabs,
				   const struct coren_yaml_node *map,
				   const char *dir, struct coren_error *err)
{
	enum coren_err rc;

	if ((rc = coren_yaml_expect(map, COREN_YAML_MAPPING, err)))
		return rc;
	for (size_t i = 0; i < map->n; i++) {
		const struct coren_yaml_node *k = map->items[2 * i],
					     *v = map->items[2 * i + 1];
		const struct coren_setting *s;
		void *obj = NULL;

		if (!(s = find_key(tabs, ntabs, k->value, &obj)))
			return coren_yaml_error(k, err, "unknown key '%s'",
						k->value);
		if ((rc = coren_setting_yaml(s, obj, v, dir, err)))
			return rc;
	}
	return COREN_OK;
}

/* ---- --help -------------------------------------------------------- */

struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *p = realloc(t->s, cap);

		if (!p)
			return;
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* help's lines, the first after the option, the others indented. */
static void help_lines(struct text *t, const char *help, size_t col)
{
	const char *p = help, *nl;

	for (;;) {
		nl = strchr(p, '\n');
		put(t, p, nl ? (size_t)(nl - p) : strlen(p));
		puts_(t, "\n");
		if (!nl)
			return;
		p = nl + 1;
		for (size_t i = 0; i < col; i++)
			puts_(t, " ");
	}
}

static void help_row(struct text *t, const struct coren_setting *s)
{
	char left[128];
	size_t n;

	n = (size_t)snprintf(left, sizeof left, "  %s%s%s%s%s%s",
			     s->short_name ? (char[]){'-', (char)s->short_name,
						      0}
					   : "",
			     s->short_name && s->name ? ", " : "",
			     s->name ? "--" : "", s->name ? s->name : "",
			     s->arg ? " " : "", s->arg ? s->arg : "");
	puts_(t, left);
	if (n < 22) {
		for (; n < 24; n++)
			puts_(t, " ");
	} else if (n + 2 + strcspn(s->help ? s->help : "", "\n") <= 78) {
		puts_(t, "  ");
	} else { /* the help on a line of its own */
		puts_(t, "\n");
		for (n = 0; n < 24; n++)
			puts_(t, " ");
	}
	help_lines(t, s->help ? s->help : "", 24);
}

char *coren_settings_help(const struct coren_settings *tabs, size_t ntabs)
{
	struct text t = {0};

	puts_(&t, "");
	for (size_t i = 0; i < ntabs; i++)
		for (const struct coren_setting *s = tabs[i].rows; s->type; s++) {
			if (s->type == COREN_SETTING_HEADING)
				help_lines(&t, s->help, 0);
			else if ((s->name || s->short_name) && s->help)
				help_row(&t, s);
		}
	return t.s;
}

char *coren_settings_keys(const struct coren_setting *rows)
{
	struct text t = {0};

	puts_(&t, "");
	for (const struct coren_setting *s = rows; s->type; s++)
		if (s->key) {
			if (t.len)
				puts_(&t, ", ");
			puts_(&t, s->key);
		}
	return t.s;
}

const struct coren_setting *coren_setting_find(const struct coren_setting *rows,
					       const char *key,
					       const char *name)
{
	for (const struct coren_setting *s = rows; s->type; s++)
		if ((key && s->key && !strcmp(key, s->key)) ||
		    (name && s->name && !strcmp(name, s->name)))
			return s;
	return NULL;
}
