"""POSIX beyond read and write: symlinks, hard links, extended attributes,
fallocate and holes, server-side copy, byte-range locks, unlink and rename
of open files, case-only and no-replace renames.

Each test changes the share through the mount and checks the result in the
share's directory on the server (and, for locks, through a second mount,
which the server sees as a second client). Samba 4.17 facts the tests rely
on are named where they are used.
"""

import ctypes
import errno
import fcntl
import hashlib
import multiprocessing
import os
import signal
import stat
import struct
import time

import harness
from smbfixture import SambaServer

MiB = 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint]
_libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
_libc.getxattr.restype = ctypes.c_ssize_t
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 1, 2, 0x10


def _srv(t, rel):
    return os.path.join(t.share_path('rw'), rel)


def _raises(errnos, fn, *args, **kw):
    """fn(*args) must fail with one of errnos (an int or a tuple)."""
    if isinstance(errnos, int):
        errnos = (errnos,)
    try:
        fn(*args, **kw)
    except OSError as e:
        assert e.errno in errnos, '%s: expected %s, got %r' % (
            getattr(fn, '__name__', fn), [errno.errorcode[x] for x in errnos], e)
        return e
    raise AssertionError('%s%r succeeded, expected %s' % (
        getattr(fn, '__name__', fn), args, [errno.errorcode[x] for x in errnos]))


def _fallocate(fd, mode, off, length):
    if _libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _renameat2(a, b, flags):
    if _libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _daemon_rchar(mnt):
    """Bytes the smbfuse process serving mnt has read (sockets included)."""
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if mnt.encode() in argv and b'smbfuse' in os.path.basename(argv[0]):
            with open('/proc/%s/io' % d) as f:
                for line in f:
                    if line.startswith('rchar:'):
                        return int(line.split()[1])
    raise AssertionError('no smbfuse process serves %s' % mnt)


def _xsym(target):
    """A Minshall-French symlink file as cifs.ko writes it."""
    t = target.encode()
    body = b'XSym\n%04d\n%s\n' % (len(t), hashlib.md5(t).hexdigest().encode()) + t + b'\n'
    return body + b' ' * (1067 - len(body))


# ------------------------------------------------------------------ symlinks

def test_symlink_mfsymlinks(t):
    mnt = t.mount('rw', 'mfsymlinks')
    with open(mnt + '/target.txt', 'w') as f:
        f.write('the target\n')
    os.mkdir(mnt + '/dir')
    os.symlink('target.txt', mnt + '/rel')
    os.symlink('/etc/hostname', mnt + '/abs')
    os.symlink('missing', mnt + '/dangling')
    os.symlink('dir', mnt + '/dirlink')
    os.symlink('../target.txt', mnt + '/dir/up')
    for name, target in (('rel', 'target.txt'), ('abs', '/etc/hostname'),
                         ('dangling', 'missing'), ('dirlink', 'dir'), ('dir/up', '../target.txt')):
        st = os.lstat(mnt + '/' + name)
        assert stat.S_ISLNK(st.st_mode), '%s is not a symlink: %o' % (name, st.st_mode)
        assert st.st_size == len(target), 'symlink size is the target length'
        assert os.readlink(mnt + '/' + name) == target
        # what the server stores is the cifs.ko XSym file, byte for byte
        with open(_srv(t, name), 'rb') as f:
            assert f.read() == _xsym(target), 'server copy of %s is not an XSym file' % name
    # following them works like any symlink
    with open(mnt + '/rel') as f:
        assert f.read() == 'the target\n'
    with open(mnt + '/dir/up') as f:
        assert f.read() == 'the target\n'
    assert os.path.isdir(mnt + '/dirlink')
    assert not os.path.exists(mnt + '/dangling')
    # a listing says which entries are links (readdirplus attributes)
    kinds = {e.name: e.is_symlink() for e in os.scandir(mnt)}
    assert kinds == {'target.txt': False, 'dir': False, 'rel': True, 'abs': True,
                     'dangling': True, 'dirlink': True}, kinds
    # one written by another cifs client (straight into the share) is a symlink too
    t.write_server('rw', 'foreign', _xsym('dir/../target.txt'))
    assert os.readlink(mnt + '/foreign') == 'dir/../target.txt'
    # a 1067-byte file that is not an XSym file stays a file
    t.write_server('rw', 'lookalike', b'XSym\n' + b'z' * 1062)
    assert stat.S_ISREG(os.lstat(mnt + '/lookalike').st_mode)
    _raises(errno.EINVAL, os.readlink, mnt + '/lookalike')
    _raises(errno.EINVAL, os.readlink, mnt + '/target.txt')
    _raises(errno.EEXIST, os.symlink, 'x', mnt + '/rel')
    _raises(errno.ENAMETOOLONG, os.symlink, 'x' * 1025, mnt + '/toolong')
    # unlink and rename act on the link, not its target
    os.rename(mnt + '/rel', mnt + '/rel2')
    assert os.readlink(mnt + '/rel2') == 'target.txt'
    os.unlink(mnt + '/rel2')
    assert not os.path.lexists(_srv(t, 'rel2'))
    assert os.path.exists(_srv(t, 'target.txt'))
    t.umount(mnt)
    # what another mount sees comes from the server alone
    mnt = t.mount('rw', 'mfsymlinks')
    assert os.readlink(mnt + '/abs') == '/etc/hostname'
    t.umount(mnt)


def test_symlink_without_mfsymlinks(t):
    """Samba 4.17 stores no reparse points (FSCTL_SET_REPARSE_POINT answers
    STATUS_NOT_A_REPARSE_POINT): symlink() fails like on a filesystem without
    symlinks and leaves nothing behind; XSym files are plain files."""
    mnt = t.mount('rw')
    _raises(errno.EPERM, os.symlink, 'target', mnt + '/l1')
    _raises(errno.EPERM, os.symlink, '/abs/target', mnt + '/l2')
    assert os.listdir(_srv(t, '')) == [], 'a failed symlink left %r' % os.listdir(_srv(t, ''))
    t.write_server('rw', 'xsym', _xsym('target'))
    assert stat.S_ISREG(os.lstat(mnt + '/xsym').st_mode)
    t.umount(mnt)


def test_server_side_symlinks(t):
    """Samba 4.17 follows symlinks inside the share itself ("follow symlinks =
    yes") and hides those that leave it or dangle ("wide links = no")."""
    share = _srv(t, '')
    t.write_server('rw', 'real/file.txt', b'real data')
    os.symlink('real/file.txt', share + '/in_share')
    os.symlink('real', share + '/dir_in_share')
    os.symlink('/etc/hostname', share + '/out_of_share')
    os.symlink('nowhere', share + '/dangling')
    mnt = t.mount('rw', 'mfsymlinks')
    with open(mnt + '/in_share', 'rb') as f:
        assert f.read() == b'real data'
    assert stat.S_ISREG(os.lstat(mnt + '/in_share').st_mode)
    assert os.listdir(mnt + '/dir_in_share') == ['file.txt']
    names = set(os.listdir(mnt))
    assert 'out_of_share' not in names and 'dangling' not in names, names
    assert not os.path.lexists(mnt + '/out_of_share')
    t.umount(mnt)


# ------------------------------------------------------------------ hard links

def test_hard_links(t):
    mnt = t.mount('rw')
    with open(mnt + '/one', 'wb') as f:
        f.write(b'shared bytes')
    os.link(mnt + '/one', mnt + '/two')
    s1, s2 = os.stat(mnt + '/one'), os.stat(mnt + '/two')
    assert s1.st_ino == s2.st_ino, 'two names of one file have different inode numbers'
    assert s1.st_nlink == 2 and s2.st_nlink == 2, (s1.st_nlink, s2.st_nlink)
    assert os.stat(_srv(t, 'two')).st_ino == os.stat(_srv(t, 'one')).st_ino
    assert os.stat(_srv(t, 'one')).st_nlink == 2
    # one file: a write through one name is read through the other
    with open(mnt + '/two', 'r+b') as f:
        f.write(b'SHARED')
    with open(mnt + '/one', 'rb') as f:
        assert f.read() == b'SHARED bytes'
    os.mkdir(mnt + '/sub')
    os.link(mnt + '/two', mnt + '/sub/three')
    assert os.stat(mnt + '/one').st_nlink == 3
    _raises(errno.EEXIST, os.link, mnt + '/one', mnt + '/two')
    _raises(errno.ENOENT, os.link, mnt + '/nothing', mnt + '/four')
    _raises((errno.EPERM, errno.EISDIR), os.link, mnt + '/sub', mnt + '/sublink')
    os.unlink(mnt + '/one')
    # the other names' link counts are attributes: current within actimeo (1 s)
    time.sleep(1.2)
    assert os.stat(mnt + '/two').st_nlink == 2
    assert not os.path.exists(_srv(t, 'one'))
    with open(_srv(t, 'sub/three'), 'rb') as f:
        assert f.read() == b'SHARED bytes'
    t.umount(mnt)


# ------------------------------------------------------------------ extended attributes

def test_xattrs(t):
    mnt = t.mount('rw')
    p = mnt + '/f'
    with open(p, 'w') as f:
        f.write('x')
    assert os.listxattr(p) == []
    os.setxattr(p, 'user.colour', b'blue')
    assert os.getxattr(p, 'user.colour') == b'blue'
    # Samba keeps an SMB EA "colour" as the xattr user.colour of the file
    assert os.getxattr(_srv(t, 'f'), 'user.colour') == b'blue'
    binary = bytes(range(256)) * 12  # NULs included (ext4 keeps values up to a block)
    os.setxattr(p, 'user.blob', binary)
    assert os.getxattr(p, 'user.blob') == binary
    assert sorted(os.listxattr(p)) == ['user.blob', 'user.colour']
    # a buffer too small is ERANGE; size 0 asks for the size
    buf = ctypes.create_string_buffer(3)
    assert _libc.getxattr(p.encode(), b'user.colour', buf, 3) == -1
    assert ctypes.get_errno() == errno.ERANGE
    assert _libc.getxattr(p.encode(), b'user.colour', None, 0) == 4
    # create/replace flags
    _raises(errno.EEXIST, os.setxattr, p, 'user.colour', b'red', os.XATTR_CREATE)
    _raises(errno.ENODATA, os.setxattr, p, 'user.shape', b'round', os.XATTR_REPLACE)
    os.setxattr(p, 'user.colour', b'red', os.XATTR_REPLACE)
    os.setxattr(p, 'user.shape', b'round', os.XATTR_CREATE)
    assert os.getxattr(p, 'user.colour') == b'red'
    assert os.getxattr(_srv(t, 'f'), 'user.shape') == b'round'
    # missing ones
    _raises(errno.ENODATA, os.getxattr, p, 'user.nothing')
    _raises(errno.ENODATA, os.removexattr, p, 'user.nothing')
    os.removexattr(p, 'user.colour')
    _raises(errno.ENODATA, os.getxattr, p, 'user.colour')
    assert sorted(os.listxattr(p)) == ['user.blob', 'user.shape']
    assert 'user.colour' not in os.listxattr(_srv(t, 'f'))
    # SMB has user EAs only, and no empty ones
    _raises(errno.EOPNOTSUPP, os.setxattr, p, 'trusted.x', b'1')
    _raises(errno.EOPNOTSUPP, os.setxattr, p, 'security.x', b'1')
    _raises(errno.ENODATA, os.getxattr, p, 'security.selinux')
    _raises(errno.EINVAL, os.setxattr, p, 'user.empty', b'')
    _raises(errno.E2BIG, os.setxattr, p, 'user.huge', b'h' * 65536)
    # directories carry EAs too
    os.mkdir(mnt + '/d')
    os.setxattr(mnt + '/d', 'user.tag', b'dir')
    assert os.getxattr(_srv(t, 'd'), 'user.tag') == b'dir'
    # set on the server, seen through the mount
    os.setxattr(_srv(t, 'f'), 'user.from_server', b'hello')
    assert os.getxattr(p, 'user.from_server') == b'hello'
    t.umount(mnt)


def test_xattrs_unsupported(t):
    """A share with "ea support = no": setting fails with ENOTSUP, listing is empty."""
    with SambaServer(extra_shares={'noea': {'read only': 'no', 'ea support': 'no'}}) as srv:
        mnt = t.new_mountpoint('noea')
        srv.track_mount(mnt)
        r = t.try_mount(None, 'username=%s' % srv.user, 'password=%s' % srv.password,
                        unc=srv.unc('noea'), mnt=mnt, creds=False)
        assert r.ok, r
        try:
            with open(mnt + '/f', 'w') as f:
                f.write('x')
            _raises(errno.EOPNOTSUPP, os.setxattr, mnt + '/f', 'user.a', b'1')
            assert os.listxattr(mnt + '/f') == []
            _raises((errno.EOPNOTSUPP, errno.ENODATA), os.getxattr, mnt + '/f', 'user.a')
        finally:
            t.umount(mnt)


def test_nouser_xattr(t):
    """nouser_xattr (cifs.ko's name): no user.* xattrs at all, ENOTSUP."""
    r = t.try_mount('rw', 'nouser_xattr')
    if not r.ok and 'nouser_xattr' in r.stderr:
        t.skip('the nouser_xattr option is not wired up: %s' % r.stderr.strip())
    assert r.ok, r
    mnt = r.mnt
    with open(mnt + '/f', 'w') as f:
        f.write('x')
    os.setxattr(_srv(t, 'f'), 'user.there', b'1')
    _raises(errno.EOPNOTSUPP, os.getxattr, mnt + '/f', 'user.there')
    _raises(errno.EOPNOTSUPP, os.setxattr, mnt + '/f', 'user.a', b'1')
    _raises(errno.EOPNOTSUPP, os.listxattr, mnt + '/f')
    _raises(errno.EOPNOTSUPP, os.removexattr, mnt + '/f', 'user.there')
    assert os.getxattr(_srv(t, 'f'), 'user.there') == b'1'
    t.umount(mnt)


# ------------------------------------------------------------------ fallocate, holes, copies

def test_fallocate_and_holes(t):
    mnt = t.mount('rw')
    p = mnt + '/sparse'
    fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    try:
        # mode 0 extends the file
        os.posix_fallocate(fd, 0, 4 * MiB)
        assert os.fstat(fd).st_size == 4 * MiB
        assert os.stat(_srv(t, 'sparse')).st_size == 4 * MiB
        # KEEP_SIZE does not
        _fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8 * MiB)
        assert os.fstat(fd).st_size == 4 * MiB
        assert os.stat(_srv(t, 'sparse')).st_size == 4 * MiB
        data = os.urandom(4 * MiB)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        blocks_before = os.stat(_srv(t, 'sparse')).st_blocks
        # punch a 1 MiB hole at 1 MiB: zeros there, everything else intact, space freed
        _fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, MiB)
        want = data[:MiB] + b'\0' * MiB + data[2 * MiB:]
        assert os.pread(fd, 4 * MiB, 0) == want
        with open(_srv(t, 'sparse'), 'rb') as f:
            assert f.read() == want, 'the server file does not have the hole'
        assert os.fstat(fd).st_size == 4 * MiB
        assert os.stat(_srv(t, 'sparse')).st_blocks <= blocks_before - MiB // 512, \
            'punching did not free the space on the server'
        # SEEK_DATA / SEEK_HOLE agree with the server's own filesystem
        sfd = os.open(_srv(t, 'sparse'), os.O_RDONLY)
        try:
            for off in (0, 100, MiB, MiB + 4096, 2 * MiB - 1, 2 * MiB, 3 * MiB):
                for whence in (os.SEEK_DATA, os.SEEK_HOLE):
                    assert os.lseek(fd, off, whence) == os.lseek(sfd, off, whence), \
                        'lseek(%d, %s)' % (off, 'SEEK_DATA' if whence == os.SEEK_DATA
                                            else 'SEEK_HOLE')
        finally:
            os.close(sfd)
        assert os.lseek(fd, 0, os.SEEK_HOLE) == MiB
        assert os.lseek(fd, MiB, os.SEEK_DATA) == 2 * MiB
        assert os.lseek(fd, 3 * MiB, os.SEEK_HOLE) == 4 * MiB  # the hole at end of file
        _raises(errno.ENXIO, os.lseek, fd, 4 * MiB, os.SEEK_DATA)
        _raises(errno.ENXIO, os.lseek, fd, 5 * MiB, os.SEEK_HOLE)
        # ZERO_RANGE past the end extends it, with zeros
        _fallocate(fd, FALLOC_FL_ZERO_RANGE, 3 * MiB, 2 * MiB)
        assert os.fstat(fd).st_size == 5 * MiB
        assert os.pread(fd, 2 * MiB, 3 * MiB) == b'\0' * 2 * MiB
        assert os.pread(fd, MiB, 2 * MiB) == data[2 * MiB:3 * MiB]
        _raises(errno.EOPNOTSUPP, _fallocate, fd, 0x08, 0, MiB)  # COLLAPSE_RANGE
    finally:
        os.close(fd)
    # a file without holes is all data
    with open(mnt + '/dense', 'wb') as f:
        f.write(b'd' * 100000)
    fd = os.open(mnt + '/dense', os.O_RDONLY)
    assert os.lseek(fd, 10, os.SEEK_DATA) == 10
    assert os.lseek(fd, 10, os.SEEK_HOLE) == 100000
    os.close(fd)
    t.umount(mnt)


def test_copy_file_range_server_side(t):
    mnt = t.mount('rw')
    data = os.urandom(40 * MiB + 12345)
    t.write_server('rw', 'src.bin', data)
    before = _daemon_rchar(mnt)
    src = os.open(mnt + '/src.bin', os.O_RDONLY)
    dst = os.open(mnt + '/dst.bin', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        done = 0
        while done < len(data):
            n = os.copy_file_range(src, dst, len(data) - done)
            assert n > 0, 'copy_file_range stopped at %d' % done
            done += n
        assert os.copy_file_range(src, dst, 100) == 0, 'a copy at end of file is empty'
    finally:
        os.close(src)
        os.close(dst)
    moved = _daemon_rchar(mnt) - before
    assert moved < 4 * MiB, 'the data went through the client (%d bytes read)' % moved
    with open(_srv(t, 'dst.bin'), 'rb') as f:
        assert f.read() == data
    # offsets, into the middle of an existing file, and within one file
    with open(mnt + '/mid.bin', 'wb') as f:
        f.write(b'-' * 1000)
    src = os.open(mnt + '/src.bin', os.O_RDONLY)
    dst = os.open(mnt + '/mid.bin', os.O_RDWR)
    try:
        assert os.copy_file_range(src, dst, 300, 7 * MiB + 1, 200) == 300
    finally:
        os.close(src)
        os.close(dst)
    with open(_srv(t, 'mid.bin'), 'rb') as f:
        assert f.read() == b'-' * 200 + data[7 * MiB + 1:7 * MiB + 301] + b'-' * 500
    t.umount(mnt)


# ------------------------------------------------------------------ locks

def _try_lockf(fd, op, length, start):
    try:
        fcntl.lockf(fd, op | fcntl.LOCK_NB, length, start)
        return 0
    except OSError as e:
        return e.errno


def _getlk(fd, ltype, start, length):
    r = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi', ltype, os.SEEK_SET, start, length, 0))
    return struct.unpack('hhqqi', r)


def test_posix_locks_between_clients(t):
    """Two mounts are two SMB clients: the server arbitrates their locks."""
    a = t.mount('rw')
    b = t.mount('rw')
    with open(a + '/db', 'wb') as f:
        f.write(b'\0' * 4096)
    fa = os.open(a + '/db', os.O_RDWR)
    fb = os.open(b + '/db', os.O_RDWR)
    try:
        fcntl.lockf(fa, fcntl.LOCK_EX, 100, 0)
        assert _try_lockf(fb, fcntl.LOCK_EX, 10, 50) == errno.EAGAIN
        assert _try_lockf(fb, fcntl.LOCK_SH, 10, 50) == errno.EAGAIN
        assert _try_lockf(fb, fcntl.LOCK_EX, 100, 100) == 0  # next to it: free
        fcntl.lockf(fb, fcntl.LOCK_UN, 100, 100)
        ltype, _, start, length, _ = _getlk(fb, fcntl.F_WRLCK, 0, 10)
        assert ltype == fcntl.F_WRLCK, 'F_GETLK does not see the other client\'s lock'
        assert _getlk(fb, fcntl.F_WRLCK, 200, 10)[0] == fcntl.F_UNLCK
        # downgrade to shared: readers may join, writers may not
        fcntl.lockf(fa, fcntl.LOCK_SH, 100, 0)
        assert _try_lockf(fb, fcntl.LOCK_SH, 10, 50) == 0
        assert _getlk(fb, fcntl.F_WRLCK, 0, 10)[0] == fcntl.F_RDLCK  # only shared
        assert _try_lockf(fb, fcntl.LOCK_EX, 10, 20) == errno.EAGAIN
        # upgrade is refused while the other client reads, granted after
        assert _try_lockf(fa, fcntl.LOCK_EX, 100, 0) == errno.EAGAIN
        fcntl.lockf(fb, fcntl.LOCK_UN, 10, 50)
        assert _try_lockf(fa, fcntl.LOCK_EX, 100, 0) == 0
        # unlocking the middle splits the lock
        fcntl.lockf(fa, fcntl.LOCK_UN, 20, 40)
        assert _try_lockf(fb, fcntl.LOCK_EX, 10, 45) == 0
        assert _try_lockf(fb, fcntl.LOCK_EX, 5, 10) == errno.EAGAIN
        assert _try_lockf(fb, fcntl.LOCK_EX, 5, 80) == errno.EAGAIN
        fcntl.lockf(fb, fcntl.LOCK_UN, 10, 45)
        # l_len 0 locks to the end of the file and beyond
        fcntl.lockf(fa, fcntl.LOCK_EX, 0, 1000)
        assert _try_lockf(fb, fcntl.LOCK_EX, 1, 10 ** 12) == errno.EAGAIN
        # closing any descriptor of the file drops the process's locks
        fa2 = os.open(a + '/db', os.O_RDONLY)
        os.close(fa2)
        assert _try_lockf(fb, fcntl.LOCK_EX, 0, 0) == 0
    finally:
        os.close(fa)
        os.close(fb)
    t.umount(a)
    t.umount(b)


def _hold_then_release(path, ready, go):
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    ready.set()
    go.wait(30)
    os.close(fd)


def _release_later(go, delay):
    time.sleep(delay)
    go.set()


class _Alarm(Exception):
    pass


def _alarm(*_):
    raise _Alarm()  # so that Python does not retry the interrupted fcntl()


@harness.timeout(60)
def test_blocking_lock_waits_and_interrupts(t):
    a = t.mount('rw')
    b = t.mount('rw')
    with open(a + '/f', 'wb') as f:
        f.write(b'x' * 100)
    ready, go = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_then_release, args=(a + '/f', ready, go))
    holder.start()
    fb = None
    try:
        assert ready.wait(20)
        fb = os.open(b + '/f', os.O_RDWR)
        # A signal interrupts F_SETLKW: the call comes back at once, without the lock.
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        t0 = time.monotonic()
        try:
            fcntl.lockf(fb, fcntl.LOCK_EX, 10, 0)
        except _Alarm:
            pass
        else:
            raise AssertionError('F_SETLKW got a lock another client holds')
        assert time.monotonic() - t0 < 3, 'the interrupted F_SETLKW returned late'
        assert _try_lockf(fb, fcntl.LOCK_EX, 10, 0) == errno.EAGAIN
        # Waiting: granted soon after the holder lets go.
        releaser = multiprocessing.Process(target=_release_later, args=(go, 1.0))
        releaser.start()
        t0 = time.monotonic()
        fcntl.lockf(fb, fcntl.LOCK_EX, 10, 0)
        waited = time.monotonic() - t0
        assert 0.8 < waited < 5, 'the blocking lock took %.2f s' % waited
        releaser.join(10)
        assert _getlk(fb, fcntl.F_WRLCK, 0, 10)[0] == fcntl.F_UNLCK  # our own lock
    finally:
        go.set()
        holder.join(10)
        if fb is not None:
            os.close(fb)
    t.umount(a)
    t.umount(b)


def _child_lock(path, q):
    fd = os.open(path, os.O_RDWR)
    q.put(_try_lockf(fd, fcntl.LOCK_EX, 10, 0))
    os.close(fd)


def test_locks_between_processes_of_one_mount(t):
    a = t.mount('rw')
    with open(a + '/f', 'wb') as f:
        f.write(b'x' * 100)
    fd = os.open(a + '/f', os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=_child_lock, args=(a + '/f', q))
    p.start()
    assert q.get(timeout=20) == errno.EAGAIN, 'another process got a held lock'
    p.join(10)
    fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
    p = multiprocessing.Process(target=_child_lock, args=(a + '/f', q))
    p.start()
    assert q.get(timeout=20) == 0
    p.join(10)
    os.close(fd)
    t.umount(a)


def test_flock_between_clients(t):
    a = t.mount('rw')
    b = t.mount('rw')
    with open(a + '/f', 'wb') as f:
        f.write(b'x')
    fa = os.open(a + '/f', os.O_RDONLY)
    fb = os.open(b + '/f', os.O_RDONLY)
    try:
        fcntl.flock(fa, fcntl.LOCK_EX)
        _raises(errno.EWOULDBLOCK, fcntl.flock, fb, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fa, fcntl.LOCK_SH)  # convert
        fcntl.flock(fb, fcntl.LOCK_SH | fcntl.LOCK_NB)
        _raises(errno.EWOULDBLOCK, fcntl.flock, fa, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fb, fcntl.LOCK_UN)
        fcntl.flock(fa, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fa, fcntl.LOCK_UN)
        fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # as on Linux, flock() and fcntl() locks do not conflict with each other
        assert _try_lockf(fb, fcntl.LOCK_SH, 0, 0) == 0
        assert _try_lockf(fa, fcntl.LOCK_SH, 0, 0) == 0
        _raises(errno.EWOULDBLOCK, fcntl.flock, fa, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(fa)
        os.close(fb)
    t.umount(a)
    t.umount(b)


def test_nobrl_keeps_locks_local(t):
    a = t.mount('rw', 'nobrl')
    b = t.mount('rw', 'nobrl')
    with open(a + '/f', 'wb') as f:
        f.write(b'x' * 100)
    fa = os.open(a + '/f', os.O_RDWR)
    fb = os.open(b + '/f', os.O_RDWR)
    fcntl.lockf(fa, fcntl.LOCK_EX, 10, 0)
    assert _try_lockf(fb, fcntl.LOCK_EX, 10, 0) == 0, 'nobrl: the lock reached the server'
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=_child_lock, args=(a + '/f', q))
    p.start()
    assert q.get(timeout=20) == errno.EAGAIN, 'nobrl: local locks must still work'
    p.join(10)
    os.close(fa)
    os.close(fb)
    t.umount(a)
    t.umount(b)


def _sqlite_worker(path, tag, n):
    import sqlite3
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    for i in range(n):
        # read-modify-write in one write transaction: lost updates mean broken locks
        con.execute('BEGIN IMMEDIATE')
        (v,) = con.execute('SELECT v FROM counter').fetchone()
        con.execute('UPDATE counter SET v = ?', (v + 1,))
        con.execute('INSERT INTO log VALUES (?, ?)', (tag, i))
        con.execute('COMMIT')
    con.close()


def _sqlite_run(t, mounts, db_server_path):
    import sqlite3
    con = sqlite3.connect(mounts[0] + '/test.db')
    con.executescript('CREATE TABLE counter (v INTEGER); INSERT INTO counter VALUES (0);'
                      'CREATE TABLE log (tag TEXT, i INTEGER);')
    con.commit()
    con.close()
    procs = [multiprocessing.Process(target=_sqlite_worker, args=(m + '/test.db', 'w%d' % i, 30))
             for i, m in enumerate(mounts)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(150)
        assert p.exitcode == 0, 'an sqlite writer failed'
    con = sqlite3.connect(db_server_path)
    n = 30 * len(mounts)
    assert con.execute('SELECT v FROM counter').fetchone() == (n,), 'lost updates'
    assert con.execute('SELECT count(*) FROM log').fetchone() == (n,)
    assert con.execute('PRAGMA integrity_check').fetchone() == ('ok',)
    con.close()


@harness.timeout(180)
def test_sqlite_writers_on_three_clients(t):
    """Three sqlite writers, each through its own mount (its own SMB client).

    actimeo=0: sqlite decides from the existence of test.db-journal whether
    another writer crashed mid-transaction; across clients that answer must
    not come from a one-second attribute or negative-entry cache (with the
    default actimeo=1 a journal another client just deleted can look present,
    and sqlite reports a disk I/O error)."""
    mounts = [t.mount('rw', 'actimeo=0') for _ in range(3)]
    _sqlite_run(t, mounts, _srv(t, 'test.db'))
    for m in mounts:
        t.umount(m)


@harness.timeout(180)
def test_sqlite_writers_on_one_client(t):
    """Three sqlite writers through one mount: three handles of one SMB client.

    Samba 4.17 maps byte-range locks to OFD locks on its file descriptors, and
    skips the unlock of a range that another handle of the same client still
    holds; the descriptor keeps a stale lock that later refuses the client's
    own exclusive locks (sqlite then reports "database is locked"). Samba
    needs "smbd force process locks = yes" for several handles of one client
    to share a file's locks; this test runs against such a server."""
    with SambaServer(extra_global={'smbd force process locks': 'yes'}) as srv:
        mounts = []
        for _ in range(3):
            mnt = t.new_mountpoint('pl')
            srv.track_mount(mnt)
            r = t.try_mount(None, 'username=%s' % srv.user, 'password=%s' % srv.password,
                            unc=srv.unc('rw'), mnt=mnt, creds=False)
            assert r.ok, r
            mounts.append(mnt)
        try:
            _sqlite_run(t, [mounts[0]] * 3, os.path.join(srv.share_path('rw'), 'test.db'))
        finally:
            for m in mounts:
                t.umount(m)


# ------------------------------------------------------------------ open files

def _wait_listing(path, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while sorted(os.listdir(path)) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(os.listdir(path)) == want, os.listdir(path)


def test_unlink_open_file(t):
    mnt = t.mount('rw')
    fd = os.open(mnt + '/f', os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b'before unlink')
    os.unlink(mnt + '/f')
    # the name is gone at once, for the mount and on the server...
    assert 'f' not in os.listdir(mnt)
    assert not os.path.exists(mnt + '/f')
    assert not os.path.exists(_srv(t, 'f'))
    # ...and free for a new file
    with open(mnt + '/f', 'wb') as f:
        f.write(b'a new file')
    # the open file works as before
    os.write(fd, b', after unlink')
    assert os.pread(fd, 100, 0) == b'before unlink, after unlink'
    assert os.fstat(fd).st_size == len(b'before unlink, after unlink')
    os.close(fd)
    # gone after the last close (the kernel sends release after close returns)
    _wait_listing(_srv(t, ''), ['f'])
    with open(_srv(t, 'f'), 'rb') as f:
        assert f.read() == b'a new file'
    t.umount(mnt)


def test_rename_over_open_file(t):
    mnt = t.mount('rw')
    with open(mnt + '/old', 'wb') as f:
        f.write(b'old contents')
    with open(mnt + '/new', 'wb') as f:
        f.write(b'new contents')
    fd = os.open(mnt + '/old', os.O_RDONLY)
    os.rename(mnt + '/new', mnt + '/old')  # replaces a file someone has open
    with open(mnt + '/old', 'rb') as f:
        assert f.read() == b'new contents'
    assert os.pread(fd, 100, 0) == b'old contents', 'the open file changed under its reader'
    os.close(fd)
    _wait_listing(_srv(t, ''), ['old'])
    # renaming a file that is open keeps the descriptor working
    fd = os.open(mnt + '/old', os.O_RDWR)
    os.rename(mnt + '/old', mnt + '/moved')
    os.pwrite(fd, b'NEW', 0)
    os.close(fd)
    with open(_srv(t, 'moved'), 'rb') as f:
        assert f.read() == b'NEW contents'
    t.umount(mnt)


def test_replace_while_readers_read(t):
    """A file replaced over and over by rename (write t.tmp, rename over t.bin)
    while readers open and read it: every read returns one whole version,
    never a mix of two (one inode's pages filled from two server files); the
    name never goes missing (SMB replaces an open file in two steps; a reader
    meanwhile waits); the writer's renames all succeed."""
    import threading
    mnt = t.mount('rw')
    stop = time.time() + 8
    errs, reads, gens = {}, [0], [0]
    with open(mnt + '/t.bin', 'wb') as f:
        f.write(b'%08d' % 0 * 4096)

    def writer():
        g = 0
        try:
            while time.time() < stop:
                g += 1
                with open(mnt + '/t.tmp', 'wb') as f:
                    f.write((b'%08d' % g) * (4096 * (1 + g % 8)))
                os.rename(mnt + '/t.tmp', mnt + '/t.bin')
        except OSError as e:
            errs['writer %s' % errno.errorcode[e.errno]] = 1
        gens[0] = g

    def reader():
        while time.time() < stop:
            try:
                with open(mnt + '/t.bin', 'rb') as f:
                    d = f.read()
                reads[0] += 1
                if not d or d != d[:8] * (len(d) // 8) or len(d) % 32768:
                    errs['mixed'] = errs.get('mixed', 0) + 1
            except OSError as e:
                k = errno.errorcode.get(e.errno, str(e.errno))
                errs[k] = errs.get(k, 0) + 1
    ts = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    stale = errs.pop('ESTALE', 0)
    assert not errs, 'after %d replacements and %d reads: %r' % (gens[0], reads[0], errs)
    assert gens[0] > 50 and reads[0] > 100, (gens[0], reads[0])
    # ESTALE only when the name was replaced twice between the kernel's
    # lookup and its open (it retries once): rare, as on NFS.
    assert stale * 20 < reads[0], 'ESTALE %d times in %d reads' % (stale, reads[0])
    t.umount(mnt)


def test_replaced_on_server_not_mixed(t):
    """A file replaced on the server (another file renamed over it there)
    while the mount has the old one cached: the next open reads the new file
    whole, not the old file's cached pages patched with the new one."""
    mnt = t.mount('rw', 'actimeo=1')
    with open(_srv(t, 'r.bin'), 'wb') as f:
        f.write(b'a' * 65536)
    with open(mnt + '/r.bin', 'rb') as f:
        assert f.read() == b'a' * 65536
    fd = os.open(mnt + '/r.bin', os.O_RDONLY)  # keeps the inode and its lease around
    with open(_srv(t, 'r.new'), 'wb') as f:
        f.write(b'b' * 131072)
    os.rename(_srv(t, 'r.new'), _srv(t, 'r.bin'))
    os.close(fd)
    time.sleep(1.5)  # past actimeo: the mount asks the server again
    with open(mnt + '/r.bin', 'rb') as f:
        d = f.read()
    assert d == b'b' * 131072, 'read %d bytes: %r...' % (len(d), d[:8] + d[-8:])
    t.umount(mnt)


# ------------------------------------------------------------------ renames

def test_case_only_rename(t):
    mnt = t.mount('rw')
    with open(mnt + '/readme', 'w') as f:
        f.write('x')
    os.mkdir(mnt + '/dir')
    os.rename(mnt + '/readme', mnt + '/README')
    os.rename(mnt + '/dir', mnt + '/Dir')
    assert sorted(os.listdir(mnt)) == ['Dir', 'README']
    assert sorted(os.listdir(_srv(t, ''))) == ['Dir', 'README']
    with open(mnt + '/README') as f:
        assert f.read() == 'x'
    t.umount(mnt)


def test_rename_noreplace_and_exchange(t):
    mnt = t.mount('rw')
    with open(mnt + '/a', 'w') as f:
        f.write('A')
    with open(mnt + '/b', 'w') as f:
        f.write('B')
    _raises(errno.EEXIST, _renameat2, mnt + '/a', mnt + '/b', RENAME_NOREPLACE)
    with open(_srv(t, 'b')) as f:
        assert f.read() == 'B', 'RENAME_NOREPLACE replaced the target'
    assert os.path.exists(_srv(t, 'a'))
    _renameat2(mnt + '/a', mnt + '/c', RENAME_NOREPLACE)
    assert sorted(os.listdir(_srv(t, ''))) == ['b', 'c']
    _raises(errno.EINVAL, _renameat2, mnt + '/b', mnt + '/c', RENAME_EXCHANGE)
    t.umount(mnt)


# ------------------------------------------------------------------ what SMB cannot express

def test_what_smb_cannot_express(t):
    """The README table "What SMB cannot express": each row as it happens."""
    import socket
    mnt = t.mount('rw')
    with open(mnt + '/f', 'w') as f:
        f.write('x')
    uid, gid = os.getuid(), os.getgid()
    # ownership: not stored; noperm (default) accepts a chown and changes nothing
    os.chown(mnt + '/f', uid + 1234, gid + 1234)
    st = os.stat(mnt + '/f')
    assert (st.st_uid, st.st_gid) == (uid, gid)
    # mode: file_mode, minus the write bits when read-only; set-id bits dropped
    os.chmod(mnt + '/f', 0o4600)
    assert stat.S_IMODE(os.stat(mnt + '/f').st_mode) == 0o755
    os.chmod(mnt + '/f', 0o444)
    assert stat.S_IMODE(os.stat(mnt + '/f').st_mode) == 0o555
    if uid != 0:  # root passes the kernel's check but not the server's
        _raises(errno.EACCES, open, mnt + '/f', 'w')
    os.chmod(mnt + '/f', 0o644)
    assert stat.S_IMODE(os.stat(mnt + '/f').st_mode) == 0o755
    assert os.stat(mnt).st_nlink == 2
    # special files: none; a regular file by mknod works
    _raises(errno.EPERM, os.mkfifo, mnt + '/fifo')
    _raises(errno.EPERM, os.mknod, mnt + '/null', stat.S_IFCHR | 0o600, os.makedev(1, 3))
    s = socket.socket(socket.AF_UNIX)
    _raises(errno.EPERM, s.bind, mnt + '/sock')
    s.close()
    os.mknod(mnt + '/reg', stat.S_IFREG | 0o644)
    assert os.path.isfile(_srv(t, 'reg'))
    assert sorted(os.listdir(_srv(t, ''))) == ['f', 'reg']
    # no symlinks on this server without mfsymlinks
    _raises(errno.EPERM, os.symlink, 'f', mnt + '/l')
    # hard links stay inside the mount
    other = t.new_mountpoint('local')
    _raises(errno.EXDEV, os.link, mnt + '/f', other + '/f')
    # no anonymous files, no xattr namespaces but user.*, no POSIX ACLs
    _raises(errno.EOPNOTSUPP, os.open, mnt, os.O_TMPFILE | os.O_RDWR, 0o600)
    for ns in ('security.x', 'trusted.x'):
        _raises(errno.EOPNOTSUPP, os.setxattr, mnt + '/f', ns, b'1')
    _raises(errno.ENODATA, os.getxattr, mnt + '/f', 'system.posix_acl_access')
    # names: NAME_MAX bytes; Samba is case-insensitive (case-only renames work)
    with open(mnt + '/' + 'n' * 255, 'w'):
        pass
    _raises(errno.ENAMETOOLONG, open, mnt + '/' + 'n' * 256, 'w')
    _raises(errno.ENAMETOOLONG, os.stat, mnt + '/' + 'n' * 256)
    with open(mnt + '/Case', 'w') as f:
        f.write('c')
    with open(mnt + '/CASE') as f:
        assert f.read() == 'c'
    t.umount(mnt)
    # perm: the kernel checks modes, and a chown to another owner fails
    mnt = t.mount('rw', 'perm')
    os.chown(mnt + '/f', uid, gid)
    _raises(errno.EPERM, os.chown, mnt + '/f', uid + 1234, -1)
    _raises(errno.EPERM, os.chown, mnt + '/f', -1, gid + 1234)
    t.umount(mnt)
