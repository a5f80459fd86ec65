/* k2k.c - the kernel-to-kernel broker: inboxes, routes, hops, timeouts. */
#include "config.h"

#include <coren/rk.h>

#include "rk_int.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* Kernels are launched, and routes set, while other kernels already send
 * and receive: the table has every possible id from the start (calloc'd,
 * so untouched pages cost nothing) and is never moved; an inbox is
 * published, after its bell, with a release store. */
struct endpoint {
	struct coren_queue *_Atomic inbox; /* MPSC of struct coren_rk_msg * */
	struct coren_doorbell *bell;
	_Atomic uint32_t next_hop; /* route for this destination; 0: direct */
};

struct coren_k2k {
	struct endpoint *ep; /* COREN_K2K_ENDPOINTS_MAX, indexed by id */
	size_t inbox_capacity;
	unsigned max_hops, timeout_ms;
	_Atomic uint64_t status[COREN_K2K__COUNT];
	_Atomic uint64_t received;
};

enum coren_err coren_k2k_new(size_t inbox_capacity, unsigned max_hops,
			     unsigned timeout_ms, struct coren_k2k **out,
			     struct coren_error *err)
{
	struct coren_k2k *b;

	if (max_hops > COREN_K2K_MAX_HOPS_MAX)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "max_hops %u is not from 1 to %d",
				       max_hops, COREN_K2K_MAX_HOPS_MAX);
	b = calloc(1, sizeof *b);
	if (!b || !(b->ep = calloc(COREN_K2K_ENDPOINTS_MAX, sizeof *b->ep))) {
		free(b);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	b->inbox_capacity = rk_pow2_at_least(inbox_capacity ? inbox_capacity
							 : COREN_K2K_INBOX_DEFAULT);
	b->max_hops = max_hops ? max_hops : COREN_K2K_MAX_HOPS_DEFAULT;
	b->timeout_ms = timeout_ms ? timeout_ms : COREN_K2K_TIMEOUT_MS_DEFAULT;
	*out = b;
	return COREN_OK;
}

/* The inbox of id, or NULL (none registered, or an id out of range). */
static struct coren_queue *inbox(const struct coren_k2k *b, uint32_t id)
{
	return id < COREN_K2K_ENDPOINTS_MAX
		       ? atomic_load_explicit(&b->ep[id].inbox, memory_order_acquire)
		       : NULL;
}

void coren_k2k_free(struct coren_k2k *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < COREN_K2K_ENDPOINTS_MAX; i++) {
		struct coren_queue *q = inbox(b, i);
		struct coren_rk_msg *m;

		if (!q)
			continue;
		while (!coren_queue_pop(q, &m))
			coren_rk_msg_free(m);
		coren_queue_free(q);
	}
	free(b->ep);
	free(b);
}

static enum coren_err check_id(uint32_t id, struct coren_error *err)
{
	if (id == 0 || id >= COREN_K2K_ENDPOINTS_MAX)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "endpoint id %u is not from 1 to %d", id,
				       COREN_K2K_ENDPOINTS_MAX - 1);
	return COREN_OK;
}

enum coren_err coren_k2k_register(struct coren_k2k *b, uint32_t id,
				  struct coren_doorbell *bell,
				  struct coren_error *err)
{
	enum coren_err rc = check_id(id, err);
	struct coren_queue *q;

	if (rc)
		return rc;
	if (inbox(b, id))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "endpoint %u is already registered", id);
	rc = coren_queue_new(COREN_QUEUE_MPSC, b->inbox_capacity,
			     sizeof(struct coren_rk_msg *), &q, err);
	if (rc)
		return rc;
	b->ep[id].bell = bell;
	atomic_store_explicit(&b->ep[id].inbox, q, memory_order_release);
	return COREN_OK;
}

enum coren_err coren_k2k_route(struct coren_k2k *b, uint32_t dest,
			       uint32_t next_hop, struct coren_error *err)
{
	enum coren_err rc = check_id(dest, err);

	if (!rc)
		rc = check_id(next_hop, err);
	if (!rc)
		atomic_store_explicit(&b->ep[dest].next_hop, next_hop == dest ? 0 : next_hop,
				      memory_order_relaxed);
	return rc;
}

static enum coren_k2k_status count(struct coren_k2k *b, enum coren_k2k_status s)
{
	atomic_fetch_add_explicit(&b->status[s], 1, memory_order_relaxed);
	return s;
}

/* How a send meets a full inbox: wait up to the timeout, give up at once
 * (counted as queue_full), or give up without counting (an offer: the
 * caller parks the message and offers it again). */
enum full_policy { FULL_WAIT, FULL_FAIL, FULL_OFFER };

static enum coren_k2k_status send(struct coren_k2k *b, struct coren_rk_msg *m,
				  enum full_policy full)
{
	uint32_t dest = m->hdr.destination, hop;
	uint64_t start = 0;
	struct coren_queue *q;
	struct endpoint *e;

	if (dest >= COREN_K2K_ENDPOINTS_MAX)
		return count(b, COREN_K2K_NOT_FOUND);
	hop = atomic_load_explicit(&b->ep[dest].next_hop, memory_order_relaxed);
	if (!hop || hop == m->hdr.source) /* direct, or the hop passes it on */
		hop = dest;
	if (!(q = inbox(b, hop)))
		return count(b, COREN_K2K_NOT_FOUND);
	if ((unsigned)m->hdr.hops + 1 > b->max_hops)
		return count(b, COREN_K2K_MAX_HOPS);
	if (m->hdr.deadline && coren_hlc_wall_us() > m->hdr.deadline)
		return count(b, COREN_K2K_TIMEOUT);
	e = &b->ep[hop];
	m->hdr.hops++;
	while (coren_queue_push(q, &m)) {
		uint64_t now = coren_hlc_wall_us();

		if (full == FULL_OFFER) {
			m->hdr.hops--;
			/* Its owner may be asleep: wake it to make room. */
			if (e->bell)
				coren_doorbell_ring(e->bell);
			return COREN_K2K_QUEUE_FULL;
		}
		if (full == FULL_FAIL) {
			m->hdr.hops--;
			coren_queue_drop(q);
			return count(b, COREN_K2K_QUEUE_FULL);
		}
		if (!start)
			start = now;
		else if (now - start >= (uint64_t)b->timeout_ms * 1000) {
			m->hdr.hops--;
			coren_queue_drop(q);
			return count(b, COREN_K2K_TIMEOUT);
		}
		if (e->bell)
			coren_doorbell_ring(e->bell);
		sched_yield();
	}
	if (e->bell)
		coren_doorbell_ring(e->bell);
	return count(b, hop == dest ? COREN_K2K_DELIVERED : COREN_K2K_PENDING);
}

enum coren_k2k_status coren_k2k_send(struct coren_k2k *b,
				     struct coren_rk_msg *m)
{
	return send(b, m, FULL_WAIT);
}

enum coren_k2k_status coren_k2k_try_send(struct coren_k2k *b,
					 struct coren_rk_msg *m)
{
	return send(b, m, FULL_FAIL);
}

enum coren_k2k_status rk_k2k_offer(struct coren_k2k *b, struct coren_rk_msg *m)
{
	return send(b, m, FULL_OFFER);
}

enum coren_k2k_status rk_k2k_give_up(struct coren_k2k *b,
				     struct coren_rk_msg *m,
				     enum coren_k2k_status s)
{
	uint32_t dest = m->hdr.destination, hop;
	struct coren_queue *q;

	if (dest < COREN_K2K_ENDPOINTS_MAX) {
		hop = atomic_load_explicit(&b->ep[dest].next_hop,
					   memory_order_relaxed);
		if (!hop || hop == m->hdr.source)
			hop = dest;
		if ((q = inbox(b, hop)))
			coren_queue_drop(q);
	}
	return count(b, s);
}

size_t rk_k2k_inbox_capacity(const struct coren_k2k *b)
{
	return b->inbox_capacity;
}

size_t coren_k2k_recv(struct coren_k2k *b, uint32_t id,
		      struct coren_rk_msg **out, size_t max)
{
	struct coren_queue *q = inbox(b, id);
	size_t k;

	if (!q)
		return 0;
	k = coren_queue_pop_n(q, out, max);
	if (k)
		atomic_fetch_add_explicit(&b->received, k, memory_order_relaxed);
	return k;
}

size_t coren_k2k_depth(struct coren_k2k *b, uint32_t id)
{
	struct coren_queue *q = inbox(b, id);

	return q ? coren_queue_depth(q) : 0;
}

void coren_k2k_get_stats(struct coren_k2k *b, struct coren_k2k_stats *out)
{
	for (int i = 0; i < COREN_K2K__COUNT; i++)
		out->status[i] = atomic_load_explicit(&b->status[i], memory_order_relaxed);
	out->received = atomic_load_explicit(&b->received, memory_order_relaxed);
}

const char *coren_k2k_status_name(enum coren_k2k_status s)
{
	static const char *const names[] = {"delivered", "pending", "not_found",
					    "queue_full", "timeout", "max_hops"};

	return (unsigned)s < COREN_K2K__COUNT ? names[s] : "unknown";
}
