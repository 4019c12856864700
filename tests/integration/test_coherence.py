"""Two clients on one share: what one changes, the other sees.

Two smbfuse mounts of the same share act as two machines. Data a client has
cached is dropped when the server breaks its read lease; directory listings
and attributes follow within the attribute timeout.
"""

import os
import time


def _read_until(fd, want, size, timeout=5.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = os.pread(fd, size, 0)
        if got == want:
            return got
        time.sleep(0.05)
    return got


def test_cached_data_follows_other_clients_writes(t):
    t.write_server('rw', 'shared.txt', b'version one\n' * 100)
    a = t.mount('rw')
    b = t.mount('rw')
    fd = os.open(a + '/shared.txt', os.O_RDONLY)
    try:
        assert os.pread(fd, 4096, 0) == b'version one\n' * 100
        # the second client rewrites the file while the first keeps it open
        with open(b + '/shared.txt', 'r+b') as f:
            f.write(b'VERSION TWO\n' * 100)
        got = _read_until(fd, b'VERSION TWO\n' * 100, 4096)
        assert got == b'VERSION TWO\n' * 100, \
            'a reader with the file open still sees old data: %r' % got[:24]
    finally:
        os.close(fd)
    t.umount(a)
    t.umount(b)


def test_directory_changes_show_within_a_second(t):
    a = t.mount('rw', 'actimeo=1')
    b = t.mount('rw', 'actimeo=1')
    assert 'late.txt' not in os.listdir(a)
    with open(b + '/late.txt', 'w') as f:
        f.write('hello from b')
    start = time.monotonic()
    while 'late.txt' not in os.listdir(a):
        assert time.monotonic() - start < 1.5, 'new file not visible to the other client'
        time.sleep(0.05)
    os.unlink(b + '/late.txt')
    start = time.monotonic()
    while os.path.exists(a + '/late.txt'):
        assert time.monotonic() - start < 1.5, 'deleted file still visible to the other client'
        time.sleep(0.05)
    t.umount(a)
    t.umount(b)


def test_attributes_follow_within_actimeo(t):
    t.write_server('rw', 'grow.txt', b'x')
    a = t.mount('rw', 'actimeo=1')
    b = t.mount('rw', 'actimeo=1')
    assert os.stat(a + '/grow.txt').st_size == 1
    with open(b + '/grow.txt', 'ab') as f:
        f.write(b'y' * 999)
    start = time.monotonic()
    while os.stat(a + '/grow.txt').st_size != 1000:
        assert time.monotonic() - start < 1.5, 'size change not visible within actimeo'
        time.sleep(0.05)
    t.umount(a)
    t.umount(b)


def test_cache_none_never_serves_stale_data(t):
    t.write_server('rw', 'live.txt', b'one')
    a = t.mount('rw', 'cache=none')
    b = t.mount('rw', 'actimeo=30')
    assert open(a + '/live.txt', 'rb').read() == b'one'
    assert sorted(os.listdir(a)) == ['live.txt']
    assert os.stat(a + '/live.txt').st_size == 3
    for round_ in range(3):
        data = b'round %d ' % round_ * (round_ + 1)
        with open(b + '/live.txt', 'wb') as f:
            f.write(data)
        # no waiting: every read, stat and listing goes to the server
        assert os.stat(a + '/live.txt').st_size == len(data)
        assert open(a + '/live.txt', 'rb').read() == data
        open(b + '/new%d' % round_, 'w').close()
        assert 'new%d' % round_ in os.listdir(a)
        assert os.path.exists(a + '/new%d' % round_)
        os.unlink(b + '/new%d' % round_)
        assert 'new%d' % round_ not in os.listdir(a)
        assert not os.path.exists(a + '/new%d' % round_)
    t.umount(a)
    t.umount(b)


def test_listing_cache_follows_local_and_remote_changes(t):
    # a cached listing: local changes show at once, another client's within acdirmax
    a = t.mount('rw', 'actimeo=1')
    b = t.mount('rw', 'actimeo=1')
    os.mkdir(a + '/d')
    for i in range(5):
        open(a + '/d/f%d' % i, 'w').close()
    assert sorted(os.listdir(a + '/d')) == ['f%d' % i for i in range(5)]
    os.rename(a + '/d/f0', a + '/d/g0')
    os.unlink(a + '/d/f1')
    os.mkdir(a + '/d/sub')
    with open(a + '/d/f2', 'w') as f:
        f.write('grown')
    assert sorted(os.listdir(a + '/d')) == ['f2', 'f3', 'f4', 'g0', 'sub']
    assert os.stat(a + '/d/f2').st_size == 5
    os.rmdir(a + '/d/sub')
    assert 'sub' not in os.listdir(a + '/d')
    open(b + '/d/remote', 'w').close()
    start = time.monotonic()
    while 'remote' not in os.listdir(a + '/d'):
        assert time.monotonic() - start < 1.5, 'remote create not visible within acdirmax'
        time.sleep(0.05)
    t.umount(a)
    t.umount(b)


def test_lease_break_both_clients_see_new_data(t):
    # a holds the file open with a read lease and its data cached; b opens it
    # for write (the server breaks a's lease), writes, closes: both read b's data
    t.write_server('rw', 'leased.bin', b'A' * 65536)
    a = t.mount('rw', 'actimeo=30')
    b = t.mount('rw', 'actimeo=30')
    fd = os.open(a + '/leased.bin', os.O_RDONLY)
    try:
        assert os.pread(fd, 65536, 0) == b'A' * 65536
        assert os.pread(fd, 65536, 0) == b'A' * 65536  # from the page cache now
        with open(b + '/leased.bin', 'r+b') as f:
            f.write(b'B' * 65536)
        got = _read_until(fd, b'B' * 65536, 65536)
        assert got == b'B' * 65536, 'a kept serving its cached copy after the break'
        with open(a + '/leased.bin', 'rb') as f:
            assert f.read() == b'B' * 65536
        with open(b + '/leased.bin', 'rb') as f:
            assert f.read() == b'B' * 65536
        # and the other way round: a writes, b (which just read) sees it
        with open(a + '/leased.bin', 'r+b') as f:
            f.write(b'C' * 100)
        with open(b + '/leased.bin', 'rb') as f:
            assert f.read(100) == b'C' * 100
    finally:
        os.close(fd)
    with open(t.share_path('rw') + '/leased.bin', 'rb') as f:
        assert f.read() == b'C' * 100 + b'B' * (65536 - 100)
    t.umount(a)
    t.umount(b)


def test_cache_loose_keeps_data_without_a_lease(t):
    """vers=2.0 has no leases: strict rereads file data at each open, loose
    keeps the page cache until the attributes (actimeo) show a change."""
    path = t.write_server('rw', 'loose.txt', b'a' * 4096)
    st = os.stat(path)
    results = {}
    for mode in ('strict', 'loose'):
        with open(path, 'wb') as f:
            f.write(b'a' * 4096)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        mnt = t.mount('rw', 'vers=2.0', 'cache=' + mode, 'actimeo=30')
        with open(mnt + '/loose.txt', 'rb') as f:
            assert f.read() == b'a' * 4096
        # another writer changes the content, not the size or the times
        with open(path, 'r+b') as f:
            f.write(b'b' * 4096)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        with open(mnt + '/loose.txt', 'rb') as f:
            results[mode] = f.read(1)
        t.umount(mnt)
    assert results == {'strict': b'b', 'loose': b'a'}, results
