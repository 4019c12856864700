/*
 * fscc.h - MS-FSCC information classes <-> host structs: the directory entry
 * iterator for QUERY_DIRECTORY buffers (MS-FSCC 2.4.10, 2.4.14, 2.4.8,
 * 2.4.17, 2.4.18, 2.4.28), decoders for QUERY_INFO buffers, and encoders for
 * SET_INFO buffers.
 *
 * Decoders take an information buffer (e.g. query_info_resp.buffer), return 0
 * or -EBADMSG, never allocate; views point into the buffer. Encoders append to
 * a caller wbuf and return 0, -EMSGSIZE, -EILSEQ or -ENAMETOOLONG. Times are
 * raw FILETIME values (time.h converts).
 */
#ifndef SMBF_WIRE_FSCC_H
#define SMBF_WIRE_FSCC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/smb2.h"

/* One directory entry; fields a class does not carry are 0. */
struct fscc_dirent {
	uint64_t file_index_id; /* FileId (FileId*DirectoryInformation only), else 0 */
	uint64_t creation;
	uint64_t last_access;
	uint64_t last_write;
	uint64_t change;
	uint64_t end_of_file;
	uint64_t allocation_size;
	uint32_t attributes;
	uint32_t ea_size;    /* Full/Both/Id* classes; reparse tag if attributes has REPARSE_POINT */
	uint32_t file_index; /* FileIndex: position hint, usually 0 */
	const uint8_t *name16; /* UTF-16LE name, not terminated; view */
	uint32_t name16_len;   /* bytes, even */
};

struct fscc_dir_iter {
	const uint8_t *p;
	uint32_t len;
	uint32_t off;
	uint8_t info_class;
	int done; /* 1 at the end, -1 after an error */
};

/*
 * Start iterating over a QUERY_DIRECTORY output buffer of the given class:
 * FileDirectoryInformation, FileFullDirectoryInformation,
 * FileBothDirectoryInformation, FileIdBothDirectoryInformation,
 * FileIdFullDirectoryInformation or FileNamesInformation. Returns 0 or
 * -EINVAL for another class. An empty buffer yields no entries.
 */
int fscc_dir_iter_init(struct fscc_dir_iter *it, uint8_t info_class, const uint8_t *buf,
		       uint32_t len);
/*
 * 1 and *de filled, 0 at the end, -EBADMSG on a malformed entry: fixed part or
 * name outside the buffer or outside its own entry, NextEntryOffset smaller
 * than the entry, odd name length. Every step moves forward by at least the
 * fixed entry size, so the walk always ends. After <= 0 it keeps returning
 * the same.
 */
int fscc_dir_iter_next(struct fscc_dir_iter *it, struct fscc_dirent *de);

/* MS-FSCC 2.4.7 FileBasicInformation (40 bytes). */
struct fscc_basic_info {
	uint64_t creation;
	uint64_t last_access;
	uint64_t last_write;
	uint64_t change;
	uint32_t attributes;
};
#define FSCC_BASIC_INFO_SIZE 40

/* MS-FSCC 2.4.41 FileStandardInformation (24 bytes). */
struct fscc_standard_info {
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t number_of_links;
	uint8_t delete_pending;
	uint8_t directory;
};
#define FSCC_STANDARD_INFO_SIZE 24

/* MS-FSCC 2.4.2 FileAllInformation (100 bytes + name). */
struct fscc_all_info {
	struct fscc_basic_info basic;
	struct fscc_standard_info standard;
	uint64_t index_number; /* FileInternalInformation: the inode-like id */
	uint32_t ea_size;
	uint32_t access_flags;
	uint64_t current_byte_offset;
	uint32_t mode;
	uint32_t alignment_requirement;
	const uint8_t *name16; /* UTF-16LE, view, may be NULL */
	uint32_t name16_len;
	int name_truncated; /* FileNameLength exceeded the buffer (BUFFER_OVERFLOW) */
};
#define FSCC_ALL_INFO_MIN 100

/* MS-FSCC 2.4.29 FileNetworkOpenInformation (56 bytes). */
struct fscc_network_open_info {
	uint64_t creation;
	uint64_t last_access;
	uint64_t last_write;
	uint64_t change;
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t attributes;
};
#define FSCC_NETWORK_OPEN_INFO_SIZE 56

/* MS-FSCC 2.5.4 FileFsFullSizeInformation (32 bytes). */
struct fscc_fs_full_size_info {
	uint64_t total_allocation_units;
	uint64_t caller_available_allocation_units;
	uint64_t actual_available_allocation_units;
	uint32_t sectors_per_allocation_unit;
	uint32_t bytes_per_sector;
};
#define FSCC_FS_FULL_SIZE_INFO_SIZE 32

/* MS-FSCC 2.5.8 FileFsSizeInformation (24 bytes). */
struct fscc_fs_size_info {
	uint64_t total_allocation_units;
	uint64_t available_allocation_units;
	uint32_t sectors_per_allocation_unit;
	uint32_t bytes_per_sector;
};
#define FSCC_FS_SIZE_INFO_SIZE 24

/* MS-FSCC 2.5.1 FileFsAttributeInformation (12 bytes + name). */
struct fscc_fs_attribute_info {
	uint32_t attributes; /* FILE_CASE_SENSITIVE_SEARCH, ... */
	int32_t max_component_name_length;
	const uint8_t *fs_name16; /* e.g. "NTFS" in UTF-16LE; view */
	uint32_t fs_name16_len;
};
#define FSCC_FS_ATTRIBUTE_INFO_MIN 12

int fscc_basic_decode(const uint8_t *buf, uint32_t len, struct fscc_basic_info *out);
int fscc_standard_decode(const uint8_t *buf, uint32_t len, struct fscc_standard_info *out);
/* MS-FSCC 2.4.22 FileInternalInformation: IndexNumber (8 bytes). */
int fscc_internal_decode(const uint8_t *buf, uint32_t len, uint64_t *index_number);
/* Needs the 100 fixed bytes; a name cut short is reported via name_truncated. */
int fscc_all_decode(const uint8_t *buf, uint32_t len, struct fscc_all_info *out);
int fscc_network_open_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_network_open_info *out);
int fscc_fs_full_size_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_fs_full_size_info *out);
int fscc_fs_size_decode(const uint8_t *buf, uint32_t len, struct fscc_fs_size_info *out);
int fscc_fs_attribute_decode(const uint8_t *buf, uint32_t len,
			     struct fscc_fs_attribute_info *out);

/*
 * SET_INFO buffers. For FileBasicInformation a time of FILETIME_NO_CHANGE (0)
 * leaves it unchanged and attributes 0 leave the attributes unchanged.
 */
int fscc_basic_encode(struct wbuf *w, const struct fscc_basic_info *in);
/* FileEndOfFileInformation (2.4.13) and FileAllocationInformation (2.4.4): 8 bytes. */
int fscc_u64_encode(struct wbuf *w, uint64_t v);
/* FileDispositionInformation (2.4.11): 1 byte DeletePending. */
int fscc_disposition_encode(struct wbuf *w, int delete_pending);
/*
 * FileRenameInformation / FileLinkInformation, SMB2 form (2.4.42.2,
 * 2.4.27.2): target is a UTF-8 path relative to the share root with '/'
 * separators (leading '/' skipped). The buffer is padded to at least 24 bytes.
 */
int fscc_rename_encode(struct wbuf *w, int replace_if_exists, const char *target);

#endif
