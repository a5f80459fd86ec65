/* topo.c - topologies: kernels, routes and settings, from YAML or from
 * rk-launch's options, and starting and stopping them. */
#include "config.h"

#include <coren/rk.h>
#include <coren/settings.h>
#include <coren/yaml.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void coren_rk_topology_init(struct coren_rk_topology *t)
{
	static const struct coren_rk_config config = COREN_RK_CONFIG_INIT;
	static const struct coren_rk_launch launch = COREN_RK_LAUNCH_INIT;

	memset(t, 0, sizeof *t);
	t->config = config;
	t->launch = launch;
	t->launch.k2k = false;
}

void coren_rk_topology_release(struct coren_rk_topology *t)
{
	for (size_t i = 0; i < t->nkernels; i++) {
		free(t->kernels[i].name);
		free(t->kernels[i].plugin);
		json_decref(t->kernels[i].args);
	}
	for (size_t i = 0; i < t->nroutes; i++)
		free(t->routes[i]);
	free(t->kernels);
	free(t->routes);
	free(t->backend);
	json_decref(t->backend_options);
	free(t->hints);
	free(t->wire);
	memset(t, 0, sizeof *t);
}

static enum coren_err add_kernel(struct coren_rk_topology *t, const char *name,
				 size_t nlen, const char *plugin, size_t plen,
				 json_t *args, struct coren_error *err)
{
	struct coren_rk_kernel_spec *k = realloc(t->kernels, (t->nkernels + 1) * sizeof *k);

	if (!k) {
		json_decref(args);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	t->kernels = k;
	k += t->nkernels;
	memset(k, 0, sizeof *k);
	k->name = strndup(name, nlen);
	k->plugin = strndup(plugin, plen);
	k->args = args;
	if (!k->name || !k->plugin) {
		free(k->name);
		free(k->plugin);
		json_decref(args);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	t->nkernels++;
	return COREN_OK;
}

enum coren_err coren_rk_topology_add_kernel(struct coren_rk_topology *t,
					    const char *spec,
					    struct coren_error *err)
{
	const char *eq = strchr(spec, '='), *colon;
	json_t *args = NULL;
	enum coren_err rc;

	if (!eq || eq == spec || !eq[1] || eq[1] == ':')
		return coren_error_set(err, COREN_ERR_USAGE,
				       "kernel '%s' is not NAME=PLUGIN[:ARGS]", spec);
	colon = strchr(eq + 1, ':');
	if (colon && (rc = coren_rk_parse_args(colon + 1, &args, err)))
		return rc;
	if (!colon && !(args = json_object()))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return add_kernel(t, spec, (size_t)(eq - spec), eq + 1,
			  colon ? (size_t)(colon - eq - 1) : strlen(eq + 1), args, err);
}

enum coren_err coren_rk_topology_add_route(struct coren_rk_topology *t,
					   const char *spec,
					   struct coren_error *err)
{
	const char *gt = strchr(spec, '>');
	char **r;

	if (!gt || gt == spec || !gt[1] || strchr(gt + 1, '>'))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "route '%s' is not DEST>VIA", spec);
	r = realloc(t->routes, (t->nroutes + 1) * sizeof *r);
	if (!r)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	t->routes = r;
	if (!(r[t->nroutes] = strdup(spec)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	t->nroutes++;
	return COREN_OK;
}

/* ---- the settings: one row each, for YAML and rk-launch's options ---- */

static enum coren_err set_dispatch(void *obj, const char *v,
				   struct coren_error *err)
{
	int m = coren_dispatch_mode_parse(v);

	if (m < 0)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "one of cpu-only, gpu-only, hybrid, "
				       "adaptive");
	((struct coren_rk_config *)obj)->dispatch = (enum coren_dispatch_mode)m;
	return COREN_OK;
}

#define CONFIG(member) COREN_SETTING_AT(struct coren_rk_config, member)

/* The runtime's limits (struct coren_rk_config). */
const struct coren_setting coren_rk_config_settings[] = {
	{COREN_ROW(COUNT, "node_id", "node-id", 0, "N",
		   "this node's id in HLC stamps, 0..65535"),
	 .max = 65535, CONFIG(node_id)},
	{COREN_ROW(CUSTOM, "dispatch", "dispatch", 0, "MODE",
		   "cpu-only, gpu-only, hybrid, adaptive"),
	 .flags = COREN_SETTING_REASON, .set = set_dispatch},
	{COREN_ROW(COUNT, "gpu_threshold", "gpu-threshold", 0, "N",
		   "hybrid: GPU from N items (default 10000)"),
	 .min = 1, CONFIG(gpu_threshold)},
	{COREN_ROW(SIZE, "max_memory", "max-memory", 0, "SIZE",
		   "memory guard limit (default 80% of RAM)"),
	 .min = 1, CONFIG(max_memory)},
	{COREN_ROW(SIZE, "max_payload", "max-payload", 0, "SIZE",
		   "largest payload (default and limit 64KiB)"),
	 .min = 1, .max = COREN_ENV_PAYLOAD_MAX, CONFIG(max_payload)},
	{COREN_ROW(COUNT, "inbox_capacity", "inbox-capacity", 0, "N",
		   "K2K inbox per kernel, 1..16777216 (default\n"
		   "1024)"),
	 .min = 1, .max = 1 << 24, CONFIG(inbox_capacity)},
	{COREN_ROW(COUNT, "max_hops", "max-hops", 0, "N",
		   "K2K forwards before an error, 1..255\n"
		   "(default 8)"),
	 .min = 1, .max = COREN_K2K_MAX_HOPS_MAX, CONFIG(max_hops)},
	{COREN_ROW(COUNT, "delivery_timeout_ms", "delivery-timeout", 0, "MS",
		   "a full inbox fails a send after MS\n"
		   "(default 5000; 1 to a day)"),
	 .min = 1, .max = 86400000, CONFIG(delivery_timeout_ms)},
	{COREN_ROW(COUNT, "kernel_timeout_ms", "kernel-timeout", 0, "MS",
		   "a handler call longer than MS fails its kernel\n"
		   "(default 0: never; at most a day)"),
	 .max = 86400000, CONFIG(kernel_timeout_ms)},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};

#define LAUNCH(member) COREN_SETTING_AT(struct coren_rk_launch, member)

/* How kernels are launched (struct coren_rk_launch): the defaults at the
 * top of a topology, and each kernel's own. */
const struct coren_setting coren_rk_launch_settings[] = {
	{COREN_ROW(FLAG, "k2k", "k2k", 0, NULL,
		   "give kernels K2K inboxes (forward needs it)"),
	 LAUNCH(k2k)},
	{COREN_ROW(COUNT, "queue_capacity", "queue-capacity", 0, "N",
		   "per worker queue, 1..16777216 (default 1024)"),
	 .min = 1, .max = 1 << 24, LAUNCH(queue_capacity)},
	{COREN_ROW(COUNT, "block_size", "block-size", 0, "N",
		   "messages per batch, 1..4096 (default 64)"),
	 .min = 1, .max = 4096, LAUNCH(block_size)},
	{COREN_ROW(COUNT, "grid_size", "grid-size", 0, "N",
		   "workers per kernel, 1..256 (default 1)"),
	 .min = 1, .max = 256, LAUNCH(grid_size)},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};

static enum coren_err set_kernel(void *t, const char *v, struct coren_error *err)
{
	return coren_rk_topology_add_kernel(t, v, err);
}

static enum coren_err set_route(void *t, const char *v, struct coren_error *err)
{
	return coren_rk_topology_add_route(t, v, err);
}

static enum coren_err set_backend_opt(void *obj, const char *v,
				      struct coren_error *err)
{
	struct coren_rk_topology *t = obj;
	json_t *o = NULL;

	if (coren_rk_parse_args(v, &o, err))
		return COREN_ERR_USAGE; /* its message is the reason */
	if (!t->backend_options)
		t->backend_options = json_object();
	json_object_update(t->backend_options, o);
	json_decref(o);
	return COREN_OK;
}

static enum coren_err set_wire(void *obj, const char *v, struct coren_error *err)
{
	struct coren_rk_topology *t = obj;

	if (strcmp(v, "json") && strcmp(v, "bin"))
		return coren_error_set(err, COREN_ERR_USAGE, "json or bin");
	free(t->wire);
	t->wire = strdup(v);
	return t->wire ? COREN_OK
		       : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

static enum coren_err yaml_kernel(struct coren_rk_topology *t,
				  const struct coren_yaml_node *k,
				  struct coren_error *err)
{
	static const char *const keys[] = {"name", "plugin", "args", "queue_capacity",
					   "block_size", "grid_size", NULL};
	const struct coren_yaml_node *name = coren_yaml_get(k, "name");
	const struct coren_yaml_node *plugin = coren_yaml_get(k, "plugin");
	const struct coren_yaml_node *a = coren_yaml_get(k, "args");
	const char *ns, *ps;
	json_t *args;
	enum coren_err rc;

	if ((rc = coren_yaml_expect(k, COREN_YAML_MAPPING, err)) ||
	    (rc = coren_yaml_check_keys(k, keys, err)))
		return rc;
	if (!name || !plugin)
		return coren_yaml_error(k, err, "a kernel needs 'name' and 'plugin'");
	if ((rc = coren_yaml_get_string(name, &ns, err)) ||
	    (rc = coren_yaml_get_string(plugin, &ps, err)))
		return rc;
	if (!a)
		args = json_object();
	else if (a->kind == COREN_YAML_SCALAR) {
		if ((rc = coren_rk_parse_args(a->value, &args, err)))
			return coren_yaml_error(a, err, "%s", err ? err->msg : "bad args");
	} else if (a->kind == COREN_YAML_MAPPING) {
		if (!(args = coren_yaml_to_json(a, err)))
			return err ? err->code : COREN_ERR_CONFIG;
	} else {
		return coren_yaml_error(a, err, "'args' is a mapping or a k=v,k=v string");
	}
	if ((rc = add_kernel(t, ns, strlen(ns), ps, strlen(ps), args, err)))
		return rc;
	t->kernels[t->nkernels - 1].launch.k2k = t->launch.k2k;
	/* the kernel's own launch settings, through the same rows */
	for (const struct coren_setting *s = coren_rk_launch_settings; s->type; s++) {
		const struct coren_yaml_node *v = coren_yaml_get(k, s->key);

		if (v && s->type != COREN_SETTING_FLAG &&
		    (rc = coren_setting_yaml(s, &t->kernels[t->nkernels - 1].launch, v,
					     NULL, err)))
			return rc;
	}
	return COREN_OK;
}

static enum coren_err yaml_route(struct coren_rk_topology *t,
				 const struct coren_yaml_node *r,
				 struct coren_error *err)
{
	char spec[256];
	const char *d, *v;
	enum coren_err rc;

	if (r->kind == COREN_YAML_SCALAR) {
		rc = coren_rk_topology_add_route(t, r->value, err);
	} else if (r->kind == COREN_YAML_MAPPING && coren_yaml_get(r, "dest") &&
		   coren_yaml_get(r, "via")) {
		if ((rc = coren_yaml_get_string(coren_yaml_get(r, "dest"), &d, err)) ||
		    (rc = coren_yaml_get_string(coren_yaml_get(r, "via"), &v, err)))
			return rc;
		snprintf(spec, sizeof spec, "%s>%s", d, v);
		rc = coren_rk_topology_add_route(t, spec, err);
	} else {
		return coren_yaml_error(r, err, "a route is \"DEST>VIA\" or {dest: D, via: V}");
	}
	return rc ? coren_yaml_error(r, err, "%s", err ? err->msg : "bad route") : COREN_OK;
}

static enum coren_err yaml_kernels(void *t, const struct coren_yaml_node *seq,
				   const char *dir, struct coren_error *err)
{
	enum coren_err rc = coren_yaml_expect(seq, COREN_YAML_SEQUENCE, err);

	(void)dir;
	for (size_t i = 0; !rc && i < seq->n; i++)
		rc = yaml_kernel(t, seq->items[i], err);
	return rc;
}

static enum coren_err yaml_routes(void *t, const struct coren_yaml_node *seq,
				  const char *dir, struct coren_error *err)
{
	enum coren_err rc = coren_yaml_expect(seq, COREN_YAML_SEQUENCE, err);

	(void)dir;
	for (size_t i = 0; !rc && i < seq->n; i++)
		rc = yaml_route(t, seq->items[i], err);
	return rc;
}

static enum coren_err yaml_backend_options(void *obj,
					   const struct coren_yaml_node *v,
					   const char *dir, struct coren_error *err)
{
	struct coren_rk_topology *t = obj;
	enum coren_err rc;
	json_t *o;

	(void)dir;
	if ((rc = coren_yaml_expect(v, COREN_YAML_MAPPING, err)))
		return rc;
	if (!(o = coren_yaml_to_json(v, err)))
		return err ? err->code : COREN_ERR_CONFIG;
	json_decref(t->backend_options);
	t->backend_options = o;
	return COREN_OK;
}

#define TOPO(member) COREN_SETTING_AT(struct coren_rk_topology, member)

/* What runs (struct coren_rk_topology). */
const struct coren_setting coren_rk_topology_settings[] = {
	{COREN_ROW(CUSTOM, "kernels", "kernel", 'k', "NAME=PLUGIN[:ARGS]",
		   "launch a kernel (ARGS: k=v,k=v); repeatable"),
	 .set = set_kernel, .set_yaml = yaml_kernels},
	{COREN_ROW(CUSTOM, "routes", "route", 0, "DEST>VIA",
		   "K2K messages for DEST go through VIA"),
	 .set = set_route, .set_yaml = yaml_routes},
	{COREN_ROW(STRING, "backend", "backend", 'b', "NAME",
		   "backend plugin (default cpu)"),
	 TOPO(backend)},
	{COREN_ROW(CUSTOM, "backend_options", "backend-opt", 0, "K=V",
		   "an option for the backends (repeatable)"),
	 .flags = COREN_SETTING_REASON, .set = set_backend_opt, .set_yaml = yaml_backend_options},
	{COREN_ROW(STRING, "hints", "hints", 0, "FILE",
		   "load hot-path hints from FILE, save them back"),
	 TOPO(hints)},
	{COREN_ROW(CUSTOM, "wire", "wire", 0, "json|bin",
		   "input and answers: msg records or envelopes"),
	 .flags = COREN_SETTING_REASON, .set = set_wire},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};

enum coren_err coren_rk_topology_load(struct coren_rk_topology *t,
				      const char *path, struct coren_error *err)
{
	const struct coren_settings tabs[] = {
		{coren_rk_topology_settings, t},
		{coren_rk_launch_settings, &t->launch},
		{coren_rk_config_settings, &t->config}};
	struct coren_yaml_doc *doc;
	enum coren_err rc = coren_yaml_load_file(path, &doc, err);

	if (rc)
		return rc;
	rc = coren_settings_yaml(tabs, 3, coren_yaml_root(doc), NULL, err);
	coren_yaml_free(doc);
	return rc;
}

/* ---- running a topology ---------------------------------------------------------- */

static struct coren_rk_launch merged(const struct coren_rk_topology *t,
				     const struct coren_rk_kernel_spec *k)
{
	struct coren_rk_launch l = t->launch;

	if (k->launch.queue_capacity)
		l.queue_capacity = k->launch.queue_capacity;
	if (k->launch.block_size)
		l.block_size = k->launch.block_size;
	if (k->launch.grid_size)
		l.grid_size = k->launch.grid_size;
	l.k2k = t->launch.k2k || k->launch.k2k || t->nroutes;
	return l;
}

static enum coren_err launch_all(struct coren_rk_system *s,
				 const struct coren_rk_topology *t,
				 const char *const *dirs, struct coren_error *err)
{
	enum coren_err rc = COREN_OK;

	s->kernels = calloc(t->nkernels ? t->nkernels : 1, sizeof *s->kernels);
	if (!s->kernels)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->nkernels && !rc; i++) {
		const struct coren_rk_kernel_spec *k = &t->kernels[i];
		struct coren_rk_launch l = merged(t, k);

		rc = coren_plugin_open(k->plugin, COREN_PLUGIN_KERNEL, dirs,
				       &s->kernels[i], err);
		if (!rc) {
			s->nkernels++;
			rc = coren_rk_launch(s->rt, k->name, s->kernels[i], k->args, &l,
					     NULL, err);
		}
	}
	return rc;
}

static enum coren_err add_routes(struct coren_rk_system *s,
				 const struct coren_rk_topology *t,
				 struct coren_error *err)
{
	enum coren_err rc = COREN_OK;

	for (size_t i = 0; i < t->nroutes && !rc; i++) {
		char *dest = strdup(t->routes[i]), *via;

		if (!dest)
			return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		via = strchr(dest, '>');
		*via++ = '\0';
		rc = coren_rk_route(s->rt, dest, via, err);
		free(dest);
	}
	return rc;
}

/* Opens backend spec and adds it to the runtime. */
static enum coren_err add_backend(struct coren_rk_system *s, const char *spec,
				  const json_t *options, const char *const *dirs,
				  struct coren_error *err)
{
	struct coren_plugin *p = NULL;
	enum coren_err rc = coren_plugin_open(spec, COREN_PLUGIN_BACKEND, dirs, &p, err);

	if (!rc)
		rc = coren_rk_add_backend(s->rt, p, options, err);
	if (rc) {
		coren_error_at(err, "backend '%s'", spec);
		coren_plugin_free(p);
		return rc;
	}
	s->backends[s->nbackends++] = p;
	return COREN_OK;
}

static bool is_gpu(const struct coren_plugin *p)
{
	const struct coren_backend_ops *ops = p->desc->ops;
	struct coren_backend_caps caps = {sizeof caps, 0, 0, 0, 0, 0};

	ops->capabilities(&caps);
	return caps.flags & COREN_BACKEND_F_GPU;
}

/* The named backend, then the other target the dispatch mode wants: the
 * CUDA backend for gpu-only (it must load), hybrid and adaptive (all on
 * the CPU if it does not), the CPU backend beside a GPU one. */
static enum coren_err add_backends(struct coren_rk_system *s,
				   const struct coren_rk_topology *t,
				   const char *const *dirs, struct coren_error *err)
{
	enum coren_dispatch_mode mode = t->config.dispatch;
	enum coren_err rc = add_backend(s, t->backend ? t->backend : "cpu",
					t->backend_options, dirs, err);
	struct coren_error ignored = {0};

	if (rc)
		return rc;
	if (is_gpu(s->backends[0]))
		return mode == COREN_DISPATCH_HYBRID || mode == COREN_DISPATCH_ADAPTIVE
			       ? add_backend(s, "cpu", NULL, dirs, err) : COREN_OK;
	if (mode == COREN_DISPATCH_GPU_ONLY) {
		rc = add_backend(s, "cuda", t->backend_options, dirs, err);
		if (rc && err) {
			char why[COREN_ERROR_MSG_MAX];

			snprintf(why, sizeof why, "%s", err->msg);
			coren_error_set(err, rc, "dispatch gpu-only needs a GPU backend: %s", why);
		}
		return rc;
	}
	if (mode == COREN_DISPATCH_HYBRID || mode == COREN_DISPATCH_ADAPTIVE)
		add_backend(s, "cuda", t->backend_options, dirs, &ignored);
	return COREN_OK;
}

enum coren_err coren_rk_system_start(struct coren_rk_system *s,
				     const struct coren_rk_topology *t,
				     const char *const *dirs,
				     struct coren_error *err)
{
	enum coren_err rc;

	memset(s, 0, sizeof *s);
	if (!t->nkernels)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "no kernels: give -k NAME=PLUGIN or a topology with 'kernels'");
	rc = coren_rk_new(&t->config, &s->rt, err);
	if (!rc)
		rc = add_backends(s, t, dirs, err);
	if (!rc && t->hints && (rc = coren_hints_load(coren_rk_hints(s->rt), t->hints, err))) {
		coren_error_at(err, "%s", t->hints);
		if (err && rc != COREN_ERR_IO && rc != COREN_ERR_NOMEM)
			rc = err->code = COREN_ERR_CONFIG; /* a bad file, not bad input */
	}
	if (!rc)
		rc = launch_all(s, t, dirs, err);
	if (!rc)
		rc = add_routes(s, t, err);
	if (!rc)
		rc = coren_rk_check(s->rt, err);
	if (rc) {
		struct coren_error ignored = {0};

		coren_rk_system_stop(s, NULL, &ignored);
	}
	return rc;
}

enum coren_err coren_rk_system_stop(struct coren_rk_system *s,
				    const struct coren_rk_topology *t,
				    struct coren_error *err)
{
	enum coren_err rc = COREN_OK;
	bool keep_code = false;

	if (s->rt) {
		for (uint32_t id = 1; id <= coren_rk_kernel_count(s->rt); id++)
			coren_rk_terminate(s->rt, id, NULL);
		if (t && t->hints)
			rc = coren_hints_save(coren_rk_hints(s->rt), t->hints, err);
		/* A thread left in a hung handler runs plugin code. */
		keep_code = coren_rk_abandoned(s->rt) > 0;
	}
	coren_rk_free(s->rt);
	if (keep_code) {
		free(s->kernels);
		memset(s, 0, sizeof *s);
		return rc;
	}
	for (size_t i = 0; i < s->nkernels; i++)
		coren_plugin_free(s->kernels[i]);
	free(s->kernels);
	for (size_t i = 0; i < s->nbackends; i++)
		coren_plugin_free(s->backends[i]);
	memset(s, 0, sizeof *s);
	return rc;
}
