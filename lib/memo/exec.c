/* exec.c - the three kinds of exec function: an in-process plugin, a
 * command per point, a co-process per worker. */
#include "config.h"

#include "memo_int.h"

#include <coren/json.h>
#include <coren/record.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_PIDFD_OPEN
#include <sys/pidfd.h>
#endif

extern char **environ;

#define OUTPUT_MAX ((size_t)16 << 20) /* a command's stdout, a co-process line */

/* ---- batch outcomes ----------------------------------------------------- */

void batch_value(struct exec_batch *b, size_t i, const char *text, size_t len)
{
	b->voff[i] = b->vals.len;
	if (coren_buf_append(&b->vals, text, len))
		batch_fail(b, i, "out of memory");
	else
		b->vlen[i] = len;
}

/* Stores v for point i, or fails the point: a value is stored exactly or
 * not at all (an ambiguous box, a string that is not UTF-8). */
void batch_json(struct exec_batch *b, size_t i, const json_t *v)
{
	struct coren_error err = {0};
	size_t at = b->vals.len;

	if (coren_json_check_boxes(v, &err)) {
		batch_fail(b, i, "%s", err.msg);
		return;
	}
	if (coren_json_dumpb(v, 0, &b->vals)) {
		b->vals.len = at;
		batch_fail(b, i, "value cannot be written as JSON");
		return;
	}
	b->voff[i] = at;
	b->vlen[i] = b->vals.len - at;
}

void batch_fail(struct exec_batch *b, size_t i, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	free(b->errs[i]);
	b->errs[i] = strdup(msg);
	if (!b->errs[i])
		b->errs[i] = strdup("out of memory");
}

/* A command's output for point i: its JSON value (NaN, Infinity and big
 * integers in their boxes, coren-records(5) "Values"); output that is not
 * JSON becomes a string. Output that is JSON but cannot be stored exactly
 * (1e999), or that is not UTF-8, fails the point: never a lossy value,
 * never raw bytes in the JSON output. */
void batch_output(struct exec_batch *b, size_t i, const char *out, size_t len)
{
	struct coren_error err = {0};
	json_t *v;

	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		len--;
	if (!coren_json_utf8_valid(out, len)) {
		batch_fail(b, i, "output is not valid UTF-8");
		return;
	}
	v = len ? coren_json_parse_value(out, len, &err) : NULL;
	if (v) {
		batch_json(b, i, v);
		json_decref(v);
		return;
	}
	if (err.code && err.code != COREN_ERR_JSON) {
		batch_fail(b, i, "%s", err.msg);
		return;
	}
	if (coren_json_valid(out, len)) { /* \u0000, too deep: not a string */
		batch_fail(b, i, "output is JSON that cannot be stored exactly "
				 "(%s)",
			   err.msg);
		return;
	}
	b->voff[i] = b->vals.len;
	if (coren_json_dump_string(out, len, &b->vals)) {
		b->vals.len = b->voff[i];
		batch_fail(b, i, "output cannot be written as JSON");
	} else {
		b->vlen[i] = b->vals.len - b->voff[i];
	}
}

void coren_memo_exec_free(struct coren_memo_exec *x)
{
	if (!x)
		return;
	coren_plugin_free(x->plugin);
	memo_argv_free(x->argv);
	free(x->prog);
	free(x);
}

bool coren_memo_exec_has_cost(const struct coren_memo_exec *x)
{
	return x && x->ops &&
	       x->ops->struct_size >= offsetof(struct coren_exec_ops, cost) +
					      sizeof x->ops->cost &&
	       x->ops->cost;
}

enum coren_err coren_memo_exec_cost(const struct coren_memo_exec *x,
				    const json_t *params, const json_t *point,
				    struct coren_cost *out,
				    struct coren_error *err)
{
	if (!coren_memo_exec_has_cost(x))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the exec function has no cost");
	return x->ops->cost(params, point, out, err);
}

enum coren_err memo_chunk_cost(const struct coren_memo_exec *x,
			       const struct memo_points *pts,
			       const size_t *bins, struct coren_cost *out)
{
	const struct coren_memo_plan *p = pts->p;
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	size_t *vidx = malloc((coren_memo_plan_naxes(p) + 1) * sizeof *vidx);
	uint64_t n = coren_memo_plan_chunk_points(p, bins);
	json_t *pt = json_object(); /* reused for every point */
	enum coren_err rc = vidx && pt ? COREN_OK : COREN_ERR_NOMEM;
	struct coren_cost sum = {0, 0, 0, 0}, one;

	if (!coren_memo_exec_has_cost(x))
		rc = COREN_ERR_USAGE;
	for (uint64_t i = 0; !rc && i < n; i++) {
		coren_memo_plan_point(p, bins, i, vidx);
		rc = memo_points_set(pts, pt, vidx);
		if (!rc)
			rc = x->ops->cost(e->params, pt, &one, NULL);
		if (!rc) { /* one point after another, every result kept */
			struct coren_cost t = coren_cost_then(sum, one);

			t.result_bytes = coren_cost_add(sum.result_bytes,
							one.result_bytes);
			sum = t;
		}
	}
	json_decref(pt);
	free(vidx);
	*out = sum;
	return rc;
}

enum coren_err coren_memo_exec_chunk_cost(const struct coren_memo_exec *x,
					  const struct coren_memo_plan *p,
					  const size_t *bins,
					  struct coren_cost *out)
{
	struct memo_points pts;

	memo_points_init(&pts, p, true); /* no workers run: the plan's */
	return memo_chunk_cost(x, &pts, bins, out);
}

/* ---- retries ---------------------------------------------------------- */

/* Moves the outcome of point k of sub (a retry) to point i of b. */
static void retry_take(struct exec_batch *b, size_t i, struct exec_batch *sub,
		       size_t k)
{
	free(b->errs[i]);
	b->errs[i] = sub->errs[k];
	sub->errs[k] = NULL;
	if (!b->errs[i])
		batch_value(b, i, sub->vals.data + sub->voff[k], sub->vlen[k]);
}

/* Runs the failed points of b again as one batch; false when none failed
 * or the retry batch cannot be made. */
static bool retry_failed(struct coren_memo_exec *x, void *w,
			 struct exec_batch *b)
{
	size_t na = coren_memo_plan_naxes(b->plan), nf = 0, k = 0;
	size_t *at, *vidx;
	struct exec_batch sub = {.plan = b->plan, .stop = b->stop};

	for (size_t i = 0; i < b->n; i++)
		nf += b->errs[i] != NULL;
	if (!nf)
		return false;
	at = malloc(nf * sizeof *at);
	vidx = malloc(nf * (na ? na : 1) * sizeof *vidx);
	sub.voff = calloc(nf, sizeof *sub.voff);
	sub.vlen = calloc(nf, sizeof *sub.vlen);
	sub.errs = calloc(nf, sizeof *sub.errs);
	coren_buf_init(&sub.vals, 0);
	if (at && vidx && sub.voff && sub.vlen && sub.errs) {
		for (size_t i = 0; i < b->n; i++)
			if (b->errs[i]) {
				memcpy(vidx + k * na, b->vidx + i * na,
				       na * sizeof *vidx);
				at[k++] = i;
			}
		sub.n = nf;
		sub.vidx = vidx;
		x->vt->run(w, &sub);
		for (k = 0; k < nf; k++)
			retry_take(b, at[k], &sub, k);
	}
	for (k = 0; sub.errs && k < nf; k++)
		free(sub.errs[k]);
	coren_buf_release(&sub.vals);
	free(sub.voff);
	free(sub.vlen);
	free(sub.errs);
	free(vidx);
	free(at);
	return sub.n != 0;
}

void memo_exec_run(struct coren_memo_exec *x, void *w, struct exec_batch *b)
{
	unsigned retries = coren_memo_plan_exp(b->plan)->retries;

	x->vt->run(w, b);
	/* a stop fails every point "interrupted": running them again would
	 * only delay the stop */
	for (unsigned t = 0; t < retries && !(b->stop && *b->stop); t++)
		if (!retry_failed(x, w, b))
			break;
}

/* ---- in-process plugin ---------------------------------------------------- */

struct plugin_worker {
	const struct coren_exec_ops *ops;
	const struct coren_memo_plan *plan;
	void *state;
	json_t *point; /* reused for every point */
	struct memo_points pts; /* this worker's copies of the values */
	bool batch;
};

static void plugin_close(void *p);

static enum coren_err plugin_open(struct coren_memo_exec *x,
				  const struct coren_memo_plan *p, void **out,
				  struct coren_error *err)
{
	struct plugin_worker *w = calloc(1, sizeof *w);
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);

	if (!w)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	w->ops = x->ops;
	w->plan = p;
	w->batch = x->ops->struct_size >=
			   offsetof(struct coren_exec_ops, exec_batch) +
				   sizeof x->ops->exec_batch &&
		   x->ops->exec_batch;
	if (x->ops->init && x->ops->init(&w->state, e->params, err)) {
		free(w);
		if (!err->code)
			err->code = COREN_ERR_USAGE;
		return err->code;
	}
	w->point = json_object();
	if (!w->point || memo_points_init(&w->pts, p, false)) {
		plugin_close(w);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	*out = w;
	return COREN_OK;
}

static void plugin_close(void *p)
{
	struct plugin_worker *w = p;

	if (w->ops->fini)
		w->ops->fini(w->state);
	json_decref(w->point);
	memo_points_release(&w->pts);
	free(w);
}

static void plugin_run_batch(struct plugin_worker *w, struct exec_batch *b)
{
	size_t na = coren_memo_plan_naxes(w->plan);
	json_t **pts = calloc(b->n, sizeof *pts), **vals = calloc(b->n, sizeof *vals);
	struct coren_error *errs = calloc(b->n, sizeof *errs);
	enum coren_err rc = COREN_ERR_NOMEM;

	for (size_t i = 0; pts && i < b->n; i++)
		pts[i] = memo_points_json(&w->pts, b->vidx + i * na);
	if (pts && vals && errs)
		rc = w->ops->exec_batch(w->state, b->n,
					(const json_t *const *)pts, vals, errs);
	for (size_t i = 0; i < b->n; i++) {
		if (vals && vals[i])
			batch_json(b, i, vals[i]);
		else if (errs && errs[i].msg[0])
			batch_fail(b, i, "%s", errs[i].msg);
		else
			batch_fail(b, i, "%s", coren_strerror(rc ? rc : COREN_ERR_USAGE));
		if (vals)
			json_decref(vals[i]);
		if (pts)
			json_decref(pts[i]);
	}
	free(pts);
	free(vals);
	free(errs);
}

static void plugin_run(void *p, struct exec_batch *b)
{
	struct plugin_worker *w = p;
	size_t na = coren_memo_plan_naxes(w->plan);

	if (w->batch) {
		plugin_run_batch(w, b);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const size_t *vidx = b->vidx + i * na;
		struct coren_error err = {0};
		json_t *v = NULL;
		enum coren_err rc = memo_points_set(&w->pts, w->point, vidx);

		if (!rc)
			rc = w->ops->exec(w->state, w->point, &v, &err);
		if (!rc && v)
			batch_json(b, i, v);
		else
			batch_fail(b, i, "%s",
				   err.msg[0] ? err.msg
					      : coren_strerror(rc ? rc : COREN_ERR_USAGE));
		json_decref(v);
	}
}

static const struct exec_vt plugin_vt = {plugin_open, plugin_run, plugin_close};

enum coren_err coren_memo_exec_plugin(const char *spec,
				      const char *const *dirs,
				      struct coren_memo_exec **out,
				      struct coren_error *err)
{
	struct coren_memo_exec *x = calloc(1, sizeof *x);
	enum coren_err rc;

	*out = NULL;
	if (!x)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rc = coren_plugin_open(spec, COREN_PLUGIN_EXEC, dirs, &x->plugin, err);
	if (rc) {
		free(x);
		return rc;
	}
	x->ops = x->plugin->desc->ops;
	if (x->ops->struct_size < offsetof(struct coren_exec_ops, fini) +
					  sizeof x->ops->fini ||
	    !x->ops->exec) {
		coren_memo_exec_free(x);
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "exec plugin '%s' has no exec operation",
				       spec);
	}
	x->vt = &plugin_vt;
	*out = x;
	return COREN_OK;
}

/* ---- processes -------------------------------------------------------- */

/* Every child of --cmd and --coproc leads its own process group (its id is
 * the child's pid): killing -pid reaches what it started too (sh -c 'a &
 * b'), and a terminal's ^C reaches swarm-run alone, which ends them. */

/* How long poll may wait: short enough to see a stop (100 ms) and not
 * past the deadline (0: none). */
static int poll_ms(double deadline)
{
	double left;

	if (!deadline)
		return 100;
	left = (deadline - memo_now()) * 1000;
	return left <= 0 ? 0 : left < 100 ? (int)left + 1 : 100;
}

/* Whether path is a regular file we may execute: 1 yes, 0 no such
 * file, -1 there but not runnable. */
static int runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	return S_ISREG(st.st_mode) && !access(path, X_OK) ? 1 : -1;
}

/* prog resolved as execvp would (a name without '/' through PATH), once,
 * before the run: a typo is one usage error, not a failed point each. */
static enum coren_err find_program(const char *prog, char **out,
				   struct coren_error *err)
{
	const char *path = getenv("PATH"), *p;
	int found = strchr(prog, '/') ? runnable(prog) : 0;

	*out = found > 0 ? strdup(prog) : NULL;
	if (!path)
		path = "/usr/local/bin:/bin:/usr/bin"; /* execvp's default */
	for (p = path; !strchr(prog, '/') && found <= 0 && p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *cand = NULL;
		int r;

		if (asprintf(&cand, "%.*s%s%s", (int)n, n ? p : ".", "/",
			     prog) < 0)
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "out of memory");
		r = runnable(cand);
		found = r > 0 || found == 0 ? r : found;
		if (r > 0)
			*out = cand;
		else
			free(cand);
		p = end ? end + 1 : NULL;
	}
	if (found > 0)
		return *out ? COREN_OK
			    : coren_error_set(err, COREN_ERR_NOMEM,
					      "out of memory");
	return coren_error_set(err, COREN_ERR_USAGE, "cannot run '%s': %s",
			       prog, found ? "not executable" : "not found");
}

/* The environment of a child: ours without SWARM_* plus vars (each
 * "NAME=VALUE", malloc'd; the array and strings are the caller's). */
static char **child_env(char **vars, size_t nvars)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + nvars + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SWARM_", 6))
			env[k++] = environ[i];
	for (size_t i = 0; i < nvars; i++)
		env[k++] = vars[i];
	return env;
}

static char *env_var(const char *name, const char *value, size_t len)
{
	size_t n = strlen(name);
	char *s = malloc(n + len + 2);

	if (s) {
		memcpy(s, name, n);
		s[n] = '=';
		memcpy(s + n + 1, value, len);
		s[n + 1 + len] = '\0';
	}
	return s;
}

static int is_ident(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Spawns x's program in a new process group, stdin from in_fd (-1:
 * /dev/null), stdout to out_fd; the child's other ends are closed by
 * O_CLOEXEC. SIGPIPE is reset: we ignore it, the child should not. */
static int spawn(const struct coren_memo_exec *x, char *const *argv, char **env,
		 int in_fd, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
						 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	rc = posix_spawn(pid, x->prog, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* Kills the whole group of pid (signalled before pid is reaped, so the
 * group id cannot have been reused) and reaps pid; its wait status. */
static int kill_group(pid_t pid)
{
	int status = 0;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Why a child ended badly, or NULL if it exited 0. */
static const char *status_text(int status, char *buf, size_t n)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "ended with status %d", status);
	return buf;
}

static enum coren_err argv_exec(const char *const *argv, const char *prog,
				const struct exec_vt *vt,
				struct coren_memo_exec **out,
				struct coren_error *err)
{
	struct coren_memo_exec *x;
	enum coren_err rc;

	*out = NULL;
	if (!argv || !argv[0] || !argv[0][0])
		return coren_error_set(err, COREN_ERR_USAGE, "empty command");
	x = calloc(1, sizeof *x);
	if (!x || !(x->argv = memo_argv_copy(argv))) {
		free(x);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	rc = find_program(prog ? prog : argv[0], &x->prog, err);
	if (rc) {
		coren_memo_exec_free(x);
		return rc;
	}
	x->vt = vt;
	*out = x;
	return COREN_OK;
}

/* ---- a command per point ---------------------------------------------- */

struct cmd_worker {
	struct coren_memo_exec *x;
	const struct coren_memo_plan *plan;
	double timeout; /* seconds per point, 0: none */
	struct coren_buf out;
};

/* The JSON value of name for a point (vidx NULL: an axis's first value),
 * a new reference, or NULL when name is neither an axis nor a param. */
static json_t *lookup(const struct coren_memo_plan *p, const size_t *vidx,
		      const char *name, size_t n)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	char key[256];

	if (n >= sizeof key)
		return NULL;
	memcpy(key, name, n);
	key[n] = '\0';
	for (size_t a = 0; a < e->naxes; a++)
		if (!strcmp(e->axes[a].name, key))
			return memo_plan_value(p, a, vidx ? vidx[a] : 0);
	return json_incref(json_object_get(e->params, key));
}

/* The text a placeholder stands for: a string's content, else JSON. */
static enum coren_err placeholder(const struct coren_memo_plan *p,
				  const size_t *vidx, const char *name,
				  size_t n, struct coren_buf *b)
{
	json_t *v = lookup(p, vidx, name, n);
	enum coren_err rc;

	if (!v)
		return COREN_ERR_NOTFOUND;
	rc = json_is_string(v) ? coren_buf_append(b, json_string_value(v),
						  json_string_length(v))
			       : coren_json_dumpb(v, COREN_JSON_SORT_KEYS, b);
	json_decref(v);
	return rc;
}

/* Expands {name}, {{ and }} in arg into b; COREN_ERR_NOTFOUND with *bad
 * set for an unknown name or a lone brace. */
static enum coren_err expand(const struct coren_memo_plan *p, const size_t *vidx,
			     const char *arg, struct coren_buf *b,
			     const char **bad)
{
	enum coren_err rc = COREN_OK;

	b->len = 0;
	for (const char *s = arg; *s && !rc; s++) {
		if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
			rc = coren_buf_putc(b, *s++);
		} else if (*s == '{') {
			const char *end = strchr(s, '}');

			if (!end ||
			    placeholder(p, vidx, s + 1, (size_t)(end - s - 1), b)) {
				*bad = s;
				return COREN_ERR_NOTFOUND;
			}
			s = end;
		} else if (*s == '}') {
			*bad = s;
			return COREN_ERR_NOTFOUND;
		} else {
			rc = coren_buf_putc(b, *s);
		}
	}
	if (!rc)
		rc = coren_buf_putc(b, '\0');
	return rc;
}

static bool has_nul(const json_t *v)
{
	return json_is_string(v) &&
	       strlen(json_string_value(v)) != json_string_length(v);
}

/* Whether value i of axis a is a string with a NUL byte: its canonical
 * text holds the escape \u0000 (a string's text; no number has one). */
static bool value_has_nul(const struct coren_memo_plan *p, size_t a, size_t i)
{
	struct coren_buf b;
	const char *t;
	size_t len;
	bool nul = false;

	if (memo_plan_is_range(p, a)) /* numbers */
		return false;
	coren_buf_init(&b, 0);
	if (coren_memo_plan_value_text(p, a, i, &b))
		b.len = 0;
	t = b.data;
	len = b.len;
	for (size_t k = 1; len && *t == '"' && !nul && k + 1 < len; k++)
		if (t[k] == '\\') { /* escapes: \X, \uXXXX */
			nul = t[k + 1] == 'u' && k + 5 < len &&
			      !memcmp(t + k + 2, "0000", 4);
			k++;
		}
	coren_buf_release(&b);
	return nul;
}

/* Whether argv names {name} (an argument is a C string: it cannot carry a
 * NUL byte, so a value that has one would be cut silently). */
static bool substituted(char **argv, const char *name)
{
	size_t n = strlen(name);

	for (; *argv; argv++)
		for (const char *s = strchr(*argv, '{'); s;
		     s = strchr(s + 1, '{'))
			if (!strncmp(s + 1, name, n) && s[1 + n] == '}')
				return true;
	return false;
}

/* Refuses a string value with a NUL byte where it would become an
 * argument or an environment value: an axis exported as SWARM_V_<axis>
 * or substituted, a param substituted. (SWARM_POINT and SWARM_PARAMS are
 * JSON, where a NUL is written \u0000.) */
static enum coren_err check_nul(struct coren_memo_exec *x,
				const struct coren_memo_plan *p,
				struct coren_error *err)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	const char *key;
	json_t *v;

	for (size_t a = 0; a < e->naxes; a++) {
		if (!is_ident(e->axes[a].name) &&
		    !substituted(x->argv, e->axes[a].name))
			continue;
		for (size_t i = 0; i < coren_memo_plan_nvalues(p, a); i++)
			if (value_has_nul(p, a, i))
				return coren_error_set(
				    err, COREN_ERR_USAGE,
				    "--cmd: value %zu of axis '%s' contains "
				    "a NUL byte, which a command argument "
				    "cannot carry",
				    i + 1, e->axes[a].name);
	}
	json_object_foreach(e->params, key, v) {
		if (has_nul(v) && substituted(x->argv, key))
			return coren_error_set(
			    err, COREN_ERR_USAGE,
			    "--cmd: param '%s' contains a NUL "
			    "byte, which a command argument "
			    "cannot carry",
			    key);
	}
	return COREN_OK;
}

static enum coren_err cmd_open(struct coren_memo_exec *x,
			       const struct coren_memo_plan *p, void **out,
			       struct coren_error *err)
{
	struct cmd_worker *w;
	struct coren_buf b;

	coren_buf_init(&b, 0);
	for (char **a = x->argv; *a; a++) {
		const char *bad = NULL;

		if (expand(p, NULL, *a, &b, &bad) == COREN_ERR_NOTFOUND) {
			coren_buf_release(&b);
			return coren_error_set(err, COREN_ERR_USAGE,
					       "--cmd argument '%s': '%s' is not "
					       "an axis or param (write {{ and "
					       "}} for braces)",
					       *a, bad);
		}
	}
	coren_buf_release(&b);
	if (check_nul(x, p, err))
		return err->code;
	if (!(w = calloc(1, sizeof *w)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	w->x = x;
	w->plan = p;
	w->timeout = coren_memo_plan_exp(p)->timeout;
	coren_buf_init(&w->out, OUTPUT_MAX);
	*out = w;
	return COREN_OK;
}

static void cmd_close(void *p)
{
	struct cmd_worker *w = p;

	coren_buf_release(&w->out);
	free(w);
}

/* Reads the child's stdout to EOF into w->out. On a stop, past the
 * deadline (0: none) or past the cap, the child's group is killed and the
 * reason returned. */
static const char *collect(struct cmd_worker *w, int fd, pid_t pid,
			   volatile sig_atomic_t *stop, double deadline)
{
	char buf[65536];

	w->out.len = 0;
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n;

		if (stop && *stop) {
			kill(-pid, SIGKILL);
			return "interrupted";
		}
		if (deadline && memo_now() >= deadline) {
			kill(-pid, SIGKILL);
			return "timeout";
		}
		if (poll(&pf, 1, poll_ms(deadline)) == 0)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? strerror(errno) : NULL;
		if (coren_buf_append(&w->out, buf, (size_t)n)) {
			kill(-pid, SIGKILL);
			return "output longer than 16 MiB";
		}
	}
}

/* Reaps pid after its output ended. A child may close stdout and run on,
 * so the wait too ends at a stop or the deadline (polling: waitpid has no
 * timeout), killing its group; the reason, or NULL with *status set. */
static const char *reap(pid_t pid, int *status, volatile sig_atomic_t *stop,
			double deadline)
{
	long ns = 20000; /* without a pidfd: most children are gone by EOF */
#ifdef SYS_pidfd_open
	/* the system call, not glibc's wrapper (2.36): libcoren then loads
	 * on older C libraries too (the device kit's CUDA images); -1 where
	 * the kernel lacks it */
	int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* readable at exit */
#else
	int fd = -1;
#endif
	const char *why = NULL;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if ((stop && *stop) || (deadline && memo_now() >= deadline)) {
			*status = kill_group(pid);
			why = stop && *stop ? "interrupted" : "timeout";
			break;
		}
		if (fd >= 0) { /* woken at the exit, or to look at stop */
			struct pollfd pf = {fd, POLLIN, 0};

			poll(&pf, 1, poll_ms(deadline));
		} else {
			nanosleep(&(struct timespec){0, ns}, NULL);
			ns = ns < 10000000 ? ns * 2 : ns;
		}
	}
	if (fd >= 0)
		close(fd);
	return why;
}

/* argv and the environment of point vidx (SWARM_POINT, SWARM_PARAMS,
 * SWARM_V_<axis>); vars receives the malloc'd "NAME=VALUE" strings. */
static const char *cmd_setup(struct cmd_worker *w, const size_t *vidx,
			     char **argv, char **vars, size_t *nv, char ***env)
{
	size_t na = coren_memo_plan_naxes(w->plan);
	const char *params = coren_memo_plan_params_text(w->plan), *bad;
	struct coren_buf t;
	const char *fail = NULL;

	coren_buf_init(&t, 0);
	for (size_t a = 0; !fail && w->x->argv[a]; a++)
		if (expand(w->plan, vidx, w->x->argv[a], &t, &bad) ||
		    !(argv[a] = strdup(t.data)))
			fail = "out of memory";
	t.len = 0;
	if (!fail && coren_memo_plan_point_text(w->plan, vidx, &t))
		fail = "out of memory";
	if (!fail) {
		vars[(*nv)++] = env_var("SWARM_POINT", t.data, t.len);
		vars[(*nv)++] = env_var("SWARM_PARAMS", params, strlen(params));
	}
	for (size_t a = 0; !fail && a < na; a++) {
		const char *name = coren_memo_plan_axis_name(w->plan, a);
		char var[300];

		if (!is_ident(name) || strlen(name) > 256)
			continue;
		snprintf(var, sizeof var, "SWARM_V_%s", name);
		t.len = 0;
		placeholder(w->plan, vidx, name, strlen(name), &t);
		vars[(*nv)++] = env_var(var, t.data ? t.data : "", t.len);
	}
	if (!fail && !(*env = child_env(vars, *nv)))
		fail = "out of memory";
	coren_buf_release(&t);
	return fail;
}

/* Runs the point's process and takes its output as the value. */
static void cmd_exec(struct cmd_worker *w, struct exec_batch *b, size_t i,
		     char **argv, char **env)
{
	double deadline = w->timeout > 0 ? memo_now() + w->timeout : 0;
	int fds[2], status = 0, rc;
	const char *fail;
	char why[128];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		batch_fail(b, i, "%s", strerror(errno));
		return;
	}
	rc = spawn(w->x, argv, env, -1, fds[1], &pid);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		batch_fail(b, i, "cannot run '%s': %s", argv[0], strerror(rc));
		return;
	}
	fail = collect(w, fds[0], pid, b->stop, deadline);
	close(fds[0]);
	if (fail)
		status = kill_group(pid);
	else
		fail = reap(pid, &status, b->stop, deadline);
	if (!fail)
		fail = status_text(status, why, sizeof why);
	if (fail)
		batch_fail(b, i, "%s", fail);
	else
		batch_output(b, i, w->out.data ? w->out.data : "", w->out.len);
}

static void cmd_point(struct cmd_worker *w, struct exec_batch *b, size_t i)
{
	size_t na = coren_memo_plan_naxes(w->plan), argc = 0, nv = 0;
	char **argv, **vars, **env = NULL;
	const char *fail = NULL;

	while (w->x->argv[argc])
		argc++;
	argv = calloc(argc + 1, sizeof *argv);
	vars = calloc(na + 3, sizeof *vars);
	if (!argv || !vars)
		fail = "out of memory";
	else
		fail = cmd_setup(w, b->vidx + i * na, argv, vars, &nv, &env);
	if (fail)
		batch_fail(b, i, "%s", fail);
	else
		cmd_exec(w, b, i, argv, env);
	for (size_t a = 0; argv && a < argc; a++)
		free(argv[a]);
	for (size_t a = 0; a < nv; a++)
		free(vars[a]);
	free(argv);
	free(vars);
	free(env);
}

static void cmd_run(void *p, struct exec_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->stop && *b->stop)
			batch_fail(b, i, "interrupted");
		else
			cmd_point(p, b, i);
	}
}

static const struct exec_vt cmd_vt = {cmd_open, cmd_run, cmd_close};

enum coren_err coren_memo_exec_cmd(const char *const *argv, const char *prog,
				   struct coren_memo_exec **out,
				   struct coren_error *err)
{
	enum coren_err rc = argv_exec(argv, prog, &cmd_vt, out, err);

	if (!rc)
		(*out)->kind = "cmd";
	return rc;
}

/* ---- a co-process per worker ------------------------------------------ */

/* Protocol v2 (coren-records(5)): every point line carries a seq, unique
 * over the worker's life (a restarted co-process continues the count), and
 * every answer names its point by seq and/or point. Answers are matched,
 * never counted: a line that matches no outstanding point is a protocol
 * error that ends the co-process, so no value can land on another point. */

struct coproc_worker {
	struct coren_memo_exec *x;
	const struct coren_memo_plan *plan;
	double timeout;		   /* seconds an answer may take, 0: none */
	pid_t pid;		   /* 0: not running; else also its group */
	int to, from;		   /* its stdin, its stdout (non-blocking) */
	uint64_t seq;		   /* the last seq sent */
	bool batch;		   /* it wrote a "results" record: it reads
				      "points" lines (reset on a restart) */
	struct coren_buf in, line; /* what we send, what came back */
	char why[160];		   /* how the last one ended */
};

/* One batch's exchange with one co-process: the points of b not yet done,
 * sent with seqs base, base + 1, ... base + n - 1. */
struct round {
	struct exec_batch *b;
	bool *done;  /* b->n: answered (a value or an error) or failed */
	size_t left; /* points of b not done */
	size_t *idx; /* the batch index of the point sent with seq base + k */
	size_t n;    /* points sent in this round */
	uint64_t base;
	size_t next;  /* no point of idx[0..next) is outstanding */
	json_t **pts; /* b->n points as JSON, made for answers naming a point */
	size_t sent;  /* bytes of w->in written */
	double since; /* when the co-process could last start on a point */
	bool full;    /* the full path alone (memo_coproc_answers_check) */
	char why[240];
};

static const char timed_out[] = "timeout";

/* Ends the co-process at once (a timeout, a protocol error, a stop): its
 * group is killed, and what it had written is dropped. */
static void coproc_kill(struct coproc_worker *w)
{
	if (w->to >= 0)
		close(w->to);
	if (w->from >= 0)
		close(w->from);
	w->to = w->from = -1;
	if (w->pid && !status_text(kill_group(w->pid), w->why, sizeof w->why))
		snprintf(w->why, sizeof w->why, "exited");
	w->pid = 0;
	w->line.len = 0;
}

/* Ends the co-process gently: EOF on its stdin, 2 s to exit, then kill.
 * Asked every 1 ms at first (an interpreter exits in a few), then every
 * 10 ms. */
static void coproc_reap(struct coproc_worker *w)
{
	int status = 0;

	if (w->to >= 0)
		close(w->to);
	w->to = -1;
	for (int i = 0; w->pid && i < 250; i++) {
		if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
			if (!status_text(status, w->why, sizeof w->why))
				snprintf(w->why, sizeof w->why, "exited");
			w->pid = 0;
			break;
		}
		nanosleep(&(struct timespec){0, i < 50 ? 1000000 : 10000000},
			  NULL);
	}
	coproc_kill(w);
}

static enum coren_err coproc_start(struct coproc_worker *w,
				   struct coren_error *err)
{
	const char *params = coren_memo_plan_params_text(w->plan);
	char *var = env_var("SWARM_PARAMS", params, strlen(params));
	char **env = var ? child_env(&var, 1) : NULL;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, rc = ENOMEM;

	if (env && !pipe2(in, O_CLOEXEC) && !pipe2(out, O_CLOEXEC))
		rc = spawn(w->x, w->x->argv, env, in[0], out[1], &w->pid);
	else if (env)
		rc = errno;
	free(env);
	free(var);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	w->to = in[1];
	w->from = out[0];
	w->line.len = 0;
	w->batch = false; /* a new process says again what it reads */
	if (rc) {
		w->pid = 0;
		coproc_kill(w);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cannot start '%s': %s", w->x->argv[0],
				       strerror(rc));
	}
	fcntl(w->to, F_SETFL, fcntl(w->to, F_GETFL) | O_NONBLOCK);
	fcntl(w->from, F_SETFL, fcntl(w->from, F_GETFL) | O_NONBLOCK);
	return COREN_OK;
}

/* A worker; its co-process starts with its first batch, so a run with
 * nothing to compute starts none. */
static enum coren_err coproc_open(struct coren_memo_exec *x,
				  const struct coren_memo_plan *p, void **out,
				  struct coren_error *err)
{
	struct coproc_worker *w = calloc(1, sizeof *w);

	if (!w)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	w->x = x;
	w->plan = p;
	w->timeout = coren_memo_plan_exp(p)->timeout;
	w->to = w->from = -1;
	coren_buf_init(&w->in, 0);
	coren_buf_init(&w->line, OUTPUT_MAX);
	*out = w;
	return COREN_OK;
}

static void coproc_close(void *p)
{
	struct coproc_worker *w = p;

	coproc_reap(w);
	coren_buf_release(&w->in);
	coren_buf_release(&w->line);
	free(w);
}

/* Point i of the round's batch as JSON (NULL when out of memory). */
static const json_t *round_point(struct coproc_worker *w, struct round *rd,
				 size_t i)
{
	size_t na = coren_memo_plan_naxes(w->plan);

	if (!rd->pts && !(rd->pts = calloc(rd->b->n, sizeof *rd->pts)))
		return NULL;
	if (!rd->pts[i])
		rd->pts[i] =
		    coren_memo_plan_point_json(w->plan, rd->b->vidx + i * na);
	return rd->pts[i];
}

/* The outstanding point an answer names by its point alone; the send
 * order is tried first, so answers in order cost one comparison. */
static size_t by_point(struct coproc_worker *w, struct round *rd,
		       const json_t *pt, char *what, size_t n)
{
	for (size_t k = rd->next; k < rd->n; k++)
		if (!rd->done[rd->idx[k]] &&
		    json_equal(pt, round_point(w, rd, rd->idx[k])))
			return rd->idx[k];
	snprintf(what, n, "\"point\" is not an outstanding point");
	return SIZE_MAX;
}

/* The batch index of the point an answer names, or SIZE_MAX with what
 * set. */
static size_t answer_index(struct coproc_worker *w, struct round *rd,
			   const json_t *rec, char *what, size_t n)
{
	const json_t *sj = json_object_get(rec, "seq");
	const json_t *pt = json_object_get(rec, "point");
	uint64_t seq;
	size_t i;

	if (!sj && !pt) {
		snprintf(what, n,
			 "an answer without \"seq\" (protocol v2, "
			 "coren-records(5))");
		return SIZE_MAX;
	}
	if (!sj)
		return by_point(w, rd, pt, what, n);
	if (coren_json_get_u64(sj, &seq)) {
		snprintf(what, n, "\"seq\" is not an unsigned integer");
		return SIZE_MAX;
	}
	if (seq < rd->base || seq - rd->base >= rd->n) {
		snprintf(what, n, "seq %" PRIu64 " is not an outstanding point",
			 seq);
		return SIZE_MAX;
	}
	i = rd->idx[seq - rd->base];
	if (rd->done[i])
		snprintf(what, n, "a second answer for seq %" PRIu64, seq);
	else if (pt && !json_equal(pt, round_point(w, rd, i)))
		snprintf(what, n,
			 "seq %" PRIu64 " and \"point\" name "
			 "different points",
			 seq);
	else
		return i;
	return SIZE_MAX;
}

/* The reason of a protocol error: what, and the line quoted (80 bytes at
 * most, bytes other than printable ASCII as '?': a reason is text). */
static void protocol_error(struct round *rd, const char *what, const char *s,
			   size_t len)
{
	char q[84];
	size_t k = 0;

	for (; k < len && k < 80; k++)
		q[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	q[k] = '\0';
	snprintf(rd->why, sizeof rd->why, "protocol error: %s: '%s'%s", what, q,
		 len > 80 ? "..." : "");
}

/* Point i of the round has its outcome. */
static void answer_done(struct round *rd, size_t i)
{
	rd->done[i] = true;
	rd->left--;
	while (rd->next < rd->n && rd->done[rd->idx[rd->next]])
		rd->next++;
}

/* JSON's whitespace (RFC 8259: space, tab, line feed, carriage return). */
static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A number's text with a fraction or an exponent. */
static bool is_real_text(const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (s[k] == '.' || s[k] == 'e' || s[k] == 'E')
			return true;
	return false;
}

/* A plain value of a scanned answer stored for point i in the bytes the
 * full path (batch_json) would write: strings, true, false, null and
 * integers of at most 18 digits as they are, finite reals through the one
 * real writer. Anything else (-0, a long integer, a real that over- or
 * underflows) is -1, left to the full path. */
static int flat_value(struct exec_batch *b, size_t i,
		      const struct coren_field *v)
{
	size_t at = b->vals.len;
	char num[40];
	enum coren_err rc;
	double d;

	if (v->kind == 's')
		rc = coren_json_dump_string(v->val, v->vlen, &b->vals);
	else if (v->kind == 'b' || v->kind == 'z')
		rc = coren_buf_append(&b->vals, v->val, v->vlen);
	else if (v->kind != 'n' || v->vlen >= sizeof num)
		return -1;
	else if (!is_real_text(v->val, v->vlen)) {
		if (v->vlen > 18 + (v->val[0] == '-') ||
		    (v->vlen == 2 && !memcmp(v->val, "-0", 2)))
			return -1; /* -0 is 0, a long one may be a box */
		rc = coren_buf_append(&b->vals, v->val, v->vlen);
	} else {
		memcpy(num, v->val, v->vlen);
		num[v->vlen] = '\0';
		errno = 0;
		d = strtod(num, NULL);
		if (errno || !isfinite(d))
			return -1;
		rc = coren_json_dump_double(d, &b->vals);
	}
	if (rc) {
		b->vals.len = at;
		return -1;
	}
	b->voff[i] = at;
	b->vlen[i] = b->vals.len - at;
	return 0;
}

/* The fast path of an answer: a result or error record of plain values
 * (coren_record_scan_flat(), no json_t) naming an outstanding point by
 * "seq" alone, as coren.coproc writes them. True when taken; anything
 * else, valid or not, goes to the full parser, which words every protocol
 * error, so this path only has to be right about what it takes. */
static bool answer_flat(struct round *rd, const char *s, size_t len)
{
	struct coren_field f[8];
	int n = coren_record_scan_flat(s, len, f, 8);
	const struct coren_field *type, *sj, *v, *reason;
	uint64_t seq;
	size_t i;

	if (n < 0 || coren_field_find(f, n, "point"))
		return false;
	type = coren_field_find(f, n, "type");
	sj = coren_field_find(f, n, "seq");
	if (!type || !sj || coren_field_u64(sj, &seq) || seq < rd->base ||
	    seq - rd->base >= rd->n || rd->done[rd->idx[seq - rd->base]])
		return false;
	i = rd->idx[seq - rd->base];
	v = coren_field_find(f, n, "value");
	reason = coren_field_find(f, n, "reason");
	if (coren_field_is(type, "result")) {
		if (!v || flat_value(rd->b, i, v))
			return false;
	} else if (coren_field_is(type, "error") &&
		   (!reason || reason->kind == 's')) {
		if (reason)
			batch_fail(rd->b, i, "%.*s", (int)reason->vlen,
				   reason->val);
		else
			batch_fail(rd->b, i,
				   "the co-process reported an error");
	} else {
		return false;
	}
	answer_done(rd, i);
	return true;
}

/* A "fatal" record: the co-process cannot serve at all (its function does
 * not load). The first reason is kept for the whole run (every worker
 * fails at once from then on, none is started again) and is rd->why. */
static void coproc_fatal(struct coproc_worker *w, struct round *rd,
			 const json_t *rec)
{
	const char *reason = json_string_value(json_object_get(rec, "reason"));
	struct coren_memo_exec *x = w->x;

	/* never an empty reason: it is every point's, and the run's error */
	snprintf(rd->why, sizeof rd->why, "%s",
		 reason && *reason ? reason : "the co-process cannot serve");
	if (!__atomic_exchange_n(&x->fatal_claimed, 1, __ATOMIC_ACQ_REL)) {
		snprintf(x->fatal, sizeof x->fatal, "%s", rd->why);
		__atomic_store_n(&x->fatal_ready, 1, __ATOMIC_RELEASE);
	}
}

const char *coren_memo_exec_fatal(const struct coren_memo_exec *x)
{
	return x && __atomic_load_n(&x->fatal_ready, __ATOMIC_ACQUIRE)
		   ? x->fatal
		   : NULL;
}

/* A "results" record: values for seq, seq + 1, ... (coren-records(5)),
 * each naming an outstanding point not yet answered; false with what set
 * on the first that does not (the values before it are taken). The
 * co-process reads "points" lines from now on. */
static bool answer_results(struct coproc_worker *w, struct round *rd,
			   const json_t *rec, char *what, size_t n)
{
	const json_t *vals = json_object_get(rec, "values");
	struct coren_error perr = {0};
	uint64_t seq;

	if (coren_json_get_u64(json_object_get(rec, "seq"), &seq) ||
	    !json_is_array(vals)) {
		snprintf(what, n,
			 "a results record without \"seq\" or "
			 "\"values\"");
		return false;
	}
	for (size_t k = 0; k < json_array_size(vals); k++, seq++) {
		const json_t *v = json_array_get(vals, k);
		size_t i;

		if (seq < rd->base || seq - rd->base >= rd->n) {
			snprintf(what, n,
				 "seq %" PRIu64 " is not an outstanding point",
				 seq);
			return false;
		}
		i = rd->idx[seq - rd->base];
		if (rd->done[i]) {
			snprintf(what, n, "a second answer for seq %" PRIu64,
				 seq);
			return false;
		}
		if (coren_json_check_boxes(v, &perr))
			batch_fail(rd->b, i, "%s", perr.msg);
		else
			batch_json(rd->b, i, v);
		answer_done(rd, i);
	}
	w->batch = true;
	return true;
}

/* The fast path of a "results" record whose values are all numbers
 * (coren_record_scan_vectors(), no json_t per value), as coren.coproc
 * writes a numeric function's: true when taken. Every seq is checked
 * before any value is taken, so a record this path refuses goes whole to
 * the full path (answer_results), which words the error. A number the
 * flat writer leaves to the full path (-0, a long integer) is parsed
 * alone by the same parser the full path uses. */
static bool answer_results_flat(struct coproc_worker *w, struct round *rd,
				const char *s, size_t len)
{
	struct coren_field f[8];
	int n = coren_record_scan_vectors(s, len, f, 8);
	const struct coren_field *vals;
	const char *p, *end, *q;
	uint64_t seq, k = 0;

	if (n < 0 || !coren_field_is(coren_field_find(f, n, "type"), "results") ||
	    coren_field_u64(coren_field_find(f, n, "seq"), &seq) ||
	    !(vals = coren_field_find(f, n, "values")) || vals->kind != 'a')
		return false;
	/* vals is an array of numbers the scanner has checked: no NUL, no
	 * comma but between values, so the commas count them */
	end = vals->val + vals->vlen - 1; /* at the ']' */
	for (p = vals->val + 1; p < end && json_ws(*p); p++)
		;
	for (k = p < end; p < end; p++) /* the values: commas + 1 */
		k += *p == ',';
	if (seq < rd->base || k > rd->n || seq - rd->base > rd->n - k)
		return false;
	for (uint64_t j = 0; j < k; j++)
		if (rd->done[rd->idx[seq - rd->base + j]])
			return false;
	for (p = vals->val + 1; k--; p = q + 1, seq++) {
		size_t i = rd->idx[seq - rd->base];
		struct coren_field v = {NULL, 0, NULL, 0, 'n'};

		while (json_ws(*p))
			p++;
		for (q = p; q < end && *q != ','; q++)
			;
		v.val = p;
		v.vlen = (size_t)(q - p);
		while (v.vlen && json_ws(v.val[v.vlen - 1]))
			v.vlen--;
		if (flat_value(rd->b, i, &v)) {
			struct coren_error perr = {0};
			json_t *jv = coren_json_parse_flags(v.val, v.vlen,
							    COREN_JSON_NONFINITE, &perr);

			if (jv)
				batch_json(rd->b, i, jv);
			else
				batch_fail(rd->b, i, "%s", perr.msg);
			json_decref(jv);
		}
		answer_done(rd, i);
	}
	w->batch = true;
	return true;
}

/* Takes one answer line; false on a protocol error (rd->why). */
static bool coproc_answer(struct coproc_worker *w, struct round *rd,
			  const char *s, size_t len)
{
	json_t *rec = NULL, *v = NULL;
	struct coren_error perr = {0};
	const char *type, *reason;
	char what[160] = "";
	size_t i = SIZE_MAX;

	if (len && s[len - 1] == '\r')
		len--;
	/* JSON whitespace before the object: the fast paths' scanners skip
	 * it, so the full path must too (else a line is a value or a
	 * protocol error depending on which path reads it) */
	while (len && json_ws(*s))
		s++, len--;
	if (!rd->full &&
	    (answer_flat(rd, s, len) || answer_results_flat(w, rd, s, len)))
		return true;
	if (len && s[0] == '{') /* NaN, Infinity: their lossless boxes */
		rec = coren_json_parse_flags(s, len, COREN_JSON_NONFINITE,
					     &perr);
	type = json_string_value(json_object_get(rec, "type"));
	if (type && !strcmp(type, "fatal")) {
		coproc_fatal(w, rd, rec);
		json_decref(rec);
		return false;
	}
	if (type && !strcmp(type, "results")) {
		bool ok = answer_results(w, rd, rec, what, sizeof what);

		if (!ok)
			protocol_error(rd, what, s, len);
		json_decref(rec);
		return ok;
	}
	if (len && s[0] == '{' && !rec)
		snprintf(what, sizeof what, "not JSON (%.100s)", perr.msg);
	else if (!json_is_object(rec))
		snprintf(what, sizeof what,
			 "not a JSON object (an answer is {\"type\":\"result\","
			 "\"seq\":S,\"value\":V}, coren-records(5))");
	else if (!type || (strcmp(type, "result") && strcmp(type, "error")))
		snprintf(what, sizeof what, "not a result or error record");
	else if ((i = answer_index(w, rd, rec, what, sizeof what)) == SIZE_MAX)
		;
	else if (!strcmp(type, "result") &&
		 !(v = json_object_get(rec, "value")))
		snprintf(what, sizeof what, "a result without \"value\"");
	if (what[0]) {
		protocol_error(rd, what, s, len);
		json_decref(rec);
		return false;
	}
	reason = json_string_value(json_object_get(rec, "reason"));
	if (v && coren_json_check_boxes(v, &perr))
		batch_fail(rd->b, i, "%s", perr.msg);
	else if (v)
		batch_json(rd->b, i, v);
	else
		batch_fail(rd->b, i, "%s",
			   reason ? reason
				  : "the co-process reported an error");
	json_decref(rec);
	answer_done(rd, i);
	return true;
}

/* Takes the complete lines that arrived, up to the batch's last answer
 * (what follows is the next batch's to judge); false on a protocol
 * error. */
static bool coproc_lines(struct coproc_worker *w, struct round *rd)
{
	char *s = w->line.data, *end = s + w->line.len, *nl;
	bool ok = true;

	while (ok && rd->left && s < end &&
	       (nl = memchr(s, '\n', (size_t)(end - s)))) {
		ok = coproc_answer(w, rd, s, (size_t)(nl - s));
		s = nl + 1;
	}
	if (s != w->line.data) /* answers taken: it may start on the next */
		rd->since = memo_now(); /* point now (once per read) */
	memmove(w->line.data, s, (size_t)(end - s));
	w->line.len = (size_t)(end - s);
	return ok;
}

/* The batch form, for a co-process that has written a "results" record:
 * one line {"type":"points","seq":S,"points":[{...},...]} for the points
 * of the batch not done, with seqs S, S + 1, ... */
static const char *round_points(struct coproc_worker *w, struct round *rd)
{
	size_t na = coren_memo_plan_naxes(w->plan);
	char head[64];

	snprintf(head, sizeof head,
		 "{\"type\":\"points\",\"seq\":%" PRIu64 ",\"points\":[",
		 rd->base);
	if (coren_buf_append(&w->in, head, strlen(head)))
		return "out of memory";
	for (size_t i = 0; i < rd->b->n; i++) {
		if (rd->done[i])
			continue;
		if ((rd->n && coren_buf_append(&w->in, ",", 1)) ||
		    coren_memo_plan_point_text(w->plan, rd->b->vidx + i * na,
					       &w->in))
			return "out of memory";
		rd->idx[rd->n++] = i;
		w->seq++;
	}
	if (coren_buf_append(&w->in, "]}\n", 3))
		return "out of memory";
	rd->since = memo_now();
	return NULL;
}

/* Starts the co-process if it is not running and fills w->in with the
 * point lines of every point of the batch not done, each a new seq. */
static const char *round_start(struct coproc_worker *w, struct round *rd,
			       struct coren_error *err)
{
	size_t na = coren_memo_plan_naxes(w->plan);
	char head[64];

	if (!w->pid && coproc_start(w, err))
		return err->msg;
	w->in.len = 0;
	rd->n = rd->next = rd->sent = 0;
	rd->base = w->seq + 1;
	if (w->batch)
		return round_points(w, rd);
	for (size_t i = 0; i < rd->b->n; i++) {
		if (rd->done[i])
			continue;
		snprintf(head, sizeof head,
			 "{\"type\":\"point\",\"seq\":%" PRIu64 ",\"point\":",
			 ++w->seq);
		if (coren_buf_append(&w->in, head, strlen(head)) ||
		    coren_memo_plan_point_text(w->plan, rd->b->vidx + i * na,
					       &w->in) ||
		    coren_buf_append(&w->in, "}\n", 2))
			return "out of memory";
		rd->idx[rd->n++] = i;
	}
	rd->since = memo_now();
	return NULL;
}

static void round_write(struct coproc_worker *w, struct round *rd)
{
	ssize_t n = write(w->to, w->in.data + rd->sent, w->in.len - rd->sent);

	if (n > 0) {
		rd->sent += (size_t)n;
		if (rd->sent ==
		    w->in.len) /* the whole batch is its to work on */
			rd->since = memo_now();
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		rd->sent = w->in.len; /* it closed stdin: read what it says */
	}
}

/* Reads what the co-process wrote; NULL, or why the round's outstanding
 * points fail. */
static const char *round_read(struct coproc_worker *w, struct round *rd)
{
	char buf[65536];
	ssize_t n = read(w->from, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return NULL;
	if (n <= 0) {
		coproc_reap(w);
		snprintf(rd->why, sizeof rd->why, "the co-process ended: %s",
			 w->why);
		return rd->why;
	}
	if (coren_buf_append(&w->line, buf, (size_t)n)) {
		coproc_kill(w);
		return "co-process answer longer than 16 MiB";
	}
	if (!coproc_lines(w, rd)) {
		coproc_kill(w);
		return rd->why;
	}
	return NULL;
}

/* After a quiet while: whether the co-process has exited although its
 * stdout is still open (something it started holds it, so no EOF comes).
 * It is then reaped and what it left in its group killed; rd->why says
 * so. Only asked when nothing is left to read: answers written before it
 * exited are taken first. */
static const char *round_dead(struct coproc_worker *w, struct round *rd)
{
	int status = 0;

	if (!w->pid || waitpid(w->pid, &status, WNOHANG) != w->pid)
		return NULL;
	if (!status_text(status, w->why, sizeof w->why))
		snprintf(w->why, sizeof w->why, "exited");
	kill(-w->pid, SIGKILL);
	w->pid = 0;
	coproc_kill(w);
	snprintf(rd->why, sizeof rd->why, "the co-process ended: %s", w->why);
	return rd->why;
}

/* Exchanges lines until every point of the round is answered (NULL),
 * an answer is late (timed_out), or a failure of every outstanding
 * point. */
static const char *round_io(struct coproc_worker *w, struct round *rd)
{
	volatile sig_atomic_t *stop = rd->b->stop;

	if (w->line.len && !coproc_lines(w, rd)) { /* left from last batch */
		coproc_kill(w);
		return rd->why;
	}
	while (rd->left) {
		struct pollfd pf[2] = {
		    {w->from, POLLIN, 0},
		    {rd->sent < w->in.len ? w->to : -1, POLLOUT, 0}};
		double deadline = w->timeout > 0 ? rd->since + w->timeout : 0;
		const char *fail;

		if (stop && *stop) {
			coproc_kill(w);
			return "interrupted";
		}
		if (deadline && memo_now() >= deadline)
			return timed_out;
		if (poll(pf, 2, poll_ms(deadline)) <= 0) {
			if ((fail = round_dead(w, rd)))
				return fail;
			continue;
		}
		if (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))
			round_write(w, rd);
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (fail = round_read(w, rd)))
			return fail;
	}
	return NULL;
}

/* A late answer: the first outstanding point (the one the co-process was
 * on, if it works in order) fails, the co-process is killed, and the next
 * round sends the others to a new one. */
static void round_timeout(struct coproc_worker *w, struct round *rd)
{
	size_t i = rd->idx[rd->next];

	coproc_kill(w);
	batch_fail(rd->b, i, "%s", timed_out);
	rd->done[i] = true;
	rd->left--;
}

static void coproc_run(void *p, struct exec_batch *b)
{
	struct coproc_worker *w = p;
	struct round rd = {.b = b, .left = b->n};
	struct coren_error err = {0};
	const char *fail = NULL;

	rd.done = calloc(b->n ? b->n : 1, sizeof *rd.done);
	rd.idx = calloc(b->n ? b->n : 1, sizeof *rd.idx);
	if (!rd.done || !rd.idx)
		fail = "out of memory";
	while (!fail && rd.left) {
		if (b->stop && *b->stop) {
			coproc_kill(w);
			fail = "interrupted";
		} else if ((fail = coren_memo_exec_fatal(w->x))) {
			coproc_kill(w); /* no co-process starts again */
		} else {
			fail = round_start(w, &rd, &err);
		}
		if (!fail && (fail = round_io(w, &rd)) == timed_out) {
			round_timeout(w, &rd);
			fail = NULL;
		}
	}
	for (size_t i = 0; fail && i < b->n; i++)
		if (!rd.done || !rd.done[i])
			batch_fail(b, i, "%s", fail);
	for (size_t i = 0; rd.pts && i < b->n; i++)
		json_decref(rd.pts[i]);
	free(rd.pts);
	free(rd.done);
	free(rd.idx);
}

static const struct exec_vt coproc_vt = {coproc_open, coproc_run, coproc_close};

/* A round without a co-process: out arrives as round_read() would take
 * it, piece bytes per read. */
bool memo_coproc_answers_check(struct exec_batch *b, bool *done, uint64_t base,
			       bool full, const char *out, size_t len,
			       size_t piece, memo_answers_fn *check, void *arg)
{
	struct coren_memo_exec x = {0}; /* a "fatal" record's reason */
	struct coproc_worker w = {
	    .x = &x, .plan = b->plan, .to = -1, .from = -1};
	struct round rd = {.b = b, .done = done, .base = base, .full = full};
	bool ok = true;

	rd.idx = calloc(b->n ? b->n : 1, sizeof *rd.idx);
	if (!rd.idx)
		return false;
	for (size_t i = 0; i < b->n; i++) /* as round_start() sends them */
		if (!done[i])
			rd.idx[rd.n++] = i;
	rd.left = rd.n;
	coren_buf_init(&w.line, OUTPUT_MAX);
	for (size_t at = 0, k; ok && rd.left && at < len; at += k) {
		k = piece && piece < len - at ? piece : len - at;
		if (coren_buf_append(&w.line, out + at, k))
			break;
		ok = coproc_lines(&w, &rd);
		check(arg, rd.left, ok ? NULL : rd.why);
	}
	for (size_t i = 0; rd.pts && i < b->n; i++)
		json_decref(rd.pts[i]);
	free(rd.pts);
	free(rd.idx);
	coren_buf_release(&w.line);
	return ok;
}

enum coren_err coren_memo_exec_coproc(const char *const *argv, const char *prog,
				      struct coren_memo_exec **out,
				      struct coren_error *err)
{
	enum coren_err rc = argv_exec(argv, prog, &coproc_vt, out, err);

	if (!rc) {
		(*out)->kind = "coproc";
		signal(SIGPIPE, SIG_IGN); /* a co-process may die mid-write */
	}
	return rc;
}

/* ---- the worker side of --isolate ------------------------------------- */

/* The head of an answer: its type and the point's "seq" echoed (else its
 * "point", for a sender that names points only). */
static enum coren_err serve_head(struct coren_buf *out, const char *type,
				 const json_t *rec)
{
	const json_t *seq = json_object_get(rec, "seq");
	const json_t *pt = json_object_get(rec, "point");
	enum coren_err rc = coren_buf_append(out, "{\"type\":\"", 9);

	if (!rc)
		rc = coren_buf_append(out, type, strlen(type));
	if (!rc && seq)
		rc = coren_buf_append(out, "\",\"seq\":", 8);
	else if (!rc && json_is_object(pt))
		rc = coren_buf_append(out, "\",\"point\":", 10);
	else if (!rc)
		return coren_buf_append(out, "\"", 1);
	return rc ? rc
		  : coren_json_dumpb(seq ? seq : pt, COREN_JSON_SORT_KEYS, out);
}

static void serve_line(const struct coren_exec_ops *ops, void *state,
		       const char *s, size_t len, struct coren_buf *out)
{
	struct coren_error err = {0};
	json_t *rec = coren_json_parse(s, len, &err), *v = NULL;
	const json_t *pt = json_object_get(rec, "point");
	const char *why;
	size_t at = out->len;

	if (json_is_object(pt) && !ops->exec(state, pt, &v, &err) && v &&
	    !serve_head(out, "result", rec) &&
	    !coren_buf_append(out, ",\"value\":", 9) &&
	    !coren_json_dumpb(v, 0, out) && !coren_buf_append(out, "}\n", 2)) {
		json_decref(v);
		json_decref(rec);
		return;
	}
	json_decref(v);
	out->len = at;
	why = err.msg[0] ? err.msg : "not a point record";
	if (serve_head(out, "error", rec) ||
	    coren_buf_append(out, ",\"reason\":", 10) ||
	    coren_json_dump_string(why, strlen(why), out) ||
	    coren_buf_append(out, "}\n", 2))
		out->len = at; /* swarm-run sees a missing answer: a failure */
	json_decref(rec);
}

enum coren_err coren_memo_exec_serve(struct coren_memo_exec *x,
				     const json_t *params, FILE *in, FILE *out,
				     struct coren_error *err)
{
	struct coren_buf pending, answers;
	void *state = NULL;
	char buf[65536];
	int fd = fileno(in);
	enum coren_err rc = COREN_OK;

	if (!x->ops)
		return coren_error_set(err, COREN_ERR_USAGE, "not a plugin");
	if (x->ops->init && x->ops->init(&state, params, err))
		return err->code ? err->code : COREN_ERR_USAGE;
	coren_buf_init(&pending, OUTPUT_MAX);
	coren_buf_init(&answers, 0);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		char *s, *nl, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (coren_buf_append(&pending, buf, (size_t)n)) {
			rc = coren_error_set(err, COREN_ERR_TOOLONG,
					     "point line too long");
			break;
		}
		s = pending.data;
		end = s + pending.len;
		while ((nl = memchr(s, '\n', (size_t)(end - s)))) {
			serve_line(x->ops, state, s, (size_t)(nl - s), &answers);
			s = nl + 1;
		}
		memmove(pending.data, s, (size_t)(end - s));
		pending.len = (size_t)(end - s);
		/* the flush rule: every point read is answered before we
		 * read (and maybe block) again */
		if (answers.len &&
		    (fwrite(answers.data, 1, answers.len, out) != answers.len ||
		     fflush(out))) {
			rc = coren_error_set(err, COREN_ERR_IO, "write: %s",
					     strerror(errno));
			break;
		}
		answers.len = 0;
	}
	if (x->ops->fini)
		x->ops->fini(state);
	coren_buf_release(&pending);
	coren_buf_release(&answers);
	return rc;
}
