/*
 * sign.c - HMAC-SHA256, AES-128-CMAC and AES-128-GMAC message signing
 * (MS-SMB2 3.1.4.1, 3.1.5.1).
 *
 * Signing covers the whole message with the Signature field zeroed. Verify
 * never writes to the received buffer: it feeds a zero block in place of the
 * Signature field, so a failed check leaves the message exactly as received.
 */
#include "crypto/sign.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "wire/buf.h"
#include "wire/smb2.h"

#define SIG_OFF HDR_SIGNATURE /* 48 */

static struct {
	pthread_once_t once;
	EVP_MAC *hmac;
	EVP_MAC *cmac;
	EVP_CIPHER *aes128gcm;
} algs = {PTHREAD_ONCE_INIT, NULL, NULL, NULL};

static void algs_fetch(void)
{
	algs.hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	algs.cmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
	algs.aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

static int algs_ready(void)
{
	if (pthread_once(&algs.once, algs_fetch) != 0)
		return -EIO;
	return algs.hmac && algs.cmac && algs.aes128gcm ? 0 : -EIO;
}

/* Validate an iovec array and return its total length in *total. */
static int iov_total(const struct iovec *iov, int iovcnt, size_t *total)
{
	size_t n = 0;

	if (iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_base && iov[i].iov_len)
			return -EINVAL;
		if (iov[i].iov_len > SIZE_MAX - n)
			return -EINVAL;
		n += iov[i].iov_len;
	}
	*total = n;
	return 0;
}

/* Copy the first n bytes of the iov concatenation to dst; caller checked the total. */
static void iov_gather(const struct iovec *iov, int iovcnt, uint8_t *dst, size_t n)
{
	for (int i = 0; i < iovcnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		memcpy(dst, iov[i].iov_base, k);
		dst += k;
		n -= k;
	}
}

static int mac_iov(EVP_MAC *mac, const OSSL_PARAM *params, const uint8_t *key,
		   const struct iovec *iov, int iovcnt, uint8_t out[16])
{
	EVP_MAC_CTX *ctx;
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t n = 0;
	int rc = -EIO;

	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	if (!EVP_MAC_init(ctx, key, SMB2_SIGNING_KEY_SIZE, params))
		goto out;
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len && !EVP_MAC_update(ctx, iov[i].iov_base, iov[i].iov_len))
			goto out;
	if (!EVP_MAC_final(ctx, full, &n, sizeof(full)) || n < 16)
		goto out;
	/* HMAC-SHA256 is truncated to its first 16 bytes; CMAC is 16 already. */
	memcpy(out, full, 16);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(full, sizeof(full));
	return rc;
}

static int hmac_sha256_iov(const uint8_t *key, const struct iovec *iov, int iovcnt, uint8_t out[16])
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)OSSL_DIGEST_NAME_SHA2_256, 0);
	params[1] = OSSL_PARAM_construct_end();
	return mac_iov(algs.hmac, params, key, iov, iovcnt, out);
}

int smb2_cmac_iov(const uint8_t key[16], const struct iovec *iov, int iovcnt, uint8_t mac[16])
{
	OSSL_PARAM params[2];
	size_t total;
	int rc;

	if (!key || !mac)
		return -EINVAL;
	rc = iov_total(iov, iovcnt, &total);
	if (!rc)
		rc = algs_ready();
	if (rc)
		return rc;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	return mac_iov(algs.cmac, params, key, iov, iovcnt, mac);
}

int smb2_gmac_iov(const uint8_t key[16], const uint8_t nonce[12], const struct iovec *iov,
		  int iovcnt, uint8_t mac[16])
{
	EVP_CIPHER_CTX *ctx;
	uint8_t dummy[16];
	size_t total;
	int outl, rc;

	if (!key || !nonce || !mac)
		return -EINVAL;
	rc = iov_total(iov, iovcnt, &total);
	if (!rc)
		rc = algs_ready();
	if (rc)
		return rc;

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	rc = -EIO;
	/* GMAC is GCM with the whole message as AAD and no plaintext. */
	if (!EVP_EncryptInit_ex2(ctx, algs.aes128gcm, NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, SMB2_GMAC_NONCE_SIZE, NULL) ||
	    !EVP_EncryptInit_ex2(ctx, NULL, key, nonce, NULL))
		goto out;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			int k = left > INT_MAX ? INT_MAX : (int)left;

			if (!EVP_EncryptUpdate(ctx, NULL, &outl, p, k))
				goto out;
			p += k;
			left -= (size_t)k;
		}
	}
	if (!EVP_EncryptFinal_ex(ctx, dummy, &outl) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, mac))
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * AES_GMAC_Nonce (MS-SMB2 3.1.4.1): MessageId, then a 32-bit word whose bit 0
 * is set for messages from the server (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1
 * for CANCEL. CANCEL only exists as a request, so the command alone decides
 * bit 1, as in Samba.
 */
static void gmac_nonce(const uint8_t hdr[SMB2_HDR_SIZE], uint8_t nonce[12])
{
	uint32_t flags = le32_load(hdr + HDR_FLAGS);
	uint16_t cmd = le16_load(hdr + HDR_COMMAND);
	uint32_t word = 0;

	if (flags & SMB2_FLAGS_SERVER_TO_REDIR)
		word |= 1u;
	if (cmd == SMB2_CANCEL)
		word |= 2u;
	memcpy(nonce, hdr + HDR_MESSAGE_ID, 8);
	le32_store(nonce + 8, word);
}

int smb2_sign_iov(uint16_t alg, const uint8_t *key, const struct iovec *iov, int iovcnt,
		  uint8_t sig[16])
{
	uint8_t hdr[SMB2_HDR_SIZE], nonce[SMB2_GMAC_NONCE_SIZE];
	size_t total;
	int rc;

	if (!key || !sig)
		return -EINVAL;
	rc = iov_total(iov, iovcnt, &total);
	if (rc)
		return rc;
	if (total < SMB2_HDR_SIZE)
		return -EINVAL;
	rc = algs_ready();
	if (rc)
		return rc;

	switch (alg) {
	case SMB2_SIGNING_HMAC_SHA256:
		return hmac_sha256_iov(key, iov, iovcnt, sig);
	case SMB2_SIGNING_AES_CMAC:
		return smb2_cmac_iov(key, iov, iovcnt, sig);
	case SMB2_SIGNING_AES_GMAC:
		iov_gather(iov, iovcnt, hdr, sizeof(hdr));
		gmac_nonce(hdr, nonce);
		return smb2_gmac_iov(key, nonce, iov, iovcnt, sig);
	default:
		return -EOPNOTSUPP;
	}
}

int smb2_sign_pdu(uint16_t alg, const uint8_t *key, uint8_t *pdu, size_t len)
{
	struct iovec iov;
	uint8_t sig[16];
	int rc;

	if (!pdu || len < SMB2_HDR_SIZE)
		return -EINVAL;
	memset(pdu + SIG_OFF, 0, SMB2_SIG_SIZE);
	iov.iov_base = pdu;
	iov.iov_len = len;
	rc = smb2_sign_iov(alg, key, &iov, 1, sig);
	if (!rc)
		memcpy(pdu + SIG_OFF, sig, sizeof(sig));
	return rc;
}

int smb2_verify_pdu(uint16_t alg, const uint8_t *key, uint8_t *pdu, size_t len)
{
	static const uint8_t zero_sig[SMB2_SIG_SIZE];
	struct iovec iov[3];
	uint8_t sig[16];
	int rc;

	if (!pdu)
		return -EINVAL;
	if (len < SMB2_HDR_SIZE)
		return -EBADMSG;
	iov[0].iov_base = pdu;
	iov[0].iov_len = SIG_OFF;
	iov[1].iov_base = (void *)zero_sig;
	iov[1].iov_len = sizeof(zero_sig);
	iov[2].iov_base = pdu + SMB2_HDR_SIZE;
	iov[2].iov_len = len - SMB2_HDR_SIZE;
	rc = smb2_sign_iov(alg, key, iov, 3, sig);
	if (rc)
		return rc;
	return CRYPTO_memcmp(sig, pdu + SIG_OFF, sizeof(sig)) == 0 ? 0 : -EBADMSG;
}
