/* SPDX-License-Identifier: MIT */
/* mtastsd_engine.c: RFC 8461 section 5 policy engine (see the header). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "mtastsd_engine.h"
#include "mtastsd_log.h"

#define REFRESH_SCAN_TICKS 60	/* one pass over the table a minute */
#define REFRESH_BATCH 64	/* candidates collected per tick */

enum pending_stage { STAGE_STORE = 0, STAGE_DISCOVERY = 1 };

/* One domain being loaded or discovered, with the lookups waiting. */
struct mtastsd_pending {
	struct mtastsd_pending *next;
	struct mtastsd_pending *prev;
	struct mtastsd_engine *eng;
	struct mtastsd_waiter *waiters;
	enum pending_stage stage;
	bool background;	/* proactive refresh: counts in nrefresh */
	bool restarted;
	bool has_cached_id;
	bool backoff;		/* cached_id is the failing id */
	char cached_id[MTASTS_STS_ID_MAX + 1];
	char domain[MTASTS_DOMAIN_MAX + 1];
};

struct mtastsd_engine {
	const struct mtastsd_config *cfg;
	const struct mtastsd_disc_ops *disc;
	void *disc_impl;
	const struct mtasts_store_ops *store;
	void *store_impl;
	int64_t (*now)(void *arg);
	void *clock_arg;
	struct mtastsd_cache *cache;
	struct mtastsd_pending *pending;
	size_t npending;
	size_t nrefresh;
	size_t scan_cursor;
	bool store_failed_logged;
	struct mtastsd_stats stats;
};

static int64_t
now_of(struct mtastsd_engine *eng)
{
	return eng->now(eng->clock_arg);
}

struct mtastsd_engine *
mtastsd_engine_new(const struct mtastsd_engine_options *opt)
{
	struct mtastsd_engine *eng = calloc(1, sizeof(*eng));

	if (eng == NULL)
		return NULL;
	eng->cfg = opt->cfg;
	eng->disc = opt->disc;
	eng->disc_impl = opt->disc_impl;
	eng->store = opt->store;
	eng->store_impl = opt->store_impl;
	eng->now = opt->now;
	eng->clock_arg = opt->clock_arg;
	eng->cache = mtastsd_cache_new(opt->cfg->cache_max_entries);
	if (eng->cache == NULL) {
		free(eng);
		return NULL;
	}
	return eng;
}

static void
pending_free(struct mtastsd_engine *eng, struct mtastsd_pending *p)
{
	struct mtastsd_waiter *w;

	for (w = p->waiters; w != NULL; w = w->next)
		w->pending = NULL;
	if (p->prev)
		p->prev->next = p->next;
	else
		eng->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->background)
		eng->nrefresh--;
	eng->npending--;
	free(p);
}

void
mtastsd_engine_free(struct mtastsd_engine *eng)
{
	if (eng == NULL)
		return;
	while (eng->pending != NULL)
		pending_free(eng, eng->pending);
	mtastsd_cache_free(eng->cache);
	free(eng);
}

void
mtastsd_engine_set_store(struct mtastsd_engine *eng,
    const struct mtasts_store_ops *ops, void *impl)
{
	eng->store = ops;
	eng->store_impl = impl;
}

void
mtastsd_engine_set_config(struct mtastsd_engine *eng,
    const struct mtastsd_config *cfg)
{
	eng->cfg = cfg;
	mtastsd_cache_set_max(eng->cache, cfg->cache_max_entries);
}

struct mtastsd_cache *
mtastsd_engine_cache(struct mtastsd_engine *eng)
{
	return eng->cache;
}

const struct mtastsd_stats *
mtastsd_engine_stats(const struct mtastsd_engine *eng)
{
	return &eng->stats;
}

size_t
mtastsd_engine_pending_count(const struct mtastsd_engine *eng)
{
	return eng->npending;
}

int
mtastsd_key_normalise(const char *key, size_t klen, char *out)
{
	size_t i;
	bool digits_dots = true;

	if (klen > 0 && key[klen - 1] == '.')
		klen--;
	if (klen == 0 || klen > MTASTS_DOMAIN_MAX || key[0] == '[')
		return -1;
	for (i = 0; i < klen; i++) {
		if (key[i] == ':')
			return -1;	/* host:port, IPv6 literal */
		if (!isdigit((unsigned char)key[i]) && key[i] != '.')
			digits_dots = false;
		out[i] = (char)tolower((unsigned char)key[i]);
	}
	out[klen] = '\0';
	if (digits_dots)
		return -1;	/* IPv4 literal (or all-numeric name) */
	return mtasts_domain_valid(out, klen, false, NULL) ? 0 : -1;
}

/* ---- answers ------------------------------------------------------------ */

static bool
policy_usable(const struct mtastsd_entry *e, int64_t now)
{
	return e != NULL && (e->flags & MTASTSD_ENTRY_POLICY) &&
	    now < e->expires_at;
}

static void
answer_temp(struct mtastsd_engine *eng, struct mtastsd_buf *out,
    const char *why)
{
	if (strcmp(eng->cfg->temp_failure_reply, "temp") == 0)
		(void)mtastsd_reply_status(out, "TEMP", why);
	else
		(void)mtastsd_reply_notfound(out);
}

static void
answer_entry(struct mtastsd_engine *eng, const struct mtastsd_entry *e,
    const struct mtastsd_zone *zone, int64_t now, struct mtastsd_buf *out)
{
	bool dropped;
	const char *body;

	if (policy_usable(e, now)) {
		if (e->mode == MTASTS_MODE_ENFORCE ||
		    (e->mode == MTASTS_MODE_TESTING && zone->strict_testing)) {
			body = (e->flags & MTASTSD_ENTRY_BODY)
			    ? mtastsd_entry_body(e)
			    : NULL;
			if (mtastsd_reply_secure(out, zone,
			    mtastsd_entry_domain(e), mtastsd_entry_match(e),
			    body, e->body_len, &dropped) != 0) {
				/* Never downgrade an enforced policy. */
				(void)mtastsd_reply_status(out, "TEMP",
				    "policy reply does not fit");
				return;
			}
			if (dropped)
				log_debug("%s: policy_string left out (unsafe "
					  "characters in the policy text)",
				    mtastsd_entry_domain(e));
			return;
		}
		(void)mtastsd_reply_notfound(out);
		return;
	}
	if (e != NULL && e->failure == MTASTSD_FAILURE_TEMP) {
		answer_temp(eng, out, "MTA-STS discovery failed temporarily");
		return;
	}
	(void)mtastsd_reply_notfound(out);
}

static void
answer_override(const struct mtastsd_override *o,
    const struct mtastsd_zone *zone, const char *domain,
    struct mtastsd_buf *out)
{
	char match[8192];
	size_t i;
	bool dropped;

	if (o->kind == MTASTSD_OVERRIDE_REPLY) {
		mtastsd_buf_reset(out);
		(void)mtastsd_buf_str(out, o->reply);
		return;
	}
	if (o->mode == MTASTS_MODE_ENFORCE ||
	    (o->mode == MTASTS_MODE_TESTING && zone->strict_testing)) {
		/* "a b *.c" -> "a:b:.c" */
		snprintf(match, sizeof(match), "%s", o->mx);
		for (i = 0; match[i] != '\0'; i++)
			if (match[i] == ' ')
				match[i] = ':';
		for (i = 0; match[i] != '\0'; i++)
			if (match[i] == '*' && (i == 0 || match[i - 1] == ':'))
				memmove(match + i, match + i + 1,
				    strlen(match + i));
		if (mtastsd_reply_secure(out, zone, domain, match, NULL, 0,
		    &dropped) != 0)
			(void)mtastsd_reply_status(out, "TEMP",
			    "override reply does not fit");
		return;
	}
	(void)mtastsd_reply_notfound(out);
}

static void
waiter_unlink(struct mtastsd_waiter *w)
{
	struct mtastsd_pending *p = w->pending;

	if (p == NULL)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		p->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	w->pending = NULL;
}

void
mtastsd_engine_cancel(struct mtastsd_engine *eng, struct mtastsd_waiter *w)
{
	(void)eng;
	waiter_unlink(w);
}

/* Answer every waiter of p from the cache; callbacks may cancel others. */
static void
answer_waiters(struct mtastsd_engine *eng, struct mtastsd_pending *p)
{
	struct mtastsd_waiter *w;
	struct mtastsd_entry *e;
	int64_t now = now_of(eng);

	while ((w = p->waiters) != NULL) {
		waiter_unlink(w);
		e = mtastsd_cache_find(eng->cache, p->domain,
		    strlen(p->domain));
		answer_entry(eng, e, &w->zone, now, w->out);
		w->cb(w);
	}
}

/* ---- store -------------------------------------------------------------- */

static void
store_failed(struct mtastsd_engine *eng, const char *what, int code)
{
	eng->stats.store_errors++;
	if (eng->store_failed_logged)
		return;
	eng->store_failed_logged = true;
	log_err("cache store: %s failed: %s (serving from memory; logged "
		"once)",
	    what, mtasts_strerror(code));
}

static void
store_done(void *arg, int code)
{
	struct mtastsd_engine *eng = arg;

	if (code != MTASTS_OK && code != MTASTS_ENOTFOUND)
		store_failed(eng, "write", code);
	else if (code == MTASTS_OK && eng->store_failed_logged) {
		eng->store_failed_logged = false;
		log_notice("cache store: working again");
	}
}

static void
store_put(struct mtastsd_engine *eng, const char *domain, const char *id,
    int64_t fetched, int64_t expires, int64_t checked, const char *body,
    size_t body_len)
{
	struct mtasts_store_record rec;

	if (eng->store == NULL || body == NULL)
		return;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.domain, sizeof(rec.domain), "%s", domain);
	snprintf(rec.id, sizeof(rec.id), "%s", id ? id : "");
	rec.fetched_at = fetched;
	rec.expires_at = expires;
	rec.checked_at = checked;
	rec.body = body;
	rec.body_len = body_len;
	if (eng->store->put(eng->store_impl, &rec, store_done, eng) !=
	    MTASTS_OK)
		store_failed(eng, "write", MTASTS_ESTORE);
}

/* ---- entries ------------------------------------------------------------ */

/* Build and insert a policy entry; NULL when the policy is unusable. */
static struct mtastsd_entry *
put_policy(struct mtastsd_engine *eng, const char *domain, const char *id,
    const struct mtasts_policy *pol, const char *body, size_t body_len,
    int64_t fetched, int64_t expires, int64_t checked)
{
	struct mtastsd_buf match;
	const char *mx[MTASTS_POLICY_MX_MAX];
	struct mtastsd_entry_init in;
	struct mtastsd_entry *e;
	size_t i, n = mtasts_policy_mx_count(pol);

	if (n > MTASTS_POLICY_MX_MAX)
		n = MTASTS_POLICY_MX_MAX;
	for (i = 0; i < n; i++)
		mx[i] = mtasts_policy_mx(pol, i);
	mtastsd_buf_init(&match, 65000);
	if (mtastsd_reply_match(&match, mx, n) != 0 ||
	    (match.len == 0 && mtasts_policy_mode(pol) != MTASTS_MODE_NONE)) {
		mtastsd_buf_free(&match);
		return NULL;
	}
	memset(&in, 0, sizeof(in));
	in.domain = domain;
	in.id = id;
	in.match = match.p;
	if (body != NULL && body_len <= eng->cfg->max_policy_keep) {
		in.body = body;
		in.body_len = body_len;
	}
	e = mtastsd_entry_new(&in);
	mtastsd_buf_free(&match);
	if (e == NULL)
		return NULL;
	e->flags |= MTASTSD_ENTRY_POLICY;
	e->mode = (uint8_t)mtasts_policy_mode(pol);
	e->fetched_at = fetched;
	e->expires_at = expires;
	e->checked_at = checked;
	e->last_used = (uint32_t)checked;
	eng->stats.evicted += mtastsd_cache_put(eng->cache, e);
	return e;
}

/* Copy of old with a different fail_id (the packed data changes). */
static struct mtastsd_entry *
rebuild_with_fail(struct mtastsd_engine *eng, const struct mtastsd_entry *old,
    const char *domain, const char *fail_id)
{
	struct mtastsd_entry_init in;
	struct mtastsd_entry *e;

	memset(&in, 0, sizeof(in));
	in.domain = domain;
	if (old != NULL) {
		in.id = mtastsd_entry_id(old);
		in.match = mtastsd_entry_match(old);
		if (old->flags & MTASTSD_ENTRY_BODY) {
			in.body = mtastsd_entry_body(old);
			in.body_len = old->body_len;
		}
	}
	in.fail_id = fail_id;
	e = mtastsd_entry_new(&in);
	if (e == NULL)
		return NULL;
	if (old != NULL) {
		e->flags = old->flags;
		e->mode = old->mode;
		e->fetched_at = old->fetched_at;
		e->expires_at = old->expires_at;
		e->checked_at = old->checked_at;
		e->retry_at = old->retry_at;
		e->last_used = old->last_used;
		e->failure = old->failure;
		e->failures = old->failures;
	}
	if (!(e->flags & MTASTSD_ENTRY_BODY))
		e->body_len = 0;
	eng->stats.evicted += mtastsd_cache_put(eng->cache, e);
	return e;
}

/* ---- discovery ---------------------------------------------------------- */

static struct mtastsd_pending *
pending_find(struct mtastsd_engine *eng, const char *domain)
{
	struct mtastsd_pending *p;

	for (p = eng->pending; p != NULL; p = p->next)
		if (strcmp(p->domain, domain) == 0)
			return p;
	return NULL;
}

static void discovery_done(void *arg, struct mtasts_discovery_result *res);

static int
pending_discover(struct mtastsd_engine *eng, struct mtastsd_pending *p,
    const char *cached_id)
{
	struct mtastsd_entry *e;

	p->stage = STAGE_DISCOVERY;
	e = mtastsd_cache_find(eng->cache, p->domain, strlen(p->domain));
	p->backoff = e != NULL && cached_id != NULL && e->fail_id_len > 0 &&
	    cached_id == mtastsd_entry_fail_id(e);
	p->has_cached_id = cached_id != NULL && cached_id[0] != '\0';
	snprintf(p->cached_id, sizeof(p->cached_id), "%s",
	    p->has_cached_id ? cached_id : "");
	eng->stats.discoveries++;
	return eng->disc->start(eng->disc_impl, p->domain,
	    p->has_cached_id ? p->cached_id : NULL, discovery_done, p);
}

static struct mtastsd_pending *
pending_new(struct mtastsd_engine *eng, const char *domain, bool background)
{
	struct mtastsd_pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->eng = eng;
	p->background = background;
	snprintf(p->domain, sizeof(p->domain), "%s", domain);
	p->next = eng->pending;
	if (eng->pending)
		eng->pending->prev = p;
	eng->pending = p;
	eng->npending++;
	if (background)
		eng->nrefresh++;
	return p;
}

/* The id to pass to discovery for a refresh of e (NULL: always fetch). */
static const char *
refresh_id(struct mtastsd_engine *eng, const struct mtastsd_entry *e,
    int64_t now, bool proactive)
{
	if (e == NULL)
		return NULL;
	if (e->fail_id_len > 0 && now < e->retry_at)
		return mtastsd_entry_fail_id(e);	/* back-off */
	if (proactive || !policy_usable(e, now))
		return NULL;
	if (now - e->fetched_at >= (int64_t)eng->cfg->refetch_interval)
		return NULL;
	return mtastsd_entry_id(e);
}

/* Start a background check of e's domain if one is due. */
static void
maybe_check(struct mtastsd_engine *eng, struct mtastsd_entry *e, int64_t now)
{
	struct mtastsd_pending *p;
	const char *id;

	if (now - e->checked_at < (int64_t)eng->cfg->txt_check_interval)
		return;
	if (pending_find(eng, mtastsd_entry_domain(e)) != NULL)
		return;
	p = pending_new(eng, mtastsd_entry_domain(e), false);
	if (p == NULL)
		return;
	id = refresh_id(eng, e, now, false);
	e->checked_at = now;	/* rate limit even if the start fails */
	if (pending_discover(eng, p, id) != MTASTS_OK)
		pending_free(eng, p);
}

static void
log_failure(struct mtastsd_engine *eng, const char *domain,
    const struct mtastsd_entry *e, const struct mtasts_discovery_result *res,
    int64_t now)
{
	const char *what = res->result == MTASTS_RESULT_TEMPERROR
	    ? "temporary DNS failure"
	    : mtasts_failure_name(res->failure);

	if (what == NULL)
		what = mtasts_result_name(res->result);
	if (policy_usable(e, now) && e->mode != MTASTS_MODE_NONE)
		log_warn("ALERT: refresh of the MTA-STS policy of %s failed "
			 "(%s: %s); keeping the cached %s policy id %s, which "
			 "expires in %lld s",
		    domain, what, res->reason ? res->reason : "",
		    mtasts_mode_name(e->mode), mtastsd_entry_id(e),
		    (long long)(e->expires_at - now));
	else
		log_info("%s: no usable MTA-STS policy (%s: %s)", domain, what,
		    res->reason ? res->reason : "");
	(void)eng;
}

static void
discovery_done(void *arg, struct mtasts_discovery_result *res)
{
	struct mtastsd_pending *p = arg;
	struct mtastsd_engine *eng = p->eng;
	const char *domain = p->domain;
	struct mtastsd_entry *e, *ne;
	struct mtastsd_entry_init in;
	int64_t now = now_of(eng);
	uint32_t max_age;
	unsigned shift;
	int64_t backoff;
	uint8_t prev_failures;
	bool changed;

	e = mtastsd_cache_find(eng->cache, domain, strlen(domain));
	switch (res->result) {
	case MTASTS_RESULT_POLICY:
		eng->stats.fetched++;
		max_age = mtasts_policy_max_age(res->policy);
		/* e is replaced (freed) by put_policy: note what changes. */
		changed = e == NULL || !(e->flags & MTASTSD_ENTRY_POLICY) ||
		    res->id == NULL ||
		    strcmp(mtastsd_entry_id(e), res->id) != 0 ||
		    e->mode != (uint8_t)mtasts_policy_mode(res->policy);
		e = NULL;
		ne = put_policy(eng, domain, res->id, res->policy, res->body,
		    res->body_len, now, now + max_age, now);
		if (ne == NULL) {
			log_err("%s: cannot cache the fetched policy (out of "
				"memory or unusable mx list)",
			    domain);
			break;
		}
		if (changed)
			log_notice("%s: MTA-STS policy id %s mode %s max_age "
				   "%u",
			    domain, mtastsd_entry_id(ne),
			    mtasts_mode_name(ne->mode), max_age);
		store_put(eng, domain, res->id, now, now + max_age, now,
		    res->body, res->body_len);
		break;
	case MTASTS_RESULT_UNCHANGED:
		if (e != NULL)
			e->checked_at = now;
		if (p->waiters != NULL && !policy_usable(e, now) &&
		    !p->restarted && !p->backoff) {
			/* The entry expired while we asked: fetch now. */
			p->restarted = true;
			if (pending_discover(eng, p, NULL) == MTASTS_OK)
				return;
		}
		break;
	case MTASTS_RESULT_NO_POLICY:
		if (policy_usable(e, now)) {
			/* R8461-43: keep applying the cached policy. */
			e->checked_at = now;
			if (e->mode != MTASTS_MODE_NONE)
				log_warn("ALERT: %s: no _mta-sts record any "
					 "more; keeping the cached policy until "
					 "it expires in %lld s",
				    domain, (long long)(e->expires_at - now));
			break;
		}
		memset(&in, 0, sizeof(in));
		in.domain = domain;
		ne = mtastsd_entry_new(&in);
		if (ne != NULL) {
			ne->checked_at = now;
			ne->last_used = (uint32_t)now;
			eng->stats.evicted += mtastsd_cache_put(eng->cache, ne);
		}
		break;
	case MTASTS_RESULT_TEMPERROR:
	case MTASTS_RESULT_ERROR:
	default:
		eng->stats.failures++;
		log_failure(eng, domain, e, res, now);
		if (res->result == MTASTS_RESULT_TEMPERROR) {
			if (policy_usable(e, now)) {
				e->checked_at = now;
				break;
			}
			ne = rebuild_with_fail(eng, NULL, domain, NULL);
			if (ne != NULL) {
				ne->checked_at = now;
				ne->last_used = (uint32_t)now;
				ne->failure = MTASTSD_FAILURE_TEMP;
			}
			break;
		}
		/* The record was found but no policy came: back off for
		   this id (R8461-26). */
		prev_failures = e != NULL ? e->failures : 0;
		ne = rebuild_with_fail(eng, policy_usable(e, now) ? e : NULL,
		    domain, res->id ? res->id : "");
		if (ne == NULL)
			break;
		ne->failures = prev_failures < 255
		    ? (uint8_t)(prev_failures + 1)
		    : 255;
		shift = ne->failures - 1 < 16 ? ne->failures - 1u : 16u;
		backoff = (int64_t)eng->cfg->backoff_min << shift;
		if (backoff > (int64_t)eng->cfg->backoff_max)
			backoff = eng->cfg->backoff_max;
		ne->retry_at = now + backoff;
		ne->checked_at = now;
		ne->failure = (uint8_t)res->failure;
		if (ne->last_used == 0)
			ne->last_used = (uint32_t)now;
		break;
	}
	answer_waiters(eng, p);
	pending_free(eng, p);
}

/* ---- store lookups on a miss -------------------------------------------- */

static void
store_got(void *arg, int code, const struct mtasts_store_record *rec)
{
	struct mtastsd_pending *p = arg;
	struct mtastsd_engine *eng = p->eng;
	struct mtasts_policy *pol = NULL;
	struct mtastsd_entry *e;
	int64_t now = now_of(eng);
	char domain[MTASTS_DOMAIN_MAX + 1];

	memcpy(domain, p->domain, sizeof(domain));
	if (code != MTASTS_OK && code != MTASTS_ENOTFOUND)
		store_failed(eng, "read", code);
	if (code == MTASTS_OK && rec != NULL && rec->expires_at > now &&
	    mtastsd_cache_find(eng->cache, p->domain, strlen(p->domain)) ==
		NULL &&
	    mtasts_policy_parse(rec->body, rec->body_len, &pol, NULL, NULL) ==
		MTASTS_OK) {
		e = put_policy(eng, p->domain, rec->id, pol, rec->body,
		    rec->body_len, rec->fetched_at, rec->expires_at,
		    rec->checked_at);
		mtasts_policy_free(pol);
		if (e != NULL) {
			eng->stats.store_hits++;
			e->last_used = (uint32_t)now;
			answer_waiters(eng, p);
			pending_free(eng, p);
			e = mtastsd_cache_find(eng->cache, domain,
			    strlen(domain));
			if (e != NULL)
				maybe_check(eng, e, now);
			return;
		}
	}
	if (pending_discover(eng, p, NULL) != MTASTS_OK) {
		answer_waiters(eng, p);
		pending_free(eng, p);
	}
}

/* ---- lookups ------------------------------------------------------------ */

int
mtastsd_engine_lookup(struct mtastsd_engine *eng,
    const struct mtastsd_zone *zone, const char *key, size_t klen,
    struct mtastsd_buf *out, struct mtastsd_waiter *w, mtastsd_waiter_cb cb)
{
	char domain[MTASTS_DOMAIN_MAX + 1];
	const struct mtastsd_override *o;
	struct mtastsd_entry *e;
	struct mtastsd_pending *p;
	int64_t now;
	int rc;

	eng->stats.lookups++;
	if (mtastsd_key_normalise(key, klen, domain) != 0) {
		(void)mtastsd_reply_notfound(out);
		return MTASTSD_ANSWERED;
	}
	o = mtastsd_config_override(eng->cfg, domain);
	if (o != NULL) {
		answer_override(o, zone, domain, out);
		return MTASTSD_ANSWERED;
	}
	now = now_of(eng);
	e = mtastsd_cache_find(eng->cache, domain, strlen(domain));
	if (e != NULL) {
		mtastsd_cache_touch(eng->cache, e, now);
		if (policy_usable(e, now) || !(e->flags & MTASTSD_ENTRY_POLICY)) {
			eng->stats.hits++;
			answer_entry(eng, e, zone, now, out);
			maybe_check(eng, e, now);
			return MTASTSD_ANSWERED;
		}
		/* An expired policy is no policy: wait for discovery. */
	}
	memset(w, 0, sizeof(*w));
	w->zone = *zone;
	w->out = out;
	w->cb = cb;
	w->deadline = now + eng->cfg->lookup_timeout;
	p = pending_find(eng, domain);
	if (p != NULL) {
		eng->stats.coalesced++;
	} else {
		p = pending_new(eng, domain, false);
		if (p == NULL) {
			(void)mtastsd_reply_status(out, "TEMP", "out of memory");
			return MTASTSD_ANSWERED;
		}
		if (e == NULL && eng->store != NULL) {
			p->stage = STAGE_STORE;
			rc = eng->store->get(eng->store_impl, domain, store_got,
			    p);
			if (rc != MTASTS_OK) {
				store_failed(eng, "read", rc);
				rc = pending_discover(eng, p, NULL);
			}
		} else {
			rc = pending_discover(eng, p,
			    refresh_id(eng, e, now, false));
		}
		if (rc != MTASTS_OK) {
			pending_free(eng, p);
			answer_temp(eng, out, "cannot start MTA-STS discovery");
			return MTASTSD_ANSWERED;
		}
	}
	w->pending = p;
	w->next = p->waiters;
	if (p->waiters)
		p->waiters->prev = w;
	p->waiters = w;
	return MTASTSD_PENDING;
}

/* ---- maintenance -------------------------------------------------------- */

struct scan_ctx {
	struct mtastsd_engine *eng;
	int64_t now;
	char domains[REFRESH_BATCH][MTASTS_DOMAIN_MAX + 1];
	size_t n, max;
};

static void
scan_entry(void *arg, struct mtastsd_entry *e)
{
	struct scan_ctx *sc = arg;
	const struct mtastsd_config *cfg = sc->eng->cfg;
	int64_t jitter, due;

	if (sc->n >= sc->max || !policy_usable(e, sc->now))
		return;
	if (e->retry_at > sc->now)
		return;
	/* Idle entries are left to expire and be evicted. */
	if ((int64_t)e->last_used + (int64_t)cfg->cache_idle_evict < sc->now)
		return;
	jitter = cfg->refresh_jitter ? e->hash % (cfg->refresh_jitter + 1u) : 0;
	due = e->expires_at - (int64_t)cfg->refresh_margin - jitter;
	if (e->fetched_at + (int64_t)cfg->refetch_interval + jitter < due)
		due = e->fetched_at + (int64_t)cfg->refetch_interval + jitter;
	if (sc->now < due)
		return;
	memcpy(sc->domains[sc->n++], e->data, e->domain_len + 1u);
}

void
mtastsd_engine_tick(struct mtastsd_engine *eng)
{
	int64_t now = now_of(eng);
	struct mtastsd_pending *p, *pn;
	struct mtastsd_waiter *w, *wn;
	struct mtastsd_entry *e;
	struct scan_ctx *sc;
	size_t i, buckets;

	/* Lookups past their deadline get the temporary answer now; the
	   discovery goes on and fills the cache. */
	for (p = eng->pending; p != NULL; p = pn) {
		pn = p->next;
		for (w = p->waiters; w != NULL; w = wn) {
			wn = w->next;
			if (w->deadline > now)
				continue;
			waiter_unlink(w);
			eng->stats.timeouts++;
			answer_temp(eng, w->out,
			    "MTA-STS discovery still running");
			w->cb(w);
			/* The callback may have cancelled wn: restart. */
			wn = p->waiters;
		}
	}
	eng->stats.evicted += mtastsd_cache_evict_idle(eng->cache,
	    now - (int64_t)eng->cfg->cache_idle_evict);
	if (eng->nrefresh >= eng->cfg->refresh_concurrency)
		return;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return;
	sc->eng = eng;
	sc->now = now;
	sc->max = eng->cfg->refresh_concurrency - eng->nrefresh;
	if (sc->max > REFRESH_BATCH)
		sc->max = REFRESH_BATCH;
	buckets = mtastsd_cache_count(eng->cache) / REFRESH_SCAN_TICKS + 64;
	(void)mtastsd_cache_walk(eng->cache, &eng->scan_cursor, buckets,
	    scan_entry, sc);
	for (i = 0; i < sc->n; i++) {
		if (pending_find(eng, sc->domains[i]) != NULL)
			continue;
		e = mtastsd_cache_find(eng->cache, sc->domains[i],
		    strlen(sc->domains[i]));
		p = pending_new(eng, sc->domains[i], true);
		if (p == NULL)
			break;
		log_debug("%s: proactive refresh", sc->domains[i]);
		if (e != NULL)
			e->checked_at = now;
		if (pending_discover(eng, p, refresh_id(eng, e, now, true)) !=
		    MTASTS_OK)
			pending_free(eng, p);
	}
	free(sc);
}

int
mtastsd_engine_purge(struct mtastsd_engine *eng, const char *domain)
{
	struct mtastsd_entry *e;

	e = mtastsd_cache_find(eng->cache, domain, strlen(domain));
	if (e != NULL)
		mtastsd_cache_remove(eng->cache, e);
	if (eng->store != NULL &&
	    eng->store->del(eng->store_impl, domain, store_done, eng) !=
		MTASTS_OK)
		store_failed(eng, "delete", MTASTS_ESTORE);
	return e != NULL;
}

size_t
mtastsd_engine_purge_all(struct mtastsd_engine *eng)
{
	size_t n = mtastsd_cache_count(eng->cache);

	mtastsd_cache_clear(eng->cache);
	return n;
}
