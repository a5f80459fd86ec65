/* coren/json.h - JSON values (jansson) with exact unsigned 64-bit integers,
 * coren's serializer and canonical JSON.
 *
 * jansson integers are signed 64-bit. coren records carry exact unsigned
 * 64-bit integers (a saturated cost is 18446744073709551615), so an integer
 * above INT64_MAX is held in a json_t as a one-key object
 * {"$u64":"<decimal digits>"} (a "u64 box"). coren_json_parse() produces
 * boxes, coren's serializer writes them back as bare integers, and
 * coren_json_get_u64() reads either form. Always build unsigned values with
 * coren_json_u64() and read them with coren_json_get_u64().
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

/* A new JSON integer for v: a plain integer up to INT64_MAX, a box above. */
json_t *coren_json_u64(uint64_t v);

/* Reads an unsigned integer (plain non-negative integer or box) into *out.
 * Returns 0, or -1 when v is anything else (reals, negatives, strings). */
int coren_json_get_u64(const json_t *v, uint64_t *out);

/* Reads a number (integer, real or box) as a double. Returns 0 or -1. */
int coren_json_get_double(const json_t *v, double *out);

/* Parses one JSON text of len bytes. Integers above INT64_MAX and up to
 * UINT64_MAX become boxes; duplicate object keys are rejected. On failure
 * returns NULL with COREN_ERR_JSON (or NOMEM) in err; the message names the
 * column ("invalid JSON at column 17: ..."). */
json_t *coren_json_parse(const char *text, size_t len, struct coren_error *err);

enum coren_json_flags {
	COREN_JSON_SORT_KEYS = 1 /* object keys in byte (code point) order */
};

/* Appends the compact serialization of v to b: no whitespace, UTF-8 as is,
 * control characters escaped, reals in the shortest form that reads back to
 * the same double, u64 boxes as bare integers. */
enum coren_err coren_json_dumpb(const json_t *v, unsigned flags,
				struct coren_buf *b);

/* Pieces of the serializer, for writers that skip json_t: a string of n
 * bytes (quoted, escaped), a finite double (shortest round trip, as
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
