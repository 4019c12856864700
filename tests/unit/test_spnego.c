/*
 * test_spnego.c - SPNEGO token encode/parse (RFC 4178, MS-SPNG 2.2).
 *
 * Real-world tokens were captured from Samba 4.17.12 smbd (standalone server,
 * SMB 2.1 on 127.0.0.1) during an NTLMSSP login that smbd accepted:
 *   - the NEGOTIATE response security buffer (NegTokenInit2 with negHints),
 *   - the first SESSION_SETUP response (NegTokenResp, accept-incomplete,
 *     supportedMech NTLMSSP, responseToken = CHALLENGE_MESSAGE),
 *   - the final SESSION_SETUP response (accept-completed + mechListMIC),
 *   - the final response of an anonymous login (accept-completed only).
 * The Windows-style NegTokenInit2 is built from MS-SPNG 2.2.1 with the mech
 * list Windows Server offers (NEGOEX, MS-KRB5, KRB5, KRB5-U2U, NTLMSSP).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spnego.h"

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

/* Samba 4.17 NEGOTIATE response security buffer. */
static const char samba_neg_init[] =
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a"
    "3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c65"
    "6173655f69676e6f7265";

/* Samba 4.17 first SESSION_SETUP response: NegTokenResp carrying the CHALLENGE. */
static const char samba_resp1[] = "a181a230819fa0030a0101a10c060a2b06010401823702020aa281890481864e"
				  "544c4d53535000020000000e000e003800000035828ae20351c4165b700f9400"
				  "000000000000004000400046000000060100000000000f53004d004200540045"
				  "005300540002000e0053004d004200540045005300540001000e0053004d0042"
				  "005400450053005400040000000300040076006d0007000800569fea528f7cdd"
				  "0100000000";

/* Samba 4.17 final SESSION_SETUP response: accept-completed + mechListMIC. */
static const char samba_resp2[] = "a11b3019a0030a0100a3120410010000007dd6da05648a73ae00000000";

/* Samba 4.17 final response to an anonymous login. */
static const char samba_anon_resp2[] = "a1073005a0030a0100";

/* MS-SPNG 2.2.1 NegTokenInit2 as Windows Server sends it. */
static const char windows_neg_init[] =
    "607606062b0601050502a06c306aa03c303a060a2b06010401823702021e0609"
    "2a864882f71201020206092a864886f712010202060a2a864886f71201020203"
    "060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f"
    "696e5f5246433431373840706c656173655f69676e6f7265";

/* Our client token around a 40-byte NEGOTIATE_MESSAGE (the familiar 60 48 ... a2 2a 04 28). */
static const char client_init_hex[] =
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a"
    "04284e544c4d5353500001000000358208e2000000002800000000000000280000"
    "000601b01d0000000f";

static const char ntlm_mechtypes_hex[] = "300c060a2b06010401823702020a";

/* Views returned by the parser must point inside the input. */
static void check_views(const uint8_t *in, size_t len, const struct spnego_msg *m)
{
	if (m->mech_token) {
		ck_assert(m->mech_token >= in && m->mech_token_len <= len &&
			  (size_t)(m->mech_token - in) <= len - m->mech_token_len);
	}
	if (m->mech_list_mic) {
		ck_assert(m->mech_list_mic >= in && m->mech_list_mic_len <= len &&
			  (size_t)(m->mech_list_mic - in) <= len - m->mech_list_mic_len);
	}
	if (m->mech_types_der) {
		ck_assert(m->mech_types_der >= in && m->mech_types_der_len <= len &&
			  (size_t)(m->mech_types_der - in) <= len - m->mech_types_der_len);
	}
	ck_assert_uint_le(m->n_mechs, SPNEGO_MAX_MECHS);
}

/* Every proper prefix is rejected, and so is one trailing byte; heap copies for ASan. */
static void check_truncations(const uint8_t *tok, size_t len)
{
	struct spnego_msg m;

	for (size_t n = 0; n < len; n++) {
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, tok, n);
		int rc = spnego_parse(p, n, &m);
		ck_assert_msg(rc == (n ? -EBADMSG : -ENODATA), "prefix %zu/%zu: rc %d", n, len, rc);
		free(p);
	}
	uint8_t *p = malloc(len + 1);
	memcpy(p, tok, len);
	p[len] = 0;
	ck_assert_int_eq(spnego_parse(p, len + 1, &m), -EBADMSG);
	free(p);
}

/* Every byte flipped three ways: no crash, only 0 or -EBADMSG, views in bounds. */
static void check_flips(const uint8_t *tok, size_t len)
{
	static const uint8_t xors[] = {0x01, 0x80, 0xff};
	struct spnego_msg m;

	for (size_t i = 0; i < len; i++) {
		for (size_t x = 0; x < sizeof(xors); x++) {
			uint8_t *p = malloc(len);
			memcpy(p, tok, len);
			p[i] ^= xors[x];
			int rc = spnego_parse(p, len, &m);
			ck_assert_msg(rc == 0 || rc == -EBADMSG, "byte %zu: rc %d", i, rc);
			if (rc == 0)
				check_views(p, len, &m);
			free(p);
		}
	}
}

START_TEST(test_mechtypes_der)
{
	uint8_t *out = NULL;
	size_t len = 0;
	enum spnego_mech one[] = {SPNEGO_MECH_NTLMSSP};
	enum spnego_mech three[] = {SPNEGO_MECH_MSKRB5, SPNEGO_MECH_KRB5, SPNEGO_MECH_NTLMSSP};
	HEX(ntlm, "300c060a2b06010401823702020a");
	HEX(krb_ntlm, "3022"
		      "06092a864882f712010202"
		      "06092a864886f712010202"
		      "060a2b06010401823702020a");

	ck_assert_int_eq(spnego_mechtypes_der(one, 1, &out, &len), 0);
	ck_assert_uint_eq(len, sizeof(ntlm));
	ck_assert_mem_eq(out, ntlm, len);
	free(out);
	ck_assert_int_eq(spnego_mechtypes_der(three, 3, &out, &len), 0);
	ck_assert_uint_eq(len, sizeof(krb_ntlm));
	ck_assert_mem_eq(out, krb_ntlm, len);
	free(out);

	enum spnego_mech bad[] = {SPNEGO_MECH_UNKNOWN};
	ck_assert_int_eq(spnego_mechtypes_der(bad, 1, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(spnego_mechtypes_der(one, 0, &out, &len), -EINVAL);
}
END_TEST

START_TEST(test_init_token_bytes)
{
	HEX(want, client_init_hex);
	HEX(mt, ntlm_mechtypes_hex);
	const uint8_t *neg = want + 34; /* the NTLMSSP NEGOTIATE inside */
	enum spnego_mech mechs[] = {SPNEGO_MECH_NTLMSSP};
	uint8_t *out = NULL;
	size_t len = 0;
	struct spnego_msg m;

	ck_assert_int_eq(spnego_init_token(mechs, 1, neg, 40, &out, &len), 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(out, want, len);

	/* round trip: the parser accepts our own NegTokenInit */
	ck_assert_int_eq(spnego_parse(out, len, &m), 0);
	ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_INIT);
	ck_assert_uint_eq(m.n_mechs, 1);
	ck_assert_uint_eq(m.total_mechs, 1);
	ck_assert_int_eq(m.mechs[0], SPNEGO_MECH_NTLMSSP);
	ck_assert_uint_eq(m.mech_token_len, 40);
	ck_assert_mem_eq(m.mech_token, neg, 40);
	ck_assert_uint_eq(m.mech_types_der_len, sizeof(mt));
	ck_assert_mem_eq(m.mech_types_der, mt, sizeof(mt));
	ck_assert_int_eq(m.neg_state, SPNEGO_NEG_STATE_ABSENT);
	ck_assert_ptr_null(m.mech_list_mic);
	check_truncations(out, len);
	check_flips(out, len);
	free(out);

	/* no mechToken */
	ck_assert_int_eq(spnego_init_token(mechs, 1, NULL, 0, &out, &len), 0);
	ck_assert_int_eq(spnego_parse(out, len, &m), 0);
	ck_assert_ptr_null(m.mech_token);
	ck_assert_uint_eq(m.n_mechs, 1);
	free(out);

	ck_assert_int_eq(spnego_init_token(mechs, 1, NULL, 5, &out, &len), -EINVAL);
	ck_assert_int_eq(spnego_init_token(mechs, 0, neg, 40, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

/* Long-form lengths (1, 2 and 3 length octets) survive the round trip. */
START_TEST(test_round_trip_sizes)
{
	static const size_t sizes[] = {1, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0xffff, 0x10000, 70000};
	enum spnego_mech mechs[] = {SPNEGO_MECH_KRB5, SPNEGO_MECH_NTLMSSP};
	struct spnego_msg m;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], len;
		uint8_t *tok = malloc(n), *out = NULL, mic[16];

		for (size_t k = 0; k < n; k++)
			tok[k] = (uint8_t)(k * 7 + 3);
		memset(mic, 0x5a, sizeof(mic));

		ck_assert_int_eq(spnego_init_token(mechs, 2, tok, n, &out, &len), 0);
		ck_assert_int_eq(spnego_parse(out, len, &m), 0);
		ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_INIT);
		ck_assert_uint_eq(m.n_mechs, 2);
		ck_assert(spnego_has_mech(&m, SPNEGO_MECH_KRB5));
		ck_assert(spnego_has_mech(&m, SPNEGO_MECH_NTLMSSP));
		ck_assert(!spnego_has_mech(&m, SPNEGO_MECH_MSKRB5));
		ck_assert_uint_eq(m.mech_token_len, n);
		ck_assert_mem_eq(m.mech_token, tok, n);
		if (n < 300)
			check_truncations(out, len);
		free(out);

		ck_assert_int_eq(spnego_resp_token(tok, n, mic, 16, &out, &len), 0);
		ck_assert_int_eq(spnego_parse(out, len, &m), 0);
		ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_RESP);
		ck_assert_int_eq(m.neg_state, SPNEGO_NEG_STATE_ABSENT);
		ck_assert(!m.has_supported_mech);
		ck_assert_uint_eq(m.mech_token_len, n);
		ck_assert_mem_eq(m.mech_token, tok, n);
		ck_assert_uint_eq(m.mech_list_mic_len, 16);
		ck_assert_mem_eq(m.mech_list_mic, mic, 16);
		if (n < 300)
			check_truncations(out, len);
		free(out);
		free(tok);
	}
}
END_TEST

START_TEST(test_resp_token_bytes)
{
	uint8_t tok[3] = {0xde, 0xad, 0x01}, mic[4] = {1, 2, 3, 4}, *out = NULL;
	size_t len = 0;
	struct spnego_msg m;

	/* RFC 4178 4.2.2: [1] { SEQUENCE { [2] OCTET STRING, [3] OCTET STRING } } */
	HEX(both, "a111300fa2050403dead01a306040401020304");
	ck_assert_int_eq(spnego_resp_token(tok, 3, mic, 4, &out, &len), 0);
	ck_assert_uint_eq(len, sizeof(both));
	ck_assert_mem_eq(out, both, len);
	free(out);

	HEX(tok_only, "a1093007a2050403dead01");
	ck_assert_int_eq(spnego_resp_token(tok, 3, NULL, 0, &out, &len), 0);
	ck_assert_mem_eq(out, tok_only, sizeof(tok_only));
	free(out);

	HEX(mic_only, "a10a3008a306040401020304");
	ck_assert_int_eq(spnego_resp_token(NULL, 0, mic, 4, &out, &len), 0);
	ck_assert_mem_eq(out, mic_only, sizeof(mic_only));
	ck_assert_int_eq(spnego_parse(out, len, &m), 0);
	ck_assert_ptr_null(m.mech_token);
	ck_assert_uint_eq(m.mech_list_mic_len, 4);
	free(out);

	ck_assert_int_eq(spnego_resp_token(NULL, 0, NULL, 0, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_samba_negotiate)
{
	HEX(tok, samba_neg_init);
	HEX(mt, ntlm_mechtypes_hex);
	struct spnego_msg m;

	ck_assert_int_eq(spnego_parse(tok, sizeof(tok), &m), 0);
	ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_INIT);
	ck_assert_uint_eq(m.n_mechs, 1);
	ck_assert_int_eq(m.mechs[0], SPNEGO_MECH_NTLMSSP);
	ck_assert(spnego_has_mech(&m, SPNEGO_MECH_NTLMSSP));
	ck_assert(!spnego_has_mech(&m, SPNEGO_MECH_KRB5));
	ck_assert_ptr_null(m.mech_token);
	ck_assert_ptr_null(m.mech_list_mic); /* negHints [3] is not a MIC */
	ck_assert_uint_eq(m.mech_types_der_len, sizeof(mt));
	ck_assert_mem_eq(m.mech_types_der, mt, sizeof(mt));
	check_truncations(tok, sizeof(tok));
	check_flips(tok, sizeof(tok));
}
END_TEST

START_TEST(test_windows_negotiate)
{
	HEX(tok, windows_neg_init);
	struct spnego_msg m;
	static const enum spnego_mech want[] = {SPNEGO_MECH_NEGOEX, SPNEGO_MECH_MSKRB5,
						SPNEGO_MECH_KRB5, SPNEGO_MECH_KRB5_U2U,
						SPNEGO_MECH_NTLMSSP};

	ck_assert_int_eq(spnego_parse(tok, sizeof(tok), &m), 0);
	ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_INIT);
	ck_assert_uint_eq(m.n_mechs, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(m.mechs[i], want[i]);
	ck_assert_uint_eq(m.mech_types_der_len, 0x3c);
	check_truncations(tok, sizeof(tok));
	check_flips(tok, sizeof(tok));

	/* the same body without the GSS-API wrapper is accepted too */
	ck_assert_int_eq(spnego_parse(tok + 10, sizeof(tok) - 10, &m), 0);
	ck_assert_uint_eq(m.n_mechs, 5);
}
END_TEST

START_TEST(test_samba_session_setup)
{
	HEX(r1, samba_resp1);
	HEX(r2, samba_resp2);
	HEX(anon, samba_anon_resp2);
	struct spnego_msg m;

	ck_assert_int_eq(spnego_parse(r1, sizeof(r1), &m), 0);
	ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_RESP);
	ck_assert_int_eq(m.neg_state, SPNEGO_ACCEPT_INCOMPLETE);
	ck_assert(m.has_supported_mech);
	ck_assert_int_eq(m.supported_mech, SPNEGO_MECH_NTLMSSP);
	ck_assert(spnego_has_mech(&m, SPNEGO_MECH_NTLMSSP));
	ck_assert_uint_eq(m.mech_token_len, 134);
	ck_assert_mem_eq(m.mech_token, "NTLMSSP\0\2\0\0\0", 12);
	ck_assert_ptr_null(m.mech_list_mic);
	check_truncations(r1, sizeof(r1));
	check_flips(r1, sizeof(r1));

	ck_assert_int_eq(spnego_parse(r2, sizeof(r2), &m), 0);
	ck_assert_int_eq(m.neg_state, SPNEGO_ACCEPT_COMPLETED);
	ck_assert(!m.has_supported_mech);
	ck_assert_ptr_null(m.mech_token);
	ck_assert_uint_eq(m.mech_list_mic_len, 16);
	ck_assert_mem_eq(m.mech_list_mic, r2 + sizeof(r2) - 16, 16);
	check_truncations(r2, sizeof(r2));
	check_flips(r2, sizeof(r2));

	ck_assert_int_eq(spnego_parse(anon, sizeof(anon), &m), 0);
	ck_assert_int_eq(m.neg_state, SPNEGO_ACCEPT_COMPLETED);
	ck_assert_ptr_null(m.mech_list_mic);
	check_truncations(anon, sizeof(anon));
}
END_TEST

START_TEST(test_neg_states)
{
	struct spnego_msg m;
	HEX(reject, "a1073005a0030a0102");
	HEX(reqmic, "a1073005a0030a0103");
	HEX(bad4, "a1073005a0030a0104");
	HEX(long_enum, "a1083006a0040a020001");
	HEX(empty, "a1023000");

	ck_assert_int_eq(spnego_parse(reject, sizeof(reject), &m), 0);
	ck_assert_int_eq(m.neg_state, SPNEGO_REJECT);
	ck_assert_int_eq(spnego_parse(reqmic, sizeof(reqmic), &m), 0);
	ck_assert_int_eq(m.neg_state, SPNEGO_REQUEST_MIC);
	ck_assert_int_eq(spnego_parse(bad4, sizeof(bad4), &m), -EBADMSG);
	ck_assert_int_eq(spnego_parse(long_enum, sizeof(long_enum), &m), -EBADMSG);
	ck_assert_int_eq(spnego_parse(empty, sizeof(empty), &m), 0);
	ck_assert_int_eq(m.kind, SPNEGO_NEG_TOKEN_RESP);
	ck_assert_int_eq(m.neg_state, SPNEGO_NEG_STATE_ABSENT);
}
END_TEST

START_TEST(test_malformed)
{
	struct spnego_msg m;
	static const char *const bad[] = {
	    "a1803005a0030a0100",	  /* indefinite length */
	    "a1093007a0030a0100a580",	  /* indefinite length in an ignored element */
	    "a184000000073005a0030a0100", /* 4 length octets */
	    "a1083005a0030a0100",	  /* outer length too long */
	    "a1063005a0030a0100",	  /* outer length too short */
	    "a1073006a0030a0100",	  /* SEQUENCE longer than parent */
	    "a1073105a0030a0100",	  /* not a SEQUENCE */
	    "a1073005a0040a0100",	  /* [0] longer than SEQUENCE */
	    "a1153013a10c060a2b06010401823702020aa0030a0100", /* tags out of order */
	    "a10c300aa0030a0100a0030a0100",		      /* duplicate [0] */
	    "a1073005a0030401ff",			      /* negState not ENUMERATED */
	    "a10a3008a0030a0100300100",		/* universal tag inside NegTokenResp */
	    "a1073005a2030a0100",		/* responseToken not an OCTET STRING */
	    "a1093007a2050401ff0400",		/* two elements inside [2] */
	    "a1053003a10100",			/* empty supportedMech element */
	    "a1083006a1040600aaaa",		/* [1] with OID plus trailing bytes */
	    "a1053003a1020600",			/* zero-length OID */
	    "bf1f0100",				/* high tag number */
	    "3000",				/* bare SEQUENCE */
	    "a2023000",				/* [2] at top level */
	    "600c06062b0601050503a0023000",	/* wrong thisMech OID */
	    "600c06062b0601050502a1023000",	/* GSS wrapper around [1] */
	    "600e06062b0601050502a0023000ff00", /* data after innerContextToken */
	    "a00a3008a0023000a0023000",		/* duplicate mechTypes */
	    "a0073005a0033001ff",		/* junk in mechTypes */
	    "a0063004a0020600",			/* mechTypes not a SEQUENCE */
	    "a0053003a30100",			/* [3] neither MIC nor negHints */
	    "a0063004a3023100",			/* negHints not a SEQUENCE */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[64];
		size_t n = unhex(bad[i], buf, sizeof(buf));
		uint8_t *p = malloc(n);
		memcpy(p, buf, n);
		ck_assert_msg(spnego_parse(p, n, &m) == -EBADMSG, "case %zu (%s) accepted", i,
			      bad[i]);
		ck_assert_int_eq(m.kind, 0);
		ck_assert_ptr_null(m.mech_token);
		free(p);
	}
	ck_assert_int_eq(spnego_parse(NULL, 0, &m), -ENODATA);
	ck_assert_int_eq(spnego_parse((const uint8_t *)"", 0, &m), -ENODATA);
}
END_TEST

/* Deep nesting and many mechs: bounded work, no recursion, counts kept. */
START_TEST(test_limits)
{
	struct spnego_msg m;
	enum { DEPTH = 5000 };
	uint8_t *deep = malloc(2 * DEPTH);

	/* a0 80 a0 80 ... is rejected at the first indefinite length */
	for (size_t i = 0; i < DEPTH; i++) {
		deep[2 * i] = 0xa0;
		deep[2 * i + 1] = 0x80;
	}
	ck_assert_int_eq(spnego_parse(deep, 2 * DEPTH, &m), -EBADMSG);
	free(deep);

	/* 20 OIDs: 8 remembered, 20 counted; unknown OIDs map to UNKNOWN */
	uint8_t buf[512];
	size_t off = 0, body = 20 * 5;
	buf[off++] = 0xa0;
	buf[off++] = 0x81;
	buf[off++] = (uint8_t)(body + 3 + 3 + 2);
	buf[off++] = 0x30;
	buf[off++] = 0x81;
	buf[off++] = (uint8_t)(body + 3 + 2);
	buf[off++] = 0xa0;
	buf[off++] = 0x81;
	buf[off++] = (uint8_t)(body + 2);
	buf[off++] = 0x30;
	buf[off++] = (uint8_t)body;
	for (int i = 0; i < 20; i++) {
		buf[off++] = 0x06;
		buf[off++] = 3;
		buf[off++] = 0x2a;
		buf[off++] = 0x03;
		buf[off++] = (uint8_t)i;
	}
	ck_assert_int_eq(spnego_parse(buf, off, &m), 0);
	ck_assert_uint_eq(m.n_mechs, SPNEGO_MAX_MECHS);
	ck_assert_uint_eq(m.total_mechs, 20);
	ck_assert_int_eq(m.mechs[0], SPNEGO_MECH_UNKNOWN);
	check_truncations(buf, off);
}
END_TEST

static Suite *spnego_suite(void)
{
	Suite *s = suite_create("spnego");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mechtypes_der);
	tcase_add_test(tc, test_init_token_bytes);
	tcase_add_test(tc, test_round_trip_sizes);
	tcase_add_test(tc, test_resp_token_bytes);
	tcase_add_test(tc, test_samba_negotiate);
	tcase_add_test(tc, test_windows_negotiate);
	tcase_add_test(tc, test_samba_session_setup);
	tcase_add_test(tc, test_neg_states);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spnego_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
