/* guard.c - the resource guard: no launch past a memory limit. */
#include "config.h"

#include <coren/rkpolicy.h>
#include <string.h>
#include <unistd.h>

uint64_t coren_guard_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

void coren_guard_init(struct coren_guard *g, uint64_t limit, double margin)
{
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
	g->limit = limit ? limit
			 : (uint64_t)((double)coren_guard_ram() * COREN_GUARD_LIMIT_FRACTION);
	g->margin = margin < 0 ? COREN_GUARD_MARGIN_DEFAULT : margin;
	if (g->margin > 1)
		g->margin = 1;
}

void coren_guard_init_unguarded(struct coren_guard *g)
{
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
}

void coren_guard_release(struct coren_guard *g)
{
	pthread_mutex_destroy(&g->lock);
}

uint64_t coren_guard_usable(const struct coren_guard *g)
{
	if (!g->limit)
		return UINT64_MAX;
	return (uint64_t)((double)g->limit * (1.0 - g->margin));
}

static enum coren_err check(struct coren_guard *g, uint64_t bytes,
			    struct coren_error *err)
{
	uint64_t used = g->reserved + g->committed, usable = coren_guard_usable(g);

	if (used > usable || bytes > usable - used)
		return coren_error_set(err, COREN_ERR_LIMIT,
				       "%llu bytes do not fit: %llu of %llu usable bytes in use (limit %llu, margin %.2f)",
				       (unsigned long long)bytes, (unsigned long long)used,
				       (unsigned long long)usable,
				       (unsigned long long)g->limit, g->margin);
	return COREN_OK;
}

enum coren_err coren_guard_reserve(struct coren_guard *g, uint64_t bytes,
				   struct coren_error *err)
{
	enum coren_err rc;

	pthread_mutex_lock(&g->lock);
	rc = check(g, bytes, err);
	if (!rc)
		g->reserved += bytes;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void coren_guard_commit(struct coren_guard *g, uint64_t bytes)
{
	pthread_mutex_lock(&g->lock);
	if (bytes > g->reserved)
		bytes = g->reserved;
	g->reserved -= bytes;
	g->committed += bytes;
	pthread_mutex_unlock(&g->lock);
}

void coren_guard_free(struct coren_guard *g, uint64_t bytes, bool committed)
{
	uint64_t *from;

	pthread_mutex_lock(&g->lock);
	from = committed ? &g->committed : &g->reserved;
	*from -= bytes > *from ? *from : bytes;
	pthread_mutex_unlock(&g->lock);
}

uint64_t coren_guard_max_elements(struct coren_guard *g, uint64_t elem_size)
{
	uint64_t used, usable, n;

	if (!elem_size)
		return 0;
	pthread_mutex_lock(&g->lock);
	used = g->reserved + g->committed;
	usable = coren_guard_usable(g);
	n = used >= usable ? 0 : (usable - used) / elem_size;
	pthread_mutex_unlock(&g->lock);
	return n;
}

enum coren_err coren_guard_validate(struct coren_guard *g, uint64_t bytes,
				    struct coren_error *err)
{
	enum coren_err rc;

	pthread_mutex_lock(&g->lock);
	rc = check(g, bytes, err);
	pthread_mutex_unlock(&g->lock);
	return rc;
}
