/* fnid.c - the identity of the function a chunk was computed by
 * (coren-chunk(5)): chunk ids carry it, so that two functions never share
 * a chunk and editing a --cmd script computes again. */
#include "config.h"

#include "memo_int.h"

#include <coren/file.h>
#include <coren/hash.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file of dir/MOD.py or dir/MOD/__init__.py (MOD dotted, len bytes),
 * or NULL. */
static char *module_in(const char *dir, size_t dlen, const char *mod,
		       size_t len)
{
	static const char *const tails[] = {".py", "/__init__.py"};
	struct stat st;

	for (size_t t = 0; t < 2; t++) {
		char *path = malloc(dlen + len + 16);

		if (!path)
			return NULL;
		snprintf(path, dlen + len + 16, "%.*s%s%.*s%s", (int)dlen, dir,
			 dlen ? "/" : "", (int)len, mod, tails[t]);
		/* MOD's dots, not the tail's */
		for (size_t k = 0; k < len; k++)
			if (path[dlen + !!dlen + k] == '.')
				path[dlen + !!dlen + k] = '/';
		if (!stat(path, &st) && S_ISREG(st.st_mode))
			return path;
		free(path);
	}
	return NULL;
}

/* The file behind coren.coproc's MODULE:FUNCTION or FILE.py:FUNCTION:
 * FILE itself, or MODULE found as Python would first look for it (the
 * working directory, then $PYTHONPATH), or NULL (an installed module:
 * named by the argument alone). */
static char *python_file(const char *arg)
{
	const char *colon = strrchr(arg, ':'), *pp = getenv("PYTHONPATH");
	size_t len = colon ? (size_t)(colon - arg) : 0;
	char *found;

	if (!len)
		return NULL;
	if (strchr(arg, '/') || (len > 3 && !memcmp(colon - 3, ".py", 3)))
		return strndup(arg, len);
	if ((found = module_in("", 0, arg, len)))
		return found;
	while (pp && *pp) {
		size_t dlen = strcspn(pp, ":");

		if (dlen && (found = module_in(pp, dlen, arg, len)))
			return found;
		pp += dlen + (pp[dlen] == ':');
	}
	return NULL;
}

/* {"cmd"|"coproc":[argv],"sha256":{"0":HEX,...}} of an argv function. */
static json_t *argv_identity(const char *cache,
			     const struct coren_memo_exec *x,
			     struct coren_error *err)
{
	json_t *id = json_object(), *args = json_array(), *sums = json_object();
	char hex[65], key[24];
	enum coren_err rc = id && args && sums ? COREN_OK : COREN_ERR_NOMEM;

	bool py = false; /* past coren.coproc: its target is next */

	for (size_t i = 0; !rc && x->argv[i]; i++) {
		struct stat st;
		/* the program as it runs: found through PATH once */
		const char *file = i ? x->argv[i] : x->prog;
		char *pyfile = NULL;

		/* the module is the function */
		if (py && x->argv[i][0] != '-') {
			py = false;
			if ((pyfile = python_file(x->argv[i])))
				file = pyfile;
		}
		/* -m coren.coproc, or a program that runs it (Sweep's -c, or
		 * -Ic, -Sc...): an argument naming it. One that names it for
		 * another reason only adds a file's hash to the id; missing
		 * one would reuse chunks of an edited module */
		if (i && strstr(x->argv[i], "coren.coproc"))
			py = true;

		if (json_array_append_new(args, json_string(x->argv[i])))
			rc = coren_error_set(err, COREN_ERR_USAGE,
					     "--%s argument %zu is not UTF-8",
					     x->kind, i);
		/* a script an interpreter runs is the function too */
		else if (!strchr(file, '{') && !stat(file, &st) &&
			 S_ISREG(st.st_mode) &&
			 !(rc = memo_file_sha256(cache, file, hex, err))) {
			snprintf(key, sizeof key, "%zu", i);
			rc = json_object_set_new(sums, key, json_string(hex))
				     ? COREN_ERR_NOMEM
				     : COREN_OK;
		}
		free(pyfile);
	}
	if (!rc && (json_object_set(id, x->kind, args) ||
		    json_object_set(id, "sha256", sums)))
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	json_decref(args);
	json_decref(sums);
	if (rc) {
		json_decref(id);
		return NULL;
	}
	return id;
}

enum coren_err coren_memo_exp_identify(struct coren_memo_exp *e,
				       const struct coren_memo_exec *x,
				       struct coren_error *err)
{
	json_t *id;

	if (e->fn_id)
		id = json_pack("{ss}", "fn_id", e->fn_id);
	else if (!x)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "no function to name the chunks by");
	else if (x->plugin)
		id = json_pack("{ssss}", "exec", x->plugin->desc->name,
			       "version", x->plugin->desc->version
					  ? x->plugin->desc->version
					  : "");
	else if (!(id = argv_identity(e->cache, x, err)))
		return err->code ? err->code : COREN_ERR_NOMEM;
	if (!id)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the function's identity is not UTF-8");
	json_decref(e->fn);
	e->fn = id;
	return COREN_OK;
}
