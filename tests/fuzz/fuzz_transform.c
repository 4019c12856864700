/*
 * fuzz_transform - smb3_decrypt() over a TRANSFORM_HEADER frame (MS-SMB2
 * 2.2.41) with a fixed key, for each of the four ciphers.
 *
 * Input: one control byte, then the rest.
 *   bits 0-1  cipher: SMB2_ENCRYPTION_AES128_CCM + (bits & 3)
 *   bit 2     0: the rest is a sealed frame; decrypt a copy of it. Garbage
 *                must come back -EBADMSG; a frame sealed with FUZZ_KEY (the
 *                generated seeds) opens, and its plaintext is walked with
 *                frame_check() like the receiver does.
 *             1: round trip: seal the rest as a message with smb3_encrypt(),
 *                open it again (must give the same bytes and SessionId), then
 *                flip one bit of the sealed frame and check it is rejected.
 * Seeds captured from a real sealed mount use the session's key, not
 * FUZZ_KEY, so they exercise the rejection path only.
 *
 * FUZZ_KEY must match KEY in capture.py (bytes 0x00..0x1f; 128-bit ciphers
 * use the first 16).
 */
#include "fuzz.h"

#include <errno.h>

#include "crypto/seal.h"
#include "wire/frame.h"
#include "wire/smb2.h"

static const uint8_t fuzz_key[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
#define FUZZ_SESSION_ID UINT64_C(0x0000400000000011)

static void walk_plaintext(const uint8_t *p, size_t len)
{
	size_t off = 0;

	for (;;) {
		struct smb2_hdr h;
		size_t pdu_len;
		if (frame_check(p + off, len - off, &h, &pdu_len) || !h.next_command)
			break;
		off += pdu_len;
	}
}

static void open_frame(uint16_t cipher, const uint8_t *in, size_t len)
{
	uint8_t *frame = fuzz_dup(in, len);
	uint64_t sid = 0, peek;
	size_t poff = 0, plen = 0;

	if (!frame)
		return;
	(void)smb3_transform_session_id(frame, len, &peek);
	if (smb3_decrypt(cipher, fuzz_key, frame, len, &sid, &poff, &plen) == 0) {
		if (poff != SMB2_TRANSFORM_HDR_SIZE || len < SMB2_TRANSFORM_HDR_SIZE ||
		    plen != len - SMB2_TRANSFORM_HDR_SIZE)
			FUZZ_FAIL("smb3_decrypt: plaintext [%zu, +%zu) in a %zu-byte frame", poff,
				  plen, len);
		fuzz_view(frame, len, frame + poff, plen);
		walk_plaintext(frame + poff, plen);
	}
	free(frame);
}

static void round_trip(uint16_t cipher, const uint8_t *plain, size_t n)
{
	uint8_t nonce[16] = {0x4e, 0x4f, 0x4e, 0x43, 0x45};
	struct iovec iov = {(void *)plain, n};
	size_t cap = SMB2_TRANSFORM_HDR_SIZE + n, out_len = 0, poff, plen, flip;
	uint8_t *sealed = malloc(cap), *copy = NULL;
	uint64_t sid = 0;
	int rc;

	if (!sealed)
		return;
	rc = smb3_encrypt(cipher, fuzz_key, FUZZ_SESSION_ID, nonce, &iov, 1, sealed, cap, &out_len);
	if (rc == -ENOMEM)
		goto out;
	if (rc || out_len != cap)
		FUZZ_FAIL("smb3_encrypt(cipher %u, %zu bytes): rc %d, %zu bytes out", cipher, n, rc,
			  out_len);
	copy = fuzz_dup(sealed, cap);
	if (!copy)
		goto out;
	rc = smb3_decrypt(cipher, fuzz_key, copy, cap, &sid, &poff, &plen);
	if (rc == -ENOMEM)
		goto out;
	if (rc || sid != FUZZ_SESSION_ID || poff != SMB2_TRANSFORM_HDR_SIZE || plen != n ||
	    memcmp(copy + poff, plain, n))
		FUZZ_FAIL("smb3_decrypt(cipher %u) of its own %zu-byte frame: rc %d", cipher, n, rc);
	/* Every byte is covered by the tag or is the tag: one flipped bit must fail. */
	memcpy(copy, sealed, cap);
	flip = (plain[0] * 131u + plain[n - 1] + n) % cap;
	copy[flip] ^= (uint8_t)(1u << (plain[n / 2] & 7));
	rc = smb3_decrypt(cipher, fuzz_key, copy, cap, &sid, &poff, &plen);
	if (rc != -EBADMSG && rc != -ENOMEM)
		FUZZ_FAIL("smb3_decrypt(cipher %u) with byte %zu flipped: rc %d", cipher, flip, rc);
out:
	free(copy);
	free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t cipher;

	if (size < 1)
		return 0;
	cipher = (uint16_t)(SMB2_ENCRYPTION_AES128_CCM + (data[0] & 3));
	if (data[0] & 4) {
		if (size > 1)
			round_trip(cipher, data + 1, size - 1);
	} else {
		open_frame(cipher, data + 1, size - 1);
	}
	return 0;
}
