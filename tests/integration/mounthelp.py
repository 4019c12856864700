"""Helpers for test_mount.py: fake servers, private Samba servers, daemon lookup.

Standard library only. Not a test module (run.py collects test_*.py only).

    with fake_server('smb1') as port: ...     # answers everything with an SMB1 header
    with fake_server('silent') as port: ...   # accepts, never answers
    with fake_server('blackhole') as port: ...# full accept queue: connect() hangs
    with fake_server('count') as fs: fs.port, fs.connections   # counts connections
    with private_server(t, extra_global={...}) as srv: ...     # its own smbd
"""

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

from smbfixture import SambaServer, find_tool

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeServer:
    """A TCP listener on 127.0.0.1 that misbehaves in one chosen way."""

    def __init__(self, mode):
        self.mode = mode
        self.connections = 0
        self._socks = []
        self._stop = threading.Event()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.port = self.ls.getsockname()[1]
        if mode == 'blackhole':
            # backlog 0 and never accept: once the queue is full the kernel
            # drops further SYNs, so a client's connect() times out
            self.ls.listen(0)
            for _ in range(3):
                c = socket.socket()
                c.setblocking(False)
                try:
                    c.connect(('127.0.0.1', self.port))
                except (BlockingIOError, OSError):
                    pass
                self._socks.append(c)
            time.sleep(0.2)
            self.thread = None
        else:
            self.ls.listen(16)
            self.ls.settimeout(0.2)
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self._socks.append(c)
            if self.mode == 'smb1':
                threading.Thread(target=self._answer_smb1, args=(c,), daemon=True).start()
            # 'silent' and 'count': keep the socket open, say nothing

    @staticmethod
    def _answer_smb1(c):
        # An SMB1 NEGOTIATE response header (0xFF 'SMB', command 0x72) with
        # "no dialect chosen" (0xFFFF), as an SMB1-only server answers SMB2.
        try:
            c.settimeout(5)
            c.recv(65536)
            hdr = b'\xffSMB\x72' + b'\0' * 4 + b'\x88\x01\xc8' + b'\0' * 20
            body = b'\x01' + struct.pack('<H', 0xffff) + b'\0\0'
            pdu = hdr + body
            c.sendall(struct.pack('>I', len(pdu)) + pdu)
            time.sleep(0.5)
        except OSError:
            pass

    def close(self):
        self._stop.set()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        self.ls.close()
        if self.thread:
            self.thread.join(timeout=2)


@contextlib.contextmanager
def fake_server(mode):
    fs = FakeServer(mode)
    try:
        yield fs
    finally:
        fs.close()


@contextlib.contextmanager
def private_server(t, **kw):
    """A SambaServer of the test's own (atexit does not run in test children)."""
    srv = SambaServer(**kw)
    try:
        yield srv
    finally:
        srv.stop()


def pdbedit(srv, *args):
    r = subprocess.run([find_tool('pdbedit'), '-s', srv.conf] + list(args),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, 'pdbedit %s: %s%s' % (' '.join(args), r.stdout, r.stderr)


def set_samba_password(srv, password):
    """Change the Samba password of srv.user (smbpasswd as root needs no old one)."""
    tool = find_tool('smbpasswd')
    if not tool:
        return False
    r = subprocess.run([tool, '-c', srv.conf, '-s', srv.user],
                       input='%s\n%s\n' % (password, password), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, 'smbpasswd: %s%s' % (r.stdout, r.stderr)
    return True


def daemons_for(mnt):
    """Pids of processes with mnt as one of their arguments."""
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/cmdline' % d, 'rb') as f:
                    if os.fsencode(mnt) in f.read().split(b'\0'):
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def daemon_pid(mnt, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        pids = daemons_for(mnt)
        if len(pids) == 1:
            return pids[0]
        if time.monotonic() > deadline:
            raise AssertionError('expected one smbfuse process for %s, found %r' % (mnt, pids))
        time.sleep(0.05)


def read_proc(pid, name):
    with open('/proc/%d/%s' % (pid, name), 'rb') as f:
        return f.read()


def proc_mount_line(mnt):
    """(source, fstype, options) of mnt in /proc/mounts, or None."""
    with open('/proc/mounts') as f:
        for line in f:
            p = line.split()
            if len(p) >= 4 and p[1] == mnt:
                return p[0].replace('\\134', '\\'), p[2], p[3].split(',')
    return None


def write_creds(path, text, mode=0o600, owner=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    return path


def clean_env(**extra):
    """The environment minus anything that feeds smbfuse a user or a password."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('USER', 'PASSWD', 'PASSWD_FD', 'PASSWD_FILE', 'LOGNAME')}
    env.update(extra)
    return env


def assert_failed(t, r, pattern, code=32, mnt=None, secrets=()):
    """A failed start-up: exit code, exactly one line "smbfuse: ..." on stderr
    matching pattern (case-insensitive), no secret in it, nothing mounted."""
    assert r.rc is not None, 'smbfuse hung: %r' % (r,)
    assert r.rc == code, 'exit status %r, expected %d: %r' % (r.rc, code, r)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, 'expected one line on stderr, got %d: %r' % (len(lines), r.stderr)
    assert lines[0].startswith('smbfuse: '), 'stderr: %r' % r.stderr
    assert re.search(pattern, lines[0], re.I), 'stderr %r does not match %r' % (
        lines[0], pattern)
    for s in secrets:
        assert s not in r.stderr and s not in r.stdout, 'a secret leaked to the output'
    mnt = mnt or getattr(r, 'mnt', None)
    if mnt and os.path.isdir(mnt):
        assert not t.is_mounted(mnt), '%s stayed mounted after a failure' % mnt
        assert proc_mount_line(os.path.abspath(mnt)) is None, '%s is in /proc/mounts' % mnt
    return lines[0]


def wait_unmounted_and_gone(t, mnt, timeout=10):
    deadline = time.monotonic() + timeout
    while t.is_mounted(mnt) or daemons_for(mnt):
        assert time.monotonic() < deadline, 'mount or daemon for %s still there' % mnt
        time.sleep(0.05)


def copy_binary(smbfuse, dirpath):
    """A world-executable copy of smbfuse (the build tree may not be reachable
    by other users)."""
    dst = os.path.join(dirpath, 'smbfuse')
    shutil.copy2(smbfuse, dst)
    os.chmod(dst, 0o755)
    return dst


def unshare_available():
    if not shutil.which('unshare') or os.geteuid() != 0:
        return False
    r = subprocess.run(['unshare', '-m', '--propagation', 'private', 'true'],
                       capture_output=True, timeout=10)
    return r.returncode == 0


def run_in_namespace(script, timeout=60, env=None):
    """Run a sh script in a private mount namespace (mounts made there stay there)."""
    with tempfile.NamedTemporaryFile('w', suffix='.sh', delete=False) as f:
        f.write('set -e\n' + script)
        path = f.name
    try:
        return subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', path],
                              capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        os.unlink(path)
