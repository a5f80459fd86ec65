/* montecarlo_pi - estimates pi from samples (the point's "samples" axis,
 * else params.samples, default 1000000)
 * pseudo-random points in the unit square, seeded by the point (any axes):
 * the same point always gives the same estimate. CPU-bound. */
#include <coren/exec.h>
#include <coren/json.h>

#include <stdlib.h>
#include <string.h>

static uint64_t samples_in(const json_t *obj, uint64_t n)
{
	if (json_object_get(obj, "samples"))
		coren_json_get_u64(json_object_get(obj, "samples"), &n);
	return n;
}

static uint64_t samples_of(const json_t *params)
{
	return samples_in(params, 1000000);
}

static enum coren_err mc_init(void **state, const json_t *params,
			      struct coren_error *err)
{
	uint64_t *n = malloc(sizeof *n);

	if (!n)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	*n = samples_of(params);
	if (*n == 0) {
		free(n);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "samples must be a positive integer");
	}
	*state = n;
	return COREN_OK;
}

/* splitmix64: a small, good generator. */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static enum coren_err mc_exec(void *state, const json_t *point, json_t **value,
			      struct coren_error *err)
{
	uint64_t n = samples_in(point, *(const uint64_t *)state), inside = 0;
	uint64_t seed = 1469598103934665603u;
	char *text;

	if (n == 0)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "samples must be a positive integer");
	text = json_dumps(point, JSON_SORT_KEYS | JSON_COMPACT);
	if (!text)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (const char *p = text; *p; p++) /* FNV-1a of the point */
		seed = (seed ^ (unsigned char)*p) * 1099511628211u;
	free(text);
	for (uint64_t i = 0; i < n; i++) {
		double x = (double)(next(&seed) >> 11) * 0x1.0p-53;
		double y = (double)(next(&seed) >> 11) * 0x1.0p-53;

		inside += x * x + y * y <= 1.0;
	}
	*value = json_real(4.0 * (double)inside / (double)n);
	return COREN_OK;
}

static void mc_fini(void *state)
{
	free(state);
}

static enum coren_err mc_cost(const json_t *params, const json_t *point,
			      struct coren_cost *out, struct coren_error *err)
{
	uint64_t n = samples_in(point, samples_of(params));

	(void)err;
	*out = coren_cost_new(coren_cost_mul(n, 12), 0, 4096, 24);
	return COREN_OK;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.init = mc_init,
	.exec = mc_exec,
	.fini = mc_fini,
	.cost = mc_cost,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "montecarlo_pi", "1.0",
		      "pi from params.samples random points, seeded by the point",
		      &ops)
