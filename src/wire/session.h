/*
 * session.h - SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6) and LOGOFF (2.2.7, 2.2.8).
 * Conventions (body-only encoders, whole-PDU decoders, views): negotiate.h.
 *
 * SESSION_SETUP responses with STATUS_MORE_PROCESSING_REQUIRED carry a body
 * too; the caller decodes them the same way.
 */
#ifndef SMBF_WIRE_SESSION_H
#define SMBF_WIRE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.5 */
struct session_setup_req {
	uint8_t flags;         /* SMB2_SESSION_FLAG_BINDING or 0 */
	uint8_t security_mode; /* SMB2_NEGOTIATE_SIGNING_* */
	uint32_t capabilities; /* only SMB2_GLOBAL_CAP_DFS is meaningful */
	uint64_t previous_session_id;
	const uint8_t *security_buffer; /* SPNEGO/NTLMSSP token, up to 65535 bytes */
	size_t security_buffer_len;
};

int session_setup_req_encode(struct wbuf *w, const struct session_setup_req *req);

/* MS-SMB2 2.2.6 */
struct session_setup_resp {
	uint16_t session_flags; /* SMB2_SESSION_FLAG_IS_GUEST/IS_NULL/ENCRYPT_DATA */
	const uint8_t *security_buffer; /* view, NULL if empty */
	uint32_t security_buffer_len;
};

int session_setup_resp_decode(const uint8_t *pdu, size_t len, struct session_setup_resp *resp);

/* MS-SMB2 2.2.7: 4-byte body. */
int logoff_req_encode(struct wbuf *w);
/* MS-SMB2 2.2.8: checks StructureSize only. */
int logoff_resp_decode(const uint8_t *pdu, size_t len);

#endif
