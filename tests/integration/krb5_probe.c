/*
 * krb5_probe.c - hand-run check of src/auth/gssapi.c against a real KDC
 * (the SambaADDC fixture in addc.py). Not built by meson:
 *
 *   cc -std=gnu11 -Wall -Wextra -I src -I build \
 *      tests/integration/krb5_probe.c src/auth/gssapi.c \
 *      $(pkg-config --cflags --libs krb5-gssapi) -lcrypto -o krb5_probe
 *
 * Uses KRB5_CONFIG and KRB5CCNAME from the environment.
 *
 *   krb5_probe [--ccache NAME] ...   (gss_auth_new_ccache instead of the default)
 *
 *   krb5_probe HOST
 *       gss_auth_new + first step: checks that the token is an RFC 4121
 *       InitialContextToken (krb5 OID, TOK_ID 01 00) around an AP-REQ.
 *   krb5_probe --accept KEYTAB HOST
 *       also runs a GSS acceptor from KEYTAB (e.g. samba-tool domain
 *       exportkeytab of the DC's machine account), feeds its AP-REP back,
 *       and compares the two sides' session keys.
 *   krb5_probe --pipe KEYFILE HOST
 *       for a scripted SESSION_SETUP: prints "APREQ <hex>", reads one line
 *       "APREP <hex>" (or "APREP -" for none) from stdin, completes, and
 *       writes the session key to KEYFILE (mode 0600). Test realms only.
 *
 * Prints one "ok: ..." line and exits 0, or "error: rc=... <message>" and
 * exits 1. Key material is never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "auth/gssapi.h"

static const uint8_t krb5_oid_der[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
				       0xf7, 0x12, 0x01, 0x02, 0x02};

static int fail(int rc, const char *msg)
{
	printf("error: rc=%d (%s) %s\n", rc, strerror(-rc), msg);
	return 1;
}

/* DER length at p (bounded by end); returns header bytes consumed or 0. */
static size_t der_len(const uint8_t *p, const uint8_t *end, size_t *len)
{
	if (p >= end)
		return 0;
	if (p[0] < 0x80) {
		*len = p[0];
		return 1;
	}
	size_t n = p[0] & 0x7f;

	if (n == 0 || n > 3 || (size_t)(end - p) < n + 1)
		return 0;
	*len = 0;
	for (size_t i = 1; i <= n; i++)
		*len = (*len << 8) | p[i];
	return n + 1;
}

/* Check [APPLICATION 0] { krb5 OID, TOK_ID, inner } and return inner's tag. */
static int check_framing(const uint8_t *t, size_t n, uint8_t tok_id0, int *inner_tag)
{
	const uint8_t *end = t + n, *p = t;
	size_t len, h;

	if (n < 2 || p[0] != 0x60)
		return -EBADMSG;
	h = der_len(p + 1, end, &len);
	if (h == 0 || len != n - 1 - h)
		return -EBADMSG;
	p += 1 + h;
	if ((size_t)(end - p) < sizeof(krb5_oid_der) + 3 ||
	    memcmp(p, krb5_oid_der, sizeof(krb5_oid_der)) != 0)
		return -EBADMSG;
	p += sizeof(krb5_oid_der);
	if (p[0] != tok_id0 || p[1] != 0x00)
		return -EBADMSG;
	*inner_tag = p[2];
	return 0;
}

static void hex_out(const char *tag, const uint8_t *b, size_t n)
{
	printf("%s ", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
	fflush(stdout);
}

static int hex_in(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strcspn(s, "\r\n");

	*out = NULL;
	*out_len = 0;
	if (n == 1 && s[0] == '-')
		return 0;
	if (n % 2)
		return -EINVAL;
	*out = malloc(n / 2 + 1);
	if (*out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		(*out)[i] = (uint8_t)v;
	}
	*out_len = n / 2;
	return 0;
}

/* Acceptor side for --accept: returns the AP-REP and the acceptor's key. */
static int accept_side(const char *keytab, const uint8_t *apreq, size_t apreq_len, uint8_t **aprep,
		       size_t *aprep_len, uint8_t *key, size_t *key_len, gss_ctx_id_t *actx)
{
	OM_uint32 maj, min;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc in = {apreq_len, (void *)apreq}, out = GSS_C_EMPTY_BUFFER;
	gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
	gss_OID_set_desc mechs = {1, gss_mech_krb5};
	int rc = -EACCES;

	if (setenv("KRB5_KTNAME", keytab, 1) != 0)
		return -errno;
	maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred,
			       NULL, NULL);
	if (GSS_ERROR(maj)) {
		fprintf(stderr, "acceptor: gss_acquire_cred failed %08x/%d\n", maj, (int)min);
		return gss_auth_errno(maj, min);
	}
	maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL,
				     &out, NULL, NULL, NULL);
	if (GSS_ERROR(maj) || (maj & GSS_S_CONTINUE_NEEDED)) {
		fprintf(stderr, "acceptor: gss_accept_sec_context failed %08x/%d\n", maj, (int)min);
		rc = gss_auth_errno(maj, min);
		goto out;
	}
	*aprep = malloc(out.length);
	if (*aprep == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*aprep, out.value, out.length);
	*aprep_len = out.length;
	maj = gss_inquire_sec_context_by_oid(&min, ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
	if (GSS_ERROR(maj) || set->count < 1 || set->elements[0].length > GSS_AUTH_MAX_KEY_LEN) {
		rc = -EIO;
		goto out;
	}
	memcpy(key, set->elements[0].value, set->elements[0].length);
	*key_len = set->elements[0].length;
	rc = 0;
out:
	if (set != GSS_C_NO_BUFFER_SET)
		gss_release_buffer_set(&min, &set);
	gss_release_buffer(&min, &out);
	if (rc == 0)
		*actx = ctx;
	else
		gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
	gss_release_cred(&min, &cred);
	return rc;
}

/* gss_auth_get_mic/verify_mic against the acceptor, both directions. */
static int check_mics(struct gss_auth *g, gss_ctx_id_t actx)
{
	static const uint8_t msg[] = "mechTypes DER stand-in";
	OM_uint32 maj, min;
	gss_buffer_desc m = {sizeof(msg), (void *)msg}, t = GSS_C_EMPTY_BUFFER;
	uint8_t *mic = NULL;
	size_t mic_len = 0;
	int rc;

	rc = gss_auth_get_mic(g, msg, sizeof(msg), &mic, &mic_len);
	if (rc != 0)
		return fail(rc, gss_auth_error(g));
	t.value = mic;
	t.length = mic_len;
	maj = gss_verify_mic(&min, actx, &m, &t, NULL);
	free(mic);
	if (GSS_ERROR(maj))
		return fail(-EACCES, "acceptor rejected the initiator's MIC");
	maj = gss_get_mic(&min, actx, GSS_C_QOP_DEFAULT, &m, &t);
	if (GSS_ERROR(maj))
		return fail(-EIO, "acceptor gss_get_mic failed");
	rc = gss_auth_verify_mic(g, msg, sizeof(msg), t.value, t.length);
	if (rc == 0) {
		/* A flipped byte must not verify. */
		((uint8_t *)t.value)[t.length - 1] ^= 1;
		if (gss_auth_verify_mic(g, msg, sizeof(msg), t.value, t.length) == 0)
			rc = -EPROTO;
	}
	gss_release_buffer(&min, &t);
	if (rc != 0)
		return fail(rc, "initiator MIC check misbehaved");
	return 0;
}

int main(int argc, char **argv)
{
	const char *keytab = NULL, *keyfile = NULL, *ccache = NULL, *host;
	char err[512];
	uint8_t *tok = NULL, *rep = NULL, *tok2 = NULL;
	size_t tok_len = 0, rep_len = 0, tok2_len = 0, key_len = 0, akey_len = 0;
	uint8_t key[GSS_AUTH_MAX_KEY_LEN], akey[GSS_AUTH_MAX_KEY_LEN];
	int rc, done = 0, inner = 0, status = 1;
	struct gss_auth *g;
	gss_ctx_id_t actx = GSS_C_NO_CONTEXT;
	OM_uint32 amin;

	if (argc >= 3 && strcmp(argv[1], "--ccache") == 0) {
		ccache = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc == 4 && strcmp(argv[1], "--accept") == 0)
		keytab = argv[2];
	else if (argc == 4 && strcmp(argv[1], "--pipe") == 0)
		keyfile = argv[2];
	else if (argc != 2) {
		fprintf(stderr,
			"usage: %s [--ccache NAME] [--accept KEYTAB | --pipe KEYFILE] HOST\n",
			argv[0]);
		return 2;
	}
	host = argv[argc - 1];

	g = gss_auth_new_ccache(host, ccache, &rc, err, sizeof(err));
	if (g == NULL)
		return fail(rc, err);
	rc = gss_auth_step(g, NULL, 0, &tok, &tok_len, &done);
	if (rc != 0) {
		fail(rc, gss_auth_error(g));
		goto out;
	}
	if (done || tok_len == 0) {
		fail(-EPROTO, "first step completed or produced no token");
		goto out;
	}
	rc = check_framing(tok, tok_len, 0x01, &inner);
	if (rc != 0 || inner != 0x6e) { /* [APPLICATION 14] AP-REQ */
		fail(-EBADMSG, "first token is not a krb5 AP-REQ");
		goto out;
	}
	if (keytab == NULL && keyfile == NULL) {
		printf("ok: AP-REQ for cifs/%s, %zu bytes (krb5 OID, TOK_ID 01 00, "
		       "[APPLICATION 14])\n",
		       host, tok_len);
		status = 0;
		goto out;
	}

	if (keytab != NULL) {
		rc = accept_side(keytab, tok, tok_len, &rep, &rep_len, akey, &akey_len, &actx);
		if (rc != 0) {
			fail(rc, "acceptor rejected the AP-REQ");
			goto out;
		}
	} else {
		char line[65536];

		hex_out("APREQ", tok, tok_len);
		if (fgets(line, sizeof(line), stdin) == NULL || strncmp(line, "APREP ", 6) != 0) {
			fail(-EPROTO, "expected a line APREP <hex>");
			goto out;
		}
		rc = hex_in(line + 6, &rep, &rep_len);
		if (rc != 0) {
			fail(rc, "bad APREP hex");
			goto out;
		}
	}
	inner = 0;
	if (rep_len > 0 && (check_framing(rep, rep_len, 0x02, &inner) != 0 || inner != 0x6f))
		fprintf(stderr, "note: reply is not a framed AP-REP (a KRB-ERROR?)\n");

	rc = gss_auth_step(g, rep, rep_len, &tok2, &tok2_len, &done);
	if (rc != 0) {
		fail(rc, gss_auth_error(g));
		goto out;
	}
	if (!done || tok2_len != 0) {
		fail(-EPROTO, "context not complete after the AP-REP");
		goto out;
	}
	rc = gss_auth_session_key(g, key, sizeof(key), &key_len);
	if (rc != 0) {
		fail(rc, gss_auth_error(g));
		goto out;
	}
	/* The second step must refuse to run again. */
	if (gss_auth_step(g, rep, rep_len, &tok2, &tok2_len, &done) != -EINVAL) {
		fail(-EPROTO, "step after completion was not refused");
		goto out;
	}
	if (keytab != NULL) {
		if (akey_len != key_len || memcmp(akey, key, key_len) != 0) {
			fail(-EACCES, "initiator and acceptor session keys differ");
			goto out;
		}
		if (check_mics(g, actx) != 0)
			goto out;
		printf("ok: mutual auth with cifs/%s complete; AP-REQ %zu bytes, AP-REP %zu "
		       "bytes; session key %zu bytes, equal on both sides; MICs verify both ways\n",
		       host, tok_len, rep_len, key_len);
	} else {
		int fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, key, key_len) != (ssize_t)key_len) {
			fail(-errno, "cannot write the key file");
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		printf("ok: mutual auth with cifs/%s complete; session key %zu bytes\n", host,
		       key_len);
	}
	fflush(stdout);
	status = 0;
out:
	memset(key, 0, sizeof(key));
	memset(akey, 0, sizeof(akey));
	free(tok);
	free(rep);
	free(tok2);
	gss_delete_sec_context(&amin, &actx, GSS_C_NO_BUFFER);
	gss_auth_free(g);
	return status;
}
