/* queue.c - SPSC and MPSC rings, tiers, health, the doorbell. */
#include "config.h"

#include <coren/queue.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define CACHE_LINE 64
#define RELAXED memory_order_relaxed
#define ACQUIRE memory_order_acquire
#define RELEASE memory_order_release

/* An MPSC slot: the sequence says whose turn it is (Vyukov's bounded
 * queue): seq == i free for index i, i + 1 written, i + cap freed again. */
struct slot {
	_Atomic size_t seq;
};

struct coren_queue {
	unsigned char *buf; /* SPSC: items; MPSC: slots + items */
	size_t cap, mask, isz, stride;
	enum coren_queue_kind kind;
	/* producers' line */
	_Alignas(CACHE_LINE) _Atomic size_t tail;
	size_t head_cache; /* SPSC producer's copy of head */
	_Atomic uint64_t full, dropped;
	/* the consumer's line */
	_Alignas(CACHE_LINE) _Atomic size_t head;
	size_t tail_cache; /* SPSC consumer's copy of tail */
	_Atomic uint64_t high_water;
	char pad[CACHE_LINE - 3 * sizeof(size_t)];
};

enum coren_err coren_queue_new(enum coren_queue_kind kind, size_t capacity,
			       size_t item_size, struct coren_queue **out,
			       struct coren_error *err)
{
	struct coren_queue *q;
	size_t stride;

	if (capacity < 2 || capacity > ((size_t)1 << 30) ||
	    (capacity & (capacity - 1)))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "queue capacity %zu is not a power of two from 2 to 2^30",
				       capacity);
	if (item_size < 1 || item_size > 65536)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "queue item size %zu is not from 1 to 65536", item_size);
	stride = kind == COREN_QUEUE_MPSC
			 ? (sizeof(struct slot) + item_size + 7) & ~(size_t)7
			 : item_size;
	if (posix_memalign((void **)&q, CACHE_LINE, sizeof *q))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	memset(q, 0, sizeof *q);
	if (posix_memalign((void **)&q->buf, CACHE_LINE, capacity * stride)) {
		free(q);
		return coren_error_set(err, COREN_ERR_NOMEM,
				       "out of memory for a queue of %zu items", capacity);
	}
	q->cap = capacity;
	q->mask = capacity - 1;
	q->isz = item_size;
	q->stride = stride;
	q->kind = kind;
	if (kind == COREN_QUEUE_MPSC)
		for (size_t i = 0; i < capacity; i++)
			atomic_init(&((struct slot *)(q->buf + i * stride))->seq, i);
	*out = q;
	return COREN_OK;
}

void coren_queue_free(struct coren_queue *q)
{
	if (!q)
		return;
	free(q->buf);
	free(q);
}

static struct slot *slot_at(const struct coren_queue *q, size_t i)
{
	return (struct slot *)(q->buf + (i & q->mask) * q->stride);
}

/* ---- SPSC ------------------------------------------------------------ */

static void spsc_copy_in(struct coren_queue *q, size_t t, const unsigned char *src,
			 size_t k)
{
	size_t at = t & q->mask, first = q->cap - at < k ? q->cap - at : k;

	memcpy(q->buf + at * q->isz, src, first * q->isz);
	if (k > first)
		memcpy(q->buf, src + first * q->isz, (k - first) * q->isz);
}

static void spsc_copy_out(struct coren_queue *q, size_t h, unsigned char *dst,
			  size_t k)
{
	size_t at = h & q->mask, first = q->cap - at < k ? q->cap - at : k;

	memcpy(dst, q->buf + at * q->isz, first * q->isz);
	if (k > first)
		memcpy(dst + first * q->isz, q->buf, (k - first) * q->isz);
}

static size_t spsc_push_n(struct coren_queue *q, const void *items, size_t n)
{
	size_t t = atomic_load_explicit(&q->tail, RELAXED);
	size_t room = q->cap - (t - q->head_cache), k;

	if (room < n) {
		q->head_cache = atomic_load_explicit(&q->head, ACQUIRE);
		room = q->cap - (t - q->head_cache);
	}
	k = room < n ? room : n;
	if (k)
		spsc_copy_in(q, t, items, k);
	atomic_store_explicit(&q->tail, t + k, RELEASE);
	return k;
}

static size_t spsc_pop_n(struct coren_queue *q, void *items, size_t max)
{
	size_t h = atomic_load_explicit(&q->head, RELAXED);
	size_t avail = q->tail_cache - h, k;

	if (avail < max) {
		q->tail_cache = atomic_load_explicit(&q->tail, ACQUIRE);
		avail = q->tail_cache - h;
		if (avail > atomic_load_explicit(&q->high_water, RELAXED))
			atomic_store_explicit(&q->high_water, avail, RELAXED);
	}
	k = avail < max ? avail : max;
	if (!k)
		return 0;
	spsc_copy_out(q, h, items, k);
	atomic_store_explicit(&q->head, h + k, RELEASE);
	return k;
}

/* ---- MPSC ------------------------------------------------------------ */

static size_t mpsc_push_n(struct coren_queue *q, const void *items, size_t n)
{
	size_t pos = atomic_load_explicit(&q->tail, RELAXED), k;
	const unsigned char *src = items;

	for (;;) {
		size_t head = atomic_load_explicit(&q->head, ACQUIRE);
		size_t room = q->cap - (pos - head);

		if (pos - head > q->cap)
			room = 0; /* pos is stale: reload */
		k = room < n ? room : n;
		if (!k) {
			size_t now = atomic_load_explicit(&q->tail, RELAXED);

			if (now == pos)
				return 0;
			pos = now;
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + k,
							  RELAXED, RELAXED))
			break;
	}
	for (size_t i = 0; i < k; i++) {
		struct slot *s = slot_at(q, pos + i);

		/* The consumer frees slots in order and publishes head after
		 * freeing, so this slot is free; wait out a lagging reader of
		 * the seq word all the same. */
		while (atomic_load_explicit(&s->seq, ACQUIRE) != pos + i)
			;
		memcpy(s + 1, src + i * q->isz, q->isz);
		atomic_store_explicit(&s->seq, pos + i + 1, RELEASE);
	}
	return k;
}

static size_t mpsc_pop_n(struct coren_queue *q, void *items, size_t max)
{
	size_t h = atomic_load_explicit(&q->head, RELAXED), k = 0;
	unsigned char *dst = items;

	while (k < max) {
		struct slot *s = slot_at(q, h + k);

		if (atomic_load_explicit(&s->seq, ACQUIRE) != h + k + 1)
			break;
		memcpy(dst + k * q->isz, s + 1, q->isz);
		atomic_store_explicit(&s->seq, h + k + q->cap, RELEASE);
		k++;
	}
	if (k) {
		size_t depth = atomic_load_explicit(&q->tail, RELAXED) - h;

		if (depth <= q->cap &&
		    depth > atomic_load_explicit(&q->high_water, RELAXED))
			atomic_store_explicit(&q->high_water, depth, RELAXED);
		atomic_store_explicit(&q->head, h + k, RELEASE);
	}
	return k;
}

/* ---- the interface ---------------------------------------------------- */

size_t coren_queue_push_n(struct coren_queue *q, const void *items, size_t n)
{
	size_t k = q->kind == COREN_QUEUE_SPSC ? spsc_push_n(q, items, n)
					       : mpsc_push_n(q, items, n);

	if (k < n)
		atomic_fetch_add_explicit(&q->full, n - k, RELAXED);
	return k;
}

int coren_queue_push(struct coren_queue *q, const void *item)
{
	return coren_queue_push_n(q, item, 1) == 1 ? 0 : -1;
}

size_t coren_queue_pop_n(struct coren_queue *q, void *items, size_t max)
{
	return q->kind == COREN_QUEUE_SPSC ? spsc_pop_n(q, items, max)
					   : mpsc_pop_n(q, items, max);
}

int coren_queue_pop(struct coren_queue *q, void *item)
{
	return coren_queue_pop_n(q, item, 1) == 1 ? 0 : -1;
}

void coren_queue_drop(struct coren_queue *q)
{
	atomic_fetch_add_explicit(&q->dropped, 1, RELAXED);
}

size_t coren_queue_depth(const struct coren_queue *q)
{
	size_t h = atomic_load_explicit(&q->head, ACQUIRE);
	size_t t = atomic_load_explicit(&q->tail, ACQUIRE);

	return t - h > q->cap ? (t > h ? q->cap : 0) : t - h;
}

size_t coren_queue_capacity(const struct coren_queue *q)
{
	return q->cap;
}

size_t coren_queue_item_size(const struct coren_queue *q)
{
	return q->isz;
}

void coren_queue_stats(const struct coren_queue *q,
		       struct coren_queue_stats *out)
{
	out->popped = atomic_load_explicit(&q->head, ACQUIRE);
	out->pushed = atomic_load_explicit(&q->tail, ACQUIRE);
	if (out->pushed < out->popped)
		out->pushed = out->popped;
	out->full = atomic_load_explicit(&q->full, RELAXED);
	out->dropped = atomic_load_explicit(&q->dropped, RELAXED);
	out->high_water = atomic_load_explicit(&q->high_water, RELAXED);
	out->depth = coren_queue_depth(q);
	out->capacity = q->cap;
}

/* ---- tiers and health ------------------------------------------------- */

enum coren_queue_tier coren_queue_tier_for(double msgs_per_s, double headroom_s)
{
	static const enum coren_queue_tier tiers[] = {
		COREN_QUEUE_SMALL, COREN_QUEUE_MEDIUM, COREN_QUEUE_LARGE};
	double need;

	if (headroom_s <= 0)
		headroom_s = COREN_QUEUE_HEADROOM_DEFAULT;
	need = msgs_per_s * headroom_s;
	for (size_t i = 0; i < sizeof tiers / sizeof *tiers; i++)
		if (need <= (double)tiers[i])
			return tiers[i];
	return COREN_QUEUE_XLARGE;
}

const char *coren_queue_tier_name(enum coren_queue_tier t)
{
	switch (t) {
	case COREN_QUEUE_SMALL:
		return "small";
	case COREN_QUEUE_MEDIUM:
		return "medium";
	case COREN_QUEUE_LARGE:
		return "large";
	case COREN_QUEUE_XLARGE:
		return "xlarge";
	}
	return "unknown";
}

enum coren_queue_health coren_queue_health_of(size_t depth, size_t capacity)
{
	double f;

	if (!capacity)
		return COREN_QUEUE_CRITICAL;
	f = (double)depth / (double)capacity;
	if (f >= COREN_QUEUE_CRITICAL_AT)
		return COREN_QUEUE_CRITICAL;
	if (f >= COREN_QUEUE_WARNING_AT)
		return COREN_QUEUE_WARNING;
	return COREN_QUEUE_HEALTHY;
}

enum coren_queue_health coren_queue_health(const struct coren_queue *q)
{
	return coren_queue_health_of(coren_queue_depth(q), q->cap);
}

const char *coren_queue_health_name(enum coren_queue_health h)
{
	static const char *const names[] = {"healthy", "warning", "critical"};

	return (unsigned)h < 3 ? names[h] : "unknown";
}

/* ---- the doorbell ------------------------------------------------------ */

void coren_doorbell_init(struct coren_doorbell *d)
{
	atomic_init(&d->seq, 0);
	atomic_init(&d->sleepers, 0);
}

uint32_t coren_doorbell_prepare(struct coren_doorbell *d)
{
	atomic_fetch_add(&d->sleepers, 1);
	return atomic_load(&d->seq);
}

void coren_doorbell_cancel(struct coren_doorbell *d)
{
	atomic_fetch_sub(&d->sleepers, 1);
}

void coren_doorbell_wait(struct coren_doorbell *d, uint32_t seq, int timeout_ms)
{
#ifdef __linux__
	struct timespec ts, *tp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	if (atomic_load(&d->seq) == seq)
		syscall(SYS_futex, &d->seq, FUTEX_WAIT_PRIVATE, seq, tp, NULL, 0);
#else
	struct timespec ts = {0, 50000};

	(void)timeout_ms;
	if (atomic_load(&d->seq) == seq)
		nanosleep(&ts, NULL);
#endif
	atomic_fetch_sub(&d->sleepers, 1);
}

void coren_doorbell_ring(struct coren_doorbell *d)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&d->sleepers, RELAXED)) {
		atomic_fetch_add(&d->seq, 1);
#ifdef __linux__
		syscall(SYS_futex, &d->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
	}
}
