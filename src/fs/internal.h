/*
 * internal.h - what the FUSE operation files (files.c, ops_*.c) share.
 * Not for use outside src/fs/.
 */
#ifndef SMBF_FS_INTERNAL_H
#define SMBF_FS_INTERNAL_H

#include "fs/fs.h"

#define PATH_CAP 4096

/* One open file of the mount. */
struct smbfs_file {
	struct smbc_file *file;
	fuse_ino_t ino;
	int append;              /* O_APPEND: every write goes to the end of file */
	struct ra_file *ra;      /* readahead, when opened for reading */
	struct wb_file *wb;      /* write-behind, when opened for writing */
	struct smbfs_file *next; /* fs->files, protected by fs->files_lock */
	int users;               /* files_sync() callers; protected by fs->files_lock */
	uint8_t lease_key[16];   /* shared by all open files of one inode */
	struct ext_locks *locks; /* byte-range locks held through this handle (ops_ext.c) */
};

/* --- files.c: the filesystem object, open files, paths --- */
struct smbfs *fs_of(fuse_req_t req);
struct smbfs_file *file_new(struct smbfs *fs, fuse_ino_t ino, int flags);
int file_start(struct smbfs *fs, struct smbfs_file *fh, int flags);
void file_unlist(struct smbfs *fs, struct smbfs_file *fh);
int file_free(struct smbfs *fs, struct smbfs_file *fh);
void files_renamed(struct smbfs *fs, fuse_ino_t ino, const char *path);
int files_sync(struct smbfs *fs, fuse_ino_t ino, int flush, int drop);
int ino_path(struct smbfs *fs, fuse_ino_t ino, const char *child, char *buf, size_t size);
int valid_name(const char *name);
void fill_entry(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s,
		       struct fuse_entry_param *e);

int file_ino_read_leased(struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *except);

/* --- the operations (ops_entry.c, ops_dir.c, ops_file.c) --- */
void op_init(void *userdata, struct fuse_conn_info *conn);
void op_destroy(void *userdata);
void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_statfs(fuse_req_t req, fuse_ino_t ino);
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi);
void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi);
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags);
uint32_t access_for(int flags);
void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void reply_new_entry(fuse_req_t req, struct smbfs *fs, fuse_ino_t parent, const char *name,
			    const struct smb_stat *st, struct fuse_file_info *fi,
			    struct smbfs_file *fh);
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi);

/* --- ops_ext.c: symlinks, links, xattrs, fallocate, lseek, copy_file_range, locks --- */
void ext_init(struct smbfs *fs, struct fuse_conn_info *conn);
/* The session ends: answer the lock requests still waiting (EINTR). */
void ext_destroy(struct smbfs *fs);
/* Attributes of a symlink (XSym file or reparse point) or special file become S_IF*. */
void ext_fix_attr(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s, struct stat *st);
void ext_file_free(struct smbfs *fs, struct smbfs_file *fh);
/* close(): drop the POSIX locks owner holds on ino. */
void ext_flush_locks(struct smbfs *fs, fuse_ino_t ino, uint64_t owner);
/* Attributes of ino: through an open handle of it if there is one, else by path. */
int ext_stat(struct smbfs *fs, fuse_ino_t ino, const char *path, struct smb_stat *st);
/* unlink/rename that keep an open file working for those who have it open. */
int ext_unlink(struct smbfs *fs, fuse_ino_t parent, const char *name, const char *path);
int ext_rename(struct smbfs *fs, fuse_ino_t newparent, const char *newname, const char *from,
	       const char *to, int replace);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_readlink(fuse_req_t req, fuse_ino_t ino);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
/* ops_wrap.c: create, symlink, link fenced for the directory cache. */
void op_create_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi);
void op_symlink_dc(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_link_dc(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
/* ops_stats.c: user.smbfuse.* debug counters on the root, else op_getxattr. */
void op_getxattr_stats(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi);
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);
void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags);
void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock);
void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep);
void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);

#endif
