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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: coren-verdict [OPTION]... [FILE]...\n"
	"Reads 'cost' records (and records carrying a 'cost' object) and writes\n"
	"a 'verdict' for each: compute here, or fetch a stored result.\n"
	"The machine comes from --cap FILE, else the latest 'cap' record in the\n"
	"input, else the cached probe (coren-probe). Other records pass through.\n"
	"\n"
	"  --cap FILE           the machine: a file holding a cap record\n"
	"  --net-bw RATE        network bandwidth, bytes/s (125M, 1GiB)\n"
	"  --net-latency TIME   network latency (0.02, 20ms)\n"
	"  --offline            no network: compute, or none for a job too\n"
	"                       big for RAM (reason ram+offline)\n"
	"  --ram BYTES          RAM available (64GiB)\n"
	"  --gpu N              price the work on the cap's GPU N (its FLOP/s,\n"
	"                       bandwidth and memory, results back over PCIe)\n"
	"  --ttl BASE           add 'ttl': BASE scaled by t_compute/t_fetch\n"
	"  --etl-buffer BYTES   add 'etl_buffer_bytes' for rows of BYTES\n"
	"  --budget TIME        add 'budget': work that fits in TIME, and 'fits'\n"
	"  --json, --table      force JSON Lines or a table\n"
	"  --keep-going         report a bad record as an error record, go on\n"
	"  --max-record SIZE    longest input line (default 16MiB)\n"
	"  -q, --quiet, -v, --verbose  quieter, more verbose\n"
	"  --help, --version\n"
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
static struct {
	struct coren_cap_override what_if;
	double ttl, budget, etl_row;
	const char *cap_file;
	long gpu; /* -1: the CPU */
} opt = {COREN_CAP_OVERRIDE_NONE, -1, -1, -1, NULL, -1};

static struct coren_cap cap;
static int have_cap;
static struct coren_table *table;

/* --gpu's index: digits only. */
static long gpu_option(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (!isdigit((unsigned char)*arg) || *end || errno || v > 65535)
		tool_usage_error("invalid --gpu '%s' (a GPU's index: 0, 1, ...)", arg);
	return v;
}

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
	enum { CAP = TOOL_OPT__END, NET_BW, NET_LAT, OFFLINE, RAM, TTL, ETL,
	       BUDGET, GPU };
	static const struct option opts[] = {
		{"cap", required_argument, NULL, CAP},
		{"net-bw", required_argument, NULL, NET_BW},
		{"net-latency", required_argument, NULL, NET_LAT},
		{"offline", no_argument, NULL, OFFLINE},
		{"ram", required_argument, NULL, RAM},
		{"ttl", required_argument, NULL, TTL},
		{"etl-buffer", required_argument, NULL, ETL},
		{"budget", required_argument, NULL, BUDGET},
		{"gpu", required_argument, NULL, GPU},
		TOOL_COMMON_OPTIONS,
		{NULL, 0, NULL, 0}};
	unsigned long bad = 0;
	int c, i;

	tool_init("coren-verdict");
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (tool_common_option(c, optarg))
			continue;
		switch (c) {
		case 'h': fputs(usage, stdout); return 0;
		case CAP: opt.cap_file = optarg; break;
		case NET_BW: opt.what_if.net_bw = tool_number_option("--net-bw", optarg, 0); break;
		case NET_LAT: opt.what_if.net_latency = tool_number_option("--net-latency", optarg, 1); break;
		case OFFLINE: opt.what_if.offline = true; break;
		case RAM: opt.what_if.ram_avail = tool_number_option("--ram", optarg, 0); break;
		case TTL: opt.ttl = tool_number_option("--ttl", optarg, 1); break;
		case ETL: opt.etl_row = tool_number_option("--etl-buffer", optarg, 0); break;
		case BUDGET: opt.budget = tool_number_option("--budget", optarg, 1); break;
		case GPU: opt.gpu = gpu_option(optarg); break;
		}
	}
	if (opt.etl_row == 0)
		tool_usage_error("--etl-buffer needs a row size above 0");
	if (opt.cap_file)
		load_cap_file(opt.cap_file);
	if (coren_output_is_table(tool.output, stdout))
		table = coren_table_new(stdout, columns, 7);
	if (optind == argc)
		bad = filter(stdin, "stdin");
	for (i = optind; i < argc; i++) {
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
