#include "tap.h"
#include <coren/json.h>
#include <coren/verdict.h>
#include <math.h>
#include <stdlib.h>

static struct coren_cap machine(void)
{
	struct coren_cap c;

	memset(&c, 0, sizeof c);
	c.flops = 1e11;		/* 100 GFLOP/s */
	c.mem_bw = 4e10;	/* 40 GB/s */
	c.ram_avail = 16000000000ULL;
	c.disk_write_bw = 1e9;
	c.net_bw = 1.25e8;	/* 1 Gbit/s */
	c.net_latency = 0.01;
	return c;
}

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * fabs(b) + 1e-15;
}

int main(void)
{
	struct coren_cap cap = machine();
	struct coren_verdict v;
	struct coren_cost c;
	uint64_t w, q;
	bool fits;
	json_t *rec;
	char *s;

	/* sort(1e6,64,64e6): W/flops = 2e8/1e11 = 0.002; Q/bw = 1.28e9/4e10 = 0.032
	 * t_fetch = 0.01 + 64e6/1.25e8 = 0.522; t_store = 64e6/1e9 = 0.064 */
	c = coren_cost_sort(1000000, 64, 64000000);
	coren_verdict_decide(&c, &cap, &v);
	ok(near(v.t_compute, 0.032), "t_compute = Q / mem_bw when memory-bound");
	ok(near(v.t_fetch, 0.522), "t_fetch = latency + R / net_bw");
	ok(near(v.t_store, 0.064), "t_store = R / disk_write_bw");
	ok(near(v.score, 0.032 - 0.522), "score = t_compute - t_fetch");
	is_int(v.action, COREN_ACTION_COMPUTE, "negative score: compute");
	is_str(v.bottleneck, "memory", "memory-bound");
	ok(v.reason == NULL, "no reason when not forced");

	/* matmul(4000^3, R=128e6): W = 1.28e11 -> 1.28 s; Q = 8*3*16e6 = 3.84e8 -> 0.0096 s
	 * t_fetch = 0.01 + 1.024 = 1.034 -> score 0.246 > 0: fetch */
	c = coren_cost_matmul(4000, 4000, 4000, 128000000);
	coren_verdict_decide(&c, &cap, &v);
	ok(near(v.t_compute, 1.28), "t_compute = W / flops when compute-bound");
	ok(near(v.score, 1.28 - 1.034), "positive score");
	is_int(v.action, COREN_ACTION_FETCH, "positive score: fetch");
	is_str(v.bottleneck, "network", "fetching is network-bound");

	/* a tie computes */
	cap.net_latency = 0;
	c = coren_cost_new(0, 0, 0, 0);
	coren_verdict_decide(&c, &cap, &v);
	ok(v.score == 0 && v.action == COREN_ACTION_COMPUTE, "score 0: compute");
	cap.net_latency = 0.01;

	/* forced: RAM */
	c = coren_cost_new(1, 1, 16000000001ULL, 1);
	coren_verdict_decide(&c, &cap, &v);
	ok(isinf(v.score) && v.score > 0, "M > ram_avail: +inf");
	is_int(v.action, COREN_ACTION_FETCH, "must fetch");
	is_str(v.reason, "ram", "reason ram");
	c.peak_mem = 16000000000ULL;
	coren_verdict_decide(&c, &cap, &v);
	ok(isfinite(v.score), "M == ram_avail is not forced");

	/* forced: offline */
	cap.net_bw = 0;
	c = coren_cost_hash(1000);
	coren_verdict_decide(&c, &cap, &v);
	ok(isinf(v.score) && v.score < 0, "offline: -inf");
	is_int(v.action, COREN_ACTION_COMPUTE, "must compute");
	is_str(v.reason, "offline", "reason offline");
	ok(isinf(v.t_fetch), "t_fetch infinite offline");
	rec = coren_verdict_to_record(&v, &c, "h");
	s = coren_json_dumps(rec, 0);
	is_str(s, "{\"type\":\"verdict\",\"name\":\"h\",\"score\":\"-inf\",\"action\":\"compute\",\"bottleneck\":\"compute\","
		  "\"t_compute\":8e-08,\"t_fetch\":null,\"t_store\":3.2e-08,\"reason\":\"offline\","
		  "\"cost\":{\"flops\":8000,\"mem_bytes\":1000,\"peak_mem\":256,\"result_bytes\":32}}",
	       "offline verdict record: \"-inf\", null t_fetch");
	free(s);
	json_decref(rec);

	/* both forced: none */
	c = coren_cost_new(1, 1, UINT64_MAX, 1);
	coren_verdict_decide(&c, &cap, &v);
	is_int(v.action, COREN_ACTION_NONE, "ram and offline: none");
	ok(isnan(v.score), "score NaN");
	is_str(v.reason, "ram+offline", "reason names both");
	ok(v.bottleneck == NULL, "no bottleneck");
	rec = coren_verdict_to_record(&v, &c, NULL);
	ok(json_is_null(json_object_get(rec, "score")), "score null in the record");
	is_str(json_string_value(json_object_get(rec, "action")), "none", "action none in the record");
	json_decref(rec);
	cap.net_bw = 1.25e8;

	/* +inf in the record */
	c = coren_cost_new(1, 1, UINT64_MAX, 1);
	coren_verdict_decide(&c, &cap, &v);
	rec = coren_verdict_to_record(&v, &c, NULL);
	is_str(json_string_value(json_object_get(rec, "score")), "+inf", "\"+inf\" in the record");
	is_str(json_string_value(json_object_get(rec, "reason")), "ram", "reason in the record");
	json_decref(rec);

	/* helpers: etl buffer = min(mem_bw/100, ram/16) rounded to rows */
	is_u64(coren_verdict_etl_buffer_bytes(&cap, 100), 400000000, "etl buffer: 10 ms of bandwidth");
	is_u64(coren_verdict_etl_buffer_bytes(&cap, 3), 399999999, "etl buffer: whole rows");
	cap.ram_avail = 1600;
	is_u64(coren_verdict_etl_buffer_bytes(&cap, 30), 90, "etl buffer: at most ram/16, whole rows");
	is_u64(coren_verdict_etl_buffer_bytes(&cap, 5000), 5000, "etl buffer: at least one row");
	is_u64(coren_verdict_etl_buffer_bytes(&cap, 0), 0, "etl buffer: no rows");
	cap.ram_avail = 16000000000ULL;

	/* ttl = base * clamp(t_compute / t_fetch, 0.1, 100) */
	v.t_compute = 2;
	v.t_fetch = 1;
	ok(near(coren_verdict_suggest_ttl(&v, 60), 120), "ttl scales by t_compute/t_fetch");
	v.t_compute = 1e-9;
	ok(near(coren_verdict_suggest_ttl(&v, 60), 6), "ttl clamped below at 0.1x");
	v.t_compute = 1e9;
	ok(near(coren_verdict_suggest_ttl(&v, 60), 6000), "ttl clamped above at 100x");
	v.t_fetch = INFINITY;
	ok(near(coren_verdict_suggest_ttl(&v, 60), 6000), "offline: the upper bound");

	/* budget */
	c = coren_cost_sort(1000000, 64, 0);
	coren_verdict_decide(&c, &cap, &v);
	coren_verdict_compute_budget(&cap, 0.5, &v, &w, &q, &fits);
	is_u64(w, 50000000000ULL, "budget: W = seconds * flops");
	is_u64(q, 20000000000ULL, "budget: Q = seconds * mem_bw");
	ok(fits, "0.032 s fits in 0.5 s");
	coren_verdict_compute_budget(&cap, 0.01, &v, &w, &q, &fits);
	ok(!fits, "0.032 s does not fit in 0.01 s");
	coren_verdict_compute_budget(&cap, 1e30, &v, &w, &q, &fits);
	is_u64(w, UINT64_MAX, "budget saturates");
	return done_testing();
}
