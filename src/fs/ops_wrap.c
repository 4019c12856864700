/*
 * ops_wrap.c - operations of other files, fenced for the directory cache.
 *
 * create, symlink and link add a name to a directory; while one runs (and
 * its reply reaches the kernel) the directory's cached listing is neither
 * served nor stored, and it is dropped when the change is done
 * (src/cache/dircache.h). mkdir, unlink, rmdir and rename do the same in
 * ops_dir.c.
 *
 * Opens for writing, releases of writers, setattr, fallocate and
 * copy_file_range change files' data or attributes: they are counted
 * (dc_note_modify) before they start and, but for opens, once they end, so
 * that a kept listing tells whether its attributes still hold
 * (dc_attrs_current). A writer open all along is seen by fs_ino_writing.
 */
#include "fs/internal.h"

#include <fcntl.h>

#include "cache/dircache.h"

void op_create_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	int lazy = create_later_ok(fs, parent, name, fi->flags); /* asks the listing: before */
	dc_note_modify(fs->dc); /* a writer opens */
	dc_begin_change(fs->dc, parent);
	op_create(req, parent, name, mode, fi, lazy);
	dc_end_change(fs->dc, parent);
}

void op_mknod_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct smbfs *fs = fs_of(req);
	dc_begin_change(fs->dc, parent);
	op_mknod(req, parent, name, mode, rdev);
	dc_end_change(fs->dc, parent);
}

void op_symlink_dc(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct smbfs *fs = fs_of(req);
	dc_begin_change(fs->dc, parent);
	op_symlink(req, link, parent, name);
	dc_end_change(fs->dc, parent);
}

void op_link_dc(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct smbfs *fs = fs_of(req);
	dc_begin_change(fs->dc, newparent);
	op_link(req, ino, newparent, newname);
	dc_end_change(fs->dc, newparent);
}

void op_open_dc(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	/* O_TRUNC and every write come through this writer: counted once it opens */
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		dc_note_modify(fs->dc);
	op_open(req, ino, fi);
	/* a read-only open that truncated is no writer: count its end too */
	if ((fi->flags & O_ACCMODE) == O_RDONLY && (fi->flags & O_TRUNC))
		dc_note_modify(fs->dc);
}

void op_release_dc(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	const struct smbfs_file *fh = (const struct smbfs_file *)(uintptr_t)fi->fh;
	int writer = fh->accmode != O_RDONLY; /* fh is freed by op_release */

	if (writer) {
		__atomic_add_fetch(&fs->releasing, 1, __ATOMIC_ACQ_REL);
		dc_note_modify(fs->dc);
	}
	op_release(req, ino, fi);
	if (writer) {
		dc_note_modify(fs->dc); /* its data and close (times) are on the server */
		__atomic_sub_fetch(&fs->releasing, 1, __ATOMIC_ACQ_REL);
	}
}

void op_setattr_dc(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		   struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	dc_note_modify(fs->dc);
	op_setattr(req, ino, attr, to_set, fi);
	dc_note_modify(fs->dc);
}

void op_fallocate_dc(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		     struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	dc_note_modify(fs->dc);
	op_fallocate(req, ino, mode, offset, length, fi);
	dc_note_modify(fs->dc);
}

void op_copy_file_range_dc(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			   struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct smbfs *fs = fs_of(req);
	dc_note_modify(fs->dc);
	op_copy_file_range(req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags);
	dc_note_modify(fs->dc);
}

/* files_lock held. ino 0: any. */
static int writing_locked(struct smbfs *fs, fuse_ino_t ino)
{
	for (const struct smbfs_file *fh = fs->files; fh; fh = fh->next)
		if (fh->accmode != O_RDONLY && (!ino || fh->ino == ino))
			return 1;
	for (int i = 0; i < 32; i++)
		if (fs->closing_n[i] && (!ino || fs->closing[i] == ino))
			return 1;
	return 0;
}

static int writing(struct smbfs *fs, fuse_ino_t ino)
{
	int yes;
	if (__atomic_load_n(&fs->releasing, __ATOMIC_ACQUIRE))
		return 1; /* which file is not recorded: any */
	pthread_mutex_lock(&fs->files_lock);
	yes = writing_locked(fs, ino);
	pthread_mutex_unlock(&fs->files_lock);
	return yes;
}

int fs_writing(struct smbfs *fs)
{
	return writing(fs, 0);
}

int fs_ino_writing(struct smbfs *fs, fuse_ino_t ino)
{
	return writing(fs, ino);
}
