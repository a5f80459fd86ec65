/* coren/settings.h - one table of settings per configured object.
 *
 * A row says everything about one setting: its YAML key, its long and
 * short option, its type and range, where it is stored and its help text.
 * The command line and YAML files go through the same rows and the same
 * parser per type (coren/units.h for numbers), so a limit cannot differ
 * between them; the getopt table and the OPTIONS part of --help are
 * generated from the rows. Precedence: the file, then the options, in the
 * order given (a repeatable option adds to the file's values).
 */
#ifndef COREN_SETTINGS_H
#define COREN_SETTINGS_H

#include <coren/error.h>
#include <coren/yaml.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_setting_type {
	COREN_SETTING_END = 0,	/* ends a table */
	COREN_SETTING_HEADING,	/* not a setting: a heading in --help */
	COREN_SETTING_FLAG,	/* no value: stores 1 (YAML: true or false) */
	COREN_SETTING_SIZE,	/* bytes: 64M, 1GiB (coren/units.h) */
	COREN_SETTING_COUNT,	/* a whole number: 1000, 10k, 1_000 */
	COREN_SETTING_DURATION, /* seconds, a double: 1.5, 30s, 2h */
	COREN_SETTING_RATE,	/* a double with an SI or IEC suffix */
	COREN_SETTING_ENUM,	/* one of choices; stores its index (int) */
	COREN_SETTING_STRING,	/* char *, a copy */
	COREN_SETTING_STRINGS,	/* char **, NULL-terminated: each use adds one */
	COREN_SETTING_ARGV,	/* char **: the rest of the command line; in
				   YAML a sequence of strings */
	COREN_SETTING_CUSTOM	/* through set (and set_yaml for the file) */
};

/* Row flags. */
#define COREN_SETTING_AUTO 0x1	/* "auto" is accepted and stores 0 */
#define COREN_SETTING_LATER 0x4 /* an option applied after the file even
				   without a YAML key (it changes a file's
				   setting) */
#define COREN_SETTING_DOUBLE 0x10 /* SIZE or COUNT kept in a double */
#define COREN_SETTING_NONEMPTY 0x20 /* STRING: "" is refused */
#define COREN_SETTING_REASON 0x8 /* CUSTOM: set's message is the reason
				    alone; "LABEL 'VALUE': " goes before */

struct coren_setting {
	enum coren_setting_type type;
	const char *key;  /* YAML key, NULL: options only */
	const char *name; /* long option without "--", NULL: the file only */
	int short_name;	  /* 0: none */
	const char *arg;  /* the value's name in --help ("N", "SIZE") */
	const char *help; /* --help text; '\n' continues on a new line */
	unsigned flags;
	double min, max;	    /* numbers: inclusive range; max 0: none */
	const char *const *choices; /* ENUM: NULL-terminated */
	size_t offset, width;	    /* where and how wide in the object */
	/* CUSTOM: parses value (NULL for a flag) into obj */
	enum coren_err (*set)(void *obj, const char *value,
			      struct coren_error *err);
	/* CUSTOM in a file: the node (NULL: its scalar goes through set) */
	enum coren_err (*set_yaml)(void *obj, const struct coren_yaml_node *n,
				   const char *dir, struct coren_error *err);
	/* CUSTOM taking extra operands after its value (hyperfine's -L NAME
	 * VALUES): how many, and the setter that gets them */
	unsigned extra;
	enum coren_err (*set_more)(void *obj, const char *value,
				   char *const *more, struct coren_error *err);
};

/* A configured object and its table. */
struct coren_settings {
	const struct coren_setting *rows;
	void *obj;
};

/* A row's first fields, designated: {COREN_ROW(COUNT, "workers",
 * "workers", 'w', "N", "parallel workers"), .min = 1, .max = 4096,
 * COREN_SETTING_AT(struct x, workers)}. */
#define COREN_ROW(T, KEY, NAME, SHORT, ARG, HELP)                           \
	.type = COREN_SETTING_##T, .key = (KEY), .name = (NAME),            \
	.short_name = (SHORT), .arg = (ARG), .help = (HELP)

/* Where a row stores its value, for the rows of a struct type T. */
#define COREN_SETTING_AT(T, member)                                         \
	.offset = offsetof(T, member), .width = sizeof(((T *)0)->member)

/* Applies value to row s of obj; label names the setting in messages
 * ("--workers", "workers"). COREN_ERR_USAGE: "LABEL 'VALUE': why". */
enum coren_err coren_setting_apply(const struct coren_setting *s, void *obj,
				   const char *label, const char *value,
				   struct coren_error *err);

/* An option to apply after the file. */
struct coren_setting_use {
	const struct coren_setting *row;
	void *obj;
	char *value; /* ARGV: points into argv (the rest) */
	char **rest;
};

/* Parses argv through the tables (ntabs of them). Options without a YAML
 * key (and not COREN_SETTING_LATER) are applied at once, in order; the
 * others are returned in *uses (free() it) for coren_settings_apply_uses
 * after the file. Options may follow operands (argv is permuted, as GNU
 * getopt does) unless a table has an ARGV row: then the first operand
 * ends the options. *next: the index of the first operand. Unknown
 * options and bad values: COREN_ERR_USAGE, said once. */
enum coren_err coren_settings_argv(const struct coren_settings *tabs,
				   size_t ntabs, int argc, char **argv,
				   struct coren_setting_use **uses,
				   size_t *nuses, int *next,
				   struct coren_error *err);

/* Applies the options parse_argv kept for after the file. */
enum coren_err coren_settings_apply_uses(const struct coren_setting_use *uses,
					 size_t nuses,
					 struct coren_error *err);

/* Applies a YAML mapping through the rows with a key: an unknown key, a
 * wrong kind of node or a bad value is COREN_ERR_CONFIG at its position.
 * dir: the file's directory, given to CUSTOM rows' set_yaml (NULL: none). */
enum coren_err coren_settings_yaml(const struct coren_settings *tabs,
				   size_t ntabs,
				   const struct coren_yaml_node *map,
				   const char *dir, struct coren_error *err);

/* Applies one YAML node v through row s of obj (what coren_settings_yaml
 * does for each key). */
enum coren_err coren_setting_yaml(const struct coren_setting *s, void *obj,
				  const struct coren_yaml_node *v,
				  const char *dir, struct coren_error *err);

/* The OPTIONS part of --help, generated from the rows (malloc'd). */
char *coren_settings_help(const struct coren_settings *tabs, size_t ntabs);

/* The YAML keys of a table, comma-separated (malloc'd), for --help. */
char *coren_settings_keys(const struct coren_setting *rows);

/* The row of a table for a YAML key or long option, or NULL. */
const struct coren_setting *coren_setting_find(const struct coren_setting *rows,
					       const char *key,
					       const char *name);

#ifdef __cplusplus
}
#endif

#endif
