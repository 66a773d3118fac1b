/* SPDX-License-Identifier: MIT */
/*
 * resolver.c: asynchronous DNS on libunbound, driven by libevent.
 *
 * One ub_ctx resolves in a background thread (ub_ctx_async(ctx, 1)); its
 * answers arrive on ub_fd(), which a persistent read event hands to
 * ub_process(), which calls ub_done() for every finished sub-query. A
 * lookup (struct rquery) has one or two sub-queries (A+AAAA) and its own
 * timeout timer. Freeing is deferred while we are inside ub_process() or
 * a callback ("depth"), so a user may free the resolver from a callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound.h>

#include "mtasts/mx.h"
#include "mtasts/resolver.h"
#include "mtasts/sts_record.h"
#include "mtasts/txt.h"
#include "util/alloc.h"

#define RR_TYPE_A 1
#define RR_TYPE_MX 15
#define RR_TYPE_TXT 16
#define RR_TYPE_AAAA 28
#define RR_TYPE_TLSA 52
#define RR_CLASS_IN 1

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_MAX_QUERIES 512
#define MAX_QUERIES_LIMIT 4096	/* = num-queries-per-thread below */
#define REASON_MAX 512
#define MX_HOST_MAX 1025	/* 255 wire bytes, worst-case escaped */

struct rquery;

struct rsub {
	struct rquery *q;
	int id;			/* libunbound async id */
	bool pending;
	int err;		/* ub error code from the callback */
	struct ub_result *res;
};

struct rquery {
	struct mtasts_resolver *r;
	struct rquery *prev, *next;
	enum mtasts_dns_type type;
	char name[MTASTS_DOMAIN_MAX + 1];
	mtasts_dns_cb cb;
	void *arg;
	struct event *timer;
	unsigned nsub;
	unsigned npending;
	bool dead;		/* dropped while the resolver is busy */
	bool queued;		/* waiting in the FIFO, not started */
	bool charged;		/* counted in r->inflight */
	bool grace;		/* timeout postponed once for queued answers */
	int start_err;		/* ub_resolve_async() failed when dequeued */
	int qtypes[2];
	struct rsub sub[2];
};

struct mtasts_resolver {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *ev;
	unsigned timeout_ms;
	unsigned max_records;
	struct rquery *head;	/* started lookups */
	struct rquery *qhead, *qtail; /* lookups waiting for room */
	unsigned inflight;	/* libunbound queries outstanding */
	unsigned max_inflight;
	unsigned depth;		/* > 0 while inside ub_process or a cb */
	bool dying;		/* free requested while depth > 0 */
};

/* Everything an answer owns; released after the callback. */
struct answer_buf {
	struct mtasts_dns_answer a;
	char reason[REASON_MAX];
	char canon[MTASTS_DOMAIN_MAX + 1];
	char **strs;
	size_t *lens;
	struct mtasts_dns_mx *mx;
	size_t n;
};

const struct mtasts_dns_ops mtasts_resolver_dns_ops;

void
mtasts_resolver_options_init(struct mtasts_resolver_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->timeout_ms = DEFAULT_TIMEOUT_MS;
	opt->max_records = MTASTS_DNS_MAX_RECORDS;
	opt->max_queries = DEFAULT_MAX_QUERIES;
}

const char *
mtasts_dns_type_name(enum mtasts_dns_type type)
{
	switch (type) {
	case MTASTS_DNS_TXT:
		return "TXT";
	case MTASTS_DNS_ADDR:
		return "A/AAAA";
	case MTASTS_DNS_MX:
		return "MX";
	case MTASTS_DNS_TLSA:
		return "TLSA";
	}
	return "?";
}

/* Split "IP[@PORT]" into ip (cap bytes) and port; 0 on success. */
static int
parse_forward(const char *fwd, char *ip, size_t cap, unsigned *port)
{
	const char *at = strrchr(fwd, '@');
	size_t iplen = at ? (size_t)(at - fwd) : strlen(fwd);
	unsigned char buf[16];

	*port = 53;
	if (iplen == 0 || iplen >= cap)
		return -1;
	memcpy(ip, fwd, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, buf) != 1 &&
	    inet_pton(AF_INET6, ip, buf) != 1)
		return -1;
	if (at) {
		const char *p = at + 1;
		unsigned v = 0;

		if (*p == '\0')
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v = v * 10 + (unsigned)(*p - '0');
			if (v > 65535)
				return -1;
		}
		if (v == 0)
			return -1;
		*port = v;
	}
	return 0;
}

int
mtasts_resolver_forward_check(const char *forward, struct mtasts_error *err)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (forward == NULL || parse_forward(forward, ip, sizeof(ip),
	    &port) != 0)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "resolver address \"%s\" is not IP[@PORT]",
		    forward ? forward : "(null)");
	return MTASTS_OK;
}

static void
on_ub_fd(evutil_socket_t fd, short what, void *arg);

static void
free_query(struct rquery *q);

static void
really_free(struct mtasts_resolver *r)
{
	struct rquery *q, *next;

	/* No ub_process() after this point, so no more callbacks. */
	if (r->ev)
		event_free(r->ev);
	if (r->ctx)
		ub_ctx_delete(r->ctx);
	for (q = r->head; q; q = next) {
		next = q->next;
		for (unsigned i = 0; i < q->nsub; i++)
			if (q->sub[i].res)
				ub_resolve_free(q->sub[i].res);
		if (q->timer)
			event_free(q->timer);
		mtasts__free(q);
	}
	for (q = r->qhead; q; q = next) {
		next = q->next;
		free_query(q);
	}
	mtasts__free(r);
}

static int
set_opt(struct ub_ctx *ctx, const char *opt, const char *val,
    struct mtasts_error *err)
{
	int rc = ub_ctx_set_option(ctx, opt, val);

	if (rc != 0)
		return mtasts_error_set(err, MTASTS_EINTERNAL,
		    "libunbound option %s %s: %s", opt, val, ub_strerror(rc));
	return MTASTS_OK;
}

int
mtasts_resolver_new(struct event_base *base,
    const struct mtasts_resolver_options *opt, struct mtasts_resolver **out,
    struct mtasts_error *err)
{
	struct mtasts_resolver_options defaults;
	struct mtasts_resolver *r;
	int rc, fd;

	*out = NULL;
	if (opt == NULL) {
		mtasts_resolver_options_init(&defaults);
		opt = &defaults;
	}
	if (base == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no event base");
	if (opt->forward &&
	    (rc = mtasts_resolver_forward_check(opt->forward, err)) != 0)
		return rc;
	r = mtasts__calloc(1, sizeof(*r));
	if (r == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	r->base = base;
	r->timeout_ms = opt->timeout_ms ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->max_records = opt->max_records;
	if (r->max_records == 0 || r->max_records > MTASTS_DNS_MAX_RECORDS)
		r->max_records = MTASTS_DNS_MAX_RECORDS;
	r->max_inflight = opt->max_queries ? opt->max_queries
					   : DEFAULT_MAX_QUERIES;
	if (r->max_inflight < 2)
		r->max_inflight = 2;	/* room for one A+AAAA lookup */
	if (r->max_inflight > MAX_QUERIES_LIMIT)
		r->max_inflight = MAX_QUERIES_LIMIT;
	r->ctx = ub_ctx_create();
	if (r->ctx == NULL) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot create libunbound context");
		goto fail;
	}
	/* A background thread, not a forked process. */
	if ((rc = ub_ctx_async(r->ctx, 1)) != 0) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "libunbound async mode: %s", ub_strerror(rc));
		goto fail;
	}
	/* Forwarders and resolv.conf servers may live on 127.0.0.0/8; many
	 * lookups may be in flight at once (3 per policy discovery); names
	 * under "test." (RFC 6761) go to the configured servers like any
	 * other instead of unbound's built-in NXDOMAIN, so that test
	 * networks work. */
	if ((rc = set_opt(r->ctx, "do-not-query-localhost:", "no", err)) ||
	    (rc = set_opt(r->ctx, "local-zone:", "test. transparent", err)) ||
	    (rc = set_opt(r->ctx, "num-queries-per-thread:", "4096", err)) ||
	    (rc = set_opt(r->ctx, "outgoing-range:", "512", err)))
		goto fail;
	if (opt->forward) {
		char fwd[INET6_ADDRSTRLEN + 8];
		char ip[INET6_ADDRSTRLEN];
		unsigned port;

		(void)parse_forward(opt->forward, ip, sizeof(ip), &port);
		snprintf(fwd, sizeof(fwd), "%s@%u", ip, port);
		if ((rc = ub_ctx_set_fwd(r->ctx, fwd)) != 0) {
			rc = mtasts_error_set(err, MTASTS_EINVAL,
			    "resolver address \"%s\": %s", opt->forward,
			    ub_strerror(rc));
			goto fail;
		}
	} else {
		if ((rc = ub_ctx_resolvconf(r->ctx, NULL)) != 0) {
			rc = mtasts_error_set(err, MTASTS_EINTERNAL,
			    "cannot read the system resolver configuration:"
			    " %s", ub_strerror(rc));
			goto fail;
		}
		/* A missing /etc/hosts is not an error. */
		(void)ub_ctx_hosts(r->ctx, NULL);
	}
	fd = ub_fd(r->ctx);
	if (fd < 0) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "libunbound has no result descriptor");
		goto fail;
	}
	/* Added while lookups are pending, so an idle resolver does not
	 * keep event_base_dispatch() running. */
	r->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_ub_fd, r);
	if (r->ev == NULL) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot watch the libunbound descriptor");
		goto fail;
	}
	*out = r;
	return MTASTS_OK;
fail:
	really_free(r);
	return rc;
}

/* Take q out of the started list or the waiting FIFO. */
static void
unlink_query(struct mtasts_resolver *r, struct rquery *q)
{
	if (q->queued) {
		if (q == r->qtail)
			r->qtail = q->prev;
		if (q->prev)
			q->prev->next = q->next;
		else
			r->qhead = q->next;
	} else {
		if (q->prev)
			q->prev->next = q->next;
		else
			r->head = q->next;
		if (q->charged)
			r->inflight -= q->nsub;
		q->charged = false;
	}
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	q->queued = false;
}

static void
ub_done(void *mydata, int err, struct ub_result *result);

static void
arm_timer(struct rquery *q, unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (long)(ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
}

static void
link_started(struct mtasts_resolver *r, struct rquery *q)
{
	q->next = r->head;
	if (r->head)
		r->head->prev = q;
	r->head = q;
}

/* Send q's queries to libunbound and put it on the started list. On
 * failure nothing is linked and the libunbound code is returned. */
static int
start_query(struct mtasts_resolver *r, struct rquery *q)
{
	for (unsigned i = 0; i < q->nsub; i++) {
		int rc = ub_resolve_async(r->ctx, q->name, q->qtypes[i],
		    RR_CLASS_IN, &q->sub[i], ub_done, &q->sub[i].id);

		if (rc != 0) {
			for (unsigned k = 0; k < i; k++) {
				(void)ub_cancel(r->ctx, q->sub[k].id);
				q->sub[k].pending = false;
			}
			q->npending = 0;
			return rc;
		}
		q->sub[i].pending = true;
		q->npending++;
	}
	q->charged = true;
	r->inflight += q->nsub;
	link_started(r, q);
	arm_timer(q, r->timeout_ms);
	return 0;
}

/*
 * Start waiting lookups while there is room, then watch the libunbound
 * descriptor only while something is pending, so that an idle resolver
 * does not keep event_base_dispatch() running. A lookup that cannot be
 * started now fails through its timer, never synchronously.
 */
static void
settle(struct mtasts_resolver *r)
{
	if (r->dying)
		return;
	while (r->qhead && r->inflight + r->qhead->nsub <= r->max_inflight) {
		struct rquery *q = r->qhead;

		unlink_query(r, q);
		q->start_err = start_query(r, q);
		if (q->start_err != 0) {
			link_started(r, q);
			arm_timer(q, 0);
		}
	}
	if (r->head || r->qhead)
		event_add(r->ev, NULL);
	else
		event_del(r->ev);
}

/* Release a query that is no longer in the list. */
static void
free_query(struct rquery *q)
{
	for (unsigned i = 0; i < q->nsub; i++)
		if (q->sub[i].res)
			ub_resolve_free(q->sub[i].res);
	if (q->timer)
		event_free(q->timer);
	mtasts__free(q);
}

static void
leave(struct mtasts_resolver *r)
{
	if (--r->depth == 0 && r->dying)
		really_free(r);
}

void
mtasts_resolver_free(struct mtasts_resolver *r)
{
	struct rquery *q;

	if (r == NULL || r->dying)
		return;
	if (r->depth > 0) {
		/* Inside ub_process() or a callback: drop every query now
		 * (their answers are ignored), delete the context later. */
		r->dying = true;
		for (q = r->head; q; q = q->next)
			q->dead = true;
		return;
	}
	really_free(r);
}

void
mtasts_resolver_cancel(struct mtasts_resolver *r, struct mtasts_dns_query *h)
{
	struct rquery *q = (struct rquery *)h;

	if (r == NULL || q == NULL || q->dead || r->dying)
		return;
	/* In threaded mode ub_cancel() only flags the query, so calling it
	 * from inside ub_process() is safe, and the flagged query's
	 * callback never runs. */
	for (unsigned i = 0; i < q->nsub; i++)
		if (q->sub[i].pending)
			(void)ub_cancel(r->ctx, q->sub[i].id);
	unlink_query(r, q);
	free_query(q);
	settle(r);
}

static const char *
rcode_name(int rcode)
{
	switch (rcode) {
	case 1:
		return "FORMERR";
	case 2:
		return "SERVFAIL";
	case 3:
		return "NXDOMAIN";
	case 4:
		return "NOTIMP";
	case 5:
		return "REFUSED";
	default:
		return NULL;
	}
}

/* Classify one sub-answer; fills reason on error. */
static int
classify(const struct rquery *q, const struct rsub *s, bool *nx,
    char *reason, size_t cap)
{
	const char *tn = mtasts_dns_type_name(q->type);
	const struct ub_result *res = s->res;
	const char *rn;

	*nx = false;
	if (s->err != 0 || res == NULL) {
		snprintf(reason, cap, "DNS %s lookup of %s failed: %s", tn,
		    q->name, ub_strerror(s->err));
		return MTASTS_EDNSTEMP;
	}
	if (res->bogus) {
		snprintf(reason, cap, "DNS %s lookup of %s failed DNSSEC "
		    "validation", tn, q->name);
		return MTASTS_EDNSTEMP;
	}
	if (res->was_ratelimited) {
		snprintf(reason, cap, "DNS %s lookup of %s was rate-limited",
		    tn, q->name);
		return MTASTS_EDNSTEMP;
	}
	if (res->rcode == 0 && res->havedata)
		return MTASTS_OK;
	if (res->rcode == 3 || res->nxdomain) {
		*nx = true;
		snprintf(reason, cap, "%s does not exist (NXDOMAIN)", q->name);
		return MTASTS_ENOTFOUND;
	}
	if (res->rcode == 0) {
		snprintf(reason, cap, "%s has no %s record (NODATA)", q->name,
		    tn);
		return MTASTS_ENOTFOUND;
	}
	rn = rcode_name(res->rcode);
	if (res->rcode == 2) {
		snprintf(reason, cap, "DNS %s lookup of %s failed: SERVFAIL",
		    tn, q->name);
		return MTASTS_EDNSTEMP;
	}
	if (rn)
		snprintf(reason, cap, "DNS %s lookup of %s failed: %s", tn,
		    q->name, rn);
	else
		snprintf(reason, cap, "DNS %s lookup of %s failed: rcode %d",
		    tn, q->name, res->rcode);
	return MTASTS_EDNS;
}

static size_t
count_rdata(const struct ub_result *res)
{
	size_t n = 0;

	if (res == NULL || !res->havedata || res->data == NULL)
		return 0;
	while (res->data[n])
		n++;
	return n;
}

/* Wire-format name at p (len bytes) to text without the root dot. */
static int
wire_name_text(const unsigned char *p, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (len >= 1 && p[0] == 0) {
		if (cap < 2)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	while (i < len && p[i] != 0) {
		size_t l = p[i++];

		if (l > 63 || i + l > len)
			return -1;
		if (o > 0) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = '.';
		}
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];
			int w;

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			    c == '*') {
				if (o + 1 >= cap)
					return -1;
				out[o++] = (char)c;
				continue;
			}
			w = snprintf(out + o, cap - o, "\\%03u", c);
			if (w < 0 || (size_t)w >= cap - o)
				return -1;
			o += (size_t)w;
		}
		i += l;
	}
	if (i >= len)
		return -1;	/* no terminating root label */
	out[o] = '\0';
	return 0;
}

static void
answer_release(struct answer_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		mtasts__free(b->strs ? b->strs[i] : NULL);
	mtasts__free(b->strs);
	mtasts__free(b->lens);
	mtasts__free(b->mx);
}

static int
oom(struct answer_buf *b, const struct rquery *q)
{
	snprintf(b->reason, sizeof(b->reason),
	    "out of memory while reading the DNS answer for %s", q->name);
	return MTASTS_ENOMEM;
}

static int
build_txt(struct answer_buf *b, const struct rquery *q, size_t maxrec)
{
	const struct ub_result *res = q->sub[0].res;
	size_t n = count_rdata(res);

	if (n > maxrec) {
		snprintf(b->reason, sizeof(b->reason),
		    "%s has %zu TXT records, more than the limit of %zu",
		    q->name, n, maxrec);
		return MTASTS_ETOOBIG;
	}
	b->strs = mtasts__calloc(n ? n : 1, sizeof(*b->strs));
	b->lens = mtasts__calloc(n ? n : 1, sizeof(*b->lens));
	if (b->strs == NULL || b->lens == NULL)
		return oom(b, q);
	for (size_t i = 0; i < n; i++) {
		size_t rdlen = (size_t)res->len[i], outlen = 0;
		char *s = mtasts__malloc(rdlen + 1);
		int rc;

		if (s == NULL)
			return oom(b, q);
		b->strs[i] = s;
		b->n = i + 1;
		/* The joined text is always shorter than the RDATA. */
		rc = mtasts_txt_rdata_join((const unsigned char *)res->data[i],
		    rdlen, s, rdlen + 1, &outlen, NULL);
		if (rc != MTASTS_OK) {
			snprintf(b->reason, sizeof(b->reason),
			    "malformed TXT RDATA at %s", q->name);
			return MTASTS_EDNS;
		}
		/* Cap what we pass on: one byte over the parser's limit
		 * keeps the record recognisably too long. */
		if (outlen > MTASTS_TXT_RECORD_MAX + 1) {
			outlen = MTASTS_TXT_RECORD_MAX + 1;
			s[outlen] = '\0';
		}
		b->lens[i] = outlen;
	}
	b->a.txt = (const char *const *)b->strs;
	b->a.txt_len = b->lens;
	b->a.count = n;
	return MTASTS_OK;
}

static int
build_addr(struct answer_buf *b, const struct rquery *q, size_t maxrec)
{
	size_t total = 0;

	for (unsigned s = 0; s < q->nsub; s++)
		total += count_rdata(q->sub[s].res);
	if (total > maxrec)
		total = maxrec; /* harmless: keep the first ones */
	b->strs = mtasts__calloc(total ? total : 1, sizeof(*b->strs));
	if (b->strs == NULL)
		return oom(b, q);
	for (unsigned s = 0; s < q->nsub; s++) {
		const struct ub_result *res = q->sub[s].res;
		size_t n = count_rdata(res);

		for (size_t i = 0; i < n && b->n < total; i++) {
			char txt[INET6_ADDRSTRLEN];
			int af;

			if (res->len[i] == 4 && res->qtype == RR_TYPE_A)
				af = AF_INET;
			else if (res->len[i] == 16 &&
			    res->qtype == RR_TYPE_AAAA)
				af = AF_INET6;
			else
				continue;
			if (inet_ntop(af, res->data[i], txt, sizeof(txt)) ==
			    NULL)
				continue;
			b->strs[b->n] = mtasts__strdup(txt);
			if (b->strs[b->n] == NULL)
				return oom(b, q);
			b->n++;
		}
	}
	b->a.addr = (const char *const *)b->strs;
	b->a.count = b->n;
	return MTASTS_OK;
}

static int
build_mx(struct answer_buf *b, const struct rquery *q, size_t maxrec)
{
	const struct ub_result *res = q->sub[0].res;
	size_t n = count_rdata(res);

	if (n > maxrec) {
		snprintf(b->reason, sizeof(b->reason),
		    "%s has %zu MX records, more than the limit of %zu",
		    q->name, n, maxrec);
		return MTASTS_ETOOBIG;
	}
	b->strs = mtasts__calloc(n ? n : 1, sizeof(*b->strs));
	b->mx = mtasts__calloc(n ? n : 1, sizeof(*b->mx));
	if (b->strs == NULL || b->mx == NULL)
		return oom(b, q);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)res->data[i];
		size_t len = (size_t)res->len[i];
		char host[MX_HOST_MAX];

		if (len < 3 || wire_name_text(p + 2, len - 2, host,
		    sizeof(host)) != 0) {
			snprintf(b->reason, sizeof(b->reason),
			    "malformed MX RDATA at %s", q->name);
			return MTASTS_EDNS;
		}
		b->strs[i] = mtasts__strdup(host);
		if (b->strs[i] == NULL)
			return oom(b, q);
		b->n = i + 1;
		b->mx[i].preference = ((unsigned)p[0] << 8) | p[1];
		b->mx[i].host = b->strs[i];
	}
	b->a.mx = b->mx;
	b->a.count = n;
	return MTASTS_OK;
}

/* Severity order used to merge A and AAAA failures. */
static int
merge_rank(int code)
{
	switch (code) {
	case MTASTS_EDNSTEMP:
		return 3;
	case MTASTS_EDNS:
		return 2;
	case MTASTS_ENOTFOUND:
		return 1;
	default:
		return 0;
	}
}

/* Build the answer for a query whose sub-queries are all done. */
static void
build_answer(struct mtasts_resolver *r, struct rquery *q,
    struct answer_buf *b)
{
	bool nx[2] = {false, false};
	char why[2][REASON_MAX];
	int code[2];
	int best = 0;
	const char *canon = NULL;

	b->a.type = q->type;
	b->a.name = q->name;
	b->a.reason = b->reason;
	b->a.secure = true;
	for (unsigned i = 0; i < q->nsub; i++) {
		code[i] = classify(q, &q->sub[i], &nx[i], why[i],
		    sizeof(why[i]));
		if (q->sub[i].res == NULL || !q->sub[i].res->secure)
			b->a.secure = false;
		if (canon == NULL && q->sub[i].res &&
		    q->sub[i].res->canonname)
			canon = q->sub[i].res->canonname;
	}
	if (canon) {
		size_t cl = strlen(canon);

		if (cl > 1 && canon[cl - 1] == '.')
			cl--;
		if (cl < sizeof(b->canon) && (cl != strlen(q->name) ||
		    strncasecmp(canon, q->name, cl) != 0)) {
			memcpy(b->canon, canon, cl);
			b->canon[cl] = '\0';
			b->a.canonname = b->canon;
		}
	}
	if (q->type == MTASTS_DNS_ADDR) {
		/* Any address wins; otherwise the worst failure. */
		if (code[0] != MTASTS_OK && code[1] != MTASTS_OK) {
			best = merge_rank(code[1]) > merge_rank(code[0]);
			b->a.code = code[best];
			b->a.nxdomain = nx[0] && nx[1];
			if (b->a.code == MTASTS_ENOTFOUND && !b->a.nxdomain)
				snprintf(b->reason, sizeof(b->reason),
				    "%s has no A or AAAA record", q->name);
			else
				snprintf(b->reason, sizeof(b->reason), "%s",
				    why[best]);
			return;
		}
		b->a.code = build_addr(b, q, r->max_records);
		if (b->a.code == MTASTS_OK && b->a.count == 0) {
			b->a.code = MTASTS_ENOTFOUND;
			snprintf(b->reason, sizeof(b->reason),
			    "%s has no A or AAAA record", q->name);
		}
		return;
	}
	if (code[0] != MTASTS_OK) {
		b->a.code = code[0];
		b->a.nxdomain = nx[0];
		snprintf(b->reason, sizeof(b->reason), "%s", why[0]);
		return;
	}
	if (q->type == MTASTS_DNS_TXT)
		b->a.code = build_txt(b, q, r->max_records);
	else if (q->type == MTASTS_DNS_TLSA)
		b->a.count = count_rdata(q->sub[0].res); /* count only */
	else
		b->a.code = build_mx(b, q, r->max_records);
}

/* Deliver the answer of q (unlinked here) and free it. */
static void
deliver(struct mtasts_resolver *r, struct rquery *q)
{
	struct answer_buf *b;

	unlink_query(r, q);
	settle(r);
	if (q->timer)
		event_del(q->timer);
	b = mtasts__calloc(1, sizeof(*b));
	r->depth++;
	if (b == NULL) {
		struct mtasts_dns_answer a;

		memset(&a, 0, sizeof(a));
		a.type = q->type;
		a.code = MTASTS_ENOMEM;
		a.name = q->name;
		a.reason = "out of memory while reading a DNS answer";
		q->cb(q->arg, &a);
	} else {
		build_answer(r, q, b);
		if (b->a.code == MTASTS_OK)
			b->a.reason = "";
		q->cb(q->arg, &b->a);
		answer_release(b);
		mtasts__free(b);
	}
	free_query(q);
	leave(r);
}

static void
ub_done(void *mydata, int err, struct ub_result *result)
{
	struct rsub *s = mydata;
	struct rquery *q = s->q;
	struct mtasts_resolver *r = q->r;

	s->pending = false;
	s->err = err;
	s->res = result;
	q->npending--;
	if (q->npending > 0)
		return;
	if (r->dying)
		return;	/* really_free() releases it */
	deliver(r, q);
}

static void
on_ub_fd(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_resolver *r = arg;

	(void)fd;
	(void)what;
	r->depth++;
	/* Errors here mean a broken pipe to the resolver thread; pending
	 * queries then end through their timers. */
	(void)ub_process(r->ctx);
	leave(r);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rquery *q = arg;
	struct mtasts_resolver *r = q->r;
	struct mtasts_dns_answer a;
	char reason[REASON_MAX];

	(void)fd;
	(void)what;
	if (!q->start_err && !q->grace && ub_poll(r->ctx)) {
		/* Answers are waiting in the pipe (a busy loop can run our
		 * timer before the descriptor event): read them first. */
		q->grace = true;
		arm_timer(q, 20);
		return;
	}
	for (unsigned i = 0; i < q->nsub; i++) {
		if (q->sub[i].pending) {
			(void)ub_cancel(r->ctx, q->sub[i].id);
			q->sub[i].pending = false;
		}
	}
	q->npending = 0;
	unlink_query(r, q);
	settle(r);
	memset(&a, 0, sizeof(a));
	if (q->start_err)
		snprintf(reason, sizeof(reason), "cannot start the DNS %s "
		    "lookup of %s: %s", mtasts_dns_type_name(q->type), q->name,
		    ub_strerror(q->start_err));
	else
		snprintf(reason, sizeof(reason), "DNS %s lookup of %s timed "
		    "out after %u ms", mtasts_dns_type_name(q->type), q->name,
		    r->timeout_ms);
	a.type = q->type;
	a.code = MTASTS_EDNSTEMP;
	a.name = q->name;
	a.reason = reason;
	r->depth++;
	q->cb(q->arg, &a);
	free_query(q);
	leave(r);
}

int
mtasts_resolver_lookup(struct mtasts_resolver *r, enum mtasts_dns_type type,
    const char *name, mtasts_dns_cb cb, void *arg, struct mtasts_dns_query **qp,
    struct mtasts_error *err)
{
	struct rquery *q;
	size_t len;
	int rc;

	if (qp)
		*qp = NULL;
	if (r == NULL || name == NULL || cb == NULL || r->dying)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad arguments to a DNS lookup");
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MTASTS_DOMAIN_MAX)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "cannot look up a name of %zu bytes", len);
	q = mtasts__calloc(1, sizeof(*q));
	if (q == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	memcpy(q->name, name, len);
	q->name[len] = '\0';
	q->r = r;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	switch (type) {
	case MTASTS_DNS_TXT:
		q->qtypes[0] = RR_TYPE_TXT;
		q->nsub = 1;
		break;
	case MTASTS_DNS_ADDR:
		q->qtypes[0] = RR_TYPE_A;
		q->qtypes[1] = RR_TYPE_AAAA;
		q->nsub = 2;
		break;
	case MTASTS_DNS_MX:
		q->qtypes[0] = RR_TYPE_MX;
		q->nsub = 1;
		break;
	case MTASTS_DNS_TLSA:
		q->qtypes[0] = RR_TYPE_TLSA;
		q->nsub = 1;
		break;
	default:
		mtasts__free(q);
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "unknown DNS lookup type %d", (int)type);
	}
	for (unsigned i = 0; i < q->nsub; i++)
		q->sub[i].q = q;
	q->timer = evtimer_new(r->base, on_timeout, q);
	if (q->timer == NULL || event_add(r->ev, NULL) != 0) {
		free_query(q);
		return mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot set up events for a DNS lookup");
	}
	if (r->qhead == NULL && r->inflight + q->nsub <= r->max_inflight) {
		rc = start_query(r, q);
		if (rc != 0) {
			free_query(q);
			settle(r);
			return mtasts_error_set(err, MTASTS_EINTERNAL,
			    "cannot start a DNS lookup of %s: %s", name,
			    ub_strerror(rc));
		}
	} else {
		/* Too many queries in flight: wait in arrival order, so
		 * that libunbound never drops queries for lack of room.
		 * The timeout starts when the lookup does. */
		q->queued = true;
		q->prev = r->qtail;
		if (r->qtail)
			r->qtail->next = q;
		else
			r->qhead = q;
		r->qtail = q;
	}
	if (qp)
		*qp = (struct mtasts_dns_query *)q;
	return MTASTS_OK;
}

static int
ops_lookup(void *impl, enum mtasts_dns_type type, const char *name,
    mtasts_dns_cb cb, void *arg, struct mtasts_dns_query **q,
    struct mtasts_error *err)
{
	return mtasts_resolver_lookup(impl, type, name, cb, arg, q, err);
}

static void
ops_cancel(void *impl, struct mtasts_dns_query *q)
{
	mtasts_resolver_cancel(impl, q);
}

const struct mtasts_dns_ops mtasts_resolver_dns_ops = {
	.lookup = ops_lookup,
	.cancel = ops_cancel,
};
