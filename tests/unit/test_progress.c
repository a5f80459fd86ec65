#include "tap.h"
#include <coren/progress.h>
#include <stdlib.h>
#include <string.h>

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

	/* points and chunks: the rate and ETA from the points */
	p = coren_progress_new(NULL, "swarm-run", 12, "points", false);
	coren_progress_set_sub(p, 6, "chunks");
	coren_progress_render(p, 0, 0.0, line, sizeof line);
	is_str(line, "swarm-run [........................]   0% 0/12 points 0/6 chunks 0/s", "points and chunks: from the start, at 0%%");
	coren_progress_update2(p, 4, 2);
	coren_progress_render(p, 4, 1.0, line, sizeof line);
	is_str(line, "swarm-run [########................]  33% 4/12 points 2/6 chunks 4/s ETA 0:02", "rate = done / elapsed, ETA = left / rate");
	coren_progress_update2(p, 11, 5);
	coren_progress_render(p, 11, 2.0, line, sizeof line);
	is_str(line, "swarm-run [######################..]  91% 11/12 points 5/6 chunks 5.5/s ETA 0:00", "rounded down: not 100%% before the end");
	coren_progress_update2(p, 12, 6);
	coren_progress_render(p, 12, 3.0, line, sizeof line);
	is_str(line, "swarm-run [########################] 100% 12/12 points 6/6 chunks 4/s", "100%% at the total, no ETA");
	coren_progress_free(p);

	/* clear: erases the drawn line, once; the next update draws again */
	buf = NULL;
	out = open_memstream(&buf, &n);
	p = coren_progress_new(out, "x", 10, "u", true);
	coren_progress_clear(p); /* nothing drawn yet: nothing to erase */
	fflush(out);
	is_int((int)n, 0, "clear before any drawing writes nothing");
	coren_progress_update(p, 3);
	coren_progress_clear(p);
	coren_progress_clear(p); /* already erased */
	fflush(out);
	ok(n > 6 && !strcmp(buf + n - 4, "\r\033[K") &&
		   strstr(buf, "3/10 u") != NULL &&
		   strstr(buf, "\033[K\r\033[K\r") == NULL,
	   "clear erases the line once: \\r, erase to the end of the line");
	coren_progress_finish(p);
	coren_progress_clear(p); /* the line was ended: nothing to erase */
	coren_progress_free(p);
	fclose(out);
	ok(buf[n - 1] == '\n', "after finish, clear leaves the ended line alone");
	free(buf);
	coren_progress_update(NULL, 1);
	coren_progress_update2(NULL, 1, 1);
	coren_progress_set_sub(NULL, 1, "u");
	coren_progress_clear(NULL);
	coren_progress_free(NULL);
	return done_testing();
}
