/*
 * main.c - smbfuse: parse options, log on to the share, mount, serve.
 *
 * Start-up order matters for clear errors and for threads:
 *   1. parse and validate options (bad input: one line, exit 1);
 *   2. check the mountpoint and create the FUSE session (unknown options fail here);
 *   3. unless -f, fork: the parent waits on a pipe for the child's verdict and
 *      exits with it, so errors still reach the terminal and the exit status is
 *      honest, while no thread exists before the fork;
 *   4. the child connects (negotiate, session, tree), mounts, reports success,
 *      detaches and serves until unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "client/session.h"
#include "config.h"
#include "fs/fs.h"
#include "log.h"
#include "opts.h"
#include "wire/smb2.h"

#if HAVE_KRB5
#include <krb5/krb5.h>
#endif

static int report_fd = -1;

static void report(const char *msg)
{
	if (report_fd >= 0) {
		size_t n = strlen(msg);
		ssize_t w = write(report_fd, msg, n);
		(void)w;
		close(report_fd);
		report_fd = -1;
	} else if (*msg) {
		fprintf(stderr, "%s", msg);
	}
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	int n = snprintf(line, sizeof(line), "smbfuse: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	report(line);
}

static int check_mountpoint(const char *mp)
{
	struct stat st;
	if (stat(mp, &st) != 0) {
		fprintf(stderr, "smbfuse: mountpoint '%s': %s\n", mp, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "smbfuse: mountpoint '%s' is not a directory\n", mp);
		return -1;
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, "smbfuse: FUSE is not available (/dev/fuse: %s); install fuse3 "
				"and load the fuse module\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Ask for the password on the terminal, without echo. */
static char *prompt_password(const char *user, const char *host)
{
	struct termios old, noecho;
	char buf[512];
	FILE *tty = fopen("/dev/tty", "r+e");
	char *pw = NULL;

	if (!tty)
		return NULL;
	fprintf(tty, "Password for %s@%s: ", user, host);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	if (fgets(buf, sizeof(buf), tty)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		pw = strdup(buf);
	}
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	OPENSSL_cleanse(buf, sizeof(buf));
	return pw;
}

static void print_version(void)
{
	printf("smbfuse %s\n", SMBF_VERSION);
	printf("libfuse %s (built with %d.%d)\n", fuse_pkgversion(), FUSE_MAJOR_VERSION,
	       FUSE_MINOR_VERSION);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
#if HAVE_KRB5
	printf("MIT krb5 GSSAPI: enabled\n");
#else
	printf("MIT krb5 GSSAPI: disabled at build time\n");
#endif
}

/* Parent side of the start-up pipe: wait for the child's verdict. */
static int wait_for_child(pid_t pid, int rfd)
{
	char buf[1300];
	size_t got = 0;
	ssize_t n;
	int status;

	while ((n = read(rfd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(rfd);
	if (got == 1 && buf[0] == '0')
		return 0; /* mounted; the child serves on */
	if (got)
		fputs(buf, stderr);
	else
		fprintf(stderr, "smbfuse: the mount process exited unexpectedly\n");
	waitpid(pid, &status, 0);
	return 1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct smbf_config cfg;
	struct smbc_opts so;
	struct smbfs_params fp;
	struct smb_client *client = NULL;
	struct smbfs *fs = NULL;
	struct fuse_session *se = NULL;
	char err[1024];
	int rc, ret = 1, mounted = 0;

	if (opts_parse(argc, argv, &cfg, &args)) {
		fuse_opt_free_args(&args);
		opts_free(&cfg);
		return 1;
	}
	if (cfg.show_help) {
		opts_usage(argv[0]);
		ret = 0;
		goto out_free;
	}
	if (cfg.show_version) {
		print_version();
		ret = 0;
		goto out_free;
	}
	log_init(cfg.debug ? SMBF_LOG_DBG : SMBF_LOG_WARN, LOG_SINK_STDERR, "smbfuse");

	memset(&so, 0, sizeof(so));
	so.host = cfg.host;
	so.addr = cfg.ip;
	so.port = cfg.port;
	so.share = cfg.share;
	so.username = cfg.guest ? NULL : cfg.username;
	so.domain = cfg.domain;
	so.guest = cfg.guest;
	so.require_sign = cfg.sign;
	so.require_seal = cfg.seal;
	so.max_credits = cfg.max_credits;
	so.connect_timeout_ms = 15000;
	so.request_timeout_ms = 30000;
	so.echo_interval_ms = (int)cfg.echo_interval * 1000;
	so.soft = cfg.soft;
	/* soft: give up on an unreachable server after one keepalive interval */
	so.soft_timeout_ms = so.echo_interval_ms > 0 ? so.echo_interval_ms : 30000;
	if (cfg.vers && smbc_parse_vers(cfg.vers, &so.min_dialect, &so.max_dialect)) {
		fprintf(stderr, "smbfuse: bad value in option 'vers=%s': expected 2.0, 2.1, 3.0, "
				"3.02, 3.1.1, 3 or default\n", cfg.vers);
		goto out_free;
	}
	if (cfg.sec) {
		if (!strcmp(cfg.sec, "ntlmssp") || !strcmp(cfg.sec, "ntlmv2")) {
			so.sec = SMBC_SEC_NTLMSSP;
		} else if (!strcmp(cfg.sec, "krb5")) {
			so.sec = SMBC_SEC_KRB5;
		} else if (!strcmp(cfg.sec, "krb5i")) {
			so.sec = SMBC_SEC_KRB5I;
			so.require_sign = 1;
		} else if (!strcmp(cfg.sec, "ntlmsspi") || !strcmp(cfg.sec, "ntlmv2i")) {
			so.sec = SMBC_SEC_NTLMSSPI;
			so.require_sign = 1;
		} else if (!strcmp(cfg.sec, "none")) {
			so.guest = 1;
			so.username = NULL;
		} else {
			fprintf(stderr, "smbfuse: unsupported value in option 'sec=%s': this build "
					"supports ntlmssp, ntlmsspi, krb5, krb5i and none\n", cfg.sec);
			goto out_free;
		}
	}
	if (check_mountpoint(cfg.mountpoint))
		goto out_free;
	if (so.username && !cfg.password && isatty(STDIN_FILENO))
		cfg.password = prompt_password(so.username, cfg.host);
	so.password = cfg.password;

	if (cfg.foreground && cfg.debug)
		fuse_opt_add_arg(&args, "-odebug");
	{
		char fsname[600];
		snprintf(fsname, sizeof(fsname), "-ofsname=//%s/%s", cfg.host, cfg.share);
		fuse_opt_add_arg(&args, fsname);
		fuse_opt_add_arg(&args, "-osubtype=smbfuse");
	}

	memset(&fp, 0, sizeof(fp));
	fp.pol.uid = cfg.uid;
	fp.pol.gid = cfg.gid;
	fp.pol.file_mode = cfg.file_mode;
	fp.pol.dir_mode = cfg.dir_mode;
	fp.pol.server_ino = 1;
	fp.attr_timeout = cfg.cache == CACHE_NONE ? 0 : cfg.actimeo;
	fp.subdir = cfg.subdir;
	fp.readonly = cfg.readonly;
	fp.rsize = cfg.rsize;
	fp.wsize = cfg.wsize;
	fp.direct_io = cfg.cache == CACHE_NONE;
	fp.rasize = cfg.rasize;

	if (!cfg.foreground) {
		int pfd[2];
		pid_t pid;
		if (pipe2(pfd, O_CLOEXEC) != 0) {
			fprintf(stderr, "smbfuse: pipe: %s\n", strerror(errno));
			goto out_free;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "smbfuse: fork: %s\n", strerror(errno));
			goto out_free;
		}
		if (pid > 0) {
			close(pfd[1]);
			ret = wait_for_child(pid, pfd[0]);
			goto out_free;
		}
		close(pfd[0]);
		report_fd = pfd[1];
		setsid();
	}

	rc = smbc_connect(&so, &client, err, sizeof(err));
	if (cfg.password) /* the session key is derived: the password is no longer needed */
		OPENSSL_cleanse(cfg.password, strlen(cfg.password));
	if (rc) {
		fail("%s", err[0] ? err : strerror(-rc));
		goto out_free;
	}
	fs = smbfs_new(client, &fp);
	if (!fs) {
		fail("out of memory");
		goto out_free;
	}
	se = fuse_session_new(&args, &smbfs_ll_ops, sizeof(smbfs_ll_ops), fs);
	if (!se) {
		fail("cannot start FUSE (bad FUSE option?)");
		goto out_free;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		fail("cannot install signal handlers");
		goto out_free;
	}
	if (fuse_session_mount(se, cfg.mountpoint) != 0) {
		fail("cannot mount on '%s' (see the FUSE message above; is it already mounted?)",
		     cfg.mountpoint);
		goto out_free;
	}
	mounted = 1;
	if (cfg.subdir) {
		/* the subdirectory must exist: check it now so the error is clear */
		struct smb_stat st;
		rc = smbc_stat(client, cfg.subdir, &st);
		if (rc || !(st.attrs & FILE_ATTRIBUTE_DIRECTORY)) {
			fail("path '%s' not found in share '%s' (or not a directory)", cfg.subdir,
			     cfg.share);
			goto out_free;
		}
	}
	if (!cfg.foreground) {
		int fd = open("/dev/null", O_RDWR);
		log_init(cfg.debug ? SMBF_LOG_DBG : SMBF_LOG_WARN, LOG_SINK_SYSLOG, "smbfuse");
		report("0");
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > 2)
				close(fd);
		}
		if (chdir("/") != 0)
			LOG_WARN("chdir /: %s", strerror(errno));
	}
	LOG_INFO("mounted //%s/%s on %s", cfg.host, cfg.share, cfg.mountpoint);
	if (cfg.single_thread) {
		rc = fuse_session_loop(se);
	} else {
#if FUSE_USE_VERSION >= 312
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_max_threads(lc, 64);
		fuse_loop_cfg_set_idle_threads(lc, 16);
		rc = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
#else
		struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 16};
		rc = fuse_session_loop_mt(se, &lc);
#endif
	}
	ret = rc == 0 ? 0 : 1;
out_free:
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	smbfs_free(fs);
	smbc_disconnect(client);
	fuse_opt_free_args(&args);
	opts_free(&cfg);
	if (report_fd >= 0)
		report("smbfuse: start-up failed\n");
	return ret;
}
