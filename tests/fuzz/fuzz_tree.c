/*
 * fuzz_tree - tree_connect_resp_decode() and tree_disconnect_resp_decode() on
 * a whole response PDU.
 */
#include "fuzz.h"

#include "wire/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree_connect_resp resp;
	volatile uint32_t sink = 0;

	if (tree_connect_resp_decode(data, size, &resp) == 0)
		sink = resp.share_type ^ resp.share_flags ^ resp.capabilities ^
		       resp.maximal_access;
	(void)tree_disconnect_resp_decode(data, size);
	(void)sink;
	return 0;
}
