/*
 * ops_entry.c - lookup, forget, getattr, setattr, statfs, init.
 *
 * Each operation resolves its inode to a share path through the inode table,
 * calls one client function (a compound or a single request with a deadline),
 * and replies. fuse_reply_* is called exactly once per request.
 * Errors reach the kernel as positive errno at the reply.
 */
#include "fs/internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cache/dircache.h"
#include "cache/negcache.h"
#include "cache/writeback.h"
#include "fs/prefetch.h"
#include "fs/watch.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/smb2.h"
#include "wire/time.h"

void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct smbfs *fs = userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: attributes come free */
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* When a fresh getattr shows another mtime or size, drop the cached pages. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	ext_init(fs, conn);
	/* Listings: up to 256 directories and 256k names (about 40 MiB at worst). */
	if (!fs->p.direct_io)
		fs->dc = dc_new(256, 256 * 1024, fs->p.attr_timeout);
	if (!fs->p.direct_io && !fs->p.nonotify && watch_start(fs, 64))
		LOG_WARN("cannot start watching directories: other clients' changes show "
			 "within actimeo only");
	if (pf_start(fs))
		LOG_WARN("cannot start prefetching listings: each directory costs a round trip");
	conn->max_readahead = 1024 * 1024;
	conn->max_write = (unsigned)fs->p.wsize;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

void op_destroy(void *userdata)
{
	struct smbfs *fs = userdata;
	ext_destroy(fs); /* answer blocked lock requests before the session goes */
	pf_stop(fs); /* its workers store into fs->dc */
	watch_stop(fs);
	dc_free(fs->dc);
	fs->dc = NULL;
}

/* ------------------------------------------------------------------ entries */

/*
 * Is name missing from parent's listing, kept current (src/cache/dircache.h)?
 * A small listing of a directory this mount changes that just expired is
 * fetched again instead of asking about the one name: the same round trip,
 * and the next lookups there are answered too. *ttl gets how long the
 * answer holds.
 */
static int lookup_in_listing(struct smbfs *fs, fuse_ino_t parent, const char *name, double *ttl)
{
	int ans = dc_absent(fs->dc, parent, name, ttl);
	if (ans == DC_REFETCH) {
		if (!dir_refetch(fs, parent))
			ans = dc_absent(fs->dc, parent, name, ttl);
		else
			dc_inval(fs->dc, parent); /* not again for every name */
	}
	return ans == DC_ABSENT;
}

/*
 * name's attributes from parent's kept listing, when they are as good as the
 * server's: the listing is fresh, no local modification started or ended
 * since it was fetched (dc_find), and the file is not open for writing here
 * (its size may be ahead of the server's). ls -l of a directory whose names
 * the kernel let expire then costs no LOOKUP per name. *ttl gets how long
 * the answer holds.
 */
static int found_in_listing(struct smbfs *fs, fuse_ino_t parent, const char *name,
			    struct smb_stat *st, double *ttl)
{
	fuse_ino_t known;
	if (!dc_find(fs->dc, parent, name, st, ttl))
		return 0;
	known = itab_find(fs->itab, parent, name);
	return !known ||
	       (!fs_ino_writing(fs, known) && !itab_has_flag(fs->itab, known, ITAB_MULTI_LINK));
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct smbfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct smb_stat st;
	char path[PATH_CAP];
	double neg_ttl = fs->p.attr_timeout, pos_ttl = -1, dir_ttl = 0;
	fuse_ino_t ino;
	int rc, listed = 0;

	rc = check_name(fs, name);
	if (rc) {
		/* a forbidden character: no such file can exist */
		fuse_reply_err(req, rc == -EINVAL ? ENOENT : -rc);
		return;
	}
	if (neg_hit(fs->neg, parent, name)) {
		rc = -ENOENT; /* known missing: no round trip */
	} else if (lookup_in_listing(fs, parent, name, &neg_ttl)) {
		rc = -ENOENT; /* not in the directory's current listing: no round trip */
	} else if (found_in_listing(fs, parent, name, &st, &pos_ttl)) {
		rc = 0; /* in it, with current attributes: no round trip */
	} else if (dc_find_dir(fs->dc, parent, name, &st, &dir_ttl)) {
		/* a directory this mount made or changed: the kernel asks about each
		 * one again before mkdir (EEXIST) and O_EXCL creates in it, while
		 * the listing's attributes are not current (files written there) */
		pos_ttl = -1;
		rc = 0;
		listed = 1;
	} else {
		pos_ttl = -1;
		uint64_t gen = neg_gen(fs->neg); /* a create meanwhile wins over our miss */
		/*
		 * A rename or unlink through this mount in the directory right now:
		 * the server may already show its result while the inode table does
		 * not, and the new file's attributes would land on the old inode
		 * (a reader of the old file would then read to the new size). Ask
		 * again once the change is over.
		 */
		for (int tries = 0;; tries++) {
			rc = ino_path(fs, parent, name, path, sizeof(path));
			if (!rc)
				rc = smbc_stat(fs->client, path, &st);
			if (!dc_changing(fs->dc, parent) || tries >= 50)
				break;
			usleep(2000);
		}
		if (rc == -ENOENT)
			neg_add_since(fs->neg, parent, name, gen);
	}
	if (rc) {
		if (rc == -ENOENT && fs->p.attr_timeout > 0 && neg_ttl > 0) {
			/* negative entry, cached by the kernel for the attribute time
			 * (no longer than the listing that answered stays valid) */
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fs->p.attr_timeout < neg_ttl ? fs->p.attr_timeout : neg_ttl;
			fuse_reply_entry(req, &e);
			return;
		}
		fuse_reply_err(req, -rc);
		return;
	}
	ino = itab_lookup_sid(fs->itab, parent, name, 1, file_sid(fs, &st));
	if (!ino) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fill_entry(fs, ino, &st, &e);
	if (listed) {
		/* the name holds as long as the listing; its attributes may be
		 * older than the kernel's: not kept (the next stat asks getattr) */
		if (e.entry_timeout > dir_ttl)
			e.entry_timeout = dir_ttl;
		e.attr_timeout = 0;
	} else if (pos_ttl >= 0) { /* valid no longer than the listing */
		if (e.attr_timeout > pos_ttl)
			e.attr_timeout = pos_ttl;
		if (e.entry_timeout > pos_ttl)
			e.entry_timeout = pos_ttl;
	}
	if (fuse_reply_entry(req, &e) == -ENOENT) /* interrupted: undo the lookup count */
		itab_forget(fs->itab, ino, 1);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct smbfs *fs = fs_of(req);
	dc_note_forget(fs->dc);
	itab_forget(fs->itab, ino, nlookup);
	fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct smbfs *fs = fs_of(req);
	dc_note_forget(fs->dc);
	for (size_t i = 0; i < count; i++)
		itab_forget(fs->itab, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * A directory with a kept listing: its "." entry carries the directory's
 * attributes, as fresh as the listing (the kernel re-asks after every
 * readdir, for the access time). Returns 1 when it answered.
 */
static int getattr_cached_dir(struct smbfs *fs, fuse_req_t req, fuse_ino_t ino)
{
	double rem = 0;
	struct dc_list *l = dc_lookup(fs->dc, ino, &rem);
	struct stat out;
	int done = 0;

	if (!l)
		return 0;
	/* edited after a local change: the server moved "."'s times since */
	for (size_t i = 0; i < l->n && i < 2 && !l->dot_stale; i++) {
		const struct smb_stat *st = &l->ents[i].st;
		if (strcmp(l->ents[i].name, ".") != 0 || !(st->attrs & FILE_ATTRIBUTE_DIRECTORY))
			continue;
		statmap_fill(&fs->p.pol, st, ino, &out);
		fix_st_ino(fs, ino, &out);
		ext_fix_attr(fs, ino, st, &out);
		fuse_reply_attr(req, &out, rem < fs->p.attr_timeout ? rem : fs->p.attr_timeout);
		done = 1;
		break;
	}
	dc_list_put(l);
	return done;
}

/*
 * The server's attributes of ino: its directory's kept listing must not
 * contradict them (dc_note_attrs), or a readdirplus or lookup from it would
 * take the kernel back to older ones.
 */
static void check_listing(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *st)
{
	char path[PATH_CAP];
	const char *name;
	fuse_ino_t parent = itab_parent(fs->itab, ino);

	/* a directory's times move with its entries: its parent's listing stays */
	if (!fs->dc || !parent || (st->attrs & FILE_ATTRIBUTE_DIRECTORY) ||
	    itab_path(fs->itab, ino, path, sizeof(path)) <= 0)
		return;
	name = strrchr(path, '/');
	dc_note_attrs(fs->dc, parent, name ? name + 1 : path, st);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smb_stat st;
	struct stat out;
	char path[PATH_CAP];
	int rc;

	(void)fi;
	if (pend_stat(fs, ino, &st)) {
		/* being written under a write lease: this mount knows best (0 round trips) */
		statmap_fill(&fs->p.pol, &st, ino, &out);
		fix_st_ino(fs, ino, &out);
		ext_fix_attr(fs, ino, &st, &out);
		fuse_reply_attr(req, &out, attr_tmo(fs, &out));
		return;
	}
	if (getattr_cached_dir(fs, req, ino))
		return;
	/* The size on the server counts only once buffered writes are out. */
	rc = files_sync(fs, ino, 1, 0);
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc)
		rc = ext_stat(fs, ino, path, &st);
	else if (rc == -ESTALE)
		rc = ext_stat(fs, ino, NULL, &st); /* unlinked or replaced: its open handles know */
	if (!rc && !itab_same_file(fs->itab, ino, file_sid(fs, &st)))
		rc = -ESTALE; /* the name leads to another file now: look it up again */
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	check_listing(fs, ino, &st);
	statmap_fill(&fs->p.pol, &st, ino, &out);
	fix_st_ino(fs, ino, &out);
	ext_fix_attr(fs, ino, &st, &out);
	fuse_reply_attr(req, &out, attr_tmo(fs, &out));
}

void op_statfs(fuse_req_t req, fuse_ino_t ino)
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

static uint64_t setattr_time(const struct timespec *ts, int now)
{
	struct timespec t;
	if (now)
		clock_gettime(CLOCK_REALTIME, &t);
	else
		t = *ts;
	return timespec_to_filetime(&t);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = fi ? (struct smbfs_file *)(uintptr_t)fi->fh : NULL;
	struct smbfs_file *pinned = NULL;
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
	/*
	 * Without Unix extensions no owner is stored: every file shows uid=/gid=.
	 * With perm a chown to another owner fails, since it cannot happen; with
	 * noperm (default) it is accepted and changes nothing, as in cifs.ko.
	 */
	if (fs->p.perm && (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->p.pol.uid) ||
			   ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->p.pol.gid))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/* chmod/utimens of a file this mount is writing: kept until close (pending.c) */
	if (pend_setattr(fs, ino, attr, to_set, &st)) {
		rc = 0;
		goto out;
	}
	/*
	 * futimens(), fchmod() and utimensat() on a file this mount has open for
	 * writing: set the times through that handle. Samba then keeps them
	 * ("sticky" write time); set through another handle, the writer's close
	 * would stamp the time of its last write over them (cp -a, tar x).
	 */
	if (!fh)
		fh = pinned = file_pin_writer(fs, ino);
	if (!fh && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
		file_wait_closed(fs, ino); /* a writer's CLOSE would stamp its own time over ours */
	/* Buffered writes land before the new size or times; cached data is stale after. */
	rc = files_sync(fs, ino, 1, (to_set & FUSE_SET_ATTR_SIZE) != 0);
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (rc == -ESTALE && fh)
		rc = 0, path[0] = '\0'; /* unlinked or replaced: the handle does it all */
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
			rc = fh ? smbc_query_fid(fs->client, fh->file, &st)
				: smbc_stat(fs->client, path, &st);
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
	rc = ext_stat(fs, ino, path[0] ? path : NULL, &st);
	pend_forget(fs, ino); /* the server's copy changed under the local one */
	dc_inval(fs->dc, ino); /* a directory's own "." in its cached listing is stale now */
out:
	file_unpin(fs, pinned);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	statmap_fill(&fs->p.pol, &st, ino, &out);
	fix_st_ino(fs, ino, &out);
	ext_fix_attr(fs, ino, &st, &out);
	fuse_reply_attr(req, &out, attr_tmo(fs, &out));
}
