/*
 * namemap.h - the characters SMB forbids in names, mapped to and from
 * private-use code points, as cifs.ko does with its mount options:
 *
 *   mapposix (NAMEMAP_SFM, "Services for Mac"): U+0001..U+001F -> U+F001..U+F01F,
 *     '"' U+F020, '*' U+F021, ':' U+F022, '<' U+F023, '>' U+F024, '?' U+F025,
 *     '\\' U+F026, '|' U+F027, and a space or period ending a name U+F028 / U+F029
 *     (Windows strips those). Samba's vfs_fruit (fruit:encoding = private) and
 *     macOS use the same table.
 *   mapchars (NAMEMAP_SFU, "Services for Unix"): ':' '*' '?' '<' '>' '|' -> U+F000
 *     plus the character (U+F03A, U+F02A, U+F03F, U+F03C, U+F03E, U+F07C). '"' and
 *     '\\' have no SFU form (U+F022 is the SFM colon), nor do control characters.
 *
 * Both directions work on UTF-8 strings (the client converts to UTF-16LE
 * later): POSIX names in, server names out, and back for directory listings.
 * Without a map (NAMEMAP_NONE) names pass unchanged and names holding a
 * forbidden character are refused (namemap_valid). A space or period is
 * mapped back only where it ends a name, so every name the mount shows maps
 * forward to the same server name again. Pure functions: no allocation, no
 * state.
 */
#ifndef SMBF_WIRE_NAMEMAP_H
#define SMBF_WIRE_NAMEMAP_H

#include <stddef.h>

enum namemap {
	NAMEMAP_NONE = 0,
	NAMEMAP_SFM = 1, /* mapposix */
	NAMEMAP_SFU = 2, /* mapchars */
};

/*
 * 1 if the name (one path component, UTF-8) can be stored on an SMB server
 * under map: it holds no character MS-FSCC 2.1.5.2 forbids (control
 * characters, '"' '*' '/' ':' '<' '>' '?' '\\' '|') that map leaves unmapped.
 */
int namemap_valid(enum namemap map, const char *name);

/*
 * POSIX path (components separated by '/', NUL-terminated) -> the server's
 * spelling, into out (cap bytes, NUL-terminated). Each mapped character
 * grows from 1 to 3 bytes. Characters map cannot express are copied as they
 * are (callers check new names with namemap_valid first).
 * Returns 0 or -ENAMETOOLONG.
 */
int namemap_to_server(enum namemap map, const char *in, char *out, size_t cap);

/*
 * One name from the server (UTF-8, NUL-terminated) -> the POSIX spelling,
 * into out (cap bytes, NUL-terminated). The result is never longer than in.
 * Returns 0 or -ENAMETOOLONG.
 */
int namemap_from_server(enum namemap map, const char *in, char *out, size_t cap);

#endif
