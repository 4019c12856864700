/*
 * conn.h - one SMB2 TCP connection: framing, MessageIds, credits, the table
 * of requests in flight, signing on the way out and checks on the way in.
 *
 * Threads: each connection has one loop thread that owns the socket, the send
 * queue, the pending table, the credit window and the signing state. Other
 * threads hand requests over with conn_submit(), which only queues and pokes
 * an eventfd; it never blocks on the network. Every request completes exactly
 * once, on the loop thread: its callback runs there (and must not wait for
 * another reply), or a thread waiting in conn_wait() is woken.
 *
 * A request is refcounted: the submitter holds one reference, the connection
 * holds one from submit until completion. req_put() drops the caller's.
 */
#ifndef SMBF_NET_CONN_H
#define SMBF_NET_CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wire/frame.h"

struct smb_conn;
struct smb_req;

typedef void (*req_done_fn)(struct smb_req *req, void *arg);

/* A received frame, shared by the responses compounded in it. */
struct rxbuf {
	int refs;
	size_t len;
	size_t cap;         /* bytes of data allocated */
	struct rxbuf *next; /* conn.c's pool of idle big buffers */
	uint8_t data[];
};

enum req_state {
	REQ_NEW = 0,
	REQ_QUEUED,  /* waiting for credits or the socket */
	REQ_SENT,    /* on the wire, in the pending table */
	REQ_DONE,    /* completed; results valid */
};

struct smb_req {
	/* --- set by the submitter before conn_submit() --- */
	uint16_t command;
	uint16_t credit_charge; /* credits_charge_for() of the larger of request/response */
	uint32_t tree_id;
	uint64_t session_id;
	uint32_t flags;       /* extra SMB2 header flags, e.g. RELATED_OPERATIONS */
	int64_t timeout_ms;   /* 0 = connection default; <0 = none (long async ops) */
	int force_sign;       /* sign even if the session does not (3.1.1 TREE_CONNECT,
			       * SESSION_SETUP binding a channel) */
	req_done_fn done;     /* NULL: a thread will conn_wait() */
	void *done_arg;
	/* PDU: header space (64 bytes, filled by the connection) then the body */
	uint8_t *buf;
	size_t len;
	size_t cap;
	const void *xdata;    /* optional payload sent right after buf (WRITE data), not copied */
	size_t xlen;
	void (*xdata_free)(void *arg); /* called with xdata_free_arg when the request is
					* freed: xdata's owner lets it go (NULL: borrowed) */
	void *xdata_free_arg;
	void *fid_src;        /* client use: the open file whose FileId this request carries */
	uint16_t fid_off;     /* client use: offset of that FileId in buf */

	/* --- results, valid once state == REQ_DONE --- */
	int rc;             /* 0, or -errno for transport failure (-ETIMEDOUT, -ECONNRESET, -EBADMSG) */
	uint32_t status;    /* NTSTATUS when rc == 0 */
	struct smb2_hdr rhdr;
	const uint8_t *resp; /* the response PDU (header + body), view into rx */
	size_t resp_len;
	struct rxbuf *rx;
	int resp_signed_ok;  /* response authenticated: signature verified, or decrypted */

	/* --- connection private --- */
	int refs;
	enum req_state state;
	uint64_t message_id;
	uint64_t async_id;
	int64_t deadline_ns;
	struct smb_req *next;        /* submit/send queue link; also compound chain */
	struct smb_req *chain_next;  /* next PDU of the same compound */
	struct smb_req *hnext;       /* pending-table bucket link */
	int chain_len;
	struct smb_conn *load_conn;  /* whose load counts this request's charge */
	uint16_t load_charge;
	int in_frames;               /* atomic: frames not fully sent that send from its
				      * buf/xdata; it completes only once that is 0 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* Allocate a request whose body may be up to body_cap bytes. Refcount 1. */
struct smb_req *req_new(uint16_t command, size_t body_cap);
void req_get(struct smb_req *req);
void req_put(struct smb_req *req);
/*
 * A fresh, unsent copy of a request (to replay it on a new connection: the
 * old one may still reference the original). xdata is borrowed, not owned.
 */
struct smb_req *req_clone(const struct smb_req *src);
/* Body area (after the header) for an encoder, and record its final length. */
uint8_t *req_body(struct smb_req *req);
size_t req_body_cap(const struct smb_req *req);
void req_set_body_len(struct smb_req *req, size_t body_len);
/* The response body (after the header) and its length. */
static inline const uint8_t *req_resp_body(const struct smb_req *req)
{
	return req->resp + SMB2_HDR_SIZE;
}

struct conn_opts {
	const char *host;
	const char *port;          /* service string, "445" by default */
	int connect_timeout_ms;
	int request_timeout_ms;    /* default per-request deadline */
	uint32_t max_credits;      /* window target */
	uint32_t max_frame;        /* largest frame accepted from the server */
	int echo_interval_ms;      /* keepalive: ECHO after this much silence; 0 = off */
};

/*
 * Resolve and connect (blocking, bounded by connect_timeout_ms), then start
 * the loop thread. On failure returns NULL with *err set: -ENOENT host not
 * found (EAI_NONAME), -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ...
 */
struct smb_conn *conn_new(const struct conn_opts *opts, int *err);
/*
 * Reference counting: conn_new returns one reference. conn_put drops one;
 * the last stops the loop, fails what is pending and frees.
 */
void conn_get(struct smb_conn *conn);
void conn_put(struct smb_conn *conn);
/* Stop the loop now and fail everything pending with -ECONNABORTED (memory stays until the last put). */
void conn_shutdown(struct smb_conn *conn);
/* conn_shutdown + conn_put. NULL ok. */
void conn_free(struct smb_conn *conn);
/*
 * The process-wide pool of idle receive buffers (big READ responses): what
 * it holds now (bytes allocated, buffers), for tests and diagnostics; and
 * free them all (at exit). Any thread.
 */
void conn_rx_pool_stats(size_t *bytes, int *count);
void conn_rx_pool_drain(void);
/* Ask the loop to fail the connection (as if it broke), e.g. after a protocol violation seen above. */
void conn_abort(struct smb_conn *conn);

/* Called once, on the loop thread, when the connection fails by itself (not on shutdown). */
typedef void (*conn_dead_fn)(struct smb_conn *conn, void *arg);
void conn_set_on_dead(struct smb_conn *conn, conn_dead_fn fn, void *arg);

/*
 * Queue a request (or a compound: requests linked through chain_next, first
 * one passed here). Never blocks on the network. The connection takes its
 * own reference on each. Returns 0, or -ENOTCONN if the connection is dead
 * (nothing was queued and no callback will run).
 */
int conn_submit(struct smb_conn *conn, struct smb_req *req);

/* Wait until req completes (bounded by its deadline). Returns req->rc. */
int conn_wait(struct smb_req *req);

/* Submit then wait for every request of the chain. Returns the first rc. */
int conn_call(struct smb_conn *conn, struct smb_req *req);

/*
 * Security state used to sign/verify frames for one session on this
 * connection (channel). Thread-safe; takes effect for frames sent after it.
 */
struct conn_security {
	uint64_t session_id;
	int signing;                /* sign requests, verify responses */
	uint16_t sign_alg;          /* SMB2_SIGNING_* */
	uint8_t sign_key[16];
	int encrypt;                /* seal requests (3.x) */
	uint16_t cipher;            /* SMB2_ENCRYPTION_* */
	uint8_t enc_key[32];
	uint8_t dec_key[32];
};
void conn_set_security(struct smb_conn *conn, const struct conn_security *sec);
/* Copy of the current security state (key material: wipe it after use). */
void conn_get_security(struct smb_conn *conn, struct conn_security *sec);

/*
 * Credits' worth of requests submitted and not yet completed (one per
 * 64 KiB of READ/WRITE payload, at least one per request): the load used to
 * spread I/O over channels. Any thread; a snapshot.
 */
long conn_load(struct smb_conn *conn);
/* Requests ever submitted on this connection (debug counter). Any thread. */
unsigned long conn_submitted(struct smb_conn *conn);

/* Start sealing requests with the keys already set (share asked for encryption). */
void conn_enable_encryption(struct smb_conn *conn);

/* Negotiated facts the loop needs (LARGE_MTU, dialect). Call before parallel use. */
void conn_set_negotiated(struct smb_conn *conn, uint16_t dialect, int large_mtu);

/* CreditCharge for a payload of this size on this connection. */
uint16_t conn_charge_for(struct smb_conn *conn, size_t payload);

/* Unsolicited messages (oplock/lease breaks): called on the loop thread. */
typedef void (*conn_unsolicited_fn)(struct smb_conn *conn, const uint8_t *pdu, size_t len,
				    void *arg);
void conn_set_unsolicited(struct smb_conn *conn, conn_unsolicited_fn fn, void *arg);

/* True once the connection has failed; all further submits fail. */
int conn_is_dead(struct smb_conn *conn);

/* Connection id for log lines. */
unsigned conn_id(const struct smb_conn *conn);

#endif
