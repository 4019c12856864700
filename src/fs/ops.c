/*
 * ops.c - the fuse_lowlevel_ops table, and the interrupt guard around the
 * operations that may wait for the server.
 *
 * A hard mount waits for a lost server; the caller must stay killable. The
 * kernel cannot abandon a request the daemon has read: it sends INTERRUPT
 * and waits for the reply. So each operation that answers synchronously
 * first registers an interrupt handler that raises its worker thread's
 * cancel flag, and the client (smbc_set_cancel) gives up waiting for a
 * reconnect with EINTR when the flag is up. Reads and writes (answered from
 * callbacks), release and the lock operations (which handle interrupts
 * themselves) are not guarded.
 */
#include "fs/internal.h"

#include <pthread.h>
#include <stdlib.h>

struct op_cancel {
	volatile int flag;
	struct op_cancel *next; /* all of them, so they stay reachable */
};

static struct op_cancel *all_cancels;
static pthread_mutex_t all_cancels_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * One flag per worker thread, on the heap, listed and never freed (a few
 * bytes per thread libfuse ever started): libfuse may call
 * an interrupt handler just after the operation answered (and its thread
 * exited), so the flag must outlive the thread. A late interrupt can at
 * worst cut short the thread's next wait with EINTR.
 */
static __thread struct op_cancel *tls_cancel;

static void on_interrupt(fuse_req_t req, void *data)
{
	(void)req;
	((struct op_cancel *)data)->flag = 1;
}

/*
 * After the operation: its thread stops listening to the flag, so a later
 * operation that is not guarded (release, write, read, locks) can never see
 * an interrupt meant for this one (and lose, say, the times release sends).
 */
static void unguard(void)
{
	smbc_set_cancel(NULL);
}

static void guard(fuse_req_t req)
{
	if (!tls_cancel) {
		tls_cancel = calloc(1, sizeof(*tls_cancel));
		if (!tls_cancel)
			return; /* no memory: the operation is just not interruptible */
		pthread_mutex_lock(&all_cancels_lock);
		tls_cancel->next = all_cancels;
		all_cancels = tls_cancel;
		pthread_mutex_unlock(&all_cancels_lock);
	}
	tls_cancel->flag = 0;
	smbc_set_cancel(&tls_cancel->flag);
	/* calls on_interrupt at once if the interrupt came first */
	fuse_req_interrupt_func(req, on_interrupt, tls_cancel);
}

/* g_NAME: the operation TARGET between guard() and unguard(). */
#define GUARDED(name, target, params, args) \
	static void g_##name params \
	{ \
		guard(req); \
		target args; \
		unguard(); \
	}

GUARDED(lookup, op_lookup, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
GUARDED(getattr, op_getattr, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
GUARDED(statfs, op_statfs, (fuse_req_t req, fuse_ino_t ino), (req, ino))
GUARDED(setattr, op_setattr_dc, (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi), (req, ino, attr, to_set, fi))
GUARDED(opendir, op_opendir, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
GUARDED(readdir, op_readdir, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, size, off, fi))
GUARDED(readdirplus, op_readdirplus, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, size, off, fi))
GUARDED(mkdir, op_mkdir, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode), (req, parent, name, mode))
GUARDED(unlink, op_unlink, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
GUARDED(rmdir, op_rmdir, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
GUARDED(rename, op_rename, (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned int flags), (req, parent, name, newparent, newname, flags))
GUARDED(open, op_open_dc, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
GUARDED(flush, op_flush, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
GUARDED(fsync, op_fsync, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi), (req, ino, datasync, fi))
GUARDED(create, op_create_dc, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi), (req, parent, name, mode, fi))
GUARDED(symlink, op_symlink_dc, (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name), (req, link, parent, name))
GUARDED(mknod, op_mknod_dc, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev), (req, parent, name, mode, rdev))
GUARDED(readlink, op_readlink, (fuse_req_t req, fuse_ino_t ino), (req, ino))
GUARDED(link, op_link_dc, (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname), (req, ino, newparent, newname))
GUARDED(getxattr, op_getxattr_stats, (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size), (req, ino, name, size))
GUARDED(listxattr, op_listxattr, (fuse_req_t req, fuse_ino_t ino, size_t size), (req, ino, size))
GUARDED(setxattr, op_setxattr, (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags), (req, ino, name, value, size, flags))
GUARDED(removexattr, op_removexattr, (fuse_req_t req, fuse_ino_t ino, const char *name), (req, ino, name))
GUARDED(fallocate, op_fallocate_dc, (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi), (req, ino, mode, offset, length, fi))
GUARDED(lseek, op_lseek, (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi), (req, ino, off, whence, fi))
GUARDED(copy_file_range, op_copy_file_range_dc, (fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags), (req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags))

const struct fuse_lowlevel_ops smbfs_ll_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = g_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = g_getattr,
	.statfs = g_statfs,
	.opendir = g_opendir,
	.readdir = g_readdir,
	.readdirplus = g_readdirplus,
	.releasedir = op_releasedir,
	.open = g_open,
	.read = op_read,
	.release = op_release_dc,
	.write = op_write,
	.flush = g_flush,
	.fsync = g_fsync,
	.create = g_create,
	.mkdir = g_mkdir,
	.unlink = g_unlink,
	.rmdir = g_rmdir,
	.rename = g_rename,
	.setattr = g_setattr,
	.symlink = g_symlink,
	.mknod = g_mknod,
	.readlink = g_readlink,
	.link = g_link,
	.getxattr = g_getxattr,
	.listxattr = g_listxattr,
	.setxattr = g_setxattr,
	.removexattr = g_removexattr,
	.fallocate = g_fallocate,
	.lseek = g_lseek,
	.copy_file_range = g_copy_file_range,
	.getlk = op_getlk,
	.setlk = op_setlk,
	.flock = op_flock,
};
