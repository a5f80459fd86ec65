/* coren/yaml.h - YAML configuration files as a tree with positions.
 *
 * A document is loaded whole (libyaml) into nodes that remember their file,
 * line and column, so every configuration error points at the offending
 * text: "exp.yaml:12:5: unknown key 'memo_chunks'". The document owns all
 * nodes; they live until coren_yaml_free(). Aliases refer to the anchored
 * node (no copy). Duplicate keys in a mapping are an error.
 */
#ifndef COREN_YAML_H
#define COREN_YAML_H

#include <coren/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_yaml_kind {
	COREN_YAML_SCALAR = 1,
	COREN_YAML_SEQUENCE,
	COREN_YAML_MAPPING
};

struct coren_yaml_node {
	enum coren_yaml_kind kind;
	const char *file;   /* the document's name */
	unsigned line, col; /* 1-based position of the node's first character */
	const char *value;  /* SCALAR: its text, NUL-terminated */
	size_t len;	    /* SCALAR: length of value */
	bool plain;	    /* SCALAR: unquoted (typed by the core schema) */
	size_t n;	    /* SEQUENCE: items; MAPPING: key/value pairs */
	struct coren_yaml_node **items; /* SEQUENCE: n; MAPPING: 2n, k0 v0 k1 v1 */
};

struct coren_yaml_doc;

/* Loads the single document in path (an empty file is an empty mapping).
 * COREN_ERR_NOTFOUND/IO for the file, COREN_ERR_CONFIG for bad YAML, with
 * err->where "path:line:col". */
enum coren_err coren_yaml_load_file(const char *path,
				    struct coren_yaml_doc **doc,
				    struct coren_error *err);

/* Loads from memory; name is used in positions. */
enum coren_err coren_yaml_load_buffer(const char *buf, size_t len,
				      const char *name,
				      struct coren_yaml_doc **doc,
				      struct coren_error *err);

/* The root node of doc. */
const struct coren_yaml_node *coren_yaml_root(const struct coren_yaml_doc *doc);

/* Frees doc and all its nodes (accepts NULL). */
void coren_yaml_free(struct coren_yaml_doc *doc);

/* Name of a kind: "scalar", "sequence", "mapping". */
const char *coren_yaml_kind_name(enum coren_yaml_kind kind);

/* Sets err (COREN_ERR_CONFIG) to a message positioned at node; returns
 * COREN_ERR_CONFIG. */
enum coren_err coren_yaml_error(const struct coren_yaml_node *node,
				struct coren_error *err, const char *fmt, ...)
	COREN_PRINTF(3, 4);

/* COREN_OK if node is of kind, else "expected a mapping, got a sequence". */
enum coren_err coren_yaml_expect(const struct coren_yaml_node *node,
				 enum coren_yaml_kind kind,
				 struct coren_error *err);

/* The value for key in a mapping, or NULL (also when map is not one). */
const struct coren_yaml_node *coren_yaml_get(const struct coren_yaml_node *map,
					     const char *key);

/* Checks that every key of map is in allowed (NULL-terminated); the first
 * other key is "unknown key 'K'" at its position. */
enum coren_err coren_yaml_check_keys(const struct coren_yaml_node *map,
				     const char *const *allowed,
				     struct coren_error *err);

/* Typed scalar values. Integers: decimal digits with an optional sign,
 * underscores allowed between digits. Booleans: the core schema's
 * true/false (any case as YAML 1.2 writes it). A number accepts integers and
 * floats (1e6, .5, .inf). Strings: any scalar. Errors name the expected type
 * and the text found, at the node's position. */
enum coren_err coren_yaml_get_u64(const struct coren_yaml_node *node,
				  uint64_t *out, struct coren_error *err);
enum coren_err coren_yaml_get_i64(const struct coren_yaml_node *node,
				  int64_t *out, struct coren_error *err);
enum coren_err coren_yaml_get_double(const struct coren_yaml_node *node,
				     double *out, struct coren_error *err);
enum coren_err coren_yaml_get_bool(const struct coren_yaml_node *node,
				   bool *out, struct coren_error *err);
enum coren_err coren_yaml_get_string(const struct coren_yaml_node *node,
				     const char **out, struct coren_error *err);

/* The node as JSON, plain scalars typed by the YAML 1.2 core schema (null,
 * bool, int, float; else string), quoted scalars as strings, mapping keys as
 * their text. Integers above INT64_MAX become u64 boxes (coren/json.h).
 * NULL with err set for what JSON cannot hold (.inf, .nan) or on ENOMEM. */
json_t *coren_yaml_to_json(const struct coren_yaml_node *node,
			   struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
