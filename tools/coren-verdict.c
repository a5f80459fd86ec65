/* coren-verdict - compute here or fetch a stored result (coren-verdict(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/cap.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/table.h>
#include <coren/verdict.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
	"usage: coren-verdict [OPTION]... [FILE]...\n"
	"Reads 'cost' records (and records carrying a 'cost' object) and writes\n"
	"a 'verdict' for each: compute here, or fetch a stored result.\n"
	"The machine comes from --cap FILE, else the latest 'cap' record in the\n"
	"input, else the cached probe (coren-probe). Other records pass through.\n"
	"\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"Exit status: 0 ok, 2 usage or I/O error, 5 bad input record.\n"
	"See coren-verdict(1).\n";

static const struct coren_column columns[] = {
	{"name", "TASK", COREN_UNIT_TEXT},
	{"cost.flops", "W", COREN_UNIT_COUNT},
	{"cost.mem_bytes", "Q", COREN_UNIT_BYTES},
	{"cost.result_bytes", "R", COREN_UNIT_BYTES},
	{"score", "SCORE", COREN_UNIT_SECONDS},
	{"bottleneck", "NECK", COREN_UNIT_TEXT},
	{"action", "ACTION", COREN_UNIT_TEXT},
};

/* What-if overrides and helpers from the command line. */
static struct opt {
	struct coren_cap_override what_if;
	double ttl, budget, etl_row;
	char *cap_file;
	long gpu; /* -1: the CPU */
} opt = {COREN_CAP_OVERRIDE_NONE, -1, -1, -1, NULL, -1};

#define OPT(member) COREN_SETTING_AT(struct opt, member)

static const struct coren_setting rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "The machine:")},
	{COREN_ROW(STRING, NULL, "cap", 0, "FILE",
		   "a file holding a cap record"),
	 OPT(cap_file)},
	{COREN_ROW(COUNT, NULL, "gpu", 0, "N",
		   "price the work on the cap's GPU N (its FLOP/s,\n"
		   "bandwidth and memory, results back over PCIe)"),
	 .max = 65535, OPT(gpu)},
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "What to add:")},
	{COREN_ROW(DURATION, NULL, "ttl", 0, "DURATION",
		   "add 'ttl': DURATION scaled by t_compute/t_fetch"),
	 OPT(ttl)},
	{COREN_ROW(SIZE, NULL, "etl-buffer", 0, "SIZE",
		   "add 'etl_buffer_bytes' for rows of SIZE"),
	 .flags = COREN_SETTING_DOUBLE, .min = 1, OPT(etl_row)},
	{COREN_ROW(DURATION, NULL, "budget", 0, "DURATION",
		   "add 'budget': work that fits in DURATION, and\n"
		   "'fits'"),
	 OPT(budget)},
	TOOL_ROW_END};

static const struct coren_setting common_rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "And:")},
	TOOL_ROWS_RECORDS("report a bad record as an error record, go on")};

static struct coren_cap cap;
static int have_cap;
static struct coren_table *table;

/* --gpu's index: digits only. */
/* Makes the cap just read the machine the verdicts price: its GPU --gpu,
 * then the what-if options. */
static enum coren_err take_cap(struct coren_error *err)
{
	enum coren_err rc;

	if (opt.gpu >= 0 && (rc = coren_cap_use_gpu(&cap, (unsigned)opt.gpu, err)))
		return rc; /* no machine yet: no verdict on the wrong one */
	coren_cap_override(&cap, &opt.what_if);
	have_cap = 1;
	if (coren_cap_disturbed(&cap))
		tool_warn("pricing with a disturbed measurement of this machine (at "
			  "%s other tasks kept %.2f cores busy, trials spread %.0f%%): "
			  "the verdicts may be wrong; 'coren-probe --refresh' when "
			  "the machine is quiet", cap.measured_at, cap.others,
			  100 * cap.spread);
	return COREN_OK;
}

/* The machine from a file, or (path NULL) the cached probe; exits on error. */
static void load_cap_file(const char *path)
{
	struct coren_error err = {0};

	coren_cap_release(&cap); /* one whose GPU was missing */
	tool_cap(path, &cap);
	if (take_cap(&err)) {
		coren_error_at(&err, "%s", path ? path : "the cached probe");
		tool_die_code(&err, COREN_EXIT_USAGE); /* as a bad cap file */
	}
}

/* The machine for the first verdict when none was given: the cached probe. */
static void need_cap(void)
{
	if (!have_cap)
		load_cap_file(NULL);
}

static void emit(const json_t *rec)
{
	if (table)
		coren_table_add(table, rec);
	else
		coren_record_write(stdout, rec);
}

/* The verdict record for cost c named name, with the requested helpers;
 * t_compute >= 0: a measured estimate (a chunk record's t_compute) in
 * place of the model's. */
static json_t *verdict(const struct coren_cost *c, const char *name,
		       double t_compute)
{
	struct coren_verdict v;
	json_t *rec;

	need_cap();
	coren_verdict_decide(c, &cap, &v);
	if (t_compute >= 0)
		coren_verdict_reprice(&v, t_compute);
	rec = coren_verdict_to_record(&v, c, name);
	if (!rec)
		return NULL;
	if (opt.ttl >= 0)
		json_object_set_new(rec, "ttl",
				    json_real(coren_verdict_suggest_ttl(&v, opt.ttl)));
	if (opt.etl_row >= 0)
		json_object_set_new(rec, "etl_buffer_bytes",
				    coren_json_u64(coren_verdict_etl_buffer_bytes(
					    &cap, (uint64_t)opt.etl_row)));
	if (opt.budget >= 0) {
		uint64_t w, q;
		bool fits;

		coren_verdict_compute_budget(&cap, opt.budget, &v, &w, &q, &fits);
		json_object_set_new(rec, "budget",
				    json_pack("{s:f, s:o, s:o, s:b}", "seconds",
					      opt.budget, "flops", coren_json_u64(w),
					      "mem_bytes", coren_json_u64(q),
					      "fits", fits));
	}
	return rec;
}

/* Handles one record; COREN_OK or the error (positioned by the caller). */
static enum coren_err handle(json_t *rec, const char *raw, size_t len,
			     struct coren_error *err)
{
	const char *type = coren_record_type(rec);
	const json_t *obj = json_object_get(rec, "cost");
	const char *name = json_string_value(json_object_get(rec, "name"));
	struct coren_cost c;
	json_t *v;

	if (!strcmp(type, "cap")) {
		enum coren_err rc;

		coren_cap_release(&cap);
		have_cap = 0;
		if ((rc = coren_cap_from_json(rec, &cap, err)) || (rc = take_cap(err)))
			return rc;
	} else if (!strcmp(type, "cost")) {
		if (coren_cost_from_json(rec, &c, err))
			return err->code;
		v = verdict(&c, name, -1);
		emit(v);
		json_decref(v);
		return COREN_OK;
	} else if (obj) {
		const json_t *t = json_object_get(rec, "t_compute");

		if (coren_cost_from_json(obj, &c, err))
			return err->code;
		if (!name)
			name = json_string_value(json_object_get(rec, "id"));
		if (!table)
			coren_record_write_raw(stdout, raw, len);
		v = verdict(&c, name ? name : type,
			    json_is_number(t) && json_number_value(t) >= 0
				    ? json_number_value(t)
				    : -1);
		emit(v);
		json_decref(v);
		return COREN_OK;
	}
	if (!table)
		coren_record_write_raw(stdout, raw, len);
	return COREN_OK;
}

/* The fast path: a flat record (coren_record_scan_flat) is answered
 * without building a json_t. Returns 1 if the line was handled. */
static int fast(const char *raw, size_t len)
{
	static struct coren_buf line = {NULL, 0, 0, 0};
	struct coren_field f[16];
	const struct coren_field *t, *nm;
	struct coren_verdict v;
	struct coren_cost c;
	int n;

	if (table || opt.ttl >= 0 || opt.etl_row >= 0 || opt.budget >= 0)
		return 0;
	n = coren_record_scan_flat(raw, len, f, 16);
	if (n < 0 || !(t = coren_field_find(f, n, "type")) || t->kind != 's' ||
	    coren_field_is(t, "cap"))
		return 0;
	if (!coren_field_is(t, "cost")) /* flat: it carries no cost object */
		return coren_record_write_raw(stdout, raw, len), 1;
	if (coren_field_u64(coren_field_find(f, n, "flops"), &c.flops) ||
	    coren_field_u64(coren_field_find(f, n, "mem_bytes"), &c.mem_bytes) ||
	    coren_field_u64(coren_field_find(f, n, "peak_mem"), &c.peak_mem) ||
	    coren_field_u64(coren_field_find(f, n, "result_bytes"),
			    &c.result_bytes))
		return 0; /* the full path says what is wrong */
	nm = coren_field_find(f, n, "name");
	if (nm && nm->kind != 's')
		nm = NULL;
	need_cap();
	coren_verdict_decide(&c, &cap, &v);
	if (!line.max)
		coren_buf_init(&line, 0);
	coren_buf_reset(&line);
	if (coren_verdict_write(&line, &v, &c, nm ? nm->val : NULL,
				nm ? nm->vlen : 0))
		return 0;
	coren_record_write_raw(stdout, line.data, line.len);
	return 1;
}

/* Reads one input; returns the number of bad records. */
static unsigned long filter(FILE *in, const char *name)
{
	struct coren_reader *r = coren_reader_new(in, name, tool.max_record);
	struct coren_error err = {0};
	unsigned long bad = 0;
	enum coren_err rc;
	const char *raw;
	json_t *rec;
	size_t len;

	for (;;) {
		coren_error_clear(&err);
		rc = coren_reader_next_line(r, &raw, &len, &err);
		if (!rc && !raw)
			break;
		if (!rc && fast(raw, len))
			continue;
		if (!rc && !(rc = coren_record_parse(raw, len, &rec, &err))) {
			rc = handle(rec, raw, len, &err);
			json_decref(rec);
		}
		if (!rc)
			continue;
		coren_reader_locate(r, &err);
		tool_bad_record(&err);
		rec = coren_record_from_error(&err);
		emit(rec);
		json_decref(rec);
		bad++;
	}
	coren_reader_free(r);
	return bad;
}

int main(int argc, char **argv)
{
	const struct coren_settings tabs[] = {
		{rows, &opt},
		{coren_cap_override_settings, &opt.what_if},
		{common_rows, &tool}};
	struct coren_setting_use *uses;
	size_t nuses;
	unsigned long bad = 0;
	int i, first;

	tool_init("coren-verdict");
	first = tool_parse(tabs, 3, usage_head, usage_tail, argc, argv, &uses,
			   &nuses);
	free(uses);
	if (opt.cap_file)
		load_cap_file(opt.cap_file);
	if (coren_output_is_table(tool.output, stdout))
		table = coren_table_new(stdout, columns, 7);
	if (first == argc)
		bad = filter(stdin, "stdin");
	for (i = first; i < argc; i++) {
		FILE *f = tool_open(argv[i]);

		bad += filter(f, strcmp(argv[i], "-") ? argv[i] : "stdin");
		if (f != stdin)
			fclose(f);
	}
	if (table) {
		coren_table_flush(table);
		coren_table_free(table);
	}
	coren_cap_release(&cap);
	if (bad) {
		fprintf(stderr, "coren-verdict: %lu bad record%s\n", bad,
			bad == 1 ? "" : "s");
		return COREN_EXIT_RECORD;
	}
	return 0;
}
