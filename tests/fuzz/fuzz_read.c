/*
 * fuzz_read - read_resp_decode() on a whole READ response PDU; the data view
 * must lie inside the PDU, after the fixed body.
 */
#include "fuzz.h"

#include "wire/read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct read_resp resp;

	if (read_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.data, resp.data_len);
	if (resp.data_len && resp.data < data + SMB2_READ_RESP_HDR_LEN)
		FUZZ_FAIL("read_resp_decode: data at %td overlaps the fixed body",
			  resp.data - data);
	return 0;
}
