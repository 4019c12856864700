"""Stopping smbfuse with a signal: an honest exit status, nothing lost.

SIGTERM/SIGINT once the mount served is a clean stop (exit 0), after what
files still open had written reached the server; a stop before the mount
was ready is not success (exit 8) and leaves nothing mounted, whether the
signal reaches the daemon or the foreground smbfuse waiting for it.
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402

import harness  # noqa: E402


def _creds(s):
    return 'username=%s,password=%s' % (s.user, s.password)


def _wait(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _start(t, mnt, *args, block_term=False, opts=''):
    """smbfuse UNC mnt args...; stderr to a file. block_term: start it with
    SIGTERM blocked (inherited), so a SIGTERM sent now stays pending until
    smbfuse lets it in."""
    err = open(os.path.join(t.scratch, 'stop-%d.err' % len(t._mounts)), 'w+b')
    t._mounts.append(mnt)
    o = _creds(t.srv) + (',' + opts if opts else '')

    def pre():
        if block_term:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    p = subprocess.Popen([t.smbfuse, t.srv.unc('rw'), mnt] + list(args) + ['-o', o],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                         preexec_fn=pre)
    return p, err


def _stderr(err):
    err.seek(0)
    return err.read().decode('utf-8', 'replace')


@harness.timeout(60)
def test_sigterm_after_mount_is_a_clean_stop(t):
    """SIGTERM is the documented way to stop a mount: exit 0, unmounted."""
    t.write_server('rw', 'served.txt', b'served')
    mnt = t.new_mountpoint()
    p, err = _start(t, mnt, '-f')
    try:
        assert _wait(lambda: t.is_mounted(mnt)), _stderr(err)
        with open(mnt + '/served.txt', 'rb') as f:
            assert f.read() == b'served'
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=20)
        assert rc == 0, 'exit %r after SIGTERM: %s' % (rc, _stderr(err))
        assert not t.is_mounted(mnt)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@harness.timeout(60)
def test_stop_sends_what_open_files_buffered(t):
    """A file still open at the stop: what was written to it (held back by
    write-behind) reaches the server before smbfuse exits 0."""
    mnt = t.new_mountpoint()
    p, err = _start(t, mnt, '-f')
    data = os.urandom(300 * 1024 + 123)  # not whole wsize pieces: some stays buffered
    try:
        assert _wait(lambda: t.is_mounted(mnt)), _stderr(err)
        fd = os.open(mnt + '/open-at-stop.bin', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            assert os.write(fd, data) == len(data)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=20)
        finally:
            try:
                os.close(fd)
            except OSError:
                pass  # the mount is gone
        assert rc == 0, 'exit %r: %s' % (rc, _stderr(err))
        with open(os.path.join(t.share_path('rw'), 'open-at-stop.bin'), 'rb') as f:
            got = f.read()
        assert got == data, 'server has %d of %d bytes written before the stop' % (
            len(got), len(data))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@harness.timeout(60)
def test_signal_before_ready_is_not_success(t):
    """A SIGTERM that arrives before the mount is ready (here: pending from
    the start, let in once smbfuse's handlers are set) ends it with exit 8,
    one line on stderr, and nothing mounted: not a served-and-unmounted 0."""
    for args in (['-f'], []):
        mnt = t.new_mountpoint()
        p, err = _start(t, mnt, *args, block_term=True)
        try:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
            text = _stderr(err)
            assert rc == 8, 'exit %r %s: %s' % (rc, args, text)
            assert 'before the mount was ready' in text or 'interrupted' in text, text
            assert not t.is_mounted(mnt)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


@harness.timeout(60)
def test_interrupted_parent_leaves_nothing_mounted(t):
    """Ctrl-C on smbfuse waiting for its daemon's verdict: the daemon is
    stopped too, the exit is 8, and no mount appears later."""
    s = t.srv
    with FaultProxy('127.0.0.1', int(s.port)) as fp:
        fp.stall()  # the logon waits: the daemon is still connecting
        mnt = t.new_mountpoint()
        t._mounts.append(mnt)
        err = open(os.path.join(t.scratch, 'intr.err'), 'w+b')
        p = subprocess.Popen([t.smbfuse, '//127.0.0.1:%d/rw' % fp.port, mnt, '-o',
                              _creds(s) + ',conn_timeout=20'],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            assert _wait(lambda: fp.stats().get('accepted', 0) >= 1), 'never connected'
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=30)
            assert rc == 8, 'exit %r: %s' % (rc, _stderr(err))
            fp.normal()
            time.sleep(1.5)
            assert not t.is_mounted(mnt), 'mounted after the interrupt'
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


@harness.timeout(60)
def test_stop_with_server_silent_reports_lost_data(t):
    """The data of a file still open cannot reach a server that stopped
    answering: the stop still ends within seconds, but not with 0, and the
    log says why."""
    s = t.srv
    with FaultProxy('127.0.0.1', int(s.port)) as fp:
        mnt = t.new_mountpoint()
        t._mounts.append(mnt)
        err = open(os.path.join(t.scratch, 'silent.err'), 'w+b')
        p = subprocess.Popen([t.smbfuse, '//127.0.0.1:%d/rw' % fp.port, mnt, '-f', '-o',
                              _creds(s)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            assert _wait(lambda: t.is_mounted(mnt)), _stderr(err)
            fd = os.open(mnt + '/silent.bin', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                assert os.write(fd, b'x' * 5000) == 5000  # buffered: not sent yet
                fp.stall()
                start = time.monotonic()
                p.send_signal(signal.SIGTERM)
                rc = p.wait(timeout=30)
                took = time.monotonic() - start
            finally:
                try:
                    os.close(fd)
                except OSError:
                    pass
            text = _stderr(err)
            assert rc == 2, 'exit %r: %s' % (rc, text)
            assert 'could not be sent to the server' in text, text
            assert took < 15, 'the stop took %.1f s' % took
            assert not t.is_mounted(mnt)
        finally:
            fp.normal()
            if p.poll() is None:
                p.kill()
                p.wait()
