/* calib.c - what a function's points really cost on this machine, so that
 * the fetch-or-compute verdict prices t_compute from measurement rather
 * than from peak FLOP/s (an upper bound that scalar, branchy code reaches
 * a small fraction of).
 *
 * Per function identity (fn, as in chunk ids), <cache>/calib/<sha256 of
 * canonical fn>.json holds one record: the seconds its points took here
 * (workers' wall time), how many points, the slowest job's seconds per
 * point, and the FnCost work of those points (flops, mem_bytes; 0 for a
 * function without a cost). The model prices that work on one worker's
 * share of the machine (memo_model_seconds()) until CALIB_MIN points were
 * measured; from then on a chunk takes the measured seconds times its
 * share of the measured work (memo_calib_estimate()), which no longer
 * depends on the probe's peak figures. Without a cost, seconds per point
 * price a chunk.
 * A bounded store (one small file per function, counts halved past
 * CALIB_CAP so old runs fade) and only a prioritisation signal: never
 * needed for a correct result, so a missing, garbled or concurrent-written
 * file only costs accuracy. Main thread. */
#include "config.h"

#include "memo_int.h"

#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_MIN 8	     /* points measured before the ratio is used */
#define CALIB_CAP 1000000.0  /* points beyond which old figures are halved */
#define CALIB_FILE_MAX 65536 /* bytes of a record read */

double memo_model_seconds(const struct coren_cost *c, const struct coren_cap *cap)
{
	/* a point runs on one worker: one core's share of the machine */
	unsigned cores = cap->cores ? cap->cores : 1;
	double flops = cap->flops_core > 0 ? cap->flops_core
					   : cap->flops / cores;
	double bw = cap->mem_bw / cores;
	double tw = flops > 0 ? (double)c->flops / flops : 0;
	double tq = bw > 0 ? (double)c->mem_bytes / bw : 0;

	return tw > tq ? tw : tq;
}

static char *calib_path(const char *cache, const json_t *fn, bool dir)
{
	struct coren_buf t;
	char hex[65], *p = NULL;

	coren_buf_init(&t, 0);
	if (!coren_json_canonical(fn ? fn : json_null(), &t) &&
	    !coren_sha256_hex(t.data, t.len, hex) &&
	    asprintf(&p, dir ? "%s/calib" : "%s/calib/%s.json", cache, hex) < 0)
		p = NULL;
	coren_buf_release(&t);
	return p;
}

void memo_calib_load(const char *cache, const json_t *fn,
		     struct memo_calib *c)
{
	char *path = calib_path(cache, fn, false), *data = NULL;
	size_t len;
	json_t *j = NULL;

	memset(c, 0, sizeof *c);
	if (path && !coren_file_read_regular(path, CALIB_FILE_MAX, false, &data,
					     &len, NULL))
		j = coren_json_parse(data, len, NULL);
	if (j && json_equal(json_object_get(j, "fn"), fn ? fn : json_null())) {
		c->seconds = json_number_value(json_object_get(j, "seconds"));
		c->points = json_number_value(json_object_get(j, "points"));
		c->flops = json_number_value(json_object_get(j, "flops"));
		c->mem_bytes = json_number_value(json_object_get(j, "mem_bytes"));
		c->max_point =
			json_number_value(json_object_get(j, "max_point_seconds"));
		if (!(c->seconds >= 0 && c->points >= 0 && c->flops >= 0 &&
		      c->mem_bytes >= 0 && c->max_point >= 0 &&
		      isfinite(c->seconds + c->points + c->flops +
			       c->mem_bytes + c->max_point)))
			memset(c, 0, sizeof *c); /* not ours to trust */
	}
	json_decref(j);
	free(data);
	free(path);
}

void memo_calib_save(const char *cache, const json_t *fn,
		     const struct memo_calib *run)
{
	struct memo_calib c;
	char *dir = calib_path(cache, fn, true), *path = calib_path(cache, fn, false);
	struct coren_buf b;
	json_t *j;

	coren_buf_init(&b, 0);
	memo_calib_load(cache, fn, &c);
	if (c.points + run->points > CALIB_CAP) { /* old runs fade */
		c.seconds /= 2;
		c.points /= 2;
		c.flops /= 2;
		c.mem_bytes /= 2;
	}
	memo_calib_add(&c, run);
	j = json_pack("{s:s,s:O,s:f,s:f,s:f,s:f,s:f}", "type", "calib", "fn",
		      fn ? fn : json_null(), "seconds", c.seconds, "points",
		      c.points, "flops", c.flops, "mem_bytes", c.mem_bytes,
		      "max_point_seconds", c.max_point);
	if (dir && path && j && !coren_mkdir_p(dir, 0777, NULL) &&
	    !coren_json_dumpb(j, COREN_JSON_SORT_KEYS, &b) &&
	    !coren_buf_putc(&b, '\n'))
		(void)coren_file_replace(path, b.data, b.len, 0666, NULL);
	json_decref(j);
	coren_buf_release(&b);
	free(dir);
	free(path);
}

void memo_calib_add(struct memo_calib *to, const struct memo_calib *c)
{
	to->seconds += c->seconds;
	to->points += c->points;
	to->flops += c->flops;
	to->mem_bytes += c->mem_bytes;
	to->max_point = to->max_point > c->max_point ? to->max_point
						     : c->max_point;
}

bool memo_calib_estimate(const struct memo_calib *c,
			 const struct coren_cost *cost, uint64_t npoints,
			 double *seconds)
{
	double share = 0;

	if (c->points < CALIB_MIN || c->seconds <= 0)
		return false;
	/* the chunk's work as a share of the work measured: its flops or
	 * its memory traffic, whichever is the larger share (the model's
	 * max(W / flops, Q / mem_bw) with the machine's rates measured) */
	if (cost && c->flops > 0)
		share = (double)cost->flops / c->flops;
	if (cost && c->mem_bytes > 0 &&
	    (double)cost->mem_bytes / c->mem_bytes > share)
		share = (double)cost->mem_bytes / c->mem_bytes;
	if (!cost || (c->flops <= 0 && c->mem_bytes <= 0))
		share = (double)npoints / c->points; /* no work: per point */
	*seconds = c->seconds * share;
	return isfinite(*seconds) && *seconds >= 0; /* else the model */
}
