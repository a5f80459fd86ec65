/* test_rkpolicy - the dispatcher (modes, thresholds, adaptive learning),
 * the resource guard and the hot-path hints (LRU, persistence). */
#include "config.h"

#include "tap.h"

#include <coren/rkpolicy.h>
#include <stdlib.h>
#include <unistd.h>

static void dispatcher(void)
{
	struct coren_dispatcher d;
	struct coren_dispatch_stats st;

	coren_dispatch_init(&d, COREN_DISPATCH_HYBRID, 0, true);
	is_u64(coren_dispatch_threshold(&d), 10000, "default threshold 10000");
	is_int(coren_dispatch_choose(&d, 9999), COREN_TARGET_CPU, "hybrid: 9999 on CPU");
	is_int(coren_dispatch_choose(&d, 10000), COREN_TARGET_GPU, "hybrid: 10000 on GPU");
	coren_dispatch_get_stats(&d, &st);
	ok(st.cpu == 1 && st.gpu == 1 && st.gpu_items == 10000, "decisions counted");
	coren_dispatch_release(&d);

	coren_dispatch_init(&d, COREN_DISPATCH_HYBRID, 0, false);
	is_int(coren_dispatch_choose(&d, 1000000), COREN_TARGET_CPU, "no GPU: CPU always");
	coren_dispatch_release(&d);
	coren_dispatch_init(&d, COREN_DISPATCH_GPU_ONLY, 0, true);
	is_int(coren_dispatch_choose(&d, 1), COREN_TARGET_GPU, "gpu-only");
	coren_dispatch_release(&d);
	coren_dispatch_init(&d, COREN_DISPATCH_CPU_ONLY, 0, true);
	is_int(coren_dispatch_choose(&d, 1u << 30), COREN_TARGET_CPU, "cpu-only");
	coren_dispatch_release(&d);

	/* CPU 10 ns/item; GPU 50 us + 1 ns/item: they cross at 5555.6 */
	coren_dispatch_init(&d, COREN_DISPATCH_ADAPTIVE, 0, true);
	for (uint64_t n = 1000; n <= 64000; n *= 2) {
		coren_dispatch_record(&d, COREN_TARGET_CPU, n, 10.0 * (double)n);
		coren_dispatch_record(&d, COREN_TARGET_GPU, n, 50000.0 + (double)n);
	}
	is_u64(coren_dispatch_threshold(&d), 5556, "adaptive: learns the crossover 5556");
	is_int(coren_dispatch_choose(&d, 5000), COREN_TARGET_CPU, "adaptive: 5000 on CPU");
	is_int(coren_dispatch_choose(&d, 6000), COREN_TARGET_GPU, "adaptive: 6000 on GPU");
	coren_dispatch_release(&d);

	coren_dispatch_init(&d, COREN_DISPATCH_ADAPTIVE, 0, true);
	for (uint64_t n = 1000; n <= 64000; n *= 2) {
		coren_dispatch_record(&d, COREN_TARGET_CPU, n, 1.0 * (double)n);
		coren_dispatch_record(&d, COREN_TARGET_GPU, n, 1e9 + 0.5 * (double)n);
	}
	is_u64(coren_dispatch_threshold(&d), 1000000, "adaptive: clamped at 1000000");
	coren_dispatch_release(&d);
	coren_dispatch_init(&d, COREN_DISPATCH_ADAPTIVE, 0, true);
	for (uint64_t n = 1000; n <= 64000; n *= 2) {
		coren_dispatch_record(&d, COREN_TARGET_CPU, n, 100.0 * (double)n);
		coren_dispatch_record(&d, COREN_TARGET_GPU, n, 10.0 + (double)n);
	}
	is_u64(coren_dispatch_threshold(&d), 1000, "adaptive: clamped at 1000");
	coren_dispatch_release(&d);
	coren_dispatch_init(&d, COREN_DISPATCH_ADAPTIVE, 0, true);
	coren_dispatch_record(&d, COREN_TARGET_CPU, 10, 100);
	is_u64(coren_dispatch_threshold(&d), 10000, "adaptive: no change before enough samples");
	coren_dispatch_release(&d);
	is_int(coren_dispatch_mode_parse("adaptive"), COREN_DISPATCH_ADAPTIVE, "mode parse");
	is_int(coren_dispatch_mode_parse("fast"), -1, "unknown mode");
}

static void guard(void)
{
	struct coren_guard g;
	struct coren_error err = {0};

	coren_guard_init(&g, 10000, 0.1);
	is_u64(coren_guard_usable(&g), 9000, "limit 10000, margin 0.1: 9000 usable");
	ok(!coren_guard_reserve(&g, 5000, &err), "5000 fits");
	is_int(coren_guard_reserve(&g, 5000, &err), COREN_ERR_LIMIT, "a second 5000 does not");
	ok(strstr(err.msg, "5000") && strstr(err.msg, "9000"), "message: %s", err.msg);
	is_u64(coren_guard_max_elements(&g, 8), 500, "500 elements of 8 bytes still fit");
	ok(!coren_guard_validate(&g, 4000, NULL), "an estimate of 4000 would fit");
	is_int(coren_guard_validate(&g, 4001, NULL), COREN_ERR_LIMIT, "4001 would not");
	coren_guard_commit(&g, 5000);
	coren_guard_free(&g, 5000, true);
	ok(!coren_guard_reserve(&g, 5000, &err), "fits again after release");
	coren_guard_free(&g, 5000, false);
	coren_guard_release(&g);
	coren_guard_init(&g, 0, -1);
	ok(g.limit > 0 && g.margin == 0.1, "default: 80%% of RAM, margin 0.1");
	is_u64(g.limit, (uint64_t)((double)coren_guard_ram() * 0.8), "80%% of RAM");
	coren_guard_release(&g);
	coren_guard_init_unguarded(&g);
	ok(!coren_guard_reserve(&g, UINT64_MAX / 2, NULL), "unguarded allows anything");
	coren_guard_release(&g);
}

static void hints(void)
{
	struct coren_hints h, h2;
	struct coren_error err = {0};
	char path[] = "/tmp/test_hints.XXXXXX";
	const struct coren_hint *e;
	FILE *f;
	int fd;

	coren_hints_init(&h, 3, 0);
	coren_hints_record(&h, "a", 50000, 10);
	coren_hints_record(&h, "a", 250000, 10);
	coren_hints_record(&h, "b", 1000, 1);
	coren_hints_record(&h, "c", 1000, 1);
	e = coren_hints_get(&h, "a");
	ok(e && e->count == 2 && e->mean_ns == 150000 && e->max_ns == 250000 && e->bytes == 20,
	   "count, mean, max and bytes");
	ok(coren_hints_is_hot(&h, "a"), "mean 150 us is hot");
	ok(!coren_hints_is_hot(&h, "b"), "mean 1 us is not");
	coren_hints_record(&h, "b", 1000, 1); /* b used: a is now the least recent */
	coren_hints_record(&h, "d", 1000, 1);
	ok(!coren_hints_get(&h, "a"), "the least recently used is evicted");
	ok(coren_hints_get(&h, "b") && coren_hints_get(&h, "c") && coren_hints_get(&h, "d"),
	   "the others stay");
	is_u64(h.evictions, 1, "one eviction");

	fd = mkstemp(path);
	close(fd);
	ok(!coren_hints_save(&h, path, &err), "saved");
	coren_hints_init(&h2, 0, 0);
	coren_hints_record(&h2, "b", 3000, 2);
	ok(!coren_hints_load(&h2, path, &err), "reloaded");
	e = coren_hints_get(&h2, "b");
	ok(e && e->count == 3 && e->mean_ns == (2000.0 + 3000.0) / 3 && e->bytes == 4,
	   "a reloaded region merges with what is there");
	ok(coren_hints_get(&h2, "d") != NULL, "every region comes back");
	coren_hints_release(&h2);

	f = fopen(path, "w");
	fputs("{\"type\":\"hint\",\"region\":\"x\",\"count\":1,\"mean_ns\":1,\"max_ns\":1,\"bytes\":0}\n"
	      "{\"type\":\"hint\",\"region\":\"y\"}\n", f);
	fclose(f);
	coren_hints_init(&h2, 0, 0);
	is_int(coren_hints_load(&h2, path, &err), COREN_ERR_RECORD, "a bad hint line");
	ok(strstr(err.where, ":2") != NULL, "at its line: %s", err.where);
	coren_hints_release(&h2);
	unlink(path);
	coren_hints_init(&h2, 0, 0);
	ok(!coren_hints_load(&h2, "/nonexistent/hints.jsonl", NULL), "a missing file is no error");
	coren_hints_release(&h2);
	coren_hints_release(&h);
}

int main(void)
{
	dispatcher();
	guard();
	hints();
	return done_testing();
}
