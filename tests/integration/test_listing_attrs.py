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

RT = 'user.smbfuse.round_trips'


def _rt(mnt):
    return int(os.getxattr(mnt, RT))


def _quiet(mnt):
    before, deadline = _rt(mnt), time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = _rt(mnt)
        if now == before:
            break
        before = now


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
    # new size, never the listing's
    t.write_server('rw', 'w/a.txt', b'abc')
    t.write_server('rw', 'w/b.txt', b'abc')
    t.write_server('rw', 'w/c.txt', b'abc')
    mnt = t.mount('rw', 'nonotify', 'acdirmax=30', 'acregmax=0.3', 'nodirprefetch')
    d = mnt + '/w'
    # a writer opened before the listing and kept open across it
    fd = os.open(d + '/b.txt', os.O_WRONLY)
    assert _ls_l(d) == {'a.txt': 3, 'b.txt': 3, 'c.txt': 3}
    # a write through a new open after the listing (the listing stays kept:
    # no name changed)
    with open(d + '/a.txt', 'r+') as f:
        f.write('written here')
    os.pwrite(fd, b'0123456789', 0)
    # setattr after the listing
    os.truncate(d + '/c.txt', 7)
    for _ in range(3):
        time.sleep(0.4)  # the kernel's attributes expire
        assert _ls_l(d) == {'a.txt': 12, 'b.txt': 10, 'c.txt': 7}, _ls_l(d)
        assert os.stat(d + '/a.txt').st_size == 12
        assert os.stat(d + '/b.txt').st_size == 10
        assert os.stat(d + '/c.txt').st_size == 7
    os.close(fd)
    time.sleep(0.4)
    assert _ls_l(d) == {'a.txt': 12, 'b.txt': 10, 'c.txt': 7}, _ls_l(d)
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
