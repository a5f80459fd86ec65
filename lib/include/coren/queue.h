/* coren/queue.h - bounded lock-free queues, queue tiers and health, and a
 * doorbell to sleep on (DESIGN §6).
 *
 * A queue holds fixed-size items in a ring of power-of-two capacity. SPSC:
 * one producer thread and one consumer thread. MPSC: any number of producer
 * threads, one consumer. The consumer's and the producers' indices live on
 * separate cache lines and each side writes only its own. Push and pop never
 * block: a full queue refuses the push (backpressure, counted in 'full'),
 * and a caller that gives the item up records it with coren_queue_drop(), so
 * that no drop is silent.
 */
#ifndef COREN_QUEUE_H
#define COREN_QUEUE_H

#include <coren/error.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
typedef std::atomic<uint32_t> coren_atomic_u32; /* C++ code may include this */
#else
#include <stdatomic.h>
typedef _Atomic uint32_t coren_atomic_u32;
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum coren_queue_kind { COREN_QUEUE_SPSC = 0, COREN_QUEUE_MPSC = 1 };

struct coren_queue;

/* A queue of capacity items (a power of two, 2 to 2^30) of item_size bytes
 * (1 to 65536). COREN_ERR_USAGE for other sizes, COREN_ERR_NOMEM. */
enum coren_err coren_queue_new(enum coren_queue_kind kind, size_t capacity,
			       size_t item_size, struct coren_queue **out,
			       struct coren_error *err);

/* Frees the queue (accepts NULL). Items still queued are dropped unseen. */
void coren_queue_free(struct coren_queue *q);

/* Producer side. push copies one item in: 0, or -1 when full. push_n copies
 * up to n consecutive items and returns how many went in (all or a prefix). */
int coren_queue_push(struct coren_queue *q, const void *item);
size_t coren_queue_push_n(struct coren_queue *q, const void *items, size_t n);

/* Consumer side. pop copies the oldest item out: 0, or -1 when empty.
 * pop_n copies up to max items and returns how many. */
int coren_queue_pop(struct coren_queue *q, void *item);
size_t coren_queue_pop_n(struct coren_queue *q, void *items, size_t max);

/* Counts an item the caller gave up on because the queue was full. */
void coren_queue_drop(struct coren_queue *q);

size_t coren_queue_depth(const struct coren_queue *q);	/* approximate */
size_t coren_queue_capacity(const struct coren_queue *q);
size_t coren_queue_item_size(const struct coren_queue *q);

struct coren_queue_stats {
	uint64_t pushed, popped; /* items */
	uint64_t full;		 /* pushes refused: queue full */
	uint64_t dropped;	 /* coren_queue_drop() calls */
	uint64_t high_water;	 /* greatest depth the consumer saw */
	size_t depth, capacity;
};

/* A snapshot of the counters (consistent enough for reports). */
void coren_queue_stats(const struct coren_queue *q,
		       struct coren_queue_stats *out);

/* Tiers: the standard capacities. */
enum coren_queue_tier {
	COREN_QUEUE_SMALL = 256,
	COREN_QUEUE_MEDIUM = 1024,
	COREN_QUEUE_LARGE = 4096,
	COREN_QUEUE_XLARGE = 16384
};

#define COREN_QUEUE_HEADROOM_DEFAULT 0.1 /* seconds */

/* The smallest tier that holds msgs_per_s * headroom_s items (headroom
 * <= 0: 100 ms); COREN_QUEUE_XLARGE when none does. */
enum coren_queue_tier coren_queue_tier_for(double msgs_per_s,
					   double headroom_s);

/* "small", "medium", "large", "xlarge". */
const char *coren_queue_tier_name(enum coren_queue_tier t);

enum coren_queue_health {
	COREN_QUEUE_HEALTHY = 0,
	COREN_QUEUE_WARNING = 1,  /* depth/capacity >= 0.75 */
	COREN_QUEUE_CRITICAL = 2  /* depth/capacity >= 0.90 */
};

#define COREN_QUEUE_WARNING_AT 0.75
#define COREN_QUEUE_CRITICAL_AT 0.90

/* The health of a queue holding depth of capacity items. */
enum coren_queue_health coren_queue_health_of(size_t depth, size_t capacity);
enum coren_queue_health coren_queue_health(const struct coren_queue *q);

/* "healthy", "warning", "critical". */
const char *coren_queue_health_name(enum coren_queue_health h);

/* A doorbell: a consumer with nothing to do sleeps on it (a futex on
 * Linux) and producers ring it after pushing. Ringing costs one fence and
 * one load when nobody sleeps. */
struct coren_doorbell {
	coren_atomic_u32 seq;
	coren_atomic_u32 sleepers;
};

void coren_doorbell_init(struct coren_doorbell *d);

/* Announces a sleeper and returns the value to pass to
 * coren_doorbell_wait(). Then check for work once more: if there is some,
 * call coren_doorbell_cancel(), else coren_doorbell_wait(); no wake-up is
 * lost in between. */
uint32_t coren_doorbell_prepare(struct coren_doorbell *d);
void coren_doorbell_cancel(struct coren_doorbell *d);

/* Sleeps until rung after prepare returned seq, or timeout_ms passed
 * (negative: no timeout). Spurious returns are possible. */
void coren_doorbell_wait(struct coren_doorbell *d, uint32_t seq,
			 int timeout_ms);

/* Wakes every sleeper. */
void coren_doorbell_ring(struct coren_doorbell *d);

#ifdef __cplusplus
}
#endif
#endif
