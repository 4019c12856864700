/*
 * fs.h - the FUSE filesystem over an SMB tree connect.
 */
#ifndef SMBF_FS_FS_H
#define SMBF_FS_FS_H

#include <fuse_lowlevel.h>
#include <stddef.h>

#include <pthread.h>

#include "cache/readahead.h"
#include "client/ops.h"
#include "fs/inode.h"
#include "fs/statmap.h"

struct smbfs_params {
	struct statmap_policy pol;
	double attr_timeout;   /* seconds: names, listings and directory attributes (acdirmax) */
	double attr_timeout_reg; /* seconds: attributes of everything but directories (acregmax) */
	int loose;             /* cache=loose: keep file data cached whether or not leased */
	const char *subdir;    /* share-relative prefix, or NULL */
	int readonly;
	size_t rsize;          /* largest READ */
	size_t wsize;          /* largest WRITE */
	int direct_io;         /* cache=none */
	size_t rasize;         /* readahead window limit per file */
	int mfsymlinks;        /* symlinks as Minshall-French XSym files (ops_link.c) */
	int nobrl;             /* keep byte-range locks local to the kernel (ops_lock.c) */
	int nouser_xattr;      /* no user.* xattrs: the kernel stops asking (ops_xattr.c) */
	int namemap;           /* enum namemap: mapposix/mapchars (files.c, ops_dir.c) */
	int perm;              /* perm: chown to another owner fails (ops_entry.c) */
	unsigned closetimeo;   /* seconds a handle-leased handle stays open after close (deferred.c) */
	int nonotify;          /* no CHANGE_NOTIFY watches (fs/watch.c) */
	int nodirprefetch;     /* no listings fetched ahead (fs/prefetch.c) */
};

struct smbfs_file;

struct smbfs {
	struct smb_client *client;
	struct inode_table *itab;
	struct smbfs_params p;
	char *subdir;
	struct ra_budget ra_budget;
	struct negcache *neg;     /* names known missing; NULL when actimeo is 0 */
	struct dircache *dc;      /* directory listings; NULL when actimeo is 0 or cache=none */
	struct watchset *watches; /* CHANGE_NOTIFY on listed directories (fs/watch.c); NULL: off */
	struct prefetch *pf;      /* subdirectory listings fetched ahead (fs/prefetch.c); NULL: off */
	int releasing;            /* atomic: releases of writers in progress (ops_wrap.c) */
	struct notifier *notifier; /* lease breaks, fs/notify.c */
	struct fuse_session *se;   /* for kernel cache invalidation; set by smbfs_set_session */
	int no_reparse_symlinks;  /* atomic; ops_link.c: the server stores no reparse points */
	pthread_mutex_t files_lock;
	pthread_cond_t files_cond;
	struct smbfs_file *files; /* open files, protected by files_lock */
	/* writers being released (their CLOSE not answered yet), under files_lock */
	uint64_t closing[32];
	unsigned closing_n[32];
	struct deferred *deferred; /* handles parked after close (deferred.c); NULL: off */
};

/* Takes no ownership of client. */
struct smbfs *smbfs_new(struct smb_client *client, const struct smbfs_params *p);
/* The FUSE session, needed to invalidate the kernel's caches on lease breaks. */
void smbfs_set_session(struct smbfs *fs, struct fuse_session *se);
/*
 * The session ended while the kernel still had files open (a stop by
 * signal): send what they have buffered (write-behind, times), while the
 * client is still connected. Returns how many files kept data that could
 * not be sent. After fs_loop_run() returned, before smbfs_free().
 */
int smbfs_flush_unreleased(struct smbfs *fs);
void smbfs_free(struct smbfs *fs);

extern const struct fuse_lowlevel_ops smbfs_ll_ops;

/*
 * Serve the session until it exits (fs/loop.c): like libfuse's
 * fuse_session_loop_mt() (max_threads workers at most, max_idle idle ones
 * kept; -1: all), or fuse_session_loop() when single, but with request
 * buffers write-behind may hold instead of copying. Returns 0 when the
 * mount served and then ended (unmounted, or stopped by a signal), -EINTR
 * when it ended before the kernel's INIT was answered (a signal before the
 * mount was ready), or another -errno when reading requests failed.
 */
int fs_loop_run(struct fuse_session *se, int single, int max_threads, int max_idle);
/* Free the idle request buffers; after fs_loop_run() and smbfs_free(). */
void fs_loop_cleanup(void);

#endif
