/*
 * fuzz_ntlmssp - ntlmssp_authenticate() with the input as the server's
 * CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2), on a fresh context each run:
 * ntlmssp_new, ntlmssp_negotiate, ntlmssp_authenticate, and on success the
 * calls the client makes next (session key, MIC), then ntlmssp_free.
 * ntlmssp_set_test_params makes a run repeatable.
 */
#include "fuzz.h"

#include "auth/ntlmssp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t cc[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
	static const uint8_t esk[16] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
					0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
	static const uint8_t mech_types[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
					     0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
	static int warned;
	struct ntlmssp_ctx *ctx;
	uint8_t *neg = NULL, *auth = NULL, key[NTLMSSP_KEY_LEN], mic[NTLMSSP_SIG_LEN];
	size_t neg_len, auth_len;

	ctx = ntlmssp_new("User", "Domain", "Password", "WORKSTATION");
	if (!ctx) {
		if (!warned++)
			fprintf(stderr, "fuzz_ntlmssp: ntlmssp_new failed (OpenSSL legacy "
					"provider missing?); nothing is fuzzed\n");
		return 0;
	}
	ntlmssp_set_test_params(ctx, cc, UINT64_C(0x01d9000000000000), esk);
	if (size & 1)
		(void)ntlmssp_set_target(ctx, "cifs/server.example.com");
	if (ntlmssp_negotiate(ctx, &neg, &neg_len))
		goto out;
	if (ntlmssp_authenticate(ctx, data, size, &auth, &auth_len) == 0) {
		fuzz_touch(auth, auth_len);
		(void)ntlmssp_session_key(ctx, key);
		(void)ntlmssp_flags(ctx);
		if (ntlmssp_mic_present(ctx) &&
		    ntlmssp_sign_mic(ctx, mech_types, sizeof(mech_types), mic) == 0)
			(void)ntlmssp_verify_mic(ctx, mech_types, sizeof(mech_types), mic,
						 sizeof(mic));
	}
out:
	free(auth);
	free(neg);
	ntlmssp_free(ctx);
	return 0;
}
