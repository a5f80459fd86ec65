/* test_window - the grid-order window (window.c) against a brute-force
 * order: every point of the grid enumerated in grid order (last axis
 * fastest), its chunk and its local index worked out from first
 * principles; and the record lines (lines.c) read back by their check. */
#include "config.h"

#include "tap.h"

#include "../../lib/memo/memo_int.h"

#include <stdlib.h>
#include <string.h>

#define AXES_MAX 3

/* An experiment with naxes axes a, b, c of len[i] values, bins bin[i]. */
static struct coren_memo_plan *plan_of(struct coren_memo_exp *e, size_t naxes,
				       const size_t *len, const size_t *bin)
{
	struct coren_memo_plan *p = NULL;
	struct coren_error err = {0};
	char spec[64];

	coren_memo_exp_init(e);
	for (size_t a = 0; a < naxes; a++) {
		snprintf(spec, sizeof spec, "%c=0..%zu", (char)('a' + a),
			 len[a] - 1);
		coren_memo_exp_split(e, spec, &err);
		snprintf(spec, sizeof spec, "%c=%zu", (char)('a' + a), bin[a]);
		coren_memo_exp_memo_chunk(e, spec, &err);
	}
	if (coren_memo_exp_finish(e, &err) || coren_memo_plan_new(e, &p, &err)) {
		printf("Bail out! set-up failed: %s\n", err.msg);
		exit(99);
	}
	return p;
}

/* The brute-force chunk (plan order) and local index of point v. */
static void locate(size_t naxes, const size_t *len, const size_t *bin,
		   const size_t *v, uint64_t *chunk, uint64_t *local)
{
	uint64_t c = 0, l = 0;

	for (size_t a = 0; a < naxes; a++) {
		size_t nbins = (len[a] + bin[a] - 1) / bin[a], b = v[a] / bin[a];
		size_t blen = len[a] - b * bin[a] < bin[a] ? len[a] - b * bin[a]
							   : bin[a];

		c = c * nbins + b;
		l = l * blen + (v[a] - b * bin[a]);
	}
	*chunk = c;
	*local = l;
}

static bool slab_start(size_t naxes, const size_t *bin, const size_t *v)
{
	for (size_t a = 1; a < naxes; a++)
		if (v[a])
			return false;
	return !naxes || v[0] % bin[0] == 0;
}

/* Whether the window's order over every slab is the brute-force order. */
static bool same_order(size_t naxes, const size_t *len, const size_t *bin)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, naxes, len, bin);
	size_t v[AXES_MAX] = {0}, slab = memo_slab_chunks(p), c = 0;
	size_t vidx[AXES_MAX + 1], bins[AXES_MAX + 1];
	uint64_t points = coren_memo_plan_points(p), seen = 0, local, wc, wl;
	struct memo_order o = {0};
	bool same = true;

	for (uint64_t i = 0; same && i < points; i++, seen++) {
		locate(naxes, len, bin, v, &wc, &wl);
		/* a new slab begins with each bin of the first axis, the
		 * previous one being over */
		if (slab_start(naxes, bin, v)) {
			same = i == 0 || !memo_order_next(&o, &c, &local);
			memo_order_release(&o);
			same = same && !memo_order_init(&o, p, wc / slab);
		}
		same = same && memo_order_next(&o, &c, &local) &&
		       c == wc % slab && local == wl;
		/* and coren_memo_plan_point() agrees on the local index */
		coren_memo_plan_chunk_bins(p, wc, bins);
		coren_memo_plan_point(p, bins, wl, vidx);
		for (size_t a = 0; a < naxes; a++)
			same = same && vidx[a] == v[a];
		for (size_t a = naxes; a-- > 0;) /* last axis fastest */
			if (++v[a] < len[a])
				break;
			else
				v[a] = 0;
	}
	same = same && !memo_order_next(&o, &c, &local) && seen == points;
	memo_order_release(&o);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	return same;
}

/* Whether, over every slab, the runs are the points one by one, and each
 * chunk's points come in increasing local index with none skipped (what
 * spill.c's read cursors rely on). */
static bool same_runs(size_t naxes, const size_t *len, const size_t *bin)
{
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, naxes, len, bin);
	size_t slab = memo_slab_chunks(p), c, rc;
	uint64_t nslabs = coren_memo_plan_chunks(p) / slab, local, rl, n;
	uint64_t *next = calloc(slab, sizeof *next);
	bool same = next != NULL;

	for (uint64_t s = 0; same && s < nslabs; s++) {
		struct memo_order one = {0}, runs = {0};

		same = !memo_order_init(&one, p, s) &&
		       !memo_order_init(&runs, p, s);
		memset(next, 0, slab * sizeof *next);
		while (same && memo_order_run(&runs, &rc, &rl, &n)) {
			same = n > 0 && rc < slab && rl == next[rc];
			next[rc] += n;
			for (uint64_t i = 0; same && i < n; i++)
				same = memo_order_next(&one, &c, &local) &&
				       c == rc && local == rl + i;
		}
		same = same && !memo_order_next(&one, &c, &local);
		for (size_t k = 0; same && k < slab; k++) {
			size_t bins[AXES_MAX + 1];

			coren_memo_plan_chunk_bins(p, s * slab + k, bins);
			same = next[k] == coren_memo_plan_chunk_points(p, bins);
		}
		memo_order_release(&one);
		memo_order_release(&runs);
	}
	free(next);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	return same;
}

/* memo_result_line() writes what memo_check_lines() accepts, for every
 * point of a chunk; a line naming another point, one line too many or too
 * few, or a line cut short, is refused. */
static void lines(void)
{
	static const size_t len[2] = {3, 5}, bin[2] = {2, 3};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, 2, len, bin);
	struct memo_line_check c;
	struct coren_error err = {0};
	struct coren_buf b, other;
	size_t bins[2] = {1, 0}, vidx[2], off[4];
	uint64_t n = coren_memo_plan_chunk_points(p, bins);

	coren_buf_init(&b, 0);
	coren_buf_init(&other, 0);
	is_int(memo_line_check_init(&c, p), COREN_OK, "a line check");
	is_u64(n, 3, "chunk (1,0): 1 x 3 points");
	for (uint64_t i = 0; i < n; i++) {
		coren_memo_plan_point(p, bins, i, vidx);
		memo_result_line(p, vidx, "[1,{\"v\":2}]", 11, &b);
	}
	is_int(memo_check_lines(&c, bins, NULL, b.data, b.len, n, off, true,
				&err),
	       COREN_OK, "the writer's lines pass the check");
	ok(off[0] == 0 && off[3] == b.len, "with their offsets");
	is_int(memo_check_lines(&c, bins, NULL, b.data, b.len, n - 1, NULL,
				false, &err),
	       COREN_ERR_CORRUPT, "a line too many is refused");
	is_int(memo_check_lines(&c, bins, NULL, b.data, b.len - 1, n, NULL,
				false, &err),
	       COREN_ERR_CORRUPT, "a line cut short is refused");
	vidx[0] = 0;
	memo_result_line(p, vidx, "1", 1, &other);
	memcpy(b.data + off[2], other.data, other.len);
	b.len = off[2] + other.len;
	is_int(memo_check_lines(&c, bins, NULL, b.data, b.len, n, NULL, false,
				&err),
	       COREN_ERR_CORRUPT, "a line naming another point is refused");
	is_str(err.msg, "line 3 is not the result of its point", "named");
	memo_line_check_release(&c);
	coren_buf_release(&b);
	coren_buf_release(&other);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

int main(void)
{
	static const struct {
		size_t naxes, len[AXES_MAX], bin[AXES_MAX];
		const char *what;
	} shapes[] = {
		{0, {0}, {0}, "no axes"},
		{1, {10}, {5}, "1 axis, bins that divide"},
		{1, {10}, {3}, "1 axis, bins that don't"},
		{1, {1}, {1}, "1 axis of 1 value"},
		{1, {4}, {9}, "1 axis, a bin larger than it"},
		{2, {6, 4}, {3, 2}, "2 axes, bins that divide"},
		{2, {7, 5}, {3, 2}, "2 axes, bins that don't"},
		{2, {5, 7}, {2, 10}, "2 axes, a bin larger than the last"},
		{2, {1, 7}, {1, 3}, "2 axes, the first of 1 value"},
		{2, {7, 1}, {2, 1}, "2 axes, the last of 1 value"},
		{2, {5, 3}, {9, 1}, "2 axes, a bin larger than the first"},
		{3, {4, 5, 6}, {2, 2, 4}, "3 axes, mixed"},
		{3, {3, 1, 7}, {2, 1, 3}, "3 axes, a middle axis of 1 value"},
		{3, {5, 4, 3}, {1, 3, 2}, "3 axes, bins of 1 on the first"},
		{3, {2, 9, 2}, {5, 4, 5}, "3 axes, bins larger than two axes"},
	};

	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
		ok(same_order(shapes[i].naxes, shapes[i].len, shapes[i].bin),
		   "grid order: %s", shapes[i].what);
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
		ok(same_runs(shapes[i].naxes, shapes[i].len, shapes[i].bin),
		   "runs, each chunk read front to back: %s", shapes[i].what);
	lines();
	return done_testing();
}
