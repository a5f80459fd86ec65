/* coren/file.h - atomic file replacement, file locks, directories.
 *
 * An atomic file is written to a temporary file in the destination's
 * directory (".NAME.tmp.XXXXXX"), then fsync'd and renamed over the
 * destination, and the directory fsync'd: readers see the old file or the
 * new one, never a part. On any error, and on abort, the temporary file is
 * removed.
 */
#ifndef COREN_FILE_H
#define COREN_FILE_H

#include <coren/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct coren_atomic_file {
	int fd;	   /* write the content here; -1 when not open */
	char *path; /* destination */
	char *tmp;  /* temporary file */
};

/* Creates the temporary file for path with the given permission bits
 * (subject to the umask). The destination's directory must exist. */
enum coren_err coren_atomic_open(struct coren_atomic_file *af, const char *path,
				 mode_t mode, struct coren_error *err);

/* Writes all of len bytes to af->fd (retrying short writes). */
enum coren_err coren_atomic_write_all(struct coren_atomic_file *af,
				      const void *data, size_t len,
				      struct coren_error *err);

/* fsync, close, rename over the destination, fsync the directory. On
 * failure the temporary file is removed. af is released either way. */
enum coren_err coren_atomic_commit(struct coren_atomic_file *af,
				   struct coren_error *err);

/* Closes and removes the temporary file; af is released. Safe to call on a
 * released or zeroed af. */
void coren_atomic_abort(struct coren_atomic_file *af);

/* Replaces path atomically with len bytes of data. */
enum coren_err coren_file_replace(const char *path, const void *data,
				  size_t len, mode_t mode,
				  struct coren_error *err);

/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer. COREN_ERR_NOTFOUND, COREN_ERR_IO, COREN_ERR_TOOLONG. */
enum coren_err coren_file_read(const char *path, size_t max, char **data,
			       size_t *len, struct coren_error *err);

/* Reads the first max bytes of a file (all of it when shorter), as
 * coren_file_read() does. */
enum coren_err coren_file_read_head(const char *path, size_t max, char **data,
				    size_t *len, struct coren_error *err);

/* As coren_file_read() (head: as coren_file_read_head()), but only a
 * regular file is read: a FIFO, a device or a directory at path is
 * COREN_ERR_IO "not a regular file", found without blocking. */
enum coren_err coren_file_read_regular(const char *path, size_t max,
				       bool head, char **data, size_t *len,
				       struct coren_error *err);

/* Opens a regular file for reading (O_CLOEXEC) into *fd, refusing
 * anything else without blocking, as coren_file_read_regular(). */
enum coren_err coren_file_open_regular(const char *path, int *fd,
				       struct coren_error *err);

/* Creates a directory and its parents (like mkdir -p). */
enum coren_err coren_mkdir_p(const char *path, mode_t mode,
			     struct coren_error *err);

enum coren_lock_flags {
	COREN_LOCK_SHARED = 0,	  /* readers */
	COREN_LOCK_EXCLUSIVE = 1, /* one writer */
	COREN_LOCK_NOWAIT = 2	  /* COREN_ERR_BUSY instead of waiting */
};

/* A lock on a lock file (created if missing). It is an open file
 * description lock (fcntl F_OFD_SETLKW): held per open file, released on
 * coren_lock_release() or when the process dies, never inherited by a
 * child's exec, and honoured over NFS. */
struct coren_lock {
	int fd; /* -1 when not held */
};
#define COREN_LOCK_INIT {-1}

enum coren_err coren_lock_acquire(struct coren_lock *lock, const char *path,
				  int flags, struct coren_error *err);

/* Releases the lock; a no-op when not held (fd -1, as COREN_LOCK_INIT and
 * a failed acquire leave it). */
void coren_lock_release(struct coren_lock *lock);

#ifdef __cplusplus
}
#endif
#endif
