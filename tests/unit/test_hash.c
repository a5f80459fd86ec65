#include "tap.h"
#include <coren/hash.h>
#include <coren/json.h>
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

/* Every length 0..1100 (each block boundary and padding case) and a few
 * large ones, each fed in pieces of a pseudo-random size, compared with
 * OpenSSL's SHA-256: the number that differ. *sum: the SHA-256 of all the
 * digests, to compare this block function with the other one. */
static int against_openssl(char sum[65])
{
	static unsigned char data[1 << 20];
	struct coren_sha256 *h = coren_sha256_new(), *all = coren_sha256_new();
	unsigned long long r = 88172645463325252ULL;
	unsigned char md[32], want[32];
	int bad = 0;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 8));
	for (size_t len = 0; len <= 1100 + 4; len++) {
		size_t n = len <= 1100 ? len : (size_t)1 << (16 + len - 1101), done = 0;

		while (done < n) {
			size_t k;

			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			k = (size_t)(r % 200);
			k = k > n - done ? n - done : k;
			coren_sha256_update(h, data + done, k);
			done += k;
		}
		coren_sha256_final(h, md);
		SHA256(data, n, want);
		bad += memcmp(md, want, 32) != 0;
		coren_sha256_update(all, md, 32);
	}
	coren_sha256_final(all, md);
	coren_hex(md, 32, sum);
	coren_sha256_free(h);
	coren_sha256_free(all);
	return bad;
}

int main(int argc, char **argv)
{
	char sum[65], other[65] = "";
	static char million[1000000];
	FILE *p;
	char hex[65];
	unsigned char md1[32], md2[32];
	struct coren_sha256 *h;
	struct coren_buf b;
	json_t *v;

	if (argc > 1 && !strcmp(argv[1], "--sum")) {
		int bad = against_openssl(sum);

		printf("%d %s\n", bad, sum);
		return 0;
	}
	coren_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	coren_sha256_hex(NULL, 0, hex); /* no bytes: no pointer read (UBSan) */
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of no bytes at NULL");
	coren_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	coren_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the two-block vector");
	memset(million, 'a', sizeof million);
	coren_sha256_hex(million, sizeof million, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256 of a million a's");

	/* the block function this CPU gets, and each other one (forced in a
	 * second run of this program, --sum), each against OpenSSL's linked
	 * here */
	is_int(against_openssl(sum), 0, "every length 0..1100 and 64 KiB..512 KiB, in pieces: OpenSSL's digest");
	for (int i = 0; i < 2; i++) {
		const char *impl = i ? "openssl" : "c";
		char cmd[4200];
		int bad = -1;

		snprintf(cmd, sizeof cmd, "COREN_SHA256=%s '%s' --sum", impl, argv[0]);
		other[0] = '\0';
		if ((p = popen(cmd, "r"))) {
			if (fscanf(p, "%d %64s", &bad, other) != 2)
				bad = -1;
			pclose(p);
		}
		is_int(bad, 0, "COREN_SHA256=%s: the same", impl);
		is_str(other, sum, "and the same digest of the digests");
	}

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
