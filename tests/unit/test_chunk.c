/* test_chunk - the chunk codec: round trip and every corruption. */
#include "config.h"

#include "tap.h"

#include <coren/json.h>
#include <coren/memo.h>
#include <stdlib.h>
#include <string.h>

static const char content[] =
	"{\"type\":\"result\",\"point\":{\"x\":1},\"value\":2}\n"
	"{\"type\":\"result\",\"point\":{\"x\":2},\"value\":4}\n";

static void header(struct coren_chunk_header *h)
{
	json_t *k;

	memset(h, 0, sizeof *h);
	h->chunk_key = json_pack("[[s[ii]]]", "x", 1, 2);
	h->params = json_pack("{sf}", "a", 0.5);
	h->fn = json_pack("{ss}", "fn_id", "test");
	h->version = strdup("v1");
	h->points = 2;
	h->producer = strdup("test");
	h->has_cost = true;
	h->cost = coren_cost_new(10, 20, 30, 40);
	k = json_pack("{sOsOsOss}", "chunk_key", h->chunk_key, "fn", h->fn,
		      "params", h->params, "version", "v1");
	coren_json_sha256(k, h->id);
	json_decref(k);
}

/* Decodes b; a success that changed the content is reported as -1. */
static int decode(const struct coren_buf *b, const char *id,
		  struct coren_error *err)
{
	struct coren_chunk_header h;
	char *c = NULL;
	size_t len;
	int rc = (int)coren_chunk_decode(b->data, b->len, id, 0, &h, &c, &len,
					 err);

	if (!rc) {
		coren_chunk_header_release(&h);
		if (len != sizeof content - 1 || memcmp(c, content, len))
			rc = -1;
	}
	free(c);
	return rc;
}

/* b with its header's hlc set to v and its header_sum made right again:
 * the form of another writer (or of an earlier coren). */
static void with_hlc(const struct coren_buf *b, json_t *v, struct coren_buf *out)
{
	size_t hlen = (size_t)((unsigned char)b->data[4] |
			       (unsigned char)b->data[5] << 8 |
			       (unsigned char)b->data[6] << 16);
	json_t *j = json_loadb(b->data + 8, hlen, 0, NULL);
	char hex[65], *text;
	unsigned char le[4];
	size_t n;

	json_object_set_new(j, "hlc", v);
	json_object_del(j, "header_sum");
	coren_json_sha256(j, hex);
	json_object_set_new(j, "header_sum", json_string(hex));
	text = json_dumps(j, JSON_COMPACT);
	n = strlen(text);
	for (int i = 0; i < 4; i++)
		le[i] = (unsigned char)(n >> (8 * i));
	out->len = 0;
	coren_buf_append(out, b->data, 4);
	coren_buf_append(out, (const char *)le, 4);
	coren_buf_append(out, text, n);
	coren_buf_append(out, b->data + 8 + hlen, b->len - 8 - hlen);
	free(text);
	json_decref(j);
}

/* The header's hlc: the HLC timestamp [physical µs, logical, node]; the
 * integer of earlier chunks is still read. */
static void hlc_forms(struct coren_chunk_header *h)
{
	struct coren_chunk_header got;
	struct coren_error err = {0};
	struct coren_buf b, c;
	static const char want[] = "\"hlc\":[1764892800123456,7,48879]";
	char *content_out = NULL, *at;
	size_t len;

	coren_buf_init(&b, 0);
	coren_buf_init(&c, 0);
	h->hlc = (struct coren_hlc_ts){1764892800123456ULL, 7, 0xbeef};
	coren_chunk_encode(h, content, sizeof content - 1, 0, &b, &err);
	at = memmem(b.data, b.len, want, sizeof want - 1);
	ok(at != NULL, "the header's hlc is [physical, logical, node]");
	ok(!coren_chunk_decode(b.data, b.len, h->id, 0, &got, &content_out,
			       &len, &err) &&
	   got.hlc.physical == 1764892800123456ULL && got.hlc.logical == 7 &&
	   got.hlc.node == 0xbeef,
	   "the hlc round-trips: %s", err.msg);
	free(content_out);
	content_out = NULL;
	coren_chunk_header_release(&got);
	with_hlc(&b, json_integer((json_int_t)((1764892800123ULL << 16) | 5)),
		 &c);
	ok(!coren_chunk_decode(c.data, c.len, h->id, 0, &got, &content_out,
			       &len, &err) &&
	   got.hlc.physical == 1764892800123000ULL && got.hlc.logical == 5 &&
	   got.hlc.node == 0,
	   "an earlier chunk's integer hlc (ms << 16 | n) is read: %s", err.msg);
	free(content_out);
	content_out = NULL;
	coren_chunk_header_release(&got);
	with_hlc(&b, json_pack("[ii]", 1, 2), &c);
	is_int(coren_chunk_decode(c.data, c.len, h->id, 0, &got, &content_out,
				  &len, &err),
	       COREN_ERR_CORRUPT, "an hlc of another form is corrupt");
	with_hlc(&b, json_pack("[iii]", 1, 2, 70000), &c);
	is_int(coren_chunk_decode(c.data, c.len, h->id, 0, &got, &content_out,
				  &len, &err),
	       COREN_ERR_CORRUPT, "a node past 16 bits is corrupt");
	coren_buf_release(&b);
	coren_buf_release(&c);
}

int main(void)
{
	struct coren_chunk_header h, got;
	struct coren_buf b, copy;
	struct coren_error err = {0};
	char *c = NULL;
	size_t len = 0, hlen;

	header(&h);
	coren_buf_init(&b, 0);
	coren_buf_init(&copy, 0);
	ok(!coren_chunk_encode(&h, content, sizeof content - 1, 0, &b, &err),
	   "a chunk encodes");
	ok(!coren_chunk_decode(b.data, b.len, h.id, 0, &got, &c, &len, &err),
	   "and decodes: %s", err.msg);
	ok(len == sizeof content - 1 && !memcmp(c, content, len),
	   "the content round-trips byte for byte");
	is_u64(got.points, 2, "points");
	ok(got.has_cost && got.cost.flops == 10 && got.cost.result_bytes == 40,
	   "the FnCost round-trips");
	is_str(got.producer, "test", "producer");
	free(c);
	coren_chunk_header_release(&got);

	hlen = 8 + (size_t)((unsigned char)b.data[4] | (unsigned char)b.data[5] << 8);

	/* truncation at every length */
	{
		int all = 1;

		for (size_t n = 0; n < b.len; n++) {
			struct coren_buf t = {b.data, n, n, n};

			all &= decode(&t, h.id, &err) == COREN_ERR_CORRUPT;
		}
		ok(all, "every truncation is corrupt");
	}
	/* a flipped bit anywhere */
	{
		int all = 1;

		for (size_t i = 0; i < b.len; i++) {
			for (int bit = 0; bit < 8; bit += 3) {
				copy.len = 0;
				coren_buf_append(&copy, b.data, b.len);
				copy.data[i] ^= (char)(1 << bit);
				int rc = decode(&copy, h.id, &err);

				/* a flip in zstd's padding bits may leave the
				 * content intact: then it is not damage */
				if (rc != COREN_ERR_CORRUPT && rc != COREN_OK) {
					if (all)
						printf("# undetected: byte %zu of %zu "
						     "(header %zu), bit %d",
						     i, b.len, hlen, bit);
					all = 0;
				}
			}
		}
		ok(all, "every flipped bit is detected or harmless (content intact)");
	}
	is_int(decode(&b, "0000000000000000000000000000000000000000000000000000000000000000",
		      &err),
	       COREN_ERR_CORRUPT, "the wrong id is corrupt");
	ok(strstr(err.msg, "id") != NULL, "... saying so: %s", err.msg);
	copy.len = 0;
	coren_buf_append(&copy, b.data, b.len);
	coren_buf_append(&copy, "x", 1);
	is_int(decode(&copy, h.id, &err), COREN_ERR_CORRUPT,
	       "trailing bytes are corrupt");
	copy.data[0] = 'X';
	is_int(decode(&copy, NULL, &err), COREN_ERR_CORRUPT, "a bad magic is corrupt");

	/* a header that lies about its id */
	{
		struct coren_chunk_header liar;

		header(&liar);
		memset(liar.id, 'a', 64);
		copy.len = 0;
		coren_chunk_encode(&liar, content, sizeof content - 1, 0, &copy, &err);
		is_int(decode(&copy, NULL, &err), COREN_ERR_CORRUPT,
		       "an id that is not the hash of the key is corrupt");
		liar.points = 3;
		memcpy(liar.id, h.id, 65);
		copy.len = 0;
		coren_chunk_encode(&liar, content, sizeof content - 1, 0, &copy, &err);
		is_int(decode(&copy, h.id, &err), COREN_ERR_CORRUPT,
		       "a point count that is not the line count is corrupt");
		coren_chunk_header_release(&liar);
	}

	/* a header whose point count is not its key's, with as many lines:
	 * the grid-order output would read or write past the chunk */
	{
		static const char three[] =
			"{\"type\":\"result\",\"point\":{\"x\":1},\"value\":2}\n"
			"{\"type\":\"result\",\"point\":{\"x\":2},\"value\":4}\n"
			"{\"type\":\"result\",\"point\":{\"x\":3},\"value\":6}\n";
		struct coren_chunk_header liar, got2;

		header(&liar);
		liar.points = 3;
		copy.len = 0;
		coren_chunk_encode(&liar, three, sizeof three - 1, 0, &copy, &err);
		is_int(coren_chunk_decode(copy.data, copy.len, liar.id, 0, &got2,
					  &c, &len, &err),
		       COREN_ERR_CORRUPT,
		       "a point count other than the key's is corrupt");
		ok(strstr(err.msg, "points") != NULL, "... saying so: %s",
		   err.msg);
		coren_chunk_header_release(&liar);
	}

	/* the header of one content, the data frame of another with as many
	 * lines: the content hash tells */
	{
		static const char other[] =
			"{\"type\":\"result\",\"point\":{\"x\":1},\"value\":9}\n"
			"{\"type\":\"result\",\"point\":{\"x\":2},\"value\":9}\n";
		struct coren_buf o;
		size_t ohlen;

		coren_buf_init(&o, 0);
		coren_chunk_encode(&h, other, sizeof other - 1, 0, &o, &err);
		ohlen = 8 + (size_t)((unsigned char)o.data[4] |
				     (unsigned char)o.data[5] << 8);
		copy.len = 0;
		coren_buf_append(&copy, b.data, hlen);
		coren_buf_append(&copy, o.data + ohlen, o.len - ohlen);
		is_int(decode(&copy, h.id, &err), COREN_ERR_CORRUPT,
		       "content other than the header's hash is corrupt");
		ok(strstr(err.msg, "content_sha256") != NULL, "... saying so: %s",
		   err.msg);
		coren_buf_release(&o);
	}

	/* a format 1 chunk (no function in its id) is never taken */
	{
		char *text = NULL;
		json_t *j;

		copy.len = 0;
		j = coren_json_parse(b.data + 8, hlen - 8, NULL);
		json_object_set_new(j, "format_version", json_integer(1));
		text = json_dumps(j, JSON_COMPACT);
		coren_buf_append(&copy, b.data, 8);
		coren_buf_append(&copy, text, strlen(text));
		coren_buf_append(&copy, b.data + hlen, b.len - hlen);
		copy.data[4] = (char)(strlen(text) & 0xff);
		copy.data[5] = (char)(strlen(text) >> 8);
		is_int(decode(&copy, h.id, &err), COREN_ERR_CORRUPT,
		       "a chunk of format 1 is refused");
		free(text);
		json_decref(j);
	}

	/* store and load through a cache directory */
	{
		char dir[] = "/tmp/test_chunk.XXXXXX";
		char *path;

		ok(mkdtemp(dir) != NULL, "a cache directory");
		ok(!coren_chunk_store(dir, &h, content, sizeof content - 1, NULL, &err),
		   "a chunk is stored: %s", err.msg);
		ok(!coren_chunk_load(dir, h.id, 0, &got, &c, &len, &err),
		   "and loaded");
		free(c);
		coren_chunk_header_release(&got);
		path = coren_chunk_path(dir, h.id);
		ok(strncmp(path + strlen(dir), "/", 1) == 0 &&
			   !strncmp(path + strlen(dir) + 1, h.id, 2),
		   "stored under <cache>/<2 hex>/");
		remove(path);
		is_int(coren_chunk_load(dir, h.id, 0, &got, &c, &len, &err),
		       COREN_ERR_NOTFOUND, "a missing chunk is not found");
		path[strlen(path) - 72] = '\0';
		remove(path);
		remove(dir);
		free(path);
	}
	hlc_forms(&h);
	coren_chunk_header_release(&h);
	coren_buf_release(&b);
	coren_buf_release(&copy);
	return done_testing();
}
