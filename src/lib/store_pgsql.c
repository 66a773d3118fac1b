/* SPDX-License-Identifier: MIT */
/*
 * store_pgsql.c: the PostgreSQL policy store ("postgresql://..." or
 * "postgres://...", any libpq connection URI).
 *
 * Table mtasts_policy (created if missing on every connect), one row per
 * policy domain, written with INSERT ... ON CONFLICT DO UPDATE. libpq's
 * asynchronous API (PQconnectStart/PQconnectPoll, PQsendQueryParams,
 * PQconsumeInput/PQisBusy/PQgetResult) runs on the caller's libevent
 * base through one event on PQsocket(). Calls are queued, one statement
 * is in flight at a time; scan uses single-row mode so a large table
 * never sits in memory at once.
 *
 * Failure: a lost connection (or a statement or connect attempt without
 * an answer within 10 s) fails the statement in flight and every queued
 * call with MTASTS_ESTORE, logs once, and reconnects after 1 s, doubling
 * up to 30 s. While DOWN, calls fail fast. Calls made while connecting
 * wait in the queue. Rows read back are checked field by field: a row
 * that is not a valid record reads as "not found" (get) or is skipped
 * (scan).
 */
#ifdef HAVE_PGSQL

#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "mtasts/store.h"
#include "store_backend.h"
#include "util/alloc.h"

#define TIMEOUT_SECS 10

enum state { S_DOWN, S_CONNECTING, S_SETUP, S_UP };
enum job_kind { J_GET, J_PUT, J_DEL, J_SCAN };

static const char setup_sql[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS mtasts_policy ("
    " domain text PRIMARY KEY,"
    " id text,"
    " fetched_at bigint,"
    " expires_at bigint,"
    " checked_at bigint,"
    " body text)";

static const char *const job_sql[] = {
	[J_GET] = "SELECT id, fetched_at, expires_at, checked_at, body "
		  "FROM mtasts_policy WHERE domain = $1",
	[J_PUT] = "INSERT INTO mtasts_policy "
		  "(domain, id, fetched_at, expires_at, checked_at, body) "
		  "VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6) "
		  "ON CONFLICT (domain) DO UPDATE SET id = EXCLUDED.id, "
		  "fetched_at = EXCLUDED.fetched_at, "
		  "expires_at = EXCLUDED.expires_at, "
		  "checked_at = EXCLUDED.checked_at, body = EXCLUDED.body",
	[J_DEL] = "DELETE FROM mtasts_policy WHERE domain = $1",
	[J_SCAN] = "SELECT id, fetched_at, expires_at, checked_at, body, "
		   "domain FROM mtasts_policy",
};

struct pjob {
	struct pjob *next;
	enum job_kind kind;
	mtasts_store_get_cb get_cb;
	mtasts_store_done_cb done_cb;
	mtasts_store_each_cb each_cb;
	void *arg;
	bool answered;	/* callback (or done) already ran */
	bool stopped;	/* scan: each() asked to stop */
	char domain[MTASTS_DOMAIN_MAX + 1];
	char id[MTASTS_STS_ID_MAX + 1];
	char t[3][MTASTS__I64_TEXT + 1];
	char *body;
	size_t body_len;
};

struct pg {
	struct event_base *base;
	char *conninfo;
	char where[128];	/* host/db for log lines, no password */
	PGconn *conn;
	enum state state;
	struct event *sock_ev;
	evutil_socket_t sock_fd;
	short sock_what;
	struct event *retry_ev, *watch_ev;
	struct event *kick_ev;	/* sends queued statements from the loop */
	int64_t op_start;	/* monotonic start of connect/statement */
	bool op_busy;		/* a connect or statement is running */
	struct pjob *head, *tail;
	size_t queued;
	struct pjob *cur;	/* statement in flight */
	struct mtasts__store_defer *dq;
	mtasts_store_log_cb log;
	void *log_arg;
	struct mtasts__store_outage out;
	int depth;
	bool dead;
};

static void pg_connect(struct pg *s);
static void pg_kick(struct pg *s);
static void sock_cb(evutil_socket_t fd, short what, void *arg);

static int64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
job_free(struct pjob *j)
{
	if (j == NULL)
		return;
	mtasts__free(j->body);
	mtasts__free(j);
}

static void
enter(struct pg *s)
{
	s->depth++;
}

static void pg_destroy(struct pg *s);

static bool
leave(struct pg *s)
{
	if (--s->depth == 0 && s->dead) {
		pg_destroy(s);
		return true;
	}
	return s->dead;
}

/* Run a job's callback with code (get: rec may be non-NULL). */
static void
job_answer(struct pjob *j, int code, const struct mtasts_store_record *rec)
{
	if (j->answered)
		return;
	j->answered = true;
	if (j->kind == J_GET)
		j->get_cb(j->arg, code, code == MTASTS_OK ? rec : NULL);
	else
		j->done_cb(j->arg, code);
}

/* ---- socket watching ---------------------------------------------------- */

static void
sock_watch(struct pg *s, short what)
{
	evutil_socket_t fd = s->conn != NULL ? PQsocket(s->conn) : -1;

	if (s->sock_ev != NULL && (fd != s->sock_fd || what != s->sock_what)) {
		event_free(s->sock_ev);
		s->sock_ev = NULL;
	}
	if (fd < 0 || what == 0)
		return;
	if (s->sock_ev == NULL) {
		s->sock_ev = event_new(s->base, fd, what | EV_PERSIST,
		    sock_cb, s);
		if (s->sock_ev == NULL)
			return;
		s->sock_fd = fd;
		s->sock_what = what;
		event_add(s->sock_ev, NULL);
	}
}

static void
op_begin(struct pg *s)
{
	struct timeval one = {1, 0};

	s->op_start = mono_now();
	s->op_busy = true;
	if (!evtimer_pending(s->watch_ev, NULL))
		evtimer_add(s->watch_ev, &one);
}

/* ---- up and down -------------------------------------------------------- */

/*
 * Close the connection, fail the statement in flight and every queued
 * call with MTASTS_ESTORE, schedule a reconnect. Runs callbacks: call
 * with the store entered.
 */
static void
conn_down(struct pg *s, const char *why)
{
	struct timeval tv;
	struct pjob *j;

	if (s->sock_ev != NULL) {
		event_free(s->sock_ev);
		s->sock_ev = NULL;
	}
	if (s->conn != NULL && (why == NULL || *why == '\0'))
		why = PQerrorMessage(s->conn);
	/* Before PQfinish, which frees the message. */
	tv.tv_sec = mtasts__store_outage_begin(&s->out, why, s->where, s->log,
	    s->log_arg);
	tv.tv_usec = 0;
	if (s->conn != NULL) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	s->state = S_DOWN;
	s->op_busy = false;
	evtimer_add(s->retry_ev, &tv);
	j = s->cur;
	s->cur = NULL;
	if (j != NULL) {
		job_answer(j, MTASTS_ESTORE, NULL);
		job_free(j);
	}
	while (!s->dead && (j = s->head) != NULL) {
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued--;
		job_answer(j, MTASTS_ESTORE, NULL);
		job_free(j);
	}
}

static void
conn_up(struct pg *s)
{
	s->state = S_UP;
	mtasts__store_outage_end(&s->out, s->where, s->log, s->log_arg);
}

/* ---- statements --------------------------------------------------------- */

static bool
col_i64(const PGresult *r, int row, int col, int64_t *out)
{
	if (PQgetisnull(r, row, col))
		return false;
	return mtasts__store_parse_i64(PQgetvalue(r, row, col),
	    (size_t)PQgetlength(r, row, col), out);
}

/* Columns: id, fetched_at, expires_at, checked_at, body [, domain]. */
static bool
row_to_record(const PGresult *r, int row, struct mtasts_store_record *rec)
{
	int n;

	if (PQnfields(r) < 5 || PQgetisnull(r, row, 0) ||
	    PQgetisnull(r, row, 4))
		return false;
	n = PQgetlength(r, row, 0);
	if (n <= 0 || n > MTASTS_STS_ID_MAX)
		return false;
	memcpy(rec->id, PQgetvalue(r, row, 0), (size_t)n);
	rec->id[n] = '\0';
	if (!col_i64(r, row, 1, &rec->fetched_at) ||
	    !col_i64(r, row, 2, &rec->expires_at) ||
	    !col_i64(r, row, 3, &rec->checked_at))
		return false;
	n = PQgetlength(r, row, 4);
	if (n < 0 || n > MTASTS_POLICY_BODY_MAX)
		return false;
	rec->body = PQgetvalue(r, row, 4);
	rec->body_len = (size_t)n;
	return mtasts_store_record_check(rec, NULL) == MTASTS_OK;
}

/* One PGresult of the statement in flight. */
static void
job_result(struct pg *s, struct pjob *j, PGresult *r)
{
	struct mtasts_store_record rec;
	ExecStatusType st = PQresultStatus(r);
	int n;

	(void)s;
	memset(&rec, 0, sizeof(rec));
	switch (j->kind) {
	case J_GET:
		if (st != PGRES_TUPLES_OK) {
			job_answer(j, MTASTS_ESTORE, NULL);
			break;
		}
		memcpy(rec.domain, j->domain, sizeof(rec.domain));
		if (PQntuples(r) == 1 && row_to_record(r, 0, &rec))
			job_answer(j, MTASTS_OK, &rec);
		else
			job_answer(j, MTASTS_ENOTFOUND, NULL);
		break;
	case J_PUT:
	case J_DEL:
		job_answer(j, st == PGRES_COMMAND_OK ? MTASTS_OK :
		    MTASTS_ESTORE, NULL);
		break;
	case J_SCAN:
		if (st == PGRES_SINGLE_TUPLE) {
			if (j->stopped || j->answered || PQnfields(r) < 6 ||
			    PQgetisnull(r, 0, 5))
				break;
			n = PQgetlength(r, 0, 5);
			if (n <= 0 || n > MTASTS_DOMAIN_MAX)
				break;
			memcpy(rec.domain, PQgetvalue(r, 0, 5), (size_t)n);
			rec.domain[n] = '\0';
			if (!row_to_record(r, 0, &rec))
				break;
			if (j->each_cb(j->arg, &rec) != 0)
				j->stopped = true;
		} else {
			job_answer(j, st == PGRES_TUPLES_OK ? MTASTS_OK :
			    MTASTS_ESTORE, NULL);
		}
		break;
	}
}

/* Read what arrived; true when the connection must be dropped. */
static bool
drain(struct pg *s)
{
	PGresult *r;
	PGnotify *nt;

	if (!PQconsumeInput(s->conn))
		return true;
	while ((nt = PQnotifies(s->conn)) != NULL)
		PQfreemem(nt);
	while (s->conn != NULL && s->op_busy && !PQisBusy(s->conn)) {
		r = PQgetResult(s->conn);
		if (r == NULL) {	/* statement complete */
			s->op_busy = false;
			if (s->state == S_SETUP) {
				conn_up(s);
			} else if (s->cur != NULL) {
				struct pjob *j = s->cur;

				s->cur = NULL;
				job_answer(j, MTASTS_ESTORE, NULL);
				job_free(j);
			}
			break;
		}
		if (s->state == S_SETUP) {
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				char why[200];

				snprintf(why, sizeof(why),
				    "cannot create table: %s",
				    PQresultErrorMessage(r));
				PQclear(r);
				conn_down(s, why);
				return false;
			}
		} else if (s->cur != NULL) {
			job_result(s, s->cur, r);
		}
		PQclear(r);
		if (s->dead)
			return false;
	}
	if (s->dead || s->conn == NULL)
		return false;
	return PQstatus(s->conn) == CONNECTION_BAD;
}

static bool
send_flush(struct pg *s)
{
	int rc = PQflush(s->conn);

	if (rc < 0)
		return false;
	sock_watch(s, rc == 1 ? EV_READ | EV_WRITE : EV_READ);
	return true;
}

/* Start the next queued statement when idle. */
static void
pg_kick(struct pg *s)
{
	const char *params[6];
	int lens[6], fmts[6] = {0, 0, 0, 0, 0, 0};
	struct pjob *j;
	int n = 0;

	while (!s->dead && s->state == S_UP && s->cur == NULL &&
	    (j = s->head) != NULL) {
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued--;
		j->next = NULL;
		memset(lens, 0, sizeof(lens));
		switch (j->kind) {
		case J_GET:
		case J_DEL:
			params[0] = j->domain;
			n = 1;
			break;
		case J_PUT:
			params[0] = j->domain;
			params[1] = j->id;
			params[2] = j->t[0];
			params[3] = j->t[1];
			params[4] = j->t[2];
			params[5] = j->body;
			n = 6;
			break;
		case J_SCAN:
			n = 0;
			break;
		}
		if (!PQsendQueryParams(s->conn, job_sql[j->kind], n, NULL,
		    n > 0 ? params : NULL, lens, fmts, 0)) {
			s->cur = j;
			conn_down(s, NULL);
			return;
		}
		if (j->kind == J_SCAN)
			PQsetSingleRowMode(s->conn);
		s->cur = j;
		op_begin(s);
		if (!send_flush(s)) {
			conn_down(s, NULL);
			return;
		}
	}
}

/* ---- events ------------------------------------------------------------- */

static void
connect_step(struct pg *s)
{
	switch (PQconnectPoll(s->conn)) {
	case PGRES_POLLING_READING:
		sock_watch(s, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		sock_watch(s, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		PQsetnonblocking(s->conn, 1);
		if (!PQsendQuery(s->conn, setup_sql)) {
			conn_down(s, NULL);
			break;
		}
		s->state = S_SETUP;
		op_begin(s);
		if (!send_flush(s))
			conn_down(s, NULL);
		break;
	default:
		conn_down(s, NULL);
		break;
	}
}

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *s = arg;

	(void)fd;
	enter(s);
	if (s->state == S_CONNECTING) {
		connect_step(s);
	} else if (s->conn != NULL) {
		if ((what & EV_WRITE) && !send_flush(s))
			conn_down(s, NULL);
		else if ((what & EV_READ) && drain(s))
			conn_down(s, NULL);
		else if (!s->dead && s->conn != NULL && !s->op_busy)
			sock_watch(s, EV_READ);	/* idle: notice a close */
	}
	if (!s->dead)
		pg_kick(s);
	leave(s);
}

static void
pg_connect(struct pg *s)
{
	s->conn = PQconnectStart(s->conninfo);
	if (s->conn == NULL) {
		conn_down(s, "out of memory");
		return;
	}
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		conn_down(s, NULL);
		return;
	}
	PQsetNoticeProcessor(s->conn, notice_quiet, NULL);
	s->state = S_CONNECTING;
	op_begin(s);
	sock_watch(s, EV_WRITE);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *s = arg;

	(void)fd;
	(void)what;
	enter(s);
	if (s->state == S_DOWN)
		pg_connect(s);
	leave(s);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *s = arg;

	(void)fd;
	(void)what;
	enter(s);
	pg_kick(s);
	leave(s);
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *s = arg;
	struct timeval one = {1, 0};

	(void)fd;
	(void)what;
	if (!s->op_busy || s->conn == NULL)
		return;
	enter(s);
	if (mono_now() - s->op_start >= TIMEOUT_SECS)
		conn_down(s, s->state == S_CONNECTING ? "connect timed out" :
		    "no answer within the timeout");
	if (leave(s))
		return;
	if (s->op_busy)
		evtimer_add(s->watch_ev, &one);
}

/* ---- ops ---------------------------------------------------------------- */

static void
pg_destroy(struct pg *s)
{
	struct pjob *j, *next;

	for (j = s->head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	job_free(s->cur);
	if (s->sock_ev != NULL)
		event_free(s->sock_ev);
	if (s->conn != NULL)
		PQfinish(s->conn);
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->watch_ev != NULL)
		event_free(s->watch_ev);
	if (s->kick_ev != NULL)
		event_free(s->kick_ev);
	mtasts__store_defer_free(s->dq);
	mtasts__free(s->conninfo);
	mtasts__free(s);
}

static void
describe(struct pg *s, PQconninfoOption *opts)
{
	const char *host = NULL, *port = NULL, *db = NULL;
	PQconninfoOption *o;

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	snprintf(s->where, sizeof(s->where), "%.60s%s%.8s/%.40s",
	    host != NULL ? host : "(default)", port != NULL ? ":" : "",
	    port != NULL ? port : "", db != NULL ? db : "");
}

static int
pg_open(struct event_base *base, const char *uri, void **impl,
    struct mtasts_error *err)
{
	PQconninfoOption *opts;
	char *perr = NULL;
	struct pg *s;

	opts = PQconninfoParse(uri, &perr);
	if (opts == NULL) {
		mtasts_error_set(err, MTASTS_EINVAL,
		    "postgresql store: bad connection URI: %s",
		    perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return MTASTS_EINVAL;
	}
	s = mtasts__calloc(1, sizeof(*s));
	if (s == NULL) {
		PQconninfoFree(opts);
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	}
	describe(s, opts);
	PQconninfoFree(opts);
	s->base = base;
	s->sock_fd = -1;
	mtasts__store_outage_init(&s->out, "postgresql store");
	s->conninfo = mtasts__strdup(uri);
	s->retry_ev = evtimer_new(base, retry_cb, s);
	s->watch_ev = evtimer_new(base, watch_cb, s);
	s->kick_ev = event_new(base, -1, 0, kick_cb, s);
	s->dq = mtasts__store_defer_new(base);
	if (s->conninfo == NULL || s->retry_ev == NULL ||
	    s->watch_ev == NULL || s->kick_ev == NULL || s->dq == NULL) {
		pg_destroy(s);
		return mtasts_error_set(err, MTASTS_ENOMEM, "no memory");
	}
	pg_connect(s);	/* lazy: failure only schedules a retry */
	*impl = s;
	return MTASTS_OK;
}

static void
pg_close(void *impl)
{
	struct pg *s = impl;
	struct pjob *j, *next;

	if (s == NULL || s->dead)
		return;
	if (s->depth == 0) {
		pg_destroy(s);
		return;
	}
	/* Inside one of our handlers: drop everything now, free later. */
	s->dead = true;
	for (j = s->head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	s->head = s->tail = NULL;
	if (s->cur != NULL)
		s->cur->answered = true;
	if (s->sock_ev != NULL) {
		event_free(s->sock_ev);
		s->sock_ev = NULL;
	}
	evtimer_del(s->retry_ev);
	evtimer_del(s->watch_ev);
	event_del(s->kick_ev);
	mtasts__store_defer_free(s->dq);
	s->dq = NULL;
}

static int
enqueue(struct pg *s, struct pjob *j)
{
	if (s->state == S_DOWN || s->queued >= MTASTS__STORE_QUEUE_MAX) {
		int rc = j->kind == J_GET ?
		    mtasts__store_defer_get(s->dq, j->get_cb, j->arg,
			MTASTS_ESTORE) :
		    mtasts__store_defer_done(s->dq, j->done_cb, j->arg,
			MTASTS_ESTORE);

		job_free(j);
		return rc;
	}
	if (s->tail != NULL)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued++;
	/* Never send from inside the call: a failing send runs callbacks. */
	if (s->state == S_UP && s->cur == NULL)
		event_active(s->kick_ev, EV_TIMEOUT, 0);
	return MTASTS_OK;
}

static struct pjob *
job_new(enum job_kind kind, void *arg)
{
	struct pjob *j = mtasts__calloc(1, sizeof(*j));

	if (j != NULL) {
		j->kind = kind;
		j->arg = arg;
	}
	return j;
}

static int
pg_get(void *impl, const char *domain, mtasts_store_get_cb cb, void *arg)
{
	struct pjob *j = job_new(J_GET, arg);

	if (j == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	j->get_cb = cb;
	return enqueue(impl, j);
}

static int
pg_put(void *impl, const struct mtasts_store_record *rec,
    mtasts_store_done_cb cb, void *arg)
{
	struct pjob *j = job_new(J_PUT, arg);

	if (j == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(rec->domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	memcpy(j->id, rec->id, sizeof(j->id));
	j->id[MTASTS_STS_ID_MAX] = '\0';
	snprintf(j->t[0], sizeof(j->t[0]), "%lld",
	    (long long)rec->fetched_at);
	snprintf(j->t[1], sizeof(j->t[1]), "%lld",
	    (long long)rec->expires_at);
	snprintf(j->t[2], sizeof(j->t[2]), "%lld",
	    (long long)rec->checked_at);
	j->body = mtasts__strndup(rec->body_len > 0 ? rec->body : "",
	    rec->body_len);
	if (j->body == NULL) {
		job_free(j);
		return MTASTS_ENOMEM;
	}
	j->body_len = rec->body_len;
	j->done_cb = cb;
	return enqueue(impl, j);
}

static int
pg_del(void *impl, const char *domain, mtasts_store_done_cb cb, void *arg)
{
	struct pjob *j = job_new(J_DEL, arg);

	if (j == NULL)
		return MTASTS_ENOMEM;
	if (mtasts__store_domain_key(domain, j->domain) != MTASTS_OK) {
		job_free(j);
		return MTASTS_EINVAL;
	}
	j->done_cb = cb;
	return enqueue(impl, j);
}

static int
pg_scan(void *impl, mtasts_store_each_cb each, mtasts_store_done_cb done,
    void *arg)
{
	struct pjob *j = job_new(J_SCAN, arg);

	if (j == NULL)
		return MTASTS_ENOMEM;
	j->each_cb = each;
	j->done_cb = done;
	return enqueue(impl, j);
}

static void
pg_set_log(void *impl, mtasts_store_log_cb fn, void *arg)
{
	struct pg *s = impl;

	s->log = fn;
	s->log_arg = arg;
	mtasts__store_outage_log(&s->out, s->where, s->log, s->log_arg);
}

const struct mtasts_store_ops mtasts__store_pgsql_ops = {
	.scheme = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.get = pg_get,
	.put = pg_put,
	.del = pg_del,
	.scan = pg_scan,
	.set_log = pg_set_log,
};

#endif /* HAVE_PGSQL */
