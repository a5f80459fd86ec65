/* yamlcat - a test driver for the YAML loader: prints a document as
 * canonical JSON; --keys K1,K2 checks the root's keys. */
#include "config.h"

#include "../../tools/common/tool.h"

#include <coren/json.h>
#include <coren/yaml.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"keys", required_argument, NULL, 'k'},
		TOOL_COMMON_OPTIONS,
		{NULL, 0, NULL, 0}};
	const char *allowed[33] = {NULL};
	struct coren_error err = {0};
	struct coren_yaml_doc *doc;
	struct coren_buf out;
	char *keys = NULL, *k;
	json_t *v;
	size_t n = 0;
	int c;

	tool_init("yamlcat");
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (tool_common_option(c, optarg))
			continue;
		if (c == 'k')
			keys = optarg;
		if (c == 'h') {
			puts("usage: yamlcat [--keys K1,K2...] FILE");
			return 0;
		}
	}
	if (optind + 1 != argc)
		tool_usage_error("expected one file");
	for (k = keys ? strtok(keys, ",") : NULL; k && n < 32;
	     k = strtok(NULL, ","))
		allowed[n++] = k;
	if (coren_yaml_load_file(argv[optind], &doc, &err))
		tool_die(&err);
	if (keys && coren_yaml_check_keys(coren_yaml_root(doc), allowed, &err))
		tool_die(&err);
	v = coren_yaml_to_json(coren_yaml_root(doc), &err);
	if (!v)
		tool_die(&err);
	coren_buf_init(&out, 0);
	coren_json_canonical(v, &out);
	puts(out.data);
	coren_buf_release(&out);
	json_decref(v);
	coren_yaml_free(doc);
	return 0;
}
