/*
 * close.c - CLOSE (MS-SMB2 2.2.15, 2.2.16).
 */
#include "wire/close.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.15 CLOSE request, offsets within the body. */
enum {
	CLOSE_REQ_STRUCTURE_SIZE = 24,
	CLOSE_REQ_FLAGS = 2,
	CLOSE_REQ_RESERVED = 4,
	CLOSE_REQ_FILE_ID = 8,
};

/* MS-SMB2 2.2.16 CLOSE response. */
enum {
	CLOSE_RESP_STRUCTURE_SIZE = 60,
	CLOSE_RESP_FLAGS = 2,
	CLOSE_RESP_RESERVED = 4,
	CLOSE_RESP_CREATION_TIME = 8,
	CLOSE_RESP_LAST_ACCESS_TIME = 16,
	CLOSE_RESP_LAST_WRITE_TIME = 24,
	CLOSE_RESP_CHANGE_TIME = 32,
	CLOSE_RESP_ALLOCATION_SIZE = 40,
	CLOSE_RESP_END_OF_FILE = 48,
	CLOSE_RESP_FILE_ATTRIBUTES = 56,
};

int close_req_encode(struct wbuf *w, const struct close_req *req)
{
	size_t base = w->off;
	int rc = 0;

	rc |= put_u16le(w, CLOSE_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, req->flags);
	rc |= put_u32le(w, 0);
	rc |= put_file_id(w, &req->file_id);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int close_resp_decode(const uint8_t *pdu, size_t len, struct close_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;
	uint32_t reserved;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != CLOSE_RESP_STRUCTURE_SIZE || get_u16le(&r, &resp->flags) ||
	    get_u32le(&r, &reserved) || get_u64le(&r, &resp->creation_time) ||
	    get_u64le(&r, &resp->last_access_time) || get_u64le(&r, &resp->last_write_time) ||
	    get_u64le(&r, &resp->change_time) || get_u64le(&r, &resp->allocation_size) ||
	    get_u64le(&r, &resp->end_of_file) || get_u32le(&r, &resp->file_attributes))
		return -EBADMSG;
	return 0;
}
