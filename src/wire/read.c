/*
 * read.c - READ (MS-SMB2 2.2.19, 2.2.20).
 */
#include "wire/read.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.19 READ request, offsets within the body. */
enum {
	READ_REQ_STRUCTURE_SIZE = 49,
	READ_REQ_PADDING = 2,
	READ_REQ_FLAGS = 3,
	READ_REQ_LENGTH = 4,
	READ_REQ_OFFSET = 8,
	READ_REQ_FILE_ID = 16,
	READ_REQ_MINIMUM_COUNT = 32,
	READ_REQ_CHANNEL = 36,
	READ_REQ_REMAINING_BYTES = 40,
	READ_REQ_CHANNEL_INFO_OFFSET = 44,
	READ_REQ_CHANNEL_INFO_LENGTH = 46,
	READ_REQ_BUFFER = 48,
};

/* MS-SMB2 2.2.20 READ response. */
enum {
	READ_RESP_STRUCTURE_SIZE = 17,
	READ_RESP_DATA_OFFSET = 2,
	READ_RESP_RESERVED = 3,
	READ_RESP_DATA_LENGTH = 4,
	READ_RESP_DATA_REMAINING = 8,
	READ_RESP_FLAGS = 12,
	READ_RESP_BUFFER = 16,
};

int read_req_encode(struct wbuf *w, const struct read_req *req)
{
	size_t base = w->off;
	int rc = 0;

	rc |= put_u16le(w, READ_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, SMB2_READ_DATA_OFFSET);
	rc |= put_u8(w, req->flags);
	rc |= put_u32le(w, req->length);
	rc |= put_u64le(w, req->offset);
	rc |= put_file_id(w, &req->file_id);
	rc |= put_u32le(w, req->minimum_count);
	rc |= put_u32le(w, SMB2_CHANNEL_NONE);
	rc |= put_u32le(w, req->remaining_bytes);
	rc |= put_u16le(w, 0); /* ReadChannelInfoOffset */
	rc |= put_u16le(w, 0); /* ReadChannelInfoLength */
	rc |= put_u8(w, 0);    /* Buffer: one byte, MUST be 0 */
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int read_resp_decode(const uint8_t *pdu, size_t len, struct read_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;
	uint8_t reserved;
	uint32_t flags;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != READ_RESP_STRUCTURE_SIZE || get_u8(&r, &resp->data_offset) ||
	    get_u8(&r, &reserved) || get_u32le(&r, &resp->data_len) ||
	    get_u32le(&r, &resp->data_remaining) || get_u32le(&r, &flags))
		return -EBADMSG;
	if (resp->data_len) {
		if (resp->data_offset < SMB2_HDR_SIZE + READ_RESP_BUFFER ||
		    !range_ok(len, resp->data_offset, resp->data_len))
			return -EBADMSG;
		resp->data = pdu + resp->data_offset;
	}
	return 0;
}
