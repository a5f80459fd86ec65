/* optdump.c - an LD_PRELOAD shim for tests/docs.bats: the long options a
 * program really accepts, read from the tables it hands to getopt_long(3),
 * so that the documentation check does not trust --help or the sources.
 * Appends "NAME HAS_ARG" per long option, and "-OPTSTRING", to the file
 * named by $COREN_OPTDUMP once per table, then lets glibc parse. Only the
 * program $COREN_OPTDUMP_PROG (or libtool's lt-PROG) dumps: the wrapper
 * script's sed and friends call getopt_long too. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int getopt_long_fn(int, char *const *, const char *,
			   const struct option *, int *);

static void dump(const char *optstring, const struct option *longopts)
{
	static const struct option *seen[16];
	static size_t nseen;
	const char *path = getenv("COREN_OPTDUMP");
	const char *prog = getenv("COREN_OPTDUMP_PROG");
	const char *me = program_invocation_short_name;
	FILE *f;
	size_t i;

	if (!prog || (strcmp(me, prog) &&
		      (strncmp(me, "lt-", 3) || strcmp(me + 3, prog))))
		return;
	for (i = 0; i < nseen; i++)
		if (seen[i] == longopts)
			return;
	if (nseen < sizeof seen / sizeof *seen)
		seen[nseen++] = longopts;
	if (!path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "-%s\n", optstring);
	for (; longopts && longopts->name; longopts++)
		fprintf(f, "%s %d\n", longopts->name, longopts->has_arg);
	fclose(f);
}

int getopt_long(int argc, char *const argv[], const char *optstring,
		const struct option *longopts, int *longindex)
{
	static getopt_long_fn *real;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getopt_long");
	dump(optstring, longopts);
	return real(argc, argv, optstring, longopts, longindex);
}
