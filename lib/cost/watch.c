/* watch.c - what disturbs a measurement of this machine (coren/cap.h):
 * CPU time other tasks take on the CPUs the probe runs on, steal time
 * (a hypervisor running someone else), and other runnable tasks.
 *
 * The figures come from /proc/stat: the cpuN lines of the CPUs in this
 * process's affinity mask only (a busy CPU the probe never uses does not
 * disturb it), and this process's own CPU time (getrusage) taken out.
 */
#include "config.h"

#include <coren/cap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The busy, steal and total ticks of the CPUs this process may use;
 * -1 when /proc/stat cannot be read. */
static int cpu_ticks(double *busy, double *steal, double *total)
{
	unsigned long long v[10];
	char line[512];
	cpu_set_t set;
	int cpu, k, any = 0;
	FILE *f = fopen("/proc/stat", "r");

	*busy = *steal = *total = 0;
	if (!f)
		return -1;
	if (sched_getaffinity(0, sizeof set, &set) < 0)
		CPU_ZERO(&set);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		memset(v, 0, sizeof v);
		k = sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		if (k < 5 || (CPU_COUNT(&set) && !CPU_ISSET(cpu, &set)))
			continue;
		/* user nice system idle iowait irq softirq steal; guest time
		 * is already in user */
		*busy += (double)(v[0] + v[1] + v[2] + v[5] + v[6]);
		*steal += (double)v[7];
		*total += (double)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
		any = 1;
	}
	fclose(f);
	return any ? 0 : -1;
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

void coren_probe_watch_start(struct coren_probe_watch *w)
{
	memset(w, 0, sizeof *w);
	w->ok = cpu_ticks(&w->busy, &w->steal, &w->total) == 0;
	w->self = self_cpu();
	w->t0 = mono();
}

void coren_probe_watch_stop(const struct coren_probe_watch *w, double *others,
			    double *steal)
{
	double busy, st, total, hz = (double)sysconf(_SC_CLK_TCK);
	double wall = mono() - w->t0, mine = self_cpu() - w->self;

	*others = *steal = 0;
	if (!w->ok || cpu_ticks(&busy, &st, &total) || !(wall > 0) || !(hz > 0))
		return;
	/* ticks are 1/hz s: what others took is busy time less ours */
	*others = ((busy - w->busy) / hz - mine) / wall;
	if (*others < 0)
		*others = 0;
	if (total > w->total)
		*steal = (st - w->steal) / (total - w->total);
}

unsigned coren_probe_runnable(void)
{
	char line[128];
	unsigned long n = 0;
	FILE *f = fopen("/proc/stat", "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "procs_running %lu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n > 1 ? (unsigned)(n - 1) : 0; /* less this thread */
}
