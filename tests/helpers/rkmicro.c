/* rkmicro - lib/rk micro-benchmarks for bench/rk.sh (timings: never part
 * of make check). Writes one bench record per measurement:
 *   spsc: 64-byte messages, batches of 64, producer and consumer threads;
 *   mpsc: the same with two producers;
 *   hlc: coren_hlc_tick on one thread;
 *   envelope: encode + decode of a 256-byte header and a 64-byte payload. */
#include "config.h"

#include <coren/envelope.h>
#include <coren/hlc.h>
#include <coren/queue.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ITEM 64
#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct prod {
	struct coren_queue *q;
	long n;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	unsigned char buf[BATCH * ITEM];
	long sent = 0;

	memset(buf, 1, sizeof buf);
	while (sent < p->n) {
		long k = p->n - sent < BATCH ? p->n - sent : BATCH;

		sent += (long)coren_queue_push_n(p->q, buf, (size_t)k);
	}
	return NULL;
}

static void queue(enum coren_queue_kind kind, int producers, long n, const char *name)
{
	struct coren_queue *q;
	struct prod p[2];
	pthread_t th[2];
	unsigned char buf[BATCH * ITEM];
	long got = 0, total = n * producers;
	double t0;

	coren_queue_new(kind, 4096, ITEM, &q, NULL);
	t0 = now();
	for (int i = 0; i < producers; i++) {
		p[i].q = q;
		p[i].n = n;
		pthread_create(&th[i], NULL, producer, &p[i]);
	}
	while (got < total)
		got += (long)coren_queue_pop_n(q, buf, BATCH);
	for (int i = 0; i < producers; i++)
		pthread_join(th[i], NULL);
	t0 = now() - t0;
	printf("{\"type\":\"bench\",\"name\":\"rk.queue.%s\",\"n\":%ld,\"item_bytes\":%d,"
	       "\"batch\":%d,\"seconds\":%.4f,\"msgs_per_s\":%.0f,\"ns_per_msg\":%.2f}\n",
	       name, total, ITEM, BATCH, t0, (double)total / t0, t0 * 1e9 / (double)total);
	coren_queue_free(q);
}

static void hlc(long n)
{
	struct coren_hlc c;
	struct coren_hlc_ts t = {0, 0, 0};
	double t0;

	coren_hlc_init(&c, 1);
	t0 = now();
	for (long i = 0; i < n; i++)
		t = coren_hlc_tick(&c);
	t0 = now() - t0;
	printf("{\"type\":\"bench\",\"name\":\"rk.hlc.tick\",\"n\":%ld,\"seconds\":%.4f,"
	       "\"ns_per_op\":%.2f,\"last_logical\":%llu}\n",
	       n, t0, t0 * 1e9 / (double)n, (unsigned long long)t.logical);
}

static void envelope(long n)
{
	struct coren_rk_header h, d;
	unsigned char payload[64], buf[512];
	const unsigned char *p;
	size_t len;
	double t0;
	long bad = 0;

	coren_env_header_init(&h);
	memset(payload, 3, sizeof payload);
	h.payload_size = sizeof payload;
	t0 = now();
	for (long i = 0; i < n; i++) {
		h.correlation_id = (uint64_t)i;
		bad += coren_env_encode(&h, payload, buf, sizeof buf, &len, NULL) != COREN_OK;
		bad += coren_env_decode(buf, len, &d, &p, NULL) != COREN_OK;
	}
	t0 = now() - t0;
	printf("{\"type\":\"bench\",\"name\":\"rk.envelope.roundtrip\",\"n\":%ld,\"payload_bytes\":64,"
	       "\"seconds\":%.4f,\"ns_per_op\":%.2f,\"failures\":%ld}\n",
	       n, t0, t0 * 1e9 / (double)n, bad);
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;

	queue(COREN_QUEUE_SPSC, 1, 50000000 * scale, "spsc");
	queue(COREN_QUEUE_MPSC, 2, 10000000 * scale, "mpsc");
	hlc(20000000 * scale);
	envelope(10000000 * scale);
	return 0;
}
