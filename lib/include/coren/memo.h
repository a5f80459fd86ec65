/* coren/memo.h - chunked memoization over a parameter grid (swarm-run(1)).
 *
 * An experiment is fixed params, a split (axis -> list of values), a memo
 * chunk size per axis, a version and an exec function. The plan cuts each
 * axis list, in list order, into bins of its size (the last may be short);
 * memo chunks are the cartesian product of the bins, last axis fastest. A
 * chunk's id is the SHA-256 of the canonical JSON of
 * {"chunk_key":[[axis,[values...]],...],"fn":...,"params":...,
 * "version":...}, fn being the function's identity, so that two functions
 * never share a chunk (coren-chunk(5)).
 * Chunks live in a cache directory as coren-chunk(5) files; only missing
 * chunks are computed.
 *
 * Ownership: every function returning a pointer returns something the
 * caller frees with the matching _free(); json_t arguments are borrowed.
 */
#ifndef COREN_MEMO_H
#define COREN_MEMO_H

#include <coren/cap.h>
#include <coren/cost.h>
#include <coren/error.h>
#include <coren/hlc.h>
#include <coren/settings.h>
#include <coren/sign.h>
#include <coren/yaml.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_MEMO_VERSION_DEFAULT "v1"
#define COREN_CHUNK_FORMAT 2
/* Largest chunk content read back (a bigger one is corrupt). */
#define COREN_CHUNK_MAX_DEFAULT ((size_t)1 << 32)

/* ---- the experiment ---------------------------------------------------- */

struct coren_memo_exec; /* an exec function, below */

struct coren_memo_range; /* a range's values, made on demand */

struct coren_memo_axis {
	char *name;
	json_t *values; /* array, in list order; NULL when range is set */
	struct coren_memo_range *range; /* values given as A..B[..STEP]:
					 * never listed (opaque) */
	size_t bin;	/* memo chunk size on this axis, > 0 */
};

/* The number of values of axis a, and value i of it (a new reference;
 * NULL past the end or on ENOMEM): a range's are made on demand. */
size_t coren_memo_axis_nvalues(const struct coren_memo_axis *a);
json_t *coren_memo_axis_value(const struct coren_memo_axis *a, size_t i);

struct coren_memo_exp {
	json_t *params; /* object */
	size_t naxes;
	struct coren_memo_axis *axes; /* in axis order once finished */
	char **axis_order;	      /* NULL: sorted by name */
	size_t naxis_order;
	char *version;
	size_t exec_chunk; /* points per worker batch; 0: auto, sized from
			      the measured time of a point */
	unsigned workers;  /* 0: one per core */
	char *cache;	   /* cache directory; NULL until defaulted */
	char *exec;	   /* exec plugin name or path */
	char **cmd;	   /* --cmd argv (NULL-terminated) */
	char **coproc;	   /* --coproc argv (NULL-terminated) */
	char *prog;	   /* the program cmd or coproc runs when a file
			      named it by a relative path with a '/':
			      argv[0] against the file's directory (argv
			      keeps the text, the function's identity);
			      NULL: argv[0] */
	char *fn_id;	   /* --fn-id: replaces the automatic identity */
	json_t *fn;	   /* the function's identity in chunk ids; NULL
			      until coren_memo_exp_identify() */
	double timeout;	  /* seconds a --cmd/--coproc point may take, 0: none */
	unsigned retries; /* times a failed point is run again, 0: none */
	char *secret_key;    /* the key file chunks are signed with, NULL:
				none (coren/sign.h) */
	char **trusted_keys; /* public keys or files of them whose chunks a
				remote tier may give (NULL-terminated) */
};

/* An empty experiment (no axes, version "v1", exec_chunk auto). */
void coren_memo_exp_init(struct coren_memo_exp *e);
/* Frees the contents of e. */
void coren_memo_exp_release(struct coren_memo_exp *e);

/* The experiment's settings (coren/settings.h): YAML keys and options
 * of swarm-run, one row each, for struct coren_memo_exp. */
extern const struct coren_setting coren_memo_exp_settings[];

/* Reads an experiment file's mapping into e, through
 * coren_memo_exp_settings: params, split, memo_chunk,
 * exec_chunk, cache, version, workers, axis_order, exec, cmd, coproc,
 * fn_id, timeout (a duration: seconds, or 30s, 2m, 1h, 500ms), retries.
 * Unknown keys and bad values are COREN_ERR_CONFIG at file:line:col.
 * base_dir is the file's directory: a relative cache, a relative exec
 * path (with a '/'; a bare name is a plugin name) and a relative
 * program of cmd or coproc (with a '/'; a bare name is found in PATH,
 * e->prog) are taken against it; other arguments of a command are
 * the command's, as written. NULL, "" or ".": paths as written. */
enum coren_err coren_memo_exp_load_yaml(struct coren_memo_exp *e,
					const struct coren_yaml_node *root,
					const char *base_dir,
					struct coren_error *err);

/* Options, applied over what a file set: "k=v" for --param (v typed as
 * by coren_memo_parse_value), "axis=v1,v2,..." or "axis=A..B[..STEP]"
 * for --split (replaces the axis), "axis=N" for --memo-chunk.
 * COREN_ERR_USAGE with a message on a bad argument. */
enum coren_err coren_memo_exp_param(struct coren_memo_exp *e, const char *kv,
				    struct coren_error *err);
enum coren_err coren_memo_exp_split(struct coren_memo_exp *e, const char *spec,
				    struct coren_error *err);
enum coren_err coren_memo_exp_memo_chunk(struct coren_memo_exp *e,
					 const char *spec,
					 struct coren_error *err);

/* Sets the experiment's --cmd (coproc false) or --coproc argv (copied),
 * argv[0] the program as written (e->prog back to NULL). */
enum coren_err coren_memo_exp_command(struct coren_memo_exp *e,
				      const char *const *argv, bool coproc,
				      struct coren_error *err);

/* A command-line value as JSON: a JSON number, true, false, null or a
 * quoted JSON string as such; any other text as a string. Typed as the
 * same value in YAML is (swarm-run(1) "Values"): an integer beyond
 * -2^63..2^64-1, a real that overflows a double, .nan or .inf, and text
 * that is not UTF-8 are NULL with COREN_ERR_USAGE in err. */
json_t *coren_memo_parse_value(const char *s, struct coren_error *err);

/* The identity of the function x computes for e, as chunk ids and headers
 * carry it (coren-chunk(5)), into e->fn: {"fn_id":TEXT} when e->fn_id is
 * set; for a plugin {"exec":NAME,"version":VERSION} (its descriptor's);
 * for --cmd/--coproc {"cmd"|"coproc":[argv as written],"sha256":{INDEX:
 * HEX,...}}, with the SHA-256 of the program (argv[0], resolved through
 * PATH) and of every other argument that names a regular file. x may be
 * NULL when e->fn_id is set. COREN_ERR_USAGE when the program is not
 * found. */
enum coren_err coren_memo_exp_identify(struct coren_memo_exp *e,
				       const struct coren_memo_exec *x,
				       struct coren_error *err);

/* Checks e and puts its axes in axis order: every axis has a bin, every
 * axis_order name is an axis and every axis is named. COREN_ERR_USAGE. */
enum coren_err coren_memo_exp_finish(struct coren_memo_exp *e,
				     struct coren_error *err);

/* ---- the plan ------------------------------------------------------------ */

struct coren_memo_plan;

/* The plan of a finished experiment (which must outlive it). */
enum coren_err coren_memo_plan_new(const struct coren_memo_exp *e,
				   struct coren_memo_plan **out,
				   struct coren_error *err);
/* Frees e's value lists of axes of more than 65536 values (e must be
 * p's experiment): p then makes their values from its canonical texts,
 * halving a large grid's memory. Call it once e's lists are no longer
 * read directly (after the experiment is identified and opened); p's
 * answers do not change. */
void coren_memo_plan_compact(struct coren_memo_plan *p,
			     struct coren_memo_exp *e);
void coren_memo_plan_free(struct coren_memo_plan *p);

uint64_t coren_memo_plan_chunks(const struct coren_memo_plan *p);
uint64_t coren_memo_plan_points(const struct coren_memo_plan *p);
size_t coren_memo_plan_naxes(const struct coren_memo_plan *p);

/* Chunk c (0 <= c < chunks, plan order): its bin index on each axis
 * (naxes entries) and its number of points. */
void coren_memo_plan_chunk_bins(const struct coren_memo_plan *p, uint64_t c,
				size_t *bins);
uint64_t coren_memo_plan_chunk_points(const struct coren_memo_plan *p,
				      const size_t *bins);

/* The number of bins of axis a, and the length of each bin of a chunk on
 * its axis (naxes entries; the last bin of an axis may be short). */
size_t coren_memo_plan_nbins(const struct coren_memo_plan *p, size_t a);
/* The number of values of axis a (the plan's; coren_memo_plan_compact()
 * may have freed the experiment's lists). */
size_t coren_memo_plan_nvalues(const struct coren_memo_plan *p, size_t a);
void coren_memo_plan_chunk_lens(const struct coren_memo_plan *p,
				const size_t *bins, size_t *lens);

/* The id of the chunk whose bins are bins and whose length on each axis
 * is lens (NULL: the bins' lengths; shorter lengths name the chunk of a
 * prefix of each bin). hex receives 64 hex digits + NUL. */
enum coren_err coren_memo_plan_chunk_id(const struct coren_memo_plan *p,
					const size_t *bins, const size_t *lens,
					char hex[65]);

/* The chunk key as JSON: [[axis,[values...]],...] (the id's form). */
json_t *coren_memo_plan_chunk_key(const struct coren_memo_plan *p,
				  const size_t *bins, const size_t *lens);

/* Point i (0 <= i < points of the chunk) of the chunk: its value index on
 * each axis. */
void coren_memo_plan_point(const struct coren_memo_plan *p, const size_t *bins,
			   uint64_t i, size_t *vidx);

/* The point as an object {axis: value, ...} (new reference; the values
 * are copies, so it may be built and used from any thread). */
json_t *coren_memo_plan_point_json(const struct coren_memo_plan *p,
				   const size_t *vidx);

/* Appends the point's JSON text {"axis":value,...} (axes in axis order,
 * values canonical) to b. */
enum coren_err coren_memo_plan_point_text(const struct coren_memo_plan *p,
					  const size_t *vidx,
					  struct coren_buf *b);

/* The canonical JSON text of value v of axis a, appended to b (a
 * range's is made then), and of the params. */
enum coren_err coren_memo_plan_value_text(const struct coren_memo_plan *p,
					  size_t a, size_t v,
					  struct coren_buf *b);
const char *coren_memo_plan_params_text(const struct coren_memo_plan *p);
const char *coren_memo_plan_axis_name(const struct coren_memo_plan *p,
				      size_t a);
const struct coren_memo_exp *coren_memo_plan_exp(const struct coren_memo_plan *p);

/* ---- chunk files (coren-chunk(5)) --------------------------------------- */

#define COREN_CHUNK_SIGS_MAX 16 /* signatures a header may hold */

struct coren_chunk_header {
	char id[65];
	json_t *chunk_key; /* as coren_memo_plan_chunk_key() */
	json_t *params;
	json_t *fn;	   /* the function's identity (coren-chunk(5)) */
	char *version;
	uint64_t points;   /* the chunk key's point count */
	char content_sha256[65]; /* of the content; set by the encoder */
	bool has_cost;
	struct coren_cost cost; /* sum of the points' FnCost when has_cost */
	char *producer;		/* "swarm-run 0.1.0 host pid" */
	struct coren_hlc_ts hlc; /* when it was written (coren-chunk(5)) */
	json_t *sigs; /* signatures NAME:BASE64, strings (at most
		       * COREN_CHUNK_SIGS_MAX); NULL: none */
	/* encoding only, not owned: when set, the encoder signs the chunk
	 * (its sigs are then this key's signature alone) */
	const struct coren_secret_key *signer;
};

void coren_chunk_header_release(struct coren_chunk_header *h);

/* What a chunk's signature signs: the canonical JSON text of
 * {"content_sha256":...,"cost":...,"fn":...,"hlc":[...],"id":...,
 * "producer":...} (coren-chunk(5)), appended. */
enum coren_err coren_chunk_sig_message(const struct coren_chunk_header *h,
				       struct coren_buf *out);

/* Whether a signature of h (h->sigs) by a key of trust verifies:
 * COREN_OK; COREN_ERR_NOTFOUND when h has no signature by a trusted key
 * (unsigned, or signed by others); COREN_ERR_CORRUPT when a signature by a
 * trusted key's name does not verify, or one is malformed. err says. */
enum coren_err coren_chunk_trusted(const struct coren_chunk_header *h,
				   const struct coren_trust *trust,
				   struct coren_error *err);

/* "<cache>/<2 hex>/<64 hex>.zst" (malloc'd). */
char *coren_chunk_path(const char *cache, const char *id);

/* Encodes a chunk file: the header (h->chunk_key, params and version must
 * be set) in a skippable frame, then content (points lines of JSONL) in a
 * zstd frame with content size and checksum. */
enum coren_err coren_chunk_encode(const struct coren_chunk_header *h,
				  const char *content, size_t len, int level,
				  struct coren_buf *out, struct coren_error *err);

/* Decodes and verifies a chunk file image: header magic and JSON, the id
 * equal to want_id (when not NULL) and to the hash of the header's key,
 * params and version, one zstd frame with a checksum that matches, nothing
 * after it, content of exactly h->points lines. COREN_ERR_CORRUPT (with
 * the reason) on any failure. On success *content (malloc'd) and *len hold
 * the JSONL and *h the header (release it). */
enum coren_err coren_chunk_decode(const void *data, size_t size,
				  const char *want_id, size_t max_content,
				  struct coren_chunk_header *h, char **content,
				  size_t *len, struct coren_error *err);

/* Reads the chunk id from the cache: COREN_ERR_NOTFOUND when absent,
 * COREN_ERR_CORRUPT when damaged, else as coren_chunk_decode(). */
enum coren_err coren_chunk_load(const char *cache, const char *id,
				size_t max_content,
				struct coren_chunk_header *h, char **content,
				size_t *len, struct coren_error *err);

/* Decodes and verifies only the header of a chunk file image (data may be
 * its first bytes): the header's own checksum, its id equal to want_id
 * (when not NULL) and to the hash of its key, params and version.
 * COREN_ERR_CORRUPT with the reason; on success release h. */
enum coren_err coren_chunk_peek(const void *data, size_t size,
				const char *want_id,
				struct coren_chunk_header *h,
				struct coren_error *err);

/* Writes a chunk file into the cache atomically (temp, fsync, rename).
 * When image is not NULL it receives the file's bytes (for publishing). */
enum coren_err coren_chunk_store(const char *cache,
				 const struct coren_chunk_header *h,
				 const char *content, size_t len,
				 struct coren_buf *image,
				 struct coren_error *err);

/* Writes an encoded, already verified chunk file image as chunk id of the
 * cache, atomically. */
enum coren_err coren_chunk_store_file(const char *cache, const char *id,
				      const void *data, size_t len,
				      struct coren_error *err);

/* ---- the remote tier (swarm-run --remote) ------------------------------ */

/* A shared chunk store: a directory (any file system, NFS included) or an
 * http(s):// URL served with GET and PUT (nginx WebDAV, say). Chunk id is
 * at <base>/<2 hex>/<64 hex>.zst. Names are made from the hex id alone;
 * nothing the remote says is used as a path or followed (no redirects, no
 * symlinks). Everything read is untrusted: callers verify it with
 * coren_chunk_decode() or coren_chunk_peek() before use. */
struct coren_remote;

struct coren_remote_link {
	double latency;	   /* seconds per request */
	double bandwidth;  /* bytes/s */
	uint64_t requests; /* transfers measured so far */
};

/* Opens the tier spec (a directory that exists, or an http:// or
 * https:// URL). token: a bearer token sent with every request (NULL:
 * none). The link figures start from cap (its network for a URL, its
 * disk for a directory; 1 ms, 100 MB/s where it has none) and follow
 * what this run's transfers measure. COREN_ERR_USAGE on a bad spec. */
enum coren_err coren_remote_open(const char *spec, const char *token,
				 const struct coren_cap *cap,
				 struct coren_remote **out,
				 struct coren_error *err);
void coren_remote_free(struct coren_remote *r);

/* Limits of every transfer: timeout seconds in all (0: 60), and at least
 * min_speed bytes/s (0: 1024) over each second. A transfer past either
 * makes the tier slow: down for the rest of the run, at once. */
void coren_remote_set_limits(struct coren_remote *r, double timeout,
			     long min_speed);
/* Trust the certificates in path (PEM) for https:// (curl's CAINFO). */
enum coren_err coren_remote_set_ca_file(struct coren_remote *r,
					const char *path,
					struct coren_error *err);
/* Whether a transfer was too slow (coren_remote_down() is then true). */
bool coren_remote_slow(struct coren_remote *r);

/* The first max bytes of chunk id (max 0: all of it, refused when larger
 * than limit bytes) appended to out. COREN_ERR_NOTFOUND when the remote
 * does not have it, COREN_ERR_CORRUPT when it is larger than limit or not
 * a plain file (or a redirect), COREN_ERR_STATE when the tier answers
 * with an error (HTTP 403, 500, ...), COREN_ERR_IO when it cannot be
 * reached (after three such failures in a row the tier counts as down and
 * every later call is COREN_ERR_IO at once). Safe from several threads. */
enum coren_err coren_remote_get(struct coren_remote *r, const char *id,
				size_t max, size_t limit,
				struct coren_buf *out, struct coren_error *err);

/* Stores a chunk file image as chunk id on the tier: a directory tier is
 * written atomically (temp, fsync, rename); a URL gets an HTTP PUT. Two
 * publishers of one chunk leave one valid file. Errors as for
 * coren_remote_get(). */
enum coren_err coren_remote_put(struct coren_remote *r, const char *id,
				const void *data, size_t len,
				struct coren_error *err);

/* The link as measured so far, and whether the tier is down. */
void coren_remote_link(struct coren_remote *r, struct coren_remote_link *out);
bool coren_remote_down(struct coren_remote *r);

/* ---- exec functions --------------------------------------------------- */

struct coren_memo_exec;

/* An in-process exec plugin (spec: name or path, dirs as for
 * coren_plugin_open()). */
enum coren_err coren_memo_exec_plugin(const char *spec,
				      const char *const *dirs,
				      struct coren_memo_exec **out,
				      struct coren_error *err);
/* A command run per point: {name} in argv is replaced by the point's
 * value of axis (or param) name, "{{" and "}}" by braces; the environment
 * gains SWARM_POINT, SWARM_PARAMS and SWARM_V_<axis> for each axis whose
 * name is an identifier. No shell is involved. Each point's process runs
 * in its own process group, stdin /dev/null; past the experiment's
 * timeout the group is killed. The program is prog, or argv[0] when prog
 * is NULL, resolved through PATH here (a name without '/'): one that is
 * not an executable regular file is COREN_ERR_USAGE. argv, argv[0] too,
 * is what the program gets and what names the function in chunk ids
 * (with the program file's SHA-256). */
enum coren_err coren_memo_exec_cmd(const char *const *argv, const char *prog,
				   struct coren_memo_exec **out,
				   struct coren_error *err);
/* A co-process per worker (protocol v2, coren-records(5)), started at the
 * worker's first exec chunk in its own process group with SWARM_PARAMS in
 * its environment, fed {"type":"point","seq":S,"point":{...}} lines, and
 * answering each with {"type":"result","seq":S,"value":V} or
 * {"type":"error","seq":S,"reason":"..."} (naming the point by "point"
 * instead of, or as well as, "seq"), in any order. Any other line is a
 * protocol error: the co-process is killed and the unanswered points of
 * the batch fail. prog and argv are as for coren_memo_exec_cmd(). */
enum coren_err coren_memo_exec_coproc(const char *const *argv, const char *prog,
				      struct coren_memo_exec **out,
				      struct coren_error *err);
void coren_memo_exec_free(struct coren_memo_exec *x);

/* Why a co-process of x said it cannot serve at all (a "fatal" record,
 * coren-records(5): its function does not load), or NULL. After the first
 * such record no co-process of x is started again and every point fails
 * at once with this reason; swarm-run then exits 3, as for a plugin. */
const char *coren_memo_exec_fatal(const struct coren_memo_exec *x);

/* The cost of the chunk bins of p: the sum of its points' costs (W, Q, R
 * add up, M is the largest). COREN_ERR_USAGE if x has no cost function. */
enum coren_err coren_memo_exec_chunk_cost(const struct coren_memo_exec *x,
					  const struct coren_memo_plan *p,
					  const size_t *bins,
					  struct coren_cost *out);

/* Whether x has a per-point cost function, and the cost of point. */
bool coren_memo_exec_has_cost(const struct coren_memo_exec *x);
enum coren_err coren_memo_exec_cost(const struct coren_memo_exec *x,
				    const json_t *params, const json_t *point,
				    struct coren_cost *out,
				    struct coren_error *err);

/* Serves the co-process protocol (v2: each answer echoes its point's
 * "seq") with x (a plugin) on in/out until EOF: the worker of --isolate.
 * params as the plugin's init sees them. */
enum coren_err coren_memo_exec_serve(struct coren_memo_exec *x,
				     const json_t *params, FILE *in, FILE *out,
				     struct coren_error *err);

/* ---- running ------------------------------------------------------------ */

struct coren_memo_stats {
	uint64_t chunks_total, chunks_cached, chunks_fetched, chunks_executed;
	uint64_t chunks_corrupt; /* damaged chunks found and recomputed */
	uint64_t chunks_skipped; /* missing, another shard's to compute */
	uint64_t exec_chunks;
	uint64_t points_total, points_executed, points_failed, points_reused;
	/* Exact accounting: every point is a result record, an error record
	 * (points_failed) or counted in points_unrun (no record: it did not
	 * run, or ran after a stop; the points of chunks skipped by --shard
	 * are in none). points_executed: points that produced a value or an
	 * error here; chunks_executed: chunks written here. */
	uint64_t points_unrun;
	bool interrupted; /* *opts->stop was set: the run was cut short */
	/* For progress, while the run goes on: points and chunks that have
	 * an outcome (computed, failed, cached, fetched, reused, skipped). */
	uint64_t points_done, chunks_done;
	double seconds;
	bool sharded; /* chunks_skipped is in the diag */
	/* with a remote tier */
	bool remote;
	uint64_t chunks_published, publish_failed;
	uint64_t remote_bad;   /* fetched chunks that failed verification */
	uint64_t chunks_untrusted; /* fetched chunks no trusted key signed */
	double seconds_saved;  /* by the fetch-or-compute decisions (model) */
	/* fetches run beside the workers: the most in flight at once, and
	 * the points computed here whose job ended while one was */
	uint64_t fetches_max_parallel, points_during_fetch;
};

/* How a run with a remote tier chooses between fetching and computing a
 * chunk missing here. */
enum coren_fetch_policy {
	COREN_FETCH_VERDICT = 0, /* coren's verdict on the chunk's cost */
	COREN_FETCH_ALWAYS	 /* fetch whatever the tier has */
};

struct coren_memo_run_opts {
	FILE *out;	     /* result records; NULL: write chunks only */
	bool keep_going;     /* finish other chunks after a failed point */
	unsigned workers;    /* > 0 */
	size_t max_content;  /* cap on a chunk read back (0: default) */
	int level;	     /* zstd level (0: default) */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to stop */
	/* --shard: a missing chunk c is computed only when owner[c] ==
	 * shard, and skipped otherwise (owner NULL: every chunk is ours).
	 * With owner, out must be NULL. */
	const uint32_t *owner;
	uint32_t shard;
	/* The remote tier (NULL: none), consulted for chunks missing here. */
	struct coren_remote *remote;
	bool publish;		      /* put the chunks computed here on it */
	enum coren_fetch_policy fetch;
	const struct coren_cap *cap;  /* this machine, for the verdicts */
	size_t max_fetch;	      /* largest remote chunk file (0: default) */
	unsigned fetch_threads;	      /* fetches at once (0: default, 4) */
	FILE *explain;		      /* a verdict record per decision, or NULL */
	/* Trust (coren-chunk(5)): a chunk from the tier is used only when a
	 * key of trust signed it; with no key, only with trust_unsigned (a
	 * private tier), else the run is refused. Chunks stored here are
	 * signed with signer when set (and published so). */
	const struct coren_trust *trust;
	bool trust_unsigned;
	const struct coren_secret_key *signer;
	/* Called from the main thread after each chunk, may be NULL. */
	/* Called by the calling thread with the counts so far (points_done,
	 * chunks_done, ...): once at the start, at most every 50 ms while
	 * the run goes on (workers done or not), and once at the end. */
	void (*progress)(const struct coren_memo_stats *s, void *data);
	void *progress_data;
	/* Called (with progress_data) by the calling thread before records
	 * are written on out or explain, e.g. to erase a progress line on
	 * the same terminal; may be NULL. */
	void (*progress_clear)(void *data);
	/* With out: the results as "values" records (coren-records(5)),
	 * {"type":"values","index":I,"values":[V,...]}, one per run of
	 * points with a value in grid order, I the grid index of the first;
	 * error records as they are. */
	bool values;
};

/* Runs the plan: emits result records in grid order on opts->out, loads
 * cached chunks and computes missing ones with x on opts->workers workers,
 * writing each chunk as soon as its last point is done. A failed point is
 * an error record {"type":"error","point":...,"reason":...} in the
 * output; its chunk is not written. Returns COREN_OK, COREN_ERR_PARTIAL
 * when points failed, COREN_ERR_INTERRUPTED when *opts->stop was set, or
 * the error that ended the run. stats are filled in every case. */
enum coren_err coren_memo_run(const struct coren_memo_plan *p,
			      struct coren_memo_exec *x,
			      const struct coren_memo_run_opts *opts,
			      struct coren_memo_stats *stats,
			      struct coren_error *err);

/* Which of n tasks computes each chunk of p (--shard I/N): *owner
 * (malloc'd) gets one task index per chunk, in plan order. Chunks are
 * dealt heaviest first, each to the task with the least weight so far
 * (ties: the lowest index), the weight of a chunk being its cost's
 * max(flops, mem_bytes) when x has a cost function, else its points.
 * The same plan and n give the same owners on every machine. */
enum coren_err coren_memo_shard_assign(const struct coren_memo_plan *p,
				       const struct coren_memo_exec *x,
				       uint32_t n, uint32_t **owner,
				       struct coren_error *err);

/* The diag record of stats. */
json_t *coren_memo_stats_record(const struct coren_memo_stats *s);

/* ---- the cache ---------------------------------------------------------- */

/* Writes one "chunk" record per chunk of the plan: id, index, chunk_key
 * as {axis: [values]}, points, cached, and cost when x has a cost
 * function (x may be NULL). */
enum coren_err coren_memo_plan_write(const struct coren_memo_plan *p,
				     struct coren_memo_exec *x, FILE *out,
				     struct coren_error *err);

struct coren_memo_cache_stats {
	uint64_t checked, damaged, removed, kept, temp_removed;
	uint64_t bytes_removed;
	uint64_t other;	 /* gc: chunks of other functions, left alone */
	uint64_t failed; /* gc: chunks it could not remove */
};

/* Checks every chunk file in cache; writes a "chunk" record with
 * "status":"corrupt" and the reason for each damaged one (every one with
 * all set). With trust (may be NULL), a signature under the name of a
 * trusted key that does not verify is damage too. */
enum coren_err coren_memo_cache_verify(const char *cache, size_t max_content,
				       const struct coren_trust *trust,
				       bool all, FILE *out,
				       struct coren_memo_cache_stats *st,
				       struct coren_error *err);

struct coren_memo_gc_opts {
	/* Only chunks whose header names this function identity (as
	 * coren_memo_exp_identify() makes it) are ever considered: other
	 * experiments sharing the cache are never touched. Required. */
	const json_t *fn;
	const struct coren_memo_plan *plan; /* chunks it does not reach go */
	double max_age; /* >= 0: chunks older than their time to live go */
	/* With a cap, a chunk whose header carries its cost lives
	 * coren_verdict_suggest_ttl(verdict on cap, max_age). */
	const struct coren_cap *cap;
	bool dry_run; /* remove nothing; list what would go on out */
	FILE *out;    /* "chunk" records: would_remove, not_removed */
	/* Instead of fn: every function's chunks (with max_age, without
	 * plan): those of functions renamed or edited since. */
	bool all_functions;
};

/* Removes this function's chunk files that the options select, and
 * temporary files older than an hour. A chunk that cannot be removed is a
 * "not_removed" record and counted in st->failed. */
enum coren_err coren_memo_cache_gc(const char *cache,
				   const struct coren_memo_gc_opts *o,
				   struct coren_memo_cache_stats *st,
				   struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
