/* cuda_kern.cu - the CUDA backend's own kernels: peak FMA throughput,
 * the triad, and the copies coren-probe measures. */
#include "cuda_int.h"

#include <cuda_runtime.h>

#define FMA_CHAINS 8	  /* independent chains per thread hide the latency */
#define FMA_STEPS 4096	  /* steps per chain per launch */
#define TRIAD_BYTES (3u << 29) /* 1.5 GiB over three arrays */

template <class T>
static __global__ void fma_peak(T *out, T b, T c)
{
	T a[FMA_CHAINS];

#pragma unroll
	for (int k = 0; k < FMA_CHAINS; k++)
		a[k] = (T)(threadIdx.x + k);
	for (int i = 0; i < FMA_STEPS; i++) {
#pragma unroll
		for (int k = 0; k < FMA_CHAINS; k++)
			a[k] = a[k] * b + c;
	}
	T s = 0;
#pragma unroll
	for (int k = 0; k < FMA_CHAINS; k++)
		s += a[k];
	if (s == (T)-1) /* never: keeps the chains alive */
		out[threadIdx.x] = s;
}

static __global__ void triad(double2 *a, const double2 *b, const double2 *c, double s,
			     size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		double2 x = b[i], y = c[i];

		a[i] = make_double2(x.x + s * y.x, x.y + s * y.y);
	}
}

/* The best of reps timings of fn, in seconds (0 on error). */
template <class F>
static double best_of(int reps, F fn)
{
	cudaEvent_t t0, t1;
	float best = 0, ms;

	if (cudaEventCreate(&t0) || cudaEventCreate(&t1))
		return 0;
	fn(); /* warm-up */
	for (int r = 0; r < reps; r++) {
		cudaEventRecord(t0);
		fn();
		cudaEventRecord(t1);
		if (cudaEventSynchronize(t1) || cudaEventElapsedTime(&ms, t0, t1)) {
			best = 0;
			break;
		}
		if (!best || ms < best)
			best = ms;
	}
	cudaEventDestroy(t0);
	cudaEventDestroy(t1);
	return best / 1e3;
}

template <class T>
static double peak(const cudaDeviceProp &p, T *out, int reps)
{
	int blocks = p.multiProcessorCount * 8, threads = 256;
	double t = best_of(reps, [&] { fma_peak<T><<<blocks, threads>>>(out, (T)0.999, (T)0.001); });

	return t > 0 ? 2.0 * FMA_CHAINS * FMA_STEPS * (double)blocks * threads / t : 0;
}

static void device_figures(const cudaDeviceProp &p, int reps, struct cuda_figures *f)
{
	size_t n = TRIAD_BYTES / 3 / sizeof(double2), bytes = n * sizeof(double2);
	double2 *a = NULL, *b = NULL, *c = NULL;
	int blocks = p.multiProcessorCount * 4, threads = 512;
	double t;

	if (cudaMalloc(&a, bytes) || cudaMalloc(&b, bytes) || cudaMalloc(&c, bytes))
		goto out;
	cudaMemset(b, 0, bytes);
	cudaMemset(c, 0, bytes);
	t = best_of(reps, [&] { triad<<<blocks, threads>>>(a, b, c, 3.0, n); });
	f->triad_bw = t > 0 ? 3.0 * (double)bytes / t : 0;
	t = best_of(reps, [&] { cudaMemcpyAsync(a, b, bytes, cudaMemcpyDeviceToDevice); });
	f->memcpy_bw = t > 0 ? 2.0 * (double)bytes / t : 0;
out:
	cudaFree(a);
	cudaFree(b);
	cudaFree(c);
}

static void host_figures(int reps, struct cuda_figures *f)
{
	size_t bytes = 256u << 20;
	void *h = NULL, *d = NULL;
	double t;

	if (cudaHostAlloc(&h, bytes, cudaHostAllocDefault) || cudaMalloc(&d, bytes))
		goto out;
	t = best_of(reps, [&] { cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice); });
	f->h2d_bw = t > 0 ? (double)bytes / t : 0;
	t = best_of(reps, [&] { cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost); });
	f->d2h_bw = t > 0 ? (double)bytes / t : 0;
out:
	cudaFreeHost(h);
	cudaFree(d);
}

extern "C" int cuda_measure(int dev, double seconds, struct cuda_figures *f)
{
	cudaDeviceProp p;
	cudaError_t e;
	int reps = seconds >= 2 ? 5 : 3;
	void *out = NULL;

	*f = cuda_figures{};
	if ((e = cudaSetDevice(dev)) || (e = cudaGetDeviceProperties(&p, dev)) ||
	    (e = cudaMalloc(&out, 1024 * sizeof(double))))
		return (int)e;
	f->fp64_flops = peak(p, (double *)out, reps);
	f->fp32_flops = peak(p, (float *)out, reps);
	cudaFree(out);
	device_figures(p, reps, f);
	host_figures(reps, f);
	e = cudaDeviceSynchronize();
	return (int)(e ? e : cudaGetLastError());
}
