/* libFuzzer harness: the cost expression parser. */
#include <coren/cost.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_error err = {0};
	struct coren_cost c;
	char *expr = malloc(size + 1), *name = NULL;
	size_t col = 0;

	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (coren_cost_parse(expr, &c, &name, &col, &err) == COREN_OK) {
		json_t *rec = coren_cost_to_record(&c, name);
		json_decref(rec);
	} else if (col > strlen(expr) + 1) {
		abort(); /* an error column must point into the expression */
	}
	free(name);
	free(expr);
	return 0;
}
