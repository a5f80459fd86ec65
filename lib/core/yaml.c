/* yaml.c - YAML documents as positioned trees (coren/yaml.h). */
#include "config.h"

#include <coren/file.h>
#include <coren/json.h>
#include <coren/yaml.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 256
#define MAX_JSON_NODES 1000000 /* aliases may multiply a tree in to_json */
#define MAX_FILE ((size_t)64 << 20)

struct anchor {
	char *name;
	struct coren_yaml_node *node;
};

struct coren_yaml_doc {
	char *name;
	struct coren_yaml_node *root;
	struct coren_yaml_node **nodes; /* every node, for freeing */
	size_t nnodes, anodes;
	struct anchor *anchors;
	size_t nanchors, aanchors;
};

struct loader {
	yaml_parser_t parser;
	struct coren_yaml_doc *doc;
	struct coren_error *err;
};

static enum coren_err at_mark(struct loader *l, yaml_mark_t m,
			      enum coren_err code, const char *fmt, ...)
	COREN_PRINTF(4, 5);

static enum coren_err at_mark(struct loader *l, yaml_mark_t m,
			      enum coren_err code, const char *fmt, ...)
{
	va_list ap;
	char msg[COREN_ERROR_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	coren_error_set(l->err, code, "%s", msg);
	coren_error_at(l->err, "%s:%zu:%zu", l->doc->name, m.line + 1,
		       m.column + 1);
	return code;
}

/* arr (n elements used of *alloc) with room for one more, doubling
 * *alloc when full; NULL on ENOMEM, arr then being unchanged. */
static void *grow(void *arr, size_t n, size_t *alloc, size_t size)
{
	size_t a;
	void *p;

	if (n < *alloc)
		return arr;
	a = *alloc ? 2 * *alloc : 8;
	p = realloc(arr, a * size);
	if (p)
		*alloc = a;
	return p;
}

static struct coren_yaml_node *new_node(struct loader *l,
					enum coren_yaml_kind kind,
					yaml_mark_t m)
{
	struct coren_yaml_doc *d = l->doc;
	struct coren_yaml_node *n, **nodes;

	nodes = grow(d->nodes, d->nnodes, &d->anodes, sizeof *d->nodes);
	if (!nodes)
		return NULL;
	d->nodes = nodes;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	d->nodes[d->nnodes++] = n;
	n->kind = kind;
	n->file = d->name;
	n->line = (unsigned)m.line + 1;
	n->col = (unsigned)m.column + 1;
	return n;
}

static enum coren_err push_item(struct coren_yaml_node *n, size_t *count,
				size_t *alloc, struct coren_yaml_node *c)
{
	struct coren_yaml_node **items =
		grow(n->items, *count, alloc, sizeof *n->items);

	if (!items)
		return COREN_ERR_NOMEM;
	n->items = items;
	n->items[(*count)++] = c;
	return COREN_OK;
}

static enum coren_err remember_anchor(struct loader *l, yaml_char_t *name,
				      struct coren_yaml_node *n)
{
	struct coren_yaml_doc *d = l->doc;
	struct anchor *anchors;

	if (!name)
		return COREN_OK;
	anchors = grow(d->anchors, d->nanchors, &d->aanchors, sizeof *anchors);
	if (!anchors)
		return COREN_ERR_NOMEM;
	d->anchors = anchors;
	d->anchors[d->nanchors].name = strdup((char *)name);
	if (!d->anchors[d->nanchors].name)
		return COREN_ERR_NOMEM;
	d->anchors[d->nanchors++].node = n;
	return COREN_OK;
}

static struct coren_yaml_node *find_anchor(struct coren_yaml_doc *d,
					   const char *name)
{
	size_t i = d->nanchors;

	while (i-- > 0) /* the latest definition wins */
		if (!strcmp(d->anchors[i].name, name))
			return d->anchors[i].node;
	return NULL;
}

static enum coren_err next_event(struct loader *l, yaml_event_t *ev)
{
	if (yaml_parser_parse(&l->parser, ev))
		return COREN_OK;
	if (l->parser.error == YAML_MEMORY_ERROR)
		return coren_error_set(l->err, COREN_ERR_NOMEM, "out of memory");
	if (l->parser.context)
		return at_mark(l, l->parser.problem_mark, COREN_ERR_CONFIG,
			       "%s %s", l->parser.problem, l->parser.context);
	return at_mark(l, l->parser.problem_mark, COREN_ERR_CONFIG, "%s",
		       l->parser.problem ? l->parser.problem : "invalid YAML");
}

static int key_index_cmp(const void *a, const void *b)
{
	const struct coren_yaml_node *x = *(struct coren_yaml_node *const *)a;
	const struct coren_yaml_node *y = *(struct coren_yaml_node *const *)b;
	int c = strcmp(x->value, y->value);

	if (c)
		return c;
	return x->line != y->line ? (x->line < y->line ? -1 : 1)
				  : (x->col < y->col ? -1 : x->col > y->col);
}

/* Rejects a mapping whose keys repeat, at the second occurrence. */
static enum coren_err check_duplicates(struct loader *l,
				       struct coren_yaml_node *map)
{
	struct coren_yaml_node **keys;
	enum coren_err rc = COREN_OK;
	size_t i;

	if (map->n < 2)
		return COREN_OK;
	keys = malloc(map->n * sizeof *keys);
	if (!keys)
		return coren_error_set(l->err, COREN_ERR_NOMEM, "out of memory");
	for (i = 0; i < map->n; i++)
		keys[i] = map->items[2 * i];
	qsort(keys, map->n, sizeof *keys, key_index_cmp);
	for (i = 1; i < map->n && !rc; i++)
		if (!strcmp(keys[i - 1]->value, keys[i]->value))
			rc = coren_yaml_error(keys[i], l->err,
					      "duplicate key '%s'",
					      keys[i]->value);
	free(keys);
	return rc;
}

static enum coren_err parse_node(struct loader *l, yaml_event_t *ev, int depth,
				 struct coren_yaml_node **out);

/* Refuses a scalar (key or value) holding a NUL ("\0" in a quoted
 * scalar) or bytes that are not UTF-8: every consumer treats scalars as C
 * strings (keys are compared with strcmp, names become file and
 * environment names), so such a scalar would be cut short or misread. */
static enum coren_err check_scalar(struct loader *l, struct coren_yaml_node *n)
{
	if (memchr(n->value, '\0', n->len))
		return coren_yaml_error(n, l->err, "scalar contains a NUL byte");
	if (!coren_json_utf8_valid(n->value, n->len))
		return coren_yaml_error(n, l->err, "scalar is not valid UTF-8");
	return COREN_OK;
}

/* Parses the children of the collection n up to its end event. */
static enum coren_err parse_children(struct loader *l,
				     struct coren_yaml_node *n, int depth)
{
	yaml_event_type_t end = n->kind == COREN_YAML_MAPPING
					? YAML_MAPPING_END_EVENT
					: YAML_SEQUENCE_END_EVENT;
	size_t count = 0, alloc = 0;
	enum coren_err rc;
	yaml_event_t ev;

	for (;;) {
		struct coren_yaml_node *c = NULL;

		if ((rc = next_event(l, &ev)))
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		rc = parse_node(l, &ev, depth + 1, &c);
		if (!rc && n->kind == COREN_YAML_MAPPING && count % 2 == 0 &&
		    c->kind != COREN_YAML_SCALAR)
			rc = coren_yaml_error(c, l->err,
					      "mapping keys must be scalars");
		if (!rc && push_item(n, &count, &alloc, c))
			rc = coren_error_set(l->err, COREN_ERR_NOMEM,
					     "out of memory");
		if (rc)
			return rc;
	}
	n->n = n->kind == COREN_YAML_MAPPING ? count / 2 : count;
	return n->kind == COREN_YAML_MAPPING ? check_duplicates(l, n) : COREN_OK;
}

/* Builds the node that starts with ev (consumed). */
static enum coren_err parse_node(struct loader *l, yaml_event_t *ev, int depth,
				 struct coren_yaml_node **out)
{
	struct coren_yaml_node *n = NULL;
	enum coren_err rc = COREN_OK;
	yaml_char_t *anchor = NULL;

	if (depth > MAX_DEPTH) {
		rc = at_mark(l, ev->start_mark, COREN_ERR_CONFIG,
			     "nesting deeper than %d levels", MAX_DEPTH);
		yaml_event_delete(ev);
		return rc;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		n = find_anchor(l->doc, (char *)ev->data.alias.anchor);
		if (!n)
			rc = at_mark(l, ev->start_mark, COREN_ERR_CONFIG,
				     "unknown alias '%s'",
				     (char *)ev->data.alias.anchor);
		break;
	case YAML_SCALAR_EVENT:
		n = new_node(l, COREN_YAML_SCALAR, ev->start_mark);
		if (!n)
			break;
		n->len = ev->data.scalar.length;
		{
			char *v = malloc(n->len + 1);

			if (v) {
				memcpy(v, ev->data.scalar.value, n->len);
				v[n->len] = '\0';
			}
			n->value = v;
		}
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !ev->data.scalar.tag;
		if (!n->value)
			n = NULL;
		else
			rc = check_scalar(l, n);
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = new_node(l,
			     ev->type == YAML_MAPPING_START_EVENT
				     ? COREN_YAML_MAPPING
				     : COREN_YAML_SEQUENCE,
			     ev->start_mark);
		anchor = ev->type == YAML_MAPPING_START_EVENT
				 ? ev->data.mapping_start.anchor
				 : ev->data.sequence_start.anchor;
		/* register the anchor first: the children may not refer to it
		 * (no cycles), so it is added after them, below */
		break;
	default:
		rc = at_mark(l, ev->start_mark, COREN_ERR_CONFIG,
			     "unexpected YAML event");
	}
	if (!n) { /* every failure above leaves n NULL */
		if (!rc)
			rc = coren_error_set(l->err, COREN_ERR_NOMEM,
					     "out of memory");
		yaml_event_delete(ev);
		*out = NULL;
		return rc;
	}
	if (n->kind != COREN_YAML_SCALAR && ev->type != YAML_ALIAS_EVENT)
		rc = parse_children(l, n, depth);
	if (!rc)
		rc = remember_anchor(l, anchor, n) ? coren_error_set(
			     l->err, COREN_ERR_NOMEM, "out of memory")
						   : COREN_OK;
	yaml_event_delete(ev);
	*out = n;
	return rc;
}

/* Parses the stream: one document at most. */
static enum coren_err parse_stream(struct loader *l)
{
	enum coren_err rc;
	yaml_event_t ev;
	int docs = 0;

	for (;;) {
		if ((rc = next_event(l, &ev)))
			return rc;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return COREN_OK;
		case YAML_DOCUMENT_START_EVENT:
			if (docs++) {
				rc = at_mark(l, ev.start_mark, COREN_ERR_CONFIG,
					     "more than one YAML document");
				yaml_event_delete(&ev);
				return rc;
			}
			yaml_event_delete(&ev);
			if ((rc = next_event(l, &ev)))
				return rc;
			if ((rc = parse_node(l, &ev, 0, &l->doc->root)))
				return rc;
			break;
		default:
			yaml_event_delete(&ev);
		}
	}
}

static void doc_free(struct coren_yaml_doc *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nnodes; i++) {
		free((void *)(uintptr_t)d->nodes[i]->value);
		free(d->nodes[i]->items);
		free(d->nodes[i]);
	}
	for (i = 0; i < d->nanchors; i++)
		free(d->anchors[i].name);
	free(d->anchors);
	free(d->nodes);
	free(d->name);
	free(d);
}

void coren_yaml_free(struct coren_yaml_doc *doc)
{
	doc_free(doc);
}

enum coren_err coren_yaml_load_buffer(const char *buf, size_t len,
				      const char *name,
				      struct coren_yaml_doc **doc,
				      struct coren_error *err)
{
	struct loader l = {.err = err};
	enum coren_err rc;
	yaml_mark_t start = {0, 0, 0};

	*doc = NULL;
	l.doc = calloc(1, sizeof *l.doc);
	if (!l.doc || !(l.doc->name = strdup(name ? name : "<yaml>"))) {
		doc_free(l.doc);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	if (!yaml_parser_initialize(&l.parser)) {
		doc_free(l.doc);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	rc = parse_stream(&l);
	yaml_parser_delete(&l.parser);
	/* an empty stream, or a document holding nothing, is an empty map */
	if (!rc && (!l.doc->root || (l.doc->root->kind == COREN_YAML_SCALAR &&
				     l.doc->root->plain && !l.doc->root->len))) {
		l.doc->root = new_node(&l, COREN_YAML_MAPPING, start);
		if (!l.doc->root)
			rc = coren_error_set(err, COREN_ERR_NOMEM,
					     "out of memory");
	}
	if (rc) {
		doc_free(l.doc);
		return rc;
	}
	*doc = l.doc;
	return COREN_OK;
}

enum coren_err coren_yaml_load_file(const char *path,
				    struct coren_yaml_doc **doc,
				    struct coren_error *err)
{
	enum coren_err rc;
	char *data;
	size_t len;

	*doc = NULL;
	rc = coren_file_read(path, MAX_FILE, &data, &len, err);
	if (rc)
		return rc;
	rc = coren_yaml_load_buffer(data, len, path, doc, err);
	free(data);
	return rc;
}

const struct coren_yaml_node *coren_yaml_root(const struct coren_yaml_doc *doc)
{
	return doc->root;
}

const char *coren_yaml_kind_name(enum coren_yaml_kind kind)
{
	switch (kind) {
	case COREN_YAML_SCALAR: return "scalar";
	case COREN_YAML_SEQUENCE: return "sequence";
	case COREN_YAML_MAPPING: return "mapping";
	}
	return "node";
}

enum coren_err coren_yaml_error(const struct coren_yaml_node *node,
				struct coren_error *err, const char *fmt, ...)
{
	char msg[COREN_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	coren_error_set(err, COREN_ERR_CONFIG, "%s", msg);
	coren_error_at(err, "%s:%u:%u", node->file, node->line, node->col);
	return COREN_ERR_CONFIG;
}

enum coren_err coren_yaml_expect(const struct coren_yaml_node *node,
				 enum coren_yaml_kind kind,
				 struct coren_error *err)
{
	if (node->kind == kind)
		return COREN_OK;
	return coren_yaml_error(node, err, "expected a %s, got a %s",
				coren_yaml_kind_name(kind),
				coren_yaml_kind_name(node->kind));
}

const struct coren_yaml_node *coren_yaml_get(const struct coren_yaml_node *map,
					     const char *key)
{
	size_t i;

	if (!map || map->kind != COREN_YAML_MAPPING)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (!strcmp(map->items[2 * i]->value, key))
			return map->items[2 * i + 1];
	return NULL;
}

enum coren_err coren_yaml_check_keys(const struct coren_yaml_node *map,
				     const char *const *allowed,
				     struct coren_error *err)
{
	enum coren_err rc = coren_yaml_expect(map, COREN_YAML_MAPPING, err);
	size_t i, j;

	for (i = 0; !rc && i < map->n; i++) {
		const struct coren_yaml_node *k = map->items[2 * i];

		for (j = 0; allowed[j] && strcmp(allowed[j], k->value); j++)
			;
		if (!allowed[j])
			rc = coren_yaml_error(k, err, "unknown key '%s'",
					      k->value);
	}
	return rc;
}

/* Copies the scalar's text without '_' between digits into buf; -1 if it
 * does not fit or is not a scalar. */
static int number_text(const struct coren_yaml_node *node, char *buf, size_t n)
{
	size_t i, o = 0;

	if (node->kind != COREN_YAML_SCALAR)
		return -1;
	for (i = 0; i < node->len; i++) {
		if (node->value[i] == '_' && i > 0 && i + 1 < node->len)
			continue;
		if (o + 1 >= n)
			return -1;
		buf[o++] = node->value[i];
	}
	buf[o] = '\0';
	return o ? 0 : -1;
}

static enum coren_err type_error(const struct coren_yaml_node *node,
				 const char *what, struct coren_error *err)
{
	if (node->kind != COREN_YAML_SCALAR)
		return coren_yaml_error(node, err, "expected %s, got a %s", what,
					coren_yaml_kind_name(node->kind));
	return coren_yaml_error(node, err, "expected %s, got '%s'", what,
				node->value);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

enum coren_err coren_yaml_get_u64(const struct coren_yaml_node *node,
				  uint64_t *out, struct coren_error *err)
{
	char buf[32], *d = buf;
	unsigned long long u;

	if (number_text(node, buf, sizeof buf))
		return type_error(node, "an unsigned integer", err);
	if (*d == '+')
		d++;
	if (!all_digits(d))
		return type_error(node, "an unsigned integer", err);
	errno = 0;
	u = strtoull(d, NULL, 10);
	if (errno)
		return coren_yaml_error(node, err, "'%s' is out of range",
					node->value);
	*out = u;
	return COREN_OK;
}

enum coren_err coren_yaml_get_i64(const struct coren_yaml_node *node,
				  int64_t *out, struct coren_error *err)
{
	char buf[32];
	long long v;

	if (number_text(node, buf, sizeof buf) ||
	    !all_digits(buf + (buf[0] == '-' || buf[0] == '+')))
		return type_error(node, "an integer", err);
	errno = 0;
	v = strtoll(buf, NULL, 10);
	if (errno)
		return coren_yaml_error(node, err, "'%s' is out of range",
					node->value);
	*out = v;
	return COREN_OK;
}

/* Parses a YAML 1.2 core-schema float or integer; 0 on success. A value
 * that overflows a double reads as an infinity (for the caller to refuse,
 * as .inf is), one that underflows as what strtod gives, as in JSON. */
static int parse_float(const char *s, double *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	char *end;

	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*out = *s == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
		*out = NAN;
		return 0;
	}
	if (!*p || !(*p == '.' || (*p >= '0' && *p <= '9')) ||
	    strpbrk(p, "xXpPnNiI"))
		return -1;
	*out = strtod(s, &end);
	return *end ? -1 : 0;
}

enum coren_err coren_yaml_get_double(const struct coren_yaml_node *node,
				     double *out, struct coren_error *err)
{
	char buf[64];

	if (number_text(node, buf, sizeof buf) || parse_float(buf, out))
		return type_error(node, "a number", err);
	return COREN_OK;
}

/* 1 true, 0 false, -1 neither (YAML 1.2 core schema). */
static int parse_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

enum coren_err coren_yaml_get_bool(const struct coren_yaml_node *node,
				   bool *out, struct coren_error *err)
{
	int b = node->kind == COREN_YAML_SCALAR ? parse_bool(node->value) : -1;

	if (b < 0)
		return type_error(node, "true or false", err);
	*out = b;
	return COREN_OK;
}

enum coren_err coren_yaml_get_string(const struct coren_yaml_node *node,
				     const char **out, struct coren_error *err)
{
	if (node->kind != COREN_YAML_SCALAR)
		return type_error(node, "a string", err);
	*out = node->value;
	return COREN_OK;
}

static int is_null(const struct coren_yaml_node *n)
{
	const char *s = n->value;

	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* An integer scalar (optional sign, digits) as JSON, exactly: plain
 * within int64, a u64 box up to 2^64-1. Beyond that an error with
 * position, never a double (two integers must never become one value). */
static json_t *integer_json(const struct coren_yaml_node *n,
			    struct coren_error *err)
{
	const char *s = n->value, *d = s + (*s == '-' || *s == '+');
	unsigned long long u;
	long long v;

	errno = 0;
	if (*s != '-') {
		u = strtoull(d, NULL, 10);
		if (!errno)
			return coren_json_u64(u);
	} else {
		v = strtoll(s, NULL, 10);
		if (!errno)
			return json_integer(v);
	}
	coren_yaml_error(n, err, "integer '%s' is out of range (-2^63..2^64-1)",
			 s);
	return NULL;
}

/* A plain scalar typed by the core schema. NaN and infinities are
 * refused (coren-records(5) "Values"): an axis value or param names one
 * point, and .nan == .nan is false. */
static json_t *scalar_json(const struct coren_yaml_node *n,
			   struct coren_error *err)
{
	const char *s = n->value;
	const char *d = s + (*s == '-' || *s == '+');
	double f;
	int b;

	if (!n->plain)
		return json_stringn(s, n->len);
	if (is_null(n))
		return json_null();
	if ((b = parse_bool(s)) >= 0)
		return json_boolean(b);
	if (all_digits(d))
		return integer_json(n, err);
	if (parse_float(s, &f) == 0) {
		if (!isfinite(f)) {
			coren_yaml_error(n, err, "value '%s' is not a finite "
						 "number", s);
			return NULL;
		}
		return json_real(f);
	}
	return json_stringn(s, n->len);
}

static json_t *to_json(const struct coren_yaml_node *n, size_t *budget,
		       struct coren_error *err)
{
	json_t *v, *c;
	size_t i;

	if ((*budget)-- == 0) {
		coren_yaml_error(n, err, "document expands to more than %d nodes",
				 MAX_JSON_NODES);
		return NULL;
	}
	if (n->kind == COREN_YAML_SCALAR)
		return scalar_json(n, err);
	v = n->kind == COREN_YAML_MAPPING ? json_object() : json_array();
	for (i = 0; v && i < n->n; i++) {
		if (n->kind == COREN_YAML_MAPPING) {
			c = to_json(n->items[2 * i + 1], budget, err);
			if (!c || json_object_setn_new(v, n->items[2 * i]->value,
						       n->items[2 * i]->len, c)) {
				json_decref(v);
				v = NULL;
			}
		} else {
			c = to_json(n->items[i], budget, err);
			if (!c || json_array_append_new(v, c)) {
				json_decref(v);
				v = NULL;
			}
		}
	}
	if (!v && err && !err->code)
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return v;
}

json_t *coren_yaml_to_json(const struct coren_yaml_node *node,
			   struct coren_error *err)
{
	size_t budget = MAX_JSON_NODES;

	coren_error_clear(err);
	return to_json(node, &budget, err);
}
