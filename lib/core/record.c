/* record.c - JSON Lines records: reader with positions, typed fields,
 * writer, output mode (coren/record.h). */
#include "config.h"

#include <coren/buf.h>
#include <coren/json.h>
#include <coren/record.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SIZE (64 * 1024)

struct coren_reader {
	FILE *in;
	char *name;
	size_t max;
	unsigned long long lineno;
	struct coren_buf line; /* a line that spans blocks, copied */
	char *block; /* read-ahead from in: [pos, end) not consumed yet */
	size_t pos, end;
	int eof;
	int interactive; /* read(2) what is there, not a whole block */
	const char *cur; /* the line last read: in block, or line.data */
	size_t cur_len;
	int skipping; /* the last line was overlong: skip to its newline */
	const volatile sig_atomic_t *stop; /* set: the input ends */
};

struct coren_reader *coren_reader_new(FILE *in, const char *name,
				      size_t max_record)
{
	struct coren_reader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->name = strdup(name ? name : "stdin");
	if (!r->name) {
		free(r);
		return NULL;
	}
	r->block = malloc(BLOCK_SIZE + 1); /* + a NUL after a last line */
	if (!r->block) {
		free(r->name);
		free(r);
		return NULL;
	}
	r->in = in;
	r->max = max_record ? max_record : COREN_RECORD_MAX_DEFAULT;
	coren_buf_init(&r->line, r->max);
	return r;
}

void coren_reader_set_interactive(struct coren_reader *r, int on)
{
	r->interactive = on;
}

void coren_reader_set_stop(struct coren_reader *r,
			   const volatile sig_atomic_t *stop)
{
	r->stop = stop;
}

size_t coren_reader_buffered(const struct coren_reader *r)
{
	return r->end - r->pos;
}

void coren_reader_free(struct coren_reader *r)
{
	if (!r)
		return;
	coren_buf_release(&r->line);
	free(r->block);
	free(r->name);
	free(r);
}

/* Refills the read-ahead block; 0 at end of input, -1 on a read error. */
static int refill(struct coren_reader *r)
{
	size_t n;

	if (r->eof)
		return 0;
	if (r->stop && *r->stop) {
		r->pos = r->end = 0;
		r->eof = 1;
		return 0;
	}
	if (r->interactive) {
		ssize_t got;

		do
			got = r->stop && *r->stop ? 0 : read(fileno(r->in), r->block, BLOCK_SIZE);
		while (got < 0 && errno == EINTR);
		r->pos = 0;
		r->end = got > 0 ? (size_t)got : 0;
		if (got <= 0) {
			r->eof = 1;
			return got < 0 ? -1 : 0;
		}
		return 1;
	}
	n = fread(r->block, 1, BLOCK_SIZE, r->in);
	r->pos = 0;
	r->end = n;
	/* One end of input ends it: a terminal gives more after Ctrl-D, and
	 * fread(3) would read on, so that the user had to type it twice. */
	if (feof(r->in))
		r->eof = 1;
	if (n == 0) {
		r->eof = 1;
		return ferror(r->in) ? -1 : 0;
	}
	return 1;
}

/* Consumes input up to and including the next newline: the rest of an
 * overlong line. Done lazily, at the next read, so that a tool stopping at
 * the error never reads on (input without a newline, such as /dev/zero,
 * would otherwise be read forever). 0, or -1 on a read error. */
static int skip_rest(struct coren_reader *r)
{
	while (r->skipping) {
		char *nl;
		int more;

		if (r->pos == r->end) {
			more = refill(r);
			if (more <= 0)
				return more;
		}
		nl = memchr(r->block + r->pos, '\n', r->end - r->pos);
		r->skipping = nl == NULL;
		r->pos = nl ? (size_t)(nl - r->block) + 1 : r->end;
	}
	return 0;
}

/* Reads one line into r->cur, NUL-terminated: in place when it lies
 * whole in the block (its newline becomes the NUL), else copied into
 * r->line. Returns COREN_OK (*eof set at end of input), COREN_ERR_TOOLONG
 * as soon as the line passes the cap (the cap bounds both memory and what
 * is read before the error; the rest of the line is skipped by the next
 * call), or COREN_ERR_IO. */
static enum coren_err read_line(struct coren_reader *r, int *eof)
{
	enum coren_err rc;
	int got = 0, more;

	coren_buf_reset(&r->line);
	*eof = 0;
	if (skip_rest(r))
		return COREN_ERR_IO;
	for (;;) {
		char *start, *nl;
		size_t n;

		if (r->pos == r->end) {
			more = refill(r);
			if (more < 0)
				return COREN_ERR_IO;
			if (!more)
				break;
		}
		start = r->block + r->pos;
		nl = memchr(start, '\n', r->end - r->pos);
		n = nl ? (size_t)(nl - start) : r->end - r->pos;
		if (!got && nl && n <= r->max) { /* whole in the block */
			*nl = '\0';
			r->pos += n + 1;
			r->cur = start;
			r->cur_len = n;
			r->lineno++;
			return COREN_OK;
		}
		got = 1;
		rc = coren_buf_append(&r->line, start, n);
		r->pos += n + (nl != NULL);
		if (rc == COREN_ERR_TOOLONG) {
			r->skipping = nl == NULL;
			r->lineno++;
			return rc;
		}
		if (rc)
			return rc;
		if (nl)
			break;
	}
	if (!got) {
		*eof = 1;
		return COREN_OK;
	}
	r->cur = r->line.data;
	r->cur_len = r->line.len;
	r->lineno++;
	return COREN_OK;
}

static int is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static enum coren_err check_record(const json_t *v, struct coren_error *err)
{
	const json_t *t;

	if (!json_is_object(v))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "record is not a JSON object");
	t = json_object_get(v, "type");
	if (!t)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "record has no 'type' field");
	if (!json_is_string(t))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field 'type' is not a string");
	return COREN_OK;
}

enum coren_err coren_reader_next_line(struct coren_reader *r, const char **line,
				      size_t *len, struct coren_error *err)
{
	enum coren_err rc;
	int eof;

	*line = NULL;
	*len = 0;
	do {
		rc = read_line(r, &eof);
		if (rc == COREN_ERR_TOOLONG) {
			coren_error_set(err, rc, "record longer than %zu bytes",
					r->max);
			coren_reader_locate(r, err);
			return rc;
		}
		if (rc)
			return coren_error_set(err, rc, "cannot read %s: %s",
					       r->name,
					       rc == COREN_ERR_IO ? strerror(errno)
								  : coren_strerror(rc));
		if (eof)
			return COREN_OK;
	} while (is_blank(r->cur, r->cur_len));
	*line = r->cur;
	*len = r->cur_len;
	return COREN_OK;
}

enum coren_err coren_record_parse(const char *line, size_t len, json_t **rec,
				  struct coren_error *err)
{
	enum coren_err rc;

	*rec = coren_json_parse(line, len, err);
	if (!*rec)
		return err ? err->code : COREN_ERR_JSON;
	rc = check_record(*rec, err);
	if (rc) {
		json_decref(*rec);
		*rec = NULL;
	}
	return rc;
}

enum coren_err coren_reader_next(struct coren_reader *r, json_t **rec,
				 struct coren_error *err)
{
	const char *line;
	enum coren_err rc;
	size_t len;

	*rec = NULL;
	rc = coren_reader_next_line(r, &line, &len, err);
	if (rc || !line)
		return rc;
	rc = coren_record_parse(line, len, rec, err);
	if (rc)
		coren_reader_locate(r, err);
	return rc;
}

const char *coren_reader_raw(const struct coren_reader *r, size_t *len)
{
	*len = r->cur ? r->cur_len : 0;
	return r->cur ? r->cur : "";
}

unsigned long long coren_reader_lineno(const struct coren_reader *r)
{
	return r->lineno;
}

void coren_reader_locate(const struct coren_reader *r, struct coren_error *err)
{
	coren_error_at(err, "%s:%llu", r->name, r->lineno);
}

const char *coren_record_type(const json_t *rec)
{
	return json_string_value(json_object_get(rec, "type"));
}

/* The field if it is present and of type want (JSON_TRUE: any boolean;
 * JSON_NULL: any type), else NULL with the error set: "missing field 'F'"
 * or "field 'F' is not WHAT". */
static const json_t *field(const json_t *rec, const char *name, json_type want,
			   const char *what, struct coren_error *err)
{
	const json_t *v = json_object_get(rec, name);
	json_type t;

	if (!v) {
		coren_error_set(err, COREN_ERR_RECORD, "missing field '%s'",
				name);
		return NULL;
	}
	t = json_typeof(v) == JSON_FALSE ? JSON_TRUE : json_typeof(v);
	if (want != JSON_NULL && t != want) {
		coren_error_set(err, COREN_ERR_RECORD, "field '%s' is not %s",
				name, what);
		return NULL;
	}
	return v;
}

enum coren_err coren_record_get_u64(const json_t *rec, const char *name,
				    uint64_t *out, struct coren_error *err)
{
	const json_t *v = field(rec, name, JSON_NULL, NULL, err);

	if (v && coren_json_get_u64(v, out))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field '%s' is not an unsigned integer",
				       name);
	return v ? COREN_OK : COREN_ERR_RECORD;
}

enum coren_err coren_record_get_double(const json_t *rec, const char *name,
				       double *out, struct coren_error *err)
{
	const json_t *v = field(rec, name, JSON_NULL, NULL, err);

	if (v && coren_json_get_double(v, out))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field '%s' is not a number", name);
	return v ? COREN_OK : COREN_ERR_RECORD;
}

enum coren_err coren_record_get_string(const json_t *rec, const char *name,
				       const char **out,
				       struct coren_error *err)
{
	const json_t *v = field(rec, name, JSON_STRING, "a string", err);

	if (v)
		*out = json_string_value(v);
	return v ? COREN_OK : COREN_ERR_RECORD;
}

enum coren_err coren_record_get_bool(const json_t *rec, const char *name,
				     bool *out, struct coren_error *err)
{
	const json_t *v = field(rec, name, JSON_TRUE, "a boolean", err);

	if (v)
		*out = json_is_true(v);
	return v ? COREN_OK : COREN_ERR_RECORD;
}

enum coren_err coren_record_get_object(const json_t *rec, const char *name,
				       const json_t **out,
				       struct coren_error *err)
{
	*out = field(rec, name, JSON_OBJECT, "an object", err);
	return *out ? COREN_OK : COREN_ERR_RECORD;
}

enum coren_err coren_record_get_array(const json_t *rec, const char *name,
				      const json_t **out,
				      struct coren_error *err)
{
	*out = field(rec, name, JSON_ARRAY, "an array", err);
	return *out ? COREN_OK : COREN_ERR_RECORD;
}

json_t *coren_record_new(const char *type)
{
	json_t *rec = json_object();

	if (rec && json_object_set_new(rec, "type", json_string(type))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

json_t *coren_record_from_error(const struct coren_error *err)
{
	json_t *rec = coren_record_new("error");

	if (!rec)
		return NULL;
	if ((err->where[0] &&
	     json_object_set_new(rec, "at", json_string(err->where))) ||
	    json_object_set_new(rec, "reason", json_string(err->msg))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

enum coren_err coren_record_write(FILE *out, const json_t *rec)
{
	/* one buffer per thread, reused: writing is the hot path */
	static __thread struct coren_buf b;
	enum coren_err rc;

	if (!b.max)
		coren_buf_init(&b, 0);
	coren_buf_reset(&b);
	rc = coren_json_dumpb(rec, 0, &b);
	if (!rc)
		rc = coren_record_write_raw(out, b.data, b.len);
	if (b.alloc > ((size_t)1 << 20)) /* do not keep a huge one */
		coren_buf_release(&b);
	return rc;
}

enum coren_err coren_record_write_raw(FILE *out, const char *line, size_t len)
{
	if (fwrite_unlocked(line, 1, len, out) != len ||
	    putc_unlocked('\n', out) == EOF)
		return COREN_ERR_IO;
	return COREN_OK;
}

bool coren_output_is_table(enum coren_output_mode mode, FILE *out)
{
	if (mode == COREN_OUTPUT_AUTO)
		return isatty(fileno(out)) == 1;
	return mode == COREN_OUTPUT_TABLE;
}
