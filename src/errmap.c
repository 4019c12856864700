/*
 * errmap.c - the one NTSTATUS -> -errno table (see errmap.h).
 *
 * A single table sorted by status value, searched with bsearch. Mappings
 * follow the Linux SMB client (fs/smb/client/smb2maperror.c) except where a
 * FUSE caller is better served: STATUS_CANCELLED -> -EINTR (we cancel only
 * interrupted requests), NO_SUCH_USER -> -EACCES (like LOGON_FAILURE),
 * CONNECTION_RESET -> -ECONNRESET, PASSWORD_MUST_CHANGE/ACCOUNT_EXPIRED ->
 * -EKEYEXPIRED (like PASSWORD_EXPIRED).
 *
 * Statuses with protocol meaning (PENDING, MORE_PROCESSING_REQUIRED,
 * NO_MORE_FILES, BUFFER_OVERFLOW, NETWORK_SESSION_EXPIRED) are handled in
 * src/net before mapping; their entries here only give a safe errno if one
 * slips through (PENDING is -EIO, never 0).
 *
 * Statuses not in the table: success/informational severity (top two bits
 * 00 or 01) -> 0, warning/error severity -> -EIO.
 */
#include "errmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct ntstatus_entry {
	uint32_t status;
	int err; /* 0 or -errno */
	const char *name;
};

#define E(s, e) {(uint32_t)(s), (e), #s}

/* Sorted by status (as uint32_t); tests/unit/test_errmap.c checks the order. */
static const struct ntstatus_entry ntstatus_table[] = {
	E(STATUS_SUCCESS, 0),
	E(STATUS_TIMEOUT, -ETIMEDOUT),
	E(STATUS_PENDING, -EIO),
	E(STATUS_NOTIFY_ENUM_DIR, 0),
	E(STATUS_SMB_BAD_UID, -EIO),
	E(STATUS_BUFFER_OVERFLOW, -E2BIG),
	E(STATUS_NO_MORE_FILES, -ENODATA),
	E(STATUS_DEVICE_BUSY, -EBUSY),
	E(STATUS_STOPPED_ON_SYMLINK, -EOPNOTSUPP),
	E(STATUS_UNSUCCESSFUL, -EIO),
	E(STATUS_NOT_IMPLEMENTED, -EOPNOTSUPP),
	E(STATUS_INVALID_INFO_CLASS, -EIO),
	E(STATUS_INFO_LENGTH_MISMATCH, -EIO),
	E(STATUS_INVALID_HANDLE, -EBADF),
	E(STATUS_INVALID_PARAMETER, -EINVAL),
	E(STATUS_NO_SUCH_DEVICE, -ENODEV),
	E(STATUS_NO_SUCH_FILE, -ENOENT),
	E(STATUS_INVALID_DEVICE_REQUEST, -EOPNOTSUPP),
	E(STATUS_END_OF_FILE, -ENODATA),
	E(STATUS_MORE_PROCESSING_REQUIRED, -EIO),
	E(STATUS_NO_MEMORY, -EREMOTEIO),
	E(STATUS_ACCESS_DENIED, -EACCES),
	E(STATUS_BUFFER_TOO_SMALL, -EIO),
	E(STATUS_OBJECT_TYPE_MISMATCH, -EIO),
	E(STATUS_OBJECT_NAME_INVALID, -ENOENT),
	E(STATUS_OBJECT_NAME_NOT_FOUND, -ENOENT),
	E(STATUS_OBJECT_NAME_COLLISION, -EEXIST),
	E(STATUS_OBJECT_PATH_INVALID, -ENOTDIR),
	E(STATUS_OBJECT_PATH_NOT_FOUND, -ENOENT),
	E(STATUS_OBJECT_PATH_SYNTAX_BAD, -EIO),
	E(STATUS_DATA_ERROR, -EIO),
	E(STATUS_SHARING_VIOLATION, -EBUSY),
	E(STATUS_QUOTA_EXCEEDED, -EDQUOT),
	E(STATUS_EAS_NOT_SUPPORTED, -EOPNOTSUPP),
	E(STATUS_EA_TOO_LARGE, -EIO),
	E(STATUS_NO_EAS_ON_FILE, -ENODATA),
	E(STATUS_FILE_LOCK_CONFLICT, -EACCES),
	E(STATUS_LOCK_NOT_GRANTED, -EACCES),
	E(STATUS_DELETE_PENDING, -ENOENT),
	E(STATUS_PRIVILEGE_NOT_HELD, -EPERM),
	E(STATUS_NO_SUCH_USER, -EACCES),
	E(STATUS_WRONG_PASSWORD, -EACCES),
	E(STATUS_LOGON_FAILURE, -EACCES),
	E(STATUS_ACCOUNT_RESTRICTION, -EACCES),
	E(STATUS_INVALID_LOGON_HOURS, -EACCES),
	E(STATUS_INVALID_WORKSTATION, -EACCES),
	E(STATUS_PASSWORD_EXPIRED, -EKEYEXPIRED),
	E(STATUS_ACCOUNT_DISABLED, -EKEYREVOKED),
	E(STATUS_RANGE_NOT_LOCKED, -EIO),
	E(STATUS_DISK_FULL, -ENOSPC),
	E(STATUS_INSUFFICIENT_RESOURCES, -EAGAIN),
	E(STATUS_MEDIA_WRITE_PROTECTED, -EROFS),
	E(STATUS_IO_TIMEOUT, -EAGAIN),
	E(STATUS_FILE_IS_A_DIRECTORY, -EISDIR),
	E(STATUS_NOT_SUPPORTED, -EOPNOTSUPP),
	E(STATUS_BAD_NETWORK_PATH, -EINVAL),
	E(STATUS_NETWORK_BUSY, -EBUSY),
	E(STATUS_INVALID_NETWORK_RESPONSE, -EIO),
	E(STATUS_NETWORK_NAME_DELETED, -EREMCHG),
	E(STATUS_NETWORK_ACCESS_DENIED, -EACCES),
	E(STATUS_BAD_NETWORK_NAME, -ENOENT),
	E(STATUS_REQUEST_NOT_ACCEPTED, -EIO),
	E(STATUS_NOT_SAME_DEVICE, -EXDEV),
	E(STATUS_FILE_RENAMED, -EIO),
	E(STATUS_DIRECTORY_NOT_EMPTY, -ENOTEMPTY),
	E(STATUS_NOT_A_DIRECTORY, -ENOTDIR),
	E(STATUS_NAME_TOO_LONG, -ENAMETOOLONG),
	E(STATUS_CANCELLED, -EINTR),
	E(STATUS_CANNOT_DELETE, -EACCES),
	E(STATUS_FILE_DELETED, -ENOENT),
	E(STATUS_FILE_CLOSED, -EBADF),
	E(STATUS_LOGON_TYPE_NOT_GRANTED, -EACCES),
	E(STATUS_ACCOUNT_EXPIRED, -EKEYEXPIRED),
	E(STATUS_FS_DRIVER_REQUIRED, -EOPNOTSUPP),
	E(STATUS_USER_SESSION_DELETED, -EIO),
	E(STATUS_INSUFF_SERVER_RESOURCES, -EAGAIN),
	E(STATUS_CONNECTION_DISCONNECTED, -ECONNABORTED),
	E(STATUS_CONNECTION_RESET, -ECONNRESET),
	E(STATUS_PASSWORD_MUST_CHANGE, -EKEYEXPIRED),
	E(STATUS_NOT_FOUND, -ENOENT),
	E(STATUS_ACCOUNT_LOCKED_OUT, -EACCES),
	E(STATUS_PATH_NOT_COVERED, -EREMOTE),
	E(STATUS_TOO_MANY_LINKS, -EMLINK),
	E(STATUS_NOT_A_REPARSE_POINT, -ENODATA),
	E(STATUS_IO_REPARSE_TAG_NOT_HANDLED, -EOPNOTSUPP),
	E(STATUS_NETWORK_SESSION_EXPIRED, -EIO),
	E(STATUS_FILE_TOO_LARGE, -EFBIG),
};

#undef E

static int cmp_entry(const void *key, const void *elem)
{
	uint32_t s = *(const uint32_t *)key;
	const struct ntstatus_entry *e = elem;
	return s < e->status ? -1 : s > e->status;
}

static const struct ntstatus_entry *lookup(uint32_t status)
{
	return bsearch(&status, ntstatus_table, sizeof(ntstatus_table) / sizeof(ntstatus_table[0]),
		       sizeof(ntstatus_table[0]), cmp_entry);
}

int ntstatus_to_errno(uint32_t status)
{
	const struct ntstatus_entry *e = lookup(status);

	if (e)
		return e->err;
	/* MS-ERREF 2.3: Sev 0 success, 1 informational, 2 warning, 3 error. */
	return (status >> 30) <= 1 ? 0 : -EIO;
}

const char *ntstatus_name(uint32_t status)
{
	static __thread char buf[sizeof("0x12345678")];
	const struct ntstatus_entry *e = lookup(status);

	if (e)
		return e->name;
	snprintf(buf, sizeof(buf), "0x%08X", (unsigned)status);
	return buf;
}

/* For tests: walk the table. Returns 0 past the end. */
int ntstatus_table_entry(size_t i, uint32_t *status, int *err, const char **name);
int ntstatus_table_entry(size_t i, uint32_t *status, int *err, const char **name)
{
	if (i >= sizeof(ntstatus_table) / sizeof(ntstatus_table[0]))
		return 0;
	*status = ntstatus_table[i].status;
	*err = ntstatus_table[i].err;
	*name = ntstatus_table[i].name;
	return 1;
}
