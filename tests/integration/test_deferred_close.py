"""Deferred close (closetimeo, src/fs/deferred.c).

Under a lease that caches handles, close keeps the SMB handle open for
closetimeo seconds and the next open takes it back without a round trip. It
must never be visible as a held file: another client's open, an unlink or a
rename through this mount, and the timeout all close it.
"""

import os
import time

from countproxy import CountProxy


def _mount(t, proxy, *opts):
    return t.mount('rw', *opts, unc='//127.0.0.1:%d/rw' % proxy.port)


def _creates(frames):
    """Opens that keep a handle (a lookup is CREATE+QUERY_INFO+CLOSE in one)."""
    return [f for f in frames if f and f[0] == 'CREATE' and 'CLOSE' not in f]


def _closes(frames):
    """Closes of an open handle (not the CLOSE inside a lookup compound)."""
    return [f for f in frames if f == ['CLOSE']]


def test_reopen_reuses_the_handle(t):
    t.write_server('rw', 'again.txt', b'a' * 1000)
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'closetimeo=30', 'actimeo=30')
        with open(mnt + '/again.txt', 'rb') as f:
            assert f.read() == b'a' * 1000
        time.sleep(0.3)  # the release reaches the daemon after close() returns
        m = p.mark()
        for _ in range(5):
            with open(mnt + '/again.txt', 'rb') as f:
                assert f.read() == b'a' * 1000
                time.sleep(0.2)  # a READ still in flight at release closes the handle
            time.sleep(0.2)  # the kernel sends the release after close() returns
        frames = p.since(m)
        # (a release with a prefetch still in flight closes at once: at most one)
        assert len(_creates(frames)) <= 1, 're-opens went to the server: %r' % frames
        assert len(_closes(frames)) <= 1, 'closes went to the server: %r' % frames
        # the kept handle kept its read lease: the data came from the page cache
        assert len([f for f in frames if f == ['READ']]) <= 2, \
            'the kept handle did not keep the cached data: %r' % frames
        t.umount(mnt)


def test_closetimeo_0_closes_at_once(t):
    t.write_server('rw', 'now.txt', b'n')
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'closetimeo=0', 'actimeo=30')
        m = p.mark()
        open(mnt + '/now.txt', 'rb').close()
        time.sleep(0.3)
        assert _closes(p.since(m)), 'no CLOSE with closetimeo=0: %r' % p.since(m)
        m = p.mark()
        open(mnt + '/now.txt', 'rb').close()
        time.sleep(0.3)
        assert _creates(p.since(m)), 'a second open without CREATE with closetimeo=0'
        t.umount(mnt)


def test_kept_handle_closes_after_the_timeout(t):
    t.write_server('rw', 'late.txt', b'x')
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'closetimeo=1', 'actimeo=30')
        m = p.mark()
        open(mnt + '/late.txt', 'rb').close()
        time.sleep(0.3)
        assert not _closes(p.since(m)), 'closed at once despite closetimeo=1'
        deadline = time.monotonic() + 4
        while not _closes(p.since(m)):
            assert time.monotonic() < deadline, 'the kept handle never closed'
            time.sleep(0.1)
        t.umount(mnt)


def test_kept_handle_never_blocks(t):
    """Unlink, rename and another client's exclusive open all work at once."""
    for name in ('u.txt', 'r.txt', 'x.txt'):
        t.write_server('rw', name, b'content of ' + name.encode())
    a = t.mount('rw', 'closetimeo=60')
    b = t.mount('rw', 'closetimeo=60')
    for name in ('u.txt', 'r.txt', 'x.txt'):
        with open(a + '/' + name, 'rb') as f:
            f.read()
    time.sleep(0.3)
    # unlink through this mount: the name is gone on the server at once
    os.unlink(a + '/u.txt')
    assert not os.path.exists(os.path.join(t.share_path('rw'), 'u.txt'))
    assert 'u.txt' not in os.listdir(b)
    # rename through this mount, then reopen under the new name
    os.rename(a + '/r.txt', a + '/r2.txt')
    assert os.path.exists(os.path.join(t.share_path('rw'), 'r2.txt'))
    with open(a + '/r2.txt', 'rb') as f:
        assert f.read() == b'content of r.txt'
    # the other client overwrites and then deletes the file a keeps a handle to
    start = time.monotonic()
    with open(b + '/x.txt', 'wb') as f:
        f.write(b'new')
    os.unlink(b + '/x.txt')
    took = time.monotonic() - start
    assert took < 5, 'the other client waited %.1fs for the kept handle' % took
    # the name goes once the kept handle is closed on its lease break, which
    # runs in the background (slow under ASan): allow it the same bound
    gone = os.path.join(t.share_path('rw'), 'x.txt')
    while os.path.exists(gone) and time.monotonic() - start < 5:
        time.sleep(0.05)
    assert not os.path.exists(gone)
    t.umount(b)
    t.umount(a)
