/* SPDX-License-Identifier: MIT */
/* mtastsd_privs.c: drop root after binding (see mtastsd_privs.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtastsd_privs.h"

int
mtastsd_privs_drop(const char *user, const char *group, char *err,
    size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;
	uid_t uid;

	if (user[0] == '\0') {
		if (group[0] != '\0') {
			snprintf(err, errlen, "group is set but user is not");
			return -1;
		}
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "user %s: no such user; refusing to "
		    "run as root", user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (group[0] != '\0') {
		gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "group %s: no such group", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		snprintf(err, errlen, "cannot switch to user %s: not root",
		    user);
		return -1;
	}
	if (initgroups(pw->pw_name, gid) != 0 ||
	    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		snprintf(err, errlen, "cannot switch to %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "root privileges could be regained");
		return -1;
	}
	return 0;
}
