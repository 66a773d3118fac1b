/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	discover 3h
 * SUMMARY
 *	asynchronous MTA-STS policy discovery and fetch (RFC 8461 3.1-3.3)
 * DESCRIPTION
 *	Runs on the caller's libevent event_base: looks up the
 *	"_mta-sts.<domain>" TXT RRset, resolves "mta-sts.<domain>" through
 *	the same DNS path, fetches the policy over HTTPS exactly as RFC 8461
 *	section 3.3 demands, and parses it. The answer is one of: a policy,
 *	no policy, a temporary failure, or a failure carrying its RFC 8460
 *	result type and a reason a person can act on.
 *
 *	Async contract: if mtasts_discover() returns an error, the callback
 *	never runs; otherwise it runs exactly once, never from inside
 *	mtasts_discover() itself, unless mtasts_discovery_free() is called
 *	first (pending lookups are then dropped without their callbacks).
 */
#ifndef MTASTS_DISCOVER_H
#define MTASTS_DISCOVER_H

#include <stddef.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"
#include "mtasts/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_discovery;
struct mtasts_dns_ops;	/* resolver.h */
struct mtasts_http_ops; /* fetch.h */

struct mtasts_discovery_options {
	const char *resolver;	/* "IP[@PORT]": forward every query there;
				   NULL: the system's resolver */
	const char *ca_file;	/* PEM trust store; NULL: system default */
	unsigned dns_timeout_ms;	/* per DNS query (default 5000) */
	unsigned connect_timeout_ms;	/* TCP+TLS connect (default 10000) */
	unsigned timeout_ms;	/* whole HTTPS fetch (default 60000) */
	size_t max_body;	/* body cut-off (default and max 65536) */
	unsigned max_fetches;	/* concurrent HTTPS fetches (default 256) */
	const char *user_agent;	/* default "mtasts/<version>" */
	/* Injection for tests; NULL means the built-in implementation. */
	const struct mtasts_dns_ops *dns_ops;
	void *dns_impl;
	const struct mtasts_http_ops *http_ops;
	void *http_impl;
};

/* Fill *opt with the defaults above. */
void mtasts_discovery_options_init(struct mtasts_discovery_options *opt);

enum mtasts_result {
	MTASTS_RESULT_POLICY = 0,	/* valid policy fetched */
	MTASTS_RESULT_NO_POLICY = 1,	/* no usable _mta-sts record */
	MTASTS_RESULT_TEMPERROR = 2,	/* TXT lookup failed temporarily */
	MTASTS_RESULT_ERROR = 3,	/* record found, policy not usable */
	MTASTS_RESULT_UNCHANGED = 4	/* TXT id equals cached_id: no fetch */
};

/* RFC 8460 section 4.3.2 result types for policy discovery. */
enum mtasts_failure {
	MTASTS_FAILURE_NONE = 0,
	MTASTS_FAILURE_FETCH = 1,	/* sts-policy-fetch-error */
	MTASTS_FAILURE_INVALID = 2,	/* sts-policy-invalid */
	MTASTS_FAILURE_WEBPKI = 3	/* sts-webpki-invalid */
};

/* "policy", "no-policy", "temperror", "error", "unchanged". */
const char *mtasts_result_name(enum mtasts_result r);

/* RFC 8460 result type string, or NULL for MTASTS_FAILURE_NONE. */
const char *mtasts_failure_name(enum mtasts_failure f);

/*
 * What a lookup found. Everything is borrowed for the duration of the
 * callback, except that the callback may take ownership of "policy" by
 * setting the field to NULL (it then frees it with mtasts_policy_free).
 */
struct mtasts_discovery_result {
	const char *domain;	/* the policy domain as looked up */
	enum mtasts_result result;
	enum mtasts_failure failure;	/* for MTASTS_RESULT_ERROR */
	int code;		/* enum mtasts_err behind the result */
	const char *reason;	/* actionable sentence; "" when fine */
	const char *id;		/* TXT id, or NULL without valid record */
	struct mtasts_policy *policy;	/* for MTASTS_RESULT_POLICY */
	const char *body;	/* fetched body (may be cut), or NULL */
	size_t body_len;
	const struct mtasts_diags *diags; /* TXT and policy findings */
};

typedef void (*mtasts_discover_cb)(void *arg,
    struct mtasts_discovery_result *res);

/*
 * Create a discovery engine on base (borrowed; must outlive it).
 * *out is owned by the caller. Errors: MTASTS_EINVAL (bad resolver
 * address or CA file), MTASTS_ENOMEM, MTASTS_EINTERNAL (library setup).
 */
int mtasts_discovery_new(struct event_base *base,
    const struct mtasts_discovery_options *opt,
    struct mtasts_discovery **out, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/* Drop pending lookups (their callbacks do not run) and free. NULL-safe. */
void mtasts_discovery_free(struct mtasts_discovery *d);

/*
 * Start discovering the policy of domain (ASCII, A-labels; case and one
 * trailing dot are normalised). If cached_id is not NULL and the TXT
 * record's id equals it, the answer is MTASTS_RESULT_UNCHANGED without
 * any HTTPS fetch. Returns MTASTS_OK (cb will run once) or
 * MTASTS_EINVAL for a domain that is not a valid host name.
 */
int mtasts_discover(struct mtasts_discovery *d, const char *domain,
    const char *cached_id, mtasts_discover_cb cb, void *arg,
    struct mtasts_error *err) __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
