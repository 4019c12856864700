/*
 * ops_link.c - symlink, readlink, link, mknod, and the symlink and
 * special-file view of reparse points and XSym files (ext_fix_attr).
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
 */
#include "fs/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cache/negcache.h"
#include "client/ops_ext.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"

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
	ino = itab_lookup_sid(fs->itab, parent, name, 1, file_sid(fs, s));
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
	e.attr_timeout = attr_tmo(fs, &e.attr);
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
	if ((rc = check_name(fs, name))) {
		fuse_reply_err(req, -rc);
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

/* ------------------------------------------------------------------ special files */

/*
 * mknod: a regular file is created like open(O_CREAT|O_EXCL) would; FIFOs,
 * sockets and device nodes have no SMB form short of the NFS reparse points
 * (which Samba 4.17 cannot store), so they fail with EPERM, as on a
 * filesystem without special files (vfat) and as cifs.ko does without its
 * Unix-emulation options. Without this handler mkfifo(1) would see ENOSYS.
 */
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct smbfs *fs = fs_of(req);
	struct smbc_open_args a;
	struct smbc_file *f = NULL;
	struct smb_stat st;
	char path[PATH_CAP];
	int rc;

	(void)rdev;
	if (!S_ISREG(mode)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((rc = check_name(fs, name))) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
	a.disposition = FILE_CREATE;
	a.options = FILE_NON_DIRECTORY_FILE;
	a.attrs = (mode & 0222) ? FILE_ATTRIBUTE_ARCHIVE
				: (FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_READONLY);
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_open(fs->client, path, &a, &f, &st, NULL);
	if (!rc)
		(void)smbc_close(fs->client, f);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_new_entry(req, fs, parent, name, &st, NULL, NULL, NULL);
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
	if ((rc = check_name(fs, newname))) {
		fuse_reply_err(req, -rc);
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
