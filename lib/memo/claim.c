/* claim.c - concurrent runs on one cache compute each chunk once. A run
 * about to compute a chunk claims it: an exclusive open file description
 * lock (coren_lock_acquire) on "<cache>/<2 hex>/<id>.claim", held until
 * the chunk is stored or its slot is freed unfinished. A run that finds
 * the claim held leaves the slot waiting (run.c polls it) and goes on
 * with later chunks; the kernel drops the lock of a dead process, so its
 * chunks are taken over by whoever polls next.
 *
 * Claim files are removed by their holder while it still holds the lock
 * (unlink, then close). A taker may therefore lock an inode that was just
 * unlinked: it checks that the path still names the inode it locked, and
 * tries again if not. A dead holder leaves its file behind, unlocked; the
 * next taker reuses it, and --gc removes it.
 *
 * A claim is one file descriptor. At most memo_claims_max() are held at
 * once: beyond that the window stops growing (run.c), and chunks of the
 * first slab, which must be in the window whole, are computed unclaimed.
 * A cache where a claim cannot be made (read-only, EACCES, no OFD or
 * POSIX locks) turns claims off for the run: it computes as if alone. */
#include "config.h"

#include "run_int.h"

#include <coren/file.h>
#include <coren/log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIMS_MAX 256 /* claims held at once (file descriptors) */
#define CLAIM_TRIES 8  /* locks of an inode unlinked meanwhile, retried */

char *memo_claim_path(const char *cache, const char *id)
{
	size_t n = strlen(cache) + 84;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%.2s/%s" MEMO_CLAIM_SUFFIX, cache, id, id);
	return p;
}

size_t memo_claims_max(void)
{
	struct rlimit rl;
	size_t n = CLAIMS_MAX;

	/* leave three quarters of the descriptors to the exec functions */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < n)
		n = (size_t)(rl.rlim_cur / 4);
	return n;
}

/* Whether the inode locked through fd is still the one at path. */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Locks path's claim file into *lk: COREN_OK, COREN_ERR_BUSY, or why a
 * claim cannot be made here. */
static enum coren_err lock_claim(const char *path, struct coren_lock *lk,
				 struct coren_error *e)
{
	enum coren_err rc = COREN_ERR_BUSY;

	for (int t = 0; t < CLAIM_TRIES; t++) {
		rc = coren_lock_acquire(lk, path,
					COREN_LOCK_EXCLUSIVE | COREN_LOCK_NOWAIT,
					e);
		if (rc)
			return rc;
		if (same_file(lk->fd, path))
			return COREN_OK;
		coren_lock_release(lk); /* its holder unlinked it: anew */
		rc = COREN_ERR_BUSY;
	}
	return rc;
}

/* As lock_claim(), making the chunk's directory when it is missing. */
static enum coren_err lock_new(const char *path, struct coren_lock *lk,
			       struct coren_error *e)
{
	enum coren_err rc = lock_claim(path, lk, e);
	char *dir;

	if (rc != COREN_ERR_NOTFOUND)
		return rc;
	dir = strdup(path);
	if (!dir)
		return coren_error_set(e, COREN_ERR_NOMEM, "out of memory");
	*strrchr(dir, '/') = '\0';
	rc = coren_mkdir_p(dir, 0777, e);
	if (!rc)
		rc = lock_claim(path, lk, e);
	free(dir);
	return rc;
}

static bool chunk_exists(const char *cache, const char *id)
{
	char *path = coren_chunk_path(cache, id);
	struct stat st;
	bool yes = path && !lstat(path, &st);

	free(path);
	return yes;
}

enum claim memo_claim_take(struct run *r, struct slot *s)
{
	struct coren_error e = {0};
	char *path;
	enum coren_err rc;

	if (r->claims_off ||
	    atomic_load(&r->claims_held) >= r->claims_max)
		return CLAIM_NONE;
	if (!(path = memo_claim_path(r->e->cache, s->id)))
		return CLAIM_NONE;
	rc = lock_new(path, &s->w->claim, &e);
	free(path);
	if (rc == COREN_ERR_BUSY)
		return CLAIM_BUSY;
	if (rc) {
		r->claims_off = true;
		coren_log(COREN_LOG_INFO, "cannot claim chunks in '%s' (%s): "
					  "computing without claims",
			  r->e->cache, e.msg);
		return CLAIM_NONE;
	}
	atomic_fetch_add(&r->claims_held, 1);
	/* its holder may have stored it and gone since the cache was looked
	 * at: then it is loaded, not computed again; unless the file there
	 * is the one that could not be used (load_rc): it is replaced */
	if (!s->w->load_rc && chunk_exists(r->e->cache, s->id)) {
		memo_claim_release(r, s);
		return CLAIM_STORED;
	}
	return CLAIM_HELD;
}

void memo_claim_release(struct run *r, struct slot *s)
{
	char *path;

	if (!s->w || s->w->claim.fd < 0) /* settled READY: released */
		return;
	/* removed while locked: a taker that locks this inode afterwards
	 * sees it is no longer at the path */
	path = memo_claim_path(r->e->cache, s->id);
	if (path)
		unlink(path);
	free(path);
	coren_lock_release(&s->w->claim);
	atomic_fetch_sub(&r->claims_held, 1);
}
