/* forward - passes every message on, unchanged, to the kernel named by
 * its argument to, over K2K: chains of kernels are built from it. */
#include "kernel_util.h"

#include <coren/rkbackend.h> /* the GPU setup reads its actor */

#include <stdlib.h>
#include <string.h>

struct forward {
	char *to;
	uint32_t dest; /* looked up at the first message */
	uint64_t forwarded;
};

static enum coren_err forward_init(void **state, const json_t *args,
				   struct coren_error *err)
{
	const char *to = json_string_value(json_object_get(args, "to"));
	struct forward *f;

	if (!to || !*to)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "forward needs to=KERNEL");
	f = calloc(1, sizeof *f);
	if (!f || !(f->to = strdup(to))) {
		free(f);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	*state = f;
	return COREN_OK;
}

static void forward_fini(void *state)
{
	struct forward *f = state;

	free(f->to);
	free(f);
}

static enum coren_err forward_handle(void *state, struct coren_rk_ctx *ctx,
				     struct coren_rk_msg *m,
				     struct coren_error *err)
{
	struct forward *f = state;

	if (!f->dest)
		f->dest = coren_rk_lookup(ctx, f->to);
	if (!f->dest)
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "forward: no kernel named '%s'", f->to);
	f->forwarded++;
	return coren_rk_forward(ctx, f->dest, m);
}

static json_t *forward_status(void *state)
{
	struct forward *f = state;

	return json_pack("{s:s,s:I}", "to", f->to, "forwarded",
			 (json_int_t)f->forwarded);
}

#ifdef HAVE_CUDA
static void forward_setup(const void *kstate, void *dstate, struct coren_rk_actor *a)
{
	const struct forward *f = kstate;
	struct forward_dev *d = dstate;

	d->dest = coren_rk_actor_lookup(a, f->to);
}

static json_t *forward_gpu_status(const void *dstate)
{
	const struct forward_dev *d = dstate;

	return json_pack("{s:I,s:I}", "dest", (json_int_t)d->dest, "forwarded",
			 (json_int_t)d->forwarded);
}
#endif

KERNEL_CUDA(coren_forward_loop, sizeof(struct forward_dev), forward_setup,
	    forward_gpu_status)

static const struct coren_kernel_arg args[] = {
	{"to", COREN_KARG_KERNEL, 1, 0, 0},
	{NULL, 0, 0, 0, 0}};

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = KERNEL_FLAGS,
	.init = forward_init,
	.fini = forward_fini,
	.handle = forward_handle,
	.status = forward_status,
	.cuda = KERNEL_CUDA_ENTRY,
	.args = args,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "forward", "1.0",
		      "passes each message on to kernel 'to' over K2K", &ops)
