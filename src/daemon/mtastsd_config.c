/* SPDX-License-Identifier: MIT */
/* mtastsd_config.c: settings tables and the INI loader. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "mtastsd_config.h"
#include "util/confval.h"

struct str_row {
	const char *key;
	const char *def;
	size_t off;
	const char *doc;
};

struct num_row {
	const char *key;
	unsigned long long def;
	size_t off;
	unsigned long long min;
	unsigned long long max;
	const char *doc;
};

struct bool_row {
	const char *key;
	bool def;
	size_t off;	/* in struct mtastsd_zone */
	const char *doc;
};

#define C(f) offsetof(struct mtastsd_config, f)
#define Z(f) offsetof(struct mtastsd_zone, f)
#define DAY 86400ULL

static const struct str_row str_table[] = {
	{"cache", "sqlite:/var/lib/mtasts/cache.db", C(cache),
	    "persistent store: memory, sqlite:PATH, redis://..., "
	    "postgresql://..."},
	{"ca_file", "", C(ca_file), "PEM trust store; empty: system default"},
	{"control_socket", "/run/mtastsd/control.sock", C(control_socket),
	    "Unix socket for operator commands; empty: none"},
	{"dns_resolver", "", C(dns_resolver),
	    "IP[@PORT] to send every DNS query to; empty: system resolver"},
	{"group", "", C(group), "group to switch to after binding"},
	{"log", "stderr", C(log), "stderr, syslog or syslog:FACILITY"},
	{"log_level", "info", C(log_level),
	    "err, warning, notice, info or debug"},
	{"temp_failure_reply", "notfound", C(temp_failure_reply),
	    "answer when discovery fails temporarily with nothing cached: "
	    "notfound or temp"},
	{"unix_group", "", C(unix_group), "group of Unix listening sockets"},
	{"unix_owner", "", C(unix_owner), "owner of Unix listening sockets"},
	{"user", "", C(user), "user to switch to after binding"},
};

static const struct num_row time_table[] = {
	{"backoff_max", 3600, C(backoff_max), 300, 7 * DAY,
	    "longest back-off after failed policy fetches"},
	{"backoff_min", 300, C(backoff_min), 300, DAY,
	    "first back-off after a failed policy fetch (at least 5m)"},
	{"cache_idle_evict", 30 * DAY, C(cache_idle_evict), 60, 400 * DAY,
	    "drop cache entries not used for this long"},
	{"connect_timeout", 10, C(connect_timeout), 1, 300,
	    "HTTPS connect timeout"},
	{"dns_timeout", 5, C(dns_timeout), 1, 120, "timeout per DNS query"},
	{"drain_timeout", 10, C(drain_timeout), 0, 600,
	    "on SIGTERM, longest wait for requests in flight"},
	{"fetch_timeout", 60, C(fetch_timeout), 1, 600,
	    "whole HTTPS policy fetch timeout"},
	{"idle_timeout", 300, C(idle_timeout), 1, DAY,
	    "close client connections idle this long"},
	{"lookup_timeout", 15, C(lookup_timeout), 1, 600,
	    "longest wait for a first discovery before answering"},
	{"read_timeout", 30, C(read_timeout), 1, 3600,
	    "longest time to receive a started request"},
	{"refetch_interval", DAY, C(refetch_interval), 3600, 365 * DAY,
	    "refetch a policy this long after its fetch even if the id "
	    "did not change"},
	{"refresh_jitter", 3600, C(refresh_jitter), 0, 7 * DAY,
	    "random spread added to proactive refreshes"},
	{"refresh_margin", 7200, C(refresh_margin), 60, 30 * DAY,
	    "refresh cached policies this long before they expire"},
	{"txt_check_interval", 60, C(txt_check_interval), 1, DAY,
	    "check a domain's TXT record at most this often"},
};

static const struct num_row size_table[] = {
	{"max_policy_keep", 4096, C(max_policy_keep), 256, 65536,
	    "largest policy text kept in memory for policy_string"},
	{"max_request_size", 1024, C(max_request_size), 64, 100000,
	    "largest socketmap request (netstring payload)"},
};

static const struct num_row count_table[] = {
	{"cache_max_entries", 1000000, C(cache_max_entries), 16, 100000000,
	    "most policies kept in memory (least recently used go first)"},
	{"max_connections", 4096, C(max_connections), 1, 1000000,
	    "most client connections at once"},
	{"max_fetches", 64, C(max_fetches), 1, 10000,
	    "most HTTPS policy fetches at once"},
	{"refresh_concurrency", 8, C(refresh_concurrency), 1, 1000,
	    "most proactive refreshes at once"},
};

static const struct num_row octal_table[] = {
	{"control_mode", 0600, C(control_mode), 0, 0777,
	    "permissions of the control socket (octal)"},
	{"unix_mode", 0666, C(unix_mode), 0, 0777,
	    "permissions of Unix listening sockets (octal)"},
};

static const struct str_row list_table[] = {
	{"listen", "inet:127.0.0.1:8461", C(listen),
	    "inet:HOST:PORT or unix:PATH (repeatable)"},
};

/* Global defaults for zones; also the keys of a [zone NAME] section. */
static const struct bool_row zone_table[] = {
	{"require_sni", true, Z(require_sni),
	    "add servername=hostname (needs Postfix 3.4 or later)"},
	{"strict_testing", false, Z(strict_testing),
	    "treat testing policies as enforce"},
	{"tlsrpt_attributes", false, Z(tlsrpt_attributes),
	    "add policy_* attributes (needs Postfix 3.10 or later)"},
};

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

static const struct {
	const struct num_row *rows;
	size_t n;
	int kind;	/* 0 time, 1 size, 2 count, 3 octal */
} num_tables[] = {
	{time_table, NROWS(time_table), 0},
	{size_table, NROWS(size_table), 1},
	{count_table, NROWS(count_table), 2},
	{octal_table, NROWS(octal_table), 3},
};

static int
errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char **
str_field(struct mtastsd_config *c, size_t off)
{
	return (char **)((char *)c + off);
}

static unsigned *
num_field(struct mtastsd_config *c, size_t off)
{
	return (unsigned *)((char *)c + off);
}

static bool *
zone_field(struct mtastsd_zone *z, size_t off)
{
	return (bool *)((char *)z + off);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		fputs("mtastsd: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

void
mtastsd_config_init(struct mtastsd_config *c)
{
	size_t i, t;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NROWS(str_table); i++)
		*str_field(c, str_table[i].off) = xstrdup(str_table[i].def);
	for (t = 0; t < NROWS(num_tables); t++)
		for (i = 0; i < num_tables[t].n; i++)
			*num_field(c, num_tables[t].rows[i].off) =
			    (unsigned)num_tables[t].rows[i].def;
	for (i = 0; i < NROWS(zone_table); i++)
		*zone_field(&c->defaults, zone_table[i].off) =
		    zone_table[i].def;
	c->listen[0] = xstrdup(list_table[0].def);
	c->nlisten = 1;
}

void
mtastsd_config_free(struct mtastsd_config *c)
{
	size_t i;

	for (i = 0; i < NROWS(str_table); i++)
		free(*str_field(c, str_table[i].off));
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	for (i = 0; i < c->noverrides; i++) {
		free(c->overrides[i].mx);
		free(c->overrides[i].reply);
	}
	free(c->overrides);
	free(c->zones);
	memset(c, 0, sizeof(*c));
}

int
mtastsd_parse_time(const char *s, unsigned long long *out)
{
	return mtasts__conf_time(s, out);
}

int
mtastsd_parse_size(const char *s, unsigned long long *out)
{
	return mtasts__conf_size(s, out);
}

static int
check_listen(const char *v)
{
	const char *colon;

	if (strncmp(v, "unix:", 5) == 0)
		return v[5] == '/' && strlen(v) < 5 + 108 ? 0 : -1;
	if (strncmp(v, "inet:", 5) != 0)
		return -1;
	colon = strrchr(v + 5, ':');
	if (colon == NULL || colon == v + 5 || colon[1] == '\0')
		return -1;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
		    strtoul(colon + 1, NULL, 10) <= 65535
	    ? 0
	    : -1;
}

static int
check_string(const char *key, const char *v, char *err, size_t errlen)
{
	if (strcmp(key, "temp_failure_reply") == 0 &&
	    strcmp(v, "notfound") != 0 && strcmp(v, "temp") != 0)
		return errf(err, errlen, "%s: want notfound or temp", key);
	if (strcmp(key, "log_level") == 0 && strcmp(v, "err") != 0 &&
	    strcmp(v, "warning") != 0 && strcmp(v, "notice") != 0 &&
	    strcmp(v, "info") != 0 && strcmp(v, "debug") != 0)
		return errf(err, errlen, "%s: unknown level \"%s\"", key, v);
	if (strcmp(key, "log") == 0 && strcmp(v, "stderr") != 0 &&
	    strncmp(v, "syslog", 6) != 0)
		return errf(err, errlen, "%s: want stderr or syslog[:FACILITY]",
		    key);
	if (strcmp(key, "cache") == 0 && strcmp(v, "memory") != 0 &&
	    strncmp(v, "sqlite:", 7) != 0 && strncmp(v, "redis://", 8) != 0 &&
	    strncmp(v, "redis+unix:", 11) != 0 &&
	    strncmp(v, "postgresql://", 13) != 0 &&
	    strncmp(v, "postgres://", 11) != 0)
		return errf(err, errlen,
		    "%s: want memory, sqlite:PATH, redis://... or "
		    "postgresql://...",
		    key);
	return 0;
}

int
mtastsd_config_set(struct mtastsd_config *c, const char *key,
    const char *value, char *err, size_t errlen)
{
	size_t i, t;
	unsigned long long v;
	const struct num_row *r;
	int rc;

	for (i = 0; i < NROWS(str_table); i++) {
		if (strcmp(key, str_table[i].key) != 0)
			continue;
		if (check_string(key, value, err, errlen) != 0)
			return -1;
		free(*str_field(c, str_table[i].off));
		*str_field(c, str_table[i].off) = xstrdup(value);
		return 0;
	}
	for (t = 0; t < NROWS(num_tables); t++) {
		for (i = 0; i < num_tables[t].n; i++) {
			r = &num_tables[t].rows[i];
			if (strcmp(key, r->key) != 0)
				continue;
			switch (num_tables[t].kind) {
			case 0:
				rc = mtasts__conf_time(value, &v);
				break;
			case 1:
				rc = mtasts__conf_size(value, &v);
				break;
			case 3:
				rc = mtasts__conf_octal(value, &v);
				break;
			default:
				rc = mtasts__conf_count(value, &v);
				break;
			}
			if (rc != 0)
				return errf(err, errlen, "%s: bad value \"%s\"",
				    key, value);
			if (v < r->min || v > r->max)
				return errf(err, errlen,
				    num_tables[t].kind == 3
					? "%s: %s out of range %llo..%llo"
					: "%s: %s out of range %llu..%llu",
				    key, value, r->min, r->max);
			*num_field(c, r->off) = (unsigned)v;
			return 0;
		}
	}
	for (i = 0; i < NROWS(zone_table); i++) {
		if (strcmp(key, zone_table[i].key) != 0)
			continue;
		if (mtasts__conf_bool(value, zone_field(&c->defaults,
		    zone_table[i].off)) != 0)
			return errf(err, errlen, "%s: want yes or no", key);
		return 0;
	}
	if (strcmp(key, "listen") == 0) {
		if (check_listen(value) != 0)
			return errf(err, errlen,
			    "listen: want inet:HOST:PORT or unix:/PATH, got "
			    "\"%s\"",
			    value);
		if (!c->listen_from_source) {
			for (i = 0; i < c->nlisten; i++)
				free(c->listen[i]);
			c->nlisten = 0;
			c->listen_from_source = true;
		}
		if (c->nlisten == MTASTSD_LISTEN_MAX)
			return errf(err, errlen, "listen: more than %d",
			    MTASTSD_LISTEN_MAX);
		c->listen[c->nlisten++] = xstrdup(value);
		return 0;
	}
	return errf(err, errlen, "unknown key \"%s\"", key);
}

int
mtastsd_config_set_option(struct mtastsd_config *c, const char *kv,
    char *err, size_t errlen)
{
	char key[64];
	const char *eq = strchr(kv, '=');
	size_t n;

	if (eq == NULL)
		return errf(err, errlen, "-o %s: want key=value", kv);
	n = (size_t)(eq - kv);
	while (n > 0 && kv[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof(key))
		return errf(err, errlen, "-o %s: bad key", kv);
	memcpy(key, kv, n);
	key[n] = '\0';
	eq++;
	while (*eq == ' ')
		eq++;
	return mtastsd_config_set(c, key, eq, err, errlen);
}

/* ---- the INI loader ---------------------------------------------------- */

struct load_ctx {
	struct mtastsd_config *c;
	char err[MTASTSD_ERRLEN];
	bool failed;
	bool listen_seen;
};

static struct mtastsd_zone *
zone_get(struct mtastsd_config *c, const char *name)
{
	size_t i;
	struct mtastsd_zone *z;

	for (i = 0; i < c->nzones; i++)
		if (strcmp(c->zones[i].name, name) == 0)
			return &c->zones[i];
	if (c->nzones == MTASTSD_ZONE_MAX || strlen(name) > MTASTSD_ZONE_NAME_MAX)
		return NULL;
	z = realloc(c->zones, (c->nzones + 1) * sizeof(*z));
	if (z == NULL)
		return NULL;
	c->zones = z;
	z = &c->zones[c->nzones++];
	*z = c->defaults;
	snprintf(z->name, sizeof(z->name), "%s", name);
	return z;
}

static int
normalise_domain(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), i;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return mtasts_domain_valid(out, n, false, NULL) ? 0 : -1;
}

static struct mtastsd_override *
override_get(struct mtastsd_config *c, const char *domain)
{
	size_t i;
	struct mtastsd_override *o;
	char d[254];

	if (normalise_domain(domain, d, sizeof(d)) != 0)
		return NULL;
	for (i = 0; i < c->noverrides; i++)
		if (strcmp(c->overrides[i].domain, d) == 0)
			return &c->overrides[i];
	if (c->noverrides == MTASTSD_OVERRIDE_MAX)
		return NULL;
	o = realloc(c->overrides, (c->noverrides + 1) * sizeof(*o));
	if (o == NULL)
		return NULL;
	c->overrides = o;
	o = &c->overrides[c->noverrides++];
	memset(o, 0, sizeof(*o));
	memcpy(o->domain, d, sizeof(d));
	return o;
}

static bool
reply_valid(const char *r)
{
	static const char *const verbs[] = {"OK ", "NOTFOUND ", "TEMP ",
	    "PERM "};
	size_t i;
	const unsigned char *p;

	for (p = (const unsigned char *)r; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	for (i = 0; i < 4; i++)
		if (strncmp(r, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

static int
set_override(struct mtastsd_override *o, const char *key, const char *value,
    char *err, size_t errlen)
{
	char *n;
	size_t len;

	if (strcmp(key, "mode") == 0) {
		if (strcmp(value, "enforce") == 0)
			o->mode = MTASTS_MODE_ENFORCE;
		else if (strcmp(value, "testing") == 0)
			o->mode = MTASTS_MODE_TESTING;
		else if (strcmp(value, "none") == 0)
			o->mode = MTASTS_MODE_NONE;
		else
			return errf(err, errlen,
			    "mode: want enforce, testing or none");
		o->mode_set = true;
		return 0;
	}
	if (strcmp(key, "mx") == 0) {
		len = strlen(value);
		if (!mtasts_domain_valid(value, len, true, NULL))
			return errf(err, errlen, "mx: \"%s\" is not a valid "
			    "pattern", value);
		if (o->mx != NULL && strlen(o->mx) + len + 2 > 8192)
			return errf(err, errlen, "mx: too many patterns");
		n = realloc(o->mx, (o->mx ? strlen(o->mx) + 1 : 0) + len + 1);
		if (n == NULL)
			return errf(err, errlen, "out of memory");
		if (o->mx == NULL)
			n[0] = '\0';
		else
			strncat(n, " ", 2);
		strncat(n, value, len);
		o->mx = n;
		return 0;
	}
	if (strcmp(key, "reply") == 0) {
		/* inih strips trailing blanks: "NOTFOUND" means "NOTFOUND ". */
		if (strcmp(value, "NOTFOUND") == 0)
			value = "NOTFOUND ";
		if (!reply_valid(value) || strlen(value) > 4096)
			return errf(err, errlen,
			    "reply: want OK, NOTFOUND, TEMP or PERM followed "
			    "by a space and printable text");
		free(o->reply);
		o->reply = xstrdup(value);
		o->kind = MTASTSD_OVERRIDE_REPLY;
		return 0;
	}
	return errf(err, errlen, "unknown override key \"%s\"", key);
}

static int
config_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct load_ctx *lc = user;
	struct mtastsd_zone *z;
	struct mtastsd_override *o;
	char err[MTASTSD_ERRLEN];
	size_t i;

	if (lc->failed)
		return 1;
	err[0] = '\0';
	if (name == NULL) {
		/* Section start (INI_CALL_HANDLER_ON_NEW_SECTION builds). */
		return 1;
	}
	if (section[0] == '\0') {
		if (strcmp(name, "listen") == 0 && !lc->listen_seen) {
			lc->listen_seen = true;
			lc->c->listen_from_source = false;
		}
		if (mtastsd_config_set(lc->c, name, value, err,
		    sizeof(err)) == 0)
			return 1;
	} else if (strncmp(section, "zone ", 5) == 0) {
		z = zone_get(lc->c, section + 5);
		if (z == NULL) {
			snprintf(err, sizeof(err), "bad zone \"%s\"",
			    section + 5);
		} else {
			for (i = 0; i < NROWS(zone_table); i++) {
				if (strcmp(name, zone_table[i].key) != 0)
					continue;
				if (mtasts__conf_bool(value, zone_field(z,
				    zone_table[i].off)) == 0)
					return 1;
				snprintf(err, sizeof(err),
				    "%s: want yes or no", name);
				break;
			}
			if (i == NROWS(zone_table))
				snprintf(err, sizeof(err),
				    "unknown zone key \"%s\"", name);
		}
	} else if (strncmp(section, "override ", 9) == 0) {
		o = override_get(lc->c, section + 9);
		if (o == NULL)
			snprintf(err, sizeof(err),
			    "override: \"%s\" is not a valid domain",
			    section + 9);
		else if (set_override(o, name, value, err, sizeof(err)) == 0)
			return 1;
	} else {
		snprintf(err, sizeof(err), "unknown section [%s]", section);
	}
	snprintf(lc->err, sizeof(lc->err), "%s", err);
	lc->failed = true;
	return 0;
}

static int
override_cmp(const void *a, const void *b)
{
	const struct mtastsd_override *x = a, *y = b;

	return strcmp(x->domain, y->domain);
}

int
mtastsd_config_load(struct mtastsd_config *c, const char *path,
    bool missing_ok, char *err, size_t errlen)
{
	struct load_ctx lc;
	FILE *f;
	int rc;
	size_t i;

	memset(&lc, 0, sizeof(lc));
	lc.c = c;
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && missing_ok)
			return 1;
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	/* Zones copy the defaults at their first mention: apply global
	   keys first (inih reports keys in file order). */
	rc = ini_parse_file(f, config_ini_handler, &lc);
	fclose(f);
	if (rc < 0)
		return errf(err, errlen, "%s: cannot read", path);
	if (rc > 0 || lc.failed)
		return errf(err, errlen, "%s:%d: %s", path, rc,
		    lc.failed ? lc.err : "syntax error");
	for (i = 0; i < c->noverrides; i++) {
		struct mtastsd_override *o = &c->overrides[i];

		if (o->kind == MTASTSD_OVERRIDE_POLICY && !o->mode_set)
			return errf(err, errlen,
			    "%s: [override %s]: needs mode or reply", path,
			    o->domain);
		if (o->kind == MTASTSD_OVERRIDE_POLICY &&
		    o->mode != MTASTS_MODE_NONE && o->mx == NULL)
			return errf(err, errlen,
			    "%s: [override %s]: mode %s needs mx", path,
			    o->domain,
			    o->mode == MTASTS_MODE_ENFORCE ? "enforce"
							   : "testing");
	}
	if (c->noverrides > 1)
		qsort(c->overrides, c->noverrides, sizeof(*c->overrides),
		    override_cmp);
	return 0;
}

int
mtastsd_config_finish(struct mtastsd_config *c, char *err, size_t errlen)
{
	if (c->backoff_max < c->backoff_min)
		return errf(err, errlen, "backoff_max is below backoff_min");
	if (c->nlisten == 0)
		return errf(err, errlen, "no listen address");
	return 0;
}

const struct mtastsd_zone *
mtastsd_config_zone(const struct mtastsd_config *c, const char *name,
    size_t len)
{
	size_t i;

	for (i = 0; i < c->nzones; i++)
		if (strlen(c->zones[i].name) == len &&
		    memcmp(c->zones[i].name, name, len) == 0)
			return &c->zones[i];
	return &c->defaults;
}

const struct mtastsd_override *
mtastsd_config_override(const struct mtastsd_config *c, const char *domain)
{
	struct mtastsd_override key;

	if (c->noverrides == 0 || strlen(domain) >= sizeof(key.domain))
		return NULL;
	snprintf(key.domain, sizeof(key.domain), "%s", domain);
	return bsearch(&key, c->overrides, c->noverrides,
	    sizeof(*c->overrides), override_cmp);
}

static void
dump_num(FILE *f, const char *key, unsigned v, int kind)
{
	static const struct {
		unsigned div;
		char unit;
	} tu[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	size_t i;

	if (kind == 3) {
		fprintf(f, "%s = %04o\n", key, v);
		return;
	}
	if (kind == 0) {
		for (i = 0; i < 4; i++) {
			if (v != 0 && v % tu[i].div == 0) {
				fprintf(f, "%s = %u%c\n", key, v / tu[i].div,
				    tu[i].unit);
				return;
			}
		}
		fprintf(f, "%s = %us\n", key, v);
		return;
	}
	fprintf(f, "%s = %u\n", key, v);
}

struct dump_row {
	const char *key;
	int type;	/* 0 str, 1 num, 2 bool, 3 list */
	size_t t, i;
};

static int
dump_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dump_row *)a)->key,
	    ((const struct dump_row *)b)->key);
}

void
mtastsd_config_dump(const struct mtastsd_config *c, FILE *f)
{
	struct dump_row rows[64];
	size_t n = 0, i, t, j;
	struct mtastsd_config *m = (struct mtastsd_config *)c;

	for (i = 0; i < NROWS(str_table); i++)
		rows[n++] = (struct dump_row){str_table[i].key, 0, 0, i};
	for (t = 0; t < NROWS(num_tables); t++)
		for (i = 0; i < num_tables[t].n; i++)
			rows[n++] = (struct dump_row){
			    num_tables[t].rows[i].key, 1, t, i};
	for (i = 0; i < NROWS(zone_table); i++)
		rows[n++] = (struct dump_row){zone_table[i].key, 2, 0, i};
	rows[n++] = (struct dump_row){list_table[0].key, 3, 0, 0};
	qsort(rows, n, sizeof(rows[0]), dump_row_cmp);
	for (j = 0; j < n; j++) {
		struct dump_row *r = &rows[j];

		switch (r->type) {
		case 0:
			fprintf(f, "%s = %s\n", r->key,
			    *str_field(m, str_table[r->i].off));
			break;
		case 1:
			dump_num(f, r->key,
			    *num_field(m, num_tables[r->t].rows[r->i].off),
			    num_tables[r->t].kind);
			break;
		case 2:
			fprintf(f, "%s = %s\n", r->key,
			    *zone_field(&m->defaults, zone_table[r->i].off)
				? "yes"
				: "no");
			break;
		default:
			for (i = 0; i < c->nlisten; i++)
				fprintf(f, "%s = %s\n", r->key, c->listen[i]);
			break;
		}
	}
	for (i = 0; i < c->nzones; i++) {
		fprintf(f, "\n[zone %s]\n", c->zones[i].name);
		for (j = 0; j < NROWS(zone_table); j++)
			fprintf(f, "%s = %s\n", zone_table[j].key,
			    *zone_field(&m->zones[i], zone_table[j].off)
				? "yes"
				: "no");
	}
	for (i = 0; i < c->noverrides; i++) {
		const struct mtastsd_override *o = &c->overrides[i];
		const char *p, *sp;

		fprintf(f, "\n[override %s]\n", o->domain);
		if (o->kind == MTASTSD_OVERRIDE_REPLY) {
			fprintf(f, "reply = %s\n", o->reply);
			continue;
		}
		fprintf(f, "mode = %s\n", mtasts_mode_name(o->mode));
		for (p = o->mx; p != NULL && *p != '\0';) {
			sp = strchr(p, ' ');
			fprintf(f, "mx = %.*s\n",
			    (int)(sp ? (size_t)(sp - p) : strlen(p)), p);
			p = sp ? sp + 1 : NULL;
		}
	}
}
