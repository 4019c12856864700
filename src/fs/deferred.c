/*
 * deferred.c - deferred close: handles kept open under a handle lease.
 *
 * When the last user of a read-only open file lets go (release) while its
 * lease still caches handles (SMB2_LEASE_HANDLE_CACHING), the SMB handle is parked for
 * `closetimeo` seconds instead of closed. The next open of the same inode
 * with an access mode the parked handle covers takes it back: no CREATE, no
 * round trip. A parked handle is closed:
 *   - when its time is up (a thread here checks twice a second),
 *   - when its lease loses handle caching (notify.c calls defer_lease_break
 *     before it acknowledges the break: another client wants the file),
 *   - before this mount unlinks or renames the file or a directory above it
 *     (otherwise the server would keep the name until the handle goes),
 *   - at unmount.
 * Buffered data, pending attributes and locks are gone before a handle is
 * parked (release flushes them), so a parked handle holds nothing but itself.
 */
#include "fs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wire/smb2.h"

struct parked {
	fuse_ino_t ino;
	int accmode; /* O_RDONLY, O_WRONLY or O_RDWR */
	struct smbc_file *file;
	uint8_t key[16];
	char *path;
	int64_t deadline_ns;
	struct parked *next;
};

struct deferred {
	/*
	 * Namespace gate: unlink/rename hold it shared while they close kept
	 * handles and change the name; a release holds it exclusively from
	 * leaving the open-file list to parking. Otherwise an unlink could fall
	 * between the two, see the file neither open nor kept, and leave it
	 * delete-pending behind a handle parked a moment later.
	 */
	pthread_rwlock_t gate;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct parked *list;
	int count;
	int stop;
	pthread_t thread;
	int started;
};

#define MAX_PARKED 256

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void close_list(struct smbfs *fs, struct parked *p)
{
	while (p) {
		struct parked *nx = p->next;
		int rc = smbc_close(fs->client, p->file);
		if (rc)
			LOG_DBG("deferred close of %s: %s", p->path, strerror(-rc));
		free(p->path);
		free(p);
		p = nx;
	}
}

/* Locked: unlink the entries pred selects; returns them as a list. */
static struct parked *take_if(struct deferred *d, int (*pred)(const struct parked *, const void *),
			      const void *arg)
{
	struct parked *out = NULL, **pp = &d->list;
	while (*pp) {
		struct parked *p = *pp;
		if (pred(p, arg)) {
			*pp = p->next;
			p->next = out;
			out = p;
			d->count--;
		} else {
			pp = &p->next;
		}
	}
	return out;
}

static int expired(const struct parked *p, const void *now)
{
	return p->deadline_ns <= *(const int64_t *)now;
}

static int all(const struct parked *p, const void *arg)
{
	(void)p;
	(void)arg;
	return 1;
}

static void *defer_thread(void *arg)
{
	struct smbfs *fs = arg;
	struct deferred *d = fs->deferred;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		struct timespec ts;
		int64_t now = mono_ns();
		struct parked *due = take_if(d, expired, &now);
		if (due) {
			pthread_mutex_unlock(&d->lock);
			close_list(fs, due);
			pthread_mutex_lock(&d->lock);
			continue;
		}
		/* files created later: other clients see them within a second */
		pthread_mutex_unlock(&d->lock);
		smbc_create_due(fs->client, CREATE_LATER_MAX_S);
		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int defer_start(struct smbfs *fs)
{
	struct deferred *d;
	if (!fs->p.closetimeo || fs->p.direct_io)
		return 0; /* off: every close is a close */
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_rwlock_init(&d->gate, NULL);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	fs->deferred = d;
	if (pthread_create(&d->thread, NULL, defer_thread, fs) == 0)
		d->started = 1;
	return 0;
}

void defer_stop(struct smbfs *fs)
{
	struct deferred *d = fs->deferred;
	struct parked *left;
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->started)
		pthread_join(d->thread, NULL);
	pthread_mutex_lock(&d->lock);
	left = take_if(d, all, NULL);
	pthread_mutex_unlock(&d->lock);
	close_list(fs, left);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	pthread_rwlock_destroy(&d->gate);
	free(d);
	fs->deferred = NULL;
}

int defer_park(struct smbfs *fs, struct smbfs_file *fh, int accmode, const char *path)
{
	struct deferred *d = fs->deferred;
	struct parked *p;

	const char *base;

	if (!d || !fh->file || accmode != O_RDONLY || !path || fh->locks ||
	    !(smbc_file_lease(fh->file) & SMB2_LEASE_HANDLE_CACHING))
		return 0;
	/*
	 * Only read-only handles: Samba stamps a file's write time when the
	 * handle that wrote it closes (or 2 s later), so a written file kept open
	 * would show its old mtime meanwhile (make, rsync would be fooled). And a
	 * handle that ever held byte-range locks closes, which drops them.
	 */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(base, ".smbfuse", 8))
		return 0; /* unlinked while open (ops_ext.c): the server deletes it at close */
	p = calloc(1, sizeof(*p));
	if (!p)
		return 0;
	p->path = strdup(path);
	if (!p->path) {
		free(p);
		return 0;
	}
	p->ino = fh->ino;
	p->accmode = accmode;
	p->file = fh->file;
	memcpy(p->key, fh->lease_key, 16);
	p->deadline_ns = mono_ns() + (int64_t)fs->p.closetimeo * 1000000000;
	pthread_mutex_lock(&d->lock);
	if (d->stop || d->count >= MAX_PARKED) {
		pthread_mutex_unlock(&d->lock);
		free(p->path);
		free(p);
		return 0;
	}
	p->next = d->list;
	d->list = p;
	d->count++;
	pthread_mutex_unlock(&d->lock);
	fh->file = NULL; /* ours now */
	return 1;
}

void defer_ns_begin(struct smbfs *fs)
{
	if (fs->deferred)
		pthread_rwlock_rdlock(&fs->deferred->gate);
}

void defer_ns_end(struct smbfs *fs)
{
	if (fs->deferred)
		pthread_rwlock_unlock(&fs->deferred->gate);
}

void defer_release_begin(struct smbfs *fs)
{
	if (fs->deferred)
		pthread_rwlock_wrlock(&fs->deferred->gate);
}

void defer_release_end(struct smbfs *fs)
{
	if (fs->deferred)
		pthread_rwlock_unlock(&fs->deferred->gate);
}

/* An access mode the parked handle's covers. */
static int covers(int parked, int want)
{
	return parked == O_RDWR || parked == want;
}

struct smbc_file *defer_take(struct smbfs *fs, fuse_ino_t ino, int accmode, uint8_t key[16])
{
	struct deferred *d = fs->deferred;
	struct smbc_file *f = NULL;
	if (!d)
		return NULL;
	pthread_mutex_lock(&d->lock);
	for (struct parked **pp = &d->list; *pp; pp = &(*pp)->next) {
		struct parked *p = *pp;
		if (p->ino == ino && covers(p->accmode, accmode) &&
		    (smbc_file_lease(p->file) & SMB2_LEASE_HANDLE_CACHING)) {
			*pp = p->next;
			d->count--;
			f = p->file;
			memcpy(key, p->key, 16);
			free(p->path);
			free(p);
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return f;
}

int defer_key(struct smbfs *fs, fuse_ino_t ino, uint8_t key[16])
{
	struct deferred *d = fs->deferred;
	int found = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	for (struct parked *p = d->list; p && !found; p = p->next) {
		if (p->ino == ino) {
			memcpy(key, p->key, 16);
			found = 1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

static int same_key(const struct parked *p, const void *key)
{
	return memcmp(p->key, key, 16) == 0;
}

void defer_lease_break(struct smbfs *fs, const uint8_t key[16], uint32_t new_state)
{
	struct deferred *d = fs->deferred;
	struct parked *gone;
	if (!d || (new_state & SMB2_LEASE_HANDLE_CACHING))
		return;
	pthread_mutex_lock(&d->lock);
	gone = take_if(d, same_key, key);
	pthread_mutex_unlock(&d->lock);
	close_list(fs, gone);
}

/* The parked handle is for path itself or for something below it. */
static int at_or_below(const struct parked *p, const void *arg)
{
	const char *path = arg;
	size_t n = strlen(path);
	if (!n)
		return 1; /* the share root: everything */
	return strncmp(p->path, path, n) == 0 && (p->path[n] == '\0' || p->path[n] == '/');
}

void defer_close_path(struct smbfs *fs, const char *path)
{
	struct deferred *d = fs->deferred;
	struct parked *gone;
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	gone = take_if(d, at_or_below, path);
	pthread_mutex_unlock(&d->lock);
	close_list(fs, gone);
}
