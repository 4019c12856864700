/*
 * opts.h - command line and mount options (mount.cifs names where they mean
 * the same), credentials, and the resulting configuration.
 */
#ifndef SMBF_OPTS_H
#define SMBF_OPTS_H

#include <stdint.h>
#include <sys/types.h>

struct fuse_args;

enum cache_mode {
	CACHE_STRICT = 0,
	CACHE_LOOSE,
	CACHE_NONE,
};

struct smbf_config {
	/* target */
	char *unc;        /* as given */
	char *host;       /* without brackets */
	char *port;       /* service string; NULL = 445 */
	char *share;
	char *subdir;     /* path inside the share, '/' separated, may be NULL */
	char *mountpoint;
	/* identity (password wiped on free) */
	char *username;
	char *password;
	char *domain;
	char *credentials;
	int guest;
	/* protocol */
	char *vers;
	char *sec;
	char *ip;         /* connect to this address; the UNC host names the server (SPN) */
	int sign;
	int seal;
	unsigned max_credits;
	unsigned rsize;
	unsigned wsize;
	unsigned rasize;
	unsigned echo_interval;
	int soft;
	/* presentation */
	uid_t uid;
	gid_t gid;
	int uid_set;
	int gid_set;
	unsigned file_mode;
	unsigned dir_mode;
	double actimeo;
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
	/* parsed from options */
	unsigned port_num;
};

/*
 * Parse argv into cfg and the arguments to hand to FUSE (args). Prints one
 * clear line to stderr and returns -EINVAL on bad input. Scrubs a password
 * given on the command line from argv so `ps` does not show it.
 */
int opts_parse(int argc, char *argv[], struct smbf_config *cfg, struct fuse_args *args);

/* Split "//host[:port]/share[/sub/dir]" (or "\\\\host\\share") into cfg. */
int opts_parse_unc(const char *unc, struct smbf_config *cfg);

/* Read a mount.cifs credentials file (username=, password=, domain=). */
int opts_read_credentials(const char *path, struct smbf_config *cfg);

/* Free all strings, wiping the password. */
void opts_free(struct smbf_config *cfg);

void opts_usage(const char *prog);

#endif
