/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_privs 3h (daemon)
 * SUMMARY
 *	dropping root privileges after binding
 * DESCRIPTION
 *	The daemon binds its sockets and opens its files as root, then
 *	switches to the configured user and group for good: supplementary
 *	groups from initgroups(), then setresgid() and setresuid(), then a
 *	check that root cannot be regained.
 */
#ifndef MTASTSD_PRIVS_H
#define MTASTSD_PRIVS_H

#include <stddef.h>

/*
 * Switch to user (and group, or the user's primary group when group is
 * empty). An empty user keeps the current identity (0 returned; the
 * caller warns when that is root). Returns 0, or -1 with err filled
 * (unknown user or group, failed switch): the caller must not go on.
 */
int mtastsd_privs_drop(const char *user, const char *group, char *err,
    size_t errlen);

#endif
