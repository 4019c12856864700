"""Data paths under load: readahead, random reads, write-behind, mixed access.

Everything read through the mount is compared with the server's copy; every
write is checked on the server after close/fsync.
"""

import concurrent.futures
import hashlib
import os
import random

MiB = 1024 * 1024


def _srv(t, rel):
    return os.path.join(t.share_path('rw'), rel)


def test_sequential_read_large(t):
    data = os.urandom(40 * MiB + 4097)  # not a multiple of the chunk size
    t.write_server('rw', 'seq.bin', data)
    mnt = t.mount('rw')
    h = hashlib.sha256()
    with open(mnt + '/seq.bin', 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    assert h.hexdigest() == hashlib.sha256(data).hexdigest(), 'sequential read differs'
    t.umount(mnt)


def test_random_reads(t):
    data = os.urandom(16 * MiB)
    t.write_server('rw', 'rand.bin', data)
    mnt = t.mount('rw')
    rng = random.Random(7)
    fd = os.open(mnt + '/rand.bin', os.O_RDONLY)
    try:
        for _ in range(300):
            off = rng.randrange(0, len(data) + 100)
            n = rng.choice([1, 100, 4096, 65536, 300000])
            got = os.pread(fd, n, off)
            assert got == data[off:off + n], 'pread(%d, %d) differs' % (off, n)
    finally:
        os.close(fd)
    t.umount(mnt)


def test_parallel_readers(t):
    files = {'p%d.bin' % i: os.urandom(6 * MiB + i) for i in range(4)}
    for name, d in files.items():
        t.write_server('rw', name, d)
    mnt = t.mount('rw')

    def read_all(name):
        with open(os.path.join(mnt, name), 'rb') as f:
            return name, f.read()

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for name, got in ex.map(read_all, list(files) * 2):
            assert got == files[name], '%s differs under parallel reads' % name
    t.umount(mnt)


def test_small_writes_coalesce(t):
    mnt = t.mount('rw')
    rng = random.Random(3)
    chunks = [os.urandom(rng.randrange(1, 5000)) for _ in range(3000)]
    with open(mnt + '/small.bin', 'wb', buffering=0) as f:
        for c in chunks:
            f.write(c)
    want = b''.join(chunks)
    with open(_srv(t, 'small.bin'), 'rb') as f:
        assert f.read() == want, 'coalesced small writes differ on the server'
    t.umount(mnt)


def test_read_after_write_same_fd(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/rw.bin', os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    try:
        a = os.urandom(3 * MiB)
        os.pwrite(fd, a, 0)
        assert os.pread(fd, len(a), 0) == a, 'read right after write differs'
        b = os.urandom(1000)
        os.pwrite(fd, b, 12345)
        expect = a[:12345] + b + a[12345 + 1000:]
        assert os.pread(fd, len(expect), 0) == expect, 'overwrite not visible to read'
        assert os.fstat(fd).st_size == len(a)
        os.ftruncate(fd, 5000)
        assert os.pread(fd, 10000, 0) == expect[:5000], 'read after truncate'
    finally:
        os.close(fd)
    with open(_srv(t, 'rw.bin'), 'rb') as f:
        assert f.read() == expect[:5000]
    t.umount(mnt)


def test_sparse_and_out_of_order_writes(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/ooo.bin', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    pieces = [(i * 300000, os.urandom(300000)) for i in range(20)]
    random.Random(5).shuffle(pieces)
    for off, d in pieces:
        os.pwrite(fd, d, off)
    os.pwrite(fd, b'END', 30 * MiB)
    os.close(fd)
    with open(_srv(t, 'ooo.bin'), 'rb') as f:
        got = f.read()
    assert len(got) == 30 * MiB + 3
    for off, d in pieces:
        assert got[off:off + len(d)] == d, 'piece at %d differs' % off
    assert got[6000000:6000010] == b'\0' * 10, 'hole must read as zeros'
    t.umount(mnt)


def test_stat_sees_buffered_writes(t):
    mnt = t.mount('rw')
    with open(mnt + '/grow.bin', 'wb') as f:
        f.write(os.urandom(2 * MiB + 11))
        f.flush()
        assert os.stat(mnt + '/grow.bin').st_size == 2 * MiB + 11
    assert os.path.getsize(_srv(t, 'grow.bin')) == 2 * MiB + 11
    t.umount(mnt)


def test_parallel_big_writes_and_overwrites(t):
    """Whole 1 MiB writes are sent from the FUSE request buffer itself, held
    until the server answered: parallel writers, then overwrites of the same
    ranges while the first WRITEs may still be in flight, must all land
    unmixed (a buffer reused too early would send another write's bytes)."""
    mnt = t.mount('rw')
    n_files, n_chunks = 4, 12

    def write_one(i):
        first = [os.urandom(MiB) for _ in range(n_chunks)]
        second = [os.urandom(MiB) for _ in range(n_chunks)]
        fd = os.open('%s/big%d.bin' % (mnt, i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        try:
            for k, c in enumerate(first):
                os.pwrite(fd, c, k * MiB)
            for k in range(0, n_chunks, 2):  # overwrite every other chunk at once
                os.pwrite(fd, second[k], k * MiB)
            os.fsync(fd)
        finally:
            os.close(fd)
        return b''.join(second[k] if k % 2 == 0 else first[k] for k in range(n_chunks))

    with concurrent.futures.ThreadPoolExecutor(n_files) as ex:
        wants = list(ex.map(write_one, range(n_files)))
    for i, want in enumerate(wants):
        with open(_srv(t, 'big%d.bin' % i), 'rb') as f:
            got = f.read()
        assert len(got) == len(want), 'big%d.bin: %d bytes, want %d' % (i, len(got), len(want))
        for k in range(n_chunks):
            assert got[k * MiB:(k + 1) * MiB] == want[k * MiB:(k + 1) * MiB], \
                'big%d.bin: MiB %d differs on the server' % (i, k)
    t.umount(mnt)
