/* SPDX-License-Identifier: MIT */
/*
 * test_fetch.c: the HTTPS fetcher's API without the network: option
 * defaults, argument checks (a request must be an https URL on the given
 * host, with IP addresses), queueing above max_fetches, cancel and free
 * with requests pending (no callback may run). The fetches themselves
 * are exercised against the lab by tests/integration/lab_scenarios.sh.
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

#include "mtasts/fetch.h"

static unsigned calls;

static void
count_cb(void *arg, const struct mtasts_http_response *res)
{
	(void)arg;
	(void)res;
	calls++;
}

static void
test_defaults(void **state)
{
	struct mtasts_fetch_options o;

	(void)state;
	mtasts_fetch_options_init(&o);
	assert_int_equal(o.connect_timeout_ms, 10000);
	assert_int_equal(o.timeout_ms, 60000);
	assert_int_equal(o.max_body, 65536);
	assert_int_equal(o.max_fetches, 256);
	assert_null(o.ca_file);
	assert_null(o.user_agent);
}

struct argcase {
	const char *name;
	const char *host;
	const char *url;
	const char *addrs[3];
	size_t naddrs;
	int code;
};

static const struct argcase argcases[] = {
	{"ok", "mta-sts.a.test", "https://mta-sts.a.test/.well-known/"
	    "mta-sts.txt", {"127.0.0.1", "::1"}, 2, 0},
	{"http-scheme", "mta-sts.a.test", "http://mta-sts.a.test/x",
	    {"127.0.0.1"}, 1, -2},
	{"other-host", "mta-sts.a.test", "https://mta-sts.b.test/x",
	    {"127.0.0.1"}, 1, -2},
	{"host-prefix", "mta-sts.a.test", "https://mta-sts.a.test.evil/x",
	    {"127.0.0.1"}, 1, -2},
	{"host-port", "mta-sts.a.test", "https://mta-sts.a.test:8443/x",
	    {"127.0.0.1"}, 1, -2},
	{"host-userinfo", "mta-sts.a.test", "https://x@mta-sts.a.test/x",
	    {"127.0.0.1"}, 1, -2},
	{"bad-host-char", "mta-sts.a.test:1", "https://mta-sts.a.test:1/x",
	    {"127.0.0.1"}, 1, -2},
	{"empty-host", "", "https:///x", {"127.0.0.1"}, 1, -2},
	{"no-addr", "mta-sts.a.test", "https://mta-sts.a.test/x", {NULL}, 0,
	    -2},
	{"name-as-addr", "mta-sts.a.test", "https://mta-sts.a.test/x",
	    {"localhost"}, 1, -2},
	{"bad-v4", "mta-sts.a.test", "https://mta-sts.a.test/x",
	    {"127.0.0.256"}, 1, -2},
	{"null-addr", "mta-sts.a.test", "https://mta-sts.a.test/x",
	    {"127.0.0.1", NULL}, 2, -2},
};

static void
test_arguments(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f;
	struct mtasts_error err;

	(void)state;
	assert_int_equal(mtasts_fetcher_new(base, NULL, &f, &err), MTASTS_OK);
	calls = 0;
	for (size_t i = 0; i < sizeof(argcases) / sizeof(argcases[0]); i++) {
		const struct argcase *c = &argcases[i];
		struct mtasts_http_request *rq = NULL;
		int rc = mtasts_fetcher_get(f, c->host, c->url, c->addrs,
		    c->naddrs, count_cb, NULL, &rq, &err);

		if (rc != c->code)
			fail_msg("%s: got %d (%s)", c->name, rc, err.msg);
		if (rc == MTASTS_OK) {
			assert_non_null(rq);
			mtasts_fetcher_cancel(f, rq);
		} else {
			assert_null(rq);
		}
	}
	assert_int_equal(mtasts_fetcher_get(f, "a.test", "https://a.test/",
	    argcases[0].addrs, 1, NULL, NULL, NULL, &err), MTASTS_EINVAL);
	mtasts_fetcher_free(f);
	event_base_dispatch(base);
	assert_int_equal(calls, 0);
	event_base_free(base);
}

static void
test_new_errors(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetch_options o;
	struct mtasts_fetcher *f = (struct mtasts_fetcher *)1;
	struct mtasts_error err;

	(void)state;
	mtasts_fetch_options_init(&o);
	o.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(mtasts_fetcher_new(base, &o, &f, &err),
	    MTASTS_EINVAL);
	assert_null(f);
	assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
	assert_int_equal(mtasts_fetcher_new(NULL, NULL, &f, &err),
	    MTASTS_EINVAL);
	mtasts_fetcher_free(NULL);
	event_base_free(base);
}

/* More requests than max_fetches: the rest queue; cancel some of each,
 * then free with the others pending: no callback runs, nothing leaks. */
static void
test_queue_cancel_free(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetch_options o;
	struct mtasts_fetcher *f;
	struct mtasts_error err;
	struct mtasts_http_request *rq[20];
	static const char *const addrs[] = {"127.0.0.1"};

	(void)state;
	mtasts_fetch_options_init(&o);
	o.max_fetches = 4;
	assert_int_equal(mtasts_fetcher_new(base, &o, &f, &err), MTASTS_OK);
	calls = 0;
	for (int i = 0; i < 20; i++) {
		char host[64], url[128];

		snprintf(host, sizeof(host), "mta-sts.q%d.test", i);
		snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt",
		    host);
		assert_int_equal(mtasts_fetcher_get(f, host, url, addrs, 1,
		    count_cb, NULL, &rq[i], &err), MTASTS_OK);
	}
	/* active ones, queued ones, the queue head and tail */
	mtasts_fetcher_cancel(f, rq[0]);
	mtasts_fetcher_cancel(f, rq[3]);
	mtasts_fetcher_cancel(f, rq[4]);
	mtasts_fetcher_cancel(f, rq[10]);
	mtasts_fetcher_cancel(f, rq[19]);
	mtasts_fetcher_free(f);
	event_base_dispatch(base);
	assert_int_equal(calls, 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_arguments),
	    cmocka_unit_test(test_new_errors),
	    cmocka_unit_test(test_queue_cancel_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
