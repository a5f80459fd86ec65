/* libFuzzer harness: msg records (rk-launch's input) on any bytes. A record
 * that parses must make a message whose answer formats as one JSON line;
 * coren_rk_msg_from_line (its one-pass reader included) must agree with
 * coren_record_parse + coren_rk_msg_from_record on every input: the same
 * message, or the same error. */
#include <coren/rk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t lookup(void *data, const char *name)
{
	(void)data;
	return !strcmp(name, "a") ? 1 : !strcmp(name, "b") ? 2 : 0;
}

/* Both readers on the same line. */
static void same(const uint8_t *data, size_t size)
{
	struct coren_error e1 = {0}, e2 = {0};
	struct coren_rk_msg *m1 = NULL, *m2 = NULL;
	json_t *rec = NULL;
	enum coren_err r1 = coren_record_parse((const char *)data, size, &rec, &e1), r2;
	int is_msg = !r1 && !strcmp(coren_record_type(rec), "msg");

	if (is_msg)
		r1 = coren_rk_msg_from_record(rec, lookup, NULL, 7, 4096, &m1, &e1);
	r2 = coren_rk_msg_from_line((const char *)data, size, lookup, NULL, 7, 4096, &m2, &e2);
	if (r1 != r2 || strcmp(e1.msg, e2.msg))
		abort();
	if (!r1 && is_msg != (m2 != NULL))
		abort();
	if (m1 && m2) {
		m1->hdr.deadline = m2->hdr.deadline; /* from the clock at each call */
		if (memcmp(&m1->hdr, &m2->hdr, sizeof m1->hdr) ||
		    memcmp(m1->payload, m2->payload, m1->hdr.payload_size))
			abort();
	}
	coren_rk_msg_free(m1);
	coren_rk_msg_free(m2);
	json_decref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coren_rk_msg *m = NULL;
	struct coren_buf b;
	json_t *rec, *back;

	same(data, size);
	if (coren_record_parse((const char *)data, size, &rec, NULL))
		return 0;
	if (coren_rk_msg_from_record(rec, lookup, NULL, 1, 4096, &m, NULL)) {
		json_decref(rec);
		return 0;
	}
	if (m->hdr.payload_size > 4096 || !m->hdr.destination)
		abort();
	coren_buf_init(&b, 0);
	if (coren_rk_msg_to_record(m, "a", &b) || !b.len || b.data[b.len - 1] != '\n' ||
	    memchr(b.data, '\n', b.len - 1))
		abort();
	back = json_loadb(b.data, b.len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
	if (!back)
		abort(); /* every answer is valid JSON */
	json_decref(back);
	m->hdr.flags |= COREN_ENV_F_ERROR;
	coren_buf_reset(&b);
	if (coren_rk_msg_to_record(m, "a", &b) || !(back = json_loadb(b.data, b.len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL)))
		abort(); /* so is an error made of any payload */
	json_decref(back);
	coren_buf_release(&b);
	coren_rk_msg_free(m);
	json_decref(rec);
	return 0;
}
