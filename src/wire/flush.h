/*
 * flush.h - FLUSH (MS-SMB2 2.2.17, 2.2.18). Conventions: negotiate.h.
 */
#ifndef SMBF_WIRE_FLUSH_H
#define SMBF_WIRE_FLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/create.h"

int flush_req_encode(struct wbuf *w, const struct smb2_file_id *fid);
int flush_resp_decode(const uint8_t *pdu, size_t len);

#endif
