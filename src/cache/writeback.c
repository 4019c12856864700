/*
 * writeback.c - see writeback.h.
 *
 * State under w->lock: a coalescing buffer (pend) of at most wsize bytes
 * for one contiguous range, the ranges of WRITEs in flight, and the latched
 * error. A WRITE is submitted only when it does not overlap a WRITE in
 * flight (the server may complete overlapping writes in any order), and
 * only while the bytes in flight stay under max_inflight.
 */
#include "cache/writeback.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define WAIT_LIMIT_S 300 /* a backstop: each WRITE has its own, shorter deadline */

struct wb_range {
	uint64_t off;
	size_t len;
	struct wb_file *w;
	struct wb_range *next;
};

struct wb_file {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct smb_client *c;
	struct smbc_file *file;
	size_t wsize;
	size_t max_inflight;
	uint8_t *pend;
	uint64_t pend_off;
	size_t pend_len;
	struct wb_range *inflight;
	size_t inflight_bytes;
	int error;
};

struct wb_file *wb_new(struct smb_client *c, struct smbc_file *file, size_t wsize,
		       size_t max_inflight)
{
	struct wb_file *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->pend = malloc(wsize);
	if (!w->pend) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->c = c;
	w->file = file;
	w->wsize = wsize;
	w->max_inflight = max_inflight < wsize ? wsize : max_inflight;
	return w;
}

static void write_done(void *arg, ssize_t rc)
{
	struct wb_range *r = arg;
	struct wb_file *w = r->w;
	struct wb_range **pp;

	pthread_mutex_lock(&w->lock);
	if (rc < 0 && !w->error)
		w->error = (int)rc;
	else if (rc >= 0 && (size_t)rc < r->len && !w->error)
		w->error = -EIO; /* a short write we cannot retry transparently here */
	if (rc < 0 || (size_t)rc < r->len)
		LOG_WARN("write-behind: WRITE of %zu bytes failed (%zd)", r->len, rc);
	for (pp = &w->inflight; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	w->inflight_bytes -= r->len;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	free(r);
}

static int overlaps(const struct wb_file *w, uint64_t off, size_t len)
{
	for (const struct wb_range *r = w->inflight; r; r = r->next)
		if (off < r->off + r->len && r->off < off + len)
			return 1;
	return 0;
}

/* Wait on the condition with the backstop deadline. Lock held. */
static int wait_cond(struct wb_file *w, const struct timespec *deadline)
{
	return pthread_cond_timedwait(&w->cond, &w->lock, deadline) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static void deadline_in(struct timespec *ts, int s)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += s;
}

/*
 * Send [off, off+len) from data: copied by the submit, or held through lend
 * until the WRITE completes. Lock held; may wait.
 */
static int submit(struct wb_file *w, uint64_t off, const uint8_t *data, size_t len,
		  const struct smbc_lend *lend)
{
	struct timespec dl;
	struct wb_range *r;
	int rc;

	deadline_in(&dl, WAIT_LIMIT_S);
	while (w->inflight && (w->inflight_bytes + len > w->max_inflight || overlaps(w, off, len)))
		if (wait_cond(w, &dl))
			return -ETIMEDOUT;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->off = off;
	r->len = len;
	r->w = w;
	r->next = w->inflight;
	w->inflight = r;
	w->inflight_bytes += len;
	/* The completion takes w->lock: submitting under it is safe because the
	 * connection never runs a completion inside conn_submit(). */
	rc = smbc_write_async(w->c, w->file, off, data, len, lend, write_done, r);
	if (rc) {
		w->inflight = r->next;
		w->inflight_bytes -= len;
		free(r);
	}
	return rc;
}

static int send_pend(struct wb_file *w)
{
	int rc;
	if (!w->pend_len)
		return 0;
	rc = submit(w, w->pend_off, w->pend, w->pend_len, NULL);
	if (!rc)
		w->pend_len = 0;
	return rc;
}

ssize_t wb_write(struct wb_file *w, uint64_t off, const void *buf, size_t len)
{
	return wb_write_lent(w, off, buf, len, NULL);
}

ssize_t wb_write_lent(struct wb_file *w, uint64_t off, const void *buf, size_t len,
		      const struct smbc_lend *lend)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->error) {
		rc = w->error;
		w->error = 0;
		goto out;
	}
	/* Not contiguous with what is buffered: send that first. */
	if (w->pend_len && off != w->pend_off + w->pend_len) {
		rc = send_pend(w);
		if (rc)
			goto out;
	}
	while (done < len) {
		size_t room, n;
		if (!w->pend_len) {
			w->pend_off = off + done;
			/* a whole wsize piece goes straight out, no copy into pend
			 * (and none at all when the caller lends its buffer) */
			if (len - done >= w->wsize) {
				rc = submit(w, off + done, p + done, w->wsize, lend);
				if (rc)
					goto out;
				done += w->wsize;
				continue;
			}
		}
		room = w->wsize - w->pend_len;
		n = len - done < room ? len - done : room;
		memcpy(w->pend + w->pend_len, p + done, n);
		w->pend_len += n;
		done += n;
		if (w->pend_len == w->wsize) {
			rc = send_pend(w);
			if (rc)
				goto out;
		}
	}
out:
	pthread_mutex_unlock(&w->lock);
	return rc ? rc : (ssize_t)len;
}

int wb_flush(struct wb_file *w)
{
	struct timespec dl;
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = send_pend(w);
	deadline_in(&dl, WAIT_LIMIT_S);
	while (w->inflight)
		if (wait_cond(w, &dl)) {
			rc = rc ? rc : -ETIMEDOUT;
			break;
		}
	if (!rc && w->error)
		rc = w->error;
	w->error = 0;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int wb_flush_last(struct wb_file *w, wb_last_fn fn, void *arg, int *sent)
{
	int rc;

	*sent = 0;
	pthread_mutex_lock(&w->lock);
	if (w->inflight || !w->pend_len || w->error || w->pend_len + 4096 > w->wsize) {
		/* other WRITEs to wait for anyway, or room for nothing beside it */
		pthread_mutex_unlock(&w->lock);
		return wb_flush(w);
	}
	rc = fn(arg, w->pend_off, w->pend, w->pend_len);
	w->pend_len = 0; /* sent, or its error returned now: not again */
	*sent = 1;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int wb_idle(struct wb_file *w)
{
	int idle;
	pthread_mutex_lock(&w->lock);
	idle = !w->pend_len && !w->inflight;
	pthread_mutex_unlock(&w->lock);
	return idle;
}

void wb_free(struct wb_file *w)
{
	if (!w)
		return;
	if (wb_flush(w) || w->inflight) {
		/* completions still pending after the backstop: do not free under them */
		pthread_mutex_lock(&w->lock);
		if (w->inflight) {
			LOG_ERR("write-behind: WRITEs never completed; leaking their state");
			pthread_mutex_unlock(&w->lock);
			return;
		}
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->pend);
	free(w);
}
