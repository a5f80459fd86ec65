/* plugin.c - the plugin loader (coren/plugin.h, coren-plugin(3)). */
#include "config.h"

#include <coren/buf.h>
#include <coren/plugin.h>
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef COREN_PLUGIN_DIR
#define COREN_PLUGIN_DIR "/usr/local/lib/coren/plugins"
#endif

/* The smallest descriptor the loader can read: ABI 1.0's fields. */
#define DESC_MIN_SIZE offsetof(struct coren_plugin_desc, ops) + sizeof(void *)

static const char *const kind_names[COREN_PLUGIN_KIND__COUNT] = {
	[COREN_PLUGIN_ANY] = "any",
	[COREN_PLUGIN_EXEC] = "exec",
	[COREN_PLUGIN_BACKEND] = "backend",
	[COREN_PLUGIN_KERNEL] = "kernel",
	[COREN_PLUGIN_WORKLOAD] = "workload",
};

const char *coren_plugin_kind_name(uint32_t kind)
{
	if (kind == COREN_PLUGIN_ANY || kind >= COREN_PLUGIN_KIND__COUNT)
		return "unknown";
	return kind_names[kind];
}

enum coren_plugin_kind coren_plugin_kind_parse(const char *name)
{
	int k;

	for (k = 1; k < COREN_PLUGIN_KIND__COUNT; k++)
		if (!strcmp(name, kind_names[k]))
			return (enum coren_plugin_kind)k;
	return COREN_PLUGIN_ANY;
}

const char *coren_plugin_dir(void)
{
	return COREN_PLUGIN_DIR;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Tries dir/NAME.so then dir/NAME; sets *found (malloc'd) on a hit. */
static enum coren_err try_dir(const char *dir, size_t dlen, const char *name,
			      char **found)
{
	static const char *const suffixes[] = {".so", ""};
	size_t i;

	for (i = 0; i < 2 && !*found; i++) {
		char *p;

		if (asprintf(&p, "%.*s/%s%s", (int)dlen, dir, name,
			     suffixes[i]) < 0)
			return COREN_ERR_NOMEM;
		if (exists(p))
			*found = p;
		else
			free(p);
	}
	return COREN_OK;
}

/* Searches the plugin path for name; the message lists where it looked. */
static enum coren_err search(const char *name, const char *const *dirs,
			     char **found, struct coren_error *err)
{
	const char *env = getenv("COREN_PLUGIN_PATH");
	struct coren_buf searched;
	enum coren_err rc = COREN_OK;
	const char *p, *colon;
	size_t i;

	*found = NULL;
	coren_buf_init(&searched, 64 * 1024);
	for (i = 0; dirs && dirs[i] && !*found && !rc; i++) {
		rc = try_dir(dirs[i], strlen(dirs[i]), name, found);
		coren_buf_printf(&searched, "%s%s", searched.len ? ", " : "",
				 dirs[i]);
	}
	for (p = env; p && *p && !*found && !rc; p = *colon ? colon + 1 : colon) {
		colon = strchr(p, ':');
		if (!colon)
			colon = p + strlen(p);
		if (colon == p)
			continue;
		rc = try_dir(p, (size_t)(colon - p), name, found);
		coren_buf_printf(&searched, "%s%.*s", searched.len ? ", " : "",
				 (int)(colon - p), p);
	}
	if (!*found && !rc) {
		rc = try_dir(COREN_PLUGIN_DIR, strlen(COREN_PLUGIN_DIR), name,
			     found);
		coren_buf_printf(&searched, "%s%s", searched.len ? ", " : "",
				 COREN_PLUGIN_DIR);
	}
	if (rc)
		coren_error_set(err, rc, "out of memory");
	else if (!*found)
		rc = coren_error_set(err, COREN_ERR_NOTFOUND,
				     "plugin '%s' not found (searched %s)", name,
				     searched.data ? searched.data : "nothing");
	coren_buf_release(&searched);
	return rc;
}

/* "n" before a vowel, so messages read "an exec plugin". */
static const char *article(const char *word)
{
	return strchr("aeiou", word[0]) ? "n" : "";
}

/* Checks the descriptor against this loader's ABI and the kind wanted. */
static enum coren_err check_desc(const char *path,
				 const struct coren_plugin_desc *d,
				 enum coren_plugin_kind want,
				 struct coren_error *err)
{
	if (!d)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "'%s': coren_plugin_describe() returned "
				       "no descriptor",
				       path);
	if (d->abi_major != COREN_PLUGIN_ABI_MAJOR)
		return coren_error_set(
			err, COREN_ERR_PLUGIN_ABI_MAJOR,
			"'%s' was built for plugin ABI %u.%u, this coren has "
			"ABI %u.%u: rebuild the plugin against this coren",
			path, d->abi_major, d->abi_minor,
			COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR);
	if (d->abi_minor > COREN_PLUGIN_ABI_MINOR)
		return coren_error_set(
			err, COREN_ERR_PLUGIN_ABI_MINOR,
			"'%s' was built for plugin ABI %u.%u, newer than this "
			"coren's ABI %u.%u: upgrade coren or rebuild the plugin",
			path, d->abi_major, d->abi_minor,
			COREN_PLUGIN_ABI_MAJOR, COREN_PLUGIN_ABI_MINOR);
	if (d->struct_size < DESC_MIN_SIZE)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "'%s': descriptor is %u bytes, smaller "
				       "than the %zu of ABI %u.0",
				       path, d->struct_size, DESC_MIN_SIZE,
				       COREN_PLUGIN_ABI_MAJOR);
	if (!d->name || !d->name[0] || !d->version || !d->ops)
		return coren_error_set(err, COREN_ERR_PLUGIN_DESC,
				       "'%s': descriptor lacks a %s", path,
				       !d->name || !d->name[0] ? "name"
				       : !d->version		? "version"
								: "operations table");
	if (d->kind == COREN_PLUGIN_ANY || d->kind >= COREN_PLUGIN_KIND__COUNT)
		return coren_error_set(err, COREN_ERR_PLUGIN_KIND,
				       "'%s' has unknown plugin kind %u", path,
				       d->kind);
	if (want != COREN_PLUGIN_ANY && d->kind != (uint32_t)want)
		return coren_error_set(err, COREN_ERR_PLUGIN_KIND,
				       "'%s' is a%s %s plugin, not a%s %s plugin",
				       path, article(coren_plugin_kind_name(d->kind)),
				       coren_plugin_kind_name(d->kind),
				       article(coren_plugin_kind_name(want)),
				       coren_plugin_kind_name(want));
	return COREN_OK;
}

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
#define ELF_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
#define ELF_CLASS ELFCLASS32
#endif

/* Whether the shared object at fd (size bytes) holds everything its
 * headers announce: dlopen() maps a truncated one and dies of SIGBUS. */
static enum coren_err check_elf(const char *path, int fd, uint64_t size,
				struct coren_error *err)
{
	ehdr_t eh;
	phdr_t ph;
	uint64_t end;

	if (size < sizeof eh || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELF_CLASS ||
	    eh.e_type != ET_DYN)
		return coren_error_set(err, COREN_ERR_PLUGIN_ELF,
				       "plugin '%s' is not a shared object of this machine", path);
	end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
	if (eh.e_phentsize != sizeof ph || end > size)
		return coren_error_set(err, COREN_ERR_PLUGIN_ELF,
				       "plugin '%s' is truncated: its program headers end at byte %llu, "
				       "the file has %llu",
				       path, (unsigned long long)end, (unsigned long long)size);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) !=
		    (ssize_t)sizeof ph)
			return coren_error_set(err, COREN_ERR_IO, "cannot read plugin '%s': %s", path,
					       strerror(errno));
		end = (uint64_t)ph.p_offset + ph.p_filesz;
		if (ph.p_type == PT_LOAD && end > size)
			return coren_error_set(err, COREN_ERR_PLUGIN_ELF,
					       "plugin '%s' is truncated: segment %u ends at byte %llu, "
					       "the file has %llu",
					       path, i, (unsigned long long)end,
					       (unsigned long long)size);
	}
	end = (uint64_t)eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
	if (eh.e_shoff && end > size)
		return coren_error_set(err, COREN_ERR_PLUGIN_ELF,
				       "plugin '%s' is truncated: its section headers end at byte %llu, "
				       "the file has %llu",
				       path, (unsigned long long)end, (unsigned long long)size);
	return COREN_OK;
}

/* Like ssh's StrictModes: code that anyone may rewrite is not loaded (a
 * world-writable file, or a directory where anyone may replace it: one
 * without the sticky bit), unless COREN_PLUGIN_INSECURE=1 says so. */
static enum coren_err check_modes(const char *path, const struct stat *st,
				  struct coren_error *err)
{
	const char *ok = getenv("COREN_PLUGIN_INSECURE");
	char *copy, *dir;
	struct stat ds;
	enum coren_err rc = COREN_OK;

	if (ok && !strcmp(ok, "1"))
		return COREN_OK;
	if (st->st_mode & S_IWOTH)
		return coren_error_set(err, COREN_ERR_PLUGIN_UNSAFE,
				       "plugin '%s' is world-writable: anyone could change the code "
				       "it runs (chmod o-w it, or set COREN_PLUGIN_INSECURE=1 to "
				       "load it anyway)",
				       path);
	if (!(copy = strdup(path)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	dir = dirname(copy);
	if (!stat(dir, &ds) && ds.st_mode & S_IWOTH && !(ds.st_mode & S_ISVTX))
		rc = coren_error_set(err, COREN_ERR_PLUGIN_UNSAFE,
				     "plugin '%s' is in world-writable directory '%s': anyone "
				     "could replace it (chmod o-w the directory, or set "
				     "COREN_PLUGIN_INSECURE=1 to load it anyway)",
				     path, dir);
	free(copy);
	return rc;
}

/* dlopen()s a regular file at path (which contains a '/'). */
static enum coren_err load(const char *path, void **handle,
			   struct coren_error *err)
{
	struct stat st;
	const char *msg;
	enum coren_err rc;
	int fd;

	if (stat(path, &st) < 0)
		return coren_error_set(err,
				       errno == ENOENT ? COREN_ERR_NOTFOUND
						       : COREN_ERR_IO,
				       "cannot open plugin '%s': %s", path,
				       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return coren_error_set(err, COREN_ERR_PLUGIN_NOTREG,
				       "plugin '%s' is not a regular file", path);
	if ((rc = check_modes(path, &st, err)))
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return coren_error_set(err, COREN_ERR_IO, "cannot open plugin '%s': %s", path,
				       strerror(errno));
	rc = check_elf(path, fd, (uint64_t)st.st_size, err);
	close(fd);
	if (rc)
		return rc;
	dlerror();
	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		msg = dlerror();
		return coren_error_set(err, COREN_ERR_PLUGIN_DLOPEN,
				       "cannot load plugin '%s': %s (try 'ldd "
				       "%s' for missing libraries)",
				       path, msg ? msg : "unknown error", path);
	}
	return COREN_OK;
}

enum coren_err coren_plugin_open(const char *spec, enum coren_plugin_kind kind,
				 const char *const *dirs,
				 struct coren_plugin **out,
				 struct coren_error *err)
{
	coren_plugin_describe_fn *describe;
	struct coren_plugin *p;
	enum coren_err rc;
	char *path = NULL;
	void *handle = NULL, *sym;

	*out = NULL;
	if (!spec || !*spec)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "empty plugin name");
	if (strchr(spec, '/'))
		path = strdup(spec);
	else if ((rc = search(spec, dirs, &path, err)))
		return rc;
	if (!path)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rc = load(path, &handle, err);
	if (!rc) {
		dlerror();
		sym = dlsym(handle, COREN_PLUGIN_SYMBOL);
		if (!sym)
			rc = coren_error_set(err, COREN_ERR_PLUGIN_NOSYM,
					     "'%s' has no symbol '%s': not a "
					     "coren plugin?",
					     path, COREN_PLUGIN_SYMBOL);
	}
	if (!rc) {
		*(void **)&describe = sym;
		rc = check_desc(path, describe(), kind, err);
	}
	if (!rc && !(p = calloc(1, sizeof *p)))
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	if (rc) {
		if (handle)
			dlclose(handle);
		free(path);
		return rc;
	}
	p->handle = handle;
	p->path = path;
	p->desc = describe();
	*out = p;
	return COREN_OK;
}

void coren_plugin_free(struct coren_plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	free(p->path);
	free(p);
}

/* Calls fn for each plugin of kind in dir (dlen bytes of it). */
static void list_dir(const char *dir, size_t dlen, enum coren_plugin_kind kind,
		     struct coren_buf *seen, coren_plugin_list_fn *fn, void *data)
{
	char *path;
	DIR *d;
	struct dirent *e;

	if (asprintf(&path, "%.*s", (int)dlen, dir) < 0)
		return;
	d = opendir(path);
	free(path);
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct coren_plugin *p;
		char key[300];

		if (n < 4 || strcmp(e->d_name + n - 3, ".so") ||
		    asprintf(&path, "%.*s/%s", (int)dlen, dir, e->d_name) < 0)
			continue;
		if (!coren_plugin_open(path, kind, NULL, &p, NULL)) {
			snprintf(key, sizeof key, "\n%u:%s\n", p->desc->kind, p->desc->name);
			if (!seen->data || !strstr(seen->data, key)) {
				coren_buf_append(seen, key, strlen(key));
				fn(p, data);
			}
			coren_plugin_free(p);
		}
		free(path);
	}
	if (d)
		closedir(d);
}

void coren_plugin_list(enum coren_plugin_kind kind, const char *const *dirs,
		       coren_plugin_list_fn *fn, void *data)
{
	const char *env = getenv("COREN_PLUGIN_PATH"), *p, *colon;
	struct coren_buf seen;

	coren_buf_init(&seen, 0);
	for (size_t i = 0; dirs && dirs[i]; i++)
		list_dir(dirs[i], strlen(dirs[i]), kind, &seen, fn, data);
	for (p = env; p && *p; p = *colon ? colon + 1 : colon) {
		colon = strchr(p, ':');
		if (!colon)
			colon = p + strlen(p);
		if (colon > p)
			list_dir(p, (size_t)(colon - p), kind, &seen, fn, data);
	}
	list_dir(COREN_PLUGIN_DIR, strlen(COREN_PLUGIN_DIR), kind, &seen, fn, data);
	coren_buf_release(&seen);
}
