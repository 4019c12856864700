/*
 * sign.h - SMB2/3 message signing (MS-SMB2 3.1.4.1): HMAC-SHA256, AES-128-CMAC
 * and AES-128-GMAC.
 *
 * All functions are thread-safe and stateless. key is always the 16-byte
 * signing key: Session.SessionKey for 2.x (HMAC-SHA256), the derived
 * SigningKey (smb3_derive_keys) for 3.x. Return values are 0 or a negative
 * errno: -EINVAL for bad arguments, -EOPNOTSUPP for an unknown algorithm,
 * -EBADMSG when a received signature does not verify, -ENOMEM/-EIO when
 * OpenSSL fails.
 */
#ifndef SMBF_CRYPTO_SIGN_H
#define SMBF_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SMB2_SIGNING_KEY_SIZE 16
#define SMB2_GMAC_NONCE_SIZE 12

/*
 * Compute the signature of one SMB2 message held in iov[0..iovcnt), whose
 * concatenation starts with the 64-byte SMB2 header; the header may be split
 * across iov entries. The caller has zeroed the Signature field (header
 * offset 48). alg is SMB2_SIGNING_HMAC_SHA256 (output truncated to 16
 * bytes), SMB2_SIGNING_AES_CMAC or SMB2_SIGNING_AES_GMAC. For GMAC the
 * nonce is built from the header: MessageId (8 bytes, as on the wire), then
 * a 32-bit little-endian word with bit 0 set when SMB2_FLAGS_SERVER_TO_REDIR
 * is set and bit 1 set for a CANCEL request. Fails with -EINVAL when the
 * message is shorter than the header.
 */
int smb2_sign_iov(uint16_t alg, const uint8_t *key, const struct iovec *iov, int iovcnt,
		  uint8_t sig[16]);

/*
 * Sign a contiguous message in place: zero the Signature field, compute the
 * signature over pdu[0..len), and store it at offset 48. Nothing else is
 * changed; the caller sets SMB2_FLAGS_SIGNED beforehand. For a compound,
 * call once per message with len = that message's length (NextCommand
 * padding included, MS-SMB2 3.1.4.1).
 */
int smb2_sign_pdu(uint16_t alg, const uint8_t *key, uint8_t *pdu, size_t len);

/*
 * Verify the signature of a received message pdu[0..len): recompute it as
 * if the Signature field were zero and compare in constant time. Returns 0,
 * or -EBADMSG on mismatch or when len is shorter than the header. pdu is not
 * modified (it is non-const only to match smb2_sign_pdu).
 */
int smb2_verify_pdu(uint16_t alg, const uint8_t *key, uint8_t *pdu, size_t len);

/*
 * Lower-level MACs that smb2_sign_iov is built on, exposed for known-answer
 * tests against the primitives' own published vectors (RFC 4493, NIST GCM).
 * Any message length, including zero.
 */
int smb2_cmac_iov(const uint8_t key[16], const struct iovec *iov, int iovcnt, uint8_t mac[16]);
int smb2_gmac_iov(const uint8_t key[16], const uint8_t nonce[12], const struct iovec *iov,
		  int iovcnt, uint8_t mac[16]);

#endif
