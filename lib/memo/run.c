/* run.c - the executor: cached chunks are loaded, missing ones cut into
 * exec chunks for a pool of workers, every memo chunk written when its
 * last point is done, results emitted in grid order. */
#include "config.h"

#include "memo_int.h"

#include <coren/json.h>
#include <coren/log.h>
#include <coren/record.h>
#include <coren/verdict.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_MAX 65536 /* memo chunks held at once, beyond one slab */
#define HELD_MIN 65536	 /* points the window may hold beyond one slab */
#define PROBES_MAX 1024	 /* earlier, shorter chunks looked for per chunk */
#define PEEK 65536	 /* bytes of a remote chunk read for its header */
#define FETCH_MAX_DEFAULT ((size_t)1 << 30) /* largest remote chunk file */

enum slot_state { SLOT_PENDING, SLOT_READY, SLOT_FAILED, SLOT_SKIPPED };

struct slot {
	uint64_t index;
	size_t *bins;
	char id[65];
	uint64_t npoints;
	enum slot_state state; /* under run.mu once workers see it */
	char *content;	       /* READY: the JSONL */
	size_t len;
	size_t *line_off;      /* READY, for interleaving: npoints + 1 */
	char **lines;	       /* PENDING/FAILED: per point */
	size_t *lens;
	char **errs; /* FAILED: per point */
	atomic_uint_fast64_t remaining, failed;
	int costed; /* 0: not asked yet, 1: cost holds it, -1: none */
	struct coren_cost cost;
};

struct job {
	struct job *next;
	size_t n;
	struct slot **slots;
	uint64_t *local;
};

struct run {
	const struct coren_memo_plan *p;
	const struct coren_memo_exp *e;
	struct coren_memo_exec *x;
	const struct coren_memo_run_opts *o;
	struct coren_memo_stats *st;
	size_t naxes, slab; /* chunks per slab */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct job *head, *tail, *building;
	size_t queued_points;
	size_t busy;   /* jobs taken, not finished */
	bool closing;  /* no more jobs: workers exit */
	bool abort;    /* a point failed (no --keep-going) or stop */
	enum coren_err store_rc;
	struct coren_error store_err;
	char producer[128];
	void **wstate;
	bool warned_down, warned_refused;
	/* the window: slots of chunks [base, base + n) */
	struct slot **win;
	uint64_t base;
	size_t n, cap;
	uint64_t held; /* points of the slots in the window */
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t hlc_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000) << 16;
}

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	for (uint64_t i = 0; s->lines && i < s->npoints; i++)
		free(s->lines[i]);
	for (uint64_t i = 0; s->errs && i < s->npoints; i++)
		free(s->errs[i]);
	free(s->lines);
	free(s->lens);
	free(s->errs);
	free(s->content);
	free(s->line_off);
	free(s->bins);
	free(s);
}

/* ---- storing a finished chunk --------------------------------------- */

/* The exec function's cost of chunk s, worked out once (by the main
 * thread for a verdict, else by the worker that stores s). */
static bool slot_cost(struct run *r, struct slot *s)
{
	if (!s->costed) {
		bool ok = coren_memo_exec_has_cost(r->x) &&
			  !coren_memo_exec_chunk_cost(r->x, r->p, s->bins,
						      &s->cost);

		s->costed = ok ? 1 : -1;
	}
	return s->costed > 0;
}

static void header_of(struct run *r, struct slot *s, struct coren_chunk_header *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->id, s->id, 65);
	h->chunk_key = coren_memo_plan_chunk_key(r->p, s->bins, NULL);
	h->params = json_incref(r->e->params);
	h->fn = r->e->fn; /* borrowed */
	h->version = r->e->version;
	h->points = s->npoints;
	h->producer = r->producer;
	h->hlc = hlc_now();
	h->has_cost = slot_cost(r, s);
	h->cost = s->cost;
}

/* Says once per kind (unreachable, refusing) why the tier is not used,
 * and what follows (then). */
static void tier_trouble(struct run *r, const char *id, enum coren_err rc,
			 const struct coren_error *e, const char *then)
{
	bool *once = rc == COREN_ERR_IO ? &r->warned_down : &r->warned_refused;
	bool say;

	pthread_mutex_lock(&r->mu);
	say = !*once;
	*once = true;
	pthread_mutex_unlock(&r->mu);
	if (say)
		coren_log(COREN_LOG_WARNING, "remote tier: chunk %.12s: %s: %s",
			  id, e->msg, then);
}

/* Puts a chunk computed here on the remote tier (from a worker). */
static void publish(struct run *r, struct slot *s, const struct coren_buf *img)
{
	struct coren_error e = {0};
	enum coren_err rc = coren_remote_put(r->o->remote, s->id, img->data,
					     img->len, &e);

	pthread_mutex_lock(&r->mu);
	if (rc)
		r->st->publish_failed++;
	else
		r->st->chunks_published++;
	pthread_mutex_unlock(&r->mu);
	if (rc)
		tier_trouble(r, s->id, rc, &e, "not published");
}

/* Joins the lines of a slot whose points all succeeded, and stores it. */
static void slot_finish(struct run *r, struct slot *s)
{
	struct coren_chunk_header h;
	struct coren_error err = {0};
	struct coren_buf image;
	size_t total = 0;
	char *c;
	enum coren_err rc;

	for (uint64_t i = 0; i < s->npoints; i++)
		total += s->lens[i];
	c = malloc(total + 1);
	if (!c) {
		pthread_mutex_lock(&r->mu);
		r->store_rc = coren_error_set(&r->store_err, COREN_ERR_NOMEM,
					      "out of memory");
		r->abort = true;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	total = 0;
	for (uint64_t i = 0; i < s->npoints; i++) {
		memcpy(c + total, s->lines[i], s->lens[i]);
		total += s->lens[i];
		free(s->lines[i]);
		s->lines[i] = NULL;
	}
	c[total] = '\0';
	header_of(r, s, &h);
	coren_buf_init(&image, 0);
	rc = h.chunk_key ? coren_chunk_store(r->e->cache, &h, c, total, &image,
					     &err)
			 : coren_error_set(&err, COREN_ERR_NOMEM, "out of memory");
	json_decref(h.chunk_key);
	json_decref(h.params);
	if (!rc && r->o->remote && r->o->publish)
		publish(r, s, &image);
	coren_buf_release(&image);
	pthread_mutex_lock(&r->mu);
	if (rc && !r->store_rc) {
		r->store_rc = rc;
		r->store_err = err;
	}
	s->content = c;
	s->len = total;
	s->state = SLOT_READY;
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->mu);
}

/* ---- workers ---------------------------------------------------------- */

/* Puts the result line of point i of b (a value or an error) in place. */
static void place(struct run *r, struct exec_batch *b, size_t i,
		  struct slot *s, uint64_t local, struct coren_buf *line)
{
	if (b->errs[i]) {
		s->errs[local] = b->errs[i];
		b->errs[i] = NULL;
		atomic_fetch_add(&s->failed, 1);
		return;
	}
	line->len = 0;
	if (coren_buf_append(line, "{\"type\":\"result\",\"point\":", 25) ||
	    coren_memo_plan_point_text(r->p, b->vidx + i * r->naxes, line) ||
	    coren_buf_append(line, ",\"value\":", 9) ||
	    coren_buf_append(line, b->vals.data + b->voff[i], b->vlen[i]) ||
	    coren_buf_append(line, "}\n", 2) ||
	    !(s->lines[local] = malloc(line->len))) {
		s->errs[local] = strdup("out of memory");
		atomic_fetch_add(&s->failed, 1);
		return;
	}
	memcpy(s->lines[local], line->data, line->len);
	s->lens[local] = line->len;
}

static void run_job(struct run *r, void *w, struct job *j,
		    struct exec_batch *b, struct coren_buf *line)
{
	size_t *vidx = malloc(j->n * (r->naxes ? r->naxes : 1) * sizeof *vidx);
	bool failed = false;

	b->n = j->n;
	b->vals.len = 0;
	b->voff = calloc(j->n, sizeof *b->voff);
	b->vlen = calloc(j->n, sizeof *b->vlen);
	b->errs = calloc(j->n, sizeof *b->errs);
	if (!vidx || !b->voff || !b->vlen || !b->errs) {
		free(b->errs);
		b->errs = NULL;
	} else {
		for (size_t i = 0; i < j->n; i++)
			coren_memo_plan_point(r->p, j->slots[i]->bins,
					      j->local[i], vidx + i * r->naxes);
		b->vidx = vidx;
		memo_exec_run(r->x, w, b);
	}
	for (size_t i = 0; i < j->n; i++) {
		struct slot *s = j->slots[i];

		if (!b->errs) {
			s->errs[j->local[i]] = strdup("out of memory");
			atomic_fetch_add(&s->failed, 1);
		} else {
			place(r, b, i, s, j->local[i], line);
		}
		failed |= s->errs[j->local[i]] != NULL;
		if (atomic_fetch_sub(&s->remaining, 1) == 1) {
			if (atomic_load(&s->failed) == 0) {
				slot_finish(r, s);
			} else {
				pthread_mutex_lock(&r->mu);
				s->state = SLOT_FAILED;
				pthread_cond_broadcast(&r->done);
				pthread_mutex_unlock(&r->mu);
			}
		}
	}
	pthread_mutex_lock(&r->mu);
	r->st->exec_chunks++;
	if (failed && !r->o->keep_going)
		r->abort = true;
	pthread_mutex_unlock(&r->mu);
	free(vidx);
	free(b->voff);
	free(b->vlen);
	free(b->errs);
}

struct worker_arg {
	struct run *r;
	size_t k;
};

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct run *r = a->r;
	struct exec_batch b = {0};
	struct coren_buf line;

	b.plan = r->p;
	b.stop = r->o->stop;
	coren_buf_init(&b.vals, 0);
	coren_buf_init(&line, 0);
	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct job *j;

		while (!r->head && !r->closing)
			pthread_cond_wait(&r->work, &r->mu);
		if (!r->head)
			break;
		if (r->abort) { /* a point failed or a stop: start nothing */
			pthread_cond_broadcast(&r->done);
			pthread_cond_wait(&r->work, &r->mu);
			continue;
		}
		j = r->head;
		r->head = j->next;
		if (!r->head)
			r->tail = NULL;
		r->queued_points -= j->n;
		r->busy++;
		pthread_mutex_unlock(&r->mu);
		run_job(r, r->wstate[a->k], j, &b, &line);
		free(j->slots);
		free(j->local);
		free(j);
		pthread_mutex_lock(&r->mu);
		r->busy--;
		pthread_cond_broadcast(&r->done);
	}
	pthread_mutex_unlock(&r->mu);
	coren_buf_release(&b.vals);
	coren_buf_release(&line);
	return NULL;
}

/* ---- jobs ------------------------------------------------------------- */

static void push_building(struct run *r)
{
	struct job *j = r->building;

	if (!j || !j->n)
		return;
	r->building = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->tail)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	r->queued_points += j->n;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
}

static enum coren_err add_point(struct run *r, struct slot *s, uint64_t local)
{
	struct job *j = r->building;
	size_t cap = r->e->exec_chunk;

	if (!j) {
		j = calloc(1, sizeof *j);
		if (j) {
			j->slots = malloc(cap * sizeof *j->slots);
			j->local = malloc(cap * sizeof *j->local);
		}
		if (!j || !j->slots || !j->local) {
			if (j) {
				free(j->slots);
				free(j->local);
			}
			free(j);
			return COREN_ERR_NOMEM;
		}
		r->building = j;
	}
	j->slots[j->n] = s;
	j->local[j->n++] = local;
	if (j->n == cap)
		push_building(r);
	return COREN_OK;
}

/* ---- resolving a chunk: cached, partly reusable, or missing ------------- */

/* Copies the lines of an earlier, shorter chunk (lens per axis, within
 * the bins of s, whose lengths are full) into s; returns the points
 * reused. */
static uint64_t reuse(struct run *r, struct slot *s, const size_t *lens,
		      const size_t *full, const char *content)
{
	uint64_t got = 0, j = 0;

	for (const char *p = content, *nl; (nl = strchr(p, '\n')); p = nl + 1, j++) {
		uint64_t rest = j, local = 0, mul = 1;
		size_t n = (size_t)(nl - p) + 1;

		/* j in the short chunk -> coordinates -> local index in s */
		for (size_t a = r->naxes; a-- > 0;) {
			local += (rest % lens[a]) * mul;
			rest /= lens[a];
			mul *= full[a];
		}
		if (s->lines[local] || !(s->lines[local] = malloc(n)))
			continue;
		memcpy(s->lines[local], p, n);
		s->lens[local] = n;
		got++;
	}
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
		struct coren_chunk_header h;
		struct coren_error err = {0};
		char id[65], *content;
		size_t len;

		for (size_t a = r->naxes; a-- > 0;) {
			lens[a] = full[a];
			if (trailing[a]) {
				lens[a] -= (size_t)(rest % full[a]);
				rest /= full[a];
			}
		}
		if (coren_memo_plan_chunk_id(r->p, s->bins, lens, id) ||
		    coren_chunk_load(r->e->cache, id, r->o->max_content, &h,
				     &content, &len, &err))
			continue;
		got += reuse(r, s, lens, full, content);
		coren_chunk_header_release(&h);
		free(content);
	}
out:
	free(full);
	free(trailing);
	return got;
}

static struct slot *slot_new(struct run *r, uint64_t c)
{
	struct slot *s = calloc(1, sizeof *s);

	if (!s || !(s->bins = malloc(r->naxes * sizeof *s->bins + 1))) {
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

/* ---- the remote tier: fetch, or compute? --------------------------- */

/* The verdict on cost for the tier as measured so far. */
static void tier_verdict(struct run *r, const struct coren_cost *cost,
			 struct coren_verdict *v)
{
	struct coren_cap cap = *r->o->cap;
	struct coren_remote_link link;

	coren_remote_link(r->o->remote, &link);
	cap.net_bw = link.bandwidth;
	cap.net_latency = link.latency;
	coren_verdict_decide(cost, &cap, v);
}

static void explain(struct run *r, const struct slot *s,
		    const struct coren_verdict *v, const struct coren_cost *c)
{
	json_t *rec;

	if (!r->o->explain)
		return;
	rec = coren_verdict_to_record(v, c, s->id);
	if (rec)
		coren_record_write(r->o->explain, rec);
	json_decref(rec);
}

/* A chunk file the tier gave that failed verification. */
static void remote_bad(struct run *r, const struct slot *s,
		       const struct coren_error *e)
{
	coren_log(COREN_LOG_WARNING,
		  "remote chunk %s is bad (%s): computing it", s->id, e->msg);
	r->st->remote_bad++;
}

/* The chunk's cost: the exec function's, else the header of the remote
 * copy (read from its first bytes; *there is then true). NOTFOUND when
 * the tier lacks the chunk, USAGE when no cost is known, CORRUPT and the
 * rest as the tier or the header said. */
static enum coren_err chunk_cost(struct run *r, struct slot *s,
				 struct coren_buf *b, struct coren_cost *cost,
				 bool *there, struct coren_error *e)
{
	struct coren_chunk_header h;
	enum coren_err rc;

	if (slot_cost(r, s)) {
		*cost = s->cost;
		return COREN_OK;
	}
	rc = coren_remote_get(r->o->remote, s->id, PEEK, 0, b, e);
	if (!rc)
		rc = coren_chunk_peek(b->data, b->len, s->id, &h, e);
	if (rc == COREN_ERR_CORRUPT && b->len == PEEK)
		return COREN_ERR_USAGE; /* a header longer than the peek */
	if (rc)
		return rc;
	*there = true;
	rc = h.has_cost ? COREN_OK : COREN_ERR_USAGE;
	*cost = h.cost;
	coren_chunk_header_release(&h);
	return rc;
}

/* Whether every line of a remote chunk's content is the result record of
 * its point, in order, as this run would write it: the point's exact
 * text, then a value that is JSON. */
static enum coren_err check_lines(struct run *r, const struct slot *s,
				  struct coren_error *e)
{
	size_t *vidx = malloc((r->naxes + 1) * sizeof *vidx);
	struct coren_buf want;
	const char *p = s->content;
	enum coren_err rc = vidx ? COREN_OK : COREN_ERR_NOMEM;

	coren_buf_init(&want, 0);
	for (uint64_t i = 0; !rc && i < s->npoints; i++) {
		const char *nl = strchr(p, '\n');
		json_t *j;

		want.len = 0;
		coren_memo_plan_point(r->p, s->bins, i, vidx);
		if (coren_buf_append(&want, "{\"type\":\"result\",\"point\":",
				     25) ||
		    coren_memo_plan_point_text(r->p, vidx, &want) ||
		    coren_buf_append(&want, ",\"value\":", 9)) {
			rc = COREN_ERR_NOMEM;
			break;
		}
		if ((size_t)(nl - p) < want.len ||
		    memcmp(p, want.data, want.len) ||
		    !(j = json_loadb(p, (size_t)(nl - p),
				     JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL))) {
			rc = coren_error_set(e, COREN_ERR_CORRUPT,
					     "line %llu is not the result of "
					     "its point",
					     (unsigned long long)i + 1);
			break;
		}
		json_decref(j);
		p = nl + 1;
	}
	if (rc == COREN_ERR_NOMEM)
		coren_error_set(e, rc, "out of memory");
	coren_buf_release(&want);
	free(vidx);
	return rc;
}

/* Fetches chunk s from the remote tier when the verdict says fetching
 * beats computing (or the policy says always); true when s is READY. */
static bool fetch(struct run *r, struct slot *s)
{
	struct coren_chunk_header h;
	struct coren_error e = {0};
	struct coren_cost cost;
	struct coren_verdict v;
	struct coren_buf b;
	double saved = 0;
	bool there = false;
	enum coren_err rc = COREN_ERR_USAGE;

	if (coren_remote_down(r->o->remote))
		return false;
	coren_buf_init(&b, 0);
	if (r->o->fetch == COREN_FETCH_VERDICT)
		rc = chunk_cost(r, s, &b, &cost, &there, &e);
	if (rc == COREN_OK) {
		tier_verdict(r, &cost, &v);
		explain(r, s, &v, &cost);
		saved = isfinite(v.score) ? fabs(v.score) : 0;
		if (v.action != COREN_ACTION_FETCH) {
			/* saved only if fetching was a choice: the tier has it */
			r->st->seconds_saved += there ? saved : 0;
			coren_buf_release(&b);
			return false;
		}
	} else if (rc != COREN_ERR_USAGE) { /* no cost known: fetch it */
		goto fail;
	}
	b.len = 0;
	rc = coren_remote_get(r->o->remote, s->id, 0,
			      r->o->max_fetch ? r->o->max_fetch
					      : FETCH_MAX_DEFAULT,
			      &b, &e);
	if (!rc)
		rc = coren_chunk_decode(b.data, b.len, s->id, r->o->max_content,
					&h, &s->content, &s->len, &e);
	if (!rc) {
		coren_chunk_header_release(&h);
		if ((rc = check_lines(r, s, &e))) {
			free(s->content);
			s->content = NULL;
		}
	}
	if (rc)
		goto fail;
	if (coren_chunk_store_file(r->e->cache, s->id, b.data, b.len, &e))
		coren_log(COREN_LOG_WARNING, "chunk %s: %s (used, not kept)",
			  s->id, e.msg);
	coren_buf_release(&b);
	s->state = SLOT_READY;
	r->st->chunks_fetched++;
	r->st->seconds_saved += saved;
	return true;
fail:
	coren_buf_release(&b);
	if (rc == COREN_ERR_CORRUPT)
		remote_bad(r, s, &e);
	else if (rc != COREN_ERR_NOTFOUND)
		tier_trouble(r, s->id, rc, &e,
			     "computing what the tier does not give");
	return false;
}

static enum coren_err resolve(struct run *r, struct slot *s,
			      struct coren_error *err)
{
	struct coren_chunk_header h;
	struct coren_error e = {0};
	enum coren_err rc = coren_chunk_load(r->e->cache, s->id,
					     r->o->max_content, &h, &s->content,
					     &s->len, &e);
	uint64_t reused;

	if (!rc) {
		coren_chunk_header_release(&h);
		s->state = SLOT_READY;
		r->st->chunks_cached++;
		return COREN_OK;
	}
	if (rc == COREN_ERR_CORRUPT) {
		coren_log(COREN_LOG_WARNING, "chunk %s is damaged (%s): "
					     "computing it again",
			  s->id, e.msg);
		r->st->chunks_corrupt++;
	} else if (rc != COREN_ERR_NOTFOUND) {
		coren_log(COREN_LOG_WARNING, "chunk %s: %s: computing it", s->id,
			  e.msg);
	}
	if (r->o->owner && r->o->owner[s->index] != r->o->shard) {
		s->state = SLOT_SKIPPED;
		r->st->chunks_skipped++;
		return COREN_OK;
	}
	if (r->o->remote && fetch(r, s))
		return COREN_OK;
	s->state = SLOT_PENDING;
	s->lines = calloc(s->npoints, sizeof *s->lines);
	s->lens = calloc(s->npoints, sizeof *s->lens);
	s->errs = calloc(s->npoints, sizeof *s->errs);
	if (!s->lines || !s->lens || !s->errs)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	r->st->chunks_executed++;
	/* earlier, shorter chunks can exist only where an earlier run was:
	 * look when some chunk of this grid is cached, or for the last one */
	reused = r->st->chunks_cached || s->index + 1 == r->st->chunks_total
			 ? probe_shorter(r, s)
			 : 0;
	r->st->points_reused += reused;
	atomic_store(&s->remaining, s->npoints - reused);
	if (reused == s->npoints) {
		slot_finish(r, s);
		return COREN_OK;
	}
	for (uint64_t i = 0; i < s->npoints; i++)
		if (!s->lines[i] && add_point(r, s, i))
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
	r->st->points_executed += s->npoints - reused;
	return COREN_OK;
}

/* ---- emitting in grid order ------------------------------------------- */

static enum coren_err write_all(struct run *r, const char *d, size_t n)
{
	return fwrite(d, 1, n, r->o->out) == n ? COREN_OK : COREN_ERR_IO;
}

static enum coren_err emit_error(struct run *r, const struct slot *s,
				 uint64_t local, const char *why)
{
	struct coren_buf b;
	size_t *vidx = malloc(r->naxes * sizeof *vidx + 1);
	enum coren_err rc = vidx ? COREN_OK : COREN_ERR_NOMEM;

	coren_buf_init(&b, 0);
	if (!rc) {
		coren_memo_plan_point(r->p, s->bins, local, vidx);
		rc = coren_buf_append(&b, "{\"type\":\"error\",\"point\":", 24);
	}
	if (!rc)
		rc = coren_memo_plan_point_text(r->p, vidx, &b);
	if (!rc)
		rc = coren_buf_append(&b, ",\"reason\":", 10);
	if (!rc)
		rc = coren_json_dump_string(why, strlen(why), &b);
	if (!rc)
		rc = coren_buf_append(&b, "}\n", 2);
	if (!rc && r->o->out)
		rc = write_all(r, b.data, b.len);
	coren_buf_release(&b);
	free(vidx);
	return rc;
}

/* Point local of slot s: its line, or its error. */
static enum coren_err emit_point(struct run *r, struct slot *s, uint64_t local)
{
	if (s->state == SLOT_READY) {
		if (!s->line_off) {
			uint64_t k = 0;

			s->line_off = malloc((s->npoints + 1) * sizeof *s->line_off);
			if (!s->line_off)
				return COREN_ERR_NOMEM;
			s->line_off[0] = 0;
			for (size_t i = 0; i < s->len; i++)
				if (s->content[i] == '\n')
					s->line_off[++k] = i + 1;
		}
		return write_all(r, s->content + s->line_off[local],
				 s->line_off[local + 1] - s->line_off[local]);
	}
	if (s->lines[local])
		return write_all(r, s->lines[local], s->lens[local]);
	return emit_error(r, s, local,
			  s->errs[local] ? s->errs[local] : "not run");
}

/* Emits the slab of window slots [0, r->slab) in grid order: the chunks
 * that share the first axis's bin, interleaved point by point. */
static enum coren_err emit_slab(struct run *r)
{
	struct slot *first = r->win[0];
	size_t na = r->naxes, bin0 = r->e->axes[0].bin;
	size_t *v, *hi;
	enum coren_err rc = COREN_OK;

	if (r->slab == 1 && first->state == SLOT_READY)
		return write_all(r, first->content, first->len);
	if (r->slab == 1) {
		for (uint64_t i = 0; !rc && i < first->npoints; i++)
			rc = emit_point(r, first, i);
		return rc;
	}
	v = calloc(2 * na, sizeof *v);
	if (!v)
		return COREN_ERR_NOMEM;
	hi = v + na;
	for (size_t a = 0; a < na; a++)
		hi[a] = json_array_size(r->e->axes[a].values);
	v[0] = first->bins[0] * bin0;
	hi[0] = v[0] + bin0 < hi[0] ? v[0] + bin0 : hi[0];
	for (bool more = true; !rc && more;) {
		uint64_t c = 0, cmul = 1, local = 0, lmul = 1;

		/* the chunk within the slab, and the point within the chunk */
		for (size_t a = na; a-- > 1;) {
			size_t bin = r->e->axes[a].bin, b = v[a] / bin;
			size_t blen = hi[a] - b * bin < bin ? hi[a] - b * bin : bin;

			c += b * cmul;
			cmul *= coren_memo_plan_nbins(r->p, a);
			local += (v[a] % bin) * lmul;
			lmul *= blen;
		}
		local += (v[0] - first->bins[0] * bin0) * lmul;
		rc = emit_point(r, r->win[c], local);
		/* the next point, last axis fastest */
		more = false;
		for (size_t a = na; !more && a-- > 0;)
			if (!(more = ++v[a] < hi[a]))
				v[a] = a ? 0 : first->bins[0] * bin0;
	}
	free(v);
	return rc;
}

/* ---- the main loop ---------------------------------------------------- */

static bool slot_complete(const struct slot *s)
{
	return s->state != SLOT_PENDING;
}

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
	return COREN_OK;
}

static void window_drop(struct run *r, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		r->held -= r->win[i]->npoints;
		slot_free(r->win[i]);
	}
	if (k < r->n)
		memmove(r->win, r->win + k, (r->n - k) * sizeof *r->win);
	r->n -= k;
	r->base += k;
}

static bool want_more(struct run *r, uint64_t next)
{
	size_t target = r->o->workers * r->e->exec_chunk * 2;

	if (next >= r->st->chunks_total || r->abort)
		return false;
	if (r->n < r->slab)
		return true;
	/* keep the workers fed, but hold a bounded number of points */
	return r->n < r->slab + WINDOW_MAX && r->queued_points < target &&
	       r->held < (target > HELD_MIN ? 4 * target : HELD_MIN);
}

static void stop_workers(struct run *r, pthread_t *t, size_t started)
{
	pthread_mutex_lock(&r->mu);
	r->closing = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
}

/* Drops queued jobs (after a failure or a stop); their points are "not
 * run" and their chunks stay unwritten. */
static void drop_queue(struct run *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->head) {
		struct job *j = r->head;

		r->head = j->next;
		free(j->slots);
		free(j->local);
		free(j);
	}
	r->tail = NULL;
	r->queued_points = 0;
	pthread_mutex_unlock(&r->mu);
	if (r->building) {
		free(r->building->slots);
		free(r->building->local);
		free(r->building);
		r->building = NULL;
	}
}

static enum coren_err main_loop(struct run *r, struct coren_error *err)
{
	uint64_t next = 0;
	enum coren_err rc = COREN_OK;

	while (r->base < r->st->chunks_total) {
		bool ready;

		while (!rc && want_more(r, next)) {
			struct slot *s = slot_new(r, next);

			if (!s || window_push(r, s)) {
				slot_free(s);
				return coren_error_set(err, COREN_ERR_NOMEM,
						       "out of memory");
			}
			next++;
			rc = resolve(r, s, err);
		}
		if (rc)
			return rc;
		if (!want_more(r, next))
			push_building(r);
		if (r->o->stop && *r->o->stop)
			r->abort = true;
		pthread_mutex_lock(&r->mu);
		ready = r->n >= r->slab;
		for (size_t i = 0; ready && i < r->slab; i++)
			ready = slot_complete(r->win[i]);
		if (!ready && r->abort && !r->busy && !r->head) {
			pthread_mutex_unlock(&r->mu);
			return COREN_OK; /* nothing more will complete */
		}
		if (!ready) {
			struct timespec t;

			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += 100000000;
			if (t.tv_nsec >= 1000000000) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&r->done, &r->mu, &t);
			pthread_mutex_unlock(&r->mu);
			if (r->abort)
				drop_queue(r);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		if (r->abort && r->o->stop && *r->o->stop)
			return COREN_OK;
		for (size_t i = 0; i < r->slab; i++)
			if (r->win[i]->state == SLOT_FAILED)
				r->st->points_failed += atomic_load(&r->win[i]->failed);
		if (r->o->out && emit_slab(r))
			return coren_error_set(err, COREN_ERR_IO,
					       "cannot write the results");
		window_drop(r, r->slab);
		if (r->o->progress)
			r->o->progress(r->st, r->o->progress_data);
	}
	return COREN_OK;
}

/* After an abort: error records for the failed points still held. */
static void emit_failures(struct run *r)
{
	pthread_mutex_lock(&r->mu);
	for (size_t k = 0; k < r->n; k++) {
		struct slot *s = r->win[k];

		for (uint64_t i = 0; s->errs && i < s->npoints; i++)
			if (s->errs[i]) {
				r->st->points_failed++;
				if (r->o->out)
					emit_error(r, s, i, s->errs[i]);
			}
	}
	pthread_mutex_unlock(&r->mu);
}

enum coren_err coren_memo_run(const struct coren_memo_plan *p,
			      struct coren_memo_exec *x,
			      const struct coren_memo_run_opts *opts,
			      struct coren_memo_stats *stats,
			      struct coren_error *err)
{
	struct run r = {0};
	pthread_t *t;
	struct worker_arg *args;
	size_t started = 0;
	double t0 = now();
	enum coren_err rc = COREN_OK;
	char host[64] = "";

	memset(stats, 0, sizeof *stats);
	stats->remote = opts->remote != NULL;
	stats->sharded = opts->owner != NULL;
	if ((opts->owner && opts->out) || (opts->remote && !opts->cap))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "a shard writes no results, and a "
				       "remote tier needs a cap");
	r.p = p;
	r.e = coren_memo_plan_exp(p);
	r.x = x;
	r.o = opts;
	r.st = stats;
	r.naxes = coren_memo_plan_naxes(p);
	r.slab = 1;
	for (size_t a = 1; a < r.naxes; a++)
		r.slab *= coren_memo_plan_nbins(p, a);
	stats->chunks_total = coren_memo_plan_chunks(p);
	stats->points_total = coren_memo_plan_points(p);
	gethostname(host, sizeof host - 1);
	snprintf(r.producer, sizeof r.producer, "coren %s %s %ld",
		 PACKAGE_VERSION, host, (long)getpid());
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.work, NULL);
	pthread_cond_init(&r.done, NULL);
	t = calloc(opts->workers, sizeof *t);
	args = calloc(opts->workers, sizeof *args);
	r.wstate = calloc(opts->workers, sizeof *r.wstate);
	if (!t || !args || !r.wstate)
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < opts->workers; i++)
		rc = x->vt->open(x, p, &r.wstate[i], err);
	for (size_t i = 0; !rc && i < opts->workers; i++) {
		args[i].r = &r;
		args[i].k = i;
		if (pthread_create(&t[i], NULL, worker, &args[i]))
			rc = coren_error_set(err, COREN_ERR_NOMEM,
					     "cannot start a worker thread");
		else
			started++;
	}
	if (!rc && stats->chunks_total)
		rc = main_loop(&r, err);
	if (rc)
		r.abort = true;
	drop_queue(&r);
	stop_workers(&r, t, started);
	if (!rc && r.abort && !(opts->stop && *opts->stop))
		emit_failures(&r);
	for (size_t i = 0; r.wstate && i < opts->workers; i++)
		if (r.wstate[i])
			x->vt->close(r.wstate[i]);
	window_drop(&r, r.n);
	free(r.win);
	free(t);
	free(args);
	free(r.wstate);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.work);
	pthread_cond_destroy(&r.done);
	stats->seconds = now() - t0;
	if (rc)
		return rc;
	if (opts->stop && *opts->stop)
		return coren_error_set(err, COREN_ERR_INTERRUPTED,
				       "interrupted: finished chunks are kept");
	if (r.store_rc) {
		*err = r.store_err;
		return r.store_rc;
	}
	if (stats->points_failed)
		return coren_error_set(err, COREN_ERR_PARTIAL,
				       "%llu of %llu points failed; their "
				       "chunks were not written",
				       (unsigned long long)stats->points_failed,
				       (unsigned long long)stats->points_total);
	return COREN_OK;
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
		json_object_set_new(d, "seconds_saved",
				    json_real(s->seconds_saved));
	}
	return d;
}
