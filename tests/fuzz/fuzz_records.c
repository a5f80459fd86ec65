/* libFuzzer harness: the record reader, field getters and writer. */
#include <coren/json.h>
#include <coren/record.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)(uintptr_t)data, size ? size : 1, "r");
	struct coren_error err = {0};
	struct coren_reader *r;
	json_t *rec;
	FILE *out;
	uint64_t u;
	double d;

	if (!in)
		return 0;
	{
		/* the flat scanner never accepts what the full parser refuses */
		struct coren_field f[16];
		int n = coren_record_scan_flat((const char *)data, size, f, 16);

		if (n >= 0) {
			json_t *v = coren_json_parse((const char *)data, size, NULL);

			if (!v || !json_is_object(v) || json_object_size(v) != (size_t)n)
				abort();
			json_decref(v);
		}
	}
	{
		/* nor does the value scanner (coren_json_scan), nor the
		 * scanner of msg records with any payload */
		size_t k = coren_json_scan((const char *)data, size);
		struct coren_field f[16];
		int n = coren_record_scan_values((const char *)data, size, f, 16);

		if (k) {
			json_t *v = coren_json_parse((const char *)data, k, NULL);

			if (!v || k > size)
				abort();
			json_decref(v);
		}
		if (n >= 0) {
			json_t *v = coren_json_parse((const char *)data, size, NULL);

			if (!v || !json_is_object(v) || json_object_size(v) != (size_t)n)
				abort();
			for (int i = 0; i < n; i++)
				if (f[i].kind == 'j' && f[i].vlen != coren_json_scan(f[i].val, f[i].vlen))
					abort();
			json_decref(v);
		}
	}
	{
		/* a function value is exact: what is stored reads back to the
		 * same bytes (boxes, big integers, float boxes included) */
		json_t *v = coren_json_parse_value((const char *)data, size, NULL);

		if (v) {
			char *a = coren_json_dumps(v, COREN_JSON_SORT_KEYS), *b = NULL;
			json_t *w = a ? coren_json_parse_value(a, strlen(a), NULL) : NULL;

			if (a && !w)
				abort();
			b = w ? coren_json_dumps(w, COREN_JSON_SORT_KEYS) : NULL;
			if (a && b && strcmp(a, b))
				abort();
			free(a);
			free(b);
			json_decref(w);
			json_decref(v);
		}
	}
	if (!size) {
		fclose(in);
		return 0;
	}
	out = fopen("/dev/null", "w");
	r = coren_reader_new(in, "fuzz", 4096);
	for (;;) {
		enum coren_err rc = coren_reader_next(r, &rec, &err);

		if (rc == COREN_ERR_IO || rc == COREN_ERR_NOMEM)
			break;
		if (rc)
			continue;
		if (!rec)
			break;
		coren_record_get_u64(rec, "flops", &u, &err);
		coren_record_get_double(rec, "score", &d, &err);
		coren_record_write(out, rec);
		json_decref(rec);
	}
	coren_reader_free(r);
	fclose(in);
	fclose(out);
	return 0;
}
