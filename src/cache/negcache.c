/*
 * negcache.c - see negcache.h. A chained hash for lookups plus a FIFO list
 * (insertion order) for expiry and the size bound.
 */
#include "cache/negcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 4096

struct neg {
	uint64_t dir;
	int64_t expires_ns;
	struct neg *hnext;
	struct neg *older, *newer; /* FIFO by insertion */
	char name[];
};

struct negcache {
	pthread_mutex_t lock;
	struct neg *bucket[BUCKETS];
	struct neg *oldest, *newest;
	size_t count, max;
	int64_t ttl_ns;
	uint64_t gen; /* bumped by every removal a stale reply must not undo */
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static unsigned hash(uint64_t dir, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ dir;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (unsigned)(h ^ (h >> 32)) % BUCKETS;
}

struct negcache *neg_new(size_t max, double ttl)
{
	struct negcache *nc;
	if (ttl <= 0 || max == 0)
		return NULL; /* caching disabled */
	nc = calloc(1, sizeof(*nc));
	if (!nc)
		return NULL;
	pthread_mutex_init(&nc->lock, NULL);
	nc->max = max;
	nc->ttl_ns = (int64_t)(ttl * 1e9);
	return nc;
}

static void unlink_entry(struct negcache *nc, struct neg *e)
{
	struct neg **pp = &nc->bucket[hash(e->dir, e->name)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	if (e->older)
		e->older->newer = e->newer;
	else
		nc->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		nc->newest = e->older;
	nc->count--;
	free(e);
}

static struct neg *find(struct negcache *nc, uint64_t dir, const char *name)
{
	for (struct neg *e = nc->bucket[hash(dir, name)]; e; e = e->hnext)
		if (e->dir == dir && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* Drop expired entries from the old end, and enough to make room. Lock held. */
static void trim(struct negcache *nc, int64_t now)
{
	while (nc->oldest && (nc->oldest->expires_ns <= now || nc->count >= nc->max))
		unlink_entry(nc, nc->oldest);
}

uint64_t neg_gen(struct negcache *nc)
{
	uint64_t g;
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	g = nc->gen;
	pthread_mutex_unlock(&nc->lock);
	return g;
}

/* Lock held. */
static void add_locked(struct negcache *nc, uint64_t dir, const char *name)
{
	size_t n = strlen(name);
	struct neg *e;
	int64_t now = mono_ns();
	unsigned h;

	e = find(nc, dir, name);
	if (e)
		unlink_entry(nc, e); /* re-added at the new end with a fresh expiry */
	trim(nc, now);
	e = malloc(sizeof(*e) + n + 1);
	if (e) {
		e->dir = dir;
		e->expires_ns = now + nc->ttl_ns;
		memcpy(e->name, name, n + 1);
		h = hash(dir, name);
		e->hnext = nc->bucket[h];
		nc->bucket[h] = e;
		e->newer = NULL;
		e->older = nc->newest;
		if (nc->newest)
			nc->newest->newer = e;
		else
			nc->oldest = e;
		nc->newest = e;
		nc->count++;
	}
}

void neg_add(struct negcache *nc, uint64_t dir, const char *name)
{
	if (!nc)
		return;
	pthread_mutex_lock(&nc->lock);
	add_locked(nc, dir, name);
	pthread_mutex_unlock(&nc->lock);
}

int neg_add_since(struct negcache *nc, uint64_t dir, const char *name, uint64_t gen)
{
	int added = 0;
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	if (nc->gen == gen) {
		add_locked(nc, dir, name);
		added = 1;
	}
	pthread_mutex_unlock(&nc->lock);
	return added;
}

int neg_hit(struct negcache *nc, uint64_t dir, const char *name)
{
	struct neg *e;
	int hit = 0;
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	e = find(nc, dir, name);
	if (e) {
		if (e->expires_ns > mono_ns())
			hit = 1;
		else
			unlink_entry(nc, e);
	}
	pthread_mutex_unlock(&nc->lock);
	return hit;
}

void neg_del(struct negcache *nc, uint64_t dir, const char *name)
{
	struct neg *e;
	if (!nc)
		return;
	pthread_mutex_lock(&nc->lock);
	nc->gen++;
	e = find(nc, dir, name);
	if (e)
		unlink_entry(nc, e);
	pthread_mutex_unlock(&nc->lock);
}

void neg_inval_dir(struct negcache *nc, uint64_t dir)
{
	if (!nc)
		return;
	pthread_mutex_lock(&nc->lock);
	nc->gen++;
	for (struct neg *e = nc->oldest, *nx; e; e = nx) {
		nx = e->newer;
		if (e->dir == dir)
			unlink_entry(nc, e);
	}
	pthread_mutex_unlock(&nc->lock);
}

void neg_clear(struct negcache *nc)
{
	if (!nc)
		return;
	pthread_mutex_lock(&nc->lock);
	nc->gen++;
	while (nc->oldest)
		unlink_entry(nc, nc->oldest);
	pthread_mutex_unlock(&nc->lock);
}

size_t neg_count(struct negcache *nc)
{
	size_t n;
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	n = nc->count;
	pthread_mutex_unlock(&nc->lock);
	return n;
}

void neg_free(struct negcache *nc)
{
	if (!nc)
		return;
	neg_clear(nc);
	pthread_mutex_destroy(&nc->lock);
	free(nc);
}
