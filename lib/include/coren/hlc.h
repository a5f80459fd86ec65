/* coren/hlc.h - hybrid logical clocks (DESIGN §6).
 *
 * A timestamp is (physical µs since the epoch, logical counter, node id),
 * ordered by physical, then logical, then node. A clock hands out strictly
 * increasing timestamps (tick) and merges timestamps it receives (update),
 * refusing one whose physical time is further ahead of the wall clock than
 * the drift limit. A clock may be shared by threads: every tick is unique.
 */
#ifndef COREN_HLC_H
#define COREN_HLC_H

#include <coren/error.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
typedef std::atomic_flag coren_atomic_flag; /* C++ code may include this */
#else
#include <stdatomic.h>
typedef atomic_flag coren_atomic_flag;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_HLC_MAX_DRIFT_US_DEFAULT (60ULL * 1000000ULL) /* 60 s */
#define COREN_HLC_LOGICAL_MASK ((1ULL << 48) - 1)

struct coren_hlc_ts {
	uint64_t physical; /* µs since the Unix epoch */
	uint64_t logical;  /* 48 bits survive packing */
	uint16_t node;
};

/* A 128-bit packed timestamp: physical << 64 | logical << 16 | node. */
struct coren_hlc_packed {
	uint64_t hi; /* physical */
	uint64_t lo; /* logical (48 bits) << 16 | node */
};

/* The wall clock a clock reads, in µs since the epoch (tests inject one). */
typedef uint64_t coren_hlc_wall_fn(void *data);

struct coren_hlc {
	coren_atomic_flag lock;
	uint64_t physical, logical;
	uint16_t node;
	uint64_t max_drift_us;
	coren_hlc_wall_fn *wall;
	void *wall_data;
};

/* Initialises a clock at (0, 0, node) reading the real-time clock, with
 * the default drift limit. No allocation. */
void coren_hlc_init(struct coren_hlc *c, uint16_t node);

/* Reads the wall clock from fn(data) instead (NULL: the real-time clock). */
void coren_hlc_set_wall(struct coren_hlc *c, coren_hlc_wall_fn *fn, void *data);

/* The real-time clock in µs since the epoch. */
uint64_t coren_hlc_wall_us(void);

/* A new timestamp for a local or send event: (wall, 0) if the wall clock
 * moved past the clock's physical time, else (physical, logical + 1). */
struct coren_hlc_ts coren_hlc_tick(struct coren_hlc *c);

/* n timestamps at once (n >= 1), for a batch of events: returns the first,
 * t; the others are t with logical + 1, ..., + n - 1. All n are unique and
 * later than any timestamp the clock gave before; one lock for the lot. */
struct coren_hlc_ts coren_hlc_tick_n(struct coren_hlc *c, uint64_t n);

/* The clock's current timestamp, without advancing it: (wall, 0) when
 * the wall clock is past the stored physical time (so a fresh clock reads
 * the wall clock, not 0), else the stored one. */
struct coren_hlc_ts coren_hlc_now(struct coren_hlc *c);

/* Merges a received timestamp and sets *out (may be NULL) to the new local
 * one: physical = max(local, received, wall); logical as in the HLC paper
 * (the seed's rule). COREN_ERR_CLOCK_SKEW, with the clock unchanged, when
 * received.physical > wall + the drift limit, or when the logical counter
 * the merge needs would pass 2^64 - 1 (a received logical of 2^64 - 1 at
 * the winning physical time). */
enum coren_err coren_hlc_update(struct coren_hlc *c,
				struct coren_hlc_ts received,
				struct coren_hlc_ts *out,
				struct coren_error *err);

/* -1, 0 or 1 as a orders before, equal to or after b. */
int coren_hlc_cmp(struct coren_hlc_ts a, struct coren_hlc_ts b);

struct coren_hlc_packed coren_hlc_pack(struct coren_hlc_ts t);
struct coren_hlc_ts coren_hlc_unpack(struct coren_hlc_packed p);

#ifdef __cplusplus
}
#endif
#endif
