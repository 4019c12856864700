/*
 * fuzz_querydir - query_dir_resp_decode() on a QUERY_DIRECTORY response PDU,
 * then fscc_dir_iter over the output buffer.
 *
 * Input: one byte choosing the information class, then the whole PDU. A byte
 * that names a supported class (e.g. 0x25 FileIdBothDirectoryInformation) is
 * used as is; any other byte picks classes[byte % 6]. The seeds carry the
 * class the request asked for.
 */
#include "fuzz.h"

#include "wire/fscc.h"
#include "wire/querydir.h"
#include "wire/utf16.h"

static const uint8_t classes[] = {
	FileDirectoryInformation,	FileFullDirectoryInformation,
	FileBothDirectoryInformation,	FileIdBothDirectoryInformation,
	FileIdFullDirectoryInformation, FileNamesInformation,
};

static uint8_t pick_class(uint8_t b)
{
	for (size_t i = 0; i < sizeof(classes); i++)
		if (classes[i] == b)
			return b;
	return classes[b % sizeof(classes)];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_dir_resp resp;
	struct fscc_dir_iter it;
	struct fscc_dirent de;
	const uint8_t *pdu;
	size_t len, n = 0;
	char name[1024];
	int rc;

	if (size < 1)
		return 0;
	pdu = data + 1;
	len = size - 1;
	if (query_dir_resp_decode(pdu, len, &resp))
		return 0;
	fuzz_view(pdu, len, resp.buffer, resp.buffer_len);
	if (fscc_dir_iter_init(&it, pick_class(data[0]), resp.buffer, resp.buffer_len))
		FUZZ_FAIL("fscc_dir_iter_init refused class %u", data[0]);
	while ((rc = fscc_dir_iter_next(&it, &de)) > 0) {
		size_t out_len;
		fuzz_view(resp.buffer, resp.buffer_len, de.name16, de.name16_len);
		if (de.name16_len & 1)
			FUZZ_FAIL("fscc_dir_iter_next: odd name length %u", de.name16_len);
		/* What readdir does with the name next. */
		(void)utf16le_to_utf8(de.name16, de.name16_len, name, sizeof(name), &out_len);
		/* Each step moves forward by at least the fixed entry size (> 8 bytes). */
		if (++n > resp.buffer_len / 8 + 1)
			FUZZ_FAIL("fscc_dir_iter_next: %zu entries in %u bytes", n, resp.buffer_len);
	}
	if (fscc_dir_iter_next(&it, &de) > 0)
		FUZZ_FAIL("fscc_dir_iter_next: an entry after it returned %d", rc);
	return 0;
}
