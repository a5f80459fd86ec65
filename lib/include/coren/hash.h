/* coren/hash.h - SHA-256 (FIPS 180-4, SHA-NI where the CPU has it) and hex
 * encoding. */
#ifndef COREN_HASH_H
#define COREN_HASH_H

#include <coren/error.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_SHA256_LEN 32
#define COREN_SHA256_HEX_LEN 64

/* SHA-256 of len bytes at data into out. COREN_ERR_NOMEM on failure. */
enum coren_err coren_sha256(const void *data, size_t len,
			    unsigned char out[COREN_SHA256_LEN]);

/* The same as 64 lowercase hex digits + NUL. */
enum coren_err coren_sha256_hex(const void *data, size_t len,
				char out[COREN_SHA256_HEX_LEN + 1]);

/* Incremental SHA-256. */
struct coren_sha256;
struct coren_sha256 *coren_sha256_new(void); /* NULL on ENOMEM */
enum coren_err coren_sha256_update(struct coren_sha256 *h, const void *data,
				   size_t len);
/* Writes the digest and resets h for reuse. */
enum coren_err coren_sha256_final(struct coren_sha256 *h,
				  unsigned char out[COREN_SHA256_LEN]);
void coren_sha256_free(struct coren_sha256 *h); /* accepts NULL */

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void coren_hex(const unsigned char *in, size_t n, char *out);

#ifdef __cplusplus
}
#endif
#endif
