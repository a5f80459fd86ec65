/* exec.c - the three kinds of exec function: an in-process plugin, a
 * command per point, a co-process per worker. */
#include "config.h"

#include "memo_int.h"

#include <coren/json.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

enum coren_err coren_memo_exec_chunk_cost(const struct coren_memo_exec *x,
					  const struct coren_memo_plan *p,
					  const size_t *bins,
					  struct coren_cost *out)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	size_t *vidx = malloc((coren_memo_plan_naxes(p) + 1) * sizeof *vidx);
	uint64_t n = coren_memo_plan_chunk_points(p, bins);
	enum coren_err rc = vidx ? COREN_OK : COREN_ERR_NOMEM;
	struct coren_cost sum = {0, 0, 0, 0}, one;

	if (!coren_memo_exec_has_cost(x))
		rc = COREN_ERR_USAGE;
	for (uint64_t i = 0; !rc && i < n; i++) {
		json_t *pt;

		coren_memo_plan_point(p, bins, i, vidx);
		pt = coren_memo_plan_point_json(p, vidx);
		rc = pt ? x->ops->cost(e->params, pt, &one, NULL) : COREN_ERR_NOMEM;
		json_decref(pt);
		if (!rc) { /* one point after another, every result kept */
			struct coren_cost t = coren_cost_then(sum, one);

			t.result_bytes = coren_cost_add(sum.result_bytes,
							one.result_bytes);
			sum = t;
		}
	}
	free(vidx);
	*out = sum;
	return rc;
}

/* ---- in-process plugin ---------------------------------------------------- */

struct plugin_worker {
	const struct coren_exec_ops *ops;
	const struct coren_memo_plan *plan;
	void *state;
	json_t *point; /* reused for every point */
	bool batch;
};

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
	*out = w;
	return COREN_OK;
}

static void plugin_close(void *p)
{
	struct plugin_worker *w = p;

	if (w->ops->fini)
		w->ops->fini(w->state);
	json_decref(w->point);
	free(w);
}

static void plugin_run_batch(struct plugin_worker *w, struct exec_batch *b)
{
	size_t na = coren_memo_plan_naxes(w->plan);
	json_t **pts = calloc(b->n, sizeof *pts), **vals = calloc(b->n, sizeof *vals);
	struct coren_error *errs = calloc(b->n, sizeof *errs);
	enum coren_err rc = COREN_ERR_NOMEM;

	for (size_t i = 0; pts && i < b->n; i++)
		pts[i] = coren_memo_plan_point_json(w->plan, b->vidx + i * na);
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
	const struct coren_memo_exp *e = coren_memo_plan_exp(w->plan);
	size_t na = coren_memo_plan_naxes(w->plan);

	if (w->batch) {
		plugin_run_batch(w, b);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const size_t *vidx = b->vidx + i * na;
		struct coren_error err = {0};
		json_t *v = NULL;
		enum coren_err rc = COREN_OK;

		for (size_t a = 0; a < na && !rc; a++)
			if (json_object_set(w->point,
					    coren_memo_plan_axis_name(w->plan, a),
					    json_array_get(e->axes[a].values,
							   vidx[a])))
				rc = COREN_ERR_NOMEM;
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

/* Spawns argv with stdin from in_fd (-1: /dev/null... inherited) and
 * stdout to out_fd; the child's other ends are closed by O_CLOEXEC. */
static int spawn(char *const *argv, char **env, int in_fd, int out_fd,
		 pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	rc = posix_spawnp(pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
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

/* ---- a command per point ---------------------------------------------- */

struct cmd_worker {
	struct coren_memo_exec *x;
	const struct coren_memo_plan *plan;
	struct coren_buf out;
};

/* The text a placeholder stands for: a string's content, else JSON. */
static enum coren_err placeholder(const struct coren_memo_plan *p,
				  const size_t *vidx, const char *name,
				  size_t n, struct coren_buf *b)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(p);
	const json_t *v = NULL;
	char key[256];

	if (n >= sizeof key)
		return COREN_ERR_NOTFOUND;
	memcpy(key, name, n);
	key[n] = '\0';
	for (size_t a = 0; a < e->naxes && !v; a++)
		if (!strcmp(e->axes[a].name, key))
			v = vidx ? json_array_get(e->axes[a].values, vidx[a])
				 : json_array_get(e->axes[a].values, 0);
	if (!v && !(v = json_object_get(e->params, key)))
		return COREN_ERR_NOTFOUND;
	if (json_is_string(v))
		return coren_buf_append(b, json_string_value(v),
					json_string_length(v));
	return coren_json_dumpb(v, COREN_JSON_SORT_KEYS, b);
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

static enum coren_err cmd_open(struct coren_memo_exec *x,
			       const struct coren_memo_plan *p, void **out,
			       struct coren_error *err)
{
	struct cmd_worker *w = calloc(1, sizeof *w);
	struct coren_buf b;

	if (!w)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	coren_buf_init(&b, 0);
	for (char **a = x->argv; *a; a++) {
		const char *bad = NULL;

		if (expand(p, NULL, *a, &b, &bad) == COREN_ERR_NOTFOUND) {
			coren_buf_release(&b);
			free(w);
			return coren_error_set(err, COREN_ERR_USAGE,
					       "--cmd argument '%s': '%s' is not "
					       "an axis or param (write {{ and "
					       "}} for braces)",
					       *a, bad);
		}
	}
	coren_buf_release(&b);
	w->x = x;
	w->plan = p;
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

/* Reads the child's stdout to EOF into w->out, killing it on stop. */
static const char *collect(struct cmd_worker *w, int fd, pid_t pid,
			   volatile sig_atomic_t *stop)
{
	char buf[65536];

	w->out.len = 0;
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n;

		if (stop && *stop) {
			kill(pid, SIGTERM);
			return "interrupted";
		}
		if (poll(&pf, 1, 100) == 0)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? strerror(errno) : NULL;
		if (coren_buf_append(&w->out, buf, (size_t)n)) {
			kill(pid, SIGKILL);
			return "output longer than 16 MiB";
		}
	}
}

static void cmd_point(struct cmd_worker *w, struct exec_batch *b, size_t i)
{
	size_t na = coren_memo_plan_naxes(w->plan), argc = 0;
	const size_t *vidx = b->vidx + i * na;
	struct coren_buf t, pt;
	char **argv, **vars, **env = NULL, why[128];
	size_t nv = 0;
	const char *bad, *fail = NULL;
	int fds[2] = {-1, -1}, status = 0, rc;
	pid_t pid;

	while (w->x->argv[argc])
		argc++;
	argv = calloc(argc + 1, sizeof *argv);
	vars = calloc(na + 3, sizeof *vars);
	coren_buf_init(&t, 0);
	coren_buf_init(&pt, 0);
	if (!argv || !vars)
		fail = "out of memory";
	for (size_t a = 0; !fail && a < argc; a++) {
		if (expand(w->plan, vidx, w->x->argv[a], &t, &bad))
			fail = "out of memory";
		else if (!(argv[a] = strdup(t.data)))
			fail = "out of memory";
	}
	if (!fail && !coren_memo_plan_point_text(w->plan, vidx, &pt)) {
		const char *params = coren_memo_plan_params_text(w->plan);

		vars[nv++] = env_var("SWARM_POINT", pt.data, pt.len);
		vars[nv++] = env_var("SWARM_PARAMS", params, strlen(params));
		for (size_t a = 0; a < na; a++) {
			const char *name = coren_memo_plan_axis_name(w->plan, a);
			char var[300];

			if (!is_ident(name) || strlen(name) > 256)
				continue;
			snprintf(var, sizeof var, "SWARM_V_%s", name);
			t.len = 0;
			placeholder(w->plan, vidx, name, strlen(name), &t);
			vars[nv++] = env_var(var, t.data ? t.data : "", t.len);
		}
		env = child_env(vars, nv);
	}
	if (!fail && (!env || pipe2(fds, O_CLOEXEC)))
		fail = env ? strerror(errno) : "out of memory";
	if (!fail && (rc = spawn(argv, env, -1, fds[1], &pid))) {
		snprintf(why, sizeof why, "cannot run '%s': %s", argv[0],
			 strerror(rc));
		fail = why;
	} else if (!fail) {
		close(fds[1]);
		fds[1] = -1;
		fail = collect(w, fds[0], pid, b->stop);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!fail && (fail = status_text(status, why, sizeof why)))
			;
		else if (!fail)
			batch_output(b, i, w->out.data ? w->out.data : "",
				     w->out.len);
	}
	if (fail)
		batch_fail(b, i, "%s", fail);
	for (int k = 0; k < 2; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	for (size_t a = 0; argv && a < argc; a++)
		free(argv[a]);
	for (size_t a = 0; a < nv; a++)
		free(vars[a]);
	free(argv);
	free(vars);
	free(env);
	coren_buf_release(&t);
	coren_buf_release(&pt);
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

static enum coren_err argv_exec(const char *const *argv, const struct exec_vt *vt,
				struct coren_memo_exec **out,
				struct coren_error *err)
{
	struct coren_memo_exec *x;

	*out = NULL;
	if (!argv || !argv[0] || !argv[0][0])
		return coren_error_set(err, COREN_ERR_USAGE, "empty command");
	x = calloc(1, sizeof *x);
	if (!x || !(x->argv = memo_argv_copy(argv))) {
		free(x);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	x->vt = vt;
	*out = x;
	return COREN_OK;
}

enum coren_err coren_memo_exec_cmd(const char *const *argv,
				   struct coren_memo_exec **out,
				   struct coren_error *err)
{
	enum coren_err rc = argv_exec(argv, &cmd_vt, out, err);

	if (!rc)
		(*out)->kind = "cmd";
	return rc;
}

/* ---- a co-process per worker ------------------------------------------ */

struct coproc_worker {
	struct coren_memo_exec *x;
	const struct coren_memo_plan *plan;
	pid_t pid; /* 0: not running */
	int to, from;
	struct coren_buf in, line; /* what we send, what came back */
	char why[160];		   /* how the last one ended */
};

static void coproc_reap(struct coproc_worker *w, bool kill_it)
{
	int status = 0;

	if (w->to >= 0)
		close(w->to);
	if (w->from >= 0)
		close(w->from);
	w->to = w->from = -1;
	if (!w->pid)
		return;
	if (kill_it)
		kill(w->pid, SIGKILL);
	for (int i = 0; !kill_it && i < 200; i++) {
		if (waitpid(w->pid, &status, WNOHANG) == w->pid)
			goto reaped;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
reaped:
	if (!status_text(status, w->why, sizeof w->why))
		snprintf(w->why, sizeof w->why, "exited");
	w->pid = 0;
}

static enum coren_err coproc_start(struct coproc_worker *w,
				   struct coren_error *err)
{
	const char *params = coren_memo_plan_params_text(w->plan);
	char *var = env_var("SWARM_PARAMS", params, strlen(params));
	char **env = var ? child_env(&var, 1) : NULL;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, rc = ENOMEM;

	if (env && !pipe2(in, O_CLOEXEC) && !pipe2(out, O_CLOEXEC))
		rc = spawn(w->x->argv, env, in[0], out[1], &w->pid);
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
	if (rc) {
		w->pid = 0;
		coproc_reap(w, false);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "cannot start '%s': %s", w->x->argv[0],
				       strerror(rc));
	}
	fcntl(w->to, F_SETFL, fcntl(w->to, F_GETFL) | O_NONBLOCK);
	fcntl(w->from, F_SETFL, fcntl(w->from, F_GETFL) | O_NONBLOCK);
	return COREN_OK;
}

static enum coren_err coproc_open(struct coren_memo_exec *x,
				  const struct coren_memo_plan *p, void **out,
				  struct coren_error *err)
{
	struct coproc_worker *w = calloc(1, sizeof *w);
	enum coren_err rc;

	if (!w)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	w->x = x;
	w->plan = p;
	w->to = w->from = -1;
	coren_buf_init(&w->in, 0);
	coren_buf_init(&w->line, OUTPUT_MAX);
	rc = coproc_start(w, err);
	if (rc) {
		coren_buf_release(&w->in);
		coren_buf_release(&w->line);
		free(w);
		return rc;
	}
	*out = w;
	return COREN_OK;
}

static void coproc_close(void *p)
{
	struct coproc_worker *w = p;

	coproc_reap(w, false);
	coren_buf_release(&w->in);
	coren_buf_release(&w->line);
	free(w);
}

/* One answer line for point i. */
static void coproc_answer(struct exec_batch *b, size_t i, const char *s,
			  size_t len)
{
	json_t *rec = NULL, *v;
	const char *type;

	if (len && s[0] == '{')
		rec = coren_json_parse(s, len, NULL);
	type = json_string_value(json_object_get(rec, "type"));
	if (type && !strcmp(type, "result") &&
	    (v = json_object_get(rec, "value")))
		batch_json(b, i, v);
	else if (type && !strcmp(type, "error"))
		batch_fail(b, i, "%s",
			   json_string_value(json_object_get(rec, "reason"))
				   ? json_string_value(
					     json_object_get(rec, "reason"))
				   : "the co-process reported an error");
	else
		batch_output(b, i, s, len);
	json_decref(rec);
}

/* Splits what arrived into answer lines; returns points answered. */
static size_t coproc_lines(struct coproc_worker *w, struct exec_batch *b,
			   size_t done)
{
	char *s = w->line.data, *end = s + w->line.len, *nl;

	while (done < b->n && s < end && (nl = memchr(s, '\n', (size_t)(end - s)))) {
		coproc_answer(b, done++, s, (size_t)(nl - s));
		s = nl + 1;
	}
	memmove(w->line.data, s, (size_t)(end - s));
	w->line.len = (size_t)(end - s);
	return done;
}

static void coproc_run(void *p, struct exec_batch *b)
{
	struct coproc_worker *w = p;
	size_t na = coren_memo_plan_naxes(w->plan), sent = 0, done = 0;
	struct coren_error err = {0};
	const char *fail = NULL;

	if (!w->pid && coproc_start(w, &err))
		fail = err.msg;
	w->in.len = 0;
	w->line.len = 0;
	for (size_t i = 0; !fail && i < b->n; i++)
		if (coren_buf_append(&w->in, "{\"type\":\"point\",\"point\":", 24) ||
		    coren_memo_plan_point_text(w->plan, b->vidx + i * na, &w->in) ||
		    coren_buf_append(&w->in, "}\n", 2))
			fail = "out of memory";
	while (!fail && done < b->n) {
		struct pollfd pf[2] = {{w->from, POLLIN, 0},
				       {sent < w->in.len ? w->to : -1, POLLOUT, 0}};
		char buf[65536];
		ssize_t n;

		if (b->stop && *b->stop) {
			coproc_reap(w, true);
			fail = "interrupted";
			break;
		}
		if (poll(pf, 2, 100) <= 0)
			continue;
		if (pf[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
			n = write(w->to, w->in.data + sent, w->in.len - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = w->in.len; /* it closed stdin: read on */
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(w->from, buf, sizeof buf);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				coproc_reap(w, false);
				snprintf(buf, sizeof buf, "the co-process ended: %s",
					 w->why);
				for (; done < b->n; done++)
					batch_fail(b, done, "%s", buf);
				return;
			}
			if (n > 0 && coren_buf_append(&w->line, buf, (size_t)n)) {
				coproc_reap(w, true);
				fail = "co-process answer longer than 16 MiB";
				break;
			}
			done = coproc_lines(w, b, done);
		}
	}
	for (; done < b->n; done++)
		batch_fail(b, done, "%s", fail);
}

static const struct exec_vt coproc_vt = {coproc_open, coproc_run, coproc_close};

enum coren_err coren_memo_exec_coproc(const char *const *argv,
				      struct coren_memo_exec **out,
				      struct coren_error *err)
{
	enum coren_err rc = argv_exec(argv, &coproc_vt, out, err);

	if (!rc) {
		(*out)->kind = "coproc";
		signal(SIGPIPE, SIG_IGN); /* a co-process may die mid-write */
	}
	return rc;
}

/* ---- the worker side of --isolate ------------------------------------- */

static void serve_line(const struct coren_exec_ops *ops, void *state,
		       const char *s, size_t len, struct coren_buf *out)
{
	struct coren_error err = {0};
	json_t *rec = coren_json_parse(s, len, &err), *v = NULL;
	const json_t *pt = json_object_get(rec, "point");
	size_t at = out->len;

	if (json_is_object(pt) && !ops->exec(state, pt, &v, &err) && v &&
	    !coren_buf_append(out, "{\"type\":\"result\",\"value\":", 25) &&
	    !coren_json_dumpb(v, 0, out) && !coren_buf_append(out, "}\n", 2)) {
		json_decref(v);
		json_decref(rec);
		return;
	}
	json_decref(v);
	json_decref(rec);
	out->len = at;
	coren_buf_append(out, "{\"type\":\"error\",\"reason\":", 25);
	coren_json_dump_string(err.msg[0] ? err.msg : "not a point record",
			       strlen(err.msg[0] ? err.msg : "not a point record"),
			       out);
	coren_buf_append(out, "}\n", 2);
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
