/*
 * readahead.c - see readahead.h.
 *
 * Invariants (all under f->lock):
 *  - f->chunks is sorted by offset, chunks do not overlap, each is aligned
 *    to f->chunk;
 *  - a chunk is INFLIGHT (one READ outstanding), READY (data/len valid; a
 *    short len marks end of file) or FAILED (err);
 *  - a chunk is referenced by the list and by every reply being assembled
 *    from it; it is freed when both are gone;
 *  - f->inflight counts READs outstanding; ra_free waits for zero, so a
 *    completion never touches a freed file.
 * Replies are assembled under the lock but sent after it is released.
 */
#include "cache/readahead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define MAX_IOV 64

enum chunk_state { CH_INFLIGHT, CH_READY, CH_FAILED };

struct ra_chunk {
	uint64_t off;
	size_t want;
	enum chunk_state state;
	int err;
	const uint8_t *data;
	size_t len;
	struct smbc_buf *buf;
	int refs;
	int stale; /* dropped while in flight: discard on arrival */
	int listed;
	struct ra_chunk *next;
	struct ra_file *f;
};

struct ra_waiter {
	uint64_t off;
	size_t size;
	ra_reply_fn fn;
	void *ctx;
	struct ra_waiter *next;
};

struct ra_file {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct smb_client *c;
	struct smbc_file *file;
	size_t chunk;
	size_t max_window;
	size_t window;
	uint64_t next_off;
	uint64_t eof; /* UINT64_MAX while unknown */
	struct ra_chunk *chunks;
	struct ra_waiter *waiters;
	int inflight;
	struct ra_budget *budget;
	unsigned long reads_issued;
	unsigned long hits;
};

/* A reply ready to send: iovecs into chunks we hold references on. */
struct ra_reply {
	ra_reply_fn fn;
	void *ctx;
	int err;
	int iovcnt;
	struct iovec iov[MAX_IOV];
	struct ra_chunk *held[MAX_IOV];
	int nheld;
	struct ra_reply *next;
};

static void chunk_unref_locked(struct ra_file *f, struct ra_chunk *ch)
{
	if (--ch->refs > 0)
		return;
	if (ch->buf)
		smbc_buf_put(ch->buf);
	if (f->budget)
		__atomic_sub_fetch(&f->budget->used, ch->want, __ATOMIC_RELAXED);
	free(ch);
}

static void unlist(struct ra_file *f, struct ra_chunk *ch)
{
	struct ra_chunk **pp;
	for (pp = &f->chunks; *pp; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			ch->next = NULL;
			ch->listed = 0;
			chunk_unref_locked(f, ch);
			return;
		}
	}
}

struct ra_file *ra_new(struct smb_client *c, struct smbc_file *file, size_t chunk,
		       size_t max_window, struct ra_budget *budget)
{
	struct ra_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->idle, NULL);
	f->c = c;
	f->file = file;
	f->chunk = chunk ? chunk : 1024 * 1024;
	f->max_window = max_window;
	f->eof = UINT64_MAX;
	f->budget = budget;
	return f;
}

/* Is [off, off+size) answerable now (all chunks there, or an error/EOF)? */
static int covered(struct ra_file *f, uint64_t off, size_t size)
{
	uint64_t end = off + size, pos = off;
	if (f->eof != UINT64_MAX && end > f->eof)
		end = f->eof;
	for (struct ra_chunk *ch = f->chunks; ch && pos < end; ch = ch->next) {
		if (ch->off + ch->want <= pos)
			continue;
		if (ch->off > pos)
			return 0;
		if (ch->state == CH_INFLIGHT)
			return 0;
		if (ch->state == CH_FAILED)
			return 1;
		if (ch->len < ch->want)
			return 1; /* EOF inside this chunk */
		pos = ch->off + ch->want;
	}
	return pos >= end;
}

/* Build the reply for a covered range; takes chunk references. */
static void assemble(struct ra_file *f, uint64_t off, size_t size, struct ra_reply *r)
{
	uint64_t end = off + size, pos = off;
	r->err = 0;
	r->iovcnt = 0;
	r->nheld = 0;
	for (struct ra_chunk *ch = f->chunks; ch && pos < end; ch = ch->next) {
		if (ch->off + ch->want <= pos)
			continue;
		if (ch->off > pos)
			break;
		if (ch->state == CH_FAILED) {
			if (pos == off) /* nothing read yet: report the error */
				r->err = ch->err;
			break;
		}
		if (pos - ch->off < ch->len && r->iovcnt < MAX_IOV) {
			size_t from = (size_t)(pos - ch->off);
			size_t to = ch->len;
			if (end - ch->off < to)
				to = (size_t)(end - ch->off);
			r->iov[r->iovcnt].iov_base = (void *)(ch->data + from);
			r->iov[r->iovcnt].iov_len = to - from;
			r->iovcnt++;
			ch->refs++;
			r->held[r->nheld++] = ch;
			pos = ch->off + to;
		} else {
			break;
		}
		if (ch->len < ch->want)
			break;
	}
}

/*
 * Send a reply assembled under the lock. The caller counted it in f->inflight
 * (so ra_free cannot free f while the kernel, answered, already releases the
 * file on another thread); the count drops after the chunk references go.
 */
static void send_reply(struct ra_file *f, struct ra_reply *r)
{
	if (r->err)
		r->fn(r->ctx, r->err, NULL, 0);
	else
		r->fn(r->ctx, 0, r->iov, r->iovcnt);
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < r->nheld; i++)
		chunk_unref_locked(f, r->held[i]);
	if (--f->inflight == 0)
		pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->lock);
}

/* Does a read still waiting need this chunk? Then it must stay. */
static int wanted(const struct ra_file *f, const struct ra_chunk *ch)
{
	for (const struct ra_waiter *w = f->waiters; w; w = w->next)
		if (ch->off < w->off + w->size && w->off < ch->off + ch->want)
			return 1;
	return 0;
}

/* Free chunks wholly before off: the reader has passed them. */
static void trim_behind(struct ra_file *f, uint64_t off)
{
	for (struct ra_chunk *ch = f->chunks, *nx; ch && ch->off + ch->want <= off; ch = nx) {
		nx = ch->next;
		if (ch->state != CH_INFLIGHT && !wanted(f, ch))
			unlist(f, ch);
	}
}

static void chunk_done(void *arg, ssize_t rc, const uint8_t *data, struct smbc_buf *keep);

/* Insert an INFLIGHT chunk at aligned offset `at` and send its READ. Lock held. */
static int fetch(struct ra_file *f, uint64_t at, int prefetch)
{
	struct ra_chunk *ch, **pp;
	int rc;

	if (f->eof != UINT64_MAX && at >= f->eof)
		return 0;
	if (prefetch && f->budget &&
	    __atomic_load_n(&f->budget->used, __ATOMIC_RELAXED) + f->chunk > f->budget->limit)
		return -ENOBUFS;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->off = at;
	ch->want = f->chunk;
	ch->state = CH_INFLIGHT;
	ch->refs = 2; /* the list, and the READ in flight */
	ch->f = f;
	ch->listed = 1;
	for (pp = &f->chunks; *pp && (*pp)->off < at; pp = &(*pp)->next)
		;
	ch->next = *pp;
	*pp = ch;
	if (f->budget)
		__atomic_add_fetch(&f->budget->used, ch->want, __ATOMIC_RELAXED);
	f->inflight++;
	f->reads_issued++;
	rc = smbc_read_async(f->c, f->file, at, f->chunk, chunk_done, ch);
	if (rc) {
		f->inflight--;
		ch->state = CH_FAILED;
		ch->err = rc;
		ch->refs--; /* no READ in flight */
	}
	return rc;
}

static struct ra_chunk *find_chunk(struct ra_file *f, uint64_t at)
{
	for (struct ra_chunk *ch = f->chunks; ch; ch = ch->next) {
		if (ch->off == at)
			return ch;
		if (ch->off > at)
			break;
	}
	return NULL;
}

/* Chunks made stale by a write go once no waiting read needs them. Lock held. */
static void drop_stale(struct ra_file *f)
{
	for (struct ra_chunk *ch = f->chunks, *nx; ch; ch = nx) {
		nx = ch->next;
		if (ch->stale && ch->state != CH_INFLIGHT && !wanted(f, ch))
			unlist(f, ch);
	}
}

/*
 * Every waiting read must have all its chunks listed, or it would wait for a
 * completion that never comes. Fetch whatever is missing (a chunk failed to
 * allocate earlier, say). Lock held.
 */
static void refill_waiters(struct ra_file *f)
{
	for (struct ra_waiter *w = f->waiters; w; w = w->next) {
		uint64_t first = w->off - w->off % f->chunk;
		for (uint64_t at = first; at < w->off + w->size; at += f->chunk) {
			if (f->eof != UINT64_MAX && at >= f->eof)
				break;
			if (!find_chunk(f, at))
				fetch(f, at, 0);
		}
	}
}

static void chunk_done(void *arg, ssize_t rc, const uint8_t *data, struct smbc_buf *keep)
{
	struct ra_chunk *ch = arg;
	struct ra_file *f = ch->f;
	struct ra_reply *ready = NULL, **tail = &ready;
	struct ra_waiter **pp;

	pthread_mutex_lock(&f->lock);
	if (rc < 0) {
		ch->state = CH_FAILED;
		ch->err = (int)rc;
	} else {
		ch->state = CH_READY;
		ch->len = (size_t)rc;
		ch->data = data;
		if (keep && rc > 0) {
			smbc_buf_get(keep);
			ch->buf = keep;
		}
		if (ch->len < ch->want && (f->eof == UINT64_MAX || f->eof > ch->off + ch->len))
			f->eof = ch->off + ch->len;
	}
	pp = &f->waiters;
	while (*pp) {
		struct ra_waiter *w = *pp;
		struct ra_reply *r;
		if (!covered(f, w->off, w->size) || !(r = malloc(sizeof(*r)))) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		r->fn = w->fn;
		r->ctx = w->ctx;
		r->next = NULL;
		assemble(f, w->off, w->size, r);
		f->inflight++; /* until send_reply is done with f */
		*tail = r;
		tail = &r->next;
		free(w);
	}
	if (ch->stale && ch->listed && !wanted(f, ch))
		unlist(f, ch);
	chunk_unref_locked(f, ch); /* the READ's reference */
	drop_stale(f);
	refill_waiters(f);
	pthread_mutex_unlock(&f->lock);
	while (ready) {
		struct ra_reply *nx = ready->next;
		send_reply(f, ready);
		free(ready);
		ready = nx;
	}
	/* Last: once inflight drops to zero ra_free may free f. */
	pthread_mutex_lock(&f->lock);
	if (--f->inflight == 0)
		pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->lock);
}

struct ra_direct {
	struct ra_file *f;
	ra_reply_fn fn;
	void *ctx;
};

/* A random read: one READ for exactly the range, answered straight from the frame. */
static void direct_done(void *arg, ssize_t rc, const uint8_t *data, struct smbc_buf *keep)
{
	struct ra_direct *d = arg;
	struct ra_file *f = d->f;
	struct iovec iov;

	(void)keep;
	if (rc < 0) {
		d->fn(d->ctx, (int)rc, NULL, 0);
	} else {
		iov.iov_base = (void *)data;
		iov.iov_len = (size_t)rc;
		d->fn(d->ctx, 0, &iov, rc > 0 ? 1 : 0);
	}
	free(d);
	pthread_mutex_lock(&f->lock);
	if (--f->inflight == 0)
		pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->lock);
}

void ra_read(struct ra_file *f, uint64_t off, size_t size, ra_reply_fn fn, void *ctx)
{
	struct ra_reply r;
	uint64_t first, last, ahead_end;
	int sequential;

	if (size == 0) {
		fn(ctx, 0, NULL, 0);
		return;
	}
	pthread_mutex_lock(&f->lock);
	drop_stale(f);
	/*
	 * Sequential: at the expected offset, or near it. The kernel's own
	 * readahead sends several reads at once and worker threads deliver them
	 * out of order, so "near" is a band around the stream position.
	 */
	{
		uint64_t band = (f->window > f->chunk ? f->window : f->chunk) * 2;
		sequential = off == f->next_off ||
			     (f->next_off && off + band >= f->next_off && off <= f->next_off + band) ||
			     find_chunk(f, off - off % f->chunk);
	}
	if (sequential) {
		size_t w = f->window ? f->window * 2 : f->chunk;
		f->window = w > f->max_window ? f->max_window : w;
	} else {
		f->window = 0;
		/* a seek: what was fetched ahead is no longer wanted */
		for (struct ra_chunk *ch = f->chunks, *nx; ch; ch = nx) {
			nx = ch->next;
			if (ch->state != CH_INFLIGHT && !wanted(f, ch) &&
			    (ch->off + ch->want <= off || ch->off >= off + size))
				unlist(f, ch);
		}
	}
	if (!sequential || off + size > f->next_off)
		f->next_off = off + size;

	if (f->window == 0 && !covered(f, off, size)) {
		/* random access: one READ for exactly this range, nothing kept */
		struct ra_direct *d = malloc(sizeof(*d));
		int rc;
		if (!d) {
			pthread_mutex_unlock(&f->lock);
			fn(ctx, -ENOMEM, NULL, 0);
			return;
		}
		d->f = f;
		d->fn = fn;
		d->ctx = ctx;
		f->inflight++;
		f->reads_issued++;
		pthread_mutex_unlock(&f->lock);
		rc = smbc_read_async(f->c, f->file, off, size, direct_done, d);
		if (rc) {
			free(d);
			pthread_mutex_lock(&f->lock);
			if (--f->inflight == 0)
				pthread_cond_broadcast(&f->idle);
			pthread_mutex_unlock(&f->lock);
			fn(ctx, rc, NULL, 0);
		}
		return;
	}

	first = off - off % f->chunk;
	last = off + size - 1;
	last -= last % f->chunk;
	ahead_end = off + size + f->window;
	for (uint64_t at = first; at <= last; at += f->chunk)
		if (!find_chunk(f, at) && fetch(f, at, 0) == -ENOMEM)
			break;
	if (f->window) {
		for (uint64_t at = last + f->chunk; at < ahead_end; at += f->chunk) {
			if (f->eof != UINT64_MAX && at >= f->eof)
				break;
			if (!find_chunk(f, at) && fetch(f, at, 1))
				break;
		}
	}
	if (covered(f, off, size)) {
		trim_behind(f, first);
		f->hits++;
		r.fn = fn;
		r.ctx = ctx;
		assemble(f, off, size, &r);
		f->inflight++; /* until send_reply is done with f */
		pthread_mutex_unlock(&f->lock);
		send_reply(f, &r);
		return;
	}
	{
		struct ra_waiter *w = calloc(1, sizeof(*w)), **pp;
		if (!w) {
			pthread_mutex_unlock(&f->lock);
			fn(ctx, -ENOMEM, NULL, 0);
			return;
		}
		w->off = off;
		w->size = size;
		w->fn = fn;
		w->ctx = ctx;
		for (pp = &f->waiters; *pp; pp = &(*pp)->next)
			;
		*pp = w;
		trim_behind(f, first);
		refill_waiters(f);
	}
	pthread_mutex_unlock(&f->lock);
}

void ra_drop(struct ra_file *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	for (struct ra_chunk *ch = f->chunks, *nx; ch; ch = nx) {
		nx = ch->next;
		if (ch->state == CH_INFLIGHT || wanted(f, ch))
			ch->stale = 1;
		else
			unlist(f, ch);
	}
	f->window = 0;
	f->eof = UINT64_MAX;
	pthread_mutex_unlock(&f->lock);
}

int ra_busy(struct ra_file *f)
{
	int busy;
	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	busy = f->inflight > 0;
	pthread_mutex_unlock(&f->lock);
	return busy;
}

void ra_free(struct ra_file *f)
{
	struct timespec ts;
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 120; /* READ deadlines are far shorter; this only bounds a bug */
	while (f->inflight > 0)
		if (pthread_cond_timedwait(&f->idle, &f->lock, &ts) == ETIMEDOUT)
			break;
	if (f->inflight > 0) {
		LOG_ERR("readahead: %d READs never completed; leaking their buffers", f->inflight);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	while (f->chunks)
		unlist(f, f->chunks);
	while (f->waiters) { /* cannot happen: the kernel releases only idle files */
		struct ra_waiter *w = f->waiters;
		f->waiters = w->next;
		w->fn(w->ctx, -EBADF, NULL, 0);
		free(w);
	}
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->idle);
	free(f);
}

void ra_stats(struct ra_file *f, unsigned long *reads_issued, unsigned long *hits)
{
	pthread_mutex_lock(&f->lock);
	*reads_issued = f->reads_issued;
	*hits = f->hits;
	pthread_mutex_unlock(&f->lock);
}
