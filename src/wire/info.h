/*
 * info.h - QUERY_INFO (MS-SMB2 2.2.37, 2.2.38) and SET_INFO (2.2.39, 2.2.40),
 * generic over info type and class. Conventions: negotiate.h. Decode the
 * returned buffer with the fscc_* decoders (fscc.h); build SET_INFO buffers
 * with the fscc_*_encode helpers.
 */
#ifndef SMBF_WIRE_INFO_H
#define SMBF_WIRE_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.37 */
struct query_info_req {
	uint8_t info_type;  /* SMB2_0_INFO_FILE / _FILESYSTEM / _SECURITY / _QUOTA */
	uint8_t info_class; /* FileAllInformation, FileFsFullSizeInformation, ... */
	uint32_t output_buffer_length;
	uint32_t additional_info; /* *_SECURITY_INFORMATION for SECURITY, else 0 */
	uint32_t flags;           /* SL_* for FileFullEaInformation, else 0 */
	struct smb2_file_id file_id;
	const uint8_t *input; /* optional input buffer (quota, EA lists) */
	uint32_t input_len;
};

int query_info_req_encode(struct wbuf *w, const struct query_info_req *req);

/*
 * MS-SMB2 2.2.38. Decode for STATUS_SUCCESS and STATUS_BUFFER_OVERFLOW
 * (the buffer then holds a truncated structure).
 */
struct query_info_resp {
	const uint8_t *buffer; /* view, NULL if empty */
	uint32_t buffer_len;
};

int query_info_resp_decode(const uint8_t *pdu, size_t len, struct query_info_resp *resp);

/* MS-SMB2 2.2.39 */
struct set_info_req {
	uint8_t info_type;
	uint8_t info_class; /* FileBasicInformation, FileEndOfFileInformation, ... */
	uint32_t additional_info;
	struct smb2_file_id file_id;
	const uint8_t *buffer; /* encoded information structure, at least 1 byte */
	uint32_t buffer_len;
};

int set_info_req_encode(struct wbuf *w, const struct set_info_req *req);
/* MS-SMB2 2.2.40: checks StructureSize only. */
int set_info_resp_decode(const uint8_t *pdu, size_t len);

#endif
