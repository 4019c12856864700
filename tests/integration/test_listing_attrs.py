"""A kept listing's attributes for names the kernel already knows.

When no local modification started or ended since a listing was fetched, and
the file is not open for writing, the listing's attributes are as new as the
kernel's: readdirplus refreshes the kernel's entries with them and lookups
are answered from the listing, so a warm ls -l of a directory whose kernel
entries expired costs no round trip. A local write after the listing must
never be undone by the listing's older size.
"""

import os
import subprocess
import time

from rtcount import round_trips as _rt, wait_quiet as _quiet


def _ls_l(path):
    r = subprocess.run(['ls', '-l', path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {ln.split()[-1]: int(ln.split()[4]) for ln in r.stdout.splitlines()
            if ln.startswith('-')}


def test_warm_ls_l_after_entries_expired_costs_nothing(t):
    d = os.path.join(t.share_path('rw'), 'many')
    os.makedirs(d)
    n = 1500
    for i in range(n):
        with open(os.path.join(d, 'f%05d' % i), 'w') as f:
            f.write('x' * (i % 13))
    want = {'f%05d' % i: i % 13 for i in range(n)}
    # watched (notify, the default): the listing stays valid while the
    # kernel's entries (acdirmax=1) expire
    mnt = t.mount('rw', 'actimeo=1', 'nodirprefetch')
    assert _ls_l(mnt + '/many') == want
    deadline = time.monotonic() + 10
    while int(os.getxattr(mnt, 'user.smbfuse.watches')) < 1:
        assert time.monotonic() < deadline, 'the directory was never watched'
        time.sleep(0.02)
    time.sleep(1.2)  # the first listing (kept before the watch) expires
    assert _ls_l(mnt + '/many') == want  # fetched again, kept while watched
    time.sleep(1.2)  # the kernel's entries and attributes expire; the listing does not
    _quiet(mnt)
    before = _rt(mnt)
    assert _ls_l(mnt + '/many') == want
    cost = _rt(mnt) - before
    # before: a LOOKUP per name the kernel had let expire
    assert cost <= 2, 'warm ls -l of %d expired names cost %d round trips' % (n, cost)
    # a lookup of a name whose entry expired: answered from the listing too
    time.sleep(1.2)
    os.stat(mnt + '/many')  # the directory's own name (the root is not listed)
    _quiet(mnt)
    before = _rt(mnt)
    assert os.stat(mnt + '/many/f00012').st_size == 12
    assert _rt(mnt) - before == 0, 'lookup from the kept listing cost %d' % (_rt(mnt) - before)
    t.umount(mnt)


def test_local_write_never_undone_by_a_listing(t):
    # attributes (acregmax) expire well before the listing (acdirmax): what
    # readdirplus and lookups then say about a file written here must be the
    # new size, never the listing's. Each kind of write alone (any other
    # change would make the listing not current and hide a hole), with and
    # without a lease (a writer's local attributes hide the rest)
    for n, (kind, lease) in enumerate([('new open', 'lease'), ('kept open', 'lease'),
                                       ('kept open', 'nolease'), ('truncate', 'lease')]):
        t.write_server('rw', 'w%d/a.txt' % n, b'abc')
        t.write_server('rw', 'w%d/z.txt' % n, b'zz')
        mnt = t.mount('rw', 'nonotify', 'acdirmax=30', 'acregmax=0.3', 'nodirprefetch', lease)
        d = mnt + '/w%d' % n
        fd = os.open(d + '/a.txt', os.O_WRONLY) if kind == 'kept open' else None
        assert _ls_l(d) == {'a.txt': 3, 'z.txt': 2}
        if kind == 'new open':
            with open(d + '/a.txt', 'r+') as f:
                f.write('written here')
            want = 12
        elif kind == 'kept open':
            os.pwrite(fd, b'0123456789', 0)
            want = 10
        else:
            os.truncate(d + '/a.txt', 7)
            want = 7
        for _ in range(3):
            time.sleep(0.4)  # the kernel's attributes expire
            assert _ls_l(d) == {'a.txt': want, 'z.txt': 2}, (kind, lease, _ls_l(d))
            assert os.stat(d + '/a.txt').st_size == want, (kind, lease)
        if fd is not None:
            os.close(fd)
            time.sleep(0.4)
            assert _ls_l(d) == {'a.txt': want, 'z.txt': 2}, (kind, lease, _ls_l(d))
        t.umount(mnt)


def test_listing_never_takes_back_a_newer_server_state(t):
    # another client grows a file; a getattr shows the new size: the kept
    # listing (older) must not give the old one back to the kernel afterwards
    t.write_server('rw', 'o/x.txt', b'abc')
    t.write_server('rw', 'o/y.txt', b'abc')
    mnt = t.mount('rw', 'nonotify', 'acdirmax=30', 'acregmax=0.3', 'nodirprefetch')
    d = mnt + '/o'
    assert _ls_l(d) == {'x.txt': 3, 'y.txt': 3}
    t.write_server('rw', 'o/x.txt', b'grown by another client')
    time.sleep(0.4)  # the kernel's attributes of x.txt expire: a getattr asks the server
    assert os.stat(d + '/x.txt').st_size == 23
    for _ in range(2):
        assert _ls_l(d) == {'x.txt': 23, 'y.txt': 3}, _ls_l(d)
        time.sleep(0.4)
        assert os.stat(d + '/x.txt').st_size == 23
    t.umount(mnt)


def test_hard_link_count_survives_a_listing(t):
    # a listing carries no link count: an inode seen with two keeps showing two
    # (a name first met in a listing shows one until it is looked up: a known
    # limit, as before listings answered known names)
    share = t.share_path('rw')
    t.write_server('rw', 'hl/a', b'linked')
    os.link(os.path.join(share, 'hl', 'a'), os.path.join(share, 'hl', 'b'))
    mnt = t.mount('rw', 'actimeo=30', 'nonotify')
    assert os.stat(mnt + '/hl/a').st_nlink == 2
    for _ in range(2):  # fetched, then kept
        names = os.listdir(mnt + '/hl')
        assert sorted(names) == ['a', 'b']
        assert os.lstat(mnt + '/hl/a').st_nlink == 2
    t.umount(mnt)
