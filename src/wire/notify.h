/*
 * notify.h - oplock and lease break notifications and acknowledgments
 * (MS-SMB2 2.2.23 - 2.2.25). Conventions: negotiate.h.
 */
#ifndef SMBF_WIRE_NOTIFY_H
#define SMBF_WIRE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

#define SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED 0x01

/* MS-SMB2 2.2.23.2 Lease Break Notification */
struct lease_break {
	uint16_t new_epoch;
	uint32_t flags; /* SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED */
	uint8_t key[SMB2_LEASE_KEY_SIZE];
	uint32_t current_state;
	uint32_t new_state;
};

/* MS-SMB2 2.2.23.1 Oplock Break Notification */
struct oplock_break {
	uint8_t level;
	struct smb2_file_id file_id;
};

/*
 * Decode an unsolicited OPLOCK_BREAK PDU (whole PDU, header included). Sets
 * *is_lease and fills the matching struct. 0 or -EBADMSG.
 */
int break_notify_decode(const uint8_t *pdu, size_t len, int *is_lease, struct lease_break *lb,
			struct oplock_break *ob);

/* MS-SMB2 2.2.24.2 Lease Break Acknowledgment body. */
int lease_ack_encode(struct wbuf *w, const uint8_t key[SMB2_LEASE_KEY_SIZE], uint32_t state);

/* MS-SMB2 2.2.24.1 Oplock Break Acknowledgment body. */
int oplock_ack_encode(struct wbuf *w, const struct smb2_file_id *fid, uint8_t level);

#endif
