/*
 * write.h - WRITE (MS-SMB2 2.2.21, 2.2.22). Conventions: negotiate.h.
 */
#ifndef SMBF_WIRE_WRITE_H
#define SMBF_WIRE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* DataOffset written by the encoders: header (64) + fixed body (48). */
#define SMB2_WRITE_DATA_OFFSET 0x70
/* Body bytes written by write_req_encode_hdr (the data follows them). */
#define SMB2_WRITE_REQ_HDR_LEN 48

/* MS-SMB2 2.2.21 */
struct write_req {
	uint32_t length; /* bytes of data */
	uint64_t offset;
	struct smb2_file_id file_id;
	uint32_t remaining_bytes; /* hint only */
	uint32_t flags;           /* SMB2_WRITEFLAG_* */
	const uint8_t *data;      /* write_req_encode only; length bytes */
};

/* Fixed part plus a copy of req->data (one zero byte if length is 0). */
int write_req_encode(struct wbuf *w, const struct write_req *req);
/*
 * Fixed part only (SMB2_WRITE_REQ_HDR_LEN bytes); the caller sends exactly
 * req->length data bytes right after it (e.g. as a second iovec). req->data is
 * ignored. length must be > 0 (use write_req_encode for an empty write).
 */
int write_req_encode_hdr(struct wbuf *w, const struct write_req *req);

/* MS-SMB2 2.2.22 */
struct write_resp {
	uint32_t count;
	uint32_t remaining;
};

int write_resp_decode(const uint8_t *pdu, size_t len, struct write_resp *resp);

#endif
