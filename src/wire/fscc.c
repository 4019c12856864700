/*
 * fscc.c - MS-FSCC information classes. See fscc.h.
 */
#include "wire/fscc.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/*
 * Directory entry layouts (MS-FSCC 2.4.10 FileDirectoryInformation, 2.4.14
 * Full, 2.4.8 Both, 2.4.17 IdBoth, 2.4.18 IdFull, 2.4.28 Names). All but
 * Names share the first 64 bytes.
 */
enum {
	DIRENT_NEXT = 0,
	DIRENT_FILE_INDEX = 4,
	DIRENT_CREATION = 8,
	DIRENT_LAST_ACCESS = 16,
	DIRENT_LAST_WRITE = 24,
	DIRENT_CHANGE = 32,
	DIRENT_END_OF_FILE = 40,
	DIRENT_ALLOCATION = 48,
	DIRENT_ATTRIBUTES = 56,
	DIRENT_NAME_LENGTH = 60,
	DIRENT_EA_SIZE = 64,          /* Full, Both, IdBoth, IdFull */
	DIR_NAME = 64,                /* 2.4.10 FileName */
	FULL_NAME = 68,               /* 2.4.14 FileName */
	BOTH_SHORT_NAME_LENGTH = 68,  /* 2.4.8 / 2.4.17 */
	BOTH_SHORT_NAME = 70,
	BOTH_NAME = 94,               /* 2.4.8 FileName */
	IDBOTH_FILE_ID = 96,          /* 2.4.17 */
	IDBOTH_NAME = 104,
	IDFULL_FILE_ID = 72,          /* 2.4.18 (68: Reserved) */
	IDFULL_NAME = 80,
	NAMES_NAME_LENGTH = 8,        /* 2.4.28 */
	NAMES_NAME = 12,
};

struct dirent_layout {
	uint8_t info_class;
	uint8_t name_len_off;
	uint8_t name_off; /* = fixed size */
	uint8_t has_times; /* times, sizes, attributes at the common offsets */
	uint8_t ea_off;    /* 0 = none */
	uint8_t id_off;    /* 0 = none */
};

static const struct dirent_layout layouts[] = {
	{FileDirectoryInformation, DIRENT_NAME_LENGTH, DIR_NAME, 1, 0, 0},
	{FileFullDirectoryInformation, DIRENT_NAME_LENGTH, FULL_NAME, 1, DIRENT_EA_SIZE, 0},
	{FileBothDirectoryInformation, DIRENT_NAME_LENGTH, BOTH_NAME, 1, DIRENT_EA_SIZE, 0},
	{FileIdBothDirectoryInformation, DIRENT_NAME_LENGTH, IDBOTH_NAME, 1, DIRENT_EA_SIZE,
	 IDBOTH_FILE_ID},
	{FileIdFullDirectoryInformation, DIRENT_NAME_LENGTH, IDFULL_NAME, 1, DIRENT_EA_SIZE,
	 IDFULL_FILE_ID},
	{FileNamesInformation, NAMES_NAME_LENGTH, NAMES_NAME, 0, 0, 0},
};

static const struct dirent_layout *layout_of(uint8_t info_class)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].info_class == info_class)
			return &layouts[i];
	return NULL;
}

int fscc_dir_iter_init(struct fscc_dir_iter *it, uint8_t info_class, const uint8_t *buf,
		       uint32_t len)
{
	if (!layout_of(info_class))
		return -EINVAL;
	it->p = buf;
	it->len = buf ? len : 0;
	it->off = 0;
	it->info_class = info_class;
	it->done = it->len == 0;
	return 0;
}

int fscc_dir_iter_next(struct fscc_dir_iter *it, struct fscc_dirent *de)
{
	const struct dirent_layout *lo = layout_of(it->info_class);
	const uint8_t *e;
	uint32_t left, next, name_len, elen;

	if (it->done)
		return it->done < 0 ? -EBADMSG : 0;
	if (!lo)
		goto bad;
	e = it->p + it->off;
	left = it->len - it->off;
	if (left < lo->name_off)
		goto bad;
	next = le32_load(e + DIRENT_NEXT);
	name_len = le32_load(e + lo->name_len_off);
	/*
	 * MS-FSCC asks for 8-byte aligned entries; we only require that an entry
	 * is not shorter than its own contents, which also guarantees progress.
	 */
	if (next) {
		if (next > left)
			goto bad;
		elen = next;
	} else {
		elen = left;
	}
	if ((name_len & 1) || !range_ok(elen, lo->name_off, name_len))
		goto bad;

	memset(de, 0, sizeof(*de));
	de->file_index = le32_load(e + DIRENT_FILE_INDEX);
	if (lo->has_times) {
		de->creation = le64_load(e + DIRENT_CREATION);
		de->last_access = le64_load(e + DIRENT_LAST_ACCESS);
		de->last_write = le64_load(e + DIRENT_LAST_WRITE);
		de->change = le64_load(e + DIRENT_CHANGE);
		de->end_of_file = le64_load(e + DIRENT_END_OF_FILE);
		de->allocation_size = le64_load(e + DIRENT_ALLOCATION);
		de->attributes = le32_load(e + DIRENT_ATTRIBUTES);
	}
	if (lo->ea_off)
		de->ea_size = le32_load(e + lo->ea_off);
	if (lo->id_off)
		de->file_index_id = le64_load(e + lo->id_off);
	de->name16 = e + lo->name_off;
	de->name16_len = name_len;

	if (next)
		it->off += next;
	else
		it->done = 1;
	return 1;
bad:
	it->done = -1;
	return -EBADMSG;
}

/* MS-FSCC 2.4.7 FileBasicInformation */
enum {
	BASIC_CREATION = 0,
	BASIC_LAST_ACCESS = 8,
	BASIC_LAST_WRITE = 16,
	BASIC_CHANGE = 24,
	BASIC_ATTRIBUTES = 32,
	BASIC_RESERVED = 36,
};

/* MS-FSCC 2.4.41 FileStandardInformation */
enum {
	STD_ALLOCATION = 0,
	STD_END_OF_FILE = 8,
	STD_NUMBER_OF_LINKS = 16,
	STD_DELETE_PENDING = 20,
	STD_DIRECTORY = 21,
	STD_RESERVED = 22,
};

/* MS-FSCC 2.4.2 FileAllInformation: concatenated structures. */
enum {
	ALL_BASIC = 0,
	ALL_STANDARD = 40,
	ALL_INTERNAL = 64,  /* IndexNumber(8) */
	ALL_EA = 72,        /* EaSize(4) */
	ALL_ACCESS = 76,    /* AccessFlags(4) */
	ALL_POSITION = 80,  /* CurrentByteOffset(8) */
	ALL_MODE = 88,      /* Mode(4) */
	ALL_ALIGNMENT = 92, /* AlignmentRequirement(4) */
	ALL_NAME_LENGTH = 96,
	ALL_NAME = 100,
};

/* MS-FSCC 2.4.29 FileNetworkOpenInformation */
enum {
	NOI_CREATION = 0,
	NOI_LAST_ACCESS = 8,
	NOI_LAST_WRITE = 16,
	NOI_CHANGE = 24,
	NOI_ALLOCATION = 32,
	NOI_END_OF_FILE = 40,
	NOI_ATTRIBUTES = 48,
	NOI_RESERVED = 52,
};

/* MS-FSCC 2.5.4 FileFsFullSizeInformation, 2.5.8 FileFsSizeInformation */
enum {
	FULLSZ_TOTAL = 0,
	FULLSZ_CALLER_AVAIL = 8,
	FULLSZ_ACTUAL_AVAIL = 16,
	FULLSZ_SECTORS_PER_UNIT = 24,
	FULLSZ_BYTES_PER_SECTOR = 28,
	SZ_TOTAL = 0,
	SZ_AVAIL = 8,
	SZ_SECTORS_PER_UNIT = 16,
	SZ_BYTES_PER_SECTOR = 20,
};

/* MS-FSCC 2.5.1 FileFsAttributeInformation */
enum {
	FSATTR_ATTRIBUTES = 0,
	FSATTR_MAX_COMPONENT = 4,
	FSATTR_NAME_LENGTH = 8,
	FSATTR_NAME = 12,
};

/* MS-FSCC 2.4.42.2 FileRenameInformation for SMB2 (also 2.4.27.2 link) */
enum {
	RENAME_REPLACE = 0,
	RENAME_RESERVED = 1,
	RENAME_ROOT_DIR = 8,
	RENAME_NAME_LENGTH = 16,
	RENAME_NAME = 20,
	RENAME_MIN_SIZE = 24,
};

static void basic_load(const uint8_t *p, struct fscc_basic_info *out)
{
	out->creation = le64_load(p + BASIC_CREATION);
	out->last_access = le64_load(p + BASIC_LAST_ACCESS);
	out->last_write = le64_load(p + BASIC_LAST_WRITE);
	out->change = le64_load(p + BASIC_CHANGE);
	out->attributes = le32_load(p + BASIC_ATTRIBUTES);
}

static void standard_load(const uint8_t *p, struct fscc_standard_info *out)
{
	out->allocation_size = le64_load(p + STD_ALLOCATION);
	out->end_of_file = le64_load(p + STD_END_OF_FILE);
	out->number_of_links = le32_load(p + STD_NUMBER_OF_LINKS);
	out->delete_pending = p[STD_DELETE_PENDING];
	out->directory = p[STD_DIRECTORY];
}

int fscc_basic_decode(const uint8_t *buf, uint32_t len, struct fscc_basic_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_BASIC_INFO_SIZE)
		return -EBADMSG;
	basic_load(buf, out);
	return 0;
}

int fscc_standard_decode(const uint8_t *buf, uint32_t len, struct fscc_standard_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_STANDARD_INFO_SIZE)
		return -EBADMSG;
	standard_load(buf, out);
	return 0;
}

int fscc_internal_decode(const uint8_t *buf, uint32_t len, uint64_t *index_number)
{
	if (!buf || len < 8)
		return -EBADMSG;
	*index_number = le64_load(buf);
	return 0;
}

int fscc_all_decode(const uint8_t *buf, uint32_t len, struct fscc_all_info *out)
{
	uint32_t name_len;

	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_ALL_INFO_MIN)
		return -EBADMSG;
	basic_load(buf + ALL_BASIC, &out->basic);
	standard_load(buf + ALL_STANDARD, &out->standard);
	out->index_number = le64_load(buf + ALL_INTERNAL);
	out->ea_size = le32_load(buf + ALL_EA);
	out->access_flags = le32_load(buf + ALL_ACCESS);
	out->current_byte_offset = le64_load(buf + ALL_POSITION);
	out->mode = le32_load(buf + ALL_MODE);
	out->alignment_requirement = le32_load(buf + ALL_ALIGNMENT);
	name_len = le32_load(buf + ALL_NAME_LENGTH);
	/*
	 * With STATUS_BUFFER_OVERFLOW the name is cut at the buffer end while
	 * FileNameLength keeps the full length (MS-FSCC 2.4.2); report what is there.
	 */
	if (name_len > len - ALL_NAME) {
		name_len = (len - ALL_NAME) & ~1u;
		out->name_truncated = 1;
	}
	if (name_len) {
		out->name16 = buf + ALL_NAME;
		out->name16_len = name_len;
	}
	return 0;
}

int fscc_network_open_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_network_open_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_NETWORK_OPEN_INFO_SIZE)
		return -EBADMSG;
	out->creation = le64_load(buf + NOI_CREATION);
	out->last_access = le64_load(buf + NOI_LAST_ACCESS);
	out->last_write = le64_load(buf + NOI_LAST_WRITE);
	out->change = le64_load(buf + NOI_CHANGE);
	out->allocation_size = le64_load(buf + NOI_ALLOCATION);
	out->end_of_file = le64_load(buf + NOI_END_OF_FILE);
	out->attributes = le32_load(buf + NOI_ATTRIBUTES);
	return 0;
}

int fscc_fs_full_size_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_fs_full_size_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_FS_FULL_SIZE_INFO_SIZE)
		return -EBADMSG;
	out->total_allocation_units = le64_load(buf + FULLSZ_TOTAL);
	out->caller_available_allocation_units = le64_load(buf + FULLSZ_CALLER_AVAIL);
	out->actual_available_allocation_units = le64_load(buf + FULLSZ_ACTUAL_AVAIL);
	out->sectors_per_allocation_unit = le32_load(buf + FULLSZ_SECTORS_PER_UNIT);
	out->bytes_per_sector = le32_load(buf + FULLSZ_BYTES_PER_SECTOR);
	return 0;
}

int fscc_fs_size_decode(const uint8_t *buf, uint32_t len, struct fscc_fs_size_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_FS_SIZE_INFO_SIZE)
		return -EBADMSG;
	out->total_allocation_units = le64_load(buf + SZ_TOTAL);
	out->available_allocation_units = le64_load(buf + SZ_AVAIL);
	out->sectors_per_allocation_unit = le32_load(buf + SZ_SECTORS_PER_UNIT);
	out->bytes_per_sector = le32_load(buf + SZ_BYTES_PER_SECTOR);
	return 0;
}

int fscc_fs_attribute_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_fs_attribute_info *out)
{
	uint32_t name_len;

	memset(out, 0, sizeof(*out));
	if (!buf || len < FSCC_FS_ATTRIBUTE_INFO_MIN)
		return -EBADMSG;
	out->attributes = le32_load(buf + FSATTR_ATTRIBUTES);
	out->max_component_name_length = (int32_t)le32_load(buf + FSATTR_MAX_COMPONENT);
	name_len = le32_load(buf + FSATTR_NAME_LENGTH);
	if (!range_ok(len, FSATTR_NAME, name_len))
		return -EBADMSG;
	if (name_len) {
		out->fs_name16 = buf + FSATTR_NAME;
		out->fs_name16_len = name_len;
	}
	return 0;
}

int fscc_basic_encode(struct wbuf *w, const struct fscc_basic_info *in)
{
	size_t base = w->off;
	int rc = 0;

	rc |= put_u64le(w, in->creation);
	rc |= put_u64le(w, in->last_access);
	rc |= put_u64le(w, in->last_write);
	rc |= put_u64le(w, in->change);
	rc |= put_u32le(w, in->attributes);
	rc |= put_u32le(w, 0);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int fscc_u64_encode(struct wbuf *w, uint64_t v)
{
	return put_u64le(w, v) ? -EMSGSIZE : 0;
}

int fscc_disposition_encode(struct wbuf *w, int delete_pending)
{
	return put_u8(w, delete_pending ? 1 : 0) ? -EMSGSIZE : 0;
}

int fscc_rename_encode(struct wbuf *w, int replace_if_exists, const char *target)
{
	size_t base = w->off, n16;
	int rc = 0;

	if (!target)
		return -EINVAL;
	while (*target == '/')
		target++;
	rc |= put_u8(w, replace_if_exists ? 1 : 0);
	rc |= put_zeros(w, RENAME_ROOT_DIR - RENAME_RESERVED);
	rc |= put_u64le(w, 0); /* RootDirectory: MUST be 0 for SMB2 */
	rc |= put_u32le(w, 0); /* FileNameLength, poked below */
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	rc = utf8_to_utf16le(target, strlen(target), w->p + w->off, w->cap - w->off, &n16, 1);
	if (rc)
		goto fail;
	w->off += n16;
	rc = poke_u32le(w, base + RENAME_NAME_LENGTH, (uint32_t)n16);
	/* Windows rejects a buffer shorter than the structure with its FileName[1]. */
	if (!rc && w->off - base < RENAME_MIN_SIZE)
		rc = put_zeros(w, RENAME_MIN_SIZE - (w->off - base));
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	w->off = base;
	return rc;
}
