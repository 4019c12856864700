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
 * (create, unlink, rename, mkdir, rmdir, link, symlink, mknod) is bracketed
 * by dc_begin_change/dc_end_change on it: while a change is in progress the
 * directory is neither served nor stored, and dc_end_change bumps the
 * directory's write counter. A listing is fetched under a ticket
 * (dc_begin_fetch) taken before the first request, and dc_store refuses it
 * when the directory changed since the ticket: a listing fetched before a
 * local change never replaces the newer state.
 *
 * A kept listing follows this mount's own changes: once the server has done
 * one, the change's thread tells what it did (dc_note_add, dc_note_del,
 * dc_note_rename, between begin and end, on the thread that called
 * dc_begin_change) and the kept listing is edited to match; dc_end_change of
 * a change that noted nothing (it failed, or its outcome is unknown) drops
 * the listing as before. An edit that cannot be made exactly (a name that
 * could match another one case-insensitively, a name not in the listing)
 * drops it too. So a kept listing is always the server's state at fetch
 * time plus every local change since, never older than a change; other
 * clients' changes are noticed as before (expiry, CHANGE_NOTIFY).
 *
 * Negative lookups: dc_absent tells that a name is not in a kept, fresh
 * listing of a directory this mount changes (no round trip needed for
 * ENOENT). Only there: a name another client just created elsewhere is
 * still looked up on the server, as before listings answered lookups.
 *
 * Attributes in a kept listing age. The kernel's own attributes of an inode
 * it knows are the authority for local writes, so the FUSE layer gives a
 * cached listing's attributes only for names the kernel does not know, and
 * only while no inode has been forgotten since the listing was fetched
 * (dc_note_forget: an inode written and then forgotten may differ from the
 * listing); dc_attrs_trusted tells which.
 *
 * Local modifications counter. The FUSE layer calls dc_note_modify when a
 * file is opened for writing, and at the start and the end of every release
 * of a writer, setattr, fallocate and copy_file_range. A listing whose
 * counter is still the one of its ticket (dc_attrs_current) was fetched
 * after every local modification that has ended, and none has started
 * since: its attributes are as good as the server's now for every file but
 * one written through a handle open all along (the FUSE layer checks open
 * writers), so they may also answer lookups (dc_find) and refresh names the
 * kernel knows.
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
	int stale; /* the server said its attributes changed since: give the name only */
};

/*
 * A listing: immutable once shared (stored and referenced by an open
 * directory handle); the cache edits one only while it holds the only
 * reference, and copies it otherwise.
 */
struct dc_list {
	size_t n, cap;
	struct dc_ent *ents;
	uint64_t epoch; /* forget epoch when fetched */
	uint64_t mgen;  /* local modifications counter when fetched */
	uint32_t *idx;  /* dc_find's name index, built on first use (under the cache's lock) */
	size_t idx_cap;
	int refs;       /* atomic */
	int dot_stale;  /* edited after a local change: "."'s times are older than it */
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
	uint64_t mgen;
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

/*
 * Keep l as the listing of a directory this mount has just created (mkdir):
 * dc_store, and the directory counts as one this mount changes (see
 * dc_absent). t must be taken before the mkdir was sent.
 */
int dc_store_new(struct dircache *dc, uint64_t dir, const struct dc_ticket *t, struct dc_list *l);

/*
 * A local change to dir's entries starts / has reached the server. Calls
 * pair up on one thread; dc_end_change drops dir's listing unless this
 * thread noted the change's outcome in dir since dc_begin_change.
 */
void dc_begin_change(struct dircache *dc, uint64_t dir);
void dc_end_change(struct dircache *dc, uint64_t dir);
/*
 * Inside a change to dir, once the server did it: name now exists with st
 * (a create, mkdir, symlink, link: replaces an entry of that name), or no
 * longer exists (unlink, rmdir). The kept listing is edited, or dropped when
 * the edit cannot be exact.
 */
void dc_note_add(struct dircache *dc, uint64_t dir, const char *name, const struct smb_stat *st);
void dc_note_del(struct dircache *dc, uint64_t dir, const char *name);
/* Inside changes to both directories: name moved from dir to ndir/nname (replacing it). */
void dc_note_rename(struct dircache *dc, uint64_t dir, const char *name, uint64_t ndir,
		    const char *nname);

enum { DC_UNKNOWN = 0, DC_ABSENT = 1, DC_REFETCH = 2 };
/*
 * Is name known absent from dir? DC_ABSENT: dir's kept listing is fresh,
 * this mount changes entries of dir (made it, or edited the listing after a
 * change: a program creating files there asks about each new name first),
 * no change is in progress, and no entry can be name (compared ignoring
 * ASCII case, as a case-insensitive server would; a name with other
 * characters is never answered); *remaining (if not NULL) gets the seconds
 * the answer stays valid. DC_REFETCH: the listing expired, but it is small
 * and this mount changes that directory: fetching it again costs the round
 * trip a lookup would, and answers the next lookups. DC_UNKNOWN otherwise.
 */
int dc_absent(struct dircache *dc, uint64_t dir, const char *name, double *remaining);
/*
 * The positive answer under the same conditions, for directories only: name
 * is a directory in dir's kept, fresh listing of a directory this mount
 * changes (exactly that name, no other that could match it); 1 with its
 * entry in *st, else 0. Only directories: the entry's attributes of a file
 * may be older than this mount's writes to it, and a directory's never
 * matter much (mkdir -p, tar and cp -r ask about directories they made).
 */
int dc_find_dir(struct dircache *dc, uint64_t dir, const char *name, struct smb_stat *st,
		double *remaining);
/* Is a local change to dir in progress (between begin and end)? */
int dc_changing(struct dircache *dc, uint64_t dir);
/*
 * Has dir changed (locally) since t was taken, or is a change in progress?
 * (Conservative: directories share change slots.)
 */
int dc_changed_since(struct dircache *dc, uint64_t dir, const struct dc_ticket *t);
/*
 * A change notification for name in dir (CHANGE_NOTIFY): the listing stays
 * if it already agrees (ADDED, MODIFIED: it has exactly name, whose
 * attributes are then marked stale; REMOVED: no entry can be name), as it
 * does after this mount's own changes, which the server reports too;
 * otherwise it is dropped (dc_inval).
 */
enum dc_news { DC_NEWS_ADDED, DC_NEWS_REMOVED, DC_NEWS_MODIFIED };
void dc_notified(struct dircache *dc, uint64_t dir, enum dc_news news, const char *name);
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
/* A local modification of a file's data or attributes starts or ends (see above). */
void dc_note_modify(struct dircache *dc);
/* Has no local modification started or ended since l was fetched? */
int dc_attrs_current(struct dircache *dc, const struct dc_list *l);
/*
 * Seconds l stays valid if it is still dir's kept, fresh listing (an open
 * directory's listing may have expired or been replaced since), else 0.
 */
double dc_remaining(struct dircache *dc, uint64_t dir, const struct dc_list *l);
/*
 * A positive lookup from a kept listing: 1 with name's entry in *st and the
 * seconds the answer holds in *remaining, if dir's listing is fresh, current
 * (dc_attrs_current) and has an entry of exactly that name ("." and ".."
 * excepted); else 0. A long listing gets a hash index of its names on the
 * first find (4 bytes per slot, twice as many slots as names).
 */
int dc_find(struct dircache *dc, uint64_t dir, const char *name, struct smb_stat *st,
	    double *remaining);
/*
 * The server just gave name's attributes in dir (a getattr): a current kept
 * listing (dc_attrs_current) that says otherwise (size, times, attributes)
 * is older than what the kernel now has (another client changed the file)
 * and goes, so that it never takes the kernel back to the older state.
 */
void dc_note_attrs(struct dircache *dc, uint64_t dir, const char *name, const struct smb_stat *st);
/* Drop everything (reconnect). */
void dc_clear(struct dircache *dc);
/* Listings kept and their entries in all (tests, stats). */
size_t dc_count(struct dircache *dc, size_t *entries);

#endif
