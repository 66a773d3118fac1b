/* SPDX-License-Identifier: MIT */
/*
 * bench_cache.c: memory per cached policy in mtastsd's in-memory cache.
 *
 * usage: bench_cache [N...]   (default: 100000 1000000)
 *
 * For each N, a child process inserts N entries shaped like what the
 * engine caches for a typical enforce policy (domain, 14-character id,
 * two mx patterns, the ~100-byte policy text kept for policy_string),
 * then reports the growth of its resident set size divided by N, and
 * the lookup rate over the filled table. Bounded: N <= 5,000,000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtastsd_cache.h"

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run(long n)
{
	struct mtastsd_cache *c = mtastsd_cache_new((size_t)n);
	struct mtastsd_entry_init in;
	struct mtastsd_entry *e;
	char domain[64], match[160], body[300];
	long before, after, i, found = 0;
	double t0, t1;

	if (c == NULL)
		return 1;
	before = rss_kib();
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(domain, sizeof(domain), "d%07ld.example.com", i);
		snprintf(match, sizeof(match),
		    "mx1.d%07ld.example.com:.mx.d%07ld.example.com", i, i);
		snprintf(body, sizeof(body),
		    "version: STSv1\r\nmode: enforce\r\n"
		    "mx: mx1.d%07ld.example.com\r\n"
		    "mx: *.mx.d%07ld.example.com\r\nmax_age: 604800\r\n",
		    i, i);
		memset(&in, 0, sizeof(in));
		in.domain = domain;
		in.id = "20240101T00000";
		in.match = match;
		in.body = body;
		in.body_len = strlen(body);
		e = mtastsd_entry_new(&in);
		if (e == NULL)
			return 1;
		e->flags |= MTASTSD_ENTRY_POLICY;
		e->mode = 2;
		e->fetched_at = 1700000000;
		e->expires_at = 1700604800;
		e->checked_at = 1700000000;
		mtastsd_cache_put(c, e);
	}
	t1 = now_s();
	after = rss_kib();
	printf("entries=%ld rss_growth_kib=%ld bytes_per_entry=%.0f "
	       "insert_per_s=%.0f",
	    n, after - before, (double)(after - before) * 1024.0 / (double)n,
	    (double)n / (t1 - t0));
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(domain, sizeof(domain), "d%07ld.example.com",
		    (i * 7919) % n);
		if (mtastsd_cache_find(c, domain, strlen(domain)) != NULL)
			found++;
	}
	t1 = now_s();
	printf(" lookups_per_s=%.0f found=%ld\n", (double)n / (t1 - t0),
	    found);
	mtastsd_cache_free(c);
	fflush(stdout);
	return found == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const char *const def[] = {"100000", "1000000"};
	const char *const *ns = argc > 1 ? (const char *const *)argv + 1 : def;
	int count = argc > 1 ? argc - 1 : 2, i, st, rc = 0;
	long n;
	pid_t pid;

	for (i = 0; i < count; i++) {
		n = strtol(ns[i], NULL, 10);
		if (n <= 0 || n > 5000000) {
			fprintf(stderr, "bench_cache: N must be 1..5000000\n");
			return 2;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(run(n));
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = 1;
	}
	return rc;
}
