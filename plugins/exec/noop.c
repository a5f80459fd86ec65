/* noop - an exec plugin that does nothing: the value of every point is
 * null. For measuring swarm-run's own overhead. */
#include <coren/exec.h>

static enum coren_err noop_exec(void *state, const json_t *point,
				json_t **value, struct coren_error *err)
{
	(void)state;
	(void)point;
	(void)err;
	*value = json_null();
	return COREN_OK;
}

static enum coren_err noop_cost(const json_t *params, const json_t *point,
				struct coren_cost *out, struct coren_error *err)
{
	(void)params;
	(void)point;
	(void)err;
	*out = coren_cost_new(1, 0, 0, 5);
	return COREN_OK;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.exec = noop_exec,
	.cost = noop_cost,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "noop", "1.0",
		      "the value of every point is null (overhead benchmarks)",
		      &ops)
