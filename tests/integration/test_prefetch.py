"""Subdirectory listings fetched ahead of need (src/fs/prefetch.c).

When a listing comes from the server, the listings of its subdirectories are
fetched in the background and kept, so find/du descending into them wait for
no round trip. The counter user.smbfuse.prefetch ("KEPT BUSY") tells how many
listings prefetch kept and how many fetches are still queued or in flight:
the tests wait for BUSY to reach 0 before counting round trips, so the
background requests never land in a counted window.

Most mounts use nonotify: a listed directory is otherwise watched, and the
watch's requests (off the critical path too) would land in the windows.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from faultproxy import FaultProxy  # noqa: E402

import harness
from rtcount import round_trips as _rt, wait_quiet  # noqa: E402
import smbfixture  # noqa: E402

PF = 'user.smbfuse.prefetch'


def _pf(mnt):
    kept, busy = os.getxattr(mnt, PF).split()
    return int(kept), int(busy)


def _settle(mnt, want_kept=0):
    """Wait until no prefetch is queued or in flight (and want_kept were kept),
    and no request sent by an earlier call (a directory handle's CLOSE) is
    still to be counted. Returns the prefetch counters."""
    deadline = time.monotonic() + 10
    while True:
        kept, busy = _pf(mnt)
        if busy == 0 and kept >= want_kept:
            break
        assert time.monotonic() < deadline, 'prefetch never settled (%d kept, %d busy)' % (
            kept, busy)
        time.sleep(0.02)
    wait_quiet(mnt, max(0.1, deadline - time.monotonic()))
    return _pf(mnt)


def _tree(t, top, ndirs, nfiles):
    for i in range(ndirs):
        d = os.path.join(t.share_path('rw'), top, 'd%02d' % i)
        os.makedirs(d)
        for j in range(nfiles):
            with open(os.path.join(d, 'f%d' % j), 'w') as f:
                f.write('x' * j)


def _walk(root):
    """What find does: list a directory, then each subdirectory."""
    seen = {}
    for name in sorted(os.listdir(root)):
        seen[name] = sorted(os.listdir(os.path.join(root, name)))
    return seen


def test_subdirectory_listings_cost_no_round_trip(t):
    n = 20
    _tree(t, 'top', n, 5)
    mnt = t.mount('rw', 'actimeo=30', 'nonotify', 'dirprefetch')
    os.stat(mnt + '/top')
    kept0, _ = _settle(mnt)
    before = _rt(mnt)
    names = os.listdir(mnt + '/top')
    assert sorted(names) == ['d%02d' % i for i in range(n)]
    kept, busy = _settle(mnt, kept0 + n)
    assert kept - kept0 == n, 'prefetch kept %d listings of %d subdirectories' % (kept - kept0, n)
    # the parent's listing and one listing per subdirectory, nothing more
    assert _rt(mnt) - before == 1 + n, 'listing and prefetch cost %d round trips' % (
        _rt(mnt) - before)
    before = _rt(mnt)
    seen = _walk(mnt + '/top')
    cost = _rt(mnt) - before
    assert seen == {'d%02d' % i: ['f%d' % j for j in range(5)] for i in range(n)}, seen
    assert cost == 0, 'descending into %d prefetched subdirectories cost %d round trips' % (
        n, cost)
    # the prefetched listings gave the kernel the files' attributes too
    before = _rt(mnt)
    sizes = [os.lstat('%s/top/d%02d/f%d' % (mnt, i, j)).st_size
             for i in range(n) for j in range(5)]
    assert sizes == [j for i in range(n) for j in range(5)], sizes
    assert _rt(mnt) - before == 0, 'stat after the walk cost %d round trips' % (
        _rt(mnt) - before)
    t.umount(mnt)


def test_nodirprefetch_fetches_on_demand(t):
    # the same walk without prefetch: a round trip per subdirectory (what the
    # test above saves)
    n = 8
    _tree(t, 'top', n, 2)
    mnt = t.mount('rw', 'actimeo=30', 'nonotify', 'nodirprefetch')
    os.stat(mnt + '/top')
    os.listdir(mnt + '/top')
    kept, busy = _settle(mnt)
    assert (kept, busy) == (0, 0), (kept, busy)
    before = _rt(mnt)
    _walk(mnt + '/top')
    assert _rt(mnt) - before == n, 'walk without prefetch: %d round trips' % (_rt(mnt) - before)
    t.umount(mnt)


def test_prefetch_gives_up_on_a_huge_subdirectory(t):
    # a prefetch costs one round trip: a directory that does not fit the first
    # answer is not streamed in the background, and is listed in full on demand
    big = os.path.join(t.share_path('rw'), 'p', 'big')
    os.makedirs(big)
    n = 3000
    for i in range(n):
        open(os.path.join(big, 'file%05d.txt' % i), 'w').close()
    os.makedirs(os.path.join(t.share_path('rw'), 'p', 'small'))
    mnt = t.mount('rw', 'actimeo=30', 'nonotify', 'dirprefetch')
    os.stat(mnt + '/p')
    kept0, _ = _settle(mnt)
    before = _rt(mnt)
    assert sorted(os.listdir(mnt + '/p')) == ['big', 'small']
    kept, _ = _settle(mnt)
    assert kept - kept0 == 1, 'prefetch kept %d listings, want only the small one' % (
        kept - kept0)
    assert _rt(mnt) - before == 3, 'listing p and prefetching cost %d round trips' % (
        _rt(mnt) - before)
    before = _rt(mnt)
    assert os.listdir(mnt + '/p/small') == []
    assert _rt(mnt) == before, 'the small prefetched listing was fetched again'
    assert len(os.listdir(mnt + '/p/big')) == n
    # (fetched whole now: one round trip of 1 MiB answers, not the kept part)
    assert _rt(mnt) - before >= 1, 'the huge listing was served from a partial prefetch'
    t.umount(mnt)


@harness.timeout(60)
def test_prefetched_listing_follows_changes(t):
    # a prefetched listing is kept like any other: another client's create
    # shows within acdirmax, this mount's changes and writes at once
    _tree(t, 'c', 3, 2)
    a = t.mount('rw', 'actimeo=1', 'dirprefetch')
    b = t.mount('rw', 'actimeo=1', 'dirprefetch')
    assert sorted(os.listdir(a + '/c')) == ['d00', 'd01', 'd02']
    _settle(a, 3)
    t.write_server('rw', 'c/d00/remote_srv', b'srv')
    open(b + '/c/d01/remote_b', 'w').close()
    start = time.monotonic()
    while not ('remote_srv' in os.listdir(a + '/c/d00') and
               'remote_b' in os.listdir(a + '/c/d01')):
        assert time.monotonic() - start < 1.5, \
            'another client\'s create in a prefetched directory not visible within acdirmax'
        time.sleep(0.05)
    # a local change and a local write after the prefetch: seen at once, and
    # the listing's older size never comes back
    os.listdir(a + '/c')
    _settle(a)
    with open(a + '/c/d02/f1', 'w') as f:
        f.write('grown file')
    open(a + '/c/d02/new', 'w').close()
    names = sorted(os.listdir(a + '/c/d02'))
    assert names == ['f0', 'f1', 'new'], names
    assert os.stat(a + '/c/d02/f1').st_size == 10
    r = subprocess.run(['ls', '-l', a + '/c/d02'], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.endswith(' f1')]
    assert line and ' 10 ' in line[0], r.stdout
    t.umount(a)
    t.umount(b)


@harness.timeout(60)
def test_walk_and_unmount_with_prefetches_in_flight(t):
    # with latency, find's opendir catches up with the prefetches (it waits for
    # the one of its directory in flight); the walk sees every file, and an
    # unmount while fetches are queued and in flight ends cleanly
    n = 40
    _tree(t, 'w', n, 3)
    with FaultProxy('127.0.0.1', t.srv.port, delay_ms=10) as proxy:
        mnt = t.mount('rw', 'nonotify', 'dirprefetch', unc='//127.0.0.1:%d/rw' % proxy.port)
        r = subprocess.run(['find', mnt + '/w'], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        got = sorted(r.stdout.split())
        want = sorted([mnt + '/w'] + ['%s/w/d%02d' % (mnt, i) for i in range(n)] +
                      ['%s/w/d%02d/f%d' % (mnt, i, j) for i in range(n) for j in range(3)])
        assert got == want, 'find saw %d of %d paths' % (len(got), len(want))
        t.umount(mnt)
        # again, unmounting right after the listing that queued the prefetches
        mnt = t.mount('rw', 'nonotify', 'dirprefetch', unc='//127.0.0.1:%d/rw' % proxy.port)
        os.stat(mnt + '/w')
        os.listdir(mnt + '/w')
        kept, busy = _pf(mnt)
        assert busy > 0, 'no prefetch queued or in flight at unmount (%d kept)' % kept
        start = time.monotonic()
        t.umount(mnt)
        assert time.monotonic() - start < 5, 'unmount waited for the whole prefetch queue'
        # and with the server gone meanwhile (a hard mount waits for it): the
        # daemon still ends once unmounted
        mnt = t.mount('rw', 'nonotify', 'dirprefetch', unc='//127.0.0.1:%d/rw' % proxy.port)
        os.stat(mnt + '/w')
        pids = smbfixture._pids_with_arg(mnt, exact=True)
        assert pids, 'no daemon found for %s' % mnt
        proxy.set_delay(200)
        os.listdir(mnt + '/w')
        proxy.refuse(True)
        proxy.cut()
        t.umount(mnt)
        deadline = time.monotonic() + 10
        while smbfixture._pids_with_arg(mnt, exact=True) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not smbfixture._pids_with_arg(mnt, exact=True), \
            'the daemon is still running 10 s after the unmount (prefetches waiting for the server)'
        proxy.normal()
