"""Times and modes set on a file this mount is writing (src/fs/pending.c).

Under a write lease the mount keeps them and tells the server once, at close,
fsync or a lease break. What must hold: the server ends up with exactly what
the program set (a write after utimens moves mtime, as POSIX says), the mount
shows it all along, and `tar x` preserves every mtime.
"""

import io
import os
import subprocess
import tarfile
import time

T1 = 1700000000
T2 = 1600000000


def _srv(t, name):
    return os.path.join(t.share_path('rw'), name)


def test_times_set_while_writing_reach_the_server(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/a.txt', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'hello world')
    os.utime(fd, (T2, T1))
    st = os.stat(mnt + '/a.txt')
    assert (st.st_mtime, st.st_atime, st.st_size) == (T1, T2, 11), st
    os.close(fd)
    st = os.stat(_srv(t, 'a.txt'))
    assert (int(st.st_mtime), st.st_size) == (T1, 11), 'server: %s' % (st,)
    # fsync while open also carries them
    fd = os.open(mnt + '/b.txt', os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b'x' * 5000)
    os.utime(fd, (T1, T2))
    os.fsync(fd)
    assert int(os.stat(_srv(t, 'b.txt')).st_mtime) == T2
    os.close(fd)
    t.umount(mnt)


def test_write_after_utime_moves_mtime(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/c.txt', os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b'one')
    os.utime(fd, (T1, T1))
    before = time.time()
    os.write(fd, b'two')
    os.close(fd)
    m = os.stat(_srv(t, 'c.txt')).st_mtime
    assert m >= before - 2, 'the write after utime did not move mtime (%s)' % m
    assert os.stat(mnt + '/c.txt').st_size == 6
    t.umount(mnt)


def test_chmod_while_writing(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/ro.txt', os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b'data')
    os.fchmod(fd, 0o444)
    assert not os.stat(mnt + '/ro.txt').st_mode & 0o222
    os.close(fd)
    # the server has READONLY now: another mount sees no write bits, writes fail
    other = t.mount('rw')
    assert not os.stat(other + '/ro.txt').st_mode & 0o222
    try:
        open(other + '/ro.txt', 'w').close()
    except PermissionError:
        pass
    else:
        raise AssertionError('a read-only file opened for writing')
    os.chmod(mnt + '/ro.txt', 0o644)
    t.umount(other)
    t.umount(mnt)


def test_tar_x_keeps_mtimes(t):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tf:
        for i in range(40):
            data = b'%d\n' % i * (i + 1)
            ti = tarfile.TarInfo('tree/d%d/f%02d.txt' % (i % 4, i))
            ti.size = len(data)
            ti.mtime = T1 + i * 3600
            ti.mode = 0o644 if i % 5 else 0o444
            tf.addfile(ti, io.BytesIO(data))
    tarball = os.path.join(t.scratch, 'keep.tar')
    with open(tarball, 'wb') as f:
        f.write(buf.getvalue())
    mnt = t.mount('rw')
    subprocess.run(['tar', 'xf', tarball, '-C', mnt], check=True, timeout=60)
    for i in range(40):
        rel = 'tree/d%d/f%02d.txt' % (i % 4, i)
        for where in (mnt, t.share_path('rw')):
            st = os.stat(os.path.join(where, rel))
            assert int(st.st_mtime) == T1 + i * 3600, '%s on %s: mtime %s' % (
                rel, where, st.st_mtime)
            assert st.st_size == len(b'%d\n' % i * (i + 1))
        assert bool(os.stat(os.path.join(mnt, rel)).st_mode & 0o222) == bool(i % 5), rel
    t.umount(mnt)


def test_utime_right_after_close_sticks(t):
    """What rsync and cp -p do: write, close, then set the times by path at
    once. close() returns before the kernel's asynchronous RELEASE closes
    the writing handle, and Samba stamps the write time at that CLOSE: the
    times set by path must land after it, with or without a lease."""
    for opts in ((), ('nolease',)):
        mnt = t.mount('rw', *opts)
        os.makedirs(mnt + '/mt', exist_ok=True)
        for i in range(200):
            p = mnt + '/mt/f%d' % i
            with open(p, 'wb') as f:
                f.write(b'x' * (1000 + i))
            os.utime(p, (1000000000 + i, 1000000000 + i))
        t.umount(mnt)
        bad = [i for i in range(200)
               if int(os.stat(_srv(t, 'mt/f%d' % i)).st_mtime) != 1000000000 + i]
        assert not bad, '%s: mtime lost on the server for %d files, e.g. f%d' % (
            opts, len(bad), bad[0])
        for i in range(200):
            os.unlink(_srv(t, 'mt/f%d' % i))
