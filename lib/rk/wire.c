/* wire.c - msg records to messages and answers to records; base64. */
#include "config.h"

#include <coren/json.h>
#include <coren/record.h>
#include <coren/rk.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

/* ---- base64 ------------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum coren_err coren_base64_encode(const void *data, size_t n,
				   struct coren_buf *b)
{
	const unsigned char *p = data;
	enum coren_err rc = coren_buf_reserve(b, (n + 2) / 3 * 4);
	char *o;

	if (rc)
		return rc;
	o = b->data + b->len;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return COREN_OK;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum coren_err coren_base64_decode(const char *s, size_t n, void *out,
				   size_t cap, size_t *len)
{
	unsigned char *o = out;
	size_t k = 0;

	if (n % 4)
		return COREN_ERR_RECORD;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)s[i + j];

			if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
				v[j] = 0;
				pad++;
			} else if ((v[j] = b64_value(c)) < 0 || pad) {
				return COREN_ERR_RECORD;
			}
		}
		if (k + 3 - (size_t)pad > cap)
			return COREN_ERR_RECORD;
		o[k++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			o[k++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			o[k++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*len = k;
	return COREN_OK;
}

/* ---- msg records to messages -------------------------------------------- */

#define bad(err, fmt, field) coren_error_set(err, COREN_ERR_RECORD, fmt, field)

static enum coren_err too_big(struct coren_error *err, size_t n, size_t max)
{
	return coren_error_set(err, COREN_ERR_ENV_TOOBIG,
			       "payload of %zu bytes is larger than %zu", n, max);
}

/* An array of numbers as a vector of enc. */
static enum coren_err vector(const json_t *arr, int enc, size_t max,
			     struct coren_rk_msg **m, struct coren_error *err)
{
	size_t n = json_array_size(arr), es = enc == COREN_RK_ENC_F32 ? 4 : 8;
	size_t i;
	const json_t *v;

	if (enc != COREN_RK_ENC_F32 && enc != COREN_RK_ENC_F64 && enc != COREN_RK_ENC_U64)
		return bad(err, "field '%s': an array payload is f32, f64 or u64", "enc");
	if (n > max / es)
		return too_big(err, n * es, max);
	if (!(*m = coren_rk_msg_new(n * es)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, v) {
		double d;
		uint64_t u;

		if (enc == COREN_RK_ENC_U64) {
			if (coren_json_get_u64(v, &u))
				return coren_error_set(err, COREN_ERR_RECORD,
						       "field 'payload': element %zu is not an unsigned integer", i);
			memcpy((*m)->payload + i * 8, &u, 8);
		} else if (!json_is_number(v)) {
			return coren_error_set(err, COREN_ERR_RECORD,
					       "field 'payload': element %zu is not a number", i);
		} else if (enc == COREN_RK_ENC_F64) {
			d = json_number_value(v);
			memcpy((*m)->payload + i * 8, &d, 8);
		} else {
			float f = (float)json_number_value(v);

			memcpy((*m)->payload + i * 4, &f, 4);
		}
	}
	(*m)->hdr.payload_size = (uint32_t)(n * es);
	(*m)->hdr.encoding = (uint8_t)enc;
	return COREN_OK;
}

static enum coren_err bytes(const void *p, size_t n, int enc, size_t max,
			    struct coren_rk_msg **m, struct coren_error *err)
{
	if (n > max)
		return too_big(err, n, max);
	if (!(*m = coren_rk_msg_new(n)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	memcpy((*m)->payload, p, n);
	(*m)->hdr.payload_size = (uint32_t)n;
	(*m)->hdr.encoding = (uint8_t)enc;
	return COREN_OK;
}

/* The payload of rec; a JSON value that is not a vector or a string is
 * its text: raw (rn bytes, as the input spelled it) when the caller has
 * it, else serialized (coren_json_dumpb: exact, shortest reals). */
static enum coren_err payload(const json_t *rec, int enc, size_t max,
			      const char *raw, size_t rn,
			      struct coren_rk_msg **m, struct coren_error *err)
{
	const json_t *p = json_object_get(rec, "payload");
	const json_t *b = json_object_get(rec, "payload_b64");
	enum coren_err rc;

	if (p && b)
		return bad(err, "fields 'payload' and '%s' exclude each other", "payload_b64");
	if (b) {
		const char *s = json_string_value(b);
		size_t n = json_string_length(b), len;
		unsigned char *buf;

		if (!s)
			return bad(err, "field '%s' is not a string", "payload_b64");
		if (n / 4 * 3 > max + 2)
			return too_big(err, n / 4 * 3, max);
		buf = malloc(n / 4 * 3 + 3);
		if (!buf)
			return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		rc = coren_base64_decode(s, n, buf, n / 4 * 3 + 3, &len);
		if (rc)
			rc = bad(err, "field '%s' is not base64", "payload_b64");
		else
			rc = bytes(buf, len, enc < 0 ? COREN_RK_ENC_RAW : enc, max, m, err);
		free(buf);
		return rc;
	}
	if (!p)
		return bytes("", 0, enc < 0 ? COREN_RK_ENC_RAW : enc, max, m, err);
	if (json_is_array(p) && (enc >= 0 || json_array_size(p)))
		return vector(p, enc < 0 ? COREN_RK_ENC_F32 : enc, max, m, err);
	if (json_is_string(p))
		return bytes(json_string_value(p), json_string_length(p),
			     COREN_RK_ENC_UTF8, max, m, err);
	if (raw)
		return bytes(raw, rn, COREN_RK_ENC_JSON, max, m, err);
	{
		struct coren_buf text;

		coren_buf_init(&text, 0);
		rc = coren_json_dumpb(p, 0, &text);
		if (!rc)
			rc = bytes(text.data ? text.data : "", text.len, COREN_RK_ENC_JSON, max, m, err);
		else
			rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		coren_buf_release(&text);
		return rc;
	}
}

static enum coren_err header_fields(const json_t *rec, uint64_t seq,
				    struct coren_rk_header *h,
				    struct coren_error *err)
{
	const json_t *v;
	uint64_t u;

	h->correlation_id = seq;
	if ((v = json_object_get(rec, "corr")) && coren_json_get_u64(v, &h->correlation_id))
		return bad(err, "field '%s' is not an unsigned integer", "corr");
	if ((v = json_object_get(rec, "mtype"))) {
		if (coren_json_get_u64(v, &u) || u > UINT32_MAX)
			return bad(err, "field '%s' is not a 32-bit unsigned integer", "mtype");
		h->message_type = (uint32_t)u;
	}
	if ((v = json_object_get(rec, "priority"))) {
		int p = json_is_string(v) ? coren_rk_priority_parse(json_string_value(v))
			: coren_json_get_u64(v, &u) || u > 3 ? -1 : (int)u;

		if (p < 0)
			return bad(err, "field '%s' is not low, normal, high, critical or 0-3",
				   "priority");
		h->priority = (uint8_t)p;
	}
	if ((v = json_object_get(rec, "deadline_ms"))) {
		double ms = json_number_value(v);

		if (!json_is_number(v) || !(ms >= 0) || ms > 1e12)
			return bad(err, "field '%s' is not a number of milliseconds", "deadline_ms");
		h->deadline = coren_hlc_wall_us() + (uint64_t)(ms * 1000);
	}
	return COREN_OK;
}

static enum coren_err from_record(const json_t *rec, coren_rk_lookup_fn *lookup,
				  void *data, uint64_t seq, size_t max_payload,
				  const char *raw, size_t rn, struct coren_rk_msg **out,
				  struct coren_error *err)
{
	struct coren_rk_header h;
	struct coren_rk_msg *m = NULL;
	const json_t *v;
	const char *to;
	uint32_t dest;
	int enc = -1;
	enum coren_err rc;

	if (!max_payload || max_payload > COREN_ENV_PAYLOAD_MAX)
		max_payload = COREN_ENV_PAYLOAD_MAX;
	if ((rc = coren_record_get_string(rec, "to", &to, err)))
		return rc;
	dest = lookup(data, to);
	if (!dest)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "no kernel named '%s'", to);
	coren_env_header_init(&h);
	if ((rc = header_fields(rec, seq, &h, err)))
		return rc;
	if ((v = json_object_get(rec, "enc")) &&
	    (!json_is_string(v) || (enc = coren_rk_encoding_parse(json_string_value(v))) < 0))
		return bad(err, "field '%s' is not raw, utf8, json, f32, f64 or u64", "enc");
	rc = payload(rec, enc, max_payload, raw, rn, &m, err);
	if (rc) {
		coren_rk_msg_free(m);
		return rc;
	}
	h.payload_size = m->hdr.payload_size;
	h.encoding = m->hdr.encoding;
	h.destination = dest;
	m->hdr = h;
	*out = m;
	return COREN_OK;
}

enum coren_err coren_rk_msg_from_record(const json_t *rec,
					coren_rk_lookup_fn *lookup, void *data,
					uint64_t seq, size_t max_payload,
					struct coren_rk_msg **out,
					struct coren_error *err)
{
	return from_record(rec, lookup, data, seq, max_payload, NULL, 0, out, err);
}

/* ---- a payload's text in its line ------------------------------------------ */

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Past the JSON value at p, in text the parser took, or end. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0, in_string = 0;

	for (; p < end; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"' && !(in_string = 0) && !depth)
				return p + 1;
			continue;
		}
		if (*p == '"')
			in_string = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth <= 0)
			return depth ? p : p + 1;
		else if (!depth && (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			return p;
	}
	return p;
}

/* Whether the key k (n bytes, quotes included) is "payload". */
static int is_payload_key(const char *k, size_t n)
{
	json_t *v;
	int yes;

	if (n == 9 && !memcmp(k, "\"payload\"", 9))
		return 1;
	if (!memchr(k, '\\', n))
		return 0;
	v = json_loadb(k, n, JSON_DECODE_ANY, NULL); /* an escaped key: rare */
	yes = json_is_string(v) && !strcmp(json_string_value(v), "payload") &&
	      json_string_length(v) == 7;
	json_decref(v);
	return yes;
}

/* The text of the member "payload" of the record line, which the parser
 * took (so valid, its keys unique): 1 and [*v, *v + *n), else 0. */
static int payload_text(const char *line, size_t len, const char **v, size_t *n)
{
	const char *p = ws(line, line + len), *end = line + len;

	if (p >= end || *p++ != '{')
		return 0;
	for (;;) {
		const char *k = ws(p, end), *ke = skip_value(k, end), *ve;

		p = ws(ke, end);
		if (k >= end || *k != '"' || p >= end || *p != ':')
			return 0;
		p = ws(p + 1, end);
		ve = skip_value(p, end);
		if (is_payload_key(k, (size_t)(ke - k))) {
			*v = p;
			*n = (size_t)(ve - p);
			return 1;
		}
		p = ws(ve, end);
		if (p >= end || *p++ != ',')
			return 0;
	}
}

/* ---- the one-pass reader -------------------------------------------------- */

/* A flat array of numbers (coren_record_scan_vectors checked its grammar)
 * as f32 or f64 into a new message; 0 to fall back: empty, or an integer
 * past 18 digits, which jansson does not read as a number. */
static int fast_vector(const struct coren_field *v, int enc, size_t max,
		       struct coren_rk_msg **m)
{
	size_t es = enc == COREN_RK_ENC_F32 ? 4 : 8, n = 1, i = 0;
	const char *p = v->val + 1, *e = v->val + v->vlen - 1; /* inside [] */

	for (const char *c = p; c < e; c++)
		n += *c == ',';
	if (p + strspn(p, " \t\r\n") == e)
		return 0; /* [] */
	if (n * es > max || !(*m = coren_rk_msg_new(n * es)))
		return 0;
	for (; i < n; i++) {
		char num[48];
		size_t len;
		double d;

		p += strspn(p, " \t\r\n,");
		len = strspn(p, "+-.eE0123456789");
		if (len >= sizeof num)
			return 0;
		if (!memchr(p, '.', len) && !memchr(p, 'e', len) && !memchr(p, 'E', len)) {
			int64_t k = 0; /* as jansson: an int64, so "-0" is +0 */

			if (len - (*p == '-') > 18)
				return 0;
			for (const char *c = *p == '-' ? p + 1 : p; c < p + len; c++)
				k = k * 10 + (*c - '0');
			d = (double)(*p == '-' ? -k : k);
		} else {
			memcpy(num, p, len);
			num[len] = '\0';
			d = strtod(num, NULL);
		}
		if (es == 4) {
			float f = (float)d;

			memcpy((*m)->payload + i * 4, &f, 4);
		} else {
			memcpy((*m)->payload + i * 8, &d, 8);
		}
		p += len;
	}
	(*m)->hdr.payload_size = (uint32_t)(n * es);
	(*m)->hdr.encoding = (uint8_t)enc;
	return 1;
}

/* The payload of the one-pass reader: 1 and *m made, 0 to fall back. */
static int fast_payload(const struct coren_field *p, const struct coren_field *b,
			int enc, size_t max, struct coren_rk_msg **m)
{
	size_t got;

	if (p && b)
		return 0;
	if (b) {
		if (b->kind != 's' || b->vlen / 4 * 3 > max ||
		    !(*m = coren_rk_msg_new(b->vlen / 4 * 3)) ||
		    coren_base64_decode(b->val, b->vlen, (*m)->payload, (*m)->capacity, &got))
			return 0;
		(*m)->hdr.payload_size = (uint32_t)got;
		(*m)->hdr.encoding = (uint8_t)(enc < 0 ? COREN_RK_ENC_RAW : enc);
		return 1;
	}
	if (!p) {
		if (!(*m = coren_rk_msg_new(0)))
			return 0;
		(*m)->hdr.encoding = (uint8_t)(enc < 0 ? COREN_RK_ENC_RAW : enc);
		return 1;
	}
	if (p->kind == 's') {
		if (p->vlen > max || !(*m = coren_rk_msg_new(p->vlen)))
			return 0;
		memcpy((*m)->payload, p->val, p->vlen);
		(*m)->hdr.payload_size = (uint32_t)p->vlen;
		(*m)->hdr.encoding = COREN_RK_ENC_UTF8;
		return 1;
	}
	if (p->kind == 'n' || p->kind == 'b' || p->kind == 'z' ||
	    (p->kind == 'j' && p->val[0] == '{') ||
	    (p->kind == 'a' && enc < 0 && p->val[1 + strspn(p->val + 1, " \t\r\n")] == ']')) {
		/* JSON text, as the line spells it: never parsed here */
		if (p->vlen > max || !(*m = coren_rk_msg_new(p->vlen)))
			return 0;
		memcpy((*m)->payload, p->val, p->vlen);
		(*m)->hdr.payload_size = (uint32_t)p->vlen;
		(*m)->hdr.encoding = COREN_RK_ENC_JSON;
		return 1;
	}
	if (enc < 0)
		enc = COREN_RK_ENC_F32;
	return p->kind == 'a' && (enc == COREN_RK_ENC_F32 || enc == COREN_RK_ENC_F64) &&
	       fast_vector(p, enc, max, m);
}

/* The one-pass reader: a msg record of plain fields (coren_record_scan_
 * vectors), all of them known; 1 and *out made, 0 to fall back. */
static int fast_msg(const char *line, size_t len, coren_rk_lookup_fn *lookup,
		    void *data, uint64_t seq, size_t max, struct coren_rk_msg **out)
{
	static const char *const known[] = {"type", "to", "corr", "mtype",
					    "enc", "payload", "payload_b64"};
	struct coren_field f[8];
	const struct coren_field *to, *v;
	struct coren_rk_header h;
	struct coren_rk_msg *m = NULL;
	char name[256], enc_name[8];
	int n = coren_record_scan_values(line, len, f, 8), enc = -1;
	uint64_t u;

	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		size_t k = 0;

		while (k < sizeof known / sizeof *known &&
		       (strlen(known[k]) != f[i].klen || memcmp(known[k], f[i].key, f[i].klen)))
			k++;
		if (k == sizeof known / sizeof *known)
			return 0; /* the full path knows what to do with it */
	}
	if (!coren_field_is(coren_field_find(f, n, "type"), "msg") ||
	    !(to = coren_field_find(f, n, "to")) || to->kind != 's' || to->vlen >= sizeof name)
		return 0;
	memcpy(name, to->val, to->vlen);
	name[to->vlen] = '\0';
	coren_env_header_init(&h);
	h.correlation_id = seq;
	if ((v = coren_field_find(f, n, "corr")) && coren_field_u64(v, &h.correlation_id))
		return 0;
	if ((v = coren_field_find(f, n, "mtype"))) {
		if (coren_field_u64(v, &u) || u > UINT32_MAX)
			return 0;
		h.message_type = (uint32_t)u;
	}
	if ((v = coren_field_find(f, n, "enc"))) {
		if (v->kind != 's' || v->vlen >= sizeof enc_name)
			return 0;
		memcpy(enc_name, v->val, v->vlen);
		enc_name[v->vlen] = '\0';
		if ((enc = coren_rk_encoding_parse(enc_name)) < 0)
			return 0;
	}
	if (!(h.destination = lookup(data, name)))
		return 0;
	if (!fast_payload(coren_field_find(f, n, "payload"),
			  coren_field_find(f, n, "payload_b64"), enc, max, &m)) {
		coren_rk_msg_free(m);
		return 0;
	}
	h.payload_size = m->hdr.payload_size;
	h.encoding = m->hdr.encoding;
	m->hdr = h;
	*out = m;
	return 1;
}

enum coren_err coren_rk_msg_from_line(const char *line, size_t len,
				      coren_rk_lookup_fn *lookup, void *data,
				      uint64_t seq, size_t max_payload,
				      struct coren_rk_msg **out,
				      struct coren_error *err)
{
	json_t *rec;
	enum coren_err rc;
	size_t max = !max_payload || max_payload > COREN_ENV_PAYLOAD_MAX
			     ? COREN_ENV_PAYLOAD_MAX : max_payload;

	*out = NULL;
	if (fast_msg(line, len, lookup, data, seq, max, out))
		return COREN_OK;
	if ((rc = coren_record_parse(line, len, &rec, err)))
		return rc;
	if (!strcmp(coren_record_type(rec), "msg")) {
		const char *text = NULL;
		size_t tn = 0;

		if (!payload_text(line, len, &text, &tn))
			text = NULL;
		rc = from_record(rec, lookup, data, seq, max_payload, text, tn, out, err);
	}
	json_decref(rec);
	return rc;
}

/* ---- answers to records ---------------------------------------------------- */

static enum coren_err put_f32(float f, struct coren_buf *b)
{
	char tmp[32];

	if (!isfinite(f))
		return coren_buf_append(b, "null", 4);
	if (f == (float)(int32_t)f && f > -1e6f && f < 1e6f && (f != 0 || !signbit(f))) {
		/* an integer of up to 6 digits: what %.6g writes, without it */
		char *e = tmp + sizeof tmp, *t = e;
		int32_t i = (int32_t)f;
		uint32_t u = i < 0 ? (uint32_t)-i : (uint32_t)i;

		do
			*--t = (char)('0' + u % 10);
		while (u /= 10);
		if (i < 0)
			*--t = '-';
		return coren_buf_append(b, t, (size_t)(e - t));
	}
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
		if (prec == 9 || strtof(tmp, NULL) == f)
			break;
	}
	return coren_buf_append(b, tmp, strlen(tmp));
}

static enum coren_err put_vector(const struct coren_rk_msg *m, struct coren_buf *b)
{
	size_t es = m->hdr.encoding == COREN_RK_ENC_F32 ? 4 : 8;
	size_t n = m->hdr.payload_size / es;
	enum coren_err rc = coren_buf_putc(b, '[');

	for (size_t i = 0; i < n && !rc; i++) {
		const unsigned char *p = m->payload + i * es;

		if (i)
			rc = coren_buf_putc(b, ',');
		if (rc)
			break;
		if (m->hdr.encoding == COREN_RK_ENC_F32) {
			float f;

			memcpy(&f, p, 4);
			rc = put_f32(f, b);
		} else if (m->hdr.encoding == COREN_RK_ENC_F64) {
			double d;

			memcpy(&d, p, 8);
			rc = isfinite(d) ? coren_json_dump_double(d, b)
					 : coren_buf_append(b, "null", 4);
		} else {
			uint64_t u;

			memcpy(&u, p, 8);
			rc = coren_json_dump_u64(u, b);
		}
	}
	return rc ? rc : coren_buf_putc(b, ']');
}

/* Whether a JSON payload can be written as it is: JSON coren's parser
 * takes, on one line. Decided by the scanner, without building it, for
 * what the host read (and most of what kernels write); else by the
 * parser. */
static int json_ok(const struct coren_rk_msg *m)
{
	const char *t = (const char *)m->payload;
	size_t n = m->hdr.payload_size;
	json_t *v;

	if (coren_json_scan(t, n) == n)
		return !memchr(t, '\n', n);
	if (memchr(t, '\n', n))
		return 0;
	v = coren_json_parse(t, n, NULL);
	json_decref(v);
	return v != NULL;
}

static enum coren_err put_payload(const struct coren_rk_msg *m, struct coren_buf *b)
{
	unsigned enc = m->hdr.encoding;
	size_t n = m->hdr.payload_size, es = enc == COREN_RK_ENC_F32 ? 4 : 8;
	enum coren_err rc;

	if ((enc == COREN_RK_ENC_F32 || enc == COREN_RK_ENC_F64 ||
	     enc == COREN_RK_ENC_U64) && n % es == 0) {
		rc = coren_buf_append(b, ",\"enc\":\"", 8);
		if (!rc)
			rc = coren_buf_append(b, coren_rk_encoding_name(enc), 3);
		if (!rc)
			rc = coren_buf_append(b, "\",\"payload\":", 12);
		return rc ? rc : put_vector(m, b);
	}
	if (enc == COREN_RK_ENC_UTF8 &&
	    coren_json_utf8_valid((const char *)m->payload, n)) {
		rc = coren_buf_printf(b, ",\"enc\":\"utf8\",\"payload\":");
		return rc ? rc : coren_json_dump_string((const char *)m->payload, n, b);
	}
	if (enc == COREN_RK_ENC_JSON && n && json_ok(m)) {
		rc = coren_buf_printf(b, ",\"enc\":\"json\",\"payload\":");
		return rc ? rc : coren_buf_append(b, m->payload, n);
	}
	rc = coren_buf_append(b, ",\"enc\":\"", 8);
	if (!rc)
		rc = coren_buf_append(b, coren_rk_encoding_name(enc),
				      strlen(coren_rk_encoding_name(enc)));
	if (!rc)
		rc = coren_buf_append(b, "\",\"payload_b64\":\"", 17);
	if (!rc)
		rc = coren_base64_encode(m->payload, n, b);
	return rc ? rc : coren_buf_putc(b, '"');
}

static enum coren_err put_error(const struct coren_rk_msg *m, const char *from,
				struct coren_buf *b)
{
	json_t *v = NULL;
	enum coren_err rc;

	if (m->hdr.encoding == COREN_RK_ENC_JSON)
		v = json_loadb((const char *)m->payload, m->hdr.payload_size, 0, NULL);
	rc = coren_buf_printf(b, "{\"type\":\"error\",\"corr\":%" PRIu64 ",\"from\":",
			      m->hdr.correlation_id);
	if (!rc)
		rc = coren_json_dump_string(from, strlen(from), b);
	if (!rc && json_is_object(v) && json_is_string(json_object_get(v, "at"))) {
		const char *at = json_string_value(json_object_get(v, "at"));

		rc = coren_buf_append(b, ",\"at\":", 6);
		if (!rc)
			rc = coren_json_dump_string(at, strlen(at), b);
	}
	if (!rc)
		rc = coren_buf_append(b, ",\"reason\":", 10);
	if (!rc && json_is_object(v) && json_is_string(json_object_get(v, "reason"))) {
		const char *r = json_string_value(json_object_get(v, "reason"));

		rc = coren_json_dump_string(r, strlen(r), b);
	} else if (!rc && coren_json_utf8_valid((const char *)m->payload,
						 m->hdr.payload_size)) {
		rc = coren_json_dump_string((const char *)m->payload, m->hdr.payload_size, b);
	} else if (!rc) {
		rc = coren_buf_append(b, "\"error\"", 7);
	}
	json_decref(v);
	return rc ? rc : coren_buf_append(b, "}\n", 2);
}

/* Writes key (a literal) and u in decimal at o; returns the new end. */
static char *put_field(char *o, const char *key, uint64_t u)
{
	char tmp[24], *t = tmp + sizeof tmp;
	size_t n = strlen(key);

	memcpy(o, key, n);
	o += n;
	do {
		*--t = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	n = (size_t)(tmp + sizeof tmp - t);
	memcpy(o, t, n);
	return o + n;
}

enum coren_err coren_rk_msg_to_record(const struct coren_rk_msg *m,
				      const char *from, struct coren_buf *b)
{
	const struct coren_rk_header *h = &m->hdr;
	enum coren_err rc;

	if (h->flags & COREN_ENV_F_ERROR)
		return put_error(m, from, b);
	rc = coren_buf_append(b, "{\"type\":\"msg\",\"from\":", 21);
	if (!rc)
		rc = coren_json_dump_string(from, strlen(from), b);
	if (!rc)
		rc = coren_buf_reserve(b, 160);
	if (!rc) { /* six integers: room reserved, no printf */
		char *o = b->data + b->len;

		o = put_field(o, ",\"corr\":", h->correlation_id);
		o = put_field(o, ",\"id\":", h->message_id);
		o = put_field(o, ",\"mtype\":", h->message_type);
		o = put_field(o, ",\"hlc\":[", h->hlc_physical);
		o = put_field(o, ",", h->hlc_logical);
		o = put_field(o, ",", h->hlc_node);
		*o++ = ']';
		b->len = (size_t)(o - b->data);
	}
	if (!rc && h->priority != COREN_RK_PRIO_NORMAL)
		rc = coren_buf_printf(b, ",\"priority\":\"%s\"",
				      coren_rk_priority_name(h->priority));
	if (!rc)
		rc = put_payload(m, b);
	return rc ? rc : coren_buf_append(b, "}\n", 2);
}

/* ---- envelope streams -------------------------------------------------------- */

#define READ_BUF (1u << 18) /* >= a whole envelope */

struct coren_env_reader {
	FILE *in;
	char *name;
	unsigned char *buf;
	size_t start, end; /* unread bytes: buf[start, end) */
	uint64_t offset;   /* stream offset of buf[start] */
	uint64_t last;	   /* offset of the last envelope returned */
	int eof;
	const volatile sig_atomic_t *stop; /* set: the input ends */
	uint32_t nkernels;		   /* coren_env_check's limits */
	size_t max_payload;
};

enum coren_err coren_env_check(const struct coren_rk_header *h, uint32_t nkernels,
			       size_t max_payload, struct coren_error *err)
{
	if (!max_payload || max_payload > COREN_ENV_PAYLOAD_MAX)
		max_payload = COREN_ENV_PAYLOAD_MAX;
	/* What a msg record could not say, an envelope may not either. */
	if (h->priority > COREN_RK_PRIO_CRITICAL)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "envelope priority %u is not low, normal, high, critical or 0-3",
				       h->priority);
	if (h->encoding >= COREN_RK_ENC__COUNT)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "envelope encoding %u is not raw, utf8, json, f32, f64 or u64",
				       h->encoding);
	if (nkernels && (h->destination == 0 || h->destination > nkernels))
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "envelope for kernel %u: there are kernels 1 to %u",
				       h->destination, nkernels);
	if (h->payload_size > max_payload)
		return coren_error_set(err, COREN_ERR_ENV_TOOBIG,
				       "payload of %u bytes is larger than %zu", h->payload_size,
				       max_payload);
	return COREN_OK;
}

void coren_env_reader_set_limits(struct coren_env_reader *r, uint32_t nkernels,
				 size_t max_payload)
{
	r->nkernels = nkernels;
	r->max_payload = max_payload;
}

void coren_env_reader_set_stop(struct coren_env_reader *r,
			       const volatile sig_atomic_t *stop)
{
	r->stop = stop;
}

struct coren_env_reader *coren_env_reader_new(FILE *in, const char *name)
{
	struct coren_env_reader *r = calloc(1, sizeof *r);

	if (!r || !(r->buf = malloc(READ_BUF)) || !(r->name = strdup(name))) {
		if (r)
			free(r->buf);
		free(r);
		return NULL;
	}
	r->in = in;
	return r;
}

void coren_env_reader_free(struct coren_env_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->name);
	free(r);
}

/* Makes at least want bytes available if the input has them. */
static enum coren_err fill(struct coren_env_reader *r, size_t want)
{
	while (r->end - r->start < want && !r->eof) {
		ssize_t got;

		if (r->start) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		do
			got = r->stop && *r->stop
				      ? 0
				      : read(fileno(r->in), r->buf + r->end, READ_BUF - r->end);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return COREN_ERR_IO;
		r->end += (size_t)got;
		if (!got)
			r->eof = 1;
	}
	return COREN_OK;
}

static void skip(struct coren_env_reader *r, size_t n)
{
	r->start += n;
	r->offset += n;
}

size_t coren_env_reader_buffered(const struct coren_env_reader *r)
{
	return r->end - r->start;
}

/* Skips to the next magic after the current byte (or to the end). */
static enum coren_err resync(struct coren_env_reader *r)
{
	static const unsigned char magic[8] = {'N', 'R', 'E', 'K', 'G', 'N', 'I', 'R'};
	enum coren_err rc;

	skip(r, 1);
	for (;;) {
		unsigned char *p;

		if ((rc = fill(r, 8)))
			return rc;
		if (r->end - r->start < 8) {
			skip(r, r->end - r->start);
			return COREN_OK;
		}
		p = memmem(r->buf + r->start, r->end - r->start, magic, 8);
		if (p) {
			skip(r, (size_t)(p - (r->buf + r->start)));
			return COREN_OK;
		}
		skip(r, r->end - r->start - 7);
	}
}

enum coren_err coren_env_reader_next(struct coren_env_reader *r,
				     struct coren_rk_msg **m,
				     struct coren_error *err)
{
	struct coren_rk_header h;
	const unsigned char *payload;
	uint64_t at = r->offset;
	size_t avail;
	enum coren_err rc;

	*m = NULL;
	r->last = at;
	if ((rc = fill(r, COREN_ENV_HEADER_SIZE)))
		return coren_error_set(err, rc, "cannot read '%s'", r->name);
	avail = r->end - r->start;
	if (!avail)
		return COREN_OK;
	rc = coren_env_decode_header(r->buf + r->start, avail, &h, err);
	if (rc) {
		coren_error_at(err, "%s:@%llu", r->name, (unsigned long long)at);
		if (rc == COREN_ERR_ENV_SHORT)
			skip(r, avail);
		else if (resync(r))
			return coren_error_set(err, COREN_ERR_IO, "cannot read '%s'", r->name);
		return rc;
	}
	if ((rc = fill(r, COREN_ENV_HEADER_SIZE + h.payload_size)))
		return coren_error_set(err, rc, "cannot read '%s'", r->name);
	avail = r->end - r->start;
	rc = coren_env_decode(r->buf + r->start, avail, &h, &payload, err);
	if (rc == COREN_ERR_ENV_CHECKSUM || !rc) {
		*m = coren_rk_msg_new(h.payload_size);
		if (!*m)
			return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		(*m)->hdr = h;
		memcpy((*m)->payload, r->buf + r->start + COREN_ENV_HEADER_SIZE, h.payload_size);
		skip(r, COREN_ENV_HEADER_SIZE + h.payload_size);
	} else {
		skip(r, avail); /* truncated: the input ended */
	}
	if (!rc)
		rc = coren_env_check(&h, r->nkernels, r->max_payload, err);
	if (rc)
		coren_error_at(err, "%s:@%llu", r->name, (unsigned long long)at);
	return rc;
}

uint64_t coren_env_reader_offset(const struct coren_env_reader *r)
{
	return r->last;
}
