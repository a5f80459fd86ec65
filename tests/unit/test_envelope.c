/* test_envelope - the 256-byte header: offsets, CRC-32C, round trips and
 * every rejection. */
#include "config.h"

#include "tap.h"

#include <coren/envelope.h>
#include <coren/rk.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

static void offsets(void)
{
	is_int(sizeof(struct coren_rk_header), 256, "header is 256 bytes");
	is_int(offsetof(struct coren_rk_header, message_id), 16, "message_id at 16");
	is_int(offsetof(struct coren_rk_header, correlation_id), 24, "correlation_id at 24");
	is_int(offsetof(struct coren_rk_header, payload_size), 44, "payload_size at 44");
	is_int(offsetof(struct coren_rk_header, payload_crc), 48, "payload_crc at 48");
	is_int(offsetof(struct coren_rk_header, hlc_physical), 56, "hlc_physical at 56");
	is_int(offsetof(struct coren_rk_header, deadline), 80, "deadline at 80");
}

static void crc(void)
{
	unsigned char big[1000];
	uint32_t part;

	is_u64(coren_crc32c(0, "123456789", 9), 0xE3069283u, "CRC-32C check value");
	is_u64(coren_crc32c(0, "", 0), 0, "CRC-32C of nothing");
	for (int i = 0; i < 1000; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	part = coren_crc32c(coren_crc32c(0, big, 333), big + 333, 667);
	is_u64(part, coren_crc32c(0, big, 1000), "CRC-32C continues across calls");
}

static void le_bytes(void)
{
	struct coren_rk_header h;
	unsigned char buf[300];
	size_t len;

	coren_env_header_init(&h);
	h.correlation_id = 0x0102030405060708ULL;
	h.payload_size = 3;
	ok(!coren_env_encode(&h, "abc", buf, sizeof buf, &len, NULL) && len == 259,
	   "encode: 256 + 3 bytes");
	ok(!memcmp(buf, "NREKGNIR", 8), "magic RINGKERN little-endian");
	ok(buf[24] == 8 && buf[31] == 1, "correlation id little-endian at 24");
	ok(buf[8] == 1 && buf[9] == 0, "version 1");
	ok(buf[44] == 3 && buf[45] == 0, "payload size at 44");
	{
		int zero = 1;

		for (int i = 88; i < 256; i++)
			zero &= buf[i] == 0;
		ok(zero, "reserved bytes are zero");
	}
}

static void round_trip(void)
{
	struct coren_rk_header h, d;
	struct coren_hlc_ts t = {1795370837520505ULL, 42, 7};
	unsigned char buf[512], pay[64];
	const unsigned char *p;
	size_t len;

	coren_env_header_init(&h);
	h.flags = COREN_ENV_F_K2K;
	h.priority = COREN_RK_PRIO_CRITICAL;
	h.hops = 3;
	h.encoding = COREN_RK_ENC_F32;
	h.message_id = 99;
	h.correlation_id = 1234567890123ULL;
	h.source = 4;
	h.destination = 5;
	h.message_type = 77;
	h.payload_size = 64;
	h.deadline = 123456;
	coren_env_set_hlc(&h, t);
	memset(pay, 0xab, 64);
	ok(!coren_env_encode(&h, pay, buf, sizeof buf, &len, NULL), "encode");
	ok(!coren_env_decode(buf, len, &d, &p, NULL), "decode");
	ok(d.flags == h.flags && d.priority == 3 && d.hops == 3 && d.encoding == 3 &&
	   d.message_id == 99 && d.correlation_id == h.correlation_id &&
	   d.source == 4 && d.destination == 5 && d.message_type == 77 &&
	   d.payload_size == 64 && d.deadline == 123456,
	   "every field survives");
	ok(coren_hlc_cmp(coren_env_hlc(&d), t) == 0, "HLC stamp survives");
	ok(p == buf + 256 && p[0] == 0xab && p[63] == 0xab, "payload follows the header");
	is_u64(d.payload_crc, coren_crc32c(0, p, 64), "checksum is the payload's CRC-32C");
}

static void rejections(void)
{
	struct coren_rk_header h, d;
	struct coren_error err = {0};
	unsigned char buf[512], bad[512];
	const unsigned char *p;
	struct coren_rk_msg *m;
	size_t len;

	coren_env_header_init(&h);
	h.payload_size = 16;
	coren_env_encode(&h, "0123456789abcdef", buf, sizeof buf, &len, NULL);
	is_int(coren_env_decode(buf, 100, &d, &p, &err), COREN_ERR_ENV_SHORT, "short buffer");
	memcpy(bad, buf, len);
	bad[0] ^= 1;
	is_int(coren_env_decode(bad, len, &d, &p, &err), COREN_ERR_ENV_MAGIC, "bad magic");
	memcpy(bad, buf, len);
	bad[8] = 2;
	is_int(coren_env_decode(bad, len, &d, &p, &err), COREN_ERR_ENV_VERSION, "version 2");
	bad[8] = 0;
	is_int(coren_env_decode(bad, len, &d, &p, &err), COREN_ERR_ENV_VERSION, "version 0");
	memcpy(bad, buf, len);
	bad[44] = 0x01;
	bad[46] = 0x01; /* 65537 bytes */
	is_int(coren_env_decode(bad, len, &d, &p, &err), COREN_ERR_ENV_TOOBIG, "payload too large");
	is_int(coren_env_decode(buf, len - 1, &d, &p, &err), COREN_ERR_ENV_TRUNCATED,
	       "truncated payload");
	memcpy(bad, buf, len);
	bad[260] ^= 0x40;
	is_int(coren_env_decode(bad, len, &d, &p, &err), COREN_ERR_ENV_CHECKSUM, "bad checksum");
	ok(strstr(err.msg, "checksum") != NULL, "checksum message: %s", err.msg);
	h.payload_size = COREN_ENV_PAYLOAD_MAX + 1;
	is_int(coren_env_encode(&h, buf, buf, sizeof buf, &len, NULL), COREN_ERR_ENV_TOOBIG,
	       "encode refuses a payload over 64 KiB");
	h.payload_size = 300;
	is_int(coren_env_encode(&h, buf, bad, sizeof bad, &len, NULL), COREN_ERR_TOOLONG,
	       "encode refuses a short output buffer");
	h.payload_size = 16;
	coren_env_encode(&h, "0123456789abcdef", buf, sizeof buf, &len, NULL);
	ok(!coren_rk_msg_decode(buf, len, &m, NULL) && m->hdr.payload_size == 16 &&
	   !memcmp(m->payload, "0123456789abcdef", 16), "a message from an envelope");
	coren_rk_msg_free(m);
	is_str(coren_rk_priority_name(3), "critical", "priority names");
	is_int(coren_rk_priority_parse("high"), 2, "priority parse");
	is_int(coren_rk_encoding_parse("f64"), COREN_RK_ENC_F64, "encoding parse");
}

static void stream(void)
{
	char path[] = "/tmp/test_envelope.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w+");
	struct coren_rk_header h;
	unsigned char buf[512];
	struct coren_env_reader *r;
	struct coren_rk_msg *m;
	struct coren_error err = {0};
	size_t len;

	coren_env_header_init(&h);
	h.payload_size = 4;
	for (int i = 1; i <= 3; i++) {
		h.correlation_id = (uint64_t)i;
		coren_env_encode(&h, "abcd", buf, sizeof buf, &len, NULL);
		if (i == 2) {
			fwrite("garbage!", 1, 8, f); /* then a good one */
		}
		fwrite(buf, 1, len, f);
	}
	fflush(f);
	rewind(f);
	r = coren_env_reader_new(f, "test");
	ok(!coren_env_reader_next(r, &m, &err) && m && m->hdr.correlation_id == 1, "first envelope");
	coren_rk_msg_free(m);
	is_int(coren_env_reader_next(r, &m, &err), COREN_ERR_ENV_MAGIC, "garbage: bad magic");
	is_str(err.where, "test:@260", "position is the byte offset");
	coren_error_clear(&err);
	ok(!coren_env_reader_next(r, &m, &err) && m && m->hdr.correlation_id == 2,
	   "resynchronised at the next magic");
	coren_rk_msg_free(m);
	ok(!coren_env_reader_next(r, &m, &err) && m && m->hdr.correlation_id == 3, "third");
	coren_rk_msg_free(m);
	ok(!coren_env_reader_next(r, &m, &err) && !m, "end of input");
	coren_env_reader_free(r);
	fclose(f);
	unlink(path);
}

int main(void)
{
	offsets();
	crc();
	le_bytes();
	round_trip();
	rejections();
	stream();
	return done_testing();
}
