/*
 * ops_ext.h - the SMB-level operations behind the POSIX extras: hard links,
 * symlinks (reparse points and Minshall-French files), extended attributes,
 * byte-range locks, sparse files and server-side copy.
 *
 * Conventions as ops.h: share-relative UTF-8 paths, 0/byte counts or -errno,
 * thread-safe, every call bounded by the request deadline and replayed
 * across reconnects (smbc_call_chain). Path operations are one compound
 * (CREATE + ... + CLOSE) unless noted.
 */
#ifndef SMBF_CLIENT_OPS_EXT_H
#define SMBF_CLIENT_OPS_EXT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/ops.h"
#include "wire/ea.h"
#include "wire/lock.h"

/*
 * Make `to` another name of the file `from` (FileLinkInformation). With st,
 * the file's attributes afterwards (NumberOfLinks counts the new name) come
 * back from the same compound.
 */
int smbc_link(struct smb_client *c, const char *from, const char *to, int replace,
	      struct smb_stat *st);

/* Read up to len (<= 64 KiB) bytes at off of the file at path. Returns bytes read. */
ssize_t smbc_read_path(struct smb_client *c, const char *path, uint64_t off, void *buf,
		       size_t len);

/*
 * Create a new file (FILE_CREATE: -EEXIST if the name is taken) holding
 * data, and return its attributes: CREATE + WRITE + QUERY_INFO + CLOSE.
 */
int smbc_create_file(struct smb_client *c, const char *path, const void *data, size_t len,
		     uint32_t attrs, struct smb_stat *st);

/* ------------------------------------------------------------ XSym symlinks */

/*
 * The target of the Minshall-French symlink file at path (cifs.ko
 * mfsymlinks): out gets it NUL-terminated. -EINVAL when the file is not one
 * (size, magic, length or MD5 wrong), -ENAMETOOLONG if cap is too small.
 */
int smbc_read_mfsymlink(struct smb_client *c, const char *path, char *out, size_t cap,
			size_t *out_len);

/* Create path as a symlink file to target (at most 1024 bytes); st as smbc_create_file. */
int smbc_create_mfsymlink(struct smb_client *c, const char *path, const char *target,
			  struct smb_stat *st);

/* ------------------------------------------------------------ reparse points */

/*
 * FSCTL_GET_REPARSE_POINT of path (opened with FILE_OPEN_REPARSE_POINT).
 * On success *buf (malloc'd, caller frees) holds *len bytes of
 * REPARSE_DATA_BUFFER. -ENODATA: not a reparse point.
 */
int smbc_get_reparse(struct smb_client *c, const char *path, uint8_t **buf, uint32_t *len);

/*
 * Create path as a reparse point with the given REPARSE_DATA_BUFFER and
 * return its attributes. If the server refuses the reparse data, the file
 * it created is removed again and the refusal returned (-EOPNOTSUPP when
 * the server cannot store reparse points at all).
 */
int smbc_create_reparse(struct smb_client *c, const char *path, const uint8_t *rp, uint32_t len,
			int directory, struct smb_stat *st);

/* ------------------------------------------------------------ extended attributes */

/*
 * All EAs of path as a FILE_FULL_EA_INFORMATION list in *buf (malloc'd,
 * caller frees; NULL and 0 when there are none). -EOPNOTSUPP when the share
 * has no EA support.
 */
int smbc_get_eas(struct smb_client *c, const char *path, uint8_t **buf, uint32_t *len);

/* SET_INFO FileFullEaInformation with a list built by ea_list_add (value 0 = delete). */
int smbc_set_eas(struct smb_client *c, const char *path, const uint8_t *list, uint32_t len);

/* ------------------------------------------------------------ open files */

/*
 * One SMB2 LOCK of n elements on f. Lock elements must carry
 * SMB2_LOCKFLAG_FAIL_IMMEDIATELY (blocking waits are the caller's: see
 * fs/ops_ext.c). A lock refused because of another holder is -EAGAIN.
 */
int smbc_lock(struct smb_client *c, struct smbc_file *f, const struct smb2_lock_element *e,
	      uint16_t n);

/*
 * FSCTL_QUERY_ALLOCATED_RANGES for [off, off + len): up to cap ranges into
 * out, *n how many (the server may have more: ask again from the end of
 * the last one). -EOPNOTSUPP when the server does not do it.
 */
int smbc_query_ranges(struct smb_client *c, struct smbc_file *f, uint64_t off, uint64_t len,
		      struct alloc_range *out, size_t cap, size_t *n);

/* FSCTL_SET_ZERO_DATA: [off, end) reads as zeros, deallocated on a sparse file. */
int smbc_zero_data(struct smb_client *c, struct smbc_file *f, uint64_t off, uint64_t end);

/* FSCTL_SET_SPARSE. */
int smbc_set_sparse(struct smb_client *c, struct smbc_file *f, int sparse);

/*
 * Server-side copy of len bytes from src at soff to dst at doff
 * (FSCTL_SRV_REQUEST_RESUME_KEY on src, then FSCTL_SRV_COPYCHUNK_WRITE on dst
 * in requests of at most the server's chunk limits). Returns bytes copied
 * (short only on error after some progress), or -errno: -EOPNOTSUPP when the
 * server does not support server-side copy.
 */
ssize_t smbc_copy_range(struct smb_client *c, struct smbc_file *src, uint64_t soff,
			struct smbc_file *dst, uint64_t doff, uint64_t len);

#endif
