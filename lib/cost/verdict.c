/* verdict.c - compute or fetch (coren/verdict.h). */
#include "config.h"

#include <coren/json.h>
#include <coren/record.h>
#include <coren/verdict.h>
#include <math.h>
#include <string.h>

void coren_verdict_decide(const struct coren_cost *c, const struct coren_cap *cap,
			  struct coren_verdict *v)
{
	double tw = (double)c->flops / cap->flops;
	double tq = (double)c->mem_bytes / cap->mem_bw;
	double tx = cap->xfer_bw > 0 ? (double)c->result_bytes / cap->xfer_bw : 0;
	bool ram = c->peak_mem > cap->ram_avail;
	bool offline = !coren_cap_online(cap);

	v->t_compute = (tw >= tq ? tw : tq) + tx;
	v->t_fetch = offline ? INFINITY
			     : cap->net_latency +
				       (double)c->result_bytes / cap->net_bw;
	v->t_store = (double)c->result_bytes / cap->disk_write_bw;
	v->reason = NULL;
	if (ram && offline) {
		v->score = NAN;
		v->action = COREN_ACTION_NONE;
		v->reason = "ram+offline";
	} else if (ram || offline) {
		v->score = ram ? INFINITY : -INFINITY;
		v->action = ram ? COREN_ACTION_FETCH : COREN_ACTION_COMPUTE;
		v->reason = ram ? "ram" : "offline";
	} else {
		v->score = v->t_compute - v->t_fetch;
		v->action = v->score > 0 ? COREN_ACTION_FETCH
					 : COREN_ACTION_COMPUTE;
	}
	if (v->action == COREN_ACTION_FETCH)
		v->bottleneck = "network";
	else if (v->action == COREN_ACTION_COMPUTE)
		v->bottleneck = tx > tw && tx > tq ? "transfer"
				: tw >= tq	     ? "compute"
						     : "memory";
	else
		v->bottleneck = NULL;
}

void coren_verdict_reprice(struct coren_verdict *v, double t_compute)
{
	bool was_fetch = v->action == COREN_ACTION_FETCH;

	if (v->reason || !(t_compute >= 0))
		return;
	v->t_compute = t_compute;
	v->score = t_compute - v->t_fetch;
	v->action = v->score > 0 ? COREN_ACTION_FETCH : COREN_ACTION_COMPUTE;
	if (v->action == COREN_ACTION_FETCH)
		v->bottleneck = "network";
	else if (was_fetch)
		v->bottleneck = "compute";
}

const char *coren_verdict_action_name(enum coren_action a)
{
	return a == COREN_ACTION_FETCH	 ? "fetch"
	       : a == COREN_ACTION_NONE ? "none"
					: "compute";
}

/* A string literal and its length. */
#define LIT(s) s, sizeof(s) - 1

/* ,"key": */
static enum coren_err key(struct coren_buf *b, const char *k)
{
	enum coren_err rc = coren_buf_append(b, LIT(",\""));

	if (!rc)
		rc = coren_buf_append(b, k, strlen(k));
	return rc ? rc : coren_buf_append(b, LIT("\":"));
}

/* A finite number as a real, infinities as "+inf"/"-inf", NaN as null. */
static enum coren_err number(struct coren_buf *b, const char *k, double x)
{
	enum coren_err rc = key(b, k);

	if (rc)
		return rc;
	if (isnan(x))
		return coren_buf_append(b, LIT("null"));
	if (isinf(x))
		return x > 0 ? coren_buf_append(b, LIT("\"+inf\""))
		     : coren_buf_append(b, LIT("\"-inf\""));
	return coren_json_dump_double(x, b);
}

static enum coren_err text(struct coren_buf *b, const char *k, const char *s)
{
	enum coren_err rc = key(b, k);

	if (rc)
		return rc;
	return s ? coren_json_dump_string(s, strlen(s), b)
		 : coren_buf_append(b, LIT("null"));
}

enum coren_err coren_verdict_write(struct coren_buf *b,
				   const struct coren_verdict *v,
				   const struct coren_cost *c, const char *name,
				   size_t name_len)
{
	enum coren_err rc = coren_buf_append(b, LIT("{\"type\":\"verdict\""));

	if (!rc && name)
		rc = key(b, "name") ? COREN_ERR_NOMEM
				    : coren_json_dump_string(name, name_len, b);
	if (!rc)
		rc = number(b, "score", v->score);
	if (!rc)
		rc = text(b, "action", coren_verdict_action_name(v->action));
	if (!rc)
		rc = text(b, "bottleneck", v->bottleneck);
	if (!rc)
		rc = number(b, "t_compute", v->t_compute);
	if (!rc)
		rc = number(b, "t_fetch", isinf(v->t_fetch) ? NAN : v->t_fetch);
	if (!rc)
		rc = number(b, "t_store", v->t_store);
	if (!rc && v->reason)
		rc = text(b, "reason", v->reason);
	if (!rc)
		rc = key(b, "cost");
	if (!rc)
		rc = coren_cost_write_object(b, c);
	return rc ? rc : coren_buf_putc(b, '}');
}

json_t *coren_verdict_to_record(const struct coren_verdict *v,
				const struct coren_cost *c, const char *name)
{
	struct coren_buf b;
	json_t *rec = NULL;

	coren_buf_init(&b, 0);
	if (!coren_verdict_write(&b, v, c, name, name ? strlen(name) : 0))
		rec = coren_json_parse(b.data, b.len, NULL);
	coren_buf_release(&b);
	return rec;
}

uint64_t coren_verdict_etl_buffer_bytes(const struct coren_cap *cap,
					uint64_t row_bytes)
{
	double want = cap->mem_bw / 100, most = (double)(cap->ram_avail / 16);
	uint64_t b;

	if (row_bytes == 0)
		return 0;
	if (want > most)
		want = most;
	b = want >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)want;
	b -= b % row_bytes;
	return b ? b : row_bytes;
}

double coren_verdict_suggest_ttl(const struct coren_verdict *v, double base)
{
	double f;

	if (isinf(v->t_fetch) || v->t_fetch <= 0)
		f = 100;
	else
		f = v->t_compute / v->t_fetch;
	if (!(f >= 0.1)) /* also NaN */
		f = 0.1;
	if (f > 100)
		f = 100;
	return base * f;
}

void coren_verdict_compute_budget(const struct coren_cap *cap, double seconds,
				  const struct coren_verdict *v,
				  uint64_t *flops, uint64_t *mem_bytes,
				  bool *fits)
{
	double w = seconds * cap->flops, q = seconds * cap->mem_bw;

	*flops = w >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)w;
	*mem_bytes = q >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)q;
	*fits = v->t_compute <= seconds;
}
