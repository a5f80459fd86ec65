/* hash.c - SHA-256 through OpenSSL's SHA256_* calls.
 *
 * Not EVP: in OpenSSL 3 the first EVP digest loads the configuration and
 * the default provider, about 6M instructions (1.5-2 ms) in every process
 * that hashes anything (rk-bench's machine fingerprint, swarm-run's chunk
 * ids); SHA256_* runs the same block code (SHA-NI where the CPU has it)
 * without them. They are deprecated in OpenSSL 3, not removed. */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED
#include <coren/hash.h>
#include <openssl/sha.h>
#include <stdlib.h>

struct coren_sha256 {
	SHA256_CTX ctx;
};

enum coren_err coren_sha256(const void *data, size_t len,
			    unsigned char out[COREN_SHA256_LEN])
{
	SHA256_CTX c;

	if (!SHA256_Init(&c) || !SHA256_Update(&c, data, len) ||
	    !SHA256_Final(out, &c))
		return COREN_ERR_NOMEM;
	return COREN_OK;
}

enum coren_err coren_sha256_hex(const void *data, size_t len,
				char out[COREN_SHA256_HEX_LEN + 1])
{
	unsigned char md[COREN_SHA256_LEN];
	enum coren_err rc = coren_sha256(data, len, md);

	if (rc)
		return rc;
	coren_hex(md, sizeof md, out);
	return COREN_OK;
}

struct coren_sha256 *coren_sha256_new(void)
{
	struct coren_sha256 *h = malloc(sizeof *h);

	if (h && !SHA256_Init(&h->ctx)) {
		free(h);
		return NULL;
	}
	return h;
}

enum coren_err coren_sha256_update(struct coren_sha256 *h, const void *data,
				   size_t len)
{
	return SHA256_Update(&h->ctx, data, len) ? COREN_OK : COREN_ERR_NOMEM;
}

enum coren_err coren_sha256_final(struct coren_sha256 *h,
				  unsigned char out[COREN_SHA256_LEN])
{
	if (!SHA256_Final(out, &h->ctx) || !SHA256_Init(&h->ctx))
		return COREN_ERR_NOMEM;
	return COREN_OK;
}

void coren_sha256_free(struct coren_sha256 *h)
{
	free(h);
}

void coren_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
