/* fetchers.c - the threads that fetch chunks from the remote tier beside
 * the workers (run_int.h, struct memo_fetchers): the main thread queues
 * FETCHING slots in plan order and goes on filling the window; a fetcher
 * takes the oldest, decides and fetches it (fetch.c), and gives it back
 * READY or UNFETCHED. A slow transfer holds up neither the main thread
 * nor a worker: the chunks computed here are computed meanwhile. Every
 * field is under the pool's mu (the slots' states are too). */
#include "config.h"

#include "run_int.h"

#include <stdlib.h>

/* Whether the tier has answered once (or is down): until then a single
 * fetch is in flight, so that the verdicts on the others price the link
 * as measured, not as the cap guessed. */
static bool tier_known(struct run *r)
{
	struct coren_remote_link link;

	coren_remote_link(r->o->remote, &link);
	return link.requests > 0 || coren_remote_down(r->o->remote);
}

/* The next slot to fetch, or NULL when closing; mu held. */
static struct slot *take(struct run *r)
{
	struct memo_fetchers *f = &r->fetchers;
	struct slot *s;

	while (!f->closing &&
	       (!f->head || r->pool.abort || (f->inflight && !tier_known(r))))
		pthread_cond_wait(&f->cv, &r->pool.mu);
	if (f->closing)
		return NULL;
	s = f->head;
	if (!(f->head = s->w->fetch_next))
		f->tail = NULL;
	s->w->fetch_next = NULL;
	if (++f->inflight > f->inflight_max)
		f->inflight_max = f->inflight;
	return s;
}

static void *fetcher(void *arg)
{
	struct run *r = arg;
	struct memo_fetchers *f = &r->fetchers;
	struct slot *s;

	memo_pool_lock(&r->pool);
	while ((s = take(r))) {
		bool got;

		memo_pool_unlock(&r->pool);
		got = memo_fetch(r, s);
		memo_pool_lock(&r->pool);
		f->inflight--;
		if (got) {
			s->state = SLOT_READY;
			memo_settled(r, s);
		} else {
			s->state = SLOT_UNFETCHED;
			r->unloaded++;
		}
		memo_pool_wake(&r->pool);
		pthread_cond_broadcast(&f->cv); /* the tier answered */
	}
	memo_pool_unlock(&r->pool);
	return NULL;
}

enum coren_err memo_fetchers_start(struct run *r, size_t n)
{
	struct memo_fetchers *f = &r->fetchers;

	pthread_cond_init(&f->cv, NULL);
	f->inited = true;
	f->th = calloc(n, sizeof *f->th);
	if (!f->th)
		return COREN_ERR_NOMEM;
	f->n = n;
	for (; f->started < n; f->started++)
		if (pthread_create(&f->th[f->started], NULL, fetcher, r))
			return COREN_ERR_NOMEM;
	return COREN_OK;
}

void memo_fetchers_push(struct run *r, struct slot *s)
{
	struct memo_fetchers *f = &r->fetchers;

	memo_pool_lock(&r->pool);
	s->w->fetch_next = NULL;
	if (f->tail)
		f->tail->w->fetch_next = s;
	else
		f->head = s;
	f->tail = s;
	pthread_cond_signal(&f->cv);
	memo_pool_unlock(&r->pool);
}

bool memo_fetchers_idle(const struct run *r)
{
	return !r->fetchers.inflight;
}

void memo_fetchers_stop(struct run *r)
{
	struct memo_fetchers *f = &r->fetchers;

	if (!f->inited)
		return;
	memo_pool_lock(&r->pool);
	f->closing = true;
	f->head = f->tail = NULL; /* still FETCHING: not run */
	pthread_cond_broadcast(&f->cv);
	memo_pool_unlock(&r->pool);
	for (size_t i = 0; i < f->started; i++)
		pthread_join(f->th[i], NULL);
	free(f->th);
	f->th = NULL;
	f->started = 0;
	pthread_cond_destroy(&f->cv);
	f->inited = false;
}
