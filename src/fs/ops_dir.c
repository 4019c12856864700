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

#include "cache/negcache.h"
#include "cache/writeback.h"
#include "log.h"
#include "wire/fscc.h"
#include "wire/namemap.h"
#include "wire/smb2.h"
#include "wire/time.h"

struct dir_entry {
	char *name;
	struct smb_stat st;
};

struct dir_handle {
	struct dir_entry *ents;
	size_t n;
	size_t cap;
	enum namemap map; /* names come back in the mount's spelling (mapposix/mapchars) */
};

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
	if (d->map == NAMEMAP_NONE) {
		d->ents[d->n].name = strdup(name);
	} else {
		size_t len = strlen(name) + 1;
		d->ents[d->n].name = malloc(len);
		if (d->ents[d->n].name &&
		    namemap_from_server(d->map, name, d->ents[d->n].name, len)) {
			free(d->ents[d->n].name); /* cannot happen: never longer than name */
			return -EIO;
		}
	}
	if (!d->ents[d->n].name)
		return -ENOMEM;
	d->ents[d->n].st = *st;
	d->n++;
	return 0;
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
	d->map = (enum namemap)fs->p.namemap;
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
	defer_ns_begin(fs);
	if (!rc)
		defer_close_path(fs, path); /* a kept handle would keep the name alive */
	if (!rc)
		rc = is_dir ? smbc_delete(fs->client, path, 1) : ext_unlink(fs, parent, name, path);
	if (!rc)
		itab_unlink(fs->itab, parent, name); /* before a release may park it by name */
	defer_ns_end(fs);
	if (!rc) {
		neg_add(fs->neg, parent, name);
	}
	fuse_reply_err(req, rc ? -rc : 0);
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
	rc = ino_path(fs, parent, name, from, sizeof(from));
	if (!rc)
		rc = ino_path(fs, newparent, newname, to, sizeof(to));
	if (!rc) {
		/* kept handles below either name would block or outlive the rename */
		defer_ns_begin(fs);
		defer_close_path(fs, from);
		defer_close_path(fs, to);
		rc = ext_rename(fs, newparent, newname, from, to, !(flags & RENAME_NOREPLACE));
		if (!rc) {
			/* not neg_add(old name): a case-only rename keeps it valid on the server */
			neg_del(fs->neg, newparent, newname);
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
}
