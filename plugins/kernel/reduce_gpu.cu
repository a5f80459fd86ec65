/* reduce on the GPU: each thread folds its share in float64, then thread 0
 * folds the shares in thread order. Min and max equal the CPU's; a sum
 * may differ in its last bits (another order of additions). */
#include "gpu_state.h"
#include <coren/rkgpu_serve.h>

static COREN_GPU_HD double fold(uint32_t op, double acc, double x)
{
	if (op == REDUCE_MIN)
		return x < acc ? x : acc;
	if (op == REDUCE_MAX)
		return x > acc ? x : acc;
	return acc + x;
}

static COREN_GPU_HD int reduce_gpu(struct coren_gpu_call *c)
{
	struct reduce_dev *r = (struct reduce_dev *)c->dstate;
	const float *v = (const float *)c->in_payload;
	double *part = (double *)c->scratch, acc;
	uint32_t n = c->in->payload_size / 4, shares;

	if ((c->in->encoding != COREN_RK_ENC_F32 && c->in->encoding != COREN_RK_ENC_RAW) ||
	    c->in->payload_size % 4)
		return coren_gpu_error(c, "reduce needs a float32 vector");
	if (!n && r->op != REDUCE_SUM)
		return coren_gpu_error(c, "reduce: the min or max of no numbers");
	shares = n < c->nthreads ? n : c->nthreads;
	if (c->tid < shares) {
		acc = r->op == REDUCE_SUM ? 0 : v[c->tid];
		for (uint32_t i = c->tid; i < n; i += c->nthreads)
			acc = fold(r->op, acc, v[i]);
		part[c->tid] = acc;
	}
	coren_gpu_sync();
	if (c->tid == 0) {
		acc = shares ? part[0] : 0;
		for (uint32_t t = 1; t < shares; t++)
			acc = fold(r->op, acc, part[t]);
		r->total = r->count ? fold(r->op, r->total, acc) : acc;
		r->count++;
		r->elements += n;
		*(double *)c->out_payload = acc;
		c->out->payload_size = 8;
		c->out->encoding = COREN_RK_ENC_F64;
	}
	return COREN_GPU_REPLY;
}

COREN_GPU_ENTRY(coren_reduce_loop, reduce_gpu)
