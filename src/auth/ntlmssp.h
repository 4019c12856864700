/*
 * ntlmssp.h - NTLMv2 client (MS-NLMP), the mechanism under SPNEGO for SMB.
 *
 * Sequence for one SESSION_SETUP exchange:
 *
 *   ctx = ntlmssp_new(user, domain, password, workstation);
 *   ntlmssp_negotiate(ctx, &neg, &neg_len);            -> NEGOTIATE_MESSAGE
 *   ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len)
 *                                                     -> AUTHENTICATE_MESSAGE
 *   ntlmssp_session_key(ctx, key);                     -> Session.SessionKey
 *   if (ntlmssp_mic_present(ctx))   the SPNEGO layer must send a mechListMIC
 *       ntlmssp_sign_mic(ctx, mechtypes_der, len, mic) and check the server's
 *       with ntlmssp_verify_mic(ctx, mechtypes_der, len, srv_mic, srv_mic_len)
 *   ntlmssp_free(ctx);
 *
 * A context serves one authentication attempt and one thread at a time (it
 * holds no lock). Output buffers are malloc'd and owned by the caller; they
 * carry no secrets but are authentication blobs, so never log them.
 *
 * Errors: -EBADMSG for a malformed CHALLENGE_MESSAGE or mechListMIC token,
 * -ENOTSUP when the server demands something we do not do (OEM strings) or
 * the OpenSSL legacy provider is missing, -EINVAL for calls out of order,
 * -ENOKEY when an anonymous context is asked for key material, -EACCES when
 * a server signature does not verify, -ENOMEM.
 */
#ifndef SMBF_AUTH_NTLMSSP_H
#define SMBF_AUTH_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * NegotiateFlags, MS-NLMP 2.2.2.5. Macros rather than an enum because bit 31
 * does not fit an int enumerator.
 */
#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001U
#define NTLMSSP_NEGOTIATE_OEM 0x00000002U
#define NTLMSSP_REQUEST_TARGET 0x00000004U
#define NTLMSSP_NEGOTIATE_SIGN 0x00000010U
#define NTLMSSP_NEGOTIATE_SEAL 0x00000020U
#define NTLMSSP_NEGOTIATE_DATAGRAM 0x00000040U
#define NTLMSSP_NEGOTIATE_LM_KEY 0x00000080U
#define NTLMSSP_NEGOTIATE_NTLM 0x00000200U
#define NTLMSSP_ANONYMOUS 0x00000800U
#define NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED 0x00001000U
#define NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED 0x00002000U
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN 0x00008000U
#define NTLMSSP_TARGET_TYPE_DOMAIN 0x00010000U
#define NTLMSSP_TARGET_TYPE_SERVER 0x00020000U
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000U
#define NTLMSSP_NEGOTIATE_IDENTIFY 0x00100000U
#define NTLMSSP_REQUEST_NON_NT_SESSION_KEY 0x00400000U
#define NTLMSSP_NEGOTIATE_TARGET_INFO 0x00800000U
#define NTLMSSP_NEGOTIATE_VERSION 0x02000000U
#define NTLMSSP_NEGOTIATE_128 0x20000000U
#define NTLMSSP_NEGOTIATE_KEY_EXCH 0x40000000U
#define NTLMSSP_NEGOTIATE_56 0x80000000U

/* The flags our NEGOTIATE_MESSAGE asks for. */
#define NTLMSSP_CLIENT_FLAGS                                                                       \
	(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |             \
	 NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |         \
	 NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION |                  \
	 NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

#define NTLMSSP_KEY_LEN 16
#define NTLMSSP_SIG_LEN 16 /* NTLMSSP_MESSAGE_SIGNATURE, MS-NLMP 2.2.2.9.1 */

struct ntlmssp_ctx;

/*
 * Create a client context. All strings are UTF-8 and copied; user and domain
 * are kept as UTF-16LE, the password is turned into its NT hash (MD4) at once
 * and every plaintext copy is wiped. user NULL or "" selects anonymous
 * authentication (password ignored). domain, password and workstation may be
 * NULL (empty). Returns NULL with errno set: EINVAL (bad UTF-8, too long),
 * ENOTSUP (no OpenSSL legacy provider), ENOMEM.
 */
struct ntlmssp_ctx *ntlmssp_new(const char *user, const char *domain, const char *password,
				const char *workstation);

/*
 * Optional, before ntlmssp_authenticate(): a service principal name such as
 * "cifs/server.example.com", sent as MsvAvTargetName (MS-NLMP 2.2.2.1) for
 * servers that validate SPNs. NULL clears it. Returns 0, -EINVAL, -ENOMEM.
 */
int ntlmssp_set_target(struct ntlmssp_ctx *ctx, const char *spn);

/*
 * Build the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) into *out (malloc'd, caller
 * frees). A copy is kept for the MIC. Once per context; -EINVAL otherwise.
 */
int ntlmssp_negotiate(struct ntlmssp_ctx *ctx, uint8_t **out, size_t *out_len);

/*
 * Consume the server's CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2; untrusted, every
 * field is bounds-checked) and build the AUTHENTICATE_MESSAGE (2.2.1.3) with
 * an NTLMv2 response (3.3.2), key exchange and MIC (3.1.5.1.2) into *out
 * (malloc'd, caller frees). After success the session key and signing are
 * available. Once per context, after ntlmssp_negotiate(). On failure the
 * context is unusable.
 */
int ntlmssp_authenticate(struct ntlmssp_ctx *ctx, const uint8_t *challenge, size_t len,
			 uint8_t **out, size_t *out_len);

/*
 * The ExportedSessionKey (MS-NLMP 3.1.5.1.2), which SMB2 uses as
 * Session.SessionKey. -EINVAL before ntlmssp_authenticate() succeeded,
 * -ENOKEY for anonymous.
 */
int ntlmssp_session_key(const struct ntlmssp_ctx *ctx, uint8_t key[NTLMSSP_KEY_LEN]);

/* Negotiated NegotiateFlags as sent in the AUTHENTICATE_MESSAGE (0 before). */
uint32_t ntlmssp_flags(const struct ntlmssp_ctx *ctx);

/* True for a context created without a user name. */
bool ntlmssp_is_anonymous(const struct ntlmssp_ctx *ctx);

/*
 * True when the AUTHENTICATE_MESSAGE announced its MIC (MsvAvFlags bit 0x2,
 * set when the server sent MsvAvTimestamp). The server then requires, and
 * will send, a SPNEGO mechListMIC (MS-SPNG 3.1.5.1).
 */
bool ntlmssp_mic_present(const struct ntlmssp_ctx *ctx);

/*
 * NTLMSSP_MESSAGE_SIGNATURE over msg with extended session security
 * (MS-NLMP 3.4.4.2): HMAC_MD5(ClientSigningKey, SeqNum || msg)[0..7], RC4'd
 * with the client sealing handle when KEY_EXCH was negotiated. Uses and then
 * advances the client sequence number (0 for the first call), so the first
 * call signs the SPNEGO mechListMIC. -ENOTSUP unless extended session security
 * was negotiated; -ENOKEY for anonymous.
 */
int ntlmssp_sign_mic(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len,
		     uint8_t out[NTLMSSP_SIG_LEN]);

/*
 * Check a server signature over msg with the server signing key, sealing
 * handle and sequence number (0 for the first call), which then advances.
 * Returns 0 on a match, -EBADMSG if sig_len != 16 or the version is not 1,
 * -EACCES on a mismatch (constant-time compare).
 */
int ntlmssp_verify_mic(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len, const uint8_t *sig,
		       size_t sig_len);

/*
 * Test hook: make the next ntlmssp_authenticate() deterministic. Uses this
 * client challenge, this timestamp when the server sends no MsvAvTimestamp
 * (the server's always wins, MS-NLMP 3.1.5.1.2), and this ExportedSessionKey
 * when keys are exchanged. Never call it outside tests.
 */
void ntlmssp_set_test_params(struct ntlmssp_ctx *ctx, const uint8_t client_challenge[8],
			     uint64_t timestamp, const uint8_t exported_session_key[16]);

/* Wipe every secret with OPENSSL_cleanse and free. NULL is a no-op. */
void ntlmssp_free(struct ntlmssp_ctx *ctx);

/*
 * Primitives, exposed for the MS-NLMP 4.2 known-answer tests. Strings are
 * UTF-8. All return 0 or -errno.
 */

/* NTOWFv1 = MD4(UNICODE(password)), MS-NLMP 3.3.1. */
int ntlmssp_nt_hash(const char *password, uint8_t out[16]);

/* NTOWFv2 = HMAC_MD5(nt_hash, UNICODE(Upper(user) || domain)), MS-NLMP 3.3.2. */
int ntlmssp_ntowfv2(const uint8_t nt_hash[16], const char *user, const char *domain,
		    uint8_t out[16]);

/*
 * NTLMv2 ComputeResponse, MS-NLMP 3.3.2: writes NtChallengeResponse =
 * NTProofStr || temp (16 + 28 + av_len + 4 bytes) into nt_resp (capacity
 * nt_cap, -EMSGSIZE if short), the LMv2 response, and the SessionBaseKey.
 * av/av_len is the AV_PAIR list carried in temp (ServerName), EOL included.
 */
int ntlmssp_ntlmv2_response(const uint8_t response_key_nt[16], const uint8_t server_challenge[8],
			    const uint8_t client_challenge[8], uint64_t timestamp,
			    const uint8_t *av, size_t av_len, uint8_t *nt_resp, size_t nt_cap,
			    size_t *nt_len, uint8_t lm_resp[24], uint8_t session_base_key[16]);

/*
 * SIGNKEY and SEALKEY with extended session security, MS-NLMP 3.4.5.2 and
 * 3.4.5.3. from_server selects the server-to-client magic constant; flags
 * (NEGOTIATE_128 / NEGOTIATE_56) pick the sealing key strength.
 */
int ntlmssp_sign_key(const uint8_t exported_session_key[16], bool from_server, uint8_t out[16]);
int ntlmssp_seal_key(const uint8_t exported_session_key[16], uint32_t flags, bool from_server,
		     uint8_t out[16]);

#endif
