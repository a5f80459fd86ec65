/* square.c - a minimal coren exec plugin, built out of tree:
 *
 *     make            # uses pkg-config coren
 *     make install    # into $(pkg-config --variable=plugindir coren)
 *
 * At a point {"x": 3} it returns 9. Only coren_plugin_describe is
 * exported; everything else is static. */
#include <coren/exec.h>

static enum coren_err square(void *state, const json_t *point, json_t **value,
			     struct coren_error *err)
{
	const json_t *x = json_object_get(point, "x");

	(void)state;
	if (!json_is_number(x))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "point has no number 'x'");
	if (json_is_integer(x))
		*value = json_integer(json_integer_value(x) *
				      json_integer_value(x));
	else
		*value = json_real(json_real_value(x) * json_real_value(x));
	return *value ? COREN_OK : COREN_ERR_NOMEM;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.exec = square,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "square", "1.0", "x squared", &ops)
