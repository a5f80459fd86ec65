/* histogram - counts float32 values into bins equal-width bins over
 * [lo, hi) (arguments bins, default 10, lo 0, hi 1; values outside fall in
 * the first or last bin). Answers with the uint64 counts of the message; the
 * counts over every message are the kernel's state. */
#include "kernel_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct histogram {
	size_t bins;
	double lo, hi;
	uint64_t *total;
	uint64_t messages;
};

static enum coren_err histogram_init(void **state, const json_t *args,
				     struct coren_error *err)
{
	double bins = kernel_arg(args, "bins", 10);
	struct histogram *h = calloc(1, sizeof *h);

	if (!h)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	h->lo = kernel_arg(args, "lo", 0);
	h->hi = kernel_arg(args, "hi", 1);
	if (!(bins >= 1 && bins <= HISTOGRAM_BINS_MAX) || bins != floor(bins) ||
	    !(h->hi > h->lo)) {
		free(h);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "histogram: bins must be 1 to %d and lo < hi", HISTOGRAM_BINS_MAX);
	}
	h->bins = (size_t)bins;
	h->total = calloc(h->bins, sizeof *h->total);
	if (!h->total) {
		free(h);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	*state = h;
	return COREN_OK;
}

static void histogram_fini(void *state)
{
	struct histogram *h = state;

	free(h->total);
	free(h);
}

static enum coren_err histogram_handle(void *state, struct coren_rk_ctx *ctx,
				       struct coren_rk_msg *m,
				       struct coren_error *err)
{
	struct histogram *h = state;
	struct coren_rk_msg *out;
	uint64_t *counts;
	const float *v = NULL;
	size_t n = 0;

	if (kernel_f32(m, "histogram", &v, &n, err))
		return err ? err->code : COREN_ERR_RECORD;
	out = coren_rk_msg_new(h->bins * sizeof *counts);
	if (!out)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	counts = (uint64_t *)out->payload;
	memset(counts, 0, h->bins * sizeof *counts);
	for (size_t i = 0; i < n; i++)
		counts[histogram_bin((uint32_t)h->bins, h->lo, h->hi, v[i])]++;
	for (size_t b = 0; b < h->bins; b++)
		h->total[b] += counts[b];
	h->messages++;
	out->hdr.payload_size = (uint32_t)(h->bins * sizeof *counts);
	out->hdr.encoding = COREN_RK_ENC_U64;
	out->hdr.message_type = m->hdr.message_type;
	return coren_rk_reply(ctx, out);
}

static json_t *histogram_status(void *state)
{
	struct histogram *h = state;
	json_t *counts = json_array();

	for (size_t b = 0; b < h->bins; b++)
		json_array_append_new(counts, json_integer((json_int_t)h->total[b]));
	return json_pack("{s:I,s:f,s:f,s:I,s:o}", "bins", (json_int_t)h->bins,
			 "lo", h->lo, "hi", h->hi, "messages", (json_int_t)h->messages,
			 "counts", counts);
}

#ifdef HAVE_CUDA
static void histogram_setup(const void *kstate, void *dstate, struct coren_rk_actor *a)
{
	const struct histogram *h = kstate;
	struct histogram_dev *d = dstate;

	(void)a;
	d->bins = (uint32_t)h->bins;
	d->lo = h->lo;
	d->hi = h->hi;
}

static json_t *histogram_gpu_status(const void *dstate)
{
	const struct histogram_dev *d = dstate;
	json_t *counts = json_array();

	for (uint32_t b = 0; b < d->bins && b < HISTOGRAM_BINS_MAX; b++)
		json_array_append_new(counts, json_integer((json_int_t)d->total[b]));
	return json_pack("{s:I,s:f,s:f,s:I,s:o}", "bins", (json_int_t)d->bins,
			 "lo", d->lo, "hi", d->hi, "messages", (json_int_t)d->messages,
			 "counts", counts);
}
#endif

KERNEL_CUDA(coren_histogram_loop, sizeof(struct histogram_dev), histogram_setup,
	    histogram_gpu_status)

static const struct coren_kernel_arg args[] = {
	{"bins", COREN_KARG_INTEGER, 0, 1, HISTOGRAM_BINS_MAX},
	{"lo", COREN_KARG_NUMBER, 0, 0, 0},
	{"hi", COREN_KARG_NUMBER, 0, 0, 0},
	{NULL, 0, 0, 0, 0}};

static const struct coren_kernel_ops ops = {
	.struct_size = sizeof ops,
	.flags = KERNEL_FLAGS,
	.init = histogram_init,
	.fini = histogram_fini,
	.handle = histogram_handle,
	.status = histogram_status,
	.cuda = KERNEL_CUDA_ENTRY,
	.args = args,
};

COREN_PLUGIN_DESCRIBE(COREN_PLUGIN_KERNEL, "histogram", "1.0",
		      "counts float32 values in bins (bins=N,lo=X,hi=Y)", &ops)
