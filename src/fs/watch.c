/*
 * watch.c - see watch.h.
 *
 * A watch is in one of these states (under ws->lock):
 *   W_WANT    listed recently: to be opened and armed by the thread;
 *   W_ARMED   a CHANGE_NOTIFY is outstanding (inflight = 1);
 *   W_WAITGEN its request ended with the connection: re-arm when smbc_gen()
 *             passes gen;
 *   W_DEAD    evicted, dropped or stopping: its handle is closed by the
 *             thread; freed once no request is in flight.
 * The completion (loop thread) touches only the watch's inflight count and
 * the event queue. A watch is freed only by the thread, only when DEAD with
 * nothing in flight, so a completion never sees freed memory.
 */
#include "fs/watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/dircache.h"
#include "cache/negcache.h"
#include "client/pool.h"
#include "errmap.h"
#include "fs/internal.h"
#include "log.h"
#include "wire/changenotify.h"
#include "wire/namemap.h"
#include "wire/smb2.h"
#include "wire/utf16.h"

#ifndef STATUS_NOTIFY_CLEANUP
#define STATUS_NOTIFY_CLEANUP 0x0000010Bu
#endif

#define NOTIFY_OUT_LEN (16 * 1024)
#define NOTIFY_FILTER                                                                     \
	(FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |                     \
	 FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE |                        \
	 FILE_NOTIFY_CHANGE_LAST_WRITE)
#define STOP_WAIT_S 10

enum wstate { W_WANT, W_ARMED, W_WAITGEN, W_DEAD };

struct watch {
	fuse_ino_t ino;
	struct smbc_file *dir; /* open handle; only the thread opens/closes it */
	char *path;            /* share path it was opened by (set with dir) */
	enum wstate state;
	int inflight;      /* a CHANGE_NOTIFY outstanding */
	int busy;          /* the thread is opening/arming it (lock dropped) */
	uint64_t gen;      /* connection generation it was sent on */
	int64_t used_ns;   /* last listed */
	struct watchset *ws;
	struct watch *next;
};

/* A completed CHANGE_NOTIFY, copied off the loop thread. */
struct wevent {
	struct watch *w;
	int rc;
	uint32_t status;
	uint8_t *buf;
	uint32_t len;
	struct wevent *next;
};

struct watchset {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct smbfs *fs;
	struct watch *list;
	size_t count, max; /* live (not DEAD) watches */
	struct wevent *evq, *evq_tail;
	int stop;
	int abandon; /* stop gave up waiting: the thread leaves at once */
	int kick;    /* work for the thread */
	pthread_t thread;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ loop thread */

static void notify_cb(void *arg, int rc, uint32_t status, const uint8_t *buf, uint32_t len)
{
	struct watch *w = arg;
	struct watchset *ws = w->ws;
	struct wevent *ev = calloc(1, sizeof(*ev));

	if (ev) {
		ev->w = w;
		ev->rc = rc;
		ev->status = status;
		if (len && buf) {
			ev->buf = malloc(len);
			if (ev->buf) {
				memcpy(ev->buf, buf, len);
				ev->len = len;
			} else {
				ev->status = STATUS_NOTIFY_ENUM_DIR; /* lost the details: rescan */
			}
		}
	}
	pthread_mutex_lock(&ws->lock);
	w->inflight = 0;
	if (ev) {
		if (ws->evq_tail)
			ws->evq_tail->next = ev;
		else
			ws->evq = ev;
		ws->evq_tail = ev;
	} else if (w->state == W_ARMED) {
		w->state = W_WAITGEN; /* no memory: treat like a lost connection */
	}
	ws->kick = 1;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

/* ------------------------------------------------------------------ watch thread */

static void drop_watches(struct smbfs *fs, fuse_ino_t ino, const char *path, int wait);

/* Forget what the kernel and our caches know about dir (changes may have been missed). */
static void inval_dir(struct smbfs *fs, fuse_ino_t dir)
{
	dc_inval(fs->dc, dir);
	neg_inval_dir(fs->neg, dir);
	if (fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, dir, -1, 0);
}

/* Is (dir, name) really gone on the server? Only then is IN_DELETE honest. */
static int gone_on_server(struct smbfs *fs, fuse_ino_t dir, const char *name)
{
	char path[PATH_CAP];
	struct smb_stat st;
	if (ino_path(fs, dir, name, path, sizeof(path)))
		return 0;
	return smbc_stat(fs->client, path, &st) == -ENOENT;
}

static void one_change(struct smbfs *fs, fuse_ino_t dir, uint32_t action, const char *name)
{
	size_t nlen = strlen(name);
	fuse_ino_t child = itab_find(fs->itab, dir, name);

	LOG_DBG("change notification: dir %llu action %u %s", (unsigned long long)dir, action,
		name);
	neg_del(fs->neg, dir, name);
	/* before the kernel hears of it: a readdir racing with the invalidations
	 * below must not be answered from a listing that disagrees */
	switch (action) {
	case FILE_ACTION_ADDED:
	case FILE_ACTION_RENAMED_NEW_NAME:
		dc_notified(fs->dc, dir, DC_NEWS_ADDED, name);
		break;
	case FILE_ACTION_REMOVED:
	case FILE_ACTION_RENAMED_OLD_NAME:
		dc_notified(fs->dc, dir, DC_NEWS_REMOVED, name);
		break;
	case FILE_ACTION_MODIFIED:
		dc_notified(fs->dc, dir, DC_NEWS_MODIFIED, name);
		break;
	default: /* streams: the file's size and times in the listing may be off */
		dc_inval(fs->dc, dir);
		break;
	}
	if (!fs->se)
		return;
	switch (action) {
	case FILE_ACTION_REMOVED:
	case FILE_ACTION_RENAMED_OLD_NAME:
		/* Our own unlink/rmdir/rename in progress there tells the kernel
		 * itself; a stat now could even hold the name open as it goes. */
		if (child && !dc_changing(fs->dc, dir) && gone_on_server(fs, dir, name)) {
			/* the kernel unhashes the dentry and tells inotify (IN_DELETE) */
			int rc = fuse_lowlevel_notify_delete(fs->se, dir, child, name, nlen);
			if (rc && rc != -ENOENT)
				LOG_DBG("notify_delete: %s", strerror(-rc));
			itab_unlink(fs->itab, dir, name);
			/* its handle would keep it delete-pending; the loop closes it next */
			drop_watches(fs, child, NULL, 0);
			break;
		}
		fuse_lowlevel_notify_inval_entry(fs->se, dir, name, nlen);
		break;
	case FILE_ACTION_MODIFIED:
	case FILE_ACTION_MODIFIED_STREAM:
	case FILE_ACTION_ADDED_STREAM:
	case FILE_ACTION_REMOVED_STREAM:
		/* size, times or attributes: the kernel asks again (and, with
		 * auto_inval_data, drops pages when mtime or size moved) */
		if (child) {
			dc_inval(fs->dc, child); /* a directory: its "." entry moved too */
			fuse_lowlevel_notify_inval_inode(fs->se, child, -1, 0);
		}
		break;
	default: /* ADDED, RENAMED_NEW_NAME: a negative dentry must go */
		fuse_lowlevel_notify_inval_entry(fs->se, dir, name, nlen);
		if (child)
			fuse_lowlevel_notify_inval_inode(fs->se, child, -1, 0);
		break;
	}
}

static void handle_changes(struct smbfs *fs, fuse_ino_t dir, const uint8_t *buf, uint32_t len)
{
	struct file_notify_iter it;
	struct file_notify_info fi;
	char name[1024];
	int rc, n = 0;

	file_notify_iter_init(&it, buf, len);
	while ((rc = file_notify_iter_next(&it, &fi)) > 0) {
		size_t out;
		n++;
		if (fi.name16_len == 0 ||
		    utf16le_to_utf8(fi.name16, fi.name16_len, name, sizeof(name), &out) ||
		    strchr(name, '/') || strchr(name, '\\')) {
			rc = -EBADMSG; /* a name we cannot place: rescan instead */
			break;
		}
		if (fs->p.namemap != NAMEMAP_NONE) { /* the server's spelling -> the mount's */
			char mapped[sizeof(name)];
			if (namemap_from_server((enum namemap)fs->p.namemap, name, mapped,
						sizeof(mapped))) {
				rc = -EBADMSG;
				break;
			}
			memcpy(name, mapped, sizeof(name));
		}
		one_change(fs, dir, fi.action, name);
	}
	if (rc < 0) {
		LOG_WARN("malformed change notification from server; rescanning the directory");
		inval_dir(fs, dir);
		return;
	}
	if (n == 0) /* success with nothing listed: the buffer was too small */
		inval_dir(fs, dir);
	else if (fs->se) /* its own times and link count moved */
		fuse_lowlevel_notify_inval_inode(fs->se, dir, -1, 0);
}

/* Lock held. Unlink a DEAD watch with nothing in flight and free it. */
static void reap(struct watchset *ws)
{
	for (struct watch **pp = &ws->list; *pp;) {
		struct watch *w = *pp;
		if (w->state == W_DEAD && !w->inflight && !w->dir && !w->busy) {
			*pp = w->next;
			free(w->path);
			free(w);
			continue;
		}
		pp = &w->next;
	}
}

/* Lock held: a watch needing the thread's hands (open/arm/close), or NULL. */
static struct watch *next_job(struct watchset *ws, uint64_t gen_now)
{
	for (struct watch *w = ws->list; w; w = w->next) {
		if (w->state == W_WANT && !w->inflight)
			return w;
		if (w->state == W_WAITGEN && !w->inflight && gen_now > w->gen)
			return w;
		if (w->state == W_DEAD && w->dir)
			return w;
	}
	return NULL;
}

static int any_waitgen(struct watchset *ws)
{
	for (struct watch *w = ws->list; w; w = w->next)
		if (w->state == W_WAITGEN)
			return 1;
	return 0;
}

/* Open (if needed) and arm w. Lock not held; w cannot be freed meanwhile (only we free). */
static void arm(struct watchset *ws, struct watch *w)
{
	struct smbfs *fs = ws->fs;
	struct smbc_open_args a = {
		.access = FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_DIRECTORY_FILE,
		.share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	};
	char path[PATH_CAP];
	struct smbc_file *dir;
	uint64_t gen = 0;
	int rc = 0, was_waitgen;

	pthread_mutex_lock(&ws->lock);
	was_waitgen = w->state == W_WAITGEN;
	dir = w->dir;
	pthread_mutex_unlock(&ws->lock);
	if (!dir) {
		rc = ino_path(fs, w->ino, NULL, path, sizeof(path));
		if (!rc)
			rc = smbc_open(fs->client, path, &a, &dir, NULL, NULL);
	}
	pthread_mutex_lock(&ws->lock);
	if (!rc && !w->dir) {
		w->dir = dir; /* only this thread sets or clears it */
		free(w->path);
		w->path = strdup(path);
	}
	if (!rc && w->state != W_DEAD) {
		w->inflight = 1; /* before the submit: the completion may come at once */
		pthread_mutex_unlock(&ws->lock);
		rc = smbc_notify_async(fs->client, dir, 0, NOTIFY_FILTER, NOTIFY_OUT_LEN,
				       notify_cb, w, &gen);
		pthread_mutex_lock(&ws->lock);
		if (rc) {
			w->inflight = 0;
		} else {
			w->gen = gen;
			if (w->state != W_DEAD)
				w->state = W_ARMED;
		}
	}
	if (w->state == W_DEAD) {
		pthread_mutex_unlock(&ws->lock);
		return; /* the next pass closes it */
	}
	if (rc) {
		if (rc == -ENOTCONN || rc == -EAGAIN || rc == -ECONNRESET || rc == -ETIMEDOUT ||
		    rc == -EIO) {
			w->state = W_WAITGEN; /* try again on the next connection */
			w->gen = gen ? gen : smbc_gen(fs->client);
		} else {
			LOG_DBG("cannot watch directory %llu: %s", (unsigned long long)w->ino,
				strerror(-rc));
			w->state = W_DEAD; /* gone, not a directory, refused: give up */
			ws->count--;
		}
	}
	pthread_mutex_unlock(&ws->lock);
	if (!rc) {
		dc_set_watched(fs->dc, w->ino, 1);
		if (was_waitgen) /* changes during the outage went unreported */
			inval_dir(fs, w->ino);
	}
}

static void handle_event(struct watchset *ws, struct wevent *ev)
{
	struct smbfs *fs = ws->fs;
	struct watch *w = ev->w;
	enum wstate st;

	pthread_mutex_lock(&ws->lock);
	st = w->state;
	pthread_mutex_unlock(&ws->lock);
	if (st == W_DEAD)
		return; /* closed on purpose: STATUS_NOTIFY_CLEANUP or the like */
	if (ev->rc == 0 && ev->status == STATUS_SUCCESS) {
		handle_changes(fs, w->ino, ev->buf, ev->len);
		pthread_mutex_lock(&ws->lock);
		if (w->state == W_ARMED)
			w->state = W_WANT; /* re-arm */
		pthread_mutex_unlock(&ws->lock);
		return;
	}
	/* Not watched from here until re-armed: the listing expires as usual. */
	dc_set_watched(fs->dc, w->ino, 0);
	inval_dir(fs, w->ino);
	pthread_mutex_lock(&ws->lock);
	if (ev->rc == 0 && ev->status == STATUS_NOTIFY_ENUM_DIR) {
		if (w->state == W_ARMED)
			w->state = W_WANT; /* overflow: everything invalidated, carry on */
	} else if (ev->rc < 0 && ev->rc != -EIO) {
		if (w->state == W_ARMED)
			w->state = W_WAITGEN; /* the connection went: after the reconnect */
	} else {
		/* the directory was deleted, the handle closed, access lost, a
		 * malformed answer: stop watching it */
		LOG_DBG("watch on directory %llu ended: rc %d status 0x%08x",
			(unsigned long long)w->ino, ev->rc, ev->status);
		if (w->state != W_DEAD) {
			w->state = W_DEAD;
			ws->count--;
		}
	}
	pthread_mutex_unlock(&ws->lock);
}

static void *watch_thread(void *arg)
{
	struct watchset *ws = arg;
	struct smbfs *fs = ws->fs;

	pthread_mutex_lock(&ws->lock);
	for (;;) {
		struct wevent *ev;
		struct watch *w;

		if (ws->abandon)
			break;
		if (ws->evq) {
			ev = ws->evq;
			ws->evq = ev->next;
			if (!ws->evq)
				ws->evq_tail = NULL;
			pthread_mutex_unlock(&ws->lock);
			handle_event(ws, ev);
			free(ev->buf);
			free(ev);
			pthread_mutex_lock(&ws->lock);
			pthread_cond_broadcast(&ws->cond); /* a watch may have ended: watch_stop waits */
			continue;
		}
		w = next_job(ws, smbc_gen(fs->client));
		if (w && w->state == W_DEAD) {
			struct smbc_file *f = w->dir;
			w->dir = NULL;
			pthread_mutex_unlock(&ws->lock);
			dc_set_watched(fs->dc, w->ino, 0);
			smbc_close(fs->client, f); /* the server ends its request */
			pthread_mutex_lock(&ws->lock);
			pthread_cond_broadcast(&ws->cond); /* watch_drop/watch_stop wait for this */
			continue;
		}
		if (w && !ws->stop) {
			w->busy = 1;
			pthread_mutex_unlock(&ws->lock);
			arm(ws, w);
			pthread_mutex_lock(&ws->lock);
			w->busy = 0;
			pthread_cond_broadcast(&ws->cond);
			continue;
		}
		reap(ws);
		if (ws->stop && !ws->list)
			break;
		pthread_cond_broadcast(&ws->cond);
		if (!ws->kick) {
			if (any_waitgen(ws) || ws->stop) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 200 * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&ws->cond, &ws->lock, &ts);
			} else {
				pthread_cond_wait(&ws->cond, &ws->lock);
			}
		}
		ws->kick = 0;
	}
	pthread_cond_broadcast(&ws->cond); /* watch_stop may wait for what ended last */
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* ------------------------------------------------------------------ API */

int watch_start(struct smbfs *fs, size_t max)
{
	struct watchset *ws = calloc(1, sizeof(*ws));
	int rc;
	if (!ws)
		return -ENOMEM;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->cond, NULL);
	ws->fs = fs;
	ws->max = max ? max : 64;
	rc = pthread_create(&ws->thread, NULL, watch_thread, ws);
	if (rc) {
		pthread_mutex_destroy(&ws->lock);
		pthread_cond_destroy(&ws->cond);
		free(ws);
		return -rc;
	}
	fs->watches = ws;
	return 0;
}

void watch_dir(struct smbfs *fs, fuse_ino_t ino)
{
	struct watchset *ws = fs->watches;
	struct watch *w, *lru = NULL;
	int64_t now = mono_ns();

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	if (ws->stop)
		goto out;
	for (w = ws->list; w; w = w->next) {
		if (w->state == W_DEAD)
			continue;
		if (w->ino == ino) {
			w->used_ns = now;
			goto out;
		}
		if (!lru || w->used_ns < lru->used_ns)
			lru = w;
	}
	if (ws->count >= ws->max && lru) {
		lru->state = W_DEAD; /* the thread closes its handle */
		ws->count--;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	w->ino = ino;
	w->ws = ws;
	w->state = W_WANT;
	w->used_ns = now;
	w->next = ws->list;
	ws->list = w;
	ws->count++;
	ws->kick = 1;
	pthread_cond_broadcast(&ws->cond);
out:
	pthread_mutex_unlock(&ws->lock);
}

/* Lock held: is w the watch of ino or of path (below: or of anything under path)? */
static int drop_match(const struct watch *w, fuse_ino_t ino, const char *path, int below)
{
	size_t n;
	if (w->ino == ino || (path && w->path && strcmp(w->path, path) == 0))
		return 1;
	if (!below || !path || !w->path)
		return 0;
	n = strlen(path);
	return !n || (!strncmp(w->path, path, n) && w->path[n] == '/');
}

static void drop_watches_match(struct smbfs *fs, fuse_ino_t ino, const char *path, int wait,
			       int below)
{
	struct watchset *ws = fs->watches;
	struct smbc_file *mine[64];
	fuse_ino_t inos[64];
	struct timespec dl;
	int nmine = 0, ninos = 0, busy;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	for (struct watch *w = ws->list; w; w = w->next) {
		if (!drop_match(w, ino, path, below))
			continue;
		if (ninos < 64)
			inos[ninos++] = w->ino;
		if (w->state != W_DEAD) {
			w->state = W_DEAD;
			ws->count--;
		}
		/* Close it here rather than wait for the thread, which may be
		 * blocked in a kernel notification on the very directory our
		 * caller (rmdir) holds locked. */
		if (wait && w->dir && !w->busy && nmine < 64) {
			mine[nmine++] = w->dir;
			w->dir = NULL;
		}
	}
	ws->kick = 1;
	pthread_cond_broadcast(&ws->cond);
	/* One the thread is opening or arming right now: that takes no kernel
	 * lock, so waiting for it is safe. Bounded: its calls have deadlines. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	while (wait) {
		busy = 0;
		for (struct watch *w = ws->list; w; w = w->next)
			busy |= drop_match(w, ino, path, below) && w->busy;
		if (!busy)
			break;
		if (pthread_cond_timedwait(&ws->cond, &ws->lock, &dl) == ETIMEDOUT)
			break;
	}
	/* a watch the thread armed meanwhile: its handle is ours to close too */
	for (struct watch *w = ws->list; wait && w; w = w->next) {
		if (drop_match(w, ino, path, below) && w->dir && !w->busy && nmine < 64) {
			mine[nmine++] = w->dir;
			w->dir = NULL;
		}
	}
	pthread_mutex_unlock(&ws->lock);
	dc_set_watched(fs->dc, ino, 0);
	for (int k = 0; k < ninos; k++)
		dc_set_watched(fs->dc, inos[k], 0);
	for (int k = 0; k < nmine; k++)
		smbc_close(fs->client, mine[k]); /* the server ends its request */
}

static void drop_watches(struct smbfs *fs, fuse_ino_t ino, const char *path, int wait)
{
	drop_watches_match(fs, ino, path, wait, 0);
}

void watch_drop(struct smbfs *fs, fuse_ino_t ino, const char *path)
{
	drop_watches(fs, ino, path, 1);
}

void watch_drop_below(struct smbfs *fs, const char *path)
{
	drop_watches_match(fs, 0, path, 1, 1);
}

size_t watch_armed(struct smbfs *fs)
{
	struct watchset *ws = fs->watches;
	size_t n = 0;
	if (!ws)
		return 0;
	pthread_mutex_lock(&ws->lock);
	for (struct watch *w = ws->list; w; w = w->next)
		n += w->state == W_ARMED;
	pthread_mutex_unlock(&ws->lock);
	return n;
}

void watch_stop(struct smbfs *fs)
{
	struct watchset *ws = fs->watches;
	struct timespec dl;
	int left;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stop = 1;
	for (struct watch *w = ws->list; w; w = w->next) {
		if (w->state != W_DEAD) {
			w->state = W_DEAD; /* the thread closes the handles */
			ws->count--;
		}
	}
	ws->kick = 1;
	pthread_cond_broadcast(&ws->cond);
	/* wait (bounded) for the thread to close everything and the requests to end */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += STOP_WAIT_S;
	for (;;) {
		left = 0;
		for (struct watch *w = ws->list; w; w = w->next)
			left += w->inflight || w->dir;
		if (!left && !ws->evq)
			break;
		if (pthread_cond_timedwait(&ws->cond, &ws->lock, &dl) == ETIMEDOUT)
			break;
	}
	if (left) {
		/* requests that never ended still point at their watches: leave them
		 * (and the set) behind, but the thread must not outlive fs */
		LOG_WARN("%d directory watches did not end; leaving them", left);
		ws->abandon = 1;
		pthread_cond_broadcast(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
		pthread_join(ws->thread, NULL);
		fs->watches = NULL;
		return;
	}
	pthread_mutex_unlock(&ws->lock);
	pthread_join(ws->thread, NULL);
	while (ws->evq) {
		struct wevent *ev = ws->evq;
		ws->evq = ev->next;
		free(ev->buf);
		free(ev);
	}
	pthread_mutex_destroy(&ws->lock);
	pthread_cond_destroy(&ws->cond);
	free(ws);
	fs->watches = NULL;
}
