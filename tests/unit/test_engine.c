/* SPDX-License-Identifier: MIT */
/* test_engine.c: the daemon's policy engine under a fake discovery and a
 * fake clock (every RFC 8461 section 5 rule of mtastsd_engine.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/policy.h"
#include "mtastsd_config.h"
#include "mtastsd_engine.h"
#include "mtastsd_log.h"

#define CALLS_MAX 64

struct call {
	char domain[254];
	char cached_id[40];
	int has_id;
	mtasts_discover_cb cb;
	void *arg;
	int done;
};

static struct call calls[CALLS_MAX];
static int ncalls;
static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static int
fake_start(void *impl, const char *domain, const char *cached_id,
    mtasts_discover_cb cb, void *arg)
{
	struct call *c;

	(void)impl;
	assert_true(ncalls < CALLS_MAX);
	c = &calls[ncalls++];
	memset(c, 0, sizeof(*c));
	snprintf(c->domain, sizeof(c->domain), "%s", domain);
	if (cached_id != NULL) {
		c->has_id = 1;
		snprintf(c->cached_id, sizeof(c->cached_id), "%s", cached_id);
	}
	c->cb = cb;
	c->arg = arg;
	return 0;
}

static const struct mtastsd_disc_ops fake_disc = {.start = fake_start};

/* A fake store: get answers from one record, later (run_store()). */
static struct {
	int gets, puts, fail;
	mtasts_store_get_cb cb;
	void *arg;
	struct mtasts_store_record rec;
	int have;
	char body[256];
} st;

static int
fake_get(void *impl, const char *domain, mtasts_store_get_cb cb, void *arg)
{
	(void)impl;
	(void)domain;
	st.gets++;
	if (st.fail)
		return MTASTS_ESTORE;
	st.cb = cb;
	st.arg = arg;
	return MTASTS_OK;
}

static void
run_store(void)
{
	mtasts_store_get_cb cb = st.cb;

	st.cb = NULL;
	assert_non_null(cb);
	if (st.have)
		cb(st.arg, MTASTS_OK, &st.rec);
	else
		cb(st.arg, MTASTS_ENOTFOUND, NULL);
}

static int
fake_put(void *impl, const struct mtasts_store_record *rec,
    mtasts_store_done_cb cb, void *arg)
{
	(void)impl;
	st.puts++;
	snprintf(st.body, sizeof(st.body), "%.*s", (int)rec->body_len,
	    rec->body);
	st.rec = *rec;
	st.rec.body = st.body;
	cb(arg, st.fail ? MTASTS_ESTORE : MTASTS_OK);
	return MTASTS_OK;
}

static const struct mtasts_store_ops fake_store = {
	.scheme = "fake",
	.get = fake_get,
	.put = fake_put,
};

static const char enforce_body[] = "version: STSv1\nmode: enforce\n"
				   "mx: mx1.example.com\nmx: *.example.net\n"
				   "max_age: 86400\n";
static const char testing_body[] = "version: STSv1\nmode: testing\n"
				   "mx: mx1.example.com\nmax_age: 86400\n";
static const char none_body[] = "version: STSv1\nmode: none\n"
				"max_age: 86400\n";
#define SECURE "OK secure match=mx1.example.com:.example.net " \
	       "servername=hostname"

/* Complete call i with a result; body != NULL means a policy. */
static void
complete(int i, enum mtasts_result r, const char *id, const char *body)
{
	struct mtasts_discovery_result res;
	struct mtasts_policy *pol = NULL;

	assert_true(i < ncalls);
	assert_false(calls[i].done);
	calls[i].done = 1;
	memset(&res, 0, sizeof(res));
	res.domain = calls[i].domain;
	res.result = r;
	res.id = id;
	res.reason = "test";
	if (r == MTASTS_RESULT_ERROR)
		res.failure = MTASTS_FAILURE_FETCH;
	if (body != NULL) {
		assert_int_equal(mtasts_policy_parse(body, strlen(body), &pol,
				     NULL, NULL),
		    0);
		res.policy = pol;
		res.body = body;
		res.body_len = strlen(body);
	}
	calls[i].cb(calls[i].arg, &res);
	mtasts_policy_free(res.policy);
}

struct req {
	struct mtastsd_waiter w;
	struct mtastsd_buf out;
	int answered;
};

static void
req_cb(struct mtastsd_waiter *w)
{
	struct req *r = (struct req *)w;

	r->answered++;
}

struct fixture {
	struct mtastsd_config cfg;
	struct mtastsd_engine *eng;
	struct req reqs[32];
};

static struct fixture fx;

static void
make_engine(void)
{
	struct mtastsd_engine_options opt;

	memset(&opt, 0, sizeof(opt));
	opt.cfg = &fx.cfg;
	opt.disc = &fake_disc;
	opt.now = fake_clock;
	fx.eng = mtastsd_engine_new(&opt);
	assert_non_null(fx.eng);
}

static int
setup(void **state)
{
	size_t i;

	(void)state;
	mtastsd_log_set_level(MTASTSD_LOG_ERR);
	memset(calls, 0, sizeof(calls));
	ncalls = 0;
	fake_now = 1000000;
	memset(&fx, 0, sizeof(fx));
	mtastsd_config_init(&fx.cfg);
	fx.cfg.refresh_jitter = 0;
	for (i = 0; i < 32; i++)
		mtastsd_buf_init(&fx.reqs[i].out, 100000);
	make_engine();
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	mtastsd_engine_free(fx.eng);
	for (i = 0; i < 32; i++)
		mtastsd_buf_free(&fx.reqs[i].out);
	mtastsd_config_free(&fx.cfg);
	return 0;
}

/* Look up key with request slot i; returns ANSWERED or PENDING. */
static int
lookup_zone(int i, const char *key, const struct mtastsd_zone *z)
{
	fx.reqs[i].answered = 0;
	return mtastsd_engine_lookup(fx.eng, z, key, strlen(key),
	    &fx.reqs[i].out, &fx.reqs[i].w, req_cb);
}

static int
lookup(int i, const char *key)
{
	return lookup_zone(i, key, &fx.cfg.defaults);
}

static const char *
reply(int i)
{
	return fx.reqs[i].out.p ? fx.reqs[i].out.p : "";
}

/* Put an enforce policy with id1 in the cache at fake_now. */
static void
prime(const char *body)
{
	int before = ncalls;

	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	assert_int_equal(ncalls, before + 1);
	complete(before, MTASTS_RESULT_POLICY, "id1", body);
	assert_int_equal(fx.reqs[0].answered, 1);
}

static void
test_coalesce_twenty(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		assert_int_equal(lookup(i, "example.com"), MTASTSD_PENDING);
	assert_int_equal(ncalls, 1);
	assert_int_equal(calls[0].has_id, 0);
	complete(0, MTASTS_RESULT_POLICY, "id1", enforce_body);
	for (i = 0; i < 20; i++) {
		assert_int_equal(fx.reqs[i].answered, 1);
		assert_string_equal(reply(i), SECURE);
	}
	assert_int_equal(mtastsd_engine_pending_count(fx.eng), 0);
	/* Now answered from memory, no discovery. */
	assert_int_equal(lookup(0, "EXAMPLE.COM."), MTASTSD_ANSWERED);
	assert_string_equal(reply(0), SECURE);
	assert_int_equal(ncalls, 1);
}

static void
test_id_unchanged_no_fetch(void **state)
{
	(void)state;
	prime(enforce_body);
	fake_now += 30;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 1);	/* rate-limited TXT check */
	fake_now += 31;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), SECURE);
	assert_int_equal(ncalls, 2);	/* background TXT check */
	assert_int_equal(calls[1].has_id, 1);
	assert_string_equal(calls[1].cached_id, "id1");
	complete(1, MTASTS_RESULT_UNCHANGED, "id1", NULL);
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 2);
	assert_int_equal(mtastsd_engine_stats(fx.eng)->fetched, 1);
}

static void
test_expiry_exact(void **state)
{
	int64_t t0 = fake_now;

	(void)state;
	fx.cfg.txt_check_interval = 86400 * 2; /* no checks in between */
	prime(enforce_body);
	fake_now = t0 + 86399;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), SECURE);
	fake_now = t0 + 86400;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_PENDING);
	assert_int_equal(ncalls, 2);
	assert_int_equal(calls[1].has_id, 0); /* expired: fetch */
	complete(1, MTASTS_RESULT_TEMPERROR, NULL, NULL);
	assert_string_equal(reply(1), "NOTFOUND ");
}

static void
test_expiry_does_not_slide(void **state)
{
	int64_t t0 = fake_now;
	int i;

	(void)state;
	prime(enforce_body);
	/* Many UNCHANGED checks do not move the expiry. */
	for (i = 1; i <= 5; i++) {
		fake_now = t0 + 3600 * i;
		assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
		complete(ncalls - 1, MTASTS_RESULT_UNCHANGED, "id1", NULL);
	}
	fx.cfg.txt_check_interval = 86400 * 2;
	fake_now = t0 + 86400;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_PENDING);
}

static void
test_failed_refresh_keeps_policy(void **state)
{
	(void)state;
	prime(enforce_body);
	fake_now += 100;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	complete(1, MTASTS_RESULT_ERROR, "id2", NULL);
	fake_now += 10;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), SECURE);
	/* DNS failure and a vanished record keep it too. */
	fake_now += 100;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	complete(ncalls - 1, MTASTS_RESULT_TEMPERROR, NULL, NULL);
	fake_now += 100;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	complete(ncalls - 1, MTASTS_RESULT_NO_POLICY, NULL, NULL);
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), SECURE);
}

static void
test_mode_none_replaces(void **state)
{
	(void)state;
	prime(enforce_body);
	fake_now += 100;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), SECURE);
	complete(1, MTASTS_RESULT_POLICY, "id2", none_body);
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), "NOTFOUND ");
}

static void
test_testing_and_strict_zone(void **state)
{
	struct mtastsd_zone strict = fx.cfg.defaults;

	(void)state;
	strict.strict_testing = true;
	strict.require_sni = false;
	prime(testing_body);
	assert_string_equal(reply(0), "NOTFOUND ");
	assert_int_equal(lookup_zone(1, "example.com", &strict),
	    MTASTSD_ANSWERED);
	assert_string_equal(reply(1), "OK secure match=mx1.example.com");
}

static void
test_backoff(void **state)
{
	int64_t t1;

	(void)state;
	prime(enforce_body);
	fake_now += 100;
	t1 = fake_now;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	complete(1, MTASTS_RESULT_ERROR, "id2", NULL);
	/* Within the back-off, checks pass the failing id: no fetch
	   unless the id moves on. */
	fake_now = t1 + 61;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 3);
	assert_string_equal(calls[2].cached_id, "id2");
	complete(2, MTASTS_RESULT_UNCHANGED, "id2", NULL);
	fake_now = t1 + 299;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(calls[3].cached_id, "id2");
	complete(3, MTASTS_RESULT_UNCHANGED, "id2", NULL);
	/* After 5 minutes, the cached id is passed: a new id fetches. */
	fake_now = t1 + 300;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 4);
	fake_now = t1 + 361;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 5);
	assert_string_equal(calls[4].cached_id, "id1");
	/* Second failure: back-off doubles to 10 minutes. */
	complete(4, MTASTS_RESULT_ERROR, "id2", NULL);
	fake_now = t1 + 361 + 599;
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(calls[5].cached_id, "id2");
	complete(5, MTASTS_RESULT_UNCHANGED, "id2", NULL);
	assert_string_equal(reply(1), SECURE);
}

static void
test_backoff_without_policy(void **state)
{
	(void)state;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	complete(0, MTASTS_RESULT_ERROR, "id9", NULL);
	assert_string_equal(reply(0), "NOTFOUND ");	/* RFC 8461 3.3 */
	fake_now += 61;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(0), "NOTFOUND ");
	assert_int_equal(ncalls, 2);
	assert_string_equal(calls[1].cached_id, "id9");
}

static void
test_temp_nothing_cached(void **state)
{
	(void)state;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	complete(0, MTASTS_RESULT_TEMPERROR, NULL, NULL);
	assert_string_equal(reply(0), "NOTFOUND ");
	free(fx.cfg.temp_failure_reply);
	fx.cfg.temp_failure_reply = strdup("temp");
	assert_int_equal(lookup(1, "example.com"), MTASTSD_ANSWERED);
	assert_string_equal(reply(1), "TEMP MTA-STS discovery failed "
				      "temporarily");
	assert_int_equal(lookup(2, "other.example"), MTASTSD_PENDING);
	complete(1, MTASTS_RESULT_TEMPERROR, NULL, NULL);
	assert_memory_equal(reply(2), "TEMP ", 5);
}

static void
test_no_policy(void **state)
{
	(void)state;
	assert_int_equal(lookup(0, "example.org"), MTASTSD_PENDING);
	complete(0, MTASTS_RESULT_NO_POLICY, NULL, NULL);
	assert_string_equal(reply(0), "NOTFOUND ");
	assert_int_equal(lookup(0, "example.org"), MTASTSD_ANSWERED);
	assert_int_equal(ncalls, 1);
}

static void
test_keys(void **state)
{
	static const char *const nf[] = {"[mx.example.com]", "1.2.3.4",
	    "[1.2.3.4]:25", "example.com:25", "[ipv6:2001:db8::1]", "a_b.com",
	    "", ".", "exa mple.com"};
	char out[254];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		assert_int_equal(lookup(0, nf[i]), MTASTSD_ANSWERED);
		assert_string_equal(reply(0), "NOTFOUND ");
	}
	assert_int_equal(ncalls, 0);
	assert_int_equal(mtastsd_key_normalise("ExAmple.COM.", 12, out), 0);
	assert_string_equal(out, "example.com");
}

static void
test_eviction_at_cap(void **state)
{
	char d[64];
	int i;

	(void)state;
	mtastsd_engine_free(fx.eng);
	fx.cfg.cache_max_entries = 16;
	make_engine();
	for (i = 0; i < 17; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		assert_int_equal(lookup(0, d), MTASTSD_PENDING);
		complete(i, MTASTS_RESULT_POLICY, "id1", enforce_body);
		if (i == 5) {
			/* keep d0 in use */
			assert_int_equal(lookup(1, "d0.example"),
			    MTASTSD_ANSWERED);
		}
	}
	assert_int_equal(mtastsd_cache_count(mtastsd_engine_cache(fx.eng)),
	    16);
	assert_non_null(mtastsd_cache_find(mtastsd_engine_cache(fx.eng),
	    "d0.example", 10));
	assert_null(mtastsd_cache_find(mtastsd_engine_cache(fx.eng),
	    "d1.example", 10));
}

static void
test_lookup_timeout(void **state)
{
	(void)state;
	assert_int_equal(lookup(0, "slow.example"), MTASTSD_PENDING);
	fake_now += fx.cfg.lookup_timeout - 1;
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(fx.reqs[0].answered, 0);
	fake_now += 1;
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(fx.reqs[0].answered, 1);
	assert_string_equal(reply(0), "NOTFOUND ");
	/* The discovery still lands in the cache. */
	complete(0, MTASTS_RESULT_POLICY, "id1", enforce_body);
	assert_int_equal(fx.reqs[0].answered, 1);
	assert_int_equal(lookup(0, "slow.example"), MTASTSD_ANSWERED);
	assert_memory_equal(reply(0), "OK secure", 9);
}

static void
test_cancel(void **state)
{
	(void)state;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	assert_int_equal(lookup(1, "example.com"), MTASTSD_PENDING);
	mtastsd_engine_cancel(fx.eng, &fx.reqs[0].w);
	complete(0, MTASTS_RESULT_POLICY, "id1", enforce_body);
	assert_int_equal(fx.reqs[0].answered, 0);
	assert_int_equal(fx.reqs[1].answered, 1);
}

static void
test_proactive_refresh(void **state)
{
	int64_t t0 = fake_now;
	char d[64];
	int i;

	(void)state;
	fx.cfg.refresh_concurrency = 2;
	fx.cfg.txt_check_interval = 86400 * 2;
	for (i = 0; i < 3; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		assert_int_equal(lookup(0, d), MTASTSD_PENDING);
		complete(i, MTASTS_RESULT_POLICY, "id1", enforce_body);
	}
	fake_now = t0 + 86400 - fx.cfg.refresh_margin - 1;
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(ncalls, 3);
	fake_now += 1;
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(ncalls, 5);	/* bounded by refresh_concurrency */
	assert_int_equal(calls[3].has_id, 0);	/* a real refetch */
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(ncalls, 5);
	complete(3, MTASTS_RESULT_POLICY, "id1", enforce_body);
	complete(4, MTASTS_RESULT_ERROR, "id1", NULL);
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(ncalls, 6);
	complete(5, MTASTS_RESULT_POLICY, "id1", enforce_body);
	/* The refetched ones got a new expiry; the failed one keeps its
	   old one and is not retried during the back-off. */
	mtastsd_engine_tick(fx.eng);
	assert_int_equal(ncalls, 6);
}

static void
test_store(void **state)
{
	int64_t t0 = fake_now;

	(void)state;
	memset(&st, 0, sizeof(st));
	mtastsd_engine_set_store(fx.eng, &fake_store, NULL);
	/* Miss: store first, then discovery; the fetch is written through. */
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	assert_int_equal(st.gets, 1);
	assert_int_equal(ncalls, 0);
	run_store();
	assert_int_equal(ncalls, 1);
	complete(0, MTASTS_RESULT_POLICY, "id1", enforce_body);
	assert_string_equal(reply(0), SECURE);
	assert_int_equal(st.puts, 1);
	assert_string_equal(st.rec.id, "id1");
	assert_int_equal(st.rec.expires_at, t0 + 86400);
	st.have = 1;
	/* A fresh engine (a restart) answers from the store, no fetch. */
	mtastsd_engine_free(fx.eng);
	make_engine();
	mtastsd_engine_set_store(fx.eng, &fake_store, NULL);
	fake_now = t0 + 10;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	run_store();
	assert_string_equal(reply(0), SECURE);
	assert_int_equal(ncalls, 1);
	assert_int_equal(mtastsd_engine_stats(fx.eng)->store_hits, 1);
	/* An expired stored policy is not used. */
	mtastsd_engine_free(fx.eng);
	make_engine();
	mtastsd_engine_set_store(fx.eng, &fake_store, NULL);
	fake_now = t0 + 86400;
	assert_int_equal(lookup(0, "example.com"), MTASTSD_PENDING);
	run_store();
	assert_int_equal(ncalls, 2);
	/* A failing store is counted and ignored. */
	st.fail = 1;
	complete(1, MTASTS_RESULT_POLICY, "id2", enforce_body);
	assert_string_equal(reply(0), SECURE);
	assert_int_equal(lookup(1, "other.example"), MTASTSD_PENDING);
	assert_int_equal(ncalls, 3);
	assert_true(mtastsd_engine_stats(fx.eng)->store_errors >= 2);
}

static void
test_overrides(void **state)
{
	char err[256];
	FILE *f = fopen("/tmp/mtastsd-test-ovr.conf", "w");

	(void)state;
	assert_non_null(f);
	fputs("[override forced.example]\nmode = enforce\nmx = mx.forced.example\n"
	      "mx = *.forced.example\n[override raw.example]\n"
	      "reply = OK encrypt\n",
	    f);
	fclose(f);
	assert_int_equal(mtastsd_config_load(&fx.cfg,
			     "/tmp/mtastsd-test-ovr.conf", false, err,
			     sizeof(err)),
	    0);
	remove("/tmp/mtastsd-test-ovr.conf");
	assert_int_equal(lookup(0, "Forced.Example"), MTASTSD_ANSWERED);
	assert_string_equal(reply(0), "OK secure match=mx.forced.example:"
				      ".forced.example servername=hostname");
	assert_int_equal(lookup(0, "raw.example"), MTASTSD_ANSWERED);
	assert_string_equal(reply(0), "OK encrypt");
	assert_int_equal(ncalls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_coalesce_twenty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_id_unchanged_no_fetch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry_does_not_slide,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_refresh_keeps_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_none_replaces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_testing_and_strict_zone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_without_policy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_nothing_cached,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_at_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lookup_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proactive_refresh, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrides, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
