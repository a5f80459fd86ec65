/* rkgpubench - the CUDA backend's figures (bench/gpu.sh), driving the
 * echo kernel's persistent loop through coren/rkgpu.h's rings directly, as
 * the backend does, without the runtime in between:
 *   round trip of one 64-byte message, host -> persistent actor -> host,
 *     against launch-per-message (launch + synchronize) in the same run;
 *   sustained messages/s through the persistent actor, batched;
 *   device triad against device-to-device cudaMemcpy (the backend's probe).
 * Writes one bench record per figure on standard output. --emulate runs
 * the same loop on a host thread (no GPU: checks the bench itself). Exits
 * 77 when there is no usable GPU. Plugins are found as coren_plugin_open()
 * finds them ($COREN_PLUGIN_PATH). */
#include "config.h"

#include <coren/plugin.h>
#include <coren/rk.h>
#include <coren/rkgpu.h>
#include <cuda_runtime_api.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 1024u	/* slots per ring */
#define PAYLOAD 64u	/* bytes per message */
#define SAMPLES 1000	/* samples per record, for rk-bench --analyze */

static struct {
	long trips, stream;
	unsigned threads, backoff_ns;
	int emulate;
} opt = {20000, 1000000, 128, 1000, 0};

static const struct coren_gpu_loop *loop;
static struct coren_gpu_ctl *ctl, *ctl_dev;
static struct coren_gpu_ring *h2d, *d2h;
static uint32_t h2d_head, d2h_tail;
static cudaStream_t stream;
static pthread_t emu;
static char device[256] = "emulated";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "rkgpubench: %s: %s\n", what, why);
	exit(1);
}

static void check(cudaError_t e, const char *what)
{
	if (e)
		die(what, cudaGetErrorString(e));
}

/* The control block and both rings in one mapped (or, emulated, plain)
 * allocation, laid out as the backend does. */
static void make_rings(void)
{
	size_t total = coren_gpu_block_bytes(RING, PAYLOAD);
	void *host, *dev;

	if (opt.emulate) {
		if (!(host = calloc(1, total)))
			die("memory", "out of memory");
		dev = host;
	} else {
		check(cudaHostAlloc(&host, total, cudaHostAllocMapped), "cudaHostAlloc");
		memset(host, 0, total);
		check(cudaHostGetDevicePointer(&dev, host, 0), "cudaHostGetDevicePointer");
	}
	ctl = coren_gpu_block_init(host, dev, RING, PAYLOAD, &h2d, &d2h);
	ctl_dev = dev;
	ctl->actor = 1;
	ctl->backoff_max_ns = opt.backoff_ns;
	ctl->batch = 64;
}

static void *emulate_main(void *arg)
{
	(void)arg;
	loop->emulate(ctl_dev);
	return NULL;
}

/* Starts the loop (persistent, or one-shot) and, persistent, waits until
 * it runs. */
static void start(uint32_t flags)
{
	ctl->flags = flags;
	ctl->state.v = COREN_GPU_STARTING;
	if (opt.emulate) {
		if (flags & COREN_GPU_F_ONESHOT)
			loop->emulate(ctl_dev);
		else if (pthread_create(&emu, NULL, emulate_main, NULL))
			die("emulate", "cannot start a thread");
	} else {
		check((cudaError_t)loop->launch(ctl_dev, opt.threads, stream), "launch");
		if (flags & COREN_GPU_F_ONESHOT)
			check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
	}
	while (!(flags & COREN_GPU_F_ONESHOT) &&
	       coren_gpu_load_acquire(&ctl->state.v) != COREN_GPU_RUNNING)
		;
}

static void stop(void)
{
	coren_gpu_store_release(&ctl->stop.v, 1);
	if (opt.emulate)
		pthread_join(emu, NULL);
	else
		check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
	ctl->stop.v = 0;
}

/* Writes message corr into the next h2d slot (not yet published). */
static void put(uint64_t corr)
{
	struct coren_gpu_slot *s = coren_gpu_ring_slot(h2d, h2d_head++);

	memset(&s->hdr, 0, sizeof s->hdr);
	s->hdr.correlation_id = corr;
	s->hdr.destination = 1;
	s->hdr.payload_size = PAYLOAD;
	memset(s->payload, (int)(corr & 0xff), PAYLOAD);
}

/* Takes the next answer; its correlation id (0 if it is not an echo). */
static uint64_t take(void)
{
	struct coren_gpu_slot *s = coren_gpu_ring_slot(d2h, d2h_tail);
	uint64_t corr = s->hdr.correlation_id;

	if (s->hdr.payload_size != PAYLOAD || s->payload[PAYLOAD - 1] != (corr & 0xff))
		corr = 0;
	coren_gpu_ring_release(d2h, ++d2h_tail);
	return corr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The round-trip record of times t[0..n) (ns): p50, p99, mean, and
 * SAMPLES of them, in order, as seconds. Returns p50. */
static double trip_record(const char *name, uint64_t *t, long n)
{
	uint64_t *sorted = malloc((size_t)n * sizeof *sorted);
	double sum = 0, p50;
	long step = n > SAMPLES ? n / SAMPLES : 1;

	memcpy(sorted, t, (size_t)n * sizeof *t);
	qsort(sorted, (size_t)n, sizeof *sorted, cmp_u64);
	for (long i = 0; i < n; i++)
		sum += (double)t[i];
	p50 = (double)sorted[n / 2];
	printf("{\"type\":\"bench\",\"name\":\"%s\",\"device\":\"%s\",\"n\":%ld,"
	       "\"payload_bytes\":%u,\"p50_ns\":%.0f,\"p99_ns\":%llu,\"mean_ns\":%.0f,"
	       "\"samples\":[", name, device, n, PAYLOAD, p50,
	       (unsigned long long)sorted[n * 99 / 100], sum / (double)n);
	for (long i = 0, k = 0; i < n && k < SAMPLES; i += step, k++)
		printf("%s%.9f", k ? "," : "", (double)t[i] / 1e9);
	printf("]}\n");
	free(sorted);
	return p50;
}

/* One message at a time: publish, wait for its answer. */
static double round_trips(const char *name, int oneshot)
{
	long n = oneshot && opt.trips > 2000 ? 2000 : opt.trips, warm = n / 10, bad = 0;
	uint64_t *t = malloc((size_t)n * sizeof *t);
	double p50;

	if (!oneshot)
		start(0);
	for (long i = -warm; i < n; i++) {
		uint64_t t0 = now_ns();

		put((uint64_t)(i + warm + 1));
		coren_gpu_ring_publish(h2d, h2d_head);
		if (oneshot)
			start(COREN_GPU_F_ONESHOT);
		while (!coren_gpu_ring_avail(d2h, d2h_tail))
			;
		bad += take() != (uint64_t)(i + warm + 1);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	if (!oneshot)
		stop();
	if (bad)
		die(name, "an answer was not the echo of its message");
	p50 = trip_record(name, t, n);
	free(t);
	return p50;
}

/* opt.stream messages, keeping the ring full, published in batches. */
static void sustained(void)
{
	uint64_t sent = 0, got = 0, bad = 0, t0;
	double s;

	start(0);
	t0 = now_ns();
	while (got < (uint64_t)opt.stream) {
		uint32_t room = coren_gpu_ring_space(h2d, h2d_head), avail, k;

		for (k = 0; k < room && k < 256 && sent < (uint64_t)opt.stream; k++)
			put(++sent);
		if (k)
			coren_gpu_ring_publish(h2d, h2d_head);
		avail = coren_gpu_ring_avail(d2h, d2h_tail);
		for (k = 0; k < avail; k++)
			bad += take() != ++got;
	}
	s = (double)(now_ns() - t0) / 1e9;
	stop();
	if (bad)
		die("sustained", "answers out of order or damaged");
	printf("{\"type\":\"bench\",\"name\":\"rk.gpu.sustained\",\"device\":\"%s\",\"n\":%ld,"
	       "\"payload_bytes\":%u,\"ring\":%u,\"elapsed_s\":%.4f,\"msgs_per_s\":%.0f,"
	       "\"metric\":\"throughput\",\"unit\":\"msg/s\",\"value\":%.0f}\n",
	       device, opt.stream, PAYLOAD, RING, s, (double)opt.stream / s,
	       (double)opt.stream / s);
}

/* The backend's probe: triad and d2d memcpy of GPU 0. */
static void triad(void)
{
	struct coren_plugin *p = NULL;
	struct coren_error err = {0};
	const struct coren_backend_ops *ops;
	json_t *gpus, *g;
	void *st = NULL;
	double tr, mc;

	if (coren_plugin_open("cuda", COREN_PLUGIN_BACKEND, NULL, &p, &err))
		die("cuda backend", err.msg);
	ops = p->desc->ops;
	if (ops->load(&st, NULL, &err) || !(gpus = ops->probe(st, 1.0, &err)))
		die("probe", err.msg);
	g = json_array_get(gpus, 0);
	tr = json_number_value(json_object_get(g, "mem_bw"));
	mc = json_number_value(json_object_get(g, "memcpy_bw"));
	printf("{\"type\":\"bench\",\"name\":\"rk.gpu.triad\",\"device\":\"%s\",\"triad_bw\":%.0f,"
	       "\"memcpy_bw\":%.0f,\"ratio\":%.3f,\"flops\":%.0f,\"flops_fp32\":%.0f,"
	       "\"h2d_bw\":%.0f,\"d2h_bw\":%.0f,\"metric\":\"triad/memcpy\",\"unit\":\"x\","
	       "\"value\":%.3f}\n", device, tr, mc, mc > 0 ? tr / mc : 0,
	       json_number_value(json_object_get(g, "flops")),
	       json_number_value(json_object_get(g, "flops_fp32")),
	       json_number_value(json_object_get(g, "h2d_bw")),
	       json_number_value(json_object_get(g, "d2h_bw")), mc > 0 ? tr / mc : 0);
	json_decref(gpus);
	ops->unload(st);
	coren_plugin_free(p);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trips", required_argument, NULL, 'n'},
		{"stream", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'},
		{"backoff", required_argument, NULL, 'b'},
		{"emulate", no_argument, NULL, 'e'},
		{NULL, 0, NULL, 0}};
	struct coren_plugin *echo = NULL;
	struct coren_error err = {0};
	const struct coren_kernel_ops *kops;
	struct cudaDeviceProp prop;
	double persistent, launch;
	int c, ndev = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': opt.trips = atol(optarg); break;
		case 's': opt.stream = atol(optarg); break;
		case 't': opt.threads = (unsigned)atoi(optarg); break;
		case 'b': opt.backoff_ns = (unsigned)atoi(optarg); break;
		case 'e': opt.emulate = 1; break;
		default:
			fprintf(stderr, "usage: rkgpubench [--trips N] [--stream N] [--threads N] "
					"[--backoff NS] [--emulate]\n");
			return 2;
		}
	}
	if (opt.trips < 10 || opt.stream < 1)
		die("usage", "--trips must be at least 10, --stream at least 1");
	if (coren_plugin_open("echo", COREN_PLUGIN_KERNEL, NULL, &echo, &err))
		die("echo kernel", err.msg);
	kops = echo->desc->ops;
	if (!(kops->flags & COREN_KERNEL_F_CUDA) || !kops->cuda)
		die("echo kernel", "built without its CUDA entry");
	loop = ((const struct coren_kernel_cuda *)kops->cuda)->loop;
	if (!opt.emulate) {
		cudaError_t e = cudaGetDeviceCount(&ndev);

		if (e || !ndev) {
			fprintf(stderr, "rkgpubench: no usable GPU: %s\n",
				e ? cudaGetErrorString(e) : "no device");
			return 77;
		}
		check(cudaSetDeviceFlags(cudaDeviceMapHost), "cudaSetDeviceFlags");
		check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
		snprintf(device, sizeof device, "%s", prop.name);
		check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
	}
	make_rings();
	persistent = round_trips("rk.gpu.roundtrip.persistent", 0);
	launch = round_trips("rk.gpu.roundtrip.launch", 1);
	printf("{\"type\":\"bench\",\"name\":\"rk.gpu.roundtrip.speedup\",\"device\":\"%s\","
	       "\"persistent_p50_ns\":%.0f,\"launch_p50_ns\":%.0f,\"ratio\":%.4g,"
	       "\"metric\":\"speedup\",\"unit\":\"x\",\"value\":%.4g}\n", device,
	       persistent, launch, launch / persistent, launch / persistent);
	sustained();
	if (!opt.emulate)
		triad();
	coren_plugin_free(echo);
	return 0;
}
