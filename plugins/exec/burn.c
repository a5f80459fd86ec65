/* burn - does exactly the work its cost says: "flops" floating-point
 * operations (a chain of multiply-adds) and a "bytes"-long result (a
 * pseudo-random string seeded by the point). Both come from the point,
 * else the params (defaults 1000000 and 16). For trying out verdicts,
 * remote tiers and shards: cheap and expensive chunks, small and large
 * results, on demand. */
#include <coren/exec.h>
#include <coren/json.h>

#include <stdlib.h>
#include <string.h>

#define BYTES_MAX ((uint64_t)1 << 26)

static uint64_t get(const json_t *params, const json_t *point, const char *k,
		    uint64_t dflt)
{
	uint64_t n = dflt;

	if (json_object_get(params, k))
		coren_json_get_u64(json_object_get(params, k), &n);
	if (json_object_get(point, k))
		coren_json_get_u64(json_object_get(point, k), &n);
	return n;
}

static enum coren_err burn_init(void **state, const json_t *params,
				struct coren_error *err)
{
	(void)err;
	*state = json_deep_copy(params);
	return COREN_OK;
}

static enum coren_err burn_exec(void *state, const json_t *point,
				json_t **value, struct coren_error *err)
{
	uint64_t flops = get(state, point, "flops", 1000000);
	uint64_t bytes = get(state, point, "bytes", 16);
	uint64_t seed = 1469598103934665603u;
	volatile double sink;
	double x = 1.0;
	char *text, *s;

	if (bytes > BYTES_MAX)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "bytes: at most %llu",
				       (unsigned long long)BYTES_MAX);
	for (uint64_t i = 0; i < flops / 2; i++) { /* a multiply, an add */
		x = x * 0.999999999 + 1e-9;
		__asm__ volatile("" : "+x"(x)); /* kept, never folded */
	}
	sink = x;
	(void)sink;
	text = json_dumps(point, JSON_SORT_KEYS | JSON_COMPACT);
	if (!text || !(s = malloc(bytes + 1))) {
		free(text);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	for (const char *p = text; *p; p++) /* FNV-1a of the point */
		seed = (seed ^ (unsigned char)*p) * 1099511628211u;
	free(text);
	for (uint64_t i = 0; i < bytes; i++) { /* xorshift, base-64 letters */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		s[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		       "0123456789+/"[seed & 63];
	}
	s[bytes] = '\0';
	*value = json_stringn(s, bytes);
	free(s);
	return *value ? COREN_OK
		      : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

static void burn_fini(void *state)
{
	json_decref(state);
}

static enum coren_err burn_cost(const json_t *params, const json_t *point,
				struct coren_cost *out, struct coren_error *err)
{
	uint64_t bytes = get(params, point, "bytes", 16);

	(void)err;
	/* the result as a JSON string: its bytes plus the quotes */
	*out = coren_cost_new(get(params, point, "flops", 1000000), 0, 4096,
			      bytes + 2);
	return COREN_OK;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.init = burn_init,
	.exec = burn_exec,
	.fini = burn_fini,
	.cost = burn_cost,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "burn", "1.0",
		      "does the work its cost says: flops, and a result of bytes",
		      &ops)
