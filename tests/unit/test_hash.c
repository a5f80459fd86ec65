#include "tap.h"
#include <coren/hash.h>
#include <coren/json.h>

int main(void)
{
	char hex[65];
	unsigned char md1[32], md2[32];
	struct coren_sha256 *h;
	struct coren_buf b;
	json_t *v;

	coren_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	coren_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	coren_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the two-block vector");

	h = coren_sha256_new();
	ok(h != NULL, "incremental context");
	coren_sha256_update(h, "ab", 2);
	coren_sha256_update(h, "c", 1);
	coren_sha256_final(h, md1);
	coren_sha256("abc", 3, md2);
	ok(!memcmp(md1, md2, 32), "incremental equals one-shot");
	coren_sha256_update(h, "abc", 3);
	coren_sha256_final(h, md1);
	ok(!memcmp(md1, md2, 32), "final resets the context for reuse");
	coren_sha256_free(h);
	coren_sha256_free(NULL);

	/* chunk-id style hashing: canonical JSON, independent of key order */
	v = json_loads("{\"version\":\"1\",\"params\":{\"b\":2,\"a\":1},\"chunk_key\":[[\"s\",[1,2,3]]]}", 0, NULL);
	coren_json_sha256(v, hex);
	coren_buf_init(&b, 0);
	coren_json_canonical(v, &b);
	is_str(b.data, "{\"chunk_key\":[[\"s\",[1,2,3]]],\"params\":{\"a\":1,\"b\":2},\"version\":\"1\"}", "canonical text");
	{
		char want[65];
		coren_sha256_hex(b.data, b.len, want);
		is_str(hex, want, "json_sha256 hashes the canonical text");
	}
	coren_buf_release(&b);
	json_decref(v);
	return done_testing();
}
