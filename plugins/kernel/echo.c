/* echo - answers every message with itself. */
#include "kernel_util.h"

static enum coren_err echo_handle(void *state, struct coren_rk_ctx *ctx,
				  struct coren_rk_msg *m, struct coren_error *err)
{
	(void)state;
	(void)err;
	return coren_rk_reply(ctx, m);
}

KERNEL_CUDA(coren_echo_loop, 0, NULL, NULL)

static const struct coren_kernel_arg args[] = {{NULL, 0, 0, 0, 0}};

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = KERNEL_FLAGS,
	.handle = echo_handle,
	.cuda = KERNEL_CUDA_ENTRY,
	.args = args,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "echo", "1.0",
		      "answers each message with itself", &ops)
