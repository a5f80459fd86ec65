/* test_queue - SPSC and MPSC rings: order, capacity, backpressure, stats,
 * tiers, health, the doorbell, and stress with two threads (also built
 * under ThreadSanitizer as test_queue_tsan). */
#include "config.h"

#include "tap.h"

#include <coren/queue.h>
#include <pthread.h>
#include <stdlib.h>

#ifndef STRESS_ITEMS
#define STRESS_ITEMS 4000000
#endif

struct item {
	uint64_t seq;
	uint32_t producer;
	unsigned char pad[52]; /* 64 bytes */
};

static void basics(enum coren_queue_kind kind, const char *name)
{
	struct coren_queue *q;
	struct coren_queue_stats st;
	uint64_t v, got[8];
	int order = 1;

	ok(!coren_queue_new(kind, 4, sizeof v, &q, NULL), "%s: new", name);
	for (v = 1; v <= 4; v++)
		coren_queue_push(q, &v);
	is_int(coren_queue_push(q, &v), -1, "%s: a full queue refuses", name);
	is_int(coren_queue_depth(q), 4, "%s: depth 4", name);
	coren_queue_drop(q);
	ok(!coren_queue_pop(q, &v) && v == 1, "%s: oldest first", name);
	v = 5;
	ok(!coren_queue_push(q, &v), "%s: room again after a pop", name);
	is_int(coren_queue_pop_n(q, got, 8), 4, "%s: pop_n takes what there is", name);
	for (int i = 0; i < 4; i++)
		order &= got[i] == (uint64_t)i + 2;
	ok(order, "%s: FIFO across the wrap", name);
	is_int(coren_queue_pop(q, &v), -1, "%s: empty", name);
	{
		uint64_t many[6] = {10, 11, 12, 13, 14, 15};

		is_int(coren_queue_push_n(q, many, 6), 4, "%s: push_n takes a prefix", name);
	}
	coren_queue_stats(q, &st);
	is_u64(st.pushed, 9, "%s: pushed counted", name);
	is_u64(st.popped, 5, "%s: popped counted", name);
	is_u64(st.full, 3, "%s: refused pushes counted", name);
	is_u64(st.dropped, 1, "%s: drops counted", name);
	is_u64(st.capacity, 4, "%s: capacity", name);
	is_int(coren_queue_health(q), COREN_QUEUE_CRITICAL, "%s: full is critical", name);
	coren_queue_free(q);
}

static void bad_sizes(void)
{
	struct coren_queue *q;
	struct coren_error err = {0};

	is_int(coren_queue_new(COREN_QUEUE_SPSC, 1000, 8, &q, &err), COREN_ERR_USAGE,
	       "capacity must be a power of two");
	ok(strstr(err.msg, "power of two") != NULL, "message: %s", err.msg);
	is_int(coren_queue_new(COREN_QUEUE_MPSC, 1, 8, &q, NULL), COREN_ERR_USAGE,
	       "capacity 1 is refused");
	is_int(coren_queue_new(COREN_QUEUE_SPSC, 8, 0, &q, NULL), COREN_ERR_USAGE,
	       "item size 0 is refused");
}

static void tiers(void)
{
	is_int(coren_queue_tier_for(1000, 0), COREN_QUEUE_SMALL, "1000/s x 100 ms: small");
	is_int(coren_queue_tier_for(2560, 0), COREN_QUEUE_SMALL, "2560/s: exactly small");
	is_int(coren_queue_tier_for(2561, 0), COREN_QUEUE_MEDIUM, "2561/s: medium");
	is_int(coren_queue_tier_for(40000, 0.1), COREN_QUEUE_LARGE, "40000/s: large");
	is_int(coren_queue_tier_for(1e6, 0.1), COREN_QUEUE_XLARGE, "1M/s: extra large");
	is_int(coren_queue_tier_for(1000, 1), COREN_QUEUE_MEDIUM, "headroom 1 s: medium");
	is_str(coren_queue_tier_name(COREN_QUEUE_LARGE), "large", "tier name");
	is_int(coren_queue_health_of(50, 100), COREN_QUEUE_HEALTHY, "50/100 healthy");
	is_int(coren_queue_health_of(74, 100), COREN_QUEUE_HEALTHY, "74/100 healthy");
	is_int(coren_queue_health_of(75, 100), COREN_QUEUE_WARNING, "75/100 warning");
	is_int(coren_queue_health_of(80, 100), COREN_QUEUE_WARNING, "80/100 warning");
	is_int(coren_queue_health_of(90, 100), COREN_QUEUE_CRITICAL, "90/100 critical");
	is_int(coren_queue_health_of(95, 100), COREN_QUEUE_CRITICAL, "95/100 critical");
	is_str(coren_queue_health_name(COREN_QUEUE_WARNING), "warning", "health name");
}

/* ---- stress ------------------------------------------------------------------- */

struct stress {
	struct coren_queue *q;
	struct coren_doorbell *bell; /* shared */
	uint32_t producer;
	uint64_t n;
	size_t batch;
};

static void *produce(void *arg)
{
	struct stress *s = arg;
	struct item buf[64];
	uint64_t next = 0;

	memset(buf, 0, sizeof buf);
	while (next < s->n) {
		size_t k = s->n - next < s->batch ? (size_t)(s->n - next) : s->batch, put;

		for (size_t i = 0; i < k; i++) {
			buf[i].seq = next + i;
			buf[i].producer = s->producer;
		}
		put = coren_queue_push_n(s->q, buf, k);
		next += put;
		coren_doorbell_ring(s->bell);
	}
	return NULL;
}

/* Consumes n items from producers, checking each one's order. */
static int consume(struct stress *s, int producers, uint64_t total)
{
	uint64_t expect[4] = {0}, seen = 0;
	struct item buf[64];
	int in_order = 1;

	while (seen < total) {
		size_t k = coren_queue_pop_n(s->q, buf, 64);

		if (!k) {
			uint32_t seq = coren_doorbell_prepare(s->bell);

			if (coren_queue_depth(s->q))
				coren_doorbell_cancel(s->bell);
			else
				coren_doorbell_wait(s->bell, seq, 100);
			continue;
		}
		for (size_t i = 0; i < k; i++) {
			uint32_t p = buf[i].producer;

			if (p >= (uint32_t)producers || buf[i].seq != expect[p]++)
				in_order = 0;
		}
		seen += k;
	}
	return in_order && seen == total && coren_queue_pop(s->q, buf) == -1;
}

static void stress(enum coren_queue_kind kind, int producers, const char *name)
{
	struct stress s[4];
	pthread_t th[4];
	struct coren_queue *q;
	struct coren_doorbell bell;
	uint64_t per = STRESS_ITEMS / (uint64_t)producers;

	coren_queue_new(kind, 1024, sizeof(struct item), &q, NULL);
	for (int i = 0; i < producers; i++) {
		s[i].q = q;
		s[i].producer = (uint32_t)i;
		s[i].n = per;
		s[i].batch = i % 2 ? 1 : 32;
	}
	coren_doorbell_init(&bell);
	for (int i = 0; i < producers; i++)
		s[i].bell = &bell;
	for (int i = 0; i < producers; i++)
		pthread_create(&th[i], NULL, produce, &s[i]);
	ok(consume(&s[0], producers, per * (uint64_t)producers),
	   "%s: %llu items, %d producer(s): each in order, none lost or doubled", name,
	   (unsigned long long)(per * (uint64_t)producers), producers);
	for (int i = 0; i < producers; i++)
		pthread_join(th[i], NULL);
	coren_queue_free(q);
}

int main(void)
{
	basics(COREN_QUEUE_SPSC, "spsc");
	basics(COREN_QUEUE_MPSC, "mpsc");
	bad_sizes();
	tiers();
	stress(COREN_QUEUE_SPSC, 1, "spsc");
	stress(COREN_QUEUE_MPSC, 2, "mpsc");
	return done_testing();
}
