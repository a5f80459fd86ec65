/* file.c - atomic replacement, whole-file reads, mkdir -p, file locks
 * (coren/file.h). */
#include "config.h"

#include <coren/file.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum coren_err sys_error(struct coren_error *err, const char *what,
				const char *path)
{
	enum coren_err code = errno == ENOENT ? COREN_ERR_NOTFOUND
			      : errno == ENOMEM ? COREN_ERR_NOMEM
						: COREN_ERR_IO;

	return coren_error_set(err, code, "cannot %s '%s': %s", what, path,
			       strerror(errno));
}

/* The directory part of path, malloc'd. */
static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d;

	if (!copy)
		return NULL;
	d = strdup(dirname(copy));
	free(copy);
	return d;
}

static void release(struct coren_atomic_file *af)
{
	free(af->path);
	free(af->tmp);
	af->path = af->tmp = NULL;
	af->fd = -1;
}

/* The process's umask, read once when the library loads, before any
 * thread runs: reading it means setting it (umask(2)), and a umask of 0
 * for an instant would give a directory another thread makes meanwhile
 * the wrong mode. Owner: this constructor; read-only after. */
static mode_t process_umask = 022;

__attribute__((constructor)) static void read_umask(void)
{
	process_umask = umask(0);
	umask(process_umask);
}

enum coren_err coren_atomic_open(struct coren_atomic_file *af, const char *path,
				 mode_t mode, struct coren_error *err)
{
	char *copy, *dir, *base;
	mode_t mask;

	af->fd = -1;
	af->tmp = NULL;
	af->path = strdup(path);
	copy = strdup(path);
	if (!af->path || !copy) {
		free(copy);
		release(af);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	base = basename(copy);
	dir = dir_of(path);
	if (!dir || asprintf(&af->tmp, "%s/.%s.tmp.XXXXXX", dir, base) < 0)
		af->tmp = NULL;
	free(dir);
	free(copy);
	if (!af->tmp) {
		release(af);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	af->fd = mkostemp(af->tmp, O_CLOEXEC);
	if (af->fd < 0) {
		enum coren_err rc = sys_error(err, "create a file next to", path);

		release(af);
		return rc;
	}
	mask = process_umask;
	if (fchmod(af->fd, mode & ~mask) < 0) {
		enum coren_err rc = sys_error(err, "set the mode of", af->tmp);

		coren_atomic_abort(af);
		return rc;
	}
	return COREN_OK;
}

enum coren_err coren_atomic_write_all(struct coren_atomic_file *af,
				      const void *data, size_t len,
				      struct coren_error *err)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(af->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_error(err, "write", af->path);
		p += n;
		len -= (size_t)n;
	}
	return COREN_OK;
}

static void fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd); /* best effort: some file systems refuse */
		close(fd);
	}
	free(dir);
}

enum coren_err coren_atomic_commit(struct coren_atomic_file *af,
				   struct coren_error *err)
{
	enum coren_err rc = COREN_OK;

	if (fsync(af->fd) < 0)
		rc = sys_error(err, "sync", af->path);
	if (close(af->fd) < 0 && !rc)
		rc = sys_error(err, "close", af->path);
	af->fd = -1;
	if (!rc && rename(af->tmp, af->path) < 0)
		rc = sys_error(err, "rename a file onto", af->path);
	if (rc) {
		unlink(af->tmp);
	} else {
		fsync_dir(af->path);
	}
	release(af);
	return rc;
}

void coren_atomic_abort(struct coren_atomic_file *af)
{
	if (af->fd >= 0)
		close(af->fd);
	if (af->tmp)
		unlink(af->tmp);
	release(af);
}

enum coren_err coren_file_replace(const char *path, const void *data,
				  size_t len, mode_t mode,
				  struct coren_error *err)
{
	struct coren_atomic_file af;
	enum coren_err rc = coren_atomic_open(&af, path, mode, err);

	if (rc)
		return rc;
	rc = coren_atomic_write_all(&af, data, len, err);
	if (rc) {
		coren_atomic_abort(&af);
		return rc;
	}
	return coren_atomic_commit(&af, err);
}

enum coren_err coren_file_open_regular(const char *path, int *fd,
				       struct coren_error *err)
{
	struct stat st;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return sys_error(err, "open", path);
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return coren_error_set(err, COREN_ERR_IO,
				       "'%s' is not a regular file", path);
	}
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	return COREN_OK;
}

/* Reads path into a buffer; more than max bytes is COREN_ERR_TOOLONG, or
 * with head, the first max bytes. regular: refuse anything else than a
 * regular file (a FIFO, a device, a directory) without blocking. */
static enum coren_err read_file(const char *path, size_t max, bool head,
				bool regular, char **data, size_t *len,
				struct coren_error *err)
{
	size_t alloc = 4096, n = 0;
	char *buf = NULL, *p;
	ssize_t r;
	int fd;

	*data = NULL;
	*len = 0;
	if (regular) {
		enum coren_err rc = coren_file_open_regular(path, &fd, err);

		if (rc)
			return rc;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return sys_error(err, "open", path);
	}
	for (;;) {
		if (n + 1 >= alloc || !buf) {
			if (buf)
				alloc *= 2;
			p = realloc(buf, alloc);
			if (!p) {
				free(buf);
				close(fd);
				return coren_error_set(err, COREN_ERR_NOMEM,
						       "out of memory");
			}
			buf = p;
		}
		r = read(fd, buf + n,
			 head && max - n < alloc - n - 1 ? max - n
							 : alloc - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			enum coren_err rc = sys_error(err, "read", path);

			free(buf);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (head && n == max)
			break;
		if (n > max) {
			free(buf);
			close(fd);
			return coren_error_set(err, COREN_ERR_TOOLONG,
					       "'%s' is larger than %zu bytes",
					       path, max);
		}
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return COREN_OK;
}

enum coren_err coren_file_read(const char *path, size_t max, char **data,
			       size_t *len, struct coren_error *err)
{
	return read_file(path, max, false, false, data, len, err);
}

enum coren_err coren_file_read_regular(const char *path, size_t max,
				       bool head, char **data, size_t *len,
				       struct coren_error *err)
{
	return read_file(path, max, head, true, data, len, err);
}

enum coren_err coren_file_read_head(const char *path, size_t max, char **data,
				    size_t *len, struct coren_error *err)
{
	return read_file(path, max, true, false, data, len, err);
}

enum coren_err coren_mkdir_p(const char *path, mode_t mode,
			     struct coren_error *err)
{
	char *p, *s;
	enum coren_err rc = COREN_OK;
	struct stat st;

	/* the common case, the directory or only its last part missing (a
	 * chunk's): one call, not one per part of the path */
	if (!mkdir(path, mode) || (errno == EEXIST && !stat(path, &st) &&
				   S_ISDIR(st.st_mode)))
		return COREN_OK;
	p = strdup(path);
	if (!p)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	for (s = p + 1; !rc; s++) {
		int last = *s == '\0';

		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			rc = sys_error(err, "create directory", p);
		else if (last) {
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				rc = sys_error(err, "create directory", p);
			}
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

enum coren_err coren_lock_acquire(struct coren_lock *lock, const char *path,
				  int flags, struct coren_error *err)
{
	struct flock fl = {0};
	int cmd = (flags & COREN_LOCK_NOWAIT) ? F_OFD_SETLK : F_OFD_SETLKW;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	lock->fd = -1;
	if (fd < 0)
		return sys_error(err, "open lock file", path);
	fl.l_type = (flags & COREN_LOCK_EXCLUSIVE) ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, cmd, &fl) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINVAL &&
		    (cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW)) {
			/* no OFD locks here: classic POSIX locks */
			cmd = cmd == F_OFD_SETLK ? F_SETLK : F_SETLKW;
			continue;
		}
		if (errno == EAGAIN || errno == EACCES) {
			close(fd);
			return coren_error_set(err, COREN_ERR_BUSY,
					       "'%s' is locked by another process",
					       path);
		}
		{
			enum coren_err rc = sys_error(err, "lock", path);

			close(fd);
			return rc;
		}
	}
	lock->fd = fd;
	return COREN_OK;
}

void coren_lock_release(struct coren_lock *lock)
{
	if (lock->fd >= 0)
		close(lock->fd);
	lock->fd = -1;
}
