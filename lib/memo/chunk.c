/* chunk.c - chunk files (coren-chunk(5)): a skippable frame holding a JSON
 * header, then one checksummed zstd frame of JSONL result records. */
#include "config.h"

#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>
#include <coren/sign.h>
#include "memo_int.h"

#include <coren/memo.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define SKIPPABLE_MAGIC 0x184D2A50u
#define HEADER_MAX ((size_t)1 << 24) /* 16 MiB of header JSON */

void coren_chunk_header_release(struct coren_chunk_header *h)
{
	json_decref(h->chunk_key);
	json_decref(h->params);
	json_decref(h->fn);
	json_decref(h->sigs);
	free(h->version);
	free(h->producer);
	memset(h, 0, sizeof *h);
}

char *coren_chunk_path(const char *cache, const char *id)
{
	size_t n = strlen(cache) + 80;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%.2s/%s.zst", cache, id, id);
	return p;
}

/* One compression context per thread, freed when the thread ends. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void cctx_free(void *c)
{
	ZSTD_freeCCtx(c);
}

static void cctx_key_init(void)
{
	(void)pthread_key_create(&cctx_key, cctx_free);
}

static ZSTD_CCtx *cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&cctx_once, cctx_key_init);
	c = pthread_getspecific(cctx_key);
	if (!c && (c = ZSTD_createCCtx()))
		pthread_setspecific(cctx_key, c);
	return c;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

json_t *memo_cost_json(const struct coren_cost *c)
{
	json_t *j = coren_cost_to_record(c, NULL);

	json_object_del(j, "type");
	json_object_del(j, "name");
	return j;
}

static json_t *header_json(const struct coren_chunk_header *h)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	json_object_set_new(j, "format", json_string("coren-chunk"));
	json_object_set_new(j, "format_version",
			    json_integer(COREN_CHUNK_FORMAT));
	json_object_set_new(j, "id", json_string(h->id));
	json_object_set(j, "chunk_key", h->chunk_key);
	json_object_set(j, "params", h->params);
	json_object_set(j, "fn", h->fn ? h->fn : json_null());
	json_object_set_new(j, "content_sha256", json_string(h->content_sha256));
	json_object_set_new(j, "version", json_string(h->version));
	json_object_set_new(j, "points", coren_json_u64(h->points));
	json_object_set_new(j, "cost",
			    h->has_cost ? memo_cost_json(&h->cost) : json_null());
	json_object_set_new(j, "producer",
			    json_string(h->producer ? h->producer : ""));
	if (json_array_size(h->sigs))
		json_object_set(j, "sigs", h->sigs);
	json_object_set_new(j, "hlc",
			    json_pack("[o,o,I]", coren_json_u64(h->hlc.physical),
				      coren_json_u64(h->hlc.logical),
				      (json_int_t)h->hlc.node));
	return j;
}

/* SHA-256 of the canonical JSON of the header without its header_sum. */
static int header_sum(json_t *j, char hex[65])
{
	json_t *sum = json_incref(json_object_get(j, "header_sum"));
	int rc;

	json_object_del(j, "header_sum");
	rc = coren_json_sha256(j, hex) ? -1 : 0;
	if (sum)
		json_object_set_new(j, "header_sum", sum);
	return rc;
}

enum coren_err coren_chunk_encode(const struct coren_chunk_header *hin,
				  const char *content, size_t len, int level,
				  struct coren_buf *out, struct coren_error *err)
{
	struct coren_chunk_header hc = *hin, *h = &hc;
	json_t *sigs = NULL, *j = NULL;
	char *sig = NULL;

	if (!coren_sha256_hex(content, len, hc.content_sha256) && h->signer) {
		struct coren_buf m;

		coren_buf_init(&m, 0);
		if (!coren_chunk_sig_message(h, &m) &&
		    !coren_sign(h->signer, m.data, m.len, &sig, err)) {
			sigs = json_array();
			json_array_append_new(sigs, json_string(sig));
			hc.sigs = sigs;
		}
		coren_buf_release(&m);
		free(sig);
		if (!sigs)
			return coren_error_set(err, COREN_ERR_NOMEM,
					       "cannot sign the chunk");
	}
	if (hc.content_sha256[0])
		j = header_json(h);
	json_decref(sigs);
	ZSTD_CCtx *c = cctx();
	size_t hstart = out->len, bound = ZSTD_compressBound(len), n;
	unsigned char le[8];
	char hex[65];
	enum coren_err rc;

	if (!j || !c || !h->chunk_key || !h->params || !h->version) {
		json_decref(j);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	rc = header_sum(j, hex) ? COREN_ERR_NOMEM : COREN_OK;
	if (!rc)
		rc = json_object_set_new(j, "header_sum", json_string(hex))
			     ? COREN_ERR_NOMEM
			     : COREN_OK;
	if (!rc)
		rc = coren_buf_append(out, le, 8);
	if (!rc)
		rc = coren_json_dumpb(j, COREN_JSON_SORT_KEYS, out);
	json_decref(j);
	if (!rc && out->len - hstart - 8 > HEADER_MAX)
		rc = COREN_ERR_TOOLONG;
	if (rc)
		return coren_error_set(err, rc, "chunk header: %s",
				       coren_strerror(rc));
	put_le32(le, SKIPPABLE_MAGIC);
	put_le32(le + 4, (uint32_t)(out->len - hstart - 8));
	memcpy(out->data + hstart, le, 8);

	rc = coren_buf_reserve(out, bound);
	if (rc)
		return coren_error_set(err, rc, "chunk of %zu bytes: %s", len,
				       coren_strerror(rc));
	ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level ? level : 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
	n = ZSTD_compress2(c, out->data + out->len, out->alloc - out->len,
			   content, len);
	if (ZSTD_isError(n))
		return coren_error_set(err, COREN_ERR_IO, "zstd: %s",
				       ZSTD_getErrorName(n));
	out->len += n;
	return COREN_OK;
}

static enum coren_err corrupt(struct coren_error *err, const char *what)
{
	return coren_error_set(err, COREN_ERR_CORRUPT, "%s", what);
}

/* The header's hlc: [physical µs, logical, node], or the integer of
 * earlier chunks (milliseconds << 16 | a 16-bit counter). 0 or -1. */
static int header_hlc(const json_t *v, struct coren_hlc_ts *t)
{
	uint64_t old, node;

	memset(t, 0, sizeof *t);
	if (json_is_integer(v)) {
		if (coren_json_get_u64(v, &old))
			return -1;
		t->physical = (old >> 16) * 1000;
		t->logical = old & 0xffff;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) != 3 ||
	    coren_json_get_u64(json_array_get(v, 0), &t->physical) ||
	    coren_json_get_u64(json_array_get(v, 1), &t->logical) ||
	    coren_json_get_u64(json_array_get(v, 2), &node) || node > 0xffff)
		return -1;
	t->node = (uint16_t)node;
	return 0;
}

/* The header's fields into h; "" or a reason. */
static const char *header_fields(const json_t *j, struct coren_chunk_header *h)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *ver = json_string_value(json_object_get(j, "version"));
	const char *prod = json_string_value(json_object_get(j, "producer"));
	const char *sum = json_string_value(json_object_get(j, "content_sha256"));
	json_t *cost = json_object_get(j, "cost");

	if (!json_is_object(j) ||
	    strcmp(json_string_value(json_object_get(j, "format")) ?
			   json_string_value(json_object_get(j, "format")) :
			   "",
		   "coren-chunk"))
		return "not a coren chunk header";
	if (json_integer_value(json_object_get(j, "format_version")) !=
	    COREN_CHUNK_FORMAT)
		return "unknown format_version (a chunk of another coren)";
	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return "header id is not 64 hex digits";
	if (!ver || !json_is_array(json_object_get(j, "chunk_key")) ||
	    !json_is_object(json_object_get(j, "params")))
		return "header lacks chunk_key, params or version";
	if (coren_json_get_u64(json_object_get(j, "points"), &h->points))
		return "header points is not an unsigned integer";
	if (!json_object_get(j, "fn"))
		return "header lacks fn";
	if (!sum || strlen(sum) != 64 || strspn(sum, "0123456789abcdef") != 64)
		return "header content_sha256 is not 64 hex digits";
	if (json_object_get(j, "hlc") &&
	    header_hlc(json_object_get(j, "hlc"), &h->hlc))
		return "header hlc is not [physical, logical, node] or an "
		       "unsigned integer";
	if (cost && !json_is_null(cost)) {
		if (coren_cost_from_json(cost, &h->cost, NULL))
			return "header cost is not a cost";
		h->has_cost = true;
	}
	if (json_object_get(j, "sigs")) {
		json_t *sigs = json_object_get(j, "sigs"), *v;
		size_t i;

		if (!json_is_array(sigs))
			return "header sigs is not an array of signatures";
		/* each costs a check: a tier cannot make a run verify more */
		if (json_array_size(sigs) > COREN_CHUNK_SIGS_MAX)
			return "header sigs holds more than 16 signatures";
		json_array_foreach(sigs, i, v)
			if (!json_is_string(v))
				return "header sigs is not an array of "
				       "signatures";
		h->sigs = json_incref(sigs);
	}
	memcpy(h->id, id, 65);
	h->chunk_key = json_incref(json_object_get(j, "chunk_key"));
	h->params = json_incref(json_object_get(j, "params"));
	h->fn = json_incref(json_object_get(j, "fn"));
	memcpy(h->content_sha256, sum, 65);
	h->version = strdup(ver);
	h->producer = strdup(prod ? prod : "");
	return h->version && h->producer ? "" : "out of memory";
}

/* The points of a chunk key [[axis,[values...]],...]: the product of its
 * value counts (UINT64_MAX when it is not of that form or overflows). */
static uint64_t key_points(const json_t *key)
{
	uint64_t n = 1;
	size_t i;
	const json_t *pair;

	json_array_foreach(key, i, pair) {
		size_t k = json_array_size(json_array_get(pair, 1));

		if (json_array_size(pair) != 2 ||
		    !json_is_string(json_array_get(pair, 0)) ||
		    !json_is_array(json_array_get(pair, 1)) || k == 0 ||
		    n > UINT64_MAX / k)
			return UINT64_MAX;
		n *= k;
	}
	return n;
}

/* Whether the id is the hash of the header's key, function, params and
 * version (coren-chunk(5)), and the header's point count the key's. */
static int id_matches(const struct coren_chunk_header *h)
{
	json_t *k = json_pack("{sOsOsOss}", "chunk_key", h->chunk_key, "fn",
			      h->fn, "params", h->params, "version",
			      h->version);
	char hex[65];
	int ok = k && !coren_json_sha256(k, hex) && !strcmp(hex, h->id);

	json_decref(k);
	return ok && key_points(h->chunk_key) == h->points;
}

static enum coren_err decode_header(const unsigned char *d, size_t size,
				    size_t *hlen, struct coren_chunk_header *h,
				    struct coren_error *err)
{
	json_t *j;
	const char *why;
	uint32_t n;

	if (size < 8 || get_le32(d) != SKIPPABLE_MAGIC)
		return corrupt(err, "no chunk header (not a coren chunk)");
	n = get_le32(d + 4);
	if (n > size - 8 || n > HEADER_MAX)
		return corrupt(err, "truncated chunk header");
	j = coren_json_parse((const char *)d + 8, n, NULL);
	if (!j)
		return corrupt(err, "chunk header is not JSON");
	why = header_fields(j, h);
	if (!*why) {
		const char *want = json_string_value(json_object_get(j, "header_sum"));
		char hex[65];

		if (!want || header_sum(j, hex) || strcmp(hex, want))
			why = "header checksum mismatch";
	}
	json_decref(j);
	if (*why) {
		coren_chunk_header_release(h);
		return corrupt(err, why);
	}
	*hlen = 8 + (size_t)n;
	return COREN_OK;
}

static enum coren_err decode_body(const unsigned char *d, size_t size,
				  size_t max_content,
				  const struct coren_chunk_header *h,
				  char **content, size_t *len,
				  struct coren_error *err)
{
	size_t fsize, got;
	unsigned long long csize;
	char *buf, sum[65];
	uint64_t lines = 0;

	if (size == 0)
		return corrupt(err, "truncated: no data frame");
	/* magic, then the frame header descriptor: bit 2 is the checksum */
	if (size < 5 || get_le32(d) != 0xFD2FB528u)
		return corrupt(err, "bad data frame header");
	if (!(d[4] & 4))
		return corrupt(err, "data frame has no checksum");
	csize = ZSTD_getFrameContentSize(d, size);
	if (csize == ZSTD_CONTENTSIZE_ERROR)
		return corrupt(err, "bad data frame header");
	if (csize == ZSTD_CONTENTSIZE_UNKNOWN || csize > max_content)
		return corrupt(err, "data frame size unknown or too large");
	fsize = ZSTD_findFrameCompressedSize(d, size);
	if (ZSTD_isError(fsize))
		return corrupt(err, "truncated data frame");
	if (fsize != size)
		return corrupt(err, "data after the data frame");
	buf = malloc((size_t)csize + 1);
	if (!buf)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	got = ZSTD_decompress(buf, (size_t)csize + 1, d, size);
	if (ZSTD_isError(got) || got != csize) {
		free(buf);
		return coren_error_set(err, COREN_ERR_CORRUPT, "data frame: %s",
				       ZSTD_isError(got) ? ZSTD_getErrorName(got)
							 : "wrong size");
	}
	if (coren_sha256_hex(buf, got, sum) || strcmp(sum, h->content_sha256)) {
		free(buf);
		return corrupt(err, "content does not match its content_sha256");
	}
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p)));
	     p++)
		lines++;
	if (lines != h->points || (got && buf[got - 1] != '\n')) {
		free(buf);
		return corrupt(err, "content does not hold one line per point");
	}
	buf[got] = '\0';
	*content = buf;
	*len = got;
	return COREN_OK;
}

/* The header, its id want_id (when not NULL) and the hash of its key,
 * params and version; *hlen its length in the file. */
static enum coren_err verified_header(const unsigned char *d, size_t size,
				      const char *want_id, size_t *hlen,
				      struct coren_chunk_header *h,
				      struct coren_error *err)
{
	enum coren_err rc;

	memset(h, 0, sizeof *h);
	rc = decode_header(d, size, hlen, h, err);
	if (rc)
		return rc;
	if (want_id && strcmp(want_id, h->id))
		rc = corrupt(err, "header id is not the chunk's id");
	else if (!id_matches(h))
		rc = corrupt(err, "header id or points do not match its key, "
				  "fn, params and version");
	if (rc)
		coren_chunk_header_release(h);
	return rc;
}

enum coren_err coren_chunk_decode(const void *data, size_t size,
				  const char *want_id, size_t max_content,
				  struct coren_chunk_header *h, char **content,
				  size_t *len, struct coren_error *err)
{
	const unsigned char *d = data;
	size_t hlen = 0;
	enum coren_err rc;

	*content = NULL;
	*len = 0;
	rc = verified_header(d, size, want_id, &hlen, h, err);
	if (rc)
		return rc;
	rc = decode_body(d + hlen, size - hlen,
			 max_content ? max_content : COREN_CHUNK_MAX_DEFAULT, h,
			 content, len, err);
	if (rc)
		coren_chunk_header_release(h);
	return rc;
}

enum coren_err coren_chunk_load(const char *cache, const char *id,
				size_t max_content,
				struct coren_chunk_header *h, char **content,
				size_t *len, struct coren_error *err)
{
	char *path = coren_chunk_path(cache, id), *data = NULL;
	size_t size = 0, max = (max_content ? max_content
					    : COREN_CHUNK_MAX_DEFAULT);
	enum coren_err rc;

	if (!path)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rc = coren_file_read_regular(path, max + (max >> 6) + HEADER_MAX + 4096,
				     false, &data, &size, err);
	if (rc == COREN_ERR_TOOLONG)
		rc = corrupt(err, "chunk file is too large");
	else if (rc == COREN_ERR_IO) { /* a FIFO, a directory, unreadable */
		char why[COREN_ERROR_MSG_MAX];

		snprintf(why, sizeof why, "%s", err ? err->msg : "unreadable");
		rc = corrupt(err, why);
	}
	if (!rc)
		rc = coren_chunk_decode(data, size, id, max, h, content, len,
					err);
	free(data);
	free(path);
	return rc;
}

enum coren_err coren_chunk_peek(const void *data, size_t size,
				const char *want_id,
				struct coren_chunk_header *h,
				struct coren_error *err)
{
	size_t hlen = 0;

	return verified_header(data, size, want_id, &hlen, h, err);
}

enum coren_err coren_chunk_store_file(const char *cache, const char *id,
				      const void *data, size_t len,
				      struct coren_error *err)
{
	char *path = coren_chunk_path(cache, id), *slash;
	enum coren_err rc;

	if (!path)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	slash = strrchr(path, '/');
	*slash = '\0';
	rc = coren_mkdir_p(path, 0777, err);
	*slash = '/';
	if (!rc)
		rc = coren_file_replace(path, data, len, 0644, err);
	free(path);
	return rc;
}

enum coren_err coren_chunk_store(const char *cache,
				 const struct coren_chunk_header *h,
				 const char *content, size_t len,
				 struct coren_buf *image,
				 struct coren_error *err)
{
	struct coren_buf b;
	struct coren_buf *out = image ? image : &b;
	enum coren_err rc;

	coren_buf_init(&b, 0);
	out->len = 0;
	rc = coren_chunk_encode(h, content, len, 0, out, err);
	if (!rc)
		rc = coren_chunk_store_file(cache, h->id, out->data, out->len,
					    err);
	coren_buf_release(&b);
	return rc;
}

enum coren_err coren_chunk_sig_message(const struct coren_chunk_header *h,
				       struct coren_buf *out)
{
	/* every header field a reader uses: the id (so the key, params,
	 * function and version), the content, and the cost, producer and
	 * hlc as the reader parsed them (a tampered cost would sway
	 * verdicts and --gc) */
	json_t *m = json_pack(
	    "{s:s,s:o,s:O,s:[o,o,I],s:s,s:s}", "content_sha256",
	    h->content_sha256, "cost",
	    h->has_cost ? memo_cost_json(&h->cost) : json_null(), "fn",
	    h->fn ? h->fn : json_null(), "hlc", coren_json_u64(h->hlc.physical),
	    coren_json_u64(h->hlc.logical), (json_int_t)h->hlc.node, "id", h->id,
	    "producer", h->producer ? h->producer : "");
	enum coren_err rc = m ? coren_json_canonical(m, out) : COREN_ERR_NOMEM;

	json_decref(m);
	return rc;
}

enum coren_err coren_chunk_trusted(const struct coren_chunk_header *h,
				   const struct coren_trust *trust,
				   struct coren_error *err)
{
	struct coren_buf m;
	enum coren_err rc = COREN_ERR_NOTFOUND, one;
	struct coren_error e = {0};
	json_t *v;
	size_t i;

	coren_error_set(err, COREN_ERR_NOTFOUND, "not signed");
	if (!json_array_size(h->sigs))
		return COREN_ERR_NOTFOUND;
	coren_buf_init(&m, 0);
	if (coren_chunk_sig_message(h, &m)) {
		coren_buf_release(&m);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	json_array_foreach(h->sigs, i, v) {
		one = coren_trust_verify(trust, m.data, m.len,
					 json_string_value(v), &e);
		if (!one) {
			rc = COREN_OK;
			break;
		}
		/* a bad signature by a trusted key says more than an
		 * untrusted one */
		if (one == COREN_ERR_CORRUPT || rc == COREN_ERR_NOTFOUND) {
			rc = one;
			*err = e;
		}
	}
	coren_buf_release(&m);
	return rc;
}
