/* gpu_state.h - the device states of the example kernels: one definition
 * for their CPU part (.c, which sets them up and reports them) and their
 * GPU handlers (.cu). */
#ifndef KERNEL_GPU_STATE_H
#define KERNEL_GPU_STATE_H

#include <coren/rkgpu.h>

#define HISTOGRAM_BINS_MAX 8192	    /* the answer fits an envelope */
#define HISTOGRAM_GPU_BINS_MAX 2048 /* per-message counts in block scratch */

enum reduce_op { REDUCE_SUM, REDUCE_MIN, REDUCE_MAX };

struct saxpy_dev {
	float a;
	uint32_t pad;
	uint64_t elements;
};

struct reduce_dev {
	uint32_t op; /* enum reduce_op */
	uint32_t pad;
	double total;
	uint64_t count, elements;
};

struct histogram_dev {
	uint32_t bins;
	uint32_t pad;
	double lo, hi;
	uint64_t messages;
	uint64_t total[HISTOGRAM_BINS_MAX];
};

struct forward_dev {
	uint32_t dest; /* 0 until the name is found */
	uint32_t pad;
	uint64_t forwarded;
};

COREN_GPU_ASSERT(sizeof(struct saxpy_dev) == 16, "saxpy_dev");
COREN_GPU_ASSERT(offsetof(struct reduce_dev, total) == 8, "reduce_dev total");
COREN_GPU_ASSERT(sizeof(struct reduce_dev) == 32, "reduce_dev");
COREN_GPU_ASSERT(offsetof(struct histogram_dev, total) == 32, "histogram_dev total");
COREN_GPU_ASSERT(sizeof(struct forward_dev) == 16, "forward_dev");

/* The bin of x in [lo, hi) cut in bins (outside: the first or last). */
#if defined(__CUDACC__)
__host__ __device__
#endif
static inline uint32_t histogram_bin(uint32_t bins, double lo, double hi, double x)
{
	double f = (x - lo) / (hi - lo) * (double)bins;

	if (!(f >= 0)) /* below, or NaN */
		return 0;
	return f >= (double)bins ? bins - 1 : (uint32_t)f;
}

#endif
