/*
 * writeback.h - write-behind for one open file.
 *
 * Sequential small writes coalesce into `wsize` WRITEs; WRITEs are sent
 * asynchronously, many in flight, while the application keeps writing. The
 * bytes in flight per file are bounded (`max_inflight`): a writer past the
 * bound waits. The first error of an asynchronous WRITE is latched and
 * returned by the next wb_write() or wb_flush(), never dropped: a write the
 * application was told succeeded either reaches the server or its error is
 * reported at the latest by fsync/close.
 *
 * Thread-safe. Completions run on the connection's loop thread.
 */
#ifndef SMBF_CACHE_WRITEBACK_H
#define SMBF_CACHE_WRITEBACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/ops.h"

struct wb_file;

struct wb_file *wb_new(struct smb_client *c, struct smbc_file *file, size_t wsize,
		       size_t max_inflight);

/*
 * Accept len bytes at off (copied). Returns len, or the latched error of an
 * earlier WRITE (-errno; the error is then cleared), or -ENOMEM/-EIO.
 */
ssize_t wb_write(struct wb_file *w, uint64_t off, const void *buf, size_t len);

/*
 * wb_write(), but the WRITEs of whole wsize pieces hold buf through lend
 * (see smbc_write_async) instead of copying it; the rest is copied. NULL:
 * wb_write().
 */
ssize_t wb_write_lent(struct wb_file *w, uint64_t off, const void *buf, size_t len,
		      const struct smbc_lend *lend);

/*
 * Send what is buffered and wait until every WRITE has completed. Returns 0
 * or the latched error (then cleared). Bounded by the request deadlines.
 */
int wb_flush(struct wb_file *w);

/*
 * Sends the last buffered bytes of a file together with what must follow
 * them (one compound): 0 or -errno, like a WRITE that was waited for.
 */
typedef int (*wb_last_fn)(void *arg, uint64_t off, const void *data, size_t len);
/*
 * wb_flush, except that when the buffered bytes are all that is left (no
 * WRITE in flight) fn sends them, and its result is returned; *sent tells
 * whether fn ran (when it did not, follow up yourself). fn runs with the
 * file's writes held off.
 */
int wb_flush_last(struct wb_file *w, wb_last_fn fn, void *arg, int *sent);

/* True when nothing is buffered or in flight. */
int wb_idle(struct wb_file *w);

/* Flush (its result is lost: call wb_flush first to see errors) and free. NULL ok. */
void wb_free(struct wb_file *w);

#endif
