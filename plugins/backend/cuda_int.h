/* cuda_int.h - what the CUDA backend's C part and its kernels (cuda_kern.cu)
 * share: the device figures coren-probe reports. */
#ifndef CUDA_INT_H
#define CUDA_INT_H

#ifdef __cplusplus
extern "C" {
#endif

/* What one GPU does, measured (0 where a measurement failed). */
struct cuda_figures {
	double fp64_flops; /* FMA throughput, FLOP/s (an FMA is 2) */
	double fp32_flops;
	double triad_bw;   /* a = b + s*c over device memory, 24 bytes an item */
	double memcpy_bw;  /* device-to-device cudaMemcpy, read + write bytes/s */
	double h2d_bw;	   /* pinned host to device, bytes/s */
	double d2h_bw;
};

/* Measures device dev for about seconds in all (the current device becomes
 * dev). 0, or a cudaError_t. */
int cuda_measure(int dev, double seconds, struct cuda_figures *out);

#ifdef __cplusplus
}
#endif
#endif
