#include "tap.h"
#include <coren/json.h>
#include <coren/table.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fmt_is(double v, enum coren_unit u, const char *want)
{
	char buf[64];

	is_str(coren_format_unit(v, u, buf, sizeof buf), want, "format %g -> %s", v, want);
}

int main(void)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *out;
	struct coren_table *t;
	json_t *rec;
	static const struct coren_column cols[] = {
		{"name", "NAME", COREN_UNIT_TEXT},
		{"cost.flops", "W", COREN_UNIT_COUNT},
		{"mem", "Q", COREN_UNIT_BYTES},
		{"score", "SCORE", COREN_UNIT_SECONDS},
	};

	fmt_is(200e6, COREN_UNIT_COUNT, "200.0M");
	fmt_is(1500, COREN_UNIT_COUNT, "1.5k");
	fmt_is(999, COREN_UNIT_COUNT, "999");
	fmt_is(0.5, COREN_UNIT_COUNT, "0.5");
	fmt_is(18446744073709551615.0, COREN_UNIT_COUNT, "18.4E");
	fmt_is(1.2 * 1024 * 1024 * 1024, COREN_UNIT_BYTES, "1.2GiB");
	fmt_is(512, COREN_UNIT_BYTES, "512B");
	fmt_is(1024, COREN_UNIT_BYTES, "1.0KiB");
	fmt_is(9.8 * 1024 * 1024 * 1024, COREN_UNIT_BYTES_PER_S, "9.8GiB/s");
	fmt_is(1.2e12, COREN_UNIT_FLOPS, "1.2TFLOP/s");
	fmt_is(850e-9, COREN_UNIT_SECONDS, "850ns");
	fmt_is(12.3e-6, COREN_UNIT_SECONDS, "12.3us");
	fmt_is(4.5e-3, COREN_UNIT_SECONDS, "4.5ms");
	fmt_is(2.345, COREN_UNIT_SECONDS, "2.35s");
	fmt_is(187, COREN_UNIT_SECONDS, "3m07s");
	fmt_is(7500, COREN_UNIT_SECONDS, "2h05m");
	fmt_is(-0.25, COREN_UNIT_SECONDS, "-250.0ms");
	fmt_is(0, COREN_UNIT_SECONDS, "0s");
	fmt_is(INFINITY, COREN_UNIT_SECONDS, "+inf");
	fmt_is(-INFINITY, COREN_UNIT_COUNT, "-inf");

	out = open_memstream(&buf, &n);
	t = coren_table_new(out, cols, 4);
	rec = json_loads("{\"name\":\"sort\",\"cost\":{\"flops\":199315686},\"mem\":1073741824,\"score\":0.0123}", 0, NULL);
	coren_table_add(t, rec);
	json_decref(rec);
	rec = json_loads("{\"name\":\"hash-64MB\",\"cost\":{\"flops\":5},\"score\":\"+inf\"}", 0, NULL);
	coren_table_add(t, rec);
	json_decref(rec);
	is_int(coren_table_flush(t), COREN_OK, "flush succeeds");
	coren_table_free(t);
	fclose(out);
	is_str(buf,
	       "NAME            W       Q   SCORE\n"
	       "sort       199.3M  1.0GiB  12.3ms\n"
	       "hash-64MB       5       -    +inf\n",
	       "aligned table: text left, numbers and their headings right, '-' for missing, strings as is");
	free(buf);
	coren_table_free(NULL);

	{ /* identifiers are never cut silently */
		static const struct coren_column id[] = {{"id", "ID", COREN_UNIT_TEXT}};
		char id64[65], long_text[400], want[400];

		memset(id64, 'a', 64);
		id64[64] = '\0';
		memset(long_text, 'b', 399);
		long_text[399] = '\0';
		buf = NULL;
		out = open_memstream(&buf, &n);
		t = coren_table_new(out, id, 1);
		rec = json_pack("{ss}", "id", id64);
		coren_table_add(t, rec);
		json_decref(rec);
		rec = json_pack("{ss}", "id", long_text);
		coren_table_add(t, rec);
		json_decref(rec);
		coren_table_flush(t);
		coren_table_free(t);
		fclose(out);
		snprintf(want, sizeof want, "ID\n%s\n%.252s...\n", id64, long_text);
		is_str(buf, want, "a 64-character id whole; a longer text cut with a visible '...'");
		free(buf);
	}
	return done_testing();
}
