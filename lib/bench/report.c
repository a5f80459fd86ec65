/* rk-bench reports: markdown, JSON, LaTeX, TSV, JSONL; gnuplot charts. */
#include "config.h"

#include <coren/bench.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/table.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int coren_bench_format_parse(const char *name)
{
	static const char *const names[] = {"markdown", "json", "latex", "tsv", "jsonl"};
	int i;

	for (i = 0; i < 5; i++)
		if (!strcmp(name, names[i]))
			return i;
	if (!strcmp(name, "md"))
		return COREN_BENCH_MARKDOWN;
	if (!strcmp(name, "tex"))
		return COREN_BENCH_LATEX;
	return -1;
}

static const char *str(const json_t *r, const char *k)
{
	const char *s = json_string_value(json_object_get(r, k));

	return s ? s : "";
}

static double get(const json_t *r, const char *k)
{
	const json_t *v = json_object_get(r, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* v in the record's unit, for people: "12.3ms", "1.2GiB/s", "45.6M". */
static char *human(const json_t *r, double v, char *buf, size_t n)
{
	const char *unit = str(r, "unit");

	if (!isfinite(v))
		snprintf(buf, n, "-");
	else if (!strcmp(unit, "s"))
		coren_format_unit(v, COREN_UNIT_SECONDS, buf, n);
	else if (!strcmp(unit, "bytes/s"))
		coren_format_unit(v, COREN_UNIT_BYTES_PER_S, buf, n);
	else if (!strcmp(unit, "flops/s"))
		coren_format_unit(v, COREN_UNIT_FLOPS, buf, n);
	else {
		size_t at;

		coren_format_unit(v, COREN_UNIT_COUNT, buf, n);
		at = strlen(buf);
		if (strstr(unit, "/s") && at + 1 < n)
			snprintf(buf + at, n - at, " %s", unit);
	}
	return buf;
}

static void size_text(const json_t *r, char *buf, size_t n)
{
	const json_t *s = json_object_get(r, "size");

	if (json_is_number(s))
		snprintf(buf, n, "%.0f", json_number_value(s));
	else
		snprintf(buf, n, "-");
}

static bool any_baseline(const json_t *recs)
{
	const json_t *r;
	size_t i;

	json_array_foreach(recs, i, r)
		if (json_object_get(r, "baseline"))
			return true;
	return false;
}

static const json_t *cmp_of(const json_t *r)
{
	return json_object_get(r, "baseline");
}

/* Writes s with the characters special to f escaped. */
static void put_text(FILE *out, enum coren_bench_format f, const char *s)
{
	for (; *s; s++) {
		if (f == COREN_BENCH_MARKDOWN && (*s == '|' || *s == '\\' || *s == '`'))
			fputc('\\', out);
		if (f == COREN_BENCH_LATEX && strchr("&%$#_{}", *s))
			fputc('\\', out);
		if (f == COREN_BENCH_LATEX && strchr("~^\\", *s)) {
			fputs(*s == '~'	  ? "\\textasciitilde{}"
			      : *s == '^' ? "\\textasciicircum{}"
					  : "\\textbackslash{}",
			      out);
			continue;
		}
		if (f == COREN_BENCH_TSV && (*s == '\t' || *s == '\n')) {
			fputc(' ', out);
			continue;
		}
		fputc(*s, out);
	}
}

/* One row of the markdown or LaTeX table. */
static void human_row(FILE *out, enum coren_bench_format f, const json_t *r, bool cmp)
{
	const char *sep = f == COREN_BENCH_LATEX ? " & " : " | ";
	char a[32], b[32], c[32], d[32], e[32], g[32], sz[32];
	const json_t *k = cmp_of(r);
	double half = (get(r, "ci_hi") - get(r, "ci_lo")) / 2;

	size_text(r, sz, sizeof sz);
	fputs(f == COREN_BENCH_LATEX ? "" : "| ", out);
	put_text(out, f, str(r, "workload"));
	fprintf(out, "%s%s%s", sep, sz, sep);
	put_text(out, f, str(r, "metric"));
	fprintf(out, "%s%s%s%s", sep, human(r, get(r, "mean"), a, sizeof a), sep,
		human(r, half, b, sizeof b));
	fprintf(out, "%s%s%s%s", sep, human(r, get(r, "median"), c, sizeof c), sep,
		human(r, get(r, "stddev"), d, sizeof d));
	fprintf(out, "%s%.1f%s", sep, 100 * get(r, "cv"),
		f == COREN_BENCH_LATEX ? "\\%" : "%");
	fprintf(out, "%s%s%s%s", sep, human(r, get(r, "min"), e, sizeof e), sep,
		human(r, get(r, "max"), g, sizeof g));
	fprintf(out, "%s%.0f%s%.0f", sep, get(r, "n"), sep, get(r, "outliers"));
	if (cmp && k) {
		const char *pct = f == COREN_BENCH_LATEX ? "\\%" : "%";

		fprintf(out, "%s%s%s%+.1f%s%s%.3g%s", sep,
			human(r, get(k, "mean"), a, sizeof a), sep, 100 * get(k, "change"),
			pct, sep, get(k, "p"), sep);
		if (isfinite(get(k, "detectable")))
			fprintf(out, "%.1f%s", 100 * get(k, "detectable"), pct);
		else
			fputs(f == COREN_BENCH_LATEX ? "$\\infty$" : "∞", out);
		fprintf(out, "%s%s", sep, str(k, "verdict"));
	} else if (cmp) {
		fprintf(out, "%s-%s-%s-%s-%snew", sep, sep, sep, sep, sep);
	}
	fputs(f == COREN_BENCH_LATEX ? " \\\\\n" : " |\n", out);
}

static const char *const heads[] = {"benchmark", "size", "metric", "mean",
				    "±CI", "median", "stddev", "CV", "min",
				    "max", "n", "outliers"};
static const char *const cmp_heads[] = {"baseline", "change", "p", "detects",
					"verdict"};
#define NCMP (sizeof cmp_heads / sizeof cmp_heads[0])

/* The comparisons that could not have seen a change of the threshold's
 * size, and why. */
static void inconclusive_note(FILE *out, const json_t *recs)
{
	const json_t *r, *k;
	size_t i, n = 0;
	char sz[32];

	json_array_foreach(recs, i, r)
		n += (k = cmp_of(r)) && !strcmp(str(k, "verdict"), "inconclusive");
	if (!n)
		return;
	fprintf(out, "\n**%zu inconclusive** (with this noise and these runs a "
		"change of the threshold's size could go unseen):\n", n);
	json_array_foreach(recs, i, r) {
		if (!(k = cmp_of(r)) || strcmp(str(k, "verdict"), "inconclusive"))
			continue;
		size_text(r, sz, sizeof sz);
		fputs("- ", out);
		put_text(out, COREN_BENCH_MARKDOWN, str(r, "workload"));
		fprintf(out, " (size %s, %s): detects %.1f%%, threshold %.0f%%, n = %.0f "
			"and %.0f\n", sz, str(r, "metric"), 100 * get(k, "detectable"),
			100 * get(k, "threshold"), get(r, "n"), get(k, "n"));
	}
}

static void markdown(FILE *out, const json_t *recs, const json_t *regs)
{
	bool cmp = any_baseline(recs), scaled = false;
	const json_t *r, *s;
	size_t i, nh = 12 + (cmp ? NCMP : 0);

	for (i = 0; i < nh; i++)
		fprintf(out, "| %s ", i < 12 ? heads[i] : cmp_heads[i - 12]);
	fputs("|\n", out);
	for (i = 0; i < nh; i++)
		fputs(i < 3 || (i == nh - 1 && cmp) ? "|---" : "|---:", out);
	fputs("|\n", out);
	json_array_foreach(recs, i, r) {
		human_row(out, COREN_BENCH_MARKDOWN, r, cmp);
		scaled |= json_object_get(r, "scaling") != NULL;
	}
	if (scaled) {
		const char *last = "";

		fputs("\n| benchmark | time ~ size^k | R² | fit |\n|---|---:|---:|---|\n", out);
		json_array_foreach(recs, i, r) {
			if (!(s = json_object_get(r, "scaling")) ||
			    !strcmp(last, str(r, "workload")))
				continue;
			last = str(r, "workload");
			fputs("| ", out);
			put_text(out, COREN_BENCH_MARKDOWN, last);
			fprintf(out, " | %.3f | %.4f | %s |\n", get(s, "exponent"),
				get(s, "r2"), str(s, "quality"));
		}
	}
	inconclusive_note(out, recs);
	if (json_array_size(regs)) {
		fprintf(out, "\n**%zu regression%s:**\n", json_array_size(regs),
			json_array_size(regs) == 1 ? "" : "s");
		json_array_foreach(regs, i, r) {
			char sz[32];

			size_text(r, sz, sizeof sz);
			fputs("- ", out);
			put_text(out, COREN_BENCH_MARKDOWN, str(r, "workload"));
			fprintf(out, " (size %s, %s): %+.1f%%, p = %.3g\n", sz,
				str(r, "metric"), 100 * get(r, "change"), get(r, "p"));
		}
	}
}

static void latex(FILE *out, const json_t *recs)
{
	bool cmp = any_baseline(recs);
	const json_t *r;
	size_t i, nh = 12 + (cmp ? NCMP : 0);

	fputs("\\begin{tabular}{lrl", out);
	for (i = 3; i < nh; i++)
		fputc(cmp && i == nh - 1 ? 'l' : 'r', out);
	fputs("}\n\\toprule\n", out);
	for (i = 0; i < nh; i++)
		fprintf(out, "%s%s", i ? " & " : "",
			i == 4 ? "$\\pm$CI" : i < 12 ? heads[i] : cmp_heads[i - 12]);
	fputs(" \\\\\n\\midrule\n", out);
	json_array_foreach(recs, i, r)
		human_row(out, COREN_BENCH_LATEX, r, cmp);
	fputs("\\bottomrule\n\\end{tabular}\n", out);
}

static void tsv(FILE *out, const json_t *recs)
{
	static const char *const num[] = {"mean", "ci_lo", "ci_hi", "median",
					  "stddev", "cv", "min", "max", "q1", "q3",
					  "iqr", "n", "outliers"};
	bool cmp = any_baseline(recs);
	const json_t *r, *k;
	size_t i, j;
	char sz[32];

	fputs("workload\tsize\tbackend\tmetric\tunit", out);
	for (j = 0; j < sizeof num / sizeof num[0]; j++)
		fprintf(out, "\t%s", num[j]);
	fputs(cmp ? "\tbaseline\tchange\tp\tdetectable\tverdict\n" : "\n", out);
	json_array_foreach(recs, i, r) {
		size_text(r, sz, sizeof sz);
		put_text(out, COREN_BENCH_TSV, str(r, "workload"));
		fprintf(out, "\t%s\t", sz);
		put_text(out, COREN_BENCH_TSV, str(r, "backend"));
		fputc('\t', out);
		put_text(out, COREN_BENCH_TSV, str(r, "metric"));
		fputc('\t', out);
		put_text(out, COREN_BENCH_TSV, str(r, "unit"));
		for (j = 0; j < sizeof num / sizeof num[0]; j++)
			fprintf(out, "\t%.6g", get(r, num[j]));
		if (cmp && (k = cmp_of(r)))
			fprintf(out, "\t%.6g\t%.6g\t%.6g\t%.6g\t%s", get(k, "mean"),
				get(k, "change"), get(k, "p"), get(k, "detectable"),
				str(k, "verdict"));
		else if (cmp)
			fputs("\t\t\t\t\tnew", out);
		fputc('\n', out);
	}
}

/* {"benchmarks": [...], "regressions": [...]}, a record per line. */
static void json_doc(FILE *out, const json_t *recs, const json_t *regs)
{
	const json_t *arrays[] = {recs, regs}, *r;
	const char *names[] = {"benchmarks", "regressions"};
	size_t i, k;
	char *s;

	for (k = 0; k < 2; k++) {
		fprintf(out, "%s\"%s\": [", k ? ",\n " : "{", names[k]);
		json_array_foreach(arrays[k], i, r) {
			s = coren_json_dumps(r, 0);
			fprintf(out, "%s\n  %s", i ? "," : "", s ? s : "null");
			free(s);
		}
		fputs(json_array_size(arrays[k]) ? "\n ]" : "]", out);
	}
	fputs("}\n", out);
}

enum coren_err coren_bench_report(FILE *out, enum coren_bench_format f,
				  const json_t *recs, const json_t *regs,
				  struct coren_error *err)
{
	const json_t *r;
	size_t i;

	switch (f) {
	case COREN_BENCH_MARKDOWN: markdown(out, recs, regs); break;
	case COREN_BENCH_LATEX: latex(out, recs); break;
	case COREN_BENCH_TSV: tsv(out, recs); break;
	case COREN_BENCH_JSON:
		json_doc(out, recs, regs);
		break;
	case COREN_BENCH_JSONL:
		json_array_foreach(recs, i, r)
			coren_record_write(out, r);
		if (regs)
			json_array_foreach(regs, i, r)
				coren_record_write(out, r);
		break;
	default:
		return coren_error_set(err, COREN_ERR_USAGE, "unknown report format");
	}
	if (ferror(out))
		return coren_error_set(err, COREN_ERR_IO, "cannot write the report");
	return COREN_OK;
}

/* gnuplot's terminal for path's extension, n panels high; NULL for
 * another extension. */
static const char *terminal(const char *path, int n, char *buf, size_t len)
{
	const char *dot = strrchr(path, '.');

	if (dot && !strcmp(dot, ".svg"))
		snprintf(buf, len, "svg size 900,%d dynamic font 'sans,11' noenhanced",
			 80 + 300 * n);
	else if (dot && !strcmp(dot, ".png"))
		snprintf(buf, len, "png size 900,%d noenhanced", 80 + 300 * n);
	else
		return NULL;
	return buf;
}

/* The plot's directory can be written: checked before anything runs. */
static enum coren_err plot_dir_check(const char *path, struct coren_error *err)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path),
			 path);
	if (access(dir, W_OK | X_OK))
		return coren_error_set(err, COREN_ERR_USAGE, "plot '%s': cannot write in '%s': %s",
				       path, dir, strerror(errno));
	return COREN_OK;
}

enum coren_err coren_bench_plot_check(const char *path, struct coren_error *err)
{
	char buf[128];

	if (!terminal(path, 1, buf, sizeof buf))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "plot '%s': the name must end in .svg or .png", path);
	if (strpbrk(path, "'\n"))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "plot '%s': a quote or newline in the name", path);
	return plot_dir_check(path, err);
}

/* The confidence level of the records' intervals. */
static double conf_of(const json_t *recs)
{
	double c = get(json_array_get(recs, 0), "confidence");

	return isfinite(c) ? c : 0.95;
}

static void y_axis(FILE *gp, unsigned flags);

/* Throughput against size, a line per workload measured at a size. */
static void plot_throughput(FILE *gp, const json_t *recs, unsigned flags)
{
	const char *w, *seen[64];
	size_t i, j, ns = 0;
	const json_t *r;

	json_array_foreach(recs, i, r) {
		if (strcmp(str(r, "metric"), "throughput") ||
		    !json_is_number(json_object_get(r, "size")))
			continue;
		w = str(r, "workload");
		for (j = 0; j < ns && strcmp(seen[j], w); j++)
			;
		if (j == ns && ns < 64)
			seen[ns++] = w;
	}
	if (!ns)
		return;
	fputs("set title 'throughput against size'\nunset logscale\n"
	      "set xlabel 'size'\nset ylabel 'ops/s'\nset key outside right\n"
	      "set grid\nset autoscale x\nset xtics autofreq norotate\n",
	      gp);
	y_axis(gp, flags);
	fputs("set logscale x\nplot ", gp); /* sizes span decades */
	for (j = 0; j < ns; j++)
		fprintf(gp, "%s'-' using 1:2 with linespoints title '%s'",
			j ? ", " : "", seen[j]);
	fputc('\n', gp);
	for (j = 0; j < ns; j++) {
		json_array_foreach(recs, i, r)
			if (!strcmp(str(r, "metric"), "throughput") &&
			    !strcmp(str(r, "workload"), seen[j]) &&
			    json_is_number(json_object_get(r, "size")))
				fprintf(gp, "%.17g %.17g\n", get(r, "size"), get(r, "mean"));
		fputs("e\n", gp);
	}
	fputs("unset logscale\nset key inside\n", gp);
}

/* A benchmark's label on an axis: "workload size", without the double
 * quotes gnuplot's data strings cannot hold. */
static void label_metric(FILE *gp, const json_t *r, bool metric)
{
	const char *w = str(r, "workload");
	char sz[32];

	size_text(r, sz, sizeof sz);
	fputc('"', gp);
	for (; *w; w++)
		fputc(*w == '"' ? '\'' : *w, gp);
	if (strcmp(sz, "-"))
		fprintf(gp, " %s", sz);
	if (metric)
		fprintf(gp, " %s", str(r, "metric"));
	fputc('"', gp);
}

static void label(FILE *gp, const json_t *r)
{
	label_metric(gp, r, false);
}

static bool is_time(const json_t *r)
{
	return !strcmp(str(r, "metric"), "time") && isfinite(get(r, "mean"));
}

static bool has_cmp(const json_t *r)
{
	return cmp_of(r) != NULL;
}

/* How many records pass the test: the bars of a panel. */
static size_t count(const json_t *recs, bool (*test)(const json_t *r))
{
	const json_t *r;
	size_t i, n = 0;

	json_array_foreach(recs, i, r)
		n += test(r);
	return n;
}

/* The unit the time panels are drawn in: the largest mean's. */
static double time_scale(const json_t *recs, const char **unit)
{
	double most = 0;
	const json_t *r;
	size_t i;

	json_array_foreach(recs, i, r)
		if (is_time(r) && get(r, "mean") > most)
			most = get(r, "mean");
	*unit = most >= 1 ? "s" : most >= 1e-3 ? "ms" : most >= 1e-6 ? "µs" : "ns";
	return most >= 1 ? 1 : most >= 1e-3 ? 1e3 : most >= 1e-6 ? 1e6 : 1e9;
}

/* The y axis: from zero unless a log scale was asked for. */
static void y_axis(FILE *gp, unsigned flags)
{
	if (flags & COREN_BENCH_PLOT_LOG)
		fputs("set logscale y\nset yrange [*:*]\n", gp);
	else
		fputs("unset logscale\nset yrange [0:*]\n", gp);
}

/* The mean of every timed benchmark with its confidence interval. */
static void plot_means(FILE *gp, const json_t *recs, unsigned flags)
{
	const char *unit;
	double k = time_scale(recs, &unit);
	const json_t *r;
	size_t i;

	fprintf(gp, "set title 'mean time, with its %.0f%% confidence interval'\n"
		"unset logscale\nset style fill solid 0.5\nset boxwidth 0.6\n"
		"set xtics rotate by -20\nset ylabel '%s'\nset xlabel ''\nunset key\n"
		"set grid ytics\nset xrange [-0.6:%zu.4]\n",
		100 * conf_of(recs), unit, count(recs, is_time) - 1);
	y_axis(gp, flags);
	fputs("plot '-' using 0:2:xtic(1) with boxes lc rgb '#4477aa', "
	      "'-' using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0\n", gp);
	for (int pass = 0; pass < 2; pass++) { /* the bars, then the intervals */
		json_array_foreach(recs, i, r) {
			if (!is_time(r))
				continue;
			label(gp, r);
			fprintf(gp, " %.9g %.9g %.9g\n", k * get(r, "mean"),
				k * get(r, "ci_lo"), k * get(r, "ci_hi"));
		}
		fputs("e\n", gp);
	}
}

/* Every sample of every timed benchmark, as box and whiskers (hyperfine's
 * plot_whisker.py). */
static void plot_whiskers(FILE *gp, const json_t *recs, unsigned flags)
{
	const char *unit;
	double k = time_scale(recs, &unit);
	const json_t *r, *x;
	size_t i, j, n = 0;

	fprintf(gp, "set title 'samples: median, quartiles, whiskers to 1.5 IQR'\n"
		"set style fill solid 0.3\nset boxwidth 0.5\nset ylabel '%s'\n"
		"unset key\nset xtics (",
		unit);
	json_array_foreach(recs, i, r)
		if (is_time(r) && json_array_size(json_object_get(r, "samples"))) {
			fputs(n ? ", " : "", gp);
			label(gp, r);
			fprintf(gp, " %zu", ++n);
		}
	fprintf(gp, ") rotate by -20\nset xrange [0.4:%zu.6]\n", n);
	y_axis(gp, flags);
	for (i = 0, n = 0; i < json_array_size(recs); i++)
		if (is_time(r = json_array_get(recs, i)) &&
		    json_array_size(json_object_get(r, "samples")))
		{
			fprintf(gp, "%s'-' using (%zu):1 with boxplot lc rgb '#4477aa'",
				n ? ", " : "plot ", n + 1);
			n++;
		}
	fputc('\n', gp);
	json_array_foreach(recs, i, r) {
		if (!is_time(r) || !json_array_size(json_object_get(r, "samples")))
			continue;
		json_array_foreach(json_object_get(r, "samples"), j, x)
			fprintf(gp, "%.9g\n", k * json_number_value(x));
		fputs("e\n", gp);
	}
	fputs("set autoscale x\nset xtics autofreq\n", gp);
}

/* The change of every benchmark against its baseline, as bars. */
static void plot_changes(FILE *gp, const json_t *recs)
{
	double lo = 0, hi = 0, c;
	const json_t *r, *k;
	size_t i;

	if (!any_baseline(recs))
		return;
	json_array_foreach(recs, i, r) /* the axis holds 0 and every change */
		if ((k = cmp_of(r)) && isfinite(c = 100 * get(k, "change"))) {
			lo = c < lo ? c : lo;
			hi = c > hi ? c : hi;
		}
	c = (hi - lo) * 0.1 + 1;
	fprintf(gp, "set title 'change against the baseline (%%)'\nunset logscale\n"
		"set style fill solid 0.6\nset boxwidth 0.7\nset xtics rotate by -30\n"
		"set ylabel '%%'\nset xlabel ''\nunset key\nset grid ytics\n"
		"set xrange [-0.6:%zu.4]\nset yrange [%.6g:%.6g]\n"
		"plot '-' using 0:2:xtic(1) with boxes lc rgb '#aa3377', 0 with lines "
		"lc rgb 'black'\n",
		count(recs, has_cmp) - 1, lo < 0 ? lo - c : 0,
		hi > 0 ? hi + c : lo < 0 ? 0 : 1); /* never an empty range */
	json_array_foreach(recs, i, r) {
		if (!(k = cmp_of(r)))
			continue;
		label_metric(gp, r, true);
		fprintf(gp, " %.6g\n", 100 * get(k, "change"));
	}
	fputs("e\n", gp);
}

/* Runs the script in gp's buffer through prog, its messages into a
 * temporary file: gnuplot's warnings never reach the user, and the first
 * line of its complaint goes into the error when it fails. */
static enum coren_err run_gnuplot(const char *prog, const char *script, size_t len,
				  const char *path, struct coren_error *err)
{
	char log[] = "/tmp/coren-gnuplot-XXXXXX", *cmd, why[256] = "";
	int fd = mkstemp(log), st;
	FILE *gp, *f;

	if (fd < 0)
		return coren_error_set(err, COREN_ERR_IO, "cannot make a temporary file");
	close(fd);
	/* gnuplot writes to stdout when it cannot open the output: never
	 * into the records */
	if (asprintf(&cmd, "'%s' >/dev/null 2>'%s'", prog, log) < 0) {
		unlink(log);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	gp = popen(cmd, "w");
	free(cmd);
	if (!gp) {
		unlink(log);
		return coren_error_set(err, COREN_ERR_IO, "cannot run gnuplot");
	}
	fwrite(script, 1, len, gp);
	st = pclose(gp);
	if (st && (f = fopen(log, "r"))) {
		while (fgets(why, sizeof why, f) && strspn(why, " ^\n") == strlen(why))
			;
		why[strcspn(why, "\n")] = '\0';
		memmove(why, why + strspn(why, " "), strlen(why + strspn(why, " ")) + 1);
		fclose(f);
	}
	unlink(log);
	if (st)
		return coren_error_set(err, COREN_ERR_IO, "gnuplot failed writing '%s'%s%s",
				       path, *why ? ": " : "", why);
	return COREN_OK;
}

enum coren_err coren_bench_plot(const char *path, const json_t *recs,
				struct coren_error *err)
{
	return coren_bench_plot_flags(path, recs, 0, err);
}

enum coren_err coren_bench_plot_flags(const char *path, const json_t *recs,
				      unsigned flags, struct coren_error *err)
{
	bool tp = false, ch = any_baseline(recs), tm = false;
	const char *prog = getenv("GNUPLOT");
	char *cmd, *script = NULL, term[128];
	const json_t *r;
	enum coren_err rc;
	size_t i, len = 0;
	FILE *gp;
	int st, n;

	if ((rc = coren_bench_plot_check(path, err)))
		return rc;
	if (!prog || !*prog)
		prog = "gnuplot";
	if (strchr(prog, '\'') ||
	    asprintf(&cmd, "command -v '%s' >/dev/null 2>&1", prog) < 0)
		return coren_error_set(err, COREN_ERR_USAGE, "bad GNUPLOT '%s'", prog);
	st = system(cmd);
	free(cmd);
	if (st)
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "gnuplot is not installed, so no plot "
				       "(apt-get install gnuplot-nox)");
	json_array_foreach(recs, i, r) {
		tp |= !strcmp(str(r, "metric"), "throughput") &&
		      json_is_number(json_object_get(r, "size"));
		tm |= is_time(r);
	}
	if (!(n = 2 * tm + tp + ch))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "nothing to plot: no time, no throughput at a "
				       "size, no baseline");
	if (!(gp = open_memstream(&script, &len)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	fprintf(gp, "set terminal %s\nset output '%s'\nset encoding utf8\n",
		terminal(path, n, term, sizeof term), path);
	fprintf(gp, "set multiplot layout %d,1\n", n);
	if (tm) {
		plot_means(gp, recs, flags);
		plot_whiskers(gp, recs, flags);
	}
	plot_throughput(gp, recs, flags);
	plot_changes(gp, recs);
	fputs("unset multiplot\n", gp);
	fclose(gp);
	rc = run_gnuplot(prog, script, len, path, err);
	free(script);
	return rc;
}
