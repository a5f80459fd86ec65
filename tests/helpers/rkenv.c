/* rkenv - binary envelopes for tests and benchmarks:
 *   rkenv encode NAME...   msg records on stdin -> envelopes on stdout
 *                          (kernel ids: NAME's position, from 1)
 *   rkenv decode NAME...   envelopes on stdin -> records on stdout
 *   rkenv gen N BYTES ID   N envelopes of BYTES payload for kernel ID */
#include "config.h"

#include <coren/record.h>
#include <coren/rk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nnames;
static char **names;

static uint32_t lookup(void *data, const char *name)
{
	(void)data;
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name))
			return (uint32_t)i + 1;
	return 0;
}

static int put(const struct coren_rk_msg *m)
{
	static unsigned char buf[COREN_ENV_HEADER_SIZE + COREN_ENV_PAYLOAD_MAX];
	size_t len;

	return coren_env_encode(&m->hdr, m->payload, buf, sizeof buf, &len, NULL) ||
	       fwrite(buf, 1, len, stdout) != len;
}

static int encode(void)
{
	struct coren_reader *r = coren_reader_new(stdin, "stdin", 0);
	struct coren_error err = {0};
	json_t *rec;

	while (!coren_reader_next(r, &rec, &err) && rec) {
		struct coren_rk_msg *m;

		if (coren_rk_msg_from_record(rec, lookup, NULL, coren_reader_lineno(r), 0, &m, &err)) {
			fprintf(stderr, "rkenv: %s\n", err.msg);
			return 2;
		}
		if (put(m))
			return 2;
		coren_rk_msg_free(m);
		json_decref(rec);
	}
	coren_reader_free(r);
	return err.code ? 2 : 0;
}

static int decode(void)
{
	struct coren_env_reader *r = coren_env_reader_new(stdin, "stdin");
	struct coren_error err = {0};
	struct coren_rk_msg *m;
	struct coren_buf b;
	int rc = 0;

	coren_buf_init(&b, 0);
	for (;;) {
		enum coren_err e = coren_env_reader_next(r, &m, &err);

		if (!e && !m)
			break;
		if (e) {
			printf("{\"type\":\"bad\",\"at\":\"%s\"}\n", err.where);
			coren_rk_msg_free(m);
			rc = 1;
			continue;
		}
		coren_buf_reset(&b);
		coren_rk_msg_to_record(m, m->hdr.source && (int)m->hdr.source <= nnames
						  ? names[m->hdr.source - 1] : "host", &b);
		fwrite(b.data, 1, b.len, stdout);
		coren_rk_msg_free(m);
	}
	coren_buf_release(&b);
	coren_env_reader_free(r);
	return rc;
}

static int gen(long n, long bytes, long id)
{
	struct coren_rk_msg *m = coren_rk_msg_new((size_t)bytes);

	memset(m->payload, 7, (size_t)bytes);
	m->hdr.payload_size = (uint32_t)bytes;
	m->hdr.destination = (uint32_t)id;
	for (long i = 1; i <= n; i++) {
		m->hdr.correlation_id = (uint64_t)i;
		if (put(m))
			return 2;
	}
	coren_rk_msg_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "gen") && argc == 5)
		return gen(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	names = argv + 2;
	nnames = argc - 2;
	if (argc >= 2 && !strcmp(argv[1], "encode"))
		return encode();
	if (argc >= 2 && !strcmp(argv[1], "decode"))
		return decode();
	fprintf(stderr, "usage: rkenv encode|decode NAME... | rkenv gen N BYTES ID\n");
	return 2;
}
