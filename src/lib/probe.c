/* SPDX-License-Identifier: MIT */
/*
 * probe.c: asynchronous SMTP STARTTLS prober (see probe.h).
 *
 * Objects: an "entry" is one (mode, host, ip, port) probe and its cached
 * result; a "slot" is one address with its queue of entries (one runs at
 * a time); a "conn" is one TCP connection of an entry (the main probe,
 * then one or two for the TLS 1.1 / 1.0 tests); a handle is one caller
 * waiting for an entry, delivered through its own zero-delay event so
 * that callbacks never run inside mtasts_probe().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtasts/probe.h"
#include "mtasts/smtp_reply.h"
#include "util/alloc.h"

#define NBUCKETS 4096
#define READ_CHUNK 2048

enum { E_QUEUED, E_RUNNING, E_DONE };

enum phase {
	P_CONNECT,
	P_BANNER,
	P_EHLO,
	P_STARTTLS,
	P_HANDSHAKE,
	P_QUIT
};

struct entry;
struct slot;

struct conn {
	struct mtasts_prober *p;
	struct entry *e;
	struct bufferevent *bev;
	evutil_socket_t fd;	/* owned by us while bev is plain */
	bool tls;		/* bev is the OpenSSL one (owns fd) */
	SSL *ssl;		/* owned by bev once tls */
	struct event *timer;	/* the current wait */
	struct event *deadline; /* the whole connection */
	enum phase phase;
	int maxver;		/* 0: main probe; else TLS1_1/TLS1 */
	struct mtasts_smtp_reply rep;
	struct timeval start;
	/* verify callback findings */
	bool expired, notyet;
	char chain_error[128];
};

struct mtasts_probe_handle {
	struct entry *e;
	struct mtasts_probe_handle *next, *prev;
	mtasts_probe_cb cb;
	void *arg;
	struct event *ev;
	bool cached;
};

struct entry {
	struct entry *hnext;	/* hash chain */
	struct entry *dnext;	/* done list (SMTP results kept) */
	struct entry *qnext;	/* slot queue */
	struct slot *slot;
	char key[MTASTS_PROBE_HOST_MAX + 80];
	int state;
	struct mtasts_probe_result res;
	struct mtasts_probe_handle *waiters;
	struct conn *conn;
	struct mtasts_prober *p;
	int attempt;		/* 0 main, 1 TLS <= 1.1, 2 TLS 1.0 */
	bool got_421;
};

struct slot {
	struct slot *hnext;
	struct slot *wnext;	/* waiting for a free connection */
	struct mtasts_prober *p;
	char ip[48];
	bool private_;		/* a TLS-mode entry's own slot, not hashed */
	struct entry *qhead, *qtail;
	bool busy;
	bool waiting;
	struct event *backoff;
	bool backing_off;
};

struct mtasts_prober {
	struct event_base *base;
	struct mtasts_probe_options opt;
	char *ehlo_name;
	SSL_CTX *ctx;		/* main handshake */
	SSL_CTX *ctx11, *ctx10; /* old-version tests */
	struct entry *ebucket[NBUCKETS];
	struct slot *sbucket[NBUCKETS];
	struct slot *whead, *wtail;
	unsigned running;
	struct entry *dhead, *dtail;	/* done SMTP entries, oldest first */
	unsigned ndone;
};

void
mtasts_probe_options_init(struct mtasts_probe_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->ehlo_name = "mtasts.invalid";
	opt->connect_timeout_ms = 10000;
	opt->reply_timeout_ms = 15000;
	opt->tls_timeout_ms = 15000;
	opt->total_timeout_ms = 60000;
	opt->quit_timeout_ms = 2000;
	opt->backoff_ms = 5000;
	opt->max_connections = 64;
	opt->old_tls = true;
	opt->cache_max = 20000;
}

const char *
mtasts_probe_status_name(enum mtasts_probe_status s)
{
	switch (s) {
	case MTASTS_PROBE_OK:
		return "ok";
	case MTASTS_PROBE_UNTESTED:
		return "not-tested";
	case MTASTS_PROBE_FAILED:
		return "failed";
	}
	return "?";
}

const char *
mtasts_probe_stage_name(enum mtasts_probe_stage s)
{
	static const char *const names[] = {"connect", "banner", "ehlo",
		"starttls", "handshake", "done"};

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "?";
}

static unsigned
hash_str(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static void
arm(struct event *ev, unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static unsigned
ms_since(const struct timeval *t0)
{
	struct timeval now, d;

	evutil_gettimeofday(&now, NULL);
	evutil_timersub(&now, t0, &d);
	if (d.tv_sec < 0)
		return 0;
	return (unsigned)(d.tv_sec * 1000 + d.tv_usec / 1000);
}

/* ---- verification ---- */

static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	int e, depth;

	if (ok || c == NULL)
		return 1;
	e = X509_STORE_CTX_get_error(xs);
	depth = X509_STORE_CTX_get_error_depth(xs);
	if (depth == 0 && e == X509_V_ERR_CERT_HAS_EXPIRED)
		c->expired = true;
	else if (depth == 0 && e == X509_V_ERR_CERT_NOT_YET_VALID)
		c->notyet = true;
	else if (c->chain_error[0] == '\0')
		snprintf(c->chain_error, sizeof(c->chain_error),
		    "%s (depth %d)", X509_verify_cert_error_string(e), depth);
	return 1;		/* look at everything, decide later */
}

static SSL_CTX *
make_ctx(const struct mtasts_probe_options *opt, int maxver,
    struct mtasts_error *err, int *rc)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	*rc = MTASTS_OK;
	if (ctx == NULL) {
		*rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "cannot create a TLS context");
		return NULL;
	}
	/* Security level 0: see weak keys and old versions, judge later. */
	if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1)
		goto fail;
	if (maxver == 0) {
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
		if (opt->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(ctx, opt->ca_file,
				NULL) != 1) {
				SSL_CTX_free(ctx);
				*rc = mtasts_error_set(err, MTASTS_EINVAL,
				    "cannot read CA file %s", opt->ca_file);
				return NULL;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			goto fail;
		}
	} else {
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, maxver);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	*rc = mtasts_error_set(err, MTASTS_EINTERNAL,
	    "cannot configure a TLS context");
	return NULL;
}

int
mtasts_prober_new(struct event_base *base,
    const struct mtasts_probe_options *opt, struct mtasts_prober **out,
    struct mtasts_error *err)
{
	struct mtasts_prober *p;
	int rc;

	*out = NULL;
	if (base == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no event base");
	p = mtasts__calloc(1, sizeof(*p));
	if (p == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	p->base = base;
	if (opt != NULL)
		p->opt = *opt;
	else
		mtasts_probe_options_init(&p->opt);
	if (p->opt.ehlo_name == NULL || p->opt.ehlo_name[0] == '\0')
		p->opt.ehlo_name = "mtasts.invalid";
	if (strlen(p->opt.ehlo_name) > 255 ||
	    strpbrk(p->opt.ehlo_name, " \r\n\t") != NULL) {
		mtasts__free(p);
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad EHLO name");
	}
	p->ehlo_name = mtasts__strdup(p->opt.ehlo_name);
	if (p->ehlo_name == NULL) {
		mtasts__free(p);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	p->opt.ehlo_name = p->ehlo_name;
	p->opt.ca_file = NULL;	/* used only here */
	if (p->opt.max_connections == 0)
		p->opt.max_connections = 64;
	if (p->opt.connect_timeout_ms == 0)
		p->opt.connect_timeout_ms = 10000;
	if (p->opt.reply_timeout_ms == 0)
		p->opt.reply_timeout_ms = 15000;
	if (p->opt.tls_timeout_ms == 0)
		p->opt.tls_timeout_ms = 15000;
	if (p->opt.total_timeout_ms == 0)
		p->opt.total_timeout_ms = 60000;
	if (p->opt.quit_timeout_ms == 0)
		p->opt.quit_timeout_ms = 2000;
	if (p->opt.cache_max == 0)
		p->opt.cache_max = 20000;
	p->ctx = make_ctx(opt ? opt : &p->opt, 0, err, &rc);
	if (p->ctx == NULL)
		goto fail;
	p->ctx11 = make_ctx(&p->opt, TLS1_1_VERSION, err, &rc);
	if (p->ctx11 == NULL)
		goto fail;
	p->ctx10 = make_ctx(&p->opt, TLS1_VERSION, err, &rc);
	if (p->ctx10 == NULL)
		goto fail;
	*out = p;
	return MTASTS_OK;
fail:
	SSL_CTX_free(p->ctx);
	SSL_CTX_free(p->ctx11);
	mtasts__free(p->ehlo_name);
	mtasts__free(p);
	return rc;
}

/* ---- connections ---- */

static void conn_free(struct conn *c);
static void entry_next(struct entry *e, int how);
static void slot_pump(struct mtasts_prober *p, struct slot *s);
static void slot_maybe_free(struct mtasts_prober *p, struct slot *s);
static void entry_release(struct mtasts_prober *p, struct entry *e,
    bool evict);

/* How a connection ended, for entry_attempt_done(). */
enum { END_OK, END_UNTESTED, END_FAILED };

static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (!c->tls && c->fd >= 0)
		evutil_closesocket(c->fd);
	if (c->timer)
		event_free(c->timer);
	if (c->deadline)
		event_free(c->deadline);
	mtasts__free(c);
}

/*
 * End connection c with status how. For the main connection the result
 * fields are set here; old-version attempts only record what they
 * learnt. c is freed.
 */
static void end_conn(struct conn *c, int how, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
end_conn(struct conn *c, int how, int code, const char *fmt, ...)
{
	struct entry *e = c->e;
	struct mtasts_probe_result *r = &e->res;
	char why[MTASTS_PROBE_TEXT_MAX];
	va_list ap;

	why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (c->maxver == 0) {
		r->elapsed_ms = ms_since(&c->start);
		r->code = how == END_OK ? MTASTS_OK : code;
		r->status = how == END_OK ? MTASTS_PROBE_OK :
		    how == END_UNTESTED ? MTASTS_PROBE_UNTESTED :
		    MTASTS_PROBE_FAILED;
		snprintf(r->reason, sizeof(r->reason), "%s", why);
	} else if (how == END_OK) {
		/* nothing: the handshake result was recorded */
	} else if (c->phase == P_HANDSHAKE) {
		/* refused the old version: that is the answer */
		r->old_tested = true;
	} else if (r->old_note[0] == '\0') {
		snprintf(r->old_note, sizeof(r->old_note), "%s", why);
		r->old_tested = false;
	}
	e->conn = NULL;
	conn_free(c);
	entry_next(e, how);
}

static void
send_line(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_line(struct conn *c, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void
expect_reply(struct conn *c, enum phase ph)
{
	c->phase = ph;
	mtasts_smtp_reply_init(&c->rep);
	arm(c->timer, ph == P_QUIT ? c->p->opt.quit_timeout_ms :
	    c->p->opt.reply_timeout_ms);
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg);
static void on_tls_read(struct bufferevent *bev, void *arg);

static void
record_tls(struct conn *c)
{
	struct mtasts_probe_result *r = &c->e->res;
	SSL *ssl = c->ssl;
	X509 *cert;
	const SSL_CIPHER *ci;

	if (c->maxver != 0) {
		int v = SSL_version(ssl);

		r->old_tested = true;
		if (v == TLS1_1_VERSION)
			r->tls11_accepted = true;
		else if (v == TLS1_VERSION)
			r->tls10_accepted = true;
		return;
	}
	r->stage = MTASTS_STAGE_DONE;
	snprintf(r->tls_version, sizeof(r->tls_version), "%s",
	    SSL_get_version(ssl));
	r->tls_version_num = SSL_version(ssl);
	ci = SSL_get_current_cipher(ssl);
	snprintf(r->cipher, sizeof(r->cipher), "%s",
	    ci ? SSL_CIPHER_get_name(ci) : "");
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return;
	r->cert_present = true;
	r->cert_expired = c->expired;
	r->cert_not_yet_valid = c->notyet;
	snprintf(r->chain_error, sizeof(r->chain_error), "%s",
	    c->chain_error);
	r->chain_trusted = c->chain_error[0] == '\0' &&
	    SSL_get_verify_result(ssl) != X509_V_ERR_UNSPECIFIED;
	r->name_match = X509_check_host(cert, r->host, strlen(r->host),
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
		X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	{
		int days = 0, secs = 0;

		if (ASN1_TIME_diff(&days, &secs, NULL,
			X509_get0_notAfter(cert)) == 1) {
			if (secs < 0 && days <= 0)
				days--;
			r->days_left = days;
		}
	}
	{
		EVP_PKEY *pk = X509_get0_pubkey(cert);
		const char *tn = pk ? EVP_PKEY_get0_type_name(pk) : NULL;

		snprintf(r->key_type, sizeof(r->key_type), "%s",
		    tn ? tn : "unknown");
		r->key_bits = pk ? EVP_PKEY_get_bits(pk) : 0;
	}
	{
		X509_NAME *sn = X509_get_subject_name(cert);

		if (sn == NULL || X509_NAME_get_text_by_NID(sn, NID_commonName,
			r->subject_cn, sizeof(r->subject_cn)) < 0)
			r->subject_cn[0] = '\0';
	}
	X509_free(cert);
}

static void
tls_error_text(struct conn *c, char *buf, size_t cap)
{
	unsigned long e;
	size_t n = 0;

	buf[0] = '\0';
	while (c->bev && (e = bufferevent_get_openssl_error(c->bev)) != 0) {
		char one[160];

		if (n > 0)
			continue;	/* keep the first; drain the rest */
		ERR_error_string_n(e, one, sizeof(one));
		n = (size_t)snprintf(buf, cap, "%s", one);
	}
	ERR_clear_error();
	if (buf[0] == '\0')
		snprintf(buf, cap, "%s", errno ? strerror(errno) :
		    "connection closed");
}

static void
start_tls(struct conn *c)
{
	struct mtasts_prober *p = c->p;
	SSL_CTX *ctx = c->maxver == 0 ? p->ctx :
	    c->maxver == TLS1_1_VERSION ? p->ctx11 : p->ctx10;
	struct bufferevent *tb;

	/* Drop the plain bufferevent and whatever it still buffered: bytes
	 * sent before the handshake must never be read as TLS-protected. */
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL) {
		end_conn(c, END_FAILED, MTASTS_EINTERNAL,
		    "cannot create a TLS session");
		return;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_tlsext_host_name(c->ssl, c->e->res.host);
	tb = bufferevent_openssl_socket_new(p->base, c->fd, c->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		end_conn(c, END_FAILED, MTASTS_EINTERNAL,
		    "cannot set up TLS on the connection");
		return;
	}
	c->bev = tb;
	c->tls = true;		/* tb owns fd and ssl now */
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	bufferevent_setcb(tb, on_tls_read, NULL, on_tls_event, c);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	c->phase = P_HANDSHAKE;
	if (c->maxver == 0)
		c->e->res.stage = MTASTS_STAGE_HANDSHAKE;
	arm(c->timer, p->opt.tls_timeout_ms);
}

/* A whole reply arrived in phase c->phase. Returns 1 if c was freed. */
static int
on_reply(struct conn *c)
{
	struct mtasts_probe_result *r = &c->e->res;
	bool main = c->maxver == 0;
	int code = c->rep.code;

	switch (c->phase) {
	case P_BANNER:
		if (main) {
			r->banner_code = code;
			snprintf(r->banner, sizeof(r->banner), "%s",
			    c->rep.text);
		}
		if (code == 421) {
			c->e->got_421 = true;
			end_conn(c, END_UNTESTED, MTASTS_ETIMEOUT,
			    "the server answered 421 at connect (busy or "
			    "rate limiting): %s", c->rep.text);
			return 1;
		}
		if (code != 220) {
			end_conn(c, END_UNTESTED, MTASTS_ECONNECT,
			    "the server refused service with %d at connect: "
			    "%s", code, c->rep.text);
			return 1;
		}
		if (main)
			r->stage = MTASTS_STAGE_EHLO;
		send_line(c, "EHLO %s", c->p->ehlo_name);
		expect_reply(c, P_EHLO);
		return 0;
	case P_EHLO:
		if (main) {
			r->ehlo_code = code;
			r->starttls_offered = c->rep.starttls;
		}
		if (code == 421)
			c->e->got_421 = true;
		if (code >= 400 && code < 500) {
			end_conn(c, END_UNTESTED, MTASTS_ETIMEOUT,
			    "EHLO got the temporary error %d (greylisting or "
			    "rate limiting?): %s", code, c->rep.text);
			return 1;
		}
		if (code != 250) {
			end_conn(c, END_FAILED, MTASTS_ETLS,
			    "EHLO was refused with %d: %s", code,
			    c->rep.text);
			return 1;
		}
		if (!c->rep.starttls) {
			end_conn(c, END_FAILED, MTASTS_ETLS,
			    "STARTTLS is not offered in the EHLO reply");
			return 1;
		}
		if (main)
			r->stage = MTASTS_STAGE_STARTTLS;
		send_line(c, "STARTTLS");
		expect_reply(c, P_STARTTLS);
		return 0;
	case P_STARTTLS:
		if (main)
			r->starttls_code = code;
		if (code >= 400 && code < 500) {
			end_conn(c, END_UNTESTED, MTASTS_ETIMEOUT,
			    "STARTTLS got the temporary error %d: %s", code,
			    c->rep.text);
			return 1;
		}
		if (code != 220) {
			end_conn(c, END_FAILED, MTASTS_ETLS,
			    "STARTTLS was refused with %d: %s", code,
			    c->rep.text);
			return 1;
		}
		start_tls(c);
		return 1;	/* the plain read loop must stop */
	case P_QUIT:
		end_conn(c, END_OK, MTASTS_OK, NULL);
		return 1;
	default:
		return 0;
	}
}

/* Feed what is buffered to the reply reader. Returns 1 if c was freed. */
static int
read_replies(struct conn *c, struct evbuffer *in)
{
	char buf[READ_CHUNK];

	while (evbuffer_get_length(in) > 0) {
		struct mtasts_error err;
		ev_ssize_t n;
		size_t used = 0;
		int rc;

		n = evbuffer_copyout(in, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (c->phase == P_CONNECT || c->phase == P_HANDSHAKE) {
			evbuffer_drain(in, (size_t)n);
			continue;
		}
		rc = mtasts_smtp_reply_feed(&c->rep, buf, (size_t)n, &used,
		    &err);
		evbuffer_drain(in, used);
		if (rc == MTASTS_EAGAIN)
			continue;
		if (rc != MTASTS_OK) {
			if (c->phase == P_QUIT) {
				end_conn(c, END_OK, MTASTS_OK, NULL);
				return 1;
			}
			end_conn(c, END_FAILED, rc, "the %s reply broke the "
			    "protocol: %s", c->phase == P_BANNER ? "banner" :
			    c->phase == P_EHLO ? "EHLO" : "STARTTLS",
			    err.msg);
			return 1;
		}
		evtimer_del(c->timer);
		/* Nothing may follow a reply we did not ask for yet. */
		evbuffer_drain(in, evbuffer_get_length(in));
		if (on_reply(c))
			return 1;
	}
	return 0;
}

static void
on_plain_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)read_replies(c, bufferevent_get_input(bev));
}

static const char *
phase_wait_name(enum phase ph)
{
	switch (ph) {
	case P_CONNECT:
		return "connecting";
	case P_BANNER:
		return "waiting for the banner";
	case P_EHLO:
		return "waiting for the EHLO reply";
	case P_STARTTLS:
		return "waiting for the STARTTLS reply";
	case P_HANDSHAKE:
		return "in the TLS handshake";
	case P_QUIT:
		return "waiting for the QUIT reply";
	}
	return "?";
}

static void
on_plain_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->fd = bufferevent_getfd(c->bev);
		if (c->e->res.mode == MTASTS_PROBE_TLS) {
			start_tls(c);
			return;
		}
		if (c->maxver == 0)
			c->e->res.stage = MTASTS_STAGE_BANNER;
		expect_reply(c, P_BANNER);
		return;
	}
	if (c->phase == P_QUIT) {
		end_conn(c, END_OK, MTASTS_OK, NULL);
		return;
	}
	if (c->phase == P_CONNECT) {
		c->fd = bufferevent_getfd(c->bev);
		if (e == ECONNREFUSED)
			end_conn(c, END_UNTESTED, MTASTS_ECONNECT,
			    "connection to port %u refused", c->e->res.port);
		else
			end_conn(c, END_UNTESTED, MTASTS_ECONNECT,
			    "cannot connect to port %u: %s", c->e->res.port,
			    evutil_socket_error_to_string(e));
		return;
	}
	/* EOF or error in the SMTP dialogue. */
	end_conn(c, c->phase == P_BANNER ? END_UNTESTED : END_FAILED,
	    MTASTS_ECONNECT, "the server closed the connection while we "
	    "were %s", phase_wait_name(c->phase));
}

static void
on_tls_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->phase != P_QUIT) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	(void)read_replies(c, bufferevent_get_input(bev));
}

static void
on_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[200];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		evtimer_del(c->timer);
		record_tls(c);
		if (c->e->res.mode == MTASTS_PROBE_TLS) {
			end_conn(c, END_OK, MTASTS_OK, NULL);
			return;
		}
		send_line(c, "QUIT");
		expect_reply(c, P_QUIT);
		return;
	}
	if (c->phase == P_QUIT) {
		end_conn(c, END_OK, MTASTS_OK, NULL);
		return;
	}
	tls_error_text(c, why, sizeof(why));
	end_conn(c, END_FAILED, MTASTS_ETLS, "TLS handshake failed: %s", why);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned ms;

	(void)fd;
	(void)what;
	switch (c->phase) {
	case P_QUIT:
		end_conn(c, END_OK, MTASTS_OK, NULL);
		return;
	case P_CONNECT:
		ms = c->p->opt.connect_timeout_ms;
		break;
	case P_HANDSHAKE:
		ms = c->p->opt.tls_timeout_ms;
		break;
	default:
		ms = c->p->opt.reply_timeout_ms;
		break;
	}
	end_conn(c, c->phase == P_HANDSHAKE ? END_FAILED : END_UNTESTED,
	    MTASTS_ETIMEOUT, "timed out after %u ms %s%s", ms,
	    phase_wait_name(c->phase),
	    c->rep.bytes > 0 ? " (the reply came too slowly)" : "");
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->phase == P_QUIT) {
		end_conn(c, END_OK, MTASTS_OK, NULL);
		return;
	}
	end_conn(c, c->phase == P_HANDSHAKE ? END_FAILED : END_UNTESTED,
	    MTASTS_ETIMEOUT, "the connection took longer than %u ms in all "
	    "(stopped while %s)", c->p->opt.total_timeout_ms,
	    phase_wait_name(c->phase));
}

/* Start one connection of e. Returns 0, or -1 after end_conn(). */
static void
conn_start(struct entry *e, struct mtasts_prober *p, int maxver)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	char addr[80];
	struct conn *c;

	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL) {
		e->res.status = MTASTS_PROBE_UNTESTED;
		e->res.code = MTASTS_ENOMEM;
		snprintf(e->res.reason, sizeof(e->res.reason),
		    "out of memory");
		entry_next(e, END_UNTESTED);
		return;
	}
	c->p = p;
	c->e = e;
	c->fd = -1;
	c->maxver = maxver;
	c->phase = P_CONNECT;
	e->conn = c;
	evutil_gettimeofday(&c->start, NULL);
	if (strchr(e->res.ip, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%s]:%u", e->res.ip,
		    e->res.port);
	else
		snprintf(addr, sizeof(addr), "%s:%u", e->res.ip, e->res.port);
	c->timer = evtimer_new(p->base, on_timer, c);
	c->deadline = evtimer_new(p->base, on_deadline, c);
	c->bev = bufferevent_socket_new(p->base, -1, 0);
	if (c->timer == NULL || c->deadline == NULL || c->bev == NULL ||
	    evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
		&sslen) != 0) {
		end_conn(c, END_UNTESTED, MTASTS_EINTERNAL,
		    "cannot set up a connection to %s", addr);
		return;
	}
	bufferevent_setcb(c->bev, on_plain_read, NULL, on_plain_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c->timer, p->opt.connect_timeout_ms);
	arm(c->deadline, p->opt.total_timeout_ms);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
		sslen) != 0) {
		int er = EVUTIL_SOCKET_ERROR();

		c->fd = -1;	/* libevent closed its own socket */
		end_conn(c, END_UNTESTED, MTASTS_ECONNECT,
		    "cannot connect to %s: %s", addr,
		    evutil_socket_error_to_string(er));
		return;
	}
	c->fd = bufferevent_getfd(c->bev);
}

/* ---- entries, slots, delivery ---- */

static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_probe_handle *h = arg;
	struct entry *e = h->e;
	struct mtasts_probe_result res;
	mtasts_probe_cb cb = h->cb;
	void *cbarg = h->arg;

	(void)fd;
	(void)what;
	res = e->res;
	res.cached = h->cached;
	if (h->prev)
		h->prev->next = h->next;
	else
		e->waiters = h->next;
	if (h->next)
		h->next->prev = h->prev;
	event_free(h->ev);
	mtasts__free(h);
	entry_release(e->p, e, false);
	cb(cbarg, &res);
}

static void
entry_done(struct mtasts_prober *p, struct entry *e)
{
	struct slot *s = e->slot;
	struct mtasts_probe_handle *h;

	e->state = E_DONE;
	e->slot = NULL;
	p->running--;
	s->busy = false;
	for (h = e->waiters; h; h = h->next)
		event_active(h->ev, EV_TIMEOUT, 0);
	if (e->got_421 && p->opt.backoff_ms > 0 && !s->private_) {
		s->backing_off = true;
		arm(s->backoff, p->opt.backoff_ms);
	}
	if (e->res.mode == MTASTS_PROBE_SMTP) {
		/* Keep the result for later requests, up to cache_max. */
		if (p->dtail)
			p->dtail->dnext = e;
		else
			p->dhead = e;
		p->dtail = e;
		p->ndone++;
		while (p->ndone > p->opt.cache_max && p->dhead != NULL &&
		    p->dhead->waiters == NULL) {
			struct entry *old = p->dhead;

			p->dhead = old->dnext;
			if (p->dhead == NULL)
				p->dtail = NULL;
			p->ndone--;
			old->dnext = NULL;
			entry_release(p, old, true);
		}
	}
	slot_pump(p, s);
	/* A connection became free: let waiting addresses go. */
	while (p->whead != NULL && p->running < p->opt.max_connections) {
		struct slot *w = p->whead;

		p->whead = w->wnext;
		if (p->whead == NULL)
			p->wtail = NULL;
		w->waiting = false;
		w->wnext = NULL;
		slot_pump(p, w);
	}
	slot_maybe_free(p, s);
}

/* One connection of e ended: try an old TLS version next, or finish. */
static void
entry_next(struct entry *e, int how)
{
	struct mtasts_prober *p = e->p;
	struct mtasts_probe_result *r = &e->res;
	bool smtp_old = r->mode == MTASTS_PROBE_SMTP && p->opt.old_tls;

	if (e->attempt == 0) {
		if (smtp_old && !e->got_421 && r->code != MTASTS_ENOMEM &&
		    (r->status == MTASTS_PROBE_OK ||
			(r->status == MTASTS_PROBE_FAILED &&
			    r->stage == MTASTS_STAGE_HANDSHAKE))) {
			e->attempt = 1;
			conn_start(e, p, TLS1_1_VERSION);
			return;
		}
		if (smtp_old)
			snprintf(r->old_note, sizeof(r->old_note), "%s",
			    "not tried: the probe did not reach the TLS "
			    "handshake");
		entry_done(p, e);
		return;
	}
	if (e->attempt == 1 && how == END_OK && r->tls11_accepted &&
	    !e->got_421) {
		/* TLS 1.1 won; does TLS 1.0 alone work too? */
		e->attempt = 2;
		conn_start(e, p, TLS1_VERSION);
		return;
	}
	if (e->got_421 && !r->old_tested && r->old_note[0] == '\0')
		snprintf(r->old_note, sizeof(r->old_note), "%s",
		    "not tried: the server answered 421");
	entry_done(p, e);
}

static void
on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;

	(void)fd;
	(void)what;
	s->backing_off = false;
	slot_pump(s->p, s);
	slot_maybe_free(s->p, s);
}

static void
slot_pump(struct mtasts_prober *p, struct slot *s)
{
	struct entry *e;

	if (s->busy || s->backing_off || s->qhead == NULL)
		return;
	if (p->running >= p->opt.max_connections) {
		if (!s->waiting) {
			s->waiting = true;
			s->wnext = NULL;
			if (p->wtail)
				p->wtail->wnext = s;
			else
				p->whead = s;
			p->wtail = s;
		}
		return;
	}
	e = s->qhead;
	s->qhead = e->qnext;
	if (s->qhead == NULL)
		s->qtail = NULL;
	e->qnext = NULL;
	s->busy = true;
	p->running++;
	e->state = E_RUNNING;
	e->attempt = 0;
	conn_start(e, p, 0);
}

/* The slot of address ip, or (private_) a new slot of one entry. */
static struct slot *
get_slot(struct mtasts_prober *p, const char *ip, bool private_)
{
	unsigned b = hash_str(ip);
	struct slot *s;

	if (!private_)
		for (s = p->sbucket[b]; s; s = s->hnext)
			if (strcmp(s->ip, ip) == 0)
				return s;
	s = mtasts__calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->p = p;
	s->private_ = private_;
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->backoff = evtimer_new(p->base, on_backoff, s);
	if (s->backoff == NULL) {
		mtasts__free(s);
		return NULL;
	}
	if (!private_) {
		s->hnext = p->sbucket[b];
		p->sbucket[b] = s;
	}
	return s;
}

/* Free a slot that has nothing left to do (no queue, no back-off). */
static void
slot_maybe_free(struct mtasts_prober *p, struct slot *s)
{
	if (s->busy || s->backing_off || s->waiting || s->qhead != NULL)
		return;
	if (!s->private_) {
		struct slot **pp = &p->sbucket[hash_str(s->ip)];

		while (*pp != NULL && *pp != s)
			pp = &(*pp)->hnext;
		if (*pp == s)
			*pp = s->hnext;
	}
	event_free(s->backoff);
	mtasts__free(s);
}

/*
 * Free a done entry nobody waits for, unless it is an SMTP result kept
 * in the cache and evict is false (cached results leave through the done
 * list in entry_done(), which evicts the oldest).
 */
static void
entry_release(struct mtasts_prober *p, struct entry *e, bool evict)
{
	struct entry **pp;

	if (e->state != E_DONE || e->waiters != NULL ||
	    (e->res.mode == MTASTS_PROBE_SMTP && !evict))
		return;
	pp = &p->ebucket[hash_str(e->key)];
	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	mtasts__free(e);
}

static bool
valid_ip(const char *ip)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);
	char tmp[80];

	if (strlen(ip) >= 48)
		return false;
	if (strchr(ip, ':'))
		snprintf(tmp, sizeof(tmp), "[%s]:1", ip);
	else
		snprintf(tmp, sizeof(tmp), "%s:1", ip);
	return evutil_parse_sockaddr_port(tmp, (struct sockaddr *)&ss,
	    &len) == 0;
}

int
mtasts_probe(struct mtasts_prober *p, enum mtasts_probe_mode mode,
    const char *host, const char *ip, unsigned port, mtasts_probe_cb cb,
    void *arg, struct mtasts_probe_handle **hp, struct mtasts_error *err)
{
	char key[sizeof(((struct entry *)0)->key)];
	struct mtasts_probe_handle *h;
	struct entry *e;
	size_t hl;
	unsigned b;

	if (hp)
		*hp = NULL;
	if (p == NULL || host == NULL || ip == NULL || cb == NULL ||
	    port == 0 || port > 65535 ||
	    (mode != MTASTS_PROBE_SMTP && mode != MTASTS_PROBE_TLS))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad arguments to a probe");
	hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (hl == 0 || hl >= MTASTS_PROBE_HOST_MAX)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad host name for a probe");
	if (!valid_ip(ip))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "'%.60s' is not an IP address", ip);
	snprintf(key, sizeof(key), "%d|%.*s|%s|%u", (int)mode, (int)hl, host,
	    ip, port);
	for (char *k = key; *k; k++)
		if (*k >= 'A' && *k <= 'Z')
			*k = (char)(*k + 32);
	h = mtasts__calloc(1, sizeof(*h));
	if (h == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	h->cb = cb;
	h->arg = arg;
	h->ev = event_new(p->base, -1, 0, on_deliver, h);
	if (h->ev == NULL) {
		mtasts__free(h);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	b = hash_str(key);
	for (e = p->ebucket[b]; e; e = e->hnext)
		if (strcmp(e->key, key) == 0)
			break;
	if (e == NULL) {
		/* SMTP: one connection per address. A TLS probe (a web
		 * server's port 443, many names on one address) queues only
		 * behind probes of the same name. */
		struct slot *s = get_slot(p, ip, mode != MTASTS_PROBE_SMTP);

		e = s ? mtasts__calloc(1, sizeof(*e)) : NULL;
		if (e == NULL) {
			if (s != NULL)
				slot_maybe_free(p, s);
			event_free(h->ev);
			mtasts__free(h);
			return mtasts_error_set(err, MTASTS_ENOMEM,
			    "out of memory");
		}
		e->p = p;
		e->slot = s;
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->res.mode = mode;
		snprintf(e->res.host, sizeof(e->res.host), "%.*s", (int)hl,
		    host);
		for (char *k = e->res.host; *k; k++)
			if (*k >= 'A' && *k <= 'Z')
				*k = (char)(*k + 32);
		snprintf(e->res.ip, sizeof(e->res.ip), "%s", ip);
		e->res.port = port;
		e->res.days_left = 0;
		e->hnext = p->ebucket[b];
		p->ebucket[b] = e;
		e->state = E_QUEUED;
		if (s->qtail)
			s->qtail->qnext = e;
		else
			s->qhead = e;
		s->qtail = e;
	} else {
		h->cached = true;
	}
	h->e = e;
	h->next = e->waiters;
	if (e->waiters)
		e->waiters->prev = h;
	e->waiters = h;
	if (e->state == E_DONE)
		event_active(h->ev, EV_TIMEOUT, 0);
	else if (e->state == E_QUEUED)
		slot_pump(p, e->slot);
	if (hp)
		*hp = h;
	return MTASTS_OK;
}

void
mtasts_probe_cancel(struct mtasts_prober *p, struct mtasts_probe_handle *h)
{
	(void)p;
	if (h == NULL)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		h->e->waiters = h->next;
	if (h->next)
		h->next->prev = h->prev;
	{
		struct entry *e = h->e;

		event_free(h->ev);
		mtasts__free(h);
		/* The probe itself goes on; a finished TLS-mode result
		 * nobody waits for is dropped. */
		entry_release(e->p, e, false);
	}
}

void
mtasts_prober_free(struct mtasts_prober *p)
{
	if (p == NULL)
		return;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct entry *e = p->ebucket[b];

		while (e != NULL) {
			struct entry *next = e->hnext;
			struct mtasts_probe_handle *h = e->waiters;

			while (h != NULL) {
				struct mtasts_probe_handle *hn = h->next;

				event_free(h->ev);
				mtasts__free(h);
				h = hn;
			}
			conn_free(e->conn);
			if (e->slot != NULL && e->slot->private_) {
				event_free(e->slot->backoff);
				mtasts__free(e->slot);
			}
			mtasts__free(e);
			e = next;
		}
	}
	/* Shared slots last: queued entries above still pointed at them. */
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct slot *s = p->sbucket[b];

		while (s != NULL) {
			struct slot *sn = s->hnext;

			event_free(s->backoff);
			mtasts__free(s);
			s = sn;
		}
	}
	SSL_CTX_free(p->ctx);
	SSL_CTX_free(p->ctx11);
	SSL_CTX_free(p->ctx10);
	mtasts__free(p->ehlo_name);
	mtasts__free(p);
}

static int
ops_probe(void *impl, enum mtasts_probe_mode mode, const char *host,
    const char *ip, unsigned port, mtasts_probe_cb cb, void *arg,
    struct mtasts_probe_handle **h, struct mtasts_error *err)
{
	return mtasts_probe(impl, mode, host, ip, port, cb, arg, h, err);
}

static void
ops_cancel(void *impl, struct mtasts_probe_handle *h)
{
	mtasts_probe_cancel(impl, h);
}

const struct mtasts_probe_ops mtasts_prober_probe_ops = {
	.probe = ops_probe,
	.cancel = ops_cancel,
};
