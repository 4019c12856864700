/*
 * negotiate.h - SMB2 NEGOTIATE request/response and SMB 3.1.1 negotiate
 * contexts (MS-SMB2 2.2.3, 2.2.3.1, 2.2.4).
 *
 * Encoder convention (all command codecs in src/wire/): *_req_encode writes
 * the command BODY ONLY into w. The wbuf must be positioned right after the
 * 64-byte SMB2 header: w->off at entry is taken as body position 0 (so it may
 * be 0 for a body-only buffer, or 64 when the header was written into the
 * same buffer). Offset fields are computed as SMB2_HDR_SIZE + body position.
 * Encoders return 0 or -errno (-EMSGSIZE: no room, -EINVAL: bad arguments,
 * -EILSEQ: invalid UTF-8); on failure w->off is restored.
 *
 * Decoder convention: *_resp_decode takes the whole response PDU (header
 * included, as sized by frame_check) and fills a host struct. Views point into
 * the PDU and live as long as it does. Returns 0 or -EBADMSG. Decoders do not
 * look at the header's Status; callers decide which statuses carry a body.
 */
#ifndef SMBF_WIRE_NEGOTIATE_H
#define SMBF_WIRE_NEGOTIATE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

#define SMB2_GUID_SIZE 16
#define SMB2_MAX_DIALECTS 16
/* Salt length used by Windows and Samba; any length up to 0xFFFF is legal. */
#define SMB2_PREAUTH_SALT_SIZE 32

/* MS-SMB2 2.2.3 */
struct negotiate_req {
	const uint16_t *dialects; /* SMB2_DIALECT_*, 1..SMB2_MAX_DIALECTS */
	uint16_t dialect_count;
	uint16_t security_mode; /* SMB2_NEGOTIATE_SIGNING_* */
	uint32_t capabilities;  /* SMB2_GLOBAL_CAP_* */
	uint8_t client_guid[SMB2_GUID_SIZE];
	/*
	 * Negotiate contexts (2.2.3.1), written only when dialects include
	 * SMB2_DIALECT_0311. The preauth context (SHA-512) is always sent then;
	 * the others are omitted when their count is 0 / pointer is NULL.
	 */
	const uint8_t *preauth_salt; /* 2.2.3.1.1, usually SMB2_PREAUTH_SALT_SIZE random bytes */
	uint16_t preauth_salt_len;
	const uint16_t *ciphers; /* 2.2.3.1.2, SMB2_ENCRYPTION_*, preference order */
	uint16_t cipher_count;
	const uint16_t *signing_algs; /* 2.2.3.1.7, SMB2_SIGNING_*, preference order */
	uint16_t signing_alg_count;
	const char *netname; /* 2.2.3.1.4, server name as UTF-8 (NUL-terminated) */
};

int negotiate_req_encode(struct wbuf *w, const struct negotiate_req *req);

/* MS-SMB2 2.2.4 plus the contexts the client cares about (3.1.1 only). */
struct negotiate_resp {
	uint16_t security_mode;
	uint16_t dialect;
	uint8_t server_guid[SMB2_GUID_SIZE];
	uint32_t capabilities;
	uint32_t max_transact_size;
	uint32_t max_read_size;
	uint32_t max_write_size;
	uint64_t system_time;       /* FILETIME */
	uint64_t server_start_time; /* FILETIME, usually 0 */
	const uint8_t *security_buffer; /* GSS/SPNEGO token view, NULL if empty */
	uint32_t security_buffer_len;
	/* Contexts (dialect 0x0311). ctx_present has bit (1u << type) per type seen. */
	uint16_t neg_ctx_count;
	uint32_t ctx_present;
	uint16_t preauth_hash_alg; /* SMB2_PREAUTH_HASH_SHA512 */
	const uint8_t *preauth_salt;
	uint16_t preauth_salt_len;
	uint16_t cipher;      /* chosen SMB2_ENCRYPTION_*, 0 = none in common / absent */
	uint16_t signing_alg; /* chosen SMB2_SIGNING_*, valid if ctx_present has SIGNING */
};

#define NEG_CTX_PRESENT(resp, type) (((resp)->ctx_present >> (type)) & 1u)

/*
 * Decode a NEGOTIATE response. For dialect 0x0311 the context list is walked
 * (8-byte aligned, unknown types skipped) and a missing or duplicated preauth
 * context, a duplicated encryption/signing context, or a count other than one
 * inside them is -EBADMSG (MS-SMB2 3.2.5.2).
 */
int negotiate_resp_decode(const uint8_t *pdu, size_t len, struct negotiate_resp *resp);

#endif
