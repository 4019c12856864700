"""Write path: what programs do to a read-write share, checked on the server side.

Each test mounts the rw share, changes it through the mount with ordinary
file APIs, and verifies the result directly in the share's directory on the
server (the fixture's smbd serves that directory).
"""

import errno
import hashlib
import multiprocessing
import os
import stat
import subprocess
import time

MiB = 1024 * 1024


def _srv(t, rel):
    return os.path.join(t.share_path('rw'), rel)


def test_create_write_read_back(t):
    mnt = t.mount('rw')
    data = os.urandom(5 * MiB + 123)
    with open(mnt + '/new.bin', 'wb') as f:
        f.write(data)
    with open(_srv(t, 'new.bin'), 'rb') as f:
        assert f.read() == data, 'server copy differs from what was written'
    with open(mnt + '/new.bin', 'rb') as f:
        assert f.read() == data, 'read back through the mount differs'
    assert os.stat(mnt + '/new.bin').st_size == len(data)
    t.umount(mnt)


def test_fsync_reaches_server(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/synced.txt', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, b'durable bytes\n')
    os.fsync(fd)
    with open(_srv(t, 'synced.txt'), 'rb') as f:
        assert f.read() == b'durable bytes\n', 'fsync returned but the server lacks the data'
    os.close(fd)
    t.umount(mnt)


def test_o_excl(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/excl', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.close(fd)
    try:
        os.open(mnt + '/excl', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError as e:
        assert e.errno == errno.EEXIST, 'O_EXCL on an existing file: %r' % e
    else:
        raise AssertionError('O_EXCL on an existing file succeeded')
    t.umount(mnt)


def _appender(path, tag, n):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    for i in range(n):
        os.write(fd, ('%s%04d\n' % (tag, i)).encode())
    os.close(fd)


def test_append_concurrent(t):
    mnt = t.mount('rw')
    path = mnt + '/log.txt'
    with open(path, 'wb') as f:
        f.write(b'start\n')
    procs = [multiprocessing.Process(target=_appender, args=(path, tag, 100)) for tag in 'AB']
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open(_srv(t, 'log.txt'), 'rb') as f:
        lines = f.read().decode().splitlines()
    assert lines[0] == 'start'
    assert len(lines) == 201, 'appends lost or overwritten: %d lines' % len(lines)
    for tag in 'AB':
        mine = [l for l in lines if l.startswith(tag)]
        assert mine == ['%s%04d' % (tag, i) for i in range(100)], 'appender %s out of order' % tag
    t.umount(mnt)


def test_mkdir_rmdir_unlink(t):
    mnt = t.mount('rw')
    os.mkdir(mnt + '/d')
    assert os.path.isdir(_srv(t, 'd'))
    with open(mnt + '/d/f', 'w') as f:
        f.write('x')
    try:
        os.rmdir(mnt + '/d')
    except OSError as e:
        assert e.errno == errno.ENOTEMPTY, 'rmdir of a non-empty dir: %r' % e
    else:
        raise AssertionError('rmdir of a non-empty directory succeeded')
    os.unlink(mnt + '/d/f')
    assert not os.path.exists(_srv(t, 'd/f'))
    os.rmdir(mnt + '/d')
    assert not os.path.exists(_srv(t, 'd'))
    try:
        os.stat(mnt + '/d')
    except FileNotFoundError:
        pass
    else:
        raise AssertionError('removed directory still visible')
    try:
        os.mkdir(mnt + '/bad:name')
    except OSError as e:
        assert e.errno == errno.EINVAL, 'a name SMB forbids must be refused: %r' % e
    else:
        raise AssertionError('created a name with ":"')
    t.umount(mnt)


def test_rename(t):
    mnt = t.mount('rw')
    with open(mnt + '/a', 'w') as f:
        f.write('A')
    with open(mnt + '/b', 'w') as f:
        f.write('B')
    os.rename(mnt + '/a', mnt + '/b')  # POSIX: replaces b
    assert not os.path.exists(_srv(t, 'a'))
    with open(_srv(t, 'b')) as f:
        assert f.read() == 'A'
    os.mkdir(mnt + '/dir1')
    with open(mnt + '/dir1/inner', 'w') as f:
        f.write('inner')
    os.rename(mnt + '/dir1', mnt + '/dir2')  # directory rename moves the subtree
    with open(mnt + '/dir2/inner') as f:
        assert f.read() == 'inner'
    assert os.path.exists(_srv(t, 'dir2/inner'))
    os.rename(mnt + '/b', mnt + '/dir2/b-moved')
    assert sorted(os.listdir(mnt + '/dir2')) == ['b-moved', 'inner']
    t.umount(mnt)


def test_truncate_times_mode(t):
    mnt = t.mount('rw')
    p = mnt + '/f.txt'
    with open(p, 'w') as f:
        f.write('0123456789')
    os.truncate(p, 4)
    assert os.path.getsize(_srv(t, 'f.txt')) == 4
    os.truncate(p, 100)
    assert os.stat(p).st_size == 100
    with open(_srv(t, 'f.txt'), 'rb') as f:
        assert f.read() == b'0123' + b'\0' * 96
    when = 981173106  # 2001-02-03 04:05:06 UTC
    os.utime(p, (when, when))
    assert int(os.stat(p).st_mtime) == when
    assert int(os.stat(_srv(t, 'f.txt')).st_mtime) == when
    os.chmod(p, 0o444)
    assert not (os.stat(p).st_mode & 0o222), 'chmod a-w did not clear the write bits'
    os.chmod(p, 0o644)
    assert os.stat(p).st_mode & 0o200
    t.umount(mnt)


def test_cp_and_tar(t):
    mnt = t.mount('rw')
    src = t.new_mountpoint('src')
    for i in range(20):
        with open(os.path.join(src, 'f%02d' % i), 'wb') as f:
            f.write(os.urandom(1000 * i + 1))
    r = subprocess.run(['cp', '-r', src, mnt + '/copy'], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(['diff', '-r', src, mnt + '/copy'], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, 'diff after cp -r:\n' + r.stdout + r.stderr
    r = subprocess.run(['tar', '-C', mnt, '-cf', '-', 'copy'], capture_output=True, timeout=60)
    assert r.returncode == 0
    r2 = subprocess.run(['tar', '-C', src, '-tf', '-'], input=r.stdout, capture_output=True,
                        timeout=60)
    assert r2.returncode == 0 and b'copy/f19' in r2.stdout
    t.umount(mnt)
