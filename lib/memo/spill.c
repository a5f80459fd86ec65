/* spill.c - bounded memory in results mode.
 *
 * Results come out in grid order, a slab at a time (run.c, window.c): the
 * chunks that share a bin of the first axis are interleaved point by point,
 * so the slab's first line of output needs a line of every chunk of the
 * slab, the last computed included. A slab can be the whole grid (a first
 * axis in one bin): its results must wait somewhere until the slab is
 * complete. The design:
 *
 * - Admission (run.c want_more): within a slab, new chunks enter the
 *   window while the points of its unsettled chunks (pending, loading:
 *   r->created - r->points_settled) stay under a bound, however large the
 *   slab. A settled chunk no longer holds per-point state: a READY
 *   chunk's lines are joined into its content (compute.c frees the
 *   per-point arrays), and main frees its chunk key (run.c tidy()).
 * - Content (memo_slot_keep, here): the content of READY chunks stays in
 *   memory while all such content in the window is at most MEM_MAX bytes
 *   (the usual shapes, as fast as ever; $COREN_SPILL_AFTER bytes when
 *   set: tests spill small grids with 0); past that, the worker that made
 *   it READY appends it to the spill file and frees it. The spill file
 *   is one unlinked temporary file in $TMPDIR (else /tmp), made at the
 *   start when results are written and a slab has more than one chunk:
 *   plain lines, each READY chunk's content in one piece at an offset
 *   reserved atomically (workers pwrite() side by side). It vanishes with
 *   the process. Without it (no results written: --stream, shards) the
 *   content is freed at once: nothing reads it again.
 * - Emission (memo_slot_lines, main): within a slab, grid order reads
 *   each chunk's points in increasing local index, none skipped
 *   (memo_order_run()), so a chunk needs only a read cursor (the next
 *   point, the byte it starts at), no per-line offsets. A spilled chunk is
 *   read back through one buffer of the main thread, a run at a time, its
 *   size guessed from the chunk's mean line length (at most READ_MAX
 *   unless one line is longer).
 *
 * What stays in memory is then: MEM_MAX of content (2 MiB), the
 * unsettled points' state (~80 bytes a point; 65536 points, or 4 times
 * what the workers are fed, plus the last chunk admitted), the chunks
 * being stored (a worker's, or at most STORE_QUEUE_MAX + STORE_THREADS
 * with the storers: their points are still unsettled, so they count in
 * the points' bound), and ~200 bytes per chunk of the slab (struct slot;
 * its work part, struct slot_work, goes once it is READY): the last term
 * grows with the number of chunks in a slab (100k chunks: ~20 MiB), not
 * with its points. FAILED chunks (--keep-going) keep their
 * lines in memory until emitted. A failed spill (ENOSPC, no temporary
 * directory) keeps the content in memory, with one warning. The grid's
 * own values (the plan) are not the window's: a listed axis of 1M values
 * costs ~50 MiB before any point runs, a range nothing (range.c). */
#include "config.h"

#include "run_int.h"

#include <coren/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEM_MAX	 ((size_t)2 << 20) /* bytes of READY content kept in memory */
#define READ_MAX ((size_t)1 << 20) /* bytes read back at once, usually */

static const char *spill_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

void memo_spill_open(struct memo_spill *sp)
{
	const char *dir = spill_dir(), *after = getenv("COREN_SPILL_AFTER");
	char *end;
	size_t n = strlen(dir) + sizeof "/coren-spill-XXXXXX";
	char *path = malloc(n);

	sp->fd = -1;
#ifdef O_TMPFILE
	sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (sp->fd < 0 && path) { /* no O_TMPFILE here: made, then unlinked */
		snprintf(path, n, "%s/coren-spill-XXXXXX", dir);
		sp->fd = mkostemp(path, O_CLOEXEC);
		if (sp->fd >= 0)
			unlink(path);
	}
	sp->open_errno = sp->fd < 0 ? (path ? errno : ENOMEM) : 0;
	free(path);
	sp->after = MEM_MAX;
	if (after && *after) {
		unsigned long long bytes = strtoull(after, &end, 10);

		sp->after = *end ? MEM_MAX : (size_t)bytes;
	}
}

void memo_spill_close(struct memo_spill *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

static bool write_at(int fd, const char *d, size_t n, uint64_t at)
{
	while (n) {
		ssize_t w = pwrite(fd, d, n, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		d += w;
		n -= (size_t)w;
		at += (uint64_t)w;
	}
	return true;
}

static bool read_at(int fd, char *d, size_t n, uint64_t at)
{
	while (n) {
		ssize_t got = pread(fd, d, n, (off_t)at);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		d += got;
		n -= (size_t)got;
		at += (uint64_t)got;
	}
	return true;
}

static void warn_once(struct run *r, int e)
{
	if (atomic_exchange(&r->spill.warned, true))
		return;
	coren_log(COREN_LOG_WARNING,
		  "cannot spill results to a temporary file in '%s': %s: "
		  "keeping them in memory",
		  spill_dir(), strerror(e));
}

void memo_slot_keep(struct run *r, struct slot *s)
{
	uint64_t at;

	if (!r->o->out) { /* nothing will read it */
		free(s->content);
		s->content = NULL;
		return;
	}
	if (atomic_fetch_add(&r->mem, s->len) + s->len <= r->spill.after ||
	    r->slab == 1) /* a slab of one chunk is written once complete */
		return;
	if (r->spill.fd < 0) {
		warn_once(r, r->spill.open_errno);
		return;
	}
	at = atomic_fetch_add(&r->spill.end, s->len);
	if (!write_at(r->spill.fd, s->content, s->len, at)) {
		warn_once(r, errno ? errno : ENOSPC);
		return;
	}
	atomic_fetch_sub(&r->mem, s->len);
	free(s->content);
	s->content = NULL;
	s->spilled = true;
	s->spill_at = at;
}

void memo_slot_unkeep(struct run *r, struct slot *s)
{
	if (s->state == SLOT_READY && s->content)
		atomic_fetch_sub(&r->mem, s->len);
}

/* Up to n whole lines from p (len bytes): their bytes, *got lines. */
static size_t whole_lines(const char *p, size_t len, uint64_t n, uint64_t *got)
{
	const char *q = p, *end = p + len, *nl;

	*got = 0;
	while (*got < n && (nl = memchr(q, '\n', (size_t)(end - q)))) {
		q = nl + 1;
		++*got;
	}
	return (size_t)(q - p);
}

/* Reads the next lines of spilled s into r->rd: enough bytes for n lines
 * of the chunk's mean length and some, more when not even one fits. */
static enum coren_err read_back(struct run *r, struct slot *s, uint64_t n,
				uint64_t *got, size_t *len)
{
	size_t left = s->len - s->pos, mean = s->len / s->npoints + 1;
	size_t want =
	    n < READ_MAX / mean ? n * mean + n * mean / 8 + 256 : READ_MAX;

	for (want = want < left ? want : left;;
	     want = 2 * want < left ? 2 * want : left) {
		r->rd.len = 0;
		if (coren_buf_reserve(&r->rd, want))
			return COREN_ERR_NOMEM;
		if (!read_at(r->spill.fd, r->rd.data, want,
			     s->spill_at + s->pos))
			return COREN_ERR_IO;
		*len = whole_lines(r->rd.data, want, n, got);
		if (*got)
			return COREN_OK;
		if (want == left) /* checked content ends in a newline */
			return COREN_ERR_CORRUPT;
	}
}

enum coren_err memo_slot_lines(struct run *r, struct slot *s, uint64_t local,
			       uint64_t n, const char **data, size_t *len,
			       uint64_t *got)
{
	enum coren_err rc = COREN_OK;

	if (s->state != SLOT_READY || local != s->next || !n ||
	    n > s->npoints - s->next || s->pos >= s->len)
		return COREN_ERR_CORRUPT;
	if (s->spilled) {
		rc = read_back(r, s, n, got, len);
		*data = r->rd.data;
	} else if (s->content) {
		*data = s->content + s->pos;
		*len = whole_lines(*data, s->len - s->pos, n, got);
		rc = *got ? COREN_OK : COREN_ERR_CORRUPT;
	} else {
		rc = COREN_ERR_CORRUPT;
	}
	if (!rc) {
		s->pos += *len;
		s->next += *got;
	}
	return rc;
}
