/* SPDX-License-Identifier: MIT */
/*
 * mtasts_cache.c: "mtasts cache ..." - talk to a running mtastsd over its
 * control socket.
 *
 *   mtasts cache list            one line per cached domain
 *   mtasts cache show DOMAIN     one JSON object
 *   mtasts cache purge DOMAIN    forget one domain (memory and store)
 *   mtasts cache purge-all       forget every domain
 *   mtasts cache export          every entry as JSON Lines
 *   mtasts cache stats           the daemon's counters
 *
 * The socket is --control PATH, else $MTASTS_CONTROL, else
 * /run/mtastsd/control.sock. With --json, "list" prints JSON Lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mtasts.h"

#define CONTROL_DEFAULT "/run/mtastsd/control.sock"

static const char *
control_path(const struct cli_opts *o)
{
	const char *p;

#ifdef CLI_HAVE_CONTROL
	if (o->control != NULL)
		return o->control;
#else
	(void)o;
#endif
	p = getenv("MTASTS_CONTROL");
	return p != NULL && p[0] != '\0' ? p : CONTROL_DEFAULT;
}

/* Send cmd, copy the answer to standard output. */
static int
run(const char *path, const char *cmd)
{
	struct sockaddr_un sun;
	char buf[8192];
	ssize_t n;
	size_t len = strlen(cmd), off = 0, total = 0;
	int fd, failed = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		cli_warn("%s: path too long", path);
		return EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		cli_warn("cannot reach mtastsd at %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_INVALID;
	}
	while (off < len) {
		n = write(fd, cmd + off, len - off);
		if (n <= 0) {
			cli_warn("%s: %s", path, strerror(errno));
			close(fd);
			return EXIT_INVALID;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (total == 0 && n >= 7 && memcmp(buf, "error: ", 7) == 0)
			failed = 1;
		fwrite(buf, 1, (size_t)n, failed ? stderr : stdout);
		total += (size_t)n;
	}
	close(fd);
	return failed ? EXIT_INVALID : EXIT_VALID;
}

int
cli_cache(struct cli_opts *o)
{
	char cmd[600];
	const char *sub;
	char domain[256];
	const char *why = NULL;

	if (o->nargs < 1)
		return cli_usage_error("cache: want list, show DOMAIN, purge "
				       "DOMAIN, purge-all, export or stats");
	sub = o->args[0];
	if ((strcmp(sub, "list") == 0 || strcmp(sub, "export") == 0 ||
		strcmp(sub, "stats") == 0 || strcmp(sub, "purge-all") == 0) &&
	    o->nargs == 1) {
		if (strcmp(sub, "purge-all") == 0)
			snprintf(cmd, sizeof(cmd), "purge --all\n");
		else if (strcmp(sub, "list") == 0 && o->json)
			snprintf(cmd, sizeof(cmd), "export\n");
		else
			snprintf(cmd, sizeof(cmd), "%s\n", sub);
		return run(control_path(o), cmd);
	}
	if ((strcmp(sub, "show") == 0 || strcmp(sub, "purge") == 0) &&
	    o->nargs == 2) {
		if (cli_domain_to_ascii(o->args[1], domain, sizeof(domain),
		    &why) != 0)
			return cli_usage_error("%s: %s", o->args[1],
			    why ? why : "not a domain");
		snprintf(cmd, sizeof(cmd), "%s %s\n", sub, domain);
		return run(control_path(o), cmd);
	}
	return cli_usage_error("cache: want list, show DOMAIN, purge DOMAIN, "
			       "purge-all, export or stats");
}
