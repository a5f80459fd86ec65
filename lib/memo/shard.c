/* shard.c - which task of N computes which chunk (swarm-run --shard). */
#include "config.h"

#include "memo_int.h"

#include <stdlib.h>

struct item {
	uint64_t weight, index;
};

/* Heaviest first; equal weights in plan order. */
static int by_weight(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->index < y->index ? -1 : x->index > y->index;
}

struct load {
	uint64_t total;
	uint32_t shard;
};

static bool lighter(const struct load *a, const struct load *b)
{
	return a->total < b->total ||
	       (a->total == b->total && a->shard < b->shard);
}

/* Restores the heap from its root down. */
static void sift_down(struct load *h, uint32_t n)
{
	for (uint32_t i = 0;;) {
		uint32_t l = 2 * i + 1, m = i;
		struct load t;

		if (l < n && lighter(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && lighter(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

enum coren_err coren_memo_shard_assign(const struct coren_memo_plan *p,
				       const struct coren_memo_exec *x,
				       uint32_t n, uint32_t **owner,
				       struct coren_error *err)
{
	uint64_t chunks = coren_memo_plan_chunks(p);
	size_t na = coren_memo_plan_naxes(p);
	struct item *items = malloc((chunks ? chunks : 1) * sizeof *items);
	struct load *heap = malloc((size_t)(n ? n : 1) * sizeof *heap);
	size_t *bins = malloc((na + 1) * sizeof *bins);
	bool costed = coren_memo_exec_has_cost(x);

	*owner = malloc((chunks ? chunks : 1) * sizeof **owner);
	if (n == 0) {
		free(items);
		free(heap);
		free(bins);
		free(*owner);
		*owner = NULL;
		return coren_error_set(err, COREN_ERR_USAGE,
				       "a shard count of 0");
	}
	if (!items || !heap || !bins || !*owner) {
		free(items);
		free(heap);
		free(bins);
		free(*owner);
		*owner = NULL;
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	for (uint64_t c = 0; c < chunks; c++) {
		struct coren_cost cost;

		coren_memo_plan_chunk_bins(p, c, bins);
		items[c].index = c;
		items[c].weight = coren_memo_plan_chunk_points(p, bins);
		if (costed && !coren_memo_exec_chunk_cost(x, p, bins, &cost))
			items[c].weight = cost.flops > cost.mem_bytes
						  ? cost.flops
						  : cost.mem_bytes;
	}
	qsort(items, chunks, sizeof *items, by_weight);
	for (uint32_t i = 0; i < n; i++)
		heap[i] = (struct load){0, i};
	/* longest processing time first: each chunk to the lightest task;
	 * the lightest stays at the root (a min-heap on load, then shard) */
	for (uint64_t k = 0; k < chunks; k++) {
		(*owner)[items[k].index] = heap[0].shard;
		heap[0].total = add_sat(heap[0].total, items[k].weight);
		sift_down(heap, n);
	}
	free(items);
	free(heap);
	free(bins);
	return COREN_OK;
}
