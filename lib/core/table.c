/* table.c - human units and aligned tables (coren/table.h). */
#include "config.h"

#include <coren/json.h>
#include <coren/table.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_BLOCK 1000 /* rows buffered before printing */
/* A cell holds at most CELL_MAX - 1 bytes: a 64-character chunk id or
 * SHA-256 fits whole; a longer text is cut and ends with CELL_CUT, never
 * cut silently (--json keeps every value whole). */
#define CELL_MAX 256
#define CELL_CUT "..."

/* v scaled by step into buf with one decimal and a prefix from prefixes. */
static char *scaled(double v, double step, const char *const *prefixes,
		    size_t nprefix, const char *suffix, char *buf, size_t n)
{
	double a = fabs(v);
	size_t i = 0;

	while (a >= step && i + 1 < nprefix) {
		a /= step;
		v /= step;
		i++;
	}
	if (i == 0 && v == floor(v) && a < 1e15)
		snprintf(buf, n, "%.0f%s", v, suffix);
	else
		snprintf(buf, n, "%.1f%s%s", v, prefixes[i], suffix);
	return buf;
}

static char *seconds(double s, char *buf, size_t n)
{
	double a = fabs(s);

	if (a == 0)
		snprintf(buf, n, "0s");
	else if (a < 1e-6)
		snprintf(buf, n, "%.0fns", s * 1e9);
	else if (a < 1e-3)
		snprintf(buf, n, "%.1fus", s * 1e6);
	else if (a < 1)
		snprintf(buf, n, "%.1fms", s * 1e3);
	else if (a < 60)
		snprintf(buf, n, "%.2fs", s);
	else if (a < 3600)
		snprintf(buf, n, "%s%dm%02ds", s < 0 ? "-" : "", (int)(a / 60),
			 (int)fmod(a, 60));
	else if (a < 1e9)
		snprintf(buf, n, "%s%.0fh%02dm", s < 0 ? "-" : "",
			 floor(a / 3600), (int)fmod(a / 60, 60));
	else
		snprintf(buf, n, "%.3gs", s);
	return buf;
}

char *coren_format_unit(double v, enum coren_unit unit, char *buf, size_t n)
{
	static const char *const si[] = {"", "k", "M", "G", "T", "P", "E"};
	static const char *const iec[] = {"",	 "Ki", "Mi", "Gi",
					  "Ti", "Pi", "Ei"};

	if (!isfinite(v)) {
		snprintf(buf, n, "%s", isnan(v) ? "nan" : v > 0 ? "+inf" : "-inf");
		return buf;
	}
	switch (unit) {
	case COREN_UNIT_COUNT:
		return scaled(v, 1000, si, 7, "", buf, n);
	case COREN_UNIT_BYTES:
		return scaled(v, 1024, iec, 7, "B", buf, n);
	case COREN_UNIT_BYTES_PER_S:
		return scaled(v, 1024, iec, 7, "B/s", buf, n);
	case COREN_UNIT_FLOPS:
		return scaled(v, 1000, si, 7, "FLOP/s", buf, n);
	case COREN_UNIT_SECONDS:
		return seconds(v, buf, n);
	default:
		snprintf(buf, n, "%g", v);
		return buf;
	}
}

struct coren_table {
	FILE *out;
	struct coren_column *cols;
	size_t ncols;
	size_t *width;
	char **cells; /* TABLE_BLOCK rows of ncols cells */
	size_t rows;
	int heading_done;
};

struct coren_table *coren_table_new(FILE *out, const struct coren_column *cols,
				    size_t ncols)
{
	struct coren_table *t = calloc(1, sizeof *t);
	size_t i;

	if (!t)
		return NULL;
	t->out = out;
	t->ncols = ncols;
	t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
	t->width = calloc(ncols ? ncols : 1, sizeof *t->width);
	t->cells = calloc(TABLE_BLOCK * (ncols ? ncols : 1), sizeof *t->cells);
	if (!t->cols || !t->width || !t->cells) {
		coren_table_free(t);
		return NULL;
	}
	memcpy(t->cols, cols, ncols * sizeof *cols);
	for (i = 0; i < ncols; i++)
		t->width[i] = strlen(cols[i].title);
	return t;
}

/* rec's value at a dotted path, or NULL. */
static const json_t *lookup(const json_t *rec, const char *path)
{
	char key[128];
	const char *dot;

	while ((dot = strchr(path, '.')) && rec) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		rec = json_object_get(rec, key);
		path = dot + 1;
	}
	return rec ? json_object_get(rec, path) : NULL;
}

/* s (malloc'd) cut to fit a cell, with CELL_CUT at the end when cut; the
 * cut never splits a UTF-8 character. */
static char *cell_fit(char *s)
{
	size_t n;

	if (!s || strlen(s) < CELL_MAX)
		return s;
	n = CELL_MAX - sizeof CELL_CUT;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(s + n, CELL_CUT, sizeof CELL_CUT);
	return s;
}

static char *cell_text(const json_t *v, enum coren_unit unit)
{
	char buf[CELL_MAX];
	double d;

	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return cell_fit(strdup(json_string_value(v)));
	if (unit != COREN_UNIT_TEXT && coren_json_get_double(v, &d) == 0)
		return strdup(coren_format_unit(d, unit, buf, sizeof buf));
	return cell_fit(coren_json_dumps(v, 0));
}

enum coren_err coren_table_add(struct coren_table *t, const json_t *rec)
{
	enum coren_err rc;
	size_t i;

	if (t->rows == TABLE_BLOCK && (rc = coren_table_flush(t)))
		return rc;
	for (i = 0; i < t->ncols; i++) {
		char *s = cell_text(lookup(rec, t->cols[i].field),
				    t->cols[i].unit);

		if (!s)
			return COREN_ERR_NOMEM;
		t->cells[t->rows * t->ncols + i] = s;
		if (strlen(s) > t->width[i])
			t->width[i] = strlen(s);
	}
	t->rows++;
	return COREN_OK;
}

static void print_row(struct coren_table *t, const char *const *cells)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		int w = (int)t->width[i];
		int left = t->cols[i].unit == COREN_UNIT_TEXT;
		const char *sep = i + 1 < t->ncols ? "  " : "";

		if (left && i + 1 == t->ncols)
			fprintf(t->out, "%s", cells[i]);
		else
			fprintf(t->out, left ? "%-*s%s" : "%*s%s", w, cells[i],
				sep);
	}
	fputc('\n', t->out);
}

enum coren_err coren_table_flush(struct coren_table *t)
{
	size_t r, i;

	if (!t->heading_done) {
		const char **titles =
			malloc((t->ncols ? t->ncols : 1) * sizeof *titles);

		if (!titles)
			return COREN_ERR_NOMEM;
		for (i = 0; i < t->ncols; i++)
			titles[i] = t->cols[i].title;
		print_row(t, titles);
		free((void *)titles);
		t->heading_done = 1;
	}
	for (r = 0; r < t->rows; r++) {
		print_row(t, (const char *const *)(t->cells + r * t->ncols));
		for (i = 0; i < t->ncols; i++) {
			free(t->cells[r * t->ncols + i]);
			t->cells[r * t->ncols + i] = NULL;
		}
	}
	t->rows = 0;
	return ferror(t->out) ? COREN_ERR_IO : COREN_OK;
}

void coren_table_free(struct coren_table *t)
{
	size_t i;

	if (!t)
		return;
	if (t->cells)
		for (i = 0; i < t->rows * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t->cols);
	free(t);
}
