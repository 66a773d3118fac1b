/* SPDX-License-Identifier: MIT */
/*
 * fetch.c: HTTPS GET of policies on the libcurl multi API and libevent.
 *
 * One CURLM per fetcher. libcurl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION: one persistent event per socket) and when to
 * call it back (CURLMOPT_TIMERFUNCTION: one timer); both end up in
 * curl_multi_socket_action() followed by reap(), which hands finished
 * transfers to their callbacks. Requests beyond max_fetches wait in a
 * FIFO and get their easy handle only when they start, so a queued
 * request costs a few hundred bytes.
 *
 * Certificate checks: libcurl's own host check accepts a CN when the
 * certificate has no subjectAltName, and RFC 8461 section 3.3 forbids
 * that, so every connection's SSL_CTX (CURLOPT_SSL_CTX_FUNCTION) gets the
 * host name on its X509_VERIFY_PARAM with NEVER_CHECK_SUBJECT and
 * NO_PARTIAL_WILDCARDS, and a verify callback that remembers the first
 * error and the certificate's names for the reason.
 *
 * Freeing while we are inside reap() or a callback is deferred ("depth").
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/version.h"
#include "util/alloc.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_MAX_FETCHES 256
#define MAX_FETCHES_LIMIT 4096
#define REASON_MAX 512
#define CERT_REASON_MAX 320
#define URL_MAX 2048

struct mtasts_fetcher;

struct freq {
	struct mtasts_fetcher *f;
	struct freq *prev, *next; /* in f->queue or f->active */
	bool active;
	CURL *easy;
	CURLSH *share;		/* private DNS cache for CURLOPT_RESOLVE */
	struct curl_slist *resolve;
	char *host;
	char *url;
	char *resolve_line;
	mtasts_http_cb cb;
	void *arg;
	char *body;
	size_t body_len, body_cap;
	size_t header_bytes;
	bool body_toobig, header_toobig, status_abort;
	int verify_err;		/* first X509_V_ERR_*, 0 if none */
	char cert_reason[CERT_REASON_MAX];
	char errbuf[CURL_ERROR_SIZE];
	char location[URL_MAX];	/* Location header of the last response */
};

struct fsock {
	struct mtasts_fetcher *f;
	struct fsock *prev, *next;
	struct event *ev;
	curl_socket_t s;
};

struct mtasts_fetcher {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_file;
	char *user_agent;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	unsigned max_fetches;
	unsigned nactive;
	struct freq *qhead, *qtail;	/* waiting */
	struct freq *active;		/* running */
	struct fsock *socks;
	unsigned depth;
	bool dying;
	bool curl_init;
};

static int ssl_ex_index = -1;
static pthread_once_t ssl_ex_once = PTHREAD_ONCE_INIT;

static void
ssl_ex_init(void)
{
	ssl_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

const struct mtasts_http_ops mtasts_fetcher_http_ops;

void
mtasts_fetch_options_init(struct mtasts_fetch_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	opt->timeout_ms = DEFAULT_TIMEOUT_MS;
	opt->max_body = MTASTS_POLICY_BODY_MAX;
	opt->max_fetches = DEFAULT_MAX_FETCHES;
}

/* ---- request bookkeeping ------------------------------------------------ */

static void
list_remove(struct freq **head, struct freq *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		*head = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	rq->prev = rq->next = NULL;
}

static void
queue_remove(struct mtasts_fetcher *f, struct freq *rq)
{
	if (rq == f->qtail)
		f->qtail = rq->prev;
	list_remove(&f->qhead, rq);
}

/* Free a request that is in no list. */
static void
free_req(struct freq *rq)
{
	if (rq->easy) {
		if (rq->active)
			curl_multi_remove_handle(rq->f->multi, rq->easy);
		curl_easy_cleanup(rq->easy);
	}
	if (rq->share)
		curl_share_cleanup(rq->share);
	curl_slist_free_all(rq->resolve);
	mtasts__free(rq->host);
	mtasts__free(rq->url);
	mtasts__free(rq->resolve_line);
	mtasts__free(rq->body);
	mtasts__free(rq);
}

/* Take a request out of whatever list it is in and free it. */
static void
drop_req(struct mtasts_fetcher *f, struct freq *rq)
{
	if (rq->active) {
		list_remove(&f->active, rq);
		f->nactive--;
	} else {
		queue_remove(f, rq);
	}
	free_req(rq);
}

static void
really_free(struct mtasts_fetcher *f)
{
	struct fsock *s, *snext;

	while (f->qhead)
		drop_req(f, f->qhead);
	while (f->active)
		drop_req(f, f->active);
	if (f->multi)
		curl_multi_cleanup(f->multi);
	/* libcurl has closed every socket now; drop what is left. */
	for (s = f->socks; s; s = snext) {
		snext = s->next;
		if (s->ev)
			event_free(s->ev);
		mtasts__free(s);
	}
	if (f->timer)
		event_free(f->timer);
	mtasts__free(f->ca_file);
	mtasts__free(f->user_agent);
	if (f->curl_init)
		curl_global_cleanup();
	mtasts__free(f);
}

static void
leave(struct mtasts_fetcher *f)
{
	if (--f->depth == 0 && f->dying)
		really_free(f);
}

void
mtasts_fetcher_free(struct mtasts_fetcher *f)
{
	if (f == NULL || f->dying)
		return;
	if (f->depth > 0) {
		/* Inside reap(): cancel everything now, free later. */
		f->dying = true;
		while (f->qhead)
			drop_req(f, f->qhead);
		while (f->active)
			drop_req(f, f->active);
		return;
	}
	really_free(f);
}

void
mtasts_fetcher_cancel(struct mtasts_fetcher *f,
    struct mtasts_http_request *h)
{
	struct freq *rq = (struct freq *)h;

	if (f == NULL || rq == NULL || f->dying)
		return;
	drop_req(f, rq);
}

/* ---- libevent glue ------------------------------------------------------ */

static void
reap(struct mtasts_fetcher *f);

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct fsock *s = arg;
	struct mtasts_fetcher *f = s->f;
	int flags = 0, running = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	f->depth++;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	reap(f);
	leave(f);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_fetcher *f = arg;
	int running = 0;

	(void)fd;
	(void)what;
	f->depth++;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(f);
	leave(f);
}

static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mtasts_fetcher *f = userp;
	struct fsock *fs = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (fs) {
			if (fs->prev)
				fs->prev->next = fs->next;
			else
				f->socks = fs->next;
			if (fs->next)
				fs->next->prev = fs->prev;
			if (fs->ev)
				event_free(fs->ev);
			mtasts__free(fs);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (fs == NULL) {
		fs = mtasts__calloc(1, sizeof(*fs));
		if (fs == NULL)
			return -1;
		fs->f = f;
		fs->s = s;
		fs->next = f->socks;
		if (f->socks)
			f->socks->prev = fs;
		f->socks = fs;
		curl_multi_assign(f->multi, s, fs);
	} else if (fs->ev) {
		event_free(fs->ev);
		fs->ev = NULL;
	}
	fs->ev = event_new(f->base, s, kind, on_socket, fs);
	if (fs->ev == NULL || event_add(fs->ev, NULL) != 0)
		return -1;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct mtasts_fetcher *f = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(f->timer, &tv) == 0 ? 0 : -1;
}

/* ---- libcurl callbacks -------------------------------------------------- */

static size_t
write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct freq *rq = userp;
	size_t len = size * n;
	size_t max = rq->f->max_body;
	long status = 0;

	curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* The status decides; no need to read an error page. */
		rq->status_abort = true;
		return 0;
	}
	if (len > max - rq->body_len) {
		/* Keep what fits, then stop the transfer. */
		len = max - rq->body_len;
		rq->body_toobig = true;
	}
	if (rq->body_len + len + 1 > rq->body_cap) {
		size_t cap = rq->body_cap ? rq->body_cap : 4096;
		char *nb;

		while (cap < rq->body_len + len + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		nb = mtasts__realloc(rq->body, cap);
		if (nb == NULL)
			return 0;
		rq->body = nb;
		rq->body_cap = cap;
	}
	memcpy(rq->body + rq->body_len, data, len);
	rq->body_len += len;
	rq->body[rq->body_len] = '\0';
	return rq->body_toobig ? 0 : size * n;
}

static size_t
header_cb(char *data, size_t size, size_t n, void *userp)
{
	struct freq *rq = userp;
	size_t len = size * n;

	rq->header_bytes += len;
	if (rq->header_bytes > MTASTS_FETCH_HEADER_MAX) {
		rq->header_toobig = true;
		return 0;
	}
	/* libcurl fills CURLINFO_REDIRECT_URL only for transfers that end
	 * normally, and we stop at the first body byte of a non-200 answer,
	 * so remember the Location header ourselves (printable bytes only,
	 * for the reason). */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		rq->location[0] = '\0';
	} else if (len > 9 && strncasecmp(data, "Location:", 9) == 0) {
		size_t i = 9, o = 0;

		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		while (i < len && data[i] != '\r' && data[i] != '\n' &&
		    o + 1 < sizeof(rq->location)) {
			unsigned char c = (unsigned char)data[i++];

			rq->location[o++] = (c >= 0x20 && c < 0x7f) ? (char)c
								     : '?';
		}
		rq->location[o] = '\0';
	}
	return len;
}

/* Copy printable ASCII of an ASN1 string into out. */
static void
append_printable(char *out, size_t cap, const unsigned char *s, int len)
{
	size_t o = strlen(out);

	for (int i = 0; i < len && o + 1 < cap; i++)
		out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	out[o] = '\0';
}

static void
asn1_date(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, cap, "%Y-%m-%d", &tm) == 0)
		snprintf(out, cap, "unknown date");
}

/* First DNS names of cert's subjectAltName, joined with ", ". */
static size_t
san_dns_names(X509 *cert, char *out, size_t cap)
{
	GENERAL_NAMES *gens;
	size_t found = 0;

	out[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		if (found > 0) {
			size_t o = strlen(out);

			snprintf(out + o, cap - o, ", ");
		}
		append_printable(out, cap, ASN1_STRING_get0_data(g->d.dNSName),
		    ASN1_STRING_length(g->d.dNSName));
		found++;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static void
issuer_name(X509 *cert, char *out, size_t cap)
{
	X509_NAME *name = cert ? X509_get_issuer_name(cert) : NULL;
	int i;

	out[0] = '\0';
	if (name == NULL)
		return;
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i >= 0) {
		const ASN1_STRING *cn =
		    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));

		append_printable(out, cap, ASN1_STRING_get0_data(cn),
		    ASN1_STRING_length(cn));
	} else {
		X509_NAME_oneline(name, out, (int)cap);
	}
}

static void
describe_cert_error(struct freq *rq, X509_STORE_CTX *sctx, int e)
{
	X509 *cur = X509_STORE_CTX_get_current_cert(sctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
	int depth = X509_STORE_CTX_get_error_depth(sctx);
	char *out = rq->cert_reason;
	size_t cap = sizeof(rq->cert_reason);
	char what[40], buf[200];

	if (depth > 0)
		snprintf(what, sizeof(what), "CA certificate at depth %d",
		    depth);
	else
		snprintf(what, sizeof(what), "certificate");
	switch (e) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		if (leaf && san_dns_names(leaf, buf, sizeof(buf)) > 0)
			snprintf(out, cap, "certificate is valid for %s, "
			    "not %s", buf, rq->host);
		else
			snprintf(out, cap, "certificate has no subjectAltName "
			    "DNS name for %s (CN-only certificates are not "
			    "accepted)", rq->host);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		asn1_date(cur ? X509_get0_notAfter(cur) : NULL, buf,
		    sizeof(buf));
		snprintf(out, cap, "%s has expired (notAfter %s)", what, buf);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		asn1_date(cur ? X509_get0_notBefore(cur) : NULL, buf,
		    sizeof(buf));
		snprintf(out, cap, "%s is not yet valid (notBefore %s)", what,
		    buf);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(out, cap, "certificate is self-signed and its issuer "
		    "is not trusted");
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		issuer_name(cur, buf, sizeof(buf));
		snprintf(out, cap, "certificate issuer is not trusted "
		    "(issuer \"%s\"; a missing intermediate certificate or an "
		    "unknown CA)", buf);
		break;
	default:
		snprintf(out, cap, "%s failed verification: %s", what,
		    X509_verify_cert_error_string(e));
		break;
	}
}

static int
verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl;
	struct freq *rq;
	int e;

	if (ok)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return ok;
	rq = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index);
	e = X509_STORE_CTX_get_error(sctx);
	if (rq && rq->verify_err == 0) {
		rq->verify_err = e ? e : -1;
		describe_cert_error(rq, sctx, e);
	}
	return ok;
}

static CURLcode
ssl_ctx_cb(CURL *easy, void *sslctx, void *parm)
{
	SSL_CTX *ctx = sslctx;
	struct freq *rq = parm;
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);

	(void)easy;
	/* DNS-ID only (no CN-ID), wildcard only as the whole left-most
	 * label: RFC 8461 section 3.3. */
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
		X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(vp, rq->host, 0) != 1)
		return CURLE_OUT_OF_MEMORY;
	if (SSL_CTX_set_ex_data(ctx, ssl_ex_index, rq) != 1)
		return CURLE_OUT_OF_MEMORY;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	return CURLE_OK;
}

/* ---- starting requests -------------------------------------------------- */

static int
setup_easy(struct mtasts_fetcher *f, struct freq *rq)
{
	CURL *e;
	CURLcode c = CURLE_OK;

	rq->easy = e = curl_easy_init();
	rq->share = curl_share_init();
	if (e == NULL || rq->share == NULL)
		return MTASTS_ENOMEM;
	if (curl_share_setopt(rq->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_DNS) != CURLSHE_OK)
		return MTASTS_EINTERNAL;
	rq->resolve = curl_slist_append(NULL, rq->resolve_line);
	if (rq->resolve == NULL)
		return MTASTS_ENOMEM;
#define SET(opt, val)                                                   \
	do {                                                            \
		if (c == CURLE_OK)                                      \
			c = curl_easy_setopt(e, opt, val);              \
	} while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PRIVATE, rq);
	SET(CURLOPT_ERRORBUFFER, rq->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_USERAGENT, f->user_agent);
	/* Addresses come from our own DNS path; libcurl resolves nothing. */
	SET(CURLOPT_SHARE, rq->share);
	SET(CURLOPT_RESOLVE, rq->resolve);
	/* Proxies from the environment are ignored. */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	/* One fresh connection per fetch: no reuse, no TLS session reuse. */
	SET(CURLOPT_FORBID_REUSE, 1L);
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CAPATH, NULL);
	if (f->ca_file)
		SET(CURLOPT_CAINFO, f->ca_file);
	SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, rq);
	SET(CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, f->timeout_ms);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, rq);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, rq);
#undef SET
	if (c != CURLE_OK)
		return c == CURLE_OUT_OF_MEMORY ? MTASTS_ENOMEM
						: MTASTS_EINTERNAL;
	if (curl_multi_add_handle(f->multi, e) != CURLM_OK)
		return MTASTS_EINTERNAL;
	return MTASTS_OK;
}

/* Move rq (in no list) to the active list and start it. */
static int
activate(struct mtasts_fetcher *f, struct freq *rq)
{
	int rc = setup_easy(f, rq);

	if (rc != MTASTS_OK) {
		if (rq->easy)
			curl_easy_cleanup(rq->easy);
		rq->easy = NULL;
		return rc;
	}
	rq->active = true;
	rq->next = f->active;
	if (f->active)
		f->active->prev = rq;
	f->active = rq;
	f->nactive++;
	return MTASTS_OK;
}

static void
deliver_error(struct freq *rq, int code, const char *reason)
{
	struct mtasts_http_response res;

	memset(&res, 0, sizeof(res));
	res.code = code;
	res.reason = reason;
	res.url = rq->url;
	rq->cb(rq->arg, &res);
}

/* Start queued requests while there is room. Runs with depth > 0. */
static void
start_queued(struct mtasts_fetcher *f)
{
	while (!f->dying && f->qhead && f->nactive < f->max_fetches) {
		struct freq *rq = f->qhead;
		char reason[REASON_MAX];
		int rc;

		queue_remove(f, rq);
		rc = activate(f, rq);
		if (rc == MTASTS_OK)
			continue;
		snprintf(reason, sizeof(reason), "cannot start the HTTPS "
		    "request for %s: %s", rq->url, mtasts_strerror(rc));
		deliver_error(rq, rc, reason);
		free_req(rq);
	}
}

/* ---- finishing requests ------------------------------------------------- */

/* Is the media type text/plain (parameters and case ignored)? */
static bool
is_text_plain(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return n == 10 && strncasecmp(ct, "text/plain", 10) == 0;
}

static bool
errbuf_has(const struct freq *rq, const char *needle)
{
	return strstr(rq->errbuf, needle) != NULL;
}

/* Map a finished transfer to our result. */
static int
classify(struct freq *rq, CURLcode c, struct mtasts_http_response *res,
    char *reason, size_t cap)
{
	struct mtasts_fetcher *f = rq->f;
	const char *url = rq->url;
	const char *detail = rq->errbuf[0] ? rq->errbuf : curl_easy_strerror(c);
	curl_off_t appconnect = 0;
	long oserr = 0;

	if (rq->verify_err != 0) {
		snprintf(reason, cap, "%s: %s", url, rq->cert_reason);
		return MTASTS_ECERT;
	}
	if (rq->header_toobig) {
		snprintf(reason, cap, "%s: response headers exceed %d bytes",
		    url, MTASTS_FETCH_HEADER_MAX);
		return MTASTS_ETOOBIG;
	}
	if (rq->body_toobig) {
		snprintf(reason, cap, "%s: policy body exceeds %zu bytes", url,
		    f->max_body);
		return MTASTS_ETOOBIG;
	}
	if (c == CURLE_OK || rq->status_abort) {
		if (res->status >= 300 && res->status < 400) {
			snprintf(reason, cap, "%s answers with HTTP %ld, a "
			    "redirect to %s, and redirects are not followed",
			    url, res->status,
			    res->location ? res->location : "(no Location)");
			return MTASTS_EREDIRECT;
		}
		if (res->status != 200) {
			snprintf(reason, cap, "%s answers with HTTP %ld, not "
			    "200", url, res->status);
			return MTASTS_EHTTPSTATUS;
		}
		if (c != CURLE_OK)
			goto other;
		if (!is_text_plain(res->content_type)) {
			if (res->content_type)
				snprintf(reason, cap, "%s is served as %s, not "
				    "text/plain", url, res->content_type);
			else
				snprintf(reason, cap, "%s is served without a "
				    "Content-Type, not as text/plain", url);
			return MTASTS_ECTYPE;
		}
		return MTASTS_OK;
	}
other:
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(rq->easy, CURLINFO_OS_ERRNO, &oserr);
		snprintf(reason, cap, "cannot connect to %s port 443 (%s): %s",
		    rq->host, rq->resolve_line + strlen(rq->host) + 5,
		    oserr ? strerror((int)oserr) : detail);
		return MTASTS_ECONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(rq->easy, CURLINFO_APPCONNECT_TIME_T,
		    &appconnect);
		if (appconnect == 0)
			snprintf(reason, cap, "TCP and TLS connection to %s "
			    "port 443 not established within the connect "
			    "timeout of %ld ms", rq->host,
			    f->connect_timeout_ms);
		else
			snprintf(reason, cap, "%s not received completely "
			    "within the fetch timeout of %ld ms", url,
			    f->timeout_ms);
		return MTASTS_ETIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		snprintf(reason, cap, "%s: certificate rejected: %s", url,
		    detail);
		return MTASTS_ECERT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		if (errbuf_has(rq, "protocol version") ||
		    errbuf_has(rq, "unsupported protocol") ||
		    errbuf_has(rq, "no protocols available"))
			snprintf(reason, cap, "TLS handshake with %s failed: "
			    "server does not support TLS 1.2 or later (%s)",
			    rq->host, detail);
		else if (errbuf_has(rq, "wrong version number") ||
		    errbuf_has(rq, "packet length too long"))
			snprintf(reason, cap, "TLS handshake with %s failed: "
			    "the server on port 443 does not speak TLS (%s)",
			    rq->host, detail);
		else if (c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR) {
			snprintf(reason, cap, "HTTPS transfer of %s failed: "
			    "%s", url, detail);
			return MTASTS_EHTTP;
		} else
			snprintf(reason, cap, "TLS handshake with %s failed: "
			    "%s", rq->host, detail);
		return MTASTS_ETLS;
	case CURLE_OUT_OF_MEMORY:
		snprintf(reason, cap, "out of memory fetching %s", url);
		return MTASTS_ENOMEM;
	case CURLE_WRITE_ERROR:
		snprintf(reason, cap, "out of memory reading %s", url);
		return MTASTS_ENOMEM;
	default:
		snprintf(reason, cap, "HTTPS transfer of %s failed: %s", url,
		    detail);
		return MTASTS_EHTTP;
	}
}

static void
finish(struct mtasts_fetcher *f, struct freq *rq, CURLcode c)
{
	struct mtasts_http_response res;
	char reason[REASON_MAX];
	char *ct = NULL, *loc = NULL, *ip = NULL;
	char ctbuf[256], locbuf[URL_MAX], ipbuf[INET6_ADDRSTRLEN + 1];

	list_remove(&f->active, rq);
	f->nactive--;
	memset(&res, 0, sizeof(res));
	res.url = rq->url;
	curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &res.status);
	curl_easy_getinfo(rq->easy, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(rq->easy, CURLINFO_REDIRECT_URL, &loc);
	curl_easy_getinfo(rq->easy, CURLINFO_PRIMARY_IP, &ip);
	/* Copy: the strings belong to the easy handle. */
	if (ct) {
		ctbuf[0] = '\0';
		append_printable(ctbuf, sizeof(ctbuf),
		    (const unsigned char *)ct, (int)strlen(ct));
		res.content_type = ctbuf;
	}
	if (loc == NULL && rq->location[0])
		loc = rq->location;
	if (loc) {
		locbuf[0] = '\0';
		append_printable(locbuf, sizeof(locbuf),
		    (const unsigned char *)loc, (int)strlen(loc));
		res.location = locbuf;
	}
	if (ip && *ip) {
		snprintf(ipbuf, sizeof(ipbuf), "%s", ip);
		res.peer = ipbuf;
	}
	res.code = classify(rq, c, &res, reason, sizeof(reason));
	res.reason = res.code == MTASTS_OK ? "" : reason;
	res.body = rq->body ? rq->body : "";
	res.body_len = rq->body_len;
	/* Release the connection before the callback. */
	curl_multi_remove_handle(f->multi, rq->easy);
	rq->active = false;
	rq->cb(rq->arg, &res);
	free_req(rq);
}

static void
reap(struct mtasts_fetcher *f)
{
	CURLMsg *m;
	int left;

	while (!f->dying && (m = curl_multi_info_read(f->multi, &left))) {
		struct freq *rq = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &rq);
		if (rq == NULL)
			continue;
		finish(f, rq, m->data.result);
	}
	start_queued(f);
}

/* ---- public entry points ------------------------------------------------ */

int
mtasts_fetcher_new(struct event_base *base,
    const struct mtasts_fetch_options *opt, struct mtasts_fetcher **out,
    struct mtasts_error *err)
{
	struct mtasts_fetch_options defaults;
	struct mtasts_fetcher *f;
	int rc;

	*out = NULL;
	if (opt == NULL) {
		mtasts_fetch_options_init(&defaults);
		opt = &defaults;
	}
	if (base == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no event base");
	if (opt->ca_file) {
		FILE *fp = fopen(opt->ca_file, "r");

		if (fp == NULL)
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "cannot read CA file %s", opt->ca_file);
		fclose(fp);
	}
	f = mtasts__calloc(1, sizeof(*f));
	if (f == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	f->base = base;
	f->connect_timeout_ms = opt->connect_timeout_ms
	    ? (long)opt->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	f->timeout_ms = opt->timeout_ms ? (long)opt->timeout_ms
					: DEFAULT_TIMEOUT_MS;
	f->max_body = opt->max_body;
	if (f->max_body == 0 || f->max_body > MTASTS_POLICY_BODY_MAX)
		f->max_body = MTASTS_POLICY_BODY_MAX;
	f->max_fetches = opt->max_fetches ? opt->max_fetches
					  : DEFAULT_MAX_FETCHES;
	if (f->max_fetches > MAX_FETCHES_LIMIT)
		f->max_fetches = MAX_FETCHES_LIMIT;
	f->user_agent = mtasts__strdup(opt->user_agent
	    ? opt->user_agent : "mtasts/" MTASTS_VERSION);
	if (f->user_agent == NULL ||
	    (opt->ca_file && (f->ca_file = mtasts__strdup(opt->ca_file)) ==
	    NULL)) {
		rc = mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot initialise libcurl");
		goto fail;
	}
	f->curl_init = true;
	(void)pthread_once(&ssl_ex_once, ssl_ex_init);
	f->timer = evtimer_new(base, on_timer, f);
	f->multi = curl_multi_init();
	if (ssl_ex_index < 0 || f->timer == NULL || f->multi == NULL) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot set up libcurl");
		goto fail;
	}
	if (curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) ||
	    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f) ||
	    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb) ||
	    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f) ||
	    curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		(long)f->max_fetches) ||
	    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, 16L)) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot configure libcurl");
		goto fail;
	}
	*out = f;
	return MTASTS_OK;
fail:
	really_free(f);
	return rc;
}

/* Is s a textual IPv4 or IPv6 address? */
static int
addr_family(const char *s)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

/* "host:443:a1,[a2],..." for CURLOPT_RESOLVE. */
static char *
make_resolve_line(const char *host, const char *const *addrs, size_t n)
{
	size_t cap = strlen(host) + 8 + n * (INET6_ADDRSTRLEN + 3);
	char *s = mtasts__malloc(cap);
	size_t o;

	if (s == NULL)
		return NULL;
	o = (size_t)snprintf(s, cap, "%s:443:", host);
	for (size_t i = 0; i < n; i++) {
		int v6 = addr_family(addrs[i]) == AF_INET6;

		o += (size_t)snprintf(s + o, cap - o, "%s%s%s%s",
		    i ? "," : "", v6 ? "[" : "", addrs[i], v6 ? "]" : "");
	}
	return s;
}

/* Host name characters only: nothing that could confuse the URL or
 * CURLOPT_RESOLVE syntax. */
static bool
host_ok(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > 253)
		return false;
	for (const char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_'))
			return false;
	return true;
}

int
mtasts_fetcher_get(struct mtasts_fetcher *f, const char *host,
    const char *url, const char *const *addrs, size_t naddrs,
    mtasts_http_cb cb, void *arg, struct mtasts_http_request **req,
    struct mtasts_error *err)
{
	struct freq *rq;
	size_t hl;
	int rc;

	if (req)
		*req = NULL;
	if (f == NULL || host == NULL || url == NULL || cb == NULL ||
	    f->dying)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad arguments to an HTTPS fetch");
	if (!host_ok(host))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "\"%s\" is not a host name", host);
	hl = strlen(host);
	if (strncasecmp(url, "https://", 8) != 0 ||
	    strncasecmp(url + 8, host, hl) != 0 || url[8 + hl] != '/' ||
	    strlen(url) >= URL_MAX)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "URL %s is not https://%s/...", url, host);
	if (naddrs == 0)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "no address to connect to for %s", host);
	if (naddrs > MTASTS_FETCH_ADDRS_MAX)
		naddrs = MTASTS_FETCH_ADDRS_MAX;
	for (size_t i = 0; i < naddrs; i++)
		if (addrs[i] == NULL || addr_family(addrs[i]) == 0)
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "\"%s\" is not an IP address",
			    addrs[i] ? addrs[i] : "(null)");
	rq = mtasts__calloc(1, sizeof(*rq));
	if (rq == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	rq->f = f;
	rq->cb = cb;
	rq->arg = arg;
	rq->host = mtasts__strdup(host);
	rq->url = mtasts__strdup(url);
	rq->resolve_line = make_resolve_line(host, addrs, naddrs);
	if (rq->host == NULL || rq->url == NULL || rq->resolve_line == NULL) {
		free_req(rq);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	if (f->nactive < f->max_fetches && f->qhead == NULL) {
		rc = activate(f, rq);
		if (rc != MTASTS_OK) {
			free_req(rq);
			return mtasts_error_set(err, rc, "cannot start the "
			    "HTTPS request for %s", url);
		}
	} else {
		rq->prev = f->qtail;
		if (f->qtail)
			f->qtail->next = rq;
		else
			f->qhead = rq;
		f->qtail = rq;
	}
	if (req)
		*req = (struct mtasts_http_request *)rq;
	return MTASTS_OK;
}

static int
ops_get(void *impl, const char *host, const char *url,
    const char *const *addrs, size_t naddrs, mtasts_http_cb cb, void *arg,
    struct mtasts_http_request **req, struct mtasts_error *err)
{
	return mtasts_fetcher_get(impl, host, url, addrs, naddrs, cb, arg, req,
	    err);
}

static void
ops_cancel(void *impl, struct mtasts_http_request *req)
{
	mtasts_fetcher_cancel(impl, req);
}

const struct mtasts_http_ops mtasts_fetcher_http_ops = {
	.get = ops_get,
	.cancel = ops_cancel,
};
