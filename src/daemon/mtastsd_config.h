/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_config 3h (daemon)
 * SUMMARY
 *	mtastsd.conf: tables of settings, INI loader, -o overrides, dump
 * DESCRIPTION
 *	Every global setting is one row of a static const table per type
 *	(string, boolean, time, size, count, octal mode, list) holding its
 *	key, default, offset in struct mtastsd_config, bounds and a one-line
 *	doc. The loader walks those tables only: unknown keys are rejected
 *	with FILE:LINE, bounds are enforced, times take s/m/h/d/w units and
 *	sizes k/m. "[zone NAME]" sections hold per-socketmap-name settings
 *	(their defaults are the global keys of the same name) and
 *	"[override DOMAIN]" sections hold static answers that win over
 *	discovery. --dump-config prints every key from the same tables.
 */
#ifndef MTASTSD_CONFIG_H
#define MTASTSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MTASTSD_DEFAULT_CONFIG "/etc/mtasts/mtastsd.conf"
#define MTASTSD_LISTEN_MAX 16
#define MTASTSD_ZONE_MAX 64
#define MTASTSD_ZONE_NAME_MAX 63
#define MTASTSD_OVERRIDE_MAX 10000
#define MTASTSD_ERRLEN 512

/* Per socketmap name settings. */
struct mtastsd_zone {
	char name[MTASTSD_ZONE_NAME_MAX + 1];	/* "" for the defaults */
	bool strict_testing;	/* answer testing policies like enforce */
	bool require_sni;	/* add servername=hostname (Postfix >= 3.4) */
	bool tlsrpt_attributes;	/* Postfix >= 3.10 policy_* attributes */
};

enum mtastsd_override_kind {
	MTASTSD_OVERRIDE_POLICY = 0,	/* mode + mx patterns */
	MTASTSD_OVERRIDE_REPLY = 1	/* raw socketmap reply */
};

/* One [override DOMAIN] section. */
struct mtastsd_override {
	char domain[254];		/* lowercase, no trailing dot */
	enum mtastsd_override_kind kind;
	int mode;			/* enum mtasts_mode */
	bool mode_set;
	char *mx;			/* patterns separated by ' ' (owned) */
	char *reply;			/* raw reply (owned) */
};

struct mtastsd_config {
	/* strings (owned, never NULL after init) */
	char *dns_resolver;
	char *ca_file;
	char *cache;
	char *user;
	char *group;
	char *log;
	char *log_level;
	char *control_socket;
	char *unix_owner;
	char *unix_group;
	char *temp_failure_reply;
	/* times, in seconds */
	unsigned idle_timeout;
	unsigned read_timeout;
	unsigned lookup_timeout;
	unsigned dns_timeout;
	unsigned connect_timeout;
	unsigned fetch_timeout;
	unsigned txt_check_interval;
	unsigned refetch_interval;
	unsigned refresh_margin;
	unsigned refresh_jitter;
	unsigned backoff_min;
	unsigned backoff_max;
	unsigned cache_idle_evict;
	unsigned drain_timeout;
	/* sizes, in bytes */
	unsigned max_request_size;
	unsigned max_policy_keep;
	/* counts */
	unsigned max_connections;
	unsigned cache_max_entries;
	unsigned refresh_concurrency;
	unsigned max_fetches;
	/* octal modes */
	unsigned unix_mode;
	unsigned control_mode;
	/* zone defaults (also the "" zone) */
	struct mtastsd_zone defaults;
	/* lists */
	char *listen[MTASTSD_LISTEN_MAX];
	size_t nlisten;
	/* sections */
	struct mtastsd_zone *zones;
	size_t nzones;
	struct mtastsd_override *overrides;	/* sorted by domain */
	size_t noverrides;
	/* loader state */
	bool listen_from_source;
};

/* Fill *c with every default. */
void mtastsd_config_init(struct mtastsd_config *c);

/* Release everything *c owns (not c itself). */
void mtastsd_config_free(struct mtastsd_config *c);

/*
 * Load an INI file over *c. A missing file is accepted when missing_ok
 * (returns 1 then). Returns 0 on success, -1 with "FILE:LINE: reason"
 * in err on any error.
 */
int mtastsd_config_load(struct mtastsd_config *c, const char *path,
    bool missing_ok, char *err, size_t errlen);

/* Apply one "-o key=value" override. 0, or -1 with a reason in err. */
int mtastsd_config_set_option(struct mtastsd_config *c, const char *kv,
    char *err, size_t errlen);

/* Set one global key. 0, or -1 with a reason in err. */
int mtastsd_config_set(struct mtastsd_config *c, const char *key,
    const char *value, char *err, size_t errlen);

/* Checks across keys (after all sources). 0 or -1 with err. */
int mtastsd_config_finish(struct mtastsd_config *c, char *err,
    size_t errlen);

/* Print every key with its value ("key = value"), then sections. */
void mtastsd_config_dump(const struct mtastsd_config *c, FILE *f);

/* Zone for a socketmap name (len bytes); the defaults when none. */
const struct mtastsd_zone *mtastsd_config_zone(
    const struct mtastsd_config *c, const char *name, size_t len);

/* Override for a normalised domain, or NULL. */
const struct mtastsd_override *mtastsd_config_override(
    const struct mtastsd_config *c, const char *domain);

/* "30", "30s", "5m", "2h", "1d", "1w" -> seconds. 0 or -1. */
int mtastsd_parse_time(const char *s, unsigned long long *out);

/* "512", "4k", "1m" -> bytes. 0 or -1. */
int mtastsd_parse_size(const char *s, unsigned long long *out);

#endif
