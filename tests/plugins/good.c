/* A valid exec plugin: value = 2 * point.x. */
#include <coren/exec.h>

static enum coren_err twice(void *state, const json_t *point, json_t **value,
			    struct coren_error *err)
{
	const json_t *x = json_object_get(point, "x");

	(void)state;
	if (!json_is_integer(x))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "point has no integer 'x'");
	*value = json_integer(2 * json_integer_value(x));
	return *value ? COREN_OK : COREN_ERR_NOMEM;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.exec = twice,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "good", "1.2.3", "doubles x", &ops)
