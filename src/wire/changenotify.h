/*
 * changenotify.h - CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36) and the
 * FILE_NOTIFY_INFORMATION list it returns (MS-FSCC 2.7.1). Conventions:
 * negotiate.h.
 */
#ifndef SMBF_WIRE_CHANGENOTIFY_H
#define SMBF_WIRE_CHANGENOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.35 Flags */
enum { SMB2_WATCH_TREE = 0x0001 };

/* MS-SMB2 2.2.35 CompletionFilter (MS-FSCC 2.6 names) */
enum {
	FILE_NOTIFY_CHANGE_FILE_NAME = 0x00000001,
	FILE_NOTIFY_CHANGE_DIR_NAME = 0x00000002,
	FILE_NOTIFY_CHANGE_ATTRIBUTES = 0x00000004,
	FILE_NOTIFY_CHANGE_SIZE = 0x00000008,
	FILE_NOTIFY_CHANGE_LAST_WRITE = 0x00000010,
	FILE_NOTIFY_CHANGE_LAST_ACCESS = 0x00000020,
	FILE_NOTIFY_CHANGE_CREATION = 0x00000040,
	FILE_NOTIFY_CHANGE_EA = 0x00000080,
	FILE_NOTIFY_CHANGE_SECURITY = 0x00000100,
	FILE_NOTIFY_CHANGE_STREAM_NAME = 0x00000200,
	FILE_NOTIFY_CHANGE_STREAM_SIZE = 0x00000400,
	FILE_NOTIFY_CHANGE_STREAM_WRITE = 0x00000800,
};

/* MS-FSCC 2.7.1 Action */
enum {
	FILE_ACTION_ADDED = 0x00000001,
	FILE_ACTION_REMOVED = 0x00000002,
	FILE_ACTION_MODIFIED = 0x00000003,
	FILE_ACTION_RENAMED_OLD_NAME = 0x00000004,
	FILE_ACTION_RENAMED_NEW_NAME = 0x00000005,
	FILE_ACTION_ADDED_STREAM = 0x00000006,
	FILE_ACTION_REMOVED_STREAM = 0x00000007,
	FILE_ACTION_MODIFIED_STREAM = 0x00000008,
};

/* MS-SMB2 2.2.35 */
struct change_notify_req {
	uint16_t flags; /* SMB2_WATCH_TREE or 0 */
	uint32_t output_buffer_length;
	struct smb2_file_id file_id;
	uint32_t completion_filter;
};

/* Returns 0 or -EMSGSIZE. */
int change_notify_req_encode(struct wbuf *w, const struct change_notify_req *req);

/* MS-SMB2 2.2.36 */
struct change_notify_resp {
	const uint8_t *buffer; /* view into the PDU; NULL if empty */
	uint32_t buffer_len;
};

/* pdu: the whole response PDU (header included). 0 or -EBADMSG. */
int change_notify_resp_decode(const uint8_t *pdu, size_t len, struct change_notify_resp *resp);

/* MS-FSCC 2.7.1: one entry; name16 is a view (UTF-16LE, not terminated). */
struct file_notify_info {
	uint32_t action;
	const uint8_t *name16;
	uint32_t name16_len;
};

struct file_notify_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;
	int done;
};

void file_notify_iter_init(struct file_notify_iter *it, const uint8_t *buf, size_t len);
/*
 * Next entry: 1 and *out filled, 0 at the end, -EBADMSG for a malformed
 * list (an entry or name past the buffer, an odd name length, a
 * NextEntryOffset that does not move forward by at least one entry header or
 * is not 4-aligned). After 0 or an error it keeps returning that.
 */
int file_notify_iter_next(struct file_notify_iter *it, struct file_notify_info *out);

#endif
