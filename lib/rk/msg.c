/* msg.c - messages, and kernel argument strings. */
#include "config.h"

#include <coren/json.h>
#include <coren/rk.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(struct coren_rk_msg, payload) % 16 == 0,
	       "payloads are 16-byte aligned");

/*
 * Small messages are recycled. A host reader allocates every message and
 * another thread frees it; through malloc every such free takes the
 * reader's arena lock, and trimming returns pages the next allocation
 * faults back in. Messages with a capacity of POOL_PAYLOAD (every request
 * for less gets that) go instead to a free list of the thread that frees
 * them; a full list of POOL_BATCH moves as one piece to a shared stack, and
 * a thread whose list is empty takes one from there: one mutex per
 * POOL_BATCH messages. The shared stack holds at most POOL_BATCHES lists
 * (the rest are freed), and a thread's lists go there when it exits.
 * Under AddressSanitizer every message is malloc'd and freed, so a use
 * after free is still caught.
 */
#define POOL_PAYLOAD 256
#define POOL_BATCH 256
#define POOL_BATCHES 64

#if defined(__SANITIZE_ADDRESS__)
#define POOL 0
#else
#define POOL 1
#endif

struct pool_list {
	struct coren_rk_msg *head; /* linked through the payload */
	size_t n;
};

static struct {
	pthread_mutex_t lock;
	pthread_once_t once;
	pthread_key_t key; /* a thread's exit gives its lists back */
	struct pool_list full[POOL_BATCHES];
	size_t nfull;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

static __thread struct pool_list mine;
static __thread int registered;

static struct coren_rk_msg *next_of(struct coren_rk_msg *m)
{
	struct coren_rk_msg *n;

	memcpy(&n, m->payload, sizeof n);
	return n;
}

static void list_free(struct pool_list *l)
{
	while (l->head) {
		struct coren_rk_msg *n = next_of(l->head);

		free(l->head);
		l->head = n;
	}
	l->n = 0;
}

/* Gives a list to the shared stack, or frees it when that is full. */
static void pool_give(struct pool_list *l)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.nfull < POOL_BATCHES) {
		pool.full[pool.nfull++] = *l;
		l->head = NULL;
		l->n = 0;
	}
	pthread_mutex_unlock(&pool.lock);
	list_free(l);
}

static void thread_exit(void *unused)
{
	(void)unused;
	if (mine.n)
		pool_give(&mine);
}

static void pool_init(void)
{
	pthread_key_create(&pool.key, thread_exit);
}

/* The thread's list goes back to the shared stack when the thread ends. */
static void pool_register(void)
{
	if (registered)
		return;
	pthread_once(&pool.once, pool_init);
	pthread_setspecific(pool.key, &mine);
	registered = 1;
}

static struct coren_rk_msg *pool_take(void)
{
	struct coren_rk_msg *m;

	if (!mine.head) {
		pool_register();
		pthread_mutex_lock(&pool.lock);
		if (pool.nfull)
			mine = pool.full[--pool.nfull];
		pthread_mutex_unlock(&pool.lock);
		if (!mine.head)
			return NULL;
	}
	m = mine.head;
	mine.head = next_of(m);
	mine.n--;
	return m;
}

static void pool_put(struct coren_rk_msg *m)
{
	pool_register();
	if (mine.n == POOL_BATCH)
		pool_give(&mine);
	memcpy(m->payload, &mine.head, sizeof mine.head);
	mine.head = m;
	mine.n++;
}

struct coren_rk_msg *coren_rk_msg_new(size_t capacity)
{
	struct coren_rk_msg *m = NULL;

	if (capacity > COREN_ENV_PAYLOAD_MAX)
		return NULL;
	if (POOL && capacity <= POOL_PAYLOAD) {
		capacity = POOL_PAYLOAD;
		m = pool_take();
	}
	if (!m && !(m = malloc(sizeof *m + capacity)))
		return NULL;
	coren_env_header_init(&m->hdr);
	m->capacity = (uint32_t)capacity;
	m->reserved = 0;
	m->sent_us = 0;
	return m;
}

void coren_rk_msg_free(struct coren_rk_msg *m)
{
	if (POOL && m && m->capacity == POOL_PAYLOAD)
		pool_put(m);
	else
		free(m);
}

enum coren_err coren_rk_msg_set_payload(struct coren_rk_msg **mp,
					const void *data, size_t n)
{
	struct coren_rk_msg *m = *mp;

	if (n > COREN_ENV_PAYLOAD_MAX)
		return COREN_ERR_ENV_TOOBIG;
	if (n > m->capacity) {
		m = realloc(m, sizeof *m + n);
		if (!m)
			return COREN_ERR_NOMEM;
		m->capacity = (uint32_t)n;
		*mp = m;
	}
	if (n)
		memmove(m->payload, data, n);
	m->hdr.payload_size = (uint32_t)n;
	return COREN_OK;
}

enum coren_err coren_rk_msg_set_error(struct coren_rk_msg **m, const char *at,
				      const char *reason)
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, COREN_ENV_PAYLOAD_MAX);
	rc = coren_buf_putc(&b, '{');
	if (!rc && at) {
		rc = coren_buf_append(&b, "\"at\":", 5);
		if (!rc)
			rc = coren_json_dump_string(at, strlen(at), &b);
		if (!rc)
			rc = coren_buf_putc(&b, ',');
	}
	if (!rc)
		rc = coren_buf_append(&b, "\"reason\":", 9);
	if (!rc)
		rc = coren_json_dump_string(reason, strlen(reason), &b);
	if (!rc)
		rc = coren_buf_putc(&b, '}');
	if (!rc)
		rc = coren_rk_msg_set_payload(m, b.data, b.len);
	if (rc)
		(*m)->hdr.payload_size = 0; /* still an error, without words */
	(*m)->hdr.encoding = COREN_RK_ENC_JSON;
	(*m)->hdr.flags |= COREN_ENV_F_ERROR;
	coren_buf_release(&b);
	return rc;
}

enum coren_err coren_rk_msg_decode(const void *buf, size_t len,
				   struct coren_rk_msg **out,
				   struct coren_error *err)
{
	struct coren_rk_header h;
	const unsigned char *payload;
	struct coren_rk_msg *m;
	enum coren_err rc = coren_env_decode(buf, len, &h, &payload, err);

	if (rc)
		return rc;
	m = coren_rk_msg_new(h.payload_size);
	if (!m)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	m->hdr = h;
	memcpy(m->payload, payload, h.payload_size);
	*out = m;
	return COREN_OK;
}

/* One "key=value" of an argument string. */
static enum coren_err parse_pair(const char *s, size_t n, json_t *obj,
				 struct coren_error *err)
{
	const char *eq = memchr(s, '=', n);
	char *key;
	json_t *v;

	if (!eq || eq == s)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "kernel argument '%.*s' is not key=value", (int)n, s);
	key = strndup(s, (size_t)(eq - s));
	v = json_loadb(eq + 1, n - (size_t)(eq - s) - 1, JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_stringn(eq + 1, n - (size_t)(eq - s) - 1);
	if (!key || !v || json_object_set_new(obj, key, v)) {
		free(key);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	free(key);
	return COREN_OK;
}

enum coren_err coren_rk_parse_args(const char *s, json_t **out,
				   struct coren_error *err)
{
	json_t *obj = json_object();
	int depth = 0;
	const char *start = s;

	if (!obj)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	/* Commas inside [...] or {...} belong to the value. */
	for (const char *p = s;; p++) {
		if (*p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && depth > 0)
			depth--;
		if ((*p == ',' && !depth) || !*p) {
			if (p > start && parse_pair(start, (size_t)(p - start), obj, err)) {
				json_decref(obj);
				return err ? err->code : COREN_ERR_USAGE;
			}
			if (!*p)
				break;
			start = p + 1;
		}
	}
	*out = obj;
	return COREN_OK;
}
