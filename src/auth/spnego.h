/*
 * spnego.h - minimal SPNEGO (RFC 4178, MS-SPNG) token codec for SMB2
 * SESSION_SETUP security buffers.
 *
 * Encoders build DER into a malloc'd buffer the caller frees. The parser reads
 * untrusted bytes: every tag and length is checked against the enclosing
 * element, nesting is fixed (no recursion), indefinite lengths, high tag
 * numbers and lengths over 2^24 are rejected, and so is anything after the
 * outermost element. Parsed fields are views into the input buffer and live as
 * long as it does. No function here allocates while parsing, locks or logs
 * token contents.
 */
#ifndef SMBF_AUTH_SPNEGO_H
#define SMBF_AUTH_SPNEGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spnego_mech {
	SPNEGO_MECH_UNKNOWN = 0, /* parsed OID we do not know */
	SPNEGO_MECH_NTLMSSP,	 /* 1.3.6.1.4.1.311.2.2.10 */
	SPNEGO_MECH_KRB5,	 /* 1.2.840.113554.1.2.2 */
	SPNEGO_MECH_MSKRB5,	 /* 1.2.840.48018.1.2.2, Microsoft's legacy Kerberos OID */
	SPNEGO_MECH_KRB5_U2U,	 /* 1.2.840.113554.1.2.2.3 */
	SPNEGO_MECH_NEGOEX,	 /* 1.3.6.1.4.1.311.2.2.30 */
};

/* NegState, RFC 4178 4.2.2. SPNEGO_NEG_STATE_ABSENT when the field is missing. */
enum spnego_neg_state {
	SPNEGO_NEG_STATE_ABSENT = -1,
	SPNEGO_ACCEPT_COMPLETED = 0,
	SPNEGO_ACCEPT_INCOMPLETE = 1,
	SPNEGO_REJECT = 2,
	SPNEGO_REQUEST_MIC = 3,
};

enum spnego_kind {
	SPNEGO_NEG_TOKEN_INIT = 1, /* [0] NegTokenInit / NegTokenInit2, usually GSS-wrapped */
	SPNEGO_NEG_TOKEN_RESP = 2, /* [1] NegTokenResp */
};

/* Mechanisms remembered from one mechTypes list; further ones are counted only. */
#define SPNEGO_MAX_MECHS 8

struct spnego_msg {
	enum spnego_kind kind;

	/* NegTokenInit: mechTypes [0] (RFC 4178 4.2.1). */
	size_t n_mechs;	    /* entries in mechs[] */
	size_t total_mechs; /* OIDs in the list, may exceed SPNEGO_MAX_MECHS */
	enum spnego_mech mechs[SPNEGO_MAX_MECHS];
	const uint8_t *mech_types_der; /* the whole MechTypeList SEQUENCE, or NULL */
	size_t mech_types_der_len;

	/* NegTokenResp: negState [0], supportedMech [1]. */
	enum spnego_neg_state neg_state;
	bool has_supported_mech;
	enum spnego_mech supported_mech;

	/* mechToken [2] (init) or responseToken [2] (resp): OCTET STRING contents. */
	const uint8_t *mech_token;
	size_t mech_token_len;

	/* mechListMIC [3] (resp) or [4] (init): OCTET STRING contents. */
	const uint8_t *mech_list_mic;
	size_t mech_list_mic_len;
};

/*
 * DER of a MechTypeList (SEQUENCE OF OID) naming mechs[0..n) in preference
 * order: the bytes a mechListMIC is computed over (RFC 4178 5). n >= 1.
 * Returns 0, -EINVAL (n == 0 or an unknown mech), -ENOMEM.
 */
int spnego_mechtypes_der(const enum spnego_mech *mechs, size_t n, uint8_t **out, size_t *out_len);

/*
 * GSS-API InitialContextToken (RFC 2743 3.1) wrapping a NegTokenInit:
 *   [APPLICATION 0] { OID 1.3.6.1.5.5.2, [0] { SEQUENCE { [0] mechTypes,
 *                                                          [2] mechToken } } }
 * mechToken is omitted when token_len == 0. Returns 0, -EINVAL, -EMSGSIZE
 * (token over 16 MiB), -ENOMEM.
 */
int spnego_init_token(const enum spnego_mech *mechs, size_t n, const uint8_t *mech_token,
		      size_t token_len, uint8_t **out, size_t *out_len);

/*
 * NegTokenResp from the client: [1] { SEQUENCE { [2] responseToken,
 * [3] mechListMIC } }, each omitted when its length is 0 (at least one must
 * be present). negState is omitted, as Windows clients do.
 */
int spnego_resp_token(const uint8_t *token, size_t len, const uint8_t *mic, size_t mic_len,
		      uint8_t **out, size_t *out_len);

/*
 * Parse a server token: a GSS-wrapped or bare NegTokenInit (NEGOTIATE
 * response; Samba and Windows send NegTokenInit2 with negHints, which is
 * skipped) or a NegTokenResp (SESSION_SETUP responses). Fills *m with views
 * into in. Returns 0, -ENODATA for an empty buffer (the server offered no
 * SPNEGO; callers may fall back to raw NTLMSSP), -EBADMSG for anything
 * malformed, truncated or followed by trailing bytes.
 */
int spnego_parse(const uint8_t *in, size_t len, struct spnego_msg *m);

/* True when m offers mech (NegTokenInit) or selected it (supportedMech). */
bool spnego_has_mech(const struct spnego_msg *m, enum spnego_mech mech);

#endif
