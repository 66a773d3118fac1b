/* SPDX-License-Identifier: MIT */
/*
 * mtastsd.c: main() of the MTA-STS policy daemon for Postfix.
 *
 * Order of business: read the configuration, open the log, create the
 * event loop, discovery, engine, listeners and control socket (as
 * root), drop privileges, open the persistent store, then serve until
 * SIGTERM. SIGHUP reloads the configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts/discover.h"
#include "mtasts/store.h"
#include "mtasts/version.h"
#include "mtastsd_config.h"
#include "mtastsd_control.h"
#include "mtastsd_engine.h"
#include "mtastsd_log.h"
#include "mtastsd_privs.h"
#include "mtastsd_server.h"

#define OPTIONS_MAX 256

enum opt_id {
	OPT_CHECK = 'n',
	OPT_CONFIG = 'c',
	OPT_DEFAULTS = 'd',
	OPT_DUMP = 1000,
	OPT_FOREGROUND = 'f',
	OPT_HELP = 'h',
	OPT_OPTION = 'o',
	OPT_VERSION = 'V'
};

/* Sorted by long name; each is documented in mtastsd(8). */
static const struct option long_options[] = {
	{"check-config", no_argument, NULL, OPT_CHECK},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"defaults", no_argument, NULL, OPT_DEFAULTS},
	{"dump-config", no_argument, NULL, OPT_DUMP},
	{"foreground", no_argument, NULL, OPT_FOREGROUND},
	{"help", no_argument, NULL, OPT_HELP},
	{"option", required_argument, NULL, OPT_OPTION},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

struct daemon {
	struct event_base *base;
	struct mtastsd_config *cfg;
	const char *config_path;
	bool config_explicit;
	const char *options[OPTIONS_MAX];
	size_t noptions;
	struct mtasts_discovery *disc;
	struct mtasts_store *store;
	struct mtastsd_engine *eng;
	struct mtastsd_server *srv;
	struct mtastsd_control *ctl;
	struct event *tick;
	struct event *drain_timer;
	bool draining;
};

static void
usage(FILE *f)
{
	fputs("usage: mtastsd [-c FILE] [-o KEY=VALUE]... [-f]\n"
	      "       mtastsd [-c FILE] [-o KEY=VALUE]... --dump-config [-d]\n"
	      "       mtastsd [-c FILE] [-o KEY=VALUE]... -n\n"
	      "  -c, --config FILE    configuration file (default "
	      MTASTSD_DEFAULT_CONFIG ")\n"
	      "  -o, --option K=V     override one setting (repeatable)\n"
	      "  -f, --foreground     run in the foreground (the default)\n"
	      "  -n, --check-config   check the configuration and exit\n"
	      "      --dump-config    print every setting and exit\n"
	      "  -d, --defaults       with --dump-config: defaults only\n"
	      "  -V, --version        print the version and exit\n",
	    f);
}

/* Build a configuration from the file and the -o options. */
static struct mtastsd_config *
load_config(struct daemon *d, char *err, size_t errlen)
{
	struct mtastsd_config *cfg = calloc(1, sizeof(*cfg));
	bool seen_listen = false;
	size_t i;

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mtastsd_config_init(cfg);
	if (mtastsd_config_load(cfg, d->config_path, !d->config_explicit, err,
	    errlen) < 0)
		goto fail;
	for (i = 0; i < d->noptions; i++) {
		/* The first -o listen replaces the file's list. */
		if (strncmp(d->options[i], "listen", 6) == 0 && !seen_listen) {
			cfg->listen_from_source = false;
			seen_listen = true;
		}
		if (mtastsd_config_set_option(cfg, d->options[i], err,
		    errlen) != 0)
			goto fail;
	}
	if (mtastsd_config_finish(cfg, err, errlen) != 0)
		goto fail;
	return cfg;
fail:
	mtastsd_config_free(cfg);
	free(cfg);
	return NULL;
}

static void
free_config(struct mtastsd_config *cfg)
{
	if (cfg == NULL)
		return;
	mtastsd_config_free(cfg);
	free(cfg);
}

/* ---- adapters ----------------------------------------------------------- */

static int
disc_start(void *impl, const char *domain, const char *cached_id,
    mtasts_discover_cb cb, void *arg)
{
	return mtasts_discover(impl, domain, cached_id, cb, arg, NULL);
}

static const struct mtastsd_disc_ops disc_ops = {.start = disc_start};

static int
st_get(void *impl, const char *domain, mtasts_store_get_cb cb, void *arg)
{
	return mtasts_store_get(impl, domain, cb, arg);
}

static int
st_put(void *impl, const struct mtasts_store_record *rec,
    mtasts_store_done_cb cb, void *arg)
{
	return mtasts_store_put(impl, rec, cb, arg);
}

static int
st_del(void *impl, const char *domain, mtasts_store_done_cb cb, void *arg)
{
	return mtasts_store_del(impl, domain, cb, arg);
}

static int
st_scan(void *impl, mtasts_store_each_cb each, mtasts_store_done_cb done,
    void *arg)
{
	return mtasts_store_scan(impl, each, done, arg);
}

static const struct mtasts_store_ops store_ops = {
	.scheme = "daemon-adapter",
	.get = st_get,
	.put = st_put,
	.del = st_del,
	.scan = st_scan,
};

static void
store_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	mtastsd_log(prio <= LOG_ERR       ? MTASTSD_LOG_ERR
		: prio == LOG_WARNING ? MTASTSD_LOG_WARNING
		: prio == LOG_NOTICE  ? MTASTSD_LOG_NOTICE
				      : MTASTSD_LOG_INFO,
	    "cache store: %s", msg);
}

static int64_t
real_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

/* ---- signals and timers ------------------------------------------------- */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	mtastsd_engine_tick(d->eng);
}

static void
apply_log(const struct mtastsd_config *cfg)
{
	if (mtastsd_log_open(cfg->log, "mtastsd") != 0)
		log_err("log %s: unknown sink; keeping the previous one",
		    cfg->log);
	mtastsd_log_set_level(mtastsd_log_level_parse(cfg->log_level));
}

static void
reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct mtastsd_config *cfg, *old = d->cfg;
	char err[MTASTSD_ERRLEN];
	size_t i;

	(void)fd;
	(void)what;
	cfg = load_config(d, err, sizeof(err));
	if (cfg == NULL) {
		log_err("reload failed, keeping the running configuration: %s",
		    err);
		return;
	}
	if (cfg->nlisten != old->nlisten)
		log_warn("reload: listen changes take effect after a restart");
	else
		for (i = 0; i < cfg->nlisten; i++)
			if (strcmp(cfg->listen[i], old->listen[i]) != 0)
				log_warn("reload: listen changes take effect "
					 "after a restart");
	if (strcmp(cfg->cache, old->cache) != 0 ||
	    strcmp(cfg->dns_resolver, old->dns_resolver) != 0 ||
	    strcmp(cfg->ca_file, old->ca_file) != 0 ||
	    strcmp(cfg->user, old->user) != 0)
		log_warn("reload: cache, dns_resolver, ca_file and user "
			 "changes take effect after a restart");
	d->cfg = cfg;
	mtastsd_engine_set_config(d->eng, cfg);
	mtastsd_server_set_config(d->srv, cfg);
	apply_log(cfg);
	free_config(old);
	log_notice("configuration reloaded (%zu zones, %zu overrides)",
	    cfg->nzones, cfg->noverrides);
}

static void
drained(void *arg)
{
	struct daemon *d = arg;

	log_notice("drained: exiting");
	event_base_loopbreak(d->base);
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	log_warn("drain_timeout: %zu clients still connected; exiting",
	    mtastsd_server_conn_count(d->srv));
	event_base_loopbreak(d->base);
}

static void
term_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv;

	(void)what;
	if (d->draining)
		return;
	d->draining = true;
	log_notice("signal %d: draining (%zu clients)", (int)fd,
	    mtastsd_server_conn_count(d->srv));
	tv.tv_sec = d->cfg->drain_timeout;
	tv.tv_usec = 0;
	d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
	if (d->drain_timer != NULL)
		evtimer_add(d->drain_timer, &tv);
	mtastsd_server_drain(d->srv, drained, d);
}

/* ---- main --------------------------------------------------------------- */

static void
start_services(struct daemon *d)
{
	struct mtasts_discovery_options dopt;
	struct mtastsd_engine_options eopt;
	struct mtasts_error merr;
	char err[MTASTSD_ERRLEN];
	const struct mtastsd_config *cfg = d->cfg;
	size_t i;
	int n;

	mtasts_discovery_options_init(&dopt);
	dopt.resolver = cfg->dns_resolver[0] ? cfg->dns_resolver : NULL;
	dopt.ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL;
	dopt.dns_timeout_ms = cfg->dns_timeout * 1000u;
	dopt.connect_timeout_ms = cfg->connect_timeout * 1000u;
	dopt.timeout_ms = cfg->fetch_timeout * 1000u;
	dopt.max_fetches = cfg->max_fetches;
	mtasts_error_clear(&merr);
	if (mtasts_discovery_new(d->base, &dopt, &d->disc, &merr) != MTASTS_OK)
		fatal("discovery: %s", merr.msg);
	memset(&eopt, 0, sizeof(eopt));
	eopt.cfg = cfg;
	eopt.disc = &disc_ops;
	eopt.disc_impl = d->disc;
	eopt.now = real_clock;
	d->eng = mtastsd_engine_new(&eopt);
	d->srv = d->eng ? mtastsd_server_new(d->base, d->eng, cfg) : NULL;
	if (d->srv == NULL)
		fatal("out of memory");
	n = mtastsd_server_adopt_systemd(d->srv, err, sizeof(err));
	if (n < 0)
		fatal("socket activation: %s", err);
	if (n > 0)
		log_info("using %d socket(s) from systemd; listen is ignored",
		    n);
	for (i = 0; n == 0 && i < cfg->nlisten; i++) {
		if (mtastsd_server_listen(d->srv, cfg->listen[i], err,
		    sizeof(err)) != 0)
			fatal("listen: %s", err);
		log_info("listening on %s", cfg->listen[i]);
	}
	if (cfg->control_socket[0] != '\0') {
		d->ctl = mtastsd_control_new(d->base, d->eng,
		    cfg->control_socket, cfg->control_mode, err, sizeof(err));
		if (d->ctl == NULL)
			log_warn("%s; running without a control socket", err);
	}
	if (mtastsd_privs_drop(cfg->user, cfg->group, err, sizeof(err)) != 0)
		fatal("%s", err);
	if (geteuid() == 0)
		log_warn("running as root: set user in mtastsd.conf");
	else if (cfg->user[0] != '\0')
		log_info("running as user %s", cfg->user);
	if (strcmp(cfg->cache, "memory") != 0) {
		mtasts_error_clear(&merr);
		if (mtasts_store_open(d->base, cfg->cache, &d->store, &merr) !=
		    MTASTS_OK) {
			log_err("cache %s: %s; serving from memory only",
			    cfg->cache, merr.msg[0] ? merr.msg
						    : mtasts_strerror(merr.code));
			d->store = NULL;
		} else {
			mtasts_store_set_log(d->store, store_log, NULL);
			mtastsd_engine_set_store(d->eng, &store_ops, d->store);
			if (d->ctl != NULL)
				mtastsd_control_set_store(d->ctl, &store_ops,
				    d->store);
		}
	}
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct event *ev_hup, *ev_term, *ev_int;
	struct timeval one = {1, 0};
	char err[MTASTSD_ERRLEN];
	bool dump = false, defaults = false, check = false;
	int ch;

	memset(&d, 0, sizeof(d));
	d.config_path = MTASTSD_DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:dfhno:V", long_options,
		    NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG:
			d.config_path = optarg;
			d.config_explicit = true;
			break;
		case OPT_OPTION:
			if (d.noptions == OPTIONS_MAX) {
				fprintf(stderr, "mtastsd: too many -o\n");
				return 2;
			}
			d.options[d.noptions++] = optarg;
			break;
		case OPT_DUMP:
			dump = true;
			break;
		case OPT_DEFAULTS:
			defaults = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_FOREGROUND:
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("mtastsd %s\n", MTASTS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (dump && defaults) {
		struct mtastsd_config def;

		mtastsd_config_init(&def);
		mtastsd_config_dump(&def, stdout);
		mtastsd_config_free(&def);
		return 0;
	}
	d.cfg = load_config(&d, err, sizeof(err));
	if (d.cfg == NULL) {
		fprintf(stderr, "mtastsd: %s\n", err);
		return 1;
	}
	if (dump || check) {
		if (dump)
			mtastsd_config_dump(d.cfg, stdout);
		free_config(d.cfg);
		return 0;
	}
	apply_log(d.cfg);
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (d.base == NULL)
		fatal("cannot create the event loop");
	start_services(&d);
	ev_hup = evsignal_new(d.base, SIGHUP, reload_cb, &d);
	ev_term = evsignal_new(d.base, SIGTERM, term_cb, &d);
	ev_int = evsignal_new(d.base, SIGINT, term_cb, &d);
	d.tick = event_new(d.base, -1, EV_PERSIST, tick_cb, &d);
	if (ev_hup == NULL || ev_term == NULL || ev_int == NULL ||
	    d.tick == NULL || evsignal_add(ev_hup, NULL) != 0 ||
	    evsignal_add(ev_term, NULL) != 0 || evsignal_add(ev_int, NULL) != 0)
		fatal("cannot install signal handlers");
	evtimer_add(d.tick, &one);
	log_notice("mtastsd %s started (cache %s%s)", MTASTS_VERSION,
	    d.cfg->cache, d.store == NULL && strcmp(d.cfg->cache, "memory")
		? ", unavailable: memory only"
		: "");
	event_base_dispatch(d.base);
	mtastsd_control_free(d.ctl);
	mtastsd_server_free(d.srv);
	mtasts_discovery_free(d.disc);
	mtasts_store_close(d.store);
	mtastsd_engine_free(d.eng);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(d.tick);
	if (d.drain_timer)
		event_free(d.drain_timer);
	event_base_free(d.base);
	free_config(d.cfg);
	log_notice("stopped");
	return 0;
}
