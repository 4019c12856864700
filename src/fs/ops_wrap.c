/*
 * ops_wrap.c - operations of other files, fenced for the directory cache.
 *
 * create, symlink and link add a name to a directory; while one runs (and
 * its reply reaches the kernel) the directory's cached listing is neither
 * served nor stored, and it is dropped when the change is done
 * (src/cache/dircache.h). mkdir, unlink, rmdir and rename do the same in
 * ops_dir.c.
 */
#include "fs/internal.h"

#include "cache/dircache.h"

void op_create_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	int lazy = create_later_ok(fs, parent, name, fi->flags); /* asks the listing: before */
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
