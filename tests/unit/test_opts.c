/*
 * test_opts.c - command line, share names, credentials (src/opts.c).
 *
 * Every error path is checked for its exact one-line message (captured
 * through opts_set_error_sink), since that line is all a user sees. Check
 * forks each test, so the environment changes stay inside one test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_opt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opts.h"

static char last_err[1024];
static int n_err;

static void capture(const char *msg)
{
	snprintf(last_err, sizeof(last_err), "%s", msg);
	n_err++;
}

static void setup(void)
{
	last_err[0] = '\0';
	n_err = 0;
	opts_set_error_sink(capture);
	unsetenv("USER");
	unsetenv("PASSWD");
	unsetenv("PASSWD_FD");
	unsetenv("PASSWD_FILE");
}

/* ------------------------------------------------------------------ helpers */

struct run {
	int argc;
	char *argv[32];
	struct fuse_args args;
	struct smbf_config cfg;
	int rc;
};

/* opts_parse over a NULL-terminated list (strings are copied: argv gets scrubbed). */
static struct run *parse(const char *a0, ...)
{
	struct run *r = calloc(1, sizeof(*r));
	va_list ap;
	const char *a;

	r->argv[r->argc++] = strdup("smbfuse");
	va_start(ap, a0);
	for (a = a0; a; a = va_arg(ap, const char *))
		r->argv[r->argc++] = strdup(a);
	va_end(ap);
	r->args = (struct fuse_args)FUSE_ARGS_INIT(r->argc, r->argv);
	r->rc = opts_parse(r->argc, r->argv, &r->cfg, &r->args);
	return r;
}

static void run_free(struct run *r)
{
	fuse_opt_free_args(&r->args);
	opts_free(&r->cfg);
	for (int i = 0; i < r->argc; i++)
		free(r->argv[i]);
	free(r);
}

/* parse "//h/s /mnt -o OPTS" and expect failure with exactly msg */
static void expect_opt_error(const char *opts, const char *msg)
{
	struct run *r;
	last_err[0] = '\0';
	r = parse("//h/s", "/mnt", "-o", opts, NULL);
	ck_assert_msg(r->rc == -EINVAL, "-o %s: expected -EINVAL, got %d", opts, r->rc);
	ck_assert_str_eq(last_err, msg);
	run_free(r);
}

static int args_contain(const struct fuse_args *a, const char *s)
{
	for (int i = 0; i < a->argc; i++)
		if (strstr(a->argv[i], s))
			return 1;
	return 0;
}

static void unc_ok(const char *unc, const char *host, unsigned port, const char *share,
		   const char *subdir)
{
	struct smbf_config c;
	memset(&c, 0, sizeof(c));
	ck_assert_msg(opts_parse_unc(unc, &c) == 0, "%s: %s", unc, last_err);
	ck_assert_str_eq(c.host, host);
	ck_assert_uint_eq(c.port_num, port);
	ck_assert_str_eq(c.share, share);
	if (subdir)
		ck_assert_str_eq(c.subdir, subdir);
	else
		ck_assert_ptr_null(c.subdir);
	opts_free(&c);
}

static void unc_bad(const char *unc, const char *msg)
{
	struct smbf_config c;
	memset(&c, 0, sizeof(c));
	last_err[0] = '\0';
	ck_assert_msg(opts_parse_unc(unc, &c) == -EINVAL, "%s should fail", unc);
	ck_assert_str_eq(last_err, msg);
	opts_free(&c);
}

static char *write_file(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/smbfuse-test-cred-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void drop_file(char *path)
{
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------------ share names */

START_TEST(unc_forms)
{
	unc_ok("//server/share", "server", 0, "share", NULL);
	unc_ok("//server/share/", "server", 0, "share", NULL);
	unc_ok("//server:4445/share", "server", 4445, "share", NULL);
	unc_ok("//server/share/a/b", "server", 0, "share", "a/b");
	unc_ok("//server/share//a///b//", "server", 0, "share", "a/b");
	unc_ok("\\\\server\\share\\a\\b", "server", 0, "share", "a/b");
	unc_ok("//10.0.0.5:1/s", "10.0.0.5", 1, "s", NULL);
	unc_ok("//srv/share with space/dir x", "srv", 0, "share with space", "dir x");
	unc_ok("//h/s/..x/y", "h", 0, "s", "..x/y");
}
END_TEST

START_TEST(unc_ipv6)
{
	unc_ok("//[::1]/share", "::1", 0, "share", NULL);
	unc_ok("//[::1]:4445/share/sub", "::1", 4445, "share", "sub");
	unc_ok("//[fd00:1:2::5]/s", "fd00:1:2::5", 0, "s", NULL);
	unc_ok("//[fe80::1%eth0]/s", "fe80::1%eth0", 0, "s", NULL);
	unc_ok("//[::ffff:127.0.0.1]:445/s", "::ffff:127.0.0.1", 445, "s", NULL);
	unc_ok("smb://user@[::1]:4445/share/p", "::1", 4445, "share", "p");
	unc_bad("//[::1/s", "'//[::1/s': unterminated [ in IPv6 address");
	unc_bad("//::1/s", "'//::1/s': put an IPv6 address in brackets: //[::1]/share");
	unc_bad("//fd00::5:445/s", "'//fd00::5:445/s': put an IPv6 address in brackets: "
				   "//[fd00::5:445]/share");
	unc_bad("//[]/s", "'//[]/s': no server name");
	unc_bad("//[::1]x/s", "'//[::1]x/s': unexpected text after ']'");
	unc_bad("//[host.name]/s", "'//[host.name]/s': 'host.name' is not an IPv6 address");
}
END_TEST

START_TEST(unc_url)
{
	struct smbf_config c;

	unc_ok("smb://server/share", "server", 0, "share", NULL);
	unc_ok("SMB://server:99/share/a/b/", "server", 99, "share", "a/b");
	unc_ok("cifs://server/share", "server", 0, "share", NULL);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_parse_unc("smb://CORP;alice@nas:1445/photos/2024/jan", &c), 0);
	ck_assert_str_eq(c.domain, "CORP");
	ck_assert_str_eq(c.username, "alice");
	ck_assert_ptr_null(c.password);
	ck_assert_str_eq(c.host, "nas");
	ck_assert_uint_eq(c.port_num, 1445);
	ck_assert_str_eq(c.share, "photos");
	ck_assert_str_eq(c.subdir, "2024/jan");
	ck_assert_str_eq(c.source, "smb://CORP;alice@nas:1445/photos/2024/jan");
	opts_free(&c);

	/* a password in the URL is taken, and left out of the source /proc/mounts shows */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_parse_unc("smb://bob:s3%3Acr%2Ct@nas/share%20x/a%2Fb", &c), 0);
	ck_assert_str_eq(c.username, "bob");
	ck_assert_str_eq(c.password, "s3:cr,t");
	ck_assert_int_eq(c.pw_source, PW_OPTION);
	ck_assert_str_eq(c.share, "share x");
	ck_assert_str_eq(c.subdir, "a/b");
	ck_assert_str_eq(c.source, "smb://bob@nas/share%20x/a%2Fb");
	opts_free(&c);

	unc_bad("smb://h/s/%zz", "'smb://h/s/%zz': bad %-escape in the path");
	unc_bad("smb://h/s/%4", "'smb://h/s/%4': bad %-escape in the path");
	unc_bad("smb://u%00@h/s", "'smb://u%00@h/s': bad %-escape in the user name");
	unc_bad("smb://h/a%2Fb", "'smb://h/a%2Fb': bad share name 'a/b'");
	unc_bad("smb://user@", "'smb://user@': no server name");
}
END_TEST

START_TEST(unc_bad_inputs)
{
	unc_bad("server/share", "'server/share' is not a share: expected //server/share or "
				"smb://server/share");
	unc_bad("/server/share", "'/server/share' is not a share: expected //server/share or "
				 "smb://server/share");
	unc_bad("", "'' is not a share: expected //server/share or smb://server/share");
	unc_bad("//", "'//': no server name");
	unc_bad("///share", "'///share': no server name");
	unc_bad("//host", "'//host': no share name (expected //server/share)");
	unc_bad("//host/", "'//host/': no share name (expected //server/share)");
	unc_bad("//host//x", "'//host//x': no share name (expected //server/share)");
	unc_bad("//host:/s", "'//host:/s': bad port");
	unc_bad("//host:0/s", "'//host:0/s': bad port");
	unc_bad("//host:65536/s", "'//host:65536/s': bad port");
	unc_bad("//host:12ab/s", "'//host:12ab/s': bad port");
	unc_bad("//host:-1/s", "'//host:-1/s': bad port");
	unc_bad("//host:123456789/s", "'//host:123456789/s': bad port");
	unc_bad("//h/s/../x", "'//h/s/../x': '..' is not allowed in the path");
	unc_bad("//h/s/a/..", "'//h/s/a/..': '..' is not allowed in the path");
}
END_TEST

/* ------------------------------------------------------------------ command line */

START_TEST(defaults)
{
	struct run *r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.host, "h");
	ck_assert_ptr_null(r->cfg.port);
	ck_assert_str_eq(r->cfg.mountpoint, "/mnt");
	ck_assert_str_eq(r->cfg.source, "//h/s");
	ck_assert_uint_eq(r->cfg.file_mode, 0755);
	ck_assert_uint_eq(r->cfg.dir_mode, 0755);
	ck_assert_uint_eq(r->cfg.rsize, 1 << 20);
	ck_assert_uint_eq(r->cfg.wsize, 1 << 20);
	ck_assert_uint_eq(r->cfg.max_credits, 512);
	ck_assert_uint_eq(r->cfg.echo_interval, 60);
	ck_assert_uint_eq(r->cfg.conn_timeout, 15);
	ck_assert_uint_eq(r->cfg.req_timeout, 30);
	ck_assert_uint_eq(r->cfg.max_channels, 1);
	ck_assert_int_eq(r->cfg.serverino, 1);
	ck_assert_int_eq(r->cfg.perm, 0);
	ck_assert_int_eq(r->cfg.soft, 0);
	ck_assert_int_eq(r->cfg.readonly, 0);
	ck_assert_int_eq(r->cfg.foreground, 0);
	ck_assert_int_eq(r->cfg.cache, CACHE_STRICT);
	ck_assert_int_eq(r->cfg.sec, SEC_NTLMSSP);
	ck_assert_int_eq(r->cfg.loglevel, LOGLEVEL_WARN);
	ck_assert(r->cfg.actimeo == 1.0 && r->cfg.acregmax == 1.0 && r->cfg.acdirmax == 1.0);
	ck_assert_uint_eq(r->cfg.uid, getuid());
	ck_assert_uint_eq(r->cfg.gid, getgid());
	ck_assert_int_eq(n_err, 0);
	run_free(r);
}
END_TEST

/* mapposix / mapchars: the last wins; each "no" form clears only its own mapping. */
START_TEST(name_mapping_options)
{
	static const struct {
		const char *opts;
		int want;
	} cases[] = {
		{"rw", 0},
		{"mapposix", 1},
		{"mapchars", 2},
		{"mapchars,mapposix", 1},
		{"mapposix,mapchars", 2},
		{"mapposix,nomapposix", 0},
		{"mapposix,nomapchars", 1},
		{"mapchars,nomapposix", 2},
		{"mapchars,nomapchars", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run *r = parse("//h/s", "/mnt", "-o", cases[i].opts, NULL);
		ck_assert_msg(r->rc == 0, "%s: %s", cases[i].opts, last_err);
		ck_assert_msg(r->cfg.namemap == cases[i].want, "%s: namemap %d, want %d",
			      cases[i].opts, r->cfg.namemap, cases[i].want);
		run_free(r);
	}
}
END_TEST

START_TEST(cifs_options)
{
	struct run *r = parse("//h/s", "/mnt", "-o",
			      "vers=3.1.1,sec=krb5i,sign,seal,uid=0,gid=root,forceuid,forcegid,"
			      "file_mode=0640,dir_mode=750,noperm,ro,cache=loose,actimeo=2.5,"
			      "closetimeo=5,rsize=65536,wsize=131072,max_credits=128,"
			      "echo_interval=7,soft,noserverino,mfsymlinks,nobrl,mapposix,"
			      "handletimeout=30000,max_channels=4,port=1445,ip=10.1.2.3,"
			      "domain=CORP,nounix,iocharset=utf8,loglevel=debug,conn_timeout=3,"
			      "req_timeout=4,rasize=0",
			      NULL);
	ck_assert_msg(r->rc == 0, "%s", last_err);
	ck_assert_str_eq(r->cfg.vers, "3.1.1");
	ck_assert_int_eq(r->cfg.sec, SEC_KRB5I);
	ck_assert(r->cfg.sign && r->cfg.seal && r->cfg.forceuid && r->cfg.forcegid);
	ck_assert_uint_eq(r->cfg.uid, 0);
	ck_assert_uint_eq(r->cfg.gid, 0);
	ck_assert(r->cfg.uid_set && r->cfg.gid_set);
	ck_assert_uint_eq(r->cfg.file_mode, 0640);
	ck_assert_uint_eq(r->cfg.dir_mode, 0750);
	ck_assert_int_eq(r->cfg.perm, 0);
	ck_assert_int_eq(r->cfg.readonly, 1);
	ck_assert(args_contain(&r->args, "ro")); /* the kernel mount is read-only too */
	ck_assert_int_eq(r->cfg.cache, CACHE_LOOSE);
	ck_assert(r->cfg.actimeo == 2.5 && r->cfg.acregmax == 2.5 && r->cfg.acdirmax == 2.5);
	ck_assert_uint_eq(r->cfg.closetimeo, 5);
	ck_assert_uint_eq(r->cfg.rsize, 65536);
	ck_assert_uint_eq(r->cfg.wsize, 131072);
	ck_assert_uint_eq(r->cfg.max_credits, 128);
	ck_assert_uint_eq(r->cfg.echo_interval, 7);
	ck_assert_int_eq(r->cfg.soft, 1);
	ck_assert_int_eq(r->cfg.serverino, 0);
	ck_assert(r->cfg.mfsymlinks && r->cfg.nobrl);
	ck_assert_int_eq(r->cfg.namemap, 1);
	ck_assert_uint_eq(r->cfg.handletimeout, 30000);
	ck_assert_uint_eq(r->cfg.max_channels, 4);
	ck_assert_str_eq(r->cfg.port, "1445");
	ck_assert_str_eq(r->cfg.addr, "10.1.2.3");
	ck_assert_str_eq(r->cfg.domain, "CORP");
	ck_assert_int_eq(r->cfg.loglevel, LOGLEVEL_DEBUG);
	ck_assert_uint_eq(r->cfg.conn_timeout, 3);
	ck_assert_uint_eq(r->cfg.req_timeout, 4);
	ck_assert_uint_eq(r->cfg.rasize, 0);
	/* none of ours reaches FUSE */
	ck_assert(!args_contain(&r->args, "vers") && !args_contain(&r->args, "uid") &&
		  !args_contain(&r->args, "nounix") && !args_contain(&r->args, "iocharset"));
	run_free(r);
}
END_TEST

START_TEST(flag_pairs_last_wins)
{
	struct run *r = parse("//h/s", "/mnt", "-o", "soft,hard,noserverino,serverino,ro,rw",
			      "-o", "perm,nobrl,brl", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_int_eq(r->cfg.soft, 0);
	ck_assert_int_eq(r->cfg.serverino, 1);
	ck_assert_int_eq(r->cfg.readonly, 0);
	ck_assert_int_eq(r->cfg.perm, 1);
	ck_assert_int_eq(r->cfg.nobrl, 0);
	run_free(r);
}
END_TEST

START_TEST(attribute_timeouts)
{
	/* mount.cifs: acregmax/acdirmax win over actimeo */
	struct run *r = parse("//h/s", "/mnt", "-o", "acregmax=5,actimeo=3", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert(r->cfg.acregmax == 5.0 && r->cfg.acdirmax == 3.0);
	run_free(r);
	r = parse("//h/s", "/mnt", "-o", "acdirmax=0", NULL);
	ck_assert(r->cfg.acregmax == 1.0 && r->cfg.acdirmax == 0.0);
	run_free(r);
	r = parse("//h/s", "/mnt", "-o", "actimeo=0", NULL);
	ck_assert(r->cfg.acregmax == 0.0 && r->cfg.acdirmax == 0.0 && r->cfg.actimeo_set);
	run_free(r);
}
END_TEST

START_TEST(process_flags)
{
	struct run *r = parse("-f", "-s", "//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert(r->cfg.foreground && r->cfg.single_thread && !r->cfg.debug);
	run_free(r);
	r = parse("//h/s", "/mnt", "-d", NULL);
	ck_assert(r->cfg.foreground && r->cfg.debug);
	ck_assert_int_eq(r->cfg.loglevel, LOGLEVEL_DEBUG);
	run_free(r);
	r = parse("//h/s", "/mnt", "-o", "debug,loglevel=info", NULL);
	ck_assert(r->cfg.foreground && r->cfg.debug);
	ck_assert_int_eq(r->cfg.loglevel, LOGLEVEL_INFO);
	run_free(r);
	r = parse("--help", NULL);
	ck_assert(r->rc == 0 && r->cfg.show_help);
	run_free(r);
	r = parse("-V", NULL);
	ck_assert(r->rc == 0 && r->cfg.show_version);
	run_free(r);
	r = parse("--version", "//h/s", NULL);
	ck_assert(r->rc == 0 && r->cfg.show_version);
	run_free(r);
}
END_TEST

START_TEST(fuse_and_fstab_options)
{
	struct run *r = parse("//h/s", "/mnt", "-o",
			      "allow_other,default_permissions,_netdev,nofail,noauto,auto,user,"
			      "users,nouser,owner,group,defaults,relatime,nonempty,"
			      "x-systemd.automount,x-systemd.idle-timeout=60,comment=x,fsname=mine,"
			      "noexec,nosuid,nodev,bogus_option",
			      NULL);
	ck_assert_int_eq(r->rc, 0);
	/* FUSE options (and unknown ones, which main() checks with libfuse) go on */
	ck_assert(args_contain(&r->args, "allow_other"));
	ck_assert(args_contain(&r->args, "default_permissions"));
	ck_assert(args_contain(&r->args, "noexec"));
	ck_assert(args_contain(&r->args, "fsname=mine"));
	ck_assert(args_contain(&r->args, "bogus_option"));
	ck_assert_int_eq(r->cfg.fsname_given, 1);
	ck_assert_int_eq(r->cfg.subtype_given, 0);
	/* fstab options stop here */
	ck_assert(!args_contain(&r->args, "_netdev") && !args_contain(&r->args, "nofail") &&
		  !args_contain(&r->args, "auto") && !args_contain(&r->args, "user") &&
		  !args_contain(&r->args, "x-systemd") && !args_contain(&r->args, "comment") &&
		  !args_contain(&r->args, "defaults") && !args_contain(&r->args, "nonempty") &&
		  !args_contain(&r->args, "relatime") && !args_contain(&r->args, "owner"));
	run_free(r);
}
END_TEST

START_TEST(option_errors)
{
	expect_opt_error("rsize=12k", "bad value in option 'rsize=12k': expected bytes, "
				      "4096-8388608");
	expect_opt_error("rsize=100", "bad value in option 'rsize=100': expected bytes, "
				      "4096-8388608");
	expect_opt_error("wsize=", "bad value in option 'wsize=': expected bytes, 4096-8388608");
	expect_opt_error("wsize=-4096", "bad value in option 'wsize=-4096': expected bytes, "
					"4096-8388608");
	expect_opt_error("rasize=999999999", "bad value in option 'rasize=999999999': expected "
					     "bytes, 0-268435456");
	expect_opt_error("port=0", "bad value in option 'port=0': expected a port 1-65535");
	expect_opt_error("port=70000", "bad value in option 'port=70000': expected a port "
				       "1-65535");
	expect_opt_error("port= 445", "bad value in option 'port= 445': expected a port 1-65535");
	expect_opt_error("max_credits=8", "bad value in option 'max_credits=8': expected 16-8192");
	expect_opt_error("echo_interval=0", "bad value in option 'echo_interval=0': expected "
					    "seconds, 1-600");
	expect_opt_error("conn_timeout=0", "bad value in option 'conn_timeout=0': expected "
					   "seconds, 1-600");
	expect_opt_error("req_timeout=x", "bad value in option 'req_timeout=x': expected "
					  "seconds, 1-3600");
	expect_opt_error("max_channels=17", "bad value in option 'max_channels=17': expected "
					    "1-16");
	expect_opt_error("handletimeout=1e3", "bad value in option 'handletimeout=1e3': expected "
					      "milliseconds, 0-960000");
	expect_opt_error("file_mode=0999", "bad value in option 'file_mode=0999': expected an "
					   "octal mode like 0644");
	expect_opt_error("dir_mode=17777", "bad value in option 'dir_mode=17777': expected an "
					   "octal mode like 0755");
	expect_opt_error("actimeo=-1", "bad value in option 'actimeo=-1': expected seconds, "
				       "0-2592000");
	expect_opt_error("actimeo=1s", "bad value in option 'actimeo=1s': expected seconds, "
				       "0-2592000");
	expect_opt_error("actimeo=nan", "bad value in option 'actimeo=nan': expected seconds, "
					"0-2592000");
	expect_opt_error("acregmax=inf", "bad value in option 'acregmax=inf': expected seconds, "
					 "0-2592000");
	expect_opt_error("closetimeo=1.5", "bad value in option 'closetimeo=1.5': expected "
					   "seconds, 0-604800");
	expect_opt_error("uid=abc-no-such-user", "bad value in option 'uid=abc-no-such-user': "
						 "no such user");
	expect_opt_error("gid=abc-no-such-group", "bad value in option 'gid=abc-no-such-group': "
						  "no such group");
	expect_opt_error("uid=12x", "bad value in option 'uid=12x': expected a number or a "
				    "user name");
	expect_opt_error("gid=4294967295", "bad value in option 'gid=4294967295': expected a "
					   "number or a group name");
	expect_opt_error("uid=", "bad value in option 'uid=': no such user");
	expect_opt_error("cache=fast", "bad value in option 'cache=fast': expected strict, loose "
				       "or none");
	expect_opt_error("sec=lanman", "unsupported value in option 'sec=lanman': expected "
				       "ntlmssp, ntlmsspi, krb5, krb5i or none");
	expect_opt_error("loglevel=loud", "bad value in option 'loglevel=loud': expected err, "
					  "warn, info, debug or trace");
	expect_opt_error("iocharset=iso8859-1", "unsupported value in option "
						"'iocharset=iso8859-1': smbfuse always uses UTF-8");
	expect_opt_error("vers=", "bad value in option 'vers=': expected 2.0, 2.1, 3.0, 3.02, "
				  "3.1.1, 3 or default");
	expect_opt_error("ip=", "bad value in option 'ip=': expected an address");
}
END_TEST

START_TEST(usage_errors)
{
	struct run *r = parse(NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "missing share: usage: smbfuse //server/share MOUNTPOINT "
				   "[-o options]");
	run_free(r);
	r = parse("//h/s", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "missing mountpoint: usage: smbfuse //server/share "
				   "MOUNTPOINT [-o options]");
	run_free(r);
	r = parse("//h/s", "/mnt", "extra", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "unexpected argument 'extra' (usage: smbfuse //server/share "
				   "MOUNTPOINT [-o options])");
	run_free(r);
	r = parse("h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "'h/s' is not a share: expected //server/share or "
				   "smb://server/share");
	run_free(r);
	r = parse("//h:1445/s", "/mnt", "-o", "port=445", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "port 1445 in '//h:1445/s' conflicts with option port=445");
	run_free(r);
}
END_TEST

START_TEST(ports)
{
	struct run *r = parse("//h:1445/s", "/mnt", "-o", "port=1445", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.port, "1445");
	run_free(r);
	r = parse("//h/s", "/mnt", "-o", "port=139", NULL);
	ck_assert_str_eq(r->cfg.port, "139");
	run_free(r);
	r = parse("//[::1]:4445/s", "/mnt", NULL);
	ck_assert_str_eq(r->cfg.port, "4445");
	ck_assert_str_eq(r->cfg.host, "::1");
	run_free(r);
}
END_TEST

/* ------------------------------------------------------------------ identity */

START_TEST(username_forms)
{
	struct run *r = parse("//h/s", "/mnt", "-o", "username=CORP/alice%pw1", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.domain, "CORP");
	ck_assert_str_eq(r->cfg.username, "alice");
	ck_assert_str_eq(r->cfg.password, "pw1");
	ck_assert_int_eq(r->cfg.pw_source, PW_OPTION);
	run_free(r);
	/* DOMAIN\\user: fuse_opt takes '\\' as an escape, so it is doubled in -o */
	r = parse("//h/s", "/mnt", "-o", "user=CORP\\\\bob,dom=OTHER", NULL);
	ck_assert_str_eq(r->cfg.username, "bob");
	ck_assert_str_eq(r->cfg.domain, "OTHER"); /* the later option wins */
	run_free(r);
	r = parse("//h/s", "/mnt", "-o", "user=carol,pass=x,password=y", NULL);
	ck_assert_str_eq(r->cfg.username, "carol");
	ck_assert_str_eq(r->cfg.password, "y");
	run_free(r);
	/* a comma in a password: escaped for fuse_opt */
	r = parse("//h/s", "/mnt", "-o", "user=dave,password=a\\,b", NULL);
	ck_assert_str_eq(r->cfg.password, "a,b");
	run_free(r);
}
END_TEST

START_TEST(argv_is_scrubbed)
{
	struct run *r = parse("//h/s", "/mnt", "-o", "username=u%secretA,password=secretB,ro",
			      "-opass=secretC", "smb://x:secretD@h/s2", NULL);
	/* (the URL is a third positional argument: an error, but scrubbed all the same) */
	for (int i = 0; i < r->argc; i++) {
		ck_assert_msg(!strstr(r->argv[i], "secret"), "argv[%d] = '%s'", i, r->argv[i]);
	}
	ck_assert_str_eq(r->argv[4], "username=u%*******,password=*******,ro");
	ck_assert_str_eq(r->argv[5], "-opass=*******");
	ck_assert_str_eq(r->argv[6], "smb://x:*******@h/s2");
	run_free(r);

	r = parse("smb://x:secretE@h/s", "/mnt", "-o", "password=a\\,secretF,ro", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->argv[1], "smb://x:*******@h/s");
	ck_assert_str_eq(r->argv[4], "password=**********,ro");
	ck_assert_str_eq(r->cfg.password, "a,secretF"); /* -o wins over the URL */
	ck_assert_str_eq(r->cfg.source, "smb://x@h/s");
	run_free(r);
}
END_TEST

START_TEST(env_user_and_passwd)
{
	struct run *r;
	setenv("USER", "CORP/erin%envpw", 1);
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.username, "erin");
	ck_assert_str_eq(r->cfg.domain, "CORP");
	ck_assert_str_eq(r->cfg.password, "envpw");
	ck_assert_int_eq(r->cfg.pw_source, PW_ENV);
	run_free(r);

	setenv("USER", "frank", 1);
	setenv("PASSWD", "pw-from-env", 1);
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_str_eq(r->cfg.username, "frank");
	ck_assert_str_eq(r->cfg.password, "pw-from-env");
	/* PASSWD is wiped from the environment (children and /proc/PID/environ) */
	ck_assert_ptr_null(getenv("PASSWD"));
	run_free(r);

	/* options win over the environment */
	setenv("PASSWD", "pw-from-env", 1);
	r = parse("//h/s", "/mnt", "-o", "user=gina,password=opt", NULL);
	ck_assert_str_eq(r->cfg.username, "gina");
	ck_assert_str_eq(r->cfg.password, "opt");
	ck_assert_int_eq(r->cfg.pw_source, PW_OPTION);
	run_free(r);

	/* guest needs no password */
	setenv("PASSWD", "pw-from-env", 1);
	r = parse("//h/s", "/mnt", "-o", "guest", NULL);
	ck_assert_ptr_null(r->cfg.password);
	run_free(r);
}
END_TEST

START_TEST(env_passwd_file_and_fd)
{
	char *pwf = write_file("file-pw\nsecond line\n", 0600);
	int p[2];
	struct run *r;

	setenv("USER", "u", 1);
	setenv("PASSWD_FILE", pwf, 1);
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.password, "file-pw");
	run_free(r);
	unsetenv("PASSWD_FILE");

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "fd-pw\n", 6), 6);
	close(p[1]);
	{
		char num[16];
		snprintf(num, sizeof(num), "%d", p[0]);
		setenv("PASSWD_FD", num, 1);
	}
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.password, "fd-pw");
	run_free(r);
	close(p[0]);

	setenv("PASSWD_FD", "x", 1);
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "PASSWD_FD='x' is not a file descriptor number");
	run_free(r);
	unsetenv("PASSWD_FD");

	setenv("PASSWD_FILE", "/nonexistent/pw", 1);
	r = parse("//h/s", "/mnt", NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert_str_eq(last_err, "cannot open PASSWD_FILE '/nonexistent/pw': No such file or "
				   "directory");
	run_free(r);
	drop_file(pwf);
}
END_TEST

START_TEST(krb5_needs_no_password)
{
	struct run *r;
	setenv("PASSWD", "x", 1);
	r = parse("//h/s", "/mnt", "-o", "sec=krb5", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_int_eq(r->cfg.sec, SEC_KRB5);
	ck_assert_ptr_null(r->cfg.password);
	ck_assert_ptr_null(r->cfg.username);
	run_free(r);
}
END_TEST

/* ------------------------------------------------------------------ credentials file */

START_TEST(credentials_file)
{
	char *f = write_file("# comment\n"
			     "\n"
			     "  username=alice\r\n"
			     "password= spaced pw \n"
			     "domain=CORP\n",
			     0600);
	struct smbf_config c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), 0);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_str_eq(c.password, " spaced pw "); /* mount.cifs: the value as written */
	ck_assert_str_eq(c.domain, "CORP");
	ck_assert_int_eq(c.pw_source, PW_CREDFILE);
	opts_free(&c);
	drop_file(f);

	/* smbclient -A style, short keys, DOMAIN/user */
	f = write_file("user = WG/bob\npass = p w \nworkgroup = X\n", 0400);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), 0);
	ck_assert_str_eq(c.username, "bob");
	ck_assert_str_eq(c.password, "p w");
	ck_assert_str_eq(c.domain, "X");
	opts_free(&c);
	drop_file(f);

	f = write_file("username=carol\npassword=a=b,c\n", 0600);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), 0);
	ck_assert_str_eq(c.password, "a=b,c");
	ck_assert_ptr_null(c.domain);
	opts_free(&c);
	drop_file(f);
}
END_TEST

START_TEST(credentials_file_errors)
{
	struct smbf_config c;
	char *f, msg[600];

	f = write_file("username=a\npassword=b\n", 0644);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
	snprintf(msg, sizeof(msg), "credentials file '%s' is accessible by group or others "
				   "(mode 0644); chmod 600 it, or add -o insecure_cred_ok", f);
	ck_assert_str_eq(last_err, msg);
	ck_assert_ptr_null(c.password);
	opts_free(&c);
	/* insecure_cred_ok accepts it */
	memset(&c, 0, sizeof(c));
	c.insecure_cred_ok = 1;
	ck_assert_int_eq(opts_read_credentials(f, &c), 0);
	ck_assert_str_eq(c.password, "b");
	opts_free(&c);
	drop_file(f);

	/* group-readable, and other-writable, are refused too */
	f = write_file("password=b\n", 0640);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
	opts_free(&c);
	drop_file(f);
	f = write_file("password=b\n", 0602);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
	opts_free(&c);
	drop_file(f);

	f = write_file("username=a\nthis line has no equals\n", 0600);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
	snprintf(msg, sizeof(msg), "credentials file '%s' line 2: expected key=value", f);
	ck_assert_str_eq(last_err, msg);
	opts_free(&c);
	drop_file(f);

	f = write_file("usernme=a\n", 0600);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
	snprintf(msg, sizeof(msg), "credentials file '%s' line 1: unknown key 'usernme' "
				   "(expected username, password or domain)", f);
	ck_assert_str_eq(last_err, msg);
	opts_free(&c);
	drop_file(f);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(opts_read_credentials("/nonexistent/cred", &c), -EINVAL);
	ck_assert_str_eq(last_err, "cannot open credentials file '/nonexistent/cred': No such "
				   "file or directory");
	ck_assert_int_eq(opts_read_credentials("/tmp", &c), -EINVAL);
	ck_assert_str_eq(last_err, "credentials file '/tmp' is not a regular file");
	opts_free(&c);

	{
		char big[1200];
		memset(big, 'x', sizeof(big));
		memcpy(big, "password=", 9);
		big[sizeof(big) - 2] = '\n';
		big[sizeof(big) - 1] = '\0';
		f = write_file(big, 0600);
		memset(&c, 0, sizeof(c));
		ck_assert_int_eq(opts_read_credentials(f, &c), -EINVAL);
		snprintf(msg, sizeof(msg), "credentials file '%s' line 1: line too long", f);
		ck_assert_str_eq(last_err, msg);
		opts_free(&c);
		drop_file(f);
	}
}
END_TEST

START_TEST(credentials_precedence)
{
	char *f = write_file("username=fileuser\npassword=filepw\ndomain=FILEDOM\n", 0600);
	char opt[600], *rel;
	struct run *r;

	setenv("PASSWD", "envpw", 1);
	setenv("USER", "envuser", 1);
	snprintf(opt, sizeof(opt), "credentials=%s", f);
	r = parse("//h/s", "/mnt", "-o", opt, NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.username, "fileuser");
	ck_assert_str_eq(r->cfg.password, "filepw");
	ck_assert_str_eq(r->cfg.domain, "FILEDOM");
	ck_assert_int_eq(r->cfg.pw_source, PW_CREDFILE);
	run_free(r);

	/* options win over the file */
	snprintf(opt, sizeof(opt), "user=optuser,dom=OPTDOM,cred=%s", f);
	r = parse("//h/s", "/mnt", "-o", opt, NULL);
	ck_assert_str_eq(r->cfg.username, "optuser");
	ck_assert_str_eq(r->cfg.domain, "OPTDOM");
	ck_assert_str_eq(r->cfg.password, "filepw");
	run_free(r);

	/* a relative path becomes absolute (the daemon re-reads it after chdir /) */
	ck_assert_int_eq(chdir("/tmp"), 0);
	rel = f + strlen("/tmp/");
	snprintf(opt, sizeof(opt), "credentials=%s", rel);
	r = parse("//h/s", "/mnt", "-o", opt, NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.credentials, f);
	run_free(r);

	/* a refused file fails the whole parse */
	chmod(f, 0644);
	snprintf(opt, sizeof(opt), "credentials=%s", f);
	r = parse("//h/s", "/mnt", "-o", opt, NULL);
	ck_assert_int_eq(r->rc, -EINVAL);
	ck_assert(strstr(last_err, "accessible by group or others") != NULL);
	run_free(r);
	snprintf(opt, sizeof(opt), "credentials=%s,insecure_cred_ok", f);
	r = parse("//h/s", "/mnt", "-o", opt, NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->cfg.password, "filepw");
	run_free(r);
	drop_file(f);
}
END_TEST

static Suite *opts_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("unc");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, unc_forms);
	tcase_add_test(tc, unc_ipv6);
	tcase_add_test(tc, unc_url);
	tcase_add_test(tc, unc_bad_inputs);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, cifs_options);
	tcase_add_test(tc, flag_pairs_last_wins);
	tcase_add_test(tc, attribute_timeouts);
	tcase_add_test(tc, process_flags);
	tcase_add_test(tc, fuse_and_fstab_options);
	tcase_add_test(tc, name_mapping_options);
	tcase_add_test(tc, option_errors);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, ports);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, username_forms);
	tcase_add_test(tc, argv_is_scrubbed);
	tcase_add_test(tc, env_user_and_passwd);
	tcase_add_test(tc, env_passwd_file_and_fd);
	tcase_add_test(tc, krb5_needs_no_password);
	tcase_add_test(tc, credentials_file);
	tcase_add_test(tc, credentials_file_errors);
	tcase_add_test(tc, credentials_precedence);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(opts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
