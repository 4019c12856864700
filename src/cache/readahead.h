/*
 * readahead.h - per-open-file readahead: sequential detection and a window
 * of parallel READs that grows like a slow start up to a limit.
 *
 * A read is answered from chunks (aligned, `chunk` bytes each, one READ per
 * chunk). Sequential readers get chunks fetched ahead of them, the window
 * doubling on each sequential hit up to max_window; a seek collapses it and
 * a random reader never triggers readahead (its reads go straight through).
 * Chunks behind the reader are freed as it passes them, so memory per file
 * is bounded by the window, and per mount by a shared budget.
 *
 * Replies run exactly once, either in the caller's thread (data already
 * there) or on the connection's loop thread when the data arrives; the
 * reply function must not block.
 */
#ifndef SMBF_CACHE_READAHEAD_H
#define SMBF_CACHE_READAHEAD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "client/ops.h"

/* Memory shared by every file of a mount. */
struct ra_budget {
	size_t limit;
	size_t used; /* atomic */
};

/* Reply with data (iov, possibly empty at EOF) or a negative errno (iov NULL). */
typedef void (*ra_reply_fn)(void *ctx, int err, const struct iovec *iov, int iovcnt);

struct ra_file;

struct ra_file *ra_new(struct smb_client *c, struct smbc_file *file, size_t chunk,
		       size_t max_window, struct ra_budget *budget);

/* Read [off, off+size); fn(ctx, ...) is called exactly once. */
void ra_read(struct ra_file *f, uint64_t off, size_t size, ra_reply_fn fn, void *ctx);

/* Forget cached data (the file changed). Reads in flight finish but are not kept. */
void ra_drop(struct ra_file *f);

/* Reads of f still in flight (or parked for a reconnect)? NULL: no. */
int ra_busy(struct ra_file *f);

/* Wait for reads in flight (bounded by their deadlines), then free. NULL ok. */
void ra_free(struct ra_file *f);

/* Statistics for tests: READs issued and reads answered from prefetched chunks. */
void ra_stats(struct ra_file *f, unsigned long *reads_issued, unsigned long *hits);

#endif
