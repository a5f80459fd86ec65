/* chunkedit - a test driver that rewrites a cached chunk's content and
 * stores it again with a correct header (as a forger would): the first
 * occurrence of FROM in the content becomes TO. The executor must still
 * refuse a line that names another point. */
#include "config.h"

#include <coren/memo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct coren_chunk_header h;
	struct coren_error err = {0};
	struct coren_buf out, image;
	char *content, *at;
	size_t len, from;

	if (argc != 5) {
		fputs("usage: chunkedit CACHE ID FROM TO\n", stderr);
		return 2;
	}
	if (coren_chunk_load(argv[1], argv[2], 0, &h, &content, &len, &err)) {
		fprintf(stderr, "chunkedit: %s\n", err.msg);
		return 2;
	}
	at = strstr(content, argv[3]);
	if (!at) {
		fprintf(stderr, "chunkedit: '%s' not in the chunk\n", argv[3]);
		return 1;
	}
	from = (size_t)(at - content);
	coren_buf_init(&out, 0);
	coren_buf_init(&image, 0);
	if (coren_buf_append(&out, content, from) ||
	    coren_buf_append(&out, argv[4], strlen(argv[4])) ||
	    coren_buf_append(&out, at + strlen(argv[3]),
			     len - from - strlen(argv[3])) ||
	    coren_chunk_store(argv[1], &h, out.data, out.len, &image, &err)) {
		fprintf(stderr, "chunkedit: %s\n", err.msg);
		return 2;
	}
	coren_buf_release(&out);
	coren_buf_release(&image);
	coren_chunk_header_release(&h);
	free(content);
	return 0;
}
