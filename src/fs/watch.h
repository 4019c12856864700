/*
 * watch.h - other clients' changes, pushed: SMB2 CHANGE_NOTIFY on the
 * directories that are open or were listed recently.
 *
 * opendir asks for its directory to be watched (watch_dir). The watch
 * thread opens the directory on the server and keeps one CHANGE_NOTIFY
 * outstanding on it (file and directory names, attributes, size, last
 * write; not the subtree). When it completes (on a loop thread, which only
 * copies the answer and queues it), the watch thread invalidates the
 * kernel's entry and attributes of each name
 * (fuse_lowlevel_notify_inval_entry/_inode), reports deletions with
 * fuse_lowlevel_notify_delete so inotify sees IN_DELETE, drops the
 * directory's cached listing and negative entries, and sends the next
 * CHANGE_NOTIFY. STATUS_NOTIFY_ENUM_DIR (too many changes) invalidates the
 * whole directory.
 *
 * At most `max` directories are watched; the least recently listed goes
 * first (its handle is closed, which ends its request). A connection
 * failure ends every request: the watches are re-armed once the client has
 * reconnected, and what they cached meanwhile is dropped (changes may have
 * been missed).
 *
 * Kernel notifications and SMB calls (open, close) happen on the watch
 * thread only: never on a loop thread (the kernel may wait on a request
 * that needs the loop), and not on the lease-break thread (fs/notify.c), so
 * a lease break is never held up behind a directory invalidation.
 */
#ifndef SMBF_FS_WATCH_H
#define SMBF_FS_WATCH_H

#include <fuse_lowlevel.h>
#include <stddef.h>

struct smbfs;

/* Start watching (fs->watches). 0 or -errno. */
int watch_start(struct smbfs *fs, size_t max);
/* Close every watch and stop the thread (bounded wait). NULL-safe. */
void watch_stop(struct smbfs *fs);
/* Watch ino (a directory being listed): queued, returns at once. */
void watch_dir(struct smbfs *fs, fuse_ino_t ino);
/*
 * ino (or whatever directory was opened as share path `path`, if not NULL)
 * is being removed: stop watching it and wait (bounded) until its handle is
 * closed, which would otherwise keep it delete-pending on the server. Not
 * from the watch thread for a watch it is arming.
 */
void watch_drop(struct smbfs *fs, fuse_ino_t ino, const char *path);
/*
 * Before renaming path: end the watches of it and of every directory below it
 * (Samba refuses to rename a directory while a handle below it is open).
 */
void watch_drop_below(struct smbfs *fs, const char *path);
/* Directories watched with a request outstanding (tests, stats). */
size_t watch_armed(struct smbfs *fs);

#endif
