/* dispatch.c - the hybrid CPU/GPU dispatcher. */
#include "config.h"

#include <coren/rkpolicy.h>
#include <string.h>

static const char *const mode_names[] = {"cpu-only", "gpu-only", "hybrid",
					 "adaptive"};

const char *coren_dispatch_mode_name(enum coren_dispatch_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "unknown";
}

int coren_dispatch_mode_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, mode_names[i]))
			return i;
	return -1;
}

static uint64_t clamp_threshold(double t)
{
	if (!(t >= COREN_DISPATCH_THRESHOLD_MIN))
		return COREN_DISPATCH_THRESHOLD_MIN;
	if (t > COREN_DISPATCH_THRESHOLD_MAX)
		return COREN_DISPATCH_THRESHOLD_MAX;
	return (uint64_t)(t + 0.5);
}

void coren_dispatch_init(struct coren_dispatcher *d,
			 enum coren_dispatch_mode mode, uint64_t threshold,
			 bool gpu_present)
{
	memset(d, 0, sizeof *d);
	pthread_mutex_init(&d->lock, NULL);
	d->mode = mode;
	d->gpu_present = gpu_present;
	d->threshold = threshold ? threshold : COREN_DISPATCH_THRESHOLD_DEFAULT;
	if (mode == COREN_DISPATCH_ADAPTIVE)
		d->threshold = clamp_threshold((double)d->threshold);
	d->stats.threshold = d->threshold;
}

void coren_dispatch_release(struct coren_dispatcher *d)
{
	pthread_mutex_destroy(&d->lock);
}

/* Counts a decision (the lock held). */
static void count(struct coren_dispatcher *d, enum coren_dispatch_target t,
		  uint64_t size)
{
	if (t == COREN_TARGET_GPU) {
		d->stats.gpu++;
		d->stats.gpu_items += size;
	} else {
		d->stats.cpu++;
		d->stats.cpu_items += size;
	}
}

enum coren_dispatch_target coren_dispatch_choose(struct coren_dispatcher *d,
						 uint64_t size)
{
	enum coren_dispatch_target t = COREN_TARGET_CPU;

	pthread_mutex_lock(&d->lock);
	if (d->gpu_present) {
		switch (d->mode) {
		case COREN_DISPATCH_CPU_ONLY:
			break;
		case COREN_DISPATCH_GPU_ONLY:
			t = COREN_TARGET_GPU;
			break;
		case COREN_DISPATCH_HYBRID:
		case COREN_DISPATCH_ADAPTIVE:
			if (size >= d->threshold)
				t = COREN_TARGET_GPU;
			break;
		}
	}
	count(d, t, size);
	pthread_mutex_unlock(&d->lock);
	return t;
}

void coren_dispatch_count(struct coren_dispatcher *d,
			  enum coren_dispatch_target target, uint64_t size)
{
	pthread_mutex_lock(&d->lock);
	count(d, target, size);
	pthread_mutex_unlock(&d->lock);
}

/* The crossover of the two fitted lines a + b * size, if they cross. */
static int crossover(const struct coren_dispatcher *d, double *out)
{
	double a[2], b[2];

	for (int t = 0; t < 2; t++) {
		double den = d->n[t] * d->sxx[t] - d->sx[t] * d->sx[t];

		if (d->n[t] < COREN_DISPATCH_MIN_SAMPLES || den <= 0)
			return -1;
		b[t] = (d->n[t] * d->sxy[t] - d->sx[t] * d->sy[t]) / den;
		a[t] = (d->sy[t] - b[t] * d->sx[t]) / d->n[t];
	}
	/* The GPU pays more to start and less per item: cross where equal. */
	if (b[COREN_TARGET_CPU] <= b[COREN_TARGET_GPU])
		*out = COREN_DISPATCH_THRESHOLD_MAX;
	else
		*out = (a[COREN_TARGET_GPU] - a[COREN_TARGET_CPU]) /
		       (b[COREN_TARGET_CPU] - b[COREN_TARGET_GPU]);
	return 0;
}

void coren_dispatch_record(struct coren_dispatcher *d,
			   enum coren_dispatch_target target, uint64_t size,
			   double ns)
{
	double x = (double)size, c;
	int t = target == COREN_TARGET_GPU;

	pthread_mutex_lock(&d->lock);
	d->n[t] += 1;
	d->sx[t] += x;
	d->sy[t] += ns;
	d->sxx[t] += x * x;
	d->sxy[t] += x * ns;
	d->stats.samples[t]++;
	if (d->mode == COREN_DISPATCH_ADAPTIVE && !crossover(d, &c))
		d->threshold = clamp_threshold(c);
	d->stats.threshold = d->threshold;
	pthread_mutex_unlock(&d->lock);
}

uint64_t coren_dispatch_threshold(struct coren_dispatcher *d)
{
	uint64_t t;

	pthread_mutex_lock(&d->lock);
	t = d->threshold;
	pthread_mutex_unlock(&d->lock);
	return t;
}

void coren_dispatch_get_stats(struct coren_dispatcher *d,
			      struct coren_dispatch_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	pthread_mutex_unlock(&d->lock);
}
