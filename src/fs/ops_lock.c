/*
 * ops_lock.c - POSIX byte-range locks (fcntl F_GETLK/F_SETLK/F_SETLKW, OFD
 * locks) and flock() on SMB2 LOCK, and the wait queue for blocking requests.
 *
 * Locks. An SMB2 lock belongs to a handle; a POSIX lock to an owner (a
 * process, or an open file description for OFD locks and flock). Each open
 * file keeps the list of ranges every owner holds through it; each range is
 * exactly one SMB2 lock on the server. A POSIX request becomes a diff between
 * the owner's old and new ranges (splitting, upgrading, downgrading), applied
 * as: new shared locks first (they may stack on our own locks), then unlocks,
 * then new exclusive locks, rolled back on a refusal. Locks taken by another
 * owner through the same handle are checked here, since the server cannot
 * tell owners of one handle apart. flock() locks one byte beyond any POSIX
 * range, so that the two kinds never conflict, as on Linux. Blocking requests
 * (F_SETLKW, flock without LOCK_NB) never hold a FUSE worker: they wait on a
 * list served by one retry thread, which retries with a growing back-off
 * (5 ms .. 200 ms) and answers EINTR as soon as the kernel interrupts the
 * request. Polling costs up to 200 ms after a release, but leaves nothing
 * pending on the server across a reconnect and needs no SMB2 CANCEL (which
 * the connection layer does not offer). Buffered writes are flushed before a
 * lock is released or weakened, and prefetched data is dropped after one is
 * taken: what was written under a lock reaches the server before the unlock,
 * and what is read after a lock is fresh. Locks do not survive a reconnect.
 *
 * Server quirk (Samba 4.17, OFD locks under "posix locking"): when one
 * handle of a client unlocks a range that another handle of the same client
 * still holds, smbd keeps the first handle's fcntl lock, which then refuses
 * the client's own later exclusive locks on that range. Several processes
 * of one mount contending for one file (sqlite) need "smbd force process
 * locks = yes" on such a server; separate clients are not affected.
 */
#include "fs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cache/writeback.h"
#include "client/ops_ext.h"
#include "log.h"
#include "wire/smb2.h"

#define LK_BACKOFF_MIN_MS 5
#define LK_BACKOFF_MAX_MS 200
#define FLOCK_OWNER UINT64_MAX /* owner id of flock() locks: one per open file */
/*
 * flock() locks one byte at 2^63, out of reach of POSIX ranges (off_t stops at
 * 2^63 - 1): as on Linux, flock and fcntl locks never conflict with each
 * other, while flock locks of different clients do.
 */
#define FLOCK_BYTE (UINT64_C(1) << 63)
#define LK_EOF ((uint64_t)INT64_MAX) /* the end of "to end of file" (OFFSET_MAX) */

/* ------------------------------------------------------------------ locks: state */

struct lk_seg {
	uint64_t owner;
	uint64_t start, end; /* inclusive */
	short type;          /* F_RDLCK / F_WRLCK */
	pid_t pid;
};

/* Locks held through one open file; hangs off smbfs_file.locks. */
struct ext_locks {
	pthread_mutex_t m; /* serialises lock changes on this handle (held across LOCKs) */
	struct lk_seg *segs;
	size_t n, cap;
};

static pthread_mutex_t lk_create_lock = PTHREAD_MUTEX_INITIALIZER;

static struct ext_locks *locks_of(struct smbfs_file *fh, int create)
{
	struct ext_locks *l = __atomic_load_n(&fh->locks, __ATOMIC_ACQUIRE);
	if (l || !create)
		return l;
	pthread_mutex_lock(&lk_create_lock);
	l = fh->locks;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l) {
			pthread_mutex_init(&l->m, NULL);
			__atomic_store_n(&fh->locks, l, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&lk_create_lock);
	return l;
}

void ext_file_free(struct smbfs *fs, struct smbfs_file *fh)
{
	struct ext_locks *l = fh->locks;
	(void)fs;
	if (!l)
		return;
	/* The server drops the handle's locks when it is closed. */
	pthread_mutex_destroy(&l->m);
	free(l->segs);
	free(l);
	fh->locks = NULL;
}

static int overlaps(const struct lk_seg *s, uint64_t start, uint64_t end)
{
	return s->start <= end && start <= s->end;
}

static struct smb2_lock_element lk_elem(const struct lk_seg *s, uint32_t flags)
{
	struct smb2_lock_element e = {.offset = s->start, .length = s->end - s->start + 1,
				      .flags = flags};
	return e;
}

static int lk_server_lock(struct smbfs *fs, struct smbfs_file *fh, const struct lk_seg *s)
{
	struct smb2_lock_element e = lk_elem(s, (s->type == F_WRLCK ? SMB2_LOCKFLAG_EXCLUSIVE_LOCK
								    : SMB2_LOCKFLAG_SHARED_LOCK) |
						       SMB2_LOCKFLAG_FAIL_IMMEDIATELY);
	return smbc_lock(fs->client, fh->file, &e, 1);
}

/* Unlock ranges on the server; a range the server no longer has is not an error. */
static void lk_server_unlock(struct smbfs *fs, struct smbfs_file *fh, const struct lk_seg *segs,
			     size_t n)
{
	for (size_t i = 0; i < n;) {
		struct smb2_lock_element e[SMB2_LOCK_MAX_ELEMENTS];
		uint16_t k = 0;
		int rc;
		while (i < n && k < SMB2_LOCK_MAX_ELEMENTS)
			e[k++] = lk_elem(&segs[i++], SMB2_LOCKFLAG_UNLOCK);
		rc = smbc_lock(fs->client, fh->file, e, k);
		if (rc && k > 1) {
			/* One range the server forgot (a reconnect) fails the batch: one by one. */
			for (uint16_t j = 0; j < k; j++)
				(void)smbc_lock(fs->client, fh->file, &e[j], 1);
		} else if (rc) {
			LOG_DBG("unlock: %s", strerror(-rc));
		}
	}
}

static int seg_in(const struct lk_seg *s, const struct lk_seg *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].start == s->start && list[i].end == s->end && list[i].type == s->type)
			return 1;
	return 0;
}

static int seg_push(struct lk_seg **v, size_t *n, size_t *cap, const struct lk_seg *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct lk_seg *nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *s;
	return 0;
}

/*
 * Apply a POSIX lock request of owner on fh (l->m held): type F_RDLCK,
 * F_WRLCK or F_UNLCK over [start, end]. Returns 0, -EAGAIN (held by someone
 * else), or -errno; on failure the owner's locks are as they were.
 */
static int lk_apply(struct smbfs *fs, struct smbfs_file *fh, struct ext_locks *l, uint64_t owner,
		    short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct lk_seg *old = NULL, *nw = NULL, *add_rd = NULL, *add_wr = NULL, *del = NULL;
	size_t nold = 0, cold = 0, nnew = 0, cnew = 0, nrd = 0, crd = 0, nwr = 0, cwr = 0,
	       ndel = 0, cdel = 0, done_rd = 0, done_wr = 0, i;
	struct lk_seg want = {.owner = owner, .start = start, .end = end, .type = type, .pid = pid};
	int rc = 0;

	for (i = 0; i < l->n; i++) {
		const struct lk_seg *s = &l->segs[i];
		if (s->owner == owner) {
			/* Already held as asked: nothing to do. */
			if (type != F_UNLCK && s->type == type && s->start <= start && s->end >= end)
				return 0;
			continue;
		}
		if (type != F_UNLCK && overlaps(s, start, end) &&
		    (type == F_WRLCK || s->type == F_WRLCK))
			return -EAGAIN; /* another owner, same handle: the server cannot tell */
	}
	/* The owner's ranges before and after. */
	for (i = 0; i < l->n && !rc; i++) {
		struct lk_seg s = l->segs[i];
		if (s.owner != owner)
			continue;
		rc = seg_push(&old, &nold, &cold, &s);
		if (rc || !overlaps(&s, start, end)) {
			if (!rc)
				rc = seg_push(&nw, &nnew, &cnew, &s);
			continue;
		}
		if (s.start < start) {
			struct lk_seg left = s;
			left.end = start - 1;
			rc = seg_push(&nw, &nnew, &cnew, &left);
		}
		if (!rc && s.end > end) {
			struct lk_seg right = s;
			right.start = end + 1;
			rc = seg_push(&nw, &nnew, &cnew, &right);
		}
	}
	if (!rc && type != F_UNLCK)
		rc = seg_push(&nw, &nnew, &cnew, &want);
	/* The diff, as server operations. */
	for (i = 0; i < nnew && !rc; i++)
		if (!seg_in(&nw[i], old, nold))
			rc = nw[i].type == F_RDLCK ? seg_push(&add_rd, &nrd, &crd, &nw[i])
						   : seg_push(&add_wr, &nwr, &cwr, &nw[i]);
	for (i = 0; i < nold && !rc; i++)
		if (!seg_in(&old[i], nw, nnew))
			rc = seg_push(&del, &ndel, &cdel, &old[i]);
	if (rc)
		goto out;
	/* Shared locks first: they stack on our own exclusive ones (Samba brl_conflict). */
	for (; done_rd < nrd; done_rd++) {
		rc = lk_server_lock(fs, fh, &add_rd[done_rd]);
		if (rc)
			goto undo;
	}
	if (ndel)
		lk_server_unlock(fs, fh, del, ndel);
	for (; done_wr < nwr; done_wr++) {
		rc = lk_server_lock(fs, fh, &add_wr[done_wr]);
		if (rc)
			goto undo;
	}
	/* Commit: the owner's list is nw. */
	{
		size_t k = 0;
		for (i = 0; i < l->n; i++)
			if (l->segs[i].owner != owner)
				l->segs[k++] = l->segs[i];
		l->n = k;
		for (i = 0; i < nnew && !rc; i++)
			rc = seg_push(&l->segs, &l->n, &l->cap, &nw[i]);
		if (rc) {
			/* Cannot track them: release what we could not record. */
			lk_server_unlock(fs, fh, nw + i - 1, nnew - i + 1);
		}
	}
	goto out;
undo:
	if (done_wr)
		lk_server_unlock(fs, fh, add_wr, done_wr);
	if (ndel && (done_wr || nwr)) {
		/* Take back what we released, shared before exclusive. */
		for (i = 0; i < ndel; i++)
			if (del[i].type == F_RDLCK && lk_server_lock(fs, fh, &del[i]))
				LOG_WARN("lost a shared lock while undoing a refused lock");
		for (i = 0; i < ndel; i++)
			if (del[i].type == F_WRLCK && lk_server_lock(fs, fh, &del[i]))
				LOG_WARN("lost an exclusive lock while undoing a refused lock");
	}
	if (done_rd)
		lk_server_unlock(fs, fh, add_rd, done_rd);
out:
	free(old);
	free(nw);
	free(add_rd);
	free(add_wr);
	free(del);
	return rc;
}

/*
 * Would owner's lock of type over [start, end] be refused? Fills *conflict
 * (type F_UNLCK when not). Locks of other owners on this handle are known
 * here; the server is asked by taking and dropping the lock where the owner
 * holds nothing itself (where it holds a lock no other handle can hold an
 * exclusive one, and where it holds an exclusive one nobody else holds any).
 */
static int lk_test(struct smbfs *fs, struct smbfs_file *fh, struct ext_locks *l, uint64_t owner,
		   short type, uint64_t start, uint64_t end, struct flock *conflict)
{
	uint64_t pos = start;
	int rc = 0;

	conflict->l_type = F_UNLCK;
	for (size_t i = 0; i < l->n; i++) {
		const struct lk_seg *s = &l->segs[i];
		if (s->owner != owner && overlaps(s, start, end) &&
		    (type == F_WRLCK || s->type == F_WRLCK)) {
			conflict->l_type = s->type;
			conflict->l_whence = SEEK_SET;
			conflict->l_start = (off_t)s->start;
			conflict->l_len = s->end >= LK_EOF ? 0 : (off_t)(s->end - s->start + 1);
			conflict->l_pid = s->pid;
			return 0;
		}
	}
	/* The gaps between the owner's own ranges, in order. */
	while (pos <= end && !rc) {
		uint64_t gap_end = end, next = UINT64_MAX;
		int covered = 0;
		for (size_t i = 0; i < l->n; i++) {
			const struct lk_seg *s = &l->segs[i];
			if (s->owner != owner)
				continue;
			if (s->start <= pos && s->end >= pos) {
				covered = 1;
				next = s->end;
				break;
			}
			if (s->start > pos && s->start <= gap_end)
				gap_end = s->start - 1;
		}
		if (covered) {
			if (next >= end)
				break;
			pos = next + 1;
			continue;
		}
		{
			struct lk_seg g = {.owner = owner, .start = pos, .end = gap_end, .type = type};
			rc = lk_server_lock(fs, fh, &g);
			if (!rc) {
				lk_server_unlock(fs, fh, &g, 1);
			} else if (rc == -EAGAIN) {
				short held = F_WRLCK;
				rc = 0;
				if (type == F_WRLCK) {
					/* Is it only shared? A shared test lock would then pass. */
					g.type = F_RDLCK;
					if (!lk_server_lock(fs, fh, &g)) {
						lk_server_unlock(fs, fh, &g, 1);
						held = F_RDLCK;
					}
				}
				conflict->l_type = held;
				conflict->l_whence = SEEK_SET;
				conflict->l_start = (off_t)g.start;
				conflict->l_len = g.end >= LK_EOF ? 0 : (off_t)(g.end - g.start + 1);
				conflict->l_pid = 0; /* a process on another client or handle */
				return 0;
			}
		}
		if (gap_end >= end)
			break;
		pos = gap_end + 1;
	}
	return rc;
}

/* [start, end] of a struct flock from libfuse (l_whence SEEK_SET, l_len 0 = to EOF). */
static int lk_range(const struct flock *fl, uint64_t *start, uint64_t *end)
{
	if (fl->l_start < 0 || fl->l_len < 0)
		return -EINVAL;
	*start = (uint64_t)fl->l_start;
	if (fl->l_len == 0)
		*end = LK_EOF;
	else if ((uint64_t)fl->l_len - 1 > LK_EOF - *start)
		return -EINVAL;
	else
		*end = *start + (uint64_t)fl->l_len - 1;
	return 0;
}

/* One attempt at a lock change, with the cache rules around it. */
static int lk_try(struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *fh, uint64_t owner,
		  short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct ext_locks *l = locks_of(fh, type != F_UNLCK);
	int rc;

	if (!l)
		return type == F_UNLCK ? 0 : -ENOMEM;
	/*
	 * What was written under a lock reaches the server before the lock goes
	 * or weakens (unlock, downgrade); taking an exclusive lock needs no flush.
	 */
	if (type != F_WRLCK) {
		rc = files_sync(fs, ino, 1, 0);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&l->m);
	rc = lk_apply(fs, fh, l, owner, type, start, end, pid);
	LOG_DBG("lock fh %p owner %llx type %d [%llu, %llu]: %d (%zu held)", (void *)fh,
		(unsigned long long)owner, type, (unsigned long long)start,
		(unsigned long long)end, rc, l->n);
	pthread_mutex_unlock(&l->m);
	if (!rc && type != F_UNLCK)
		files_sync(fs, ino, 0, 1); /* read what others wrote before we got it */
	return rc;
}

void ext_flush_locks(struct smbfs *fs, fuse_ino_t ino, uint64_t owner)
{
	struct smbfs_file *list[32];
	int n = 0;

	/* close(): the process's POSIX locks on the file go, whichever descriptor took them. */
	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && n < 32; f = f->next) {
		struct ext_locks *l = __atomic_load_n(&f->locks, __ATOMIC_ACQUIRE);
		if (f->ino == ino && l) {
			f->users++;
			list[n++] = f;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);
	for (int i = 0; i < n; i++) {
		struct ext_locks *l = list[i]->locks;
		int held = 0;
		pthread_mutex_lock(&l->m);
		for (size_t k = 0; k < l->n && !held; k++)
			held = l->segs[k].owner == owner;
		if (held)
			(void)lk_apply(fs, list[i], l, owner, F_UNLCK, 0, UINT64_MAX - 1, 0);
		pthread_mutex_unlock(&l->m);
	}
	pthread_mutex_lock(&fs->files_lock);
	for (int i = 0; i < n; i++)
		list[i]->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);
}

/* ------------------------------------------------------------------ locks: waiting */

/*
 * Blocking requests wait here, not in a FUSE worker. One thread per process
 * retries them; the interrupt callback only flags them (it finds its request
 * by fuse_req_t under wq.m, so it never touches a waiter already answered).
 */
struct lk_wait {
	struct lk_wait *next;
	fuse_req_t req;
	struct smbfs *fs;
	fuse_ino_t ino;
	struct smbfs_file *fh;
	uint64_t owner;
	short type;
	uint64_t start, end;
	pid_t pid;
	int interrupted; /* protected by wq.m */
	int busy;        /* protected by wq.m: the retry thread is trying it */
	int backoff_ms;
	struct timespec due;
};

static struct {
	pthread_mutex_t m;
	pthread_cond_t cv;    /* work for the retry thread */
	pthread_cond_t done;  /* a waiter was answered (ext_destroy) */
	struct lk_wait *head; /* protected by m */
	int started;          /* protected by m */
} wq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};

static void ts_add_ms(struct timespec *t, int ms)
{
	t->tv_nsec += (long)ms * 1000000L;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void wq_interrupt(fuse_req_t req, void *data)
{
	(void)data;
	pthread_mutex_lock(&wq.m);
	for (struct lk_wait *w = wq.head; w; w = w->next)
		if (w->req == req)
			w->interrupted = 1;
	pthread_cond_broadcast(&wq.cv);
	pthread_mutex_unlock(&wq.m);
}

static void wq_remove(struct lk_wait *w)
{
	for (struct lk_wait **pp = &wq.head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static void *wq_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wq.m);
	for (;;) {
		struct lk_wait *w, *pick = NULL, *gone = NULL;
		struct timespec now, next = {0, 0};
		int have_next = 0, rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (w = wq.head; w && !pick && !gone; w = w->next) {
			if (w->busy)
				continue;
			if (w->interrupted)
				gone = w;
			else if (!ts_before(&now, &w->due))
				pick = w;
			else if (!have_next || ts_before(&w->due, &next)) {
				next = w->due;
				have_next = 1;
			}
		}
		if (gone) {
			wq_remove(gone);
			pthread_mutex_unlock(&wq.m);
			fuse_reply_err(gone->req, EINTR);
			free(gone);
			pthread_mutex_lock(&wq.m);
			pthread_cond_broadcast(&wq.done);
			continue;
		}
		if (!pick) {
			if (have_next) /* the condvar runs on CLOCK_MONOTONIC (lk_park) */
				pthread_cond_timedwait(&wq.cv, &wq.m, &next);
			else
				pthread_cond_wait(&wq.cv, &wq.m);
			continue;
		}
		pick->busy = 1;
		pthread_mutex_unlock(&wq.m);
		rc = lk_try(pick->fs, pick->ino, pick->fh, pick->owner, pick->type, pick->start,
			    pick->end, pick->pid);
		pthread_mutex_lock(&wq.m);
		pick->busy = 0;
		if (rc == -EAGAIN && !pick->interrupted) {
			clock_gettime(CLOCK_MONOTONIC, &pick->due);
			ts_add_ms(&pick->due, pick->backoff_ms);
			pick->backoff_ms = pick->backoff_ms * 2 > LK_BACKOFF_MAX_MS
						   ? LK_BACKOFF_MAX_MS
						   : pick->backoff_ms * 2;
			continue;
		}
		wq_remove(pick);
		pthread_mutex_unlock(&wq.m);
		/* Granted (even if interrupted meanwhile: the lock is held, so say so). */
		fuse_reply_err(pick->req, rc == -EAGAIN ? EINTR : -rc);
		free(pick);
		pthread_mutex_lock(&wq.m);
		pthread_cond_broadcast(&wq.done);
	}
	return NULL;
}

void ext_destroy(struct smbfs *fs)
{
	pthread_mutex_lock(&wq.m);
	for (;;) {
		int left = 0;
		for (struct lk_wait *w = wq.head; w; w = w->next) {
			if (w->fs == fs) {
				w->interrupted = 1; /* the retry thread answers EINTR */
				left = 1;
			}
		}
		if (!left)
			break;
		pthread_cond_broadcast(&wq.cv);
		pthread_cond_wait(&wq.done, &wq.m);
	}
	pthread_mutex_unlock(&wq.m);
}

/* Park a blocking request; the retry thread answers it. */
static void lk_park(fuse_req_t req, struct smbfs *fs, fuse_ino_t ino, struct smbfs_file *fh,
		    uint64_t owner, short type, uint64_t start, uint64_t end, pid_t pid)
{
	struct lk_wait *w = calloc(1, sizeof(*w));
	int rc = 0;

	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->fs = fs;
	w->ino = ino;
	w->fh = fh;
	w->owner = owner;
	w->type = type;
	w->start = start;
	w->end = end;
	w->pid = pid;
	w->backoff_ms = LK_BACKOFF_MIN_MS;
	clock_gettime(CLOCK_MONOTONIC, &w->due);
	ts_add_ms(&w->due, LK_BACKOFF_MIN_MS);
	pthread_mutex_lock(&wq.m);
	if (!wq.started) {
		pthread_condattr_t ca;
		pthread_attr_t ta;
		pthread_t th;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_destroy(&wq.cv);
		pthread_cond_init(&wq.cv, &ca);
		pthread_condattr_destroy(&ca);
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		rc = -pthread_create(&th, &ta, wq_thread, NULL);
		pthread_attr_destroy(&ta);
		if (!rc)
			wq.started = 1;
	}
	if (!rc) {
		w->next = wq.head;
		wq.head = w;
		pthread_cond_broadcast(&wq.cv);
	}
	pthread_mutex_unlock(&wq.m);
	if (rc) {
		free(w);
		fuse_reply_err(req, -rc);
		return;
	}
	/* May call wq_interrupt at once if the request was already interrupted. */
	fuse_req_interrupt_func(req, wq_interrupt, NULL);
}

/* ------------------------------------------------------------------ locks: operations */

void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	struct ext_locks *l;
	struct flock out;
	uint64_t start, end;
	int rc;

	(void)ino;
	rc = lk_range(lock, &start, &end);
	if (!rc && lock->l_type != F_RDLCK && lock->l_type != F_WRLCK)
		rc = -EINVAL;
	if (!rc && !(l = locks_of(fh, 1)))
		rc = -ENOMEM;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&out, 0, sizeof(out));
	pthread_mutex_lock(&l->m);
	rc = lk_test(fs, fh, l, fi->lock_owner, lock->l_type, start, end, &out);
	pthread_mutex_unlock(&l->m);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (out.l_type == F_UNLCK) {
		out = *lock;
		out.l_type = F_UNLCK;
	}
	fuse_reply_lock(req, &out);
}

void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	uint64_t start, end;
	int rc;

	rc = lk_range(lock, &start, &end);
	if (!rc && lock->l_type != F_RDLCK && lock->l_type != F_WRLCK && lock->l_type != F_UNLCK)
		rc = -EINVAL;
	if (!rc)
		rc = lk_try(fs, ino, fh, fi->lock_owner, lock->l_type, start, end, lock->l_pid);
	if (rc == -EAGAIN && sleep) {
		lk_park(req, fs, ino, fh, fi->lock_owner, lock->l_type, start, end, lock->l_pid);
		return;
	}
	fuse_reply_err(req, -rc);
}

void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct smbfs *fs = fs_of(req);
	struct smbfs_file *fh = (struct smbfs_file *)(uintptr_t)fi->fh;
	short type;
	int rc;

	switch (op & (LOCK_SH | LOCK_EX | LOCK_UN)) {
	case LOCK_SH:
		type = F_RDLCK;
		break;
	case LOCK_EX:
		type = F_WRLCK;
		break;
	case LOCK_UN:
		type = F_UNLCK;
		break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* One flock() owner per open file description, i.e. per handle. */
	rc = lk_try(fs, ino, fh, FLOCK_OWNER, type, FLOCK_BYTE, FLOCK_BYTE, 0);
	if (rc == -EAGAIN && !(op & LOCK_NB)) {
		lk_park(req, fs, ino, fh, FLOCK_OWNER, type, FLOCK_BYTE, FLOCK_BYTE, 0);
		return;
	}
	fuse_reply_err(req, rc == -EAGAIN ? EWOULDBLOCK : -rc);
}
