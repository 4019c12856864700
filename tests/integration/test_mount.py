"""The mount as users meet it: command line, options, credentials, fstab and
mount(8), unprivileged mounts, the daemon, and one clear line for each way a
mount fails.

Each failure test checks the exit status (1 bad invocation, 2 system error,
32 mount failure, as mount(8)/mount.cifs), that stderr is exactly one line
"smbfuse: <cause>" naming the cause, that no password shows, and that
nothing stays mounted. Failures that must be found before any network
activity are run against a listener that counts connections.
"""

import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import harness
from harness import MountResult
from mounthelp import (assert_failed, clean_env, copy_binary, daemon_pid, daemons_for,
                       fake_server, pdbedit, private_server, proc_mount_line, read_proc,
                       run_in_namespace, set_samba_password, unshare_available,
                       wait_unmounted_and_gone, write_creds)


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _run(t, argv, env=None, timeout=30):
    """Run smbfuse with argv; a MountResult whose mnt is argv[1] (if any)."""
    rc, out, err = t.run_smbfuse(argv, timeout=timeout, env=env)
    mnt = argv[1] if len(argv) > 1 and not argv[1].startswith('-') else None
    if mnt:
        t._mounts.append(os.path.abspath(mnt))
    mounted = bool(mnt) and _wait_mounted(t, mnt) if rc == 0 else False
    return MountResult(rc, out, err, mnt, mounted, argv)


def _wait_mounted(t, mnt, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if t.is_mounted(os.path.abspath(mnt)):
            return True
        time.sleep(0.05)
    return False


def _wait_mounted_any(mnt, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc_mount_line(mnt):
            return True
        time.sleep(0.05)
    return False


def _creds_opt(s):
    return 'username=%s,password=%s' % (s.user, s.password)


def _cred_file(t, s, mode=0o600, name='cred'):
    return write_creds(os.path.join(t.scratch, name),
                       'username=%s\npassword=%s\n' % (s.user, s.password), mode)


# Every -o option smbfuse itself takes (FUSE's own are libfuse's business).
OPTIONS = ('username', 'user', 'password', 'pass', 'domain', 'dom', 'workgroup', 'credentials',
           'cred', 'insecure_cred_ok', 'guest', 'port', 'ip', 'addr', 'vers', 'sec', 'sign',
           'seal', 'hard', 'soft', 'echo_interval', 'conn_timeout', 'req_timeout',
           'max_credits', 'rsize', 'wsize', 'rasize', 'uid', 'gid', 'file_mode', 'dir_mode',
           'noperm', 'perm', 'serverino', 'noserverino', 'mfsymlinks', 'nobrl', 'ro', 'rw',
           'cache', 'actimeo', 'acregmax', 'acdirmax', 'forceuid', 'forcegid', 'nounix',
           'iocharset', 'closetimeo', 'handletimeout', 'max_channels', 'mapposix', 'mapchars', 'loglevel',
           'debug', 'lease', 'nolease', '_netdev', 'nofail', 'noauto', 'user', 'users', 'defaults', 'relatime',
           'nonempty', 'comment', 'nodirprefetch', 'dirprefetch')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ====================================================================== command line

def test_help_lists_every_option_in_groups(t):
    for flag in ('-h', '--help'):
        rc, out, err = t.run_smbfuse([flag])
        assert rc == 0 and err == '', (rc, err)
        for group in ('General:', 'Identity', 'Connection:', 'Files as shown', 'Caching:',
                      'Accepted for mount.cifs compatibility', 'fstab and automount',
                      'FUSE:'):
            assert group in out, 'group %r missing from --help' % group
        for opt in ('-f', '-d', '-s', '-V', 'loglevel=', 'username=', 'user=', 'password=',
                    'pass=', 'credentials=', 'cred=', 'domain=', 'dom=', 'insecure_cred_ok',
                    'guest', 'USER', 'PASSWD', 'PASSWD_FD', 'PASSWD_FILE', 'port=', 'ip=',
                    'vers=', 'sec=', 'sign', 'seal', 'hard', 'soft', 'echo_interval=',
                    'conn_timeout=', 'req_timeout=', 'max_credits=', 'rsize=', 'wsize=',
                    'rasize=', 'uid=', 'gid=', 'file_mode=', 'dir_mode=', 'noperm', 'perm',
                    'serverino', 'noserverino', 'ro, rw', 'cache=', 'actimeo=', 'acregmax=',
                    'acdirmax=', 'forceuid', 'forcegid', 'nobrl', 'nounix', 'iocharset=',
                    'closetimeo=', 'handletimeout=', 'lease', 'nolease', 'max_channels=',
                    'mfsymlinks',
                    'mapposix', '_netdev', 'nofail', 'noauto', 'x-*', 'allow_other',
                    'default_permissions', 'fsname', 'subtype', 'SIGHUP', 'smb://', '[',
                    'fusermount3 -u'):
            assert opt in out, 'option %r missing from --help' % opt


def test_docs_and_completion_cover_every_option(t):
    """--help, the man page, the README table and the bash completion name
    every option; and nothing the docs call an option is rejected."""
    rc, helptext, _ = t.run_smbfuse(['--help'])
    with open(os.path.join(ROOT, 'man', 'smbfuse.rst')) as f:
        man = f.read()
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    comp = os.path.join(ROOT, 'contrib', 'smbfuse.bash-completion')
    r = subprocess.run(['bash', '-c', 'source "$0"; _smbfuse_options', comp],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    completion = set(o.rstrip('=') for o in r.stdout.split())
    for o in OPTIONS:
        word = re.compile(r'(?<![\w-])%s(?![\w-])' % re.escape(o))
        assert word.search(helptext), '--help lacks %s' % o
        assert re.search(r'\*\*%s(=|\*\*)' % re.escape(o), man), 'man page lacks **%s**' % o
        assert re.search(r'`%s[=`]' % re.escape(o), readme), 'README lacks `%s`' % o
        if o not in ('comment', 'users', 'defaults', 'relatime', 'nonempty', 'user', 'dom',
                     'pass', 'workgroup', 'addr'):
            assert o in completion or o + '=utf8' in completion, 'completion lacks %s' % o
    # completing values
    r = subprocess.run(['bash', '-c', 'source "$0"; COMP_WORDS=(smbfuse //h/s /m -o '
                        '"ro,cache="); COMP_CWORD=4; _smbfuse; echo "${COMPREPLY[@]}"', comp],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == ['ro,cache=strict', 'ro,cache=loose', 'ro,cache=none'], r.stdout


def test_contrib_examples_mount(t):
    """The option strings of contrib/ (systemd unit, autofs map) and the man
    page's fstab lines mount against the fixture."""
    s = t.srv
    t.write_server('rw', 'c.txt', b'contrib')
    cred = _cred_file(t, s)
    option_sets = []
    with open(os.path.join(ROOT, 'contrib', 'mnt-share.mount')) as f:
        option_sets += [ln.split('=', 1)[1].strip() for ln in f if ln.startswith('Options=')]
    with open(os.path.join(ROOT, 'contrib', 'auto.smbfuse')) as f:
        for ln in f:
            m = re.match(r'^[^#\s]\S*\s+-fstype=fuse\.smbfuse,(\S+)\s', ln)
            if m:
                option_sets.append(m.group(1))
    with open(os.path.join(ROOT, 'man', 'smbfuse.rst')) as f:
        option_sets += re.findall(r'^\s+//server/share /mnt/\w fuse\.smbfuse (\S+) 0 0$',
                                  f.read(), re.M)
    assert len(option_sets) >= 4, option_sets
    for opts in option_sets:
        opts = re.sub(r'credentials=[^,]+', 'credentials=' + cred, opts)
        opts = re.sub(r'(^|,)port=\d+', '', opts)  # the fixture's port is in the UNC
        mnt = t.new_mountpoint()
        r = _run(t, [s.unc('rw'), mnt, '-o', opts], env=clean_env())
        assert r.ok, 'options %r: %r' % (opts, r)
        assert _read(mnt + '/c.txt') == b'contrib'
        t.umount(mnt)


def test_version_names_the_libraries(t):
    rc, out, err = t.run_smbfuse(['-V'])
    assert rc == 0 and err == '', (rc, err)
    lines = out.splitlines()
    assert re.match(r'smbfuse \d+\.\d+', lines[0]), out
    assert re.search(r'^libfuse 3\.\d+(\.\d+)? \(built with 3\.\d+\)$', out, re.M), out
    assert re.search(r'^OpenSSL 3\.\d+\.\d+', out, re.M), out
    assert re.search(r'^(MIT krb5 \d+\.\d+|MIT krb5 GSSAPI: built in|Kerberos \(GSSAPI\): '
                     r'not built in)', out, re.M), out
    # the runtime versions, not just build-time ones
    lib = subprocess.run(['sh', '-c', 'ldd "$0" | grep -o "libfuse3.so[^ ]*"', t.smbfuse],
                         capture_output=True, text=True).stdout.strip()
    assert lib, 'smbfuse does not link libfuse3?'
    assert rc == 0 and t.run_smbfuse(['--version'])[1] == out


def test_unc_forms_and_mount_source(t):
    s = t.srv
    t.write_server('rw', 'top.txt', b'top\n')
    t.write_server('rw', 'a/b/deep.txt', b'deep\n')
    # //host:port/share/sub/dir: the subdirectory is the root of the mount
    mnt = t.mount('rw', unc='//127.0.0.1:%d/rw/a/b' % s.port)
    assert os.listdir(mnt) == ['deep.txt']
    assert _read(mnt + '/deep.txt') == b'deep\n'
    src, fstype, _ = proc_mount_line(mnt)
    assert (src, fstype) == ('//127.0.0.1:%d/rw/a/b' % s.port, 'fuse.smbfuse'), (src, fstype)
    t.umount(mnt)
    # backslashes, and the port as an option
    mnt = t.mount('rw', 'port=%d' % s.port, unc='\\\\127.0.0.1\\rw\\a')
    assert os.listdir(mnt) == ['b']
    src, fstype, _ = proc_mount_line(mnt)
    assert src == '\\\\127.0.0.1\\rw\\a', src
    t.umount(mnt)
    # fsname= and subtype= from the user win
    r = t.try_mount('rw', 'fsname=myshare,subtype=smbx')
    assert r.rc == 0 and _wait_mounted_any(r.mnt), r
    src, fstype, _ = proc_mount_line(r.mnt)
    assert (src, fstype) == ('myshare', 'fuse.smbx'), (src, fstype)
    subprocess.run(['fusermount3', '-u', r.mnt], check=True)


def test_smb_url(t):
    s = t.srv
    t.write_server('rw', 'dir one/u.txt', b'url\n')
    mnt = t.new_mountpoint()
    url = 'smb://%s@127.0.0.1:%d/rw/dir%%20one' % (s.user, s.port)
    r = _run(t, [url, mnt], env=clean_env(PASSWD=s.password))
    assert r.ok, r
    assert _read(mnt + '/u.txt') == b'url\n'
    assert proc_mount_line(mnt)[0] == url
    t.umount(mnt)
    # smb://domain;user:password@host: the password leaves no trace
    mnt = t.new_mountpoint()
    url = 'smb://SMBFTEST;%s:%s@127.0.0.1:%d/rw' % (s.user, s.password, s.port)
    r = _run(t, [url, mnt], env=clean_env())
    assert r.ok, r
    assert os.listdir(mnt) == ['dir one']
    src = proc_mount_line(mnt)[0]
    assert src == 'smb://SMBFTEST;%s@127.0.0.1:%d/rw' % (s.user, s.port), src
    pid = daemon_pid(mnt)
    assert s.password.encode() not in read_proc(pid, 'cmdline')
    t.umount(mnt)


def test_missing_subdir_fails_cleanly(t):
    s = t.srv
    t.write_server('rw', 'afile', b'x')
    r = t.try_mount('rw', unc='//127.0.0.1:%d/rw/no/such/dir' % s.port)
    assert_failed(t, r, r"path 'no/such/dir' not found in share 'rw'", secrets=[s.password])
    r = t.try_mount('rw', unc='//127.0.0.1:%d/rw/afile' % s.port)
    assert_failed(t, r, r"path 'afile' is not a directory in share 'rw'")


def test_background_daemon_detaches(t):
    s = t.srv
    mnt = t.new_mountpoint()
    t0 = time.monotonic()
    r = _run(t, [s.unc('rw'), mnt, '-o', _creds_opt(s)])
    assert r.ok, r
    assert time.monotonic() - t0 < 10
    assert r.stdout == '' and r.stderr == '', r
    pid = daemon_pid(mnt)
    assert pid != os.getpid()
    # its own session, no terminal, stdio on /dev/null, cwd /
    assert os.getsid(pid) == pid, 'the daemon did not call setsid'
    for fd in (0, 1, 2):
        assert os.readlink('/proc/%d/fd/%d' % (pid, fd)) == '/dev/null'
    assert os.readlink('/proc/%d/cwd' % pid) == '/'
    # SIGHUP without credentials= neither unmounts nor ends the daemon
    os.kill(pid, signal.SIGHUP)
    time.sleep(0.5)
    assert t.is_mounted(mnt) and daemons_for(mnt) == [pid]
    os.listdir(mnt)
    t.umount(mnt)
    wait_unmounted_and_gone(t, mnt)


def test_foreground_logs_to_stderr_and_exits_on_unmount(t):
    s = t.srv
    mnt = t.new_mountpoint()
    errpath = os.path.join(t.scratch, 'fg.err')
    t._mounts.append(mnt)
    with open(errpath, 'wb') as err:
        p = subprocess.Popen([t.smbfuse, s.unc('rw'), mnt, '-f', '-o',
                              _creds_opt(s) + ',loglevel=info'],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            assert _wait_mounted(t, mnt), 'foreground mount did not appear'
            assert p.poll() is None, 'smbfuse -f exited while mounted'
            t.umount(mnt)
            assert p.wait(timeout=15) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    log = _read(errpath).decode()
    assert re.search(r'mounted //127\.0\.0\.1:%d/rw on %s' % (s.port, re.escape(mnt)), log), log
    assert s.password not in log


def test_loglevel_default_is_quiet(t):
    s = t.srv
    mnt = t.new_mountpoint()
    errpath = os.path.join(t.scratch, 'q.err')
    t._mounts.append(mnt)
    with open(errpath, 'wb') as err:
        p = subprocess.Popen([t.smbfuse, s.unc('rw'), mnt, '-f', '-o', _creds_opt(s)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            assert _wait_mounted(t, mnt)
            os.listdir(mnt)
            t.umount(mnt)
            assert p.wait(timeout=15) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert _read(errpath) == b'', 'default loglevel (warn) printed: %r' % _read(errpath)


def test_relative_mountpoint(t):
    s = t.srv
    t.write_server('rw', 'rel.txt', b'rel\n')
    os.makedirs(os.path.join(t.workdir, 'relmnt'))
    mnt = os.path.join(t.workdir, 'relmnt')
    t._mounts.append(mnt)
    p = subprocess.run([t.smbfuse, s.unc('rw'), 'relmnt', '-o', _creds_opt(s)],
                       cwd=t.workdir, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert _wait_mounted(t, mnt)
    assert _read(mnt + '/rel.txt') == b'rel\n'
    assert proc_mount_line(mnt), 'not listed under its absolute path'
    # the daemon (now in /) unmounts by the absolute path when told to stop
    pid = daemon_pid('relmnt')
    os.kill(pid, signal.SIGTERM)
    wait_unmounted_and_gone(t, mnt)
    deadline = time.monotonic() + 10
    while pid in daemons_for('relmnt'):
        assert time.monotonic() < deadline, 'smbfuse did not exit after SIGTERM'
        time.sleep(0.05)


# ====================================================================== options

def test_unknown_and_malformed_options_fail_before_network(t):
    cases = [
        ('bogus', r"unknown option 'bogus'"),
        ('allow_other,frobnicate=1,sign', r"unknown option 'frobnicate=1'"),
        ('foo,bar', r"unknown options 'foo,bar'"),
        ('rsize=12k', r"bad value in option 'rsize=12k': expected bytes"),
        ('uid=no-such-user-xyz', r"bad value in option 'uid=no-such-user-xyz': no such user"),
        ('file_mode=0999', r"bad value in option 'file_mode=0999'"),
        ('actimeo=soon', r"bad value in option 'actimeo=soon'"),
        ('port=99999', r"bad value in option 'port=99999'"),
        ('cache=fast', r"bad value in option 'cache=fast'"),
        ('vers=1.0', r"bad value in option 'vers=1.0'"),
        ('sec=lanman', r"unsupported value in option 'sec=lanman'"),
        ('loglevel=loud', r"bad value in option 'loglevel=loud'"),
        ('echo_interval=0', r"bad value in option 'echo_interval=0'"),
        ('max_read=lots', r"bad value in option 'max_read=lots'"),
    ]
    with fake_server('count') as fs:
        for opts, pattern in cases:
            mnt = t.new_mountpoint()
            r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, mnt, '-o',
                         'username=u,password=p,' + opts])
            assert_failed(t, r, pattern, code=1)
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), 'extra-arg'])
        assert_failed(t, r, r"unexpected argument 'extra-arg'", code=1)
        r = _run(t, ['127.0.0.1/rw', t.new_mountpoint()])
        assert_failed(t, r, r"is not a share", code=1)
        r = _run(t, ['//[::1/rw', t.new_mountpoint()])
        assert_failed(t, r, r"unterminated \[", code=1)
        time.sleep(0.3)
        assert fs.connections == 0, 'smbfuse connected before rejecting its options'


def test_fuse_options_reach_the_mount(t):
    t.write_server('rw', 'f.txt', b'f')
    mnt = t.mount('rw', 'allow_other', 'default_permissions', 'noexec', 'nodev')
    _, _, opts = proc_mount_line(mnt)
    for o in ('allow_other', 'default_permissions', 'noexec', 'nodev'):
        assert o in opts, '%s missing from mount options %r' % (o, opts)
    t.umount(mnt)
    # perm = default_permissions; noperm (default) leaves checks to the server
    mnt = t.mount('rw', 'perm')
    assert 'default_permissions' in proc_mount_line(mnt)[2]
    t.umount(mnt)
    mnt = t.mount('rw', 'noperm')
    assert 'default_permissions' not in proc_mount_line(mnt)[2]
    t.umount(mnt)


def test_fstab_and_automount_options_accepted(t):
    t.write_server('rw', 'f.txt', b'fstab')
    mnt = t.mount('rw', '_netdev', 'nofail', 'noauto', 'auto', 'user', 'users', 'nouser',
                  'owner', 'group', 'defaults', 'relatime', 'nonempty',
                  'x-systemd.automount', 'x-systemd.idle-timeout=30', 'x-gvfs-show',
                  'comment=systemd.automount')
    assert _read(mnt + '/f.txt') == b'fstab'
    t.umount(mnt)


def test_cifs_options_accepted(t):
    """mount.cifs options smbfuse accepts; some have no effect yet (see --help)."""
    t.write_server('rw', 'f.txt', b'cifs')
    mnt = t.mount('rw', 'vers=3.1.1', 'sec=ntlmssp', 'sign', 'hard', 'echo_interval=30',
                  'max_credits=256', 'rsize=65536', 'wsize=65536', 'rasize=1048576',
                  'forceuid', 'forcegid', 'nobrl', 'mfsymlinks', 'mapposix', 'nounix',
                  'iocharset=utf8', 'closetimeo=5', 'handletimeout=60000', 'max_channels=2',
                  'serverino', 'cache=strict', 'actimeo=1', 'acregmax=2', 'acdirmax=3',
                  'conn_timeout=10', 'req_timeout=20', 'domain=SMBFTEST', 'ip=127.0.0.1')
    assert _read(mnt + '/f.txt') == b'cifs'
    t.umount(mnt)
    for vers in ('2.0', '2.1', '3.0', '3.02', '3', 'default'):
        mnt = t.mount('rw', 'vers=' + vers)
        assert _read(mnt + '/f.txt') == b'cifs', vers
        t.umount(mnt)


def test_presentation_options(t):
    t.write_server('rw', 'f.txt', b'p')
    os.makedirs(os.path.join(t.share_path('rw'), 'd'))
    srv_ino = os.stat(os.path.join(t.share_path('rw'), 'f.txt')).st_ino
    mnt = t.mount('rw', 'uid=1234', 'gid=5678', 'file_mode=0640', 'dir_mode=0711')
    st = os.stat(mnt + '/f.txt')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o640), st
    st = os.stat(mnt + '/d')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o711), st
    assert os.stat(mnt + '/f.txt').st_ino == srv_ino, 'serverino (default): server inodes'
    t.umount(mnt)
    mnt = t.mount('rw', 'uid=root', 'gid=root', 'noserverino')
    st = os.stat(mnt + '/f.txt')
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert st.st_ino != srv_ino, 'noserverino: local inode numbers'
    t.umount(mnt)


def test_ro_option_and_ro_share(t):
    t.write_server('rw', 'f.txt', b'ro option')
    t.write_server('ro', 'g.txt', b'ro share')
    mnt = t.mount('rw', 'ro')
    assert 'ro' in proc_mount_line(mnt)[2]
    assert _read(mnt + '/f.txt') == b'ro option'
    for fn in (lambda: open(mnt + '/new.txt', 'w'), lambda: open(mnt + '/f.txt', 'a'),
               lambda: os.mkdir(mnt + '/dir'), lambda: os.unlink(mnt + '/f.txt')):
        try:
            fn()
        except OSError as e:
            assert e.errno == 30, 'expected EROFS, got %r' % e
        else:
            raise AssertionError('write on a ro mount succeeded')
    t.umount(mnt)
    mnt = t.mount('ro')
    assert _read(mnt + '/g.txt') == b'ro share'
    for fn in (lambda: open(mnt + '/new.txt', 'w'), lambda: os.mkdir(mnt + '/dir')):
        try:
            fn()
        except OSError as e:
            assert e.errno in (1, 13, 30), 'expected EACCES/EPERM/EROFS, got %r' % e
        else:
            raise AssertionError('write on a read-only share succeeded')
    t.umount(mnt)


def test_attribute_timeouts(t):
    path = t.write_server('rw', 'grow.txt', b'1')
    # actimeo=0: a change on the server shows at once
    mnt = t.mount('rw', 'actimeo=0')
    assert os.stat(mnt + '/grow.txt').st_size == 1
    with open(path, 'ab') as f:
        f.write(b'22')
    assert os.stat(mnt + '/grow.txt').st_size == 3
    t.umount(mnt)
    # actimeo=30: the kernel keeps the cached size (no lease to break it)
    mnt = t.mount('rw', 'actimeo=30')
    assert os.stat(mnt + '/grow.txt').st_size == 3
    with open(path, 'ab') as f:
        f.write(b'333')
    assert os.stat(mnt + '/grow.txt').st_size == 3, 'actimeo=30 did not cache attributes'
    t.umount(mnt)
    # acregmax/acdirmax win over actimeo: file attributes follow acregmax ...
    mnt = t.mount('rw', 'actimeo=30', 'acregmax=0')
    assert os.stat(mnt + '/grow.txt').st_size == 6
    with open(path, 'ab') as f:
        f.write(b'4')
    assert os.stat(mnt + '/grow.txt').st_size == 7
    t.umount(mnt)
    # ... and names (here: one known missing) follow acdirmax
    # (fstat: a path lookup with acdirmax=0 asks the server, attributes and all)
    mnt = t.mount('rw', 'actimeo=0', 'acregmax=30', 'acdirmax=0')
    fd = os.open(mnt + '/grow.txt', os.O_RDONLY)
    assert os.fstat(fd).st_size == 7
    assert not os.path.exists(mnt + '/appears.txt')
    with open(path, 'ab') as f:
        f.write(b'5')
    t.write_server('rw', 'appears.txt', b'new')
    assert os.fstat(fd).st_size == 7, 'acregmax=30 did not cache file attributes'
    assert os.path.exists(mnt + '/appears.txt'), 'acdirmax=0 kept a negative entry'
    os.close(fd)
    t.umount(mnt)


# ====================================================================== credentials

def test_credentials_file(t):
    s = t.srv
    t.write_server('rw', 'c.txt', b'cred')
    cred = _cred_file(t, s)
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt, '-o', 'credentials=' + cred], env=clean_env())
    assert r.ok, r
    assert _read(mnt + '/c.txt') == b'cred'
    t.umount(mnt)
    # smbclient's "key = value" form and the short keys
    cred2 = write_creds(os.path.join(t.scratch, 'cred2'),
                        'user = %s\npass = %s\ndomain = SMBFTEST\n' % (s.user, s.password))
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt, '-o', 'cred=' + cred2], env=clean_env())
    assert r.ok, r
    t.umount(mnt)


def test_credentials_file_permissions(t):
    s = t.srv
    cred = _cred_file(t, s, mode=0o644)
    with fake_server('count') as fs:
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'credentials=' + cred], env=clean_env())
        line = assert_failed(t, r, r"credentials file '%s' is accessible by group or others "
                                   r"\(mode 0644\); chmod 600 it, or add -o insecure_cred_ok"
                             % re.escape(cred), code=1, secrets=[s.password])
        os.chmod(cred, 0o640)
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'credentials=' + cred], env=clean_env())
        assert_failed(t, r, r'mode 0640', code=1)
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'credentials=/nonexistent/cred'], env=clean_env())
        assert_failed(t, r, r"cannot open credentials file '/nonexistent/cred'", code=1)
        bad = write_creds(os.path.join(t.scratch, 'bad'), 'usr=x\n')
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'credentials=' + bad], env=clean_env())
        assert_failed(t, r, r"line 1: unknown key 'usr'", code=1)
        time.sleep(0.2)
        assert fs.connections == 0
    assert line
    # insecure_cred_ok accepts it
    os.chmod(cred, 0o644)
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt, '-o', 'credentials=%s,insecure_cred_ok' % cred],
             env=clean_env())
    assert r.ok, r
    t.umount(mnt)


def test_environment_user_passwd(t):
    s = t.srv
    t.write_server('rw', 'e.txt', b'env')
    # USER and PASSWD
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt], env=clean_env(USER=s.user, PASSWD=s.password))
    assert r.ok, r
    pid = daemon_pid(mnt)
    assert s.password.encode() not in read_proc(pid, 'environ'), 'PASSWD left in environ'
    assert s.password.encode() not in read_proc(pid, 'cmdline')
    t.umount(mnt)
    # USER=user%password
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt], env=clean_env(USER='%s%%%s' % (s.user, s.password)))
    assert r.ok, r
    t.umount(mnt)
    # PASSWD_FILE
    pwf = write_creds(os.path.join(t.scratch, 'pw'), s.password + '\n')
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt, '-o', 'username=' + s.user],
             env=clean_env(PASSWD_FILE=pwf))
    assert r.ok, r
    t.umount(mnt)
    # PASSWD_FD
    rfd, wfd = os.pipe()
    os.write(wfd, (s.password + '\n').encode())
    os.close(wfd)
    mnt = t.new_mountpoint()
    t._mounts.append(mnt)
    p = subprocess.run([t.smbfuse, s.unc('rw'), mnt, '-o', 'username=' + s.user],
                       env=clean_env(PASSWD_FD=str(rfd)), pass_fds=(rfd,),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    os.close(rfd)
    assert p.returncode == 0, p.stderr
    assert _wait_mounted(t, mnt)
    t.umount(mnt)
    # options win over the environment
    mnt = t.new_mountpoint()
    r = _run(t, [s.unc('rw'), mnt, '-o', _creds_opt(s)],
             env=clean_env(USER='nobody-else', PASSWD='wrong'))
    assert r.ok, r
    t.umount(mnt)


def test_password_prompt_on_terminal(t):
    """No password anywhere and a terminal: smbfuse asks, without echo."""
    s = t.srv
    t.write_server('rw', 'p.txt', b'prompt')
    mnt = t.new_mountpoint()
    t._mounts.append(mnt)
    argv = [t.smbfuse, s.unc('rw'), mnt, '-o', 'username=' + s.user]
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal
        try:
            os.execve(argv[0], argv, clean_env())
        finally:
            os._exit(127)
    out = b''

    def read_until(pred, timeout):
        nonlocal out
        deadline = time.monotonic() + timeout
        while not pred(out) and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    try:
        read_until(lambda o: b'Password for ' in o, 15)
        assert ('Password for %s@127.0.0.1: ' % s.user).encode() in out, out
        before = len(out)
        os.write(fd, (s.password + '\n').encode())
        _, status = os.waitpid(pid, 0)
        read_until(lambda o: False, 0.5)
        pid = None
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, out)
    assert s.password.encode() not in out, 'the password was echoed: %r' % out
    assert out[before:].strip() == b'', 'unexpected terminal output: %r' % out[before:]
    assert _wait_mounted(t, mnt)
    assert _read(mnt + '/p.txt') == b'prompt'
    t.umount(mnt)


def test_no_password_without_terminal(t):
    s = t.srv
    r = _run(t, [s.unc('rw'), t.new_mountpoint(), '-o', 'username=' + s.user],
             env=clean_env())
    assert_failed(t, r, r"logon failure for user '%s'.*no password was given" % s.user)


def test_password_not_in_cmdline(t):
    s = t.srv
    for argv_opts in (['-o', _creds_opt(s)],
                      ['-ousername=%s,password=%s' % (s.user, s.password)],
                      ['-o', 'username=%s%%%s' % (s.user, s.password)],
                      ['-o', 'user=%s' % s.user, '-o', 'pass=%s' % s.password]):
        mnt = t.new_mountpoint()
        r = _run(t, [s.unc('rw'), mnt] + argv_opts, env=clean_env())
        assert r.ok, r
        pid = daemon_pid(mnt)
        cmdline = read_proc(pid, 'cmdline')
        assert s.password.encode() not in cmdline, 'password visible: %r' % cmdline
        assert b'*' * len(s.password) in cmdline, cmdline
        ps = subprocess.run(['ps', '-o', 'args=', '-p', str(pid)], capture_output=True,
                            text=True).stdout
        assert s.password not in ps
        t.umount(mnt)


# ====================================================================== SIGHUP

@harness.timeout(180)
def test_sighup_rereads_credentials(t):
    """A changed password reaches the next reconnect after SIGHUP."""
    if not shutil.which('smbpasswd') and not os.path.exists('/usr/bin/smbpasswd'):
        t.skip('smbpasswd not installed')
    with private_server(t) as srv:
        open(os.path.join(srv.share_path('rw'), 'h.txt'), 'wb').write(b'hup')
        cred = write_creds(os.path.join(t.scratch, 'cred'),
                           'username=%s\npassword=%s\n' % (srv.user, srv.password))
        mnt = t.new_mountpoint()
        t._mounts.append(mnt)
        errpath = os.path.join(t.scratch, 'hup.err')
        with open(errpath, 'wb') as err:
            p = subprocess.Popen([t.smbfuse, srv.unc('rw'), mnt, '-f', '-o',
                                  'credentials=%s,loglevel=info,echo_interval=1,soft' % cred],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err, env=clean_env())
        try:
            assert _wait_mounted(t, mnt), _read(errpath)
            assert _read(mnt + '/h.txt') == b'hup'
            # a malformed file is refused and the old password kept
            write_creds(cred, 'username=%s\n' % srv.user)
            p.send_signal(signal.SIGHUP)
            _wait_log(errpath, rb'no password= line')
            new = 'New' + os.urandom(8).hex()
            set_samba_password(srv, new)
            write_creds(cred, 'username=%s\npassword=%s\n' % (srv.user, new))
            p.send_signal(signal.SIGHUP)
            log = _wait_log(errpath, rb'SIGHUP: (re-read|could not)')
            if b'cannot hand a new password' in log:
                t.skip('SIGHUP re-reads and checks the file, but the client has no '
                       'smbc_set_password() yet')
            assert p.poll() is None, 'SIGHUP ended the daemon'
            assert b'the new password is used from the next reconnect' in log, log
            # force a reconnect: it must log on with the new password
            srv.crash()
            srv.restart()
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _read(mnt + '/h.txt') == b'hup':
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, _read(errpath)
                time.sleep(0.5)
            assert re.search(rb'reconnected', _read(errpath)), _read(errpath)
            assert new.encode() not in _read(errpath)
            t.umount(mnt)
            assert p.wait(timeout=15) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def _wait_log(path, pattern, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        log = _read(path)
        if re.search(pattern, log):
            return log
        assert time.monotonic() < deadline, 'no %r in the log:\n%s' % (pattern, log.decode())
        time.sleep(0.1)


# ====================================================================== mount(8), fstab

def test_mount_t_fuse_program_form(t):
    """mount -t fuse 'PROGRAM#SOURCE' MNT: mount.fuse3 runs PROGRAM."""
    if not shutil.which('mount.fuse3', path='/sbin:/usr/sbin:' + os.environ.get('PATH', '')):
        t.skip('mount.fuse3 not installed')
    s = t.srv
    t.write_server('rw', 'm.txt', b'mount -t fuse')
    cred = _cred_file(t, s)
    mnt = t.new_mountpoint()
    t._mounts.append(mnt)
    r = subprocess.run(['mount', '-t', 'fuse', '%s#%s' % (t.smbfuse, s.unc('rw')), mnt, '-o',
                        'credentials=%s,_netdev,nofail,noauto,x-systemd.automount,uid=4321'
                        % cred], capture_output=True, text=True, timeout=60,
                       env=clean_env())
    assert r.returncode == 0, r.stderr
    assert _wait_mounted(t, mnt)
    assert _read(mnt + '/m.txt') == b'mount -t fuse'
    assert os.stat(mnt + '/m.txt').st_uid == 4321
    src, fstype, _ = proc_mount_line(mnt)
    assert (src, fstype) == (s.unc('rw'), 'fuse.smbfuse'), (src, fstype)
    r = subprocess.run(['umount', mnt], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    wait_unmounted_and_gone(t, mnt)


def _namespace_mount_script(t, bindir, body):
    """A script for a private mount namespace in which `smbfuse` is found the
    way mount.fuse3 finds it on an installed system (mount(8) clears PATH,
    so sh searches /usr/local/sbin:/usr/local/bin:/usr/sbin:...)."""
    return ('mount --bind %s /usr/local/sbin\n' % bindir) + body


def _namespace_prereq(t):
    if not unshare_available():
        t.skip('needs root and unshare(1) for a private mount namespace')
    if not os.path.isdir('/usr/local/sbin'):
        t.skip('/usr/local/sbin missing')


@harness.timeout(120)
def test_mount_t_fuse_smbfuse(t):
    """mount -t fuse.smbfuse //server/share MNT -o ... through mount.fuse3."""
    _namespace_prereq(t)
    s = t.srv
    t.write_server('rw', 'n.txt', b'fuse.smbfuse')
    cred = _cred_file(t, s)
    bindir = tempfile.mkdtemp(dir=t.scratch)
    os.chmod(bindir, 0o755)
    copy_binary(t.smbfuse, bindir)
    mnt = t.new_mountpoint()
    script = _namespace_mount_script(t, bindir, '''
mount -t fuse.smbfuse %(unc)s %(mnt)s -o \\
    credentials=%(cred)s,_netdev,nofail,user,noauto,x-systemd.automount,file_mode=0600
grep " %(mnt)s " /proc/self/mounts
cat %(mnt)s/n.txt; echo
stat -c %%a %(mnt)s/n.txt
umount %(mnt)s
echo unmounted
''' % {'unc': s.unc('rw'), 'mnt': mnt, 'cred': cred})
    r = run_in_namespace(script, env=clean_env())
    assert r.returncode == 0, 'rc %d\n%s%s' % (r.returncode, r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert lines[0].startswith('%s %s fuse.smbfuse ' % (s.unc('rw'), mnt)), r.stdout
    # mount(8) turns "user" into nosuid,nodev,noexec and drops the fstab-only options
    assert 'noexec' in lines[0], lines[0]
    assert lines[1:4] == ['fuse.smbfuse', '600', 'unmounted'], r.stdout


@harness.timeout(120)
def test_fstab_line(t):
    """An fstab line (private fstab, mount -T) mounts by mountpoint and by source."""
    _namespace_prereq(t)
    s = t.srv
    t.write_server('rw', 'sub/f.txt', b'fstab line')
    cred = _cred_file(t, s)
    bindir = tempfile.mkdtemp(dir=t.scratch)
    os.chmod(bindir, 0o755)
    copy_binary(t.smbfuse, bindir)
    mnt = t.new_mountpoint()
    fstab = os.path.join(t.scratch, 'fstab')
    with open(fstab, 'w') as f:
        f.write('# test fstab\n%s/sub %s fuse.smbfuse credentials=%s,uid=1000,gid=1000,'
                '_netdev,nofail,noauto,x-systemd.automount,x-systemd.idle-timeout=60 0 0\n'
                % (s.unc('rw'), mnt, cred))
    script = _namespace_mount_script(t, bindir, '''
mount -T %(fstab)s %(mnt)s
cat %(mnt)s/f.txt; echo
stat -c '%%u %%g' %(mnt)s/f.txt
umount %(mnt)s
mount -T %(fstab)s %(unc)s/sub
grep -c " %(mnt)s fuse.smbfuse " /proc/self/mounts
umount %(mnt)s
echo done
''' % {'fstab': fstab, 'mnt': mnt, 'unc': s.unc('rw')})
    r = run_in_namespace(script, env=clean_env())
    assert r.returncode == 0, 'rc %d\n%s%s' % (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == ['fstab line', '1000 1000', '1', 'done'], r.stdout


@harness.timeout(120)
def test_unprivileged_user_mount(t):
    """A plain user mounts on a directory they own (fusermount3) and unmounts."""
    if os.geteuid() != 0:
        t.skip('needs root to create a throwaway user')
    useradd = shutil.which('useradd', path='/usr/sbin:/sbin:' + os.environ.get('PATH', ''))
    userdel = shutil.which('userdel', path='/usr/sbin:/sbin:' + os.environ.get('PATH', ''))
    setpriv = shutil.which('setpriv')
    if not (useradd and userdel and setpriv and shutil.which('fusermount3')):
        t.skip('needs useradd, userdel, setpriv and fusermount3')
    s = t.srv
    t.write_server('rw', 'u.txt', b'unprivileged')
    name = 'smbfu%d' % (os.getpid() % 100000)
    r = subprocess.run([useradd, '-M', '-N', '-s', '/bin/sh', name], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        t.skip('useradd failed: %s' % r.stderr.strip())
    try:
        import pwd
        pw = pwd.getpwnam(name)
        base = tempfile.mkdtemp(prefix='unpriv-', dir='/tmp')
        os.chmod(base, 0o755)
        try:
            bin_ = copy_binary(t.smbfuse, base)
            mnt = os.path.join(base, 'mnt')
            os.mkdir(mnt)
            os.chown(mnt, pw.pw_uid, pw.pw_gid)
            cred = write_creds(os.path.join(base, 'cred'),
                               'username=%s\npassword=%s\n' % (s.user, s.password),
                               owner=(pw.pw_uid, pw.pw_gid))
            t._mounts.append(mnt)
            as_user = '%s --reuid=%d --regid=%d --clear-groups' % (setpriv, pw.pw_uid,
                                                                  pw.pw_gid)
            body = '''
%(u)s %(bin)s %(unc)s %(mnt)s -o credentials=%(cred)s
%(u)s cat %(mnt)s/u.txt; echo
%(u)s touch %(mnt)s/made-by-user
grep " %(mnt)s " /proc/self/mounts
%(u)s fusermount3 -u %(mnt)s
i=0; while grep -q " %(mnt)s " /proc/self/mounts; do i=$((i+1)); [ $i -lt 50 ]; sleep 0.1; done
echo unmounted
''' % {'u': as_user, 'bin': bin_, 'unc': s.unc('rw'), 'mnt': mnt, 'cred': cred}
            other_ok = os.stat('/dev/fuse').st_mode & 0o006 == 0o006
            if other_ok:
                r = subprocess.run(['sh', '-ec', body], capture_output=True, text=True,
                                   timeout=90, env=clean_env())
            else:
                # This machine's /dev/fuse is root-only (a container); Debian's
                # is 0666. Give the user a 0666 node for the same device in a
                # private mount namespace.
                if not unshare_available():
                    t.skip('/dev/fuse is not accessible to other users here')
                devdir = tempfile.mkdtemp(dir=base)
                st = os.stat('/dev/fuse')
                pre = ('mount -t tmpfs none %s\nmknod -m 666 %s/fuse c %d %d\n'
                       'mount --bind %s/fuse /dev/fuse\n' % (devdir, devdir,
                                                             os.major(st.st_rdev),
                                                             os.minor(st.st_rdev), devdir))
                r = run_in_namespace(pre + body, timeout=90, env=clean_env())
                if r.returncode != 0 and 'mknod' in r.stderr:
                    t.skip('cannot make a user-accessible /dev/fuse here: %s' % r.stderr)
            assert r.returncode == 0, 'rc %d\n%s%s' % (r.returncode, r.stdout, r.stderr)
            lines = r.stdout.splitlines()
            assert lines[0] == 'unprivileged', r.stdout
            assert 'fuse.smbfuse' in lines[1] and 'user_id=%d' % pw.pw_uid in lines[1], lines
            assert lines[2] == 'unmounted', r.stdout
            assert os.path.exists(os.path.join(t.share_path('rw'), 'made-by-user'))
        finally:
            subprocess.run(['umount', '-l', os.path.join(base, 'mnt')],
                           capture_output=True)
            shutil.rmtree(base, ignore_errors=True)
    finally:
        subprocess.run(['pkill', '-KILL', '-u', name], capture_output=True)
        subprocess.run([userdel, name], capture_output=True, timeout=30)


# ====================================================================== failures

def test_error_host_not_found(t):
    mnt = t.new_mountpoint()
    argv = ['//no-such-host.invalid/rw', mnt, '-o', 'username=u,password=p']
    if unshare_available():
        # hosts from /etc/hosts only: the answer does not depend on this
        # machine's DNS (none, slow, or a resolver that answers everything)
        nss = os.path.join(t.scratch, 'nsswitch.conf')
        with open(nss, 'w') as f:
            f.write('hosts: files\n')
        binary = copy_binary(t.smbfuse, tempfile.mkdtemp(dir=t.scratch))
        os.chmod(os.path.dirname(binary), 0o755)
        r = run_in_namespace('mount --bind %s /etc/nsswitch.conf\nexec %s %s\n' % (
            nss, binary, ' '.join("'%s'" % a for a in argv)), env=clean_env())
        r = MountResult(r.returncode, r.stdout, r.stderr, mnt, False, argv)
    else:
        r = _run(t, argv)
    assert_failed(t, r, r"host 'no-such-host\.invalid' not found")


def test_error_connection_refused(t):
    with fake_server('count') as fs:
        port = fs.port
    r = _run(t, ['//127.0.0.1:%d/rw' % port, t.new_mountpoint(), '-o', 'username=u,password=p'])
    assert_failed(t, r, r"connection to 127\.0\.0\.1 port %d refused" % port)


def test_error_connect_timeout(t):
    with fake_server('blackhole') as fs:
        t0 = time.monotonic()
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'username=u,password=p,conn_timeout=2'])
        took = time.monotonic() - t0
    assert_failed(t, r, r"connection to 127\.0\.0\.1 port %d timed out" % fs.port)
    assert 1.5 < took < 10, took


def test_error_negotiate_timeout(t):
    with fake_server('silent') as fs:
        t0 = time.monotonic()
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'username=u,password=p,req_timeout=2'])
        took = time.monotonic() - t0
    assert_failed(t, r, r"negotiate with 127\.0\.0\.1 failed: no answer \(timed out\)")
    assert 1.5 < took < 10, took


def test_error_smb1_only_server(t):
    with fake_server('smb1') as fs:
        r = _run(t, ['//127.0.0.1:%d/rw' % fs.port, t.new_mountpoint(), '-o',
                     'username=u,password=p'])
    assert_failed(t, r, r"server 127\.0\.0\.1 speaks only SMB1")


def test_error_no_common_dialect(t):
    with private_server(t, extra_global={'server min protocol': 'SMB3'}) as srv:
        r = _run(t, [srv.unc('rw'), t.new_mountpoint(), '-o',
                     'username=%s,password=%s,vers=2.0' % (srv.user, srv.password)])
    assert_failed(t, r, r"server 127\.0\.0\.1 supports none of the requested SMB dialects "
                        r"\(2\.0\.2 to 2\.0\.2\)", secrets=[srv.password])


def test_error_encryption_unavailable(t):
    s = t.srv
    r = t.try_mount('rw', 'vers=2.1', 'seal')
    assert_failed(t, r, r"encryption \(seal\) was required but 127\.0\.0\.1 negotiated "
                        r"SMB 2\.1", secrets=[s.password])
    # the sealed share without encryption
    r = t.try_mount('sealed', 'vers=2.1')
    assert_failed(t, r, r"share 'sealed'.*(encrypt|denied)")


def test_error_signing_unavailable(t):
    """A server that maps unknown users to guest cannot sign for them."""
    with private_server(t, extra_global={'map to guest': 'Bad User'},
                        extra_shares={'pub': {'guest ok': 'yes', 'valid users': ''}}) as srv:
        r = _run(t, [srv.unc('pub'), t.new_mountpoint(), '-o',
                     'username=nosuchuser,password=x,sign'])
        assert_failed(t, r, r"logged 'nosuchuser' on as guest, which cannot sign or encrypt")
        r = _run(t, [srv.unc('pub'), t.new_mountpoint(), '-o',
                     'username=nosuchuser,password=x'])
        assert_failed(t, r, r"accepted 'nosuchuser' only as guest; add -o guest")


def test_error_logon_failure(t):
    s = t.srv
    bad = 'Wrong-' + os.urandom(6).hex()
    r = t.try_mount('rw', password=bad)
    assert_failed(t, r, r"logon failure for user '%s' on 127\.0\.0\.1: wrong username or "
                        r"password" % s.user, secrets=[bad, s.password])
    r = t.try_mount('rw', user='nosuchuser')
    assert_failed(t, r, r"logon failure for user 'nosuchuser'", secrets=[s.password])


def _account_case(t, pdb_args, pattern, policy=None, sleep=0):
    with private_server(t) as srv:
        if policy:
            pdbedit(srv, '-P', policy[0], '-C', str(policy[1]))
        if pdb_args:
            pdbedit(srv, '-r', '-u', srv.user, *pdb_args)
        time.sleep(sleep)
        r = _run(t, [srv.unc('rw'), t.new_mountpoint(), '-o',
                     'username=%s,password=%s' % (srv.user, srv.password)])
        assert_failed(t, r, pattern % {'u': re.escape(srv.user)}, secrets=[srv.password])


def test_error_account_disabled(t):
    _account_case(t, ['-c', '[D]'], r"account '%(u)s' is disabled on 127\.0\.0\.1")


def test_error_account_expired(t):
    _account_case(t, ['-K', '978307200'], r"account '%(u)s' has expired on 127\.0\.0\.1")


def test_error_password_expired(t):
    _account_case(t, None, r"the password of '%(u)s' has expired on 127\.0\.0\.1",
                  policy=('maximum password age', 1), sleep=2)


def test_error_account_locked_out(t):
    with private_server(t) as srv:
        pdbedit(srv, '-P', 'bad lockout attempt', '-C', '1')
        _run(t, [srv.unc('rw'), t.new_mountpoint(), '-o',
                 'username=%s,password=wrong' % srv.user])
        r = _run(t, [srv.unc('rw'), t.new_mountpoint(), '-o',
                     'username=%s,password=%s' % (srv.user, srv.password)])
        assert_failed(t, r, r"account '%s' is locked out on 127\.0\.0\.1" % srv.user,
                      secrets=[srv.password])


def test_error_share_access_denied(t):
    with private_server(t, extra_shares={'denied': {'valid users': 'nobody'}}) as srv:
        r = _run(t, [srv.unc('denied'), t.new_mountpoint(), '-o',
                     'username=%s,password=%s' % (srv.user, srv.password)])
        assert_failed(t, r, r"access to share 'denied' on 127\.0\.0\.1 denied for this user",
                      secrets=[srv.password])


def test_error_share_not_found(t):
    r = t.try_mount('nosuchshare')
    assert_failed(t, r, r"share 'nosuchshare' not found on 127\.0\.0\.1",
                  secrets=[t.srv.password])


def test_error_mountpoint(t):
    with fake_server('count') as fs:
        unc = '//127.0.0.1:%d/rw' % fs.port
        missing = os.path.join(t.scratch, 'no-such-dir')
        r = _run(t, [unc, missing, '-o', 'username=u,password=p'])
        assert_failed(t, r, r"mountpoint '%s' does not exist" % re.escape(missing), code=1)
        afile = os.path.join(t.scratch, 'a-file')
        open(afile, 'w').close()
        r = _run(t, [unc, afile, '-o', 'username=u,password=p'])
        assert_failed(t, r, r"mountpoint '%s' is not a directory" % re.escape(afile), code=1)
        r = _run(t, [unc])
        assert_failed(t, r, r"missing mountpoint", code=1)
        r = _run(t, [])
        assert_failed(t, r, r"missing share", code=1)
        time.sleep(0.2)
        assert fs.connections == 0


def test_mount_over_nonempty_directory(t):
    """Like mount.cifs (and FUSE 3), a non-empty directory is covered, not refused."""
    t.write_server('rw', 'remote.txt', b'remote')
    mnt = t.new_mountpoint()
    with open(os.path.join(mnt, 'local.txt'), 'w') as f:
        f.write('hidden while mounted')
    mnt = t.mount('rw', mnt=mnt)
    assert os.listdir(mnt) == ['remote.txt']
    t.umount(mnt)
    assert os.listdir(mnt) == ['local.txt']


def test_error_fuse_unavailable(t):
    """Without /dev/fuse (hidden in a private mount namespace) the error says so."""
    if not unshare_available():
        t.skip('needs root and unshare(1) to hide /dev/fuse')
    bindir = tempfile.mkdtemp(dir=t.scratch)
    os.chmod(bindir, 0o755)
    binary = copy_binary(t.smbfuse, bindir)
    mnt = t.new_mountpoint()
    with fake_server('count') as fs:
        r = run_in_namespace('mount -t tmpfs none /dev\nexec %s //127.0.0.1:%d/rw %s -o '
                             'username=u,password=p\n' % (binary, fs.port, mnt),
                             env=clean_env())
        time.sleep(0.2)
        assert fs.connections == 0
    res = MountResult(r.returncode, r.stdout, r.stderr, mnt, False, [])
    assert_failed(t, res, r"FUSE is not available \(/dev/fuse: No such file or directory\)",
                  code=2)
