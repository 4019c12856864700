/*
 * ops_ext.c - the POSIX extras that are neither links, xattrs nor locks:
 * fallocate, lseek (SEEK_DATA/SEEK_HOLE), copy_file_range (server-side
 * copy), unlink and rename of open files, and the FUSE capabilities they
 * need (ext_init). Symlinks and hard links are in ops_link.c, extended
 * attributes in ops_xattr.c, byte-range locks and flock in ops_lock.c.
 *
 * Unlink of an open file. Deleting a file SMB still has open only marks it
 * delete-pending: the name stays taken until the last close (a new create
 * fails with STATUS_DELETE_PENDING). When this mount has the file open, it
 * is renamed to a hidden name in its directory first (".smbfuse" + hex, as
 * NFS does with .nfsXXXX) and deleted there, so the name is free at once
 * while reads and writes through the open handles go on; the server removes
 * the file at the last close.
 */
#include "fs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/ops_ext.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"

#define RANGES_PER_QUERY 64

/* ------------------------------------------------------------------ init */

void ext_init(struct smbfs *fs, struct fuse_conn_info *conn)
{
	/* nobrl: the kernel keeps locks local (libfuse enables remote locks for us). */
	if (fs->p.nobrl)
		conn->want &= ~(unsigned)(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
#ifdef FUSE_CAP_HANDLE_KILLPRIV_V2
	/*
	 * With a getxattr handler the kernel asks for security.capability before
	 * every write() unless the superblock is SB_NOSEC, which killpriv_v2
	 * sets (newer libfuse). Nothing here carries setuid bits or
	 * capabilities, so there is nothing to kill.
	 */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV_V2)
		conn->want |= FUSE_CAP_HANDLE_KILLPRIV_V2;
#endif
}

/* ------------------------------------------------------------------ sparse files and copies */

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	uint64_t off = (uint64_t)offset, end;
	struct smb_stat st;
	uint8_t buf[8];
	struct wbuf w;
	int rc;

	if (offset < 0 || length <= 0 || (uint64_t)length > (uint64_t)INT64_MAX - off) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	end = off + (uint64_t)length;
	/* Buffered writes land first; prefetched data is stale after. */
	rc = files_sync(fs, ino, 1, 1);
	if (!rc)
		rc = smbc_query_fid(fs->client, fh->file, &st);
	if (rc)
		goto out;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		/* Deallocation needs a sparse file; a server that cannot still zeroes. */
		if ((mode & FALLOC_FL_PUNCH_HOLE) && !(st.attrs & FILE_ATTRIBUTE_SPARSE_FILE))
			(void)smbc_set_sparse(fs->client, fh->file, 1);
		if (off < st.size)
			rc = smbc_zero_data(fs->client, fh->file, off,
					    end < st.size ? end : st.size);
		if (rc)
			goto out;
	} else if (end > st.alloc && end > st.size) {
		/* Reserve space: AllocationSize never below EndOfFile (Samba would truncate). */
		w = wbuf_init(buf, sizeof(buf));
		rc = fscc_u64_encode(&w, end) ? -EIO
		     : smbc_set_info_fid(fs->client, fh->file, FileAllocationInformation, buf,
					 (uint32_t)w.off);
		if (rc)
			goto out;
	}
	if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) && end > st.size) {
		w = wbuf_init(buf, sizeof(buf));
		rc = fscc_u64_encode(&w, end) ? -EIO
		     : smbc_set_info_fid(fs->client, fh->file, FileEndOfFileInformation, buf,
					 (uint32_t)w.off);
	}
out:
	fuse_reply_err(req, -rc);
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	struct alloc_range r[RANGES_PER_QUERY];
	struct smb_stat st;
	uint64_t pos, size;
	int rc;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = smbc_query_fid(fs->client, fh->file, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	size = st.size;
	pos = (uint64_t)off;
	if (pos >= size) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	/* Walk the allocated ranges from pos: data is inside one, a hole between them. */
	for (;;) {
		uint64_t start = pos;
		size_t n = 0, i;
		rc = smbc_query_ranges(fs->client, fh->file, pos, size - pos, r, RANGES_PER_QUERY,
				       &n);
		if (rc == -EOPNOTSUPP) {
			/* No allocation map: the whole file is data (what lseek(2) allows). */
			fuse_reply_lseek(req, whence == SEEK_DATA ? (off_t)pos : (off_t)size);
			return;
		}
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		for (i = 0; i < n; i++) {
			uint64_t rs = r[i].offset, re = r[i].offset + r[i].length;
			if (re <= pos)
				continue;
			if (whence == SEEK_DATA) {
				fuse_reply_lseek(req, (off_t)(rs > pos ? rs : pos));
				return;
			}
			if (rs > pos)
				break; /* a hole at pos */
			pos = re;
			if (pos >= size)
				break;
		}
		if (whence == SEEK_HOLE && (i < n || pos >= size || n < RANGES_PER_QUERY)) {
			/* a hole at pos, or the virtual hole at end of file */
			fuse_reply_lseek(req, (off_t)(pos < size ? pos : size));
			return;
		}
		if (whence == SEEK_DATA && n < RANGES_PER_QUERY) {
			fuse_reply_err(req, ENXIO); /* only a hole up to end of file */
			return;
		}
		if (n && r[n - 1].offset + r[n - 1].length > pos)
			pos = r[n - 1].offset + r[n - 1].length;
		/* A full answer that does not move us on breaks MS-FSCC 2.3.52: stop. */
		if (pos >= size || pos == start) {
			if (whence == SEEK_DATA)
				fuse_reply_err(req, ENXIO);
			else
				fuse_reply_lseek(req, (off_t)(pos < size ? pos : size));
			return;
		}
	}
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *in = (struct smbfs_file *)(uintptr_t)fi_in->fh;
	struct smbfs_file *out = (struct smbfs_file *)(uintptr_t)fi_out->fh;
	struct smb_stat st;
	ssize_t n;
	int rc;

	if (flags) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off_in < 0 || off_out < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* The server copies what it has: push out both files' buffered writes. */
	rc = files_sync(fs, ino_in, 1, 0);
	if (!rc)
		rc = files_sync(fs, ino_out, 1, 1);
	if (!rc)
		rc = smbc_query_fid(fs->client, in->file, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((uint64_t)off_in >= st.size || !len) {
		fuse_reply_write(req, 0);
		return;
	}
	if (len > st.size - (uint64_t)off_in)
		len = (size_t)(st.size - (uint64_t)off_in);
	n = smbc_copy_range(fs->client, in->file, (uint64_t)off_in, out->file, (uint64_t)off_out,
			    len);
	files_sync(fs, ino_out, 0, 1);
	if (n < 0) {
		/* EOPNOTSUPP/EXDEV let the kernel fall back to a plain copy. */
		fuse_reply_err(req, n == -EOPNOTSUPP || n == -EXDEV ? EOPNOTSUPP : (int)-n);
		return;
	}
	fuse_reply_write(req, (size_t)n);
}

/* ------------------------------------------------------------------ unlink of open files */

int ino_is_open(struct smbfs *fs, fuse_ino_t ino)
{
	int open = 0;
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && !open; f = f->next)
		open = f->ino == ino;
	pthread_mutex_unlock(&fs->files_lock);
	return open;
}

/*
 * Rename path (the open inode ino) to a hidden name in its directory: hidden
 * gets the new path, *base where its last component starts.
 */
static int hide(struct smbfs *fs, fuse_ino_t ino, const char *path, char *hidden, size_t cap,
		size_t *base)
{
	static unsigned long counter;
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	int rc;

	rc = snprintf(hidden, cap, "%.*s.smbfuse%08lx%08lx", (int)dlen, path,
		      (unsigned long)ino & 0xffffffffUL,
		      __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) & 0xffffffffUL);
	if (rc < 0 || (size_t)rc >= cap)
		return -ENAMETOOLONG;
	rc = smbc_rename(fs->client, path, hidden, 0);
	if (rc)
		return rc;
	files_renamed(fs, ino, hidden);
	*base = dlen;
	return 0;
}

/* Undo hide(): put the file back under its name. */
static void unhide(struct smbfs *fs, fuse_ino_t ino, const char *hidden, const char *path)
{
	if (!smbc_rename(fs->client, hidden, path, 0))
		files_renamed(fs, ino, path);
	else
		LOG_WARN("an open file stays under a hidden name after a failed unlink or rename");
}

/*
 * The hidden file is deleted (the server removes it at the last close). The
 * inode leaves the namespace, so that nothing done through it by path
 * reaches a new file of the old name (ESTALE); its attributes come from its
 * open handles (ext_stat).
 */
static int delete_hidden(struct smbfs *fs, fuse_ino_t parent, const char *name,
			 const char *hidden, size_t base)
{
	int rc = smbc_delete(fs->client, hidden, 0);
	if (rc == -EISDIR)
		rc = smbc_delete(fs->client, hidden, 1); /* an empty directory renamed over */
	(void)base;
	if (!rc)
		itab_unlink(fs->itab, parent, name);
	return rc;
}

int ext_stat(struct smbfs *fs, fuse_ino_t ino, const char *path, struct smb_stat *st)
{
	struct smbfs_file *fh = NULL;
	int rc;

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && !fh; f = f->next) {
		if (f->ino == ino) {
			fh = f;
			fh->users++;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	if (!fh)
		return path ? smbc_stat(fs->client, path, st) : -ESTALE;
	/* An open file: ask its handle (one request, and right even after unlink). */
	rc = smbc_query_fid(fs->client, fh->file, st);
	pthread_mutex_lock(&fs->files_lock);
	fh->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
	if ((rc == -EIO || rc == -EBADF) && path)
		rc = smbc_stat(fs->client, path, st); /* the handle was lost in a reconnect */
	return rc;
}

int ext_unlink(struct smbfs *fs, fuse_ino_t parent, const char *name, const char *path)
{
	fuse_ino_t ino = itab_find(fs->itab, parent, name);
	char hidden[PATH_CAP];
	size_t base;

	if (ino && ino_is_open(fs, ino)) {
		/* Buffered writes must reach the file while its name still works for a reopen. */
		(void)files_sync(fs, ino, 1, 0);
		if (!hide(fs, ino, path, hidden, sizeof(hidden), &base)) {
			int rc = delete_hidden(fs, parent, name, hidden, base);
			if (rc)
				unhide(fs, ino, hidden, path);
			return rc;
		}
	}
	return smbc_delete(fs->client, path, 0);
}

int ext_rename(struct smbfs *fs, fuse_ino_t newparent, const char *newname, const char *from,
	       const char *to, int replace)
{
	int rc = smbc_rename(fs->client, from, to, replace);
	char hidden[PATH_CAP];
	fuse_ino_t victim;
	size_t base;

	/*
	 * SMB refuses to replace a file that is open (Samba, Windows:
	 * ACCESS_DENIED); POSIX does it. If the open is ours, move the old file
	 * out of the way and try again; it is deleted only once the rename went
	 * through, and put back if it still does not.
	 */
	/*
	 * Not only when this mount has it open as far as it knows: an open of
	 * it may be on its way, or another client may hold it (with sharing that
	 * allows the move, as POSIX programs expect).
	 */
	if (rc != -EACCES || !replace || !(victim = itab_find(fs->itab, newparent, newname)))
		return rc;
	(void)files_sync(fs, victim, 1, 0);
	if (hide(fs, victim, to, hidden, sizeof(hidden), &base))
		return rc;
	rc = smbc_rename(fs->client, from, to, replace);
	if (rc) {
		unhide(fs, victim, hidden, to);
		return rc;
	}
	if (delete_hidden(fs, newparent, newname, hidden, base))
		LOG_WARN("a replaced open file stays under a hidden name");
	return 0;
}
