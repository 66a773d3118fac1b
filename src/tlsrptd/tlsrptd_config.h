/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	tlsrptd_config 3h (tlsrptd)
 * SUMMARY
 *	settings of mtasts-tlsrptd: one table, one INI loader
 * DESCRIPTION
 *	Every setting is one row of a static table {key, default, offset,
 *	min, max, doc}; the loader (inih) walks it, rejects unknown keys,
 *	enforces bounds and units (30s, 5m, 2h, 1d, 1w) and booleans
 *	(yes/no). "-o key=value" goes through the same setter;
 *	--dump-config prints the table with defaults and effective values.
 *	doc/man/mtasts-tlsrptd.conf.5 documents the same keys (a unit test
 *	checks that they agree).
 */
#ifndef TLSRPTD_CONFIG_H
#define TLSRPTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TLSRPTD_DEFAULT_CONFIG "/etc/mtasts/mtasts-tlsrptd.conf"
#define TLSRPTD_ERRLEN 512

struct tlsrptd_config {
	/* strings (owned, never NULL after init) */
	char *store;
	char *datagram_socket;
	char *datagram_socket_group;
	char *datagram_socket_mode;
	unsigned datagram_mode;	/* datagram_socket_mode, parsed */
	char *log_file;
	char *organization_name;
	char *contact_info;
	char *submitter;
	char *sending_ip;
	char *mail_from;
	char *mail_method;
	char *sendmail_path;
	char *smtp_url;
	char *smtp_user;
	char *smtp_password;
	char *dns_resolver;
	char *ca_file;
	char *log;
	char *log_level;
	char *policy_store;
	/* booleans */
	bool https_verify;
	bool smtp_starttls;
	bool send_reports;
	bool log_follow;
	bool count_plaintext;
	/* times, seconds */
	unsigned close_delay;
	unsigned send_delay;
	unsigned send_spread;
	unsigned retry_min;
	unsigned retry_max;
	unsigned give_up;
	unsigned suppress_period;
	unsigned report_window;
	unsigned http_timeout;
	unsigned connect_timeout;
	unsigned dns_timeout;
	unsigned scan_interval;
	unsigned flush_interval;
	unsigned drain_timeout;
	unsigned policy_reload;
	/* counts */
	unsigned suppress_after;
	unsigned jitter_percent;
	unsigned max_details;
	unsigned max_per_pass;
};

/* Fill c with the defaults (strings allocated). */
void tlsrptd_config_init(struct tlsrptd_config *c);

/* Free the strings. */
void tlsrptd_config_free(struct tlsrptd_config *c);

/* Set one key from text. Returns 0, or -1 with err filled. */
int tlsrptd_config_set(struct tlsrptd_config *c, const char *key,
		       const char *value, char *err, size_t errlen);

/* Load an INI file (keys outside any section or in [tlsrptd]).
 * missing_ok: a missing file is not an error. Returns 0 or -1. */
int tlsrptd_config_load(struct tlsrptd_config *c, const char *path,
			bool missing_ok, char *err, size_t errlen);

/* Derive defaults that depend on other keys (submitter from
 * contact_info, mail_from) and check cross-key rules. Returns 0 or -1. */
int tlsrptd_config_finish(struct tlsrptd_config *c, char *err,
			  size_t errlen);

/* Print "key = value  # default ...; doc" for every key. */
void tlsrptd_config_dump(const struct tlsrptd_config *c, FILE *out);

/* The i-th key name (NULL past the end), for documentation checks. */
const char *tlsrptd_config_key(size_t i);

#endif
