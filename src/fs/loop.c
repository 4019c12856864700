/*
 * loop.c - the FUSE session loop, reading requests into buffers we own.
 *
 * libfuse's own loops read each request into a buffer of the worker thread
 * and reuse it for the next request, so write-behind had to copy a WRITE's
 * data to answer FUSE before the server did. Here a worker reads into a
 * refcounted buffer (struct fbuf) from a small pool, and op_write may lend
 * the buffer its data lies in (fs_loop_lend): the SMB WRITEs then send the
 * data from where the kernel put it and hold the buffer until the server
 * confirmed it or the WRITE failed for good (replays after a reconnect
 * included), while the worker goes on with a spare buffer. Buffers come back
 * to the pool, so 1 MiB blocks are not allocated, faulted in and freed for
 * every write.
 *
 * Otherwise the loop is libfuse 3's fuse_session_loop_mt(), built on the
 * public fuse_session_receive_buf()/fuse_session_process_buf():
 *  - a worker is added when none is left idle, up to max_threads; a worker
 *    finding more than max_idle idle ones exits (FORGETs do not count, so a
 *    burst of them does not spawn threads);
 *  - workers block SIGTERM, SIGINT, SIGHUP and SIGQUIT; the caller's thread
 *    waits until the session has exited (unmount, a signal, an error), then
 *    cancels the workers, which allow cancellation only while waiting in the
 *    receive, and joins them. An operation in progress finishes first (main.c
 *    makes those waiting for an unreachable server give up);
 *  - single-threaded, the caller's thread does it all.
 * Interrupts, FORGETs and INIT are libfuse's business in process_buf.
 *
 * How it ended (main.c turns it into the exit status): an unmount, or a
 * stop signal (libfuse's handlers end the session) once the mount served,
 * is a clean end; a stop before the kernel's INIT was answered, including
 * a signal that came before the loop started, means the mount never served
 * (-EINTR); a failed receive is an error, whether or not a signal came too.
 */
#include "fs/internal.h"

#include <errno.h>
#include <linux/fuse.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * libfuse 3 reads up to FUSE_MAX_MAX_PAGES (256) pages plus a 4 KiB header
 * area into the buffer it is given, whatever buf->size says: our buffers
 * must be at least that big. Later libfuse versions may read more; they get
 * libfuse's loop (and write-behind copies) until checked.
 */
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 12) && FUSE_VERSION <= FUSE_MAKE_VERSION(3, 17)
#define OWN_LOOP 1
#else
#define OWN_LOOP 0
#endif
#define FUSE_PAGES_MAX 256
#define FUSE_HDR_AREA 4096
#define POOL_KEEP 16 /* idle buffers kept for reuse; more are freed */

/*
 * A WRITE's data follows its two headers. Reading the request at this
 * distance before a page boundary puts the data on page boundaries: the
 * kernel's copy into the buffer and the socket's copy out of it then run
 * on aligned pages (the copy out of a misaligned source cost three times
 * as much on the machine we measured).
 */
#define WRITE_HDRS (sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in))

struct fbuf {
	int refs; /* atomic: the worker reading into it, plus one per WRITE holding it */
	struct fbuf *next; /* pool list */
	void *base;        /* the allocation, page aligned */
	char *mem;         /* base + page - WRITE_HDRS: requests are read here */
};

static void fbuf_free(struct fbuf *b)
{
	free(b->base);
	free(b);
}

static struct {
	pthread_mutex_t lock;
	struct fbuf *idle; /* protected by lock */
	int n_idle;        /* protected by lock */
	size_t size;       /* request bytes; set once, before any worker starts */
	size_t page;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct fbuf *fbuf_get_new(void)
{
	struct fbuf *b;

	pthread_mutex_lock(&pool.lock);
	b = pool.idle;
	if (b) {
		pool.idle = b->next;
		pool.n_idle--;
	}
	pthread_mutex_unlock(&pool.lock);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		if (posix_memalign(&b->base, pool.page, pool.page + pool.size)) {
			free(b);
			return NULL;
		}
		b->mem = (char *)b->base + pool.page - WRITE_HDRS;
	}
	b->refs = 1;
	return b;
}

static void fbuf_ref(void *p)
{
	__atomic_add_fetch(&((struct fbuf *)p)->refs, 1, __ATOMIC_RELAXED);
}

/* Drop a reference; the last one returns the buffer to the pool. Any thread. */
static void fbuf_unref(void *p)
{
	struct fbuf *b = p;

	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	pthread_mutex_lock(&pool.lock);
	if (pool.n_idle < POOL_KEEP) {
		b->next = pool.idle;
		pool.idle = b;
		pool.n_idle++;
		b = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	if (b)
		fbuf_free(b);
}

struct worker {
	struct worker *prev, *next; /* protected by loop->lock */
	pthread_t thread;
	struct fs_loop *lp;
	struct fbuf *buf;   /* requests are read into it */
	struct fbuf *spare; /* replaces buf once a WRITE holds buf */
	size_t cur_len;     /* bytes of buf holding the request in progress; 0: none */
	/* Not on the stack: a worker is cancelled in the receive, and an
	 * unwound frame with addressable locals leaves ASan stack poison behind. */
	struct fuse_buf fb;
};

struct fs_loop {
	struct fuse_session *se;
	pthread_mutex_t lock;
	sem_t finish;
	struct worker head; /* started threads; protected by lock */
	int numworker;      /* protected by lock */
	int numavail;       /* idle workers; protected by lock */
	int max_threads;
	int max_idle;
	int exit;           /* protected by lock: the caller is stopping the workers */
	int error;
	int ready;          /* atomic: the kernel's INIT was answered */
};

static __thread struct worker *tls_worker;

int fs_loop_lend(const void *data, size_t len, struct smbc_lend *lend)
{
	struct worker *w = tls_worker;
	uintptr_t p = (uintptr_t)data, mem;

	if (!w || !w->cur_len)
		return 0;
	/* libfuse hands op_write a pointer into our buffer unless it had to
	 * copy the request elsewhere (spliced input): check, do not assume */
	mem = (uintptr_t)w->buf->mem;
	if (p < mem || p > mem + w->cur_len || len > mem + w->cur_len - p)
		return 0;
	/* the worker must be able to carry on with another buffer */
	if (!w->spare)
		w->spare = fbuf_get_new();
	if (!w->spare)
		return 0;
	lend->get = fbuf_ref;
	lend->put = fbuf_unref;
	lend->owner = w->buf;
	return 1;
}

static void worker_free(struct worker *w)
{
	fbuf_unref(w->buf);
	fbuf_unref(w->spare);
	free(w);
}

static void *worker_main(void *arg);

/* Start one more worker. lp->lock held. */
static int start_worker(struct fs_loop *lp)
{
	sigset_t block, old;
	struct worker *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->lp = lp;
	w->buf = fbuf_get_new();
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	/* signals go to the thread waiting in fs_loop_run() */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		LOG_ERR("cannot start a FUSE worker thread: %s", strerror(rc));
		worker_free(w);
		return -rc;
	}
	w->next = &lp->head;
	w->prev = lp->head.prev;
	lp->head.prev->next = w;
	lp->head.prev = w;
	lp->numworker++;
	lp->numavail++;
	return 0;
}

static int is_forget(const struct fuse_buf *fb)
{
	const struct fuse_in_header *in = fb->mem;
	return !(fb->flags & FUSE_BUF_IS_FD) &&
	       (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET);
}

/* INIT comes first, before splice can be negotiated: its header is in memory. */
static int is_init(const struct fuse_buf *fb)
{
	const struct fuse_in_header *in = fb->mem;
	return !(fb->flags & FUSE_BUF_IS_FD) && in->opcode == FUSE_INIT;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fs_loop *lp = w->lp;
	struct fuse_session *se = lp->se;
	int single = lp->max_threads == 1;

	tls_worker = w;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!fuse_session_exited(se)) {
		struct fuse_buf *fb = &w->fb;
		int forget, init, res;

		memset(fb, 0, sizeof(*fb));
		fb->mem = w->buf->mem;
		fb->size = pool.size;

		if (!single)
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		res = fuse_session_receive_buf(se, fb);
		if (!single)
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (res == -EINTR)
			continue;
		if (res <= 0) {
			if (res < 0 && !single) {
				fuse_session_exit(se);
				lp->error = res;
			} else if (res < 0) {
				lp->error = res;
			}
			break;
		}
		forget = is_forget(fb);
		init = is_init(fb);
		if (!single) {
			pthread_mutex_lock(&lp->lock);
			if (lp->exit) {
				pthread_mutex_unlock(&lp->lock);
				return NULL;
			}
			if (!forget)
				lp->numavail--;
			if (lp->numavail == 0 && lp->numworker < lp->max_threads)
				(void)start_worker(lp);
			pthread_mutex_unlock(&lp->lock);
		}

		w->cur_len = !(fb->flags & FUSE_BUF_IS_FD) && fb->mem == w->buf->mem ? fb->size : 0;
		fuse_session_process_buf(se, fb);
		w->cur_len = 0;
		if (init)
			__atomic_store_n(&lp->ready, 1, __ATOMIC_RELEASE);
		/* A WRITE holds the buffer: go on with the spare (fs_loop_lend made
		 * sure there is one); the WRITE's completion returns it to the pool.
		 * Never read into a held buffer: a WRITE may still have to send it. */
		if (__atomic_load_n(&w->buf->refs, __ATOMIC_ACQUIRE) > 1) {
			fbuf_unref(w->buf);
			w->buf = w->spare;
			w->spare = NULL;
		}
		if (single)
			continue;

		pthread_mutex_lock(&lp->lock);
		if (!forget)
			lp->numavail++;
		if (lp->max_idle != -1 && lp->numavail > lp->max_idle && lp->numworker > 1) {
			if (lp->exit) {
				pthread_mutex_unlock(&lp->lock);
				return NULL;
			}
			w->prev->next = w->next;
			w->next->prev = w->prev;
			lp->numavail--;
			lp->numworker--;
			pthread_mutex_unlock(&lp->lock);
			pthread_detach(w->thread);
			worker_free(w);
			return NULL;
		}
		pthread_mutex_unlock(&lp->lock);
	}
	if (!single)
		sem_post(&lp->finish);
	return NULL;
}

/* libfuse's loops, for a libfuse whose receive we have not checked. */
static int libfuse_loop(struct fuse_session *se, int single, int max_threads, int max_idle)
{
	int rc;

	if (single) {
		rc = fuse_session_loop(se);
		return rc > 0 ? 0 : rc; /* a signal's number: stopped (INIT unknown) */
	}
#if FUSE_USE_VERSION >= 312
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_max_threads(lc, (unsigned)max_threads);
	fuse_loop_cfg_set_idle_threads(lc, (unsigned)max_idle);
	rc = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
#else
	(void)max_threads;
	struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = (unsigned)max_idle};
	rc = fuse_session_loop_mt(se, &lc);
#endif
	return rc > 0 ? 0 : rc;
}

int fs_loop_run(struct fuse_session *se, int single, int max_threads, int max_idle)
{
	struct fs_loop lp = {.se = se, .max_threads = single ? 1 : max_threads,
			     .max_idle = max_idle};
	long page = sysconf(_SC_PAGESIZE);
	int rc;

	if (!OWN_LOOP)
		return libfuse_loop(se, single, max_threads, max_idle);
	pool.page = (size_t)(page > 0 ? page : 4096);
	pool.size = pool.page * FUSE_PAGES_MAX + FUSE_HDR_AREA;
	if (lp.max_threads < 1)
		lp.max_threads = 1;
	pthread_mutex_init(&lp.lock, NULL);
	sem_init(&lp.finish, 0, 0);
	lp.head.next = lp.head.prev = &lp.head;

	if (single) {
		struct worker *w = calloc(1, sizeof(*w));
		rc = -ENOMEM;
		if (w) {
			w->lp = &lp;
			w->buf = fbuf_get_new();
			if (w->buf) {
				worker_main(w);
				rc = 0;
			}
			worker_free(w);
		}
		goto out;
	}

	pthread_mutex_lock(&lp.lock);
	rc = start_worker(&lp);
	pthread_mutex_unlock(&lp.lock);
	if (rc)
		goto out;
	/* A signal interrupts the wait; the timeout covers one delivered to a
	 * thread of ours that does not block it. */
	while (!fuse_session_exited(se)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		(void)sem_timedwait(&lp.finish, &ts);
	}
	pthread_mutex_lock(&lp.lock);
	for (struct worker *w = lp.head.next; w != &lp.head; w = w->next)
		pthread_cancel(w->thread);
	lp.exit = 1;
	pthread_mutex_unlock(&lp.lock);
	while (lp.head.next != &lp.head) {
		struct worker *w = lp.head.next;
		pthread_join(w->thread, NULL);
		pthread_mutex_lock(&lp.lock);
		w->prev->next = w->next;
		w->next->prev = w->prev;
		pthread_mutex_unlock(&lp.lock);
		worker_free(w);
	}
	rc = 0;
out:
	/* a failure first: a signal that came too does not hide it */
	if (!rc && lp.error)
		rc = lp.error;
	if (!rc && !__atomic_load_n(&lp.ready, __ATOMIC_ACQUIRE))
		rc = -EINTR; /* stopped before the mount ever served */
	pthread_mutex_destroy(&lp.lock);
	sem_destroy(&lp.finish);
	fuse_session_reset(se);
	return rc;
}

void fs_loop_cleanup(void)
{
	struct fbuf *b;

	pthread_mutex_lock(&pool.lock);
	b = pool.idle;
	pool.idle = NULL;
	pool.n_idle = 0;
	pthread_mutex_unlock(&pool.lock);
	while (b) {
		struct fbuf *nx = b->next;
		fbuf_free(b);
		b = nx;
	}
}
