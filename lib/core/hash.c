/* hash.c - SHA-256 (FIPS 180-4) and hex encoding.
 *
 * On a CPU with the SHA extensions (SHA-NI), coren's own blocks on them
 * (1.4 GB/s here, OpenSSL 1.8): no libcrypto to load, whose 3,400 symbol
 * bindings would cost every process about 0.7 ms (crypto_int.h). On other
 * CPUs, OpenSSL's (vector code, twice the portable C), opened at the first
 * hash; portable C where libcrypto cannot be opened. COREN_SHA256=c or
 * =openssl forces one (the tests compare all three). */
#include "config.h"

#include "crypto_int.h"

#include <coren/hash.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif

struct own {
	uint32_t h[8];
	uint64_t len;	       /* bytes hashed so far */
	unsigned char buf[64]; /* len % 64 bytes waiting for a block */
};

struct coren_sha256 {
	union {
		struct own own; /* blocks != NULL */
		SHA256_CTX o;	/* blocks == NULL: OpenSSL's */
	} u;
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
			       0xa54ff53a, 0x510e527f, 0x9b05688c,
			       0x1f83d9ab, 0x5be0cd19};

static uint32_t ror(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* n 64-byte blocks at p into h, in portable C. */
static void blocks_c(uint32_t h[8], const unsigned char *p, size_t n)
{
	for (; n--; p += 64) {
		uint32_t w[64], s[8], t1, t2;
		int i;

		for (i = 0; i < 16; i++)
			w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
		for (; i < 64; i++)
			w[i] = (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10) +
			       w[i - 7] +
			       (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) +
			       w[i - 16];
		memcpy(s, h, sizeof s);
		for (i = 0; i < 64; i++) { /* s[(8 - i) % 8] is a, and so on */
			uint32_t *a = &s[(8 - i % 8) % 8], *b = &s[(9 - i % 8) % 8],
				 *c = &s[(10 - i % 8) % 8], *d = &s[(11 - i % 8) % 8],
				 *e = &s[(12 - i % 8) % 8], *f = &s[(13 - i % 8) % 8],
				 *g = &s[(14 - i % 8) % 8], *hh = &s[(15 - i % 8) % 8];

			t1 = *hh + (ror(*e, 6) ^ ror(*e, 11) ^ ror(*e, 25)) +
			     ((*e & *f) ^ (~*e & *g)) + K[i] + w[i];
			t2 = (ror(*a, 2) ^ ror(*a, 13) ^ ror(*a, 22)) +
			     ((*a & *b) ^ (*a & *c) ^ (*b & *c));
			*d += t1;
			*hh = t1 + t2; /* the next round's a */
		}
		for (i = 0; i < 8; i++)
			h[i] += s[i];
	}
}

#ifdef HAVE_SHA_NI
/* The same on the SHA extensions: the state as ABEF and CDGH, four rounds
 * (two sha256rnds2) per group of four message words; words 16..63 made by
 * sha256msg1/msg2 from the four groups before. */
__attribute__((target("sha,sse4.1"))) static void
blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i t = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
	__m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
	__m128i s0, m[4], x, abef, cdgh;

	t = _mm_shuffle_epi32(t, 0xB1);		 /* CDAB */
	s1 = _mm_shuffle_epi32(s1, 0x1B);	 /* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);		 /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);	 /* CDGH */
	for (; n--; p += 64) {
		abef = s0;
		cdgh = s1;
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 16
#endif
		for (int j = 0; j < 16; j++) {
			if (j < 4)
				m[j] = _mm_shuffle_epi8(
				    _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * j)),
				    bswap);
			else /* m[j % 4] holds words 4j-16..: made into 4j.. */
				m[j % 4] = _mm_sha256msg2_epu32(
				    _mm_add_epi32(_mm_sha256msg1_epu32(m[j % 4], m[(j + 1) % 4]),
						  _mm_alignr_epi8(m[(j + 3) % 4], m[(j + 2) % 4], 4)),
				    m[(j + 3) % 4]);
			x = _mm_add_epi32(m[j % 4],
					  _mm_loadu_si128((const __m128i *)(const void *)&K[4 * j]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, x);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(x, 0x0E));
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);	/* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);	/* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0);	/* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);		/* HGFE */
	_mm_storeu_si128((__m128i *)(void *)&h[0], s0);
	_mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}
#endif

#ifdef HAVE_SHA_NI
/* SSE4.1 (leaf 1, ECX bit 19) and the SHA extensions (leaf 7, EBX bit 29). */
static int sha_ni_present(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & 1u << 19))
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1u << 29);
}
#endif

/* The block function for this CPU, chosen once at load; NULL: OpenSSL's
 * SHA256_* (openssl()), chosen at the first hash. */
static void (*blocks)(uint32_t h[8], const unsigned char *p, size_t n);

__attribute__((constructor)) static void choose_blocks(void)
{
	const char *force = getenv("COREN_SHA256");

	if (force && !strcmp(force, "c"))
		blocks = blocks_c;
	else if (force && !strcmp(force, "openssl"))
		blocks = NULL;
	else
#ifdef HAVE_SHA_NI
		blocks = sha_ni_present() ? blocks_ni : NULL;
#else
		blocks = NULL;
#endif
}

static const struct coren_crypto *lc_hash; /* written once, by open_openssl */
static pthread_once_t lc_hash_once = PTHREAD_ONCE_INIT;

static void open_openssl(void)
{
	lc_hash = coren_crypto(NULL);
}

/* OpenSSL's functions when they hash here; NULL when coren's blocks do
 * (blocks, or blocks_c where libcrypto cannot be opened). */
static const struct coren_crypto *openssl(void)
{
	if (blocks)
		return NULL;
	pthread_once(&lc_hash_once, open_openssl);
	return lc_hash;
}

static void init(struct coren_sha256 *c)
{
	const struct coren_crypto *o = openssl();

	if (o) {
		o->SHA256_Init(&c->u.o);
		return;
	}
	memcpy(c->u.own.h, H0, sizeof c->u.own.h);
	c->u.own.len = 0;
}

static void update_own(struct own *c, const unsigned char *p, size_t n)
{
	size_t have = (size_t)(c->len % 64), k;

	if (!n)
		return; /* p may be NULL */
	c->len += n;
	if (have) {
		k = 64 - have < n ? 64 - have : n;
		memcpy(c->buf + have, p, k);
		p += k;
		n -= k;
		if (have + k < 64)
			return;
		(blocks ? blocks : blocks_c)(c->h, c->buf, 1);
	}
	if (n >= 64) {
		(blocks ? blocks : blocks_c)(c->h, p, n / 64);
		p += n / 64 * 64;
		n %= 64;
	}
	memcpy(c->buf, p, n);
}

static void update(struct coren_sha256 *c, const void *p, size_t n)
{
	const struct coren_crypto *o = openssl();

	if (o)
		o->SHA256_Update(&c->u.o, p, n);
	else
		update_own(&c->u.own, p, n);
}

static void final(struct coren_sha256 *c, unsigned char out[COREN_SHA256_LEN])
{
	const struct coren_crypto *o = openssl();
	struct own *s = &c->u.own;
	uint64_t bits = s->len * 8;
	unsigned char pad[72] = {0x80};
	size_t have = (size_t)(s->len % 64);
	size_t npad = (have < 56 ? 56 : 120) - have;

	if (o) {
		o->SHA256_Final(out, &c->u.o);
		return;
	}
	for (int i = 0; i < 8; i++)
		pad[npad + i] = (unsigned char)(bits >> (56 - 8 * i));
	update_own(s, pad, npad + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

enum coren_err coren_sha256(const void *data, size_t len,
			    unsigned char out[COREN_SHA256_LEN])
{
	struct coren_sha256 c;


	init(&c);
	update(&c, data, len);
	final(&c, out);
	return COREN_OK;
}

enum coren_err coren_sha256_hex(const void *data, size_t len,
				char out[COREN_SHA256_HEX_LEN + 1])
{
	unsigned char md[COREN_SHA256_LEN];

	coren_sha256(data, len, md);
	coren_hex(md, sizeof md, out);
	return COREN_OK;
}

struct coren_sha256 *coren_sha256_new(void)
{
	struct coren_sha256 *h = malloc(sizeof *h);

	if (h)
		init(h);
	return h;
}

enum coren_err coren_sha256_update(struct coren_sha256 *h, const void *data,
				   size_t len)
{
	update(h, data, len);
	return COREN_OK;
}

enum coren_err coren_sha256_final(struct coren_sha256 *h,
				  unsigned char out[COREN_SHA256_LEN])
{
	final(h, out);
	init(h);
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
