/*
 * gssapi.h - Kerberos initiator for SMB2 SESSION_SETUP through GSS-API
 * (MIT krb5). Built only when HAVE_KRB5 is set.
 *
 * The caller owns SPNEGO: this module produces and consumes raw krb5 mech
 * tokens (RFC 4121 4.1: InitialContextToken framing, OID 1.2.840.113554.1.2.2,
 * token id 01 00 around a KRB_AP_REQ; the server's answer is a KRB_AP_REP
 * framed the same way with token id 02 00). Sequence for one session:
 *
 *   g = gss_auth_new("fileserver.example.com", &err, msg, sizeof(msg));
 *   gss_auth_step(g, NULL, 0, &tok, &tok_len, &done);   tok = AP-REQ, done = 0
 *       -> SPNEGO NegTokenInit mechToken in the first SESSION_SETUP request
 *   server: NegTokenResp accept-completed, responseToken = AP-REP
 *   gss_auth_step(g, ap_rep, ap_rep_len, &tok, &tok_len, &done);   done = 1,
 *                                                    tok = NULL, tok_len = 0
 *   gss_auth_session_key(g, key, sizeof(key), &key_len);
 *   gss_auth_free(g);
 *
 * Mutual authentication is always requested, so the first step never
 * completes the context: the AP-REP must be fed back before the session key
 * is final (with an acceptor subkey in the AP-REP, the key changes then).
 *
 * Credentials come from the default credentials cache, which honours
 * KRB5CCNAME, and the configuration from krb5.conf / KRB5_CONFIG. The name
 * given to gss_auth_new() is the host part of the service principal
 * cifs/<host>, not necessarily the address the connection goes to: a client
 * may connect to 127.0.0.1 and still ask for a ticket for cifs/dc1.example.com.
 *
 * A context serves one authentication attempt and one thread at a time (it
 * holds no lock); distinct contexts may be used from different threads. The
 * calls may block on the network (KDC exchanges happen inside the first
 * step, bounded by krb5.conf timeouts), so never call them on a connection's
 * loop thread.
 *
 * With SPNEGO (checked against Samba 4.17 as an AD DC, SMB 2.1 and 3.1.1):
 * mechTypes {1.2.840.48018.1.2.2 (MS-krb5), 1.2.840.113554.1.2.2 (krb5)},
 * mechToken = the AP-REQ. One SESSION_SETUP round trip: STATUS_SUCCESS with
 * NegTokenResp {accept-completed, supportedMech = the first mech listed,
 * responseToken = AP-REP}, no mechListMIC, and the response is already
 * signed, so complete the second step and derive the keys before checking
 * that signature.
 *
 * Errors are -errno plus one line naming the cause (errbuf of
 * gss_auth_new(), then gss_auth_error()):
 *   -ENOKEY       no credentials cache or no TGT in it ("run kinit")
 *   -EKEYEXPIRED  ticket or password expired
 *   -ENOENT       cifs/<host> is not a principal the KDC knows
 *   -ETIME        clock skew between this host and the KDC or server
 *   -EHOSTUNREACH no KDC reachable for the realm (or none configured)
 *   -EACCES       the KDC or server refused (policy, revoked, mutual
 *                 authentication failed, bad integrity)
 *   -EBADMSG      malformed token from the server
 *   -ENOTSUP      the krb5 mechanism is not available
 *   -EINVAL       bad arguments or calls out of order
 *   -ENOMEM, -EIO (anything else)
 * errbuf never contains key material or tokens; it may contain principal
 * and ccache names, which are not secret.
 */
#ifndef SMBF_AUTH_GSSAPI_H
#define SMBF_AUTH_GSSAPI_H

#include <stddef.h>
#include <stdint.h>

/* Largest session key a krb5 enctype yields (aes256-cts: 32 bytes). */
#define GSS_AUTH_MAX_KEY_LEN 64

struct gss_auth;

/*
 * Start a Kerberos initiator for the service principal cifs/<host>
 * (GSS_C_NT_HOSTBASED_SERVICE "cifs@<host>", mech krb5). host is a DNS or
 * NetBIOS name, copied. The default credentials are acquired at once, so a
 * missing or expired TGT is reported here rather than at the first step.
 * Returns NULL with *err = -errno and a message in errbuf (errlen may be 0).
 */
struct gss_auth *gss_auth_new(const char *host, int *err, char *errbuf, size_t errlen);

/*
 * The same with an explicit credentials cache name ("FILE:/tmp/krb5cc_1000",
 * "KEYRING:persistent:1000", "KCM:1000"...) instead of the default; NULL
 * means the default. For a daemon serving another user's mount (cifs.ko's
 * cruid=) or tests, without touching the process environment.
 */
struct gss_auth *gss_auth_new_ccache(const char *host, const char *ccache, int *err, char *errbuf,
				     size_t errlen);

/*
 * One gss_init_sec_context() round. The first call takes in == NULL (in_len
 * 0) and yields the AP-REQ token; the next takes the server's responseToken
 * (the AP-REP) and completes. *out is malloc'd (caller frees with free()),
 * or NULL with *out_len 0 when there is nothing to send. *complete is set to
 * 1 once the context is established (then the session key is available) and
 * 0 while the server must answer. Output tokens carry a service ticket:
 * never log them. On failure the context is unusable and gss_auth_error()
 * holds the message. Returns 0 or a -errno listed above; -EINVAL when
 * called again after completion, or with a token on the first call.
 *
 * Feed the second step whatever responseToken the server sent, also with a
 * failing status: Samba answers a rejected AP-REQ (clock skew, bad ticket)
 * with STATUS_MORE_PROCESSING_REQUIRED and a KRB-ERROR as responseToken,
 * which this call turns into the right -errno and message. in == NULL on
 * the second step means the server sent no AP-REP: -EACCES, "did not
 * complete Kerberos mutual authentication".
 */
int gss_auth_step(struct gss_auth *g, const uint8_t *in, size_t in_len, uint8_t **out,
		  size_t *out_len, int *complete);

/*
 * The context's session key, GSS_C_INQ_SSPI_SESSION_KEY (MS-KILE 3.1.1.2:
 * the acceptor subkey when the AP-REP carried one, else the initiator
 * subkey, else the ticket session key). The whole key is returned: 32 bytes
 * for aes256-cts, 16 for aes128-cts and rc4-hmac. SMB2 takes
 * Session.SessionKey as its first 16 bytes, zero-padded when shorter
 * (MS-SMB2 3.2.5.3.1; signing keys and AES-128 cipher keys come from that),
 * and Session.FullSessionKey as all of it for the AES-256-CCM/GCM cipher
 * keys of SMB 3.1.1. Copies into key (capacity cap; -EMSGSIZE when short)
 * and sets *len. -EINVAL before the context is complete.
 */
int gss_auth_session_key(struct gss_auth *g, uint8_t *key, size_t cap, size_t *len);

/*
 * SPNEGO mechListMIC support (RFC 4178 5), only for a complete context:
 * gss_auth_get_mic() returns a MIC token over msg (malloc'd, caller frees);
 * gss_auth_verify_mic() checks the server's, 0 or -EACCES / -EBADMSG. For
 * krb5 as the first and chosen mech neither side needs a MIC; use them only
 * if the server sends one or asks for one (negState request-mic).
 */
int gss_auth_get_mic(struct gss_auth *g, const uint8_t *msg, size_t len, uint8_t **mic,
		     size_t *mic_len);
int gss_auth_verify_mic(struct gss_auth *g, const uint8_t *msg, size_t len, const uint8_t *mic,
			size_t mic_len);

/* The last error line (empty string when none). Lives as long as g. */
const char *gss_auth_error(const struct gss_auth *g);

/* Delete the security context and credentials, wipe state, free. NULL is a no-op. */
void gss_auth_free(struct gss_auth *g);

/*
 * Pure mapping from a GSS major status and krb5 minor status (a com_err code
 * from the krb5 mech) to -errno, as listed above. Exposed for unit tests.
 */
int gss_auth_errno(uint32_t major, uint32_t minor);

#endif
