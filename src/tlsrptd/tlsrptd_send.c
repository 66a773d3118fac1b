/* SPDX-License-Identifier: MIT */
/* tlsrptd_send.c: the scheduler pass and real delivery (tlsrptd_send.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "mtasts/resolver.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/version.h"
#include "tlsrptd_mail.h"
#include "tlsrptd_send.h"
#include "util/alloc.h"

#define DAY 86400
#define WHY_MAX 256
#define DEST_NONE "none"	/* destination of a report with no rua */

static void
logf_(const struct tlsrptd_send_ops *ops, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
logf_(const struct tlsrptd_send_ops *ops, int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ops->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops->log(ops->arg, prio, msg);
}

void
tlsrptd_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		mtasts_free(v[i]);
	mtasts_free(v);
}

/* ---- collecting work (copies, so the store is free while we send) ---- */

struct day_item {
	int64_t day;
	bool closed;
};

struct day_list {
	struct day_item v[64];
	size_t n;
};

static int
day_cb(int64_t day, bool closed, void *arg)
{
	struct day_list *l = arg;

	if (l->n == sizeof(l->v) / sizeof(l->v[0])) {
		memmove(l->v, l->v + 1, sizeof(l->v) - sizeof(l->v[0]));
		l->n--;		/* keep the newest 64 days */
	}
	l->v[l->n].day = day;
	l->v[l->n].closed = closed;
	l->n++;
	return 0;
}

struct dom_list {
	const struct tlsrptd_send_conf *conf;
	int64_t now;
	char **v;
	size_t n, cap, max;
};

static int
dom_cb(const struct tlsrptd_domain_total *t, void *arg)
{
	struct dom_list *l = arg;
	char **nv;

	if (t->reported || (t->day != l->conf->force_day &&
	    tlsrptd_send_time(&l->conf->sched, t->day, t->domain) > l->now))
		return 0;
	if (l->n >= l->max)
		return 1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		nv = mtasts__realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return MTASTS_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n] = mtasts__strdup(t->domain);
	if (l->v[l->n] == NULL)
		return MTASTS_ENOMEM;
	l->n++;
	return 0;
}

struct due {
	int64_t day;
	char *domain;
	char *destination;
	char *report_id;
	uint32_t attempts;
	int64_t give_up_at;
};

struct due_list {
	struct due *v;
	size_t n, cap, max;
};

static int
due_cb(const struct tlsrptd_delivery *d, void *arg)
{
	struct due_list *l = arg;
	struct due *nv, *e;

	if (l->n >= l->max)
		return 1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		nv = mtasts__realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return MTASTS_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	e = &l->v[l->n];
	e->day = d->day;
	e->attempts = d->attempts;
	e->give_up_at = d->give_up_at;
	e->domain = mtasts__strdup(d->domain);
	e->destination = mtasts__strdup(d->destination);
	e->report_id = mtasts__strdup(d->report_id ? d->report_id : "");
	l->n++;
	if (e->domain == NULL || e->destination == NULL ||
	    e->report_id == NULL)
		return MTASTS_ENOMEM;
	return 0;
}

static void
due_free(struct due_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		mtasts_free(l->v[i].domain);
		mtasts_free(l->v[i].destination);
		mtasts_free(l->v[i].report_id);
	}
	mtasts_free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Per-destination history for suppression: open addressing on a hash. */
struct hist_slot {
	uint64_t key;	/* 0: empty */
	struct tlsrptd_dest_state st;
};

struct hist {
	struct hist_slot *v;
	size_t cap, n;
	bool oom;
};

static struct hist_slot *
hist_get(struct hist *h, const char *dest, bool create)
{
	uint64_t k = tlsrptd_hash(dest, 0x7e57) | 1;
	size_t i;

	if (create && (h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256, j;
		struct hist_slot *nv = mtasts__calloc(cap, sizeof(*nv));

		if (nv == NULL) {
			h->oom = true;
			return NULL;
		}
		for (j = 0; j < h->cap; j++) {
			if (h->v[j].key == 0)
				continue;
			for (i = h->v[j].key % cap; nv[i].key != 0;
			     i = (i + 1) % cap)
				;
			nv[i] = h->v[j];
		}
		mtasts_free(h->v);
		h->v = nv;
		h->cap = cap;
	}
	if (h->cap == 0)
		return NULL;
	for (i = k % h->cap; h->v[i].key != 0; i = (i + 1) % h->cap)
		if (h->v[i].key == k)
			return &h->v[i];
	if (!create)
		return NULL;
	h->v[i].key = k;
	h->n++;
	return &h->v[i];
}

static int
hist_cb(const struct tlsrptd_delivery *d, void *arg)
{
	struct hist *h = arg;
	struct hist_slot *s;

	if (d->status != TLSRPTD_DELIVERY_SENT &&
	    d->status != TLSRPTD_DELIVERY_GAVEUP)
		return 0;
	s = hist_get(h, d->destination, true);
	if (s == NULL)
		return h->oom ? MTASTS_ENOMEM : 0;
	tlsrptd_dest_feed(&s->st, d->status == TLSRPTD_DELIVERY_SENT,
	    d->status == TLSRPTD_DELIVERY_GAVEUP, d->updated);
	return 0;
}

/* ---- steps ---------------------------------------------------------------- */

static int
put(struct tlsrptd_counters *c, int64_t day, const char *domain,
    const char *dest, const char *report_id,
    enum tlsrptd_delivery_status status, uint32_t attempts,
    int64_t next_retry, int64_t give_up_at, int64_t now, const char *why,
    struct mtasts_error *err)
{
	struct tlsrptd_delivery d = {
		.day = day,
		.domain = domain,
		.destination = dest,
		.report_id = report_id,
		.status = status,
		.attempts = attempts,
		.next_retry = next_retry,
		.give_up_at = give_up_at,
		.updated = now,
		.last_error = why != NULL && why[0] != '\0' ? why : NULL,
	};

	return tlsrptd_counters_delivery_put(c, &d, err);
}

static bool
is_https(const char *uri)
{
	return strncasecmp(uri, "https:", 6) == 0;
}

/* Discover the rua of one domain and record its deliveries. Returns
 * MTASTS_OK (done, also "no record"), MTASTS_EDNSTEMP (try later), or
 * a store error. */
static int
plan_report(struct tlsrptd_counters *c, const struct tlsrptd_send_conf *conf,
	    const struct tlsrptd_send_ops *ops, int64_t day,
	    const char *domain, int64_t now, struct tlsrptd_pass_stats *st,
	    struct mtasts_error *err)
{
	char id[TLSRPTD_REPORT_ID_MAX], dbuf[16], name[300], addr[300];
	char **txt = NULL;
	size_t ntxt = 0, nall = 0, i, n;
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags diags;
	struct mtasts_error lerr;
	int rc;

	tlsrptd_report_id(day, domain, conf->id.submitter, id, sizeof(id));
	tlsrptd_day_format(day, dbuf, sizeof(dbuf));
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	mtasts_error_clear(&lerr);
	rc = ops->lookup_txt(ops->arg, name, &txt, &ntxt, &lerr);
	nall = ntxt;
	if (rc == MTASTS_EDNSTEMP ||
	    (rc != MTASTS_OK && rc != MTASTS_ENOTFOUND)) {
		if (now < tlsrptd_send_time(&conf->sched, day, domain) +
		    conf->sched.give_up) {
			logf_(ops, LOG_WARNING, "report %s %s: rua lookup of "
			    "%s failed temporarily (%s); will retry", dbuf,
			    domain, name, lerr.msg);
			return MTASTS_EDNSTEMP;
		}
		rc = MTASTS_ENOTFOUND;
	}
	if (rc == MTASTS_OK) {
		size_t lens[MTASTS_DNS_MAX_RECORDS];

		if (ntxt > MTASTS_DNS_MAX_RECORDS)
			ntxt = MTASTS_DNS_MAX_RECORDS;	/* rest freed below */
		for (i = 0; i < ntxt; i++)
			lens[i] = strlen(txt[i]);
		mtasts_diags_init(&diags);
		rc = mtasts_tlsrpt_rrset_select((const char *const *)txt, lens,
		    ntxt, &rec, &diags, &lerr);
		for (i = 0; i < diags.count; i++) {
			char line[400];

			logf_(ops, LOG_WARNING, "report %s %s: %s: %s", dbuf,
			    domain, name, mtasts_diag_format(&diags.item[i],
			    line, sizeof(line)));
		}
	}
	tlsrptd_strings_free(txt, nall);
	if (rc != MTASTS_OK) {
		logf_(ops, LOG_INFO, "report %s %s: no usable TLSRPT record "
		    "at %s (%s): not sent", dbuf, domain, name,
		    lerr.msg[0] ? lerr.msg : "no record");
		rc = put(c, day, domain, DEST_NONE, id,
		    TLSRPTD_DELIVERY_SKIPPED, 0, 0, 0, now,
		    "no usable _smtp._tls record", err);
		if (st != NULL)
			st->skipped++;
	} else {
		n = mtasts_tlsrpt_record_rua_count(rec);
		for (i = 0; rc == MTASTS_OK && i < n; i++) {
			const char *uri = mtasts_tlsrpt_record_rua(rec, i);
			bool ok = is_https(uri) ||
			    tlsrptd_mailto_address(uri, addr, sizeof(addr),
			    &lerr) == MTASTS_OK;

			if (!ok) {
				logf_(ops, LOG_WARNING, "report %s %s: rua "
				    "\"%s\" skipped: %s", dbuf, domain, uri,
				    lerr.msg);
				if (st != NULL)
					st->skipped++;
			}
			rc = put(c, day, domain, uri, id, ok ?
			    TLSRPTD_DELIVERY_PENDING : TLSRPTD_DELIVERY_SKIPPED,
			    0, ok ? now : 0, ok ? now + conf->sched.give_up : 0,
			    now, ok ? NULL : lerr.msg, err);
		}
		if (n == 0 && rc == MTASTS_OK)
			rc = put(c, day, domain, DEST_NONE, id,
			    TLSRPTD_DELIVERY_SKIPPED, 0, 0, 0, now,
			    "no supported rua URI", err);
		mtasts_tlsrpt_record_free(rec);
	}
	if (rc == MTASTS_OK)
		rc = tlsrptd_counters_mark_reported(c, day, domain, id, NULL, 0,
		    err);
	if (rc == MTASTS_OK && st != NULL)
		st->reports_built++;
	return rc;
}

enum tlsrptd_outcome
tlsrptd_deliver_one(struct tlsrptd_counters *c,
		    const struct tlsrptd_send_conf *conf,
		    const struct tlsrptd_send_ops *ops, int64_t day,
		    const char *domain, const char *report_id,
		    const char *destination, char *why, size_t whylen)
{
	struct mtasts_tlsrpt_report *rep = NULL;
	struct tlsrptd_payload p;
	struct mtasts_error err;
	enum tlsrptd_outcome out;
	char addr[300], *msg = NULL;
	size_t len;
	int rc;

	why[0] = '\0';
	mtasts_error_clear(&err);
	rc = tlsrptd_build_report(c, &conf->id, day, domain, report_id, &rep,
	    &err);
	if (rc == MTASTS_OK)
		rc = tlsrptd_payload_make(rep, conf->id.submitter, domain, &p,
		    &err);
	if (rc != MTASTS_OK) {
		snprintf(why, whylen, "building the report: %s", err.msg);
		mtasts_tlsrpt_report_free(rep);
		return rc == MTASTS_ESTORE || rc == MTASTS_ENOMEM ?
		    TLSRPTD_OUT_TEMP : TLSRPTD_OUT_PERM;
	}
	if (is_https(destination)) {
		out = ops->post(ops->arg, destination, &p, why, whylen);
	} else if (tlsrptd_mailto_address(destination, addr, sizeof(addr),
	    &err) != MTASTS_OK) {
		snprintf(why, whylen, "%s", err.msg);
		out = TLSRPTD_OUT_PERM;
	} else {
		struct tlsrptd_mail_in in = {
			.from = conf->mail_from,
			.to = addr,
			.policy_domain = domain,
			.submitter = conf->id.submitter,
			.organization = conf->id.organization,
			.date = ops->now(ops->arg),
			.report_id = rep->report_id,
			.payload = &p,
		};

		rc = tlsrptd_mail_build(&in, &msg, &len, &err);
		if (rc != MTASTS_OK) {
			snprintf(why, whylen, "building the message: %s",
			    err.msg);
			out = TLSRPTD_OUT_PERM;
		} else {
			out = ops->mail(ops->arg, addr, msg, len, why, whylen);
		}
		mtasts_free(msg);
	}
	tlsrptd_payload_clear(&p);
	mtasts_tlsrpt_report_free(rep);
	return out;
}

static int
attempt(struct tlsrptd_counters *c, const struct tlsrptd_send_conf *conf,
	const struct tlsrptd_send_ops *ops, const struct due *d,
	struct hist *h, int64_t now, struct tlsrptd_pass_stats *st,
	struct mtasts_error *err)
{
	char why[WHY_MAX], dbuf[16];
	struct hist_slot *hs = hist_get(h, d->destination, false);
	enum tlsrptd_outcome out;
	uint32_t attempts = d->attempts;
	int64_t next;

	tlsrptd_day_format(d->day, dbuf, sizeof(dbuf));
	if (d->give_up_at > 0 && now >= d->give_up_at) {
		logf_(ops, LOG_WARNING, "report %s %s to %s: gave up after %u "
		    "attempts", dbuf, d->domain, d->destination, attempts);
		if (st != NULL)
			st->gaveup++;
		return put(c, d->day, d->domain, d->destination, d->report_id,
		    TLSRPTD_DELIVERY_GAVEUP, attempts, 0, d->give_up_at, now,
		    "give-up time passed", err);
	}
	if (hs != NULL && tlsrptd_dest_suppressed(&conf->sched, &hs->st, now)) {
		snprintf(why, sizeof(why), "suppressed: %u deliveries in a "
		    "row gave up", hs->st.streak);
		logf_(ops, LOG_WARNING, "report %s %s to %s: %s", dbuf,
		    d->domain, d->destination, why);
		if (st != NULL)
			st->skipped++;
		return put(c, d->day, d->domain, d->destination, d->report_id,
		    TLSRPTD_DELIVERY_SKIPPED, attempts, 0, d->give_up_at, now,
		    why, err);
	}
	out = tlsrptd_deliver_one(c, conf, ops, d->day, d->domain,
	    d->report_id, d->destination, why, sizeof(why));
	attempts++;
	switch (out) {
	case TLSRPTD_OUT_OK:
		logf_(ops, LOG_INFO, "report %s %s id %s sent to %s", dbuf,
		    d->domain, d->report_id, d->destination);
		if (st != NULL)
			st->sent++;
		return put(c, d->day, d->domain, d->destination, d->report_id,
		    TLSRPTD_DELIVERY_SENT, attempts, 0, d->give_up_at, now,
		    NULL, err);
	case TLSRPTD_OUT_TEMP:
		next = tlsrptd_retry_next(&conf->sched, attempts, now,
		    d->give_up_at, ops->random(ops->arg));
		if (next == 0) {
			logf_(ops, LOG_WARNING, "report %s %s to %s: %s; gave "
			    "up after %u attempts", dbuf, d->domain,
			    d->destination, why, attempts);
			if (st != NULL)
				st->gaveup++;
			return put(c, d->day, d->domain, d->destination,
			    d->report_id, TLSRPTD_DELIVERY_GAVEUP, attempts, 0,
			    d->give_up_at, now, why, err);
		}
		logf_(ops, LOG_NOTICE, "report %s %s to %s: %s; retry in "
		    "%" PRId64 " s", dbuf, d->domain, d->destination, why,
		    next - now);
		if (st != NULL)
			st->tempfail++;
		return put(c, d->day, d->domain, d->destination, d->report_id,
		    TLSRPTD_DELIVERY_TEMPFAIL, attempts, next, d->give_up_at,
		    now, why, err);
	case TLSRPTD_OUT_PERM:
	default:
		logf_(ops, LOG_WARNING, "report %s %s to %s: %s; not retried",
		    dbuf, d->domain, d->destination, why);
		if (st != NULL)
			st->gaveup++;
		return put(c, d->day, d->domain, d->destination, d->report_id,
		    TLSRPTD_DELIVERY_GAVEUP, attempts, 0, d->give_up_at, now,
		    why, err);
	}
}

int
tlsrptd_send_pass(struct tlsrptd_counters *c,
		  const struct tlsrptd_send_conf *conf,
		  const struct tlsrptd_send_ops *ops,
		  struct tlsrptd_pass_stats *st, struct mtasts_error *err)
{
	int64_t now = ops->now(ops->arg), today = tlsrptd_day_of(now);
	struct day_list days = {.n = 0};
	struct due_list due = {NULL, 0, 0, 0};
	struct hist h = {NULL, 0, 0, false};
	size_t i, j;
	unsigned max = conf->max_per_pass ? conf->max_per_pass : 1000;
	int rc;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	/* 1. close past days */
	rc = tlsrptd_counters_list_days(c, day_cb, &days, err);
	if (rc != MTASTS_OK)
		return rc;
	for (i = 0; i < days.n; i++) {
		bool first = false;

		if (days.v[i].closed || (days.v[i].day != conf->force_day &&
		    (days.v[i].day >= today ||
		    now < (days.v[i].day + 1) * DAY + conf->close_delay)))
			continue;
		rc = tlsrptd_counters_close_day(c, days.v[i].day, &first, err);
		if (rc != MTASTS_OK)
			return rc;
		days.v[i].closed = true;
		if (first) {
			char dbuf[16];

			logf_(ops, LOG_INFO, "day %s closed",
			    tlsrptd_day_format(days.v[i].day, dbuf,
			    sizeof(dbuf)));
			if (st != NULL)
				st->days_closed++;
		}
	}
	/* 2. plan the reports that are due */
	for (i = 0; i < days.n; i++) {
		struct dom_list dl = {conf, now, NULL, 0, 0, max};

		if (!days.v[i].closed || (days.v[i].day != conf->force_day &&
		    days.v[i].day < today - conf->report_window / DAY))
			continue;
		rc = tlsrptd_counters_list_domains(c, days.v[i].day, dom_cb,
		    &dl, err);
		if (rc == 1)
			rc = MTASTS_OK;
		if (rc == MTASTS_ENOMEM)
			mtasts_error_set(err, rc, "out of memory");
		for (j = 0; rc == MTASTS_OK && j < dl.n; j++) {
			rc = plan_report(c, conf, ops, days.v[i].day, dl.v[j],
			    now, st, err);
			if (rc == MTASTS_EDNSTEMP)
				rc = MTASTS_OK;
		}
		tlsrptd_strings_free(dl.v, dl.n);
		if (rc != MTASTS_OK)
			return rc;
	}
	/* 3. deliveries that are due */
	due.max = max;
	rc = tlsrptd_counters_delivery_list(c, -1, conf->retry_now ?
	    INT64_MAX / 2 : now, due_cb, &due, err);
	if (rc == 1)
		rc = MTASTS_OK;
	if (rc == MTASTS_OK && due.n > 0)
		rc = tlsrptd_counters_delivery_list(c, -1, 0, hist_cb, &h,
		    err);
	if (rc == MTASTS_ENOMEM)
		mtasts_error_set(err, rc, "out of memory");
	for (i = 0; rc == MTASTS_OK && i < due.n; i++)
		rc = attempt(c, conf, ops, &due.v[i], &h, now, st, err);
	due_free(&due);
	mtasts_free(h.v);
	return rc;
}

/* ---- real operations ------------------------------------------------------- */

struct real {
	const struct tlsrptd_send_conf *conf;
	struct event_base *base;
	struct mtasts_resolver *res;
	tlsrptd_log_fn log;
	void *log_arg;
};

static int64_t
real_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static uint64_t
real_random(void *arg)
{
	uint64_t r = 0;

	(void)arg;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)time(NULL) * 6364136223846793005ULL ^
		    (uint64_t)getpid();
	return r;
}

static void
real_log(void *arg, int prio, const char *msg)
{
	struct real *r = arg;

	if (r->log != NULL)
		r->log(r->log_arg, prio, msg);
}

struct dns_wait {
	bool done;
	int code;
	char reason[200];
	char **txt;
	size_t n;
	char **addr;
	size_t naddr;
};

static void
dns_cb(void *arg, const struct mtasts_dns_answer *ans)
{
	struct dns_wait *w = arg;
	const char *const *src = ans->type == MTASTS_DNS_TXT ? ans->txt :
	    ans->addr;
	char ***dst = ans->type == MTASTS_DNS_TXT ? &w->txt : &w->addr;
	size_t *dn = ans->type == MTASTS_DNS_TXT ? &w->n : &w->naddr;
	size_t i;

	w->done = true;
	w->code = ans->code;
	snprintf(w->reason, sizeof(w->reason), "%s", ans->reason ?
	    ans->reason : "");
	if (ans->code != MTASTS_OK || ans->count == 0)
		return;
	*dst = mtasts__calloc(ans->count, sizeof(char *));
	if (*dst == NULL) {
		w->code = MTASTS_ENOMEM;
		return;
	}
	for (i = 0; i < ans->count; i++) {
		(*dst)[i] = ans->type == MTASTS_DNS_TXT ?
		    mtasts__strndup(src[i], ans->txt_len[i]) :
		    mtasts__strdup(src[i]);
		if ((*dst)[i] == NULL) {
			w->code = MTASTS_ENOMEM;
			break;
		}
		(*dn)++;
	}
}

static int
real_dns(struct real *r, enum mtasts_dns_type type, const char *name,
	 struct dns_wait *w, struct mtasts_error *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	rc = mtasts_resolver_lookup(r->res, type, name, dns_cb, w, NULL, err);
	if (rc != MTASTS_OK)
		return rc;
	while (!w->done)
		if (event_base_loop(r->base, EVLOOP_ONCE) < 0)
			return mtasts_error_set(err, MTASTS_EINTERNAL,
			    "event loop failed");
	if (w->code != MTASTS_OK)
		return mtasts_error_set(err, w->code, "%s: %s", name,
		    w->reason[0] ? w->reason : mtasts_strerror(w->code));
	return MTASTS_OK;
}

static int
real_lookup_txt(void *arg, const char *name, char ***txt, size_t *n,
		struct mtasts_error *err)
{
	struct dns_wait w;
	int rc = real_dns(arg, MTASTS_DNS_TXT, name, &w, err);

	*txt = w.txt;
	*n = w.n;
	if (rc != MTASTS_OK) {
		tlsrptd_strings_free(w.txt, w.n);
		*txt = NULL;
		*n = 0;
		if (rc == MTASTS_EDNS)
			rc = MTASTS_EDNSTEMP;
	}
	return rc;
}

static size_t
discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/* CURLOPT_RESOLVE entry for the host of url, through our resolver. */
static struct curl_slist *
resolve_list(struct real *r, const char *url, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, entry[1200];
	struct curl_slist *sl = NULL;
	struct dns_wait w;
	struct mtasts_error err;
	size_t i, off;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK || host[0] == '[' || strspn(host, "0123456789.") ==
	    strlen(host))
		goto out;
	if (real_dns(r, MTASTS_DNS_ADDR, host, &w, &err) != MTASTS_OK) {
		snprintf(why, whylen, "address lookup: %s", err.msg);
		goto out;
	}
	off = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", host, port);
	for (i = 0; i < w.naddr && off < sizeof(entry) - 64; i++)
		off += (size_t)snprintf(entry + off, sizeof(entry) - off,
		    strchr(w.addr[i], ':') ? "%s[%s]" : "%s%s", i ? "," : "",
		    w.addr[i]);
	tlsrptd_strings_free(w.addr, w.naddr);
	sl = curl_slist_append(NULL, entry);
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return sl;
}

static enum tlsrptd_outcome
real_post(void *arg, const char *url, const struct tlsrptd_payload *p,
	  char *why, size_t whylen)
{
	struct real *r = arg;
	const struct tlsrptd_send_conf *conf = r->conf;
	struct curl_slist *hdrs = NULL, *res = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *h;
	CURLcode cc;

	why[0] = '\0';
	if (conf->dns_resolver != NULL && conf->dns_resolver[0] != '\0') {
		res = resolve_list(r, url, why, whylen);
		if (res == NULL && why[0] != '\0')
			return TLSRPTD_OUT_TEMP;
	}
	h = curl_easy_init();
	if (h == NULL) {
		curl_slist_free_all(res);
		snprintf(why, whylen, "curl_easy_init failed");
		return TLSRPTD_OUT_TEMP;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/tlsrpt+gzip");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)p->gz);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->gz_len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mtasts-tlsrptd/" MTASTS_VERSION);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, conf->http_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, conf->connect_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, conf->https_verify ? 1L :
	    0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, conf->https_verify ? 2L :
	    0L);
	if (conf->ca_file != NULL && conf->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, conf->ca_file);
	if (res != NULL)
		curl_easy_setopt(h, CURLOPT_RESOLVE, res);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(res);
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "HTTPS POST: %s", errbuf[0] ? errbuf :
		    curl_easy_strerror(cc));
		/* certificate problems are as temporary as the operator's
		 * fix; unsupported protocol or bad URL are not */
		return cc == CURLE_UNSUPPORTED_PROTOCOL ||
		    cc == CURLE_URL_MALFORMAT ? TLSRPTD_OUT_PERM :
		    TLSRPTD_OUT_TEMP;
	}
	if (tlsrptd_http_outcome(status) != TLSRPTD_OUT_OK)
		snprintf(why, whylen, "HTTPS POST: status %ld%s", status,
		    status >= 300 && status < 400 ? " (redirects are not "
		    "followed)" : "");
	return tlsrptd_http_outcome(status);
}

static enum tlsrptd_outcome
mail_sendmail(struct real *r, const char *rcpt, const char *msg, size_t len,
	      char *why, size_t whylen)
{
	const struct tlsrptd_send_conf *conf = r->conf;
	int fds[2], status;
	pid_t pid;
	size_t off = 0, i, start;
	struct sigaction ign, old;

	if (pipe(fds) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return TLSRPTD_OUT_TEMP;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return TLSRPTD_OUT_TEMP;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fds[0], 0);
		if (devnull >= 0)
			dup2(devnull, 1);
		close(fds[0]);
		close(fds[1]);
		execl(conf->sendmail_path, conf->sendmail_path, "-i", "-f",
		    conf->mail_from, "--", rcpt, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	/* the sendmail interface takes local (LF) line ends */
	for (i = 0, start = 0; i <= len && off == 0; i++) {
		if (i < len && !(msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n'))
			continue;
		while (start < i) {
			ssize_t w = write(fds[1], msg + start, i - start);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				off = 1;
				break;
			}
			start += (size_t)w;
		}
		start = i + 1;	/* skip the CR */
	}
	close(fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (status == 127) {
		snprintf(why, whylen, "%s could not be run",
		    conf->sendmail_path);
		return TLSRPTD_OUT_TEMP;
	}
	if (status != 0 || off != 0) {
		snprintf(why, whylen, "%s exited with status %d%s",
		    conf->sendmail_path, status, off ? " (write failed)" : "");
		return off && status == 0 ? TLSRPTD_OUT_TEMP :
		    tlsrptd_sendmail_outcome(status);
	}
	return TLSRPTD_OUT_OK;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
upload_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static enum tlsrptd_outcome
mail_smtp(struct real *r, const char *rcpt, const char *msg, size_t len,
	  char *why, size_t whylen)
{
	const struct tlsrptd_send_conf *conf = r->conf;
	struct curl_slist *rcpts = NULL;
	struct upload up = {msg, len};
	char from[300], to[300], errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURL *h = curl_easy_init();
	CURLcode cc;

	if (h == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return TLSRPTD_OUT_TEMP;
	}
	snprintf(from, sizeof(from), "<%s>", conf->mail_from);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(rcpts, to);
	curl_easy_setopt(h, CURLOPT_URL, conf->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, conf->http_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, conf->connect_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (conf->smtp_starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (conf->ca_file != NULL && conf->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, conf->ca_file);
	if (conf->smtp_user != NULL && conf->smtp_user[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, conf->smtp_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, conf->smtp_password ?
		    conf->smtp_password : "");
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpts);
	if (cc == CURLE_OK)
		return TLSRPTD_OUT_OK;
	snprintf(why, whylen, "SMTP submission: %s (last reply %ld)",
	    errbuf[0] ? errbuf : curl_easy_strerror(cc), code);
	return tlsrptd_smtp_outcome(code);
}

static enum tlsrptd_outcome
real_mail(void *arg, const char *rcpt, const char *msg, size_t len,
	  char *why, size_t whylen)
{
	struct real *r = arg;

	why[0] = '\0';
	if (r->conf->mail_method != NULL &&
	    strcmp(r->conf->mail_method, "smtp") == 0)
		return mail_smtp(r, rcpt, msg, len, why, whylen);
	return mail_sendmail(r, rcpt, msg, len, why, whylen);
}

int
tlsrptd_send_ops_default(struct tlsrptd_send_ops *ops,
			 const struct tlsrptd_send_conf *conf,
			 tlsrptd_log_fn log, void *log_arg,
			 struct mtasts_error *err)
{
	struct mtasts_resolver_options ro;
	struct real *r;
	int rc;

	memset(ops, 0, sizeof(*ops));
	r = mtasts__calloc(1, sizeof(*r));
	if (r == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	r->conf = conf;
	r->log = log;
	r->log_arg = log_arg;
	r->base = event_base_new();
	if (r->base == NULL) {
		mtasts_free(r);
		return mtasts_error_set(err, MTASTS_EINTERNAL,
		    "event_base_new failed");
	}
	mtasts_resolver_options_init(&ro);
	if (conf->dns_resolver != NULL && conf->dns_resolver[0] != '\0')
		ro.forward = conf->dns_resolver;
	if (conf->dns_timeout > 0)
		ro.timeout_ms = conf->dns_timeout * 1000;
	rc = mtasts_resolver_new(r->base, &ro, &r->res, err);
	if (rc != MTASTS_OK) {
		event_base_free(r->base);
		mtasts_free(r);
		return rc;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ops->now = real_now;
	ops->random = real_random;
	ops->lookup_txt = real_lookup_txt;
	ops->post = real_post;
	ops->mail = real_mail;
	ops->log = real_log;
	ops->arg = r;
	return MTASTS_OK;
}

void
tlsrptd_send_ops_cleanup(struct tlsrptd_send_ops *ops)
{
	struct real *r;

	if (ops == NULL || ops->arg == NULL)
		return;
	r = ops->arg;
	mtasts_resolver_free(r->res);
	event_base_free(r->base);
	mtasts_free(r);
	ops->arg = NULL;
}
