/*
 * fuzz_spnego - spnego_parse() on a server token (NegTokenInit from
 * NEGOTIATE, NegTokenResp from SESSION_SETUP).
 */
#include "fuzz.h"

#include "auth/spnego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spnego_msg m;
	volatile int sink = 0;

	if (spnego_parse(data, size, &m))
		return 0;
	if (m.n_mechs > SPNEGO_MAX_MECHS || m.n_mechs > m.total_mechs)
		FUZZ_FAIL("spnego_parse: n_mechs %zu, total %zu", m.n_mechs, m.total_mechs);
	fuzz_view(data, size, m.mech_types_der, m.mech_types_der_len);
	fuzz_view(data, size, m.mech_token, m.mech_token_len);
	fuzz_view(data, size, m.mech_list_mic, m.mech_list_mic_len);
	for (int mech = SPNEGO_MECH_UNKNOWN; mech <= SPNEGO_MECH_NEGOEX; mech++)
		sink += spnego_has_mech(&m, (enum spnego_mech)mech);
	(void)sink;
	return 0;
}
