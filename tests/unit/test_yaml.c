#include "tap.h"
#include <coren/json.h>
#include <coren/yaml.h>
#include <stdlib.h>

static struct coren_yaml_doc *load(const char *text, struct coren_error *e)
{
	struct coren_yaml_doc *d = NULL;

	coren_error_clear(e);
	coren_yaml_load_buffer(text, strlen(text), "exp.yaml", &d, e);
	return d;
}

/* The JSON of a document, or "ERROR where: msg". */
static const char *as_json(const char *text)
{
	static char out[2048];
	struct coren_error e;
	struct coren_yaml_doc *d = load(text, &e);
	json_t *v;
	char *s;

	if (!d) {
		snprintf(out, sizeof out, "ERROR %s: %s", e.where, e.msg);
		return out;
	}
	v = coren_yaml_to_json(coren_yaml_root(d), &e);
	if (!v) {
		snprintf(out, sizeof out, "ERROR %s: %s", e.where, e.msg);
	} else {
		s = coren_json_dumps(v, COREN_JSON_SORT_KEYS);
		snprintf(out, sizeof out, "%s", s);
		free(s);
	}
	json_decref(v);
	coren_yaml_free(d);
	return out;
}

int main(void)
{
	static const char *const allowed[] = {"exec", "split", "memo_chunk", NULL};
	const struct coren_yaml_node *root, *n;
	struct coren_yaml_doc *d;
	struct coren_error e;
	uint64_t u;
	int64_t i;
	double x;
	bool b;
	const char *s;

	d = load("exec: noop\nsplit:\n  strat: [aaa, bb]\n  s: [1, 2, 3]\nmemo_chunk:\n  s: 3\n  strat: 1\n", &e);
	ok(d != NULL, "loads a mapping");
	root = coren_yaml_root(d);
	is_int(root->kind, COREN_YAML_MAPPING, "root is a mapping");
	is_int((int)root->n, 3, "three keys");
	n = coren_yaml_get(coren_yaml_get(root, "memo_chunk"), "s");
	ok(n && coren_yaml_get_u64(n, &u, &e) == COREN_OK && u == 3, "nested u64");
	is_int((int)n->line, 6, "line of a nested value");
	is_int((int)n->col, 6, "column of a nested value");
	is_int(coren_yaml_check_keys(root, allowed, &e), COREN_OK, "known keys pass");
	n = coren_yaml_get(coren_yaml_get(root, "split"), "strat");
	is_int(n->kind, COREN_YAML_SEQUENCE, "flow sequence");
	ok(coren_yaml_get_string(n->items[1], &s, &e) == COREN_OK && !strcmp(s, "bb"), "sequence item");
	is_int(coren_yaml_get_u64(n, &u, &e), COREN_ERR_CONFIG, "a sequence is not an integer");
	is_str(e.msg, "expected an unsigned integer, got a sequence", "kind in the message");
	is_str(e.where, "exp.yaml:3:10", "position of the sequence");
	ok(coren_yaml_get(root, "nope") == NULL, "absent key is NULL");
	coren_yaml_free(d);

	d = load("exec: noop\nmemo_chunks: {s: 3}\n", &e);
	is_int(coren_yaml_check_keys(coren_yaml_root(d), allowed, &e), COREN_ERR_CONFIG, "unknown key refused");
	is_str(e.msg, "unknown key 'memo_chunks'", "unknown key named");
	is_str(e.where, "exp.yaml:2:1", "unknown key position");
	coren_yaml_free(d);

	d = load("a: 1_000_000\nb: -12\nc: 1.5e3\nd: yes\ne: True\nf: abc\ng: 18446744073709551615\nh: 18446744073709551616\n", &e);
	root = coren_yaml_root(d);
	ok(coren_yaml_get_u64(coren_yaml_get(root, "a"), &u, &e) == COREN_OK && u == 1000000, "underscores in integers");
	is_int(coren_yaml_get_u64(coren_yaml_get(root, "b"), &u, &e), COREN_ERR_CONFIG, "negative is not unsigned");
	is_str(e.msg, "expected an unsigned integer, got '-12'", "negative message");
	is_str(e.where, "exp.yaml:2:4", "negative position");
	ok(coren_yaml_get_i64(coren_yaml_get(root, "b"), &i, &e) == COREN_OK && i == -12, "signed integer");
	ok(coren_yaml_get_double(coren_yaml_get(root, "c"), &x, &e) == COREN_OK && x == 1500, "float");
	is_int(coren_yaml_get_u64(coren_yaml_get(root, "c"), &u, &e), COREN_ERR_CONFIG, "float is not an integer");
	is_int(coren_yaml_get_bool(coren_yaml_get(root, "d"), &b, &e), COREN_ERR_CONFIG, "'yes' is not a YAML 1.2 bool");
	ok(coren_yaml_get_bool(coren_yaml_get(root, "e"), &b, &e) == COREN_OK && b, "True is true");
	is_int(coren_yaml_get_double(coren_yaml_get(root, "f"), &x, &e), COREN_ERR_CONFIG, "text is not a number");
	ok(coren_yaml_get_u64(coren_yaml_get(root, "g"), &u, &e) == COREN_OK && u == UINT64_MAX, "u64 max");
	is_int(coren_yaml_get_u64(coren_yaml_get(root, "h"), &u, &e), COREN_ERR_CONFIG, "beyond u64 refused");
	is_str(e.msg, "'18446744073709551616' is out of range", "out of range message");
	coren_yaml_free(d);

	is_str(as_json("a: [1, -2, 2.5, 1e3, true, null, ~, '3', \"x\", abc, .5, 18446744073709551615]\n"),
	       "{\"a\":[1,-2,2.5,1000.0,true,null,null,\"3\",\"x\",\"abc\",0.5,18446744073709551615]}",
	       "core schema typing; quoted scalars stay strings");
	is_str(as_json(""), "{}", "empty document is an empty mapping");
	is_str(as_json("---\n"), "{}", "bare document marker is an empty mapping");
	is_str(as_json("base: &b {x: 1}\nuse: *b\n"), "{\"base\":{\"x\":1},\"use\":{\"x\":1}}", "aliases");
	is_str(as_json("a: *nope\n"), "ERROR exp.yaml:1:4: unknown alias 'nope'", "unknown alias");
	is_str(as_json("a: 1\na: 2\n"), "ERROR exp.yaml:2:1: duplicate key 'a'", "duplicate key at its second place");
	is_str(as_json("a: [1, 2\n"), "ERROR exp.yaml:2:1: did not find expected ',' or ']' while parsing a flow sequence",
	       "syntax error with position");
	is_str(as_json("a: 1\n---\nb: 2\n"), "ERROR exp.yaml:2:1: more than one YAML document", "one document only");
	is_str(as_json("a: .inf\n"), "ERROR exp.yaml:1:4: value '.inf' is not a finite number", "infinity refused in JSON");
	is_str(as_json("a: [1, .nan]\n"), "ERROR exp.yaml:1:8: value '.nan' is not a finite number", "NaN refused");
	is_str(as_json("a: 1e999\n"), "ERROR exp.yaml:1:4: value '1e999' is not a finite number", "overflow refused, not a string");
	is_str(as_json("a: 1e-400\n"), "{\"a\":0.0}", "underflow reads as JSON reads it");
	is_str(as_json("a: 18446744073709551616\n"),
	       "ERROR exp.yaml:1:4: integer '18446744073709551616' is out of range (-2^63..2^64-1)", "2^64 refused");
	is_str(as_json("a: -9223372036854775809\n"),
	       "ERROR exp.yaml:1:4: integer '-9223372036854775809' is out of range (-2^63..2^64-1)", "below int64 refused");
	is_str(as_json("a: [9223372036854775808, -9223372036854775808]\n"),
	       "{\"a\":[9223372036854775808,-9223372036854775808]}", "int64/uint64 edges exact");
	{
		static const char nulkey[] = "\"a\\0b\": 1\n", nulval[] = "a: \"x\\0y\"\n";
		is_str(as_json(nulkey), "ERROR exp.yaml:1:1: scalar contains a NUL byte", "NUL in a key refused");
		is_str(as_json(nulval), "ERROR exp.yaml:1:4: scalar contains a NUL byte", "NUL in a value refused");
	}
	is_str(as_json("? [1]\n: x\n"), "ERROR exp.yaml:1:3: mapping keys must be scalars", "complex keys refused");
	{
		char deep[2000];
		int k;
		for (k = 0; k < 600; k++) deep[k] = '[';
		deep[600] = '\0';
		ok(strstr(as_json(deep), "nesting deeper than") != NULL, "deep nesting refused");
	}
	{
		/* billion laughs: aliases are shared, and expansion is capped */
		const char *lol = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
			"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
		ok(strstr(as_json(lol), "expands to more than") != NULL, "alias expansion is capped");
	}
	is_int(coren_yaml_load_file("/nonexistent/exp.yaml", &d, &e), COREN_ERR_NOTFOUND, "missing file");
	ok(strstr(e.msg, "/nonexistent/exp.yaml") != NULL, "missing file named");
	return done_testing();
}
