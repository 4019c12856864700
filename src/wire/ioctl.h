/*
 * ioctl.h - IOCTL (MS-SMB2 2.2.31, 2.2.32), generic, plus
 * FSCTL_VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6). Conventions:
 * negotiate.h.
 */
#ifndef SMBF_WIRE_IOCTL_H
#define SMBF_WIRE_IOCTL_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.31 */
struct ioctl_req {
	uint32_t ctl_code;          /* FSCTL_* */
	struct smb2_file_id file_id; /* {SMB2_FILE_ID_NONE, SMB2_FILE_ID_NONE} if unbound */
	const uint8_t *input;       /* may be NULL/0 */
	uint32_t input_len;
	uint32_t max_input_response;
	uint32_t max_output_response;
	uint32_t flags; /* SMB2_0_IOCTL_IS_FSCTL */
};

int ioctl_req_encode(struct wbuf *w, const struct ioctl_req *req);

/*
 * MS-SMB2 2.2.32. Decode for STATUS_SUCCESS, and also STATUS_BUFFER_OVERFLOW
 * and a few FSCTL-specific errors that carry an IOCTL body (3.3.4.4).
 */
struct ioctl_resp {
	uint32_t ctl_code;
	struct smb2_file_id file_id;
	const uint8_t *input; /* views, NULL if empty */
	uint32_t input_len;
	const uint8_t *output;
	uint32_t output_len;
	uint32_t flags;
};

int ioctl_resp_decode(const uint8_t *pdu, size_t len, struct ioctl_resp *resp);

/* MS-SMB2 2.2.31.4 VALIDATE_NEGOTIATE_INFO request (the IOCTL input). */
struct validate_negotiate_req {
	uint32_t capabilities;
	uint8_t guid[16]; /* ClientGuid */
	uint16_t security_mode;
	const uint16_t *dialects;
	uint16_t dialect_count;
};

/* Size of the encoded input for dialect_count dialects. */
#define VALIDATE_NEGOTIATE_REQ_LEN(n) (24u + 2u * (n))
/* MS-SMB2 2.2.32.6: output size, also the MaxOutputResponse to ask for. */
#define VALIDATE_NEGOTIATE_RESP_LEN 24u

/* Encode the input buffer (not an IOCTL body) into w. */
int validate_negotiate_req_encode(struct wbuf *w, const struct validate_negotiate_req *req);
/*
 * Complete IOCTL body for FSCTL_VALIDATE_NEGOTIATE_INFO: FileId all ones,
 * IS_FSCTL, MaxOutputResponse 24, input as above.
 */
int ioctl_validate_negotiate_encode(struct wbuf *w, const struct validate_negotiate_req *req);

/* MS-SMB2 2.2.32.6 VALIDATE_NEGOTIATE_INFO response (the IOCTL output). */
struct validate_negotiate_resp {
	uint32_t capabilities;
	uint8_t guid[16]; /* ServerGuid */
	uint16_t security_mode;
	uint16_t dialect;
};

/* Decode an IOCTL output buffer; -EBADMSG unless it holds at least 24 bytes. */
int validate_negotiate_resp_decode(const uint8_t *out, uint32_t out_len,
				   struct validate_negotiate_resp *resp);

#endif
