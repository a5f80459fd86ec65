/* fetch.c - the remote tier as a chunk source: fetch a missing chunk, or
 * compute it, as the verdict on its cost says; and publishing the chunks
 * computed here (from workers). A decision that needs nothing from the
 * tier is made on the main thread before the slot is queued; the rest,
 * and the fetch, by the fetcher that owns the slot (fetchers.c). The
 * counters they share are under mu (struct run); --explain's records
 * wait in their slots for the main thread. */
#include "config.h"

#include "run_int.h"

#include <coren/log.h>
#include <coren/record.h>
#include <coren/verdict.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PEEK 65536 /* bytes of a remote chunk read for its header */
#define FETCH_MAX_DEFAULT ((size_t)1 << 30) /* largest remote chunk file */

/* Says once per kind (unreachable, refusing) why the tier is not used,
 * and what follows (then). From any thread. */
static void tier_trouble(struct run *r, const char *id, enum coren_err rc,
			 const struct coren_error *e, const char *then)
{
	bool *once = rc == COREN_ERR_IO ? &r->warned_down : &r->warned_refused;
	bool say;

	memo_pool_lock(&r->pool);
	say = !*once;
	*once = true;
	memo_pool_unlock(&r->pool);
	if (say)
		coren_log(COREN_LOG_WARNING, "remote tier: chunk %.12s: %s: %s",
			  id, e->msg, then);
}

/* ---- publishing, in the background ------------------------------------
 * A worker that stored a chunk hands its image to the publisher thread
 * (memo_publish) and goes on computing: a slow PUT delays no worker. The
 * queue is bounded (PUB_QUEUE_MAX bytes, always room for one image): a
 * worker waits only while it is full. memo_publisher_stop() lets the
 * thread drain it (each PUT has the tier's deadline and speed floor, and
 * a slow or down tier fails the rest at once), then joins it. A chunk not
 * published is stored here all the same; publish_failed counts it. */

#define PUB_QUEUE_MAX ((size_t)64 << 20)

struct pub_item {
	struct pub_item *next;
	char id[65];
	size_t len;
	char data[]; /* the chunk file's bytes */
};

static void *publisher(void *arg)
{
	struct run *r = arg;
	struct memo_publisher *pb = &r->pub;

	for (;;) {
		struct pub_item *it;
		struct coren_error e = {0};
		enum coren_err rc;

		pthread_mutex_lock(&pb->mu);
		while (!pb->head && !pb->closing)
			pthread_cond_wait(&pb->cv, &pb->mu);
		it = pb->head;
		if (it && !(pb->head = it->next))
			pb->tail = NULL;
		pthread_mutex_unlock(&pb->mu);
		if (!it)
			return NULL; /* closing, and drained */
		rc = coren_remote_put(r->o->remote, it->id, it->data, it->len, &e);
		memo_pool_lock(&r->pool);
		if (rc)
			r->publish_failed++;
		else
			r->published++;
		memo_pool_unlock(&r->pool);
		if (rc)
			tier_trouble(r, it->id, rc, &e, "not published");
		pthread_mutex_lock(&pb->mu);
		pb->bytes -= it->len;
		pthread_cond_broadcast(&pb->cv);
		pthread_mutex_unlock(&pb->mu);
		free(it);
	}
}

enum coren_err memo_publisher_start(struct run *r)
{
	struct memo_publisher *pb = &r->pub;

	pthread_mutex_init(&pb->mu, NULL);
	pthread_cond_init(&pb->cv, NULL);
	pb->inited = true;
	if (pthread_create(&pb->th, NULL, publisher, r))
		return COREN_ERR_NOMEM;
	pb->started = true;
	return COREN_OK;
}

void memo_publisher_stop(struct run *r)
{
	struct memo_publisher *pb = &r->pub;

	if (!pb->inited)
		return;
	if (pb->started) {
		pthread_mutex_lock(&pb->mu);
		/* interrupted: what is still queued is not published (it is
		 * stored here; counted), so that the run ends at once */
		while (r->o->stop && *r->o->stop && pb->head) {
			struct pub_item *it = pb->head;

			pb->head = it->next;
			pb->bytes -= it->len;
			free(it);
			memo_pool_lock(&r->pool);
			r->publish_failed++;
			memo_pool_unlock(&r->pool);
		}
		if (!pb->head)
			pb->tail = NULL;
		pb->closing = true;
		pthread_cond_broadcast(&pb->cv);
		pthread_mutex_unlock(&pb->mu);
		pthread_join(pb->th, NULL);
	}
	pthread_mutex_destroy(&pb->mu);
	pthread_cond_destroy(&pb->cv);
	pb->inited = pb->started = false;
}

/* Queues a chunk computed here for the tier (from a worker). */
void memo_publish(struct run *r, struct slot *s, const struct coren_buf *img)
{
	struct memo_publisher *pb = &r->pub;
	struct pub_item *it = malloc(sizeof *it + img->len);

	if (!it || !pb->started) {
		free(it);
		memo_pool_lock(&r->pool);
		r->publish_failed++;
		memo_pool_unlock(&r->pool);
		return;
	}
	it->next = NULL;
	memcpy(it->id, s->id, 65);
	it->len = img->len;
	memcpy(it->data, img->data, img->len);
	pthread_mutex_lock(&pb->mu);
	while (pb->bytes && pb->bytes + it->len > PUB_QUEUE_MAX)
		pthread_cond_wait(&pb->cv, &pb->mu);
	pb->bytes += it->len;
	if (pb->tail)
		pb->tail->next = it;
	else
		pb->head = it;
	pb->tail = it;
	pthread_cond_broadcast(&pb->cv);
	pthread_mutex_unlock(&pb->mu);
}

/* The verdict on cost for the tier as measured so far; t_compute is the
 * model's on one worker's share of the machine (a chunk's points run one
 * per worker), scaled by what this function's points really took here
 * once enough were measured (calib.c). Returns which estimate priced it:
 * "measured" or "model". */
static const char *tier_verdict(struct run *r, const struct slot *s,
				const struct coren_cost *cost,
				struct coren_verdict *v)
{
	struct coren_cap cap = *r->o->cap;
	struct coren_remote_link link;
	struct memo_calib c = r->calib, now;
	const char *estimate = "model";
	double t;

	coren_remote_link(r->o->remote, &link);
	cap.net_bw = link.bandwidth;
	cap.net_latency = link.latency;
	coren_verdict_decide(cost, &cap, v);
	memo_calib_run(r, &now);
	memo_calib_add(&c, &now);
	if (memo_calib_estimate(&c, cost, s->npoints, &t))
		estimate = "measured";
	else
		t = memo_model_seconds(cost, &cap);
	if (cap.xfer_bw > 0) /* a GPU's result comes back too */
		t += (double)cost->result_bytes / cap.xfer_bw;
	coren_verdict_reprice(v, t);
	return estimate;
}

/* The decision's record for --explain, kept in s (the last decision on
 * s is the one that counts) until the main thread writes it. */
static void explain(struct run *r, struct slot *s,
		    const struct coren_verdict *v, const struct coren_cost *c,
		    const char *estimate)
{
	json_t *rec;

	if (!r->o->explain)
		return;
	rec = coren_verdict_to_record(v, c, s->id);
	if (rec) /* where t_compute comes from: "model" or "measured" */
		json_object_set_new(rec, "estimate", json_string(estimate));
	json_decref(s->w->verdict);
	s->w->verdict = rec;
}

void memo_saved(struct run *r, double seconds)
{
	memo_pool_lock(&r->pool);
	r->saved += seconds;
	memo_pool_unlock(&r->pool);
}

/* A chunk file the tier gave that failed verification. */
static void remote_bad(struct run *r, const struct slot *s,
		       const struct coren_error *e)
{
	coren_log(COREN_LOG_WARNING,
		  "remote chunk %s is bad (%s): computing it", s->id, e->msg);
	memo_pool_lock(&r->pool);
	r->remote_bad++;
	memo_pool_unlock(&r->pool);
}

/* A chunk the tier gave that no trusted key signed: said once per run
 * (the reason of the first), counted every time, computed here. */
static void untrusted(struct run *r, const struct slot *s,
		      const struct coren_error *e)
{
	bool first;

	memo_pool_lock(&r->pool);
	first = !r->untrusted++;
	memo_pool_unlock(&r->pool);
	if (first)
		coren_log(COREN_LOG_WARNING,
			  "remote chunk %s is not trusted (%s): computing it "
			  "and every other such chunk here",
			  s->id, e->msg);
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

	if (s->w->costed > 0) { /* worked out by main before s was queued */
		*cost = s->w->cost;
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

/* decide() for a chunk without a known cost (no cost function, no cost
 * in the remote header): t_compute from the seconds the function's
 * points took here so far, t_fetch from the tier's measured latency and
 * bandwidth and the remote file's size (its first PEEK bytes were read:
 * the size when shorter, else at least that). Nothing measured yet: the
 * chunk is computed (and so measured), never fetched blind. */
static enum coren_err measured(struct run *r, struct slot *s,
			       const struct coren_buf *b, double *saved,
			       struct coren_error *e)
{
	struct memo_calib c = r->calib, now;
	struct coren_remote_link link;
	struct coren_verdict v = {0};
	struct coren_cost none = {0};
	double per;

	(void)e;
	memo_calib_run(r, &now);
	memo_calib_add(&c, &now);
	if (!memo_calib_estimate(&c, NULL, 1, &per)) /* few: any at all */
		per = c.points > 0 ? c.seconds / c.points : -1;
	if (per < 0) {
		v.action = COREN_ACTION_COMPUTE;
		v.score = v.t_fetch = NAN;
		explain(r, s, &v, &none, "unmeasured");
		return COREN_ERR_USAGE;
	}
	coren_remote_link(r->o->remote, &link);
	v.t_compute = (double)s->npoints * per;
	v.t_fetch = link.latency + (double)(b->len ? b->len : PEEK) /
					   (link.bandwidth > 0 ? link.bandwidth
							       : 1);
	v.score = v.t_compute - v.t_fetch;
	v.action = v.score > 0 ? COREN_ACTION_FETCH : COREN_ACTION_COMPUTE;
	v.bottleneck = v.score > 0 ? "network" : "compute";
	explain(r, s, &v, &none, "measured");
	*saved = fabs(v.score);
	if (v.action == COREN_ACTION_FETCH)
		return COREN_OK;
	memo_saved(r, *saved);
	return COREN_ERR_USAGE;
}

/* Whether to fetch s: COREN_OK to fetch, USAGE when the verdict says
 * compute (*saved then counted), else why not. */
static enum coren_err decide(struct run *r, struct slot *s,
			     struct coren_buf *b, double *saved,
			     struct coren_error *e)
{
	struct coren_cost cost;
	struct coren_verdict v;
	bool there = false;
	enum coren_err rc = chunk_cost(r, s, b, &cost, &there, e);

	if (rc == COREN_ERR_USAGE) /* no cost known: what points took here */
		return measured(r, s, b, saved, e);
	if (rc)
		return rc;
	explain(r, s, &v, &cost, tier_verdict(r, s, &cost, &v));
	*saved = isfinite(v.score) ? fabs(v.score) : 0;
	if (v.action == COREN_ACTION_FETCH)
		return COREN_OK;
	/* saved only if fetching was a choice: the tier has it */
	if (there)
		memo_saved(r, *saved);
	return COREN_ERR_USAGE;
}

/* Decodes the image b of s, checks that a trusted key signed it (else
 * *distrust) and every line and value: the content of s on success,
 * nothing on failure. */
static enum coren_err take_image(struct run *r, struct slot *s,
				 const struct coren_buf *b, bool *distrust,
				 struct coren_error *e)
{
	struct coren_chunk_header h;
	enum coren_err rc = coren_chunk_decode(b->data, b->len, s->id,
					       r->o->max_content, &h,
					       &s->content, &s->len, e);

	if (rc)
		return rc;
	if (!r->o->trust_unsigned)
		rc = coren_chunk_trusted(&h, r->o->trust, e);
	coren_chunk_header_release(&h);
	if (rc) {
		free(s->content);
		s->content = NULL;
		*distrust = rc != COREN_ERR_NOMEM;
		return rc;
	}
	rc = memo_check_lines(&r->check, s->bins, NULL, s->content, s->len,
			      s->npoints, NULL, true, e);
	if (rc) {
		free(s->content);
		s->content = NULL;
	}
	return rc;
}

bool memo_fetch_wanted(struct run *r, struct slot *s)
{
	struct coren_verdict v;
	const char *estimate;

	if (coren_remote_down(r->o->remote))
		return false;
	if (r->o->fetch != COREN_FETCH_VERDICT ||
	    !memo_slot_cost(r, s, &r->main_pts))
		return true; /* always; or the tier's header may say a cost */
	estimate = tier_verdict(r, s, &s->w->cost, &v);
	if (v.action == COREN_ACTION_FETCH)
		return true; /* the fetcher decides again, as measured then */
	explain(r, s, &v, &s->w->cost, estimate);
	return false;
}

/* Fetches chunk s from the remote tier when the verdict says fetching
 * beats computing (or the policy says always); true when s has its
 * content. From the fetcher that owns s. */
bool memo_fetch(struct run *r, struct slot *s)
{
	struct coren_error e = {0};
	struct coren_buf b;
	double saved = 0;
	bool distrust = false;
	enum coren_err rc = COREN_OK;

	if (coren_remote_down(r->o->remote))
		return false;
	coren_buf_init(&b, 0);
	atomic_fetch_add(&r->fetching, 1);
	if (r->o->fetch == COREN_FETCH_VERDICT)
		rc = decide(r, s, &b, &saved, &e);
	if (rc == COREN_ERR_USAGE) { /* computing is cheaper */
		atomic_fetch_sub(&r->fetching, 1);
		coren_buf_release(&b);
		return false;
	}
	b.len = 0;
	if (!rc)
		rc = coren_remote_get(r->o->remote, s->id, 0,
				      r->o->max_fetch ? r->o->max_fetch
						      : FETCH_MAX_DEFAULT,
				      &b, &e);
	if (!rc)
		rc = take_image(r, s, &b, &distrust, &e);
	if (!rc && coren_chunk_store_file(r->e->cache, s->id, b.data, b.len, &e))
		coren_log(COREN_LOG_WARNING, "chunk %s: %s (used, not kept)",
			  s->id, e.msg);
	else if (!rc) /* its points reusable across chunk shapes too */
		memo_index_add(r->index_fd, r->p, s->bins);
	coren_buf_release(&b);
	atomic_fetch_sub(&r->fetching, 1);
	if (distrust)
		untrusted(r, s, &e);
	else if (rc == COREN_ERR_CORRUPT)
		remote_bad(r, s, &e);
	else if (rc && rc != COREN_ERR_NOTFOUND)
		tier_trouble(r, s->id, rc, &e,
			     "computing what the tier does not give");
	if (rc)
		return false;
	memo_slot_keep(r, s);
	atomic_fetch_add(&r->points_fetched, s->npoints);
	memo_pool_lock(&r->pool);
	r->fetched++;
	r->saved += saved;
	memo_pool_unlock(&r->pool);
	return true;
}
