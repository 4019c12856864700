/*
 * prefetch.h - listings of subdirectories fetched ahead of need.
 *
 * find, du and file managers list a directory and then descend into each of
 * its subdirectories: one round trip per directory, one after the other.
 * When readdirplus hands the kernel a directory's entries, the
 * subdirectories among them (the first PF_PER_DIR of each listing) are
 * queued here, and a few worker threads fetch their listings into the
 * directory cache, several in flight at once, so that the opendir which
 * follows finds a kept listing and costs no round trip.
 *
 * A prefetched listing is an ordinary kept listing (src/cache/dircache.h):
 * fetched under a ticket taken before the request, stored with dc_store
 * (refused when the directory changed locally meanwhile), expiring after
 * acdirmax, and its attributes reach the kernel under the same rules as any
 * kept listing's (names the kernel does not know, no forget since the
 * fetch). A directory that already has a fresh listing, or is being changed,
 * is skipped. A prefetch costs exactly one round trip: a directory whose
 * entries do not fit the first answer (smbc_list_dir_one_trip) is given up,
 * so huge directories are never streamed in the background.
 *
 * Bounded: PF_WORKERS fetches in flight, PF_QUEUE queued (more are dropped);
 * queueing never blocks on I/O. Off when there is no directory cache
 * (cache=none, actimeo=0).
 */
#ifndef SMBF_FS_PREFETCH_H
#define SMBF_FS_PREFETCH_H

#include <fuse_lowlevel.h>
#include <stdint.h>

#include "cache/dircache.h"

struct smbfs;

/* Subdirectories of one listing queued at most. */
#define PF_PER_DIR 64

/* Start the workers (fs->pf); needs fs->dc. 0 or -errno. */
int pf_start(struct smbfs *fs);
/* Drop the queue, wait for the fetches in flight, stop the workers. NULL-safe. */
void pf_stop(struct smbfs *fs);
/* ino, a subdirectory of parent just given to the kernel: fetch its listing soon. */
void pf_dir(struct smbfs *fs, fuse_ino_t parent, fuse_ino_t ino);
/*
 * opendir found no kept listing of ino: a queued prefetch of it goes (the
 * caller fetches it now); one in flight is waited for (bounded), since its
 * answer comes sooner than a new request's. Returns 1 if the caller should
 * look in the cache again.
 */
int pf_claim(struct smbfs *fs, fuse_ino_t ino);
/* Listings kept by prefetch so far; *busy gets the fetches queued or in flight. */
unsigned long pf_stats(struct smbfs *fs, unsigned long *busy);

/* ops_dir.c: fetch path's listing into l, one round trip at most (smbc_list_dir_one_trip). */
int dir_list_one_trip(struct smbfs *fs, const char *path, struct dc_list *l);

#endif
