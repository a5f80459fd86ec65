/* cost.c - FnCost constructors and combinators, saturating (coren/cost.h). */
#include "config.h"

#include <coren/cost.h>
#include <coren/json.h>
#include <coren/record.h>

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

/* Sets the four cost fields of obj; -1 on ENOMEM. */
static int set_fields(json_t *obj, const struct coren_cost *c)
{
	return json_object_set_new(obj, "flops", coren_json_u64(c->flops)) ||
	       json_object_set_new(obj, "mem_bytes",
				   coren_json_u64(c->mem_bytes)) ||
	       json_object_set_new(obj, "peak_mem",
				   coren_json_u64(c->peak_mem)) ||
	       json_object_set_new(obj, "result_bytes",
				   coren_json_u64(c->result_bytes));
}

json_t *coren_cost_to_json(const struct coren_cost *c)
{
	json_t *obj = json_object();

	if (obj && set_fields(obj, c)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *coren_cost_to_record(const struct coren_cost *c, const char *name)
{
	json_t *rec = coren_record_new("cost");

	if (rec && ((name && json_object_set_new(rec, "name", json_string(name))) ||
		    set_fields(rec, c))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
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
