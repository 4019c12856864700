/*
 * dircache.h - directory listings kept while the directory is known unchanged.
 *
 * A listing (names and attributes from QUERY_DIRECTORY) of directory `dir`
 * is kept `ttl` seconds (acdirmax), or without expiry while the directory is
 * watched (a CHANGE_NOTIFY outstanding on it, see dc_set_watched), so that
 * opendir + readdir(plus) of a directory listed a moment ago costs no round
 * trip.
 *
 * Coherence with local changes. A change this mount makes to a directory
 * (create, unlink, rename, mkdir, rmdir, link, symlink) is bracketed by
 * dc_begin_change/dc_end_change on it: while a change is in progress the
 * directory is neither served nor stored, and dc_end_change drops its
 * listing and bumps the directory's write counter. A listing is fetched
 * under a ticket (dc_begin_fetch) taken before the first request, and
 * dc_store refuses it when the directory changed since the ticket: a listing
 * fetched before a local change never replaces the newer state.
 *
 * Attributes in a kept listing age. The kernel's own attributes of an inode
 * it knows are the authority for local writes, so the FUSE layer gives a
 * cached listing's attributes only for names the kernel does not know, and
 * only while no inode has been forgotten since the listing was fetched
 * (dc_note_forget: an inode written and then forgotten may differ from the
 * listing); dc_attrs_trusted tells which.
 *
 * Bounded: at most max_dirs listings and max_entries names in all; the
 * least recently used listing goes first, and a listing larger than
 * max_entries is not kept. Thread-safe (one mutex); no call blocks on I/O.
 */
#ifndef SMBF_CACHE_DIRCACHE_H
#define SMBF_CACHE_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "client/ops.h"

struct dc_ent {
	char *name;
	struct smb_stat st;
};

/* A listing: immutable once stored; shared by the cache and open directory handles. */
struct dc_list {
	size_t n, cap;
	struct dc_ent *ents;
	uint64_t epoch; /* forget epoch when fetched */
	int refs;       /* atomic */
};

/* An empty listing with one reference. NULL when out of memory. */
struct dc_list *dc_list_new(void);
/* Append an entry (copied); name NULL empties the listing (a restart). smbc_dirent_fn. */
int dc_list_add(const char *name, const struct smb_stat *st, void *list);
struct dc_list *dc_list_get(struct dc_list *l);
/* Drop a reference; the last frees. NULL ok. */
void dc_list_put(struct dc_list *l);

struct dircache;

/* NULL (caching off) when ttl <= 0 or a bound is 0. */
struct dircache *dc_new(size_t max_dirs, size_t max_entries, double ttl);
void dc_free(struct dircache *dc);

struct dc_ticket {
	uint64_t gen;
	uint64_t epoch;
};
/* Before fetching a listing. */
struct dc_ticket dc_begin_fetch(struct dircache *dc);
/*
 * Keep l (taking a reference) as dir's listing, unless dir changed since t
 * was taken, a change is in progress, or l is too big. Returns 1 if kept.
 */
int dc_store(struct dircache *dc, uint64_t dir, const struct dc_ticket *t, struct dc_list *l);
/*
 * dir's listing if kept and fresh (a new reference, for dc_list_put), else
 * NULL. *remaining (if not NULL) gets the seconds it stays valid (the ttl
 * while watched).
 */
struct dc_list *dc_lookup(struct dircache *dc, uint64_t dir, double *remaining);

/* A local change to dir's entries starts / has reached the server. */
void dc_begin_change(struct dircache *dc, uint64_t dir);
void dc_end_change(struct dircache *dc, uint64_t dir);
/* Is a local change to dir in progress (between begin and end)? */
int dc_changing(struct dircache *dc, uint64_t dir);
/*
 * Has dir changed (locally) since t was taken, or is a change in progress?
 * (Conservative: directories share change slots.)
 */
int dc_changed_since(struct dircache *dc, uint64_t dir, const struct dc_ticket *t);
/* Drop dir's listing (it changed: a notification, a local change). */
void dc_inval(struct dircache *dc, uint64_t dir);
/*
 * A CHANGE_NOTIFY is outstanding on dir (1) or no more (0). A listing stored
 * while dir is watched does not expire until the watch ends (an older one
 * may predate the watch: it expires as usual).
 */
void dc_set_watched(struct dircache *dc, uint64_t dir, int watched);
/* The kernel forgot an inode: kept listings' attributes are no longer trusted. */
void dc_note_forget(struct dircache *dc);
/* May l's attributes be given to the kernel for names it does not know? */
int dc_attrs_trusted(struct dircache *dc, const struct dc_list *l);
/* Drop everything (reconnect). */
void dc_clear(struct dircache *dc);
/* Listings kept and their entries in all (tests, stats). */
size_t dc_count(struct dircache *dc, size_t *entries);

#endif
