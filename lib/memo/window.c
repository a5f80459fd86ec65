/* window.c - grid order over a slab: which chunk, and which point of it,
 * comes next when the chunks that share the first axis's bin are
 * interleaved into the grid's order (last axis fastest). Pure code: no
 * threads, no I/O; tests/unit/test_window.c checks it against a brute-force
 * enumeration of the grid. */
#include "config.h"

#include "memo_int.h"

#include <stdlib.h>

size_t memo_slab_chunks(const struct coren_memo_plan *p)
{
	size_t n = 1;

	for (size_t a = 1; a < coren_memo_plan_naxes(p); a++)
		n *= coren_memo_plan_nbins(p, a);
	return n;
}

enum coren_err memo_order_init(struct memo_order *o,
			       const struct coren_memo_plan *p, size_t slab)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	size_t na = coren_memo_plan_naxes(p);

	o->p = p;
	o->naxes = na;
	o->v = malloc((4 * na + 1) * sizeof *o->v);
	if (!o->v)
		return COREN_ERR_NOMEM;
	o->lo = o->v + na;
	o->hi = o->lo + na;
	o->bin = o->hi + na;
	o->more = true;
	for (size_t a = 0; a < na; a++) {
		o->bin[a] = e->axes[a].bin;
		o->lo[a] = 0;
		o->hi[a] = coren_memo_plan_nvalues(p, a);
	}
	if (na) { /* the slab is one bin of the first axis */
		o->lo[0] = slab * o->bin[0];
		if (o->hi[0] - o->lo[0] > o->bin[0])
			o->hi[0] = o->lo[0] + o->bin[0];
	}
	for (size_t a = 0; a < na; a++) {
		o->v[a] = o->lo[a];
		o->more &= o->lo[a] < o->hi[a];
	}
	return COREN_OK;
}

/* Moves v to the next point, last axis fastest; false past the last. */
static bool advance(struct memo_order *o)
{
	for (size_t a = o->naxes; a-- > 0;) {
		if (++o->v[a] < o->hi[a])
			return true;
		o->v[a] = o->lo[a];
	}
	return false;
}

/* The chunk within the slab and the local index of point v. */
static void locate(const struct memo_order *o, size_t *chunk, uint64_t *local)
{
	size_t c = 0, cmul = 1;
	uint64_t l = 0, lmul = 1;

	/* the chunk within the slab is the bins of axes 1.. in plan order;
	 * the local index is row-major over the chunk's lengths */
	for (size_t a = o->naxes; a-- > 1;) {
		size_t bin = o->bin[a], b = o->v[a] / bin;
		size_t blen = o->hi[a] - b * bin < bin ? o->hi[a] - b * bin : bin;

		c += b * cmul;
		cmul *= coren_memo_plan_nbins(o->p, a);
		l += (o->v[a] % bin) * lmul;
		lmul *= blen;
	}
	if (o->naxes)
		l += (o->v[0] - o->lo[0]) * lmul;
	*chunk = c;
	*local = l;
}

bool memo_order_next(struct memo_order *o, size_t *chunk, uint64_t *local)
{
	if (!o->more)
		return false;
	locate(o, chunk, local);
	o->more = advance(o);
	return true;
}

/* Along the last axis, the points up to the end of its bin (or of the
 * axis) are consecutive local indices of one chunk: one run. */
bool memo_order_run(struct memo_order *o, size_t *chunk, uint64_t *local,
		    uint64_t *count)
{
	size_t a = o->naxes - 1, end;

	if (!o->more)
		return false;
	locate(o, chunk, local);
	if (!o->naxes) {
		*count = 1;
		o->more = false;
		return true;
	}
	end = (o->v[a] / o->bin[a] + 1) * o->bin[a];
	if (end > o->hi[a])
		end = o->hi[a];
	*count = end - o->v[a];
	o->v[a] = end - 1; /* the run's last point: advance() moves past it */
	o->more = advance(o);
	return true;
}

void memo_order_release(struct memo_order *o)
{
	free(o->v);
	o->v = NULL;
}
