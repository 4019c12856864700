/*
 * opts.h - command line and mount options (mount.cifs names where they mean
 * the same), credentials, and the resulting configuration.
 *
 * Everything here runs before any network activity: a bad option, share
 * name or credentials file is reported as one line naming the culprit and
 * opts_parse() fails, so main() exits 1 with nothing connected or mounted.
 * Options smbfuse does not know itself are left in the fuse_args for libfuse,
 * which main() validates with a dry-run fuse_session_new() before connecting.
 */
#ifndef SMBF_OPTS_H
#define SMBF_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fuse_args;

enum cache_mode {
	CACHE_STRICT = 0,
	CACHE_LOOSE,
	CACHE_NONE,
};

/* sec= */
enum smbf_sec {
	SEC_NTLMSSP = 0, /* default: NTLMv2 in SPNEGO */
	SEC_NTLMSSPI,    /* NTLMv2 and require signing */
	SEC_KRB5,        /* Kerberos (GSSAPI), the user's credential cache */
	SEC_KRB5I,       /* Kerberos and require signing */
	SEC_NONE,        /* anonymous/guest */
};

/* Where the password came from (SIGHUP re-reads only a credentials file). */
enum pw_source {
	PW_NONE = 0,
	PW_OPTION,     /* password=, username=user%pass or the smb:// URL */
	PW_CREDFILE,   /* credentials= */
	PW_ENV,        /* PASSWD, PASSWD_FD, PASSWD_FILE, USER=user%pass */
	PW_PROMPT,     /* asked on the terminal (main.c) */
};

/* loglevel= (values match enum log_level in log.h) */
enum smbf_loglevel {
	LOGLEVEL_ERR = 0,
	LOGLEVEL_WARN,
	LOGLEVEL_INFO,
	LOGLEVEL_DEBUG,
	LOGLEVEL_TRACE,
};

struct smbf_config {
	/* target */
	char *unc;        /* as given */
	char *source;     /* shown as the mount's source (fsname): unc without a password */
	char *host;       /* without brackets */
	char *port;       /* service string; NULL = 445 */
	char *share;
	char *subdir;     /* path inside the share, '/' separated, may be NULL */
	char *mountpoint;
	char *addr;       /* ip=/addr=: connect here instead of resolving host */
	/* identity (password wiped on free) */
	char *username;
	char *password;
	char *domain;
	char *credentials; /* absolute path */
	enum pw_source pw_source;
	int guest;
	/* protocol */
	char *vers;
	char *sec_str;
	enum smbf_sec sec;
	int sign;
	int seal;
	unsigned max_credits;
	unsigned rsize;
	unsigned wsize;
	unsigned rasize;
	unsigned echo_interval;  /* seconds */
	int soft;
	unsigned conn_timeout;   /* seconds: TCP connect */
	unsigned req_timeout;    /* seconds: deadline of one request */
	unsigned max_channels;   /* connections bound to the session (SMB 3.x multichannel) */
	unsigned handletimeout;  /* ms; durable handle v2 Timeout, 0 = server default */
	/* presentation */
	uid_t uid;
	gid_t gid;
	int uid_set;
	int gid_set;
	int forceuid;            /* accepted: ownership is always forced (no Unix extensions) */
	int forcegid;
	unsigned file_mode;
	unsigned dir_mode;
	int perm;                /* 1: "perm", the kernel checks file_mode/dir_mode (FUSE
				    default_permissions); 0: noperm (default), the server decides */
	int serverino;           /* use the server's inode numbers (default 1) */
	int mfsymlinks;          /* symlinks as Minshall+French XSym files */
	int nobrl;               /* keep byte-range locks local (not sent to the server) */
	int lease;               /* ask for leases and durable handles (off by default) */
	int nouser_xattr;        /* no user.* xattrs (cifs.ko nouser_xattr) */
	int namemap;             /* enum namemap: 0 none, 1 mapposix (SFM), 2 mapchars (SFU);
				    the last of the two options given wins, as in mount.cifs */
	int nonotify;            /* no CHANGE_NOTIFY watches on directories */
	int nodirprefetch;       /* no listings of subdirectories fetched ahead (fs/prefetch.c) */
	double actimeo;          /* seconds */
	int actimeo_set;
	double acregmax;         /* seconds; < 0 = not given */
	double acdirmax;
	unsigned closetimeo;     /* seconds a handle-leased handle stays open after close */
	enum cache_mode cache;
	char *cache_str;
	int readonly;
	/* process */
	int foreground;
	int debug;
	int single_thread;
	int show_help;
	int show_version;
	int insecure_cred_ok;
	enum smbf_loglevel loglevel;
	char *loglevel_str;
	int fsname_given;        /* the user set fsname=/subtype= themselves */
	int subtype_given;
	/* parsed from options */
	unsigned port_num;
};

/*
 * Where opts_* report errors: one line without the "smbfuse: " prefix or a
 * newline. The default prints "smbfuse: <msg>\n" to stderr. NULL restores
 * the default. Not thread-safe; set it before threads that parse run.
 */
typedef void (*opts_error_fn)(const char *msg);
void opts_set_error_sink(opts_error_fn fn);

/*
 * Parse argv into cfg and the arguments to hand to FUSE (args). Reports one
 * clear line and returns -EINVAL on bad input (-ENOMEM on no memory). Scrubs
 * passwords given on the command line from argv, and PASSWD from the
 * environment, so `ps` and /proc/PID/{cmdline,environ} do not show them.
 * Reads the credentials file, PASSWD/PASSWD_FD/PASSWD_FILE and USER.
 */
int opts_parse(int argc, char *argv[], struct smbf_config *cfg, struct fuse_args *args);

/*
 * Split "//host[:port]/share[/sub/dir]", "\\\\host\\share" or
 * "smb://[domain;][user[:password]@]host[:port]/share[/path]" into cfg
 * (host, port_num, share, subdir, source; from a URL also username,
 * password, domain). IPv6 literals go in brackets: //[::1]:445/share.
 */
int opts_parse_unc(const char *unc, struct smbf_config *cfg);

/*
 * Read a mount.cifs credentials file (username=, password=, domain=; also
 * user=, pass=, dom=, workgroup=; "key = value" as smbclient writes it).
 * Refuses a file that group or others can access unless
 * cfg->insecure_cred_ok. Values replace those in cfg.
 */
int opts_read_credentials(const char *path, struct smbf_config *cfg);

/* Free all strings, wiping the password. */
void opts_free(struct smbf_config *cfg);

/* Wipe and free a secret string. NULL ok. */
void opts_free_secret(char *s);

void opts_usage(const char *prog);

#endif
