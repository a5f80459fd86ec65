/* remote.c - the remote chunk tier: a directory or an HTTP(S) store that
 * swarm-run fetches chunks from and publishes them to. Transfers are
 * timed, and the link figures (latency, bandwidth) follow them. */
#include "config.h"

#include "memo_int.h"
#include "../core/dl_int.h"

#include <coren/file.h>

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DOWN_AFTER 3	      /* failures in a row that make the tier down */
#define SMALL ((size_t)65536) /* a transfer this small measures latency */
#define ALPHA 0.3	      /* weight of a new measurement */
#define FIRST_BYTE_GRACE 5.0  /* seconds a server may think before bytes flow */
#define TIMEOUT_DEFAULT 60.0  /* seconds a transfer may take */
#define MIN_SPEED_DEFAULT 1024L /* bytes/s */

struct coren_remote {
	char *base;  /* directory or URL, without a trailing slash */
	bool http;
	struct curl_slist *headers;
	pthread_mutex_t mu;
	struct coren_remote_link link;
	unsigned failures; /* unreachable, in a row */
	bool down;
	bool slow;	   /* down because a transfer was too slow */
	double timeout;	   /* read-only: seconds a transfer may take */
	long min_speed;	   /* read-only: bytes/s below which (for
			    * a second) a transfer is given up */
	char *ca_file;	   /* read-only: certificates to trust, or NULL */
};

/* libcurl, opened when a tier over HTTP is, not linked: what it links
 * (TLS, Kerberos, LDAP: some 30 libraries) cost every process of every
 * coren tool about 4 ms before main, most of rk-bench's start-up. */
static struct {
	CURLcode (*global_init)(long flags);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode cc);
} lc;
static char lc_error[256]; /* why libcurl cannot be used; "" when it can */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static bool lc_sym(void *lib, const char *name, void *fn)
{
	return coren_dl_fn(lib, "libcurl", name, fn, lc_error, sizeof lc_error);
}

static void curl_init(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	bool ok;

	if (!lib) {
		snprintf(lc_error, sizeof lc_error, "%s", dlerror());
		return;
	}
	ok = lc_sym(lib, "curl_global_init", &lc.global_init) &
	     lc_sym(lib, "curl_slist_append", &lc.slist_append) &
	     lc_sym(lib, "curl_slist_free_all", &lc.slist_free_all) &
	     lc_sym(lib, "curl_easy_init", &lc.easy_init) &
	     lc_sym(lib, "curl_easy_setopt", &lc.easy_setopt) &
	     lc_sym(lib, "curl_easy_perform", &lc.easy_perform) &
	     lc_sym(lib, "curl_easy_getinfo", &lc.easy_getinfo) &
	     lc_sym(lib, "curl_easy_cleanup", &lc.easy_cleanup) &
	     lc_sym(lib, "curl_easy_strerror", &lc.easy_strerror);
	if (ok && lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		snprintf(lc_error, sizeof lc_error, "curl_global_init failed");
}

static bool hex_id(const char *id)
{
	return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

enum coren_err coren_remote_open(const char *spec, const char *token,
				 const struct coren_cap *cap,
				 struct coren_remote **out,
				 struct coren_error *err)
{
	struct coren_remote *r;
	size_t n = strlen(spec);
	bool http = !strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8);
	struct stat st;

	*out = NULL;
	if (!n)
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--remote: an empty tier");
	if (!http && strstr(spec, "://"))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--remote '%s': a directory, or an "
				       "http:// or https:// URL",
				       spec);
	if (!http && (stat(spec, &st) || !S_ISDIR(st.st_mode)))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "--remote '%s': not a directory", spec);
	if (token && strpbrk(token, "\r\n"))
		return coren_error_set(err, COREN_ERR_USAGE,
				       "the remote token holds a line break");
	r = calloc(1, sizeof *r);
	if (!r || !(r->base = strdup(spec))) {
		free(r);
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	}
	while (n > 1 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	r->http = http;
	r->timeout = TIMEOUT_DEFAULT;
	r->min_speed = MIN_SPEED_DEFAULT;
	r->link.latency = !http ? 1e-4 : cap->net_latency > 0 ? cap->net_latency
							      : 1e-3;
	r->link.bandwidth = http && cap->net_bw > 0 ? cap->net_bw
			    : cap->disk_read_bw > 0 ? cap->disk_read_bw
						    : 1e8;
	pthread_mutex_init(&r->mu, NULL);
	if (http) {
		pthread_once(&curl_once, curl_init);
		if (lc_error[0]) {
			coren_remote_free(r);
			return coren_error_set(
			    err, COREN_ERR_NOTFOUND,
			    "cannot use the tier '%s': libcurl: %s", spec,
			    lc_error);
		}
		if (token) {
			char *h = NULL;

			if (asprintf(&h, "Authorization: Bearer %s", token) < 0)
				h = NULL;
			r->headers = h ? lc.slist_append(NULL, h) : NULL;
			free(h);
			if (!r->headers) {
				coren_remote_free(r);
				return coren_error_set(err, COREN_ERR_NOMEM,
						       "out of memory");
			}
		}
	}
	*out = r;
	return COREN_OK;
}

void coren_remote_free(struct coren_remote *r)
{
	if (!r)
		return;
	if (r->headers)
		lc.slist_free_all(r->headers);
	pthread_mutex_destroy(&r->mu);
	free(r->ca_file);
	free(r->base);
	free(r);
}

void coren_remote_link(struct coren_remote *r, struct coren_remote_link *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->link;
	pthread_mutex_unlock(&r->mu);
}

void coren_remote_set_limits(struct coren_remote *r, double timeout,
			     long min_speed)
{
	r->timeout = timeout > 0 ? timeout : TIMEOUT_DEFAULT;
	r->min_speed = min_speed > 0 ? min_speed : MIN_SPEED_DEFAULT;
}

enum coren_err coren_remote_set_ca_file(struct coren_remote *r,
					const char *path,
					struct coren_error *err)
{
	if (access(path, R_OK))
		return coren_error_set(err, COREN_ERR_USAGE, "--ca-file '%s': %s",
				       path, strerror(errno));
	free(r->ca_file);
	if (!(r->ca_file = strdup(path)))
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return COREN_OK;
}

bool coren_remote_slow(struct coren_remote *r)
{
	bool s;

	pthread_mutex_lock(&r->mu);
	s = r->slow;
	pthread_mutex_unlock(&r->mu);
	return s;
}

bool coren_remote_down(struct coren_remote *r)
{
	bool d;

	pthread_mutex_lock(&r->mu);
	d = r->down;
	pthread_mutex_unlock(&r->mu);
	return d;
}

/* A transfer of bytes that took seconds (reached is false when the tier
 * could not be reached): small ones tell the latency, large ones the
 * bandwidth beyond it. */
static void measured(struct coren_remote *r, bool reached, size_t bytes,
		     double seconds)
{
	pthread_mutex_lock(&r->mu);
	if (!reached) {
		if (++r->failures >= DOWN_AFTER)
			r->down = true;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	r->failures = 0;
	if (bytes <= SMALL) {
		r->link.latency = r->link.requests
					  ? (1 - ALPHA) * r->link.latency +
						    ALPHA * seconds
					  : seconds;
	} else {
		double t = seconds - r->link.latency;
		double bw = (double)bytes / (t > seconds / 2 ? t : seconds / 2);

		r->link.bandwidth = r->link.requests
					    ? (1 - ALPHA) * r->link.bandwidth +
						      ALPHA * bw
					    : bw;
	}
	r->link.requests++;
	pthread_mutex_unlock(&r->mu);
}

/* The address of chunk id on a tier that is up (malloc'd), or NULL with
 * the reason. */
static char *chunk_url(struct coren_remote *r, const char *id,
		       struct coren_error *err)
{
	char *u = NULL;

	if (!hex_id(id))
		coren_error_set(err, COREN_ERR_USAGE, "'%s' is not a chunk id",
				id);
	else if (coren_remote_down(r))
		coren_error_set(err, COREN_ERR_IO, "the tier is down");
	else if (asprintf(&u, "%s/%.2s/%s.zst", r->base, id, id) < 0)
		coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	return u;
}

/* ---- a directory tier ---------------------------------------------- */

static enum coren_err dir_get(const char *path, size_t max, size_t limit,
			      struct coren_buf *out, struct coren_error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	size_t want, got = 0;
	enum coren_err rc = COREN_OK;

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return coren_error_set(err, COREN_ERR_NOTFOUND, "not there");
	if (fd < 0 && errno == ELOOP)
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "a symbolic link, not a chunk file");
	if (fd < 0)
		return coren_error_set(err, errno == EACCES ? COREN_ERR_STATE
							    : COREN_ERR_IO,
				       "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "not a plain file");
	}
	if (!max && (uint64_t)st.st_size > limit) {
		close(fd);
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "%lld bytes, more than the limit of %zu",
				       (long long)st.st_size, limit);
	}
	want = max && (uint64_t)st.st_size > max ? max : (size_t)st.st_size;
	rc = coren_buf_reserve(out, want + 1);
	while (!rc && got < want) {
		ssize_t n = read(fd, out->data + out->len + got, want - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = coren_error_set(err, COREN_ERR_IO, "%s: %s", path,
					     n ? strerror(errno) : "short read");
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!rc)
		out->len += got;
	return rc;
}

static enum coren_err dir_put(const char *path, const void *data, size_t len,
			      struct coren_error *err)
{
	char *slash = strrchr(path, '/');
	char *dir = strndup(path, (size_t)(slash - path));
	enum coren_err rc;

	if (!dir)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	rc = coren_mkdir_p(dir, 0777, err);
	free(dir);
	return rc ? rc : coren_file_replace(path, data, len, 0644, err);
}

/* ---- an HTTP tier ------------------------------------------------------ */

struct sink {
	struct coren_buf *out;
	size_t start, max, limit;
	bool too_large;
	bool peeked; /* max bytes arrived: the rest is not wanted */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n, have = s->out->len - s->start;

	if (s->max && have + len >= s->max) { /* enough (or no range kept) */
		len = have < s->max ? s->max - have : 0;
		s->peeked = true;
		if (len && coren_buf_append(s->out, p, len))
			s->peeked = false;
		return 0; /* ends the transfer: the rest is not read */
	}
	if (!s->max && have + len > s->limit) {
		s->too_large = true;
		return 0; /* aborts the transfer */
	}
	if (len && coren_buf_append(s->out, p, len))
		return 0;
	return size * n;
}

/* An answer body nobody reads (a PUT's). */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

struct source {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	struct source *s = arg;
	size_t len = size * n < s->len - s->off ? size * n : s->len - s->off;

	memcpy(p, s->data + s->off, len);
	s->off += len;
	return len;
}

/* The speed floor of a transfer, checked by curl's progress callback:
 * from the first byte on, at least min_speed bytes/s on average once a
 * second has passed; before the first byte, and between an upload's end
 * and its answer, FIRST_BYTE_GRACE seconds (a server may think). */
struct pace {
	double t0, first, wait; /* when it began, the first byte, the
				   upload's end (0: not yet) */
	long min_speed;
	CURL *c; /* for the header bytes (a trickle may start with them) */
};

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct pace *p = arg;
	double now = memo_now(), bytes = (double)(dlnow + ulnow);
	long head = 0;

	(void)dltotal;
	if (lc.easy_getinfo(p->c, CURLINFO_HEADER_SIZE, &head) == CURLE_OK)
		bytes += (double)head;
	if (ultotal > 0 && ulnow >= ultotal && dlnow == 0) {
		/* uploaded: the server answers */
		if (!p->wait)
			p->wait = now;
		return now - p->wait > FIRST_BYTE_GRACE;
	}
	if (bytes <= 0)
		return now - p->t0 > FIRST_BYTE_GRACE;
	if (!p->first)
		p->first = now;
	return now - p->first > 1.0 &&
	       bytes / (now - p->first) < (double)p->min_speed;
}

static CURL *easy(struct coren_remote *r, const char *url, struct pace *pace)
{
	CURL *c = lc.easy_init();
	double ms = r->timeout * 1000;

	if (!c)
		return NULL;
	pace->t0 = memo_now();
	pace->first = pace->wait = 0;
	pace->min_speed = r->min_speed;
	pace->c = c;
	lc.easy_setopt(c, CURLOPT_URL, url);
	lc.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	lc.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	lc.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	/* a tier that trickles or stalls is given up at once: under
	 * min_speed (on_progress), or past the deadline */
	lc.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	lc.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	lc.easy_setopt(c, CURLOPT_XFERINFODATA, pace);
	lc.easy_setopt(c, CURLOPT_TIMEOUT_MS,
		       ms < 1	  ? 1L
		       : ms > 1e9 ? 1000000000L
				  : (long)ms);
	if (r->ca_file)
		lc.easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	if (r->headers)
		lc.easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
	return c;
}

/* COREN_ERR_IO for a failure to reach the tier, else by status. */
static enum coren_err http_status(CURLcode cc, long status, const char *url,
				  struct coren_error *err)
{
	if (cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_ABORTED_BY_CALLBACK)
		return coren_error_set(err, COREN_ERR_TIMEOUT, "%s: %s", url,
				       cc == CURLE_ABORTED_BY_CALLBACK
					   ? "too slow"
					   : lc.easy_strerror(cc));
	if (cc != CURLE_OK)
		return coren_error_set(err, COREN_ERR_IO, "%s: %s", url,
				       lc.easy_strerror(cc));
	if (status == 404 || status == 410)
		return coren_error_set(err, COREN_ERR_NOTFOUND, "not there");
	if (status >= 300 && status < 400)
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "%s: HTTP %ld: a redirect (not followed)",
				       url, status);
	if (status < 200 || status >= 300)
		return coren_error_set(err, COREN_ERR_STATE, "%s: HTTP %ld",
				       url, status);
	return COREN_OK;
}

static enum coren_err http_get(struct coren_remote *r, const char *url,
			       size_t max, size_t limit, struct coren_buf *out,
			       struct coren_error *err)
{
	struct pace pace;
	CURL *c = easy(r, url, &pace);
	struct sink s = {out, out->len, max, limit, false, false};
	char range[48];
	long status = 0;
	CURLcode cc;

	if (!c)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	lc.easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (max) {
		snprintf(range, sizeof range, "0-%zu", max - 1);
		lc.easy_setopt(c, CURLOPT_RANGE, range);
	} else {
		lc.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit);
	}
	cc = lc.easy_perform(c);
	lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	lc.easy_cleanup(c);
	if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		out->len = s.start;
		return coren_error_set(err, COREN_ERR_CORRUPT,
				       "larger than the limit of %zu bytes",
				       limit);
	}
	if (cc == CURLE_WRITE_ERROR && s.peeked) /* cut off on purpose */
		cc = CURLE_OK;
	if (cc == CURLE_WRITE_ERROR)
		cc = CURLE_OUT_OF_MEMORY;
	if (status == 416) /* a range past the end: an empty file */
		status = 200;
	return http_status(cc, status, url, err);
}

static enum coren_err http_put(struct coren_remote *r, const char *url,
			       const void *data, size_t len,
			       struct coren_error *err)
{
	struct pace pace;
	CURL *c = easy(r, url, &pace);
	struct source src = {data, len, 0};
	long status = 0;
	CURLcode cc;

	if (!c)
		return coren_error_set(err, COREN_ERR_NOMEM, "out of memory");
	lc.easy_setopt(c, CURLOPT_UPLOAD, 1L);
	lc.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	lc.easy_setopt(c, CURLOPT_READDATA, &src);
	lc.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = lc.easy_perform(c);
	lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	lc.easy_cleanup(c);
	return http_status(cc, status, url, err);
}

/* ---- both ---------------------------------------------------------- */

/* A transfer that ran out of time or speed: the tier is slower than any
 * computing, so it counts as down (slow) for the rest of the run, at
 * once; COREN_ERR_IO then. */
static enum coren_err too_slow(struct coren_remote *r, enum coren_err rc,
			       struct coren_error *err)
{
	if (rc != COREN_ERR_TIMEOUT)
		return rc;
	pthread_mutex_lock(&r->mu);
	r->down = r->slow = true;
	pthread_mutex_unlock(&r->mu);
	return coren_error_set(err, COREN_ERR_IO,
			       "too slow (under %ld bytes/s over a second, no "
			       "answer within %g s, or over %g s): not used "
			       "again in this run",
			       r->min_speed, FIRST_BYTE_GRACE, r->timeout);
}

enum coren_err coren_remote_get(struct coren_remote *r, const char *id,
				size_t max, size_t limit,
				struct coren_buf *out, struct coren_error *err)
{
	char *url = chunk_url(r, id, err);
	size_t before = out->len;
	double t0 = memo_now();
	enum coren_err rc;

	if (!url)
		return err->code;
	rc = r->http ? http_get(r, url, max, limit, out, err)
		     : dir_get(url, max, limit, out, err);
	rc = too_slow(r, rc, err);
	measured(r, rc != COREN_ERR_IO, out->len - before, memo_now() - t0);
	free(url);
	if (rc)
		out->len = before;
	return rc;
}

enum coren_err coren_remote_put(struct coren_remote *r, const char *id,
				const void *data, size_t len,
				struct coren_error *err)
{
	char *url = chunk_url(r, id, err);
	double t0 = memo_now();
	enum coren_err rc;

	if (!url)
		return err->code;
	rc = r->http ? http_put(r, url, data, len, err)
		     : dir_put(url, data, len, err);
	rc = too_slow(r, rc, err);
	measured(r, rc != COREN_ERR_IO, len, memo_now() - t0);
	free(url);
	return rc;
}
