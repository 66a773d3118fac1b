/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_collect 3h (tlsrptd)
 * SUMMARY
 *	the collectors: libtlsrpt datagram socket and Postfix log reader
 * DESCRIPTION
 *	A collector runs on the caller's libevent loop and counts sessions
 *	into the caller's counter store (tlsrptd_counters.h):
 *
 *	- the datagram receiver binds a Unix datagram socket (the path
 *	  Postfix's smtp_tlsrpt_socket_name names; a drop-in for the
 *	  reference tlsrpt-collectd), asks for a large receive buffer
 *	  (SO_RCVBUFFORCE, else SO_RCVBUF) and drains it with recvmmsg(2)
 *	  on every readable event, so the kernel queue stays short;
 *	- the log reader follows a file being appended to (rotation by
 *	  rename or truncation is detected by inode and size) or reads
 *	  standard input ("-"); its byte offset is a cursor committed in
 *	  the same transaction as the counts it produced, so a restart
 *	  neither loses nor recounts a line. The policy of a recipient
 *	  domain comes from mtastsd's policy store (policy_store URI),
 *	  reloaded every policy_reload seconds; without it every domain is
 *	  no-policy-found.
 *
 *	The batch is flushed every flush_interval_ms and when full; a
 *	failed flush (disk full, database down) is logged once per outage
 *	and retried on the next tick with nothing lost; if the batch stays
 *	full the sessions that do not fit are counted as rejected
 *	("overflow"). Rejected input is counted per reason (datagram/json,
 *	log/too-big...). tlsrptd_collect_free() flushes a last time.
 */
#ifndef TLSRPTD_COLLECT_H
#define TLSRPTD_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "mtasts/error.h"
#include "tlsrptd_counters.h"

struct event_base;
struct tlsrptd_collect;

#define TLSRPTD_DEFAULT_SOCKET "/run/tlsrpt/collectd.sock"

/* syslog(3) priority and one line without newline. */
typedef void (*tlsrptd_collect_log_fn)(void *arg, int prio, const char *msg);

struct tlsrptd_collect_options {
	const char *datagram_socket; /* NULL or "": no receiver */
	unsigned socket_mode;        /* chmod of the socket; 0: 0666 */
	const char *socket_group;    /* chgrp of the socket; NULL/"": none */
	int rcvbuf;                  /* bytes; 0: 16 MiB */
	const char *log_file;        /* NULL or "": none; "-": stdin */
	bool log_follow;             /* wait for more at end of file */
	bool count_plaintext;        /* see postfix_log.h */
	const char *policy_store;    /* mtastsd's store URI, or NULL */
	unsigned policy_reload;      /* seconds; 0: 300 */
	unsigned flush_interval_ms;  /* 0: 1000 */
	tlsrptd_collect_log_fn log;  /* NULL: stderr */
	void *log_arg;
};

struct tlsrptd_collect_stats {
	uint64_t datagrams; /* received */
	uint64_t datagrams_rejected;
	uint64_t log_lines; /* read */
	uint64_t log_rejected;
	uint64_t sessions; /* handed to the store */
	uint64_t overflow; /* sessions lost to a full batch */
	uint64_t flushes;
	uint64_t flush_failures;
	uint64_t log_unmatched; /* see mtasts_postfix_log_stats */
};

/*
 * Start the collectors of o on base, counting into c (borrowed: it must
 * outlive the collector). Returns the collector or NULL with err set
 * (MTASTS_EIO: socket or file; MTASTS_ESTORE: policy store).
 */
struct tlsrptd_collect *
tlsrptd_collect_new(struct event_base *base, struct tlsrptd_counters *c,
		    const struct tlsrptd_collect_options *o,
		    struct mtasts_error *err);

/* Flush now (the timer also hands over received datagrams first).
 * Returns the store's code. */
int tlsrptd_collect_flush(struct tlsrptd_collect *k, struct mtasts_error *err);

/* Counters since start. */
void tlsrptd_collect_stats(const struct tlsrptd_collect *k,
			   struct tlsrptd_collect_stats *st);

/* True when the log input ended (end of file without log_follow, or
 * end of standard input) and no datagram receiver runs. */
bool tlsrptd_collect_done(const struct tlsrptd_collect *k);

/* Stop, flush (retrying a few times), unlink the socket. NULL-safe. */
void tlsrptd_collect_free(struct tlsrptd_collect *k);

/*
 * A complete collector process: "collect [--store URI] [--socket PATH]
 * [--log FILE|-] [--follow] [--policy-store URI] [--flush-ms N]
 * [--rcvbuf N] [--plaintext] [--stats]". Runs until SIGTERM/SIGINT (or
 * the end of a non-followed log), flushes, prints stats with --stats.
 * Returns an exit status. The program's main() may dispatch to it.
 */
int tlsrptd_collect_main(int argc, char **argv);

/* ---- internal (tlsrptd_datagram.c / tlsrptd_logreader.c) ---------- */

struct tlsrptd_dgram;
struct tlsrptd_logreader;

/* Count sessions into the store: add, flush when full, count overflow. */
void tlsrptd__collect_add(struct tlsrptd_collect *k,
			  const struct mtasts_tlsrpt_session *s, size_t n);
/* Count one rejected input of source for reason (staged in the store). */
void tlsrptd__collect_reject(struct tlsrptd_collect *k, const char *source,
			     const char *reason);
/* Log one line through the options' log function (else stderr). */
void tlsrptd__collect_log(struct tlsrptd_collect *k, int prio, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));
/* The counter store (borrowed) and the statistics (owned by k). */
struct tlsrptd_counters *tlsrptd__collect_store(struct tlsrptd_collect *k);
struct tlsrptd_collect_stats *
tlsrptd__collect_statsp(struct tlsrptd_collect *k);

/* Bind the datagram socket at path (a stale socket is replaced), start
 * the receiver thread and the loop's poll timer. NULL with err set. */
struct tlsrptd_dgram *tlsrptd__dgram_new(struct tlsrptd_collect *k,
					 struct event_base *base,
					 const char *path, unsigned mode,
					 const char *group, int rcvbuf,
					 struct mtasts_error *err);
/* Parse and count what the receiver thread has queued. */
void tlsrptd__dgram_drain(struct tlsrptd_dgram *d);
/* Stop the thread (it empties the socket first), count what it took in,
 * close and unlink the socket. NULL-safe. */
void tlsrptd__dgram_free(struct tlsrptd_dgram *d);

/* Open the log (resuming at the committed cursor) or standard input,
 * load the policies when a policy store is given. NULL with err set. */
struct tlsrptd_logreader *
tlsrptd__logreader_new(struct tlsrptd_collect *k, struct event_base *base,
		       const struct tlsrptd_collect_options *o,
		       struct mtasts_error *err);
/* End of input reached (not following). */
bool tlsrptd__logreader_done(const struct tlsrptd_logreader *r);
/* Sessions held without a delivery line (see postfix_log.h). */
uint64_t tlsrptd__logreader_unmatched(const struct tlsrptd_logreader *r);
/* Close everything. NULL-safe. */
void tlsrptd__logreader_free(struct tlsrptd_logreader *r);

#endif
