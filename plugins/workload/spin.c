/* spin - an example rk-bench workload (coren-plugin(3), rk-bench(1)):
 * SIZE steps of a xorshift generator per iteration, pure integer work
 * whose instruction count is exact. Copy it to benchmark your own code. */
#include <coren/bench.h>
#include <stdlib.h>

struct spin {
	uint64_t steps, x;
};

static enum coren_err setup(uint64_t size, void **state, struct coren_error *err)
{
	struct spin *s = malloc(sizeof *s);

	if (!s)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	s->steps = size ? size : 1;
	s->x = 88172645463325252ULL;
	*state = s;
	return COREN_OK;
}

static enum coren_err run(void *state, uint64_t iters, struct coren_error *err)
{
	struct spin *s = state;
	uint64_t i, x = s->x;

	(void)err;
	for (i = 0; i < iters * s->steps; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	s->x = x; /* the result is kept, so the loop is not optimised away */
	return COREN_OK;
}

static double ops(const void *state, uint64_t size)
{
	(void)state;
	return (double)(size ? size : 1);
}

static const uint64_t sizes[] = {1000, 100000, 0};

static const struct coren_workload_ops spin_ops = {
	.struct_size = sizeof spin_ops,
	.unit = "steps",
	.sizes = sizes,
	.setup = setup,
	.run = run,
	.ops = ops,
	.teardown = free,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_WORKLOAD, "spin", "1.0",
		      "SIZE xorshift steps per iteration", &spin_ops)
