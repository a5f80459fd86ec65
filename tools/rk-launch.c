/* rk-launch - run persistent actor kernels and push messages through them
 * (rk-launch(1)). */
#include "config.h"

#include "common/tool.h"

#include <coren/buf.h>
#include <coren/json.h>
#include <coren/record.h>
#include <coren/rk.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_head[] =
	"usage: rk-launch [OPTION]... -k NAME=PLUGIN[:ARGS]... [FILE]\n"
	"       rk-launch [OPTION]... -c TOPOLOGY.yaml [FILE]\n"
	"       rk-launch --list\n"
	"Launches persistent actor kernels, sends them the 'msg' records (or\n"
	"binary envelopes) read from FILE or stdin, writes each answer, then\n"
	"drains, terminates and writes a 'kernel' record per kernel and a\n"
	"'metrics' record. Every message gets exactly one answer: a 'msg'\n"
	"record, or an 'error' record with its correlation id.\n";

static const char usage_tail[] =
	"\n"
	"A msg record: {\"type\":\"msg\",\"to\":\"NAME\",\"corr\":N,\"payload\":[1,2]}\n"
	"(see coren-records(5)). Other records pass through.\n"
	"Exit status: 0 ok, 2 usage or I/O error, 3 plugin load failure,\n"
	"4 some messages were answered with errors, 5 bad input, 130/143\n"
	"interrupted (SIGINT/SIGTERM).\n"
	"See rk-launch(1), coren-rk(3), coren-envelope(5).\n";

static struct opt {
	struct coren_rk_topology t;
	char *config;
	char **dirs; /* --plugin-dir, NULL-terminated */
	bool list;
	int bin;
	double status_every;
	char *records;
	const char *input, *input_name; /* the name in positions */
} opt;

static enum coren_err set_dir(void *o, const char *v, struct coren_error *e)
{
	char ***dirs = &((struct opt *)o)->dirs;
	size_t n = 0;

	(void)e;
	while (*dirs && (*dirs)[n])
		n++;
	if (!(*dirs = realloc(*dirs, (n + 2) * sizeof **dirs)) ||
	    !((*dirs)[n] = strdup(v)))
		abort();
	(*dirs)[n + 1] = NULL;
	return COREN_OK;
}

#define OPT(member) COREN_SETTING_AT(struct opt, member)

/* rk-launch's own settings, beside the topology's (lib/rk). */
static const struct coren_setting rows[] = {
	{COREN_ROW(STRING, NULL, "config", 'c', "FILE",
		   "a YAML topology: its keys are the settings\n"
		   "below; options override it (a kernel's own\n"
		   "launch keys stay its own)"),
	 OPT(config)},
	{COREN_ROW(STRING, NULL, "records", 0, "FILE",
		   "with --wire bin: where records go (stderr)"),
	 OPT(records)},
	{COREN_ROW(DURATION, NULL, "status", 0, "DURATION",
		   "write kernel records every DURATION"),
	 OPT(status_every)},
	{COREN_ROW(FLAG, NULL, "list", 0, NULL,
		   "list backends and kernels, then exit"),
	 OPT(list)},
	{COREN_ROW(CUSTOM, NULL, "plugin-dir", 0, "DIR",
		   "look for plugins in DIR first (repeatable)"),
	 .set = set_dir},
	TOOL_ROW_END};

static const struct coren_setting what_runs[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nWhat runs:")}, TOOL_ROW_END};
static const struct coren_setting how_launched[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nHow kernels launch:")},
	TOOL_ROW_END};
static const struct coren_setting limits[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nThe runtime's limits:")},
	TOOL_ROW_END};
static const struct coren_setting and[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "\nAnd:")}, TOOL_ROW_END};

static const struct coren_setting common_rows[] = {
	{COREN_ROW(CUSTOM, NULL, "json", 0, NULL,
		   "JSON Lines: what rk-launch always writes (no\n"
		   "table: answers are records for a pipe)"),
	 .set = tool_set_json},
	TOOL_ROW_KEEP_GOING("answer bad input with error records, go on"),
	TOOL_ROW_MAX_RECORD,
	TOOL_ROW_QUIET,
	TOOL_ROW_VERBOSE,
	TOOL_ROW_HELP,
	TOOL_ROW_VERSION,
	TOOL_ROW_END};

static void parse_options(int argc, char **argv)
{
	const struct coren_settings tabs[] = {
		{what_runs, NULL},
		{coren_rk_topology_settings, &opt.t},
		{how_launched, NULL},
		{coren_rk_launch_settings, &opt.t.launch},
		{limits, NULL},
		{coren_rk_config_settings, &opt.t.config},
		{and, NULL},
		{rows, &opt},
		{common_rows, &tool}};
	struct coren_setting_use *uses;
	struct coren_error err = {0};
	size_t nuses;
	int first;

	first = tool_parse(tabs, sizeof tabs / sizeof *tabs, usage_head, usage_tail, argc, argv, &uses,
			   &nuses);
	/* the topology file first: the options override it */
	if (opt.config && coren_rk_topology_load(&opt.t, opt.config, &err))
		tool_die_code(&err, COREN_EXIT_USAGE);
	tool_apply(uses, nuses);
	free(uses);
	if (first + 1 < argc)
		tool_usage_error("one input file at most");
	opt.input = first < argc ? argv[first] : "-";
	opt.input_name = strcmp(opt.input, "-") ? opt.input : "stdin";
	opt.bin = opt.t.wire && !strcmp(opt.t.wire, "bin");
	if (opt.records && !opt.bin)
		tool_usage_error("--records is for --wire bin");
	if (!opt.list && !opt.t.nkernels)
		tool_usage_error("no kernels: give -k NAME=PLUGIN or a topology "
				 "with 'kernels'");
}

/* ---- --list ------------------------------------------------------------------ */

static void list_one(const struct coren_plugin *p, void *data)
{
	json_t *r = coren_rk_plugin_json(p);

	(void)data;
	if (!r || coren_record_write(stdout, r))
		exit(COREN_EXIT_USAGE);
	json_decref(r);
}

static void list_plugins(void)
{
	coren_plugin_list(COREN_PLUGIN_BACKEND, (const char *const *)opt.dirs,
			  list_one, NULL);
	coren_plugin_list(COREN_PLUGIN_KERNEL, (const char *const *)opt.dirs,
			  list_one, NULL);
}

/* ---- output ---------------------------------------------------------------------- */

/*
 * The main thread reads, sends, and writes the answers itself: after each
 * batch it takes what the outbox holds, and it sends only when
 * coren_rk_make_room() says the outbox has room for the answers, so no
 * worker ever waits on it.
 * Two busy threads (main and the worker) fit two cores; a separate writer
 * would make three. The helper thread only writes answers while the main
 * thread may be blocked reading a pipe or terminal (so answers to what was
 * sent come out while the input is idle), and writes --status records.
 * Whoever takes answers holds out.consumer; out.lock orders stdout.
 */
static struct {
	struct coren_rk *rt;
	pthread_t thread;
	pthread_mutex_t lock;	  /* stdout and the records file */
	pthread_mutex_t consumer; /* the outbox, buf, answer_errors */
	struct coren_buf buf;
	struct coren_doorbell bell; /* rung when main may block, or ends */
	_Atomic int done, reading;
	int may_block; /* the input is not a regular file */
	FILE *records;
	uint64_t answer_errors;
	uint64_t bad_input; /* answered with errors under --keep-going */
	struct coren_error io;
} out = {.lock = PTHREAD_MUTEX_INITIALIZER, .consumer = PTHREAD_MUTEX_INITIALIZER};

static const char *from_name(const struct coren_rk_msg *m)
{
	const char *n = coren_rk_kernel_name(out.rt, m->hdr.source);

	return n ? n : "host";
}

static void format(struct coren_buf *b, struct coren_rk_msg *m)
{
	size_t len;

	if (m->hdr.flags & COREN_ENV_F_ERROR)
		out.answer_errors++;
	if (!opt.bin) {
		coren_rk_msg_to_record(m, from_name(m), b);
		return;
	}
	if (!coren_buf_reserve(b, COREN_ENV_HEADER_SIZE + m->hdr.payload_size) &&
	    !coren_env_encode(&m->hdr, m->payload, b->data + b->len,
			      b->alloc - b->len, &len, NULL))
		b->len += len;
}

static void flush(struct coren_buf *b)
{
	if (!b->len)
		return;
	pthread_mutex_lock(&out.lock);
	if (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout))
		coren_error_set(&out.io, COREN_ERR_IO, "write error on stdout");
	pthread_mutex_unlock(&out.lock);
	coren_buf_reset(b);
}

/* Formats k answers and frees them; writes when the buffer is large, or
 * (when the caller is about to wait) when the stream paused. The caller
 * holds out.consumer. */
static void answers(struct coren_rk_msg **m, size_t k, int waiting)
{
	for (size_t i = 0; i < k; i++) {
		if (i + 4 < k) { /* answers come from another core's cache */
			__builtin_prefetch(m[i + 4]);
			__builtin_prefetch((char *)m[i + 4] + 64);
			__builtin_prefetch(m[i + 4]->payload);
		}
		format(&out.buf, m[i]);
		coren_rk_msg_free(m[i]);
	}
	if (out.buf.len >= (1 << 16) || (waiting && k < 256))
		flush(&out.buf);
}

/* Takes up to a batch of answers, waiting up to timeout_ms for the first,
 * and formats them (answers()). Returns how many it took. */
static size_t pump(int timeout_ms, int waiting)
{
	struct coren_rk_msg *m[256];
	size_t k = coren_rk_recv(out.rt, m, 256, timeout_ms);

	answers(m, k, waiting);
	return k;
}

static void take_answers(void *data, struct coren_rk_msg **m, size_t k)
{
	(void)data;
	answers(m, k, 1);
}

/* The main thread: whatever answers are ready, unless the helper has them;
 * written when waiting is set (the main thread is about to block). */
static void pump_ready(int waiting)
{
	if (pthread_mutex_trylock(&out.consumer))
		return;
	while (pump(0, waiting) == 256)
		;
	pthread_mutex_unlock(&out.consumer);
}

/* The main thread: answers until the outbox has room for n more. */
static void make_room(size_t n)
{
	if (coren_rk_room(out.rt, n))
		return;
	pthread_mutex_lock(&out.consumer);
	coren_rk_make_room(out.rt, n, -1, take_answers, NULL, NULL);
	pthread_mutex_unlock(&out.consumer);
}

/* The main thread is about to read and may block: the helper takes over
 * the answers until it is back (reading(0)). */
static void reading(int on)
{
	if (!out.may_block)
		return;
	if (on) {
		pump_ready(1);
		atomic_store(&out.reading, 1);
		coren_doorbell_ring(&out.bell);
	} else {
		atomic_store(&out.reading, 0);
	}
}

/* Writes a record and takes it (not coren_record_write: its per-thread
 * buffer would outlive the helper thread). */
static void write_records(FILE *f, json_t *r)
{
	struct coren_buf b;

	coren_buf_init(&b, 0);
	pthread_mutex_lock(&out.lock);
	if (r && (coren_json_dumpb(r, 0, &b) || coren_buf_putc(&b, '\n') ||
		  fwrite(b.data, 1, b.len, f) != b.len))
		coren_error_set(&out.io, COREN_ERR_IO, "write error");
	fflush(f);
	pthread_mutex_unlock(&out.lock);
	coren_buf_release(&b);
	json_decref(r);
}

static void write_status(void)
{
	for (uint32_t id = 1; id <= coren_rk_kernel_count(out.rt); id++)
		write_records(out.records, coren_rk_status_json(out.rt, id));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *helper_main(void *arg)
{
	double next_status = opt.status_every > 0 ? now_s() + opt.status_every : 0;

	(void)arg;
	while (!atomic_load(&out.done)) {
		int wait_ms = 1000;
		uint32_t seq = coren_doorbell_prepare(&out.bell);

		if (next_status)
			wait_ms = (int)((next_status - now_s()) * 1000) + 1;
		if (atomic_load(&out.reading) || atomic_load(&out.done) || wait_ms <= 0)
			coren_doorbell_cancel(&out.bell);
		else
			coren_doorbell_wait(&out.bell, seq, wait_ms);
		if (atomic_load(&out.reading) && !pthread_mutex_trylock(&out.consumer)) {
			while (atomic_load(&out.reading) && !atomic_load(&out.done) &&
			       (!next_status || now_s() < next_status))
				pump(20, 1);
			pthread_mutex_unlock(&out.consumer);
		}
		if (next_status && now_s() >= next_status) {
			write_status();
			next_status += opt.status_every;
		}
	}
	return NULL;
}

/* ---- signals ---------------------------------------------------------------------- */

/*
 * SIGTERM or SIGINT stops the input: what was read is answered, the
 * records are written, and the exit status is 128 + the signal. A second
 * one ends the process at once. Only the main thread takes them (every
 * other thread blocks them), so its blocking read(2) is what they
 * interrupt.
 */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	if (stop_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

/* A crash in a kernel's handler ends the process (crash isolation in a
 * child process is not done): the report names the kernel. Only
 * async-signal-safe calls here. */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
	while (*s && *n + 1 < cap)
		buf[(*n)++] = *s++;
}

static void on_crash(int sig)
{
	const char *k = coren_rk_handling();
	char msg[160];
	size_t n = 0;

	put(msg, sizeof msg, &n, "rk-launch: error: ");
	if (k) {
		put(msg, sizeof msg, &n, "kernel '");
		put(msg, sizeof msg, &n, k);
		put(msg, sizeof msg, &n, "' crashed");
	} else {
		put(msg, sizeof msg, &n, "crashed");
	}
	put(msg, sizeof msg, &n,
	    sig == SIGSEGV ? " (SIGSEGV)" : sig == SIGBUS ? " (SIGBUS)" :
	    sig == SIGFPE ? " (SIGFPE)" : sig == SIGILL ? " (SIGILL)" : " (SIGABRT)");
	msg[n++] = '\n';
	if (write(2, msg, n) < 0)
		n = 0;
	raise(sig); /* SA_RESETHAND: the default action now */
}

static void crash_reports(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Blocks the stop signals (on: before the other threads start, so that
 * they inherit the mask), or installs the handler and unblocks them in
 * the calling thread. */
static void stop_signals(int block)
{
	struct sigaction sa;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (block) {
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		return;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal; /* no SA_RESTART: a read returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- input ------------------------------------------------------------------------ */

struct batch {
	struct coren_rk_msg *m[256];
	size_t n;
};

static void send_batch(struct batch *bt)
{
	if (!bt->n)
		return;
	make_room(bt->n);
	coren_rk_send(out.rt, bt->m, bt->n);
	bt->n = 0;
	pump_ready(0);
}

/* A bad input item: an error answer (--keep-going), or the end of input. */
static int bad_input(struct batch *bt, const struct coren_error *err,
		     uint64_t corr, struct coren_error *first)
{
	struct coren_rk_msg *m;

	send_batch(bt);
	if (!tool.keep_going || err->code == COREN_ERR_IO || err->code == COREN_ERR_NOMEM) {
		*first = *err;
		return -1;
	}
	if (tool.verbosity)
		tool_report(err);
	out.bad_input++;
	m = coren_rk_msg_new(0);
	if (!m)
		return 0; /* out of memory: reported above, the rest goes on */
	coren_rk_msg_set_error(&m, err->where, err->msg);
	m->hdr.correlation_id = corr;
	make_room(1);
	coren_rk_post(out.rt, m);
	return 0;
}

static uint32_t lookup(void *data, const char *name)
{
	return coren_rk_kernel_id(data, name);
}

static void pass_through(struct batch *bt, const char *line, size_t len)
{
	send_batch(bt);
	pthread_mutex_lock(&out.lock);
	if (coren_record_write_raw(stdout, line, len))
		coren_error_set(&out.io, COREN_ERR_IO, "write error on stdout");
	pthread_mutex_unlock(&out.lock);
}

static void read_json(FILE *in, struct coren_error *first)
{
	struct coren_reader *r = coren_reader_new(in, opt.input_name, tool.max_record);
	struct batch bt = {.n = 0};

	if (!r)
		return (void)coren_error_set(first, COREN_ERR_NOMEM, "out of memory");
	coren_reader_set_interactive(r, 1);
	coren_reader_set_stop(r, &stop_signal);
	for (;;) {
		struct coren_error err; /* not = {0}: 400 bytes a message */
		const char *line;
		size_t len;
		enum coren_err rc;

		err.code = COREN_OK;
		err.where[0] = err.msg[0] = '\0';
		if (!coren_reader_buffered(r)) {
			send_batch(&bt);
			reading(1);
		}
		rc = coren_reader_next_line(r, &line, &len, &err);
		reading(0);
		if ((!rc && !line) || stop_signal)
			break;
		if (!rc)
			rc = coren_rk_msg_from_line(line, len, lookup, out.rt, coren_reader_lineno(r),
						    opt.t.config.max_payload, &bt.m[bt.n], &err);
		if (!rc && !bt.m[bt.n]) {
			pass_through(&bt, line, len);
			continue;
		}
		if (rc) {
			coren_reader_locate(r, &err);
			if (bad_input(&bt, &err, coren_reader_lineno(r), first))
				break;
			continue;
		}
		if (++bt.n == sizeof bt.m / sizeof *bt.m)
			send_batch(&bt);
	}
	send_batch(&bt);
	coren_reader_free(r);
}

static void read_bin(FILE *in, struct coren_error *first)
{
	struct coren_env_reader *r = coren_env_reader_new(in, opt.input_name);
	struct batch bt = {.n = 0};

	if (!r)
		return (void)coren_error_set(first, COREN_ERR_NOMEM, "out of memory");
	coren_env_reader_set_stop(r, &stop_signal);
	coren_env_reader_set_limits(r, coren_rk_kernel_count(out.rt), opt.t.config.max_payload);
	for (;;) {
		struct coren_error err; /* not = {0}: 400 bytes a message */
		struct coren_rk_msg *m = NULL;
		enum coren_err rc;

		err.code = COREN_OK;
		err.where[0] = err.msg[0] = '\0';
		if (!coren_env_reader_buffered(r)) {
			send_batch(&bt);
			reading(1);
		}
		rc = coren_env_reader_next(r, &m, &err);
		reading(0);
		if (stop_signal) { /* what was read before is answered */
			coren_rk_msg_free(m);
			break;
		}
		if (!rc && !m)
			break;
		if (rc) {
			uint64_t corr = m ? m->hdr.correlation_id : 0;

			coren_rk_msg_free(m);
			if (bad_input(&bt, &err, corr, first))
				break;
			continue;
		}
		bt.m[bt.n++] = m;
		if (bt.n == sizeof bt.m / sizeof *bt.m)
			send_batch(&bt);
	}
	send_batch(&bt);
	coren_env_reader_free(r);
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct coren_rk_system sys;
	struct coren_error err = {0}, first = {0};
	FILE *in;
	struct stat st;
	int status;

	tool_init("rk-launch");
	coren_rk_topology_init(&opt.t);
	parse_options(argc, argv);
	if (opt.list) {
		list_plugins();
		return COREN_EXIT_OK;
	}
	in = tool_open(opt.input);
	stop_signals(1);
	crash_reports();
	if (coren_rk_system_start(&sys, &opt.t, (const char *const *)opt.dirs,
				  &err))
		tool_die_code(&err, err.code == COREN_ERR_NOTFOUND ? COREN_EXIT_PLUGIN
								 : coren_exit_code(err.code));
	out.rt = sys.rt;
	out.records = stdout;
	if (opt.bin) {
		out.records = opt.records ? fopen(opt.records, "w") : stderr;
		if (!out.records) {
			coren_error_set(&err, COREN_ERR_IO, "cannot open '%s'", opt.records);
			tool_die(&err);
		}
	}
	coren_buf_init(&out.buf, 0);
	coren_doorbell_init(&out.bell);
	out.may_block = !fstat(fileno(in), &st) && !S_ISREG(st.st_mode);
	if (pthread_create(&out.thread, NULL, helper_main, NULL)) {
		coren_error_set(&err, COREN_ERR_NOMEM, "cannot start the helper thread");
		tool_die(&err);
	}
	stop_signals(0);
	if (opt.bin)
		read_bin(in, &first);
	else
		read_json(in, &first);
	make_room(SIZE_MAX); /* everything */
	coren_rk_drain(sys.rt, -1, NULL);
	atomic_store(&out.done, 1);
	coren_doorbell_ring(&out.bell);
	pthread_join(out.thread, NULL);
	pthread_mutex_lock(&out.consumer);
	while (pump(0, 1))
		;
	flush(&out.buf);
	pthread_mutex_unlock(&out.consumer);
	coren_buf_release(&out.buf);
	for (uint32_t id = 1; id <= coren_rk_kernel_count(sys.rt); id++)
		coren_rk_terminate(sys.rt, id, NULL);
	write_status();
	write_records(out.records, coren_rk_metrics_json(sys.rt));
	if (out.records != stdout && out.records != stderr && fclose(out.records))
		coren_error_set(&out.io, COREN_ERR_IO, "write error on '%s'", opt.records);
	if (coren_rk_system_stop(&sys, &opt.t, &err))
		tool_die(&err);
	coren_rk_topology_release(&opt.t);
	if (in != stdin)
		fclose(in);
	if (out.io.code)
		tool_die(&out.io);
	if (stop_signal) {
		if (tool.verbosity)
			tool_warn("stopped by signal %d: the input was not read to its end",
				  (int)stop_signal);
		return 128 + stop_signal;
	}
	if (first.code)
		tool_die_code(&first, first.code == COREN_ERR_IO ? COREN_EXIT_USAGE : COREN_EXIT_RECORD);
	status = out.bad_input ? COREN_EXIT_RECORD /* coren(7): --keep-going is still 5 */
	       : out.answer_errors ? COREN_EXIT_PARTIAL : COREN_EXIT_OK;
	if (out.bad_input && tool.verbosity)
		tool_warn("%llu bad input records were answered with errors",
			  (unsigned long long)out.bad_input);
	if (out.answer_errors && tool.verbosity)
		tool_warn("%llu of the answers were errors", (unsigned long long)out.answer_errors);
	return status;
}
