/* SPDX-License-Identifier: MIT */
/*
 * mtastsd_conn.c: one socketmap client connection.
 *
 * States: READING (parsing whatever requests are buffered), LOOKUP (one
 * request is waiting for the engine; later requests stay buffered, so
 * replies go out in request order), CLOSING (a final reply is being
 * flushed, then a lingering close). Every state has a timer: the read
 * event's timeout (idle_timeout between requests, read_timeout inside
 * a request, LINGER_SECONDS when closing) and the engine's own
 * lookup_timeout.
 *
 * I/O is done by hand on plain events rather than bufferevents: a fixed
 * input buffer per connection (one recv() per readable event, no
 * FIONREAD), and replies sent with one send() straight away; only what
 * the kernel does not take is queued behind a write event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "mtasts/netstring.h"
#include "mtastsd_log.h"
#include "mtastsd_server.h"

#define LINGER_SECONDS 2

enum conn_state { CONN_READING = 0, CONN_LOOKUP = 1, CONN_CLOSING = 2 };

struct mtastsd_conn {
	struct mtastsd_waiter w;	/* first: the waiter callback casts */
	struct mtastsd_server *srv;
	struct mtastsd_server_shared *sh;
	int fd;
	struct event *rev;	/* persistent read event with timeout */
	struct event *wev;	/* write event, only while out is queued */
	struct evbuffer *out;	/* reply bytes the kernel did not take */
	enum conn_state state;
	struct mtastsd_buf reply;
	struct mtastsd_conn *prev;
	struct mtastsd_conn *next;
	bool in_process;	/* re-entrancy guard */
	bool lingering;		/* CLOSING: reply sent, waiting for EOF */
	bool reading;		/* rev is added */
	unsigned timeout_set;	/* seconds of the armed read timeout */
	size_t inlen;		/* bytes in in[] */
	size_t incap;
	char in[];		/* input buffer */
};

static void conn_process(struct mtastsd_conn *c);

static void
arm_read(struct mtastsd_conn *c, unsigned seconds)
{
	struct timeval tv;

	if (c->reading && seconds == c->timeout_set)
		return;
	c->timeout_set = seconds;
	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	if (event_add(c->rev, &tv) == 0)
		c->reading = true;
}

static void
stop_read(struct mtastsd_conn *c)
{
	if (c->reading)
		event_del(c->rev);
	c->reading = false;
}

/* Idle timeout between requests, read timeout inside one. */
static void
set_timeout(struct mtastsd_conn *c)
{
	const struct mtastsd_config *cfg = c->sh->cfg;

	arm_read(c, c->inlen ? cfg->read_timeout : cfg->idle_timeout);
}

/*
 * Lingering close: once the last reply is out, shut down our sending
 * side and discard whatever the client still sends until it closes (or
 * LINGER_SECONDS pass). Closing with unread input would make the kernel
 * send a reset that can destroy the reply before the client reads it.
 */
static void
linger(struct mtastsd_conn *c)
{
	c->lingering = true;
	shutdown(c->fd, SHUT_WR);
	c->reading = false;	/* force re-arming with the new timeout */
	arm_read(c, LINGER_SECONDS);
}

static void
close_after_write(struct mtastsd_conn *c)
{
	c->state = CONN_CLOSING;
	if (evbuffer_get_length(c->out) == 0)
		linger(c);
}

/* Frame and send a reply; queue what the kernel does not take. */
static void
send_reply(struct mtastsd_conn *c, const char *p, size_t n)
{
	char small[1024];
	char head[24];
	int hl = snprintf(head, sizeof(head), "%zu:", n);
	size_t total = (size_t)hl + n + 1;
	ssize_t sent = 0;
	struct timeval tv;

	if (c->lingering)
		return;
	if (total <= sizeof(small) && evbuffer_get_length(c->out) == 0) {
		memcpy(small, head, (size_t)hl);
		memcpy(small + hl, p, n);
		small[total - 1] = ',';
		sent = send(c->fd, small, total, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0)
			sent = 0; /* the write event reports real errors */
		if ((size_t)sent == total)
			return;
		evbuffer_add(c->out, small + sent, total - (size_t)sent);
	} else {
		evbuffer_add(c->out, head, (size_t)hl);
		evbuffer_add(c->out, p, n);
		evbuffer_add(c->out, ",", 1);
	}
	/* A client that stops reading is dropped after read_timeout. */
	tv.tv_sec = c->sh->cfg->read_timeout;
	tv.tv_usec = 0;
	event_add(c->wev, &tv);
}

static void
lookup_done(struct mtastsd_waiter *w)
{
	struct mtastsd_conn *c = (struct mtastsd_conn *)w;

	send_reply(c, c->reply.p, c->reply.len);
	c->state = CONN_READING;
	if (!c->in_process)
		conn_process(c);
}

/* Handle every complete request buffered, in order. */
static void
conn_process(struct mtastsd_conn *c)
{
	const struct mtastsd_config *cfg = c->sh->cfg;
	const struct mtastsd_zone *zone;
	const char *payload, *name, *key;
	size_t off = 0, plen, used, nlen, klen;
	int rc;

	c->in_process = true;
	while (c->state == CONN_READING && off < c->inlen) {
		rc = mtasts_netstring_decode(c->in + off, c->inlen - off,
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
			off = c->inlen;
			close_after_write(c);
			break;
		}
		off += used;
		if (mtasts_socketmap_split(payload, plen, &name, &nlen, &key,
		    &klen) != MTASTS_OK) {
			(void)mtastsd_reply_status(&c->reply, "PERM",
			    "invalid request: want \"NAME KEY\"");
			send_reply(c, c->reply.p, c->reply.len);
			continue;
		}
		zone = mtastsd_config_zone(cfg, name, nlen);
		rc = mtastsd_engine_lookup(c->sh->eng, zone, key, klen,
		    &c->reply, &c->w, lookup_done);
		if (rc == MTASTSD_PENDING) {
			c->state = CONN_LOOKUP;
			break;
		}
		send_reply(c, c->reply.p, c->reply.len);
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	c->in_process = false;
	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_READING && c->sh->draining && c->inlen == 0) {
		close_after_write(c);
		return;
	}
	/* A request that cannot fit (max_request_size was raised by a
	   reload after this connection began) is refused. */
	if (c->state == CONN_READING && c->inlen == c->incap) {
		(void)mtastsd_reply_status(&c->reply, "PERM",
		    "request too large");
		send_reply(c, c->reply.p, c->reply.len);
		c->inlen = 0;
		close_after_write(c);
		return;
	}
	/* Back-pressure: a full buffer behind a lookup stops reading. */
	if (c->inlen == c->incap) {
		stop_read(c);
		return;
	}
	set_timeout(c);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mtastsd_conn *c = arg;
	char scratch[512];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		if (!c->lingering)
			log_debug("client timed out in state %d",
			    (int)c->state);
		mtastsd__conn_free(c);
		return;
	}
	if (c->state == CONN_CLOSING) {
		n = recv(fd, scratch, sizeof(scratch), 0);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
		if (c->lingering)
			mtastsd__conn_free(c);
		else
			stop_read(c);	/* wait for the write side */
		return;
	}
	n = recv(fd, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_debug("client read error: %s", strerror(errno));
		mtastsd__conn_free(c);
		return;
	}
	c->inlen += (size_t)n;
	if (c->state == CONN_READING)
		conn_process(c);
	else if (c->inlen == c->incap)
		stop_read(c);
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mtastsd_conn *c = arg;

	if (what & EV_TIMEOUT) {
		log_debug("client does not read its replies; closing");
		mtastsd__conn_free(c);
		return;
	}
	if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		log_debug("client write error: %s", strerror(errno));
		mtastsd__conn_free(c);
		return;
	}
	if (evbuffer_get_length(c->out) > 0)
		return;
	event_del(c->wev);
	if (c->state == CONN_CLOSING && !c->lingering)
		linger(c);
	else if (!c->reading && c->state == CONN_READING)
		set_timeout(c);
}

void
mtastsd__conn_new(struct mtastsd_server *srv, int fd)
{
	struct mtastsd_server_shared *sh = mtastsd__server_shared(srv);
	size_t cap = (size_t)sh->cfg->max_request_size * 2 + 64;
	struct mtastsd_conn *c = calloc(1, sizeof(*c) + cap);

	if (c == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->incap = cap;
	evutil_make_socket_nonblocking(fd);
	c->rev = event_new(sh->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(sh->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	c->out = evbuffer_new();
	if (c->rev == NULL || c->wev == NULL || c->out == NULL) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->out)
			evbuffer_free(c->out);
		close(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->sh = sh;
	mtastsd_buf_init(&c->reply, MTASTS_SOCKETMAP_MAX - 16);
	c->next = sh->conns;
	if (sh->conns)
		sh->conns->prev = c;
	sh->conns = c;
	sh->nconns++;
	set_timeout(c);
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
	event_free(c->rev);
	event_free(c->wev);
	evbuffer_free(c->out);
	close(c->fd);
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
		if (c->state == CONN_READING && c->inlen == 0)
			close_after_write(c);
	}
}
