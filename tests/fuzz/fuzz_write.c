/*
 * fuzz_write - write_resp_decode() on a whole WRITE response PDU.
 */
#include "fuzz.h"

#include "wire/write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct write_resp resp;
	volatile uint32_t sink = 0;

	if (write_resp_decode(data, size, &resp) == 0)
		sink = resp.count ^ resp.remaining;
	(void)sink;
	return 0;
}
