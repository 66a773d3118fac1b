/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	store_backend 3h (internal)
 * SUMMARY
 *	what the policy store backends share with the dispatcher
 * DESCRIPTION
 *	The backends' ops tables (each one exists only when its HAVE_*
 *	macro is defined), small helpers for URIs and domain keys, and a
 *	deferred-completion queue: a FIFO of callbacks that must run "later"
 *	(the async contract) with a code fixed at enqueue time, flushed by
 *	one libevent event. Redis and PostgreSQL use it to fail fast while
 *	their server is away.
 */
#ifndef MTASTS_STORE_BACKEND_H
#define MTASTS_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/store.h"

#ifdef HAVE_SQLITE
extern const struct mtasts_store_ops mtasts__store_sqlite_ops;
#endif
#ifdef HAVE_REDIS
extern const struct mtasts_store_ops mtasts__store_redis_ops;
#endif
#ifdef HAVE_PGSQL
extern const struct mtasts_store_ops mtasts__store_pgsql_ops;
#endif

/* Backoff of reconnect attempts: first delay, cap (seconds). */
#define MTASTS__STORE_BACKOFF_MIN 1
#define MTASTS__STORE_BACKOFF_MAX 30
/* Most calls queued in a backend before new calls fail fast. */
#define MTASTS__STORE_QUEUE_MAX 100000

/*
 * Copy domain (NUL-terminated) lowercased into out (MTASTS_DOMAIN_MAX+1
 * bytes) when it is a valid policy domain. Returns MTASTS_OK or
 * MTASTS_EINVAL.
 */
int mtasts__store_domain_key(const char *domain, char *out)
	__attribute__((warn_unused_result));

/*
 * Parse a decimal int64 from exactly len bytes (optional leading '-').
 * Returns false on anything else or on overflow.
 */
bool mtasts__store_parse_i64(const char *s, size_t len, int64_t *out)
	__attribute__((warn_unused_result));

/*
 * Outage bookkeeping of the network stores (redis, postgresql): an
 * outage starts once with its reason, is logged once as a warning (when
 * a log callback is there, possibly only later), and ends with one
 * "connected again" line. Reconnects back off from
 * MTASTS__STORE_BACKOFF_MIN seconds, doubling up to ..._MAX.
 */
struct mtasts__store_outage {
	const char *what;	/* "redis store" */
	bool down;		/* lost, not back yet */
	bool logged;		/* the warning went out */
	int backoff;		/* seconds before the next attempt */
	char why[200];		/* one line */
};

void mtasts__store_outage_init(struct mtasts__store_outage *o,
    const char *what);
/* Start (or continue) an outage; why is copied, flattened to one line,
 * at the start only. Returns the seconds to wait before reconnecting. */
int mtasts__store_outage_begin(struct mtasts__store_outage *o,
    const char *why, const char *where, mtasts_store_log_cb fn, void *arg);
/* Log the outage's warning if that has not happened yet. */
void mtasts__store_outage_log(struct mtasts__store_outage *o,
    const char *where, mtasts_store_log_cb fn, void *arg);
/* Connected: reset the back-off, close the outage. */
void mtasts__store_outage_end(struct mtasts__store_outage *o,
    const char *where, mtasts_store_log_cb fn, void *arg);

/* Forward a formatted message to an optional log callback. */
void mtasts__store_log(mtasts_store_log_cb fn, void *arg, int prio,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The deferred-completion queue. */
struct mtasts__store_defer;

struct mtasts__store_defer *mtasts__store_defer_new(struct event_base *base)
	__attribute__((warn_unused_result));

/*
 * Free q and every queued completion without running it. Safe from
 * inside a callback run by q (the flush stops and frees q itself).
 */
void mtasts__store_defer_free(struct mtasts__store_defer *q);

/*
 * Queue one completion: exactly one of get/done/scan_done is used,
 * according to which is non-NULL (scan completions use done). code is
 * what the callback gets (for get, rec is NULL). MTASTS_OK or
 * MTASTS_ENOMEM (then nothing is queued).
 */
int mtasts__store_defer_get(struct mtasts__store_defer *q,
    mtasts_store_get_cb cb, void *arg, int code)
	__attribute__((warn_unused_result));
int mtasts__store_defer_done(struct mtasts__store_defer *q,
    mtasts_store_done_cb cb, void *arg, int code)
	__attribute__((warn_unused_result));

/* Length of the longest valid text of an int64 plus sign. */
#define MTASTS__I64_TEXT 24

#endif
