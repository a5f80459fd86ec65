/* msg.c - messages, and kernel argument strings. */
#include "config.h"

#include <coren/json.h>
#include <coren/rk.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(struct coren_rk_msg, payload) % 16 == 0,
	       "payloads are 16-byte aligned");

struct coren_rk_msg *coren_rk_msg_new(size_t capacity)
{
	struct coren_rk_msg *m;

	if (capacity > COREN_ENV_PAYLOAD_MAX)
		return NULL;
	m = malloc(sizeof *m + capacity);
	if (!m)
		return NULL;
	coren_env_header_init(&m->hdr);
	m->capacity = (uint32_t)capacity;
	m->reserved = 0;
	m->sent_us = 0;
	return m;
}

void coren_rk_msg_free(struct coren_rk_msg *m)
{
	free(m);
}

enum coren_err coren_rk_msg_set_payload(struct coren_rk_msg **mp,
					const void *data, size_t n)
{
	struct coren_rk_msg *m = *mp;

	if (n > COREN_ENV_PAYLOAD_MAX)
		return COREN_ERR_ENV_TOOBIG;
	if (n > m->capacity) {
		m = realloc(m, sizeof *m + n);
		if (!m)
			return COREN_ERR_NOMEM;
		m->capacity = (uint32_t)n;
		*mp = m;
	}
	if (n)
		memmove(m->payload, data, n);
	m->hdr.payload_size = (uint32_t)n;
	return COREN_OK;
}

enum coren_err coren_rk_msg_set_error(struct coren_rk_msg **m, const char *at,
				      const char *reason)
{
	struct coren_buf b;
	enum coren_err rc;

	coren_buf_init(&b, COREN_ENV_PAYLOAD_MAX);
	rc = coren_buf_putc(&b, '{');
	if (!rc && at) {
		rc = coren_buf_append(&b, "\"at\":", 5);
		if (!rc)
			rc = coren_json_dump_string(at, strlen(at), &b);
		if (!rc)
			rc = coren_buf_putc(&b, ',');
	}
	if (!rc)
		rc = coren_buf_append(&b, "\"reason\":", 9);
	if (!rc)
		rc = coren_json_dump_string(reason, strlen(reason), &b);
	if (!rc)
		rc = coren_buf_putc(&b, '}');
	if (!rc)
		rc = coren_rk_msg_set_payload(m, b.data, b.len);
	if (rc)
		(*m)->hdr.payload_size = 0; /* still an error, without words */
	(*m)->hdr.encoding = COREN_RK_ENC_JSON;
	(*m)->hdr.flags |= COREN_ENV_F_ERROR;
	coren_buf_release(&b);
	return rc;
}

enum coren_err coren_rk_msg_decode(const void *buf, size_t len,
				   struct coren_rk_msg **out,
				   struct coren_error *err)
{
	struct coren_rk_header h;
	const unsigned char *payload;
	struct coren_rk_msg *m;
	enum coren_err rc = coren_env_decode(buf, len, &h, &payload, err);

	if (rc)
		return rc;
	m = coren_rk_msg_new(h.payload_size);
	if (!m)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	m->hdr = h;
	memcpy(m->payload, payload, h.payload_size);
	*out = m;
	return COREN_OK;
}

/* One "key=value" of an argument string. */
static enum coren_err parse_pair(const char *s, size_t n, json_t *obj,
				 struct coren_error *err)
{
	const char *eq = memchr(s, '=', n);
	char *key;
	json_t *v;

	if (!eq || eq == s)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "kernel argument '%.*s' is not key=value", (int)n, s);
	key = strndup(s, (size_t)(eq - s));
	v = json_loadb(eq + 1, n - (size_t)(eq - s) - 1, JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_stringn(eq + 1, n - (size_t)(eq - s) - 1);
	if (!key || !v || json_object_set_new(obj, key, v)) {
		free(key);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	free(key);
	return COREN_OK;
}

enum coren_err coren_rk_parse_args(const char *s, json_t **out,
				   struct coren_error *err)
{
	json_t *obj = json_object();
	int depth = 0;
	const char *start = s;

	if (!obj)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	/* Commas inside [...] or {...} belong to the value. */
	for (const char *p = s;; p++) {
		if (*p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && depth > 0)
			depth--;
		if ((*p == ',' && !depth) || !*p) {
			if (p > start && parse_pair(start, (size_t)(p - start), obj, err)) {
				json_decref(obj);
				return err ? err->code : COREN_ERR_USAGE;
			}
			if (!*p)
				break;
			start = p + 1;
		}
	}
	*out = obj;
	return COREN_OK;
}
