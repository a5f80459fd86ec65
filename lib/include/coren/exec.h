/* coren/exec.h - operations of an exec plugin (kind COREN_PLUGIN_EXEC), the
 * function swarm-run evaluates at each point of a grid.
 *
 * The table starts with its size and only grows at the end: a caller reads
 * an operation only if struct_size covers it.
 */
#ifndef COREN_EXEC_H
#define COREN_EXEC_H

#include <coren/cost.h>
#include <coren/error.h>
#include <coren/plugin.h>
#include <jansson.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct coren_exec_ops {
	uint32_t struct_size; /* sizeof(struct coren_exec_ops) when built */
	/* Optional. Called once per worker with the experiment's fixed
	 * params (borrowed); sets *state for the other calls. */
	enum coren_err (*init)(void **state, const json_t *params,
			       struct coren_error *err);
	/* Required. Evaluates one point ({axis: value, ...}, borrowed) and
	 * sets *value to a new reference. A failure names its reason in err. */
	enum coren_err (*exec)(void *state, const json_t *point, json_t **value,
			       struct coren_error *err);
	/* Optional. Releases what init made. */
	void (*fini)(void *state);
	/* ABI 1.1, optional. Evaluates n points at once: values[i] a new
	 * reference, or NULL with errs[i] set for a point that failed. A
	 * return other than COREN_OK fails the points without a value. */
	enum coren_err (*exec_batch)(void *state, size_t n,
				     const json_t *const *points,
				     json_t **values, struct coren_error *errs);
	/* ABI 1.1, optional. The FnCost (coren/cost.h) of evaluating point;
	 * called without state, from any thread. */
	enum coren_err (*cost)(const json_t *params, const json_t *point,
			       struct coren_cost *out, struct coren_error *err);
};

#ifdef __cplusplus
}
#endif
#endif
