/*
 * fuzz_ioctl - ioctl_resp_decode() on an IOCTL response PDU, then
 * validate_negotiate_resp_decode() on its output buffer (and on the raw
 * input, which reaches the short-buffer checks directly).
 */
#include "fuzz.h"

#include "wire/ioctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioctl_resp resp;
	struct validate_negotiate_resp vn;

	(void)validate_negotiate_resp_decode(data, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size),
					     &vn);
	if (ioctl_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.input, resp.input_len);
	fuzz_view(data, size, resp.output, resp.output_len);
	(void)validate_negotiate_resp_decode(resp.output, resp.output_len, &vn);
	return 0;
}
