/*
 * echo.c - ECHO (MS-SMB2 2.2.28, 2.2.29) and CANCEL (2.2.30).
 */
#include "wire/echo.h"

#include <errno.h>

#include "wire/smb2.h"

/* MS-SMB2 2.2.28 / 2.2.29 / 2.2.30: StructureSize(2) Reserved(2). */
enum {
	ECHO_STRUCTURE_SIZE = 4,
	CANCEL_STRUCTURE_SIZE = 4,
	ECHO_RESERVED = 2,
};

static int encode_4(struct wbuf *w, uint16_t size)
{
	size_t base = w->off;
	if (put_u16le(w, size) || put_u16le(w, 0)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int echo_req_encode(struct wbuf *w)
{
	return encode_4(w, ECHO_STRUCTURE_SIZE);
}

int cancel_req_encode(struct wbuf *w)
{
	return encode_4(w, CANCEL_STRUCTURE_SIZE);
}

int echo_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved;

	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) || size != ECHO_STRUCTURE_SIZE ||
	    get_u16le(&r, &reserved))
		return -EBADMSG;
	return 0;
}
