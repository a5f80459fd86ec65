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
};

/* Runs b on worker w of x, then runs its failed points again, as smaller
 * batches, up to the experiment's retries times (not after a stop): a
 * point keeps its first success, or its last failure's reason. */
void memo_exec_run(struct coren_memo_exec *x, void *w, struct exec_batch *b);

#endif
