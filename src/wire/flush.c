/*
 * flush.c - FLUSH request and response (MS-SMB2 2.2.17, 2.2.18).
 */
#include "wire/flush.h"

#include <errno.h>

#include "wire/smb2.h"

/* MS-SMB2 2.2.17 request body */
enum flush_req_off {
	FLUSH_REQ_STRUCTURE_SIZE = 0, /* 24 */
	FLUSH_REQ_RESERVED1 = 2,
	FLUSH_REQ_RESERVED2 = 4,
	FLUSH_REQ_FILE_ID = 8,
	FLUSH_REQ_SIZE = 24,
};

/* MS-SMB2 2.2.18 response body */
enum flush_resp_off {
	FLUSH_RESP_STRUCTURE_SIZE = 0, /* 4 */
	FLUSH_RESP_RESERVED = 2,
	FLUSH_RESP_SIZE = 4,
};

int flush_req_encode(struct wbuf *w, const struct smb2_file_id *fid)
{
	size_t start = w->off;
	if (put_u16le(w, FLUSH_REQ_SIZE) || put_u16le(w, 0) || put_u32le(w, 0) ||
	    put_u64le(w, fid->persistent) || put_u64le(w, fid->volatile_)) {
		w->off = start;
		return -EMSGSIZE;
	}
	return 0;
}

int flush_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;
	if (rbuf_skip(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) || size != FLUSH_RESP_SIZE ||
	    rbuf_left(&r) < FLUSH_RESP_SIZE - 2)
		return -EBADMSG;
	return 0;
}
