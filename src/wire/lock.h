/*
 * lock.h - LOCK (MS-SMB2 2.2.26, 2.2.27): byte-range locks and unlocks on an
 * open file. Conventions (body-only encoders, whole-PDU decoders): negotiate.h.
 */
#ifndef SMBF_WIRE_LOCK_H
#define SMBF_WIRE_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"

/* MS-SMB2 2.2.26.1 SMB2_LOCK_ELEMENT Flags */
enum smb2_lock_flags {
	SMB2_LOCKFLAG_SHARED_LOCK = 0x00000001,
	SMB2_LOCKFLAG_EXCLUSIVE_LOCK = 0x00000002,
	SMB2_LOCKFLAG_UNLOCK = 0x00000004,
	SMB2_LOCKFLAG_FAIL_IMMEDIATELY = 0x00000010,
};

/* MS-SMB2 2.2.26.1 SMB2_LOCK_ELEMENT (24 bytes on the wire). */
struct smb2_lock_element {
	uint64_t offset;
	uint64_t length; /* bytes; offset + length - 1 must not pass 2^64 - 1 */
	uint32_t flags;  /* SMB2_LOCKFLAG_* */
};
#define SMB2_LOCK_ELEMENT_SIZE 24

/* Largest LockCount we send: one element per request keeps the rules simple,
 * but unlocking several ranges at once is allowed (3.3.5.14). */
#define SMB2_LOCK_MAX_ELEMENTS 64

/* MS-SMB2 2.2.26 */
struct lock_req {
	uint32_t lock_sequence; /* LockSequenceNumber (4 bits) | LockSequenceIndex << 4; 0 = none */
	struct smb2_file_id file_id;
	const struct smb2_lock_element *locks;
	uint16_t lock_count; /* 1..SMB2_LOCK_MAX_ELEMENTS */
};

/* Body size of a LOCK request with n elements. */
#define SMB2_LOCK_REQ_LEN(n) (24u + SMB2_LOCK_ELEMENT_SIZE * (unsigned)(n))

/*
 * Is this list something a server accepts (MS-SMB2 3.3.5.14)? Either every
 * element is a plain UNLOCK, or every element locks (exactly one of SHARED
 * and EXCLUSIVE, optionally FAIL_IMMEDIATELY; with several elements each
 * must have FAIL_IMMEDIATELY). Lengths must not wrap past 2^64. Returns 0 or
 * -EINVAL.
 */
int lock_elements_check(const struct smb2_lock_element *locks, uint16_t n);

/* Returns 0, -EINVAL (lock_elements_check) or -EMSGSIZE. */
int lock_req_encode(struct wbuf *w, const struct lock_req *req);

/* MS-SMB2 2.2.27: StructureSize 4 and nothing else. 0 or -EBADMSG. */
int lock_resp_decode(const uint8_t *pdu, size_t len);

#endif
