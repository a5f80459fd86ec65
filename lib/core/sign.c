/* sign.c - Ed25519 keys and signatures in Nix's NAME:BASE64 texts
 * (coren/sign.h), on OpenSSL's EVP interface, opened when a key is first
 * made, read or trusted (crypto_int.h). */
#include "config.h"

#include <coren/file.h>
#include <coren/sign.h>

#include "crypto_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEED_LEN 32
#define PUB_LEN 32
#define SIG_LEN 64
#define KEY_FILE_MAX 4096
#define TRUST_MAX 1024 /* keys in one set */

struct coren_secret_key {
	char name[COREN_KEY_NAME_MAX + 1];
	unsigned char pub[PUB_LEN];
	EVP_PKEY *pkey;
};

struct public_key {
	char name[COREN_KEY_NAME_MAX + 1];
	EVP_PKEY *pkey;
};

struct coren_trust {
	struct public_key *k;
	size_t n;
};

/* libcrypto's functions: used only once need_crypto succeeded (a key, or
 * a trust with a key, exists only then). */
#define lc (*coren_crypto(NULL))

static enum coren_err need_crypto(struct coren_error *err)
{
	if (coren_crypto(err))
		return COREN_OK;
	return err ? err->code : COREN_ERR_PLUGIN_DLOPEN;
}

/* Puts "WHAT: " before err's message (keeping its code). */
static void prefix(struct coren_error *err, const char *fmt, ...)
	COREN_PRINTF(2, 3);
static void prefix(struct coren_error *err, const char *fmt, ...)
{
	char what[512], msg[sizeof err->msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s", err->msg);
	coren_error_set(err, err->code, "%s: %s", what, msg);
}

static bool name_ok(const char *s, size_t n)
{
	if (!n || n > COREN_KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-",
			    s[i]) ||
		    !s[i])
			return false;
	return true;
}

static const char b64digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (RFC 4648, with '=' padding) of n bytes into out, NUL-ended:
 * 4 * ((n + 2) / 3) characters. */
static void b64_into(const unsigned char *d, size_t n, char *out)
{
	for (; n; d += 3, n -= n < 3 ? n : 3) {
		unsigned v = (unsigned)d[0] << 16 | (n > 1 ? (unsigned)d[1] << 8 : 0) |
			     (n > 2 ? d[2] : 0);

		*out++ = b64digits[v >> 18];
		*out++ = b64digits[v >> 12 & 63];
		*out++ = n > 1 ? b64digits[v >> 6 & 63] : '=';
		*out++ = n > 2 ? b64digits[v & 63] : '=';
	}
	*out = '\0';
}

/* Base64 of n bytes (malloc'd text). */
static char *b64(const unsigned char *d, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		b64_into(d, n, out);
	return out;
}

/* Decodes exactly want bytes from the len characters at s; false if s is
 * not canonical base64 of that many bytes. */
static bool unb64(const char *s, size_t len, unsigned char *out, size_t want)
{
	unsigned char buf[128];
	char again[4 * ((sizeof buf + 2) / 3) + 1];
	size_t n = 0;
	bool ok = len % 4 == 0 && want <= sizeof buf &&
		  len == 4 * ((want + 2) / 3);

	for (size_t i = 0; ok && i < len; i += 4) {
		unsigned v = 0;

		for (int j = 0; j < 4; j++) {
			const char *c = s[i + j] ? strchr(b64digits, s[i + j]) : NULL;

			v = v << 6 | (c ? (unsigned)(c - b64digits) : 0);
			ok &= c != NULL || (s[i + j] == '=' && i + 4 == len && j >= 2);
		}
		for (int j = 0; j < 3 && n < want; j++)
			buf[n++] = (unsigned char)(v >> (16 - 8 * j));
	}
	/* canonical only: the bytes encode back to the very same text (no
	 * stray low bits in the last digit, no '=' inside) */
	if (ok) {
		b64_into(buf, want, again);
		ok = !memcmp(again, s, len);
	}
	if (ok)
		memcpy(out, buf, want);
	explicit_bzero(buf, sizeof buf); /* it may have held a seed */
	explicit_bzero(again, sizeof again);
	return ok;
}

/* Splits NAME:BASE64 (blanks around it trimmed): name copied, *b and *blen
 * the base64 part. */
static bool split(const char *text, char name[COREN_KEY_NAME_MAX + 1],
		  const char **b, size_t *blen)
{
	const char *s = text, *colon, *end;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	colon = memchr(s, ':', (size_t)(end - s));
	if (!colon || !name_ok(s, (size_t)(colon - s)))
		return false;
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	*b = colon + 1;
	*blen = (size_t)(end - *b);
	return true;
}

enum coren_err coren_key_generate(const char *name, char **secret,
				  struct coren_error *err)
{
	unsigned char raw[SEED_LEN + PUB_LEN];
	size_t sl = SEED_LEN, pl = PUB_LEN;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx;
	enum coren_err rc;
	char *b = NULL;

	*secret = NULL;
	if (!name || !name_ok(name, strlen(name)))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "a key name is 1 to %d characters of "
				       "A-Z a-z 0-9 . _ -",
				       COREN_KEY_NAME_MAX);
	if ((rc = need_crypto(err)))
		return rc;
	ctx = lc.EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (ctx && lc.EVP_PKEY_keygen_init(ctx) > 0 && lc.EVP_PKEY_keygen(ctx, &k) > 0 &&
	    lc.EVP_PKEY_get_raw_private_key(k, raw, &sl) > 0 &&
	    lc.EVP_PKEY_get_raw_public_key(k, raw + SEED_LEN, &pl) > 0 &&
	    (b = b64(raw, sizeof raw)) &&
	    (*secret = malloc(strlen(name) + strlen(b) + 2)))
		sprintf(*secret, "%s:%s", name, b);
	explicit_bzero(raw, sizeof raw);
	if (b)
		explicit_bzero(b, strlen(b));
	free(b);
	lc.EVP_PKEY_free(k);
	lc.EVP_PKEY_CTX_free(ctx);
	return *secret ? COREN_OK
		       : coren_error_set(err, COREN_ERR_NOMEM,
					 "cannot make an Ed25519 key");
}

enum coren_err coren_key_generate_file(const char *name, const char *path,
				       struct coren_error *err)
{
	char *secret = NULL;
	enum coren_err rc = coren_key_generate(name, &secret, err);
	size_t len = secret ? strlen(secret) : 0;
	int fd;

	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = coren_error_set(err, errno == EEXIST ? COREN_ERR_USAGE
							  : COREN_ERR_IO,
				     "secret key '%s': %s", path,
				     errno == EEXIST ? "exists, not overwritten"
						     : strerror(errno));
	else if (write(fd, secret, len) != (ssize_t)len ||
		 write(fd, "\n", 1) != 1 || fsync(fd))
		rc = coren_error_set(err, COREN_ERR_IO, "secret key '%s': %s",
				     path, strerror(errno));
	if (fd >= 0 && close(fd) && !rc)
		rc = coren_error_set(err, COREN_ERR_IO, "secret key '%s': %s",
				     path, strerror(errno));
	explicit_bzero(secret, len);
	free(secret);
	return rc;
}

enum coren_err coren_secret_key_parse(const char *text,
				      struct coren_secret_key **out,
				      struct coren_error *err)
{
	struct coren_secret_key *k = calloc(1, sizeof *k);
	unsigned char raw[SEED_LEN + PUB_LEN], pub[PUB_LEN];
	size_t pl = PUB_LEN, blen;
	const char *b;
	enum coren_err rc = COREN_OK;

	*out = NULL;
	if (!k)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (!split(text, k->name, &b, &blen) || !unb64(b, blen, raw, sizeof raw))
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "not a secret key (NAME:BASE64 of 64 "
				     "bytes, as --generate-key writes)");
	else if ((rc = need_crypto(err)))
		;
	else if (!(k->pkey = lc.EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
							 NULL, raw, SEED_LEN)) ||
		 lc.EVP_PKEY_get_raw_public_key(k->pkey, pub, &pl) <= 0)
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	else if (memcmp(pub, raw + SEED_LEN, PUB_LEN))
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "secret key '%s': its public half does "
				     "not match its seed",
				     k->name);
	memcpy(k->pub, pub, PUB_LEN);
	explicit_bzero(raw, sizeof raw);
	if (rc) {
		coren_secret_key_free(k);
		return rc;
	}
	*out = k;
	return COREN_OK;
}

enum coren_err coren_secret_key_load(const char *path,
				     struct coren_secret_key **out,
				     struct coren_error *err)
{
	struct stat st;
	char data[KEY_FILE_MAX + 1];
	ssize_t got;
	size_t len = 0;
	enum coren_err rc = COREN_OK;
	int fd;

	*out = NULL;
	/* the mode of the file read, not of a path that may change between
	 * two looks: open it (a regular file only), then fstat */
	if ((rc = coren_file_open_regular(path, &fd, err)))
		return rc;
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		close(fd);
		return coren_error_set(err, COREN_ERR_USAGE,
				       "secret key '%s' is readable or writable "
				       "by others (mode %04o): chmod 600 it",
				       path, (unsigned)(st.st_mode & 07777));
	}
	while (len < KEY_FILE_MAX &&
	       (got = read(fd, data + len, KEY_FILE_MAX - len)) > 0)
		len += (size_t)got;
	close(fd);
	data[len] = '\0';
	if (len == KEY_FILE_MAX)
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "secret key '%s': too long", path);
	else if (strlen(data) != len)
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "secret key '%s': not a text file", path);
	else if ((rc = coren_secret_key_parse(data, out, err)))
		prefix(err, "secret key '%s'", path);
	explicit_bzero(data, sizeof data);
	return rc;
}

void coren_secret_key_free(struct coren_secret_key *k)
{
	if (!k)
		return;
	if (k->pkey)
		lc.EVP_PKEY_free(k->pkey);
	free(k);
}

char *coren_secret_key_public(const struct coren_secret_key *k)
{
	char *b = b64(k->pub, PUB_LEN), *t = NULL;

	if (b && (t = malloc(strlen(k->name) + strlen(b) + 2)))
		sprintf(t, "%s:%s", k->name, b);
	free(b);
	return t;
}

enum coren_err coren_sign(const struct coren_secret_key *k, const void *msg,
			  size_t len, char **sig, struct coren_error *err)
{
	EVP_MD_CTX *ctx = lc.EVP_MD_CTX_new();
	unsigned char raw[SIG_LEN];
	size_t sl = SIG_LEN;
	char *b = NULL;

	*sig = NULL;
	if (ctx && lc.EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) > 0 &&
	    lc.EVP_DigestSign(ctx, raw, &sl, msg, len) > 0 && sl == SIG_LEN &&
	    (b = b64(raw, SIG_LEN)) &&
	    (*sig = malloc(strlen(k->name) + strlen(b) + 2)))
		sprintf(*sig, "%s:%s", k->name, b);
	free(b);
	lc.EVP_MD_CTX_free(ctx);
	return *sig ? COREN_OK
		    : coren_error_set(err, COREN_ERR_NOMEM, "cannot sign");
}

struct coren_trust *coren_trust_new(void)
{
	return calloc(1, sizeof(struct coren_trust));
}

void coren_trust_free(struct coren_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		lc.EVP_PKEY_free(t->k[i].pkey);
	free(t->k);
	free(t);
}

size_t coren_trust_count(const struct coren_trust *t)
{
	return t ? t->n : 0;
}

/* One public key's text (len bytes at s). */
static enum coren_err add_one(struct coren_trust *t, const char *s, size_t len,
			      struct coren_error *err)
{
	char *text = strndup(s, len), name[COREN_KEY_NAME_MAX + 1];
	unsigned char raw[PUB_LEN];
	struct public_key *nk;
	enum coren_err rc;
	const char *b;
	size_t blen;

	if (!text)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (!split(text, name, &b, &blen) || !unb64(b, blen, raw, PUB_LEN)) {
		/* never echoed: it may be a secret key given by mistake */
		coren_error_set(err, COREN_ERR_USAGE,
				"a key of %zu characters is not a public key "
				"(NAME:BASE64 of 32 bytes)%s",
				len,
				blen == 88 ? ": it looks like a secret key"
					   : "");
		explicit_bzero(text, len);
		free(text);
		return COREN_ERR_USAGE;
	}
	free(text);
	if ((rc = need_crypto(err)))
		return rc;
	if (t->n >= TRUST_MAX)
		return coren_error_set(err, COREN_ERR_LIMIT,
				       "more than %d trusted keys", TRUST_MAX);
	nk = realloc(t->k, (t->n + 1) * sizeof *nk);
	if (!nk)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	t->k = nk;
	memcpy(nk[t->n].name, name, sizeof name);
	nk[t->n].pkey = lc.EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
						    PUB_LEN);
	if (!nk[t->n].pkey)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "key '%s' is not an Ed25519 public key",
				       name);
	t->n++;
	return COREN_OK;
}

/* Every key of text: separated by blanks, commas or newlines; in a file
 * (file set) lines starting with # are comments. */
static enum coren_err add_text(struct coren_trust *t, const char *text,
			       const char *file, struct coren_error *err)
{
	const char *s = text;
	unsigned line = 1;
	enum coren_err rc = COREN_OK;
	size_t before = t->n;

	while (!rc && *s) {
		size_t n;

		if (*s == '\n')
			line++;
		if (strchr(" \t\r\n,", *s)) {
			s++;
			continue;
		}
		if (file && *s == '#') {
			s += strcspn(s, "\n");
			continue;
		}
		n = strcspn(s, " \t\r\n,");
		rc = add_one(t, s, n, err);
		s += n;
	}
	if (rc && file)
		prefix(err, "trusted keys '%s' line %u", file, line);
	else if (!rc && t->n == before)
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "no key in '%.80s'", file ? file : text);
	return rc;
}

enum coren_err coren_trust_add(struct coren_trust *t, const char *spec,
			       struct coren_error *err)
{
	char *data = NULL;
	size_t len;
	struct stat st;
	enum coren_err rc;

	if (stat(spec, &st)) /* no such file: the keys themselves */
		return add_text(t, spec, NULL, err);
	rc = coren_file_read_regular(spec, (size_t)1 << 20, false, &data, &len,
				     err);
	if (!rc && strlen(data) != len)
		rc = coren_error_set(err, COREN_ERR_USAGE,
				     "trusted keys '%s': not a text file", spec);
	if (!rc)
		rc = add_text(t, data, spec, err);
	free(data);
	return rc;
}

enum coren_err coren_trust_verify(const struct coren_trust *t,
				  const void *msg, size_t len,
				  const char *sig, struct coren_error *err)
{
	char name[COREN_KEY_NAME_MAX + 1];
	unsigned char raw[SIG_LEN];
	const char *b;
	size_t blen;
	EVP_MD_CTX *ctx;
	bool named = false;
	int ok;

	if (!sig || !split(sig, name, &b, &blen))
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "a malformed signature");
	for (size_t i = 0; t && i < t->n; i++)
		named |= !strcmp(t->k[i].name, name);
	if (!named) /* another's: not judged here, whatever its form */
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "signed by '%s', a key not trusted here",
				       name);
	if (!unb64(b, blen, raw, SIG_LEN))
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "a malformed signature by '%s'", name);
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->k[i].name, name))
			continue;
		ctx = lc.EVP_MD_CTX_new();
		ok = ctx &&
		     lc.EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, t->k[i].pkey) >
			     0 &&
		     lc.EVP_DigestVerify(ctx, raw, SIG_LEN, msg, len) == 1;
		lc.EVP_MD_CTX_free(ctx);
		if (ok)
			return COREN_OK;
		/* another trusted key may share the name: tried too */
	}
	return coren_error_set(err, COREN_ERR_CORRUPT,
			       "the signature by '%s' does not verify", name);
}
