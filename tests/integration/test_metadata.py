"""Metadata round trips: what each operation costs on the wire.

A counting relay sits between smbfuse and smbd and records every frame the
client sends (one frame = one round trip; a compound counts once), or the
mount's own counter (user.smbfuse.round_trips) is read around an operation.

These mounts use nonotify: a listed directory is otherwise watched, and the
watch (a CREATE and a CHANGE_NOTIFY, sent in the background, off the
critical path) would land in whatever window is being counted.
test_notify.py counts with watches on.
"""

import errno
import os
import subprocess
import time

from countproxy import CountProxy
from rtcount import round_trips as _rt, wait_quiet


def _mount(t, proxy, *opts):
    return t.mount('rw', 'nonotify', *opts, unc='//127.0.0.1:%d/rw' % proxy.port)


def test_stat_is_one_compound(t):
    t.write_server('rw', 'a.txt', b'hello')
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=0')
        os.listdir(mnt)
        m = p.mark()
        os.stat(mnt + '/a.txt')
        frames = p.since(m)
        assert frames, 'stat sent nothing'
        for f in frames:
            assert f == ['CREATE', 'QUERY_INFO', 'CLOSE'], 'stat frame not one compound: %r' % f
        assert len(frames) <= 2, 'stat cost %d round trips: %r' % (len(frames), frames)
        t.umount(mnt)


def test_ls_l_large_directory_costs_one_stream(t):
    d = os.path.join(t.share_path('rw'), 'big')
    os.makedirs(d)
    n = 3000
    for i in range(n):
        with open(os.path.join(d, 'file%05d.txt' % i), 'w') as f:
            f.write('x' * (i % 97))
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=30')
        m = p.mark()
        r = subprocess.run(['ls', '-l', mnt + '/big'], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        lines = [l for l in r.stdout.splitlines() if l.startswith('-')]
        assert len(lines) == n, 'ls -l listed %d of %d entries' % (len(lines), n)
        assert ' 96 ' in r.stdout, 'sizes missing from ls -l'
        frames = p.since(m)
        per_file = [f for f in frames if f == ['CREATE', 'QUERY_INFO', 'CLOSE']]
        assert len(per_file) <= 2, 'ls -l stat-ed files one by one: %d' % len(per_file)
        assert len(frames) < 30, 'ls -l of %d entries cost %d round trips' % (n, len(frames))
        # the listing filled the attribute cache: stat of an entry is free now
        m = p.mark()
        os.stat(mnt + '/big/file01234.txt')
        assert p.since(m) == [], 'stat after readdirplus went to the server: %r' % p.since(m)
        t.umount(mnt)


def test_negative_lookup_cached(t):
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=30')
        os.listdir(mnt)
        for _ in range(2):
            assert not os.path.exists(mnt + '/.hidden')
            assert not os.path.exists(mnt + '/desktop.ini')
        m = p.mark()
        for _ in range(5):
            assert not os.path.exists(mnt + '/.hidden')
            assert not os.path.exists(mnt + '/desktop.ini')
        assert p.since(m) == [], 'repeated misses went to the server: %r' % p.since(m)
        t.umount(mnt)


def test_changes_single_compounds(t):
    t.write_server('rw', 'x.txt', b'x')
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=30')
        os.stat(mnt + '/x.txt')
        assert not os.path.exists(mnt + '/newdir')
        assert not os.path.exists(mnt + '/y.txt')
        m = p.mark()
        os.mkdir(mnt + '/newdir')
        # the kernel re-checks a name before creating it (LOOKUP_EXCL); the
        # negative cache answers that, so mkdir is one compound
        assert p.since(m) == [['CREATE', 'QUERY_INFO', 'CLOSE']], 'mkdir: %r' % p.since(m)
        m = p.mark()
        os.rename(mnt + '/x.txt', mnt + '/y.txt')
        assert p.since(m) == [['CREATE', 'SET_INFO', 'CLOSE']], 'rename: %r' % p.since(m)
        m = p.mark()
        os.unlink(mnt + '/y.txt')
        assert p.since(m) == [['CREATE', 'SET_INFO', 'CLOSE']], 'unlink: %r' % p.since(m)
        m = p.mark()
        os.rmdir(mnt + '/newdir')
        assert p.since(m) == [['CREATE', 'SET_INFO', 'CLOSE']], 'rmdir: %r' % p.since(m)
        m = p.mark()
        os.statvfs(mnt)
        assert p.since(m) == [['CREATE', 'QUERY_INFO', 'CLOSE']], 'statfs: %r' % p.since(m)
        t.umount(mnt)


def test_create_many_files_one_round_trip_each(t):
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=30')
        os.mkdir(mnt + '/many')
        m = p.mark()
        for i in range(50):
            fd = os.open('%s/many/f%d' % (mnt, i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
        frames = p.since(m)
        # per file: the kernel's lookup (a miss), the create, the close
        assert len(frames) <= 3 * 50, '50 creates cost %d round trips' % len(frames)
        assert sorted(os.listdir(mnt + '/many')) == sorted('f%d' % i for i in range(50))
        t.umount(mnt)


# ---------------------------------------------------------------- the round-trip counter
#
# user.smbfuse.round_trips on the mount root: requests this mount has sent
# (a compound counts once), answered by the daemon without a round trip.

RT = 'user.smbfuse.round_trips'


def _cost(mnt, fn):
    # requests sent after an earlier call returned (a release's CLOSE, a
    # directory handle's CLOSE) are not this call's: let them finish first
    before = wait_quiet(mnt)
    fn()
    return _rt(mnt) - before


def test_round_trip_counter_is_free_and_hidden(t):
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    a = _rt(mnt)
    b = _rt(mnt)
    assert a > 0, 'a mount that negotiated has sent requests: %d' % a
    assert b == a, 'reading the counter cost %d round trips' % (b - a)
    assert RT not in os.listxattr(mnt), 'the counter is listed (cp -a would copy it)'
    # only on the root; elsewhere the name is an ordinary (absent) xattr
    t.write_server('rw', 'plain.txt', b'x')
    try:
        os.getxattr(mnt + '/plain.txt', RT)
        assert False, 'the counter answered on a file'
    except OSError as e:
        assert e.errno in (errno.ENODATA, errno.EOPNOTSUPP), e
    r = subprocess.run(['getfattr', '--only-values', '-n', RT, mnt], capture_output=True)
    if r.returncode == 0:  # getfattr is optional on the test host
        assert int(r.stdout) >= a
    t.umount(mnt)


def test_round_trips_lookup_and_changes(t):
    t.write_server('rw', 'r.txt', b'hello')
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    # lookup + getattr of an uncached file: one compound
    assert _cost(mnt, lambda: os.stat(mnt + '/r.txt')) == 1
    # cached now: free within actimeo
    assert _cost(mnt, lambda: os.stat(mnt + '/r.txt')) == 0
    # a miss, then the same miss again from the negative cache
    assert _cost(mnt, lambda: os.path.exists(mnt + '/nope')) == 1
    assert _cost(mnt, lambda: os.path.exists(mnt + '/nope')) == 0
    assert not os.path.exists(mnt + '/d') and not os.path.exists(mnt + '/s.txt')
    assert _cost(mnt, lambda: os.mkdir(mnt + '/d')) == 1
    assert _cost(mnt, lambda: os.rename(mnt + '/r.txt', mnt + '/s.txt')) == 1
    assert _cost(mnt, lambda: os.unlink(mnt + '/s.txt')) == 1
    assert _cost(mnt, lambda: os.rmdir(mnt + '/d')) == 1
    assert _cost(mnt, lambda: os.statvfs(mnt)) == 1
    t.umount(mnt)


def _ls_l(path):
    r = subprocess.run(['ls', '-l', path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.splitlines() if l.startswith('-')]


def test_round_trips_ls_l(t):
    d = os.path.join(t.share_path('rw'), 'lsdir')
    os.makedirs(d)
    n = 1500
    for i in range(n):
        open(os.path.join(d, 'f%05d' % i), 'w').close()
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    os.stat(mnt + '/lsdir')
    # FileIdBothDirectoryInformation: 104 bytes + the UTF-16 name, 8-aligned;
    # a 64 KiB response holds this many entries
    per_response = 65536 // ((104 + 2 * 6 + 7) // 8 * 8)
    # CREATE + two QUERY_DIRECTORY in one compound, then one per further
    # response, the last one the empty STATUS_NO_MORE_FILES; the CLOSE is not
    # waited for: ceil(N / per response) round trips (with . and ..)
    want = -(-(n + 2) // per_response)
    rt = _cost(mnt, lambda: _ls_l(mnt + '/lsdir'))
    assert rt <= want, 'ls -l of %d entries cost %d round trips, want %d' % (n, rt, want)
    print('ls -l of %d entries: %d round trips (target %d)' % (n, rt, want))
    assert len(_ls_l(mnt + '/lsdir')) == n
    # warm, within actimeo: the listing, names and attributes are cached
    rt = _cost(mnt, lambda: _ls_l(mnt + '/lsdir'))
    assert rt == 0, 'a warm ls -l cost %d round trips' % rt
    # a local change drops the listing: the next one shows it, at full cost
    open(mnt + '/lsdir/new', 'w').close()
    os.unlink(mnt + '/lsdir/f00000')
    names = os.listdir(mnt + '/lsdir')
    assert 'new' in names and 'f00000' not in names and len(names) == n
    t.umount(mnt)


def test_round_trips_ls_l_small_directory(t):
    d = os.path.join(t.share_path('rw'), 'small')
    os.makedirs(d)
    for i in range(20):
        with open(os.path.join(d, 'f%d' % i), 'w') as f:
            f.write('x' * i)
    os.makedirs(os.path.join(d, 'sub'))
    # nodirprefetch: sub's listing would be fetched in the background and land
    # in the window (test_prefetch.py counts that)
    mnt = t.mount('rw', 'actimeo=30', 'nonotify', 'nodirprefetch')
    os.stat(mnt + '/small')
    # the whole listing fits one response: CREATE + QUERY_DIRECTORY +
    # QUERY_DIRECTORY (STATUS_NO_MORE_FILES) in one compound, the CLOSE sent
    # without waiting; readdirplus gives the attributes
    rt = _cost(mnt, lambda: _ls_l(mnt + '/small'))
    assert rt == 1, 'ls -l of a small directory cost %d round trips' % rt
    lines = _ls_l(mnt + '/small')
    assert len(lines) == 20 and any(' 19 ' in l for l in lines), lines
    # an empty directory too
    os.makedirs(os.path.join(t.share_path('rw'), 'empty'))
    os.stat(mnt + '/empty')
    rt = _cost(mnt, lambda: os.listdir(mnt + '/empty'))
    assert rt == 1, 'listing an empty directory cost %d round trips' % rt
    # the handles were closed: the directories can go at once
    t.umount(mnt)


def test_round_trips_create_in_known_directory(t):
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    # a directory this mount made is known empty: lookups in it need no round trip
    os.mkdir(mnt + '/fresh')
    # the kernel's lookup (a miss) is answered from the listing and the
    # CREATE waits for the close (test_create_later.py): the open is free
    # (the least of several: a request left over from the one before, such
    # as a release's CLOSE, may land in a count under load; none is cheaper)
    costs = []
    for i in range(5):
        fd = [None]
        costs.append(_cost(mnt, lambda: fd.__setitem__(
            0, os.open(mnt + '/fresh/f%d' % i, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))))
        os.close(fd[0])
        assert os.path.isfile(os.path.join(t.share_path('rw'), 'fresh', 'f%d' % i))
        time.sleep(0.1)
    assert min(costs) == 0 and sorted(costs)[2] == 0, \
        'creates in a known directory cost %r round trips' % costs

    def create(name):
        os.close(os.open(mnt + '/fresh/' + name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    assert _cost(mnt, lambda: os.path.exists(mnt + '/fresh/nope')) == 0
    # the listing followed the creates (and stays current across unlink and rename)
    os.unlink(mnt + '/fresh/f0')
    os.rename(mnt + '/fresh/f1', mnt + '/fresh/g1')
    want = sorted(['f2', 'f3', 'f4', 'g1'])
    assert sorted(os.listdir(mnt + '/fresh')) == want
    assert sorted(os.listdir(os.path.join(t.share_path('rw'), 'fresh'))) == want
    assert not os.path.exists(mnt + '/fresh/f0') and not os.path.exists(mnt + '/fresh/f1')
    assert os.path.exists(mnt + '/fresh/g1')
    # O_EXCL still gets EEXIST from the server for a name the listing has
    try:
        create('g1')
        assert False, 'O_EXCL create of an existing name succeeded'
    except FileExistsError:
        pass
    # a listed directory: lookups go to the server (another client may have
    # just made the name) until this mount changes something there
    os.makedirs(os.path.join(t.share_path('rw'), 'listed'))
    open(os.path.join(t.share_path('rw'), 'listed', 'a'), 'w').close()
    os.listdir(mnt + '/listed')
    open(os.path.join(t.share_path('rw'), 'listed', 'b'), 'w').close()
    assert os.path.exists(mnt + '/listed/b')
    os.listdir(mnt + '/listed')
    create('../listed/c')
    costs = [_cost(mnt, lambda: os.path.exists(mnt + '/listed/' + n)) for n in 'def']
    assert min(costs) == 0, 'lookups of missing names after a local change cost %r' % costs
    assert os.path.exists(mnt + '/listed/a')
    t.umount(mnt)
    # one changed by another client is seen once the listing expires
    mnt = t.mount('rw', 'actimeo=1', 'nonotify')
    os.mkdir(mnt + '/exp')
    assert not os.path.exists(mnt + '/exp/c')
    open(os.path.join(t.share_path('rw'), 'exp', 'c'), 'w').close()
    time.sleep(1.3)
    assert os.path.exists(mnt + '/exp/c'), 'a listing outlived its expiry'
    # an expired listing of a directory this mount works in is fetched again
    # in place of a lookup (one round trip), and answers the next ones
    time.sleep(1.3)
    os.stat(mnt + '/exp')
    assert _cost(mnt, lambda: os.path.exists(mnt + '/exp/zz')) == 1
    assert _cost(mnt, lambda: os.path.exists(mnt + '/exp/yy')) == 0
    assert os.path.exists(mnt + '/exp/c')
    t.umount(mnt)


def test_small_file_with_times_in_a_listed_directory(t):
    # tar x into a directory this mount only listed (another client may have
    # made the name since): the CREATE at open, then the data and the times,
    # kept locally under the write lease, as one compound at close. (In a
    # directory this mount made, the CREATE joins them: test_create_later.py.)
    with CountProxy(t.srv.port) as p:
        mnt = _mount(t, p, 'actimeo=30')
        t.write_server('rw', 'plain/keep', b'')
        os.listdir(mnt + '/plain')
        m = p.mark()
        fd = os.open(mnt + '/plain/y', os.O_CREAT | os.O_WRONLY, 0o644)
        assert ['CREATE', 'QUERY_INFO'] in p.since(m), p.since(m)
        os.write(fd, b'z' * 100)
        os.utime(fd, (1600000000, 1700000002))
        m = p.mark()
        os.close(fd)
        frames = [f for f in p.since(m) if f != ['CLOSE']]  # the release's, after close()
        assert frames == [['WRITE', 'SET_INFO']], frames
        st = os.stat(os.path.join(t.share_path('rw'), 'plain', 'y'))
        assert st.st_size == 100 and int(st.st_mtime) == 1700000002, st
        t.umount(mnt)
