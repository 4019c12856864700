/*
 * session.h - one SMB session on one connection and one tree connect:
 * NEGOTIATE -> SESSION_SETUP (SPNEGO/NTLMSSP) -> TREE_CONNECT, with keys.
 *
 * smbc_connect() runs the whole sequence on the calling thread, each step a
 * request with a deadline. On failure it writes one line for the user into
 * err (naming host, share or user as relevant; never a secret) and returns a
 * negative errno.
 */
#ifndef SMBF_CLIENT_SESSION_H
#define SMBF_CLIENT_SESSION_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/kdf.h"

struct smb_conn;

enum smbc_sec {
	SMBC_SEC_NTLMSSP = 0,
	SMBC_SEC_NTLMSSPI, /* NTLMSSP with signing required */
	SMBC_SEC_KRB5,     /* Kerberos through GSSAPI, the user's credential cache */
	SMBC_SEC_KRB5I,    /* Kerberos with signing required */
};

struct smbc_opts {
	const char *host;         /* server name: the SPN host (cifs/host) and the tree path */
	const char *addr;         /* connect here instead of resolving host (mount.cifs ip=) */
	const char *krb5_ccache;  /* NULL = default (KRB5CCNAME) */
	const char *port;         /* NULL = 445 */
	const char *share;
	const char *username;     /* NULL/"" with guest = anonymous/guest */
	const char *password;
	const char *domain;
	const char *workstation;  /* NULL = local host name */
	uint16_t min_dialect;     /* SMB2_DIALECT_*; 0 = 2.0.2 */
	uint16_t max_dialect;     /* 0 = 3.1.1 */
	int require_sign;
	int require_seal;
	int guest;
	enum smbc_sec sec;
	uint32_t max_credits;
	int connect_timeout_ms;
	int request_timeout_ms;
	int soft;                 /* fail operations after soft_timeout_ms without a connection */
	int soft_timeout_ms;
	int echo_interval_ms;     /* keepalive */
	int max_channels;         /* connections per session (multichannel); 0/1 = one */
	uint32_t handle_timeout_ms; /* durable handle v2 Timeout; 0 = the server's default */
	int leases;               /* offer SMB2_GLOBAL_CAP_LEASING: leases and durable handles */
};

/* Most channels of one session (the primary connection included). */
#define SMBC_MAX_CHANNELS 16

struct conn_security;

struct smbc_io;
struct smbc_file;

struct smb_client {
	/*
	 * conn, session_id, tree_id and gen change together on reconnect, under
	 * lock; other threads take a consistent snapshot (smbc_chan_get).
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* gen changed, reconnect state changed, replay queued */
	struct smb_conn *conn;     /* protected by lock */
	uint64_t gen;              /* protected by lock: bumped by each reconnect */
	int reconnect_wanted;      /* protected by lock */
	int reconnecting;          /* protected by lock */
	int stopping;              /* protected by lock */
	int64_t down_since_ns;     /* protected by lock: when the connection was lost, 0 = up */
	struct smbc_io *replay;    /* protected by lock: async I/O waiting for a connection */
	struct smbc_file *files;   /* protected by lock: open files, reopened after reconnect */
	struct smbc_file *later;   /* protected by lock: files not created yet (smbc_open_later) */
	unsigned nlater;           /* atomic; how many are on `later` */
	/*
	 * Multichannel (max_channels > 1): further connections bound to the
	 * session of conn; they share its generation and are replaced with it.
	 */
	struct smb_conn *xconn[SMBC_MAX_CHANNELS - 1]; /* protected by lock */
	int nxconn;                /* protected by lock */
	unsigned rr;               /* channel choice tie breaker (relaxed atomic) */
	const struct conn_security *bind_sec; /* set only on a temporary client binding a channel */
	pthread_t rthread;
	int rthread_started;
	struct smbc_opts opts;     /* deep copy, kept for reconnecting; password wiped on free */
	char *host;
	char *share;
	/* negotiated */
	uint16_t dialect;
	uint16_t server_security_mode;
	uint32_t server_caps;
	uint32_t max_read;
	uint32_t max_write;
	uint32_t max_transact;
	uint8_t client_guid[16];
	uint8_t server_guid[16];
	uint16_t cipher;
	uint16_t sign_alg;
	/* what our NEGOTIATE offered, for FSCTL_VALIDATE_NEGOTIATE_INFO (3.0, 3.0.2) */
	uint16_t offered_dialects[5];
	uint16_t offered_count;
	uint16_t offered_security_mode;
	uint32_t offered_caps;
	/* session */
	uint64_t session_id;
	uint16_t session_flags;
	int signing;
	int encrypting;
	/* tree */
	uint32_t tree_id;
	uint32_t share_flags;
	uint32_t share_caps;
	uint32_t maximal_access;
	void *lease_fn;            /* smbc_lease_break_fn, set before serving */
	void *lease_arg;
	/* the last lease breaks, for an open answered but not yet listed (c->lock) */
	uint64_t break_seq;
	struct {
		uint8_t key[16];
		uint32_t state;
		uint64_t seq;
	} breaks[16];
	/* round trips sent (debug counter, see smbc_round_trips) */
	unsigned long round_trips;
};

int smbc_connect(const struct smbc_opts *o, struct smb_client **out, char *err, size_t errlen);

/*
 * The mount is going away: every operation waiting for the server (a hard
 * mount waits forever otherwise) fails with -EIO now, and no new one starts.
 * Thread-safe; call before smbc_disconnect when workers may be blocked.
 */
void smbc_abort(struct smb_client *c);

/* Tree disconnect, logoff (bounded waits), close and free. NULL ok. */
void smbc_disconnect(struct smb_client *c);

/*
 * Re-run negotiate/session/tree on a new connection and swap it in (bumps
 * gen). Used by the reconnect thread. err gets a line for the log.
 */
int smbc_reestablish(struct smb_client *c, char *err, size_t errlen);

/*
 * Replace the password kept for reconnecting (SIGHUP re-read the credentials
 * file). The old copy is wiped. 0 or -ENOMEM. Thread-safe.
 */
int smbc_set_password(struct smb_client *c, const char *password);

/* Parse a vers= value into [min,max] dialects. -EINVAL if unknown. */
int smbc_parse_vers(const char *vers, uint16_t *min, uint16_t *max);

/* Dialect as text ("3.1.1"). */
const char *smbc_dialect_name(uint16_t dialect);

#endif
