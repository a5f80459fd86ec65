/* chunkedit - a test driver that rewrites a cached chunk's content and
 * stores it again with a correct header (as a forger would): the first
 * occurrence of FROM in the content becomes TO. The executor must still
 * refuse a line that names another point. Before the arguments,
 * --sigs JSON replaces the header's signatures (an array), --sign FILE
 * signs the chunk with that secret key instead, and --flops N,
 * --producer TEXT and --hlc-logical N replace those header fields (the
 * signatures kept, unless --sign). */
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
	struct coren_secret_key *key = NULL;
	json_t *sigs = NULL;
	const char *producer = NULL, *flops = NULL, *logical = NULL;
	char *content, *at;
	size_t len, from;

	while (argc > 2 && argv[1][0] == '-' && argv[1][1] == '-') {
		if (!strcmp(argv[1], "--producer"))
			producer = argv[2];
		else if (!strcmp(argv[1], "--flops"))
			flops = argv[2];
		else if (!strcmp(argv[1], "--hlc-logical"))
			logical = argv[2];
		else if (strcmp(argv[1], "--sigs") && strcmp(argv[1], "--sign"))
			break;
		if (!strcmp(argv[1], "--sigs") &&
		    !(sigs = json_loads(argv[2], 0, NULL)))
			return 2;
		if (!strcmp(argv[1], "--sign") &&
		    coren_secret_key_load(argv[2], &key, &err)) {
			fprintf(stderr, "chunkedit: %s\n", err.msg);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc != 5) {
		fputs("usage: chunkedit [--sigs JSON] [--sign KEY] [--flops N] "
		      "[--producer TEXT] [--hlc-logical N] CACHE ID FROM TO\n",
		      stderr);
		return 2;
	}
	if (coren_chunk_load(argv[1], argv[2], 0, &h, &content, &len, &err)) {
		fprintf(stderr, "chunkedit: %s\n", err.msg);
		return 2;
	}
	if (sigs) {
		json_decref(h.sigs);
		h.sigs = sigs;
	}
	h.signer = key;
	if (producer) {
		free(h.producer);
		h.producer = strdup(producer);
	}
	if (flops) {
		h.has_cost = true;
		h.cost.flops = strtoull(flops, NULL, 10);
	}
	if (logical)
		h.hlc.logical = strtoull(logical, NULL, 10);
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
	coren_secret_key_free(key);
	free(content);
	return 0;
}
