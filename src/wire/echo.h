/*
 * echo.h - ECHO (MS-SMB2 2.2.28, 2.2.29) and CANCEL (2.2.30).
 * Conventions: negotiate.h. CANCEL has no response.
 */
#ifndef SMBF_WIRE_ECHO_H
#define SMBF_WIRE_ECHO_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

int echo_req_encode(struct wbuf *w);
int echo_resp_decode(const uint8_t *pdu, size_t len);
/*
 * CANCEL body (4 bytes). The header carries the MessageId (or AsyncId with
 * SMB2_FLAGS_ASYNC_COMMAND) of the request to cancel, MS-SMB2 3.2.4.24.
 */
int cancel_req_encode(struct wbuf *w);

#endif
