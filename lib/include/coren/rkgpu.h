/* coren/rkgpu.h - what the host and a GPU actor share (coren-rk(3),
 * "GPU actors"): the control block, the rings and their slots, one
 * definition for C, C++ and CUDA, with the layout asserted; the ring
 * operations of either side; and the CUDA entry of a kernel plugin.
 *
 * A GPU actor is one persistent kernel serving a control block. The host
 * writes messages into the host->device ring (h2d) and the kernel writes
 * its answers into the device->host ring (d2h); both rings live in mapped
 * pinned host memory. Messages between GPU actors of one device go
 * through K2K rings in device memory. Every index is written by one side
 * only: an acquire load reads the other side's index, a release store
 * publishes one's own, and a slot's bytes are written before the index
 * that makes them visible. The same code runs on the host (C11 atomics
 * through the GCC builtins) and on the device (PTX acquire/release at
 * system scope), so the protocol is tested without a GPU.
 *
 * Kernel plugin authors write a handler (coren_gpu_handler_fn) and the
 * entry with COREN_GPU_ENTRY() in a .cu file; see coren/rkgpu_serve.h.
 */
#ifndef COREN_RKGPU_H
#define COREN_RKGPU_H

#include <coren/envelope.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__CUDACC__)
#define COREN_GPU_FN __host__ __device__ static inline
#else
#define COREN_GPU_FN static inline
#endif

#if defined(__cplusplus)
#define COREN_GPU_ASSERT(c, m) static_assert(c, m)
#else
#define COREN_GPU_ASSERT(c, m) _Static_assert(c, m)
#endif

#define COREN_GPU_MAGIC 0x47524b43u /* "CKRG" */
#define COREN_GPU_ABI 1
#define COREN_GPU_LINE 128		     /* one index per 128-byte line */
#define COREN_GPU_SLOT_META 288		     /* slot bytes before the payload */
#define COREN_GPU_SLOT_PAYLOAD_DEFAULT 4096u /* payload room of a slot */
#define COREN_GPU_K2K_MAX 4096		     /* entries of the inbox table */
#define COREN_GPU_SCRATCH 16384		     /* shared memory a handler may use */

/* A 32-bit index alone on its line: one side writes it, the other reads. */
struct coren_gpu_index {
	uint32_t v;
	uint32_t pad[COREN_GPU_LINE / 4 - 1];
};

/* A ring of capacity fixed-size slots. head counts the slots published by
 * the producer, tail the slots the consumer is done with; both only grow
 * (modulo 2^32) and slot i lives at i & (capacity - 1). SPSC rings (h2d,
 * d2h) need nothing else. An MPSC ring (a K2K inbox) is claimed by a
 * compare-and-swap on head after a full check, and each slot's seq
 * becomes its index + 1 once its bytes are written; the consumer reads
 * seq, not head. The slots follow this struct. */
struct coren_gpu_ring {
	struct coren_gpu_index head; /*   0 producer(s) */
	struct coren_gpu_index tail; /* 128 consumer */
	uint32_t capacity;	     /* 256 a power of two */
	uint32_t slot_bytes;	     /* 260 COREN_GPU_SLOT_META + payload room */
	uint32_t flags;		     /* 264 COREN_GPU_RING_* */
	uint32_t reserved[29];	     /* 268 */
};

#define COREN_GPU_RING_MPSC 0x1u

/* One message in a ring: its header, what the device reports, then the
 * payload (hdr.payload_size bytes, 16-byte aligned). */
struct coren_gpu_slot {
	struct coren_rk_header hdr; /*   0 */
	uint32_t seq;		    /* 256 MPSC rings: index + 1 once written */
	uint32_t status;	    /* 260 d2h: enum coren_gpu_action */
	uint64_t device_ns;	    /* 264 d2h: time in the handler */
	uint64_t reserved[2];	    /* 272 */
	unsigned char payload[];    /* 288 */
};

/* What a handler did with a message (every thread returns the same). */
enum coren_gpu_action {
	COREN_GPU_REPLY = 0,   /* the answer is in out */
	COREN_GPU_FORWARD = 1, /* pass the message on, as it came, to dest */
	COREN_GPU_ERROR = 2    /* out's payload is the reason (UTF-8) */
};

/* The states the kernel reports in the control block. */
enum coren_gpu_state {
	COREN_GPU_STARTING = 0,
	COREN_GPU_RUNNING = 1,
	COREN_GPU_EXITED = 2
};

#define COREN_GPU_F_ONESHOT 0x1u /* serve what is queued, then exit */
#define COREN_GPU_F_K2K 0x2u	 /* the actor may pass messages on */

/* The control block of one GPU actor, in mapped pinned host memory. The
 * device addresses are those the kernel uses (with unified addressing,
 * the host's too). */
struct coren_gpu_ctl {
	uint32_t magic;		      /*   0 COREN_GPU_MAGIC */
	uint32_t abi;		      /*   4 COREN_GPU_ABI */
	uint32_t actor;		      /*   8 the actor's kernel id */
	uint32_t flags;		      /*  12 COREN_GPU_F_* */
	uint32_t backoff_max_ns;      /*  16 longest idle sleep */
	uint32_t max_hops;	      /*  20 K2K hop limit */
	uint32_t k2k_spins;	      /*  24 full-inbox retries before an error */
	uint32_t batch;		      /*  28 messages per round, at most */
	uint64_t h2d;		      /*  32 struct coren_gpu_ring *, host->device */
	uint64_t d2h;		      /*  40 struct coren_gpu_ring *, device->host */
	uint64_t k2k_in;	      /*  48 own K2K inbox (device memory), or 0 */
	uint64_t k2k_table;	      /*  56 uint64_t[COREN_GPU_K2K_MAX] inboxes by id */
	uint64_t dstate;	      /*  64 the kernel's device state, or 0 */
	uint64_t reserved0[7];	      /*  72 */
	struct coren_gpu_index stop;  /* 128 host: 1 asks the kernel to exit */
	struct coren_gpu_index state; /* 256 device: enum coren_gpu_state */
	uint64_t processed;	      /* 384 device: messages handled */
	uint64_t forwarded;	      /* 392 device: passed on over K2K */
	uint64_t errors;	      /* 400 device: error answers */
	uint64_t idle_polls;	      /* 408 device: empty polls */
	uint64_t reserved1[12];	      /* 416 */
};

COREN_GPU_ASSERT(sizeof(struct coren_gpu_index) == COREN_GPU_LINE, "index line");
COREN_GPU_ASSERT(sizeof(struct coren_gpu_ring) == 384, "ring header");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ring, tail) == 128, "ring tail");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ring, capacity) == 256, "ring capacity");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ring, slot_bytes) == 260, "ring slot_bytes");
COREN_GPU_ASSERT(sizeof(struct coren_rk_header) == COREN_ENV_HEADER_SIZE, "header");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_slot, seq) == 256, "slot seq");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_slot, status) == 260, "slot status");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_slot, device_ns) == 264, "slot device_ns");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_slot, payload) == COREN_GPU_SLOT_META, "slot payload");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ctl, h2d) == 32, "ctl h2d");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ctl, dstate) == 64, "ctl dstate");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ctl, stop) == 128, "ctl stop");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ctl, state) == 256, "ctl state");
COREN_GPU_ASSERT(offsetof(struct coren_gpu_ctl, processed) == 384, "ctl processed");
COREN_GPU_ASSERT(sizeof(struct coren_gpu_ctl) == 512, "control block");

/* ---- acquire and release, on either side -------------------------------- */

COREN_GPU_FN uint32_t coren_gpu_load_acquire(const uint32_t *p)
{
#if defined(__CUDA_ARCH__)
	uint32_t v;

	asm volatile("ld.acquire.sys.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
#else
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}

COREN_GPU_FN void coren_gpu_store_release(uint32_t *p, uint32_t v)
{
#if defined(__CUDA_ARCH__)
	asm volatile("st.release.sys.u32 [%0], %1;" : : "l"(p), "r"(v) : "memory");
#else
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
#endif
}

/* head += 1 if it is still expected: the claim of an MPSC slot. */
COREN_GPU_FN int coren_gpu_cas(uint32_t *p, uint32_t expected, uint32_t desired)
{
#if defined(__CUDA_ARCH__)
	return atomicCAS((unsigned int *)p, expected, desired) == expected;
#else
	return __atomic_compare_exchange_n(p, &expected, desired, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
#endif
}

/* ---- rings ---------------------------------------------------------------- */

/* The bytes of a ring of capacity slots of payload room bytes each. */
COREN_GPU_FN size_t coren_gpu_ring_bytes(uint32_t capacity, uint32_t room)
{
	return sizeof(struct coren_gpu_ring) +
	       (size_t)capacity * (COREN_GPU_SLOT_META + ((room + 127u) & ~127u));
}

/* Lays a ring out in mem (coren_gpu_ring_bytes long, zeroed by the
 * caller): capacity a power of two, room rounded up to 128 bytes. */
COREN_GPU_FN struct coren_gpu_ring *coren_gpu_ring_init(void *mem, uint32_t capacity,
						       uint32_t room, uint32_t flags)
{
	struct coren_gpu_ring *r = (struct coren_gpu_ring *)mem;

	r->capacity = capacity;
	r->slot_bytes = COREN_GPU_SLOT_META + ((room + 127u) & ~127u);
	r->flags = flags;
	return r;
}

/* The bytes of an actor's block: its control block, then the h2d and the
 * d2h ring, each of capacity slots of payload room bytes. */
COREN_GPU_FN size_t coren_gpu_block_bytes(uint32_t capacity, uint32_t room)
{
	return sizeof(struct coren_gpu_ctl) + 2 * coren_gpu_ring_bytes(capacity, room);
}

/* Lays an actor's block out in host (coren_gpu_block_bytes long, zeroed by
 * the caller), dev being the same memory as the device addresses it: the
 * control block's magic, ABI and ring addresses (device side) are set, the
 * rings' host views put in *h2d and *d2h. Returns the control block. */
COREN_GPU_FN struct coren_gpu_ctl *coren_gpu_block_init(void *host, void *dev, uint32_t capacity,
						       uint32_t room, struct coren_gpu_ring **h2d,
						       struct coren_gpu_ring **d2h)
{
	struct coren_gpu_ctl *ctl = (struct coren_gpu_ctl *)host;
	size_t ring = coren_gpu_ring_bytes(capacity, room), at = sizeof *ctl;

	*h2d = coren_gpu_ring_init((char *)host + at, capacity, room, 0);
	*d2h = coren_gpu_ring_init((char *)host + at + ring, capacity, room, 0);
	ctl->magic = COREN_GPU_MAGIC;
	ctl->abi = COREN_GPU_ABI;
	ctl->h2d = (uint64_t)(uintptr_t)((char *)dev + at);
	ctl->d2h = (uint64_t)(uintptr_t)((char *)dev + at + ring);
	return ctl;
}

/* Slot i (any count; taken modulo the capacity). */
COREN_GPU_FN struct coren_gpu_slot *coren_gpu_ring_slot(struct coren_gpu_ring *r,
						       uint32_t i)
{
	return (struct coren_gpu_slot *)((unsigned char *)r + sizeof *r +
					 (size_t)(i & (r->capacity - 1)) * r->slot_bytes);
}

/* The payload room of r's slots. */
COREN_GPU_FN uint32_t coren_gpu_ring_room(const struct coren_gpu_ring *r)
{
	return r->slot_bytes - COREN_GPU_SLOT_META;
}

/* SPSC producer: slots free after the producer's own head. */
COREN_GPU_FN uint32_t coren_gpu_ring_space(struct coren_gpu_ring *r, uint32_t head)
{
	return r->capacity - (head - coren_gpu_load_acquire(&r->tail.v));
}

/* SPSC producer: makes the slots before head visible. */
COREN_GPU_FN void coren_gpu_ring_publish(struct coren_gpu_ring *r, uint32_t head)
{
	coren_gpu_store_release(&r->head.v, head);
}

/* SPSC consumer: slots published after the consumer's own tail. */
COREN_GPU_FN uint32_t coren_gpu_ring_avail(struct coren_gpu_ring *r, uint32_t tail)
{
	return coren_gpu_load_acquire(&r->head.v) - tail;
}

/* Consumer (SPSC and MPSC): the slots before tail may be reused. */
COREN_GPU_FN void coren_gpu_ring_release(struct coren_gpu_ring *r, uint32_t tail)
{
	coren_gpu_store_release(&r->tail.v, tail);
}

/* MPSC producer: claims a slot, checking for room first; its index in
 * *at, or 0 when the ring is full. */
COREN_GPU_FN int coren_gpu_ring_claim(struct coren_gpu_ring *r, uint32_t *at)
{
	for (;;) {
		uint32_t h = coren_gpu_load_acquire(&r->head.v);

		if (h - coren_gpu_load_acquire(&r->tail.v) >= r->capacity)
			return 0;
		if (coren_gpu_cas(&r->head.v, h, h + 1)) {
			*at = h;
			return 1;
		}
	}
}

/* MPSC producer: the claimed slot at is written; make it visible. */
COREN_GPU_FN void coren_gpu_ring_commit(struct coren_gpu_ring *r, uint32_t at)
{
	coren_gpu_store_release(&coren_gpu_ring_slot(r, at)->seq, at + 1);
}

/* MPSC consumer: whether slot tail is written. */
COREN_GPU_FN int coren_gpu_ring_ready(struct coren_gpu_ring *r, uint32_t tail)
{
	return coren_gpu_load_acquire(&coren_gpu_ring_slot(r, tail)->seq) == tail + 1;
}

/* ---- the CUDA entry of a kernel plugin ------------------------------------- */

struct coren_rk_actor;

/* The persistent loop of a handler, compiled by nvcc: COREN_GPU_ENTRY()
 * in coren/rkgpu_serve.h defines one. */
struct coren_gpu_loop {
	/* Launches the persistent kernel serving ctl (a device address):
	 * one block of threads on stream (a cudaStream_t). 0 or a
	 * cudaError_t. */
	int (*launch)(struct coren_gpu_ctl *ctl, unsigned threads, void *stream);
	/* Serves ctl on the calling host thread until asked to stop: the
	 * same code compiled for the host (the backend's emulate mode). */
	void (*emulate)(struct coren_gpu_ctl *ctl);
};

/* What a kernel plugin with a GPU handler sets as the .cuda of its struct
 * coren_kernel_ops (with COREN_KERNEL_F_CUDA). */
struct coren_kernel_cuda {
	uint32_t struct_size;		  /* sizeof(struct coren_kernel_cuda) */
	uint32_t dstate_bytes;		  /* the device state, or 0 */
	const struct coren_gpu_loop *loop;
	/* Optional: writes the device state (dstate_bytes of zeroed host
	 * memory, copied to the device after) from the CPU state that the
	 * kernel's init made for worker 0. Called before the actor's first
	 * message, when every kernel is launched (coren_rk_actor_lookup()). */
	void (*setup)(const void *kstate, void *dstate, struct coren_rk_actor *a);
	/* Optional: the device state (a host copy) as an object. */
	json_t *(*status)(const void *dstate);
};

#ifdef __cplusplus
}
#endif
#endif
