/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	alloc 3h (internal)
 * SUMMARY
 *	the library's pluggable allocator
 * DESCRIPTION
 *	All library allocations go through these wrappers so that tests can
 *	make the Nth allocation fail (OOM torture) and embedders can plug in
 *	their own allocator. Raw malloc/free are banned in src/lib.
 */
#ifndef MTASTS_UTIL_ALLOC_H
#define MTASTS_UTIL_ALLOC_H

#include <stddef.h>

#include "mtasts/memory.h"

/* Test hook: make the n-th allocation from now fail (0 disables);
 * returns how many allocations happened since the last call. */
unsigned long mtasts__alloc_fail_at(unsigned long n);

void *mtasts__malloc(size_t size) __attribute__((malloc, warn_unused_result));
void *mtasts__calloc(size_t n, size_t size)
	__attribute__((malloc, warn_unused_result));
void *mtasts__realloc(void *p, size_t size)
	__attribute__((warn_unused_result));
void mtasts__free(void *p);
char *mtasts__strndup(const char *s, size_t n)
	__attribute__((malloc, warn_unused_result));
char *mtasts__strdup(const char *s) __attribute__((malloc, warn_unused_result));


#endif
