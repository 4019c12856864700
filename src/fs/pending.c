/*
 * pending.c - attributes of a file this mount is writing, kept locally while
 * its write lease lasts.
 *
 * `tar x` and `cp -p` create a file, write it, then set its mode and times;
 * each of those would be a round trip (two, with the stat after). While an
 * open file holds a write-caching lease nobody else can write it, so its
 * attributes are what this mount says they are: the open knows them (the
 * CREATE compound returns them), writes move the size and mtime, chmod and
 * utimens change them locally. getattr/lookup/readdirplus of the inode answer
 * from that; the changed times and attributes go to the server in one
 * SET_INFO before anything looks at the server's copy: at close (release), on
 * fsync, when the lease breaks and whenever files_sync() flushes the inode.
 *
 * A write after a pending mtime drops it: the server stamps the write, as
 * POSIX has a write after utimens do. The fields live in struct smbfs_file
 * and are guarded by fs->files_lock.
 */
#include "fs/internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cache/writeback.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"
#include "wire/time.h"

enum { PEND_ATIME = 1, PEND_MTIME = 2, PEND_ATTRS = 4 };

/*
 * Locked: the open file of ino whose attributes this mount owns, or NULL. Only
 * when it is the inode's one writer: with two, each knows only its own writes
 * (and an O_APPEND writer none), so the server is asked instead.
 */
static struct smbfs_file *owner_locked(struct smbfs *fs, fuse_ino_t ino)
{
	struct smbfs_file *owner = NULL;
	for (struct smbfs_file *f = fs->files; f; f = f->next) {
		if (f->ino != ino || f->accmode == O_RDONLY)
			continue;
		if (owner || !f->st_known || !f->wb ||
		    !(smbc_file_lease(f->file) & SMB2_LEASE_WRITE_CACHING))
			return NULL;
		owner = f;
	}
	return owner;
}

void pend_opened(struct smbfs_file *fh, const struct smb_stat *st)
{
	fh->st = *st;
	fh->st_known = 1;
	fh->pend = 0;
}

void pend_wrote(struct smbfs *fs, struct smbfs_file *fh, uint64_t end)
{
	pthread_mutex_lock(&fs->files_lock);
	if (fh->st_known) {
		if (end > fh->st.size)
			fh->st.size = end;
		clock_gettime(CLOCK_REALTIME, &fh->st.mtime);
		fh->st.ctime = fh->st.mtime;
		fh->pend &= ~(unsigned)PEND_MTIME;
	}
	pthread_mutex_unlock(&fs->files_lock);
}

void pend_forget(struct smbfs *fs, fuse_ino_t ino)
{
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f; f = f->next)
		if (f->ino == ino)
			f->st_known = 0;
	pthread_mutex_unlock(&fs->files_lock);
}

int pend_stat(struct smbfs *fs, fuse_ino_t ino, struct smb_stat *out)
{
	struct smbfs_file *f;
	pthread_mutex_lock(&fs->files_lock);
	f = owner_locked(fs, ino);
	if (f)
		*out = f->st;
	pthread_mutex_unlock(&fs->files_lock);
	return f != NULL;
}

static struct timespec now_or(const struct timespec *ts, int now)
{
	struct timespec t;
	if (!now)
		return *ts;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

int pend_setattr(struct smbfs *fs, fuse_ino_t ino, const struct stat *attr, int to_set,
		 struct smb_stat *out)
{
	const int local = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			  FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_UID |
			  FUSE_SET_ATTR_GID | FUSE_SET_ATTR_CTIME;
	struct smbfs_file *f;

	if (to_set & ~local)
		return 0; /* a size change goes to the server now */
	pthread_mutex_lock(&fs->files_lock);
	f = owner_locked(fs, ino);
	if (f) {
		if (to_set & FUSE_SET_ATTR_ATIME) {
			f->st.atime = now_or(&attr->st_atim, to_set & FUSE_SET_ATTR_ATIME_NOW);
			f->pend |= PEND_ATIME;
		}
		if (to_set & FUSE_SET_ATTR_MTIME) {
			f->st.mtime = now_or(&attr->st_mtim, to_set & FUSE_SET_ATTR_MTIME_NOW);
			f->pend |= PEND_MTIME;
		}
		if (to_set & FUSE_SET_ATTR_MODE) {
			/* only the write bits mean something: they map to READONLY */
			uint32_t a = f->st.attrs & ~(uint32_t)FILE_ATTRIBUTE_READONLY;
			if (!(attr->st_mode & 0222))
				a |= FILE_ATTRIBUTE_READONLY;
			if (a != f->st.attrs) {
				f->st.attrs = a;
				f->pend |= PEND_ATTRS;
			}
		}
		*out = f->st;
	}
	pthread_mutex_unlock(&fs->files_lock);
	return f != NULL;
}

/* The SET_INFO(FileBasicInformation) of fh's pending times and attributes; 0 when none. */
static size_t pend_take(struct smbfs *fs, struct smbfs_file *fh, uint8_t *buf, size_t cap)
{
	struct fscc_basic_info bi;
	struct wbuf w;
	unsigned pend;

	memset(&bi, 0, sizeof(bi)); /* zero: leave unchanged */
	pthread_mutex_lock(&fs->files_lock);
	pend = fh->pend;
	fh->pend = 0;
	if (pend & PEND_ATIME)
		bi.last_access = timespec_to_filetime(&fh->st.atime);
	if (pend & PEND_MTIME)
		bi.last_write = timespec_to_filetime(&fh->st.mtime);
	if (pend & PEND_ATTRS)
		bi.attributes = fh->st.attrs ? fh->st.attrs : FILE_ATTRIBUTE_NORMAL;
	pthread_mutex_unlock(&fs->files_lock);
	if (!pend)
		return 0;
	w = wbuf_init(buf, cap);
	if (fscc_basic_encode(&w, &bi))
		return 0; /* cannot happen: 40 bytes */
	return w.off;
}

struct last_ctx {
	struct smbfs *fs;
	struct smbfs_file *fh;
	const uint8_t *info;
	size_t len;
};

static int send_last(void *arg, uint64_t off, const void *data, size_t len)
{
	struct last_ctx *lc = arg;
	if (!lc->len) /* a file created later: created with its data */
		return smbc_create_write(lc->fs->client, lc->fh->file, off, data, len);
	return smbc_write_set_info(lc->fs->client, lc->fh->file, off, data, len,
				   FileBasicInformation, lc->info, (uint32_t)lc->len);
}

/*
 * close(): the buffered data, then the pending times. A small file written
 * in one go (tar x, cp -p) sends its last WRITE and the SET_INFO as one
 * compound: one round trip where it took two; a file created later is
 * created in the same compound (ops_file.c).
 */
int pend_flush_data(struct smbfs *fs, struct smbfs_file *fh)
{
	uint8_t buf[64];
	struct last_ctx lc = {fs, fh, buf, 0};
	int rc, rc2, sent;

	lc.len = pend_take(fs, fh, buf, sizeof(buf));
	if (!lc.len && !smbc_file_later(fh->file)) {
		rc = wb_flush(fh->wb);
		return rc ? rc : pend_flush(fs, fh); /* times set meanwhile */
	}
	rc = wb_flush_last(fh->wb, send_last, &lc, &sent);
	if (sent) {
		if (rc)
			LOG_WARN("writing a file and its times at close failed: %s", strerror(-rc));
		rc2 = pend_flush(fs, fh); /* set while the compound was out */
		return rc ? rc : rc2;
	}
	if (!lc.len)
		return rc;
	/* (a file created later and still empty: created in the same compound) */
	rc2 = smbc_write_set_info(fs->client, fh->file, 0, NULL, 0, FileBasicInformation, buf,
				  (uint32_t)lc.len);
	if (rc2)
		LOG_WARN("setting the times/attributes of a file at close failed: %s", strerror(-rc2));
	return rc ? rc : rc2;
}

int pend_flush(struct smbfs *fs, struct smbfs_file *fh)
{
	uint8_t buf[64];
	size_t len;
	int rc;

	len = pend_take(fs, fh, buf, sizeof(buf));
	if (!len)
		return 0;
	rc = smbc_set_info_fid(fs->client, fh->file, FileBasicInformation, buf, (uint32_t)len);
	if (rc)
		LOG_WARN("setting the times/attributes of a file at close failed: %s", strerror(-rc));
	return rc;
}
