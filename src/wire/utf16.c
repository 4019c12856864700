/*
 * utf16.c - strict UTF-8 <-> UTF-16LE (RFC 3629, RFC 2781). See utf16.h.
 */
#include "wire/utf16.h"

#include <errno.h>

/*
 * Decode one UTF-8 scalar value at in[*i]. Returns the code point and
 * advances *i, or returns -1 on any malformed, overlong, surrogate or
 * out-of-range sequence.
 */
static int32_t utf8_next(const unsigned char *in, size_t len, size_t *i)
{
	size_t k = *i;
	uint32_t c = in[k], cp, min;
	int n;

	if (c < 0x80) {
		*i = k + 1;
		return (int32_t)c;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return -1; /* continuation byte, C0/C1 overlong leads, F5..FF */
	}
	if ((size_t)n > len - k - 1)
		return -1;
	for (int j = 1; j <= n; j++) {
		uint32_t cc = in[k + (size_t)j];
		if ((cc & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*i = k + (size_t)n + 1;
	return (int32_t)cp;
}

long utf8_utf16le_len(const char *in, size_t in_len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	long n = 0;

	while (i < in_len) {
		int32_t cp = utf8_next(s, in_len, &i);
		if (cp <= 0)
			return -EILSEQ;
		n += cp >= 0x10000 ? 4 : 2;
	}
	return n;
}

int utf8_to_utf16le(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		    size_t *out_len, int path_mode)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	while (i < in_len) {
		int32_t cp = utf8_next(s, in_len, &i);
		if (cp <= 0)
			return -EILSEQ;
		if (path_mode && cp == '/')
			cp = '\\';
		if (cp >= 0x10000) {
			uint32_t v = (uint32_t)cp - 0x10000;
			uint16_t hi = (uint16_t)(0xD800 | (v >> 10));
			uint16_t lo = (uint16_t)(0xDC00 | (v & 0x3FF));
			if (out_cap - o < 4)
				return -EMSGSIZE;
			out[o++] = (uint8_t)hi;
			out[o++] = (uint8_t)(hi >> 8);
			out[o++] = (uint8_t)lo;
			out[o++] = (uint8_t)(lo >> 8);
		} else {
			if (out_cap - o < 2)
				return -EMSGSIZE;
			out[o++] = (uint8_t)cp;
			out[o++] = (uint8_t)((uint32_t)cp >> 8);
		}
	}
	*out_len = o;
	return 0;
}

int utf16le_to_utf8(const uint8_t *in, size_t in_len, char *out, size_t out_cap, size_t *out_len)
{
	size_t i = 0, o = 0;

	if (in_len & 1)
		return -EILSEQ;
	if (out_cap == 0)
		return -EMSGSIZE;
	while (i < in_len) {
		uint32_t cp = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
		i += 2;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			uint32_t lo;
			if (in_len - i < 2)
				return -EILSEQ;
			lo = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return -EILSEQ;
			i += 2;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
			return -EILSEQ;
		}
		/* Keep one byte for the terminator. */
		if (cp < 0x80) {
			if (out_cap - o < 2)
				return -EMSGSIZE;
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			if (out_cap - o < 3)
				return -EMSGSIZE;
			out[o++] = (char)(0xC0 | (cp >> 6));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			if (out_cap - o < 4)
				return -EMSGSIZE;
			out[o++] = (char)(0xE0 | (cp >> 12));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			if (out_cap - o < 5)
				return -EMSGSIZE;
			out[o++] = (char)(0xF0 | (cp >> 18));
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}
