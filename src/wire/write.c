/*
 * write.c - WRITE (MS-SMB2 2.2.21, 2.2.22).
 */
#include "wire/write.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.21 WRITE request, offsets within the body. */
enum {
	WRITE_REQ_STRUCTURE_SIZE = 49,
	WRITE_REQ_DATA_OFFSET = 2,
	WRITE_REQ_LENGTH = 4,
	WRITE_REQ_OFFSET = 8,
	WRITE_REQ_FILE_ID = 16,
	WRITE_REQ_CHANNEL = 32,
	WRITE_REQ_REMAINING_BYTES = 36,
	WRITE_REQ_CHANNEL_INFO_OFFSET = 40,
	WRITE_REQ_CHANNEL_INFO_LENGTH = 42,
	WRITE_REQ_FLAGS = 44,
	WRITE_REQ_BUFFER = 48,
};

/* MS-SMB2 2.2.22 WRITE response. */
enum {
	WRITE_RESP_STRUCTURE_SIZE = 17,
	WRITE_RESP_RESERVED = 2,
	WRITE_RESP_COUNT = 4,
	WRITE_RESP_REMAINING = 8,
	WRITE_RESP_CHANNEL_INFO_OFFSET = 12,
	WRITE_RESP_CHANNEL_INFO_LENGTH = 14,
};

_Static_assert(SMB2_WRITE_DATA_OFFSET == SMB2_HDR_SIZE + WRITE_REQ_BUFFER, "DataOffset");
_Static_assert(SMB2_WRITE_REQ_HDR_LEN == WRITE_REQ_BUFFER, "fixed part");

static int encode_fixed(struct wbuf *w, const struct write_req *req)
{
	int rc = 0;

	rc |= put_u16le(w, WRITE_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, SMB2_WRITE_DATA_OFFSET);
	rc |= put_u32le(w, req->length);
	rc |= put_u64le(w, req->offset);
	rc |= put_file_id(w, &req->file_id);
	rc |= put_u32le(w, SMB2_CHANNEL_NONE);
	rc |= put_u32le(w, req->remaining_bytes);
	rc |= put_u16le(w, 0); /* WriteChannelInfoOffset */
	rc |= put_u16le(w, 0); /* WriteChannelInfoLength */
	rc |= put_u32le(w, req->flags);
	return rc ? -EMSGSIZE : 0;
}

int write_req_encode(struct wbuf *w, const struct write_req *req)
{
	size_t base = w->off;
	int rc;

	if (req->length && !req->data)
		return -EINVAL;
	rc = encode_fixed(w, req);
	if (!rc)
		rc = req->length ? put_bytes(w, req->data, req->length) : put_u8(w, 0);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int write_req_encode_hdr(struct wbuf *w, const struct write_req *req)
{
	size_t base = w->off;

	if (!req->length)
		return -EINVAL;
	if (encode_fixed(w, req)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int write_resp_decode(const uint8_t *pdu, size_t len, struct write_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved, ci_off, ci_len;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != WRITE_RESP_STRUCTURE_SIZE || get_u16le(&r, &reserved) ||
	    get_u32le(&r, &resp->count) || get_u32le(&r, &resp->remaining) ||
	    get_u16le(&r, &ci_off) || get_u16le(&r, &ci_len))
		return -EBADMSG;
	return 0;
}
