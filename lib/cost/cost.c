/* cost.c - FnCost constructors and combinators, saturating (coren/cost.h). */
#include "config.h"

#include <coren/cost.h>
#include <coren/json.h>
#include <coren/record.h>
#include <string.h>

uint64_t coren_cost_log2(uint64_t n)
{
	return n <= 1 ? 0 : (uint64_t)(64 - __builtin_clzll(n - 1));
}

uint64_t coren_cost_add(uint64_t a, uint64_t b)
{
	uint64_t s;

	return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

uint64_t coren_cost_mul(uint64_t a, uint64_t b)
{
	uint64_t p;

	return __builtin_mul_overflow(a, b, &p) ? UINT64_MAX : p;
}

#define ADD coren_cost_add
#define MUL coren_cost_mul

struct coren_cost coren_cost_new(uint64_t w, uint64_t q, uint64_t m, uint64_t r)
{
	struct coren_cost c = {w, q, m, r};

	return c;
}

struct coren_cost coren_cost_scan(uint64_t nb, uint64_t r)
{
	return coren_cost_new(nb, ADD(nb, r), r, r);
}

struct coren_cost coren_cost_sort(uint64_t n, uint64_t b, uint64_t r)
{
	uint64_t l = coren_cost_log2(n);

	return coren_cost_new(MUL(MUL(10, n), l), MUL(MUL(n, b), l),
			      MUL(MUL(2, n), b), r);
}

struct coren_cost coren_cost_hash(uint64_t nb)
{
	return coren_cost_new(MUL(8, nb), nb, 256, 32);
}

struct coren_cost coren_cost_matmul(uint64_t m, uint64_t n, uint64_t k,
				    uint64_t r)
{
	uint64_t words = ADD(ADD(MUL(m, k), MUL(k, n)), MUL(m, n));

	return coren_cost_new(MUL(MUL(MUL(2, m), n), k), MUL(8, words),
			      MUL(8, words), r);
}

struct coren_cost coren_cost_etl(uint64_t rows, uint64_t rb, uint64_t fpr,
				 uint64_t r)
{
	return coren_cost_new(MUL(rows, fpr), ADD(MUL(rows, rb), r),
			      MUL(rows, rb), r);
}

struct coren_cost coren_cost_copy(uint64_t size)
{
	return coren_cost_new(0, MUL(2, size), 0, size);
}

struct coren_cost coren_cost_then(struct coren_cost a, struct coren_cost b)
{
	return coren_cost_new(ADD(a.flops, b.flops),
			      ADD(a.mem_bytes, b.mem_bytes),
			      a.peak_mem > b.peak_mem ? a.peak_mem : b.peak_mem,
			      b.result_bytes);
}

struct coren_cost coren_cost_par(struct coren_cost a, struct coren_cost b)
{
	return coren_cost_new(a.flops > b.flops ? a.flops : b.flops,
			      ADD(a.mem_bytes, b.mem_bytes),
			      ADD(a.peak_mem, b.peak_mem),
			      ADD(a.result_bytes, b.result_bytes));
}

struct coren_cost coren_cost_repeat(struct coren_cost a, uint64_t k)
{
	return coren_cost_new(MUL(a.flops, k), MUL(a.mem_bytes, k), a.peak_mem,
			      MUL(a.result_bytes, k));
}

#define LIT(s) s, sizeof(s) - 1

/* "flops":W,"mem_bytes":Q,"peak_mem":M,"result_bytes":R */
static enum coren_err write_fields(struct coren_buf *b,
				   const struct coren_cost *c)
{
	enum coren_err rc = coren_buf_append(b, LIT("\"flops\":"));

	if (!rc)
		rc = coren_json_dump_u64(c->flops, b);
	if (!rc)
		rc = coren_buf_append(b, LIT(",\"mem_bytes\":"));
	if (!rc)
		rc = coren_json_dump_u64(c->mem_bytes, b);
	if (!rc)
		rc = coren_buf_append(b, LIT(",\"peak_mem\":"));
	if (!rc)
		rc = coren_json_dump_u64(c->peak_mem, b);
	if (!rc)
		rc = coren_buf_append(b, LIT(",\"result_bytes\":"));
	return rc ? rc : coren_json_dump_u64(c->result_bytes, b);
}

enum coren_err coren_cost_write_object(struct coren_buf *b,
				       const struct coren_cost *c)
{
	enum coren_err rc = coren_buf_putc(b, '{');

	if (!rc)
		rc = write_fields(b, c);
	return rc ? rc : coren_buf_putc(b, '}');
}

enum coren_err coren_cost_write(struct coren_buf *b, const struct coren_cost *c,
				const char *name, size_t name_len)
{
	enum coren_err rc = coren_buf_append(b, LIT("{\"type\":\"cost\""));

	if (!rc && name && !(rc = coren_buf_append(b, LIT(",\"name\":"))))
		rc = coren_json_dump_string(name, name_len, b);
	if (!rc)
		rc = coren_buf_putc(b, ',');
	if (!rc)
		rc = write_fields(b, c);
	return rc ? rc : coren_buf_putc(b, '}');
}

/* Reads back what a writer made. */
static json_t *parsed(struct coren_buf *b, enum coren_err rc)
{
	json_t *v = rc ? NULL : coren_json_parse(b->data, b->len, NULL);

	coren_buf_release(b);
	return v;
}

json_t *coren_cost_to_record(const struct coren_cost *c, const char *name)
{
	struct coren_buf b;

	coren_buf_init(&b, 0);
	return parsed(&b, coren_cost_write(&b, c, name, name ? strlen(name) : 0));
}

enum coren_err coren_cost_from_json(const json_t *obj, struct coren_cost *c,
				    struct coren_error *err)
{
	enum coren_err rc;

	if (!json_is_object(obj))
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field 'cost' is not an object");
	if ((rc = coren_record_get_u64(obj, "flops", &c->flops, err)) ||
	    (rc = coren_record_get_u64(obj, "mem_bytes", &c->mem_bytes, err)) ||
	    (rc = coren_record_get_u64(obj, "peak_mem", &c->peak_mem, err)) ||
	    (rc = coren_record_get_u64(obj, "result_bytes", &c->result_bytes,
				       err)))
		return rc;
	return COREN_OK;
}
