/*
 * test_wire.c - SMB2 command codecs (src/wire/{negotiate,session,tree,create,
 * close,read,write,querydir,info,echo,ioctl,fscc}.c).
 *
 * Encoders: known structs -> bytes laid out by hand from MS-SMB2 2.2.x.
 * Decoders: real Samba 4.17 responses (tests/vectors/wire-samba-4.17.txt) ->
 * known fields; every truncation of every response -> -EBADMSG (each copy
 * is an exact-size heap buffer, so ASan catches any overread); corrupted
 * offsets and lengths -> -EBADMSG.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "wire/close.h"
#include "wire/create.h"
#include "wire/echo.h"
#include "wire/frame.h"
#include "wire/fscc.h"
#include "wire/info.h"
#include "wire/ioctl.h"
#include "wire/negotiate.h"
#include "wire/querydir.h"
#include "wire/read.h"
#include "wire/session.h"
#include "wire/tree.h"
#include "wire/utf16.h"
#include "wire/write.h"

#include "../vectors/wire_samba417.h"

/* ---- helpers ---- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A vector in an exact-size heap buffer. */
struct vec {
	uint8_t *p;
	size_t len;
};

static struct vec vec_load(const char *hex)
{
	static uint8_t tmp[8192];
	struct vec v;
	v.len = unhex(hex, tmp, sizeof(tmp));
	v.p = malloc(v.len);
	ck_assert_ptr_nonnull(v.p);
	memcpy(v.p, tmp, v.len);
	return v;
}

/* Copy of v with one byte changed or a u16/u32 overwritten. */
static struct vec vec_dup(struct vec v)
{
	struct vec d = {malloc(v.len), v.len};
	ck_assert_ptr_nonnull(d.p);
	memcpy(d.p, v.p, v.len);
	return d;
}

/* Exact-size prefix copy of length n (NULL-safe for n == 0). */
static uint8_t *prefix(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

typedef int (*dec_fn)(const uint8_t *pdu, size_t len);

/* Every truncation 0..len-1 of a valid PDU is -EBADMSG. */
static void all_truncations_fail(struct vec v, dec_fn dec, const char *what)
{
	ck_assert_msg(dec(v.p, v.len) == 0, "%s: full vector must decode", what);
	for (size_t n = 0; n < v.len; n++) {
		uint8_t *c = prefix(v.p, n);
		int rc = dec(c, n);
		free(c);
		ck_assert_msg(rc == -EBADMSG, "%s: truncation to %zu gave %d", what, n, rc);
	}
}

/* Adapters with a common signature. */
static int dec_negotiate(const uint8_t *p, size_t n)
{
	struct negotiate_resp r;
	return negotiate_resp_decode(p, n, &r);
}
static int dec_session(const uint8_t *p, size_t n)
{
	struct session_setup_resp r;
	return session_setup_resp_decode(p, n, &r);
}
static int dec_tree(const uint8_t *p, size_t n)
{
	struct tree_connect_resp r;
	return tree_connect_resp_decode(p, n, &r);
}
static int dec_create(const uint8_t *p, size_t n)
{
	struct create_resp r;
	return create_resp_decode(p, n, &r);
}
static int dec_close(const uint8_t *p, size_t n)
{
	struct close_resp r;
	return close_resp_decode(p, n, &r);
}
static int dec_read(const uint8_t *p, size_t n)
{
	struct read_resp r;
	return read_resp_decode(p, n, &r);
}
static int dec_write(const uint8_t *p, size_t n)
{
	struct write_resp r;
	return write_resp_decode(p, n, &r);
}
static int dec_querydir(const uint8_t *p, size_t n)
{
	struct query_dir_resp r;
	return query_dir_resp_decode(p, n, &r);
}
static int dec_query_info(const uint8_t *p, size_t n)
{
	struct query_info_resp r;
	return query_info_resp_decode(p, n, &r);
}
static int dec_ioctl(const uint8_t *p, size_t n)
{
	struct ioctl_resp r;
	return ioctl_resp_decode(p, n, &r);
}

static const uint8_t guid16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const struct smb2_file_id fid = {UINT64_C(0x1111111111111111), UINT64_C(0x2222222222222222)};
#define FID_BYTES                                                                                  \
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22
static const uint8_t fid_bytes[16] = {FID_BYTES};

static void expect_bytes(const struct wbuf *w, const uint8_t *exp, size_t n)
{
	ck_assert_uint_eq(w->off, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(w->p[i] == exp[i], "byte %zu: got %02x want %02x", i, w->p[i], exp[i]);
}

/* Every encoder: no room -> -EMSGSIZE and w->off unchanged, for every cap < needed. */
typedef int (*enc_fn)(struct wbuf *w, const void *req);
static void encode_caps_fail(enc_fn enc, const void *req, size_t need)
{
	uint8_t *buf = malloc(need + 64);
	ck_assert_ptr_nonnull(buf);
	for (size_t cap = 0; cap < need; cap++) {
		struct wbuf w = wbuf_init(buf, cap);
		ck_assert_msg(enc(&w, req) == -EMSGSIZE, "cap %zu", cap);
		ck_assert_uint_eq(w.off, 0);
	}
	struct wbuf w = wbuf_init(buf, need);
	ck_assert_int_eq(enc(&w, req), 0);
	ck_assert_uint_eq(w.off, need);
	/* With the header already in the same buffer, offsets are unchanged. */
	struct wbuf w2 = wbuf_init(buf + 0, need + 64);
	uint8_t *ref = malloc(need);
	memcpy(ref, buf, need);
	w2.off = 64;
	ck_assert_int_eq(enc(&w2, req), 0);
	ck_assert_uint_eq(w2.off, 64 + need);
	ck_assert_mem_eq(buf + 64, ref, need);
	free(ref);
	free(buf);
}

/* ---- NEGOTIATE ---- */

static const uint16_t dialects5[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
static const uint16_t ciphers2[] = {SMB2_ENCRYPTION_AES128_GCM, SMB2_ENCRYPTION_AES128_CCM};
static const uint16_t sign2[] = {SMB2_SIGNING_AES_CMAC, SMB2_SIGNING_HMAC_SHA256};
static uint8_t salt32[32];

static struct negotiate_req neg_req_311(void)
{
	struct negotiate_req r = {
		.dialects = dialects5,
		.dialect_count = 5,
		.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED,
		.capabilities = 0x7f,
		.preauth_salt = salt32,
		.preauth_salt_len = 32,
		.ciphers = ciphers2,
		.cipher_count = 2,
		.signing_algs = sign2,
		.signing_alg_count = 2,
		.netname = "srv",
	};
	for (int i = 0; i < 32; i++)
		salt32[i] = (uint8_t)i;
	memcpy(r.client_guid, guid16, 16);
	return r;
}

static int enc_negotiate(struct wbuf *w, const void *req)
{
	return negotiate_req_encode(w, req);
}

START_TEST(negotiate_encode_311)
{
	/* MS-SMB2 2.2.3 + 2.2.3.1.x, laid out by hand. Offsets from the header start. */
	static const uint8_t exp[] = {
		/* 64: StructureSize 36, DialectCount 5, SecurityMode 1, Reserved */
		0x24, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* 72: Capabilities 0x7f */
		0x7f, 0x00, 0x00, 0x00,
		/* 76: ClientGuid */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		/* 92: NegotiateContextOffset 0x70, Count 4, Reserved2 */
		0x70, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
		/* 100: Dialects */
		0x02, 0x02, 0x10, 0x02, 0x00, 0x03, 0x02, 0x03, 0x11, 0x03,
		/* 110: pad to 8 */
		0x00, 0x00,
		/* 112: PREAUTH_INTEGRITY_CAPABILITIES, DataLength 38 */
		0x01, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* HashAlgorithmCount 1, SaltLength 32, SHA-512 */
		0x01, 0x00, 0x20, 0x00, 0x01, 0x00,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
		/* 158: pad */
		0x00, 0x00,
		/* 160: ENCRYPTION_CAPABILITIES, DataLength 6: count 2, GCM, CCM */
		0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x02, 0x00, 0x01, 0x00,
		/* 174: pad */
		0x00, 0x00,
		/* 176: SIGNING_CAPABILITIES, DataLength 6: count 2, CMAC, HMAC */
		0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* 190: pad */
		0x00, 0x00,
		/* 192: NETNAME_NEGOTIATE_CONTEXT_ID, DataLength 6: "srv" UTF-16LE (last: no pad) */
		0x05, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
		's', 0x00, 'r', 0x00, 'v', 0x00,
	};
	struct negotiate_req req = neg_req_311();
	uint8_t buf[512];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(negotiate_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_negotiate, &req, sizeof(exp));
}
END_TEST

START_TEST(negotiate_encode_legacy)
{
	/* Without 3.1.1: no contexts, offset/count stay 0, nothing after the dialects. */
	static const uint8_t exp[] = {
		0x24, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00,
		1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,
		13,   14,   15,   16,   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x02, 0x02, 0x03,
	};
	static const uint16_t d2[] = {0x0202, 0x0302};
	struct negotiate_req req = {.dialects = d2,
				    .dialect_count = 2,
				    .security_mode = SMB2_NEGOTIATE_SIGNING_REQUIRED,
				    .capabilities = 0x44,
				    .netname = "ignored"};
	uint8_t buf[128];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	memcpy(req.client_guid, guid16, 16);
	ck_assert_int_eq(negotiate_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	/* Bad arguments. */
	req.dialect_count = 0;
	ck_assert_int_eq(negotiate_req_encode(&w, &req), -EINVAL);
	req.dialect_count = SMB2_MAX_DIALECTS + 1;
	ck_assert_int_eq(negotiate_req_encode(&w, &req), -EINVAL);
	/* Invalid UTF-8 netname with 3.1.1. */
	struct negotiate_req r2 = neg_req_311();
	uint8_t big[512];
	r2.netname = "\xff";
	w = wbuf_init(big, sizeof(big));
	ck_assert_int_eq(negotiate_req_encode(&w, &r2), -EILSEQ);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

START_TEST(negotiate_decode_311)
{
	struct vec v = vec_load(VEC_NEGOTIATE_311);
	struct negotiate_resp r;
	static const uint8_t sguid[16] = "testsrv";

	ck_assert_int_eq(negotiate_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
	ck_assert_uint_eq(r.dialect, SMB2_DIALECT_0311);
	ck_assert_mem_eq(r.server_guid, sguid, 16);
	ck_assert_uint_eq(r.capabilities, 0xf);
	ck_assert_uint_eq(r.max_transact_size, 8388608);
	ck_assert_uint_eq(r.max_read_size, 8388608);
	ck_assert_uint_eq(r.max_write_size, 8388608);
	ck_assert_uint_eq(r.system_time, UINT64_C(0x1dd7c8f381e4718));
	ck_assert_ptr_eq(r.security_buffer, v.p + 128);
	ck_assert_uint_eq(r.security_buffer_len, 74);
	ck_assert_uint_eq(r.security_buffer[0], 0x60); /* SPNEGO NegTokenInit */
	ck_assert_uint_eq(r.neg_ctx_count, 2);
	ck_assert(NEG_CTX_PRESENT(&r, SMB2_PREAUTH_INTEGRITY_CAPABILITIES));
	ck_assert(NEG_CTX_PRESENT(&r, SMB2_SIGNING_CAPABILITIES));
	ck_assert(!NEG_CTX_PRESENT(&r, SMB2_ENCRYPTION_CAPABILITIES));
	ck_assert_uint_eq(r.preauth_hash_alg, SMB2_PREAUTH_HASH_SHA512);
	ck_assert_uint_eq(r.preauth_salt_len, 32);
	ck_assert_ptr_nonnull(r.preauth_salt);
	ck_assert_uint_eq(r.signing_alg, SMB2_SIGNING_AES_CMAC);
	ck_assert_uint_eq(r.cipher, 0);
	all_truncations_fail(v, dec_negotiate, "negotiate 3.1.1");
	free(v.p);
}
END_TEST

START_TEST(negotiate_decode_302)
{
	struct vec v = vec_load(VEC_NEGOTIATE_302);
	struct negotiate_resp r;

	ck_assert_int_eq(negotiate_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.dialect, SMB2_DIALECT_0302);
	ck_assert_uint_eq(r.neg_ctx_count, 0);
	ck_assert_uint_eq(r.ctx_present, 0);
	ck_assert_uint_eq(r.security_buffer_len, 74);
	all_truncations_fail(v, dec_negotiate, "negotiate 3.0.2");
	free(v.p);
}
END_TEST

/* Byte positions in VEC_NEGOTIATE_311: contexts at 208 (preauth, 38 bytes), 256 (signing). */
enum { N311_SECOFF = 120, N311_SECLEN = 122, N311_CTXOFF = 124, N311_CTXCNT = 70 };

START_TEST(negotiate_decode_corrupt)
{
	struct vec v = vec_load(VEC_NEGOTIATE_311);
	struct negotiate_resp r;
	struct vec d;

	ck_assert_uint_eq(le32_load(v.p + N311_CTXOFF), 208);
	ck_assert_uint_eq(le16_load(v.p + 208), SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
	ck_assert_uint_eq(le16_load(v.p + 256), SMB2_SIGNING_CAPABILITIES);

	static const struct {
		size_t at;
		int width;
		uint32_t val;
		const char *why;
	} bad[] = {
		{N311_SECOFF, 2, 0, "security buffer offset 0"},
		{N311_SECOFF, 2, 64, "security buffer inside the fixed body"},
		{N311_SECOFF, 2, 200, "security buffer past the end"},
		{N311_SECLEN, 2, 0xffff, "security buffer length huge"},
		{N311_CTXOFF, 4, 212, "context offset unaligned"},
		{N311_CTXOFF, 4, 272, "context offset at end"},
		{N311_CTXOFF, 4, 0xfffffff8u, "context offset huge"},
		{N311_CTXOFF, 4, 64, "context offset inside the fixed body"},
		{N311_CTXCNT, 2, 3, "context count too large"},
		{N311_CTXCNT, 2, 0, "3.1.1 without contexts"},
		{208 + 2, 2, 0xffff, "context DataLength past the end"},
		{208 + 8, 2, 2, "two preauth hash algorithms in a response"},
		{208 + 10, 2, 0xffff, "salt length past the context"},
		{256, 2, SMB2_PREAUTH_INTEGRITY_CAPABILITIES, "duplicate preauth context"},
		{208, 2, SMB2_COMPRESSION_CAPABILITIES, "preauth context missing"},
		{256 + 8, 2, 0, "signing count 0"},
		{256 + 2, 2, 1, "signing context too short"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		if (bad[i].width == 2)
			le16_store(d.p + bad[i].at, (uint16_t)bad[i].val);
		else
			le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(negotiate_resp_decode(d.p, d.len, &r) == -EBADMSG, "%s", bad[i].why);
		free(d.p);
	}
	/* An unknown context type is skipped; an empty security buffer ignores its offset. */
	d = vec_dup(v);
	le16_store(d.p + 256, 0x1234);
	le16_store(d.p + N311_SECOFF, 0);
	le16_store(d.p + N311_SECLEN, 0);
	ck_assert_int_eq(negotiate_resp_decode(d.p, d.len, &r), 0);
	ck_assert(!NEG_CTX_PRESENT(&r, SMB2_SIGNING_CAPABILITIES));
	ck_assert_ptr_null(r.security_buffer);
	free(d.p);
	free(v.p);
}
END_TEST

/* ---- SESSION_SETUP / LOGOFF ---- */

static int enc_session(struct wbuf *w, const void *req)
{
	return session_setup_req_encode(w, req);
}

START_TEST(session_encode)
{
	static const uint8_t exp[] = {
		0x19, 0x00,             /* StructureSize 25 */
		0x00,                   /* Flags */
		0x01,                   /* SecurityMode */
		0x01, 0x00, 0x00, 0x00, /* Capabilities: DFS */
		0x00, 0x00, 0x00, 0x00, /* Channel */
		0x58, 0x00, 0x08, 0x00, /* SecurityBufferOffset 88, Length 8 */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* PreviousSessionId */
		'N',  'T',  'L',  'M',  'S',  'S',  'P',  0x00,
	};
	struct session_setup_req req = {.security_mode = 1,
					.capabilities = SMB2_GLOBAL_CAP_DFS,
					.previous_session_id = UINT64_C(0x1122334455667788),
					.security_buffer = (const uint8_t *)"NTLMSSP",
					.security_buffer_len = 8};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(session_setup_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_session, &req, sizeof(exp));

	/* Empty buffer: length 0 and one pad byte (StructureSize is odd). */
	req.security_buffer = NULL;
	req.security_buffer_len = 0;
	req.flags = SMB2_SESSION_FLAG_BINDING;
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(session_setup_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 25);
	ck_assert_uint_eq(buf[2], 1);
	ck_assert_uint_eq(le16_load(buf + 14), 0);
	req.security_buffer_len = 70000;
	req.security_buffer = buf;
	ck_assert_int_eq(session_setup_req_encode(&w, &req), -EINVAL);
}
END_TEST

START_TEST(session_decode)
{
	struct vec v = vec_load(VEC_SESSION_SETUP_MORE), ok = vec_load(VEC_SESSION_SETUP_OK), d;
	struct session_setup_resp r;

	ck_assert_uint_eq(le32_load(v.p + HDR_STATUS), STATUS_MORE_PROCESSING_REQUIRED);
	ck_assert_int_eq(session_setup_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.session_flags, 0);
	ck_assert_ptr_eq(r.security_buffer, v.p + 72);
	ck_assert_uint_eq(r.security_buffer_len, 165);
	ck_assert_uint_eq(r.security_buffer[0], 0xa1); /* SPNEGO NegTokenResp */
	all_truncations_fail(v, dec_session, "session setup (more processing)");

	ck_assert_int_eq(session_setup_resp_decode(ok.p, ok.len, &r), 0);
	ck_assert_uint_eq(r.session_flags, SMB2_SESSION_FLAG_IS_GUEST);
	ck_assert_uint_eq(r.security_buffer_len, 9);
	all_truncations_fail(ok, dec_session, "session setup (success)");

	d = vec_dup(v);
	le16_store(d.p + 68, 71); /* offset one byte into the fixed part */
	ck_assert_int_eq(session_setup_resp_decode(d.p, d.len, &r), -EBADMSG);
	le16_store(d.p + 68, 73); /* buffer now overhangs the end by one byte */
	ck_assert_int_eq(session_setup_resp_decode(d.p, d.len, &r), -EBADMSG);
	le16_store(d.p + 68, 0xffff);
	ck_assert_int_eq(session_setup_resp_decode(d.p, d.len, &r), -EBADMSG);
	le16_store(d.p + 68, 72);
	le16_store(d.p + 70, 166);
	ck_assert_int_eq(session_setup_resp_decode(d.p, d.len, &r), -EBADMSG);
	le16_store(d.p + 64, 8); /* StructureSize */
	le16_store(d.p + 70, 165);
	ck_assert_int_eq(session_setup_resp_decode(d.p, d.len, &r), -EBADMSG);
	free(d.p);
	free(v.p);
	free(ok.p);
}
END_TEST

START_TEST(logoff_tree_disconnect_echo)
{
	uint8_t buf[8];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct vec lo = vec_load(VEC_LOGOFF), td = vec_load(VEC_TREE_DISCONNECT),
		   ec = vec_load(VEC_ECHO), si = vec_load(VEC_SET_INFO);

	ck_assert_int_eq(logoff_req_encode(&w), 0);
	expect_bytes(&w, (const uint8_t *)"\x04\x00\x00\x00", 4);
	w.off = 0;
	ck_assert_int_eq(tree_disconnect_req_encode(&w), 0);
	expect_bytes(&w, (const uint8_t *)"\x04\x00\x00\x00", 4);
	w.off = 0;
	ck_assert_int_eq(echo_req_encode(&w), 0);
	expect_bytes(&w, (const uint8_t *)"\x04\x00\x00\x00", 4);
	w.off = 0;
	ck_assert_int_eq(cancel_req_encode(&w), 0);
	expect_bytes(&w, (const uint8_t *)"\x04\x00\x00\x00", 4);
	w = wbuf_init(buf, 3);
	ck_assert_int_eq(echo_req_encode(&w), -EMSGSIZE);
	ck_assert_int_eq(logoff_req_encode(&w), -EMSGSIZE);
	ck_assert_int_eq(tree_disconnect_req_encode(&w), -EMSGSIZE);
	ck_assert_int_eq(cancel_req_encode(&w), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 0);

	all_truncations_fail(lo, logoff_resp_decode, "logoff");
	all_truncations_fail(td, tree_disconnect_resp_decode, "tree disconnect");
	all_truncations_fail(ec, echo_resp_decode, "echo");
	all_truncations_fail(si, set_info_resp_decode, "set info");
	/* Each rejects another command's StructureSize. */
	ck_assert_int_eq(echo_resp_decode(si.p, si.len), -EBADMSG);
	ck_assert_int_eq(set_info_resp_decode(ec.p, ec.len), -EBADMSG);
	free(lo.p);
	free(td.p);
	free(ec.p);
	free(si.p);
}
END_TEST

/* ---- TREE_CONNECT ---- */

static int enc_tree(struct wbuf *w, const void *req)
{
	return tree_connect_req_encode(w, req);
}

START_TEST(tree_encode)
{
	static const uint8_t exp[] = {
		0x09, 0x00, 0x00, 0x00, /* StructureSize 9, Flags */
		0x48, 0x00, 0x18, 0x00, /* PathOffset 72, PathLength 24 */
		/* \\srv\sh<e-acute>re\ in UTF-16LE (the trailing '/' mapped to '\') */
		'\\', 0, '\\', 0, 's', 0, 'r', 0, 'v', 0, '\\', 0,
		's',  0, 'h',  0, 0xe9, 0, 'r', 0, 'e', 0, '\\', 0,
	};
	struct tree_connect_req req = {.path = "\\\\srv\\sh\xc3\xa9re/"};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(tree_connect_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_tree, &req, sizeof(exp));
	req.path = "";
	ck_assert_int_eq(tree_connect_req_encode(&w, &req), -EINVAL);
	req.path = NULL;
	ck_assert_int_eq(tree_connect_req_encode(&w, &req), -EINVAL);
	req.path = "\\\\srv\\share";
	req.flags = SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT;
	ck_assert_int_eq(tree_connect_req_encode(&w, &req), -EINVAL);
	req.flags = SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT;
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(tree_connect_req_encode(&w, &req), 0);
	ck_assert_uint_eq(le16_load(buf + 2), SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT);
	req.path = "\\\\srv\\\xc0\xaf";
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(tree_connect_req_encode(&w, &req), -EILSEQ);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

START_TEST(tree_decode)
{
	struct vec v = vec_load(VEC_TREE_CONNECT);
	struct tree_connect_resp r;

	ck_assert_int_eq(tree_connect_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.share_type, SMB2_SHARE_TYPE_DISK);
	ck_assert_uint_eq(r.share_flags, 0);
	ck_assert_uint_eq(r.capabilities, 0);
	ck_assert_uint_eq(r.maximal_access, 0x001f01ff);
	all_truncations_fail(v, dec_tree, "tree connect");
	v.p[64] = 17;
	ck_assert_int_eq(tree_connect_resp_decode(v.p, v.len, &r), -EBADMSG);
	free(v.p);
}
END_TEST

/* ---- CREATE and create contexts ---- */

static int enc_create(struct wbuf *w, const void *req)
{
	return create_req_encode(w, req);
}

START_TEST(create_encode)
{
	static const uint8_t exp[] = {
		0x39, 0x00,             /* StructureSize 57 */
		0x00,                   /* SecurityFlags */
		0x09,                   /* RequestedOplockLevel: batch */
		0x02, 0x00, 0x00, 0x00, /* ImpersonationLevel */
		0, 0, 0, 0, 0, 0, 0, 0, /* SmbCreateFlags */
		0, 0, 0, 0, 0, 0, 0, 0, /* Reserved */
		0x80, 0x00, 0x12, 0x00, /* DesiredAccess: READ_ATTRIBUTES|READ_CONTROL|SYNCHRONIZE */
		0x80, 0x00, 0x00, 0x00, /* FileAttributes: NORMAL */
		0x07, 0x00, 0x00, 0x00, /* ShareAccess: all */
		0x01, 0x00, 0x00, 0x00, /* CreateDisposition: FILE_OPEN */
		0x40, 0x00, 0x00, 0x00, /* CreateOptions: NON_DIRECTORY */
		0x78, 0x00, 0x0a, 0x00, /* NameOffset 120, NameLength 10 */
		0, 0, 0, 0, 0, 0, 0, 0, /* CreateContextsOffset/Length */
		'd', 0, 'i', 0, 'r', 0, '\\', 0, 'f', 0, 0, 0, 0, 0, 0, 0, /* name + pad to 8 */
	};
	struct create_req req = {
		.requested_oplock_level = SMB2_OPLOCK_LEVEL_BATCH,
		.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION,
		.desired_access = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE,
		.file_attributes = FILE_ATTRIBUTE_NORMAL,
		.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
		.create_disposition = FILE_OPEN,
		.create_options = FILE_NON_DIRECTORY_FILE,
		.name = "/dir/f",
	};
	uint8_t buf[256];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(create_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_create, &req, sizeof(exp));

	/* Share root: NameLength 0, offset still 0x78, 8 zero bytes. */
	req.name = "";
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(create_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 64);
	ck_assert_uint_eq(le16_load(buf + 44), 0x78);
	ck_assert_uint_eq(le16_load(buf + 46), 0);
	req.name = NULL;
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(create_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 64);

	/* Errors leave the buffer untouched. */
	req.name = "bad\xff";
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(create_req_encode(&w, &req), -EILSEQ);
	ck_assert_uint_eq(w.off, 0);
	static char longname[40000];
	memset(longname, 'a', sizeof(longname) - 1);
	req.name = longname;
	uint8_t *big = malloc(100000);
	w = wbuf_init(big, 100000);
	ck_assert_int_eq(create_req_encode(&w, &req), -ENAMETOOLONG);
	ck_assert_uint_eq(w.off, 0);
	free(big);
}
END_TEST

START_TEST(create_contexts_encode)
{
	/* MS-SMB2 2.2.13.2 entries: RqLs v2 (52 bytes), then MxAc (no data). */
	static const uint8_t exp_ctx[] = {
		0x50, 0x00, 0x00, 0x00, /* Next 80 */
		0x10, 0x00, 0x04, 0x00, /* NameOffset 16, NameLength 4 */
		0x00, 0x00, 0x18, 0x00, /* Reserved, DataOffset 24 */
		0x34, 0x00, 0x00, 0x00, /* DataLength 52 */
		'R',  'q',  'L',  's',  0, 0, 0, 0,
		/* SMB2_CREATE_REQUEST_LEASE_V2 */
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae,
		0xaf,                   /* LeaseKey */
		0x07, 0x00, 0x00, 0x00, /* LeaseState RWH */
		0x04, 0x00, 0x00, 0x00, /* Flags: PARENT_LEASE_KEY_SET */
		0, 0, 0, 0, 0, 0, 0, 0, /* LeaseDuration */
		0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe,
		0xbf,                   /* ParentLeaseKey */
		0x03, 0x00, 0x00, 0x00, /* Epoch 3, Reserved */
		0, 0, 0, 0,             /* pad to 8 before the next entry */
		/* 80: MxAc */
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 'M', 'x', 'A', 'c',
	};
	uint8_t key[16], pkey[16], cbuf[256];
	struct wbuf cw = wbuf_init(cbuf, sizeof(cbuf));
	struct cctx_list l;

	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t)(0xa0 + i);
		pkey[i] = (uint8_t)(0xb0 + i);
	}
	cctx_list_init(&l, &cw);
	ck_assert_int_eq(cctx_add_lease_v2(&l, key, 7, pkey, 3), 0);
	ck_assert_int_eq(cctx_add_mxac(&l, 0), 0);
	ck_assert_uint_eq(cctx_list_len(&l), sizeof(exp_ctx));
	ck_assert_mem_eq(cctx_list_data(&l), exp_ctx, sizeof(exp_ctx));

	/* Adding to a full buffer fails cleanly and leaves the list intact. */
	size_t saved_cap = cw.cap;
	cw.cap = cw.off + 10;
	ck_assert_int_eq(cctx_add_qfid(&l), -EMSGSIZE);
	ck_assert_uint_eq(cw.off, sizeof(exp_ctx));
	ck_assert_uint_eq(le32_load(cbuf + 80), 0);
	cw.cap = saved_cap;

	/* CREATE carrying the list: name "f" padded to 8, contexts at 64+56+8 = 128. */
	struct create_req req = {.name = "f", .contexts = cctx_list_data(&l),
				 .contexts_len = cctx_list_len(&l),
				 .requested_oplock_level = SMB2_OPLOCK_LEVEL_LEASE};
	uint8_t buf[512];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(create_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 64 + sizeof(exp_ctx));
	ck_assert_uint_eq(le16_load(buf + 46), 2);
	ck_assert_uint_eq(le32_load(buf + 48), 128);
	ck_assert_uint_eq(le32_load(buf + 52), sizeof(exp_ctx));
	ck_assert_mem_eq(buf + 64, exp_ctx, sizeof(exp_ctx));

	/* Our own iterator reads the list back. */
	struct cctx_iter it;
	struct create_ctx c;
	struct lease_ctx lc;
	cctx_iter_init(&it, cctx_list_data(&l), (uint32_t)cctx_list_len(&l));
	ck_assert_int_eq(cctx_iter_next(&it, &c), 1);
	ck_assert_mem_eq(c.name, "RqLs", 4);
	ck_assert_int_eq(cctx_decode_lease(&c, &lc), 0);
	ck_assert_int_eq(lc.version, 2);
	ck_assert_mem_eq(lc.key, key, 16);
	ck_assert_mem_eq(lc.parent_key, pkey, 16);
	ck_assert_uint_eq(lc.epoch, 3);
	ck_assert_int_eq(cctx_iter_next(&it, &c), 1);
	ck_assert_mem_eq(c.name, "MxAc", 4);
	ck_assert_uint_eq(c.data_len, 0);
	ck_assert_int_eq(cctx_iter_next(&it, &c), 0);
	ck_assert_int_eq(cctx_iter_next(&it, &c), 0);
}
END_TEST

START_TEST(create_contexts_encode_more)
{
	uint8_t cbuf[512], guid[16] = {0xc0, 0xc1}, key[16] = {0xd0};
	struct wbuf cw = wbuf_init(cbuf, sizeof(cbuf));
	struct cctx_list l;
	struct cctx_iter it;
	struct create_ctx c;

	cctx_list_init(&l, &cw);
	ck_assert_int_eq(cctx_add_dh2q(&l, 60000, SMB2_DHANDLE_FLAG_PERSISTENT, guid), 0);
	ck_assert_int_eq(cctx_add_qfid(&l), 0);
	ck_assert_int_eq(cctx_add_mxac(&l, UINT64_C(0x0102030405060708)), 0);
	ck_assert_int_eq(cctx_add_lease_v1(&l, key, SMB2_LEASE_READ_CACHING), 0);
	ck_assert_int_eq(cctx_add_dh2c(&l, &fid, guid, 0), 0);
	ck_assert_int_eq(cctx_add(&l, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(cctx_add(&l, "ab", 2, NULL, 5), -EINVAL);

	/* DH2Q: 16 header + 4 name + 4 pad + 32 data = 56 (aligned). */
	ck_assert_uint_eq(le32_load(cbuf + 0), 56);
	ck_assert_uint_eq(le16_load(cbuf + 10), 24);
	ck_assert_uint_eq(le32_load(cbuf + 12), 32);
	ck_assert_mem_eq(cbuf + 16, "DH2Q", 4);
	ck_assert_uint_eq(le32_load(cbuf + 24), 60000);
	ck_assert_uint_eq(le32_load(cbuf + 28), SMB2_DHANDLE_FLAG_PERSISTENT);
	ck_assert_mem_eq(cbuf + 40, guid, 16);
	/* QFid at 56: 20 bytes, next entry at 56 + 24. */
	ck_assert_uint_eq(le32_load(cbuf + 56), 24);
	ck_assert_uint_eq(le16_load(cbuf + 56 + 10), 0);
	ck_assert_mem_eq(cbuf + 56 + 16, "QFid", 4);
	/* MxAc with timestamp at 80: 8 data bytes at 24. */
	ck_assert_uint_eq(le32_load(cbuf + 80), 32);
	ck_assert_uint_eq(le16_load(cbuf + 80 + 10), 24);
	ck_assert_uint_eq(le64_load(cbuf + 80 + 24), UINT64_C(0x0102030405060708));
	/* Lease v1 at 112: 32 data bytes. */
	ck_assert_uint_eq(le32_load(cbuf + 112 + 12), 32);
	ck_assert_uint_eq(le32_load(cbuf + 112 + 24 + 16), SMB2_LEASE_READ_CACHING);

	static const char *names[] = {"DH2Q", "QFid", "MxAc", "RqLs", "DH2C"};
	static const uint32_t lens[] = {32, 0, 8, 32, 36};
	cctx_iter_init(&it, cbuf, (uint32_t)cw.off);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(cctx_iter_next(&it, &c), 1);
		ck_assert_mem_eq(c.name, names[i], 4);
		ck_assert_uint_eq(c.data_len, lens[i]);
		ck_assert_uint_eq((uintptr_t)(c.name - cbuf) % 8, 0);
	}
	ck_assert_int_eq(cctx_iter_next(&it, &c), 0);
	ck_assert_int_eq(cctx_find(cbuf, (uint32_t)cw.off, "DH2C", 4, &c), 1);
	ck_assert_mem_eq(c.data, fid_bytes, 16);
	/* DH2C (2.2.13.2.12): FileId(16) CreateGuid(16) Flags(4) */
	ck_assert_mem_eq(c.data + 16, guid, 16);
	ck_assert_uint_eq(le32_load(c.data + 32), 0);
	/* DH2Q (2.2.13.2.11): Timeout(4) Flags(4) Reserved(8) = 0 CreateGuid(16) */
	ck_assert_int_eq(cctx_find(cbuf, (uint32_t)cw.off, "DH2Q", 4, &c), 1);
	ck_assert_uint_eq(le64_load(c.data + 8), 0);
	ck_assert_mem_eq(c.data + 16, guid, 16);
	ck_assert_int_eq(cctx_find(cbuf, (uint32_t)cw.off, "ExtA", 4, &c), 0);
}
END_TEST

START_TEST(create_decode)
{
	struct vec v = vec_load(VEC_CREATE_CTX);
	struct create_resp r;
	struct cctx_iter it;
	struct create_ctx c;
	struct lease_ctx lc;
	uint32_t a, b;
	uint64_t x, y;
	int n = 0;

	ck_assert_int_eq(create_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.oplock_level, SMB2_OPLOCK_LEVEL_LEASE);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.create_action, FILE_CREATED);
	ck_assert_uint_eq(r.creation_time, UINT64_C(134400518454691073));
	ck_assert_uint_eq(r.last_access_time, UINT64_C(134400518454691073));
	ck_assert_uint_eq(r.last_write_time, UINT64_C(134400518454691073));
	ck_assert_uint_eq(r.change_time, UINT64_C(134400518454691073));
	ck_assert_uint_eq(r.allocation_size, 0);
	ck_assert_uint_eq(r.end_of_file, 0);
	ck_assert_uint_eq(r.file_attributes, FILE_ATTRIBUTE_ARCHIVE);
	ck_assert_uint_eq(r.file_id.persistent, 2316478304u);
	ck_assert_uint_eq(r.file_id.volatile_, 3876151136u);
	ck_assert_ptr_eq(r.contexts, v.p + 152);
	ck_assert_uint_eq(r.contexts_len, 196);

	cctx_iter_init(&it, r.contexts, r.contexts_len);
	while (cctx_iter_next(&it, &c) == 1) {
		n++;
		ck_assert_uint_eq(c.name_len, 4);
		if (!memcmp(c.name, "MxAc", 4)) {
			ck_assert_int_eq(cctx_decode_mxac(&c, &a, &b), 0);
			ck_assert_uint_eq(a, STATUS_SUCCESS);
			ck_assert_uint_eq(b, 0x001f01ff);
		} else if (!memcmp(c.name, "DH2Q", 4)) {
			ck_assert_int_eq(cctx_decode_dh2q(&c, &a, &b), 0);
			ck_assert_uint_eq(a, 60000);
			ck_assert_uint_eq(b, 0);
		} else if (!memcmp(c.name, "QFid", 4)) {
			ck_assert_int_eq(cctx_decode_qfid(&c, &x, &y), 0);
			ck_assert_uint_eq(x, 0xa722c2);
			ck_assert_uint_eq(y, 0xfe00);
		} else if (!memcmp(c.name, "RqLs", 4)) {
			ck_assert_int_eq(cctx_decode_lease(&c, &lc), 0);
			ck_assert_int_eq(lc.version, 2);
			ck_assert_uint_eq(lc.key[0], 0xaa);
			ck_assert_uint_eq(lc.state, 7);
			ck_assert_uint_eq(lc.epoch, 1);
		} else {
			ck_abort_msg("unexpected context");
		}
	}
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(cctx_find(r.contexts, r.contexts_len, "RqLs", 4, &c), 1);
	all_truncations_fail(v, dec_create, "create");

	/* Context decoders reject short data. */
	c.data_len = 31;
	ck_assert_int_eq(cctx_decode_lease(&c, &lc), -EBADMSG);
	c.data_len = 51;
	ck_assert_int_eq(cctx_decode_lease(&c, &lc), -EBADMSG);
	c.data_len = 7;
	ck_assert_int_eq(cctx_decode_mxac(&c, &a, &b), -EBADMSG);
	ck_assert_int_eq(cctx_decode_dh2q(&c, &a, &b), -EBADMSG);
	c.data_len = 15;
	ck_assert_int_eq(cctx_decode_qfid(&c, &x, &y), -EBADMSG);

	/* A directory open without contexts. */
	struct vec dv = vec_load(VEC_CREATE_DIR);
	ck_assert_int_eq(create_resp_decode(dv.p, dv.len, &r), 0);
	ck_assert_uint_eq(r.create_action, FILE_OPENED);
	ck_assert_uint_eq(r.file_attributes, FILE_ATTRIBUTE_DIRECTORY);
	ck_assert_ptr_null(r.contexts);
	ck_assert_uint_eq(r.contexts_len, 0);
	all_truncations_fail(dv, dec_create, "create dir");
	free(dv.p);
	free(v.p);
}
END_TEST

enum { CREATE_CTXOFF = 64 + 80, CREATE_CTXLEN = 64 + 84 };

START_TEST(create_decode_corrupt)
{
	struct vec v = vec_load(VEC_CREATE_CTX), d;
	struct create_resp r;
	struct cctx_iter it;
	struct create_ctx c;
	int rc;

	static const struct {
		size_t at;
		uint32_t val;
	} bad[] = {
		{CREATE_CTXOFF, 0},        {CREATE_CTXOFF, 64 + 87}, {CREATE_CTXOFF, 160},
		{CREATE_CTXOFF, 0xffffffffu}, {CREATE_CTXLEN, 197},  {CREATE_CTXLEN, 0xffffffffu},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(create_resp_decode(d.p, d.len, &r) == -EBADMSG, "case %zu", i);
		free(d.p);
	}

	/* Malformed entries inside the (valid) context list at 152. */
	static const struct {
		size_t at; /* relative to the first entry */
		int width;
		uint32_t val;
		const char *why;
	} ebad[] = {
		{0, 4, 12, "Next not 8-aligned"},
		{0, 4, 8, "Next smaller than the entry header"},
		{0, 4, 200, "Next past the end"},
		{4, 2, 8, "name inside the header"},
		{6, 2, 0, "empty name"},
		{6, 2, 0xffff, "name past the entry"},
		{10, 2, 12, "data inside the header"},
		{12, 4, 0x7fffffff, "data past the entry"},
	};
	ck_assert_int_eq(create_resp_decode(v.p, v.len, &r), 0);
	for (size_t i = 0; i < sizeof(ebad) / sizeof(ebad[0]); i++) {
		d = vec_dup(v);
		uint8_t *e = d.p + 152 + ebad[i].at;
		if (ebad[i].width == 2)
			le16_store(e, (uint16_t)ebad[i].val);
		else
			le32_store(e, ebad[i].val);
		ck_assert_int_eq(create_resp_decode(d.p, d.len, &r), 0);
		cctx_iter_init(&it, r.contexts, r.contexts_len);
		while ((rc = cctx_iter_next(&it, &c)) == 1)
			;
		ck_assert_msg(rc == -EBADMSG, "%s", ebad[i].why);
		ck_assert_int_eq(cctx_iter_next(&it, &c), -EBADMSG); /* sticky */
		ck_assert_int_eq(cctx_find(r.contexts, r.contexts_len, "zzzz", 4, &c), -EBADMSG);
		free(d.p);
	}
	/* Every truncation of the context list fails the walk. */
	ck_assert_int_eq(create_resp_decode(v.p, v.len, &r), 0);
	for (uint32_t n = 1; n < r.contexts_len; n++) {
		uint8_t *cpy = prefix(r.contexts, n);
		cctx_iter_init(&it, cpy, n);
		while ((rc = cctx_iter_next(&it, &c)) == 1)
			;
		free(cpy);
		ck_assert_msg(rc == -EBADMSG, "context list truncated to %u", n);
	}
	cctx_iter_init(&it, NULL, 0);
	ck_assert_int_eq(cctx_iter_next(&it, &c), 0);
	free(v.p);
}
END_TEST

/* ---- CLOSE ---- */

static int enc_close(struct wbuf *w, const void *req)
{
	return close_req_encode(w, req);
}

START_TEST(close_encode_decode)
{
	static const uint8_t exp[] = {0x18, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, FID_BYTES};
	struct close_req req = {.flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, .file_id = fid};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct vec v = vec_load(VEC_CLOSE_POSTQUERY);
	struct close_resp r;

	ck_assert_int_eq(close_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_close, &req, sizeof(exp));

	ck_assert_int_eq(close_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.flags, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
	ck_assert_uint_eq(r.creation_time, UINT64_C(134400518454691073));
	ck_assert_uint_eq(r.last_access_time, UINT64_C(134400518454693397));
	ck_assert_uint_eq(r.last_write_time, UINT64_C(132000000000000000));
	ck_assert_uint_eq(r.change_time, UINT64_C(132000000000000000));
	ck_assert_uint_eq(r.allocation_size, 4096);
	ck_assert_uint_eq(r.end_of_file, 20);
	ck_assert_uint_eq(r.file_attributes, FILE_ATTRIBUTE_ARCHIVE);
	all_truncations_fail(v, dec_close, "close");
	free(v.p);
}
END_TEST

/* ---- READ / WRITE ---- */

static int enc_read(struct wbuf *w, const void *req)
{
	return read_req_encode(w, req);
}
static int enc_write(struct wbuf *w, const void *req)
{
	return write_req_encode(w, req);
}
static int enc_write_hdr(struct wbuf *w, const void *req)
{
	return write_req_encode_hdr(w, req);
}

START_TEST(read_encode)
{
	static const uint8_t exp[] = {
		0x31, 0x00,             /* StructureSize 49 */
		0x50,                   /* Padding: data at 0x50 */
		0x00,                   /* Flags */
		0x00, 0x00, 0x01, 0x00, /* Length 65536 */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* Offset */
		FID_BYTES,
		0x01, 0x00, 0x00, 0x00, /* MinimumCount */
		0x00, 0x00, 0x00, 0x00, /* Channel */
		0x00, 0x00, 0x02, 0x00, /* RemainingBytes */
		0x00, 0x00, 0x00, 0x00, /* ReadChannelInfoOffset/Length */
		0x00,                   /* Buffer */
	};
	struct read_req req = {.length = 65536,
			       .offset = UINT64_C(0x0102030405060708),
			       .file_id = fid,
			       .minimum_count = 1,
			       .remaining_bytes = 131072};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(read_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_read, &req, sizeof(exp));
}
END_TEST

START_TEST(read_decode)
{
	struct vec v = vec_load(VEC_READ), d;
	struct read_resp r;

	ck_assert_int_eq(read_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.data_offset, SMB2_READ_DATA_OFFSET);
	ck_assert_uint_eq(r.data_len, 28);
	ck_assert_uint_eq(r.data_remaining, 0);
	ck_assert_ptr_eq(r.data, v.p + 0x50);
	ck_assert_mem_eq(r.data, "456789abcdef0123456789abcdef", 28);
	all_truncations_fail(v, dec_read, "read");

	static const struct {
		size_t at;
		int width;
		uint32_t val;
	} bad[] = {
		{66, 1, 0},    {66, 1, 64},        {66, 1, 0x4f}, /* inside header / fixed body */
		{66, 1, 0x51}, {66, 1, 0xff},                      /* data overhangs the end */
		{68, 4, 29},   {68, 4, 0xffffffffu}, {68, 4, 0xffffffb0u},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		if (bad[i].width == 1)
			d.p[bad[i].at] = (uint8_t)bad[i].val;
		else
			le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(read_resp_decode(d.p, d.len, &r) == -EBADMSG, "case %zu", i);
		free(d.p);
	}
	/* A zero-length read ignores DataOffset. */
	d = vec_dup(v);
	le32_store(d.p + 68, 0);
	d.p[66] = 0;
	ck_assert_int_eq(read_resp_decode(d.p, 80, &r), 0);
	ck_assert_ptr_null(r.data);
	ck_assert_uint_eq(r.data_len, 0);
	free(d.p);
	free(v.p);
}
END_TEST

START_TEST(write_encode_decode)
{
	static const uint8_t exp[] = {
		0x31, 0x00,             /* StructureSize 49 */
		0x70, 0x00,             /* DataOffset 0x70 */
		0x05, 0x00, 0x00, 0x00, /* Length */
		0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* Offset 4096 */
		FID_BYTES,
		0x00, 0x00, 0x00, 0x00, /* Channel */
		0x00, 0x00, 0x00, 0x00, /* RemainingBytes */
		0x00, 0x00, 0x00, 0x00, /* WriteChannelInfoOffset/Length */
		0x01, 0x00, 0x00, 0x00, /* Flags: WRITE_THROUGH */
		'h',  'e',  'l',  'l',  'o',
	};
	struct write_req req = {.length = 5,
				.offset = 4096,
				.file_id = fid,
				.flags = SMB2_WRITEFLAG_WRITE_THROUGH,
				.data = (const uint8_t *)"hello"};
	uint8_t buf[128];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct vec v = vec_load(VEC_WRITE);
	struct write_resp r;

	ck_assert_int_eq(write_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_write, &req, sizeof(exp));
	/* Header only: the same 48 bytes, data left to the caller. */
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(write_req_encode_hdr(&w, &req), 0);
	expect_bytes(&w, exp, SMB2_WRITE_REQ_HDR_LEN);
	encode_caps_fail(enc_write_hdr, &req, SMB2_WRITE_REQ_HDR_LEN);
	/* Empty writes: one pad byte with the copying encoder, refused by _hdr. */
	req.length = 0;
	req.data = NULL;
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(write_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 49);
	ck_assert_int_eq(write_req_encode_hdr(&w, &req), -EINVAL);
	req.length = 5;
	ck_assert_int_eq(write_req_encode(&w, &req), -EINVAL);

	ck_assert_int_eq(write_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.count, 16);
	ck_assert_uint_eq(r.remaining, 0);
	all_truncations_fail(v, dec_write, "write");
	free(v.p);
}
END_TEST

/* ---- QUERY_DIRECTORY and the directory iterator ---- */

static int enc_querydir(struct wbuf *w, const void *req)
{
	return query_dir_req_encode(w, req);
}

START_TEST(querydir_encode)
{
	static const uint8_t exp[] = {
		0x21, 0x00,             /* StructureSize 33 */
		0x25,                   /* FileIdBothDirectoryInformation */
		0x01,                   /* Flags: RESTART_SCANS */
		0x00, 0x00, 0x00, 0x00, /* FileIndex */
		FID_BYTES,
		0x60, 0x00, 0x02, 0x00, /* FileNameOffset 96, Length 2 */
		0x00, 0x00, 0x01, 0x00, /* OutputBufferLength 65536 */
		'*',  0x00,
	};
	struct query_dir_req req = {.info_class = FileIdBothDirectoryInformation,
				    .flags = SMB2_RESTART_SCANS,
				    .file_id = fid,
				    .output_buffer_length = 65536};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(query_dir_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_querydir, &req, sizeof(exp));
	/* An explicit pattern; '/' is not mapped inside a pattern. */
	req.pattern = "a?\xc3\xa9";
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(query_dir_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 32 + 6);
	ck_assert_mem_eq(buf + 32, "a\0?\0\xe9\0", 6);
	req.pattern = "\xc3";
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(query_dir_req_encode(&w, &req), -EILSEQ);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

/* Walk an output buffer; return the number of entries and check names. */
static int walk_dir(uint8_t cls, const uint8_t *buf, uint32_t len, const char *const *names,
		    int n, struct fscc_dirent *last_file)
{
	struct fscc_dir_iter it;
	struct fscc_dirent de;
	int count = 0, rc;

	ck_assert_int_eq(fscc_dir_iter_init(&it, cls, buf, len), 0);
	while ((rc = fscc_dir_iter_next(&it, &de)) == 1) {
		char s[256];
		size_t sl;
		ck_assert_int_lt(count, n);
		ck_assert_int_eq(utf16le_to_utf8(de.name16, de.name16_len, s, sizeof(s), &sl), 0);
		ck_assert_str_eq(s, names[count]);
		if (last_file && !strcmp(s, "renamed.txt"))
			*last_file = de;
		count++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(fscc_dir_iter_next(&it, &de), 0);
	return count;
}

START_TEST(querydir_decode_classes)
{
	static const char *const sub[] = {".", "..", "renamed.txt", "a"};
	static const struct {
		const char *hex;
		uint8_t cls;
		int has_id, has_times;
	} cases[] = {
		{VEC_QD_IDBOTH, FileIdBothDirectoryInformation, 1, 1},
		{VEC_QD_IDFULL, FileIdFullDirectoryInformation, 1, 1},
		{VEC_QD_DIR, FileDirectoryInformation, 0, 1},
		{VEC_QD_FULL, FileFullDirectoryInformation, 0, 1},
		{VEC_QD_BOTH, FileBothDirectoryInformation, 0, 1},
		{VEC_QD_NAMES, FileNamesInformation, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vec v = vec_load(cases[i].hex);
		struct query_dir_resp r;
		struct fscc_dirent f;

		memset(&f, 0, sizeof(f));
		ck_assert_int_eq(query_dir_resp_decode(v.p, v.len, &r), 0);
		ck_assert_ptr_eq(r.buffer, v.p + 72);
		ck_assert_uint_eq(r.buffer_len, v.len - 72);
		ck_assert_int_eq(walk_dir(cases[i].cls, r.buffer, r.buffer_len, sub, 4, &f), 4);
		if (cases[i].has_times) {
			ck_assert_uint_eq(f.end_of_file, 20);
			ck_assert_uint_eq(f.allocation_size, 4096);
			ck_assert_uint_eq(f.attributes, FILE_ATTRIBUTE_ARCHIVE);
			ck_assert_uint_eq(f.last_write, UINT64_C(132000000000000000));
		}
		ck_assert_uint_eq(f.file_index_id, cases[i].has_id ? 0xa722c2 : 0);
		all_truncations_fail(v, dec_querydir, "query directory");

		/* Every truncation of the entry buffer fails the walk. */
		for (uint32_t n = 1; n < r.buffer_len; n++) {
			uint8_t *c = prefix(r.buffer, n);
			struct fscc_dir_iter it;
			struct fscc_dirent de;
			int rc;
			ck_assert_int_eq(fscc_dir_iter_init(&it, cases[i].cls, c, n), 0);
			while ((rc = fscc_dir_iter_next(&it, &de)) == 1)
				;
			free(c);
			ck_assert_msg(rc == -EBADMSG, "class %u truncated to %u", cases[i].cls, n);
		}
		free(v.p);
	}
}
END_TEST

START_TEST(querydir_decode_corrupt)
{
	struct vec v = vec_load(VEC_QD_IDBOTH), d;
	struct query_dir_resp r;
	struct fscc_dir_iter it;
	struct fscc_dirent de;
	int rc;

	/* Response-level: OutputBufferOffset/Length. */
	static const struct {
		size_t at;
		int width;
		uint32_t val;
	} bad[] = {
		{66, 2, 0}, {66, 2, 71}, {66, 2, 73}, {66, 2, 0xffff}, {68, 4, 459}, {68, 4, 0xffffffffu},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		if (bad[i].width == 2)
			le16_store(d.p + bad[i].at, (uint16_t)bad[i].val);
		else
			le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(query_dir_resp_decode(d.p, d.len, &r) == -EBADMSG, "case %zu", i);
		free(d.p);
	}
	/* Empty buffer (offset ignored) yields no entries. */
	d = vec_dup(v);
	le32_store(d.p + 68, 0);
	ck_assert_int_eq(query_dir_resp_decode(d.p, d.len, &r), 0);
	ck_assert_ptr_null(r.buffer);
	ck_assert_int_eq(fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, r.buffer, 0), 0);
	ck_assert_int_eq(fscc_dir_iter_next(&it, &de), 0);
	free(d.p);

	/* Entry-level corruption in the first entry (at 72). */
	ck_assert_int_eq(query_dir_resp_decode(v.p, v.len, &r), 0);
	uint32_t first = le32_load(r.buffer);
	static const struct {
		size_t at;
		uint32_t val;
		const char *why;
	} ebad[] = {
		{0, 8, "NextEntryOffset inside the fixed part"},
		{0, 104, "NextEntryOffset cuts the name"},
		{0, 0x10000, "NextEntryOffset past the end"},
		{0, 0xffffffffu, "NextEntryOffset huge"},
		{60, 3, "odd name length"},
		{60, 0x1000, "name past the entry"},
		{60, 0xfffffffeu, "name length huge"},
	};
	for (size_t i = 0; i < sizeof(ebad) / sizeof(ebad[0]); i++) {
		d = vec_dup(v);
		le32_store(d.p + 72 + ebad[i].at, ebad[i].val);
		ck_assert_int_eq(query_dir_resp_decode(d.p, d.len, &r), 0);
		ck_assert_int_eq(fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, r.buffer,
						    r.buffer_len),
				 0);
		while ((rc = fscc_dir_iter_next(&it, &de)) == 1)
			;
		ck_assert_msg(rc == -EBADMSG, "%s", ebad[i].why);
		ck_assert_int_eq(fscc_dir_iter_next(&it, &de), -EBADMSG);
		free(d.p);
	}
	/* Last entry's NextEntryOffset pointing exactly at the end: missing entry. */
	d = vec_dup(v);
	ck_assert_int_eq(query_dir_resp_decode(d.p, d.len, &r), 0);
	{
		uint32_t off = 0, next;
		while ((next = le32_load(r.buffer + off)) != 0)
			off += next;
		le32_store((uint8_t *)r.buffer + off, r.buffer_len - off);
		ck_assert_int_eq(fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, r.buffer,
						    r.buffer_len),
				 0);
		while ((rc = fscc_dir_iter_next(&it, &de)) == 1)
			;
		ck_assert_int_eq(rc, -EBADMSG);
	}
	free(d.p);
	/* Unsupported class. */
	ck_assert_int_eq(fscc_dir_iter_init(&it, FileAllInformation, v.p, 8), -EINVAL);
	ck_assert_uint_eq(first % 8, 0);
	free(v.p);
}
END_TEST

/* Hand-built FileIdBothDirectoryInformation with unaligned NextEntryOffset (tolerated). */
START_TEST(querydir_unaligned_tolerated)
{
	uint8_t b[256];
	struct fscc_dir_iter it;
	struct fscc_dirent de;

	memset(b, 0, sizeof(b));
	/* Entry 0: name "x" (2 bytes), next = 106 (not 8-aligned). */
	le32_store(b + 0, 106);
	le64_store(b + 40, 5);
	le32_store(b + 60, 2);
	le64_store(b + 96, 77);
	b[104] = 'x';
	/* Entry 1 at 106: name "yz", last. */
	le32_store(b + 106 + 0, 0);
	le32_store(b + 106 + 60, 4);
	memcpy(b + 106 + 104, "y\0z\0", 4);
	ck_assert_int_eq(fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, b, 106 + 108), 0);
	ck_assert_int_eq(fscc_dir_iter_next(&it, &de), 1);
	ck_assert_uint_eq(de.end_of_file, 5);
	ck_assert_uint_eq(de.file_index_id, 77);
	ck_assert_uint_eq(de.name16_len, 2);
	ck_assert_int_eq(fscc_dir_iter_next(&it, &de), 1);
	ck_assert_uint_eq(de.name16_len, 4);
	ck_assert_mem_eq(de.name16, "y\0z\0", 4);
	ck_assert_int_eq(fscc_dir_iter_next(&it, &de), 0);
}
END_TEST

/* ---- QUERY_INFO / SET_INFO and FSCC decoders ---- */

static int enc_query_info(struct wbuf *w, const void *req)
{
	return query_info_req_encode(w, req);
}
static int enc_set_info(struct wbuf *w, const void *req)
{
	return set_info_req_encode(w, req);
}

START_TEST(query_info_encode)
{
	static const uint8_t exp[] = {
		0x29, 0x00,             /* StructureSize 41 */
		0x01, 0x12,             /* SMB2_0_INFO_FILE, FileAllInformation */
		0x00, 0x10, 0x00, 0x00, /* OutputBufferLength 4096 */
		0x00, 0x00, 0x00, 0x00, /* InputBufferOffset 0, Reserved */
		0x00, 0x00, 0x00, 0x00, /* InputBufferLength */
		0x00, 0x00, 0x00, 0x00, /* AdditionalInformation */
		0x00, 0x00, 0x00, 0x00, /* Flags */
		FID_BYTES,
		0x00, /* Buffer: one byte */
	};
	struct query_info_req req = {.info_type = SMB2_0_INFO_FILE,
				     .info_class = FileAllInformation,
				     .output_buffer_length = 4096,
				     .file_id = fid};
	uint8_t buf[128];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(query_info_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_query_info, &req, sizeof(exp));
	/* With an input buffer: offset 0x68. */
	req.input = (const uint8_t *)"abcd";
	req.input_len = 4;
	req.info_type = SMB2_0_INFO_SECURITY;
	req.additional_info = DACL_SECURITY_INFORMATION;
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(query_info_req_encode(&w, &req), 0);
	ck_assert_uint_eq(w.off, 44);
	ck_assert_uint_eq(le16_load(buf + 8), 0x68);
	ck_assert_uint_eq(le32_load(buf + 12), 4);
	ck_assert_uint_eq(le32_load(buf + 16), DACL_SECURITY_INFORMATION);
	ck_assert_mem_eq(buf + 40, "abcd", 4);
}
END_TEST

START_TEST(set_info_encode)
{
	static const uint8_t exp[] = {
		0x21, 0x00,             /* StructureSize 33 */
		0x01, 0x14,             /* SMB2_0_INFO_FILE, FileEndOfFileInformation */
		0x08, 0x00, 0x00, 0x00, /* BufferLength 8 */
		0x60, 0x00, 0x00, 0x00, /* BufferOffset 96, Reserved */
		0x00, 0x00, 0x00, 0x00, /* AdditionalInformation */
		FID_BYTES,
		0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, /* EndOfFile 1 MiB */
	};
	uint8_t ib[8], buf[128];
	struct wbuf iw = wbuf_init(ib, sizeof(ib)), w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(fscc_u64_encode(&iw, 1 << 20), 0);
	struct set_info_req req = {.info_type = SMB2_0_INFO_FILE,
				   .info_class = FileEndOfFileInformation,
				   .file_id = fid,
				   .buffer = ib,
				   .buffer_len = 8};
	ck_assert_int_eq(set_info_req_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_set_info, &req, sizeof(exp));
	req.buffer_len = 0;
	ck_assert_int_eq(set_info_req_encode(&w, &req), -EINVAL);
}
END_TEST

START_TEST(fscc_encoders)
{
	uint8_t b[128];
	struct wbuf w = wbuf_init(b, sizeof(b));
	struct fscc_basic_info bi = {.creation = 1, .last_access = 2, .last_write = 3, .change = 4,
				     .attributes = FILE_ATTRIBUTE_HIDDEN};
	static const uint8_t exp_basic[40] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0,
					      0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0,
					      0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};

	ck_assert_int_eq(fscc_basic_encode(&w, &bi), 0);
	expect_bytes(&w, exp_basic, sizeof(exp_basic));
	w = wbuf_init(b, 39);
	ck_assert_int_eq(fscc_basic_encode(&w, &bi), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 0);

	w = wbuf_init(b, sizeof(b));
	ck_assert_int_eq(fscc_disposition_encode(&w, 7), 0);
	expect_bytes(&w, (const uint8_t *)"\x01", 1);

	/* MS-FSCC 2.4.42.2: ReplaceIfExists, Reserved(7), RootDirectory(8), Length, Name. */
	static const uint8_t exp_ren[] = {
		0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x00, 0x00, 0x00,
		'd',  0, '\\', 0, 'n', 0, 'e', 0, 'w', 0,
	};
	w = wbuf_init(b, sizeof(b));
	ck_assert_int_eq(fscc_rename_encode(&w, 1, "/d/new"), 0);
	expect_bytes(&w, exp_ren, sizeof(exp_ren));
	/* A one-character target is padded to the 24-byte minimum. */
	w = wbuf_init(b, sizeof(b));
	ck_assert_int_eq(fscc_rename_encode(&w, 0, "x"), 0);
	ck_assert_uint_eq(w.off, 24);
	ck_assert_uint_eq(le32_load(b + 16), 2);
	w = wbuf_init(b, sizeof(b));
	ck_assert_int_eq(fscc_rename_encode(&w, 0, "\xed\xa0\x80"), -EILSEQ);
	ck_assert_uint_eq(w.off, 0);
	w = wbuf_init(b, 25);
	ck_assert_int_eq(fscc_rename_encode(&w, 0, "abc"), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

/* Decode a QUERY_INFO vector and return its buffer (view into v). */
static void qi_buffer(struct vec v, const uint8_t **buf, uint32_t *len)
{
	struct query_info_resp r;
	ck_assert_int_eq(query_info_resp_decode(v.p, v.len, &r), 0);
	ck_assert_ptr_eq(r.buffer, v.p + 72);
	*buf = r.buffer;
	*len = r.buffer_len;
	all_truncations_fail(v, dec_query_info, "query info");
}

/* Every short prefix of an info buffer below min is -EBADMSG. */
#define SHORT_PREFIXES_FAIL(buf, min, call)                                                        \
	do {                                                                                       \
		for (uint32_t n_ = 0; n_ < (min); n_++) {                                          \
			uint8_t *c_ = prefix((buf), n_);                                           \
			int rc_;                                                                   \
			{                                                                          \
				const uint8_t *B = c_;                                             \
				uint32_t L = n_;                                                   \
				rc_ = (call);                                                      \
			}                                                                          \
			free(c_);                                                                  \
			ck_assert_msg(rc_ == -EBADMSG, "prefix %u", n_);                           \
		}                                                                                  \
	} while (0)

START_TEST(fscc_decode_all)
{
	struct vec v = vec_load(VEC_QI_ALL);
	const uint8_t *b;
	uint32_t len;
	struct fscc_all_info a;
	char name[128];
	size_t nl;

	qi_buffer(v, &b, &len);
	ck_assert_uint_eq(len, 138);
	ck_assert_int_eq(fscc_all_decode(b, len, &a), 0);
	ck_assert_uint_eq(a.basic.creation, UINT64_C(134400518454691073));
	ck_assert_uint_eq(a.basic.attributes, FILE_ATTRIBUTE_ARCHIVE);
	ck_assert_uint_eq(a.standard.allocation_size, 4096);
	ck_assert_uint_eq(a.standard.end_of_file, 32);
	ck_assert_uint_eq(a.standard.number_of_links, 1);
	ck_assert_uint_eq(a.standard.delete_pending, 0);
	ck_assert_uint_eq(a.standard.directory, 0);
	ck_assert_uint_eq(a.index_number, 0xa722c2);
	ck_assert_uint_eq(a.access_flags, 0x0013019f);
	ck_assert_uint_eq(a.current_byte_offset, 32);
	ck_assert_int_eq(a.name_truncated, 0);
	ck_assert_int_eq(utf16le_to_utf8(a.name16, a.name16_len, name, sizeof(name), &nl), 0);
	ck_assert_str_eq(name, "\\subdir\\new \xc3\xa9\xf0\x9f\x98\x80.txt");
	SHORT_PREFIXES_FAIL(b, FSCC_ALL_INFO_MIN, fscc_all_decode(B, L, &a));
	/* A cut name (BUFFER_OVERFLOW) is reported, not rejected. */
	ck_assert_int_eq(fscc_all_decode(b, 105, &a), 0);
	ck_assert_int_eq(a.name_truncated, 1);
	ck_assert_uint_eq(a.name16_len, 4);
	ck_assert_int_eq(fscc_all_decode(b, 100, &a), 0);
	ck_assert_ptr_null(a.name16);
	free(v.p);
}
END_TEST

START_TEST(fscc_decode_others)
{
	const uint8_t *b;
	uint32_t len;
	struct vec v;

	v = vec_load(VEC_QI_NETOPEN);
	qi_buffer(v, &b, &len);
	struct fscc_network_open_info no;
	ck_assert_int_eq(fscc_network_open_decode(b, len, &no), 0);
	ck_assert_uint_eq(no.creation, UINT64_C(134400518454691073));
	ck_assert_uint_eq(no.allocation_size, 4096);
	ck_assert_uint_eq(no.end_of_file, 32);
	ck_assert_uint_eq(no.attributes, FILE_ATTRIBUTE_ARCHIVE);
	SHORT_PREFIXES_FAIL(b, FSCC_NETWORK_OPEN_INFO_SIZE, fscc_network_open_decode(B, L, &no));
	free(v.p);

	v = vec_load(VEC_QI_INTERNAL);
	qi_buffer(v, &b, &len);
	uint64_t idx;
	ck_assert_int_eq(fscc_internal_decode(b, len, &idx), 0);
	ck_assert_uint_eq(idx, 0xa722c2);
	SHORT_PREFIXES_FAIL(b, 8, fscc_internal_decode(B, L, &idx));
	free(v.p);

	v = vec_load(VEC_QI_BASIC);
	qi_buffer(v, &b, &len);
	struct fscc_basic_info bi;
	ck_assert_int_eq(fscc_basic_decode(b, len, &bi), 0);
	ck_assert_uint_eq(bi.attributes, FILE_ATTRIBUTE_ARCHIVE);
	ck_assert_uint_eq(bi.last_write, UINT64_C(134400518454691073));
	SHORT_PREFIXES_FAIL(b, FSCC_BASIC_INFO_SIZE, fscc_basic_decode(B, L, &bi));
	free(v.p);

	v = vec_load(VEC_QI_STANDARD);
	qi_buffer(v, &b, &len);
	struct fscc_standard_info si;
	ck_assert_int_eq(fscc_standard_decode(b, len, &si), 0);
	ck_assert_uint_eq(si.end_of_file, 32);
	ck_assert_uint_eq(si.allocation_size, 4096);
	ck_assert_uint_eq(si.number_of_links, 1);
	SHORT_PREFIXES_FAIL(b, FSCC_STANDARD_INFO_SIZE, fscc_standard_decode(B, L, &si));
	free(v.p);

	v = vec_load(VEC_QI_FSFULL);
	qi_buffer(v, &b, &len);
	struct fscc_fs_full_size_info fs;
	ck_assert_int_eq(fscc_fs_full_size_decode(b, len, &fs), 0);
	ck_assert_uint_eq(fs.total_allocation_units, 264212084);
	ck_assert_uint_eq(fs.caller_available_allocation_units, 83401972);
	ck_assert_uint_eq(fs.actual_available_allocation_units, 83401972);
	ck_assert_uint_eq(fs.sectors_per_allocation_unit, 2);
	ck_assert_uint_eq(fs.bytes_per_sector, 512);
	SHORT_PREFIXES_FAIL(b, FSCC_FS_FULL_SIZE_INFO_SIZE, fscc_fs_full_size_decode(B, L, &fs));
	free(v.p);

	v = vec_load(VEC_QI_FSSIZE);
	qi_buffer(v, &b, &len);
	struct fscc_fs_size_info fz;
	ck_assert_int_eq(fscc_fs_size_decode(b, len, &fz), 0);
	ck_assert_uint_eq(fz.total_allocation_units, 264212084);
	ck_assert_uint_eq(fz.available_allocation_units, 83401972);
	ck_assert_uint_eq(fz.bytes_per_sector, 512);
	SHORT_PREFIXES_FAIL(b, FSCC_FS_SIZE_INFO_SIZE, fscc_fs_size_decode(B, L, &fz));
	free(v.p);

	v = vec_load(VEC_QI_FSATTR);
	qi_buffer(v, &b, &len);
	struct fscc_fs_attribute_info fa;
	ck_assert_int_eq(fscc_fs_attribute_decode(b, len, &fa), 0);
	ck_assert_uint_eq(fa.attributes, 0x1006f);
	ck_assert_int_eq(fa.max_component_name_length, 255);
	ck_assert_uint_eq(fa.fs_name16_len, 8);
	ck_assert_mem_eq(fa.fs_name16, "N\0T\0F\0S\0", 8);
	/* Here the name is part of the structure: every short prefix fails. */
	SHORT_PREFIXES_FAIL(b, len, fscc_fs_attribute_decode(B, L, &fa));
	free(v.p);
}
END_TEST

START_TEST(query_info_corrupt)
{
	struct vec v = vec_load(VEC_QI_ALL), d;
	struct query_info_resp r;
	static const struct {
		size_t at;
		int width;
		uint32_t val;
	} bad[] = {
		{66, 2, 0}, {66, 2, 64}, {66, 2, 71}, {66, 2, 73}, {68, 4, 139}, {68, 4, 0xffffffffu},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		if (bad[i].width == 2)
			le16_store(d.p + bad[i].at, (uint16_t)bad[i].val);
		else
			le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(query_info_resp_decode(d.p, d.len, &r) == -EBADMSG, "case %zu", i);
		free(d.p);
	}
	free(v.p);
}
END_TEST

/* ---- IOCTL / VALIDATE_NEGOTIATE_INFO ---- */

static int enc_vni(struct wbuf *w, const void *req)
{
	return ioctl_validate_negotiate_encode(w, req);
}

START_TEST(ioctl_vni_encode)
{
	static const uint8_t exp[] = {
		0x39, 0x00, 0x00, 0x00, /* StructureSize 57, Reserved */
		0x04, 0x02, 0x14, 0x00, /* FSCTL_VALIDATE_NEGOTIATE_INFO */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff,             /* FileId: all ones */
		0x78, 0x00, 0x00, 0x00, /* InputOffset 120 */
		0x1c, 0x00, 0x00, 0x00, /* InputCount 28 */
		0x00, 0x00, 0x00, 0x00, /* MaxInputResponse */
		0x00, 0x00, 0x00, 0x00, /* OutputOffset */
		0x00, 0x00, 0x00, 0x00, /* OutputCount */
		0x18, 0x00, 0x00, 0x00, /* MaxOutputResponse 24 */
		0x01, 0x00, 0x00, 0x00, /* Flags: IS_FSCTL */
		0x00, 0x00, 0x00, 0x00, /* Reserved2 */
		/* MS-SMB2 2.2.31.4 VALIDATE_NEGOTIATE_INFO */
		0x7f, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		0x01, 0x00, 0x02, 0x00, 0x00, 0x03, 0x02, 0x03,
	};
	static const uint16_t d2[] = {0x0300, 0x0302};
	struct validate_negotiate_req req = {.capabilities = 0x7f,
					     .security_mode = 1,
					     .dialects = d2,
					     .dialect_count = 2};
	uint8_t buf[256];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	memcpy(req.guid, guid16, 16);
	ck_assert_int_eq(ioctl_validate_negotiate_encode(&w, &req), 0);
	expect_bytes(&w, exp, sizeof(exp));
	encode_caps_fail(enc_vni, &req, sizeof(exp));
	req.dialect_count = 0;
	ck_assert_int_eq(ioctl_validate_negotiate_encode(&w, &req), -EINVAL);

	/* Generic IOCTL without input: one pad byte. */
	struct ioctl_req io = {.ctl_code = FSCTL_SRV_REQUEST_RESUME_KEY,
			       .file_id = fid,
			       .max_output_response = 32,
			       .flags = SMB2_0_IOCTL_IS_FSCTL};
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(ioctl_req_encode(&w, &io), 0);
	ck_assert_uint_eq(w.off, 57);
	ck_assert_uint_eq(le32_load(buf + 28), 0);
}
END_TEST

START_TEST(ioctl_vni_decode)
{
	struct vec v = vec_load(VEC_IOCTL_VNI), d;
	struct ioctl_resp r;
	struct validate_negotiate_resp vr;
	static const uint8_t sguid[16] = "testsrv";

	ck_assert_int_eq(ioctl_resp_decode(v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.ctl_code, FSCTL_VALIDATE_NEGOTIATE_INFO);
	ck_assert_uint_eq(r.file_id.persistent, SMB2_FILE_ID_NONE);
	ck_assert_uint_eq(r.file_id.volatile_, SMB2_FILE_ID_NONE);
	ck_assert_ptr_null(r.input);
	ck_assert_uint_eq(r.output_len, 24);
	ck_assert_ptr_eq(r.output, v.p + 0x70);
	ck_assert_int_eq(validate_negotiate_resp_decode(r.output, r.output_len, &vr), 0);
	ck_assert_uint_eq(vr.capabilities, 0xf);
	ck_assert_mem_eq(vr.guid, sguid, 16);
	ck_assert_uint_eq(vr.security_mode, 1);
	ck_assert_uint_eq(vr.dialect, SMB2_DIALECT_0302);
	all_truncations_fail(v, dec_ioctl, "ioctl");
	for (uint32_t n = 0; n < 24; n++)
		ck_assert_int_eq(validate_negotiate_resp_decode(r.output, n, &vr), -EBADMSG);

	static const struct {
		size_t at;
		uint32_t val;
	} bad[] = {
		{64 + 32, 0},   {64 + 32, 111}, {64 + 32, 113}, {64 + 32, 0xffffffffu},
		{64 + 36, 25},  {64 + 36, 0xffffffffu},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vec_dup(v);
		le32_store(d.p + bad[i].at, bad[i].val);
		ck_assert_msg(ioctl_resp_decode(d.p, d.len, &r) == -EBADMSG, "case %zu", i);
		free(d.p);
	}
	d = vec_dup(v);
	le32_store(d.p + 64 + 28, 1); /* InputCount 1 at InputOffset 0x70 is in range... */
	ck_assert_int_eq(ioctl_resp_decode(d.p, d.len, &r), 0);
	ck_assert_uint_eq(r.input_len, 1);
	le32_store(d.p + 64 + 24, 136); /* ...but not at the very end */
	ck_assert_int_eq(ioctl_resp_decode(d.p, d.len, &r), -EBADMSG);
	free(d.p);
	free(v.p);
}
END_TEST

/* ---- Error responses are not command bodies ---- */

START_TEST(error_responses)
{
	struct vec v = vec_load(VEC_CREATE_NOT_FOUND), q = vec_load(VEC_QD_NO_MORE_FILES);
	struct create_resp cr;
	struct smb2_hdr h;
	size_t plen;
	const uint8_t *data;
	uint32_t dlen;

	ck_assert_int_eq(frame_check(v.p, v.len, &h, &plen), 0);
	ck_assert_uint_eq(h.status, STATUS_OBJECT_PATH_NOT_FOUND);
	ck_assert_int_eq(ntstatus_to_errno(h.status), -ENOENT);
	ck_assert_int_eq(error_decode(v.p + 64, v.len - 64, &data, &dlen), 0);
	ck_assert_uint_eq(dlen, 0);
	/* A CREATE decoder given an ERROR body fails instead of inventing fields. */
	ck_assert_int_eq(create_resp_decode(v.p, v.len, &cr), -EBADMSG);
	ck_assert_int_eq(frame_check(q.p, q.len, &h, &plen), 0);
	ck_assert_uint_eq(h.status, STATUS_NO_MORE_FILES);
	free(v.p);
	free(q.p);
}
END_TEST

/* Every Samba vector passes frame_check as a whole PDU. */
START_TEST(vectors_pass_frame_check)
{
	static const char *const all[] = {
		VEC_NEGOTIATE_311, VEC_NEGOTIATE_302, VEC_SESSION_SETUP_MORE, VEC_SESSION_SETUP_OK,
		VEC_TREE_CONNECT,  VEC_IOCTL_VNI,     VEC_CREATE_CTX,         VEC_WRITE,
		VEC_READ,          VEC_QI_ALL,        VEC_QI_NETOPEN,         VEC_QI_INTERNAL,
		VEC_QI_BASIC,      VEC_QI_STANDARD,   VEC_QI_FSFULL,          VEC_QI_FSSIZE,
		VEC_QI_FSATTR,     VEC_SET_INFO,      VEC_ECHO,               VEC_CLOSE_POSTQUERY,
		VEC_CREATE_DIR,    VEC_QD_IDBOTH,     VEC_QD_IDFULL,          VEC_QD_DIR,
		VEC_QD_FULL,       VEC_QD_BOTH,       VEC_QD_NAMES,           VEC_QD_NO_MORE_FILES,
		VEC_CREATE_NOT_FOUND, VEC_TREE_DISCONNECT, VEC_LOGOFF,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct vec v = vec_load(all[i]);
		struct smb2_hdr h;
		size_t plen;
		ck_assert_msg(frame_check(v.p, v.len, &h, &plen) == 0, "vector %zu", i);
		ck_assert_uint_eq(plen, v.len);
		free(v.p);
	}
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codecs");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, negotiate_encode_311);
	tcase_add_test(tc, negotiate_encode_legacy);
	tcase_add_test(tc, negotiate_decode_311);
	tcase_add_test(tc, negotiate_decode_302);
	tcase_add_test(tc, negotiate_decode_corrupt);
	tcase_add_test(tc, session_encode);
	tcase_add_test(tc, session_decode);
	tcase_add_test(tc, logoff_tree_disconnect_echo);
	tcase_add_test(tc, tree_encode);
	tcase_add_test(tc, tree_decode);
	tcase_add_test(tc, create_encode);
	tcase_add_test(tc, create_contexts_encode);
	tcase_add_test(tc, create_contexts_encode_more);
	tcase_add_test(tc, create_decode);
	tcase_add_test(tc, create_decode_corrupt);
	tcase_add_test(tc, close_encode_decode);
	tcase_add_test(tc, read_encode);
	tcase_add_test(tc, read_decode);
	tcase_add_test(tc, write_encode_decode);
	tcase_add_test(tc, querydir_encode);
	tcase_add_test(tc, querydir_decode_classes);
	tcase_add_test(tc, querydir_decode_corrupt);
	tcase_add_test(tc, querydir_unaligned_tolerated);
	tcase_add_test(tc, query_info_encode);
	tcase_add_test(tc, set_info_encode);
	tcase_add_test(tc, fscc_encoders);
	tcase_add_test(tc, fscc_decode_all);
	tcase_add_test(tc, fscc_decode_others);
	tcase_add_test(tc, query_info_corrupt);
	tcase_add_test(tc, ioctl_vni_encode);
	tcase_add_test(tc, ioctl_vni_decode);
	tcase_add_test(tc, error_responses);
	tcase_add_test(tc, vectors_pass_frame_check);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
