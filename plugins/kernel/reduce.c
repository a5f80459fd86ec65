/* reduce - the sum, min or max of a float32 vector (argument op, default
 * sum), answered as one float64; the running result over every message is
 * the kernel's state. */
#include "kernel_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct reduce {
	enum reduce_op op;
	double total;
	uint64_t count, elements;
};

static enum coren_err reduce_init(void **state, const json_t *args,
				  struct coren_error *err)
{
	const char *op = json_string_value(json_object_get(args, "op"));
	struct reduce *r = calloc(1, sizeof *r);

	if (!r)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (!op || !strcmp(op, "sum"))
		r->op = REDUCE_SUM;
	else if (!strcmp(op, "min"))
		r->op = REDUCE_MIN;
	else if (!strcmp(op, "max"))
		r->op = REDUCE_MAX;
	else {
		free(r);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "reduce: op '%s' is not sum, min or max", op);
	}
	r->total = r->op == REDUCE_SUM ? 0 : r->op == REDUCE_MIN ? INFINITY : -INFINITY;
	*state = r;
	return COREN_OK;
}

static double fold(enum reduce_op op, double acc, double x)
{
	switch (op) {
	case REDUCE_MIN:
		return x < acc ? x : acc;
	case REDUCE_MAX:
		return x > acc ? x : acc;
	default:
		return acc + x;
	}
}

static enum coren_err reduce_handle(void *state, struct coren_rk_ctx *ctx,
				    struct coren_rk_msg *m, struct coren_error *err)
{
	struct reduce *r = state;
	struct coren_rk_msg *out;
	const float *v = NULL;
	double acc;
	size_t n = 0;

	if (kernel_f32(m, "reduce", &v, &n, err))
		return err ? err->code : COREN_ERR_RECORD;
	if (!n && r->op != REDUCE_SUM)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "reduce: the min or max of no numbers");
	acc = r->op == REDUCE_SUM ? 0 : v[0];
	for (size_t i = 0; i < n; i++)
		acc = fold(r->op, acc, v[i]);
	r->total = fold(r->op, r->total, acc);
	r->count++;
	r->elements += n;
	out = coren_rk_msg_new(sizeof acc);
	if (!out)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	memcpy(out->payload, &acc, sizeof acc);
	out->hdr.payload_size = sizeof acc;
	out->hdr.encoding = COREN_RK_ENC_F64;
	out->hdr.message_type = m->hdr.message_type;
	return coren_rk_reply(ctx, out);
}

static json_t *reduce_status(void *state)
{
	struct reduce *r = state;
	static const char *const names[] = {"sum", "min", "max"};

	return json_pack("{s:s,s:f,s:I,s:I}", "op", names[r->op], "total",
			 r->count ? r->total : 0.0, "messages", (json_int_t)r->count,
			 "elements", (json_int_t)r->elements);
}

#ifdef HAVE_CUDA
static void reduce_setup(const void *kstate, void *dstate, struct coren_rk_actor *a)
{
	const struct reduce *r = kstate;
	struct reduce_dev *d = dstate;

	(void)a;
	d->op = r->op;
}

static json_t *reduce_gpu_status(const void *dstate)
{
	const struct reduce_dev *d = dstate;
	static const char *const names[] = {"sum", "min", "max"};

	return json_pack("{s:s,s:f,s:I,s:I}", "op", names[d->op % 3], "total",
			 d->count ? d->total : 0.0, "messages", (json_int_t)d->count,
			 "elements", (json_int_t)d->elements);
}
#endif

KERNEL_CUDA(coren_reduce_loop, sizeof(struct reduce_dev), reduce_setup, reduce_gpu_status)

static const struct coren_kernel_arg args[] = {
	{"op", COREN_KARG_STRING, 0, 0, 0}, /* sum, min, max: init checks */
	{NULL, 0, 0, 0, 0}};

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = KERNEL_FLAGS,
	.init = reduce_init,
	.fini = free,
	.handle = reduce_handle,
	.status = reduce_status,
	.cuda = KERNEL_CUDA_ENTRY,
	.args = args,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "reduce", "1.0",
		      "sum, min or max of a float32 vector (op=sum|min|max)", &ops)
