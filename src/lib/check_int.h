/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	check_int.h
 * SUMMARY
 *	internals shared by check.c (gathering) and check_eval.c (judging)
 * DESCRIPTION
 *	check.c fills a struct mtasts__check_job with raw answers (DNS,
 *	HTTPS, probes); mtasts__check_eval() turns a finished job into a
 *	report without any I/O, so the judging is testable on its own.
 */
#ifndef MTASTS_CHECK_INT_H
#define MTASTS_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/check.h"
#include "mtasts/probe.h"

#define CHK_REASON_MAX 256
#define CHK_TXT_MAX 16		/* TXT records kept per name */
#define CHK_ADDR_MAX 16		/* policy host addresses kept */

struct mtasts__chk_txt {
	bool done;
	int code;		/* DNS answer code */
	char reason[CHK_REASON_MAX];
	size_t n;
	char *txt[CHK_TXT_MAX];
	size_t len[CHK_TXT_MAX];
};

struct mtasts__chk_addr {
	struct mtasts_probe_result res;
	bool done;
};

struct mtasts__chk_host {
	char name[254];
	unsigned pref;
	bool addr_done;
	int addr_code;
	char addr_reason[CHK_REASON_MAX];
	size_t naddr;		/* addresses probed */
	size_t naddr_found;	/* addresses in DNS */
	struct mtasts__chk_addr *addr; /* naddr entries */
	bool tlsa_done;
	int tlsa_code;
	size_t tlsa_count;
};

struct mtasts__check_job {
	struct mtasts_checker *chk;
	struct mtasts__check_job *next, *prev;
	char domain[254];
	unsigned pending;
	mtasts_check_cb cb;
	void *arg;
	struct event *done_ev;
	/* previous run */
	bool have_prev;
	char *prev_id, *prev_hash;
	char **prev_mx;
	size_t prev_nmx;
	bool prev_have_mx;
	/* DNS */
	struct mtasts__chk_txt sts, rpt, rpt_old;
	bool mx_done;
	int mx_code;
	bool mx_nx;
	char mx_reason[CHK_REASON_MAX];
	bool mx_null, mx_implicit;
	size_t mx_found;	/* MX records in DNS */
	struct mtasts__chk_host *host;
	size_t nhost;
	bool phost_done;
	int phost_code;
	char phost_reason[CHK_REASON_MAX];
	size_t phost_n;
	char phost_addr[CHK_ADDR_MAX][48];
	/* HTTPS */
	bool fetch_started, fetch_done;
	int fetch_code;
	long fetch_status;
	char fetch_reason[CHK_REASON_MAX];
	char fetch_ctype[128];
	char fetch_location[256];
	char *body;
	size_t body_len;
	bool ptls_started, ptls_done;
	struct mtasts_probe_result ptls;
};

struct mtasts_checker {
	struct event_base *base;
	struct mtasts_checker_options opt;
	char *resolver_copy, *ca_copy;
	const struct mtasts_dns_ops *dns;
	void *dns_impl;
	const struct mtasts_http_ops *http;
	void *http_impl;
	const struct mtasts_probe_ops *probe;
	void *probe_impl;
	struct mtasts_resolver *own_resolver;
	struct mtasts_fetcher *own_fetcher;
	struct mtasts_prober *own_prober;
	struct mtasts__check_job *jobs;
};

/*
 * Judge a finished job: a new report (owned by the caller), or NULL when
 * out of memory.
 */
struct mtasts_check_report *mtasts__check_eval(
    const struct mtasts__check_job *j, const struct mtasts_checker_options *o);

#endif
