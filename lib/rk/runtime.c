/* runtime.c - the actor runtime: launch, life cycle, the host's send and
 * receive, handler calls and the routing of their outcomes. */
#include "config.h"

#include <coren/json.h>
#include <coren/record.h>
#include <coren/rk.h>

#include "rk_int.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKENDS_MAX 4
#define OUTBOX_DEFAULT 65536
#define QUEUE_DEFAULT 1024
#define BLOCK_DEFAULT 64
#define RELAXED memory_order_relaxed
#define RECV_SPIN 256 /* empty polls before coren_rk_recv sleeps */
/* A full parking lot this long without a delivery: a cycle. */
#define PARK_STALL_US 5000

struct backend {
	const struct coren_plugin *p;
	const struct coren_backend_ops *ops;
	struct coren_backend_caps caps;
	void *state;
};

/* A K2K message waiting for room in its next hop's inbox. */
struct parked {
	struct coren_rk_msg *m;
	uint64_t
	    since_us; /* first refused; it fails after the delivery timeout */
};

/* What one worker owns (only its thread touches it, or whoever holds the
 * actor quiet after a reset): its handler state, its answers to the host,
 * and the K2K messages it parked. A worker never waits for room in an
 * inbox: waiting while its own inbox fills is how a cycle deadlocks. */
struct worker {
	void *kstate;
	uint64_t next_id;
	struct coren_rk_msg **out;
	size_t nout, cap;
	struct parked *park; /* FIFO, park_cap entries */
	size_t npark, park_cap;
	uint64_t moved_us; /* when a parked message last went on */
	/* The handler call in progress, for the watchdog. The worker sets
	 * the plain fields, then call (release); the watchdog reads them
	 * only after it moved call to CALL_ABANDONED, and from then on owns
	 * the worker (its answers, its batch, its parked messages). */
	_Atomic int call;	     /* CALL_* */
	_Atomic uint64_t call_ns;    /* when it began */
	uint64_t call_corr;	     /* the request's correlation id */
	struct coren_rk_msg **batch; /* the batch: batch[next, n) not handled */
	size_t batch_next, batch_n;
};

/* A call is BUSY in the handler, ROUTING while the runtime sends its
 * answer on (the watchdog waits for that), ANSWERED back in the handler. */
enum { CALL_IDLE, CALL_BUSY, CALL_ROUTING, CALL_ANSWERED, CALL_ABANDONED };

struct coren_rk_actor {
	struct coren_rk *rt;
	uint32_t id;
	char *name;
	const struct coren_plugin *plugin;
	const struct coren_kernel_ops *kops;
	struct backend *be;
	struct coren_rk_launch opts;
	_Atomic int state;
	struct coren_doorbell bell;
	void *bdata;
	struct worker *w;
	atomic_flag k2k_lock;
	_Atomic uint64_t received, processed, replied, forwarded, errors;
	_Atomic uint64_t busy_ns, queue_full;
	uint64_t reserved;
	unsigned rr;
	json_t *args; /* the launch arguments (a copy), or NULL */
	struct coren_rk_actor *twin; /* the same kernel on the GPU target (hybrid) */
	struct coren_rk_actor *main; /* whose counters and name: itself, or the twin's */
};

struct coren_rk {
	struct coren_rk_config cfg;
	struct backend be[BACKENDS_MAX];
	unsigned nbe;
	int gpu; /* index of the GPU target, -1 if none */
	int cpu; /* index of the CPU target, -1 if none */
	struct coren_rk_actor **a; /* a[id - 1] */
	uint32_t na;
	struct coren_k2k *k2k;
	struct coren_queue *outbox; /* MPSC of struct coren_rk_msg * */
	struct coren_doorbell outbell;
	struct coren_hlc clock;
	struct coren_dispatcher disp;
	struct coren_guard guard;
	struct coren_hints hints;
	pthread_mutex_t hints_lock;
	_Atomic uint64_t sent, answered, errors;
	_Atomic uint64_t taken; /* by coren_rk_recv */
	uint64_t next_host_id;
	uint64_t start_us;
	/* The watchdog (kernel_timeout_ms): a thread that fails kernels
	 * whose handler hangs. actors_lock guards a and na against launch. */
	pthread_t watchdog;
	int watchdog_on;
	_Atomic int watchdog_stop;
	pthread_mutex_t actors_lock;
	_Atomic uint64_t abandoned;
};

struct coren_rk_ctx {
	struct coren_rk_actor *a;
	struct worker *w;
	struct coren_rk_msg *req;
	int answered;  /* replied or forwarded */
	int req_taken; /* the request itself went on */
	int abandoned; /* the watchdog gave up on this call */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *coren_rk_state_name(enum coren_rk_state s)
{
	static const char *const names[] = {"created",	  "launched",
					    "active",	  "deactivated",
					    "terminated", "failed"};

	return (unsigned)s < 6 ? names[s] : "unknown";
}

/* ---- actor accessors (the backend's view) -------------------------------- */

uint32_t coren_rk_actor_id(const struct coren_rk_actor *a) { return a->id; }
const char *coren_rk_actor_name(const struct coren_rk_actor *a) { return a->name; }
unsigned coren_rk_actor_grid(const struct coren_rk_actor *a) { return a->opts.grid_size; }
size_t coren_rk_actor_block(const struct coren_rk_actor *a) { return a->opts.block_size; }
size_t coren_rk_actor_queue_capacity(const struct coren_rk_actor *a) { return a->opts.queue_capacity; }
struct coren_doorbell *coren_rk_actor_doorbell(struct coren_rk_actor *a) { return &a->bell; }
void *coren_rk_actor_data(const struct coren_rk_actor *a) { return a->bdata; }
void coren_rk_actor_set_data(struct coren_rk_actor *a, void *data) { a->bdata = data; }

enum coren_rk_state coren_rk_actor_state(const struct coren_rk_actor *a)
{
	return (enum coren_rk_state)atomic_load_explicit(&a->state, memory_order_acquire);
}

uint32_t coren_rk_actor_lookup(const struct coren_rk_actor *a, const char *name)
{
	return coren_rk_kernel_id(a->rt, name);
}

bool coren_rk_actor_k2k_inbox(const struct coren_rk_actor *a)
{
	return a->opts.k2k;
}

bool coren_rk_actor_may_forward(const struct coren_rk_actor *a)
{
	return a->main->opts.k2k && a->rt->k2k;
}

const struct coren_rk_config *coren_rk_actor_config(const struct coren_rk_actor *a)
{
	return &a->rt->cfg;
}

/* Whether an operations table (struct_size bytes, as built) has field:
 * nothing past struct_size is ever read, whatever the plugin kind. */
#define OPS_HAS(type, ops, field)                                              \
	((ops)->struct_size >= offsetof(type, field) + sizeof((ops)->field))
#define KOPS_HAS(kops, field) OPS_HAS(struct coren_kernel_ops, kops, field)
#define BOPS_HAS(bops, field) OPS_HAS(struct coren_backend_ops, bops, field)

/* The CUDA entry of a kernel whose ops are new enough to have one. */
static const void *kernel_cuda(const struct coren_kernel_ops *kops)
{
	if (!KOPS_HAS(kops, cuda) || !(kops->flags & COREN_KERNEL_F_CUDA))
		return NULL;
	return kops->cuda;
}

const void *coren_rk_actor_cuda(const struct coren_rk_actor *a)
{
	return kernel_cuda(a->kops);
}

void *coren_rk_actor_kstate(const struct coren_rk_actor *a, unsigned i)
{
	return i < a->opts.grid_size ? a->w[i].kstate : NULL;
}

size_t coren_rk_actor_k2k_pop(struct coren_rk_actor *a,
			      struct coren_rk_msg **out, size_t max)
{
	size_t k;

	if (!a->opts.k2k || !coren_k2k_depth(a->rt->k2k, a->id))
		return 0;
	if (atomic_flag_test_and_set_explicit(&a->k2k_lock, memory_order_acquire))
		return 0;
	k = coren_k2k_recv(a->rt->k2k, a->id, out, max);
	atomic_flag_clear_explicit(&a->k2k_lock, memory_order_release);
	atomic_fetch_add_explicit(&a->received, k, RELAXED);
	return k;
}

size_t coren_rk_actor_k2k_depth(struct coren_rk_actor *a)
{
	return a->opts.k2k ? coren_k2k_depth(a->rt->k2k, a->id) : 0;
}

/* ---- the outbox ------------------------------------------------------------- */

/* Stamps n messages with consecutive HLC timestamps (one clock lock). */
static void stamp_n(struct coren_rk *rt, struct coren_rk_msg **m, size_t n)
{
	struct coren_hlc_ts t;

	if (!n)
		return;
	t = coren_hlc_tick_n(&rt->clock, n);
	for (size_t i = 0; i < n; i++, t.logical++)
		coren_env_set_hlc(&m[i]->hdr, t);
}

/* Stamps n answers and hands them to the host. */
static void outbox_push(struct coren_rk *rt, struct coren_rk_msg **m, size_t n)
{
	stamp_n(rt, m, n);
	while (n) {
		size_t k = coren_queue_push_n(rt->outbox, m, n);

		if (k) {
			atomic_fetch_add_explicit(&rt->answered, k, memory_order_release);
			m += k;
			n -= k;
		}
		coren_doorbell_ring(&rt->outbell);
		if (n)
			sched_yield();
	}
}

/* A message leaving kernel a (its HLC stamp comes with the batch). */
static void stamp(struct coren_rk_actor *a, struct worker *w,
		  struct coren_rk_msg *m)
{
	m->hdr.message_id = w->next_id++;
	m->hdr.source = a->id;
}

/* Queues m for the host from worker w (flushed after the batch). */
static void to_host(struct coren_rk_actor *a, struct worker *w,
		    struct coren_rk_msg *m)
{
	stamp(a, w, m);
	m->hdr.destination = COREN_RK_HOST;
	m->hdr.flags |= COREN_ENV_F_RESPONSE;
	if (w->nout == w->cap) {
		outbox_push(a->rt, w->out, w->nout);
		w->nout = 0;
	}
	w->out[w->nout++] = m;
}

static struct coren_rk_msg *as_error(struct coren_rk_msg *m, const char *reason)
{
	coren_rk_msg_set_error(&m, NULL, reason);
	return m;
}

static void answer_error(struct coren_rk_actor *a, struct worker *w,
			 struct coren_rk_msg *m, const char *reason)
{
	atomic_fetch_add_explicit(&a->errors, 1, RELAXED);
	atomic_fetch_add_explicit(&a->rt->errors, 1, RELAXED);
	to_host(a, w, as_error(m, reason));
}

/* ---- the handler's context ---------------------------------------------- */

static enum coren_err take(struct coren_rk_ctx *ctx, struct coren_rk_msg *m)
{
	int busy = CALL_BUSY;

	/* Claimed (CALL_ROUTING) before the watchdog may give up on the
	 * call; once it has (CALL_ABANDONED), it answered the request. */
	if (!ctx->answered && !atomic_compare_exchange_strong(
				  &ctx->w->call, &busy, CALL_ROUTING)) {
		if (m != ctx->req)
			coren_rk_msg_free(m);
		ctx->answered = 1;
		ctx->abandoned = 1;
		return COREN_ERR_STATE;
	}
	if (ctx->answered) {
		if (m != ctx->req)
			coren_rk_msg_free(m);
		return COREN_ERR_STATE;
	}
	ctx->answered = 1;
	if (m == ctx->req)
		ctx->req_taken = 1;
	m->hdr.correlation_id = ctx->req->hdr.correlation_id;
	if (m != ctx->req) {
		m->hdr.priority = ctx->req->hdr.priority;
		m->hdr.hops = ctx->req->hdr.hops;
		m->hdr.deadline = ctx->req->hdr.deadline;
	}
	return COREN_OK;
}

enum coren_err coren_rk_reply(struct coren_rk_ctx *ctx, struct coren_rk_msg *m)
{
	enum coren_err rc = take(ctx, m);

	if (rc)
		return rc;
	atomic_fetch_add_explicit(&ctx->a->replied, 1, RELAXED);
	to_host(ctx->a, ctx->w, m);
	atomic_store_explicit(&ctx->w->call, CALL_ANSWERED,
			      memory_order_release);
	return COREN_OK;
}

/* Answers m, which K2K did not take (status s), with an error. */
static void k2k_failed(struct coren_rk_actor *a, struct worker *w,
		       struct coren_rk_msg *m, enum coren_k2k_status s)
{
	char why[256];

	snprintf(why, sizeof why, "k2k delivery from '%s' to kernel %u failed: %s",
		 a->name, m->hdr.destination, coren_k2k_status_name(s));
	answer_error(a, w, m, why);
}

/* Sends m over K2K from a without waiting: a full inbox parks m (retried
 * by park_retry until the delivery timeout), a full parking lot answers
 * it with a queue_full error, any other failure with its own error. */
static void k2k_send(struct coren_rk_actor *a, struct worker *w,
		     struct coren_rk_msg *m)
{
	enum coren_k2k_status s = rk_k2k_offer(a->rt->k2k, m);

	if (s == COREN_K2K_DELIVERED || s == COREN_K2K_PENDING)
		return;
	if (s == COREN_K2K_QUEUE_FULL && w->npark < w->park_cap) {
		if (!w->npark)
			w->moved_us = coren_hlc_wall_us();
		w->park[w->npark].m = m;
		w->park[w->npark++].since_us = coren_hlc_wall_us();
		return;
	}
	if (s == COREN_K2K_QUEUE_FULL)
		rk_k2k_give_up(a->rt->k2k, m, s);
	k2k_failed(a, w, m, s);
}

/* Offers w's parked messages again, oldest first; those past the delivery
 * timeout are answered with a timeout error. Returns how many remain. */
static size_t park_retry(struct coren_rk_actor *a, struct worker *w)
{
	uint64_t now = coren_hlc_wall_us(), limit;
	size_t keep = 0;

	if (!w->npark)
		return 0;
	limit = (uint64_t)(a->rt->cfg.delivery_timeout_ms
			       ? a->rt->cfg.delivery_timeout_ms
			       : COREN_K2K_TIMEOUT_MS_DEFAULT) *
		1000;
	for (size_t i = 0; i < w->npark; i++) {
		struct parked p = w->park[i];
		enum coren_k2k_status s = rk_k2k_offer(a->rt->k2k, p.m);

		if (s == COREN_K2K_DELIVERED || s == COREN_K2K_PENDING) {
			w->moved_us = now;
			continue;
		}
		if (s == COREN_K2K_QUEUE_FULL && now - p.since_us < limit) {
			w->park[keep++] = p;
			continue;
		}
		if (s == COREN_K2K_QUEUE_FULL)
			s = rk_k2k_give_up(a->rt->k2k, p.m, COREN_K2K_TIMEOUT);
		k2k_failed(a, w, p.m, s);
	}
	w->npark = keep;
	return keep;
}

enum coren_err coren_rk_forward(struct coren_rk_ctx *ctx, uint32_t dest,
				struct coren_rk_msg *m)
{
	enum coren_err rc = take(ctx, m);

	if (rc)
		return rc;
	atomic_fetch_add_explicit(&ctx->a->forwarded, 1, RELAXED);
	stamp(ctx->a, ctx->w, m);
	coren_env_set_hlc(&m->hdr, coren_hlc_tick(&ctx->a->rt->clock));
	m->hdr.destination = dest;
	m->hdr.flags |= COREN_ENV_F_K2K;
	if (!ctx->a->rt->k2k || !ctx->a->opts.k2k)
		answer_error(ctx->a, ctx->w, m, "k2k is off for this kernel");
	else
		k2k_send(ctx->a, ctx->w, m);
	atomic_store_explicit(&ctx->w->call, CALL_ANSWERED,
			      memory_order_release);
	return COREN_OK;
}

uint32_t coren_rk_lookup(struct coren_rk_ctx *ctx, const char *name)
{
	return coren_rk_kernel_id(ctx->a->rt, name);
}

uint32_t coren_rk_self(struct coren_rk_ctx *ctx)
{
	return ctx->a->id;
}

/* ---- processing ------------------------------------------------------------ */

/* The kernel whose handler this thread runs, for a crash report. */
static _Thread_local const char *handling;

const char *coren_rk_handling(void)
{
	return handling;
}

/* Calls the handler on m, letting the watchdog see the call. Returns 0,
 * or -1 when the watchdog abandoned it (the worker is no longer its
 * own: touch nothing). */
static int call_handler(struct coren_rk_actor *a, struct worker *w,
			struct coren_rk_ctx *ctx, struct coren_rk_msg *m,
			enum coren_err *rc, struct coren_error *err)
{
	int expect = CALL_BUSY;

	w->call_corr = m->hdr.correlation_id;
	atomic_store_explicit(&w->call_ns, now_ns(), RELAXED);
	atomic_store_explicit(&w->call, CALL_BUSY, memory_order_release);
	handling = a->name;
	*rc = a->kops->handle(w->kstate, ctx, m, err);
	handling = NULL;
	if (atomic_compare_exchange_strong(&w->call, &expect, CALL_IDLE))
		return 0;
	if (expect == CALL_ANSWERED &&
	    atomic_compare_exchange_strong(&w->call, &expect, CALL_IDLE))
		return 0;
	if (!ctx->req_taken) /* else the watchdog handed it to the host */
		coren_rk_msg_free(m);
	return -1;
}

static int handle_one(struct coren_rk_actor *a, struct worker *w,
		      struct coren_rk_msg *m)
{
	struct coren_rk_ctx ctx = {a, w, m, 0, 0, 0};
	struct coren_error err = {0};
	enum coren_err rc;

	atomic_fetch_add_explicit(&a->processed, 1, RELAXED);
	if (m->hdr.destination != a->id) { /* passing through */
		m->hdr.source = a->id;
		k2k_send(a, w, m);
		return 0;
	}
	if (call_handler(a, w, &ctx, m, &rc, &err))
		return -1;
	if (rc && !ctx.answered) {
		answer_error(a, w, m, err.msg[0] ? err.msg : coren_strerror(rc));
		return 0;
	}
	if (rc)
		atomic_fetch_add_explicit(&a->errors, 1, RELAXED);
	if (!ctx.answered) {
		m->hdr.payload_size = 0;
		m->hdr.encoding = COREN_RK_ENC_RAW;
		atomic_fetch_add_explicit(&a->replied, 1, RELAXED);
		to_host(a, w, m);
	} else if (!ctx.req_taken) {
		coren_rk_msg_free(m);
	}
	return 0;
}

/* Hands worker w's answers to the host. */
static void flush(struct coren_rk_actor *a, struct worker *w)
{
	if (w->nout) {
		outbox_push(a->rt, w->out, w->nout);
		w->nout = 0;
	}
}

/* Books a batch of n messages (bytes of payload) that took ns on a's
 * backend: busy time, the dispatcher's sample, the hot-path hint. */
static void batch_done(struct coren_rk_actor *a, size_t n, uint64_t bytes,
		       uint64_t ns)
{
	bool gpu = a->be->caps.flags & COREN_BACKEND_F_GPU;

	atomic_fetch_add_explicit(&a->main->busy_ns, ns, RELAXED);
	coren_dispatch_record(&a->rt->disp, gpu ? COREN_TARGET_GPU : COREN_TARGET_CPU,
			      bytes / 4, (double)ns);
	pthread_mutex_lock(&a->rt->hints_lock);
	coren_hints_record(&a->rt->hints, a->name, (double)ns / (double)n, bytes);
	pthread_mutex_unlock(&a->rt->hints_lock);
}

size_t coren_rk_actor_parked(const struct coren_rk_actor *a, unsigned worker)
{
	return worker < a->opts.grid_size ? a->w[worker].npark : 0;
}

bool coren_rk_actor_abandoned(const struct coren_rk_actor *a, unsigned worker)
{
	return worker < a->opts.grid_size &&
	       atomic_load_explicit(&a->w[worker].call, memory_order_acquire) ==
		   CALL_ABANDONED;
}

size_t coren_rk_actor_k2k_room(const struct coren_rk_actor *a, unsigned worker)
{
	const struct worker *w;

	if (worker >= a->opts.grid_size)
		return 0;
	w = &a->w[worker];
	if (w->npark < w->park_cap)
		return w->park_cap - w->npark;
	/* Full, and nothing went on for a while: the next hops wait on this
	 * one (a cycle). Taking more breaks the wait: what cannot park is
	 * answered with queue_full errors. */
	return coren_hlc_wall_us() - w->moved_us >= PARK_STALL_US ? SIZE_MAX
								  : 0;
}

size_t coren_rk_actor_retry(struct coren_rk_actor *a, unsigned worker)
{
	struct worker *w = &a->w[worker];
	size_t left;

	if (!w->npark)
		return 0;
	left = park_retry(a, w);
	flush(a, w);
	return left;
}

void coren_rk_actor_process(struct coren_rk_actor *a, unsigned worker,
			    struct coren_rk_msg **msgs, size_t n)
{
	struct worker *w = &a->w[worker];
	uint64_t t0 = now_ns(), bytes = 0;

	park_retry(a, w);
	w->batch = msgs;
	w->batch_n = n;
	for (size_t i = 0; i < n; i++) {
		bytes += msgs[i]->hdr.payload_size;
		w->batch_next = i + 1;
		if (handle_one(a, w, msgs[i]))
			return; /* abandoned: the watchdog answered the rest */
	}
	w->batch_n = 0;
	flush(a, w);
	batch_done(a, n, bytes, now_ns() - t0);
}

void coren_rk_actor_complete(struct coren_rk_actor *a,
			     struct coren_rk_msg **msgs, size_t n,
			     uint64_t busy_ns)
{
	struct coren_rk_actor *m = a->main;
	struct worker *w = &a->w[0];
	uint64_t bytes = 0;

	park_retry(a, w);
	for (size_t i = 0; i < n; i++) {
		struct coren_rk_msg *x = msgs[i];

		bytes += x->hdr.payload_size;
		if (x->hdr.destination != COREN_RK_HOST && !coren_rk_actor_may_forward(a)) {
			answer_error(m, w, x, "k2k is off for this kernel");
		} else if (x->hdr.destination != COREN_RK_HOST) {
			atomic_fetch_add_explicit(&m->forwarded, 1, RELAXED);
			stamp(a, w, x);
			coren_env_set_hlc(&x->hdr, coren_hlc_tick(&a->rt->clock));
			x->hdr.flags |= COREN_ENV_F_K2K;
			k2k_send(a, w, x);
		} else if (x->hdr.flags & COREN_ENV_F_ERROR) {
			atomic_fetch_add_explicit(&m->errors, 1, RELAXED);
			atomic_fetch_add_explicit(&a->rt->errors, 1, RELAXED);
			to_host(a, w, x);
		} else {
			atomic_fetch_add_explicit(&m->replied, 1, RELAXED);
			to_host(a, w, x);
		}
	}
	flush(a, w);
	atomic_fetch_add_explicit(&m->processed, n, RELAXED);
	if (n)
		batch_done(a, n, bytes, busy_ns);
}

void coren_rk_actor_reject(struct coren_rk_actor *a,
			   struct coren_rk_msg **msgs, size_t n,
			   const char *reason)
{
	struct worker *w = &a->w[0];

	for (size_t i = 0; i < n; i++)
		answer_error(a, w, msgs[i], reason);
	flush(a, w);
}

/* ---- the watchdog (kernel_timeout_ms)
 * ------------------------------------------- */

/* The watchdog owns w (abandoned in a call to a's handler, which was
 * answered when answered is set): the request gets an error, so do the
 * rest of the batch and what w parked, and w's answers go to the host. */
static void take_over(struct coren_rk_actor *a, struct worker *w, int answered,
		      const char *why)
{
	if (!answered) {
		struct coren_rk_msg *m = coren_rk_msg_new(0);

		if (m) {
			m->hdr.correlation_id = w->call_corr;
			answer_error(a, w, m, why);
		}
	}
	for (size_t i = w->batch_next; i < w->batch_n; i++) {
		atomic_fetch_add_explicit(&a->processed, 1, RELAXED);
		answer_error(a, w, w->batch[i], why);
	}
	w->batch_n = 0;
	for (size_t j = 0; j < w->npark; j++)
		answer_error(a, w, w->park[j].m, why);
	w->npark = 0;
	flush(a, w);
}

/* Fails kernel a, whose worker w hung: w's messages are answered, the
 * backend stops the other workers (answering their queues), and what
 * waits in a's K2K inbox is answered too. */
static void fail_kernel(struct coren_rk *rt, struct coren_rk_actor *a,
			struct worker *w, int answered)
{
	int st = atomic_load(&a->state), terminating = 0;
	struct coren_rk_msg *m[64];
	char why[256];
	size_t k;

	snprintf(why, sizeof why,
		 "kernel '%s' failed: its handler ran longer than %u ms "
		 "(kernel_timeout_ms)",
		 a->name, rt->cfg.kernel_timeout_ms);
	atomic_fetch_add(&rt->abandoned, 1);
	/* Failed before anything is answered: a host that sees every
	 * message answered may terminate the kernel next, and terminate
	 * leaves a failed kernel alone. A terminate that came first owns
	 * the rest. */
	do
		if (st == COREN_RK_TERMINATED || st == COREN_RK_FAILED) {
			terminating = 1;
			break;
		}
	while (!atomic_compare_exchange_weak(&a->state, &st, COREN_RK_FAILED));
	take_over(a, w, answered, why);
	if (terminating)
		return;
	coren_doorbell_ring(&a->bell);
	a->be->ops->reset(a->be->state, a, NULL);
	while ((k = coren_rk_actor_k2k_pop(a, m, 64)))
		coren_rk_actor_reject(a, m, k, why);
}

/* A worker of a whose call has run past the limit: abandoned, and the
 * kernel failed. */
static void watch_actor(struct coren_rk *rt, struct coren_rk_actor *a,
			uint64_t now)
{
	uint64_t limit = (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u;
	struct coren_rk_msg *m[64];
	size_t k;

	if (atomic_load(&a->state) == COREN_RK_FAILED) {
		/* K2K messages that still reach it are answered here. */
		while ((k = coren_rk_actor_k2k_pop(a, m, 64)))
			coren_rk_actor_reject(a, m, k,
					      "kernel failed: a handler hung");
		return;
	}
	if (atomic_load(&a->state) == COREN_RK_TERMINATED || !a->w)
		return;
	for (unsigned i = 0; i < a->opts.grid_size; i++) {
		struct worker *w = &a->w[i];
		int c = atomic_load_explicit(&w->call, memory_order_acquire);
		uint64_t t0;

		if (c != CALL_BUSY && c != CALL_ANSWERED)
			continue;
		/* a call that began after now was read is not late */
		t0 = atomic_load_explicit(&w->call_ns, RELAXED);
		if (now < t0 || now - t0 < limit)
			continue;
		if (atomic_compare_exchange_strong(&w->call, &c,
						   CALL_ABANDONED)) {
			fail_kernel(rt, a, w, c == CALL_ANSWERED);
			return;
		}
	}
}

static void *watchdog_main(void *arg)
{
	struct coren_rk *rt = arg;
	unsigned step_ms =
	    rt->cfg.kernel_timeout_ms / 4 ? rt->cfg.kernel_timeout_ms / 4 : 1;
	struct timespec nap = {step_ms / 1000,
			       (long)(step_ms % 1000) * 1000000};

	if (step_ms > 100)
		nap = (struct timespec){0, 100000000};
	while (!atomic_load(&rt->watchdog_stop)) {
		uint64_t now = now_ns();

		pthread_mutex_lock(&rt->actors_lock);
		for (uint32_t id = 1; id <= rt->na; id++)
			watch_actor(rt, rt->a[id - 1], now);
		pthread_mutex_unlock(&rt->actors_lock);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

uint64_t coren_rk_abandoned(struct coren_rk *rt)
{
	return atomic_load(&rt->abandoned);
}

/* ---- the runtime ------------------------------------------------------------- */

enum coren_err coren_rk_new(const struct coren_rk_config *config,
			    struct coren_rk **out, struct coren_error *err)
{
	static const struct coren_rk_config defaults = COREN_RK_CONFIG_INIT;
	struct coren_rk *rt = calloc(1, sizeof *rt);
	enum coren_err rc;

	if (!rt)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rt->cfg = config ? *config : defaults;
	if (!rt->cfg.max_payload || rt->cfg.max_payload > COREN_ENV_PAYLOAD_MAX)
		rt->cfg.max_payload = COREN_ENV_PAYLOAD_MAX;
	rt->gpu = -1;
	rt->cpu = -1;
	coren_hlc_init(&rt->clock, rt->cfg.node_id);
	coren_dispatch_init(&rt->disp, rt->cfg.dispatch, rt->cfg.gpu_threshold, false);
	coren_guard_init(&rt->guard, rt->cfg.max_memory, rt->cfg.memory_margin);
	coren_doorbell_init(&rt->outbell);
	pthread_mutex_init(&rt->hints_lock, NULL);
	pthread_mutex_init(&rt->actors_lock, NULL);
	rt->start_us = coren_hlc_wall_us();
	rc = coren_hints_init(&rt->hints, rt->cfg.hints_capacity, 0);
	if (rc)
		coren_error_set(err, rc, "out of memory");
	if (!rc)
		rc = coren_queue_new(COREN_QUEUE_MPSC,
				     rk_pow2_at_least(rt->cfg.outbox_capacity ? rt->cfg.outbox_capacity
									     : OUTBOX_DEFAULT),
				     sizeof(struct coren_rk_msg *),
				     &rt->outbox, err);
	if (!rc)
		rc = coren_k2k_new(rt->cfg.inbox_capacity, rt->cfg.max_hops,
				   rt->cfg.delivery_timeout_ms, &rt->k2k, err);
	if (!rc && rt->cfg.kernel_timeout_ms) {
		if (pthread_create(&rt->watchdog, NULL, watchdog_main, rt))
			rc = coren_error_set(err, COREN_ERR_NOMEM,
					     "cannot start the watchdog");
		else
			rt->watchdog_on = 1;
	}
	if (rc) {
		coren_rk_free(rt);
		return rc;
	}
	*out = rt;
	return COREN_OK;
}

enum coren_err coren_rk_add_backend(struct coren_rk *rt,
				    const struct coren_plugin *p,
				    const json_t *options,
				    struct coren_error *err)
{
	const struct coren_backend_ops *ops = p->desc->ops;
	struct backend *b;
	enum coren_err rc;

	if (p->desc->kind != COREN_PLUGIN_BACKEND)
		return coren_error_set(err, COREN_ERR_PLUGIN_KIND,
				       "plugin '%s' is not a backend", p->desc->name);
	if (rt->nbe == BACKENDS_MAX)
		return coren_error_set(err, COREN_ERR_USAGE, "at most %d backends",
				       BACKENDS_MAX);
	if (!ops || !BOPS_HAS(ops, reset) ||
	    !ops->capabilities || !ops->load || !ops->init || !ops->infer_batch ||
	    !ops->drain || !ops->reset)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "backend '%s' lacks required operations", p->desc->name);
	b = &rt->be[rt->nbe];
	memset(b, 0, sizeof *b);
	b->p = p;
	b->ops = ops;
	b->caps.struct_size = sizeof b->caps;
	ops->capabilities(&b->caps);
	rc = ops->load(&b->state, options, err);
	if (rc)
		return rc;
	if (b->caps.flags & COREN_BACKEND_F_GPU && rt->gpu < 0) {
		rt->gpu = (int)rt->nbe;
		rt->disp.gpu_present = true;
		if (!rt->nbe && rt->disp.mode == COREN_DISPATCH_CPU_ONLY)
			rt->disp.mode = rt->cfg.dispatch = COREN_DISPATCH_GPU_ONLY;
	} else if (!(b->caps.flags & COREN_BACKEND_F_GPU) && rt->cpu < 0) {
		rt->cpu = (int)rt->nbe;
	}
	rt->nbe++;
	return COREN_OK;
}

static void normalise(struct coren_rk_launch *o)
{
	o->queue_capacity = rk_pow2_at_least(o->queue_capacity ? o->queue_capacity : QUEUE_DEFAULT);
	if (!o->block_size)
		o->block_size = BLOCK_DEFAULT;
	if (!o->grid_size)
		o->grid_size = 1;
}

uint64_t coren_rk_memory_estimate(const struct coren_rk *rt,
				  const struct coren_rk_launch *opts)
{
	struct coren_rk_launch o = *opts;
	uint64_t per_msg = sizeof(struct coren_rk_msg) + rt->cfg.max_payload + 8;
	uint64_t slots;

	normalise(&o);
	slots = (uint64_t)o.grid_size * o.queue_capacity;
	if (o.k2k)
		slots += rk_pow2_at_least(rt->cfg.inbox_capacity ? rt->cfg.inbox_capacity
							    : COREN_K2K_INBOX_DEFAULT);
	return slots * per_msg + (uint64_t)o.grid_size * o.block_size * 8;
}

static void actor_free(struct coren_rk_actor *a)
{
	if (!a)
		return;
	actor_free(a->twin);
	if (a->w) {
		for (unsigned i = 0; i < a->opts.grid_size; i++) {
			if (a->kops->fini && a->w[i].kstate)
				a->kops->fini(a->w[i].kstate);
			free(a->w[i].out);
			free(a->w[i].park);
		}
		free(a->w);
	}
	json_decref(a->args);
	free(a->name);
	free(a);
}

static enum coren_err check_name(const struct coren_rk *rt, const char *name,
				 struct coren_error *err)
{
	if (!*name || strlen(name) >= COREN_HINTS_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "kernel name '%s' is not 1 to 63 letters, digits, '_', '-' or '.'",
				       name);
	if (!strcmp(name, "host") || coren_rk_kernel_id(rt, name))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "kernel name '%s' is taken", name);
	return COREN_OK;
}

static enum coren_err make_workers(struct coren_rk_actor *a, const json_t *args,
				   struct coren_error *err)
{
	json_t *empty = args ? NULL : json_object();
	enum coren_err rc = COREN_OK;

	a->w = calloc(a->opts.grid_size, sizeof *a->w);
	if (!a->w)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < a->opts.grid_size && !rc; i++) {
		struct worker *w = &a->w[i];

		w->cap = a->opts.block_size;
		w->out = malloc(w->cap * sizeof *w->out);
		w->park_cap = rk_k2k_inbox_capacity(a->rt->k2k);
		w->park = malloc(w->park_cap * sizeof *w->park);
		w->next_id = (uint64_t)a->id << 48 | (uint64_t)i << 40 | 1;
		if (!w->out || !w->park)
			rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		else if (a->kops->init)
			rc = a->kops->init(&w->kstate, args ? args : empty, err);
	}
	json_decref(empty);
	return rc;
}

/* The backend a kernel goes on (-1 with err set when none can run it), and
 * in *twin the GPU target for a second copy (hybrid, adaptive), or -1. */
static int place(const struct coren_rk *rt, const char *name,
		 const struct coren_kernel_ops *kops, int *twin,
		 struct coren_error *err)
{
	bool cuda = kernel_cuda(kops) != NULL;
	enum coren_dispatch_mode mode = rt->disp.mode;
	int at = mode == COREN_DISPATCH_GPU_ONLY && rt->gpu >= 0 ? rt->gpu : 0;

	*twin = -1;
	if ((mode == COREN_DISPATCH_HYBRID || mode == COREN_DISPATCH_ADAPTIVE) &&
	    rt->gpu >= 0 && rt->cpu >= 0 && cuda) {
		*twin = rt->gpu;
		return rt->cpu;
	}
	if (at == rt->gpu && !cuda) {
		coren_error_set(err, COREN_ERR_USAGE,
				"kernel '%s' has no CUDA entry: it cannot run on backend '%s'",
				name, rt->be[at].p->desc->name);
		return -1;
	}
	return at;
}

/* Makes and starts actor a (its fields but workers set) on backend be. */
static enum coren_err actor_start(struct coren_rk *rt, struct coren_rk_actor *a,
				  const json_t *args, struct coren_error *err)
{
	enum coren_err rc;

	atomic_flag_clear(&a->k2k_lock);
	coren_doorbell_init(&a->bell);
	a->reserved = coren_rk_memory_estimate(rt, &a->opts);
	rc = coren_guard_reserve(&rt->guard, a->reserved, err);
	if (rc) {
		char why[COREN_ERROR_MSG_MAX];

		snprintf(why, sizeof why, "%s", err ? err->msg : "");
		coren_error_set(err, rc, "cannot launch '%s': %s", a->name, why);
		a->reserved = 0;
	}
	if (!rc)
		rc = make_workers(a, args, err);
	if (!rc && a->opts.k2k)
		rc = coren_k2k_register(rt->k2k, a->id, &a->bell, err);
	atomic_store(&a->state, a->opts.auto_activate ? COREN_RK_ACTIVE : COREN_RK_LAUNCHED);
	if (!rc)
		rc = a->be->ops->init(a->be->state, a, err);
	if (rc) {
		coren_guard_free(&rt->guard, a->reserved, false);
		a->reserved = 0;
		return rc;
	}
	coren_guard_commit(&rt->guard, a->reserved);
	return COREN_OK;
}

/* The GPU copy of a (hybrid): one worker, no K2K inbox of its own. */
static enum coren_err twin_start(struct coren_rk *rt, struct coren_rk_actor *a,
				 int be, const json_t *args, struct coren_error *err)
{
	struct coren_rk_actor *t = calloc(1, sizeof *t);
	enum coren_err rc;

	if (!t || !(t->name = strdup(a->name))) {
		free(t);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	t->rt = rt;
	t->id = a->id;
	t->plugin = a->plugin;
	t->kops = a->kops;
	t->be = &rt->be[be];
	t->opts = a->opts;
	t->opts.grid_size = 1;
	t->opts.k2k = false;
	t->main = a;
	rc = actor_start(rt, t, args, err);
	if (rc) {
		actor_free(t);
		return rc;
	}
	a->twin = t;
	return COREN_OK;
}

/* The argument table of kops, if its ops are new enough to have one. */
static const struct coren_kernel_arg *
kernel_args(const struct coren_kernel_ops *kops)
{
	if (kops->struct_size <
	    offsetof(struct coren_kernel_ops, args) + sizeof kops->args)
		return NULL;
	return kops->args;
}

static const char *const karg_type_names[] = {
    "", "a number", "an integer", "a string", "true or false", "a kernel name"};

/* Whether v is of type t (and within its range). */
static int karg_ok(const struct coren_kernel_arg *d, const json_t *v)
{
	switch (d->type) {
	case COREN_KARG_NUMBER:
	case COREN_KARG_INTEGER:
		if (d->type == COREN_KARG_INTEGER ? !json_is_integer(v)
						  : !json_is_number(v))
			return 0;
		return d->min >= d->max || (json_number_value(v) >= d->min &&
					    json_number_value(v) <= d->max);
	case COREN_KARG_BOOL:
		return json_is_boolean(v);
	default:
		return json_is_string(v) && *json_string_value(v);
	}
}

/* Checks args against the table of the kernel plugin p, launched as name. */
static enum coren_err check_args(const char *name, const struct coren_plugin *p,
				 const json_t *args, struct coren_error *err)
{
	const struct coren_kernel_arg *t = kernel_args(p->desc->ops), *d;
	const char *key;
	json_t *v, *obj;
	char *text;

	if (!t)
		return COREN_OK;
	memcpy(&obj, &args,
	       sizeof obj); /* jansson iterates non-const objects */
	json_object_foreach(obj, key, v)
	{
		for (d = t; d->name && strcmp(d->name, key); d++)
			;
		if (!d->name) {
			char names[256] = "";

			for (d = t; d->name; d++)
				snprintf(names + strlen(names),
					 sizeof names - strlen(names), "%s%s",
					 d == t ? "" : ", ", d->name);
			return coren_error_set(
			    err, COREN_ERR_USAGE,
			    "kernel '%s': unknown argument '%s' (%s takes %s)",
			    name, key, p->desc->name, *names ? names : "none");
		}
		if (karg_ok(d, v))
			continue;
		text = json_dumps(v, JSON_ENCODE_ANY);
		if (d->min < d->max &&
		    (d->type == COREN_KARG_NUMBER ||
		     d->type == COREN_KARG_INTEGER) &&
		    json_is_number(v) &&
		    (d->type != COREN_KARG_INTEGER || json_is_integer(v)))
			coren_error_set(err, COREN_ERR_USAGE,
					"kernel '%s': argument '%s' is %s, not "
					"from %g to %g",
					name, key, text ? text : "?", d->min,
					d->max);
		else
			coren_error_set(
			    err, COREN_ERR_USAGE,
			    "kernel '%s': argument '%s' is %s, not %s", name,
			    key, text ? text : "?",
			    karg_type_names[d->type < 6 ? d->type : 0]);
		free(text);
		return COREN_ERR_USAGE;
	}
	for (d = t; d->name; d++)
		if (d->required && !json_object_get(args, d->name))
			return coren_error_set(
			    err, COREN_ERR_USAGE,
			    "kernel '%s': argument '%s' is required", name,
			    d->name);
	return COREN_OK;
}

enum coren_err coren_rk_check(struct coren_rk *rt, struct coren_error *err)
{
	for (uint32_t i = 0; i < rt->na; i++) {
		struct coren_rk_actor *a = rt->a[i];
		const struct coren_kernel_arg *d = kernel_args(a->kops);

		for (; d && d->name; d++) {
			const char *to = json_string_value(
			    json_object_get(a->args, d->name));

			if (d->type != COREN_KARG_KERNEL || !to)
				continue;
			if (!coren_rk_kernel_id(rt, to))
				return coren_error_set(
				    err, COREN_ERR_USAGE,
				    "kernel '%s': argument '%s': no kernel "
				    "named '%s'",
				    a->name, d->name, to);
			if (!a->opts.k2k)
				return coren_error_set(
				    err, COREN_ERR_USAGE,
				    "kernel '%s': argument '%s' sends to '%s' "
				    "over K2K, which is off (--k2k)",
				    a->name, d->name, to);
		}
	}
	return COREN_OK;
}

enum coren_err coren_rk_launch(struct coren_rk *rt, const char *name,
			       const struct coren_plugin *p, const json_t *args,
			       const struct coren_rk_launch *opts, uint32_t *id,
			       struct coren_error *err)
{
	static const struct coren_rk_launch defaults = COREN_RK_LAUNCH_INIT;
	const struct coren_kernel_ops *kops = p->desc->ops;
	struct coren_rk_actor *a, **grown;
	enum coren_err rc;
	int at, twin;

	if ((rc = check_name(rt, name, err)))
		return rc;
	if (p->desc->kind != COREN_PLUGIN_KERNEL)
		return coren_error_set(err, COREN_ERR_PLUGIN_KIND,
				       "plugin '%s' is not a kernel", p->desc->name);
	if (!kops || !KOPS_HAS(kops, handle) || !(kops->flags & COREN_KERNEL_F_CPU) ||
	    !kops->handle)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "kernel '%s' has no CPU handler", p->desc->name);
	if (!rt->nbe)
		return coren_error_set(err, COREN_ERR_USAGE, "no backend to launch '%s' on",
				       name);
	if ((rc = check_args(name, p, args, err)))
		return rc;
	if (rt->na + 1 >= COREN_K2K_ENDPOINTS_MAX)
		return coren_error_set(err, COREN_ERR_USAGE, "too many kernels");
	at = place(rt, name, kops, &twin, err);
	if (at < 0)
		return COREN_ERR_USAGE;
	a = calloc(1, sizeof *a);
	pthread_mutex_lock(&rt->actors_lock);
	grown = realloc(rt->a, (rt->na + 1) * sizeof *rt->a);
	if (grown)
		rt->a = grown;
	pthread_mutex_unlock(&rt->actors_lock);
	if (!a || !grown || !(a->name = strdup(name))) {
		free(a);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	a->rt = rt;
	a->id = rt->na + 1;
	a->plugin = p;
	a->kops = kops;
	a->be = &rt->be[at];
	a->main = a;
	a->opts = opts ? *opts : defaults;
	normalise(&a->opts);
	a->args = args ? json_deep_copy(args) : NULL;
	rc = actor_start(rt, a, args, err);
	if (!rc && twin >= 0 && (rc = twin_start(rt, a, twin, args, err))) {
		a->be->ops->reset(a->be->state, a, NULL);
		coren_guard_free(&rt->guard, a->reserved, true);
	}
	if (rc) {
		actor_free(a);
		return rc;
	}
	pthread_mutex_lock(&rt->actors_lock);
	rt->a[rt->na++] = a;
	pthread_mutex_unlock(&rt->actors_lock);
	if (id)
		*id = a->id;
	return COREN_OK;
}

static struct coren_rk_actor *actor(const struct coren_rk *rt, uint32_t id)
{
	return id >= 1 && id <= rt->na ? rt->a[id - 1] : NULL;
}

static enum coren_err move(struct coren_rk *rt, uint32_t id, int from_mask,
			   enum coren_rk_state to, struct coren_error *err)
{
	struct coren_rk_actor *a = actor(rt, id);
	int s;

	if (!a)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "no kernel %u", id);
	s = atomic_load(&a->state);
	if (!(from_mask & 1 << s))
		return coren_error_set(err, COREN_ERR_STATE, "kernel '%s' is %s, cannot become %s",
				       a->name, coren_rk_state_name((enum coren_rk_state)s),
				       coren_rk_state_name(to));
	atomic_store(&a->state, (int)to);
	if (BOPS_HAS(a->be->ops, wake) && a->be->ops->wake)
		a->be->ops->wake(a->be->state, a);
	coren_doorbell_ring(&a->bell);
	if (a->twin) {
		atomic_store(&a->twin->state, (int)to);
		if (BOPS_HAS(a->twin->be->ops, wake) && a->twin->be->ops->wake)
			a->twin->be->ops->wake(a->twin->be->state, a->twin);
	}
	return COREN_OK;
}

enum coren_err coren_rk_activate(struct coren_rk *rt, uint32_t id,
				 struct coren_error *err)
{
	return move(rt, id, 1 << COREN_RK_LAUNCHED | 1 << COREN_RK_DEACTIVATED,
		    COREN_RK_ACTIVE, err);
}

enum coren_err coren_rk_deactivate(struct coren_rk *rt, uint32_t id,
				   struct coren_error *err)
{
	return move(rt, id, 1 << COREN_RK_ACTIVE, COREN_RK_DEACTIVATED, err);
}

/* After a reset (no worker runs): what a's workers parked is answered
 * with an error (delivering it now could reach a kernel terminated
 * before, whose inbox nobody reads). */
static void unpark_all(struct coren_rk_actor *a)
{
	for (unsigned i = 0; a->w && i < a->opts.grid_size; i++) {
		struct worker *w = &a->w[i];

		for (size_t j = 0; j < w->npark; j++)
			answer_error(a, w, w->park[j].m, "kernel terminated");
		w->npark = 0;
		flush(a, w);
	}
}

enum coren_err coren_rk_terminate(struct coren_rk *rt, uint32_t id,
				  struct coren_error *err)
{
	struct coren_rk_actor *a = actor(rt, id);
	struct coren_rk_msg *m[64];
	enum coren_err rc;
	size_t k;

	if (!a)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "no kernel %u", id);
	if (atomic_load(&a->state) == COREN_RK_TERMINATED ||
	    atomic_load(&a->state) == COREN_RK_FAILED)
		return COREN_OK;
	atomic_store(&a->state, COREN_RK_TERMINATED);
	coren_doorbell_ring(&a->bell);
	rc = a->be->ops->reset(a->be->state, a, err);
	if (a->twin) {
		struct coren_error terr = {0};
		enum coren_err trc;

		atomic_store(&a->twin->state, COREN_RK_TERMINATED);
		trc = a->twin->be->ops->reset(a->twin->be->state, a->twin, &terr);
		coren_guard_free(&rt->guard, a->twin->reserved, true);
		a->twin->reserved = 0;
		if (trc && !rc)
			rc = coren_error_set(err, trc, "%s", terr.msg);
	}
	while ((k = coren_rk_actor_k2k_pop(a, m, 64)))
		coren_rk_actor_reject(a, m, k, "kernel terminated");
	for (struct coren_rk_actor *x = a; x; x = x->twin)
		unpark_all(x);
	coren_guard_free(&rt->guard, a->reserved, true);
	a->reserved = 0;
	return rc;
}

void coren_rk_free(struct coren_rk *rt)
{
	struct coren_rk_msg *m;

	if (!rt)
		return;
	if (rt->watchdog_on) {
		atomic_store(&rt->watchdog_stop, 1);
		pthread_join(rt->watchdog, NULL);
	}
	for (uint32_t i = 1; i <= rt->na; i++)
		coren_rk_terminate(rt, i, NULL);
	for (uint32_t i = 0; i < rt->na; i++)
		if (atomic_load(&rt->a[i]->state) != COREN_RK_FAILED)
			actor_free(rt->a[i]); /* a failed one's thread may still
						 use it */
	free(rt->a);
	for (unsigned i = 0; i < rt->nbe; i++)
		if (rt->be[i].ops->unload)
			rt->be[i].ops->unload(rt->be[i].state);
	if (rt->outbox) {
		while (!coren_queue_pop(rt->outbox, &m))
			coren_rk_msg_free(m);
		coren_queue_free(rt->outbox);
	}
	coren_k2k_free(rt->k2k);
	coren_hints_release(&rt->hints);
	coren_dispatch_release(&rt->disp);
	coren_guard_release(&rt->guard);
	pthread_mutex_destroy(&rt->hints_lock);
	pthread_mutex_destroy(&rt->actors_lock);
	free(rt);
}

enum coren_err coren_rk_route(struct coren_rk *rt, const char *dest,
			      const char *via, struct coren_error *err)
{
	uint32_t d = coren_rk_kernel_id(rt, dest), v = coren_rk_kernel_id(rt, via);

	if (!d || !v)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "route '%s>%s': no kernel named '%s'", dest, via,
				       d ? via : dest);
	return coren_k2k_route(rt->k2k, d, v, err);
}

uint32_t coren_rk_kernel_id(const struct coren_rk *rt, const char *name)
{
	for (uint32_t i = 0; i < rt->na; i++)
		if (!strcmp(rt->a[i]->name, name))
			return i + 1;
	return 0;
}

const char *coren_rk_kernel_name(const struct coren_rk *rt, uint32_t id)
{
	struct coren_rk_actor *a = actor(rt, id);

	return a ? a->name : NULL;
}

uint32_t coren_rk_kernel_count(const struct coren_rk *rt)
{
	return rt->na;
}

/* ---- the host side -------------------------------------------------------------- */

void coren_rk_post(struct coren_rk *rt, struct coren_rk_msg *m)
{
	atomic_fetch_add_explicit(&rt->sent, 1, RELAXED);
	m->hdr.flags |= COREN_ENV_F_RESPONSE;
	if (m->hdr.flags & COREN_ENV_F_ERROR)
		atomic_fetch_add_explicit(&rt->errors, 1, RELAXED);
	if (!m->hdr.message_id)
		m->hdr.message_id = ++rt->next_host_id;
	outbox_push(rt, &m, 1);
}

static void post_error(struct coren_rk *rt, struct coren_rk_msg *m,
		       const char *reason)
{
	m = as_error(m, reason);
	m->hdr.source = COREN_RK_HOST;
	m->hdr.destination = COREN_RK_HOST;
	coren_rk_post(rt, m);
}

/* Answers msgs (n of them, sent to a, never queued) with reason. */
static void refuse(struct coren_rk *rt, struct coren_rk_actor *a,
		   struct coren_rk_msg **msgs, size_t n, const char *reason)
{
	atomic_fetch_sub_explicit(&rt->sent, n, RELAXED);
	atomic_fetch_sub_explicit(&a->received, n, RELAXED);
	for (size_t i = 0; i < n; i++)
		post_error(rt, msgs[i], reason);
}

/* Queues msgs (all for a) on its backend, waiting while it is full. A
 * kernel that is not active drains nothing: the host waits for it at most
 * the delivery timeout, then answers the rest with errors (a single host
 * thread would otherwise wait forever). */
static void submit(struct coren_rk *rt, struct coren_rk_actor *a,
		   struct coren_rk_msg **msgs, size_t n)
{
	struct coren_rk_actor *owner = a;
	uint64_t items = 0, waiting_since = 0;
	uint64_t limit = (uint64_t)(rt->cfg.delivery_timeout_ms
					? rt->cfg.delivery_timeout_ms
					: COREN_K2K_TIMEOUT_MS_DEFAULT) *
			 1000000u;
	char why[160];

	for (size_t i = 0; i < n; i++)
		items += msgs[i]->hdr.payload_size / 4;
	atomic_fetch_add_explicit(&a->received, n, RELAXED);
	if (a->twin && coren_dispatch_choose(&rt->disp, items) == COREN_TARGET_GPU)
		a = a->twin;
	else if (!a->twin)
		coren_dispatch_count(&rt->disp, (int)(a->be - rt->be) == rt->gpu
							? COREN_TARGET_GPU : COREN_TARGET_CPU, items);
	while (n) {
		int state = atomic_load(&a->state);
		size_t k;

		if (state == COREN_RK_TERMINATED || state == COREN_RK_FAILED) {
			atomic_fetch_sub_explicit(&rt->sent, n, RELAXED);
			for (size_t i = 0; i < n; i++)
				post_error(rt, msgs[i],
					   state == COREN_RK_FAILED
					       ? "kernel failed: a handler hung"
					       : "kernel terminated");
			return;
		}
		k = a->be->ops->infer_batch(a->be->state, a, msgs, n);
		msgs += k;
		n -= k;
		if (!n)
			break;
		atomic_fetch_add_explicit(&a->queue_full, 1, RELAXED);
		if (state == COREN_RK_ACTIVE || k) {
			waiting_since = 0;
		} else if (!waiting_since) {
			waiting_since = now_ns();
		} else if (now_ns() - waiting_since >= limit) {
			snprintf(
			    why, sizeof why,
			    "kernel '%s' is %s and its queue is full", a->name,
			    coren_rk_state_name((enum coren_rk_state)state));
			refuse(rt, owner, msgs, n, why);
			return;
		}
		if (state == COREN_RK_ACTIVE) {
			sched_yield();
		} else {
			struct timespec nap = {0, 100000};

			nanosleep(&nap, NULL);
		}
	}
}

void coren_rk_send(struct coren_rk *rt, struct coren_rk_msg **msgs, size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct coren_rk_actor *a = actor(rt, msgs[i]->hdr.destination);
		size_t j = i;
		char why[96];

		for (; j < n && msgs[j]->hdr.destination == msgs[i]->hdr.destination; j++) {
			struct coren_rk_msg *m = msgs[j];

			m->hdr.message_id = ++rt->next_host_id;
			m->hdr.source = COREN_RK_HOST;
			m->hdr.hops = 0;
			m->hdr.flags &= (uint16_t)~(COREN_ENV_F_RESPONSE | COREN_ENV_F_ERROR |
						    COREN_ENV_F_K2K);
		}
		stamp_n(rt, msgs + i, j - i);
		if (!a || atomic_load(&a->state) ==
			      COREN_RK_TERMINATED) { /* failed: submit() */
			snprintf(why, sizeof why, "no kernel %u to receive the message",
				 msgs[i]->hdr.destination);
			for (size_t k = i; k < j; k++)
				post_error(rt, msgs[k], why);
		} else {
			atomic_fetch_add_explicit(&rt->sent, j - i, RELAXED);
			submit(rt, a, msgs + i, j - i);
		}
		i = j;
	}
}

static size_t take_answers(struct coren_rk *rt, struct coren_rk_msg **out, size_t max)
{
	size_t k = coren_queue_pop_n(rt->outbox, out, max);

	if (k)
		atomic_fetch_add_explicit(&rt->taken, k, RELAXED);
	return k;
}

size_t coren_rk_recv(struct coren_rk *rt, struct coren_rk_msg **out,
		     size_t max, int timeout_ms)
{
	size_t k = take_answers(rt, out, max);
	uint64_t t_end;
	uint32_t seq;

	if (k || !timeout_ms)
		return k;
	/* A short spin catches the next batch of a busy stream; then sleep
	 * until a worker rings, leaving the CPU to it. */
	for (int spin = 0; spin < RECV_SPIN; spin++) {
		rk_relax();
		if ((k = take_answers(rt, out, max)))
			return k;
	}
	/* A ring may be for answers an earlier call already took: wake-ups
	 * with nothing to take wait again, until the deadline. */
	t_end = now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
	for (;;) {
		uint64_t t = now_ns();
		int left = timeout_ms < 0 ? -1
			   : t >= t_end   ? 0
					  : (int)((t_end - t + 999999u) / 1000000u);

		if (!left)
			return 0;
		seq = coren_doorbell_prepare(&rt->outbell);
		if ((k = take_answers(rt, out, max))) {
			coren_doorbell_cancel(&rt->outbell);
			return k;
		}
		coren_doorbell_wait(&rt->outbell, seq, left);
		if ((k = take_answers(rt, out, max)))
			return k;
	}
}

uint64_t coren_rk_in_flight(struct coren_rk *rt)
{
	uint64_t answered = atomic_load_explicit(&rt->answered, memory_order_acquire);
	uint64_t sent = atomic_load_explicit(&rt->sent, memory_order_acquire);

	return sent > answered ? sent - answered : 0;
}

uint64_t coren_rk_backlog(struct coren_rk *rt)
{
	uint64_t taken = atomic_load_explicit(&rt->taken, RELAXED);
	uint64_t sent = atomic_load_explicit(&rt->sent, RELAXED);

	return sent > taken ? sent - taken : 0;
}

size_t coren_rk_outbox_capacity(const struct coren_rk *rt)
{
	return coren_queue_capacity(rt->outbox);
}

bool coren_rk_room(struct coren_rk *rt, size_t n)
{
	size_t cap = coren_rk_outbox_capacity(rt);

	return coren_rk_backlog(rt) + (n < cap ? n : cap) <= cap;
}

#define ROOM_BATCH   256 /* answers handed to take at a time */
#define ROOM_WAIT_MS 50	 /* then take hears of a pause */

enum coren_err coren_rk_make_room(struct coren_rk *rt, size_t n,
				  int timeout_ms, coren_rk_answers_fn *taker,
				  void *data, struct coren_error *err)
{
	struct coren_rk_msg *m[ROOM_BATCH];
	uint64_t idle_since = now_ns();

	while (!coren_rk_room(rt, n)) {
		uint64_t idle_ms = (now_ns() - idle_since) / 1000000u;
		int wait = ROOM_WAIT_MS;
		size_t k;

		if (timeout_ms >= 0) {
			uint64_t left = idle_ms < (uint64_t)timeout_ms ? timeout_ms - idle_ms : 0;

			wait = left < (uint64_t)wait ? (int)left : wait;
		}
		k = coren_rk_recv(rt, m, ROOM_BATCH, wait);
		if (k)
			idle_since = now_ns();
		taker(data, m, k);
		if (!k && timeout_ms >= 0 &&
		    (now_ns() - idle_since) / 1000000u >= (uint64_t)timeout_ms)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "no answer in %d ms, %llu awaited", timeout_ms,
					       (unsigned long long)coren_rk_backlog(rt));
	}
	return COREN_OK;
}

enum coren_err coren_rk_drain(struct coren_rk *rt, int timeout_ms,
			      struct coren_error *err)
{
	uint64_t start = now_ns();
	struct timespec nap = {0, 100000};

	while (coren_rk_in_flight(rt)) {
		if (timeout_ms >= 0 && now_ns() - start > (uint64_t)timeout_ms * 1000000u)
			return coren_error_set(err, COREN_ERR_TIMEOUT,
					       "%llu messages still unanswered after %d ms",
					       (unsigned long long)coren_rk_in_flight(rt),
					       timeout_ms);
		nanosleep(&nap, NULL);
	}
	for (uint32_t id = 1; id <= rt->na; id++)
		for (struct coren_rk_actor *a = rt->a[id - 1]; a; a = a->twin)
			if (atomic_load(&a->state) != COREN_RK_TERMINATED &&
			    atomic_load(&a->state) != COREN_RK_FAILED &&
			    a->be->ops->drain(a->be->state, a, timeout_ms, err))
				return err ? err->code : COREN_ERR_TIMEOUT;
	return COREN_OK;
}

/* ---- reports ------------------------------------------------------------------- */

enum coren_err coren_rk_status(struct coren_rk *rt, uint32_t id,
			       struct coren_rk_status *st,
			       struct coren_error *err)
{
	struct coren_rk_actor *a = actor(rt, id);

	if (!a)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "no kernel %u", id);
	memset(st, 0, sizeof *st);
	st->state = (enum coren_rk_state)atomic_load(&a->state);
	st->received = atomic_load_explicit(&a->received, RELAXED);
	st->processed = atomic_load_explicit(&a->processed, RELAXED);
	st->replied = atomic_load_explicit(&a->replied, RELAXED);
	st->forwarded = atomic_load_explicit(&a->forwarded, RELAXED);
	st->errors = atomic_load_explicit(&a->errors, RELAXED);
	st->in_flight = st->received > st->processed ? st->received - st->processed : 0;
	st->queue_depth = st->in_flight;
	st->queue_capacity = a->opts.queue_capacity * a->opts.grid_size;
	if (st->queue_depth > st->queue_capacity)
		st->queue_depth = st->queue_capacity;
	st->k2k_depth = a->opts.k2k ? coren_k2k_depth(rt->k2k, id) : 0;
	st->queue_full = atomic_load_explicit(&a->queue_full, RELAXED);
	st->busy_ns = (double)atomic_load_explicit(&a->busy_ns, RELAXED);
	return COREN_OK;
}

static void set_u64(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, coren_json_u64(v));
}

json_t *coren_rk_status_json(struct coren_rk *rt, uint32_t id)
{
	struct coren_rk_actor *a = actor(rt, id);
	struct coren_rk_status st;
	json_t *r;
	bool hot;

	if (!a || coren_rk_status(rt, id, &st, NULL))
		return NULL;
	pthread_mutex_lock(&rt->hints_lock);
	hot = coren_hints_is_hot(&rt->hints, a->name);
	pthread_mutex_unlock(&rt->hints_lock);
	r = coren_record_new("kernel");
	json_object_set_new(r, "name", json_string(a->name));
	set_u64(r, "id", id);
	json_object_set_new(r, "plugin", json_string(a->plugin->desc->name));
	json_object_set_new(r, "backend", json_string(a->be->p->desc->name));
	json_object_set_new(r, "state", json_string(coren_rk_state_name(st.state)));
	set_u64(r, "received", st.received);
	set_u64(r, "processed", st.processed);
	set_u64(r, "in_flight", st.in_flight);
	set_u64(r, "replied", st.replied);
	set_u64(r, "forwarded", st.forwarded);
	set_u64(r, "errors", st.errors);
	set_u64(r, "queue_depth", st.queue_depth);
	set_u64(r, "queue_capacity", st.queue_capacity);
	json_object_set_new(r, "queue_health",
			    json_string(coren_queue_health_name(
				    coren_queue_health_of(st.queue_depth, st.queue_capacity))));
	set_u64(r, "queue_full", st.queue_full);
	set_u64(r, "k2k_depth", st.k2k_depth);
	set_u64(r, "grid", a->opts.grid_size);
	set_u64(r, "block", a->opts.block_size);
	json_object_set_new(r, "busy_s", json_real(st.busy_ns / 1e9));
	json_object_set_new(r, "hot", json_boolean(hot));
	if (KOPS_HAS(a->kops, status) && a->kops->status) {
		json_t *s = a->kops->status(a->w[0].kstate);

		if (s)
			json_object_set_new(r, "kernel_state", s);
	}
	for (struct coren_rk_actor *x = a; x; x = x->twin) {
		const struct coren_backend_ops *ops = x->be->ops;
		json_t *b;

		if (BOPS_HAS(ops, actor_status) && ops->actor_status && (b = ops->actor_status(x->be->state, x)))
			json_object_set_new(r, x == a ? "backend_state" : "gpu_state", b);
	}
	if (a->twin)
		json_object_set_new(r, "gpu_backend", json_string(a->twin->be->p->desc->name));
	return r;
}

json_t *coren_rk_metrics_json(struct coren_rk *rt)
{
	struct coren_k2k_stats ks;
	struct coren_dispatch_stats ds;
	struct coren_queue_stats qs;
	struct coren_hlc_ts now = coren_hlc_now(&rt->clock);
	double elapsed = (double)(coren_hlc_wall_us() - rt->start_us) / 1e6;
	uint64_t answered = atomic_load(&rt->answered);
	json_t *r = coren_record_new("metrics"), *k = json_object(),
	       *d = json_object(), *g = json_object();

	coren_k2k_get_stats(rt->k2k, &ks);
	coren_dispatch_get_stats(&rt->disp, &ds);
	coren_queue_stats(rt->outbox, &qs);
	set_u64(r, "node", rt->cfg.node_id);
	set_u64(r, "kernels", rt->na);
	set_u64(r, "sent", atomic_load(&rt->sent));
	set_u64(r, "answered", answered);
	set_u64(r, "errors", atomic_load(&rt->errors));
	set_u64(r, "in_flight", coren_rk_in_flight(rt));
	json_object_set_new(r, "elapsed_s", json_real(elapsed));
	json_object_set_new(r, "msgs_per_s", json_real(elapsed > 0 ? (double)answered / elapsed : 0));
	set_u64(r, "outbox_high_water", qs.high_water);
	for (int i = 0; i < COREN_K2K__COUNT; i++)
		set_u64(k, coren_k2k_status_name((enum coren_k2k_status)i), ks.status[i]);
	set_u64(k, "received", ks.received);
	json_object_set_new(r, "k2k", k);
	json_object_set_new(d, "mode", json_string(coren_dispatch_mode_name(rt->disp.mode)));
	set_u64(d, "threshold", ds.threshold);
	set_u64(d, "cpu", ds.cpu);
	set_u64(d, "gpu", ds.gpu);
	set_u64(d, "samples_cpu", ds.samples[0]);
	set_u64(d, "samples_gpu", ds.samples[1]);
	json_object_set_new(r, "dispatch", d);
	set_u64(g, "limit", rt->guard.limit);
	set_u64(g, "usable", coren_guard_usable(&rt->guard) == UINT64_MAX ? 0 : coren_guard_usable(&rt->guard));
	set_u64(g, "committed", rt->guard.committed);
	set_u64(g, "reserved", rt->guard.reserved);
	json_object_set_new(r, "memory", g);
	json_object_set_new(r, "hlc", json_pack("[o,o,i]", coren_json_u64(now.physical),
						coren_json_u64(now.logical), (int)now.node));
	return r;
}

struct coren_hlc *coren_rk_clock(struct coren_rk *rt) { return &rt->clock; }
struct coren_dispatcher *coren_rk_dispatcher(struct coren_rk *rt) { return &rt->disp; }
struct coren_guard *coren_rk_guard(struct coren_rk *rt) { return &rt->guard; }
struct coren_hints *coren_rk_hints(struct coren_rk *rt) { return &rt->hints; }

json_t *coren_rk_plugin_json(const struct coren_plugin *p)
{
	const struct coren_plugin_desc *d = p->desc;
	json_t *r = coren_record_new("plugin");

	json_object_set_new(r, "kind", json_string(coren_plugin_kind_name(d->kind)));
	json_object_set_new(r, "name", json_string(d->name));
	json_object_set_new(r, "version", json_string(d->version));
	if (d->summary)
		json_object_set_new(r, "summary", json_string(d->summary));
	if (d->kind == COREN_PLUGIN_BACKEND) {
		const struct coren_backend_ops *ops = d->ops;
		struct coren_backend_caps caps = {sizeof caps, 0, 0, 0, 0, 0};
		void *st = NULL;

		if (!BOPS_HAS(ops, reset) || !ops->capabilities || !ops->load) {
			json_object_set_new(r, "unavailable",
					    json_string("its operations table lacks required operations"));
			json_object_set_new(r, "path", json_string(p->path));
			return r;
		}
		ops->capabilities(&caps);
		json_object_set_new(r, "persistent", json_boolean(caps.flags & COREN_BACKEND_F_PERSISTENT));
		json_object_set_new(r, "k2k", json_boolean(caps.flags & COREN_BACKEND_F_K2K));
		json_object_set_new(r, "gpu", json_boolean(caps.flags & COREN_BACKEND_F_GPU));
		json_object_set_new(r, "max_batch", json_integer(caps.max_batch));
		json_object_set_new(r, "streams", json_integer(caps.device_streams));
		struct coren_error lerr = {0};

		if (ops->load(&st, NULL, &lerr)) {
			json_object_set_new(r, "unavailable", json_string(lerr.msg));
		} else {
			if (ops->metadata)
				json_object_set_new(r, "metadata", ops->metadata(st));
			if (ops->unload)
				ops->unload(st);
		}
	} else if (d->kind == COREN_PLUGIN_KERNEL) {
		const struct coren_kernel_ops *ops = d->ops;
		bool flags = KOPS_HAS(ops, flags);

		json_object_set_new(r, "cpu", json_boolean(flags && ops->flags & COREN_KERNEL_F_CPU));
		json_object_set_new(r, "cuda", json_boolean(kernel_cuda(ops) != NULL));
	}
	json_object_set_new(r, "path", json_string(p->path));
	return r;
}
