/*
 * ops_file.c - open, create, read, write, flush, fsync, release.
 */
#include "fs/internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/random.h>

#include "cache/dircache.h"
#include "cache/negcache.h"
#include "cache/writeback.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"
#include "wire/time.h"

uint32_t access_for(int flags)
{
	uint32_t a = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		a |= FILE_READ_DATA;
		break;
	case O_WRONLY:
		a |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES;
		break;
	default:
		a |= FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES;
	}
	return a;
}

/*
 * O_APPEND: Samba rejects the "offset -1 means end of file" form of WRITE, so
 * an append asks the server for the end of file and writes there, under a
 * lock striped by inode so that appenders on this mount never interleave.
 */
#define APPEND_LOCKS 64

static pthread_mutex_t append_locks[APPEND_LOCKS] = {
	[0 ... APPEND_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * smbc_open with fh's lease key. All opens of an inode share one key, but a
 * server ties a lease to the name it was granted under and refuses the key
 * for the file's new name after a rename through a handle without that lease
 * (Samba: STATUS_INVALID_PARAMETER). Then the inode gets a new key: the open
 * goes on with its own lease (the others' break as needed).
 */
static int open_leased(struct smbfs *fs, struct smbfs_file *fh, const char *path,
		       struct smbc_open_args *a, struct smb_stat *st)
{
	int rc = smbc_open(fs->client, path, a, &fh->file, st, NULL);
	if (rc == -EINVAL && a->lease_key && getrandom(fh->lease_key, 16, 0) == 16) {
		LOG_DBG("lease key refused for %s; opening with a new one", path);
		rc = smbc_open(fs->client, path, a, &fh->file, st, NULL);
	}
	return rc;
}

/*
 * An open by path that found nothing, or another file, while this mount is
 * renaming or unlinking in the inode's directory (a rename over an open file
 * takes two steps on SMB, with no file of that name in between): once the
 * change is over the kernel's lookup finds the file, so say ESTALE, which
 * makes it look the name up again and retry.
 */
static int open_raced(struct smbfs *fs, fuse_ino_t dir, const struct dc_ticket *t, int rc)
{
	if (!dir || !dc_changed_since(fs->dc, dir, t))
		return rc;
	for (int tries = 0; tries < 50 && dc_changing(fs->dc, dir); tries++)
		usleep(2000);
	return -ESTALE;
}

static int create_later_lost(struct smbfs *fs, fuse_ino_t ino);

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbc_open_args a;
	struct smbfs_file *fh;
	struct smb_stat st;
	char path[PATH_CAP];
	int rc, reused;

	if (fs->p.readonly && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fh = file_new(fs, ino, fi->flags);
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.access = access_for(fi->flags);
	a.disposition = (fi->flags & O_TRUNC) ? FILE_OVERWRITE : FILE_OPEN;
	a.options = FILE_NON_DIRECTORY_FILE;
	a.lease_key = fh->lease_key;
	a.lease_state = SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING |
			((fi->flags & O_ACCMODE) != O_RDONLY ? SMB2_LEASE_WRITE_CACHING : 0);
	/* a handle kept after an earlier close (deferred.c): no round trip */
	if (!(fi->flags & O_TRUNC))
		fh->file = defer_take(fs, ino, fi->flags & O_ACCMODE, fh->lease_key);
	reused = fh->file != NULL;
	rc = 0;
	if (!fh->file && create_later_lost(fs, ino)) {
		free(fh);
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!fh->file) {
		fuse_ino_t dir = itab_parent(fs->itab, ino);
		struct dc_ticket t = dc_begin_fetch(fs->dc);
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
		if (!rc)
			rc = open_leased(fs, fh, path, &a, &st); /* one compound */
		if (!rc && !itab_same_file(fs->itab, ino, file_sid(fs, &st))) {
			/*
			 * The name leads to another file than this inode by now (a
			 * rename over it, here or on the server): its data must not
			 * mix into this inode's pages. ESTALE makes the kernel look
			 * the name up again and open what it leads to.
			 */
			(void)smbc_close(fs->client, fh->file);
			fh->file = NULL;
			rc = -ESTALE;
		}
		if (rc == -ENOENT || rc == -ESTALE)
			rc = open_raced(fs, dir, &t, rc);
		if (!rc)
			pend_opened(fh, &st);
	}
	if (rc) {
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	if (fi->flags & O_TRUNC)
		files_sync(fs, ino, 0, 1);
	rc = file_start(fs, fh, fi->flags);
	if (rc) {
		file_free(fs, fh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)fh;
	fi->direct_io = fs->p.direct_io;
	/*
	 * The kernel may keep its cached pages only if they are known current: a
	 * read lease has been held on this inode without a break since they were read.
	 */
	/* (a kept handle held its read lease all along: losing it closes it) */
	fi->keep_cache = !fs->p.direct_io && !(fi->flags & O_TRUNC) &&
			 (fs->p.loose || ((smbc_file_lease(fh->file) & SMB2_LEASE_READ_CACHING) &&
					  (reused || file_ino_read_leased(fs, ino, fh))));
	if (fuse_reply_open(req, fi) == -ENOENT) {
		file_unlist(fs, fh);
		file_free(fs, fh);
	}
}

/*
 * A read in flight, answered once: by its data, or with EINTR when the caller
 * is interrupted first (a hard mount waiting for a lost server must stay
 * killable, and the kernel waits for the daemon's answer even after SIGKILL).
 * Whoever moves state away from READ_PENDING answers. The completion then
 * unregisters the interrupt handler (fuse_req_interrupt_func waits for a
 * handler that is running) before it answers and frees; a handler that lost
 * the race returns without touching the request; one that won answers and
 * never touches the read again, which the completion then frees.
 * libfuse calls the handler at once, inside fuse_req_interrupt_func, if the
 * interrupt came first; answering there would free the request under
 * libfuse's feet, so a handler during registration only notes it (EARLY).
 */
enum { READ_REGISTERING, READ_EARLY, READ_PENDING, READ_DONE, READ_INTERRUPTED };

struct fs_read {
	fuse_req_t req;
	int state; /* atomic */
};

static void read_interrupted(fuse_req_t req, void *data)
{
	struct fs_read *r = data;
	int expect = READ_REGISTERING;
	if (__atomic_compare_exchange_n(&r->state, &expect, READ_EARLY, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return;
	expect = READ_PENDING;
	if (__atomic_compare_exchange_n(&r->state, &expect, READ_INTERRUPTED, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		fuse_reply_err(req, EINTR);
}

static void ra_fuse_reply(void *ctx, int err, const struct iovec *iov, int iovcnt)
{
	struct fs_read *r = ctx;
	fuse_req_t req = r->req;
	int expect = READ_PENDING;

	if (!__atomic_compare_exchange_n(&r->state, &expect, READ_DONE, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		free(r); /* answered with EINTR already */
		return;
	}
	fuse_req_interrupt_func(req, NULL, NULL);
	free(r);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_iov(req, iov, iovcnt);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc;

	if (!fh->ra) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* Read what this mount wrote: push out buffered writes to this inode first. */
	rc = files_sync(fs, ino, 1, 0);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	{
		struct fs_read *r = malloc(sizeof(*r));
		if (!r) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		int expect = READ_REGISTERING;
		r->req = req;
		r->state = READ_REGISTERING;
		fuse_req_interrupt_func(req, read_interrupted, r);
		if (!__atomic_compare_exchange_n(&r->state, &expect, READ_PENDING, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* interrupted before the read started */
			fuse_req_interrupt_func(req, NULL, NULL);
			free(r);
			fuse_reply_err(req, EINTR);
			return;
		}
		ra_read(fh->ra, (uint64_t)off, size, ra_fuse_reply, r);
	}
}

void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc = 0, rc2, closing = -1;

	if (fh->wb)
		rc = wb_flush(fh->wb); /* close() already saw errors through op_flush */
	if (fh->accmode != O_RDONLY)
		closing = file_closing_begin(fs, ino); /* before it leaves the list */
	defer_release_begin(fs); /* no unlink/rename between unlisting and parking */
	file_unlist(fs, fh);
	if (fh->accmode != O_RDONLY)
		pend_forget(fs, ino); /* another writer's local attributes miss our writes */
	if (fh->wb) {
		rc2 = wb_flush(fh->wb); /* what a files_sync() user may have left */
		if (!rc)
			rc = rc2;
	}
	rc2 = pend_flush(fs, fh); /* times and attributes set while it was open */
	if (!rc)
		rc = rc2;
	/*
	 * Under a handle lease the SMB handle may stay open for the next open;
	 * not while prefetched READs still use it (a parked handle can be
	 * closed and freed any time). The file is released: no new READs come.
	 */
	if (!rc && !ra_busy(fh->ra)) {
		char path[PATH_CAP];
		if (!ino_path(fs, fh->ino, NULL, path, sizeof(path)))
			(void)defer_park(fs, fh, fh->accmode, path);
	}
	defer_release_end(fs);
	rc2 = file_free(fs, fh);
	file_closing_end(fs, closing);
	if (!rc)
		rc = rc2;
	fuse_reply_err(req, rc ? -rc : 0);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	size_t chunk = fs->p.wsize, done = 0;
	pthread_mutex_t *alock;
	struct smb_stat st;
	ssize_t w = 0;
	int rc;

	/* Prefetched data of this inode is now stale (its attributes move in pend_wrote). */
	files_sync(fs, ino, 0, FILES_DROP_DATA);
	if (fh->wb) {
		struct smbc_lend lend;
		size_t piece = fs->p.wsize;
		if (fs->client->max_write && piece > fs->client->max_write)
			piece = fs->client->max_write;
		/* WRITEs of whole wsize pieces send straight from FUSE's buffer
		 * (a smaller write is copied: it would pin a whole request buffer) */
		w = wb_write_lent(fh->wb, (uint64_t)off, buf, size,
				  size >= piece && fs_loop_lend(buf, size, &lend) ? &lend : NULL);
		if (w < 0) {
			fuse_reply_err(req, (int)-w);
		} else {
			pend_wrote(fs, fh, (uint64_t)off + (uint64_t)w);
			fuse_reply_write(req, (size_t)w);
		}
		return;
	}
	/* O_APPEND: synchronous, at the server's end of file, under the inode's lock. */
	if (fs->client->max_write && chunk > fs->client->max_write)
		chunk = fs->client->max_write;
	alock = &append_locks[ino % APPEND_LOCKS];
	pthread_mutex_lock(alock);
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = smbc_query_fid(fs->client, fh->file, &st);
	if (rc) {
		pthread_mutex_unlock(alock);
		fuse_reply_err(req, -rc);
		return;
	}
	off = (off_t)st.size;
	while (done < size) {
		size_t n = size - done < chunk ? size - done : chunk;
		w = smbc_write(fs->client, fh->file, (uint64_t)off + done, buf + done, n);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	pthread_mutex_unlock(alock);
	if (!done && w <= 0) {
		fuse_reply_err(req, w < 0 ? (int)-w : EIO);
		return;
	}
	fuse_reply_write(req, done);
}

void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close(): everything written must be on the server, or the error reported. */
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc = 0;
	if (fh->wb) {
		/*
		 * Times and modes set while writing go now too, so whoever looks
		 * after close() sees them; after the data (Samba stamps a WRITE
		 * that arrives after the SET_INFO), in the same compound when small.
		 */
		rc = pend_flush_data(fs, fh);
	}
	if (fh->later_name) { /* created later: by now, or the error is close()'s */
		int rc2 = create_later_done(fs, fh);
		if (!rc)
			rc = rc2;
	}
	ext_flush_locks(fs, ino, fi->lock_owner); /* and the caller's POSIX locks go */
	fuse_reply_err(req, rc ? -rc : 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc;
	(void)datasync;
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = smbc_flush(fs->client, fh->file);
	fuse_reply_err(req, rc ? -rc : 0);
}

/*
 * Reply to mkdir (fi NULL; newdir: the ticket for its listing, see
 * keep_new_dir) or create (fi and fh: the new open file).
 */
void reply_new_entry(fuse_req_t req, struct smbfs *fs, fuse_ino_t parent, const char *name,
		     const struct smb_stat *st, struct fuse_file_info *fi,
		     struct smbfs_file *fh, const struct dc_ticket *newdir)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = itab_lookup_sid(fs->itab, parent, name, 1, file_sid(fs, st));
	int rc = ino ? 0 : -ENOMEM;

	neg_del(fs->neg, parent, name); /* it exists now */
	dc_note_add(fs->dc, parent, name, st); /* the parent's kept listing follows */

	if (fh) {
		fh->ino = ino;
		if (!rc)
			rc = file_start(fs, fh, fi->flags);
		if (rc) {
			if (ino)
				itab_forget(fs->itab, ino, 1);
			file_free(fs, fh);
		}
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (newdir)
		keep_new_dir(fs, ino, st, newdir);
	fill_entry(fs, ino, st, &e);
	if (fi) {
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			itab_forget(fs->itab, ino, 1);
			file_unlist(fs, fh);
			file_free(fs, fh);
		}
	} else if (fuse_reply_entry(req, &e) == -ENOENT) {
		itab_forget(fs->itab, ino, 1);
	}
}

/*
 * Creating a file later. `tar x`, `cp -r`, unpacking: open(O_CREAT|O_EXCL),
 * write, set times, close, file after file. A CREATE at open and the data
 * and times at close are two round trips per file; when the name is known
 * absent (the directory's kept listing, which follows this mount's own
 * changes, says so: dc_absent) the open answers at once and the CREATE goes
 * with the data and times at close, in one compound (smbc_open_later,
 * smbc_write_set_info). close() returns only once the server has the file.
 * Anything that could observe the file on the server first creates it (see
 * smbc_open_later). Another client creating the same name in between makes
 * an O_EXCL create fail: close() reports EEXIST and the name is looked up
 * afresh; without O_EXCL that file is opened (and truncated with O_TRUNC),
 * as the open would have done.
 * A file kept open is created within CREATE_LATER_MAX_S anyway (deferred.c's
 * timer), so other clients see it about as soon as they would have.
 * Not with cache=none, nolease, closetimeo=0, O_APPEND or a read-only open.
 */
int create_later_ok(struct smbfs *fs, fuse_ino_t parent, const char *name, int flags)
{
	/* (not over a node the kernel still holds: a file of that name that went
	 * on the server; its inode would become the new file's) */
	return fs->dc && fs->deferred && !fs->p.readonly &&
	       (flags & O_ACCMODE) != O_RDONLY && !(flags & O_APPEND) &&
	       smbc_leases_on(fs->client) && dc_absent(fs->dc, parent, name, NULL) == DC_ABSENT &&
	       !itab_find(fs->itab, parent, name);
}

/* The name is not ours after all: forget what this mount made of it. */
static void create_later_undo(struct smbfs *fs, fuse_ino_t parent, const char *name)
{
	itab_unlink(fs->itab, parent, name);
	dc_inval(fs->dc, parent);
	if (fs->se)
		(void)fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
}

int create_later_done(struct smbfs *fs, struct smbfs_file *fh)
{
	/* (two closes of dup'ed descriptors may flush at once: one takes it) */
	char *name = __atomic_exchange_n(&fh->later_name, NULL, __ATOMIC_ACQ_REL);
	int rc;

	if (!name)
		return 0;
	rc = smbc_create_now(fs->client, fh->file);
	if (rc) {
		LOG_WARN("creating a file failed at close: %s", strerror(-rc));
		create_later_undo(fs, fh->later_parent, name);
	}
	free(name);
	return rc;
}

/*
 * An open of ino while a file of it created later could not be created
 * (another client made the name first; found by the timer or another
 * operation): the name is that client's file, not this inode. ESTALE makes
 * the kernel look it up again; this inode keeps only what its own open has.
 */
static int create_later_lost(struct smbfs *fs, fuse_ino_t ino)
{
	fuse_ino_t parent = 0;
	char *name = NULL;

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && !name; f = f->next) {
		if (f->ino == ino && f->later_name && !smbc_file_later(f->file) &&
		    smbc_file_error(f->file)) {
			parent = f->later_parent;
			name = strdup(f->later_name);
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	if (!name)
		return 0;
	create_later_undo(fs, parent, name);
	free(name);
	return 1;
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi, int lazy)
{
	struct smbfs *fs = fs_of(req);
	struct smbc_open_args a;
	struct smbfs_file *fh;
	struct smb_stat st;
	char path[PATH_CAP];
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((rc = check_name(fs, name))) {
		fuse_reply_err(req, -rc);
		return;
	}
	fh = file_new(fs, 0, fi->flags);
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.access = access_for(fi->flags) | FILE_READ_ATTRIBUTES;
	a.disposition = (fi->flags & O_EXCL) ? FILE_CREATE
			: (fi->flags & O_TRUNC) ? FILE_OVERWRITE_IF
						: FILE_OPEN_IF;
	a.options = FILE_NON_DIRECTORY_FILE;
	a.lease_key = fh->lease_key;
	a.lease_state = SMB2_LEASE_READ_CACHING | SMB2_LEASE_WRITE_CACHING |
			SMB2_LEASE_HANDLE_CACHING;
	a.attrs = (mode & 0222) ? FILE_ATTRIBUTE_ARCHIVE
				: (FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_READONLY);
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc && lazy && (fh->later_name = strdup(name))) {
		struct timespec now;
		/* (as asked: O_EXCL fails at close if the name was taken meanwhile;
		 * without it another's file of that name is opened, as it would
		 * have been at open) */
		fh->later_parent = parent;
		rc = smbc_open_later(fs->client, path, &a, &fh->file);
		memset(&st, 0, sizeof(st));
		clock_gettime(CLOCK_REALTIME, &now);
		st.btime = st.atime = st.mtime = st.ctime = now;
		st.attrs = a.attrs;
		st.nlink = 1;
	} else if (!rc) {
		rc = open_leased(fs, fh, path, &a, &st); /* one compound */
	}
	if (rc) {
		free(fh->later_name);
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	pend_opened(fh, &st);
	fi->fh = (uintptr_t)fh;
	fi->direct_io = fs->p.direct_io;
	reply_new_entry(req, fs, parent, name, &st, fi, fh, NULL);
	if (lazy && fh->later_name && fh->ino)
		itab_set_flag(fs->itab, fh->ino, ITAB_FIXED_INO); /* its st_ino stays what the kernel saw */
}
