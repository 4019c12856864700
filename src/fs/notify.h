/*
 * notify.h - the notifier thread: lease breaks and kernel cache invalidation.
 *
 * A lease break arrives on a connection's loop thread, which must not wait.
 * It is queued here; this thread pushes out buffered writes when write
 * caching is lost, forgets prefetched data and invalidates the kernel's page
 * cache (fuse_lowlevel_notify_inval_inode, which may wait for the kernel)
 * when read caching is lost, and then acknowledges the break.
 */
#ifndef SMBF_FS_NOTIFY_H
#define SMBF_FS_NOTIFY_H

#include <stdint.h>

struct smbfs;
struct fuse_session;

int notify_start(struct smbfs *fs);
void notify_stop(struct smbfs *fs);

/* smbc_lease_break_fn: queue a break (loop thread). */
int notify_lease_break(void *arg, const uint8_t key[16], uint32_t new_state, int ack_required);

#endif
