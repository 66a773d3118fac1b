/* SPDX-License-Identifier: MIT */
/*
 * test_resolver.c: the DNS resolver's API without real DNS: option
 * defaults, "IP[@PORT]" forwarder syntax, argument checks, cancel and
 * free with lookups pending (no callback may run), and that an idle
 * resolver does not keep the event loop running. Queries only ever go to
 * a closed loopback port and are dropped before any answer. Answers from
 * a real server are exercised against the lab by
 * tests/integration/lab_scenarios.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "mtasts/resolver.h"

#define DEAD_FORWARDER "127.0.0.1@1"

static unsigned calls;

static void
count_cb(void *arg, const struct mtasts_dns_answer *ans)
{
	(void)arg;
	(void)ans;
	calls++;
}

static void
test_defaults(void **state)
{
	struct mtasts_resolver_options o;

	(void)state;
	mtasts_resolver_options_init(&o);
	assert_null(o.forward);
	assert_int_equal(o.timeout_ms, 5000);
	assert_int_equal(o.max_records, MTASTS_DNS_MAX_RECORDS);
	assert_string_equal(mtasts_dns_type_name(MTASTS_DNS_TXT), "TXT");
	assert_string_equal(mtasts_dns_type_name(MTASTS_DNS_ADDR), "A/AAAA");
	assert_string_equal(mtasts_dns_type_name(MTASTS_DNS_MX), "MX");
}

static void
test_forward_syntax(void **state)
{
	static const struct {
		const char *in;
		int code;
	} v[] = {
	    {"127.0.0.1", 0}, {"127.0.0.1@53", 0}, {"127.0.0.1@65535", 0},
	    {"::1", 0}, {"::1@5353", 0}, {"2001:db8::1@53", 0},
	    {"", -2}, {"@53", -2}, {"127.0.0.1@", -2}, {"127.0.0.1@0", -2},
	    {"127.0.0.1@65536", -2}, {"127.0.0.1@5x", -2}, {"127.0.0.1@-1", -2},
	    {"127.0.0.1:53", -2}, {"localhost", -2}, {"300.1.1.1", -2},
	    {"[::1]@53", -2}, {"127.0.0.1@53@53", -2},
	};
	struct mtasts_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = mtasts_resolver_forward_check(v[i].in, &err);

		if (rc != v[i].code)
			fail_msg("\"%s\": got %d", v[i].in, rc);
	}
	assert_int_equal(mtasts_resolver_forward_check(NULL, &err),
	    MTASTS_EINVAL);
}

static void
test_new_and_arguments(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_resolver_options o;
	struct mtasts_resolver *r = NULL;
	struct mtasts_dns_query *q = (struct mtasts_dns_query *)1;
	struct mtasts_error err;
	char longname[300];

	(void)state;
	mtasts_resolver_options_init(&o);
	o.forward = "nonsense";
	assert_int_equal(mtasts_resolver_new(base, &o, &r, &err),
	    MTASTS_EINVAL);
	assert_null(r);
	assert_int_equal(mtasts_resolver_new(NULL, NULL, &r, &err),
	    MTASTS_EINVAL);
	o.forward = DEAD_FORWARDER;
	assert_int_equal(mtasts_resolver_new(base, &o, &r, &err), MTASTS_OK);
	/* Idle: the loop has nothing to wait for. */
	assert_int_equal(event_base_dispatch(base), 1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mtasts_resolver_lookup(r, MTASTS_DNS_TXT, longname,
	    count_cb, NULL, &q, &err), MTASTS_EINVAL);
	assert_null(q);
	assert_int_equal(mtasts_resolver_lookup(r, MTASTS_DNS_TXT, "", count_cb,
	    NULL, &q, &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_resolver_lookup(r, MTASTS_DNS_TXT, ".",
	    count_cb, NULL, &q, &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_resolver_lookup(r, MTASTS_DNS_TXT, "a.test",
	    NULL, NULL, &q, &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_resolver_lookup(r, (enum mtasts_dns_type)7,
	    "a.test", count_cb, NULL, &q, &err), MTASTS_EINVAL);
	mtasts_resolver_free(r);
	mtasts_resolver_free(NULL);
	event_base_free(base);
}

/* Cancel some lookups, free the resolver with the rest pending. */
static void
test_cancel_and_free(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_resolver_options o;
	struct mtasts_resolver *r;
	struct mtasts_dns_query *q[12];
	struct mtasts_error err;

	(void)state;
	mtasts_resolver_options_init(&o);
	o.forward = DEAD_FORWARDER;
	assert_int_equal(mtasts_resolver_new(base, &o, &r, &err), MTASTS_OK);
	calls = 0;
	for (int i = 0; i < 12; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%d.test.", i);
		assert_int_equal(mtasts_resolver_lookup(r,
		    (enum mtasts_dns_type)(i % 3), name, count_cb, NULL, &q[i],
		    &err), MTASTS_OK);
		assert_non_null(q[i]);
	}
	for (int i = 0; i < 12; i += 2)
		mtasts_resolver_cancel(r, q[i]);
	mtasts_resolver_free(r);
	event_base_dispatch(base);
	assert_int_equal(calls, 0);
	event_base_free(base);
}

/* The ops table reaches the same implementation. */
static void
test_ops_table(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_resolver_options o;
	struct mtasts_resolver *r;
	struct mtasts_dns_query *q;
	struct mtasts_error err;

	(void)state;
	mtasts_resolver_options_init(&o);
	o.forward = DEAD_FORWARDER;
	assert_int_equal(mtasts_resolver_new(base, &o, &r, &err), MTASTS_OK);
	calls = 0;
	assert_int_equal(mtasts_resolver_dns_ops.lookup(r, MTASTS_DNS_ADDR,
	    "x.test", count_cb, NULL, &q, &err), MTASTS_OK);
	mtasts_resolver_dns_ops.cancel(r, q);
	/* Nothing pending any more: the loop returns at once. */
	assert_int_equal(event_base_dispatch(base), 1);
	mtasts_resolver_free(r);
	assert_int_equal(calls, 0);
	event_base_free(base);
}

/* Above max_queries lookups wait; each still ends exactly once, here by
 * our own timeout (nothing answers on the dead port), and the timeout
 * of a waiting lookup starts only when it is sent. */
static unsigned temp_calls;

static void
temp_cb(void *arg, const struct mtasts_dns_answer *ans)
{
	(void)arg;
	assert_int_equal(ans->code, MTASTS_EDNSTEMP);
	assert_non_null(strstr(ans->reason, "timed out after 150 ms"));
	assert_int_equal(ans->count, 0);
	temp_calls++;
}

static void
test_queue_and_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_resolver_options o;
	struct mtasts_resolver *r;
	struct mtasts_dns_query *q[6];
	struct mtasts_error err;

	(void)state;
	mtasts_resolver_options_init(&o);
	o.forward = DEAD_FORWARDER;
	o.timeout_ms = 150;
	o.max_queries = 2;
	assert_int_equal(mtasts_resolver_new(base, &o, &r, &err), MTASTS_OK);
	temp_calls = 0;
	for (int i = 0; i < 6; i++) {
		char name[64];

		snprintf(name, sizeof(name), "q%d.test", i);
		assert_int_equal(mtasts_resolver_lookup(r, i == 1 ?
		    MTASTS_DNS_ADDR : MTASTS_DNS_TXT, name, temp_cb, NULL,
		    &q[i], &err), MTASTS_OK);
	}
	/* q0 runs; q1 (two queries) waits; cancel a waiting one. */
	mtasts_resolver_cancel(r, q[3]);
	event_base_dispatch(base);
	assert_int_equal(temp_calls, 5);
	mtasts_resolver_free(r);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_forward_syntax),
	    cmocka_unit_test(test_new_and_arguments),
	    cmocka_unit_test(test_cancel_and_free),
	    cmocka_unit_test(test_ops_table),
	    cmocka_unit_test(test_queue_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
