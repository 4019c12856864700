/*
 * seal.c - TRANSFORM_HEADER and AES-CCM/AES-GCM message encryption
 * (MS-SMB2 2.2.41, 3.1.4.3, 3.2.5.1.1.1).
 *
 * Encryption builds the header first, authenticates its last 32 bytes as
 * AAD, and stores the tag in Signature. Decryption treats the frame as
 * hostile: every header check happens before any crypto, the ciphertext is
 * decrypted in place only after the length has been matched against
 * OriginalMessageSize, and a tag mismatch wipes the decrypted bytes so no
 * unauthenticated plaintext survives the call.
 *
 * OpenSSL's CCM needs the whole message in one update, so CCM gathers the
 * iovecs into the output first; GCM streams them.
 *
 * Speed: a connection keeps a struct smb3_aead (one EVP context per
 * direction, set up once per cipher) and passes it to the _ctx variants, so
 * sealing and opening a message allocate nothing; decryption is in place.
 * The plain variants use a fresh context per call (tests, one-off use).
 */
#include "crypto/seal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "wire/buf.h"
#include "wire/smb2.h"

#define TF_AAD_OFF TF_NONCE
#define TF_AAD_LEN (SMB2_TRANSFORM_HDR_SIZE - TF_NONCE) /* 32 */
#define MAX_PLAIN ((size_t)INT_MAX - SMB2_TRANSFORM_HDR_SIZE)

static struct {
	pthread_once_t once;
	EVP_CIPHER *ccm128, *ccm256, *gcm128, *gcm256;
} algs = {PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL};

static void algs_fetch(void)
{
	algs.ccm128 = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
	algs.ccm256 = EVP_CIPHER_fetch(NULL, "AES-256-CCM", NULL);
	algs.gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	algs.gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* The fetched cipher for an SMB cipher id, or NULL (unknown id or fetch failure). */
static const EVP_CIPHER *cipher_get(uint16_t cipher)
{
	if (pthread_once(&algs.once, algs_fetch) != 0)
		return NULL;
	switch (cipher) {
	case SMB2_ENCRYPTION_AES128_CCM:
		return algs.ccm128;
	case SMB2_ENCRYPTION_AES256_CCM:
		return algs.ccm256;
	case SMB2_ENCRYPTION_AES128_GCM:
		return algs.gcm128;
	case SMB2_ENCRYPTION_AES256_GCM:
		return algs.gcm256;
	default:
		return NULL;
	}
}

static int is_ccm(uint16_t cipher)
{
	return cipher == SMB2_ENCRYPTION_AES128_CCM || cipher == SMB2_ENCRYPTION_AES256_CCM;
}

size_t smb3_cipher_key_len(uint16_t cipher)
{
	switch (cipher) {
	case SMB2_ENCRYPTION_AES128_CCM:
	case SMB2_ENCRYPTION_AES128_GCM:
		return 16;
	case SMB2_ENCRYPTION_AES256_CCM:
	case SMB2_ENCRYPTION_AES256_GCM:
		return 32;
	default:
		return 0;
	}
}

size_t smb3_cipher_nonce_len(uint16_t cipher)
{
	switch (cipher) {
	case SMB2_ENCRYPTION_AES128_CCM:
	case SMB2_ENCRYPTION_AES256_CCM:
		return SMB3_CCM_NONCE_SIZE;
	case SMB2_ENCRYPTION_AES128_GCM:
	case SMB2_ENCRYPTION_AES256_GCM:
		return SMB3_GCM_NONCE_SIZE;
	default:
		return 0;
	}
}

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

/*
 * Reusable contexts, one per direction: the cipher is set up once (or again
 * when it changes) and each message only re-keys and sets its nonce, so the
 * hot path allocates nothing.
 */
struct smb3_aead {
	EVP_CIPHER_CTX *ctx[2]; /* [0] decrypt, [1] encrypt */
	uint16_t cipher[2];     /* cipher ctx[i] is set up for; 0 = none */
};

struct smb3_aead *smb3_aead_new(void)
{
	struct smb3_aead *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->ctx[0] = EVP_CIPHER_CTX_new();
	a->ctx[1] = EVP_CIPHER_CTX_new();
	if (!a->ctx[0] || !a->ctx[1]) {
		smb3_aead_free(a);
		return NULL;
	}
	return a;
}

void smb3_aead_free(struct smb3_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx[0]); /* also wipes the key schedule */
	EVP_CIPHER_CTX_free(a->ctx[1]);
	free(a);
}

/*
 * The context for one operation: a's (set up for cipher) or, with a NULL,
 * a fresh one the caller frees (*tmp). NULL on allocation failure.
 */
static EVP_CIPHER_CTX *ctx_for(struct smb3_aead *a, int enc, uint16_t cipher,
			       const EVP_CIPHER *c, EVP_CIPHER_CTX **tmp)
{
	EVP_CIPHER_CTX *ctx;

	*tmp = NULL;
	if (!a) {
		ctx = *tmp = EVP_CIPHER_CTX_new();
		if (ctx && !EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL)) {
			EVP_CIPHER_CTX_free(ctx);
			ctx = *tmp = NULL;
		}
		return ctx;
	}
	ctx = a->ctx[enc];
	if (a->cipher[enc] != cipher) {
		a->cipher[enc] = 0;
		if (!EVP_CIPHER_CTX_reset(ctx) || !EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL))
			return NULL;
		a->cipher[enc] = cipher;
	}
	return ctx;
}

/* After a failed operation a reused context may be mid-message: set it up afresh next time. */
static void ctx_done(struct smb3_aead *a, int enc, EVP_CIPHER_CTX *tmp, int rc)
{
	if (tmp)
		EVP_CIPHER_CTX_free(tmp);
	else if (a && rc)
		a->cipher[enc] = 0;
}

/*
 * Per-message AEAD setup on a context whose cipher is set: nonce length,
 * (CCM) tag length and message length, key and nonce, AAD.
 */
static int aead_init(EVP_CIPHER_CTX *ctx, int enc, uint16_t cipher, const uint8_t *key,
		     const uint8_t *nonce, const uint8_t *aad, size_t aad_len, size_t msg_len,
		     uint8_t *ccm_tag)
{
	int outl;

	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)smb3_cipher_nonce_len(cipher),
				 NULL))
		return -EIO;
	/* CCM fixes the tag length (and, decrypting, the expected tag) before the key. */
	if (is_ccm(cipher) &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SMB3_AEAD_TAG_SIZE, ccm_tag))
		return -EIO;
	if (!EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL))
		return -EIO;
	if (is_ccm(cipher) && !EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)msg_len))
		return -EIO;
	if (aad_len && !EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len))
		return -EIO;
	return 0;
}

static int aead_seal(struct smb3_aead *a, uint16_t cipher, const uint8_t *key,
		     const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		     const struct iovec *plain, int iovcnt, uint8_t *out, uint8_t tag[16])
{
	const EVP_CIPHER *c = cipher_get(cipher);
	EVP_CIPHER_CTX *ctx, *tmp;
	size_t total, off = 0;
	int outl, rc;

	if (!smb3_cipher_key_len(cipher) || !key || !nonce || (!aad && aad_len) || !out || !tag)
		return -EINVAL;
	rc = iov_total(plain, iovcnt, &total);
	if (rc)
		return rc;
	if (total == 0 || total > INT_MAX || aad_len > INT_MAX)
		return -EINVAL;
	if (!c)
		return -EIO;

	ctx = ctx_for(a, 1, cipher, c, &tmp);
	if (!ctx)
		return -ENOMEM;
	rc = aead_init(ctx, 1, cipher, key, nonce, aad, aad_len, total, NULL);
	if (rc)
		goto out;
	rc = -EIO;
	if (is_ccm(cipher)) {
		/* Gather, then encrypt in place with the single update CCM needs. */
		for (int i = 0; i < iovcnt; i++) {
			if (plain[i].iov_len && plain[i].iov_base != (void *)(out + off))
				memmove(out + off, plain[i].iov_base, plain[i].iov_len);
			off += plain[i].iov_len;
		}
		if (!EVP_EncryptUpdate(ctx, out, &outl, out, (int)total))
			goto out;
	} else {
		for (int i = 0; i < iovcnt; i++) {
			if (!plain[i].iov_len)
				continue;
			if (!EVP_EncryptUpdate(ctx, out + off, &outl, plain[i].iov_base,
					       (int)plain[i].iov_len))
				goto out;
			off += (size_t)outl;
		}
		if (!EVP_EncryptFinal_ex(ctx, out + off, &outl))
			goto out;
	}
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SMB3_AEAD_TAG_SIZE, tag))
		goto out;
	rc = 0;
out:
	ctx_done(a, 1, tmp, rc);
	return rc;
}

int smb3_aead_seal(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		   size_t aad_len, const struct iovec *plain, int iovcnt, uint8_t *out,
		   uint8_t tag[16])
{
	return aead_seal(NULL, cipher, key, nonce, aad, aad_len, plain, iovcnt, out, tag);
}

static int aead_open(struct smb3_aead *a, uint16_t cipher, const uint8_t *key,
		     const uint8_t *nonce, const uint8_t *aad, size_t aad_len, uint8_t *buf,
		     size_t len, const uint8_t tag[16])
{
	const EVP_CIPHER *c = cipher_get(cipher);
	uint8_t want[SMB3_AEAD_TAG_SIZE];
	EVP_CIPHER_CTX *ctx, *tmp;
	int outl, fin, rc;

	if (!smb3_cipher_key_len(cipher) || !key || !nonce || (!aad && aad_len) || !buf || !tag)
		return -EINVAL;
	if (len == 0 || len > INT_MAX || aad_len > INT_MAX)
		return -EINVAL;
	if (!c)
		return -EIO;
	/* EVP wants a writable tag buffer; it also must not alias buf. */
	memcpy(want, tag, sizeof(want));

	ctx = ctx_for(a, 0, cipher, c, &tmp);
	if (!ctx)
		return -ENOMEM;
	rc = aead_init(ctx, 0, cipher, key, nonce, aad, aad_len, len, want);
	if (rc)
		goto out;
	/* From here on any failure is an authentication failure. */
	rc = -EBADMSG;
	if (is_ccm(cipher)) {
		/* CCM verifies the tag inside this update. */
		if (EVP_DecryptUpdate(ctx, buf, &outl, buf, (int)len) <= 0)
			goto fail;
	} else {
		if (!EVP_DecryptUpdate(ctx, buf, &outl, buf, (int)len) || (size_t)outl != len)
			goto fail;
		if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SMB3_AEAD_TAG_SIZE, want))
			goto fail;
		fin = EVP_DecryptFinal_ex(ctx, buf + outl, &outl);
		if (fin <= 0)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	OPENSSL_cleanse(buf, len);
out:
	ctx_done(a, 0, tmp, rc);
	return rc;
}

int smb3_aead_open(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		   size_t aad_len, uint8_t *buf, size_t len, const uint8_t tag[16])
{
	return aead_open(NULL, cipher, key, nonce, aad, aad_len, buf, len, tag);
}

int smb3_encrypt(uint16_t cipher, const uint8_t *key, uint64_t session_id, const uint8_t nonce[16],
		 const struct iovec *plain, int iovcnt, uint8_t *out, size_t out_cap,
		 size_t *out_len)
{
	return smb3_encrypt_ctx(NULL, cipher, key, session_id, nonce, plain, iovcnt, out, out_cap,
				out_len);
}

int smb3_encrypt_ctx(struct smb3_aead *a, uint16_t cipher, const uint8_t *key,
		     uint64_t session_id, const uint8_t nonce[16], const struct iovec *plain,
		     int iovcnt, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE] = {0};
	size_t nlen = smb3_cipher_nonce_len(cipher);
	size_t total;
	int rc;

	if (!nlen || !key || !nonce || !out || !out_len)
		return -EINVAL;
	rc = iov_total(plain, iovcnt, &total);
	if (rc)
		return rc;
	if (total == 0 || total > MAX_PLAIN)
		return -EINVAL;
	if (out_cap < SMB2_TRANSFORM_HDR_SIZE || total > out_cap - SMB2_TRANSFORM_HDR_SIZE)
		return -EMSGSIZE;

	/* MS-SMB2 2.2.41; Signature is filled in after sealing. */
	le32_store(hdr + TF_PROTOCOL_ID, SMB2_TRANSFORM_ID);
	memcpy(hdr + TF_NONCE, nonce, nlen);
	le32_store(hdr + TF_ORIG_MSG_SIZE, (uint32_t)total);
	le16_store(hdr + TF_FLAGS, SMB2_TRANSFORM_FLAG_ENCRYPTED);
	le64_store(hdr + TF_SESSION_ID, session_id);

	rc = aead_seal(a, cipher, key, hdr + TF_NONCE, hdr + TF_AAD_OFF, TF_AAD_LEN, plain, iovcnt,
		       out + SMB2_TRANSFORM_HDR_SIZE, hdr + TF_SIGNATURE);
	if (rc)
		return rc;
	memcpy(out, hdr, sizeof(hdr));
	*out_len = SMB2_TRANSFORM_HDR_SIZE + total;
	return 0;
}

int smb3_decrypt(uint16_t cipher, const uint8_t *key, uint8_t *frame, size_t len,
		 uint64_t *session_id, size_t *plain_off, size_t *plain_len)
{
	return smb3_decrypt_ctx(NULL, cipher, key, frame, len, session_id, plain_off, plain_len);
}

int smb3_decrypt_ctx(struct smb3_aead *a, uint16_t cipher, const uint8_t *key, uint8_t *frame,
		     size_t len, uint64_t *session_id, size_t *plain_off, size_t *plain_len)
{
	size_t plen;
	int rc;

	if (!smb3_cipher_key_len(cipher) || !key || !frame || !session_id || !plain_off ||
	    !plain_len)
		return -EINVAL;
	/* Header checks, all before any crypto (MS-SMB2 3.2.5.1.1.1). */
	if (len <= SMB2_TRANSFORM_HDR_SIZE)
		return -EBADMSG;
	plen = len - SMB2_TRANSFORM_HDR_SIZE;
	if (le32_load(frame + TF_PROTOCOL_ID) != SMB2_TRANSFORM_ID)
		return -EBADMSG;
	if (le16_load(frame + TF_FLAGS) != SMB2_TRANSFORM_FLAG_ENCRYPTED)
		return -EBADMSG;
	if (plen > MAX_PLAIN || le32_load(frame + TF_ORIG_MSG_SIZE) != plen)
		return -EBADMSG;

	/* Nonce, AAD and tag lie in the header, apart from the bytes decrypted in place. */
	rc = aead_open(a, cipher, key, frame + TF_NONCE, frame + TF_AAD_OFF, TF_AAD_LEN,
		       frame + SMB2_TRANSFORM_HDR_SIZE, plen, frame + TF_SIGNATURE);
	if (rc)
		return rc;
	*session_id = le64_load(frame + TF_SESSION_ID);
	*plain_off = SMB2_TRANSFORM_HDR_SIZE;
	*plain_len = plen;
	return 0;
}

int smb3_transform_session_id(const uint8_t *frame, size_t len, uint64_t *session_id)
{
	if (!frame || !session_id)
		return -EINVAL;
	if (len < SMB2_TRANSFORM_HDR_SIZE || le32_load(frame + TF_PROTOCOL_ID) != SMB2_TRANSFORM_ID)
		return -EBADMSG;
	*session_id = le64_load(frame + TF_SESSION_ID);
	return 0;
}

/*
 * Nonces come from one process-wide 64-bit counter with a random starting
 * point (top bit clear) and a random salt, both drawn once. Every call takes
 * a distinct counter value, so nonces never repeat within the process for any
 * key, across threads and channels alike, and no caller state can be
 * forgotten or left uninitialised.
 */
static struct {
	pthread_once_t once;
	int ok;
	uint8_t salt[4];
} nonce_src = {PTHREAD_ONCE_INIT, 0, {0}};
static _Atomic uint64_t nonce_ctr;

static void nonce_init(void)
{
	uint8_t r[12];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return;
	/* At least 2^63 values before the counter could wrap. */
	atomic_store(&nonce_ctr, le64_load(r) & (UINT64_MAX >> 1));
	memcpy(nonce_src.salt, r + 8, sizeof(nonce_src.salt));
	nonce_src.ok = 1;
}

int smb3_nonce_next(uint16_t cipher, uint8_t nonce[16])
{
	size_t nlen = smb3_cipher_nonce_len(cipher);
	uint64_t v;

	if (!nlen || !nonce)
		return -EINVAL;
	if (pthread_once(&nonce_src.once, nonce_init) != 0 || !nonce_src.ok)
		return -EIO;
	v = atomic_fetch_add_explicit(&nonce_ctr, 1, memory_order_relaxed);
	if (v == UINT64_MAX)
		return -EOVERFLOW; /* unreachable in practice: 2^63 messages */
	memset(nonce, 0, 16);
	le64_store(nonce, v);
	memcpy(nonce + 8, nonce_src.salt, nlen - 8);
	return 0;
}
