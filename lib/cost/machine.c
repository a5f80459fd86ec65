/* machine.c - the facts of this machine that need no timing, and
 * coren_cap_measure() which puts a whole MachCap together (coren-probe(1)).
 */
#include "config.h"

#include <coren/cap.h>
#include <coren/log.h>
#include <coren/plugin.h>
#include <coren/rkbackend.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)

/* The first line of a small text file, without its newline; "" if none. */
static void read_line(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

void coren_probe_cpu_model(char *out, size_t n)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct utsname u;

	out[0] = '\0';
	while (f && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');

		if (colon && !strncmp(line, "model name", 10)) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(out, n, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!out[0] && uname(&u) == 0)
		snprintf(out, n, "%s", u.machine);
}

/* MemTotal and MemAvailable of /proc/meminfo, in bytes. */
static void memory(uint64_t *total, uint64_t *avail)
{
	char line[256];
	unsigned long long kb;
	FILE *f = fopen("/proc/meminfo", "r");

	*total = *avail = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			*total = kb * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			*avail = kb * 1024;
	}
	if (f)
		fclose(f);
	if (!*total) {
		*total = (uint64_t)sysconf(_SC_PHYS_PAGES) *
			 (uint64_t)sysconf(_SC_PAGESIZE);
		*avail = (uint64_t)sysconf(_SC_AVPHYS_PAGES) *
			 (uint64_t)sysconf(_SC_PAGESIZE);
	}
}

/* The interface of the default route, and its link speed in bytes/s:
 * the reported speed, COREN_CAP_NET_BW_VIRTUAL when it reports none, 0
 * when there is no default route or its interface is down (offline). */
static void network(char *iface, size_t n, double *bw)
{
	char line[512], name[64], state[32], path[128];
	unsigned long dest, flags;
	long speed;
	FILE *f = fopen("/proc/net/route", "r");

	iface[0] = '\0';
	*bw = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%63s %lx %*x %lx", name, &dest, &flags) == 3 &&
		    dest == 0 && (flags & 1)) {
			snprintf(iface, n, "%s", name);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!iface[0])
		return;
	snprintf(path, sizeof path, "/sys/class/net/%s/operstate", iface);
	read_line(path, state, sizeof state);
	if (!strcmp(state, "down") || !strcmp(state, "lowerlayerdown")) {
		iface[0] = '\0';
		return;
	}
	snprintf(path, sizeof path, "/sys/class/net/%s/speed", iface);
	read_line(path, line, sizeof line);
	speed = atol(line);
	*bw = speed > 0 ? (double)speed * 1e6 / 8 : COREN_CAP_NET_BW_VIRTUAL;
}

/* Whether a battery exists, and whether the machine runs on it. */
static void power(bool *battery, bool *discharging)
{
	DIR *d = opendir("/sys/class/power_supply");
	struct dirent *de;
	char path[512], v[64];

	*battery = *discharging = false;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/class/power_supply/%s/type",
			 de->d_name);
		read_line(path, v, sizeof v);
		if (strcmp(v, "Battery"))
			continue;
		*battery = true;
		snprintf(path, sizeof path, "/sys/class/power_supply/%s/status",
			 de->d_name);
		read_line(path, v, sizeof v);
		if (!strcmp(v, "Discharging"))
			*discharging = true;
	}
	if (d)
		closedir(d);
}

/* The device class: a battery or a portable chassis is a laptop; a server
 * chassis, or a virtual machine, a server; ARM or RISC-V with at most four
 * cores and no DMI, embedded; anything else a desktop. */
static const char *device_class(bool battery, unsigned cores)
{
	char chassis[16], line[4096];
	struct utsname u;
	FILE *f;
	int type, vm = 0;

	read_line("/sys/class/dmi/id/chassis_type", chassis, sizeof chassis);
	type = atoi(chassis);
	if (battery || type == 8 || type == 9 || type == 10 || type == 14 ||
	    type == 31 || type == 32)
		return "laptop";
	if (type == 17 || type == 23 || type == 25 || type == 28)
		return "server";
	f = fopen("/proc/cpuinfo", "r");
	while (f && !vm && fgets(line, sizeof line, f))
		vm = !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
	if (f)
		fclose(f);
	if (vm)
		return "server";
	if (!chassis[0] && uname(&u) == 0 && cores <= 4 &&
	    (!strncmp(u.machine, "arm", 3) || !strncmp(u.machine, "aarch64", 7) ||
	     !strncmp(u.machine, "riscv", 5)))
		return "embedded";
	return "desktop";
}

/* Bytes per triad array: the last-level cache the CPU reports, at least
 * 64 MiB, at most 512 MiB and RAM_avail / 8; 32 MiB when quick. */
static size_t triad_bytes(uint64_t ram_avail, bool quick)
{
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
	size_t b = l3 > 0 ? (size_t)l3 : 0, most = 512 * MiB;

	if (quick)
		return 32 * MiB;
	if (b < 64 * MiB)
		b = 64 * MiB;
	if (most > ram_avail / 8)
		most = ram_avail / 8;
	return b < most ? b : most;
}

/* The GPUs, measured by the backend named COREN_CAP_GPU_BACKEND when it
 * loads and can probe (an empty array otherwise: why is logged, as a
 * machine without a GPU is no error). */
static json_t *gpus(void)
{
	struct coren_plugin *p = NULL;
	struct coren_error err = {0};
	const struct coren_backend_ops *ops;
	json_t *r = NULL;
	void *st = NULL;

	if (coren_plugin_open(COREN_CAP_GPU_BACKEND, COREN_PLUGIN_BACKEND, NULL,
			      &p, &err))
		goto out;
	ops = p->desc->ops;
	if (ops->struct_size < offsetof(struct coren_backend_ops, probe) + sizeof ops->probe ||
	    !ops->probe) {
		coren_error_set(&err, COREN_ERR_PLUGIN_ABI_MINOR,
				"backend '%s' cannot measure (ABI before 1.2)", p->path);
		goto out;
	}
	if (ops->load(&st, NULL, &err))
		goto out;
	r = ops->probe(st, 1.0, &err); /* the cuda backend: best of 3 each */
	if (ops->unload)
		ops->unload(st);
out:
	if (!r)
		coren_log(COREN_LOG_INFO, "no GPU figures: %s", err.msg);
	coren_plugin_free(p);
	return r ? r : json_array();
}

bool coren_cap_disturbed(const struct coren_cap *cap)
{
	return !strcmp(cap->quality, "disturbed");
}

/* Other runnable tasks before measuring: the fewest seen in a few looks
 * over up to wait seconds, stopping at the first quiet one (a task that
 * merely woke up does not count). */
static unsigned runnable_before(double wait)
{
	unsigned least = coren_probe_runnable(), k;
	struct timespec ts = {0, (long)(wait / 5 * 1e9)};

	for (k = 0; k < 5 && least; k++) {
		unsigned r;

		nanosleep(&ts, NULL);
		r = coren_probe_runnable();
		least = r < least ? r : least;
	}
	return least;
}

/* The CPU figures (peak FLOP/s, triad) once, watched: their quality. */
static void measure_cpu(const struct coren_probe_options *opt, struct coren_cap *cap)
{
	double fl_seconds = opt->quick ? 0.01 : 0.05, s1, s2, s3;
	const char *simd = "scalar";
	struct coren_probe_watch w;

	cap->runnable = runnable_before(opt->quick ? 0.1 : 0.5);
	coren_probe_watch_start(&w);
	cap->flops_core = coren_probe_flops_spread(1, fl_seconds, &simd, &s1);
	cap->flops = coren_probe_flops_spread(0, fl_seconds, &simd, &s2);
	cap->mem_bw = coren_probe_triad_spread(0, triad_bytes(cap->ram_avail, opt->quick),
					       opt->quick ? 2 : 3, &s3);
	coren_probe_watch_stop(&w, &cap->others, &cap->steal);
	snprintf(cap->simd, sizeof cap->simd, "%s", simd);
	cap->spread = s1 > s2 ? s1 : s2;
	cap->spread = s3 > cap->spread ? s3 : cap->spread;
	snprintf(cap->quality, sizeof cap->quality, "%s",
		 cap->others > COREN_CAP_DISTURBED_OTHERS ||
				 cap->steal > COREN_CAP_DISTURBED_STEAL ||
				 cap->spread > COREN_CAP_DISTURBED_SPREAD
			 ? "disturbed"
			 : "ok");
}

/* Measures the CPU figures until undisturbed, or 1 + retries times. */
static void measure_cpu_quietly(const struct coren_probe_options *opt,
				struct coren_cap *cap)
{
	unsigned tries = 1 + (opt->retries ? opt->retries : 1);
	struct timespec pause = {opt->quick ? 0 : 1, opt->quick ? 200000000L : 0};

	for (cap->attempts = 1;; cap->attempts++) {
		measure_cpu(opt, cap);
		if (!coren_cap_disturbed(cap) || cap->attempts == tries)
			break;
		coren_log(COREN_LOG_INFO,
			  "measurement %u disturbed (other tasks %.2f cores, steal "
			  "%.0f%%, spread %.0f%%): measuring again",
			  cap->attempts, cap->others, 100 * cap->steal,
			  100 * cap->spread);
		nanosleep(&pause, NULL);
	}
}

enum coren_err coren_cap_measure(const struct coren_probe_options *opt,
				 const char *cache_dir, struct coren_cap *cap,
				 struct coren_error *err)
{
	int cpus[512];
	bool battery, discharging;
	enum coren_err rc;
	time_t t = time(NULL);
	struct tm tm;

	memset(cap, 0, sizeof *cap);
	coren_log(COREN_LOG_INFO, "measuring this machine%s",
		  opt->quick ? " (quick)" : "");
	gethostname(cap->host, sizeof cap->host - 1);
	coren_probe_cpu_model(cap->cpu, sizeof cap->cpu);
	memory(&cap->ram_total, &cap->ram_avail);
	cap->cores = (unsigned)coren_probe_cores(cpus, 512);
	measure_cpu_quietly(opt, cap);
	rc = coren_probe_disk(cache_dir, opt->quick ? 16 * MiB : 128 * MiB,
			      &cap->disk_read_bw, &cap->disk_write_bw, err);
	if (rc)
		return rc;
	network(cap->net_iface, sizeof cap->net_iface, &cap->net_bw);
	cap->net_latency = COREN_CAP_NET_LATENCY_DEFAULT;
	power(&battery, &discharging);
	cap->on_battery = discharging;
	snprintf(cap->class_, sizeof cap->class_, "%s",
		 device_class(battery, cap->cores));
	cap->gpus = opt->no_gpu ? json_array() : gpus();
	gmtime_r(&t, &tm);
	strftime(cap->measured_at, sizeof cap->measured_at, "%Y-%m-%dT%H:%M:%SZ",
		 &tm);
	if ((rc = coren_cap_fingerprint(cap->fingerprint, err)))
		return rc;
	if (!(cap->flops > 0) || !(cap->mem_bw > 0))
		return coren_error_set(err, COREN_ERR_IO,
				       "measurement failed (FLOP/s %g, "
				       "bandwidth %g)",
				       cap->flops, cap->mem_bw);
	return COREN_OK;
}
