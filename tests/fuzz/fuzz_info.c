/*
 * fuzz_info - query_info_resp_decode() on a QUERY_INFO response PDU, then
 * every fscc_* QUERY_INFO decoder on the output buffer (whatever class the
 * request asked for: each decoder must cope with any bytes), and
 * set_info_resp_decode() on the PDU.
 */
#include "fuzz.h"

#include "wire/fscc.h"
#include "wire/info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_info_resp resp;
	struct fscc_basic_info basic;
	struct fscc_standard_info std;
	struct fscc_all_info all;
	struct fscc_network_open_info nopen;
	struct fscc_fs_full_size_info fsfull;
	struct fscc_fs_size_info fssize;
	struct fscc_fs_attribute_info fsattr;
	uint64_t index;
	const uint8_t *b;
	uint32_t n;

	(void)set_info_resp_decode(data, size);
	if (query_info_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.buffer, resp.buffer_len);
	b = resp.buffer;
	n = resp.buffer_len;
	(void)fscc_basic_decode(b, n, &basic);
	(void)fscc_standard_decode(b, n, &std);
	(void)fscc_internal_decode(b, n, &index);
	if (fscc_all_decode(b, n, &all) == 0)
		fuzz_view(b, n, all.name16, all.name16_len);
	(void)fscc_network_open_decode(b, n, &nopen);
	(void)fscc_fs_full_size_decode(b, n, &fsfull);
	(void)fscc_fs_size_decode(b, n, &fssize);
	if (fscc_fs_attribute_decode(b, n, &fsattr) == 0)
		fuzz_view(b, n, fsattr.fs_name16, fsattr.fs_name16_len);
	return 0;
}
