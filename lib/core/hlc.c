/* hlc.c - hybrid logical clocks. */
#include "config.h"

#include <coren/hlc.h>
#include <time.h>

static uint64_t system_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/*
 * The wall clock from the time-stamp counter. clock_gettime costs about
 * 25 ns under a hypervisor's clock source, rdtsc about 10, and an HLC tick
 * reads the wall clock every time. Where the CPU reports an invariant TSC,
 * the wall clock is an anchor (tsc, ns) read from CLOCK_REALTIME plus the
 * ticks since, scaled by a rate measured between two anchors. The anchor is
 * renewed every TSC_RENEW_NS (sooner while the clock is young), so the extrapolation never runs far from
 * CLOCK_REALTIME (an NTP slew of 500 ppm moves it 50 µs at most), and the
 * HLC's logical counter absorbs the step back a renewal can make.
 * Readers take the anchor under a sequence lock; whoever finds it stale
 * renews it, one thread at a time.
 */
#include <cpuid.h>
#include <x86intrin.h>

#define TSC_CALIBRATE_NS 10000000u /* first rate after 10 ms */
#define TSC_RENEW_NS 100000000u	   /* then a new anchor every 100 ms */
#define TSC_BRACKET 4000u	   /* ticks: about 1 µs */

static struct {
	_Atomic uint32_t seq;	/* odd while being renewed */
	_Atomic uint64_t tsc;	/* the anchor */
	_Atomic uint64_t ns;
	_Atomic uint64_t mult;	/* ns per tick << 32; 0 until calibrated */
	_Atomic uint64_t renew; /* ticks after the anchor to renew at */
	int usable;		/* the CPU reports an invariant TSC */
} tsc_clock;

__attribute__((constructor)) static void tsc_probe(void)
{
	unsigned a, b, c, d;

	tsc_clock.usable = __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8));
}

/* Reads CLOCK_REALTIME and, unless another thread is at it, makes it the
 * new anchor, updating the rate. Returns the time read. */
static uint64_t tsc_renew(void)
{
	uint32_t s = atomic_load_explicit(&tsc_clock.seq, memory_order_relaxed);
	uint64_t at, ans, mult, dns, dt, t0, t1, ns, t;

	/* The anchor's TSC is the middle of a tight bracket around the
	 * CLOCK_REALTIME read: a preemption in between would misplace it. */
	for (int i = 0;; i++) {
		t0 = __rdtsc();
		ns = system_wall_ns();
		t1 = __rdtsc();
		if (t1 - t0 < TSC_BRACKET || i == 3)
			break;
	}
	t = t0 + (t1 - t0) / 2;

	if (s & 1 || !atomic_compare_exchange_strong_explicit(&tsc_clock.seq, &s, s + 1,
							      memory_order_acquire,
							      memory_order_relaxed))
		return ns;
	at = atomic_load_explicit(&tsc_clock.tsc, memory_order_relaxed);
	ans = atomic_load_explicit(&tsc_clock.ns, memory_order_relaxed);
	mult = atomic_load_explicit(&tsc_clock.mult, memory_order_relaxed);
	dns = ns - ans;
	dt = t - at;
	if (at && ns > ans && t > at && dns >= TSC_CALIBRATE_NS && dns < 60000000000u) {
		mult = (uint64_t)(((unsigned __int128)dns << 32) / dt);
	} else if (at && ns >= ans && t >= at && dns < TSC_CALIBRATE_NS) {
		/* Too soon for a rate: keep the first anchor. */
		atomic_store_explicit(&tsc_clock.seq, s + 2, memory_order_release);
		return ns;
	} else {
		mult = 0; /* first call, or a clock went back: start over */
	}
	atomic_store_explicit(&tsc_clock.tsc, t, memory_order_relaxed);
	atomic_store_explicit(&tsc_clock.ns, ns, memory_order_relaxed);
	atomic_store_explicit(&tsc_clock.mult, mult, memory_order_relaxed);
	/* A rate measured over a short window is less sure: the next window
	 * is at most twice as long, so the first ones are 20, 40, 80 ms. */
	dns = mult && 2 * dns < TSC_RENEW_NS ? 2 * dns : TSC_RENEW_NS;
	atomic_store_explicit(&tsc_clock.renew,
			      mult ? (uint64_t)(((unsigned __int128)dns << 32) / mult) : 0,
			      memory_order_relaxed);
	atomic_store_explicit(&tsc_clock.seq, s + 2, memory_order_release);
	return ns;
}

static uint64_t wall_ns(void)
{
	uint32_t s;
	uint64_t at, ans, mult, renew, dt;

	if (!tsc_clock.usable)
		return system_wall_ns();
	s = atomic_load_explicit(&tsc_clock.seq, memory_order_acquire);
	at = atomic_load_explicit(&tsc_clock.tsc, memory_order_relaxed);
	ans = atomic_load_explicit(&tsc_clock.ns, memory_order_relaxed);
	mult = atomic_load_explicit(&tsc_clock.mult, memory_order_relaxed);
	renew = atomic_load_explicit(&tsc_clock.renew, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (s & 1 || atomic_load_explicit(&tsc_clock.seq, memory_order_relaxed) != s || !mult)
		return tsc_renew();
	dt = __rdtsc() - at;
	if (dt >= renew) /* stale, or a TSC read before the anchor */
		return tsc_renew();
	return ans + (uint64_t)(((unsigned __int128)dt * mult) >> 32);
}
#else
static uint64_t wall_ns(void)
{
	return system_wall_ns();
}
#endif

uint64_t coren_hlc_wall_us(void)
{
	return wall_ns() / 1000u;
}

static uint64_t real_wall(void *data)
{
	(void)data;
	return coren_hlc_wall_us();
}

void coren_hlc_init(struct coren_hlc *c, uint16_t node)
{
	atomic_flag_clear(&c->lock);
	c->physical = 0;
	c->logical = 0;
	c->node = node;
	c->max_drift_us = COREN_HLC_MAX_DRIFT_US_DEFAULT;
	c->wall = real_wall;
	c->wall_data = NULL;
}

void coren_hlc_set_wall(struct coren_hlc *c, coren_hlc_wall_fn *fn, void *data)
{
	c->wall = fn ? fn : real_wall;
	c->wall_data = data;
}

static void lock(struct coren_hlc *c)
{
	while (atomic_flag_test_and_set_explicit(&c->lock, memory_order_acquire))
		;
}

static void unlock(struct coren_hlc *c)
{
	atomic_flag_clear_explicit(&c->lock, memory_order_release);
}

static struct coren_hlc_ts current(const struct coren_hlc *c)
{
	struct coren_hlc_ts t = {c->physical, c->logical, c->node};

	return t;
}

struct coren_hlc_ts coren_hlc_tick_n(struct coren_hlc *c, uint64_t n)
{
	uint64_t wall = c->wall(c->wall_data);
	struct coren_hlc_ts t;

	lock(c);
	if (wall > c->physical) {
		c->physical = wall;
		c->logical = 0;
	} else {
		c->logical++;
	}
	t = current(c);
	c->logical += n - 1;
	unlock(c);
	return t;
}

struct coren_hlc_ts coren_hlc_tick(struct coren_hlc *c)
{
	return coren_hlc_tick_n(c, 1);
}

struct coren_hlc_ts coren_hlc_now(struct coren_hlc *c)
{
	uint64_t wall = c->wall(c->wall_data);
	struct coren_hlc_ts t;

	lock(c);
	t = current(c);
	unlock(c);
	if (wall > t.physical) { /* what a tick would give, not stored */
		t.physical = wall;
		t.logical = 0;
	}
	return t;
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

enum coren_err coren_hlc_update(struct coren_hlc *c,
				struct coren_hlc_ts recv,
				struct coren_hlc_ts *out,
				struct coren_error *err)
{
	uint64_t wall = c->wall(c->wall_data);
	uint64_t p;

	if (recv.physical > wall && recv.physical - wall > c->max_drift_us)
		return coren_error_set(err, COREN_ERR_CLOCK_SKEW,
				       "timestamp %llu is %llu us ahead of the wall clock (limit %llu us)",
				       (unsigned long long)recv.physical,
				       (unsigned long long)(recv.physical - wall),
				       (unsigned long long)c->max_drift_us);
	lock(c);
	p = max3(c->physical, recv.physical, wall);
	/* The logical counter would wrap to 0 and order the merge before
	 * what it follows: refused, the clock unchanged. */
	if ((p == recv.physical && recv.logical == UINT64_MAX) ||
	    (p == c->physical && c->logical == UINT64_MAX)) {
		unlock(c);
		return coren_error_set(err, COREN_ERR_CLOCK_SKEW,
				       "logical counter %llu at %llu cannot advance: it would wrap",
				       (unsigned long long)(p == recv.physical ? recv.logical
									    : c->logical),
				       (unsigned long long)p);
	}
	if (p == c->physical && p == recv.physical)
		c->logical = (c->logical > recv.logical ? c->logical : recv.logical) + 1;
	else if (p == c->physical)
		c->logical++;
	else if (p == recv.physical)
		c->logical = recv.logical + 1;
	else
		c->logical = 0;
	c->physical = p;
	if (out)
		*out = current(c);
	unlock(c);
	return COREN_OK;
}

int coren_hlc_cmp(struct coren_hlc_ts a, struct coren_hlc_ts b)
{
	if (a.physical != b.physical)
		return a.physical < b.physical ? -1 : 1;
	if (a.logical != b.logical)
		return a.logical < b.logical ? -1 : 1;
	if (a.node != b.node)
		return a.node < b.node ? -1 : 1;
	return 0;
}

struct coren_hlc_packed coren_hlc_pack(struct coren_hlc_ts t)
{
	struct coren_hlc_packed p;

	p.hi = t.physical;
	p.lo = (t.logical & COREN_HLC_LOGICAL_MASK) << 16 | t.node;
	return p;
}

struct coren_hlc_ts coren_hlc_unpack(struct coren_hlc_packed p)
{
	struct coren_hlc_ts t;

	t.physical = p.hi;
	t.logical = p.lo >> 16;
	t.node = (uint16_t)(p.lo & 0xffff);
	return t;
}
