/*
 * opts.c - option table (fuse_opt, offsetof style), UNC and smb:// parsing,
 * credentials from a file, the environment and the command line.
 *
 * Every user mistake ends here with one line naming the problem and -EINVAL;
 * main() turns that into exit status 1 before anything is connected or
 * mounted. Numbers are parsed here, not by fuse_opt's sscanf, so "rsize=12k"
 * or "uid=-1" is an error naming the option rather than a silent truncation.
 *
 * Identity is resolved in this order, the first that sets a field wins:
 * options and the smb:// URL, the credentials file, the environment
 * (USER, PASSWD, PASSWD_FD, PASSWD_FILE), the user running smbfuse; main()
 * finally asks on the terminal for a password that is still missing.
 */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <fuse_opt.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define OPT(t, p) {t, offsetof(struct smbf_config, p), 1}
#define OPTV(t, p, v) {t, offsetof(struct smbf_config, p), v}

/* ------------------------------------------------------------------ errors */

static void default_sink(const char *msg)
{
	fprintf(stderr, "smbfuse: %s\n", msg);
}

static opts_error_fn error_sink = default_sink;

void opts_set_error_sink(opts_error_fn fn)
{
	error_sink = fn ? fn : default_sink;
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_sink(msg);
}

/* ------------------------------------------------------------------ helpers */

void opts_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Replace *dst with a copy of src[0..n). secret: wipe the old value. */
static int set_strn(char **dst, const char *src, size_t n, int secret)
{
	char *v = strndup(src, n);
	if (!v)
		return -ENOMEM;
	if (secret)
		opts_free_secret(*dst);
	else
		free(*dst);
	*dst = v;
	return 0;
}

static int set_str(char **dst, const char *src, int secret)
{
	return set_strn(dst, src, strlen(src), secret);
}

static int parse_ulong(const char *s, int base, unsigned long *out)
{
	char *end;
	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL; /* no sign, no spaces, not empty */
	errno = 0;
	*out = strtoul(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || *end || !isfinite(*out))
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ option table */

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_DISCARD,
	KEY_RO,
	KEY_RW,
	KEY_UID,
	KEY_GID,
	KEY_NUM,
	KEY_USERNAME,
	KEY_PASSWORD,
	KEY_CREDENTIALS,
	KEY_FSNAME,
	KEY_SUBTYPE,
	KEY_IOCHARSET,
	KEY_NOMAPPOSIX,
	KEY_NOMAPCHARS,
};

static const struct fuse_opt opt_table[] = {
	/* identity */
	FUSE_OPT_KEY("username=", KEY_USERNAME),
	FUSE_OPT_KEY("user=", KEY_USERNAME),
	FUSE_OPT_KEY("password=", KEY_PASSWORD),
	FUSE_OPT_KEY("pass=", KEY_PASSWORD),
	OPT("domain=%s", domain),
	OPT("dom=%s", domain),
	OPT("workgroup=%s", domain),
	FUSE_OPT_KEY("credentials=", KEY_CREDENTIALS),
	FUSE_OPT_KEY("cred=", KEY_CREDENTIALS),
	OPTV("guest", guest, 1),
	OPTV("insecure_cred_ok", insecure_cred_ok, 1),
	/* protocol */
	OPT("vers=%s", vers),
	OPT("sec=%s", sec_str),
	OPT("ip=%s", addr),
	OPT("addr=%s", addr),
	OPTV("sign", sign, 1),
	OPTV("seal", seal, 1),
	OPTV("soft", soft, 1),
	OPTV("hard", soft, 0),
	/* presentation and caching */
	OPT("cache=%s", cache_str),
	OPTV("forceuid", forceuid, 1),
	OPTV("noforceuid", forceuid, 0),
	OPTV("forcegid", forcegid, 1),
	OPTV("noforcegid", forcegid, 0),
	OPTV("perm", perm, 1),
	OPTV("noperm", perm, 0),
	OPTV("serverino", serverino, 1),
	OPTV("noserverino", serverino, 0),
	OPTV("mfsymlinks", mfsymlinks, 1),
	OPTV("nomfsymlinks", mfsymlinks, 0),
	OPTV("nobrl", nobrl, 1),
	OPTV("lease", lease, 1),
	OPTV("nolease", lease, 0),
	OPTV("nouser_xattr", nouser_xattr, 1),
	OPTV("user_xattr", nouser_xattr, 0),
	OPTV("nonotify", nonotify, 1),
	OPTV("notify", nonotify, 0),
	OPTV("nodirprefetch", nodirprefetch, 1),
	OPTV("dirprefetch", nodirprefetch, 0),
	OPTV("brl", nobrl, 0),
	OPTV("mapposix", namemap, 1),
	OPTV("mapchars", namemap, 2),
	FUSE_OPT_KEY("nomapposix", KEY_NOMAPPOSIX),
	FUSE_OPT_KEY("nomapchars", KEY_NOMAPCHARS),
	FUSE_OPT_KEY("nounix", KEY_DISCARD), /* smbfuse never uses Unix extensions */
	FUSE_OPT_KEY("iocharset=", KEY_IOCHARSET),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	/* numbers: see num_opts[] */
	FUSE_OPT_KEY("port=", KEY_NUM),
	FUSE_OPT_KEY("rsize=", KEY_NUM),
	FUSE_OPT_KEY("wsize=", KEY_NUM),
	FUSE_OPT_KEY("rasize=", KEY_NUM),
	FUSE_OPT_KEY("max_credits=", KEY_NUM),
	FUSE_OPT_KEY("echo_interval=", KEY_NUM),
	FUSE_OPT_KEY("conn_timeout=", KEY_NUM),
	FUSE_OPT_KEY("req_timeout=", KEY_NUM),
	FUSE_OPT_KEY("max_channels=", KEY_NUM),
	FUSE_OPT_KEY("handletimeout=", KEY_NUM),
	FUSE_OPT_KEY("file_mode=", KEY_NUM),
	FUSE_OPT_KEY("dir_mode=", KEY_NUM),
	FUSE_OPT_KEY("actimeo=", KEY_NUM),
	FUSE_OPT_KEY("acregmax=", KEY_NUM),
	FUSE_OPT_KEY("acdirmax=", KEY_NUM),
	FUSE_OPT_KEY("closetimeo=", KEY_NUM),
	/* process */
	OPT("loglevel=%s", loglevel_str),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	/* FUSE options we need to know about, then hand on */
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	/*
	 * fstab/mount(8)/systemd options that mean nothing to the file system.
	 * mount(8) drops most of them before running mount.fuse3; they are
	 * accepted here for autofs, scripts and direct use. "x-*" is matched in
	 * opt_proc: fuse_opt templates cannot express a prefix without '='.
	 * nonempty: FUSE 3 always allows mounting over a non-empty directory.
	 */
	FUSE_OPT_KEY("_netdev", KEY_DISCARD),
	FUSE_OPT_KEY("nofail", KEY_DISCARD),
	FUSE_OPT_KEY("auto", KEY_DISCARD),
	FUSE_OPT_KEY("noauto", KEY_DISCARD),
	FUSE_OPT_KEY("user", KEY_DISCARD),
	FUSE_OPT_KEY("nouser", KEY_DISCARD),
	FUSE_OPT_KEY("users", KEY_DISCARD),
	FUSE_OPT_KEY("owner", KEY_DISCARD),
	FUSE_OPT_KEY("group", KEY_DISCARD),
	FUSE_OPT_KEY("defaults", KEY_DISCARD),
	FUSE_OPT_KEY("relatime", KEY_DISCARD),
	FUSE_OPT_KEY("nonempty", KEY_DISCARD),
	FUSE_OPT_KEY("comment=", KEY_DISCARD),
	FUSE_OPT_END,
};

enum num_kind {
	NUM_UINT,    /* decimal */
	NUM_MODE,    /* octal */
	NUM_SECONDS, /* decimal, may have a fraction; stored as double */
};

struct num_opt {
	const char *name;
	size_t off;
	enum num_kind kind;
	double min, max;
	const char *expect; /* what a good value looks like, for the error */
	size_t flag_off;    /* int set to 1 when given, or 0 for none */
};

#define CFG(f) offsetof(struct smbf_config, f)

static const struct num_opt num_opts[] = {
	{"port", CFG(port_num), NUM_UINT, 1, 65535, "a port 1-65535", 0},
	{"rsize", CFG(rsize), NUM_UINT, 4096, 8 << 20, "bytes, 4096-8388608", 0},
	{"wsize", CFG(wsize), NUM_UINT, 4096, 8 << 20, "bytes, 4096-8388608", 0},
	{"rasize", CFG(rasize), NUM_UINT, 0, 256 << 20, "bytes, 0-268435456", 0},
	{"max_credits", CFG(max_credits), NUM_UINT, 16, 8192, "16-8192", 0},
	{"echo_interval", CFG(echo_interval), NUM_UINT, 1, 600, "seconds, 1-600", 0},
	{"conn_timeout", CFG(conn_timeout), NUM_UINT, 1, 600, "seconds, 1-600", 0},
	{"req_timeout", CFG(req_timeout), NUM_UINT, 1, 3600, "seconds, 1-3600", 0},
	{"max_channels", CFG(max_channels), NUM_UINT, 1, 16, "1-16", 0},
	{"handletimeout", CFG(handletimeout), NUM_UINT, 0, 960000, "milliseconds, 0-960000", 0},
	{"file_mode", CFG(file_mode), NUM_MODE, 0, 07777, "an octal mode like 0644", 0},
	{"dir_mode", CFG(dir_mode), NUM_MODE, 0, 07777, "an octal mode like 0755", 0},
	{"actimeo", CFG(actimeo), NUM_SECONDS, 0, 2592000, "seconds, 0-2592000", CFG(actimeo_set)},
	{"acregmax", CFG(acregmax), NUM_SECONDS, 0, 2592000, "seconds, 0-2592000", 0},
	{"acdirmax", CFG(acdirmax), NUM_SECONDS, 0, 2592000, "seconds, 0-2592000", 0},
	{"closetimeo", CFG(closetimeo), NUM_UINT, 0, 604800, "seconds, 0-604800", 0},
};

static int parse_num(struct smbf_config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = (size_t)(eq - arg);
	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
		const struct num_opt *o = &num_opts[i];
		char *p = (char *)cfg + o->off;
		unsigned long u;
		double d;
		if (strlen(o->name) != n || strncmp(o->name, arg, n) != 0)
			continue;
		if (o->kind == NUM_SECONDS) {
			if (parse_seconds(eq + 1, &d) || d < o->min || d > o->max)
				goto bad;
			*(double *)(void *)p = d;
		} else {
			if (parse_ulong(eq + 1, o->kind == NUM_MODE ? 8 : 10, &u) ||
			    (double)u < o->min || (double)u > o->max)
				goto bad;
			*(unsigned *)(void *)p = (unsigned)u;
		}
		if (o->flag_off)
			*(int *)(void *)((char *)cfg + o->flag_off) = 1;
		return 0;
bad:
		report("bad value in option '%s': expected %s", arg, o->expect);
		return -1;
	}
	report("unknown option '%s'", arg); /* a KEY_NUM template without a num_opts row */
	return -1;
}

/* uid=/gid= take a number or a name, like mount.cifs. */
static int parse_id(const char *arg, int is_gid, unsigned long *out)
{
	const char *v = strchr(arg, '=') + 1;
	if (isdigit((unsigned char)*v)) {
		if (parse_ulong(v, 10, out) || *out > 0xFFFFFFFEul) {
			report("bad value in option '%s': expected a number or a %s name", arg,
			       is_gid ? "group" : "user");
			return -1;
		}
		return 0;
	}
	if (is_gid) {
		struct group *g = *v ? getgrnam(v) : NULL;
		if (g) {
			*out = g->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = *v ? getpwnam(v) : NULL;
		if (pw) {
			*out = pw->pw_uid;
			return 0;
		}
	}
	report("bad value in option '%s': no such %s", arg, is_gid ? "group" : "user");
	return -1;
}

/*
 * A user name as mount.cifs takes it: [domain/ or domain\]user[%password].
 * Sets username, and domain/password when present and still unset in cfg
 * (or always, with force). src is the pw_source for a password found here.
 */
static int set_username(struct smbf_config *cfg, const char *v, int force, enum pw_source src)
{
	const char *sep = strpbrk(v, "/\\");
	const char *pct;
	int rc;

	if (sep) {
		if (force || !cfg->domain) {
			rc = set_strn(&cfg->domain, v, (size_t)(sep - v), 0);
			if (rc)
				return rc;
		}
		v = sep + 1;
	}
	pct = strchr(v, '%');
	if (pct) {
		if (force || !cfg->password) {
			rc = set_str(&cfg->password, pct + 1, 1);
			if (rc)
				return rc;
			cfg->pw_source = src;
		}
		return set_strn(&cfg->username, v, (size_t)(pct - v), 0);
	}
	return set_str(&cfg->username, v, 0);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct smbf_config *cfg = data;
	unsigned long v;
	(void)outargs;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cfg->unc)
			return set_str(&cfg->unc, arg, 0) ? -1 : 0;
		if (!cfg->mountpoint)
			return set_str(&cfg->mountpoint, arg, 0) ? -1 : 0;
		report("unexpected argument '%s' (usage: smbfuse //server/share MOUNTPOINT "
		       "[-o options])", arg);
		return -1;
	case KEY_HELP:
		cfg->show_help = 1;
		return 0;
	case KEY_VERSION:
		cfg->show_version = 1;
		return 0;
	case KEY_FOREGROUND:
		cfg->foreground = 1;
		return 0;
	case KEY_DEBUG:
		cfg->debug = 1;
		cfg->foreground = 1;
		return 0;
	case KEY_SINGLE:
		cfg->single_thread = 1;
		return 0;
	case KEY_DISCARD:
		return 0;
	case KEY_RO:
		cfg->readonly = 1;
		return 1; /* the kernel mount is read-only too */
	case KEY_RW:
		cfg->readonly = 0;
		return 1;
	case KEY_UID:
		if (parse_id(arg, 0, &v))
			return -1;
		cfg->uid = (uid_t)v;
		cfg->uid_set = 1;
		return 0;
	case KEY_GID:
		if (parse_id(arg, 1, &v))
			return -1;
		cfg->gid = (gid_t)v;
		cfg->gid_set = 1;
		return 0;
	case KEY_NUM:
		return parse_num(cfg, arg);
	case KEY_USERNAME:
		return set_username(cfg, strchr(arg, '=') + 1, 1, PW_OPTION) ? -1 : 0;
	case KEY_PASSWORD:
		if (set_str(&cfg->password, strchr(arg, '=') + 1, 1))
			return -1;
		cfg->pw_source = PW_OPTION;
		return 0;
	case KEY_CREDENTIALS:
		return set_str(&cfg->credentials, strchr(arg, '=') + 1, 0) ? -1 : 0;
	case KEY_NOMAPPOSIX: /* each "no" form undoes only its own mapping */
		if (cfg->namemap == 1)
			cfg->namemap = 0;
		return 0;
	case KEY_NOMAPCHARS:
		if (cfg->namemap == 2)
			cfg->namemap = 0;
		return 0;
	case KEY_IOCHARSET:
		if (strcasecmp(arg + 10, "utf8") && strcasecmp(arg + 10, "utf-8")) {
			report("unsupported value in option '%s': smbfuse always uses UTF-8", arg);
			return -1;
		}
		return 0;
	case KEY_FSNAME:
		cfg->fsname_given = 1;
		return 1;
	case KEY_SUBTYPE:
		cfg->subtype_given = 1;
		return 1;
	default:
		if (!strncmp(arg, "x-", 2))
			return 0; /* x-systemd.*, x-gvfs-*, ...: for other programs */
		return 1; /* FUSE options (allow_other, ...): main() validates them */
	}
}

/* ------------------------------------------------------------------ UNC / URL */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* %-decode s[0..n) of an smb:// URL into a new string; NULL on a bad or NUL escape. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;
			if (i + 2 >= n)
				goto bad;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				goto bad;
			*o++ = (char)(h << 4 | l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
bad:
	OPENSSL_cleanse(out, n + 1);
	free(out);
	return NULL;
}

/* Set *dst from a URL component; reports and fails on a bad escape. */
static int url_part(char **dst, const char *s, size_t n, int secret, const char *unc,
		    const char *what)
{
	char *v = pct_decode(s, n);
	if (!v) {
		report("'%s': bad %%-escape in the %s", unc, what);
		return -EINVAL;
	}
	if (secret)
		opts_free_secret(*dst);
	else
		free(*dst);
	*dst = v;
	return 0;
}

/*
 * smb://[domain;][user[:password]@]...: fill what -o left unset. *p is moved
 * past the '@'; pw_start and pw_end bracket the password in unc, if any.
 */
static int url_userinfo(const char *unc, const char **p, struct smbf_config *cfg,
			const char **pw_start, const char **pw_end)
{
	const char *slash = strchr(*p, '/');
	const char *at = memchr(*p, '@', slash ? (size_t)(slash - *p) : strlen(*p));
	const char *u = *p, *semi, *colon;
	char *dom = NULL, *user = NULL, *pw = NULL;
	int rc = 0;

	if (!at)
		return 0;
	semi = memchr(u, ';', (size_t)(at - u));
	if (semi) {
		rc = url_part(&dom, u, (size_t)(semi - u), 0, unc, "domain");
		u = semi + 1;
	}
	colon = memchr(u, ':', (size_t)(at - u));
	if (!rc && colon) {
		*pw_start = colon + 1;
		*pw_end = at;
		rc = url_part(&pw, colon + 1, (size_t)(at - colon - 1), 1, unc, "password");
	}
	if (!rc)
		rc = url_part(&user, u, (size_t)((colon ? colon : at) - u), 0, unc, "user name");
	if (!rc) {
		/* options given with -o win over the URL */
		if (!cfg->domain) {
			cfg->domain = dom;
			dom = NULL;
		}
		if (!cfg->username) {
			cfg->username = user;
			user = NULL;
		}
		if (!cfg->password && pw) {
			cfg->password = pw;
			cfg->pw_source = PW_OPTION;
			pw = NULL;
		}
	}
	free(dom);
	free(user);
	opts_free_secret(pw);
	*p = at + 1;
	return rc;
}

/* host, [IPv6], :port up to the separator before the share; *p moves past them. */
static int unc_host_port(const char *unc, const char **p, char sep, struct smbf_config *cfg)
{
	const char *hs = *p, *e;
	size_t hl;

	if (*hs == '[') { /* IPv6 literal: hex, ':', '.' (::ffff:1.2.3.4), then %zone */
		const char *end = strchr(hs, ']');
		if (!end) {
			report("'%s': unterminated [ in IPv6 address", unc);
			return -EINVAL;
		}
		hs++;
		hl = (size_t)(end - hs);
		if (strspn(hs, "0123456789abcdefABCDEF:.") < strcspn(hs, "%]")) {
			report("'%s': '%.*s' is not an IPv6 address", unc, (int)hl, hs);
			return -EINVAL;
		}
		e = end + 1;
		if (*e && *e != sep && *e != ':') {
			report("'%s': unexpected text after ']'", unc);
			return -EINVAL;
		}
	} else {
		hl = strcspn(hs, ":/\\");
		e = hs + hl;
		if (*e == ':' && memchr(e + 1, ':', strcspn(e + 1, "/\\"))) {
			report("'%s': put an IPv6 address in brackets: //[%.*s]/share", unc,
			       (int)strcspn(hs, "/\\"), hs);
			return -EINVAL;
		}
	}
	if (hl == 0) {
		report("'%s': no server name", unc);
		return -EINVAL;
	}
	if (set_strn(&cfg->host, hs, hl, 0))
		return -ENOMEM;
	if (*e == ':') {
		char buf[8];
		size_t n = strcspn(++e, sep == '/' ? "/" : "\\");
		unsigned long v;
		if (n == 0 || n >= sizeof(buf)) {
			report("'%s': bad port", unc);
			return -EINVAL;
		}
		memcpy(buf, e, n);
		buf[n] = '\0';
		if (parse_ulong(buf, 10, &v) || v == 0 || v > 65535) {
			report("'%s': bad port", unc);
			return -EINVAL;
		}
		cfg->port_num = (unsigned)v;
		e += n;
	}
	*p = e;
	return 0;
}

/* The path after the share: separators normalised to '/', no empty or ".." parts. */
static int unc_subdir(const char *unc, const char *s, int url, struct smbf_config *cfg)
{
	char *raw = NULL, *sub, *o;
	const char *c;
	int rc;

	free(cfg->subdir);
	cfg->subdir = NULL;
	if (url) {
		rc = url_part(&raw, s, strlen(s), 0, unc, "path");
		if (rc)
			return rc;
		s = raw;
	}
	sub = malloc(strlen(s) + 1);
	if (!sub) {
		free(raw);
		return -ENOMEM;
	}
	for (o = sub; *s; s++) {
		char ch = (*s == '\\') ? '/' : *s;
		if (ch == '/' && (o == sub || o[-1] == '/'))
			continue;
		*o++ = ch;
	}
	while (o > sub && o[-1] == '/')
		o--;
	*o = '\0';
	free(raw);
	/* ".." would climb out of the share: refuse it as the server would */
	for (c = sub; *c; c = *c ? c + 1 : c) {
		if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2])) {
			report("'%s': '..' is not allowed in the path", unc);
			free(sub);
			return -EINVAL;
		}
		c += strcspn(c, "/");
	}
	if (*sub)
		cfg->subdir = sub;
	else
		free(sub);
	return 0;
}

int opts_parse_unc(const char *unc, struct smbf_config *cfg)
{
	const char *p, *share, *share_end, *pw_start = NULL, *pw_end = NULL;
	char sep;
	int url = 0, rc;

	if (strncasecmp(unc, "smb://", 6) == 0 || strncasecmp(unc, "cifs://", 7) == 0) {
		url = 1;
		sep = '/';
		p = strstr(unc, "//") + 2;
		rc = url_userinfo(unc, &p, cfg, &pw_start, &pw_end);
		if (rc)
			return rc;
	} else if ((unc[0] == '/' && unc[1] == '/') || (unc[0] == '\\' && unc[1] == '\\')) {
		sep = unc[0];
		p = unc + 2;
	} else {
		report("'%s' is not a share: expected //server/share or smb://server/share", unc);
		return -EINVAL;
	}
	rc = unc_host_port(unc, &p, sep, cfg);
	if (rc)
		return rc;
	if (*p != sep || !p[1] || p[1] == sep) {
		report("'%s': no share name (expected //server/share)", unc);
		return -EINVAL;
	}
	share = p + 1;
	share_end = share + strcspn(share, sep == '/' ? "/" : "\\");
	if (url)
		rc = url_part(&cfg->share, share, (size_t)(share_end - share), 0, unc,
			      "share name");
	else
		rc = set_strn(&cfg->share, share, (size_t)(share_end - share), 0);
	if (rc)
		return rc;
	if (strpbrk(cfg->share, "/\\")) {
		report("'%s': bad share name '%s'", unc, cfg->share);
		return -EINVAL;
	}
	rc = unc_subdir(unc, *share_end ? share_end + 1 : share_end, url, cfg);
	if (rc)
		return rc;
	/* the mount's source as /proc/mounts shows it: as given, minus a URL password */
	free(cfg->source);
	if (pw_start) {
		size_t a = (size_t)(pw_start - 1 - unc), b = strlen(pw_end);
		cfg->source = malloc(a + b + 1);
		if (cfg->source) {
			memcpy(cfg->source, unc, a);
			memcpy(cfg->source + a, pw_end, b + 1);
		}
	} else {
		cfg->source = strdup(unc);
	}
	return cfg->source ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ credentials */

int opts_read_credentials(const char *path, struct smbf_config *cfg)
{
	struct stat st;
	char line[1024];
	FILE *f = fopen(path, "re");
	int lineno = 0, rc = 0;

	if (!f) {
		report("cannot open credentials file '%s': %s", path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		report("credentials file '%s' is not a regular file", path);
		fclose(f);
		return -EINVAL;
	}
	if ((st.st_mode & 0077) && !cfg->insecure_cred_ok) {
		report("credentials file '%s' is accessible by group or others (mode %04o); "
		       "chmod 600 it, or add -o insecure_cred_ok",
		       path, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *eq, *key_end, *val;
		size_t n;
		int spaced;
		lineno++;
		n = strcspn(s, "\r\n");
		if (!s[n] && !feof(f)) {
			report("credentials file '%s' line %d: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		s[n] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			report("credentials file '%s' line %d: expected key=value", path, lineno);
			rc = -EINVAL;
			break;
		}
		/* "key=value" (mount.cifs) or "key = value" (smbclient -A): trim only then */
		key_end = eq;
		spaced = key_end > s && (key_end[-1] == ' ' || key_end[-1] == '\t');
		while (key_end > s && (key_end[-1] == ' ' || key_end[-1] == '\t'))
			key_end--;
		*key_end = '\0';
		val = eq + 1;
		if (spaced) {
			char *e = val + strlen(val);
			while (*val == ' ' || *val == '\t')
				val++;
			while (e > val && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
		}
		if (!strcasecmp(s, "username") || !strcasecmp(s, "user")) {
			/* mount.cifs accepts DOMAIN/name and DOMAIN\name here */
			char *d = strpbrk(val, "/\\");
			if (d) {
				rc = set_strn(&cfg->domain, val, (size_t)(d - val), 0);
				val = d + 1;
			}
			rc = rc ? rc : set_str(&cfg->username, val, 0);
		} else if (!strcasecmp(s, "password") || !strcasecmp(s, "pass")) {
			rc = set_str(&cfg->password, val, 1);
			if (!rc)
				cfg->pw_source = PW_CREDFILE;
		} else if (!strcasecmp(s, "domain") || !strcasecmp(s, "dom") ||
			   !strcasecmp(s, "workgroup")) {
			rc = set_str(&cfg->domain, val, 0);
		} else {
			report("credentials file '%s' line %d: unknown key '%s' (expected "
			       "username, password or domain)", path, lineno, s);
			rc = -EINVAL;
		}
		if (rc)
			break;
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return rc;
}

/* Read one line (the password) from fd; NULL and a report on failure. */
static char *read_password_fd(int fd, const char *what)
{
	char buf[512];
	size_t got = 0;
	char *pw;

	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report("cannot read the password from %s: %s", what, strerror(errno));
			OPENSSL_cleanse(buf, sizeof(buf));
			return NULL;
		}
		got += (size_t)n;
		if (n == 0 || memchr(buf, '\n', got) || got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	pw = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return pw;
}

/* PASSWD is wiped in place: /proc/PID/environ shows the original block. */
static void wipe_env(const char *name)
{
	char *v = getenv(name);
	if (v)
		OPENSSL_cleanse(v, strlen(v));
	unsetenv(name);
}

static int password_from_env(struct smbf_config *cfg)
{
	const char *env;

	if ((env = getenv("PASSWD")) != NULL) {
		if (set_str(&cfg->password, env, 1))
			return -ENOMEM;
		cfg->pw_source = PW_ENV;
		return 0;
	}
	if ((env = getenv("PASSWD_FD")) != NULL) {
		unsigned long fd;
		char *pw;
		if (parse_ulong(env, 10, &fd) || fd > INT_MAX) {
			report("PASSWD_FD='%s' is not a file descriptor number", env);
			return -EINVAL;
		}
		pw = read_password_fd((int)fd, "PASSWD_FD");
		if (!pw)
			return -EINVAL;
		opts_free_secret(cfg->password);
		cfg->password = pw;
		cfg->pw_source = PW_ENV;
		return 0;
	}
	if ((env = getenv("PASSWD_FILE")) != NULL) {
		FILE *f = fopen(env, "re");
		char *pw;
		if (!f) {
			report("cannot open PASSWD_FILE '%s': %s", env, strerror(errno));
			return -EINVAL;
		}
		pw = read_password_fd(fileno(f), "PASSWD_FILE");
		fclose(f);
		if (!pw)
			return -EINVAL;
		opts_free_secret(cfg->password);
		cfg->password = pw;
		cfg->pw_source = PW_ENV;
	}
	return 0;
}

/* ------------------------------------------------------------------ argv scrubbing */

/* Overwrite s[0..) up to an unescaped ',' (or end) with '*'; returns the end. */
static char *star_value(char *s, const char *stop)
{
	for (; *s && !strchr(stop, *s); s++) {
		if (*s == '\\' && s[1]) {
			*s++ = '*';
		}
		*s = '*';
	}
	return s;
}

/* Is p (inside arg) the start of an -o option? */
static int at_opt_start(const char *arg, const char *p)
{
	return p == arg || p[-1] == ',' || (p == arg + 2 && arg[0] == '-' && arg[1] == 'o');
}

/*
 * Overwrite passwords in argv so /proc/PID/cmdline does not show them:
 * password=/pass= values, the %password of user=/username=, and the
 * password of an smb://user:password@host URL.
 */
static void scrub_argv(int argc, char *argv[])
{
	static const char *const pw_keys[] = {"password=", "pass="};
	static const char *const user_keys[] = {"username=", "user="};

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (!strncasecmp(arg, "smb://", 6) || !strncasecmp(arg, "cifs://", 7)) {
			char *u = strstr(arg, "//") + 2;
			size_t ulen = strcspn(u, "/");
			char *at = memchr(u, '@', ulen);
			char *colon = at ? memchr(u, ':', (size_t)(at - u)) : NULL;
			if (colon)
				memset(colon + 1, '*', (size_t)(at - colon - 1));
			continue;
		}
		for (char *p = arg; *p; p++) {
			if (!at_opt_start(arg, p))
				continue;
			for (size_t k = 0; k < 2; k++) {
				size_t kl = strlen(pw_keys[k]);
				if (!strncmp(p, pw_keys[k], kl)) {
					star_value(p + kl, ",");
					break;
				}
				kl = strlen(user_keys[k]);
				if (!strncmp(p, user_keys[k], kl)) {
					char *v = p + kl;
					size_t vl = strcspn(v, ",");
					char *pct = memchr(v, '%', vl);
					if (pct)
						star_value(pct + 1, ",");
					break;
				}
			}
		}
	}
}

/* ------------------------------------------------------------------ parse */

static int finish_identity(struct smbf_config *cfg)
{
	const char *env;

	if (cfg->credentials) {
		/* explicit options win over the file; the file wins over the environment */
		struct smbf_config f;
		char *abs = realpath(cfg->credentials, NULL);
		int rc;
		memset(&f, 0, sizeof(f));
		f.insecure_cred_ok = cfg->insecure_cred_ok;
		rc = opts_read_credentials(abs ? abs : cfg->credentials, &f);
		if (!rc && abs) {
			free(cfg->credentials);
			cfg->credentials = abs; /* SIGHUP re-reads it after chdir("/") */
			abs = NULL;
		}
		free(abs);
		if (!rc) {
			if (!cfg->username && f.username) {
				cfg->username = f.username;
				f.username = NULL;
			}
			if (!cfg->domain && f.domain) {
				cfg->domain = f.domain;
				f.domain = NULL;
			}
			if (!cfg->password && f.password) {
				cfg->password = f.password;
				cfg->pw_source = PW_CREDFILE;
				f.password = NULL;
			}
		}
		opts_free(&f);
		if (rc)
			return rc;
	}
	if (cfg->guest || cfg->sec == SEC_NONE)
		return 0;
	/* mount.cifs environment: USER (may be user%password), PASSWD, PASSWD_FD, PASSWD_FILE */
	if (!cfg->username && (env = getenv("USER")) && *env) {
		if (set_username(cfg, env, 0, PW_ENV))
			return -ENOMEM;
	}
	if (!cfg->username && cfg->sec != SEC_KRB5 && cfg->sec != SEC_KRB5I) {
		struct passwd *pw = getpwuid(getuid());
		if (pw && set_str(&cfg->username, pw->pw_name, 0))
			return -ENOMEM;
	}
	if (!cfg->password && cfg->sec != SEC_KRB5 && cfg->sec != SEC_KRB5I) {
		int rc = password_from_env(cfg);
		if (rc)
			return rc;
	}
	wipe_env("PASSWD");
	return 0;
}

static int finish_values(struct smbf_config *cfg)
{
	static const struct {
		const char *name;
		enum smbf_sec sec;
	} secs[] = {
		{"ntlmssp", SEC_NTLMSSP}, {"ntlmv2", SEC_NTLMSSP},   {"ntlmsspi", SEC_NTLMSSPI},
		{"ntlmv2i", SEC_NTLMSSPI}, {"krb5", SEC_KRB5},       {"krb5i", SEC_KRB5I},
		{"none", SEC_NONE},
	};
	static const char *const levels[] = {"err", "warn", "info", "debug", "trace"};

	if (cfg->sec_str) {
		size_t i;
		for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
			if (!strcasecmp(cfg->sec_str, secs[i].name))
				break;
		if (i == sizeof(secs) / sizeof(secs[0])) {
			report("unsupported value in option 'sec=%s': expected ntlmssp, ntlmsspi, "
			       "krb5, krb5i or none", cfg->sec_str);
			return -EINVAL;
		}
		cfg->sec = secs[i].sec;
	}
	if (cfg->cache_str) {
		if (!strcmp(cfg->cache_str, "strict"))
			cfg->cache = CACHE_STRICT;
		else if (!strcmp(cfg->cache_str, "loose"))
			cfg->cache = CACHE_LOOSE;
		else if (!strcmp(cfg->cache_str, "none"))
			cfg->cache = CACHE_NONE;
		else {
			report("bad value in option 'cache=%s': expected strict, loose or none",
			       cfg->cache_str);
			return -EINVAL;
		}
	}
	if (cfg->loglevel_str) {
		size_t i;
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcasecmp(cfg->loglevel_str, levels[i]))
				break;
		if (i == sizeof(levels) / sizeof(levels[0])) {
			report("bad value in option 'loglevel=%s': expected err, warn, info, debug "
			       "or trace", cfg->loglevel_str);
			return -EINVAL;
		}
		cfg->loglevel = (enum smbf_loglevel)i;
	} else if (cfg->debug) {
		cfg->loglevel = LOGLEVEL_DEBUG;
	}
	if (cfg->vers && !*cfg->vers) {
		report("bad value in option 'vers=': expected 2.0, 2.1, 3.0, 3.02, 3.1.1, 3 or "
		       "default");
		return -EINVAL;
	}
	if (cfg->addr && !*cfg->addr) {
		report("bad value in option 'ip=': expected an address");
		return -EINVAL;
	}
	/* mount.cifs: acregmax/acdirmax win over actimeo */
	if (cfg->acregmax < 0)
		cfg->acregmax = cfg->actimeo;
	if (cfg->acdirmax < 0)
		cfg->acdirmax = cfg->actimeo;
	return 0;
}

int opts_parse(int argc, char *argv[], struct smbf_config *cfg, struct fuse_args *args)
{
	unsigned opt_port;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file_mode = 0755;
	cfg->dir_mode = 0755;
	cfg->actimeo = 1.0;
	cfg->acregmax = -1;
	cfg->acdirmax = -1;
	cfg->closetimeo = 5;
	cfg->lease = 1;
	cfg->nodirprefetch = 1; /* see the man page: off until a soak hang is understood */
	cfg->max_credits = 512;
	cfg->rsize = 1024 * 1024;
	cfg->wsize = 1024 * 1024;
	cfg->rasize = 16 * 1024 * 1024; /* 10 ms RTT: 8 MiB held reads to ~580 MB/s, 16 to ~790 */
	cfg->echo_interval = 60;
	cfg->conn_timeout = 15;
	cfg->req_timeout = 30;
	cfg->max_channels = 1;
	cfg->serverino = 1;
	cfg->loglevel = LOGLEVEL_WARN;

	rc = fuse_opt_parse(args, cfg, opt_table, opt_proc);
	scrub_argv(argc, argv);
	if (rc == -1)
		return -EINVAL;
	if (cfg->show_help || cfg->show_version)
		return 0;
	if (!cfg->unc) {
		report("missing share: usage: smbfuse //server/share MOUNTPOINT [-o options]");
		return -EINVAL;
	}
	if (!cfg->mountpoint) {
		report("missing mountpoint: usage: smbfuse //server/share MOUNTPOINT [-o options]");
		return -EINVAL;
	}
	/* a port in the UNC and port= must agree */
	opt_port = cfg->port_num;
	cfg->port_num = 0;
	rc = opts_parse_unc(cfg->unc, cfg);
	if (rc)
		return rc;
	if (cfg->port_num && opt_port && cfg->port_num != opt_port) {
		report("port %u in '%s' conflicts with option port=%u", cfg->port_num, cfg->unc,
		       opt_port);
		return -EINVAL;
	}
	if (!cfg->port_num)
		cfg->port_num = opt_port;
	if (cfg->port_num) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%u", cfg->port_num);
		if (set_str(&cfg->port, buf, 0))
			return -ENOMEM;
	}
	rc = finish_values(cfg);
	if (rc)
		return rc;
	rc = finish_identity(cfg);
	if (rc)
		return rc;
	if (!cfg->uid_set)
		cfg->uid = getuid();
	if (!cfg->gid_set)
		cfg->gid = getgid();
	return 0;
}

void opts_free(struct smbf_config *cfg)
{
	opts_free_secret(cfg->password);
	free(cfg->unc);
	free(cfg->source);
	free(cfg->host);
	free(cfg->port);
	free(cfg->share);
	free(cfg->subdir);
	free(cfg->mountpoint);
	free(cfg->addr);
	free(cfg->username);
	free(cfg->domain);
	free(cfg->credentials);
	free(cfg->vers);
	free(cfg->sec_str);
	free(cfg->cache_str);
	free(cfg->loglevel_str);
	memset(cfg, 0, sizeof(*cfg));
}

void opts_usage(const char *prog)
{
	printf("usage: %s //server[:port]/share[/path] MOUNTPOINT [-o option[,option...]]\n"
	       "       %s smb://[domain;][user@]server[:port]/share[/path] MOUNTPOINT [-o ...]\n"
	       "       fusermount3 -u MOUNTPOINT        (unmount)\n"
	       "\n"
	       "Mount an SMB2/SMB3 share with FUSE. Option names follow mount.cifs(8).\n"
	       "IPv6 addresses go in brackets: //[fd00::5]/share.\n"
	       "\n"
	       "General:\n"
	       "  -h, --help            show this help and exit\n"
	       "  -V, --version         show the versions of smbfuse and its libraries and exit\n"
	       "  -f                    stay in the foreground, log to stderr\n"
	       "  -d, -o debug          debug logging, FUSE request tracing (implies -f)\n"
	       "  -s                    single-threaded\n"
	       "  loglevel=LEVEL        err, warn (default), info, debug or trace; to stderr with\n"
	       "                        -f, else to syslog once mounted\n"
	       "\n"
	       "Identity (first found wins: options, credentials file, environment, prompt):\n"
	       "  username=NAME         user to log on as (also user=); DOMAIN/NAME and\n"
	       "                        NAME%%PASSWORD work as in mount.cifs\n"
	       "  password=PASS         password (also pass=); prefer credentials=\n"
	       "  domain=NAME           domain or workgroup (also dom=, workgroup=)\n"
	       "  credentials=FILE      file with username=, password=, domain= lines (also\n"
	       "                        cred=); must not be accessible by group or others;\n"
	       "                        re-read on SIGHUP\n"
	       "  insecure_cred_ok      accept a credentials file others can read\n"
	       "  guest                 log on as guest, no password\n"
	       "  environment           USER, PASSWD, PASSWD_FD, PASSWD_FILE as in mount.cifs\n"
	       "\n"
	       "Connection:\n"
	       "  port=N                TCP port (default 445); //server:N/share works too\n"
	       "  ip=ADDRESS            connect to ADDRESS instead of resolving the server name\n"
	       "                        (also addr=)\n"
	       "  vers=V                dialect: 2.0, 2.1, 3.0, 3.02, 3.1.1, 3 (any 3.x),\n"
	       "                        default (2.0 to 3.1.1)\n"
	       "  sec=MODE              ntlmssp (default), ntlmsspi (and sign), krb5, krb5i\n"
	       "                        (and sign), none (anonymous)\n"
	       "  sign                  require signing\n"
	       "  seal                  require encryption (SMB 3.x)\n"
	       "  hard (default), soft  when the server is gone: wait for it / fail after\n"
	       "                        echo_interval seconds\n"
	       "  echo_interval=S       keepalive interval (default 60)\n"
	       "  lease, nolease        leases and durable handles (default lease)\n"
	       "  handletimeout=MS      durable handle timeout (default 0: the server's)\n"
	       "  conn_timeout=S        TCP connect timeout (default 15)\n"
	       "  req_timeout=S         deadline of one request (default 30)\n"
	       "  max_credits=N         credit window to ask for (default 512)\n"
	       "  max_channels=N        connections per session, SMB 3 multichannel (default 1)\n"
	       "  rsize=N, wsize=N      largest READ/WRITE in bytes (default 1 MiB)\n"
	       "  rasize=N              readahead window per file (default 16 MiB; 0 = off)\n"
	       "\n"
	       "Files as shown (no Unix extensions: owner and mode come from these):\n"
	       "  uid=N|NAME, gid=N|NAME  owner and group of all files (default: mounting user)\n"
	       "  file_mode=0NNN        mode of files (default 0755)\n"
	       "  dir_mode=0NNN         mode of directories (default 0755)\n"
	       "  noperm (default)      the server alone checks access\n"
	       "  perm                  the kernel also checks uid/gid/file_mode/dir_mode\n"
	       "                        (FUSE default_permissions)\n"
	       "  serverino (default), noserverino   inode numbers from the server, or local\n"
	       "  mfsymlinks            store symlinks as Minshall+French files, like cifs.ko\n"
	       "  nouser_xattr          no user.* extended attributes (user_xattr: on, default)\n"
	       "  nobrl                 keep byte-range locks local, do not send them to the\n"
	       "                        server (default: brl, they are sent)\n"
	       "  mapposix              store the characters SMB forbids in names (: \\ * ? \" < > |,\n"
	       "                        control characters, a trailing space or period) as\n"
	       "                        the Services for Mac private-use characters U+F0xx\n"
	       "  mapchars              the same for : * ? < > | only, Services for Unix style;\n"
	       "                        the last of the two wins (nomapposix, nomapchars: off);\n"
	       "                        without either, such names fail with EINVAL\n"
	       "  ro, rw                read-only / read-write mount (default rw)\n"
	       "\n"
	       "Caching:\n"
	       "  cache=strict|loose|none  strict (default): attributes for actimeo, file data\n"
	       "                        while the server grants a lease; loose: file data\n"
	       "                        kept from one open to the next even without a lease\n"
	       "                        (until attributes show a change); none: no caching,\n"
	       "                        direct I/O\n"
	       "  actimeo=S             attribute cache time in seconds (default 1)\n"
	       "  acregmax=S, acdirmax=S  the same for files / for directories, names and\n"
	       "                        listings; they win over actimeo\n"
	       "  closetimeo=S          keep a closed read-only file's handle open S seconds\n"
	       "                        (default 5) while its lease caches handles, for the\n"
	       "                        next open; 0: off\n"
	       "  nonotify              do not watch listed directories for other clients'\n"
	       "                        changes (notify, the default: seen within a second)\n"
	       "  dirprefetch           fetch listings of subdirectories ahead of need: find and\n"
	       "                        du descend faster (nodirprefetch, the default)\n"
	       "\n"
	       "Accepted for mount.cifs compatibility, no effect (yet):\n"
	       "  forceuid, forcegid    ownership is always forced\n"
	       "  nounix, iocharset=utf8  Unix extensions are never used; names are UTF-8\n"
	       "\n"
	       "fstab and automount (ignored): _netdev, nofail, auto, noauto, user, users,\n"
	       "  owner, group, defaults, relatime, nonempty, comment=..., x-*\n"
	       "\n"
	       "FUSE: allow_other, default_permissions, auto_unmount, fsname=, subtype=,\n"
	       "  max_read=, nosuid, nodev, noexec, ... are passed to FUSE (mount.fuse3(8)).\n"
	       "  fsname defaults to the share as given, subtype to smbfuse (type fuse.smbfuse).\n"
	       "\n"
	       "Signals: SIGHUP re-reads the credentials file for the next reconnect.\n",
	       prog, prog);
}
