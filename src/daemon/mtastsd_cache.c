/* SPDX-License-Identifier: MIT */
/* mtastsd_cache.c: hash table + LRU of compact entries. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "mtastsd_cache.h"

#define BUCKETS_MIN 64

struct mtastsd_cache {
	struct mtastsd_entry **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	size_t max;
	struct mtastsd_entry *head;	/* most recently used */
	struct mtastsd_entry *tail;	/* least recently used */
	uint32_t seed;
};

static uint32_t
hash_domain(uint32_t seed, const char *s, size_t len)
{
	uint32_t h = 2166136261u ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

struct mtastsd_cache *
mtastsd_cache_new(size_t max_entries)
{
	struct mtastsd_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->nbuckets = BUCKETS_MIN;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->max = max_entries ? max_entries : 1;
	if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(c->seed))
		c->seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)c;
	return c;
}

void
mtastsd_cache_clear(struct mtastsd_cache *c)
{
	struct mtastsd_entry *e, *n;

	for (e = c->head; e != NULL; e = n) {
		n = e->next;
		free(e);
	}
	memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
	c->head = c->tail = NULL;
	c->count = 0;
}

void
mtastsd_cache_free(struct mtastsd_cache *c)
{
	if (c == NULL)
		return;
	mtastsd_cache_clear(c);
	free(c->buckets);
	free(c);
}

struct mtastsd_entry *
mtastsd_entry_new(const struct mtastsd_entry_init *in)
{
	size_t dl, il, fl, ml, bl;
	struct mtastsd_entry *e;
	char *p;

	dl = strlen(in->domain);
	il = in->id ? strlen(in->id) : 0;
	fl = in->fail_id ? strlen(in->fail_id) : 0;
	ml = in->match ? strlen(in->match) : 0;
	bl = in->body ? in->body_len : 0;
	if (dl == 0 || dl > 253 || il > 64 || fl > 64 || ml > 65535 ||
	    bl > 65535)
		return NULL;
	e = calloc(1, sizeof(*e) + dl + il + fl + ml + bl + 5);
	if (e == NULL)
		return NULL;
	e->domain_len = (uint8_t)dl;
	e->id_len = (uint8_t)il;
	e->fail_id_len = (uint8_t)fl;
	e->match_len = (uint16_t)ml;
	e->body_len = (uint16_t)bl;
	p = e->data;
	memcpy(p, in->domain, dl);
	p += dl + 1;
	if (il)
		memcpy(p, in->id, il);
	p += il + 1;
	if (fl)
		memcpy(p, in->fail_id, fl);
	p += fl + 1;
	if (ml)
		memcpy(p, in->match, ml);
	p += ml + 1;
	if (bl) {
		memcpy(p, in->body, bl);
		e->flags |= MTASTSD_ENTRY_BODY;
	}
	return e;
}

const char *
mtastsd_entry_domain(const struct mtastsd_entry *e)
{
	return e->data;
}

const char *
mtastsd_entry_id(const struct mtastsd_entry *e)
{
	return e->data + e->domain_len + 1;
}

const char *
mtastsd_entry_fail_id(const struct mtastsd_entry *e)
{
	return e->data + e->domain_len + e->id_len + 2;
}

const char *
mtastsd_entry_match(const struct mtastsd_entry *e)
{
	return e->data + e->domain_len + e->id_len + e->fail_id_len + 3;
}

const char *
mtastsd_entry_body(const struct mtastsd_entry *e)
{
	return e->data + e->domain_len + e->id_len + e->fail_id_len +
	    e->match_len + 4;
}

static void
lru_unlink(struct mtastsd_cache *c, struct mtastsd_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_head(struct mtastsd_cache *c, struct mtastsd_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void
hash_unlink(struct mtastsd_cache *c, struct mtastsd_entry *e)
{
	struct mtastsd_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	e->hnext = NULL;
}

void
mtastsd_cache_remove(struct mtastsd_cache *c, struct mtastsd_entry *e)
{
	hash_unlink(c, e);
	lru_unlink(c, e);
	c->count--;
	free(e);
}

static void
grow(struct mtastsd_cache *c)
{
	size_t n = c->nbuckets * 2, i;
	struct mtastsd_entry **b, *e, *next;

	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return; /* keep the longer chains; still correct */
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static size_t
evict_to(struct mtastsd_cache *c, size_t max)
{
	size_t n = 0;

	while (c->count > max && c->tail != NULL) {
		mtastsd_cache_remove(c, c->tail);
		n++;
	}
	return n;
}

void
mtastsd_cache_set_max(struct mtastsd_cache *c, size_t max_entries)
{
	c->max = max_entries ? max_entries : 1;
	evict_to(c, c->max);
}

struct mtastsd_entry *
mtastsd_cache_find(struct mtastsd_cache *c, const char *domain, size_t len)
{
	uint32_t h = hash_domain(c->seed, domain, len);
	struct mtastsd_entry *e;

	for (e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->domain_len == len &&
		    memcmp(e->data, domain, len) == 0)
			return e;
	return NULL;
}

size_t
mtastsd_cache_put(struct mtastsd_cache *c, struct mtastsd_entry *e)
{
	struct mtastsd_entry *old;
	size_t slot;

	e->hash = hash_domain(c->seed, e->data, e->domain_len);
	old = mtastsd_cache_find(c, e->data, e->domain_len);
	if (old != NULL)
		mtastsd_cache_remove(c, old);
	if (c->count >= c->nbuckets && c->nbuckets < (SIZE_MAX >> 4))
		grow(c);
	slot = e->hash & (c->nbuckets - 1);
	e->hnext = c->buckets[slot];
	c->buckets[slot] = e;
	lru_push_head(c, e);
	c->count++;
	return evict_to(c, c->max);
}

void
mtastsd_cache_touch(struct mtastsd_cache *c, struct mtastsd_entry *e,
    int64_t now)
{
	e->last_used = (uint32_t)now;
	if (c->head == e)
		return;
	lru_unlink(c, e);
	lru_push_head(c, e);
}

size_t
mtastsd_cache_evict_idle(struct mtastsd_cache *c, int64_t cutoff)
{
	size_t n = 0;

	while (c->tail != NULL && (int64_t)c->tail->last_used < cutoff &&
	    !(c->tail->flags & MTASTSD_ENTRY_REFRESHING)) {
		mtastsd_cache_remove(c, c->tail);
		n++;
	}
	return n;
}

size_t
mtastsd_cache_count(const struct mtastsd_cache *c)
{
	return c->count;
}

int
mtastsd_cache_walk(struct mtastsd_cache *c, size_t *cursor,
    size_t max_buckets, void (*each)(void *arg, struct mtastsd_entry *e),
    void *arg)
{
	size_t i;
	struct mtastsd_entry *e;

	if (*cursor >= c->nbuckets)
		*cursor = 0;
	for (i = 0; i < max_buckets && *cursor < c->nbuckets; i++) {
		for (e = c->buckets[*cursor]; e != NULL; e = e->hnext)
			each(arg, e);
		(*cursor)++;
	}
	if (*cursor >= c->nbuckets) {
		*cursor = 0;
		return 1;
	}
	return 0;
}

void
mtastsd_cache_foreach(struct mtastsd_cache *c,
    void (*each)(void *arg, struct mtastsd_entry *e), void *arg)
{
	struct mtastsd_entry *e;

	for (e = c->head; e != NULL; e = e->next)
		each(arg, e);
}
