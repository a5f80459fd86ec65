/* coren-probe - measure this machine, cached (coren-probe(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/cap.h>
#include <coren/cost.h>
#include <coren/record.h>
#include <coren/table.h>
#include <coren/verdict.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
	"usage: coren-probe [OPTION]...\n"
	"Measures what this machine can do (peak FLOP/s, memory bandwidth, RAM,\n"
	"disk, network, and each GPU when the cuda backend plugin loads) and\n"
	"prints it as a 'cap' record, or on a terminal as\n"
	"a report with the roofline and verdicts for standard jobs. The result is\n"
	"cached per host and reused while fresh.\n"
	"\n"
	;

static const char usage_tail[] =
	"\n"
	"A measurement disturbed by other tasks (CPU time on the probe's CPUs,\n"
	"steal time, trials that spread) is retried, then reported with a\n"
	"warning and not cached unless --force.\n"
	"\n"
	"Exit status: 0 ok, 2 usage, cache or measurement error.\n"
	"See coren-probe(1).\n";

/* Standard jobs for the report's verdict table. */
static const char *const jobs[] = {
	"sort 1M x 64B = sort(1e6, 64, 64MB)",
	"matmul 1k^3 = matmul(1000, 1000, 1000, 8MB)",
	"hash 64MB = hash(64MB)",
	"scan 1GB = scan(1GB, 0)",
	"copy 1GiB = copy(1GiB)",
	"etl 10M rows = etl(10M, 100, 20, 100MB)",
	"matmul 8k^3 = matmul(8000, 8000, 8000, 512MB)",
};

static void line(const char *what, const char *fmt, ...) COREN_PRINTF(2, 3);
static void line(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%-10s ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Field key of GPU g in unit u, formatted into buf. */
static const char *gpu_field(const json_t *g, const char *key, enum coren_unit u,
			     char buf[32])
{
	return coren_format_unit(json_number_value(json_object_get(g, key)), u, buf, 32);
}

/* A line for each GPU of the cap record. */
static void gpu_lines(const json_t *gpus)
{
	char a[32], b[32], d[32], e[32], f[32], h[32];
	const json_t *g;
	size_t i;

	json_array_foreach(gpus, i, g) {
		const char *err = json_string_value(json_object_get(g, "error"));
		const char *name = json_string_value(json_object_get(g, "name"));

		line("gpu", "%zu: %s, %s, %s FP64, %s FP32, %s (triad), %s h2d, %s d2h%s%s", i,
		     name ? name : "?", gpu_field(g, "memory", COREN_UNIT_BYTES, a),
		     gpu_field(g, "flops", COREN_UNIT_FLOPS, b),
		     gpu_field(g, "flops_fp32", COREN_UNIT_FLOPS, d),
		     gpu_field(g, "mem_bw", COREN_UNIT_BYTES_PER_S, e),
		     gpu_field(g, "h2d_bw", COREN_UNIT_BYTES_PER_S, f),
		     gpu_field(g, "d2h_bw", COREN_UNIT_BYTES_PER_S, h),
		     err ? "; error: " : "", err ? err : "");
	}
}

static void report(const struct coren_cap *c, enum coren_probe_source src)
{
	static const struct coren_column cols[] = {
		{"name", "JOB", COREN_UNIT_TEXT},
		{"cost.flops", "W", COREN_UNIT_COUNT},
		{"cost.mem_bytes", "Q", COREN_UNIT_BYTES},
		{"t_compute", "COMPUTE", COREN_UNIT_SECONDS},
		{"t_fetch", "FETCH", COREN_UNIT_SECONDS},
		{"bottleneck", "NECK", COREN_UNIT_TEXT},
		{"action", "ACTION", COREN_UNIT_TEXT},
	};
	char a[32], b[32], d[32];
	struct coren_table *t;
	size_t i;

	line("machine", "%s, %s, %u core%s, %s%s", c->host, c->cpu, c->cores,
	     c->cores == 1 ? "" : "s", c->class_,
	     c->on_battery ? ", on battery" : "");
	line("peak", "%s all cores, %s one core (%s FMA)",
	     coren_format_unit(c->flops, COREN_UNIT_FLOPS, a, sizeof a),
	     coren_format_unit(c->flops_core, COREN_UNIT_FLOPS, b, sizeof b),
	     c->simd);
	line("memory", "%s (STREAM triad); ridge point %.1f FLOP/byte",
	     coren_format_unit(c->mem_bw, COREN_UNIT_BYTES_PER_S, a, sizeof a),
	     c->flops / c->mem_bw);
	line("RAM", "%s total, %s available",
	     coren_format_unit((double)c->ram_total, COREN_UNIT_BYTES, a, sizeof a),
	     coren_format_unit((double)c->ram_avail, COREN_UNIT_BYTES, b, sizeof b));
	line("disk", "%s read, %s write (cache directory)",
	     coren_format_unit(c->disk_read_bw, COREN_UNIT_BYTES_PER_S, a, sizeof a),
	     coren_format_unit(c->disk_write_bw, COREN_UNIT_BYTES_PER_S, b, sizeof b));
	if (coren_cap_online(c))
		line("network", "%s, %s, latency %s", c->net_iface[0] ? c->net_iface : "-",
		     coren_format_unit(c->net_bw, COREN_UNIT_BYTES_PER_S, a, sizeof a),
		     coren_format_unit(c->net_latency, COREN_UNIT_SECONDS, d, sizeof d));
	else
		line("network", "offline");
	gpu_lines(c->gpus);
	line("measured", "%s (%s)", c->measured_at,
	     src == COREN_PROBE_CACHED ? "cached" : "just now");
	if (c->quality[0])
		line("quality", "%s: other tasks %.2f cores, steal %.0f%%, trials spread "
		     "%.0f%%, %u other runnable before, %u attempt%s", c->quality,
		     c->others, 100 * c->steal, 100 * c->spread, c->runnable,
		     c->attempts, c->attempts == 1 ? "" : "s");
	putchar('\n');
	t = coren_table_new(stdout, cols, sizeof cols / sizeof cols[0]);
	for (i = 0; t && i < sizeof jobs / sizeof jobs[0]; i++) {
		struct coren_cost cost;
		struct coren_verdict v;
		struct coren_error err;
		char *name = NULL;
		size_t col;
		json_t *rec;

		if (coren_cost_parse(jobs[i], &cost, &name, &col, &err))
			continue;
		coren_verdict_decide(&cost, c, &v);
		rec = coren_verdict_to_record(&v, &cost, name);
		if (rec)
			coren_table_add(t, rec);
		json_decref(rec);
		free(name);
	}
	if (t)
		coren_table_flush(t);
	coren_table_free(t);
}

static struct coren_probe_options po;
static struct coren_cap_override what_if = COREN_CAP_OVERRIDE_NONE;

#define PO(member) COREN_SETTING_AT(struct coren_probe_options, member)

static const struct coren_setting rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "The measurement:")},
	{COREN_ROW(FLAG, NULL, "refresh", 0, NULL,
		   "measure even if the cache is fresh"),
	 PO(refresh)},
	{COREN_ROW(DURATION, NULL, "max-age", 0, "DURATION",
		   "re-measure when the cache is older (default 7d)"),
	 PO(max_age)},
	{COREN_ROW(FLAG, NULL, "quick", 0, NULL,
		   "a sub-second estimate (smaller sizes)"),
	 PO(quick)},
	{COREN_ROW(FLAG, NULL, "force", 0, NULL,
		   "cache the figures even when other tasks\n"
		   "disturbed the measurement"),
	 PO(force)},
	{COREN_ROW(STRING, NULL, "cache-dir", 0, "DIR",
		   "the cache (default $COREN_CACHE_DIR, else\n"
		   "$XDG_CACHE_HOME/coren, else ~/.cache/coren)"),
	 PO(cache_dir)},
	{COREN_ROW(FLAG, NULL, "no-gpu", 0, NULL,
		   "measure no GPU (when measuring)"),
	 PO(no_gpu)},
	TOOL_ROW_END};

static const struct coren_setting common_rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "Output:")},
	{COREN_ROW(CUSTOM, NULL, "json", 0, NULL, "a cap record"),
	 .set = tool_set_json},
	{COREN_ROW(CUSTOM, NULL, "table", 0, NULL,
		   "the report (default at a terminal)"),
	 .set = tool_set_table},
	TOOL_ROW_QUIET,
	{COREN_ROW(CUSTOM, NULL, "verbose", 'v', NULL,
		   "say whether it measured or used the cache"),
	 .set = tool_set_verbose},
	TOOL_ROW_HELP,
	TOOL_ROW_VERSION,
	TOOL_ROW_END};

int main(int argc, char **argv)
{
	const struct coren_settings tabs[] = {
		{rows, &po},
		{coren_cap_override_settings, &what_if},
		{common_rows, &tool}};
	struct coren_setting_use *uses;
	size_t nuses;
	enum coren_probe_source src;
	struct coren_error err = {0};
	struct coren_cap cap;
	json_t *rec;
	int first;

	tool_init("coren-probe");
	po.max_age = 7 * 86400;
	first = tool_parse(tabs, 3, usage_head, usage_tail, argc, argv, &uses,
			   &nuses);
	free(uses);
	if (first < argc)
		tool_usage_error("unexpected argument '%s'", argv[first]);
	if (coren_cap_get(&po, &cap, &src, &err))
		tool_die(&err);
	if (src == COREN_PROBE_MEASURED && coren_cap_disturbed(&cap))
		tool_warn("the measurement was disturbed (other tasks kept %.2f cores "
			  "busy, steal %.0f%%, trials spread %.0f%%, after %u "
			  "attempts): %s", cap.others, 100 * cap.steal,
			  100 * cap.spread, cap.attempts,
			  po.force ? "cached all the same (--force)"
				   : "not cached; run again when the machine is "
				     "quiet, or --force to keep it");
	coren_cap_override(&cap, &what_if); /* the output, not the cache */
	if (tool.verbosity > 1)
		fprintf(stderr, "coren-probe: %s\n",
			src == COREN_PROBE_CACHED ? "cached" : "measured");
	if (coren_output_is_table(tool.output, stdout)) {
		report(&cap, src);
	} else {
		rec = coren_cap_to_record(&cap);
		coren_record_write(stdout, rec);
		json_decref(rec);
	}
	coren_cap_release(&cap);
	return 0;
}
