/* cuda - the CUDA backend: one persistent kernel per actor (a block of
 * threads serving its control block until told to stop), host<->device
 * rings in mapped pinned host memory, K2K inboxes in device memory, and a
 * host thread per actor that collects the answers (coren/rkgpu.h).
 *
 * Options: device (index, 0), threads (per block, 256), slot_payload
 * (bytes a ring slot holds, 4096), stop_timeout_ms (2000), backoff_max_ns
 * (2000), stream_priority ("normal" or "high"), emulate (run the kernels'
 * loops on host threads instead: no GPU needed; also $COREN_CUDA_EMULATE=1). */
#include "cuda_int.h"

#include <coren/rkbackend.h>
#include <coren/rkgpu.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEVICES_MAX 16
#define ROUND_MAX 256		/* answers collected at once */
#define SPIN_NS 200000		/* the collector polls this long, then naps */
#define NAP_NS 50000
#define POOL_CLASSES 19		/* 256 B to 64 MiB */
#define POOL_MIN_SHIFT 8

struct pool_block {
	struct pool_block *next;
	void *mem;
};

/* Device memory in power-of-two size classes, kept for reuse. */
struct pool {
	struct pool_block *free[POOL_CLASSES];
	uint64_t allocs, reused, bytes;
};

struct cuda_backend {
	int emulate, device, ndev;
	unsigned threads, stop_timeout_ms;
	uint32_t room, backoff_max_ns;
	int priority;
	struct cudaDeviceProp prop[DEVICES_MAX];
	uint64_t *k2k_table; /* device memory, COREN_GPU_K2K_MAX inbox addresses */
	struct pool pool;
	pthread_mutex_t lock; /* pool, table and done */
	struct done *done;    /* what terminated actors did */
	struct cuda_actor *actors[COREN_GPU_K2K_MAX]; /* by kernel id */
	_Atomic int unset;    /* actors launched since the last set_up_all() */
};

/* The last status of a terminated actor, kept for its final record. */
struct done {
	struct done *next;
	const struct coren_rk_actor *a;
	json_t *status;
};

struct cuda_actor {
	struct cuda_backend *b;
	struct coren_rk_actor *a;
	const struct coren_kernel_cuda *k;
	struct coren_gpu_ctl *ctl;	   /* host view; device view in ctl_dev */
	struct coren_gpu_ctl *ctl_dev;
	struct coren_gpu_ring *h2d, *d2h; /* host views */
	struct coren_gpu_ring *inbox;	   /* device memory, or NULL */
	size_t inbox_bytes;
	void *dstate;			   /* device memory, or NULL */
	cudaStream_t stream;
	pthread_t emu, collector;
	int launched; /* the kernel (or its emulating thread) was started */
	pthread_mutex_t h2d_lock;	   /* the host's producers: send, K2K */
	uint32_t h2d_head, d2h_tail;
	struct coren_rk_msg **refused;	   /* too big for a slot: answered */
	_Atomic size_t nrefused;	   /* answered by the collector */
	size_t refused_cap;		   /* refused, its growth: h2d_lock */
	_Atomic int stop;
	int set_up; /* the device state is written (b->lock) */
};

/* ---- memory: real or emulated ------------------------------------------- */

static enum coren_err cuda_fail(struct coren_error *err, cudaError_t e,
				const char *what)
{
	return coren_error_set(err, e == cudaErrorMemoryAllocation ? COREN_ERR_NOMEM
								  : COREN_ERR_IO,
			       "cuda: %s: %s", what, cudaGetErrorString(e));
}

/* Mapped pinned host memory, zeroed: *host for the host, *dev for kernels. */
static enum coren_err mapped_alloc(struct cuda_backend *b, size_t n, void **host,
				   void **dev, struct coren_error *err)
{
	cudaError_t e;

	if (b->emulate) {
		*host = *dev = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
		if (!*host)
			return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		memset(*host, 0, n);
		return COREN_OK;
	}
	if ((e = cudaHostAlloc(host, n, cudaHostAllocMapped | cudaHostAllocPortable)))
		return cuda_fail(err, e, "pinned host memory");
	memset(*host, 0, n);
	if ((e = cudaHostGetDevicePointer(dev, *host, 0))) {
		cudaFreeHost(*host);
		return cuda_fail(err, e, "mapping host memory");
	}
	return COREN_OK;
}

static void mapped_free(struct cuda_backend *b, void *host)
{
	if (b->emulate)
		free(host);
	else if (host)
		cudaFreeHost(host);
}

static int size_class(size_t n)
{
	int c = 0;

	while (c < POOL_CLASSES && ((size_t)1 << (c + POOL_MIN_SHIFT)) < n)
		c++;
	return c;
}

/* Device memory of at least n bytes, zeroed, from the pool. */
static void *dev_alloc(struct cuda_backend *b, size_t n)
{
	int c = size_class(n);
	size_t size = c < POOL_CLASSES ? (size_t)1 << (c + POOL_MIN_SHIFT) : n;
	struct pool_block *blk = NULL;
	void *mem = NULL;

	pthread_mutex_lock(&b->lock);
	if (c < POOL_CLASSES && (blk = b->pool.free[c])) {
		b->pool.free[c] = blk->next;
		b->pool.reused++;
	}
	b->pool.allocs++;
	b->pool.bytes += size;
	pthread_mutex_unlock(&b->lock);
	if (blk) {
		mem = blk->mem;
		free(blk);
	} else if (b->emulate) {
		mem = aligned_alloc(256, (size + 255) & ~(size_t)255);
	} else if (cudaMalloc(&mem, size)) {
		mem = NULL;
	}
	if (mem && b->emulate)
		memset(mem, 0, size);
	else if (mem && cudaMemset(mem, 0, size))
		mem = NULL;
	return mem;
}

static void dev_free(struct cuda_backend *b, void *mem, size_t n)
{
	int c = size_class(n);
	struct pool_block *blk;

	if (!mem)
		return;
	pthread_mutex_lock(&b->lock);
	b->pool.bytes -= c < POOL_CLASSES ? (size_t)1 << (c + POOL_MIN_SHIFT) : n;
	pthread_mutex_unlock(&b->lock);
	if (c < POOL_CLASSES && (blk = malloc(sizeof *blk))) {
		blk->mem = mem;
		pthread_mutex_lock(&b->lock);
		blk->next = b->pool.free[c];
		b->pool.free[c] = blk;
		pthread_mutex_unlock(&b->lock);
	} else if (b->emulate) {
		free(mem);
	} else {
		cudaFree(mem);
	}
}

static void pool_release(struct cuda_backend *b)
{
	for (int c = 0; c < POOL_CLASSES; c++)
		while (b->pool.free[c]) {
			struct pool_block *blk = b->pool.free[c];

			b->pool.free[c] = blk->next;
			if (b->emulate)
				free(blk->mem);
			else
				cudaFree(blk->mem);
			free(blk);
		}
}

static void copy_to_dev(struct cuda_backend *b, void *dst, const void *src, size_t n)
{
	if (b->emulate)
		memcpy(dst, src, n);
	else
		cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice);
}

static void copy_from_dev(struct cuda_backend *b, void *dst, const void *src, size_t n)
{
	if (b->emulate)
		memcpy(dst, src, n);
	else
		cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost);
}

/* ---- load, capabilities, metadata ----------------------------------------- */

static void cuda_capabilities(struct coren_backend_caps *c)
{
	c->flags = COREN_BACKEND_F_PERSISTENT | COREN_BACKEND_F_K2K |
		   COREN_BACKEND_F_BATCH | COREN_BACKEND_F_GPU;
	c->device_streams = 1;
	c->max_batch = ROUND_MAX;
	c->dtype_mask = (1u << COREN_RK_ENC__COUNT) - 1;
	c->memory_classes = COREN_MEM_PINNED_HOST | COREN_MEM_DEVICE;
}

/* An option of o: an integer from lo to hi, or def when absent. */
static enum coren_err int_option(const json_t *o, const char *key, long long lo,
				 long long hi, long long def, long long *out,
				 struct coren_error *err)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v)
		return COREN_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cuda: option '%s' is not an integer from %lld to %lld",
				       key, lo, hi);
	*out = json_integer_value(v);
	return COREN_OK;
}

static enum coren_err read_options(struct cuda_backend *b, const json_t *o,
				   struct coren_error *err)
{
	const char *env = getenv("COREN_CUDA_EMULATE");
	const json_t *em = json_object_get(o, "emulate");
	const char *prio = json_string_value(json_object_get(o, "stream_priority"));
	long long v[5];
	enum coren_err rc;

	if ((rc = int_option(o, "device", 0, DEVICES_MAX - 1, 0, &v[0], err)) ||
	    (rc = int_option(o, "threads", 32, 1024, 256, &v[1], err)) ||
	    (rc = int_option(o, "slot_payload", 64, COREN_ENV_PAYLOAD_MAX,
			     COREN_GPU_SLOT_PAYLOAD_DEFAULT, &v[2], err)) ||
	    (rc = int_option(o, "stop_timeout_ms", 1, 3600000, 2000, &v[3], err)) ||
	    (rc = int_option(o, "backoff_max_ns", 32, 1000000, 2000, &v[4], err)))
		return rc;
	if (v[1] % 32)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cuda: option 'threads' is not a multiple of 32");
	if (em && !json_is_boolean(em))
		return coren_error_set(err, COREN_ERR_USAGE, "cuda: option 'emulate' is not true or false");
	if (prio && strcmp(prio, "normal") && strcmp(prio, "high"))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cuda: option 'stream_priority' is not normal or high");
	b->device = (int)v[0];
	b->threads = (unsigned)v[1];
	b->room = (uint32_t)v[2];
	b->stop_timeout_ms = (unsigned)v[3];
	b->backoff_max_ns = (uint32_t)v[4];
	b->priority = prio && !strcmp(prio, "high");
	b->emulate = em ? json_is_true(em) : env && !strcmp(env, "1");
	return COREN_OK;
}

/* Finds the devices and makes options.device current. */
static enum coren_err open_devices(struct cuda_backend *b, struct coren_error *err)
{
	cudaError_t e = cudaGetDeviceCount(&b->ndev);

	if (e || !b->ndev)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "no CUDA device: %s",
				       e ? cudaGetErrorString(e) : "none found");
	if (b->ndev > DEVICES_MAX)
		b->ndev = DEVICES_MAX;
	for (int i = 0; i < b->ndev; i++)
		if ((e = cudaGetDeviceProperties(&b->prop[i], i)))
			return cuda_fail(err, e, "device properties");
	if (b->device >= b->ndev)
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "cuda: no device %d (%d found)", b->device, b->ndev);
	if (!b->prop[b->device].canMapHostMemory)
		return coren_error_set(err, COREN_ERR_STATE,
				       "cuda: device %d cannot map host memory", b->device);
	if ((e = cudaSetDevice(b->device)))
		return cuda_fail(err, e, "selecting the device");
	return COREN_OK;
}

static void cuda_unload(void *bstate)
{
	struct cuda_backend *b = bstate;

	if (!b)
		return;
	while (b->done) {
		struct done *d = b->done;

		b->done = d->next;
		json_decref(d->status);
		free(d);
	}
	if (b->k2k_table)
		dev_free(b, b->k2k_table, COREN_GPU_K2K_MAX * sizeof(uint64_t));
	pool_release(b);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static enum coren_err cuda_load(void **bstate, const json_t *options,
				struct coren_error *err)
{
	struct cuda_backend *b = calloc(1, sizeof *b);
	enum coren_err rc;

	if (!b)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&b->lock, NULL);
	rc = read_options(b, options, err);
	if (!rc && !b->emulate)
		rc = open_devices(b, err);
	if (!rc && !(b->k2k_table = dev_alloc(b, COREN_GPU_K2K_MAX * sizeof(uint64_t))))
		rc = coren_error_set(err, COREN_ERR_NOMEM, "cuda: no device memory for the K2K table");
	if (rc) {
		cuda_unload(b);
		return rc;
	}
	*bstate = b;
	return COREN_OK;
}

static json_t *device_json(const struct cudaDeviceProp *p, int i)
{
	char cc[16];

	snprintf(cc, sizeof cc, "%d.%d", p->major, p->minor);
	return json_pack("{s:i,s:s,s:s,s:I,s:i,s:b,s:b,s:b,s:b,s:i}", "index", i,
			 "name", p->name, "compute_capability", cc,
			 "memory", (json_int_t)p->totalGlobalMem,
			 "sms", p->multiProcessorCount,
			 "cooperative_launch", p->cooperativeLaunch,
			 "concurrent_kernels", p->concurrentKernels,
			 "can_map_host_memory", p->canMapHostMemory,
			 "persistent", p->concurrentKernels && p->canMapHostMemory,
			 "l2_bytes", p->l2CacheSize);
}

static json_t *cuda_metadata(void *bstate)
{
	struct cuda_backend *b = bstate;
	json_t *devs = json_array(), *m;
	int rt = 0, drv = 0;

	for (int i = 0; i < b->ndev; i++)
		json_array_append_new(devs, device_json(&b->prop[i], i));
	if (!b->emulate) {
		cudaRuntimeGetVersion(&rt);
		cudaDriverGetVersion(&drv);
	}
	pthread_mutex_lock(&b->lock);
	m = json_pack("{s:o,s:b,s:i,s:i,s:i,s:i,s:i,s:{s:I,s:I,s:I}}", "devices", devs,
		      "emulate", b->emulate, "device", b->device, "threads", (int)b->threads,
		      "slot_payload", (int)b->room, "runtime", rt, "driver", drv, "pool",
		      "allocs", (json_int_t)b->pool.allocs, "reused", (json_int_t)b->pool.reused,
		      "bytes", (json_int_t)b->pool.bytes);
	pthread_mutex_unlock(&b->lock);
	return m;
}

/* ---- the collector: answers out of the device ------------------------------ */

/* A message made from slot s (an error's reason becomes the JSON error). */
static struct coren_rk_msg *from_slot(const struct coren_gpu_slot *s)
{
	uint32_t n = s->hdr.payload_size;
	struct coren_rk_msg *m = coren_rk_msg_new(n);

	if (!m)
		return NULL;
	m->hdr = s->hdr;
	memcpy(m->payload, s->payload, n);
	if (s->status == COREN_GPU_ERROR) {
		char why[512];

		snprintf(why, sizeof why, "%.*s", (int)(n < sizeof why - 1 ? n : sizeof why - 1),
			 (const char *)s->payload);
		coren_rk_msg_set_error(&m, NULL, why);
	}
	return m;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Takes the answers waiting in d2h. How many. */
static size_t collect(struct cuda_actor *ca)
{
	struct coren_rk_msg *m[ROUND_MAX];
	uint32_t n = coren_gpu_ring_avail(ca->d2h, ca->d2h_tail), k = 0;
	uint64_t busy = 0;

	if (n > ROUND_MAX)
		n = ROUND_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct coren_gpu_slot *s = coren_gpu_ring_slot(ca->d2h, ca->d2h_tail + i);

		busy += s->device_ns;
		if ((m[k] = from_slot(s)))
			k++;
	}
	ca->d2h_tail += n;
	coren_gpu_ring_release(ca->d2h, ca->d2h_tail);
	if (k)
		coren_rk_actor_complete(ca->a, m, k, busy);
	return n;
}

/* The device state from the CPU state. */
static void set_up(struct cuda_actor *ca)
{
	void *img;

	if (ca->dstate && ca->k->setup && (img = calloc(1, ca->k->dstate_bytes))) {
		ca->k->setup(coren_rk_actor_kstate(ca->a, 0), img, ca->a);
		copy_to_dev(ca->b, ca->dstate, img, ca->k->dstate_bytes);
		free(img);
	}
	ca->set_up = 1;
}

/* Before the first message of any actor, every actor launched so far
 * gets its device state (a forward finds its destination then, as the
 * CPU handler does at its first message). */
static void set_up_all(struct cuda_backend *b)
{
	if (!atomic_load_explicit(&b->unset, memory_order_acquire))
		return;
	pthread_mutex_lock(&b->lock);
	atomic_store(&b->unset, 0);
	for (size_t i = 0; i < COREN_GPU_K2K_MAX; i++)
		if (b->actors[i] && !b->actors[i]->set_up)
			set_up(b->actors[i]);
	pthread_mutex_unlock(&b->lock);
}

/* Copies m into the next h2d slot (h2d_lock held, room checked). */
static void put(struct cuda_actor *ca, struct coren_rk_msg *m)
{
	struct coren_gpu_slot *s = coren_gpu_ring_slot(ca->h2d, ca->h2d_head++);

	s->hdr = m->hdr;
	memcpy(s->payload, m->payload, m->hdr.payload_size);
	coren_rk_msg_free(m);
}

/* K2K messages from the host's broker go into h2d like the host's own. */
static size_t relay_k2k(struct cuda_actor *ca)
{
	struct coren_rk_msg *m[64];
	size_t k, space;

	if (!coren_rk_actor_k2k_depth(ca->a))
		return 0;
	set_up_all(ca->b);
	if (pthread_mutex_trylock(&ca->h2d_lock))
		return 0;
	space = coren_gpu_ring_space(ca->h2d, ca->h2d_head);
	k = coren_rk_actor_k2k_pop(ca->a, m, space < 64 ? space : 64);
	for (size_t i = 0; i < k; i++)
		if (m[i]->hdr.payload_size > ca->b->room)
			coren_rk_actor_reject(ca->a, &m[i], 1,
					      "the payload is larger than a GPU ring slot");
		else
			put(ca, m[i]);
	if (k)
		coren_gpu_ring_publish(ca->h2d, ca->h2d_head);
	pthread_mutex_unlock(&ca->h2d_lock);
	return k;
}

static void answer_refused(struct cuda_actor *ca)
{
	pthread_mutex_lock(&ca->h2d_lock);
	if (ca->nrefused)
		coren_rk_actor_reject(ca->a, ca->refused, ca->nrefused,
				      "the payload is larger than a GPU ring slot (backend option slot_payload)");
	ca->nrefused = 0;
	pthread_mutex_unlock(&ca->h2d_lock);
}

static void *collector_main(void *arg)
{
	struct cuda_actor *ca = arg;
	uint64_t idle_since = 0;

	for (;;) {
		size_t got = collect(ca) + relay_k2k(ca);

		if (ca->nrefused)
			answer_refused(ca);
		if (coren_rk_actor_parked(ca->a, 0))
			coren_rk_actor_retry(ca->a, 0);
		if (got) {
			idle_since = 0;
			continue;
		}
		if (atomic_load(&ca->stop) &&
		    coren_gpu_load_acquire(&ca->ctl->state.v) == COREN_GPU_EXITED &&
		    !coren_gpu_ring_avail(ca->d2h, ca->d2h_tail))
			break;
		if (!idle_since)
			idle_since = now_ns();
		if (now_ns() - idle_since > SPIN_NS) {
			struct timespec nap = {0, NAP_NS};

			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

/* ---- actors ------------------------------------------------------------------- */

static void *emulate_main(void *arg)
{
	struct cuda_actor *ca = arg;

	ca->k->loop->emulate(ca->ctl_dev);
	return NULL;
}

static enum coren_err make_rings(struct cuda_actor *ca, struct coren_error *err)
{
	struct cuda_backend *b = ca->b;
	uint32_t cap = (uint32_t)coren_rk_actor_queue_capacity(ca->a);
	void *host, *dev;
	enum coren_err rc = mapped_alloc(b, coren_gpu_block_bytes(cap, b->room), &host, &dev, err);

	if (rc)
		return rc;
	ca->ctl = coren_gpu_block_init(host, dev, cap, b->room, &ca->h2d, &ca->d2h);
	ca->ctl_dev = dev;
	ca->ctl->actor = coren_rk_actor_id(ca->a);
	ca->ctl->backoff_max_ns = b->backoff_max_ns;
	ca->ctl->max_hops = coren_rk_actor_config(ca->a)->max_hops
				    ? coren_rk_actor_config(ca->a)->max_hops
				    : COREN_K2K_MAX_HOPS_DEFAULT;
	ca->ctl->k2k_spins = 5000; /* about 5 ms of 1 µs naps */
	ca->ctl->batch = (uint32_t)coren_rk_actor_block(ca->a);
	ca->ctl->k2k_table = (uint64_t)(uintptr_t)b->k2k_table;
	if (coren_rk_actor_may_forward(ca->a))
		ca->ctl->flags |= COREN_GPU_F_K2K;
	return COREN_OK;
}

/* The actor's K2K inbox in device memory, entered in the table. */
static enum coren_err make_inbox(struct cuda_actor *ca, struct coren_error *err)
{
	struct cuda_backend *b = ca->b;
	const struct coren_rk_config *cfg = coren_rk_actor_config(ca->a);
	uint32_t cap = 2, id = coren_rk_actor_id(ca->a);
	struct coren_gpu_ring head;
	uint64_t addr;

	while (cap < (cfg->inbox_capacity ? cfg->inbox_capacity : COREN_K2K_INBOX_DEFAULT))
		cap <<= 1;
	if (id >= COREN_GPU_K2K_MAX)
		return COREN_OK;
	ca->inbox_bytes = coren_gpu_ring_bytes(cap, b->room);
	if (!(ca->inbox = dev_alloc(b, ca->inbox_bytes)))
		return coren_error_set(err, COREN_ERR_NOMEM, "cuda: no device memory for a K2K inbox");
	memset(&head, 0, sizeof head);
	coren_gpu_ring_init(&head, cap, b->room, COREN_GPU_RING_MPSC);
	copy_to_dev(b, ca->inbox, &head, sizeof head);
	addr = (uint64_t)(uintptr_t)ca->inbox;
	copy_to_dev(b, &b->k2k_table[id], &addr, sizeof addr);
	ca->ctl->k2k_in = addr;
	return COREN_OK;
}

/* Waits for the kernel to say running (it may wait for a free SM). */
static enum coren_err await_state(struct cuda_actor *ca, uint32_t state,
				  unsigned timeout_ms, struct coren_error *err)
{
	uint64_t t0 = now_ns();
	struct timespec nap = {0, 20000};

	while (coren_gpu_load_acquire(&ca->ctl->state.v) < state) {
		if (!ca->b->emulate && cudaStreamQuery(ca->stream) != cudaErrorNotReady &&
		    coren_gpu_load_acquire(&ca->ctl->state.v) < state)
			return coren_error_set(err, COREN_ERR_STATE,
					       "cuda: the kernel of '%s' ended: %s",
					       coren_rk_actor_name(ca->a),
					       cudaGetErrorString(cudaStreamQuery(ca->stream)));
		if (now_ns() - t0 > (uint64_t)timeout_ms * 1000000u)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "cuda: the kernel of '%s' did not %s within %u ms",
					       coren_rk_actor_name(ca->a),
					       state == COREN_GPU_RUNNING ? "start (is every SM taken?)"
									  : "stop",
					       timeout_ms);
		nanosleep(&nap, NULL);
	}
	return COREN_OK;
}

static enum coren_err start_kernel(struct cuda_actor *ca, struct coren_error *err)
{
	struct cuda_backend *b = ca->b;
	int lo = 0, hi = 0, e;

	if (b->emulate) {
		if ((e = pthread_create(&ca->emu, NULL, emulate_main, ca)))
			return coren_error_set(err, COREN_ERR_NOMEM, "cuda: cannot start a thread: %s",
					       strerror(e));
	} else {
		cudaDeviceGetStreamPriorityRange(&lo, &hi);
		if ((e = cudaStreamCreateWithPriority(&ca->stream, cudaStreamNonBlocking,
						      b->priority ? hi : lo)))
			return cuda_fail(err, e, "creating a stream");
		if ((e = ca->k->loop->launch(ca->ctl_dev, b->threads, ca->stream)))
			return cuda_fail(err, e, "launching the persistent kernel");
	}
	ca->launched = 1;
	return await_state(ca, COREN_GPU_RUNNING, b->stop_timeout_ms, err);
}

/* Stops the kernel: the flag, then a wait; COREN_ERR_TIMEOUT if it runs on. */
static enum coren_err stop_kernel(struct cuda_actor *ca, struct coren_error *err)
{
	enum coren_err rc;

	coren_gpu_store_release(&ca->ctl->stop.v, 1);
	atomic_store(&ca->stop, 1);
	rc = await_state(ca, COREN_GPU_EXITED, ca->b->stop_timeout_ms, err);
	if (ca->b->emulate && !rc)
		pthread_join(ca->emu, NULL);
	if (!ca->b->emulate && ca->stream && !rc)
		cudaStreamSynchronize(ca->stream);
	return rc;
}

/* Answers what the kernel never took: h2d's slots and the device inbox. */
static void reject_left(struct cuda_actor *ca)
{
	struct coren_rk_msg *m;
	uint32_t tail = ca->h2d->tail.v;

	for (; tail != ca->h2d_head; tail++)
		if ((m = from_slot(coren_gpu_ring_slot(ca->h2d, tail))))
			coren_rk_actor_reject(ca->a, &m, 1, "kernel terminated");
	if (ca->inbox) {
		struct coren_gpu_ring head;
		size_t bytes;
		struct coren_gpu_ring *copy;

		copy_from_dev(ca->b, &head, ca->inbox, sizeof head);
		bytes = coren_gpu_ring_bytes(head.capacity, coren_gpu_ring_room(&head));
		if (!(copy = malloc(bytes)))
			return;
		copy_from_dev(ca->b, copy, ca->inbox, bytes);
		for (tail = copy->tail.v; coren_gpu_ring_ready(copy, tail); tail++)
			if ((m = from_slot(coren_gpu_ring_slot(copy, tail))))
				coren_rk_actor_reject(ca->a, &m, 1, "kernel terminated");
		free(copy);
	}
}

static void actor_release(struct cuda_actor *ca)
{
	struct cuda_backend *b = ca->b;
	uint64_t zero = 0;
	uint32_t id = coren_rk_actor_id(ca->a);

	pthread_mutex_lock(&b->lock);
	if (id < COREN_GPU_K2K_MAX && b->actors[id] == ca)
		b->actors[id] = NULL;
	pthread_mutex_unlock(&b->lock);
	if (ca->inbox) {
		if (id < COREN_GPU_K2K_MAX)
			copy_to_dev(b, &b->k2k_table[id], &zero, sizeof zero);
		dev_free(b, ca->inbox, ca->inbox_bytes);
	}
	if (ca->dstate)
		dev_free(b, ca->dstate, ca->k->dstate_bytes);
	if (!b->emulate && ca->stream)
		cudaStreamDestroy(ca->stream);
	mapped_free(b, ca->ctl);
	free(ca->refused);
	pthread_mutex_destroy(&ca->h2d_lock);
	free(ca);
}

static enum coren_err cuda_init(void *bstate, struct coren_rk_actor *a,
				struct coren_error *err)
{
	struct cuda_backend *b = bstate;
	const struct coren_kernel_cuda *k = coren_rk_actor_cuda(a);
	struct cuda_actor *ca;
	enum coren_err rc;
	int e;

	if (!k || k->struct_size < sizeof *k || !k->loop)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "kernel '%s' has no usable CUDA entry", coren_rk_actor_name(a));
	if (coren_rk_actor_grid(a) != 1)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cuda runs one block per actor: '%s' has grid_size %u, not 1",
				       coren_rk_actor_name(a), coren_rk_actor_grid(a));
	if (!(ca = calloc(1, sizeof *ca)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	ca->b = b;
	ca->a = a;
	ca->k = k;
	pthread_mutex_init(&ca->h2d_lock, NULL);
	rc = make_rings(ca, err);
	if (!rc && k->dstate_bytes) {
		if ((ca->dstate = dev_alloc(b, k->dstate_bytes)))
			ca->ctl->dstate = (uint64_t)(uintptr_t)ca->dstate;
		else
			rc = coren_error_set(err, COREN_ERR_NOMEM, "cuda: no device memory for the state of '%s'",
					     coren_rk_actor_name(a));
	}
	if (!rc && coren_rk_actor_k2k_inbox(a))
		rc = make_inbox(ca, err);
	if (!rc)
		rc = start_kernel(ca, err);
	if (!rc && (e = pthread_create(&ca->collector, NULL, collector_main, ca)))
		rc = coren_error_set(err, COREN_ERR_NOMEM, "cuda: cannot start a thread: %s", strerror(e));
	if (rc) {
		struct coren_error ignored = {0};

		if (ca->launched && stop_kernel(ca, &ignored))
			return rc; /* the kernel may still use its memory: kept */
		actor_release(ca);
		return rc;
	}
	coren_rk_actor_set_data(a, ca);
	if (coren_rk_actor_id(a) < COREN_GPU_K2K_MAX) {
		pthread_mutex_lock(&b->lock);
		b->actors[coren_rk_actor_id(a)] = ca;
		atomic_store(&b->unset, 1);
		pthread_mutex_unlock(&b->lock);
	}
	return COREN_OK;
}

static size_t cuda_infer_batch(void *bstate, struct coren_rk_actor *a,
			       struct coren_rk_msg **msgs, size_t n)
{
	struct cuda_actor *ca = coren_rk_actor_data(a);
	uint32_t space;
	size_t i = 0, put_n = 0;

	set_up_all(bstate);
	pthread_mutex_lock(&ca->h2d_lock);
	space = coren_gpu_ring_space(ca->h2d, ca->h2d_head);
	for (; i < n; i++) {
		if (msgs[i]->hdr.payload_size > ca->b->room) {
			if (ca->nrefused == ca->refused_cap) {
				size_t cap = ca->refused_cap ? 2 * ca->refused_cap : 16;
				struct coren_rk_msg **g = realloc(ca->refused, cap * sizeof *g);

				if (!g)
					break;
				ca->refused = g;
				ca->refused_cap = cap;
			}
			ca->refused[ca->nrefused++] = msgs[i];
			continue;
		}
		if (put_n == space)
			break;
		put(ca, msgs[i]);
		put_n++;
	}
	if (put_n)
		coren_gpu_ring_publish(ca->h2d, ca->h2d_head);
	pthread_mutex_unlock(&ca->h2d_lock);
	return i;
}

static int cuda_infer_one(void *bstate, struct coren_rk_actor *a,
			  struct coren_rk_msg *m)
{
	return cuda_infer_batch(bstate, a, &m, 1) == 1 ? 0 : -1;
}

static enum coren_err cuda_drain(void *bstate, struct coren_rk_actor *a,
				 int timeout_ms, struct coren_error *err)
{
	struct cuda_actor *ca = coren_rk_actor_data(a);
	uint64_t t0 = now_ns();
	struct timespec nap = {0, 50000};

	(void)bstate;
	for (;;) {
		if (coren_gpu_load_acquire(&ca->h2d->tail.v) == ca->h2d_head &&
		    !coren_gpu_ring_avail(ca->d2h, coren_gpu_load_acquire(&ca->d2h->tail.v)) &&
		    !ca->nrefused && !coren_rk_actor_k2k_depth(a))
			return COREN_OK;
		if (timeout_ms >= 0 && now_ns() - t0 > (uint64_t)timeout_ms * 1000000u)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "kernel '%s' did not drain in %d ms",
					       coren_rk_actor_name(a), timeout_ms);
		nanosleep(&nap, NULL);
	}
}

static json_t *live_status(struct cuda_backend *b, struct cuda_actor *ca);

/* Keeps what ca did for its final kernel record. */
static void keep_status(struct cuda_actor *ca)
{
	struct done *d = malloc(sizeof *d);

	if (!d || !(d->status = live_status(ca->b, ca))) {
		free(d);
		return;
	}
	d->a = ca->a;
	pthread_mutex_lock(&ca->b->lock);
	d->next = ca->b->done;
	ca->b->done = d;
	pthread_mutex_unlock(&ca->b->lock);
}

static enum coren_err cuda_reset(void *bstate, struct coren_rk_actor *a,
				 struct coren_error *err)
{
	struct cuda_actor *ca = coren_rk_actor_data(a);
	enum coren_err rc;

	(void)bstate;
	if (!ca)
		return COREN_OK;
	rc = stop_kernel(ca, err);
	if (rc) {
		/* The kernel may still touch its memory: keep it, stop nothing
		 * else that reads it, answer nothing twice. */
		coren_rk_actor_set_data(a, NULL);
		return rc;
	}
	pthread_join(ca->collector, NULL);
	answer_refused(ca);
	reject_left(ca);
	keep_status(ca);
	actor_release(ca);
	coren_rk_actor_set_data(a, NULL);
	return COREN_OK;
}

static json_t *live_status(struct cuda_backend *b, struct cuda_actor *ca)
{
	static const char *const states[] = {"starting", "running", "exited"};
	uint32_t st;
	json_t *r;

	st = coren_gpu_load_acquire(&ca->ctl->state.v);
	r = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "device",
		      b->emulate ? "emulated" : b->prop[b->device].name, "state",
		      states[st < 3 ? st : 2], "processed", (json_int_t)ca->ctl->processed,
		      "forwarded", (json_int_t)ca->ctl->forwarded, "errors",
		      (json_int_t)ca->ctl->errors, "idle_polls", (json_int_t)ca->ctl->idle_polls);
	if (ca->dstate && ca->k->status) {
		void *img = malloc(ca->k->dstate_bytes);

		if (img) {
			copy_from_dev(b, img, ca->dstate, ca->k->dstate_bytes);
			json_object_set_new(r, "kernel_state", ca->k->status(img));
			free(img);
		}
	}
	return r;
}

static json_t *cuda_actor_status(void *bstate, struct coren_rk_actor *a)
{
	struct cuda_backend *b = bstate;
	struct cuda_actor *ca = coren_rk_actor_data(a);
	json_t *r = NULL;

	if (ca)
		return live_status(b, ca);
	pthread_mutex_lock(&b->lock);
	for (struct done *d = b->done; d && !r; d = d->next)
		if (d->a == a)
			r = json_incref(d->status);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static json_t *cuda_probe(void *bstate, double seconds, struct coren_error *err)
{
	struct cuda_backend *b = bstate;
	json_t *gpus = json_array();

	if (b->emulate) {
		json_decref(gpus);
		coren_error_set(err, COREN_ERR_STATE, "cuda: emulated devices cannot be measured");
		return NULL;
	}
	for (int i = 0; i < b->ndev; i++) {
		struct cuda_figures f;
		int e = cuda_measure(i, seconds / b->ndev, &f);
		json_t *g = device_json(&b->prop[i], i);

		if (e)
			json_object_set_new(g, "error", json_string(cudaGetErrorString((cudaError_t)e)));
		json_object_set_new(g, "flops", json_real(f.fp64_flops));
		json_object_set_new(g, "flops_fp32", json_real(f.fp32_flops));
		json_object_set_new(g, "mem_bw", json_real(f.triad_bw));
		json_object_set_new(g, "memcpy_bw", json_real(f.memcpy_bw));
		json_object_set_new(g, "h2d_bw", json_real(f.h2d_bw));
		json_object_set_new(g, "d2h_bw", json_real(f.d2h_bw));
		json_array_append_new(gpus, g);
	}
	cudaSetDevice(b->device);
	return gpus;
}

static const struct coren_backend_ops ops = {
	.struct_size = sizeof ops,
	.capabilities = cuda_capabilities,
	.load = cuda_load,
	.unload = cuda_unload,
	.metadata = cuda_metadata,
	.init = cuda_init,
	.infer_batch = cuda_infer_batch,
	.infer_one = cuda_infer_one,
	.drain = cuda_drain,
	.reset = cuda_reset,
	.actor_status = cuda_actor_status,
	.probe = cuda_probe,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_BACKEND, "cuda", "1.0",
		      "persistent GPU kernels, rings in mapped pinned memory", &ops)
