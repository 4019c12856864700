/*
 * close.h - CLOSE (MS-SMB2 2.2.15, 2.2.16). Conventions: negotiate.h.
 */
#ifndef SMBF_WIRE_CLOSE_H
#define SMBF_WIRE_CLOSE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.15 */
struct close_req {
	uint16_t flags; /* SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB or 0 */
	struct smb2_file_id file_id;
};

int close_req_encode(struct wbuf *w, const struct close_req *req);

/* MS-SMB2 2.2.16: attributes are valid only if flags has POSTQUERY_ATTRIB. */
struct close_resp {
	uint16_t flags;
	uint64_t creation_time; /* raw FILETIME */
	uint64_t last_access_time;
	uint64_t last_write_time;
	uint64_t change_time;
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t file_attributes;
};

int close_resp_decode(const uint8_t *pdu, size_t len, struct close_resp *resp);

#endif
