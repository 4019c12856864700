/*
 * fuzz_utf16 - utf16le_to_utf8() and utf8_to_utf16le() on the same input,
 * with the properties utf16.h promises:
 *   - with room for the worst case, a conversion never fails with -EMSGSIZE;
 *   - a successful conversion fits in exactly its own size (plus the NUL for
 *     UTF-8) and fails with -EMSGSIZE one unit short; output buffers are
 *     exact-size heap blocks, so a write past them trips ASan;
 *   - both directions are strict, so a successful conversion converts back
 *     to the same bytes, and utf8_utf16le_len() agrees with it.
 * Input: one byte (bit 0: path_mode for utf8_to_utf16le), then the text.
 */
#include "fuzz.h"

#include <errno.h>

#include "wire/utf16.h"

static void from_utf16(const uint8_t *in, size_t n)
{
	/* A 2-byte unit gives at most 3 UTF-8 bytes, a 4-byte pair 4; plus the NUL. */
	size_t cap = n / 2 * 3 + 1, len = 0, len2 = 0, back_len = 0;
	char *out = malloc(cap), *tight = NULL;
	uint8_t *back = NULL;
	int rc;

	if (!out)
		return;
	rc = utf16le_to_utf8(in, n, out, cap, &len);
	if (rc == -EMSGSIZE)
		FUZZ_FAIL("utf16le_to_utf8: -EMSGSIZE for %zu bytes into %zu", n, cap);
	if (rc)
		goto out;
	if (len >= cap || out[len] != '\0')
		FUZZ_FAIL("utf16le_to_utf8: length %zu, capacity %zu, no NUL", len, cap);
	tight = malloc(len + 1);
	if (!tight)
		goto out;
	if (utf16le_to_utf8(in, n, tight, len + 1, &len2) || len2 != len ||
	    memcmp(tight, out, len + 1))
		FUZZ_FAIL("utf16le_to_utf8: differs with an exact-size buffer");
	if (utf16le_to_utf8(in, n, tight, len, &len2) != -EMSGSIZE)
		FUZZ_FAIL("utf16le_to_utf8: no -EMSGSIZE without room for the NUL");
	if (utf8_utf16le_len(out, len) != (long)n)
		FUZZ_FAIL("utf8_utf16le_len: %ld, expected %zu", utf8_utf16le_len(out, len), n);
	back = malloc(n ? n : 1);
	if (!back)
		goto out;
	if (utf8_to_utf16le(out, len, back, n, &back_len, 0) || back_len != n ||
	    memcmp(back, in, n))
		FUZZ_FAIL("utf16 -> utf8 -> utf16 does not round-trip (%zu bytes)", n);
out:
	free(back);
	free(tight);
	free(out);
}

static void from_utf8(const char *in, size_t n, int path_mode)
{
	/* A 1..3-byte sequence gives one 2-byte unit, a 4-byte one a 4-byte pair. */
	size_t cap = 2 * n, len = 0, len2 = 0, back_len = 0;
	uint8_t *out = malloc(cap ? cap : 1), *tight = NULL;
	char *back = NULL;
	long want;
	int rc;

	if (!out)
		return;
	rc = utf8_to_utf16le(in, n, out, cap, &len, path_mode);
	want = utf8_utf16le_len(in, n);
	if (rc == -EMSGSIZE)
		FUZZ_FAIL("utf8_to_utf16le: -EMSGSIZE for %zu bytes into %zu", n, cap);
	if ((rc == 0) != (want >= 0))
		FUZZ_FAIL("utf8_to_utf16le says %d, utf8_utf16le_len says %ld", rc, want);
	if (rc)
		goto out;
	if ((long)len != want || (len & 1) || len > cap)
		FUZZ_FAIL("utf8_to_utf16le: %zu bytes, utf8_utf16le_len %ld", len, want);
	tight = malloc(len ? len : 1);
	if (!tight)
		goto out;
	if (utf8_to_utf16le(in, n, tight, len, &len2, path_mode) || len2 != len ||
	    memcmp(tight, out, len))
		FUZZ_FAIL("utf8_to_utf16le: differs with an exact-size buffer");
	if (len >= 2 && utf8_to_utf16le(in, n, tight, len - 2, &len2, path_mode) != -EMSGSIZE)
		FUZZ_FAIL("utf8_to_utf16le: no -EMSGSIZE one unit short");
	if (path_mode)
		goto out;
	back = malloc(n + 1);
	if (!back)
		goto out;
	if (utf16le_to_utf8(out, len, back, n + 1, &back_len) || back_len != n ||
	    memcmp(back, in, n))
		FUZZ_FAIL("utf8 -> utf16 -> utf8 does not round-trip (%zu bytes)", n);
out:
	free(back);
	free(tight);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	from_utf16(data + 1, size - 1);
	from_utf8((const char *)data + 1, size - 1, data[0] & 1);
	return 0;
}
