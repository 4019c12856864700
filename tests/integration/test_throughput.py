"""Bulk data through the mount: large round trips checked on the server,
concurrent readers of one file, write errors that must reach the application.

Round trips write SIZE bytes of deterministic data through the mount, hash the
server's copy of the share file directly (streamed, never whole in memory),
remount (cold cache) and hash what the mount reads back. SIZE is 1 GiB in
both builds: measured on the 2-core CI machine a case takes ~6 s normally and
~8 s under AddressSanitizer, well within budget, so no smaller ASan size is
needed. SMBFUSE_THROUGHPUT_MIB overrides it (e.g. for a quick local run).

The ENOSPC cases mount a 16 MiB tmpfs as a share of their own private Samba
(the tests run as root); the tmpfs is unmounted and the server stopped in a
finally clause whatever happens.
"""

import concurrent.futures
import errno
import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time

import harness
from smbfixture import SambaServer, _pids_with_arg

MiB = 1024 * 1024
KiB = 1024


def _size():
    override = os.environ.get('SMBFUSE_THROUGHPUT_MIB')
    if override:
        return int(override) * MiB
    return 1024 * MiB


# Seven 1 MiB base blocks from SHAKE-256; block k of a stream is base[k % 7]
# with its first 8 bytes replaced by k, so every MiB differs and a misplaced
# or repeated block is caught, at no per-block hashing cost.
_BASES = [hashlib.shake_256(b'smbfuse-throughput-%d' % i).digest(MiB) for i in range(7)]


def _block(k):
    return k.to_bytes(8, 'little') + _BASES[k % 7][8:]


def _write_stream(path, size, bufsize=MiB):
    """Write size bytes of the pattern to path; return its sha256 hex."""
    h = hashlib.sha256()
    with open(path, 'wb', buffering=0) as f:
        k = 0
        left = size
        while left > 0:
            b = _block(k)[:min(MiB, left)]
            for off in range(0, len(b), bufsize):
                f.write(b[off:off + bufsize])
            h.update(b)
            left -= len(b)
            k += 1
    return h.hexdigest()


def _hash_file(path, bufsize=4 * MiB):
    h = hashlib.sha256()
    n = 0
    with open(path, 'rb', buffering=0) as f:
        while True:
            b = f.read(bufsize)
            if not b:
                break
            h.update(b)
            n += len(b)
    return h.hexdigest(), n


def _roundtrip(t, share, *opts, name='big.bin'):
    size = _size()
    mnt = t.mount(share, *opts)
    t0 = time.monotonic()
    want = _write_stream(os.path.join(mnt, name), size)
    t_write = time.monotonic() - t0
    got, n = _hash_file(os.path.join(t.share_path(share), name))
    assert n == size, 'server file has %d bytes, wrote %d' % (n, size)
    assert got == want, 'server copy differs from what was written'
    t.umount(mnt)
    mnt = t.mount(share, *opts)  # cold cache: every byte comes from the server
    t0 = time.monotonic()
    got, n = _hash_file(os.path.join(mnt, name), bufsize=MiB)
    t_read = time.monotonic() - t0
    assert n == size, 'read back %d bytes, wrote %d' % (n, size)
    assert got == want, 'bytes read through the mount differ'
    t.umount(mnt)
    os.unlink(os.path.join(t.share_path(share), name))
    print('# %s %s: %d MiB write %.1f s (%.0f MiB/s), read %.1f s (%.0f MiB/s)' % (
        share, ','.join(opts) or 'default', size // MiB, t_write, size / MiB / t_write,
        t_read, size / MiB / t_read))
    return mnt


@harness.timeout(240)
def test_roundtrip_default(t):
    _roundtrip(t, 'rw')


@harness.timeout(240)
def test_roundtrip_seal(t):
    _roundtrip(t, 'sealed', 'seal')


def _daemon_pid(mnt):
    pids = _pids_with_arg(os.path.abspath(mnt), exact=True)
    assert len(pids) == 1, 'smbfuse daemon of %s: pids %s' % (mnt, pids)
    return pids[0]


def _server_sockets(pid, port):
    """{inode: (bytes_acked, bytes_received)} of pid's TCP connections to
    127.0.0.1:port, from /proc and `ss -tin` (counters when ss is there)."""
    inodes = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            continue
        if link.startswith('socket:['):
            inodes.add(link[8:-1])
    want = '0100007F:%04X' % port
    conns = {}
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            p = line.split()
            if p[2] == want and p[3] == '01' and p[9] in inodes:  # ESTABLISHED
                conns[p[9]] = (0, 0)
    try:
        out = subprocess.run(['ss', '-tinoe', 'dst', '127.0.0.1:%d' % port],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return conns
    ino = None
    for line in out.splitlines():
        m = re.search(r'\bino:(\d+)', line)
        if m:
            ino = m.group(1)
            continue
        if ino in conns:
            acked = re.search(r'bytes_acked:(\d+)', line)
            recv = re.search(r'bytes_received:(\d+)', line)
            if acked or recv:
                conns[ino] = (int(acked.group(1)) if acked else 0,
                              int(recv.group(1)) if recv else 0)
            ino = None
    return conns


def _roundtrip_channels(t, share, *opts):
    """max_channels=2: two connections to the server, both carrying data."""
    size = _size()
    mnt = t.mount(share, 'max_channels=2', *opts)
    pid = _daemon_pid(mnt)
    socks = _server_sockets(pid, t.srv.port)
    assert len(socks) == 2, 'max_channels=2: %d connections to the server' % len(socks)
    want = _write_stream(os.path.join(mnt, 'mc.bin'), size)
    got, n = _hash_file(os.path.join(t.share_path(share), 'mc.bin'))
    assert (got, n) == (want, size), 'server copy differs (multichannel write)'
    sent = _server_sockets(pid, t.srv.port)
    t.umount(mnt)
    mnt = t.mount(share, 'max_channels=2', *opts)
    pid = _daemon_pid(mnt)
    got, n = _hash_file(os.path.join(mnt, 'mc.bin'), bufsize=MiB)
    assert (got, n) == (want, size), 'bytes read through the mount differ (multichannel)'
    recv = _server_sockets(pid, t.srv.port)
    assert len(recv) == 2, 'max_channels=2: %d connections after the read' % len(recv)
    t.umount(mnt)
    os.unlink(os.path.join(t.share_path(share), 'mc.bin'))
    # each channel carried a fair share of the data both ways
    if any(v != (0, 0) for v in sent.values()):
        acked = sorted(v[0] for v in sent.values())
        assert acked[0] > size // 8, 'writes not spread over channels: %s' % acked
        rcvd = sorted(v[1] for v in recv.values())
        assert rcvd[0] > size // 8, 'reads not spread over channels: %s' % rcvd
        print('# bytes sent per channel %s, received %s' % (acked, rcvd))
    else:
        t.skip('ss gives no per-socket counters here: spread not checked')


@harness.timeout(240)
def test_roundtrip_channels(t):
    _roundtrip_channels(t, 'rw')


@harness.timeout(240)
def test_roundtrip_channels_seal(t):
    _roundtrip_channels(t, 'sealed', 'seal')


@harness.timeout(120)
def test_channels_signed_each_dialect(t):
    """Bound channels sign with their own Channel.SigningKey (a mandatory-
    signing server checks every request): 3.1.1 derives it with the
    channel's preauth hash, 3.0 and 3.0.2 without; 2.1 cannot bind and stays
    on one connection."""
    srv = t.server('signing')
    for vers, nconn in (('3.1.1', 2), ('3.02', 2), ('3.0', 2), ('2.1', 1)):
        mnt = t.mount('signed', 'vers=' + vers, 'max_channels=2', server='signing')
        socks = _server_sockets(_daemon_pid(mnt), srv.port)
        assert len(socks) == nconn, 'vers=%s max_channels=2: %d connections' % (
            vers, len(socks))
        data = b''.join(_block(k) for k in range(8))
        with open(os.path.join(mnt, 'sg.bin'), 'wb') as f:
            f.write(data)
        t.umount(mnt)
        mnt = t.mount('signed', 'vers=' + vers, 'max_channels=2', server='signing')
        with open(os.path.join(mnt, 'sg.bin'), 'rb') as f:
            assert f.read() == data, 'vers=%s: signed multichannel round trip differs' % vers
        t.umount(mnt)


def _local_ports(pid, port):
    """Local ports of pid's established connections to 127.0.0.1:port."""
    inodes = set(_server_sockets(pid, port))
    out = []
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            p = line.split()
            if p[9] in inodes:
                out.append(int(p[1].split(':')[1], 16))
    return sorted(out)


@harness.timeout(120)
def test_channel_killed_mid_copy(t):
    """One of two channels is reset (ss -K) during a 256 MiB copy in: the
    copy completes intact (all channels are re-established, the I/O that
    was on the dead one replayed) and two channels are back afterwards."""
    if os.geteuid() != 0:
        t.skip('ss -K needs root')
    port = t.srv.port
    mnt = t.mount('rw', 'max_channels=2')
    pid = _daemon_pid(mnt)
    lports = _local_ports(pid, port)
    assert len(lports) == 2, lports
    res = {}

    def copy_in():
        try:
            res['sha'] = _write_stream(os.path.join(mnt, 'kill.bin'), 256 * MiB)
        except BaseException as e:  # reported below
            res['exc'] = e

    th = threading.Thread(target=copy_in)
    th.start()
    srvfile = os.path.join(t.share_path('rw'), 'kill.bin')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and th.is_alive():
        if os.path.exists(srvfile) and os.path.getsize(srvfile) >= 8 * MiB:
            break
        time.sleep(0.005)
    assert th.is_alive(), 'the copy ended before a channel could be reset'
    r = subprocess.run(['ss', '-K', 'dst', '127.0.0.1:%d' % port,
                        'sport', '=', ':%d' % lports[1]], capture_output=True, timeout=10)
    th.join(100)
    assert not th.is_alive(), 'copy did not finish after a channel was reset'
    assert 'exc' not in res, 'copy failed after a channel was reset: %r' % res.get('exc')
    got, n = _hash_file(os.path.join(t.share_path('rw'), 'kill.bin'))
    assert (got, n) == (res['sha'], 256 * MiB), 'server copy differs after a channel reset'
    if lports[1] in _local_ports(pid, port):
        t.skip('ss -K could not reset the socket here (rc %d): %s' % (
            r.returncode, r.stderr.decode(errors='replace').strip()))
    deadline = time.monotonic() + 20
    while len(_server_sockets(pid, port)) != 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_server_sockets(pid, port)) == 2, 'two channels are not back'
    assert _hash_file(os.path.join(mnt, 'kill.bin'))[0] == res['sha']
    t.umount(mnt)


def test_concurrent_readers_one_file(t):
    """Four threads read the same file at different offsets at once (so
    readahead windows and reads of several handles interleave); every byte is
    checked against the pattern."""
    nblocks = 48
    path = os.path.join(t.share_path('rw'), 'shared.bin')
    with open(path, 'wb') as f:
        for k in range(nblocks):
            f.write(_block(k))
    mnt = t.mount('rw')

    def reader(i):
        # thread i starts at a different block and wraps around; odd threads
        # use one big sequential stream, even ones 128 KiB preads
        fd = os.open(os.path.join(mnt, 'shared.bin'), os.O_RDONLY)
        try:
            for j in range(nblocks):
                k = (i * nblocks // 4 + j) % nblocks
                if i % 2:
                    got = os.pread(fd, MiB, k * MiB)
                else:
                    got = b''.join(os.pread(fd, 128 * KiB, k * MiB + o)
                                   for o in range(0, MiB, 128 * KiB))
                if got != _block(k):
                    return 'reader %d: block %d differs' % (i, k)
            # a read past the end stays short
            tail = os.pread(fd, 2 * MiB, nblocks * MiB - 100)
            if tail != _block(nblocks - 1)[-100:]:
                return 'reader %d: tail read differs' % i
        finally:
            os.close(fd)
        return None

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        errs = [e for e in ex.map(reader, range(4)) if e]
    assert not errs, errs
    t.umount(mnt)


# ------------------------------------------------------------ ENOSPC

class _TmpfsServer:
    """A private Samba whose share 'tiny' is a 16 MiB tmpfs."""

    def __init__(self, size_mib=16):
        self.dir = tempfile.mkdtemp(prefix='chan-tmpfs-')
        os.chmod(self.dir, 0o777)
        self.mounted = False
        self.srv = None
        try:
            subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm,mode=0777' % size_mib,
                            'smbfuse-test-tmpfs', self.dir], check=True,
                           capture_output=True, timeout=20)
            self.mounted = True
            self.srv = SambaServer(extra_shares={'tiny': {'read only': 'no',
                                                          'path': self.dir}})
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.srv is not None:
            self.srv.stop()  # also unmounts FUSE mounts it knows of
            self.srv = None
        if self.mounted:
            r = subprocess.run(['umount', self.dir], capture_output=True, timeout=20)
            if r.returncode != 0:
                subprocess.run(['umount', '-l', self.dir], capture_output=True, timeout=20)
            self.mounted = False
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def _tmpfs_server(t):
    if os.geteuid() != 0:
        t.skip('mounting a tmpfs needs root')
    try:
        return _TmpfsServer()
    except subprocess.CalledProcessError as e:
        t.skip('cannot mount tmpfs: %s' % e.stderr.decode(errors='replace').strip())


def _mount_tiny(t, ts, *opts):
    s = ts.srv
    mnt = t.new_mountpoint('tiny')
    ts.srv.track_mount(mnt)
    return t.mount(None, *opts, unc=s.unc("tiny"), mnt=mnt, user=s.user, password=s.password)


@harness.timeout(120)
def test_enospc_large_writes(t):
    """64 MiB of 1 MiB write() calls into a 16 MiB share: the application
    sees ENOSPC from a write() or, at the latest, from close()."""
    ts = _tmpfs_server(t)
    try:
        mnt = _mount_tiny(t, ts)
        fd = os.open(mnt + '/fill.bin', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        seen = None
        written = 0
        try:
            for k in range(64):
                try:
                    os.write(fd, _block(k))
                    written += MiB
                except OSError as e:
                    seen = ('write', e.errno)
                    break
        finally:
            try:
                os.close(fd)
            except OSError as e:
                seen = seen or ('close', e.errno)
        assert seen is not None, ('64 MiB written into a 16 MiB share and neither '
                                  'write() nor close() failed')
        assert seen[1] == errno.ENOSPC, '%s failed with %s, expected ENOSPC' % (
            seen[0], errno.errorcode.get(seen[1], seen[1]))
        # 16 MiB of room, plus at most the write-behind window (8 x wsize in
        # flight per file) and a little kernel buffering before the latched
        # error reaches a write(): never the whole 64 MiB
        assert written <= 28 * MiB, 'write() accepted %d MiB before failing' % (
            written // MiB)
        # the mount still works after the error
        os.unlink(mnt + '/fill.bin')
        with open(mnt + '/after.txt', 'w') as f:
            f.write('ok')
        with open(os.path.join(ts.dir, 'after.txt')) as f:
            assert f.read() == 'ok'
        t.umount(mnt)
    finally:
        ts.close()


@harness.timeout(120)
def test_enospc_small_writes_fsync(t):
    """Small write() calls are absorbed by write-behind (so write() itself may
    succeed); fsync() must then report ENOSPC, and so must anything after it
    rather than pretend the data is safe."""
    ts = _tmpfs_server(t)
    try:
        mnt = _mount_tiny(t, ts)
        # fill most of the tmpfs first so that the buffered tail overflows it
        with open(os.path.join(ts.dir, 'ballast'), 'wb') as f:
            f.write(b'\0' * (15 * MiB))
        fd = os.open(mnt + '/small.bin', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        seen = []
        try:
            chunk = os.urandom(4000)
            for _ in range(512):  # ~2 MiB in 4000-byte writes
                try:
                    os.write(fd, chunk)
                except OSError as e:
                    seen.append(('write', e.errno))
                    break
            try:
                os.fsync(fd)
            except OSError as e:
                seen.append(('fsync', e.errno))
        finally:
            try:
                os.close(fd)
            except OSError as e:
                seen.append(('close', e.errno))
        assert seen, '2 MiB buffered into a share with 1 MiB free: no error by fsync/close'
        first = seen[0]
        assert first[1] == errno.ENOSPC, '%s failed with %s, expected ENOSPC' % (
            first[0], errno.errorcode.get(first[1], first[1]))
        assert first[0] in ('write', 'fsync'), (
            'the error must be reported by fsync at the latest, got it from %s' % first[0])
        t.umount(mnt)
    finally:
        ts.close()


@harness.timeout(120)
def test_enospc_small_file_with_times_at_close(t):
    """A small file written and given times (tar x): its data and times go in
    one compound at close(); a failed WRITE in it fails close() (ENOSPC)."""
    ts = _tmpfs_server(t)
    try:
        mnt = _mount_tiny(t, ts)
        with open(os.path.join(ts.dir, 'filler'), 'wb') as f:
            try:
                while True:
                    f.write(b'\0' * 65536)
                    f.flush()
            except OSError:
                pass
        fd = os.open(mnt + '/small', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, b'z' * 32768)  # absorbed by write-behind
        os.utime(fd, (1600000000, 1700000000))
        try:
            os.close(fd)
            assert False, 'close() of a file that did not fit succeeded'
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        os.unlink(os.path.join(ts.dir, 'filler'))
        t.umount(mnt)
    finally:
        ts.close()
