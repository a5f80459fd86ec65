/* saxpy - y = a*x + y. The payload is 2n floats, x then y; the answer is
 * the n floats of a*x + y. Argument: a (default 1). */
#include "kernel_util.h"

#include <stdlib.h>

struct saxpy {
	float a;
	uint64_t elements;
};

static enum coren_err saxpy_init(void **state, const json_t *args,
				 struct coren_error *err)
{
	struct saxpy *s = calloc(1, sizeof *s);

	if (!s)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	s->a = (float)kernel_arg(args, "a", 1.0);
	*state = s;
	return COREN_OK;
}

static enum coren_err saxpy_handle(void *state, struct coren_rk_ctx *ctx,
				   struct coren_rk_msg *m, struct coren_error *err)
{
	struct saxpy *s = state;
	const float *v = NULL;
	float *out = (float *)m->payload;
	size_t n = 0;

	if (kernel_f32(m, "saxpy", &v, &n, err))
		return err ? err->code : COREN_ERR_RECORD;
	if (n % 2)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "saxpy needs x and y of one length: %zu floats is odd", n);
	n /= 2;
	for (size_t i = 0; i < n; i++)
		out[i] = s->a * v[i] + v[n + i];
	m->hdr.payload_size = (uint32_t)(n * 4);
	m->hdr.encoding = COREN_RK_ENC_F32;
	s->elements += n;
	return coren_rk_reply(ctx, m);
}

static json_t *saxpy_status(void *state)
{
	struct saxpy *s = state;

	return json_pack("{s:f,s:I}", "a", (double)s->a, "elements",
			 (json_int_t)s->elements);
}

#ifdef HAVE_CUDA
static void saxpy_setup(const void *kstate, void *dstate, struct coren_rk_actor *a)
{
	const struct saxpy *s = kstate;
	struct saxpy_dev *d = dstate;

	(void)a;
	d->a = s->a;
}

static json_t *saxpy_gpu_status(const void *dstate)
{
	const struct saxpy_dev *d = dstate;

	return json_pack("{s:f,s:I}", "a", (double)d->a, "elements",
			 (json_int_t)d->elements);
}
#endif

KERNEL_CUDA(coren_saxpy_loop, sizeof(struct saxpy_dev), saxpy_setup, saxpy_gpu_status)

static const struct coren_kernel_arg args[] = {
	{"a", COREN_KARG_NUMBER, 0, 0, 0},
	{NULL, 0, 0, 0, 0}};

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = KERNEL_FLAGS,
	.init = saxpy_init,
	.fini = free,
	.handle = saxpy_handle,
	.status = saxpy_status,
	.cuda = KERNEL_CUDA_ENTRY,
	.args = args,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "saxpy", "1.0",
		      "a*x + y of float32 vectors (payload: x then y)", &ops)
