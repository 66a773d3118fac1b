/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_engine 3h (daemon)
 * SUMMARY
 *	the policy engine: RFC 8461 section 5 in front of cache and store
 * DESCRIPTION
 *	Answers socketmap lookups from the in-memory cache, falls back to
 *	the persistent store on a miss and to discovery when neither holds
 *	a usable policy. Rules (each one is tested in test_engine.c):
 *	  - the TXT record of a domain is checked on lookups at most once
 *	    per txt_check_interval, in the background while a cached policy
 *	    answers; the policy is fetched only when the id changed, the
 *	    policy expired or refetch_interval passed since its fetch;
 *	  - expiry is fetched_at + max_age and never slides;
 *	  - a failed refresh never drops an unexpired policy, and is logged
 *	    as an alert unless the cached mode is none;
 *	  - a fetched policy, mode none included, replaces the old one;
 *	  - after a failed fetch for TXT id X, no fetch for X happens before
 *	    the back-off (backoff_min doubling up to backoff_max) runs out;
 *	  - lookups of one domain share one discovery (a waiters list);
 *	  - cached policies are refreshed before they expire (refresh_margin
 *	    plus a per-domain jitter), with at most refresh_concurrency
 *	    refreshes at a time;
 *	  - "secure" is only ever answered from an unexpired policy whose
 *	    mode is enforce (or testing in a strict_testing zone);
 *	  - a temporary failure with nothing usable cached answers per
 *	    temp_failure_reply ("NOTFOUND " by default), as does a first
 *	    lookup still unanswered after lookup_timeout; a policy that
 *	    cannot be fetched (RFC 8461 section 3.3) answers "NOTFOUND ".
 *	Discovery, the store and the clock are reached through ops, and the
 *	engine has no timers of its own: the owner calls
 *	mtastsd_engine_tick() about once a second. This makes the engine
 *	deterministic under test.
 */
#ifndef MTASTSD_ENGINE_H
#define MTASTSD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/discover.h"
#include "mtasts/store.h"
#include "mtastsd_cache.h"
#include "mtastsd_config.h"
#include "mtastsd_reply.h"

struct mtastsd_engine;
struct mtastsd_pending;

/* How the engine starts a discovery (mtasts_discover's contract). */
struct mtastsd_disc_ops {
	int (*start)(void *impl, const char *domain, const char *cached_id,
	    mtasts_discover_cb cb, void *arg);
};

struct mtastsd_engine_options {
	const struct mtastsd_config *cfg;	/* borrowed */
	const struct mtastsd_disc_ops *disc;
	void *disc_impl;
	const struct mtasts_store_ops *store;	/* NULL: memory only */
	void *store_impl;
	int64_t (*now)(void *arg);		/* unix seconds */
	void *clock_arg;
};

struct mtastsd_waiter;
typedef void (*mtastsd_waiter_cb)(struct mtastsd_waiter *w);

/*
 * A lookup waiting for an answer; owned by the caller (e.g. embedded in
 * a connection), linked into the engine until answered or cancelled.
 */
struct mtastsd_waiter {
	struct mtastsd_waiter *next;
	struct mtastsd_waiter *prev;
	struct mtastsd_pending *pending;
	struct mtastsd_zone zone;	/* copied: survives reloads */
	int64_t deadline;
	struct mtastsd_buf *out;	/* the reply goes here */
	mtastsd_waiter_cb cb;
};

struct mtastsd_stats {
	unsigned long long lookups;
	unsigned long long hits;		/* answered from memory */
	unsigned long long store_hits;
	unsigned long long discoveries;	/* started */
	unsigned long long coalesced;	/* lookups that joined one */
	unsigned long long fetched;	/* policies fetched */
	unsigned long long failures;	/* failed discoveries */
	unsigned long long timeouts;	/* lookups answered at deadline */
	unsigned long long evicted;
	unsigned long long store_errors;
};

enum { MTASTSD_ANSWERED = 0, MTASTSD_PENDING = 1 };

/* New engine; NULL on OOM. The options' pointers are borrowed. */
struct mtastsd_engine *mtastsd_engine_new(
    const struct mtastsd_engine_options *opt);

/*
 * Free the engine, dropping waiters without callbacks. Close discovery
 * and store first (their pending callbacks must never run after this).
 */
void mtastsd_engine_free(struct mtastsd_engine *eng);

/* Attach (or with ops NULL, detach) the persistent store. */
void mtastsd_engine_set_store(struct mtastsd_engine *eng,
    const struct mtasts_store_ops *ops, void *impl);

/* Switch to a new configuration (SIGHUP); the old one may then go. */
void mtastsd_engine_set_config(struct mtastsd_engine *eng,
    const struct mtastsd_config *cfg);

/*
 * Normalise a socketmap key: lowercase, one trailing dot stripped.
 * Returns 0 with the domain in out (254 bytes), or -1 when the key
 * cannot have an MTA-STS policy ("[host]", "host:port", IP literals,
 * names that are not LDH host names).
 */
int mtastsd_key_normalise(const char *key, size_t klen, char *out);

/*
 * Look up the policy for key (klen bytes) in zone. MTASTSD_ANSWERED:
 * the reply is in out now. MTASTSD_PENDING: w is linked; w->cb(w) runs
 * once later with the reply in out, unless mtastsd_engine_cancel(w)
 * comes first.
 */
int mtastsd_engine_lookup(struct mtastsd_engine *eng,
    const struct mtastsd_zone *zone, const char *key, size_t klen,
    struct mtastsd_buf *out, struct mtastsd_waiter *w, mtastsd_waiter_cb cb);

/* Unlink a pending waiter (its callback will not run). */
void mtastsd_engine_cancel(struct mtastsd_engine *eng,
    struct mtastsd_waiter *w);

/* Timeouts, proactive refresh, idle eviction. Call about once a second. */
void mtastsd_engine_tick(struct mtastsd_engine *eng);

/* Forget one domain (memory and store). Returns 1 if it was cached. */
int mtastsd_engine_purge(struct mtastsd_engine *eng, const char *domain);

/* Forget every in-memory entry; returns how many. */
size_t mtastsd_engine_purge_all(struct mtastsd_engine *eng);

struct mtastsd_cache *mtastsd_engine_cache(struct mtastsd_engine *eng);
const struct mtastsd_stats *mtastsd_engine_stats(
    const struct mtastsd_engine *eng);
size_t mtastsd_engine_pending_count(const struct mtastsd_engine *eng);

/* Failure value of a negative entry after a temporary DNS failure. */
#define MTASTSD_FAILURE_TEMP 255

#endif
