/* libFuzzer harness: envelope decoding (coren-envelope(5)) on any bytes,
 * alone and as a stream, and the checks rk-launch makes of them
 * (coren_env_check, as the reader applies them). An envelope it accepts
 * must re-encode and decode to the same header and payload (reserved
 * bytes are zeroed); one the checks accept must be within their limits. */
#include <coren/rk.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KERNELS 2
#define MAX_PAYLOAD 1024

/* What coren_env_check(h, KERNELS, MAX_PAYLOAD) must hold of h. */
static int within(const struct coren_rk_header *h)
{
	return h->priority <= COREN_RK_PRIO_CRITICAL && h->encoding < COREN_RK_ENC__COUNT &&
	       h->destination >= 1 && h->destination <= KERNELS &&
	       h->payload_size <= MAX_PAYLOAD;
}

static void stream(const uint8_t *data, size_t size)
{
	FILE *f = tmpfile();
	struct coren_env_reader *r;
	struct coren_rk_msg *m;
	struct coren_error err = {0};
	int n = 0;

	if (!f)
		return;
	if (fwrite(data, 1, size, f) != size || fflush(f) ||
	    lseek(fileno(f), 0, SEEK_SET)) {
		fclose(f);
		return;
	}
	r = coren_env_reader_new(f, "fuzz");
	if (r)
		coren_env_reader_set_limits(r, KERNELS, MAX_PAYLOAD);
	while (r && n++ < 1000) {
		enum coren_err rc = coren_env_reader_next(r, &m, &err);

		if (!rc && m && !within(&m->hdr))
			abort(); /* the reader let through what the checks refuse */
		if (rc && !err.where[0])
			abort(); /* every error has its position */
		coren_rk_msg_free(m);
		if ((!rc && !m) || rc == COREN_ERR_IO)
			break;
	}
	coren_env_reader_free(r);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_rk_header h, h2;
	const unsigned char *payload, *p2;
	unsigned char *out;
	size_t len;

	stream(data, size);
	if (coren_env_decode(data, size, &h, &payload, NULL))
		return 0;
	if ((coren_env_check(&h, KERNELS, MAX_PAYLOAD, NULL) == COREN_OK) != within(&h))
		abort(); /* the checks are exactly their documented limits */
	out = malloc(COREN_ENV_HEADER_SIZE + h.payload_size);
	if (coren_env_encode(&h, payload, out, COREN_ENV_HEADER_SIZE + h.payload_size,
			     &len, NULL) ||
	    coren_env_decode(out, len, &h2, &p2, NULL))
		abort(); /* what was accepted must round-trip */
	if (memcmp(&h, &h2, sizeof h) || memcmp(p2, payload, h.payload_size))
		abort(); /* every field but the reserved bytes (zeroed) survives */
	free(out);
	return 0;
}
