/* cap.c - MachCap records, the cache and its lock (coren/cap.h). */
#include "config.h"

#include <coren/cap.h>
#include <coren/file.h>
#include <coren/hash.h>
#include <coren/json.h>
#include <coren/log.h>
#include <coren/record.h>
#include <coren/settings.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define CAP_FILE_MAX ((size_t)1 << 20)

void coren_cap_release(struct coren_cap *cap)
{
	json_decref(cap->gpus);
	cap->gpus = NULL;
}

void coren_cap_override(struct coren_cap *cap,
			const struct coren_cap_override *o)
{
	if (o->net_bw >= 0)
		cap->net_bw = o->net_bw;
	if (o->net_latency >= 0)
		cap->net_latency = o->net_latency;
	if (o->ram_avail >= 0)
		cap->ram_avail = o->ram_avail >= 18446744073709551615.0
					 ? UINT64_MAX
					 : (uint64_t)o->ram_avail;
	if (o->offline)
		cap->net_bw = 0;
	if (!coren_cap_online(cap))
		cap->net_iface[0] = '\0';
}

bool coren_cap_online(const struct coren_cap *cap)
{
	return cap->net_bw > 0;
}

json_t *coren_cap_to_record(const struct coren_cap *c)
{
	json_t *rec = coren_record_new("cap");

	if (rec && json_object_update_new(
			   rec,
			   json_pack("{s:s, s:s, s:i, s:s, s:b, s:f, s:f, s:f, "
				     "s:o, s:o, s:f, s:f, s:s?, s:o, s:f, "
				     "s:o, s:s, s:s, s:s}",
				     "host", c->host, "cpu", c->cpu, "cores",
				     (int)c->cores, "class", c->class_,
				     "on_battery", c->on_battery, "flops",
				     c->flops, "flops_core", c->flops_core,
				     "mem_bw", c->mem_bw, "ram_total",
				     coren_json_u64(c->ram_total), "ram_avail",
				     coren_json_u64(c->ram_avail),
				     "disk_read_bw", c->disk_read_bw,
				     "disk_write_bw", c->disk_write_bw,
				     "net_iface",
				     c->net_iface[0] ? c->net_iface : NULL,
				     "net_bw",
				     c->net_bw > 0 ? json_real(c->net_bw)
						   : json_null(),
				     "net_latency", c->net_latency, "gpus",
				     c->gpus ? json_incref(c->gpus) : json_array(),
				     "measured_at", c->measured_at,
				     "fingerprint", c->fingerprint, "simd",
				     c->simd))) {
		json_decref(rec);
		return NULL;
	}
	if (c->quality[0] &&
	    json_object_update_new(rec, json_pack("{s:s, s:f, s:f, s:f, s:i, s:i}",
						  "quality", c->quality, "other_load",
						  c->others, "steal", c->steal,
						  "spread", c->spread, "runnable",
						  (int)c->runnable, "attempts",
						  (int)c->attempts))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* A required positive number field. */
static enum coren_err positive(const json_t *rec, const char *f, double *out,
			       struct coren_error *err)
{
	enum coren_err rc = coren_record_get_double(rec, f, out, err);

	if (!rc && !(*out > 0) )
		rc = coren_error_set(err, COREN_ERR_RECORD,
				     "field '%s' must be positive", f);
	return rc;
}

static void copy_string(const json_t *rec, const char *f, char *out, size_t n)
{
	const char *s = json_string_value(json_object_get(rec, f));

	if (s)
		snprintf(out, n, "%s", s);
}

enum coren_err coren_cap_from_json(const json_t *rec, struct coren_cap *cap,
				   struct coren_error *err)
{
	const json_t *net = json_object_get(rec, "net_bw");
	enum coren_err rc;
	uint64_t u;

	memset(cap, 0, sizeof *cap);
	if ((rc = positive(rec, "flops", &cap->flops, err)) ||
	    (rc = positive(rec, "mem_bw", &cap->mem_bw, err)) ||
	    (rc = coren_record_get_u64(rec, "ram_avail", &cap->ram_avail, err)) ||
	    (rc = positive(rec, "disk_write_bw", &cap->disk_write_bw, err)) ||
	    (rc = coren_record_get_double(rec, "net_latency", &cap->net_latency,
					  err)))
		return rc;
	if (!net)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "missing field 'net_bw'");
	if (!json_is_null(net) &&
	    (rc = coren_record_get_double(rec, "net_bw", &cap->net_bw, err)))
		return rc;
	if (cap->net_latency < 0 || cap->net_bw < 0)
		return coren_error_set(err, COREN_ERR_RECORD,
				       "field '%s' must not be negative",
				       cap->net_bw < 0 ? "net_bw" : "net_latency");
	coren_json_get_double(json_object_get(rec, "flops_core"), &cap->flops_core);
	coren_json_get_double(json_object_get(rec, "disk_read_bw"),
			      &cap->disk_read_bw);
	if (!coren_json_get_u64(json_object_get(rec, "ram_total"), &u))
		cap->ram_total = u;
	if (!coren_json_get_u64(json_object_get(rec, "cores"), &u))
		cap->cores = (unsigned)u;
	cap->on_battery = json_is_true(json_object_get(rec, "on_battery"));
	copy_string(rec, "host", cap->host, sizeof cap->host);
	copy_string(rec, "cpu", cap->cpu, sizeof cap->cpu);
	copy_string(rec, "class", cap->class_, sizeof cap->class_);
	copy_string(rec, "net_iface", cap->net_iface, sizeof cap->net_iface);
	copy_string(rec, "measured_at", cap->measured_at, sizeof cap->measured_at);
	copy_string(rec, "fingerprint", cap->fingerprint, sizeof cap->fingerprint);
	copy_string(rec, "simd", cap->simd, sizeof cap->simd);
	copy_string(rec, "quality", cap->quality, sizeof cap->quality);
	coren_json_get_double(json_object_get(rec, "other_load"), &cap->others);
	coren_json_get_double(json_object_get(rec, "steal"), &cap->steal);
	coren_json_get_double(json_object_get(rec, "spread"), &cap->spread);
	if (!coren_json_get_u64(json_object_get(rec, "runnable"), &u))
		cap->runnable = (unsigned)u;
	if (!coren_json_get_u64(json_object_get(rec, "attempts"), &u))
		cap->attempts = (unsigned)u;
	if (json_is_array(json_object_get(rec, "gpus")))
		cap->gpus = json_incref(json_object_get(rec, "gpus"));
	return COREN_OK;
}

enum coren_err coren_cap_use_gpu(struct coren_cap *cap, unsigned index,
				 struct coren_error *err)
{
	const json_t *g = json_array_get(cap->gpus, index);
	double fl, bw, d2h, sms = 0;
	enum coren_err rc;
	uint64_t mem;

	if (!g)
		return coren_error_set(err, COREN_ERR_NOTFOUND,
				       "the machine has no GPU %u (it lists %zu; "
				       "coren-probe measures GPUs when the cuda "
				       "backend loads)", index,
				       json_array_size(cap->gpus));
	if ((rc = positive(g, "flops", &fl, err)) ||
	    (rc = positive(g, "mem_bw", &bw, err)) ||
	    (rc = positive(g, "d2h_bw", &d2h, err)) ||
	    (rc = coren_record_get_u64(g, "memory", &mem, err))) {
		char why[sizeof err->msg];

		snprintf(why, sizeof why, "%s", err->msg);
		return coren_error_set(err, rc, "GPU %u: %s", index, why);
	}
	coren_json_get_double(json_object_get(g, "sms"), &sms);
	cap->flops = fl;
	cap->flops_core = sms >= 1 ? fl / sms : fl;
	cap->mem_bw = bw;
	cap->xfer_bw = d2h;
	if (mem < cap->ram_avail)
		cap->ram_avail = mem;
	return COREN_OK;
}

char *coren_cap_cache_dir(void)
{
	const char *d = getenv("COREN_CACHE_DIR"), *x;
	char *out = NULL;

	if (d && *d)
		return strdup(d);
	if ((x = getenv("XDG_CACHE_HOME")) && *x) {
		if (asprintf(&out, "%s/coren", x) < 0)
			return NULL;
		return out;
	}
	if ((x = getenv("HOME")) && *x) {
		if (asprintf(&out, "%s/.cache/coren", x) < 0)
			return NULL;
		return out;
	}
	return NULL;
}

enum coren_err coren_cap_fingerprint(char out[17], struct coren_error *err)
{
	char host[256] = "", cpu[256] = "", text[1024], hex[65];
	struct utsname u;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	gethostname(host, sizeof host - 1);
	coren_probe_cpu_model(cpu, sizeof cpu);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	snprintf(text, sizeof text, "%s|%s|%ld|%lld|%s", host, cpu, ncpu,
		 (long long)pages * psz, u.machine);
	if (coren_sha256_hex(text, strlen(text), hex))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	memcpy(out, hex, 16);
	out[16] = '\0';
	return COREN_OK;
}

/* Seconds since measured_at ("YYYY-MM-DDTHH:MM:SSZ"); HUGE_VAL if unreadable. */
static double age_of(const char *measured_at)
{
	struct tm tm = {0};
	const char *end = strptime(measured_at, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end)
		return HUGE_VAL;
	return difftime(time(NULL), timegm(&tm));
}

/* Loads dir/cap-FP.json if it is fresh; COREN_ERR_NOTFOUND otherwise. */
static enum coren_err load_fresh(const char *path, const char *fp,
				 double max_age, struct coren_cap *cap)
{
	struct coren_error e = {0};
	enum coren_err rc;
	json_t *rec;
	char *data;
	size_t len;

	if (coren_file_read(path, CAP_FILE_MAX, &data, &len, &e))
		return COREN_ERR_NOTFOUND;
	rec = coren_json_parse(data, len, &e);
	free(data);
	if (!rec) {
		coren_log(COREN_LOG_WARNING, "ignoring damaged cache '%s': %s",
			  path, e.msg);
		return COREN_ERR_NOTFOUND;
	}
	rc = coren_cap_from_json(rec, cap, &e);
	json_decref(rec);
	if (rc) {
		coren_log(COREN_LOG_WARNING, "ignoring damaged cache '%s': %s",
			  path, e.msg);
		return COREN_ERR_NOTFOUND;
	}
	if (strcmp(cap->fingerprint, fp) ||
	    (max_age > 0 && age_of(cap->measured_at) > max_age)) {
		coren_cap_release(cap);
		return COREN_ERR_NOTFOUND;
	}
	return COREN_OK;
}

static enum coren_err store(const char *path, const struct coren_cap *cap,
			    struct coren_error *err)
{
	json_t *rec = coren_cap_to_record(cap);
	char *text = rec ? coren_json_dumps(rec, 0) : NULL;
	enum coren_err rc;

	json_decref(rec);
	if (!text)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rc = coren_file_replace(path, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

enum coren_err coren_cap_get(const struct coren_probe_options *opt,
			     struct coren_cap *cap,
			     enum coren_probe_source *source,
			     struct coren_error *err)
{
	char *dir = opt->cache_dir ? strdup(opt->cache_dir) : coren_cap_cache_dir();
	char fp[17], *path = NULL, *lockpath = NULL;
	struct coren_lock lock = COREN_LOCK_INIT;
	enum coren_err rc;

	if (!dir)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "no cache directory: set COREN_CACHE_DIR "
				       "or HOME");
	if ((rc = coren_cap_fingerprint(fp, err)) ||
	    (rc = coren_mkdir_p(dir, 0755, err)))
		goto out;
	if (asprintf(&path, "%s/cap-%s.json", dir, fp) < 0 ||
	    asprintf(&lockpath, "%s/cap-%s.lock", dir, fp) < 0) {
		rc = coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
		goto out;
	}
	*source = COREN_PROBE_CACHED;
	if (!opt->refresh && !load_fresh(path, fp, opt->max_age, cap))
		goto out; /* rc is COREN_OK */
	/* one prober measures; the others wait, then read its result */
	if ((rc = coren_lock_acquire(&lock, lockpath, COREN_LOCK_EXCLUSIVE, err)))
		goto out;
	if (!opt->refresh && !load_fresh(path, fp, opt->max_age, cap))
		goto out; /* rc is COREN_OK */
	*source = COREN_PROBE_MEASURED;
	if ((rc = coren_cap_measure(opt, dir, cap, err)))
		goto out;
	if (coren_cap_disturbed(cap) && !opt->force)
		goto out; /* figures to report, not to keep for a week */
	if ((rc = store(path, cap, err)))
		coren_cap_release(cap);
out:
	coren_lock_release(&lock);
	free(lockpath);
	free(path);
	free(dir);
	return rc;
}

#define WHAT_IF(member) COREN_SETTING_AT(struct coren_cap_override, member)

const struct coren_setting coren_cap_override_settings[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL,
		   "What if (the machine as it would be):")},
	{COREN_ROW(RATE, NULL, "net-bw", 0, "RATE",
		   "network bandwidth, bytes/s (125M, 1GiB),\n"
		   "instead of the interface's"),
	 WHAT_IF(net_bw)},
	{COREN_ROW(DURATION, NULL, "net-latency", 0, "DURATION",
		   "network latency (0.02, 20ms; default 10ms)"),
	 WHAT_IF(net_latency)},
	{COREN_ROW(FLAG, NULL, "offline", 0, NULL,
		   "no network: verdicts compute, or none for a\n"
		   "job too big for RAM (reason ram+offline)"),
	 WHAT_IF(offline)},
	{COREN_ROW(SIZE, NULL, "ram", 0, "SIZE", "RAM available (64GiB)"),
	 .flags = COREN_SETTING_DOUBLE, WHAT_IF(ram_avail)},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};
