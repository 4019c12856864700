/*
 * ops_xattr.c - extended attributes: user.* xattrs are the file's SMB
 * extended attributes (MS-FSCC 2.4.15 FileFullEaInformation); other
 * namespaces are not supported. nouser_xattr answers ENOSYS so that the
 * kernel stops asking.
 */
#include "fs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/xattr.h>

#include "client/ops_ext.h"
#include "log.h"
#include "wire/ea.h"

#define XATTR_USER "user."
#define XATTR_USER_LEN 5

/* ------------------------------------------------------------------ extended attributes */

/* The EA name behind a user.* xattr name, or -EOPNOTSUPP for other namespaces. */
static int ea_name_of(const char *xname, const char **ea, size_t *len)
{
	if (strncmp(xname, XATTR_USER, XATTR_USER_LEN))
		return -EOPNOTSUPP;
	*ea = xname + XATTR_USER_LEN;
	*len = strlen(*ea);
	if (!*len)
		return -EINVAL;
	if (*len > EA_NAME_MAX)
		return -ERANGE;
	/* Characters an EA name may not hold (MS-FSCC 2.4.15: ASCII, no control characters;
	 * Windows and Samba also refuse these). */
	for (const char *p = *ea; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"*+,/:;<=>?[\\]|", *p))
			return -EINVAL;
	return 0;
}

/* Find EA name in a list: 1 found (*e set), 0 not there, -EIO if malformed. */
static int ea_find(const uint8_t *list, uint32_t len, const char *name, size_t nlen,
		   struct ea_entry *e)
{
	struct ea_iter it;
	int rc;

	ea_iter_init(&it, list, len);
	while ((rc = ea_iter_next(&it, e)) == 1)
		if (e->name_len == nlen && !strncasecmp(e->name, name, nlen))
			return 1;
	if (rc < 0) {
		LOG_WARN("malformed EA list from server");
		return -EIO;
	}
	return 0;
}

/* Fetch the EAs of ino. */
static int eas_of(struct smbfs *fs, fuse_ino_t ino, char *path, uint8_t **list, uint32_t *len)
{
	int rc = ino_path(fs, ino, NULL, path, PATH_CAP);
	if (!rc)
		rc = smbc_get_eas(fs->client, path, list, len);
	return rc;
}

/*
 * nouser_xattr: ENOSYS makes the kernel stop sending that xattr operation
 * (EOPNOTSUPP from then on), which also ends its security.capability
 * question before each write().
 */
static int xattrs_off(fuse_req_t req, struct smbfs *fs)
{
	if (!fs->p.nouser_xattr)
		return 0;
	fuse_reply_err(req, ENOSYS);
	return 1;
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	rc = ea_name_of(name, &ea, &nlen);
	if (rc == -EOPNOTSUPP || rc == -EINVAL || rc == -ERANGE)
		rc = -ENODATA; /* no such attribute can exist here */
	if (!rc)
		rc = eas_of(fs, ino, path, &list, &len);
	if (!rc) {
		rc = ea_find(list, len, ea, nlen, &e);
		rc = rc == 1 ? 0 : rc == 0 ? -ENODATA : rc;
	}
	if (rc) {
		free(list);
		fuse_reply_err(req, -rc);
		return;
	}
	if (!size)
		fuse_reply_xattr(req, e.value_len);
	else if (size < e.value_len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)e.value, e.value_len);
	free(list);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	struct ea_iter it;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	char *out = NULL;
	size_t need = 0, pos = 0;
	int rc;

	if (xattrs_off(req, fs))
		return;
	rc = eas_of(fs, ino, path, &list, &len);
	if (rc == -EOPNOTSUPP) {
		rc = 0; /* a share without EAs has no xattrs to list */
		len = 0;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	ea_iter_init(&it, list, len);
	while ((rc = ea_iter_next(&it, &e)) == 1)
		need += XATTR_USER_LEN + e.name_len + 1;
	if (rc < 0) {
		free(list);
		fuse_reply_err(req, EIO);
		return;
	}
	if (!size) {
		free(list);
		fuse_reply_xattr(req, need);
		return;
	}
	if (size < need) {
		free(list);
		fuse_reply_err(req, ERANGE);
		return;
	}
	out = malloc(need ? need : 1);
	if (!out) {
		free(list);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ea_iter_init(&it, list, len);
	while (ea_iter_next(&it, &e) == 1) {
		memcpy(out + pos, XATTR_USER, XATTR_USER_LEN);
		memcpy(out + pos + XATTR_USER_LEN, e.name, e.name_len);
		pos += XATTR_USER_LEN + e.name_len;
		out[pos++] = '\0';
	}
	fuse_reply_buf(req, out, pos);
	free(out);
	free(list);
}

/* Set (value_len > 0) or delete (value NULL) one EA. */
static int ea_put(struct smbfs *fs, const char *path, const char *ea, size_t nlen,
		  const void *value, size_t value_len)
{
	size_t cap = 16 + nlen + value_len;
	uint8_t *buf = malloc(cap);
	struct wbuf w = wbuf_init(buf, cap);
	struct ea_list l;
	int rc;

	if (!buf)
		return -ENOMEM;
	ea_list_init(&l, &w);
	rc = ea_list_add(&l, ea, nlen, value, value_len, 0);
	if (!rc)
		rc = smbc_set_eas(fs->client, path, buf, (uint32_t)ea_list_len(&l));
	free(buf);
	return rc;
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ea_name_of(name, &ea, &nlen);
	/*
	 * An EA of length 0 does not exist in SMB: writing one deletes the EA
	 * (MS-FSCC 2.4.15). Refuse rather than turn setxattr into removexattr.
	 */
	if (!rc && size == 0)
		rc = -EINVAL;
	if (!rc && size > EA_VALUE_MAX)
		rc = -E2BIG;
	if (!rc)
		rc = ino_path(fs, ino, NULL, path, sizeof(path));
	if (!rc && (flags & (XATTR_CREATE | XATTR_REPLACE))) {
		uint8_t *list = NULL;
		uint32_t len = 0;
		struct ea_entry e;
		rc = smbc_get_eas(fs->client, path, &list, &len);
		if (!rc) {
			rc = ea_find(list, len, ea, nlen, &e);
			if (rc == 1)
				rc = (flags & XATTR_CREATE) ? -EEXIST : 0;
			else if (rc == 0)
				rc = (flags & XATTR_REPLACE) ? -ENODATA : 0;
		}
		free(list);
	}
	if (!rc)
		rc = ea_put(fs, path, ea, nlen, value, size);
	fuse_reply_err(req, -rc);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct smbfs *fs = fs_of(req);
	char path[PATH_CAP];
	const char *ea;
	struct ea_entry e;
	uint8_t *list = NULL;
	uint32_t len = 0;
	size_t nlen;
	int rc;

	if (xattrs_off(req, fs))
		return;
	if (fs->p.readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ea_name_of(name, &ea, &nlen);
	if (rc == -EINVAL || rc == -ERANGE)
		rc = -ENODATA;
	if (!rc)
		rc = eas_of(fs, ino, path, &list, &len);
	/* Deleting an EA that is not there succeeds in SMB; POSIX wants ENODATA. */
	if (!rc) {
		rc = ea_find(list, len, ea, nlen, &e);
		rc = rc == 1 ? 0 : rc == 0 ? -ENODATA : rc;
	}
	if (!rc) {
		char exact[EA_NAME_MAX + 1];
		memcpy(exact, e.name, e.name_len); /* the name as the server spells it */
		exact[e.name_len] = '\0';
		rc = ea_put(fs, path, exact, e.name_len, NULL, 0);
	}
	free(list);
	fuse_reply_err(req, -rc);
}
