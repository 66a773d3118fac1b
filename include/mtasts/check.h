/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	check 3h
 * SUMMARY
 *	a domain's whole inbound mail-TLS posture as a list of check items
 * DESCRIPTION
 *	mtasts_check() looks up everything a sending MTA would meet for a
 *	domain: the _mta-sts TXT record, the policy host and its HTTPS
 *	answer, the policy, the _smtp._tls record (and the old
 *	_smtp-tlsrpt name), the MX set, and for every MX host and address
 *	an SMTP STARTTLS probe (probe.h) and a TLSA lookup. The outcome is a
 *	report: a list of items, each with a stable ID (see mtasts(1),
 *	CHECKS), a state, the MX host and address it concerns (or none) and
 *	a sentence saying what is wrong and how to fix it.
 *
 *	Certificate and STARTTLS problems are WARN for a domain without
 *	MTA-STS, FAIL under mode enforce, and WARN under testing with a note
 *	of what would fail once enforced. Thresholds that are not RFC rules
 *	(max_age, days to expiry) are local and say so in the message.
 *
 *	DNS, HTTPS and the prober are injected through ops tables, so that
 *	tests drive the engine with canned answers.
 *
 *	Async contract: if mtasts_check() returns an error the callback
 *	never runs; otherwise it runs once, never from inside the call,
 *	unless the checker is freed first.
 */
#ifndef MTASTS_CHECK_H
#define MTASTS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/error.h"
#include "mtasts/policy.h"
#include "mtasts/probe.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct mtasts_checker;
struct mtasts_check_report;
struct mtasts_dns_ops;
struct mtasts_http_ops;

/* Append-only; the names are part of the JSON schema. */
enum mtasts_check_state {
	MTASTS_CHECK_PASS = 0,
	MTASTS_CHECK_WARN = 1,
	MTASTS_CHECK_FAIL = 2,
	MTASTS_CHECK_INFO = 3,
	MTASTS_CHECK_NOT_TESTED = 4,
	MTASTS_CHECK_ERROR = 5
};
#define MTASTS_CHECK_NSTATES 6

/* One item, borrowed from its report. */
struct mtasts_check_item {
	const char *id;		/* "MX-STARTTLS" (static) */
	const char *group;	/* "mta-sts", "tls-rpt", "mx", "dane" */
	enum mtasts_check_state state;
	const char *mx;		/* MX host, or NULL */
	const char *ip;		/* address, or NULL */
	const char *msg;	/* one actionable sentence */
};

/* Facts for a survey (mtasts scan). */
struct mtasts_check_facts {
	bool has_mx;		/* at least one MX host (or implicit) */
	bool null_mx;		/* RFC 7505 null MX */
	unsigned mx_hosts;
	unsigned addrs;		/* MX addresses found */
	unsigned addrs_tested;	/* of which the probe got an answer */
	bool all_starttls;	/* every tested address offers STARTTLS */
	bool all_tls12;		/* ... and negotiates TLS 1.2 or later */
	bool all_cert_ok;	/* ... with a trusted, matching, valid cert */
	bool sts_published;	/* an STSv1 TXT record exists */
	bool sts_valid;		/* a valid policy was fetched */
	enum mtasts_mode sts_mode; /* when sts_valid */
	bool tlsrpt_valid;	/* a valid _smtp._tls record */
};

/* What a previous run saw for this domain (from --state). */
struct mtasts_check_prev {
	const char *sts_id;	/* NULL: unknown */
	const char *body_sha256; /* hex, NULL: unknown */
	const char *const *mx;	/* MX host names, NULL with nmx 0 */
	size_t nmx;
	bool have_mx;		/* the MX set was recorded */
};

struct mtasts_checker_options {
	const char *resolver;	/* "IP[@PORT]", NULL: system */
	const char *ca_file;	/* PEM trust store, NULL: system */
	unsigned dns_timeout_ms;	/* default 5000 */
	unsigned fetch_timeout_ms;	/* whole policy fetch, 20000 */
	unsigned connect_timeout_ms;	/* policy host connect, 10000 */
	struct mtasts_probe_options probe; /* MX probes */
	bool probe_mx;		/* connect to MX hosts (default true) */
	unsigned max_mx_hosts;	/* MX hosts examined (default 16) */
	unsigned max_addrs;	/* addresses per host probed (default 8) */
	unsigned cert_warn_days; /* local: WARN below (default 14) */
	unsigned max_age_warn;	/* local: WARN below (default 86400) */
	/* Injection; NULL means the built-in implementation. */
	const struct mtasts_dns_ops *dns_ops;
	void *dns_impl;
	const struct mtasts_http_ops *http_ops;
	void *http_impl;
	const struct mtasts_probe_ops *probe_ops;
	void *probe_impl;
};

/* Fill *opt with the defaults above (and probe defaults). */
void mtasts_checker_options_init(struct mtasts_checker_options *opt);

/*
 * The callback owns rep and frees it with mtasts_check_report_free().
 */
typedef void (*mtasts_check_cb)(void *arg, struct mtasts_check_report *rep);

/*
 * Create a checker on base (borrowed). *out is owned by the caller.
 * Errors: MTASTS_EINVAL (bad resolver address or CA file),
 * MTASTS_ENOMEM, MTASTS_EINTERNAL.
 */
int mtasts_checker_new(struct event_base *base,
    const struct mtasts_checker_options *opt, struct mtasts_checker **out,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* Drop pending checks (no callbacks) and free. NULL-safe. Not from
 * inside a callback of this checker. */
void mtasts_checker_free(struct mtasts_checker *c);

/*
 * Check domain (lowercase A-labels, no trailing dot). prev may be NULL;
 * it is copied. Errors: MTASTS_EINVAL (not a domain name),
 * MTASTS_ENOMEM.
 */
int mtasts_check(struct mtasts_checker *c, const char *domain,
    const struct mtasts_check_prev *prev, mtasts_check_cb cb, void *arg,
    struct mtasts_error *err) __attribute__((warn_unused_result));

/* "PASS", "WARN", "FAIL", "INFO", "NOT-TESTED", "ERROR". */
const char *mtasts_check_state_name(enum mtasts_check_state s);

/* Report accessors; everything is borrowed from rep. */
const char *mtasts_check_report_domain(const struct mtasts_check_report *r);
size_t mtasts_check_report_count(const struct mtasts_check_report *r);
const struct mtasts_check_item *mtasts_check_report_item(
    const struct mtasts_check_report *r, size_t i);
/* Items per state, indexed by enum mtasts_check_state. */
size_t mtasts_check_report_states(const struct mtasts_check_report *r,
    enum mtasts_check_state s);
const struct mtasts_check_facts *mtasts_check_report_facts(
    const struct mtasts_check_report *r);
/* For the state file: TXT id (or NULL), policy body SHA-256 in hex (or
 * NULL), and the MX host names (sorted) when the MX lookup worked. */
const char *mtasts_check_report_sts_id(const struct mtasts_check_report *r);
const char *mtasts_check_report_body_sha256(
    const struct mtasts_check_report *r);
bool mtasts_check_report_mx_known(const struct mtasts_check_report *r);
size_t mtasts_check_report_mx_count(const struct mtasts_check_report *r);
const char *mtasts_check_report_mx(const struct mtasts_check_report *r,
    size_t i);

/* NULL-safe. */
void mtasts_check_report_free(struct mtasts_check_report *r);

#ifdef __cplusplus
}
#endif
#endif
