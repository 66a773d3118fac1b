/* SPDX-License-Identifier: MIT */
/*
 * tlsrptd_collect.c: the collectors' shared part (batching into the
 * counter store, flush timer, outage logging, rejects) and a complete
 * collector process (tlsrptd_collect_main).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "tlsrptd_collect.h"
#include "util/alloc.h"

struct tlsrptd_collect {
	struct event_base *base;
	struct tlsrptd_counters *c;
	struct tlsrptd_collect_options o;
	struct tlsrptd_dgram *dgram;
	struct tlsrptd_logreader *log;
	struct event *flush_ev;
	struct tlsrptd_collect_stats st;
	bool failing; /* a flush failed; logged once */
};

void
tlsrptd__collect_log(struct tlsrptd_collect *k, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k->o.log != NULL)
		k->o.log(k->o.log_arg, prio, msg);
	else
		fprintf(stderr, "tlsrptd collect: %s\n", msg);
}

struct tlsrptd_counters *
tlsrptd__collect_store(struct tlsrptd_collect *k)
{
	return k->c;
}

struct tlsrptd_collect_stats *
tlsrptd__collect_statsp(struct tlsrptd_collect *k)
{
	return &k->st;
}

void
tlsrptd__collect_reject(struct tlsrptd_collect *k, const char *source,
			const char *reason)
{
	if (strcmp(source, "datagram") == 0)
		k->st.datagrams_rejected++;
	tlsrptd_counters_reject(k->c, source, reason, 1);
}

int
tlsrptd_collect_flush(struct tlsrptd_collect *k, struct mtasts_error *err)
{
	struct mtasts_error e;
	int rc;

	rc = tlsrptd_counters_flush(k->c, &e);
	if (rc == MTASTS_OK) {
		k->st.flushes++;
		if (k->failing)
			tlsrptd__collect_log(k, LOG_NOTICE,
					     "counter store back: counts "
					     "written");
		k->failing = false;
	} else {
		uint64_t sessions = 0;

		k->st.flush_failures++;
		tlsrptd_counters_pending(k->c, &sessions);
		if (!k->failing)
			tlsrptd__collect_log(
			    k, LOG_ERR,
			    "counter store: %s: keeping %" PRIu64
			    " sessions in memory, retrying",
			    e.msg, sessions);
		k->failing = true;
	}
	if (err != NULL)
		*err = e;
	return rc;
}

void
tlsrptd__collect_add(struct tlsrptd_collect *k,
		     const struct mtasts_tlsrpt_session *s, size_t n)
{
	size_t added = 0;
	int rc;

	rc = tlsrptd_counters_add(k->c, s, n, &added, NULL);
	if (rc == MTASTS_ETOOBIG) {
		size_t more = 0;

		/* Full: write now and take the rest. */
		if (tlsrptd_collect_flush(k, NULL) == MTASTS_OK)
			rc = tlsrptd_counters_add(k->c, s + added, n - added,
						  &more, NULL);
		added += more;
	}
	k->st.sessions += added;
	if (added < n) {
		k->st.overflow += n - added;
		tlsrptd_counters_reject(k->c, "store", "overflow", n - added);
	}
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct tlsrptd_collect *k = arg;

	(void)fd;
	(void)what;
	if (k->dgram != NULL)
		tlsrptd__dgram_drain(k->dgram);
	tlsrptd_collect_flush(k, NULL);
}

struct tlsrptd_collect *
tlsrptd_collect_new(struct event_base *base, struct tlsrptd_counters *c,
		    const struct tlsrptd_collect_options *o,
		    struct mtasts_error *err)
{
	struct tlsrptd_collect *k = mtasts__calloc(1, sizeof(*k));
	unsigned ms;
	struct timeval tv;

	if (k == NULL) {
		mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
		return NULL;
	}
	k->base = base;
	k->c = c;
	k->o = *o;
	ms = o->flush_interval_ms != 0 ? o->flush_interval_ms : 1000;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	k->flush_ev = event_new(base, -1, EV_PERSIST, on_flush, k);
	if (k->flush_ev == NULL || event_add(k->flush_ev, &tv) != 0) {
		mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
		goto fail;
	}
	if (o->datagram_socket != NULL && o->datagram_socket[0] != '\0') {
		k->dgram = tlsrptd__dgram_new(k, base, o->datagram_socket,
					      o->socket_mode, o->socket_group,
					      o->rcvbuf, err);
		if (k->dgram == NULL)
			goto fail;
	}
	if (o->log_file != NULL && o->log_file[0] != '\0') {
		k->log = tlsrptd__logreader_new(k, base, o, err);
		if (k->log == NULL)
			goto fail;
	}
	return k;
fail:
	tlsrptd_collect_free(k);
	return NULL;
}

void
tlsrptd_collect_stats(const struct tlsrptd_collect *k,
		      struct tlsrptd_collect_stats *st)
{
	*st = k->st;
	if (k->log != NULL)
		st->log_unmatched = tlsrptd__logreader_unmatched(k->log);
}

bool
tlsrptd_collect_done(const struct tlsrptd_collect *k)
{
	return k->dgram == NULL &&
	       (k->log == NULL || tlsrptd__logreader_done(k->log));
}

void
tlsrptd_collect_free(struct tlsrptd_collect *k)
{
	if (k == NULL)
		return;
	/* Stop the receiver first: it hands over what it took in. */
	tlsrptd__dgram_free(k->dgram);
	k->dgram = NULL;
	/* A few tries: the store may be back in a moment. */
	for (int i = 0; i < 5; i++) {
		if (tlsrptd_collect_flush(k, NULL) == MTASTS_OK)
			break;
		sleep(1);
	}
	if (k->flush_ev != NULL)
		event_free(k->flush_ev);
	tlsrptd__logreader_free(k->log);
	mtasts__free(k);
}

/* ---- a collector process ------------------------------------------- */

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static void
on_done_check(evutil_socket_t fd, short what, void *arg)
{
	struct tlsrptd_collect *k = arg;

	(void)fd;
	(void)what;
	if (tlsrptd_collect_done(k))
		event_base_loopbreak(k->base);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: collect [--store URI] [--socket PATH] [--mode OCTAL]"
		" [--rcvbuf BYTES]\n"
		"               [--log FILE|-] [--follow] [--policy-store URI]"
		" [--plaintext]\n"
		"               [--flush-ms N] [--stats]\n");
}

int
tlsrptd_collect_main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"store", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'},
	    {"mode", required_argument, NULL, 'm'},
	    {"rcvbuf", required_argument, NULL, 'b'},
	    {"log", required_argument, NULL, 'l'},
	    {"follow", no_argument, NULL, 'f'},
	    {"policy-store", required_argument, NULL, 'p'},
	    {"plaintext", no_argument, NULL, 'P'},
	    {"flush-ms", required_argument, NULL, 'F'},
	    {"stats", no_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct tlsrptd_collect_options o;
	const char *store = NULL;
	bool stats = false;
	struct mtasts_error err;
	struct event_base *base;
	struct tlsrptd_counters *c;
	struct tlsrptd_collect *k;
	struct event *sigterm, *sigint, *check;
	struct timeval tv = {0, 100000};
	struct tlsrptd_collect_stats st;
	int ch, rc = 0;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			store = optarg;
			break;
		case 'S':
			o.datagram_socket = optarg;
			break;
		case 'm':
			o.socket_mode = (unsigned)strtoul(optarg, NULL, 8);
			break;
		case 'b':
			o.rcvbuf = (int)strtol(optarg, NULL, 10);
			break;
		case 'l':
			o.log_file = optarg;
			break;
		case 'f':
			o.log_follow = true;
			break;
		case 'p':
			o.policy_store = optarg;
			break;
		case 'P':
			o.count_plaintext = true;
			break;
		case 'F':
			o.flush_interval_ms =
			    (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'x':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((o.datagram_socket == NULL || o.datagram_socket[0] == '\0') &&
	    (o.log_file == NULL || o.log_file[0] == '\0'))
		o.datagram_socket = TLSRPTD_DEFAULT_SOCKET;
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL)
		return 1;
	c = tlsrptd_counters_open(store, &err);
	if (c == NULL) {
		fprintf(stderr, "collect: %s\n", err.msg);
		event_base_free(base);
		return 1;
	}
	k = tlsrptd_collect_new(base, c, &o, &err);
	if (k == NULL) {
		fprintf(stderr, "collect: %s\n", err.msg);
		tlsrptd_counters_close(c);
		event_base_free(base);
		return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	check = event_new(base, -1, EV_PERSIST, on_done_check, k);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(check, &tv);
	if (event_base_dispatch(base) < 0)
		rc = 1;
	tlsrptd_collect_stats(k, &st);
	tlsrptd_collect_free(k);
	st.flushes++;
	if (stats)
		printf("datagrams=%" PRIu64 " datagrams_rejected=%" PRIu64
		       " log_lines=%" PRIu64 " log_rejected=%" PRIu64
		       " sessions=%" PRIu64 " overflow=%" PRIu64
		       " flush_failures=%" PRIu64 " log_unmatched=%" PRIu64
		       "\n",
		       st.datagrams, st.datagrams_rejected, st.log_lines,
		       st.log_rejected, st.sessions, st.overflow,
		       st.flush_failures, st.log_unmatched);
	event_free(sigterm);
	event_free(sigint);
	event_free(check);
	tlsrptd_counters_close(c);
	event_base_free(base);
	return rc;
}
