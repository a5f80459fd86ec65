/* memo_int.h - what lib/memo's files share; not installed. */
#ifndef COREN_MEMO_INT_H
#define COREN_MEMO_INT_H

#include <coren/buf.h>
#include <coren/exec.h>
#include <coren/memo.h>
#include <coren/plugin.h>

/* A batch of points (an exec chunk) for one worker, and its outcome. */
struct exec_batch {
	const struct coren_memo_plan *plan;
	size_t n;
	const size_t *vidx; /* n * naxes value indices */
	struct coren_buf vals; /* the values' JSON texts */
	size_t *voff, *vlen;   /* n each: a value's place in vals */
	char **errs;	       /* n: NULL, or why the point failed */
	volatile sig_atomic_t *stop;
};

/* Records the value of point i (compact JSON text) or its failure. */
void batch_value(struct exec_batch *b, size_t i, const char *text, size_t len);
void batch_json(struct exec_batch *b, size_t i, const json_t *v);
void batch_fail(struct exec_batch *b, size_t i, const char *fmt, ...)
	COREN_PRINTF(3, 4);
/* A command's output as a value: JSON if it parses, else a string. */
void batch_output(struct exec_batch *b, size_t i, const char *out, size_t len);

/* An axis given as a range (range.c): value i is start + i * step, an
 * integer in int64..uint64 (real false), or, for a real range, the double
 * nearest to (start + i * step) * 10^e10, as a list of the same decimal
 * values gives it (exp.c). */
struct coren_memo_range {
	__int128 start, step;
	long e10;
	bool real;
	size_t count; /* > 0 */
};

double memo_decimal_double(__int128 x, long e10);
/* Value i as a new JSON value (NULL on ENOMEM), and its canonical text
 * appended to b: those of the same value written in a list. */
json_t *memo_range_value(const struct coren_memo_range *r, size_t i);
enum coren_err memo_range_text(const struct coren_memo_range *r, size_t i,
			       struct coren_buf *b);
/* The index of the value whose canonical text is the len bytes at text,
 * or SIZE_MAX when r has none. */
size_t memo_range_find(const struct coren_memo_range *r, const char *text,
		       size_t len);

/* Points as JSON objects, built from one thread's values (plan.c).
 * jansson reads a value's reference count without atomics, so two threads
 * must never take references to one json_t: each worker builds its points
 * from its own copies of the axes' values (an axis of more than
 * MEMO_COPY_MAX values is copied a point at a time instead), and the main
 * thread, alone with the plan's values while workers run, uses those. */
#define MEMO_COPY_MAX 65536
struct memo_points {
	const struct coren_memo_plan *p;
	json_t **values; /* per axis: this thread's array, or NULL: copy */
	bool shared;	 /* the plan's own values (the main thread) */
};

enum coren_err memo_points_init(struct memo_points *pts,
				const struct coren_memo_plan *p, bool shared);
void memo_points_release(struct memo_points *pts);
/* Sets each axis of point (an object of this thread's) to vidx's value. */
enum coren_err memo_points_set(const struct memo_points *pts, json_t *point,
			       const size_t *vidx);
/* A new point object for vidx. */
json_t *memo_points_json(const struct memo_points *pts, const size_t *vidx);
/* coren_memo_exec_chunk_cost() with the points of pts. */
enum coren_err memo_chunk_cost(const struct coren_memo_exec *x,
			       const struct memo_points *pts,
			       const size_t *bins, struct coren_cost *out);

/* "<cache>/claims" (claim.c): a byte of it locked per chunk claimed.
 * Earlier versions locked a file "<cache>/<2 hex>/<id>.claim" per chunk;
 * --gc removes those nobody holds. */
#define MEMO_CLAIMS_FILE "claims"
#define MEMO_CLAIM_SUFFIX ".claim"
#define MEMO_FNID_DIR "fnid" /* <cache>/fnid/: files' SHA-256 (filesum.c) */
char *memo_claims_path(const char *cache);

/* Seconds on the monotonic clock (run.c), for every timing in lib/memo. */
double memo_now(void);

/* A cost as the object records carry: {flops, mem_bytes, peak_mem,
 * result_bytes} (new reference, NULL on ENOMEM). */
json_t *memo_cost_json(const struct coren_cost *c);

/* argv copies (NULL-terminated), and their release (accepts NULL). */
char **memo_argv_copy(const char *const *argv);
void memo_argv_free(char **argv);

struct exec_vt {
	/* Starts a worker for plan (one per thread). */
	enum coren_err (*open)(struct coren_memo_exec *x,
			       const struct coren_memo_plan *p, void **w,
			       struct coren_error *err);
	/* Evaluates every point of b, setting a value or an error for each. */
	void (*run)(void *w, struct exec_batch *b);
	void (*close)(void *w);
};

struct coren_memo_exec {
	const struct exec_vt *vt;
	struct coren_plugin *plugin;
	const struct coren_exec_ops *ops;
	char **argv;
	const char *kind; /* argv functions: "cmd" or "coproc" (identity) */
	char *prog; /* argv[0] resolved through PATH (commands only) */
	/* a co-process's "fatal" reason: claimed by the first worker to see
	 * one (atomic), readable once fatal_ready is set (release/acquire) */
	int fatal_claimed, fatal_ready;
	char fatal[240];
};

/* Runs b on worker w of x, then runs its failed points again, as smaller
 * batches, up to the experiment's retries times (not after a stop): a
 * point keeps its first success, or its last failure's reason. */
void memo_exec_run(struct coren_memo_exec *x, void *w, struct exec_batch *b);

/* The answer path of --coproc alone (exec.c), for the fuzz harness
 * (tests/fuzz/fuzz_answer.c) and unit tests; no process is started. A
 * round of the points of b not done (done: b->n flags, kept up to date)
 * sent with seqs base, base + 1, ... in batch order takes out[0..len) as
 * the co-process's output, in reads of piece bytes (0: one read), as
 * swarm-run takes it; after each read, check(arg, left, why): the points
 * still outstanding, and the protocol error that ends the round or NULL.
 * full: the full parser alone, no fast path (to compare the two). False
 * when a protocol error ended the round. */
typedef void memo_answers_fn(void *arg, size_t left, const char *why);
bool memo_coproc_answers_check(struct exec_batch *b, bool *done, uint64_t base,
			       bool full, const char *out, size_t len,
			       size_t piece, memo_answers_fn *check, void *arg);

/* plan.c, for the index of cached keys (index.c). The key text of the
 * chunk at bins (lens per axis, NULL: the bins' own), canonical:
 * [[axis,[values]],...], appended to b. */
enum coren_err memo_plan_key_text(const struct coren_memo_plan *p,
				  const size_t *bins, const size_t *lens,
				  struct coren_buf *b);
/* The chunk id of a canonical key text, as coren_memo_plan_chunk_id(). */
enum coren_err memo_plan_key_id(const struct coren_memo_plan *p,
				const char *key, size_t len, char hex[65]);
/* SHA-256 of {"fn","params","version"}: what every chunk of p shares. */
enum coren_err memo_plan_family(const struct coren_memo_plan *p,
				char hex[65]);
/* Value v of axis a as a new JSON value (NULL on ENOMEM): a copy of the
 * experiment's, or, once coren_memo_plan_compact() freed a large axis's,
 * made from the plan's canonical text. Any thread. */
json_t *memo_plan_value(const struct coren_memo_plan *p, size_t a, size_t v);
/* Whether axis a is a range (its values made on demand, never a string). */
bool memo_plan_is_range(const struct coren_memo_plan *p, size_t a);

/* Whether content is exactly npoints lines, each the result record of
 * its point of key (a chunk key: the check a run makes against its grid,
 * made against the key alone), as memo_check_lines(); a key no grid has
 * is COREN_ERR_CORRUPT. For --verify and the index of keys. */
enum coren_err memo_check_key_lines(const json_t *key, const json_t *params,
				   const char *content, size_t len,
				   uint64_t npoints, size_t *line_off,
				   bool parse, struct coren_error *err);

/* index.c: the keys of the chunks a cache holds for one function (its
 * top comment says what the file is and why it is only a hint). */
struct memo_index;
/* The descriptor chunks' keys are appended to, or -1 (no reuse then). */
int memo_index_open(const struct coren_memo_plan *p, const char *cache);
/* Appends the key of the chunk at bins (any thread; a failure is ignored). */
void memo_index_add(int fd, const struct coren_memo_plan *p,
		    const size_t *bins);
/* The entries of p's family with a point of p's grid; NULL on ENOMEM or a
 * grid without axes. Main thread. */
struct memo_index *memo_index_load(const struct coren_memo_plan *p,
				   const char *cache);
void memo_index_free(struct memo_index *ix);
bool memo_index_empty(const struct memo_index *ix);
/* The next entry (from *cursor, 0 at first) with a point in the chunk at
 * bins (lengths full) whose id is not id; SIZE_MAX after the last. */
size_t memo_index_next(const struct memo_index *ix, const size_t *bins,
		       const size_t *full, const char *id, size_t *cursor);
/* Entry k's chunk content, its lines checked against its key, and their
 * offsets (npoints + 1, row-major over the key's values); NULL when it
 * cannot be used (*corrupt: it is damaged). Valid until the next call. */
const char *memo_index_chunk(struct memo_index *ix, size_t k,
			     size_t max_content, const size_t **off,
			     bool *corrupt);
/* Entry k's number of values of axis a, and value i's index in the
 * plan (SIZE_MAX: not in the grid). */
size_t memo_index_len(const struct memo_index *ix, size_t k, size_t a);
size_t memo_index_at(const struct memo_index *ix, size_t k, size_t a, size_t i);

/* calib.c: what a function's points cost here (its top comment says
 * where it is kept and how it prices a chunk). Main thread. */
struct memo_calib {
	double seconds;	  /* workers' wall time of the points */
	double points;
	double flops, mem_bytes; /* their FnCost work (0: no cost) */
	double max_point; /* the slowest job's seconds per point */
};
/* Seconds the model gives cost c on one worker's share of cap. */
double memo_model_seconds(const struct coren_cost *c,
			  const struct coren_cap *cap);
void memo_calib_load(const char *cache, const json_t *fn,
		     struct memo_calib *c);
/* Adds run's figures to the stored ones (best effort). */
void memo_calib_save(const char *cache, const json_t *fn,
		     const struct memo_calib *run);
void memo_calib_add(struct memo_calib *to, const struct memo_calib *c);
/* SHA-256 (hex) of the regular file at path, remembered in
 * <cache>/fnid/ (filesum.c; cache NULL: read every time). */
enum coren_err memo_file_sha256(const char *cache, const char *path,
				char hex[65], struct coren_error *err);
/* Seconds to compute a chunk of npoints points and FnCost cost (NULL:
 * unknown) on one worker, from c, once enough points were measured. */
bool memo_calib_estimate(const struct memo_calib *c,
			 const struct coren_cost *cost, uint64_t npoints,
			 double *seconds);

/* ---- the executor's pure parts: no threads, no shared state ----------- */

/* The chunks of one slab: those sharing the first axis's bin, plan
 * indices [slab * n, (slab + 1) * n) for n = memo_slab_chunks(p); a grid
 * without axes has one slab of one chunk. */
size_t memo_slab_chunks(const struct coren_memo_plan *p);

/* Grid order over one slab (window.c): the slab's points in the order of
 * the grid (last axis fastest), each as the chunk within the slab and the
 * point's local index in that chunk (coren_memo_plan_point()'s order). */
struct memo_order {
	const struct coren_memo_plan *p;
	size_t naxes;
	size_t *v;   /* the next point's value index per axis */
	size_t *lo;  /* the slab's first value index per axis */
	size_t *hi;  /* one past its last */
	size_t *bin; /* each axis's bin length */
	bool more;   /* v is a point of the slab */
};

enum coren_err memo_order_init(struct memo_order *o,
			       const struct coren_memo_plan *p, size_t slab);
/* The next point: true with *chunk and *local set, false at the end. */
bool memo_order_next(struct memo_order *o, size_t *chunk, uint64_t *local);
/* The next run: *count points (the rest of a bin of the last axis) that
 * are the consecutive local indices *local, *local + 1, ... of one chunk,
 * as memo_order_next() would give them one by one. Within a slab each
 * chunk's points come in increasing local index, one after the other:
 * a chunk's lines are read front to back (spill.c relies on it). */
bool memo_order_run(struct memo_order *o, size_t *chunk, uint64_t *local,
		    uint64_t *count);
void memo_order_release(struct memo_order *o);

/* The one writer of result and error records (lines.c), as swarm-run
 * prints them and chunks hold them:
 * {"type":"result","point":P,"value":V}\n and
 * {"type":"error","point":P,"reason":R}\n, P as
 * coren_memo_plan_point_text() writes it, V JSON text as given. Appended
 * to b. */
enum coren_err memo_result_line(const struct coren_memo_plan *p,
				const size_t *vidx, const char *value,
				size_t len, struct coren_buf *b);
enum coren_err memo_error_line(const struct coren_memo_plan *p,
			       const size_t *vidx, const char *reason,
			       struct coren_buf *b);

/* Checks chunk contents line by line against the points they must hold
 * (lines.c). Built once per plan, read-only after: threads may share it. */
struct memo_line_check {
	const struct coren_memo_plan *p;
	size_t naxes;
	size_t *bin;	     /* each axis's bin length */
	struct coren_buf seg; /* the fixed texts around the point's values */
	size_t *seg_off;     /* naxes + 2 offsets into seg */
};

enum coren_err memo_line_check_init(struct memo_line_check *c,
				    const struct coren_memo_plan *p);
void memo_line_check_release(struct memo_line_check *c);

/* Whether content (len bytes) is exactly npoints result lines, line i
 * being the record of point i of the chunk at bins (of lengths lens per
 * axis; NULL: the bins' own), as memo_result_line() writes it, ending in
 * "}\n". With parse, each value must also parse (coren_json_parse()).
 * line_off (npoints + 1 entries, may be NULL) gets the lines' offsets.
 * COREN_ERR_CORRUPT naming the first bad line, or COREN_ERR_NOMEM. */
enum coren_err memo_check_lines(const struct memo_line_check *c,
				const size_t *bins, const size_t *lens,
				const char *content, size_t len,
				uint64_t npoints, size_t *line_off, bool parse,
				struct coren_error *err);

#endif
