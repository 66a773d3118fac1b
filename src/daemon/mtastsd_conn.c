/* SPDX-License-Identifier: MIT */
/*
 * mtastsd_conn.c: one socketmap client connection.
 *
 * States: READING (parsing whatever requests are buffered), LOOKUP (one
 * request is waiting for the engine; later requests stay buffered, so
 * replies go out in request order), CLOSING (a final reply is being
 * flushed, then the connection is freed). Every state has a timer: the
 * read timeout (idle_timeout between requests, read_timeout inside a
 * request) and the engine's own lookup_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mtasts/netstring.h"
#include "mtastsd_log.h"
#include "mtastsd_server.h"

enum conn_state { CONN_READING = 0, CONN_LOOKUP = 1, CONN_CLOSING = 2 };

struct mtastsd_conn {
	struct mtastsd_waiter w;	/* first: the waiter callback casts */
	struct mtastsd_server *srv;
	struct mtastsd_server_shared *sh;
	struct bufferevent *bev;
	enum conn_state state;
	struct mtastsd_buf reply;
	struct mtastsd_conn *prev;
	struct mtastsd_conn *next;
	bool in_process;	/* re-entrancy guard */
	bool lingering;		/* CLOSING: reply sent, waiting for EOF */
	unsigned timeout_set;	/* seconds of the armed read timeout */
};

static void conn_process(struct mtastsd_conn *c);

/* Idle timeout between requests, read timeout inside one; libevent
   re-arms it on every read, so it is only set when the kind changes. */
static void
set_timeout(struct mtastsd_conn *c)
{
	struct timeval tv;
	const struct mtastsd_config *cfg = c->sh->cfg;
	size_t pending = evbuffer_get_length(bufferevent_get_input(c->bev));
	unsigned want = pending ? cfg->read_timeout : cfg->idle_timeout;

	if (want == c->timeout_set)
		return;
	c->timeout_set = want;
	tv.tv_sec = want;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/*
 * Frame and send a reply. When nothing is queued, write straight to the
 * socket: the common small reply then costs one send() and no poller
 * changes; only what the kernel does not take is queued.
 */
static void
send_reply(struct mtastsd_conn *c, const char *p, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char small[1024];
	char head[24];
	int hl = snprintf(head, sizeof(head), "%zu:", n);
	size_t total = (size_t)hl + n + 1;
	ssize_t sent;

	if (total <= sizeof(small) && evbuffer_get_length(out) == 0) {
		memcpy(small, head, (size_t)hl);
		memcpy(small + hl, p, n);
		small[total - 1] = ',';
		sent = send(bufferevent_getfd(c->bev), small, total,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0)
			sent = 0; /* let the bufferevent report the error */
		if ((size_t)sent < total)
			evbuffer_add(out, small + sent, total - (size_t)sent);
		return;
	}
	evbuffer_add(out, head, (size_t)hl);
	evbuffer_add(out, p, n);
	evbuffer_add(out, ",", 1);
}

/*
 * Lingering close: once the last reply is out, shut down our sending
 * side and discard whatever the client still sends until it closes (or
 * LINGER_SECONDS pass). Closing with unread input would make the kernel
 * send a reset that can destroy the reply before the client reads it.
 */
#define LINGER_SECONDS 2

static void
linger(struct mtastsd_conn *c)
{
	struct timeval tv = {LINGER_SECONDS, 0};

	c->lingering = true;
	c->timeout_set = LINGER_SECONDS;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

static void
close_after_write(struct mtastsd_conn *c)
{
	c->state = CONN_CLOSING;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		linger(c);
}

static void
lookup_done(struct mtastsd_waiter *w)
{
	struct mtastsd_conn *c = (struct mtastsd_conn *)w;

	send_reply(c, c->reply.p, c->reply.len);
	c->state = CONN_READING;
	if (c->sh->draining &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		close_after_write(c);
		return;
	}
	if (!c->in_process)
		conn_process(c);
}

/* Handle every complete request buffered, in order. */
static void
conn_process(struct mtastsd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	const struct mtastsd_config *cfg = c->sh->cfg;
	const struct mtastsd_zone *zone;
	const char *payload, *name, *key;
	size_t len, plen, used, nlen, klen, want;
	unsigned char *buf;
	int rc;

	c->in_process = true;
	while (c->state == CONN_READING) {
		len = evbuffer_get_length(in);
		if (len == 0)
			break;
		/* A whole netstring is at most max + 12 bytes. */
		want = len < cfg->max_request_size + 12
		    ? len
		    : cfg->max_request_size + 12;
		buf = evbuffer_pullup(in, (ev_ssize_t)want);
		if (buf == NULL)
			break;
		rc = mtasts_netstring_decode((const char *)buf, want,
		    cfg->max_request_size, &payload, &plen, &used);
		if (rc == MTASTS_EAGAIN)
			break;
		if (rc != MTASTS_OK) {
			log_info("client sent a malformed netstring (%s); "
				 "closing",
			    mtasts_strerror(rc));
			(void)mtastsd_reply_status(&c->reply, "PERM",
			    rc == MTASTS_ETOOBIG ? "request too large"
						 : "malformed netstring");
			send_reply(c, c->reply.p, c->reply.len);
			evbuffer_drain(in, len);
			close_after_write(c);
			break;
		}
		if (mtasts_socketmap_split(payload, plen, &name, &nlen, &key,
		    &klen) != MTASTS_OK) {
			(void)mtastsd_reply_status(&c->reply, "PERM",
			    "invalid request: want \"NAME KEY\"");
			send_reply(c, c->reply.p, c->reply.len);
			evbuffer_drain(in, used);
			continue;
		}
		zone = mtastsd_config_zone(cfg, name, nlen);
		rc = mtastsd_engine_lookup(c->sh->eng, zone, key, klen,
		    &c->reply, &c->w, lookup_done);
		evbuffer_drain(in, used);	/* payload not used below */
		if (rc == MTASTSD_PENDING) {
			c->state = CONN_LOOKUP;
			break;
		}
		send_reply(c, c->reply.p, c->reply.len);
	}
	c->in_process = false;
	if (c->state == CONN_READING && c->sh->draining &&
	    evbuffer_get_length(in) == 0) {
		close_after_write(c);
		return;
	}
	if (c->state != CONN_CLOSING)
		set_timeout(c);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct mtastsd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == CONN_READING)
		conn_process(c);
	else if (c->state == CONN_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct mtastsd_conn *c = arg;

	/* A deferred callback may come late: check the buffer itself. */
	if (c->state == CONN_CLOSING && !c->lingering &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		linger(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mtastsd_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("client timed out in state %d", (int)c->state);
	else if (what & BEV_EVENT_ERROR)
		log_debug("client connection error in state %d: %s",
		    (int)c->state,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	mtastsd__conn_free(c);
}

void
mtastsd__conn_new(struct mtastsd_server *srv, int fd)
{
	struct mtastsd_server_shared *sh = mtastsd__server_shared(srv);
	struct mtastsd_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->bev = bufferevent_socket_new(sh->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->sh = sh;
	mtastsd_buf_init(&c->reply, MTASTS_SOCKETMAP_MAX - 16);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* Stop reading (back-pressure) while a lookup holds later
	   pipelined requests. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    (size_t)sh->cfg->max_request_size * 4 + 64);
	c->next = sh->conns;
	if (sh->conns)
		sh->conns->prev = c;
	sh->conns = c;
	sh->nconns++;
	set_timeout(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
mtastsd__conn_free(struct mtastsd_conn *c)
{
	struct mtastsd_server_shared *sh = c->sh;
	struct mtastsd_server *srv = c->srv;

	if (c->state == CONN_LOOKUP)
		mtastsd_engine_cancel(sh->eng, &c->w);
	if (c->prev)
		c->prev->next = c->next;
	else
		sh->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sh->nconns--;
	bufferevent_free(c->bev);
	mtastsd_buf_free(&c->reply);
	free(c);
	mtastsd__server_conn_gone(srv);
}

void
mtastsd__conns_drain_all(struct mtastsd_server *srv)
{
	struct mtastsd_server_shared *sh = mtastsd__server_shared(srv);
	struct mtastsd_conn *c, *next;

	for (c = sh->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_READING &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			close_after_write(c);
	}
}
