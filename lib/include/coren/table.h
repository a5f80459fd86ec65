/* coren/table.h - aligned human tables and human-readable units.
 *
 * Counts and rates use SI multiples (200.0M, 1.5k); bytes use binary
 * multiples with IEC names (1.2GiB = 1.2 * 2^30 bytes); seconds pick a
 * readable unit (850ns, 12.3us, 4.5ms, 2.35s, 3m07s, 2h05m).
 */
#ifndef COREN_TABLE_H
#define COREN_TABLE_H

#include <coren/error.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_unit {
	COREN_UNIT_TEXT = 0,	/* as is: strings bare, other JSON compact */
	COREN_UNIT_COUNT,	/* SI: 200.0M */
	COREN_UNIT_BYTES,	/* binary: 1.2GiB */
	COREN_UNIT_BYTES_PER_S, /* binary: 9.8GiB/s */
	COREN_UNIT_FLOPS,	/* SI: 1.2TFLOP/s */
	COREN_UNIT_SECONDS	/* 12.3ms */
};

/* Formats v in unit into buf (always NUL-terminated); returns buf. */
char *coren_format_unit(double v, enum coren_unit unit, char *buf, size_t n);

struct coren_column {
	const char *field; /* record field; "a.b" reaches into objects */
	const char *title; /* column heading */
	enum coren_unit unit;
};

struct coren_table;

/* A table printing to out with these columns (copied). Rows are buffered
 * and printed, aligned, by coren_table_flush() or every 1000 rows. */
struct coren_table *coren_table_new(FILE *out, const struct coren_column *cols,
				    size_t ncols);

/* Adds a row from rec. A missing field prints as "-"; a string in a numeric
 * column (e.g. "+inf") prints as is. */
enum coren_err coren_table_add(struct coren_table *t, const json_t *rec);

/* Prints the heading and the buffered rows. COREN_ERR_IO if out failed. */
enum coren_err coren_table_flush(struct coren_table *t);

/* Flushes nothing; frees the table (accepts NULL). */
void coren_table_free(struct coren_table *t);

#ifdef __cplusplus
}
#endif
#endif
