/*
 * tree.h - TREE_CONNECT (MS-SMB2 2.2.9, 2.2.10) and TREE_DISCONNECT (2.2.11,
 * 2.2.12). Conventions (body-only encoders, whole-PDU decoders): negotiate.h.
 */
#ifndef SMBF_WIRE_TREE_H
#define SMBF_WIRE_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

/* MS-SMB2 2.2.9 */
struct tree_connect_req {
	uint16_t flags; /* 3.1.1 SMB2_TREE_CONNECT_FLAG_*, else 0; EXTENSION_PRESENT unsupported */
	/*
	 * "\\\\server\\share" as UTF-8 (NUL-terminated); converted to UTF-16LE by
	 * the encoder, with '/' also accepted as a separator.
	 */
	const char *path;
};

/*
 * Returns 0, -EMSGSIZE, -EILSEQ (bad UTF-8) or -EINVAL (empty or too long
 * path, or SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT).
 */
int tree_connect_req_encode(struct wbuf *w, const struct tree_connect_req *req);

/* MS-SMB2 2.2.10 */
struct tree_connect_resp {
	uint8_t share_type;      /* SMB2_SHARE_TYPE_* */
	uint32_t share_flags;    /* SMB2_SHAREFLAG_* (caching policy in bits 4-5) */
	uint32_t capabilities;   /* SMB2_SHARE_CAP_* */
	uint32_t maximal_access; /* access mask */
};

int tree_connect_resp_decode(const uint8_t *pdu, size_t len, struct tree_connect_resp *resp);

/* MS-SMB2 2.2.11 / 2.2.12: 4-byte bodies. */
int tree_disconnect_req_encode(struct wbuf *w);
int tree_disconnect_resp_decode(const uint8_t *pdu, size_t len);

#endif
