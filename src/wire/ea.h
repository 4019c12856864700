/*
 * ea.h - the MS-FSCC payloads behind the POSIX extras, none of which is an
 * SMB2 command of its own:
 *
 *   - FILE_FULL_EA_INFORMATION lists (MS-FSCC 2.4.15), carried by
 *     QUERY_INFO / SET_INFO FileFullEaInformation: extended attributes;
 *   - REPARSE_DATA_BUFFER (MS-FSCC 2.1.2): symbolic links as Windows
 *     (IO_REPARSE_TAG_SYMLINK), NFS (IO_REPARSE_TAG_NFS) and WSL
 *     (IO_REPARSE_TAG_LX_SYMLINK) write them, and the other WSL/NFS special
 *     file tags;
 *   - FSCTL buffers (MS-FSCC 2.3, MS-SMB2 2.2.31.1, 2.2.32.1, 2.2.32.3):
 *     SRV_REQUEST_RESUME_KEY, SRV_COPYCHUNK_COPY and its response,
 *     FILE_ALLOCATED_RANGE_BUFFER (QUERY_ALLOCATED_RANGES),
 *     FILE_ZERO_DATA_INFORMATION (SET_ZERO_DATA), FILE_SET_SPARSE_BUFFER;
 *   - Minshall-French symlink files ("XSym", the cifs.ko mfsymlinks format):
 *     a 1067-byte regular file holding the target and its MD5.
 *
 * Conventions as fscc.h: decoders take the information/FSCTL buffer, return 0
 * or -EBADMSG and never allocate (views point into the buffer); encoders
 * append to a caller wbuf, return 0 or -EMSGSIZE/-EINVAL/-EILSEQ/-ENAMETOOLONG
 * and leave the wbuf unchanged on failure.
 */
#ifndef SMBF_WIRE_EA_H
#define SMBF_WIRE_EA_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

/* ------------------------------------------------------------ extended attributes */

/* MS-FSCC 2.4.15 Flags */
#define FILE_NEED_EA 0x80

/* Limits of the wire format: EaNameLength is a u8, EaValueLength a u16. */
#define EA_NAME_MAX 255
#define EA_VALUE_MAX 65535

/* One FILE_FULL_EA_INFORMATION entry: views into the list. */
struct ea_entry {
	uint8_t flags;
	const char *name;     /* name_len bytes, not NUL-terminated in the view */
	uint8_t name_len;
	const uint8_t *value; /* NULL when value_len == 0 */
	uint16_t value_len;
};

struct ea_iter {
	const uint8_t *p;
	uint32_t len;
	uint32_t off;
	int done; /* 1 at the end, -1 after an error */
};

void ea_iter_init(struct ea_iter *it, const uint8_t *buf, uint32_t len);
/*
 * 1 and *e filled, 0 at the end, -EBADMSG on a malformed entry: fixed part,
 * name, its terminating NUL or the value outside the buffer or the entry, a
 * NUL inside the name, NextEntryOffset that does not move past the entry.
 * After <= 0 it keeps returning the same. An empty buffer has no entries.
 */
int ea_iter_next(struct ea_iter *it, struct ea_entry *e);

/*
 * Builder for a FILE_FULL_EA_INFORMATION list (SET_INFO FileFullEaInformation):
 * entries are 4-byte aligned and chained through NextEntryOffset. A value of
 * length 0 deletes that EA. The list must start 4-aligned within w.
 */
struct ea_list {
	struct wbuf *w;
	size_t start;
	size_t last; /* offset of the previous entry */
	unsigned count;
};

void ea_list_init(struct ea_list *l, struct wbuf *w);
/* name: 1..EA_NAME_MAX bytes without NUL; value_len <= EA_VALUE_MAX. */
int ea_list_add(struct ea_list *l, const char *name, size_t name_len, const void *value,
		size_t value_len, uint8_t flags);
static inline size_t ea_list_len(const struct ea_list *l)
{
	return l->w->off - l->start;
}

/* ------------------------------------------------------------ reparse points */

/* MS-FSCC 2.1.2.1 reparse tags */
#define IO_REPARSE_TAG_SYMLINK 0xA000000Cu
#define IO_REPARSE_TAG_MOUNT_POINT 0xA0000003u
#define IO_REPARSE_TAG_NFS 0x80000014u
#define IO_REPARSE_TAG_LX_SYMLINK 0xA000001Du
#define IO_REPARSE_TAG_AF_UNIX 0x80000023u
#define IO_REPARSE_TAG_LX_FIFO 0x80000024u
#define IO_REPARSE_TAG_LX_CHR 0x80000025u
#define IO_REPARSE_TAG_LX_BLK 0x80000026u

/* MS-FSCC 2.1.2.4 Flags */
#define SYMLINK_FLAG_RELATIVE 0x00000001u

/* MS-FSCC 2.1.2.6 NFS reparse Type */
#define NFS_SPECFILE_LNK UINT64_C(0x00000000014B4E4C)
#define NFS_SPECFILE_CHR UINT64_C(0x0000000000524843)
#define NFS_SPECFILE_BLK UINT64_C(0x00000000004B4C42)
#define NFS_SPECFILE_FIFO UINT64_C(0x000000004F464946)
#define NFS_SPECFILE_SOCK UINT64_C(0x000000004B434F53)

/* Largest reparse buffer (MAXIMUM_REPARSE_DATA_BUFFER_SIZE): also the IOCTL output to ask for. */
#define REPARSE_BUFFER_MAX (16 * 1024)

/* What a reparse point means to POSIX. */
enum reparse_kind {
	REPARSE_OTHER = 0, /* a tag with no POSIX meaning: show the file as it is */
	REPARSE_SYMLINK,
	REPARSE_FIFO,
	REPARSE_SOCK,
	REPARSE_CHR,
	REPARSE_BLK,
};

struct reparse_info {
	uint32_t tag;
	enum reparse_kind kind;
	/* symlinks: the target, as stored (encoding per target_utf16) */
	const uint8_t *target;
	uint32_t target_len;   /* bytes */
	int target_utf16;      /* 1: UTF-16LE (SYMLINK, NFS); 0: UTF-8 (LX_SYMLINK) */
	int target_windows;    /* 1: '\\' separators (IO_REPARSE_TAG_SYMLINK) */
	uint32_t flags;        /* IO_REPARSE_TAG_SYMLINK Flags */
};

/*
 * Decode a REPARSE_DATA_BUFFER (the FSCTL_GET_REPARSE_POINT output). The tag
 * alone decides kind for the WSL tags; IO_REPARSE_TAG_NFS needs its Type.
 * For IO_REPARSE_TAG_SYMLINK the target is the PrintName when there is one,
 * else the SubstituteName. Unknown tags decode as REPARSE_OTHER.
 */
int reparse_decode(const uint8_t *buf, uint32_t len, struct reparse_info *out);

/*
 * The symlink target as a POSIX path in out (NUL-terminated, *out_len bytes):
 * UTF-16 is converted, Windows separators become '/', and an absolute
 * IO_REPARSE_TAG_SYMLINK target loses its NT prefix ("\??\C:\x" -> "C:/x").
 * Returns 0, -EINVAL (not a symlink), -EILSEQ, -ENAMETOOLONG (out too small).
 */
int reparse_symlink_target(const struct reparse_info *ri, char *out, size_t cap, size_t *out_len);

/*
 * A reparse buffer for a symlink to target (UTF-8, '/' separators):
 * IO_REPARSE_TAG_SYMLINK (2.1.2.4; SubstituteName and PrintName both the
 * target with '\\' separators; relative unless target starts with '/'), or
 * IO_REPARSE_TAG_NFS with NFS_SPECFILE_LNK (2.1.2.6; the target verbatim).
 */
int reparse_symlink_encode(struct wbuf *w, const char *target);
int reparse_nfs_symlink_encode(struct wbuf *w, const char *target);

/* ------------------------------------------------------------ FSCTL buffers */

/* MS-FSCC 2.3 control codes not in smb2.h */
#define FSCTL_SET_SPARSE 0x000900C4u

/* MS-SMB2 2.2.32.3 SRV_REQUEST_RESUME_KEY response */
#define SRV_RESUME_KEY_SIZE 24
int resume_key_decode(const uint8_t *buf, uint32_t len, uint8_t key[SRV_RESUME_KEY_SIZE]);

/* MS-SMB2 2.2.31.1.1 SRV_COPYCHUNK */
struct srv_copychunk {
	uint64_t source_offset;
	uint64_t target_offset;
	uint32_t length;
};
#define SRV_COPYCHUNK_SIZE 24
#define SRV_COPYCHUNK_COPY_LEN(n) (32u + SRV_COPYCHUNK_SIZE * (unsigned)(n))

/* MS-SMB2 2.2.31.1 SRV_COPYCHUNK_COPY: -EINVAL for no chunks. */
int copychunk_encode(struct wbuf *w, const uint8_t key[SRV_RESUME_KEY_SIZE],
		     const struct srv_copychunk *chunks, uint32_t n);

/*
 * MS-SMB2 2.2.32.1 SRV_COPYCHUNK_RESPONSE. After STATUS_INVALID_PARAMETER the
 * same three fields carry the server's limits (max chunks, max chunk size,
 * max total) instead (3.3.5.15.6).
 */
struct srv_copychunk_resp {
	uint32_t chunks_written;
	uint32_t chunk_bytes_written;
	uint32_t total_bytes_written;
};
int copychunk_resp_decode(const uint8_t *buf, uint32_t len, struct srv_copychunk_resp *out);

/* MS-FSCC 2.3.51 (request) / 2.3.52 (reply) FILE_ALLOCATED_RANGE_BUFFER */
struct alloc_range {
	uint64_t offset;
	uint64_t length;
};
#define ALLOC_RANGE_SIZE 16
int alloc_range_encode(struct wbuf *w, uint64_t offset, uint64_t length);
/*
 * Decode the output array: up to cap entries into out, *n set to how many.
 * -EBADMSG when len is not a multiple of 16, a range has a negative offset or
 * length (the fields are signed on the wire) or wraps past 2^63.
 */
int alloc_ranges_decode(const uint8_t *buf, uint32_t len, struct alloc_range *out, size_t cap,
			size_t *n);

/* MS-FSCC 2.3 FSCTL_SET_ZERO_DATA: FILE_ZERO_DATA_INFORMATION, bytes [offset, beyond) read as zero. */
int zero_data_encode(struct wbuf *w, uint64_t offset, uint64_t beyond_final_zero);

/* MS-FSCC 2.3 FSCTL_SET_SPARSE: FILE_SET_SPARSE_BUFFER (1 byte). */
int set_sparse_encode(struct wbuf *w, int sparse);

/* ------------------------------------------------------------ Minshall-French symlinks */

#define MFSYMLINK_FILE_SIZE 1067 /* "XSym\n" + "%04u\n" + 32 hex + "\n" + 1024 */
#define MFSYMLINK_TARGET_MAX 1024

/* Quick test: could buf (len bytes, the start of a file of file_size bytes) be one? */
int mfsymlink_maybe(const uint8_t *buf, size_t len, uint64_t file_size);

/*
 * Encode a symlink file for target (1..MFSYMLINK_TARGET_MAX bytes) whose MD5
 * the caller computed (the codec does no crypto). out holds
 * MFSYMLINK_FILE_SIZE bytes. Returns 0 or -ENAMETOOLONG/-EINVAL.
 */
int mfsymlink_encode(uint8_t out[MFSYMLINK_FILE_SIZE], const char *target, size_t target_len,
		     const uint8_t md5[16]);
/*
 * Parse a symlink file: -EINVAL unless it has the size, magic, a length of at
 * most MFSYMLINK_TARGET_MAX and a 32-digit hex MD5. *target is a view of
 * *target_len bytes; md5 gets the stored digest for the caller to check.
 */
int mfsymlink_decode(const uint8_t *buf, size_t len, const uint8_t **target, size_t *target_len,
		     uint8_t md5[16]);

#endif
