/* hints.c - hot-path hints: a bounded LRU of dispatch timings per region,
 * persisted as JSON Lines. */
#include "config.h"

#include <coren/buf.h>
#include <coren/file.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/rkpolicy.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum coren_err coren_hints_init(struct coren_hints *h, size_t capacity,
				double hot_ns)
{
	memset(h, 0, sizeof *h);
	h->capacity = capacity ? capacity : COREN_HINTS_CAPACITY_DEFAULT;
	h->hot_ns = hot_ns > 0 ? hot_ns : COREN_HINTS_HOT_NS_DEFAULT;
	h->v = calloc(h->capacity, sizeof *h->v);
	return h->v ? COREN_OK : COREN_ERR_NOMEM;
}

void coren_hints_release(struct coren_hints *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}

static struct coren_hint *find(const struct coren_hints *h, const char *region)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strncmp(h->v[i].region, region, COREN_HINTS_NAME_MAX - 1))
			return &h->v[i];
	return NULL;
}

/* The entry for region, made (evicting the least recently used) if new. */
static struct coren_hint *entry(struct coren_hints *h, const char *region)
{
	struct coren_hint *e = find(h, region);

	if (e)
		return e;
	if (h->n < h->capacity) {
		e = &h->v[h->n++];
	} else {
		e = &h->v[0];
		for (size_t i = 1; i < h->n; i++)
			if (h->v[i].last_use < e->last_use)
				e = &h->v[i];
		h->evictions++;
	}
	memset(e, 0, sizeof *e);
	snprintf(e->region, sizeof e->region, "%s", region);
	return e;
}

/* Folds count samples of mean and max into e. */
static void merge(struct coren_hint *e, uint64_t count, double mean,
		  double max, uint64_t bytes)
{
	double total = (double)e->count + (double)count;

	if (!count)
		return;
	e->mean_ns = (e->mean_ns * (double)e->count + mean * (double)count) / total;
	e->count += count;
	if (max > e->max_ns)
		e->max_ns = max;
	e->bytes += bytes;
}

enum coren_err coren_hints_record(struct coren_hints *h, const char *region,
				  double ns, uint64_t bytes)
{
	struct coren_hint *e = entry(h, region);

	merge(e, 1, ns, ns, bytes);
	e->last_use = ++h->clock;
	return COREN_OK;
}

const struct coren_hint *coren_hints_get(const struct coren_hints *h,
					 const char *region)
{
	return find(h, region);
}

bool coren_hints_is_hot(const struct coren_hints *h, const char *region)
{
	const struct coren_hint *e = find(h, region);

	return e && e->count && e->mean_ns >= h->hot_ns;
}

enum coren_err coren_hints_save(const struct coren_hints *h, const char *path,
				struct coren_error *err)
{
	struct coren_buf b;
	enum coren_err rc = COREN_OK;

	coren_buf_init(&b, 0);
	for (size_t i = 0; i < h->n && !rc; i++) {
		const struct coren_hint *e = &h->v[i];
		json_t *r = coren_record_new("hint");

		json_object_set_new(r, "region", json_string(e->region));
		json_object_set_new(r, "count", coren_json_u64(e->count));
		json_object_set_new(r, "mean_ns", json_real(e->mean_ns));
		json_object_set_new(r, "max_ns", json_real(e->max_ns));
		json_object_set_new(r, "bytes", coren_json_u64(e->bytes));
		json_object_set_new(r, "hot", json_boolean(e->mean_ns >= h->hot_ns));
		rc = coren_json_dumpb(r, 0, &b);
		if (!rc)
			rc = coren_buf_putc(&b, '\n');
		json_decref(r);
	}
	if (!rc)
		rc = coren_file_replace(path, b.data ? b.data : "", b.len, 0644, err);
	else
		coren_error_set(err, rc, "cannot format hints");
	coren_buf_release(&b);
	return rc;
}

static enum coren_err load_record(struct coren_hints *h, const json_t *rec,
				  struct coren_error *err)
{
	const char *region;
	uint64_t count, bytes;
	double mean, max;
	struct coren_hint *e;

	if (strcmp(coren_record_type(rec), "hint"))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "not a hint record");
	if (coren_record_get_string(rec, "region", &region, err) ||
	    coren_record_get_u64(rec, "count", &count, err) ||
	    coren_record_get_double(rec, "mean_ns", &mean, err) ||
	    coren_record_get_double(rec, "max_ns", &max, err) ||
	    coren_record_get_u64(rec, "bytes", &bytes, err))
		return err ? err->code : COREN_ERR_RECORD;
	if (!*region || mean < 0 || max < 0)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "hint for '%s' has a bad region or time", region);
	e = entry(h, region);
	merge(e, count, mean, max, bytes);
	e->last_use = ++h->clock;
	return COREN_OK;
}

enum coren_err coren_hints_load(struct coren_hints *h, const char *path,
				struct coren_error *err)
{
	FILE *f = fopen(path, "r");
	struct coren_reader *r;
	enum coren_err rc = COREN_OK;
	json_t *rec;

	if (!f)
		return errno == ENOENT ? COREN_OK
				       : coren_error_set(err, COREN_ERR_IO,
							 "cannot open '%s': %s", path,
							 strerror(errno));
	r = coren_reader_new(f, path, 0);
	if (!r) {
		fclose(f);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	while (!(rc = coren_reader_next(r, &rec, err)) && rec) {
		rc = load_record(h, rec, err);
		json_decref(rec);
		if (rc) {
			coren_reader_locate(r, err);
			break;
		}
	}
	coren_reader_free(r);
	fclose(f);
	return rc;
}
