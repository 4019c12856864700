/*
 * ops_dir.c - opendir, readdir(plus), releasedir, mkdir, rmdir, unlink, rename.
 */
#include "fs/internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/dircache.h"
#include "cache/negcache.h"
#include "cache/writeback.h"
#include "fs/prefetch.h"
#include "fs/watch.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/namemap.h"
#include "wire/smb2.h"
#include "wire/time.h"

/*
 * An open directory: a listing, fetched at opendir or shared with the
 * directory cache (src/cache/dircache.c). A listing served from the cache
 * gives the kernel attributes only for names it does not know yet, and only
 * while the cache trusts them; for names it knows, the kernel keeps its own
 * attributes (they follow this mount's writes), so the entry goes without
 * (nodeid 0: the name only) - unless no local modification started or ended
 * since the listing was fetched (dc_attrs_current) and the file is not open
 * for writing: then the listing's attributes are as new as the kernel's, and
 * refresh its entry (else each expired name costs a LOOKUP when ls -l stats
 * it). Entries from a kept listing are valid no longer than it is.
 */
struct dir_handle {
	struct dc_list *l;
	int cached;       /* served from the directory cache */
	double remaining; /* seconds a cached listing stays valid (at opendir) */
	unsigned queued;  /* subdirectories queued for prefetch (prefetch.h) */
};

static void dir_free(struct dir_handle *d)
{
	if (!d)
		return;
	dc_list_put(d->l);
	free(d);
}

/* More entries than one QUERY_DIRECTORY response holds (see REFETCH_MAX in dircache.c). */
#define DIR_LONG 400

/* A listing entry from the server: its name in the mount's spelling (mapposix/mapchars). */
struct fetch_ctx {
	struct dc_list *l;
	enum namemap map;
};

static int fetch_add(const char *name, const struct smb_stat *st, void *arg)
{
	struct fetch_ctx *fc = arg;
	char mapped[1024]; /* as long as any name the client passes on */
	if (name && fc->map != NAMEMAP_NONE) {
		if (strlen(name) >= sizeof(mapped) ||
		    namemap_from_server(fc->map, name, mapped, sizeof(mapped)))
			return -EIO; /* cannot happen: a mapped name is never longer */
		name = mapped;
	}
	return dc_list_add(name, st, fc->l);
}

/* Fetch ino's listing from the server, keeping it in the cache when allowed. */
static int dir_fetch(struct smbfs *fs, fuse_ino_t ino, struct dir_handle *d)
{
	struct fetch_ctx fc;
	struct dc_ticket t = dc_begin_fetch(fs->dc);
	char path[PATH_CAP];
	int rc;

	d->l = dc_list_new();
	if (!d->l)
		return -ENOMEM;
	d->l->epoch = t.epoch;
	fc.l = d->l;
	fc.map = (enum namemap)fs->p.namemap;
	rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc)
		rc = smbc_list_dir(fs->client, path, fetch_add, &fc);
	if (!rc)
		dc_store(fs->dc, ino, &t, d->l);
	return rc;
}

int dir_list_one_trip(struct smbfs *fs, const char *path, struct dc_list *l)
{
	struct fetch_ctx fc = {l, (enum namemap)fs->p.namemap};
	return smbc_list_dir_one_trip(fs->client, path, fetch_add, &fc);
}

int dir_refetch(struct smbfs *fs, fuse_ino_t ino)
{
	struct dir_handle d = {0};
	int rc = dir_fetch(fs, ino, &d);
	dc_list_put(d.l);
	return rc;
}

/*
 * A directory this mount just made (ino): its listing is "." and "..", kept
 * so that lookups in it need no round trip. t was taken before the mkdir.
 * Before the reply: the kernel's next lookup in it may come at once.
 */
void keep_new_dir(struct smbfs *fs, fuse_ino_t ino, const struct smb_stat *st,
		  const struct dc_ticket *t)
{
	struct smb_stat up = *st;
	struct dc_list *l;

	if (!(l = dc_list_new()))
		return;
	up.ino = 0; /* the parent's own id is not at hand */
	if (!dc_list_add(".", st, l) && !dc_list_add("..", &up, l))
		dc_store_new(fs->dc, ino, t, l);
	dc_list_put(l);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct smbfs *fs = fs_of(req);
	struct dir_handle *d;
	int rc = 0;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->l = dc_lookup(fs->dc, ino, &d->remaining);
	if (!d->l && pf_claim(fs, ino)) /* a prefetch of it was in flight */
		d->l = dc_lookup(fs->dc, ino, &d->remaining);
	/*
	 * A long listing close to its expiry would expire while it is read, and
	 * each name given after that costs a LOOKUP (ls -l stats them all):
	 * fetching it again costs a few round trips.
	 */
	if (d->l && d->l->n > DIR_LONG && d->remaining < fs->p.attr_timeout / 2) {
		dc_list_put(d->l);
		d->l = NULL;
	}
	if (d->l)
		d->cached = 1;
	else
		rc = dir_fetch(fs, ino, d);
	if (rc) {
		dir_free(d);
		fuse_reply_err(req, -rc);
		return;
	}
	watch_dir(fs, ino); /* other clients' changes to it come to us */
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dir_free(d);
}

/* A readdirplus entry with the name only: the kernel uses what it knows. */
static void name_only(struct smbfs *fs, const struct dc_ent *de, size_t i,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	statmap_fill(&fs->p.pol, &de->st, 0, &e->attr);
	e->attr.st_ino = de->st.ino ? de->st.ino : (ino_t)(i + 2);
}

/*
 * The kernel is given subdirectory cino of ino: someone walking the tree
 * (find, du, a file manager) opens it next, so fetch its listing now
 * (prefetch.h). Not for reparse points (symlinks to directories).
 */
static void maybe_prefetch(struct smbfs *fs, struct dir_handle *d, fuse_ino_t ino,
			   fuse_ino_t cino, const struct smb_stat *st)
{
	if ((st->attrs & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) !=
		    FILE_ATTRIBUTE_DIRECTORY ||
	    d->queued >= PF_PER_DIR)
		return;
	d->queued++;
	pf_dir(fs, ino, cino);
}

/* What a kept listing may tell the kernel, at one readdirplus. */
struct list_view {
	int trusted;      /* attributes for names the kernel does not know (dc_attrs_trusted) */
	int current;      /* and for those it knows (dc_attrs_current) */
	int writing;      /* some file is open for writing (fs_writing) */
	double remaining; /* seconds the listing still holds */
};

/*
 * The readdirplus entry of d's i-th entry (ino's listing) into *e. -ENOMEM
 * when the inode table is full (stop the listing there).
 */
static int plus_entry(struct smbfs *fs, struct dir_handle *d, fuse_ino_t ino, size_t i,
		      const struct list_view *v, struct fuse_entry_param *e)
{
	const struct dc_ent *de = &d->l->ents[i];
	fuse_ino_t known = d->cached ? itab_find(fs->itab, ino, de->name) : 0;
	fuse_ino_t seen = d->cached ? known : itab_find(fs->itab, ino, de->name);
	fuse_ino_t cino;

	/*
	 * Not if the file may have been written here since the fetch: the
	 * kernel's attributes may be newer, or, for an inode it forgot, the
	 * server's (a writer closing now makes the listing's untrustworthy);
	 * nor when the server said the file changed since (de->stale); nor for
	 * an inode seen with more than one link (a listing carries no count).
	 */
	if ((seen && itab_has_flag(fs->itab, seen, ITAB_MULTI_LINK)) ||
	    (d->cached && (de->stale ||
			   (known ? !v->current || (v->writing && fs_ino_writing(fs, known))
				  : !v->trusted && (!v->current || v->writing))))) {
		name_only(fs, de, i, e);
		return 0;
	}
	cino = itab_lookup_sid(fs->itab, ino, de->name, 1, d->cached ? 0 : file_sid(fs, &de->st));
	if (!cino)
		return -ENOMEM;
	fill_entry(fs, cino, &de->st, e);
	/*
	 * A listing fresh from the server, or a name the kernel learns now (a
	 * first walk below a kept listing); not a known name of a kept listing
	 * being listed again.
	 */
	if (!known)
		maybe_prefetch(fs, d, ino, cino, &de->st);
	if (d->cached) { /* valid no longer than the listing */
		if (e->attr_timeout > v->remaining)
			e->attr_timeout = v->remaining;
		if (e->entry_timeout > v->remaining)
			e->entry_timeout = v->remaining;
	}
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct smbfs *fs = fs_of(req);
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	struct dc_list *l = d->l;
	struct list_view v = {0};
	char *buf, *p;
	size_t left = size;

	if (d->cached && plus) {
		v.trusted = dc_attrs_trusted(fs->dc, l);
		/* it may have expired, or been replaced, since opendir */
		v.remaining = dc_remaining(fs->dc, ino, l);
		v.current = v.remaining > 0 && dc_attrs_current(fs->dc, l);
		v.writing = v.current && fs_writing(fs);
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	for (size_t i = (size_t)off; i < l->n; i++) {
		struct dc_ent *de = &l->ents[i];
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
			} else if (plus_entry(fs, d, ino, i, &v, &e)) {
				break;
			}
			need = fuse_add_direntry_plus(req, p, left, de->name, &e, (off_t)(i + 1));
		}
		p += need;
		left -= need;
	}
	fuse_reply_buf(req, buf, size - left);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------------------ files */

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct smbfs *fs = fs_of(req);
	struct smb_stat st;
	struct dc_ticket t;
	char path[PATH_CAP];
	int rc;

	(void)mode;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((rc = check_name(fs, name))) {
		fuse_reply_err(req, -rc);
		return;
	}
	dc_begin_change(fs->dc, parent);
	t = dc_begin_fetch(fs->dc);
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc)
		rc = smbc_mkdir(fs->client, path, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		reply_new_entry(req, fs, parent, name, &st, NULL, NULL, &t);
	}
	dc_end_change(fs->dc, parent);
}

static void do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int is_dir)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	fuse_ino_t victim;
	int rc, hides;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	dc_begin_change(fs->dc, parent);
	/* an open file is renamed to a hidden name first: a name the listing lacks */
	victim = itab_find(fs->itab, parent, name);
	hides = !is_dir && victim && ino_is_open(fs, victim);
	rc = ino_path(fs, parent, name, path, sizeof(path));
	if (!rc && is_dir) /* our watch handle would leave the directory delete-pending */
		watch_drop(fs, itab_find(fs->itab, parent, name), path);
	defer_ns_begin(fs);
	if (!rc)
		defer_close_path(fs, path); /* a kept handle would keep the name alive */
	if (!rc)
		rc = is_dir ? smbc_delete(fs->client, path, 1) : ext_unlink(fs, parent, name, path);
	if (!rc) {
		if (is_dir) {
			fuse_ino_t gone = itab_find(fs->itab, parent, name);
			if (gone)
				dc_inval(fs->dc, gone);
		}
		itab_unlink(fs->itab, parent, name); /* before a release may park it by name */
		neg_add(fs->neg, parent, name);
		if (!hides)
			dc_note_del(fs->dc, parent, name);
	}
	defer_ns_end(fs);
	fuse_reply_err(req, rc ? -rc : 0);
	dc_end_change(fs->dc, parent);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, 0);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, 1);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct smbfs *fs = fs_of(req);
	char from[PATH_CAP], to[PATH_CAP];
	fuse_ino_t victim;
	int rc;

	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE/WHITEOUT: SMB cannot */
		return;
	}
	if ((rc = check_name(fs, newname))) {
		fuse_reply_err(req, -rc);
		return;
	}
	dc_begin_change(fs->dc, parent);
	dc_begin_change(fs->dc, newparent);
	/* a file replaced may be moved to a hidden name first (ext_rename) */
	victim = itab_find(fs->itab, newparent, newname);
	rc = ino_path(fs, parent, name, from, sizeof(from));
	if (!rc)
		rc = ino_path(fs, newparent, newname, to, sizeof(to));
	if (!rc) {
		/* kept handles below either name would block or outlive the rename */
		watch_drop_below(fs, from); /* open watch handles below would block it too */
		defer_ns_begin(fs);
		defer_close_path(fs, from);
		defer_close_path(fs, to);
		rc = ext_rename(fs, newparent, newname, from, to, !(flags & RENAME_NOREPLACE));
		if (!rc) {
			/* not neg_add(old name): a case-only rename keeps it valid on the server */
			neg_del(fs->neg, newparent, newname);
			if (!victim)
				dc_note_rename(fs->dc, parent, name, newparent, newname);
			rc = itab_rename(fs->itab, parent, name, newparent, newname);
		}
		if (!rc) {
			fuse_ino_t moved = itab_find(fs->itab, newparent, newname);
			if (moved)
				files_renamed(fs, moved, to);
		}
		defer_ns_end(fs); /* a release parks by the new name from here */
	}
	fuse_reply_err(req, rc ? -rc : 0);
	dc_end_change(fs->dc, newparent);
	dc_end_change(fs->dc, parent);
}
