/* cache.c - the plan as chunk records, and the cache directory: verify,
 * garbage-collect. */
#include "config.h"

#include "memo_int.h"

#include <coren/file.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/verdict.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEMP_MAX_AGE 3600.0 /* a temporary file this old was abandoned */
#define HEADER_PEEK 65536   /* bytes read for a chunk header */

static json_t *chunk_record(const struct coren_memo_plan *p,
			    struct coren_memo_exec *x, uint64_t c,
			    const size_t *bins, const char *cache,
			    const struct memo_calib *cal)
{
	bool costed = false;
	double t;
	json_t *rec = coren_record_new("chunk"), *key = json_object();
	json_t *pairs = coren_memo_plan_chunk_key(p, bins, NULL), *pair;
	uint64_t n = coren_memo_plan_chunk_points(p, bins);
	struct coren_cost cost;
	char id[65], *path;
	struct stat st;
	size_t i;

	if (!rec || !key || !pairs ||
	    coren_memo_plan_chunk_id(p, bins, NULL, id)) {
		json_decref(rec);
		json_decref(key);
		json_decref(pairs);
		return NULL;
	}
	path = coren_chunk_path(cache, id);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "index", coren_json_u64(c));
	json_array_foreach(pairs, i, pair) /* [[axis, [values]], ...] */
		json_object_set(key, json_string_value(json_array_get(pair, 0)),
				json_array_get(pair, 1));
	json_decref(pairs);
	json_object_set_new(rec, "chunk_key", key);
	json_object_set_new(rec, "points", coren_json_u64(n));
	json_object_set_new(rec, "cached",
			    json_boolean(path && !stat(path, &st)));
	json_object_set_new(rec, "path", path ? json_string(path) : json_null());
	free(path);
	if (coren_memo_exec_has_cost(x) &&
	    !coren_memo_exec_chunk_cost(x, p, bins, &cost)) {
		json_object_set_new(rec, "cost", memo_cost_json(&cost));
		costed = true;
	}
	/* what computing it takes here, as this function's points took
	 * (calib.c): coren-verdict prices it with that, not the model */
	if (memo_calib_estimate(cal, costed ? &cost : NULL, n, &t))
		json_object_set_new(rec, "t_compute", json_real(t));
	return rec;
}

enum coren_err coren_memo_plan_write(const struct coren_memo_plan *p,
				     struct coren_memo_exec *x, FILE *out,
				     struct coren_error *err)
{
	size_t na = coren_memo_plan_naxes(p);
	size_t *bins = malloc((na + 1) * sizeof *bins);
	const char *cache = coren_memo_plan_exp(p)->cache;
	enum coren_err rc = bins ? COREN_OK : COREN_ERR_NOMEM;
	struct memo_calib cal;

	memo_calib_load(cache, coren_memo_plan_exp(p)->fn, &cal);
	for (uint64_t c = 0; !rc && c < coren_memo_plan_chunks(p); c++) {
		json_t *rec;

		coren_memo_plan_chunk_bins(p, c, bins);
		rec = chunk_record(p, x, c, bins, cache, &cal);
		rc = rec ? coren_record_write(out, rec) : COREN_ERR_NOMEM;
		json_decref(rec);
	}
	free(bins);
	return rc ? coren_error_set(err, rc, "cannot write the plan: %s",
				    coren_strerror(rc))
		  : COREN_OK;
}

/* ---- walking the cache -------------------------------------------------- */

/* Whether name is "<64 hex>.zst" whose first two digits are dir's name. */
static bool chunk_name(const char *dir, const char *name)
{
	return strlen(name) == 68 && !strcmp(name + 64, ".zst") &&
	       strspn(name, "0123456789abcdef") == 64 && !strncmp(name, dir, 2);
}

typedef enum coren_err visit_fn(const char *path, const char *name,
				const struct stat *st, void *data);

/* Calls fn for every file in the cache's two-hex-digit directories. */
static enum coren_err walk(const char *cache, visit_fn *fn, void *data,
			   struct coren_error *err)
{
	DIR *top = opendir(cache), *sub;
	struct dirent *d, *f;
	enum coren_err rc = COREN_OK;
	char path[4096];

	if (!top)
		return coren_error_set(err, errno == ENOENT ? COREN_ERR_NOTFOUND
							    : COREN_ERR_IO,
				       "cache '%s': %s", cache, strerror(errno));
	while (!rc && (d = readdir(top))) {
		if (strlen(d->d_name) != 2 ||
		    strspn(d->d_name, "0123456789abcdef") != 2)
			continue;
		snprintf(path, sizeof path, "%s/%s", cache, d->d_name);
		if (!(sub = opendir(path)))
			continue;
		while (!rc && (f = readdir(sub))) {
			struct stat st;
			char fp[4096 + 300];

			if (f->d_name[0] == '.' &&
			    (!f->d_name[1] ||
			     (f->d_name[1] == '.' && !f->d_name[2])))
				continue;
			snprintf(fp, sizeof fp, "%s/%s", path, f->d_name);
			if (lstat(fp, &st) || !S_ISREG(st.st_mode))
				continue;
			rc = fn(fp, chunk_name(d->d_name, f->d_name) ? f->d_name
								     : NULL,
				&st, data);
		}
		closedir(sub);
	}
	closedir(top);
	return rc;
}

struct verify_ctx {
	const char *cache;
	const struct coren_trust *trust;
	size_t max;
	bool all;
	FILE *out;
	struct coren_memo_cache_stats *st;
};

/* The one-chunk experiment of a chunk key: each axis of key with the
 * key's values, in the key's order, in one bin; params copied unless
 * NULL. e is made by coren_memo_exp_init(). */
static enum coren_err memo_key_exp(const json_t *key, const json_t *params,
				   struct coren_memo_exp *e)
{
	size_t i, n = json_array_size(key);
	json_t *pair;

	e->axes = calloc(n + 1, sizeof *e->axes);
	e->axis_order = calloc(n + 1, sizeof *e->axis_order);
	if (!e->axes || !e->axis_order)
		return COREN_ERR_NOMEM;
	json_array_foreach(key, i, pair) {
		struct coren_memo_axis *a = &e->axes[e->naxes++];
		const char *name = json_string_value(json_array_get(pair, 0));

		a->name = strdup(name ? name : "");
		a->values = json_deep_copy(json_array_get(pair, 1));
		a->bin = json_array_size(a->values);
		e->axis_order[e->naxis_order++] = strdup(a->name ? a->name : "");
		if (!a->name || !a->values || !e->axis_order[i])
			return COREN_ERR_NOMEM;
	}
	if (!params)
		return COREN_OK;
	json_decref(e->params);
	e->params = json_deep_copy(params);
	return e->params ? COREN_OK : COREN_ERR_NOMEM;
}

enum coren_err memo_check_key_lines(const json_t *key, const json_t *params,
				   const char *content, size_t len,
				   uint64_t npoints, size_t *line_off,
				   bool parse, struct coren_error *err)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;
	struct memo_line_check c = {0};
	size_t *bins = calloc(json_array_size(key) + 1, sizeof *bins);
	enum coren_err rc;

	coren_memo_exp_init(&e);
	rc = bins && key ? memo_key_exp(key, params, &e) : COREN_ERR_NOMEM;

	if (!rc)
		rc = coren_memo_exp_finish(&e, err);
	if (!rc)
		rc = coren_memo_plan_new(&e, &p, err);
	if (!rc)
		rc = memo_line_check_init(&c, p);
	if (!rc)
		rc = memo_check_lines(&c, bins, NULL, content, len, npoints,
				      line_off, parse, err);
	else if (rc != COREN_ERR_NOMEM) /* a key no grid has: not ours */
		rc = coren_error_set(err, COREN_ERR_CORRUPT,
				     "its key is not a grid's: %s", err->msg);
	if (c.p)
		memo_line_check_release(&c);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	free(bins);
	return rc == COREN_ERR_NOMEM ? coren_error_set(err, rc, "out of memory")
				     : rc;
}

static enum coren_err verify_one(const char *path, const char *name,
				 const struct stat *st, void *data)
{
	struct verify_ctx *v = data;
	struct coren_chunk_header h;
	struct coren_error err = {0};
	char id[65], *content = NULL;
	size_t len;
	enum coren_err rc;
	json_t *rec;

	(void)st;
	if (!name)
		return COREN_OK; /* temporary or foreign: not a chunk */
	memcpy(id, name, 64);
	id[64] = '\0';
	v->st->checked++;
	rc = coren_chunk_load(v->cache, id, v->max, &h, &content, &len, &err);
	if (!rc) {
		rc = memo_check_key_lines(h.chunk_key, h.params, content, len,
					  h.points, NULL, true, &err);
		/* a signature by a trusted key's name must verify; chunks
		 * signed by others, or not at all, are not judged here */
		if (!rc && v->trust &&
		    coren_chunk_trusted(&h, v->trust, &err) == COREN_ERR_CORRUPT)
			rc = COREN_ERR_CORRUPT;
		coren_chunk_header_release(&h);
	}
	free(content);
	if (rc)
		v->st->damaged++;
	if (!rc && !v->all)
		return COREN_OK;
	rec = coren_record_new("chunk");
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "path", json_string(path));
	json_object_set_new(rec, "status", json_string(rc ? "corrupt" : "ok"));
	if (rc)
		json_object_set_new(rec, "reason", json_string(err.msg));
	rc = coren_record_write(v->out, rec);
	json_decref(rec);
	return rc;
}

enum coren_err coren_memo_cache_verify(const char *cache, size_t max_content,
				       const struct coren_trust *trust,
				       bool all, FILE *out,
				       struct coren_memo_cache_stats *st,
				       struct coren_error *err)
{
	struct verify_ctx v = {cache, trust,
			       max_content ? max_content : COREN_CHUNK_MAX_DEFAULT,
			       all, out, st};

	memset(st, 0, sizeof *st);
	return walk(cache, verify_one, &v, err);
}

struct gc_ctx {
	char **ids; /* sorted; NULL: no plan */
	uint64_t nids;
	const struct coren_memo_gc_opts *o;
	double now;
	struct coren_memo_cache_stats *st;
};

/* How long a chunk lives: max_age, scaled with a cap by the verdict's
 * suggest_ttl when its header carries a cost: chunks expensive to compute
 * again live longer. */
static double chunk_ttl(const struct gc_ctx *g,
			const struct coren_chunk_header *h)
{
	struct coren_verdict v;

	if (!g->o->cap || !h->has_cost)
		return g->o->max_age;
	coren_verdict_decide(&h->cost, g->o->cap, &v);
	return coren_verdict_suggest_ttl(&v, g->o->max_age);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Why chunk h (age seconds old) goes, or NULL when it stays. */
static const char *gc_why(const struct gc_ctx *g,
			  const struct coren_chunk_header *h, double age)
{
	const char *key = h->id;

	if (g->ids && !bsearch(&key, g->ids, g->nids, sizeof *g->ids, cmp_id))
		return "not in the experiment";
	if (g->o->max_age >= 0 && age > chunk_ttl(g, h))
		return "older than its time to live";
	return NULL;
}

static void gc_record(const struct gc_ctx *g, const char *path,
		      const char *id, const char *status, const char *why)
{
	json_t *rec = coren_record_new("chunk");

	if (!g->o->out || !rec) {
		json_decref(rec);
		return;
	}
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "path", json_string(path));
	json_object_set_new(rec, "status", json_string(status));
	json_object_set_new(rec, "reason", json_string(why));
	coren_record_write(g->o->out, rec);
	json_decref(rec);
}

/* Removes (or with dry_run lists) the chunk at path when it is this
 * function's and gc_why() says so; other functions' chunks, and chunks
 * whose header cannot be read, are never touched. */
static enum coren_err gc_chunk(struct gc_ctx *g, const char *path,
			       const char *id, const struct stat *st)
{
	struct coren_chunk_header h;
	char *data = NULL;
	size_t len = 0;
	const char *why = NULL;
	bool ours = false;

	if (!coren_file_read_regular(path, HEADER_PEEK, true, &data, &len,
				     NULL) &&
	    !coren_chunk_peek(data, len, id, &h, NULL)) {
		ours = g->o->all_functions || json_equal(h.fn, g->o->fn);
		if (ours)
			why = gc_why(g, &h, g->now - (double)st->st_mtime);
		coren_chunk_header_release(&h);
	}
	free(data);
	if (!ours) {
		g->st->other++;
		return COREN_OK;
	}
	g->st->checked++;
	if (!why) {
		g->st->kept++;
	} else if (g->o->dry_run || !unlink(path)) {
		g->st->removed++;
		g->st->bytes_removed += (uint64_t)st->st_size;
		if (g->o->dry_run)
			gc_record(g, path, id, "would_remove", why);
	} else {
		g->st->failed++;
		gc_record(g, path, id, "not_removed", strerror(errno));
	}
	return COREN_OK;
}

/* Whether base is "<64 hex>.claim" (claim.c). */
static bool claim_name(const char *base)
{
	return strlen(base) == 64 + strlen(MEMO_CLAIM_SUFFIX) &&
	       !strcmp(base + 64, MEMO_CLAIM_SUFFIX) &&
	       strspn(base, "0123456789abcdef") == 64;
}

/* Removes the claim file at path (st as the walk found it) unless a run
 * holds it: a dead run's is left unlocked. It is removed locked, as its
 * holders remove it, so that a run locking it meanwhile sees it gone and
 * makes a new one. Its holder may have removed it since the walk: the
 * lock then made a new file, removed again and not counted. */
static void gc_claim(struct gc_ctx *g, const char *path,
		     const struct stat *st)
{
	struct coren_lock lk = COREN_LOCK_INIT;
	struct stat a, b;
	bool found, here, gone = false;

	if (coren_lock_acquire(&lk, path,
			       COREN_LOCK_EXCLUSIVE | COREN_LOCK_NOWAIT, NULL))
		return;
	if (fstat(lk.fd, &a)) {
		coren_lock_release(&lk);
		return;
	}
	found = a.st_ino == st->st_ino && a.st_dev == st->st_dev;
	here = !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	if (here && (!found || !g->o->dry_run))
		gone = !unlink(path);
	if (found && here && (gone || g->o->dry_run))
		g->st->temp_removed++;
	coren_lock_release(&lk);
}

static enum coren_err gc_one(const char *path, const char *name,
			     const struct stat *st, void *data)
{
	struct gc_ctx *g = data;
	char id[65];

	if (!name) { /* an abandoned temporary file is nobody's */
		const char *base = strrchr(path, '/') + 1;

		if (claim_name(base))
			gc_claim(g, path, st);
		else if (!strncmp(base, ".", 1) && strstr(base, ".tmp.") &&
		    g->now - (double)st->st_mtime > TEMP_MAX_AGE &&
		    (g->o->dry_run || !unlink(path)))
			g->st->temp_removed++;
		return COREN_OK;
	}
	memcpy(id, name, 64);
	id[64] = '\0';
	return gc_chunk(g, path, id, st);
}

/* The sorted ids of every chunk of p into g. */
static enum coren_err plan_ids(struct gc_ctx *g, const struct coren_memo_plan *p)
{
	size_t *bins = malloc((coren_memo_plan_naxes(p) + 1) * sizeof *bins);

	g->nids = coren_memo_plan_chunks(p);
	g->ids = calloc(g->nids ? g->nids : 1, sizeof *g->ids);
	if (!bins || !g->ids) {
		free(bins);
		return COREN_ERR_NOMEM;
	}
	for (uint64_t c = 0; c < g->nids; c++) {
		coren_memo_plan_chunk_bins(p, c, bins);
		g->ids[c] = malloc(65);
		if (!g->ids[c] ||
		    coren_memo_plan_chunk_id(p, bins, NULL, g->ids[c])) {
			free(bins);
			return COREN_ERR_NOMEM;
		}
	}
	free(bins);
	qsort(g->ids, g->nids, sizeof *g->ids, cmp_id);
	return COREN_OK;
}

enum coren_err coren_memo_cache_gc(const char *cache,
				   const struct coren_memo_gc_opts *o,
				   struct coren_memo_cache_stats *st,
				   struct coren_error *err)
{
	struct gc_ctx g = {NULL, 0, o, (double)time(NULL), st};
	enum coren_err rc = COREN_OK;

	memset(st, 0, sizeof *st);
	if (o->all_functions ? o->plan || o->max_age < 0 : !o->fn)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "gc needs the function whose chunks "
				       "it may remove (or every function's, "
				       "by age alone)");
	if (o->plan && plan_ids(&g, o->plan))
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = walk(cache, gc_one, &g, err);
	for (uint64_t c = 0; g.ids && c < g.nids; c++)
		free(g.ids[c]);
	free(g.ids);
	return rc;
}
