/*
 * ops.c - FUSE low-level operations over the SMB file API.
 *
 * Each operation resolves its inode to a share path through the inode table,
 * calls one client function (a compound or a single request with a deadline),
 * and replies. fuse_reply_* is called exactly once per request, here only.
 * Errors reach the kernel as positive errno at the reply.
 */
#include "fs/fs.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <linux/fs.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cache/writeback.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"
#include "wire/time.h"

#define PATH_CAP 4096

struct dir_entry {
	char *name;
	struct smb_stat st;
};

struct dir_handle {
	struct dir_entry *ents;
	size_t n;
	size_t cap;
};

struct smbfs_file {
	struct smbc_file *file;
	fuse_ino_t ino;
	int append;           /* O_APPEND: every write goes to the end of file */
	struct ra_file *ra;   /* readahead, when opened for reading */
	struct wb_file *wb;   /* write-behind, when opened for writing */
	struct smbfs_file *next; /* fs->files, protected by fs->files_lock */
	int users;               /* files_sync() callers; protected by fs->files_lock */
};

static struct smbfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ------------------------------------------------------------------ open files */

static struct smbfs_file *file_new(struct smbfs *fs, fuse_ino_t ino, int flags)
{
	struct smbfs_file *fh = calloc(1, sizeof(*fh));
	if (fh) {
		fh->ino = ino;
		fh->append = !!(flags & O_APPEND);
	}
	(void)fs;
	return fh;
}

/* After a successful open: start readahead/write-behind and register. */
static int file_start(struct smbfs *fs, struct smbfs_file *fh, int flags)
{
	size_t chunk = fs->p.rsize, wsize = fs->p.wsize;
	if (fs->client->max_read && chunk > fs->client->max_read)
		chunk = fs->client->max_read;
	if (fs->client->max_write && wsize > fs->client->max_write)
		wsize = fs->client->max_write;
	if ((flags & O_ACCMODE) != O_WRONLY) {
		fh->ra = ra_new(fs->client, fh->file, chunk, fs->p.rasize, &fs->ra_budget);
		if (!fh->ra)
			return -ENOMEM;
	}
	if ((flags & O_ACCMODE) != O_RDONLY && !fh->append) {
		fh->wb = wb_new(fs->client, fh->file, wsize, 8 * wsize);
		if (!fh->wb)
			return -ENOMEM;
	}
	pthread_mutex_lock(&fs->files_lock);
	fh->next = fs->files;
	fs->files = fh;
	pthread_mutex_unlock(&fs->files_lock);
	return 0;
}

/* Unregister, then wait until no files_sync() is using fh. */
static void file_unlist(struct smbfs *fs, struct smbfs_file *fh)
{
	struct smbfs_file **pp;
	pthread_mutex_lock(&fs->files_lock);
	for (pp = &fs->files; *pp; pp = &(*pp)->next) {
		if (*pp == fh) {
			*pp = fh->next;
			break;
		}
	}
	while (fh->users)
		pthread_cond_wait(&fs->files_cond, &fs->files_lock);
	pthread_mutex_unlock(&fs->files_lock);
}

/* Stop readahead and write-behind, close the SMB handle, free. Returns the close result. */
static int file_free(struct smbfs *fs, struct smbfs_file *fh)
{
	int rc;
	ra_free(fh->ra);
	wb_free(fh->wb);
	rc = smbc_close(fs->client, fh->file);
	free(fh);
	return rc;
}

/* An open file's name changed: a reopen after reconnect must use the new path. */
static void files_renamed(struct smbfs *fs, fuse_ino_t ino, const char *path)
{
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f; f = f->next)
		if (f->ino == ino)
			smbc_file_set_path(f->file, path);
	pthread_mutex_unlock(&fs->files_lock);
}

/*
 * Before looking at an inode's size or data on the server: push out what its
 * open files have buffered (flush=1), and/or forget prefetched data because
 * the file changed (drop=1). Returns the first write error.
 */
static int files_sync(struct smbfs *fs, fuse_ino_t ino, int flush, int drop)
{
	struct smbfs_file *list[32];
	int n = 0, rc = 0;

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && n < 32; f = f->next) {
		if (f->ino == ino) {
			f->users++;
			list[n++] = f;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	for (int i = 0; i < n; i++) {
		if (flush && list[i]->wb) {
			int r = wb_flush(list[i]->wb);
			if (r && !rc)
				rc = r;
		}
		if (drop && list[i]->ra)
			ra_drop(list[i]->ra);
	}
	pthread_mutex_lock(&fs->files_lock);
	for (int i = 0; i < n; i++)
		list[i]->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
	return rc;
}

struct smbfs *smbfs_new(struct smb_client *client, const struct smbfs_params *p)
{
	struct smbfs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->client = client;
	fs->p = *p;
	pthread_mutex_init(&fs->files_lock, NULL);
	pthread_cond_init(&fs->files_cond, NULL);
	/* Readahead memory for the whole mount: room for several streams at full window. */
	fs->ra_budget.limit = p->rasize * 8 > 64u * 1024 * 1024 ? p->rasize * 8 : 64u * 1024 * 1024;
	fs->itab = itab_new();
	if (p->subdir && *p->subdir)
		fs->subdir = strdup(p->subdir);
	if (!fs->itab || (p->subdir && *p->subdir && !fs->subdir)) {
		smbfs_free(fs);
		return NULL;
	}
	fs->p.subdir = fs->subdir;
	return fs;
}

void smbfs_free(struct smbfs *fs)
{
	if (!fs)
		return;
	itab_free(fs->itab);
	free(fs->subdir);
	pthread_mutex_destroy(&fs->files_lock);
	pthread_cond_destroy(&fs->files_cond);
	free(fs);
}

/* Share path of an inode, with the mount's subdirectory in front. */
static int ino_path(struct smbfs *fs, fuse_ino_t ino, const char *child, char *buf, size_t size)
{
	size_t pre = 0;
	int rc;

	if (fs->subdir) {
		pre = strlen(fs->subdir);
		if (pre + 2 > size)
			return -ENAMETOOLONG;
		memcpy(buf, fs->subdir, pre);
		buf[pre] = '\0';
	}
	if (child)
		rc = itab_child_path(fs->itab, ino, child, buf + pre + (pre ? 1 : 0),
				     size - pre - (pre ? 1 : 0));
	else
		rc = itab_path(fs->itab, ino, buf + pre + (pre ? 1 : 0), size - pre - (pre ? 1 : 0));
	if (rc < 0)
		return rc;
	if (pre) {
		if (rc == 0)
			buf[pre] = '\0'; /* the subdirectory itself */
		else
			buf[pre] = '/';
	}
	return 0;
}

static int valid_name(const char *name)
{
	/* Characters SMB forbids in names (MS-FSCC 2.1.5.2). */
	for (const char *p = name; *p; p++)
		if (strchr("\\:*?\"<>|", *p) || (unsigned char)*p < 0x20)
			return 0;
	return 1;
}

static void fill_entry(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = 1;
	statmap_fill(&fs->p.pol, s, ino, &e->attr);
	e->attr_timeout = fs->p.attr_timeout;
	e->entry_timeout = fs->p.attr_timeout;
}

/* ------------------------------------------------------------------ init */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct smbfs *fs = userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: attributes come free */
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->max_readahead = 1024 * 1024;
	conn->max_write = (unsigned)fs->p.wsize;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void op_destroy(void *userdata)
{
	(void)userdata;
}

/* ------------------------------------------------------------------ entries */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct smbfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct smb_stat st;
	char path[PATH_CAP];
	fuse_ino_t ino;
	int rc;

	if (!valid_name(name)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_stat(fs->client, path, &st);
	if (rc) {
		if (rc == -ENOENT && fs->p.attr_timeout > 0) {
			/* negative entry, cached by the kernel for the attribute time */
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fs->p.attr_timeout;
			fuse_reply_entry(req, &e);
			return;
		}
		fuse_reply_err(req, -rc);
		return;
	}
	ino = itab_lookup(fs->itab, parent, name, 1);
	if (!ino) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fill_entry(fs, ino, &st, &e);
	if (fuse_reply_entry(req, &e) == -ENOENT) /* interrupted: undo the lookup count */
		itab_forget(fs->itab, ino, 1);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	itab_forget(fs_of(req)->itab, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct smbfs *fs = fs_of(req);
	for (size_t i = 0; i < count; i++)
		itab_forget(fs->itab, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smb_stat st;
	struct stat out;
	char path[PATH_CAP];
	int rc;

	(void)fi;
	/* The size on the server counts only once buffered writes are out. */
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc)
		rc = smbc_stat(fs->client, path, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	statmap_fill(&fs->p.pol, &st, ino, &out);
	fuse_reply_attr(req, &out, fs->p.attr_timeout);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct smbfs *fs = fs_of(req);
	struct smb_statfs s;
	struct statvfs v;
	int rc;

	(void)ino;
	rc = smbc_statfs(fs->client, &s);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.f_bsize = (unsigned long)s.sectors_per_unit * s.bytes_per_sector;
	v.f_frsize = v.f_bsize;
	v.f_blocks = s.total_units;
	v.f_bfree = s.free_units;
	v.f_bavail = s.avail_units;
	v.f_namemax = s.max_name_len ? s.max_name_len : 255;
	fuse_reply_statfs(req, &v);
}

/* ------------------------------------------------------------------ directories */

static void dir_free(struct dir_handle *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

static int dir_add(const char *name, const struct smb_stat *st, void *arg)
{
	struct dir_handle *d = arg;
	if (!name) { /* the listing restarts after a reconnect */
		for (size_t i = 0; i < d->n; i++)
			free(d->ents[i].name);
		d->n = 0;
		return 0;
	}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct dir_entry *ne = realloc(d->ents, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		d->ents = ne;
		d->cap = nc;
	}
	d->ents[d->n].name = strdup(name);
	if (!d->ents[d->n].name)
		return -ENOMEM;
	d->ents[d->n].st = *st;
	d->n++;
	return 0;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct dir_handle *d;
	char path[PATH_CAP];
	int rc;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc)
		rc = smbc_list_dir(fs->client, path, dir_add, d);
	if (rc) {
		dir_free(d);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dir_free(d);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct smbfs *fs = fs_of(req);
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t left = size;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	for (size_t i = (size_t)off; i < d->n; i++) {
		struct dir_entry *de = &d->ents[i];
		int dot = !strcmp(de->name, ".") || !strcmp(de->name, "..");
		size_t need;

		if (!plus) {
			struct stat st;
			statmap_fill(&fs->p.pol, &de->st, 0, &st);
			st.st_ino = de->st.ino ? de->st.ino : (ino_t)(i + 2);
			need = fuse_add_direntry(req, p, left, de->name, &st, (off_t)(i + 1));
			if (need > left)
				break;
		} else {
			struct fuse_entry_param e;
			need = fuse_add_direntry_plus(req, NULL, 0, de->name, NULL, 0);
			if (need > left)
				break;
			if (dot) {
				/* no lookup count for . and ..: ino 0 means "attributes unknown" */
				memset(&e, 0, sizeof(e));
				statmap_fill(&fs->p.pol, &de->st, ino, &e.attr);
				e.attr.st_ino = ino;
			} else {
				fuse_ino_t cino = itab_lookup(fs->itab, ino, de->name, 1);
				if (!cino)
					break;
				fill_entry(fs, cino, &de->st, &e);
			}
			need = fuse_add_direntry_plus(req, p, left, de->name, &e, (off_t)(i + 1));
		}
		p += need;
		left -= need;
	}
	fuse_reply_buf(req, buf, size - left);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------------------ files */

static uint32_t access_for(int flags)
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

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbc_open_args a;
	struct smbfs_file *fh;
	char path[PATH_CAP];
	int rc;

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
	rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc)
		rc = smbc_open(fs->client, path, &a, &fh->file, NULL, NULL);
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
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		file_unlist(fs, fh);
		file_free(fs, fh);
	}
}

static void ra_fuse_reply(void *ctx, int err, const struct iovec *iov, int iovcnt)
{
	fuse_req_t req = ctx;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_iov(req, iov, iovcnt);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
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
	ra_read(fh->ra, (uint64_t)off, size, ra_fuse_reply, req);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc = 0, rc2;

	(void)ino;
	file_unlist(fs, fh);
	if (fh->wb)
		rc = wb_flush(fh->wb); /* close() already saw errors through op_flush */
	rc2 = file_free(fs, fh);
	if (!rc)
		rc = rc2;
	fuse_reply_err(req, rc ? -rc : 0);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	size_t chunk = fs->p.wsize, done = 0;
	pthread_mutex_t *alock;
	struct smb_stat st;
	ssize_t w = 0;
	int rc;

	/* Prefetched data of this inode is now stale. */
	files_sync(fs, ino, 0, 1);
	if (fh->wb) {
		w = wb_write(fh->wb, (uint64_t)off, buf, size);
		if (w < 0)
			fuse_reply_err(req, (int)-w);
		else
			fuse_reply_write(req, (size_t)w);
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

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close(): everything written must be on the server, or the error reported. */
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	int rc = fh->wb ? wb_flush(fh->wb) : 0;
	(void)ino;
	fuse_reply_err(req, rc ? -rc : 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
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

/* Reply to mkdir (fi NULL) or create (fi and fh: the new open file). */
static void reply_new_entry(fuse_req_t req, struct smbfs *fs, fuse_ino_t parent, const char *name,
			    const struct smb_stat *st, struct fuse_file_info *fi,
			    struct smbfs_file *fh)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = itab_lookup(fs->itab, parent, name, 1);
	int rc = ino ? 0 : -ENOMEM;

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

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
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
	if (!valid_name(name)) {
		fuse_reply_err(req, EINVAL);
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
	a.attrs = (mode & 0222) ? FILE_ATTRIBUTE_ARCHIVE
				: (FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_READONLY);
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_open(fs->client, path, &a, &fh->file, NULL, NULL);
	if (!rc) {
		rc = smbc_query_fid(fs->client, fh->file, &st);
		if (rc)
			smbc_close(fs->client, fh->file);
	}
	if (rc) {
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)fh;
	fi->direct_io = fs->p.direct_io;
	reply_new_entry(req, fs, parent, name, &st, fi, fh);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct smbfs *fs = fs_of(req);
	struct smb_stat st;
	char path[PATH_CAP];
	int rc;

	(void)mode;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!valid_name(name)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_mkdir(fs->client, path, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_new_entry(req, fs, parent, name, &st, NULL, NULL);
}

static void do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int is_dir)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_delete(fs->client, path, is_dir);
	if (!rc)
		itab_unlink(fs->itab, parent, name);
	fuse_reply_err(req, rc ? -rc : 0);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, 1);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct smbfs *fs = fs_of(req);
	char from[PATH_CAP], to[PATH_CAP];
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE/WHITEOUT: SMB cannot */
		return;
	}
	if (!valid_name(newname)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = ino_path(fs, parent, name, from, sizeof(from));
	if (!rc)
		rc = ino_path(fs, newparent, newname, to, sizeof(to));
	if (!rc)
		rc = smbc_rename(fs->client, from, to, !(flags & RENAME_NOREPLACE));
	if (!rc)
		rc = itab_rename(fs->itab, parent, name, newparent, newname);
	if (!rc) {
		fuse_ino_t moved = itab_find(fs->itab, newparent, newname);
		if (moved)
			files_renamed(fs, moved, to);
	}
	fuse_reply_err(req, rc ? -rc : 0);
}

static uint64_t setattr_time(const struct timespec *ts, int now)
{
	struct timespec t;
	if (now)
		clock_gettime(CLOCK_REALTIME, &t);
	else
		t = *ts;
	return timespec_to_filetime(&t);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = fi ? (struct smbfs_file *)(uintptr_t)fi->fh : NULL;
	struct smb_stat st;
	struct stat out;
	char path[PATH_CAP];
	uint8_t buf[64];
	struct wbuf w;
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* Buffered writes land before the new size or times; cached data is stale after. */
	rc = files_sync(fs, ino, 1, (to_set & FUSE_SET_ATTR_SIZE) != 0);
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (rc)
		goto out;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		w = wbuf_init(buf, sizeof(buf));
		if (fscc_u64_encode(&w, (uint64_t)attr->st_size)) {
			rc = -EIO;
			goto out;
		}
		rc = fh ? smbc_set_info_fid(fs->client, fh->file, FileEndOfFileInformation, buf,
					    (uint32_t)w.off)
			: smbc_set_info_path(fs->client, path, FILE_WRITE_DATA,
					     FileEndOfFileInformation, buf, (uint32_t)w.off);
		if (rc)
			goto out;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MODE)) {
		struct fscc_basic_info bi;
		memset(&bi, 0, sizeof(bi));
		if (to_set & FUSE_SET_ATTR_ATIME)
			bi.last_access =
				setattr_time(&attr->st_atim, to_set & FUSE_SET_ATTR_ATIME_NOW);
		if (to_set & FUSE_SET_ATTR_MTIME)
			bi.last_write =
				setattr_time(&attr->st_mtim, to_set & FUSE_SET_ATTR_MTIME_NOW);
		if (to_set & FUSE_SET_ATTR_MODE) {
			/* Only the write bits mean something: they map to READONLY. */
			rc = smbc_stat(fs->client, path, &st);
			if (rc)
				goto out;
			bi.attributes = st.attrs & ~(uint32_t)FILE_ATTRIBUTE_READONLY;
			if (!(attr->st_mode & 0222))
				bi.attributes |= FILE_ATTRIBUTE_READONLY;
			if (!bi.attributes)
				bi.attributes = FILE_ATTRIBUTE_NORMAL;
		}
		w = wbuf_init(buf, sizeof(buf));
		if (fscc_basic_encode(&w, &bi)) {
			rc = -EIO;
			goto out;
		}
		rc = fh ? smbc_set_info_fid(fs->client, fh->file, FileBasicInformation, buf,
					    (uint32_t)w.off)
			: smbc_set_info_path(fs->client, path, FILE_WRITE_ATTRIBUTES,
					     FileBasicInformation, buf, (uint32_t)w.off);
		if (rc)
			goto out;
	}
	/* uid/gid cannot be changed without unix extensions: accept like cifs.ko noperm. */
	rc = smbc_stat(fs->client, path, &st);
out:
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	statmap_fill(&fs->p.pol, &st, ino, &out);
	fuse_reply_attr(req, &out, fs->p.attr_timeout);
}

const struct fuse_lowlevel_ops smbfs_ll_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.statfs = op_statfs,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.create = op_create,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.setattr = op_setattr,
};
