/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	resolver 3h
 * SUMMARY
 *	asynchronous DNS lookups (TXT, A+AAAA, MX) on libunbound and libevent
 * DESCRIPTION
 *	A struct mtasts_resolver wraps one libunbound context that resolves
 *	in a background thread and hands its answers back through a pipe
 *	watched by the caller's event_base, so every callback runs on the
 *	caller's thread from inside event_base_loop(). By default it uses
 *	the system's resolver (/etc/resolv.conf and /etc/hosts); with a
 *	"forward" address every query goes to that one server instead.
 *
 *	Answers come back as text: TXT records with their character-strings
 *	joined (txt.h), addresses in presentation form (A first, then AAAA),
 *	MX records as preference and host name, and for TLSA only the
 *	number of records (enough to say whether DANE is published). CNAME chains are followed
 *	by libunbound. Results map onto enum mtasts_err as follows:
 *	NXDOMAIN and NODATA are MTASTS_ENOTFOUND; SERVFAIL, timeouts and
 *	network errors are MTASTS_EDNSTEMP; any other rcode (REFUSED,
 *	FORMERR, NOTIMP...) is MTASTS_EDNS.
 *
 *	The same operations are available as a function table, struct
 *	mtasts_dns_ops, so that code using DNS (discover.h) can be given a
 *	fake in tests.
 *
 *	Async contract: if a lookup call returns an error, its callback
 *	never runs; otherwise the callback runs exactly once, never from
 *	inside the lookup call, unless the query is canceled or the resolver
 *	is freed first (the callback then does not run). Freeing the
 *	resolver from inside one of its callbacks is allowed.
 */
#ifndef MTASTS_RESOLVER_H
#define MTASTS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_resolver;

/* Opaque handle of one pending lookup (any struct mtasts_dns_ops). */
struct mtasts_dns_query;

/* What to look up. Append-only. */
enum mtasts_dns_type {
	MTASTS_DNS_TXT = 0,	/* TXT RRset, records joined */
	MTASTS_DNS_ADDR = 1,	/* A and AAAA, merged */
	MTASTS_DNS_MX = 2,	/* MX RRset */
	MTASTS_DNS_TLSA = 3	/* TLSA RRset: only count is filled */
};

#define MTASTS_DNS_MAX_RECORDS 256	/* hard cap on records per answer */

/* One MX record. host has no trailing dot; the null MX is ".". */
struct mtasts_dns_mx {
	unsigned preference;
	const char *host;
};

/*
 * One answer, borrowed for the duration of the callback. Exactly one of
 * txt/addr/mx is filled (per type) when code is MTASTS_OK.
 */
struct mtasts_dns_answer {
	enum mtasts_dns_type type;
	int code;		/* MTASTS_OK, MTASTS_ENOTFOUND, MTASTS_EDNSTEMP,
				   MTASTS_EDNS, MTASTS_ETOOBIG, MTASTS_ENOMEM */
	bool nxdomain;		/* for MTASTS_ENOTFOUND: NXDOMAIN, not NODATA */
	bool secure;		/* DNSSEC-validated (needs a trust anchor) */
	const char *name;	/* the name queried (no trailing dot) */
	const char *canonname;	/* target of a CNAME chain, or NULL */
	const char *reason;	/* one sentence when code != 0, else "" */
	size_t count;		/* entries in the array for the type */
	const char *const *txt;	/* TXT: joined records ... */
	const size_t *txt_len;	/* ... and their lengths (no NUL counted) */
	const char *const *addr;	/* ADDR: "192.0.2.1", "2001:db8::1" */
	const struct mtasts_dns_mx *mx; /* MX, in answer order */
};

/* The answer is borrowed: copy what must outlive the call. */
typedef void (*mtasts_dns_cb)(void *arg, const struct mtasts_dns_answer *ans);

/*
 * DNS operations as a table, filled with designated initializers. impl
 * is the implementation's own object (for the built-in one, a struct
 * mtasts_resolver *).
 *
 * lookup: start a lookup of name (no trailing dot needed) and store its
 *	handle in *q (may be NULL when the caller never cancels). Returns
 *	MTASTS_OK (cb runs once, later) or an error (cb never runs).
 * cancel: drop a pending lookup; its callback will not run. Must not be
 *	called after the callback has started.
 */
struct mtasts_dns_ops {
	int (*lookup)(void *impl, enum mtasts_dns_type type, const char *name,
	    mtasts_dns_cb cb, void *arg, struct mtasts_dns_query **q,
	    struct mtasts_error *err);
	void (*cancel)(void *impl, struct mtasts_dns_query *q);
};

/* The built-in implementation; impl is a struct mtasts_resolver *. */
extern const struct mtasts_dns_ops mtasts_resolver_dns_ops;

struct mtasts_resolver_options {
	const char *forward;	/* "IP[@PORT]": send every query there;
				   NULL: the system's resolver */
	unsigned timeout_ms;	/* per lookup (default 5000) */
	unsigned max_records;	/* per answer (default and max
				   MTASTS_DNS_MAX_RECORDS) */
	unsigned max_queries;	/* queries in flight at once (default 512,
				   max 4096; an A+AAAA lookup is two); more
				   lookups wait in arrival order, and their
				   timeout starts when they do */
};

/* Fill *opt with the defaults above. */
void mtasts_resolver_options_init(struct mtasts_resolver_options *opt);

/*
 * Check a "IP[@PORT]" forwarder address. Returns MTASTS_OK or
 * MTASTS_EINVAL with the reason in *err.
 */
int mtasts_resolver_forward_check(const char *forward,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/*
 * Create a resolver on base (borrowed; must outlive the resolver). opt
 * may be NULL for the defaults. *out is owned by the caller. Errors:
 * MTASTS_EINVAL (bad forward address), MTASTS_ENOMEM, MTASTS_EINTERNAL
 * (libunbound or libevent setup failed).
 */
int mtasts_resolver_new(struct event_base *base,
    const struct mtasts_resolver_options *opt, struct mtasts_resolver **out,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* Drop every pending lookup (no callbacks) and free. NULL-safe. Safe to
 * call from inside a callback of this resolver. */
void mtasts_resolver_free(struct mtasts_resolver *r);

/*
 * Start a lookup (see struct mtasts_dns_ops). name is copied. Errors:
 * MTASTS_EINVAL (name empty, the root, or longer than 253 bytes),
 * MTASTS_ENOMEM, MTASTS_EINTERNAL (libunbound refused the query).
 */
int mtasts_resolver_lookup(struct mtasts_resolver *r,
    enum mtasts_dns_type type, const char *name, mtasts_dns_cb cb, void *arg,
    struct mtasts_dns_query **q, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/* Cancel a pending lookup of r; its callback will not run. */
void mtasts_resolver_cancel(struct mtasts_resolver *r,
    struct mtasts_dns_query *q);

/* "TXT", "A/AAAA", "MX", "TLSA". */
const char *mtasts_dns_type_name(enum mtasts_dns_type type);

#ifdef __cplusplus
}
#endif
#endif
