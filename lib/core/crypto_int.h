/* crypto_int.h - OpenSSL's libcrypto, opened when first needed, not linked
 * (private to libcoren).
 *
 * Linked, its 3,400 symbol bindings cost every process of every coren tool
 * about 0.7 ms before main; only signatures (sign.c) and SHA-256 on a CPU
 * without the SHA extensions (hash.c) use it. The table is filled once
 * and read-only after. */
#ifndef COREN_CRYPTO_INT_H
#define COREN_CRYPTO_INT_H

#define OPENSSL_SUPPRESS_DEPRECATED
#include <coren/error.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define COREN_CRYPTO_FNS(X)                                                  \
	X(EVP_PKEY_CTX_new_id) X(EVP_PKEY_keygen_init) X(EVP_PKEY_keygen)    \
	X(EVP_PKEY_get_raw_private_key) X(EVP_PKEY_get_raw_public_key)        \
	X(EVP_PKEY_free) X(EVP_PKEY_CTX_free) X(EVP_PKEY_new_raw_private_key) \
	X(EVP_PKEY_new_raw_public_key) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free)   \
	X(EVP_DigestSignInit) X(EVP_DigestSign) X(EVP_DigestVerifyInit)       \
	X(EVP_DigestVerify) X(SHA256_Init) X(SHA256_Update) X(SHA256_Final)
#define COREN_CRYPTO_FIELD(f) __typeof__(&f) f;

struct coren_crypto {
	COREN_CRYPTO_FNS(COREN_CRYPTO_FIELD)
};

/* The table once libcrypto is open; else NULL, and why in err (may be
 * NULL). Thread-safe. */
const struct coren_crypto *coren_crypto(struct coren_error *err);

#endif
