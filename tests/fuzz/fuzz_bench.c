/* libFuzzer harness: rk-bench --analyze input (timing records of any shape)
 * through grouping, statistics, scaling fits, comparisons and every report
 * format. */
#include <coren/bench.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_bench_collect *c = coren_bench_collect_new();
	const char *p = (const char *)data, *end = p + size, *nl;
	struct coren_error err = {0};
	struct coren_bench_cmp cmp;
	json_t *recs, *regs, *v, *r;
	FILE *out;
	size_t i;
	int f;

	if (!c)
		return 0;
	for (; p < end; p = nl + 1) {
		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			nl = end;
		v = json_loadb(p, (size_t)(nl - p), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (v)
			coren_bench_collect_add(c, v, &err);
		json_decref(v);
	}
	recs = coren_bench_collect_records(c, 0.95, NULL, &err);
	coren_bench_collect_free(c);
	if (!recs)
		return 0;
	coren_bench_add_scaling(recs);
	regs = json_array();
	/* each record against the first as its baseline */
	json_array_foreach(recs, i, r) {
		if (!i || coren_bench_compare(json_array_get(recs, 0), r, 0.1, 0.05,
					      &cmp, &err))
			continue;
		if (cmp.verdict > COREN_BENCH_INCONCLUSIVE || isnan(cmp.change))
			abort();
		/* unchanged only when the threshold was detectable; inconclusive
		 * only when it was not */
		if ((cmp.verdict == COREN_BENCH_UNCHANGED && !(cmp.detectable <= 0.1)) ||
		    (cmp.verdict == COREN_BENCH_INCONCLUSIVE && cmp.detectable <= 0.1))
			abort();
		coren_bench_annotate(r, &cmp, 0.1, &err);
		if (cmp.verdict == COREN_BENCH_REGRESSION)
			json_array_append_new(regs, coren_bench_regression_record(r, &cmp, 0.1));
	}
	coren_bench_relative(recs, &err);
	if ((out = fopen("/dev/null", "w"))) {
		for (f = COREN_BENCH_MARKDOWN; f <= COREN_BENCH_JSONL; f++)
			coren_bench_report(out, (enum coren_bench_format)f, recs, regs, &err);
		fclose(out);
	}
	json_decref(regs);
	json_decref(recs);
	return 0;
}
