/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_cache 3h (daemon)
 * SUMMARY
 *	the daemon's bounded in-memory policy cache (hash table + LRU)
 * DESCRIPTION
 *	One allocation per cached domain holds the times and state the
 *	policy engine needs and, packed after the header, the domain, the
 *	TXT id, the id of a failed fetch, the precomputed Postfix "match="
 *	list and the policy text (kept only when small, see
 *	max_policy_keep): never the parsed policy object, so an entry of a
 *	typical policy takes about 250 bytes. The table has a cap on
 *	entries: inserting beyond it evicts the least recently used ones;
 *	mtastsd_cache_evict_idle() drops entries unused for long. Lookups
 *	take a domain already normalised (lowercase, no trailing dot). The
 *	hash is seeded per process against collision flooding.
 *
 *	Entries are owned by the cache. A pointer to one stays valid only
 *	until the next insertion, removal or eviction: never keep one across
 *	an asynchronous call.
 */
#ifndef MTASTSD_CACHE_H
#define MTASTSD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mtastsd_cache;

enum {
	MTASTSD_ENTRY_POLICY = 1 << 0,	   /* holds a policy (mode valid) */
	MTASTSD_ENTRY_REFRESHING = 1 << 1, /* a discovery is running */
	MTASTSD_ENTRY_BODY = 1 << 2,	   /* policy text kept */
	MTASTSD_ENTRY_OVERRIDE = 1 << 3	   /* reserved */
};

struct mtastsd_entry {
	struct mtastsd_entry *hnext;	/* hash chain */
	struct mtastsd_entry *prev;	/* LRU list, head = most recent */
	struct mtastsd_entry *next;
	int64_t fetched_at;	/* policy fetch time (never slides) */
	int64_t expires_at;	/* fetched_at + max_age */
	int64_t checked_at;	/* last TXT check (any outcome) */
	int64_t retry_at;	/* back-off: no fetch for fail_id before */
	uint32_t last_used;	/* unix time of the last lookup */
	uint32_t hash;
	uint8_t flags;		/* MTASTSD_ENTRY_* */
	uint8_t mode;		/* enum mtasts_mode, with _POLICY */
	uint8_t failure;	/* enum mtasts_failure of the last failure */
	uint8_t failures;	/* consecutive failures (back-off exponent) */
	uint8_t domain_len;
	uint8_t id_len;
	uint8_t fail_id_len;
	uint8_t pad_;
	uint16_t match_len;
	uint16_t body_len;
	char data[];	/* domain\0 id\0 fail_id\0 match\0 body\0 */
};

/* Variable parts of a new entry; NULL means empty. */
struct mtastsd_entry_init {
	const char *domain;	/* required, normalised, <= 253 bytes */
	const char *id;		/* <= 32 bytes */
	const char *fail_id;	/* <= 32 bytes */
	const char *match;	/* < 64 KiB */
	const char *body;	/* body_len bytes (< 64 KiB) */
	size_t body_len;
};

/* New cache holding at most max_entries. NULL on OOM. */
struct mtastsd_cache *mtastsd_cache_new(size_t max_entries);

/* Free the cache and every entry. NULL-safe. */
void mtastsd_cache_free(struct mtastsd_cache *c);

/* Change the cap (evicts at once if needed). */
void mtastsd_cache_set_max(struct mtastsd_cache *c, size_t max_entries);

/*
 * Build a detached entry (numbers zero) from init. Owned by the caller
 * until mtastsd_cache_put(); release a detached one with free(). NULL on
 * OOM or when a part is too long.
 */
struct mtastsd_entry *mtastsd_entry_new(const struct mtastsd_entry_init *in);

/*
 * Insert e (ownership passes to the cache), replacing and freeing any
 * entry of the same domain, at the most-recently-used end. Evicts least
 * recently used entries beyond the cap and returns how many.
 */
size_t mtastsd_cache_put(struct mtastsd_cache *c, struct mtastsd_entry *e);

/* Entry for domain (len bytes), or NULL. Does not touch the LRU. */
struct mtastsd_entry *mtastsd_cache_find(struct mtastsd_cache *c,
    const char *domain, size_t len);

/* Mark e used at now (moves it to the most-recently-used end). */
void mtastsd_cache_touch(struct mtastsd_cache *c, struct mtastsd_entry *e,
    int64_t now);

/* Remove and free e. */
void mtastsd_cache_remove(struct mtastsd_cache *c, struct mtastsd_entry *e);

/* Remove and free every entry. */
void mtastsd_cache_clear(struct mtastsd_cache *c);

/* Drop entries whose last use is before cutoff; returns how many. */
size_t mtastsd_cache_evict_idle(struct mtastsd_cache *c, int64_t cutoff);

size_t mtastsd_cache_count(const struct mtastsd_cache *c);

/*
 * Visit entries bucket by bucket from *cursor, at most max_buckets
 * buckets; *cursor wraps to 0 at the end. each() must not insert or
 * remove entries. Returns 1 when the walk wrapped.
 */
int mtastsd_cache_walk(struct mtastsd_cache *c, size_t *cursor,
    size_t max_buckets, void (*each)(void *arg, struct mtastsd_entry *e),
    void *arg);

/* Visit every entry, most recently used first. */
void mtastsd_cache_foreach(struct mtastsd_cache *c,
    void (*each)(void *arg, struct mtastsd_entry *e), void *arg);

/* Borrowed views into e's packed data (never NULL; "" when empty). */
const char *mtastsd_entry_domain(const struct mtastsd_entry *e);
const char *mtastsd_entry_id(const struct mtastsd_entry *e);
const char *mtastsd_entry_fail_id(const struct mtastsd_entry *e);
const char *mtastsd_entry_match(const struct mtastsd_entry *e);
const char *mtastsd_entry_body(const struct mtastsd_entry *e);

#endif
