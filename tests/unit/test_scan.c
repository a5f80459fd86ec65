#include "tap.h"
#include <coren/json.h>
#include <coren/record.h>
#include <stdlib.h>

/* scan_flat accepts line only if the full parser does, with the same
 * fields: returns 1 (accepted, agreeing), 0 (refused), -1 (disagreement). */
static int agree(const char *line)
{
	struct coren_field f[32];
	int n = coren_record_scan_flat(line, strlen(line), f, 32), i;
	json_t *v;

	if (n < 0)
		return 0;
	v = coren_json_parse(line, strlen(line), NULL);
	if (!v || !json_is_object(v) || json_object_size(v) != (size_t)n) {
		json_decref(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char key[256];
		json_t *x;

		snprintf(key, sizeof key, "%.*s", (int)f[i].klen, f[i].key);
		x = json_object_get(v, key);
		if (!x || (f[i].kind == 's' && (!json_is_string(x) || json_string_length(x) != f[i].vlen ||
						memcmp(json_string_value(x), f[i].val, f[i].vlen)))) {
			json_decref(v);
			return -1;
		}
	}
	json_decref(v);
	return 1;
}

int main(void)
{
	static const char *const accepted[] = {
		"{\"type\":\"cost\",\"name\":\"sort(1, 64, 64)\",\"flops\":0,\"mem_bytes\":18446744073709551615}",
		"  { \"a\" : 1 , \"b\":-2.5e-3,\"c\":true,\"d\":false,\"e\":null, \"f\":\"\" }  ",
		"{}",
		"{\"n\":-9223372036854775808,\"r\":1e308,\"u\":1e-400,\"z\":-0}",
	};
	static const char *const refused[] = {
		"{\"a\":{\"b\":1}}",		 /* nested: full path */
		"{\"a\":[1]}",
		"{\"a\":\"esc\\\"aped\"}",	 /* escapes: full path */
		"{\"a\":\"\xc3\xa9\"}",		 /* non-ASCII: full path */
		"{\"a\":1,\"a\":2}",		 /* duplicate key */
		"{\"a\":18446744073709551616}",	 /* too big for the full parser */
		"{\"a\":-9223372036854775809}",
		"{\"a\":1e400}",		 /* overflow */
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":-}",
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":1", "{\"a\":1}x",
		"{a:1}", "[1]", "", "   ", "{\"a\":\"x", "{\"a\":\"\t\"}", "{,}", "{\"a\":1 \"b\":2}",
	};
	struct coren_field f[4];
	uint64_t u;
	size_t i;
	int n;

	for (i = 0; i < sizeof accepted / sizeof *accepted; i++)
		is_int(agree(accepted[i]), 1, "accepted, as the full parser: %s", accepted[i]);
	for (i = 0; i < sizeof refused / sizeof *refused; i++)
		is_int(agree(refused[i]), 0, "refused: %s", refused[i]);

	n = coren_record_scan_flat(accepted[0], strlen(accepted[0]), f, 4);
	is_int(n, 4, "four fields");
	ok(coren_field_is(coren_field_find(f, n, "type"), "cost"), "type is cost");
	ok(coren_field_u64(coren_field_find(f, n, "mem_bytes"), &u) == 0 && u == UINT64_MAX, "u64 max");
	ok(coren_field_u64(coren_field_find(f, n, "name"), &u) == -1, "a string is not a u64");
	ok(coren_field_find(f, n, "nope") == NULL, "absent field");
	is_int(coren_record_scan_flat(accepted[1], strlen(accepted[1]), f, 4), -1, "more fields than room: refused");
	n = coren_record_scan_flat("{\"a\":-1,\"b\":1.0,\"c\":\"7\"}", 25, f, 4);
	ok(coren_field_u64(&f[0], &u) == -1 && coren_field_u64(&f[1], &u) == -1 &&
	   coren_field_u64(&f[2], &u) == -1, "negative, real and string are not u64");

	/* arrays of numbers, for msg payloads: coren_record_scan_vectors only */
	{
		static const char *const bad_arrays[] = {"{\"a\":[1,]}", "{\"a\":[[1]]}",
			"{\"a\":[\"x\"]}", "{\"a\":[1e400]}", "{\"a\":[1 2]}", "{\"a\":[01]}",
			"{\"a\":[1}"};
		const char *line = "{\"a\":[ 1, -2.5e3 ],\"b\":[]}";
		int bad = 0;

		n = coren_record_scan_vectors(line, strlen(line), f, 4);
		ok(n == 2 && f[0].kind == 'a' && f[0].vlen == 13 && !memcmp(f[0].val, "[ 1, -2.5e3 ]", 13) &&
		   f[1].kind == 'a' && f[1].vlen == 2, "vectors: arrays of numbers are fields, brackets included");
		is_int(coren_record_scan_flat(line, strlen(line), f, 4), -1, "scan_flat still refuses them");
		for (i = 0; i < sizeof bad_arrays / sizeof *bad_arrays; i++)
			bad += coren_record_scan_vectors(bad_arrays[i], strlen(bad_arrays[i]), f, 4) != -1;
		is_int(bad, 0, "vectors: malformed, nested, string or overflowing arrays refused");
	}

	/* any JSON value (coren_json_scan) and records with them
	 * (coren_record_scan_values, kind 'j'), for msg payloads */
	{
		static const char *const took[] = {
			"{\"i\":1,\"name\":\"x\"}", "[1,\"x\",{\"a\":[true,null]}]",
			"\"\\u00e9\\n\\\"\\/\"", "1.5e3", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}",
			"{ \"a\" : [ ] , \"b\" : { } }", "\"\xc3\xa9\"", "-0", "18446744073709551615",
		};
		static const char *const left[] = {
			"{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"c\":1,\"c\":2}}", "\"\\u0000\"",
			"\"\\ud800\"", "1e400", "18446744073709551616", "{\"\\u0061\":1}",
			"\"\xc3\"", "[1,]", "{\"a\":1,}", "tru", "{\"a\" 1}", "[1 2]", "\"a\tb\"",
			"[01]", "{\"a\":1", "",
		};
		char deep[200];
		const char *line = "{\"to\":\"e\",\"payload\":{\"i\":1, \"s\":[\"x\",2]},\"v\":[1,2]}";
		int bad = 0;

		for (i = 0; i < sizeof took / sizeof *took; i++)
			is_int((int)coren_json_scan(took[i], strlen(took[i])), (int)strlen(took[i]),
			       "json_scan takes %s", took[i]);
		for (i = 0; i < sizeof left / sizeof *left; i++)
			bad += coren_json_scan(left[i], strlen(left[i])) != 0;
		is_int(bad, 0, "json_scan leaves duplicates, \\u0000, surrogates, overflows, "
			       "escaped keys, bad UTF-8 and malformed text to the parser");
		is_int((int)coren_json_scan("{\"a\":1} x", 9), 7, "json_scan: the value's length");
		memset(deep, '[', 64);
		memset(deep + 64, ']', 64);
		is_int((int)coren_json_scan(deep, 128), 128, "json_scan: 64 deep");
		memset(deep, '[', 65);
		memset(deep + 65, ']', 65);
		is_int((int)coren_json_scan(deep, 130), 0, "json_scan: 65 deep left to the parser");
		n = coren_record_scan_values(line, strlen(line), f, 4);
		ok(n == 3 && f[1].kind == 'j' && f[1].vlen == 20 &&
		   !memcmp(f[1].val, "{\"i\":1, \"s\":[\"x\",2]}", 20) && f[2].kind == 'a',
		   "scan_values: an object is a field 'j', its text as written");
		is_int(coren_record_scan_vectors(line, strlen(line), f, 4), -1,
		       "scan_vectors still refuses it");
	}

	/* random mutations of nested values: the value scanner never takes
	 * what the parser refuses */
	{
		const char *seed = "{\"i\":1,\"name\":\"x\",\"o\":{\"a\":[1,2.5e1,\"s\\n\"],\"b\":null,\"c\":true}}";
		char line[128];
		uint64_t x = 1234567ULL;
		int k, bad = 0, took = 0;

		for (k = 0; k < 200000; k++) {
			size_t len = strlen(seed), j, got;
			int m;

			memcpy(line, seed, len + 1);
			for (m = 0; m < 3; m++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				j = x % len;
				line[j] = "\"{}[],:-+.eE0123456789 tfnu\\xA"[(x >> 20) % 31];
			}
			if (!(got = coren_json_scan(line, len)))
				continue;
			{
				json_t *v = coren_json_parse(line, got, NULL);

				if (!v && bad++ < 3)
					printf("#   disagreement on %.*s\n", (int)got, line);
				took += v != NULL;
				json_decref(v);
			}
		}
		is_int(bad, 0, "200k mutated values: json_scan never takes what the parser refuses");
		ok(took > 1000, "and it takes many of them (%d)", took);
	}

	/* random mutations of valid records: never a disagreement */
	{
		const char *seed = "{\"type\":\"cost\",\"name\":\"x y\",\"flops\":123,\"t\":-1.5e-3,\"b\":true,\"z\":null}";
		char line[128];
		uint64_t x = 88172645463325252ULL;
		int k, bad = 0, took = 0;

		for (k = 0; k < 200000; k++) {
			size_t len = strlen(seed), j;
			int m;

			memcpy(line, seed, len + 1);
			for (m = 0; m < 3; m++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				j = x % len;
				line[j] = "\"{}[],:-+.eE0123456789 tfnu\\xA"[(x >> 20) % 31];
			}
			switch (agree(line)) {
			case -1:
				if (bad++ < 3)
					printf("#   disagreement on %s\n", line);
				break;
			case 1:
				took++;
			}
		}
		is_int(bad, 0, "200k mutated records: the scanner never accepts what the parser refuses");
		ok(took > 1000, "and it accepts many of them (%d)", took);
	}
	return done_testing();
}
