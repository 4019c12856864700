/*
 * utf16.h - UTF-8 <-> UTF-16LE conversion with validation (MS-SMB2 2.2: all
 * names on the wire are UTF-16LE, no terminator), and the '/' <-> '\\' path
 * separator mapping.
 *
 * Both directions are strict: malformed input fails with -EILSEQ instead of
 * being replaced, so a name never changes meaning in transit. U+0000 is
 * rejected too (it would silently truncate a C string). Neither function
 * allocates; output goes to caller storage and -EMSGSIZE means it did not fit
 * (the output is then unspecified).
 */
#ifndef SMBF_WIRE_UTF16_H
#define SMBF_WIRE_UTF16_H

#include <stddef.h>
#include <stdint.h>

/*
 * Convert in_len bytes of UTF-8 (no terminator counted) to UTF-16LE at out.
 * path_mode != 0 maps '/' to '\\'. Non-BMP characters become surrogate
 * pairs. *out_len is set to the bytes written (always even).
 * Returns 0, -EILSEQ (invalid UTF-8: bad lead/continuation bytes, overlong
 * forms, encoded surrogates, > U+10FFFF, U+0000), or -EMSGSIZE.
 */
int utf8_to_utf16le(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		    size_t *out_len, int path_mode);

/*
 * Convert in_len bytes of UTF-16LE to UTF-8 and NUL-terminate. out_cap must
 * leave room for the NUL; *out_len excludes it. Returns 0, -EILSEQ (odd
 * in_len, unpaired surrogate, U+0000) or -EMSGSIZE. Separators are not mapped:
 * a '\\' inside a name from a directory listing stays a '\\'.
 */
int utf16le_to_utf8(const uint8_t *in, size_t in_len, char *out, size_t out_cap, size_t *out_len);

/*
 * UTF-16LE length in bytes of a valid UTF-8 string, or -EILSEQ. Lets callers
 * size a buffer (or check a u16 length field) before converting.
 */
long utf8_utf16le_len(const char *in, size_t in_len);

#endif
