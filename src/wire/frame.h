/*
 * frame.h - SMB2 header codec (MS-SMB2 2.2.1), transport framing (2.1) and
 * whole-PDU validation before any command decoder runs.
 */
#ifndef SMBF_WIRE_FRAME_H
#define SMBF_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.1.1 / 2.2.1.2, host-endian. */
struct smb2_hdr {
	uint16_t credit_charge;
	uint32_t status;       /* NTSTATUS in responses; ChannelSequence in 3.x requests */
	uint16_t command;
	uint16_t credit;       /* CreditRequest (request) / CreditResponse (response) */
	uint32_t flags;
	uint32_t next_command; /* offset of the next PDU in a compound, 0 if last */
	uint64_t message_id;
	uint64_t async_id;     /* valid when flags & SMB2_FLAGS_ASYNC_COMMAND */
	uint32_t tree_id;      /* valid when not async */
	uint64_t session_id;
	uint8_t signature[SMB2_SIG_SIZE];
};

/* Append a 64-byte header. */
WUR int hdr_encode(struct wbuf *w, const struct smb2_hdr *h);
/* Read a 64-byte header; checks ProtocolId and StructureSize only. */
WUR int hdr_decode(struct rbuf *r, struct smb2_hdr *h);

/* Per-command facts for frame_check and logs. */
struct smb2_cmd_info {
	const char *name;
	uint16_t req_size;  /* request StructureSize */
	uint16_t resp_size; /* response StructureSize */
};
/* NULL for an unknown command. */
const struct smb2_cmd_info *smb2_cmd_info(uint16_t command);
const char *smb2_cmd_name(uint16_t command);

/*
 * Validate one response PDU at the start of [p, p+len) (len counts the bytes
 * to the end of the frame). Checks: protocol id, header size, response flag,
 * command range, NextCommand (0, or a multiple of 8 with room for a header,
 * inside len), and that the body holds the command's fixed StructureSize or
 * an error response (StructureSize 9). On success *pdu_len is the length of
 * this PDU (NextCommand or len) and *h is decoded. Returns 0 or -EBADMSG.
 */
WUR int frame_check(const uint8_t *p, size_t len, struct smb2_hdr *h, size_t *pdu_len);

/*
 * MS-SMB2 2.2.2 ERROR response: body view of ErrorData. Returns -EBADMSG if
 * malformed.
 */
WUR int error_decode(const uint8_t *body, size_t len, const uint8_t **data, uint32_t *data_len);

/* Transport header: store/parse the 4-byte Direct TCP header (MS-SMB2 2.1). */
void transport_hdr_store(uint8_t out[4], uint32_t len);
/* Returns 0 and *len, or -EBADMSG if the first byte is not zero or len > max. */
WUR int transport_hdr_parse(const uint8_t in[4], uint32_t max, uint32_t *len);

#endif
