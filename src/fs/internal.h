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
	struct ext_locks *locks; /* byte-range locks held through this handle (ops_lock.c) */
	/* pending.c, under fs->files_lock: attributes kept locally under a write lease */
	struct smb_stat st;      /* valid when st_known */
	int st_known;
	unsigned pend;           /* what the server has not been told yet */
	int accmode;             /* O_RDONLY / O_WRONLY / O_RDWR of the open */
	/* created later (smbc_open_later): where, until its create is done */
	fuse_ino_t later_parent;
	char *later_name;
};

/* --- files.c: the filesystem object, open files, paths --- */
struct smbfs *fs_of(fuse_req_t req);
struct smbfs_file *file_new(struct smbfs *fs, fuse_ino_t ino, int flags);
int file_start(struct smbfs *fs, struct smbfs_file *fh, int flags);
void file_unlist(struct smbfs *fs, struct smbfs_file *fh);
int file_free(struct smbfs *fs, struct smbfs_file *fh);
void files_renamed(struct smbfs *fs, fuse_ino_t ino, const char *path);
int files_sync(struct smbfs *fs, fuse_ino_t ino, int flush, int drop);
#define FILES_DROP_DATA 2 /* files_sync drop: prefetched data only */
/* An open file of ino opened for writing, pinned (file_unpin), or NULL. */
struct smbfs_file *file_pin_writer(struct smbfs *fs, fuse_ino_t ino);
void file_unpin(struct smbfs *fs, struct smbfs_file *fh);
/*
 * A writer of ino is being released (begin returns a slot, or -1 when all
 * are taken), and is closed (end). file_wait_closed waits (bounded) until no
 * writer of ino is between the two: Samba stamps the write time when the
 * writing handle closes, so times set by path must come after that CLOSE.
 */
int file_closing_begin(struct smbfs *fs, fuse_ino_t ino);
void file_closing_end(struct smbfs *fs, int slot);
void file_wait_closed(struct smbfs *fs, fuse_ino_t ino);
/*
 * The server path of ino (or of its child), in the server's spelling of names
 * (mapposix/mapchars applied). -ENOENT, -ENAMETOOLONG.
 */
int ino_path(struct smbfs *fs, fuse_ino_t ino, const char *child, char *buf, size_t size);
/*
 * Whether name can exist on the server: 0, -EINVAL (a character SMB forbids
 * that mapposix/mapchars do not map), -ENAMETOOLONG (over NAME_MAX bytes).
 */
int check_name(struct smbfs *fs, const char *name);
/*
 * Attributes of ino about to reach the kernel: st_ino as the kernel first
 * saw it if it must stay (ITAB_FIXED_INO); a link count over one noted
 * (ITAB_MULTI_LINK).
 */
void fix_st_ino(struct smbfs *fs, fuse_ino_t ino, struct stat *st);
/* How long the kernel may keep these attributes: acdirmax or acregmax. */
double attr_tmo(const struct smbfs *fs, const struct stat *st);
void fill_entry(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s,
		       struct fuse_entry_param *e);

int file_ino_read_leased(struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *except);

/* --- deferred.c: handles kept open for closetimeo under a handle lease --- */
int defer_start(struct smbfs *fs);
void defer_stop(struct smbfs *fs);
/* Release: keep fh's handle (1: it is parked, fh->file is NULL now) or not (0). */
int defer_park(struct smbfs *fs, struct smbfs_file *fh, int accmode, const char *path);
/* Open: a parked handle of ino that serves accmode (its lease key into key), or NULL. */
struct smbc_file *defer_take(struct smbfs *fs, fuse_ino_t ino, int accmode, uint8_t key[16]);
/* The lease key of a parked handle of ino (1), so a new open shares its lease. */
int defer_key(struct smbfs *fs, fuse_ino_t ino, uint8_t key[16]);
/* A lease break without handle caching: close the parked handles of that lease. */
void defer_lease_break(struct smbfs *fs, const uint8_t key[16], uint32_t new_state);
/* Before unlink/rename/rmdir of path: close parked handles of it and below it. */
void defer_close_path(struct smbfs *fs, const char *path);
/* Around unlink/rename/rmdir (shared), and around release's unlist+park (exclusive). */
void defer_ns_begin(struct smbfs *fs);
void defer_ns_end(struct smbfs *fs);
void defer_release_begin(struct smbfs *fs);
void defer_release_end(struct smbfs *fs);

/* --- pending.c: attributes of files being written, kept locally under a write lease --- */
/* The open returned st (before the file is registered). */
void pend_opened(struct smbfs_file *fh, const struct smb_stat *st);
/* A write through fh ended at end: size and mtime move. */
void pend_wrote(struct smbfs *fs, struct smbfs_file *fh, uint64_t end);
/* ino changed on the server (truncate...): stop answering from local attributes. */
void pend_forget(struct smbfs *fs, fuse_ino_t ino);
/* 1 and *out if an open file of ino holds its attributes locally. */
int pend_stat(struct smbfs *fs, fuse_ino_t ino, struct smb_stat *out);
/* 1 if the setattr was done locally (the result in *out); 0: do it on the server. */
int pend_setattr(struct smbfs *fs, fuse_ino_t ino, const struct stat *attr, int to_set,
		 struct smb_stat *out);
/* Tell the server fh's pending times/attributes (one SET_INFO), if any. */
int pend_flush(struct smbfs *fs, struct smbfs_file *fh);
/* close(): fh's buffered data and pending attributes, in one round trip when small. */
int pend_flush_data(struct smbfs *fs, struct smbfs_file *fh);

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

/*
 * loop.c: in an operation run by fs_loop_run(), when data lies in the
 * request buffer, fill lend so that WRITEs may hold that buffer instead of
 * copying (the worker then reads the next request elsewhere) and return 1;
 * else 0.
 */
int fs_loop_lend(const void *data, size_t len, struct smbc_lend *lend);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
struct dc_ticket;
void reply_new_entry(fuse_req_t req, struct smbfs *fs, fuse_ino_t parent, const char *name,
		     const struct smb_stat *st, struct fuse_file_info *fi,
		     struct smbfs_file *fh, const struct dc_ticket *newdir);
/* ops_dir.c: keep the listing of a directory this mount just made (ino). */
void keep_new_dir(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *st,
		  const struct dc_ticket *t);
/*
 * lazy: create the file on the server only at its first use, ideally with
 * its data at close (create_later_ok said it may).
 */
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi, int lazy);
/* A file created later is on the server by this many seconds after its open (deferred.c). */
#define CREATE_LATER_MAX_S 1.0
/* Before the create's change bracket: may name in parent be created later? */
int create_later_ok(struct smbfs *fs, fuse_ino_t parent, const char *name, int flags);
/* After close's flush of a file created later: 0, or its create failed (undone here). */
int create_later_done(struct smbfs *fs, struct smbfs_file *fh);

/* --- ops_ext.c: fallocate, lseek, copy_file_range, unlink/rename of open files --- */
void ext_init(struct smbfs *fs, struct fuse_conn_info *conn);
/*
 * The server's file id of st, for the inode table's identity checks; 0 (no
 * check) with noserverino, for servers whose ids are not stable.
 */
static inline uint64_t file_sid(const struct smbfs *fs, const struct smb_stat *st)
{
	return fs->p.pol.server_ino ? st->ino : 0;
}

/* Attributes of ino: through an open handle of it if there is one, else by path (NULL: -ESTALE). */
int ext_stat(struct smbfs *fs, fuse_ino_t ino, const char *path, struct smb_stat *st);
/* unlink/rename that keep an open file working for those who have it open. */
int ext_unlink(struct smbfs *fs, fuse_ino_t parent, const char *name, const char *path);
/* Is ino open through this mount (an unlink hides it under another name)? */
int ino_is_open(struct smbfs *fs, fuse_ino_t ino);
/* Fetch ino's listing again and keep it in the directory cache (ops_dir.c). */
int dir_refetch(struct smbfs *fs, fuse_ino_t ino);
int ext_rename(struct smbfs *fs, fuse_ino_t newparent, const char *newname, const char *from,
	       const char *to, int replace);
/* ops_wrap.c: create, symlink, link fenced for the directory cache. */
void op_create_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		  struct fuse_file_info *fi);
void op_mknod_dc(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_symlink_dc(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_link_dc(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
/* ops_wrap.c: open, release, setattr, fallocate, copy_file_range counted by dc_note_modify. */
void op_open_dc(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_release_dc(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_setattr_dc(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		   struct fuse_file_info *fi);
void op_fallocate_dc(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		     struct fuse_file_info *fi);
void op_copy_file_range_dc(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			   struct fuse_file_info *fi_out, size_t len, int flags);
/*
 * Is a file open for writing through this mount, or a writer being released
 * (fs_writing: any; fs_ino_writing: of ino)? Its attributes on the server
 * and in a kept listing may lag behind what the kernel knows.
 */
int fs_writing(struct smbfs *fs);
int fs_ino_writing(struct smbfs *fs, fuse_ino_t ino);
/* ops_stats.c: user.smbfuse.* debug counters on the root, else op_getxattr. */
void op_getxattr_stats(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi);
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);
void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags);

/* --- ops_link.c: symlinks, hard links, special files, reparse points --- */
/* Attributes of a symlink (XSym file or reparse point) or special file become S_IF*. */
void ext_fix_attr(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s, struct stat *st);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
/* Regular files only; FIFOs, sockets and devices: EPERM. */
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_readlink(fuse_req_t req, fuse_ino_t ino);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);

/* --- ops_xattr.c: user.* xattrs as SMB extended attributes --- */
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* --- ops_lock.c: byte-range locks and flock --- */
/* The session ends: answer the lock requests still waiting (EINTR). */
void ext_destroy(struct smbfs *fs);
void ext_file_free(struct smbfs *fs, struct smbfs_file *fh);
/* close(): drop the POSIX locks owner holds on ino. */
void ext_flush_locks(struct smbfs *fs, fuse_ino_t ino, uint64_t owner);
void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock);
void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep);
void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);

#endif
