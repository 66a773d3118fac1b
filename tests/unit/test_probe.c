/* SPDX-License-Identifier: MIT */
/*
 * test_probe.c: the SMTP STARTTLS prober (probe.h) against scripted
 * servers written here, on loopback, in the test's own event loop. The
 * servers are hostile input generators, not models of a real MTA: an
 * endless banner, a giant line, a slow drip, silence, garbage where the
 * TLS handshake should be, a TLS alert in the middle of the handshake,
 * 421 at connect, no STARTTLS; and one that does a real TLS handshake
 * with a certificate made here (EC P-256, SAN mx.test.invalid), to check
 * version, name match, expiry, key, the old-version attempts, the
 * result cache, one connection per address at a time, and the back-off
 * after 421. Every probe must end within its limits, with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtasts/probe.h"

enum script {
	S_GOOD,
	S_GOOD_OLD,	/* also TLS 1.0 and 1.1 */
	S_NO_STARTTLS,
	S_ENDLESS,
	S_GIANT,
	S_DRIP,
	S_SILENT,
	S_GARBAGE_TLS,
	S_ALERT,
	S_421,
	S_GREYLIST	/* 450 to EHLO */
};

struct server {
	struct event_base *base;
	struct evconnlistener *lis;
	unsigned port;
	enum script script;
	SSL_CTX *ctx;
	unsigned conns, open, max_open;
	struct sconn *live[64];	/* open on our side */
};

struct sconn {
	struct server *s;
	struct bufferevent *bev;
	evutil_socket_t fd;
	bool tls;
	struct event *tick;
	size_t sent;
	const char *drip;
};

/* ---- a certificate made here ---- */

static EVP_PKEY *test_key;
static X509 *test_cert;
static char ca_path[64];

static void
make_cert(void)
{
	X509_NAME *n;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *f;
	int fd;

	test_key = EVP_EC_gen("P-256");
	assert_non_null(test_key);
	test_cert = X509_new();
	X509_set_version(test_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(test_cert), 42);
	X509_gmtime_adj(X509_getm_notBefore(test_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(test_cert), 30L * 86400 + 3600);
	X509_set_pubkey(test_cert, test_key);
	n = X509_get_subject_name(test_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"cn-only.test.invalid", -1, -1, 0);
	X509_set_issuer_name(test_cert, n);
	X509V3_set_ctx(&v3, test_cert, test_cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "DNS:mx.test.invalid, DNS:*.wild.test.invalid");
	assert_non_null(ext);
	X509_add_ext(test_cert, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(test_cert, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(test_cert, test_key, EVP_sha256()) > 0);
	snprintf(ca_path, sizeof(ca_path), "/tmp/test_probe_ca.XXXXXX");
	fd = mkstemp(ca_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	PEM_write_X509(f, test_cert);
	fclose(f);
}

/* ---- the scripted server ---- */

static void sconn_free(struct sconn *c);

static void
s_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sconn_free(arg);
}

static void
say(struct sconn *c, const char *s)
{
	bufferevent_write(c->bev, s, strlen(s));
}

static void
s_tls_read(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	char *line;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), NULL,
		    EVBUFFER_EOL_CRLF)) != NULL) {
		if (strncmp(line, "QUIT", 4) == 0)
			say(c, "221 bye\r\n");
		free(line);
	}
}

static void
s_tls_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sconn_free(arg);
}

static void
go_tls(struct sconn *c)
{
	SSL *ssl = SSL_new(c->s->ctx);
	struct bufferevent *tb;

	bufferevent_free(c->bev);
	tb = bufferevent_openssl_socket_new(c->s->base, c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	c->bev = tb;
	c->tls = true;
	bufferevent_setcb(tb, s_tls_read, NULL, s_tls_event, c);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
}

static void
s_garbage(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;

	(void)fd;
	(void)what;
	say(c, "this is not TLS, this is a text line\r\n");
}

static void
s_read(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if (c->s->script == S_ALERT && c->sent == 1) {
		/* ClientHello arrived: answer with a fatal alert. */
		static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00,
			0x02, 0x02, 0x28};

		evbuffer_drain(in, evbuffer_get_length(in));
		bufferevent_write(bev, alert, sizeof(alert));
		c->sent = 2;
		return;
	}
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			if (c->s->script == S_GREYLIST)
				say(c, "450 4.7.1 greylisted, come back "
				       "later\r\n");
			else if (c->s->script == S_NO_STARTTLS)
				say(c, "250-mx.test.invalid\r\n250 PIPELINING"
				       "\r\n");
			else
				say(c, "250-mx.test.invalid\r\n250-PIPELINING"
				       "\r\n250 STARTTLS\r\n");
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			free(line);
			if (c->s->script == S_GOOD ||
			    c->s->script == S_GOOD_OLD) {
				/* Straight to the socket: the plain
				 * bufferevent is dropped right after. */
				static const char ok[] = "220 go ahead\r\n";

				assert_int_equal(send(c->fd, ok, sizeof(ok) - 1,
				    0), (ssize_t)(sizeof(ok) - 1));
				go_tls(c);
				return;
			}
			say(c, "220 go ahead\r\n");
			if (c->s->script == S_GARBAGE_TLS) {
				struct timeval tv = {0, 20000};

				c->tick = event_new(c->s->base, -1,
				    EV_PERSIST, s_garbage, c);
				event_add(c->tick, &tv);
			}
			c->sent = 1;
			return;
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			say(c, "221 bye\r\n");
		} else {
			say(c, "502 what\r\n");
		}
		free(line);
	}
}

static void
s_write(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;

	(void)bev;
	/* Endless banner: refill whenever the output drained (capped). */
	if (c->s->script == S_ENDLESS && c->sent < 4000) {
		for (int i = 0; i < 50; i++)
			say(c, "220-this banner goes on and on and on\r\n");
		c->sent += 50;
	}
}

static void
s_drip(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;

	(void)fd;
	(void)what;
	if (*c->drip != '\0')
		bufferevent_write(c->bev, c->drip++, 1);
}

/*
 * Connections the client still holds open: ours that are open and have
 * not been closed by the peer (a peek says EOF once the client closed,
 * even if we have not processed that event yet).
 */
static unsigned
client_open(struct server *s)
{
	unsigned n = 0;

	for (int i = 0; i < 64; i++) {
		char b;

		if (s->live[i] == NULL)
			continue;
		if (recv(s->live[i]->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
			n++;
	}
	return n;
}

static void
sconn_free(struct sconn *c)
{
	for (int i = 0; i < 64; i++)
		if (c->s->live[i] == c)
			c->s->live[i] = NULL;
	c->s->open--;
	if (c->tick)
		event_free(c->tick);
	bufferevent_free(c->bev);
	if (!c->tls)
		evutil_closesocket(c->fd);
	free(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *s = arg;
	struct sconn *c = calloc(1, sizeof(*c));

	(void)l;
	(void)sa;
	(void)salen;
	c->s = s;
	c->fd = fd;
	s->conns++;
	s->open++;
	for (int i = 0; i < 64; i++)
		if (s->live[i] == NULL) {
			s->live[i] = c;
			break;
		}
	if (client_open(s) > s->max_open)
		s->max_open = client_open(s);
	c->bev = bufferevent_socket_new(s->base, fd, 0);
	bufferevent_setcb(c->bev, s_read, s_write, s_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	switch (s->script) {
	case S_ENDLESS:
		s_write(c->bev, c);
		break;
	case S_GIANT: {
		char *big = malloc(200000);

		memset(big, 'A', 200000);
		memcpy(big, "220 ", 4);
		bufferevent_write(c->bev, big, 200000);
		free(big);
		break;
	}
	case S_DRIP: {
		struct timeval tv = {0, 100000};

		c->drip = "220 a slow banner, one byte at a time, and more "
			  "bytes so that it takes seconds\r\n";
		c->tick = event_new(s->base, -1, EV_PERSIST, s_drip, c);
		event_add(c->tick, &tv);
		break;
	}
	case S_SILENT:
		break;
	case S_421:
		say(c, "421 4.3.2 too busy, try later\r\n");
		break;
	default:
		say(c, "220 mx.test.invalid ESMTP scripted\r\n");
		break;
	}
}

static void
server_start(struct server *s, struct event_base *base, enum script sc)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->script = sc;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	s->lis = evconnlistener_new_bind(base, on_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(s->lis);
	getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&sin,
	    &len);
	s->port = ntohs(sin.sin_port);
	s->ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(s->ctx, test_cert);
	SSL_CTX_use_PrivateKey(s->ctx, test_key);
	if (sc == S_GOOD_OLD) {
		SSL_CTX_set_min_proto_version(s->ctx, TLS1_VERSION);
		SSL_CTX_set_cipher_list(s->ctx, "DEFAULT:@SECLEVEL=0");
	}
}

static void
server_stop(struct server *s)
{
	for (int i = 0; i < 64; i++)
		if (s->live[i] != NULL)
			sconn_free(s->live[i]);
	evconnlistener_free(s->lis);
	SSL_CTX_free(s->ctx);
}

/* ---- running probes ---- */

struct got {
	struct mtasts_probe_result r;
	bool done;
	struct timeval at;
	int *left;
	struct event_base *base;
};

static void
on_result(void *arg, const struct mtasts_probe_result *r)
{
	struct got *g = arg;

	assert_false(g->done);
	g->r = *r;
	g->done = true;
	gettimeofday(&g->at, NULL);
	if (--*g->left == 0)
		event_base_loopbreak(g->base);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static unsigned cache_max;	/* 0: default */

static struct mtasts_prober *
new_prober(struct event_base *base, unsigned backoff_ms)
{
	struct mtasts_probe_options o;
	struct mtasts_prober *p = NULL;
	struct mtasts_error err;

	mtasts_probe_options_init(&o);
	o.ca_file = ca_path;
	o.connect_timeout_ms = 1500;
	o.reply_timeout_ms = 1500;
	o.tls_timeout_ms = 1500;
	o.total_timeout_ms = 6000;
	o.quit_timeout_ms = 300;
	o.backoff_ms = backoff_ms;
	o.cache_max = cache_max;
	assert_int_equal(mtasts_prober_new(base, &o, &p, &err), MTASTS_OK);
	return p;
}

/* Probe host at 127.0.0.1:port in a fresh loop; wait for the result. */
static void
probe_one(enum script sc, const char *host, struct got *g,
    struct server *keep)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p = new_prober(base, 0);
	struct server s;
	struct mtasts_error err;
	struct timeval lim = {8, 0};
	struct event *wd = evtimer_new(base, on_watchdog, base);
	int left = 1;

	server_start(&s, base, sc);
	memset(g, 0, sizeof(*g));
	g->left = &left;
	g->base = base;
	evtimer_add(wd, &lim);
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, host, "127.0.0.1",
	    s.port, on_result, g, NULL, &err), MTASTS_OK);
	assert_false(g->done);	/* never synchronous */
	event_base_dispatch(base);
	assert_true(g->done);
	mtasts_prober_free(p);
	event_free(wd);
	if (keep)
		*keep = s;
	server_stop(&s);
	event_base_free(base);
}

static void
test_good(void **state)
{
	struct got g;
	struct server s;

	(void)state;
	probe_one(S_GOOD, "MX.test.invalid.", &g, &s);
	if (g.r.status != MTASTS_PROBE_OK)
		fail_msg("status %d stage %d: %s", g.r.status, g.r.stage,
		    g.r.reason);
	assert_int_equal(g.r.stage, MTASTS_STAGE_DONE);
	assert_string_equal(g.r.host, "mx.test.invalid");
	assert_int_equal(g.r.banner_code, 220);
	assert_true(g.r.starttls_offered);
	assert_true(g.r.tls_version_num >= 0x0303);
	assert_true(g.r.cert_present);
	assert_true(g.r.chain_trusted);
	assert_true(g.r.name_match);
	assert_true(g.r.days_left >= 29 && g.r.days_left <= 30);
	assert_string_equal(g.r.key_type, "EC");
	assert_int_equal(g.r.key_bits, 256);
	/* The server (system defaults) refuses TLS below 1.2. */
	assert_true(g.r.old_tested);
	assert_false(g.r.tls10_accepted || g.r.tls11_accepted);
	assert_int_equal(s.conns, 2);	/* main + TLS <= 1.1 attempt */
	assert_int_equal(s.max_open, 1);
}

/* A server that still accepts TLS 1.0 and 1.1: three connections. */
static void
test_old_versions(void **state)
{
	struct got g;
	struct server s;

	(void)state;
	probe_one(S_GOOD_OLD, "mx.test.invalid", &g, &s);
	assert_int_equal(g.r.status, MTASTS_PROBE_OK);
	assert_true(g.r.tls_version_num >= 0x0303);
	assert_true(g.r.old_tested);
	assert_true(g.r.tls11_accepted);
	assert_true(g.r.tls10_accepted);
	assert_int_equal(s.conns, 3);
	assert_int_equal(s.max_open, 1);
}

static void
test_names(void **state)
{
	struct got g;

	(void)state;
	/* Only the CN names it: no match (SAN only). */
	probe_one(S_GOOD, "cn-only.test.invalid", &g, NULL);
	assert_int_equal(g.r.status, MTASTS_PROBE_OK);
	assert_false(g.r.name_match);
	assert_string_equal(g.r.subject_cn, "cn-only.test.invalid");
	/* Wildcard: one label only. */
	probe_one(S_GOOD, "a.wild.test.invalid", &g, NULL);
	assert_true(g.r.name_match);
	probe_one(S_GOOD, "a.b.wild.test.invalid", &g, NULL);
	assert_false(g.r.name_match);
}

static void
test_hostile(void **state)
{
	static const struct {
		enum script sc;
		enum mtasts_probe_status status;
		enum mtasts_probe_stage stage;
		const char *reason;
	} cases[] = {
		{S_ENDLESS, MTASTS_PROBE_FAILED, MTASTS_STAGE_BANNER, "lines"},
		{S_GIANT, MTASTS_PROBE_FAILED, MTASTS_STAGE_BANNER, "longer"},
		{S_DRIP, MTASTS_PROBE_UNTESTED, MTASTS_STAGE_BANNER,
		    "too slowly"},
		{S_SILENT, MTASTS_PROBE_UNTESTED, MTASTS_STAGE_BANNER,
		    "banner"},
		{S_GARBAGE_TLS, MTASTS_PROBE_FAILED, MTASTS_STAGE_HANDSHAKE,
		    "TLS handshake failed"},
		{S_ALERT, MTASTS_PROBE_FAILED, MTASTS_STAGE_HANDSHAKE,
		    "TLS handshake failed"},
		{S_421, MTASTS_PROBE_UNTESTED, MTASTS_STAGE_BANNER, "421"},
		{S_NO_STARTTLS, MTASTS_PROBE_FAILED, MTASTS_STAGE_EHLO,
		    "STARTTLS is not offered"},
		{S_GREYLIST, MTASTS_PROBE_UNTESTED, MTASTS_STAGE_EHLO,
		    "greylisting"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g;
		struct timeval t0, d;

		gettimeofday(&t0, NULL);
		probe_one(cases[i].sc, "mx.test.invalid", &g, NULL);
		timersub(&g.at, &t0, &d);
		if (g.r.status != cases[i].status ||
		    g.r.stage != cases[i].stage ||
		    strstr(g.r.reason, cases[i].reason) == NULL)
			fail_msg("case %zu: status %d stage %d reason '%s'", i,
			    g.r.status, g.r.stage, g.r.reason);
		/* Bounded: every wait is 1.5 s here. */
		if (d.tv_sec >= 5)
			fail_msg("case %zu took %ld s", i, (long)d.tv_sec);
	}
}

static void
test_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p = new_prober(base, 0);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct mtasts_error err;
	struct got g;
	int left = 1, fd;
	unsigned port;

	(void)state;
	/* A port that was just free: nobody listens there. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	memset(&g, 0, sizeof(g));
	g.left = &left;
	g.base = base;
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "mx.test.invalid",
	    "127.0.0.1", port, on_result, &g, NULL, &err), MTASTS_OK);
	event_base_dispatch(base);
	assert_int_equal(g.r.status, MTASTS_PROBE_UNTESTED);
	assert_int_equal(g.r.stage, MTASTS_STAGE_CONNECT);
	assert_non_null(strstr(g.r.reason, "refused"));
	/* Bad arguments: no callback. */
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "mx", "not-an-ip",
	    25, on_result, &g, NULL, &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "", "127.0.0.1",
	    25, on_result, &g, NULL, &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "mx", "127.0.0.1",
	    0, on_result, &g, NULL, &err), MTASTS_EINVAL);
	mtasts_prober_free(p);
	event_base_free(base);
}

/* Several probes of one address: one connection at a time, the cache. */
static void
test_politeness(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p = new_prober(base, 0);
	struct server s;
	struct mtasts_error err;
	struct got g[4];
	int left = 4;
	const char *hosts[] = {"mx.test.invalid", "a.wild.test.invalid",
		"mx.test.invalid", "b.wild.test.invalid"};

	(void)state;
	server_start(&s, base, S_GOOD);
	for (int i = 0; i < 4; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].left = &left;
		g[i].base = base;
		assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, hosts[i],
		    "127.0.0.1", s.port, on_result, &g[i], NULL, &err),
		    MTASTS_OK);
	}
	event_base_dispatch(base);
	for (int i = 0; i < 4; i++)
		assert_int_equal(g[i].r.status, MTASTS_PROBE_OK);
	assert_int_equal(s.max_open, 1);
	/* Three distinct hosts, two connections each; the repeat is cached. */
	assert_int_equal(s.conns, 6);
	assert_true(g[2].r.cached);
	assert_false(g[0].r.cached);
	/* Asking again later: answered from the cache, no connection. */
	left = 1;
	memset(&g[0], 0, sizeof(g[0]));
	g[0].left = &left;
	g[0].base = base;
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "MX.test.invalid",
	    "127.0.0.1", s.port, on_result, &g[0], NULL, &err), MTASTS_OK);
	assert_false(g[0].done);
	event_base_dispatch(base);
	assert_true(g[0].r.cached);
	assert_int_equal(s.conns, 6);
	mtasts_prober_free(p);
	server_stop(&s);
	event_base_free(base);
}

/* After a 421 the address rests for backoff_ms before the next probe. */
static void
test_backoff(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p = new_prober(base, 400);
	struct server s;
	struct mtasts_error err;
	struct mtasts_probe_handle *h = NULL;
	struct got g[3];
	struct timeval d;
	int left = 2;

	(void)state;
	server_start(&s, base, S_421);
	for (int i = 0; i < 3; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].left = &left;
		g[i].base = base;
	}
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "one.test.invalid",
	    "127.0.0.1", s.port, on_result, &g[0], NULL, &err), MTASTS_OK);
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "two.test.invalid",
	    "127.0.0.1", s.port, on_result, &g[1], NULL, &err), MTASTS_OK);
	/* A canceled request never calls back. */
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP,
	    "three.test.invalid", "127.0.0.1", s.port, on_result, &g[2], &h,
	    &err), MTASTS_OK);
	mtasts_probe_cancel(p, h);
	event_base_dispatch(base);
	assert_int_equal(g[0].r.status, MTASTS_PROBE_UNTESTED);
	assert_int_equal(g[0].r.banner_code, 421);
	assert_int_equal(g[1].r.status, MTASTS_PROBE_UNTESTED);
	assert_false(g[2].done);
	timersub(&g[1].at, &g[0].at, &d);
	assert_true(d.tv_sec * 1000 + d.tv_usec / 1000 >= 350);
	assert_int_equal(s.conns, 2);	/* no old-TLS attempts after 421 */
	mtasts_prober_free(p);
	server_stop(&s);
	event_base_free(base);
}

/* Plain TLS mode (policy host on 443 style) and freeing mid-probe. */
static void
test_tls_mode_and_free(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p = new_prober(base, 0);
	struct server s;
	struct mtasts_error err;
	struct got g;
	struct timeval tv = {0, 100000};
	int left = 1;

	(void)state;
	server_start(&s, base, S_SILENT);
	memset(&g, 0, sizeof(g));
	g.left = &left;
	g.base = base;
	assert_int_equal(mtasts_probe(p, MTASTS_PROBE_SMTP, "mx.test.invalid",
	    "127.0.0.1", s.port, on_result, &g, NULL, &err), MTASTS_OK);
	/* Run 100 ms (connected, waiting for the banner), then free. */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_false(g.done);
	mtasts_prober_free(p);
	server_stop(&s);
	event_base_free(base);
}

/* Run one probe on an existing prober and server; wait for it. */
static void
again(struct event_base *base, struct mtasts_prober *p, struct server *s,
    enum mtasts_probe_mode mode, const char *host, struct got *g)
{
	struct mtasts_error err;
	int left = 1;

	memset(g, 0, sizeof(*g));
	g->left = &left;
	g->base = base;
	assert_int_equal(mtasts_probe(p, mode, host, "127.0.0.1", s->port,
	    on_result, g, NULL, &err), MTASTS_OK);
	event_base_dispatch(base);
	assert_true(g->done);
}

/* The cache keeps the newest cache_max SMTP results; TLS-mode results
 * are not kept. */
static void
test_cache_bound(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_prober *p;
	struct server s;
	struct got g;

	(void)state;
	cache_max = 1;
	p = new_prober(base, 0);
	cache_max = 0;
	server_start(&s, base, S_NO_STARTTLS);	/* one connection each */
	again(base, p, &s, MTASTS_PROBE_SMTP, "a.test.invalid", &g);
	again(base, p, &s, MTASTS_PROBE_SMTP, "a.test.invalid", &g);
	assert_true(g.r.cached);
	assert_int_equal(s.conns, 1);
	again(base, p, &s, MTASTS_PROBE_SMTP, "b.test.invalid", &g);
	assert_int_equal(s.conns, 2);
	/* a was evicted by b. */
	again(base, p, &s, MTASTS_PROBE_SMTP, "a.test.invalid", &g);
	assert_false(g.r.cached);
	assert_int_equal(s.conns, 3);
	/* TLS mode: the banner is not a handshake; probed every time. */
	again(base, p, &s, MTASTS_PROBE_TLS, "a.test.invalid", &g);
	assert_int_equal(g.r.status, MTASTS_PROBE_FAILED);
	assert_int_equal(g.r.stage, MTASTS_STAGE_HANDSHAKE);
	again(base, p, &s, MTASTS_PROBE_TLS, "a.test.invalid", &g);
	assert_false(g.r.cached);
	assert_int_equal(s.conns, 5);
	mtasts_prober_free(p);
	server_stop(&s);
	event_base_free(base);
}

static int
setup(void **state)
{
	(void)state;
	make_cert();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(ca_path);
	X509_free(test_cert);
	EVP_PKEY_free(test_key);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_old_versions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_politeness),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_tls_mode_and_free),
		cmocka_unit_test(test_cache_bound),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
