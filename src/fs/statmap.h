/*
 * statmap.h - SMB attributes and times -> struct stat, with the mount's
 * uid/gid/mode policy (cifs.ko without unix extensions: owner and mode come
 * from the mount options; READONLY clears the write bits).
 */
#ifndef SMBF_FS_STATMAP_H
#define SMBF_FS_STATMAP_H

#include <sys/stat.h>
#include <sys/types.h>

#include "client/ops.h"

struct statmap_policy {
	uid_t uid;
	gid_t gid;
	mode_t file_mode;
	mode_t dir_mode;
	int server_ino; /* use the server's IndexNumber as st_ino */
};

void statmap_fill(const struct statmap_policy *p, const struct smb_stat *s, uint64_t fallback_ino,
		  struct stat *st);

#endif
