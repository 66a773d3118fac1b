/* SPDX-License-Identifier: MIT */
/*
 * fuzz_postfix_log.c: libFuzzer target for the Postfix log reader. The
 * input is split into lines, each classified on its own and fed to one
 * correlator; every emitted session must be well formed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts/postfix_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static const char *const pstrings[] = {"version: STSv1", "mode: enforce",
				       "mx: *.example.net", "max_age: 86400"};
static const char *const mx[] = {"*.example.net"};

static int
policy(void *arg, const char *domain, struct mtasts_postfix_log_policy *out)
{
	(void)arg;
	check(domain != NULL && strlen(domain) <= 253);
	if (domain[0] < 'n') {
		out->type = MTASTS_TLSRPT_POLICY_STS;
		out->strings = pstrings;
		out->string_count = 4;
		out->mx_patterns = mx;
		out->mx_pattern_count = 1;
		return 0;
	}
	return 1;
}

static void
session(void *arg, const struct mtasts_tlsrpt_session *s)
{
	(void)arg;
	check(s->policy_domain != NULL && s->report_domain != NULL);
	if (!s->success) {
		check(mtasts_tlsrpt_result_name(s->result) != NULL);
		if (s->receiving_mx_hostname != NULL)
			check(strlen(s->receiving_mx_hostname) <= 253);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_postfix_log *p;
	struct mtasts_postfix_log_options opt = {.count_plaintext = true};
	const char *s = (const char *)data;
	size_t start = 0;

	p = mtasts_postfix_log_new(&opt, policy, session, NULL);
	if (p == NULL)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || s[i] == '\n') {
			struct mtasts_postfix_log_line l;
			int rc = mtasts_postfix_log_parse_line(
			    s + start, i - start, 1763700000, &l);

			check(rc == MTASTS_OK || rc == MTASTS_ETOOBIG ||
			      rc == MTASTS_ESYNTAX);
			check(strlen(l.host) < sizeof(l.host));
			mtasts_postfix_log_feed(p, s + start, i - start,
						1763700000);
			start = i + 1;
		}
	}
	mtasts_postfix_log_free(p);
	return 0;
}
