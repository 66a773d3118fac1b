/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	probe 3h
 * SUMMARY
 *	asynchronous SMTP STARTTLS (and plain TLS) prober on libevent
 * DESCRIPTION
 *	A struct mtasts_prober tests mail servers the way a sending MTA
 *	meets them: connect to IP port 25, read the banner, EHLO, STARTTLS,
 *	TLS handshake with SNI set to the MX host name, then QUIT. It
 *	records the protocol version, the cipher, whether the chain is
 *	trusted (system store or ca_file), whether a subjectAltName DNS-ID
 *	matches the MX host (no CN fallback, no partial wildcards), the days
 *	until the certificate expires and its key; then, on fresh
 *	connections, whether TLS 1.1 or 1.0 are still accepted.
 *	MTASTS_PROBE_TLS mode does only the handshake (for example on a
 *	policy host's port 443).
 *
 *	Every wait has a timer and every reply the limits of smtp_reply.h,
 *	so endless banners, giant lines, slow drips and broken handshakes
 *	end with a reason. The outcome separates "could not test"
 *	(MTASTS_PROBE_UNTESTED: timeout, refused, 421 or another 4xx) from
 *	"fails" (MTASTS_PROBE_FAILED).
 *
 *	Politeness: at most one SMTP connection per address at a time
 *	(later SMTP probes of that address wait in arrival order; TLS-mode
 *	probes of different names on one address run side by side), at most
 *	max_connections in all, a pause of backoff_ms on an address after
 *	it answered 421, and each (host, address, port) is probed by SMTP
 *	once per prober: later requests get the cached result (the newest
 *	cache_max results are kept; a request arriving while the probe runs
 *	waits for it). Memory stays bounded: idle addresses and finished
 *	TLS-mode probes are freed.
 *
 *	Async contract: if mtasts_probe() returns an error, the callback
 *	never runs; otherwise it runs exactly once, never from inside the
 *	call, unless the request is canceled or the prober freed first.
 */
#ifndef MTASTS_PROBE_H
#define MTASTS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_prober;
struct mtasts_probe_handle;

enum mtasts_probe_mode {
	MTASTS_PROBE_SMTP = 0,	/* SMTP + STARTTLS (+ old TLS versions) */
	MTASTS_PROBE_TLS = 1	/* TLS from the first byte, no SMTP */
};

enum mtasts_probe_status {
	MTASTS_PROBE_OK = 0,	   /* handshake done (look at the fields) */
	MTASTS_PROBE_UNTESTED = 1, /* could not test; see reason */
	MTASTS_PROBE_FAILED = 2	   /* the server fails; see stage, reason */
};

/* How far the probe got (the stage where it stopped). */
enum mtasts_probe_stage {
	MTASTS_STAGE_CONNECT = 0,
	MTASTS_STAGE_BANNER = 1,
	MTASTS_STAGE_EHLO = 2,
	MTASTS_STAGE_STARTTLS = 3,
	MTASTS_STAGE_HANDSHAKE = 4,
	MTASTS_STAGE_DONE = 5
};

#define MTASTS_PROBE_HOST_MAX 254
#define MTASTS_PROBE_TEXT_MAX 256

/*
 * One probe's outcome (plain value struct, borrowed during the callback).
 * Fields after "stage" are filled as far as the probe got.
 */
struct mtasts_probe_result {
	enum mtasts_probe_mode mode;
	char host[MTASTS_PROBE_HOST_MAX];	/* name used for SNI/match */
	char ip[48];
	unsigned port;
	enum mtasts_probe_status status;
	enum mtasts_probe_stage stage;	/* where it stopped */
	int code;		/* enum mtasts_err behind a non-OK status */
	char reason[MTASTS_PROBE_TEXT_MAX]; /* actionable sentence or "" */
	bool cached;		/* answered from the prober's cache */
	unsigned elapsed_ms;	/* main connection, connect to close */
	/* SMTP */
	int banner_code;	/* 0 when none was read */
	char banner[MTASTS_PROBE_TEXT_MAX]; /* first banner line's text */
	int ehlo_code;
	bool starttls_offered;
	int starttls_code;
	/* TLS (stage DONE) */
	char tls_version[16];	/* "TLSv1.3" */
	int tls_version_num;	/* 0x0304 */
	char cipher[64];
	bool cert_present;
	bool chain_trusted;	/* PKIX chain to a trusted root, ignoring
				   only the validity period */
	char chain_error[128];	/* first non-time verify error, or "" */
	bool cert_expired;
	bool cert_not_yet_valid;
	bool name_match;	/* a SAN DNS-ID matches host */
	long days_left;		/* until notAfter, negative when past */
	char key_type[16];	/* "RSA", "EC", "ED25519"... */
	int key_bits;
	char subject_cn[64];	/* for messages only */
	/* Versions below TLS 1.2 (SMTP mode, when old_tls was set). */
	bool old_tested;	/* false: not tried or could not test */
	bool tls11_accepted;
	bool tls10_accepted;
	char old_note[MTASTS_PROBE_TEXT_MAX]; /* why not tested, or "" */
};

struct mtasts_probe_options {
	const char *ehlo_name;	/* default "mtasts.invalid" */
	const char *ca_file;	/* PEM trust store; NULL: system default */
	unsigned connect_timeout_ms;	/* default 10000 */
	unsigned reply_timeout_ms;	/* banner and each reply (15000) */
	unsigned tls_timeout_ms;	/* handshake (15000) */
	unsigned total_timeout_ms;	/* one connection in all (60000) */
	unsigned quit_timeout_ms;	/* wait for QUIT's reply (2000) */
	unsigned backoff_ms;	/* pause on an address after 421 (5000) */
	unsigned max_connections; /* at once, all addresses (64) */
	bool old_tls;		/* also test TLS 1.1 / 1.0 (default true) */
	unsigned cache_max;	/* SMTP results kept for later requests,
				   oldest dropped first (default 20000);
				   TLS-mode results are not kept */
};

/* Fill *opt with the defaults above. */
void mtasts_probe_options_init(struct mtasts_probe_options *opt);

/* The callback; the result is borrowed for the call only. */
typedef void (*mtasts_probe_cb)(void *arg,
    const struct mtasts_probe_result *res);

/*
 * Probe operations as a table, so that check.h can be given a fake.
 * probe: start probing host at ip:port in mode. Stores a handle in *h
 *	(may be NULL). MTASTS_OK (cb runs once, later) or an error.
 * cancel: drop a pending probe; its callback will not run.
 */
struct mtasts_probe_ops {
	int (*probe)(void *impl, enum mtasts_probe_mode mode, const char *host,
	    const char *ip, unsigned port, mtasts_probe_cb cb, void *arg,
	    struct mtasts_probe_handle **h, struct mtasts_error *err);
	void (*cancel)(void *impl, struct mtasts_probe_handle *h);
};

/* The built-in implementation; impl is a struct mtasts_prober *. */
extern const struct mtasts_probe_ops mtasts_prober_probe_ops;

/*
 * Create a prober on base (borrowed). opt may be NULL for the defaults;
 * strings are copied. Errors: MTASTS_EINVAL (unreadable CA file),
 * MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
int mtasts_prober_new(struct event_base *base,
    const struct mtasts_probe_options *opt, struct mtasts_prober **out,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* Drop pending probes (no callbacks), close connections, free.
 * NULL-safe. Not from inside one of the prober's callbacks. */
void mtasts_prober_free(struct mtasts_prober *p);

/*
 * Probe (see struct mtasts_probe_ops). host is the MX host name (SNI
 * and name check; no trailing dot needed), ip an IPv4 or IPv6 address
 * in text form, port 1..65535. Errors: MTASTS_EINVAL (bad address, host
 * or port), MTASTS_ENOMEM.
 */
int mtasts_probe(struct mtasts_prober *p, enum mtasts_probe_mode mode,
    const char *host, const char *ip, unsigned port, mtasts_probe_cb cb,
    void *arg, struct mtasts_probe_handle **h, struct mtasts_error *err)
	__attribute__((warn_unused_result));

/* Cancel a pending probe; its callback will not run. */
void mtasts_probe_cancel(struct mtasts_prober *p,
    struct mtasts_probe_handle *h);

/* "ok", "not-tested", "failed". */
const char *mtasts_probe_status_name(enum mtasts_probe_status s);

/* "connect", "banner", "ehlo", "starttls", "handshake", "done". */
const char *mtasts_probe_stage_name(enum mtasts_probe_stage s);

#ifdef __cplusplus
}
#endif
#endif
