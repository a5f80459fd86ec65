/* libFuzzer harness: envelope decoding (coren-envelope(5)) on any bytes,
 * alone and as a stream. An envelope it accepts must re-encode and decode
 * to the same header and payload (reserved bytes are zeroed). */
#include <coren/rk.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	while (r && n++ < 1000) {
		enum coren_err rc = coren_env_reader_next(r, &m, &err);

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
