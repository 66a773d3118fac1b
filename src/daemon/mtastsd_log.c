/* SPDX-License-Identifier: MIT */
/* mtastsd_log.c: the daemon's logger (see mtastsd_log.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mtastsd_log.h"

static int log_level = MTASTSD_LOG_INFO;
static int log_syslog;

static const char *const level_names[] = {"err", "warning", "notice", "info",
    "debug"};
static const int level_prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
    LOG_DEBUG};

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
	{"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	{"mail", LOG_MAIL}, {"user", LOG_USER},
};

int
mtastsd_log_open(const char *sink, const char *ident)
{
	size_t i;
	const char *fac;

	if (strcmp(sink, "stderr") == 0) {
		if (log_syslog)
			closelog();
		log_syslog = 0;
		return 0;
	}
	if (strncmp(sink, "syslog", 6) != 0)
		return -1;
	if (sink[6] == '\0')
		fac = "mail";
	else if (sink[6] == ':')
		fac = sink + 7;
	else
		return -1;
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(fac, facilities[i].name) == 0) {
			if (log_syslog)
				closelog();
			openlog(ident, LOG_PID | LOG_NDELAY,
			    facilities[i].facility);
			log_syslog = 1;
			return 0;
		}
	}
	return -1;
}

int
mtastsd_log_level_parse(const char *s)
{
	int i;

	for (i = 0; i <= MTASTSD_LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
mtastsd_log_level_name(int level)
{
	if (level < 0 || level > MTASTSD_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void
mtastsd_log_set_level(int level)
{
	log_level = level;
}

int
mtastsd_log_enabled(int level)
{
	return level <= log_level;
}

void
mtastsd_vlog(int level, const char *fmt, va_list ap)
{
	char msg[1024];
	char ts[32];
	struct timespec now;
	struct tm tm;
	size_t i;

	if (level > log_level)
		return;
	if (level < 0)
		level = 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Never let a peer's bytes forge log lines. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (log_syslog) {
		syslog(level_prio[level], "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ mtastsd: %s: %s\n", ts,
	    now.tv_nsec / 1000000, level_names[level], msg);
}

void
mtastsd_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtastsd_vlog(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mtastsd_vlog(MTASTSD_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
panic(const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mtastsd_log(MTASTSD_LOG_ERR, "panic: %s", msg);
	abort();
}
