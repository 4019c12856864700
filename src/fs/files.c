/*
 * files.c - the filesystem object, open-file registry and path helpers
 * shared by the FUSE operations.
 */
#include "fs/internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/random.h>

#include "cache/negcache.h"
#include "fs/notify.h"
#include "cache/writeback.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/namemap.h"
#include "wire/smb2.h"
#include "wire/time.h"

struct smbfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ------------------------------------------------------------------ open files */

struct smbfs_file *file_new(struct smbfs *fs, fuse_ino_t ino, int flags)
{
	struct smbfs_file *fh = calloc(1, sizeof(*fh));
	int shared = 0;

	if (!fh)
		return NULL;
	fh->ino = ino;
	fh->append = !!(flags & O_APPEND);
	fh->accmode = flags & O_ACCMODE;
	/* All opens of one inode share a lease key, so they never break each other. */
	if (ino) {
		pthread_mutex_lock(&fs->files_lock);
		for (struct smbfs_file *f = fs->files; f; f = f->next) {
			if (f->ino == ino) {
				memcpy(fh->lease_key, f->lease_key, 16);
				shared = 1;
				break;
			}
		}
		pthread_mutex_unlock(&fs->files_lock);
	}
	if (!shared && ino)
		shared = defer_key(fs, ino, fh->lease_key); /* a parked handle's lease */
	if (!shared && getrandom(fh->lease_key, 16, 0) != 16) {
		for (int i = 0; i < 16; i++) /* never fails for 16 bytes; keep keys distinct anyway */
			fh->lease_key[i] = (uint8_t)((uintptr_t)fh >> (i % 8 * 8)) ^ (uint8_t)i;
	}
	return fh;
}

/* True if another open file of ino holds a read lease (the kernel's pages are current). */
int file_ino_read_leased(struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *except)
{
	int yes = 0;
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && !yes; f = f->next)
		if (f != except && f->ino == ino &&
		    (smbc_file_lease(f->file) & SMB2_LEASE_READ_CACHING))
			yes = 1;
	pthread_mutex_unlock(&fs->files_lock);
	return yes;
}

void smbfs_set_session(struct smbfs *fs, struct fuse_session *se)
{
	fs->se = se;
}

/* After a successful open: start readahead/write-behind and register. */
int file_start(struct smbfs *fs, struct smbfs_file *fh, int flags)
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
void file_unlist(struct smbfs *fs, struct smbfs_file *fh)
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
int file_free(struct smbfs *fs, struct smbfs_file *fh)
{
	int rc;
	ra_free(fh->ra);
	wb_free(fh->wb);
	rc = smbc_close(fs->client, fh->file);
	ext_file_free(fs, fh);
	free(fh->later_name);
	free(fh);
	return rc;
}

/* An open file's name changed: a reopen after reconnect must use the new path. */
void files_renamed(struct smbfs *fs, fuse_ino_t ino, const char *path)
{
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f; f = f->next)
		if (f->ino == ino)
			smbc_file_set_path(f->file, path);
	pthread_mutex_unlock(&fs->files_lock);
}

/*
 * Before looking at an inode's size or data on the server: push out what its
 * open files have buffered (flush=1), and/or forget prefetched data and the
 * locally kept attributes because the file changed on the server (drop=1;
 * FILES_DROP_DATA: the data only, for this mount's own writes). Returns the
 * first write error.
 */
int files_sync(struct smbfs *fs, fuse_ino_t ino, int flush, int drop)
{
	struct smbfs_file *list[32];
	int n = 0, rc = 0;

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && n < 32; f = f->next) {
		if (f->ino == ino) {
			f->users++;
			list[n++] = f;
			if (drop && drop != FILES_DROP_DATA)
				f->st_known = 0; /* the server's copy changed: ask it from now on */
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	for (int i = 0; i < n; i++) {
		if (flush && list[i]->wb) {
			int r = wb_flush(list[i]->wb);
			if (!r)
				r = pend_flush(fs, list[i]); /* then the times set since */
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

struct smbfs_file *file_pin_writer(struct smbfs *fs, fuse_ino_t ino)
{
	struct smbfs_file *fh = NULL;

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && !fh; f = f->next) {
		if (f->ino == ino && f->wb) {
			fh = f;
			fh->users++;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	return fh;
}

void file_unpin(struct smbfs *fs, struct smbfs_file *fh)
{
	if (!fh)
		return;
	pthread_mutex_lock(&fs->files_lock);
	fh->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
}

int file_closing_begin(struct smbfs *fs, fuse_ino_t ino)
{
	int slot = -1;
	pthread_mutex_lock(&fs->files_lock);
	for (int i = 0; i < 32 && slot < 0; i++)
		if (fs->closing_n[i] && fs->closing[i] == ino)
			slot = i;
	for (int i = 0; i < 32 && slot < 0; i++)
		if (!fs->closing_n[i])
			slot = i;
	if (slot >= 0) {
		fs->closing[slot] = ino;
		fs->closing_n[slot]++;
	}
	pthread_mutex_unlock(&fs->files_lock);
	return slot;
}

void file_closing_end(struct smbfs *fs, int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&fs->files_lock);
	fs->closing_n[slot]--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
}

void file_wait_closed(struct smbfs *fs, fuse_ino_t ino)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30; /* a CLOSE is bounded by the request deadlines anyway */
	pthread_mutex_lock(&fs->files_lock);
	for (;;) {
		int busy = 0;
		for (int i = 0; i < 32 && !busy; i++)
			busy = fs->closing_n[i] && fs->closing[i] == ino;
		if (!busy || pthread_cond_timedwait(&fs->files_cond, &fs->files_lock, &dl))
			break;
	}
	pthread_mutex_unlock(&fs->files_lock);
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
	fs->ra_budget.limit = p->rasize * 4 > 64u * 1024 * 1024 ? p->rasize * 4 : 64u * 1024 * 1024;
	fs->itab = itab_new();
	fs->neg = neg_new(16384, p->attr_timeout);
	if (p->subdir && *p->subdir)
		fs->subdir = strdup(p->subdir);
	if (!fs->itab || (p->subdir && *p->subdir && !fs->subdir)) {
		smbfs_free(fs);
		return NULL;
	}
	fs->p.subdir = fs->subdir;
	if (notify_start(fs) || defer_start(fs)) {
		smbfs_free(fs);
		return NULL;
	}
	return fs;
}

int smbfs_flush_unreleased(struct smbfs *fs)
{
	int lost = 0;

	/* no FUSE worker is left: nothing opens or releases files any more */
	for (struct smbfs_file *fh = fs->files; fh; fh = fh->next) {
		int rc;
		if (!fh->wb)
			continue;
		rc = wb_flush(fh->wb);
		if (!rc)
			rc = pend_flush(fs, fh); /* and the times set since, as files_sync() */
		if (!rc && fh->later_name)
			rc = smbc_create_now(fs->client, fh->file); /* even if empty */
		if (rc) {
			LOG_DBG("inode %llu: data written before the stop not sent: %s",
				(unsigned long long)fh->ino, strerror(-rc));
			lost++;
		}
	}
	return lost;
}

void smbfs_free(struct smbfs *fs)
{
	if (!fs)
		return;
	/*
	 * Files the kernel never released (the session ended with releases
	 * still queued): every FUSE worker is gone, so they are ours to close.
	 * Their reads may wait for a reconnect that a hard mount would wait
	 * for forever: nobody is left to want them, so the client gives up.
	 */
	if (fs->files)
		smbc_abort(fs->client);
	while (fs->files) {
		struct smbfs_file *fh = fs->files;
		fs->files = fh->next;
		(void)file_free(fs, fh);
	}
	defer_stop(fs);
	notify_stop(fs);
	itab_free(fs->itab);
	neg_free(fs->neg);
	free(fs->subdir);
	pthread_mutex_destroy(&fs->files_lock);
	pthread_cond_destroy(&fs->files_cond);
	free(fs);
}

/* Share path of an inode, with the mount's subdirectory in front, names as on the mount. */
static int ino_path_posix(struct smbfs *fs, fuse_ino_t ino, const char *child, char *buf,
			  size_t size, size_t *prefix)
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
	*prefix = pre;
	return 0;
}

/*
 * Every name that goes to the server passes here, and every name a listing
 * brings back through dir_add (ops_dir.c): the inode table, the negative
 * cache and the kernel only ever see POSIX names. The subdirectory prefix
 * is a server path as the user typed it and is not mapped.
 */
int ino_path(struct smbfs *fs, fuse_ino_t ino, const char *child, char *buf, size_t size)
{
	char posix[PATH_CAP];
	size_t pre;
	int rc;

	if (fs->p.namemap == NAMEMAP_NONE)
		return ino_path_posix(fs, ino, child, buf, size, &pre);
	rc = ino_path_posix(fs, ino, child, posix, sizeof(posix), &pre);
	if (rc)
		return rc;
	if (pre >= size)
		return -ENAMETOOLONG;
	memcpy(buf, posix, pre);
	return namemap_to_server((enum namemap)fs->p.namemap, posix + pre, buf + pre, size - pre);
}

int check_name(struct smbfs *fs, const char *name)
{
	/*
	 * NAME_MAX as cifs.ko applies it (servers allow 255 UTF-16 units, but a
	 * longer UTF-8 name would not fit struct dirent); characters SMB forbids
	 * in names (MS-FSCC 2.1.5.2), unless mapposix/mapchars map them.
	 */
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	return namemap_valid((enum namemap)fs->p.namemap, name) ? 0 : -EINVAL;
}

void fix_st_ino(struct smbfs *fs, fuse_ino_t ino, struct stat *st)
{
	if (fs->p.pol.server_ino && itab_has_flag(fs->itab, ino, ITAB_FIXED_INO))
		st->st_ino = ino;
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode))
		itab_set_flag(fs->itab, ino, ITAB_MULTI_LINK);
}

double attr_tmo(const struct smbfs *fs, const struct stat *st)
{
	return S_ISDIR(st->st_mode) ? fs->p.attr_timeout : fs->p.attr_timeout_reg;
}

void fill_entry(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *s,
		       struct fuse_entry_param *e)
{
	struct smb_stat local;
	if (ino && pend_stat(fs, ino, &local))
		s = &local; /* this mount is writing it: its own view is the current one */
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = 1;
	statmap_fill(&fs->p.pol, s, ino, &e->attr);
	fix_st_ino(fs, ino, &e->attr);
	ext_fix_attr(fs, ino, s, &e->attr);
	e->attr_timeout = attr_tmo(fs, &e->attr);
	e->entry_timeout = fs->p.attr_timeout; /* the name is the directory's */
}

/* ------------------------------------------------------------------ init */
