/* run.c - the executor's main thread: it walks the plan's chunks through a
 * window, has each resolved (source.c: cached, fetched, skipped, reused or
 * computed by the worker pool, pool.c and compute.c), and emits the window
 * a slab at a time in grid order (window.c). The window and the statistics
 * are the main thread's alone; what the workers share is under the pool's
 * lock (run_int.h says which field is whose). */
#include "config.h"

#include "run_int.h"

#include <coren/json.h>
#include <coren/record.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_MAX 65536 /* memo chunks held at once, beyond one slab */
#define HELD_MIN 65536	 /* points the window may hold beyond one slab */
#define PROGRESS_SECONDS 0.05 /* between two progress calls */

double memo_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Frees what s needs until it settles (its work part). */
static void slot_work_free(struct slot *s)
{
	if (!s->w)
		return;
	memo_slot_blocks_free(s);
	for (uint64_t i = 0; s->w->errs && i < s->npoints; i++)
		free(s->w->errs[i]);
	free(s->w->lines);
	free(s->w->lens);
	free(s->w->errs);
	free(s->w->load_why);
	json_decref(s->w->key);
	json_decref(s->w->verdict);
	free(s->w);
	s->w = NULL;
}

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	slot_work_free(s);
	free(s->content);
	free(s->bins);
	free(s);
}

static struct slot *slot_new(struct run *r, uint64_t c)
{
	struct slot *s = calloc(1, sizeof *s);

	if (!s || !(s->bins = calloc(r->naxes + 1, sizeof *s->bins)) ||
	    !(s->w = calloc(1, sizeof *s->w))) {
		if (s)
			free(s->bins);
		free(s);
		return NULL;
	}
	s->index = c;
	coren_memo_plan_chunk_bins(r->p, c, s->bins);
	s->npoints = coren_memo_plan_chunk_points(r->p, s->bins);
	if (coren_memo_plan_chunk_id(r->p, s->bins, NULL, s->id)) {
		slot_free(s);
		return NULL;
	}
	return s;
}

/* ---- emitting in grid order ------------------------------------------- */

static enum coren_err write_all(struct run *r, const char *d, size_t n)
{
	if (!r->o->out)
		return COREN_OK;
	return fwrite(d, 1, n, r->o->out) == n ? COREN_OK : COREN_ERR_IO;
}

/* ---- values records (opts->values, coren-records(5)) ------------------ */

#define RESULT_HEAD "{\"type\":\"result\",\"point\":"
#define VALUE_KEY   ",\"value\":"

/* Whether no axis name or value text holds a '}': then the first '}' of a
 * result line ends its point. */
static bool no_brace(const struct coren_memo_plan *p)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	struct coren_buf b;
	bool none = true;

	coren_buf_init(&b, 0);
	for (size_t a = 0; none && a < coren_memo_plan_naxes(p); a++) {
		if (strchr(coren_memo_plan_axis_name(p, a), '}'))
			none = false;
		if (e->axes[a].range) /* numbers: never a '}' */
			continue;
		for (size_t v = 0; none && v < coren_memo_plan_nvalues(p, a);
		     v++) {
			coren_buf_reset(&b);
			if (coren_memo_plan_value_text(p, a, v, &b) ||
			    memchr(b.data, '}', b.len))
				none = false;
		}
	}
	coren_buf_release(&b);
	return none;
}

/* The value of a checked result line (len bytes, its newline included):
 * what follows the point object, whose strings may hold any text (or,
 * with brace_free, no '}'), and VALUE_KEY, up to the closing "}\n". NULL
 * when the line is not so. */
static const char *line_value(const char *line, size_t len, bool brace_free,
			      size_t *vlen)
{
	const char *p = line + sizeof RESULT_HEAD - 1, *end = line + len;
	size_t depth = 0;
	bool str = false;

	if (len < sizeof RESULT_HEAD + sizeof VALUE_KEY ||
	    memcmp(line, RESULT_HEAD, sizeof RESULT_HEAD - 1) || *p != '{')
		return NULL;
	if (brace_free && !(p = memchr(p, '}', (size_t)(end - p))))
		return NULL;
	for (; !brace_free && p < end; p++) {
		if (str) {
			if (*p == '\\')
				p++; /* the escaped character */
			else if (*p == '"')
				str = false;
		} else if (*p == '"')
			str = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			break;
	}
	if (p >= end || (size_t)(end - ++p) < sizeof VALUE_KEY + 2 ||
	    memcmp(p, VALUE_KEY, sizeof VALUE_KEY - 1) || end[-1] != '\n' ||
	    end[-2] != '}')
		return NULL;
	p += sizeof VALUE_KEY - 1;
	*vlen = (size_t)(end - 2 - p);
	return p;
}

/* Ends the open values record, if any. */
static enum coren_err values_close(struct run *r)
{
	if (!r->vopen)
		return COREN_OK;
	r->vopen = false;
	return write_all(r, "]}\n", 3);
}

/* n points without a value (failed, not run, skipped): the run of
 * values, if any, ends before them. */
static enum coren_err values_gap(struct run *r, uint64_t n)
{
	if (!r->o->values)
		return COREN_OK;
	r->emitted += n;
	return values_close(r);
}

/* The value of result line (len bytes), the next point's, into the open
 * values record or a new one (on out: only emit_slab() writes). */
static enum coren_err values_put(struct run *r, const char *line, size_t len)
{
	FILE *f = r->o->out;
	char head[80];
	size_t vlen;
	const char *v = line_value(line, len, r->brace_free, &vlen);
	bool ok;
	int n;

	if (!v)
		return COREN_ERR_CORRUPT;
	if (r->vopen) {
		ok = putc_unlocked(',', f) != EOF;
	} else {
		n = snprintf(head, sizeof head,
			     "{\"type\":\"values\",\"index\":%llu,\"values\":[",
			     (unsigned long long)r->emitted);
		r->vopen = true;
		ok = fwrite_unlocked(head, 1, (size_t)n, f) == (size_t)n;
	}
	r->emitted++;
	return ok && fwrite_unlocked(v, 1, vlen, f) == vlen ? COREN_OK
							    : COREN_ERR_IO;
}

/* n result lines of consecutive points, d (len bytes): as they are, or
 * their values. */
static enum coren_err emit_lines(struct run *r, const char *d, size_t len,
				 uint64_t n)
{
	enum coren_err rc = COREN_OK;

	if (!r->o->values)
		return write_all(r, d, len);
	for (uint64_t i = 0; !rc && i < n; i++) {
		const char *nl = memchr(d, '\n', len);
		size_t l = nl ? (size_t)(nl + 1 - d) : 0;

		rc = l ? values_put(r, d, l) : COREN_ERR_CORRUPT;
		d += l;
		len -= l;
	}
	return rc;
}

/* ---- emitting in grid order (continued) ------------------------------- */

static enum coren_err emit_error(struct run *r, const struct slot *s,
				 uint64_t local, const char *why)
{
	struct coren_buf b;
	size_t *vidx = malloc((r->naxes + 1) * sizeof *vidx);
	enum coren_err rc = vidx ? COREN_OK : COREN_ERR_NOMEM;

	coren_buf_init(&b, 0);
	if (!rc) {
		coren_memo_plan_point(r->p, s->bins, local, vidx);
		rc = memo_error_line(r->p, vidx, why, &b);
	}
	if (!rc && r->o->out)
		rc = write_all(r, b.data, b.len);
	coren_buf_release(&b);
	free(vidx);
	return rc;
}

/* Point local of slot s, not READY: its line, or its error record
 * (points_failed), or nothing when it has no outcome (points_unrun). A
 * SKIPPED slot (another shard's) has no records. */
static enum coren_err emit_point(struct run *r, struct slot *s, uint64_t local)
{
	enum coren_err rc;

	if (local >= s->npoints)
		return COREN_ERR_CORRUPT;
	if (s->state != SLOT_SKIPPED && s->w->lines && s->w->lines[local])
		return emit_lines(r, s->w->lines[local], s->w->lens[local], 1);
	rc = values_gap(r, 1);
	if (rc || s->state == SLOT_SKIPPED)
		return rc;
	if (s->w->errs && s->w->errs[local]) {
		r->st->points_failed++;
		return emit_error(r, s, local, s->w->errs[local]);
	}
	r->st->points_unrun++;
	return COREN_OK;
}

/* Points [local, local + n) of slot s. A READY slot's lines are read
 * through its cursor (spill.c: in memory or spilled, front to back). */
static enum coren_err emit_run(struct run *r, struct slot *s, uint64_t local,
			       uint64_t n)
{
	enum coren_err rc = COREN_OK;

	while (s->state == SLOT_READY && !rc && n) {
		const char *d;
		size_t len;
		uint64_t got;

		if (!(rc = memo_slot_lines(r, s, local, n, &d, &len, &got))) {
			rc = emit_lines(r, d, len, got);
			local += got;
			n -= got;
		}
	}
	for (uint64_t i = 0; s->state != SLOT_READY && !rc && i < n; i++)
		rc = emit_point(r, s, local + i);
	return rc;
}

/* What emit_point() counts, for a whole slot, writing nothing. */
static void count_slot(struct run *r, const struct slot *s)
{
	if (s->state == SLOT_READY || s->state == SLOT_SKIPPED)
		return;
	for (uint64_t i = 0; i < s->npoints; i++)
		if (s->w->errs && s->w->errs[i])
			r->st->points_failed++;
		else if (!s->w->lines || !s->w->lines[i])
			r->st->points_unrun++;
}

/* Emits the slab of window slots [0, avail) in grid order: the chunks
 * that share the first axis's bin, interleaved point by point. avail <
 * r->slab only after an abort: the slab's other chunks were never made
 * (their points are counted as not run at the end). Without an output
 * it only counts. */
static enum coren_err emit_slab(struct run *r, size_t avail)
{
	struct slot *first = r->win[0];
	struct memo_order o;
	size_t c;
	uint64_t local, n;
	enum coren_err rc = COREN_OK;

	for (size_t i = 0; i < avail; i++)
		r->st->chunks_cached += r->win[i]->cached;
	if (!r->o->out) {
		for (size_t i = 0; i < avail; i++)
			count_slot(r, r->win[i]);
		return COREN_OK;
	}
	if (r->o->progress_clear)
		r->o->progress_clear(r->o->progress_data);
	if (r->slab == 1 && first->state == SLOT_READY && first->content &&
	    !first->next) {
		rc = emit_lines(r, first->content, first->len, first->npoints);
		return rc ? rc : values_close(r);
	}
	if (memo_order_init(&o, r->p, (size_t)(first->index / r->slab)))
		return COREN_ERR_NOMEM;
	while (!rc && memo_order_run(&o, &c, &local, &n))
		if (c < avail)
			rc = emit_run(r, r->win[c], local, n);
		else if (c >= r->slab)
			rc = COREN_ERR_CORRUPT;
		else /* never made (after an abort): no values */
			rc = values_gap(r, n);
	memo_order_release(&o);
	/* a slab's values end with it: records are whole while we wait */
	return rc ? rc : values_close(r);
}

/* ---- the window ------------------------------------------------------- */

static enum coren_err window_push(struct run *r, struct slot *s)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct slot **w = realloc(r->win, cap * sizeof *w);

		if (!w)
			return COREN_ERR_NOMEM;
		r->win = w;
		r->cap = cap;
	}
	r->win[r->n++] = s;
	r->held += s->npoints;
	r->created += s->npoints;
	return COREN_OK;
}

/* Writes the --explain record a decision left in s (main). */
static void explain_write(struct run *r, struct slot *s)
{
	if (!s->w || !s->w->verdict)
		return;
	if (r->o->progress_clear)
		r->o->progress_clear(r->o->progress_data);
	coren_record_write(r->o->explain, s->w->verdict);
	json_decref(s->w->verdict);
	s->w->verdict = NULL;
}

static void window_drop(struct run *r, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		explain_write(r, r->win[i]); /* unsettled: after an abort */
		r->held -= r->win[i]->npoints;
		r->waiting -= r->win[i]->waiting;
		memo_claim_release(r, r->win[i]); /* unfinished: free it */
		memo_slot_unkeep(r, r->win[i]);
		slot_free(r->win[i]);
	}
	if (k < r->n)
		memmove(r->win, r->win + k, (r->n - k) * sizeof *r->win);
	r->n -= k;
	r->base += k;
	if (r->tidy < r->base)
		r->tidy = r->base;
}

/* Frees the chunk keys of settled slots, in plan order from r->tidy (a
 * settled slot's key is read by no worker again): a slab of many chunks
 * then holds no key but those of its unsettled chunks. Their --explain
 * records are written then too: in plan order, whichever thread made
 * the decision. */
static void tidy(struct run *r)
{
	while (r->tidy < r->base + r->n) {
		struct slot *s = r->win[r->tidy - r->base];
		bool settled;

		memo_pool_lock(&r->pool);
		settled = s->state >= SLOT_READY;
		memo_pool_unlock(&r->pool);
		if (!settled)
			return;
		explain_write(r, s);
		json_decref(s->w->key);
		s->w->key = NULL;
		if (s->state == SLOT_READY) /* READY: its lines are content */
			slot_work_free(s);
		r->tidy++;
	}
}

#define AUTO_JOB_SECONDS 0.02 /* a job's time: its overhead is then noise */
#define AUTO_MAX 4096	      /* points per job: chunks still complete often */

size_t memo_batch(struct run *r)
{
	uint64_t ns = atomic_load(&r->busy_ns);
	uint64_t pts = atomic_load(&r->busy_points);
	/* a small grid still spreads: a few jobs for each worker */
	uint64_t spread = r->st->points_total / (4 * (uint64_t)r->o->workers) + 1;
	double want;
	size_t n;

	if (r->e->exec_chunk)
		return r->e->exec_chunk;
	if (!pts) /* nothing measured yet: 1, 2, 4, ... points per job */
		n = (size_t)1 << (r->jobs_built < 12 ? r->jobs_built : 12);
	else {
		want = AUTO_JOB_SECONDS * 1e9 * (double)pts / ((double)ns + 1);
		n = want >= AUTO_MAX ? AUTO_MAX : want < 1 ? 1 : (size_t)want;
	}
	return n < spread ? n : (size_t)spread;
}

/* Within the first slab: while the unsettled points (pending, loading)
 * are few enough, or the unsettled chunks fewer than the workers (a
 * worker loads a whole chunk), whatever the slab holds (spill.c). Beyond
 * it: enough to keep the workers fed, but a bounded number of points and
 * chunks. */
static bool want_more(struct run *r, uint64_t next)
{
	size_t target = r->o->workers * memo_batch(r) * 2;
	uint64_t bound = target > HELD_MIN ? 4 * target : HELD_MIN;

	if (next >= r->st->chunks_total || memo_pool_aborted(&r->pool))
		return false;
	if (r->n < r->slab) /* and a chunk per worker, however large */
		return r->created - atomic_load(&r->points_settled) < bound ||
		       r->base + r->n - atomic_load(&r->chunks_done) <
			   r->o->workers;
	return r->n < r->slab + WINDOW_MAX &&
	       atomic_load(&r->claims_held) < r->claims_max &&
	       memo_pool_queued(&r->pool) < target && r->held < bound;
}

/* The workers' counters into *st (for progress, and at the end). */
static void sync_stats(struct run *r)
{
	memo_pool_lock(&r->pool);
	r->st->exec_chunks = r->exec_chunks;
	r->st->chunks_published = r->published;
	r->st->publish_failed = r->publish_failed;
	r->st->chunks_executed = r->stored;
	r->st->chunks_fetched = r->fetched;
	r->st->remote_bad = r->remote_bad;
	r->st->chunks_untrusted = r->untrusted;
	r->st->seconds_saved = r->saved;
	r->st->fetches_max_parallel = r->fetchers.inflight_max;
	memo_pool_unlock(&r->pool);
	r->st->points_during_fetch = atomic_load(&r->points_during_fetch);
	r->st->points_executed = atomic_load(&r->points_ran);
	r->st->points_done = r->st->points_executed + r->main_done +
			     atomic_load(&r->points_loaded) +
			     atomic_load(&r->points_fetched);
	r->st->chunks_done = atomic_load(&r->chunks_done);
}

/* Calls the progress callback, at most every PROGRESS_SECONDS unless
 * force: from the start, from the main loop (which wakes at least every
 * 100 ms), and at the end. */
static void progress(struct run *r, bool force)
{
	double t;

	if (!r->o->progress)
		return;
	t = memo_now();
	if (!force && t - r->last_progress < PROGRESS_SECONDS)
		return;
	r->last_progress = t;
	sync_stats(r);
	r->o->progress(r->st, r->o->progress_data);
}

/* Adds slots to the window while it wants more, resolving each. */
static enum coren_err fill(struct run *r, uint64_t *next,
			   struct coren_error *err)
{
	enum coren_err rc = COREN_OK;

	while (!rc && want_more(r, *next)) {
		struct slot *s = slot_new(r, *next);

		if (!s || window_push(r, s)) {
			slot_free(s);
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
		}
		++*next;
		rc = memo_resolve(r, s, err);
	}
	if (!rc && !want_more(r, *next))
		memo_push_building(r);
	return rc;
}

enum slab_wait { SLAB_READY, SLAB_NOT_YET, SLAB_NEVER };

/* Whether the first slab is complete; waits a while if not. */
static enum slab_wait wait_slab(struct run *r)
{
	enum slab_wait w = r->n >= r->slab ? SLAB_READY : SLAB_NOT_YET;

	memo_pool_lock(&r->pool);
	for (size_t i = 0; w == SLAB_READY && i < r->slab; i++)
		if (r->win[i]->state < SLOT_READY) /* pending, loading */
			w = SLAB_NOT_YET;
	if (w == SLAB_NOT_YET && r->pool.abort && memo_pool_idle(&r->pool) &&
	    memo_fetchers_idle(r) && memo_storers_idle(r))
		w = SLAB_NEVER; /* nothing more will complete */
	else if (w == SLAB_NOT_YET && !r->unloaded)
		memo_pool_wait(&r->pool);
	memo_pool_unlock(&r->pool);
	return w;
}

static bool stopped(const struct run *r)
{
	return r->o->stop && *r->o->stop;
}

/* Emits the first slab, complete, and drops it from the window. */
static enum coren_err emit_first(struct run *r, struct coren_error *err)
{
	if (emit_slab(r, r->slab))
		return coren_error_set(err, COREN_ERR_IO,
				       "cannot write the results");
	window_drop(r, r->slab);
	return COREN_OK;
}

/* Drops the queued jobs and the one being built (after an abort): their
 * points do not run (points_unrun) and their chunks stay unwritten. */
static void drop_queue(struct run *r)
{
	memo_pool_drop(&r->pool);
	memo_job_free(r->building);
	r->building = NULL;
}

/* Goes on with the slots whose cached file a worker could not use, and
 * those the tier did not give. */
static enum coren_err resume_unloaded(struct run *r, struct coren_error *err)
{
	enum coren_err rc = COREN_OK;
	size_t n;

	memo_pool_lock(&r->pool);
	n = r->unloaded;
	r->unloaded = 0;
	memo_pool_unlock(&r->pool);
	if (!n)
		return COREN_OK;
	for (size_t k = 0; !rc && n && k < r->n; k++) {
		struct slot *s = r->win[k];
		enum slot_state state;

		memo_pool_lock(&r->pool);
		state = s->state;
		memo_pool_unlock(&r->pool);
		if (state == SLOT_UNLOADED) { /* no worker holds it: main's */
			n--;
			rc = memo_resolve_unloaded(r, s, err);
		} else if (state == SLOT_UNFETCHED) { /* nor a fetcher */
			n--;
			rc = memo_resolve_unfetched(r, s, err);
		}
	}
	if (!rc) /* its points may be all that is left to queue */
		memo_push_building(r);
	return rc;
}

#define CLAIM_POLL_SECONDS 0.02 /* between two polls of the waiting slots */

/* Polls the slots another process claims: stored since (loaded), or free
 * (claimed here: its holder died, failed or stopped). Not after an abort:
 * nothing more is computed then. */
static enum coren_err resume_waiting(struct run *r, struct coren_error *err)
{
	enum coren_err rc = COREN_OK;
	double t;

	if (!r->waiting || memo_pool_aborted(&r->pool))
		return COREN_OK;
	t = memo_now();
	if (t - r->last_poll < CLAIM_POLL_SECONDS)
		return COREN_OK;
	r->last_poll = t;
	for (size_t k = 0; !rc && r->waiting && k < r->n; k++)
		if (r->win[k]->waiting)
			rc = memo_resolve_waiting(r, r->win[k], err);
	if (!rc)
		memo_push_building(r);
	return rc;
}

static enum coren_err main_loop(struct run *r, struct coren_error *err)
{
	uint64_t next = 0;
	enum coren_err rc = COREN_OK;

	while (!rc && r->base < r->st->chunks_total) {
		enum slab_wait w;

		if ((rc = fill(r, &next, err)) ||
		    (rc = resume_unloaded(r, err)) ||
		    (rc = resume_waiting(r, err)))
			break;
		progress(r, false);
		if (stopped(r))
			memo_pool_abort(&r->pool);
		w = wait_slab(r);
		tidy(r);
		if (w == SLAB_NEVER)
			break;
		if (w == SLAB_NOT_YET) {
			if (memo_pool_aborted(&r->pool))
				drop_queue(r);
			continue;
		}
		if (stopped(r) && memo_pool_aborted(&r->pool))
			break;
		rc = emit_first(r, err);
	}
	return rc;
}

/* After the main loop, the workers stopped: what the window still holds
 * (after an abort, a stop or an error), slab by slab in grid order: every
 * point that ran is a result or an error record, the others are counted
 * as not run, as are the points of the chunks never put in the window.
 * After an error nothing more is written (write false), only counted. */
static enum coren_err flush(struct run *r, bool write)
{
	enum coren_err rc = COREN_OK;

	while (r->n) {
		size_t avail = r->n < r->slab ? r->n : r->slab;

		if (write && !rc)
			rc = emit_slab(r, avail);
		else
			for (size_t i = 0; i < avail; i++) {
				r->st->chunks_cached += r->win[i]->cached;
				count_slot(r, r->win[i]);
			}
		window_drop(r, avail);
	}
	r->st->points_unrun += r->st->points_total - r->created;
	return rc;
}

/* The clock's node id: 16 bits of FNV-1a of the producer (host, pid). */
static uint16_t hlc_node(const char *producer)
{
	uint32_t h = 2166136261u;

	for (const char *c = producer; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return (uint16_t)(h ^ (h >> 16));
}

/* What this run measured, added to the function's figures (calib.c). */
void memo_calib_run(struct run *r, struct memo_calib *c)
{
	memset(c, 0, sizeof *c);
	c->seconds = (double)atomic_load(&r->busy_ns) / 1e9;
	c->points = (double)atomic_load(&r->busy_points);
	c->flops = (double)atomic_load(&r->work_flops);
	c->mem_bytes = (double)atomic_load(&r->work_mem);
	c->max_point = (double)atomic_load(&r->max_point_ns) / 1e9;
}

static void calib_save(struct run *r)
{
	struct memo_calib c;

	memo_calib_run(r, &c);
	if (c.points > 0 && r->e->cache)
		memo_calib_save(r->e->cache, r->e->fn, &c);
}

/* The run's read-only part, and its workers' state (not yet started). */
static enum coren_err run_init(struct run *r, const struct coren_memo_plan *p,
			       struct coren_memo_exec *x,
			       const struct coren_memo_run_opts *o,
			       struct coren_memo_stats *st)
{
	char host[64] = "";

	r->spill.fd = -1;
	r->claims_fd = -1;
	coren_buf_init(&r->rd, 0);
	r->p = p;
	r->e = coren_memo_plan_exp(p);
	r->x = x;
	r->o = o;
	r->st = st;
	r->naxes = coren_memo_plan_naxes(p);
	r->slab = memo_slab_chunks(p);
	r->brace_free = o->out && o->values && no_brace(p);
	r->claims_max = memo_claims_max();
	memo_points_init(&r->main_pts, p, true); /* allocates nothing */
	if (o->out && r->slab > 1) /* a slab's results may have to wait */
		memo_spill_open(&r->spill);
	st->chunks_total = coren_memo_plan_chunks(p);
	st->points_total = coren_memo_plan_points(p);
	gethostname(host, sizeof host - 1);
	snprintf(r->producer, sizeof r->producer, "coren %s %s %ld",
		 PACKAGE_VERSION, host, (long)getpid());
	coren_hlc_init(&r->clock, hlc_node(r->producer));
	r->index_fd = memo_index_open(p, r->e->cache);
	if (o->remote) /* the verdicts price chunks from it */
		memo_calib_load(r->e->cache, r->e->fn, &r->calib);
	r->wstate = calloc(o->workers, sizeof *r->wstate);
	r->scratch = calloc(o->workers, sizeof *r->scratch);
	if (memo_pool_init(&r->pool, o->workers, memo_run_job, r) ||
	    !r->wstate || !r->scratch || memo_line_check_init(&r->check, p))
		return COREN_ERR_NOMEM;
	for (size_t k = 0; k < o->workers; k++) {
		struct scratch *sc = &r->scratch[k];

		sc->b.plan = p;
		sc->b.stop = o->stop;
		coren_buf_init(&sc->b.vals, 0);
		coren_buf_init(&sc->line, 0);
		if (!(sc->params = json_deep_copy(r->e->params)) ||
		    (r->e->fn && !(sc->fn = json_deep_copy(r->e->fn))) ||
		    memo_points_init(&sc->pts, p, false))
			return COREN_ERR_NOMEM;
	}
	return COREN_OK;
}

/* Opens a worker state per worker and starts the workers. */
static enum coren_err run_start(struct run *r, struct coren_error *err)
{
	enum coren_err rc = COREN_OK;

	for (size_t i = 0; !rc && i < r->o->workers; i++)
		rc = r->x->vt->open(r->x, r->p, &r->wstate[i], err);
	if (!rc && memo_pool_start(&r->pool))
		rc = coren_error_set(err, COREN_ERR_NOMEM,
				     "cannot start a worker thread");
	if (!rc && r->o->remote && r->o->publish && memo_publisher_start(r))
		rc = coren_error_set(err, COREN_ERR_NOMEM,
				     "cannot start the publisher thread");
	if (!rc && r->o->remote &&
	    memo_fetchers_start(r, r->o->fetch_threads ? r->o->fetch_threads
						       : FETCH_THREADS_DEFAULT))
		rc = coren_error_set(err, COREN_ERR_NOMEM,
				     "cannot start a fetch thread");
	return rc;
}

/* Releases what run_init() and run_start() made (the workers stopped). */
static void run_release(struct run *r)
{
	for (size_t i = 0; r->wstate && i < r->o->workers; i++)
		if (r->wstate[i])
			r->x->vt->close(r->wstate[i]);
	for (size_t k = 0; r->scratch && k < r->o->workers; k++) {
		coren_buf_release(&r->scratch[k].b.vals);
		coren_buf_release(&r->scratch[k].line);
		json_decref(r->scratch[k].params);
		json_decref(r->scratch[k].fn);
		memo_points_release(&r->scratch[k].pts);
	}
	window_drop(r, r->n);
	free(r->win);
	memo_spill_close(&r->spill);
	coren_buf_release(&r->rd);
	free(r->wstate);
	free(r->scratch);
	memo_line_check_release(&r->check);
	memo_pool_release(&r->pool);
	memo_index_free(r->index);
	if (r->index_fd >= 0)
		close(r->index_fd);
	if (r->claims_fd >= 0) /* after window_drop(): its claims let go */
		close(r->claims_fd);
}

/* The run's outcome, once the workers are gone. */
static enum coren_err run_outcome(struct run *r, struct coren_error *err)
{
	const struct coren_memo_stats *st = r->st;

	if (stopped(r))
		return coren_error_set(err, COREN_ERR_INTERRUPTED,
				       "interrupted: finished chunks are kept");
	if (r->store_rc) {
		*err = r->store_err;
		return r->store_rc;
	}
	if (st->points_failed)
		return coren_error_set(err, COREN_ERR_PARTIAL,
				       "%llu of %llu points failed; their "
				       "chunks were not written",
				       (unsigned long long)st->points_failed,
				       (unsigned long long)st->points_total);
	return COREN_OK;
}

enum coren_err coren_memo_run(const struct coren_memo_plan *p,
			      struct coren_memo_exec *x,
			      const struct coren_memo_run_opts *opts,
			      struct coren_memo_stats *stats,
			      struct coren_error *err)
{
	struct run r = {0};
	double t0 = memo_now();
	enum coren_err rc, run_rc;

	memset(stats, 0, sizeof *stats);
	stats->remote = opts->remote != NULL;
	stats->sharded = opts->owner != NULL;
	if ((opts->owner && opts->out) || (opts->remote && !opts->cap))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "a shard writes no results, and a "
				       "remote tier needs a cap");
	if (opts->remote && !coren_trust_count(opts->trust) &&
	    !opts->trust_unsigned)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "a remote tier needs the keys whose "
				       "chunks to accept (--trusted-key), or "
				       "--trust-unsigned for a private tier");
	rc = run_rc = run_init(&r, p, x, opts, stats);
	if (rc)
		coren_error_set(err, rc, "out of memory");
	else
		rc = run_start(&r, err);
	if (!rc)
		progress(&r, true); /* drawn from the start */
	if (!rc && stats->chunks_total)
		rc = main_loop(&r, err);
	if (rc)
		memo_pool_abort(&r.pool);
	drop_queue(&r);
	memo_pool_stop(&r.pool);
	memo_storers_stop(&r); /* what the workers finished is stored */
	memo_fetchers_stop(&r); /* the fetches in flight end first */
	memo_publisher_stop(&r); /* drains what the workers queued */
	if (flush(&r, !rc) && !rc)
		rc = coren_error_set(err, COREN_ERR_IO,
				     "cannot write the results");
	stats->interrupted = stopped(&r);
	sync_stats(&r);
	if (!run_rc)
		calib_save(&r);
	stats->seconds = memo_now() - t0;
	if (!run_rc)
		progress(&r, true);
	run_release(&r);
	return rc ? rc : run_outcome(&r, err);
}
json_t *coren_memo_stats_record(const struct coren_memo_stats *s)
{
	json_t *d = coren_record_new("diag");

	if (!d)
		return NULL;
	json_object_set_new(d, "chunks_total", coren_json_u64(s->chunks_total));
	json_object_set_new(d, "chunks_cached", coren_json_u64(s->chunks_cached));
	json_object_set_new(d, "chunks_fetched",
			    coren_json_u64(s->chunks_fetched));
	json_object_set_new(d, "chunks_executed",
			    coren_json_u64(s->chunks_executed));
	json_object_set_new(d, "chunks_corrupt",
			    coren_json_u64(s->chunks_corrupt));
	json_object_set_new(d, "exec_chunks", coren_json_u64(s->exec_chunks));
	json_object_set_new(d, "points_total", coren_json_u64(s->points_total));
	json_object_set_new(d, "points_executed",
			    coren_json_u64(s->points_executed));
	json_object_set_new(d, "points_failed", coren_json_u64(s->points_failed));
	json_object_set_new(d, "points_reused", coren_json_u64(s->points_reused));
	json_object_set_new(d, "points_unrun", coren_json_u64(s->points_unrun));
	json_object_set_new(d, "interrupted", json_boolean(s->interrupted));
	json_object_set_new(d, "seconds", json_real(s->seconds));
	if (s->sharded)
		json_object_set_new(d, "chunks_skipped",
				    coren_json_u64(s->chunks_skipped));
	if (s->remote) {
		json_object_set_new(d, "chunks_published",
				    coren_json_u64(s->chunks_published));
		json_object_set_new(d, "publish_failed",
				    coren_json_u64(s->publish_failed));
		json_object_set_new(d, "remote_bad",
				    coren_json_u64(s->remote_bad));
		json_object_set_new(d, "chunks_untrusted",
				    coren_json_u64(s->chunks_untrusted));
		json_object_set_new(d, "seconds_saved",
				    json_real(s->seconds_saved));
		json_object_set_new(d, "fetches_max_parallel",
				    coren_json_u64(s->fetches_max_parallel));
		json_object_set_new(d, "points_during_fetch",
				    coren_json_u64(s->points_during_fetch));
	}
	return d;
}
