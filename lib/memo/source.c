/* source.c - where a memo chunk comes from, tried in order: the local
 * cache, the --shard rule (another task's chunk is skipped), the remote
 * tier, earlier shorter chunks (their points reused), and computing what
 * is left. Main thread only: the slot is not yet the workers'. Every
 * chunk content read here passes memo_check_lines() before any line is
 * used. */
#include "config.h"

#include "run_int.h"

#include <coren/log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROBES_MAX 1024 /* earlier, shorter chunks looked for per chunk */

/* What a source did with a slot. */
enum found { FOUND_NEXT, FOUND_DONE, FOUND_ERR };

enum coren_err memo_load_checked(struct run *r, const char *id,
				 const size_t *bins, const size_t *lens,
				 uint64_t npoints, char **content, size_t *len,
				 size_t *line_off, struct coren_error *e)
{
	struct coren_chunk_header h;
	enum coren_err rc = coren_chunk_load(r->e->cache, id, r->o->max_content,
					     &h, content, len, e);

	if (rc)
		return rc;
	coren_chunk_header_release(&h);
	rc = memo_check_lines(&r->check, bins, lens, *content, *len, npoints,
			      line_off, false, e);
	if (rc) {
		free(*content);
		*content = NULL;
	}
	return rc;
}

/* A chunk file in the cache goes to a worker to be read and checked
 * (compute.c); the slot is LOADING until it is READY or UNLOADED. */
static enum found from_cache(struct run *r, struct slot *s,
			     struct coren_error *err)
{
	char *path = coren_chunk_path(r->e->cache, s->id);
	struct job *j = path ? calloc(1, sizeof *j) : NULL;
	struct stat st;

	if (!j) {
		free(path);
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return FOUND_ERR;
	}
	if (lstat(path, &st) && errno == ENOENT) {
		free(path);
		free(j);
		return FOUND_NEXT;
	}
	free(path);
	r->found++;
	s->state = SLOT_LOADING;
	j->load = s;
	memo_pool_push(&r->pool, j);
	return FOUND_DONE;
}

static enum found shard_skip(struct run *r, struct slot *s,
			     struct coren_error *err)
{
	(void)err;
	if (!r->o->owner || r->o->owner[s->index] == r->o->shard)
		return FOUND_NEXT;
	s->state = SLOT_SKIPPED;
	r->st->chunks_skipped++;
	r->main_done += s->npoints;
	memo_settled(r, s);
	return FOUND_DONE;
}

static enum found from_remote(struct run *r, struct slot *s,
			      struct coren_error *err)
{
	(void)err;
	return r->o->remote && memo_fetch(r, s) ? FOUND_DONE : FOUND_NEXT;
}

/* Copies the n checked lines (offsets off) of an earlier, shorter chunk
 * (lens per axis, within the bins of s, whose lengths are full) into the
 * points of s still empty; returns the points reused. */
static uint64_t reuse(struct run *r, struct slot *s, const size_t *lens,
		      const size_t *full, const char *content,
		      const size_t *off, uint64_t n)
{
	uint64_t got = 0;

	for (uint64_t j = 0; j < n; j++) {
		uint64_t rest = j, local = 0, mul = 1;
		size_t len = off[j + 1] - off[j];

		/* j in the short chunk -> coordinates -> local index in s */
		for (size_t a = r->naxes; a-- > 0;) {
			local += (rest % lens[a]) * mul;
			rest /= lens[a];
			mul *= full[a];
		}
		if (local >= s->npoints || s->lines[local] ||
		    !(s->lines[local] = malloc(len)))
			continue;
		memcpy(s->lines[local], content + off[j], len);
		s->lens[local] = len;
		got++;
	}
	return got;
}

/* Reuses the chunk of s's bins cut to lens, if the cache has it. */
static uint64_t reuse_one(struct run *r, struct slot *s, const size_t *lens,
			  const size_t *full)
{
	struct coren_error e = {0};
	uint64_t n = 1, got = 0;
	size_t *off, len;
	char id[65], *content = NULL;

	for (size_t a = 0; a < r->naxes; a++)
		n *= lens[a];
	off = malloc((n + 1) * sizeof *off);
	if (off && !coren_memo_plan_chunk_id(r->p, s->bins, lens, id) &&
	    !memo_load_checked(r, id, s->bins, lens, n, &content, &len, off,
			       &e))
		got = reuse(r, s, lens, full, content, off, n);
	else if (off && e.code == COREN_ERR_CORRUPT) {
		coren_log(COREN_LOG_WARNING, "chunk %s is damaged (%s): "
					     "not reused",
			  id, e.msg);
		r->st->chunks_corrupt++;
	}
	free(content);
	free(off);
	return got;
}

/* Looks for chunks an earlier, shorter grid left for the trailing bins of
 * s (an axis's last bin, of more than one value), and takes their points.
 * Every combination of shorter lengths on those axes is a candidate,
 * longest first. */
static uint64_t probe_shorter(struct run *r, struct slot *s)
{
	size_t *full = malloc((2 * r->naxes + 1) * sizeof *full);
	size_t *lens = full + r->naxes;
	uint64_t combos = 1, got = 0;
	bool *trailing = calloc(r->naxes + 1, sizeof *trailing);

	if (!full || !trailing)
		goto out;
	coren_memo_plan_chunk_lens(r->p, s->bins, full);
	for (size_t a = 0; a < r->naxes; a++) {
		trailing[a] = s->bins[a] + 1 == coren_memo_plan_nbins(r->p, a) &&
			      full[a] > 1;
		if (trailing[a] && combos <= PROBES_MAX)
			combos *= full[a];
	}
	if (combos == 1 || combos > PROBES_MAX + 1)
		goto out;
	for (uint64_t c = 1; c < combos && got < s->npoints; c++) {
		uint64_t rest = c;

		for (size_t a = r->naxes; a-- > 0;) {
			lens[a] = full[a];
			if (trailing[a]) {
				lens[a] -= (size_t)(rest % full[a]);
				rest /= full[a];
			}
		}
		got += reuse_one(r, s, lens, full);
	}
out:
	free(full);
	free(trailing);
	return got;
}

/* From here on s is computed here: PENDING, with room for its points. */
static enum found from_shorter(struct run *r, struct slot *s,
			       struct coren_error *err)
{
	uint64_t reused;

	s->state = SLOT_PENDING;
	s->lines = calloc(s->npoints, sizeof *s->lines);
	s->lens = calloc(s->npoints, sizeof *s->lens);
	s->errs = calloc(s->npoints, sizeof *s->errs);
	s->key = coren_memo_plan_chunk_key(r->p, s->bins, NULL);
	if (!s->lines || !s->lens || !s->errs || !s->key) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return FOUND_ERR;
	}
	/* earlier, shorter chunks can exist only where an earlier run was:
	 * look when some chunk of this grid is cached, or for the last one */
	reused = r->found || s->index + 1 == r->st->chunks_total
			 ? probe_shorter(r, s)
			 : 0;
	r->st->points_reused += reused;
	r->main_done += reused;
	atomic_store(&s->remaining, s->npoints - reused);
	if (reused < s->npoints)
		return FOUND_NEXT;
	memo_slot_finish(r, s, r->e->params, r->e->fn, &r->main_pts);
	return FOUND_DONE;
}

/* The job being filled goes to the workers. */
void memo_push_building(struct run *r)
{
	struct job *j = r->building;

	if (!j || !j->n)
		return;
	r->building = NULL;
	memo_pool_push(&r->pool, j);
}

static enum coren_err add_point(struct run *r, struct slot *s, uint64_t local)
{
	struct job *j = r->building;
	size_t cap = j ? j->cap : memo_batch(r);

	if (!j) {
		j = calloc(1, sizeof *j);
		if (j) {
			j->slots = malloc(cap * sizeof *j->slots);
			j->local = malloc(cap * sizeof *j->local);
		}
		if (!j || !j->slots || !j->local) {
			memo_job_free(j);
			return COREN_ERR_NOMEM;
		}
		j->cap = cap;
		r->jobs_built++;
		r->building = j;
	}
	j->slots[j->n] = s;
	j->local[j->n++] = local;
	if (j->n == cap)
		memo_push_building(r);
	return COREN_OK;
}

/* The points no source gave go to the workers. They are listed before
 * any is queued: once its last point is queued, a worker may complete s
 * and free its lines while this thread would still be reading them. */
static enum found compute(struct run *r, struct slot *s,
			  struct coren_error *err)
{
	uint64_t *missing = malloc(s->npoints * sizeof *missing), n = 0;
	enum coren_err rc = missing ? COREN_OK : COREN_ERR_NOMEM;

	for (uint64_t i = 0; !rc && i < s->npoints; i++)
		if (!s->lines[i])
			missing[n++] = i;
	for (uint64_t i = 0; !rc && i < n; i++)
		rc = add_point(r, s, missing[i]);
	free(missing);
	if (rc) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return FOUND_ERR;
	}
	return FOUND_DONE;
}

/* The sources, in the order they are tried. */
static const struct source {
	const char *name;
	enum found (*try_fn)(struct run *r, struct slot *s,
			     struct coren_error *err);
} sources[] = {
	{"cache", from_cache},	 {"shard", shard_skip},
	{"remote", from_remote}, {"shorter chunks", from_shorter},
	{"compute", compute},
};

/* Tries the sources from the first'th. */
static enum coren_err resolve_from(struct run *r, struct slot *s,
				   size_t first, struct coren_error *err)
{
	for (size_t i = first; i < sizeof sources / sizeof *sources; i++)
		switch (sources[i].try_fn(r, s, err)) {
		case FOUND_DONE:
			return COREN_OK;
		case FOUND_ERR:
			return err->code ? err->code : COREN_ERR_NOMEM;
		case FOUND_NEXT:
			break;
		}
	return COREN_OK; /* compute always finds */
}

enum coren_err memo_resolve(struct run *r, struct slot *s,
			    struct coren_error *err)
{
	return resolve_from(r, s, 0, err);
}

enum coren_err memo_resolve_unloaded(struct run *r, struct slot *s,
				     struct coren_error *err)
{
	if (s->load_rc == COREN_ERR_CORRUPT) {
		coren_log(COREN_LOG_WARNING, "chunk %s is damaged (%s): "
					     "computing it again",
			  s->id, s->load_why ? s->load_why : "?");
		r->st->chunks_corrupt++;
	} else if (s->load_rc != COREN_ERR_NOTFOUND) {
		coren_log(COREN_LOG_WARNING, "chunk %s: %s: computing it", s->id,
			  s->load_why ? s->load_why : "?");
	}
	free(s->load_why);
	s->load_why = NULL;
	return resolve_from(r, s, 1, err); /* the sources after the cache */
}
