/* SPDX-License-Identifier: MIT */
/*
 * store_redis.c: the Redis policy store ("redis://[[USER]:PASS@]HOST
 * [:PORT][/DB][?OPTS]" or "redis+unix:PATH[?OPTS]"; OPTS are
 * prefix=KEYPREFIX, ttl_grace=SECONDS, timeout=SECONDS joined by '&').
 *
 * One hash per policy domain under PREFIX+domain (default prefix
 * "mtasts:policy:") with the fields id, fetched_at, expires_at,
 * checked_at and body. put replaces the hash atomically (MULTI, DEL,
 * HSET, optional EXPIRE, EXEC); get is HGETALL; scan walks SCAN MATCH
 * PREFIX* and HGETALLs each key. hiredis' async API runs on the caller's
 * libevent base through hiredis' own adapter.
 *
 * Failure: when the connection drops, hiredis hands every pending
 * command a NULL reply and the caller gets MTASTS_ESTORE; the store goes
 * DOWN, logs once, and a timer reconnects after 1 s, doubling up to 30 s.
 * While DOWN, calls fail fast (MTASTS_ESTORE, callback still deferred).
 * A command that gets no reply within the timeout (default 5 s) drops
 * the connection the same way. Every reply is checked for type and size;
 * a hash that is not a valid record reads as "not found".
 */
#ifdef HAVE_REDIS

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include "mtasts/store.h"
#include "store_backend.h"
#include "util/alloc.h"

#define PREFIX_DEFAULT "mtasts:policy:"
#define PREFIX_MAX 64
#define HOST_MAX 255
#define CRED_MAX 255
#define UPATH_MAX 1024
#define TIMEOUT_DEFAULT 5
#define SCAN_COUNT "200"
#define SCAN_BATCH_MAX 10000	/* keys accepted from one SCAN reply */
#define HASH_FIELDS_MAX 32	/* fields accepted in one HGETALL reply */
#define CURSOR_MAX 24

enum state { S_DOWN, S_CONNECTING, S_UP };
enum cmd_kind { C_GET, C_PUT, C_DEL, C_SCAN, C_SCANGET, C_SETUP };

struct rscan {
	mtasts_store_each_cb each;
	mtasts_store_done_cb done;
	void *arg;
	int refs;	/* commands in flight for this scan */
	int code;	/* first failure */
	bool stopped;	/* each() asked to stop */
	bool orphan;	/* store closed */
	char cursor[CURSOR_MAX + 1];
};

struct rcmd {
	struct rcmd *prev, *next;
	struct rs *s;	/* NULL once the store is closed */
	enum cmd_kind kind;
	mtasts_store_get_cb get_cb;
	mtasts_store_done_cb done_cb;
	void *arg;
	struct rscan *scan;
	int64_t sent;	/* monotonic seconds */
	char domain[MTASTS_DOMAIN_MAX + 1];
};

struct rs {
	struct event_base *base;
	char host[HOST_MAX + 1];
	int port;
	char where[HOST_MAX + 16];	/* host:port for log lines */
	char upath[UPATH_MAX + 1];
	char user[CRED_MAX + 1];
	char pass[CRED_MAX + 1];
	int db;
	char prefix[PREFIX_MAX + 1];
	size_t prefix_len;
	char match[2 * PREFIX_MAX + 2];	/* SCAN MATCH pattern */
	int64_t ttl_grace;	/* < 0: no TTL */
	int64_t timeout;
	redisAsyncContext *ac;
	enum state state;
	int64_t connect_start;
	struct event *retry_ev;
	struct event *watch_ev;
	struct mtasts__store_defer *dq;
	struct rcmd *head, *tail;	/* commands in flight, oldest first */
	size_t ncmds;
	mtasts_store_log_cb log;
	void *log_arg;
	struct mtasts__store_outage out;
	int depth;	/* nesting of our handlers on the stack */
	bool dead;	/* closed while depth > 0 */
};

static void reply_cb(redisAsyncContext *ac, void *r, void *privdata);
static void rs_connect(struct rs *s);

static int64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static const char *
where(struct rs *s)
{
	if (s->upath[0] != '\0')
		return s->upath;
	snprintf(s->where, sizeof(s->where), "%s:%d", s->host, s->port);
	return s->where;
}

/* ---- bookkeeping -------------------------------------------------------- */

static void
cmd_link(struct rs *s, struct rcmd *c)
{
	c->s = s;
	c->prev = s->tail;
	c->next = NULL;
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->ncmds++;
	c->sent = mono_now();
	if (!evtimer_pending(s->watch_ev, NULL)) {
		struct timeval one = {1, 0};

		evtimer_add(s->watch_ev, &one);
	}
}

static void
cmd_unlink(struct rs *s, struct rcmd *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = NULL;
	s->ncmds--;
}

static void
enter(struct rs *s)
{
	s->depth++;
}

static void rs_destroy(struct rs *s);

/* Returns true when s is gone. */
static bool
leave(struct rs *s)
{
	if (--s->depth == 0 && s->dead) {
		rs_destroy(s);
		return true;
	}
	return s->dead;
}

/* The connection is gone (or never came): go DOWN, schedule a retry. */
static void
conn_down(struct rs *s, const char *why)
{
	struct timeval tv;

	s->ac = NULL;
	s->state = S_DOWN;
	tv.tv_sec = mtasts__store_outage_begin(&s->out, why, where(s), s->log,
	    s->log_arg);
	tv.tv_usec = 0;
	evtimer_add(s->retry_ev, &tv);
}

/* Drop the connection ourselves (timeout, protocol or AUTH failure). */
static void
conn_drop(struct rs *s, const char *why)
{
	redisAsyncContext *ac = s->ac;

	if (ac == NULL)
		return;
	conn_down(s, why);
	ac->data = NULL;
	redisAsyncFree(ac);	/* pending commands get NULL replies */
}

static void
conn_ok(struct rs *s)
{
	mtasts__store_outage_end(&s->out, where(s), s->log, s->log_arg);
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	struct rs *s = cac->data;

	if (s == NULL)
		return;
	if (status != REDIS_OK) {
		conn_down(s, cac->errstr);	/* hiredis frees ac */
		return;
	}
	s->state = S_UP;
}

static void
on_disconnect(const redisAsyncContext *cac, int status)
{
	struct rs *s = cac->data;

	(void)status;
	if (s == NULL)
		return;
	conn_down(s, cac->err != 0 ? cac->errstr : "server closed the "
	    "connection");
}

/* ---- sending ------------------------------------------------------------ */

static int
send_argv(struct rs *s, struct rcmd *c, int argc, const char **argv,
    const size_t *lens)
{
	if (s->ac == NULL)
		return MTASTS_ESTORE;
	if (redisAsyncCommandArgv(s->ac, c != NULL ? reply_cb : NULL, c, argc,
	    argv, lens) != REDIS_OK)
		return MTASTS_ESTORE;
	if (c != NULL)
		cmd_link(s, c);
	return MTASTS_OK;
}

static void
make_key(const struct rs *s, const char *domain, char *key, size_t *len)
{
	size_t dl = strlen(domain);

	memcpy(key, s->prefix, s->prefix_len);
	memcpy(key + s->prefix_len, domain, dl);
	*len = s->prefix_len + dl;
	key[*len] = '\0';
}

static void
rs_connect(struct rs *s)
{
	redisAsyncContext *ac;
	const char *argv[3];
	size_t lens[3];
	char dbtext[16];
	int n;

	if (s->upath[0] != '\0')
		ac = redisAsyncConnectUnix(s->upath);
	else
		ac = redisAsyncConnect(s->host, s->port);
	if (ac == NULL) {
		conn_down(s, "out of memory");
		return;
	}
	if (ac->err != 0) {
		char why[160];

		snprintf(why, sizeof(why), "cannot connect: %s", ac->errstr);
		redisAsyncFree(ac);
		conn_down(s, why);
		return;
	}
	ac->data = s;
	if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
		ac->data = NULL;
		redisAsyncFree(ac);
		conn_down(s, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	s->ac = ac;
	s->state = S_CONNECTING;
	s->connect_start = mono_now();
	/* Queued before anything the caller sends, so they run first. */
	if (s->pass[0] != '\0') {
		struct rcmd *c = mtasts__calloc(1, sizeof(*c));

		n = 0;
		argv[n] = "AUTH";
		lens[n++] = 4;
		if (s->user[0] != '\0') {
			argv[n] = s->user;
			lens[n] = strlen(s->user);
			n++;
		}
		argv[n] = s->pass;
		lens[n] = strlen(s->pass);
		n++;
		if (c == NULL) {
			conn_drop(s, "out of memory");
			return;
		}
		c->kind = C_SETUP;
		if (send_argv(s, c, n, argv, lens) != MTASTS_OK) {
			mtasts__free(c);
			conn_drop(s, "cannot send AUTH");
			return;
		}
	}
	if (s->db != 0) {
		struct rcmd *c = mtasts__calloc(1, sizeof(*c));

		snprintf(dbtext, sizeof(dbtext), "%d", s->db);
		argv[0] = "SELECT";
		lens[0] = 6;
		argv[1] = dbtext;
		lens[1] = strlen(dbtext);
		if (c == NULL) {
			conn_drop(s, "out of memory");
			return;
		}
		c->kind = C_SETUP;
		if (send_argv(s, c, 2, argv, lens) != MTASTS_OK) {
			mtasts__free(c);
			conn_drop(s, "cannot send SELECT");
			return;
		}
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rs *s = arg;

	(void)fd;
	(void)what;
	if (s->state == S_DOWN)
		rs_connect(s);
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rs *s = arg;
	struct timeval one = {1, 0};
	int64_t now = mono_now();

	(void)fd;
	(void)what;
	enter(s);
	if (s->state == S_CONNECTING && s->head == NULL &&
	    now - s->connect_start >= s->timeout)
		conn_drop(s, "connect timed out");
	else if (s->head != NULL && now - s->head->sent >= s->timeout)
		conn_drop(s, "no reply within the timeout");
	if (leave(s))
		return;
	if (s->head != NULL || s->state == S_CONNECTING)
		evtimer_add(s->watch_ev, &one);
}

/* ---- replies ------------------------------------------------------------ */

static bool
reply_str(const redisReply *r, size_t max)
{
	return r != NULL && r->type == REDIS_REPLY_STRING && r->str != NULL &&
	    r->len <= max;
}

static bool
field_i64(const redisReply *v, int64_t *out)
{
	return reply_str(v, MTASTS__I64_TEXT) &&
	    mtasts__store_parse_i64(v->str, v->len, out);
}

/*
 * Turn an HGETALL reply into rec (domain already set). MTASTS_OK,
 * MTASTS_ENOTFOUND (empty, or not a valid record) or MTASTS_ESTORE.
 */
static int
parse_hash(const redisReply *r, struct mtasts_store_record *rec)
{
	unsigned seen = 0;
	size_t i;

	if (r->type == REDIS_REPLY_ERROR)
		return r->str != NULL && strncmp(r->str, "WRONGTYPE", 9) == 0 ?
		    MTASTS_ENOTFOUND : MTASTS_ESTORE;
	if (r->type != REDIS_REPLY_ARRAY)
		return MTASTS_ESTORE;
	if (r->elements == 0)
		return MTASTS_ENOTFOUND;
	if (r->elements % 2 != 0 || r->elements > 2 * HASH_FIELDS_MAX)
		return MTASTS_ENOTFOUND;
	for (i = 0; i < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (!reply_str(k, 16))
			return MTASTS_ENOTFOUND;
		if (strcmp(k->str, "id") == 0) {
			if (!reply_str(v, MTASTS_STS_ID_MAX) ||
			    strlen(v->str) != v->len)
				return MTASTS_ENOTFOUND;
			memcpy(rec->id, v->str, v->len + 1);
			seen |= 1;
		} else if (strcmp(k->str, "fetched_at") == 0) {
			if (!field_i64(v, &rec->fetched_at))
				return MTASTS_ENOTFOUND;
			seen |= 2;
		} else if (strcmp(k->str, "expires_at") == 0) {
			if (!field_i64(v, &rec->expires_at))
				return MTASTS_ENOTFOUND;
			seen |= 4;
		} else if (strcmp(k->str, "checked_at") == 0) {
			if (!field_i64(v, &rec->checked_at))
				return MTASTS_ENOTFOUND;
			seen |= 8;
		} else if (strcmp(k->str, "body") == 0) {
			if (!reply_str(v, MTASTS_POLICY_BODY_MAX))
				return MTASTS_ENOTFOUND;
			rec->body = v->str;
			rec->body_len = v->len;
			seen |= 16;
		}
	}
	if (seen != 31 || mtasts_store_record_check(rec, NULL) != MTASTS_OK)
		return MTASTS_ENOTFOUND;
	return MTASTS_OK;
}

static void scan_next(struct rs *s, struct rscan *sc);

/* One command of sc finished; continue or finish the scan. */
static void
scan_release(struct rs *s, struct rscan *sc)
{
	if (--sc->refs > 0)
		return;
	if (sc->orphan || s == NULL) {
		mtasts__free(sc);
		return;
	}
	if (sc->code == MTASTS_OK && !sc->stopped &&
	    strcmp(sc->cursor, "0") != 0) {
		scan_next(s, sc);
		if (sc->refs > 0)
			return;
		sc->code = MTASTS_ESTORE;
	}
	sc->done(sc->arg, sc->code);
	mtasts__free(sc);
}

static void
scan_next(struct rs *s, struct rscan *sc)
{
	const char *argv[6];
	size_t lens[6];
	struct rcmd *c;

	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->kind = C_SCAN;
	c->scan = sc;
	argv[0] = "SCAN";
	argv[1] = sc->cursor;
	argv[2] = "MATCH";
	argv[3] = s->match;
	argv[4] = "COUNT";
	argv[5] = SCAN_COUNT;
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	if (send_argv(s, c, 6, argv, lens) != MTASTS_OK) {
		mtasts__free(c);
		return;
	}
	sc->refs++;
}

static void
scan_reply(struct rs *s, struct rscan *sc, const redisReply *r)
{
	const redisReply *keys;
	const char *argv[2];
	size_t lens[2], i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !reply_str(r->element[0], CURSOR_MAX) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY ||
	    r->element[1]->elements > SCAN_BATCH_MAX) {
		if (sc->code == MTASTS_OK)
			sc->code = MTASTS_ESTORE;
		return;
	}
	memcpy(sc->cursor, r->element[0]->str, r->element[0]->len + 1);
	keys = r->element[1];
	argv[0] = "HGETALL";
	lens[0] = 7;
	for (i = 0; i < keys->elements && !sc->stopped; i++) {
		const redisReply *k = keys->element[i];
		struct rcmd *c;
		size_t dl;

		if (!reply_str(k, s->prefix_len + MTASTS_DOMAIN_MAX) ||
		    k->len <= s->prefix_len ||
		    memcmp(k->str, s->prefix, s->prefix_len) != 0)
			continue;
		dl = k->len - s->prefix_len;
		if (!mtasts_domain_valid(k->str + s->prefix_len, dl, false,
		    NULL))
			continue;
		c = mtasts__calloc(1, sizeof(*c));
		if (c == NULL) {
			sc->code = MTASTS_ENOMEM;
			return;
		}
		c->kind = C_SCANGET;
		c->scan = sc;
		memcpy(c->domain, k->str + s->prefix_len, dl);
		c->domain[dl] = '\0';
		argv[1] = k->str;
		lens[1] = k->len;
		if (send_argv(s, c, 2, argv, lens) != MTASTS_OK) {
			mtasts__free(c);
			sc->code = MTASTS_ESTORE;
			return;
		}
		sc->refs++;
	}
}

static void
scanget_reply(struct rs *s, struct rcmd *c, const redisReply *r)
{
	struct rscan *sc = c->scan;
	struct mtasts_store_record rec;
	size_t i;

	if (r == NULL) {
		if (sc->code == MTASTS_OK)
			sc->code = MTASTS_ESTORE;
		return;
	}
	if (sc->stopped || sc->code != MTASTS_OK)
		return;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.domain, c->domain, sizeof(rec.domain));
	for (i = 0; rec.domain[i] != '\0'; i++)
		if (rec.domain[i] >= 'A' && rec.domain[i] <= 'Z')
			return;	/* we only write lowercase keys */
	if (parse_hash(r, &rec) != MTASTS_OK)
		return;
	if (sc->each(sc->arg, &rec) != 0)
		sc->stopped = true;
	(void)s;
}

static bool
exec_ok(const redisReply *r)
{
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return false;
	for (i = 0; i < r->elements; i++)
		if (r->element[i] == NULL ||
		    r->element[i]->type == REDIS_REPLY_ERROR)
			return false;
	return true;
}

static void
reply_cb(redisAsyncContext *ac, void *rv, void *privdata)
{
	struct rcmd *c = privdata;
	struct rs *s = c->s;
	const redisReply *r = rv;
	struct mtasts_store_record rec;
	int code;

	(void)ac;
	if (s == NULL) {	/* store closed */
		if (c->scan != NULL)
			scan_release(NULL, c->scan);
		mtasts__free(c);
		return;
	}
	cmd_unlink(s, c);
	enter(s);
	if (r != NULL && r->type != REDIS_REPLY_ERROR)
		conn_ok(s);
	switch (c->kind) {
	case C_SETUP:
		if (r != NULL && r->type == REDIS_REPLY_ERROR) {
			char why[160];

			snprintf(why, sizeof(why), "AUTH/SELECT refused: %.100s",
			    r->str != NULL ? r->str : "?");
			conn_drop(s, why);
		}
		break;
	case C_GET:
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.domain, c->domain, sizeof(rec.domain));
		code = r == NULL ? MTASTS_ESTORE : parse_hash(r, &rec);
		c->get_cb(c->arg, code, code == MTASTS_OK ? &rec : NULL);
		break;
	case C_PUT:
		c->done_cb(c->arg, exec_ok(r) ? MTASTS_OK : MTASTS_ESTORE);
		break;
	case C_DEL:
		c->done_cb(c->arg, r != NULL && r->type == REDIS_REPLY_INTEGER ?
		    MTASTS_OK : MTASTS_ESTORE);
		break;
	case C_SCAN:
		scan_reply(s, c->scan, r);
		break;
	case C_SCANGET:
		scanget_reply(s, c, r);
		break;
	}
	if (c->scan != NULL) {
		if (s->dead)
			c->scan->orphan = true;
		scan_release(s, c->scan);
	}
	mtasts__free(c);
	leave(s);
}

/* ---- URI ---------------------------------------------------------------- */

static bool
copy_part(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

static bool
parse_num(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	return mtasts__store_parse_i64(s, len, out) && *out >= min &&
	    *out <= max;
}

static int
parse_query(struct rs *s, const char *q, struct mtasts_error *err)
{
	while (*q != '\0') {
		const char *amp = strchr(q, '&');
		size_t len = amp != NULL ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t kl, vl;
		const char *v;
		int64_t n;

		if (eq == NULL)
			goto bad;
		kl = (size_t)(eq - q);
		v = eq + 1;
		vl = len - kl - 1;
		if (kl == 6 && memcmp(q, "prefix", 6) == 0) {
			size_t i;

			if (vl == 0 || !copy_part(s->prefix, sizeof(s->prefix),
			    v, vl))
				goto bad;
			for (i = 0; i < vl; i++)
				if (v[i] <= ' ' || v[i] > '~')
					goto bad;
		} else if (kl == 9 && memcmp(q, "ttl_grace", 9) == 0) {
			if (!parse_num(v, vl, 0, 86400 * 366, &n))
				goto bad;
			s->ttl_grace = n;
		} else if (kl == 7 && memcmp(q, "timeout", 7) == 0) {
			if (!parse_num(v, vl, 1, 300, &n))
				goto bad;
			s->timeout = n;
		} else {
			goto bad;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return MTASTS_OK;
bad:
	return mtasts_error_set(err, MTASTS_EINVAL,
	    "redis store: bad option in \"%.80s\" (known: prefix=TEXT, "
	    "ttl_grace=SECONDS, timeout=1..300)", q);
}

static int
parse_uri(struct rs *s, const char *uri, struct mtasts_error *err)
{
	const char *p, *end, *q, *at, *hostend, *colon;
	char tmp[CRED_MAX * 2 + 2];
	int64_t n;

	q = strchr(uri, '?');
	end = q != NULL ? q : uri + strlen(uri);
	if (strncmp(uri, "redis+unix:", 11) == 0) {
		p = uri + 11;
		if (strncmp(p, "//", 2) == 0)
			p += 2;
		if (p >= end || !copy_part(s->upath, sizeof(s->upath), p,
		    (size_t)(end - p)))
			goto bad;
	} else {
		if (strncmp(uri, "redis://", 8) != 0)
			goto bad;
		p = uri + 8;
		hostend = memchr(p, '/', (size_t)(end - p));
		if (hostend == NULL)
			hostend = end;
		at = NULL;
		for (const char *x = p; x < hostend; x++)
			if (*x == '@')
				at = x;
		if (at != NULL) {
			if (!copy_part(tmp, sizeof(tmp), p, (size_t)(at - p)))
				goto bad;
			colon = strchr(tmp, ':');
			if (colon == NULL) {
				if (!copy_part(s->pass, sizeof(s->pass), tmp,
				    strlen(tmp)))
					goto bad;
			} else if (!copy_part(s->user, sizeof(s->user), tmp,
			    (size_t)(colon - tmp)) ||
			    !copy_part(s->pass, sizeof(s->pass), colon + 1,
			    strlen(colon + 1))) {
				goto bad;
			}
			p = at + 1;
		}
		if (*p == '[') {	/* [IPv6] */
			const char *rb = memchr(p, ']', (size_t)(hostend - p));

			if (rb == NULL || !copy_part(s->host, sizeof(s->host),
			    p + 1, (size_t)(rb - p - 1)))
				goto bad;
			colon = rb + 1 < hostend && rb[1] == ':' ? rb + 1 :
			    NULL;
			if (rb + 1 < hostend && colon == NULL)
				goto bad;
		} else {
			colon = memchr(p, ':', (size_t)(hostend - p));
			if (!copy_part(s->host, sizeof(s->host), p,
			    (size_t)((colon != NULL ? colon : hostend) - p)))
				goto bad;
		}
		if (s->host[0] == '\0')
			copy_part(s->host, sizeof(s->host), "127.0.0.1", 9);
		if (colon != NULL) {
			if (!parse_num(colon + 1, (size_t)(hostend - colon - 1),
			    1, 65535, &n))
				goto bad;
			s->port = (int)n;
		}
		if (hostend < end && end - hostend > 1) {
			if (!parse_num(hostend + 1, (size_t)(end - hostend - 1),
			    0, 1000000, &n))
				goto bad;
			s->db = (int)n;
		}
	}
	if (q != NULL)
		return parse_query(s, q + 1, err);
	return MTASTS_OK;
bad:
	return mtasts_error_set(err, MTASTS_EINVAL,
	    "redis store: cannot parse \"%.100s\" (want redis://[[USER]:PASS@]"
	    "HOST[:PORT][/DB][?OPTS] or redis+unix:PATH[?OPTS])", uri);
}

static void
build_match(struct rs *s)
{
	size_t i, o = 0;

	for (i = 0; i < s->prefix_len; i++) {
		char ch = s->prefix[i];

		if (ch == '*' || ch == '?' || ch == '[' || ch == ']' ||
		    ch == '\\')
			s->match[o++] = '\\';
		s->match[o++] = ch;
	}
	s->match[o++] = '*';
	s->match[o] = '\0';
}

/* ---- ops ---------------------------------------------------------------- */

static void
rs_destroy(struct rs *s)
{
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->watch_ev != NULL)
		event_free(s->watch_ev);
	mtasts__store_defer_free(s->dq);
	mtasts__free(s);
}

static int
rs_open(struct event_base *base, const char *uri, void **impl,
    struct mtasts_error *err)
{
	struct rs *s;
	int rc;

	s = mtasts__calloc(1, sizeof(*s));
	if (s == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	s->base = base;
	s->port = 6379;
	s->ttl_grace = -1;
	s->timeout = TIMEOUT_DEFAULT;
	mtasts__store_outage_init(&s->out, "redis store");
	memcpy(s->prefix, PREFIX_DEFAULT, sizeof(PREFIX_DEFAULT));
	rc = parse_uri(s, uri, err);
	if (rc != MTASTS_OK) {
		rs_destroy(s);
		return rc;
	}
	s->prefix_len = strlen(s->prefix);
	build_match(s);
	s->retry_ev = evtimer_new(base, retry_cb, s);
	s->watch_ev = evtimer_new(base, watch_cb, s);
	s->dq = mtasts__store_defer_new(base);
	if (s->retry_ev == NULL || s->watch_ev == NULL || s->dq == NULL) {
		rs_destroy(s);
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	}
	/* Lazy: a server that is down now only makes calls fail fast until
	 * the background reconnect succeeds. */
	rs_connect(s);
	*impl = s;
	return MTASTS_OK;
}

static void
rs_close(void *impl)
{
	struct rs *s = impl;
	struct rcmd *c, *next;
	redisAsyncContext *ac;

	if (s == NULL || s->dead)
		return;
	for (c = s->head; c != NULL; c = next) {
		next = c->next;
		c->s = NULL;
		if (c->scan != NULL)
			c->scan->orphan = true;
		c->prev = c->next = NULL;
	}
	s->head = s->tail = NULL;
	s->ncmds = 0;
	ac = s->ac;
	s->ac = NULL;
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	if (s->depth > 0) {
		s->dead = true;
		evtimer_del(s->retry_ev);
		evtimer_del(s->watch_ev);
		mtasts__store_defer_free(s->dq);
		s->dq = NULL;
		return;
	}
	rs_destroy(s);
}

/* Fail fast: the callback still runs once, later. */
static bool
down(struct rs *s)
{
	return s->ac == NULL || s->ncmds >= MTASTS__STORE_QUEUE_MAX;
}

/* The callback of a failed single-key command, run later. */
static int
defer_fail(struct rs *s, mtasts_store_get_cb get_cb,
    mtasts_store_done_cb done_cb, void *arg)
{
	if (get_cb != NULL)
		return mtasts__store_defer_get(s->dq, get_cb, arg,
		    MTASTS_ESTORE);
	return mtasts__store_defer_done(s->dq, done_cb, arg, MTASTS_ESTORE);
}

/* HGETALL (get_cb) or DEL (done_cb) of one domain's key. */
static int
key_command(struct rs *s, const char *verb, const char *domain,
    mtasts_store_get_cb get_cb, mtasts_store_done_cb done_cb, void *arg)
{
	char key[PREFIX_MAX + MTASTS_DOMAIN_MAX + 1];
	const char *argv[2];
	size_t lens[2];
	struct rcmd *c;

	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(domain, c->domain) != MTASTS_OK) {
		mtasts__free(c);
		return MTASTS_EINVAL;
	}
	if (down(s)) {
		mtasts__free(c);
		return defer_fail(s, get_cb, done_cb, arg);
	}
	c->kind = get_cb != NULL ? C_GET : C_DEL;
	c->get_cb = get_cb;
	c->done_cb = done_cb;
	c->arg = arg;
	make_key(s, c->domain, key, &lens[1]);
	argv[0] = verb;
	lens[0] = strlen(verb);
	argv[1] = key;
	if (send_argv(s, c, 2, argv, lens) != MTASTS_OK) {
		mtasts__free(c);
		return defer_fail(s, get_cb, done_cb, arg);
	}
	return MTASTS_OK;
}

static int
rs_get(void *impl, const char *domain, mtasts_store_get_cb cb, void *arg)
{
	return key_command(impl, "HGETALL", domain, cb, NULL, arg);
}

static int
rs_put(void *impl, const struct mtasts_store_record *rec,
    mtasts_store_done_cb cb, void *arg)
{
	struct rs *s = impl;
	char key[PREFIX_MAX + MTASTS_DOMAIN_MAX + 1];
	char t[3][MTASTS__I64_TEXT + 1], ttl[MTASTS__I64_TEXT + 1];
	const char *argv[12];
	size_t lens[12], keylen;
	struct rcmd *c;
	int i, rc;

	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(rec->domain, c->domain) != MTASTS_OK) {
		mtasts__free(c);
		return MTASTS_EINVAL;
	}
	if (down(s)) {
		mtasts__free(c);
		return mtasts__store_defer_done(s->dq, cb, arg, MTASTS_ESTORE);
	}
	c->kind = C_PUT;
	c->done_cb = cb;
	c->arg = arg;
	make_key(s, c->domain, key, &keylen);
	snprintf(t[0], sizeof(t[0]), "%lld", (long long)rec->fetched_at);
	snprintf(t[1], sizeof(t[1]), "%lld", (long long)rec->expires_at);
	snprintf(t[2], sizeof(t[2]), "%lld", (long long)rec->checked_at);
	rc = redisAsyncCommand(s->ac, NULL, NULL, "MULTI");
	argv[0] = "DEL";
	argv[1] = key;
	lens[0] = 3;
	lens[1] = keylen;
	if (rc == REDIS_OK)
		rc = redisAsyncCommandArgv(s->ac, NULL, NULL, 2, argv, lens);
	argv[0] = "HSET";
	argv[2] = "id";
	argv[3] = rec->id;
	argv[4] = "fetched_at";
	argv[5] = t[0];
	argv[6] = "expires_at";
	argv[7] = t[1];
	argv[8] = "checked_at";
	argv[9] = t[2];
	argv[10] = "body";
	argv[11] = rec->body_len > 0 ? rec->body : "";
	lens[0] = 4;
	for (i = 2; i < 11; i++)
		lens[i] = strlen(argv[i]);
	lens[11] = rec->body_len;
	if (rc == REDIS_OK)
		rc = redisAsyncCommandArgv(s->ac, NULL, NULL, 12, argv, lens);
	if (rc == REDIS_OK && s->ttl_grace >= 0) {
		int64_t secs = rec->expires_at - (int64_t)time(NULL) +
		    s->ttl_grace;

		snprintf(ttl, sizeof(ttl), "%lld",
		    (long long)(secs < 1 ? 1 : secs));
		argv[0] = "EXPIRE";
		argv[2] = ttl;
		lens[0] = 6;
		lens[2] = strlen(ttl);
		rc = redisAsyncCommandArgv(s->ac, NULL, NULL, 3, argv, lens);
	}
	argv[0] = "EXEC";
	lens[0] = 4;
	if (rc == REDIS_OK && send_argv(s, c, 1, argv, lens) == MTASTS_OK)
		return MTASTS_OK;
	mtasts__free(c);
	return mtasts__store_defer_done(s->dq, cb, arg, MTASTS_ESTORE);
}

static int
rs_del(void *impl, const char *domain, mtasts_store_done_cb cb, void *arg)
{
	return key_command(impl, "DEL", domain, NULL, cb, arg);
}

static int
rs_scan(void *impl, mtasts_store_each_cb each, mtasts_store_done_cb done,
    void *arg)
{
	struct rs *s = impl;
	struct rscan *sc;

	if (down(s))
		return mtasts__store_defer_done(s->dq, done, arg,
		    MTASTS_ESTORE);
	sc = mtasts__calloc(1, sizeof(*sc));
	if (sc == NULL)
		return MTASTS_ENOMEM;
	sc->each = each;
	sc->done = done;
	sc->arg = arg;
	sc->cursor[0] = '0';
	scan_next(s, sc);
	if (sc->refs == 0) {
		mtasts__free(sc);
		return mtasts__store_defer_done(s->dq, done, arg,
		    MTASTS_ESTORE);
	}
	return MTASTS_OK;
}

static void
rs_set_log(void *impl, mtasts_store_log_cb fn, void *arg)
{
	struct rs *s = impl;

	s->log = fn;
	s->log_arg = arg;
	/* e.g. the server was down at open */
	mtasts__store_outage_log(&s->out, where(s), s->log, s->log_arg);
}

const struct mtasts_store_ops mtasts__store_redis_ops = {
	.scheme = "redis",
	.open = rs_open,
	.close = rs_close,
	.get = rs_get,
	.put = rs_put,
	.del = rs_del,
	.scan = rs_scan,
	.set_log = rs_set_log,
};

#endif /* HAVE_REDIS */
