/*
 * notify.c - oplock/lease break codecs (MS-SMB2 2.2.23 - 2.2.25).
 */
#include "wire/notify.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.23.1 / 2.2.24.1: oplock break notification and ack, 24 bytes */
enum oplock_break_off {
	OB_STRUCTURE_SIZE = 0, /* 24 */
	OB_OPLOCK_LEVEL = 2,
	OB_RESERVED = 3,
	OB_RESERVED2 = 4,
	OB_FILE_ID = 8,
	OB_SIZE = 24,
};

/* MS-SMB2 2.2.23.2: lease break notification, 44 bytes */
enum lease_break_off {
	LB_STRUCTURE_SIZE = 0, /* 44 */
	LB_NEW_EPOCH = 2,
	LB_FLAGS = 4,
	LB_LEASE_KEY = 8,
	LB_CURRENT_STATE = 24,
	LB_NEW_STATE = 28,
	LB_BREAK_REASON = 32,
	LB_ACCESS_MASK_HINT = 36,
	LB_SHARE_MASK_HINT = 40,
	LB_SIZE = 44,
};

/* MS-SMB2 2.2.24.2: lease break acknowledgment, 36 bytes */
enum lease_ack_off {
	LA_STRUCTURE_SIZE = 0, /* 36 */
	LA_RESERVED = 2,
	LA_FLAGS = 4,
	LA_LEASE_KEY = 8,
	LA_LEASE_STATE = 24,
	LA_LEASE_DURATION = 28,
	LA_SIZE = 36,
};

int break_notify_decode(const uint8_t *pdu, size_t len, int *is_lease, struct lease_break *lb,
			struct oplock_break *ob)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size;

	if (rbuf_skip(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size))
		return -EBADMSG;
	if (size == LB_SIZE) {
		uint32_t reason, amask, smask;
		if (get_u16le(&r, &lb->new_epoch) || get_u32le(&r, &lb->flags) ||
		    get_bytes(&r, lb->key, SMB2_LEASE_KEY_SIZE) || get_u32le(&r, &lb->current_state) ||
		    get_u32le(&r, &lb->new_state) || get_u32le(&r, &reason) ||
		    get_u32le(&r, &amask) || get_u32le(&r, &smask))
			return -EBADMSG;
		*is_lease = 1;
		return 0;
	}
	if (size == OB_SIZE) {
		uint8_t reserved;
		uint32_t reserved2;
		if (get_u8(&r, &ob->level) || get_u8(&r, &reserved) || get_u32le(&r, &reserved2) ||
		    get_u64le(&r, &ob->file_id.persistent) || get_u64le(&r, &ob->file_id.volatile_))
			return -EBADMSG;
		*is_lease = 0;
		return 0;
	}
	return -EBADMSG;
}

int lease_ack_encode(struct wbuf *w, const uint8_t key[SMB2_LEASE_KEY_SIZE], uint32_t state)
{
	size_t start = w->off;
	if (put_u16le(w, LA_SIZE) || put_u16le(w, 0) || put_u32le(w, 0) ||
	    put_bytes(w, key, SMB2_LEASE_KEY_SIZE) || put_u32le(w, state) || put_u64le(w, 0)) {
		w->off = start;
		return -EMSGSIZE;
	}
	return 0;
}

int oplock_ack_encode(struct wbuf *w, const struct smb2_file_id *fid, uint8_t level)
{
	size_t start = w->off;
	if (put_u16le(w, OB_SIZE) || put_u8(w, level) || put_u8(w, 0) || put_u32le(w, 0) ||
	    put_u64le(w, fid->persistent) || put_u64le(w, fid->volatile_)) {
		w->off = start;
		return -EMSGSIZE;
	}
	return 0;
}
