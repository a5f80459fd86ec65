/* fail - fails or crashes on demand, for tests. The value of a point is
 * its axis x. params: fail (x at which the point fails with an error),
 * crash (x at which the process gets SIGSEGV), sleep_ms (per point). */
#include <coren/exec.h>
#include <coren/json.h>

#include <signal.h>
#include <stdlib.h>
#include <time.h>

static enum coren_err fail_init(void **state, const json_t *params,
				struct coren_error *err)
{
	*state = json_deep_copy(params);
	return *state ? COREN_OK
		      : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

static enum coren_err fail_exec(void *state, const json_t *point,
				json_t **value, struct coren_error *err)
{
	const json_t *params = state, *x = json_object_get(point, "x");
	double ms = 0;

	if (!x)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the point has no 'x'");
	if (!coren_json_get_double(json_object_get(params, "sleep_ms"), &ms) &&
	    ms > 0)
		nanosleep(&(struct timespec){(time_t)(ms / 1000),
					     (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)},
			  NULL);
	if (json_equal(x, json_object_get(params, "crash")))
		raise(SIGSEGV);
	if (json_equal(x, json_object_get(params, "fail")))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "failing on demand at this point");
	*value = json_deep_copy(x);
	return COREN_OK;
}

static void fail_fini(void *state)
{
	json_decref(state);
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.init = fail_init,
	.exec = fail_exec,
	.fini = fail_fini,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "fail", "1.0",
		      "value x; fails at params.fail, crashes at params.crash",
		      &ops)
