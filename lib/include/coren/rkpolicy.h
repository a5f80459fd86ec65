/* coren/rkpolicy.h - the runtime's policies, each usable alone: the hybrid
 * CPU/GPU dispatcher, the resource guard and the hot-path hints
 * (DESIGN §6). None of them allocates per decision; the dispatcher and the
 * guard are safe to share between threads, the hints are not.
 */
#ifndef COREN_RKPOLICY_H
#define COREN_RKPOLICY_H

#include <coren/error.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hybrid dispatcher ------------------------------------------------ */

enum coren_dispatch_mode {
	COREN_DISPATCH_CPU_ONLY = 0,
	COREN_DISPATCH_GPU_ONLY,
	COREN_DISPATCH_HYBRID,	/* GPU when size >= threshold */
	COREN_DISPATCH_ADAPTIVE /* threshold learned from timed samples */
};

enum coren_dispatch_target { COREN_TARGET_CPU = 0, COREN_TARGET_GPU = 1 };

#define COREN_DISPATCH_THRESHOLD_DEFAULT 10000
#define COREN_DISPATCH_THRESHOLD_MIN 1000
#define COREN_DISPATCH_THRESHOLD_MAX 1000000
#define COREN_DISPATCH_MIN_SAMPLES 4 /* per target, before adapting */

struct coren_dispatch_stats {
	uint64_t cpu, gpu;		/* decisions */
	uint64_t cpu_items, gpu_items;	/* sizes summed */
	uint64_t samples[2];		/* timings recorded, per target */
	uint64_t threshold;		/* the threshold in force */
};

struct coren_dispatcher {
	pthread_mutex_t lock;
	enum coren_dispatch_mode mode;
	uint64_t threshold;
	bool gpu_present;
	/* least-squares sums per target for time = a + b * size */
	double n[2], sx[2], sy[2], sxx[2], sxy[2];
	struct coren_dispatch_stats stats;
};

/* Initialises a dispatcher (threshold 0: the default). Without a GPU every
 * decision is CPU (gpu_present false). */
void coren_dispatch_init(struct coren_dispatcher *d,
			 enum coren_dispatch_mode mode, uint64_t threshold,
			 bool gpu_present);
void coren_dispatch_release(struct coren_dispatcher *d);

/* Where a batch of size items goes. */
enum coren_dispatch_target coren_dispatch_choose(struct coren_dispatcher *d,
						 uint64_t size);

/* Counts a batch of size items that could only go to target (an actor
 * on one backend) as a decision. */
void coren_dispatch_count(struct coren_dispatcher *d,
			  enum coren_dispatch_target target, uint64_t size);

/* Records that a batch of size items took ns nanoseconds on target; in
 * adaptive mode, moves the threshold to the learned crossover, clamped to
 * [1000, 1000000], once each target has enough samples. */
void coren_dispatch_record(struct coren_dispatcher *d,
			   enum coren_dispatch_target target, uint64_t size,
			   double ns);

/* The threshold in force. */
uint64_t coren_dispatch_threshold(struct coren_dispatcher *d);

void coren_dispatch_get_stats(struct coren_dispatcher *d,
			      struct coren_dispatch_stats *out);

/* "cpu-only", "gpu-only", "hybrid", "adaptive"; parse: -1 if unknown. */
const char *coren_dispatch_mode_name(enum coren_dispatch_mode m);
int coren_dispatch_mode_parse(const char *s);

/* ---- resource guard ---------------------------------------------------- */

#define COREN_GUARD_LIMIT_FRACTION 0.8 /* of RAM, by default */
#define COREN_GUARD_MARGIN_DEFAULT 0.1

struct coren_guard {
	pthread_mutex_t lock;
	uint64_t limit;	 /* bytes; 0 = unguarded */
	double margin;	 /* fraction of limit kept free */
	uint64_t reserved, committed;
};

/* A guard of limit bytes (0: 80% of physical RAM) keeping margin free
 * (negative: 0.1). */
void coren_guard_init(struct coren_guard *g, uint64_t limit, double margin);

/* A guard that allows everything (still counts). */
void coren_guard_init_unguarded(struct coren_guard *g);
void coren_guard_release(struct coren_guard *g);

/* Bytes usable: limit * (1 - margin); UINT64_MAX when unguarded. */
uint64_t coren_guard_usable(const struct coren_guard *g);

/* Reserves bytes if reserved + committed + bytes stays within the usable
 * limit: COREN_ERR_LIMIT otherwise, with the figures in the message. */
enum coren_err coren_guard_reserve(struct coren_guard *g, uint64_t bytes,
				   struct coren_error *err);

/* Turns bytes of a reservation into committed use. */
void coren_guard_commit(struct coren_guard *g, uint64_t bytes);

/* Gives back bytes of committed use (or of a reservation never
 * committed, with committed false). */
void coren_guard_free(struct coren_guard *g, uint64_t bytes, bool committed);

/* How many elements of elem_size bytes still fit. */
uint64_t coren_guard_max_elements(struct coren_guard *g, uint64_t elem_size);

/* Whether an estimate of bytes would fit now, without reserving:
 * COREN_OK or COREN_ERR_LIMIT with the figures. */
enum coren_err coren_guard_validate(struct coren_guard *g, uint64_t bytes,
				    struct coren_error *err);

/* Physical RAM in bytes (0 if unknown). */
uint64_t coren_guard_ram(void);

/* ---- hot-path hints ------------------------------------------------------ */

#define COREN_HINTS_CAPACITY_DEFAULT 256
#define COREN_HINTS_HOT_NS_DEFAULT 100000.0 /* 100 µs */
#define COREN_HINTS_NAME_MAX 64

struct coren_hint {
	char region[COREN_HINTS_NAME_MAX];
	uint64_t count;
	double mean_ns, max_ns;
	uint64_t bytes;
	uint64_t last_use; /* recency stamp */
};

struct coren_hints {
	struct coren_hint *v;
	size_t n, capacity;
	double hot_ns;
	uint64_t clock;
	uint64_t evictions;
};

/* capacity 0: 256; hot_ns <= 0: 100 µs. COREN_ERR_NOMEM. */
enum coren_err coren_hints_init(struct coren_hints *h, size_t capacity,
				double hot_ns);
void coren_hints_release(struct coren_hints *h);

/* Records one dispatch of region taking ns and moving bytes; evicts the
 * least recently used region when full. Names are cut to 63 bytes. */
enum coren_err coren_hints_record(struct coren_hints *h, const char *region,
				  double ns, uint64_t bytes);

/* The entry of region (NULL if absent); does not change recency. */
const struct coren_hint *coren_hints_get(const struct coren_hints *h,
					 const char *region);

/* Whether region's mean time is at least the hot threshold. */
bool coren_hints_is_hot(const struct coren_hints *h, const char *region);

/* Writes one JSON line per region (hint records) to path, atomically. */
enum coren_err coren_hints_save(const struct coren_hints *h, const char *path,
				struct coren_error *err);

/* Merges the regions of a file written by coren_hints_save(); a missing
 * file is no error. Bad lines are COREN_ERR_RECORD with path:line. */
enum coren_err coren_hints_load(struct coren_hints *h, const char *path,
				struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
