/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	store 3h
 * SUMMARY
 *	persistent policy stores behind the daemon's memory cache
 * DESCRIPTION
 *	One struct mtasts_store_ops per backend (sqlite, redis, pgsql),
 *	filled with designated initializers; the daemon core only sees this
 *	table (mtasts_store_open picks it from the URI scheme). A store keeps
 *	one record per policy domain: what RFC 8461 section 5 needs to apply
 *	and refresh a cached policy. Records are plain value structs; the
 *	policy itself is kept as its body text and re-parsed on load.
 *
 *	Async contract (libevent): every call that takes a callback returns
 *	MTASTS_OK and runs the callback exactly once later, or returns an
 *	error and never runs it. Data passed to a callback is borrowed for
 *	that call only. A store that loses its server keeps answering with
 *	MTASTS_ESTORE (class temp) and reconnects by itself; the daemon keeps
 *	serving from memory meanwhile.
 */
#ifndef MTASTS_STORE_H
#define MTASTS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "mtasts/sts_record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_store;

/* One cached policy. */
struct mtasts_store_record {
	char domain[MTASTS_DOMAIN_MAX + 1];	/* policy domain, lowercase */
	char id[MTASTS_STS_ID_MAX + 1];		/* TXT id it was fetched for */
	int64_t fetched_at;	/* unix time of the successful fetch */
	int64_t expires_at;	/* fetched_at + max_age (never slides) */
	int64_t checked_at;	/* last TXT check that confirmed the id */
	const char *body;	/* policy text as fetched (borrowed; NUL-
				   terminated when a store hands it out) */
	size_t body_len;	/* <= MTASTS_POLICY_BODY_MAX */
};

/* NOTFOUND is reported as code MTASTS_ENOTFOUND with rec == NULL. */
typedef void (*mtasts_store_get_cb)(void *arg, int code,
    const struct mtasts_store_record *rec);
typedef void (*mtasts_store_done_cb)(void *arg, int code);
/* Called per record by scan; return non-zero to stop early. */
typedef int (*mtasts_store_each_cb)(void *arg,
    const struct mtasts_store_record *rec);
/*
 * Log sink for events the caller cannot see through return codes: a
 * server lost or back, a write failing in the background. prio is a
 * syslog(3) priority (LOG_WARNING, LOG_INFO...); msg is borrowed for the
 * call and carries no trailing newline.
 */
typedef void (*mtasts_store_log_cb)(void *arg, int prio, const char *msg);

struct mtasts_store_ops {
	const char *scheme;	/* "sqlite", "redis", "postgresql" */
	int (*open)(struct event_base *base, const char *uri, void **impl,
	    struct mtasts_error *err);
	void (*close)(void *impl);	/* drops pending calls, no callbacks */
	int (*get)(void *impl, const char *domain, mtasts_store_get_cb cb,
	    void *arg);
	int (*put)(void *impl, const struct mtasts_store_record *rec,
	    mtasts_store_done_cb cb, void *arg);
	int (*del)(void *impl, const char *domain, mtasts_store_done_cb cb,
	    void *arg);
	/* Every record (order unspecified), then done(arg, code). */
	int (*scan)(void *impl, mtasts_store_each_cb each,
	    mtasts_store_done_cb done, void *arg);
	/* Optional (may be NULL): install the log callback. */
	void (*set_log)(void *impl, mtasts_store_log_cb fn, void *arg);
};

/*
 * Open the store named by uri: "sqlite:PATH", "redis://HOST[:PORT][/DB]"
 * (or "redis+unix:PATH"), "postgresql://..." (libpq URI). *out is owned
 * by the caller (mtasts_store_close). MTASTS_EINVAL for an unknown
 * scheme or a backend not compiled in; MTASTS_ESTORE when the backend
 * cannot open at all (e.g. unwritable SQLite path).
 */
int mtasts_store_open(struct event_base *base, const char *uri,
    struct mtasts_store **out, struct mtasts_error *err)
	__attribute__((warn_unused_result));
void mtasts_store_close(struct mtasts_store *s); /* NULL-safe */
int mtasts_store_get(struct mtasts_store *s, const char *domain,
    mtasts_store_get_cb cb, void *arg);
int mtasts_store_put(struct mtasts_store *s,
    const struct mtasts_store_record *rec, mtasts_store_done_cb cb,
    void *arg);
int mtasts_store_del(struct mtasts_store *s, const char *domain,
    mtasts_store_done_cb cb, void *arg);
int mtasts_store_scan(struct mtasts_store *s, mtasts_store_each_cb each,
    mtasts_store_done_cb done, void *arg);
const char *mtasts_store_scheme(const struct mtasts_store *s);

/*
 * Install (fn != NULL) or remove (fn == NULL) the log callback of s.
 * Each outage of a server is logged once when it starts and once when
 * the store is back; nothing is logged without a callback. NULL-safe.
 */
void mtasts_store_set_log(struct mtasts_store *s, mtasts_store_log_cb fn,
    void *arg);

/*
 * Does rec hold a record the stores accept and hand out: a valid
 * lowercase policy domain, an id of 1-32 letters and digits,
 * 0 <= fetched_at <= expires_at <= fetched_at + MTASTS_MAX_AGE_LIMIT,
 * checked_at >= 0, body of at most MTASTS_POLICY_BODY_MAX bytes without
 * NUL bytes? MTASTS_OK or MTASTS_EINVAL (detail in err, may be NULL).
 * Backends run every record read back through it.
 */
int mtasts_store_record_check(const struct mtasts_store_record *rec,
    struct mtasts_error *err);

#ifdef __cplusplus
}
#endif
#endif
