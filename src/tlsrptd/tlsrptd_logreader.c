/* SPDX-License-Identifier: MIT */
/*
 * tlsrptd_logreader.c: follow a Postfix log (or read standard input),
 * turn its TLS lines into sessions (postfix_log.h), keep the read offset
 * as a cursor committed with the counts, and answer the policy of a
 * recipient domain from mtastsd's policy store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts/policy.h"
#include "mtasts/postfix_log.h"
#include "mtasts/store.h"
#include "tlsrptd_collect.h"
#include "util/alloc.h"

#define CHUNK (1024 * 1024)
#define PER_TICK (64u * 1024 * 1024) /* bytes per callback, then yield */
#define POLL_MS 250
#define MAP_BUCKETS 4096
#define MAP_MAX 200000
#define PENDING_HIGH (TLSRPTD_COUNTERS_BATCH_MAX - 20000)

struct pol_entry {
	struct pol_entry *next;
	struct mtasts_policy *p;
	const char *lines[MTASTS_TLSRPT_STRINGS_MAX];
	size_t nlines;
	const char *mx[MTASTS_TLSRPT_STRINGS_MAX];
	size_t nmx;
	char domain[];
};

struct tlsrptd_logreader {
	struct tlsrptd_collect *k;
	struct event_base *base;
	struct mtasts_postfix_log *pl;
	char *path;
	bool is_stdin;
	bool follow;
	bool done;
	int fd;
	uint64_t inode;
	uint64_t offset; /* end of the last complete line */
	char *buf;       /* CHUNK + line max */
	size_t blen;
	bool skipping; /* inside an over-long line */
	struct event *tick;
	char cursor[512];
	/* policies from mtastsd's store */
	struct mtasts_store *store;
	struct event *reload;
	unsigned reload_s;
	struct pol_entry **map;      /* in use */
	struct pol_entry **next_map; /* being scanned */
	size_t next_n;
	bool scanning;
};

/* ---- policy map ---------------------------------------------------- */

static uint32_t
dhash(const char *s)
{
	uint32_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h % MAP_BUCKETS;
}

static void
map_free(struct pol_entry **m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < MAP_BUCKETS; i++) {
		struct pol_entry *e = m[i], *n;

		for (; e != NULL; e = n) {
			n = e->next;
			mtasts_policy_free(e->p);
			mtasts__free(e);
		}
	}
	mtasts__free(m);
}

static int
on_policy(void *arg, const struct mtasts_store_record *rec)
{
	struct tlsrptd_logreader *r = arg;
	struct mtasts_policy *p = NULL;
	struct pol_entry *e;
	size_t dl = strlen(rec->domain);
	uint32_t h;

	if (r->next_map == NULL || r->next_n >= MAP_MAX)
		return 0;
	if (mtasts_policy_parse(rec->body, rec->body_len, &p, NULL, NULL) !=
	    MTASTS_OK)
		return 0;
	if (mtasts_policy_mode(p) == MTASTS_MODE_NONE) {
		mtasts_policy_free(p);
		return 0;
	}
	e = mtasts__calloc(1, sizeof(*e) + dl + 1);
	if (e == NULL) {
		mtasts_policy_free(p);
		return 0;
	}
	memcpy(e->domain, rec->domain, dl + 1);
	e->p = p;
	for (size_t i = 0; i < mtasts_policy_line_count(p) &&
			   e->nlines < MTASTS_TLSRPT_STRINGS_MAX;
	     i++) {
		const char *l = mtasts_policy_line(p, i);
		if (l[0] != '\0')
			e->lines[e->nlines++] = l;
	}
	for (size_t i = 0; i < mtasts_policy_mx_count(p) &&
			   e->nmx < MTASTS_TLSRPT_STRINGS_MAX;
	     i++)
		e->mx[e->nmx++] = mtasts_policy_mx(p, i);
	h = dhash(e->domain);
	e->next = r->next_map[h];
	r->next_map[h] = e;
	r->next_n++;
	return 0;
}

static void
on_scan_done(void *arg, int code)
{
	struct tlsrptd_logreader *r = arg;

	r->scanning = false;
	if (code != MTASTS_OK) {
		tlsrptd__collect_log(r->k, LOG_WARNING,
				     "policy store scan failed (%s): keeping "
				     "the previous policies",
				     mtasts_strerror(code));
		map_free(r->next_map);
		r->next_map = NULL;
		return;
	}
	map_free(r->map);
	r->map = r->next_map;
	r->next_map = NULL;
	tlsrptd__collect_log(r->k, LOG_INFO, "policies loaded: %zu domains",
			     r->next_n);
}

static void
start_scan(struct tlsrptd_logreader *r)
{
	if (r->store == NULL || r->scanning)
		return;
	r->next_map = mtasts__calloc(MAP_BUCKETS, sizeof(*r->next_map));
	if (r->next_map == NULL)
		return;
	r->next_n = 0;
	r->scanning = true;
	if (mtasts_store_scan(r->store, on_policy, on_scan_done, r) !=
	    MTASTS_OK) {
		r->scanning = false;
		map_free(r->next_map);
		r->next_map = NULL;
	}
}

static void
on_reload(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_scan(arg);
}

static int
policy_of(void *arg, const char *domain, struct mtasts_postfix_log_policy *out)
{
	struct tlsrptd_logreader *r = arg;
	struct pol_entry *e;

	if (r->map == NULL)
		return 1;
	for (e = r->map[dhash(domain)]; e != NULL; e = e->next) {
		if (strcmp(e->domain, domain) == 0) {
			out->type = MTASTS_TLSRPT_POLICY_STS;
			out->policy_domain = NULL;
			out->strings = e->lines;
			out->string_count = e->nlines;
			out->mx_patterns = e->mx;
			out->mx_pattern_count = e->nmx;
			return 0;
		}
	}
	return 1;
}

static void
on_session(void *arg, const struct mtasts_tlsrpt_session *s)
{
	struct tlsrptd_logreader *r = arg;

	tlsrptd__collect_add(r->k, s, 1);
}

/* ---- reading ------------------------------------------------------- */

static int
open_input(struct tlsrptd_logreader *r, bool resume)
{
	struct stat st;
	uint64_t id = 0, off = 0;

	r->fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (r->fd < 0)
		return -1;
	if (fstat(r->fd, &st) != 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	r->inode = (uint64_t)st.st_ino;
	r->offset = 0;
	r->blen = 0;
	r->skipping = false;
	if (resume &&
	    tlsrptd_counters_get_cursor(tlsrptd__collect_store(r->k), r->cursor,
					&id, &off, NULL) == MTASTS_OK) {
		if (id == r->inode && off <= (uint64_t)st.st_size) {
			r->offset = off;
			tlsrptd__collect_log(r->k, LOG_INFO,
					     "log %s: resuming at byte %llu",
					     r->path, (unsigned long long)off);
		} else {
			tlsrptd__collect_log(r->k, LOG_NOTICE,
					     "log %s: rotated or truncated "
					     "while stopped: reading from the "
					     "start",
					     r->path);
		}
	}
	if (lseek(r->fd, (off_t)r->offset, SEEK_SET) < 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	return 0;
}

/* Feed the complete lines in buf; keep the partial tail. */
static void
feed_lines(struct tlsrptd_logreader *r, int64_t now)
{
	size_t start = 0;
	struct tlsrptd_collect_stats *st = tlsrptd__collect_statsp(r->k);

	for (;;) {
		char *nl = memchr(r->buf + start, '\n', r->blen - start);
		size_t len;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (r->buf + start));
		if (r->skipping) {
			r->skipping = false;
		} else {
			int rc = mtasts_postfix_log_feed(r->pl, r->buf + start,
							 len, now);

			st->log_lines++;
			if (rc != MTASTS_OK) {
				st->log_rejected++;
				tlsrptd__collect_reject(r->k, "log",
							rc == MTASTS_ETOOBIG
							    ? "too-big"
							    : "syntax");
			}
		}
		start += len + 1;
	}
	r->offset += start;
	memmove(r->buf, r->buf + start, r->blen - start);
	r->blen -= start;
	if (r->blen > MTASTS_POSTFIX_LOG_LINE_MAX) {
		/* an over-long line: drop what we have, skip to newline */
		if (!r->skipping) {
			st->log_lines++;
			st->log_rejected++;
			tlsrptd__collect_reject(r->k, "log", "too-big");
		}
		r->offset += r->blen;
		r->blen = 0;
		r->skipping = true;
	}
	if (!r->is_stdin)
		tlsrptd_counters_set_cursor(tlsrptd__collect_store(r->k),
					    r->cursor, r->inode, r->offset);
}

/* Rotation or truncation at end of file: reopen / rewind. */
static void
check_rotation(struct tlsrptd_logreader *r)
{
	struct stat st;

	if (stat(r->path, &st) != 0)
		return; /* moved away, new file not there yet */
	if ((uint64_t)st.st_ino != r->inode) {
		tlsrptd__collect_log(r->k, LOG_INFO, "log %s: rotated",
				     r->path);
		close(r->fd);
		if (open_input(r, false) != 0)
			r->fd = -1;
		else
			tlsrptd_counters_set_cursor(
			    tlsrptd__collect_store(r->k), r->cursor, r->inode,
			    0);
	} else if ((uint64_t)st.st_size < r->offset + r->blen) {
		tlsrptd__collect_log(r->k, LOG_INFO, "log %s: truncated",
				     r->path);
		lseek(r->fd, 0, SEEK_SET);
		r->offset = 0;
		r->blen = 0;
		r->skipping = false;
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tlsrptd_logreader *r = arg;
	struct timeval tv = {0, POLL_MS * 1000};
	size_t total = 0;
	int64_t now = (int64_t)time(NULL);

	(void)fd;
	(void)what;
	if (r->fd < 0) {
		if (!r->is_stdin && open_input(r, false) == 0)
			tlsrptd__collect_log(r->k, LOG_INFO, "log %s: opened",
					     r->path);
		event_add(r->tick, &tv);
		return;
	}
	while (total < PER_TICK) {
		ssize_t n;

		/* Back-pressure: never read more than the store takes. */
		if (tlsrptd_counters_pending(tlsrptd__collect_store(r->k),
					     NULL) > PENDING_HIGH &&
		    tlsrptd_collect_flush(r->k, NULL) != MTASTS_OK) {
			event_add(r->tick, &tv);
			return;
		}
		n = read(r->fd, r->buf + r->blen, CHUNK);
		if (n > 0) {
			r->blen += (size_t)n;
			total += (size_t)n;
			feed_lines(r, now);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			tlsrptd__collect_log(r->k, LOG_ERR, "log %s: %s",
					     r->path, strerror(errno));
		if (n == 0 && (r->is_stdin || !r->follow)) {
			r->done = true;
			return;
		}
		if (n == 0)
			check_rotation(r);
		event_add(r->tick, &tv);
		return;
	}
	/* more to read: yield to the loop, come back at once */
	tv.tv_usec = 0;
	event_add(r->tick, &tv);
}

struct tlsrptd_logreader *
tlsrptd__logreader_new(struct tlsrptd_collect *k, struct event_base *base,
		       const struct tlsrptd_collect_options *o,
		       struct mtasts_error *err)
{
	struct tlsrptd_logreader *r = mtasts__calloc(1, sizeof(*r));
	struct mtasts_postfix_log_options po = {o->count_plaintext};
	struct timeval now = {0, 0};

	if (r == NULL)
		goto oom;
	r->k = k;
	r->base = base;
	r->fd = -1;
	r->follow = o->log_follow;
	r->is_stdin = strcmp(o->log_file, "-") == 0;
	r->path = mtasts__strdup(o->log_file);
	r->buf = mtasts__malloc(CHUNK + MTASTS_POSTFIX_LOG_LINE_MAX + 2);
	r->pl = mtasts_postfix_log_new(&po, policy_of, on_session, r);
	r->tick = event_new(base, -1, 0, on_tick, r);
	if (r->path == NULL || r->buf == NULL || r->pl == NULL ||
	    r->tick == NULL)
		goto oom;
	snprintf(r->cursor, sizeof(r->cursor), "log:%s", o->log_file);
	if (r->is_stdin) {
		r->fd = 0;
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	} else if (open_input(r, true) != 0) {
		if (!r->follow) {
			mtasts_error_set(err, MTASTS_EIO, "log %s: %s",
					 o->log_file, strerror(errno));
			tlsrptd__logreader_free(r);
			return NULL;
		}
		tlsrptd__collect_log(k, LOG_WARNING,
				     "log %s: %s (waiting for it)", o->log_file,
				     strerror(errno));
	}
	if (o->policy_store != NULL && o->policy_store[0] != '\0') {
		if (mtasts_store_open(base, o->policy_store, &r->store, err) !=
		    MTASTS_OK) {
			tlsrptd__logreader_free(r);
			return NULL;
		}
		r->reload_s = o->policy_reload != 0 ? o->policy_reload : 300;
		r->reload = event_new(base, -1, EV_PERSIST, on_reload, r);
		if (r->reload != NULL) {
			struct timeval tv = {(time_t)r->reload_s, 0};
			event_add(r->reload, &tv);
		}
		start_scan(r);
		/* Read the log only once the policies are in: run the
		 * loop until the first scan is done. */
		while (r->scanning && event_base_loop(base, EVLOOP_ONCE) == 0)
			;
	}
	event_add(r->tick, &now);
	return r;
oom:
	mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	tlsrptd__logreader_free(r);
	return NULL;
}

bool
tlsrptd__logreader_done(const struct tlsrptd_logreader *r)
{
	return r->done;
}

uint64_t
tlsrptd__logreader_unmatched(const struct tlsrptd_logreader *r)
{
	uint64_t u = 0;

	mtasts_postfix_log_stats(r->pl, NULL, &u);
	return u;
}

void
tlsrptd__logreader_free(struct tlsrptd_logreader *r)
{
	if (r == NULL)
		return;
	if (r->tick != NULL)
		event_free(r->tick);
	if (r->reload != NULL)
		event_free(r->reload);
	mtasts_store_close(r->store);
	map_free(r->map);
	map_free(r->next_map);
	if (r->fd > 0)
		close(r->fd);
	mtasts_postfix_log_free(r->pl);
	mtasts__free(r->buf);
	mtasts__free(r->path);
	mtasts__free(r);
}
