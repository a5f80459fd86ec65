/* pool.c - the executor's workers: a FIFO of jobs under one lock, mu,
 * which guards every field the workers and the main thread share (see
 * struct memo_pool). The main thread queues; a worker takes a job, runs it
 * without the lock, and says it is done. After an abort no job starts. */
#include "config.h"

#include "run_int.h"

#include <stdlib.h>
#include <time.h>

struct pool_thread {
	pthread_t t;
	struct memo_pool *pl;
	size_t k;
};

void memo_job_free(struct job *j)
{
	if (!j)
		return;
	free(j->slots);
	free(j->local);
	free(j);
}

enum coren_err memo_pool_init(struct memo_pool *pl, size_t n,
			      void (*run)(void *, size_t, struct job *),
			      void *ctx)
{
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->done, NULL);
	pl->run = run;
	pl->ctx = ctx;
	pl->nthreads = n;
	pl->threads = calloc(n ? n : 1, sizeof *pl->threads);
	return pl->threads ? COREN_OK : COREN_ERR_NOMEM;
}

/* The next job to run, or NULL when closing; mu held on entry and exit. */
static struct job *take(struct memo_pool *pl)
{
	struct job *j;

	for (;;) {
		while (!pl->head && !pl->closing)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (!pl->head)
			return NULL;
		if (!pl->abort)
			break;
		/* the main thread drops the queue: let it know, wait */
		pthread_cond_broadcast(&pl->done);
		pthread_cond_wait(&pl->work, &pl->mu);
	}
	j = pl->head;
	pl->head = j->next;
	if (!pl->head)
		pl->tail = NULL;
	pl->queued_points -= j->n;
	pl->busy++;
	return j;
}

static void *worker(void *arg)
{
	struct pool_thread *t = arg;
	struct memo_pool *pl = t->pl;
	struct job *j;

	pthread_mutex_lock(&pl->mu);
	while ((j = take(pl))) {
		pthread_mutex_unlock(&pl->mu);
		pl->run(pl->ctx, t->k, j);
		memo_job_free(j);
		pthread_mutex_lock(&pl->mu);
		pl->busy--;
		pthread_cond_broadcast(&pl->done);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

enum coren_err memo_pool_start(struct memo_pool *pl)
{
	for (size_t i = 0; i < pl->nthreads; i++) {
		pl->threads[i].pl = pl;
		pl->threads[i].k = i;
		if (pthread_create(&pl->threads[i].t, NULL, worker,
				   &pl->threads[i]))
			return COREN_ERR_NOMEM;
		pl->started++;
	}
	return COREN_OK;
}

void memo_pool_push(struct memo_pool *pl, struct job *j)
{
	pthread_mutex_lock(&pl->mu);
	j->next = NULL;
	if (pl->tail)
		pl->tail->next = j;
	else
		pl->head = j;
	pl->tail = j;
	pl->queued_points += j->n;
	pthread_cond_signal(&pl->work);
	pthread_mutex_unlock(&pl->mu);
}

size_t memo_pool_queued(struct memo_pool *pl)
{
	size_t n;

	pthread_mutex_lock(&pl->mu);
	n = pl->queued_points;
	pthread_mutex_unlock(&pl->mu);
	return n;
}

void memo_pool_abort(struct memo_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->abort = true;
	pthread_cond_broadcast(&pl->done);
	pthread_mutex_unlock(&pl->mu);
}

bool memo_pool_aborted(struct memo_pool *pl)
{
	bool a;

	pthread_mutex_lock(&pl->mu);
	a = pl->abort;
	pthread_mutex_unlock(&pl->mu);
	return a;
}

/* Drops the queued jobs (after an abort): their points do not run
 * (points_unrun). */
void memo_pool_drop(struct memo_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	while (pl->head) {
		struct job *j = pl->head;

		pl->head = j->next;
		memo_job_free(j);
	}
	pl->tail = NULL;
	pl->queued_points = 0;
	pthread_mutex_unlock(&pl->mu);
}

void memo_pool_lock(struct memo_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
}

void memo_pool_unlock(struct memo_pool *pl)
{
	pthread_mutex_unlock(&pl->mu);
}

void memo_pool_wake(struct memo_pool *pl)
{
	pthread_cond_broadcast(&pl->done);
}

void memo_pool_wait(struct memo_pool *pl)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 100000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&pl->done, &pl->mu, &t);
}

bool memo_pool_idle(const struct memo_pool *pl)
{
	return !pl->busy && !pl->head;
}

void memo_pool_stop(struct memo_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->closing = true;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
	for (size_t i = 0; i < pl->started; i++)
		pthread_join(pl->threads[i].t, NULL);
	pl->started = 0;
}

void memo_pool_release(struct memo_pool *pl)
{
	memo_pool_drop(pl);
	free(pl->threads);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->done);
}
