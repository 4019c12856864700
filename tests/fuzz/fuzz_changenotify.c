/*
 * fuzz_changenotify - change_notify_resp_decode() on a CHANGE_NOTIFY response
 * PDU, then file_notify_iter over the FILE_NOTIFY_INFORMATION list, then the
 * UTF-16 to UTF-8 conversion each name goes through (src/fs/watch.c).
 *
 * Input: the whole PDU (SMB2 header + response body).
 */
#include "fuzz.h"

#include "wire/changenotify.h"
#include "wire/utf16.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct change_notify_resp resp;
	struct file_notify_iter it;
	struct file_notify_info fi;
	char name[1024];
	size_t n = 0;
	int rc;

	if (change_notify_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.buffer, resp.buffer_len);
	file_notify_iter_init(&it, resp.buffer, resp.buffer_len);
	while ((rc = file_notify_iter_next(&it, &fi)) > 0) {
		size_t out_len;
		fuzz_view(resp.buffer, resp.buffer_len, fi.name16, fi.name16_len);
		if (fi.name16_len & 1)
			FUZZ_FAIL("file_notify_iter_next: odd name length %u", fi.name16_len);
		(void)utf16le_to_utf8(fi.name16, fi.name16_len, name, sizeof(name), &out_len);
		/* each step moves forward by at least a 12-byte header */
		if (++n > resp.buffer_len / 12 + 1)
			FUZZ_FAIL("file_notify_iter_next: %zu entries in %u bytes", n,
				  resp.buffer_len);
	}
	if (file_notify_iter_next(&it, &fi) > 0)
		FUZZ_FAIL("file_notify_iter_next: an entry after it returned %d", rc);
	return 0;
}
