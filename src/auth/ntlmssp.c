/*
 * ntlmssp.c - NTLMv2 client, MS-NLMP.
 *
 * Design:
 *  - Secrets: the password exists in plaintext only inside ntlmssp_new(),
 *    long enough to become the NT hash; the NT hash exists only long enough to
 *    become ResponseKeyNT (NTOWFv2, 3.3.2), which is all the context keeps.
 *    Every temporary holding key material is wiped with OPENSSL_cleanse, and
 *    ntlmssp_free() wipes the whole context.
 *  - The CHALLENGE_MESSAGE is untrusted. It is validated completely (header,
 *    both payload fields, the whole AV_PAIR list) before anything is derived
 *    from it. Payload fields may not overlap the fixed header.
 *  - The AUTHENTICATE_MESSAGE is built like a Windows 7+ or Samba client:
 *    the server's AV pairs are echoed, MsvAvFlags gets the MIC bit when the
 *    server sent MsvAvTimestamp (3.1.5.1.2), MsvChannelBindings is Z(16) (no
 *    bindings), MsvAvTargetName carries the SPN if one was set, and the MIC
 *    field is always filled for an authenticated (non-anonymous) user.
 *  - Signing state (keys, RC4 handles, sequence numbers) follows 3.4.4.2 with
 *    extended session security; it exists to sign and check the SPNEGO
 *    mechListMIC, nothing else.
 */
#include "auth/ntlmssp.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/md.h"
#include "log.h"
#include "wire/buf.h"

static const uint8_t ntlmssp_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', '\0'};

/* MessageType, MS-NLMP 2.2.1. */
enum {
	NTLMSSP_MSG_NEGOTIATE = 1,
	NTLMSSP_MSG_CHALLENGE = 2,
	NTLMSSP_MSG_AUTHENTICATE = 3,
};

/* NEGOTIATE_MESSAGE field offsets, MS-NLMP 2.2.1.1. */
enum {
	NEG_SIGNATURE = 0,
	NEG_MESSAGE_TYPE = 8,
	NEG_FLAGS = 12,
	NEG_DOMAIN_FIELDS = 16,
	NEG_WORKSTATION_FIELDS = 24,
	NEG_VERSION = 32,
	NEG_SIZE = 40,
};

/* CHALLENGE_MESSAGE field offsets, MS-NLMP 2.2.1.2. */
enum {
	CHAL_SIGNATURE = 0,
	CHAL_MESSAGE_TYPE = 8,
	CHAL_TARGET_NAME_FIELDS = 12,
	CHAL_FLAGS = 20,
	CHAL_SERVER_CHALLENGE = 24,
	CHAL_RESERVED = 32,
	CHAL_TARGET_INFO_FIELDS = 40,
	CHAL_VERSION = 48,
	CHAL_MIN_SIZE = 48,	/* through TargetInfoFields */
	CHAL_VERSION_SIZE = 56, /* with Version */
};

/* AUTHENTICATE_MESSAGE field offsets, MS-NLMP 2.2.1.3. */
enum {
	AUTH_SIGNATURE = 0,
	AUTH_MESSAGE_TYPE = 8,
	AUTH_LM_FIELDS = 12,
	AUTH_NT_FIELDS = 20,
	AUTH_DOMAIN_FIELDS = 28,
	AUTH_USER_FIELDS = 36,
	AUTH_WORKSTATION_FIELDS = 44,
	AUTH_ENC_KEY_FIELDS = 52,
	AUTH_FLAGS = 60,
	AUTH_VERSION = 64,
	AUTH_MIC = 72,
	AUTH_PAYLOAD = 88,
};

/* A payload field descriptor: Len (2), MaxLen (2), BufferOffset (4). */
enum {
	FIELD_LEN = 0,
	FIELD_MAXLEN = 2,
	FIELD_OFFSET = 4,
};

/* AvId, MS-NLMP 2.2.2.1. */
enum {
	MSV_AV_EOL = 0x0000,
	MSV_AV_FLAGS = 0x0006,
	MSV_AV_TIMESTAMP = 0x0007,
	MSV_AV_TARGET_NAME = 0x0009,
	MSV_AV_CHANNEL_BINDINGS = 0x000a,
};

enum {
	AV_HDR = 4,
	MSV_AV_FLAG_MIC_PRESENT = 0x00000002,
	CHANNEL_BINDINGS_LEN = 16,
};

/* NTLMv2_CLIENT_CHALLENGE, MS-NLMP 2.2.2.7: the fixed part before AvPairs. */
enum {
	CC_RESP_TYPE = 0,
	CC_HI_RESP_TYPE = 1,
	CC_TIMESTAMP = 8,
	CC_CHALLENGE = 16,
	CC_AV_PAIRS = 28,
	CC_TRAILER = 4, /* Z(4) after the AV pairs, 3.3.2 */
	NTPROOF_LEN = 16,
	LMV2_LEN = 24,
};

/* NTLMSSP_MESSAGE_SIGNATURE with extended session security, 2.2.2.9.1. */
enum {
	SIG_VERSION = 0,
	SIG_CHECKSUM = 4,
	SIG_SEQNUM = 12,
	SIG_CHECKSUM_LEN = 8,
};

/* Longest user, domain, workstation, SPN or password, in UTF-16 code units. */
#define NTLMSSP_MAX_STR_UNITS 512

/* VERSION, MS-NLMP 2.2.2.10: 6.1 build 7600, NTLMSSP_REVISION_W2K3. */
static const uint8_t ntlmssp_version[8] = {6, 1, 0xb0, 0x1d, 0, 0, 0, 0x0f};

static const char cli_sign_magic[] = "session key to client-to-server signing key magic constant";
static const char srv_sign_magic[] = "session key to server-to-client signing key magic constant";
static const char cli_seal_magic[] = "session key to client-to-server sealing key magic constant";
static const char srv_seal_magic[] = "session key to server-to-client sealing key magic constant";

enum ctx_state {
	CTX_INIT,
	CTX_NEGOTIATED,
	CTX_DONE,
	CTX_FAILED,
};

struct ntlmssp_ctx {
	enum ctx_state state;
	bool anonymous;
	/* UTF-16LE, not NUL-terminated. */
	uint8_t *user;
	size_t user_len;
	uint8_t *domain;
	size_t domain_len;
	uint8_t *ws;
	size_t ws_len;
	uint8_t *spn;
	size_t spn_len;
	uint8_t response_key_nt[16]; /* NTOWFv2; secret */
	uint8_t *neg;		     /* our NEGOTIATE_MESSAGE, for the MIC */
	size_t neg_len;
	uint32_t flags; /* negotiated */
	bool mic_present;
	bool have_key;
	bool have_signing;
	uint8_t session_key[16]; /* ExportedSessionKey; secret */
	uint8_t client_sign_key[16];
	uint8_t server_sign_key[16];
	struct rc4_state *client_seal;
	struct rc4_state *server_seal;
	uint32_t client_seq;
	uint32_t server_seq;
	bool test;
	uint8_t test_client_challenge[8];
	uint64_t test_timestamp;
	uint8_t test_session_key[16];
};

/* ---- UTF-8 -> UTF-16LE ---------------------------------------------------------- */

static locale_t upper_locale;
static pthread_once_t upper_once = PTHREAD_ONCE_INIT;

static void upper_init(void)
{
	/* glibc's C.UTF-8 carries the Unicode simple case mappings. */
	upper_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!upper_locale)
		LOG_WARN("no C.UTF-8 locale: NTLM user names are upper-cased as ASCII only");
}

/*
 * Upper-case one BMP code unit the way Windows upcases user names: a 1:1
 * simple mapping that stays inside the BMP; anything else is left alone.
 */
static uint32_t upcase_unit(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') ? c - 0x20 : c;
	if (pthread_once(&upper_once, upper_init) != 0 || !upper_locale)
		return c;
	wint_t u = towupper_l((wint_t)c, upper_locale);
	if (u == WEOF || u > 0xffff || (u >= 0xd800 && u <= 0xdfff))
		return c;
	return (uint32_t)u;
}

/* Decode one UTF-8 scalar at s[*i]; rejects overlongs, surrogates, > U+10FFFF. */
static int utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	unsigned char c = s[*i];
	uint32_t v, min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		*i += 1;
		return 0;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		v = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return -EINVAL;
	}
	if (!range_ok(len, *i + 1, n))
		return -EINVAL;
	for (size_t k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xc0) != 0x80)
			return -EINVAL;
		v = (v << 6) | (cc & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -EINVAL;
	*cp = v;
	*i += n + 1;
	return 0;
}

/*
 * Convert NUL-terminated UTF-8 to UTF-16LE in a new buffer (*out, never NULL
 * on success, *out_len bytes). upper applies upcase_unit() to BMP units.
 * Fails with -EINVAL on invalid UTF-8 or more than NTLMSSP_MAX_STR_UNITS units.
 */
static int utf8_to_utf16le(const char *str, bool upper, uint8_t **out, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s);
	size_t units = 0, i = 0, o = 0;
	uint32_t cp;
	uint8_t *buf;
	int rc;

	*out = NULL;
	*out_len = 0;
	while (i < len) {
		rc = utf8_next(s, len, &i, &cp);
		if (rc)
			return rc;
		units += cp >= 0x10000 ? 2 : 1;
		if (units > NTLMSSP_MAX_STR_UNITS)
			return -EINVAL;
	}
	buf = malloc(units ? units * 2 : 1);
	if (!buf)
		return -ENOMEM;
	i = 0;
	while (i < len) {
		if (utf8_next(s, len, &i, &cp) != 0)
			break; /* cannot happen: validated above */
		if (cp >= 0x10000) {
			cp -= 0x10000;
			le16_store(buf + o, (uint16_t)(0xd800 | (cp >> 10)));
			le16_store(buf + o + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			o += 4;
		} else {
			le16_store(buf + o, (uint16_t)(upper ? upcase_unit(cp) : cp));
			o += 2;
		}
	}
	*out = buf;
	*out_len = o;
	return 0;
}

static void free_secret(uint8_t *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

/* ---- Primitives (MS-NLMP 3.3, 3.4.5) ------------------------------------------------ */

int ntlmssp_nt_hash(const char *password, uint8_t out[16])
{
	uint8_t *pw = NULL;
	size_t pw_len = 0;
	int rc;

	rc = utf8_to_utf16le(password, false, &pw, &pw_len);
	if (rc)
		return rc;
	rc = md4_hash(pw, pw_len, out);
	free_secret(pw, pw_len);
	return rc;
}

static int ntowfv2_u16(const uint8_t nt_hash[16], const uint8_t *user_upper, size_t user_len,
		       const uint8_t *domain, size_t domain_len, uint8_t out[16])
{
	struct md_iov iov[2] = {{user_upper, user_len}, {domain, domain_len}};

	return hmac_md5_vec(nt_hash, 16, iov, 2, out);
}

int ntlmssp_ntowfv2(const uint8_t nt_hash[16], const char *user, const char *domain,
		    uint8_t out[16])
{
	uint8_t *u = NULL, *d = NULL;
	size_t ul = 0, dl = 0;
	int rc;

	rc = utf8_to_utf16le(user, true, &u, &ul);
	if (rc)
		goto out;
	rc = utf8_to_utf16le(domain, false, &d, &dl);
	if (rc)
		goto out;
	rc = ntowfv2_u16(nt_hash, u, ul, d, dl, out);
out:
	free(u);
	free(d);
	return rc;
}

int ntlmssp_ntlmv2_response(const uint8_t response_key_nt[16], const uint8_t server_challenge[8],
			    const uint8_t client_challenge[8], uint64_t timestamp,
			    const uint8_t *av, size_t av_len, uint8_t *nt_resp, size_t nt_cap,
			    size_t *nt_len, uint8_t lm_resp[24], uint8_t session_base_key[16])
{
	uint8_t *temp = nt_resp + NTPROOF_LEN;
	size_t temp_len;
	struct md_iov iov[2];
	int rc;

	if (av_len > SIZE_MAX - (NTPROOF_LEN + CC_AV_PAIRS + CC_TRAILER))
		return -EMSGSIZE;
	temp_len = CC_AV_PAIRS + av_len + CC_TRAILER;
	if (nt_cap < NTPROOF_LEN + temp_len)
		return -EMSGSIZE;

	/* temp = 1 || 1 || Z(6) || Time || ClientChallenge || Z(4) || ServerName || Z(4) */
	memset(temp, 0, CC_AV_PAIRS);
	temp[CC_RESP_TYPE] = 1;
	temp[CC_HI_RESP_TYPE] = 1;
	le64_store(temp + CC_TIMESTAMP, timestamp);
	memcpy(temp + CC_CHALLENGE, client_challenge, 8);
	if (av_len)
		memcpy(temp + CC_AV_PAIRS, av, av_len);
	memset(temp + CC_AV_PAIRS + av_len, 0, CC_TRAILER);

	/* NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) */
	iov[0] = (struct md_iov){server_challenge, 8};
	iov[1] = (struct md_iov){temp, temp_len};
	rc = hmac_md5_vec(response_key_nt, 16, iov, 2, nt_resp);
	if (rc)
		return rc;
	*nt_len = NTPROOF_LEN + temp_len;

	/* LMv2 = HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge */
	iov[1] = (struct md_iov){client_challenge, 8};
	rc = hmac_md5_vec(response_key_nt, 16, iov, 2, lm_resp);
	if (rc)
		return rc;
	memcpy(lm_resp + 16, client_challenge, 8);

	/* SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) */
	return hmac_md5(response_key_nt, 16, nt_resp, NTPROOF_LEN, session_base_key);
}

int ntlmssp_sign_key(const uint8_t exported_session_key[16], bool from_server, uint8_t out[16])
{
	const char *magic = from_server ? srv_sign_magic : cli_sign_magic;
	struct md_iov iov[2] = {{exported_session_key, 16}, {magic, strlen(magic) + 1}};

	return md5_hash_vec(iov, 2, out);
}

int ntlmssp_seal_key(const uint8_t exported_session_key[16], uint32_t flags, bool from_server,
		     uint8_t out[16])
{
	const char *magic = from_server ? srv_seal_magic : cli_seal_magic;
	size_t klen = (flags & NTLMSSP_NEGOTIATE_128) ? 16 : (flags & NTLMSSP_NEGOTIATE_56) ? 7 : 5;
	struct md_iov iov[2] = {{exported_session_key, klen}, {magic, strlen(magic) + 1}};

	return md5_hash_vec(iov, 2, out);
}

/* ---- Context ------------------------------------------------------------------------ */

struct ntlmssp_ctx *ntlmssp_new(const char *user, const char *domain, const char *password,
				const char *workstation)
{
	struct ntlmssp_ctx *ctx;
	uint8_t *upper = NULL, *pw = NULL;
	size_t upper_len = 0, pw_len = 0;
	uint8_t nt_hash[16];
	int rc;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	ctx->anonymous = !user || !*user;
	rc = utf8_to_utf16le(user, false, &ctx->user, &ctx->user_len);
	if (!rc)
		rc = utf8_to_utf16le(domain, false, &ctx->domain, &ctx->domain_len);
	if (!rc)
		rc = utf8_to_utf16le(workstation, false, &ctx->ws, &ctx->ws_len);
	if (rc)
		goto fail;
	if (ctx->anonymous)
		return ctx;

	rc = utf8_to_utf16le(user, true, &upper, &upper_len);
	if (!rc)
		rc = utf8_to_utf16le(password, false, &pw, &pw_len);
	if (!rc)
		rc = md4_hash(pw, pw_len, nt_hash);
	if (!rc)
		rc = ntowfv2_u16(nt_hash, upper, upper_len, ctx->domain, ctx->domain_len,
				 ctx->response_key_nt);
	OPENSSL_cleanse(nt_hash, sizeof(nt_hash));
	free_secret(pw, pw_len);
	free(upper);
	if (rc)
		goto fail;
	return ctx;
fail:
	ntlmssp_free(ctx);
	errno = -rc;
	return NULL;
}

int ntlmssp_set_target(struct ntlmssp_ctx *ctx, const char *spn)
{
	uint8_t *s = NULL;
	size_t len = 0;
	int rc;

	if (ctx->state == CTX_DONE || ctx->state == CTX_FAILED)
		return -EINVAL;
	if (spn && *spn) {
		rc = utf8_to_utf16le(spn, false, &s, &len);
		if (rc)
			return rc;
	}
	free(ctx->spn);
	ctx->spn = s;
	ctx->spn_len = len;
	return 0;
}

void ntlmssp_set_test_params(struct ntlmssp_ctx *ctx, const uint8_t client_challenge[8],
			     uint64_t timestamp, const uint8_t exported_session_key[16])
{
	ctx->test = true;
	memcpy(ctx->test_client_challenge, client_challenge, 8);
	ctx->test_timestamp = timestamp;
	memcpy(ctx->test_session_key, exported_session_key, 16);
}

void ntlmssp_free(struct ntlmssp_ctx *ctx)
{
	if (!ctx)
		return;
	free_secret(ctx->user, ctx->user_len);
	free_secret(ctx->domain, ctx->domain_len);
	free_secret(ctx->ws, ctx->ws_len);
	free_secret(ctx->spn, ctx->spn_len);
	free_secret(ctx->neg, ctx->neg_len);
	rc4_free(ctx->client_seal);
	rc4_free(ctx->server_seal);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	free(ctx);
}

uint32_t ntlmssp_flags(const struct ntlmssp_ctx *ctx)
{
	return ctx->state == CTX_DONE ? ctx->flags : 0;
}

bool ntlmssp_is_anonymous(const struct ntlmssp_ctx *ctx)
{
	return ctx->anonymous;
}

bool ntlmssp_mic_present(const struct ntlmssp_ctx *ctx)
{
	return ctx->state == CTX_DONE && ctx->mic_present;
}

int ntlmssp_session_key(const struct ntlmssp_ctx *ctx, uint8_t key[NTLMSSP_KEY_LEN])
{
	if (ctx->state != CTX_DONE)
		return -EINVAL;
	if (!ctx->have_key)
		return -ENOKEY;
	memcpy(key, ctx->session_key, NTLMSSP_KEY_LEN);
	return 0;
}

/* ---- NEGOTIATE_MESSAGE ---------------------------------------------------------------- */

int ntlmssp_negotiate(struct ntlmssp_ctx *ctx, uint8_t **out, size_t *out_len)
{
	uint8_t *m, *copy;
	uint32_t flags = NTLMSSP_CLIENT_FLAGS;

	*out = NULL;
	*out_len = 0;
	if (ctx->state != CTX_INIT)
		return -EINVAL;
	if (ctx->anonymous)
		flags |= NTLMSSP_ANONYMOUS;
	m = calloc(1, NEG_SIZE);
	copy = malloc(NEG_SIZE);
	if (!m || !copy) {
		free(m);
		free(copy);
		return -ENOMEM;
	}
	memcpy(m + NEG_SIGNATURE, ntlmssp_signature, sizeof(ntlmssp_signature));
	le32_store(m + NEG_MESSAGE_TYPE, NTLMSSP_MSG_NEGOTIATE);
	le32_store(m + NEG_FLAGS, flags);
	/* No OEM domain or workstation: empty fields pointing at the end. */
	le32_store(m + NEG_DOMAIN_FIELDS + FIELD_OFFSET, NEG_SIZE);
	le32_store(m + NEG_WORKSTATION_FIELDS + FIELD_OFFSET, NEG_SIZE);
	memcpy(m + NEG_VERSION, ntlmssp_version, sizeof(ntlmssp_version));

	memcpy(copy, m, NEG_SIZE);
	ctx->neg = copy;
	ctx->neg_len = NEG_SIZE;
	ctx->state = CTX_NEGOTIATED;
	*out = m;
	*out_len = NEG_SIZE;
	return 0;
}

/* ---- CHALLENGE_MESSAGE ---------------------------------------------------------------- */

struct challenge {
	uint32_t flags;
	const uint8_t *server_challenge; /* 8 bytes, view */
	const uint8_t *target_info;	 /* view, may be NULL when empty */
	size_t target_info_len;
	bool has_timestamp;
	uint64_t timestamp;
};

/*
 * Read a payload field descriptor at fields_off and check that its bytes lie
 * in the message and not inside the fixed header (hdr bytes).
 */
static int chal_field(const uint8_t *m, size_t len, size_t fields_off, size_t hdr,
		      const uint8_t **view, size_t *view_len)
{
	uint16_t flen = le16_load(m + fields_off + FIELD_LEN);
	uint32_t foff = le32_load(m + fields_off + FIELD_OFFSET);

	*view = NULL;
	*view_len = flen;
	if (flen == 0)
		return 0;
	if (foff < hdr || !range_ok(len, foff, flen))
		return -EBADMSG;
	*view = m + foff;
	return 0;
}

/*
 * Walk the AV_PAIR list (MS-NLMP 2.2.2.1). It must end with exactly one
 * MsvAvEOL at its last four bytes; timestamps and flags must have their fixed
 * sizes and appear at most once. An empty list is accepted.
 */
static int av_scan(const uint8_t *ti, size_t len, struct challenge *c)
{
	size_t off = 0;
	bool has_flags = false;

	if (len == 0)
		return 0;
	for (;;) {
		uint16_t id, n;

		if (!range_ok(len, off, AV_HDR))
			return -EBADMSG;
		id = le16_load(ti + off);
		n = le16_load(ti + off + 2);
		off += AV_HDR;
		if (!range_ok(len, off, n))
			return -EBADMSG;
		switch (id) {
		case MSV_AV_EOL:
			return (n == 0 && off == len) ? 0 : -EBADMSG;
		case MSV_AV_TIMESTAMP:
			if (n != 8 || c->has_timestamp)
				return -EBADMSG;
			c->has_timestamp = true;
			c->timestamp = le64_load(ti + off);
			break;
		case MSV_AV_FLAGS:
			if (n != 4 || has_flags)
				return -EBADMSG;
			has_flags = true;
			break;
		default:
			break;
		}
		off += n;
	}
}

static int chal_parse(const uint8_t *m, size_t len, struct challenge *c)
{
	const uint8_t *name;
	size_t name_len, hdr = CHAL_MIN_SIZE;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!m || len < CHAL_MIN_SIZE)
		return -EBADMSG;
	if (memcmp(m + CHAL_SIGNATURE, ntlmssp_signature, sizeof(ntlmssp_signature)) != 0 ||
	    le32_load(m + CHAL_MESSAGE_TYPE) != NTLMSSP_MSG_CHALLENGE)
		return -EBADMSG;
	c->flags = le32_load(m + CHAL_FLAGS);
	c->server_challenge = m + CHAL_SERVER_CHALLENGE;
	if (c->flags & NTLMSSP_NEGOTIATE_VERSION) {
		if (len < CHAL_VERSION_SIZE)
			return -EBADMSG;
		hdr = CHAL_VERSION_SIZE;
	}
	rc = chal_field(m, len, CHAL_TARGET_NAME_FIELDS, hdr, &name, &name_len);
	if (rc)
		return rc;
	if ((c->flags & NTLMSSP_NEGOTIATE_UNICODE) && (name_len & 1))
		return -EBADMSG;
	rc = chal_field(m, len, CHAL_TARGET_INFO_FIELDS, hdr, &c->target_info, &c->target_info_len);
	if (rc)
		return rc;
	return av_scan(c->target_info, c->target_info_len, c);
}

/* ---- AUTHENTICATE_MESSAGE ------------------------------------------------------------- */

static size_t av_put(uint8_t *p, uint16_t id, const void *val, uint16_t n)
{
	le16_store(p, id);
	le16_store(p + 2, n);
	if (n)
		memcpy(p + AV_HDR, val, n);
	return AV_HDR + (size_t)n;
}

/*
 * The client's AV list for the NTLMv2 blob (MS-NLMP 3.1.5.1.2): the server's
 * pairs in order, MsvAvFlags with the MIC bit when mic, MsvChannelBindings
 * Z(16), MsvAvTargetName when an SPN is set, then MsvAvEOL. Pairs the client
 * owns (channel bindings, target name) are not echoed from the server.
 */
static int build_client_av(const struct ntlmssp_ctx *ctx, const struct challenge *c, bool mic,
			   uint8_t **out, size_t *out_len)
{
	static const uint8_t zero_cb[CHANNEL_BINDINGS_LEN];
	size_t cap, off = 0, soff = 0;
	bool flags_done = false;
	uint8_t *p, v[4];

	/* server list + flags + bindings + SPN + EOL; every term is bounded */
	cap = c->target_info_len + (AV_HDR + 4) + (AV_HDR + CHANNEL_BINDINGS_LEN) +
	      (AV_HDR + ctx->spn_len) + AV_HDR;
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	while (soff < c->target_info_len) {
		const uint8_t *s = c->target_info + soff;
		uint16_t id = le16_load(s), n = le16_load(s + 2);

		soff += AV_HDR + n; /* av_scan() validated every pair */
		if (id == MSV_AV_EOL)
			break;
		if (id == MSV_AV_CHANNEL_BINDINGS || id == MSV_AV_TARGET_NAME)
			continue;
		if (id == MSV_AV_FLAGS) {
			le32_store(v, le32_load(s + AV_HDR) | (mic ? MSV_AV_FLAG_MIC_PRESENT : 0));
			off += av_put(p + off, MSV_AV_FLAGS, v, 4);
			flags_done = true;
			continue;
		}
		memcpy(p + off, s, AV_HDR + (size_t)n);
		off += AV_HDR + (size_t)n;
	}
	if (mic && !flags_done) {
		le32_store(v, MSV_AV_FLAG_MIC_PRESENT);
		off += av_put(p + off, MSV_AV_FLAGS, v, 4);
	}
	off += av_put(p + off, MSV_AV_CHANNEL_BINDINGS, zero_cb, CHANNEL_BINDINGS_LEN);
	if (ctx->spn_len)
		off += av_put(p + off, MSV_AV_TARGET_NAME, ctx->spn, (uint16_t)ctx->spn_len);
	off += av_put(p + off, MSV_AV_EOL, NULL, 0);
	*out = p;
	*out_len = off;
	return 0;
}

static uint64_t filetime_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	/* 100 ns intervals since 1601-01-01 */
	return ((uint64_t)ts.tv_sec + 11644473600ULL) * 10000000ULL + (uint64_t)ts.tv_nsec / 100;
}

/* Append one payload field to the message and fill its descriptor. */
static void put_field(uint8_t *m, size_t fields_off, size_t *pos, const void *data, size_t n)
{
	le16_store(m + fields_off + FIELD_LEN, (uint16_t)n);
	le16_store(m + fields_off + FIELD_MAXLEN, (uint16_t)n);
	le32_store(m + fields_off + FIELD_OFFSET, (uint32_t)*pos);
	if (n)
		memcpy(m + *pos, data, n);
	*pos += n;
}

static int setup_signing(struct ntlmssp_ctx *ctx)
{
	uint8_t seal[16];
	int rc;

	if (!(ctx->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		return 0; /* NTLMv1-style signing is not supported; sign_mic says so */
	rc = ntlmssp_sign_key(ctx->session_key, false, ctx->client_sign_key);
	if (!rc)
		rc = ntlmssp_sign_key(ctx->session_key, true, ctx->server_sign_key);
	if (!rc)
		rc = ntlmssp_seal_key(ctx->session_key, ctx->flags, false, seal);
	if (!rc)
		rc = rc4_new(seal, sizeof(seal), &ctx->client_seal);
	if (!rc)
		rc = ntlmssp_seal_key(ctx->session_key, ctx->flags, true, seal);
	if (!rc)
		rc = rc4_new(seal, sizeof(seal), &ctx->server_seal);
	OPENSSL_cleanse(seal, sizeof(seal));
	if (rc)
		return rc;
	ctx->have_signing = true;
	return 0;
}

int ntlmssp_authenticate(struct ntlmssp_ctx *ctx, const uint8_t *challenge, size_t len,
			 uint8_t **out, size_t *out_len)
{
	struct challenge c;
	uint8_t *av = NULL, *nt = NULL, *m = NULL;
	size_t av_len = 0, nt_len = 0, nt_cap, lm_len, key_len = 0, total, pos;
	uint8_t lm[LMV2_LEN], base_key[16], enc_key[16], cc[8], mic[16];
	bool key_exch;
	uint64_t ts;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (ctx->state != CTX_NEGOTIATED)
		return -EINVAL;
	ctx->state = CTX_FAILED; /* until proven otherwise */

	rc = chal_parse(challenge, len, &c);
	if (rc) {
		LOG_DBG("malformed CHALLENGE_MESSAGE (%zu bytes)", len);
		goto out;
	}
	if (!(c.flags & NTLMSSP_NEGOTIATE_UNICODE)) {
		LOG_WARN("server does not offer Unicode NTLMSSP; OEM strings are not supported");
		rc = -ENOTSUP;
		goto out;
	}
	ctx->flags = c.flags & NTLMSSP_CLIENT_FLAGS;
	if (ctx->anonymous) {
		/* No key to exchange; Samba rejects KEY_EXCH without a 16-byte key. */
		ctx->flags |= NTLMSSP_ANONYMOUS;
		ctx->flags &= ~NTLMSSP_NEGOTIATE_KEY_EXCH;
	}
	key_exch = !ctx->anonymous && (ctx->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
		   (ctx->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL));
	memset(lm, 0, sizeof(lm));

	if (ctx->anonymous) {
		/* MS-NLMP 3.1.5.1.2: empty NtChallengeResponse, LmChallengeResponse Z(1). */
		lm_len = 1;
	} else {
		ctx->mic_present = c.has_timestamp;
		rc = build_client_av(ctx, &c, ctx->mic_present, &av, &av_len);
		if (rc)
			goto out;
		nt_cap = NTPROOF_LEN + CC_AV_PAIRS + av_len + CC_TRAILER;
		if (nt_cap > UINT16_MAX) {
			rc = -EMSGSIZE;
			goto out;
		}
		nt = malloc(nt_cap);
		if (!nt) {
			rc = -ENOMEM;
			goto out;
		}
		if (ctx->test)
			memcpy(cc, ctx->test_client_challenge, sizeof(cc));
		else if (RAND_bytes(cc, sizeof(cc)) != 1) {
			rc = -EIO;
			goto out;
		}
		ts = c.has_timestamp ? c.timestamp
		     : ctx->test     ? ctx->test_timestamp
				     : filetime_now();
		rc = ntlmssp_ntlmv2_response(ctx->response_key_nt, c.server_challenge, cc, ts, av,
					     av_len, nt, nt_cap, &nt_len, lm, base_key);
		if (rc)
			goto out;
		/* 3.1.5.1.2: with MsvAvTimestamp the LmChallengeResponse is Z(24). */
		if (c.has_timestamp)
			memset(lm, 0, sizeof(lm));
		lm_len = LMV2_LEN;

		/* KeyExchangeKey = SessionBaseKey for NTLMv2 (3.4.5.1). */
		if (key_exch) {
			if (ctx->test)
				memcpy(ctx->session_key, ctx->test_session_key, 16);
			else if (RAND_priv_bytes(ctx->session_key, 16) != 1) {
				rc = -EIO;
				goto out;
			}
			rc = rc4_crypt(base_key, 16, ctx->session_key, enc_key, 16);
			if (rc)
				goto out;
			key_len = 16;
		} else {
			memcpy(ctx->session_key, base_key, 16);
		}
		ctx->have_key = true;
	}

	total = AUTH_PAYLOAD + ctx->domain_len + ctx->user_len + ctx->ws_len + lm_len + nt_len +
		key_len;
	m = calloc(1, total);
	if (!m) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(m + AUTH_SIGNATURE, ntlmssp_signature, sizeof(ntlmssp_signature));
	le32_store(m + AUTH_MESSAGE_TYPE, NTLMSSP_MSG_AUTHENTICATE);
	pos = AUTH_PAYLOAD;
	put_field(m, AUTH_DOMAIN_FIELDS, &pos, ctx->domain, ctx->domain_len);
	put_field(m, AUTH_USER_FIELDS, &pos, ctx->user, ctx->user_len);
	put_field(m, AUTH_WORKSTATION_FIELDS, &pos, ctx->ws, ctx->ws_len);
	put_field(m, AUTH_LM_FIELDS, &pos, lm, lm_len);
	put_field(m, AUTH_NT_FIELDS, &pos, nt, nt_len);
	put_field(m, AUTH_ENC_KEY_FIELDS, &pos, enc_key, key_len);
	le32_store(m + AUTH_FLAGS, ctx->flags);
	memcpy(m + AUTH_VERSION, ntlmssp_version, sizeof(ntlmssp_version));

	if (ctx->have_key) {
		/* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE) */
		struct md_iov iov[3] = {{ctx->neg, ctx->neg_len}, {challenge, len}, {m, total}};

		rc = hmac_md5_vec(ctx->session_key, 16, iov, 3, mic);
		if (rc)
			goto out;
		memcpy(m + AUTH_MIC, mic, sizeof(mic));
		rc = setup_signing(ctx);
		if (rc)
			goto out;
	}
	ctx->state = CTX_DONE;
	*out = m;
	*out_len = total;
	m = NULL;
	rc = 0;
out:
	if (rc) {
		ctx->have_key = false;
		OPENSSL_cleanse(ctx->session_key, sizeof(ctx->session_key));
	}
	OPENSSL_cleanse(base_key, sizeof(base_key));
	OPENSSL_cleanse(enc_key, sizeof(enc_key));
	OPENSSL_cleanse(lm, sizeof(lm));
	free(m);
	free(av);
	free(nt);
	return rc;
}

/* ---- Signatures (MS-NLMP 3.4.4.2) ----------------------------------------------------- */

static int make_signature(const uint8_t sign_key[16], struct rc4_state *seal, bool key_exch,
			  uint32_t seq, const uint8_t *msg, size_t len,
			  uint8_t sig[NTLMSSP_SIG_LEN])
{
	uint8_t seqle[4], digest[16];
	struct md_iov iov[2] = {{seqle, 4}, {msg, len}};
	int rc;

	le32_store(seqle, seq);
	rc = hmac_md5_vec(sign_key, 16, iov, 2, digest);
	if (rc)
		goto out;
	le32_store(sig + SIG_VERSION, 1);
	if (key_exch)
		rc = rc4_update(seal, digest, sig + SIG_CHECKSUM, SIG_CHECKSUM_LEN);
	else
		memcpy(sig + SIG_CHECKSUM, digest, SIG_CHECKSUM_LEN);
	le32_store(sig + SIG_SEQNUM, seq);
out:
	OPENSSL_cleanse(digest, sizeof(digest));
	return rc;
}

static int signing_ready(const struct ntlmssp_ctx *ctx)
{
	if (ctx->state != CTX_DONE)
		return -EINVAL;
	if (!ctx->have_key)
		return -ENOKEY;
	if (!ctx->have_signing)
		return -ENOTSUP;
	return 0;
}

int ntlmssp_sign_mic(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len,
		     uint8_t out[NTLMSSP_SIG_LEN])
{
	int rc = signing_ready(ctx);

	if (rc)
		return rc;
	rc =
	    make_signature(ctx->client_sign_key, ctx->client_seal,
			   ctx->flags & NTLMSSP_NEGOTIATE_KEY_EXCH, ctx->client_seq, msg, len, out);
	if (rc)
		return rc;
	ctx->client_seq++;
	return 0;
}

int ntlmssp_verify_mic(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len, const uint8_t *sig,
		       size_t sig_len)
{
	uint8_t want[NTLMSSP_SIG_LEN];
	int rc = signing_ready(ctx);

	if (rc)
		return rc;
	if (!sig || sig_len != NTLMSSP_SIG_LEN || le32_load(sig + SIG_VERSION) != 1)
		return -EBADMSG;
	rc = make_signature(ctx->server_sign_key, ctx->server_seal,
			    ctx->flags & NTLMSSP_NEGOTIATE_KEY_EXCH, ctx->server_seq, msg, len,
			    want);
	if (rc)
		return rc;
	ctx->server_seq++;
	rc = CRYPTO_memcmp(want, sig, NTLMSSP_SIG_LEN) == 0 ? 0 : -EACCES;
	OPENSSL_cleanse(want, sizeof(want));
	if (rc)
		LOG_WARN("NTLMSSP: server signature does not verify");
	return rc;
}
