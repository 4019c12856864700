/*
 * ops.c - SMB-level file API. See ops.h.
 *
 * Round trips: stat is one compound (CREATE + QUERY_INFO + CLOSE); so are
 * mkdir, delete, rename, set-info-by-path and statfs. A directory listing is
 * CREATE+QUERY_DIRECTORY+QUERY_DIRECTORY in one compound, then as many
 * QUERY_DIRECTORY as it needs; its CLOSE is sent without waiting.
 *
 * Reconnects: every request goes out through smbc_call_chain(), which sends it on
 * a snapshot of the current connection, and when that connection fails,
 * waits for the reconnect thread and sends a fresh copy on the next one.
 * Requests that carry the FileId of an open file name the file (fid_src);
 * the FileId is written into the copy at send time, after the file has been
 * reopened on the new connection if needed.
 */
#include "client/ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "client/pool.h"
#include "errmap.h"
#include "log.h"
#include "net/conn.h"
#include "wire/close.h"
#include "wire/create.h"
#include "wire/flush.h"
#include "wire/fscc.h"
#include "wire/info.h"
#include "wire/lock.h"
#include "wire/notify.h"
#include "wire/querydir.h"
#include "wire/read.h"
#include "wire/time.h"
#include "wire/utf16.h"
#include "wire/write.h"

#define NAME_CAP 4096             /* UTF-16 bytes of a path we will send */
#define QUERY_INFO_OUT 4096
/* QUERY_DIRECTORY output buffer: 1 MiB (some 10,000 entries, so that a
 * large directory lists in a round trip or two), at most MaxTransactSize. */
#define QUERY_DIR_OUT_MIN (64 * 1024)
#define QUERY_DIR_OUT_MAX (1024 * 1024)
#define LIST_RESTARTS 3
/* A listing longer than this fails with EIO: it bounds the memory and time a
 * directory that never ends (a hostile server) can cost; ten times the
 * largest directories seen in practice. Documented in smbfuse(8). */
#define MAX_DIR_ENTRIES (1 << 20)


const struct smb2_file_id smbc_related_fid = {UINT64_MAX, UINT64_MAX};

struct smbc_file {
	struct smb_client *c;
	pthread_mutex_t lock;      /* serialises reopen */
	char *path;                /* protected by lock */
	struct smbc_open_args args;
	struct smb2_file_id fid;   /* protected by lock; valid on generation gen */
	uint64_t gen;              /* protected by lock */
	int err;                   /* protected by lock: reopen failed, the file is lost */
	int locks_lost;            /* protected by lock: a lock could not be taken back */
	int relock_pending;        /* protected by lock: reopened by path, locks not yet back */
	uint8_t lease_key[16];
	uint32_t lease;            /* granted lease state (atomic) */
	/* durable handle v2 (protected by lock): the server keeps the open, its
	 * locks and delete-pending state across a disconnect; DH2C gets it back */
	int durable;
	uint32_t dh_flags;         /* SMB2_DHANDLE_FLAG_PERSISTENT */
	uint8_t create_guid[16];
	/* byte-range locks the server granted on this handle (protected by lock),
	 * taken again after a reopen by path */
	struct smb2_lock_element *locks;
	size_t nlocks, locks_cap;
	/* c->files list (c->later while `later`; pprev NULL: on neither) and the
	 * reconnect or settling thread's hold (protected by c->lock) */
	struct smbc_file *next, **pprev;
	int busy;
	/* smbc_open_later: not created on the server yet (atomic; cleared under lock) */
	int later;
	int64_t later_since;       /* CLOCK_MONOTONIC ns of smbc_open_later */
};

static int64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Set while this thread builds CREATEs that must not settle pending creates
 * (their own, or a reopen's: see smbc_settle). */
static __thread int tls_no_settle;
static void settle(struct smb_client *c, const char *path);

/* How a CREATE asks for a durable handle. */
struct dh_args {
	int mode;                  /* 0 none, DH_REQUEST (DH2Q), DH_RECONNECT (DH2C) */
	uint32_t timeout;          /* DH2Q, ms */
	uint32_t flags;            /* SMB2_DHANDLE_FLAG_PERSISTENT */
	const uint8_t *guid;       /* CreateGuid */
	struct smb2_file_id fid;   /* DH2C: the FileId of the durable open */
};
enum { DH_REQUEST = 1, DH_RECONNECT = 2 };

/* Debug counters: reopens after a reconnect by durable handle and by path. */
static unsigned long n_durable_reopens, n_path_reopens;

struct smbc_io {
	struct smbc_io *next;      /* replay queue */
	int64_t parked_ns;
	int is_write;
	struct smbc_file *f;
	uint64_t off;
	size_t len;
	const uint8_t *data;       /* write: held until the final completion */
	void (*data_free)(void *); /* lets data go (free, or the lender's put) */
	void *data_arg;
	uint64_t gen;              /* generation it was last sent on */
	struct smb_client *c;
	smbc_read_cb rcb;
	smbc_write_cb wcb;
	void *arg;
};

/*
 * CreditCharge for a payload (MS-SMB2 3.1.5.2): one credit per 64 KiB with
 * LARGE_MTU (2.1+), else 1. A reconnect negotiates the same capabilities.
 */
uint16_t smbc_credits_for(struct smb_client *c, size_t len)
{
	if (c->dialect < SMB2_DIALECT_0210 || !(c->server_caps & SMB2_GLOBAL_CAP_LARGE_MTU) || !len)
		return 1;
	return (uint16_t)((len - 1) / 65536 + 1);
}

unsigned long smbc_round_trips(struct smb_client *c)
{
	return __atomic_load_n(&c->round_trips, __ATOMIC_RELAXED);
}

static struct smb_req *mkreq(struct smb_client *c, uint16_t cmd, size_t body_cap)
{
	(void)c;
	return req_new(cmd, body_cap);
}

void smbc_put_chain(struct smb_req *head)
{
	while (head) {
		struct smb_req *nx = head->chain_next;
		req_put(head);
		head = nx;
	}
}

int smbc_status_rc(const struct smb_req *req)
{
	int rc = ntstatus_to_errno(req->status);
	return req->status && !rc ? -EIO : rc;
}

/* Statuses that mean "this session or tree is gone": reconnect and replay. */
static int status_needs_reconnect(uint32_t st)
{
	return st == STATUS_NETWORK_SESSION_EXPIRED || st == STATUS_USER_SESSION_DELETED ||
	       st == STATUS_NETWORK_NAME_DELETED;
}

/* Transport results worth a reconnect (not local failures like -ENOMEM). */
static int rc_needs_reconnect(int rc)
{
	return rc == -ECONNRESET || rc == -ENOTCONN || rc == -ECONNABORTED || rc == -ETIMEDOUT ||
	       rc == -EIO || rc == -EPIPE || rc == -EPROTO || rc == -EBADMSG;
}

static int file_reopen_locked(struct smbc_file *f, uint64_t gen);
static int relock_locked(struct smbc_file *f, uint64_t gen);
static int create_later_locked(struct smbc_file *f);

/*
 * FileId of f valid on generation gen: reopens by path if the file was
 * opened on an older connection. -EAGAIN when the connection moved on again.
 */
static int file_fid_for(struct smbc_file *f, uint64_t gen, struct smb2_file_id *fid)
{
	int rc = 0;
	pthread_mutex_lock(&f->lock);
	if (f->later && (rc = create_later_locked(f))) /* its first use creates it */
		;
	else if (f->err)
		rc = f->err;
	else if (f->locks_lost)
		rc = -EIO;
	else if (f->gen > gen) /* opened (just created) on a newer connection than the caller's */
		rc = -EAGAIN;
	else if (f->gen != gen)
		rc = file_reopen_locked(f, gen);
	else if (f->relock_pending) /* reopened by a call that then lost the connection */
		rc = relock_locked(f, gen);
	if (!rc)
		*fid = f->fid;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int smbc_file_fid(struct smbc_file *f, uint64_t gen, struct smb2_file_id *fid)
{
	return file_fid_for(f, gen, fid);
}

/* Write the FileIds of a chain's requests for this snapshot. */
static int patch_fids(struct smb_req *head, uint64_t gen)
{
	for (struct smb_req *r = head; r; r = r->chain_next) {
		struct smb2_file_id fid;
		int rc;
		if (!r->fid_src)
			continue;
		rc = file_fid_for(r->fid_src, gen, &fid);
		if (rc)
			return rc;
		le64_store(r->buf + SMB2_HDR_SIZE + r->fid_off, fid.persistent);
		le64_store(r->buf + SMB2_HDR_SIZE + r->fid_off + 8, fid.volatile_);
	}
	return 0;
}

static struct smb_req *clone_chain(struct smb_req *head)
{
	struct smb_req *nhead = NULL, **tail = &nhead;
	for (struct smb_req *r = head; r; r = r->chain_next) {
		struct smb_req *n = req_clone(r);
		if (!n) {
			smbc_put_chain(nhead);
			return NULL;
		}
		*tail = n;
		tail = &n->chain_next;
	}
	return nhead;
}

/*
 * Send a chain and wait for it, surviving connection failures. *headp may be
 * replaced by a fresh copy of the chain (the caller reads results from
 * *headp and puts it). Returns the transport result: 0 means every request
 * has a response (check their status).
 */
int smbc_call_chain(struct smb_client *c, struct smb_req **headp)
{
	return smbc_call_chain_gen(c, headp, NULL);
}

/*
 * A request that keeps breaking the connection (a hostile or broken server)
 * is not replayed forever: after this many replays it fails with -EIO.
 */
#define MAX_REPLAYS 8

/* STATUS_INSUFFICIENT_RESOURCES (the server is short of memory or credits and
 * did not run the request): sent again after a pause, this many times. */
#define BUSY_RETRIES 6

static int chain_busy(const struct smb_req *head)
{
	for (const struct smb_req *r = head; r; r = r->chain_next)
		if (r->status == STATUS_INSUFFICIENT_RESOURCES)
			return 1;
	return 0;
}

int smbc_call_chain_gen(struct smb_client *c, struct smb_req **headp, uint64_t *gen_out)
{
	int replays = 0, busy = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct smb_req *head = *headp;
		struct smbc_chan ch;
		int rc, retry = 0;

		rc = smbc_chan_get(c, &ch);
		if (rc)
			return rc;
		for (struct smb_req *r = head; r; r = r->chain_next) {
			r->session_id = ch.session_id;
			r->tree_id = ch.tree_id;
		}
		rc = patch_fids(head, ch.gen);
		if (rc == -EAGAIN) {
			retry = 1;
		} else if (rc) {
			smbc_chan_put(&ch);
			return rc;
		} else {
			__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
			rc = conn_call(ch.conn, head);
			if (rc && rc_needs_reconnect(rc)) {
				retry = 1;
			} else if (!rc) {
				for (struct smb_req *r = head; r; r = r->chain_next) {
					if (status_needs_reconnect(r->status))
						retry = 1;
					/* a FileId from before a reconnect that slipped in */
					if (r->fid_src && (r->status == STATUS_FILE_CLOSED ||
							   r->status == STATUS_INVALID_HANDLE) &&
					    smbc_gen(c) != ch.gen)
						retry = 1;
				}
			}
		}
		smbc_chan_put(&ch);
		if (gen_out)
			*gen_out = ch.gen;
		if (!retry && !rc && chain_busy(head) && busy < BUSY_RETRIES) {
			long ms = 50L << busy; /* 50 ms .. 1.6 s, 3.2 s in all */
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
			struct smb_req *fresh;
			busy++;
			LOG_DBG("%s: server short of resources; trying again",
				smb2_cmd_name(head->command));
			nanosleep(&ts, NULL);
			fresh = clone_chain(head);
			if (!fresh)
				return -ENOMEM;
			smbc_put_chain(head);
			*headp = fresh;
			continue;
		}
		if (!retry)
			return rc;
		if (++replays > MAX_REPLAYS) {
			LOG_WARN("%s failed %d times with the connection; giving up",
				 smb2_cmd_name(head->command), replays);
			return -EIO;
		}
		if (c->opts.soft) { /* soft: bounded from this call's first failure */
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
			    c->opts.soft_timeout_ms)
				return -EIO;
		}
		LOG_DBG("%s: connection lost; waiting to replay", smb2_cmd_name(head->command));
		rc = smbc_wait_reconnect(c, ch.gen);
		if (rc)
			return rc;
		{
			struct smb_req *fresh = clone_chain(head);
			if (!fresh)
				return -ENOMEM;
			smbc_put_chain(head);
			*headp = fresh;
			/*
			 * The server may have run it before the connection went: a
			 * CREATE with a durable handle request is then answered with
			 * the open it made (MS-SMB2 3.3.5.9.10, same CreateGuid)
			 * rather than refused as a name collision.
			 */
			if (fresh->command == SMB2_CREATE && c->dialect >= SMB2_DIALECT_0300)
				for (struct smb_req *r = fresh; r; r = r->chain_next)
					r->flags |= SMB2_FLAGS_REPLAY_OPERATION;
		}
	}
}

static struct smb_req *create_req_dh(struct smb_client *c, const char *path,
				      const struct smbc_open_args *a, const struct dh_args *dh);

struct smb_req *smbc_create_req(struct smb_client *c, const char *path,
				const struct smbc_open_args *a)
{
	return create_req_dh(c, path, a, NULL);
}

/* Durable handles v2 need SMB 3.x (MS-SMB2 3.2.4.3.5). */
static int dh2_supported(struct smb_client *c)
{
	return c->dialect >= SMB2_DIALECT_0300;
}

static struct smb_req *create_req_dh(struct smb_client *c, const char *path,
				      const struct smbc_open_args *a, const struct dh_args *dh)
{
	struct create_req cr;
	uint8_t ctxbuf[256];
	struct wbuf cw = wbuf_init(ctxbuf, sizeof(ctxbuf));
	struct cctx_list l;
	struct smb_req *req;
	struct wbuf w;

	/* whatever this CREATE may see of a file created later must exist first */
	if (!tls_no_settle)
		settle(c, path);
	req = mkreq(c, SMB2_CREATE, 256 + sizeof(ctxbuf) + NAME_CAP);
	if (!req)
		return NULL;
	memset(&cr, 0, sizeof(cr));
	cr.requested_oplock_level = SMB2_OPLOCK_LEVEL_NONE;
	cr.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION;
	cr.desired_access = a->access;
	cr.file_attributes = a->attrs;
	cr.share_access = a->share ? a->share : (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
	cr.create_disposition = a->disposition;
	cr.create_options = a->options;
	cr.name = path;
	cctx_list_init(&l, &cw);
	if (a->lease_key && c->dialect >= SMB2_DIALECT_0210 &&
	    (c->server_caps & SMB2_GLOBAL_CAP_LEASING)) {
		int rc = c->dialect >= SMB2_DIALECT_0300
				 ? cctx_add_lease_v2(&l, a->lease_key, a->lease_state, NULL, 0)
				 : cctx_add_lease_v1(&l, a->lease_key, a->lease_state);
		if (!rc)
			cr.requested_oplock_level = SMB2_OPLOCK_LEVEL_LEASE;
	}
	if (dh && dh->mode == DH_REQUEST)
		(void)cctx_add_dh2q(&l, dh->timeout, dh->flags, dh->guid);
	else if (dh && dh->mode == DH_RECONNECT)
		(void)cctx_add_dh2c(&l, &dh->fid, dh->guid, dh->flags);
	if (cctx_list_len(&l)) {
		cr.contexts = cctx_list_data(&l);
		cr.contexts_len = cctx_list_len(&l);
	}
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (create_req_encode(&w, &cr)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	return req;
}

/* A request on an open file: the FileId is filled in at send time. */
void smbc_set_fid_src(struct smb_req *req, struct smbc_file *f, uint16_t off)
{
	req->fid_src = f;
	req->fid_off = off;
}

struct smb_req *smbc_close_req(struct smb_client *c, const struct smb2_file_id *fid,
				       uint16_t flags)
{
	struct close_req cl = {.flags = flags, .file_id = *fid};
	struct smb_req *req = mkreq(c, SMB2_CLOSE, 32);
	struct wbuf w;
	if (!req)
		return NULL;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (close_req_encode(&w, &cl)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	return req;
}

static void stat_from_times(struct smb_stat *st, uint64_t cr, uint64_t la, uint64_t lw, uint64_t ch)
{
	filetime_to_timespec(cr, &st->btime);
	filetime_to_timespec(la, &st->atime);
	filetime_to_timespec(lw, &st->mtime);
	filetime_to_timespec(ch, &st->ctime);
}

/* Nth request of a chain (0 = head). */
static struct smb_req *nth(struct smb_req *head, int n)
{
	while (head && n--)
		head = head->chain_next;
	return head;
}

/*
 * CREATE(path) + mid + CLOSE as one related compound: one round trip. mid
 * (may be NULL) gets SMB2_FLAGS_RELATED_OPERATIONS and the related FileId.
 * Consumes mid; on success *mid_out (if given) holds the mid request of the
 * chain that got the answer (put it). Returns the first failure: transport,
 * CREATE status, then mid's status (BUFFER_OVERFLOW is not a failure).
 */
int smbc_open_do_close(struct smb_client *c, const char *path, const struct smbc_open_args *a,
			 struct smb_req *mid, struct smb_req **mid_out)
{
	struct smb_req *cr, *cl, *head;
	int rc;

	if (mid_out)
		*mid_out = NULL;
	cr = smbc_create_req(c, path, a);
	cl = smbc_close_req(c, &smbc_related_fid, 0);
	if (!cr || !cl) {
		req_put(cr);
		req_put(cl);
		req_put(mid);
		return -ENOMEM;
	}
	cl->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	if (mid) {
		mid->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
		mid->chain_next = cl;
		cr->chain_next = mid;
	} else {
		cr->chain_next = cl;
	}
	head = cr;
	rc = smbc_call_chain(c, &head);
	mid = mid ? nth(head, 1) : NULL;
	if (!rc && head->status != STATUS_SUCCESS)
		rc = smbc_status_rc(head);
	if (!rc && mid && mid->status != STATUS_SUCCESS && mid->status != STATUS_BUFFER_OVERFLOW)
		rc = smbc_status_rc(mid);
	if (!rc && mid && mid_out) {
		req_get(mid);
		*mid_out = mid;
	}
	smbc_put_chain(head);
	return rc;
}

struct smb_req *smbc_query_info_req(struct smb_client *c, const struct smb2_file_id *fid,
					uint8_t type, uint8_t cls, uint32_t out_len)
{
	struct query_info_req qi;
	struct smb_req *q = mkreq(c, SMB2_QUERY_INFO, 64);
	struct wbuf w;
	if (!q)
		return NULL;
	memset(&qi, 0, sizeof(qi));
	qi.info_type = type;
	qi.info_class = cls;
	qi.output_buffer_length = out_len;
	qi.file_id = *fid;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (query_info_req_encode(&w, &qi)) {
		req_put(q);
		return NULL;
	}
	req_set_body_len(q, w.off);
	return q;
}

struct smb_req *smbc_set_info_req(struct smb_client *c, const struct smb2_file_id *fid,
				      uint8_t cls, const uint8_t *buf, uint32_t len)
{
	struct set_info_req si;
	struct smb_req *q = mkreq(c, SMB2_SET_INFO, 64 + len);
	struct wbuf w;
	if (!q)
		return NULL;
	memset(&si, 0, sizeof(si));
	si.info_type = SMB2_0_INFO_FILE;
	si.info_class = cls;
	si.file_id = *fid;
	si.buffer = buf;
	si.buffer_len = len;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (set_info_req_encode(&w, &si)) {
		req_put(q);
		return NULL;
	}
	req_set_body_len(q, w.off);
	return q;
}

/* Fill st from a QUERY_INFO(FileAllInformation) response. */
int smbc_stat_from_all(const struct smb_req *q, struct smb_stat *st)
{
	struct query_info_resp qr;
	struct fscc_all_info all;

	if (query_info_resp_decode(q->resp, q->resp_len, &qr) ||
	    fscc_all_decode(qr.buffer, qr.buffer_len, &all)) {
		LOG_WARN("malformed FileAllInformation from server");
		return -EIO;
	}
	memset(st, 0, sizeof(*st));
	st->ino = all.index_number;
	st->size = all.standard.end_of_file;
	st->alloc = all.standard.allocation_size;
	st->attrs = all.basic.attributes;
	st->nlink = all.standard.number_of_links;
	stat_from_times(st, all.basic.creation, all.basic.last_access, all.basic.last_write,
			all.basic.change);
	return 0;
}

/* Open path with a, query FileAllInformation, close: one round trip. */
static int open_stat_close(struct smb_client *c, const char *path, const struct smbc_open_args *a,
			   struct smb_stat *st)
{
	struct smb_req *q = smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILE, FileAllInformation,
					     QUERY_INFO_OUT);
	int rc;
	if (!q)
		return -ENOMEM;
	rc = smbc_open_do_close(c, path, a, q, &q);
	if (!rc && st)
		rc = smbc_stat_from_all(q, st);
	req_put(q);
	return rc;
}

int smbc_stat(struct smb_client *c, const char *path, struct smb_stat *st)
{
	/* lstat: a symlink reparse point is stat'ed itself (else STOPPED_ON_SYMLINK) */
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN, .options = FILE_OPEN_REPARSE_POINT};
	return open_stat_close(c, path, &a, st);
}

int smbc_mkdir(struct smb_client *c, const char *path, struct smb_stat *st)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_CREATE,
				   .options = FILE_DIRECTORY_FILE,
				   .attrs = FILE_ATTRIBUTE_DIRECTORY};
	return open_stat_close(c, path, &a, st);
}

int smbc_set_info_path(struct smb_client *c, const char *path, uint32_t access, uint8_t cls,
		       const uint8_t *buf, uint32_t len)
{
	struct smbc_open_args a = {.access = access | SYNCHRONIZE, .disposition = FILE_OPEN,
				   .options = FILE_OPEN_REPARSE_POINT};
	struct smb_req *q = smbc_set_info_req(c, &smbc_related_fid, cls, buf, len);
	if (!q)
		return -ENOMEM;
	return smbc_open_do_close(c, path, &a, q, NULL);
}

/* One request on an open file; returns transport or status failure. *out keeps the answer. */
int smbc_call_on_file(struct smb_client *c, struct smb_req *req, struct smb_req **out,
			int ok_overflow)
{
	int rc = smbc_call_chain(c, &req);
	if (!rc && req->status != STATUS_SUCCESS &&
	    !(ok_overflow && req->status == STATUS_BUFFER_OVERFLOW))
		rc = smbc_status_rc(req);
	if (out && !rc)
		*out = req;
	else
		req_put(req);
	return rc;
}

int smbc_set_info_fid(struct smb_client *c, struct smbc_file *f, uint8_t cls,
		      const uint8_t *buf, uint32_t len)
{
	struct smb_req *q = smbc_set_info_req(c, &smbc_related_fid, cls, buf, len);
	if (!q)
		return -ENOMEM;
	smbc_set_fid_src(q, f, FID_OFF_SET_INFO);
	return smbc_call_on_file(c, q, NULL, 0);
}

int smbc_query_fid(struct smb_client *c, struct smbc_file *f, struct smb_stat *st)
{
	struct smb_req *q = smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILE, FileAllInformation,
					     QUERY_INFO_OUT);
	int rc;
	if (!q)
		return -ENOMEM;
	smbc_set_fid_src(q, f, FID_OFF_QUERY_INFO);
	rc = smbc_call_on_file(c, q, &q, 1);
	if (!rc) {
		rc = smbc_stat_from_all(q, st);
		req_put(q);
	}
	return rc;
}

int smbc_delete(struct smb_client *c, const char *path, int is_dir)
{
	struct smbc_open_args a = {.access = DELETE | SYNCHRONIZE, .disposition = FILE_OPEN,
				   .options = (is_dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE) |
					      FILE_OPEN_REPARSE_POINT};
	uint8_t buf[8];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb_req *q;

	if (fscc_disposition_encode(&w, 1))
		return -EIO;
	q = smbc_set_info_req(c, &smbc_related_fid, FileDispositionInformation, buf, (uint32_t)w.off);
	if (!q)
		return -ENOMEM;
	return smbc_open_do_close(c, path, &a, q, NULL);
}

int smbc_rename(struct smb_client *c, const char *from, const char *to, int replace)
{
	uint64_t gen;
	int rc;
	struct smbc_open_args a = {.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN, .options = FILE_OPEN_REPARSE_POINT};
	uint8_t buf[24 + NAME_CAP];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb_req *q;

	if (fscc_rename_encode(&w, replace, to))
		return -ENAMETOOLONG;
	smbc_settle(c, to); /* a file created later under the target name is replaced */
	q = smbc_set_info_req(c, &smbc_related_fid, FileRenameInformation, buf, (uint32_t)w.off);
	if (!q)
		return -ENOMEM;
	gen = smbc_gen(c);
	rc = smbc_open_do_close(c, from, &a, q, NULL);
	if (rc == -ENOENT && smbc_gen(c) != gen) {
		/* The connection broke under the rename and it was sent again: if
		 * the first one took effect, the source is gone and the target is
		 * there. A rename is not idempotent; this is what makes it look so. */
		struct smb_stat st;
		if (smbc_stat(c, from, &st) == -ENOENT && smbc_stat(c, to, &st) == 0) {
			LOG_DBG("rename %s -> %s done before the reconnect", from, to);
			rc = 0;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ open files */

/* CREATE path with a; on success *fid and optionally the attributes. One round trip. */
/* The lease state granted in a CREATE response (0 if none). */
static uint32_t granted_lease(const struct create_resp *resp, const uint8_t *key)
{
	struct create_ctx cx;
	struct lease_ctx lc;
	if (resp->oplock_level != SMB2_OPLOCK_LEVEL_LEASE || !key ||
	    cctx_find(resp->contexts, resp->contexts_len, "RqLs", 4, &cx) != 1 ||
	    cctx_decode_lease(&cx, &lc) || memcmp(lc.key, key, 16))
		return 0;
	return lc.state;
}

/* What an open got: the handle, on which connection, its lease and durability. */
struct create_out {
	struct smb2_file_id fid;
	uint64_t gen;
	uint32_t lease;
	int durable;               /* the response carried a DH2Q context */
	uint32_t dh_flags;
};

/* The answer to a CREATE sent with a (and dh) on generation gen: o and resp, or -errno. */
static int create_answer(const struct smb_req *req, const struct smbc_open_args *a,
			 const struct dh_args *dh, uint64_t gen, struct create_out *o,
			 struct create_resp *resp)
{
	struct create_ctx cx;

	if (req->status != STATUS_SUCCESS)
		return smbc_status_rc(req);
	if (create_resp_decode(req->resp, req->resp_len, resp))
		return -EIO;
	o->fid = resp->file_id;
	o->gen = gen;
	o->lease = granted_lease(resp, a->lease_key);
	o->durable = 0;
	o->dh_flags = 0;
	if (dh && dh->mode == DH_REQUEST &&
	    cctx_find(resp->contexts, resp->contexts_len, "DH2Q", 4, &cx) == 1) {
		uint32_t timeout;
		if (!cctx_decode_dh2q(&cx, &timeout, &o->dh_flags))
			o->durable = 1;
	} else if (dh && dh->mode == DH_RECONNECT) {
		o->durable = 1; /* the reconnected open stays durable */
		o->dh_flags = dh->flags;
	}
	return 0;
}

static int do_create(struct smb_client *c, const char *path, const struct smbc_open_args *a,
		     const struct dh_args *dh, struct create_out *o, struct smb_stat *st,
		     uint32_t *action)
{
	struct create_resp resp;
	struct smb_req *req = create_req_dh(c, path, a, dh), *q = NULL;
	uint64_t gen;
	int rc;

	if (!req)
		return -ENOMEM;
	if (st) {
		/* attributes (with the inode number) in the same round trip */
		q = smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILE, FileAllInformation,
					QUERY_INFO_OUT);
		if (!q) {
			req_put(req);
			return -ENOMEM;
		}
		q->flags = SMB2_FLAGS_RELATED_OPERATIONS;
		req->chain_next = q;
	}
	rc = smbc_call_chain_gen(c, &req, &gen);
	if (!rc)
		rc = create_answer(req, a, dh, gen, o, &resp);
	if (rc)
		goto out;
	if (st) {
		q = req->chain_next;
		if (q->status == STATUS_SUCCESS || q->status == STATUS_BUFFER_OVERFLOW)
			rc = smbc_stat_from_all(q, st);
		else
			rc = -EIO;
		if (rc) { /* the file is open: fall back to what CREATE told us */
			memset(st, 0, sizeof(*st));
			st->size = resp.end_of_file;
			st->alloc = resp.allocation_size;
			st->attrs = resp.file_attributes;
			st->nlink = 1;
			stat_from_times(st, resp.creation_time, resp.last_access_time,
					resp.last_write_time, resp.change_time);
			rc = 0;
		}
	}
	if (action)
		*action = resp.create_action;
out:
	smbc_put_chain(req);
	return rc;
}

/* A new CreateGuid and durable-handle request for an open of f (lock held). */
static void dh_request(struct smb_client *c, struct smbc_file *f, struct dh_args *dh)
{
	memset(dh, 0, sizeof(*dh));
	if (!dh2_supported(c) || !f->args.lease_key)
		return; /* servers grant durability only with a handle lease (or batch oplock) */
	if (getrandom(f->create_guid, sizeof(f->create_guid), 0) != sizeof(f->create_guid))
		return;
	dh->mode = DH_REQUEST;
	dh->timeout = c->opts.handle_timeout_ms;
	dh->flags = (c->share_caps & SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY)
			    ? SMB2_DHANDLE_FLAG_PERSISTENT : 0;
	dh->guid = f->create_guid;
}

/* Statuses of a CREATE that mean "try again later", not "this file is gone". */
static int reopen_retryable(int rc)
{
	return rc == -EAGAIN || rc_needs_reconnect(rc);
}

/*
 * Lock held, f just reopened by path on generation gen: take its byte-range
 * locks again. One the server refuses (someone took the range meanwhile)
 * makes the handle fail I/O from now on, as cifs.ko does. -EAGAIN when the
 * connection went away in between.
 */
static int relock_locked(struct smbc_file *f, uint64_t gen)
{
	struct smb_client *c = f->c;
	size_t i;

	for (i = 0; i < f->nlocks; i++) {
		struct smb2_lock_element e = f->locks[i];
		struct lock_req lr = {.file_id = f->fid, .locks = &e, .lock_count = 1};
		struct smb_req *q = req_new(SMB2_LOCK, SMB2_LOCK_REQ_LEN(1));
		struct wbuf w;
		uint64_t got;
		int rc;

		if (!q)
			return -ENOMEM;
		e.flags |= SMB2_LOCKFLAG_FAIL_IMMEDIATELY;
		w = wbuf_init(req_body(q), req_body_cap(q));
		if (lock_req_encode(&w, &lr)) {
			req_put(q);
			return -EIO;
		}
		req_set_body_len(q, w.off);
		rc = smbc_call_chain_gen(c, &q, &got);
		if (!rc && got != gen)
			rc = -EAGAIN;
		else if (!rc && q->status != STATUS_SUCCESS)
			rc = q->status == STATUS_LOCK_NOT_GRANTED ||
					     q->status == STATUS_FILE_LOCK_CONFLICT
				     ? -EDEADLK : smbc_status_rc(q);
		req_put(q);
		if (reopen_retryable(rc))
			return -EAGAIN;
		if (rc) {
			LOG_WARN("%s: lost the lock on bytes %llu+%llu over a reconnect (%s); "
				 "I/O on this handle fails from now on", f->path,
				 (unsigned long long)e.offset, (unsigned long long)e.length,
				 rc == -EDEADLK ? "another client holds it" : strerror(-rc));
			f->locks_lost = 1;
			f->relock_pending = 0;
			return 0;
		}
	}
	f->relock_pending = 0;
	if (f->nlocks)
		LOG_DBG("%s: %zu byte-range locks taken again after reconnect", f->path, f->nlocks);
	return 0;
}

/* Lock held. Reopen f on the current connection: its durable handle if it
 * has one, else by path. */
/*
 * After a reopen: what the old lease let the layers above cache may be stale
 * if the new lease grants less, or if the file was opened afresh by path
 * (anyone may have changed it meanwhile). Tell them as a lease break would
 * (no acknowledgment: the server broke nothing on this handle).
 */
static void reopen_lease_changed(struct smbc_file *f, uint32_t old, uint32_t now, int by_path)
{
	struct smb_client *c = f->c;
	smbc_lease_break_fn fn;
	void *arg;

	if (!f->args.lease_key || !(by_path ? old : (old & ~now)))
		return;
	pthread_mutex_lock(&c->lock);
	fn = (smbc_lease_break_fn)c->lease_fn;
	arg = c->lease_arg;
	pthread_mutex_unlock(&c->lock);
	if (fn)
		(void)fn(arg, f->lease_key, by_path ? 0 : now, 0);
}

static int reopen_locked(struct smbc_file *f, uint64_t gen)
{
	uint32_t old_lease = __atomic_load_n(&f->lease, __ATOMIC_RELAXED);
	struct smb_client *c = f->c;
	struct smbc_open_args a = f->args;
	struct create_out o;
	struct dh_args dh;
	int rc;

	/* Whatever the first open did (create, truncate), a reopen only opens. */
	a.disposition = FILE_OPEN;
	a.options &= ~(uint32_t)FILE_DELETE_ON_CLOSE;
	if (f->args.lease_key) {
		a.lease_key = f->lease_key; /* the same key: the lease comes back too */
		a.lease_state = f->args.lease_state;
	}
	if (f->durable && dh2_supported(c)) {
		memset(&dh, 0, sizeof(dh));
		dh.mode = DH_RECONNECT;
		dh.fid = f->fid;
		dh.guid = f->create_guid;
		dh.flags = f->dh_flags;
		/*
		 * Not found may only mean the server has not yet seen the old
		 * connection go (with multichannel, another channel of the old
		 * session may still be up): it keeps the open connected until
		 * then. Reopening by path meanwhile would leave the old open
		 * behind, durable and holding our lease, blocking other opens of
		 * the file until the server gives up on it. Ask again a few times.
		 */
		for (int tries = 0;; tries++) {
			rc = do_create(c, f->path, &a, &dh, &o, NULL, NULL);
			if (rc != -ENOENT || tries >= 10)
				break;
			usleep(200 * 1000);
		}
		if (reopen_retryable(rc))
			return -EAGAIN;
		if (!rc) {
			f->fid = o.fid;
			f->gen = o.gen;
			__atomic_store_n(&f->lease, o.lease, __ATOMIC_RELAXED);
			reopen_lease_changed(f, old_lease, o.lease, 0);
			__atomic_add_fetch(&n_durable_reopens, 1, __ATOMIC_RELAXED);
			LOG_DBG("reopened %s after reconnect with its durable handle "
				"(locks and delete-pending kept; lease 0x%x)", f->path, o.lease);
			if (o.gen != gen)
				return -EAGAIN;
			return f->relock_pending ? relock_locked(f, gen) : 0;
		}
		LOG_DBG("server refused the durable handle of %s (%s); reopening by path",
			f->path, strerror(-rc));
		f->durable = 0;
	}
	dh_request(c, f, &dh);
	rc = do_create(c, f->path, &a, &dh, &o, NULL, NULL);
	if (rc) {
		LOG_WARN("cannot reopen a file after reconnecting: %s", strerror(-rc));
		if (reopen_retryable(rc))
			return -EAGAIN;
		f->err = -EIO;
		return -EIO;
	}
	f->fid = o.fid;
	f->gen = o.gen;
	f->durable = o.durable;
	f->dh_flags = o.dh_flags;
	__atomic_store_n(&f->lease, o.lease, __ATOMIC_RELAXED);
	reopen_lease_changed(f, old_lease, o.lease, 1);
	__atomic_add_fetch(&n_path_reopens, 1, __ATOMIC_RELAXED);
	LOG_DBG("reopened %s after reconnect by path (lease 0x%x, durable %d)", f->path, o.lease,
		o.durable);
	f->relock_pending = f->nlocks > 0;
	if (o.gen != gen)
		return -EAGAIN;
	return relock_locked(f, gen);
}

/*
 * A reopen only finds what already exists: it must not wait for creates
 * pending elsewhere (another thread may hold one of those files' locks while
 * it waits for this reconnect).
 */
static int file_reopen_locked(struct smbc_file *f, uint64_t gen)
{
	int rc;
	tls_no_settle++;
	rc = reopen_locked(f, gen);
	tls_no_settle--;
	return rc;
}

/* A file object for path, not open yet; NULL when memory is short. */
static struct smbc_file *file_alloc(struct smb_client *c, const char *path,
				    const struct smbc_open_args *a)
{
	struct smbc_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->c = c;
	f->args = *a;
	if (a->lease_key) {
		memcpy(f->lease_key, a->lease_key, 16);
		f->args.lease_key = f->lease_key; /* the caller's buffer need not outlive the open */
	}
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	/* Servers make an open durable only with a handle lease (MS-SMB2
	 * 3.3.5.9.10, Samba): ask for one. A break of it is acknowledged like
	 * any other; the open just stops being durable then. */
	if (f->args.lease_key && dh2_supported(c))
		f->args.lease_state |= SMB2_LEASE_HANDLE_CACHING;
	return f;
}

static void file_destroy(struct smbc_file *f)
{
	pthread_mutex_destroy(&f->lock);
	free(f->locks);
	free(f->path);
	free(f);
}

static uint64_t break_seq(struct smb_client *c)
{
	uint64_t seq;
	pthread_mutex_lock(&c->lock);
	seq = c->break_seq;
	pthread_mutex_unlock(&c->lock);
	return seq;
}

/* c->lock held: put f on list *head. */
static void list_on(struct smbc_file *f, struct smbc_file **head)
{
	f->next = *head;
	if (f->next)
		f->next->pprev = &f->next;
	f->pprev = head;
	*head = f;
}

/* c->lock held: take f off whichever list it is on. */
static void list_off(struct smbc_file *f)
{
	if (!f->pprev)
		return;
	*f->pprev = f->next;
	if (f->next)
		f->next->pprev = f->pprev;
	f->pprev = NULL;
	f->next = NULL;
}

/* f's CREATE succeeded (o): it is open; list it for reconnects. seq: break_seq before. */
static void file_opened(struct smbc_file *f, const struct create_out *o, uint64_t seq)
{
	struct smb_client *c = f->c;

	f->fid = o->fid;
	f->gen = o->gen;
	f->lease = o->lease;
	f->durable = o->durable;
	f->dh_flags = o->dh_flags;
	LOG_TRACE("opened %s: lease 0x%x (asked 0x%x), durable %d", f->path, o->lease,
		  f->args.lease_state, o->durable);
	pthread_mutex_lock(&c->lock);
	/* a break of our lease that came before we were listed (smbc_on_break) */
	for (int i = 0; f->args.lease_key && i < 16; i++)
		if (c->breaks[i].seq > seq && memcmp(c->breaks[i].key, f->lease_key, 16) == 0)
			f->lease &= c->breaks[i].state;
	if (f->later) {
		__atomic_store_n(&f->later, 0, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&c->nlater, 1, __ATOMIC_RELAXED);
	}
	list_off(f);
	list_on(f, &c->files);
	pthread_mutex_unlock(&c->lock);
}

int smbc_open(struct smb_client *c, const char *path, const struct smbc_open_args *a,
	      struct smbc_file **out, struct smb_stat *st, uint32_t *action)
{
	struct smbc_file *f = file_alloc(c, path, a);
	struct create_out o;
	struct dh_args dh;
	uint64_t seq;
	int rc;

	if (!f)
		return -ENOMEM;
	seq = break_seq(c);
	dh_request(c, f, &dh);
	rc = do_create(c, path, &f->args, &dh, &o, st, action);
	if (rc) {
		file_destroy(f);
		return rc;
	}
	file_opened(f, &o, seq);
	*out = f;
	return 0;
}

/* ------------------------------------------------------------------ creates done later */

/*
 * smbc_open_later: a new file the server hears of only when it is first
 * used, ideally in one compound with its data (smbc_write_set_info). Until
 * then nobody but this client can see it, so it holds whatever lease it
 * asks for. Whatever could observe it on the server first creates it: a use
 * of its handle (file_fid_for), or a CREATE by a path at, above or beside it
 * (settle, from create_req_dh).
 */
int smbc_open_later(struct smb_client *c, const char *path, const struct smbc_open_args *a,
		    struct smbc_file **out)
{
	struct smbc_file *f = file_alloc(c, path, a);

	if (!f)
		return -ENOMEM;
	f->later = 1;
	f->later_since = mono_now_ns();
	f->lease = f->args.lease_key ? f->args.lease_state : 0;
	pthread_mutex_lock(&c->lock);
	list_on(f, &c->later);
	__atomic_add_fetch(&c->nlater, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->lock);
	*out = f;
	return 0;
}

int smbc_file_later(struct smbc_file *f)
{
	return __atomic_load_n(&f->later, __ATOMIC_RELAXED);
}

int smbc_file_error(struct smbc_file *f)
{
	int err;
	pthread_mutex_lock(&f->lock);
	err = f->err;
	pthread_mutex_unlock(&f->lock);
	return err;
}

int smbc_leases_on(struct smb_client *c)
{
	return c->opts.leases && c->dialect >= SMB2_DIALECT_0210 &&
	       (c->server_caps & SMB2_GLOBAL_CAP_LEASING);
}

/*
 * A create that failed without the server deciding (interrupted, the
 * connection gave out, memory): the file still waits to be created.
 */
static int create_may_retry(int rc)
{
	return rc == -EINTR || rc == -EIO || rc == -ENOMEM || rc == -ETIMEDOUT ||
	       rc == -EAGAIN || rc == -ENOTCONN || rc == -ECONNRESET;
}

/*
 * f->lock held, f->later: the CREATE of f (rc, o) was answered. On success f
 * is an open file like any other; told a lesser lease than it assumed, the
 * layers above hear it as a lease break. On failure f is lost: every use
 * returns the error (-EEXIST: someone else made the name meanwhile).
 */
static int created_later(struct smbc_file *f, int rc, const struct create_out *o, uint64_t seq)
{
	struct smb_client *c = f->c;
	uint32_t assumed = f->lease;

	if (rc && create_may_retry(rc)) {
		LOG_DBG("creating %s: %s; trying again at its next use", f->path, strerror(-rc));
		return rc;
	}
	if (rc) {
		LOG_DBG("creating %s failed: %s", f->path, strerror(-rc));
		f->err = rc;
		pthread_mutex_lock(&c->lock);
		__atomic_store_n(&f->later, 0, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&c->nlater, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&f->lease, 0, __ATOMIC_RELAXED);
		list_off(f);
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	file_opened(f, o, seq);
	reopen_lease_changed(f, assumed, f->lease, 0);
	return 0;
}

/* f->lock held, f->later: create it now (one round trip). */
static int create_later_locked(struct smbc_file *f)
{
	struct smb_client *c = f->c;
	uint64_t seq = break_seq(c);
	struct create_out o;
	struct dh_args dh;
	int rc;

	dh_request(c, f, &dh);
	tls_no_settle++;
	rc = do_create(c, f->path, &f->args, &dh, &o, NULL, NULL);
	tls_no_settle--;
	return created_later(f, rc, &o, seq);
}

int smbc_create_now(struct smb_client *c, struct smbc_file *f)
{
	int rc = 0;
	(void)c;
	pthread_mutex_lock(&f->lock);
	if (f->later)
		rc = create_later_locked(f);
	if (!rc)
		rc = f->err;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * Would a CREATE of path see fpath: the same name (in any case), or a name
 * below it (a listing, a rename or delete of a directory above)? A name
 * beside it would not: a rename or link onto fpath settles its target itself.
 */
static int observes(const char *path, const char *fpath)
{
	size_t n = strlen(path);

	return !n || (!strncasecmp(path, fpath, n) && (fpath[n] == '/' || !fpath[n]));
}

/*
 * c->lock held: the files on list head, each held (busy: smbc_close waits)
 * until release_files; as many as memory allows (*n of them).
 */
static struct smbc_file **hold_files(struct smbc_file *head, size_t *n)
{
	struct smbc_file **list = NULL;
	size_t cap = 0;

	*n = 0;
	for (struct smbc_file *f = head; f; f = f->next) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct smbc_file **nl = realloc(list, ncap * sizeof(*nl));
			if (!nl)
				break;
			list = nl;
			cap = ncap;
		}
		f->busy++;
		list[(*n)++] = f;
	}
	return list;
}

static void release_files(struct smb_client *c, struct smbc_file **list, size_t n)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++)
		list[i]->busy--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(list);
}

/* Create the files pending creation for which match(f, arg) says so (f->lock held). */
static void create_matching(struct smb_client *c, int (*match)(struct smbc_file *, const void *),
			    const void *arg)
{
	const volatile int *cancel = smbc_get_cancel();
	struct smbc_file **list;
	size_t n;

	if (!__atomic_load_n(&c->nlater, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&c->lock);
	list = hold_files(c->later, &n); /* short of memory: the rest at their first use */
	pthread_mutex_unlock(&c->lock);
	/* other callers' files: an interrupt of this caller must not fail them */
	smbc_set_cancel(NULL);
	for (size_t i = 0; i < n; i++) {
		struct smbc_file *f = list[i];
		pthread_mutex_lock(&f->lock);
		if (f->later && match(f, arg))
			(void)create_later_locked(f);
		pthread_mutex_unlock(&f->lock);
	}
	smbc_set_cancel(cancel);
	release_files(c, list, n);
}

static int seen_by(struct smbc_file *f, const void *path)
{
	return observes(path, f->path);
}

/*
 * Before a CREATE of path: create the files pending creation that it could
 * observe, so the server's answer (a listing, ENOENT, a rename over) agrees
 * with what this client already told its callers.
 */
static void settle(struct smb_client *c, const char *path)
{
	create_matching(c, seen_by, path);
}

void smbc_settle(struct smb_client *c, const char *path)
{
	if (!tls_no_settle)
		settle(c, path);
}

static int older_than(struct smbc_file *f, const void *before_ns)
{
	return f->later_since <= *(const int64_t *)before_ns;
}

void smbc_create_due(struct smb_client *c, double age)
{
	int64_t before = mono_now_ns() - (int64_t)(age * 1e9);
	create_matching(c, older_than, &before);
}

/*
 * Reconnect thread, right after a reconnect: reopen every open file now
 * (durable handles time out on the server if we wait for the next use).
 * Stops early when the connection goes away again.
 */
void smbc_reopen_files(struct smb_client *c)
{
	struct smbc_file **list;
	size_t n;
	uint64_t gen;

	pthread_mutex_lock(&c->lock);
	gen = c->gen;
	list = hold_files(c->files, &n); /* short of memory: the rest reopen on first use */
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		struct smb2_file_id fid;
		int stopping;
		pthread_mutex_lock(&c->lock);
		stopping = c->stopping;
		pthread_mutex_unlock(&c->lock);
		if (stopping)
			break;
		if (file_fid_for(list[i], gen, &fid) == -EAGAIN) {
			LOG_DBG("connection lost again while reopening files");
			break;
		}
	}
	release_files(c, list, n);
	if (n)
		LOG_DBG("reopened %zu open files after reconnect (durable %lu, by path %lu so far)",
			n, __atomic_load_n(&n_durable_reopens, __ATOMIC_RELAXED),
			__atomic_load_n(&n_path_reopens, __ATOMIC_RELAXED));
}

/* Record (or, for an unlock, forget) the locks the server just granted on f. */
void smbc_file_note_locks(struct smbc_file *f, const struct smb2_lock_element *e, uint16_t n)
{
	pthread_mutex_lock(&f->lock);
	for (uint16_t i = 0; i < n; i++) {
		if (e[i].flags & SMB2_LOCKFLAG_UNLOCK) {
			for (size_t k = 0; k < f->nlocks; k++) {
				if (f->locks[k].offset == e[i].offset &&
				    f->locks[k].length == e[i].length) {
					f->locks[k] = f->locks[--f->nlocks];
					break;
				}
			}
			continue;
		}
		if (f->nlocks == f->locks_cap) {
			size_t ncap = f->locks_cap ? f->locks_cap * 2 : 4;
			struct smb2_lock_element *nl = realloc(f->locks, ncap * sizeof(*nl));
			if (!nl) {
				LOG_WARN("%s: out of memory recording a lock; it is not taken "
					 "again after a reconnect", f->path);
				continue;
			}
			f->locks = nl;
			f->locks_cap = ncap;
		}
		f->locks[f->nlocks] = e[i];
		f->locks[f->nlocks].flags &= ~(uint32_t)SMB2_LOCKFLAG_FAIL_IMMEDIATELY;
		f->nlocks++;
	}
	pthread_mutex_unlock(&f->lock);
}

uint32_t smbc_file_lease(struct smbc_file *f)
{
	/*
	 * A handle of an older connection holds no lease until it is reopened:
	 * the server may have broken it meanwhile, with nobody to tell. A file
	 * not created yet holds what it asked for.
	 */
	if (!__atomic_load_n(&f->later, __ATOMIC_RELAXED) && __atomic_load_n(&f->gen, __ATOMIC_RELAXED) != smbc_gen(f->c))
		return 0;
	return __atomic_load_n(&f->lease, __ATOMIC_RELAXED);
}

void smbc_file_set_lease(struct smbc_file *f, uint32_t state)
{
	__atomic_store_n(&f->lease, state, __ATOMIC_RELAXED);
}

int smbc_file_set_path(struct smbc_file *f, const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	free(f->path);
	f->path = p;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int smbc_close(struct smb_client *c, struct smbc_file *f)
{
	struct smbc_chan ch;
	struct smb_req *req;
	int rc = 0;

	if (!f)
		return 0;
	/* a file created later that nothing used: its callers were told it exists */
	if (smbc_file_later(f) && smbc_create_now(c, f))
		LOG_WARN("%s could not be created on the server", f->path);
	pthread_mutex_lock(&c->lock);
	list_off(f);
	while (f->busy) /* the reconnect thread is reopening it */
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&f->lock);
	/* A handle from an older connection is already gone on the server. */
	if (!f->err && !smbc_chan_get(c, &ch)) {
		/* A durable handle outlives the old connection on the server (with
		 * its locks) until it times out: take it back to close it. */
		if (ch.gen != f->gen && f->durable && file_reopen_locked(f, ch.gen))
			LOG_DBG("could not take back the durable handle of %s to close it",
				f->path);
		if (ch.gen == f->gen && (req = smbc_close_req(c, &f->fid, 0))) {
			req->session_id = ch.session_id;
			req->tree_id = ch.tree_id;
			__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
			rc = conn_call(ch.conn, req);
			if (!rc && req->status != STATUS_SUCCESS)
				rc = smbc_status_rc(req);
			else if (rc_needs_reconnect(rc))
				rc = 0; /* the connection took the handle with it */
			req_put(req);
		}
		smbc_chan_put(&ch);
	}
	pthread_mutex_unlock(&f->lock);
	file_destroy(f);
	return rc;
}

static uint32_t query_dir_out(const struct smb_client *c)
{
	if (c->max_transact && c->max_transact < QUERY_DIR_OUT_MAX)
		return c->max_transact > QUERY_DIR_OUT_MIN ? c->max_transact : QUERY_DIR_OUT_MIN;
	return QUERY_DIR_OUT_MAX;
}

/* (one_trip: a background fetch, which gives up on more than 64 KiB twice) */
static struct smb_req *query_dir_build(struct smb_client *c, const struct smb2_file_id *fid,
				       uint8_t flags, int one_trip)
{
	struct query_dir_req qd;
	struct smb_req *req = mkreq(c, SMB2_QUERY_DIRECTORY, 64);
	struct wbuf w;
	if (!req)
		return NULL;
	memset(&qd, 0, sizeof(qd));
	qd.info_class = FileIdBothDirectoryInformation;
	qd.flags = flags;
	qd.file_id = *fid;
	qd.output_buffer_length = one_trip ? QUERY_DIR_OUT_MIN : query_dir_out(c);
	qd.pattern = "*";
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (query_dir_req_encode(&w, &qd)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = smbc_credits_for(c, qd.output_buffer_length);
	return req;
}

/* Feed one QUERY_DIRECTORY response to fn. Returns 0, 1 at the end, or -errno. */
static int dir_batch(struct smb_req *req, smbc_dirent_fn fn, void *arg, int *nent)
{
	struct query_dir_resp qr;
	struct fscc_dir_iter it;
	struct fscc_dirent de;
	char name[1024];
	int rc;

	if (req->status == STATUS_NO_MORE_FILES)
		return 1;
	if (req->status != STATUS_SUCCESS)
		return smbc_status_rc(req);
	if (query_dir_resp_decode(req->resp, req->resp_len, &qr) ||
	    fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, qr.buffer, qr.buffer_len))
		return -EIO;
	while ((rc = fscc_dir_iter_next(&it, &de)) == 1) {
		struct smb_stat st;
		size_t nlen;
		if (utf16le_to_utf8(de.name16, de.name16_len, name, sizeof(name), &nlen)) {
			LOG_DBG("skipping a directory entry whose name is not valid UTF-16");
			continue;
		}
		if (!nlen || memchr(name, '/', nlen)) {
			LOG_DBG("skipping a directory entry with a name POSIX cannot hold");
			continue;
		}
		memset(&st, 0, sizeof(st));
		st.ino = de.file_index_id;
		st.size = de.end_of_file;
		st.alloc = de.allocation_size;
		st.attrs = de.attributes;
		st.nlink = 1;
		stat_from_times(&st, de.creation, de.last_access, de.last_write, de.change);
		(*nent)++;
		rc = fn(name, &st, arg);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return -EIO;
	return 0;
}

static void close_done(struct smb_req *req, void *arg)
{
	(void)arg;
	req_put(req);
}

/*
 * CLOSE a directory handle of generation gen without waiting for it: the
 * listing is complete, so nobody needs the answer (a CLOSE cannot fail in a
 * way the caller could act on). It goes out on the same connection as every
 * metadata request after it, so the server sees it first. Not counted as a
 * round trip: it is off the critical path. A handle of a connection that
 * died went with it.
 */
static void close_async(struct smb_client *c, const struct smb2_file_id *fid, uint64_t gen)
{
	struct smbc_chan ch;
	struct smb_req *cl;

	if (smbc_chan_get(c, &ch))
		return;
	if (ch.gen == gen && (cl = smbc_close_req(c, fid, 0))) {
		cl->session_id = ch.session_id;
		cl->tree_id = ch.tree_id;
		cl->done = close_done;
		if (conn_submit(ch.conn, cl))
			req_put(cl);
	}
	smbc_chan_put(&ch);
}

/*
 * One pass over the directory; -EAGAIN when the connection changed under it.
 *
 * CREATE + QUERY_DIRECTORY + QUERY_DIRECTORY go as one related compound: a
 * directory whose listing fits one response gets its entries and the
 * STATUS_NO_MORE_FILES that ends them in a single round trip (the CLOSE is
 * sent without waiting). A larger one goes on with a QUERY_DIRECTORY per
 * response. A failed CREATE fails the related requests after it with its
 * status (MS-SMB2 3.3.5.2.7.2), so the CREATE's status is the one to report.
 */
static int list_once(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg,
		     int one_trip)
{
	struct smbc_open_args a = {
		.access = FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_DIRECTORY_FILE,
	};
	struct create_resp cresp;
	struct smb2_file_id fid;
	struct smb_req *head, *cr, *qd, *qd2;
	uint64_t gen;
	int rc, brc, nent = 0;
	long total = 0;

	cr = smbc_create_req(c, path, &a);
	qd = query_dir_build(c, &smbc_related_fid, 0, one_trip);
	qd2 = query_dir_build(c, &smbc_related_fid, 0, one_trip);
	if (!cr || !qd || !qd2) {
		req_put(cr);
		req_put(qd);
		req_put(qd2);
		return -ENOMEM;
	}
	qd->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	qd2->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	cr->chain_next = qd;
	qd->chain_next = qd2;
	head = cr;
	rc = smbc_call_chain_gen(c, &head, &gen);
	if (rc) {
		smbc_put_chain(head);
		return rc;
	}
	if (head->status != STATUS_SUCCESS) {
		rc = smbc_status_rc(head);
		smbc_put_chain(head);
		return rc;
	}
	if (create_resp_decode(head->resp, head->resp_len, &cresp)) {
		smbc_put_chain(head);
		return -EIO;
	}
	fid = cresp.file_id;
	qd = head->chain_next;
	qd2 = qd ? qd->chain_next : NULL;
	brc = qd ? dir_batch(qd, fn, arg, &nent) : -EIO;
	if (brc == 0 && nent == 0) {
		LOG_WARN("server answered a directory query with success and no entries");
		brc = -EIO; /* not even "." */
	}
	total = nent;
	if (brc == 0) { /* the first response was full: the second goes on from there */
		nent = 0;
		brc = qd2 ? dir_batch(qd2, fn, arg, &nent) : -EIO;
		if (brc == 0 && nent == 0) {
			LOG_WARN("server answered a directory query with success and no entries");
			brc = -EIO;
		}
		total += nent;
	}
	smbc_put_chain(head);
	if (brc == 0 && one_trip)
		brc = -EFBIG; /* more to come: the caller wanted only one round trip */
	while (brc == 0) {
		nent = 0;
		qd = query_dir_build(c, &fid, 0, 0);
		if (!qd) {
			brc = -ENOMEM;
			break;
		}
		rc = smbc_call_chain(c, &qd);
		if (!rc && smbc_gen(c) != gen)
			brc = -EAGAIN; /* the handle belonged to the old connection */
		else
			brc = rc ? rc : dir_batch(qd, fn, arg, &nent);
		/* a success without entries would repeat forever; so would a listing
		 * that never ends (a hostile server): both end here */
		if (brc == 0 && nent == 0) {
			LOG_WARN("server answered a directory query with success and no entries");
			brc = -EIO;
		}
		total += nent;
		if (brc == 0 && total > MAX_DIR_ENTRIES) {
			LOG_WARN("directory %s has more than %d entries (or the listing never ends); "
				 "giving up", path, MAX_DIR_ENTRIES);
			brc = -EIO;
		}
		if (brc < 0 && smbc_gen(c) != gen)
			brc = -EAGAIN;
		req_put(qd);
	}
	close_async(c, &fid, gen);
	if (brc < 0 && smbc_gen(c) != gen)
		brc = -EAGAIN;
	if (brc < 0)
		return brc;
	return brc == 1 ? 0 : brc;
}

static int list_dir(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg,
		    int one_trip)
{
	int rc = -EAGAIN;
	for (int i = 0; i < LIST_RESTARTS && rc == -EAGAIN; i++) {
		if (i)
			fn(NULL, NULL, arg); /* start over */
		rc = list_once(c, path, fn, arg, one_trip);
	}
	return rc == -EAGAIN ? -EIO : rc;
}

int smbc_list_dir(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg)
{
	return list_dir(c, path, fn, arg, 0);
}

int smbc_list_dir_one_trip(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg)
{
	return list_dir(c, path, fn, arg, 1);
}

int smbc_statfs(struct smb_client *c, struct smb_statfs *out)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN, .options = FILE_DIRECTORY_FILE};
	struct query_info_resp qr;
	struct fscc_fs_full_size_info fsz;
	struct smb_req *q = smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILESYSTEM,
					     FileFsFullSizeInformation, 256);
	int rc;

	if (!q)
		return -ENOMEM;
	rc = smbc_open_do_close(c, "", &a, q, &q);
	if (rc)
		return rc;
	if (query_info_resp_decode(q->resp, q->resp_len, &qr) ||
	    fscc_fs_full_size_decode(qr.buffer, qr.buffer_len, &fsz)) {
		rc = -EIO;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->total_units = fsz.total_allocation_units;
	out->avail_units = fsz.caller_available_allocation_units;
	out->free_units = fsz.actual_available_allocation_units;
	out->sectors_per_unit = fsz.sectors_per_allocation_unit;
	out->bytes_per_sector = fsz.bytes_per_sector;
	out->max_name_len = 255;
out:
	req_put(q);
	return rc;
}

/*
 * A synchronous WRITE of len bytes at off on f, borrowing data (the caller's
 * buffer outlives the call). NULL when memory is short or it cannot be encoded.
 */
static struct smb_req *write_req_build(struct smb_client *c, struct smbc_file *f, uint64_t off,
				       const void *data, size_t len)
{
	struct smb_req *req = mkreq(c, SMB2_WRITE, SMB2_WRITE_REQ_HDR_LEN);
	struct write_req wr;
	struct wbuf w;

	if (!req)
		return NULL;
	memset(&wr, 0, sizeof(wr));
	wr.length = (uint32_t)len;
	wr.offset = off;
	wr.file_id = smbc_related_fid;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (write_req_encode_hdr(&w, &wr)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	req->xdata = data;
	req->xlen = len;
	smbc_set_fid_src(req, f, FID_OFF_WRITE);
	req->credit_charge = smbc_credits_for(c, len);
	return req;
}

/* Bytes the answered WRITE req of len bytes wrote, or -errno. */
static ssize_t write_req_result(const struct smb_req *req, size_t len)
{
	struct write_resp resp;

	if (req->status != STATUS_SUCCESS)
		return smbc_status_rc(req);
	if (write_resp_decode(req->resp, req->resp_len, &resp) || resp.count > len) {
		LOG_WARN("malformed WRITE response from server");
		return -EIO;
	}
	return resp.count;
}

/*
 * WRITE + SET_INFO as one related compound: the SET_INFO names the WRITE's
 * handle through the related FileId and runs after it (MS-SMB2 3.3.5.2.7.2),
 * so the times it sets are not stamped over by the write.
 */
/*
 * The results of a WRITE of len bytes and a SET_INFO, each if it was sent
 * (NULL: not), answered in one chain: 0 or the first failure.
 */
static int write_set_info_result(const struct smb_req *wr, size_t len, const struct smb_req *si)
{
	if (wr) {
		ssize_t n = write_req_result(wr, len);
		if (n >= 0 && (size_t)n < len)
			n = -EIO; /* a short write: the caller was told it all went */
		if (n < 0)
			return (int)n;
	}
	if (si && si->status != STATUS_SUCCESS)
		return smbc_status_rc(si);
	return 0;
}

/*
 * f->lock held, f->later: CREATE f, then WRITE and SET_INFO on it (each when
 * asked for), as one related compound: a new small file in one round trip.
 */
static int create_write_set_info_locked(struct smb_client *c, struct smbc_file *f, uint64_t off,
					const void *data, size_t len, uint8_t cls,
					const uint8_t *buf, uint32_t blen)
{
	uint64_t seq = break_seq(c), gen = 0;
	struct smb_req *cr, *wr = NULL, *si = NULL, *head, **tail;
	struct create_resp resp;
	struct create_out o;
	struct dh_args dh;
	int rc;

	dh_request(c, f, &dh);
	tls_no_settle++;
	cr = create_req_dh(c, f->path, &f->args, &dh);
	tls_no_settle--;
	if (len)
		wr = write_req_build(c, f, off, data, len);
	if (blen)
		si = smbc_set_info_req(c, &smbc_related_fid, cls, buf, blen);
	if (!cr || (len && !wr) || (blen && !si)) {
		req_put(cr);
		req_put(wr);
		req_put(si);
		return -ENOMEM;
	}
	head = cr;
	tail = &cr->chain_next;
	if (wr) {
		wr->fid_src = NULL; /* the CREATE's handle, named by the related FileId */
		wr->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
		*tail = wr;
		tail = &wr->chain_next;
	}
	if (si) {
		si->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
		*tail = si;
	}
	rc = smbc_call_chain_gen(c, &head, &gen);
	if (!rc)
		rc = create_answer(head, &f->args, &dh, gen, &o, &resp);
	rc = created_later(f, rc, &o, seq);
	if (!rc)
		rc = write_set_info_result(wr ? head->chain_next : NULL, len,
					   si ? nth(head, wr ? 2 : 1) : NULL);
	smbc_put_chain(head);
	return rc;
}

/*
 * WRITE + SET_INFO as one related compound: the SET_INFO names the WRITE's
 * handle through the related FileId and runs after it (MS-SMB2 3.3.5.2.7.2),
 * so the times it sets are not stamped over by the write. A file created
 * later is created in the same compound.
 */
int smbc_write_set_info(struct smb_client *c, struct smbc_file *f, uint64_t off,
			const void *data, size_t len, uint8_t cls, const uint8_t *buf,
			uint32_t blen)
{
	struct smb_req *req, *si, *head;
	int rc;

	if (len > UINT32_MAX || !blen)
		return -EINVAL;
	if (smbc_file_later(f)) {
		pthread_mutex_lock(&f->lock);
		rc = f->later ? create_write_set_info_locked(c, f, off, data, len, cls, buf, blen)
			      : 1;
		pthread_mutex_unlock(&f->lock);
		if (rc <= 0)
			return rc;
	}
	if (!len)
		return smbc_set_info_fid(c, f, cls, buf, blen);
	req = write_req_build(c, f, off, data, len);
	si = smbc_set_info_req(c, &smbc_related_fid, cls, buf, blen);
	if (!req || !si) {
		req_put(req);
		req_put(si);
		return -ENOMEM;
	}
	si->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
	req->chain_next = si;
	head = req;
	rc = smbc_call_chain(c, &head);
	if (!rc)
		rc = write_set_info_result(head, len, head->chain_next);
	smbc_put_chain(head);
	return rc;
}

/* A file created later: create it with its first len bytes (one round trip). */
int smbc_create_write(struct smb_client *c, struct smbc_file *f, uint64_t off, const void *data,
		      size_t len)
{
	int rc = 1;

	if (len > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (f->later)
		rc = create_write_set_info_locked(c, f, off, data, len, 0, NULL, 0);
	pthread_mutex_unlock(&f->lock);
	if (rc > 0) { /* created meanwhile: an ordinary WRITE */
		ssize_t n = len ? smbc_write(c, f, off, data, len) : smbc_create_now(c, f);
		rc = n < 0 ? (int)n : (size_t)n < len ? -EIO : 0;
	}
	return rc;
}

ssize_t smbc_write(struct smb_client *c, struct smbc_file *f, uint64_t off, const void *buf,
		   size_t len)
{
	struct smb_req *req;
	ssize_t rc;

	if (len > UINT32_MAX || len == 0)
		return len ? -EINVAL : 0;
	req = write_req_build(c, f, off, buf, len);
	if (!req)
		return -ENOMEM;
	rc = smbc_call_chain(c, &req);
	if (!rc)
		rc = write_req_result(req, len);
	req_put(req);
	return rc;
}

int smbc_flush(struct smb_client *c, struct smbc_file *f)
{
	struct smb_req *req = mkreq(c, SMB2_FLUSH, 32);
	struct wbuf w;
	if (!req)
		return -ENOMEM;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (flush_req_encode(&w, &smbc_related_fid)) {
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	smbc_set_fid_src(req, f, FID_OFF_FLUSH);
	return smbc_call_on_file(c, req, NULL, 0);
}

/* ------------------------------------------------------------------ async bulk I/O */

/* A smbc_buf is the completed READ request itself: it owns the frame the data lives in. */
void smbc_buf_get(struct smbc_buf *b)
{
	req_get((struct smb_req *)b);
}

void smbc_buf_put(struct smbc_buf *b)
{
	req_put((struct smb_req *)b);
}

struct smbc_io *smbc_io_next(struct smbc_io *io)
{
	return io->next;
}

void smbc_io_set_next(struct smbc_io *io, struct smbc_io *next)
{
	io->next = next;
}

int64_t smbc_io_parked_ns(struct smbc_io *io)
{
	return io->parked_ns;
}

void smbc_io_set_parked_ns(struct smbc_io *io, int64_t t)
{
	io->parked_ns = t;
}

void smbc_io_fail(struct smbc_io *io, int rc)
{
	if (io->is_write)
		io->wcb(io->arg, rc);
	else
		io->rcb(io->arg, rc, NULL, NULL);
	if (io->data_free)
		io->data_free(io->data_arg);
	free(io);
}

static void io_done(struct smb_req *req, void *p)
{
	struct smbc_io *io = p;
	struct smb_client *c = io->c;
	ssize_t rc = req->rc;

	if (rc == -ETIMEDOUT && c->opts.soft) {
		/* soft: an unanswered request is an error now, not a replay */
	} else if ((rc && rc_needs_reconnect((int)rc)) ||
		   (!rc && status_needs_reconnect(req->status))) {
		smbc_replay_push(c, io, io->gen); /* the connection broke: send it again later */
		req_put(req);
		return;
	}
	if (!rc && (req->status == STATUS_FILE_CLOSED || req->status == STATUS_INVALID_HANDLE) &&
	    smbc_gen(c) != io->gen) {
		smbc_replay_push(c, io, 0); /* a stale FileId: reopen and send again */
		req_put(req);
		return;
	}
	if (io->is_write) {
		struct write_resp resp;
		if (!rc) {
			if (req->status != STATUS_SUCCESS)
				rc = smbc_status_rc(req);
			else if (write_resp_decode(req->resp, req->resp_len, &resp) ||
				 resp.count > io->len)
				rc = -EIO;
			else
				rc = resp.count;
		}
		io->wcb(io->arg, rc);
	} else {
		struct read_resp resp;
		if (!rc) {
			if (req->status == STATUS_END_OF_FILE) {
				io->rcb(io->arg, 0, NULL, (struct smbc_buf *)req);
				goto out;
			}
			if (req->status != STATUS_SUCCESS) {
				rc = smbc_status_rc(req);
			} else if (read_resp_decode(req->resp, req->resp_len, &resp) ||
				   resp.data_len > io->len) {
				LOG_WARN("malformed READ response from server");
				rc = -EIO;
			} else {
				io->rcb(io->arg, resp.data_len, resp.data, (struct smbc_buf *)req);
				goto out;
			}
		}
		io->rcb(io->arg, rc, NULL, NULL);
	}
out:
	if (io->is_write) {
		/* The request holds the write data now (a frame may still reference it). */
		req->xdata_free = io->data_free;
		req->xdata_free_arg = io->data_arg;
		io->data_free = NULL;
	}
	free(io);
	req_put(req);
}

/*
 * Send io on the current connection. may_block: allowed to reopen its file
 * (not on a loop thread); otherwise a file needing a reopen parks the io.
 * Returns 0 (io is in flight or parked) or -errno (io untouched).
 */
static int io_submit(struct smb_client *c, struct smbc_io *io, int may_block)
{
	struct smbc_chan ch;
	struct smb2_file_id fid;
	struct smb_req *req;
	struct wbuf w;
	int rc;

	rc = smbc_chan_get_io(c, &ch); /* bulk I/O: least loaded channel */
	if (rc)
		return rc;
	/* (a file created later is created by its first I/O, never on a loop thread:
	 * write-behind and readahead start on the caller's thread) */
	if (may_block || smbc_file_later(io->f)) {
		rc = file_fid_for(io->f, ch.gen, &fid);
	} else {
		pthread_mutex_lock(&io->f->lock);
		rc = io->f->err ? io->f->err : io->f->locks_lost ? -EIO
					   : io->f->gen != ch.gen ? -EAGAIN : 0;
		fid = io->f->fid;
		pthread_mutex_unlock(&io->f->lock);
	}
	if (rc == -EAGAIN) {
		smbc_chan_put(&ch);
		return smbc_replay_try(c, io, 0);
	}
	if (rc) {
		smbc_chan_put(&ch);
		return rc;
	}
	req = req_new(io->is_write ? SMB2_WRITE : SMB2_READ, 64);
	if (!req) {
		smbc_chan_put(&ch);
		return -ENOMEM;
	}
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (io->is_write) {
		struct write_req wr = {.length = (uint32_t)io->len, .offset = io->off, .file_id = fid};
		rc = write_req_encode_hdr(&w, &wr);
		/* the request owns the data from here; a replay takes it back */
		req->xdata = io->data;
		req->xlen = io->len;
	} else {
		struct read_req rr = {.length = (uint32_t)io->len, .offset = io->off, .file_id = fid};
		rc = read_req_encode(&w, &rr);
	}
	if (rc) {
		smbc_chan_put(&ch);
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	req->session_id = ch.session_id;
	req->tree_id = ch.tree_id;
	req->credit_charge = conn_charge_for(ch.conn, io->len);
	req->done = io_done;
	req->done_arg = io;
	io->gen = ch.gen;
	__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
	rc = conn_submit(ch.conn, req);
	if (rc) {
		/* the connection died between snapshot and submit: park it */
		req_put(req);
		rc = smbc_replay_try(c, io, ch.gen);
	}
	/* else: our reference passes to io_done, which puts it */
	smbc_chan_put(&ch);
	return rc;
}

int smbc_io_resubmit(struct smb_client *c, struct smbc_io *io)
{
	return io_submit(c, io, 1);
}

int smbc_read_async(struct smb_client *c, struct smbc_file *f, uint64_t off, size_t len,
		    smbc_read_cb cb, void *arg)
{
	struct smbc_io *io;
	int rc;

	if (len > UINT32_MAX || len == 0)
		return -EINVAL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->c = c;
	io->f = f;
	io->off = off;
	io->len = len;
	io->rcb = cb;
	io->arg = arg;
	rc = io_submit(c, io, 0);
	if (rc)
		free(io);
	return rc;
}

int smbc_write_async(struct smb_client *c, struct smbc_file *f, uint64_t off,
		     const void *buf, size_t len, const struct smbc_lend *lend,
		     smbc_write_cb cb, void *arg)
{
	struct smbc_io *io;
	int rc;

	if (len > UINT32_MAX || len == 0)
		return -EINVAL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	if (lend) {
		/* the lender's buffer stays put until our final completion: no copy */
		lend->get(lend->owner);
		io->data = buf;
		io->data_free = lend->put;
		io->data_arg = lend->owner;
	} else {
		uint8_t *copy = malloc(len);
		if (!copy) {
			free(io);
			return -ENOMEM;
		}
		memcpy(copy, buf, len);
		io->data = copy;
		io->data_free = free;
		io->data_arg = copy;
	}
	io->is_write = 1;
	io->c = c;
	io->f = f;
	io->off = off;
	io->len = len;
	io->wcb = cb;
	io->arg = arg;
	rc = io_submit(c, io, 0);
	if (rc) {
		io->data_free(io->data_arg);
		free(io);
	}
	return rc;
}

/* ------------------------------------------------------------------ leases */

void smbc_set_lease_handler(struct smb_client *c, smbc_lease_break_fn fn, void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->lease_fn = (void *)fn;
	c->lease_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

static struct smb_req *lease_ack_req(struct smb_client *c, const uint8_t key[16], uint32_t state)
{
	struct smb_req *req = mkreq(c, SMB2_OPLOCK_BREAK, 64);
	struct wbuf w;
	if (!req)
		return NULL;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (lease_ack_encode(&w, key, state)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	return req;
}

int smbc_lease_ack(struct smb_client *c, const uint8_t key[16], uint32_t state)
{
	struct smb_req *req = lease_ack_req(c, key, state);
	int rc;
	if (!req)
		return -ENOMEM;
	rc = smbc_call_chain(c, &req);
	/* STATUS_UNSUCCESSFUL etc.: the server moved on (the open is gone); nothing to do */
	if (!rc && req->status != STATUS_SUCCESS)
		LOG_DBG("lease break ack answered %s", ntstatus_name(req->status));
	req_put(req);
	return rc;
}

static void ack_done(struct smb_req *req, void *arg)
{
	(void)arg;
	req_put(req);
}

/* Loop thread: an unsolicited OPLOCK_BREAK arrived. */
void smbc_on_break(struct smb_client *c, struct smb_conn *conn, const uint8_t *pdu, size_t len)
{
	struct lease_break lb;
	struct oplock_break ob;
	smbc_lease_break_fn fn;
	void *arg;
	int is_lease = 0;
	struct smb_req *req;

	if (break_notify_decode(pdu, len, &is_lease, &lb, &ob)) {
		LOG_WARN("malformed break notification from %s", c->host);
		return;
	}
	if (!is_lease)
		return; /* we never ask for oplocks, only leases */
	pthread_mutex_lock(&c->lock);
	/*
	 * Every handle of the lease holds less from now on, also one whose open
	 * has not reached the layers above yet (they learn of the break through
	 * fn only for handles they know), or not even this list (breaks[]).
	 */
	for (struct smbc_file *f = c->files; f; f = f->next)
		if (f->args.lease_key && memcmp(f->lease_key, lb.key, 16) == 0)
			__atomic_and_fetch(&f->lease, lb.new_state, __ATOMIC_RELAXED);
	{
		unsigned i = (unsigned)(c->break_seq++ % 16);
		memcpy(c->breaks[i].key, lb.key, 16);
		c->breaks[i].state = lb.new_state;
		c->breaks[i].seq = c->break_seq;
	}
	fn = (smbc_lease_break_fn)c->lease_fn;
	arg = c->lease_arg;
	pthread_mutex_unlock(&c->lock);
	if (fn && !fn(arg, lb.key, lb.new_state, !!(lb.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED)))
		return;
	if (!(lb.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED))
		return;
	/* nobody holds this key: acknowledge right away, without waiting (loop thread) */
	req = lease_ack_req(c, lb.key, lb.new_state);
	if (!req)
		return;
	pthread_mutex_lock(&c->lock);
	req->session_id = c->session_id;
	pthread_mutex_unlock(&c->lock);
	req->done = ack_done;
	if (conn_submit(conn, req))
		req_put(req);
}
