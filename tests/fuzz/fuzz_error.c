/*
 * fuzz_error - error_decode() (MS-SMB2 2.2.2 ERROR response body).
 *
 * Input: a whole error response PDU (the seeds); the body after the 64-byte
 * header is decoded, and so is the whole input taken as a bare body. The body
 * is copied into an exact-size buffer so a read past it trips ASan.
 */
#include "fuzz.h"

#include "wire/frame.h"

static void decode(const uint8_t *body, size_t len)
{
	const uint8_t *d;
	uint32_t n;
	uint8_t *copy = fuzz_dup(body, len);

	if (!copy)
		return;
	if (error_decode(copy, len, &d, &n) == 0)
		fuzz_view(copy, len, d, n);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode(data, size);
	if (size >= SMB2_HDR_SIZE)
		decode(data + SMB2_HDR_SIZE, size - SMB2_HDR_SIZE);
	return 0;
}
