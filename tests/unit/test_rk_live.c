/* test_rk_live - liveness of K2K by construction (issue 21 a): over random
 * topologies of forward, echo and saxpy kernels (chains, cycles, fan-in,
 * fan-out, random routes) with small inboxes, 100000 messages each get
 * exactly one answer (a result, or a max_hops, queue_full or timeout
 * error), no answer is ever longer in coming than the delivery timeout,
 * and a host that sends to a deactivated kernel with a full queue is
 * answered within the delivery timeout. An alarm turns a stall into a
 * failure. Seed: COREN_TEST_SEED (default 21). */
#include "config.h"

#include "tap.h"

#include <coren/rk.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef LIVE_N
#define N LIVE_N
#else
#define N 100000 /* messages per topology */
#endif
#define KERNELS_MAX 8
#define TIMEOUT_MS  1000

static const char *dirs[3];
static struct coren_plugin *cpu, *fwd, *echo, *saxpy;
static uint64_t rng = 21;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct coren_plugin *open_plugin(const char *name,
					enum coren_plugin_kind kind)
{
	struct coren_plugin *p = NULL;
	struct coren_error err = {0};

	if (coren_plugin_open(name, kind, dirs, &p, &err))
		printf("# %s\n", err.msg);
	return p;
}

/* A topology: kernel i forwards to to[i] (-1: it answers: echo, or saxpy
 * when odd), and routes "dest>via". */
struct topo {
	const char *name;
	int n;
	int to[KERNELS_MAX];
	int nroutes;
	int route[KERNELS_MAX][2];
	int targets; /* the host sends to kernels 0 .. targets-1 */
};

static int launch(struct coren_rk *rt, const struct topo *t)
{
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	char name[16], via[16];
	int bad = 0;

	l.queue_capacity = 64;
	l.block_size = 32;
	for (int i = 0; i < t->n; i++) {
		json_t *args;

		snprintf(name, sizeof name, "k%d", i);
		if (t->to[i] >= 0) {
			snprintf(via, sizeof via, "k%d", t->to[i]);
			args = json_pack("{s:s}", "to", via);
			bad |= coren_rk_launch(rt, name, fwd, args, &l, NULL,
					       NULL) != COREN_OK;
		} else { /* echo takes no arguments, saxpy a */
			args = i % 2 ? json_pack("{s:f}", "a", 2.0) : NULL;
			bad |=
			    coren_rk_launch(rt, name, i % 2 ? saxpy : echo,
					    args, &l, NULL, NULL) != COREN_OK;
		}
		json_decref(args);
	}
	for (int r = 0; r < t->nroutes; r++) {
		snprintf(name, sizeof name, "k%d", t->route[r][0]);
		snprintf(via, sizeof via, "k%d", t->route[r][1]);
		bad |= coren_rk_route(rt, name, via, NULL) != COREN_OK;
	}
	return bad;
}

/* The answers of one run: each correlation id seen once, and the longest
 * wait between two batches. */
struct answers {
	unsigned char *seen;
	uint64_t got, errors, dup;
	double longest, last;
};

static void take(void *data, struct coren_rk_msg **m, size_t k)
{
	struct answers *a = data;

	if (k) {
		double now = now_s();

		if (now - a->last > a->longest)
			a->longest = now - a->last;
		a->last = now;
	}
	for (size_t i = 0; i < k; i++) {
		uint64_t c = m[i]->hdr.correlation_id;

		if (c == 0 || c > N || a->seen[c]++)
			a->dup++;
		a->errors += !!(m[i]->hdr.flags & COREN_ENV_F_ERROR);
		coren_rk_msg_free(m[i]);
	}
	a->got += k;
}

/* Sends N messages from one thread through coren_rk_make_room (as
 * rk-launch does), and checks one answer each. */
static void run(const struct topo *t)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_msg *batch[64];
	struct answers a = {calloc(N + 1, 1), 0, 0, 0, 0, 0};
	uint64_t sent = 0;
	double t0 = now_s();
	struct coren_rk *rt = NULL;
	int stuck = 0, all = 1;
	float xy[2] = {1, 2};

	a.last = t0;
	cfg.inbox_capacity = 64;
	cfg.outbox_capacity = 4096;
	cfg.delivery_timeout_ms = TIMEOUT_MS;
	if (coren_rk_new(&cfg, &rt, NULL) ||
	    coren_rk_add_backend(rt, cpu, NULL, NULL) || launch(rt, t)) {
		ok(0, "%s: launched", t->name);
		coren_rk_free(rt); /* its workers run the cpu plugin's code */
		free(a.seen);
		return;
	}
	while (!stuck && sent < N) {
		size_t k;

		for (k = 0; k < 64 && sent < N; k++) {
			batch[k] = coren_rk_msg_new(8);
			memcpy(batch[k]->payload, xy, 8);
			batch[k]->hdr.payload_size = 8;
			batch[k]->hdr.encoding = COREN_RK_ENC_F32;
			batch[k]->hdr.destination =
			    (uint32_t)(next_rand() % (uint64_t)t->targets) + 1;
			batch[k]->hdr.correlation_id = ++sent;
		}
		if ((stuck = coren_rk_make_room(rt, k, TIMEOUT_MS + 2000, take, &a,
						NULL) != COREN_OK))
			for (size_t i = 0; i < k; i++)
				coren_rk_msg_free(batch[i]);
		else
			coren_rk_send(rt, batch, k);
	}
	stuck |= coren_rk_make_room(rt, SIZE_MAX, TIMEOUT_MS + 2000, take, &a, NULL) !=
		 COREN_OK;
	for (uint64_t c = 1; c <= N; c++)
		all &= a.seen[c] == 1;
	ok(!stuck && a.got == N && all && !a.dup,
	   "%s: %d messages, one answer each (%llu errors, %.2f s, longest "
	   "wait %.3f s)",
	   t->name, N, (unsigned long long)a.errors, now_s() - t0, a.longest);
	ok(a.longest < TIMEOUT_MS / 1000.0 + 1,
	   "%s: no answer waited past the delivery timeout", t->name);
	coren_rk_free(rt);
	free(a.seen);
}

static void random_topo(struct topo *t, int idx)
{
	static char names[4][32];

	memset(t, 0, sizeof *t);
	snprintf(names[idx], sizeof names[idx], "random %d", idx);
	t->name = names[idx];
	t->n = 3 + (int)(next_rand() % 5);
	for (int i = 0; i < t->n; i++)
		t->to[i] =
		    next_rand() % 4 ? (int)(next_rand() % (uint64_t)t->n) : -1;
	t->nroutes = (int)(next_rand() % 3);
	for (int r = 0; r < t->nroutes; r++) {
		t->route[r][0] = (int)(next_rand() % (uint64_t)t->n);
		t->route[r][1] = (int)(next_rand() % (uint64_t)t->n);
	}
	t->targets = 1 + (int)(next_rand() % (uint64_t)t->n);
}

/* A host that sends to a deactivated kernel whose queue is full waits the
 * delivery timeout at most, then the rest are answered with errors. */
static void deactivated(void)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk_msg *batch[20], *m[32];
	struct coren_rk *rt;
	size_t got = 0, errors = 0;
	double t0;
	uint32_t id;

	cfg.delivery_timeout_ms = 200;
	l.queue_capacity = 4;
	l.auto_activate = false;
	coren_rk_new(&cfg, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	coren_rk_launch(rt, "e", echo, NULL, &l, &id, NULL);
	for (int i = 0; i < 20; i++) {
		batch[i] = coren_rk_msg_new(0);
		batch[i]->hdr.destination = id;
		batch[i]->hdr.correlation_id = (uint64_t)i + 1;
	}
	t0 = now_s();
	coren_rk_send(rt, batch, 20);
	ok(now_s() - t0 < 2,
	   "send to a launched kernel with a full queue returns (%.2f s)",
	   now_s() - t0);
	for (size_t k; (k = coren_rk_recv(rt, m, 32, 100));) {
		for (size_t i = 0; i < k; i++) {
			errors += !!(m[i]->hdr.flags & COREN_ENV_F_ERROR);
			coren_rk_msg_free(m[i]);
		}
		got += k;
	}
	is_int((int)got, 16,
	       "the 16 that found no room are answered with errors");
	is_int((int)errors, 16, "each an error");
	coren_rk_activate(rt, id, NULL);
	got = 0;
	for (size_t k; got < 4 && (k = coren_rk_recv(rt, m, 32, 2000));) {
		for (size_t i = 0; i < k; i++)
			coren_rk_msg_free(m[i]);
		got += k;
	}
	is_int((int)got, 4, "the 4 queued are answered once it is active");
	coren_rk_free(rt);
}

/* A handler that hangs fails its kernel within kernel_timeout_ms: every
 * message still gets one answer, the other kernel goes on. */
static void hung(struct coren_plugin *stall)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk_msg *batch[300], *m[64];
	unsigned char seen[301] = {0};
	struct coren_rk_status st;
	struct coren_rk *rt;
	size_t got = 0, errors = 0, dup = 0;
	uint32_t s, e;

	cfg.kernel_timeout_ms = 100;
	l.grid_size = 2;
	l.block_size = 8;
	coren_rk_new(&cfg, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	ok(!coren_rk_launch(rt, "s", stall, NULL, &l, &s, NULL) &&
	   !coren_rk_launch(rt, "e", echo, NULL, &l, &e, NULL), "stall and echo, 2 workers each");
	for (int i = 0; i < 300; i++) {
		float x = i == 100 ? -1.0f : (float)i;

		batch[i] = coren_rk_msg_new(4);
		memcpy(batch[i]->payload, &x, 4);
		batch[i]->hdr.payload_size = 4;
		batch[i]->hdr.encoding = COREN_RK_ENC_F32;
		batch[i]->hdr.destination = i % 3 == 2 ? e : s;
		batch[i]->hdr.correlation_id = (uint64_t)i + 1;
	}
	coren_rk_send(rt, batch, 300);
	for (size_t k; got < 300 && (k = coren_rk_recv(rt, m, 64, 2000));) {
		for (size_t i = 0; i < k; i++) {
			uint64_t c = m[i]->hdr.correlation_id;

			dup += c == 0 || c > 300 || seen[c]++;
			errors += !!(m[i]->hdr.flags & COREN_ENV_F_ERROR);
			coren_rk_msg_free(m[i]);
		}
		got += k;
	}
	ok(got == 300 && !dup, "300 messages, one answer each, %zu of them errors", errors);
	ok(errors >= 1 && errors <= 200, "the hung one is among the errors");
	coren_rk_status(rt, s, &st, NULL);
	is_str(coren_rk_state_name(st.state), "failed", "the stalled kernel failed");
	coren_rk_status(rt, e, &st, NULL);
	ok(st.state == COREN_RK_ACTIVE && st.replied == 100, "echo answered its 100");
	is_u64(coren_rk_abandoned(rt), 1, "one thread abandoned");
	coren_rk_free(rt);
}

/* coren_rk_recv waits up to its timeout for the first answer: a doorbell
 * rung for answers an earlier recv already took (4 workers answer at once,
 * each ringing after it queued) must not end a later wait early with
 * nothing. */
static void recv_waits(void)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk_msg *m[64];
	struct coren_rk *rt;
	unsigned early = 0;
	uint32_t e;

	l.grid_size = 4;
	coren_rk_new(&cfg, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	coren_rk_launch(rt, "e", echo, NULL, &l, &e, NULL);
	for (int i = 0; i < 300; i++) {
		struct coren_rk_msg *q[16];
		size_t got = 0, k;
		double t0;

		for (int j = 0; j < 16; j++) {
			q[j] = coren_rk_msg_new(0);
			q[j]->hdr.destination = e;
			q[j]->hdr.correlation_id = (uint64_t)j + 1;
		}
		coren_rk_send(rt, q, 16);
		while (got < 16 && (k = coren_rk_recv(rt, m, 64, 1000))) {
			for (size_t j = 0; j < k; j++)
				coren_rk_msg_free(m[j]);
			got += k;
		}
		t0 = now_s();
		if (!coren_rk_recv(rt, m, 64, 2) && now_s() - t0 < 0.0015)
			early++; /* nothing came, yet it did not wait 2 ms */
	}
	is_int((int)early, 0, "recv with nothing to take waits its whole timeout");
	coren_rk_free(rt);
}

int main(void)
{
	char *env = getenv("COREN_RK_PLUGINS")
			? strdup(getenv("COREN_RK_PLUGINS"))
			: NULL;
	static const struct topo fixed[] = {
	    {"chain", 4, {1, 2, 3, -1}, 0, {{0}}, 1},
	    {"cycle", 2, {1, 0}, 0, {{0}}, 2},
	    {"fan-in", 5, {4, 4, 4, 4, -1}, 0, {{0}}, 4},
	    {"fan-out and a routed cycle",
	     4,
	     {-1, 2, 1, -1},
	     2,
	     {{0, 1}, {3, 2}},
	     4},
	};
	struct topo t;

	if (!env) {
		printf("1..0 # SKIP COREN_RK_PLUGINS is not set (run through "
		       "make check)\n");
		return 0;
	}
	if (getenv("COREN_TEST_SEED"))
		rng = strtoull(getenv("COREN_TEST_SEED"), NULL, 10) | 1;
	setvbuf(stdout, NULL, _IOLBF,
		0); /* what passed shows when the alarm ends it */
	printf("# seed %llu\n", (unsigned long long)rng);
	alarm(120); /* a stall is a failure, not a hung suite */
	dirs[0] = env;
	dirs[1] = strchr(env, ':') ? strchr(env, ':') + 1 : NULL;
	if (dirs[1])
		*strchr(env, ':') = '\0';
	cpu = open_plugin("cpu", COREN_PLUGIN_BACKEND);
	fwd = open_plugin("forward", COREN_PLUGIN_KERNEL);
	echo = open_plugin("echo", COREN_PLUGIN_KERNEL);
	saxpy = open_plugin("saxpy", COREN_PLUGIN_KERNEL);
	ok(cpu && fwd && echo && saxpy, "plugins load");
	if (cpu && fwd && echo && saxpy) {
		for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
			run(&fixed[i]);
		for (int i = 0; i < 2; i++) {
			random_topo(&t, i);
			run(&t);
		}
		deactivated();
		recv_waits();
	}
	if (getenv("COREN_TEST_PLUGINS") && cpu && echo) {
		struct coren_plugin *stall = NULL;
		const char *tdirs[2] = {getenv("COREN_TEST_PLUGINS"), NULL};

		coren_plugin_open("stall", COREN_PLUGIN_KERNEL, tdirs, &stall, NULL);
		ok(stall != NULL, "the stall kernel loads");
		if (stall)
			hung(stall);
		/* stall stays loaded: a thread of it is still asleep */
	}
	coren_plugin_free(cpu);
	coren_plugin_free(fwd);
	coren_plugin_free(echo);
	coren_plugin_free(saxpy);
	free(env);
	return done_testing();
}
