/*
 * negcache.h - names known not to exist, for a short time.
 *
 * File managers probe the same missing names in every folder (.hidden,
 * .directory, desktop.ini, thumbnails), and the kernel re-asks about a name
 * right before creating or renaming onto it. A name the server said does
 * not exist is remembered for `ttl` seconds (actimeo), the same promise the
 * kernel's own negative dentries make, so answering from here changes no
 * semantics: a create that races with another client still gets the
 * server's answer (EEXIST). Local changes remove names at once.
 *
 * Write counter: a lookup that began before a local change (create, rename
 * onto, a change notification) must not record its stale "missing" answer
 * after it. Callers take neg_gen() before asking the server and record the
 * miss with neg_add_since(); any neg_del/neg_inval_dir/neg_clear in between
 * makes that a no-op.
 *
 * Bounded: at most `max` names; the oldest go first. Thread-safe.
 */
#ifndef SMBF_CACHE_NEGCACHE_H
#define SMBF_CACHE_NEGCACHE_H

#include <stddef.h>
#include <stdint.h>

struct negcache;

struct negcache *neg_new(size_t max, double ttl);
void neg_free(struct negcache *nc);

/* The server said (dir, name) does not exist. */
void neg_add(struct negcache *nc, uint64_t dir, const char *name);
/* The write counter now; pass it to neg_add_since. 0 when nc is NULL. */
uint64_t neg_gen(struct negcache *nc);
/* neg_add, unless a change happened since neg_gen() returned gen. Returns 1 if added. */
int neg_add_since(struct negcache *nc, uint64_t dir, const char *name, uint64_t gen);
/* True while (dir, name) is known not to exist. */
int neg_hit(struct negcache *nc, uint64_t dir, const char *name);
/* (dir, name) may exist now (created or renamed onto locally). */
void neg_del(struct negcache *nc, uint64_t dir, const char *name);
/* Forget every name of one directory (it changed in unknown ways). */
void neg_inval_dir(struct negcache *nc, uint64_t dir);
/* Forget everything (e.g. after a reconnect). */
void neg_clear(struct negcache *nc);
size_t neg_count(struct negcache *nc);

#endif
