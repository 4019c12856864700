/*
 * create.c - CREATE (MS-SMB2 2.2.13, 2.2.14) and create contexts
 * (2.2.13.2, 2.2.14.2). See create.h.
 */
#include "wire/create.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/* MS-SMB2 2.2.13 CREATE request, offsets within the body. */
enum {
	CREATE_REQ_STRUCTURE_SIZE = 57,
	CREATE_REQ_SECURITY_FLAGS = 2,
	CREATE_REQ_OPLOCK_LEVEL = 3,
	CREATE_REQ_IMPERSONATION = 4,
	CREATE_REQ_SMB_CREATE_FLAGS = 8,
	CREATE_REQ_RESERVED = 16,
	CREATE_REQ_DESIRED_ACCESS = 24,
	CREATE_REQ_FILE_ATTRIBUTES = 28,
	CREATE_REQ_SHARE_ACCESS = 32,
	CREATE_REQ_DISPOSITION = 36,
	CREATE_REQ_OPTIONS = 40,
	CREATE_REQ_NAME_OFFSET = 44,
	CREATE_REQ_NAME_LENGTH = 46,
	CREATE_REQ_CTX_OFFSET = 48,
	CREATE_REQ_CTX_LENGTH = 52,
	CREATE_REQ_BUFFER = 56,
};

/* MS-SMB2 2.2.14 CREATE response. */
enum {
	CREATE_RESP_STRUCTURE_SIZE = 89,
	CREATE_RESP_OPLOCK_LEVEL = 2,
	CREATE_RESP_FLAGS = 3,
	CREATE_RESP_ACTION = 4,
	CREATE_RESP_CREATION_TIME = 8,
	CREATE_RESP_LAST_ACCESS_TIME = 16,
	CREATE_RESP_LAST_WRITE_TIME = 24,
	CREATE_RESP_CHANGE_TIME = 32,
	CREATE_RESP_ALLOCATION_SIZE = 40,
	CREATE_RESP_END_OF_FILE = 48,
	CREATE_RESP_FILE_ATTRIBUTES = 56,
	CREATE_RESP_RESERVED2 = 60,
	CREATE_RESP_FILE_ID = 64,
	CREATE_RESP_CTX_OFFSET = 80,
	CREATE_RESP_CTX_LENGTH = 84,
	CREATE_RESP_BUFFER = 88,
};

/* MS-SMB2 2.2.13.2 SMB2_CREATE_CONTEXT header, offsets within one entry. */
enum {
	CCTX_NEXT = 0,
	CCTX_NAME_OFFSET = 4,
	CCTX_NAME_LENGTH = 6,
	CCTX_RESERVED = 8,
	CCTX_DATA_OFFSET = 10,
	CCTX_DATA_LENGTH = 12,
	CCTX_HDR_SIZE = 16,
	CCTX_ALIGN = 8,
};

/* Context data sizes. */
enum {
	LEASE_V1_SIZE = 32, /* 2.2.13.2.8: Key(16) State(4) Flags(4) Duration(8) */
	LEASE_V2_SIZE = 52, /* 2.2.13.2.10: + ParentKey(16) Epoch(2) Reserved(2) */
	DH2Q_REQ_SIZE = 32, /* 2.2.13.2.11: Timeout(4) Flags(4) Reserved(8) CreateGuid(16) */
	DH2C_REQ_SIZE = 36, /* 2.2.13.2.12: FileId(16) CreateGuid(16) Flags(4) */
	DH2Q_RESP_SIZE = 8, /* 2.2.14.2.12: Timeout(4) Flags(4) */
	QFID_RESP_MIN = 16, /* 2.2.14.2.9: DiskFileId(8) VolumeId(8) Reserved(16) */
	MXAC_RESP_SIZE = 8, /* 2.2.14.2.5: QueryStatus(4) MaximalAccess(4) */
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int create_req_encode(struct wbuf *w, const struct create_req *req)
{
	size_t base = w->off, n16 = 0, name_len;
	const char *name = req->name ? req->name : "";
	int rc = 0;

	if (req->contexts_len && !req->contexts)
		return -EINVAL;
	if (req->contexts_len > UINT32_MAX)
		return -EMSGSIZE;
	while (*name == '/')
		name++;
	name_len = strlen(name);

	rc |= put_u16le(w, CREATE_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, 0); /* SecurityFlags: MUST be 0 */
	rc |= put_u8(w, req->requested_oplock_level);
	rc |= put_u32le(w, req->impersonation_level);
	rc |= put_u64le(w, 0); /* SmbCreateFlags */
	rc |= put_u64le(w, 0); /* Reserved */
	rc |= put_u32le(w, req->desired_access);
	rc |= put_u32le(w, req->file_attributes);
	rc |= put_u32le(w, req->share_access);
	rc |= put_u32le(w, req->create_disposition);
	rc |= put_u32le(w, req->create_options);
	rc |= put_u16le(w, SMB2_HDR_SIZE + CREATE_REQ_BUFFER);
	rc |= put_u16le(w, 0); /* NameLength, poked below */
	rc |= put_u32le(w, 0); /* CreateContextsOffset, poked below */
	rc |= put_u32le(w, 0); /* CreateContextsLength, poked below */
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	if (name_len) {
		rc = utf8_to_utf16le(name, name_len, w->p + w->off, w->cap - w->off, &n16, 1);
		if (rc)
			goto fail;
		if (n16 > UINT16_MAX) {
			rc = -ENAMETOOLONG;
			goto fail;
		}
		w->off += n16;
		rc = poke_u16le(w, base + CREATE_REQ_NAME_LENGTH, (uint16_t)n16);
		/* Pad to 8 so that contexts (and a following compound PDU) align. */
		rc = rc ? rc : put_zeros(w, align8(n16) - n16);
	} else {
		/* Share root: NameLength 0, but send 8 zero bytes as Windows clients do. */
		rc = put_zeros(w, CCTX_ALIGN);
	}
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	if (req->contexts_len) {
		size_t pos = SMB2_HDR_SIZE + (w->off - base);
		rc = put_bytes(w, req->contexts, req->contexts_len);
		rc = rc ? rc : poke_u32le(w, base + CREATE_REQ_CTX_OFFSET, (uint32_t)pos);
		rc = rc ? rc : poke_u32le(w, base + CREATE_REQ_CTX_LENGTH, (uint32_t)req->contexts_len);
		if (rc) {
			rc = -EMSGSIZE;
			goto fail;
		}
	}
	return 0;
fail:
	w->off = base;
	return rc;
}

int create_resp_decode(const uint8_t *pdu, size_t len, struct create_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;
	uint32_t reserved, ctx_off, ctx_len;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != CREATE_RESP_STRUCTURE_SIZE || get_u8(&r, &resp->oplock_level) ||
	    get_u8(&r, &resp->flags) || get_u32le(&r, &resp->create_action) ||
	    get_u64le(&r, &resp->creation_time) || get_u64le(&r, &resp->last_access_time) ||
	    get_u64le(&r, &resp->last_write_time) || get_u64le(&r, &resp->change_time) ||
	    get_u64le(&r, &resp->allocation_size) || get_u64le(&r, &resp->end_of_file) ||
	    get_u32le(&r, &resp->file_attributes) || get_u32le(&r, &reserved) ||
	    get_file_id(&r, &resp->file_id) || get_u32le(&r, &ctx_off) ||
	    get_u32le(&r, &ctx_len))
		return -EBADMSG;
	if (ctx_len) {
		if (ctx_off < SMB2_HDR_SIZE + CREATE_RESP_BUFFER || !range_ok(len, ctx_off, ctx_len))
			return -EBADMSG;
		resp->contexts = pdu + ctx_off;
		resp->contexts_len = ctx_len;
	}
	return 0;
}

void cctx_list_init(struct cctx_list *l, struct wbuf *w)
{
	l->w = w;
	l->start = w->off;
	l->last = w->off;
	l->count = 0;
}

int cctx_add(struct cctx_list *l, const void *name, uint16_t name_len, const void *data,
	     uint32_t data_len)
{
	struct wbuf *w = l->w;
	size_t save = w->off, entry, data_pos = 0;
	int rc = 0;

	if (!name_len || !name || (data_len && !data))
		return -EINVAL;
	if (l->count) /* entries start 8-aligned from the list start */
		rc |= put_zeros(w, align8(w->off - l->start) - (w->off - l->start));
	entry = w->off;
	rc |= put_u32le(w, 0); /* Next: set when a following entry is added */
	rc |= put_u16le(w, CCTX_HDR_SIZE);
	rc |= put_u16le(w, name_len);
	rc |= put_u16le(w, 0);
	rc |= put_u16le(w, 0); /* DataOffset, poked below */
	rc |= put_u32le(w, data_len);
	rc |= put_bytes(w, name, name_len);
	if (data_len) {
		rc |= put_zeros(w, align8(w->off - entry) - (w->off - entry));
		data_pos = w->off - entry;
		rc |= put_bytes(w, data, data_len);
		if (!rc && data_pos > UINT16_MAX)
			rc = -EMSGSIZE;
		rc |= rc ? 0 : poke_u16le(w, entry + CCTX_DATA_OFFSET, (uint16_t)data_pos);
	}
	if (!rc && l->count && entry - l->last > UINT32_MAX)
		rc = -EMSGSIZE;
	if (!rc && l->count)
		rc = poke_u32le(w, l->last + CCTX_NEXT, (uint32_t)(entry - l->last));
	if (rc) {
		w->off = save;
		return -EMSGSIZE;
	}
	l->last = entry;
	l->count++;
	return 0;
}

int cctx_add_lease_v2(struct cctx_list *l, const uint8_t key[SMB2_LEASE_KEY_SIZE],
		      uint32_t state, const uint8_t *parent_key, uint16_t epoch)
{
	uint8_t d[LEASE_V2_SIZE];
	struct wbuf w = wbuf_init(d, sizeof(d));
	int rc = 0;

	rc |= put_bytes(&w, key, SMB2_LEASE_KEY_SIZE);
	rc |= put_u32le(&w, state);
	rc |= put_u32le(&w, parent_key ? SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET : 0);
	rc |= put_u64le(&w, 0); /* LeaseDuration: MUST be 0 */
	rc |= parent_key ? put_bytes(&w, parent_key, SMB2_LEASE_KEY_SIZE)
			 : put_zeros(&w, SMB2_LEASE_KEY_SIZE);
	rc |= put_u16le(&w, epoch);
	rc |= put_u16le(&w, 0);
	if (rc)
		return -EMSGSIZE;
	return cctx_add(l, SMB2_CREATE_REQUEST_LEASE, SMB2_CREATE_CTX_NAME_LEN, d, sizeof(d));
}

int cctx_add_lease_v1(struct cctx_list *l, const uint8_t key[SMB2_LEASE_KEY_SIZE],
		      uint32_t state)
{
	uint8_t d[LEASE_V1_SIZE];
	struct wbuf w = wbuf_init(d, sizeof(d));
	int rc = 0;

	rc |= put_bytes(&w, key, SMB2_LEASE_KEY_SIZE);
	rc |= put_u32le(&w, state);
	rc |= put_u32le(&w, 0);
	rc |= put_u64le(&w, 0);
	if (rc)
		return -EMSGSIZE;
	return cctx_add(l, SMB2_CREATE_REQUEST_LEASE, SMB2_CREATE_CTX_NAME_LEN, d, sizeof(d));
}

int cctx_add_dh2q(struct cctx_list *l, uint32_t timeout, uint32_t flags,
		  const uint8_t create_guid[16])
{
	uint8_t d[DH2Q_REQ_SIZE];
	struct wbuf w = wbuf_init(d, sizeof(d));
	int rc = 0;

	rc |= put_u32le(&w, timeout);
	rc |= put_u32le(&w, flags);
	rc |= put_u64le(&w, 0);
	rc |= put_bytes(&w, create_guid, 16);
	if (rc)
		return -EMSGSIZE;
	return cctx_add(l, SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, SMB2_CREATE_CTX_NAME_LEN, d,
			sizeof(d));
}

int cctx_add_dh2c(struct cctx_list *l, const struct smb2_file_id *fid,
		  const uint8_t create_guid[16], uint32_t flags)
{
	uint8_t d[DH2C_REQ_SIZE];
	struct wbuf w = wbuf_init(d, sizeof(d));
	int rc = 0;

	rc |= put_file_id(&w, fid);
	rc |= put_bytes(&w, create_guid, 16);
	rc |= put_u32le(&w, flags);
	if (rc)
		return -EMSGSIZE;
	return cctx_add(l, SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2, SMB2_CREATE_CTX_NAME_LEN, d,
			sizeof(d));
}

int cctx_add_qfid(struct cctx_list *l)
{
	return cctx_add(l, SMB2_CREATE_QUERY_ON_DISK_ID, SMB2_CREATE_CTX_NAME_LEN, NULL, 0);
}

int cctx_add_mxac(struct cctx_list *l, uint64_t timestamp)
{
	uint8_t d[8];

	if (!timestamp)
		return cctx_add(l, SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST,
				SMB2_CREATE_CTX_NAME_LEN, NULL, 0);
	le64_store(d, timestamp);
	return cctx_add(l, SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST, SMB2_CREATE_CTX_NAME_LEN, d,
			sizeof(d));
}

void cctx_iter_init(struct cctx_iter *it, const uint8_t *p, uint32_t len)
{
	it->p = p;
	it->len = p ? len : 0;
	it->off = 0;
	it->done = (it->len == 0);
}

int cctx_iter_next(struct cctx_iter *it, struct create_ctx *c)
{
	struct rbuf r;
	uint32_t next, data_len, elen;
	uint16_t name_off, name_len, reserved, data_off;

	if (it->done)
		return it->done < 0 ? -EBADMSG : 0;
	r = rbuf_init(it->p + it->off, it->len - it->off);
	if (get_u32le(&r, &next) || get_u16le(&r, &name_off) || get_u16le(&r, &name_len) ||
	    get_u16le(&r, &reserved) || get_u16le(&r, &data_off) || get_u32le(&r, &data_len))
		goto bad;
	/* The entry spans [0, next) or, for the last one, the rest of the list. */
	if (next) {
		if ((next & (CCTX_ALIGN - 1)) || next < CCTX_HDR_SIZE || next > r.len)
			goto bad;
		elen = next;
	} else {
		elen = (uint32_t)r.len;
	}
	if (!name_len || name_off < CCTX_HDR_SIZE || !range_ok(elen, name_off, name_len))
		goto bad;
	c->name = r.p + name_off;
	c->name_len = name_len;
	c->data = NULL;
	c->data_len = 0;
	if (data_len) {
		if (data_off < CCTX_HDR_SIZE || !range_ok(elen, data_off, data_len))
			goto bad;
		c->data = r.p + data_off;
		c->data_len = data_len;
	}
	if (next)
		it->off += next;
	else
		it->done = 1;
	return 1;
bad:
	it->done = -1;
	return -EBADMSG;
}

int cctx_find(const uint8_t *p, uint32_t len, const void *name, uint16_t name_len,
	      struct create_ctx *c)
{
	struct cctx_iter it;
	int rc;

	cctx_iter_init(&it, p, len);
	while ((rc = cctx_iter_next(&it, c)) == 1)
		if (c->name_len == name_len && !memcmp(c->name, name, name_len))
			return 1;
	return rc;
}

int cctx_decode_lease(const struct create_ctx *c, struct lease_ctx *out)
{
	struct rbuf r = rbuf_init(c->data, c->data_len);

	memset(out, 0, sizeof(*out));
	if (c->data_len != LEASE_V1_SIZE && c->data_len != LEASE_V2_SIZE)
		return -EBADMSG;
	if (get_bytes(&r, out->key, SMB2_LEASE_KEY_SIZE) || get_u32le(&r, &out->state) ||
	    get_u32le(&r, &out->flags) || get_u64le(&r, &out->duration))
		return -EBADMSG;
	out->version = 1;
	if (c->data_len == LEASE_V2_SIZE) {
		if (get_bytes(&r, out->parent_key, SMB2_LEASE_KEY_SIZE) ||
		    get_u16le(&r, &out->epoch))
			return -EBADMSG;
		out->version = 2;
	}
	return 0;
}

int cctx_decode_dh2q(const struct create_ctx *c, uint32_t *timeout, uint32_t *flags)
{
	struct rbuf r = rbuf_init(c->data, c->data_len);

	if (c->data_len < DH2Q_RESP_SIZE || get_u32le(&r, timeout) || get_u32le(&r, flags))
		return -EBADMSG;
	return 0;
}

int cctx_decode_qfid(const struct create_ctx *c, uint64_t *disk_file_id, uint64_t *volume_id)
{
	struct rbuf r = rbuf_init(c->data, c->data_len);

	if (c->data_len < QFID_RESP_MIN || get_u64le(&r, disk_file_id) ||
	    get_u64le(&r, volume_id))
		return -EBADMSG;
	return 0;
}

int cctx_decode_mxac(const struct create_ctx *c, uint32_t *query_status,
		     uint32_t *maximal_access)
{
	struct rbuf r = rbuf_init(c->data, c->data_len);

	if (c->data_len < MXAC_RESP_SIZE || get_u32le(&r, query_status) ||
	    get_u32le(&r, maximal_access))
		return -EBADMSG;
	return 0;
}
