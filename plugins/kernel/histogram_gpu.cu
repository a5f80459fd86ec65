/* histogram on the GPU: the block counts into shared memory, then adds
 * the counts to its answer and to the running totals (bin by bin, so no
 * two threads touch one total). At most 2048 bins. */
#include "gpu_state.h"
#include <coren/rkgpu_serve.h>

static COREN_GPU_HD void count(unsigned long long *bin)
{
#if defined(__CUDA_ARCH__)
	atomicAdd(bin, 1ull);
#else
	++*bin;
#endif
}

static COREN_GPU_HD int histogram_gpu(struct coren_gpu_call *c)
{
	struct histogram_dev *h = (struct histogram_dev *)c->dstate;
	const float *v = (const float *)c->in_payload;
	unsigned long long *counts = (unsigned long long *)c->scratch;
	uint64_t *out = (uint64_t *)c->out_payload;
	uint32_t n = c->in->payload_size / 4;

	if ((c->in->encoding != COREN_RK_ENC_F32 && c->in->encoding != COREN_RK_ENC_RAW) ||
	    c->in->payload_size % 4)
		return coren_gpu_error(c, "histogram needs a float32 vector");
	if (h->bins > HISTOGRAM_GPU_BINS_MAX || h->bins * 8 > c->out_room)
		return coren_gpu_error(c, "histogram: too many bins for the GPU (2048 at most, and 8 bytes each in the slot)");
	for (uint32_t b = c->tid; b < h->bins; b += c->nthreads)
		counts[b] = 0;
	coren_gpu_sync();
	for (uint32_t i = c->tid; i < n; i += c->nthreads)
		count(&counts[histogram_bin(h->bins, h->lo, h->hi, v[i])]);
	coren_gpu_sync();
	for (uint32_t b = c->tid; b < h->bins; b += c->nthreads) {
		out[b] = counts[b];
		h->total[b] += counts[b];
	}
	if (c->tid == 0) {
		h->messages++;
		c->out->payload_size = h->bins * 8;
		c->out->encoding = COREN_RK_ENC_U64;
	}
	return COREN_GPU_REPLY;
}

COREN_GPU_ENTRY(coren_histogram_loop, histogram_gpu)
