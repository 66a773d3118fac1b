/* SPDX-License-Identifier: MIT */
/*
 * bench_tlsrpt_reports.c: build every report of one day from the
 * counter store: N policy domains (default 10,000) and M sessions
 * (default 10,000,000) loaded through the collector's API
 * (tlsrptd_counters_add/flush), then, timed on its own, each domain's
 * report is read from the store, rendered to RFC 8460 JSON and
 * gzipped (what a send pass does before delivery). Target: under 30 s
 * and under 200 MB peak RSS for the build.
 *
 *   bench_tlsrpt_reports [-d DOMAINS] [-s SESSIONS] [-u STORE-URI]
 *
 * Prints the load time, the build time, reports/s, bytes of JSON and
 * gzip, and the peak RSS (getrusage) after each phase.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/tlsrpt_report.h"
/* The reporter's sources are compiled in (see test_tlsrptd_send.c). */
#include "tlsrptd_counters.h"
#include "tlsrptd_sched.h"
#include "tlsrptd_build.h"

#define DAY0 20413	/* 2025-11-21 */


static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct dom_names {
	char **v;
	size_t n;
};

static int
collect_domain(const struct tlsrptd_domain_total *t, void *arg)
{
	struct dom_names *d = arg;

	d->v[d->n++] = strdup(t->domain);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const sts[] = {"version: STSv1", "mode: enforce",
	    "mx: *.mx.example", "max_age: 604800"};
	static const char *const mx[] = {"*.mx.example"};
	static const enum mtasts_tlsrpt_result fails[] = {
	    MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED,
	    MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED,
	    MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH,
	    MTASTS_TLSRPT_R_VALIDATION_FAILURE};
	unsigned long domains = 10000, sessions = 10000000, i;
	char uri[300] = "", path[256] = "";
	char **names, (*mxhost)[64];
	struct tlsrptd_counters *c;
	struct mtasts_error err;
	struct tlsrptd_identity id = {"Bench Org", "tlsrpt@sender.example",
	    "sender.example", "192.0.2.1", 0};
	struct dom_names dn;
	double t0, t_load, t_build;
	unsigned long long json_bytes = 0, gz_bytes = 0, reports = 0;
	long rss_load;
	int ch;

	while ((ch = getopt(argc, argv, "d:s:u:")) != -1) {
		switch (ch) {
		case 'd': domains = strtoul(optarg, NULL, 10); break;
		case 's': sessions = strtoul(optarg, NULL, 10); break;
		case 'u': snprintf(uri, sizeof(uri), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: bench_tlsrpt_reports [-d N] "
			    "[-s N] [-u URI]\n");
			return 2;
		}
	}
	if (domains == 0)
		domains = 1;
	if (uri[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/bench_tlsrpt_reports.%d.db",
		    (int)getpid());
		snprintf(uri, sizeof(uri), "sqlite:%s", path);
	}
	names = calloc(domains, sizeof(*names));
	mxhost = calloc(domains, sizeof(*mxhost));
	for (i = 0; i < domains; i++) {
		char b[64];

		snprintf(b, sizeof(b), "d%05lu.example", i);
		names[i] = strdup(b);
		snprintf(mxhost[i], sizeof(mxhost[i]), "mx%lu.mx.example",
		    i % 7);
	}
	mtasts_error_clear(&err);
	c = tlsrptd_counters_open(uri, &err);
	if (c == NULL) {
		fprintf(stderr, "store: %s\n", err.msg);
		return 1;
	}
	/* load: every domain gets sessions round-robin; 1 in 50 fails,
	 * spread over 4 result types and 4 sending IPs; 1 domain in 5 has
	 * no policy */
	t0 = now_s();
	for (i = 0; i < sessions; i++) {
		unsigned long d = i % domains, k = i / domains;
		static const char *const ips[] = {"192.0.2.1", "192.0.2.2",
		    "2001:db8::1", "2001:db8::2"};
		struct mtasts_tlsrpt_session s;
		int rc;

		memset(&s, 0, sizeof(s));
		s.time = (int64_t)DAY0 * 86400 + (int64_t)(k % 86400);
		s.policy_domain = names[d];
		if (d % 5 == 4) {
			s.policy_type = MTASTS_TLSRPT_POLICY_NONE;
		} else {
			s.policy_type = MTASTS_TLSRPT_POLICY_STS;
			s.policy_strings = sts;
			s.policy_string_count = 4;
			s.mx_patterns = mx;
			s.mx_pattern_count = 1;
		}
		s.success = (k % 50) != 7;
		s.result = fails[k % 4];
		s.sending_mta_ip = ips[(k / 4) % 4];
		s.receiving_mx_hostname = mxhost[d];
		s.receiving_ip = "198.51.100.25";
		rc = tlsrptd_counters_add(c, &s, 1, NULL, &err);
		if (rc == MTASTS_ETOOBIG) {
			if (tlsrptd_counters_flush(c, &err) != 0)
				break;
			rc = tlsrptd_counters_add(c, &s, 1, NULL, &err);
		}
		if (rc != MTASTS_OK) {
			fprintf(stderr, "add: %s\n", err.msg);
			return 1;
		}
	}
	if (tlsrptd_counters_flush(c, &err) != 0) {
		fprintf(stderr, "flush: %s\n", err.msg);
		return 1;
	}
	t_load = now_s() - t0;
	rss_load = peak_rss_kb();
	for (i = 0; i < domains; i++)
		free(names[i]);
	free(names);
	free(mxhost);
	tlsrptd_counters_close(c);

	/* build, on a fresh handle (as the send pass, a new process) */
	c = tlsrptd_counters_open(uri, &err);
	t0 = now_s();
	dn.v = calloc(domains, sizeof(*dn.v));
	dn.n = 0;
	if (tlsrptd_counters_list_domains(c, DAY0, collect_domain, &dn,
	    &err) != 0) {
		fprintf(stderr, "list: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < dn.n; i++) {
		struct mtasts_tlsrpt_report *rep;
		char rid[TLSRPTD_REPORT_ID_MAX];
		char *json;
		size_t len;

		tlsrptd_report_id(DAY0, dn.v[i], id.submitter, rid,
		    sizeof(rid));
		if (tlsrptd_build_report(c, &id, DAY0, dn.v[i], rid, &rep,
		    &err) != 0 ||
		    mtasts_tlsrpt_report_to_json(rep, 0, &json, &len, &err) !=
		    0) {
			fprintf(stderr, "build %s: %s\n", dn.v[i], err.msg);
			return 1;
		}
		json_bytes += len;
		{
			unsigned char *gz;
			size_t gzlen;

			/* fails (EINTERNAL) when zlib is not linked */
			if (mtasts_tlsrpt_gzip(json, len, rep->start, &gz,
			    &gzlen, &err) == MTASTS_OK) {
				gz_bytes += gzlen;
				mtasts_free(gz);
			}
		}
		mtasts_free(json);
		mtasts_tlsrpt_report_free(rep);
		free(dn.v[i]);
		reports++;
	}
	t_build = now_s() - t0;
	free(dn.v);
	tlsrptd_counters_close(c);
	printf("domains=%lu sessions=%lu store=%s\n", domains, sessions,
	    uri);
	printf("load: %.2f s (%.0f sessions/s), peak RSS %ld MB\n", t_load,
	    sessions / (t_load > 0 ? t_load : 1), rss_load / 1024);
	printf("build: %llu reports in %.2f s (%.0f reports/s), JSON %llu "
	    "bytes, gzip %llu bytes%s\n", reports, t_build,
	    reports / (t_build > 0 ? t_build : 1), json_bytes, gz_bytes,
	    gz_bytes ? "" : " (no gzip: this binary has no zlib)");
	printf("peak RSS after build: %ld MB\n", peak_rss_kb() / 1024);
	if (path[0] != '\0') {
		char p[300];

		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	return 0;
}
