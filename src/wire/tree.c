/*
 * tree.c - TREE_CONNECT (MS-SMB2 2.2.9, 2.2.10) and TREE_DISCONNECT (2.2.11,
 * 2.2.12).
 */
#include "wire/tree.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/* MS-SMB2 2.2.9 TREE_CONNECT request, offsets within the body. */
enum {
	TREE_REQ_STRUCTURE_SIZE = 9,
	TREE_REQ_FLAGS = 2,
	TREE_REQ_PATH_OFFSET = 4,
	TREE_REQ_PATH_LENGTH = 6,
	TREE_REQ_BUFFER = 8,
};

/* MS-SMB2 2.2.10 TREE_CONNECT response. */
enum {
	TREE_RESP_STRUCTURE_SIZE = 16,
	TREE_RESP_SHARE_TYPE = 2,
	TREE_RESP_RESERVED = 3,
	TREE_RESP_SHARE_FLAGS = 4,
	TREE_RESP_CAPABILITIES = 8,
	TREE_RESP_MAXIMAL_ACCESS = 12,
};

/* MS-SMB2 2.2.11 / 2.2.12 TREE_DISCONNECT. */
enum {
	TREE_DISC_STRUCTURE_SIZE = 4,
};

int tree_connect_req_encode(struct wbuf *w, const struct tree_connect_req *req)
{
	size_t base = w->off, n16;
	int rc = 0;

	/* The 3.1.1 extension (2.2.9.1) has a different layout; not supported here. */
	if (!req->path || !req->path[0] || (req->flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT))
		return -EINVAL;
	rc |= put_u16le(w, TREE_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, req->flags);
	rc |= put_u16le(w, SMB2_HDR_SIZE + TREE_REQ_BUFFER);
	rc |= put_u16le(w, 0); /* PathLength, poked below */
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	rc = utf8_to_utf16le(req->path, strlen(req->path), w->p + w->off, w->cap - w->off, &n16,
			     1);
	if (rc)
		goto fail;
	if (n16 > UINT16_MAX) {
		rc = -EINVAL;
		goto fail;
	}
	w->off += n16;
	rc = poke_u16le(w, base + TREE_REQ_PATH_LENGTH, (uint16_t)n16);
	if (rc)
		goto fail;
	return 0;
fail:
	w->off = base;
	return rc;
}

int tree_connect_resp_decode(const uint8_t *pdu, size_t len, struct tree_connect_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;
	uint8_t reserved;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != TREE_RESP_STRUCTURE_SIZE || get_u8(&r, &resp->share_type) ||
	    get_u8(&r, &reserved) || get_u32le(&r, &resp->share_flags) ||
	    get_u32le(&r, &resp->capabilities) || get_u32le(&r, &resp->maximal_access))
		return -EBADMSG;
	return 0;
}

int tree_disconnect_req_encode(struct wbuf *w)
{
	size_t base = w->off;
	if (put_u16le(w, TREE_DISC_STRUCTURE_SIZE) || put_u16le(w, 0)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int tree_disconnect_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved;

	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != TREE_DISC_STRUCTURE_SIZE || get_u16le(&r, &reserved))
		return -EBADMSG;
	return 0;
}
