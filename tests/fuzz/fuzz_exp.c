/* libFuzzer harness: an experiment from YAML, then its plan and the ids
 * and points of its first chunks. */
#define _GNU_SOURCE
#include <coren/memo.h>
#include <coren/yaml.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_error err = {0};
	struct coren_yaml_doc *doc;
	struct coren_memo_exp e;
	struct coren_memo_plan *p = NULL;

	/* ranges ({from, to}) may ask for 10^8 values: unit-tested instead */
	if (memmem(data, size, "from", 4) ||
	    coren_yaml_load_buffer((const char *)data, size, "fuzz", &doc, &err))
		return 0;
	coren_memo_exp_init(&e);
	if (!coren_memo_exp_load_yaml(&e, coren_yaml_root(doc), "dir", &err) &&
	    !coren_memo_exp_finish(&e, &err) &&
	    !coren_memo_plan_new(&e, &p, &err)) {
		size_t *bins = calloc(e.naxes + 1, sizeof *bins);
		size_t *vidx = calloc(e.naxes + 1, sizeof *vidx);
		char id[65];

		for (uint64_t c = 0; bins && vidx && c < coren_memo_plan_chunks(p) && c < 8; c++) {
			struct coren_buf t;

			coren_memo_plan_chunk_bins(p, c, bins);
			coren_memo_plan_chunk_id(p, bins, NULL, id);
			coren_memo_plan_point(p, bins, 0, vidx);
			coren_buf_init(&t, 0);
			coren_memo_plan_point_text(p, vidx, &t);
			coren_buf_release(&t);
		}
		free(bins);
		free(vidx);
		coren_memo_plan_free(p);
	}
	coren_memo_exp_release(&e);
	coren_yaml_free(doc);
	return 0;
}
