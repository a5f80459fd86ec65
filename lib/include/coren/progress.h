/* coren/progress.h - a progress line on a terminal (rate, ETA).
 *
 * The bar draws only when its stream is a terminal (or when forced), at
 * most ten times a second; otherwise every call is a no-op, so tools can
 * update it unconditionally. The caller chooses the stream (stderr).
 */
#ifndef COREN_PROGRESS_H
#define COREN_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct coren_progress;

/* A bar for total units (0: unknown total, no ETA) named unit ("chunks"),
 * drawn on out if it is a terminal or force is true. NULL on ENOMEM. */
struct coren_progress *coren_progress_new(FILE *out, const char *label,
					  uint64_t total, const char *unit,
					  bool force);

/* Changes the total (an estimate that improves as the work goes on). */
void coren_progress_set_total(struct coren_progress *p, uint64_t total);

/* Sets the units done so far; redraws if due. */
void coren_progress_update(struct coren_progress *p, uint64_t done);

/* A second count shown after the first ("3/6 chunks"), of total units
 * named unit; its progress is set by coren_progress_update2(). */
void coren_progress_set_sub(struct coren_progress *p, uint64_t total,
			    const char *unit);

/* Sets both counts; redraws if due (the rate and ETA are the first's). */
void coren_progress_update2(struct coren_progress *p, uint64_t done,
			    uint64_t sub_done);

/* Erases the line if it is drawn ("\r" and erase to the end of line), so
 * that something else can be written on the same terminal; the next
 * update draws it again (if due). */
void coren_progress_clear(struct coren_progress *p);

/* Draws the final state and ends the line (if the bar is shown). */
void coren_progress_finish(struct coren_progress *p);

/* Frees the bar (accepts NULL); does not draw. */
void coren_progress_free(struct coren_progress *p);

/* Renders the line for done units after elapsed seconds into buf:
 * "label [#####.....]  50% 500/1000 chunks 1.2k/s ETA 0:07", with the
 * second count after the first when there is one: "... 500/1000 points
 * 5/10 chunks 1.2k/s ETA 0:07". The rate is done / elapsed; the ETA the
 * units left at that rate. The percentage is rounded down: 100% only
 * when done reaches the total. */
void coren_progress_render(const struct coren_progress *p, uint64_t done,
			   double elapsed, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
