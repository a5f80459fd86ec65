/* coren/rkgpu_serve.h - the persistent loop of a GPU actor, and the
 * macro that makes a kernel plugin's CUDA entry (coren-rk(3)). C++: a .cu
 * file compiled by nvcc. The loop is compiled twice by nvcc, for the
 * device (the persistent kernel) and for the host (the backend's emulate
 * mode, which runs it on a host thread with a block of one thread).
 *
 * A handler is called by every thread of the block for each message:
 *
 *     COREN_GPU_HD int twice(struct coren_gpu_call *c)
 *     {
 *         const float *x = (const float *)c->in_payload;
 *         float *y = (float *)c->out_payload;
 *         uint32_t n = c->in->payload_size / 4;
 *
 *         for (uint32_t i = c->tid; i < n; i += c->nthreads)
 *             y[i] = 2 * x[i];
 *         if (c->tid == 0)
 *             c->out->payload_size = n * 4;
 *         return COREN_GPU_REPLY;
 *     }
 *     COREN_GPU_ENTRY(twice_loop, twice)
 *
 * and returns the same action on every thread. The answer goes straight
 * into the host's ring: out starts as a copy of in's header with an
 * empty payload, and out_room bytes may be written. COREN_GPU_FORWARD
 * passes the message, as it came, to kernel c->dest (set by thread 0):
 * through the device's K2K inbox of dest when dest is a GPU actor of the
 * same device, else through the host's K2K broker. COREN_GPU_ERROR
 * answers with an error whose reason is out's payload (coren_gpu_error()).
 * A handler may use COREN_GPU_SCRATCH bytes of block-shared scratch and
 * must call coren_gpu_sync() on every thread alike.
 */
#ifndef COREN_RKGPU_SERVE_H
#define COREN_RKGPU_SERVE_H

#include <coren/rkgpu.h>

#if !defined(__CUDA_ARCH__)
#include <sched.h>
#include <time.h>
#endif

#if defined(__CUDACC__)
#define COREN_GPU_HD __host__ __device__
#else
#define COREN_GPU_HD
#endif

/* One message, as a handler sees it. */
struct coren_gpu_call {
	const struct coren_rk_header *in;
	const unsigned char *in_payload;
	struct coren_rk_header *out; /* starts as in's header, payload_size 0 */
	unsigned char *out_payload;  /* out_room bytes */
	uint32_t out_room;
	uint32_t dest;		     /* COREN_GPU_FORWARD: the kernel id */
	unsigned tid, nthreads;	     /* this thread, threads of the block */
	void *scratch;		     /* COREN_GPU_SCRATCH bytes, 16-aligned */
	void *dstate;		     /* the kernel's device state, or NULL */
};

/* What the block shares between the loop's steps. */
struct coren_gpu_shared {
	uint32_t n, src, stop, dest;
	int action;
	uint32_t fwd_at;
	struct coren_gpu_ring *fwd; /* the inbox claimed for a forward */
};

/* A barrier over the block (nothing on the host: one thread). */
COREN_GPU_HD static inline void coren_gpu_sync(void)
{
#if defined(__CUDA_ARCH__)
	__syncthreads();
#endif
}

/* Makes this thread's writes visible to the host and the device. */
COREN_GPU_HD static inline void coren_gpu_fence(void)
{
#if defined(__CUDA_ARCH__)
	__threadfence_system();
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Waits about ns nanoseconds, leaving the SM (the CPU) to others. */
COREN_GPU_HD static inline void coren_gpu_nap(uint32_t ns)
{
#if defined(__CUDA_ARCH__)
	__nanosleep(ns);
#else
	if (ns < 20000) {
		sched_yield();
	} else {
		struct timespec ts = {0, (long)ns};

		nanosleep(&ts, NULL);
	}
#endif
}

/* A clock in nanoseconds (the device's global timer on the device). */
COREN_GPU_HD static inline uint64_t coren_gpu_clock_ns(void)
{
#if defined(__CUDA_ARCH__)
	uint64_t t;

	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Copies n bytes between 16-byte aligned buffers whose room is a multiple
 * of 16, every thread a share. */
COREN_GPU_HD static inline void coren_gpu_copy(void *dst, const void *src, uint32_t n,
					unsigned tid, unsigned nth)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	uint32_t words = (n + 15u) / 16u * 2u;

	for (uint32_t i = 2 * tid; i < words; i += 2 * nth) {
		d[i] = s[i];
		d[i + 1] = s[i + 1];
	}
}

/* Answers with an error: thread 0 writes reason as out's payload. */
COREN_GPU_HD static inline int coren_gpu_error(struct coren_gpu_call *c, const char *reason)
{
	if (c->tid == 0) {
		uint32_t n = 0;

		while (reason[n] && n < c->out_room) {
			c->out_payload[n] = (unsigned char)reason[n];
			n++;
		}
		c->out->payload_size = n;
		c->out->encoding = COREN_RK_ENC_UTF8;
	}
	return COREN_GPU_ERROR;
}

/* Thread 0: claims a slot in dest's inbox on this device for a forward,
 * or says why not (NULL: through the host). */
COREN_GPU_HD static inline const char *coren_gpu_route(struct coren_gpu_ctl *ctl,
						const struct coren_rk_header *in,
						uint32_t dest, struct coren_gpu_shared *sh)
{
	uint64_t *table = (uint64_t *)ctl->k2k_table;

	sh->fwd = 0;
	if (!(ctl->flags & COREN_GPU_F_K2K))
		return "k2k is off for this kernel";
	if (in->hops + 1u > ctl->max_hops)
		return "k2k delivery failed: max_hops";
	if (!table || dest >= COREN_GPU_K2K_MAX)
		return 0;
	/* volatile: the table changes under a running kernel */
	sh->fwd = (struct coren_gpu_ring *)((volatile uint64_t *)table)[dest];
	if (!sh->fwd)
		return 0;
	for (uint32_t spin = 0; !coren_gpu_ring_claim(sh->fwd, &sh->fwd_at); spin++) {
		if (spin >= ctl->k2k_spins) {
			sh->fwd = 0;
			return "k2k delivery failed: queue_full";
		}
		coren_gpu_nap(1000);
	}
	return 0;
}

/* The block passes in on to its claimed inbox slot. */
COREN_GPU_HD static inline void coren_gpu_pass_on(struct coren_gpu_ctl *ctl,
					   const struct coren_gpu_slot *in,
					   uint32_t dest, struct coren_gpu_shared *sh,
					   unsigned tid, unsigned nth)
{
	struct coren_gpu_slot *to = coren_gpu_ring_slot(sh->fwd, sh->fwd_at);

	coren_gpu_copy(to->payload, in->payload, in->hdr.payload_size, tid, nth);
	if (tid == 0) {
		to->hdr = in->hdr;
		to->hdr.source = ctl->actor;
		to->hdr.destination = dest;
		to->hdr.hops = (uint8_t)(in->hdr.hops + 1);
		to->hdr.flags |= COREN_ENV_F_K2K;
	}
	coren_gpu_fence();
	coren_gpu_sync();
	if (tid == 0) {
		coren_gpu_ring_commit(sh->fwd, sh->fwd_at);
		ctl->forwarded++;
	}
}

/* Thread 0: the forward goes through the host's broker: the message as it
 * came, in the host's ring, addressed to dest. */
COREN_GPU_HD static inline void coren_gpu_via_host(const struct coren_gpu_slot *in,
					    struct coren_gpu_slot *out, uint32_t dest,
					    unsigned tid, unsigned nth)
{
	coren_gpu_copy(out->payload, in->payload, in->hdr.payload_size, tid, nth);
	if (tid == 0) {
		out->hdr = in->hdr;
		out->hdr.destination = dest;
		out->status = COREN_GPU_FORWARD;
	}
}

#ifdef __cplusplus /* the loop is a template over the handler: C++ only */
/* Handles one message of the block: its answer (if it has one in the
 * host's ring) in out. Whether out was used. */
template <class H>
COREN_GPU_HD static inline uint32_t coren_gpu_serve_one(struct coren_gpu_ctl *ctl,
						 const struct coren_gpu_slot *in,
						 struct coren_gpu_slot *out,
						 struct coren_gpu_shared *sh, void *scratch,
						 unsigned tid, unsigned nth)
{
	struct coren_gpu_call c;
	uint64_t t0 = coren_gpu_clock_ns();
	const char *why = 0;
	int act;

	if (tid == 0) {
		out->hdr = in->hdr;
		out->hdr.payload_size = 0;
	}
	coren_gpu_sync();
	c.in = &in->hdr;
	c.in_payload = in->payload;
	c.out = &out->hdr;
	c.out_payload = out->payload;
	c.out_room = (uint32_t)(((struct coren_gpu_ring *)ctl->d2h)->slot_bytes - COREN_GPU_SLOT_META);
	c.dest = 0;
	c.tid = tid;
	c.nthreads = nth;
	c.scratch = scratch;
	c.dstate = (void *)ctl->dstate;
	act = H()(&c);
	coren_gpu_fence();
	coren_gpu_sync();
	if (tid == 0) {
		if (act == COREN_GPU_FORWARD && (why = coren_gpu_route(ctl, &in->hdr, c.dest, sh)))
			act = coren_gpu_error(&c, why);
		sh->action = act;
		sh->dest = c.dest;
	}
	coren_gpu_sync();
	act = sh->action;
	if (act == COREN_GPU_FORWARD && sh->fwd) {
		coren_gpu_pass_on(ctl, in, sh->dest, sh, tid, nth);
		return 0;
	}
	if (act == COREN_GPU_FORWARD)
		coren_gpu_via_host(in, out, sh->dest, tid, nth);
	if (tid == 0) {
		if (act != COREN_GPU_FORWARD) {
			out->hdr.destination = COREN_RK_HOST;
			out->status = (uint32_t)act;
		}
		if (act == COREN_GPU_ERROR) {
			out->hdr.flags |= COREN_ENV_F_ERROR;
			ctl->errors++;
		}
		out->device_ns = coren_gpu_clock_ns() - t0;
	}
	return 1;
}

/* Thread 0: what to serve next (sh->n messages from sh->src, 0 the
 * host's ring, 1 the K2K inbox), bounded by the room in the host's ring. */
COREN_GPU_HD static inline void coren_gpu_poll(struct coren_gpu_ctl *ctl, struct coren_gpu_shared *sh,
					uint32_t h2d_tail, uint32_t k2k_tail, uint32_t d2h_head)
{
	struct coren_gpu_ring *k2k = (struct coren_gpu_ring *)ctl->k2k_in;
	uint32_t n = coren_gpu_ring_avail((struct coren_gpu_ring *)ctl->h2d, h2d_tail);
	uint32_t room = coren_gpu_ring_space((struct coren_gpu_ring *)ctl->d2h, d2h_head);

	sh->stop = coren_gpu_load_acquire(&ctl->stop.v);
	sh->src = 0;
	if (!n && k2k) {
		while (n < ctl->batch && coren_gpu_ring_ready(k2k, k2k_tail + n))
			n++;
		sh->src = 1;
	}
	if (n > ctl->batch)
		n = ctl->batch;
	sh->n = n < room ? n : room;
}

/* Serves ctl until its stop flag (or, one-shot, until nothing is queued):
 * the loop of the persistent kernel, thread tid of nth. */
template <class H>
COREN_GPU_HD static inline void coren_gpu_serve(struct coren_gpu_ctl *ctl, struct coren_gpu_shared *sh,
					 void *scratch, unsigned tid, unsigned nth)
{
	struct coren_gpu_ring *h2d = (struct coren_gpu_ring *)ctl->h2d;
	struct coren_gpu_ring *d2h = (struct coren_gpu_ring *)ctl->d2h;
	struct coren_gpu_ring *k2k = (struct coren_gpu_ring *)ctl->k2k_in;
	uint32_t h2d_tail = h2d->tail.v, d2h_head = d2h->head.v;
	uint32_t k2k_tail = k2k ? k2k->tail.v : 0, nap = 0;

	if (tid == 0)
		coren_gpu_store_release(&ctl->state.v, COREN_GPU_RUNNING);
	for (;;) {
		struct coren_gpu_ring *from;
		uint32_t n, tail, used = 0;

		if (tid == 0)
			coren_gpu_poll(ctl, sh, h2d_tail, k2k_tail, d2h_head);
		coren_gpu_sync();
		n = sh->n;
		if (sh->stop) /* what is left, the host answers */
			break;
		if (!n) {
			if (ctl->flags & COREN_GPU_F_ONESHOT)
				break;
			if (tid == 0) {
				nap = nap ? (2 * nap < ctl->backoff_max_ns ? 2 * nap : ctl->backoff_max_ns) : 32;
				ctl->idle_polls++;
				coren_gpu_nap(nap);
			}
			coren_gpu_sync();
			continue;
		}
		nap = 0;
		from = sh->src ? k2k : h2d;
		tail = sh->src ? k2k_tail : h2d_tail;
		for (uint32_t i = 0; i < n; i++)
			used += coren_gpu_serve_one<H>(ctl, coren_gpu_ring_slot(from, tail + i),
						       coren_gpu_ring_slot(d2h, d2h_head + used),
						       sh, scratch, tid, nth);
		coren_gpu_fence();
		coren_gpu_sync();
		if (tid == 0) {
			ctl->processed += n;
			coren_gpu_ring_publish(d2h, d2h_head + used);
			coren_gpu_ring_release(from, tail + n);
		}
		d2h_head += used;
		if (sh->src)
			k2k_tail += n;
		else
			h2d_tail += n;
		coren_gpu_sync();
	}
	if (tid == 0)
		coren_gpu_store_release(&ctl->state.v, COREN_GPU_EXITED);
}
#endif /* __cplusplus */

#if defined(__CUDACC__)
/* Defines var, the struct coren_gpu_loop of handler. */
#define COREN_GPU_ENTRY(var, handler)                                              \
	struct var##_op {                                                          \
		COREN_GPU_HD int operator()(struct coren_gpu_call *c) const        \
		{                                                                  \
			return handler(c);                                         \
		}                                                                  \
	};                                                                         \
	static __global__ void var##_kernel(struct coren_gpu_ctl *ctl)             \
	{                                                                          \
		__shared__ struct coren_gpu_shared sh;                             \
		__shared__ __align__(16) unsigned char scratch[COREN_GPU_SCRATCH]; \
		coren_gpu_serve<var##_op>(ctl, &sh, scratch, threadIdx.x, blockDim.x); \
	}                                                                          \
	static int var##_launch(struct coren_gpu_ctl *ctl, unsigned threads,       \
				void *stream)                                      \
	{                                                                          \
		var##_kernel<<<1, threads, 0, (cudaStream_t)stream>>>(ctl);        \
		return (int)cudaGetLastError();                                    \
	}                                                                          \
	static void var##_emulate(struct coren_gpu_ctl *ctl)                       \
	{                                                                          \
		struct coren_gpu_shared sh;                                        \
		alignas(16) static thread_local unsigned char scratch[COREN_GPU_SCRATCH]; \
		coren_gpu_serve<var##_op>(ctl, &sh, scratch, 0, 1);                \
	}                                                                          \
	extern "C" const struct coren_gpu_loop var;                                \
	const struct coren_gpu_loop var = {var##_launch, var##_emulate};
#endif

#endif
