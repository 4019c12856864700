/*
 * fuzz_session - session_setup_resp_decode() on a whole SESSION_SETUP
 * response PDU (also logoff_resp_decode(), a fixed-size body).
 */
#include "fuzz.h"

#include "wire/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_setup_resp resp;

	if (session_setup_resp_decode(data, size, &resp) == 0)
		fuzz_view(data, size, resp.security_buffer, resp.security_buffer_len);
	(void)logoff_resp_decode(data, size);
	return 0;
}
