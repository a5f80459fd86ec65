/* libFuzzer harness: msg records (rk-launch's input) on any bytes. A record
 * that parses must make a message whose answer formats as one JSON line;
 * coren_rk_msg_from_line (its one-pass reader included) must agree with
 * coren_record_parse + coren_rk_msg_from_record on every input: the same
 * message, or the same error. A JSON-text payload is the same value, but
 * spelled as the line spells it by from_line and serialized by
 * from_record, so their sizes (and a size limit's verdict) may differ;
 * from_line's is the line's own text. */
#define _GNU_SOURCE /* memmem */
#include <coren/json.h>
#include <coren/rk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a and b, JSON payloads, are the same value. */
static int same_json(const struct coren_rk_msg *a, const struct coren_rk_msg *b)
{
	json_t *x = coren_json_parse((const char *)a->payload, a->hdr.payload_size, NULL);
	json_t *y = coren_json_parse((const char *)b->payload, b->hdr.payload_size, NULL);
	int same = x && y && json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return same;
}

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
	if ((r1 == COREN_ERR_ENV_TOOBIG || r2 == COREN_ERR_ENV_TOOBIG) && r1 != r2) {
		/* a JSON text's spelling decided: the other is JSON text */
		if ((m1 ? m1 : m2)->hdr.encoding != COREN_RK_ENC_JSON)
			abort();
	} else if (r1 != r2 || (r1 != COREN_ERR_ENV_TOOBIG && strcmp(e1.msg, e2.msg))) {
		abort();
	}
	if (!r1 && !r2 && is_msg != (m2 != NULL))
		abort();
	if (m1 && m2) {
		m1->hdr.deadline = m2->hdr.deadline; /* from the clock at each call */
		if (m1->hdr.encoding == COREN_RK_ENC_JSON && m2->hdr.encoding == COREN_RK_ENC_JSON) {
			if (!same_json(m1, m2) || !memmem(data, size, m2->payload, m2->hdr.payload_size))
				abort(); /* the same value; the line's own text */
			m1->hdr.payload_size = m2->hdr.payload_size;
			m1->hdr.payload_crc = m2->hdr.payload_crc;
		} else if (memcmp(m1->payload, m2->payload, m1->hdr.payload_size)) {
			abort();
		}
		if (memcmp(&m1->hdr, &m2->hdr, sizeof m1->hdr))
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
