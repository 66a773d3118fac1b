/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy.c: libFuzzer entry for the policy file parser. Parses the
 * input, checks the invariants of the result and of the diagnostics,
 * walks every accessor, and feeds the mx patterns back into the matcher.
 * Seeds: tests/data/policy/.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts/mx.h"
#include "mtasts/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void
check_diags(const struct mtasts_diags *d)
{
	size_t i;

	check(d->count <= MTASTS_DIAGS_MAX);
	check(d->errors + d->warnings == d->count + d->dropped);
	for (i = 0; i < d->count; i++) {
		check(strlen(d->item[i].msg) < MTASTS_DIAG_MSG_MAX);
		check(d->item[i].msg[0] != '\0');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy *p = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	size_t i, n;
	int rc;

	mtasts_diags_init(&d);
	rc = mtasts_policy_parse((const char *)data, size, &p, &d, &err);
	check_diags(&d);
	if (rc != MTASTS_OK) {
		check(p == NULL);
		check(err.code == rc);
		check(rc != MTASTS_ESYNTAX || d.errors > 0);
		return 0;
	}
	check(p != NULL);
	check(d.errors == 0);
	check(mtasts_policy_max_age(p) <= MTASTS_MAX_AGE_LIMIT);
	check(mtasts_policy_max_age_raw(p) <= 9999999999ull);
	check(mtasts_policy_mode(p) != MTASTS_MODE_NONE ||
	    strcmp(mtasts_mode_name(mtasts_policy_mode(p)), "none") == 0);
	n = mtasts_policy_mx_count(p);
	check(n <= MTASTS_POLICY_MX_MAX);
	check(n > 0 || mtasts_policy_mode(p) == MTASTS_MODE_NONE);
	for (i = 0; i < n; i++) {
		const char *mx = mtasts_policy_mx(p, i);

		check(mx != NULL);
		check(mtasts_domain_valid(mx, strlen(mx), true, NULL));
		if (mx[0] != '*')
			check(mtasts_policy_match_mx(p, mx));
		else
			check(!mtasts_mx_match(mx, mx + 2));
	}
	check(mtasts_policy_mx(p, n) == NULL);
	n = mtasts_policy_ext_count(p);
	check(n <= MTASTS_POLICY_EXT_MAX);
	for (i = 0; i < n; i++) {
		const char *k, *v;

		check(mtasts_policy_ext(p, i, &k, &v));
		check(k[0] != '\0' && v[0] != '\0');
	}
	n = mtasts_policy_line_count(p);
	check(n >= 3);
	for (i = 0; i < n; i++) {
		const char *l = mtasts_policy_line(p, i);

		check(strchr(l, '\n') == NULL && strchr(l, '\r') == NULL);
	}
	(void)mtasts_policy_match_mx(p, "mail.example.com.");
	mtasts_policy_free(p);
	return 0;
}
