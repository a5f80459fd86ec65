/* test_rkgpu - the host<->device ring protocol of coren/rkgpu.h with host
 * threads on both sides (built a second time under ThreadSanitizer, with
 * RINGS_ONLY), and, where the CUDA backend is built, a terminate that races
 * a stream of messages (emulated; on the GPU too when one is usable). */
#include "config.h"

#include "tap.h"

#include <coren/rkgpu.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RING_ITEMS
#define RING_ITEMS 200000u
#endif

static void *ring_new(uint32_t capacity, uint32_t room, uint32_t flags)
{
	void *mem = calloc(1, coren_gpu_ring_bytes(capacity, room));

	return coren_gpu_ring_init(mem, capacity, room, flags);
}

static void pause_a_moment(void)
{
	struct timespec ts = {0, 1000};

	nanosleep(&ts, NULL);
}

/* ---- SPSC: one producer, one consumer, each writing only its own index -- */

struct spsc {
	struct coren_gpu_ring *r;
	uint32_t n;
	uint64_t bad, got;
};

/* Publishes 1..n, each slot's payload carrying its number and its bytes
 * the number's low byte, in bursts of up to 7 slots. */
static void *spsc_producer(void *arg)
{
	struct spsc *s = arg;
	uint32_t head = 0, next = 1;

	while (next <= s->n) {
		uint32_t room = coren_gpu_ring_space(s->r, head), k;

		if (!room) {
			pause_a_moment();
			continue;
		}
		for (k = 0; k < room && k < 7 && next <= s->n; k++, next++) {
			struct coren_gpu_slot *sl = coren_gpu_ring_slot(s->r, head++);

			sl->hdr.correlation_id = next;
			sl->hdr.payload_size = 64;
			memset(sl->payload, (int)(next & 0xff), 64);
		}
		coren_gpu_ring_publish(s->r, head);
	}
	return NULL;
}

static void *spsc_consumer(void *arg)
{
	struct spsc *s = arg;
	uint32_t tail = 0;

	while (s->got < s->n) {
		uint32_t avail = coren_gpu_ring_avail(s->r, tail);

		if (!avail) {
			pause_a_moment();
			continue;
		}
		for (uint32_t k = 0; k < avail; k++, tail++) {
			struct coren_gpu_slot *sl = coren_gpu_ring_slot(s->r, tail);
			uint64_t want = ++s->got;

			s->bad += sl->hdr.correlation_id != want || sl->hdr.payload_size != 64 ||
				  sl->payload[0] != (want & 0xff) || sl->payload[63] != (want & 0xff);
		}
		coren_gpu_ring_release(s->r, tail);
	}
	return NULL;
}

static void spsc(void)
{
	struct spsc s = {ring_new(16, 64, 0), RING_ITEMS, 0, 0};
	pthread_t p, c;

	pthread_create(&c, NULL, spsc_consumer, &s);
	pthread_create(&p, NULL, spsc_producer, &s);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	ok(s.got == RING_ITEMS && !s.bad,
	   "SPSC, 16 slots: %u messages arrive whole, once each, in order (%llu bad)",
	   RING_ITEMS, (unsigned long long)s.bad);
	is_u64(coren_gpu_ring_avail(s.r, RING_ITEMS), 0, "nothing left to read");
	is_u64(coren_gpu_ring_space(s.r, RING_ITEMS), 16, "every slot free again");
	free(s.r);
}

/* ---- MPSC: producers claim with a CAS on head; the consumer reads seq --- */

enum { PRODUCERS = 4 };

struct mpsc {
	struct coren_gpu_ring *r;
	uint32_t per;		     /* messages per producer */
	uint64_t full;		     /* claims refused as full */
	uint64_t bad, got;
	pthread_mutex_t lock;	     /* guards full */
	uint32_t last[PRODUCERS];    /* the consumer's last number per producer */
};

struct producer {
	struct mpsc *m;
	uint32_t who;
};

static void *mpsc_producer(void *arg)
{
	struct producer *p = arg;
	uint64_t full = 0;

	for (uint32_t i = 1; i <= p->m->per;) {
		struct coren_gpu_slot *sl;
		uint32_t at;

		if (!coren_gpu_ring_claim(p->m->r, &at)) {
			full++;
			pause_a_moment();
			continue;
		}
		sl = coren_gpu_ring_slot(p->m->r, at);
		sl->hdr.source = p->who;
		sl->hdr.correlation_id = i;
		memset(sl->payload, (int)p->who, 32);
		coren_gpu_ring_commit(p->m->r, at);
		i++;
	}
	pthread_mutex_lock(&p->m->lock);
	p->m->full += full;
	pthread_mutex_unlock(&p->m->lock);
	return NULL;
}

static void *mpsc_consumer(void *arg)
{
	struct mpsc *m = arg;
	uint64_t want = (uint64_t)m->per * PRODUCERS;
	uint32_t tail = 0;

	while (m->got < want) {
		struct coren_gpu_slot *sl;
		uint32_t who;

		if (!coren_gpu_ring_ready(m->r, tail)) {
			pause_a_moment();
			continue;
		}
		sl = coren_gpu_ring_slot(m->r, tail);
		who = sl->hdr.source;
		if (who >= PRODUCERS || sl->payload[0] != who || sl->payload[31] != who ||
		    sl->hdr.correlation_id != (uint64_t)m->last[who] + 1)
			m->bad++;
		else
			m->last[who]++;
		m->got++;
		coren_gpu_ring_release(m->r, ++tail);
	}
	return NULL;
}

static void mpsc(void)
{
	struct mpsc m = {ring_new(8, 32, COREN_GPU_RING_MPSC), RING_ITEMS / PRODUCERS,
			 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, {0}};
	struct producer pr[PRODUCERS];
	pthread_t p[PRODUCERS], c;
	uint32_t at;
	int all = 1;

	pthread_create(&c, NULL, mpsc_consumer, &m);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){&m, i};
		pthread_create(&p[i], NULL, mpsc_producer, &pr[i]);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	pthread_join(c, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		all &= m.last[i] == m.per;
	ok(m.got == (uint64_t)m.per * PRODUCERS && !m.bad && all,
	   "MPSC, 8 slots, %d producers: every message once, whole, in order per producer "
	   "(%llu bad)", PRODUCERS, (unsigned long long)m.bad);
	printf("# %llu claims found the ring full\n", (unsigned long long)m.full);

	/* A full ring refuses a claim and moves nothing. */
	for (int i = 0; i < 8; i++)
		all &= coren_gpu_ring_claim(m.r, &at);
	ok(all && !coren_gpu_ring_claim(m.r, &at), "a claim on a full ring is refused");
	is_u64(m.r->head.v - m.r->tail.v, 8, "the refused claim left head alone");
	ok(!coren_gpu_ring_ready(m.r, m.r->tail.v), "a claimed slot not yet committed is not ready");
	free(m.r);
}

#if defined(HAVE_CUDA) && !defined(RINGS_ONLY)
#include <coren/rk.h>
#include <unistd.h>

/* ---- terminate while messages stream in ---------------------------------- */

struct stopper {
	struct coren_rk *rt;
	uint32_t id;
	int rc;
};

static void *stop_soon(void *arg)
{
	struct stopper *s = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
	s->rc = coren_rk_terminate(s->rt, s->id, NULL);
	return NULL;
}

static struct coren_rk_msg *msg(uint32_t to, uint64_t corr)
{
	struct coren_rk_msg *m = coren_rk_msg_new(64);

	memset(m->payload, (int)(corr & 0xff), 64);
	m->hdr.payload_size = 64;
	m->hdr.encoding = COREN_RK_ENC_RAW;
	m->hdr.destination = to;
	m->hdr.correlation_id = corr;
	return m;
}

/* What terminate_under_load's answers were. */
struct tally {
	unsigned char *seen;
	uint64_t got, dup, errors, wrong, n;
};

static void take(void *data, struct coren_rk_msg **m, size_t k)
{
	struct tally *a = data;

	for (size_t i = 0; i < k; i++) {
		uint64_t c = m[i]->hdr.correlation_id;

		if (c < 1 || c > a->n || a->seen[c]++) {
			if (a->dup++ < 5)
				printf("# answered again: %llu (%.*s)\n", (unsigned long long)c,
				       (int)m[i]->hdr.payload_size, (char *)m[i]->payload);
		}
		if (m[i]->hdr.flags & COREN_ENV_F_ERROR)
			a->errors++;
		else if (m[i]->hdr.payload_size != 64 || m[i]->payload[63] != (c & 0xff))
			a->wrong++;
		coren_rk_msg_free(m[i]);
	}
	a->got += k;
}

/* One thread sends 64-byte messages to echo and takes the answers
 * (coren_rk_make_room) while another terminates the actor: every message
 * gets exactly one answer (the echo, or an error once terminated),
 * nothing hangs, the actor ends terminated. */
static void terminate_under_load(struct coren_plugin *cuda, struct coren_plugin *echo,
				 const char *how)
{
	enum { N = 60000 };
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct tally a = {calloc(N + 1, 1), 0, 0, 0, 0, N};
	json_t *opts = json_pack("{s:b}", "emulate", !strcmp(how, "emulated"));
	struct coren_rk_msg *batch[64];
	struct coren_error err = {0};
	struct coren_rk_status st;
	struct stopper s = {0};
	uint64_t sent = 0;
	pthread_t t;
	int stuck = 0, all = 1;

	if (coren_rk_new(NULL, &s.rt, &err) || coren_rk_add_backend(s.rt, cuda, opts, &err) ||
	    coren_rk_launch(s.rt, "e", echo, NULL, &l, &s.id, &err)) {
		ok(0, "%s: echo launched on the cuda backend: %s", how, err.msg);
		goto out;
	}
	pthread_create(&t, NULL, stop_soon, &s);
	while (!stuck && sent < N) {
		size_t k;

		for (k = 0; k < 64 && sent < N; k++)
			batch[k] = msg(s.id, ++sent);
		if ((stuck = coren_rk_make_room(s.rt, k, 5000, take, &a, NULL) != COREN_OK))
			for (size_t i = 0; i < k; i++)
				coren_rk_msg_free(batch[i]);
		else
			coren_rk_send(s.rt, batch, k);
	}
	stuck |= coren_rk_make_room(s.rt, SIZE_MAX, 5000, take, &a, NULL) != COREN_OK;
	pthread_join(t, NULL);
	for (size_t c = 1; c <= N; c++)
		all &= a.seen[c] == 1;
	ok(!stuck && a.got == N && all && !a.dup && !a.wrong,
	   "%s: terminate during %d sends: every message answered exactly once "
	   "(%llu echoed, %llu errors)", how, N, (unsigned long long)(a.got - a.errors),
	   (unsigned long long)a.errors);
	ok(a.errors > 0 && !s.rc, "%s: terminate succeeded and the messages after it failed", how);
	ok(!coren_rk_status(s.rt, s.id, &st, NULL) && st.state == COREN_RK_TERMINATED,
	   "%s: the actor is terminated", how);
	is_u64(coren_rk_in_flight(s.rt), 0, "%s: nothing in flight", how);
out:
	coren_rk_free(s.rt);
	json_decref(opts);
	free(a.seen);
}

static void backend(void)
{
	const char *env = getenv("COREN_RK_PLUGINS");
	struct coren_plugin *cuda = NULL, *echo = NULL;
	struct coren_error err = {0};
	const struct coren_backend_ops *ops;
	void *st = NULL;

	if (!env) {
		skip("COREN_RK_PLUGINS is not set (run through make check)");
		return;
	}
	setenv("COREN_PLUGIN_PATH", env, 1); /* searched by coren_plugin_open */
	if (coren_plugin_open("cuda", COREN_PLUGIN_BACKEND, NULL, &cuda, &err) ||
	    coren_plugin_open("echo", COREN_PLUGIN_KERNEL, NULL, &echo, &err)) {
		ok(0, "the cuda backend and echo load: %s", err.msg);
		goto out;
	}
	terminate_under_load(cuda, echo, "emulated");
	ops = cuda->desc->ops;
	if (ops->load(&st, NULL, &err)) {
		skip("GPU: no usable GPU: %s", err.msg);
	} else {
		ops->unload(st);
		terminate_under_load(cuda, echo, "GPU");
	}
out:
	coren_plugin_free(cuda);
	coren_plugin_free(echo);
}
#endif

int main(void)
{
	spsc();
	mpsc();
#if defined(HAVE_CUDA) && !defined(RINGS_ONLY)
	backend();
#elif !defined(RINGS_ONLY)
	skip("terminate under load: the CUDA backend is not built (no nvcc)");
#endif
	return done_testing();
}
