/*
 * ops_ext.c - the POSIX extras: symlink, readlink, link, xattrs, fallocate,
 * lseek (SEEK_DATA/SEEK_HOLE), copy_file_range, POSIX and BSD locks, and
 * unlink of open files.
 *
 * Symlinks. Without SMB3 POSIX extensions a symlink is either a reparse point
 * (IO_REPARSE_TAG_SYMLINK from Windows, the NFS and WSL forms) or, with the
 * `mfsymlinks` option, a Minshall-French "XSym" file: a 1067-byte regular
 * file holding the target, as cifs.ko writes them. ext_fix_attr() turns the
 * attributes of either into S_IFLNK wherever attributes reach the kernel
 * (lookup, getattr, setattr, readdirplus); it costs one extra compound only
 * for files that can be one (reparse points; 1067-byte files with
 * mfsymlinks). symlink() writes an XSym file with mfsymlinks, else tries a
 * reparse point, else fails with EPERM as a filesystem without symlinks
 * does. Samba 4.17 follows symlinks on the server itself ("follow symlinks",
 * hiding those that leave the share) and stores no reparse points.
 *
 * Locks. An SMB2 lock belongs to a handle; a POSIX lock to an owner (a
 * process, or an open file description for OFD locks and flock). Each open
 * file keeps the list of ranges every owner holds through it; each range is
 * exactly one SMB2 lock on the server. A POSIX request becomes a diff between
 * the owner's old and new ranges (splitting, upgrading, downgrading), applied
 * as: new shared locks first (they may stack on our own locks), then unlocks,
 * then new exclusive locks, rolled back on a refusal. Locks taken by another
 * owner through the same handle are checked here, since the server cannot
 * tell owners of one handle apart. flock() locks one byte beyond any POSIX
 * range, so that the two kinds never conflict, as on Linux. Blocking requests
 * (F_SETLKW, flock without LOCK_NB) never hold a FUSE worker: they wait on a
 * list served by one retry thread, which retries with a growing back-off
 * (5 ms .. 200 ms) and answers EINTR as soon as the kernel interrupts the
 * request. Polling costs up to 200 ms after a release, but leaves nothing
 * pending on the server across a reconnect and needs no SMB2 CANCEL (which
 * the connection layer does not offer). Buffered writes are flushed before a
 * lock is released or weakened, and prefetched data is dropped after one is
 * taken: what was written under a lock reaches the server before the unlock,
 * and what is read after a lock is fresh. Locks do not survive a reconnect.
 *
 * Server quirk (Samba 4.17, OFD locks under "posix locking"): when one
 * handle of a client unlocks a range that another handle of the same client
 * still holds, smbd keeps the first handle's fcntl lock, which then refuses
 * the client's own later exclusive locks on that range. Several processes
 * of one mount contending for one file (sqlite) need "smbd force process
 * locks = yes" on such a server; separate clients are not affected.
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
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cache/negcache.h"
#include "cache/writeback.h"
#include "client/ops_ext.h"
#include "log.h"
#include "wire/ea.h"
#include "wire/fscc.h"
#include "wire/smb2.h"

#define XATTR_USER "user."
#define XATTR_USER_LEN 5
#define RANGES_PER_QUERY 64
#define LK_BACKOFF_MIN_MS 5
#define LK_BACKOFF_MAX_MS 200
#define FLOCK_OWNER UINT64_MAX /* owner id of flock() locks: one per open file */
/*
 * flock() locks one byte at 2^63, out of reach of POSIX ranges (off_t stops at
 * 2^63 - 1): as on Linux, flock and fcntl locks never conflict with each
 * other, while flock locks of different clients do.
 */
#define FLOCK_BYTE (UINT64_C(1) << 63)
#define LK_EOF ((uint64_t)INT64_MAX) /* the end of "to end of file" (OFFSET_MAX) */

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

/* ------------------------------------------------------------------ symlinks */

/*
 * What the reparse point at path is: kind, and for a symlink its target
 * (when out is given). -ENODATA if it is none.
 */
static int rp_read(struct smbfs *fs, const char *path, enum reparse_kind *kind, char *out,
		   size_t cap, size_t *out_len)
{
	struct reparse_info ri;
	uint8_t *buf;
	uint32_t len;
	int rc;

	rc = smbc_get_reparse(fs->client, path, &buf, &len);
	if (rc)
		return rc;
	rc = reparse_decode(buf, len, &ri);
	if (rc) {
		LOG_WARN("malformed reparse point from server");
		rc = -EIO;
	} else {
		*kind = ri.kind;
		if (out && ri.kind == REPARSE_SYMLINK)
			rc = reparse_symlink_target(&ri, out, cap, out_len);
	}
	free(buf);
	return rc;
}

static void make_link_attr(struct stat *st, size_t target_len)
{
	st->st_mode = S_IFLNK | 0777;
	st->st_size = (off_t)target_len;
	st->st_nlink = 1;
}

void ext_fix_attr(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s, struct stat *st)
{
	char path[PATH_CAP], target[PATH_MAX];
	size_t tl = 0;
	int reparse = (s->attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
	int mf = fs->p.mfsymlinks && !(s->attrs & FILE_ATTRIBUTE_DIRECTORY) &&
		 mfsymlink_maybe(NULL, 0, s->size);

	if (!reparse && !mf)
		return;
	if (ino_path(fs, ino, NULL, path, sizeof(path)))
		return;
	if (mf && !smbc_read_mfsymlink(fs->client, path, target, sizeof(target), &tl)) {
		make_link_attr(st, tl);
		return;
	}
	if (reparse) {
		enum reparse_kind kind = REPARSE_OTHER;
		mode_t perm = st->st_mode & 07777;
		if (rp_read(fs, path, &kind, target, sizeof(target), &tl))
			return;
		switch (kind) {
		case REPARSE_SYMLINK:
			make_link_attr(st, tl);
			break;
		case REPARSE_FIFO:
			st->st_mode = S_IFIFO | perm;
			break;
		case REPARSE_SOCK:
			st->st_mode = S_IFSOCK | perm;
			break;
		case REPARSE_CHR:
			st->st_mode = S_IFCHR | perm;
			break;
		case REPARSE_BLK:
			st->st_mode = S_IFBLK | perm;
			break;
		default:
			break;
		}
		if (kind != REPARSE_OTHER && kind != REPARSE_SYMLINK)
			st->st_size = 0;
	}
}

void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP], target[PATH_MAX];
	enum reparse_kind kind = REPARSE_OTHER;
	size_t tl;
	int rc;

	rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	rc = -EINVAL;
	if (fs->p.mfsymlinks)
		rc = smbc_read_mfsymlink(fs->client, path, target, sizeof(target), &tl);
	if (rc) {
		rc = rp_read(fs, path, &kind, target, sizeof(target), &tl);
		if (!rc && kind != REPARSE_SYMLINK)
			rc = -EINVAL;
		if (rc == -ENODATA || rc == -EOPNOTSUPP || rc == -EISDIR)
			rc = -EINVAL; /* not a symlink */
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_readlink(req, target);
}

/* Reply to symlink/link with the entry (parent, name) of attributes st. */
static void reply_entry(fuse_req_t req, struct smbfs *fs, fuse_ino_t parent, const char *name,
			const struct smb_stat *s, size_t link_len)
{
	struct fuse_entry_param e;
	fuse_ino_t ino;

	neg_del(fs->neg, parent, name); /* it exists now */
	ino = itab_lookup(fs->itab, parent, name, 1);
	if (!ino) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	statmap_fill(&fs->p.pol, s, ino, &e.attr);
	if (link_len)
		make_link_attr(&e.attr, link_len);
	e.attr_timeout = fs->p.attr_timeout;
	e.entry_timeout = fs->p.attr_timeout;
	if (fuse_reply_entry(req, &e) == -ENOENT)
		itab_forget(fs->itab, ino, 1);
}

/* A symlink as a reparse point: native for relative targets (what Windows
 * clients follow), NFS-style otherwise (POSIX absolute paths mean nothing to
 * Windows), the other one if the server refuses the first. */
static int symlink_reparse(struct smbfs *fs, const char *path, const char *target,
			   struct smb_stat *st)
{
	uint8_t *rp = malloc(REPARSE_BUFFER_MAX);
	int order[2] = {target[0] != '/' ? 0 : 1, target[0] != '/' ? 1 : 0};
	int rc = -EOPNOTSUPP;

	if (!rp)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct wbuf w = wbuf_init(rp, REPARSE_BUFFER_MAX);
		rc = order[i] == 0 ? reparse_symlink_encode(&w, target)
				   : reparse_nfs_symlink_encode(&w, target);
		if (rc)
			break;
		rc = smbc_create_reparse(fs->client, path, rp, (uint32_t)w.off, 0, st);
		if (rc != -EPERM && rc != -EACCES)
			break;
	}
	free(rp);
	return rc;
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	struct smb_stat st;
	size_t tl = strlen(link);
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!valid_name(name)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (fs->p.mfsymlinks) {
		rc = smbc_create_mfsymlink(fs->client, path, link, &st);
	} else if (__atomic_load_n(&fs->no_reparse_symlinks, __ATOMIC_RELAXED)) {
		rc = -EPERM;
	} else {
		rc = symlink_reparse(fs, path, link, &st);
		if (rc == -EOPNOTSUPP) {
			/* The server stores no reparse points (Samba 4.17): stop asking. */
			__atomic_store_n(&fs->no_reparse_symlinks, 1, __ATOMIC_RELAXED);
			LOG_INFO("the server cannot store symlinks; mount with mfsymlinks to create them");
		}
		if (rc == -EOPNOTSUPP || rc == -EACCES)
			rc = -EPERM;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(req, fs, parent, name, &st, tl);
}

/* ------------------------------------------------------------------ hard links */

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct smbfs *fs = fs_of(req);
	char from[PATH_CAP], to[PATH_CAP];
	struct smb_stat st;
	struct stat tmp;
	size_t tl = 0;
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!valid_name(newname)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = ino_path(fs, ino, NULL, from, sizeof(from));
	if (!rc)
		rc = ino_path(fs, newparent, newname, to, sizeof(to));
	if (!rc)
		rc = smbc_link(fs->client, from, to, 0, &st);
	if (rc == -EISDIR || rc == -ENOTDIR)
		rc = -EPERM; /* link(2) on a directory */
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* The kernel keeps the old name's attributes: its link count just changed. */
	if (fs->se)
		(void)fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	/* A link to a symlink is a symlink too (the kernel checks the type). */
	statmap_fill(&fs->p.pol, &st, ino, &tmp);
	if ((st.attrs & FILE_ATTRIBUTE_REPARSE_POINT) ||
	    (fs->p.mfsymlinks && mfsymlink_maybe(NULL, 0, st.size))) {
		ext_fix_attr(fs, ino, &st, &tmp);
		if (S_ISLNK(tmp.st_mode))
			tl = (size_t)tmp.st_size;
	}
	reply_entry(req, fs, newparent, newname, &st, tl);
}

/* ------------------------------------------------------------------ extended attributes */

/* The EA name behind a user.* xattr name, or -EOPNOTSUPP for other namespaces. */
static int ea_name_of(const char *xname, const char **ea, size_t *len)
{
	if (strncmp(xname, XATTR_USER, XATTR_USER_LEN))
		return -EOPNOTSUPP;
	*ea = xname + XATTR_USER_LEN;
	*len = strlen(*ea);
	if (!*len)
		return -EINVAL;
	if (*len > EA_NAME_MAX)
		return -ERANGE;
	/* Characters an EA name may not hold (MS-FSCC 2.4.15: ASCII, no control characters;
	 * Windows and Samba also refuse these). */
	for (const char *p = *ea; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"*+,/:;<=>?[\\]|", *p))
			return -EINVAL;
	return 0;
}

/* Find EA name in a list: 1 found (*e set), 0 not there, -EIO if malformed. */
static int ea_find(const uint8_t *list, uint32_t len, const char *name, size_t nlen,
		   struct ea_entry *e)
{
	struct ea_iter it;
	int rc;

	ea_iter_init(&it, list, len);
	while ((rc = ea_iter_next(&it, e)) == 1)
		if (e->name_len == nlen && !strncasecmp(e->name, name, nlen))
			return 1;
	if (rc < 0) {
		LOG_WARN("malformed EA list from server");
		return -EIO;
	}
	return 0;
}

/* Fetch the EAs of ino. */
static int eas_of(struct smbfs *fs, fuse_ino_t ino, char *path, uint8_t **list, uint32_t *len)
{
	int rc = ino_path(fs, ino, NULL, path, PATH_CAP);
	if (!rc)
		rc = smbc_get_eas(fs->client, path, list, len);
	return rc;
}

/*
 * nouser_xattr: ENOSYS makes the kernel stop sending that xattr operation
 * (EOPNOTSUPP from then on), which also ends its security.capability
 * question before each write().
 */
static int xattrs_off(fuse_req_t req, struct smbfs *fs)
{
	if (!fs->p.nouser_xattr)
		return 0;
	fuse_reply_err(req, ENOSYS);
	return 1;
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	rc = ea_name_of(name, &ea, &nlen);
	if (rc == -EOPNOTSUPP || rc == -EINVAL || rc == -ERANGE)
		rc = -ENODATA; /* no such attribute can exist here */
	if (!rc)
		rc = eas_of(fs, ino, path, &list, &len);
	if (!rc) {
		rc = ea_find(list, len, ea, nlen, &e);
		rc = rc == 1 ? 0 : rc == 0 ? -ENODATA : rc;
	}
	if (rc) {
		free(list);
		fuse_reply_err(req, -rc);
		return;
	}
	if (!size)
		fuse_reply_xattr(req, e.value_len);
	else if (size < e.value_len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)e.value, e.value_len);
	free(list);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	struct ea_iter it;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	char *out = NULL;
	size_t need = 0, pos = 0;
	int rc;

	if (xattrs_off(req, fs))
		return;
	rc = eas_of(fs, ino, path, &list, &len);
	if (rc == -EOPNOTSUPP) {
		rc = 0; /* a share without EAs has no xattrs to list */
		len = 0;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	ea_iter_init(&it, list, len);
	while ((rc = ea_iter_next(&it, &e)) == 1)
		need += XATTR_USER_LEN + e.name_len + 1;
	if (rc < 0) {
		free(list);
		fuse_reply_err(req, EIO);
		return;
	}
	if (!size) {
		free(list);
		fuse_reply_xattr(req, need);
		return;
	}
	if (size < need) {
		free(list);
		fuse_reply_err(req, ERANGE);
		return;
	}
	out = malloc(need ? need : 1);
	if (!out) {
		free(list);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ea_iter_init(&it, list, len);
	while (ea_iter_next(&it, &e) == 1) {
		memcpy(out + pos, XATTR_USER, XATTR_USER_LEN);
		memcpy(out + pos + XATTR_USER_LEN, e.name, e.name_len);
		pos += XATTR_USER_LEN + e.name_len;
		out[pos++] = '\0';
	}
	fuse_reply_buf(req, out, pos);
	free(out);
	free(list);
}

/* Set (value_len > 0) or delete (value NULL) one EA. */
static int ea_put(struct smbfs *fs, const char *path, const char *ea, size_t nlen,
		  const void *value, size_t value_len)
{
	size_t cap = 16 + nlen + value_len;
	uint8_t *buf = malloc(cap);
	struct wbuf w = wbuf_init(buf, cap);
	struct ea_list l;
	int rc;

	if (!buf)
		return -ENOMEM;
	ea_list_init(&l, &w);
	rc = ea_list_add(&l, ea, nlen, value, value_len, 0);
	if (!rc)
		rc = smbc_set_eas(fs->client, path, buf, (uint32_t)ea_list_len(&l));
	free(buf);
	return rc;
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ea_name_of(name, &ea, &nlen);
	/*
	 * An EA of length 0 does not exist in SMB: writing one deletes the EA
	 * (MS-FSCC 2.4.15). Refuse rather than turn setxattr into removexattr.
	 */
	if (!rc && size == 0)
		rc = -EINVAL;
	if (!rc && size > EA_VALUE_MAX)
		rc = -E2BIG;
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc && (flags & (XATTR_CREATE | XATTR_REPLACE))) {
		uint8_t *list = NULL;
		uint32_t len = 0;
		struct ea_entry e;
		rc = smbc_get_eas(fs->client, path, &list, &len);
		if (!rc) {
			rc = ea_find(list, len, ea, nlen, &e);
			if (rc == 1)
				rc = (flags & XATTR_CREATE) ? -EEXIST : 0;
			else if (rc == 0)
				rc = (flags & XATTR_REPLACE) ? -ENODATA : 0;
		}
		free(list);
	}
	if (!rc)
		rc = ea_put(fs, path, ea, nlen, value, size);
	fuse_reply_err(req, -rc);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ea_name_of(name, &ea, &nlen);
	if (rc == -EINVAL || rc == -ERANGE)
		rc = -ENODATA;
	if (!rc)
		rc = eas_of(fs, ino, path, &list, &len);
	/* Deleting an EA that is not there succeeds in SMB; POSIX wants ENODATA. */
	if (!rc) {
		rc = ea_find(list, len, ea, nlen, &e);
		rc = rc == 1 ? 0 : rc == 0 ? -ENODATA : rc;
	}
	if (!rc) {
		char exact[EA_NAME_MAX + 1];
		memcpy(exact, e.name, e.name_len); /* the name as the server spells it */
		exact[e.name_len] = '\0';
		rc = ea_put(fs, path, exact, e.name_len, NULL, 0);
	}
	free(list);
	fuse_reply_err(req, -rc);
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

static int ino_is_open(struct smbfs *fs, fuse_ino_t ino)
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
 * inode now answers to the hidden name, so that nothing done through it by
 * path (fsetxattr, ...) reaches a new file of the old name; its attributes
 * come from its open handles (ext_stat).
 */
static int delete_hidden(struct smbfs *fs, fuse_ino_t parent, const char *name,
			 const char *hidden, size_t base)
{
	int rc = smbc_delete(fs->client, hidden, 0);
	if (!rc)
		(void)itab_rename(fs->itab, parent, name, parent, hidden + base);
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
		return smbc_stat(fs->client, path, st);
	/* An open file: ask its handle (one request, and right even after unlink). */
	rc = smbc_query_fid(fs->client, fh->file, st);
	pthread_mutex_lock(&fs->files_lock);
	fh->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
	if (rc == -EIO || rc == -EBADF)
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
	if (rc != -EACCES || !replace || !(victim = itab_find(fs->itab, newparent, newname)) ||
	    !ino_is_open(fs, victim))
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

/* ------------------------------------------------------------------ locks: state */

struct lk_seg {
	uint64_t owner;
	uint64_t start, end; /* inclusive */
	short type;          /* F_RDLCK / F_WRLCK */
	pid_t pid;
};

/* Locks held through one open file; hangs off smbfs_file.locks. */
struct ext_locks {
	pthread_mutex_t m; /* serialises lock changes on this handle (held across LOCKs) */
	struct lk_seg *segs;
	size_t n, cap;
};

static pthread_mutex_t lk_create_lock = PTHREAD_MUTEX_INITIALIZER;

static struct ext_locks *locks_of(struct smbfs_file *fh, int create)
{
	struct ext_locks *l = __atomic_load_n(&fh->locks, __ATOMIC_ACQUIRE);
	if (l || !create)
		return l;
	pthread_mutex_lock(&lk_create_lock);
	l = fh->locks;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l) {
			pthread_mutex_init(&l->m, NULL);
			__atomic_store_n(&fh->locks, l, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&lk_create_lock);
	return l;
}

void ext_file_free(struct smbfs *fs, struct smbfs_file *fh)
{
	struct ext_locks *l = fh->locks;
	(void)fs;
	if (!l)
		return;
	/* The server drops the handle's locks when it is closed. */
	pthread_mutex_destroy(&l->m);
	free(l->segs);
	free(l);
	fh->locks = NULL;
}

static int overlaps(const struct lk_seg *s, uint64_t start, uint64_t end)
{
	return s->start <= end && start <= s->end;
}

static struct smb2_lock_element lk_elem(const struct lk_seg *s, uint32_t flags)
{
	struct smb2_lock_element e = {.offset = s->start, .length = s->end - s->start + 1,
				      .flags = flags};
	return e;
}

static int lk_server_lock(struct smbfs *fs, struct smbfs_file *fh, const struct lk_seg *s)
{
	struct smb2_lock_element e = lk_elem(s, (s->type == F_WRLCK ? SMB2_LOCKFLAG_EXCLUSIVE_LOCK
								    : SMB2_LOCKFLAG_SHARED_LOCK) |
						       SMB2_LOCKFLAG_FAIL_IMMEDIATELY);
	return smbc_lock(fs->client, fh->file, &e, 1);
}

/* Unlock ranges on the server; a range the server no longer has is not an error. */
static void lk_server_unlock(struct smbfs *fs, struct smbfs_file *fh, const struct lk_seg *segs,
			     size_t n)
{
	for (size_t i = 0; i < n;) {
		struct smb2_lock_element e[SMB2_LOCK_MAX_ELEMENTS];
		uint16_t k = 0;
		int rc;
		while (i < n && k < SMB2_LOCK_MAX_ELEMENTS)
			e[k++] = lk_elem(&segs[i++], SMB2_LOCKFLAG_UNLOCK);
		rc = smbc_lock(fs->client, fh->file, e, k);
		if (rc && k > 1) {
			/* One range the server forgot (a reconnect) fails the batch: one by one. */
			for (uint16_t j = 0; j < k; j++)
				(void)smbc_lock(fs->client, fh->file, &e[j], 1);
		} else if (rc) {
			LOG_DBG("unlock: %s", strerror(-rc));
		}
	}
}

static int seg_in(const struct lk_seg *s, const struct lk_seg *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].start == s->start && list[i].end == s->end && list[i].type == s->type)
			return 1;
	return 0;
}

static int seg_push(struct lk_seg **v, size_t *n, size_t *cap, const struct lk_seg *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct lk_seg *nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *s;
	return 0;
}

/*
 * Apply a POSIX lock request of owner on fh (l->m held): type F_RDLCK,
 * F_WRLCK or F_UNLCK over [start, end]. Returns 0, -EAGAIN (held by someone
 * else), or -errno; on failure the owner's locks are as they were.
 */
static int lk_apply(struct smbfs *fs, struct smbfs_file *fh, struct ext_locks *l, uint64_t owner,
		    short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct lk_seg *old = NULL, *nw = NULL, *add_rd = NULL, *add_wr = NULL, *del = NULL;
	size_t nold = 0, cold = 0, nnew = 0, cnew = 0, nrd = 0, crd = 0, nwr = 0, cwr = 0,
	       ndel = 0, cdel = 0, done_rd = 0, done_wr = 0, i;
	struct lk_seg want = {.owner = owner, .start = start, .end = end, .type = type, .pid = pid};
	int rc = 0;

	for (i = 0; i < l->n; i++) {
		const struct lk_seg *s = &l->segs[i];
		if (s->owner == owner) {
			/* Already held as asked: nothing to do. */
			if (type != F_UNLCK && s->type == type && s->start <= start && s->end >= end)
				return 0;
			continue;
		}
		if (type != F_UNLCK && overlaps(s, start, end) &&
		    (type == F_WRLCK || s->type == F_WRLCK))
			return -EAGAIN; /* another owner, same handle: the server cannot tell */
	}
	/* The owner's ranges before and after. */
	for (i = 0; i < l->n && !rc; i++) {
		struct lk_seg s = l->segs[i];
		if (s.owner != owner)
			continue;
		rc = seg_push(&old, &nold, &cold, &s);
		if (rc || !overlaps(&s, start, end)) {
			if (!rc)
				rc = seg_push(&nw, &nnew, &cnew, &s);
			continue;
		}
		if (s.start < start) {
			struct lk_seg left = s;
			left.end = start - 1;
			rc = seg_push(&nw, &nnew, &cnew, &left);
		}
		if (!rc && s.end > end) {
			struct lk_seg right = s;
			right.start = end + 1;
			rc = seg_push(&nw, &nnew, &cnew, &right);
		}
	}
	if (!rc && type != F_UNLCK)
		rc = seg_push(&nw, &nnew, &cnew, &want);
	/* The diff, as server operations. */
	for (i = 0; i < nnew && !rc; i++)
		if (!seg_in(&nw[i], old, nold))
			rc = nw[i].type == F_RDLCK ? seg_push(&add_rd, &nrd, &crd, &nw[i])
						   : seg_push(&add_wr, &nwr, &cwr, &nw[i]);
	for (i = 0; i < nold && !rc; i++)
		if (!seg_in(&old[i], nw, nnew))
			rc = seg_push(&del, &ndel, &cdel, &old[i]);
	if (rc)
		goto out;
	/* Shared locks first: they stack on our own exclusive ones (Samba brl_conflict). */
	for (; done_rd < nrd; done_rd++) {
		rc = lk_server_lock(fs, fh, &add_rd[done_rd]);
		if (rc)
			goto undo;
	}
	if (ndel)
		lk_server_unlock(fs, fh, del, ndel);
	for (; done_wr < nwr; done_wr++) {
		rc = lk_server_lock(fs, fh, &add_wr[done_wr]);
		if (rc)
			goto undo;
	}
	/* Commit: the owner's list is nw. */
	{
		size_t k = 0;
		for (i = 0; i < l->n; i++)
			if (l->segs[i].owner != owner)
				l->segs[k++] = l->segs[i];
		l->n = k;
		for (i = 0; i < nnew && !rc; i++)
			rc = seg_push(&l->segs, &l->n, &l->cap, &nw[i]);
		if (rc) {
			/* Cannot track them: release what we could not record. */
			lk_server_unlock(fs, fh, nw + i - 1, nnew - i + 1);
		}
	}
	goto out;
undo:
	if (done_wr)
		lk_server_unlock(fs, fh, add_wr, done_wr);
	if (ndel && (done_wr || nwr)) {
		/* Take back what we released, shared before exclusive. */
		for (i = 0; i < ndel; i++)
			if (del[i].type == F_RDLCK && lk_server_lock(fs, fh, &del[i]))
				LOG_WARN("lost a shared lock while undoing a refused lock");
		for (i = 0; i < ndel; i++)
			if (del[i].type == F_WRLCK && lk_server_lock(fs, fh, &del[i]))
				LOG_WARN("lost an exclusive lock while undoing a refused lock");
	}
	if (done_rd)
		lk_server_unlock(fs, fh, add_rd, done_rd);
out:
	free(old);
	free(nw);
	free(add_rd);
	free(add_wr);
	free(del);
	return rc;
}

/*
 * Would owner's lock of type over [start, end] be refused? Fills *conflict
 * (type F_UNLCK when not). Locks of other owners on this handle are known
 * here; the server is asked by taking and dropping the lock where the owner
 * holds nothing itself (where it holds a lock no other handle can hold an
 * exclusive one, and where it holds an exclusive one nobody else holds any).
 */
static int lk_test(struct smbfs *fs, struct smbfs_file *fh, struct ext_locks *l, uint64_t owner,
		   short type, uint64_t start, uint64_t end, struct flock *conflict)
{
	uint64_t pos = start;
	int rc = 0;

	conflict->l_type = F_UNLCK;
	for (size_t i = 0; i < l->n; i++) {
		const struct lk_seg *s = &l->segs[i];
		if (s->owner != owner && overlaps(s, start, end) &&
		    (type == F_WRLCK || s->type == F_WRLCK)) {
			conflict->l_type = s->type;
			conflict->l_whence = SEEK_SET;
			conflict->l_start = (off_t)s->start;
			conflict->l_len = s->end >= LK_EOF ? 0 : (off_t)(s->end - s->start + 1);
			conflict->l_pid = s->pid;
			return 0;
		}
	}
	/* The gaps between the owner's own ranges, in order. */
	while (pos <= end && !rc) {
		uint64_t gap_end = end, next = UINT64_MAX;
		int covered = 0;
		for (size_t i = 0; i < l->n; i++) {
			const struct lk_seg *s = &l->segs[i];
			if (s->owner != owner)
				continue;
			if (s->start <= pos && s->end >= pos) {
				covered = 1;
				next = s->end;
				break;
			}
			if (s->start > pos && s->start <= gap_end)
				gap_end = s->start - 1;
		}
		if (covered) {
			if (next >= end)
				break;
			pos = next + 1;
			continue;
		}
		{
			struct lk_seg g = {.owner = owner, .start = pos, .end = gap_end, .type = type};
			rc = lk_server_lock(fs, fh, &g);
			if (!rc) {
				lk_server_unlock(fs, fh, &g, 1);
			} else if (rc == -EAGAIN) {
				short held = F_WRLCK;
				rc = 0;
				if (type == F_WRLCK) {
					/* Is it only shared? A shared test lock would then pass. */
					g.type = F_RDLCK;
					if (!lk_server_lock(fs, fh, &g)) {
						lk_server_unlock(fs, fh, &g, 1);
						held = F_RDLCK;
					}
				}
				conflict->l_type = held;
				conflict->l_whence = SEEK_SET;
				conflict->l_start = (off_t)g.start;
				conflict->l_len = g.end >= LK_EOF ? 0 : (off_t)(g.end - g.start + 1);
				conflict->l_pid = 0; /* a process on another client or handle */
				return 0;
			}
		}
		if (gap_end >= end)
			break;
		pos = gap_end + 1;
	}
	return rc;
}

/* [start, end] of a struct flock from libfuse (l_whence SEEK_SET, l_len 0 = to EOF). */
static int lk_range(const struct flock *fl, uint64_t *start, uint64_t *end)
{
	if (fl->l_start < 0 || fl->l_len < 0)
		return -EINVAL;
	*start = (uint64_t)fl->l_start;
	if (fl->l_len == 0)
		*end = LK_EOF;
	else if ((uint64_t)fl->l_len - 1 > LK_EOF - *start)
		return -EINVAL;
	else
		*end = *start + (uint64_t)fl->l_len - 1;
	return 0;
}

/* One attempt at a lock change, with the cache rules around it. */
static int lk_try(struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *fh, uint64_t owner,
		  short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct ext_locks *l = locks_of(fh, type != F_UNLCK);
	int rc;

	if (!l)
		return type == F_UNLCK ? 0 : -ENOMEM;
	/*
	 * What was written under a lock reaches the server before the lock goes
	 * or weakens (unlock, downgrade); taking an exclusive lock needs no flush.
	 */
	if (type != F_WRLCK) {
		rc = files_sync(fs, ino, 1, 0);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&l->m);
	rc = lk_apply(fs, fh, l, owner, type, start, end, pid);
	LOG_DBG("lock fh %p owner %llx type %d [%llu, %llu]: %d (%zu held)", (void *)fh,
		(unsigned long long)owner, type, (unsigned long long)start,
		(unsigned long long)end, rc, l->n);
	pthread_mutex_unlock(&l->m);
	if (!rc && type != F_UNLCK)
		files_sync(fs, ino, 0, 1); /* read what others wrote before we got it */
	return rc;
}

void ext_flush_locks(struct smbfs *fs, fuse_ino_t ino, uint64_t owner)
{
	struct smbfs_file *list[32];
	int n = 0;

	/* close(): the process's POSIX locks on the file go, whichever descriptor took them. */
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && n < 32; f = f->next) {
		struct ext_locks *l = __atomic_load_n(&f->locks, __ATOMIC_ACQUIRE);
		if (f->ino == ino && l) {
			f->users++;
			list[n++] = f;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	for (int i = 0; i < n; i++) {
		struct ext_locks *l = list[i]->locks;
		int held = 0;
		pthread_mutex_lock(&l->m);
		for (size_t k = 0; k < l->n && !held; k++)
			held = l->segs[k].owner == owner;
		if (held)
			(void)lk_apply(fs, list[i], l, owner, F_UNLCK, 0, UINT64_MAX - 1, 0);
		pthread_mutex_unlock(&l->m);
	}
	pthread_mutex_lock(&fs->files_lock);
	for (int i = 0; i < n; i++)
		list[i]->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
}

/* ------------------------------------------------------------------ locks: waiting */

/*
 * Blocking requests wait here, not in a FUSE worker. One thread per process
 * retries them; the interrupt callback only flags them (it finds its request
 * by fuse_req_t under wq.m, so it never touches a waiter already answered).
 */
struct lk_wait {
	struct lk_wait *next;
	fuse_req_t req;
	struct smbfs *fs;
	fuse_ino_t ino;
	struct smbfs_file *fh;
	uint64_t owner;
	short type;
	uint64_t start, end;
	pid_t pid;
	int interrupted; /* protected by wq.m */
	int busy;        /* protected by wq.m: the retry thread is trying it */
	int backoff_ms;
	struct timespec due;
};

static struct {
	pthread_mutex_t m;
	pthread_cond_t cv;    /* work for the retry thread */
	pthread_cond_t done;  /* a waiter was answered (ext_destroy) */
	struct lk_wait *head; /* protected by m */
	int started;          /* protected by m */
} wq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};

static void ts_add_ms(struct timespec *t, int ms)
{
	t->tv_nsec += (long)ms * 1000000L;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void wq_interrupt(fuse_req_t req, void *data)
{
	(void)data;
	pthread_mutex_lock(&wq.m);
	for (struct lk_wait *w = wq.head; w; w = w->next)
		if (w->req == req)
			w->interrupted = 1;
	pthread_cond_broadcast(&wq.cv);
	pthread_mutex_unlock(&wq.m);
}

static void wq_remove(struct lk_wait *w)
{
	for (struct lk_wait **pp = &wq.head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static void *wq_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wq.m);
	for (;;) {
		struct lk_wait *w, *pick = NULL, *gone = NULL;
		struct timespec now, next = {0, 0};
		int have_next = 0, rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (w = wq.head; w && !pick && !gone; w = w->next) {
			if (w->busy)
				continue;
			if (w->interrupted)
				gone = w;
			else if (!ts_before(&now, &w->due))
				pick = w;
			else if (!have_next || ts_before(&w->due, &next)) {
				next = w->due;
				have_next = 1;
			}
		}
		if (gone) {
			wq_remove(gone);
			pthread_mutex_unlock(&wq.m);
			fuse_reply_err(gone->req, EINTR);
			free(gone);
			pthread_mutex_lock(&wq.m);
			pthread_cond_broadcast(&wq.done);
			continue;
		}
		if (!pick) {
			if (have_next) /* the condvar runs on CLOCK_MONOTONIC (lk_park) */
				pthread_cond_timedwait(&wq.cv, &wq.m, &next);
			else
				pthread_cond_wait(&wq.cv, &wq.m);
			continue;
		}
		pick->busy = 1;
		pthread_mutex_unlock(&wq.m);
		rc = lk_try(pick->fs, pick->ino, pick->fh, pick->owner, pick->type, pick->start,
			    pick->end, pick->pid);
		pthread_mutex_lock(&wq.m);
		pick->busy = 0;
		if (rc == -EAGAIN && !pick->interrupted) {
			clock_gettime(CLOCK_MONOTONIC, &pick->due);
			ts_add_ms(&pick->due, pick->backoff_ms);
			pick->backoff_ms = pick->backoff_ms * 2 > LK_BACKOFF_MAX_MS
						   ? LK_BACKOFF_MAX_MS
						   : pick->backoff_ms * 2;
			continue;
		}
		wq_remove(pick);
		pthread_mutex_unlock(&wq.m);
		/* Granted (even if interrupted meanwhile: the lock is held, so say so). */
		fuse_reply_err(pick->req, rc == -EAGAIN ? EINTR : -rc);
		free(pick);
		pthread_mutex_lock(&wq.m);
		pthread_cond_broadcast(&wq.done);
	}
	return NULL;
}

void ext_destroy(struct smbfs *fs)
{
	pthread_mutex_lock(&wq.m);
	for (;;) {
		int left = 0;
		for (struct lk_wait *w = wq.head; w; w = w->next) {
			if (w->fs == fs) {
				w->interrupted = 1; /* the retry thread answers EINTR */
				left = 1;
			}
		}
		if (!left)
			break;
		pthread_cond_broadcast(&wq.cv);
		pthread_cond_wait(&wq.done, &wq.m);
	}
	pthread_mutex_unlock(&wq.m);
}

/* Park a blocking request; the retry thread answers it. */
static void lk_park(fuse_req_t req, struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *fh,
		    uint64_t owner, short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct lk_wait *w = calloc(1, sizeof(*w));
	int rc = 0;

	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->fs = fs;
	w->ino = ino;
	w->fh = fh;
	w->owner = owner;
	w->type = type;
	w->start = start;
	w->end = end;
	w->pid = pid;
	w->backoff_ms = LK_BACKOFF_MIN_MS;
	clock_gettime(CLOCK_MONOTONIC, &w->due);
	ts_add_ms(&w->due, LK_BACKOFF_MIN_MS);
	pthread_mutex_lock(&wq.m);
	if (!wq.started) {
		pthread_condattr_t ca;
		pthread_attr_t ta;
		pthread_t th;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_destroy(&wq.cv);
		pthread_cond_init(&wq.cv, &ca);
		pthread_condattr_destroy(&ca);
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		rc = -pthread_create(&th, &ta, wq_thread, NULL);
		pthread_attr_destroy(&ta);
		if (!rc)
			wq.started = 1;
	}
	if (!rc) {
		w->next = wq.head;
		wq.head = w;
		pthread_cond_broadcast(&wq.cv);
	}
	pthread_mutex_unlock(&wq.m);
	if (rc) {
		free(w);
		fuse_reply_err(req, -rc);
		return;
	}
	/* May call wq_interrupt at once if the request was already interrupted. */
	fuse_req_interrupt_func(req, wq_interrupt, NULL);
}

/* ------------------------------------------------------------------ locks: operations */

void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	struct ext_locks *l;
	struct flock out;
	uint64_t start, end;
	int rc;

	(void)ino;
	rc = lk_range(lock, &start, &end);
	if (!rc && lock->l_type != F_RDLCK && lock->l_type != F_WRLCK)
		rc = -EINVAL;
	if (!rc && !(l = locks_of(fh, 1)))
		rc = -ENOMEM;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&out, 0, sizeof(out));
	pthread_mutex_lock(&l->m);
	rc = lk_test(fs, fh, l, fi->lock_owner, lock->l_type, start, end, &out);
	pthread_mutex_unlock(&l->m);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (out.l_type == F_UNLCK) {
		out = *lock;
		out.l_type = F_UNLCK;
	}
	fuse_reply_lock(req, &out);
}

void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	uint64_t start, end;
	int rc;

	rc = lk_range(lock, &start, &end);
	if (!rc && lock->l_type != F_RDLCK && lock->l_type != F_WRLCK && lock->l_type != F_UNLCK)
		rc = -EINVAL;
	if (!rc)
		rc = lk_try(fs, ino, fh, fi->lock_owner, lock->l_type, start, end, lock->l_pid);
	if (rc == -EAGAIN && sleep) {
		lk_park(req, fs, ino, fh, fi->lock_owner, lock->l_type, start, end, lock->l_pid);
		return;
	}
	fuse_reply_err(req, -rc);
}

void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	short type;
	int rc;

	switch (op & (LOCK_SH | LOCK_EX | LOCK_UN)) {
	case LOCK_SH:
		type = F_RDLCK;
		break;
	case LOCK_EX:
		type = F_WRLCK;
		break;
	case LOCK_UN:
		type = F_UNLCK;
		break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* One flock() owner per open file description, i.e. per handle. */
	rc = lk_try(fs, ino, fh, FLOCK_OWNER, type, FLOCK_BYTE, FLOCK_BYTE, 0);
	if (rc == -EAGAIN && !(op & LOCK_NB)) {
		lk_park(req, fs, ino, fh, FLOCK_OWNER, type, FLOCK_BYTE, FLOCK_BYTE, 0);
		return;
	}
	fuse_reply_err(req, rc == -EAGAIN ? EWOULDBLOCK : -rc);
}
