/*
 * lock.c - LOCK request and response (MS-SMB2 2.2.26, 2.2.27).
 */
#include "wire/lock.h"

#include <errno.h>

#include "wire/smb2.h"

/* MS-SMB2 2.2.26 request body */
enum lock_req_off {
	LOCK_REQ_STRUCTURE_SIZE = 0, /* 48: the fixed part plus one element */
	LOCK_REQ_LOCK_COUNT = 2,
	LOCK_REQ_LOCK_SEQUENCE = 4,
	LOCK_REQ_FILE_ID = 8,
	LOCK_REQ_LOCKS = 24,
	LOCK_REQ_SIZE = 48,
};

/* MS-SMB2 2.2.26.1 SMB2_LOCK_ELEMENT */
enum lock_elem_off {
	LOCK_ELEM_OFFSET = 0,
	LOCK_ELEM_LENGTH = 8,
	LOCK_ELEM_FLAGS = 16,
	LOCK_ELEM_RESERVED = 20,
};

/* MS-SMB2 2.2.27 response body */
enum lock_resp_off {
	LOCK_RESP_STRUCTURE_SIZE = 0, /* 4 */
	LOCK_RESP_RESERVED = 2,
	LOCK_RESP_SIZE = 4,
};

_Static_assert(LOCK_REQ_LOCKS + SMB2_LOCK_ELEMENT_SIZE == LOCK_REQ_SIZE, "LOCK request size");
_Static_assert(SMB2_LOCK_REQ_LEN(1) == LOCK_REQ_SIZE, "LOCK request length macro");

int lock_elements_check(const struct smb2_lock_element *locks, uint16_t n)
{
	const uint32_t kind = SMB2_LOCKFLAG_SHARED_LOCK | SMB2_LOCKFLAG_EXCLUSIVE_LOCK;
	int unlocking;

	if (!locks || n == 0 || n > SMB2_LOCK_MAX_ELEMENTS)
		return -EINVAL;
	unlocking = locks[0].flags == SMB2_LOCKFLAG_UNLOCK;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t f = locks[i].flags;
		if (locks[i].length && locks[i].offset > UINT64_MAX - (locks[i].length - 1))
			return -EINVAL;
		if (unlocking) {
			if (f != SMB2_LOCKFLAG_UNLOCK)
				return -EINVAL;
			continue;
		}
		if (f & ~(kind | SMB2_LOCKFLAG_FAIL_IMMEDIATELY))
			return -EINVAL;
		if ((f & kind) != SMB2_LOCKFLAG_SHARED_LOCK && (f & kind) != SMB2_LOCKFLAG_EXCLUSIVE_LOCK)
			return -EINVAL;
		if (n > 1 && !(f & SMB2_LOCKFLAG_FAIL_IMMEDIATELY))
			return -EINVAL;
	}
	return 0;
}

int lock_req_encode(struct wbuf *w, const struct lock_req *req)
{
	size_t base = w->off;
	int rc;

	rc = lock_elements_check(req->locks, req->lock_count);
	if (rc)
		return rc;
	rc = put_u16le(w, LOCK_REQ_SIZE);
	rc |= put_u16le(w, req->lock_count);
	rc |= put_u32le(w, req->lock_sequence);
	rc |= put_file_id(w, &req->file_id);
	for (uint16_t i = 0; i < req->lock_count && !rc; i++) {
		rc |= put_u64le(w, req->locks[i].offset);
		rc |= put_u64le(w, req->locks[i].length);
		rc |= put_u32le(w, req->locks[i].flags);
		rc |= put_u32le(w, 0); /* Reserved */
	}
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int lock_resp_decode(const uint8_t *pdu, size_t len)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved;

	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) || size != LOCK_RESP_SIZE ||
	    get_u16le(&r, &reserved))
		return -EBADMSG;
	return 0;
}
