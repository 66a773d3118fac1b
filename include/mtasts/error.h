/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	error 3h
 * SUMMARY
 *	one error enum for the whole library, with classes
 * DESCRIPTION
 *	Every fallible libmtasts call returns an int: MTASTS_OK (0) or one
 *	of the negative enum mtasts_err values below. Numbering is
 *	append-only. Each code belongs to one class (not found, temporary,
 *	permanent, invalid input), which is what callers such as the daemon
 *	act on. Details go into an optional caller-owned struct mtasts_error.
 */
#ifndef MTASTS_ERROR_H
#define MTASTS_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mtasts_err {
	MTASTS_OK = 0,
	MTASTS_ENOMEM = -1,	  /* out of memory (temporary) */
	MTASTS_EINVAL = -2,	  /* bad argument from the caller */
	MTASTS_ESYNTAX = -3,	  /* input does not follow the grammar */
	MTASTS_ETOOBIG = -4,	  /* a hard limit was hit */
	MTASTS_ENOTFOUND = -5,	  /* no such record or policy */
	MTASTS_EMULTIPLE = -6,	  /* more than one record where one is allowed */
	MTASTS_EDNSTEMP = -7,	  /* DNS SERVFAIL, timeout, network error */
	MTASTS_EDNS = -8,	  /* permanent DNS error (REFUSED, FORMERR...) */
	MTASTS_ECONNECT = -9,	  /* TCP connection failed */
	MTASTS_ETIMEOUT = -10,	  /* an operation exceeded its time limit */
	MTASTS_ETLS = -11,	  /* TLS handshake or protocol failure */
	MTASTS_ECERT = -12,	  /* certificate failed PKIX validation */
	MTASTS_EHTTPSTATUS = -13, /* HTTP status other than 200 */
	MTASTS_EREDIRECT = -14,	  /* HTTP 3xx (never followed) */
	MTASTS_ECTYPE = -15,	  /* HTTP media type is not text/plain */
	MTASTS_EHTTP = -16,	  /* other HTTP transfer failure */
	MTASTS_EINTERNAL = -17,	  /* broken invariant inside the library */
	MTASTS_ECANCELED = -18,	  /* operation canceled by the caller */
	MTASTS_EIO = -19,	  /* local I/O error (file, socket) */
	MTASTS_EAGAIN = -20,	  /* incomplete input: feed more bytes */
	MTASTS_ESTORE = -21,	  /* persistent store unavailable/failed */
	MTASTS_ERR_LAST_ = -21	  /* keep equal to the lowest code */
};

/* What a caller should do about an error. */
enum mtasts_errclass {
	MTASTS_CLASS_OK = 0,
	MTASTS_CLASS_NOTFOUND = 1, /* definitive absence */
	MTASTS_CLASS_TEMP = 2,	   /* retry later, keep cached state */
	MTASTS_CLASS_PERM = 3,	   /* will not get better by retrying */
	MTASTS_CLASS_INVALID = 4   /* the input itself is wrong */
};

#define MTASTS_ERROR_MSG_MAX 256

/* Caller-owned error detail; pass NULL where detail is not wanted. */
struct mtasts_error {
	int code;		   /* enum mtasts_err */
	enum mtasts_errclass cls;  /* class of code */
	char msg[MTASTS_ERROR_MSG_MAX]; /* NUL-terminated, may be empty */
};

/* Static English description of code; never NULL. */
const char *mtasts_strerror(int code);

/* Static symbolic name of code ("MTASTS_ETLS"); never NULL. */
const char *mtasts_errname(int code);

/* Class of code. Unknown codes are MTASTS_CLASS_PERM. */
enum mtasts_errclass mtasts_errclass(int code);

/* Short lowercase name of a class ("temp", "notfound"...). */
const char *mtasts_errclass_name(enum mtasts_errclass cls);

/* Reset *err to MTASTS_OK with an empty message. NULL-safe. */
void mtasts_error_clear(struct mtasts_error *err);

/*
 * Fill *err (if not NULL) with code, its class and a printf-formatted
 * message (truncated to fit). Returns code, so callers can write
 * "return mtasts_error_set(err, MTASTS_ESYNTAX, ...)".
 */
int mtasts_error_set(struct mtasts_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
