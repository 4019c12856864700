/*
 * info.c - QUERY_INFO (MS-SMB2 2.2.37, 2.2.38) and SET_INFO (2.2.39, 2.2.40).
 */
#include "wire/info.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.37 QUERY_INFO request, offsets within the body. */
enum {
	QINFO_REQ_STRUCTURE_SIZE = 41,
	QINFO_REQ_INFO_TYPE = 2,
	QINFO_REQ_INFO_CLASS = 3,
	QINFO_REQ_OUTPUT_LENGTH = 4,
	QINFO_REQ_INPUT_OFFSET = 8,
	QINFO_REQ_RESERVED = 10,
	QINFO_REQ_INPUT_LENGTH = 12,
	QINFO_REQ_ADDITIONAL_INFO = 16,
	QINFO_REQ_FLAGS = 20,
	QINFO_REQ_FILE_ID = 24,
	QINFO_REQ_BUFFER = 40,
};

/* MS-SMB2 2.2.38 QUERY_INFO response. */
enum {
	QINFO_RESP_STRUCTURE_SIZE = 9,
	QINFO_RESP_OUTPUT_OFFSET = 2,
	QINFO_RESP_OUTPUT_LENGTH = 4,
	QINFO_RESP_BUFFER = 8,
};

/* MS-SMB2 2.2.39 SET_INFO request. */
enum {
	SINFO_REQ_STRUCTURE_SIZE = 33,
	SINFO_REQ_INFO_TYPE = 2,
	SINFO_REQ_INFO_CLASS = 3,
	SINFO_REQ_BUFFER_LENGTH = 4,
	SINFO_REQ_BUFFER_OFFSET = 8,
	SINFO_REQ_RESERVED = 10,
	SINFO_REQ_ADDITIONAL_INFO = 12,
	SINFO_REQ_FILE_ID = 16,
	SINFO_REQ_BUFFER = 32,
};

/* MS-SMB2 2.2.40 SET_INFO response. */
enum {
	SINFO_RESP_STRUCTURE_SIZE = 2,
};

int query_info_req_encode(struct wbuf *w, const struct query_info_req *req)
{
	size_t base = w->off;
	int rc = 0;

	if (req->input_len && !req->input)
		return -EINVAL;
	rc |= put_u16le(w, QINFO_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, req->info_type);
	rc |= put_u8(w, req->info_class);
	rc |= put_u32le(w, req->output_buffer_length);
	/* InputBufferOffset: 0 when there is no input (Windows clients do the same). */
	rc |= put_u16le(w, req->input_len ? SMB2_HDR_SIZE + QINFO_REQ_BUFFER : 0);
	rc |= put_u16le(w, 0);
	rc |= put_u32le(w, req->input_len);
	rc |= put_u32le(w, req->additional_info);
	rc |= put_u32le(w, req->flags);
	rc |= put_file_id(w, &req->file_id);
	rc |= req->input_len ? put_bytes(w, req->input, req->input_len) : put_u8(w, 0);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int query_info_resp_decode(const uint8_t *pdu, size_t len, struct query_info_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, off;
	uint32_t n;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != QINFO_RESP_STRUCTURE_SIZE || get_u16le(&r, &off) || get_u32le(&r, &n))
		return -EBADMSG;
	if (n) {
		if (off < SMB2_HDR_SIZE + QINFO_RESP_BUFFER || !range_ok(len, off, n))
			return -EBADMSG;
		resp->buffer = pdu + off;
		resp->buffer_len = n;
	}
	return 0;
}

int set_info_req_encode(struct wbuf *w, const struct set_info_req *req)
{
	size_t base = w->off;
	int rc = 0;

	if (!req->buffer_len || !req->buffer)
		return -EINVAL;
	rc |= put_u16le(w, SINFO_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, req->info_type);
	rc |= put_u8(w, req->info_class);
	rc |= put_u32le(w, req->buffer_len);
	rc |= put_u16le(w, SMB2_HDR_SIZE + SINFO_REQ_BUFFER);
	rc |= put_u16le(w, 0);
	rc |= put_u32le(w, req->additional_info);
	rc |= put_file_id(w, &req->file_id);
	rc |= put_bytes(w, req->buffer, req->buffer_len);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int set_info_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;

	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != SINFO_RESP_STRUCTURE_SIZE)
		return -EBADMSG;
	return 0;
}
