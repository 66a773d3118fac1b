/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_server 3h (daemon)
 * SUMMARY
 *	socketmap listeners and client connections on libevent
 * DESCRIPTION
 *	Listens on TCP ("inet:HOST:PORT") and Unix ("unix:PATH", with the
 *	configured owner, group and mode) sockets, or adopts the sockets
 *	systemd passes (LISTEN_FDS/LISTEN_PID, no libsystemd needed). Each
 *	client gets one struct mtastsd_conn (mtastsd_conn.c) with an
 *	explicit state; requests are netstrings "NAME KEY", pipelined and
 *	answered in order. At max_connections, extra clients are closed at
 *	once (Postfix retries). mtastsd_server_drain() stops accepting,
 *	closes idle clients and lets busy ones finish.
 */
#ifndef MTASTSD_SERVER_H
#define MTASTSD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mtastsd_config.h"
#include "mtastsd_engine.h"

struct event_base;
struct mtastsd_server;
struct mtastsd_conn;

/* New server (no listeners yet). All pointers borrowed. NULL on OOM. */
struct mtastsd_server *mtastsd_server_new(struct event_base *base,
    struct mtastsd_engine *eng, const struct mtastsd_config *cfg);

/* Close listeners and connections, free. NULL-safe. */
void mtastsd_server_free(struct mtastsd_server *srv);

/* Switch configuration (SIGHUP); listeners are not changed. */
void mtastsd_server_set_config(struct mtastsd_server *srv,
    const struct mtastsd_config *cfg);

/* Bind one "inet:HOST:PORT" or "unix:PATH". 0, or -1 with err. */
int mtastsd_server_listen(struct mtastsd_server *srv, const char *spec,
    char *err, size_t errlen);

/*
 * Adopt sockets passed by systemd socket activation. Returns how many
 * (0 when not socket-activated), or -1 with err.
 */
int mtastsd_server_adopt_systemd(struct mtastsd_server *srv, char *err,
    size_t errlen);

/* Stop accepting and close idle clients; done() runs once no client is
   left (possibly at once). */
void mtastsd_server_drain(struct mtastsd_server *srv,
    void (*done)(void *arg), void *arg);

size_t mtastsd_server_conn_count(const struct mtastsd_server *srv);

/* ---- internal, shared with mtastsd_conn.c ---- */
void mtastsd__conn_new(struct mtastsd_server *srv, int fd);
void mtastsd__conn_free(struct mtastsd_conn *c);
/* Close idle connections, let busy ones finish (drain). */
void mtastsd__conns_drain_all(struct mtastsd_server *srv);

struct mtastsd_server_shared {
	struct event_base *base;
	struct mtastsd_engine *eng;
	const struct mtastsd_config *cfg;
	struct mtastsd_conn *conns;
	size_t nconns;
	bool draining;
	void (*drain_done)(void *arg);
	void *drain_arg;
};

/* The part of the server mtastsd_conn.c uses. */
struct mtastsd_server_shared *mtastsd__server_shared(
    struct mtastsd_server *srv);

/* Called by mtastsd_conn.c when a connection went away. */
void mtastsd__server_conn_gone(struct mtastsd_server *srv);

#endif
