/* saxpy on the GPU: a*x + y, rounded as the CPU handler rounds it (a
 * product, then a sum: no fused multiply-add). */
#include "gpu_state.h"
#include <coren/rkgpu_serve.h>

static COREN_GPU_HD float axpy(float a, float x, float y)
{
#if defined(__CUDA_ARCH__)
	return __fadd_rn(__fmul_rn(a, x), y);
#else
	return a * x + y;
#endif
}

static COREN_GPU_HD int saxpy_gpu(struct coren_gpu_call *c)
{
	struct saxpy_dev *s = (struct saxpy_dev *)c->dstate;
	const float *v = (const float *)c->in_payload;
	float *out = (float *)c->out_payload;
	uint32_t n = c->in->payload_size / 4;

	if ((c->in->encoding != COREN_RK_ENC_F32 && c->in->encoding != COREN_RK_ENC_RAW) ||
	    c->in->payload_size % 4)
		return coren_gpu_error(c, "saxpy needs a float32 vector");
	if (n % 2)
		return coren_gpu_error(c, "saxpy needs x and y of one length: the float count is odd");
	n /= 2;
	for (uint32_t i = c->tid; i < n; i += c->nthreads)
		out[i] = axpy(s->a, v[i], v[n + i]);
	if (c->tid == 0) {
		c->out->payload_size = n * 4;
		c->out->encoding = COREN_RK_ENC_F32;
		s->elements += n;
	}
	return COREN_GPU_REPLY;
}

COREN_GPU_ENTRY(coren_saxpy_loop, saxpy_gpu)
