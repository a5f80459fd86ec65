/* coren/rk.h - persistent actors, the host's API (coren-rk(3)): the
 * runtime, the K2K broker, msg records and envelope streams, topologies.
 *
 * The runtime launches kernels (coren/rkkernel.h, a kernel author's
 * header) on backends (coren/rkbackend.h, a backend author's), hands them
 * the messages the host sends, and collects what they answer. Every
 * message the host sends produces exactly one message back: the reply, or
 * an error message carrying the same correlation id. This header includes
 * the other two.
 *
 * Ownership: a struct coren_rk_msg is owned by whoever holds it; sending
 * it hands it to the runtime, receiving it hands it back to the caller.
 * Threads: one host thread sends; any one thread receives.
 */
#ifndef COREN_RK_H
#define COREN_RK_H

#include <coren/buf.h>
#include <coren/envelope.h>
#include <coren/error.h>
#include <coren/hlc.h>
#include <coren/plugin.h>
#include <coren/queue.h>
#include <coren/record.h>
#include <coren/rkbackend.h>
#include <coren/rkkernel.h>
#include <coren/rkpolicy.h>
#include <coren/settings.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- messages ------------------------------------------------------------- */

/* A message decoded from an envelope of len bytes (coren_env_decode's
 * checks and errors). */
enum coren_err coren_rk_msg_decode(const void *buf, size_t len,
				   struct coren_rk_msg **out,
				   struct coren_error *err);

/* ---- the K2K broker ------------------------------------------------------- */

enum coren_k2k_status {
	COREN_K2K_DELIVERED = 0, /* in the destination's inbox */
	COREN_K2K_PENDING,	 /* in a next hop's inbox, on its way */
	COREN_K2K_NOT_FOUND,	 /* no such endpoint, nor a route to it */
	COREN_K2K_QUEUE_FULL,	 /* inbox full and no time to wait */
	COREN_K2K_TIMEOUT,	 /* deadline or delivery timeout passed */
	COREN_K2K_MAX_HOPS,	 /* more hops than the limit */
	COREN_K2K__COUNT
};


struct coren_k2k;

struct coren_k2k_stats {
	uint64_t status[COREN_K2K__COUNT]; /* sends by outcome */
	uint64_t received;
};

/* A broker whose inboxes hold inbox_capacity messages (0: 1024, rounded
 * up to a power of two), enforcing max_hops (0: 8; at most 255, else
 * COREN_ERR_USAGE) and a delivery timeout
 * (0: 5000 ms; a send waits at most that long for room). */
enum coren_err coren_k2k_new(size_t inbox_capacity, unsigned max_hops,
			     unsigned timeout_ms, struct coren_k2k **out,
			     struct coren_error *err);
void coren_k2k_free(struct coren_k2k *b); /* frees queued messages too */

/* Registers endpoint id (1 to 4095) with an inbox; bell (may be NULL) is
 * rung on each delivery. Register every endpoint before sending. */
enum coren_err coren_k2k_register(struct coren_k2k *b, uint32_t id,
				  struct coren_doorbell *bell,
				  struct coren_error *err);

/* Messages for dest go to next_hop's inbox first. */
enum coren_err coren_k2k_route(struct coren_k2k *b, uint32_t dest,
			       uint32_t next_hop, struct coren_error *err);

/* Sends m from endpoint m->hdr.source to m->hdr.destination, through the
 * route's next hop unless the sender is that hop: DELIVERED or PENDING hand m over; any
 * other status leaves m with the caller. Counts a hop; refuses past the
 * limit, a passed deadline, and waits for room up to the timeout. */
enum coren_k2k_status coren_k2k_send(struct coren_k2k *b,
				     struct coren_rk_msg *m);

/* The same without waiting: COREN_K2K_QUEUE_FULL when the inbox is full. */
enum coren_k2k_status coren_k2k_try_send(struct coren_k2k *b,
					 struct coren_rk_msg *m);

/* Takes up to max messages from id's inbox. */
size_t coren_k2k_recv(struct coren_k2k *b, uint32_t id,
		      struct coren_rk_msg **out, size_t max);

/* Messages waiting in id's inbox. */
size_t coren_k2k_depth(struct coren_k2k *b, uint32_t id);

void coren_k2k_get_stats(struct coren_k2k *b, struct coren_k2k_stats *out);

/* "delivered", "pending", "not_found", "queue_full", "timeout",
 * "max_hops". */
const char *coren_k2k_status_name(enum coren_k2k_status s);

/* ---- the runtime ------------------------------------------------------------- */

struct coren_rk;

struct coren_rk_launch {
	size_t queue_capacity; /* per worker; 0: 1024 (rounded to 2^k) */
	size_t block_size;     /* messages per batch; 0: 64 */
	unsigned grid_size;    /* workers; 0: 1 */
	bool k2k;	       /* register a K2K inbox */
	bool auto_activate;    /* active at once, else launched */
};

#define COREN_RK_LAUNCH_INIT {0, 0, 0, true, true}

struct coren_rk_status {
	enum coren_rk_state state;
	uint64_t received;  /* messages queued for it */
	uint64_t processed; /* handled */
	uint64_t in_flight; /* received - processed */
	uint64_t replied, forwarded, errors;
	size_t queue_depth, queue_capacity, k2k_depth;
	uint64_t queue_full; /* pushes refused (backpressure) */
	double busy_ns;	     /* time in the handler */
};

/* A runtime (config NULL: the defaults). */
enum coren_err coren_rk_new(const struct coren_rk_config *config,
			    struct coren_rk **out, struct coren_error *err);

/* Terminates every kernel and frees everything (accepts NULL). */
void coren_rk_free(struct coren_rk *rt);

/* Adds a backend plugin (kind backend; the runtime does not own p) with
 * options (may be NULL). Kernels are launched on the first backend added.
 * The first backend whose capabilities say GPU is the GPU target, the
 * first other one the CPU target. A GPU backend added first makes the
 * dispatch mode cpu-only into gpu-only. With both targets, hybrid and
 * adaptive launch each kernel that has a CUDA entry on both, and send
 * each batch to one as the dispatcher decides; gpu-only launches every
 * kernel on the GPU target. */
enum coren_err coren_rk_add_backend(struct coren_rk *rt,
				    const struct coren_plugin *p,
				    const json_t *options,
				    struct coren_error *err);

/* Launches kernel plugin p (kind kernel; not owned) as name with args (an
 * object or NULL) where the dispatch mode puts it (coren_rk_add_backend;
 * a kernel without a CUDA entry cannot run on a GPU target): reserves its memory estimate with
 * the guard, makes grid_size states, starts the workers. *id is 1, 2, ...
 * in launch order. */
enum coren_err coren_rk_launch(struct coren_rk *rt, const char *name,
			       const struct coren_plugin *p,
			       const json_t *args,
			       const struct coren_rk_launch *opts,
			       uint32_t *id, struct coren_error *err);

/* Checks what only the whole topology can tell: every argument of type
 * COREN_KARG_KERNEL names a launched kernel, and the kernel taking it has
 * K2K. COREN_ERR_USAGE naming the kernel and the argument. */
enum coren_err coren_rk_check(struct coren_rk *rt, struct coren_error *err);

/* The memory a launch with opts may hold at most, in bytes. */
uint64_t coren_rk_memory_estimate(const struct coren_rk *rt,
				  const struct coren_rk_launch *opts);

/* Life cycle: launched/deactivated -> active, active -> deactivated,
 * anything -> terminated (a terminated or failed kernel: COREN_OK, no
 * change). COREN_ERR_STATE otherwise, also for active -> active and
 * deactivated -> deactivated. */
enum coren_err coren_rk_activate(struct coren_rk *rt, uint32_t id,
				 struct coren_error *err);
enum coren_err coren_rk_deactivate(struct coren_rk *rt, uint32_t id,
				   struct coren_error *err);
enum coren_err coren_rk_terminate(struct coren_rk *rt, uint32_t id,
				  struct coren_error *err);

/* Adds a K2K route: messages for dest go through via. */
enum coren_err coren_rk_route(struct coren_rk *rt, const char *dest,
			      const char *via, struct coren_error *err);

/* The id of the kernel named name (0: none); the name of id (NULL). */
uint32_t coren_rk_kernel_id(const struct coren_rk *rt, const char *name);
const char *coren_rk_kernel_name(const struct coren_rk *rt, uint32_t id);
uint32_t coren_rk_kernel_count(const struct coren_rk *rt);

/* Sends n host messages (each m->hdr.destination a kernel id) and takes
 * them: stamps id, source 0 and the HLC, then queues them, waiting while
 * queues are full. A message for an unknown or terminated kernel is
 * answered at once with an error message. */
void coren_rk_send(struct coren_rk *rt, struct coren_rk_msg **msgs, size_t n);

/* Puts m straight into the host's outbox, as if answered (an error the
 * host found in its own input, so that it comes out in order). */
void coren_rk_post(struct coren_rk *rt, struct coren_rk_msg *m);

/* Takes up to max answered messages, waiting up to timeout_ms (negative:
 * forever) for the first. */
size_t coren_rk_recv(struct coren_rk *rt, struct coren_rk_msg **out,
		     size_t max, int timeout_ms);

/* Messages sent (or posted) and not yet answered into the outbox. */
uint64_t coren_rk_in_flight(struct coren_rk *rt);

/* Messages sent (or posted) and not yet taken by coren_rk_recv: those in
 * flight plus the answers waiting in the outbox. Every message has exactly
 * one answer, so a host that sends n more only while backlog + n stays
 * within coren_rk_outbox_capacity never makes a worker wait on a full
 * outbox: one thread may then both send and receive without deadlock. */
uint64_t coren_rk_backlog(struct coren_rk *rt);

/* How many answers the outbox holds (config.outbox_capacity rounded up to
 * a power of two). */
size_t coren_rk_outbox_capacity(const struct coren_rk *rt);

/* The host's flow control, for a thread that both sends and takes the
 * answers (or holds the taking side while it calls these).
 * coren_rk_room: whether n more messages keep the backlog within the
 * outbox. coren_rk_make_room: takes answers, handing each batch to take,
 * until they do. A host that sends n messages only after
 * coren_rk_make_room(n) succeeded never makes a worker wait on a full
 * outbox, so it cannot deadlock with itself. n past the outbox capacity
 * waits for a backlog of 0: every answer taken. take gets up to 256
 * answers at a time (and owns them), fewer when the outbox ran empty, and
 * n = 0 when none came for 50 ms (a moment to write out what it holds).
 * COREN_ERR_TIMEOUT when no answer came for timeout_ms (negative: wait
 * for ever). */
typedef void coren_rk_answers_fn(void *data, struct coren_rk_msg **msgs,
				 size_t n);
bool coren_rk_room(struct coren_rk *rt, size_t n);
enum coren_err coren_rk_make_room(struct coren_rk *rt, size_t n,
				  int timeout_ms, coren_rk_answers_fn *take,
				  void *data, struct coren_error *err);

/* Waits until every message sent has been answered into the outbox (a
 * receiver must keep it from filling). COREN_ERR_TIMEOUT. */
enum coren_err coren_rk_drain(struct coren_rk *rt, int timeout_ms,
			      struct coren_error *err);

/* The name of the kernel whose handler the calling thread is running, or
 * NULL: for a crash report from a signal handler (it only reads a
 * thread-local pointer). */
const char *coren_rk_handling(void);

/* Worker threads abandoned in hung handler calls (they and their
 * kernel's state are never freed: coren_rk_free leaves them, and the
 * kernel plugin must stay loaded). */
uint64_t coren_rk_abandoned(struct coren_rk *rt);

/* A snapshot of kernel id. COREN_ERR_NOTFOUND. */
enum coren_err coren_rk_status(struct coren_rk *rt, uint32_t id,
			       struct coren_rk_status *out,
			       struct coren_error *err);

/* The kernel record of id (coren-records(5)); NULL if none. */
json_t *coren_rk_status_json(struct coren_rk *rt, uint32_t id);

/* The metrics record of the runtime. */
json_t *coren_rk_metrics_json(struct coren_rk *rt);

/* The runtime's clock, dispatcher, guard and hints (hints: hold the
 * runtime quiet, between runs or after drain, to read or load them). */
struct coren_hlc *coren_rk_clock(struct coren_rk *rt);
struct coren_dispatcher *coren_rk_dispatcher(struct coren_rk *rt);
struct coren_guard *coren_rk_guard(struct coren_rk *rt);
struct coren_hints *coren_rk_hints(struct coren_rk *rt);

/* A plugin record (coren-records(5)) for a backend or kernel plugin:
 * kind, name, version, summary, the capabilities (a backend's metadata
 * too, from loading it briefly) and path. NULL on ENOMEM. */
json_t *coren_rk_plugin_json(const struct coren_plugin *p);

/* ---- msg records (coren-records(5)) -------------------------------------------- */

/* The kernel id of name, for coren_rk_msg_from_record (0: none). */
typedef uint32_t coren_rk_lookup_fn(void *data, const char *name);

/* Makes a host message from a msg record: "to" (a kernel name, required),
 * "corr" (default: seq), "mtype", "priority" (a name or 0-3),
 * "deadline_ms" (from now), and the payload: "payload" (an array of
 * numbers: f32, or f64/u64 with "enc"; a string: utf8; anything else: its
 * JSON text, encoding json, here serialized by coren_json_dumpb) or
 * "payload_b64" (raw, or "enc"). A payload over max_payload
 * bytes (0: 64 KiB) is COREN_ERR_ENV_TOOBIG; a bad field COREN_ERR_RECORD;
 * an unknown kernel COREN_ERR_NOTFOUND. */
enum coren_err coren_rk_msg_from_record(const json_t *rec,
					coren_rk_lookup_fn *lookup, void *data,
					uint64_t seq, size_t max_payload,
					struct coren_rk_msg **out,
					struct coren_error *err);

/* One input line: a msg record becomes *out, as coren_record_parse and
 * coren_rk_msg_from_record would make it (same rules, same errors), but a
 * JSON-text payload is the line's own text of it, byte for byte (the same
 * value, never parsed for the kernel); a record of another type leaves
 * *out NULL (COREN_OK), for the caller to pass through. A record of the
 * usual shape (ASCII strings without escapes, the fields above but
 * priority and deadline_ms, a payload of f32/f64 numbers, a string,
 * base64, or an object or scalar coren_json_scan takes) is read in one
 * pass without building a JSON tree; any other goes through jansson. */
enum coren_err coren_rk_msg_from_line(const char *line, size_t len,
				      coren_rk_lookup_fn *lookup, void *data,
				      uint64_t seq, size_t max_payload,
				      struct coren_rk_msg **out,
				      struct coren_error *err);

/* Appends an answer as one JSON line (with a newline) to b: a msg record with
 * "from" (the kernel's name, from_name) and the payload decoded by its
 * encoding (a json payload as it is, when coren_json_parse takes it), or, for an error message, an error record with "corr",
 * "from" and "reason" (and "at" when the host found the error). */
enum coren_err coren_rk_msg_to_record(const struct coren_rk_msg *m,
				      const char *from_name,
				      struct coren_buf *b);

/* Base64 (RFC 4648, padded). decode: COREN_ERR_RECORD for bad input or
 * more than cap bytes of output. */
enum coren_err coren_base64_encode(const void *data, size_t n,
				   struct coren_buf *b);
enum coren_err coren_base64_decode(const char *s, size_t n, void *out,
				   size_t cap, size_t *len);

/* ---- envelope streams -------------------------------------------------------- */

struct coren_env_reader;

/* A reader of envelopes from in (not owned), named name in positions. */
struct coren_env_reader *coren_env_reader_new(FILE *in, const char *name);
void coren_env_reader_free(struct coren_env_reader *r); /* accepts NULL */

/* The byte offset of the envelope coren_env_reader_next() returned last
 * (or failed on), for positions of errors the caller finds. */
uint64_t coren_env_reader_offset(const struct coren_env_reader *r);

/* Input ends early once *stop is set, as coren_reader_set_stop() says. */
void coren_env_reader_set_stop(struct coren_env_reader *r,
			       const volatile sig_atomic_t *stop);

/* Bytes read ahead: 0 means the next call may wait for input. The reader
 * reads the descriptor of in with read(2): in's stdio buffer must be
 * unused. */
size_t coren_env_reader_buffered(const struct coren_env_reader *r);

/* The checks the JSON wire makes of a msg record, made of an envelope's
 * header: priority 0-3 and a known encoding (COREN_ERR_RECORD), a
 * destination among the kernels 1 to nkernels (COREN_ERR_NOTFOUND;
 * nkernels 0: not checked), at most max_payload bytes of payload
 * (COREN_ERR_ENV_TOOBIG; 0: 64 KiB). */
enum coren_err coren_env_check(const struct coren_rk_header *h, uint32_t nkernels,
			       size_t max_payload, struct coren_error *err);

/* The limits coren_env_reader_next() checks each envelope against with
 * coren_env_check() (by default: kernels not checked, 64 KiB). */
void coren_env_reader_set_limits(struct coren_env_reader *r, uint32_t nkernels,
				 size_t max_payload);

/* The next envelope as a message (*m NULL at end of input). A bad one is
 * its coren_env_decode() error with err->where "name:@OFFSET" (the byte
 * offset of its header), and the reader has moved past it: past the
 * payload for COREN_ERR_ENV_CHECKSUM and for the errors of
 * coren_env_check() (refused as a msg record's are): then *m is the
 * message as read, for the caller to answer and free; else to the next
 * magic. COREN_ERR_IO. */
enum coren_err coren_env_reader_next(struct coren_env_reader *r,
				     struct coren_rk_msg **m,
				     struct coren_error *err);

/* ---- topologies (rk-launch -c, -k, --route) ------------------------------------- */

struct coren_rk_kernel_spec {
	char *name, *plugin;
	json_t *args;			/* an object */
	struct coren_rk_launch launch;	/* 0 fields: the topology's */
};

struct coren_rk_topology {
	char *backend;			/* plugin spec; NULL: "cpu" */
	json_t *backend_options;	/* an object for the backends, or NULL */
	struct coren_rk_config config;
	struct coren_rk_launch launch;	/* defaults for every kernel */
	struct coren_rk_kernel_spec *kernels;
	size_t nkernels;
	char **routes;			/* "DEST>VIA" */
	size_t nroutes;
	char *hints;			/* hints file, or NULL */
	char *wire;			/* "json", "bin", or NULL */
};

/* An empty topology with default config and launch options. */
void coren_rk_topology_init(struct coren_rk_topology *t);
void coren_rk_topology_release(struct coren_rk_topology *t);

/* Reads a YAML topology (coren-rk(3): backend, node_id, wire, k2k,
 * backend_options, queue_capacity, block_size, grid_size, inbox_capacity, max_hops,
 * delivery_timeout_ms, dispatch, gpu_threshold, max_memory, max_payload,
 * hints, kernels: [{name, plugin, args, queue_capacity, block_size,
 * grid_size}], routes: ["DEST>VIA" or {dest, via}]). Errors at
 * file:line:col (COREN_ERR_CONFIG). */
enum coren_err coren_rk_topology_load(struct coren_rk_topology *t,
				      const char *path,
				      struct coren_error *err);

/* The settings of a topology (coren/settings.h), one row each for its
 * YAML key and rk-launch's option: what runs (for a struct
 * coren_rk_topology), how kernels launch (struct coren_rk_launch: the
 * topology's defaults, and a kernel's own queue_capacity, block_size,
 * grid_size) and the runtime's limits (struct coren_rk_config). */
extern const struct coren_setting coren_rk_topology_settings[];
extern const struct coren_setting coren_rk_launch_settings[];
extern const struct coren_setting coren_rk_config_settings[];

/* Adds "NAME=PLUGIN[:ARGS]" (ARGS as coren_rk_parse_args()), and a route
 * "DEST>VIA". COREN_ERR_USAGE. */
enum coren_err coren_rk_topology_add_kernel(struct coren_rk_topology *t,
					    const char *spec,
					    struct coren_error *err);
enum coren_err coren_rk_topology_add_route(struct coren_rk_topology *t,
					   const char *spec,
					   struct coren_error *err);

/* A running topology: the runtime and the plugins it uses. */
struct coren_rk_system {
	struct coren_rk *rt;
	struct coren_plugin *backends[2]; /* the named one, and its partner */
	size_t nbackends;
	struct coren_plugin **kernels;
	size_t nkernels;
};

/* Loads the plugins (searching dirs, as coren_plugin_open()): the backend
 * named, then the partner the dispatch mode needs (gpu-only: the "cuda"
 * backend, which must load; hybrid and adaptive: "cuda" if it loads, and
 * "cpu" beside a GPU backend); makes the runtime, loads the hints file if any, launches every kernel and adds the
 * routes. On failure nothing is left running. */
enum coren_err coren_rk_system_start(struct coren_rk_system *s,
				     const struct coren_rk_topology *t,
				     const char *const *dirs,
				     struct coren_error *err);

/* Terminates, saves the hints file if the topology names one, and frees
 * (accepts a zeroed s). */
enum coren_err coren_rk_system_stop(struct coren_rk_system *s,
				    const struct coren_rk_topology *t,
				    struct coren_error *err);

/* The args string "k=v,k=v" as an object: each value JSON if it parses
 * (2, 1.5, true, [1,2]), else a string. COREN_ERR_USAGE. */
enum coren_err coren_rk_parse_args(const char *s, json_t **out,
				   struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
