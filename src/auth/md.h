/*
 * md.h - the legacy digests and cipher NTLM needs: MD4, MD5, HMAC-MD5, RC4.
 *
 * OpenSSL 3 keeps MD4 and RC4 in the "legacy" provider, which the default
 * library context does not load. This module owns a private OSSL_LIB_CTX with
 * both the "default" and "legacy" providers loaded, created once on first use
 * (pthread_once) and shared read-only by every thread afterwards. Nothing here
 * touches the application's default OpenSSL context or configuration.
 *
 * When the legacy provider cannot be loaded (not installed, or OPENSSL_MODULES
 * points elsewhere) MD4 and RC4 fail with -ENOTSUP and one LOG_ERR line; MD5
 * and HMAC-MD5 keep working. There are no bundled fallback implementations.
 *
 * All functions return 0 or a negative errno, are thread-safe, and never log
 * their inputs or outputs.
 */
#ifndef SMBF_AUTH_MD_H
#define SMBF_AUTH_MD_H

#include <stddef.h>
#include <stdint.h>

#define MD4_LEN 16
#define MD5_LEN 16

/* One piece of a message hashed as the concatenation of several buffers. */
struct md_iov {
	const void *p;
	size_t len;
};

/*
 * Load the providers now instead of on first use. Returns 0 when MD4 and RC4
 * are available, -ENOTSUP when the legacy provider is missing, -ENOMEM or
 * -EIO when OpenSSL itself fails. Calling it is optional; every primitive
 * below initialises on demand.
 */
int md_init(void);

/* MD4 (RFC 1320) of in[0..len). -ENOTSUP without the legacy provider. */
int md4_hash(const void *in, size_t len, uint8_t out[MD4_LEN]);

/* MD5 (RFC 1321) of in[0..len), or of the concatenation of n buffers. */
int md5_hash(const void *in, size_t len, uint8_t out[MD5_LEN]);
int md5_hash_vec(const struct md_iov *iov, size_t n, uint8_t out[MD5_LEN]);

/* HMAC-MD5 (RFC 2104) keyed with key[0..keylen), over one buffer or n buffers. */
int hmac_md5(const void *key, size_t keylen, const void *in, size_t len, uint8_t out[MD5_LEN]);
int hmac_md5_vec(const void *key, size_t keylen, const struct md_iov *iov, size_t n,
		 uint8_t out[MD5_LEN]);

/*
 * One-shot RC4 with a fresh key schedule: out = in XOR keystream. in and out
 * may be the same buffer. keylen is 1..256 bytes. -ENOTSUP without legacy.
 */
int rc4_crypt(const uint8_t *key, size_t keylen, const uint8_t *in, uint8_t *out, size_t len);

/*
 * Streaming RC4: the keystream continues across rc4_update() calls, as NTLM
 * sealing handles require (MS-NLMP 3.4.3). rc4_new() stores a new state in
 * *out (caller owns it, release with rc4_free()). A state is not thread-safe.
 */
struct rc4_state;
int rc4_new(const uint8_t *key, size_t keylen, struct rc4_state **out);
int rc4_update(struct rc4_state *st, const uint8_t *in, uint8_t *out, size_t len);
/* Wipes and frees; rc4_free(NULL) is a no-op. */
void rc4_free(struct rc4_state *st);

#endif
