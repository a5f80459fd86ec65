/* test_rk - the runtime with the CPU backend and the shipped kernels
 * (COREN_RK_PLUGINS): exactly one answer per message, life cycle, status,
 * K2K chains, errors, the guard at launch, topologies. */
#include "config.h"

#include "tap.h"

#include <coren/rk.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static const char *dirs[3];

static struct coren_plugin *open_plugin(const char *name, enum coren_plugin_kind kind)
{
	struct coren_plugin *p = NULL;
	struct coren_error err = {0};

	if (coren_plugin_open(name, kind, dirs, &p, &err))
		printf("# %s\n", err.msg);
	return p;
}

static struct coren_rk_msg *f32_msg(uint32_t to, uint64_t corr, const float *v, size_t n)
{
	struct coren_rk_msg *m = coren_rk_msg_new(n * 4);

	memcpy(m->payload, v, n * 4);
	m->hdr.payload_size = (uint32_t)(n * 4);
	m->hdr.encoding = COREN_RK_ENC_F32;
	m->hdr.destination = to;
	m->hdr.correlation_id = corr;
	return m;
}

/* Receives until n answers came (or 5 s passed); counts each corr. */
static size_t collect(struct coren_rk *rt, size_t n, unsigned char *seen,
		      size_t nseen, int *dup, size_t *errors)
{
	struct coren_rk_msg *m[128];
	size_t got = 0;
	int idle = 0;

	while (got < n && idle < 100) {
		size_t k = coren_rk_recv(rt, m, 128, 50);

		idle = k ? 0 : idle + 1;
		for (size_t i = 0; i < k; i++) {
			uint64_t c = m[i]->hdr.correlation_id;

			if (c < nseen && seen[c]++)
				*dup = 1;
			if (errors && m[i]->hdr.flags & COREN_ENV_F_ERROR)
				(*errors)++;
			coren_rk_msg_free(m[i]);
		}
		got += k;
	}
	return got;
}

static void echo_many(struct coren_plugin *cpu, struct coren_plugin *echo)
{
	struct coren_rk *rt;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk_status st;
	enum { N = 200000 };
	unsigned char *seen = calloc(N + 1, 1);
	struct coren_rk_msg *batch[100];
	uint32_t id;
	int dup = 0, all = 1;
	size_t got = 0;
	float x = 1;

	ok(!coren_rk_new(NULL, &rt, NULL) && !coren_rk_add_backend(rt, cpu, NULL, NULL),
	   "runtime with the cpu backend");
	l.grid_size = 2;
	l.queue_capacity = 256;
	ok(!coren_rk_launch(rt, "echo", echo, NULL, &l, &id, NULL) && id == 1, "echo launched");
	for (uint64_t c = 1; c <= N;) {
		size_t n = 0;

		for (; n < 100 && c <= N; n++, c++)
			batch[n] = f32_msg(id, c, &x, 1);
		coren_rk_send(rt, batch, n);
		got += collect(rt, 0, seen, N + 1, &dup, NULL);
		{
			struct coren_rk_msg *m[256];
			size_t k = coren_rk_recv(rt, m, 256, 0);

			for (size_t i = 0; i < k; i++) {
				uint64_t cc = m[i]->hdr.correlation_id;

				if (cc <= N && seen[cc]++)
					dup = 1;
				coren_rk_msg_free(m[i]);
			}
			got += k;
		}
	}
	got += collect(rt, N - got, seen, N + 1, &dup, NULL);
	for (size_t c = 1; c <= N; c++)
		all &= seen[c] == 1;
	ok(got == N && all && !dup, "200000 messages, 2 workers: each answered exactly once");
	is_u64(coren_rk_in_flight(rt), 0, "nothing in flight");
	ok(!coren_rk_status(rt, id, &st, NULL) && st.processed == N && st.replied == N &&
	   st.state == COREN_RK_ACTIVE, "status: processed and replied, active");
	ok(!coren_rk_terminate(rt, id, NULL) && !coren_rk_status(rt, id, &st, NULL) &&
	   st.state == COREN_RK_TERMINATED, "terminated");
	coren_rk_free(rt);
	free(seen);
}

/* What one_thread's answers add up to. */
struct taken {
	uint64_t got, corr_sum, pauses;
};

static void take(void *data, struct coren_rk_msg **m, size_t n)
{
	struct taken *t = data;

	t->pauses += n == 0;
	for (size_t i = 0; i < n; i++) {
		t->corr_sum += m[i]->hdr.correlation_id;
		coren_rk_msg_free(m[i]);
	}
	t->got += n;
}

/* One thread sends and receives through coren_rk_make_room (as rk-launch
 * does): with a 512-answer outbox and a 64-message queue, 100000 messages
 * go through without deadlock, the backlog never past the outbox. */
static void one_thread(struct coren_plugin *cpu, struct coren_plugin *echo)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk *rt;
	struct coren_rk_msg *batch[100];
	struct taken t = {0, 0, 0};
	uint64_t sent = 0, over = 0;
	uint32_t id;
	float x = 2;
	int stuck = 0;

	cfg.outbox_capacity = 500; /* rounded up to 512 */
	l.queue_capacity = 64;
	ok(!coren_rk_new(&cfg, &rt, NULL) && !coren_rk_add_backend(rt, cpu, NULL, NULL) &&
	   !coren_rk_launch(rt, "echo", echo, NULL, &l, &id, NULL), "small outbox, small queue");
	is_u64(coren_rk_outbox_capacity(rt), 512, "outbox capacity is a power of two");
	while (!stuck && sent < 100000) {
		size_t k;

		for (k = 0; k < 100; k++)
			batch[k] = f32_msg(id, ++sent, &x, 1);
		stuck = coren_rk_make_room(rt, k, 2000, take, &t, NULL) != COREN_OK;
		over += !coren_rk_room(rt, k);
		coren_rk_send(rt, batch, k);
		over += coren_rk_backlog(rt) > 512;
	}
	stuck |= coren_rk_make_room(rt, SIZE_MAX, 2000, take, &t, NULL) != COREN_OK;
	ok(!stuck && t.got == 100000 && t.corr_sum == 100000ull * 100001 / 2,
	   "100000 sent and received by one thread: %llu answers",
	   (unsigned long long)t.got);
	is_u64(over, 0, "the backlog never passed the outbox");
	is_u64(coren_rk_backlog(rt), 0, "backlog 0 once all are taken (room for SIZE_MAX)");
	coren_rk_free(rt);
}

/* coren_rk_make_room gives up after timeout_ms without an answer (a
 * deactivated kernel answers nothing), telling its caller of the pause. */
static void room_timeout(struct coren_plugin *cpu, struct coren_plugin *echo)
{
	struct coren_rk_config cfg = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_error err = {0};
	struct coren_rk_msg *batch[8];
	struct taken t = {0, 0, 0};
	struct coren_rk *rt;
	uint32_t id;
	float x = 1;

	cfg.outbox_capacity = 8;
	l.auto_activate = false;
	if (coren_rk_new(&cfg, &rt, NULL) || coren_rk_add_backend(rt, cpu, NULL, NULL) ||
	    coren_rk_launch(rt, "held", echo, NULL, &l, &id, NULL)) {
		ok(0, "launched, not active");
		return;
	}
	ok(coren_rk_room(rt, 8) && !coren_rk_make_room(rt, 8, 0, take, &t, NULL),
	   "room for a whole outbox: no wait");
	for (int i = 0; i < 8; i++)
		batch[i] = f32_msg(id, (uint64_t)i + 1, &x, 1);
	coren_rk_send(rt, batch, 8);
	ok(!coren_rk_room(rt, 1), "a full backlog leaves no room");
	is_int(coren_rk_make_room(rt, 1, 120, take, &t, &err), COREN_ERR_TIMEOUT,
	       "no answer in 120 ms: COREN_ERR_TIMEOUT (%s)", err.msg);
	ok(t.got == 0 && t.pauses >= 1, "take heard of the pause, with no answer");
	coren_rk_activate(rt, id, NULL);
	ok(!coren_rk_make_room(rt, SIZE_MAX, 5000, take, &t, NULL) && t.got == 8,
	   "once active, all 8 answers taken");
	coren_rk_free(rt);
}

/* Messages allocated on one thread and freed on another (the host reader
 * and writer) keep their capacity and contents. */
struct pool_run {
	struct coren_queue *q;
	long n, bad;
};

static void *pool_consumer(void *arg)
{
	struct pool_run *p = arg;
	long got = 0;

	while (got < p->n) {
		struct coren_rk_msg *m;

		if (!coren_queue_pop_n(p->q, &m, 1))
			continue;
		for (uint32_t i = 0; i < m->hdr.payload_size; i++)
			p->bad += m->payload[i] != (unsigned char)(m->hdr.correlation_id + i);
		p->bad += m->capacity < m->hdr.payload_size;
		coren_rk_msg_free(m);
		got++;
	}
	return NULL;
}

static void pool(void)
{
	struct pool_run p = {NULL, 300000, 0};
	pthread_t th;
	long fails = 0;

	coren_queue_new(COREN_QUEUE_SPSC, 1024, sizeof(struct coren_rk_msg *), &p.q, NULL);
	pthread_create(&th, NULL, pool_consumer, &p);
	for (long c = 0; c < p.n; c++) {
		size_t size = (size_t)(c * 7 % 600);
		struct coren_rk_msg *m = coren_rk_msg_new(size);

		if (!m || m->capacity < size || m->hdr.payload_size) {
			fails++;
			coren_rk_msg_free(m);
			m = coren_rk_msg_new(0);
		}
		m->hdr.correlation_id = (uint64_t)c;
		m->hdr.payload_size = (uint32_t)(size <= m->capacity ? size : 0);
		for (size_t i = 0; i < m->hdr.payload_size; i++)
			m->payload[i] = (unsigned char)(c + (long)i);
		while (!coren_queue_push_n(p.q, &m, 1))
			;
	}
	pthread_join(th, NULL);
	coren_queue_free(p.q);
	is_int(fails, 0, "300000 new messages: fresh header, capacity at least asked");
	is_int(p.bad, 0, "freed on another thread: contents intact until then");
}

static void life_cycle(struct coren_plugin *cpu, struct coren_plugin *echo)
{
	struct coren_rk *rt;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_error err = {0};
	struct coren_rk_status st;
	struct coren_rk_msg *m, *got;
	float x = 2;
	uint32_t id;
	unsigned char seen[4] = {0};
	int dup = 0;
	size_t errors = 0;

	coren_rk_new(NULL, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	l.auto_activate = false;
	coren_rk_launch(rt, "e", echo, NULL, &l, &id, NULL);
	coren_rk_status(rt, id, &st, NULL);
	is_str(coren_rk_state_name(st.state), "launched", "launched, not active");
	m = f32_msg(id, 1, &x, 1);
	coren_rk_send(rt, &m, 1);
	usleep(20000);
	is_int(coren_rk_recv(rt, &got, 1, 0), 0, "a launched kernel does not process");
	ok(!coren_rk_activate(rt, id, NULL), "activate");
	is_int(coren_rk_activate(rt, id, &err), COREN_ERR_STATE,
	       "activating an active kernel is COREN_ERR_STATE");
	ok(strstr(err.msg, "kernel 'e' is active, cannot become active") != NULL, "message: %s",
	   err.msg);
	ok(collect(rt, 1, seen, 4, &dup, NULL) == 1, "then it answers");
	ok(!coren_rk_deactivate(rt, id, NULL), "deactivate");
	is_int(coren_rk_deactivate(rt, id, &err), COREN_ERR_STATE,
	       "deactivating a deactivated kernel too");
	m = f32_msg(id, 2, &x, 1);
	coren_rk_send(rt, &m, 1);
	usleep(20000);
	is_int(coren_rk_recv(rt, &got, 1, 0), 0, "a deactivated kernel holds its messages");
	is_u64(coren_rk_in_flight(rt), 1, "one in flight");
	ok(!coren_rk_activate(rt, id, NULL), "reactivate");
	ok(collect(rt, 1, seen, 4, &dup, NULL) == 1, "the held message is answered");
	ok(!coren_rk_terminate(rt, id, NULL), "terminate");
	is_int(coren_rk_activate(rt, id, &err), COREN_ERR_STATE, "terminated is final");
	ok(strstr(err.msg, "terminated") != NULL, "message: %s", err.msg);
	m = f32_msg(id, 3, &x, 1);
	coren_rk_send(rt, &m, 1);
	ok(collect(rt, 1, seen, 4, &dup, &errors) == 1 && errors == 1,
	   "a message for a terminated kernel is answered with an error");
	m = f32_msg(77, 0, &x, 1);
	coren_rk_send(rt, &m, 1);
	ok(collect(rt, 1, seen, 4, &dup, &errors) == 1 && errors == 2,
	   "and one for no kernel at all");
	is_int(coren_rk_deactivate(rt, 99, &err), COREN_ERR_NOTFOUND, "no kernel 99");
	coren_rk_free(rt);
}

static void chain(struct coren_plugin *cpu, struct coren_plugin *fwd,
		  struct coren_plugin *saxpy)
{
	struct coren_rk *rt;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_rk_msg *m, *got[4];
	json_t *a1 = json_pack("{s:s}", "to", "b"), *a2 = json_pack("{s:s}", "to", "s"),
	       *a3 = json_pack("{s:f}", "a", 3.0);
	float xy[4] = {1, 2, 10, 20};
	struct coren_rk_status st;
	size_t k = 0;

	coren_rk_new(NULL, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	ok(!coren_rk_launch(rt, "a", fwd, a1, &l, NULL, NULL) &&
	   !coren_rk_launch(rt, "b", fwd, a2, &l, NULL, NULL) &&
	   !coren_rk_launch(rt, "s", saxpy, a3, &l, NULL, NULL), "a -> b -> saxpy");
	m = f32_msg(1, 42, xy, 4);
	coren_rk_send(rt, &m, 1);
	for (int i = 0; i < 100 && !k; i++)
		k = coren_rk_recv(rt, got, 4, 50);
	ok(k == 1 && got[0]->hdr.correlation_id == 42 && got[0]->hdr.source == 3 &&
	   got[0]->hdr.payload_size == 8 && ((float *)got[0]->payload)[0] == 13 &&
	   ((float *)got[0]->payload)[1] == 26, "the answer comes from saxpy: [13, 26]");
	if (k)
		coren_rk_msg_free(got[0]);
	coren_rk_status(rt, 1, &st, NULL);
	is_u64(st.forwarded, 1, "a forwarded one");
	coren_rk_free(rt);
	json_decref(a1);
	json_decref(a2);
	json_decref(a3);
}

static void guarded(struct coren_plugin *cpu, struct coren_plugin *echo)
{
	struct coren_rk_config c = COREN_RK_CONFIG_INIT;
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_error err = {0};
	struct coren_rk *rt;
	uint64_t est;

	c.max_memory = 1 << 20;
	coren_rk_new(&c, &rt, NULL);
	coren_rk_add_backend(rt, cpu, NULL, NULL);
	est = coren_rk_memory_estimate(rt, &l);
	ok(est > (1 << 20), "the default launch may hold %llu bytes", (unsigned long long)est);
	is_int(coren_rk_launch(rt, "e", echo, NULL, &l, NULL, &err), COREN_ERR_LIMIT,
	       "a launch past the guard is refused");
	ok(strstr(err.msg, "cannot launch 'e'") != NULL, "message: %s", err.msg);
	l.queue_capacity = 4;
	l.k2k = false;
	ok(!coren_rk_launch(rt, "e", echo, NULL, &l, NULL, &err), "a small one fits: %s", err.msg);
	is_int(coren_rk_launch(rt, "e", echo, NULL, &l, NULL, &err), COREN_ERR_USAGE,
	       "names are unique");
	coren_rk_free(rt);
}

/* A backend whose operations table ends after reset: activating and
 * deactivating a kernel on it never read wake past its struct_size. */
static void short_backend(struct coren_plugin *echo)
{
	const char *tdirs[2] = {getenv("COREN_TEST_PLUGINS"), NULL};
	struct coren_rk_launch l = COREN_RK_LAUNCH_INIT;
	struct coren_plugin *b = NULL;
	struct coren_rk *rt;
	json_t *r;
	uint32_t id;

	if (!tdirs[0] || coren_plugin_open("shortbackend", COREN_PLUGIN_BACKEND, tdirs, &b, NULL)) {
		ok(0, "the shortbackend test plugin loads");
		return;
	}
	l.auto_activate = false;
	coren_rk_new(NULL, &rt, NULL);
	ok(!coren_rk_add_backend(rt, b, NULL, NULL) &&
	   !coren_rk_launch(rt, "e", echo, NULL, &l, &id, NULL), "a backend with a short table");
	ok(!coren_rk_activate(rt, id, NULL) && !coren_rk_deactivate(rt, id, NULL),
	   "activate and deactivate: no wake read past its end");
	r = coren_rk_status_json(rt, id);
	ok(r && !json_object_get(r, "backend_state"), "no actor_status read either");
	json_decref(r);
	r = coren_rk_plugin_json(b);
	ok(r != NULL, "its plugin record");
	json_decref(r);
	coren_rk_free(rt);
	coren_plugin_free(b);
}

static void topology(void)
{
	struct coren_rk_topology t;
	struct coren_rk_system s;
	struct coren_error err = {0};
	char path[] = "/tmp/test_rk.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	json_t *args;

	fputs("k2k: true\nqueue_capacity: 64\nkernels:\n"
	      "  - {name: f, plugin: forward, args: {to: e}}\n"
	      "  - {name: e, plugin: echo, grid_size: 2}\n"
	      "routes: [\"e>f\"]\n", f);
	fclose(f);
	coren_rk_topology_init(&t);
	ok(!coren_rk_topology_load(&t, path, &err), "topology loads: %s", err.msg);
	ok(t.nkernels == 2 && t.launch.k2k && t.launch.queue_capacity == 64 &&
	   t.kernels[1].launch.grid_size == 2 && t.nroutes == 1, "its settings");
	ok(!coren_rk_system_start(&s, &t, dirs, &err), "starts: %s", err.msg);
	ok(!coren_rk_system_stop(&s, &t, &err), "stops");
	coren_rk_topology_release(&t);

	f = fopen(path, "w");
	fputs("kernels:\n  - {name: f, plugin: forward, colour: red}\n", f);
	fclose(f);
	coren_rk_topology_init(&t);
	is_int(coren_rk_topology_load(&t, path, &err), COREN_ERR_CONFIG, "an unknown key");
	ok(strstr(err.where, ":2:") != NULL && strstr(err.msg, "colour"), "at %s: %s",
	   err.where, err.msg);
	coren_rk_topology_release(&t);
	unlink(path);

	coren_rk_topology_init(&t);
	is_int(coren_rk_topology_add_kernel(&t, "noplugin", &err), COREN_ERR_USAGE,
	       "-k needs NAME=PLUGIN");
	is_int(coren_rk_topology_add_route(&t, "a>b>c", &err), COREN_ERR_USAGE,
	       "a route is DEST>VIA");
	ok(!coren_rk_topology_add_kernel(&t, "h=histogram:bins=4,lo=-1,hi=[1]", &err),
	   "-k with arguments");
	args = t.kernels[0].args;
	ok(json_integer_value(json_object_get(args, "bins")) == 4 &&
	   json_integer_value(json_object_get(args, "lo")) == -1 &&
	   json_is_array(json_object_get(args, "hi")), "arguments typed as JSON");
	coren_rk_topology_release(&t);
	ok(!coren_rk_parse_args("to=b,name=x y", &args, NULL) &&
	   !strcmp(json_string_value(json_object_get(args, "name")), "x y"),
	   "a value that is not JSON is a string");
	json_decref(args);
}

int main(void)
{
	char *env = getenv("COREN_RK_PLUGINS") ? strdup(getenv("COREN_RK_PLUGINS")) : NULL;
	struct coren_plugin *cpu, *echo, *fwd, *saxpy;

	if (!env) {
		printf("1..0 # SKIP COREN_RK_PLUGINS is not set (run through make check)\n");
		return 0;
	}
	dirs[0] = env;
	dirs[1] = strchr(env, ':') ? strchr(env, ':') + 1 : NULL;
	if (dirs[1])
		*strchr(env, ':') = '\0';
	cpu = open_plugin("cpu", COREN_PLUGIN_BACKEND);
	echo = open_plugin("echo", COREN_PLUGIN_KERNEL);
	fwd = open_plugin("forward", COREN_PLUGIN_KERNEL);
	saxpy = open_plugin("saxpy", COREN_PLUGIN_KERNEL);
	ok(cpu && echo && fwd && saxpy, "plugins load");
	pool();
	if (cpu && echo && fwd && saxpy) {
		echo_many(cpu, echo);
		one_thread(cpu, echo);
		room_timeout(cpu, echo);
		life_cycle(cpu, echo);
		chain(cpu, fwd, saxpy);
		guarded(cpu, echo);
		short_backend(echo);
		topology();
	}
	coren_plugin_free(cpu);
	coren_plugin_free(echo);
	coren_plugin_free(fwd);
	coren_plugin_free(saxpy);
	free(env);
	return done_testing();
}
