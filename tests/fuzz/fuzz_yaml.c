/* libFuzzer harness: the YAML loader, key checks, typed getters, JSON. */
#include <coren/json.h>
#include <coren/yaml.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct coren_yaml_node *n, int depth)
{
	struct coren_error err;
	uint64_t u;
	double d;
	bool b;
	size_t i;

	if (depth > 64)
		return;
	if (n->kind == COREN_YAML_SCALAR) {
		coren_yaml_get_u64(n, &u, &err);
		coren_yaml_get_double(n, &d, &err);
		coren_yaml_get_bool(n, &b, &err);
		return;
	}
	for (i = 0; i < (n->kind == COREN_YAML_MAPPING ? 2 * n->n : n->n); i++)
		walk(n->items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"exec", "split", NULL};
	struct coren_error err = {0};
	struct coren_yaml_doc *doc;
	json_t *v;

	if (coren_yaml_load_buffer((const char *)data, size, "fuzz", &doc, &err))
		return 0;
	coren_yaml_check_keys(coren_yaml_root(doc), keys, &err);
	walk(coren_yaml_root(doc), 0);
	v = coren_yaml_to_json(coren_yaml_root(doc), &err);
	if (v) {
		char *s = coren_json_dumps(v, COREN_JSON_SORT_KEYS);
		free(s);
		json_decref(v);
	}
	coren_yaml_free(doc);
	return 0;
}
