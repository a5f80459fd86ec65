/* coren/rkbackend.h - what a backend plugin's author needs (coren-rk(3)):
 * the backend operations table, and the runtime calls a backend makes on
 * the actors it runs (an actor: a launched kernel, as its backend sees it).
 *
 * A backend (plugin kind "backend") runs actors: the CPU backend runs
 * persistent worker threads, a CUDA backend a persistent GPU kernel
 * (coren/rkgpu.h). The runtime queues the host's messages with
 * infer_batch or infer_one; the backend's workers take them and hand them
 * to coren_rk_actor_process(), which runs the kernel's handler and routes
 * every outcome. Kernel authors need only coren/rkkernel.h.
 */
#ifndef COREN_RKBACKEND_H
#define COREN_RKBACKEND_H

#include <coren/error.h>
#include <coren/plugin.h>
#include <coren/queue.h>
#include <coren/rkkernel.h>
#include <coren/rkpolicy.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* K2K limits: what 0 in the configuration means, and the most allowed. */
#define COREN_K2K_INBOX_DEFAULT 1024
#define COREN_K2K_MAX_HOPS_DEFAULT 8
#define COREN_K2K_MAX_HOPS_MAX	     255 /* the header counts hops in 8 bits */
#define COREN_K2K_TIMEOUT_MS_DEFAULT 5000
#define COREN_K2K_ENDPOINTS_MAX 4096

/* The runtime's configuration: the host passes it to coren_rk_new(), a
 * backend reads it with coren_rk_actor_config(). */
struct coren_rk_config {
	uint16_t node_id;
	enum coren_dispatch_mode dispatch;
	uint64_t gpu_threshold;	 /* 0: 10000 */
	uint64_t max_memory;	 /* guard limit; 0: 80% of RAM */
	double memory_margin;	 /* negative: 0.1 */
	size_t max_payload;	 /* 0: 64 KiB; used by the memory estimate */
	size_t outbox_capacity;	 /* host-bound messages; 0: 65536 */
	size_t inbox_capacity;	 /* K2K inbox; 0: 1024 */
	unsigned max_hops;	 /* 0: 8 */
	unsigned delivery_timeout_ms; /* 0: 5000 */
	size_t hints_capacity;	 /* 0: 256 */
	/* A handler call longer than this fails its kernel; 0: never. */
	unsigned kernel_timeout_ms;
};

#define COREN_RK_CONFIG_INIT                                                   \
	{                                                                      \
		0, COREN_DISPATCH_CPU_ONLY, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0      \
	}

/* ---- backends (plugin kind "backend") ----------------------------------------- */

struct coren_rk_actor; /* one launched kernel, as its backend sees it */

#define COREN_BACKEND_F_PERSISTENT 0x1u /* actors stay resident */
#define COREN_BACKEND_F_K2K 0x2u	/* kernel-to-kernel messages */
#define COREN_BACKEND_F_BATCH 0x4u	/* infer_batch */
#define COREN_BACKEND_F_GPU 0x8u	/* the dispatcher's GPU target */

/* memory classes */
#define COREN_MEM_HOST 0x1u
#define COREN_MEM_PINNED_HOST 0x2u
#define COREN_MEM_DEVICE 0x4u
#define COREN_MEM_SHARED 0x8u

struct coren_backend_caps {
	uint32_t struct_size;
	uint32_t flags;		 /* COREN_BACKEND_F_* */
	uint32_t device_streams; /* concurrent streams or workers */
	uint32_t max_batch;	 /* messages per infer_batch */
	uint32_t dtype_mask;	 /* 1 << enum coren_rk_encoding accepted */
	uint32_t memory_classes; /* COREN_MEM_* */
};

struct coren_backend_ops {
	uint32_t struct_size; /* sizeof(struct coren_backend_ops) when built */
	void (*capabilities)(struct coren_backend_caps *out);
	/* Opens the backend (options: an object, may be NULL). */
	enum coren_err (*load)(void **bstate, const json_t *options,
			       struct coren_error *err);
	void (*unload)(void *bstate);
	/* Devices, threads, versions: an object (new reference). */
	json_t *(*metadata)(void *bstate);
	/* Starts the persistent workers of actor a. */
	enum coren_err (*init)(void *bstate, struct coren_rk_actor *a,
			       struct coren_error *err);
	/* Queues host messages for a: takes a prefix of msgs and returns its
	 * length (short when a's queues are full: backpressure). */
	size_t (*infer_batch)(void *bstate, struct coren_rk_actor *a,
			      struct coren_rk_msg **msgs, size_t n);
	/* Queues one message: 0, or -1 when full. */
	int (*infer_one)(void *bstate, struct coren_rk_actor *a,
			 struct coren_rk_msg *m);
	/* Waits until a's queues are empty and its workers idle. */
	enum coren_err (*drain)(void *bstate, struct coren_rk_actor *a,
				int timeout_ms, struct coren_error *err);
	/* Stops a's workers (messages still queued are answered with
	 * errors by the runtime). */
	enum coren_err (*reset)(void *bstate, struct coren_rk_actor *a,
				struct coren_error *err);
	/* Something for a is waiting (a K2K message, a state change). */
	void (*wake)(void *bstate, struct coren_rk_actor *a);
	/* Optional (ABI 1.2): what the backend knows of a, an object for the
	 * kernel record (new reference, or NULL). */
	json_t *(*actor_status)(void *bstate, struct coren_rk_actor *a);
	/* Optional (ABI 1.2): measures every device the backend drives for
	 * about seconds in all: the cap record's gpus, an array (new
	 * reference), or NULL with err set. */
	json_t *(*probe)(void *bstate, double seconds, struct coren_error *err);
};

enum coren_rk_state {
	COREN_RK_CREATED = 0,
	COREN_RK_LAUNCHED,
	COREN_RK_ACTIVE,
	COREN_RK_DEACTIVATED,
	COREN_RK_TERMINATED,
	COREN_RK_FAILED /* a handler hung (kernel_timeout_ms): final */
};

/* "created", "launched", "active", "deactivated", "terminated",
 * "failed". */
const char *coren_rk_state_name(enum coren_rk_state s);

/* What a backend reads of an actor. */
uint32_t coren_rk_actor_id(const struct coren_rk_actor *a);
const char *coren_rk_actor_name(const struct coren_rk_actor *a);
unsigned coren_rk_actor_grid(const struct coren_rk_actor *a);	/* workers */
size_t coren_rk_actor_block(const struct coren_rk_actor *a);	/* batch */
size_t coren_rk_actor_queue_capacity(const struct coren_rk_actor *a);
enum coren_rk_state coren_rk_actor_state(const struct coren_rk_actor *a);
struct coren_doorbell *coren_rk_actor_doorbell(struct coren_rk_actor *a);
void *coren_rk_actor_data(const struct coren_rk_actor *a);
void coren_rk_actor_set_data(struct coren_rk_actor *a, void *data);

/* The kernel id of name (0: none), as coren_rk_lookup() sees it. */
uint32_t coren_rk_actor_lookup(const struct coren_rk_actor *a, const char *name);

/* Whether a has a K2K inbox of its own (a GPU copy of a hybrid kernel has
 * none: its CPU copy takes K2K messages), and whether a may pass messages
 * on over K2K. */
bool coren_rk_actor_k2k_inbox(const struct coren_rk_actor *a);
bool coren_rk_actor_may_forward(const struct coren_rk_actor *a);

/* The runtime's configuration (max_hops, delivery_timeout_ms, ...). */
const struct coren_rk_config *coren_rk_actor_config(const struct coren_rk_actor *a);

/* The kernel's CUDA entry (a const struct coren_kernel_cuda *, see
 * coren/rkgpu.h), or NULL; and the CPU state of worker i (its init's). */
const void *coren_rk_actor_cuda(const struct coren_rk_actor *a);
void *coren_rk_actor_kstate(const struct coren_rk_actor *a, unsigned i);

/* Takes up to max K2K messages waiting for a (at most one worker at a
 * time gets any: others get 0). */
size_t coren_rk_actor_k2k_pop(struct coren_rk_actor *a,
			      struct coren_rk_msg **out, size_t max);

/* K2K messages waiting for a. */
size_t coren_rk_actor_k2k_depth(struct coren_rk_actor *a);

/* Runs the CPU handler of worker's state over n messages and routes every
 * outcome (replies to the host, forwards over K2K, errors). Takes the
 * messages. Blocks while the host's outbox is full, never on a full K2K
 * inbox: a message for one is parked with the worker (see below). */
void coren_rk_actor_process(struct coren_rk_actor *a, unsigned worker,
			    struct coren_rk_msg **msgs, size_t n);

/* K2K messages worker parked because their next hop's inbox was full.
 * While a worker has some, its backend calls coren_rk_actor_retry() (at
 * least every millisecond or so, whatever the kernel's state), keeps
 * taking the kernel's K2K inbox, and takes no new host messages: so a
 * cycle of kernels never waits on itself, and the host feels the
 * backpressure. A parked message is delivered when room comes, or
 * answered with a "timeout" error after the delivery timeout; one that
 * finds the worker's parking lot full (as many as a K2K inbox holds) is
 * answered with a "queue_full" error at once. Call both from the
 * worker's own thread (coren_rk_actor_complete's thread for worker 0 of
 * a GPU actor). A worker takes at most coren_rk_actor_k2k_room() K2K
 * messages at a time. */
size_t coren_rk_actor_parked(const struct coren_rk_actor *a, unsigned worker);

/* Offers worker's parked messages again, hands the answers that makes
 * to the host, and returns how many remain parked. */
size_t coren_rk_actor_retry(struct coren_rk_actor *a, unsigned worker);

/* Whether worker was abandoned in a hung handler call (the runtime's
 * kernel_timeout_ms): from then on its backend must not touch its
 * queues; when the call returns, the worker's thread just ends; reset
 * answers what its queue holds, from the resetting thread, and leaves
 * the thread (and what it uses) alone. */
bool coren_rk_actor_abandoned(const struct coren_rk_actor *a, unsigned worker);

/* How many K2K messages worker may take now: the room left in its
 * parking lot, so that a chain loses nothing; when the lot is full and
 * none of it went on for 5 ms (a cycle waits on itself), SIZE_MAX: what
 * it then takes and cannot park is answered with queue_full errors. */
size_t coren_rk_actor_k2k_room(const struct coren_rk_actor *a, unsigned worker);

/* Routes n messages that a's backend handled itself (a GPU): each one
 * addressed to the host (COREN_RK_HOST) is an answer, an error when it
 * has COREN_ENV_F_ERROR; any other is passed on over K2K to its
 * destination. Counts them as processed in busy_ns in all. Takes the
 * messages. Call it from one thread per actor. */
void coren_rk_actor_complete(struct coren_rk_actor *a,
			     struct coren_rk_msg **msgs, size_t n,
			     uint64_t busy_ns);

/* Answers n messages taken for a but never processed (a reset) with
 * errors. Takes the messages. */
void coren_rk_actor_reject(struct coren_rk_actor *a,
			   struct coren_rk_msg **msgs, size_t n,
			   const char *reason);

#ifdef __cplusplus
}
#endif
#endif
