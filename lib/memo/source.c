/* source.c - where a memo chunk comes from, tried in order: the local
 * cache, the --shard rule (another task's chunk is skipped), the remote
 * tier (a fetcher's, fetchers.c), a claim (another run computing it: wait
 * for it), the points cached chunks of other shapes hold (index.c), and
 * computing what is left. Main thread only: the slot is not yet the
 * workers' or a fetcher's. Every
 * chunk content read here passes memo_check_lines() before any line is
 * used. */
#include "config.h"

#include "run_int.h"

#include <coren/log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* A chunk to try on the tier goes to the fetchers: the window goes on
 * meanwhile, and a fetch that does not give it hands it back UNFETCHED
 * (run.c then resumes it with the sources after this one). */
static enum found from_remote(struct run *r, struct slot *s,
			      struct coren_error *err)
{
	(void)err;
	if (!r->o->remote || !memo_fetch_wanted(r, s))
		return FOUND_NEXT;
	s->state = SLOT_FETCHING;
	memo_fetchers_push(r, s);
	return FOUND_DONE;
}

/* A chunk computed here is claimed first, so that a concurrent run on
 * the same cache does not compute it too (claim.c). Another run's claim
 * leaves s WAITING: the window goes on with later chunks, and run.c
 * polls s (memo_resolve_waiting()) until it is stored or free. */
static enum found claim(struct run *r, struct slot *s, struct coren_error *err)
{
	switch (memo_claim_take(r, s)) {
	case CLAIM_BUSY:
		r->waiting += !s->waiting;
		s->waiting = true;
		s->state = SLOT_WAITING;
		return FOUND_DONE;
	case CLAIM_STORED:
		r->waiting -= s->waiting;
		s->waiting = false;
		return from_cache(r, s, err);
	case CLAIM_HELD:
	case CLAIM_NONE:
		break;
	}
	r->waiting -= s->waiting;
	s->waiting = false;
	return FOUND_NEXT;
}

/* Takes the points of s still empty that index entry k's chunk holds;
 * returns how many. For each axis, the entry's values that fall in s's
 * bin; the points are their product. */
static uint64_t reuse_entry(struct run *r, struct slot *s, size_t k,
			    const size_t *full)
{
	const struct coren_memo_exp *e = r->e;
	size_t na = r->naxes, *pos = calloc(4 * na + 1, sizeof *pos);
	size_t **hit = calloc(na + 1, sizeof *hit), *nhit = pos + na;
	size_t *emul = nhit + na, *lmul = emul + na;
	const size_t *off;
	const char *content = NULL;
	uint64_t got = 0;
	bool corrupt = false, more = true;

	for (size_t a = na, elen = 1; pos && hit && a-- > 0;) {
		size_t lo = s->bins[a] * e->axes[a].bin, v;
		size_t len = memo_index_len(r->index, k, a);

		/* row-major strides: of the entry's chunk, and of s */
		emul[a] = elen;
		elen *= len;
		lmul[a] = a + 1 < na ? lmul[a + 1] * full[a + 1] : 1;
		if (!(hit[a] = malloc(len * sizeof *hit[a])))
			goto out;
		for (size_t i = 0; i < len; i++)
			if ((v = memo_index_at(r->index, k, a, i)) !=
				SIZE_MAX &&
			    v >= lo && v < lo + full[a])
				hit[a][nhit[a]++] = i;
		more &= nhit[a] > 0;
	}
	if (!pos || !hit || !more)
		goto out;
	content = memo_index_chunk(r->index, k, r->o->max_content, &off,
				   &corrupt);
	r->st->chunks_corrupt += corrupt;
	while (content && more) { /* pos: an index into each hit[a] */
		uint64_t j = 0, local = 0;

		for (size_t a = 0; a < na; a++) {
			size_t i = hit[a][pos[a]];

			j += i * emul[a];
			local += (memo_index_at(r->index, k, a, i) -
				  s->bins[a] * e->axes[a].bin) *
				 lmul[a];
		}
		if (!s->w->lines[local] && (s->w->lines[local] = memo_slot_block(
					     s, off[j + 1] - off[j]))) {
			s->w->lens[local] = off[j + 1] - off[j];
			memcpy(s->w->lines[local], content + off[j], s->w->lens[local]);
			got++;
		}
		more = false;
		for (size_t a = na; !more && a-- > 0;) {
			if (++pos[a] < nhit[a])
				more = true;
			else
				pos[a] = 0;
		}
	}
out:
	for (size_t a = 0; hit && a < na; a++)
		free(hit[a]);
	free(hit);
	free(pos);
	return got;
}

/* The points of s that chunks of the index hold (memo_index_load() on
 * the first chunk that needs it: a run that finds all it needs by chunk
 * id never reads the index). */
static uint64_t reuse_cached(struct run *r, struct slot *s)
{
	size_t *full = malloc((r->naxes + 1) * sizeof *full), cursor = 0, k;
	uint64_t got = 0;

	if (!r->index_loaded) {
		r->index_loaded = true;
		r->index = memo_index_load(r->p, r->e->cache);
	}
	if (!full || memo_index_empty(r->index)) {
		free(full);
		return 0;
	}
	coren_memo_plan_chunk_lens(r->p, s->bins, full);
	while (got < s->npoints &&
	       (k = memo_index_next(r->index, s->bins, full, s->id,
				    &cursor)) != SIZE_MAX)
		got += reuse_entry(r, s, k, full);
	free(full);
	return got;
}

/* From here on s is computed here: PENDING, with room for its points,
 * some of which cached chunks of other shapes may hold. */
static enum found from_index(struct run *r, struct slot *s,
			     struct coren_error *err)
{
	uint64_t reused;

	s->state = SLOT_PENDING;
	s->w->lines = calloc(s->npoints, sizeof *s->w->lines);
	s->w->lens = calloc(s->npoints, sizeof *s->w->lens);
	s->w->errs = calloc(s->npoints, sizeof *s->w->errs);
	s->w->key = coren_memo_plan_chunk_key(r->p, s->bins, NULL);
	if (!s->w->lines || !s->w->lens || !s->w->errs || !s->w->key) {
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		return FOUND_ERR;
	}
	reused = r->naxes ? reuse_cached(r, s) : 0;
	r->st->points_reused += reused;
	r->main_done += reused;
	atomic_store(&s->w->remaining, s->npoints - reused);
	s->w->computed = s->npoints - reused;
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
		if (!s->w->lines[i])
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
	{"remote", from_remote}, {"claim", claim},
	{"cached points", from_index}, {"compute", compute},
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

enum coren_err memo_resolve_waiting(struct run *r, struct slot *s,
				    struct coren_error *err)
{
	size_t i = 0;

	while (sources[i].try_fn != claim)
		i++;
	return resolve_from(r, s, i, err);
}

enum coren_err memo_resolve_unfetched(struct run *r, struct slot *s,
				      struct coren_error *err)
{
	size_t i = 0;

	while (sources[i].try_fn != from_remote)
		i++;
	return resolve_from(r, s, i + 1, err);
}

enum coren_err memo_resolve_unloaded(struct run *r, struct slot *s,
				     struct coren_error *err)
{
	if (s->w->load_rc == COREN_ERR_CORRUPT) {
		coren_log(COREN_LOG_WARNING, "chunk %s is damaged (%s): "
					     "computing it again",
			  s->id, s->w->load_why ? s->w->load_why : "?");
		r->st->chunks_corrupt++;
	} else if (s->w->load_rc != COREN_ERR_NOTFOUND) {
		coren_log(COREN_LOG_WARNING, "chunk %s: %s: computing it", s->id,
			  s->w->load_why ? s->w->load_why : "?");
	}
	free(s->w->load_why);
	s->w->load_why = NULL;
	return resolve_from(r, s, 1, err); /* the sources after the cache */
}
