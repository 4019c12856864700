/*
 * kdf.h - SMB 3.x key derivation and the pre-authentication integrity hash.
 *
 * All functions are thread-safe and keep no state between calls. Key
 * material passed in is only read; derived keys are written to caller-owned
 * storage, which the caller wipes (smb3_keys_wipe) when the session ends.
 * Return values are 0 or a negative errno: -EINVAL for bad arguments, -ENOMEM
 * or -EIO when OpenSSL fails.
 */
#ifndef SMBF_CRYPTO_KDF_H
#define SMBF_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * SP800-108 KDF in counter mode with HMAC-SHA256 as the PRF, r = 32, as
 * MS-SMB2 3.1.4.2 uses it: one PRF block,
 *   HMAC-SHA256(key, [1]_be32 || label || 0x00 || context || [L]_be32)
 * truncated to out_len bytes, with L = out_len * 8.
 *
 * label and context are passed with their own lengths; SMB's labels already
 * end in a NUL that is part of the label ("SMBSigningKey\0"), and the 0x00
 * separator is added here. out_len must be 16 or 32.
 */
int smb3_kdf(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
	     const void *context, size_t context_len, uint8_t *out, size_t out_len);

/*
 * Pre-authentication integrity hash (MS-SMB2 3.2.5.2, 3.3.5.4), SHA-512 only.
 * preauth_init() zeroes the value; each preauth_update() sets
 *   h = SHA-512(h || message)
 * over one whole SMB2 message (header included, transport header excluded).
 * The connection keeps one value for NEGOTIATE; each session setup starts
 * from a copy of it.
 */
struct preauth_hash {
	uint8_t h[64];
};

void preauth_init(struct preauth_hash *p);
int preauth_update(struct preauth_hash *p, const void *msg, size_t len);
/* As preauth_update() over the concatenation of iov[0..iovcnt). */
int preauth_update_iov(struct preauth_hash *p, const struct iovec *iov, int iovcnt);

/*
 * Session keys (MS-SMB2 3.2.5.3.1). signing is Session.SigningKey;
 * enc_c2s is the client's EncryptionKey (ServerInKey), dec_s2c the client's
 * DecryptionKey (ServerOutKey). The first cipher_key_len bytes of enc_c2s and
 * dec_s2c are valid: 16 for AES-128 ciphers, 32 for AES-256, 0 when the
 * dialect has no encryption.
 */
struct smb3_keys {
	uint8_t signing[16];
	uint8_t enc_c2s[32];
	uint8_t dec_s2c[32];
	size_t cipher_key_len;
};

/*
 * Derive the session keys for a dialect (SMB2_DIALECT_*) and cipher
 * (SMB2_ENCRYPTION_*, or 0 when none was negotiated) from the session key
 * the authentication returned (any length >= 1; Kerberos may give 32 bytes).
 *
 *  2.0.2, 2.1:  signing = Session.SessionKey; no cipher keys.
 *  3.0, 3.0.2:  "SMB2AESCMAC\0"/"SmbSign\0", "SMB2AESCCM\0"/"ServerIn \0",
 *               "SMB2AESCCM\0"/"ServerOut\0"; cipher must be 0 or AES-128-CCM.
 *  3.1.1:       "SMBSigningKey\0", "SMBC2SCipherKey\0", "SMBS2CCipherKey\0",
 *               each with the session's preauth hash (64 bytes) as context.
 *
 * Session.SessionKey is the first 16 bytes of session_key, right-padded with
 * zeros when shorter; it keys the signing key and 128-bit cipher keys. For
 * AES-256-CCM/GCM (3.1.1 only) the cipher keys are derived with L = 256 from
 * the full session key (Session.FullSessionKey). preauth is read only for
 * 3.1.1 and may be NULL otherwise. On error *out is zeroed.
 */
int smb3_derive_keys(uint16_t dialect, uint16_t cipher, const uint8_t *session_key,
		     size_t session_key_len, const uint8_t preauth[64], struct smb3_keys *out);

/*
 * Channel.SigningKey of a channel bound to a session (MS-SMB2 3.2.5.3.3):
 * derived like Session.SigningKey, but from the session key of the binding's
 * own authentication and, for 3.1.1, from the preauth hash of the binding
 * connection (its NEGOTIATE and binding SESSION_SETUP exchange). Channels
 * exist only in 3.x: -EINVAL for 2.x dialects, and for 3.1.1 without preauth.
 * Encryption keys are the session's, not the channel's: none is derived.
 */
int smb3_channel_signing_key(uint16_t dialect, const uint8_t *session_key, size_t session_key_len,
			     const uint8_t preauth[64], uint8_t out[16]);

/* Wipe all key material in k (OPENSSL_cleanse). k may be NULL. */
void smb3_keys_wipe(struct smb3_keys *k);

#endif
