/* buf.c - growable byte buffer with a cap. */
#include "config.h"

#include <coren/buf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void coren_buf_init(struct coren_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max ? max : COREN_BUF_DEFAULT_MAX;
}

/* Makes room for n more bytes plus the terminating NUL. */
static enum coren_err reserve(struct coren_buf *b, size_t n)
{
	size_t need, a;
	char *p;

	if (n > b->max - b->len)
		return COREN_ERR_TOOLONG;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return COREN_OK;
	a = b->alloc ? b->alloc : 64;
	while (a < need)
		a = a > SIZE_MAX / 2 ? need : a * 2;
	p = realloc(b->data, a);
	if (!p)
		return COREN_ERR_NOMEM;
	b->data = p;
	b->alloc = a;
	return COREN_OK;
}

enum coren_err coren_buf_reserve(struct coren_buf *b, size_t n)
{
	return reserve(b, n);
}

enum coren_err coren_buf_append(struct coren_buf *b, const void *p, size_t n)
{
	enum coren_err rc;

	if (n < b->alloc - b->len && n <= b->max - b->len) { /* room already */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return COREN_OK;
	}
	rc = reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return COREN_OK;
}

enum coren_err coren_buf_putc(struct coren_buf *b, char c)
{
	return coren_buf_append(b, &c, 1);
}

enum coren_err coren_buf_printf(struct coren_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum coren_err rc;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return COREN_ERR_USAGE;
	rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return COREN_OK;
}

void coren_buf_reset(struct coren_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void coren_buf_release(struct coren_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

char *coren_buf_detach(struct coren_buf *b, size_t *len)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = p ? b->len : 0;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}
