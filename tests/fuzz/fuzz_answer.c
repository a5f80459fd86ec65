/* libFuzzer harness: the answers of a --coproc co-process, the one input
 * swarm-run takes from a program it did not write (exec.c: coproc_lines()
 * and the fast paths answer_flat() and answer_results_flat() before the
 * full parser).
 *
 * The input is a header line "N BASE PIECE SKIP" (missing or bad fields
 * take 1, 1, 0, 0), then the co-process's output. A batch of N points
 * (1..64) of the grid x=0..63, batch index i being {"x":i}, whose points
 * i with i % SKIP == SKIP - 1 were answered in an earlier round (SKIP >=
 * 2), is sent with seqs BASE, BASE + 1, ... (the points not done, in
 * batch order); the output arrives in reads of PIECE bytes (0: one read).
 *
 * After every read: the points not done are counted by left; a point is
 * done exactly when it has one outcome, a value (JSON coren's parser
 * takes, inside the values buffer) or a reason, and an outcome once given
 * never changes (no point answered twice, no byte overwritten); a round
 * ended by a protocol error says why. Then the same input again through
 * the full parser alone: the fast paths must give every point the same
 * outcome, byte for byte, and end the round the same way. */
#include "config.h"

#include "../../lib/memo/memo_int.h"

#include <coren/json.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct coren_memo_exp exp_;
static struct coren_memo_plan *plan;
static size_t vidx[NMAX];

static void setup(void)
{
	struct coren_error err = {0};

	coren_memo_exp_init(&exp_);
	exp_.fn_id = strdup("fuzz");
	if (coren_memo_exp_split(&exp_, "x=0..63", &err) ||
	    coren_memo_exp_memo_chunk(&exp_, "x=64", &err) ||
	    coren_memo_exp_finish(&exp_, &err) ||
	    coren_memo_exp_identify(&exp_, NULL, &err) ||
	    coren_memo_plan_new(&exp_, &plan, &err)) {
		fprintf(stderr, "fuzz_answer: set-up failed: %s\n", err.msg);
		abort();
	}
	for (size_t i = 0; i < NMAX; i++)
		vidx[i] = i;
}

/* One run of the round, and what the checks remember between reads. */
struct trial {
	struct exec_batch b;
	bool done[NMAX];
	char *seen[NMAX]; /* a done point's outcome: 'v' or 'e', then text */
	size_t left;
	bool ended;    /* by a protocol error: */
	char why[240]; /* its reason */
	bool ok;
};

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_answer: %s (point %zu)\n", what, i);
	abort();
}

/* Point i's outcome as one string: "v" and its value's bytes, "e" and its
 * reason, or NULL when it has none; aborts when it has both. */
static char *outcome(const struct exec_batch *b, size_t i)
{
	bool has_value = b->voff[i] != SIZE_MAX;
	char *s;

	if (has_value && b->errs[i])
		fail("a value and a reason", i);
	if (b->errs[i]) {
		if (asprintf(&s, "e%s", b->errs[i]) < 0)
			abort();
		return s;
	}
	if (!has_value)
		return NULL;
	if (b->voff[i] > b->vals.len || b->vlen[i] > b->vals.len - b->voff[i])
		fail("a value outside the values buffer", i);
	if (asprintf(&s, "v%.*s", (int)b->vlen[i], b->vals.data + b->voff[i]) <
	    0)
		abort();
	return s;
}

static void check(void *arg, size_t left, const char *why)
{
	struct trial *t = arg;
	size_t not_done = 0;

	if (left > t->left)
		fail("left grew", left);
	t->left = left;
	if (why && !*why)
		fail("a protocol error without a reason", 0);
	if (why) {
		t->ended = true;
		snprintf(t->why, sizeof t->why, "%s", why);
	}
	for (size_t i = 0; i < t->b.n; i++) {
		char *o = outcome(&t->b, i);

		not_done += !t->done[i];
		if (!t->done[i] && o)
			fail("an outcome for a point not done", i);
		if (t->done[i] && !o)
			fail("a point done without an outcome", i);
		if (t->seen[i] && (!o || strcmp(o, t->seen[i])))
			fail("an outcome changed", i);
		if (o && o[0] == 'v' && !t->seen[i]) {
			json_t *v =
			    coren_json_parse_value(o + 1, strlen(o + 1), NULL);

			if (!v)
				fail("a value the parser refuses", i);
			json_decref(v);
		}
		if (!t->seen[i])
			t->seen[i] = o;
		else
			free(o);
	}
	if (not_done != left)
		fail("left is not the points not done", left);
}

static void trial_run(struct trial *t, size_t n, uint64_t base, size_t skip,
		      bool full, const char *out, size_t len, size_t piece)
{
	memset(t, 0, sizeof *t);
	t->b.plan = plan;
	t->b.n = n;
	t->b.vidx = vidx;
	coren_buf_init(&t->b.vals, 0);
	t->b.voff = malloc(n * sizeof *t->b.voff);
	t->b.vlen = calloc(n, sizeof *t->b.vlen);
	t->b.errs = calloc(n, sizeof *t->b.errs);
	if (!t->b.voff || !t->b.vlen || !t->b.errs)
		abort();
	t->left = n;
	for (size_t i = 0; i < n; i++) {
		t->b.voff[i] = SIZE_MAX;
		if (skip >= 2 && i % skip == skip - 1) {
			t->done[i] = true;
			t->left--;
			batch_fail(&t->b, i, "answered in an earlier round");
		}
	}
	check(t, t->left, NULL);
	t->ok = memo_coproc_answers_check(&t->b, t->done, base, full, out, len,
					  piece, check, t);
	if (t->ok == t->ended)
		fail("the round's end and its reason disagree", 0);
}

static void trial_release(struct trial *t)
{
	for (size_t i = 0; i < t->b.n; i++) {
		free(t->seen[i]);
		free(t->b.errs[i]);
	}
	coren_buf_release(&t->b.vals);
	free(t->b.voff);
	free(t->b.vlen);
	free(t->b.errs);
}

/* The fast paths and the full parser gave the same outcomes. */
static void same(const struct trial *a, const struct trial *b)
{
	if (a->ok != b->ok || a->left != b->left || strcmp(a->why, b->why))
		fail("fast and full paths end the round differently", a->left);
	for (size_t i = 0; i < a->b.n; i++)
		if (a->done[i] != b->done[i] ||
		    (a->seen[i] && strcmp(a->seen[i], b->seen[i]))) {
			fprintf(stderr, "fast: %s\nfull: %s\n",
				a->seen[i] ? a->seen[i] : "(none)",
				b->seen[i] ? b->seen[i] : "(none)");
			fail("fast and full paths disagree", i);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - (const char *)data) : size;
	size_t n = 1, piece = 0, skip = 0;
	uint64_t base = 1;
	char head[64];
	struct trial fast, full;

	if (!plan)
		setup();
	snprintf(head, sizeof head, "%.*s", (int)(hlen < 63 ? hlen : 63),
		 (const char *)data);
	sscanf(head, "%zu %" SCNu64 " %zu %zu", &n, &base, &piece, &skip);
	if (n < 1 || n > NMAX)
		n = 1 + n % NMAX;
	if (base > UINT64_MAX - (n - 1)) /* seqs never wrap */
		base = UINT64_MAX - (n - 1);
	data += nl ? hlen + 1 : size;
	size -= nl ? hlen + 1 : size;
	trial_run(&fast, n, base, skip, false, (const char *)data, size, piece);
	trial_run(&full, n, base, skip, true, (const char *)data, size, piece);
	same(&fast, &full);
	trial_release(&fast);
	trial_release(&full);
	return 0;
}
