/* progress.c - a progress line on a terminal (coren/progress.h). */
#include "config.h"

#include <coren/progress.h>
#include <coren/table.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1

struct coren_progress {
	FILE *out;
	char *label;
	char *unit;
	uint64_t total;
	uint64_t done;
	char *sub_unit; /* NULL: no second count */
	uint64_t sub_total, sub_done;
	bool drawn; /* a line is on the stream, not yet ended or erased */
	double start;
	double last_draw;
	bool shown;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct coren_progress *coren_progress_new(FILE *out, const char *label,
					  uint64_t total, const char *unit,
					  bool force)
{
	struct coren_progress *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->label = strdup(label ? label : "");
	p->unit = strdup(unit ? unit : "");
	if (!p->label || !p->unit) {
		coren_progress_free(p);
		return NULL;
	}
	p->out = out;
	p->total = total;
	p->shown = force || (out && isatty(fileno(out)) == 1);
	p->start = now();
	p->last_draw = -1;
	return p;
}

void coren_progress_render(const struct coren_progress *p, uint64_t done,
			   double elapsed, char *buf, size_t n)
{
	char rate[32], eta[32] = "", bar[BAR_WIDTH + 3];
	double r = elapsed > 0 ? (double)done / elapsed : 0;
	size_t fill, i;

	char sub[96] = "";

	coren_format_unit(r, COREN_UNIT_COUNT, rate, sizeof rate);
	if (p->sub_unit)
		snprintf(sub, sizeof sub, " %" PRIu64 "/%" PRIu64 " %s",
			 p->sub_done, p->sub_total, p->sub_unit);
	if (p->total) {
		uint64_t d = done > p->total ? p->total : done;

		fill = (size_t)((double)d / (double)p->total * BAR_WIDTH);
		bar[0] = '[';
		for (i = 0; i < BAR_WIDTH; i++)
			bar[i + 1] = i < fill ? '#' : '.';
		bar[BAR_WIDTH + 1] = ']';
		bar[BAR_WIDTH + 2] = '\0';
		if (r > 0 && d < p->total) {
			uint64_t s = (uint64_t)((double)(p->total - d) / r + 0.5);

			snprintf(eta, sizeof eta, " ETA %" PRIu64 ":%02u",
				 s / 60, (unsigned)(s % 60));
		}
		snprintf(buf, n, "%s%s%s %3u%% %" PRIu64 "/%" PRIu64
				       " %s%s %s/s%s",
			       p->label, *p->label ? " " : "", bar,
			       (unsigned)(d * 100 / p->total),
			       done, p->total, p->unit, sub, rate, eta);
	} else {
		snprintf(buf, n, "%s%s%" PRIu64 " %s%s %s/s", p->label,
			       *p->label ? " " : "", done, p->unit, sub, rate);
	}
}

static void draw(struct coren_progress *p, double t)
{
	char line[256];

	coren_progress_render(p, p->done, t - p->start, line, sizeof line);
	fprintf(p->out, "\r%s\033[K", line);
	fflush(p->out);
	p->last_draw = t;
	p->drawn = true;
}

void coren_progress_set_sub(struct coren_progress *p, uint64_t total,
			    const char *unit)
{
	char *u;

	if (!p || !(u = strdup(unit ? unit : "")))
		return;
	free(p->sub_unit);
	p->sub_unit = u;
	p->sub_total = total;
}

void coren_progress_update2(struct coren_progress *p, uint64_t done,
			    uint64_t sub_done)
{
	if (!p)
		return;
	p->sub_done = sub_done;
	coren_progress_update(p, done);
}

void coren_progress_clear(struct coren_progress *p)
{
	if (!p || !p->shown || !p->drawn)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->drawn = false;
}

void coren_progress_update(struct coren_progress *p, uint64_t done)
{
	double t;

	if (!p)
		return;
	p->done = done;
	if (!p->shown)
		return;
	t = now();
	if (p->last_draw < 0 || t - p->last_draw >= REDRAW_SECONDS)
		draw(p, t);
}

void coren_progress_finish(struct coren_progress *p)
{
	if (!p || !p->shown)
		return;
	draw(p, now());
	fputc('\n', p->out);
	fflush(p->out);
	p->drawn = false;
}

void coren_progress_free(struct coren_progress *p)
{
	if (!p)
		return;
	free(p->label);
	free(p->unit);
	free(p->sub_unit);
	free(p);
}

void coren_progress_set_total(struct coren_progress *p, uint64_t total)
{
	if (p)
		p->total = total;
}
