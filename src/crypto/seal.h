/*
 * seal.h - SMB 3.x encryption: the TRANSFORM_HEADER (MS-SMB2 2.2.41) and
 * AES-CCM/AES-GCM sealing (MS-SMB2 3.1.4.3, 3.2.5.1.1.1).
 *
 * A sealed frame is the 52-byte transform header followed by the ciphertext
 * of one SMB2 message (or compound chain):
 *   0  ProtocolId  0xFD 'S' 'M' 'B'
 *   4  Signature   16   AEAD tag
 *   20 Nonce       16   11 bytes used for CCM, 12 for GCM; the rest zero
 *   36 OriginalMessageSize 4
 *   40 Reserved    2
 *   42 Flags       2    0x0001 (Encrypted)
 *   44 SessionId   8
 * The AEAD's additional data is the 32 bytes from Nonce to the end.
 *
 * cipher is SMB2_ENCRYPTION_AES128_CCM/_GCM (16-byte key) or AES256_CCM/_GCM
 * (32-byte key). All functions are thread-safe; only smb3_nonce_next()
 * keeps state (one process-wide counter). Return values are 0 or a
 * negative errno: -EINVAL for bad arguments or an unknown cipher, -EMSGSIZE
 * when the output does not fit, -EBADMSG for any malformed or unauthentic
 * received frame, -ENOMEM/-EIO when OpenSSL fails.
 */
#ifndef SMBF_CRYPTO_SEAL_H
#define SMBF_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SMB2_TRANSFORM_HDR_SIZE 52
#define SMB2_TRANSFORM_FLAG_ENCRYPTED 0x0001
#define SMB3_CCM_NONCE_SIZE 11
#define SMB3_GCM_NONCE_SIZE 12
#define SMB3_AEAD_TAG_SIZE 16

enum smb2_transform_off {
	TF_PROTOCOL_ID = 0,
	TF_SIGNATURE = 4,
	TF_NONCE = 20,
	TF_ORIG_MSG_SIZE = 36,
	TF_RESERVED = 40,
	TF_FLAGS = 42,
	TF_SESSION_ID = 44,
};

/*
 * Key length in bytes for cipher (16 or 32), or 0 for an unknown cipher.
 * Nonce length (11 or 12), or 0 for an unknown cipher.
 */
size_t smb3_cipher_key_len(uint16_t cipher);
size_t smb3_cipher_nonce_len(uint16_t cipher);

/*
 * Seal the message plain[0..iovcnt) for session_id: write the transform
 * header and the ciphertext to out (SMB2_TRANSFORM_HDR_SIZE + message length
 * bytes, at most out_cap) and set *out_len. Only the first 11 (CCM) or 12
 * (GCM) bytes of nonce are used; the rest of the header's Nonce field is
 * written as zero. The caller guarantees the nonce is never reused with this
 * key (see smb3_nonce_next). The message must be 1..INT32_MAX-52 bytes.
 * In-place use is allowed: one iovec whose base is exactly
 * out + SMB2_TRANSFORM_HDR_SIZE; any other overlap with out is undefined.
 */
int smb3_encrypt(uint16_t cipher, const uint8_t *key, uint64_t session_id, const uint8_t nonce[16],
		 const struct iovec *plain, int iovcnt, uint8_t *out, size_t out_cap,
		 size_t *out_len);

/*
 * Open a received sealed frame[0..len) in place. Checks the ProtocolId,
 * Flags == 0x0001 and OriginalMessageSize == len - 52 (and non-zero), then
 * authenticates and decrypts: on success the plaintext message occupies
 * frame[*plain_off .. *plain_off + *plain_len) (*plain_off is always 52) and
 * *session_id is the header's SessionId. Reserved is ignored and unused
 * Nonce bytes may be non-zero (both are still authenticated as AAD). Any
 * failure returns -EBADMSG with the outputs untouched; if the tag check
 * fails after decryption, the payload bytes are wiped.
 */
int smb3_decrypt(uint16_t cipher, const uint8_t *key, uint8_t *frame, size_t len,
		 uint64_t *session_id, size_t *plain_off, size_t *plain_len);

/*
 * Reusable cipher contexts for the _ctx variants below: one per thread that
 * seals/opens (a connection's loop thread), never shared between threads.
 * smb3_aead_new returns NULL when out of memory; smb3_aead_free(NULL) is a
 * no-op. The _ctx variants behave exactly like smb3_encrypt/smb3_decrypt
 * (same checks, results and errors) without allocating per message; a NULL
 * context means a fresh one for this call.
 */
struct smb3_aead;
struct smb3_aead *smb3_aead_new(void);
void smb3_aead_free(struct smb3_aead *a);
int smb3_encrypt_ctx(struct smb3_aead *a, uint16_t cipher, const uint8_t *key,
		     uint64_t session_id, const uint8_t nonce[16], const struct iovec *plain,
		     int iovcnt, uint8_t *out, size_t out_cap, size_t *out_len);
int smb3_decrypt_ctx(struct smb3_aead *a, uint16_t cipher, const uint8_t *key, uint8_t *frame,
		     size_t len, uint64_t *session_id, size_t *plain_off, size_t *plain_len);

/*
 * Read the SessionId of a sealed frame so the caller can pick the session's
 * key before smb3_decrypt. Checks only the length and ProtocolId (-EBADMSG);
 * the value is unauthenticated until smb3_decrypt succeeds.
 */
int smb3_transform_session_id(const uint8_t *frame, size_t len, uint64_t *session_id);

/*
 * Write a fresh nonce for smb3_encrypt to nonce[0..16): a process-wide
 * 64-bit counter (little-endian, bytes 0..7, random start) followed by a
 * random per-process salt, 11 (CCM) or 12 (GCM) bytes in all, the rest zero.
 * The input contents are ignored, so an uninitialised buffer is fine. Each
 * call returns a nonce never returned before in this process, whatever the
 * key, thread or channel. Thread-safe. Returns -EINVAL for an unknown cipher,
 * -EIO if the RNG fails on first use.
 */
int smb3_nonce_next(uint16_t cipher, uint8_t nonce[16]);

/*
 * Lower-level AEAD the functions above are built on, exposed for
 * known-answer tests against NIST CCM/GCM vectors. nonce is
 * smb3_cipher_nonce_len(cipher) bytes, the tag is 16 bytes. seal encrypts
 * plain[0..iovcnt) to out (same in-place rule as smb3_encrypt) and writes
 * the tag; open decrypts buf[0..len) in place and returns -EBADMSG, with
 * buf wiped, when the tag does not verify. len must be 1..INT32_MAX.
 */
int smb3_aead_seal(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		   size_t aad_len, const struct iovec *plain, int iovcnt, uint8_t *out,
		   uint8_t tag[16]);
int smb3_aead_open(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		   size_t aad_len, uint8_t *buf, size_t len, const uint8_t tag[16]);

#endif
