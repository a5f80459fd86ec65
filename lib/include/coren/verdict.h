/* coren/verdict.h - compute here, or fetch a stored result? (DESIGN §4)
 *
 *   t_compute = max(W / flops, Q / mem_bw)   bottleneck: compute | memory
 *   t_fetch   = net_latency + R / net_bw     bottleneck: network
 *   t_store   = R / disk_write_bw
 *   score     = t_compute - t_fetch          > 0: fetch (saves score s)
 *                                            <= 0: compute
 *   M > ram_avail -> score +inf, reason "ram"     (must fetch)
 *   offline       -> score -inf, reason "offline" (must compute)
 *   both          -> action none, score null, reason "ram+offline"
 */
#ifndef COREN_VERDICT_H
#define COREN_VERDICT_H

#include <coren/buf.h>
#include <coren/cap.h>
#include <coren/cost.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_action {
	COREN_ACTION_COMPUTE = 0,
	COREN_ACTION_FETCH,
	COREN_ACTION_NONE
};

struct coren_verdict {
	double score;		/* seconds; +-INFINITY when forced, NAN for none */
	enum coren_action action;
	const char *bottleneck; /* "compute", "memory", "network", "transfer"
				   (the result's way back from a GPU, see
				   coren_cap_use_gpu); NULL: none */
	const char *reason;	/* "ram", "offline", "ram+offline"; NULL */
	double t_compute;
	double t_fetch;		/* INFINITY when offline */
	double t_store;
};

/* The verdict on cost c on machine cap (DESIGN §4; with cap->xfer_bw set,
 * t_compute adds result_bytes / xfer_bw). */
void coren_verdict_decide(const struct coren_cost *c, const struct coren_cap *cap,
			  struct coren_verdict *v);

/* Prices v again with t_compute seconds (a measured estimate in place of
 * the model's): score, action and bottleneck follow; a forced verdict
 * (ram, offline) is left as it is. */
void coren_verdict_reprice(struct coren_verdict *v, double t_compute);
/* "compute", "fetch", "none". */
const char *coren_verdict_action_name(enum coren_action a);

/* Appends the verdict record as one line of JSON (no newline): name (if
 * any; name_len bytes), score ("+inf"/"-inf"/null when not finite),
 * action, bottleneck, t_compute, t_fetch (null when offline), t_store,
 * reason when forced, and the cost object. The one definition of the
 * record; coren_verdict_to_record() reads it back. */
enum coren_err coren_verdict_write(struct coren_buf *b,
				   const struct coren_verdict *v,
				   const struct coren_cost *c, const char *name,
				   size_t name_len);

/* The verdict record as a json_t (NULL on ENOMEM). */
json_t *coren_verdict_to_record(const struct coren_verdict *v,
				const struct coren_cost *c, const char *name);

/* A buffer for streaming rows of row_bytes through memory: what the memory
 * moves in 10 ms (mem_bw / 100), at most ram_avail / 16, rounded down to
 * whole rows, never less than one row. */
uint64_t coren_verdict_etl_buffer_bytes(const struct coren_cap *cap,
					uint64_t row_bytes);

/* A cache time-to-live for a result: base scaled by t_compute / t_fetch
 * (expensive to recompute, cheap to fetch: keep it longer), the factor
 * clamped to [0.1, 100]; offline or a free fetch count as the upper bound,
 * a free computation as the lower. */
double coren_verdict_suggest_ttl(const struct coren_verdict *v, double base);

/* The work that fits in seconds on cap: W = seconds * flops and
 * Q = seconds * mem_bw (saturating), and whether c fits (t_compute <=
 * seconds). */
void coren_verdict_compute_budget(const struct coren_cap *cap, double seconds,
				  const struct coren_verdict *v,
				  uint64_t *flops, uint64_t *mem_bytes,
				  bool *fits);

#ifdef __cplusplus
}
#endif
#endif
