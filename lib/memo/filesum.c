/* filesum.c - the SHA-256 of the files a --cmd or --coproc function is
 * made of (fnid.c), remembered per cache and per user so that a run does
 * not read the interpreter (python3: 7 MB) again before every sweep.
 *
 * <cache>/fnid/<dev>-<ino>.json, and the same in the user's cache
 * directory (entry_dirs), holds one entry: the file's key as stat(2)
 * found it before it was read (dev, ino, size, mtime_ns, ctime_ns), when
 * the reading began (hashed_at_ns), and the SHA-256 read. An entry is used
 * only when its key equals the file's key now, and only when the file's
 * mtime and ctime are older than the whole second in which the reading
 * began: git's racy-timestamp guard. A file written while or after it was
 * read has a timestamp from that second or later (file systems round
 * timestamps down, to a second at worst), so an entry that could hold an
 * older content is never trusted, nor written. Any edit changes ctime,
 * which no user can set, so an edit that keeps size and mtime still reads
 * the file again. An entry that does not parse, or lacks a field, is
 * ignored and replaced; one that cannot be written only costs the next
 * run the reading. Chunk ids are the same with or without the entries.
 * Main thread. */
#include "config.h"

#include "memo_int.h"

#include <coren/cap.h>
#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_BLOCK 65536
#define ENTRY_MAX  4096 /* bytes of an entry read */
#define NS	   1000000000LL

/* SHA-256 of what fd reads (path names it in errors), as hex. */
static enum coren_err fd_sha256(int fd, const char *path, char hex[65],
				struct coren_error *err)
{
	struct coren_sha256 *h = coren_sha256_new();
	unsigned char md[COREN_SHA256_LEN], *buf = malloc(HASH_BLOCK);
	enum coren_err rc = h && buf ? COREN_OK : COREN_ERR_NOMEM;
	ssize_t n = 0;

	while (!rc && (n = read(fd, buf, HASH_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		rc = n < 0 ? coren_error_set(err, COREN_ERR_IO,
					     "cannot read '%s': %s", path,
					     strerror(errno))
			   : coren_sha256_update(h, buf, (size_t)n);
	}
	if (!rc)
		rc = coren_sha256_final(h, md);
	if (!rc)
		coren_hex(md, sizeof md, hex);
	coren_sha256_free(h);
	free(buf);
	return rc == COREN_ERR_NOMEM ? coren_error_set(err, rc, "out of memory")
				     : rc;
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * NS + t->tv_nsec;
}

/* {"ctime_ns","dev","ino","mtime_ns","size"} of st: what an entry is
 * trusted for. */
static json_t *key_of(const struct stat *st)
{
	json_t *k = json_object();

	if (k && (json_object_set_new(k, "dev", coren_json_u64(st->st_dev)) ||
		  json_object_set_new(k, "ino", coren_json_u64(st->st_ino)) ||
		  json_object_set_new(k, "size",
				      coren_json_u64((uint64_t)st->st_size)) ||
		  json_object_set_new(k, "mtime_ns",
				      json_integer(ns_of(&st->st_mtim))) ||
		  json_object_set_new(k, "ctime_ns",
				      json_integer(ns_of(&st->st_ctim))))) {
		json_decref(k);
		return NULL;
	}
	return k;
}

/* Whether a file with these timestamps could have changed while it was
 * read from hashed_at (ns) on: written in that second or later. */
static bool racy(const struct stat *st, long long hashed_at)
{
	long long second = hashed_at - hashed_at % NS;

	return hashed_at <= 0 || ns_of(&st->st_mtim) >= second ||
	       ns_of(&st->st_ctim) >= second;
}

static char *entry_path(const char *cache, const struct stat *st)
{
	char *p;

	if (asprintf(&p, "%s/" MEMO_FNID_DIR "/%ju-%ju.json", cache,
		     (uintmax_t)st->st_dev, (uintmax_t)st->st_ino) < 0)
		return NULL;
	return p;
}

static bool is_hex64(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The entry at path for st's key into hex (and when its reading began
 * into *hashed_at): whether one is there and trusted. */
static bool entry_get(const char *path, const struct stat *st, char hex[65],
		      long long *hashed_at)
{
	json_t *j = NULL, *key = key_of(st), *sum;
	char *data = NULL;
	size_t len;
	bool ok = false;
	const char *k;
	json_t *v;

	if (key &&
	    !coren_file_read_regular(path, ENTRY_MAX, false, &data, &len, NULL))
		j = coren_json_parse(data, len, NULL);
	ok = j && json_is_integer(json_object_get(j, "hashed_at_ns"));
	json_object_foreach(key, k, v)
		ok = ok && json_equal(v, json_object_get(j, k));
	sum = json_object_get(j, "sha256");
	ok = ok && is_hex64(json_string_value(sum)) &&
	     !racy(st, json_integer_value(json_object_get(j, "hashed_at_ns")));
	if (ok) {
		memcpy(hex, json_string_value(sum), 65);
		*hashed_at = json_integer_value(json_object_get(j, "hashed_at_ns"));
	}
	json_decref(j);
	json_decref(key);
	free(data);
	return ok;
}

/* Writes the entry for st's key, read from hashed_at on; best effort. */
static void entry_put(const char *cache, const char *path,
		      const struct stat *st, long long hashed_at,
		      const char hex[65], bool make_parents)
{
	json_t *j = key_of(st);
	struct coren_buf b;
	char *dir;

	if (asprintf(&dir, "%s/" MEMO_FNID_DIR, cache) < 0)
		dir = NULL;
	coren_buf_init(&b, ENTRY_MAX);
	/* a chunk cache is made by the run, not here; the user's is */
	if (j && dir &&
	    (make_parents ? !coren_mkdir_p(dir, 0777, NULL)
			  : !mkdir(dir, 0777) || errno == EEXIST) &&
	    !json_object_set_new(j, "hashed_at_ns", json_integer(hashed_at)) &&
	    !json_object_set_new(j, "sha256", json_string(hex)) &&
	    !coren_json_canonical(j, &b) && !coren_buf_putc(&b, '\n'))
		coren_file_replace(path, b.data, b.len, 0666, NULL);
	free(dir);
	coren_buf_release(&b);
	json_decref(j);
}

static bool same_key(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       ns_of(&a->st_mtim) == ns_of(&b->st_mtim) &&
	       ns_of(&a->st_ctim) == ns_of(&b->st_ctim);
}

/* Where entries are kept: the chunk cache's <cache>/fnid, and the user's
 * ($COREN_CACHE_DIR, else $XDG_CACHE_HOME/coren, else ~/.cache/coren:
 * coren_cap_cache_dir) /fnid, so that a run on a new chunk cache does not
 * read python3 again either. Fills dirs (malloc'd, NULL where none);
 * mkdir: the user's is made when missing (the chunk cache never is:
 * the run makes it). */
static void entry_dirs(const char *cache, char *dirs[2])
{
	char *user = coren_cap_cache_dir();

	dirs[0] = cache ? strdup(cache) : NULL;
	dirs[1] = user && (!cache || strcmp(user, cache)) ? user : NULL;
	if (!dirs[1])
		free(user);
}

enum coren_err memo_file_sha256(const char *cache, const char *path,
				char hex[65], struct coren_error *err)
{
	struct timespec now;
	struct stat st, after;
	char *dirs[2] = {NULL, NULL}, *entry[2] = {NULL, NULL};
	long long at = 0;
	int fd = -1;
	bool keyed;
	enum coren_err rc = coren_file_open_regular(path, &fd, err);

	/* the clock first, the one file timestamps are taken from (or
	 * finer): a change after this instant is dated in its second or
	 * later, so the key below and the reading are covered */
	keyed = !rc && cache && !clock_gettime(CLOCK_REALTIME_COARSE, &now) &&
		!fstat(fd, &st);
	if (keyed)
		entry_dirs(cache, dirs);
	for (int i = 0; keyed && i < 2; i++)
		if (dirs[i])
			entry[i] = entry_path(dirs[i], &st);
	if (entry[0] && entry_get(entry[0], &st, hex, &at))
		goto done; /* the chunk cache's own entry first */
	if (entry[1] && entry_get(entry[1], &st, hex, &at)) {
		if (entry[0])
			entry_put(dirs[0], entry[0], &st, at, hex, false);
		goto done; /* the user's, copied into the chunk cache */
	}
	if (!rc)
		rc = fd_sha256(fd, path, hex, err);
	/* remembered only for the inode read, unchanged meanwhile */
	if (!rc && keyed && !fstat(fd, &after) && same_key(&st, &after) &&
	    !racy(&st, ns_of(&now)))
		for (int i = 0; i < 2; i++)
			if (entry[i])
				entry_put(dirs[i], entry[i], &st, ns_of(&now),
					  hex, i == 1);
done:
	for (int i = 0; i < 2; i++) {
		free(dirs[i]);
		free(entry[i]);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}
