/* SPDX-License-Identifier: MIT */
/*
 * tlsrptd_counters.c: the TLS-RPT counter store (SQLite or PostgreSQL).
 *
 * The in-memory batch is a chained hash table of packed keys: a policy
 * key (kind 'P') holds success/failure counts, a detail key (kind 'D')
 * a failed-session count. A key is a run of NUL-terminated fields, so
 * the flush can split it back. In the database, a policy is named by a
 * digest of its identity (type, policy domain, strings, patterns) and a
 * detail by a digest of its tuple, so primary keys stay short whatever
 * the policy length. Every write adds (x = x + excluded.x).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif
#ifdef HAVE_PGSQL
#include <libpq-fe.h>
#endif

#include "util/alloc.h"
#include "tlsrptd_counters.h"

#define NBUCKETS 65536u
#define STAGED_MAX 256
#define DETAILS_DEFAULT 1000
#define KEY_MAX (80 * 1024)

enum backend { BE_SQLITE = 1, BE_PGSQL = 2 };

struct entry {
	struct entry *next;
	uint32_t hash;
	char kind; /* 'P' or 'D' */
	int64_t day;
	uint64_t a; /* success / failed-session count */
	uint64_t b; /* failure */
	size_t len;
	char key[];
};

struct staged_reject {
	char source[TLSRPTD_COUNTERS_NAME_MAX + 1];
	char reason[TLSRPTD_COUNTERS_NAME_MAX + 1];
	uint64_t n;
};

struct staged_cursor {
	char name[256];
	uint64_t identity;
	uint64_t offset;
};

struct tlsrptd_counters {
	enum backend be;
	char *uri;
#ifdef HAVE_SQLITE
	sqlite3 *db;
#endif
#ifdef HAVE_PGSQL
	PGconn *pg;
#endif
	struct entry **buckets;
	size_t nkeys;
	uint64_t nsessions;
	struct staged_reject rejects[STAGED_MAX];
	size_t nrejects;
	uint64_t rejects_lost;
	struct staged_cursor cursors[16];
	size_t ncursors;
	char *scratch; /* KEY_MAX bytes */
};

/* ---- days ---------------------------------------------------------- */

int64_t
tlsrptd_day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

char *
tlsrptd_day_format(int64_t day, char *buf, size_t size)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	if (size == 0)
		return buf;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

int
tlsrptd_day_parse(const char *s, int64_t *day)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) != 10)
		return MTASTS_ESYNTAX;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return MTASTS_ESYNTAX;
	*day = tlsrptd_day_of((int64_t)timegm(&tm));
	return MTASTS_OK;
}

/* ---- helpers ------------------------------------------------------- */

static uint32_t
hash_bytes(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

/* Valid UTF-8 without NUL, at most max bytes. */
static bool
field_ok(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != 0) {
		unsigned c = *p;
		int k;

		if (++n > max)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		p++;
		for (int i = 0; i < k; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			n++;
		}
		if (n > max)
			return false;
	}
	return true;
}

/* Append a NUL-terminated field to the key buffer. */
static bool
put_field(char *buf, size_t *len, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (*len + n + 1 > KEY_MAX)
		return false;
	if (n > 0)
		memcpy(buf + *len, s, n);
	buf[*len + n] = '\0';
	*len += n + 1;
	return true;
}

/* A JSON array of the strings (compact, UTF-8 kept, as jansson writes
 * it), as one field. Hand-written: this runs for every session. */
static bool
put_array(char *buf, size_t *len, const char *const *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = *len;

	/* worst case per byte: \u00XX (6) */
	if (j + 3 > KEY_MAX)
		return false;
	buf[j++] = '[';
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)v[i];

		if (v[i] == NULL || !field_ok(v[i], MTASTS_TLSRPT_FIELD_MAX) ||
		    j + 6 * MTASTS_TLSRPT_FIELD_MAX + 8 > KEY_MAX)
			return false;
		if (i > 0)
			buf[j++] = ',';
		buf[j++] = '"';
		for (; *p != 0; p++) {
			if (*p == '"' || *p == '\\') {
				buf[j++] = '\\';
				buf[j++] = (char)*p;
			} else if (*p < 0x20 || *p == 0x7f) {
				switch (*p) {
				case '\n':
					buf[j++] = '\\';
					buf[j++] = 'n';
					break;
				case '\t':
					buf[j++] = '\\';
					buf[j++] = 't';
					break;
				case '\r':
					buf[j++] = '\\';
					buf[j++] = 'r';
					break;
				default:
					buf[j++] = '\\';
					buf[j++] = 'u';
					buf[j++] = '0';
					buf[j++] = '0';
					buf[j++] = hex[*p >> 4];
					buf[j++] = hex[*p & 15];
				}
			} else {
				buf[j++] = (char)*p;
			}
		}
		buf[j++] = '"';
	}
	buf[j++] = ']';
	buf[j++] = '\0';
	*len = j;
	return true;
}

static int
set_store_err(struct mtasts_error *err, const char *what, const char *detail)
{
	return mtasts_error_set(err, MTASTS_ESTORE, "counter store: %s: %s",
				what, detail != NULL ? detail : "failed");
}

/* ---- database layer ------------------------------------------------ */

enum ptype { P_TEXT, P_INT };

struct param {
	enum ptype t;
	const char *s;
	int64_t i;
};

#define PT(x) ((struct param){P_TEXT, (x), 0})
#define PI(x) ((struct param){P_INT, NULL, (int64_t)(x)})

struct query {
	struct tlsrptd_counters *c;
#ifdef HAVE_SQLITE
	sqlite3_stmt *st;
#endif
#ifdef HAVE_PGSQL
	PGresult *res;
#endif
	int row;
	int nrows;
	int64_t changes;
};

#ifdef HAVE_PGSQL
static bool
pg_alive(struct tlsrptd_counters *c)
{
	if (c->pg == NULL)
		c->pg = PQconnectdb(c->uri);
	else if (PQstatus(c->pg) != CONNECTION_OK)
		PQreset(c->pg);
	return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}
#endif

/* Prepare, bind and run sql ($1.. placeholders). For statements that
 * return rows, read them with q_next(); always call q_done(). */
static int
q_run(struct tlsrptd_counters *c, struct query *q, const char *sql,
      const struct param *p, int np, struct mtasts_error *err)
{
	memset(q, 0, sizeof(*q));
	q->c = c;
	q->row = -1;
#ifdef HAVE_SQLITE
	if (c->be == BE_SQLITE) {
		char conv[2048];
		size_t j = 0;

		for (const char *s = sql; *s != '\0' && j + 2 < sizeof(conv);
		     s++)
			conv[j++] = *s == '$' ? '?' : *s;
		conv[j] = '\0';
		if (sqlite3_prepare_v2(c->db, conv, -1, &q->st, NULL) !=
		    SQLITE_OK)
			return set_store_err(err, "prepare",
					     sqlite3_errmsg(c->db));
		for (int i = 0; i < np; i++) {
			int rc = p[i].t == P_INT
				     ? sqlite3_bind_int64(q->st, i + 1, p[i].i)
				     : sqlite3_bind_text(q->st, i + 1,
							 p[i].s != NULL ? p[i].s
									: "",
							 -1, SQLITE_STATIC);
			if (rc != SQLITE_OK)
				return set_store_err(err, "bind",
						     sqlite3_errmsg(c->db));
		}
		return MTASTS_OK;
	}
#endif
#ifdef HAVE_PGSQL
	if (c->be == BE_PGSQL) {
		char ibuf[16][24];
		const char *vals[16];
		ExecStatusType st;

		if (np > 16)
			return mtasts_error_set(err, MTASTS_EINTERNAL,
						"too many parameters");
		if (!pg_alive(c))
			return set_store_err(err, "connect",
					     c->pg != NULL
						 ? PQerrorMessage(c->pg)
						 : "out of memory");
		for (int i = 0; i < np; i++) {
			if (p[i].t == P_INT) {
				snprintf(ibuf[i], sizeof(ibuf[i]), "%" PRId64,
					 p[i].i);
				vals[i] = ibuf[i];
			} else {
				vals[i] = p[i].s != NULL ? p[i].s : "";
			}
		}
		q->res =
		    PQexecParams(c->pg, sql, np, NULL, vals, NULL, NULL, 0);
		st = PQresultStatus(q->res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			return set_store_err(err, "query",
					     PQerrorMessage(c->pg));
		q->nrows = PQntuples(q->res);
		q->changes = strtoll(PQcmdTuples(q->res), NULL, 10);
		return MTASTS_OK;
	}
#endif
	(void)p;
	(void)np;
	(void)sql;
	return mtasts_error_set(err, MTASTS_EINTERNAL, "no backend");
}

/* Next row: 1 row, 0 done, <0 error. */
static int
q_next(struct query *q, struct mtasts_error *err)
{
#ifdef HAVE_SQLITE
	if (q->c->be == BE_SQLITE) {
		int rc = sqlite3_step(q->st);

		if (rc == SQLITE_ROW)
			return 1;
		if (rc == SQLITE_DONE) {
			q->changes = sqlite3_changes(q->c->db);
			return 0;
		}
		return set_store_err(err, "step", sqlite3_errmsg(q->c->db));
	}
#endif
	(void)err;
	q->row++;
	return q->row < q->nrows ? 1 : 0;
}

/* Run a statement without rows. */
static int q_exec(struct tlsrptd_counters *c, const char *sql,
		  const struct param *p, int np, int64_t *changes,
		  struct mtasts_error *err);

static const char *
q_text(struct query *q, int col)
{
#ifdef HAVE_SQLITE
	if (q->c->be == BE_SQLITE) {
		const char *s = (const char *)sqlite3_column_text(q->st, col);
		return s != NULL ? s : "";
	}
#endif
#ifdef HAVE_PGSQL
	return PQgetvalue(q->res, q->row, col);
#else
	(void)col;
	return "";
#endif
}

static int64_t
q_int(struct query *q, int col)
{
#ifdef HAVE_SQLITE
	if (q->c->be == BE_SQLITE)
		return sqlite3_column_int64(q->st, col);
#endif
	return strtoll(q_text(q, col), NULL, 10);
}

static void
q_done(struct query *q)
{
#ifdef HAVE_SQLITE
	if (q->st != NULL)
		sqlite3_finalize(q->st);
	q->st = NULL;
#endif
#ifdef HAVE_PGSQL
	if (q->res != NULL)
		PQclear(q->res);
	q->res = NULL;
#endif
}

static int
q_exec(struct tlsrptd_counters *c, const char *sql, const struct param *p,
       int np, int64_t *changes, struct mtasts_error *err)
{
	struct query q;
	int rc = q_run(c, &q, sql, p, np, err);

	if (rc == MTASTS_OK) {
		while ((rc = q_next(&q, err)) > 0)
			;
		if (changes != NULL)
			*changes = q.changes;
	}
	q_done(&q);
	return rc;
}

static int
exec_plain(struct tlsrptd_counters *c, const char *sql,
	   struct mtasts_error *err)
{
#ifdef HAVE_SQLITE
	if (c->be == BE_SQLITE) {
		char *msg = NULL;

		if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			int rc = set_store_err(err, sql, msg);
			sqlite3_free(msg);
			return rc;
		}
		return MTASTS_OK;
	}
#endif
#ifdef HAVE_PGSQL
	if (c->be == BE_PGSQL) {
		PGresult *res;
		ExecStatusType st;

		if (!pg_alive(c))
			return set_store_err(err, "connect",
					     c->pg != NULL
						 ? PQerrorMessage(c->pg)
						 : "out of memory");
		res = PQexec(c->pg, sql);
		st = PQresultStatus(res);
		PQclear(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			return set_store_err(err, sql, PQerrorMessage(c->pg));
		return MTASTS_OK;
	}
#endif
	return q_exec(c, sql, NULL, 0, NULL, err);
}

static void
rollback(struct tlsrptd_counters *c)
{
	exec_plain(c, "ROLLBACK", NULL);
}

/* ---- schema -------------------------------------------------------- */

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS tlsrpt_policy (day BIGINT NOT NULL,"
    " domain TEXT NOT NULL, policy_key TEXT NOT NULL,"
    " policy_type INTEGER NOT NULL, policy_domain TEXT NOT NULL,"
    " policy_strings TEXT NOT NULL, mx_patterns TEXT NOT NULL,"
    " success BIGINT NOT NULL, failure BIGINT NOT NULL,"
    " PRIMARY KEY (day, domain, policy_key))",
    "CREATE TABLE IF NOT EXISTS tlsrpt_detail (day BIGINT NOT NULL,"
    " domain TEXT NOT NULL, policy_key TEXT NOT NULL,"
    " detail_key TEXT NOT NULL, result INTEGER NOT NULL,"
    " result_text TEXT NOT NULL, sending_ip TEXT NOT NULL,"
    " mx_hostname TEXT NOT NULL, helo TEXT NOT NULL,"
    " receiving_ip TEXT NOT NULL, additional TEXT NOT NULL,"
    " reason TEXT NOT NULL, count BIGINT NOT NULL,"
    " PRIMARY KEY (day, domain, policy_key, detail_key))",
    "CREATE TABLE IF NOT EXISTS tlsrpt_reject (source TEXT NOT NULL,"
    " reason TEXT NOT NULL, count BIGINT NOT NULL,"
    " PRIMARY KEY (source, reason))",
    "CREATE TABLE IF NOT EXISTS tlsrpt_cursor (name TEXT PRIMARY KEY,"
    " identity BIGINT NOT NULL, off BIGINT NOT NULL,"
    " updated BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tlsrpt_closed (day BIGINT PRIMARY KEY,"
    " closed_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tlsrpt_reported (day BIGINT NOT NULL,"
    " domain TEXT NOT NULL, report_id TEXT NOT NULL,"
    " at BIGINT NOT NULL, PRIMARY KEY (day, domain))",
    "CREATE TABLE IF NOT EXISTS tlsrpt_delivery (day BIGINT NOT NULL,"
    " domain TEXT NOT NULL, destination TEXT NOT NULL,"
    " report_id TEXT NOT NULL, status INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, next_retry BIGINT NOT NULL,"
    " give_up_at BIGINT NOT NULL, updated BIGINT NOT NULL,"
    " last_error TEXT NOT NULL,"
    " PRIMARY KEY (day, domain, destination))",
};

static int
create_schema(struct tlsrptd_counters *c, struct mtasts_error *err)
{
	int rc;

#ifdef HAVE_PGSQL
	/* Serialise concurrent first starts on one database. */
	if (c->be == BE_PGSQL &&
	    (rc = exec_plain(c,
			     "BEGIN; SELECT pg_advisory_xact_lock("
			     "84608460)",
			     err)) != MTASTS_OK)
		return rc;
#endif
	for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++) {
		if ((rc = exec_plain(c, schema[i], err)) != MTASTS_OK) {
			if (c->be == BE_PGSQL)
				rollback(c);
			return rc;
		}
	}
	if (c->be == BE_PGSQL)
		return exec_plain(c, "COMMIT", err);
	return MTASTS_OK;
}

/* ---- open / close -------------------------------------------------- */

struct tlsrptd_counters *
tlsrptd_counters_open(const char *uri, struct mtasts_error *err)
{
	struct tlsrptd_counters *c;
	const char *path = NULL;

	if (uri == NULL)
		uri = TLSRPTD_COUNTERS_DEFAULT_URI;
	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL)
		goto oom;
	c->buckets = mtasts__calloc(NBUCKETS, sizeof(*c->buckets));
	c->scratch = mtasts__malloc(KEY_MAX);
	c->uri = mtasts__strdup(uri);
	if (c->buckets == NULL || c->scratch == NULL || c->uri == NULL)
		goto oom;
	if (strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres://", 11) == 0) {
#ifdef HAVE_PGSQL
		c->be = BE_PGSQL;
		c->pg = PQconnectdb(uri);
		if (c->pg == NULL)
			goto oom;
		if (PQstatus(c->pg) != CONNECTION_OK) {
			set_store_err(err, "connect", PQerrorMessage(c->pg));
			goto fail;
		}
		exec_plain(c, "SET client_min_messages = warning", NULL);
#else
		mtasts_error_set(err, MTASTS_EINVAL,
				 "built without PostgreSQL support");
		goto fail;
#endif
	} else if (strncmp(uri, "sqlite:", 7) == 0) {
		path = uri + 7;
	} else if (strchr(uri, ':') == NULL || uri[0] == '/') {
		path = uri;
	} else {
		mtasts_error_set(err, MTASTS_EINVAL,
				 "counter store: unknown URI scheme: %.64s",
				 uri);
		goto fail;
	}
	if (path != NULL) {
#ifdef HAVE_SQLITE
		c->be = BE_SQLITE;
		if (sqlite3_open_v2(path, &c->db,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK) {
			set_store_err(err, path,
				      c->db != NULL ? sqlite3_errmsg(c->db)
						    : "out of memory");
			goto fail;
		}
		sqlite3_busy_timeout(c->db, 5000);
		if (exec_plain(c, "PRAGMA journal_mode=WAL", err) !=
			MTASTS_OK ||
		    exec_plain(c, "PRAGMA synchronous=NORMAL", err) !=
			MTASTS_OK)
			goto fail;
#else
		mtasts_error_set(err, MTASTS_EINVAL,
				 "built without SQLite support");
		goto fail;
#endif
	}
	if (create_schema(c, err) != MTASTS_OK)
		goto fail;
	return c;
oom:
	mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
fail:
	if (c != NULL) {
		c->nkeys = 0;
		tlsrptd_counters_close(c);
	}
	return NULL;
}

static void
batch_clear(struct tlsrptd_counters *c)
{
	if (c->buckets == NULL)
		return;
	if (c->nkeys > 0) {
		for (size_t i = 0; i < NBUCKETS; i++) {
			struct entry *e = c->buckets[i], *n;

			for (; e != NULL; e = n) {
				n = e->next;
				mtasts__free(e);
			}
			c->buckets[i] = NULL;
		}
	}
	c->nkeys = 0;
	c->nsessions = 0;
}

void
tlsrptd_counters_close(struct tlsrptd_counters *c)
{
	if (c == NULL)
		return;
	if (c->be != 0 && (c->nkeys > 0 || c->nrejects > 0 || c->ncursors > 0))
		tlsrptd_counters_flush(c, NULL);
	batch_clear(c);
#ifdef HAVE_SQLITE
	if (c->db != NULL)
		sqlite3_close_v2(c->db);
#endif
#ifdef HAVE_PGSQL
	if (c->pg != NULL)
		PQfinish(c->pg);
#endif
	mtasts__free(c->buckets);
	mtasts__free(c->scratch);
	mtasts__free(c->uri);
	mtasts__free(c);
}

const char *
tlsrptd_counters_backend(const struct tlsrptd_counters *c)
{
	return c->be == BE_PGSQL ? "postgresql" : "sqlite";
}

/* ---- write side ---------------------------------------------------- */

static struct entry *
batch_get(struct tlsrptd_counters *c, char kind, int64_t day, const char *key,
	  size_t len)
{
	uint32_t h = hash_bytes(key, len) ^ (uint32_t)day ^ (uint32_t)kind;
	struct entry **b = &c->buckets[h % NBUCKETS], *e;

	for (e = *b; e != NULL; e = e->next)
		if (e->hash == h && e->kind == kind && e->day == day &&
		    e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	if (c->nkeys >= TLSRPTD_COUNTERS_BATCH_MAX)
		return NULL;
	e = mtasts__malloc(sizeof(*e) + len);
	if (e == NULL)
		return NULL;
	e->hash = h;
	e->kind = kind;
	e->day = day;
	e->a = e->b = 0;
	e->len = len;
	memcpy(e->key, key, len);
	e->next = *b;
	*b = e;
	c->nkeys++;
	return e;
}

static bool
opt_ok(const char *s)
{
	return s == NULL || field_ok(s, MTASTS_TLSRPT_FIELD_MAX);
}

/* 0 ok, 1 invalid session, -1 batch full / OOM. */
static int
add_one(struct tlsrptd_counters *c, const struct mtasts_tlsrpt_session *s)
{
	char *k = c->scratch;
	size_t len = 0;
	const char *rdom;
	const char *rtext;
	char tbuf[4];
	int64_t day;
	struct entry *p, *d = NULL;
	bool want_detail;

	rdom = s->report_domain != NULL ? s->report_domain : s->policy_domain;
	if (s->policy_domain == NULL || rdom == NULL ||
	    s->policy_domain[0] == '\0' || rdom[0] == '\0' ||
	    !field_ok(s->policy_domain, MTASTS_TLSRPT_FIELD_MAX) ||
	    !field_ok(rdom, MTASTS_TLSRPT_FIELD_MAX) ||
	    (unsigned)s->policy_type > MTASTS_TLSRPT_POLICY_NONE ||
	    s->policy_string_count > MTASTS_TLSRPT_STRINGS_MAX ||
	    s->mx_pattern_count > MTASTS_TLSRPT_STRINGS_MAX ||
	    (s->policy_string_count > 0 && s->policy_strings == NULL) ||
	    (s->mx_pattern_count > 0 && s->mx_patterns == NULL))
		return 1;
	day = tlsrptd_day_of(s->time > 0 ? s->time : (int64_t)time(NULL));
	snprintf(tbuf, sizeof(tbuf), "%d", (int)s->policy_type);
	if (!put_field(k, &len, rdom) || !put_field(k, &len, tbuf) ||
	    !put_field(k, &len, s->policy_domain) ||
	    !put_array(k, &len, s->policy_strings, s->policy_string_count) ||
	    !put_array(k, &len, s->mx_patterns, s->mx_pattern_count))
		return 1;
	want_detail = !s->success && !s->no_failure_detail;
	if (s->detail_only && !want_detail)
		return 1;
	if (want_detail) {
		size_t plen = len;
		char rbuf[4];

		if ((unsigned)s->result > MTASTS_TLSRPT_R_OTHER)
			return 1;
		rtext = mtasts_tlsrpt_result_name(s->result);
		if (rtext == NULL)
			rtext = s->result_text;
		if (rtext == NULL || rtext[0] == '\0' || !opt_ok(rtext) ||
		    !opt_ok(s->sending_mta_ip) ||
		    !opt_ok(s->receiving_mx_hostname) ||
		    !opt_ok(s->receiving_mx_helo) || !opt_ok(s->receiving_ip) ||
		    !opt_ok(s->additional_information) ||
		    !opt_ok(s->failure_reason_code))
			return 1;
		snprintf(rbuf, sizeof(rbuf), "%d", (int)s->result);
		if (!put_field(k, &len, rbuf) || !put_field(k, &len, rtext) ||
		    !put_field(k, &len, s->sending_mta_ip) ||
		    !put_field(k, &len, s->receiving_mx_hostname) ||
		    !put_field(k, &len, s->receiving_mx_helo) ||
		    !put_field(k, &len, s->receiving_ip) ||
		    !put_field(k, &len, s->additional_information) ||
		    !put_field(k, &len, s->failure_reason_code))
			return 1;
		/* Reserve both keys before counting either. */
		p = batch_get(c, 'P', day, k, plen);
		if (p == NULL)
			return -1;
		d = batch_get(c, 'D', day, k, len);
		if (d == NULL)
			return -1;
	} else {
		p = batch_get(c, 'P', day, k, len);
		if (p == NULL)
			return -1;
	}
	if (d != NULL)
		d->a++;
	if (!s->detail_only) {
		if (s->success)
			p->a++;
		else
			p->b++;
		c->nsessions++;
	}
	return 0;
}

int
tlsrptd_counters_add(struct tlsrptd_counters *c,
		     const struct mtasts_tlsrpt_session *sessions, size_t n,
		     size_t *added, struct mtasts_error *err)
{
	size_t i;

	if (added != NULL)
		*added = 0;
	for (i = 0; i < n; i++) {
		int r = add_one(c, &sessions[i]);

		if (r > 0) {
			tlsrptd_counters_reject(c, "store", "invalid-session",
						1);
		} else if (r < 0) {
			if (c->nkeys >= TLSRPTD_COUNTERS_BATCH_MAX)
				return mtasts_error_set(
				    err, MTASTS_ETOOBIG,
				    "counter batch full (%zu keys)", c->nkeys);
			return mtasts_error_set(err, MTASTS_ENOMEM,
						"out of memory");
		}
		if (added != NULL)
			*added = i + 1;
	}
	return MTASTS_OK;
}

void
tlsrptd_counters_reject(struct tlsrptd_counters *c, const char *source,
			const char *reason, uint64_t n)
{
	struct staged_reject *r;

	if (source == NULL || reason == NULL || n == 0)
		return;
	for (size_t i = 0; i < c->nrejects; i++) {
		r = &c->rejects[i];
		if (strncmp(r->source, source, TLSRPTD_COUNTERS_NAME_MAX) ==
			0 &&
		    strncmp(r->reason, reason, TLSRPTD_COUNTERS_NAME_MAX) ==
			0) {
			r->n += n;
			return;
		}
	}
	if (c->nrejects >= STAGED_MAX) {
		c->rejects_lost += n;
		return;
	}
	r = &c->rejects[c->nrejects++];
	snprintf(r->source, sizeof(r->source), "%s", source);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->n = n;
}

void
tlsrptd_counters_set_cursor(struct tlsrptd_counters *c, const char *name,
			    uint64_t identity, uint64_t offset)
{
	size_t i;

	for (i = 0; i < c->ncursors; i++)
		if (strcmp(c->cursors[i].name, name) == 0)
			break;
	if (i == c->ncursors) {
		if (c->ncursors >= sizeof(c->cursors) / sizeof(c->cursors[0]))
			return;
		c->ncursors++;
		snprintf(c->cursors[i].name, sizeof(c->cursors[i].name), "%s",
			 name);
	}
	c->cursors[i].identity = identity;
	c->cursors[i].offset = offset;
}

int
tlsrptd_counters_get_cursor(struct tlsrptd_counters *c, const char *name,
			    uint64_t *identity, uint64_t *offset,
			    struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PT(name)};
	int rc;

	for (size_t i = 0; i < c->ncursors; i++) {
		if (strcmp(c->cursors[i].name, name) == 0) {
			*identity = c->cursors[i].identity;
			*offset = c->cursors[i].offset;
			return MTASTS_OK;
		}
	}
	rc = q_run(c, &q,
		   "SELECT identity, off FROM tlsrpt_cursor WHERE name = $1", p,
		   1, err);
	if (rc == MTASTS_OK) {
		rc = q_next(&q, err);
		if (rc > 0) {
			*identity = (uint64_t)q_int(&q, 0);
			*offset = (uint64_t)q_int(&q, 1);
			rc = MTASTS_OK;
		} else if (rc == 0) {
			rc = MTASTS_ENOTFOUND;
		}
	}
	q_done(&q);
	return rc;
}

size_t
tlsrptd_counters_pending(const struct tlsrptd_counters *c, uint64_t *sessions)
{
	if (sessions != NULL)
		*sessions = c->nsessions;
	return c->nkeys;
}

/* Hex digest of n fields starting at p (NUL-separated). */
static void
digest_fields(const char *p, int n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *q = p;
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
		q += strlen(q) + 1;
	if (EVP_Digest(p, (size_t)(q - p), md, &mdlen, EVP_sha256(), NULL) !=
		1 ||
	    mdlen < 16)
		memset(md, 0, 16);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r;

	if (x->kind != y->kind)
		return x->kind == 'P' ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	r = memcmp(x->key, y->key, n);
	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int
write_entry(struct tlsrptd_counters *c, const struct entry *e,
	    struct mtasts_error *err)
{
	const char *f[15] = {0};
	const char *q = e->key;
	int nf = 0;
	char pkey[33], dkey[33];

	while (q < e->key + e->len && nf < 15) {
		f[nf++] = q;
		q += strlen(q) + 1;
	}
	/* f: 0 rdom, 1 type, 2 pdomain, 3 strings, 4 mx,
	 *    5 result, 6 rtext, 7 s, 8 n, 9 h, 10 r, 11 a, 12 f */
	if (nf < 5)
		return mtasts_error_set(err, MTASTS_EINTERNAL, "bad key");
	digest_fields(f[1], 4, pkey);
	if (e->kind == 'P') {
		struct param p[] = {
		    PI(e->day), PT(f[0]), PT(pkey), PI(strtol(f[1], NULL, 10)),
		    PT(f[2]),   PT(f[3]), PT(f[4]), PI(e->a),
		    PI(e->b)};
		return q_exec(
		    c,
		    "INSERT INTO tlsrpt_policy (day, domain, policy_key,"
		    " policy_type, policy_domain, policy_strings, mx_patterns,"
		    " success, failure) VALUES ($1, $2, $3, $4, $5, $6, $7,"
		    " $8, $9) ON CONFLICT (day, domain, policy_key) DO UPDATE"
		    " SET success = tlsrpt_policy.success + excluded.success,"
		    " failure = tlsrpt_policy.failure + excluded.failure",
		    p, 9, NULL, err);
	}
	if (nf < 13)
		return mtasts_error_set(err, MTASTS_EINTERNAL, "bad key");
	digest_fields(f[5], 8, dkey);
	{
		struct param p[] = {PI(e->day),
				    PT(f[0]),
				    PT(pkey),
				    PT(dkey),
				    PI(strtol(f[5], NULL, 10)),
				    PT(f[6]),
				    PT(f[7]),
				    PT(f[8]),
				    PT(f[9]),
				    PT(f[10]),
				    PT(f[11]),
				    PT(f[12]),
				    PI(e->a)};
		return q_exec(
		    c,
		    "INSERT INTO tlsrpt_detail (day, domain, policy_key,"
		    " detail_key, result, result_text, sending_ip,"
		    " mx_hostname, helo, receiving_ip, additional, reason,"
		    " count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
		    " $11, $12, $13) ON CONFLICT (day, domain, policy_key,"
		    " detail_key) DO UPDATE SET count = tlsrpt_detail.count +"
		    " excluded.count",
		    p, 13, NULL, err);
	}
}

static int
day_is_closed(struct tlsrptd_counters *c, int64_t day, bool *closed,
	      struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PI(day)};
	int rc = q_run(c, &q, "SELECT 1 FROM tlsrpt_closed WHERE day = $1", p,
		       1, err);

	if (rc == MTASTS_OK) {
		rc = q_next(&q, err);
		if (rc >= 0) {
			*closed = rc > 0;
			rc = MTASTS_OK;
		}
	}
	q_done(&q);
	return rc;
}

int
tlsrptd_counters_flush(struct tlsrptd_counters *c, struct mtasts_error *err)
{
	struct entry **v = NULL;
	size_t n = 0;
	int rc;
	int64_t lastday = INT64_MIN;
	bool closed = false;
	uint64_t late = 0;

	if (c->nkeys == 0 && c->nrejects == 0 && c->ncursors == 0)
		return MTASTS_OK;
	if (c->nkeys > 0) {
		v = mtasts__malloc(c->nkeys * sizeof(*v));
		if (v == NULL)
			return mtasts_error_set(err, MTASTS_ENOMEM,
						"out of memory");
		for (size_t i = 0; i < NBUCKETS; i++)
			for (struct entry *e = c->buckets[i]; e != NULL;
			     e = e->next)
				v[n++] = e;
		qsort(v, n, sizeof(*v), cmp_entry);
	}
	rc = exec_plain(c, c->be == BE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN",
			err);
	if (rc != MTASTS_OK)
		goto out;
	for (size_t i = 0; i < n && rc == MTASTS_OK; i++) {
		if (v[i]->day != lastday) {
			lastday = v[i]->day;
			if (c->be == BE_PGSQL) {
				struct param p[] = {PI(lastday)};
				rc =
				    q_exec(c,
					   "SELECT pg_advisory_xact_lock_shared"
					   "(84608461, $1::int)",
					   p, 1, NULL, err);
				if (rc != MTASTS_OK)
					break;
			}
			rc = day_is_closed(c, lastday, &closed, err);
			if (rc != MTASTS_OK)
				break;
		}
		if (closed) {
			if (v[i]->kind == 'P')
				late += v[i]->a + v[i]->b;
			continue;
		}
		rc = write_entry(c, v[i], err);
	}
	for (size_t i = 0; i < c->nrejects + (late > 0) && rc == MTASTS_OK;
	     i++) {
		struct param p[3];

		if (i < c->nrejects) {
			p[0] = PT(c->rejects[i].source);
			p[1] = PT(c->rejects[i].reason);
			p[2] = PI(c->rejects[i].n);
		} else {
			p[0] = PT("store");
			p[1] = PT("late");
			p[2] = PI(late);
		}
		rc = q_exec(c,
			    "INSERT INTO tlsrpt_reject (source, reason, count)"
			    " VALUES ($1, $2, $3) ON CONFLICT (source, reason)"
			    " DO UPDATE SET count = tlsrpt_reject.count +"
			    " excluded.count",
			    p, 3, NULL, err);
	}
	for (size_t i = 0; i < c->ncursors && rc == MTASTS_OK; i++) {
		struct param p[] = {PT(c->cursors[i].name),
				    PI(c->cursors[i].identity),
				    PI(c->cursors[i].offset), PI(time(NULL))};
		rc =
		    q_exec(c,
			   "INSERT INTO tlsrpt_cursor (name, identity, off,"
			   " updated) VALUES ($1, $2, $3, $4) ON CONFLICT"
			   " (name) DO UPDATE SET identity = excluded.identity,"
			   " off = excluded.off, updated = excluded.updated",
			   p, 4, NULL, err);
	}
	if (rc == MTASTS_OK)
		rc = exec_plain(c, "COMMIT", err);
	if (rc != MTASTS_OK) {
		rollback(c);
		goto out;
	}
	batch_clear(c);
	c->nrejects = 0;
	c->ncursors = 0;
out:
	mtasts__free(v);
	return rc;
}

/* ---- read side ----------------------------------------------------- */

int
tlsrptd_counters_list_days(struct tlsrptd_counters *c, tlsrptd_day_cb cb,
			   void *arg, struct mtasts_error *err)
{
	struct query q;
	int rc = q_run(c, &q,
		       "SELECT d.day, (SELECT count(*) FROM tlsrpt_closed x"
		       " WHERE x.day = d.day) FROM (SELECT DISTINCT day FROM"
		       " tlsrpt_policy) d ORDER BY d.day",
		       NULL, 0, err);

	while (rc == MTASTS_OK) {
		int r = q_next(&q, err);

		if (r <= 0) {
			rc = r;
			break;
		}
		rc = cb(q_int(&q, 0), q_int(&q, 1) > 0, arg);
	}
	q_done(&q);
	return rc;
}

int
tlsrptd_counters_list_domains(struct tlsrptd_counters *c, int64_t day,
			      tlsrptd_domain_cb cb, void *arg,
			      struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PI(day)};
	int rc = q_run(c, &q,
		       "SELECT p.domain, sum(p.success), sum(p.failure),"
		       " (SELECT count(*) FROM tlsrpt_reported r WHERE"
		       " r.day = p.day AND r.domain = p.domain) FROM"
		       " tlsrpt_policy p WHERE p.day = $1 GROUP BY p.day,"
		       " p.domain ORDER BY p.domain",
		       p, 1, err);

	while (rc == MTASTS_OK) {
		struct tlsrptd_domain_total t;
		int r = q_next(&q, err);

		if (r <= 0) {
			rc = r;
			break;
		}
		t.day = day;
		t.domain = q_text(&q, 0);
		t.success = (uint64_t)q_int(&q, 1);
		t.failure = (uint64_t)q_int(&q, 2);
		t.reported = q_int(&q, 3) > 0;
		rc = cb(&t, arg);
	}
	q_done(&q);
	return rc;
}

/* Strings of a JSON array text into v (pointing into *json). */
static size_t
split_array(const char *text, json_t **json, const char **v, size_t max)
{
	size_t n = 0, i;
	json_t *it;

	*json = json_loads(text, 0, NULL);
	if (*json == NULL || !json_is_array(*json))
		return 0;
	json_array_foreach(*json, i, it)
	{
		if (n < max && json_is_string(it))
			v[n++] = json_string_value(it);
	}
	return n;
}

static const char *
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int
read_details(struct tlsrptd_counters *c, struct tlsrptd_policy_agg *a,
	     const char *pkey, size_t max, struct tlsrptd_failure_detail **dv,
	     char ***sv, struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PI(a->day), PT(a->report_domain), PT(pkey),
			    PI((int64_t)max)};
	size_t n = 0, cap = 0;
	int rc;

	rc = q_run(c, &q,
		   "SELECT result, result_text, sending_ip, mx_hostname, helo,"
		   " receiving_ip, additional, reason, count FROM tlsrpt_detail"
		   " WHERE day = $1 AND domain = $2 AND policy_key = $3 ORDER"
		   " BY count DESC, detail_key LIMIT $4",
		   p, 4, err);
	while (rc == MTASTS_OK) {
		int r = q_next(&q, err);
		struct tlsrptd_failure_detail *d;

		if (r <= 0) {
			rc = r;
			break;
		}
		if (n == cap) {
			size_t nc = cap == 0 ? 16 : cap * 2;
			void *x = mtasts__realloc(*dv, nc * sizeof(**dv));
			void *y =
			    x != NULL
				? mtasts__realloc(*sv, nc * 7 * sizeof(char *))
				: NULL;

			if (x != NULL)
				*dv = x;
			if (y == NULL) {
				rc = mtasts_error_set(err, MTASTS_ENOMEM,
						      "out of memory");
				break;
			}
			*sv = y;
			cap = nc;
		}
		d = &(*dv)[n];
		for (int k = 0; k < 7; k++) {
			(*sv)[n * 7 + k] = mtasts__strdup(q_text(&q, k + 1));
			if ((*sv)[n * 7 + k] == NULL) {
				for (int j = 0; j < k; j++)
					mtasts__free((*sv)[n * 7 + j]);
				rc = mtasts_error_set(err, MTASTS_ENOMEM,
						      "out of memory");
				break;
			}
		}
		if (rc != MTASTS_OK)
			break;
		d->result = (enum mtasts_tlsrpt_result)q_int(&q, 0);
		d->result_text = (*sv)[n * 7];
		d->sending_mta_ip = nonempty((*sv)[n * 7 + 1]);
		d->receiving_mx_hostname = nonempty((*sv)[n * 7 + 2]);
		d->receiving_mx_helo = nonempty((*sv)[n * 7 + 3]);
		d->receiving_ip = nonempty((*sv)[n * 7 + 4]);
		d->additional_information = nonempty((*sv)[n * 7 + 5]);
		d->failure_reason_code = nonempty((*sv)[n * 7 + 6]);
		d->count = (uint64_t)q_int(&q, 8);
		n++;
	}
	q_done(&q);
	a->details = *dv;
	a->detail_count = n;
	a->details_omitted = 0;
	if (rc == MTASTS_OK && n == max) {
		struct param p2[] = {PI(a->day), PT(a->report_domain),
				     PT(pkey)};
		rc = q_run(c, &q,
			   "SELECT count(*) FROM tlsrpt_detail WHERE day = $1"
			   " AND domain = $2 AND policy_key = $3",
			   p2, 3, err);
		if (rc == MTASTS_OK && q_next(&q, err) > 0) {
			int64_t total = q_int(&q, 0);
			if (total > (int64_t)n)
				a->details_omitted = (uint64_t)total - n;
		}
		q_done(&q);
	}
	return rc;
}

int
tlsrptd_counters_read(struct tlsrptd_counters *c, int64_t day,
		      const char *domain, size_t max_details,
		      tlsrptd_policy_cb cb, void *arg, struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PI(day), PT(domain)};
	int rc;
	/* Policies of one (day, domain) are few: collect their keys first
	 * so the detail queries do not nest inside an open cursor. */
	struct pol {
		char key[33];
		int type;
		char *pdomain, *strings, *mx;
		uint64_t success, failure;
	} *pv = NULL;
	size_t n = 0, cap = 0;

	if (max_details == 0)
		max_details = DETAILS_DEFAULT;
	rc = q_run(c, &q,
		   "SELECT policy_key, policy_type, policy_domain,"
		   " policy_strings, mx_patterns, success, failure FROM"
		   " tlsrpt_policy WHERE day = $1 AND domain = $2 ORDER BY"
		   " policy_type, policy_domain, policy_strings, mx_patterns",
		   p, 2, err);
	while (rc == MTASTS_OK) {
		int r = q_next(&q, err);

		if (r <= 0) {
			rc = r;
			break;
		}
		if (n == cap) {
			size_t nc = cap == 0 ? 8 : cap * 2;
			void *x;

			if (nc > 100000 ||
			    (x = mtasts__realloc(pv, nc * sizeof(*pv))) ==
				NULL) {
				rc = mtasts_error_set(err, MTASTS_ENOMEM,
						      "too many policies");
				break;
			}
			pv = x;
			cap = nc;
		}
		snprintf(pv[n].key, sizeof(pv[n].key), "%s", q_text(&q, 0));
		pv[n].type = (int)q_int(&q, 1);
		pv[n].pdomain = mtasts__strdup(q_text(&q, 2));
		pv[n].strings = mtasts__strdup(q_text(&q, 3));
		pv[n].mx = mtasts__strdup(q_text(&q, 4));
		pv[n].success = (uint64_t)q_int(&q, 5);
		pv[n].failure = (uint64_t)q_int(&q, 6);
		n++;
		if (pv[n - 1].pdomain == NULL || pv[n - 1].strings == NULL ||
		    pv[n - 1].mx == NULL)
			rc = mtasts_error_set(err, MTASTS_ENOMEM,
					      "out of memory");
	}
	q_done(&q);
	for (size_t i = 0; i < n && rc == MTASTS_OK; i++) {
		struct tlsrptd_policy_agg a;
		const char *ps[MTASTS_TLSRPT_STRINGS_MAX];
		const char *mx[MTASTS_TLSRPT_STRINGS_MAX];
		json_t *js = NULL, *jm = NULL;
		struct tlsrptd_failure_detail *dv = NULL;
		char **sv = NULL;

		memset(&a, 0, sizeof(a));
		a.day = day;
		a.report_domain = domain;
		a.policy_type = (enum mtasts_tlsrpt_policy_type)pv[i].type;
		a.policy_domain = pv[i].pdomain;
		a.policy_string_count = split_array(pv[i].strings, &js, ps,
						    MTASTS_TLSRPT_STRINGS_MAX);
		a.policy_strings = ps;
		a.mx_pattern_count =
		    split_array(pv[i].mx, &jm, mx, MTASTS_TLSRPT_STRINGS_MAX);
		a.mx_patterns = mx;
		a.success = pv[i].success;
		a.failure = pv[i].failure;
		rc = read_details(c, &a, pv[i].key, max_details, &dv, &sv, err);
		if (rc == MTASTS_OK)
			rc = cb(&a, arg);
		for (size_t k = 0; k < a.detail_count * 7; k++)
			mtasts__free(sv[k]);
		mtasts__free(sv);
		mtasts__free(dv);
		json_decref(js);
		json_decref(jm);
	}
	for (size_t i = 0; i < n; i++) {
		mtasts__free(pv[i].pdomain);
		mtasts__free(pv[i].strings);
		mtasts__free(pv[i].mx);
	}
	mtasts__free(pv);
	return rc;
}

int
tlsrptd_counters_list_rejects(struct tlsrptd_counters *c, tlsrptd_reject_cb cb,
			      void *arg, struct mtasts_error *err)
{
	struct query q;
	int rc = q_run(c, &q,
		       "SELECT source, reason, count FROM tlsrpt_reject"
		       " ORDER BY source, reason",
		       NULL, 0, err);

	while (rc == MTASTS_OK) {
		int r = q_next(&q, err);

		if (r <= 0) {
			rc = r;
			break;
		}
		rc = cb(q_text(&q, 0), q_text(&q, 1), (uint64_t)q_int(&q, 2),
			arg);
	}
	q_done(&q);
	return rc;
}

/* ---- bookkeeping --------------------------------------------------- */

int
tlsrptd_counters_close_day(struct tlsrptd_counters *c, int64_t day, bool *first,
			   struct mtasts_error *err)
{
	struct param p[] = {PI(day), PI(time(NULL))};
	int64_t changes = 0;
	int rc;

	*first = false;
	rc = exec_plain(c, c->be == BE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN",
			err);
	if (rc != MTASTS_OK)
		return rc;
	if (c->be == BE_PGSQL) {
		/* Waits for collectors flushing this day (shared lock). */
		rc = q_exec(c,
			    "SELECT pg_advisory_xact_lock(84608461,"
			    " $1::int)",
			    p, 1, NULL, err);
	}
	if (rc == MTASTS_OK)
		rc = q_exec(c,
			    "INSERT INTO tlsrpt_closed (day, closed_at) VALUES"
			    " ($1, $2) ON CONFLICT (day) DO NOTHING",
			    p, 2, &changes, err);
	if (rc == MTASTS_OK)
		rc = exec_plain(c, "COMMIT", err);
	if (rc != MTASTS_OK) {
		rollback(c);
		return rc;
	}
	*first = changes > 0;
	return MTASTS_OK;
}

int
tlsrptd_counters_day_closed(struct tlsrptd_counters *c, int64_t day,
			    bool *closed, struct mtasts_error *err)
{
	return day_is_closed(c, day, closed, err);
}

int
tlsrptd_counters_mark_reported(struct tlsrptd_counters *c, int64_t day,
			       const char *domain, const char *report_id,
			       char *id_out, size_t id_size,
			       struct mtasts_error *err)
{
	struct param p[] = {PI(day), PT(domain), PT(report_id), PI(time(NULL))};
	struct query q;
	int rc;

	rc = q_exec(c,
		    "INSERT INTO tlsrpt_reported (day, domain, report_id, at)"
		    " VALUES ($1, $2, $3, $4) ON CONFLICT (day, domain) DO"
		    " NOTHING",
		    p, 4, NULL, err);
	if (rc != MTASTS_OK || id_out == NULL || id_size == 0)
		return rc;
	rc = q_run(c, &q,
		   "SELECT report_id FROM tlsrpt_reported WHERE day = $1 AND"
		   " domain = $2",
		   p, 2, err);
	if (rc == MTASTS_OK) {
		int r = q_next(&q, err);
		if (r > 0)
			snprintf(id_out, id_size, "%s", q_text(&q, 0));
		else
			rc = r < 0 ? r : MTASTS_ENOTFOUND;
	}
	q_done(&q);
	return rc;
}

const char *
tlsrptd_delivery_status_name(enum tlsrptd_delivery_status s)
{
	switch (s) {
	case TLSRPTD_DELIVERY_PENDING:
		return "pending";
	case TLSRPTD_DELIVERY_SENT:
		return "sent";
	case TLSRPTD_DELIVERY_TEMPFAIL:
		return "tempfail";
	case TLSRPTD_DELIVERY_GAVEUP:
		return "gaveup";
	case TLSRPTD_DELIVERY_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

int
tlsrptd_counters_delivery_put(struct tlsrptd_counters *c,
			      const struct tlsrptd_delivery *d,
			      struct mtasts_error *err)
{
	struct param p[] = {
	    PI(d->day),
	    PT(d->domain),
	    PT(d->destination),
	    PT(d->report_id != NULL ? d->report_id : ""),
	    PI(d->status),
	    PI(d->attempts),
	    PI(d->next_retry),
	    PI(d->give_up_at),
	    PI(d->updated != 0 ? d->updated : (int64_t)time(NULL)),
	    PT(d->last_error != NULL ? d->last_error : "")};

	if (d->domain == NULL || d->destination == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
					"delivery without domain/destination");
	return q_exec(
	    c,
	    "INSERT INTO tlsrpt_delivery (day, domain, destination,"
	    " report_id, status, attempts, next_retry, give_up_at, updated,"
	    " last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
	    " ON CONFLICT (day, domain, destination) DO UPDATE SET"
	    " report_id = excluded.report_id, status = excluded.status,"
	    " attempts = excluded.attempts, next_retry = excluded.next_retry,"
	    " give_up_at = excluded.give_up_at, updated = excluded.updated,"
	    " last_error = excluded.last_error",
	    p, 10, NULL, err);
}

int
tlsrptd_counters_delivery_list(struct tlsrptd_counters *c, int64_t day,
			       int64_t due_before, tlsrptd_delivery_cb cb,
			       void *arg, struct mtasts_error *err)
{
	struct query q;
	struct param p[] = {PI(day), PI(due_before)};
	int rc = q_run(
	    c, &q,
	    "SELECT day, domain, destination, report_id, status, attempts,"
	    " next_retry, give_up_at, updated, last_error FROM"
	    " tlsrpt_delivery WHERE (CAST($1 AS BIGINT) < 0 OR day = $1) AND"
	    " (CAST($2 AS BIGINT) <= 0 OR (status IN (0, 2) AND next_retry <= "
	    "$2)) ORDER BY day, domain,"
	    " destination",
	    p, 2, err);

	while (rc == MTASTS_OK) {
		struct tlsrptd_delivery d;
		int r = q_next(&q, err);

		if (r <= 0) {
			rc = r;
			break;
		}
		d.day = q_int(&q, 0);
		d.domain = q_text(&q, 1);
		d.destination = q_text(&q, 2);
		d.report_id = q_text(&q, 3);
		d.status = (enum tlsrptd_delivery_status)q_int(&q, 4);
		d.attempts = (uint32_t)q_int(&q, 5);
		d.next_retry = q_int(&q, 6);
		d.give_up_at = q_int(&q, 7);
		d.updated = q_int(&q, 8);
		d.last_error = nonempty(q_text(&q, 9));
		rc = cb(&d, arg);
	}
	q_done(&q);
	return rc;
}
