/* topo.c - topologies: kernels, routes and settings, from YAML or from
 * rk-launch's options, and starting and stopping them. */
#include "config.h"

#include <coren/rk.h>
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

/* ---- YAML --------------------------------------------------------------------- */

static enum coren_err get_size(const struct coren_yaml_node *n, size_t *out,
			       struct coren_error *err)
{
	uint64_t v;
	enum coren_err rc = coren_yaml_get_u64(n, &v, err);

	if (!rc)
		*out = (size_t)v;
	return rc;
}

static enum coren_err get_uint(const struct coren_yaml_node *n, unsigned *out,
			       struct coren_error *err)
{
	uint64_t v;
	enum coren_err rc = coren_yaml_get_u64(n, &v, err);

	if (!rc && v > 1000000000)
		rc = coren_yaml_error(n, err, "%llu is too large", (unsigned long long)v);
	if (!rc)
		*out = (unsigned)v;
	return rc;
}

static enum coren_err set_string(const struct coren_yaml_node *n, char **out,
				 struct coren_error *err)
{
	const char *s;
	enum coren_err rc = coren_yaml_get_string(n, &s, err);

	if (rc)
		return rc;
	free(*out);
	*out = strdup(s);
	return *out ? COREN_OK : coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
}

static enum coren_err launch_keys(const struct coren_yaml_node *map,
				  struct coren_rk_launch *l,
				  struct coren_error *err)
{
	const struct coren_yaml_node *v;
	enum coren_err rc = COREN_OK;

	if ((v = coren_yaml_get(map, "queue_capacity")))
		rc = get_size(v, &l->queue_capacity, err);
	if (!rc && (v = coren_yaml_get(map, "block_size")))
		rc = get_size(v, &l->block_size, err);
	if (!rc && (v = coren_yaml_get(map, "grid_size")))
		rc = get_uint(v, &l->grid_size, err);
	if (!rc && (v = coren_yaml_get(map, "k2k")))
		rc = coren_yaml_get_bool(v, &l->k2k, err);
	return rc;
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
	return launch_keys(k, &t->kernels[t->nkernels - 1].launch, err);
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

static enum coren_err yaml_list(struct coren_rk_topology *t,
				const struct coren_yaml_node *seq,
				enum coren_err (*each)(struct coren_rk_topology *,
						       const struct coren_yaml_node *,
						       struct coren_error *),
				struct coren_error *err)
{
	enum coren_err rc = coren_yaml_expect(seq, COREN_YAML_SEQUENCE, err);

	for (size_t i = 0; !rc && i < seq->n; i++)
		rc = each(t, seq->items[i], err);
	return rc;
}

static enum coren_err yaml_config(struct coren_rk_topology *t,
				  const struct coren_yaml_node *root,
				  struct coren_error *err)
{
	struct coren_rk_config *c = &t->config;
	const struct coren_yaml_node *v;
	enum coren_err rc = COREN_OK;
	uint64_t u;
	const char *s;

	if ((v = coren_yaml_get(root, "node_id"))) {
		if ((rc = coren_yaml_get_u64(v, &u, err)))
			return rc;
		if (u > 65535)
			return coren_yaml_error(v, err, "node_id %llu is not from 0 to 65535",
						(unsigned long long)u);
		c->node_id = (uint16_t)u;
	}
	if (!rc && (v = coren_yaml_get(root, "dispatch"))) {
		int m;

		if ((rc = coren_yaml_get_string(v, &s, err)))
			return rc;
		if ((m = coren_dispatch_mode_parse(s)) < 0)
			return coren_yaml_error(v, err,
						"dispatch '%s' is not cpu-only, gpu-only, hybrid or adaptive", s);
		c->dispatch = (enum coren_dispatch_mode)m;
	}
	if (!rc && (v = coren_yaml_get(root, "gpu_threshold")))
		rc = coren_yaml_get_u64(v, &c->gpu_threshold, err);
	if (!rc && (v = coren_yaml_get(root, "max_memory")))
		rc = coren_yaml_get_u64(v, &c->max_memory, err);
	if (!rc && (v = coren_yaml_get(root, "max_payload")))
		rc = get_size(v, &c->max_payload, err);
	if (!rc && (v = coren_yaml_get(root, "inbox_capacity")))
		rc = get_size(v, &c->inbox_capacity, err);
	if (!rc && (v = coren_yaml_get(root, "max_hops")) &&
	    !(rc = get_uint(v, &c->max_hops, err)) &&
	    (c->max_hops < 1 || c->max_hops > COREN_K2K_MAX_HOPS_MAX))
		rc = coren_yaml_error(v, err, "max_hops %u is not from 1 to %d",
				      c->max_hops, COREN_K2K_MAX_HOPS_MAX);
	if (!rc && (v = coren_yaml_get(root, "delivery_timeout_ms")))
		rc = get_uint(v, &c->delivery_timeout_ms, err);
	if (!rc && (v = coren_yaml_get(root, "kernel_timeout_ms")))
		rc = get_uint(v, &c->kernel_timeout_ms, err);
	if (!rc && (v = coren_yaml_get(root, "backend_options"))) {
		json_t *o;

		if ((rc = coren_yaml_expect(v, COREN_YAML_MAPPING, err)))
			return rc;
		if (!(o = coren_yaml_to_json(v, err)))
			return err ? err->code : COREN_ERR_CONFIG;
		json_decref(t->backend_options);
		t->backend_options = o;
	}
	return rc;
}

enum coren_err coren_rk_topology_load(struct coren_rk_topology *t,
				      const char *path, struct coren_error *err)
{
	static const char *const keys[] = {
		"backend", "node_id", "wire", "k2k", "queue_capacity", "block_size",
		"grid_size", "inbox_capacity", "max_hops", "delivery_timeout_ms",
		"kernel_timeout_ms", "dispatch", "gpu_threshold", "max_memory",
		"max_payload", "hints", "kernels", "routes", "backend_options", NULL};
	struct coren_yaml_doc *doc;
	const struct coren_yaml_node *root, *v;
	enum coren_err rc = coren_yaml_load_file(path, &doc, err);

	if (rc)
		return rc;
	root = coren_yaml_root(doc);
	if (!(rc = coren_yaml_expect(root, COREN_YAML_MAPPING, err)))
		rc = coren_yaml_check_keys(root, keys, err);
	if (!rc)
		rc = yaml_config(t, root, err);
	if (!rc)
		rc = launch_keys(root, &t->launch, err);
	if (!rc && (v = coren_yaml_get(root, "backend")))
		rc = set_string(v, &t->backend, err);
	if (!rc && (v = coren_yaml_get(root, "hints")))
		rc = set_string(v, &t->hints, err);
	if (!rc && (v = coren_yaml_get(root, "wire"))) {
		rc = set_string(v, &t->wire, err);
		if (!rc && strcmp(t->wire, "json") && strcmp(t->wire, "bin"))
			rc = coren_yaml_error(v, err, "wire '%s' is not json or bin", t->wire);
	}
	if (!rc && (v = coren_yaml_get(root, "kernels")))
		rc = yaml_list(t, v, yaml_kernel, err);
	if (!rc && (v = coren_yaml_get(root, "routes")))
		rc = yaml_list(t, v, yaml_route, err);
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
