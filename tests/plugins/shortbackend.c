/* A backend plugin built against an older, shorter operations table: it
 * ends after reset (no wake, actor_status, probe). Poison pointers that
 * abort follow it: a host that reads past struct_size dies of SIGABRT.
 * It runs nothing: messages stay queued with it. */
#include <coren/rkbackend.h>
#include <stdlib.h>

struct old_backend_ops {
	uint32_t struct_size;
	void (*capabilities)(struct coren_backend_caps *);
	enum coren_err (*load)(void **, const json_t *, struct coren_error *);
	void (*unload)(void *);
	json_t *(*metadata)(void *);
	enum coren_err (*init)(void *, struct coren_rk_actor *, struct coren_error *);
	size_t (*infer_batch)(void *, struct coren_rk_actor *, struct coren_rk_msg **, size_t);
	int (*infer_one)(void *, struct coren_rk_actor *, struct coren_rk_msg *);
	enum coren_err (*drain)(void *, struct coren_rk_actor *, int, struct coren_error *);
	enum coren_err (*reset)(void *, struct coren_rk_actor *, struct coren_error *);
};

static void caps(struct coren_backend_caps *c)
{
	c->flags = COREN_BACKEND_F_PERSISTENT;
}

static enum coren_err load(void **st, const json_t *o, struct coren_error *e)
{
	(void)o;
	(void)e;
	*st = NULL;
	return COREN_OK;
}

static enum coren_err init(void *b, struct coren_rk_actor *a, struct coren_error *e)
{
	(void)b;
	(void)a;
	(void)e;
	return COREN_OK;
}

static size_t batch(void *b, struct coren_rk_actor *a, struct coren_rk_msg **m, size_t n)
{
	(void)b;
	(void)a;
	(void)m;
	(void)n;
	return 0;
}

static enum coren_err drain(void *b, struct coren_rk_actor *a, int t, struct coren_error *e)
{
	(void)b;
	(void)a;
	(void)t;
	(void)e;
	return COREN_OK;
}

static enum coren_err reset(void *b, struct coren_rk_actor *a, struct coren_error *e)
{
	(void)b;
	(void)a;
	(void)e;
	return COREN_OK;
}

static void poison(void)
{
	abort();
}

static const struct {
	struct old_backend_ops ops;
	void (*after[4])(void);
} table = {
	{sizeof(struct old_backend_ops), caps, load, NULL, NULL, init, batch, NULL, drain, reset},
	{poison, poison, poison, poison},
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_BACKEND, "shortbackend", "1.0",
		      "an operations table that ends after reset", &table.ops)
