/*
 * gssapi.c - Kerberos initiator for SMB through GSS-API (MIT krb5).
 *
 * Design:
 *  - One struct gss_auth per authentication attempt: an imported target name
 *    (cifs@<host>, hostbased service), the default krb5 initiator credential
 *    acquired up front, and the security context being built. No globals.
 *  - Flags: MUTUAL | REPLAY | SEQUENCE | INTEG | CONF. Mutual authentication
 *    makes the server prove itself with its AP-REP and settles the session
 *    key (an acceptor subkey in the AP-REP replaces the initiator's). The
 *    other flags match what Samba's and Windows' SMB clients ask for; SMB
 *    never uses GSS wrap tokens (it signs and seals with keys derived from
 *    the session key), but INTEG lets the SPNEGO layer produce and check a
 *    mechListMIC with gss_auth_get_mic()/gss_auth_verify_mic().
 *  - cifs.upcall (cifs.ko) asks for no flags at all and takes the initiator
 *    subkey after one leg; that only works while servers do not send an
 *    acceptor subkey, and leaves the server unauthenticated. We do not.
 *  - Errors: the minor status from the krb5 mech is a com_err code (MIT's
 *    mechglue passes it through unchanged as long as no other mechanism used
 *    the same value, which holds with krb5 alone). gss_auth_errno() maps the
 *    pair to -errno; describe() writes one line: a cause a user can act on,
 *    then MIT's own text (gss_display_status) in parentheses. Neither ever
 *    sees key material or tokens.
 *  - Secrets: session keys are copied out of the GSS buffer set and the
 *    buffer is wiped before it is released. gss_delete_sec_context() frees
 *    (and MIT zeroes) the context keys.
 */
#include "auth/gssapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include <openssl/crypto.h>

#define GSS_AUTH_FLAGS                                                                             \
	(GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG |          \
	 GSS_C_CONF_FLAG)

/* Longest host name accepted: a DNS name is at most 253 characters. */
#define GSS_AUTH_MAX_HOST 255

enum gss_auth_state {
	GSS_AUTH_START,	   /* nothing sent yet */
	GSS_AUTH_CONTINUE, /* AP-REQ sent, waiting for the AP-REP */
	GSS_AUTH_DONE,	   /* context established */
	GSS_AUTH_FAILED,   /* unusable */
};

struct gss_auth {
	enum gss_auth_state state;
	gss_name_t target;
	gss_cred_id_t cred;
	gss_ctx_id_t ctx;
	const char *ccache; /* caller's cache name, only during gss_auth_new_ccache() */
	char host[GSS_AUTH_MAX_HOST + 1];
	char err[512];
};

int gss_auth_errno(uint32_t major, uint32_t minor)
{
	long code = (int32_t)minor;

	switch (code) {
	case KRB5_FCC_NOFILE:
	case KRB5_FCC_PERM:
	case KRB5_CC_NOTFOUND:
	case KRB5_CC_END:
	case KRB5_CC_BADNAME:
	case KRB5_CC_UNKNOWN_TYPE:
	case KRB5_CC_FORMAT:
	case KRB5_CC_NOSUPP:
	case KRB5_CCACHE_BADVNO:
	case KRB5_NO_TKT_SUPPLIED:
		return -ENOKEY;
	case KRB5KRB_AP_ERR_TKT_EXPIRED:
	case KRB5KDC_ERR_KEY_EXP:
		return -EKEYEXPIRED;
	case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return -ENOENT;
	case KRB5KRB_AP_ERR_SKEW:
	case KRB5KRB_AP_ERR_TKT_NYV:
	case KRB5KDC_ERR_NEVER_VALID:
		return -ETIME;
	case KRB5_KDC_UNREACH:
	case KRB5_REALM_UNKNOWN:
	case KRB5_REALM_CANT_RESOLVE:
	case KRB5KDC_ERR_SVC_UNAVAILABLE:
		return -EHOSTUNREACH;
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
	case KRB5KDC_ERR_POLICY:
	case KRB5KDC_ERR_CLIENT_REVOKED:
	case KRB5KDC_ERR_TGT_REVOKED:
	case KRB5KRB_AP_ERR_MODIFIED:
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:
	case KRB5KRB_AP_ERR_REPEAT:
	case KRB5KRB_AP_ERR_MUT_FAIL:
		return -EACCES;
	case KRB5KDC_ERR_ETYPE_NOSUPP:
	case KRB5_BAD_ENCTYPE:
		return -ENOTSUP;
	case ENOMEM:
		return -ENOMEM;
	default:
		break;
	}

	switch (GSS_ROUTINE_ERROR(major)) {
	case GSS_S_NO_CRED:
		return -ENOKEY;
	case GSS_S_CREDENTIALS_EXPIRED:
	case GSS_S_CONTEXT_EXPIRED:
		return -EKEYEXPIRED;
	case GSS_S_DEFECTIVE_TOKEN:
		return -EBADMSG;
	case GSS_S_BAD_SIG:
		return -EACCES;
	case GSS_S_BAD_MECH:
	case GSS_S_UNAVAILABLE:
		return -ENOTSUP;
	case GSS_S_BAD_NAME:
	case GSS_S_BAD_NAMETYPE:
	case GSS_S_NO_CONTEXT:
		return -EINVAL;
	default:
		break;
	}
	if (GSS_SUPPLEMENTARY_INFO(major) & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN))
		return -EACCES;
	return -EIO;
}

static void set_err(struct gss_auth *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct gss_auth *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
}

/* Append MIT's text for one status code (all messages of its chain) to buf. */
static void append_status(char *buf, size_t cap, uint32_t code, int type)
{
	OM_uint32 msg_ctx = 0, maj, min;
	size_t used = strlen(buf);

	do {
		gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;

		maj = gss_display_status(&min, code, type, GSS_C_NO_OID, &msg_ctx, &msg);
		if (GSS_ERROR(maj))
			break;
		if (used + 3 < cap && msg.length > 0) {
			int n = snprintf(buf + used, cap - used, "%s%.*s", used ? "; " : "",
					 (int)msg.length, (const char *)msg.value);
			if (n > 0)
				used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
		}
		gss_release_buffer(&min, &msg);
	} while (msg_ctx != 0);
}

static bool is_ip_literal(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/*
 * Fill g->err for a failed GSS call and return -errno. what names the step
 * for the generic case.
 */
static int describe(struct gss_auth *g, const char *what, uint32_t major, uint32_t minor)
{
	char detail[384] = "";
	char sfx[sizeof(detail) + 3] = "";
	int rc = gss_auth_errno(major, minor);

	/*
	 * The krb5 minor text is the specific one ("Server not found in
	 * Kerberos database"); the major text only when there is no minor.
	 */
	if (minor != 0)
		append_status(detail, sizeof(detail), minor, GSS_C_MECH_CODE);
	else
		append_status(detail, sizeof(detail), major, GSS_C_GSS_CODE);
	if (detail[0] != '\0')
		snprintf(sfx, sizeof(sfx), " (%s)", detail);

	switch (rc) {
	case -ENOKEY:
		if (g->ccache != NULL)
			set_err(g, "no Kerberos ticket in %s: run kinit%s", g->ccache, sfx);
		else
			set_err(g, "no Kerberos ticket: run kinit%s", sfx);
		break;
	case -EKEYEXPIRED:
		if ((int32_t)minor == KRB5KDC_ERR_KEY_EXP)
			set_err(g, "Kerberos password expired: change it, then run kinit%s", sfx);
		else
			set_err(g, "Kerberos ticket expired: run kinit%s", sfx);
		break;
	case -ENOENT:
		set_err(g, "cifs/%s unknown to the KDC%s%s", g->host,
			is_ip_literal(g->host) ? ": use the server's host name, not its address"
					       : "",
			sfx);
		break;
	case -ETIME:
		set_err(g,
			"clock skew too great between this host and the KDC or cifs/%s: "
			"synchronise the clocks%s",
			g->host, sfx);
		break;
	case -EHOSTUNREACH:
		set_err(g, "cannot reach a Kerberos KDC: check krb5.conf and the network%s", sfx);
		break;
	case -EACCES:
		set_err(g, "Kerberos authentication to cifs/%s refused%s", g->host, sfx);
		break;
	case -EBADMSG:
		set_err(g, "malformed Kerberos token from cifs/%s%s", g->host, sfx);
		break;
	case -ENOTSUP:
		set_err(g, "Kerberos not usable for cifs/%s: %s failed%s", g->host, what, sfx);
		break;
	default:
		set_err(g, "Kerberos %s for cifs/%s failed%s", what, g->host, sfx);
		break;
	}
	return rc;
}

static void copy_err(const struct gss_auth *g, char *errbuf, size_t errlen)
{
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s", g->err);
}

struct gss_auth *gss_auth_new(const char *host, int *err, char *errbuf, size_t errlen)
{
	return gss_auth_new_ccache(host, NULL, err, errbuf, errlen);
}

struct gss_auth *gss_auth_new_ccache(const char *host, const char *ccache, int *err, char *errbuf,
				     size_t errlen)
{
	OM_uint32 maj, min = 0, lifetime = 0;
	gss_OID_set_desc mechs = {1, gss_mech_krb5};
	gss_buffer_desc name;
	char svc[sizeof("cifs@") + GSS_AUTH_MAX_HOST];
	struct gss_auth *g;
	int rc;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		rc = -ENOMEM;
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	g->target = GSS_C_NO_NAME;
	g->cred = GSS_C_NO_CREDENTIAL;
	g->ctx = GSS_C_NO_CONTEXT;
	g->state = GSS_AUTH_FAILED;

	if (host == NULL || host[0] == '\0' || strlen(host) > GSS_AUTH_MAX_HOST ||
	    strpbrk(host, "@/\\ \t\r\n") != NULL) {
		rc = -EINVAL;
		set_err(g, "invalid Kerberos service host name");
		goto fail;
	}
	snprintf(g->host, sizeof(g->host), "%s", host);
	snprintf(svc, sizeof(svc), "cifs@%s", host);

	name.value = svc;
	name.length = strlen(svc);
	maj = gss_import_name(&min, &name, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
	if (GSS_ERROR(maj)) {
		rc = describe(g, "name import", maj, min);
		goto fail;
	}

	/*
	 * Acquire now: a missing ccache or expired TGT is the commonest failure
	 * and deserves its own message before any packet is sent.
	 */
	g->ccache = ccache;
	if (ccache != NULL) {
		/* Per call, unlike gss_krb5_ccache_name(), which is process-wide. */
		gss_key_value_element_desc el = {"ccache", ccache};
		gss_key_value_set_desc store = {1, &el};

		maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
					    GSS_C_INITIATE, &store, &g->cred, NULL, &lifetime);
	} else {
		maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
				       GSS_C_INITIATE, &g->cred, NULL, &lifetime);
	}
	if (GSS_ERROR(maj)) {
		rc = describe(g, "credential acquisition", maj, min);
		goto fail;
	}
	g->ccache = NULL;
	if (lifetime == 0) {
		rc = -EKEYEXPIRED;
		set_err(g, "Kerberos ticket expired: run kinit (the TGT in the default "
			   "credentials cache is no longer valid)");
		goto fail;
	}
	g->state = GSS_AUTH_START;
	rc = 0;
	goto out;

fail:
	copy_err(g, errbuf, errlen);
	gss_auth_free(g);
	g = NULL;
out:
	if (err != NULL)
		*err = rc;
	return g;
}

int gss_auth_step(struct gss_auth *g, const uint8_t *in, size_t in_len, uint8_t **out,
		  size_t *out_len, int *complete)
{
	OM_uint32 maj, min = 0, ret_flags = 0;
	gss_buffer_desc in_tok = GSS_C_EMPTY_BUFFER;
	gss_buffer_desc out_tok = GSS_C_EMPTY_BUFFER;
	int rc;

	if (g == NULL || out == NULL || out_len == NULL || complete == NULL)
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	*complete = g->state == GSS_AUTH_DONE;

	switch (g->state) {
	case GSS_AUTH_START:
		if (in != NULL || in_len != 0) {
			set_err(g, "Kerberos: unexpected server token before the first request");
			return -EINVAL;
		}
		break;
	case GSS_AUTH_CONTINUE:
		if (in == NULL || in_len == 0) {
			set_err(g,
				"cifs/%s did not complete Kerberos mutual authentication "
				"(no AP-REP)",
				g->host);
			g->state = GSS_AUTH_FAILED;
			return -EACCES;
		}
		in_tok.value = (void *)in;
		in_tok.length = in_len;
		break;
	case GSS_AUTH_DONE:
		set_err(g, "Kerberos context already established");
		return -EINVAL;
	case GSS_AUTH_FAILED:
	default:
		return -EINVAL;
	}

	maj = gss_init_sec_context(&min, g->cred, &g->ctx, g->target, gss_mech_krb5, GSS_AUTH_FLAGS,
				   GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS,
				   in_tok.length ? &in_tok : GSS_C_NO_BUFFER, NULL, &out_tok,
				   &ret_flags, NULL);
	if (GSS_ERROR(maj)) {
		rc = describe(g, g->state == GSS_AUTH_START ? "AP-REQ" : "AP-REP check", maj, min);
		goto fail;
	}

	if (out_tok.length > 0) {
		*out = malloc(out_tok.length);
		if (*out == NULL) {
			rc = -ENOMEM;
			set_err(g, "out of memory");
			goto fail;
		}
		memcpy(*out, out_tok.value, out_tok.length);
		*out_len = out_tok.length;
	}
	gss_release_buffer(&min, &out_tok);

	if (maj & GSS_S_CONTINUE_NEEDED) {
		if (g->state != GSS_AUTH_START) {
			/* krb5 with mutual auth takes exactly two legs. */
			rc = -EBADMSG;
			set_err(g, "Kerberos: cifs/%s asked for a third leg", g->host);
			goto fail_out;
		}
		g->state = GSS_AUTH_CONTINUE;
		return 0;
	}
	if (!(ret_flags & GSS_C_MUTUAL_FLAG)) {
		rc = -EACCES;
		set_err(g, "cifs/%s did not complete Kerberos mutual authentication", g->host);
		goto fail_out;
	}
	g->state = GSS_AUTH_DONE;
	*complete = 1;
	return 0;

fail_out:
	free(*out);
	*out = NULL;
	*out_len = 0;
fail:
	gss_release_buffer(&min, &out_tok);
	g->state = GSS_AUTH_FAILED;
	return rc;
}

int gss_auth_session_key(struct gss_auth *g, uint8_t *key, size_t cap, size_t *len)
{
	OM_uint32 maj, min = 0;
	gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
	int rc;

	if (g == NULL || key == NULL || len == NULL)
		return -EINVAL;
	*len = 0;
	if (g->state != GSS_AUTH_DONE) {
		set_err(g, "Kerberos session key requested before the context is complete");
		return -EINVAL;
	}
	maj = gss_inquire_sec_context_by_oid(&min, g->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
	if (GSS_ERROR(maj))
		return describe(g, "session key query", maj, min);
	if (set == GSS_C_NO_BUFFER_SET || set->count < 1 || set->elements[0].length == 0) {
		set_err(g, "Kerberos: no session key in the context");
		rc = -ENOKEY;
		goto out;
	}
	/* elements[1], when present, names the enctype; SMB does not need it. */
	if (set->elements[0].length > cap) {
		set_err(g, "Kerberos session key of %zu bytes does not fit in %zu",
			set->elements[0].length, cap);
		rc = -EMSGSIZE;
		goto out;
	}
	memcpy(key, set->elements[0].value, set->elements[0].length);
	*len = set->elements[0].length;
	rc = 0;
out:
	if (set != GSS_C_NO_BUFFER_SET) {
		for (size_t i = 0; i < set->count; i++)
			if (set->elements[i].value != NULL)
				OPENSSL_cleanse(set->elements[i].value, set->elements[i].length);
		gss_release_buffer_set(&min, &set);
	}
	return rc;
}

int gss_auth_get_mic(struct gss_auth *g, const uint8_t *msg, size_t len, uint8_t **mic,
		     size_t *mic_len)
{
	OM_uint32 maj, min = 0;
	gss_buffer_desc in = {len, (void *)msg};
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;

	if (g == NULL || (msg == NULL && len != 0) || mic == NULL || mic_len == NULL)
		return -EINVAL;
	*mic = NULL;
	*mic_len = 0;
	if (g->state != GSS_AUTH_DONE)
		return -EINVAL;
	maj = gss_get_mic(&min, g->ctx, GSS_C_QOP_DEFAULT, &in, &tok);
	if (GSS_ERROR(maj))
		return describe(g, "mechListMIC", maj, min);
	*mic = malloc(tok.length ? tok.length : 1);
	if (*mic == NULL) {
		gss_release_buffer(&min, &tok);
		return -ENOMEM;
	}
	memcpy(*mic, tok.value, tok.length);
	*mic_len = tok.length;
	gss_release_buffer(&min, &tok);
	return 0;
}

int gss_auth_verify_mic(struct gss_auth *g, const uint8_t *msg, size_t len, const uint8_t *mic,
			size_t mic_len)
{
	OM_uint32 maj, min = 0;
	gss_buffer_desc in = {len, (void *)msg};
	gss_buffer_desc tok = {mic_len, (void *)mic};

	if (g == NULL || (msg == NULL && len != 0) || mic == NULL || mic_len == 0)
		return -EINVAL;
	if (g->state != GSS_AUTH_DONE)
		return -EINVAL;
	maj = gss_verify_mic(&min, g->ctx, &in, &tok, NULL);
	if (GSS_ERROR(maj)) {
		int rc = describe(g, "mechListMIC check", maj, min);

		return rc == -EIO ? -EACCES : rc;
	}
	return 0;
}

const char *gss_auth_error(const struct gss_auth *g)
{
	return g != NULL ? g->err : "";
}

void gss_auth_free(struct gss_auth *g)
{
	OM_uint32 min;

	if (g == NULL)
		return;
	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &g->ctx, GSS_C_NO_BUFFER);
	if (g->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&min, &g->cred);
	if (g->target != GSS_C_NO_NAME)
		gss_release_name(&min, &g->target);
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
}
