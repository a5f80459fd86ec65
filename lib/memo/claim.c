/* claim.c - concurrent runs on one cache compute each chunk once. A run
 * about to compute a chunk claims it: an exclusive open file description
 * lock (fcntl F_OFD_SETLK) on one byte of "<cache>/claims", at the offset
 * the chunk id's first 15 hex digits make, held until the chunk is stored
 * or its slot is freed unfinished. A run that finds the byte locked leaves
 * the slot waiting (run.c polls it) and goes on with later chunks; the
 * kernel drops the locks of a dead process, so its chunks are taken over
 * by whoever polls next.
 *
 * One file for the whole cache, opened once per run: a claim costs two
 * fcntl calls, not a file made and removed (inode allocation was a fifth
 * of a cold run's time). Two chunks whose ids share 60 bits share a byte:
 * that only makes one wait for the other, since a run that takes a claim
 * looks again whether the chunk is stored (memo_claim_take) before
 * computing it. Within a run the one descriptor owns every claim (OFD
 * locks of one open file never conflict), and ids in a run are distinct.
 *
 * At most memo_claims_max() are held at once: beyond that the window
 * stops growing (run.c), and chunks of the first slab, which must be in
 * the window whole, are computed unclaimed. A cache where a claim cannot
 * be made (read-only, EACCES, no OFD or POSIX locks, "claims" not a
 * file) turns claims off for the run: it computes as if alone. Earlier
 * versions locked a file "<2 hex>/<id>.claim" per chunk: --gc removes
 * those left behind (cache.c). */
#include "config.h"

#include "run_int.h"

#include <coren/file.h>
#include <coren/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIMS_MAX 256 /* claims held at once */
#define CLAIM_HEX  15  /* hex digits of the id in a claim's offset */

char *memo_claims_path(const char *cache)
{
	char *p;

	if (asprintf(&p, "%s/" MEMO_CLAIMS_FILE, cache) < 0)
		return NULL;
	return p;
}

/* The byte of <cache>/claims that claims chunk id. */
static off_t claim_offset(const char *id)
{
	char hex[CLAIM_HEX + 1];

	memcpy(hex, id, CLAIM_HEX);
	hex[CLAIM_HEX] = '\0';
	return (off_t)strtoull(hex, NULL, 16);
}

size_t memo_claims_max(void)
{
	return CLAIMS_MAX;
}

/* F_OFD_SETLK of type on id's byte of fd; POSIX locks where the kernel
 * has no OFD locks (the run's one descriptor holds them all either
 * way). 0, or -1 with errno. */
static int lock_byte(int fd, const char *id, short type)
{
	struct flock fl = {.l_type = type,
			   .l_whence = SEEK_SET,
			   .l_start = claim_offset(id),
			   .l_len = 1};
	int cmd = F_OFD_SETLK, n;

	while ((n = fcntl(fd, cmd, &fl)) < 0 &&
	       (errno == EINTR || (errno == EINVAL && cmd == F_OFD_SETLK)))
		if (errno == EINVAL)
			cmd = F_SETLK;
	return n;
}

/* Opens <cache>/claims for the run, once: whether claims can be made. */
static bool claims_open(struct run *r, struct coren_error *e)
{
	char *path;
	int fd;

	if (r->claims_fd >= 0)
		return true;
	if (!(path = memo_claims_path(r->e->cache))) {
		coren_error_set(e, COREN_ERR_NOMEM, "out of memory");
		return false;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0 && errno == ENOENT && !coren_mkdir_p(r->e->cache, 0777, e))
		fd =
		    open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		coren_error_set(e, COREN_ERR_IO, "cannot open '%s': %s", path,
				strerror(errno));
	free(path);
	r->claims_fd = fd;
	return fd >= 0;
}

static bool chunk_exists(const char *cache, const char *id)
{
	char *path = coren_chunk_path(cache, id);
	struct stat st;
	bool yes = path && !lstat(path, &st);

	free(path);
	return yes;
}

/* Claims off for the rest of the run, saying why once. */
static enum claim claims_off(struct run *r, const char *why)
{
	r->claims_off = true;
	coren_log(COREN_LOG_INFO,
		  "cannot claim chunks in '%s' (%s): "
		  "computing without claims",
		  r->e->cache, why);
	return CLAIM_NONE;
}

enum claim memo_claim_take(struct run *r, struct slot *s)
{
	struct coren_error e = {0};

	if (r->claims_off || atomic_load(&r->claims_held) >= r->claims_max)
		return CLAIM_NONE;
	if (!claims_open(r, &e))
		return claims_off(r, e.msg);
	if (lock_byte(r->claims_fd, s->id, F_WRLCK) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return CLAIM_BUSY;
		return claims_off(r, strerror(errno));
	}
	s->w->claimed = true;
	atomic_fetch_add(&r->claims_held, 1);
	/* its holder may have stored it and gone since the cache was looked
	 * at (or it shares the byte with a chunk just stored): then it is
	 * loaded, not computed again; unless the file there is the one that
	 * could not be used (load_rc): it is replaced */
	if (!s->w->load_rc && chunk_exists(r->e->cache, s->id)) {
		memo_claim_release(r, s);
		return CLAIM_STORED;
	}
	return CLAIM_HELD;
}

void memo_claim_release(struct run *r, struct slot *s)
{
	if (!s->w || !s->w->claimed) /* settled READY: released */
		return;
	/* claims_fd: opened by main before the claim, closed after the
	 * workers are gone (run.c) */
	lock_byte(r->claims_fd, s->id, F_UNLCK);
	s->w->claimed = false;
	atomic_fetch_sub(&r->claims_held, 1);
}
