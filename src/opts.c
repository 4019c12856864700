/*
 * opts.c - option table (fuse_opt, offsetof style), UNC parsing, credentials.
 *
 * Every user mistake ends here with one line naming the problem and -EINVAL;
 * main() turns that into a non-zero exit before anything is mounted.
 */
#include "opts.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <fuse_opt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define OPT(t, p) {t, offsetof(struct smbf_config, p), 1}
#define OPTV(t, p, v) {t, offsetof(struct smbf_config, p), v}

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_DISCARD,
	KEY_KEEP,
	KEY_UID,
	KEY_GID,
	KEY_PORT,
};

static const struct fuse_opt opt_table[] = {
	OPT("username=%s", username),
	OPT("user=%s", username),
	OPT("password=%s", password),
	OPT("pass=%s", password),
	OPT("domain=%s", domain),
	OPT("dom=%s", domain),
	OPT("workgroup=%s", domain),
	OPT("credentials=%s", credentials),
	OPT("cred=%s", credentials),
	OPTV("guest", guest, 1),
	OPT("vers=%s", vers),
	OPT("sec=%s", sec),
	OPT("ip=%s", ip),
	OPT("addr=%s", ip),
	OPTV("sign", sign, 1),
	OPTV("seal", seal, 1),
	OPT("max_credits=%u", max_credits),
	OPT("rsize=%u", rsize),
	OPT("wsize=%u", wsize),
	OPT("rasize=%u", rasize),
	OPT("echo_interval=%u", echo_interval),
	OPTV("soft", soft, 1),
	OPTV("hard", soft, 0),
	OPT("file_mode=%o", file_mode),
	OPT("dir_mode=%o", dir_mode),
	OPT("actimeo=%lf", actimeo),
	OPT("cache=%s", cache_str),
	OPTV("insecure_cred_ok", insecure_cred_ok, 1),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("port=", KEY_PORT),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("ro", KEY_KEEP),
	FUSE_OPT_KEY("rw", KEY_KEEP),
	/* fstab/mount(8) options that mean nothing to the filesystem itself */
	FUSE_OPT_KEY("_netdev", KEY_DISCARD),
	FUSE_OPT_KEY("nofail", KEY_DISCARD),
	FUSE_OPT_KEY("auto", KEY_DISCARD),
	FUSE_OPT_KEY("noauto", KEY_DISCARD),
	FUSE_OPT_KEY("user", KEY_DISCARD),
	FUSE_OPT_KEY("nouser", KEY_DISCARD),
	FUSE_OPT_KEY("users", KEY_DISCARD),
	FUSE_OPT_KEY("defaults", KEY_DISCARD),
	FUSE_OPT_KEY("x-", KEY_DISCARD),
	FUSE_OPT_KEY("comment=", KEY_DISCARD),
	FUSE_OPT_END,
};

static int parse_uint(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!*s)
		return -EINVAL;
	*out = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct smbf_config *cfg = data;
	unsigned long v;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cfg->unc) {
			cfg->unc = strdup(arg);
			return 0;
		}
		if (!cfg->mountpoint) {
			cfg->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "smbfuse: unexpected argument '%s'\n", arg);
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
	case KEY_KEEP:
		if (strcmp(arg, "ro") == 0)
			cfg->readonly = 1;
		return 1;
	case KEY_UID:
		if (parse_uint(arg + 4, &v) || v > 0xFFFFFFFEul) {
			fprintf(stderr, "smbfuse: bad value in option '%s': expected a number\n", arg);
			return -1;
		}
		cfg->uid = (uid_t)v;
		cfg->uid_set = 1;
		return 0;
	case KEY_GID:
		if (parse_uint(arg + 4, &v) || v > 0xFFFFFFFEul) {
			fprintf(stderr, "smbfuse: bad value in option '%s': expected a number\n", arg);
			return -1;
		}
		cfg->gid = (gid_t)v;
		cfg->gid_set = 1;
		return 0;
	case KEY_PORT:
		if (parse_uint(arg + 5, &v) || v == 0 || v > 65535) {
			fprintf(stderr, "smbfuse: bad value in option '%s': expected a port 1-65535\n",
				arg);
			return -1;
		}
		cfg->port_num = (unsigned)v;
		return 0;
	default:
		return 1; /* FUSE options (allow_other, fsname=, ...) go to FUSE */
	}
}

static char *strndup_or_null(const char *s, size_t n)
{
	return n ? strndup(s, n) : NULL;
}

int opts_parse_unc(const char *unc, struct smbf_config *cfg)
{
	char sep;
	const char *p, *host_end, *hs, *share, *share_end;
	size_t hl;

	if (strncmp(unc, "smb://", 6) == 0) {
		/* smb://[domain;][user@]host[:port]/share[/path] */
		const char *at, *slash;
		p = unc + 6;
		slash = strchr(p, '/');
		at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
		if (at) {
			const char *semi = memchr(p, ';', (size_t)(at - p));
			if (semi) {
				free(cfg->domain);
				cfg->domain = strndup(p, (size_t)(semi - p));
				p = semi + 1;
			}
			free(cfg->username);
			cfg->username = strndup(p, (size_t)(at - p));
			p = at + 1;
		}
		sep = '/';
	} else if ((unc[0] == '/' && unc[1] == '/') || (unc[0] == '\\' && unc[1] == '\\')) {
		sep = unc[0];
		p = unc + 2;
	} else {
		fprintf(stderr,
			"smbfuse: '%s' is not a share: expected //server/share or smb://server/share\n",
			unc);
		return -EINVAL;
	}
	if (*p == '[') { /* IPv6 literal */
		host_end = strchr(p, ']');
		if (!host_end) {
			fprintf(stderr, "smbfuse: '%s': unterminated [ in IPv6 address\n", unc);
			return -EINVAL;
		}
		hs = p + 1;
		hl = (size_t)(host_end - hs);
		p = host_end + 1;
	} else {
		hs = p;
		while (*p && *p != sep && *p != ':')
			p++;
		hl = (size_t)(p - hs);
	}
	if (hl == 0) {
		fprintf(stderr, "smbfuse: '%s': no server name\n", unc);
		return -EINVAL;
	}
	free(cfg->host);
	cfg->host = strndup(hs, hl);
	if (*p == ':') {
		const char *ps = ++p;
		char buf[8];
		unsigned long v;
		while (*p && *p != sep)
			p++;
		if ((size_t)(p - ps) >= sizeof(buf) || p == ps) {
			fprintf(stderr, "smbfuse: '%s': bad port\n", unc);
			return -EINVAL;
		}
		memcpy(buf, ps, (size_t)(p - ps));
		buf[p - ps] = '\0';
		if (parse_uint(buf, &v) || v == 0 || v > 65535) {
			fprintf(stderr, "smbfuse: '%s': bad port\n", unc);
			return -EINVAL;
		}
		cfg->port_num = (unsigned)v;
	}
	if (*p != sep || !p[1]) {
		fprintf(stderr, "smbfuse: '%s': no share name (expected //server/share)\n", unc);
		return -EINVAL;
	}
	share = p + 1;
	share_end = share;
	while (*share_end && *share_end != sep)
		share_end++;
	free(cfg->share);
	cfg->share = strndup(share, (size_t)(share_end - share));
	if (*share_end) {
		/* subdirectory: normalise separators to '/', strip extra ones */
		const char *s = share_end + 1;
		size_t n = strlen(s);
		char *sub = malloc(n + 1), *o = sub;
		if (!sub)
			return -ENOMEM;
		for (; *s; s++) {
			char c = (*s == '\\') ? '/' : *s;
			if (c == '/' && (o == sub || o[-1] == '/'))
				continue;
			*o++ = c;
		}
		while (o > sub && o[-1] == '/')
			o--;
		*o = '\0';
		free(cfg->subdir);
		cfg->subdir = *sub ? sub : (free(sub), NULL);
	}
	(void)strndup_or_null;
	return 0;
}

static void set_str(char **dst, const char *src, size_t n, int secret)
{
	if (*dst) {
		if (secret)
			OPENSSL_cleanse(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = strndup(src, n);
}

int opts_read_credentials(const char *path, struct smbf_config *cfg)
{
	struct stat st;
	char line[1024];
	FILE *f = fopen(path, "re");
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "smbfuse: cannot open credentials file '%s': %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077) && !cfg->insecure_cred_ok) {
		fprintf(stderr,
			"smbfuse: credentials file '%s' is readable by others (mode %03o); "
			"chmod 600 it, or add -o insecure_cred_ok\n",
			path, st.st_mode & 0777);
		fclose(f);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *eq;
		size_t n;
		lineno++;
		n = strcspn(s, "\r\n");
		s[n] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "smbfuse: credentials file '%s' line %d: expected key=value\n",
				path, lineno);
			OPENSSL_cleanse(line, sizeof(line));
			fclose(f);
			return -EINVAL;
		}
		*eq++ = '\0';
		if (!strcmp(s, "username") || !strcmp(s, "user")) {
			/* mount.cifs accepts user=DOMAIN/name and DOMAIN\name */
			char *d = strpbrk(eq, "/\\");
			if (d && !cfg->domain) {
				set_str(&cfg->domain, eq, (size_t)(d - eq), 0);
				eq = d + 1;
			}
			set_str(&cfg->username, eq, strlen(eq), 0);
		} else if (!strcmp(s, "password") || !strcmp(s, "pass")) {
			set_str(&cfg->password, eq, strlen(eq), 1);
		} else if (!strcmp(s, "domain") || !strcmp(s, "dom") || !strcmp(s, "workgroup")) {
			set_str(&cfg->domain, eq, strlen(eq), 0);
		} else {
			fprintf(stderr, "smbfuse: credentials file '%s' line %d: unknown key '%s'\n",
				path, lineno, s);
			OPENSSL_cleanse(line, sizeof(line));
			fclose(f);
			return -EINVAL;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return 0;
}

/* Overwrite password=... values inside argv so /proc/PID/cmdline does not show them. */
static void scrub_argv(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		char *p = argv[i];
		while ((p = strstr(p, "pass")) != NULL) {
			char *v = NULL;
			if (!strncmp(p, "password=", 9))
				v = p + 9;
			else if (!strncmp(p, "pass=", 5))
				v = p + 5;
			if (v && (p == argv[i] || p[-1] == ',')) {
				char *end = strchr(v, ',');
				size_t n = end ? (size_t)(end - v) : strlen(v);
				memset(v, '*', n);
			}
			p += 4;
		}
	}
}

int opts_parse(int argc, char *argv[], struct smbf_config *cfg, struct fuse_args *args)
{
	const char *env;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file_mode = 0755;
	cfg->dir_mode = 0755;
	cfg->actimeo = 1.0;
	cfg->max_credits = 512;
	cfg->rsize = 1024 * 1024;
	cfg->wsize = 1024 * 1024;
	cfg->rasize = 8 * 1024 * 1024;
	cfg->echo_interval = 60;

	if (fuse_opt_parse(args, cfg, opt_table, opt_proc) == -1)
		return -EINVAL;
	scrub_argv(argc, argv);
	if (cfg->show_help || cfg->show_version)
		return 0;
	if (!cfg->unc) {
		fprintf(stderr, "smbfuse: missing share: usage: smbfuse //server/share MOUNTPOINT "
				"[-o options]\n");
		return -EINVAL;
	}
	if (!cfg->mountpoint) {
		fprintf(stderr, "smbfuse: missing mountpoint: usage: smbfuse //server/share "
				"MOUNTPOINT [-o options]\n");
		return -EINVAL;
	}
	{
		/* the option port= wins over UNC :port only when the UNC has none */
		unsigned opt_port = cfg->port_num;
		cfg->port_num = 0;
		if (opts_parse_unc(cfg->unc, cfg))
			return -EINVAL;
		if (!cfg->port_num)
			cfg->port_num = opt_port;
	}
	if (cfg->port_num) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%u", cfg->port_num);
		cfg->port = strdup(buf);
	}
	if (cfg->credentials && opts_read_credentials(cfg->credentials, cfg))
		return -EINVAL;
	/* mount.cifs environment: USER, PASSWD, PASSWD_FILE */
	if (!cfg->username && (env = getenv("USER")) && !cfg->guest)
		cfg->username = strdup(env);
	if (!cfg->password && (env = getenv("PASSWD")))
		cfg->password = strdup(env);
	if (!cfg->password && (env = getenv("PASSWD_FILE"))) {
		FILE *f = fopen(env, "re");
		char buf[512];
		if (!f) {
			fprintf(stderr, "smbfuse: cannot open PASSWD_FILE '%s': %s\n", env,
				strerror(errno));
			return -EINVAL;
		}
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\r\n")] = '\0';
			cfg->password = strdup(buf);
		}
		OPENSSL_cleanse(buf, sizeof(buf));
		fclose(f);
	}
	if (cfg->cache_str) {
		if (!strcmp(cfg->cache_str, "strict"))
			cfg->cache = CACHE_STRICT;
		else if (!strcmp(cfg->cache_str, "loose"))
			cfg->cache = CACHE_LOOSE;
		else if (!strcmp(cfg->cache_str, "none"))
			cfg->cache = CACHE_NONE;
		else {
			fprintf(stderr, "smbfuse: bad value in option 'cache=%s': expected strict, "
					"loose or none\n", cfg->cache_str);
			return -EINVAL;
		}
	}
	if (cfg->max_credits < 16 || cfg->max_credits > 8192) {
		fprintf(stderr, "smbfuse: bad value in option 'max_credits=%u': expected 16-8192\n",
			cfg->max_credits);
		return -EINVAL;
	}
	if (cfg->rsize < 4096 || cfg->rsize > 8 * 1024 * 1024 || cfg->wsize < 4096 ||
	    cfg->wsize > 8 * 1024 * 1024) {
		fprintf(stderr, "smbfuse: bad value in option rsize/wsize: expected 4096-8388608\n");
		return -EINVAL;
	}
	if (cfg->echo_interval < 1 || cfg->echo_interval > 600) {
		fprintf(stderr, "smbfuse: bad value in option 'echo_interval=%u': expected 1-600 "
				"seconds\n", cfg->echo_interval);
		return -EINVAL;
	}
	if (cfg->rasize > 256u * 1024 * 1024) {
		fprintf(stderr, "smbfuse: bad value in option 'rasize=%u': expected 0-268435456\n",
			cfg->rasize);
		return -EINVAL;
	}
	if (cfg->actimeo < 0 || cfg->actimeo > 86400) {
		fprintf(stderr, "smbfuse: bad value in option 'actimeo': expected 0-86400\n");
		return -EINVAL;
	}
	if (cfg->file_mode > 07777 || cfg->dir_mode > 07777) {
		fprintf(stderr, "smbfuse: bad value in option file_mode/dir_mode\n");
		return -EINVAL;
	}
	if (!cfg->uid_set)
		cfg->uid = getuid();
	if (!cfg->gid_set)
		cfg->gid = getgid();
	return 0;
}

void opts_free(struct smbf_config *cfg)
{
	if (cfg->password) {
		OPENSSL_cleanse(cfg->password, strlen(cfg->password));
		free(cfg->password);
	}
	free(cfg->unc);
	free(cfg->host);
	free(cfg->port);
	free(cfg->share);
	free(cfg->subdir);
	free(cfg->mountpoint);
	free(cfg->username);
	free(cfg->domain);
	free(cfg->credentials);
	free(cfg->vers);
	free(cfg->sec);
	free(cfg->ip);
	free(cfg->cache_str);
	memset(cfg, 0, sizeof(*cfg));
}

void opts_usage(const char *prog)
{
	printf("usage: %s //server[:port]/share[/path] MOUNTPOINT [-o option[,option...]]\n"
	       "\n"
	       "General:\n"
	       "  -h, --help            show this help\n"
	       "  -V, --version         show versions\n"
	       "  -f                    stay in the foreground, log to stderr\n"
	       "  -d, -o debug          debug logging (implies -f)\n"
	       "  -s                    single-threaded\n"
	       "\n"
	       "Identity:\n"
	       "  username=NAME         user to log on as (also user=)\n"
	       "  password=PASS         password (prefer credentials=; also pass=)\n"
	       "  domain=NAME           domain or workgroup (also dom=)\n"
	       "  credentials=FILE      mount.cifs-style file: username=, password=, domain=\n"
	       "  guest                 log on as guest\n"
	       "\n"
	       "Protocol:\n"
	       "  port=N                TCP port (default 445)\n"
	       "  vers=V                dialect: 2.0, 2.1, 3.0, 3.02, 3.1.1, 3, default\n"
	       "  sec=ntlmssp|ntlmsspi  authentication\n"
	       "  sign                  require signing\n"
	       "  seal                  require encryption\n"
	       "  rsize=N, wsize=N      largest READ/WRITE (default 1 MiB)\n"
	       "  echo_interval=S       keepalive interval; a silent server is dropped after 2x\n"
	       "  hard (default), soft  wait for a lost server / fail after echo_interval\n"
	       "  max_credits=N         credit window to ask for (default 512)\n"
	       "  rasize=N              readahead window per file (default 8 MiB; 0 = off)\n"
	       "\n"
	       "Presentation:\n"
	       "  uid=N, gid=N          owner of all files (default: mounting user)\n"
	       "  file_mode=0NNN        mode of files (default 0755)\n"
	       "  dir_mode=0NNN         mode of directories (default 0755)\n"
	       "  actimeo=SECONDS       attribute cache time (default 1)\n"
	       "  cache=strict|loose|none\n"
	       "  ro, rw                read-only / read-write mount\n"
	       "  allow_other, default_permissions, ...  FUSE mount options\n",
	       prog);
}
