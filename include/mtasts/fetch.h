/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	fetch 3h
 * SUMMARY
 *	the HTTPS GET of an MTA-STS policy (RFC 8461 section 3.3)
 * DESCRIPTION
 *	A struct mtasts_fetcher runs HTTPS GETs on the caller's event_base
 *	through one libcurl multi handle. Each request is exactly what RFC
 *	8461 section 3.3 asks for: HTTPS only, TLS 1.2 or later, full PKIX
 *	validation with the host name matched against subjectAltName DNS
 *	names only (no CN fallback, wildcards only as a whole left-most
 *	label), SNI set to the policy host, no redirects followed, no HTTP
 *	caching, no proxy, no cookies, status 200 and media type text/plain
 *	required, body and header sizes and the total time capped. The
 *	caller supplies the addresses to connect to (resolved through its
 *	own DNS path), so libcurl never resolves anything itself.
 *
 *	At most max_fetches requests run at once; more are queued in
 *	arrival order.
 *
 *	The same operations are available as a function table, struct
 *	mtasts_http_ops, so that discover.h can be given a fake in tests.
 *
 *	Async contract: if mtasts_fetcher_get() returns an error, the
 *	callback never runs; otherwise it runs exactly once, never from
 *	inside the call, unless the request is canceled or the fetcher is
 *	freed first. Freeing the fetcher from inside a callback is allowed.
 */
#ifndef MTASTS_FETCH_H
#define MTASTS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_fetcher;

/* Opaque handle of one pending request (any struct mtasts_http_ops). */
struct mtasts_http_request;

#define MTASTS_FETCH_ADDRS_MAX 16	/* addresses tried per request */
#define MTASTS_FETCH_HEADER_MAX 16384	/* total response header bytes */

/*
 * The outcome of one request, borrowed for the duration of the callback.
 * code is one of: MTASTS_OK (status 200, text/plain, body complete),
 * MTASTS_ECONNECT, MTASTS_ETIMEOUT, MTASTS_ETLS, MTASTS_ECERT,
 * MTASTS_EHTTPSTATUS, MTASTS_EREDIRECT, MTASTS_ECTYPE, MTASTS_ETOOBIG,
 * MTASTS_EHTTP, MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
struct mtasts_http_response {
	int code;
	const char *reason;	/* one sentence naming the URL; "" if OK */
	const char *url;
	long status;		/* HTTP status, 0 if none was received */
	const char *content_type; /* as sent, or NULL */
	const char *location;	/* redirect target for 3xx, or NULL */
	const char *body;	/* body (cut at max_body), NUL-terminated */
	size_t body_len;
	const char *peer;	/* address connected to, or NULL */
};

/* The response is borrowed: copy what must outlive the call. */
typedef void (*mtasts_http_cb)(void *arg,
    const struct mtasts_http_response *res);

/*
 * HTTP operations as a table, filled with designated initializers. impl
 * is the implementation's own object (for the built-in one, a struct
 * mtasts_fetcher *).
 *
 * get: GET url, which must be "https://<host>/...", connecting only to
 *	the naddrs addresses in addrs (text form, IPv4 or IPv6) on port
 *	443; the certificate must be valid for host. Stores a handle in *req
 *	(may be NULL). Returns MTASTS_OK (cb runs once, later) or an error
 *	(cb never runs).
 * cancel: drop a pending request; its callback will not run. Must not
 *	be called after the callback has started.
 */
struct mtasts_http_ops {
	int (*get)(void *impl, const char *host, const char *url,
	    const char *const *addrs, size_t naddrs, mtasts_http_cb cb,
	    void *arg, struct mtasts_http_request **req,
	    struct mtasts_error *err);
	void (*cancel)(void *impl, struct mtasts_http_request *req);
};

/* The built-in implementation; impl is a struct mtasts_fetcher *. */
extern const struct mtasts_http_ops mtasts_fetcher_http_ops;

struct mtasts_fetch_options {
	const char *ca_file;	/* PEM trust store; NULL: system default */
	unsigned connect_timeout_ms;	/* TCP+TLS connect (default 10000) */
	unsigned timeout_ms;	/* whole request (default 60000) */
	size_t max_body;	/* body cut-off (default and max 65536) */
	unsigned max_fetches;	/* requests running at once (default 256) */
	const char *user_agent;	/* default "mtasts/<version>" */
};

/* Fill *opt with the defaults above. */
void mtasts_fetch_options_init(struct mtasts_fetch_options *opt);

/*
 * Create a fetcher on base (borrowed; must outlive the fetcher). opt may
 * be NULL for the defaults; its strings are copied. *out is owned by the
 * caller. Errors: MTASTS_EINVAL (unreadable CA file), MTASTS_ENOMEM,
 * MTASTS_EINTERNAL (libcurl or libevent setup failed).
 */
int mtasts_fetcher_new(struct event_base *base,
    const struct mtasts_fetch_options *opt, struct mtasts_fetcher **out,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* Drop every pending request (no callbacks) and free. NULL-safe. Safe to
 * call from inside a callback of this fetcher. */
void mtasts_fetcher_free(struct mtasts_fetcher *f);

/*
 * Start a request (see struct mtasts_http_ops). Strings are copied.
 * Errors: MTASTS_EINVAL (not an https URL for host, no address, a bad
 * address), MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
int mtasts_fetcher_get(struct mtasts_fetcher *f, const char *host,
    const char *url, const char *const *addrs, size_t naddrs,
    mtasts_http_cb cb, void *arg, struct mtasts_http_request **req,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* Cancel a pending request of f; its callback will not run. */
void mtasts_fetcher_cancel(struct mtasts_fetcher *f,
    struct mtasts_http_request *req);

#ifdef __cplusplus
}
#endif
#endif
