"""Files created later (smbc_open_later, ops_file.c create_later_ok).

An open(O_CREAT) of a name the directory's kept listing says is absent
answers at once; the CREATE goes to the server with the data and times at
close, in one compound. These tests check that nothing can tell the
difference except the round trips: close() returns with the file on the
server, anything that looks at the server first creates it, and a name
another client made meanwhile is an error at close, never an overwrite.
"""
import errno
import os
import sys
import time

from countproxy import CountProxy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402


def _share(t, *parts):
    return os.path.join(t.share_path('rw'), *parts)


def _proxy_mount(t, proxy, *opts):
    # nonotify: a watch's background requests would land in the counts
    return t.mount('rw', 'nonotify', *opts, unc='//127.0.0.1:%d/rw' % proxy.port)


def test_tar_like_file_is_one_round_trip(t):
    # tar x: open(O_CREAT|O_EXCL), write, futimens, close, in a directory
    # the mount made: the CREATE, WRITE and SET_INFO leave as one compound
    with CountProxy(t.srv.port) as p:
        mnt = _proxy_mount(t, p, 'actimeo=30')
        os.mkdir(mnt + '/x')
        m = p.mark()
        fd = os.open(mnt + '/x/small', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, b'y' * 1024)
        os.utime(fd, (1600000000, 1700000000))
        os.fchmod(fd, 0o644)
        assert p.since(m) == [], 'the open went to the server: %r' % p.since(m)
        os.close(fd)
        # the release's CLOSE comes after close()
        frames = [f for f in p.since(m) if f != ['CLOSE']]
        assert frames == [['CREATE', 'WRITE', 'SET_INFO']], frames
        # on the server the moment close() returned
        st = os.stat(_share(t, 'x', 'small'))
        assert st.st_size == 1024 and int(st.st_mtime) == 1700000000, st
        with open(_share(t, 'x', 'small'), 'rb') as f:
            assert f.read() == b'y' * 1024
        # an empty file: the CREATE alone, at close
        m = p.mark()
        os.close(os.open(mnt + '/x/empty', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        assert [f for f in p.since(m) if f != ['CLOSE']] == [['CREATE']], p.since(m)
        assert os.path.isfile(_share(t, 'x', 'empty'))
        # times only (touch -d): CREATE + SET_INFO
        m = p.mark()
        fd = os.open(mnt + '/x/touched', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.utime(fd, (1500000000, 1500000000))
        os.close(fd)
        assert [f for f in p.since(m) if f != ['CLOSE']] == [['CREATE', 'SET_INFO']], \
            p.since(m)
        assert int(os.stat(_share(t, 'x', 'touched')).st_mtime) == 1500000000
        # a file larger than one WRITE is created by its first WRITE
        fd = os.open(mnt + '/x/big', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        data = bytes(range(256)) * (3 * 4096 + 17)
        os.write(fd, data)
        os.utime(fd, (1600000000, 1700000001))
        os.close(fd)
        st = os.stat(_share(t, 'x', 'big'))
        assert st.st_size == len(data) and int(st.st_mtime) == 1700000001, st
        with open(_share(t, 'x', 'big'), 'rb') as f:
            assert f.read() == data
        t.umount(mnt)


def test_name_taken_meanwhile_fails_at_close(t):
    # without notifications the listing says "absent" for 30 s: another
    # client's file of that name must not be overwritten nor mixed with ours
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.mkdir(mnt + '/col')
    t.write_server('rw', 'col/x', b'theirs')
    fd = os.open(mnt + '/col/x', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'mine, longer than theirs')
    try:
        os.close(fd)
        assert False, 'close() hid that the file could not be created'
    except OSError as e:
        assert e.errno == errno.EEXIST, e
    with open(_share(t, 'col', 'x'), 'rb') as f:
        assert f.read() == b'theirs'
    # the mount forgets its idea of the name and finds the server's file
    deadline = time.monotonic() + 5
    while True:
        try:
            with open(mnt + '/col/x', 'rb') as f:
                got = f.read()
            break
        except OSError as e:
            if e.errno not in (errno.ESTALE, errno.ENOENT) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert got == b'theirs', got
    assert os.listdir(mnt + '/col') == ['x']
    t.umount(mnt)


def test_name_taken_meanwhile_without_o_excl(t):
    # open(O_CREAT|O_TRUNC) would have opened the other client's file: so it does
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.mkdir(mnt + '/tr')
    fd = os.open(mnt + '/tr/x', os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    t.write_server('rw', 'tr/x', b'theirs, and longer than ours')
    os.write(fd, b'ours')
    os.close(fd)
    with open(_share(t, 'tr', 'x'), 'rb') as f:
        assert f.read() == b'ours'
    t.umount(mnt)


def test_many_pending_all_created_first(t):
    # an rmdir of their directory (the kernel leaves the emptiness check to
    # the server) sees every pending file: all of them are created before it,
    # not some (the timer would be a second late), and the rmdir fails
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.mkdir(mnt + '/many')
    fds = []
    for i in range(100):
        fd = os.open('%s/many/f%03d' % (mnt, i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, b'%d' % i)
        fds.append(fd)
    try:
        os.rmdir(mnt + '/many')
        assert False, 'rmdir of a directory with files succeeded'
    except OSError as e:
        assert e.errno == errno.ENOTEMPTY, e
    have = set(os.listdir(_share(t, 'many')))
    missing = ['f%03d' % i for i in range(100) if 'f%03d' % i not in have]
    assert not missing, '%d pending files not created before the rmdir: %r' % (
        len(missing), missing[:5])
    for i, fd in enumerate(fds):
        os.close(fd)
    for i in (0, 50, 99):
        with open(_share(t, 'many', 'f%03d' % i), 'rb') as f:
            assert f.read() == b'%d' % i
    t.umount(mnt)


def test_inode_number_stays(t):
    # programs (git's index, tar's hard-link table) keep st_ino: it must not
    # change once the server has the file
    mnt = t.mount('rw', 'actimeo=1', 'nonotify')
    os.mkdir(mnt + '/ino')
    fd = os.open(mnt + '/ino/a', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'a')
    before = os.fstat(fd).st_ino
    os.close(fd)
    assert os.stat(mnt + '/ino/a').st_ino == before
    time.sleep(1.3)  # past the attribute timeout: asked from the server again
    assert os.stat(mnt + '/ino/a').st_ino == before
    with open(mnt + '/ino/a', 'rb') as f:
        assert os.fstat(f.fileno()).st_ino == before
    t.umount(mnt)


def test_looking_at_the_server_creates_it_first(t):
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.mkdir(mnt + '/v')
    # a second open by name reads what the first wrote
    fd = os.open(mnt + '/v/a', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'abc')
    with open(mnt + '/v/a', 'rb') as f:
        assert f.read() == b'abc'
    assert os.path.isfile(_share(t, 'v', 'a')), 'opened by name but not on the server'
    os.write(fd, b'def')
    os.close(fd)
    with open(_share(t, 'v', 'a'), 'rb') as f:
        assert f.read() == b'abcdef'
    # fsync puts it on the server with its data
    fd = os.open(mnt + '/v/b', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'synced')
    os.fsync(fd)
    with open(_share(t, 'v', 'b'), 'rb') as f:
        assert f.read() == b'synced'
    os.close(fd)
    # renamed while open: the data arrives under the new name
    fd = os.open(mnt + '/v/c', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'moved')
    os.rename(mnt + '/v/c', mnt + '/v/c2')
    os.write(fd, b' along')
    os.close(fd)
    assert not os.path.exists(_share(t, 'v', 'c'))
    with open(_share(t, 'v', 'c2'), 'rb') as f:
        assert f.read() == b'moved along'
    # another file renamed over it while open: the other file wins the name
    fd = os.open(mnt + '/v/g', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'replaced')
    with open(mnt + '/v/g.new', 'wb') as f:
        f.write(b'replacement')
    os.rename(mnt + '/v/g.new', mnt + '/v/g')
    os.write(fd, b' still writable')
    os.close(fd)
    with open(_share(t, 'v', 'g'), 'rb') as f:
        assert f.read() == b'replacement'
    with open(mnt + '/v/g', 'rb') as f:
        assert f.read() == b'replacement'
    os.unlink(mnt + '/v/g')
    # unlinked while open: gone from the server once closed, readable until then
    fd = os.open(mnt + '/v/d', os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    os.write(fd, b'temp')
    os.unlink(mnt + '/v/d')
    assert os.pread(fd, 4, 0) == b'temp'
    os.close(fd)
    # (the server deletes it at the release's CLOSE, which follows close())
    deadline = time.monotonic() + 5
    while len(os.listdir(_share(t, 'v'))) > 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(os.listdir(_share(t, 'v'))) == ['a', 'b', 'c2'], os.listdir(_share(t, 'v'))
    # the directory cannot be renamed while a file in it is open (SMB
    # refuses, as for any open file): created first, then refused
    os.mkdir(mnt + '/v/sub')
    fd = os.open(mnt + '/v/sub/e', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'e')
    try:
        os.rename(mnt + '/v/sub', mnt + '/v/sub2')
    except PermissionError:
        pass
    assert os.path.isfile(_share(t, 'v', 'sub', 'e')) or \
        os.path.isfile(_share(t, 'v', 'sub2', 'e'))
    os.close(fd)
    # a listing of the parent fetched from the server has it
    fd = os.open(mnt + '/v/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    other = t.mount('rw', 'nonotify')
    os.stat(mnt + '/v')
    assert 'f' in os.listdir(mnt + '/v')
    os.close(fd)
    assert 'f' in os.listdir(other + '/v')
    t.umount(other)
    t.umount(mnt)


def test_kept_open_still_appears(t):
    # a file held open (a log, a lock file) reaches the server within about
    # a second, as a file created at open would for other clients
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.mkdir(mnt + '/k')
    fd = os.open(mnt + '/k/held', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b'early')
    deadline = time.monotonic() + 3
    while not os.path.exists(_share(t, 'k', 'held')) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(_share(t, 'k', 'held')), 'not on the server after 3 s'
    os.write(fd, b' and late')
    os.close(fd)
    with open(_share(t, 'k', 'held'), 'rb') as f:
        assert f.read() == b'early and late'
    t.umount(mnt)


def test_connection_lost_before_close(t):
    # nothing is on the server yet: a lost connection loses nothing
    with FaultProxy('127.0.0.1', t.srv.port) as proxy:
        mnt = t.mount('rw', 'actimeo=30', 'nonotify', 'echo_interval=2',
                      unc='//127.0.0.1:%d/rw' % proxy.port)
        os.mkdir(mnt + '/r')
        fd = os.open(mnt + '/r/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, b'survives')
        assert proxy.cut() >= 1
        os.write(fd, b' a reconnect')
        os.close(fd)
        with open(_share(t, 'r', 'f'), 'rb') as f:
            assert f.read() == b'survives a reconnect'
        t.umount(mnt)
