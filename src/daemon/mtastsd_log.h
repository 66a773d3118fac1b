/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_log 3h (daemon)
 * SUMMARY
 *	the daemon's logger, fatal() and panic()
 * DESCRIPTION
 *	One process-wide logger writing either to standard error (with a
 *	timestamp) or to syslog. Messages below the configured level are
 *	dropped. fatal() is for startup and configuration errors (exit 1),
 *	panic() for broken invariants (abort). Only the daemon uses these:
 *	the library never prints.
 */
#ifndef MTASTSD_LOG_H
#define MTASTSD_LOG_H

#include <stdarg.h>

enum mtastsd_level {
	MTASTSD_LOG_ERR = 0,
	MTASTSD_LOG_WARNING = 1,
	MTASTSD_LOG_NOTICE = 2,
	MTASTSD_LOG_INFO = 3,
	MTASTSD_LOG_DEBUG = 4
};

/*
 * Configure the sink: "stderr", "syslog" or "syslog:FACILITY" (daemon,
 * mail, local0..local7, user). Returns 0, or -1 for an unknown sink.
 */
int mtastsd_log_open(const char *sink, const char *ident);

/* Parse "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int mtastsd_log_level_parse(const char *s);

/* Name of a level. */
const char *mtastsd_log_level_name(int level);

/* Set the threshold (messages with a higher level are dropped). */
void mtastsd_log_set_level(int level);

/* Is a message at level going to be written? */
int mtastsd_log_enabled(int level);

void mtastsd_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mtastsd_vlog(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Log at ERR and exit(1). For startup and configuration errors. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Log at ERR with "panic: " and abort(). For broken invariants. */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_err(...) mtastsd_log(MTASTSD_LOG_ERR, __VA_ARGS__)
#define log_warn(...) mtastsd_log(MTASTSD_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) mtastsd_log(MTASTSD_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) mtastsd_log(MTASTSD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) mtastsd_log(MTASTSD_LOG_DEBUG, __VA_ARGS__)

#endif
