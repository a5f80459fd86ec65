/* index.c - the keys of the chunks a cache holds for one function, so that
 * a run reuses every cached point whatever the chunk boundaries of the
 * runs that computed it (an axis extended past a short bin, values
 * reordered, another --memo-chunk).
 *
 * The file is <cache>/index/<family>.jsonl, family being SHA-256 of
 * {"fn","params","version"} (memo_plan_family()): one canonical chunk key
 * per line, [[axis,[values]],...], appended with one write(2) on an
 * O_APPEND descriptor whenever a chunk is stored or fetched (any thread,
 * any process). A run reads its newest INDEX_MAX bytes a line at a time,
 * keeping of each key where its line is (read again when its chunk is
 * used) and the plan's indices of its values: a first index and a step
 * when they are evenly spaced (a range's, or a list's bin), else one
 * per value. So a large cache's index costs a few hundred bytes a key,
 * not the ~15 bytes a value its text and indices cost.
 *
 * It is a hint, never trusted: the chunk an entry names is loaded by the
 * id its key gives with this run's function, params and version, and its
 * lines are checked against that key like any chunk's; an entry whose
 * chunk is gone or damaged, or a line that does not parse, is skipped. So
 * a lost, truncated or edited index costs reuse, never a wrong value.
 *
 * Owner: the main thread (memo_index_load() and everything after it);
 * memo_index_add() only writes to the descriptor. */
#include "config.h"

#include "memo_int.h"

#include <coren/file.h>
#include <coren/json.h>
#include <coren/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_MAX ((size_t)256 << 20) /* bytes of an index read */
#define NONE SIZE_MAX		      /* a value this grid does not have */

/* The plan's indices of an entry's values on one axis: value i's is
 * first + i * step when map is NULL, else map[i] (NONE: not in the grid). */
struct axis_map {
	size_t len;
	size_t *map;
	size_t first;
	ptrdiff_t step;
};

struct entry {
	off_t at; /* its line in the file (read again to check its
		   * chunk: the text of a key of 10k values is 70 kB) */
	size_t line_len;
	struct axis_map *ax; /* per axis */
	uint64_t npoints;
	char id[65];
	bool bad; /* its chunk could not be used: skipped from now on */
};

struct memo_index {
	const struct coren_memo_plan *p;
	const char *cache;
	int fd; /* the index file, its lines read again; -1: none */
	size_t naxes;
	struct entry *e;
	size_t n, cap;
	/* per bin of axis 0: the entries with a value in it */
	struct bucket {
		size_t *k, n, cap;
	} *by_bin;
	/* the last chunk loaded: consecutive chunks of a run often take
	 * points of the same earlier chunk */
	size_t last;
	char *content;
	size_t len, *off;
};

static char *index_path(const struct coren_memo_plan *p, const char *cache,
			bool dir)
{
	size_t n = strlen(cache) + 100;
	char fam[65], *path = malloc(n);

	if (!path || memo_plan_family(p, fam)) {
		free(path);
		return NULL;
	}
	if (dir)
		snprintf(path, n, "%s/index", cache);
	else
		snprintf(path, n, "%s/index/%s.jsonl", cache, fam);
	return path;
}

int memo_index_open(const struct coren_memo_plan *p, const char *cache)
{
	char *dir = index_path(p, cache, true), *path = NULL;
	int fd = -1;

	if (dir && !coren_mkdir_p(dir, 0777, NULL) &&
	    (path = index_path(p, cache, false)))
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	free(dir);
	free(path);
	return fd;
}

void memo_index_add(int fd, const struct coren_memo_plan *p,
		    const size_t *bins)
{
	struct coren_buf b;

	if (fd < 0)
		return;
	coren_buf_init(&b, 0);
	/* one write: lines of concurrent writers never interleave */
	if (!memo_plan_key_text(p, bins, NULL, &b) && !coren_buf_putc(&b, '\n'))
		(void)!write(fd, b.data, b.len);
	coren_buf_release(&b);
}

static void entry_release(struct entry *en, size_t naxes)
{
	for (size_t a = 0; en->ax && a < naxes; a++)
		free(en->ax[a].map);
	free(en->ax);
}

static size_t map_at(const struct axis_map *m, size_t i)
{
	return m->map ? m->map[i] : m->first + (size_t)((ptrdiff_t)i * m->step);
}

/* Drops m's array when its indices are evenly spaced, none NONE. */
static void map_compact(struct axis_map *m)
{
	ptrdiff_t step = m->len > 1 ? (ptrdiff_t)(m->map[1] - m->map[0]) : 1;

	for (size_t i = 0; i < m->len; i++)
		if (m->map[i] == NONE ||
		    m->map[i] != m->map[0] + (size_t)((ptrdiff_t)i * step))
			return;
	m->first = m->map[0];
	m->step = step;
	free(m->map);
	m->map = NULL;
}

/* The plan's values per axis of a list, canonical text -> index (a JSON
 * object as a hash table); NULL for a range, whose index of a text is
 * computed (memo_range_find()). */
static json_t **value_maps(const struct coren_memo_plan *p, size_t naxes)
{
	json_t **m = calloc(naxes + 1, sizeof *m);
	struct coren_buf t;

	coren_buf_init(&t, 0);
	for (size_t a = 0; m && a < naxes; a++) {
		size_t nv = coren_memo_plan_nvalues(p, a);

		if (memo_plan_is_range(p, a))
			continue;
		if (!(m[a] = json_object()))
			goto fail;
		for (size_t v = 0; v < nv; v++) {
			t.len = 0;
			if (coren_memo_plan_value_text(p, a, v, &t) ||
			    coren_buf_putc(&t, '\0'))
				goto fail;
			if (!json_object_get(m[a], t.data) &&
			    json_object_set_new(m[a], t.data,
						json_integer((json_int_t)v)))
				goto fail;
		}
	}
	coren_buf_release(&t);
	return m;
fail:
	coren_buf_release(&t);
	for (size_t a = 0; m && a < naxes; a++)
		json_decref(m[a]);
	free(m);
	return NULL;
}

/* The plan's index of the value of axis a whose canonical text is t
 * (NUL-terminated, len bytes), or NONE. */
static size_t value_index(const struct memo_index *ix, json_t **maps, size_t a,
			  const char *t, size_t len)
{
	json_t *at;

	if (!maps[a])
		return memo_range_find(
		    coren_memo_plan_exp(ix->p)->axes[a].range, t, len);
	at = json_object_get(maps[a], t);
	return at ? (size_t)json_integer_value(at) : NONE;
}

/* Entry en from a parsed key: false when it is not one of this grid's
 * axes in its order, or has no point of the grid. */
static bool entry_make(struct memo_index *ix, json_t **maps, json_t *key,
		       struct entry *en)
{
	struct coren_buf t;
	bool ok = json_array_size(key) == ix->naxes;

	memset(en, 0, sizeof *en);
	en->npoints = 1;
	en->ax = calloc(ix->naxes + 1, sizeof *en->ax);
	coren_buf_init(&t, 0);
	ok = ok && en->ax;
	for (size_t a = 0; ok && a < ix->naxes; a++) {
		json_t *pair = json_array_get(key, a), *vals, *v;
		const char *name = json_string_value(json_array_get(pair, 0));
		struct axis_map *m = &en->ax[a];
		bool any = false;
		size_t i;

		vals = json_array_get(pair, 1);
		ok = name && json_is_array(vals) &&
		     json_array_size(pair) == 2 &&
		     !strcmp(name, coren_memo_plan_axis_name(ix->p, a)) &&
		     json_array_size(vals) &&
		     (m->map = malloc(json_array_size(vals) * sizeof *m->map));
		if (!ok)
			break;
		m->len = json_array_size(vals);
		en->npoints *= m->len;
		json_array_foreach(vals, i, v)
		{
			t.len = 0;
			if (coren_json_canonical(v, &t) || coren_buf_putc(&t, '\0')) {
				ok = false;
				break;
			}
			m->map[i] = value_index(ix, maps, a, t.data, t.len - 1);
			any |= m->map[i] != NONE;
		}
		ok = ok && any;
		if (ok)
			map_compact(m);
	}
	t.len = 0;
	ok = ok && !coren_json_canonical(key, &t) &&
	     !memo_plan_key_id(ix->p, t.data, t.len, en->id);
	coren_buf_release(&t);
	if (!ok)
		entry_release(en, ix->naxes);
	return ok;
}

static bool bucket_add(struct bucket *b, size_t k)
{
	if (b->n && b->k[b->n - 1] == k)
		return true;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4, *nk;

		if (!(nk = realloc(b->k, cap * sizeof *nk)))
			return false;
		b->k = nk;
		b->cap = cap;
	}
	b->k[b->n++] = k;
	return true;
}

/* Entry k into the buckets of the axis-0 bins its values fall in. */
static bool entry_file(struct memo_index *ix, size_t k)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(ix->p);
	const struct entry *en = &ix->e[k];

	for (size_t i = 0; i < en->ax[0].len; i++) {
		size_t v = map_at(&en->ax[0], i);

		if (v != NONE &&
		    !bucket_add(&ix->by_bin[v / e->axes[0].bin], k))
			return false;
	}
	return true;
}

/* One line of the file: added when it is a key of this grid's axes with
 * a point of the grid, not seen before. */
static bool add_line(struct memo_index *ix, json_t **maps, json_t *seen,
		     const char *line, size_t len, off_t at)
{
	json_t *key = coren_json_parse(line, len, NULL);
	struct entry en;

	if (!key || !json_is_array(key) || !entry_make(ix, maps, key, &en)) {
		json_decref(key);
		return true; /* not ours, or not a key: skipped */
	}
	json_decref(key);
	en.at = at;
	en.line_len = len;
	if (json_object_get(seen, en.id)) {
		entry_release(&en, ix->naxes);
		return true;
	}
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 16;
		struct entry *ne = realloc(ix->e, cap * sizeof *ne);

		if (!ne) {
			entry_release(&en, ix->naxes);
			return false;
		}
		ix->e = ne;
		ix->cap = cap;
	}
	ix->e[ix->n++] = en;
	return !json_object_set_new(seen, en.id, json_true()) &&
	       entry_file(ix, ix->n - 1);
}

/* Adds the lines of the newest INDEX_MAX bytes of ix->fd (all of it when
 * smaller; from a line's start: older keys are dropped), one at a time; a
 * last line without its newline is still being written. */
static bool read_lines(struct memo_index *ix, json_t *seen)
{
	struct stat st;
	json_t **maps = NULL;
	struct coren_buf line;
	char buf[65536];
	off_t at, start;
	bool ok = true, skip;
	ssize_t got;

	if (fstat(ix->fd, &st) || st.st_size <= 0)
		return true; /* no index yet (a first run) is an empty one */
	if (!(maps = value_maps(ix->p, ix->naxes)))
		return false;
	start =
	    st.st_size > (off_t)INDEX_MAX ? st.st_size - (off_t)INDEX_MAX : 0;
	skip = start > 0; /* cut in a line: from the next one */
	coren_buf_init(&line, 0);
	at = start;
	while (ok && at < st.st_size &&
	       (got = pread(ix->fd, buf, sizeof buf, at)) > 0) {
		for (char *p = buf, *end = buf + got, *nl; ok && p < end;
		     p = nl + 1) {
			if (!(nl = memchr(p, '\n', (size_t)(end - p)))) {
				ok = skip || !coren_buf_append(
						 &line, p, (size_t)(end - p));
				break;
			}
			if (!skip)
				ok = !coren_buf_append(&line, p,
						       (size_t)(nl - p)) &&
				     add_line(
					 ix, maps, seen,
					 line.data ? line.data : "", line.len,
					 at + (nl - buf) - (off_t)line.len);
			skip = false;
			line.len = 0;
		}
		at += got;
	}
	coren_buf_release(&line);
	for (size_t a = 0; a < ix->naxes; a++)
		json_decref(maps[a]);
	free(maps);
	return ok;
}

struct memo_index *memo_index_load(const struct coren_memo_plan *p,
				   const char *cache)
{
	struct memo_index *ix = calloc(1, sizeof *ix);
	char *path = index_path(p, cache, false);
	size_t naxes = coren_memo_plan_naxes(p);
	json_t *seen = json_object();
	bool ok;

	ok = ix && path && seen && naxes;
	if (ix)
		ix->fd = -1;
	if (ok) {
		ix->p = p;
		ix->cache = cache;
		ix->naxes = naxes;
		ix->last = NONE;
		ix->by_bin = calloc(coren_memo_plan_nbins(p, 0) + 1,
				    sizeof *ix->by_bin);
		ok = ix->by_bin != NULL;
	}
	if (ok && !coren_file_open_regular(path, &ix->fd, NULL))
		ok = read_lines(ix, seen);
	json_decref(seen);
	free(path);
	if (!ok) {
		memo_index_free(ix);
		return NULL;
	}
	return ix;
}

void memo_index_free(struct memo_index *ix)
{
	if (!ix)
		return;
	for (size_t k = 0; k < ix->n; k++)
		entry_release(&ix->e[k], ix->naxes);
	free(ix->e);
	for (size_t b = 0; ix->by_bin && b < coren_memo_plan_nbins(ix->p, 0);
	     b++)
		free(ix->by_bin[b].k);
	free(ix->by_bin);
	free(ix->content);
	free(ix->off);
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix);
}

bool memo_index_empty(const struct memo_index *ix)
{
	return !ix || !ix->n;
}

/* Whether entry en has a value of every axis within the chunk at bins
 * (of lengths full), and is not that chunk itself. */
static bool overlaps(const struct memo_index *ix, const struct entry *en,
		     const size_t *bins, const size_t *full, const char *id)
{
	const struct coren_memo_exp *e = coren_memo_plan_exp(ix->p);

	if (en->bad || !strcmp(en->id, id))
		return false;
	for (size_t a = 0; a < ix->naxes; a++) {
		size_t lo = bins[a] * e->axes[a].bin, i, v;

		for (i = 0; i < en->ax[a].len; i++)
			if ((v = map_at(&en->ax[a], i)) != NONE && v >= lo &&
			    v < lo + full[a])
				break;
		if (i == en->ax[a].len)
			return false;
	}
	return true;
}

size_t memo_index_next(const struct memo_index *ix, const size_t *bins,
		       const size_t *full, const char *id, size_t *cursor)
{
	const struct bucket *b = &ix->by_bin[bins[0]];

	while (*cursor < b->n) {
		size_t k = b->k[(*cursor)++];

		if (overlaps(ix, &ix->e[k], bins, full, id))
			return k;
	}
	return NONE;
}

/* Entry en's key, read again from its line: NULL when the line changed
 * meanwhile (its id is no longer en's). */
static json_t *entry_key(const struct memo_index *ix, const struct entry *en)
{
	char *line = malloc(en->line_len + 1), hex[65];
	json_t *key = NULL;
	struct coren_buf t;

	coren_buf_init(&t, 0);
	if (line &&
	    pread(ix->fd, line, en->line_len, en->at) == (ssize_t)en->line_len)
		key = coren_json_parse(line, en->line_len, NULL);
	if (key && (coren_json_canonical(key, &t) ||
		    memo_plan_key_id(ix->p, t.data, t.len, hex) ||
		    strcmp(hex, en->id))) {
		json_decref(key);
		key = NULL;
	}
	coren_buf_release(&t);
	free(line);
	return key;
}

/* Checks content against entry en's key (memo_check_key_lines()). */
static enum coren_err check_entry(const struct memo_index *ix,
				  const struct entry *en, const char *content,
				  size_t len, size_t *off,
				  struct coren_error *err)
{
	json_t *key = entry_key(ix, en);
	enum coren_err rc =
	    key ? memo_check_key_lines(key, NULL, content, len, en->npoints,
				       off, false, err)
		: coren_error_set(err, COREN_ERR_NOTFOUND,
				  "its index line changed");

	json_decref(key);
	return rc;
}

const char *memo_index_chunk(struct memo_index *ix, size_t k,
			     size_t max_content, const size_t **off,
			     bool *corrupt)
{
	struct entry *en = &ix->e[k];
	struct coren_chunk_header h;
	struct coren_error err = {0};
	enum coren_err rc;

	*corrupt = false;
	if (ix->last == k) {
		*off = ix->off;
		return ix->content;
	}
	free(ix->content);
	free(ix->off);
	ix->content = NULL;
	ix->last = NONE;
	ix->off = malloc((en->npoints + 1) * sizeof *ix->off);
	rc = ix->off ? coren_chunk_load(ix->cache, en->id, max_content, &h,
					&ix->content, &ix->len, &err)
		     : COREN_ERR_NOMEM;
	if (!rc) {
		coren_chunk_header_release(&h);
		rc = check_entry(ix, en, ix->content, ix->len, ix->off, &err);
	}
	if (rc) {
		if (rc == COREN_ERR_CORRUPT) {
			coren_log(COREN_LOG_WARNING,
				  "chunk %s is damaged (%s): not reused", en->id,
				  err.msg);
			*corrupt = true;
		}
		en->bad = true;
		return NULL;
	}
	ix->last = k;
	*off = ix->off;
	return ix->content;
}

size_t memo_index_len(const struct memo_index *ix, size_t k, size_t a)
{
	return ix->e[k].ax[a].len;
}

size_t memo_index_at(const struct memo_index *ix, size_t k, size_t a, size_t i)
{
	return map_at(&ix->e[k].ax[a], i);
}
