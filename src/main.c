/*
 * main.c - smbfuse: parse options, log on to the share, mount, serve.
 *
 * Start-up order matters for clear errors, for threads and for honest exit
 * codes:
 *   1. parse and validate our options, the share name and the credentials
 *      (opts.c); then let libfuse validate the options it will get, with a
 *      dry-run fuse_session_new(), so an unknown option fails here, before
 *      any network activity (exit 1);
 *   2. check the mountpoint and /dev/fuse, ask for a missing password on
 *      the terminal;
 *   3. unless -f, fork: the parent waits on a pipe for the child's verdict
 *      and exits with the child's status, so errors still reach the terminal;
 *      no thread exists before the fork;
 *   4. the child connects (negotiate, session, tree), checks the
 *      subdirectory, mounts, reports success, detaches (stdio to /dev/null,
 *      logging to syslog) and serves until unmounted.
 * Every failure is one line "smbfuse: <cause>" on stderr. Exit status
 * follows mount(8)/mount.cifs: 1 bad invocation (options, share name,
 * credentials, mountpoint), 2 system error (no FUSE, no memory, fork), 32
 * the mount failed (server, network, logon, share, kernel mount), 8
 * interrupted (mount(8)'s "user interrupt").
 *
 * Stopping: SIGTERM and SIGINT are the documented way to stop a mount
 * (systemd stops a service with SIGTERM), so a stop once the mount served
 * is a clean end: what files still open had buffered is sent first, then
 * the mount goes, and the exit status is 0, as after an unmount. libfuse's
 * loops report such a stop as non-zero and cifs has no daemon to stop; we
 * follow umount: a requested, clean unmount is success. It is not success
 *  - when the stop came before the mount was ready (the kernel's INIT not
 *    answered; the signal may come before the loop starts, even before the
 *    mount(2)): nothing was served, nothing stays mounted, exit 8; in the
 *    background the parent reports it instead of success when it can, and
 *    the parent itself, interrupted before the verdict, stops the child and
 *    exits 8 (a Ctrl-C must not leave a mount appearing seconds later);
 *  - when the FUSE loop failed, or data written to files still open at the
 *    stop could not be sent to the server: exit 2, with a line in the log.
 * Stop signals blocked by whoever started us are unblocked once our
 * handlers are in place, so they work (a pending one acts then).
 *
 * SIGHUP is blocked in every thread and taken by a sigwait() thread, which
 * re-reads the credentials file and hands the password to the client for
 * its next reconnect (libfuse's own SIGHUP handler, which would unmount,
 * never runs).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "client/session.h"
#include "config.h"
#include "fs/fs.h"
#include "log.h"
#include "net/conn.h"
#include "opts.h"
#include "wire/smb2.h"

enum {
	EXIT_USAGE = 1,     /* bad invocation: options, share name, credentials, mountpoint */
	EXIT_SYSERR = 2,    /* no FUSE, out of memory, cannot fork; serving failed */
	EXIT_INTR = 8,      /* stopped by a signal before the mount was ready */
	EXIT_MOUNTFAIL = 32 /* the server, the network, the logon, the share or mount(2) */
};

/* Whoever started us may have blocked them; our handlers are set: let them in. */
static void unblock_stop_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * HOOK (client layer): hand a new password to the client for its next
 * reconnect. The client keeps its own copy (c->opts.password); SIGHUP
 * re-reads the credentials file and calls this. Declared weak so this file
 * links before src/client provides it; until then SIGHUP validates the file
 * and logs that the password cannot be applied. Expected contract: copies
 * the password under c->lock, wipes the old copy, returns 0 or -ENOMEM;
 * callable from any thread while the mount is served.
 */


static int report_fd = -1;

/* Child side of the start-up pipe: the first byte is the exit status. */
static void report_status(int status, const char *msg)
{
	if (report_fd >= 0) {
		char buf[1300];
		int n = snprintf(buf, sizeof(buf), "%c%s", (char)status, msg);
		ssize_t w = write(report_fd, buf, n > 0 ? (size_t)n : 0);
		(void)w;
		close(report_fd);
		report_fd = -1;
	} else if (*msg) {
		fputs(msg, stderr);
	}
}

static void fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int status, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	int n = snprintf(line, sizeof(line), "smbfuse: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	report_status(status, line);
}

/* ------------------------------------------------------------------ libfuse's messages */

static char fuse_capture[2048]; /* while capturing: libfuse's messages, concatenated */
static int fuse_capturing;

static void fuse_log_fn(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	enum log_level lvl;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (fuse_capturing) {
		n = strlen(fuse_capture);
		snprintf(fuse_capture + n, sizeof(fuse_capture) - n, "%s", msg);
		return;
	}
	n = strcspn(msg, "\n");
	msg[n] = '\0';
	if (!n)
		return;
	lvl = level <= FUSE_LOG_ERR	? SMBF_LOG_ERR
	      : level == FUSE_LOG_WARNING ? SMBF_LOG_WARN
	      : level <= FUSE_LOG_INFO    ? SMBF_LOG_INFO
					  : SMBF_LOG_DBG;
	if (log_enabled(lvl))
		log_msg(lvl, "libfuse", 0, "%s", msg);
}

static void capture_begin(void)
{
	fuse_capture[0] = '\0';
	fuse_capturing = 1;
}

/* Stop capturing; the text with newlines folded into "; ", trimmed. */
static const char *capture_end(void)
{
	char *s = fuse_capture, *o = fuse_capture;
	fuse_capturing = 0;
	for (; *s; s++) {
		if (*s == '\n') {
			if (o > fuse_capture && s[1])
				*o++ = ';', *o++ = ' ';
			continue;
		}
		*o++ = *s;
	}
	while (o > fuse_capture && (o[-1] == ' ' || o[-1] == ';'))
		o--;
	*o = '\0';
	return fuse_capture;
}

/* opts.c errors while serving (SIGHUP) go to the log. */
static void opts_error_to_log(const char *msg)
{
	LOG_ERR("%s", msg);
}

/*
 * Let libfuse parse a copy of its arguments without mounting, so an option
 * neither we nor libfuse know fails before we connect. Returns 0 or
 * EXIT_USAGE after one line naming the option.
 */
static int check_fuse_options(const struct fuse_args *args)
{
	static const struct fuse_lowlevel_ops no_ops;
	struct fuse_args dry = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	const char *msg, *s, *e;
	int i;

	for (i = 0; i < args->argc; i++) {
		if (fuse_opt_add_arg(&dry, args->argv[i])) {
			fuse_opt_free_args(&dry);
			fprintf(stderr, "smbfuse: out of memory\n");
			return EXIT_SYSERR;
		}
	}
	capture_begin();
	se = fuse_session_new(&dry, &no_ops, sizeof(no_ops), NULL);
	msg = capture_end();
	fuse_opt_free_args(&dry);
	if (se) {
		fuse_session_destroy(se);
		return 0;
	}
	/* libfuse: "fuse: unknown option(s): `-o foo,bar'" */
	if ((s = strstr(msg, "unknown option")) && (s = strchr(s, '`')) && (e = strrchr(s, '\''))) {
		s++;
		if (!strncmp(s, "-o ", 3))
			s += 3;
		fprintf(stderr, "smbfuse: unknown option%s '%.*s' (see smbfuse --help)\n",
			memchr(s, ',', (size_t)(e - s)) ? "s" : "", (int)(e - s), s);
	} else if ((s = strstr(msg, "invalid parameter in option `")) && (e = strrchr(s, '\''))) {
		s += strlen("invalid parameter in option `");
		fprintf(stderr, "smbfuse: bad value in option '%.*s'\n", (int)(e - s), s);
	} else {
		fprintf(stderr, "smbfuse: FUSE rejected the options: %s\n",
			*msg ? msg : "(no reason given)");
	}
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ local checks */

static int check_mountpoint(struct smbf_config *cfg)
{
	struct stat st;
	char *abs;

	if (stat(cfg->mountpoint, &st) != 0) {
		if (errno == ENOENT)
			fprintf(stderr, "smbfuse: mountpoint '%s' does not exist\n",
				cfg->mountpoint);
		else
			fprintf(stderr, "smbfuse: mountpoint '%s': %s\n", cfg->mountpoint,
				strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "smbfuse: mountpoint '%s' is not a directory\n", cfg->mountpoint);
		return EXIT_USAGE;
	}
	/* absolute: the daemon changes to / and unmounts by this path */
	abs = realpath(cfg->mountpoint, NULL);
	if (abs) {
		free(cfg->mountpoint);
		cfg->mountpoint = abs;
	}
	/*
	 * /dev/fuse must exist. Without access to it as ourselves, fusermount3
	 * (set-uid root) may still open it, so only its absence is final here.
	 */
	if (stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
		fprintf(stderr, "smbfuse: FUSE is not available (/dev/fuse: %s); install fuse3 "
				"and load the fuse kernel module (modprobe fuse)\n",
			errno == 0 || S_ISCHR(st.st_mode) ? "not a device" : strerror(errno));
		return EXIT_SYSERR;
	}
	return 0;
}

/* Ask for the password on the controlling terminal, without echo. */
static char *prompt_password(const char *user, const char *host)
{
	struct termios old, noecho;
	char buf[512];
	FILE *tty = fopen("/dev/tty", "r+e");
	char *pw = NULL;
	int restore = 0;

	if (!tty)
		return NULL;
	/* echo off before the prompt: what is typed after it must never show */
	if (tcgetattr(fileno(tty), &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &noecho) == 0;
	}
	fprintf(tty, "Password for %s@%s: ", user, host);
	fflush(tty);
	if (fgets(buf, sizeof(buf), tty)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		pw = strdup(buf);
	}
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	else
		fprintf(tty, "\n");
	fclose(tty);
	OPENSSL_cleanse(buf, sizeof(buf));
	return pw;
}

/* ------------------------------------------------------------------ -V */

struct brand_search {
	const char *lib;    /* substring of the shared object's path */
	const char *marker; /* text before the version in its read-only data */
	char found[80];
};

/* Scan the loaded library's file-backed segments for its brand string. */
static int find_brand(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct brand_search *b = arg;
	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, b->lib))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *seg, *hit;
		size_t ml = strlen(b->marker), n;
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R) || ph->p_filesz < ml)
			continue;
		seg = (const char *)(info->dlpi_addr + ph->p_vaddr);
		hit = memmem(seg, ph->p_filesz, b->marker, ml);
		if (!hit)
			continue;
		hit += ml;
		n = strnlen(hit, (size_t)(seg + ph->p_filesz - hit));
		if (n >= sizeof(b->found))
			n = sizeof(b->found) - 1;
		memcpy(b->found, hit, n);
		b->found[n] = '\0';
		return 1;
	}
	return 0;
}

static void print_version(void)
{
	printf("smbfuse %s\n", SMBF_VERSION);
	printf("libfuse %s (built with %d.%d)\n", fuse_pkgversion(),
	       FUSE_MAJOR_VERSION, FUSE_MINOR_VERSION);
	printf("%s (built with %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
#if HAVE_KRB5
	{
		/*
		 * MIT krb5 has no version call; libkrb5 carries a brand string
		 * "KRB5_BRAND: krb5-1.20.1-final 1.20.1 20221111". It is loaded
		 * only when the GSSAPI code is linked in.
		 */
		struct brand_search b = {"libkrb5.so", "KRB5_BRAND: ", ""};
		dl_iterate_phdr(find_brand, &b);
		char *ver = strchr(b.found, ' ');
		if (ver) { /* "krb5-1.20.1-final 1.20.1 20221111": the second word */
			*ver++ = '\0';
			ver[strcspn(ver, " ")] = '\0';
		}
		if (b.found[0])
			printf("MIT krb5 %s (%s, GSSAPI, as loaded)\n", ver && *ver ? ver : b.found,
			       b.found);
		else
			printf("MIT krb5 GSSAPI: built in; libkrb5 is not loaded, so its version "
			       "is unknown\n");
	}
#else
	printf("Kerberos (GSSAPI): not built in (sec=krb5 unavailable)\n");
#endif
}

/* ------------------------------------------------------------------ SIGHUP */

struct hup_ctx {
	pthread_t thread;
	int started;
	int stop; /* atomic */
	struct smbf_config *cfg;
	struct smb_client *client;
};

static void reload_credentials(struct hup_ctx *h)
{
	struct smbf_config f;
	const char *path = h->cfg->credentials;

	if (!path) {
		LOG_WARN("SIGHUP: nothing to re-read (mounted without credentials=)");
		return;
	}
	memset(&f, 0, sizeof(f));
	f.insecure_cred_ok = h->cfg->insecure_cred_ok;
	if (opts_read_credentials(path, &f)) {
		LOG_ERR("SIGHUP: keeping the old password");
		goto out;
	}
	if (!f.password) {
		LOG_ERR("SIGHUP: credentials file '%s' has no password= line; keeping the old "
			"password", path);
		goto out;
	}
	if (f.username && h->cfg->username && strcmp(f.username, h->cfg->username))
		LOG_WARN("SIGHUP: the user name in '%s' changed to '%s'; a new user needs a "
			 "remount, only the password is taken", path, f.username);
	if (smbc_set_password(h->client, f.password) == 0)
		LOG_INFO("SIGHUP: re-read credentials file '%s'; the new password is used from "
			 "the next reconnect", path);
	else
		LOG_ERR("SIGHUP: could not hand the new password to the client");
out:
	opts_free(&f);
}

static void *hup_thread(void *arg)
{
	struct hup_ctx *h = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
			break;
		reload_credentials(h);
	}
	return NULL;
}

static void hup_stop(struct hup_ctx *h)
{
	if (!h->started)
		return;
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
	pthread_kill(h->thread, SIGHUP);
	pthread_join(h->thread, NULL);
	h->started = 0;
}

/* ------------------------------------------------------------------ start-up */

/* The parent, waiting for the verdict, is told to stop: so is the child. */
static volatile sig_atomic_t parent_stop;
static volatile pid_t child_pid;

static void parent_on_stop(int sig)
{
	parent_stop = sig;
	if (child_pid > 0)
		kill(child_pid, SIGTERM);
}

/* Parent side of the start-up pipe: wait for the child's verdict. */
static int wait_for_child(pid_t pid, int rfd)
{
	struct sigaction sa;
	char buf[1300];
	size_t got = 0;
	ssize_t n;
	int status;
	sigset_t stop;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = parent_on_stop;
	sigemptyset(&sa.sa_mask);
	child_pid = pid;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	unblock_stop_signals();
	for (;;) {
		n = read(rfd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* from here on a stop signal waits (and dies with us): the verdict holds */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	buf[got] = '\0';
	close(rfd);
	if (parent_stop) {
		/* the child was told to stop too: it unmounts if it got that far */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (got > 1 && buf[0])
			fputs(buf + 1, stderr);
		else
			fprintf(stderr, "smbfuse: interrupted; nothing is mounted\n");
		return EXIT_INTR;
	}
	if (got >= 1 && buf[0] == 0)
		return 0; /* mounted; the child serves on */
	if (got > 1)
		fputs(buf + 1, stderr);
	else if (!got)
		fprintf(stderr, "smbfuse: the mount process exited unexpectedly\n");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got >= 1 && buf[0])
		return (unsigned char)buf[0];
	return EXIT_MOUNTFAIL;
}

/*
 * fuse_session_mount() with its complaints captured: libfuse's through the
 * log function, fusermount3's (a child writing to our fd 2) through a
 * memfd, so a failure is still one line.
 */
static int mount_captured(struct fuse_session *se, const char *mp, char *why, size_t whylen)
{
	int saved = dup(STDERR_FILENO);
	int mfd = memfd_create("smbfuse-mount", MFD_CLOEXEC);
	int rc;
	char out[1024];
	ssize_t n = 0;

	if (saved >= 0 && mfd >= 0)
		dup2(mfd, STDERR_FILENO);
	capture_begin();
	rc = fuse_session_mount(se, mp);
	snprintf(why, whylen, "%s", capture_end());
	if (saved >= 0 && mfd >= 0) {
		dup2(saved, STDERR_FILENO);
		if (lseek(mfd, 0, SEEK_SET) == 0)
			n = read(mfd, out, sizeof(out) - 1);
	}
	if (saved >= 0)
		close(saved);
	if (mfd >= 0)
		close(mfd);
	if (n > 0 && whylen > 0) {
		size_t l = strlen(why), m;
		out[n] = '\0';
		for (char *p = out; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : '\0';
		if (l && l + 3 < whylen) {
			memcpy(why + l, "; ", 2);
			l += 2;
		}
		m = strlen(out);
		if (m > whylen - 1 - l)
			m = whylen - 1 - l;
		memcpy(why + l, out, m);
		why[l + m] = '\0';
	}
	return rc;
}

/*
 * When the session ends (unmount, a stop signal), worker threads may still be
 * blocked in an operation waiting for an unreachable server (a hard mount
 * waits forever), and the loop (fs/loop.c) joins them before returning; then
 * what files the kernel never released have buffered is sent. This watcher
 * gives each step a grace period, then makes whatever still waits for the
 * server fail (smbc_abort), so the daemon can exit. A server that answers
 * is not cut off in the middle of the last WRITEs.
 */
#define STOP_GRACE_MS 1000  /* operations in progress when the session ended */
#define FLUSH_GRACE_MS 3000 /* buffered data of files never released */
enum { WATCH_SERVING, WATCH_FLUSHING, WATCH_DONE };
struct exit_watch {
	struct fuse_session *se;
	struct smb_client *client;
	int phase; /* atomic: WATCH_* */
};

static void *exit_watcher(void *arg)
{
	struct exit_watch *w = arg;
	int seen = WATCH_SERVING, left = -1; /* ms until the abort; -1: not ended */

	for (;;) {
		int ph = __atomic_load_n(&w->phase, __ATOMIC_ACQUIRE);
		if (ph == WATCH_DONE)
			break;
		if (ph != seen) {
			seen = ph;
			left = FLUSH_GRACE_MS;
		} else if (left < 0 && fuse_session_exited(w->se)) {
			left = STOP_GRACE_MS;
		}
		if (left == 0) {
			smbc_abort(w->client);
			break;
		}
		usleep(100 * 1000);
		if (left > 0)
			left = left > 100 ? left - 100 : 0;
	}
	return NULL;
}

static void run_loop(struct fuse_session *se, int single, int *rc)
{
	*rc = fs_loop_run(se, single, 64, 16);
}

/* Add "-o name=value" with value escaped for fuse_opt (commas, backslashes). */
static int add_opt_escaped(struct fuse_args *args, const char *name, const char *value)
{
	char *opts = NULL;
	char *kv;
	int rc;
	if (asprintf(&kv, "%s=%s", name, value) < 0)
		return -1;
	rc = fuse_opt_add_opt_escaped(&opts, kv);
	free(kv);
	if (!rc)
		rc = fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, opts);
	free(opts);
	return rc ? -1 : 0;
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
	struct hup_ctx hup;
	sigset_t hupset;
	char err[1024];
	int rc, ret = EXIT_USAGE, mounted = 0, handlers = 0;

	memset(&hup, 0, sizeof(hup));
	fuse_set_log_func(fuse_log_fn);
	if (opts_parse(argc, argv, &cfg, &args)) {
		fuse_opt_free_args(&args);
		opts_free(&cfg);
		return EXIT_USAGE;
	}
	if (cfg.show_help) {
		opts_usage("smbfuse");
		ret = 0;
		goto out_free;
	}
	if (cfg.show_version) {
		print_version();
		ret = 0;
		goto out_free;
	}
	/*
	 * Until the mount succeeds a failure is reported as one line of its own,
	 * so the layers' warnings about it stay quiet unless asked for.
	 */
	log_init(cfg.loglevel_str || cfg.debug ? (enum log_level)cfg.loglevel : SMBF_LOG_ERR,
		 LOG_SINK_STDERR, "smbfuse");

	memset(&so, 0, sizeof(so));
	so.host = cfg.host;
	so.addr = cfg.addr;
	so.port = cfg.port;
	so.share = cfg.share;
	so.username = cfg.guest ? NULL : cfg.username;
	so.domain = cfg.domain;
	so.guest = cfg.guest;
	so.require_sign = cfg.sign;
	so.require_seal = cfg.seal;
	so.max_credits = cfg.max_credits;
	so.connect_timeout_ms = (int)cfg.conn_timeout * 1000;
	so.request_timeout_ms = (int)cfg.req_timeout * 1000;
	so.echo_interval_ms = (int)cfg.echo_interval * 1000;
	so.max_channels = (int)cfg.max_channels;
	so.soft = cfg.soft;
	so.handle_timeout_ms = cfg.handletimeout;
	so.leases = cfg.lease;
	/* soft: give up on an unreachable server after one keepalive interval */
	so.soft_timeout_ms = so.echo_interval_ms > 0 ? so.echo_interval_ms : 30000;
	if (cfg.vers && smbc_parse_vers(cfg.vers, &so.min_dialect, &so.max_dialect)) {
		fprintf(stderr, "smbfuse: bad value in option 'vers=%s': expected 2.0, 2.1, 3.0, "
				"3.02, 3.1.1, 3 or default\n", cfg.vers);
		goto out_free;
	}
	switch (cfg.sec) {
	case SEC_NTLMSSP:
		so.sec = SMBC_SEC_NTLMSSP;
		break;
	case SEC_NTLMSSPI:
		so.sec = SMBC_SEC_NTLMSSPI;
		so.require_sign = 1;
		break;
	case SEC_KRB5:
	case SEC_KRB5I:
#if HAVE_KRB5
		so.sec = cfg.sec == SEC_KRB5 ? SMBC_SEC_KRB5 : SMBC_SEC_KRB5I;
		so.require_sign |= cfg.sec == SEC_KRB5I;
		break;
#else
		fprintf(stderr, "smbfuse: unsupported value in option 'sec=%s': this smbfuse was "
				"built without Kerberos (GSSAPI)\n", cfg.sec_str);
		goto out_free;
#endif
	case SEC_NONE:
		so.guest = 1;
		so.username = NULL;
		break;
	}

	/* what libfuse gets: our defaults for fsname/subtype, then validate it all */
	if (cfg.debug)
		fuse_opt_add_arg(&args, "-odebug");
	if (cfg.perm)
		fuse_opt_add_arg(&args, "-odefault_permissions");
	if ((!cfg.fsname_given && add_opt_escaped(&args, "fsname", cfg.source)) ||
	    (!cfg.subtype_given && add_opt_escaped(&args, "subtype", "smbfuse"))) {
		fprintf(stderr, "smbfuse: out of memory\n");
		ret = EXIT_SYSERR;
		goto out_free;
	}
	ret = check_fuse_options(&args);
	if (ret)
		goto out_free;
	ret = check_mountpoint(&cfg);
	if (ret)
		goto out_free;
	ret = EXIT_MOUNTFAIL;
	if (so.username && !so.guest && !cfg.password && so.sec != SMBC_SEC_KRB5 &&
	    so.sec != SMBC_SEC_KRB5I && isatty(STDIN_FILENO)) {
		cfg.password = prompt_password(so.username, cfg.host);
		if (cfg.password)
			cfg.pw_source = PW_PROMPT;
	}
	so.password = cfg.password;

	memset(&fp, 0, sizeof(fp));
	fp.pol.uid = cfg.uid;
	fp.pol.gid = cfg.gid;
	fp.pol.file_mode = cfg.file_mode;
	fp.pol.dir_mode = cfg.dir_mode;
	fp.pol.server_ino = cfg.serverino;
	/* directories (and names, listings, negative entries): acdirmax; files: acregmax */
	fp.attr_timeout = cfg.cache == CACHE_NONE ? 0 : cfg.acdirmax;
	fp.attr_timeout_reg = cfg.cache == CACHE_NONE ? 0 : cfg.acregmax;
	fp.loose = cfg.cache == CACHE_LOOSE;
	fp.subdir = cfg.subdir;
	fp.readonly = cfg.readonly;
	fp.rsize = cfg.rsize;
	fp.wsize = cfg.wsize;
	fp.direct_io = cfg.cache == CACHE_NONE;
	fp.rasize = cfg.rasize;
	fp.mfsymlinks = cfg.mfsymlinks;
	fp.namemap = cfg.namemap;
	fp.perm = cfg.perm;
	fp.nobrl = cfg.nobrl;
	fp.nouser_xattr = cfg.nouser_xattr;
	fp.closetimeo = cfg.closetimeo;
	fp.nonotify = cfg.nonotify;
	fp.nodirprefetch = cfg.nodirprefetch;

	/* SIGHUP belongs to the sigwait thread: block it before any thread exists */
	sigemptyset(&hupset);
	sigaddset(&hupset, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hupset, NULL);

	if (!cfg.foreground) {
		int pfd[2];
		pid_t pid;
		if (pipe2(pfd, O_CLOEXEC) != 0) {
			fprintf(stderr, "smbfuse: pipe: %s\n", strerror(errno));
			ret = EXIT_SYSERR;
			goto out_free;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "smbfuse: fork: %s\n", strerror(errno));
			ret = EXIT_SYSERR;
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
	if (cfg.password) /* the client keeps its own copy for reconnecting */
		OPENSSL_cleanse(cfg.password, strlen(cfg.password));
	if (rc) {
		if (rc == -EACCES && !cfg.password && !so.guest && so.sec != SMBC_SEC_KRB5 &&
		    so.sec != SMBC_SEC_KRB5I)
			fail(EXIT_MOUNTFAIL, "%s; no password was given (password=, credentials=, "
					     "PASSWD or a terminal to ask on)", err[0] ? err
										  : strerror(-rc));
		else
			fail(EXIT_MOUNTFAIL, "%s", err[0] ? err : strerror(-rc));
		goto out_free;
	}
	if (cfg.subdir) {
		/* the subdirectory must exist: check it before mounting */
		struct smb_stat st;
		rc = smbc_stat(client, cfg.subdir, &st);
		if (rc == -ENOENT || (!rc && !(st.attrs & FILE_ATTRIBUTE_DIRECTORY))) {
			fail(EXIT_MOUNTFAIL, "path '%s' %s in share '%s' on %s", cfg.subdir,
			     rc ? "not found" : "is not a directory", cfg.share, cfg.host);
			goto out_free;
		}
		if (rc) {
			fail(EXIT_MOUNTFAIL, "cannot open path '%s' in share '%s' on %s: %s",
			     cfg.subdir, cfg.share, cfg.host, strerror(-rc));
			goto out_free;
		}
	}
	fs = smbfs_new(client, &fp);
	if (!fs) {
		fail(EXIT_SYSERR, "out of memory");
		ret = EXIT_SYSERR;
		goto out_free;
	}
	se = fuse_session_new(&args, &smbfs_ll_ops, sizeof(smbfs_ll_ops), fs);
	if (!se) {
		fail(EXIT_MOUNTFAIL, "cannot start FUSE: %s", "fuse_session_new failed");
		goto out_free;
	}
	smbfs_set_session(fs, se); /* lease breaks invalidate the kernel's caches */
	if (fuse_set_signal_handlers(se) != 0) {
		fail(EXIT_SYSERR, "cannot install signal handlers");
		ret = EXIT_SYSERR;
		goto out_free;
	}
	handlers = 1;
	unblock_stop_signals();
	if (fuse_session_exited(se)) {
		fail(EXIT_INTR, "stopped by a signal before the mount was ready");
		ret = EXIT_INTR;
		goto out_free;
	}
	if (mount_captured(se, cfg.mountpoint, err, sizeof(err)) != 0) {
		fail(EXIT_MOUNTFAIL, "cannot mount on '%s': %s", cfg.mountpoint,
		     err[0] ? err : "the kernel refused (see dmesg)");
		goto out_free;
	}
	mounted = 1;
	/* a signal during mount(2): do not report a mount that is going away */
	if (fuse_session_exited(se)) {
		fail(EXIT_INTR, "stopped by a signal before the mount was ready");
		ret = EXIT_INTR;
		goto out_free;
	}
	if (!cfg.foreground) {
		int fd = open("/dev/null", O_RDWR);
		log_init((enum log_level)cfg.loglevel, LOG_SINK_SYSLOG, "smbfuse");
		report_status(0, "");
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
	log_set_level((enum log_level)cfg.loglevel);
	opts_set_error_sink(opts_error_to_log);
	hup.cfg = &cfg;
	hup.client = client;
	if (pthread_create(&hup.thread, NULL, hup_thread, &hup) == 0)
		hup.started = 1;
	else
		LOG_WARN("cannot start the SIGHUP thread: SIGHUP will be ignored");
	LOG_INFO("mounted %s on %s", cfg.source, cfg.mountpoint);
	{
		struct exit_watch w = {.se = se, .client = client, .phase = WATCH_SERVING};
		pthread_t wt;
		int watching = pthread_create(&wt, NULL, exit_watcher, &w) == 0, lost;
		run_loop(se, cfg.single_thread, &rc);
		/* the mount goes first: nobody waits on it while files are flushed */
		fuse_session_unmount(se);
		mounted = 0;
		__atomic_store_n(&w.phase, WATCH_FLUSHING, __ATOMIC_RELEASE);
		lost = smbfs_flush_unreleased(fs);
		__atomic_store_n(&w.phase, WATCH_DONE, __ATOMIC_RELEASE);
		if (watching)
			pthread_join(wt, NULL);
		ret = 0;
		if (rc == -EINTR) {
			/* a signal, or an unmount that beat the kernel's INIT */
			LOG_ERR("stopped before the mount was ready");
			ret = EXIT_INTR;
		} else if (rc) {
			LOG_ERR("serving the mount failed: %s", strerror(-rc));
			ret = EXIT_SYSERR;
		}
		if (lost) {
			LOG_ERR("%d file%s still open at the stop kept written data that could not be "
				"sent to the server", lost, lost == 1 ? "" : "s");
			if (!ret)
				ret = EXIT_SYSERR;
		}
	}
	LOG_INFO("unmounted %s from %s", cfg.source, cfg.mountpoint);
out_free:
	hup_stop(&hup);
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		if (handlers)
			fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	smbfs_free(fs);
	smbc_disconnect(client);
	fs_loop_cleanup(); /* after the last WRITE let go of its request buffer */
	conn_rx_pool_drain();
	fuse_opt_free_args(&args);
	opts_free(&cfg);
	if (report_fd >= 0)
		report_status(EXIT_MOUNTFAIL, "smbfuse: start-up failed\n");
	return ret;
}
