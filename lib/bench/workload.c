/* The built-in workloads of rk-bench and finding workloads by name. */
#include "config.h"

#include <coren/bench.h>
#include <coren/buf.h>
#include <coren/cap.h>
#include <coren/cost.h>
#include <coren/envelope.h>
#include <coren/hlc.h>
#include <coren/json.h>
#include <coren/memo.h>
#include <coren/queue.h>
#include <coren/record.h>
#include <coren/verdict.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static enum coren_err nomem(struct coren_error *err)
{
	return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

/* Keeps the compiler from dropping work whose result is unused. */
static void keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- triad, memcpy, matmul: memory and compute --------------------- */

struct arrays {
	uint64_t n;
	double *a, *b, *c;
};

static enum coren_err arrays_new(uint64_t n, uint64_t per, void **state,
				 struct coren_error *err)
{
	struct arrays *s = calloc(1, sizeof *s);
	uint64_t i;

	if (!s)
		return nomem(err);
	s->n = n ? n : 1;
	s->a = malloc(s->n * per * sizeof(double));
	s->b = malloc(s->n * per * sizeof(double));
	s->c = malloc(s->n * per * sizeof(double));
	if (!s->a || !s->b || !s->c) {
		free(s->a), free(s->b), free(s->c), free(s);
		return nomem(err);
	}
	for (i = 0; i < s->n * per; i++) {
		s->a[i] = 0;
		s->b[i] = (double)(i % 7);
		s->c[i] = (double)(i % 5) * 0.5;
	}
	*state = s;
	return COREN_OK;
}

static void arrays_free(void *state)
{
	struct arrays *s = state;

	free(s->a), free(s->b), free(s->c), free(s);
}

static enum coren_err triad_setup(uint64_t size, void **state, struct coren_error *err)
{
	return arrays_new(size, 1, state, err);
}

static enum coren_err triad_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct arrays *s = state;
	uint64_t it, i;

	(void)err;
	for (it = 0; it < iters; it++) {
		for (i = 0; i < s->n; i++)
			s->a[i] = s->b[i] + 3.0 * s->c[i];
		keep(s->a);
	}
	return COREN_OK;
}

static double triad_ops(const void *state, uint64_t size)
{
	(void)state;
	return 24.0 * (double)(size ? size : 1); /* STREAM counts 24 B */
}

static enum coren_err memcpy_setup(uint64_t size, void **state, struct coren_error *err)
{
	return arrays_new((size + 7) / 8, 1, state, err);
}

static enum coren_err memcpy_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct arrays *s = state;
	uint64_t it;

	(void)err;
	for (it = 0; it < iters; it++) {
		memcpy(s->a, s->b, s->n * sizeof(double));
		keep(s->a);
	}
	return COREN_OK;
}

static double memcpy_ops(const void *state, uint64_t size)
{
	(void)state;
	return (double)(size ? size : 8);
}

static enum coren_err matmul_setup(uint64_t size, void **state, struct coren_error *err)
{
	return arrays_new(size, size ? size : 1, state, err);
}

/* a += b c, n x n, in i-k-j order (unit stride inner loop). */
static enum coren_err matmul_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct arrays *s = state;
	uint64_t it, i, j, k, n = s->n;

	(void)err;
	for (it = 0; it < iters; it++) {
		for (i = 0; i < n; i++)
			for (k = 0; k < n; k++) {
				double bik = s->b[i * n + k];
				const double *c = s->c + k * n;
				double *a = s->a + i * n;

				for (j = 0; j < n; j++)
					a[j] += bik * c[j];
			}
		keep(s->a);
	}
	return COREN_OK;
}

static double matmul_ops(const void *state, uint64_t size)
{
	double n = (double)(size ? size : 1);

	(void)state;
	return 2.0 * n * n * n;
}

/* ---- queue, roundtrip: two threads through lib/rk queues ----------- */

#define ITEM 64
#define BATCH 64

struct pair {
	struct coren_queue *to, *back;
	pthread_t thread;
	atomic_int stop;
	atomic_uint_least64_t taken;
	uint64_t n;
	int echo; /* roundtrip: send each item back */
};

static void *pair_peer(void *arg)
{
	struct pair *p = arg;
	unsigned char items[BATCH * ITEM];
	size_t got, put;

	while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
		got = coren_queue_pop_n(p->to, items, BATCH);
		if (!got) {
			__builtin_ia32_pause();
			continue;
		}
		for (put = 0; p->echo && put < got;)
			put += coren_queue_push_n(p->back, items + put * ITEM, got - put);
		atomic_fetch_add_explicit(&p->taken, got, memory_order_release);
	}
	return NULL;
}

static enum coren_err pair_setup(uint64_t size, int echo, void **state,
				 struct coren_error *err)
{
	struct pair *p = calloc(1, sizeof *p);
	enum coren_err rc;

	if (!p)
		return nomem(err);
	p->n = size ? size : 1;
	p->echo = echo;
	if ((rc = coren_queue_new(COREN_QUEUE_SPSC, 1024, ITEM, &p->to, err)) ||
	    (rc = coren_queue_new(COREN_QUEUE_SPSC, 1024, ITEM, &p->back, err))) {
		coren_queue_free(p->to);
		free(p);
		return rc;
	}
	if (pthread_create(&p->thread, NULL, pair_peer, p)) {
		coren_queue_free(p->to), coren_queue_free(p->back), free(p);
		return coren_error_set(err, COREN_ERR_LIMIT, "cannot start a thread");
	}
	*state = p;
	return COREN_OK;
}

static void pair_free(void *state)
{
	struct pair *p = state;

	atomic_store_explicit(&p->stop, 1, memory_order_release);
	pthread_join(p->thread, NULL);
	coren_queue_free(p->to), coren_queue_free(p->back), free(p);
}

static enum coren_err queue_setup(uint64_t size, void **state, struct coren_error *err)
{
	return pair_setup(size, 0, state, err);
}

/* n items in batches of 64 to the peer, until it has taken them all. */
static enum coren_err queue_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct pair *p = state;
	unsigned char items[BATCH * ITEM] = {0};
	uint64_t start = atomic_load(&p->taken), want = p->n * iters, sent = 0;
	size_t k;

	(void)err;
	while (sent < want) {
		k = want - sent < BATCH ? (size_t)(want - sent) : BATCH;
		k = coren_queue_push_n(p->to, items, k);
		if (!k)
			__builtin_ia32_pause();
		sent += k;
	}
	while (atomic_load_explicit(&p->taken, memory_order_acquire) - start < want)
		__builtin_ia32_pause();
	return COREN_OK;
}

static enum coren_err roundtrip_setup(uint64_t size, void **state, struct coren_error *err)
{
	return pair_setup(size, 1, state, err);
}

/* n round trips of one item: out to the peer and back. */
static enum coren_err roundtrip_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct pair *p = state;
	unsigned char item[ITEM] = {0};
	uint64_t i;

	(void)err;
	for (i = 0; i < p->n * iters; i++) {
		while (coren_queue_push(p->to, item))
			__builtin_ia32_pause();
		while (coren_queue_pop(p->back, item))
			__builtin_ia32_pause();
	}
	return COREN_OK;
}

static double count_ops(const void *state, uint64_t size)
{
	(void)state;
	return (double)(size ? size : 1);
}

/* ---- spsc, hlc, envelope: the rk hot paths, one thread -------------- */

/* The state of the one-thread workloads: SIZE and what they work on. */
struct sized {
	uint64_t n;
	void *p;
	uint64_t reads; /* hlc: the synthetic clock's reads */
};

static enum coren_err sized_setup(uint64_t size, void **state, struct coren_error *err)
{
	struct sized *s = calloc(1, sizeof *s);

	if (!s)
		return nomem(err);
	s->n = size ? size : 1;
	*state = s;
	return COREN_OK;
}

static void sized_free(void *state)
{
	struct sized *s = state;

	free(s->p);
	free(s);
}

static enum coren_err spsc_setup(uint64_t size, void **state, struct coren_error *err)
{
	struct coren_queue *q;
	enum coren_err rc;

	if ((rc = coren_queue_new(COREN_QUEUE_SPSC, 1024, ITEM, &q, err)))
		return rc;
	if ((rc = sized_setup(size, state, err))) {
		coren_queue_free(q);
		return rc;
	}
	((struct sized *)*state)->p = q;
	return COREN_OK;
}

/* size items pushed and popped in batches of 64. */
static enum coren_err spsc_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct sized *s = state;
	unsigned char items[BATCH * ITEM] = {0};
	uint64_t done = 0, n = s->n * iters;
	size_t k;

	(void)err;
	while (done < n) {
		k = n - done < BATCH ? (size_t)(n - done) : BATCH;
		k = coren_queue_push_n(s->p, items, k);
		done += coren_queue_pop_n(s->p, items, k);
	}
	keep(items);
	return COREN_OK;
}

static void spsc_free(void *state)
{
	struct sized *s = state;

	coren_queue_free(s->p);
	free(s);
}

/* The clock the hlc workload ticks on: 1 µs more every 4th read, so
 * that ticks take both paths (a new physical time, a logical increment)
 * in the same proportion on every machine. The real clock's cost is the
 * C library's, and its path mix would follow the machine's speed: an
 * instruction count, as make bench-check compares, would not be
 * repeatable. */
static uint64_t hlc_wall(void *data)
{
	uint64_t *reads = data;

	return 1700000000000000ull + ++*reads / 4;
}

static enum coren_err hlc_setup(uint64_t size, void **state, struct coren_error *err)
{
	struct sized *s;
	enum coren_err rc;

	if ((rc = sized_setup(size, state, err)))
		return rc;
	s = *state;
	if (!(s->p = malloc(sizeof(struct coren_hlc)))) {
		free(s);
		return nomem(err);
	}
	coren_hlc_init(s->p, 1);
	coren_hlc_set_wall(s->p, hlc_wall, &s->reads);
	return COREN_OK;
}

static enum coren_err hlc_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct sized *s = state;
	struct coren_hlc_ts t;
	uint64_t i;

	(void)err;
	for (i = 0; i < s->n * iters; i++) {
		t = coren_hlc_tick(s->p);
		keep(&t);
	}
	return COREN_OK;
}

struct env {
	uint64_t n;
	struct coren_rk_header h;
	unsigned char payload[4096];
	unsigned char wire[sizeof(struct coren_rk_header) + 4096];
};

static enum coren_err env_setup(uint64_t size, void **state, struct coren_error *err)
{
	struct env *e = calloc(1, sizeof *e);

	if (!e)
		return nomem(err);
	if (size > sizeof e->payload) {
		free(e);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "envelope payloads are at most 4096 bytes here");
	}
	e->n = size;
	coren_env_header_init(&e->h);
	e->h.payload_size = (uint32_t)size;
	memset(e->payload, 0x5a, sizeof e->payload);
	*state = e;
	return COREN_OK;
}

/* One iteration: encode, then decode with its CRC check. */
static enum coren_err env_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct env *e = state;
	struct coren_rk_header h;
	const unsigned char *pl;
	enum coren_err rc;
	size_t len;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		if ((rc = coren_env_encode(&e->h, e->payload, e->wire, sizeof e->wire,
					   &len, err)) ||
		    (rc = coren_env_decode(e->wire, len, &h, &pl, err)))
			return rc;
		keep(pl);
	}
	return COREN_OK;
}

/* ---- record, verdict, chunk: the coren tools' hot paths ------------- */

static const char cost_line[] =
	"{\"type\":\"cost\",\"name\":\"matmul 1k\",\"flops\":2000000000,"
	"\"mem_bytes\":24000000,\"peak_mem\":24000000,\"result_bytes\":8000000}";

/* size records parsed by jansson, as a filter's slow path reads them. */
static enum coren_err record_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct sized *s = state;
	enum coren_err rc;
	json_t *rec;
	uint64_t i;

	for (i = 0; i < s->n * iters; i++) {
		if ((rc = coren_record_parse(cost_line, sizeof cost_line - 1, &rec, err)))
			return rc;
		json_decref(rec);
	}
	return COREN_OK;
}

/* size cost records answered as coren-verdict does: scan, decide, write. */
static enum coren_err verdict_run(void *state, uint64_t iters, struct coren_error *err)
{
	static const struct coren_cap cap = {
		.host = "bench", .cpu = "bench", .cores = 8, .class_ = "server",
		.flops = 1e11, .flops_core = 2e10, .mem_bw = 2e10,
		.ram_total = 1ULL << 34, .ram_avail = 1ULL << 33,
		.disk_read_bw = 2e9, .disk_write_bw = 1e9, .net_iface = "eth0",
		.net_bw = 1.25e8, .net_latency = 0.001};
	struct sized *s = state;
	struct coren_field f[16];
	struct coren_verdict v;
	struct coren_cost c;
	struct coren_buf b;
	uint64_t i;
	int n;

	coren_buf_init(&b, 0);
	for (i = 0; i < s->n * iters; i++) {
		n = coren_record_scan_flat(cost_line, sizeof cost_line - 1, f, 16);
		if (n < 0 ||
		    coren_field_u64(coren_field_find(f, n, "flops"), &c.flops) ||
		    coren_field_u64(coren_field_find(f, n, "mem_bytes"), &c.mem_bytes) ||
		    coren_field_u64(coren_field_find(f, n, "peak_mem"), &c.peak_mem) ||
		    coren_field_u64(coren_field_find(f, n, "result_bytes"),
				    &c.result_bytes)) {
			coren_buf_release(&b);
			return coren_error_set(err, COREN_ERR_RECORD, "bad cost line");
		}
		coren_verdict_decide(&c, &cap, &v);
		coren_buf_reset(&b);
		if (coren_verdict_write(&b, &v, &c, "matmul 1k", 9)) {
			coren_buf_release(&b);
			return nomem(err);
		}
	}
	coren_buf_release(&b);
	return COREN_OK;
}

struct chunk {
	uint64_t n;
	struct coren_chunk_header h;
	struct coren_buf content, file;
};

static void chunk_free(void *state)
{
	struct chunk *c = state;

	coren_chunk_header_release(&c->h);
	coren_buf_release(&c->content);
	coren_buf_release(&c->file);
	free(c);
}

static enum coren_err chunk_setup(uint64_t size, void **state, struct coren_error *err)
{
	struct chunk *c = calloc(1, sizeof *c);
	json_t *id;
	uint64_t i;

	if (!c)
		return nomem(err);
	c->n = size ? size : 1;
	coren_buf_init(&c->content, 0);
	coren_buf_init(&c->file, 0);
	/* a chunk of x = 0..n-1, as swarm-run would write it: the key's
	 * point count is the content's */
	c->h.chunk_key = json_pack("[[s,[]]]", "x");
	for (i = 0; i < c->n; i++)
		json_array_append_new(json_array_get(json_array_get(c->h.chunk_key,
								    0),
						     1),
				      json_integer((json_int_t)i));
	c->h.params = json_object();
	c->h.fn = json_pack("{ss}", "fn_id", "rk-bench");
	c->h.version = strdup("1");
	c->h.producer = strdup("rk-bench");
	c->h.points = c->n;
	if ((id = json_pack("{sOsOsOss}", "chunk_key", c->h.chunk_key, "fn",
			    c->h.fn, "params", c->h.params, "version", "1")))
		coren_json_sha256(id, c->h.id);
	json_decref(id);
	for (i = 0; i < c->n; i++)
		if (coren_buf_printf(&c->content,
				     "{\"type\":\"result\",\"x\":%llu,\"value\":%.17g}\n",
				     (unsigned long long)i, (double)i * 0.37))
			break;
	if (!c->h.chunk_key || !c->h.params || !c->h.version || !c->h.producer ||
	    !c->h.id[0] ||
	    c->content.len == 0 || i < c->n) {
		chunk_free(c);
		return nomem(err);
	}
	*state = c;
	return COREN_OK;
}

/* One iteration: encode a chunk of size result lines and decode it back. */
static enum coren_err chunk_run(void *state, uint64_t iters, struct coren_error *err)
{
	struct chunk *c = state;
	struct coren_chunk_header h;
	enum coren_err rc;
	char *content;
	size_t len;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		coren_buf_reset(&c->file);
		if ((rc = coren_chunk_encode(&c->h, c->content.data, c->content.len, 3,
					     &c->file, err)) ||
		    (rc = coren_chunk_decode(c->file.data, c->file.len, NULL,
					     c->content.len, &h, &content, &len, err)))
			return rc;
		coren_chunk_header_release(&h);
		free(content);
	}
	return COREN_OK;
}

/* ---- the table ----------------------------------------------------- */

#define OPS(unit_, sizes_, setup_, run_, ops_, free_)                    \
	{sizeof(struct coren_workload_ops), (unit_), (sizes_), (setup_), \
	 (run_), (ops_), (free_)}

static const uint64_t triad_sizes[] = {1 << 12, 1 << 16, 1 << 20, 0};
static const uint64_t memcpy_sizes[] = {1 << 12, 1 << 18, 1 << 24, 0};
static const uint64_t matmul_sizes[] = {32, 64, 128, 0};
static const uint64_t msg_sizes[] = {1 << 16, 0};
static const uint64_t rt_sizes[] = {1000, 0};
static const uint64_t hot_sizes[] = {1000, 0};
static const uint64_t env_sizes[] = {64, 0};
static const uint64_t chunk_sizes[] = {100, 0};

static const struct coren_workload_ops ops[] = {
	OPS("bytes", triad_sizes, triad_setup, triad_run, triad_ops, arrays_free),
	OPS("flops", matmul_sizes, matmul_setup, matmul_run, matmul_ops, arrays_free),
	OPS("bytes", memcpy_sizes, memcpy_setup, memcpy_run, memcpy_ops, arrays_free),
	OPS("msgs", msg_sizes, queue_setup, queue_run, count_ops, pair_free),
	OPS("roundtrips", rt_sizes, roundtrip_setup, roundtrip_run, count_ops, pair_free),
	OPS("msgs", hot_sizes, spsc_setup, spsc_run, count_ops, spsc_free),
	OPS("ticks", hot_sizes, hlc_setup, hlc_run, count_ops, sized_free),
	OPS("envelopes", env_sizes, env_setup, env_run, NULL, free),
	OPS("records", hot_sizes, sized_setup, record_run, count_ops, sized_free),
	OPS("records", hot_sizes, sized_setup, verdict_run, count_ops, sized_free),
	OPS("chunks", chunk_sizes, chunk_setup, chunk_run, NULL, chunk_free),
};

static const struct coren_workload builtins[] = {
	{"triad", "STREAM triad a = b + 3c over SIZE doubles (24 B per element)", &ops[0], NULL},
	{"matmul", "SIZE x SIZE double matrix multiply (2 SIZE^3 FLOP)", &ops[1], NULL},
	{"memcpy", "memcpy of SIZE bytes", &ops[2], NULL},
	{"queue", "SIZE 64-byte messages through an SPSC queue to another thread", &ops[3], NULL},
	{"roundtrip", "SIZE round trips of a 64-byte message to another thread and back", &ops[4], NULL},
	{"spsc", "SIZE 64-byte items pushed and popped in batches of 64, one thread", &ops[5], NULL},
	{"hlc", "SIZE hybrid logical clock ticks", &ops[6], NULL},
	{"envelope", "encode and decode one envelope with a SIZE-byte payload", &ops[7], NULL},
	{"record", "SIZE cost records parsed into JSON objects", &ops[8], NULL},
	{"verdict", "SIZE cost records answered as coren-verdict's fast path does", &ops[9], NULL},
	{"chunk", "encode and decode a chunk file of SIZE result lines", &ops[10], NULL},
};

const struct coren_workload *coren_workload_builtin(size_t i)
{
	return i < sizeof builtins / sizeof builtins[0] ? &builtins[i] : NULL;
}

enum coren_err coren_workload_open(const char *spec, const char *const *dirs,
				   struct coren_workload *w, struct coren_error *err)
{
	const struct coren_workload_ops *o;
	const struct coren_workload *b;
	struct coren_plugin *p;
	enum coren_err rc;
	size_t i;

	for (i = 0; (b = coren_workload_builtin(i)); i++)
		if (!strcmp(b->name, spec)) {
			*w = *b;
			return COREN_OK;
		}
	if ((rc = coren_plugin_open(spec, COREN_PLUGIN_WORKLOAD, dirs, &p, err)))
		return rc;
	o = p->desc->ops;
	if (!o || o->struct_size < sizeof(struct coren_workload_ops) || !o->setup ||
	    !o->run) {
		rc = coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				     "workload plugin '%s' has no setup and run "
				     "operations", p->path);
		coren_plugin_free(p);
		return rc;
	}
	w->name = p->desc->name;
	w->summary = p->desc->summary ? p->desc->summary : "";
	w->ops = o;
	w->plugin = p;
	return COREN_OK;
}

void coren_workload_release(struct coren_workload *w)
{
	if (w && w->plugin) {
		coren_plugin_free(w->plugin);
		w->plugin = NULL;
	}
}
