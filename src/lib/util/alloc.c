/* SPDX-License-Identifier: MIT */
/*
 * alloc.c: pluggable allocator with an injectable failure for tests.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static struct mtasts_allocator cur = {malloc, calloc, realloc, free};
static unsigned long fail_at;	/* 0: never fail */
static unsigned long counter;

void
mtasts_set_allocator(const struct mtasts_allocator *a)
{
	if (a == NULL) {
		cur.malloc_fn = malloc;
		cur.calloc_fn = calloc;
		cur.realloc_fn = realloc;
		cur.free_fn = free;
		return;
	}
	cur = *a;
}

unsigned long
mtasts__alloc_fail_at(unsigned long n)
{
	unsigned long done = counter;

	counter = 0;
	fail_at = n;
	return done;
}

static int
should_fail(void)
{
	counter++;
	return fail_at != 0 && counter == fail_at;
}

void *
mtasts__malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return cur.malloc_fn(size ? size : 1);
}

void *
mtasts__calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return cur.calloc_fn(n ? n : 1, size ? size : 1);
}

void *
mtasts__realloc(void *p, size_t size)
{
	if (should_fail())
		return NULL;
	return cur.realloc_fn(p, size ? size : 1);
}

void
mtasts__free(void *p)
{
	if (p != NULL)
		cur.free_fn(p);
}

void
mtasts_free(void *p)
{
	mtasts__free(p);
}

char *
mtasts__strndup(const char *s, size_t n)
{
	char *d = mtasts__malloc(n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
mtasts__strdup(const char *s)
{
	return mtasts__strndup(s, strlen(s));
}
