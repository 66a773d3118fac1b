/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_counters 3h (tlsrptd)
 * SUMMARY
 *	the TLS-RPT counter store shared by the collectors and the reporter
 * DESCRIPTION
 *	Sessions (struct mtasts_tlsrpt_session) are counted, never stored
 *	one by one. The key of a count is the UTC day, the report domain
 *	(the domain whose _smtp._tls record receives the report: the
 *	session's report_domain, else its policy_domain) and the policy
 *	(type, policy strings, mx patterns, policy domain). Per policy the
 *	store keeps the success and failure counts and, per failure detail
 *	tuple (result type, sending IP, receiving MX hostname, HELO,
 *	receiving IP, additional information, failure reason code), a
 *	failed-session count.
 *
 *	Write side. tlsrptd_counters_add() aggregates into an in-memory
 *	batch (bounded: see tlsrptd_counters_pending()); the batch reaches
 *	the database only in tlsrptd_counters_flush(), in one transaction
 *	that also holds the staged rejected-input counts and the staged
 *	input cursors (a log reader's file offset), so a crash never counts
 *	a line twice nor loses one that was committed. Counts are added
 *	with upserts (x = x + n), so several collectors feeding one
 *	PostgreSQL database produce summed counts. When the flush fails
 *	(disk full, database down) the batch stays in memory and the next
 *	flush retries it; adding to a full batch fails with MTASTS_ETOOBIG
 *	and the caller must count the loss (a rejected "overflow").
 *
 *	Read side (the reporter, operator commands). Days and domains are
 *	listed through callbacks; the aggregates of one (day, domain) are
 *	delivered one policy at a time with that policy's failure details
 *	(at most max_details of them, the largest counts first), so memory
 *	stays bounded by one policy whatever the day's volume.
 *
 *	Bookkeeping. A day is closed exactly once (tlsrptd_counters_close_day
 *	tells the single winner, also across several processes on one
 *	PostgreSQL database); sessions that arrive for a closed day are not
 *	counted but recorded as rejected input ("late"). A per (day,
 *	domain, destination) delivery record holds what the reporter needs
 *	to retry and to show what was sent.
 *
 *	URIs: "sqlite:/path/file.db" (also a bare path) or
 *	"postgresql://..." / "postgres://..." (any libpq connection URI).
 *	A handle is used by one thread at a time.
 */
#ifndef TLSRPTD_COUNTERS_H
#define TLSRPTD_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "mtasts/tlsrpt.h"

#define TLSRPTD_COUNTERS_DEFAULT_URI "sqlite:/var/lib/mtasts/tlsrpt.db"
#define TLSRPTD_COUNTERS_BATCH_MAX 100000 /* distinct keys in a batch */
#define TLSRPTD_COUNTERS_NAME_MAX 64      /* cursor/source/reason names */

struct tlsrptd_counters;

/* UTC day number: floor(unix time / 86400). */
int64_t tlsrptd_day_of(int64_t unix_time);

/* Format day as "YYYY-MM-DD" into buf (>= 11 bytes). Returns buf. */
char *tlsrptd_day_format(int64_t day, char *buf, size_t size);

/* Parse "YYYY-MM-DD" into *day. Returns MTASTS_OK or MTASTS_ESYNTAX. */
int tlsrptd_day_parse(const char *s, int64_t *day);

/*
 * Open the store at uri (NULL: TLSRPTD_COUNTERS_DEFAULT_URI), creating
 * the schema when missing (SQLite in WAL mode). Returns the handle
 * (caller frees with tlsrptd_counters_close) or NULL with err set
 * (MTASTS_ESTORE, MTASTS_EINVAL for an unknown scheme).
 */
struct tlsrptd_counters *tlsrptd_counters_open(const char *uri,
					       struct mtasts_error *err);

/* Flush what is pending (errors ignored: call flush first to see them)
 * and close. NULL-safe. */
void tlsrptd_counters_close(struct tlsrptd_counters *c);

/* "sqlite" or "postgresql". */
const char *tlsrptd_counters_backend(const struct tlsrptd_counters *c);

/* ---- write side (collectors) ---------------------------------------- */

/*
 * Aggregate n sessions into the in-memory batch (strings are copied).
 * A session whose strings break the limits of tlsrpt.h is rejected
 * (counted as source "store", reason "invalid-session") and does not
 * stop the others. Returns MTASTS_OK, or MTASTS_ETOOBIG when the batch
 * is full (the sessions from the first that did not fit are not
 * counted; *added, when not NULL, tells how many were), MTASTS_ENOMEM.
 */
int tlsrptd_counters_add(struct tlsrptd_counters *c,
			 const struct mtasts_tlsrpt_session *sessions, size_t n,
			 size_t *added, struct mtasts_error *err);

/* Stage one rejected input of source ("datagram", "log", "store"...)
 * for reason ("json", "too-big", "late"...); names are truncated to
 * TLSRPTD_COUNTERS_NAME_MAX. Written by the next flush. */
void tlsrptd_counters_reject(struct tlsrptd_counters *c, const char *source,
			     const char *reason, uint64_t n);

/* Stage the input position of a named reader (e.g. "log:/var/log/
 * mail.log"): identity (inode) and byte offset. Written by the next
 * flush, in the same transaction as the counts read before it. */
void tlsrptd_counters_set_cursor(struct tlsrptd_counters *c, const char *name,
				 uint64_t identity, uint64_t offset);

/* Read a cursor as last committed (staged values win). Returns
 * MTASTS_OK, MTASTS_ENOTFOUND (never set), MTASTS_ESTORE. */
int tlsrptd_counters_get_cursor(struct tlsrptd_counters *c, const char *name,
				uint64_t *identity, uint64_t *offset,
				struct mtasts_error *err);

/* Number of distinct keys (policies + failure details) waiting for a
 * flush, and the sessions they hold. */
size_t tlsrptd_counters_pending(const struct tlsrptd_counters *c,
				uint64_t *sessions);

/*
 * Write the batch, the staged rejects and cursors in one transaction.
 * On success the batch is empty. On failure (MTASTS_ESTORE: disk full,
 * database unavailable; the handle reconnects on the next call) nothing
 * is lost: the batch is kept and retried by the next flush.
 */
int tlsrptd_counters_flush(struct tlsrptd_counters *c,
			   struct mtasts_error *err);

/* ---- read side (reporter, operator) -------------------------------- */

/* Totals of one report domain on one day. */
struct tlsrptd_domain_total {
	int64_t day;
	const char *domain; /* report domain */
	uint64_t success;
	uint64_t failure;
	bool reported; /* tlsrptd_counters_mark_reported() done */
};

/* Called per item; return non-zero to stop (that value is returned). */
typedef int (*tlsrptd_day_cb)(int64_t day, bool closed, void *arg);
typedef int (*tlsrptd_domain_cb)(const struct tlsrptd_domain_total *t,
				 void *arg);

/* Every day that has counts, ascending, with whether it is closed.
 * Returns MTASTS_OK, the callback's non-zero value, MTASTS_ESTORE. */
int tlsrptd_counters_list_days(struct tlsrptd_counters *c, tlsrptd_day_cb cb,
			       void *arg, struct mtasts_error *err);

/* Report domains with counts on day, sorted, with their totals
 * (streamed: constant memory). Returns as list_days. */
int tlsrptd_counters_list_domains(struct tlsrptd_counters *c, int64_t day,
				  tlsrptd_domain_cb cb, void *arg,
				  struct mtasts_error *err);

/* One failure detail tuple and its count; absent fields are NULL. */
struct tlsrptd_failure_detail {
	enum mtasts_tlsrpt_result result;
	const char *result_text; /* the RFC 8460 result-type string */
	const char *sending_mta_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	const char *additional_information;
	const char *failure_reason_code;
	uint64_t count;
};

/* The aggregate of one policy of one (day, report domain). */
struct tlsrptd_policy_agg {
	int64_t day;
	const char *report_domain;
	enum mtasts_tlsrpt_policy_type policy_type;
	const char *policy_domain; /* never NULL */
	const char *const *policy_strings;
	size_t policy_string_count;
	const char *const *mx_patterns;
	size_t mx_pattern_count;
	uint64_t success;
	uint64_t failure;
	const struct tlsrptd_failure_detail *details; /* largest first */
	size_t detail_count;
	uint64_t details_omitted; /* distinct tuples beyond max_details */
};

/* Everything pointed to is valid only during the call. */
typedef int (*tlsrptd_policy_cb)(const struct tlsrptd_policy_agg *p, void *arg);

/*
 * Deliver each policy counted for (day, report domain) in a stable
 * order (policy type, policy domain, strings) with at most max_details
 * failure details (0: 1000). Returns MTASTS_OK (also when nothing was
 * counted), the callback's non-zero value, MTASTS_ESTORE, MTASTS_ENOMEM.
 */
int tlsrptd_counters_read(struct tlsrptd_counters *c, int64_t day,
			  const char *domain, size_t max_details,
			  tlsrptd_policy_cb cb, void *arg,
			  struct mtasts_error *err);

/* Rejected-input totals; return non-zero to stop. */
typedef int (*tlsrptd_reject_cb)(const char *source, const char *reason,
				 uint64_t count, void *arg);
int tlsrptd_counters_list_rejects(struct tlsrptd_counters *c,
				  tlsrptd_reject_cb cb, void *arg,
				  struct mtasts_error *err);

/* ---- bookkeeping (reporter) ----------------------------------------- */

/*
 * Close day: from now on sessions of that day are not counted. *first
 * is true for exactly one caller over the store's lifetime (across
 * processes sharing a database), false when it was already closed.
 * Returns MTASTS_OK or MTASTS_ESTORE.
 */
int tlsrptd_counters_close_day(struct tlsrptd_counters *c, int64_t day,
			       bool *first, struct mtasts_error *err);

/* Whether day is closed. Returns MTASTS_OK or MTASTS_ESTORE. */
int tlsrptd_counters_day_closed(struct tlsrptd_counters *c, int64_t day,
				bool *closed, struct mtasts_error *err);

/* Record that the report of (day, domain) was built with report_id
 * (first call wins: the id of an existing mark is kept and returned in
 * id_out when not NULL, a buffer of id_size bytes). */
int tlsrptd_counters_mark_reported(struct tlsrptd_counters *c, int64_t day,
				   const char *domain, const char *report_id,
				   char *id_out, size_t id_size,
				   struct mtasts_error *err);

enum tlsrptd_delivery_status {
	TLSRPTD_DELIVERY_PENDING = 0,  /* not tried yet / retry due */
	TLSRPTD_DELIVERY_SENT = 1,     /* accepted by the destination */
	TLSRPTD_DELIVERY_TEMPFAIL = 2, /* will retry at next_retry */
	TLSRPTD_DELIVERY_GAVEUP = 3,   /* give-up time passed */
	TLSRPTD_DELIVERY_SKIPPED = 4   /* invalid/unsupported/suppressed */
};

/* "pending", "sent", "tempfail", "gaveup", "skipped". */
const char *tlsrptd_delivery_status_name(enum tlsrptd_delivery_status s);

/* One delivery of one report to one rua destination. */
struct tlsrptd_delivery {
	int64_t day;
	const char *domain;      /* report domain */
	const char *destination; /* the rua URI */
	const char *report_id;
	enum tlsrptd_delivery_status status;
	uint32_t attempts;
	int64_t next_retry;     /* unix time, 0: none */
	int64_t give_up_at;     /* unix time, 0: never */
	int64_t updated;        /* unix time of the last change */
	const char *last_error; /* NULL or short text */
};

/* Insert or replace the record of (day, domain, destination). */
int tlsrptd_counters_delivery_put(struct tlsrptd_counters *c,
				  const struct tlsrptd_delivery *d,
				  struct mtasts_error *err);

typedef int (*tlsrptd_delivery_cb)(const struct tlsrptd_delivery *d, void *arg);

/*
 * Stream delivery records: day < 0 means every day; due_before > 0
 * keeps only PENDING/TEMPFAIL records with next_retry <= due_before.
 * Ordered by day, domain, destination. Returns as list_days.
 */
int tlsrptd_counters_delivery_list(struct tlsrptd_counters *c, int64_t day,
				   int64_t due_before, tlsrptd_delivery_cb cb,
				   void *arg, struct mtasts_error *err);

#endif
