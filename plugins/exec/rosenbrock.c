/* rosenbrock - the Rosenbrock function f(x, y) = (a - x)^2 + b (y - x^2)^2
 * at the point's axes x and y; params a (default 1) and b (default 100).
 * Its minimum is 0 at (a, a^2). */
#include <coren/exec.h>
#include <coren/json.h>

#include <stdlib.h>

struct rb {
	double a, b;
};

static enum coren_err number(const json_t *o, const char *k, double dflt,
			     double *out, struct coren_error *err)
{
	const json_t *v = json_object_get(o, k);

	if (!v) {
		*out = dflt;
		return dflt == dflt ? COREN_OK
				    : coren_error_set(err, COREN_ERR_USAGE,
						      "the point has no '%s'", k);
	}
	if (coren_json_get_double(v, out))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "'%s' is not a number", k);
	return COREN_OK;
}

static enum coren_err rb_init(void **state, const json_t *params,
			      struct coren_error *err)
{
	struct rb *s = malloc(sizeof *s);

	if (!s)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (number(params, "a", 1, &s->a, err) ||
	    number(params, "b", 100, &s->b, err)) {
		free(s);
		return err->code;
	}
	*state = s;
	return COREN_OK;
}

static enum coren_err rb_exec(void *state, const json_t *point, json_t **value,
			      struct coren_error *err)
{
	const struct rb *s = state;
	double x, y, nan = 0.0 / 0.0;

	if (number(point, "x", nan, &x, err) || number(point, "y", nan, &y, err))
		return err->code;
	*value = json_real((s->a - x) * (s->a - x) +
			   s->b * (y - x * x) * (y - x * x));
	return *value ? COREN_OK
		      : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

/* A batch: each point as rb_exec would, failures per point. */
static enum coren_err rb_exec_batch(void *state, size_t n,
				    const json_t *const *points, json_t **values,
				    struct coren_error *errs)
{
	for (size_t i = 0; i < n; i++)
		if (rb_exec(state, points[i], &values[i], &errs[i]))
			values[i] = NULL;
	return COREN_OK;
}

static void rb_fini(void *state)
{
	free(state);
}

static enum coren_err rb_cost(const json_t *params, const json_t *point,
			      struct coren_cost *out, struct coren_error *err)
{
	(void)params;
	(void)point;
	(void)err;
	*out = coren_cost_new(9, 32, 64, 24);
	return COREN_OK;
}

static const struct coren_exec_ops ops = {
	.struct_size = sizeof ops,
	.init = rb_init,
	.exec = rb_exec,
	.fini = rb_fini,
	.exec_batch = rb_exec_batch,
	.cost = rb_cost,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_EXEC, "rosenbrock", "1.0",
		      "(a - x)^2 + b (y - x^2)^2 at axes x, y", &ops)
