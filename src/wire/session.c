/*
 * session.c - SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6) and LOGOFF (2.2.7, 2.2.8).
 */
#include "wire/session.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.5 SESSION_SETUP request, offsets within the body. */
enum {
	SESS_REQ_STRUCTURE_SIZE = 25,
	SESS_REQ_FLAGS = 2,
	SESS_REQ_SECURITY_MODE = 3,
	SESS_REQ_CAPABILITIES = 4,
	SESS_REQ_CHANNEL = 8,
	SESS_REQ_SECBUF_OFFSET = 12,
	SESS_REQ_SECBUF_LENGTH = 14,
	SESS_REQ_PREV_SESSION_ID = 16,
	SESS_REQ_BUFFER = 24,
};

/* MS-SMB2 2.2.6 SESSION_SETUP response. */
enum {
	SESS_RESP_STRUCTURE_SIZE = 9,
	SESS_RESP_FLAGS = 2,
	SESS_RESP_SECBUF_OFFSET = 4,
	SESS_RESP_SECBUF_LENGTH = 6,
	SESS_RESP_BUFFER = 8,
};

/* MS-SMB2 2.2.7 / 2.2.8 LOGOFF. */
enum {
	LOGOFF_STRUCTURE_SIZE = 4,
};

int session_setup_req_encode(struct wbuf *w, const struct session_setup_req *req)
{
	size_t base = w->off;
	size_t len = req->security_buffer_len;
	int rc = 0;

	if (len > UINT16_MAX || (len && !req->security_buffer))
		return -EINVAL;
	rc |= put_u16le(w, SESS_REQ_STRUCTURE_SIZE);
	rc |= put_u8(w, req->flags);
	rc |= put_u8(w, req->security_mode);
	rc |= put_u32le(w, req->capabilities);
	rc |= put_u32le(w, 0); /* Channel: MUST be 0 */
	rc |= put_u16le(w, SMB2_HDR_SIZE + SESS_REQ_BUFFER);
	rc |= put_u16le(w, (uint16_t)len);
	rc |= put_u64le(w, req->previous_session_id);
	/* An odd StructureSize counts one byte of buffer: never send it empty. */
	rc |= len ? put_bytes(w, req->security_buffer, len) : put_u8(w, 0);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int session_setup_resp_decode(const uint8_t *pdu, size_t len, struct session_setup_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, off, n;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != SESS_RESP_STRUCTURE_SIZE || get_u16le(&r, &resp->session_flags) ||
	    get_u16le(&r, &off) || get_u16le(&r, &n))
		return -EBADMSG;
	if (n) {
		if (off < SMB2_HDR_SIZE + SESS_RESP_BUFFER || !range_ok(len, off, n))
			return -EBADMSG;
		resp->security_buffer = pdu + off;
		resp->security_buffer_len = n;
	}
	return 0;
}

int logoff_req_encode(struct wbuf *w)
{
	size_t base = w->off;
	if (put_u16le(w, LOGOFF_STRUCTURE_SIZE) || put_u16le(w, 0)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int logoff_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved;

	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != LOGOFF_STRUCTURE_SIZE || get_u16le(&r, &reserved))
		return -EBADMSG;
	return 0;
}
