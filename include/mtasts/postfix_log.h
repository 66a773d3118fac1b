/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	postfix_log 3h
 * SUMMARY
 *	Postfix mail log lines to TLS-RPT sessions
 * DESCRIPTION
 *	Sans-I/O reader of the Postfix smtp(8) client's log, for Postfix
 *	versions without TLSRPT support (Debian 12 ships 3.7). Two layers:
 *
 *	mtasts_postfix_log_parse_line() classifies one line (syslog or
 *	RFC 3339 time stamp, "host process[pid]: text") into a struct
 *	mtasts_postfix_log_line: a TLS session established ("Verified",
 *	"Trusted", "Untrusted", "Anonymous"), a TLS failure naming the MX
 *	(certificate verification failed, TLS required but not offered or
 *	refused, handshake failure), a delivery line ("QUEUEID: to=<...>,
 *	relay=host[ip]:port, ... status=..."), a Postfix >= 3.10 "TLSRPT:"
 *	line, or nothing of interest.
 *
 *	struct mtasts_postfix_log correlates them: a TLS line carries the
 *	MX but not the recipient domain (the policy domain), so the outcome
 *	of each smtp process is held until that process logs its next
 *	delivery line, which names the recipient domain and the same relay.
 *	The policy that applied cannot be read from the log: the caller's
 *	policy callback is asked for it by domain (mtasts-tlsrptd answers
 *	from mtastsd's policy store). The result is emitted through the
 *	session callback. docs/tlsrpt-log-mapping.md lists every mapping
 *	and what the log cannot tell.
 *
 *	Limits: lines of at most MTASTS_POSTFIX_LOG_LINE_MAX bytes, at most
 *	MTASTS_POSTFIX_LOG_PENDING_MAX smtp processes waiting for their
 *	delivery line (the oldest is dropped and counted as unmatched).
 */
#ifndef MTASTS_POSTFIX_LOG_H
#define MTASTS_POSTFIX_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "mtasts/tlsrpt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_POSTFIX_LOG_LINE_MAX 16384
#define MTASTS_POSTFIX_LOG_PENDING_MAX 1024
/* syslog_name of the Postfix transport that carries TLS-RPT report mail;
 * its lines are never counted (RFC 8460 section 3: reports must not
 * report on their own delivery). */
#define MTASTS_POSTFIX_LOG_REPORT_SYSLOG "postfix-tlsrpt"

enum mtasts_postfix_log_kind {
	MTASTS_PFLOG_NONE = 0,    /* not a line the reader uses */
	MTASTS_PFLOG_TLS,         /* "... TLS connection established" */
	MTASTS_PFLOG_TLS_FAILURE, /* a TLS failure naming host[ip] */
	MTASTS_PFLOG_DELIVERY,    /* "QUEUEID: to=<>, relay=..." */
	MTASTS_PFLOG_TLSRPT       /* Postfix >= 3.10 "TLSRPT:" line */
};

enum mtasts_postfix_log_trust {
	MTASTS_PFLOG_VERIFIED = 0, /* chain and name verified */
	MTASTS_PFLOG_TRUSTED,      /* chain verified, name not checked */
	MTASTS_PFLOG_UNTRUSTED,    /* chain not verified */
	MTASTS_PFLOG_ANONYMOUS     /* no certificate */
};

/* One classified line; every string is NUL-terminated (empty when not
 * present) and validated: host is a DNS name, ip an IP address. */
struct mtasts_postfix_log_line {
	enum mtasts_postfix_log_kind kind;
	int64_t time;     /* unix time of the line (UTC) */
	char process[64]; /* "postfix/smtp" */
	long pid;
	char queue_id[32]; /* DELIVERY */
	char host[256];    /* MX host (TLS, failure, relay) */
	char ip[64];
	char domain[256];                    /* recipient / TLSRPT domain */
	char status[16];                     /* DELIVERY: sent, deferred... */
	unsigned conn_use;                   /* DELIVERY: 0 when not logged */
	enum mtasts_postfix_log_trust trust; /* TLS */
	bool failure;                        /* TLS_FAILURE, TLSRPT, DELIVERY
					      * whose status names a TLS failure */
	enum mtasts_tlsrpt_result result;    /* when failure */
	char reason[128];                    /* failure-reason-code text */
};

/*
 * Classify one line of len bytes (no newline needed) read at unix time
 * now (gives the year of syslog time stamps, which are local time).
 * Returns MTASTS_OK (out->kind may be MTASTS_PFLOG_NONE),
 * MTASTS_ETOOBIG for a line longer than MTASTS_POSTFIX_LOG_LINE_MAX,
 * MTASTS_ESYNTAX for a line of the smtp client that looks like a TLS
 * line but whose host, address or fields are malformed.
 */
int mtasts_postfix_log_parse_line(const char *line, size_t len, int64_t now,
				  struct mtasts_postfix_log_line *out);

/* The policy of a domain, filled by the caller's callback; strings are
 * borrowed until the callback is called again. */
struct mtasts_postfix_log_policy {
	enum mtasts_tlsrpt_policy_type type;
	const char *policy_domain; /* NULL: the recipient domain */
	const char *const *strings;
	size_t string_count;
	const char *const *mx_patterns;
	size_t mx_pattern_count;
};

/* Fill *out for domain; return 0 when filled, non-zero for "no policy
 * known" (no-policy-found). */
typedef int (*mtasts_postfix_log_policy_fn)(
    void *arg, const char *domain, struct mtasts_postfix_log_policy *out);

/* One session; everything is borrowed for the duration of the call. */
typedef void (*mtasts_postfix_log_session_fn)(
    void *arg, const struct mtasts_tlsrpt_session *s);

struct mtasts_postfix_log;

/* Options. */
struct mtasts_postfix_log_options {
	/* Count a delivery without any TLS line as a plaintext session
	 * (starttls-not-supported). Only right with smtp_tls_loglevel >= 1
	 * and no relayhost; default false. */
	bool count_plaintext;
};

/* New correlator (policy_fn may be NULL: every domain no-policy-found).
 * NULL on OOM. */
struct mtasts_postfix_log *
mtasts_postfix_log_new(const struct mtasts_postfix_log_options *opt,
		       mtasts_postfix_log_policy_fn policy_fn,
		       mtasts_postfix_log_session_fn session_fn, void *arg);

/*
 * Feed one line (see parse_line). Sessions completed by it are emitted
 * before the call returns. Returns parse_line's code; a rejected line
 * changes nothing.
 */
int mtasts_postfix_log_feed(struct mtasts_postfix_log *p, const char *line,
			    size_t len, int64_t now);

/* Counters: sessions emitted, TLS outcomes dropped without a delivery
 * line (process ended, table full, different relay). */
void mtasts_postfix_log_stats(const struct mtasts_postfix_log *p,
			      uint64_t *sessions, uint64_t *unmatched);

/* Whether a "TLSRPT:" line was seen (Postfix >= 3.10 logs one per
 * failed session; its failure type then replaces the one read from the
 * other lines of that session, which is still counted once, when its
 * delivery line comes). */
bool mtasts_postfix_log_tlsrpt_mode(const struct mtasts_postfix_log *p);

/* Free. NULL-safe. */
void mtasts_postfix_log_free(struct mtasts_postfix_log *p);

#ifdef __cplusplus
}
#endif
#endif
