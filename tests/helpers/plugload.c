/* plugload - a test driver for the plugin loader: loads each plugin, prints
 * its descriptor as a "plugin" record, and with --point evaluates an exec
 * plugin at that point. */
#include "config.h"

#include "../../tools/common/tool.h"

#include <coren/exec.h>
#include <coren/json.h>
#include <coren/plugin.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static json_t *describe(const struct coren_plugin *p)
{
	const struct coren_plugin_desc *d = p->desc;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "type", "plugin",
			 "name", d->name, "version", d->version, "kind",
			 coren_plugin_kind_name(d->kind), "path", p->path,
			 "summary", d->summary);
}

static void run_exec(const struct coren_plugin *p, const char *point_text)
{
	const struct coren_exec_ops *ops = p->desc->ops;
	struct coren_error err = {0};
	json_t *point, *value = NULL, *rec;
	void *state = NULL;

	point = coren_json_parse(point_text, strlen(point_text), &err);
	if (!point)
		tool_die(&err);
	if (ops->init && ops->init(&state, NULL, &err))
		tool_die(&err);
	if (ops->exec(state, point, &value, &err))
		tool_die(&err);
	if (ops->fini)
		ops->fini(state);
	rec = json_pack("{s:s, s:o, s:o}", "type", "result", "point", point,
			"value", value);
	coren_record_write(stdout, rec);
	json_decref(rec);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"plugin-dir", required_argument, NULL, 'd'},
		{"kind", required_argument, NULL, 'k'},
		{"point", required_argument, NULL, 'p'},
		TOOL_COMMON_OPTIONS,
		{NULL, 0, NULL, 0}};
	const char *dirs[17] = {NULL}, *point = NULL;
	enum coren_plugin_kind kind = COREN_PLUGIN_ANY;
	struct coren_error err = {0};
	size_t ndirs = 0;
	int c, i;

	tool_init("plugload");
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (tool_common_option(c, optarg))
			continue;
		switch (c) {
		case 'd':
			if (ndirs == 16)
				tool_usage_error("too many --plugin-dir");
			dirs[ndirs++] = optarg;
			break;
		case 'k':
			kind = coren_plugin_kind_parse(optarg);
			if (kind == COREN_PLUGIN_ANY)
				tool_usage_error("unknown plugin kind '%s'",
						 optarg);
			break;
		case 'p':
			point = optarg;
			break;
		case 'h':
			puts("usage: plugload [--plugin-dir DIR]... [--kind KIND] "
			     "[--point JSON] PLUGIN...");
			return 0;
		}
	}
	if (optind == argc)
		tool_usage_error("no plugin named");
	for (i = optind; i < argc; i++) {
		struct coren_plugin *p;
		json_t *rec;

		if (coren_plugin_open(argv[i], kind, dirs, &p, &err))
			tool_die(&err);
		rec = describe(p);
		coren_record_write(stdout, rec);
		json_decref(rec);
		if (point && p->desc->kind == COREN_PLUGIN_EXEC)
			run_exec(p, point);
		coren_plugin_free(p);
	}
	return 0;
}
