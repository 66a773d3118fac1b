/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_sched 3h (tlsrptd)
 * SUMMARY
 *	sans-I/O timing rules of report delivery
 * DESCRIPTION
 *	When the reports of a day go out (after the day is closed, spread
 *	over hours with a per-domain offset so that a restart keeps the
 *	same schedule), when a temporarily failed delivery is retried
 *	(exponential back-off with jitter, RFC 8460 section 5.5), when it
 *	is given up (R8460-39: 24 hours by default), and which
 *	destinations are suppressed because they keep failing. No clock,
 *	no randomness of its own: callers pass "now" and random numbers,
 *	so tests drive every rule with an injected clock.
 */
#ifndef TLSRPTD_SCHED_H
#define TLSRPTD_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tlsrptd_sched_policy {
	int64_t send_delay;	/* after the end of the day (seconds) */
	int64_t send_spread;	/* reports spread over this long */
	int64_t retry_min;	/* first back-off */
	int64_t retry_max;	/* longest back-off */
	unsigned jitter_pct;	/* up to this % added to each back-off */
	int64_t give_up;	/* after the first attempt */
	unsigned suppress_after; /* consecutive give-ups (0: never) */
	int64_t suppress_period; /* suppression lasts this long */
};

/* Defaults: 30 min delay, 4 h spread, 5 min..4 h back-off with 20 %
 * jitter, give up after 24 h, suppress after 3 give-ups for 7 days. */
void tlsrptd_sched_defaults(struct tlsrptd_sched_policy *p);

/* A stable 64-bit hash (FNV-1a) of s, mixed with seed. */
uint64_t tlsrptd_hash(const char *s, uint64_t seed);

/*
 * When the report of (day, domain) is due: end of day + send_delay +
 * an offset in [0, send_spread) derived from the domain and day.
 */
int64_t tlsrptd_send_time(const struct tlsrptd_sched_policy *p,
			  int64_t day, const char *domain);

/*
 * The time of the next attempt after attempts (>= 1) failed
 * temporarily: now + min(retry_min * 2^(attempts-1), retry_max) plus
 * up to jitter_pct % of it (from rnd). Returns 0 when that time would
 * be at or past give_up_at (the caller gives up instead).
 */
int64_t tlsrptd_retry_next(const struct tlsrptd_sched_policy *p,
			   uint32_t attempts, int64_t now, int64_t give_up_at,
			   uint64_t rnd);

/* Per-destination failure history, fed in day order. */
struct tlsrptd_dest_state {
	unsigned streak;	/* consecutive give-ups, newest last */
	int64_t last_gaveup;	/* time of the newest give-up */
};

/* Feed one finished delivery: gave_up or sent (others are ignored). */
void tlsrptd_dest_feed(struct tlsrptd_dest_state *s, bool sent,
		       bool gave_up, int64_t when);

/* Whether a destination with this history is suppressed at now. */
bool tlsrptd_dest_suppressed(const struct tlsrptd_sched_policy *p,
			     const struct tlsrptd_dest_state *s, int64_t now);

/* The outcome of one delivery attempt. */
enum tlsrptd_outcome {
	TLSRPTD_OUT_OK = 0,	/* accepted */
	TLSRPTD_OUT_TEMP = 1,	/* retry later */
	TLSRPTD_OUT_PERM = 2	/* never retry */
};

/* HTTP status (0: no response) to outcome: any 2xx is success
 * (decision A-12); 408, 425, 429 and 5xx are temporary; 3xx (never
 * followed) and other 4xx permanent; 0 temporary. */
enum tlsrptd_outcome tlsrptd_http_outcome(long status);

/* sendmail exit status (or -1 when it died from a signal or could not
 * run) to outcome: 0 success, 75 (EX_TEMPFAIL), 69 (EX_UNAVAILABLE),
 * 71 (EX_OSERR), 74 (EX_IOERR) and -1 temporary, anything else
 * permanent. */
enum tlsrptd_outcome tlsrptd_sendmail_outcome(int status);

/* SMTP reply code (0: none) to outcome: 2xx ok, 4xx or none temporary,
 * 5xx permanent. */
enum tlsrptd_outcome tlsrptd_smtp_outcome(long code);

#endif
