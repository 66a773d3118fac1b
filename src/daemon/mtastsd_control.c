/* SPDX-License-Identifier: MIT */
/* mtastsd_control.c: operator commands over a Unix socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "mtasts/policy.h"
#include "mtastsd_control.h"
#include "mtastsd_log.h"

#define CONTROL_LINE_MAX 1024

struct mtastsd_control {
	struct event_base *base;
	struct mtastsd_engine *eng;
	struct evconnlistener *listener;
	const struct mtasts_store_ops *sops;
	void *simpl;
	char path[108];
};

struct ctl_conn {
	struct mtastsd_control *ctl;
	struct bufferevent *bev;
	bool closing;
};

static void
iso_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
entry_state(const struct mtastsd_entry *e, int64_t now)
{
	if (e->flags & MTASTSD_ENTRY_POLICY)
		return now < e->expires_at ? "policy" : "expired";
	if (e->failure == MTASTSD_FAILURE_TEMP)
		return "temp-failure";
	if (e->fail_id_len > 0 || e->failure != 0)
		return "failed";
	return "no-policy";
}

json_t *
mtastsd_control_entry_json(const struct mtastsd_entry *e, int64_t now)
{
	json_t *o = json_object();
	char t[32];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "domain", json_string(mtastsd_entry_domain(e)));
	json_object_set_new(o, "state", json_string(entry_state(e, now)));
	if (e->flags & MTASTSD_ENTRY_POLICY) {
		json_object_set_new(o, "mode",
		    json_string(mtasts_mode_name(e->mode)));
		json_object_set_new(o, "id", json_string(mtastsd_entry_id(e)));
		iso_time(e->fetched_at, t, sizeof(t));
		json_object_set_new(o, "fetched_at", json_string(t));
		iso_time(e->expires_at, t, sizeof(t));
		json_object_set_new(o, "expires_at", json_string(t));
		json_object_set_new(o, "match",
		    json_string(mtastsd_entry_match(e)));
		if (e->flags & MTASTSD_ENTRY_BODY)
			json_object_set_new(o, "policy",
			    json_stringn(mtastsd_entry_body(e), e->body_len));
	}
	iso_time(e->checked_at, t, sizeof(t));
	json_object_set_new(o, "checked_at", json_string(t));
	iso_time(e->last_used, t, sizeof(t));
	json_object_set_new(o, "last_used", json_string(t));
	if (e->fail_id_len > 0 || e->failures > 0) {
		json_object_set_new(o, "failed_id",
		    json_string(mtastsd_entry_fail_id(e)));
		json_object_set_new(o, "failures", json_integer(e->failures));
		iso_time(e->retry_at, t, sizeof(t));
		json_object_set_new(o, "retry_after", json_string(t));
		if (e->failure != 0 && e->failure != MTASTSD_FAILURE_TEMP &&
		    mtasts_failure_name(e->failure) != NULL)
			json_object_set_new(o, "failure",
			    json_string(mtasts_failure_name(e->failure)));
	}
	return o;
}

struct walk {
	struct evbuffer *out;
	int64_t now;
	int json;
};

static void
each_entry(void *arg, struct mtastsd_entry *e)
{
	struct walk *w = arg;
	char t[32];
	json_t *o;
	char *s;

	if (w->json) {
		o = mtastsd_control_entry_json(e, w->now);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s != NULL)
			evbuffer_add_printf(w->out, "%s\n", s);
		free(s);
		json_decref(o);
		return;
	}
	if (e->flags & MTASTSD_ENTRY_POLICY) {
		iso_time(e->expires_at, t, sizeof(t));
		evbuffer_add_printf(w->out, "%s %s %s id=%s expires=%s\n",
		    mtastsd_entry_domain(e), entry_state(e, w->now),
		    mtasts_mode_name(e->mode), mtastsd_entry_id(e), t);
	} else {
		iso_time(e->checked_at, t, sizeof(t));
		evbuffer_add_printf(w->out, "%s %s checked=%s\n",
		    mtastsd_entry_domain(e), entry_state(e, w->now), t);
	}
}

/* purge --all on the store: collect every domain, then delete them. */
struct store_purge {
	struct mtastsd_control *ctl;
	char **domains;
	size_t n, cap;
};

static int
purge_each(void *arg, const struct mtasts_store_record *rec)
{
	struct store_purge *sp = arg;
	char **d;

	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 64;
		d = realloc(sp->domains, sp->cap * sizeof(*d));
		if (d == NULL)
			return 1;
		sp->domains = d;
	}
	sp->domains[sp->n] = strdup(rec->domain);
	if (sp->domains[sp->n] != NULL)
		sp->n++;
	return 0;
}

static void
purge_del_done(void *arg, int code)
{
	(void)arg;
	(void)code;
}

static void
purge_scan_done(void *arg, int code)
{
	struct store_purge *sp = arg;
	size_t i;

	if (code != MTASTS_OK)
		log_warn("control: purge --all: store scan failed: %s",
		    mtasts_strerror(code));
	for (i = 0; i < sp->n; i++) {
		(void)sp->ctl->sops->del(sp->ctl->simpl, sp->domains[i],
		    purge_del_done, NULL);
		free(sp->domains[i]);
	}
	log_notice("control: purged %zu entries from the store", sp->n);
	free(sp->domains);
	free(sp);
}

static void
run_command(struct ctl_conn *cc, char *line)
{
	struct mtastsd_control *ctl = cc->ctl;
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	struct mtastsd_cache *cache = mtastsd_engine_cache(ctl->eng);
	const struct mtastsd_stats *st;
	struct walk w;
	struct mtastsd_entry *e;
	struct store_purge *sp;
	char domain[254];
	char *arg = strchr(line, ' ');
	json_t *o;
	char *s;
	size_t n;

	if (arg != NULL)
		*arg++ = '\0';
	w.out = out;
	w.now = (int64_t)time(NULL);
	w.json = 0;
	if (strcmp(line, "list") == 0 && arg == NULL) {
		mtastsd_cache_foreach(cache, each_entry, &w);
	} else if (strcmp(line, "export") == 0 && arg == NULL) {
		w.json = 1;
		mtastsd_cache_foreach(cache, each_entry, &w);
	} else if (strcmp(line, "show") == 0 && arg != NULL) {
		if (mtastsd_key_normalise(arg, strlen(arg), domain) != 0) {
			evbuffer_add_printf(out, "error: not a domain\n");
			return;
		}
		e = mtastsd_cache_find(cache, domain, strlen(domain));
		if (e == NULL) {
			evbuffer_add_printf(out, "error: %s is not cached\n",
			    domain);
			return;
		}
		o = mtastsd_control_entry_json(e, w.now);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		evbuffer_add_printf(out, "%s\n", s ? s : "{}");
		free(s);
		json_decref(o);
	} else if (strcmp(line, "purge") == 0 && arg != NULL &&
	    strcmp(arg, "--all") == 0) {
		n = mtastsd_engine_purge_all(ctl->eng);
		evbuffer_add_printf(out, "purged %zu entries\n", n);
		log_notice("control: purged all %zu cached entries", n);
		if (ctl->sops != NULL) {
			sp = calloc(1, sizeof(*sp));
			if (sp != NULL) {
				sp->ctl = ctl;
				if (ctl->sops->scan(ctl->simpl, purge_each,
				    purge_scan_done, sp) != MTASTS_OK)
					free(sp);
			}
		}
	} else if (strcmp(line, "purge") == 0 && arg != NULL) {
		if (mtastsd_key_normalise(arg, strlen(arg), domain) != 0) {
			evbuffer_add_printf(out, "error: not a domain\n");
			return;
		}
		if (mtastsd_engine_purge(ctl->eng, domain))
			evbuffer_add_printf(out, "purged %s\n", domain);
		else
			evbuffer_add_printf(out, "%s was not in memory "
			    "(store entry deleted)\n", domain);
		log_notice("control: purged %s", domain);
	} else if (strcmp(line, "stats") == 0 && arg == NULL) {
		st = mtastsd_engine_stats(ctl->eng);
		evbuffer_add_printf(out,
		    "entries %zu\npending %zu\nlookups %llu\nhits %llu\n"
		    "store_hits %llu\ndiscoveries %llu\ncoalesced %llu\n"
		    "fetched %llu\nfailures %llu\ntimeouts %llu\n"
		    "evicted %llu\nstore_errors %llu\n",
		    mtastsd_cache_count(cache),
		    mtastsd_engine_pending_count(ctl->eng), st->lookups,
		    st->hits, st->store_hits, st->discoveries, st->coalesced,
		    st->fetched, st->failures, st->timeouts, st->evicted,
		    st->store_errors);
	} else {
		evbuffer_add_printf(out,
		    "error: unknown command (list, show DOMAIN, purge "
		    "DOMAIN|--all, export, stats)\n");
	}
}

static void
ctl_free(struct ctl_conn *cc)
{
	bufferevent_free(cc->bev);
	free(cc);
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (cc->closing)
		return;
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
			ctl_free(cc);
		return;
	}
	if (n <= CONTROL_LINE_MAX)
		run_command(cc, line);
	free(line);
	cc->closing = true;
	bufferevent_disable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_free(cc);
}

static void
ctl_write(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;

	(void)bev;
	if (cc->closing)
		ctl_free(cc);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	ctl_free(arg);
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct mtastsd_control *ctl = arg;
	struct ctl_conn *cc = calloc(1, sizeof(*cc));
	struct timeval tv = {10, 0};

	(void)l;
	(void)sa;
	(void)socklen;
	if (cc == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cc->ctl = ctl;
	cc->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		evutil_closesocket(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, ctl_read, ctl_write, ctl_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

struct mtastsd_control *
mtastsd_control_new(struct event_base *base, struct mtastsd_engine *eng,
    const char *path, unsigned mode, char *err, size_t errlen)
{
	struct mtastsd_control *ctl;
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control_socket: path too long");
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			return NULL;
		}
		unlink(path);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, mode) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->base = base;
	ctl->eng = eng;
	memcpy(ctl->path, path, strlen(path) + 1);
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	ctl->listener = evconnlistener_new(base, ctl_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ctl->listener == NULL) {
		close(fd);
		free(ctl);
		snprintf(err, errlen, "cannot listen on %s", path);
		return NULL;
	}
	return ctl;
}

void
mtastsd_control_set_store(struct mtastsd_control *ctl,
    const struct mtasts_store_ops *ops, void *impl)
{
	ctl->sops = ops;
	ctl->simpl = impl;
}

void
mtastsd_control_free(struct mtastsd_control *ctl)
{
	if (ctl == NULL)
		return;
	evconnlistener_free(ctl->listener);
	unlink(ctl->path);
	free(ctl);
}
