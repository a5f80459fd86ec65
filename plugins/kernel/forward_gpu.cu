/* forward on the GPU: passes every message on, unchanged, to kernel 'to'
 * (through the device's K2K inbox when it is a GPU actor of the device). */
#include "gpu_state.h"
#include <coren/rkgpu_serve.h>

static COREN_GPU_HD int forward_gpu(struct coren_gpu_call *c)
{
	struct forward_dev *f = (struct forward_dev *)c->dstate;

	if (!f->dest)
		return coren_gpu_error(c, "forward: no kernel to pass the message to");
	if (c->tid == 0) {
		c->dest = f->dest;
		f->forwarded++;
	}
	return COREN_GPU_FORWARD;
}

COREN_GPU_ENTRY(coren_forward_loop, forward_gpu)
