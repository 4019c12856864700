"""Change notification: another client's changes, pushed by the server.

Two smbfuse mounts of one share act as two machines. The watching mount uses
a long attribute timeout (actimeo=30), so only a CHANGE_NOTIFY can explain a
change showing within a second; with nonotify the same change stays unseen
for that second, which proves the mechanism.
"""

import os
import shutil
import subprocess
import time

import harness

RT = 'user.smbfuse.round_trips'


def _within(pred, seconds):
    deadline = time.monotonic() + seconds
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _watches(a):
    return int(os.getxattr(a, 'user.smbfuse.watches'))


def _armed(a, d, want=1):
    """List d and wait until its watch is armed (it is set up off the critical path).

    want: the number of directories the mount should be watching by then."""
    os.listdir(d)
    deadline = time.monotonic() + 10
    while _watches(a) < want:
        assert time.monotonic() < deadline, 'the watch on %s was never armed' % d
        time.sleep(0.02)


def _size(p):
    try:
        return os.stat(p).st_size
    except FileNotFoundError:
        return -1


@harness.timeout(60)
def test_other_clients_changes_within_a_second(t):
    t.write_server('rw', 'w/keep.txt', b'x')
    t.write_server('rw', 'w/old.txt', b'old')
    t.write_server('rw', 'w/gone.txt', b'bye')
    a = t.mount('rw', 'actimeo=30')
    b = t.mount('rw', 'actimeo=30')
    d = a + '/w'
    assert sorted(os.listdir(d)) == ['gone.txt', 'keep.txt', 'old.txt']
    assert os.stat(d + '/keep.txt').st_size == 1
    assert not os.path.exists(d + '/new.txt')  # a negative entry, cached 30 s
    _armed(a, d)

    # create
    with open(b + '/w/new.txt', 'w') as f:
        f.write('hello')
    assert _within(lambda: 'new.txt' in os.listdir(d), 1.0), 'create not seen within 1 s'
    assert _within(lambda: os.path.exists(d + '/new.txt'), 1.0), 'negative entry stayed'
    # write (size)
    with open(b + '/w/keep.txt', 'ab') as f:
        f.write(b'y' * 99)
    assert _within(lambda: _size(d + '/keep.txt') == 100, 1.0), \
        'size change not seen within 1 s: %d' % _size(d + '/keep.txt')
    assert open(d + '/keep.txt', 'rb').read() == b'x' + b'y' * 99
    # delete
    os.unlink(b + '/w/gone.txt')
    assert _within(lambda: 'gone.txt' not in os.listdir(d) and
                   not os.path.exists(d + '/gone.txt'), 1.0), 'delete not seen within 1 s'
    # rename
    os.rename(b + '/w/old.txt', b + '/w/renamed.txt')
    assert _within(lambda: sorted(os.listdir(d)) == ['keep.txt', 'new.txt', 'renamed.txt']
                   and not os.path.exists(d + '/old.txt'), 1.0), \
        'rename not seen within 1 s: %r' % sorted(os.listdir(d))
    assert open(d + '/renamed.txt', 'rb').read() == b'old'
    t.umount(a)
    t.umount(b)


@harness.timeout(60)
def test_nonotify_sees_nothing_for_actimeo(t):
    t.write_server('rw', 'q/keep.txt', b'x')
    a = t.mount('rw', 'actimeo=30', 'nonotify')
    b = t.mount('rw', 'actimeo=30')
    d = a + '/q'
    # pin the directory and the file in the kernel (O_PATH opens nothing on the
    # server): under memory pressure the kernel may otherwise forget them, and
    # a fresh lookup would rightly fetch everything again
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    ffd = os.open(d + '/keep.txt', os.O_PATH)

    def listing():
        fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY, dir_fd=dfd)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    assert listing() == ['keep.txt']
    assert os.stat(ffd).st_size == 1
    time.sleep(0.3)
    open(b + '/q/new.txt', 'w').close()
    with open(b + '/q/keep.txt', 'ab') as f:
        f.write(b'y' * 9)
    time.sleep(1.0)
    # without notifications the 30 s caches hold: this is what notify fixes
    before = int(os.getxattr(a, RT))
    names = listing()
    cost = int(os.getxattr(a, RT)) - before
    assert names == ['keep.txt'], 'nonotify: a change showed early (%r, %d round trips)' % (
        names, cost)
    assert os.stat(ffd).st_size == 1
    os.close(ffd)
    os.close(dfd)
    t.umount(a)
    t.umount(b)


@harness.timeout(60)
def test_inotify_sees_other_clients_delete(t):
    """inotifywait on the mount sees another client's delete.

    smbfuse reports it with fuse_lowlevel_notify_delete; the kernel (checked on
    6.18) then unhashes the dentry and tells watchers of the deleted file
    (IN_DELETE_SELF) - it sends no IN_DELETE to watchers of the directory, so
    the file is watched here. Without the notification nothing would arrive:
    the kernel's entry is cached for actimeo=30.
    """
    if not shutil.which('inotifywait'):
        t.skip('inotifywait not installed (inotify-tools)')
    t.write_server('rw', 'n/victim.txt', b'v')
    t.write_server('rw', 'n/other.txt', b'o')
    a = t.mount('rw', 'actimeo=30')
    b = t.mount('rw', 'actimeo=30')
    d = a + '/n'
    assert sorted(os.listdir(d)) == ['other.txt', 'victim.txt']
    os.stat(d + '/victim.txt')
    _armed(a, d)
    w = subprocess.Popen(['inotifywait', '-m', '--format', '%w%f %e', d, d + '/victim.txt',
                          d + '/other.txt'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # inotifywait says "Watches established." on stderr when ready
        line = w.stderr.readline()
        while line and b'established' not in line:
            line = w.stderr.readline()
        os.unlink(b + '/n/victim.txt')
        os.set_blocking(w.stdout.fileno(), False)
        got = ''
        deadline = time.monotonic() + 2.0
        while 'DELETE_SELF' not in got and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                chunk = os.read(w.stdout.fileno(), 4096)
            except BlockingIOError:
                chunk = b''
            got += chunk.decode()
        assert 'victim.txt DELETE_SELF' in got, 'inotify saw no delete: %r' % got
        assert 'other.txt DELETE' not in got, got
        assert not os.path.exists(d + '/victim.txt')
        assert os.listdir(d) == ['other.txt']
    finally:
        w.terminate()
        w.wait(5)
    t.umount(a)
    t.umount(b)


@harness.timeout(60)
def test_watched_warm_listing_is_free(t):
    t.write_server('rw', 'z/a.txt', b'a')
    a = t.mount('rw', 'actimeo=1')
    d = a + '/z'
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)

    def listing():
        # opendir through "." of an open directory: no lookup of z itself
        fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY, dir_fd=dfd)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    listing()
    _armed(a, d)
    time.sleep(1.1)  # the listing kept before the watch was armed expires
    listing()        # kept now while watched
    time.sleep(1.3)  # past actimeo: only the watch keeps the listing valid
    before = int(os.getxattr(a, RT))
    assert listing() == ['a.txt']
    cost = int(os.getxattr(a, RT)) - before
    assert cost == 0, 'a watched directory was listed again (%d round trips)' % cost
    # a change by this mount is seen at once, and the listing is fetched again
    open(d + '/b.txt', 'w').close()
    assert sorted(listing()) == ['a.txt', 'b.txt']
    os.close(dfd)
    # a directory this mount removes is not kept alive by its watch
    os.mkdir(a + '/z/sub')
    os.listdir(a + '/z/sub')
    _armed(a, a + '/z/sub', 2)
    os.rmdir(a + '/z/sub')
    assert not os.path.exists(t.share_path('rw') + '/z/sub'), 'rmdir left it delete-pending'
    os.mkdir(a + '/z/sub')
    os.rmdir(a + '/z/sub')
    assert not os.path.exists(t.share_path('rw') + '/z/sub')
    t.umount(a)


def test_own_changes_keep_the_listing(t):
    # the server reports this mount's own creates too; the kept listing
    # already has them, so it stays: the next names are answered without a
    # round trip, and a mkdir of an existing directory costs none either
    # (the kernel looks the name up again before every mkdir)
    a = t.mount('rw', 'actimeo=1')
    d = a + '/own'
    os.mkdir(d)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)  # as tar -C does: watched
    _armed(a, d)
    time.sleep(1.1)  # the listing kept before the watch was armed expires
    os.listdir(d)    # kept now while watched
    os.mkdir(d + '/sub')
    for i in range(5):
        os.close(os.open('%s/f%d' % (d, i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    time.sleep(1.3)  # the notifications are in, and past actimeo: the watch keeps it
    before = int(os.getxattr(a, RT))
    # (through the open directory: d's own name in the root has expired)
    try:
        os.stat('nothing', dir_fd=dfd)
        assert False, 'a name nobody made exists'
    except FileNotFoundError:
        pass
    try:
        os.mkdir('sub', dir_fd=dfd)
        assert False, 'mkdir of an existing directory succeeded'
    except FileExistsError:
        pass
    cost = int(os.getxattr(a, RT)) - before
    assert cost == 0, 'own changes dropped the watched listing (%d round trips)' % cost
    # another client's change is still seen within a second
    t.write_server('rw', 'own/theirs', b't')
    assert _within(lambda: os.path.exists(d + '/theirs'), 1.5)
    os.unlink(t.share_path('rw') + '/own/f0')
    assert _within(lambda: not os.path.exists(d + '/f0'), 1.5)
    assert sorted(os.listdir(d)) == ['f1', 'f2', 'f3', 'f4', 'sub', 'theirs']
    os.close(dfd)
    t.umount(a)


@harness.timeout(120)
@harness.restarts_server
def test_watch_rearmed_after_reconnect(t):
    t.write_server('rw', 'r/one.txt', b'1')
    a = t.mount('rw', 'actimeo=30', 'echo_interval=2')
    d = a + '/r'
    assert os.listdir(d) == ['one.txt']
    _armed(a, d)
    t.srv.crash()
    time.sleep(0.5)
    t.srv.restart()
    # the mount reconnects (a stat of a new name forces a request)
    deadline = time.monotonic() + 60
    while True:
        try:
            os.stat(a + '/nonexistent-%d' % int(time.monotonic() * 1000))
        except FileNotFoundError:
            break
        except OSError:
            pass
        assert time.monotonic() < deadline, 'the mount did not come back'
        time.sleep(0.2)
    time.sleep(1.0)  # the watch is re-armed on the new connection
    _armed(a, d)     # listed again (the outage dropped the cache) and kept
    b = t.mount('rw', 'actimeo=30')
    before = int(os.getxattr(a, RT))
    assert os.listdir(d) == ['one.txt']
    assert int(os.getxattr(a, RT)) == before, 'the listing was not cached'
    # only the re-armed watch can tell a about this within actimeo=30
    open(b + '/r/two.txt', 'w').close()
    assert _within(lambda: sorted(os.listdir(d)) == ['one.txt', 'two.txt'], 1.5), \
        'a change after a reconnect was not seen: %r' % sorted(os.listdir(d))
    t.umount(b)
    t.umount(a)


def test_watched_directories_never_block_a_rename(t):
    """Samba refuses to rename a directory while a handle below it is open;
    the watches of listed subdirectories (and the directory itself) must not
    be such handles when this mount renames, nor its stat go stale after."""
    mnt = t.mount('rw', 'actimeo=30')
    os.makedirs(mnt + '/top/mid/leaf')
    with open(mnt + '/top/mid/leaf/f.txt', 'w') as f:
        f.write('x')
    for d in ('top', 'top/mid', 'top/mid/leaf'):
        os.listdir(os.path.join(mnt, d))  # each listing arms a watch
    time.sleep(0.5)
    os.rename(mnt + '/top', mnt + '/moved')
    assert os.path.isdir(os.path.join(t.share_path('rw'), 'moved', 'mid', 'leaf'))
    with open(mnt + '/moved/mid/leaf/f.txt') as f:
        assert f.read() == 'x'
    # a directory's own attributes after a local chmod/utime, past acdirmax
    os.listdir(mnt + '/moved/mid')
    os.utime(mnt + '/moved/mid', (1600000000, 1600000000))
    os.chmod(mnt + '/moved/mid', 0o555)
    assert int(os.stat(mnt + '/moved/mid').st_mtime) == 1600000000
    t.umount(mnt)
