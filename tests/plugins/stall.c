/* A kernel for the watchdog's tests: echoes, but a message whose first
 * f32 is negative makes the handler hang (it sleeps for good), and one
 * whose first f32 is 666 makes it crash (SIGSEGV). */
#include <coren/rkkernel.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static enum coren_err stall_handle(void *state, struct coren_rk_ctx *ctx,
				   struct coren_rk_msg *m,
				   struct coren_error *err)
{
	float x = 0;

	(void)state;
	(void)err;
	if (m->hdr.payload_size >= 4)
		memcpy(&x, m->payload, 4);
	if (x == 666)
		raise(SIGSEGV);
	while (x < 0)
		pause();
	return coren_rk_reply(ctx, m);
}

static const struct coren_kernel_ops ops = {
    .struct_size = sizeof ops,
    .flags = COREN_KERNEL_F_CPU,
    .handle = stall_handle,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "stall", "1.0",
		      "echoes; hangs on a negative first number", &ops)
