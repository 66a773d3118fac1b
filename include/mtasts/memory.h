/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	memory 3h
 * SUMMARY
 *	releasing memory handed over by libmtasts; a pluggable allocator
 * DESCRIPTION
 *	Buffers that the library hands over to the caller (for example the
 *	gzip and JSON outputs of tlsrpt_report.h) are released with
 *	mtasts_free(). Embedders may replace the allocator the library uses.
 */
#ifndef MTASTS_MEMORY_H
#define MTASTS_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mtasts_allocator {
	void *(*malloc_fn)(size_t size);
	void *(*calloc_fn)(size_t n, size_t size);
	void *(*realloc_fn)(void *p, size_t size);
	void (*free_fn)(void *p);
};

/* Release memory handed over by the library. NULL-safe. */
void mtasts_free(void *p);

/*
 * Replace the allocator (NULL restores the C library's). Not thread-safe:
 * call it before any other library call, and never while the library
 * holds memory from the previous allocator.
 */
void mtasts_set_allocator(const struct mtasts_allocator *a);

#ifdef __cplusplus
}
#endif
#endif
