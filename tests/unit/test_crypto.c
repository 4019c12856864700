/*
 * test_crypto.c - known-answer and robustness tests for src/crypto/.
 *
 * Sources of the vectors (each use below names its source again):
 *  [RFC4493]  RFC 4493 section 4, AES-CMAC examples 1-4.
 *  [NISTGCM]  NIST CAVS 14.0 gcmEncryptExtIV128.rsp / gcmEncryptExtIV256.rsp
 *             (IVlen 96, Taglen 128, Count 0 of the named PTlen/AADlen).
 *  [NISTCCM]  NIST CAVS 11.0 CCM VNT128.rsp / VNT256.rsp, [Nlen = 11], Count 40
 *             (Alen 32, Plen 24, Tlen 16: the SMB shapes).
 *  [MS-ENC30] Microsoft Open Specifications blog, "Encryption in SMB 3.0: A
 *             protocol perspective" (E. Olougouna, 2012-10-05), Test vector
 *             section: Windows 8 client / Windows Server 2012, AES-128-CCM.
 *  [MS-PAI]   Microsoft Open Specifications blog, "SMB 3.1.1 Pre-authentication
 *             integrity in Windows 10" (2015-08-11), test vectors; transcribed
 *             as in emc-isilon/pike pike/test/test_smb3_encryption_vector.py.
 *  [MS-ENC311] Microsoft Open Specifications blog, "SMB 3.1.1 Encryption in
 *             Windows 10" (2015-09-09), Appendix A.1 (AES-128-GCM) and
 *             Appendix A.2 (AES-128-CCM).
 *  [SMBLIB]   TalAloni/SMBLibrary SMBLibrary.Tests/SMB2SigningTests.cs: two
 *             HMAC-SHA256-signed SMB 2.x responses captured from a server
 *             (third-party; no Microsoft-published 2.x signing example found).
 *
 * Nothing Microsoft published covers AES-GMAC signing, AES-256-CCM/GCM
 * sealing or the 256-bit KDF output; those are covered by the primitives'
 * NIST vectors, structural checks, round trips and tamper tests.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <openssl/evp.h>

#include "crypto/kdf.h"
#include "crypto/seal.h"
#include "crypto/sign.h"
#include "wire/smb2.h"

/* ---- hex helpers: buffers live until the test's teardown ---- */

#define ARENA_MAX 1024
static uint8_t *arena[ARENA_MAX];
static int arena_n;

static void arena_free(void)
{
	for (int i = 0; i < arena_n; i++)
		free(arena[i]);
	arena_n = 0;
}

static void *arena_alloc(size_t n)
{
	uint8_t *p;

	ck_assert_int_lt(arena_n, ARENA_MAX);
	p = calloc(1, n ? n : 1);
	ck_assert_ptr_nonnull(p);
	arena[arena_n++] = p;
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex (whitespace ignored) into a fresh buffer; *n gets the length. */
static uint8_t *unhex(const char *s, size_t *n)
{
	size_t len = 0, cap = strlen(s) / 2 + 1;
	uint8_t *out = arena_alloc(cap);
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\n' || *s == '\t')
			continue;
		v = hexval(*s);
		ck_assert_msg(v >= 0, "bad hex digit '%c'", *s);
		if (hi < 0) {
			hi = v;
		} else {
			out[len++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	if (n)
		*n = len;
	return out;
}

static uint8_t *copy(const void *p, size_t n)
{
	uint8_t *q = arena_alloc(n);

	memcpy(q, p, n);
	return q;
}

#define ck_assert_bytes(got, want, n) ck_assert_mem_eq(got, want, n)

/* Check smb3_kdf(key, label, context) == expected (16 bytes). */
static void check_kdf16(const char *key_hex, const void *label, size_t label_len, const void *ctx,
			size_t ctx_len, const char *want_hex)
{
	size_t klen;
	uint8_t *key = unhex(key_hex, &klen);
	uint8_t *want = unhex(want_hex, NULL);
	uint8_t out[16];

	ck_assert_int_eq(smb3_kdf(key, klen, label, label_len, ctx, ctx_len, out, 16), 0);
	ck_assert_bytes(out, want, 16);
}

/* =====================================================================
 * [RFC4493] AES-CMAC
 * ===================================================================== */

#define RFC4493_KEY "2b7e151628aed2a6abf7158809cf4f3c"
#define RFC4493_M64                                                                                \
	"6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"                        \
	"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710"

START_TEST(test_cmac_rfc4493)
{
	/* [RFC4493] Examples 1-4: message lengths 0, 16, 40, 64. */
	static const struct {
		size_t mlen;
		const char *mac;
	} ex[] = {
	    {0, "bb1d6929e95937287fa37d129b756746"},
	    {16, "070a16b46b4d4144f79bdd9dd04a287c"},
	    {40, "dfa66747de9ae63030ca32611497c827"},
	    {64, "51f0bebf7e3b9d92fc49741779363cfe"},
	};
	uint8_t *key = unhex(RFC4493_KEY, NULL);
	uint8_t *m = unhex(RFC4493_M64, NULL);
	uint8_t mac[16];

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct iovec iov = {m, ex[i].mlen};

		ck_assert_int_eq(smb2_cmac_iov(key, &iov, ex[i].mlen ? 1 : 0, mac), 0);
		ck_assert_bytes(mac, unhex(ex[i].mac, NULL), 16);
	}

	/* Example 4 split at every offset, and through smb2_sign_iov (64 bytes). */
	uint8_t *mac4 = unhex(ex[3].mac, NULL);

	for (size_t cut = 0; cut <= 64; cut++) {
		struct iovec iov[3] = {{m, cut}, {NULL, 0}, {m + cut, 64 - cut}};

		ck_assert_int_eq(smb2_cmac_iov(key, iov, 3, mac), 0);
		ck_assert_bytes(mac, mac4, 16);
		ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_CMAC, key, iov, 3, mac), 0);
		ck_assert_bytes(mac, mac4, 16);
	}
}
END_TEST

/* =====================================================================
 * [NISTGCM] GMAC (GCM with empty plaintext)
 * ===================================================================== */

START_TEST(test_gmac_nist)
{
	/* [NISTGCM] gcmEncryptExtIV128.rsp PTlen=0 AADlen=128 Count=0 */
	uint8_t *k1 = unhex("77be63708971c4e240d1cb79e8d77feb", NULL);
	uint8_t *iv1 = unhex("e0e00f19fed7ba0136a797f3", NULL);
	size_t a1len;
	uint8_t *a1 = unhex("7a43ec1d9c0a5a78a0b16533a6213cab", &a1len);
	/* [NISTGCM] gcmEncryptExtIV128.rsp PTlen=0 AADlen=720 Count=0 */
	uint8_t *k2 = unhex("20b5b6b854e187b058a84d57bc1538b6", NULL);
	uint8_t *iv2 = unhex("94c1935afc061cbf254b936f", NULL);
	size_t a2len;
	uint8_t *a2 = unhex("ca418e71dbf810038174eaa3719b3fcb80531c7110ad9192d105eeaafa15b819"
			    "ac005668752b344ed1b22faf77048baf03dbddb3b47d6b00e95c4f005e0cc9b7"
			    "627ccafd3f21b3312aa8d91d3fa0893fe5bff7d44ca46f23afe0",
			    &a2len);
	uint8_t mac[16];
	struct iovec iov = {a1, a1len};

	ck_assert_uint_eq(a2len, 90);
	ck_assert_int_eq(smb2_gmac_iov(k1, iv1, &iov, 1, mac), 0);
	ck_assert_bytes(mac, unhex("209fcc8d3675ed938e9c7166709dd946", NULL), 16);

	for (size_t cut = 0; cut <= a2len; cut += 7) {
		struct iovec v[2] = {{a2, cut}, {a2 + cut, a2len - cut}};

		ck_assert_int_eq(smb2_gmac_iov(k2, iv2, v, 2, mac), 0);
		ck_assert_bytes(mac, unhex("b37286ebaf4a54e0ffc2a1deafc9f6db", NULL), 16);
	}
}
END_TEST

/* =====================================================================
 * [NISTGCM] [NISTCCM] AEAD primitives through smb3_aead_seal/open
 * ===================================================================== */

struct aead_kat {
	const char *name;
	uint16_t cipher;
	const char *key, *nonce, *aad, *pt, *ct_tag;
};

static const struct aead_kat aead_kats[] = {
    /* [NISTGCM] gcmEncryptExtIV128.rsp PTlen=408 AADlen=160 Count=0 */
    {"gcm128", SMB2_ENCRYPTION_AES128_GCM, "fe47fcce5fc32665d2ae399e4eec72ba",
     "5adb9609dbaeb58cbd6e7275", "88319d6e1d3ffa5f987199166c8a9b56c2aeba5a",
     "7c0e88c88899a779228465074797cd4c2e1498d259b54390b85e3eef1c02df60"
     "e743f1b840382c4bccaf3bafb4ca8429bea063",
     "98f4826f05a265e6dd2be82db241c0fbbbf9ffb1c173aa83964b7cf539304373"
     "6365253ddbc5db8778371495da76d269e5db3e"
     "291ef1982e4defedaa2249f898556b47"},
    /* [NISTGCM] gcmEncryptExtIV256.rsp PTlen=408 AADlen=160 Count=0 */
    {"gcm256", SMB2_ENCRYPTION_AES256_GCM,
     "24501ad384e473963d476edcfe08205237acfd49b5b8f33857f8114e863fec7f", "9ff18563b978ec281b3f2794",
     "adb5ec720ccf9898500028bf34afccbcaca126ef",
     "27f348f9cdc0c5bd5e66b1ccb63ad920ff2219d14e8d631b3872265cf117ee86"
     "757accb158bd9abb3868fdc0d0b074b5f01b2c",
     "eb7cb754c824e8d96f7c6d9b76c7d26fb874ffbf1d65c6f64a698d839b0b0614"
     "5dae82057ad55994cf59ad7f67c0fa5e85fab8"
     "bc95c532fecc594c36d1550286a7a3f0"},
    /* [NISTCCM] VNT128.rsp Nlen=11 Count=40 (CT = ciphertext || 16-byte tag) */
    {"ccm128", SMB2_ENCRYPTION_AES128_CCM, "e6ab9e70a4fb51b01c2e262233e64c0d",
     "74e689eb5af9441dd690a6", "42f6518ee0fbe42f28e13b4bb2eb60517b37c9744394d9143393a879c3e107c7",
     "ba15916733550d7aa82b2f6b117cd3f54c83ddc16cd0288a",
     "dcc151443288f35d39ed8fae6f0ce1d1eb656f4f7fd65c0b16f322ce85d7c54e71ac560fd4da9651"},
    /* [NISTCCM] VNT256.rsp Nlen=11 Count=40 */
    {"ccm256", SMB2_ENCRYPTION_AES256_CCM,
     "97bc7482a87ba005475dfa3448f59d4b3f9c4c969d08b39b1b21ef965c0f5125", "0bcf78103ec52d6df28887",
     "049c10f0cb37ae08eae2d0766563b7c5a8454f841c2061a4f71a0a2158ae6ce5",
     "b99bf4dc781795fc4d3a8467b06e1665d4e543657f23129f",
     "0d3891fa0caac1f7ebe41b480920ffd34d4155064c24f3b17a483163dd8f228d1f20cd4f86cf38fd"},
};

START_TEST(test_aead_nist)
{
	const struct aead_kat *v = &aead_kats[_i];
	size_t alen, plen, clen;
	uint8_t *key = unhex(v->key, NULL);
	uint8_t *nonce = unhex(v->nonce, NULL);
	uint8_t *aad = unhex(v->aad, &alen);
	uint8_t *pt = unhex(v->pt, &plen);
	uint8_t *ct = unhex(v->ct_tag, &clen);
	uint8_t *buf = arena_alloc(plen);
	uint8_t tag[16];

	ck_assert_uint_eq(clen, plen + 16);
	ck_assert_uint_eq(smb3_cipher_nonce_len(v->cipher), strlen(v->nonce) / 2);

	/* Seal, with the plaintext split in two iovecs. */
	for (size_t cut = 0; cut <= plen; cut += 5) {
		struct iovec iov[2] = {{pt, cut}, {pt + cut, plen - cut}};

		memset(buf, 0, plen);
		ck_assert_int_eq(smb3_aead_seal(v->cipher, key, nonce, aad, alen, iov, 2, buf, tag),
				 0);
		ck_assert_bytes(buf, ct, plen);
		ck_assert_bytes(tag, ct + plen, 16);
	}

	/* Seal in place. */
	memcpy(buf, pt, plen);
	{
		struct iovec iov = {buf, plen};

		ck_assert_int_eq(
		    smb3_aead_seal(v->cipher, key, nonce, aad, alen, &iov, 1, buf, tag), 0);
	}
	ck_assert_bytes(buf, ct, plen);

	/* Open in place. */
	ck_assert_int_eq(smb3_aead_open(v->cipher, key, nonce, aad, alen, buf, plen, ct + plen), 0);
	ck_assert_bytes(buf, pt, plen);

	/* Wrong tag: -EBADMSG and the buffer is wiped. */
	memcpy(buf, ct, plen);
	memcpy(tag, ct + plen, 16);
	tag[15] ^= 1;
	ck_assert_int_eq(smb3_aead_open(v->cipher, key, nonce, aad, alen, buf, plen, tag),
			 -EBADMSG);
	for (size_t i = 0; i < plen; i++)
		ck_assert_uint_eq(buf[i], 0);

	/* Wrong AAD. */
	memcpy(buf, ct, plen);
	aad[0] ^= 0x80;
	ck_assert_int_eq(smb3_aead_open(v->cipher, key, nonce, aad, alen, buf, plen, ct + plen),
			 -EBADMSG);
}
END_TEST

/* =====================================================================
 * [SMBLIB] HMAC-SHA256 signing (SMB 2.x)
 * ===================================================================== */

START_TEST(test_hmac_sha256_smb2)
{
	/* [SMBLIB] Test1 and Test2: signed error responses to IOCTL. */
	static const struct {
		const char *key, *pdu;
	} v[] = {
	    {"D38354CC374339F0524F789146789921",
	     "fe534d4240000100280100c00b000700 0900000000000000 0400000000000000"
	     "fffe000001000000 0100000000040000 fbd284340324c62fbebb65dd1051f3ae"
	     "0900000000000000ff"},
	    {"04E707571F8E0353B77A94C3653B87B5",
	     "fe534d4240000100280100c00b000700 0900000000000000 0400000000000000"
	     "fffe000001000000 0500000000040000 a164ffe53d6811981f386772e387e06f"
	     "0900000000000000ff"},
	};

	for (size_t i = 0; i < 2; i++) {
		size_t len;
		uint8_t *key = unhex(v[i].key, NULL);
		uint8_t *pdu = unhex(v[i].pdu, &len);
		uint8_t *orig = copy(pdu, len);

		ck_assert_uint_eq(len, 73);
		ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_HMAC_SHA256, key, pdu, len), 0);
		ck_assert_bytes(pdu, orig, len);
		memset(pdu + 48, 0xAA, 16);
		ck_assert_int_eq(smb2_sign_pdu(SMB2_SIGNING_HMAC_SHA256, key, pdu, len), 0);
		ck_assert_bytes(pdu, orig, len);
	}
}
END_TEST

/* =====================================================================
 * [MS-PAI] SMB 3.1.1 pre-authentication integrity chain and signing key
 * ===================================================================== */

static const char *const pai_msgs[] = {
    /* NEGOTIATE request */
    "FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32"
    "6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000"
    "010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000"
    "0200060000000000020002000100",
    /* NEGOTIATE response */
    "FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000"
    "000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
    "BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001"
    "80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
    "3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
    "60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51"
    "FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000"
    "5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
    "7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
    "3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
    "6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
    "626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4"
    "83CA5B65385A251117BEB30712E50000020004000000000001000200",
    /* SESSION_SETUP request 1 */
    "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
    "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
    "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
    "000F",
    /* SESSION_SETUP response 1 (MORE_PROCESSING_REQUIRED) */
    "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000"
    "190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
    "0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
    "00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53"
    "005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
    "00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1"
    "A1F5ADCBAED00100000000",
    /* SESSION_SETUP request 2 */
    "FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000"
    "1900000000100000000000000000000000000000000000001900000101000000000000005800CF01"
    "0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
    "001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
    "001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055"
    "005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
    "0056004500520033003100310000000000000000000000000000000000000000000000000063078E"
    "B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000"
    "0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
    "00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004"
    "00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
    "8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
    "0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F"
    "5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000",
};

static const char *const pai_hashes[] = {
    "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C736"
    "2B8C47122594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
    "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE"
    "3C94A79F36011E997E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513",
    "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5"
    "D432F8ED42C55E33197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9",
    "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B88357"
    "40A73760085633364C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387",
    "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
    "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
};

START_TEST(test_preauth_ms_pai)
{
	struct preauth_hash h;
	struct smb3_keys keys;
	uint8_t *sk;

	preauth_init(&h);
	for (size_t i = 0; i < 5; i++) {
		size_t len;
		uint8_t *m = unhex(pai_msgs[i], &len);

		ck_assert_int_eq(preauth_update(&h, m, len), 0);
		ck_assert_bytes(h.h, unhex(pai_hashes[i], NULL), 64);
	}

	/* [MS-PAI] SessionKey -> SigningKey with the final hash as context. */
	sk = unhex("270E1BA896585EEB7AF3472D3B4C75A7", NULL);
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES128_GCM, sk, 16, h.h, &keys), 0);
	ck_assert_bytes(keys.signing, unhex("73FE7A9A77BEF0BDE49C650D8CCB5F76", NULL), 16);
	smb3_keys_wipe(&keys);
}
END_TEST

START_TEST(test_preauth_iov_split)
{
	/* The iovec form over any split equals the flat form. */
	size_t len;
	uint8_t *m = unhex(pai_msgs[1], &len);
	struct preauth_hash a, b;

	preauth_init(&a);
	ck_assert_int_eq(preauth_update(&a, m, len), 0);
	for (size_t cut = 0; cut <= len; cut += 13) {
		struct iovec iov[3] = {
		    {m, cut / 2}, {m + cut / 2, cut - cut / 2}, {m + cut, len - cut}};

		preauth_init(&b);
		ck_assert_int_eq(preauth_update_iov(&b, iov, 3), 0);
		ck_assert_bytes(b.h, a.h, 64);
	}
	ck_assert_int_eq(preauth_update_iov(&b, NULL, -1), -EINVAL);
}
END_TEST

/* =====================================================================
 * [MS-ENC30] SMB 3.0 keys and AES-128-CCM
 * ===================================================================== */

#define ENC30_SESSION_KEY "B4546771B515F766A86735532DD6C4F0"
#define ENC30_SESSION_ID UINT64_C(0x8e40014000011)
#define ENC30_ENC_KEY "261B72350558F2E9DCF613070383EDBF"
#define ENC30_DEC_KEY "8FE2B57EC34D2DB5B1A9727F526BBDB5"

/* WRITE request plaintext, nonce and transformed message */
#define ENC30_WRITE_REQ                                                                            \
	"FE534D4240000100000000000900400008000000000000000400000000000000"                         \
	"FFFE0000010000001100001400E4080000000000000000000000000000000000"                         \
	"3100700017000000000000000000000015010000390000020100000039020000"                         \
	"00000000000000007000000000000000536D623320656E6372797074696F6E20"                         \
	"74657374696E67"
#define ENC30_WRITE_NONCE "66E69A111892584FB5ED524A744DA3EE"
#define ENC30_WRITE_REQ_TF                                                                         \
	"FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"                         \
	"744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"                         \
	"2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"                         \
	"4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"                         \
	"AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"                         \
	"C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB"
/* WRITE response: transformed and decrypted */
#define ENC30_WRITE_RSP_TF                                                                         \
	"FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"                         \
	"00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"                         \
	"E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"                         \
	"1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"                         \
	"77309E5B"
#define ENC30_WRITE_RSP                                                                            \
	"FE534D4240000100000000000900210009000000000000000400000000000000"                         \
	"FFFE0000010000001100001400E4080000000000000000000000000000000000"                         \
	"11000000170000000000000000000000"
/* READ request */
#define ENC30_READ_REQ                                                                             \
	"FE534D4240000100000000000800400008000000000000000500000000000000"                         \
	"FFFE0000010000001100001400E4080000000000000000000000000000000000"                         \
	"3100000017000000000000000000000015010000390000020100000039020000"                         \
	"0000000000000000000000000000000000"
#define ENC30_READ_NONCE "A5123A25F983E245983F413B8B429AF2"
#define ENC30_READ_REQ_TF                                                                          \
	"FD534D42E93601498B76D6F7A72D5EF9B6C79FAFA5123A25F983E245983F413B"                         \
	"8B429AF271000000000001001100001400E408009A464F709AA663F8C2FC3907"                         \
	"D63CBF6F98B1E3DD649ED366009FD0B40A365224718E5440E053F6E01AE462FD"                         \
	"B721BF91C3A6E52E14F9EFF005F445761289FF1272908B52754C8FCB949F228A"                         \
	"C104A66204289A205BCBC47509D04AF9A907002B96863358B3B7CBA5E3779300"                         \
	"74FCDF3550"
/* READ response */
#define ENC30_READ_RSP_TF                                                                          \
	"FD534D42ABD518B68C2F04D7879F482B689EB83F870000000000000011000014"                         \
	"00E4080067000000000001001100001400E40800493D6FE2BDBEB435CF5F5469"                         \
	"70C7BB57BF20E713C75A3D045507E0D68E5C0346659D6FFB8AC1504A786CA2BB"                         \
	"89C9E7FE4F313E910A04180D2D0EA7DF636329E5A3285984500EF86FE9D55DA4"                         \
	"FAB9531CFDD4C551D47F3C73124BB4590A45052B694048B991CCF5"
#define ENC30_READ_RSP                                                                             \
	"FE534D4240000100000000000800210009000000000000000500000000000000"                         \
	"FFFE0000010000001100001400E4080000000000000000000000000000000000"                         \
	"11005000170000000000000000000000536D623320656E6372797074696F6E20"                         \
	"74657374696E67"

START_TEST(test_keys_ms_enc30)
{
	/* [MS-ENC30] SessionKey -> SigningKey, EncryptionKey, DecryptionKey, ApplicationKey */
	uint8_t *sk = unhex(ENC30_SESSION_KEY, NULL);
	struct smb3_keys k;

	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0300, 0, sk, 16, NULL, &k), 0);
	ck_assert_bytes(k.signing, unhex("F773CD23C18FD1E08EE510CADA7CF852", NULL), 16);
	ck_assert_bytes(k.enc_c2s, unhex(ENC30_ENC_KEY, NULL), 16);
	ck_assert_bytes(k.dec_s2c, unhex(ENC30_DEC_KEY, NULL), 16);
	ck_assert_uint_eq(k.cipher_key_len, 16);
	smb3_keys_wipe(&k);

	/* 3.0.2 derives the same way; AES-128-CCM is the only 3.0.x cipher. */
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0302, SMB2_ENCRYPTION_AES128_CCM, sk, 16, NULL, &k), 0);
	ck_assert_bytes(k.enc_c2s, unhex(ENC30_ENC_KEY, NULL), 16);
	smb3_keys_wipe(&k);

	/* ApplicationKey = KDF(SessionKey, "SMB2APP\0", "SmbRpc\0") */
	check_kdf16(ENC30_SESSION_KEY, "SMB2APP", 8, "SmbRpc", 7,
		    "77432F808CE99156B5BC6A3676D730D1");
}
END_TEST

/*
 * Encrypt the request and compare with the published transformed message.
 * Windows filled the unused 5 Nonce bytes with non-zero data; we write zeros
 * there, so the ciphertext must match and the tag (over AAD) may not. The
 * published frame itself is then opened to check the tag over that AAD.
 */
static void check_enc30_request(const char *plain_hex, const char *nonce_hex, const char *tf_hex)
{
	size_t plen, tlen, olen;
	uint8_t *plain = unhex(plain_hex, &plen);
	uint8_t *nonce = unhex(nonce_hex, NULL);
	uint8_t *tf = unhex(tf_hex, &tlen);
	uint8_t *key = unhex(ENC30_ENC_KEY, NULL);
	uint8_t *out = arena_alloc(tlen);
	struct iovec iov = {plain, plen};
	uint64_t sid;
	size_t poff, pl;

	ck_assert_uint_eq(tlen, plen + SMB2_TRANSFORM_HDR_SIZE);
	ck_assert_int_eq(smb3_encrypt(SMB2_ENCRYPTION_AES128_CCM, key, ENC30_SESSION_ID, nonce,
				      &iov, 1, out, tlen, &olen),
			 0);
	ck_assert_uint_eq(olen, tlen);
	ck_assert_bytes(out, tf, 4);					    /* ProtocolId */
	ck_assert_bytes(out + TF_NONCE, tf + TF_NONCE, 11);		    /* AES_CCM_Nonce */
	ck_assert_bytes(out + TF_ORIG_MSG_SIZE, tf + TF_ORIG_MSG_SIZE, 16); /* size..SessionId */
	for (int i = TF_NONCE + 11; i < TF_ORIG_MSG_SIZE; i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert_bytes(out + 52, tf + 52, plen); /* ciphertext */

	/* Our own frame opens again. */
	ck_assert_int_eq(smb3_decrypt(SMB2_ENCRYPTION_AES128_CCM, key, out, olen, &sid, &poff, &pl),
			 0);
	ck_assert_bytes(out + poff, plain, plen);

	/* The published frame (server side of this key) opens to the same message. */
	ck_assert_int_eq(smb3_decrypt(SMB2_ENCRYPTION_AES128_CCM, key, tf, tlen, &sid, &poff, &pl),
			 0);
	ck_assert(sid == ENC30_SESSION_ID);
	ck_assert_uint_eq(poff, 52);
	ck_assert_uint_eq(pl, plen);
	ck_assert_bytes(tf + poff, plain, plen);
}

static void check_decrypt(uint16_t cipher, const char *key_hex, uint64_t want_sid,
			  const char *tf_hex, const char *plain_hex)
{
	size_t tlen, plen, poff, pl;
	uint8_t *tf = unhex(tf_hex, &tlen);
	uint8_t *plain = unhex(plain_hex, &plen);
	uint64_t sid = 0;

	ck_assert_int_eq(smb3_transform_session_id(tf, tlen, &sid), 0);
	ck_assert(sid == want_sid);
	sid = 0;
	ck_assert_int_eq(smb3_decrypt(cipher, unhex(key_hex, NULL), tf, tlen, &sid, &poff, &pl), 0);
	ck_assert(sid == want_sid);
	ck_assert_uint_eq(poff, SMB2_TRANSFORM_HDR_SIZE);
	ck_assert_uint_eq(pl, plen);
	ck_assert_bytes(tf + poff, plain, plen);
}

START_TEST(test_seal_ms_enc30)
{
	check_enc30_request(ENC30_WRITE_REQ, ENC30_WRITE_NONCE, ENC30_WRITE_REQ_TF);
	check_enc30_request(ENC30_READ_REQ, ENC30_READ_NONCE, ENC30_READ_REQ_TF);
	/* [MS-ENC30] server responses, decrypted with the client's DecryptionKey. */
	check_decrypt(SMB2_ENCRYPTION_AES128_CCM, ENC30_DEC_KEY, ENC30_SESSION_ID,
		      ENC30_WRITE_RSP_TF, ENC30_WRITE_RSP);
	check_decrypt(SMB2_ENCRYPTION_AES128_CCM, ENC30_DEC_KEY, ENC30_SESSION_ID,
		      ENC30_READ_RSP_TF, ENC30_READ_RSP);
}
END_TEST

/* =====================================================================
 * [MS-ENC311] Appendix A.1: SMB 3.1.1 with AES-128-GCM
 * ===================================================================== */

#define A1_SESSION_KEY "419FDDF34C1E001909D362AE7FB6AF79"
#define A1_SESSION_ID UINT64_C(0x100000000025)
#define A1_PREAUTH                                                                                 \
	"B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"                         \
	"A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770"
#define A1_SIGNING_KEY "8765949DFEAEE105CE9118B45BE988F0"
#define A1_ENC_KEY "A2F5E80E5D59103034F32E52F698E5EC"
#define A1_DEC_KEY "748C50868C90F302962A5C35F5F9A8BF"
/* Final SESSION_SETUP response, signed with SigningKey (AES-128-CMAC) */
#define A1_SS_RSP                                                                                  \
	"FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"         \
	"25000000001000006B85A4519A0F3EEA35BA946DD3AFE6B80900000048001D00A11B3019A0030A01"         \
	"00A3120410010000003932A87523AB660100000000"
#define A1_WRITE_REQ                                                                               \
	"FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"         \
	"25000000001000000000000000000000000000000000000031007000170000000000000000000000"         \
	"0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"         \
	"72797074696F6E2074657374696E67"
#define A1_WRITE_NONCE "C7D6822D269CAF48904C664C00000000"
#define A1_WRITE_REQ_TF                                                                            \
	"FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000"         \
	"0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02"         \
	"D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4"         \
	"4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"         \
	"1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8"
#define A1_WRITE_RSP_TF                                                                            \
	"FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"         \
	"00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"         \
	"F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"         \
	"82E03C9E18A050FF0EA1C967"
#define A1_WRITE_RSP                                                                               \
	"FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"         \
	"25000000001000000000000000000000000000000000000011000000170000000000000000000000"
#define A1_READ_REQ                                                                                \
	"FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000"         \
	"25000000001000000000000000000000000000000000000031000000170000000000000000000000"         \
	"060000000400000001000000040000000000000000000000000000000000000000"
#define A1_READ_NONCE "D7AA8C6D36859243B715E0A600000000"
#define A1_READ_REQ_TF                                                                             \
	"FD534D426DAC0B6FD85A3ED42BB917DA38FE0386D7AA8C6D36859243B715E0A60000000071000000"         \
	"00000100250000000010000088A47BF09CA3C3141CDD7306BE9D9475AB24FCCB833D77461C041F8F"         \
	"B983D0C188F0729272B31D9D3D0DC6B687C069EEE0CC8EACA2C536D019ACC9E185D1EB630E0FCB79"         \
	"3EEECEB06D82A1D77706E700DBEBFB4FEB54D7AD2D97E7288804F90757FE4D08D6A84A3FF433E745"         \
	"1E768E4699"
#define A1_READ_RSP_TF                                                                             \
	"FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000"         \
	"000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C"         \
	"BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500"         \
	"202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A"
#define A1_READ_RSP                                                                                \
	"FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000"         \
	"25000000001000000000000000000000000000000000000011005000170000000000000000000000"         \
	"536D623320656E6372797074696F6E2074657374696E67"

/* Encrypt a request and require the exact published transformed message. */
static void check_encrypt_exact(uint16_t cipher, const char *key_hex, uint64_t sid,
				const char *nonce_hex, const char *plain_hex, const char *tf_hex)
{
	size_t plen, tlen, olen;
	uint8_t *plain = unhex(plain_hex, &plen);
	uint8_t *tf = unhex(tf_hex, &tlen);
	uint8_t *out = arena_alloc(tlen + 8);
	uint8_t *key = unhex(key_hex, NULL);
	uint8_t *nonce = unhex(nonce_hex, NULL);

	/* Plaintext in three pieces, the header split too. */
	for (size_t cut = 1; cut < plen; cut += 11) {
		struct iovec iov[3] = {
		    {plain, cut / 2}, {plain + cut / 2, cut - cut / 2}, {plain + cut, plen - cut}};

		memset(out, 0xEE, tlen + 8);
		ck_assert_int_eq(
		    smb3_encrypt(cipher, key, sid, nonce, iov, 3, out, tlen + 8, &olen), 0);
		ck_assert_uint_eq(olen, tlen);
		ck_assert_bytes(out, tf, tlen);
	}

	/* In place: the message already sits after room for the header. */
	memcpy(out + SMB2_TRANSFORM_HDR_SIZE, plain, plen);
	{
		struct iovec iov = {out + SMB2_TRANSFORM_HDR_SIZE, plen};

		ck_assert_int_eq(smb3_encrypt(cipher, key, sid, nonce, &iov, 1, out, tlen, &olen),
				 0);
	}
	ck_assert_bytes(out, tf, tlen);

	/* One byte short of room. */
	{
		struct iovec iov = {plain, plen};

		ck_assert_int_eq(
		    smb3_encrypt(cipher, key, sid, nonce, &iov, 1, out, tlen - 1, &olen),
		    -EMSGSIZE);
	}

	/* And the published frame opens with the same key. */
	check_decrypt(cipher, key_hex, sid, tf_hex, plain_hex);
}

START_TEST(test_keys_ms_enc311_gcm)
{
	uint8_t *sk = unhex(A1_SESSION_KEY, NULL);
	uint8_t *pa = unhex(A1_PREAUTH, NULL);
	struct smb3_keys k;

	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES128_GCM, sk, 16, pa, &k), 0);
	ck_assert_bytes(k.signing, unhex(A1_SIGNING_KEY, NULL), 16);
	ck_assert_bytes(k.enc_c2s, unhex(A1_ENC_KEY, NULL), 16);
	ck_assert_bytes(k.dec_s2c, unhex(A1_DEC_KEY, NULL), 16);
	ck_assert_uint_eq(k.cipher_key_len, 16);
	smb3_keys_wipe(&k);
	/* ApplicationKey = KDF(SessionKey, "SMBAppKey\0", PreauthIntegrityHashValue) */
	check_kdf16(A1_SESSION_KEY, "SMBAppKey", 10, pa, 64, "099D610789FBE82055B313601C3E8CC4");
}
END_TEST

START_TEST(test_channel_signing_key)
{
	/*
	 * No published vector covers a session binding. A channel's key is
	 * derived like Session.SigningKey from the binding's own session key and
	 * the channel's preauth hash, so the [MS-ENC311] A.1 and [MS-ENC30]
	 * values pin the derivation, and the rest checks that the channel's own
	 * hash (not the session's) goes in.
	 */
	uint8_t *sk = unhex(A1_SESSION_KEY, NULL);
	uint8_t *pa = unhex(A1_PREAUTH, NULL);
	uint8_t *sk30 = unhex(ENC30_SESSION_KEY, NULL);
	uint8_t pa2[64], key[16], key2[16], want[16];

	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0311, sk, 16, pa, key), 0);
	ck_assert_bytes(key, unhex(A1_SIGNING_KEY, NULL), 16);
	/* another channel: its own preauth hash gives another key */
	memcpy(pa2, pa, 64);
	pa2[63] ^= 1;
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0311, sk, 16, pa2, key2), 0);
	ck_assert_int_ne(memcmp(key, key2, 16), 0);
	ck_assert_int_eq(smb3_kdf(sk, 16, "SMBSigningKey", 14, pa2, 64, want, 16), 0);
	ck_assert_bytes(key2, want, 16);
	/* a longer (Kerberos) session key: only its first 16 bytes key signing */
	{
		uint8_t long_sk[32];
		memcpy(long_sk, sk, 16);
		memset(long_sk + 16, 0xA5, 16);
		ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0311, long_sk, 32, pa, key2),
				 0);
		ck_assert_bytes(key2, key, 16);
	}
	/* 3.0 and 3.0.2: no preauth hash; [MS-ENC30] SigningKey */
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0300, sk30, 16, NULL, key), 0);
	ck_assert_bytes(key, unhex("F773CD23C18FD1E08EE510CADA7CF852", NULL), 16);
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0302, sk30, 16, pa, key2), 0);
	ck_assert_bytes(key2, key, 16);
	/* no channels before 3.0; 3.1.1 needs the hash */
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0210, sk, 16, NULL, key), -EINVAL);
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0202, sk, 16, NULL, key), -EINVAL);
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0311, sk, 16, NULL, key), -EINVAL);
	ck_assert_int_eq(smb3_channel_signing_key(SMB2_DIALECT_0311, sk, 0, pa, key), -EINVAL);
}
END_TEST

START_TEST(test_sign_ms_enc311_gcm)
{
	/* [MS-ENC311] A.1: the final SESSION_SETUP response is signed (AES-128-CMAC). */
	size_t len;
	uint8_t *pdu = unhex(A1_SS_RSP, &len);
	uint8_t *orig = copy(pdu, len);
	uint8_t *key = unhex(A1_SIGNING_KEY, NULL);

	ck_assert_uint_eq(len, 101);
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_CMAC, key, pdu, len), 0);
	ck_assert_bytes(pdu, orig, len);
	ck_assert_int_eq(smb2_sign_pdu(SMB2_SIGNING_AES_CMAC, key, pdu, len), 0);
	ck_assert_bytes(pdu, orig, len);
	/* The wrong algorithm does not verify. */
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_GMAC, key, pdu, len), -EBADMSG);
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_HMAC_SHA256, key, pdu, len), -EBADMSG);
}
END_TEST

START_TEST(test_seal_ms_enc311_gcm)
{
	check_encrypt_exact(SMB2_ENCRYPTION_AES128_GCM, A1_ENC_KEY, A1_SESSION_ID, A1_WRITE_NONCE,
			    A1_WRITE_REQ, A1_WRITE_REQ_TF);
	check_encrypt_exact(SMB2_ENCRYPTION_AES128_GCM, A1_ENC_KEY, A1_SESSION_ID, A1_READ_NONCE,
			    A1_READ_REQ, A1_READ_REQ_TF);
	check_decrypt(SMB2_ENCRYPTION_AES128_GCM, A1_DEC_KEY, A1_SESSION_ID, A1_WRITE_RSP_TF,
		      A1_WRITE_RSP);
	check_decrypt(SMB2_ENCRYPTION_AES128_GCM, A1_DEC_KEY, A1_SESSION_ID, A1_READ_RSP_TF,
		      A1_READ_RSP);
}
END_TEST

/* =====================================================================
 * [MS-ENC311] Appendix A.2: SMB 3.1.1 with AES-128-CCM, whole exchange
 * ===================================================================== */

static const char *const a2_msgs[] = {
    /* NEGOTIATE request */
    "FE534D4240000100000000000000010000000000000000000000000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000024000500010000006600000078EA16AC"
    "6877C34A95F7160F73EA377270000000020000000202100200030203110300000100260000000000"
    "0100200001001A05A92392E1554C072AE7B186EE7DC02CB90BEF2E639CCC94B7A9DC7B3934420000"
    "0200060000000000020001000200",
    /* NEGOTIATE response */
    "FE534D4240000100000000000000010001000000000000000000000000000000FFFE000000000000"
    "000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
    "BDCE5D60F09AB3FB27000000000080000000800000008000D04C8443CCAED00109094AB095AED001"
    "80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
    "3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
    "60000000700000007F7CC0FD06D6362D02DDE1CF343BFE2973007DCF55CA793E082B7A257DEFE6E8"
    "E18291ABF112C0599108C772F55CBB2A000000000000000060000000010000000000000000000000"
    "5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
    "7F7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
    "3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
    "6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
    "626C6963204B6579010026000000000001002000010088AFA422ECC239CB16F30BA641AE4B6EE79F"
    "5A4AF74FE18A301E9790515D07F70000020004000000000001000100",
    /* SESSION_SETUP request 1 */
    "FE534D4240000100000000000100800000000000000000000100000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
    "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
    "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
    "000F",
    /* SESSION_SETUP response 1 (MORE_PROCESSING_REQUIRED) */
    "FE534D4240000100160000C00100010001000000000000000100000000000000FFFE000000000000"
    "210000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
    "0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
    "00000015828AE29296836B33F712E0000000000000000050005000440000000A0092270000000F53"
    "005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
    "00310004000C0053005500540033003100310003000C005300550054003300310031000700080019"
    "C69C43CCAED00100000000",
    /* SESSION_SETUP request 2 */
    "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
    "2100000000100000000000000000000000000000000000001900000101000000000000005800CF01"
    "0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
    "001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
    "001000100096010000158288E2060380250000000F3E492B87B2606D263031D0D12B6AD267530055"
    "005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
    "005600450052003300310031000000000000000000000000000000000000000000000000009AEF57"
    "4DBD2E8A323B017ED361EEA14B010100000000000019C69C43CCAED00176AC9CBD38378531000000"
    "0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
    "00540033003100310003000C005300550054003300310031000700080019C69C43CCAED001060004"
    "00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
    "8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
    "0063006900660073002F005300550054003300310031000000000000000000000000005E621187A7"
    "5CC18E3982494ECC4793B7A3120410010000005C661B9E6BE0F1E500000000",
};

static const char *const a2_hashes[] = {
    "A3A8A769FEA693B3D037406EF945E115D2B7A4A9318564D2CAAA4B1FE0EC36D8"
    "D92A4802619EDCF29E2410534D2D3749E71F76ADF5212F959210D291097A6355",
    "A21419AD43D5A4975326E07142734EADA33D0927738F3C1B05A65B003CCAAAE2"
    "25B547045260356C2014A21E0A3DFA9EF7B192C375BFFC5F5E766AC3261F0457",
    "FD10D68FFBB5D94DD483DE14DC8AF92B4D2D8517A5D245FE091C93050AC56239"
    "B3B829F74CB25451276248F12279DCC027C9B53841A67052A617C32C93CBA8C2",
    "2AA0A0D736D4A3BE4A2FA06B20EEBF02635543C0310F72595ACEAF9893BBE647"
    "D9C753175215BB2471DF365D4FC77AB8D168ECC91ABC02C4611D2AAC33181967",
    "DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E7"
    "67F5BCD99FA5A7859D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1",
};

#define A2_SESSION_KEY "07B7F69C1E2581662DF6987E88F9E891"
#define A2_SESSION_ID UINT64_C(0x100000000021)
#define A2_ENC_KEY "DFAAA31AAE40A2485D47AC4DF09FDA1D"
#define A2_DEC_KEY "95C544AEF6072680DA1CE49A68A97FA6"
#define A2_SS_RSP                                                                                  \
	"FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"         \
	"21000000001000003676196AEE8CA17E5D50A53642EF2BE40900000048001D00A11B3019A0030A01"         \
	"00A3120410010000000F57444342A2717E00000000"
#define A2_WRITE_REQ                                                                               \
	"FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"         \
	"21000000001000000000000000000000000000000000000031007000170000000000000000000000"         \
	"0500000004000000010000000400000000000000000000007000000000000000536D623320656E63"         \
	"72797074696F6E2074657374696E67"
#define A2_WRITE_NONCE "9F6F1EAAD7E9F24AACD38F0000000000"
#define A2_WRITE_REQ_TF                                                                            \
	"FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F000000000087000000"         \
	"00000100210000000010000056A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381"         \
	"AE8689F973ACDB8D716E4477803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC881"         \
	"18EDC9814CF58E92AA465E6EFB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024"         \
	"FE8BA79154F340A82740D1D5180C69B0A2DE6A4BA893BD55D3210E"
#define A2_WRITE_RSP_TF                                                                            \
	"FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000"         \
	"000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7"         \
	"F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E"         \
	"13D9120965390E004A96A3F7"
#define A2_WRITE_RSP                                                                               \
	"FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"         \
	"21000000001000000000000000000000000000000000000011000000170000000000000000000000"
#define A2_READ_REQ                                                                                \
	"FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000"         \
	"21000000001000000000000000000000000000000000000031000000170000000000000000000000"         \
	"050000000400000001000000040000000000000000000000000000000000000000"
#define A2_READ_NONCE "A0F92E964EDC3049B86E190000000000"
#define A2_READ_REQ_TF                                                                             \
	"FD534D4235BF9600C841F0CDA9BD1BC3727B7E36A0F92E964EDC3049B86E19000000000071000000"         \
	"000001002100000000100000C4CCD3EB483A0638E69C99E391E7F64BCC10D6BEE46FEEA258C4BCAF"         \
	"792CB5A6E69283924081806DAB64827E9D14A5345D5221AB6DAFCB0E89FC2606B63D92163F4F6C93"         \
	"D1213D86ABF123B93EAD3AEF9A3471EFD68A423A00A6E0064D9AE3C842EFFFAD236A3BF25D37F4CD"         \
	"054C97DE18"
#define A2_READ_RSP_TF                                                                             \
	"FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000"         \
	"00000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606"         \
	"BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63"         \
	"7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B"
#define A2_READ_RSP                                                                                \
	"FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000"         \
	"21000000001000000000000000000000000000000000000011005000170000000000000000000000"         \
	"536D623320656E6372797074696F6E2074657374696E67"

START_TEST(test_ms_enc311_ccm_exchange)
{
	struct preauth_hash conn, sess;
	struct smb3_keys k;
	size_t len;
	uint8_t *pdu;

	/* [MS-ENC311] A.2: connection hash over NEGOTIATE, then per-session. */
	preauth_init(&conn);
	for (size_t i = 0; i < 2; i++) {
		uint8_t *m = unhex(a2_msgs[i], &len);

		ck_assert_int_eq(preauth_update(&conn, m, len), 0);
		ck_assert_bytes(conn.h, unhex(a2_hashes[i], NULL), 64);
	}
	sess = conn;
	for (size_t i = 2; i < 5; i++) {
		uint8_t *m = unhex(a2_msgs[i], &len);

		ck_assert_int_eq(preauth_update(&sess, m, len), 0);
		ck_assert_bytes(sess.h, unhex(a2_hashes[i], NULL), 64);
	}

	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES128_CCM,
					  unhex(A2_SESSION_KEY, NULL), 16, sess.h, &k),
			 0);
	ck_assert_bytes(k.signing, unhex("3DCC82C5795AE27F383242761078C59B", NULL), 16);
	ck_assert_bytes(k.enc_c2s, unhex(A2_ENC_KEY, NULL), 16);
	ck_assert_bytes(k.dec_s2c, unhex(A2_DEC_KEY, NULL), 16);
	check_kdf16(A2_SESSION_KEY, "SMBAppKey", 10, sess.h, 64,
		    "7A2F0F73EC2D530879B2913BBFCE242F");

	/* The final SESSION_SETUP response verifies with the derived signing key. */
	pdu = unhex(A2_SS_RSP, &len);
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_CMAC, k.signing, pdu, len), 0);
	pdu[len - 1] ^= 1;
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_CMAC, k.signing, pdu, len), -EBADMSG);
	smb3_keys_wipe(&k);
	for (size_t i = 0; i < sizeof(k); i++)
		ck_assert_uint_eq(((uint8_t *)&k)[i], 0);

	check_encrypt_exact(SMB2_ENCRYPTION_AES128_CCM, A2_ENC_KEY, A2_SESSION_ID, A2_WRITE_NONCE,
			    A2_WRITE_REQ, A2_WRITE_REQ_TF);
	check_encrypt_exact(SMB2_ENCRYPTION_AES128_CCM, A2_ENC_KEY, A2_SESSION_ID, A2_READ_NONCE,
			    A2_READ_REQ, A2_READ_REQ_TF);
	check_decrypt(SMB2_ENCRYPTION_AES128_CCM, A2_DEC_KEY, A2_SESSION_ID, A2_WRITE_RSP_TF,
		      A2_WRITE_RSP);
	check_decrypt(SMB2_ENCRYPTION_AES128_CCM, A2_DEC_KEY, A2_SESSION_ID, A2_READ_RSP_TF,
		      A2_READ_RSP);
}
END_TEST

/* =====================================================================
 * KDF: structure, 256-bit output, key selection, argument errors
 * (no published 256-bit SMB vector: checked against an HMAC computed here)
 * ===================================================================== */

static void hmac_sha256_ref(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
			    uint8_t out[32])
{
	size_t n = 0;

	ck_assert_ptr_nonnull(
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg, mlen, out, 32, &n));
	ck_assert_uint_eq(n, 32);
}

START_TEST(test_kdf_structure)
{
	uint8_t key[32], ctx[64], msg[4 + 16 + 1 + 64 + 4], ref[32], out[32];
	size_t m = 0;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xA0 + i);
	for (int i = 0; i < 64; i++)
		ctx[i] = (uint8_t)i;

	/* [1]_be32 || "SMBC2SCipherKey\0" || 0x00 || context || [256]_be32 */
	memcpy(msg + m, "\0\0\0\1", 4);
	m += 4;
	memcpy(msg + m, "SMBC2SCipherKey", 16);
	m += 16;
	msg[m++] = 0;
	memcpy(msg + m, ctx, 64);
	m += 64;
	memcpy(msg + m, "\0\0\1\0", 4);
	m += 4;
	hmac_sha256_ref(key, 32, msg, m, ref);
	ck_assert_int_eq(smb3_kdf(key, 32, "SMBC2SCipherKey", 16, ctx, 64, out, 32), 0);
	ck_assert_bytes(out, ref, 32);

	/* L = 128 changes the last block, not just the length. */
	msg[m - 2] = 0;
	msg[m - 1] = 0x80;
	hmac_sha256_ref(key, 32, msg, m, ref);
	ck_assert_int_eq(smb3_kdf(key, 32, "SMBC2SCipherKey", 16, ctx, 64, out, 16), 0);
	ck_assert_bytes(out, ref, 16);

	ck_assert_int_eq(smb3_kdf(key, 32, "x", 1, ctx, 64, out, 24), -EINVAL);
	ck_assert_int_eq(smb3_kdf(key, 0, "x", 1, ctx, 64, out, 16), -EINVAL);
	ck_assert_int_eq(smb3_kdf(NULL, 16, "x", 1, ctx, 64, out, 16), -EINVAL);
}
END_TEST

START_TEST(test_derive_keys_aes256)
{
	uint8_t full[32], pa[64], out[32];
	struct smb3_keys k128, k256, k256b;

	for (int i = 0; i < 32; i++)
		full[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 64; i++)
		pa[i] = (uint8_t)(255 - i);

	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES128_GCM, full, 32, pa, &k128),
	    0);
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES256_GCM, full, 32, pa, &k256),
	    0);
	ck_assert_uint_eq(k128.cipher_key_len, 16);
	ck_assert_uint_eq(k256.cipher_key_len, 32);

	/* Signing uses Session.SessionKey (first 16 bytes) whatever the cipher. */
	ck_assert_bytes(k128.signing, k256.signing, 16);
	ck_assert_int_eq(smb3_kdf(full, 16, "SMBSigningKey", 14, pa, 64, out, 16), 0);
	ck_assert_bytes(k256.signing, out, 16);
	/* 128-bit cipher keys come from the first 16 bytes only... */
	ck_assert_int_eq(smb3_kdf(full, 16, "SMBC2SCipherKey", 16, pa, 64, out, 16), 0);
	ck_assert_bytes(k128.enc_c2s, out, 16);
	/* ...256-bit ones from the full key with L = 256 (MS-SMB2 3.2.5.3.1). */
	ck_assert_int_eq(smb3_kdf(full, 32, "SMBC2SCipherKey", 16, pa, 64, out, 32), 0);
	ck_assert_bytes(k256.enc_c2s, out, 32);
	ck_assert_int_eq(smb3_kdf(full, 32, "SMBS2CCipherKey", 16, pa, 64, out, 32), 0);
	ck_assert_bytes(k256.dec_s2c, out, 32);

	/* CCM and GCM at 256 bits derive the same keys; bytes 16..31 of the key matter. */
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES256_CCM, full, 32, pa, &k256b),
	    0);
	ck_assert_bytes(k256b.enc_c2s, k256.enc_c2s, 32);
	full[31] ^= 1;
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES256_CCM, full, 32, pa, &k256b),
	    0);
	ck_assert_mem_ne(k256b.enc_c2s, k256.enc_c2s, 32);
	ck_assert_bytes(k256b.signing, k256.signing, 16);

	/* A 16-byte (NTLM) key with AES-256: the full key is those 16 bytes. */
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES256_GCM, full, 16, pa, &k256b),
	    0);
	ck_assert_int_eq(smb3_kdf(full, 16, "SMBC2SCipherKey", 16, pa, 64, out, 32), 0);
	ck_assert_bytes(k256b.enc_c2s, out, 32);

	smb3_keys_wipe(&k128);
	smb3_keys_wipe(&k256);
	smb3_keys_wipe(&k256b);
}
END_TEST

START_TEST(test_derive_keys_misc)
{
	uint8_t sk[16], pa[64] = {0}, padded[16] = {0};
	struct smb3_keys k;

	for (int i = 0; i < 16; i++)
		sk[i] = (uint8_t)(i + 1);

	/* 2.x: SigningKey is the session key; no cipher keys. */
	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0210, 0, sk, 16, NULL, &k), 0);
	ck_assert_bytes(k.signing, sk, 16);
	ck_assert_uint_eq(k.cipher_key_len, 0);
	/* Short session keys are right-padded with zeros. */
	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0202, 0, sk, 5, NULL, &k), 0);
	memcpy(padded, sk, 5);
	ck_assert_bytes(k.signing, padded, 16);

	/* Argument errors leave *out zeroed. */
	memset(&k, 0xFF, sizeof(k));
	ck_assert_int_eq(smb3_derive_keys(0x0400, 0, sk, 16, pa, &k), -EINVAL);
	ck_assert_uint_eq(k.cipher_key_len, 0);
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0300, SMB2_ENCRYPTION_AES128_GCM, sk, 16, pa, &k),
	    -EINVAL);
	ck_assert_int_eq(
	    smb3_derive_keys(SMB2_DIALECT_0311, SMB2_ENCRYPTION_AES128_GCM, sk, 16, NULL, &k),
	    -EINVAL);
	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0311, 9, sk, 16, pa, &k), -EINVAL);
	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0311, 0, sk, 0, pa, &k), -EINVAL);
	ck_assert_int_eq(smb3_derive_keys(SMB2_DIALECT_0311, 0, sk, 16, pa, NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(k); i++)
		ck_assert_uint_eq(((uint8_t *)&k)[i], 0);

	smb3_keys_wipe(NULL);
}
END_TEST

/* =====================================================================
 * Signing: GMAC nonce layout, iovec splits, tamper, arguments
 * ===================================================================== */

static uint8_t *make_pdu(size_t len, uint16_t cmd, uint32_t flags, uint64_t mid)
{
	uint8_t *p = arena_alloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + 7);
	memcpy(p, "\xfeSMB", 4);
	p[4] = 64;
	p[5] = 0;
	p[12] = (uint8_t)cmd;
	p[13] = (uint8_t)(cmd >> 8);
	for (int i = 0; i < 4; i++)
		p[16 + i] = (uint8_t)(flags >> (8 * i));
	for (int i = 0; i < 8; i++)
		p[24 + i] = (uint8_t)(mid >> (8 * i));
	memset(p + 48, 0, 16);
	return p;
}

START_TEST(test_gmac_nonce_layout)
{
	/*
	 * No published SMB GMAC example: check the nonce built from the header
	 * (MS-SMB2 3.1.4.1) against smb2_gmac_iov with a nonce laid out here.
	 */
	static const struct {
		uint16_t cmd;
		uint32_t flags;
		uint32_t word;
	} c[] = {
	    {SMB2_READ, 0, 0},
	    {SMB2_READ, SMB2_FLAGS_SERVER_TO_REDIR | SMB2_FLAGS_SIGNED, 1},
	    {SMB2_CANCEL, SMB2_FLAGS_ASYNC_COMMAND, 2},
	    {SMB2_WRITE, SMB2_FLAGS_SIGNED | SMB2_FLAGS_RELATED_OPERATIONS, 0},
	};
	uint8_t key[16], nonce[12], want[16], got[16];
	const uint64_t mid = UINT64_C(0x0123456789ABCDEF);

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x30 + i);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t *pdu = make_pdu(100, c[i].cmd, c[i].flags, mid);
		struct iovec iov = {pdu, 100};

		for (int b = 0; b < 8; b++)
			nonce[b] = (uint8_t)(mid >> (8 * b));
		for (int b = 0; b < 4; b++)
			nonce[8 + b] = (uint8_t)(c[i].word >> (8 * b));
		ck_assert_int_eq(smb2_gmac_iov(key, nonce, &iov, 1, want), 0);
		ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_GMAC, key, &iov, 1, got), 0);
		ck_assert_bytes(got, want, 16);
	}
}
END_TEST

START_TEST(test_sign_split_and_tamper)
{
	static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256, SMB2_SIGNING_AES_CMAC,
					SMB2_SIGNING_AES_GMAC};
	const uint16_t alg = algs[_i];
	const size_t len = 150;
	uint8_t key[16], sig[16], sig2[16];
	uint8_t *pdu = make_pdu(len, SMB2_CREATE, SMB2_FLAGS_SIGNED, 42);
	uint8_t *orig;

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0xC0 ^ i);

	{
		struct iovec iov = {pdu, len};

		ck_assert_int_eq(smb2_sign_iov(alg, key, &iov, 1, sig), 0);
	}
	/* Any split, the header included, gives the same signature. */
	for (size_t a = 0; a <= len; a += 9) {
		for (size_t b = a; b <= len; b += 23) {
			struct iovec iov[3] = {{pdu, a}, {pdu + a, b - a}, {pdu + b, len - b}};

			ck_assert_int_eq(smb2_sign_iov(alg, key, iov, 3, sig2), 0);
			ck_assert_bytes(sig2, sig, 16);
		}
	}

	/* sign_pdu stores exactly that signature and changes nothing else. */
	orig = copy(pdu, len);
	ck_assert_int_eq(smb2_sign_pdu(alg, key, pdu, len), 0);
	ck_assert_bytes(pdu + 48, sig, 16);
	ck_assert_bytes(pdu, orig, 48);
	ck_assert_bytes(pdu + 64, orig + 64, len - 64);
	ck_assert_int_eq(smb2_verify_pdu(alg, key, pdu, len), 0);

	/* Flipping any bit of any byte, signature included, is rejected, and verify
	 * leaves the message as it was. */
	orig = copy(pdu, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			pdu[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(smb2_verify_pdu(alg, key, pdu, len), -EBADMSG);
			pdu[i] ^= (uint8_t)(1u << bit);
			ck_assert_bytes(pdu, orig, len);
		}
	}
	/* Truncated or extended messages, the wrong key. */
	for (size_t n = 0; n < len; n += 7)
		ck_assert_int_eq(smb2_verify_pdu(alg, key, pdu, n), -EBADMSG);
	key[0] ^= 1;
	ck_assert_int_eq(smb2_verify_pdu(alg, key, pdu, len), -EBADMSG);
}
END_TEST

START_TEST(test_sign_args)
{
	uint8_t key[16] = {1}, sig[16];
	uint8_t *pdu = make_pdu(64, SMB2_ECHO, 0, 1);
	struct iovec iov = {pdu, 63};

	ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_CMAC, key, &iov, 1, sig), -EINVAL);
	ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_CMAC, key, &iov, -1, sig), -EINVAL);
	ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_CMAC, key, NULL, 1, sig), -EINVAL);
	iov.iov_len = 64;
	ck_assert_int_eq(smb2_sign_iov(7, key, &iov, 1, sig), -EOPNOTSUPP);
	ck_assert_int_eq(smb2_sign_iov(SMB2_SIGNING_AES_CMAC, NULL, &iov, 1, sig), -EINVAL);
	ck_assert_int_eq(smb2_sign_pdu(SMB2_SIGNING_AES_CMAC, key, pdu, 63), -EINVAL);
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_CMAC, key, pdu, 63), -EBADMSG);
	ck_assert_int_eq(smb2_verify_pdu(7, key, pdu, 64), -EOPNOTSUPP);
	/* A header-only message (e.g. a CANCEL) signs and verifies. */
	ck_assert_int_eq(smb2_sign_pdu(SMB2_SIGNING_AES_GMAC, key, pdu, 64), 0);
	ck_assert_int_eq(smb2_verify_pdu(SMB2_SIGNING_AES_GMAC, key, pdu, 64), 0);
}
END_TEST

/* =====================================================================
 * Sealing: round trips and hostile frames for all four ciphers
 * (AES-256-CCM/GCM have no published SMB vector)
 * ===================================================================== */

static const uint16_t all_ciphers[] = {SMB2_ENCRYPTION_AES128_CCM, SMB2_ENCRYPTION_AES128_GCM,
				       SMB2_ENCRYPTION_AES256_CCM, SMB2_ENCRYPTION_AES256_GCM};

struct sealed {
	uint8_t key[32];
	uint8_t *plain;
	size_t plen;
	uint8_t *frame;
	size_t flen;
};

/* The other AEAD mode with the same key size (CCM <-> GCM). */
static uint16_t other_mode(uint16_t cipher)
{
	switch (cipher) {
	case SMB2_ENCRYPTION_AES128_CCM:
		return SMB2_ENCRYPTION_AES128_GCM;
	case SMB2_ENCRYPTION_AES128_GCM:
		return SMB2_ENCRYPTION_AES128_CCM;
	case SMB2_ENCRYPTION_AES256_CCM:
		return SMB2_ENCRYPTION_AES256_GCM;
	default:
		return SMB2_ENCRYPTION_AES256_CCM;
	}
}

static void seal_sample(uint16_t cipher, size_t plen, struct sealed *s)
{
	uint8_t nonce[16] = {0};
	struct iovec iov[2];

	for (int i = 0; i < 32; i++)
		s->key[i] = (uint8_t)(i * 13 + 5);
	s->plain = make_pdu(plen, SMB2_WRITE, 0, 77);
	s->plen = plen;
	s->frame = arena_alloc(plen + SMB2_TRANSFORM_HDR_SIZE);
	ck_assert_int_eq(smb3_nonce_next(cipher, nonce), 0);
	iov[0].iov_base = s->plain;
	iov[0].iov_len = 64;
	iov[1].iov_base = s->plain + 64;
	iov[1].iov_len = plen - 64;
	ck_assert_int_eq(smb3_encrypt(cipher, s->key, UINT64_C(0x1122334455667788), nonce, iov, 2,
				      s->frame, plen + SMB2_TRANSFORM_HDR_SIZE, &s->flen),
			 0);
	ck_assert_uint_eq(s->flen, plen + SMB2_TRANSFORM_HDR_SIZE);
}

START_TEST(test_seal_ctx_reuse)
{
	/*
	 * One reusable context through every cipher, twice, with a failed open
	 * in between: each result equals the fresh-context one, so neither a
	 * cipher switch nor an aborted message leaks state into the next.
	 */
	struct smb3_aead *a = smb3_aead_new();
	ck_assert_ptr_nonnull(a);
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 4; k++) {
			const uint16_t cipher = all_ciphers[(k + round) % 4];
			struct sealed s;
			uint8_t nonce[16], *f2, *work;
			struct iovec iov;
			size_t f2len, poff, pl;
			uint64_t sid;

			seal_sample(cipher, 1000 + (size_t)k * 4097, &s);
			/* the same nonce again: only to compare the two paths' bytes */
			memcpy(nonce, s.frame + TF_NONCE, 16);
			f2 = arena_alloc(s.flen);
			iov.iov_base = s.plain;
			iov.iov_len = s.plen;
			ck_assert_int_eq(smb3_encrypt_ctx(a, cipher, s.key,
							  UINT64_C(0x1122334455667788), nonce, &iov,
							  1, f2, s.flen, &f2len),
					 0);
			ck_assert_uint_eq(f2len, s.flen);
			ck_assert_bytes(f2, s.frame, s.flen);

			work = arena_alloc(s.flen);
			memcpy(work, s.frame, s.flen);
			work[s.flen - 1] ^= 0x40; /* tampered: fails, and wipes */
			ck_assert_int_eq(smb3_decrypt_ctx(a, cipher, s.key, work, s.flen, &sid,
							  &poff, &pl),
					 -EBADMSG);
			memcpy(work, s.frame, s.flen);
			ck_assert_int_eq(smb3_decrypt_ctx(a, cipher, s.key, work, s.flen, &sid,
							  &poff, &pl),
					 0);
			ck_assert_uint_eq(pl, s.plen);
			ck_assert_bytes(work + poff, s.plain, s.plen);
			/* and the other mode's key schedule does not open it */
			memcpy(work, s.frame, s.flen);
			ck_assert_int_eq(smb3_decrypt_ctx(a, other_mode(cipher), s.key, work,
							  s.flen, &sid, &poff, &pl),
					 -EBADMSG);
		}
	}
	smb3_aead_free(a);
	smb3_aead_free(NULL);
}
END_TEST

START_TEST(test_seal_roundtrip_tamper)
{
	const uint16_t cipher = all_ciphers[_i];
	struct sealed s;
	uint8_t *work;
	uint64_t sid;
	size_t poff, pl;

	seal_sample(cipher, 200, &s);
	work = arena_alloc(s.flen + 1);

	/* Header fields as written. */
	ck_assert_uint_eq(s.frame[0], 0xFD);
	ck_assert_mem_eq(s.frame + 1, "SMB", 3);
	ck_assert_uint_eq(s.frame[TF_ORIG_MSG_SIZE], 200);
	ck_assert_uint_eq(s.frame[TF_FLAGS], 1);
	ck_assert_uint_eq(s.frame[TF_FLAGS + 1], 0);
	for (size_t i = TF_NONCE + smb3_cipher_nonce_len(cipher); i < TF_ORIG_MSG_SIZE; i++)
		ck_assert_uint_eq(s.frame[i], 0);

	memcpy(work, s.frame, s.flen);
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl), 0);
	ck_assert(sid == UINT64_C(0x1122334455667788));
	ck_assert_uint_eq(pl, s.plen);
	ck_assert_bytes(work + poff, s.plain, s.plen);

	/* Every byte of header, tag and ciphertext is covered. */
	for (size_t i = 0; i < s.flen; i++) {
		memcpy(work, s.frame, s.flen);
		work[i] ^= 0x20;
		sid = 7;
		ck_assert_msg(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl) ==
				  -EBADMSG,
			      "byte %zu flip accepted", i);
		ck_assert(sid == 7);
	}
	/* A failed tag leaves no plaintext behind. */
	memcpy(work, s.frame, s.flen);
	work[s.flen - 1] ^= 1;
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl), -EBADMSG);
	for (size_t i = SMB2_TRANSFORM_HDR_SIZE; i < s.flen; i++)
		ck_assert_uint_eq(work[i], 0);

	/* Truncated frames, an extra trailing byte. */
	for (size_t n = 0; n < s.flen; n++) {
		memcpy(work, s.frame, s.flen);
		ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, n, &sid, &poff, &pl), -EBADMSG);
	}
	memcpy(work, s.frame, s.flen);
	work[s.flen] = 0;
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen + 1, &sid, &poff, &pl), -EBADMSG);

	/* Wrong key, wrong cipher of the same key size. */
	memcpy(work, s.frame, s.flen);
	s.key[3] ^= 1;
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl), -EBADMSG);
	s.key[3] ^= 1;
	memcpy(work, s.frame, s.flen);
	ck_assert_int_eq(smb3_decrypt(other_mode(cipher), s.key, work, s.flen, &sid, &poff, &pl),
			 -EBADMSG);

	/* OriginalMessageSize lying about the length (consistent header, no crypto yet). */
	memcpy(work, s.frame, s.flen);
	work[TF_ORIG_MSG_SIZE] = 0;
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl), -EBADMSG);
	memcpy(work, s.frame, s.flen);
	work[TF_ORIG_MSG_SIZE + 3] = 0x80;
	ck_assert_int_eq(smb3_decrypt(cipher, s.key, work, s.flen, &sid, &poff, &pl), -EBADMSG);
}
END_TEST

START_TEST(test_seal_hostile_headers)
{
	/* Frames with only a header, or an empty message, never reach the AEAD. */
	uint8_t key[32] = {0}, frame[SMB2_TRANSFORM_HDR_SIZE + 1] = {0};
	uint64_t sid;
	size_t poff, pl;

	memcpy(frame, "\xfdSMB", 4);
	frame[TF_FLAGS] = 1;
	ck_assert_int_eq(smb3_decrypt(SMB2_ENCRYPTION_AES128_GCM, key, frame,
				      SMB2_TRANSFORM_HDR_SIZE, &sid, &poff, &pl),
			 -EBADMSG);
	frame[TF_ORIG_MSG_SIZE] = 1;
	ck_assert_int_eq(
	    smb3_decrypt(SMB2_ENCRYPTION_AES128_GCM, key, frame, sizeof(frame), &sid, &poff, &pl),
	    -EBADMSG);
	/* SMB2 (0xFE) and compressed (0xFC) frames are not transform frames. */
	frame[0] = 0xFE;
	ck_assert_int_eq(smb3_transform_session_id(frame, sizeof(frame), &sid), -EBADMSG);
	frame[0] = 0xFC;
	ck_assert_int_eq(
	    smb3_decrypt(SMB2_ENCRYPTION_AES128_GCM, key, frame, sizeof(frame), &sid, &poff, &pl),
	    -EBADMSG);
	ck_assert_int_eq(smb3_transform_session_id(frame, 10, &sid), -EBADMSG);
	/* Unknown cipher is a caller error. */
	ck_assert_int_eq(smb3_decrypt(5, key, frame, sizeof(frame), &sid, &poff, &pl), -EINVAL);
	ck_assert_int_eq(smb3_decrypt(0, key, frame, sizeof(frame), &sid, &poff, &pl), -EINVAL);
}
END_TEST

START_TEST(test_seal_args)
{
	uint8_t key[32] = {0}, nonce[16] = {0}, msg[80] = {0}, out[200];
	struct iovec iov = {msg, sizeof(msg)};
	size_t olen;

	ck_assert_int_eq(smb3_encrypt(5, key, 1, nonce, &iov, 1, out, sizeof(out), &olen), -EINVAL);
	ck_assert_int_eq(smb3_encrypt(SMB2_ENCRYPTION_AES128_GCM, key, 1, nonce, &iov, 0, out,
				      sizeof(out), &olen),
			 -EINVAL);
	ck_assert_int_eq(smb3_encrypt(SMB2_ENCRYPTION_AES128_GCM, key, 1, nonce, &iov, 1, out,
				      SMB2_TRANSFORM_HDR_SIZE + 79, &olen),
			 -EMSGSIZE);
	ck_assert_int_eq(
	    smb3_encrypt(SMB2_ENCRYPTION_AES128_GCM, key, 1, nonce, &iov, 1, out, 10, &olen),
	    -EMSGSIZE);
	ck_assert_int_eq(smb3_encrypt(SMB2_ENCRYPTION_AES128_GCM, key, 1, nonce, &iov, 1, out,
				      SMB2_TRANSFORM_HDR_SIZE + 80, &olen),
			 0);
	ck_assert_uint_eq(olen, 132);
	ck_assert_uint_eq(smb3_cipher_key_len(SMB2_ENCRYPTION_AES256_CCM), 32);
	ck_assert_uint_eq(smb3_cipher_key_len(SMB2_ENCRYPTION_AES128_GCM), 16);
	ck_assert_uint_eq(smb3_cipher_key_len(0), 0);
	ck_assert_uint_eq(smb3_cipher_nonce_len(SMB2_ENCRYPTION_AES256_CCM), 11);
	ck_assert_uint_eq(smb3_cipher_nonce_len(SMB2_ENCRYPTION_AES256_GCM), 12);
}
END_TEST

static uint64_t nonce_ctr_of(const uint8_t n[16])
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | n[i];
	return v;
}

START_TEST(test_nonce_next)
{
	const uint16_t cipher = all_ciphers[_i];
	const size_t nlen = smb3_cipher_nonce_len(cipher);
	uint8_t n[16], first[16];

	/* Input contents are ignored: garbage in, fresh nonce out. */
	memset(n, 0xA5, sizeof(n));
	ck_assert_int_eq(smb3_nonce_next(cipher, n), 0);
	for (size_t i = nlen; i < 16; i++)
		ck_assert_uint_eq(n[i], 0);
	memcpy(first, n, 16);

	/* Counter in bytes 0..7 (little-endian) advances by one per call; the salt stays. */
	for (int step = 1; step <= 300; step++) {
		memcpy(n, first, 16); /* even handing back an old nonce */
		ck_assert_int_eq(smb3_nonce_next(cipher, n), 0);
		ck_assert(nonce_ctr_of(n) == nonce_ctr_of(first) + (uint64_t)step);
		ck_assert_bytes(n + 8, first + 8, nlen - 8);
	}
	ck_assert_int_eq(smb3_nonce_next(0, n), -EINVAL);
	ck_assert_int_eq(smb3_nonce_next(SMB2_ENCRYPTION_AES128_GCM, NULL), -EINVAL);
}
END_TEST

#define NONCE_THREADS 4
#define NONCE_PER_THREAD 5000

static void *nonce_worker(void *arg)
{
	uint64_t *out = arg;
	uint8_t n[16];

	for (int i = 0; i < NONCE_PER_THREAD; i++) {
		if (smb3_nonce_next(SMB2_ENCRYPTION_AES128_GCM, n) != 0)
			return (void *)1;
		out[i] = nonce_ctr_of(n);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_nonce_threads)
{
	/* Concurrent callers (several channels of one session) never share a nonce. */
	uint64_t *all = arena_alloc(sizeof(uint64_t) * NONCE_THREADS * NONCE_PER_THREAD);
	pthread_t t[NONCE_THREADS];
	void *ret;

	for (int i = 0; i < NONCE_THREADS; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, nonce_worker, all + (size_t)i * NONCE_PER_THREAD),
		    0);
	for (int i = 0; i < NONCE_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	qsort(all, NONCE_THREADS * NONCE_PER_THREAD, sizeof(uint64_t), cmp_u64);
	for (size_t i = 1; i < NONCE_THREADS * NONCE_PER_THREAD; i++)
		ck_assert(all[i] != all[i - 1]);
}
END_TEST

/* ---- suite ---- */

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	tc = tcase_create("primitives");
	tcase_add_checked_fixture(tc, NULL, arena_free);
	tcase_add_test(tc, test_cmac_rfc4493);
	tcase_add_test(tc, test_gmac_nist);
	tcase_add_loop_test(tc, test_aead_nist, 0, (int)(sizeof(aead_kats) / sizeof(aead_kats[0])));
	tcase_add_test(tc, test_hmac_sha256_smb2);
	suite_add_tcase(s, tc);

	tc = tcase_create("kdf");
	tcase_add_checked_fixture(tc, NULL, arena_free);
	tcase_add_test(tc, test_preauth_ms_pai);
	tcase_add_test(tc, test_preauth_iov_split);
	tcase_add_test(tc, test_keys_ms_enc30);
	tcase_add_test(tc, test_keys_ms_enc311_gcm);
	tcase_add_test(tc, test_kdf_structure);
	tcase_add_test(tc, test_derive_keys_aes256);
	tcase_add_test(tc, test_derive_keys_misc);
	suite_add_tcase(s, tc);

	tc = tcase_create("sign");
	tcase_add_checked_fixture(tc, NULL, arena_free);
	tcase_add_test(tc, test_sign_ms_enc311_gcm);
	tcase_add_test(tc, test_gmac_nonce_layout);
	tcase_add_loop_test(tc, test_sign_split_and_tamper, 0, 3);
	tcase_add_test(tc, test_sign_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("seal");
	tcase_add_checked_fixture(tc, NULL, arena_free);
	tcase_add_test(tc, test_seal_ms_enc30);
	tcase_add_test(tc, test_seal_ms_enc311_gcm);
	tcase_add_test(tc, test_channel_signing_key);
	tcase_add_test(tc, test_seal_ctx_reuse);
	tcase_add_test(tc, test_ms_enc311_ccm_exchange);
	tcase_add_loop_test(tc, test_seal_roundtrip_tamper, 0, 4);
	tcase_add_test(tc, test_seal_hostile_headers);
	tcase_add_test(tc, test_seal_args);
	tcase_add_loop_test(tc, test_nonce_next, 0, 4);
	tcase_add_test(tc, test_nonce_threads);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
