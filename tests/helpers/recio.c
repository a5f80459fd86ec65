/* recio - a test filter over the record library: reads records, checks
 * the --u64 fields, writes them back (re-serialised, or --raw), as JSONL or
 * as a table of --col FIELD:TITLE:UNIT columns. */
#include "config.h"

#include "../../tools/common/tool.h"

#include <coren/json.h>
#include <coren/record.h>
#include <coren/table.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 16

static const char *u64_fields[MAX_ITEMS];
static size_t n_u64;
static struct coren_column cols[MAX_ITEMS];
static size_t n_cols;
static int raw;

static enum coren_unit parse_unit(const char *s)
{
	static const char *const names[] = {"text",   "count", "bytes",
					    "bytes/s", "flops", "seconds"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(s, names[i]))
			return (enum coren_unit)i;
	tool_usage_error("unknown unit '%s'", s);
}

static void add_column(char *spec)
{
	char *title = strchr(spec, ':'), *unit;

	if (!title || n_cols == MAX_ITEMS)
		tool_usage_error("invalid --col '%s'", spec);
	*title++ = '\0';
	unit = strchr(title, ':');
	if (unit)
		*unit++ = '\0';
	cols[n_cols].field = spec;
	cols[n_cols].title = title;
	cols[n_cols++].unit = unit ? parse_unit(unit) : COREN_UNIT_TEXT;
}

static enum coren_err check(const json_t *rec, struct coren_error *err)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < n_u64; i++)
		if (coren_record_get_u64(rec, u64_fields[i], &v, err))
			return err->code;
	return COREN_OK;
}

/* Copies one input to the output; returns the number of bad records. */
static unsigned long filter(FILE *in, const char *name, struct coren_table *t)
{
	struct coren_reader *r = coren_reader_new(in, name, tool.max_record);
	struct coren_error err = {0};
	unsigned long bad = 0;
	json_t *rec;
	enum coren_err rc;

	if (!r)
		exit(COREN_EXIT_USAGE);
	for (;;) {
		rc = coren_reader_next(r, &rec, &err);
		if (!rc && !rec)
			break;
		if (!rc && (rc = check(rec, &err)))
			coren_reader_locate(r, &err);
		if (rc) {
			json_t *e;

			tool_bad_record(&err); /* dies unless --keep-going */
			e = coren_record_from_error(&err);
			coren_record_write(stdout, e);
			json_decref(e);
			bad++;
		} else if (t) {
			coren_table_add(t, rec);
		} else if (raw) {
			size_t len;
			const char *line = coren_reader_raw(r, &len);

			coren_record_write_raw(stdout, line, len);
		} else {
			coren_record_write(stdout, rec);
		}
		json_decref(rec);
	}
	coren_reader_free(r);
	return bad;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"u64", required_argument, NULL, 'u'},
		{"col", required_argument, NULL, 'c'},
		{"raw", no_argument, NULL, 'r'},
		TOOL_COMMON_OPTIONS,
		{NULL, 0, NULL, 0}};
	struct coren_table *t = NULL;
	unsigned long bad = 0;
	int c, i;

	tool_init("recio");
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (tool_common_option(c, optarg))
			continue;
		switch (c) {
		case 'u':
			if (n_u64 == MAX_ITEMS)
				tool_usage_error("too many --u64");
			u64_fields[n_u64++] = optarg;
			break;
		case 'c':
			add_column(optarg);
			break;
		case 'r':
			raw = 1;
			break;
		case 'h':
			puts("usage: recio [--u64 FIELD]... [--col F:TITLE[:UNIT]]... "
			     "[--raw] [--json|--table] [--keep-going] "
			     "[--max-record N] [FILE...]");
			return 0;
		}
	}
	if (coren_output_is_table(tool.output, stdout))
		t = coren_table_new(stdout, cols, n_cols);
	if (optind == argc)
		bad += filter(stdin, "stdin", t);
	for (i = optind; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;

		if (!f) {
			struct coren_error err;

			coren_error_set(&err, COREN_ERR_IO, "cannot open '%s'",
					argv[i]);
			tool_die(&err);
		}
		bad += filter(f, strcmp(argv[i], "-") ? argv[i] : "stdin", t);
		if (f != stdin)
			fclose(f);
	}
	if (t) {
		coren_table_flush(t);
		coren_table_free(t);
	}
	if (bad) {
		fprintf(stderr, "recio: %lu bad record%s\n", bad,
			bad == 1 ? "" : "s");
		return COREN_EXIT_RECORD;
	}
	return 0;
}
