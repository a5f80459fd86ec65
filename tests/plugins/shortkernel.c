/* A kernel plugin built against an older, shorter operations table: it
 * ends after handle. What follows it in memory are "poison" pointers to a
 * function that aborts: a host that reads past struct_size (status, cuda,
 * args) and calls them dies of SIGABRT. */
#include <coren/rkkernel.h>
#include <stdlib.h>

struct old_kernel_ops {
	uint32_t struct_size, flags;
	void *init, *fini;
	enum coren_err (*handle)(void *, struct coren_rk_ctx *, struct coren_rk_msg *,
				 struct coren_error *);
};

static enum coren_err short_handle(void *state, struct coren_rk_ctx *ctx,
				   struct coren_rk_msg *m, struct coren_error *err)
{
	(void)state;
	(void)err;
	return coren_rk_reply(ctx, m);
}

static void poison(void)
{
	abort();
}

static const struct {
	struct old_kernel_ops ops;
	void (*after[4])(void);
} table = {
	{sizeof(struct old_kernel_ops), COREN_KERNEL_F_CPU, NULL, NULL, short_handle},
	{poison, poison, poison, poison},
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "shortkernel", "1.0",
		      "an operations table that ends after handle", &table.ops)
