#include "tap.h"
#include <coren/cap.h>
#include <coren/file.h>
#include <coren/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/coren-test-cap-XXXXXX";

static enum coren_probe_source get(struct coren_probe_options *o, struct coren_cap *c)
{
	struct coren_error e = {0};
	enum coren_probe_source src = 99;

	if (coren_cap_get(o, c, &src, &e))
		printf("#   error: %s\n", e.msg);
	return src;
}

/* A child that spins on another CPU is seen as other load; and the record
 * carries what was seen.  The window opens only once the child is spinning,
 * and the child spins (by the monotonic clock, not time()'s whole seconds,
 * which may end a moment after they start) well past it. */
static void watch(void)
{
	struct coren_probe_watch w;
	struct timespec nap = {0, 300000000L};
	double others, steal;
	struct coren_cap c = {0};
	json_t *rec;
	int ready[2];
	char b = 0;
	pid_t pid;

	if (pipe(ready))
		abort();
	if ((pid = fork()) == 0) {
		struct timespec t0, t;
		volatile unsigned long n = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		do { /* 5 s at most; killed long before */
			n++;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec < t0.tv_sec + 5);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &b, 1) != 1)
		abort();
	close(ready[0]);
	coren_probe_watch_start(&w);
	nanosleep(&nap, NULL);
	coren_probe_watch_stop(&w, &others, &steal);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!ok(others > 0.5, "a busy child is other load"))
		printf("#   %.2f cores\n", others);
	ok(steal >= 0 && steal <= 1, "steal is a fraction");
	snprintf(c.quality, sizeof c.quality, "disturbed");
	c.others = 1.5;
	c.spread = 0.2;
	c.attempts = 2;
	rec = coren_cap_to_record(&c);
	ok(rec && !strcmp(json_string_value(json_object_get(rec, "quality")), "disturbed") &&
		   json_real_value(json_object_get(rec, "other_load")) == 1.5 &&
		   json_integer_value(json_object_get(rec, "attempts")) == 2,
	   "the cap record carries the quality");
	json_decref(rec);
}

int main(void)
{
	struct coren_probe_options o = {0};
	struct coren_error e = {0};
	struct coren_cap c, d;
	char fp[17], fp2[17], path[256], *data, *s;
	const char *simd;
	size_t len;
	json_t *rec;

	if (!mkdtemp(dir))
		return 1;

	/* record round trip */
	memset(&c, 0, sizeof c);
	strcpy(c.host, "h");
	c.flops = 2e11;
	c.mem_bw = 5e10;
	c.ram_total = UINT64_MAX;
	c.ram_avail = 123;
	c.disk_write_bw = 1e9;
	c.disk_read_bw = 2e9;
	c.net_bw = 0;
	c.net_latency = 0.01;
	c.cores = 4;
	strcpy(c.class_, "server");
	rec = coren_cap_to_record(&c);
	ok(json_is_null(json_object_get(rec, "net_bw")), "offline: net_bw is null");
	ok(json_is_array(json_object_get(rec, "gpus")), "gpus is an array");
	is_int(coren_cap_from_json(rec, &d, &e), COREN_OK, "cap record reads back");
	ok(d.flops == 2e11 && d.mem_bw == 5e10 && d.ram_total == UINT64_MAX && d.ram_avail == 123 &&
	   d.cores == 4 && !coren_cap_online(&d) && !strcmp(d.class_, "server"), "fields survive");
	coren_cap_release(&d);
	json_object_set_new(rec, "mem_bw", json_integer(0));
	is_int(coren_cap_from_json(rec, &d, &e), COREN_ERR_RECORD, "zero bandwidth refused");
	is_str(e.msg, "field 'mem_bw' must be positive", "positive message");
	json_object_del(rec, "net_bw");
	json_object_set_new(rec, "mem_bw", json_integer(1));
	is_int(coren_cap_from_json(rec, &d, &e), COREN_ERR_RECORD, "net_bw is required (null when offline)");
	json_decref(rec);

	/* cache directory precedence */
	setenv("COREN_CACHE_DIR", "/a", 1);
	setenv("XDG_CACHE_HOME", "/b", 1);
	is_str(s = coren_cap_cache_dir(), "/a", "COREN_CACHE_DIR first");
	free(s);
	unsetenv("COREN_CACHE_DIR");
	is_str(s = coren_cap_cache_dir(), "/b/coren", "then XDG_CACHE_HOME/coren");
	free(s);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/h", 1);
	is_str(s = coren_cap_cache_dir(), "/h/.cache/coren", "then ~/.cache/coren");
	free(s);

	is_int(coren_cap_fingerprint(fp, &e), COREN_OK, "fingerprint");
	coren_cap_fingerprint(fp2, &e);
	ok(strlen(fp) == 16 && !strcmp(fp, fp2), "fingerprint is 16 hex digits and stable");

	/* the pieces measure something */
	{
		double fl = coren_probe_flops(1, 0.005, &simd); /* sets simd first */

		ok(fl > 1e8, "FMA loop measures FLOP/s (%s)", simd);
	}
	ok(coren_probe_triad(1, 4 << 20, 1) > 1e8, "triad measures bytes/s");
	{
		double r = 0, w = 0;
		is_int(coren_probe_disk(dir, 1 << 20, &r, &w, &e), COREN_OK, "disk probe");
		ok(r > 0 && w > 0, "disk figures");
		is_int(coren_probe_disk("/nonexistent", 1 << 20, &r, &w, &e), COREN_ERR_IO, "disk probe in a missing directory");
	}

	/* the cache */
	o.cache_dir = dir;
	o.quick = true;
	o.force = true; /* beside builds, the measurement is disturbed */
	is_int(get(&o, &c), COREN_PROBE_MEASURED, "first probe measures");
	ok(c.flops > 0 && c.mem_bw > 0 && c.ram_total > 0 && c.cores >= 1, "measured figures");
	ok(!strcmp(c.fingerprint, fp), "measured fingerprint is the host's");
	coren_cap_release(&c);
	is_int(get(&o, &c), COREN_PROBE_CACHED, "second probe reads the cache");
	coren_cap_release(&c);
	o.refresh = true;
	is_int(get(&o, &c), COREN_PROBE_MEASURED, "--refresh measures");
	coren_cap_release(&c);
	o.refresh = false;

	snprintf(path, sizeof path, "%s/cap-%s.json", dir, fp);
	coren_file_read(path, 1 << 20, &data, &len, &e);
	rec = json_loads(data, 0, NULL);
	free(data);
	json_object_set_new(rec, "measured_at", json_string("2000-01-01T00:00:00Z"));
	json_object_set_new(rec, "flops", json_real(12345.0));
	s = coren_json_dumps(rec, 0);
	coren_file_replace(path, s, strlen(s), 0644, &e);
	free(s);
	o.max_age = 0;
	is_int(get(&o, &c), COREN_PROBE_CACHED, "no max age: an old cache is used");
	ok(c.flops == 12345.0, "the cached figure is used as is");
	coren_cap_release(&c);
	o.max_age = 3600;
	is_int(get(&o, &c), COREN_PROBE_MEASURED, "older than max age: measured again");
	coren_cap_release(&c);

	json_object_set_new(rec, "measured_at", json_string("2099-01-01T00:00:00Z"));
	json_object_set_new(rec, "fingerprint", json_string("0000000000000000"));
	s = coren_json_dumps(rec, 0);
	coren_file_replace(path, s, strlen(s), 0644, &e);
	free(s);
	json_decref(rec);
	is_int(get(&o, &c), COREN_PROBE_MEASURED, "another host's fingerprint: measured again");
	coren_cap_release(&c);

	coren_file_replace(path, "{\"type\":\"cap\",", 14, 0644, &e);
	is_int(get(&o, &c), COREN_PROBE_MEASURED, "a damaged cache is measured again");
	coren_cap_release(&c);
	is_int(get(&o, &c), COREN_PROBE_CACHED, "and replaced by a good one");
	coren_cap_release(&c);

	{
		struct coren_cap_override w = COREN_CAP_OVERRIDE_NONE;
		double bw;

		get(&o, &c);
		bw = c.net_bw;
		coren_cap_override(&c, &w);
		ok(c.net_bw == bw, "no override changes nothing");
		w.offline = true;
		coren_cap_override(&c, &w);
		ok(!coren_cap_online(&c) && !c.net_iface[0], "--offline overrides the network");
		w.offline = false;
		w.net_bw = 1e6;
		w.net_latency = 0.5;
		coren_cap_override(&c, &w);
		ok(c.net_bw == 1e6 && c.net_latency == 0.5, "network overrides");
		w.net_latency = 0;
		w.ram_avail = 1e30;
		coren_cap_override(&c, &w);
		ok(c.net_latency == 0 && c.ram_avail == UINT64_MAX, "0 is a value; RAM saturates");
		coren_cap_release(&c);
		get(&o, &c);
		ok(c.net_bw == bw, "overrides never reach the cache");
		coren_cap_release(&c);
	}
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	watch();
	return done_testing();
}
