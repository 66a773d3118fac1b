/* SPDX-License-Identifier: MIT */
/*
 * store.c: picks a policy store backend from the URI scheme, dispatches
 * to its ops table, checks records, and holds the helpers the backends
 * share (domain keys, integer parsing, logging, deferred completions).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>

#include "mtasts/store.h"
#include "store_backend.h"
#include "util/alloc.h"
#include "util/cclass.h"

struct mtasts_store {
	const struct mtasts_store_ops *ops;
	void *impl;
};

struct scheme_map {
	const char *name;	/* as written before ':' in the URI */
	const char *backend;	/* the ops table's scheme */
	const struct mtasts_store_ops *ops; /* NULL: not compiled in */
};

static const struct scheme_map schemes[] = {
#ifdef HAVE_SQLITE
	{"sqlite", "sqlite", &mtasts__store_sqlite_ops},
#else
	{"sqlite", "sqlite", NULL},
#endif
#ifdef HAVE_REDIS
	{"redis", "redis", &mtasts__store_redis_ops},
	{"redis+unix", "redis", &mtasts__store_redis_ops},
#else
	{"redis", "redis", NULL},
	{"redis+unix", "redis", NULL},
#endif
#ifdef HAVE_PGSQL
	{"postgresql", "postgresql", &mtasts__store_pgsql_ops},
	{"postgres", "postgresql", &mtasts__store_pgsql_ops},
#else
	{"postgresql", "postgresql", NULL},
	{"postgres", "postgresql", NULL},
#endif
};

int
mtasts_store_open(struct event_base *base, const char *uri,
    struct mtasts_store **out, struct mtasts_error *err)
{
	const struct scheme_map *m = NULL;
	struct mtasts_store *s;
	const char *colon;
	size_t i, n;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (base == NULL || uri == NULL || out == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "store: missing event base, URI or result pointer");
	colon = strchr(uri, ':');
	if (colon == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "store URI \"%.64s\" has no scheme (sqlite:PATH, "
		    "redis://HOST, postgresql://HOST...)", uri);
	n = (size_t)(colon - uri);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == n &&
		    strncmp(schemes[i].name, uri, n) == 0) {
			m = &schemes[i];
			break;
		}
	}
	if (m == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "store URI \"%.64s\": unknown scheme \"%.*s\"", uri,
		    (int)(n > 32 ? 32 : n), uri);
	if (m->ops == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "built without %s support", m->backend);
	s = mtasts__calloc(1, sizeof(*s));
	if (s == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "store: no memory");
	s->ops = m->ops;
	rc = s->ops->open(base, uri, &s->impl, err);
	if (rc != MTASTS_OK) {
		mtasts__free(s);
		return rc;
	}
	*out = s;
	return MTASTS_OK;
}

void
mtasts_store_close(struct mtasts_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->impl);
	mtasts__free(s);
}

int
mtasts_store_get(struct mtasts_store *s, const char *domain,
    mtasts_store_get_cb cb, void *arg)
{
	if (s == NULL || domain == NULL || cb == NULL)
		return MTASTS_EINVAL;
	return s->ops->get(s->impl, domain, cb, arg);
}

int
mtasts_store_put(struct mtasts_store *s,
    const struct mtasts_store_record *rec, mtasts_store_done_cb cb,
    void *arg)
{
	if (s == NULL || rec == NULL || cb == NULL)
		return MTASTS_EINVAL;
	if (mtasts_store_record_check(rec, NULL) != MTASTS_OK)
		return MTASTS_EINVAL;
	return s->ops->put(s->impl, rec, cb, arg);
}

int
mtasts_store_del(struct mtasts_store *s, const char *domain,
    mtasts_store_done_cb cb, void *arg)
{
	if (s == NULL || domain == NULL || cb == NULL)
		return MTASTS_EINVAL;
	return s->ops->del(s->impl, domain, cb, arg);
}

int
mtasts_store_scan(struct mtasts_store *s, mtasts_store_each_cb each,
    mtasts_store_done_cb done, void *arg)
{
	if (s == NULL || each == NULL || done == NULL)
		return MTASTS_EINVAL;
	return s->ops->scan(s->impl, each, done, arg);
}

const char *
mtasts_store_scheme(const struct mtasts_store *s)
{
	return s == NULL ? "" : s->ops->scheme;
}

void
mtasts_store_set_log(struct mtasts_store *s, mtasts_store_log_cb fn,
    void *arg)
{
	if (s == NULL || s->ops->set_log == NULL)
		return;
	s->ops->set_log(s->impl, fn, arg);
}

static bool
domain_ok(const char *d, size_t len, bool need_lower)
{
	size_t i;

	if (!mtasts_domain_valid(d, len, false, NULL))
		return false;
	if (need_lower) {
		for (i = 0; i < len; i++)
			if (d[i] >= 'A' && d[i] <= 'Z')
				return false;
	}
	return true;
}

int
mtasts_store_record_check(const struct mtasts_store_record *rec,
    struct mtasts_error *err)
{
	size_t len, i;

	if (rec == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no record");
	len = strnlen(rec->domain, sizeof(rec->domain));
	if (len == sizeof(rec->domain) || !domain_ok(rec->domain, len, true))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "record: invalid or non-lowercase policy domain");
	len = strnlen(rec->id, sizeof(rec->id));
	if (len == 0 || len == sizeof(rec->id))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "record: policy id empty or too long");
	for (i = 0; i < len; i++)
		if (!mtasts__cc_alnum((unsigned char)rec->id[i]))
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "record: policy id has a character other than "
			    "letters and digits");
	if (rec->fetched_at < 0 || rec->checked_at < 0 ||
	    rec->expires_at < rec->fetched_at ||
	    rec->expires_at - rec->fetched_at > (int64_t)MTASTS_MAX_AGE_LIMIT)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "record: times out of range (need 0 <= fetched_at <= "
		    "expires_at <= fetched_at + %lu, checked_at >= 0)",
		    (unsigned long)MTASTS_MAX_AGE_LIMIT);
	if (rec->body_len > MTASTS_POLICY_BODY_MAX)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "record: body longer than %d bytes",
		    MTASTS_POLICY_BODY_MAX);
	if (rec->body_len > 0 &&
	    (rec->body == NULL || memchr(rec->body, 0, rec->body_len) != NULL))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "record: body missing or holds a NUL byte");
	return MTASTS_OK;
}

int
mtasts__store_domain_key(const char *domain, char *out)
{
	size_t len, i;

	if (domain == NULL)
		return MTASTS_EINVAL;
	len = strnlen(domain, MTASTS_DOMAIN_MAX + 1);
	if (!domain_ok(domain, len, false))
		return MTASTS_EINVAL;
	for (i = 0; i < len; i++)
		out[i] = (char)mtasts__cc_lower((unsigned char)domain[i]);
	out[len] = '\0';
	return MTASTS_OK;
}

bool
mtasts__store_parse_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (s == NULL || len == 0 || len > MTASTS__I64_TEXT)
		return false;
	if (s[0] == '-') {
		neg = true;
		i = 1;
		if (len == 1)
			return false;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

void
mtasts__store_log(mtasts_store_log_cb fn, void *arg, int prio,
    const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(arg, prio, buf);
}

/* ---- outages of the network stores ---------------------------------- */

/* Server messages (libpq's) span lines: fold them into one log line. */
static void
one_line(char *m)
{
	char *w = m;
	const char *r;
	bool space = false;

	for (r = m; *r != '\0'; r++) {
		if (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ') {
			space = w != m;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *r;
	}
	*w = '\0';
}

void
mtasts__store_outage_init(struct mtasts__store_outage *o, const char *what)
{
	memset(o, 0, sizeof(*o));
	o->what = what;
	o->backoff = MTASTS__STORE_BACKOFF_MIN;
}

void
mtasts__store_outage_log(struct mtasts__store_outage *o, const char *where,
    mtasts_store_log_cb fn, void *arg)
{
	if (!o->down || o->logged || fn == NULL)
		return;
	o->logged = true;
	mtasts__store_log(fn, arg, LOG_WARNING, "%s %s: %s; serving from "
	    "memory, reconnecting in the background", o->what, where, o->why);
}

int
mtasts__store_outage_begin(struct mtasts__store_outage *o, const char *why,
    const char *where, mtasts_store_log_cb fn, void *arg)
{
	int wait = o->backoff;

	if (!o->down) {
		o->down = true;
		o->logged = false;
		snprintf(o->why, sizeof(o->why), "%s",
		    why != NULL && *why != '\0' ? why : "connection lost");
		one_line(o->why);
		mtasts__store_outage_log(o, where, fn, arg);
	}
	o->backoff *= 2;
	if (o->backoff > MTASTS__STORE_BACKOFF_MAX)
		o->backoff = MTASTS__STORE_BACKOFF_MAX;
	return wait;
}

void
mtasts__store_outage_end(struct mtasts__store_outage *o, const char *where,
    mtasts_store_log_cb fn, void *arg)
{
	o->backoff = MTASTS__STORE_BACKOFF_MIN;
	if (!o->down)
		return;
	o->down = false;
	if (o->logged)
		mtasts__store_log(fn, arg, LOG_INFO, "%s %s: connected again",
		    o->what, where);
	o->logged = false;
}

/* ---- deferred completions --------------------------------------------- */

struct defer_item {
	struct defer_item *next;
	mtasts_store_get_cb get;
	mtasts_store_done_cb done;
	void *arg;
	int code;
};

struct mtasts__store_defer {
	struct event *ev;
	struct defer_item *head, *tail;
	bool flushing;	/* inside flush(): free is deferred */
	bool dead;	/* freed while flushing */
};

static void
defer_drop_items(struct mtasts__store_defer *q)
{
	struct defer_item *it, *next;

	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		mtasts__free(it);
	}
	q->head = q->tail = NULL;
}

static void
defer_destroy(struct mtasts__store_defer *q)
{
	defer_drop_items(q);
	event_free(q->ev);
	mtasts__free(q);
}

static void
defer_flush(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts__store_defer *q = arg;
	struct defer_item *it;

	(void)fd;
	(void)what;
	q->flushing = true;
	while ((it = q->head) != NULL) {
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		if (it->get != NULL)
			it->get(it->arg, it->code, NULL);
		else
			it->done(it->arg, it->code);
		mtasts__free(it);
		if (q->dead) {
			defer_destroy(q);
			return;
		}
	}
	q->flushing = false;
}

struct mtasts__store_defer *
mtasts__store_defer_new(struct event_base *base)
{
	struct mtasts__store_defer *q;

	q = mtasts__calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->ev = event_new(base, -1, 0, defer_flush, q);
	if (q->ev == NULL) {
		mtasts__free(q);
		return NULL;
	}
	return q;
}

void
mtasts__store_defer_free(struct mtasts__store_defer *q)
{
	if (q == NULL)
		return;
	if (q->flushing) {
		defer_drop_items(q);
		q->dead = true;
		return;
	}
	defer_destroy(q);
}

static int
defer_push(struct mtasts__store_defer *q, mtasts_store_get_cb get,
    mtasts_store_done_cb done, void *arg, int code)
{
	struct defer_item *it;

	it = mtasts__calloc(1, sizeof(*it));
	if (it == NULL)
		return MTASTS_ENOMEM;
	it->get = get;
	it->done = done;
	it->arg = arg;
	it->code = code;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	event_active(q->ev, EV_TIMEOUT, 0);
	return MTASTS_OK;
}

int
mtasts__store_defer_get(struct mtasts__store_defer *q,
    mtasts_store_get_cb cb, void *arg, int code)
{
	return defer_push(q, cb, NULL, arg, code);
}

int
mtasts__store_defer_done(struct mtasts__store_defer *q,
    mtasts_store_done_cb cb, void *arg, int code)
{
	return defer_push(q, NULL, cb, arg, code);
}
