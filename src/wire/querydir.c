/*
 * querydir.c - QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34).
 */
#include "wire/querydir.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/* MS-SMB2 2.2.33 QUERY_DIRECTORY request, offsets within the body. */
enum {
	QDIR_REQ_STRUCTURE_SIZE = 33,
	QDIR_REQ_INFO_CLASS = 2,
	QDIR_REQ_FLAGS = 3,
	QDIR_REQ_FILE_INDEX = 4,
	QDIR_REQ_FILE_ID = 8,
	QDIR_REQ_NAME_OFFSET = 24,
	QDIR_REQ_NAME_LENGTH = 26,
	QDIR_REQ_OUTPUT_LENGTH = 28,
	QDIR_REQ_BUFFER = 32,
};

/* MS-SMB2 2.2.34 QUERY_DIRECTORY response. */
enum {
	QDIR_RESP_STRUCTURE_SIZE = 9,
	QDIR_RESP_OUTPUT_OFFSET = 2,
	QDIR_RESP_OUTPUT_LENGTH = 4,
	QDIR_RESP_BUFFER = 8,
};

int query_dir_req_encode(struct wbuf *w, const struct query_dir_req *req)
{
	size_t base = w->off, n16;
	const char *pat = (req->pattern && req->pattern[0]) ? req->pattern : "*";
	int rc = 0;

	rc |= put_u16le(w, QDIR_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, req->info_class);
	rc |= put_u8(w, req->flags);
	rc |= put_u32le(w, req->file_index);
	rc |= put_file_id(w, &req->file_id);
	rc |= put_u16le(w, SMB2_HDR_SIZE + QDIR_REQ_BUFFER);
	rc |= put_u16le(w, 0); /* FileNameLength, poked below */
	rc |= put_u32le(w, req->output_buffer_length);
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	/* No separator mapping: a pattern is one name component. */
	rc = utf8_to_utf16le(pat, strlen(pat), w->p + w->off, w->cap - w->off, &n16, 0);
	if (rc)
		goto fail;
	if (n16 > UINT16_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	w->off += n16;
	if (poke_u16le(w, base + QDIR_REQ_NAME_LENGTH, (uint16_t)n16)) {
		rc = -EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	w->off = base;
	return rc;
}

int query_dir_resp_decode(const uint8_t *pdu, size_t len, struct query_dir_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, off;
	uint32_t n;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != QDIR_RESP_STRUCTURE_SIZE || get_u16le(&r, &off) || get_u32le(&r, &n))
		return -EBADMSG;
	if (n) {
		if (off < SMB2_HDR_SIZE + QDIR_RESP_BUFFER || !range_ok(len, off, n))
			return -EBADMSG;
		resp->buffer = pdu + off;
		resp->buffer_len = n;
	}
	return 0;
}
