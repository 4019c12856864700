/*
 * ops_stats.c - debug counters readable as virtual extended attributes.
 *
 * getxattr of user.smbfuse.round_trips on the mount root answers the number
 * of SMB requests (a compound counts once) this mount has sent so far, as a
 * decimal string:
 *
 *     getfattr --only-values -n user.smbfuse.round_trips /mnt/x
 *
 * user.smbfuse.watches: directories with a CHANGE_NOTIFY outstanding (fs/watch.c).
 *
 * user.smbfuse.prefetch: "KEPT BUSY", listings kept by prefetch so far and
 * prefetches queued or in flight (fs/prefetch.c).
 *
 * It is answered here, never sent to the server, costs no round trip itself,
 * and is not listed by listxattr (so cp -a and rsync -X do not copy it).
 * Every other xattr request goes on to ops_ext.c.
 */
#include "fs/internal.h"
#include "fs/prefetch.h"
#include "fs/watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STATS_ROUND_TRIPS "user.smbfuse.round_trips"
#define STATS_WATCHES "user.smbfuse.watches"
#define STATS_PREFETCH "user.smbfuse.prefetch"

void op_getxattr_stats(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct smbfs *fs = fs_of(req);
	char v[48];
	int n;

	if (ino == FUSE_ROOT_ID && strcmp(name, STATS_ROUND_TRIPS) == 0) {
		n = snprintf(v, sizeof(v), "%lu", smbc_round_trips(fs->client));
	} else if (ino == FUSE_ROOT_ID && strcmp(name, STATS_WATCHES) == 0) {
		n = snprintf(v, sizeof(v), "%zu", watch_armed(fs));
	} else if (ino == FUSE_ROOT_ID && strcmp(name, STATS_PREFETCH) == 0) {
		unsigned long busy, kept = pf_stats(fs, &busy);
		n = snprintf(v, sizeof(v), "%lu %lu", kept, busy);
	} else {
		op_getxattr(req, ino, name, size);
		return;
	}
	if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else if (size < (size_t)n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, (size_t)n);
}
