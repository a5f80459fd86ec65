/* libFuzzer harness: the chunk reader (coren-chunk(5)) on any bytes, as
 * from a remote tier: the header alone (coren_chunk_peek, on the whole
 * input and on a prefix, as a range request gives it) and the whole file.
 * A chunk it accepts must hold one line per point, have a header peek
 * accepts, and re-encode to a chunk it accepts again.
 *
 * Then the path from bytes to emitted records: the input is put in a cache
 * as chunk 0 of a fixed two-axis grid and swarm-run's executor runs the
 * grid (noop, which computes what it rejects). Whatever the bytes, the
 * output must be exactly one result line per grid point, in grid order,
 * each naming its point: no line that was not computed for that point, no
 * read or write out of bounds (ASan), no hang. */
#include <coren/memo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef NOOP_PLUGIN
#define NOOP_PLUGIN "noop"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void codec(const uint8_t *data, size_t size)
{
	struct coren_chunk_header h, h2;
	struct coren_error err = {0};
	struct coren_buf b;
	char *content, *c2;
	size_t len, len2;
	bool peeked = !coren_chunk_peek(data, size, NULL, &h, &err);

	if (peeked)
		coren_chunk_header_release(&h);
	if (!coren_chunk_peek(data, size / 2, NULL, &h, &err))
		coren_chunk_header_release(&h);
	if (coren_chunk_decode(data, size, NULL, 1 << 20, &h, &content, &len,
			       &err))
		return;
	if (!peeked)
		abort(); /* a whole chunk has a valid header */
	coren_buf_init(&b, 0);
	if (coren_chunk_encode(&h, content, len, 1, &b, &err) ||
	    coren_chunk_decode(b.data, b.len, h.id, 1 << 20, &h2, &c2, &len2,
			       &err))
		abort(); /* what was accepted must round-trip */
	if (len2 != len || memcmp(c2, content, len))
		abort();
	coren_chunk_header_release(&h2);
	free(c2);
	coren_buf_release(&b);
	coren_chunk_header_release(&h);
	free(content);
}

/* The grid x=1..3 (bins of 2) by y=a,b (one bin), named "fuzz": chunk 0
 * holds x=1,2. Set up once. */
static struct coren_memo_exp exp_;
static struct coren_memo_plan *plan;
static struct coren_memo_exec *noop;
static char chunk0[4096];

static void setup(void)
{
	static char dir[] = "/tmp/fuzz_chunk.XXXXXX";
	const char *args[] = {"x=1..3", "y=a,b", "x=2", "y=2"};
	struct coren_error err = {0};
	size_t bins[2] = {0, 0};
	char id[65], *path;

	coren_memo_exp_init(&exp_);
	if (!mkdtemp(dir) || coren_memo_exp_split(&exp_, args[0], &err) ||
	    coren_memo_exp_split(&exp_, args[1], &err) ||
	    coren_memo_exp_memo_chunk(&exp_, args[2], &err) ||
	    coren_memo_exp_memo_chunk(&exp_, args[3], &err))
		abort();
	exp_.cache = strdup(dir);
	exp_.fn_id = strdup("fuzz");
	if (coren_memo_exp_finish(&exp_, &err) ||
	    coren_memo_exp_identify(&exp_, NULL, &err) ||
	    coren_memo_plan_new(&exp_, &plan, &err) ||
	    coren_memo_exec_plugin(getenv("COREN_FUZZ_NOOP") ? getenv("COREN_FUZZ_NOOP")
							  : NOOP_PLUGIN,
				   NULL, &noop, &err) ||
	    coren_memo_plan_chunk_id(plan, bins, NULL, id)) {
		fprintf(stderr, "fuzz_chunk: set-up failed: %s\n", err.msg);
		abort();
	}
	path = coren_chunk_path(dir, id);
	snprintf(chunk0, sizeof chunk0, "%s", path);
	*strrchr(path, '/') = '\0';
	mkdir(path, 0777);
	free(path);
}

/* Whether out is the grid's six results in order, then a diag. */
static bool exact(const char *out)
{
	static const char *const pts[] = {
		"{\"x\":1,\"y\":\"a\"}", "{\"x\":1,\"y\":\"b\"}",
		"{\"x\":2,\"y\":\"a\"}", "{\"x\":2,\"y\":\"b\"}",
		"{\"x\":3,\"y\":\"a\"}", "{\"x\":3,\"y\":\"b\"}"};
	const char *p = out;

	for (size_t i = 0; i < 6; i++) {
		const char *nl = strchr(p, '\n');
		char want[96];
		size_t n = (size_t)snprintf(want, sizeof want,
					    "{\"type\":\"result\",\"point\":%s,"
					    "\"value\":",
					    pts[i]);

		if (!nl || strncmp(p, want, n) || nl[-1] != '}')
			return false;
		p = nl + 1;
	}
	return *p == '\0';
}

static void run(const uint8_t *data, size_t size)
{
	struct coren_memo_run_opts o = {0};
	struct coren_memo_stats st;
	struct coren_error err = {0};
	char *out = NULL;
	size_t len = 0;
	FILE *f = fopen(chunk0, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	f = open_memstream(&out, &len);
	o.out = f;
	o.workers = 1;
	if (coren_memo_run(plan, noop, &o, &st, &err)) {
		fprintf(stderr, "fuzz_chunk: run failed: %s\n", err.msg);
		abort();
	}
	fclose(f);
	if (!exact(out)) {
		fprintf(stderr, "fuzz_chunk: output is not the grid's:\n%s", out);
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!plan)
		setup();
	codec(data, size);
	run(data, size);
	return 0;
}
