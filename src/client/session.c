/*
 * session.c - negotiate, authenticate, connect the tree, derive keys.
 *
 * Order of events (MS-SMB2 3.2.4.2 - 3.2.5.5):
 *   NEGOTIATE          dialects in [min,max]; for 3.1.1 preauth, cipher,
 *                      signing and netname contexts. Preauth hash starts.
 *   SESSION_SETUP x2   SPNEGO(NTLMSSP NEGOTIATE) -> CHALLENGE ->
 *                      SPNEGO(AUTHENTICATE + mechListMIC) -> success.
 *                      Each request, and each MORE_PROCESSING response, goes
 *                      into the session's preauth hash (3.1.1).
 *   keys               signing/cipher keys from the session key (+ hash).
 *   verify             the final SESSION_SETUP response's signature (3.1.1
 *                      always signs it) — protects the negotiation.
 *   TREE_CONNECT       signed/sealed as the session requires.
 *
 * Nothing here logs a password, a hash, a key or a security blob.
 */
#include "client/session.h"

#include <time.h>

#include "client/internal.h"
#include "client/pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/ntlmssp.h"
#include "config.h"
#if HAVE_KRB5
#include "auth/gssapi.h"
#endif
#include "auth/spnego.h"
#include "crypto/sign.h"
#include "errmap.h"
#include "log.h"
#include "net/conn.h"
#include "wire/ioctl.h"
#include "wire/negotiate.h"
#include "wire/session.h"
#include "wire/tree.h"

#define SESSION_BODY_CAP 8192

static const struct {
	const char *name;
	uint16_t min, max;
} vers_table[] = {
	{"default", SMB2_DIALECT_0202, SMB2_DIALECT_0311},
	{"2.0", SMB2_DIALECT_0202, SMB2_DIALECT_0202},
	{"2.1", SMB2_DIALECT_0210, SMB2_DIALECT_0210},
	{"3", SMB2_DIALECT_0300, SMB2_DIALECT_0311},
	{"3.0", SMB2_DIALECT_0300, SMB2_DIALECT_0300},
	{"3.02", SMB2_DIALECT_0302, SMB2_DIALECT_0302},
	{"3.0.2", SMB2_DIALECT_0302, SMB2_DIALECT_0302},
	{"3.1.1", SMB2_DIALECT_0311, SMB2_DIALECT_0311},
	{"3.11", SMB2_DIALECT_0311, SMB2_DIALECT_0311},
};

int smbc_parse_vers(const char *vers, uint16_t *min, uint16_t *max)
{
	for (size_t i = 0; i < sizeof(vers_table) / sizeof(vers_table[0]); i++) {
		if (strcmp(vers, vers_table[i].name) == 0) {
			*min = vers_table[i].min;
			*max = vers_table[i].max;
			return 0;
		}
	}
	return -EINVAL;
}

const char *smbc_dialect_name(uint16_t d)
{
	switch (d) {
	case SMB2_DIALECT_0202:
		return "2.0.2";
	case SMB2_DIALECT_0210:
		return "2.1";
	case SMB2_DIALECT_0300:
		return "3.0";
	case SMB2_DIALECT_0302:
		return "3.0.2";
	case SMB2_DIALECT_0311:
		return "3.1.1";
	default:
		return "unknown";
	}
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen || err[0])
		return; /* keep the first, most specific message */
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Send one request and wait; count the round trip. */
static int call(struct smb_client *c, struct smb_req *req)
{
	c->round_trips++;
	return conn_call(c->conn, req);
}

/* ------------------------------------------------------------------ negotiate */

static int do_negotiate(struct smb_client *c, const struct smbc_opts *o, struct preauth_hash *ph,
			char *err, size_t errlen)
{
	static const uint16_t all[] = {SMB2_DIALECT_0202, SMB2_DIALECT_0210, SMB2_DIALECT_0300,
				       SMB2_DIALECT_0302, SMB2_DIALECT_0311};
	static const uint16_t ciphers[] = {SMB2_ENCRYPTION_AES128_GCM, SMB2_ENCRYPTION_AES128_CCM,
					   SMB2_ENCRYPTION_AES256_GCM, SMB2_ENCRYPTION_AES256_CCM};
	static const uint16_t sigalgs[] = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC,
					   SMB2_SIGNING_HMAC_SHA256};
	uint16_t dialects[5];
	uint16_t n = 0, min = o->min_dialect ? o->min_dialect : SMB2_DIALECT_0202,
		 max = o->max_dialect ? o->max_dialect : SMB2_DIALECT_0311;
	uint8_t salt[32];
	struct negotiate_req nreq;
	struct negotiate_resp nresp;
	struct smb_req *req;
	struct wbuf w;
	int rc;

	for (size_t i = 0; i < 5; i++)
		if (all[i] >= min && all[i] <= max)
			dialects[n++] = all[i];
	static const uint8_t zero_guid[16];
	/* one ClientGuid for the client's life: durable handles are bound to it */
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    (!memcmp(c->client_guid, zero_guid, 16) && RAND_bytes(c->client_guid, 16) != 1))
		return -EIO;

	memset(&nreq, 0, sizeof(nreq));
	memcpy(c->offered_dialects, dialects, sizeof(dialects));
	c->offered_count = n;
	nreq.dialects = dialects;
	nreq.dialect_count = n;
	nreq.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED |
			     (o->require_sign ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0);
	nreq.capabilities = SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION |
			    /* servers grant leases (and so durable handles) only if offered */
			    (o->leases ? SMB2_GLOBAL_CAP_LEASING : 0);
	if (o->max_channels > 1)
		nreq.capabilities |= SMB2_GLOBAL_CAP_MULTI_CHANNEL;
	c->offered_security_mode = nreq.security_mode;
	c->offered_caps = nreq.capabilities;
	memcpy(nreq.client_guid, c->client_guid, 16);
	nreq.preauth_salt = salt;
	nreq.preauth_salt_len = sizeof(salt);
	nreq.ciphers = ciphers;
	nreq.cipher_count = 4;
	nreq.signing_algs = sigalgs;
	nreq.signing_alg_count = 3;
	nreq.netname = c->host;

	req = req_new(SMB2_NEGOTIATE, 1024);
	if (!req)
		return -ENOMEM;
	w = wbuf_init(req_body(req), req_body_cap(req));
	rc = negotiate_req_encode(&w, &nreq);
	if (rc)
		goto out;
	req_set_body_len(req, w.off);
	req->credit_charge = 0;
	rc = call(c, req);
	if (rc == -EPROTONOSUPPORT) {
		seterr(err, errlen,
		       "server %s speaks only SMB1, which smbfuse never uses; enable SMB2/3 on "
		       "the server", c->host);
		goto out;
	}
	if (rc) {
		seterr(err, errlen, "negotiate with %s failed: %s", c->host,
		       rc == -ETIMEDOUT ? "no answer (timed out)" : strerror(-rc));
		goto out;
	}
	if (req->status != STATUS_SUCCESS) {
		rc = ntstatus_to_errno(req->status);
		if (req->status == STATUS_NOT_SUPPORTED || req->status == STATUS_INVALID_PARAMETER)
			seterr(err, errlen,
			       "server %s supports none of the requested SMB dialects (%s to %s) "
			       "(%s)", c->host, smbc_dialect_name(min), smbc_dialect_name(max),
			       ntstatus_name(req->status));
		else
			seterr(err, errlen, "negotiate with %s failed: %s", c->host,
			       ntstatus_name(req->status));
		rc = rc ? rc : -EIO;
		goto out;
	}
	rc = negotiate_resp_decode(req->resp, req->resp_len, &nresp);
	if (rc) {
		seterr(err, errlen, "server %s sent a malformed NEGOTIATE response", c->host);
		goto out;
	}
	if (nresp.dialect == SMB2_DIALECT_WILDCARD || nresp.dialect < min ||
	    nresp.dialect > max) {
		seterr(err, errlen, "server %s chose dialect 0x%04x, which was not offered (%s to %s)",
		       c->host, nresp.dialect, smbc_dialect_name(min), smbc_dialect_name(max));
		rc = -EPROTO;
		goto out;
	}
	c->dialect = nresp.dialect;
	c->server_security_mode = nresp.security_mode;
	c->server_caps = nresp.capabilities;
	c->max_read = nresp.max_read_size;
	c->max_write = nresp.max_write_size;
	c->max_transact = nresp.max_transact_size;
	memcpy(c->server_guid, nresp.server_guid, 16);
	c->sign_alg = c->dialect >= SMB2_DIALECT_0300 ? SMB2_SIGNING_AES_CMAC
						      : SMB2_SIGNING_HMAC_SHA256;
	c->cipher = 0;
	if (c->dialect == SMB2_DIALECT_0311) {
		if (!NEG_CTX_PRESENT(&nresp, SMB2_PREAUTH_INTEGRITY_CAPABILITIES) ||
		    nresp.preauth_hash_alg != SMB2_PREAUTH_HASH_SHA512) {
			seterr(err, errlen, "server %s: SMB 3.1.1 without SHA-512 preauth integrity",
			       c->host);
			rc = -EPROTO;
			goto out;
		}
		if (NEG_CTX_PRESENT(&nresp, SMB2_SIGNING_CAPABILITIES))
			c->sign_alg = nresp.signing_alg;
		if (NEG_CTX_PRESENT(&nresp, SMB2_ENCRYPTION_CAPABILITIES))
			c->cipher = nresp.cipher;
		preauth_init(ph);
		if (preauth_update(ph, req->buf, req->len) ||
		    preauth_update(ph, req->resp, req->resp_len)) {
			rc = -EIO;
			goto out;
		}
	} else if (c->dialect >= SMB2_DIALECT_0300 &&
		   (c->server_caps & SMB2_GLOBAL_CAP_ENCRYPTION)) {
		c->cipher = SMB2_ENCRYPTION_AES128_CCM;
	}
	conn_set_negotiated(c->conn, c->dialect,
			    c->dialect >= SMB2_DIALECT_0210 &&
				    (c->server_caps & SMB2_GLOBAL_CAP_LARGE_MTU));
	LOG_INFO("negotiated SMB %s with %s", smbc_dialect_name(c->dialect), c->host);
out:
	req_put(req);
	return rc;
}

/* ------------------------------------------------------------------ session setup */

static int session_leg(struct smb_client *c, const struct smbc_opts *o, const uint8_t *tok,
		       size_t toklen, struct smb_req **out)
{
	struct session_setup_req sreq;
	struct smb_req *req = req_new(SMB2_SESSION_SETUP, 64 + toklen);
	struct wbuf w;
	int rc;

	if (!req)
		return -ENOMEM;
	memset(&sreq, 0, sizeof(sreq));
	sreq.security_mode = (c->signing || o->require_sign) ? SMB2_NEGOTIATE_SIGNING_REQUIRED
							     : SMB2_NEGOTIATE_SIGNING_ENABLED;
	sreq.security_buffer = tok;
	sreq.security_buffer_len = toklen;
	if (c->bind_sec) {
		/* MS-SMB2 3.2.4.2.3.1: same SessionId, BINDING, signed with Session.SigningKey
		 * (the connection was given that key by bind_channel) */
		sreq.flags = SMB2_SESSION_FLAG_BINDING;
		req->force_sign = 1;
	}
	w = wbuf_init(req_body(req), req_body_cap(req));
	rc = session_setup_req_encode(&w, &sreq);
	if (rc) {
		req_put(req);
		return rc;
	}
	req_set_body_len(req, w.off);
	req->session_id = c->session_id;
	rc = call(c, req);
	if (rc) {
		req_put(req);
		return rc;
	}
	*out = req;
	return 0;
}

static void auth_error(struct smb_client *c, const struct smbc_opts *o, uint32_t status,
		       char *err, size_t errlen)
{
	const char *user = (o->username && *o->username) ? o->username : "(anonymous)";
	switch (status) {
	case STATUS_LOGON_FAILURE:
	case STATUS_WRONG_PASSWORD:
		seterr(err, errlen,
		       "logon failure for user '%s' on %s: wrong username or password (%s)", user,
		       c->host, ntstatus_name(status));
		break;
	case STATUS_ACCOUNT_LOCKED_OUT:
		seterr(err, errlen, "account '%s' is locked out on %s (%s)", user, c->host,
		       ntstatus_name(status));
		break;
	case STATUS_ACCOUNT_DISABLED:
		seterr(err, errlen, "account '%s' is disabled on %s (%s)", user, c->host,
		       ntstatus_name(status));
		break;
	case STATUS_ACCOUNT_EXPIRED:
		seterr(err, errlen, "account '%s' has expired on %s (%s)", user, c->host,
		       ntstatus_name(status));
		break;
	case STATUS_PASSWORD_EXPIRED:
	case STATUS_PASSWORD_MUST_CHANGE:
		seterr(err, errlen, "the password of '%s' has expired on %s (%s)", user, c->host,
		       ntstatus_name(status));
		break;
	case STATUS_ACCOUNT_RESTRICTION:
	case STATUS_INVALID_LOGON_HOURS:
	case STATUS_INVALID_WORKSTATION:
	case STATUS_LOGON_TYPE_NOT_GRANTED:
		seterr(err, errlen, "account '%s' may not log on to %s now (%s)", user, c->host,
		       ntstatus_name(status));
		break;
	default:
		seterr(err, errlen, "session setup for user '%s' on %s failed (%s)", user, c->host,
		       ntstatus_name(status));
	}
}

#if HAVE_KRB5
/*
 * Kerberos through GSSAPI (MS-SMB2 3.2.5.3, RFC 4178): one SESSION_SETUP
 * carries SPNEGO(MS-krb5, krb5; AP-REQ); the server answers SUCCESS with the
 * AP-REP (mutual authentication), or MORE_PROCESSING_REQUIRED with a
 * KRB-ERROR that GSSAPI turns into a clear message.
 */
static int krb5_session_setup(struct smb_client *c, const struct smbc_opts *o,
			      struct preauth_hash *ph, uint8_t *key, size_t *key_len,
			      struct smb_req **final, char *err, size_t errlen)
{
	static const enum spnego_mech mechs[2] = {SPNEGO_MECH_MSKRB5, SPNEGO_MECH_KRB5};
	char gerr[512];
	struct gss_auth *g;
	struct smb_req *req = NULL;
	struct session_setup_resp sresp;
	struct spnego_msg sm;
	uint8_t *t = NULL, *tok = NULL;
	size_t tlen = 0, toklen = 0;
	int rc, complete = 0;

	gerr[0] = '\0';
	g = gss_auth_new_ccache(c->host, o->krb5_ccache, &rc, gerr, sizeof(gerr));
	if (!g) {
		seterr(err, errlen, "Kerberos logon to %s: %s", c->host,
		       gerr[0] ? gerr : strerror(-rc));
		return rc ? rc : -EACCES;
	}
	rc = gss_auth_step(g, NULL, 0, &t, &tlen, &complete);
	if (rc) {
		seterr(err, errlen, "Kerberos logon to %s: %s", c->host, gss_auth_error(g));
		goto out;
	}
	rc = spnego_init_token(mechs, 2, t, tlen, &tok, &toklen);
	if (rc)
		goto out;
	rc = session_leg(c, o, tok, toklen, &req);
	if (rc) {
		seterr(err, errlen, "session setup with %s failed: %s", c->host, strerror(-rc));
		goto out;
	}
	c->session_id = req->rhdr.session_id;
	if (c->dialect == SMB2_DIALECT_0311 && preauth_update(ph, req->buf, req->len)) {
		rc = -EIO;
		goto out;
	}
	if (req->status != STATUS_SUCCESS && req->status != STATUS_MORE_PROCESSING_REQUIRED) {
		auth_error(c, o, req->status, err, errlen);
		rc = ntstatus_to_errno(req->status);
		rc = rc ? rc : -EACCES;
		goto out;
	}
	rc = session_setup_resp_decode(req->resp, req->resp_len, &sresp);
	if (!rc)
		rc = spnego_parse(sresp.security_buffer, sresp.security_buffer_len, &sm);
	if (rc) {
		seterr(err, errlen, "server %s sent a malformed Kerberos session setup answer",
		       c->host);
		rc = -EPROTO;
		goto out;
	}
	free(t);
	t = NULL;
	/* AP-REP (mutual authentication) or KRB-ERROR; none at all is a refusal */
	rc = gss_auth_step(g, sm.mech_token, sm.mech_token_len, &t, &tlen, &complete);
	if (rc || !complete || req->status != STATUS_SUCCESS) {
		seterr(err, errlen, "Kerberos logon to %s refused: %s", c->host,
		       rc ? gss_auth_error(g) : "the server did not complete authentication");
		rc = rc ? rc : -EACCES;
		goto out;
	}
	rc = gss_auth_session_key(g, key, GSS_AUTH_MAX_KEY_LEN, key_len);
	if (rc)
		goto out;
	*final = req;
	req = NULL;
out:
	free(t);
	free(tok);
	req_put(req);
	gss_auth_free(g);
	return rc;
}
#endif

static int do_session_setup(struct smb_client *c, const struct smbc_opts *o,
			    struct preauth_hash *ph, char *err, size_t errlen)
{
	struct ntlmssp_ctx *ntlm = NULL;
	struct smb_req *req = NULL;
	struct session_setup_resp sresp;
	struct spnego_msg sm;
	struct smb3_keys keys;
	struct conn_security sec;
	uint8_t *t1 = NULL, *t3 = NULL, *tok = NULL, *mechtypes = NULL;
	size_t t1len = 0, t3len = 0, toklen = 0, mtlen = 0;
	uint8_t session_key[64], mic[16];
	size_t sk_len = 16;
	int rc, anonymous;
	char host[256];
	const char *ws = o->workstation;
	static const enum spnego_mech mechs[1] = {SPNEGO_MECH_NTLMSSP};

	memset(&keys, 0, sizeof(keys));
	memset(&sec, 0, sizeof(sec));
	if (!ws) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "SMBFUSE");
		host[sizeof(host) - 1] = '\0';
		ws = host;
	}
	anonymous = !o->username || !*o->username;
	c->signing = o->require_sign || (c->server_security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED);
	if (o->sec == SMBC_SEC_KRB5 || o->sec == SMBC_SEC_KRB5I) {
#if HAVE_KRB5
		anonymous = 0;
		rc = krb5_session_setup(c, o, ph, session_key, &sk_len, &req, err, errlen);
		if (rc)
			goto out;
		goto final_response;
#else
		seterr(err, errlen, "this smbfuse was built without Kerberos support");
		rc = -EOPNOTSUPP;
		goto out;
#endif
	}

	ntlm = ntlmssp_new(anonymous ? NULL : o->username, o->domain ? o->domain : "",
			   o->password ? o->password : "", ws);
	if (!ntlm) {
		rc = -ENOMEM;
		goto out;
	}
	rc = ntlmssp_negotiate(ntlm, &t1, &t1len);
	if (rc)
		goto out;
	rc = spnego_init_token(mechs, 1, t1, t1len, &tok, &toklen);
	if (!rc)
		rc = spnego_mechtypes_der(mechs, 1, &mechtypes, &mtlen);
	if (rc)
		goto out;

	/* Leg 1: NTLMSSP NEGOTIATE */
	rc = session_leg(c, o, tok, toklen, &req);
	if (rc) {
		seterr(err, errlen, "session setup with %s failed: %s", c->host, strerror(-rc));
		goto out;
	}
	if (req->status != STATUS_MORE_PROCESSING_REQUIRED) {
		auth_error(c, o, req->status, err, errlen);
		rc = req->status ? ntstatus_to_errno(req->status) : -EPROTO;
		rc = rc ? rc : -EPROTO;
		goto out;
	}
	if (c->bind_sec && req->rhdr.session_id != c->session_id) {
		seterr(err, errlen, "server %s answered a channel binding for another session",
		       c->host);
		rc = -EPROTO;
		goto out;
	}
	c->session_id = req->rhdr.session_id;
	if (c->dialect == SMB2_DIALECT_0311) {
		if (preauth_update(ph, req->buf, req->len) ||
		    preauth_update(ph, req->resp, req->resp_len)) {
			rc = -EIO;
			goto out;
		}
	}
	rc = session_setup_resp_decode(req->resp, req->resp_len, &sresp);
	if (!rc)
		rc = spnego_parse(sresp.security_buffer, sresp.security_buffer_len, &sm);
	if (rc || !sm.mech_token) {
		seterr(err, errlen, "server %s sent a malformed session setup challenge", c->host);
		rc = -EPROTO;
		goto out;
	}

	/* Leg 2: NTLMSSP AUTHENTICATE with mechListMIC */
	rc = ntlmssp_authenticate(ntlm, sm.mech_token, sm.mech_token_len, &t3, &t3len);
	if (rc) {
		seterr(err, errlen, "cannot answer the NTLM challenge from %s: %s", c->host,
		       strerror(-rc));
		goto out;
	}
	rc = ntlmssp_sign_mic(ntlm, mechtypes, mtlen, mic);
	if (rc)
		goto out;
	free(tok);
	tok = NULL;
	rc = spnego_resp_token(t3, t3len, mic, sizeof(mic), &tok, &toklen);
	if (rc)
		goto out;
	req_put(req);
	req = NULL;
	rc = session_leg(c, o, tok, toklen, &req);
	if (rc) {
		seterr(err, errlen, "session setup with %s failed: %s", c->host, strerror(-rc));
		goto out;
	}
	if (req->status != STATUS_SUCCESS) {
		auth_error(c, o, req->status, err, errlen);
		rc = ntstatus_to_errno(req->status);
		rc = rc ? rc : -EACCES;
		goto out;
	}
	/* The final request is hashed too; the final response is not (MS-SMB2 3.2.5.3.1). */
	if (c->dialect == SMB2_DIALECT_0311 && preauth_update(ph, req->buf, req->len)) {
		rc = -EIO;
		goto out;
	}
final_response:
	rc = session_setup_resp_decode(req->resp, req->resp_len, &sresp);
	if (rc) {
		seterr(err, errlen, "server %s sent a malformed session setup response", c->host);
		goto out;
	}
	c->session_flags = sresp.session_flags;
	/* The server's mechListMIC, when sent, proves it saw our mechanism list unaltered. */
	if (ntlm && sresp.security_buffer_len &&
	    !spnego_parse(sresp.security_buffer, sresp.security_buffer_len, &sm) &&
	    sm.mech_list_mic &&
	    ntlmssp_verify_mic(ntlm, mechtypes, mtlen, sm.mech_list_mic, sm.mech_list_mic_len)) {
		seterr(err, errlen, "server %s sent a bad SPNEGO mechListMIC", c->host);
		rc = -EACCES;
		goto out;
	}
	if (c->bind_sec &&
	    (sresp.session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL))) {
		/* MS-SMB2 3.2.5.3.3: a guest binding is refused */
		seterr(err, errlen, "server %s bound a channel as guest", c->host);
		rc = -EACCES;
		goto out;
	}
	if (sresp.session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL)) {
		if (o->require_sign || o->require_seal) {
			seterr(err, errlen,
			       "server %s logged '%s' on as guest, which cannot sign or encrypt",
			       c->host, anonymous ? "(anonymous)" : o->username);
			rc = -EACCES;
			goto out;
		}
		if (!o->guest && !anonymous) {
			seterr(err, errlen,
			       "server %s accepted '%s' only as guest; add -o guest to allow that",
			       c->host, o->username);
			rc = -EACCES;
			goto out;
		}
		c->signing = 0;
	}

	if (ntlm && (anonymous || (c->session_flags & SMB2_SESSION_FLAG_IS_NULL))) {
		/* an anonymous session has no key: it can neither sign nor seal */
		memset(session_key, 0, sizeof(session_key));
		c->signing = 0;
	} else if (ntlm) {
		rc = ntlmssp_session_key(ntlm, session_key);
		if (rc)
			goto out;
	}
	if (c->bind_sec) /* a bound channel: only its own signing key (Channel.SigningKey) */
		rc = smb3_channel_signing_key(c->dialect, session_key, sk_len,
					      c->dialect == SMB2_DIALECT_0311 ? ph->h : NULL,
					      keys.signing);
	else
		rc = smb3_derive_keys(c->dialect, c->cipher, session_key, sk_len,
				      c->dialect == SMB2_DIALECT_0311 ? ph->h : NULL, &keys);
	OPENSSL_cleanse(session_key, sizeof(session_key));
	if (rc)
		goto out;

	/* 3.1.1 servers sign the final response: it authenticates the preauth hash. */
	if (req->rhdr.flags & SMB2_FLAGS_SIGNED) {
		if (smb2_verify_pdu(c->sign_alg, keys.signing, (uint8_t *)req->resp,
				    req->resp_len)) {
			seterr(err, errlen,
			       "the session setup response from %s has a bad signature "
			       "(tampered connection or wrong password)", c->host);
			rc = -EACCES;
			goto out;
		}
	} else if (c->dialect == SMB2_DIALECT_0311 && !(c->session_flags &
		   (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL))) {
		seterr(err, errlen, "server %s did not sign its SMB 3.1.1 session setup response",
		       c->host);
		rc = -EACCES;
		goto out;
	}

	if (c->bind_sec) {
		/*
		 * Channel.SigningKey comes from this binding's own authentication
		 * (and, for 3.1.1, this connection's preauth hash): keys.signing.
		 * Encryption keys belong to the session: the primary channel's.
		 */
		sec = *c->bind_sec;
		memcpy(sec.sign_key, keys.signing, 16);
		sec.sign_alg = c->sign_alg;
		conn_set_security(c->conn, &sec);
		rc = 0;
		goto out;
	}
	c->encrypting = o->require_seal || (sresp.session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA);
	if (c->encrypting && (c->dialect < SMB2_DIALECT_0300 || !c->cipher)) {
		seterr(err, errlen, "encryption was required but server %s does not offer it "
				    "(dialect %s)", c->host, smbc_dialect_name(c->dialect));
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	sec.session_id = c->session_id;
	sec.signing = c->signing;
	sec.sign_alg = c->sign_alg;
	memcpy(sec.sign_key, keys.signing, 16);
	sec.encrypt = c->encrypting;
	sec.cipher = c->cipher;
	memcpy(sec.enc_key, keys.enc_c2s, sizeof(sec.enc_key));
	memcpy(sec.dec_key, keys.dec_s2c, sizeof(sec.dec_key));
	conn_set_security(c->conn, &sec);
	LOG_INFO("logged on to %s as '%s'%s%s", c->host, anonymous ? "(anonymous)" : o->username,
		 c->signing ? ", signing" : "", c->encrypting ? ", encrypted" : "");
	rc = 0;
out:
	OPENSSL_cleanse(&sec, sizeof(sec));
	smb3_keys_wipe(&keys);
	if (t1) {
		OPENSSL_cleanse(t1, t1len);
		free(t1);
	}
	if (t3) {
		OPENSSL_cleanse(t3, t3len);
		free(t3);
	}
	if (tok) {
		OPENSSL_cleanse(tok, toklen);
		free(tok);
	}
	free(mechtypes);
	req_put(req);
	ntlmssp_free(ntlm);
	return rc;
}

/* ------------------------------------------------------------------ tree connect */

static int do_tree_connect(struct smb_client *c, const struct smbc_opts *o, char *err,
			   size_t errlen)
{
	struct tree_connect_req treq;
	struct tree_connect_resp tresp;
	struct smb_req *req;
	struct wbuf w;
	char path[1024];
	int rc;

	snprintf(path, sizeof(path), "\\\\%s\\%s", c->host, o->share);
	req = req_new(SMB2_TREE_CONNECT, 2 * sizeof(path) + 16);
	if (!req)
		return -ENOMEM;
	memset(&treq, 0, sizeof(treq));
	treq.path = path;
	w = wbuf_init(req_body(req), req_body_cap(req));
	rc = tree_connect_req_encode(&w, &treq);
	if (rc) {
		seterr(err, errlen, "bad share name '%s'", o->share);
		goto out;
	}
	req_set_body_len(req, w.off);
	req->session_id = c->session_id;
	/* MS-SMB2 3.2.4.1.1: a 3.1.1 TREE_CONNECT is always signed (downgrade protection). */
	req->force_sign = c->dialect == SMB2_DIALECT_0311 &&
			  !(c->session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL));
	rc = call(c, req);
	if (rc) {
		seterr(err, errlen, "tree connect to //%s/%s failed: %s", c->host, o->share,
		       strerror(-rc));
		goto out;
	}
	if (req->status != STATUS_SUCCESS) {
		if (req->status == STATUS_BAD_NETWORK_NAME)
			seterr(err, errlen, "share '%s' not found on %s (%s)", o->share, c->host,
			       ntstatus_name(req->status));
		else if (req->status == STATUS_ACCESS_DENIED ||
			 req->status == STATUS_NETWORK_ACCESS_DENIED)
			seterr(err, errlen, "access to share '%s' on %s denied for this user (%s)",
			       o->share, c->host, ntstatus_name(req->status));
		else
			seterr(err, errlen, "cannot connect to share '%s' on %s (%s)", o->share,
			       c->host, ntstatus_name(req->status));
		rc = ntstatus_to_errno(req->status);
		rc = rc ? rc : -EIO;
		goto out;
	}
	rc = tree_connect_resp_decode(req->resp, req->resp_len, &tresp);
	if (rc) {
		seterr(err, errlen, "server %s sent a malformed tree connect response", c->host);
		goto out;
	}
	if (tresp.share_type != SMB2_SHARE_TYPE_DISK) {
		seterr(err, errlen, "share '%s' on %s is not a disk share", o->share, c->host);
		rc = -ENOTDIR;
		goto out;
	}
	c->tree_id = req->rhdr.tree_id;
	c->share_flags = tresp.share_flags;
	c->share_caps = tresp.capabilities;
	c->maximal_access = tresp.maximal_access;
	if ((tresp.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && !c->encrypting) {
		/* The share wants encryption: turn it on for the session (MS-SMB2 3.2.5.5). */
		if (c->dialect < SMB2_DIALECT_0300 || !c->cipher) {
			seterr(err, errlen, "share '%s' on %s requires encryption, which dialect %s "
					    "cannot do", o->share, c->host, smbc_dialect_name(c->dialect));
			rc = -EPROTONOSUPPORT;
			goto out;
		}
		/* Keys were derived with the cipher; from now on every request is sealed. */
		c->encrypting = 1;
		conn_enable_encryption(c->conn);
	}
	rc = 0;
out:
	req_put(req);
	return rc;
}

/*
 * FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.2.5.14.12 / 3.3.5.15.12): for 3.0
 * and 3.0.2, which lack preauth integrity, a signed round trip proves that
 * nobody rewrote the NEGOTIATE exchange (a downgrade). Any mismatch drops the
 * session.
 */
static int do_validate_negotiate(struct smb_client *c, char *err, size_t errlen)
{
	struct validate_negotiate_req vreq;
	struct validate_negotiate_resp vresp;
	struct ioctl_resp iresp;
	struct smb_req *req;
	struct wbuf w;
	int rc;

	if (c->dialect != SMB2_DIALECT_0300 && c->dialect != SMB2_DIALECT_0302)
		return 0;
	if (c->session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL))
		return 0; /* no key to sign with; MS-SMB2 skips it for guests */
	req = req_new(SMB2_IOCTL, 256);
	if (!req)
		return -ENOMEM;
	memset(&vreq, 0, sizeof(vreq));
	vreq.capabilities = c->offered_caps;
	memcpy(vreq.guid, c->client_guid, 16);
	vreq.security_mode = c->offered_security_mode;
	vreq.dialects = c->offered_dialects;
	vreq.dialect_count = c->offered_count;
	w = wbuf_init(req_body(req), req_body_cap(req));
	rc = ioctl_validate_negotiate_encode(&w, &vreq);
	if (rc)
		goto out;
	req_set_body_len(req, w.off);
	req->session_id = c->session_id;
	req->tree_id = c->tree_id;
	req->force_sign = 1;
	rc = call(c, req);
	if (rc) {
		seterr(err, errlen, "validating the negotiation with %s failed: %s", c->host,
		       strerror(-rc));
		goto out;
	}
	if (!req->resp_signed_ok) {
		seterr(err, errlen, "server %s did not sign its VALIDATE_NEGOTIATE answer: "
				    "possible downgrade attack", c->host);
		rc = -EACCES;
		goto out;
	}
	if (req->status == STATUS_NOT_SUPPORTED || req->status == STATUS_INVALID_DEVICE_REQUEST) {
		/* signed refusal: the server does not implement it (MS-SMB2 3.2.5.14.12) */
		LOG_WARN("server %s does not support VALIDATE_NEGOTIATE_INFO", c->host);
		rc = 0;
		goto out;
	}
	if (req->status != STATUS_SUCCESS ||
	    ioctl_resp_decode(req->resp, req->resp_len, &iresp) ||
	    validate_negotiate_resp_decode(iresp.output, iresp.output_len, &vresp)) {
		seterr(err, errlen, "server %s failed VALIDATE_NEGOTIATE_INFO (%s)", c->host,
		       ntstatus_name(req->status));
		rc = -EACCES;
		goto out;
	}
	if (vresp.dialect != c->dialect || vresp.security_mode != c->server_security_mode ||
	    vresp.capabilities != c->server_caps || memcmp(vresp.guid, c->server_guid, 16)) {
		seterr(err, errlen, "the negotiation with %s was tampered with (VALIDATE_NEGOTIATE "
				    "mismatch): refusing the session", c->host);
		rc = -EACCES;
		goto out;
	}
	rc = 0;
out:
	req_put(req);
	return rc;
}

static void fill_conn_opts(struct conn_opts *co, const struct smbc_opts *o);

/* Connect, negotiate, log on, connect the tree: everything on c->conn (new). */
static int establish(struct smb_client *c, const struct smbc_opts *o, char *err, size_t errlen)
{
	struct conn_opts co;
	struct preauth_hash ph;
	int rc = 0;

	fill_conn_opts(&co, o);
	c->conn = conn_new(&co, &rc);
	if (!c->conn) {
		const char *port = o->port ? o->port : "445";
		switch (rc) {
		case -ENXIO:
			seterr(err, errlen, "host '%s' not found", o->host);
			break;
		case -EAGAIN:
			seterr(err, errlen, "cannot resolve host '%s': temporary failure in name "
					    "resolution", o->host);
			break;
		case -ECONNREFUSED:
			seterr(err, errlen, "connection to %s port %s refused (no SMB server there?)",
			       o->host, port);
			break;
		case -ETIMEDOUT:
			seterr(err, errlen, "connection to %s port %s timed out", o->host, port);
			break;
		default:
			seterr(err, errlen, "cannot connect to %s port %s: %s", o->host, port,
			       strerror(-rc));
		}
		return rc ? rc : -EIO;
	}
	memset(&ph, 0, sizeof(ph));
	rc = do_negotiate(c, o, &ph, err, errlen);
	if (rc)
		goto out;
	if (o->require_seal && (c->dialect < SMB2_DIALECT_0300 || !c->cipher)) {
		seterr(err, errlen, "encryption (seal) was required but %s negotiated SMB %s "
				    "without a cipher", c->host, smbc_dialect_name(c->dialect));
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	rc = do_session_setup(c, o, &ph, err, errlen);
	if (rc)
		goto out;
	rc = do_tree_connect(c, o, err, errlen);
	if (rc)
		goto out;
	rc = do_validate_negotiate(c, err, errlen);
out:
	OPENSSL_cleanse(&ph, sizeof(ph));
	return rc;
}

/* ------------------------------------------------------------------ channels */

/* Connection options of c's server (same for every channel). */
static void fill_conn_opts(struct conn_opts *co, const struct smbc_opts *o)
{
	memset(co, 0, sizeof(*co));
	co->host = o->addr ? o->addr : o->host;
	co->port = o->port;
	co->connect_timeout_ms = o->connect_timeout_ms;
	co->request_timeout_ms = o->request_timeout_ms;
	co->max_credits = o->max_credits;
	co->echo_interval_ms = o->echo_interval_ms;
}

/*
 * Open one more connection and bind it to c's session (MS-SMB2 3.2.4.2.3.1,
 * 3.2.5.3.3): NEGOTIATE with the same ClientGuid and dialect, then a full
 * SESSION_SETUP exchange with SMB2_SESSION_FLAG_BINDING and c's SessionId,
 * signed with Session.SigningKey. The new channel signs with its own
 * Channel.SigningKey (from this authentication's session key and, for 3.1.1,
 * this connection's preauth hash) and seals with the session's keys. The tree
 * connect is the session's: no TREE_CONNECT here. Returns the connection, or
 * NULL with err set. c->conn must be established (not yet shared).
 */
static struct smb_conn *bind_channel(struct smb_client *c, const struct smbc_opts *o, char *err,
				     size_t errlen)
{
	struct smb_client *n = calloc(1, sizeof(*n));
	struct conn_security psec, bsec;
	struct preauth_hash ph;
	struct conn_opts co;
	struct smb_conn *conn = NULL;
	int rc = 0;

	if (!n)
		return NULL;
	conn_get_security(c->conn, &psec);
	n->host = c->host;
	n->share = c->share;
	memcpy(n->client_guid, c->client_guid, 16);
	n->session_id = c->session_id;
	n->bind_sec = &psec;
	fill_conn_opts(&co, o);
	n->conn = conn_new(&co, &rc);
	if (!n->conn) {
		seterr(err, errlen, "cannot open another connection to %s: %s", c->host,
		       strerror(rc ? -rc : EIO));
		goto out;
	}
	memset(&ph, 0, sizeof(ph));
	rc = do_negotiate(n, o, &ph, err, errlen);
	if (rc)
		goto out;
	if (n->dialect != c->dialect || !(n->server_caps & SMB2_GLOBAL_CAP_MULTI_CHANNEL) ||
	    memcmp(n->server_guid, c->server_guid, 16)) {
		seterr(err, errlen, "server %s changed its answer on a second connection", c->host);
		rc = -EPROTO;
		goto out;
	}
	/* the binding legs go out signed with the session's key, unencrypted */
	bsec = psec;
	bsec.signing = 1;
	bsec.encrypt = 0;
	conn_set_security(n->conn, &bsec);
	OPENSSL_cleanse(&bsec, sizeof(bsec));
	rc = do_session_setup(n, o, &ph, err, errlen);
	if (rc)
		goto out;
	conn = n->conn;
	n->conn = NULL;
out:
	OPENSSL_cleanse(&ph, sizeof(ph));
	OPENSSL_cleanse(&psec, sizeof(psec));
	conn_free(n->conn);
	free(n);
	return conn;
}

/*
 * Bind up to max_channels - 1 further channels to c's fresh session. Where
 * the server cannot (dialect below 3.0, no SMB2_GLOBAL_CAP_MULTI_CHANNEL, a
 * guest or anonymous session) or a binding fails, the mount goes on with
 * the channels it has: file handles belong to the session, so separate
 * sessions could not carry I/O on them, and more channels are an
 * optimisation, not a requirement. Fills xc[] and returns how many.
 */
static int bind_channels(struct smb_client *c, const struct smbc_opts *o,
			 struct smb_conn **xc)
{
	int want = o->max_channels > SMBC_MAX_CHANNELS ? SMBC_MAX_CHANNELS : o->max_channels;
	int n = 0;
	char err[256];

	if (want <= 1)
		return 0;
	if (c->dialect < SMB2_DIALECT_0300 || !(c->server_caps & SMB2_GLOBAL_CAP_MULTI_CHANNEL) ||
	    (c->session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL))) {
		LOG_WARN("max_channels=%d: server %s does not offer multichannel for this session "
			 "(SMB %s%s); using one connection", want, c->host,
			 smbc_dialect_name(c->dialect),
			 (c->server_caps & SMB2_GLOBAL_CAP_MULTI_CHANNEL) ? "" : ", no capability");
		return 0;
	}
	while (n < want - 1) {
		err[0] = '\0';
		xc[n] = bind_channel(c, o, err, sizeof(err));
		if (!xc[n]) {
			LOG_WARN("max_channels=%d: channel %d not bound: %s; going on with %d", want,
				 n + 2, err[0] ? err : "error", n + 1);
			break;
		}
		n++;
	}
	if (n)
		LOG_INFO("%d channels bound to the session with %s", n + 1, c->host);
	return n;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void opts_wipe(struct smbc_opts *o)
{
	if (o->password) {
		OPENSSL_cleanse((char *)o->password, strlen(o->password));
		free((char *)o->password);
	}
	free((char *)o->host);
	free((char *)o->port);
	free((char *)o->share);
	free((char *)o->username);
	free((char *)o->domain);
	free((char *)o->workstation);
	free((char *)o->addr);
	free((char *)o->krb5_ccache);
	memset(o, 0, sizeof(*o));
}

static int opts_copy(struct smbc_opts *dst, const struct smbc_opts *src)
{
	*dst = *src;
	dst->host = dup_or_null(src->host);
	dst->port = dup_or_null(src->port);
	dst->share = dup_or_null(src->share);
	dst->username = dup_or_null(src->username);
	dst->password = dup_or_null(src->password);
	dst->domain = dup_or_null(src->domain);
	dst->workstation = dup_or_null(src->workstation);
	dst->addr = dup_or_null(src->addr);
	dst->krb5_ccache = dup_or_null(src->krb5_ccache);
	if ((src->addr && !dst->addr) || (src->krb5_ccache && !dst->krb5_ccache))
		return -ENOMEM;
	if (!dst->host || !dst->share || (src->port && !dst->port) ||
	    (src->username && !dst->username) || (src->password && !dst->password) ||
	    (src->domain && !dst->domain) || (src->workstation && !dst->workstation))
		return -ENOMEM;
	return 0;
}

/* Loop thread: lease breaks go to the file API, which knows the handler. */
static void on_unsolicited(struct smb_conn *conn, const uint8_t *pdu, size_t len, void *arg)
{
	smbc_on_break(arg, conn, pdu, len);
}

/* Loop thread of the failed connection: wake the reconnect thread now. */
static void on_conn_dead(struct smb_conn *conn, void *arg)
{
	struct smb_client *c = arg;
	int ours;
	pthread_mutex_lock(&c->lock);
	/* any channel lost means a reconnect of all of them (pool.h) */
	ours = c->conn == conn;
	for (int i = 0; i < c->nxconn; i++)
		ours |= c->xconn[i] == conn;
	if (ours && !c->stopping) {
		c->reconnect_wanted = 1;
		if (!c->down_since_ns) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			c->down_since_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

int smbc_set_password(struct smb_client *c, const char *password)
{
	char *p = password ? strdup(password) : NULL, *old;
	if (password && !p)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	old = (char *)c->opts.password;
	c->opts.password = p;
	pthread_mutex_unlock(&c->lock);
	if (old) {
		OPENSSL_cleanse(old, strlen(old));
		free(old);
	}
	return 0;
}

int smbc_reestablish(struct smb_client *c, char *err, size_t errlen)
{
	struct smb_client *n = calloc(1, sizeof(*n));
	struct smbc_opts o;
	char *pw = NULL;
	struct smb_conn *old, *xc[SMBC_MAX_CHANNELS - 1], *oldx[SMBC_MAX_CHANNELS - 1];
	int rc, nx, noldx;

	if (err && errlen)
		err[0] = '\0';
	if (!n)
		return -ENOMEM;
	n->host = c->host;
	n->share = c->share;
	memcpy(n->client_guid, c->client_guid, 16);
	/* a consistent copy: SIGHUP may replace the password meanwhile */
	pthread_mutex_lock(&c->lock);
	o = c->opts;
	if (c->opts.password && !(pw = strdup(c->opts.password))) {
		pthread_mutex_unlock(&c->lock);
		free(n);
		return -ENOMEM;
	}
	pthread_mutex_unlock(&c->lock);
	o.password = pw;
	rc = establish(n, &o, err, errlen);
	nx = rc ? 0 : bind_channels(n, &o, xc);
	if (pw) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	if (rc) {
		conn_free(n->conn);
		free(n);
		return rc;
	}
	/* hooks first: a connection that dies right after the swap must still be noticed */
	conn_set_on_dead(n->conn, on_conn_dead, c);
	conn_set_unsolicited(n->conn, on_unsolicited, c);
	for (int i = 0; i < nx; i++) {
		conn_set_on_dead(xc[i], on_conn_dead, c);
		conn_set_unsolicited(xc[i], on_unsolicited, c);
	}
	pthread_mutex_lock(&c->lock);
	old = c->conn;
	c->conn = n->conn;
	noldx = c->nxconn;
	memcpy(oldx, c->xconn, sizeof(oldx));
	memcpy(c->xconn, xc, sizeof(xc[0]) * (size_t)nx);
	c->nxconn = nx;
	c->dialect = n->dialect;
	c->server_security_mode = n->server_security_mode;
	c->server_caps = n->server_caps;
	c->max_read = n->max_read;
	c->max_write = n->max_write;
	c->max_transact = n->max_transact;
	c->cipher = n->cipher;
	c->sign_alg = n->sign_alg;
	c->session_id = n->session_id;
	c->session_flags = n->session_flags;
	c->signing = n->signing;
	c->encrypting = n->encrypting;
	c->tree_id = n->tree_id;
	c->share_flags = n->share_flags;
	c->share_caps = n->share_caps;
	c->maximal_access = n->maximal_access;
	memcpy(c->server_guid, n->server_guid, 16);
	c->gen++;
	c->reconnect_wanted = 0;
	for (int i = 0; i < nx; i++)
		if (conn_is_dead(xc[i]))
			c->reconnect_wanted = 1;
	if (conn_is_dead(c->conn)) /* died before the swap: on_conn_dead saw an old c->conn */
		c->reconnect_wanted = 1;
	else
		c->down_since_ns = 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	conn_free(old); /* threads still holding a snapshot keep it alive until they put it */
	for (int i = 0; i < noldx; i++)
		conn_free(oldx[i]);
	free(n);
	return 0;
}

int smbc_connect(const struct smbc_opts *o, struct smb_client **out, char *err, size_t errlen)
{
	struct smb_client *c;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->gen = 1;
	c->host = strdup(o->host);
	c->share = strdup(o->share);
	if (!c->host || !c->share || opts_copy(&c->opts, o)) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = establish(c, o, err, errlen);
	if (rc)
		goto fail;
	c->nxconn = bind_channels(c, o, c->xconn);
	conn_set_on_dead(c->conn, on_conn_dead, c);
	conn_set_unsolicited(c->conn, on_unsolicited, c);
	for (int i = 0; i < c->nxconn; i++) {
		conn_set_on_dead(c->xconn[i], on_conn_dead, c);
		conn_set_unsolicited(c->xconn[i], on_unsolicited, c);
	}
	rc = smbc_pool_start(c);
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	if (!rc)
		rc = -EIO;
	smbc_disconnect(c);
	return rc;
}

void smbc_disconnect(struct smb_client *c)
{
	if (!c)
		return;
	smbc_pool_stop(c);
	if (c->nxconn) {
		unsigned long sub[SMBC_MAX_CHANNELS];
		int n = smbc_channels(c, sub, SMBC_MAX_CHANNELS);
		char line[256];
		size_t off = 0;
		for (int i = 0; i < n && off < sizeof(line); i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%lu",
						i ? " " : "", sub[i]);
		LOG_INFO("requests per channel: %s", line);
	}
	/* bound channels go first; the LOGOFF on the primary ends the session on all */
	for (int i = 0; i < c->nxconn; i++)
		conn_free(c->xconn[i]);
	c->nxconn = 0;
	if (c->conn && !conn_is_dead(c->conn)) {
		struct smb_req *req;
		if (c->tree_id && (req = req_new(SMB2_TREE_DISCONNECT, 8))) {
			struct wbuf w = wbuf_init(req_body(req), req_body_cap(req));
			if (!tree_disconnect_req_encode(&w)) {
				req_set_body_len(req, w.off);
				req->session_id = c->session_id;
				req->tree_id = c->tree_id;
				req->timeout_ms = 2000;
				(void)call(c, req);
			}
			req_put(req);
		}
		if (c->session_id && (req = req_new(SMB2_LOGOFF, 8))) {
			struct wbuf w = wbuf_init(req_body(req), req_body_cap(req));
			if (!logoff_req_encode(&w)) {
				req_set_body_len(req, w.off);
				req->session_id = c->session_id;
				req->timeout_ms = 2000;
				(void)call(c, req);
			}
			req_put(req);
		}
	}
	conn_free(c->conn);
	opts_wipe(&c->opts);
	free(c->host);
	free(c->share);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
