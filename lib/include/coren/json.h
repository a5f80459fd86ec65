/* coren/json.h - JSON values (jansson) with exact integers of any size,
 * boxes for NaN and infinities, coren's serializer and canonical JSON.
 *
 * jansson integers are signed 64-bit and its reals finite. Values beyond
 * that are held in a json_t as a one-key object, a "box" (coren-records(5),
 * "Values"):
 *
 *   {"$u64":"<digits>"}   an integer in (INT64_MAX, UINT64_MAX] (a saturated
 *                         cost is 18446744073709551615)
 *   {"$int":"<digits>"}   any other integer outside int64, "-" allowed, at
 *                         most COREN_JSON_INT_DIGITS_MAX digits
 *   {"$float":"nan"}, {"$float":"inf"}, {"$float":"-inf"}
 *
 * Each value has exactly one form (an integer within int64 is always plain,
 * a u64-range one always "$u64"), so canonical JSON and chunk ids are
 * unique. The serializer writes integer boxes back as bare integers (valid,
 * lossless JSON) and float boxes as the objects above (JSON has no NaN;
 * every JSON tool reads the object). A one-key object with a reserved key
 * whose value is not a valid box is an ordinary object to the serializer;
 * coren_json_check_boxes() refuses it where values must be unambiguous
 * (function outputs).
 *
 * coren_json_parse() reads big integers into boxes always, but refuses
 * NaN/Infinity (records are strict JSON: a NaN where coren-verdict wants a
 * number is "not a number"); coren_json_parse_value(), for function
 * outputs, also reads Python's NaN, Infinity and -Infinity into float
 * boxes. Always build unsigned values with coren_json_u64() and read them
 * with coren_json_get_u64().
 *
 * Ownership follows jansson: functions returning json_t * return a new
 * reference; arguments are borrowed.
 */
#ifndef COREN_JSON_H
#define COREN_JSON_H

#include <coren/buf.h>
#include <coren/error.h>
#include <jansson.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_JSON_U64_KEY "$u64"
#define COREN_JSON_INT_KEY "$int"
#define COREN_JSON_FLOAT_KEY "$float"
#define COREN_JSON_INT_DIGITS_MAX 4300 /* Python's int/str limit */

/* A new JSON integer for v: a plain integer up to INT64_MAX, a box above. */
json_t *coren_json_u64(uint64_t v);

/* Reads an unsigned integer (plain non-negative integer or box) into *out.
 * Returns 0, or -1 when v is anything else (reals, negatives, strings). */
int coren_json_get_u64(const json_t *v, uint64_t *out);

/* Reads a number (integer, real or box) as a double. Returns 0 or -1. */
int coren_json_get_double(const json_t *v, double *out);

/* Parses one JSON text of len bytes. Integers outside int64 become boxes
 * ("$u64" or "$int"); duplicate object keys are rejected. On failure
 * returns NULL with err set: COREN_ERR_JSON when text is not JSON, the
 * message naming the column ("invalid JSON at column 17: ..."); COREN_ERR_RECORD
 * when it is JSON but holds a value that cannot be stored exactly, the
 * message naming it ("value 1e999 is not a finite double", "value 1234...
 * has more than 4300 digits"); COREN_ERR_NOMEM. */
json_t *coren_json_parse(const char *text, size_t len, struct coren_error *err);

enum coren_json_parse_flags {
	COREN_JSON_NONFINITE = 1 /* NaN, Infinity, -Infinity as float boxes */
};

/* coren_json_parse() with flags. */
json_t *coren_json_parse_flags(const char *text, size_t len, unsigned flags,
			       struct coren_error *err);

/* A function's output value: COREN_JSON_NONFINITE, then
 * coren_json_check_boxes(). */
json_t *coren_json_parse_value(const char *text, size_t len,
			       struct coren_error *err);

/* COREN_OK, or COREN_ERR_RECORD naming the first one-key object in v whose
 * key is reserved ("$u64", "$int", "$float") but which is not a valid box:
 * "value {"$u64":"5"} is not a valid '$u64' box". */
enum coren_err coren_json_check_boxes(const json_t *v, struct coren_error *err);

/* A new real for a finite v, else its float box. */
json_t *coren_json_float(double v);

/* Nesting jansson takes (and so coren writes): deeper is refused. */
#define COREN_JSON_DEPTH_MAX 2048

/* Whether the n bytes at s are exactly one JSON value (RFC 8259, with
 * whitespace around it; strings well-formed UTF-8), checked without
 * building it: 1 yes, 0 no, -1 nested deeper than COREN_JSON_DEPTH_MAX
 * (what the rest is, is not known). Valid JSON that coren_json_parse()
 * still refuses (\u0000, a lone surrogate, a number too large) is valid
 * here: the parse says why. */
int coren_json_valid(const char *s, size_t n);

/* The length of the JSON value at the start of s (n bytes; no whitespace
 * before it) when coren_json_parse() surely takes it, without building
 * it; 0 for anything else, valid or not (then ask the parser, which also
 * says why). Strings: well-formed UTF-8, no \u0000 or surrogate escapes;
 * object keys without escapes, no key twice in an object; integers in
 * [-2^63, 2^64-1]; reals that do not overflow; nesting to 64. */
size_t coren_json_scan(const char *s, size_t n);

/* Whether the n bytes at s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, surrogates or code points past U+10FFFF). */
int coren_json_utf8_valid(const char *s, size_t n);

enum coren_json_flags {
	COREN_JSON_SORT_KEYS = 1 /* object keys in byte (code point) order */
};

/* Appends the compact serialization of v to b: no whitespace, UTF-8 as is,
 * control characters escaped, reals in the shortest form that reads back to
 * the same double, u64 boxes as bare integers. */
enum coren_err coren_json_dumpb(const json_t *v, unsigned flags,
				struct coren_buf *b);

/* Pieces of the serializer, for writers that skip json_t: a string of n
 * bytes (quoted, escaped; COREN_ERR_JSON if they are not UTF-8, b then
 * holding a partial string the caller must drop), a finite double (shortest round trip, as
 * Python's repr), an unsigned integer. */
enum coren_err coren_json_dump_string(const char *s, size_t n,
				      struct coren_buf *b);
enum coren_err coren_json_dump_double(double v, struct coren_buf *b);
enum coren_err coren_json_dump_u64(uint64_t v, struct coren_buf *b);

/* The same as a malloc'd string (free() it); NULL on ENOMEM. */
char *coren_json_dumps(const json_t *v, unsigned flags);

/* Canonical JSON: sorted keys, no whitespace. Byte-identical to Python's
 * json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
 * so chunk ids can be recomputed outside coren. */
enum coren_err coren_json_canonical(const json_t *v, struct coren_buf *b);

/* SHA-256 of the canonical JSON of v, as 64 lowercase hex digits + NUL. */
enum coren_err coren_json_sha256(const json_t *v, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
