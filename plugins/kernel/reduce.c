/* reduce - the sum, min or max of a float32 vector (argument op, default
 * sum), answered as one float64; the running result over every message is
 * the kernel's state. */
#include "kernel_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum op { SUM, MIN, MAX };

struct reduce {
	enum op op;
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
		r->op = SUM;
	else if (!strcmp(op, "min"))
		r->op = MIN;
	else if (!strcmp(op, "max"))
		r->op = MAX;
	else {
		free(r);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "reduce: op '%s' is not sum, min or max", op);
	}
	r->total = r->op == SUM ? 0 : r->op == MIN ? INFINITY : -INFINITY;
	*state = r;
	return COREN_OK;
}

static double fold(enum op op, double acc, double x)
{
	switch (op) {
	case MIN:
		return x < acc ? x : acc;
	case MAX:
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
	if (!n && r->op != SUM)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "reduce: the min or max of no numbers");
	acc = r->op == SUM ? 0 : v[0];
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

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = COREN_KERNEL_F_CPU,
	.init = reduce_init,
	.fini = free,
	.handle = reduce_handle,
	.status = reduce_status,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "reduce", "1.0",
		      "sum, min or max of a float32 vector (op=sum|min|max)", &ops)
