/* test_memo - the planner: bins, product, ids, canonical JSON of values. */
#include "config.h"

#include "tap.h"

#include <coren/hash.h>
#include <coren/json.h>
#include <coren/memo.h>
#include <stdlib.h>
#include <string.h>

static struct coren_memo_plan *plan_of(struct coren_memo_exp *e,
				       const char *const *splits,
				       const char *const *bins)
{
	struct coren_error err = {0};
	struct coren_memo_plan *p = NULL;

	coren_memo_exp_init(e);
	for (; *splits; splits++)
		if (coren_memo_exp_split(e, *splits, &err))
			return NULL;
	for (; *bins; bins++)
		if (coren_memo_exp_memo_chunk(e, *bins, &err))
			return NULL;
	e->fn_id = strdup("f");
	if (coren_memo_exp_finish(e, &err) ||
	    coren_memo_exp_identify(e, NULL, &err) ||
	    coren_memo_plan_new(e, &p, &err))
		return NULL;
	return p;
}

/* The id computed here, independently: SHA-256 of the text we expect. */
static void expect_id(const char *text, char hex[65])
{
	coren_sha256_hex(text, strlen(text), hex);
}

static void test_example(void)
{
	static const char *const splits[] = {"strat=aaa,bb", "s=1,2,3,4", NULL};
	static const char *const bins[] = {"strat=1", "s=3", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, splits, bins);
	size_t b[2], v[2];
	char id[65], want[65];
	json_t *key;
	char *text;

	ok(p != NULL, "the issue's example plans");
	if (!p)
		return;
	is_u64(coren_memo_plan_chunks(p), 4, "2 x 2 memo chunks");
	is_u64(coren_memo_plan_points(p), 8, "8 points");
	is_str(coren_memo_plan_axis_name(p, 0), "s", "axes sorted by name: s");
	/* chunk order: last axis (strat) fastest */
	coren_memo_plan_chunk_bins(p, 1, b);
	ok(b[0] == 0 && b[1] == 1, "chunk 1 is s bin 0, strat bin 1");
	coren_memo_plan_chunk_bins(p, 2, b);
	ok(b[0] == 1 && b[1] == 0, "chunk 2 is s bin 1 (the short one)");
	is_u64(coren_memo_plan_chunk_points(p, b), 1, "the short bin has 1 point");
	coren_memo_plan_chunk_bins(p, 0, b);
	is_u64(coren_memo_plan_chunk_points(p, b), 3, "a full bin has 3");
	coren_memo_plan_point(p, b, 2, v);
	ok(v[0] == 2 && v[1] == 0, "point 2 of chunk 0 is s=3, strat=aaa");
	key = coren_memo_plan_chunk_key(p, b, NULL);
	text = json_dumps(key, JSON_COMPACT);
	is_str(text, "[[\"s\",[1,2,3]],[\"strat\",[\"aaa\"]]]", "chunk key");
	free(text);
	json_decref(key);
	coren_memo_plan_chunk_id(p, b, NULL, id);
	expect_id("{\"chunk_key\":[[\"s\",[1,2,3]],[\"strat\",[\"aaa\"]]],"
		  "\"fn\":{\"fn_id\":\"f\"},\"params\":{},\"version\":\"v1\"}",
		  want);
	is_str(id, want,
	       "id = sha256 of canonical {chunk_key, fn, params, version}");
	{
		size_t lens[2] = {1, 1};

		coren_memo_plan_chunk_id(p, b, lens, id);
		expect_id("{\"chunk_key\":[[\"s\",[1]],[\"strat\",[\"aaa\"]]],"
			  "\"fn\":{\"fn_id\":\"f\"},\"params\":{},"
			  "\"version\":\"v1\"}",
			  want);
		is_str(id, want, "id of a shorter prefix chunk");
	}
	{
		struct coren_buf t;

		coren_buf_init(&t, 0);
		coren_memo_plan_point(p, b, 1, v);
		coren_memo_plan_point_text(p, v, &t);
		is_str(t.data, "{\"s\":2,\"strat\":\"aaa\"}", "point text");
		coren_buf_release(&t);
		/* its 21 bytes reserved at once: a cap one byte short refuses
		 * it whole, and room that ends just after it is not overrun
		 * (the sanitizer build checks that) */
		coren_buf_init(&t, 20);
		ok(coren_memo_plan_point_text(p, v, &t) == COREN_ERR_TOOLONG &&
		       t.len == 0,
		   "a point text one byte over the cap is refused whole");
		coren_buf_release(&t);
		coren_buf_init(&t, 21);
		ok(!coren_memo_plan_point_text(p, v, &t) && t.len == 21,
		   "a point text that fits the cap exactly is written");
		coren_buf_release(&t);
		coren_buf_init(&t, 0);
		coren_buf_append(
		    &t, "0123456789012345678901234567890123456789012", 43);
		ok(!coren_memo_plan_point_text(p, v, &t) && t.len == 64 &&
		       !strcmp(t.data + 43, "{\"s\":2,\"strat\":\"aaa\"}"),
		   "a point text ending where the buffer's room ends");
		coren_buf_release(&t);
	}
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

static void test_values(void)
{
	static const char *const splits[] = {"x=1,\"1\",1.0,-0.0,1e400x,\"\\u00e9\",é,null,true", NULL};
	static const char *const bins[] = {"x=100", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, splits, bins);
	static const char *const want[] = {"1", "\"1\"", "1.0", "-0.0",
					   "\"1e400x\"", "\"é\"", "\"é\"",
					   "null", "true"};
	struct coren_buf t;

	ok(p != NULL, "values of every kind plan");
	if (!p)
		return;
	coren_buf_init(&t, 0);
	for (size_t i = 0; i < 9; i++) {
		t.len = 0;
		coren_memo_plan_value_text(p, 0, i, &t);
		ok(t.len == strlen(want[i]) && !memcmp(t.data, want[i], t.len),
		   "value %zu is %s", i, want[i]);
	}
	coren_buf_release(&t);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

/* Ranges are made on demand (range.c): a large one's texts are made when
 * asked, a small one's kept; both are the texts of the same list's. */
static void test_range_texts(void)
{
	static const char *const splits[] = {
	    "a=-35000..35000", "b=0..0.7..0.00001",
	    "c=18446744073709551613..18446744073709551615", "d=1..0..-0.25",
	    NULL};
	static const char *const bins[] = {"a=1", "b=1", "c=1", "d=1", NULL};
	static const struct {
		size_t axis, i;
		const char *want;
	} cases[] = {{0, 0, "-35000"},	  {0, 35000, "0"},
		     {0, 70000, "35000"}, {1, 0, "0.0"},
		     {1, 2, "2e-05"},	  {1, 30000, "0.3"},
		     {1, 70000, "0.7"},	  {2, 2, "18446744073709551615"},
		     {3, 1, "0.75"},	  {3, 4, "0.0"}};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, splits, bins);
	struct coren_buf t;

	ok(p != NULL, "ranges plan");
	if (!p)
		return;
	is_u64(coren_memo_plan_nvalues(p, 0), 70001,
	       "-35000..35000: 70001 values");
	is_u64(coren_memo_axis_nvalues(&e.axes[1]), 70001,
	       "0..0.7..0.00001: 70001 values");
	ok(e.axes[0].values == NULL && e.axes[0].range != NULL,
	   "a range is not listed");
	coren_buf_init(&t, 0);
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		t.len = 0;
		coren_memo_plan_value_text(p, cases[k].axis, cases[k].i, &t);
		ok(t.len == strlen(cases[k].want) &&
		       !memcmp(t.data, cases[k].want, t.len),
		   "axis %zu value %zu is %s", cases[k].axis, cases[k].i,
		   cases[k].want);
	}
	coren_buf_release(&t);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

static void test_numbers_vs_strings(void)
{
	static const char *const s1[] = {"x=1", NULL}, *const s2[] = {"x=\"1\"", NULL};
	static const char *const bins[] = {"x=1", NULL};
	struct coren_memo_exp e1, e2;
	struct coren_memo_plan *p1 = plan_of(&e1, s1, bins), *p2 = plan_of(&e2, s2, bins);
	size_t b = 0;
	char a[65], c[65];

	coren_memo_plan_chunk_id(p1, &b, NULL, a);
	coren_memo_plan_chunk_id(p2, &b, NULL, c);
	ok(strcmp(a, c) != 0, "1 and \"1\" are different chunks");
	coren_memo_plan_free(p1);
	coren_memo_plan_free(p2);
	coren_memo_exp_release(&e1);
	coren_memo_exp_release(&e2);
}

static void test_params_version(void)
{
	static const char *const splits[] = {"x=1,2", NULL};
	static const char *const bins[] = {"x=2", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p;
	struct coren_error err = {0};
	size_t b = 0;
	char id[65], want[65];

	coren_memo_exp_init(&e);
	coren_memo_exp_param(&e, "beta=0.1", &err);
	coren_memo_exp_param(&e, "alpha=x y", &err);
	free(e.version);
	e.version = strdup("v2");
	coren_memo_exp_split(&e, splits[0], &err);
	coren_memo_exp_memo_chunk(&e, bins[0], &err);
	e.fn_id = strdup("g");
	ok(!coren_memo_exp_finish(&e, &err) &&
		   !coren_memo_exp_identify(&e, NULL, &err) &&
		   !coren_memo_plan_new(&e, &p, &err),
	   "params and a version plan");
	coren_memo_plan_chunk_id(p, &b, NULL, id);
	expect_id("{\"chunk_key\":[[\"x\",[1,2]]],\"fn\":{\"fn_id\":\"g\"},"
		  "\"params\":{\"alpha\":\"x y\",\"beta\":0.1},"
		  "\"version\":\"v2\"}",
		  want);
	is_str(id, want, "params sorted, floats shortest, version in the id");
	coren_memo_plan_free(p);
	free(e.fn_id);
	e.fn_id = strdup("h");
	coren_memo_exp_identify(&e, NULL, &err);
	coren_memo_plan_new(&e, &p, &err);
	coren_memo_plan_chunk_id(p, &b, NULL, want);
	ok(strcmp(id, want) != 0, "another function, another id");
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

static void test_ranges_and_errors(void)
{
	struct coren_memo_exp e;
	struct coren_error err = {0};

	coren_memo_exp_init(&e);
	ok(!coren_memo_exp_split(&e, "n=0..9", &err), "an integer range");
	is_u64(coren_memo_axis_nvalues(&e.axes[0]), 10, "0..9 has 10 values");
	ok(!coren_memo_exp_split(&e, "t=0..1..0.25", &err), "a stepped range");
	is_u64(coren_memo_axis_nvalues(&e.axes[1]), 5,
	       "0..1..0.25 has 5 values");
	is_int(coren_memo_exp_split(&e, "z=5..1", &err), COREN_ERR_USAGE,
	       "an empty range is an error");
	is_int(coren_memo_exp_split(&e, "novalue", &err), COREN_ERR_USAGE,
	       "--split without = is an error");
	is_int(coren_memo_exp_memo_chunk(&e, "n=0", &err), COREN_ERR_USAGE,
	       "a memo chunk of 0 is an error");
	is_int(coren_memo_exp_finish(&e, &err), COREN_ERR_USAGE,
	       "an axis without a memo chunk size is an error");
	ok(strstr(err.msg, "no memo chunk size for axis") != NULL,
	   "... and says which: %s", err.msg);
	coren_memo_exp_release(&e);
}

/* Whether the values of axis spec (a range) are exactly the doubles of
 * the decimal texts want (strtod), all reals. */
static int range_is(const char *spec, const char *const *want)
{
	struct coren_memo_exp e;
	struct coren_error err = {0};
	size_t n = 0;
	int same;

	coren_memo_exp_init(&e);
	same = !coren_memo_exp_split(&e, spec, &err);
	while (same && want[n])
		n++;
	same = same && coren_memo_axis_nvalues(&e.axes[0]) == n;
	for (size_t i = 0; same && i < n; i++) {
		json_t *v = coren_memo_axis_value(&e.axes[0], i);

		same = json_is_real(v) &&
		       json_real_value(v) == strtod(want[i], NULL);
		json_decref(v);
	}
	coren_memo_exp_release(&e);
	return same;
}

static void test_decimal_ranges(void)
{
	static const char *const tenths[] = {"0.0", "0.1", "0.2", "0.3",
					     "0.4", "0.5", "0.6", "0.7",
					     "0.8", "0.9", "1.0", NULL};
	static const char *const three[] = {"0.1", "0.2", "0.3", NULL};
	static const char *const milli[] = {"0.001", "0.002", "0.003", NULL};
	static const char *const down[] = {"1",	   "0.75", "0.5",
					   "0.25", "0",	   NULL};
	static const char *const big[] = {"-1e308", "0", "1e308", NULL};
	static const char *const ints[] = {"1", "2", "3", NULL};
	struct coren_memo_exp e;
	struct coren_error err = {0};

	ok(range_is("a=0..1..0.1", tenths),
	   "0..1..0.1: the doubles of 0.0, 0.1, ..., 1.0 (0.3, not "
	   "0.30000000000000004)");
	ok(range_is("a=0.1..0.3..0.1", three), "0.1..0.3..0.1 has 3 values");
	ok(range_is("a=1e-3..3e-3..1e-3", milli),
	   "1e-3..3e-3..1e-3: decimal places from the exponent");
	ok(range_is("a=1..0..-0.25", down), "a negative step");
	ok(range_is("a=-1e308..1e308..1e308", big),
	   "-1e308..1e308..1e308: no overflow");
	ok(range_is("a=1.0..3", ints), "a real endpoint makes reals of all");
	coren_memo_exp_init(&e);
	ok(!coren_memo_exp_split(&e, "a=0..0.95..0.1", &err) &&
	       coren_memo_axis_nvalues(&e.axes[0]) == 10,
	   "an end that does not land exactly is not passed");
	ok(!coren_memo_exp_split(&e, "b=-1e308..1e308..1e307", &err) &&
	       coren_memo_axis_nvalues(&e.axes[1]) == 21,
	   "-1e308..1e308..1e307 has 21 values: %s", err.msg);
	is_int(coren_memo_exp_split(&e, "c=0..1..1e-7", &err), COREN_ERR_USAGE,
	       "10000001 values are too many");
	ok(strstr(err.msg, "more than 10000000 values") != NULL, "... %s",
	   err.msg);
	is_int(coren_memo_exp_split(&e, "c=-1e308..1e308..1e-308", &err),
	       COREN_ERR_USAGE, "a huge count is refused, not overflowed");
	is_int(coren_memo_exp_split(&e, "c=1..0..0.1", &err), COREN_ERR_USAGE,
	       "a step away from the end is an empty range");
	ok(!coren_memo_exp_split(&e, "c=0..1..0.1", &err) &&
	       coren_memo_axis_nvalues(&e.axes[2]) == 11,
	   "0..1..0.1 has 11 values (the end included)");
	coren_memo_exp_release(&e);
}

static void test_yaml(void)
{
	static const char good[] = "params: {alpha: 0.4}\n"
				   "split:\n  strat: [aaa, bb]\n  s: {from: 1, to: 4}\n"
				   "memo_chunk: {strat: 1, s: {size: 3}}\n"
				   "exec_chunk: 2\nversion: v7\n";
	static const char bad[] = "split:\n  s: [1]\nmemo_chunks: {s: 1}\n";
	struct coren_yaml_doc *doc;
	struct coren_memo_exp e;
	struct coren_error err = {0};

	coren_memo_exp_init(&e);
	coren_yaml_load_buffer(good, sizeof good - 1, "exp.yaml", &doc, &err);
	ok(!coren_memo_exp_load_yaml(&e, coren_yaml_root(doc), NULL, &err) &&
	       !coren_memo_exp_finish(&e, &err),
	   "a YAML experiment loads: %s", err.msg);
	is_u64(e.exec_chunk, 2, "exec_chunk");
	is_str(e.version, "v7", "version");
	is_u64(e.axes[0].bin, 3, "memo_chunk as {size: 3}");
	is_u64(coren_memo_axis_nvalues(&e.axes[0]), 4, "a {from, to} range");
	coren_yaml_free(doc);
	coren_memo_exp_release(&e);

	coren_memo_exp_init(&e);
	coren_yaml_load_buffer(bad, sizeof bad - 1, "exp.yaml", &doc, &err);
	is_int(coren_memo_exp_load_yaml(&e, coren_yaml_root(doc), NULL, &err),
	       COREN_ERR_CONFIG, "an unknown key is an error");
	is_str(err.where, "exp.yaml:3:1", "... at its position");
	coren_yaml_free(doc);
	coren_memo_exp_release(&e);
}

static void test_empty_and_axisless(void)
{
	static const char *const none[] = {NULL};
	static const char *const empty[] = {"x=", NULL};
	static const char *const bins[] = {"x=2", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, none, none);

	ok(p && coren_memo_plan_chunks(p) == 1 && coren_memo_plan_points(p) == 1,
	   "no axes: one chunk of one point");
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
	p = plan_of(&e, empty, bins);
	ok(p && coren_memo_plan_points(p) == 1,
	   "x= is one value, the empty string");
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

/* Without a cost function the weight is the points: 10 chunks of 4 and
 * one of 2 points on 3 tasks, dealt heaviest first to the lightest. */
static void test_shards(void)
{
	static const char *const splits[] = {"x=1..42", NULL};
	static const char *const bins[] = {"x=4", NULL};
	struct coren_memo_exp e;
	struct coren_memo_plan *p = plan_of(&e, splits, bins);
	struct coren_error err = {0};
	uint32_t *owner = NULL, *again = NULL;
	uint64_t load[3] = {0, 0, 0}, n;
	size_t bins_of[1];

	ok(p && !coren_memo_shard_assign(p, NULL, 3, &owner, &err),
	   "11 chunks on 3 tasks");
	if (!owner)
		return;
	n = coren_memo_plan_chunks(p);
	for (uint64_t c = 0; c < n; c++) {
		coren_memo_plan_chunk_bins(p, c, bins_of);
		load[owner[c]] += coren_memo_plan_chunk_points(p, bins_of);
	}
	/* 4,4,4 | 4,4,4 | 4,4,4 | 4 (the 4th round, to task 0) then 2 */
	is_int((long long)load[0], 16, "task 0: 4 chunks of 4");
	is_int((long long)load[1], 14, "task 1: 3 of 4 and the short one");
	is_int((long long)load[2], 12, "task 2: 3 of 4");
	is_int(owner[0], 0, "equal weights go in plan order");
	is_int(owner[10], 1, "the short last chunk goes to the lightest");
	ok(!coren_memo_shard_assign(p, NULL, 3, &again, &err) &&
		   !memcmp(owner, again, n * sizeof *owner),
	   "the same plan gives the same shares");
	free(again);
	free(owner);
	is_int(coren_memo_shard_assign(p, NULL, 0, &owner, &err),
	       COREN_ERR_USAGE, "0 tasks is an error");
	{
		bool each_own = !coren_memo_shard_assign(p, NULL, 100, &owner,
							 &err);

		for (uint64_t c = 0; each_own && c < n; c++)
			each_own = owner[c] == c;
		ok(each_own, "more tasks than chunks: one chunk each");
	}
	free(owner);
	coren_memo_plan_free(p);
	coren_memo_exp_release(&e);
}

int main(void)
{
	test_example();
	test_values();
	test_range_texts();
	test_numbers_vs_strings();
	test_params_version();
	test_ranges_and_errors();
	test_decimal_ranges();
	test_yaml();
	test_empty_and_axisless();
	test_shards();
	return done_testing();
}
