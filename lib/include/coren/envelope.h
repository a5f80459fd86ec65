/* coren/envelope.h - the 256-byte message header and envelopes
 * (coren-envelope(5)).
 *
 * An envelope is a header followed by payload_size bytes of payload. On the
 * wire every field is little-endian at the offset given by the struct below
 * (checked by _Static_assert); reserved bytes are written as zero. This one
 * definition is shared by the host and by device code.
 */
#ifndef COREN_ENVELOPE_H
#define COREN_ENVELOPE_H

#include <coren/error.h>
#include <coren/hlc.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_ENV_MAGIC 0x52494E474B45524EULL /* "RINGKERN" */
#define COREN_ENV_VERSION 1
#define COREN_ENV_HEADER_SIZE 256
#define COREN_ENV_PAYLOAD_MAX (64u * 1024u) /* 64 KiB */
#define COREN_RK_HOST 0 /* the kernel id of the host */

/* flags */
#define COREN_ENV_F_RESPONSE 0x1u /* a response to a host request */
#define COREN_ENV_F_ERROR 0x2u	  /* payload is an error message (UTF-8) */
#define COREN_ENV_F_K2K 0x4u	  /* sent kernel to kernel */

enum coren_rk_priority {
	COREN_RK_PRIO_LOW = 0,
	COREN_RK_PRIO_NORMAL = 1,
	COREN_RK_PRIO_HIGH = 2,
	COREN_RK_PRIO_CRITICAL = 3
};

/* How the payload bytes are to be read. */
enum coren_rk_encoding {
	COREN_RK_ENC_RAW = 0,  /* bytes */
	COREN_RK_ENC_UTF8 = 1, /* text */
	COREN_RK_ENC_JSON = 2, /* a JSON text */
	COREN_RK_ENC_F32 = 3,  /* little-endian float32 vector */
	COREN_RK_ENC_F64 = 4,  /* little-endian float64 vector */
	COREN_RK_ENC_U64 = 5,  /* little-endian uint64 vector */
	COREN_RK_ENC__COUNT
};

struct coren_rk_header {
	uint64_t magic;		/*   0 COREN_ENV_MAGIC */
	uint16_t version;	/*   8 COREN_ENV_VERSION */
	uint16_t flags;		/*  10 COREN_ENV_F_* */
	uint8_t priority;	/*  12 enum coren_rk_priority */
	uint8_t hops;		/*  13 K2K hops taken */
	uint8_t encoding;	/*  14 enum coren_rk_encoding */
	uint8_t reserved0;	/*  15 */
	uint64_t message_id;	/*  16 unique per sender */
	uint64_t correlation_id; /* 24 0 = none */
	uint32_t source;	/*  32 kernel id, 0 = host */
	uint32_t destination;	/*  36 kernel id, 0 = host */
	uint32_t message_type;	/*  40 application defined */
	uint32_t payload_size;	/*  44 bytes, <= COREN_ENV_PAYLOAD_MAX */
	uint32_t payload_crc;	/*  48 CRC-32C (Castagnoli) of the payload */
	uint32_t reserved1;	/*  52 */
	uint64_t hlc_physical;	/*  56 µs since the epoch */
	uint64_t hlc_logical;	/*  64 */
	uint16_t hlc_node;	/*  72 */
	uint8_t reserved2[6];	/*  74 */
	uint64_t deadline;	/*  80 µs since the epoch, 0 = none */
	uint8_t reserved[168];	/*  88 */
};

#ifndef __cplusplus
#define COREN_ENV_ASSERT(f, off)                                             \
	_Static_assert(offsetof(struct coren_rk_header, f) == (off),         \
		       "envelope field " #f " at " #off)
COREN_ENV_ASSERT(magic, 0);
COREN_ENV_ASSERT(version, 8);
COREN_ENV_ASSERT(flags, 10);
COREN_ENV_ASSERT(priority, 12);
COREN_ENV_ASSERT(hops, 13);
COREN_ENV_ASSERT(encoding, 14);
COREN_ENV_ASSERT(message_id, 16);
COREN_ENV_ASSERT(correlation_id, 24);
COREN_ENV_ASSERT(source, 32);
COREN_ENV_ASSERT(destination, 36);
COREN_ENV_ASSERT(message_type, 40);
COREN_ENV_ASSERT(payload_size, 44);
COREN_ENV_ASSERT(payload_crc, 48);
COREN_ENV_ASSERT(hlc_physical, 56);
COREN_ENV_ASSERT(hlc_logical, 64);
COREN_ENV_ASSERT(hlc_node, 72);
COREN_ENV_ASSERT(deadline, 80);
COREN_ENV_ASSERT(reserved, 88);
_Static_assert(sizeof(struct coren_rk_header) == COREN_ENV_HEADER_SIZE,
	       "the header is 256 bytes");
#endif

/* CRC-32C (Castagnoli, reflected, as iSCSI) of n bytes, continuing from
 * crc (0 to start). Uses SSE 4.2 when the CPU has it. */
uint32_t coren_crc32c(uint32_t crc, const void *data, size_t n);

/* A header with magic and version set, everything else zero. */
void coren_env_header_init(struct coren_rk_header *h);

/* The HLC timestamp of h, and setting it. */
struct coren_hlc_ts coren_env_hlc(const struct coren_rk_header *h);
void coren_env_set_hlc(struct coren_rk_header *h, struct coren_hlc_ts t);

/* Writes the envelope of h and payload (h->payload_size bytes) to out,
 * which holds cap bytes: sets payload_crc, writes little-endian, zeroes the
 * reserved bytes, and returns the number of bytes written in *len.
 * COREN_ERR_ENV_TOOBIG past 64 KiB, COREN_ERR_TOOLONG if cap is short. */
enum coren_err coren_env_encode(const struct coren_rk_header *h,
				const void *payload, void *out, size_t cap,
				size_t *len, struct coren_error *err);

/* Decodes the header at buf (len bytes available) into *h, checking, in
 * order: COREN_ERR_ENV_SHORT (len < 256), COREN_ERR_ENV_MAGIC,
 * COREN_ERR_ENV_VERSION (0 or > 1), COREN_ERR_ENV_TOOBIG. */
enum coren_err coren_env_decode_header(const void *buf, size_t len,
				       struct coren_rk_header *h,
				       struct coren_error *err);

/* Decodes a whole envelope: the header checks, then
 * COREN_ERR_ENV_TRUNCATED (fewer than payload_size bytes follow) and
 * COREN_ERR_ENV_CHECKSUM. *payload points into buf. */
enum coren_err coren_env_decode(const void *buf, size_t len,
				struct coren_rk_header *h,
				const unsigned char **payload,
				struct coren_error *err);

/* "low", "normal", "high", "critical"; and back (-1 if unknown). */
const char *coren_rk_priority_name(unsigned p);
int coren_rk_priority_parse(const char *s);

/* "raw", "utf8", "json", "f32", "f64", "u64"; and back (-1 if unknown). */
const char *coren_rk_encoding_name(unsigned e);
int coren_rk_encoding_parse(const char *s);

#ifdef __cplusplus
}
#endif
#endif
