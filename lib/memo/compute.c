/* compute.c - what a worker does with a job: evaluates its points, puts
 * each point's record line in its slot, and stores a chunk when its last
 * point is done. A worker writes only the slot entries of its job's points,
 * its own scratch, and under mu the counters and states struct run says. */
#include "config.h"

#include "run_int.h"

#include <stdlib.h>
#include <string.h>

/* The exec function's cost of chunk s, worked out once (by the main
 * thread for a verdict before s is queued, else by the worker storing s). */
bool memo_slot_cost(struct run *r, struct slot *s,
		    const struct memo_points *pts)
{
	if (!s->w->costed) {
		bool ok = coren_memo_exec_has_cost(r->x) &&
			  !memo_chunk_cost(r->x, pts, s->bins, &s->w->cost);

		s->w->costed = ok ? 1 : -1;
	}
	return s->w->costed > 0;
}

/* The header of s; borrows s->w->key, params and fn (nothing to release). */
static void header_of(struct run *r, struct slot *s, json_t *params,
		      json_t *fn, const struct memo_points *pts,
		      struct coren_chunk_header *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->id, s->id, 65);
	h->chunk_key = s->w->key;
	h->params = params;
	h->fn = fn;
	h->version = r->e->version;
	h->points = s->npoints;
	h->producer = r->producer;
	h->hlc = coren_hlc_tick(&r->clock);
	h->has_cost = memo_slot_cost(r, s, pts);
	h->cost = s->w->cost;
	h->signer = r->o->signer;
}

char *memo_slot_block(struct slot *s, size_t len)
{
	struct line_block *b = malloc(sizeof *b + (len ? len : 1));

	if (!b)
		return NULL;
	b->next = atomic_load(&s->w->blocks);
	while (!atomic_compare_exchange_weak(&s->w->blocks, &b->next, b))
		;
	return b->data;
}

void memo_slot_blocks_free(struct slot *s)
{
	struct line_block *b = atomic_exchange(&s->w->blocks, NULL), *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
}

/* Joins the lines of s into its content; the per-point arrays go (the
 * slot's points all succeeded: no line or error is read again). */
static bool join_lines(struct slot *s)
{
	size_t total = 0;

	for (uint64_t i = 0; i < s->npoints; i++)
		total += s->w->lens[i];
	s->content = malloc(total + 1);
	if (!s->content)
		return false;
	total = 0;
	for (uint64_t i = 0; i < s->npoints; i++) {
		memcpy(s->content + total, s->w->lines[i], s->w->lens[i]);
		total += s->w->lens[i];
	}
	memo_slot_blocks_free(s);
	s->content[total] = '\0';
	s->len = total;
	free(s->w->lines);
	free(s->w->lens);
	free(s->w->errs);
	s->w->lines = s->w->errs = NULL;
	s->w->lens = NULL;
	return true;
}

static void store_failed(struct run *r, enum coren_err rc,
			 const struct coren_error *err)
{
	if (!r->store_rc) { /* mu held */
		r->store_rc = rc;
		r->store_err = *err;
	}
}

/* Slot s's points all succeeded: its content and header are made here
 * (the worker that did its last point, or main when nothing was queued),
 * and it is stored by a storer, or here when they are all busy. */
void memo_slot_finish(struct run *r, struct slot *s, json_t *params,
		      json_t *fn, const struct memo_points *pts)
{
	struct coren_error err = {0};

	if (!join_lines(s)) {
		coren_error_set(&err, COREN_ERR_NOMEM, "out of memory");
		memo_pool_lock(&r->pool);
		store_failed(r, COREN_ERR_NOMEM, &err);
		memo_pool_unlock(&r->pool);
		memo_pool_abort(&r->pool);
		return;
	}
	header_of(r, s, params, fn, pts, &s->w->hdr);
	if (!memo_storers_push(r, s))
		memo_slot_store(r, s, params, fn);
}

void memo_slot_store(struct run *r, struct slot *s, json_t *params,
		     json_t *fn)
{
	struct coren_chunk_header *h = &s->w->hdr;
	struct coren_error err = {0};
	struct coren_buf image;
	enum coren_err rc;

	h->params = params; /* this thread's copies: the encoder increfs them */
	h->fn = fn;
	coren_buf_init(&image, 0);
	rc = h->chunk_key && params ? coren_chunk_store(r->e->cache, h, s->content,
					      s->len, &image, &err)
			  : coren_error_set(&err, COREN_ERR_NOMEM, "out of memory");
	if (!rc)
		memo_index_add(r->index_fd, r->p, s->bins);
	if (h->has_cost && s->npoints) { /* the work of its points run here */
		double f = (double)s->w->computed / (double)s->npoints;

		atomic_fetch_add(&r->work_flops,
				 (uint64_t)((double)h->cost.flops * f));
		atomic_fetch_add(&r->work_mem,
				 (uint64_t)((double)h->cost.mem_bytes * f));
	}
	memo_claim_release(r, s); /* stored (or failed): others may go on */
	if (!rc && r->o->remote && r->o->publish)
		memo_publish(r, s, &image); /* may wait for room in the queue */
	coren_buf_release(&image);
	memo_slot_keep(r, s);
	memo_pool_lock(&r->pool);
	if (rc)
		store_failed(r, rc, &err);
	else
		r->stored++;
	s->state = SLOT_READY;
	memo_settled(r, s);
	memo_pool_wake(&r->pool);
	memo_pool_unlock(&r->pool);
}

/* Point i of b failed: its slot keeps the reason (taken from b, or why). */
static void point_failed(struct slot *s, uint64_t local, char *why)
{
	s->w->errs[local] = why ? why : strdup("out of memory");
	atomic_fetch_add(&s->w->failed, 1);
}

static bool stopped(const struct run *r)
{
	return r->o->stop && *r->o->stop;
}

/* Puts the record lines of points [i, end) of b, all of slot s, in
 * place: an error, or a line (the lines in one block of s). A point
 * that failed once a stop was asked for (the stop may have caused it:
 * "interrupted", a killed command) has none: it did not run. Returns
 * the points that ran. */
static uint64_t place(struct run *r, struct exec_batch *b, struct job *j,
		      size_t i, size_t end, struct coren_buf *line)
{
	struct slot *s = j->slots[i];
	uint64_t ran = 0;
	char *blk;

	line->len = 0;
	for (size_t q = i; q < end; q++) {
		uint64_t local = j->local[q];
		size_t at = line->len;

		if (b->errs[q] && stopped(r)) {
			atomic_fetch_add(&s->w->unrun, 1);
			continue;
		}
		ran++;
		if (b->errs[q]) {
			point_failed(s, local, b->errs[q]);
			b->errs[q] = NULL;
		} else if (memo_result_line(r->p, b->vidx + q * r->naxes,
					    b->vals.data + b->voff[q],
					    b->vlen[q], line)) {
			line->len = at;
			point_failed(s, local, NULL);
		} else {
			s->w->lens[local] = line->len - at;
		}
	}
	blk = line->len ? memo_slot_block(s, line->len) : NULL;
	if (blk)
		memcpy(blk, line->data, line->len);
	for (size_t q = i, at = 0; line->len && q < end; q++) {
		uint64_t local = j->local[q];

		if (b->errs[q] || s->w->errs[local] || !s->w->lens[local])
			continue; /* not run, or failed */
		if (blk)
			s->w->lines[local] = blk + at;
		else
			point_failed(s, local, NULL);
		at += s->w->lens[local];
	}
	return ran;
}

/* Point i of job j is done: the last point of a slot completes it. */
static void point_done(struct run *r, struct scratch *sc, struct slot *s)
{
	if (atomic_fetch_sub(&s->w->remaining, 1) != 1)
		return;
	if (atomic_load(&s->w->failed) == 0 && atomic_load(&s->w->unrun) == 0) {
		memo_slot_finish(r, s, sc->params, sc->fn, &sc->pts);
		return;
	}
	memo_pool_lock(&r->pool);
	s->state = SLOT_FAILED;
	memo_settled(r, s);
	memo_pool_wake(&r->pool);
	memo_pool_unlock(&r->pool);
}

/* Sets up b for the n points of j; false on ENOMEM. */
static bool batch_setup(struct run *r, struct exec_batch *b, struct job *j,
			size_t *vidx)
{
	b->n = j->n;
	b->vals.len = 0;
	b->voff = calloc(j->n, sizeof *b->voff);
	b->vlen = calloc(j->n, sizeof *b->vlen);
	b->errs = calloc(j->n, sizeof *b->errs);
	if (!vidx || !b->voff || !b->vlen || !b->errs)
		return false;
	for (size_t i = 0; i < j->n; i++)
		coren_memo_plan_point(r->p, j->slots[i]->bins, j->local[i],
				      vidx + i * r->naxes);
	b->vidx = vidx;
	return true;
}

/* Reads and checks the cached file of LOADING slot s (a worker, so that
 * chunks decode, hash and check in parallel while the main thread
 * prints); s ends READY, or UNLOADED for the main thread to go on. */
static void load(struct run *r, struct slot *s)
{
	struct coren_error e = {0};
	size_t len = 0;
	char *content = NULL;
	enum coren_err rc = memo_load_checked(
	    r, s->id, s->bins, NULL, s->npoints, &content, &len, NULL, &e);
	char *why = rc ? strdup(e.msg) : NULL;

	if (!rc) {
		s->content = content;
		s->len = len;
		memo_slot_keep(r, s);
	}
	memo_pool_lock(&r->pool);
	if (!rc) {
		s->cached = true;
		s->state = SLOT_READY;
		atomic_fetch_add(&r->points_loaded, s->npoints);
		memo_settled(r, s);
	} else {
		s->w->load_rc = rc;
		s->w->load_why = why;
		s->state = SLOT_UNLOADED;
		r->unloaded++;
	}
	memo_pool_wake(&r->pool);
	memo_pool_unlock(&r->pool);
}

/* Worker k runs the points of job j. */
static void run_points(struct run *r, size_t k, struct job *j)
{
	struct scratch *sc = &r->scratch[k];
	struct exec_batch *b = &sc->b;
	size_t *vidx = malloc(j->n * (r->naxes ? r->naxes : 1) * sizeof *vidx);
	bool ok = batch_setup(r, b, j, vidx), failed = false;
	uint64_t ran = 0;

	if (ok) {
		double t0 = memo_now();

		uint64_t ns, per, max;

		memo_exec_run(r->x, r->wstate[k], b);
		ns = (uint64_t)((memo_now() - t0) * 1e9);
		atomic_fetch_add(&r->busy_ns, ns);
		atomic_fetch_add(&r->busy_points, j->n);
		per = j->n ? ns / j->n : 0; /* the slowest job per point */
		max = atomic_load(&r->max_point_ns);
		while (per > max &&
		       !atomic_compare_exchange_weak(&r->max_point_ns, &max, per))
			;
	}
	for (size_t i = 0, end; i < j->n; i = end) {
		struct slot *s = j->slots[i];

		for (end = i + 1; end < j->n && j->slots[end] == s; end++)
			;
		if (ok)
			ran += place(r, b, j, i, end, &sc->line);
		for (size_t q = i; !ok && q < end; q++, ran++)
			point_failed(s, j->local[q], NULL);
		for (size_t q = i; q < end; q++) {
			failed |= s->w->errs[j->local[q]] != NULL;
			point_done(r, sc, s);
		}
	}
	atomic_fetch_add(&r->points_ran, ran); /* once a job: not contended */
	if (ran && atomic_load(&r->fetching)) /* computed beside a fetch */
		atomic_fetch_add(&r->points_during_fetch, ran);
	memo_pool_lock(&r->pool);
	r->exec_chunks++;
	memo_pool_unlock(&r->pool);
	if (failed && !r->o->keep_going)
		memo_pool_abort(&r->pool);
	free(vidx);
	free(b->voff);
	free(b->vlen);
	if (b->errs)
		for (size_t i = 0; i < j->n; i++)
			free(b->errs[i]);
	free(b->errs);
	b->voff = b->vlen = NULL;
	b->errs = NULL;
}

/* Worker k runs job j (the pool's callback). */
void memo_run_job(void *ctx, size_t k, struct job *j)
{
	struct run *r = ctx;

	if (j->load) {
		load(r, j->load);
		return;
	}
	run_points(r, k, j);
}
