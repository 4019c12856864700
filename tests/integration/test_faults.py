"""Reliability: connections cut mid-transfer, smbd crashing, servers that vanish.

A fault-injecting TCP proxy (tests/faultproxy.py) sits between smbfuse and
the fixture's smbd where a test needs one. Every byte written or read is
checked against its source by SHA-256.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402

import harness  # noqa: E402

MiB = 1024 * 1024


def _sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def _make(path, size):
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(os.urandom(n))
            left -= n
    return _sha(path)


def _proxy_mount(t, proxy, *opts):
    unc = '//127.0.0.1:%d/rw' % proxy.port
    return t.mount('rw', *opts, unc=unc)


class _Runner(threading.Thread):
    """Run fn in a thread, keep its exception."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.exc = None

    def run(self):
        try:
            self.fn()
        except BaseException as e:  # noqa: B902
            self.exc = e


_RESTARTER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import harness
import smbfixture
# crash() kills every process naming the server's directory but itself; the
# test process that started us names it too
_pids = smbfixture._pids_with_arg
smbfixture._pids_with_arg = lambda *a, **k: [p for p in _pids(*a, **k) if p != os.getppid()]
srv = harness.ServerInfo(json.loads(sys.argv[2]))
sys.stdin.readline()
srv.crash()
time.sleep(float(sys.argv[3]))
srv.restart()
print('restarted', flush=True)
"""


class _Restarter:
    """Kill and restart smbd from a process started before any file on the
    mount is open. Starting smbd from the test process itself while a copy
    holds a file open on a hard mount would hang: the new process closes its
    inherited descriptors at exec, and that FUSE flush waits for the very
    server it is about to start."""

    def __init__(self, srv, away=1.0):
        here = os.path.dirname(os.path.abspath(__file__))
        self.p = subprocess.Popen([sys.executable, '-c', _RESTARTER, here,
                                   json.dumps(srv.__dict__), str(away)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def crash_and_restart(self, timeout=60):
        self.p.stdin.write('go\n')
        self.p.stdin.flush()
        out, _ = self.p.communicate(timeout=timeout)
        assert 'restarted' in out, 'restarting smbd failed'

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


# The figure: 256 MiB each way. About 10 s on loopback, normal and
# ASan builds alike (the bytes move through the kernel and memcpy, which
# ASan barely slows).
BIG = 256 * MiB


@harness.timeout(240)
@harness.restarts_server
def test_cuts_and_restart_during_copy_in_and_out(t):
    srv = t.srv
    share = t.share_path('rw')
    src_dir = t.new_mountpoint('src')
    up = os.path.join(src_dir, 'up.bin')
    up_sha = _make(up, BIG)
    down_sha = _make(os.path.join(share, 'down.bin'), BIG)
    restarter = _Restarter(srv)
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=5')
        # written and fsync'd before the faults: must survive them
        before = os.urandom(MiB + 12345)
        fd = os.open(mnt + '/before.bin', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, before)
        os.fsync(fd)
        os.close(fd)
        got = {}

        def copy_in():
            with open(up, 'rb') as s, open(mnt + '/up.bin', 'wb') as d:
                while True:
                    b = s.read(1 << 20)
                    if not b:
                        break
                    d.write(b)

        def copy_out():
            got['down'] = _sha(mnt + '/down.bin')

        # every connection is reset after BIG/4 in both directions: the 2*BIG
        # of copies need several
        proxy.cut_after(BIG // 4)
        a, b = _Runner(copy_in), _Runner(copy_out)
        start = time.monotonic()
        a.start()
        b.start()
        # and smbd is killed once, half-way through the upload
        deadline = time.monotonic() + 120
        while a.is_alive() and time.monotonic() < deadline:
            try:
                if os.path.getsize(os.path.join(share, 'up.bin')) >= BIG // 2:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        crashed = a.is_alive()
        if crashed:  # away for a second: a hard mount waits
            restarter.crash_and_restart()
        restarter.close()
        a.join(180)
        b.join(180)
        took = time.monotonic() - start
        proxy.normal()
        assert not a.is_alive() and not b.is_alive(), 'copies did not finish'
        assert a.exc is None, 'copy onto the mount failed: %r' % a.exc
        assert b.exc is None, 'copy from the mount failed: %r' % b.exc
        assert crashed, 'the upload finished before smbd could be killed'
        st = proxy.stats()
        assert st['cuts'] >= 3 and st['accepted'] >= 5, \
            'expected several cuts and reconnects, saw %d cuts, %d connections' % (
                st['cuts'], st['accepted'])
        assert got['down'] == down_sha, 'file read across reconnects differs'
        assert _sha(os.path.join(share, 'up.bin')) == up_sha, \
            'file written across reconnects differs on the server'
        with open(os.path.join(share, 'before.bin'), 'rb') as f:
            assert f.read() == before, "fsync'd file changed across the faults"
        with open(mnt + '/before.bin', 'rb') as f:
            assert f.read() == before
        print('    %d MiB each way in %.1f s: %d cuts, %d connections, smbd restarted once'
              % (BIG // MiB, took, st['cuts'], st['accepted']))
        t.umount(mnt)


@harness.timeout(180)
@harness.restarts_server
def test_smbd_crash_and_restart(t):
    srv = t.srv
    mnt = t.mount('rw', 'echo_interval=5')
    # written and fsync'd before the fault: must survive it
    fd = os.open(mnt + '/before.txt', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, b'committed before the crash\n' * 1000)
    os.fsync(fd)
    os.close(fd)
    src_dir = t.new_mountpoint('src')
    up = os.path.join(src_dir, 'big.bin')
    up_sha = _make(up, 64 * MiB)

    def copy_in():
        with open(up, 'rb') as s, open(mnt + '/big.bin', 'wb') as d:
            while True:
                b = s.read(1 << 20)
                if not b:
                    break
                d.write(b)

    r = _Runner(copy_in)
    r.start()
    time.sleep(0.3)
    srv.crash()
    time.sleep(1.5)  # the server is away; a hard mount waits
    srv.restart()
    r.join(150)
    assert not r.is_alive(), 'copy did not finish after smbd came back'
    assert r.exc is None, 'copy failed across the server restart: %r' % r.exc
    assert _sha(os.path.join(t.share_path('rw'), 'big.bin')) == up_sha, \
        'file written across a server crash differs'
    with open(mnt + '/before.txt', 'rb') as f:
        assert f.read() == b'committed before the crash\n' * 1000
    assert os.listdir(mnt)  # the mount still works
    t.umount(mnt)


@harness.timeout(120)
def test_soft_mount_fails_when_server_gone(t):
    srv = t.srv
    t.write_server('rw', 'f.txt', b'data')
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'soft', 'echo_interval=2', 'actimeo=0')
        with open(mnt + '/f.txt', 'rb') as f:
            assert f.read() == b'data'
        proxy.refuse()
        proxy.cut()
        start = time.monotonic()
        err = None
        try:
            os.stat(mnt + '/f.txt')
        except OSError as e:
            err = e
        took = time.monotonic() - start
        assert err is not None, 'stat on a soft mount with the server gone succeeded'
        assert took < 20, 'soft mount took %.1f s to fail' % took
        start = time.monotonic()
        r = subprocess.run(['fusermount3', '-u', mnt], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, 'fusermount3 -u failed: %s' % r.stderr
        assert time.monotonic() - start < 10, 'unmount took too long'
        assert not t.is_mounted(mnt)


@harness.timeout(120)
def test_hard_mount_recovers_after_stall(t):
    srv = t.srv
    t.write_server('rw', 'g.bin', os.urandom(3 * MiB))
    want = _sha(os.path.join(t.share_path('rw'), 'g.bin'))
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=1', 'actimeo=0')
        proxy.stall(4.0)  # silent server: keepalive notices, reconnect waits it out
        got = _sha(mnt + '/g.bin')
        assert got == want, 'read across a stalled connection differs'
        t.umount(mnt)


@harness.timeout(60)
def test_unmount_with_server_gone(t):
    srv = t.srv
    with FaultProxy('127.0.0.1', srv.port) as proxy:
        mnt = _proxy_mount(t, proxy, 'echo_interval=2')
        os.listdir(mnt)
        proxy.refuse()
        proxy.cut()
        time.sleep(0.5)
        start = time.monotonic()
        r = subprocess.run(['fusermount3', '-u', mnt], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, 'fusermount3 -u failed: %s' % r.stderr
        assert time.monotonic() - start < 10
        assert not t.is_mounted(mnt)
