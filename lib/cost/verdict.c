/* verdict.c - compute or fetch (coren/verdict.h). */
#include "config.h"

#include <coren/json.h>
#include <coren/record.h>
#include <coren/verdict.h>
#include <math.h>

void coren_verdict_decide(const struct coren_cost *c, const struct coren_cap *cap,
			  struct coren_verdict *v)
{
	double tw = (double)c->flops / cap->flops;
	double tq = (double)c->mem_bytes / cap->mem_bw;
	bool ram = c->peak_mem > cap->ram_avail;
	bool offline = !coren_cap_online(cap);

	v->t_compute = tw >= tq ? tw : tq;
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
		v->bottleneck = tw >= tq ? "compute" : "memory";
	else
		v->bottleneck = NULL;
}

const char *coren_verdict_action_name(enum coren_action a)
{
	return a == COREN_ACTION_FETCH	 ? "fetch"
	       : a == COREN_ACTION_NONE ? "none"
					: "compute";
}

/* A finite number as a real, infinities as "+inf"/"-inf", NaN as null. */
static json_t *number(double x)
{
	if (isnan(x))
		return json_null();
	if (isinf(x))
		return json_string(x > 0 ? "+inf" : "-inf");
	return json_real(x);
}

json_t *coren_verdict_to_record(const struct coren_verdict *v,
				const struct coren_cost *c, const char *name)
{
	json_t *rec = coren_record_new("verdict");

	if (!rec)
		return NULL;
	if ((name && json_object_set_new(rec, "name", json_string(name))) ||
	    json_object_set_new(rec, "score", number(v->score)) ||
	    json_object_set_new(rec, "action",
				json_string(coren_verdict_action_name(v->action))) ||
	    json_object_set_new(rec, "bottleneck",
				v->bottleneck ? json_string(v->bottleneck)
					      : json_null()) ||
	    json_object_set_new(rec, "t_compute", number(v->t_compute)) ||
	    json_object_set_new(rec, "t_fetch",
				isinf(v->t_fetch) ? json_null()
						  : number(v->t_fetch)) ||
	    json_object_set_new(rec, "t_store", number(v->t_store)) ||
	    (v->reason && json_object_set_new(rec, "reason",
					      json_string(v->reason))) ||
	    json_object_set_new(rec, "cost", coren_cost_to_json(c))) {
		json_decref(rec);
		return NULL;
	}
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
