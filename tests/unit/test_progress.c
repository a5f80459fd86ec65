#include "tap.h"
#include <coren/progress.h>
#include <stdlib.h>

int main(void)
{
	struct coren_progress *p;
	char line[256], *buf = NULL;
	size_t n = 0;
	FILE *out;

	p = coren_progress_new(NULL, "sweep", 1000, "chunks", false);
	coren_progress_render(p, 500, 2.0, line, sizeof line);
	is_str(line, "sweep [############............]  50% 500/1000 chunks 250/s ETA 0:02", "half way: rate and ETA");
	coren_progress_render(p, 1000, 4.0, line, sizeof line);
	is_str(line, "sweep [########################] 100% 1000/1000 chunks 250/s", "done: no ETA");
	coren_progress_render(p, 0, 0.0, line, sizeof line);
	is_str(line, "sweep [........................]   0% 0/1000 chunks 0/s", "start: no rate yet");
	coren_progress_render(p, 10, 1.0, line, sizeof line);
	is_str(line, "sweep [........................]   1% 10/1000 chunks 10/s ETA 1:39", "ETA in minutes");
	coren_progress_free(p);

	p = coren_progress_new(NULL, "", 0, "points", false);
	coren_progress_render(p, 1500000, 1.0, line, sizeof line);
	is_str(line, "1500000 points 1.5M/s", "unknown total: count and rate");
	coren_progress_free(p);

	out = open_memstream(&buf, &n);
	p = coren_progress_new(out, "x", 10, "u", false);
	coren_progress_update(p, 5);
	coren_progress_finish(p);
	coren_progress_free(p);
	fclose(out);
	is_int((int)n, 0, "silent when the stream is not a terminal");
	free(buf);

	buf = NULL;
	out = open_memstream(&buf, &n);
	p = coren_progress_new(out, "x", 10, "u", true);
	coren_progress_update(p, 5);
	coren_progress_update(p, 10); /* within 0.1 s: not redrawn */
	coren_progress_finish(p);
	coren_progress_free(p);
	fclose(out);
	ok(n > 0 && buf[0] == '\r' && buf[n - 1] == '\n', "forced: draws with \\r and ends the line");
	ok(strstr(buf, "10/10 u") != NULL, "finish draws the last update, even one skipped by the rate limit");
	free(buf);
	coren_progress_update(NULL, 1);
	coren_progress_free(NULL);
	return done_testing();
}
