/*
 * namemap.c - SFM (mapposix) and SFU (mapchars) name mapping. See namemap.h.
 */
#include "wire/namemap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define PUA_BASE 0xF000u
#define SFM_SPACE 0xF028u  /* a space ending a name */
#define SFM_PERIOD 0xF029u /* a period ending a name */

/* The SFM code points U+F020..U+F027, in order. */
static const char sfm_chars[] = "\"*:<>?\\|";
/* The characters SFU maps (to U+F000 + the character). */
static const char sfu_chars[] = ":*?<>|";

static int forbidden(unsigned char c)
{
	return c < 0x20 || (c && strchr("\"*:<>?\\|", c));
}

/* The private-use code point c maps to inside a name (0: none). */
static uint32_t pua_of(enum namemap map, unsigned char c, int last)
{
	const char *p;

	if (map == NAMEMAP_SFM) {
		if (c >= 0x01 && c <= 0x1F)
			return PUA_BASE + c;
		if ((p = strchr(sfm_chars, c)) && c)
			return 0xF020u + (uint32_t)(p - sfm_chars);
		if (last && c == ' ')
			return SFM_SPACE;
		if (last && c == '.')
			return SFM_PERIOD;
	} else if (map == NAMEMAP_SFU) {
		if (c && strchr(sfu_chars, c))
			return PUA_BASE + c;
	}
	return 0;
}

/* The character a private-use code point stands for (0: none). */
static char char_of(enum namemap map, uint32_t cp, int last)
{
	if (map == NAMEMAP_SFM) {
		if (cp >= 0xF001u && cp <= 0xF01Fu)
			return (char)(cp - PUA_BASE);
		if (cp >= 0xF020u && cp <= 0xF027u)
			return sfm_chars[cp - 0xF020u];
		if (last && cp == SFM_SPACE)
			return ' ';
		if (last && cp == SFM_PERIOD)
			return '.';
	} else if (map == NAMEMAP_SFU) {
		if (cp >= 0xF021u && cp <= 0xF07Fu && strchr(sfu_chars, (int)(cp - PUA_BASE)))
			return (char)(cp - PUA_BASE);
	}
	return 0;
}

int namemap_valid(enum namemap map, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (forbidden(*p) && !pua_of(map, *p, 0))
			return 0;
	return 1;
}

int namemap_to_server(enum namemap map, const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		uint32_t cp = pua_of(map, *p, p[1] == '/' || p[1] == '\0');
		if (!cp) {
			if (cap - o < 2)
				return -ENAMETOOLONG;
			out[o++] = (char)*p;
			continue;
		}
		/* U+F000..U+F0FF in UTF-8: EF 80..83 80..BF */
		if (cap - o < 4)
			return -ENAMETOOLONG;
		out[o++] = (char)0xEF;
		out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[o++] = (char)(0x80 | (cp & 0x3F));
	}
	if (cap - o < 1)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int namemap_from_server(enum namemap map, const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	while (*p) {
		char c = 0;
		/* A three-byte sequence EF 80..83 xx is U+F000..U+F0FF. */
		if (map != NAMEMAP_NONE && p[0] == 0xEF && p[1] >= 0x80 && p[1] <= 0x83 &&
		    (p[2] & 0xC0) == 0x80) {
			uint32_t cp = 0xF000u | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3Fu);
			c = char_of(map, cp, p[3] == '\0');
		}
		if (cap - o < 2)
			return -ENAMETOOLONG;
		if (c) {
			out[o++] = c;
			p += 3;
		} else {
			out[o++] = (char)*p++;
		}
	}
	if (cap - o < 1)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}
