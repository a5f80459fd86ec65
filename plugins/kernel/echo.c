/* echo - answers every message with itself. */
#include <coren/rk.h>

static enum coren_err echo_handle(void *state, struct coren_rk_ctx *ctx,
				  struct coren_rk_msg *m, struct coren_error *err)
{
	(void)state;
	(void)err;
	return coren_rk_reply(ctx, m);
}

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = COREN_KERNEL_F_CPU,
	.handle = echo_handle,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "echo", "1.0",
		      "answers each message with itself", &ops)
