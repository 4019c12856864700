/*
 * fuzz_negotiate - negotiate_resp_decode() on a whole NEGOTIATE response PDU
 * (header included), including the SMB 3.1.1 negotiate context walk, then
 * spnego_parse() on the returned security buffer as the client does.
 */
#include "fuzz.h"

#include "auth/spnego.h"
#include "wire/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct negotiate_resp resp;
	struct spnego_msg m;

	if (negotiate_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.security_buffer, resp.security_buffer_len);
	fuzz_view(data, size, resp.preauth_salt, resp.preauth_salt_len);
	if (resp.security_buffer_len &&
	    spnego_parse(resp.security_buffer, resp.security_buffer_len, &m) == 0) {
		fuzz_view(data, size, m.mech_types_der, m.mech_types_der_len);
		fuzz_view(data, size, m.mech_token, m.mech_token_len);
		fuzz_view(data, size, m.mech_list_mic, m.mech_list_mic_len);
	}
	return 0;
}
