/* SPDX-License-Identifier: MIT */
/*
 * test_store.c: the persistent policy stores.
 *
 * The SQLite backend is tested hermetically in a temporary directory:
 * put/get/overwrite/del/scan, 10,000 records, persistence across close
 * and reopen, an unwritable path, a corrupt file, a newer schema, a body
 * of the maximum size, hostile rows written with the sqlite3 API, a
 * database file removed under a running store, closing with calls
 * pending and from inside a callback.
 *
 * The same behavioural suite runs against Redis and PostgreSQL when
 * MTASTS_TEST_REDIS / MTASTS_TEST_PGSQL hold URIs of real servers
 * (tests/integration/store_servers.sh starts them); hostile records are
 * written there with redis-cli and psql. With MTASTS_TEST_{REDIS,PGSQL}_
 * {STOP,START} (shell commands) the fault group also stops the server
 * while calls are pending, checks that every callback runs exactly once,
 * that calls fail fast while it is down, that the outage is logged once,
 * and that the store reconnects when it is back; and opens a store while
 * the server is down. MTASTS_TEST_SQLITE_FULLDIR names a small file
 * system to fill (writes must fail with MTASTS_ESTORE, reads go on).
 * Groups without their variables are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "mtasts/store.h"

#define BODY_MAX MTASTS_POLICY_BODY_MAX

static struct event_base *base;
static char tmpdir[256];
static char uri[1024];		/* store under test */
static const char *backend;	/* "sqlite", "redis", "postgresql" */
static unsigned uniq;

/* ---- helpers ------------------------------------------------------------ */

struct res {
	int calls;
	int code;
	bool have_rec;
	struct mtasts_store_record rec;
	char body[BODY_MAX + 1];
	/* scan */
	int each;
	int stop_after;	/* 0: never */
	int bad;	/* records that failed the check */
	/* close from inside the callback */
	struct mtasts_store **close_me;
};

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until *counter >= want or secs pass. */
static void
pump(const int *counter, int want, int secs)
{
	struct timeval t = {0, 20000};
	struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
	time_t end = time(NULL) + secs;

	event_add(ev, &t);
	while (*counter < want && time(NULL) < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

static void
pump_for_ms(int ms)
{
	struct timeval t = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &t);
	event_base_dispatch(base);
}

static void
get_cb(void *arg, int code, const struct mtasts_store_record *rec)
{
	struct res *r = arg;

	r->calls++;
	r->code = code;
	r->have_rec = rec != NULL;
	if (rec != NULL) {
		r->rec = *rec;
		assert_true(rec->body_len <= BODY_MAX);
		memcpy(r->body, rec->body, rec->body_len);
		r->body[rec->body_len] = '\0';
		assert_int_equal(rec->body[rec->body_len], '\0');
		r->rec.body = r->body;
		assert_int_equal(mtasts_store_record_check(rec, NULL),
		    MTASTS_OK);
	}
	if (r->close_me != NULL) {
		mtasts_store_close(*r->close_me);
		*r->close_me = NULL;
	}
}

static void
done_cb(void *arg, int code)
{
	struct res *r = arg;

	r->calls++;
	r->code = code;
	if (r->close_me != NULL) {
		mtasts_store_close(*r->close_me);
		*r->close_me = NULL;
	}
}

static int
each_cb(void *arg, const struct mtasts_store_record *rec)
{
	struct res *r = arg;

	r->each++;
	if (mtasts_store_record_check(rec, NULL) != MTASTS_OK)
		r->bad++;
	return r->stop_after > 0 && r->each >= r->stop_after;
}

static struct mtasts_store *
open_store(const char *u)
{
	struct mtasts_store *s = NULL;
	struct mtasts_error err;
	int rc;

	rc = mtasts_store_open(base, u, &s, &err);
	if (rc != MTASTS_OK)
		print_error("open %s: %s\n", u, err.msg);
	assert_int_equal(rc, MTASTS_OK);
	assert_non_null(s);
	return s;
}

static void
make_rec(struct mtasts_store_record *r, const char *domain, const char *id,
    int64_t t, const char *body)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->fetched_at = t;
	r->expires_at = t + 86400;
	r->checked_at = t + 10;
	r->body = body;
	r->body_len = strlen(body);
}

static int
put_sync(struct mtasts_store *s, const struct mtasts_store_record *rec)
{
	struct res r = {0};

	assert_int_equal(mtasts_store_put(s, rec, done_cb, &r), MTASTS_OK);
	assert_int_equal(r.calls, 0);	/* never inside the call */
	pump(&r.calls, 1, 20);
	assert_int_equal(r.calls, 1);
	return r.code;
}

static int
del_sync(struct mtasts_store *s, const char *domain)
{
	struct res r = {0};

	assert_int_equal(mtasts_store_del(s, domain, done_cb, &r), MTASTS_OK);
	assert_int_equal(r.calls, 0);
	pump(&r.calls, 1, 20);
	assert_int_equal(r.calls, 1);
	return r.code;
}

static void
get_sync(struct mtasts_store *s, const char *domain, struct res *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(mtasts_store_get(s, domain, get_cb, r), MTASTS_OK);
	assert_int_equal(r->calls, 0);
	pump(&r->calls, 1, 20);
	assert_int_equal(r->calls, 1);
}

static void
scan_sync(struct mtasts_store *s, struct res *r)
{
	int calls = r->calls;

	assert_int_equal(mtasts_store_scan(s, each_cb, done_cb, r),
	    MTASTS_OK);
	pump(&r->calls, calls + 1, 60);
	assert_int_equal(r->calls, calls + 1);
}

/* A domain unique to this run and test. */
static void
dom(char *out, size_t cap, const char *label)
{
	snprintf(out, cap, "%s.u%u.p%ld.test", label, uniq, (long)getpid());
}

/* Remove everything the store holds (redis/pgsql share state). */
struct wipe {
	char (*names)[MTASTS_DOMAIN_MAX + 1];
	int n, cap;
	int done;
};

static int
wipe_each(void *arg, const struct mtasts_store_record *rec)
{
	struct wipe *w = arg;

	if (w->n < w->cap)
		memcpy(w->names[w->n++], rec->domain, sizeof(w->names[0]));
	return 0;
}

static void
wipe_done(void *arg, int code)
{
	struct wipe *w = arg;

	assert_int_equal(code, MTASTS_OK);
	w->done = 1;
}

static void
wipe_store(struct mtasts_store *s)
{
	struct wipe w = {0};
	int i;

	w.cap = 20000;
	w.names = calloc((size_t)w.cap, sizeof(w.names[0]));
	assert_non_null(w.names);
	assert_int_equal(mtasts_store_scan(s, wipe_each, wipe_done, &w),
	    MTASTS_OK);
	pump(&w.done, 1, 60);
	assert_int_equal(w.done, 1);
	for (i = 0; i < w.n; i++)
		assert_int_equal(del_sync(s, w.names[i]), MTASTS_OK);
	free(w.names);
}

/* ---- the behavioural suite (every backend) ------------------------------ */

static int
setup_each(void **state)
{
	(void)state;
	uniq++;
	if (strcmp(backend, "sqlite") == 0)
		snprintf(uri, sizeof(uri), "sqlite:%s/t%u.db", tmpdir, uniq);
	return 0;
}

static void
test_put_get_del(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	char d[128], upper[128];
	struct res r;
	size_t i;

	(void)state;
	assert_string_equal(mtasts_store_scheme(s), backend);
	dom(d, sizeof(d), "a");
	get_sync(s, d, &r);
	assert_int_equal(r.code, MTASTS_ENOTFOUND);
	assert_false(r.have_rec);

	make_rec(&rec, d, "id1", 1700000000, "version: STSv1\nmode: enforce\n");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	get_sync(s, d, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.rec.domain, d);
	assert_string_equal(r.rec.id, "id1");
	assert_int_equal(r.rec.fetched_at, 1700000000);
	assert_int_equal(r.rec.expires_at, 1700000000 + 86400);
	assert_int_equal(r.rec.checked_at, 1700000010);
	assert_string_equal(r.body, "version: STSv1\nmode: enforce\n");

	/* overwrite; lookups are case-insensitive */
	make_rec(&rec, d, "id2", 1700000100, "x");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	snprintf(upper, sizeof(upper), "%s", d);
	for (i = 0; upper[i] != '\0'; i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] = (char)(upper[i] - 32);
	get_sync(s, upper, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.rec.id, "id2");
	assert_string_equal(r.body, "x");

	/* empty body */
	make_rec(&rec, d, "id3", 5, "");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	get_sync(s, d, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.rec.body_len, 0);

	assert_int_equal(del_sync(s, d), MTASTS_OK);
	get_sync(s, d, &r);
	assert_int_equal(r.code, MTASTS_ENOTFOUND);
	/* deleting what is not there is fine */
	assert_int_equal(del_sync(s, d), MTASTS_OK);
	mtasts_store_close(s);
}

static void
test_bad_args(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	struct res r = {0};
	char d[128], big[BODY_MAX + 2];

	(void)state;
	dom(d, sizeof(d), "b");
	assert_int_equal(mtasts_store_get(s, "bad..domain", get_cb, &r),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_store_get(s, "", get_cb, &r), MTASTS_EINVAL);
	assert_int_equal(mtasts_store_del(s, "-x.example", done_cb, &r),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_store_get(s, d, NULL, &r), MTASTS_EINVAL);
	make_rec(&rec, "Upper.Example", "id", 1, "x");
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	make_rec(&rec, d, "bad-id", 1, "x");
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	make_rec(&rec, d, "", 1, "x");
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	make_rec(&rec, d, "id", -1, "x");
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	make_rec(&rec, d, "id", 10, "x");
	rec.expires_at = 9;
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	rec.expires_at = 10 + (int64_t)MTASTS_MAX_AGE_LIMIT + 1;
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	memset(big, 'a', sizeof(big));
	big[BODY_MAX + 1] = '\0';
	make_rec(&rec, d, "id", 10, big);
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	make_rec(&rec, d, "id", 10, "a\nb");
	rec.body_len = 4;	/* includes the NUL */
	assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
	    MTASTS_EINVAL);
	pump_for_ms(50);
	assert_int_equal(r.calls, 0);	/* errors never call back */
	mtasts_store_close(s);
}

static void
test_body_max(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	static char big[BODY_MAX + 1];
	static struct res r;
	char d[128];

	(void)state;
	dom(d, sizeof(d), "max");
	for (size_t i = 0; i < BODY_MAX; i++)
		big[i] = (char)('a' + i % 26);
	big[BODY_MAX] = '\0';
	make_rec(&rec, d, "big", 100, big);
	assert_int_equal(rec.body_len, BODY_MAX);
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	get_sync(s, d, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.rec.body_len, BODY_MAX);
	assert_memory_equal(r.body, big, BODY_MAX);
	assert_int_equal(del_sync(s, d), MTASTS_OK);
	mtasts_store_close(s);
}

static void
test_scan(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	struct res r = {0};
	char d[128];
	int i;

	(void)state;
	wipe_store(s);
	for (i = 0; i < 3; i++) {
		char l[8];

		snprintf(l, sizeof(l), "s%d", i);
		dom(d, sizeof(d), l);
		make_rec(&rec, d, "sid", 1000 + i, "body");
		assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	}
	scan_sync(s, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, 3);
	assert_int_equal(r.bad, 0);
	/* stop early */
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	scan_sync(s, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, 1);
	wipe_store(s);
	memset(&r, 0, sizeof(r));
	scan_sync(s, &r);
	assert_int_equal(r.each, 0);
	mtasts_store_close(s);
}

static void
test_many(void **state)
{
	enum { N = 10000 };
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	struct res r = {0}, g;
	char d[128];
	struct timespec t0, t1;
	int i;

	(void)state;
	wipe_store(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++) {
		char l[16];

		snprintf(l, sizeof(l), "m%d", i);
		dom(d, sizeof(d), l);
		make_rec(&rec, d, "many", 1000 + i, "version: STSv1\n");
		assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
		    MTASTS_OK);
	}
	pump(&r.calls, N, 120);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.calls, N);
	assert_int_equal(r.code, MTASTS_OK);
	print_message("  %s: %d puts in %.0f ms\n", backend, N,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	scan_sync(s, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, N);
	assert_int_equal(r.bad, 0);
	print_message("  %s: scan of %d in %.0f ms\n", backend, N,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	dom(d, sizeof(d), "m4242");
	get_sync(s, d, &g);
	assert_int_equal(g.code, MTASTS_OK);
	assert_int_equal(g.rec.fetched_at, 1000 + 4242);
	wipe_store(s);
	mtasts_store_close(s);
}

static void
test_persist_and_share(void **state)
{
	struct mtasts_store *a = open_store(uri), *b;
	struct mtasts_store_record rec;
	struct res r;
	char d[128], d2[128];

	(void)state;
	dom(d, sizeof(d), "p");
	dom(d2, sizeof(d2), "p2");
	make_rec(&rec, d, "keep", 42, "kept body");
	assert_int_equal(put_sync(a, &rec), MTASTS_OK);
	/* a second store on the same backend sees it at once */
	b = open_store(uri);
	get_sync(b, d, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.rec.id, "keep");
	make_rec(&rec, d2, "fromb", 43, "b");
	assert_int_equal(put_sync(b, &rec), MTASTS_OK);
	get_sync(a, d2, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.rec.id, "fromb");
	mtasts_store_close(b);
	/* close, reopen, still there */
	mtasts_store_close(a);
	a = open_store(uri);
	get_sync(a, d, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.body, "kept body");
	assert_int_equal(del_sync(a, d), MTASTS_OK);
	assert_int_equal(del_sync(a, d2), MTASTS_OK);
	mtasts_store_close(a);
}

static void
test_close_pending(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	struct res r = {0}, c = {0};
	char d[128];
	int i;

	(void)state;
	dom(d, sizeof(d), "c");
	make_rec(&rec, d, "c", 1, "x");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	/* pending calls are dropped by close, with no callback */
	for (i = 0; i < 50; i++) {
		assert_int_equal(mtasts_store_get(s, d, get_cb, &r),
		    MTASTS_OK);
		assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
		    MTASTS_OK);
	}
	assert_int_equal(mtasts_store_scan(s, each_cb, done_cb, &r),
	    MTASTS_OK);
	mtasts_store_close(s);
	pump_for_ms(100);
	assert_int_equal(r.calls, 0);

	/* closing from inside a callback, with more calls queued */
	s = open_store(uri);
	c.close_me = &s;
	assert_int_equal(mtasts_store_get(s, d, get_cb, &c), MTASTS_OK);
	for (i = 0; i < 20; i++)
		assert_int_equal(mtasts_store_get(s, d, get_cb, &r),
		    MTASTS_OK);
	pump(&c.calls, 1, 20);
	pump_for_ms(100);
	assert_int_equal(c.calls, 1);
	assert_null(s);
	assert_int_equal(r.calls, 0);

	/* and from inside a scan's done */
	s = open_store(uri);
	memset(&c, 0, sizeof(c));
	c.close_me = &s;
	assert_int_equal(mtasts_store_scan(s, each_cb, done_cb, &c),
	    MTASTS_OK);
	assert_int_equal(mtasts_store_get(s, d, get_cb, &r), MTASTS_OK);
	pump(&c.calls, 1, 20);
	pump_for_ms(100);
	assert_int_equal(c.calls, 1);
	assert_null(s);
	/* a scan takes several round trips on a server: the get may
	 * overtake it, but it never runs twice nor after the close */
	assert_true(r.calls <= 1);

	s = open_store(uri);
	assert_int_equal(del_sync(s, d), MTASTS_OK);
	mtasts_store_close(s);
}

/* ---- SQLite specifics --------------------------------------------------- */

static void
test_sqlite_open_errors(void **state)
{
	struct mtasts_store *s = NULL;
	struct mtasts_error err;
	char u[600], p[512];
	FILE *f;
	int i;

	(void)state;
	/* unknown scheme */
	assert_int_equal(mtasts_store_open(base, "nosuch:x", &s, &err),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_store_open(base, "noscheme", &s, &err),
	    MTASTS_EINVAL);
	assert_null(s);
	/* parent directory missing */
	snprintf(u, sizeof(u), "sqlite:%s/missing/dir/x.db", tmpdir);
	assert_int_equal(mtasts_store_open(base, u, &s, &err), MTASTS_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err.msg, "missing/dir/x.db"));
	/* the path is a directory */
	snprintf(u, sizeof(u), "sqlite:%s", tmpdir);
	assert_int_equal(mtasts_store_open(base, u, &s, &err), MTASTS_ESTORE);
	assert_non_null(strstr(err.msg, tmpdir));
	/* garbage file */
	snprintf(p, sizeof(p), "%s/corrupt.db", tmpdir);
	f = fopen(p, "wb");
	assert_non_null(f);
	for (i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	snprintf(u, sizeof(u), "sqlite:%s", p);
	assert_int_equal(mtasts_store_open(base, u, &s, &err), MTASTS_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "not a database"));
	print_message("  corrupt: %s\n", err.msg);
}

static void
test_sqlite_mode_and_schema(void **state)
{
	struct mtasts_store *s = NULL;
	struct mtasts_error err;
	struct stat st;
	sqlite3 *db;
	char p[1100];

	(void)state;
	s = open_store(uri);
	mtasts_store_close(s);
	snprintf(p, sizeof(p), "%s", uri + 7);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a newer schema version is refused, clearly */
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(mtasts_store_open(base, uri, &s, &err),
	    MTASTS_ESTORE);
	assert_non_null(strstr(err.msg, "schema version 99"));
}

static void
test_sqlite_hostile_rows(void **state)
{
	struct mtasts_store *s;
	sqlite3 *db;
	struct res r = {0};
	char *big, sql[512];
	char p[1100];
	const char *bad[] = {
		"bigbody.test", "nullid.test", "negtime.test",
		"backwards.test", "badid.test", "intbody.test",
		"nulltime.test", "hugeage.test", "longid.test",
	};
	size_t i;

	(void)state;
	s = open_store(uri);	/* creates the schema */
	mtasts_store_close(s);
	snprintf(p, sizeof(p), "%s", uri + 7);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	big = malloc(BODY_MAX + 100);
	assert_non_null(big);
	memset(big, 'z', BODY_MAX + 99);
	big[BODY_MAX + 99] = '\0';
	snprintf(sql, sizeof(sql), "INSERT INTO mtasts_policy VALUES "
	    "('bigbody.test','a',1,2,3,?1)");
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(st, 1, big, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	free(big);
	assert_int_equal(sqlite3_exec(db,
	    "INSERT INTO mtasts_policy VALUES "
	    " ('nullid.test', NULL, 1, 2, 3, 'b'),"
	    " ('negtime.test', 'a', -5, 2, 3, 'b'),"
	    " ('backwards.test', 'a', 10, 2, 3, 'b'),"
	    " ('badid.test', 'a!b', 1, 2, 3, 'b'),"
	    " ('intbody.test', 'a', 1, 2, 3, x'41'),"
	    " ('nulltime.test', 'a', 1, NULL, 3, 'b'),"
	    " ('hugeage.test', 'a', 1, 9000000000, 3, 'b'),"
	    " ('longid.test', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, 2, 3,"
	    "  'b'),"
	    " ('BAD..DOMAIN', 'a', 1, 2, 3, 'b'),"
	    " (NULL, 'a', 1, 2, 3, 'b'),"
	    " (x'00ff', 'a', 1, 2, 3, 'b'),"
	    " ('good.test', 'ok', 1, 2, 3, 'fine')",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_store(uri);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		get_sync(s, bad[i], &r);
		assert_int_equal(r.code, MTASTS_ENOTFOUND);
	}
	get_sync(s, "good.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	memset(&r, 0, sizeof(r));
	scan_sync(s, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, 1);
	assert_int_equal(r.bad, 0);
	mtasts_store_close(s);
}

static int log_warn, log_info;
static char log_last[512];

static void
log_cb(void *arg, int prio, const char *msg)
{
	(void)arg;
	if (prio <= 4)
		log_warn++;
	else
		log_info++;
	snprintf(log_last, sizeof(log_last), "%s", msg);
	print_message("  log(%d): %s\n", prio, msg);
}

static void
test_sqlite_file_removed(void **state)
{
	struct mtasts_store *s = open_store(uri);
	struct mtasts_store_record rec;
	struct res r;

	(void)state;
	log_warn = log_info = 0;
	mtasts_store_set_log(s, log_cb, NULL);
	make_rec(&rec, "gone.test", "a", 1, "x");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	assert_int_equal(unlink(uri + 7), 0);
	/* writes now fail with ESTORE through the callback, logged once */
	assert_int_equal(put_sync(s, &rec), MTASTS_ESTORE);
	assert_int_equal(put_sync(s, &rec), MTASTS_ESTORE);
	assert_int_equal(del_sync(s, "gone.test"), MTASTS_ESTORE);
	assert_int_equal(log_warn, 1);
	/* reads still answer from what SQLite has */
	get_sync(s, "gone.test", &r);
	assert_true(r.code == MTASTS_OK || r.code == MTASTS_ESTORE);
	mtasts_store_close(s);
}

static void
test_sqlite_disk_full(void **state)
{
	const char *dir = getenv("MTASTS_TEST_SQLITE_FULLDIR");
	static char body[BODY_MAX + 1];
	struct mtasts_store_record rec;
	struct mtasts_store *s;
	char u[600], d[64];
	struct res r;
	int i, code = MTASTS_OK;

	(void)state;
	snprintf(u, sizeof(u), "sqlite:%s/full.db", dir);
	s = open_store(u);
	log_warn = log_info = 0;
	mtasts_store_set_log(s, log_cb, NULL);
	memset(body, 'q', BODY_MAX);
	make_rec(&rec, "first.test", "a", 1, "small");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	for (i = 0; i < 1000 && code == MTASTS_OK; i++) {
		snprintf(d, sizeof(d), "fill%d.test", i);
		make_rec(&rec, d, "a", 1, body);
		code = put_sync(s, &rec);
	}
	print_message("  disk full after %d puts of 64 KiB\n", i);
	assert_int_equal(code, MTASTS_ESTORE);
	assert_int_equal(put_sync(s, &rec), MTASTS_ESTORE);
	assert_int_equal(log_warn, 1);
	/* what was written is still readable */
	get_sync(s, "first.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.body, "small");
	mtasts_store_close(s);
}

/* ---- Redis / PostgreSQL specifics --------------------------------------- */

static int
shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
shell(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		print_error("command failed (%d): %s\n", rc, cmd);
	return rc;
}

static const char *
redis_prefix(void)
{
	static char p[64];

	snprintf(p, sizeof(p), "mtasts-t%ld:", (long)getpid());
	return p;
}

static void
test_redis_hostile(void **state)
{
	const char *base_uri = getenv("MTASTS_TEST_REDIS");
	const char *cli = "redis-cli -u \"$MTASTS_TEST_REDIS\" >/dev/null";
	const char *pfx = redis_prefix();
	struct mtasts_store *s = open_store(uri);
	const char *bad[] = {
		"bigbody.test", "noid.test", "textnum.test", "negtime.test",
		"string.test", "list.test", "nulbyte.test", "longid.test",
		"manyfields.test", "hugenum.test",
	};
	struct res r = {0};
	size_t i;

	(void)state;
	(void)base_uri;
	wipe_store(s);
	assert_int_equal(shell("%s EVAL \"redis.call('HSET', KEYS[1], 'id', "
	    "'a', 'fetched_at', '1', 'expires_at', '2', 'checked_at', '3', "
	    "'body', string.rep('z', %d))\" 1 '%sbigbody.test'", cli,
	    BODY_MAX + 1, pfx), 0);
	assert_int_equal(shell("%s HSET '%snoid.test' fetched_at 1 expires_at "
	    "2 checked_at 3 body b", cli, pfx), 0);
	assert_int_equal(shell("%s HSET '%stextnum.test' id a fetched_at 1x "
	    "expires_at 2 checked_at 3 body b", cli, pfx), 0);
	assert_int_equal(shell("%s HSET '%snegtime.test' id a fetched_at -1 "
	    "expires_at 2 checked_at 3 body b", cli, pfx), 0);
	assert_int_equal(shell("%s SET '%sstring.test' hello", cli, pfx), 0);
	assert_int_equal(shell("%s RPUSH '%slist.test' a b", cli, pfx), 0);
	assert_int_equal(shell("%s EVAL \"redis.call('HSET', KEYS[1], 'id', "
	    "'a', 'fetched_at', '1', 'expires_at', '2', 'checked_at', '3', "
	    "'body', 'a\\0b')\" 1 '%snulbyte.test'", cli, pfx), 0);
	assert_int_equal(shell("%s HSET '%slongid.test' id "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa fetched_at 1 expires_at 2 "
	    "checked_at 3 body b", cli, pfx), 0);
	assert_int_equal(shell("%s EVAL \"for i=1,100 do redis.call('HSET', "
	    "KEYS[1], 'f'..i, 'v') end redis.call('HSET', KEYS[1], 'id', 'a',"
	    " 'fetched_at', '1', 'expires_at', '2', 'checked_at', '3', "
	    "'body', 'b')\" 1 '%smanyfields.test'", cli, pfx), 0);
	assert_int_equal(shell("%s HSET '%shugenum.test' id a fetched_at "
	    "99999999999999999999999 expires_at 2 checked_at 3 body b", cli,
	    pfx), 0);
	/* keys under the prefix that are not domains, and a good one */
	assert_int_equal(shell("%s HSET '%sBAD..DOMAIN' id a fetched_at 1 "
	    "expires_at 2 checked_at 3 body b", cli, pfx), 0);
	assert_int_equal(shell("%s HSET '%sgood.test' id ok fetched_at 1 "
	    "expires_at 2 checked_at 3 body fine extra ignored", cli, pfx), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		get_sync(s, bad[i], &r);
		if (r.code != MTASTS_ENOTFOUND)
			print_error("%s: %d\n", bad[i], r.code);
		assert_int_equal(r.code, MTASTS_ENOTFOUND);
	}
	get_sync(s, "good.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.body, "fine");
	memset(&r, 0, sizeof(r));
	scan_sync(s, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, 1);
	/* a put replaces a damaged or foreign-typed key */
	{
		struct mtasts_store_record rec;

		make_rec(&rec, "string.test", "fixed", 5, "ok");
		assert_int_equal(put_sync(s, &rec), MTASTS_OK);
		get_sync(s, "string.test", &r);
		assert_int_equal(r.code, MTASTS_OK);
		assert_string_equal(r.rec.id, "fixed");
	}
	assert_int_equal(shell("redis-cli -u \"$MTASTS_TEST_REDIS\" --scan "
	    "--pattern '%s*' | xargs -r redis-cli -u \"$MTASTS_TEST_REDIS\" "
	    "DEL >/dev/null", pfx), 0);
	mtasts_store_close(s);
}

static void
test_redis_ttl(void **state)
{
	struct mtasts_store *s;
	struct mtasts_store_record rec;
	char u[1200], cmd[512];
	FILE *p;
	long ttl = -5;

	(void)state;
	snprintf(u, sizeof(u), "%s&ttl_grace=100", uri);
	s = open_store(u);
	make_rec(&rec, "ttl.test", "t", (int64_t)time(NULL), "x");
	rec.expires_at = rec.fetched_at + 1000;
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	snprintf(cmd, sizeof(cmd), "redis-cli -u \"$MTASTS_TEST_REDIS\" TTL "
	    "'%sttl.test'", redis_prefix());
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%ld", &ttl), 1);
	pclose(p);
	assert_true(ttl > 1000 && ttl <= 1100);
	assert_int_equal(del_sync(s, "ttl.test"), MTASTS_OK);
	mtasts_store_close(s);
	/* bad options are refused at open */
	{
		struct mtasts_error err;

		snprintf(u, sizeof(u), "%s&bogus=1", uri);
		assert_int_equal(mtasts_store_open(base, u, &s, &err),
		    MTASTS_EINVAL);
	}
}

static void
test_pgsql_hostile(void **state)
{
	struct mtasts_store *s = open_store(uri);
	const char *bad[] = {
		"bigbody.test", "nullid.test", "negtime.test",
		"backwards.test", "badid.test", "nulltime.test",
		"nullbody.test",
	};
	struct res r = {0};
	size_t i;

	(void)state;
	wipe_store(s);
	assert_int_equal(shell("psql -q -X -v ON_ERROR_STOP=1 "
	    "\"$MTASTS_TEST_PGSQL\" -c \"INSERT INTO mtasts_policy VALUES "
	    "('bigbody.test', 'a', 1, 2, 3, repeat('z', %d)),"
	    "('nullid.test', NULL, 1, 2, 3, 'b'),"
	    "('negtime.test', 'a', -1, 2, 3, 'b'),"
	    "('backwards.test', 'a', 10, 2, 3, 'b'),"
	    "('badid.test', 'a b', 1, 2, 3, 'b'),"
	    "('nulltime.test', 'a', 1, NULL, 3, 'b'),"
	    "('nullbody.test', 'a', 1, 2, 3, NULL),"
	    "('BAD..DOMAIN', 'a', 1, 2, 3, 'b'),"
	    "('good.test', 'ok', 1, 2, 3, 'fine')\" >/dev/null",
	    BODY_MAX + 1), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		get_sync(s, bad[i], &r);
		assert_int_equal(r.code, MTASTS_ENOTFOUND);
	}
	get_sync(s, "good.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	memset(&r, 0, sizeof(r));
	scan_sync(s, &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_int_equal(r.each, 1);
	/* a statement the server refuses fails alone: the connection
	 * stays usable (the database is UTF-8, this body is not) */
	{
		struct mtasts_store_record rec;

		make_rec(&rec, "latin1.test", "a", 1, "caf\xe9");
		assert_int_equal(put_sync(s, &rec), MTASTS_ESTORE);
		make_rec(&rec, "latin1.test", "a", 1, "cafe");
		assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	}
	assert_int_equal(shell("psql -q -X \"$MTASTS_TEST_PGSQL\" -c "
	    "\"DELETE FROM mtasts_policy\" >/dev/null"), 0);
	mtasts_store_close(s);
}

/* ---- faults (server stopped and started by the integration script) ----- */

static const char *stop_cmd, *start_cmd;

static void
wait_working(struct mtasts_store *s, const struct mtasts_store_record *rec,
    int secs)
{
	time_t end = time(NULL) + secs;
	int code = MTASTS_ESTORE;

	while (time(NULL) < end) {
		code = put_sync(s, rec);
		if (code == MTASTS_OK)
			break;
		pump_for_ms(200);
	}
	assert_int_equal(code, MTASTS_OK);
}

static void
test_fault_kill(void **state)
{
	enum { N = 300 };
	struct mtasts_store *s = open_store(uri), *s2;
	struct mtasts_store_record rec;
	static struct res rs[N];
	struct res r = {0}, sc = {0};
	int i, ok = 0, estore = 0;

	(void)state;
	log_warn = log_info = 0;
	mtasts_store_set_log(s, log_cb, NULL);
	make_rec(&rec, "fault.test", "f1", 100, "before");
	assert_int_equal(put_sync(s, &rec), MTASTS_OK);
	/* calls pending when the server dies */
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < N; i++)
		assert_int_equal(mtasts_store_get(s, "fault.test", get_cb,
		    &rs[i]), MTASTS_OK);
	assert_int_equal(mtasts_store_scan(s, each_cb, done_cb, &sc),
	    MTASTS_OK);
	assert_int_equal(shell("%s", stop_cmd), 0);
	pump_for_ms(1500);
	for (i = 0; i < N; i++) {
		assert_int_equal(rs[i].calls, 1);	/* exactly once */
		if (rs[i].code == MTASTS_OK)
			ok++;
		else if (rs[i].code == MTASTS_ESTORE)
			estore++;
	}
	assert_int_equal(ok + estore, N);
	assert_true(estore > 0);
	assert_int_equal(sc.calls, 1);
	print_message("  pending at kill: %d ok, %d ESTORE; scan %s\n", ok,
	    estore, mtasts_errname(sc.code));
	/* new calls fail fast, callback once and later */
	for (i = 0; i < 5; i++) {
		struct res g = {0};

		assert_int_equal(mtasts_store_get(s, "fault.test", get_cb, &g),
		    MTASTS_OK);
		assert_int_equal(g.calls, 0);
		pump(&g.calls, 1, 3);
		assert_int_equal(g.calls, 1);
		assert_int_equal(g.code, MTASTS_ESTORE);
		memset(&r, 0, sizeof(r));
		assert_int_equal(mtasts_store_put(s, &rec, done_cb, &r),
		    MTASTS_OK);
		pump(&r.calls, 1, 3);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.code, MTASTS_ESTORE);
	}
	pump_for_ms(2500);	/* a few reconnect attempts */
	assert_int_equal(log_warn, 1);	/* once per outage */
	assert_int_equal(shell("%s", start_cmd), 0);
	make_rec(&rec, "fault.test", "f2", 200, "after");
	wait_working(s, &rec, 40);
	get_sync(s, "fault.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	assert_string_equal(r.rec.id, "f2");
	assert_int_equal(log_warn, 1);
	assert_int_equal(log_info, 1);	/* "connected again" */
	print_message("  last log: %s\n", log_last);

	/* down at open: open succeeds, calls fail fast, then it recovers */
	assert_int_equal(shell("%s", stop_cmd), 0);
	log_warn = log_info = 0;
	s2 = open_store(uri);
	mtasts_store_set_log(s2, log_cb, NULL);
	get_sync(s2, "fault.test", &r);
	assert_int_equal(r.code, MTASTS_ESTORE);
	assert_true(log_warn >= 1);
	assert_int_equal(shell("%s", start_cmd), 0);
	wait_working(s2, &rec, 40);
	get_sync(s2, "fault.test", &r);
	assert_int_equal(r.code, MTASTS_OK);
	wait_working(s, &rec, 40);
	assert_int_equal(del_sync(s2, "fault.test"), MTASTS_OK);
	mtasts_store_close(s2);
	mtasts_store_close(s);
}

/* ---- main --------------------------------------------------------------- */

static const struct CMUnitTest common_tests[] = {
	cmocka_unit_test_setup(test_put_get_del, setup_each),
	cmocka_unit_test_setup(test_bad_args, setup_each),
	cmocka_unit_test_setup(test_body_max, setup_each),
	cmocka_unit_test_setup(test_scan, setup_each),
	cmocka_unit_test_setup(test_many, setup_each),
	cmocka_unit_test_setup(test_persist_and_share, setup_each),
	cmocka_unit_test_setup(test_close_pending, setup_each),
};

static const struct CMUnitTest sqlite_tests[] = {
	cmocka_unit_test_setup(test_sqlite_open_errors, setup_each),
	cmocka_unit_test_setup(test_sqlite_mode_and_schema, setup_each),
	cmocka_unit_test_setup(test_sqlite_hostile_rows, setup_each),
	cmocka_unit_test_setup(test_sqlite_file_removed, setup_each),
};

static const struct CMUnitTest sqlite_full_tests[] = {
	cmocka_unit_test(test_sqlite_disk_full),
};

static const struct CMUnitTest redis_tests[] = {
	cmocka_unit_test(test_redis_hostile),
	cmocka_unit_test(test_redis_ttl),
};

static const struct CMUnitTest pgsql_tests[] = {
	cmocka_unit_test(test_pgsql_hostile),
};

static const struct CMUnitTest fault_tests[] = {
	cmocka_unit_test(test_fault_kill),
};

/* Is the backend of u compiled in? */
static bool
compiled_in(const char *u)
{
	struct mtasts_store *s = NULL;
	struct mtasts_error err;
	int rc = mtasts_store_open(base, u, &s, &err);

	mtasts_store_close(s);
	return !(rc == MTASTS_EINVAL && strstr(err.msg, "built without"));
}

static int
run_server_groups(const char *name, const char *env, const char *extra,
    const struct CMUnitTest *own, size_t nown)
{
	const char *u = getenv(env);
	char buf[128];
	int fails = 0;

	if (u == NULL || *u == '\0') {
		print_message("[  SKIPPED ] %s groups (%s is not set)\n", name,
		    env);
		return 0;
	}
	snprintf(uri, sizeof(uri), "%s%s", u, extra);
	if (!compiled_in(uri)) {
		print_message("[  SKIPPED ] %s (built without it)\n", name);
		return 0;
	}
	backend = name;
	snprintf(buf, sizeof(buf), "store-%s", name);
	fails += _cmocka_run_group_tests(buf, common_tests,
	    sizeof(common_tests) / sizeof(common_tests[0]), NULL, NULL);
	snprintf(buf, sizeof(buf), "store-%s-specific", name);
	fails += _cmocka_run_group_tests(buf, own, nown, NULL, NULL);
	snprintf(buf, sizeof(buf), "MTASTS_TEST_%s_STOP",
	    strcmp(name, "redis") == 0 ? "REDIS" : "PGSQL");
	stop_cmd = getenv(buf);
	snprintf(buf, sizeof(buf), "MTASTS_TEST_%s_START",
	    strcmp(name, "redis") == 0 ? "REDIS" : "PGSQL");
	start_cmd = getenv(buf);
	if (stop_cmd != NULL && start_cmd != NULL) {
		snprintf(buf, sizeof(buf), "store-%s-faults", name);
		fails += _cmocka_run_group_tests(buf, fault_tests, 1, NULL,
		    NULL);
	} else {
		print_message("[  SKIPPED ] %s faults (no STOP/START "
		    "commands)\n", name);
	}
	return fails;
}

int
main(void)
{
	char redis_extra[128];
	int fails = 0;

	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	base = event_base_new();
	if (base == NULL)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mtasts-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;

	snprintf(uri, sizeof(uri), "sqlite:%s/probe.db", tmpdir);
	if (compiled_in(uri)) {
		backend = "sqlite";
		fails += cmocka_run_group_tests_name("store-sqlite",
		    common_tests, NULL, NULL);
		fails += cmocka_run_group_tests_name("store-sqlite-specific",
		    sqlite_tests, NULL, NULL);
		if (getenv("MTASTS_TEST_SQLITE_FULLDIR") != NULL)
			fails += cmocka_run_group_tests_name(
			    "store-sqlite-disk-full", sqlite_full_tests, NULL,
			    NULL);
	} else {
		print_message("[  SKIPPED ] sqlite (built without it)\n");
	}
	snprintf(redis_extra, sizeof(redis_extra), "?prefix=%s",
	    redis_prefix());
	fails += run_server_groups("redis", "MTASTS_TEST_REDIS", redis_extra,
	    redis_tests, sizeof(redis_tests) / sizeof(redis_tests[0]));
	fails += run_server_groups("postgresql", "MTASTS_TEST_PGSQL", "",
	    pgsql_tests, sizeof(pgsql_tests) / sizeof(pgsql_tests[0]));

	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fails++;
	}
	event_base_free(base);
	return fails;
}
