/* SPDX-License-Identifier: MIT */
/* mtastsd_server.c: listeners, socket activation, connection cap, drain. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "mtastsd_log.h"
#include "mtastsd_server.h"

#define LISTENERS_MAX 32
#define SD_LISTEN_FDS_START 3

struct mtastsd_server {
	struct mtastsd_server_shared sh;
	struct evconnlistener *listeners[LISTENERS_MAX];
	size_t nlisteners;
	struct event *resume;	/* re-enable listeners after EMFILE */
	time_t last_full_log;
};

struct mtastsd_server_shared *
mtastsd__server_shared(struct mtastsd_server *srv)
{
	return &srv->sh;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mtastsd_server *srv = arg;
	size_t i;

	(void)fd;
	(void)what;
	if (srv->sh.draining)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

struct mtastsd_server *
mtastsd_server_new(struct event_base *base, struct mtastsd_engine *eng,
    const struct mtastsd_config *cfg)
{
	struct mtastsd_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->sh.base = base;
	srv->sh.eng = eng;
	srv->sh.cfg = cfg;
	srv->resume = evtimer_new(base, resume_cb, srv);
	if (srv->resume == NULL) {
		free(srv);
		return NULL;
	}
	return srv;
}

void
mtastsd_server_free(struct mtastsd_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	while (srv->sh.conns != NULL)
		mtastsd__conn_free(srv->sh.conns);
	event_free(srv->resume);
	free(srv);
}

void
mtastsd_server_set_config(struct mtastsd_server *srv,
    const struct mtastsd_config *cfg)
{
	srv->sh.cfg = cfg;
}

size_t
mtastsd_server_conn_count(const struct mtastsd_server *srv)
{
	return srv->sh.nconns;
}

void
mtastsd__server_conn_gone(struct mtastsd_server *srv)
{
	if (srv->sh.draining && srv->sh.nconns == 0 &&
	    srv->sh.drain_done != NULL) {
		void (*done)(void *) = srv->sh.drain_done;

		srv->sh.drain_done = NULL;
		done(srv->sh.drain_arg);
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct mtastsd_server *srv = arg;
	time_t now;

	(void)l;
	(void)sa;
	(void)socklen;
	if (srv->sh.draining) {
		evutil_closesocket(fd);
		return;
	}
	if (srv->sh.nconns >= srv->sh.cfg->max_connections) {
		/* Closed at once: Postfix retries; no reply is due since
		   no request was read. */
		evutil_closesocket(fd);
		now = time(NULL);
		if (now != srv->last_full_log) {
			srv->last_full_log = now;
			log_warn("max_connections (%u) reached: closing new "
				 "clients",
			    srv->sh.cfg->max_connections);
		}
		return;
	}
	mtastsd__conn_new(srv, fd);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct mtastsd_server *srv = arg;
	struct timeval tv = {1, 0};
	size_t i;
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	log_err("accept: %s; pausing new connections for 1s",
	    evutil_socket_error_to_string(e));
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->resume, &tv);
}

static int
add_listener(struct mtastsd_server *srv, int fd, char *err, size_t errlen)
{
	struct evconnlistener *l;

	if (srv->nlisteners == LISTENERS_MAX) {
		close(fd);
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	l = evconnlistener_new(srv->sh.base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l == NULL) {
		close(fd);
		snprintf(err, errlen, "cannot create listener");
		return -1;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	srv->listeners[srv->nlisteners++] = l;
	return 0;
}

static int
listen_unix(struct mtastsd_server *srv, const char *path, char *err,
    size_t errlen)
{
	const struct mtastsd_config *cfg = srv->sh.cfg;
	struct sockaddr_un sun;
	struct stat st;
	struct passwd *pw;
	struct group *gr;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "unix:%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (cfg->unix_owner[0] != '\0') {
		pw = getpwnam(cfg->unix_owner);
		if (pw == NULL) {
			snprintf(err, errlen, "unix_owner %s: no such user",
			    cfg->unix_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (cfg->unix_group[0] != '\0') {
		gr = getgrnam(cfg->unix_group);
		if (gr == NULL) {
			snprintf(err, errlen, "unix_group %s: no such group",
			    cfg->unix_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix:%s exists and is not a "
			    "socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, cfg->unix_mode) != 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
		chown(path, uid, gid) != 0) ||
	    listen(fd, 1024) != 0) {
		snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return add_listener(srv, fd, err, errlen);
}

static int
listen_inet(struct mtastsd_server *srv, const char *hostport, char *err,
    size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints, *res = NULL, *ai;
	size_t hl;
	int fd = -1, rc, one = 1, n = 0;

	if (colon == NULL) {
		snprintf(err, errlen, "inet:%s: want HOST:PORT", hostport);
		return -1;
	}
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && hostport[0] == '[' && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "inet:%s: host too long", hostport);
		return -1;
	}
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, colon + 1,
	    &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "inet:%s: %s", hostport,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, 1024) != 0) {
			snprintf(err, errlen, "inet:%s:%s: %s", host, colon + 1,
			    strerror(errno));
			close(fd);
			continue;
		}
		if (add_listener(srv, fd, err, errlen) != 0)
			break;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "inet:%s: cannot listen",
			    hostport);
		return -1;
	}
	return 0;
}

int
mtastsd_server_listen(struct mtastsd_server *srv, const char *spec,
    char *err, size_t errlen)
{
	err[0] = '\0';
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(srv, spec + 5, err, errlen);
	if (strncmp(spec, "inet:", 5) == 0)
		return listen_inet(srv, spec + 5, err, errlen);
	snprintf(err, errlen, "%s: want inet:HOST:PORT or unix:PATH", spec);
	return -1;
}

int
mtastsd_server_adopt_systemd(struct mtastsd_server *srv, char *err,
    size_t errlen)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n, i;

	if (pid == NULL || fds == NULL)
		return 0;
	p = strtol(pid, &end, 10);
	if (*end != '\0' || p != (long)getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (*end != '\0' || n < 0 || n > LISTENERS_MAX) {
		snprintf(err, errlen, "LISTEN_FDS=%s: bad value", fds);
		return -1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++)
		if (add_listener(srv, SD_LISTEN_FDS_START + (int)i, err,
		    errlen) != 0)
			return -1;
	return (int)n;
}

void
mtastsd_server_drain(struct mtastsd_server *srv, void (*done)(void *arg),
    void *arg)
{
	size_t i;

	srv->sh.draining = true;
	srv->sh.drain_done = done;
	srv->sh.drain_arg = arg;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	mtastsd__conns_drain_all(srv);
	if (srv->sh.nconns == 0 && srv->sh.drain_done != NULL) {
		srv->sh.drain_done = NULL;
		done(arg);
	}
}
