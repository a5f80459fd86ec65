#include "tap.h"
#include <coren/json.h>
#include <coren/record.h>
#include <stdlib.h>

static struct coren_reader *reader_on(const char *text, size_t max, FILE **fp)
{
	*fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	return coren_reader_new(*fp, "in.jsonl", max);
}

int main(void)
{
	const char *input =
		"{\"type\":\"cost\",\"flops\":12}\n"
		"\n"
		"   \n"
		"{\"type\":\"cost\",\"flops\":\"x\"}\n"
		"{\"type\":7}\n"
		"[1,2]\n"
		"{\"flops\":1}\n"
		"{\"type\":\"cost\",\"flops\":1\n"
		"{\"type\":\"cap\",\"w\":18446744073709551615}";
	struct coren_error e = {0};
	struct coren_reader *r;
	json_t *rec;
	uint64_t u;
	double d;
	const char *s;
	bool b;
	size_t len;
	FILE *fp;

	r = reader_on(input, 0, &fp);
	is_int(coren_reader_next(r, &rec, &e), COREN_OK, "line 1 reads");
	is_str(coren_record_type(rec), "cost", "type is cost");
	is_int(coren_record_get_u64(rec, "flops", &u, &e), COREN_OK, "flops is u64");
	is_u64(u, 12, "flops value");
	s = coren_reader_raw(r, &len);
	ok(len == 26 && !strncmp(s, "{\"type\":\"cost\",\"flops\":12}", len), "raw line kept");
	json_decref(rec);

	is_int(coren_reader_next(r, &rec, &e), COREN_OK, "line 4 reads (blank lines skipped)");
	is_int((int)coren_reader_lineno(r), 4, "line number counts blank lines");
	is_int(coren_record_get_u64(rec, "flops", &u, &e), COREN_ERR_RECORD, "string flops refused");
	coren_reader_locate(r, &e);
	is_str(e.where, "in.jsonl:4", "position of the bad field");
	is_str(e.msg, "field 'flops' is not an unsigned integer", "message names the field");
	json_decref(rec);

	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_RECORD, "non-string type");
	ok(rec == NULL, "no record on error");
	is_str(e.where, "in.jsonl:5", "position of non-string type");
	is_str(e.msg, "field 'type' is not a string", "non-string type message");
	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_RECORD, "array is not a record");
	is_str(e.msg, "record is not a JSON object", "not an object message");
	is_str(e.where, "in.jsonl:6", "position of the array");
	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_RECORD, "missing type");
	is_str(e.msg, "record has no 'type' field", "missing type message");
	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_JSON, "truncated object");
	is_str(e.where, "in.jsonl:8", "position of invalid JSON");
	ok(strstr(e.msg, "invalid JSON at column") != NULL, "invalid JSON message has a column");
	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_OK, "last line without newline reads");
	is_int(coren_record_get_u64(rec, "w", &u, &e), COREN_OK, "u64 max field");
	is_u64(u, UINT64_MAX, "u64 max exact");
	json_decref(rec);
	is_int(coren_reader_next(r, &rec, &e), COREN_OK, "end of input");
	ok(rec == NULL, "NULL record at end");
	coren_reader_free(r);
	fclose(fp);

	/* line cap: an overlong line is an error, the next line still reads */
	r = reader_on("{\"type\":\"a\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"type\":\"b\"}\n", 32, &fp);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_TOOLONG, "overlong line refused");
	is_str(e.msg, "record longer than 32 bytes", "overlong message");
	is_str(e.where, "in.jsonl:1", "overlong position");
	coren_error_clear(&e);
	is_int(coren_reader_next(r, &rec, &e), COREN_OK, "reader resumes after overlong line");
	is_str(coren_record_type(rec), "b", "the next record");
	is_int((int)coren_reader_lineno(r), 2, "line number after overlong line");
	json_decref(rec);
	coren_reader_free(r);
	fclose(fp);

	/* many lines of many lengths, across the reader's 64 KiB blocks: every
	 * raw line comes back whole and NUL-terminated */
	{
		char *buf = NULL, line[3000];
		size_t n = 0;
		FILE *out = open_memstream(&buf, &n);
		int i, bad = 0, count = 0;
		const char *raw;

		for (i = 0; i < 20000; i++)
			fprintf(out, "{\"type\":\"t\",\"i\":%d,\"pad\":\"%.*s\"}\n", i,
				(i * 7919) % 2500, "");
		fclose(out);
		/* the pads above are empty; make them long without printf */
		fp = fmemopen(buf, n, "r");
		r = coren_reader_new(fp, "many", 0);
		for (i = 0; coren_reader_next_line(r, &raw, &len, &e) == COREN_OK && raw; i++) {
			snprintf(line, sizeof line, "{\"type\":\"t\",\"i\":%d,\"pad\":\"\"}", i);
			if (strlen(raw) != len || strcmp(raw, line))
				bad++;
			count++;
		}
		is_int(count, 20000, "20000 lines read");
		is_int(bad, 0, "each whole and NUL-terminated");
		coren_reader_free(r);
		fclose(fp);
		free(buf);
	}
	{
		/* long lines: 1..200000 bytes, crossing block boundaries */
		char *buf = NULL;
		size_t n = 0, want[40];
		FILE *out = open_memstream(&buf, &n);
		int i, j, bad = 0;
		const char *raw;

		for (i = 0; i < 40; i++) {
			want[i] = (size_t)(i * 4999 + 1) * (i % 3 ? 1 : 5);
			for (j = 0; (size_t)j < want[i]; j++)
				fputc('a' + (i + j) % 26, out);
			fputc('\n', out);
		}
		fclose(out);
		fp = fmemopen(buf, n, "r");
		r = coren_reader_new(fp, "long", 0);
		for (i = 0; i < 40; i++) {
			if (coren_reader_next_line(r, &raw, &len, &e) || !raw || len != want[i] ||
			    strlen(raw) != len || raw[0] != 'a' + i % 26 || raw[len - 1] != 'a' + (int)((i + len - 1) % 26))
				bad++;
		}
		is_int(bad, 0, "40 long lines across blocks, whole");
		is_int(coren_reader_next_line(r, &raw, &len, &e), COREN_OK, "then the end");
		ok(raw == NULL, "no more lines");
		coren_reader_free(r);
		fclose(fp);
		free(buf);
	}

	/* invalid UTF-8 and NUL bytes */
	r = reader_on("{\"type\":\"\xff\"}\n", 0, &fp);
	is_int(coren_reader_next(r, &rec, &e), COREN_ERR_JSON, "invalid UTF-8 refused");
	coren_reader_free(r);
	fclose(fp);

	/* typed getters */
	rec = json_loads("{\"type\":\"t\",\"d\":1.5,\"i\":3,\"s\":\"x\",\"b\":true,\"o\":{},\"a\":[],\"neg\":-1}", 0, NULL);
	ok(coren_record_get_double(rec, "d", &d, &e) == COREN_OK && d == 1.5, "double from real");
	ok(coren_record_get_double(rec, "i", &d, &e) == COREN_OK && d == 3, "double from integer");
	is_int(coren_record_get_double(rec, "s", &d, &e), COREN_ERR_RECORD, "double from string refused");
	is_str(e.msg, "field 's' is not a number", "number message");
	ok(coren_record_get_string(rec, "s", &s, &e) == COREN_OK && !strcmp(s, "x"), "string");
	is_int(coren_record_get_string(rec, "i", &s, &e), COREN_ERR_RECORD, "string from int refused");
	ok(coren_record_get_bool(rec, "b", &b, &e) == COREN_OK && b, "bool");
	is_int(coren_record_get_bool(rec, "s", &b, &e), COREN_ERR_RECORD, "bool from string refused");
	{
		const json_t *o;
		is_int(coren_record_get_object(rec, "o", &o, &e), COREN_OK, "object");
		is_int(coren_record_get_object(rec, "a", &o, &e), COREN_ERR_RECORD, "object from array refused");
		is_int(coren_record_get_array(rec, "a", &o, &e), COREN_OK, "array");
		is_int(coren_record_get_array(rec, "o", &o, &e), COREN_ERR_RECORD, "array from object refused");
	}
	is_int(coren_record_get_u64(rec, "neg", &u, &e), COREN_ERR_RECORD, "negative refused as u64");
	is_int(coren_record_get_u64(rec, "d", &u, &e), COREN_ERR_RECORD, "real refused as u64");
	is_int(coren_record_get_u64(rec, "nope", &u, &e), COREN_ERR_RECORD, "missing field");
	is_str(e.msg, "missing field 'nope'", "missing field message");
	json_decref(rec);

	/* writing */
	{
		char *buf = NULL;
		size_t n = 0;
		FILE *out = open_memstream(&buf, &n);
		struct coren_error ee = {0};
		json_t *er;

		rec = coren_record_new("cost");
		json_object_set_new(rec, "flops", coren_json_u64(UINT64_MAX));
		json_object_set_new(rec, "t", json_real(0.5));
		coren_record_write(out, rec);
		json_decref(rec);
		coren_record_write_raw(out, "{\"type\":\"x\", \"kept\" : 1}", 24);
		coren_error_set(&ee, COREN_ERR_RECORD, "field 'flops' is not an unsigned integer");
		coren_error_at(&ee, "stdin:1532");
		er = coren_record_from_error(&ee);
		coren_record_write(out, er);
		json_decref(er);
		fclose(out);
		is_str(buf, "{\"type\":\"cost\",\"flops\":18446744073709551615,\"t\":0.5}\n"
			    "{\"type\":\"x\", \"kept\" : 1}\n"
			    "{\"type\":\"error\",\"at\":\"stdin:1532\",\"reason\":\"field 'flops' is not an unsigned integer\"}\n",
		       "records written compactly, raw lines unchanged, error record");
		free(buf);
	}

	/* output mode */
	fp = tmpfile();
	ok(!coren_output_is_table(COREN_OUTPUT_AUTO, fp), "auto on a file is JSONL");
	ok(coren_output_is_table(COREN_OUTPUT_TABLE, fp), "--table forces a table");
	ok(!coren_output_is_table(COREN_OUTPUT_JSON, fp), "--json forces JSONL");
	fclose(fp);
	return done_testing();
}
