/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtastsd_control 3h (daemon)
 * SUMMARY
 *	the operator's control socket
 * DESCRIPTION
 *	A Unix stream socket (control_socket, mode control_mode, root only
 *	by default). A client sends one command line and reads the answer
 *	until the daemon closes the connection:
 *	  list              one line per cached domain
 *	  show DOMAIN       one JSON object
 *	  purge DOMAIN      forget a domain (memory and store)
 *	  purge --all       forget every domain (memory and store)
 *	  export            every entry as JSON Lines
 *	  stats             counters, "name value" lines
 *	An answer that starts with "error: " reports a failure.
 */
#ifndef MTASTSD_CONTROL_H
#define MTASTSD_CONTROL_H

#include <stddef.h>

#include <jansson.h>

#include "mtastsd_cache.h"
#include "mtastsd_engine.h"

struct event_base;
struct mtastsd_control;

/* Bind path with mode. NULL with err on failure. */
struct mtastsd_control *mtastsd_control_new(struct event_base *base,
    struct mtastsd_engine *eng, const char *path, unsigned mode, char *err,
    size_t errlen);

/* Close and unlink. NULL-safe. */
void mtastsd_control_free(struct mtastsd_control *ctl);

/* Set the store purge --all also clears (NULL for none). */
void mtastsd_control_set_store(struct mtastsd_control *ctl,
    const struct mtasts_store_ops *ops, void *impl);

/* One cache entry as a JSON object (new reference). */
json_t *mtastsd_control_entry_json(const struct mtastsd_entry *e,
    int64_t now);

#endif
