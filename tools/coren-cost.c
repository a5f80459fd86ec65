/* coren-cost - the cost of a job, from expressions (coren-cost(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/cost.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/table.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
	"usage: coren-cost [OPTION]... [EXPRESSION]...\n"
	"Prints the cost (W operations, Q memory traffic, M peak RAM, R result\n"
	"bytes) of each expression as a 'cost' record. Without expressions,\n"
	"reads one per line on stdin; lines that are records pass through.\n"
	"\n"
	"  EXPRESSION  e.g. 'scan(64e6,0) then sort(1e6,64,0) then hash(64MB)'\n"
	"              functions: new(W,Q,M,R) scan(nb,R) sort(n,b,R) hash(nb)\n"
	"              matmul(m,n,k,R) etl(rows,rb,fpr,R) copy(size)\n"
	"              combinators: a then b (or a + b), a par b, a repeat k,\n"
	"              parentheses; an optional 'NAME =' prefix names the cost\n"
	"              numbers: exact integers: 1e6, 1_000_000, 64MB, 1GiB\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"Exit status: 0 ok, 2 bad argument or expression argument, 5 bad stdin\n"
	"line. See coren-cost(1).\n";

static const struct coren_column columns[] = {
	{"name", "NAME", COREN_UNIT_TEXT},
	{"flops", "W", COREN_UNIT_COUNT},
	{"mem_bytes", "Q", COREN_UNIT_BYTES},
	{"peak_mem", "M", COREN_UNIT_BYTES},
	{"result_bytes", "R", COREN_UNIT_BYTES},
};

static struct coren_table *table;

/* Writes a record to stdout, as a table row or a JSON line. */
static void emit(const json_t *rec, const char *raw, size_t len)
{
	enum coren_err rc;

	if (table)
		rc = coren_table_add(table, rec);
	else if (raw)
		rc = coren_record_write_raw(stdout, raw, len);
	else
		rc = coren_record_write(stdout, rec);
	if (rc == COREN_ERR_NOMEM) {
		struct coren_error e;

		coren_error_set(&e, rc, "out of memory");
		tool_die(&e);
	}
}

/* Prices expr and emits its cost record; the error's code (its position
 * is the caller's to add), with *col the column. */
static enum coren_err cost(const char *expr, const char *name_opt, size_t *col,
			   struct coren_error *err)
{
	static struct coren_buf line = {NULL, 0, 0, 0};
	const char *name = name_opt;
	struct coren_cost c;
	char *given = NULL;
	size_t n;
	json_t *rec;
	enum coren_err rc = coren_cost_parse(expr, &c, &given, col, err);

	if (rc)
		return rc;
	if (!name && !(name = given)) { /* the expression, trimmed */
		while (*expr == ' ' || *expr == '\t')
			expr++;
		name = expr;
	}
	n = strlen(name);
	while (!name_opt && !given && n &&
	       (name[n - 1] == ' ' || name[n - 1] == '\t' || name[n - 1] == '\r'))
		n--;
	if (!line.max)
		coren_buf_init(&line, 0);
	coren_buf_reset(&line);
	rc = coren_cost_write(&line, &c, name, n);
	free(given);
	if (rc)
		return coren_error_set(err, rc, "out of memory");
	if (!table) {
		coren_record_write_raw(stdout, line.data, line.len);
		return COREN_OK;
	}
	rec = coren_json_parse(line.data, line.len, err);
	if (!rec)
		return err->code;
	emit(rec, NULL, 0);
	json_decref(rec);
	return COREN_OK;
}

/* One stdin line: a record passes through, anything else is an expression.
 * Returns 0, or the error's code. */
static enum coren_err line(struct coren_reader *r, const char *text, size_t len,
			   struct coren_error *err)
{
	json_t *rec;
	size_t col;
	enum coren_err rc;

	if (text[0] == '#')
		return COREN_OK;
	if (text[0] == '{') {
		rc = coren_record_parse(text, len, &rec, err);
		if (!rc) {
			emit(rec, text, len);
			json_decref(rec);
		}
	} else {
		/* the reader's line is NUL-terminated: no copy */
		rc = cost(text, NULL, &col, err);
		if (rc)
			coren_error_at(err, "stdin:%llu:%zu",
				       coren_reader_lineno(r), col);
	}
	if (rc)
		coren_reader_locate(r, err);
	return rc;
}

/* Reads expressions and records from stdin; returns the bad-line count. */
static unsigned long from_stdin(void)
{
	struct coren_reader *r = coren_reader_new(stdin, "stdin", tool.max_record);
	struct coren_error err = {0};
	unsigned long bad = 0;
	const char *text;
	size_t len;
	enum coren_err rc;

	for (;;) {
		coren_error_clear(&err);
		rc = coren_reader_next_line(r, &text, &len, &err);
		if (!rc && !text)
			break;
		if (!rc)
			rc = line(r, text, len, &err);
		if (!rc)
			continue;
		tool_bad_record(&err);
		{
			json_t *e = coren_record_from_error(&err);
			emit(e, NULL, 0);
			json_decref(e);
		}
		bad++;
	}
	coren_reader_free(r);
	return bad;
}

static struct {
	char *name;
} opt;

static const struct coren_setting rows[] = {
	{COREN_ROW(STRING, NULL, "name", 'n', "NAME",
		   "name of the cost (one expression)"),
	 COREN_SETTING_AT(__typeof__(opt), name)},
	TOOL_ROW_END};

static const struct coren_setting common_rows[] = {
	TOOL_ROWS_RECORDS("report a bad stdin line as an error record, go\n"
			  "on")};

int main(int argc, char **argv)
{
	const struct coren_settings tabs[] = {{rows, &opt},
					      {common_rows, &tool}};
	struct coren_setting_use *uses;
	size_t nuses;
	const char *name;
	unsigned long bad = 0;
	int i, first;

	tool_init("coren-cost");
	first = tool_parse(tabs, 2, usage_head, usage_tail, argc, argv, &uses,
			    &nuses);
	free(uses);
	name = opt.name;
	if (name && argc - first != 1)
		tool_usage_error("--name needs exactly one expression argument");
	if (coren_output_is_table(tool.output, stdout))
		table = coren_table_new(stdout, columns, 5);
	for (i = first; i < argc; i++) {
		struct coren_error err = {0};
		size_t col;

		if (cost(argv[i], name, &col, &err)) {
			coren_error_at(&err, "argument %d, column %zu", i - first + 1,
				       col);
			tool_die(&err);
		}
	}
	if (first == argc)
		bad = from_stdin();
	if (table) {
		coren_table_flush(table);
		coren_table_free(table);
	}
	if (bad) {
		fprintf(stderr, "coren-cost: %lu bad line%s\n", bad, bad == 1 ? "" : "s");
		return COREN_EXIT_RECORD;
	}
	return 0;
}
