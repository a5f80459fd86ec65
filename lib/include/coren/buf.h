/* coren/buf.h - a growable byte buffer with a cap.
 *
 * Every growable buffer in coren has a maximum size: appending past it fails
 * with COREN_ERR_TOOLONG instead of exhausting memory. The data is always
 * NUL-terminated (the NUL is not counted in len). The buffer owns its data.
 */
#ifndef COREN_BUF_H
#define COREN_BUF_H

#include <coren/error.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_BUF_DEFAULT_MAX ((size_t)1 << 30) /* 1 GiB */

struct coren_buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max; /* cap on len */
};

/* Initialises an empty buffer holding at most max bytes (0: 1 GiB). */
void coren_buf_init(struct coren_buf *b, size_t max);

/* Makes room for n more bytes (and a NUL) without changing len: the
 * caller may write up to n bytes at data + len, then add them to len.
 * COREN_ERR_TOOLONG past the cap, COREN_ERR_NOMEM. */
enum coren_err coren_buf_reserve(struct coren_buf *b, size_t n);

/* Appends n bytes. COREN_ERR_TOOLONG past the cap, COREN_ERR_NOMEM. */
enum coren_err coren_buf_append(struct coren_buf *b, const void *p, size_t n);

/* Appends one byte. */
enum coren_err coren_buf_putc(struct coren_buf *b, char c);

/* Appends printf-style formatted text. */
enum coren_err coren_buf_printf(struct coren_buf *b, const char *fmt, ...)
	COREN_PRINTF(2, 3);

/* Empties the buffer, keeping its memory. */
void coren_buf_reset(struct coren_buf *b);

/* Frees the data; the buffer is empty and reusable afterwards. */
void coren_buf_release(struct coren_buf *b);

/* Hands the data to the caller (free() it) and empties the buffer. Returns
 * an empty string, not NULL, for an empty buffer; NULL only on ENOMEM. */
char *coren_buf_detach(struct coren_buf *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
