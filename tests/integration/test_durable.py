"""Durable handles v2 and locks across reconnects.

With the lease option, smbfuse asks for a durable handle (DH2Q) on every
open, with a handle lease.
After a connection is cut, it reopens each open file with DH2C: the server
kept the open, its byte-range locks and its delete-pending state while the
client was away. When the server lost that state (smbd restarted), the file
is reopened by path and the client takes its locks again; a lock someone
else took meanwhile makes the handle fail with EIO.

A second mount (straight to smbd, not through the proxy) plays the other
client: whether it can take a lock shows what the server holds for us.
While the client is away, smbstatus shows what the server kept; the other
client must not touch the file then (an open that needs a lease break makes
Samba drop a disconnected durable handle, as MS-SMB2 allows).
"""

import errno
import fcntl
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402

import harness  # noqa: E402

MiB = 1024 * 1024
LOCK_LEN = 4096


def _proxy_mount(t, proxy, *opts):
    # leases (off by default) are what makes a server grant durable handles
    return t.mount('rw', 'lease', *opts, unc='//127.0.0.1:%d/rw' % proxy.port)


def _can_lock(path, start=0, length=LOCK_LEN):
    """Can this (other) client take an exclusive lock on [start, start+length)?"""
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        fcntl.lockf(fd, fcntl.LOCK_UN, length, start)
        return True
    finally:
        os.close(fd)


def _smbstatus(srv, *args):
    import smbfixture
    tool = smbfixture.find_tool('smbstatus')
    if not tool:
        return None
    r = subprocess.run([tool, '-s', srv.conf] + list(args), capture_output=True, text=True,
                       timeout=30)
    return r.stdout


def _lease_of(srv, name):
    """The lease smbstatus shows for an open of name, e.g. 'LEASE(RWH)'."""
    out = _smbstatus(srv, '-L')
    if out is None:
        return None
    for ln in out.splitlines():
        if ln.split()[-6:-5] == [name] or (' %s ' % name) in ln:
            for w in ln.split():
                if w.startswith('LEASE('):
                    return w
            return ''
    return ''


def _wait_io(fn, timeout=30):
    """Retry fn until it stops failing with a transient error (a hard mount
    waits for the reconnect; this only bounds the test)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except OSError as e:
            if time.monotonic() > deadline or e.errno not in (errno.EAGAIN, errno.EINTR):
                raise
            time.sleep(0.1)


@harness.timeout(90)
def test_durable_reopen_keeps_locks_and_unlinked_file(t):
    srv = t.srv
    other = t.mount('rw')
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=2')
        data = os.urandom(MiB)
        fd = os.open(mnt + '/locked.bin', os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, LOCK_LEN, 0)
        assert not _can_lock(other + '/locked.bin'), 'the other client took a held lock'

        # unlinked but open: the name goes, the data stays reachable by the fd
        ufd = os.open(mnt + '/gone.bin', os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        os.write(ufd, b'still here\n' * 100)
        os.fsync(ufd)
        os.unlink(mnt + '/gone.bin')

        # connection cut and kept away: the server holds the durable open,
        # its lock included
        proxy.refuse()
        proxy.cut()
        time.sleep(1.5)
        brl = _smbstatus(srv, '-B')
        if brl is not None:
            held = [ln for ln in brl.splitlines() if 'locked.bin' in ln]
            assert held and held[0].split()[0] == 'disconnected', \
                'the server did not keep the lock of a durable handle:\n%s' % brl
        proxy.normal()

        # the fds keep working on the new connection
        os.pwrite(fd, b'after the cut', 100)
        os.fsync(fd)
        assert os.pread(fd, 13, 100) == b'after the cut'
        assert proxy.stats()['accepted'] >= 2, 'no reconnect happened'
        want = bytearray(data)
        want[100:113] = b'after the cut'
        with open(os.path.join(t.share_path('rw'), 'locked.bin'), 'rb') as f:
            assert f.read() == bytes(want), 'write after the reconnect did not land'
        # the lease came back with the handle (same key; the other client's
        # opens took its write caching away)
        lease = _lease_of(srv, 'locked.bin')
        assert lease is None or lease == 'LEASE(RH)', 'lease after the reconnect: %r' % lease
        # ... and the lock is still ours
        assert not _can_lock(other + '/locked.bin'), 'lock lost over the reconnect'
        assert _can_lock(other + '/locked.bin', LOCK_LEN, LOCK_LEN)  # only the held range

        os.pwrite(ufd, b'written after', 0)
        os.fsync(ufd)
        assert os.pread(ufd, 13, 0) == b'written after'
        assert os.pread(ufd, 2000, 0) == b'written after' + (b'still here\n' * 100)[13:]
        assert not os.path.exists(mnt + '/gone.bin')
        os.close(ufd)

        fcntl.lockf(fd, fcntl.LOCK_UN, LOCK_LEN, 0)
        assert _can_lock(other + '/locked.bin'), 'unlock after the reconnect did not reach the server'
        os.close(fd)
        # closed for real: nothing of the file stays behind on the server
        assert 'gone.bin' not in os.listdir(t.share_path('rw'))
        assert not [n for n in os.listdir(t.share_path('rw')) if n.startswith('.smbfuse')]
        t.umount(mnt)
    t.umount(other)


@harness.timeout(90)
@harness.restarts_server
def test_path_reopen_after_restart_takes_locks_again(t):
    srv = t.srv
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=2')
        fd = os.open(mnt + '/r.bin', os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        os.write(fd, b'x' * 65536)
        os.fsync(fd)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, LOCK_LEN, 0)

        # smbd dies: durable state, locks and all go with it; keep the
        # client away until the server is back
        proxy.refuse()
        srv.crash()
        srv.restart()
        other = t.mount('rw')
        assert _can_lock(other + '/r.bin'), 'the lock should be gone with the server'
        proxy.normal()

        # the fd works again (reopened by path) and the lock is ours again
        _wait_io(lambda: os.pwrite(fd, b'after restart', 0))
        os.fsync(fd)
        assert os.pread(fd, 13, 0) == b'after restart'
        with open(os.path.join(t.share_path('rw'), 'r.bin'), 'rb') as f:
            assert f.read(13) == b'after restart'
        assert not _can_lock(other + '/r.bin'), 'lock not taken again after the reopen'
        lease = _lease_of(srv, 'r.bin')
        assert lease is None or lease.startswith('LEASE(R'), 'no lease after the reopen: %r' % lease
        fcntl.lockf(fd, fcntl.LOCK_UN, LOCK_LEN, 0)
        assert _can_lock(other + '/r.bin')
        os.close(fd)
        t.umount(mnt)
        t.umount(other)


@harness.timeout(90)
@harness.restarts_server
def test_lock_taken_meanwhile_fails_the_handle(t):
    srv = t.srv
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=2')
        fd = os.open(mnt + '/c.bin', os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        os.write(fd, b'y' * 65536)
        os.fsync(fd)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, LOCK_LEN, 0)

        proxy.refuse()
        srv.crash()
        srv.restart()
        other = t.mount('rw')
        ofd = os.open(other + '/c.bin', os.O_RDWR)
        fcntl.lockf(ofd, fcntl.LOCK_EX | fcntl.LOCK_NB, LOCK_LEN, 0)  # ours now
        proxy.normal()

        # the client cannot take its lock back: its I/O must fail, not
        # silently go on unprotected
        try:
            os.pwrite(fd, b'unprotected', 0)
            os.fsync(fd)
            failed = None
        except OSError as e:
            failed = e
        assert failed is not None and failed.errno == errno.EIO, \
            'I/O on a handle whose lock was lost did not fail with EIO: %r' % failed
        with open(os.path.join(t.share_path('rw'), 'c.bin'), 'rb') as f:
            assert f.read(11) == b'y' * 11
        try:
            os.close(fd)
        except OSError:
            pass
        os.close(ofd)
        # the mount itself still works
        with open(mnt + '/new.txt', 'w') as f:
            f.write('ok')
        assert open(other + '/new.txt').read() == 'ok'
        t.umount(mnt)
        t.umount(other)


@harness.timeout(90)
@harness.restarts_server
def test_path_reopen_drops_cached_data(t):
    """A file read under a read lease, then changed while the client was away
    (smbd restarted: the lease could not be broken, it was lost): after the
    reopen by path the old cached pages must not be served."""
    srv = t.srv
    path = os.path.join(t.share_path('rw'), 'cached.bin')
    with open(path, 'wb') as f:
        f.write(b'A' * 65536)
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=2', 'actimeo=30')
        fd = os.open(mnt + '/cached.bin', os.O_RDONLY)
        assert os.pread(fd, 65536, 0) == b'A' * 65536  # now in the page cache
        proxy.refuse()
        srv.crash()
        with open(path, 'r+b') as f:  # another writer while the client is away
            f.write(b'B' * 65536)
        srv.restart()
        proxy.normal()
        # the next request reconnects and reopens by path
        deadline = time.monotonic() + 30
        while True:
            d = _wait_io(lambda: os.pread(fd, 65536, 0))
            if d == b'B' * 65536 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert d == b'B' * 65536, 'stale data after the reopen: %r' % d[:4]
        os.close(fd)
        with open(mnt + '/cached.bin', 'rb') as f:
            assert f.read() == b'B' * 65536
        t.umount(mnt)
