/*
 * conn.c - one SMB2 connection and its loop thread.
 *
 * Design
 * ------
 * The loop thread owns everything below the "loop-owned" line of struct
 * smb_conn: the socket, the queue of requests waiting for credits, the queue
 * of encoded frames waiting for the socket, the pending table, the credit
 * window and the receive state. Other threads touch only the submission
 * queue (under qlock), the security state (under seclock) and the eventfd.
 *
 * Ordering: requests leave in submission order. A request (or a whole
 * compound) leaves only when the credits for all its PDUs are available;
 * MessageIds are assigned at that moment, so they are sent in increasing
 * order as MS-SMB2 3.2.4.1.5 requires.
 *
 * Completion: every request completes exactly once, on this thread, with
 * rc = 0 (a response arrived, NTSTATUS in status) or a negative errno
 * (-ETIMEDOUT, -ECONNRESET, -EBADMSG, -ECONNABORTED). A request that timed
 * out stays in the pending table as an orphan, so that its late response
 * still returns its credits; its submitter has already been told.
 *
 * Borrowed memory: a frame sends a WRITE's data from where its submitter
 * keeps it (xdata: a FUSE request buffer, a write-behind buffer), and the
 * submitter may reuse or free that memory as soon as the request completes.
 * So a request never completes while a frame still sends from it: a request
 * that times out behind a stalled socket, or that a server answers before
 * it could have read all of it, first has the rest of its frame copied
 * (frame_own; rare, never on the streaming path). A connection that fails
 * drops its frames unsent, and sends nothing after its completions ran.
 *
 * Hostile input: frames are size-capped before allocation; every PDU passes
 * frame_check(); a response to an unknown MessageId, a bad signature or a
 * bad compound chain kills the connection (its requests fail), never the
 * daemon.
 */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/seal.h"
#include "crypto/sign.h"
#include "errmap.h"
#include "log.h"
#include "net/credits.h"
#include "net/pending.h"
#include "wire/echo.h"

#define DEFAULT_REQUEST_TIMEOUT_MS 30000
#define DEFAULT_MAX_FRAME (16u * 1024 * 1024)
#define IDLE_POLL_MS 1000

/*
 * A frame waiting for the socket: iovecs over the requests' own buffers (no
 * copy of WRITE data), or over `data` for an encrypted frame. The requests
 * are referenced until the frame has left.
 */
#define OUT_MAX_IOV 64
struct outframe {
	struct outframe *next;
	int iovcnt;
	int iovpos;               /* first iovec not completely sent */
	struct iovec iov[OUT_MAX_IOV];
	struct smb_req *held[OUT_MAX_IOV / 2];
	int nheld;
	uint8_t hdr[SMB2_TRANSPORT_HDR];
	uint8_t *data;            /* owned: transform frame when sealing */
	size_t data_cap;
	int copied;               /* data holds a copy (frame_own): not kept for reuse */
};

/* Idle outframes (and their sealing buffers) a connection keeps for reuse. */
#define FRAME_CACHE 4

static const uint8_t zero_pad[8];

/* The frame no longer sends from its requests' memory: let them go. */
static void frame_drop_held(struct outframe *o)
{
	for (int i = 0; i < o->nheld; i++) {
		__atomic_sub_fetch(&o->held[i]->in_frames, 1, __ATOMIC_RELEASE);
		req_put(o->held[i]);
	}
	o->nheld = 0;
}

static void outframe_free(struct outframe *o)
{
	frame_drop_held(o);
	free(o->data);
	free(o);
}

struct smb_conn {
	unsigned id;
	int fd;
	int evfd;
	pthread_t thread;
	int request_timeout_ms;
	uint32_t max_frame;

	pthread_mutex_t qlock;
	struct smb_req *sq_head; /* protected by qlock */
	struct smb_req *sq_tail; /* protected by qlock */
	int dead;                /* protected by qlock; read atomically elsewhere */
	int stop;                /* protected by qlock */
	int abort_req;           /* protected by qlock: conn_abort() asked to fail it */
	int thread_joined;       /* protected by qlock */

	pthread_mutex_t seclock;
	struct conn_security sec; /* protected by seclock */
	uint16_t dialect;         /* protected by seclock */

	conn_unsolicited_fn unsol;
	void *unsol_arg;
	conn_dead_fn on_dead;
	void *on_dead_arg;
	int refs; /* atomic */
	long load;               /* atomic: charges submitted, not yet completed */
	unsigned long submitted; /* atomic: requests submitted */
	int echo_interval_ms;
	int64_t last_rx_ns;  /* loop-owned */
	int64_t echo_sent_ns; /* loop-owned; 0 = no ECHO outstanding */

	/* ---- loop-owned ---- */
	struct smb_req *wq_head; /* chains waiting for credits */
	struct smb_req *wq_tail;
	struct outframe *out_head;
	struct outframe *out_tail;
	struct outframe *free_frames; /* reusable, at most FRAME_CACHE */
	int nfree_frames;
	struct smb3_aead *aead;       /* cipher contexts for sealing/opening; lazily made */
	struct pending pend;
	struct credits cr;
	uint8_t rxhdr[SMB2_TRANSPORT_HDR];
	size_t rxhdr_got;
	struct rxbuf *rx;
	size_t rx_got;
};

static unsigned g_conn_ids;

/*
 * Loop thread (or the last put after it exited). Frames are recycled, with
 * their sealing buffer, so a sealed stream does not allocate per request.
 */
static struct outframe *frame_get(struct smb_conn *conn)
{
	struct outframe *o = conn->free_frames;
	if (!o)
		return calloc(1, sizeof(*o));
	conn->free_frames = o->next;
	conn->nfree_frames--;
	o->next = NULL;
	o->iovcnt = o->iovpos = o->nheld = 0;
	return o;
}

static void frame_release(struct smb_conn *conn, struct outframe *o)
{
	frame_drop_held(o);
	if (o->copied) { /* up to a whole WRITE: not worth keeping */
		free(o->data);
		o->data = NULL;
		o->data_cap = 0;
		o->copied = 0;
	}
	if (conn->nfree_frames >= FRAME_CACHE) {
		outframe_free(o);
		return;
	}
	o->next = conn->free_frames;
	conn->free_frames = o;
	conn->nfree_frames++;
}

/* Room for a transform frame of len bytes in o->data; keeps a big enough buffer. */
static int frame_data_reserve(struct outframe *o, size_t len)
{
	if (o->data_cap >= len)
		return 0;
	free(o->data);
	o->data = malloc(len);
	o->data_cap = o->data ? len : 0;
	return o->data ? 0 : -ENOMEM;
}

/*
 * Copy what is left to send of a plaintext frame into the frame itself and
 * let go of its requests' memory (see "Borrowed memory" above). A sealed
 * frame holds no request: it sends its own ciphertext. Loop thread.
 */
static int frame_own(struct outframe *o)
{
	size_t left = 0, at = 0;

	if (!o->nheld)
		return 0;
	for (int i = o->iovpos; i < o->iovcnt; i++)
		left += o->iov[i].iov_len;
	/* o->data is not in a plaintext frame's iovecs: free to reuse */
	if (frame_data_reserve(o, left ? left : 1))
		return -ENOMEM;
	for (int i = o->iovpos; i < o->iovcnt; i++) {
		memcpy(o->data + at, o->iov[i].iov_base, o->iov[i].iov_len);
		at += o->iov[i].iov_len;
	}
	o->iov[0].iov_base = o->data;
	o->iov[0].iov_len = left;
	o->iovpos = 0;
	o->iovcnt = 1;
	o->copied = 1;
	frame_drop_held(o);
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ requests */

struct smb_req *req_new(uint16_t command, size_t body_cap)
{
	struct smb_req *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->cap = SMB2_HDR_SIZE + body_cap;
	req->buf = calloc(1, req->cap);
	if (!req->buf) {
		free(req);
		return NULL;
	}
	req->command = command;
	req->len = SMB2_HDR_SIZE;
	req->credit_charge = 1;
	req->refs = 1;
	pthread_mutex_init(&req->lock, NULL);
	pthread_cond_init(&req->cond, NULL);
	return req;
}

void req_get(struct smb_req *req)
{
	__atomic_add_fetch(&req->refs, 1, __ATOMIC_RELAXED);
}

/*
 * Big receive buffers (READ responses) are recycled, process-wide: a fresh
 * 1 MiB malloc per READ costs page faults and page clearing whenever glibc
 * has given the memory back. The last reference may go on any thread.
 *
 * The idle buffers are bounded by bytes as well as by count: with rsize=8M
 * sixteen idle buffers would pin 128 MiB. RX_POOL_BYTES holds the buffers
 * of a full default readahead window (16 READs of the default 1 MiB rsize,
 * rounded up), so the default stream reuses every buffer; with rsize=8M it
 * keeps three. A buffer that does not fit pushes out the least recently
 * pooled ones (a stream whose READ size changed wants the new size), and
 * one bigger than the whole bound is freed.
 */
#define RX_POOL_MIN (128 * 1024) /* smaller frames: plain malloc */
#define RX_POOL_KEEP 32                      /* idle buffers at most */
#define RX_POOL_BYTES (24u * 1024 * 1024)    /* idle bytes at most, process-wide */
static struct {
	pthread_mutex_t lock;
	struct rxbuf *idle; /* protected by lock; most recently pooled first */
	int n_idle;         /* protected by lock */
	size_t bytes;       /* protected by lock: sum of the idle buffers' cap */
} rx_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct rxbuf *rxbuf_new(size_t len)
{
	struct rxbuf *rx = NULL, **pp;
	size_t cap = len;

	if (len >= RX_POOL_MIN) {
		pthread_mutex_lock(&rx_pool.lock);
		/* one big enough, but not wasting more than half of itself */
		for (pp = &rx_pool.idle; *pp; pp = &(*pp)->next) {
			if ((*pp)->cap >= len && (*pp)->cap / 2 < len) {
				rx = *pp;
				*pp = rx->next;
				rx_pool.n_idle--;
				rx_pool.bytes -= rx->cap;
				break;
			}
		}
		pthread_mutex_unlock(&rx_pool.lock);
		cap = (len + 65535) & ~(size_t)65535; /* similar sizes share buffers */
	}
	if (!rx) {
		rx = malloc(sizeof(*rx) + cap);
		if (!rx)
			return NULL;
		rx->cap = cap;
	}
	rx->refs = 1;
	rx->len = len;
	rx->next = NULL;
	return rx;
}

/* Pool rx if the bounds allow, evicting the oldest idle ones. Lock held; returns what to free. */
static struct rxbuf *rx_pool_add(struct rxbuf *rx)
{
	struct rxbuf *evict = NULL, **pp;

	if (rx->cap > RX_POOL_BYTES)
		return rx;
	while (rx_pool.idle && (rx_pool.n_idle >= RX_POOL_KEEP ||
				rx_pool.bytes + rx->cap > RX_POOL_BYTES)) {
		for (pp = &rx_pool.idle; (*pp)->next; pp = &(*pp)->next)
			;
		(*pp)->next = evict;
		evict = *pp;
		*pp = NULL;
		rx_pool.n_idle--;
		rx_pool.bytes -= evict->cap;
	}
	rx->next = rx_pool.idle;
	rx_pool.idle = rx;
	rx_pool.n_idle++;
	rx_pool.bytes += rx->cap;
	return evict;
}

static void rxbuf_put(struct rxbuf *rx)
{
	if (!rx || __atomic_sub_fetch(&rx->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (rx->cap >= RX_POOL_MIN) {
		pthread_mutex_lock(&rx_pool.lock);
		rx = rx_pool_add(rx);
		pthread_mutex_unlock(&rx_pool.lock);
	}
	while (rx) {
		struct rxbuf *nx = rx->next;
		free(rx);
		rx = nx;
	}
}

void conn_rx_pool_stats(size_t *bytes, int *count)
{
	pthread_mutex_lock(&rx_pool.lock);
	*bytes = rx_pool.bytes;
	*count = rx_pool.n_idle;
	pthread_mutex_unlock(&rx_pool.lock);
}

void conn_rx_pool_drain(void)
{
	struct rxbuf *rx;

	pthread_mutex_lock(&rx_pool.lock);
	rx = rx_pool.idle;
	rx_pool.idle = NULL;
	rx_pool.n_idle = 0;
	rx_pool.bytes = 0;
	pthread_mutex_unlock(&rx_pool.lock);
	while (rx) {
		struct rxbuf *nx = rx->next;
		free(rx);
		rx = nx;
	}
}

void req_put(struct smb_req *req)
{
	if (!req || __atomic_sub_fetch(&req->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rxbuf_put(req->rx);
	if (req->xdata_free)
		req->xdata_free(req->xdata_free_arg);
	if (req->command == SMB2_SESSION_SETUP)
		OPENSSL_cleanse(req->buf, req->len);
	free(req->buf);
	pthread_mutex_destroy(&req->lock);
	pthread_cond_destroy(&req->cond);
	free(req);
}

struct smb_req *req_clone(const struct smb_req *src)
{
	struct smb_req *req = req_new(src->command, src->cap - SMB2_HDR_SIZE);
	if (!req)
		return NULL;
	memcpy(req->buf, src->buf, src->len);
	req->len = src->len;
	req->credit_charge = src->credit_charge;
	req->tree_id = src->tree_id;
	req->session_id = src->session_id;
	req->flags = src->flags;
	req->timeout_ms = src->timeout_ms;
	req->force_sign = src->force_sign;
	req->xdata = src->xdata; /* borrowed: the source (or its owner) keeps it alive */
	req->xlen = src->xlen;
	req->fid_src = src->fid_src;
	req->fid_off = src->fid_off;
	return req;
}

uint8_t *req_body(struct smb_req *req)
{
	return req->buf + SMB2_HDR_SIZE;
}

size_t req_body_cap(const struct smb_req *req)
{
	return req->cap - SMB2_HDR_SIZE;
}

void req_set_body_len(struct smb_req *req, size_t body_len)
{
	req->len = SMB2_HDR_SIZE + body_len;
}

/* Loop thread: finish a request and drop the connection's reference. */
static void req_complete(struct smb_req *req, int rc)
{
	if (req->load_conn) {
		__atomic_sub_fetch(&req->load_conn->load, req->load_charge, __ATOMIC_RELAXED);
		req->load_conn = NULL;
	}
	if (req->state == REQ_DONE) { /* orphan whose submitter was already told */
		req_put(req);
		return;
	}
	if (rc)
		req->rc = rc;
	if (req->done) {
		req->state = REQ_DONE;
		req->done(req, req->done_arg);
	} else {
		pthread_mutex_lock(&req->lock);
		req->state = REQ_DONE;
		pthread_cond_broadcast(&req->cond);
		pthread_mutex_unlock(&req->lock);
	}
	req_put(req);
}

/* Loop thread: tell the submitter about a timeout but keep the pending entry. */
static void req_orphan(struct smb_req *req)
{
	req->rc = -ETIMEDOUT;
	if (req->done) {
		req->state = REQ_DONE;
		req->done(req, req->done_arg);
	} else {
		pthread_mutex_lock(&req->lock);
		req->state = REQ_DONE;
		pthread_cond_broadcast(&req->cond);
		pthread_mutex_unlock(&req->lock);
	}
}

int conn_wait(struct smb_req *req)
{
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&req->lock);
	while (req->state != REQ_DONE) {
		/* The loop enforces each deadline; this is only a backstop. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		rc = pthread_cond_timedwait(&req->cond, &req->lock, &ts);
		/* not while a frame may still send from the caller's memory */
		if (rc == ETIMEDOUT && req->state != REQ_DONE && req->deadline_ns > 0 &&
		    now_ns() > req->deadline_ns + 10 * (int64_t)1000000000 &&
		    !(req->xlen && __atomic_load_n(&req->in_frames, __ATOMIC_ACQUIRE))) {
			pthread_mutex_unlock(&req->lock);
			return -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&req->lock);
	return req->rc;
}

int conn_call(struct smb_conn *conn, struct smb_req *req)
{
	int rc = conn_submit(conn, req);
	int first = 0;
	if (rc)
		return rc;
	for (struct smb_req *r = req; r; r = r->chain_next) {
		rc = conn_wait(r);
		if (rc && !first)
			first = rc;
	}
	return first;
}

/* ------------------------------------------------------------------ setup */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *out_fd)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	int rc, one = 1;
	struct pollfd pfd;
	socklen_t sl;
	int soerr = 0;

	if (fd < 0)
		return -errno;
	if ((rc = set_nonblock(fd)))
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			rc = poll(&pfd, 1, timeout_ms);
		} while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			rc = -ETIMEDOUT;
			goto fail;
		}
		if (rc < 0) {
			rc = -errno;
			goto fail;
		}
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			rc = soerr ? -soerr : -errno;
			goto fail;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	*out_fd = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

static void *conn_loop(void *arg);

struct smb_conn *conn_new(const struct conn_opts *opts, int *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct smb_conn *conn;
	int rc, fd = -1;
	int timeout = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 15000;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(opts->host, opts->port ? opts->port : "445", &hints, &res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME || rc == EAI_NODATA) {
		hints.ai_flags = 0; /* loopback-only hosts have no configured address */
		rc = getaddrinfo(opts->host, opts->port ? opts->port : "445", &hints, &res);
	}
	if (rc) {
		*err = (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL) ? -ENXIO
		       : rc == EAI_SERVICE ? -EINVAL
		       : rc == EAI_AGAIN   ? -EAGAIN
					   : -EHOSTUNREACH;
		return NULL;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		rc = connect_one(ai, timeout, &fd);
		if (!rc)
			break;
	}
	freeaddrinfo(res);
	if (rc) {
		*err = rc;
		return NULL;
	}

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	conn->id = __atomic_add_fetch(&g_conn_ids, 1, __ATOMIC_RELAXED);
	conn->fd = fd;
	conn->request_timeout_ms =
		opts->request_timeout_ms > 0 ? opts->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
	conn->max_frame = opts->max_frame ? opts->max_frame : DEFAULT_MAX_FRAME;
	conn->refs = 1;
	conn->echo_interval_ms = opts->echo_interval_ms;
	conn->last_rx_ns = now_ns();
	if (conn->max_frame > SMB2_MAX_FRAME - 1)
		conn->max_frame = SMB2_MAX_FRAME - 1;
	pthread_mutex_init(&conn->qlock, NULL);
	pthread_mutex_init(&conn->seclock, NULL);
	pending_init(&conn->pend);
	credits_init(&conn->cr, opts->max_credits ? opts->max_credits : 512);
	conn->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (conn->evfd < 0) {
		*err = -errno;
		goto fail;
	}
	rc = pthread_create(&conn->thread, NULL, conn_loop, conn);
	if (rc) {
		*err = -rc;
		goto fail;
	}
	LOG_DBG("conn %u: connected to %s port %s", conn->id, opts->host,
		opts->port ? opts->port : "445");
	return conn;
fail:
	if (conn->evfd >= 0)
		close(conn->evfd);
	close(fd);
	pthread_mutex_destroy(&conn->qlock);
	pthread_mutex_destroy(&conn->seclock);
	free(conn);
	return NULL;
}

static void wake(struct smb_conn *conn)
{
	uint64_t one = 1;
	ssize_t n = write(conn->evfd, &one, sizeof(one));
	(void)n; /* EAGAIN means a wake-up is already pending */
}

static void fail_all(struct smb_conn *conn, int rc);

void conn_get(struct smb_conn *conn)
{
	__atomic_add_fetch(&conn->refs, 1, __ATOMIC_RELAXED);
}

void conn_put(struct smb_conn *conn)
{
	int joined;
	if (!conn || __atomic_sub_fetch(&conn->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	pthread_mutex_lock(&conn->qlock);
	conn->stop = 1;
	joined = conn->thread_joined;
	pthread_mutex_unlock(&conn->qlock);
	if (!joined) {
		wake(conn);
		pthread_join(conn->thread, NULL);
	}
	fail_all(conn, -ECONNABORTED); /* loop has exited: we own its state now */
	while (conn->free_frames) {
		struct outframe *o = conn->free_frames;
		conn->free_frames = o->next;
		outframe_free(o);
	}
	smb3_aead_free(conn->aead);
	close(conn->fd);
	close(conn->evfd);
	OPENSSL_cleanse(&conn->sec, sizeof(conn->sec));
	pthread_mutex_destroy(&conn->qlock);
	pthread_mutex_destroy(&conn->seclock);
	free(conn);
}

void conn_shutdown(struct smb_conn *conn)
{
	int joined;
	pthread_mutex_lock(&conn->qlock);
	conn->stop = 1;
	joined = conn->thread_joined;
	conn->thread_joined = 1;
	pthread_mutex_unlock(&conn->qlock);
	if (!joined) {
		wake(conn);
		pthread_join(conn->thread, NULL);
	}
	fail_all(conn, -ECONNABORTED);
}

void conn_free(struct smb_conn *conn)
{
	if (!conn)
		return;
	conn_shutdown(conn);
	conn_put(conn);
}

void conn_set_on_dead(struct smb_conn *conn, conn_dead_fn fn, void *arg)
{
	pthread_mutex_lock(&conn->qlock);
	conn->on_dead = fn;
	conn->on_dead_arg = arg;
	pthread_mutex_unlock(&conn->qlock);
}

void conn_abort(struct smb_conn *conn)
{
	pthread_mutex_lock(&conn->qlock);
	conn->abort_req = 1;
	pthread_mutex_unlock(&conn->qlock);
	wake(conn);
}

int conn_submit(struct smb_conn *conn, struct smb_req *req)
{
	int64_t now = now_ns();
	int n = 0;

	pthread_mutex_lock(&conn->qlock);
	if (conn->dead || conn->stop) {
		pthread_mutex_unlock(&conn->qlock);
		return -ENOTCONN;
	}
	for (struct smb_req *r = req; r; r = r->chain_next) {
		int64_t t = r->timeout_ms ? r->timeout_ms : conn->request_timeout_ms;
		req_get(r);
		r->state = REQ_QUEUED;
		r->rc = 0;
		r->deadline_ns = t > 0 ? now + t * 1000000 : 0;
		r->load_conn = conn;
		r->load_charge = r->credit_charge ? r->credit_charge : 1;
		__atomic_add_fetch(&conn->load, r->load_charge, __ATOMIC_RELAXED);
		n++;
	}
	req->chain_len = n;
	__atomic_add_fetch(&conn->submitted, (unsigned long)n, __ATOMIC_RELAXED);
	req->next = NULL;
	if (conn->sq_tail)
		conn->sq_tail->next = req;
	else
		conn->sq_head = req;
	conn->sq_tail = req;
	pthread_mutex_unlock(&conn->qlock);
	wake(conn);
	return 0;
}

void conn_set_security(struct smb_conn *conn, const struct conn_security *sec)
{
	pthread_mutex_lock(&conn->seclock);
	conn->sec = *sec;
	pthread_mutex_unlock(&conn->seclock);
}

void conn_get_security(struct smb_conn *conn, struct conn_security *sec)
{
	pthread_mutex_lock(&conn->seclock);
	*sec = conn->sec;
	pthread_mutex_unlock(&conn->seclock);
}

long conn_load(struct smb_conn *conn)
{
	return __atomic_load_n(&conn->load, __ATOMIC_RELAXED);
}

unsigned long conn_submitted(struct smb_conn *conn)
{
	return __atomic_load_n(&conn->submitted, __ATOMIC_RELAXED);
}

void conn_enable_encryption(struct smb_conn *conn)
{
	pthread_mutex_lock(&conn->seclock);
	conn->sec.encrypt = 1;
	pthread_mutex_unlock(&conn->seclock);
}

void conn_set_negotiated(struct smb_conn *conn, uint16_t dialect, int large_mtu)
{
	pthread_mutex_lock(&conn->seclock);
	conn->dialect = dialect;
	/* credits are loop-owned, but nothing is in flight while negotiating */
	conn->cr.large_mtu = large_mtu;
	pthread_mutex_unlock(&conn->seclock);
}

uint16_t conn_charge_for(struct smb_conn *conn, size_t payload)
{
	uint16_t c;
	pthread_mutex_lock(&conn->seclock);
	c = credits_charge_for(&conn->cr, payload);
	pthread_mutex_unlock(&conn->seclock);
	return c;
}

void conn_set_unsolicited(struct smb_conn *conn, conn_unsolicited_fn fn, void *arg)
{
	pthread_mutex_lock(&conn->qlock);
	conn->unsol = fn;
	conn->unsol_arg = arg;
	pthread_mutex_unlock(&conn->qlock);
}

int conn_is_dead(struct smb_conn *conn)
{
	return __atomic_load_n(&conn->dead, __ATOMIC_ACQUIRE);
}

unsigned conn_id(const struct smb_conn *conn)
{
	return conn->id;
}

/* ------------------------------------------------------------------ failure */

static void complete_chain(struct smb_req *head, int rc)
{
	struct smb_req *r = head, *nx;
	while (r) {
		nx = r->chain_next;
		req_complete(r, rc);
		r = nx;
	}
}

/* Fail every request the connection holds. Loop thread (or after it exited). */
static void fail_all(struct smb_conn *conn, int rc)
{
	struct smb_req *r, *nx;
	struct outframe *o, *on;

	pthread_mutex_lock(&conn->qlock);
	__atomic_store_n(&conn->dead, 1, __ATOMIC_RELEASE);
	r = conn->sq_head;
	conn->sq_head = conn->sq_tail = NULL;
	pthread_mutex_unlock(&conn->qlock);
	for (; r; r = nx) {
		nx = r->next;
		complete_chain(r, rc);
	}
	for (r = conn->wq_head; r; r = nx) {
		nx = r->next;
		complete_chain(r, rc);
	}
	conn->wq_head = conn->wq_tail = NULL;
	while ((r = pending_pop(&conn->pend)))
		req_complete(r, rc);
	for (o = conn->out_head; o; o = on) {
		on = o->next;
		frame_release(conn, o);
	}
	conn->out_head = conn->out_tail = NULL;
	rxbuf_put(conn->rx);
	conn->rx = NULL;
}

static void conn_fail(struct smb_conn *conn, int rc, const char *why)
{
	conn_dead_fn fn;
	void *arg;
	if (conn_is_dead(conn))
		return;
	LOG_WARN("conn %u: connection failed: %s", conn->id, why);
	fail_all(conn, rc);
	pthread_mutex_lock(&conn->qlock);
	fn = conn->stop ? NULL : conn->on_dead;
	arg = conn->on_dead_arg;
	pthread_mutex_unlock(&conn->qlock);
	if (fn)
		fn(conn, arg);
}

/* ------------------------------------------------------------------ sending */

static int use_signing(const struct conn_security *sec, const struct smb_req *r)
{
	/* SESSION_SETUP is signed only when it binds a channel (force_sign, MS-SMB2 3.2.4.1.1) */
	return (sec->signing || r->force_sign) && r->session_id == sec->session_id &&
	       r->session_id && r->command != SMB2_NEGOTIATE &&
	       (r->command != SMB2_SESSION_SETUP || r->force_sign);
}

static int use_encryption(const struct conn_security *sec, const struct smb_req *r)
{
	return sec->encrypt && r->session_id == sec->session_id &&
	       r->command != SMB2_NEGOTIATE && r->command != SMB2_SESSION_SETUP;
}

/*
 * req is about to complete: if a frame still sends from its payload, that
 * frame copies the rest first (the submitter may reuse the payload once
 * told). Only a borrowed payload matters: the frame holds a reference on
 * req itself. Loop thread; -ENOMEM: the caller fails the connection.
 */
static int req_unshare(struct smb_conn *conn, struct smb_req *req)
{
	if (!req->xlen || !__atomic_load_n(&req->in_frames, __ATOMIC_RELAXED))
		return 0;
	for (struct outframe *o = conn->out_head; o; o = o->next) {
		for (int i = 0; i < o->nheld; i++) {
			if (o->held[i] != req)
				continue;
			LOG_DBG("conn %u: mid %llu completes before its frame left; copying "
				"the rest", conn->id, (unsigned long long)req->message_id);
			return frame_own(o); /* a request is in one frame only */
		}
	}
	return 0;
}

static void push_out(struct smb_conn *conn, struct outframe *o)
{
	o->next = NULL;
	if (conn->out_tail)
		conn->out_tail->next = o;
	else
		conn->out_head = o;
	conn->out_tail = o;
}

/*
 * Encode one chain (single request or compound) into a frame and move its
 * requests to the pending table. Credits were checked by the caller.
 */
static int send_chain(struct smb_conn *conn, struct smb_req *head)
{
	struct conn_security sec;
	size_t total = 0;
	struct outframe *o;
	int64_t now = now_ns();
	int encrypt, n = 0, rc = 0;

	pthread_mutex_lock(&conn->seclock);
	sec = conn->sec;
	pthread_mutex_unlock(&conn->seclock);
	encrypt = use_encryption(&sec, head);

	for (struct smb_req *r = head; r; r = r->chain_next) {
		size_t l = r->len + r->xlen;
		total += r->chain_next ? ((l + 7) & ~(size_t)7) : l;
		n++;
	}
	if (total > conn->max_frame || n > OUT_MAX_IOV / 3) {
		rc = -EMSGSIZE;
		goto out;
	}
	o = frame_get(conn);
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	o->iov[o->iovcnt].iov_base = o->hdr;
	o->iov[o->iovcnt++].iov_len = SMB2_TRANSPORT_HDR;
	for (struct smb_req *r = head; r; r = r->chain_next) {
		struct smb2_hdr h;
		struct wbuf w = wbuf_init(r->buf, SMB2_HDR_SIZE);
		size_t l = r->len + r->xlen;
		size_t pad = r->chain_next ? (((l + 7) & ~(size_t)7) - l) : 0;
		struct iovec piov[3];
		int pn = 0;

		piov[pn].iov_base = r->buf;
		piov[pn++].iov_len = r->len;
		if (r->xlen) {
			piov[pn].iov_base = (void *)r->xdata;
			piov[pn++].iov_len = r->xlen;
		}
		if (pad) {
			piov[pn].iov_base = (void *)zero_pad;
			piov[pn++].iov_len = pad;
		}

		memset(&h, 0, sizeof(h));
		h.command = r->command;
		h.credit_charge = conn->cr.large_mtu ? r->credit_charge : 0;
		h.credit = credits_request_amount(&conn->cr, r->credit_charge);
		h.flags = r->flags;
		h.next_command = r->chain_next ? (uint32_t)(l + pad) : 0;
		h.message_id = credits_take(&conn->cr, r->credit_charge);
		h.tree_id = r->tree_id;
		h.session_id = r->session_id;
		if (!encrypt && use_signing(&sec, r))
			h.flags |= SMB2_FLAGS_SIGNED;
		if (hdr_encode(&w, &h)) { /* cannot happen: 64 bytes of room */
			rc = -EMSGSIZE;
		} else if ((h.flags & SMB2_FLAGS_SIGNED) &&
			   smb2_sign_iov(sec.sign_alg, sec.sign_key, piov, pn, r->buf + HDR_SIGNATURE)) {
			rc = -EIO;
		}
		req_get(r);
		__atomic_add_fetch(&r->in_frames, 1, __ATOMIC_RELAXED);
		o->held[o->nheld++] = r;
		for (int k = 0; k < pn; k++)
			o->iov[o->iovcnt++] = piov[k];
		r->message_id = h.message_id;
		r->state = REQ_SENT;
		pending_add(&conn->pend, r);
		LOG_TRACE("conn %u: send %s mid %llu charge %u", conn->id, smb2_cmd_name(r->command),
			  (unsigned long long)h.message_id, r->credit_charge);
	}
	(void)now;
	if (rc) { /* the requests are in the pending table: the caller fails the conn */
		frame_release(conn, o);
		goto out;
	}

	if (encrypt) {
		uint8_t nonce[16];
		size_t elen = 0;
		if (!conn->aead)
			conn->aead = smb3_aead_new(); /* NULL: a fresh context per frame */
		rc = frame_data_reserve(o, SMB2_TRANSFORM_HDR_SIZE + total);
		if (!rc)
			rc = smb3_nonce_next(sec.cipher, nonce);
		if (!rc)
			rc = smb3_encrypt_ctx(conn->aead, sec.cipher, sec.enc_key, sec.session_id,
					      nonce, o->iov + 1, o->iovcnt - 1, o->data,
					      SMB2_TRANSFORM_HDR_SIZE + total, &elen);
		if (rc) {
			frame_release(conn, o);
			goto out;
		}
		o->iov[1].iov_base = o->data;
		o->iov[1].iov_len = elen;
		o->iovcnt = 2;
		total = elen;
		/* the plaintext buffers are no longer needed by this frame */
		frame_drop_held(o);
	}
	transport_hdr_store(o->hdr, (uint32_t)total);
	push_out(conn, o);
out:
	OPENSSL_cleanse(&sec, sizeof(sec));
	return rc;
}

static int chain_cost(const struct smb_req *head)
{
	int n = 0;
	for (const struct smb_req *r = head; r; r = r->chain_next)
		n += r->credit_charge ? r->credit_charge : 1;
	return n;
}

/* Move queued chains to the wire while credits allow. Stops at the first that doesn't fit. */
static void flush_queue(struct smb_conn *conn)
{
	while (conn->wq_head) {
		struct smb_req *head = conn->wq_head;
		int rc;
		if (conn->cr.avail < (uint32_t)chain_cost(head))
			return;
		conn->wq_head = head->next;
		if (!conn->wq_head)
			conn->wq_tail = NULL;
		head->next = NULL;
		rc = send_chain(conn, head);
		if (rc == -EMSGSIZE || rc == -ENOMEM) {
			if (head->state == REQ_QUEUED) {
				complete_chain(head, rc);
				continue;
			}
		}
		if (rc) {
			conn_fail(conn, -EIO, "cannot encode a request");
			return;
		}
	}
}

static int do_write(struct smb_conn *conn)
{
	while (conn->out_head) {
		struct outframe *o = conn->out_head;
		struct msghdr mh;
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = o->iov + o->iovpos;
		mh.msg_iovlen = (size_t)(o->iovcnt - o->iovpos);
		n = sendmsg(conn->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		/* advance past what was sent */
		while (n > 0 && o->iovpos < o->iovcnt) {
			struct iovec *v = &o->iov[o->iovpos];
			if ((size_t)n >= v->iov_len) {
				n -= (ssize_t)v->iov_len;
				o->iovpos++;
			} else {
				v->iov_base = (uint8_t *)v->iov_base + n;
				v->iov_len -= (size_t)n;
				n = 0;
			}
		}
		if (o->iovpos < o->iovcnt)
			return 0;
		conn->out_head = o->next;
		if (!conn->out_head)
			conn->out_tail = NULL;
		frame_release(conn, o);
	}
	return 0;
}

/* ------------------------------------------------------------------ receiving */

static int handle_pdu(struct smb_conn *conn, struct rxbuf *rx, uint8_t *pdu, size_t len,
		      const struct smb2_hdr *h, int decrypted, const struct conn_security *sec)
{
	struct smb_req *req;
	int interim;

	if (h->message_id == SMB2_UNSOLICITED_MSGID) {
		if (h->command != SMB2_OPLOCK_BREAK)
			return -EBADMSG;
		if (conn->unsol)
			conn->unsol(conn, pdu, len, conn->unsol_arg);
		return 0;
	}
	req = pending_find(&conn->pend, h->message_id);
	if (!req) {
		LOG_WARN("conn %u: response to unknown MessageId %llu", conn->id,
			 (unsigned long long)h->message_id);
		return -EBADMSG;
	}
	if (req->command != h->command) {
		LOG_WARN("conn %u: mid %llu: response command %s to %s", conn->id,
			 (unsigned long long)h->message_id, smb2_cmd_name(h->command),
			 smb2_cmd_name(req->command));
		return -EBADMSG;
	}
	interim = h->status == STATUS_PENDING && (h->flags & SMB2_FLAGS_ASYNC_COMMAND);
	if (credits_grant(&conn->cr, h->credit, req->credit_charge, !interim)) {
		LOG_WARN("conn %u: server granted too many credits", conn->id);
		return -EBADMSG;
	}
	if (!decrypted && (sec->signing || req->force_sign) && h->session_id == sec->session_id &&
	    h->session_id && h->command != SMB2_SESSION_SETUP && !interim) {
		if (!(h->flags & SMB2_FLAGS_SIGNED)) {
			LOG_WARN("conn %u: mid %llu: unsigned %s response on a signed session",
				 conn->id, (unsigned long long)h->message_id,
				 smb2_cmd_name(h->command));
			return -EBADMSG;
		}
		if (smb2_verify_pdu(sec->sign_alg, sec->sign_key, pdu, len)) {
			LOG_WARN("conn %u: mid %llu: bad signature on %s response", conn->id,
				 (unsigned long long)h->message_id, smb2_cmd_name(h->command));
			return -EBADMSG;
		}
		req->resp_signed_ok = 1;
	}
	if (decrypted && h->session_id == sec->session_id)
		req->resp_signed_ok = 1; /* AEAD authenticated it: as good as a signature */
	if (interim) {
		req->async_id = h->async_id;
		/* the server is working on it: allow longer, but not forever (a server
		 * that answers STATUS_PENDING and then nothing) */
		if (req->deadline_ns && req->timeout_ms >= 0)
			req->deadline_ns = now_ns() + (int64_t)conn->request_timeout_ms * 1000000;
		return 0;
	}
	/* a server that answers before it can have read all of the request */
	if (req->state != REQ_DONE && req_unshare(conn, req))
		return -ENOMEM;
	pending_del(&conn->pend, req);
	if (req->state == REQ_DONE) { /* orphan: the submitter gave up */
		req_put(req);
		return 0;
	}
	req->rhdr = *h;
	req->status = h->status;
	req->resp = pdu;
	req->resp_len = len;
	__atomic_add_fetch(&rx->refs, 1, __ATOMIC_RELAXED);
	req->rx = rx;
	req->rc = 0;
	LOG_TRACE("conn %u: recv %s mid %llu status %s", conn->id, smb2_cmd_name(h->command),
		  (unsigned long long)h->message_id, ntstatus_name(h->status));
	req_complete(req, 0);
	return 0;
}

static int process_frame(struct smb_conn *conn, struct rxbuf *rx)
{
	struct conn_security sec;
	uint8_t *p = rx->data;
	size_t len = rx->len, off = 0;
	int decrypted = 0, rc = 0;
	uint32_t proto;

	if (len < 4)
		return -EBADMSG;
	pthread_mutex_lock(&conn->seclock);
	sec = conn->sec;
	pthread_mutex_unlock(&conn->seclock);

	proto = le32_load(p);
	if (proto == SMB2_TRANSFORM_ID) {
		uint64_t sid;
		size_t poff, plen;
		if (!sec.encrypt && !sec.cipher) {
			rc = -EBADMSG;
			goto out;
		}
		if (!conn->aead)
			conn->aead = smb3_aead_new(); /* NULL: a fresh context per frame */
		rc = smb3_decrypt_ctx(conn->aead, sec.cipher, sec.dec_key, p, len, &sid, &poff,
				      &plen);
		if (rc || sid != sec.session_id) {
			LOG_WARN("conn %u: cannot decrypt a message", conn->id);
			rc = -EBADMSG;
			goto out;
		}
		p += poff;
		len = plen;
		decrypted = 1;
		if (len < 4) {
			rc = -EBADMSG;
			goto out;
		}
		proto = le32_load(p);
	}
	if (proto == SMB1_PROTOCOL_ID) {
		struct smb_req *neg = pending_find(&conn->pend, 0);
		LOG_DBG("conn %u: server answered with SMB1", conn->id);
		if (neg) {
			pending_del(&conn->pend, neg);
			req_complete(neg, -EPROTONOSUPPORT);
		}
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	if (proto != SMB2_PROTOCOL_ID) {
		rc = -EBADMSG;
		goto out;
	}
	for (;;) {
		struct smb2_hdr h;
		size_t pdu_len;
		if (frame_check(p + off, len - off, &h, &pdu_len)) {
			LOG_WARN("conn %u: malformed SMB2 message", conn->id);
			rc = -EBADMSG;
			goto out;
		}
		rc = handle_pdu(conn, rx, p + off, pdu_len, &h, decrypted, &sec);
		if (rc)
			goto out;
		if (!h.next_command)
			break;
		off += pdu_len;
	}
out:
	OPENSSL_cleanse(&sec, sizeof(sec));
	return rc;
}

static int do_read(struct smb_conn *conn)
{
	for (;;) {
		ssize_t n;
		if (conn->rxhdr_got < SMB2_TRANSPORT_HDR) {
			n = recv(conn->fd, conn->rxhdr + conn->rxhdr_got,
				 SMB2_TRANSPORT_HDR - conn->rxhdr_got, 0);
			if (n == 0)
				return -ECONNRESET;
			if (n < 0)
				return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
			conn->rxhdr_got += (size_t)n;
			if (conn->rxhdr_got < SMB2_TRANSPORT_HDR)
				continue;
			uint32_t flen;
			if (transport_hdr_parse(conn->rxhdr, conn->max_frame, &flen) || flen < 4) {
				LOG_WARN("conn %u: bad frame length", conn->id);
				return -EBADMSG;
			}
			conn->rx = rxbuf_new(flen);
			if (!conn->rx)
				return -ENOMEM;
			conn->rx_got = 0;
		}
		n = recv(conn->fd, conn->rx->data + conn->rx_got, conn->rx->len - conn->rx_got, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
		conn->rx_got += (size_t)n;
		if (conn->rx_got == conn->rx->len) {
			struct rxbuf *rx = conn->rx;
			int rc;
			conn->last_rx_ns = now_ns();
			conn->rx = NULL;
			conn->rxhdr_got = 0;
			rc = process_frame(conn, rx);
			rxbuf_put(rx);
			if (rc)
				return rc;
		}
	}
}

/* ------------------------------------------------------------------ timers */

struct expired {
	struct smb_req *list[64];
	int n;
	int64_t now;
};

static void collect_expired(struct smb_req *r, void *arg)
{
	struct expired *ex = arg;
	if (r->state == REQ_SENT && r->deadline_ns && ex->now > r->deadline_ns &&
	    ex->n < 64)
		ex->list[ex->n++] = r;
}

static void check_timeouts(struct smb_conn *conn)
{
	struct expired ex = {.n = 0, .now = now_ns()};
	struct smb_req **pp;

	pending_foreach(&conn->pend, collect_expired, &ex);
	for (int i = 0; i < ex.n; i++) {
		LOG_WARN("conn %u: %s (mid %llu) timed out", conn->id,
			 smb2_cmd_name(ex.list[i]->command),
			 (unsigned long long)ex.list[i]->message_id);
		/* its frame may still be stuck behind the socket */
		if (req_unshare(conn, ex.list[i])) {
			conn_fail(conn, -ECONNRESET, "out of memory");
			return; /* every request has completed */
		}
		req_orphan(ex.list[i]);
	}
	/* Chains still waiting for credits. */
	for (pp = &conn->wq_head; *pp;) {
		struct smb_req *r = *pp;
		if (r->deadline_ns && ex.now > r->deadline_ns) {
			*pp = r->next;
			complete_chain(r, -ETIMEDOUT);
			continue;
		}
		pp = &r->next;
	}
	conn->wq_tail = NULL;
	for (struct smb_req *r = conn->wq_head; r; r = r->next)
		conn->wq_tail = r;
}

/* ------------------------------------------------------------------ keepalive */

static void echo_done(struct smb_req *req, void *arg)
{
	struct smb_conn *conn = arg;
	(void)req;
	conn->echo_sent_ns = 0; /* loop thread: completions run here */
}

/*
 * Keepalive (MS-SMB2 3.2.6.2 spirit): after echo_interval without hearing
 * from the server, send an ECHO; if nothing at all arrives for another
 * echo_interval, the connection is dead. Returns -ETIMEDOUT then.
 */
static int keepalive(struct smb_conn *conn)
{
	int64_t now = now_ns(), iv = (int64_t)conn->echo_interval_ms * 1000000;
	struct smb_req *req;
	struct wbuf w;

	if (iv <= 0)
		return 0;
	if (conn->echo_sent_ns) {
		if (now - conn->echo_sent_ns > iv && now - conn->last_rx_ns > iv)
			return -ETIMEDOUT;
		return 0;
	}
	if (now - conn->last_rx_ns < iv)
		return 0;
	req = req_new(SMB2_ECHO, 8);
	if (!req)
		return 0;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (echo_req_encode(&w)) {
		req_put(req);
		return 0;
	}
	req_set_body_len(req, w.off);
	req->done = echo_done;
	req->done_arg = conn;
	req->timeout_ms = -1; /* the keepalive itself decides */
	req_get(req);
	req->state = REQ_QUEUED;
	req->chain_len = 1;
	req->next = NULL;
	if (conn->wq_tail)
		conn->wq_tail->next = req;
	else
		conn->wq_head = req;
	conn->wq_tail = req;
	req_put(req); /* the connection's reference remains */
	conn->echo_sent_ns = now;
	return 0;
}

/* ------------------------------------------------------------------ loop */

static void *conn_loop(void *arg)
{
	struct smb_conn *conn = arg;
	struct pollfd pfd[2];
	int rc;

	for (;;) {
		struct smb_req *sq;
		int stop, busy;

		pthread_mutex_lock(&conn->qlock);
		stop = conn->stop;
		if (conn->abort_req && !stop) {
			conn->abort_req = 0;
			pthread_mutex_unlock(&conn->qlock);
			conn_fail(conn, -ECONNRESET, "aborted by the client");
			break;
		}
		sq = conn->sq_head;
		conn->sq_head = conn->sq_tail = NULL;
		pthread_mutex_unlock(&conn->qlock);
		if (sq) {
			if (conn->wq_tail)
				conn->wq_tail->next = sq;
			else
				conn->wq_head = sq;
			while (sq->next)
				sq = sq->next;
			conn->wq_tail = sq;
		}
		if (stop || conn_is_dead(conn))
			break;
		flush_queue(conn);
		if (conn->out_head && (rc = do_write(conn))) {
			conn_fail(conn, rc, "send failed");
			break;
		}
		busy = conn->pend.count || conn->wq_head;
		pfd[0].fd = conn->fd;
		pfd[0].events = POLLIN | (conn->out_head ? POLLOUT : 0);
		pfd[0].revents = 0;
		pfd[1].fd = conn->evfd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		rc = poll(pfd, 2, busy ? 250 : IDLE_POLL_MS);
		if (rc < 0 && errno != EINTR) {
			conn_fail(conn, -errno, "poll failed");
			break;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t n = read(conn->evfd, &v, sizeof(v));
			(void)n;
		}
		if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			rc = do_read(conn);
			if (rc) {
				conn_fail(conn, rc == -EPROTONOSUPPORT ? rc : rc == -EBADMSG ? -EIO : -ECONNRESET,
					  rc == -ECONNRESET ? "closed by server"
					  : rc == -EBADMSG  ? "malformed message from server"
					  : rc == -EPROTONOSUPPORT ? "server speaks only SMB1"
								   : "receive failed");
				break;
			}
		}
		if (pfd[0].revents & POLLOUT) {
			rc = do_write(conn);
			if (rc) {
				conn_fail(conn, rc, "send failed");
				break;
			}
		}
		check_timeouts(conn);
		if (conn_is_dead(conn))
			break;
		if (keepalive(conn)) {
			conn_fail(conn, -ETIMEDOUT, "server stopped answering (keepalive)");
			break;
		}
	}
	return NULL;
}
