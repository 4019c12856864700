/*
 * md.c - MD4, MD5, HMAC-MD5 and RC4 through a private OpenSSL 3 library
 * context that has the "legacy" provider loaded.
 *
 * Invariants:
 *  - md_once initialises g_md exactly once; afterwards g_md is read-only, so
 *    the fetched EVP_MD/EVP_MAC/EVP_CIPHER objects are shared by all threads
 *    (OpenSSL permits concurrent use of fetched algorithm objects). Every call
 *    creates its own EVP_*_CTX.
 *  - The context lives until process exit; it is never freed, so no thread can
 *    race a teardown.
 *  - A missing legacy provider disables only md4 and rc4 (-ENOTSUP).
 */
#include "auth/md.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "log.h"

struct md_global {
	int rc_default; /* 0, or -errno when MD5/HMAC are unusable */
	int rc_legacy;	/* 0, or -errno when MD4/RC4 are unusable */
	OSSL_LIB_CTX *libctx;
	EVP_MD *md4;
	EVP_MD *md5;
	EVP_MAC *hmac;
	EVP_CIPHER *rc4;
};

static struct md_global g_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_do_init(void)
{
	g_md.rc_default = -EIO;
	g_md.rc_legacy = -ENOTSUP;

	g_md.libctx = OSSL_LIB_CTX_new();
	if (!g_md.libctx) {
		g_md.rc_default = g_md.rc_legacy = -ENOMEM;
		LOG_ERR("OpenSSL: cannot create a library context");
		return;
	}
	/* Providers stay loaded for the life of the process; we keep no handle. */
	if (!OSSL_PROVIDER_load(g_md.libctx, "default")) {
		g_md.rc_legacy = -EIO;
		LOG_ERR("OpenSSL: cannot load the default provider");
		return;
	}
	g_md.md5 = EVP_MD_fetch(g_md.libctx, "MD5", NULL);
	g_md.hmac = EVP_MAC_fetch(g_md.libctx, "HMAC", NULL);
	if (g_md.md5 && g_md.hmac)
		g_md.rc_default = 0;
	else
		LOG_ERR("OpenSSL: MD5 or HMAC is not available");

	if (!OSSL_PROVIDER_load(g_md.libctx, "legacy")) {
		LOG_ERR("OpenSSL legacy provider unavailable: NTLM needs MD4 and RC4 "
			"(install the OpenSSL legacy module or check OPENSSL_MODULES)");
		return;
	}
	g_md.md4 = EVP_MD_fetch(g_md.libctx, "MD4", NULL);
	g_md.rc4 = EVP_CIPHER_fetch(g_md.libctx, "RC4", NULL);
	if (g_md.md4 && g_md.rc4)
		g_md.rc_legacy = 0;
	else
		LOG_ERR("OpenSSL legacy provider loaded but MD4 or RC4 is missing");
}

static int md_default_ready(void)
{
	if (pthread_once(&md_once, md_do_init) != 0)
		return -EIO;
	return g_md.rc_default;
}

static int md_legacy_ready(void)
{
	if (pthread_once(&md_once, md_do_init) != 0)
		return -EIO;
	return g_md.rc_legacy;
}

int md_init(void)
{
	int rc = md_default_ready();

	return rc ? rc : md_legacy_ready();
}

static int digest_vec(const EVP_MD *md, const struct md_iov *iov, size_t n, uint8_t *out,
		      unsigned int want)
{
	EVP_MD_CTX *ctx;
	unsigned int outl = 0;
	int rc = -EIO;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len && EVP_DigestUpdate(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &outl) != 1 || outl != want)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int md4_hash(const void *in, size_t len, uint8_t out[MD4_LEN])
{
	struct md_iov iov = {in, len};
	int rc = md_legacy_ready();

	if (rc)
		return rc;
	return digest_vec(g_md.md4, &iov, 1, out, MD4_LEN);
}

int md5_hash_vec(const struct md_iov *iov, size_t n, uint8_t out[MD5_LEN])
{
	int rc = md_default_ready();

	if (rc)
		return rc;
	return digest_vec(g_md.md5, iov, n, out, MD5_LEN);
}

int md5_hash(const void *in, size_t len, uint8_t out[MD5_LEN])
{
	struct md_iov iov = {in, len};

	return md5_hash_vec(&iov, 1, out);
}

int hmac_md5_vec(const void *key, size_t keylen, const struct md_iov *iov, size_t n,
		 uint8_t out[MD5_LEN])
{
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = md_default_ready();

	if (rc)
		return rc;
	if (!key || !keylen)
		return -EINVAL;
	ctx = EVP_MAC_CTX_new(g_md.hmac);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0);
	params[1] = OSSL_PARAM_construct_end();
	rc = -EIO;
	if (EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len && EVP_MAC_update(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	}
	if (EVP_MAC_final(ctx, out, &outl, MD5_LEN) != 1 || outl != MD5_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int hmac_md5(const void *key, size_t keylen, const void *in, size_t len, uint8_t out[MD5_LEN])
{
	struct md_iov iov = {in, len};

	return hmac_md5_vec(key, keylen, &iov, 1, out);
}

struct rc4_state {
	EVP_CIPHER_CTX *ctx;
};

int rc4_new(const uint8_t *key, size_t keylen, struct rc4_state **out)
{
	struct rc4_state *st;
	int rc = md_legacy_ready();

	*out = NULL;
	if (rc)
		return rc;
	if (!key || keylen == 0 || keylen > 256)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->ctx = EVP_CIPHER_CTX_new();
	if (!st->ctx) {
		free(st);
		return -ENOMEM;
	}
	/* RC4 defaults to a 16-byte key; set the length before the key goes in. */
	if (EVP_EncryptInit_ex2(st->ctx, g_md.rc4, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_key_length(st->ctx, (int)keylen) != 1 ||
	    EVP_EncryptInit_ex2(st->ctx, NULL, key, NULL, NULL) != 1) {
		rc4_free(st);
		return -EIO;
	}
	*out = st;
	return 0;
}

int rc4_update(struct rc4_state *st, const uint8_t *in, uint8_t *out, size_t len)
{
	while (len > 0) {
		int chunk = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
		int outl = 0;

		if (EVP_EncryptUpdate(st->ctx, out, &outl, in, chunk) != 1 || outl != chunk)
			return -EIO;
		in += chunk;
		out += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

void rc4_free(struct rc4_state *st)
{
	if (!st)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(st->ctx);
	free(st);
}

int rc4_crypt(const uint8_t *key, size_t keylen, const uint8_t *in, uint8_t *out, size_t len)
{
	struct rc4_state *st;
	int rc = rc4_new(key, keylen, &st);

	if (rc)
		return rc;
	rc = rc4_update(st, in, out, len);
	rc4_free(st);
	return rc;
}
