/* hash.c - SHA-256 through OpenSSL's EVP interface. */
#include "config.h"

#include <coren/hash.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct coren_sha256 {
	EVP_MD_CTX *ctx;
};

enum coren_err coren_sha256(const void *data, size_t len,
			    unsigned char out[COREN_SHA256_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
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

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
		coren_sha256_free(h);
		return NULL;
	}
	return h;
}

enum coren_err coren_sha256_update(struct coren_sha256 *h, const void *data,
				   size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) ? COREN_OK : COREN_ERR_NOMEM;
}

enum coren_err coren_sha256_final(struct coren_sha256 *h,
				  unsigned char out[COREN_SHA256_LEN])
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(h->ctx, out, &n) ||
	    !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		return COREN_ERR_NOMEM;
	return COREN_OK;
}

void coren_sha256_free(struct coren_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
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
