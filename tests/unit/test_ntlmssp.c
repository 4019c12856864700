/*
 * test_ntlmssp.c - NTLMv2 client and the md.c primitives.
 *
 * Known-answer values come from [MS-NLMP] section 4.2 (Protocol Examples):
 * 4.2.1 common values, 4.2.2.1.2 NTOWFv1, 4.2.4 NTLMv2 authentication
 * (4.2.4.1.1 NTOWFv2, 4.2.4.1.2 session base key, 4.2.4.2.1 LMv2 response,
 * 4.2.4.2.2 NTLMv2 response, 4.2.4.2.3 encrypted session key, 4.2.4.3 the
 * CHALLENGE_MESSAGE, 4.2.4.4 GSS_WrapEx keys, checksum and signature), and
 * from RFC 1320 (MD4), RFC 1321 (MD5), RFC 2104 (HMAC-MD5), RFC 6229 (RC4).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/md.h"
#include "auth/ntlmssp.h"
#include "wire/buf.h"

/* ---- helpers ----------------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

#define HEX(name, str)                                                                             \
	uint8_t name[sizeof(str) / 2];                                                             \
	ck_assert_uint_eq(unhex(str, name, sizeof(name)), sizeof(name))

static size_t utf16(const char *ascii, uint8_t *out)
{
	size_t n = strlen(ascii);

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)ascii[i];
		out[2 * i + 1] = 0;
	}
	return 2 * n;
}

/* [MS-NLMP] 4.2.1 Common Values */
static const uint8_t random_session_key[16] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
					       0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
static const uint8_t client_challenge[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
static const uint8_t server_challenge[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

/* [MS-NLMP] 4.2.4.3: CHALLENGE_MESSAGE, flags 0xe28a8233, TargetName "Server",
 * TargetInfo { MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", EOL }. */
static const char chal_4243_hex[] =
    "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
    "00000000000000002400240044000000060070170000000f5300650072007600"
    "6500720002000c0044006f006d00610069006e0001000c005300650072007600"
    "6500720000000000";

/* The TargetInfo of 4.2.4.3, as carried in the 4.2.4.2.2 NTLMv2 temp. */
static const char ti_4243_hex[] = "02000c0044006f006d00610069006e0001000c00530065007200760065007200"
				  "00000000";

/*
 * A real exchange with Samba 4.17.12 smbd (standalone, SMB 2.1, 127.0.0.1),
 * user "root", domain "TESTGRP", password "Passw0rd", workstation "CLIENT1",
 * with ntlmssp_set_test_params(0xaa x 8, 0, 0x55 x 16). smbd answered
 * STATUS_SUCCESS, checked the MIC (flipping one MIC bit gave
 * STATUS_INVALID_PARAMETER) and the mechListMIC (a flipped bit gave
 * STATUS_ACCESS_DENIED), and signed its response with this session key.
 */
static const char samba_challenge_hex[] =
    "4e544c4d53535000020000000e000e003800000035828ae20351c4165b700f94"
    "00000000000000004000400046000000060100000000000f53004d0042005400"
    "45005300540002000e0053004d004200540045005300540001000e0053004d00"
    "42005400450053005400040000000300040076006d0007000800569fea528f7c"
    "dd0100000000";
static const char samba_authenticate_hex[] =
    "4e544c4d5353500003000000180018007c0000008c008c00940000000e000e00"
    "5800000008000800660000000e000e006e0000001000100020010000358208e2"
    "0601b01d0000000fb7bb9e45091677c4614b0d85935f22415400450053005400"
    "47005200500072006f006f00740043004c00490045004e005400310000000000"
    "00000000000000000000000000000000000000006245c89b2ed1efe4eb16abf5"
    "78c14e320101000000000000569fea528f7cdd01aaaaaaaaaaaaaaaa00000000"
    "02000e0053004d004200540045005300540001000e0053004d00420054004500"
    "53005400040000000300040076006d0007000800569fea528f7cdd0106000400"
    "020000000a001000000000000000000000000000000000000000000000000000"
    "e800a9b457509bb55f8c196d47163252";
static const char samba_client_mechlistmic_hex[] = "0100000022a3984fefbb9c3200000000";
static const char samba_server_mechlistmic_hex[] = "010000007dd6da05648a73ae00000000";

static size_t chal_4243(uint8_t *out, size_t cap)
{
	return unhex(chal_4243_hex, out, cap);
}

/*
 * Build a CHALLENGE_MESSAGE laid out like 4.2.4.3 (Version present, TargetName
 * "Server" at 56, TargetInfo after it) with the given flags and AV list.
 */
static size_t make_challenge(uint32_t flags, const uint8_t *ti, size_t ti_len, uint8_t *out,
			     size_t cap)
{
	uint8_t name[12];
	size_t name_len = utf16("Server", name);
	size_t len = 56 + name_len + ti_len;

	ck_assert_uint_le(len, cap);
	memset(out, 0, 56);
	memcpy(out, "NTLMSSP", 8);
	le32_store(out + 8, 2);
	le16_store(out + 12, (uint16_t)name_len);
	le16_store(out + 14, (uint16_t)name_len);
	le32_store(out + 16, 56);
	le32_store(out + 20, flags);
	memcpy(out + 24, server_challenge, 8);
	le16_store(out + 40, (uint16_t)ti_len);
	le16_store(out + 42, (uint16_t)ti_len);
	le32_store(out + 44, (uint32_t)(56 + name_len));
	out[48] = 6;
	out[49] = 0;
	le16_store(out + 50, 6000);
	out[55] = 15;
	memcpy(out + 56, name, name_len);
	memcpy(out + 56 + name_len, ti, ti_len);
	return len;
}

static size_t av(uint8_t *p, uint16_t id, const void *val, uint16_t n)
{
	le16_store(p, id);
	le16_store(p + 2, n);
	if (n)
		memcpy(p + 4, val, n);
	return 4 + (size_t)n;
}

/* A context for the 4.2.1 user, deterministic, with NEGOTIATE already sent. */
static struct ntlmssp_ctx *new_ctx(uint8_t **neg, size_t *neg_len)
{
	struct ntlmssp_ctx *ctx = ntlmssp_new("User", "Domain", "Password", "COMPUTER");
	uint8_t *n = NULL;
	size_t nl = 0;

	ck_assert_ptr_nonnull(ctx);
	ntlmssp_set_test_params(ctx, client_challenge, 0, random_session_key);
	ck_assert_int_eq(ntlmssp_negotiate(ctx, &n, &nl), 0);
	if (neg) {
		*neg = n;
		*neg_len = nl;
	} else {
		free(n);
	}
	return ctx;
}

/* Run one authentication against chal; returns the rc, frees everything. */
static int try_auth(const uint8_t *chal, size_t len)
{
	struct ntlmssp_ctx *ctx = new_ctx(NULL, NULL);
	uint8_t *auth = NULL;
	size_t auth_len = 0;
	int rc = ntlmssp_authenticate(ctx, chal, len, &auth, &auth_len);

	if (rc == 0) {
		ck_assert_ptr_nonnull(auth);
		ck_assert_uint_ge(auth_len, 88);
	} else {
		ck_assert_ptr_null(auth);
	}
	free(auth);
	ntlmssp_free(ctx);
	return rc;
}

/* A field of an AUTHENTICATE_MESSAGE we built (trusted, but still checked). */
static const uint8_t *auth_field(const uint8_t *m, size_t len, size_t fields, size_t *flen)
{
	size_t l = le16_load(m + fields), off = le32_load(m + fields + 4);

	ck_assert_uint_eq(le16_load(m + fields + 2), l);
	ck_assert(range_ok(len, off, l));
	*flen = l;
	return m + off;
}

enum {
	A_LM = 12,
	A_NT = 20,
	A_DOMAIN = 28,
	A_USER = 36,
	A_WS = 44,
	A_KEY = 52,
	A_FLAGS = 60,
	A_MIC = 72
};

/* ---- md.c ----------------------------------------------------------------------------- */

START_TEST(test_md_known_answers)
{
	uint8_t out[16], ks[16], zero[16] = {0};
	uint8_t key[16];

	/* RFC 1320 A.5 */
	HEX(md4_empty, "31d6cfe0d16ae931b73c59d7e0c089c0");
	HEX(md4_abc, "a448017aaf21d8525fc10ae87aa6729d");
	ck_assert_int_eq(md4_hash("", 0, out), 0);
	ck_assert_mem_eq(out, md4_empty, 16);
	ck_assert_int_eq(md4_hash("abc", 3, out), 0);
	ck_assert_mem_eq(out, md4_abc, 16);

	/* RFC 1321 A.5 */
	HEX(md5_abc, "900150983cd24fb0d6963f7d28e17f72");
	ck_assert_int_eq(md5_hash("abc", 3, out), 0);
	ck_assert_mem_eq(out, md5_abc, 16);
	struct md_iov parts[3] = {{"a", 1}, {"", 0}, {"bc", 2}};
	ck_assert_int_eq(md5_hash_vec(parts, 3, out), 0);
	ck_assert_mem_eq(out, md5_abc, 16);

	/* RFC 2104 section 2 test 1: key 0x0b x 16, "Hi There" */
	HEX(hmac1, "9294727a3638bb1c13f48ef8158bfc9d");
	memset(key, 0x0b, sizeof(key));
	ck_assert_int_eq(hmac_md5(key, 16, "Hi There", 8, out), 0);
	ck_assert_mem_eq(out, hmac1, 16);
	/* RFC 2104 test 2: key "Jefe" */
	HEX(hmac2, "750c783e6ab0b503eaa86e310a5db738");
	ck_assert_int_eq(hmac_md5("Jefe", 4, "what do ya want for nothing?", 28, out), 0);
	ck_assert_mem_eq(out, hmac2, 16);

	/* RFC 6229: 40-bit key 0x0102030405, keystream at offset 0 */
	HEX(rc4_ks, "b2396305f03dc027ccc3524a0a1118a8");
	HEX(rc4_key, "0102030405");
	ck_assert_int_eq(rc4_crypt(rc4_key, 5, zero, ks, 16), 0);
	ck_assert_mem_eq(ks, rc4_ks, 16);

	/* streaming == one-shot */
	struct rc4_state *st = NULL;
	ck_assert_int_eq(rc4_new(rc4_key, 5, &st), 0);
	ck_assert_int_eq(rc4_update(st, zero, ks, 3), 0);
	ck_assert_int_eq(rc4_update(st, zero + 3, ks + 3, 13), 0);
	ck_assert_mem_eq(ks, rc4_ks, 16);
	rc4_free(st);
	rc4_free(NULL);
	ck_assert_int_eq(rc4_new(rc4_key, 0, &st), -EINVAL);
	ck_assert_ptr_null(st);
}
END_TEST

/* ---- MS-NLMP 4.2 primitives ---------------------------------------------------------- */

START_TEST(test_ntowf)
{
	uint8_t nt[16], v2[16], v2b[16];

	/* [MS-NLMP] 4.2.2.1.2 NTOWFv1("Password") */
	HEX(ntowfv1, "a4f49c406510bdcab6824ee7c30fd852");
	ck_assert_int_eq(ntlmssp_nt_hash("Password", nt), 0);
	ck_assert_mem_eq(nt, ntowfv1, 16);

	/* [MS-NLMP] 4.2.4.1.1 NTOWFv2("Password", "User", "Domain") = ResponseKeyNT */
	HEX(ntowfv2, "0c868a403bfd7a93a3001ef22ef02e3f");
	ck_assert_int_eq(ntlmssp_ntowfv2(nt, "User", "Domain", v2), 0);
	ck_assert_mem_eq(v2, ntowfv2, 16);

	/* the user name is upper-cased, the domain is not (3.3.2) */
	ck_assert_int_eq(ntlmssp_ntowfv2(nt, "uSeR", "Domain", v2b), 0);
	ck_assert_mem_eq(v2b, ntowfv2, 16);
	ck_assert_int_eq(ntlmssp_ntowfv2(nt, "User", "DOMAIN", v2b), 0);
	ck_assert_mem_ne(v2b, ntowfv2, 16);
	/* non-ASCII upper-casing: e-acute == E-acute */
	ck_assert_int_eq(ntlmssp_ntowfv2(nt, "j\xc3\xa9r\xc3\xb4me", "Domain", v2), 0);
	ck_assert_int_eq(ntlmssp_ntowfv2(nt, "J\xc3\x89R\xc3\x94ME", "Domain", v2b), 0);
	ck_assert_mem_eq(v2, v2b, 16);
	/* invalid UTF-8 is refused, not guessed at */
	ck_assert_int_eq(ntlmssp_nt_hash("\xc0\xaf", nt), -EINVAL);
	ck_assert_int_eq(ntlmssp_nt_hash("\xed\xa0\x80", nt), -EINVAL);
	ck_assert_int_eq(ntlmssp_nt_hash("abc\xe2\x82", nt), -EINVAL);
}
END_TEST

START_TEST(test_ntlmv2_response)
{
	uint8_t ti[64], nt[256], lm[24], sbk[16], enc[16];
	size_t ti_len = unhex(ti_4243_hex, ti, sizeof(ti)), nt_len = 0;

	HEX(rkey, "0c868a403bfd7a93a3001ef22ef02e3f"); /* 4.2.4.1.1 */
	ck_assert_int_eq(ntlmssp_ntlmv2_response(rkey, server_challenge, client_challenge, 0, ti,
						 ti_len, nt, sizeof(nt), &nt_len, lm, sbk),
			 0);

	/* [MS-NLMP] 4.2.4.2.2 NTLMv2 Response: NTProofStr || temp */
	HEX(ntresp, "68cd0ab851e51c96aabc927bebef6a1c"
		    "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
		    "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
		    "00000000");
	ck_assert_uint_eq(nt_len, sizeof(ntresp));
	ck_assert_mem_eq(nt, ntresp, sizeof(ntresp));

	/* [MS-NLMP] 4.2.4.2.1 LMv2 Response */
	HEX(lmresp, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
	ck_assert_mem_eq(lm, lmresp, 24);

	/* [MS-NLMP] 4.2.4.1.2 Session Base Key (= KeyExchangeKey for NTLMv2, 4.2.4.1.3) */
	HEX(base, "8de40ccadbc14a82f15cb0ad0de95ca3");
	ck_assert_mem_eq(sbk, base, 16);

	/* [MS-NLMP] 4.2.4.2.3 Encrypted Session Key = RC4K(KeyExchangeKey, RandomSessionKey) */
	HEX(enckey, "c5dad2544fc9799094ce1ce90bc9d03e");
	ck_assert_int_eq(rc4_crypt(sbk, 16, random_session_key, enc, 16), 0);
	ck_assert_mem_eq(enc, enckey, 16);

	/* too small an output buffer */
	ck_assert_int_eq(ntlmssp_ntlmv2_response(rkey, server_challenge, client_challenge, 0, ti,
						 ti_len, nt, 16 + 28 + ti_len + 3, &nt_len, lm,
						 sbk),
			 -EMSGSIZE);
}
END_TEST

/* [MS-NLMP] 4.2.4.4 GSS_WrapEx Examples (sealing then signing "Plaintext"). */
START_TEST(test_gss_wrapex_4244)
{
	uint8_t seal[16], sign[16], buf[18], digest[16], cks[8], pt[18], seq[4] = {0};
	struct rc4_state *h = NULL;
	const uint32_t flags = 0xe28a8233; /* 4.2.4.3: 128-bit, KEY_EXCH, ESS */

	HEX(sealkey, "59f600973cc4960a25480a7c196e4c58");
	HEX(signkey, "4788dc861b4782f35d43fd98fe1a2d39");
	HEX(sealed, "54e50165bf1936dc996020c1811b0f06fb5f");
	HEX(checksum, "70352851f2564309");
	HEX(rc4_checksum, "7fb38ec5c55d4976");

	ck_assert_int_eq(ntlmssp_seal_key(random_session_key, flags, false, seal), 0);
	ck_assert_mem_eq(seal, sealkey, 16);
	ck_assert_int_eq(ntlmssp_sign_key(random_session_key, false, sign), 0);
	ck_assert_mem_eq(sign, signkey, 16);

	ck_assert_uint_eq(utf16("Plaintext", pt), sizeof(pt));
	ck_assert_int_eq(rc4_new(seal, 16, &h), 0);
	ck_assert_int_eq(rc4_update(h, pt, buf, sizeof(pt)), 0);
	ck_assert_mem_eq(buf, sealed, sizeof(sealed));

	struct md_iov iov[2] = {{seq, 4}, {pt, sizeof(pt)}};
	ck_assert_int_eq(hmac_md5_vec(sign, 16, iov, 2, digest), 0);
	ck_assert_mem_eq(digest, checksum, 8);
	ck_assert_int_eq(rc4_update(h, digest, cks, 8), 0);
	ck_assert_mem_eq(cks, rc4_checksum, 8);
	rc4_free(h);

	/* 56-bit and 40-bit sealing keys use 7 and 5 bytes of the session key (3.4.5.3) */
	static const struct {
		uint32_t flags;
		size_t used;
	} strengths[] = {{NTLMSSP_NEGOTIATE_128, 16}, {NTLMSSP_NEGOTIATE_56, 7}, {0, 5}};
	for (size_t i = 0; i < 3; i++) {
		uint8_t k[16], k2[16], other[16];
		ck_assert_int_eq(ntlmssp_seal_key(random_session_key, strengths[i].flags, true, k),
				 0);
		for (size_t b = 0; b < 16; b++) {
			memcpy(other, random_session_key, 16);
			other[b] ^= 0xff;
			ck_assert_int_eq(ntlmssp_seal_key(other, strengths[i].flags, true, k2), 0);
			if (b < strengths[i].used)
				ck_assert_mem_ne(k, k2, 16);
			else
				ck_assert_mem_eq(k, k2, 16);
		}
	}
}
END_TEST

/* ---- full exchange against the 4.2.4.3 challenge ------------------------------------ */

START_TEST(test_negotiate_message)
{
	struct ntlmssp_ctx *ctx = ntlmssp_new("User", "Domain", "Password", NULL);
	uint8_t *neg = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ntlmssp_negotiate(ctx, &neg, &len), 0);
	ck_assert_uint_eq(len, 40);
	ck_assert_mem_eq(neg, "NTLMSSP\0", 8);
	ck_assert_uint_eq(le32_load(neg + 8), 1);
	/* UNICODE|REQUEST_TARGET|SIGN|SEAL|NTLM|ALWAYS_SIGN|ESS|VERSION|128|KEY_EXCH|56 */
	ck_assert_uint_eq(le32_load(neg + 12), 0xe2088235u);
	ck_assert_uint_eq(neg[39], 0x0f); /* NTLMSSP_REVISION_W2K3 */
	free(neg);
	ck_assert_int_eq(ntlmssp_negotiate(ctx, &neg, &len), -EINVAL);
	ck_assert_ptr_null(neg);
	ntlmssp_free(ctx);
	ntlmssp_free(NULL);
}
END_TEST

START_TEST(test_authenticate_4243)
{
	uint8_t chal[128], *neg = NULL, *auth = NULL, key[16];
	size_t chal_len = chal_4243(chal, sizeof(chal)), neg_len, auth_len, l;
	struct ntlmssp_ctx *ctx = new_ctx(&neg, &neg_len);
	const uint8_t *f;
	uint8_t s16[32];

	ck_assert_int_eq(ntlmssp_session_key(ctx, key), -EINVAL);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	ck_assert_mem_eq(auth, "NTLMSSP\0", 8);
	ck_assert_uint_eq(le32_load(auth + 8), 3);
	/* server 0xe28a8233 AND ours 0xe2088235 */
	ck_assert_uint_eq(le32_load(auth + A_FLAGS), 0xe2088231u);
	ck_assert_uint_eq(ntlmssp_flags(ctx), 0xe2088231u);

	f = auth_field(auth, auth_len, A_DOMAIN, &l);
	ck_assert_uint_eq(l, utf16("Domain", s16));
	ck_assert_mem_eq(f, s16, l);
	f = auth_field(auth, auth_len, A_USER, &l);
	ck_assert_uint_eq(l, utf16("User", s16));
	ck_assert_mem_eq(f, s16, l);
	f = auth_field(auth, auth_len, A_WS, &l);
	ck_assert_uint_eq(l, utf16("COMPUTER", s16));
	ck_assert_mem_eq(f, s16, l);

	/* No MsvAvTimestamp: the LMv2 response of [MS-NLMP] 4.2.4.2.1 is sent. */
	HEX(lmresp, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
	f = auth_field(auth, auth_len, A_LM, &l);
	ck_assert_uint_eq(l, 24);
	ck_assert_mem_eq(f, lmresp, 24);
	ck_assert(!ntlmssp_mic_present(ctx));

	/* NTLMv2 blob: 4.2.4.2.2 header, server pairs, Z(16) channel bindings, EOL. */
	uint8_t want_av[128];
	size_t wl = unhex(ti_4243_hex, want_av, sizeof(want_av)) - 4; /* drop EOL */
	uint8_t zero16[16] = {0};
	wl += av(want_av + wl, 0x000a, zero16, 16);
	wl += av(want_av + wl, 0x0000, NULL, 0);
	HEX(blob_hdr, "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000");
	const uint8_t *nt = auth_field(auth, auth_len, A_NT, &l);
	ck_assert_uint_eq(l, 16 + 28 + wl + 4);
	ck_assert_mem_eq(nt + 16, blob_hdr, 28);
	ck_assert_mem_eq(nt + 44, want_av, wl);
	ck_assert_mem_eq(nt + 44 + wl, zero16, 4);

	/* NTProofStr and keys recomputed with the primitives proven above. */
	uint8_t nt2[256], lm2[24], sbk[16], enc[16];
	size_t nt2_len;
	HEX(rkey, "0c868a403bfd7a93a3001ef22ef02e3f");
	ck_assert_int_eq(ntlmssp_ntlmv2_response(rkey, server_challenge, client_challenge, 0,
						 want_av, wl, nt2, sizeof(nt2), &nt2_len, lm2, sbk),
			 0);
	ck_assert_uint_eq(nt2_len, l);
	ck_assert_mem_eq(nt, nt2, l);
	ck_assert_int_eq(rc4_crypt(sbk, 16, random_session_key, enc, 16), 0);
	f = auth_field(auth, auth_len, A_KEY, &l);
	ck_assert_uint_eq(l, 16);
	ck_assert_mem_eq(f, enc, 16);

	/* ExportedSessionKey is the (test) random session key, 4.2.1 */
	ck_assert_int_eq(ntlmssp_session_key(ctx, key), 0);
	ck_assert_mem_eq(key, random_session_key, 16);

	/* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE(MIC=0)) */
	uint8_t mic[16], *copy = malloc(auth_len);
	memcpy(copy, auth, auth_len);
	memset(copy + A_MIC, 0, 16);
	struct md_iov iov[3] = {{neg, neg_len}, {chal, chal_len}, {copy, auth_len}};
	ck_assert_int_eq(hmac_md5_vec(random_session_key, 16, iov, 3, mic), 0);
	ck_assert_mem_eq(auth + A_MIC, mic, 16);

	/* The MIC covers every byte: change any one and it no longer matches. */
	for (size_t m = 0; m < 3; m++) {
		uint8_t *b = (uint8_t *)iov[m].p;
		for (size_t i = 0; i < iov[m].len; i++) {
			uint8_t other[16];
			if (m == 2 && i >= A_MIC && i < A_MIC + 16)
				continue;
			b[i] ^= 0x01;
			ck_assert_int_eq(hmac_md5_vec(random_session_key, 16, iov, 3, other), 0);
			ck_assert_mem_ne(other, mic, 16);
			b[i] ^= 0x01;
		}
	}
	free(copy);
	free(neg);
	free(auth);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), -EINVAL);
	ntlmssp_free(ctx);
}
END_TEST

/* Changing any byte of the CHALLENGE_MESSAGE changes the MIC (or fails cleanly). */
START_TEST(test_mic_tracks_challenge)
{
	uint8_t chal[128], *auth = NULL, base_mic[16];
	size_t chal_len = chal_4243(chal, sizeof(chal)), auth_len;
	struct ntlmssp_ctx *ctx = new_ctx(NULL, NULL);
	size_t accepted = 0;

	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	memcpy(base_mic, auth + A_MIC, 16);
	free(auth);
	ntlmssp_free(ctx);

	for (size_t i = 0; i < chal_len; i++) {
		chal[i] ^= 0x40;
		ctx = new_ctx(NULL, NULL);
		auth = NULL;
		int rc = ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len);
		ck_assert(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP);
		if (rc == 0) {
			accepted++;
			ck_assert_mem_ne(auth + A_MIC, base_mic, 16);
		}
		free(auth);
		ntlmssp_free(ctx);
		chal[i] ^= 0x40;
	}
	ck_assert_uint_gt(accepted, 30); /* most flips (names, challenge, flags) still parse */
}
END_TEST

START_TEST(test_server_timestamp_and_spn)
{
	uint8_t ti[128], chal[256], *neg = NULL, *auth = NULL, name[16];
	size_t tl = 0, l, chal_len, neg_len, auth_len;
	uint8_t ts[8] = {0x00, 0x90, 0xd3, 0x36, 0xb7, 0x34, 0xc3, 0x01};
	uint8_t avflags[4] = {0x01, 0, 0, 0};
	uint8_t spn16[64];
	size_t spn_len = utf16("cifs/server", spn16);

	tl += av(ti + tl, 0x0002, name, (uint16_t)utf16("Domain", name));
	tl += av(ti + tl, 0x0006, avflags, 4); /* server-side flag 0x1 (constrained) */
	tl += av(ti + tl, 0x0007, ts, 8);
	tl += av(ti + tl, 0x000a, ts, 8); /* a server's bindings are not echoed */
	tl += av(ti + tl, 0x0000, NULL, 0);
	chal_len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));

	struct ntlmssp_ctx *ctx = new_ctx(&neg, &neg_len);
	ck_assert_int_eq(ntlmssp_set_target(ctx, "cifs/server"), 0);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	ck_assert(ntlmssp_mic_present(ctx));

	/* 3.1.5.1.2: with MsvAvTimestamp, LmChallengeResponse is Z(24) */
	const uint8_t *f = auth_field(auth, auth_len, A_LM, &l);
	uint8_t z[24] = {0};
	ck_assert_uint_eq(l, 24);
	ck_assert_mem_eq(f, z, 24);

	/* blob time is the server's; MsvAvFlags |= 0x2 in place; bindings Z(16); SPN */
	const uint8_t *nt = auth_field(auth, auth_len, A_NT, &l);
	ck_assert_mem_eq(nt + 16 + 8, ts, 8);
	uint8_t want[256];
	size_t wl = 0;
	uint8_t fl3[4] = {0x03, 0, 0, 0};
	wl += av(want + wl, 0x0002, name, (uint16_t)utf16("Domain", name));
	wl += av(want + wl, 0x0006, fl3, 4);
	wl += av(want + wl, 0x0007, ts, 8);
	wl += av(want + wl, 0x000a, z, 16);
	wl += av(want + wl, 0x0009, spn16, (uint16_t)spn_len);
	wl += av(want + wl, 0x0000, NULL, 0);
	ck_assert_uint_eq(l, 16 + 28 + wl + 4);
	ck_assert_mem_eq(nt + 44, want, wl);

	/* MIC still over the three messages */
	uint8_t mic[16], *copy = malloc(auth_len);
	memcpy(copy, auth, auth_len);
	memset(copy + A_MIC, 0, 16);
	struct md_iov iov[3] = {{neg, neg_len}, {chal, chal_len}, {copy, auth_len}};
	ck_assert_int_eq(hmac_md5_vec(random_session_key, 16, iov, 3, mic), 0);
	ck_assert_mem_eq(auth + A_MIC, mic, 16);
	free(copy);
	free(auth);
	free(neg);
	ntlmssp_free(ctx);

	/* Without a server MsvAvFlags one is appended with just the MIC bit. */
	tl = 0;
	tl += av(ti + tl, 0x0007, ts, 8);
	tl += av(ti + tl, 0x0000, NULL, 0);
	chal_len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ctx = new_ctx(NULL, NULL);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	nt = auth_field(auth, auth_len, A_NT, &l);
	wl = 0;
	uint8_t fl2[4] = {0x02, 0, 0, 0};
	wl += av(want + wl, 0x0007, ts, 8);
	wl += av(want + wl, 0x0006, fl2, 4);
	wl += av(want + wl, 0x000a, z, 16);
	wl += av(want + wl, 0x0000, NULL, 0);
	ck_assert_uint_eq(l, 16 + 28 + wl + 4);
	ck_assert_mem_eq(nt + 44, want, wl);
	free(auth);
	ntlmssp_free(ctx);
}
END_TEST

/* Message signatures with extended session security, MS-NLMP 3.4.4.2. */
START_TEST(test_sign_verify)
{
	uint8_t chal[128], *auth = NULL, sig[16], sig2[16], pt[18];
	size_t chal_len = chal_4243(chal, sizeof(chal)), auth_len;
	struct ntlmssp_ctx *ctx = new_ctx(NULL, NULL);

	ck_assert_int_eq(ntlmssp_sign_mic(ctx, pt, 0, sig), -EINVAL);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	free(auth);

	/*
	 * Client signature over "Plaintext" at SeqNum 0, signing only: the 4.2.4.4
	 * checksum 70352851f2564309 RC4'd with a fresh client sealing handle, whose
	 * first keystream bytes are 4.2.4.4's plaintext XOR its sealed data.
	 */
	HEX(checksum, "70352851f2564309");
	HEX(sealed, "54e50165bf1936dc996020c1811b0f06fb5f");
	ck_assert_uint_eq(utf16("Plaintext", pt), sizeof(pt));
	uint8_t want[16] = {1, 0, 0, 0};
	for (int i = 0; i < 8; i++)
		want[4 + i] = checksum[i] ^ pt[i] ^ sealed[i];
	ck_assert_int_eq(ntlmssp_sign_mic(ctx, pt, sizeof(pt), sig), 0);
	ck_assert_mem_eq(sig, want, 16);
	/* next call: SeqNum 1 in the HMAC and the field, RC4 keystream continues */
	ck_assert_int_eq(ntlmssp_sign_mic(ctx, pt, sizeof(pt), sig2), 0);
	{
		uint8_t csign[16], cseal[16], d[16], seq1[4] = {1, 0, 0, 0}, skip[8], w2[16] = {1};
		struct rc4_state *ch = NULL;
		struct md_iov v[2] = {{seq1, 4}, {pt, sizeof(pt)}};
		ck_assert_int_eq(ntlmssp_sign_key(random_session_key, false, csign), 0);
		ck_assert_int_eq(ntlmssp_seal_key(random_session_key, 0xe2088231u, false, cseal),
				 0);
		ck_assert_int_eq(rc4_new(cseal, 16, &ch), 0);
		ck_assert_int_eq(rc4_update(ch, sig + 4, skip, 8), 0);
		ck_assert_int_eq(hmac_md5_vec(csign, 16, v, 2, d), 0);
		ck_assert_int_eq(rc4_update(ch, d, w2 + 4, 8), 0);
		w2[12] = 1;
		rc4_free(ch);
		ck_assert_mem_eq(sig2, w2, 16);
	}

	/* Server signature built independently from the 3.4.5 keys. */
	uint8_t ssign[16], sseal[16], digest[16], seq[4] = {0}, ssig[16] = {1, 0, 0, 0};
	struct rc4_state *h = NULL;
	ck_assert_int_eq(ntlmssp_sign_key(random_session_key, true, ssign), 0);
	ck_assert_int_eq(ntlmssp_seal_key(random_session_key, 0xe2088231u, true, sseal), 0);
	ck_assert_int_eq(rc4_new(sseal, 16, &h), 0);
	struct md_iov iov[2] = {{seq, 4}, {pt, sizeof(pt)}};
	ck_assert_int_eq(hmac_md5_vec(ssign, 16, iov, 2, digest), 0);
	ck_assert_int_eq(rc4_update(h, digest, ssig + 4, 8), 0);
	rc4_free(h);

	uint8_t bad[16];
	memcpy(bad, ssig, 16);
	bad[2] = 1;
	ck_assert_int_eq(ntlmssp_verify_mic(ctx, pt, sizeof(pt), bad, 16), -EBADMSG);
	ck_assert_int_eq(ntlmssp_verify_mic(ctx, pt, sizeof(pt), ssig, 15), -EBADMSG);
	ck_assert_int_eq(ntlmssp_verify_mic(ctx, pt, sizeof(pt), ssig, 16), 0);
	/* replay: the server sequence number has moved on */
	ck_assert_int_eq(ntlmssp_verify_mic(ctx, pt, sizeof(pt), ssig, 16), -EACCES);
	ntlmssp_free(ctx);

	/* tampered message or checksum */
	for (int which = 0; which < 2; which++) {
		ctx = new_ctx(NULL, NULL);
		ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
		free(auth);
		memcpy(bad, ssig, 16);
		uint8_t msg[18];
		memcpy(msg, pt, sizeof(msg));
		if (which)
			bad[7] ^= 0x80;
		else
			msg[17] ^= 1;
		ck_assert_int_eq(ntlmssp_verify_mic(ctx, msg, sizeof(msg), bad, 16), -EACCES);
		ntlmssp_free(ctx);
	}
}
END_TEST

START_TEST(test_no_ess_no_keyexch)
{
	uint8_t chal[128], *auth = NULL, sig[16], key[16], ti[64];
	size_t tl = unhex(ti_4243_hex, ti, sizeof(ti)), auth_len, l;
	/* server drops KEY_EXCH and extended session security */
	size_t chal_len =
	    make_challenge(0xe28a8233u & ~(NTLMSSP_NEGOTIATE_KEY_EXCH |
					   NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY),
			   ti, tl, chal, sizeof(chal));
	struct ntlmssp_ctx *ctx = new_ctx(NULL, NULL);

	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	auth_field(auth, auth_len, A_KEY, &l);
	ck_assert_uint_eq(l, 0);
	/* ExportedSessionKey = KeyExchangeKey = SessionBaseKey */
	ck_assert_int_eq(ntlmssp_session_key(ctx, key), 0);
	ck_assert_mem_ne(key, random_session_key, 16);
	ck_assert_int_eq(ntlmssp_sign_mic(ctx, ti, tl, sig), -ENOTSUP);
	free(auth);
	ntlmssp_free(ctx);

	/* OEM-only server */
	chal_len = make_challenge(0xe28a8232u, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, chal_len), -ENOTSUP);
}
END_TEST

START_TEST(test_anonymous)
{
	uint8_t chal[128], *neg = NULL, *auth = NULL, key[16], sig[16], zero[16] = {0};
	size_t chal_len = chal_4243(chal, sizeof(chal)), neg_len, auth_len, l;
	struct ntlmssp_ctx *ctx = ntlmssp_new("", NULL, "ignored", NULL);

	ck_assert_ptr_nonnull(ctx);
	ck_assert(ntlmssp_is_anonymous(ctx));
	ck_assert_int_eq(ntlmssp_negotiate(ctx, &neg, &neg_len), 0);
	ck_assert_uint_eq(le32_load(neg + 12) & NTLMSSP_ANONYMOUS, NTLMSSP_ANONYMOUS);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	const uint8_t *f = auth_field(auth, auth_len, A_LM, &l);
	ck_assert_uint_eq(l, 1);
	ck_assert_uint_eq(f[0], 0);
	auth_field(auth, auth_len, A_NT, &l);
	ck_assert_uint_eq(l, 0);
	auth_field(auth, auth_len, A_USER, &l);
	ck_assert_uint_eq(l, 0);
	auth_field(auth, auth_len, A_KEY, &l);
	ck_assert_uint_eq(l, 0);
	ck_assert_uint_eq(le32_load(auth + A_FLAGS) & NTLMSSP_ANONYMOUS, NTLMSSP_ANONYMOUS);
	ck_assert_uint_eq(le32_load(auth + A_FLAGS) & NTLMSSP_NEGOTIATE_KEY_EXCH, 0);
	ck_assert_mem_eq(auth + A_MIC, zero, 16);
	ck_assert_int_eq(ntlmssp_session_key(ctx, key), -ENOKEY);
	ck_assert_int_eq(ntlmssp_sign_mic(ctx, zero, 16, sig), -ENOKEY);
	ck_assert(!ntlmssp_mic_present(ctx));
	free(neg);
	free(auth);
	ntlmssp_free(ctx);

	ctx = ntlmssp_new(NULL, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(ctx);
	ck_assert(ntlmssp_is_anonymous(ctx));
	ntlmssp_free(ctx);
}
END_TEST

START_TEST(test_bad_arguments)
{
	uint8_t chal[128], *auth = NULL;
	size_t chal_len = chal_4243(chal, sizeof(chal)), auth_len;
	struct ntlmssp_ctx *ctx;
	char big[2048];

	errno = 0;
	ck_assert_ptr_null(ntlmssp_new("us\xffr", "D", "P", NULL));
	ck_assert_int_eq(errno, EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	errno = 0;
	ck_assert_ptr_null(ntlmssp_new("User", "D", big, NULL));
	ck_assert_int_eq(errno, EINVAL);

	/* authenticate before negotiate */
	ctx = ntlmssp_new("User", "Domain", "Password", NULL);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), -EINVAL);
	ck_assert_int_eq(ntlmssp_set_target(ctx, "x\xc3"), -EINVAL);
	ntlmssp_free(ctx);

	/* a failed authenticate leaves the context unusable */
	ctx = new_ctx(NULL, NULL);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, 20, &auth, &auth_len), -EBADMSG);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), -EINVAL);
	ntlmssp_free(ctx);
}
END_TEST

/* ---- hostile CHALLENGE_MESSAGEs ------------------------------------------------------ */

START_TEST(test_challenge_truncations)
{
	uint8_t chal[128];
	size_t chal_len = chal_4243(chal, sizeof(chal));

	ck_assert_int_eq(try_auth(chal, chal_len), 0);
	for (size_t n = 0; n < chal_len; n++) {
		/* an exact-size heap copy so ASan catches any read past n */
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, chal, n);
		ck_assert_msg(try_auth(p, n) == -EBADMSG, "truncated to %zu accepted", n);
		free(p);
	}
	ck_assert_int_eq(try_auth(NULL, 0), -EBADMSG);
}
END_TEST

START_TEST(test_challenge_bad_fields)
{
	uint8_t chal[128], c[128];
	size_t len = chal_4243(chal, sizeof(chal));
	/* TargetNameFields at 12 (len 12, off 56), TargetInfoFields at 40 (len 36, off 68) */
	static const uint32_t bad_off[] = {
	    0,	 1,   8,      40,     48,      55,	   69,		70,	    72,
	    100, 101, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xfffffff0u, 0xffffffffu};
	static const uint16_t bad_name_len[] = {45, 47, 49, 50, 100, 0x7fff, 0xffff, 11};
	static const uint16_t bad_info_len[] = {1,  2,	3,  4,	8,  16, 20,	30,    32,
						34, 35, 37, 38, 40, 44, 0x7fff, 0xffff};

	ck_assert_uint_eq(len, 104);
	for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
		memcpy(c, chal, len);
		le32_store(c + 16, bad_off[i]);
		if (bad_off[i] != 56 && !(bad_off[i] >= 56 && bad_off[i] + 12 <= len))
			ck_assert_msg(try_auth(c, len) == -EBADMSG, "name off %u", bad_off[i]);
		memcpy(c, chal, len);
		le32_store(c + 44, bad_off[i]);
		ck_assert_msg(try_auth(c, len) == -EBADMSG, "info off %u", bad_off[i]);
	}
	/* every TargetInfo offset other than the real one */
	for (uint32_t off = 0; off < 200; off++) {
		if (off == 68)
			continue;
		memcpy(c, chal, len);
		le32_store(c + 44, off);
		ck_assert_msg(try_auth(c, len) == -EBADMSG, "info off %u", off);
	}
	for (size_t i = 0; i < sizeof(bad_name_len) / sizeof(bad_name_len[0]); i++) {
		memcpy(c, chal, len);
		le16_store(c + 12, bad_name_len[i]);
		ck_assert_msg(try_auth(c, len) == -EBADMSG, "name len %u", bad_name_len[i]);
	}
	for (size_t i = 0; i < sizeof(bad_info_len) / sizeof(bad_info_len[0]); i++) {
		memcpy(c, chal, len);
		le16_store(c + 40, bad_info_len[i]);
		ck_assert_msg(try_auth(c, len) == -EBADMSG, "info len %u", bad_info_len[i]);
	}
	/* signature, message type */
	for (size_t i = 0; i < 12; i++) {
		memcpy(c, chal, len);
		c[i] ^= 0x20;
		ck_assert_int_eq(try_auth(c, len), -EBADMSG);
	}
	/* without the VERSION flag a 48-byte header is fine; with it, 56 are required */
	memcpy(c, chal, len);
	le32_store(c + 16, 50); /* TargetName inside the Version field */
	ck_assert_int_eq(try_auth(c, len), -EBADMSG);
	le32_store(c + 20, le32_load(c + 20) & ~NTLMSSP_NEGOTIATE_VERSION);
	ck_assert_int_eq(try_auth(c, len), 0);
	/* empty fields may carry any offset */
	memcpy(c, chal, len);
	le16_store(c + 12, 0);
	le32_store(c + 16, 0xffffffffu);
	ck_assert_int_eq(try_auth(c, len), 0);
}
END_TEST

START_TEST(test_challenge_bad_av_pairs)
{
	uint8_t ti[128], chal[256], v[16] = {0};
	size_t tl, len;

	/* reference: valid */
	tl = av(ti, 0x0001, v, 4);
	tl += av(ti + tl, 0x0000, NULL, 0);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), 0);

	/* empty TargetInfo is accepted (pre-Vista servers) */
	len = make_challenge(0xe28a8233, ti, 0, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), 0);

	/* missing EOL */
	tl = av(ti, 0x0001, v, 4);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	/* EOL with a length */
	tl = av(ti, 0x0001, v, 4);
	tl += av(ti + tl, 0x0000, v, 2);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	/* bytes after EOL */
	tl = av(ti, 0x0000, NULL, 0);
	tl += av(ti + tl, 0x0001, v, 4);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	/* a pair running past the list */
	tl = av(ti, 0x0001, v, 4);
	tl += av(ti + tl, 0x0000, NULL, 0);
	le16_store(ti + 2, 9);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	/* timestamp of the wrong size; duplicate timestamp; flags of the wrong size */
	tl = av(ti, 0x0007, v, 4);
	tl += av(ti + tl, 0x0000, NULL, 0);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	tl = av(ti, 0x0007, v, 8);
	tl += av(ti + tl, 0x0007, v, 8);
	tl += av(ti + tl, 0x0000, NULL, 0);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	tl = av(ti, 0x0006, v, 8);
	tl += av(ti + tl, 0x0000, NULL, 0);
	len = make_challenge(0xe28a8233, ti, tl, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
	/* a 3-byte list (no room for a header) */
	len = make_challenge(0xe28a8233, ti, 3, chal, sizeof(chal));
	ck_assert_int_eq(try_auth(chal, len), -EBADMSG);
}
END_TEST

/* Every single-byte change: no crash, only the documented results (ASan checks reads). */
START_TEST(test_challenge_byte_flips)
{
	uint8_t chal[128];
	size_t len = chal_4243(chal, sizeof(chal));
	static const uint8_t xors[] = {0x01, 0x80, 0xff};

	for (size_t i = 0; i < len; i++) {
		for (size_t x = 0; x < sizeof(xors); x++) {
			uint8_t *p = malloc(len);
			memcpy(p, chal, len);
			p[i] ^= xors[x];
			int rc = try_auth(p, len);
			ck_assert_msg(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP,
				      "byte %zu ^ %02x: rc %d", i, xors[x], rc);
			free(p);
		}
	}
}
END_TEST

/* The recorded Samba 4.17 exchange is reproduced byte for byte. */
START_TEST(test_samba_transcript)
{
	uint8_t chal[512], want[1024], cmic[16], smic[16], sig[16], *neg = NULL, *auth = NULL;
	size_t chal_len = unhex(samba_challenge_hex, chal, sizeof(chal));
	size_t want_len = unhex(samba_authenticate_hex, want, sizeof(want));
	size_t neg_len, auth_len;
	/* DER MechTypeList { NTLMSSP }: what the mechListMIC covers */
	HEX(mechtypes, "300c060a2b06010401823702020a");
	struct ntlmssp_ctx *ctx = ntlmssp_new("root", "TESTGRP", "Passw0rd", "CLIENT1");

	ck_assert_uint_eq(unhex(samba_client_mechlistmic_hex, cmic, 16), 16);
	ck_assert_uint_eq(unhex(samba_server_mechlistmic_hex, smic, 16), 16);
	ck_assert_ptr_nonnull(ctx);
	ntlmssp_set_test_params(ctx, client_challenge, 0, random_session_key);
	ck_assert_int_eq(ntlmssp_negotiate(ctx, &neg, &neg_len), 0);
	ck_assert_int_eq(ntlmssp_authenticate(ctx, chal, chal_len, &auth, &auth_len), 0);
	ck_assert(ntlmssp_mic_present(ctx)); /* Samba sends MsvAvTimestamp */
	ck_assert_uint_eq(auth_len, want_len);
	ck_assert_mem_eq(auth, want, want_len);
	ck_assert_int_eq(ntlmssp_sign_mic(ctx, mechtypes, sizeof(mechtypes), sig), 0);
	ck_assert_mem_eq(sig, cmic, 16);
	ck_assert_int_eq(ntlmssp_verify_mic(ctx, mechtypes, sizeof(mechtypes), smic, 16), 0);
	free(neg);
	free(auth);
	ntlmssp_free(ctx);

	/* Hostile variants of a real-world challenge: truncations and byte flips. */
	for (size_t n = 0; n < chal_len; n++) {
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, chal, n);
		ck_assert_msg(try_auth(p, n) == -EBADMSG, "samba challenge cut to %zu", n);
		free(p);
	}
	for (size_t i = 0; i < chal_len; i++) {
		uint8_t *p = malloc(chal_len);
		memcpy(p, chal, chal_len);
		p[i] ^= 0xff;
		int rc = try_auth(p, chal_len);
		ck_assert(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP);
		free(p);
	}
}
END_TEST

/* Without the legacy provider MD4/RC4 fail with -ENOTSUP (runs in a forked child). */
START_TEST(test_no_legacy_provider)
{
	uint8_t out[16];

	setenv("OPENSSL_MODULES", "/nonexistent-smbfuse-test", 1);
	ck_assert_int_eq(md_init(), -ENOTSUP);
	ck_assert_int_eq(md4_hash("", 0, out), -ENOTSUP);
	ck_assert_int_eq(rc4_crypt(out, 16, out, out, 16), -ENOTSUP);
	ck_assert_int_eq(md5_hash("abc", 3, out), 0);
	errno = 0;
	ck_assert_ptr_null(ntlmssp_new("User", "Domain", "Password", NULL));
	ck_assert_int_eq(errno, ENOTSUP);
}
END_TEST

static Suite *ntlmssp_suite(bool forking)
{
	Suite *s = suite_create("ntlmssp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_md_known_answers);
	tcase_add_test(tc, test_ntowf);
	tcase_add_test(tc, test_ntlmv2_response);
	tcase_add_test(tc, test_gss_wrapex_4244);
	tcase_add_test(tc, test_negotiate_message);
	tcase_add_test(tc, test_authenticate_4243);
	tcase_add_test(tc, test_mic_tracks_challenge);
	tcase_add_test(tc, test_server_timestamp_and_spn);
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_samba_transcript);
	tcase_add_test(tc, test_no_ess_no_keyexch);
	tcase_add_test(tc, test_anonymous);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_challenge_truncations);
	tcase_add_test(tc, test_challenge_bad_fields);
	tcase_add_test(tc, test_challenge_bad_av_pairs);
	tcase_add_test(tc, test_challenge_byte_flips);
	suite_add_tcase(s, tc);
	/* md.c initialises once per process, so this only works in a fresh child. */
	if (forking) {
		TCase *tl = tcase_create("no-legacy");
		tcase_add_test(tl, test_no_legacy_provider);
		suite_add_tcase(s, tl);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	srunner_add_suite(sr, ntlmssp_suite(srunner_fork_status(sr) == CK_FORK));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
