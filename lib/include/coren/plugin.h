/* coren/plugin.h - the plugin author's manual (see also coren-plugin(3)).
 *
 * A coren plugin is a shared object exporting exactly one symbol,
 *
 *     const struct coren_plugin_desc *coren_plugin_describe(void);
 *
 * returning a descriptor with static storage duration. Write it with
 * COREN_PLUGIN_DESCRIBE() and keep every other function static:
 *
 *     #include <coren/exec.h>
 *     static int square(void *st, const json_t *point, json_t **value,
 *                       struct coren_error *err) { ... }
 *     static const struct coren_exec_ops ops = {
 *         .struct_size = sizeof ops, .exec = square };
 *     COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "square", "1.0",
 *                           "x squared", &ops)
 *
 * Build it with `cc -shared -fPIC $(pkg-config --cflags --libs coren)`.
 *
 * ABI rules. The descriptor and every operations table start with their own
 * size and only ever grow at the end. The loader accepts a plugin whose
 * abi_major equals COREN_PLUGIN_ABI_MAJOR and whose abi_minor is at most
 * COREN_PLUGIN_ABI_MINOR (an older plugin simply lacks the newer fields,
 * which the loader reads as absent). A plugin built for a newer minor, or
 * another major, is refused with both versions in the message.
 */
#ifndef COREN_PLUGIN_H
#define COREN_PLUGIN_H

#include <coren/error.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_PLUGIN_ABI_MAJOR 1
#define COREN_PLUGIN_ABI_MINOR 2
#define COREN_PLUGIN_SYMBOL "coren_plugin_describe"

enum coren_plugin_kind {
	COREN_PLUGIN_ANY = 0,	   /* only as the kind wanted by a loader */
	COREN_PLUGIN_EXEC = 1,	   /* swarm-run exec function (coren/exec.h) */
	COREN_PLUGIN_BACKEND = 2,  /* compute backend: cpu, cuda */
	COREN_PLUGIN_KERNEL = 3,   /* rk-launch actor kernel */
	COREN_PLUGIN_WORKLOAD = 4, /* rk-bench workload */
	COREN_PLUGIN_KIND__COUNT
};

/* The descriptor (unchanged since ABI 1.0). Only ever grows at the end. */
struct coren_plugin_desc {
	uint16_t abi_major;   /* COREN_PLUGIN_ABI_MAJOR when built */
	uint16_t abi_minor;   /* COREN_PLUGIN_ABI_MINOR when built */
	uint32_t struct_size; /* sizeof(struct coren_plugin_desc) when built */
	uint32_t kind;	      /* enum coren_plugin_kind */
	uint32_t flags;	      /* reserved, 0 */
	const char *name;     /* short name, [a-z0-9_-]+ */
	const char *version;  /* the plugin's own version */
	const char *summary;  /* one line, may be NULL */
	const void *ops;      /* the kind's operations table */
};

typedef const struct coren_plugin_desc *coren_plugin_describe_fn(void);

#if defined(__GNUC__)
#define COREN_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define COREN_PLUGIN_EXPORT
#endif

/* Defines the exported describe function of a plugin. */
#define COREN_PLUGIN_DESCRIBE(kind_, name_, version_, summary_, ops_)      \
	COREN_PLUGIN_EXPORT const struct coren_plugin_desc                 \
		*coren_plugin_describe(void);                              \
	COREN_PLUGIN_EXPORT const struct coren_plugin_desc                 \
		*coren_plugin_describe(void)                               \
	{                                                                  \
		static const struct coren_plugin_desc d = {                \
			COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR,    \
			sizeof(struct coren_plugin_desc), (kind_), 0,      \
			(name_), (version_), (summary_), (ops_)};          \
		return &d;                                                 \
	}

/* A loaded plugin. */
struct coren_plugin {
	void *handle;				/* from dlopen() */
	char *path;				/* the file loaded */
	const struct coren_plugin_desc *desc;	/* valid while loaded */
};

/* Opens a plugin. spec is a path (it contains a '/') or a name looked up as
 * NAME.so, then NAME, in: each of dirs (NULL-terminated, may be NULL: the
 * tools' --plugin-dir), each directory of $COREN_PLUGIN_PATH (colon
 * separated), then the installed plugin directory. kind is the kind wanted,
 * or COREN_PLUGIN_ANY. Each refusal has its own code and message:
 * NOTFOUND (naming the directories searched), PLUGIN_NOTREG,
 * PLUGIN_DLOPEN (dlerror() and an ldd hint), PLUGIN_NOSYM, PLUGIN_DESC,
 * PLUGIN_ABI_MAJOR, PLUGIN_ABI_MINOR, PLUGIN_KIND. */
enum coren_err coren_plugin_open(const char *spec, enum coren_plugin_kind kind,
				 const char *const *dirs,
				 struct coren_plugin **out,
				 struct coren_error *err);

/* Called by coren_plugin_list() with a plugin loaded for the call only. */
typedef void coren_plugin_list_fn(const struct coren_plugin *p, void *data);

/* Calls fn for every loadable plugin of kind (COREN_PLUGIN_ANY: all) named
 * *.so in the directories coren_plugin_open() searches, in its order; a
 * name found twice is listed once (the first). Files that fail to load
 * are skipped. */
void coren_plugin_list(enum coren_plugin_kind kind, const char *const *dirs,
		       coren_plugin_list_fn *fn, void *data);

/* Unloads and frees a plugin (accepts NULL). */
void coren_plugin_free(struct coren_plugin *p);

/* "exec", "backend", "kernel", "workload"; "unknown" otherwise. */
const char *coren_plugin_kind_name(uint32_t kind);

/* The kind named name, or COREN_PLUGIN_ANY if none. */
enum coren_plugin_kind coren_plugin_kind_parse(const char *name);

/* The installed plugin directory ($(pkglibdir)/plugins). */
const char *coren_plugin_dir(void);

#ifdef __cplusplus
}
#endif
#endif
