/* SPDX-License-Identifier: MIT */
/* test_mtastsd_cache.c: the daemon's compact LRU cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtastsd_cache.h"

static struct mtastsd_entry *
mk(const char *domain, const char *id)
{
	struct mtastsd_entry_init in;

	memset(&in, 0, sizeof(in));
	in.domain = domain;
	in.id = id;
	in.fail_id = "bad1";
	in.match = "mx.example:.example.net";
	in.body = "version: STSv1\n";
	in.body_len = 15;
	return mtastsd_entry_new(&in);
}

static void
test_pack(void **state)
{
	struct mtastsd_entry *e = mk("example.com", "id1");
	struct mtastsd_entry_init in;

	(void)state;
	assert_non_null(e);
	assert_string_equal(mtastsd_entry_domain(e), "example.com");
	assert_string_equal(mtastsd_entry_id(e), "id1");
	assert_string_equal(mtastsd_entry_fail_id(e), "bad1");
	assert_string_equal(mtastsd_entry_match(e), "mx.example:.example.net");
	assert_memory_equal(mtastsd_entry_body(e), "version: STSv1\n", 15);
	assert_true(e->flags & MTASTSD_ENTRY_BODY);
	free(e);
	memset(&in, 0, sizeof(in));
	in.domain = "x.example";
	e = mtastsd_entry_new(&in);
	assert_non_null(e);
	assert_string_equal(mtastsd_entry_id(e), "");
	assert_string_equal(mtastsd_entry_match(e), "");
	assert_false(e->flags & MTASTSD_ENTRY_BODY);
	free(e);
	in.domain = "";
	assert_null(mtastsd_entry_new(&in));
}

static void
test_lru_cap(void **state)
{
	struct mtastsd_cache *c = mtastsd_cache_new(100);
	char d[64];
	int i;
	size_t evicted = 0;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 100; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		evicted += mtastsd_cache_put(c, mk(d, "id"));
	}
	assert_int_equal(evicted, 0);
	assert_int_equal(mtastsd_cache_count(c), 100);
	/* Use d0: d1 becomes the least recently used. */
	mtastsd_cache_touch(c, mtastsd_cache_find(c, "d0.example", 10), 5);
	assert_int_equal(mtastsd_cache_put(c, mk("new.example", "id")), 1);
	assert_non_null(mtastsd_cache_find(c, "d0.example", 10));
	assert_null(mtastsd_cache_find(c, "d1.example", 10));
	assert_non_null(mtastsd_cache_find(c, "new.example", 11));
	/* Replacing keeps the count. */
	assert_int_equal(mtastsd_cache_put(c, mk("new.example", "id2")), 0);
	assert_int_equal(mtastsd_cache_count(c), 100);
	assert_string_equal(mtastsd_entry_id(mtastsd_cache_find(c,
				"new.example", 11)),
	    "id2");
	/* Lowering the cap evicts at once. */
	mtastsd_cache_set_max(c, 10);
	assert_int_equal(mtastsd_cache_count(c), 10);
	assert_non_null(mtastsd_cache_find(c, "new.example", 11));
	mtastsd_cache_free(c);
}

static void
count_entry(void *arg, struct mtastsd_entry *e)
{
	(void)e;
	(*(size_t *)arg)++;
}

static void
test_idle_and_walk(void **state)
{
	struct mtastsd_cache *c = mtastsd_cache_new(1000);
	struct mtastsd_entry *e;
	char d[64];
	size_t cursor = 0;
	int i, wraps = 0;
	size_t seen = 0;

	(void)state;
	for (i = 0; i < 500; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		e = mk(d, "id");
		mtastsd_cache_put(c, e);
		mtastsd_cache_touch(c, e, 1000 + i);
	}
	assert_int_equal(mtastsd_cache_evict_idle(c, 1100), 100);
	assert_int_equal(mtastsd_cache_count(c), 400);
	assert_null(mtastsd_cache_find(c, "d99.example", 11));
	assert_non_null(mtastsd_cache_find(c, "d100.example", 12));
	while (!wraps)
		wraps = mtastsd_cache_walk(c, &cursor, 7, count_entry, &seen);
	assert_int_equal(seen, 400);
	mtastsd_cache_clear(c);
	assert_int_equal(mtastsd_cache_count(c), 0);
	mtastsd_cache_free(c);
	mtastsd_cache_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_lru_cap),
		cmocka_unit_test(test_idle_and_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
