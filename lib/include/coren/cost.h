/* coren/cost.h - FnCost: a deterministic cost model of functions.
 *
 * Integers only, saturating at 2^64-1: the same inputs give bit-identical
 * costs on every machine (DESIGN §4). L(n) = ceil(log2 n), L(0) = L(1) = 0.
 *
 *   constructor            W           Q               M            R
 *   new(W,Q,M,R)           W           Q               M            R
 *   scan(nb, R)            nb          nb + R          R            R
 *   sort(n, b, R)          10 n L(n)   n b L(n)        2 n b        R
 *   hash(nb)               8 nb        nb              256          32
 *   matmul(m, n, k, R)     2 m n k     8(mk+kn+mn)     8(mk+kn+mn)  R
 *   etl(rows, rb, fpr, R)  rows fpr    rows rb + R     rows rb      R
 *   copy(size)             0           2 size          0            size
 *
 * a then b (a + b): W, Q sum; M max; R of b. a par b: W max; Q, M, R sum.
 * a repeat k: W, Q, R times k; M unchanged.
 */
#ifndef COREN_COST_H
#define COREN_COST_H

#include <coren/buf.h>
#include <coren/error.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct coren_cost {
	uint64_t flops;	       /* W: operations */
	uint64_t mem_bytes;    /* Q: memory traffic, cold cache */
	uint64_t peak_mem;     /* M: peak RAM */
	uint64_t result_bytes; /* R: size of the result */
};

/* ceil(log2 n); 0 for n <= 1. */
uint64_t coren_cost_log2(uint64_t n);

/* Saturating arithmetic. */
uint64_t coren_cost_add(uint64_t a, uint64_t b);
uint64_t coren_cost_mul(uint64_t a, uint64_t b);

struct coren_cost coren_cost_new(uint64_t w, uint64_t q, uint64_t m, uint64_t r);
struct coren_cost coren_cost_scan(uint64_t nb, uint64_t r);
struct coren_cost coren_cost_sort(uint64_t n, uint64_t b, uint64_t r);
struct coren_cost coren_cost_hash(uint64_t nb);
struct coren_cost coren_cost_matmul(uint64_t m, uint64_t n, uint64_t k,
				    uint64_t r);
struct coren_cost coren_cost_etl(uint64_t rows, uint64_t rb, uint64_t fpr,
				 uint64_t r);
struct coren_cost coren_cost_copy(uint64_t size);

struct coren_cost coren_cost_then(struct coren_cost a, struct coren_cost b);
struct coren_cost coren_cost_par(struct coren_cost a, struct coren_cost b);
struct coren_cost coren_cost_repeat(struct coren_cost a, uint64_t k);

/* Parses an expression such as
 *   scan(64e6, 0) then sort(1e6, 64, 0) then hash(64MB) repeat 3
 * Numbers are exact integers written in decimal, with '_' between digits, an
 * exponent (1e6, 1.5e3) and a unit suffix (k M G T P: powers of 1000; KB MB
 * GB TB PB: the same, of bytes; KiB MiB GiB TiB PiB: powers of 1024; B). A
 * value that is not an integer is an error, not a rounding. repeat binds
 * tightest, then par, then then/+; all associate to the left; parentheses
 * group. An optional "NAME =" prefix (any text before '=', trimmed) names
 * the cost (*name, malloc'd; NULL if none). On error returns COREN_ERR_USAGE with the message in err and the
 * 1-based byte column of the offending text in *col. */
enum coren_err coren_cost_parse(const char *expr, struct coren_cost *out,
				char **name, size_t *col,
				struct coren_error *err);

/* Appends the cost object {"flops":W,"mem_bytes":Q,"peak_mem":M,
 * "result_bytes":R}: the one definition of its fields. */
enum coren_err coren_cost_write_object(struct coren_buf *b,
				       const struct coren_cost *c);

/* Appends a "cost" record {"type":"cost","name":...,"flops":...} as one
 * line of JSON without its newline (no name when name is NULL). */
enum coren_err coren_cost_write(struct coren_buf *b, const struct coren_cost *c,
				const char *name, size_t name_len);

/* The cost record as a json_t (NULL on ENOMEM). */
json_t *coren_cost_to_record(const struct coren_cost *c, const char *name);

/* Reads the four fields from a cost record or cost object; every field is
 * required and must be an unsigned integer. */
enum coren_err coren_cost_from_json(const json_t *obj, struct coren_cost *c,
				    struct coren_error *err);

#ifdef __cplusplus
}
#endif
#endif
