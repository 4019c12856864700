/*
 * pool.c - connection snapshots, reconnect thread, replay queue. See pool.h.
 *
 * Lock order: c->lock is a leaf here except that the reconnect thread calls
 * smbc_reestablish() and smbc_io_resubmit() without holding it.
 */
#include "client/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/ops.h"
#include "log.h"
#include "net/conn.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Absolute CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static void deadline_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int smbc_chan_get(struct smb_client *c, struct smbc_chan *ch)
{
	pthread_mutex_lock(&c->lock);
	if (c->stopping || !c->conn) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	ch->conn = c->conn;
	conn_get(ch->conn);
	ch->session_id = c->session_id;
	ch->tree_id = c->tree_id;
	ch->gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int smbc_chan_get_io(struct smb_client *c, struct smbc_chan *ch)
{
	struct smb_conn *best;
	long best_load;
	unsigned start;
	int n;

	pthread_mutex_lock(&c->lock);
	if (c->stopping || !c->conn) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	best = c->conn;
	n = c->nxconn + 1;
	if (n > 1) {
		/* least loaded wins; ties rotate so that idle channels share the start */
		start = __atomic_fetch_add(&c->rr, 1, __ATOMIC_RELAXED) % (unsigned)n;
		best = NULL;
		best_load = 0;
		for (int k = 0; k < n; k++) {
			int i = (int)((start + (unsigned)k) % (unsigned)n);
			struct smb_conn *cc = i == 0 ? c->conn : c->xconn[i - 1];
			long l = conn_load(cc);
			if (conn_is_dead(cc))
				continue;
			if (!best || l < best_load) {
				best = cc;
				best_load = l;
			}
		}
		if (!best)
			best = c->conn; /* all dead: fail there and take the reconnect path */
	}
	ch->conn = best;
	conn_get(ch->conn);
	ch->session_id = c->session_id;
	ch->tree_id = c->tree_id;
	ch->gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int smbc_channels(struct smb_client *c, unsigned long *submitted, int max)
{
	int n;
	pthread_mutex_lock(&c->lock);
	n = c->conn ? c->nxconn + 1 : 0;
	for (int i = 0; i < n && i < max; i++)
		submitted[i] = conn_submitted(i == 0 ? c->conn : c->xconn[i - 1]);
	pthread_mutex_unlock(&c->lock);
	return n;
}

void smbc_chan_put(struct smbc_chan *ch)
{
	conn_put(ch->conn);
	ch->conn = NULL;
}

uint64_t smbc_gen(struct smb_client *c)
{
	uint64_t g;
	pthread_mutex_lock(&c->lock);
	g = c->gen;
	pthread_mutex_unlock(&c->lock);
	return g;
}

/* Lock held. */
static void want_reconnect(struct smb_client *c, uint64_t gen_seen)
{
	if (c->gen != gen_seen || c->stopping)
		return;
	if (!c->reconnect_wanted) {
		c->reconnect_wanted = 1;
		if (!c->down_since_ns)
			c->down_since_ns = mono_ns();
		if (c->conn)
			conn_abort(c->conn); /* a timed-out request means the connection is suspect */
		pthread_cond_broadcast(&c->cond);
	}
}

/* The calling thread's cancel flag (smbc_set_cancel): a FUSE interrupt. */
static __thread const volatile int *tls_cancel;

const volatile int *smbc_get_cancel(void)
{
	return tls_cancel;
}

void smbc_set_cancel(const volatile int *flag)
{
	tls_cancel = flag;
}

/* Set on the reconnect thread: it cannot wait for itself to reconnect. */
static __thread int on_reconnect_thread;

int smbc_wait_reconnect(struct smb_client *c, uint64_t gen_seen)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	want_reconnect(c, gen_seen);
	if (on_reconnect_thread) {
		/* reopening files or replaying I/O found the new connection
		 * gone already: give up on this round, the loop reconnects */
		pthread_mutex_unlock(&c->lock);
		return -EAGAIN;
	}
	while (c->gen == gen_seen) {
		struct timespec ts;
		if (c->stopping) {
			rc = -EIO;
			break;
		}
		if (tls_cancel && *tls_cancel) {
			rc = -EINTR; /* the caller was interrupted (a hard mount stays killable) */
			break;
		}
		if (c->opts.soft && c->down_since_ns &&
		    mono_ns() - c->down_since_ns > (int64_t)c->opts.soft_timeout_ms * 1000000) {
			rc = -EIO;
			break;
		}
		deadline_ms(&ts, 200);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int smbc_replay_try(struct smb_client *c, struct smbc_io *io, uint64_t gen_seen)
{
	pthread_mutex_lock(&c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	if (!smbc_io_parked_ns(io))
		smbc_io_set_parked_ns(io, mono_ns());
	smbc_io_set_next(io, c->replay);
	c->replay = io;
	want_reconnect(c, gen_seen);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void smbc_replay_push(struct smb_client *c, struct smbc_io *io, uint64_t gen_seen)
{
	if (smbc_replay_try(c, io, gen_seen))
		smbc_io_fail(io, -EIO); /* unmounting: nothing will send it again */
}

/* Soft mounts: parked I/O older than the soft timeout fails. Lock held; returns the expired. */
static struct smbc_io *expire_parked(struct smb_client *c)
{
	struct smbc_io *keep = NULL, *dead = NULL, *io = c->replay, *nx;
	int64_t limit = (int64_t)c->opts.soft_timeout_ms * 1000000, now = mono_ns();

	for (; io; io = nx) {
		nx = smbc_io_next(io);
		if (c->opts.soft && now - smbc_io_parked_ns(io) > limit) {
			smbc_io_set_next(io, dead);
			dead = io;
		} else {
			smbc_io_set_next(io, keep);
			keep = io;
		}
	}
	c->replay = keep;
	return dead;
}

static void fail_list(struct smbc_io *io, int rc)
{
	while (io) {
		struct smbc_io *nx = smbc_io_next(io);
		smbc_io_fail(io, rc);
		io = nx;
	}
}

static void *reconnect_thread(void *arg)
{
	struct smb_client *c = arg;
	int backoff = BACKOFF_MIN_MS;
	char err[512];

	on_reconnect_thread = 1;
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		struct smbc_io *io, *dead;
		struct timespec ts;

		dead = expire_parked(c);
		if (dead) {
			pthread_mutex_unlock(&c->lock);
			fail_list(dead, -EIO);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (c->reconnect_wanted) {
			int rc;
			c->reconnecting = 1;
			pthread_mutex_unlock(&c->lock);
			LOG_INFO("reconnecting to %s", c->host);
			rc = smbc_reestablish(c, err, sizeof(err));
			pthread_mutex_lock(&c->lock);
			c->reconnecting = 0;
			if (rc) {
				LOG_WARN("reconnect to %s failed: %s; retrying in %d ms", c->host,
					 err[0] ? err : strerror(-rc), backoff);
				deadline_ms(&ts, backoff);
				while (!c->stopping &&
				       pthread_cond_timedwait(&c->cond, &c->lock, &ts) != ETIMEDOUT)
					;
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			LOG_WARN("reconnected to %s", c->host);
			backoff = BACKOFF_MIN_MS;
			pthread_cond_broadcast(&c->cond);
			/* open files first (their durable handles, locks and leases),
			 * then the parked I/O that uses them */
			pthread_mutex_unlock(&c->lock);
			smbc_reopen_files(c);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (c->replay && !c->reconnect_wanted) {
			io = c->replay;
			c->replay = NULL;
			pthread_mutex_unlock(&c->lock);
			while (io) {
				struct smbc_io *nx = smbc_io_next(io);
				int rc, stopping;
				pthread_mutex_lock(&c->lock);
				stopping = c->stopping;
				pthread_mutex_unlock(&c->lock);
				/* unmounting: what is left fails now, not after a reopen */
				rc = stopping ? -EIO : smbc_io_resubmit(c, io);
				if (rc)
					smbc_io_fail(io, rc);
				io = nx;
			}
			pthread_mutex_lock(&c->lock);
			continue;
		}
		deadline_ms(&ts, 500);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void smbc_abort(struct smb_client *c)
{
	struct smbc_io *parked;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	if (c->conn)
		conn_abort(c->conn); /* requests in flight fail now instead of at their deadline */
	for (int i = 0; i < c->nxconn; i++)
		conn_abort(c->xconn[i]);
	parked = c->replay; /* and I/O parked for a reconnect that will not come */
	c->replay = NULL;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	fail_list(parked, -EIO);
}

int smbc_pool_start(struct smb_client *c)
{
	int rc = pthread_create(&c->rthread, NULL, reconnect_thread, c);
	if (rc)
		return -rc;
	c->rthread_started = 1;
	return 0;
}

void smbc_pool_stop(struct smb_client *c)
{
	struct smbc_io *io;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cond);
	io = c->replay;
	c->replay = NULL;
	pthread_mutex_unlock(&c->lock);
	if (c->rthread_started) {
		pthread_join(c->rthread, NULL);
		c->rthread_started = 0;
	}
	fail_list(io, -EIO);
	pthread_mutex_lock(&c->lock);
	io = c->replay;
	c->replay = NULL;
	pthread_mutex_unlock(&c->lock);
	fail_list(io, -EIO);
}
