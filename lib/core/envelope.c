/* envelope.c - CRC-32C and the 256-byte envelope header codec. */
#include "config.h"

#include <coren/envelope.h>
#include <string.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- CRC-32C -------------------------------------------------------- */

static uint32_t crc_table[8][256];
static int crc_hw;

/* Runs when the library is loaded, so the hot path tests nothing. */
__attribute__((constructor)) static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_soft(uint32_t c, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][p[4]] ^ crc_table[2][p[5]] ^
		    crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t c, const unsigned char *p, size_t n)
{
	uint64_t c64 = c;

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = _mm_crc32_u64(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

uint32_t coren_crc32c(uint32_t crc, const void *data, size_t n)
{
	uint32_t c = ~crc;

#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_sse42(c, data, n);
#endif
	return ~crc_soft(c, data, n);
}

/* ---- little-endian fields ------------------------------------------ */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ENV_LE 1
#else
#define ENV_LE 0
#endif

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	if (ENV_LE) {
		memcpy(p, &v, 4);
		return;
	}
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	if (ENV_LE) {
		memcpy(p, &v, 8);
		return;
	}
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	if (ENV_LE) {
		memcpy(&v, p, 4);
		return v;
	}
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	if (ENV_LE) {
		memcpy(&v, p, 8);
		return v;
	}
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

#define OFF(f) offsetof(struct coren_rk_header, f)

/* memset(p, 0, n). For these small fixed sizes gcc emits rep stos, whose
 * start-up alone costs more than the whole envelope copy; the empty asm
 * keeps it from turning the loop back into that memset. */
static inline void zero(void *p, size_t n)
{
#if defined(__SSE2__)
	unsigned char *c = p;

	for (; n >= 16; n -= 16, c += 16) {
		_mm_storeu_si128((__m128i *)(void *)c, _mm_setzero_si128());
		__asm__("" : "+r"(c));
	}
	for (; n; n--)
		*c++ = 0;
#else
	memset(p, 0, n);
#endif
}

void coren_env_header_init(struct coren_rk_header *h)
{
	zero(h, sizeof *h);
	h->magic = COREN_ENV_MAGIC;
	h->version = COREN_ENV_VERSION;
	h->priority = COREN_RK_PRIO_NORMAL;
}

struct coren_hlc_ts coren_env_hlc(const struct coren_rk_header *h)
{
	struct coren_hlc_ts t = {h->hlc_physical, h->hlc_logical, h->hlc_node};

	return t;
}

void coren_env_set_hlc(struct coren_rk_header *h, struct coren_hlc_ts t)
{
	h->hlc_physical = t.physical;
	h->hlc_logical = t.logical;
	h->hlc_node = t.node;
}

/* The fields of h at their wire offsets in p (all 256 bytes written). On a
 * little-endian host the struct is the wire layout, so the fields are one
 * copy and only the constants and reserved bytes are rewritten. */
static void put_header(unsigned char *p, const struct coren_rk_header *h)
{
	if (ENV_LE) {
		memcpy(p, h, OFF(reserved));
	} else {
		put16(p + OFF(flags), h->flags);
		p[OFF(priority)] = h->priority;
		p[OFF(hops)] = h->hops;
		p[OFF(encoding)] = h->encoding;
		put64(p + OFF(message_id), h->message_id);
		put64(p + OFF(correlation_id), h->correlation_id);
		put32(p + OFF(source), h->source);
		put32(p + OFF(destination), h->destination);
		put32(p + OFF(message_type), h->message_type);
		put32(p + OFF(payload_size), h->payload_size);
		put64(p + OFF(hlc_physical), h->hlc_physical);
		put64(p + OFF(hlc_logical), h->hlc_logical);
		put16(p + OFF(hlc_node), h->hlc_node);
		put64(p + OFF(deadline), h->deadline);
	}
	put64(p + OFF(magic), COREN_ENV_MAGIC);
	put16(p + OFF(version), COREN_ENV_VERSION);
	p[OFF(reserved0)] = 0;
	put32(p + OFF(reserved1), 0);
	zero(p + OFF(reserved2), sizeof h->reserved2);
	zero(p + OFF(reserved), sizeof h->reserved);
}

/* The reverse; the caller has checked magic, version and size. */
static void get_header(const unsigned char *p, struct coren_rk_header *h)
{
	if (ENV_LE) {
		memcpy(h, p, OFF(reserved));
	} else {
		h->magic = get64(p + OFF(magic));
		h->version = get16(p + OFF(version));
		h->flags = get16(p + OFF(flags));
		h->priority = p[OFF(priority)];
		h->hops = p[OFF(hops)];
		h->encoding = p[OFF(encoding)];
		h->message_id = get64(p + OFF(message_id));
		h->correlation_id = get64(p + OFF(correlation_id));
		h->source = get32(p + OFF(source));
		h->destination = get32(p + OFF(destination));
		h->message_type = get32(p + OFF(message_type));
		h->payload_size = get32(p + OFF(payload_size));
		h->payload_crc = get32(p + OFF(payload_crc));
		h->hlc_physical = get64(p + OFF(hlc_physical));
		h->hlc_logical = get64(p + OFF(hlc_logical));
		h->hlc_node = get16(p + OFF(hlc_node));
		h->deadline = get64(p + OFF(deadline));
	}
	h->reserved0 = 0;
	h->reserved1 = 0;
	zero(h->reserved2, sizeof h->reserved2);
	zero(h->reserved, sizeof h->reserved);
}

enum coren_err coren_env_encode(const struct coren_rk_header *h,
				const void *payload, void *out, size_t cap,
				size_t *len, struct coren_error *err)
{
	unsigned char *p = out;
	size_t n = h->payload_size;

	if (n > COREN_ENV_PAYLOAD_MAX)
		return coren_error_set(err, COREN_ERR_ENV_TOOBIG,
				       "payload of %zu bytes is larger than %u", n,
				       COREN_ENV_PAYLOAD_MAX);
	if (cap < COREN_ENV_HEADER_SIZE + n)
		return coren_error_set(err, COREN_ERR_TOOLONG,
				       "envelope of %zu bytes does not fit in %zu",
				       COREN_ENV_HEADER_SIZE + n, cap);
	put_header(p, h);
	put32(p + OFF(payload_crc), coren_crc32c(0, payload, n));
	if (n)
		memcpy(p + COREN_ENV_HEADER_SIZE, payload, n);
	*len = COREN_ENV_HEADER_SIZE + n;
	return COREN_OK;
}

enum coren_err coren_env_decode_header(const void *buf, size_t len,
				       struct coren_rk_header *h,
				       struct coren_error *err)
{
	const unsigned char *p = buf;
	uint64_t magic;
	unsigned version;
	uint32_t size;

	if (len < COREN_ENV_HEADER_SIZE)
		return coren_error_set(err, COREN_ERR_ENV_SHORT,
				       "envelope of %zu bytes is shorter than its %d-byte header",
				       len, COREN_ENV_HEADER_SIZE);
	magic = get64(p + OFF(magic));
	if (magic != COREN_ENV_MAGIC)
		return coren_error_set(err, COREN_ERR_ENV_MAGIC,
				       "bad envelope magic 0x%016llx", (unsigned long long)magic);
	version = get16(p + OFF(version));
	if (version == 0 || version > COREN_ENV_VERSION)
		return coren_error_set(err, COREN_ERR_ENV_VERSION,
				       "envelope version %u is not supported (1)", version);
	size = get32(p + OFF(payload_size));
	if (size > COREN_ENV_PAYLOAD_MAX)
		return coren_error_set(err, COREN_ERR_ENV_TOOBIG,
				       "envelope payload of %u bytes is larger than %u",
				       size, COREN_ENV_PAYLOAD_MAX);
	get_header(p, h);
	return COREN_OK;
}

enum coren_err coren_env_decode(const void *buf, size_t len,
				struct coren_rk_header *h,
				const unsigned char **payload,
				struct coren_error *err)
{
	const unsigned char *p = buf;
	enum coren_err rc = coren_env_decode_header(buf, len, h, err);
	uint32_t crc;

	if (rc)
		return rc;
	if (len - COREN_ENV_HEADER_SIZE < h->payload_size)
		return coren_error_set(err, COREN_ERR_ENV_TRUNCATED,
				       "envelope payload truncated: %zu of %u bytes",
				       len - COREN_ENV_HEADER_SIZE, h->payload_size);
	crc = coren_crc32c(0, p + COREN_ENV_HEADER_SIZE, h->payload_size);
	if (crc != h->payload_crc)
		return coren_error_set(err, COREN_ERR_ENV_CHECKSUM,
				       "envelope checksum 0x%08x, payload has 0x%08x",
				       h->payload_crc, crc);
	*payload = p + COREN_ENV_HEADER_SIZE;
	return COREN_OK;
}

static const char *const prio_names[] = {"low", "normal", "high", "critical"};
static const char *const enc_names[] = {"raw", "utf8", "json", "f32", "f64", "u64"};

const char *coren_rk_priority_name(unsigned p)
{
	return p < 4 ? prio_names[p] : "unknown";
}

int coren_rk_priority_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, prio_names[i]))
			return i;
	return -1;
}

const char *coren_rk_encoding_name(unsigned e)
{
	return e < COREN_RK_ENC__COUNT ? enc_names[e] : "raw";
}

int coren_rk_encoding_parse(const char *s)
{
	for (int i = 0; i < COREN_RK_ENC__COUNT; i++)
		if (!strcmp(s, enc_names[i]))
			return i;
	return -1;
}
