/* coren/cap.h - MachCap: what this machine can do, measured and cached.
 *
 * Units: FLOP/s, bytes, bytes/s, seconds. A cap record is the JSON form
 * (coren-records(5)); coren-probe(1) documents how each figure is measured.
 */
#ifndef COREN_CAP_H
#define COREN_CAP_H

#include <coren/error.h>
#include <coren/settings.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COREN_CAP_NET_LATENCY_DEFAULT 0.010   /* seconds, when not configured */
#define COREN_CAP_NET_BW_VIRTUAL 125000000.0  /* bytes/s (1 Gbit/s) for NICs
						 that report no link speed */

struct coren_cap {
	char host[256];
	char cpu[256];
	unsigned cores;	      /* physical cores the probe ran on */
	char class_[16];      /* server, desktop, laptop, embedded */
	bool on_battery;
	double flops;	      /* all cores, double-precision FMA */
	double flops_core;    /* one core */
	double mem_bw;	      /* STREAM triad, 24 bytes per iteration */
	uint64_t ram_total;
	uint64_t ram_avail;
	double disk_read_bw;  /* of the cache directory's file system */
	double disk_write_bw;
	char net_iface[64];   /* "" when offline */
	double net_bw;	      /* 0 when offline (null in JSON) */
	double net_latency;
	json_t *gpus;	      /* array, owned; NULL reads as [] */
	double xfer_bw;	      /* bytes/s results cross to the host at; 0:
				 none (the CPU). Not in the record. */
	char measured_at[32]; /* RFC 3339, UTC */
	char fingerprint[17]; /* 16 hex digits */
	char simd[16];	      /* avx512, avx2, scalar: the FMA kernel used */
	/* How quiet the machine was while measured (coren-probe(1)). */
	char quality[16];     /* "ok", "disturbed"; "" when the record does
				 not say (made before coren 0.2) */
	double others;	      /* cores other tasks kept busy, on average,
				 on the CPUs the probe ran on */
	double steal;	      /* fraction of those CPUs' time stolen */
	double spread;	      /* (best - worst) / best of the trials, the
				 largest of the FLOP/s and triad ones */
	unsigned runnable;    /* other runnable tasks seen before measuring */
	unsigned attempts;    /* measurements made (a disturbed one is retried) */
};

/* A measurement is disturbed when, while it ran, other tasks kept more
 * than this many cores busy on its CPUs, more than this fraction of their
 * time was stolen, or its trials spread more than this. */
#define COREN_CAP_DISTURBED_OTHERS 0.25
#define COREN_CAP_DISTURBED_STEAL 0.05
#define COREN_CAP_DISTURBED_SPREAD 0.15

/* Whether cap was measured disturbed (quality "disturbed"). */
bool coren_cap_disturbed(const struct coren_cap *cap);

/* Frees what cap owns (the gpus array); cap itself is not freed. */
void coren_cap_release(struct coren_cap *cap);

/* The cap record of cap: {"type":"cap", ...}. */
json_t *coren_cap_to_record(const struct coren_cap *cap);

/* Reads a cap record (or object). The fields a verdict needs are required
 * (flops, mem_bw, ram_avail, disk_write_bw, net_bw: number or null,
 * net_latency); the others are read when present. */
enum coren_err coren_cap_from_json(const json_t *rec, struct coren_cap *cap,
				   struct coren_error *err);

/* What-if changes to a machine's figures. A negative field is left alone,
 * so 0 is a value: a latency of 0, no network bandwidth (offline). */
struct coren_cap_override {
	double net_bw;	    /* bytes/s */
	double net_latency; /* seconds */
	double ram_avail;   /* bytes */
	bool offline;	    /* no network, whatever net_bw says */
};
#define COREN_CAP_OVERRIDE_NONE {-1, -1, -1, false}

/* The what-if options of coren-probe and coren-verdict, for a struct
 * coren_cap_override (coren/settings.h). */
extern const struct coren_setting coren_cap_override_settings[];

/* Applies o to cap (offline also forgets the interface's name). */
void coren_cap_override(struct coren_cap *cap,
			const struct coren_cap_override *o);

/* Prices work on the GPU gpus[index] instead of the CPU: flops and
 * mem_bw become the GPU's (FP64 FMA, triad), flops_core its FP64 peak per
 * SM, ram_avail the smaller of the host's and the GPU's memory, and
 * xfer_bw its device-to-host bandwidth (results come back to the host).
 * NOTFOUND when cap has no such GPU, RECORD when its figures are missing
 * or not positive. */
enum coren_err coren_cap_use_gpu(struct coren_cap *cap, unsigned index,
				 struct coren_error *err);

/* Whether the machine can reach a network (net_bw > 0). */
bool coren_cap_online(const struct coren_cap *cap);

/* The cache directory: $COREN_CACHE_DIR, else $XDG_CACHE_HOME/coren, else
 * $HOME/.cache/coren (malloc'd; NULL when none can be named). */
char *coren_cap_cache_dir(void);

/* The host fingerprint (16 hex digits): SHA-256 of host name, CPU model,
 * online CPUs, RAM total and kernel machine; cheap, no measurement. */
enum coren_err coren_cap_fingerprint(char out[17], struct coren_error *err);

struct coren_probe_options {
	const char *cache_dir;	/* NULL: coren_cap_cache_dir() */
	double max_age;		/* seconds; <= 0: no limit */
	bool refresh;		/* measure even if a fresh cache exists */
	bool quick;		/* sub-second estimate, smaller sizes */
	bool no_gpu;		/* leave gpus empty, load no backend */
	bool force;		/* cache a disturbed measurement too */
	unsigned retries;	/* measure again this often while disturbed;
				   0: the default (1) */
};

/* The backend plugin coren_cap_measure() asks for the GPU figures (its
 * probe op, plugin ABI 1.2), looked up as coren_plugin_open() does. */
#define COREN_CAP_GPU_BACKEND "cuda"

/* What coren_cap_get did. */
enum coren_probe_source {
	COREN_PROBE_CACHED = 0, /* read a fresh cache file */
	COREN_PROBE_MEASURED	/* measured (and cached) */
};

/* The capabilities of this machine: from the cache file
 * DIR/cap-FINGERPRINT.json when it is fresh (not older than max_age, same
 * fingerprint), else measured and cached atomically. Concurrent callers on
 * one cache directory measure once: the measuring one holds a lock the
 * others wait for, then they read its result. A disturbed measurement
 * (coren_cap_disturbed, after its retries) is returned but not cached
 * unless opt->force. */
enum coren_err coren_cap_get(const struct coren_probe_options *opt,
			     struct coren_cap *cap,
			     enum coren_probe_source *source,
			     struct coren_error *err);

/* Measures now, without the cache: watched (coren_probe_watch_*), and
 * measured again up to opt->retries times while disturbed; the figures
 * are the last attempt's, with its quality. */
enum coren_err coren_cap_measure(const struct coren_probe_options *opt,
				 const char *cache_dir, struct coren_cap *cap,
				 struct coren_error *err);

/* The CPUs this process may run on, one per physical core (SMT siblings
 * left out), into cpus; returns how many (at least 1; cpus[0] = -1 when the
 * affinity cannot be read). */
int coren_probe_cores(int *cpus, int max);

/* The CPU model ("model name" of /proc/cpuinfo, else the machine). */
void coren_probe_cpu_model(char *out, size_t n);

/* The pieces of a measurement, for tests and benchmarks. Each returns its
 * figure; threads <= 0 means one per physical core. */
double coren_probe_flops(int threads, double seconds, const char **simd);
double coren_probe_triad(int threads, size_t bytes, int trials);
enum coren_err coren_probe_disk(const char *dir, size_t bytes, double *read_bw,
				double *write_bw, struct coren_error *err);

/* The same, also giving the spread of the trials, (best - worst) / best
 * (for the triad, the larger of the plain and non-temporal stores'). */
double coren_probe_flops_spread(int threads, double seconds, const char **simd,
				double *spread);
double coren_probe_triad_spread(int threads, size_t bytes, int trials,
				double *spread);

/* Watching what disturbs a measurement: start, measure, stop. */
struct coren_probe_watch {
	double t0, busy, steal, total, self;
	int ok; /* /proc/stat was read */
};

void coren_probe_watch_start(struct coren_probe_watch *w);

/* Since start: *others, the cores other tasks kept busy on average on the
 * CPUs this process may use (their busy time less this process's CPU
 * time, over the wall time); *steal, the fraction of those CPUs' time
 * stolen. Both 0 when /proc/stat cannot be read. */
void coren_probe_watch_stop(const struct coren_probe_watch *w, double *others,
			    double *steal);

/* Other runnable tasks on the machine now (procs_running less one). */
unsigned coren_probe_runnable(void);

#ifdef __cplusplus
}
#endif
#endif
