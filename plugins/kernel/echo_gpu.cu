/* echo on the GPU: answers every message with itself. */
#include <coren/rkgpu_serve.h>

static COREN_GPU_HD int echo_gpu(struct coren_gpu_call *c)
{
	coren_gpu_copy(c->out_payload, c->in_payload, c->in->payload_size, c->tid,
		       c->nthreads);
	if (c->tid == 0)
		c->out->payload_size = c->in->payload_size;
	return COREN_GPU_REPLY;
}

COREN_GPU_ENTRY(coren_echo_loop, echo_gpu)
