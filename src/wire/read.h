/*
 * read.h - READ (MS-SMB2 2.2.19, 2.2.20). Conventions: negotiate.h.
 */
#ifndef SMBF_WIRE_READ_H
#define SMBF_WIRE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* Offset from the header start at which servers place read data (64 + 16). */
#define SMB2_READ_DATA_OFFSET 0x50
/* Size of a READ response before the data: header + fixed body. */
#define SMB2_READ_RESP_HDR_LEN (SMB2_HDR_SIZE + 16)

/* MS-SMB2 2.2.19 */
struct read_req {
	uint8_t flags; /* SMB2_READFLAG_* (3.0.2+), usually 0 */
	uint32_t length;
	uint64_t offset;
	struct smb2_file_id file_id;
	uint32_t minimum_count;
	uint32_t remaining_bytes; /* hint only */
};

/* Writes Padding = SMB2_READ_DATA_OFFSET, Channel NONE and one buffer byte. */
int read_req_encode(struct wbuf *w, const struct read_req *req);

/* MS-SMB2 2.2.20 */
struct read_resp {
	const uint8_t *data; /* view, NULL if data_len == 0 */
	uint32_t data_len;
	uint32_t data_remaining;
	uint8_t data_offset; /* as sent, relative to the header start */
};

/*
 * Checks that DataOffset lies after the fixed body (>= 0x50) and that
 * [DataOffset, DataOffset + DataLength) is inside the PDU.
 */
int read_resp_decode(const uint8_t *pdu, size_t len, struct read_resp *resp);

#endif
