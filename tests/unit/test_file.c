#include "tap.h"
#include <coren/file.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = "/tmp/coren-test-file-XXXXXX";

/* Number of entries in dir other than . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	struct coren_error e = {0};
	struct coren_atomic_file af;
	char path[512], dir[256], *data;
	struct stat st;
	size_t len;
	pid_t pid;
	int status;

	if (!mkdtemp(root))
		return perror("mkdtemp"), 1;
	snprintf(dir, sizeof dir, "%s/a/b/c", root);
	is_int(coren_mkdir_p(dir, 0755, &e), COREN_OK, "mkdir -p creates parents");
	ok(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "directory exists");
	is_int(coren_mkdir_p(dir, 0755, &e), COREN_OK, "mkdir -p of an existing directory");

	snprintf(path, sizeof path, "%s/f.json", dir);
	is_int(coren_file_replace(path, "one", 3, 0644, &e), COREN_OK, "replace creates");
	is_int(coren_file_read(path, 100, &data, &len, &e), COREN_OK, "read back");
	ok(len == 3 && !strcmp(data, "one"), "content");
	free(data);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == (0644 & ~umask(022)), "mode applied");
	is_int(coren_file_replace(path, "second", 6, 0644, &e), COREN_OK, "replace overwrites");
	coren_file_read(path, 100, &data, &len, &e);
	ok(!strcmp(data, "second"), "new content");
	free(data);
	is_int(entries(dir), 1, "no temporary file left behind");

	is_int(coren_atomic_open(&af, path, 0644, &e), COREN_OK, "atomic open");
	coren_atomic_write_all(&af, "partial", 7, &e);
	is_int(entries(dir), 2, "temporary file exists while writing");
	coren_file_read(path, 100, &data, &len, &e);
	ok(!strcmp(data, "second"), "readers see the old content meanwhile");
	free(data);
	coren_atomic_abort(&af);
	is_int(entries(dir), 1, "abort removes the temporary file");
	coren_atomic_abort(&af);
	ok(af.fd == -1 && af.tmp == NULL, "abort twice is harmless");

	snprintf(path, sizeof path, "%s/missing/f.json", root);
	is_int(coren_file_replace(path, "x", 1, 0644, &e), COREN_ERR_NOTFOUND, "missing directory reported");
	ok(strstr(e.msg, path) != NULL, "message names the file");
	is_int(coren_file_read(path, 10, &data, &len, &e), COREN_ERR_NOTFOUND, "read of a missing file");
	snprintf(path, sizeof path, "%s/f.json", dir);
	is_int(coren_file_read(path, 3, &data, &len, &e), COREN_ERR_TOOLONG, "read past max refused");

	snprintf(path, sizeof path, "%s/f.json", dir);
	is_int(coren_mkdir_p(path, 0755, &e), COREN_ERR_IO, "mkdir -p over a file fails");

	/* locks: exclusive against another process */
	{
		struct coren_lock l = COREN_LOCK_INIT, l2 = COREN_LOCK_INIT;
		char lock[256];

		snprintf(lock, sizeof lock, "%s/lock", root);
		is_int(coren_lock_acquire(&l, lock, COREN_LOCK_EXCLUSIVE, &e), COREN_OK, "exclusive lock");
		pid = fork();
		if (pid == 0) {
			struct coren_lock c = COREN_LOCK_INIT;
			int rc = coren_lock_acquire(&c, lock, COREN_LOCK_EXCLUSIVE | COREN_LOCK_NOWAIT, NULL);
			_exit(rc == COREN_ERR_BUSY ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process finds it busy");
		is_int(coren_lock_acquire(&l2, lock, COREN_LOCK_SHARED | COREN_LOCK_NOWAIT, &e), COREN_ERR_BUSY,
		       "a second open file in this process finds it busy too (OFD lock)");
		ok(l2.fd == -1, "failed acquire leaves fd -1");
		coren_lock_release(&l);
		coren_lock_release(&l);
		pid = fork();
		if (pid == 0) {
			struct coren_lock c = COREN_LOCK_INIT;
			int rc = coren_lock_acquire(&c, lock, COREN_LOCK_EXCLUSIVE | COREN_LOCK_NOWAIT, NULL);
			_exit(rc == COREN_OK ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "free after release");
		is_int(coren_lock_acquire(&l, lock, COREN_LOCK_SHARED, &e), COREN_OK, "shared lock");
		is_int(coren_lock_acquire(&l2, lock, COREN_LOCK_SHARED | COREN_LOCK_NOWAIT, &e), COREN_OK, "shared locks coexist");
		coren_lock_release(&l);
		coren_lock_release(&l2);
	}
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", root);
		if (system(cmd) != 0)
			return 1;
	}
	return done_testing();
}
