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
