/* coren/sign.h - Ed25519 keys and signatures (OpenSSL libcrypto), in
 * Nix's binary-cache formats: a secret key is the text
 * NAME:BASE64(32-byte seed, then the 32-byte public key), a public key
 * NAME:BASE64(32 bytes), a signature NAME:BASE64(64 bytes). NAME is 1 to
 * 64 characters of [A-Za-z0-9._-]; it says which key signed, the key
 * decides whether the signature is good. */
#ifndef COREN_SIGN_H
#define COREN_SIGN_H

#include <coren/error.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_KEY_NAME_MAX 64

/* A secret key, able to sign. */
struct coren_secret_key;

/* A new key pair named name: *secret gets the secret key's text
 * (malloc'd, no newline). COREN_ERR_USAGE for a bad name. */
enum coren_err coren_key_generate(const char *name, char **secret,
				  struct coren_error *err);

/* coren_key_generate() into a new file path (created with mode 600,
 * never overwritten: COREN_ERR_USAGE when it exists), fsync'd. */
enum coren_err coren_key_generate_file(const char *name, const char *path,
				       struct coren_error *err);

/* Parses a secret key's text (surrounding blanks and a final newline
 * allowed). COREN_ERR_USAGE when it is not one, naming what is wrong. */
enum coren_err coren_secret_key_parse(const char *text,
				      struct coren_secret_key **out,
				      struct coren_error *err);

/* Reads the secret key in file path. The file must be a regular file
 * that only its owner can read or write (no group or other bits):
 * COREN_ERR_USAGE naming the mode otherwise. */
enum coren_err coren_secret_key_load(const char *path,
				     struct coren_secret_key **out,
				     struct coren_error *err);
void coren_secret_key_free(struct coren_secret_key *k); /* accepts NULL */

/* The public key of k, as text (malloc'd, NULL on ENOMEM). */
char *coren_secret_key_public(const struct coren_secret_key *k);

/* Signs len bytes at msg: *sig gets NAME:BASE64 (malloc'd). */
enum coren_err coren_sign(const struct coren_secret_key *k, const void *msg,
			  size_t len, char **sig, struct coren_error *err);

/* A set of public keys whose signatures are accepted. */
struct coren_trust;

struct coren_trust *coren_trust_new(void); /* NULL on ENOMEM */
void coren_trust_free(struct coren_trust *t); /* accepts NULL */

/* Adds a public key given as text, or every key of a file (one per line,
 * blank lines and # comments skipped) when spec names an existing file;
 * blanks or commas separate several keys in one text (an environment
 * variable's value). COREN_ERR_USAGE naming the bad key (and its line). */
enum coren_err coren_trust_add(struct coren_trust *t, const char *spec,
			       struct coren_error *err);
size_t coren_trust_count(const struct coren_trust *t);

/* Whether sig (NAME:BASE64) is a good signature of msg by a key of t:
 * COREN_OK, COREN_ERR_NOTFOUND when t has no key of that name,
 * COREN_ERR_CORRUPT when it is malformed or does not verify. */
enum coren_err coren_trust_verify(const struct coren_trust *t,
				  const void *msg, size_t len,
				  const char *sig, struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
