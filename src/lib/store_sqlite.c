/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c: the SQLite policy store ("sqlite:PATH").
 *
 * One table keyed by domain (schema version in PRAGMA user_version), WAL
 * journal, a busy timeout so that several processes may share the file,
 * statements prepared once at open. SQLite is synchronous and fast, so a
 * call only queues a job; one libevent event runs the queued jobs in
 * order and calls their callbacks, which keeps the async contract (the
 * callback never runs inside the call). Rows read back are checked with
 * mtasts_store_record_check(): a row that fails is "not found" to get()
 * and skipped by scan(), so a damaged row heals on the next put.
 */
#ifdef HAVE_SQLITE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "mtasts/store.h"
#include "store_backend.h"
#include "util/alloc.h"

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 5000
#define PATH_MAX_LEN 4096

enum job_kind { JOB_GET, JOB_PUT, JOB_DEL, JOB_SCAN };

struct job {
	struct job *next;
	enum job_kind kind;
	mtasts_store_get_cb get_cb;
	mtasts_store_done_cb done_cb;
	mtasts_store_each_cb each_cb;
	void *arg;
	char domain[MTASTS_DOMAIN_MAX + 1];
	char id[MTASTS_STS_ID_MAX + 1];
	int64_t fetched_at, expires_at, checked_at;
	char *body;	/* owned copy for put */
	size_t body_len;
};

enum { ST_GET, ST_PUT, ST_DEL, ST_SCAN, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
	"SELECT id, fetched_at, expires_at, checked_at, body "
	"FROM mtasts_policy WHERE domain = ?1",
	"INSERT OR REPLACE INTO mtasts_policy "
	"(domain, id, fetched_at, expires_at, checked_at, body) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	"DELETE FROM mtasts_policy WHERE domain = ?1",
	"SELECT domain, id, fetched_at, expires_at, checked_at, body "
	"FROM mtasts_policy",
};

struct sq {
	struct event_base *base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct event *ev;	/* runs the queue */
	struct job *head, *tail;
	size_t queued;
	char *path;
	dev_t dev;	/* identity of the file at open: a removed or */
	ino_t ino;	/* replaced file makes writes fail */
	mtasts_store_log_cb log;
	void *log_arg;
	bool failing;	/* last write failed (logged once) */
	bool running;	/* inside run_queue(): close is deferred */
	bool dead;	/* closed while running */
};

static void
job_free(struct job *j)
{
	mtasts__free(j->body);
	mtasts__free(j);
}

static void
sq_destroy(struct sq *s)
{
	struct job *j, *next;
	int i;

	for (j = s->head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	s->head = s->tail = NULL;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL)
		sqlite3_close_v2(s->db);
	if (s->ev != NULL)
		event_free(s->ev);
	mtasts__free(s->path);
	mtasts__free(s);
}

/*
 * Read the row under the cursor (columns starting at col: id,
 * fetched_at, expires_at, checked_at, body) into rec. false when any
 * column has the wrong type or the record fails the checks.
 */
static bool
row_to_record(sqlite3_stmt *st, int col, struct mtasts_store_record *rec)
{
	const unsigned char *t;
	int n, i;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT)
		return false;
	t = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	if (t == NULL || n <= 0 || n > MTASTS_STS_ID_MAX)
		return false;
	memcpy(rec->id, t, (size_t)n);
	rec->id[n] = '\0';
	for (i = 1; i <= 3; i++)
		if (sqlite3_column_type(st, col + i) != SQLITE_INTEGER)
			return false;
	rec->fetched_at = sqlite3_column_int64(st, col + 1);
	rec->expires_at = sqlite3_column_int64(st, col + 2);
	rec->checked_at = sqlite3_column_int64(st, col + 3);
	if (sqlite3_column_type(st, col + 4) != SQLITE_TEXT)
		return false;
	t = sqlite3_column_text(st, col + 4);
	n = sqlite3_column_bytes(st, col + 4);
	if (t == NULL || n < 0 || n > MTASTS_POLICY_BODY_MAX)
		return false;
	rec->body = (const char *)t;
	rec->body_len = (size_t)n;
	return mtasts_store_record_check(rec, NULL) == MTASTS_OK;
}

static void
write_failed(struct sq *s, const char *what, const char *why)
{
	if (s->failing)
		return;
	s->failing = true;
	mtasts__store_log(s->log, s->log_arg, LOG_WARNING,
	    "sqlite store %s: %s failed: %s; serving from memory", s->path,
	    what, why);
}

/* Is the file at path still the one we opened? SQLite itself keeps
 * writing into a removed file in WAL mode, silently losing the data. */
static bool
file_same(const struct sq *s)
{
	struct stat st;

	return stat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino;
}

static void
write_ok(struct sq *s)
{
	if (!s->failing)
		return;
	s->failing = false;
	mtasts__store_log(s->log, s->log_arg, LOG_INFO,
	    "sqlite store %s: writes work again", s->path);
}

static void
run_get(struct sq *s, struct job *j)
{
	struct mtasts_store_record rec;
	sqlite3_stmt *st = s->st[ST_GET];
	int rc;

	memset(&rec, 0, sizeof(rec));
	sqlite3_bind_text(st, 1, j->domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memcpy(rec.domain, j->domain, sizeof(rec.domain));
		if (row_to_record(st, 0, &rec))
			j->get_cb(j->arg, MTASTS_OK, &rec);
		else
			j->get_cb(j->arg, MTASTS_ENOTFOUND, NULL);
	} else if (rc == SQLITE_DONE) {
		j->get_cb(j->arg, MTASTS_ENOTFOUND, NULL);
	} else {
		j->get_cb(j->arg, MTASTS_ESTORE, NULL);
	}
	/* The store may be closed now: st belongs to it until sq_destroy,
	 * which only runs after run_queue returns. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int
exec_write(struct sq *s, sqlite3_stmt *st, const char *what)
{
	char why[300];
	int rc;

	if (!file_same(s)) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		write_failed(s, what, "the database file was removed or "
		    "replaced");
		return MTASTS_ESTORE;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(why, sizeof(why), "%s", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		write_failed(s, what, why);
		return MTASTS_ESTORE;
	}
	write_ok(s);
	return MTASTS_OK;
}

static void
run_put(struct sq *s, struct job *j)
{
	sqlite3_stmt *st = s->st[ST_PUT];
	int code;

	sqlite3_bind_text(st, 1, j->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, j->fetched_at);
	sqlite3_bind_int64(st, 4, j->expires_at);
	sqlite3_bind_int64(st, 5, j->checked_at);
	sqlite3_bind_text(st, 6, j->body != NULL ? j->body : "",
	    (int)j->body_len, SQLITE_STATIC);
	code = exec_write(s, st, "put");
	j->done_cb(j->arg, code);
}

static void
run_del(struct sq *s, struct job *j)
{
	sqlite3_stmt *st = s->st[ST_DEL];
	int code;

	sqlite3_bind_text(st, 1, j->domain, -1, SQLITE_STATIC);
	code = exec_write(s, st, "delete");
	j->done_cb(j->arg, code);
}

static void
run_scan(struct sq *s, struct job *j)
{
	struct mtasts_store_record rec;
	sqlite3_stmt *st = s->st[ST_SCAN];
	const unsigned char *d;
	int rc, n, code = MTASTS_OK;

	for (;;) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			code = MTASTS_ESTORE;
			break;
		}
		memset(&rec, 0, sizeof(rec));
		if (sqlite3_column_type(st, 0) != SQLITE_TEXT)
			continue;
		d = sqlite3_column_text(st, 0);
		n = sqlite3_column_bytes(st, 0);
		if (d == NULL || n <= 0 || n > MTASTS_DOMAIN_MAX)
			continue;
		memcpy(rec.domain, d, (size_t)n);
		rec.domain[n] = '\0';
		if (!row_to_record(st, 1, &rec))
			continue;
		if (j->each_cb(j->arg, &rec) != 0 || s->dead)
			break;
	}
	sqlite3_reset(st);
	if (!s->dead)
		j->done_cb(j->arg, code);
}

static void
run_queue(evutil_socket_t fd, short what, void *arg)
{
	struct sq *s = arg;
	struct job *j;

	(void)fd;
	(void)what;
	s->running = true;
	while (!s->dead && (j = s->head) != NULL) {
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued--;
		switch (j->kind) {
		case JOB_GET:
			run_get(s, j);
			break;
		case JOB_PUT:
			run_put(s, j);
			break;
		case JOB_DEL:
			run_del(s, j);
			break;
		case JOB_SCAN:
			run_scan(s, j);
			break;
		}
		job_free(j);
	}
	s->running = false;
	if (s->dead)
		sq_destroy(s);
}

static int
enqueue(struct sq *s, struct job *j)
{
	if (s->queued >= MTASTS__STORE_QUEUE_MAX) {
		job_free(j);
		return MTASTS_ESTORE;
	}
	if (s->tail != NULL)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued++;
	event_active(s->ev, EV_TIMEOUT, 0);
	return MTASTS_OK;
}

static int
open_fail(struct sq *s, struct mtasts_error *err, const char *path,
    const char *what, int rc)
{
	mtasts_error_set(err, MTASTS_ESTORE, "sqlite store %s: %s: %s", path,
	    what, s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	sq_destroy(s);
	return MTASTS_ESTORE;
}

/* Run one statement with no result rows wanted; SQLite code. */
static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int
schema_setup(struct sq *s, struct mtasts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, version;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return open_fail(s, err, s->path, "cannot read the schema",
		    rc);
	rc = sqlite3_step(st);
	version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return open_fail(s, err, s->path, "cannot read the schema",
		    rc);
	if (version > SCHEMA_VERSION) {
		mtasts_error_set(err, MTASTS_ESTORE,
		    "sqlite store %s: schema version %d is newer than this "
		    "program knows (%d)", s->path, version, SCHEMA_VERSION);
		sq_destroy(s);
		return MTASTS_ESTORE;
	}
	if (version == SCHEMA_VERSION)
		return MTASTS_OK;
	/* version 0: a new file (or one without our table). Future
	 * migrations go here, one step per version, in one transaction. */
	rc = exec_sql(s->db,
	    "BEGIN IMMEDIATE;"
	    "CREATE TABLE IF NOT EXISTS mtasts_policy ("
	    " domain TEXT PRIMARY KEY,"
	    " id TEXT,"
	    " fetched_at INTEGER,"
	    " expires_at INTEGER,"
	    " checked_at INTEGER,"
	    " body TEXT);"
	    "PRAGMA user_version = 1;"
	    "COMMIT;");
	if (rc != SQLITE_OK) {
		exec_sql(s->db, "ROLLBACK");
		return open_fail(s, err, s->path, "cannot create the table",
		    rc);
	}
	return MTASTS_OK;
}

static int
sq_open(struct event_base *base, const char *uri, void **impl,
    struct mtasts_error *err)
{
	const char *path;
	struct sq *s;
	struct stat st;
	int fd, rc, i;

	path = uri + strlen("sqlite:");
	if (strncmp(path, "//", 2) == 0)
		path += 2;	/* accept "sqlite:///abs/path" too */
	if (*path == '\0' || strlen(path) > PATH_MAX_LEN)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "sqlite store: empty or too long path in \"%.64s\"", uri);
	s = mtasts__calloc(1, sizeof(*s));
	if (s == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	s->base = base;
	s->path = mtasts__strdup(path);
	s->ev = event_new(base, -1, 0, run_queue, s);
	if (s->path == NULL || s->ev == NULL) {
		sq_destroy(s);
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	}
	/* Create the file ourselves so that it is private (0600); SQLite
	 * gives its -wal and -shm files the same mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		mtasts_error_set(err, MTASTS_ESTORE,
		    "sqlite store %s: cannot open: %s", path,
		    strerror(errno));
		sq_destroy(s);
		return MTASTS_ESTORE;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		mtasts_error_set(err, MTASTS_ESTORE,
		    "sqlite store %s: cannot stat: %s", path, strerror(errno));
		sq_destroy(s);
		return MTASTS_ESTORE;
	}
	close(fd);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	rc = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK)
		return open_fail(s, err, path, "cannot open", rc);
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* Reading the journal mode also reads the header: a file that is
	 * not a database fails here. */
	rc = exec_sql(s->db, "PRAGMA journal_mode = WAL");
	if (rc != SQLITE_OK)
		return open_fail(s, err, path, "cannot use it", rc);
	rc = exec_sql(s->db, "PRAGMA synchronous = NORMAL");
	if (rc != SQLITE_OK)
		return open_fail(s, err, path, "cannot use it", rc);
	if (schema_setup(s, err) != MTASTS_OK)
		return MTASTS_ESTORE;
	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return open_fail(s, err, path,
			    "unexpected table layout", rc);
	}
	*impl = s;
	return MTASTS_OK;
}

static void
sq_close(void *impl)
{
	struct sq *s = impl;

	if (s == NULL)
		return;
	if (s->running) {
		s->dead = true;
		return;
	}
	sq_destroy(s);
}

static struct job *
job_new(enum job_kind kind, void *arg)
{
	struct job *j;

	j = mtasts__calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->kind = kind;
	j->arg = arg;
	return j;
}

static int
sq_get(void *impl, const char *domain, mtasts_store_get_cb cb, void *arg)
{
	struct job *j;

	if ((j = job_new(JOB_GET, arg)) == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	j->get_cb = cb;
	return enqueue(impl, j);
}

static int
sq_put(void *impl, const struct mtasts_store_record *rec,
    mtasts_store_done_cb cb, void *arg)
{
	struct job *j;

	if ((j = job_new(JOB_PUT, arg)) == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(rec->domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	memcpy(j->id, rec->id, sizeof(j->id));
	j->id[MTASTS_STS_ID_MAX] = '\0';
	j->fetched_at = rec->fetched_at;
	j->expires_at = rec->expires_at;
	j->checked_at = rec->checked_at;
	j->body_len = rec->body_len;
	j->body = mtasts__strndup(rec->body_len ? rec->body : "",
	    rec->body_len);
	if (j->body == NULL) {
		job_free(j);
		return MTASTS_ENOMEM;
	}
	j->done_cb = cb;
	return enqueue(impl, j);
}

static int
sq_del(void *impl, const char *domain, mtasts_store_done_cb cb, void *arg)
{
	struct job *j;

	if ((j = job_new(JOB_DEL, arg)) == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	j->done_cb = cb;
	return enqueue(impl, j);
}

static int
sq_scan(void *impl, mtasts_store_each_cb each, mtasts_store_done_cb done,
    void *arg)
{
	struct job *j;

	if ((j = job_new(JOB_SCAN, arg)) == NULL)
		return MTASTS_ENOMEM;
	j->each_cb = each;
	j->done_cb = done;
	return enqueue(impl, j);
}

static void
sq_set_log(void *impl, mtasts_store_log_cb fn, void *arg)
{
	struct sq *s = impl;

	s->log = fn;
	s->log_arg = arg;
}

const struct mtasts_store_ops mtasts__store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.get = sq_get,
	.put = sq_put,
	.del = sq_del,
	.scan = sq_scan,
	.set_log = sq_set_log,
};

#endif /* HAVE_SQLITE */
