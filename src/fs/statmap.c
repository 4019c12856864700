/*
 * statmap.c - see statmap.h.
 */
#include "fs/statmap.h"

#include <string.h>

#include "wire/smb2.h"

void statmap_fill(const struct statmap_policy *p, const struct smb_stat *s, uint64_t fallback_ino,
		  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (s->attrs & FILE_ATTRIBUTE_DIRECTORY) {
		st->st_mode = S_IFDIR | (p->dir_mode & 07777);
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | (p->file_mode & 07777);
		st->st_nlink = s->nlink ? s->nlink : 1;
	}
	if (s->attrs & FILE_ATTRIBUTE_READONLY)
		st->st_mode &= ~(mode_t)0222;
	st->st_ino = (p->server_ino && s->ino) ? s->ino : fallback_ino;
	st->st_uid = p->uid;
	st->st_gid = p->gid;
	st->st_size = (off_t)s->size;
	st->st_blksize = 1024 * 1024;
	st->st_blocks = (blkcnt_t)((s->alloc + 511) / 512);
	st->st_atim = s->atime;
	st->st_mtim = s->mtime;
	st->st_ctim = s->ctime;
}
