"""The end of a mount: a killed daemon, a lazy unmount under a blocked caller.

Nothing may hang: a killed smbfuse leaves a mountpoint that answers ENOTCONN
at once, and `umount -l` of a hard mount whose server is gone returns at once;
an application blocked in it stays killable, and the daemon exits when the
last user of the detached mount is gone.
"""

import errno
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402

import harness  # noqa: E402
from mounthelp import daemon_pid  # noqa: E402


def _daemon_pid(mnt):
    """The smbfuse process serving mnt."""
    return daemon_pid(mnt)


def _gone(pid, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


# Opens a file, reads its start, says "ready"; on a line from stdin, reads far
# into the file (a random read: nothing of it is cached), which blocks.
_SEEKER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 4096)
print('ready', flush=True)
sys.stdin.readline()
os.pread(fd, 65536, 30 * 1024 * 1024)
print('read returned', flush=True)
"""


@harness.timeout(60)
def test_killed_daemon_leaves_enotconn(t):
    t.write_server('rw', 'k.txt', b'killed')
    mnt = t.mount('rw')
    with open(mnt + '/k.txt', 'rb') as f:
        assert f.read() == b'killed'
    pid = _daemon_pid(mnt)
    assert pid, 'no smbfuse process serves %s' % mnt
    os.kill(pid, signal.SIGKILL)
    assert _gone(pid, 5), 'smbfuse survived SIGKILL'
    # a stat of the mountpoint and a read inside it fail at once with ENOTCONN
    for op in (lambda: os.stat(mnt + '/k.txt'), lambda: os.listdir(mnt)):
        start = time.monotonic()
        try:
            op()
        except OSError as e:
            assert e.errno == errno.ENOTCONN, e
        else:
            raise AssertionError('an operation on a dead mount succeeded')
        assert time.monotonic() - start < 2, 'a dead mount made the caller wait'
    r = subprocess.run(['fusermount3', '-u', mnt], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert not t.is_mounted(mnt)


@harness.timeout(90)
def test_lazy_unmount_frees_a_blocked_caller(t):
    t.write_server('rw', 'blocked.bin', os.urandom(64 * 1024))
    t.write_server('rw', 'big.bin', os.urandom(32 * 1024 * 1024))
    with FaultProxy('127.0.0.1', t.srv.port) as proxy:
        # cache=none: reads are direct, so the caller waits on the daemon's answer
        # itself (a page-cache read waits on the page, killable by the kernel alone)
        mnt = t.mount('rw', 'hard', 'echo_interval=2', 'cache=none',
                      unc='//127.0.0.1:%d/rw' % proxy.port)
        pid = _daemon_pid(mnt)
        assert pid
        assert os.path.getsize(mnt + '/blocked.bin') == 64 * 1024
        # one caller will block in read() on a file it opened before the cut
        seeker = subprocess.Popen(
            [sys.executable, '-c', _SEEKER, mnt + '/big.bin'], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert seeker.stdout.readline().strip() == b'ready', seeker.stderr.read()
        proxy.refuse()
        proxy.cut()
        # a hard mount waits for the server: this reader blocks in open()
        reader = subprocess.Popen(['cat', mnt + '/blocked.bin'], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        seeker.stdin.write(b'go\n')
        seeker.stdin.flush()
        time.sleep(2)
        assert reader.poll() is None, 'the hard mount did not wait for the server'
        assert seeker.poll() is None, 'the hard mount did not wait for the server (read)'
        start = time.monotonic()
        r = subprocess.run(['umount', '-l', mnt], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - start < 5, 'umount -l took %.1fs' % (time.monotonic() - start)
        assert not t.is_mounted(mnt)
        # hard: the detached mount still serves the open file and waits for
        # the server; the blocked caller can still be killed at once ...
        assert reader.poll() is None, 'the hard mount gave up at the lazy unmount'
        for p, what in ((reader, 'open'), (seeker, 'read')):
            p.kill()
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                raise AssertionError('a caller blocked in %s() on the detached mount is '
                                     'unkillable' % what)
        # ... and once nothing holds the detached mount, the daemon exits
        assert _gone(pid, 15), 'smbfuse still running 15s after the last user went'
