/*
 * pool.h - the connection behind a client, and getting it back.
 *
 * A snapshot (struct smbc_chan) names the connection, session and tree of
 * one generation; requests are built and sent against a snapshot. When a
 * connection fails, the reconnect thread opens a new one with back-off
 * (negotiate, session setup with the kept credentials, tree connect) and
 * bumps the generation. Synchronous callers wait for that (hard mounts: as
 * long as it takes, until unmount; soft: at most soft_timeout_ms) and then
 * replay; asynchronous I/O that failed with the connection is parked on the
 * replay queue and resubmitted by the reconnect thread.
 *
 * Channels (max_channels=N): with SMB 3.x and a server offering
 * SMB2_GLOBAL_CAP_MULTI_CHANNEL, N-1 further connections are bound to the
 * session (session.c bind_channels). Metadata goes on the primary connection
 * (smbc_chan_get); bulk READ/WRITE on the least loaded channel
 * (smbc_chan_get_io). All channels share one generation: when any of them
 * fails, the reconnect thread replaces all of them (a new primary, then new
 * bindings), and I/O that failed on any is replayed as usual. A server that
 * cannot bind leaves the mount on one connection (logged).
 */
#ifndef SMBF_CLIENT_POOL_H
#define SMBF_CLIENT_POOL_H

#include <stdint.h>

#include "client/session.h"

struct smb_conn;

struct smbc_chan {
	struct smb_conn *conn; /* referenced */
	uint64_t session_id;
	uint32_t tree_id;
	uint64_t gen;
};

/* Take a snapshot of the current connection. -EIO when the client is stopping. */
int smbc_chan_get(struct smb_client *c, struct smbc_chan *ch);
void smbc_chan_put(struct smbc_chan *ch);
/* Like smbc_chan_get, on the channel with the fewest credits' worth in flight (READ/WRITE). */
int smbc_chan_get_io(struct smb_client *c, struct smbc_chan *ch);
/* Number of channels now; requests submitted so far on each (up to max), for logs/tests. */
int smbc_channels(struct smb_client *c, unsigned long *submitted, int max);

/*
 * The connection of generation gen_seen failed (or a request on it timed
 * out): make sure a reconnect is under way and wait for a newer generation.
 * Returns 0 when one is there, -EIO when the mount is soft and the server
 * stayed away too long, or when the client is stopping.
 */
int smbc_wait_reconnect(struct smb_client *c, uint64_t gen_seen);

/* Current generation. */
uint64_t smbc_gen(struct smb_client *c);

/* Park async I/O until the connection is back (any thread, incl. loop threads). */
void smbc_replay_push(struct smb_client *c, struct smbc_io *io, uint64_t gen_seen);
/*
 * smbc_replay_push for a submitter: when the client is stopping, -EIO and io
 * untouched (its caller fails it, outside whatever locks it holds: failing
 * it here would run its completion under them).
 */
int smbc_replay_try(struct smb_client *c, struct smbc_io *io, uint64_t gen_seen);

/* Start/stop the reconnect thread. Stop fails parked I/O with -EIO. */
int smbc_pool_start(struct smb_client *c);
void smbc_pool_stop(struct smb_client *c);

/* Provided by ops.c: (re)submit parked I/O from the reconnect thread; fail it. */
int smbc_io_resubmit(struct smb_client *c, struct smbc_io *io);
void smbc_io_fail(struct smbc_io *io, int rc);
/* Provided by ops.c: reopen every open file after a reconnect (durable
 * handle first, else by path, then its byte-range locks). */
void smbc_reopen_files(struct smb_client *c);
struct smbc_io *smbc_io_next(struct smbc_io *io);
void smbc_io_set_next(struct smbc_io *io, struct smbc_io *next);
int64_t smbc_io_parked_ns(struct smbc_io *io);
void smbc_io_set_parked_ns(struct smbc_io *io, int64_t t);

#endif
