#include "tap.h"
#include <coren/cost.h>
#include <coren/json.h>
#include <stdlib.h>

#define MAX UINT64_MAX

static void cost_is(struct coren_cost c, uint64_t w, uint64_t q, uint64_t m,
		    uint64_t r, const char *what)
{
	if (!ok(c.flops == w && c.mem_bytes == q && c.peak_mem == m &&
		c.result_bytes == r, "%s", what))
		printf("#   got W=%" PRIu64 " Q=%" PRIu64 " M=%" PRIu64 " R=%" PRIu64
		       "\n#  want W=%" PRIu64 " Q=%" PRIu64 " M=%" PRIu64 " R=%" PRIu64 "\n",
		       c.flops, c.mem_bytes, c.peak_mem, c.result_bytes, w, q, m, r);
}

static void parses(const char *expr, uint64_t w, uint64_t q, uint64_t m, uint64_t r)
{
	struct coren_error e = {0};
	struct coren_cost c = {0};
	size_t col;

	if (coren_cost_parse(expr, &c, NULL, &col, &e))
		printf("#   error at column %zu: %s\n", col, e.msg);
	cost_is(c, w, q, m, r, expr);
}

static void fails(const char *expr, size_t want_col, const char *want_msg)
{
	struct coren_error e = {0};
	struct coren_cost c;
	size_t col = 0;

	is_int(coren_cost_parse(expr, &c, NULL, &col, &e), COREN_ERR_USAGE, "'%s' refused", expr);
	is_int((int)col, (int)want_col, "'%s': column", expr);
	is_str(e.msg, want_msg, "'%s': message", expr);
}

int main(void)
{
	struct coren_cost a, b;
	struct coren_error e = {0};
	char *name;
	size_t col;

	/* L(n) = ceil(log2 n) */
	is_u64(coren_cost_log2(0), 0, "L(0) = 0");
	is_u64(coren_cost_log2(1), 0, "L(1) = 0");
	is_u64(coren_cost_log2(2), 1, "L(2) = 1");
	is_u64(coren_cost_log2(3), 2, "L(3) = 2");
	is_u64(coren_cost_log2(1024), 10, "L(1024) = 10");
	is_u64(coren_cost_log2(1025), 11, "L(1025) = 11");
	is_u64(coren_cost_log2(1000000), 20, "L(1e6) = 20 (2^20 = 1048576)");
	is_u64(coren_cost_log2(MAX), 64, "L(2^64-1) = 64");

	/* constructors, worked by hand */
	cost_is(coren_cost_new(1, 2, 3, 4), 1, 2, 3, 4, "new");
	cost_is(coren_cost_scan(64000000, 10), 64000000, 64000010, 10, 10, "scan(64e6, 10)");
	/* sort(1e6, 64, 5): L = 20; W = 10*1e6*20; Q = 1e6*64*20; M = 2*1e6*64 */
	cost_is(coren_cost_sort(1000000, 64, 5), 200000000, 1280000000, 128000000, 5, "sort(1e6, 64, 5)");
	cost_is(coren_cost_sort(1, 8, 0), 0, 0, 16, 0, "sort of one element: L = 0");
	cost_is(coren_cost_hash(100), 800, 100, 256, 32, "hash(100)");
	/* matmul(2,3,4,7): W = 2*2*3*4 = 48; words = 2*4 + 4*3 + 2*3 = 26; Q = M = 208 */
	cost_is(coren_cost_matmul(2, 3, 4, 7), 48, 208, 208, 7, "matmul(2,3,4,7)");
	/* etl(1000, 100, 5, 50): W = 5000; Q = 100000 + 50; M = 100000 */
	cost_is(coren_cost_etl(1000, 100, 5, 50), 5000, 100050, 100000, 50, "etl(1000,100,5,50)");
	cost_is(coren_cost_copy(4096), 0, 8192, 0, 4096, "copy(4096)");

	/* combinators */
	a = coren_cost_new(10, 20, 30, 40);
	b = coren_cost_new(1, 2, 300, 4);
	cost_is(coren_cost_then(a, b), 11, 22, 300, 4, "then: W,Q sum, M max, R of b");
	cost_is(coren_cost_then(b, a), 11, 22, 300, 40, "then is not symmetric in R");
	cost_is(coren_cost_par(a, b), 10, 22, 330, 44, "par: W max, Q,M,R sum");
	cost_is(coren_cost_repeat(a, 3), 30, 60, 30, 120, "repeat 3: W,Q,R x3, M unchanged");
	cost_is(coren_cost_repeat(a, 0), 0, 0, 30, 0, "repeat 0");

	/* saturation at 2^64 - 1 */
	is_u64(coren_cost_add(MAX, 1), MAX, "add saturates");
	is_u64(coren_cost_add(MAX - 1, 1), MAX, "add reaches max exactly");
	is_u64(coren_cost_mul(1ULL << 32, 1ULL << 32), MAX, "mul saturates");
	is_u64(coren_cost_mul(0, MAX), 0, "0 * max = 0");
	cost_is(coren_cost_sort(MAX, MAX, 0), MAX, MAX, MAX, 0, "sort(max, max) saturates every field");
	cost_is(coren_cost_repeat(coren_cost_new(MAX / 2 + 1, 1, 5, 0), 2), MAX, 2, 5, 0, "repeat saturates W");
	cost_is(coren_cost_then(coren_cost_new(MAX, MAX, 0, 0), coren_cost_new(5, 5, 0, 0)), MAX, MAX, 0, 0, "then saturates");
	/* matmul(2^22, 2^22, 2^22): W = 2^67 saturates; words = 3*2^44, Q = 8*3*2^44 fits */
	cost_is(coren_cost_matmul(1ULL << 22, 1ULL << 22, 1ULL << 22, 0), MAX,
		24ULL << 44, 24ULL << 44, 0, "matmul saturates W only");

	/* expressions */
	/* scan(64e6,0) then sort(1e6,64,0) then hash(64e6):
	 * W = 64e6 + 200e6 + 512e6; Q = 64e6 + 1.28e9 + 64e6; M = max(0, 128e6, 256); R = 32 */
	parses("scan(64e6,0) then sort(1e6,64,0) then hash(64e6)", 776000000, 1408000000, 128000000, 32);
	parses("scan(64e6,0) + sort(1e6,64,0) + hash(64e6)", 776000000, 1408000000, 128000000, 32);
	parses("  hash( 1_000 )  ", 8000, 1000, 256, 32);
	parses("copy(64MB)", 0, 128000000, 0, 64000000);
	parses("copy(1GiB)", 0, 2ULL << 30, 0, 1ULL << 30);
	parses("copy(1.5KiB)", 0, 3072, 0, 1536);
	parses("copy(1.5e3)", 0, 3000, 0, 1500);
	parses("copy(2k)", 0, 4000, 0, 2000);
	parses("copy(1e+2)", 0, 200, 0, 100);
	parses("copy(18446744073709551615)", 0, MAX, 0, MAX);
	/* precedence: repeat > par > then */
	parses("new(1,1,1,1) then new(2,2,2,2) par new(3,3,3,3) repeat 2", 1 + 6, 1 + 2 + 6, 5, 2 + 6);
	parses("(new(1,1,1,1) then new(2,2,2,2)) repeat 2", 6, 6, 2, 4);
	parses("new(1,2,3,4) par new(5,6,7,8) par new(9,1,1,1)", 9, 9, 11, 13);
	parses("((((hash(1)))))", 8, 1, 256, 32);

	is_int(coren_cost_parse("sort 1M = sort(1e6,64,0)", &a, &name, &col, &e), COREN_OK, "named expression");
	is_str(name, "sort 1M", "name before '='");
	free(name);
	is_int(coren_cost_parse("hash(1)", &a, &name, &col, &e), COREN_OK, "unnamed expression");
	ok(name == NULL, "no name");

	fails("", 1, "empty expression");
	fails("   ", 4, "empty expression");
	fails("sortt(1,2,3)", 1, "unknown function 'sortt' (known: new, scan, sort, hash, matmul, etl, copy)");
	fails("sort(1,2)", 1, "'sort' takes 3 arguments (n, b, R)");
	fails("hash(1,2)", 1, "'hash' takes 1 argument (nb)");
	fails("hash(1", 7, "expected ')' at the end");
	fails("hash 1", 6, "expected '(' after 'hash'");
	fails("hash(1.5)", 6, "'1.5' is not an integer");
	fails("hash(1.5e-4k)", 6, "'1.5e-4k' is not an integer");
	parses("hash(1.5e-1k)", 1200, 150, 256, 32);
	fails("hash(x)", 6, "expected a number, got 'x'");
	fails("hash(64XB)", 8, "unknown unit 'XB'");
	fails("hash(18446744073709551616)", 6, "'18446744073709551616' is too large (the largest is 18446744073709551615)");
	fails("hash(1e20)", 6, "'1e20' is too large (the largest is 18446744073709551615)");
	fails("hash(1__0)", 7, "misplaced '_' in a number");
	fails("hash(1.2.3)", 9, "two decimal points in a number");
	fails("hash(1) then", 13, "expected a function or '(' at the end");
	fails("hash(1) hash(2)", 9, "unexpected 'hash' after the expression");
	fails("(hash(1)", 9, "expected ')' to close the '(' at column 1, at the end");
	fails("hash(1) repeat x", 16, "expected a number, got 'x'");
	fails("hash(1) par * 2", 13, "expected a function or '(', got '*'");
	fails("= hash(1)", 1, "empty name before '='");
	{
		char deep[1000];
		int i;
		for (i = 0; i < 300; i++) deep[i] = '(';
		strcpy(deep + 300, "hash(1)");
		ok(coren_cost_parse(deep, &a, NULL, &col, &e) == COREN_ERR_USAGE &&
		   strstr(e.msg, "nested deeper than"), "deep nesting refused");
	}

	/* records */
	{
		json_t *rec = coren_cost_to_record(&(struct coren_cost){MAX, 2, 3, 4}, "x");
		char *s = coren_json_dumps(rec, 0);
		is_str(s, "{\"type\":\"cost\",\"name\":\"x\",\"flops\":18446744073709551615,\"mem_bytes\":2,\"peak_mem\":3,\"result_bytes\":4}",
		       "cost record, exact u64");
		ok(coren_cost_from_json(rec, &a, &e) == COREN_OK && a.flops == MAX && a.result_bytes == 4, "record reads back");
		free(s);
		json_object_set_new(rec, "peak_mem", json_real(3.0));
		is_int(coren_cost_from_json(rec, &a, &e), COREN_ERR_RECORD, "a float field is refused");
		is_str(e.msg, "field 'peak_mem' is not an unsigned integer", "float field message");
		json_object_del(rec, "peak_mem");
		is_int(coren_cost_from_json(rec, &a, &e), COREN_ERR_RECORD, "a missing field is refused");
		is_str(e.msg, "missing field 'peak_mem'", "missing field message");
		json_decref(rec);
	}
	return done_testing();
}
