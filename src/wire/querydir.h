/*
 * querydir.h - QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34). Conventions:
 * negotiate.h. Walk the returned buffer with fscc_dir_iter (fscc.h).
 */
#ifndef SMBF_WIRE_QUERYDIR_H
#define SMBF_WIRE_QUERYDIR_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.33 */
struct query_dir_req {
	uint8_t info_class; /* FileIdBothDirectoryInformation, ... */
	uint8_t flags;      /* SMB2_RESTART_SCANS, SMB2_RETURN_SINGLE_ENTRY, ... */
	uint32_t file_index; /* with SMB2_INDEX_SPECIFIED, else 0 */
	struct smb2_file_id file_id;
	uint32_t output_buffer_length;
	const char *pattern; /* UTF-8; NULL or "" means "*" */
};

/* Returns 0, -EMSGSIZE, -EILSEQ or -ENAMETOOLONG. */
int query_dir_req_encode(struct wbuf *w, const struct query_dir_req *req);

/* MS-SMB2 2.2.34 */
struct query_dir_resp {
	const uint8_t *buffer; /* view, NULL if empty */
	uint32_t buffer_len;
};

int query_dir_resp_decode(const uint8_t *pdu, size_t len, struct query_dir_resp *resp);

#endif
