/*
 * fuzz_close - close_resp_decode() on a whole CLOSE response PDU (also
 * flush_resp_decode() and echo_resp_decode(), the other fixed-size bodies).
 */
#include "fuzz.h"

#include "wire/close.h"
#include "wire/echo.h"
#include "wire/flush.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct close_resp resp;

	(void)close_resp_decode(data, size, &resp);
	(void)flush_resp_decode(data, size);
	(void)echo_resp_decode(data, size);
	return 0;
}
