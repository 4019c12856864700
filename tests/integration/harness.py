"""Helpers for smbfuse integration tests (standard library only).

Every test is a function ``test_<name>(t)`` in tests/integration/test_*.py; run.py
runs each in its own process with its own mount directory and timeout and
passes it a ``TestContext`` ``t``:

    def test_read(t):
        t.write_server('rw', 'a.txt', b'hello')     # straight into the share dir
        mnt = t.mount('rw')                         # smbfuse //127.0.0.1:PORT/rw
        assert open(mnt + '/a.txt', 'rb').read() == b'hello'
        t.umount(mnt)                               # fusermount3 -u; also automatic

    t.mount(share, *opts, server='main'|'signing', ...)  -> mountpoint (raises on failure)
    t.try_mount(...)        -> MountResult(rc, stdout, stderr, mnt, mounted), never raises
    t.umount(mnt)           fusermount3 -u, waits until /proc/mounts no longer lists it
    t.is_mounted(mnt)       listed in /proc/mounts as fuse.smbfuse
    t.server(name)          ServerInfo: host, port, user, password, shares, unc(share)
    t.share_path(share)     server-side directory of a share
    t.skip(msg)             raise Skip
Whatever a test mounts is unmounted when it ends, passes or not.
"""

import os
import socket
import subprocess
import tempfile
import time

from smbfixture import force_unmount, fuse_mounts

FSTYPE = 'fuse.smbfuse'


class Skip(Exception):
    """Raised by a test (t.skip) to report SKIP instead of PASS/FAIL."""


def timeout(seconds):
    """Decorator: per-test timeout in seconds (default 120)."""
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


def restarts_server(fn):
    """Mark a test that crashes and restarts smbd itself (ServerInfo.crash/restart):
    the runner then replaces the server afterwards instead of failing the test."""
    fn.restarts_server = True
    return fn


class ServerInfo:
    def __init__(self, d):
        self.__dict__.update(d)

    def unc(self, share, with_port=True):
        if with_port:
            return '//%s:%d/%s' % (self.host, self.port, share)
        return '//%s/%s' % (self.host, share)

    def crash(self):
        """SIGKILL this server's smbd and every helper, as a crash would."""
        import smbfixture

        def samba_pids():
            # everything started under this server's directory, except smbfuse
            # daemons whose mountpoints live there too
            out = []
            for pid in smbfixture._pids_with_arg(self.tmpdir + os.sep):
                try:
                    with open('/proc/%d/cmdline' % pid, 'rb') as f:
                        argv0 = f.read().split(b'\0')[0]
                except OSError:
                    continue
                if b'smbfuse' not in os.path.basename(argv0):
                    out.append(pid)
            return out

        smbfixture._kill_pids(samba_pids(), grace=0.5)
        deadline = time.monotonic() + 10
        while samba_pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self):
        """Start smbd again with the same configuration and port after crash().

        The parent's fixture still cleans it up: it kills by the temp dir in argv."""
        import smbfixture
        log = open(os.path.join(self.tmpdir, 'smbd.log'), 'ab')
        try:
            subprocess.Popen([smbfixture.find_tool('smbd'), '-F', '--no-process-group',
                              '--debug-stdout', '-d', '1', '-s', self.conf],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True)
        finally:
            log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError('smbd did not come back on port %d' % self.port)


class MountResult:
    def __init__(self, rc, stdout, stderr, mnt, mounted, argv):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.mnt, self.mounted, self.argv = mnt, mounted, argv

    @property
    def ok(self):
        return self.rc == 0 and self.mounted

    def __repr__(self):
        return 'MountResult(rc=%r, mounted=%r, stderr=%r)' % (self.rc, self.mounted, self.stderr)


def mounted_type(mnt):
    """fstype of mnt in /proc/mounts, or None."""
    mnt = os.path.abspath(mnt)
    for _, m, fstype in fuse_mounts(''):
        if m == mnt:
            return fstype
    return None


class TestContext:
    def __init__(self, state, name):
        self.name = name
        self.smbfuse = state['smbfuse']
        self.servers = {k: ServerInfo(v) for k, v in state['servers'].items()}
        self.workdir = state['workdir']     # per-test, removed by the runner
        self.mntdir = os.path.join(self.workdir, 'mnt')
        self.scratch = os.path.join(self.workdir, 'scratch')
        os.makedirs(self.mntdir, exist_ok=True)
        os.makedirs(self.scratch, exist_ok=True)
        self._mounts = []
        self._n = 0

    # ------------------------------------------------------------ servers

    def server(self, name='main'):
        return self.servers[name]

    @property
    def srv(self):
        return self.servers['main']

    def share_path(self, share, server='main'):
        return self.servers[server].shares[share]

    def write_server(self, share, relpath, data, server='main'):
        """Create a file (and parent dirs) directly in the share directory."""
        path = os.path.join(self.share_path(share, server), relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = 'wb' if isinstance(data, bytes) else 'w'
        with open(path, mode) as f:
            f.write(data)
        return path

    def skip(self, msg):
        raise Skip(msg)

    # ------------------------------------------------------------ mounting

    def new_mountpoint(self, tag='m'):
        self._n += 1
        p = os.path.join(self.mntdir, '%s%d' % (tag, self._n))
        os.makedirs(p, exist_ok=True)
        return p

    def run_smbfuse(self, args, timeout=30, env=None):
        """Run the smbfuse binary; stdout/stderr go to files (a daemon that
        keeps inherited descriptors open cannot hang us). Returns (rc, out, err)."""
        with tempfile.TemporaryFile(dir=self.scratch) as out, \
                tempfile.TemporaryFile(dir=self.scratch) as err:
            p = subprocess.Popen([self.smbfuse] + list(args), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, env=env)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
            out.seek(0)
            err.seek(0)
            return (rc, out.read().decode('utf-8', 'replace'),
                    err.read().decode('utf-8', 'replace'))

    def try_mount(self, share=None, *opts, server='main', unc=None, mnt=None,
                  user=None, password=None, creds=True, port_in_unc=True,
                  timeout=30, wait=10.0):
        """Run `smbfuse UNC MNT -o username=U,password=P[,opts]`; never raises.

        unc overrides the //host:port/share source; creds=False leaves
        username/password out of -o (pass them yourself in opts).
        """
        s = self.servers[server]
        if unc is None:
            unc = s.unc(share, with_port=port_in_unc)
        if mnt is None:
            mnt = self.new_mountpoint()
        o = []
        if creds:
            o += ['username=%s' % (s.user if user is None else user),
                  'password=%s' % (s.password if password is None else password)]
        o += [x for x in opts if x]
        argv = [unc, mnt] + (['-o', ','.join(o)] if o else [])
        self._mounts.append(mnt)
        rc, out, err = self.run_smbfuse(argv, timeout=timeout)
        mounted = False
        if rc == 0:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if mounted_type(mnt) is not None:
                    mounted = True
                    break
                time.sleep(0.05)
        else:
            mounted = mounted_type(mnt) is not None
        return MountResult(rc, out, err, mnt, mounted, argv)

    def mount(self, share=None, *opts, **kw):
        """Mount and return the mountpoint; AssertionError with stderr on failure."""
        r = self.try_mount(share, *opts, **kw)
        if r.rc is None:
            raise AssertionError('smbfuse did not exit within the timeout: %s' % r.stderr)
        if r.rc != 0:
            raise AssertionError('smbfuse %s failed (exit %d): %s' % (
                r.argv[0], r.rc, r.stderr.strip() or '(no stderr)'))
        if not r.mounted:
            raise AssertionError('smbfuse exited 0 but %s is not in /proc/mounts' % r.mnt)
        fstype = mounted_type(r.mnt)
        if fstype != FSTYPE:
            raise AssertionError('%s mounted as %s, expected %s' % (r.mnt, fstype, FSTYPE))
        return r.mnt

    def is_mounted(self, mnt):
        return mounted_type(mnt) == FSTYPE

    def umount(self, mnt, timeout=15):
        """fusermount3 -u MNT; AssertionError if it fails or the mount stays."""
        r = subprocess.run(['fusermount3', '-u', mnt], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError('fusermount3 -u %s failed: %s' % (mnt, r.stderr.strip()))
        deadline = time.monotonic() + timeout
        while mounted_type(mnt) is not None:
            if time.monotonic() > deadline:
                raise AssertionError('%s still mounted after fusermount3 -u' % mnt)
            time.sleep(0.05)

    def cleanup(self):
        """Unmount whatever this test mounted (lazily and forcibly if needed)."""
        for m in reversed(self._mounts):
            force_unmount(m)  # also ends a daemon left serving m
