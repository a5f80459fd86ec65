/* Replays a fuzz corpus through a harness without libFuzzer, as a TAP test:
 * one test point per file. Arguments override the corpus directory. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : CORPUS_DIR;
	char *names[4096], path[4096];
	struct dirent *de;
	size_t n = 0, i;
	DIR *d = opendir(dir);

	if (!d) {
		printf("1..0 # SKIP no corpus at %s\n", dir);
		return 0;
	}
	while ((de = readdir(d)) && n < 4096)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		FILE *f;
		uint8_t *buf;
		long len;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		f = fopen(path, "rb");
		if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0) {
			printf("not ok %zu - %s: cannot read\n", i + 1, names[i]);
			continue;
		}
		rewind(f);
		buf = malloc((size_t)len + 1);
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			printf("not ok %zu - %s: short read\n", i + 1, names[i]);
		} else {
			/* a crash or sanitizer report fails the whole run */
			LLVMFuzzerTestOneInput(buf, (size_t)len);
			printf("ok %zu - %s\n", i + 1, names[i]);
		}
		free(buf);
		fclose(f);
		free(names[i]);
	}
	return 0;
}
