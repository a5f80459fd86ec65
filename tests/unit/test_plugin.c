#include "tap.h"
#include <coren/exec.h>
#include <coren/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;

static enum coren_err open_test(const char *name, enum coren_plugin_kind kind,
				struct coren_error *e, struct coren_plugin **p)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s.so", dir, name);
	coren_error_clear(e);
	return coren_plugin_open(path, kind, NULL, p, e);
}

static void refused(const char *name, enum coren_err want, const char *needle)
{
	struct coren_plugin *p = NULL;
	struct coren_error e;

	is_int(open_test(name, COREN_PLUGIN_ANY, &e, &p), want, "%s plugin refused", name);
	ok(p == NULL, "%s: no plugin handed out", name);
	if (!ok(strstr(e.msg, needle) != NULL, "%s: message says '%s'", name, needle))
		printf("#   message: %s\n", e.msg);
}

/* Copies n bytes of dir/good.so (all: n 0) to path with mode. */
static void copy_good(const char *path, long n, mode_t mode)
{
	char src[4096], buf[65536];
	FILE *in, *out;
	size_t k;
	long left;

	snprintf(src, sizeof src, "%s/good.so", dir);
	in = fopen(src, "rb");
	out = fopen(path, "wb");
	fseek(in, 0, SEEK_END);
	left = n ? n : ftell(in);
	rewind(in);
	while (left > 0 && (k = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, in)))
		left -= (long)fwrite(buf, 1, k, out);
	fclose(in);
	fclose(out);
	chmod(path, mode);
}

/* Files that would crash dlopen() or run code anyone may change. */
static void hostile(void)
{
	char tmp[] = "/tmp/coren-plug-XXXXXX", path[4200];
	struct coren_plugin *p = NULL;
	struct coren_error e = {0};
	struct stat st;
	char src[4096];

	if (!mkdtemp(tmp))
		return;
	snprintf(src, sizeof src, "%s/good.so", dir);
	stat(src, &st);
	snprintf(path, sizeof path, "%s/trunc.so", tmp);
	copy_good(path, (long)st.st_size / 2, 0644);
	is_int(coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_ELF,
	       "a truncated shared object is refused before dlopen (SIGBUS there)");
	ok(strstr(e.msg, "is truncated:") != NULL, "message: %s", e.msg);
	copy_good(path, 1000, 0644);
	is_int(coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_ELF,
	       "one cut inside its program headers too");
	unlink(path);

	snprintf(path, sizeof path, "%s/ww.so", tmp);
	copy_good(path, 0, 0666);
	is_int(coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_UNSAFE,
	       "a world-writable plugin is refused");
	ok(strstr(e.msg, "is world-writable") && strstr(e.msg, "COREN_PLUGIN_INSECURE=1"),
	   "message says why and how to override: %s", e.msg);
	setenv("COREN_PLUGIN_INSECURE", "1", 1);
	ok(!coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e), "COREN_PLUGIN_INSECURE=1 loads it");
	coren_plugin_free(p);
	unsetenv("COREN_PLUGIN_INSECURE");
	chmod(path, 0644);
	chmod(tmp, 0777);
	is_int(coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_UNSAFE,
	       "so is one in a world-writable directory");
	ok(strstr(e.msg, "world-writable directory") != NULL, "message: %s", e.msg);
	chmod(tmp, 01777);
	ok(!coren_plugin_open(path, COREN_PLUGIN_ANY, NULL, &p, &e),
	   "but not in a sticky one (/tmp): %s", e.msg);
	coren_plugin_free(p);
	unlink(path);
	rmdir(tmp);
}

int main(void)
{
	const char *dirs[] = {NULL, NULL};
	struct coren_plugin *p = NULL;
	struct coren_error e;
	char msg[64];

	dir = getenv("COREN_TEST_PLUGINS");
	if (!dir) {
		printf("1..0 # SKIP COREN_TEST_PLUGINS is not set (run through make check)\n");
		return 0;
	}
	is_int(open_test("good", COREN_PLUGIN_EXEC, &e, &p), COREN_OK, "good plugin loads");
	if (p) {
		const struct coren_exec_ops *ops = p->desc->ops;
		json_t *pt = json_pack("{s:i}", "x", 21), *v = NULL;

		is_str(p->desc->name, "good", "descriptor name");
		is_str(p->desc->version, "1.2.3", "descriptor version");
		is_int(p->desc->kind, COREN_PLUGIN_EXEC, "descriptor kind");
		ok(ops->struct_size >= sizeof *ops, "ops table size");
		ok(ops->exec(NULL, pt, &v, &e) == COREN_OK && json_integer_value(v) == 42, "exec runs");
		json_decref(pt);
		json_decref(v);
		coren_plugin_free(p);
	}
	coren_plugin_free(NULL);

	refused("abi_major", COREN_ERR_PLUGIN_ABI_MAJOR, "built for plugin ABI 2.0, this coren has ABI 1.2");
	snprintf(msg, sizeof msg, "ABI %d.%d, newer than this coren's ABI %d.%d",
		 COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR + 1,
		 COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR);
	refused("abi_minor", COREN_ERR_PLUGIN_ABI_MINOR, msg);
	refused("badkind", COREN_ERR_PLUGIN_KIND, "unknown plugin kind 99");
	refused("small", COREN_ERR_PLUGIN_DESC, "descriptor is 8 bytes");
	refused("noname", COREN_ERR_PLUGIN_DESC, "descriptor lacks a name");
	refused("nodesc", COREN_ERR_PLUGIN_DESC, "returned no descriptor");
	refused("nosym", COREN_ERR_PLUGIN_NOSYM, "has no symbol 'coren_plugin_describe'");
	refused("undef", COREN_ERR_PLUGIN_DLOPEN, "coren_no_such_function");
	refused("undef", COREN_ERR_PLUGIN_DLOPEN, "try 'ldd");

	is_int(open_test("backend", COREN_PLUGIN_EXEC, &e, &p), COREN_ERR_PLUGIN_KIND, "wrong kind refused");
	is_str(strstr(e.msg, "is a"), "is a backend plugin, not an exec plugin", "wrong kind message");
	is_int(open_test("backend", COREN_PLUGIN_ANY, &e, &p), COREN_OK, "any kind accepts a backend");
	coren_plugin_free(p);

	/* not a regular file: a directory */
	coren_error_clear(&e);
	is_int(coren_plugin_open(dir, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_NOTREG, "directory refused");
	ok(strstr(e.msg, "is not a regular file") != NULL, "not regular message");
	/* not a shared object at all */
	{
		char junk[] = "/tmp/coren-junk-XXXXXX";
		int fd = mkstemp(junk);
		if (write(fd, "not an ELF file\n", 16) != 16)
			perror("write");
		close(fd);
		coren_error_clear(&e);
		is_int(coren_plugin_open(junk, COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_PLUGIN_ELF, "junk file refused before dlopen");
		ok(strstr(e.msg, "is not a shared object of this machine") != NULL, "junk message: %s", e.msg);
		unlink(junk);
	}

	/* search: by name in --plugin-dir, then COREN_PLUGIN_PATH */
	dirs[0] = dir;
	coren_error_clear(&e);
	is_int(coren_plugin_open("good", COREN_PLUGIN_EXEC, dirs, &p, &e), COREN_OK, "found by name in a directory");
	coren_plugin_free(p);
	setenv("COREN_PLUGIN_PATH", "/nonexistent::", 1);
	{
		char env[4200];
		snprintf(env, sizeof env, "/nonexistent:%s", dir);
		setenv("COREN_PLUGIN_PATH", env, 1);
	}
	is_int(coren_plugin_open("good", COREN_PLUGIN_ANY, NULL, &p, &e), COREN_OK, "found through COREN_PLUGIN_PATH");
	coren_plugin_free(p);
	coren_error_clear(&e);
	is_int(coren_plugin_open("no_such_plugin", COREN_PLUGIN_ANY, dirs, &p, &e), COREN_ERR_NOTFOUND, "unknown name");
	ok(strstr(e.msg, "plugin 'no_such_plugin' not found (searched ") != NULL, "not found message");
	ok(strstr(e.msg, "/nonexistent") && strstr(e.msg, coren_plugin_dir()), "every directory searched is named");
	is_int(coren_plugin_open("", COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_USAGE, "empty name");
	coren_error_clear(&e);
	is_int(coren_plugin_open("/nonexistent/x.so", COREN_PLUGIN_ANY, NULL, &p, &e), COREN_ERR_NOTFOUND, "missing path");

	hostile();

	is_str(coren_plugin_kind_name(COREN_PLUGIN_KERNEL), "kernel", "kind name");
	is_str(coren_plugin_kind_name(77), "unknown", "unknown kind name");
	is_int(coren_plugin_kind_parse("workload"), COREN_PLUGIN_WORKLOAD, "kind parse");
	is_int(coren_plugin_kind_parse("nope"), COREN_PLUGIN_ANY, "kind parse failure");
	return done_testing();
}
