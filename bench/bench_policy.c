/* SPDX-License-Identifier: MIT */
/*
 * bench_policy.c: throughput of the policy file parser.
 *
 * Usage: bench_policy [N [M]]
 *   N  parses of the RFC 8461 example policy (default 2000000)
 *   M  parses of a generated, valid 64 KiB policy made of mx lines
 *      (default 2000)
 * Prints parses per second and the mean time per parse for each input.
 * Single-threaded; run it on a Release build (-DCMAKE_BUILD_TYPE=Release).
 * Not part of "check".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/policy.h"

static const char rfc_policy[] = "version: STSv1\n"
				 "mode: enforce\n"
				 "mx: mail.example.com\n"
				 "mx: *.example.net\n"
				 "mx: backupmx.example.com\n"
				 "max_age: 604800\n";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long
parse_arg(const char *s, unsigned long def)
{
	char *end;
	unsigned long v;

	if (s == NULL)
		return def;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0) {
		fprintf(stderr, "usage: bench_policy [N [M]]\n");
		exit(2);
	}
	return v;
}

/* Time n parses of body; returns seconds, exits on a parse failure. */
static double
run(const char *body, size_t len, unsigned long n, size_t *nmx)
{
	double t0, t1;
	unsigned long i;

	t0 = now();
	for (i = 0; i < n; i++) {
		struct mtasts_policy *p;

		if (mtasts_policy_parse(body, len, &p, NULL, NULL) !=
		    MTASTS_OK) {
			fprintf(stderr, "bench_policy: parse failed\n");
			exit(1);
		}
		*nmx = mtasts_policy_mx_count(p);
		mtasts_policy_free(p);
	}
	t1 = now();
	return t1 - t0;
}

int
main(int argc, char **argv)
{
	unsigned long n = parse_arg(argc > 1 ? argv[1] : NULL, 2000000);
	unsigned long m = parse_arg(argc > 2 ? argv[2] : NULL, 2000);
	char *big;
	size_t len, nmx = 0, lines = 0;
	double secs;

	secs = run(rfc_policy, sizeof(rfc_policy) - 1, n, &nmx);
	printf("rfc-example (%zu bytes, %zu mx): %lu parses in %.3f s = "
	       "%.0f parses/s, %.0f ns/parse\n",
	    sizeof(rfc_policy) - 1, nmx, n, secs, (double)n / secs,
	    secs * 1e9 / (double)n);

	big = malloc(MTASTS_POLICY_BODY_MAX);
	if (big == NULL)
		return 1;
	len = (size_t)snprintf(big, MTASTS_POLICY_BODY_MAX,
	    "version: STSv1\nmode: enforce\nmax_age: 604800\n");
	for (;;) {
		char line[64];
		int k = snprintf(line, sizeof(line),
		    "mx: mx%05zu.mail-%zu.example.com\n", lines, lines % 7);

		if (len + (size_t)k > MTASTS_POLICY_BODY_MAX)
			break;
		memcpy(big + len, line, (size_t)k);
		len += (size_t)k;
		lines++;
	}
	while (len < MTASTS_POLICY_BODY_MAX)
		big[len++] = '\n';	/* trailing line ends are tolerated */
	secs = run(big, len, m, &nmx);
	printf("64KiB policy (%zu bytes, %zu mx lines, %zu kept): %lu parses "
	       "in %.3f s = %.0f parses/s, %.1f us/parse\n",
	    len, lines, nmx, m, secs, (double)m / secs,
	    secs * 1e6 / (double)m);
	free(big);
	return 0;
}
