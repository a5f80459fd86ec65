/* storers.c - the threads that store finished chunks beside the workers
 * (run_int.h, struct memo_storers): a worker pushes a slot whose points
 * all succeeded and goes on to its next job; a storer writes the chunk
 * (temp file, fsync, rename) and makes the slot READY. Every field is
 * under the pool's mu. */
#include "config.h"

#include "run_int.h"

static void *storer(void *arg)
{
	struct run *r = arg;
	struct memo_storers *st = &r->storers;
	/* copies of its own, as each worker has (struct scratch): a chunk's
	 * encoder increfs them. Read-only copying of the experiment's. */
	json_t *params = json_deep_copy(r->e->params);
	json_t *fn = r->e->fn ? json_deep_copy(r->e->fn) : NULL;
	bool copied = params && (fn || !r->e->fn);
	struct slot *s;

	memo_pool_lock(&r->pool);
	for (;;) {
		while (!st->head && !st->closing)
			pthread_cond_wait(&st->cv, &r->pool.mu);
		if (!(s = st->head))
			break; /* closing, and every queued slot stored */
		if (!(st->head = s->w->store_next))
			st->tail = NULL;
		s->w->store_next = NULL;
		st->queued--;
		st->inflight++;
		memo_pool_unlock(&r->pool);
		if (copied)
			memo_slot_store(r, s, params, fn);
		else
			memo_slot_store(r, s, NULL, NULL); /* fails: no memory */
		memo_pool_lock(&r->pool);
		st->inflight--;
		memo_pool_wake(&r->pool); /* after an abort, main waits for idle */
	}
	memo_pool_unlock(&r->pool);
	json_decref(params);
	json_decref(fn);
	return NULL;
}

bool memo_storers_push(struct run *r, struct slot *s)
{
	struct memo_storers *st = &r->storers;
	bool queued = false;

	memo_pool_lock(&r->pool);
	if (!st->closing && st->queued < STORE_QUEUE_MAX) {
		if (!st->inited) {
			pthread_cond_init(&st->cv, NULL);
			st->inited = true;
		}
		/* one more thread while every one has a slot */
		if (st->started < STORE_THREADS &&
		    st->queued + st->inflight >= st->started &&
		    !pthread_create(&st->th[st->started], NULL, storer, r))
			st->started++;
		if (st->started) {
			s->w->store_next = NULL;
			if (st->tail)
				st->tail->w->store_next = s;
			else
				st->head = s;
			st->tail = s;
			st->queued++;
			pthread_cond_signal(&st->cv);
			queued = true;
		}
	}
	memo_pool_unlock(&r->pool);
	return queued;
}

bool memo_storers_idle(const struct run *r)
{
	return !r->storers.queued && !r->storers.inflight;
}

void memo_storers_stop(struct run *r)
{
	struct memo_storers *st = &r->storers;
	size_t n;

	memo_pool_lock(&r->pool);
	st->closing = true;
	if (st->inited)
		pthread_cond_broadcast(&st->cv);
	n = st->started;
	memo_pool_unlock(&r->pool);
	for (size_t i = 0; i < n; i++)
		pthread_join(st->th[i], NULL);
	if (st->inited)
		pthread_cond_destroy(&st->cv);
	st->inited = false;
	st->started = 0;
}
