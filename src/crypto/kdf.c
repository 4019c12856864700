/*
 * kdf.c - SP800-108 key derivation and the pre-authentication integrity hash.
 *
 * Design of the crypto layer (kdf.c, sign.c, seal.c):
 *  - Every primitive comes from OpenSSL 3 through EVP/EVP_MAC; nothing here
 *    implements a cipher or a MAC by hand.
 *  - Functions are stateless and thread-safe. Algorithm objects are fetched
 *    once per process (pthread_once) and shared read-only, which avoids the
 *    implicit fetch OpenSSL 3 would otherwise do on every init. Each call
 *    still creates and frees its own EVP context; keyed contexts kept per
 *    session would remove that allocation if profiling ever shows it.
 *  - Keys are never logged. Stack copies of key material are wiped with
 *    OPENSSL_cleanse before return, on success and on error.
 *  - Bytes from the network are hostile: length checks come first, and
 *    authentication failures are -EBADMSG with no partial results left behind.
 */
#include "crypto/kdf.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "wire/smb2.h"

#define SHA256_LEN 32
#define SESSION_KEY_LEN 16 /* Session.SessionKey, MS-SMB2 3.2.5.3.1 */

static struct {
	pthread_once_t once;
	EVP_MAC *hmac;
	EVP_MD *sha512;
} algs = {PTHREAD_ONCE_INIT, NULL, NULL};

static void algs_fetch(void)
{
	algs.hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	algs.sha512 = EVP_MD_fetch(NULL, OSSL_DIGEST_NAME_SHA2_512, NULL);
}

static int algs_ready(void)
{
	if (pthread_once(&algs.once, algs_fetch) != 0)
		return -EIO;
	return algs.hmac && algs.sha512 ? 0 : -EIO;
}

static void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int smb3_kdf(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
	     const void *context, size_t context_len, uint8_t *out, size_t out_len)
{
	static const uint8_t sep = 0x00;
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	uint8_t counter[4], lbits[4], prf[SHA256_LEN];
	size_t prf_len = 0;
	int rc;

	if (!key || key_len == 0 || (!label && label_len) || (!context && context_len) || !out)
		return -EINVAL;
	if (out_len != 16 && out_len != 32)
		return -EINVAL;
	rc = algs_ready();
	if (rc)
		return rc;

	/* One PRF block covers L <= 256, so the counter i is always 1. */
	be32_store(counter, 1);
	be32_store(lbits, (uint32_t)(out_len * 8));

	ctx = EVP_MAC_CTX_new(algs.hmac);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)OSSL_DIGEST_NAME_SHA2_256, 0);
	params[1] = OSSL_PARAM_construct_end();
	rc = -EIO;
	if (!EVP_MAC_init(ctx, key, key_len, params))
		goto out;
	if (!EVP_MAC_update(ctx, counter, sizeof(counter)) ||
	    !EVP_MAC_update(ctx, label, label_len) || !EVP_MAC_update(ctx, &sep, 1) ||
	    !EVP_MAC_update(ctx, context, context_len) ||
	    !EVP_MAC_update(ctx, lbits, sizeof(lbits)))
		goto out;
	if (!EVP_MAC_final(ctx, prf, &prf_len, sizeof(prf)) || prf_len != sizeof(prf))
		goto out;
	memcpy(out, prf, out_len);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(prf, sizeof(prf));
	return rc;
}

void preauth_init(struct preauth_hash *p)
{
	memset(p->h, 0, sizeof(p->h));
}

int preauth_update_iov(struct preauth_hash *p, const struct iovec *iov, int iovcnt)
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	uint8_t h[64];
	int rc;

	if (!p || iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		if (!iov[i].iov_base && iov[i].iov_len)
			return -EINVAL;
	rc = algs_ready();
	if (rc)
		return rc;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	rc = -EIO;
	if (!EVP_DigestInit_ex2(ctx, algs.sha512, NULL) ||
	    !EVP_DigestUpdate(ctx, p->h, sizeof(p->h)))
		goto out;
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len && !EVP_DigestUpdate(ctx, iov[i].iov_base, iov[i].iov_len))
			goto out;
	if (!EVP_DigestFinal_ex(ctx, h, &n) || n != sizeof(h))
		goto out;
	/* Only replace the running value once the whole update succeeded. */
	memcpy(p->h, h, sizeof(h));
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int preauth_update(struct preauth_hash *p, const void *msg, size_t len)
{
	struct iovec iov = {(void *)msg, len};

	return preauth_update_iov(p, &iov, 1);
}

/* Labels and contexts include their trailing NUL (MS-SMB2 3.2.5.3.1). */
#define LIT(s) s, sizeof(s)

static int derive_30(const uint8_t *sk, struct smb3_keys *out)
{
	int rc;

	rc = smb3_kdf(sk, SESSION_KEY_LEN, LIT("SMB2AESCMAC"), LIT("SmbSign"), out->signing, 16);
	if (!rc)
		rc = smb3_kdf(sk, SESSION_KEY_LEN, LIT("SMB2AESCCM"), LIT("ServerIn "),
			      out->enc_c2s, 16);
	if (!rc)
		rc = smb3_kdf(sk, SESSION_KEY_LEN, LIT("SMB2AESCCM"), LIT("ServerOut"),
			      out->dec_s2c, 16);
	out->cipher_key_len = 16;
	return rc;
}

static int derive_311(const uint8_t *sk, const uint8_t *full, size_t full_len, size_t klen,
		      const uint8_t *preauth, struct smb3_keys *out)
{
	int rc;

	rc = smb3_kdf(sk, SESSION_KEY_LEN, LIT("SMBSigningKey"), preauth, 64, out->signing, 16);
	if (!rc)
		rc = smb3_kdf(full, full_len, LIT("SMBC2SCipherKey"), preauth, 64, out->enc_c2s,
			      klen);
	if (!rc)
		rc = smb3_kdf(full, full_len, LIT("SMBS2CCipherKey"), preauth, 64, out->dec_s2c,
			      klen);
	out->cipher_key_len = klen;
	return rc;
}

int smb3_derive_keys(uint16_t dialect, uint16_t cipher, const uint8_t *session_key,
		     size_t session_key_len, const uint8_t preauth[64], struct smb3_keys *out)
{
	uint8_t sk[SESSION_KEY_LEN] = {0};
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!session_key || session_key_len == 0)
		return -EINVAL;
	/* Session.SessionKey: first 16 bytes, right-padded with zeros. */
	memcpy(sk, session_key, session_key_len < sizeof(sk) ? session_key_len : sizeof(sk));

	switch (dialect) {
	case SMB2_DIALECT_0202:
	case SMB2_DIALECT_0210:
		/* MS-SMB2 3.2.5.3.1: SigningKey is the session key itself (HMAC-SHA256). */
		memcpy(out->signing, sk, sizeof(sk));
		rc = 0;
		break;
	case SMB2_DIALECT_0300:
	case SMB2_DIALECT_0302:
		/* 3.0.x has no cipher negotiation; it always uses AES-128-CCM. */
		rc = (cipher == 0 || cipher == SMB2_ENCRYPTION_AES128_CCM) ? derive_30(sk, out)
									   : -EINVAL;
		break;
	case SMB2_DIALECT_0311:
		if (!preauth) {
			rc = -EINVAL;
			break;
		}
		switch (cipher) {
		case 0:
		case SMB2_ENCRYPTION_AES128_CCM:
		case SMB2_ENCRYPTION_AES128_GCM:
			rc = derive_311(sk, sk, sizeof(sk), 16, preauth, out);
			break;
		case SMB2_ENCRYPTION_AES256_CCM:
		case SMB2_ENCRYPTION_AES256_GCM:
			/*
			 * Session.FullSessionKey. HMAC zero-pads keys shorter than its
			 * block, so a short key and its padded form give the same result.
			 */
			rc = derive_311(sk, session_key, session_key_len, 32, preauth, out);
			break;
		default:
			rc = -EINVAL;
			break;
		}
		break;
	default:
		rc = -EINVAL;
		break;
	}

	OPENSSL_cleanse(sk, sizeof(sk));
	if (rc)
		smb3_keys_wipe(out);
	return rc;
}

void smb3_keys_wipe(struct smb3_keys *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

int smb3_channel_signing_key(uint16_t dialect, const uint8_t *session_key, size_t session_key_len,
			     const uint8_t preauth[64], uint8_t out[16])
{
	struct smb3_keys k;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, 16);
	if (dialect != SMB2_DIALECT_0300 && dialect != SMB2_DIALECT_0302 &&
	    dialect != SMB2_DIALECT_0311)
		return -EINVAL;
	rc = smb3_derive_keys(dialect, 0, session_key, session_key_len, preauth, &k);
	if (!rc)
		memcpy(out, k.signing, 16);
	smb3_keys_wipe(&k);
	return rc;
}
