/* libFuzzer harness: the chunk reader (coren-chunk(5)) on any bytes, as
 * from a remote tier: the header alone (coren_chunk_peek, on the whole
 * input and on a prefix, as a range request gives it) and the whole file.
 * A chunk it accepts must hold one line per point, have a header peek
 * accepts, and re-encode to a chunk it accepts again. */
#include <coren/memo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_chunk_header h, h2;
	struct coren_error err = {0};
	struct coren_buf b;
	char *content, *c2;
	size_t len, len2;

	bool peeked = !coren_chunk_peek(data, size, NULL, &h, &err);

	if (peeked)
		coren_chunk_header_release(&h);
	if (!coren_chunk_peek(data, size / 2, NULL, &h, &err))
		coren_chunk_header_release(&h);
	if (coren_chunk_decode(data, size, NULL, 1 << 20, &h, &content, &len,
			       &err))
		return 0;
	if (!peeked)
		abort(); /* a whole chunk has a valid header */
	coren_buf_init(&b, 0);
	if (coren_chunk_encode(&h, content, len, 1, &b, &err) ||
	    coren_chunk_decode(b.data, b.len, h.id, 1 << 20, &h2, &c2, &len2,
			       &err))
		abort(); /* what was accepted must round-trip */
	if (len2 != len || memcmp(c2, content, len))
		abort();
	coren_chunk_header_release(&h2);
	free(c2);
	coren_buf_release(&b);
	coren_chunk_header_release(&h);
	free(content);
	return 0;
}
