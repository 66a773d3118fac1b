/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_send 3h (tlsrptd)
 * SUMMARY
 *	the report scheduler's pass: close days, discover rua, deliver
 * DESCRIPTION
 *	One call of tlsrptd_send_pass() does everything that is due at
 *	"now" and returns:
 *	1. closes every past UTC day once close_delay has passed after its
 *	   end (late log lines still land; later sessions count as late);
 *	2. for each report domain of a closed day whose send time has come
 *	   (tlsrptd_send_time: spread over hours), looks up
 *	   "_smtp._tls.<domain>" (RFC 8460 section 3) and records one
 *	   delivery per usable rua URI (unsupported or invalid URIs are
 *	   logged and recorded as skipped), then marks the report built;
 *	3. attempts every delivery that is due: HTTPS POST
 *	   (application/tlsrpt+gzip, any 2xx, no redirects) or mail
 *	   (sendmail interface or SMTP submission), retrying temporary
 *	   failures with back-off until give_up, and skipping destinations
 *	   suppressed because they keep failing.
 *	Reports are rebuilt from the counters for each attempt with the
 *	same deterministic report id, so nothing but the counters and the
 *	delivery records is kept. Every outside effect (clock, randomness,
 *	DNS, HTTPS, mail, logging) goes through struct tlsrptd_send_ops so
 *	tests replace them; tlsrptd_send_ops_default() gives the real ones.
 *	The pass blocks: the daemon runs it in a child process.
 */
#ifndef TLSRPTD_SEND_H
#define TLSRPTD_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "tlsrptd_build.h"
#include "tlsrptd_counters.h"
#include "tlsrptd_sched.h"

struct tlsrptd_send_conf {
	struct tlsrptd_identity id;
	struct tlsrptd_sched_policy sched;
	int64_t close_delay;		/* after the end of a day */
	int64_t report_window;		/* seconds; older days are not sent */
	const char *mail_from;		/* envelope sender and From */
	const char *mail_method;	/* "sendmail" or "smtp" */
	const char *sendmail_path;
	const char *smtp_url;		/* smtp://host:587, smtps://host */
	const char *smtp_user;		/* "" or NULL: no AUTH */
	const char *smtp_password;
	bool smtp_starttls;		/* require STARTTLS for smtp:// */
	const char *ca_file;		/* "" or NULL: system store */
	bool https_verify;		/* verify report endpoints */
	long http_timeout;		/* seconds, whole request */
	long connect_timeout;
	const char *dns_resolver;	/* IP[@PORT] or "" */
	unsigned dns_timeout;		/* seconds */
	unsigned max_per_pass;		/* reports and deliveries per pass */
	/* operator "send now": */
	int64_t force_day;		/* close and report this day at once,
					   even today (-1: none) */
	bool retry_now;			/* try waiting retries now */
};

/* syslog priorities (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
typedef void (*tlsrptd_log_fn)(void *arg, int prio, const char *msg);

struct tlsrptd_send_ops {
	int64_t (*now)(void *arg);
	uint64_t (*random)(void *arg);
	/* The TXT RRset of name: *txt gets n joined records (copies the
	 * caller frees with tlsrptd_strings_free). MTASTS_OK,
	 * MTASTS_ENOTFOUND (no records, NXDOMAIN), MTASTS_EDNSTEMP. */
	int (*lookup_txt)(void *arg, const char *name, char ***txt,
			  size_t *n, struct mtasts_error *err);
	/* POST the payload; why gets a short reason on failure. */
	enum tlsrptd_outcome (*post)(void *arg, const char *url,
				     const struct tlsrptd_payload *p,
				     char *why, size_t whylen);
	/* Hand a message to the MTA for rcpt. */
	enum tlsrptd_outcome (*mail)(void *arg, const char *rcpt,
				     const char *msg, size_t len, char *why,
				     size_t whylen);
	tlsrptd_log_fn log;
	void *arg;
};

/* What one pass did. */
struct tlsrptd_pass_stats {
	unsigned days_closed;
	unsigned reports_built;
	unsigned sent;
	unsigned tempfail;
	unsigned gaveup;
	unsigned skipped;
};

/* Real operations for conf (borrowed; must outlive ops). Call
 * tlsrptd_send_ops_cleanup when done. */
int tlsrptd_send_ops_default(struct tlsrptd_send_ops *ops,
			     const struct tlsrptd_send_conf *conf,
			     tlsrptd_log_fn log, void *log_arg,
			     struct mtasts_error *err);
void tlsrptd_send_ops_cleanup(struct tlsrptd_send_ops *ops);

/* Free n strings and the array (NULL-safe). */
void tlsrptd_strings_free(char **v, size_t n);

/*
 * Run one pass at ops->now(). Returns MTASTS_OK or the first store
 * error (MTASTS_ESTORE: the pass stops and the next one resumes; no
 * state is lost). st may be NULL.
 */
int tlsrptd_send_pass(struct tlsrptd_counters *c,
		      const struct tlsrptd_send_conf *conf,
		      const struct tlsrptd_send_ops *ops,
		      struct tlsrptd_pass_stats *st, struct mtasts_error *err);

/*
 * Deliver the report of (day, domain) to one destination now (used by
 * the pass and by the operator). Returns the outcome; why gets the
 * reason of a failure.
 */
enum tlsrptd_outcome tlsrptd_deliver_one(struct tlsrptd_counters *c,
					 const struct tlsrptd_send_conf *conf,
					 const struct tlsrptd_send_ops *ops,
					 int64_t day, const char *domain,
					 const char *report_id,
					 const char *destination, char *why,
					 size_t whylen);

#endif
