/*
 * create.h - CREATE (MS-SMB2 2.2.13, 2.2.14) and create contexts
 * (2.2.13.2, 2.2.14.2). Conventions (body-only encoders, whole-PDU decoders,
 * views): negotiate.h.
 *
 * Also home of struct smb2_file_id, used by every handle-based command.
 */
#ifndef SMBF_WIRE_CREATE_H
#define SMBF_WIRE_CREATE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.14.1 SMB2_FILEID */
struct smb2_file_id {
	uint64_t persistent;
	uint64_t volatile_;
};

#define SMB2_FILE_ID_SIZE 16

/* Append / read a 16-byte SMB2_FILEID (used by all command codecs). */
static inline WUR int put_file_id(struct wbuf *w, const struct smb2_file_id *fid)
{
	if (w->off > w->cap || w->cap - w->off < SMB2_FILE_ID_SIZE)
		return -EMSGSIZE;
	le64_store(w->p + w->off, fid->persistent);
	le64_store(w->p + w->off + 8, fid->volatile_);
	w->off += SMB2_FILE_ID_SIZE;
	return 0;
}

static inline WUR int get_file_id(struct rbuf *r, struct smb2_file_id *fid)
{
	if (rbuf_left(r) < SMB2_FILE_ID_SIZE)
		return -EBADMSG;
	fid->persistent = le64_load(r->p + r->off);
	fid->volatile_ = le64_load(r->p + r->off + 8);
	r->off += SMB2_FILE_ID_SIZE;
	return 0;
}

/* MS-SMB2 2.2.13 */
struct create_req {
	uint8_t requested_oplock_level; /* SMB2_OPLOCK_LEVEL_*; LEASE with a RqLs context */
	uint32_t impersonation_level;   /* SMB2_IMPERSONATION_IMPERSONATION usually */
	uint32_t desired_access;        /* access mask, smb2.h */
	uint32_t file_attributes;       /* FILE_ATTRIBUTE_* */
	uint32_t share_access;          /* FILE_SHARE_* */
	uint32_t create_disposition;    /* FILE_OPEN ... FILE_OVERWRITE_IF */
	uint32_t create_options;        /* FILE_DIRECTORY_FILE ... */
	/*
	 * UTF-8 path relative to the share root with '/' separators (converted
	 * to UTF-16LE with '\\'). NULL or "" opens the share root. Leading '/'
	 * characters are skipped.
	 */
	const char *name;
	/* Optional pre-encoded create context list (struct cctx_list below). */
	const uint8_t *contexts;
	size_t contexts_len;
};

/*
 * Returns 0, -EMSGSIZE, -EILSEQ (invalid UTF-8), -ENAMETOOLONG (name over
 * 65535 UTF-16 bytes) or -EINVAL.
 */
int create_req_encode(struct wbuf *w, const struct create_req *req);

/* MS-SMB2 2.2.14 */
struct create_resp {
	uint8_t oplock_level;
	uint8_t flags; /* SMB2_CREATE_FLAG_REPARSEPOINT */
	uint32_t create_action; /* FILE_OPENED, FILE_CREATED, ... */
	uint64_t creation_time; /* raw FILETIME; see time.h */
	uint64_t last_access_time;
	uint64_t last_write_time;
	uint64_t change_time;
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t file_attributes;
	struct smb2_file_id file_id;
	const uint8_t *contexts; /* view of the context list; walk it with cctx_iter */
	uint32_t contexts_len;
};

int create_resp_decode(const uint8_t *pdu, size_t len, struct create_resp *resp);

/*
 * Create context list builder (MS-SMB2 2.2.13.2). Appends entries into a
 * caller-owned wbuf, chaining Next fields and 8-byte alignment; pass
 * (w->p + start, cctx_list_len()) as create_req.contexts. The list must start
 * 8-aligned within w (true for a fresh wbuf). On error the entry is not added
 * and the wbuf is unchanged.
 */
struct cctx_list {
	struct wbuf *w;
	size_t start; /* w->off when the list began */
	size_t last;  /* position of the previous entry */
	unsigned count;
};

void cctx_list_init(struct cctx_list *l, struct wbuf *w);
static inline size_t cctx_list_len(const struct cctx_list *l)
{
	return l->w->off - l->start;
}
static inline const uint8_t *cctx_list_data(const struct cctx_list *l)
{
	return l->w->p + l->start;
}

/* Generic entry: name (name_len bytes, e.g. 4 ASCII) and data (may be empty). */
int cctx_add(struct cctx_list *l, const void *name, uint16_t name_len, const void *data,
	     uint32_t data_len);
/* "RqLs" SMB2_CREATE_REQUEST_LEASE_V2 (2.2.13.2.10); parent_key may be NULL. */
int cctx_add_lease_v2(struct cctx_list *l, const uint8_t key[SMB2_LEASE_KEY_SIZE],
		      uint32_t state, const uint8_t *parent_key, uint16_t epoch);
/* "RqLs" SMB2_CREATE_REQUEST_LEASE v1 (2.2.13.2.8), for 2.1 servers. */
int cctx_add_lease_v1(struct cctx_list *l, const uint8_t key[SMB2_LEASE_KEY_SIZE],
		      uint32_t state);
/* "DH2Q" SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 (2.2.13.2.11). timeout in ms. */
int cctx_add_dh2q(struct cctx_list *l, uint32_t timeout, uint32_t flags,
		  const uint8_t create_guid[16]);
/* "DH2C" SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 (2.2.13.2.12). */
int cctx_add_dh2c(struct cctx_list *l, const struct smb2_file_id *fid,
		  const uint8_t create_guid[16], uint32_t flags);
/* "QFid" SMB2_CREATE_QUERY_ON_DISK_ID (2.2.13.2.9), no data. */
int cctx_add_qfid(struct cctx_list *l);
/* "MxAc" SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST (2.2.13.2.5); timestamp 0 = none. */
int cctx_add_mxac(struct cctx_list *l, uint64_t timestamp);

/* One create context (request or response), views into the list. */
struct create_ctx {
	const uint8_t *name;
	uint16_t name_len;
	const uint8_t *data; /* NULL if data_len == 0 */
	uint32_t data_len;
};

/* Iterator over a create context list (MS-SMB2 2.2.13.2 / 2.2.14.2). */
struct cctx_iter {
	const uint8_t *p;
	uint32_t len;
	uint32_t off;
	int done;
};

void cctx_iter_init(struct cctx_iter *it, const uint8_t *p, uint32_t len);
/*
 * 1 and *c filled, 0 at the end, -EBADMSG if an entry is malformed (Next not
 * 8-aligned or past the end, name/data outside the entry). Once it returned
 * <= 0 it keeps doing so.
 */
int cctx_iter_next(struct cctx_iter *it, struct create_ctx *c);
/* Find the first context named name (name_len bytes): 1 found, 0 absent, -EBADMSG. */
int cctx_find(const uint8_t *p, uint32_t len, const void *name, uint16_t name_len,
	      struct create_ctx *c);

/* RqLs response (2.2.14.2.10 v2 = 52 bytes, 2.2.14.2.11 v1 = 32 bytes). */
struct lease_ctx {
	uint8_t key[SMB2_LEASE_KEY_SIZE];
	uint32_t state; /* SMB2_LEASE_* granted */
	uint32_t flags;
	uint64_t duration;
	uint8_t parent_key[SMB2_LEASE_KEY_SIZE]; /* v2 only */
	uint16_t epoch;                          /* v2 only */
	int version;                             /* 1 or 2 */
};
int cctx_decode_lease(const struct create_ctx *c, struct lease_ctx *out);
/* DH2Q response (2.2.14.2.12): Timeout and Flags. */
int cctx_decode_dh2q(const struct create_ctx *c, uint32_t *timeout, uint32_t *flags);
/* QFid response (2.2.14.2.9): DiskFileId and VolumeId. */
int cctx_decode_qfid(const struct create_ctx *c, uint64_t *disk_file_id, uint64_t *volume_id);
/* MxAc response (2.2.14.2.5): QueryStatus (NTSTATUS) and MaximalAccess. */
int cctx_decode_mxac(const struct create_ctx *c, uint32_t *query_status,
		     uint32_t *maximal_access);

#endif
