/* hlc.c - hybrid logical clocks. */
#include "config.h"

#include <coren/hlc.h>
#include <time.h>

uint64_t coren_hlc_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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

struct coren_hlc_ts coren_hlc_tick(struct coren_hlc *c)
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
	unlock(c);
	return t;
}

struct coren_hlc_ts coren_hlc_now(struct coren_hlc *c)
{
	struct coren_hlc_ts t;

	lock(c);
	t = current(c);
	unlock(c);
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
