/* test_hlc - hybrid logical clocks: order, packing, tick, update, skew,
 * uniqueness under concurrency. */
#include "config.h"

#include "tap.h"

#include <coren/hlc.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static struct coren_hlc_ts ts(uint64_t p, uint64_t l, uint16_t n)
{
	struct coren_hlc_ts t = {p, l, n};

	return t;
}

static uint64_t fake_wall(void *data)
{
	return *(uint64_t *)data;
}

static void order(void)
{
	ok(coren_hlc_cmp(ts(100, 0, 1), ts(100, 1, 1)) < 0, "(100,0,1) < (100,1,1)");
	ok(coren_hlc_cmp(ts(100, 1, 1), ts(101, 0, 1)) < 0, "(100,1,1) < (101,0,1)");
	ok(coren_hlc_cmp(ts(100, 0, 1), ts(101, 0, 1)) < 0, "(100,0,1) < (101,0,1)");
	ok(coren_hlc_cmp(ts(100, 0, 1), ts(100, 0, 2)) < 0, "node breaks ties");
	ok(coren_hlc_cmp(ts(7, 7, 7), ts(7, 7, 7)) == 0, "equal");
	ok(coren_hlc_cmp(ts(101, 0, 0), ts(100, 99, 9)) > 0, "physical first");
}

static void pack(void)
{
	struct coren_hlc_ts t = ts(1795370837520505ULL, 0x123456789abcULL, 0xbeef), u;
	struct coren_hlc_packed p = coren_hlc_pack(t);

	u = coren_hlc_unpack(p);
	ok(u.physical == t.physical && u.logical == t.logical && u.node == t.node,
	   "pack round trip");
	is_u64(p.hi, t.physical, "physical in the high 64 bits");
	is_u64(p.lo, 0x123456789abcULL << 16 | 0xbeef, "logical << 16 | node");
	t.logical = (1ULL << 48) + 5;
	is_u64(coren_hlc_unpack(coren_hlc_pack(t)).logical, 5, "logical keeps 48 bits");
}

static void tick(void)
{
	struct coren_hlc c;
	uint64_t wall = 1000;
	struct coren_hlc_ts a, b;
	int increasing = 1;

	coren_hlc_init(&c, 3);
	coren_hlc_set_wall(&c, fake_wall, &wall);
	a = coren_hlc_tick(&c);
	ok(a.physical == 1000 && a.logical == 0 && a.node == 3, "first tick is (wall, 0)");
	b = coren_hlc_tick(&c);
	ok(b.physical == 1000 && b.logical == 1, "stuck wall: logical + 1");
	wall = 999; /* the wall clock steps back */
	a = coren_hlc_tick(&c);
	ok(a.physical == 1000 && a.logical == 2, "wall behind: still monotonic");
	wall = 2000;
	a = coren_hlc_tick(&c);
	ok(a.physical == 2000 && a.logical == 0, "wall ahead: (wall, 0)");
	a = coren_hlc_tick_n(&c, 5);
	b = coren_hlc_tick(&c);
	ok(a.physical == 2000 && a.logical == 1 && b.logical == 6,
	   "tick_n(5) takes logical 1 to 5, the next tick is 6");
	wall = 3000;
	a = coren_hlc_tick_n(&c, 3);
	b = coren_hlc_tick(&c);
	ok(a.physical == 3000 && a.logical == 0 && b.physical == 3000 && b.logical == 3,
	   "tick_n(3) on a new wall time: 0 to 2, then 3");
	coren_hlc_set_wall(&c, NULL, NULL);
	a = coren_hlc_tick(&c);
	for (int i = 0; i < 100000; i++) {
		b = coren_hlc_tick(&c);
		increasing &= coren_hlc_cmp(a, b) < 0;
		a = b;
	}
	ok(increasing, "100000 real-clock ticks strictly increase");
	b = coren_hlc_now(&c);
	ok(coren_hlc_cmp(a, b) <= 0, "now is not before the last tick");
}

static void update(void)
{
	struct coren_hlc c;
	struct coren_error err = {0};
	uint64_t wall = 1000;
	struct coren_hlc_ts t;

	coren_hlc_init(&c, 1);
	coren_hlc_set_wall(&c, fake_wall, &wall);
	coren_hlc_tick(&c); /* (1000, 0) */
	ok(!coren_hlc_update(&c, ts(1000, 5, 2), &t, &err) && t.physical == 1000 &&
	   t.logical == 6, "same physical: max(logical) + 1");
	ok(!coren_hlc_update(&c, ts(1500, 3, 2), &t, &err) && t.physical == 1500 &&
	   t.logical == 4, "remote ahead: its logical + 1");
	ok(!coren_hlc_update(&c, ts(900, 50, 2), &t, &err) && t.physical == 1500 &&
	   t.logical == 5, "remote behind: local logical + 1");
	wall = 3000;
	ok(!coren_hlc_update(&c, ts(2000, 9, 2), &t, &err) && t.physical == 3000 &&
	   t.logical == 0, "wall ahead of both: (wall, 0)");
	t = coren_hlc_now(&c);
	is_int(coren_hlc_update(&c, ts(3000 + 61000000ULL, 0, 2), NULL, &err),
	       COREN_ERR_CLOCK_SKEW, "more than 60 s ahead is skew");
	ok(strstr(err.msg, "ahead of the wall clock") != NULL, "skew message: %s", err.msg);
	ok(coren_hlc_cmp(coren_hlc_now(&c), t) == 0, "a rejected update changes nothing");
	ok(!coren_hlc_update(&c, ts(3000 + 59000000ULL, 0, 2), &t, NULL) &&
	   t.physical == 3000 + 59000000ULL, "59 s ahead is accepted");
	c.max_drift_us = 10;
	is_int(coren_hlc_update(&c, ts(wall + 1000000000ULL, 0, 2), NULL, NULL),
	       COREN_ERR_CLOCK_SKEW, "drift limit is settable");

	/* A logical counter at its top cannot take one more. */
	coren_hlc_init(&c, 1);
	coren_hlc_set_wall(&c, fake_wall, &wall);
	wall = 5000;
	t = coren_hlc_now(&c);
	is_int(coren_hlc_update(&c, ts(5000, UINT64_MAX, 2), NULL, &err), COREN_ERR_CLOCK_SKEW,
	       "a received logical of 2^64 - 1 is refused, not wrapped");
	ok(strstr(err.msg, "would wrap") != NULL, "message: %s", err.msg);
	ok(coren_hlc_cmp(coren_hlc_now(&c), t) == 0, "and changes nothing");
	ok(!coren_hlc_update(&c, ts(5000, UINT64_MAX - 1, 2), &t, NULL) &&
	   t.logical == UINT64_MAX, "2^64 - 2 becomes 2^64 - 1");
	is_int(coren_hlc_update(&c, ts(4000, 0, 2), NULL, NULL), COREN_ERR_CLOCK_SKEW,
	       "then the local counter cannot advance either");
}

/* now() on a fresh clock is max(stored, wall): the wall clock. */
static void now_fresh(void)
{
	struct coren_hlc c;
	uint64_t wall = 777;
	struct coren_hlc_ts t;

	coren_hlc_init(&c, 4);
	coren_hlc_set_wall(&c, fake_wall, &wall);
	t = coren_hlc_now(&c);
	ok(t.physical == 777 && t.logical == 0 && t.node == 4, "fresh clock: now is (wall, 0)");
	ok(coren_hlc_cmp(coren_hlc_tick(&c), t) >= 0, "a tick is not before it");
	wall = 700; /* the wall clock stepped back */
	t = coren_hlc_now(&c);
	ok(t.physical == 777 && t.logical == 0, "the stored time when it is ahead");
	coren_hlc_init(&c, 0);
	ok(coren_hlc_now(&c).physical > 1600000000000000ULL, "the real clock: not 0");
}

#define PER_THREAD 200000

struct run {
	struct coren_hlc *c;
	struct coren_hlc_packed *out;
};

static void *ticker(void *arg)
{
	struct run *r = arg;

	for (int i = 0; i < PER_THREAD; i++)
		r->out[i] = coren_hlc_pack(coren_hlc_tick(r->c));
	return NULL;
}

static int cmp_packed(const void *a, const void *b)
{
	const struct coren_hlc_packed *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void unique(void)
{
	struct coren_hlc c;
	struct coren_hlc_packed *all = malloc(3 * PER_THREAD * sizeof *all);
	struct run r[3];
	pthread_t th[3];
	int dup = 0;

	coren_hlc_init(&c, 9);
	for (int i = 0; i < 3; i++) {
		r[i].c = &c;
		r[i].out = all + i * PER_THREAD;
		pthread_create(&th[i], NULL, ticker, &r[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	qsort(all, 3 * PER_THREAD, sizeof *all, cmp_packed);
	for (int i = 1; i < 3 * PER_THREAD; i++)
		dup += !cmp_packed(&all[i - 1], &all[i]);
	is_int(dup, 0, "600000 ticks from 3 threads are all distinct");
	free(all);
}

static uint64_t realtime_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* The wall clock (read from the TSC where it is invariant) stays within
 * 1 ms of CLOCK_REALTIME across calibration and several renewals: each
 * reading is bracketed by two real-time readings, so a preemption can only
 * widen the bracket. */
static void wall(void)
{
	uint64_t start = realtime_us(), last = 0, n = 0, bad = 0, back = 0;

	while (realtime_us() - start < 350000) {
		uint64_t r1 = realtime_us(), w = coren_hlc_wall_us(), r2 = realtime_us();

		bad += w + 1000 < r1 || w > r2 + 1000;
		back += w + 1000 < last;
		last = w;
		n++;
	}
	ok(n > 1000, "%llu readings in 350 ms", (unsigned long long)n);
	is_int(bad, 0, "wall clock within 1 ms of CLOCK_REALTIME");
	is_int(back, 0, "wall clock never steps back by 1 ms");
}

int main(void)
{
	wall();
	order();
	pack();
	tick();
	update();
	now_fresh();
	unique();
	return done_testing();
}
