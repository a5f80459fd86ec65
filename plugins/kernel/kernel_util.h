/* kernel_util.h - what the example kernels share: reading float vectors
 * and naming bad payloads. Plugins include only public headers, the build's
 * config.h (HAVE_CUDA: a reconfigure rebuilds them) and this. */
#ifndef KERNEL_UTIL_H
#define KERNEL_UTIL_H

#include "config.h"

#include "gpu_state.h"
#include <coren/rkkernel.h>

/* The kernel's flags and its CUDA entry: the GPU handler's loop (in the
 * kernel's _gpu.cu) with dbytes of device state, set up and reported by the
 * CPU part. Without nvcc a kernel has its CPU handler only. */
#ifdef HAVE_CUDA
#define KERNEL_FLAGS (COREN_KERNEL_F_CPU | COREN_KERNEL_F_CUDA)
#define KERNEL_CUDA(loop, dbytes, setup, status)                               \
	extern const struct coren_gpu_loop loop;                              \
	static const struct coren_kernel_cuda kernel_cuda = {                 \
		sizeof(struct coren_kernel_cuda), (dbytes), &loop, setup,        \
		status};
#define KERNEL_CUDA_ENTRY (&kernel_cuda)
#else
#define KERNEL_FLAGS COREN_KERNEL_F_CPU
#define KERNEL_CUDA(loop, dbytes, setup, status)
#define KERNEL_CUDA_ENTRY NULL
#endif

/* The payload of m as n floats, or an error naming kernel. */
static inline enum coren_err kernel_f32(const struct coren_rk_msg *m,
					const char *kernel, const float **v,
					size_t *n, struct coren_error *err)
{
	if ((m->hdr.encoding != COREN_RK_ENC_F32 &&
	     m->hdr.encoding != COREN_RK_ENC_RAW) ||
	    m->hdr.payload_size % 4)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "%s needs a float32 vector, got %u bytes of %s",
				       kernel, m->hdr.payload_size,
				       coren_rk_encoding_name(m->hdr.encoding));
	*v = (const float *)m->payload;
	*n = m->hdr.payload_size / 4;
	return COREN_OK;
}

/* A number argument of args, or def. */
static inline double kernel_arg(const json_t *args, const char *key, double def)
{
	const json_t *v = json_object_get(args, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

#endif
