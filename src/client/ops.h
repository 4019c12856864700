/*
 * ops.h - the SMB-level file API used by the FUSE layer: synchronous calls
 * that each cost as few round trips as possible (compounds where they help),
 * every one bounded by the connection's request deadline.
 *
 * Paths are share-relative UTF-8 with '/' separators ("" is the share root).
 * Functions return 0 / byte counts, or -errno (NTSTATUS mapped by errmap).
 * Thread-safe: any number of threads may call concurrently.
 */
#ifndef SMBF_CLIENT_OPS_H
#define SMBF_CLIENT_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "client/session.h"

/*
 * An open file. The client owns its FileId and reopens it (by path) after a
 * reconnect, so callers hold this pointer across connection failures.
 */
struct smbc_file;

/* File attributes as the server reports them. */
struct smb_stat {
	uint64_t ino;    /* server IndexNumber (FileInternalInformation); 0 = unknown */
	uint64_t size;   /* EndOfFile */
	uint64_t alloc;  /* AllocationSize */
	uint32_t attrs;  /* FILE_ATTRIBUTE_* */
	uint32_t nlink;  /* NumberOfLinks; 1 when unknown */
	struct timespec btime, atime, mtime, ctime;
};

struct smb_statfs {
	uint64_t total_units;
	uint64_t avail_units;   /* for the caller */
	uint64_t free_units;    /* actual free */
	uint32_t sectors_per_unit;
	uint32_t bytes_per_sector;
	uint32_t max_name_len;
};

/* Attributes of path: CREATE + QUERY_INFO(FileAllInformation) + CLOSE in one compound. */
int smbc_stat(struct smb_client *c, const char *path, struct smb_stat *st);

struct smbc_open_args {
	uint32_t access;      /* desired access mask */
	uint32_t disposition; /* FILE_OPEN, FILE_CREATE, ... */
	uint32_t options;     /* create options */
	uint32_t attrs;       /* attributes for a new file */
	uint32_t share;       /* share access; 0 = read|write|delete */
	const uint8_t *lease_key; /* 16 bytes: ask for a lease with this key; NULL = none */
	uint32_t lease_state;     /* SMB2_LEASE_* wanted */
};

/* Open (or create) path. st and action may be NULL. */
int smbc_open(struct smb_client *c, const char *path, const struct smbc_open_args *a,
	      struct smbc_file **out, struct smb_stat *st, uint32_t *action);

/*
 * A new file created on the server only when first needed: a create the
 * caller knows cannot collide (the name is absent from a listing it keeps).
 * a is as for smbc_open (disposition FILE_CREATE or FILE_OPEN_IF...). The
 * file's first use creates it: I/O or a call on it, smbc_create_now, or
 * smbc_write_set_info / smbc_create_write in the same compound as its data;
 * so does a CREATE of this client by a path at, above or beside it. Until
 * then it holds the lease it asks for; smbc_create_due bounds how long
 * other clients cannot see it. If the create fails (-EEXIST when
 * another client made the name meanwhile) every later call on the file
 * returns that error. Not on a loop thread (a first use blocks).
 */
int smbc_open_later(struct smb_client *c, const char *path, const struct smbc_open_args *a,
		    struct smbc_file **out);
/* Whether f is still waiting to be created. */
int smbc_file_later(struct smbc_file *f);
/* The error that lost f (its create failed, a reopen failed), or 0. */
int smbc_file_error(struct smbc_file *f);
/* Create f now if it waits; 0 or the error of its create. */
int smbc_create_now(struct smb_client *c, struct smbc_file *f);
/* Create f (if it waits) with len (may be 0) bytes at off: one compound. */
int smbc_create_write(struct smb_client *c, struct smbc_file *f, uint64_t off, const void *data,
		      size_t len);
/* Create the files waiting to be created for age seconds or more (a timer's job). */
void smbc_create_due(struct smb_client *c, double age);
/* Whether opens get leases on this connection (SMB 2.1+, offered and granted by the server). */
int smbc_leases_on(struct smb_client *c);

/* Close and free the file (also when the connection is gone). */
int smbc_close(struct smb_client *c, struct smbc_file *f);

/* Lease state the server granted on this open (SMB2_LEASE_*; 0 = none). */
uint32_t smbc_file_lease(struct smbc_file *f);
/* A lease break lowered it (called by whoever handles the break). */
void smbc_file_set_lease(struct smbc_file *f, uint32_t state);

/*
 * Lease breaks (MS-SMB2 3.2.5.19.2). The handler runs on a connection's loop
 * thread and must not block: queue the work. If it returns non-zero (not
 * handled) or none is set, the client acknowledges at once. A handler that
 * takes a break must call smbc_lease_ack() when it has flushed/invalidated.
 */
typedef int (*smbc_lease_break_fn)(void *arg, const uint8_t key[16], uint32_t new_state,
				   int ack_required);
void smbc_set_lease_handler(struct smb_client *c, smbc_lease_break_fn fn, void *arg);
int smbc_lease_ack(struct smb_client *c, const uint8_t key[16], uint32_t state);

/* The file was renamed: reopen it by its new path if that is ever needed. */
int smbc_file_set_path(struct smbc_file *f, const char *path);

/*
 * List a directory: open it, stream QUERY_DIRECTORY (FileIdBothDirectoryInformation,
 * 64 KiB buffers) until the end, close. fn is called for each entry (including "."
 * and ".."); a non-zero return stops the listing and is returned. If the
 * connection fails midway the listing starts again: fn(NULL, NULL, arg)
 * first tells the caller to forget what it was given.
 */
typedef int (*smbc_dirent_fn)(const char *name, const struct smb_stat *st, void *arg);
int smbc_list_dir(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg);
/*
 * smbc_list_dir, but only as far as the first round trip (the CREATE +
 * QUERY_DIRECTORY x2 compound) goes: -EFBIG when the directory has more
 * entries than that answer held (fn was given those; the caller drops them).
 * For listings fetched ahead of need, which must not stream a huge directory.
 */
int smbc_list_dir_one_trip(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg);

int smbc_statfs(struct smb_client *c, struct smb_statfs *out);

/* Write len bytes at off (len <= c->max_write). Returns bytes written. */
ssize_t smbc_write(struct smb_client *c, struct smbc_file *f, uint64_t off, const void *buf,
		   size_t len);

/* SMB2 FLUSH: the server commits the file's data to stable storage. */
int smbc_flush(struct smb_client *c, struct smbc_file *f);

/* Create a directory and return its attributes: one compound. */
int smbc_mkdir(struct smb_client *c, const char *path, struct smb_stat *st);

/* Delete a file or an empty directory (-ENOTEMPTY otherwise): one compound. */
int smbc_delete(struct smb_client *c, const char *path, int is_dir);

/* Rename from -> to (share-relative); replace an existing target if asked. One compound. */
int smbc_rename(struct smb_client *c, const char *from, const char *to, int replace);

/* SET_INFO of a file information class, by path (one compound) or by open handle. */
int smbc_set_info_path(struct smb_client *c, const char *path, uint32_t access, uint8_t cls,
		       const uint8_t *buf, uint32_t len);
/*
 * WRITE len bytes at off then SET_INFO(cls, buf) on f, as one compound (one
 * round trip); len 0: the SET_INFO only. A file created later is created in
 * the same compound. 0 when all succeeded (the whole write), else -errno.
 */
int smbc_write_set_info(struct smb_client *c, struct smbc_file *f, uint64_t off,
			const void *data, size_t len, uint8_t cls, const uint8_t *buf,
			uint32_t blen);
int smbc_set_info_fid(struct smb_client *c, struct smbc_file *f, uint8_t cls,
		      const uint8_t *buf, uint32_t len);

/*
 * Asynchronous READ/WRITE for bulk I/O: the callback runs exactly once, on a
 * connection's loop thread or the reconnect thread (it must not block or
 * wait for another reply). I/O cut off by a connection failure is replayed
 * on the next connection, not failed (soft mounts: until the soft timeout).
 * For reads, data is a view valid only during the callback unless the caller
 * takes the keep reference (smbc_buf_get) it is given.
 */
struct smbc_buf; /* a received frame kept alive for zero-copy data */
void smbc_buf_get(struct smbc_buf *b);
void smbc_buf_put(struct smbc_buf *b);
typedef void (*smbc_read_cb)(void *arg, ssize_t rc, const uint8_t *data, struct smbc_buf *keep);
int smbc_read_async(struct smb_client *c, struct smbc_file *f, uint64_t off, size_t len,
		    smbc_read_cb cb, void *arg);
typedef void (*smbc_write_cb)(void *arg, ssize_t rc);
/*
 * A buffer lent to a WRITE instead of copied: the WRITE takes a reference
 * (get) before smbc_write_async() returns and drops it (put, on any thread)
 * once it needs the data no more: after the final completion, i.e. also
 * across reconnects and replays until the server answered or the WRITE
 * failed for good.
 */
struct smbc_lend {
	void (*get)(void *owner);
	void (*put)(void *owner);
	void *owner;
};
/*
 * lend NULL: copies buf before returning. Otherwise buf (inside the lender's
 * buffer) must stay unchanged while the WRITE holds its reference.
 */
int smbc_write_async(struct smb_client *c, struct smbc_file *f, uint64_t off,
		     const void *buf, size_t len, const struct smbc_lend *lend,
		     smbc_write_cb cb, void *arg);

/* FileAllInformation of an open handle. */
int smbc_query_fid(struct smb_client *c, struct smbc_file *f, struct smb_stat *st);

/*
 * The calling thread's cancel flag: while *flag is non-zero, a call waiting
 * for a reconnect gives up with -EINTR (the FUSE layer points it at a flag
 * its interrupt handler sets). NULL: none.
 */
void smbc_set_cancel(const volatile int *flag);
const volatile int *smbc_get_cancel(void);

/*
 * CHANGE_NOTIFY (MS-SMB2 3.2.4.13) on an open directory, with no deadline:
 * the server answers when something changes. cb runs exactly once, on a
 * loop thread (it must not block), with
 *   rc 0, status STATUS_SUCCESS: buf/len hold the FILE_NOTIFY_INFORMATION
 *      list (a view valid during the call; may be empty);
 *   rc 0, another status: STATUS_NOTIFY_ENUM_DIR (too many changes: rescan),
 *      STATUS_NOTIFY_CLEANUP (the handle was closed), or an error;
 *   rc < 0: the connection failed (re-arm once smbc_gen() moved past
 *      *gen_out) or the response was malformed (-EIO).
 * May block to reopen dir after a reconnect (not on a loop thread). Does not
 * take ownership of dir; close it (smbc_close) to end the watch: the server
 * then completes the request with STATUS_NOTIFY_CLEANUP.
 */
typedef void (*smbc_notify_cb)(void *arg, int rc, uint32_t status, const uint8_t *buf,
			       uint32_t len);
int smbc_notify_async(struct smb_client *c, struct smbc_file *dir, uint16_t flags,
		      uint32_t filter, uint32_t out_len, smbc_notify_cb cb, void *arg,
		      uint64_t *gen_out);

/* Round trips sent so far (debug counter). */
unsigned long smbc_round_trips(struct smb_client *c);

#endif
