/* cpu - the CPU backend: persistent worker threads per kernel, each
 * polling its own inbound queue (and the kernel's K2K inbox) with a
 * bounded spin, then sleeping on the kernel's doorbell. */
#include <coren/rkbackend.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SPIN_NS 200000	   /* polls this long on an empty queue, then sleeps */
#define NAP_MS 100	   /* longest sleep between checks */
#define MAX_BLOCK 4096
#define PARK_NAP_NS 50000 /* between retries of parked K2K messages */

struct cpu_worker {
	struct coren_rk_actor *a;
	unsigned idx;
	pthread_t thread;
	struct coren_queue *q; /* SPSC: the host produces, this worker consumes */
	_Atomic int idle;
	int started;
};

struct cpu_actor {
	struct cpu_worker *w;
	unsigned n, rr;
	_Atomic int stop;
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static int has_work(struct cpu_worker *w)
{
	return coren_queue_depth(w->q) || coren_rk_actor_k2k_depth(w->a);
}

/* Takes what is waiting: the own queue first, then K2K; only K2K while
 * the worker has parked messages (the host waits, the kernels drain). */
static size_t take(struct cpu_worker *w, struct coren_rk_msg **buf, size_t max)
{
	size_t k = coren_rk_actor_parked(w->a, w->idx)
		       ? 0
		       : coren_queue_pop_n(w->q, buf, max);
	size_t room = coren_rk_actor_k2k_room(w->a, w->idx);

	if (k < max && room)
		k += coren_rk_actor_k2k_pop(w->a, buf + k,
					    max - k < room ? max - k : room);
	return k;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct cpu_worker *w = arg;
	struct cpu_actor *ca = coren_rk_actor_data(w->a);
	struct coren_doorbell *bell = coren_rk_actor_doorbell(w->a);
	size_t block = coren_rk_actor_block(w->a);
	struct coren_rk_msg **buf;
	unsigned spins = 0;
	uint64_t idle_since = 0;
	int parked;

	if (block > MAX_BLOCK)
		block = MAX_BLOCK;
	buf = malloc(block * sizeof *buf);
	while (buf && !atomic_load(&ca->stop)) {
		enum coren_rk_state st = coren_rk_actor_state(w->a);
		size_t k = 0;
		uint32_t seq;

		if (st == COREN_RK_TERMINATED || st == COREN_RK_FAILED)
			break;
		parked = coren_rk_actor_parked(w->a, w->idx) &&
			 coren_rk_actor_retry(w->a, w->idx);
		if (st == COREN_RK_ACTIVE && (k = take(w, buf, block))) {
			coren_rk_actor_process(w->a, w->idx, buf, k);
			if (coren_rk_actor_abandoned(w->a, w->idx)) {
				/* The runtime gave up on a call: its queue is
				 * the resetting thread's now; w, ca and the
				 * actor stay. */
				free(buf);
				return NULL;
			}
			spins = 0;
			continue;
		}
		/* Spin a while (the clock read every 64 polls): a stream's next
		 * batch usually comes sooner than a futex wake-up would. */
		if (parked) { /* room comes without a ring: look again soon */
			struct timespec nap = {0, PARK_NAP_NS};

			nanosleep(&nap, NULL);
			spins = 0;
			continue;
		}
		if (!spins++)
			idle_since = now_ns();
		if (spins % 64 || now_ns() - idle_since < SPIN_NS) {
			relax();
			continue;
		}
		seq = coren_doorbell_prepare(bell);
		if (atomic_load(&ca->stop) || coren_rk_actor_state(w->a) != st ||
		    (st == COREN_RK_ACTIVE && has_work(w))) {
			coren_doorbell_cancel(bell);
			continue;
		}
		atomic_store(&w->idle, 1);
		coren_doorbell_wait(bell, seq, NAP_MS);
		atomic_store(&w->idle, 0);
		spins = 0;
	}
	/* Whatever is still queued is answered, never lost. */
	if (buf) {
		size_t k;

		while ((k = coren_queue_pop_n(w->q, buf, block)))
			coren_rk_actor_reject(w->a, buf, k, "kernel terminated");
	}
	free(buf);
	atomic_store(&w->idle, 1);
	return NULL;
}

static void cpu_capabilities(struct coren_backend_caps *c)
{
	c->flags = COREN_BACKEND_F_PERSISTENT | COREN_BACKEND_F_K2K |
		   COREN_BACKEND_F_BATCH;
	c->device_streams = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	c->max_batch = MAX_BLOCK;
	c->dtype_mask = (1u << COREN_RK_ENC__COUNT) - 1;
	c->memory_classes = COREN_MEM_HOST;
}

static enum coren_err cpu_load(void **bstate, const json_t *options,
			       struct coren_error *err)
{
	(void)options;
	(void)err;
	*bstate = NULL;
	return COREN_OK;
}

static json_t *cpu_metadata(void *bstate)
{
	(void)bstate;
	return json_pack("{s:s,s:i}", "device", "host",
			 "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN));
}

/* Stops the workers. One abandoned in a hung handler call is left
 * running (detached): its queue is answered from here, and it, its queue
 * and ca are never freed, since its call may still return. */
static void stop_workers(struct cpu_actor *ca)
{
	struct coren_rk_msg *m[64];
	int leave = 0;
	size_t k;

	atomic_store(&ca->stop, 1);
	for (unsigned i = 0; i < ca->n; i++) {
		if (ca->w[i].started)
			coren_doorbell_ring(coren_rk_actor_doorbell(ca->w[i].a));
	}
	for (unsigned i = 0; i < ca->n; i++) {
		struct cpu_worker *w = &ca->w[i];

		if (!w->started)
			continue;
		if (!coren_rk_actor_abandoned(w->a, w->idx)) {
			pthread_join(w->thread, NULL);
			continue;
		}
		pthread_detach(w->thread);
		leave = 1;
		while ((k = coren_queue_pop_n(w->q, m, 64)))
			coren_rk_actor_reject(w->a, m, k,
					      "kernel failed: a handler hung");
	}
	if (leave)
		return;
	for (unsigned i = 0; i < ca->n; i++)
		coren_queue_free(ca->w[i].q);
	free(ca->w);
	free(ca);
}

static enum coren_err cpu_init(void *bstate, struct coren_rk_actor *a,
			       struct coren_error *err)
{
	struct cpu_actor *ca = calloc(1, sizeof *ca);
	unsigned n = coren_rk_actor_grid(a);
	enum coren_err rc = COREN_OK;
	int e;

	(void)bstate;
	if (!ca || !(ca->w = calloc(n, sizeof *ca->w))) {
		free(ca);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	ca->n = n;
	coren_rk_actor_set_data(a, ca);
	for (unsigned i = 0; i < n && !rc; i++) {
		ca->w[i].a = a;
		ca->w[i].idx = i;
		rc = coren_queue_new(COREN_QUEUE_SPSC, coren_rk_actor_queue_capacity(a),
				     sizeof(struct coren_rk_msg *), &ca->w[i].q, err);
	}
	for (unsigned i = 0; i < n && !rc; i++) {
		e = pthread_create(&ca->w[i].thread, NULL, worker_main, &ca->w[i]);
		if (e)
			rc = coren_error_set(err, COREN_ERR_NOMEM,
					     "cannot start a worker of '%s': %s",
					     coren_rk_actor_name(a), strerror(e));
		else
			ca->w[i].started = 1;
	}
	if (rc) {
		stop_workers(ca);
		coren_rk_actor_set_data(a, NULL);
	}
	return rc;
}

static size_t cpu_infer_batch(void *bstate, struct coren_rk_actor *a,
			      struct coren_rk_msg **msgs, size_t n)
{
	struct cpu_actor *ca = coren_rk_actor_data(a);
	size_t done = 0;

	(void)bstate;
	for (unsigned tries = 0; tries < ca->n && done < n; tries++) {
		struct cpu_worker *w = &ca->w[ca->rr];

		ca->rr = (ca->rr + 1) % ca->n;
		done += coren_queue_push_n(w->q, msgs + done, n - done);
	}
	if (done)
		coren_doorbell_ring(coren_rk_actor_doorbell(a));
	return done;
}

static int cpu_infer_one(void *bstate, struct coren_rk_actor *a,
			 struct coren_rk_msg *m)
{
	return cpu_infer_batch(bstate, a, &m, 1) == 1 ? 0 : -1;
}

static enum coren_err cpu_drain(void *bstate, struct coren_rk_actor *a,
				int timeout_ms, struct coren_error *err)
{
	struct cpu_actor *ca = coren_rk_actor_data(a);
	struct timespec nap = {0, 100000};
	long waited_us = 0;

	(void)bstate;
	for (;;) {
		int busy = 0;

		for (unsigned i = 0; i < ca->n; i++)
			busy |= coren_queue_depth(ca->w[i].q) != 0;
		if (!busy && (coren_rk_actor_state(a) != COREN_RK_ACTIVE ||
			      !coren_rk_actor_k2k_depth(a)))
			return COREN_OK;
		if (coren_rk_actor_state(a) != COREN_RK_ACTIVE)
			return coren_error_set(err, COREN_ERR_STATE,
					       "kernel '%s' is not active: its queue cannot drain",
					       coren_rk_actor_name(a));
		if (timeout_ms >= 0 && waited_us / 1000 > timeout_ms)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "kernel '%s' did not drain in %d ms",
					       coren_rk_actor_name(a), timeout_ms);
		nanosleep(&nap, NULL);
		waited_us += 100;
	}
}

static enum coren_err cpu_reset(void *bstate, struct coren_rk_actor *a,
				struct coren_error *err)
{
	struct cpu_actor *ca = coren_rk_actor_data(a);

	(void)bstate;
	(void)err;
	if (ca)
		stop_workers(ca);
	coren_rk_actor_set_data(a, NULL);
	return COREN_OK;
}

static void cpu_wake(void *bstate, struct coren_rk_actor *a)
{
	(void)bstate;
	coren_doorbell_ring(coren_rk_actor_doorbell(a));
}

static const struct coren_backend_ops ops = {
	.struct_size = sizeof ops,
	.capabilities = cpu_capabilities,
	.load = cpu_load,
	.metadata = cpu_metadata,
	.init = cpu_init,
	.infer_batch = cpu_infer_batch,
	.infer_one = cpu_infer_one,
	.drain = cpu_drain,
	.reset = cpu_reset,
	.wake = cpu_wake,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_BACKEND, "cpu", "1.0",
		      "persistent worker threads on the host", &ops)
