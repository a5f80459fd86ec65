#include "tap.h"
#include <coren/json.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The serialization of v (flags), into a static buffer. */
static const char *dumped(const json_t *v, unsigned flags)
{
	static char out[4096];
	char *s = coren_json_dumps(v, flags);

	snprintf(out, sizeof out, "%s", s ? s : "(null)");
	free(s);
	return out;
}

static void real_is(double d, const char *want)
{
	json_t *v = json_real(d);

	is_str(dumped(v, 0), want, "real %s as Python writes it", want);
	json_decref(v);
}

/* parse then dump */
static const char *roundtrip(const char *text)
{
	struct coren_error e = {0};
	json_t *v = coren_json_parse(text, strlen(text), &e);
	static char out[4096];

	if (!v) {
		snprintf(out, sizeof out, "ERROR %s", e.msg);
		return out;
	}
	snprintf(out, sizeof out, "%s", dumped(v, 0));
	json_decref(v);
	return out;
}

/* coren_json_valid() against known texts, and against jansson on random
 * mutations of valid texts: what jansson parses is valid. */
static void test_valid(void)
{
	static const char *const good[] = {
		"null", "true", "false", "0", "-0", "1.5e-3", "-12E+7", "\"\"",
		"\"a\\u00e9\\n\\\"\"", "\"\xc3\xa9\"", "[]", "{}", " [1 , 2] ",
		"{\"a\":[{\"b\":null}],\"c\":{}}", "123456789012345678901234567890",
		"\"\\u0000\"", "\"\\ud800\"", "{\"$float\":\"nan\"}"};
	static const char *const bad[] = {
		"", " ", "nul", "tru", "01", "1.", ".5", "1e", "-", "+1", "NaN",
		"[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
		"[1", "{\"a\":1", "1 2", "null,\"point\":{\"x\":2}", "\"a",
		"\"\\x\"", "\"\\u12g4\"", "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"",
		"[1]]", "{}}"};
	char deep[2 * COREN_JSON_DEPTH_MAX + 8];
	int all = 1;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!coren_json_valid(good[i], strlen(good[i]))) {
			printf("# refused: %s\n", good[i]);
			all = 0;
		}
	ok(all, "valid JSON texts are valid");
	all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (coren_json_valid(bad[i], strlen(bad[i]))) {
			printf("# accepted: %s\n", bad[i]);
			all = 0;
		}
	ok(all, "invalid ones are not (a value with a key after it among them)");
	memset(deep, '[', COREN_JSON_DEPTH_MAX);
	memset(deep + COREN_JSON_DEPTH_MAX, ']', COREN_JSON_DEPTH_MAX);
	ok(coren_json_valid(deep, 2 * COREN_JSON_DEPTH_MAX), "%d levels are valid",
	   COREN_JSON_DEPTH_MAX);
	deep[0] = '[';
	memmove(deep + 1, deep, 2 * COREN_JSON_DEPTH_MAX);
	deep[2 * COREN_JSON_DEPTH_MAX + 1] = ']';
	is_int(coren_json_valid(deep, 2 * COREN_JSON_DEPTH_MAX + 2), -1,
	   "one more is too deep to tell");
	all = 1;
	srand(7);
	for (int i = 0; i < 200000; i++) {
		char t[64];
		const char *src = good[rand() % (sizeof good / sizeof *good)];
		size_t n = strlen(src);
		json_t *j;

		memcpy(t, src, n);
		for (int m = rand() % 3; m >= 0 && n; m--)
			t[rand() % n] = "[]{},:\"0-e. \\nu1"[rand() % 16];
		j = json_loadb(t, n, JSON_DECODE_ANY, NULL);
		if (j && !coren_json_valid(t, n)) {
			printf("# jansson parses, refused: %.*s\n", (int)n, t);
			all = 0;
		}
		json_decref(j);
	}
	ok(all, "whatever jansson parses of 200000 mutations is valid");
}

int main(void)
{
	struct coren_error e = {0};
	uint64_t u;
	double d;
	json_t *v;

	/* u64 values */
	v = coren_json_u64(UINT64_MAX);
	ok(json_is_object(v), "UINT64_MAX is boxed");
	ok(coren_json_get_u64(v, &u) == 0 && u == UINT64_MAX, "box reads back exactly");
	is_str(dumped(v, 0), "18446744073709551615", "box dumps as a bare integer");
	ok(coren_json_get_double(v, &d) == 0 && d == 18446744073709551615.0, "box reads as a double");
	json_decref(v);
	v = coren_json_u64((uint64_t)INT64_MAX);
	ok(json_is_integer(v), "INT64_MAX is a plain integer");
	json_decref(v);
	v = coren_json_u64((uint64_t)INT64_MAX + 1);
	is_str(dumped(v, 0), "9223372036854775808", "INT64_MAX+1 dumps exactly");
	json_decref(v);
	v = json_integer(-1);
	ok(coren_json_get_u64(v, &u) == -1, "negative is not u64");
	json_decref(v);
	v = json_real(1.0);
	ok(coren_json_get_u64(v, &u) == -1, "real is not u64");
	json_decref(v);
	v = json_pack("{s:s}", "$u64", "5");
	ok(coren_json_get_u64(v, &u) == -1, "a small value in a box is not a box");
	is_str(dumped(v, 0), "{\"$u64\":\"5\"}", "a non-box $u64 object dumps as an object");
	json_decref(v);

	/* parsing */
	is_str(roundtrip("{\"w\":18446744073709551615,\"s\":\"18446744073709551615\"}"),
	       "{\"w\":18446744073709551615,\"s\":\"18446744073709551615\"}",
	       "big integer parses exactly, a string of digits stays a string");
	is_str(roundtrip("[9223372036854775807,9223372036854775808,-9223372036854775808]"),
	       "[9223372036854775807,9223372036854775808,-9223372036854775808]",
	       "integers at the int64/uint64 edges");
	is_str(roundtrip("[18446744073709551616,-9223372036854775809,-123456789012345678901234567890]"),
	       "[18446744073709551616,-9223372036854775809,-123456789012345678901234567890]",
	       "integers beyond int64 and uint64 round trip exactly");
	v = coren_json_parse("18446744073709551616", 20, &e);
	is_str(json_string_value(json_object_get(v, COREN_JSON_INT_KEY)), "18446744073709551616",
	       "2^64 is held in a $int box");
	ok(coren_json_get_u64(v, &u) == -1, "a $int box is not a u64");
	json_decref(v);
	{
		static char big[4400];
		memset(big, '7', 4301);
		big[4301] = '\0';
		v = coren_json_parse(big, 4300, &e);
		ok(v && json_is_object(v), "4300 digits parse");
		json_decref(v);
		v = coren_json_parse(big, 4301, &e);
		ok(!v && e.code == COREN_ERR_RECORD && strstr(e.msg, "has more than 4300 digits"),
		   "4301 digits are refused");
	}
	is_str(roundtrip("[1e999]"), "ERROR value 1e999 is not a finite double", "real overflow named");
	is_str(roundtrip("[1e999,tru]"), "ERROR invalid JSON at column 6: invalid token near 'tru'",
	       "a syntax error wins over an overflow (columns count the placeholder 0)");
	is_str(roundtrip("[NaN]"), "ERROR invalid JSON at column 4: invalid token near 'NaN'",
	       "records refuse NaN");
	v = coren_json_parse_value("[NaN,Infinity,-Infinity,\"NaN\",1.5]", strlen("[NaN,Infinity,-Infinity,\"NaN\",1.5]"), &e);
	is_str(dumped(v, 0), "[{\"$float\":\"nan\"},{\"$float\":\"inf\"},{\"$float\":\"-inf\"},\"NaN\",1.5]",
	       "function values: Python's NaN and infinities as float boxes");
	json_decref(v);
	v = coren_json_parse_value("{\"$float\":\"inf\"}", strlen("{\"$float\":\"inf\"}"), &e);
	ok(v != NULL, "a float box reads as itself");
	json_decref(v);
	v = coren_json_float(-INFINITY);
	is_str(dumped(v, 0), "{\"$float\":\"-inf\"}", "coren_json_float boxes -inf");
	json_decref(v);
	v = coren_json_parse_value("{\"a\":[{\"$u64\":\"5\"}]}", strlen("{\"a\":[{\"$u64\":\"5\"}]}"), &e);
	ok(!v && e.code == COREN_ERR_RECORD, "a u64 box of a small value is refused");
	is_str(e.msg, "value {\"$u64\":\"5\"} is not a valid '$u64' box", "the bad box is named");
	v = coren_json_parse_value("{\"$float\":\"NaN\"}", strlen("{\"$float\":\"NaN\"}"), &e);
	ok(!v && e.code == COREN_ERR_RECORD, "a float box with another spelling is refused");
	v = coren_json_parse_value("{\"$int\":\"12\"}", strlen("{\"$int\":\"12\"}"), &e);
	ok(!v && e.code == COREN_ERR_RECORD, "a $int box of an int64 value is refused");
	v = coren_json_parse_value("{\"$u64\":\"5\",\"b\":1}", strlen("{\"$u64\":\"5\",\"b\":1}"), &e);
	ok(v != NULL, "an object with a reserved key and others is an ordinary object");
	json_decref(v);
	{
		struct coren_buf b;
		coren_buf_init(&b, 0);
		is_int(coren_json_dump_string("a\xff" "b", 3, &b), COREN_ERR_JSON, "invalid UTF-8 refused");
		b.len = 0;
		is_int(coren_json_dump_string("\xed\xa0\x80", 3, &b), COREN_ERR_JSON, "a surrogate refused");
		b.len = 0;
		is_int(coren_json_dump_string("\xc0\xaf", 2, &b), COREN_ERR_JSON, "an overlong form refused");
		b.len = 0;
		is_int(coren_json_dump_string("\xc3\xa9\xf0\x9f\x98\x80\"", 7, &b), COREN_OK, "UTF-8 passes");
		is_str(b.data, "\"\xc3\xa9\xf0\x9f\x98\x80\\\"\"", "as is, quote escaped");
		coren_buf_release(&b);
		ok(!coren_json_utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF is not UTF-8");
	}
	is_str(roundtrip("{\"a\":1,\"a\":2}"),
	       "ERROR invalid JSON at column 10: duplicate object key near '\"a\"'",
	       "duplicate keys are rejected");
	is_str(roundtrip("{\"a\":tru}"), "ERROR invalid JSON at column 8: invalid token near 'tru'",
	       "invalid token names its column");
	is_str(roundtrip("\"x\\\"9223372036854775808\\\"\""), "\"x\\\"9223372036854775808\\\"\"",
	       "digits in strings with escaped quotes are not touched");
	v = coren_json_parse("{\"a\"", 4, &e);
	ok(!v && e.code == COREN_ERR_JSON, "truncated input is a JSON error");
	is_str(roundtrip("{\"z\":1,\"a\":2,\"m\":3}"), "{\"z\":1,\"a\":2,\"m\":3}",
	       "dump keeps insertion order");

	/* reals, as Python's repr */
	real_is(0.1, "0.1");
	real_is(1.0, "1.0");
	real_is(-0.0, "-0.0");
	real_is(1e16, "1e+16");
	real_is(1e15, "1000000000000000.0");
	real_is(123456789012345678.0, "1.2345678901234568e+17");
	real_is(1e-5, "1e-05");
	real_is(0.0001, "0.0001");
	real_is(1.5e-7, "1.5e-07");
	real_is(1.0 / 3, "0.3333333333333333");
	real_is(1e300, "1e+300");
	real_is(5e-324, "5e-324");
	real_is(100.0, "100.0");
	real_is(12345.678, "12345.678");

	/* random doubles: every output reads back exactly, with as few
	 * significant digits as the shortest %.*e that round-trips */
	{
		uint64_t x = 0x9e3779b97f4a7c15ULL;
		int i, bad_trip = 0, bad_len = 0;

		for (i = 0; i < 300000; i++) {
			double r;
			char sci[40];
			const char *out, *p;
			int p_min, sig = 0, leading = 1;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (i % 3 == 2) { /* computed-looking values, 1e-4 .. 2^53 */
				r = exp((double)(x % 1000000007ULL) / 1000000007.0 * 45.9 - 9.2);
				if (x & 1)
					r = -r;
			} else if (i % 3) {
				memcpy(&r, &x, sizeof r);
				if (!isfinite(r))
					continue;
			} else { /* decimal-looking values, the common case */
				static const double scale[] = {1, 10, 100, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18};
				r = (double)(x % 100000000000ULL) / scale[(x >> 40) % 9];
			}
			v = json_real(r);
			out = dumped(v, 0);
			json_decref(v);
			if (strtod(out, NULL) != r) {
				if (bad_trip++ < 3)
					printf("#   %s does not read back to %.17g\n", out, r);
				continue;
			}
			for (p_min = 0; p_min < 17; p_min++) {
				snprintf(sci, sizeof sci, "%.*e", p_min, r);
				if (strtod(sci, NULL) == r)
					break;
			}
			/* the significant digits must be those of %.*e: the
			 * closest among the shortest */
			{
				char want[24], got[24];
				int nw = 0, ng = 0;

				for (p = sci; *p && *p != 'e'; p++)
					if (*p >= '0' && *p <= '9')
						want[nw++] = *p;
				while (nw > 1 && want[nw - 1] == '0')
					nw--;
				want[nw] = '\0';
				for (p = out; *p && *p != 'e'; p++) {
					if (*p < '0' || *p > '9' || (leading && *p == '0'))
						continue;
					leading = 0;
					got[ng++] = *p;
				}
				while (ng > 1 && got[ng - 1] == '0')
					ng--;
				got[ng] = '\0';
				sig = strcmp(got, want) ? -1 : p_min + 1;
			}
			if (r != 0 && sig != p_min + 1 && bad_len++ < 3)
				printf("#   %s: not the digits of %s (%.17g)\n", out, sci, r);
		}
		is_int(bad_trip, 0, "300k random doubles read back exactly");
		is_int(bad_len, 0, "with the fewest significant digits, the closest such");
	}

	/* canonical JSON */
	v = json_pack("{s:s, s:[i, f, n, b]}", "b", "\xc3\xa9\"\\\n\x01\x7f/", "a", 1, 2.0, 1);
	{
		struct coren_buf b;
		coren_buf_init(&b, 0);
		coren_json_canonical(v, &b);
		is_str(b.data, "{\"a\":[1,2.0,null,true],\"b\":\"\xc3\xa9\\\"\\\\\\n\\u0001\x7f/\"}",
		       "canonical equals Python's json.dumps(sort_keys, compact, ensure_ascii=False)");
		coren_buf_release(&b);
	}
	json_decref(v);
	{
		json_t *one = json_pack("{s:i}", "x", 1), *str = json_pack("{s:s}", "x", "1"),
		       *real = json_pack("{s:f}", "x", 1.0);
		char h1[65], h2[65], h3[65];
		coren_json_sha256(one, h1);
		coren_json_sha256(str, h2);
		coren_json_sha256(real, h3);
		ok(strcmp(h1, h2) && strcmp(h1, h3) && strcmp(h2, h3),
		   "1, \"1\" and 1.0 hash differently");
		json_decref(one);
		json_decref(str);
		json_decref(real);
	}
	{
		json_t *a = json_loads("{\"k\":{\"y\":1,\"x\":[{\"b\":1,\"a\":2}]},\"\xc3\xa9\":0,\"e\":0}", 0, NULL);
		is_str(dumped(a, COREN_JSON_SORT_KEYS),
		       "{\"e\":0,\"k\":{\"x\":[{\"a\":2,\"b\":1}],\"y\":1},\"\xc3\xa9\":0}",
		       "keys sorted at every depth, by code point");
		json_decref(a);
	}
	test_valid();
	return done_testing();
}
