/* run_int.h - what the executor's files share: run.c (the main loop and
 * the output), pool.c (the workers), compute.c (what a worker does),
 * source.c (where a chunk comes from), fetch.c (the remote tier) and
 * fetchers.c (the threads that fetch from it). Not installed.
 *
 * Owners. The main thread builds the run, creates and frees the slots,
 * resolves them and emits them. Workers touch only what a job hands them
 * and what pool.mu guards. Beside every field: "mu" (struct memo_pool's
 * lock), "main" (the main thread alone), "atomic", or "read-only" (set
 * before the workers start, never written while they run).
 *
 * Memory (spill.c states the design): within a slab, main admits chunks
 * while their unsettled points stay bounded; a settled slot keeps no
 * per-point state; READY content beyond a bound goes, by the worker that
 * made it, to an unlinked spill file, and main reads each chunk back
 * front to back through a cursor (next, pos) when its slab is emitted. */
#ifndef COREN_RUN_INT_H
#define COREN_RUN_INT_H

#include "memo_int.h"

#include <coren/file.h>
#include <coren/hlc.h>

#include <pthread.h>
#include <stdatomic.h>

/* WAITING: another process claims the chunk (claim.c); the main thread
 * polls it until the chunk is stored (then LOADING) or the claim is free
 * (then claimed here and computed).
 * LOADING: a worker reads and checks the slot's cached file (decoding,
 * hashing and checking a chunk costs more than printing it: the workers
 * do it in parallel, the main thread only prints). It ends READY with
 * cached set, or UNLOADED: the main thread then tries the next sources.
 * FETCHING: a fetcher thread (fetchers.c) owns the slot: it decides and
 * fetches it from the remote tier. It ends READY, or UNFETCHED (not
 * fetched, whatever the reason): the main thread then tries the sources
 * after the tier. */
enum slot_state {
	SLOT_PENDING,
	SLOT_LOADING,
	SLOT_UNLOADED,
	SLOT_FETCHING,
	SLOT_UNFETCHED,
	SLOT_WAITING,
	SLOT_READY,
	SLOT_FAILED,
	SLOT_SKIPPED
};

/* A memo chunk in the window. While PENDING, the job holding local point
 * i alone writes lines[i], lens[i], errs[i]; the worker that completes
 * the last point stores the chunk and then sets state under mu. Once the
 * main thread has read state != PENDING under mu, the slot is main's. */
/* What a slot needs until it settles: its points' state, key, cost and
 * claim. Owners as struct slot's state says; main frees it once the slot
 * is READY (tidy()): a slab of 100k small chunks then holds ~100 bytes
 * a chunk, not ~300. A FAILED slot keeps it (its lines are emitted). */
struct slot_work {
	enum coren_err load_rc; /* UNLOADED: why, by the loading job */
	char *load_why;		/* UNLOADED */
	char **lines;	       /* PENDING/FAILED: per point, by its job,
				* into one of blocks (the array freed once
				* READY, by whoever made it so) */
	size_t *lens;	       /* per point, by its job */
	char **errs;	       /* per point, by its job: why it failed */
	/* atomic: what lines point into, one block per run of a job's points
	 * (a malloc a line cost 2x the lines of a large chunk, and scattered
	 * them over the workers' arenas); freed with lines */
	_Atomic(struct line_block *) blocks;
	atomic_uint_fast64_t remaining, failed; /* atomic: the slot's jobs */
	atomic_uint_fast64_t unrun; /* atomic: points that failed after a stop
				     * (no outcome: counted as not run) */
	json_t *key; /* PENDING: the chunk key; made and freed by main (once
		      * it sees the slot settled), only read (never its
		      * values' counts) by the storing worker */
	int costed; /* main until queued, then the worker that stores it */
	uint64_t computed; /* main until queued: points to compute (not
			    * reused), read by the worker that stores it */
	struct coren_cost cost; /* as costed */
	struct slot *fetch_next; /* mu: queued for the fetchers */
	struct slot *store_next; /* mu: queued for the storers */
	/* The chunk's header: made by the worker that finished its last
	 * point, then read by whoever stores it (that worker or a storer) */
	struct coren_chunk_header hdr;
	json_t *verdict; /* --explain's record of the fetch-or-compute
			  * decision: by whoever owns the slot (main, or
			  * the fetcher while FETCHING); main writes it once
			  * the slot is settled (run.c, plan order) */
	/* Whether this run claims the chunk (claim.c): taken by main before
	 * the slot is queued; released by the worker storing it, or by main
	 * when the slot is freed unfinished. */
	bool claimed;
};

struct slot {
	uint64_t index;	       /* read-only: plan order */
	size_t *bins;	       /* read-only */
	char id[65];	       /* read-only */
	uint64_t npoints;      /* read-only */
	enum slot_state state; /* main until queued, then mu */
	bool cached;	       /* READY from the cache: by the loading job */
	bool waiting; /* main: WAITING (read without mu, unlike state) */
	bool spilled;	       /* READY: content at spill_at in the spill */
	char *content;	       /* READY: npoints checked lines, or NULL:
				* spilled, or not kept (spill.c) */
	size_t len;	       /* READY: the content's bytes */
	uint64_t spill_at;     /* file, by the worker that made it READY */
	uint64_t next;	       /* main: READY: the next point to emit, */
	size_t pos;	       /* main: and its first byte in the content */
	struct slot_work *w;   /* until READY and tidied: NULL then */
};

struct line_block {
	struct line_block *next;
	char data[];
};

/* The spill file (spill.c): READY content that waits for its slab. */
struct memo_spill {
	int fd;			  /* read-only: -1 when there is none */
	int open_errno;		  /* read-only: why there is none */
	size_t after;		  /* read-only: content bytes kept in memory */
	atomic_uint_fast64_t end; /* atomic: bytes reserved by writers */
	atomic_bool warned;	  /* atomic: a failed spill was reported */
};

/* Points of slots, for one worker. Built by main, then the pool's. */
struct job {
	struct job *next; /* mu while queued */
	struct slot *load; /* a load job: this LOADING slot's cached file */
	size_t n, cap;	   /* points, and room for them */
	struct slot **slots;
	uint64_t *local;
};

/* The worker pool (pool.c): a FIFO of jobs and the threads that run them. */
struct memo_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;	 /* mu: a job queued, abort lifted, closing */
	pthread_cond_t done;	 /* mu: a job ended, a slot completed */
	struct job *head, *tail; /* mu */
	size_t queued_points;	 /* mu: points of the queued jobs */
	size_t busy;		 /* mu: jobs taken, not finished */
	bool closing;		 /* mu: no more jobs, workers exit */
	bool abort;		 /* mu: a point failed or a stop: start nothing */
	/* read-only: worker k runs run(ctx, k, job) */
	void (*run)(void *ctx, size_t k, struct job *j);
	void *ctx;
	struct pool_thread *threads; /* main */
	size_t nthreads, started;    /* main */
};

enum coren_err memo_pool_init(struct memo_pool *pl, size_t n,
			      void (*run)(void *, size_t, struct job *),
			      void *ctx);
enum coren_err memo_pool_start(struct memo_pool *pl);
void memo_pool_push(struct memo_pool *pl, struct job *j);
size_t memo_pool_queued(struct memo_pool *pl);
void memo_pool_abort(struct memo_pool *pl);
bool memo_pool_aborted(struct memo_pool *pl);
void memo_pool_drop(struct memo_pool *pl);
/* For what mu guards outside the pool (slot states, run counters). */
void memo_pool_lock(struct memo_pool *pl);
void memo_pool_unlock(struct memo_pool *pl);
/* With mu held: wakes the main thread; waits up to 100 ms for that. */
void memo_pool_wake(struct memo_pool *pl);
void memo_pool_wait(struct memo_pool *pl);
bool memo_pool_idle(const struct memo_pool *pl); /* with mu held */
void memo_pool_stop(struct memo_pool *pl);	/* joins the workers */
void memo_pool_release(struct memo_pool *pl);
void memo_job_free(struct job *j);

/* A worker's scratch: worker k alone. */
struct scratch {
	struct exec_batch b;
	struct coren_buf line;
	json_t *params; /* copies of the params and the function's identity:
			 * jansson's reference counts are not written from
			 * two threads at once here */
	json_t *fn;     /* NULL when the experiment has none */
	struct memo_points pts; /* copies of the axes' values (chunk costs) */
};

/* The fetchers (fetchers.c): a few threads beside the workers that take
 * FETCHING slots in plan order and fetch them from the remote tier, so
 * that no transfer holds up the main thread or a worker. Until the tier
 * has answered once (its link measured) one fetch runs at a time: the
 * verdicts after it price the tier as it really is. Fields under the
 * pool's mu unless said. */
struct memo_fetchers {
	pthread_cond_t cv;	    /* a slot queued, a fetch ended, closing */
	bool inited;		    /* main */
	struct slot *head, *tail;   /* mu: FETCHING slots not yet taken */
	size_t inflight;	    /* mu: slots taken, not yet given back */
	size_t inflight_max;	    /* mu: the most at once (diag) */
	bool closing;		    /* mu */
	pthread_t *th;		    /* main */
	size_t n, started;	    /* main */
};

#define FETCH_THREADS_DEFAULT 4

/* The storers (storers.c): threads that write finished chunks (temp file,
 * fsync, rename), so that a worker goes on to its next job at once and
 * the fsyncs of several chunks overlap (the file system commits them
 * together: 16 at once take a fifth of the time of 16 in turn). A worker
 * pushes a finished slot (still PENDING); a storer stores it and makes it
 * READY. When STORE_QUEUE_MAX wait, the worker stores its slot itself.
 * Threads start as the pushes need them (none in a run that stores
 * nothing); main joins them after the workers, every queued slot stored.
 * Fields under the pool's mu. */
#define STORE_THREADS 4
#define STORE_QUEUE_MAX 8
struct memo_storers {
	pthread_cond_t cv;	   /* a slot queued, closing */
	bool inited;		   /* cv made (by the first push) */
	struct slot *head, *tail;  /* queued, not taken */
	size_t queued, inflight;   /* in the queue; taken, being stored */
	bool closing;
	pthread_t th[STORE_THREADS];
	size_t started;
};

/* The publisher thread and its queue (fetch.c). */
struct memo_publisher {
	pthread_t th;		       /* main starts and joins it */
	bool inited, started;	       /* main */
	pthread_mutex_t mu;	       /* guards the rest */
	pthread_cond_t cv;	       /* an item queued, room made, closing */
	struct pub_item *head, *tail;  /* mu */
	size_t bytes;		       /* mu: of the queued images */
	bool closing;		       /* mu */
};

struct run {
	const struct coren_memo_plan *p;    /* read-only */
	const struct coren_memo_exp *e;	    /* read-only */
	struct coren_memo_exec *x;	    /* read-only */
	const struct coren_memo_run_opts *o; /* read-only */
	size_t naxes, slab;		    /* read-only: slab in chunks */
	char producer[128];		    /* read-only */
	struct memo_line_check check;	    /* read-only */
	struct memo_pool pool;		    /* its own fields say */
	struct memo_publisher pub;	    /* its own fields say */
	struct memo_fetchers fetchers;	    /* its own fields say */
	struct memo_storers storers;	    /* its own fields say */
	void **wstate;		  /* [k]: worker k (main opens, closes) */
	struct scratch *scratch;  /* [k]: worker k (main sets up, frees) */
	enum coren_err store_rc;  /* mu: the first failed store */
	struct coren_error store_err; /* mu */
	bool warned_down, warned_refused; /* mu */
	uint64_t exec_chunks, published, publish_failed; /* mu: into *st */
	uint64_t stored;	/* mu: chunks written (chunks_executed) */
	/* mu, into *st: what the fetch-or-compute decisions and the
	 * fetchers did (chunks_fetched, remote_bad, chunks_untrusted,
	 * seconds_saved) */
	uint64_t fetched, remote_bad, untrusted;
	double saved;
	/* atomic: points of fetched chunks; fetches in flight now; points
	 * whose job ended while one was (points_during_fetch) */
	atomic_uint_fast64_t points_fetched, fetching, points_during_fetch;
	/* Progress (atomic, any thread adds; main reads them into *st):
	 * points with an outcome from a worker (points_executed), points of
	 * chunks a worker loaded from the cache, chunks completed by any
	 * source (stored, loaded, fetched, skipped, failed). */
	atomic_uint_fast64_t points_ran, points_loaded, chunks_done;
	/* atomic: nanoseconds workers spent running points, and the points
	 * (--exec-chunk auto sizes the next jobs from their ratio) */
	atomic_uint_fast64_t busy_ns, busy_points;
	/* atomic: the slowest job's nanoseconds per point, and the FnCost
	 * work of the points run here in stored chunks (calib.c) */
	atomic_uint_fast64_t max_point_ns, work_flops, work_mem;
	struct memo_calib calib; /* read-only: what this function's points
				  * cost here before this run (calib.c) */
	unsigned jobs_built; /* main: jobs made (auto doubles until measured) */
	struct coren_hlc clock;	/* the chunks' timestamps: coren_hlc_tick()
				 * is thread-safe (workers and main) */
	struct coren_memo_stats *st; /* main (workers count into the above) */
	struct job *building;	     /* main: the job being filled */
	struct slot **win;	     /* main: slots of chunks [base, base + n) */
	uint64_t base;		     /* main */
	size_t n, cap;		     /* main */
	uint64_t held;		     /* main: points of the slots in win */
	uint64_t created;	     /* main: points of the slots made so far */
	double last_progress;	     /* main: when progress was last called */
	uint64_t main_done; /* main: points fetched, skipped or reused */
	uint64_t found;		     /* main: chunk files found in the cache */
	struct memo_points main_pts; /* main: the plan's values */
	size_t unloaded;	     /* mu: slots UNLOADED or UNFETCHED, not
				      * yet resumed */
	struct memo_index *index; /* main: loaded at the first chunk that
				   * reuses points (source.c), or NULL */
	bool index_loaded;	  /* main */
	int index_fd; /* read-only: where stored chunks' keys are appended
		       * (index.c), -1: nowhere */
	size_t waiting;		     /* main: slots WAITING */
	double last_poll;	     /* main: when they were last polled */
	size_t claims_max;	     /* read-only: memo_claims_max() */
	bool claims_off;	     /* main: this cache takes no claims */
	int claims_fd; /* <cache>/claims, -1 until main's first claim (before
			* any slot it claims is queued); closed once the
			* workers are gone */
	atomic_size_t claims_held;   /* atomic: main adds, any thread ends */
	/* Bounded memory in results mode (spill.c says the design): */
	atomic_uint_fast64_t points_settled; /* atomic: points of the slots
					      * made READY, FAILED, SKIPPED */
	atomic_size_t mem;	 /* atomic: content bytes of READY slots kept
				  * in memory (workers add, main subtracts) */
	struct memo_spill spill; /* its own fields say */
	struct coren_buf rd;	 /* main: spilled lines read back */
	uint64_t tidy;		 /* main: chunks before it settled and tidied
				  * (their keys freed) */
	/* opts->values: the grid index of the next point emitted, and
	 * whether a "values" record is open (its last value written) */
	uint64_t emitted; /* main */
	bool vopen;	  /* main */
	bool brace_free;  /* read-only: no axis name or value holds a '}' */
};

/* Slot s has its outcome (READY, FAILED or SKIPPED): one more chunk done,
 * and its points no longer unsettled. Any thread, once, with s's state. */
static inline void memo_settled(struct run *r, const struct slot *s)
{
	atomic_fetch_add(&r->chunks_done, 1);
	atomic_fetch_add(&r->points_settled, s->npoints);
}

/* run.c: this run's measured figures so far (calib.c), any thread. */
void memo_calib_run(struct run *r, struct memo_calib *c);

/* compute.c: a worker's job, and storing a finished chunk. */
/* len bytes for lines of s, in a new block of s's (any thread); NULL on
 * ENOMEM. */
char *memo_slot_block(struct slot *s, size_t len);
/* Frees s's blocks (their lines go with them). */
void memo_slot_blocks_free(struct slot *s);
void memo_run_job(void *ctx, size_t k, struct job *j);
void memo_slot_finish(struct run *r, struct slot *s, json_t *params,
		      json_t *fn, const struct memo_points *pts);
bool memo_slot_cost(struct run *r, struct slot *s,
		    const struct memo_points *pts);

/* The points per job for the jobs built now: exec_chunk, or with auto
 * (exec_chunk 0) as many as take about AUTO_JOB_SECONDS by the time
 * points have taken so far (1 until one is measured), at most AUTO_MAX,
 * and few enough that the points not yet queued still spread over the
 * workers. Main thread. */
size_t memo_batch(struct run *r);

/* source.c: where chunk s comes from; pushes the building job. */
enum coren_err memo_resolve(struct run *r, struct slot *s,
			    struct coren_error *err);
/* After its load failed (UNLOADED): the sources after the cache. */
enum coren_err memo_resolve_unloaded(struct run *r, struct slot *s,
				     struct coren_error *err);
/* After the tier did not give it (UNFETCHED): the sources after it. */
enum coren_err memo_resolve_unfetched(struct run *r, struct slot *s,
				      struct coren_error *err);
/* Loads chunk id with the lines of the chunk at bins of lengths lens
 * (NULL: full) checked; line_off as memo_check_lines(). Any thread. */
enum coren_err memo_load_checked(struct run *r, const char *id,
				 const size_t *bins, const size_t *lens,
				 uint64_t npoints, char **content, size_t *len,
				 size_t *line_off, struct coren_error *e);
void memo_push_building(struct run *r);

/* After another process's claim on it (WAITING): tries again. */
enum coren_err memo_resolve_waiting(struct run *r, struct slot *s,
				    struct coren_error *err);

/* claim.c: claims on chunks computed here. memo_claim_take() is main's,
 * on a slot not yet queued; memo_claim_release() is the slot owner's,
 * any thread, and a no-op without a claim. */
enum claim {
	CLAIM_HELD,   /* claimed here: compute it */
	CLAIM_NONE,   /* no claim (claims off, or at the bound): compute it */
	CLAIM_BUSY,   /* another process claims it: wait */
	CLAIM_STORED  /* stored meanwhile: load it from the cache */
};
size_t memo_claims_max(void);
enum claim memo_claim_take(struct run *r, struct slot *s);
void memo_claim_release(struct run *r, struct slot *s);

/* spill.c: the spill file (made at the start; -1 and open_errno when
 * not), and bounded memory for READY content. */
void memo_spill_open(struct memo_spill *sp);
void memo_spill_close(struct memo_spill *sp);
/* READY content of s, just made (any thread, before s is published as
 * READY): kept in memory within the run's bound, else spilled and freed;
 * freed at once when no results are written. */
void memo_slot_keep(struct run *r, struct slot *s);
/* Before s is freed (main): its kept content leaves the count. */
void memo_slot_unkeep(struct run *r, struct slot *s);
/* The next lines of READY s (main): local must be its next point; at
 * least one and at most n whole lines, *len bytes at *data (valid until
 * the next call), *got of them; the cursor moves past them. */
enum coren_err memo_slot_lines(struct run *r, struct slot *s, uint64_t local,
			       uint64_t n, const char **data, size_t *len,
			       uint64_t *got);

/* fetch.c: the remote tier. memo_fetch_wanted() (main, before s is
 * queued): whether to try the tier for s, deciding at once when the
 * verdict can say compute without asking the tier. memo_fetch() (the
 * fetcher owning s): decides again with what the tier measured since,
 * fetches and checks s; true when s has its content (the caller makes it
 * READY). */
bool memo_fetch_wanted(struct run *r, struct slot *s);
bool memo_fetch(struct run *r, struct slot *s);
/* Adds seconds saved by a decision (any thread). */
void memo_saved(struct run *r, double seconds);

/* fetchers.c: the fetch threads (started when there is a tier). */
enum coren_err memo_fetchers_start(struct run *r, size_t n);
/* Queues FETCHING slot s (main). */
void memo_fetchers_push(struct run *r, struct slot *s);
/* With mu held: no fetch in flight (nothing more will settle by them). */
bool memo_fetchers_idle(const struct run *r);
/* Lets the fetches in flight end and joins the threads; slots still
 * queued stay FETCHING (counted as not run). */
void memo_fetchers_stop(struct run *r);
/* storers.c. memo_storers_push(): queues finished slot s (a worker);
 * false when it must store s itself (memo_slot_store, compute.c). */
bool memo_storers_push(struct run *r, struct slot *s);
/* With mu held: nothing queued or being stored. */
bool memo_storers_idle(const struct run *r);
/* Stores every queued slot and joins the threads (main, after the
 * workers stopped). */
void memo_storers_stop(struct run *r);
/* compute.c: stores finished slot s (its hdr made) and makes it READY;
 * params and fn: the experiment's, this thread's own copies. */
void memo_slot_store(struct run *r, struct slot *s, json_t *params,
		     json_t *fn);
/* Queues s's image for the publisher thread (any thread; waits while
 * the queue is full). Started when publishing; stopped (drained and
 * joined) after the workers. */
void memo_publish(struct run *r, struct slot *s, const struct coren_buf *img);
enum coren_err memo_publisher_start(struct run *r);
void memo_publisher_stop(struct run *r);

#endif
