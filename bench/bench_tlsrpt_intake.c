/* SPDX-License-Identifier: MIT */
/*
 * bench_tlsrpt_intake.c: TLS-RPT collection tools for the benchmarks and
 * the integration test (bench/tlsrpt_intake.sh,
 * tests/integration/tlsrpt_collect.sh):
 *
 *   collect ARGS...            a collector process (tlsrptd_collect_main)
 *   send --socket P --file F [--count N] [--rate R] [--procs N]
 *        [--distinct yes]
 *                              replay the datagrams of F (one per line)
 *                              round robin without blocking, like
 *                              libtlsrpt; prints sent, lost (EAGAIN) and
 *                              the sessions they carry
 *   slowrecv --socket P --delay-us D --seconds S
 *                              a reader that takes D microseconds per
 *                              datagram with the default receive buffer
 *                              (the reference behaviour in interop.md)
 *   genlog --out F --bytes N   a Postfix 3.7 log of about N bytes
 *   count --store URI          total sessions counted and rejects
 *
 * The collector sources are compiled in so this links whether or not the
 * build links tlsrptd_core into benchmarks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/tlsrpt_datagram.h"
#include "tlsrptd_collect.h"
#include "tlsrptd_counters.h"

static const char *
arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmd_send(int argc, char **argv)
{
	const char *path = arg(argc, argv, "--socket", NULL);
	const char *file = arg(argc, argv, "--file", NULL);
	uint64_t count = strtoull(arg(argc, argv, "--count", "0"), NULL, 10);
	double rate = strtod(arg(argc, argv, "--rate", "0"), NULL);
	bool distinct = strcmp(arg(argc, argv, "--distinct", "no"), "yes") == 0;
	char *lines[64];
	size_t lens[64], sess[64], n = 0;
	char buf[65536];
	struct sockaddr_un sa;
	FILE *f;
	int fd;
	uint64_t sent = 0, lost = 0, sessions = 0, sessions_lost = 0;
	double t0, t1;

	if (path == NULL || file == NULL)
		return 2;
	f = fopen(file, "r");
	if (f == NULL) {
		perror(file);
		return 1;
	}
	while (n < 64 && fgets(buf, sizeof(buf), f) != NULL) {
		struct mtasts_tlsrpt_datagram *d;
		const struct mtasts_tlsrpt_session *s;
		size_t k;

		lens[n] = strcspn(buf, "\n");
		buf[lens[n]] = '\0';
		if (lens[n] == 0)
			continue;
		lines[n] = strdup(buf);
		sess[n] = 0;
		if (mtasts_tlsrpt_datagram_parse(buf, lens[n], 0, &d, NULL,
						 NULL) == MTASTS_OK) {
			k = mtasts_tlsrpt_datagram_sessions(d, &s);
			for (size_t i = 0; i < k; i++)
				sess[n] += !s[i].detail_only;
			mtasts_tlsrpt_datagram_free(d);
		}
		n++;
	}
	fclose(f);
	if (n == 0)
		return 1;
	if (count == 0)
		count = n;
	/* --procs N: N sender processes (Postfix runs many smtp(8)
	 * processes, each with its own socket and send buffer), each with
	 * its share of count and rate; each prints its own line. */
	{
		long procs = strtol(arg(argc, argv, "--procs", "1"), NULL, 10);

		if (procs > 1 && procs <= 64) {
			for (long p = 0; p < procs; p++) {
				pid_t pid = fork();

				if (pid == 0) {
					count /= (uint64_t)procs;
					rate /= (double)procs;
					goto child;
				}
			}
			while (wait(NULL) > 0)
				;
			return 0;
		}
	}
child:
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	t0 = now_s();
	for (uint64_t i = 0; i < count; i++) {
		size_t j = i % n;

		/* Pace without spinning: send what is due, then nap. */
		while (rate > 0 && (double)i > (now_s() - t0) * rate) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
		const char *msg = lines[j];
		size_t mlen = lens[j];

		if (distinct) {
			/* an unknown key makes every datagram unique (the
			 * parser ignores it): no parse can be reused */
			int k = snprintf(buf, sizeof(buf), "{\"x\":%" PRIu64
				 ",%s", i, lines[j] + 1);
			msg = buf;
			mlen = (size_t)k;
		}
		if (sendto(fd, msg, mlen, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) == (ssize_t)mlen) {
			sent++;
			sessions += sess[j];
		} else {
			lost++;
			sessions_lost += sess[j];
		}
	}
	t1 = now_s();
	printf("sent=%" PRIu64 " lost=%" PRIu64 " sessions=%" PRIu64
	       " sessions_lost=%" PRIu64 " seconds=%.3f rate=%.0f/s\n",
	       sent, lost, sessions, sessions_lost, t1 - t0,
	       (double)(sent + lost) / (t1 - t0));
	fflush(stdout);
	close(fd);
	for (size_t j = 0; j < n; j++)
		free(lines[j]);
	return 0;
}

static int
cmd_slowrecv(int argc, char **argv)
{
	const char *path = arg(argc, argv, "--socket", NULL);
	long delay = strtol(arg(argc, argv, "--delay-us", "100"), NULL, 10);
	double secs = strtod(arg(argc, argv, "--seconds", "10"), NULL);
	struct sockaddr_un sa;
	struct timeval tv = {0, 200000};
	char buf[65536];
	uint64_t got = 0;
	double end;
	int fd;

	if (path == NULL)
		return 2;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	end = now_s() + secs;
	while (now_s() < end) {
		if (recv(fd, buf, sizeof(buf), 0) > 0) {
			struct timespec ts = {0, delay * 1000};
			got++;
			nanosleep(&ts, NULL);
		}
	}
	printf("received=%" PRIu64 "\n", got);
	close(fd);
	unlink(path);
	return 0;
}

static int
cmd_genlog(int argc, char **argv)
{
	const char *out = arg(argc, argv, "--out", NULL);
	uint64_t bytes =
	    strtoull(arg(argc, argv, "--bytes", "1000000"), NULL, 10);
	uint64_t written = 0, i = 0;
	FILE *f;

	if (out == NULL)
		return 2;
	f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
	if (f == NULL)
		return 1;
	while (written < bytes) {
		/* blocks of 8 lines: a verified session and its delivery, a
		 * queue manager line, an expired certificate and its
		 * deferral, an smtpd line, a "not offered" deferral, and a
		 * queue removal */
		uint64_t blk = i / 8;
		unsigned pid = 1000 + (unsigned)(blk % 50);
		unsigned d = (unsigned)(blk % 997), ip = d % 250 + 1;
		unsigned h = (unsigned)(blk / 3600 % 24),
			 m = (unsigned)(blk / 60 % 60),
			 s = (unsigned)(blk % 60);
		int r;

		switch (i % 8) {
		case 0:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/smtp[%u]:"
			    " Verified TLS connection established to "
			    "mx1.d%u.example[192.0.2.%u]:25: TLSv1.3 "
			    "with cipher TLS_AES_256_GCM_SHA384 "
			    "(256/256 bits) key-exchange X25519 "
			    "server-signature RSA-PSS (2048 bits) "
			    "server-digest SHA256\n",
			    h, m, s, pid, d, ip);
			break;
		case 1:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/smtp[%u]:"
			    " 4Q%08" PRIx64 "X: to=<user%" PRIu64
			    "@d%u.example>, relay=mx1.d%u.example"
			    "[192.0.2.%u]:25, delay=0.61, delays=0.08/"
			    "0.01/0.35/0.17, dsn=2.0.0, status=sent "
			    "(250 2.0.0 Ok: queued as 4Qx1Zl0abcz1)\n",
			    h, m, s, pid, blk, blk, d, d, ip);
			break;
		case 2:
		case 7:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/qmgr[900]"
			    ": 4Q%08" PRIx64 "X: from=<sender@mta1."
			    "example>, size=%u, nrcpt=1 (queue active)"
			    "\n",
			    h, m, s, blk, 1000 + d);
			break;
		case 3:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/smtp[%u]:"
			    " server certificate verification failed "
			    "for mx2.d%u.example[192.0.2.%u]:25: "
			    "num=10:certificate has expired\n",
			    h, m, s, pid + 100, d, ip);
			break;
		case 4:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/smtp[%u]:"
			    " 6C%08" PRIx64 "Z: to=<v%" PRIu64
			    "@d%u.example>, relay=mx2.d%u.example"
			    "[192.0.2.%u]:25, delay=0.3, delays=0.01/0/"
			    "0.29/0, dsn=4.7.5, status=deferred (Server "
			    "certificate not verified)\n",
			    h, m, s, pid + 100, blk, blk, d, d, ip);
			break;
		case 5:
			r = fprintf(f,
				    "Nov 21 %02u:%02u:%02u mta1 postfix/smtpd"
				    "[2%u]: connect from unknown[198.51.100.%u]"
				    "\n",
				    h, m, s, pid, ip);
			break;
		default:
			r = fprintf(
			    f,
			    "Nov 21 %02u:%02u:%02u mta1 postfix/smtp[%u]:"
			    " 5B%08" PRIx64 "Y: to=<u%" PRIu64 "@n%u.example>"
			    ", relay=mx.n%u.example[198.51.100.%u]:25, "
			    "delay=0.2, delays=0.01/0/0.19/0, dsn=4.7.4, "
			    "status=deferred (TLS is required, but was "
			    "not offered by host mx.n%u.example"
			    "[198.51.100.%u])\n",
			    h, m, s, pid + 200, blk, blk, d, d, ip, d, ip);
			break;
		}
		if (r < 0)
			return 1;
		written += (uint64_t)r;
		i++;
	}
	if (f != stdout)
		fclose(f);
	fprintf(stderr, "lines=%" PRIu64 " bytes=%" PRIu64 "\n", i, written);
	return 0;
}

struct totals {
	struct tlsrptd_counters *c;
	uint64_t success, failure, domains;
};

static int
sum_domain(const struct tlsrptd_domain_total *t, void *arg)
{
	struct totals *x = arg;

	x->success += t->success;
	x->failure += t->failure;
	x->domains++;
	return 0;
}

static int
sum_day(int64_t day, bool closed, void *arg)
{
	struct totals *x = arg;

	(void)closed;
	return tlsrptd_counters_list_domains(x->c, day, sum_domain, x, NULL);
}

static int
print_reject(const char *source, const char *reason, uint64_t n, void *arg)
{
	(void)arg;
	printf("reject %s/%s=%" PRIu64 "\n", source, reason, n);
	return 0;
}

static int
cmd_count(int argc, char **argv)
{
	struct mtasts_error err;
	struct totals x;

	memset(&x, 0, sizeof(x));
	x.c = tlsrptd_counters_open(arg(argc, argv, "--store", NULL), &err);
	if (x.c == NULL) {
		fprintf(stderr, "count: %s\n", err.msg);
		return 1;
	}
	if (tlsrptd_counters_list_days(x.c, sum_day, &x, &err) != MTASTS_OK) {
		fprintf(stderr, "count: %s\n", err.msg);
		return 1;
	}
	printf("sessions=%" PRIu64 " success=%" PRIu64 " failure=%" PRIu64
	       " domains=%" PRIu64 "\n",
	       x.success + x.failure, x.success, x.failure, x.domains);
	tlsrptd_counters_list_rejects(x.c, print_reject, NULL, NULL);
	tlsrptd_counters_close(x.c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: %s collect|send|slowrecv|genlog|count"
			" ...\n",
			argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "collect") == 0)
		return tlsrptd_collect_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (strcmp(argv[1], "slowrecv") == 0)
		return cmd_slowrecv(argc - 1, argv + 1);
	if (strcmp(argv[1], "genlog") == 0)
		return cmd_genlog(argc - 1, argv + 1);
	if (strcmp(argv[1], "count") == 0)
		return cmd_count(argc - 1, argv + 1);
	fprintf(stderr, "unknown command %s\n", argv[1]);
	return 2;
}
