/* coren/record.h - JSON Lines records: reading with positions, writing,
 * typed fields, output mode.
 *
 * A record is one JSON object on one line with a string field "type"
 * (coren-records(5)). The reader hands out each record as a new json_t
 * reference together with its raw line, so filters can pass records they do
 * not consume through unchanged.
 */
#ifndef COREN_RECORD_H
#define COREN_RECORD_H

#include <coren/error.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_RECORD_MAX_DEFAULT ((size_t)16 << 20) /* 16 MiB */

struct coren_reader;

/* A reader of records from in, named name in error positions ("stdin",
 * a file name). Lines longer than max_record bytes (0: 16 MiB) are errors.
 * The reader does not own in. NULL on ENOMEM. */
struct coren_reader *coren_reader_new(FILE *in, const char *name,
				      size_t max_record);

/* Interactive mode reads with read(2) on the FILE's descriptor, taking
 * what is there instead of waiting for a whole block, so a line is seen as
 * soon as it arrives; the FILE's own stdio buffer must be unused. */
void coren_reader_set_interactive(struct coren_reader *r, int on);

/* Input ends early once *stop is set (a signal handler's flag, not
 * owned): the reader checks it before each read, and a read(2) that a
 * signal interrupts (EINTR) ends the input when it is set instead of
 * being retried. NULL: never. */
void coren_reader_set_stop(struct coren_reader *r,
			   const volatile sig_atomic_t *stop);

/* Bytes read ahead and not yet returned: 0 means the next call may wait
 * for input. */
size_t coren_reader_buffered(const struct coren_reader *r);

/* Frees the reader (accepts NULL); does not close its FILE. */
void coren_reader_free(struct coren_reader *r);

/* Reads the next record. Returns COREN_OK with *rec a new reference, or
 * *rec NULL at end of input. Blank lines are skipped. On a bad line returns
 * COREN_ERR_JSON, COREN_ERR_RECORD (not an object, no string "type") or
 * COREN_ERR_TOOLONG with err->where = "name:line"; the reader has moved past
 * that line, so the caller may go on (--keep-going). COREN_ERR_IO on a read
 * error. */
enum coren_err coren_reader_next(struct coren_reader *r, json_t **rec,
				 struct coren_error *err);

/* Reads the next non-blank line without parsing it: *line (NUL-terminated,
 * valid until the next call; NULL at end of input) and *len. COREN_ERR_TOOLONG for an
 * overlong line (skipped), COREN_ERR_IO. For inputs that mix records with
 * other lines; parse the records with coren_record_parse(). */
enum coren_err coren_reader_next_line(struct coren_reader *r, const char **line,
				      size_t *len, struct coren_error *err);

/* Parses one line as a record (a JSON object with a string "type"). On
 * failure returns COREN_ERR_JSON or COREN_ERR_RECORD, err->where unset. */
enum coren_err coren_record_parse(const char *line, size_t len, json_t **rec,
				  struct coren_error *err);

/* A field of a flat record, pointing into the scanned line. */
struct coren_field {
	const char *key; /* not NUL-terminated */
	size_t klen;
	const char *val; /* a string's content (no quotes), or the literal */
	size_t vlen;
	char kind;	 /* 's' string, 'n' number, 'b' boolean, 'z' null,
			  * 'a' array of numbers (val: the whole "[...]"),
			  * 'j' any other object or array (val: its text) */
};

/* The fast path of a filter: splits a line that is a JSON object of plain
 * values (ASCII strings without escapes, numbers, true, false, null; no
 * nesting, no repeated key) into at most max fields, without allocating.
 * Returns the number of fields, or -1 for any other line, valid or not:
 * then use coren_record_parse(), which also explains errors. */
int coren_record_scan_flat(const char *line, size_t len,
			   struct coren_field *f, int max);

/* The same, and also arrays of numbers (kind 'a'), as msg payloads are. */
int coren_record_scan_vectors(const char *line, size_t len,
			      struct coren_field *f, int max);

/* The same, and also any object or array (kind 'j') that coren_json_scan()
 * takes, as a msg payload may be. */
int coren_record_scan_values(const char *line, size_t len,
			     struct coren_field *f, int max);

/* The field named key among n, or NULL. */
const struct coren_field *coren_field_find(const struct coren_field *f, int n,
					   const char *key);

/* A field holding an unsigned integer that fits 64 bits: 0, else -1. */
int coren_field_u64(const struct coren_field *f, uint64_t *out);

/* Whether f is a string field equal to s. */
int coren_field_is(const struct coren_field *f, const char *s);

/* The raw bytes of the line last read, without its newline (valid until the
 * next call), and its length in *len. */
const char *coren_reader_raw(const struct coren_reader *r, size_t *len);

/* The 1-based number of the line last read (0 before the first). */
unsigned long long coren_reader_lineno(const struct coren_reader *r);

/* Sets err->where to this reader's "name:line" unless already set: use it
 * after a field check on the record last read fails. */
void coren_reader_locate(const struct coren_reader *r, struct coren_error *err);

/* The record's "type" (NULL if rec is not a record). */
const char *coren_record_type(const json_t *rec);

/* Typed access to a required field of a record. A missing field is
 * COREN_ERR_RECORD "missing field 'F'"; a wrong type is COREN_ERR_RECORD
 * "field 'F' is not an unsigned integer" (a number, a string, ...). For an
 * optional field, test json_object_get(rec, F) first. */
enum coren_err coren_record_get_u64(const json_t *rec, const char *field,
				    uint64_t *out, struct coren_error *err);
enum coren_err coren_record_get_double(const json_t *rec, const char *field,
				       double *out, struct coren_error *err);
enum coren_err coren_record_get_string(const json_t *rec, const char *field,
				       const char **out,
				       struct coren_error *err);
enum coren_err coren_record_get_bool(const json_t *rec, const char *field,
				     bool *out, struct coren_error *err);
enum coren_err coren_record_get_object(const json_t *rec, const char *field,
				       const json_t **out,
				       struct coren_error *err);
enum coren_err coren_record_get_array(const json_t *rec, const char *field,
				      const json_t **out,
				      struct coren_error *err);

/* A new record {"type": type}; NULL on ENOMEM. */
json_t *coren_record_new(const char *type);

/* An "error" record for err: {"type":"error","at":where,"reason":msg}
 * ("at" only when err->where is set). */
json_t *coren_record_from_error(const struct coren_error *err);

/* Writes rec compactly on one line. COREN_ERR_IO if the stream failed. */
enum coren_err coren_record_write(FILE *out, const json_t *rec);

/* Writes a raw line (pass-through) followed by a newline. */
enum coren_err coren_record_write_raw(FILE *out, const char *line, size_t len);

enum coren_output_mode {
	COREN_OUTPUT_AUTO = 0, /* a table on a terminal, JSONL otherwise */
	COREN_OUTPUT_JSON,
	COREN_OUTPUT_TABLE
};

/* Whether output to out in this mode is a human table. */
bool coren_output_is_table(enum coren_output_mode mode, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
