"""A private Samba server on loopback for smbfuse's tests, benchmarks and demo.

Standard library only. Typical use:

    from smbfixture import SambaServer
    with SambaServer() as srv:                      # starts smbd, stops it on exit
        open(srv.share_path('rw') + '/hello', 'w').write('hi')
        srv.smbclient('rw', '-c', 'ls').check_returncode()
        print(srv.unc('rw'), srv.user, srv.password, srv.port)

    SambaServer(signing='mandatory')  # a second instance whose clients must sign

Every server lives in its own mkdtemp() directory with its own smb.conf,
private/lock/state/cache/pid/ncalrpc directories, log and a free TCP port on
127.0.0.1, so two runs at once do not collide. stop() (also run by the
context manager, atexit and the SIGTERM/SIGINT handlers) unmounts every FUSE
mount under the directory or registered with track_mount(), kills smbd and
its helpers, and removes the directory.

Shares (each a directory under <tmpdir>/shares/):
    rw      read-write
    ro      read only
    signed  read-write; signing is a global-only smb.conf option ("server
            signing"), so it is mandatory for every share of a server created
            with signing='mandatory' and merely offered otherwise
    sealed  read-write, "server smb encrypt = required": tree connect without
            SMB3 encryption is refused with ACCESS_DENIED
"""

import atexit
import errno
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ['SambaServer', 'SambaUnavailable', 'SambaStartError', 'find_tool',
           'smbd_available', 'fuse_mounts', 'force_unmount', 'SHARES']

SHARES = ('rw', 'ro', 'signed', 'sealed')
HOST = '127.0.0.1'
_SBIN = ('/usr/sbin', '/sbin', '/usr/local/sbin')


class SambaUnavailable(Exception):
    """smbd (or pdbedit/smbclient) is not installed: callers should skip."""


class SambaStartError(Exception):
    """smbd was found but did not come up; the message holds the log tail."""


def find_tool(name):
    """Path of a Samba tool, also looking in sbin directories not in PATH.

    $SMBFIXTURE_SMBD, $SMBFIXTURE_PDBEDIT, ... override the lookup (e.g. to
    test against another Samba build; an empty or missing path means absent).
    """
    override = os.environ.get('SMBFIXTURE_' + name.upper().replace('-', '_'))
    if override is not None:
        return override if override and os.access(override, os.X_OK) else None
    path = os.environ.get('PATH', os.defpath) + os.pathsep + os.pathsep.join(_SBIN)
    return shutil.which(name, path=path)


def smbd_available():
    return all(find_tool(t) for t in ('smbd', 'pdbedit'))


# ---------------------------------------------------------------- mounts

def _unescape_mount_field(s):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def fuse_mounts(fstype_prefix='fuse'):
    """List of (source, mountpoint, fstype) from /proc/mounts for FUSE mounts."""
    res = []
    try:
        with open('/proc/mounts', encoding='utf-8', errors='surrogateescape') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].startswith(fstype_prefix):
                    res.append((_unescape_mount_field(parts[0]),
                                _unescape_mount_field(parts[1]), parts[2]))
    except OSError:
        pass
    return res


def _fusermount():
    return find_tool('fusermount3') or find_tool('fusermount') or 'fusermount3'


def _abort_fuse_connection(mnt):
    """Abort the FUSE connection of a (possibly hung) mount via fusectl."""
    try:
        with open('/proc/self/mountinfo', encoding='utf-8', errors='surrogateescape') as f:
            for line in f:
                parts = line.split()
                if len(parts) > 4 and _unescape_mount_field(parts[4]) == mnt:
                    minor = parts[2].split(':')[1]
                    path = '/sys/fs/fuse/connections/%s/abort' % minor
                    if os.path.exists(path):
                        with open(path, 'w') as a:
                            a.write('1')
                    return
    except OSError:
        pass


def _pids_with_arg(needle, exact=False):
    """Pids of processes (not us) with needle as an argument (exact) or
    inside one."""
    pids = []
    me = os.getpid()
    nb = needle.encode()
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        args = cmd.split(b'\0')
        if any(a == nb for a in args) if exact else nb in cmd:
            pids.append(int(d))
    return pids


def force_unmount(mnt, timeout=10.0, kill_daemon=True):
    """Unmount a FUSE mountpoint: fusermount3 -u, then abort + -uz.

    With kill_daemon, any process whose argv names the mountpoint (the smbfuse
    daemon serving it) is terminated afterwards. Returns True if the mount is
    gone from /proc/mounts.
    """
    mnt = os.path.abspath(mnt)
    fm = _fusermount()

    def mounted():
        return any(m == mnt for _, m, _ in fuse_mounts())

    if mounted():
        subprocess.run([fm, '-u', mnt], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    if mounted():
        _abort_fuse_connection(mnt)
        subprocess.run([fm, '-uz', mnt], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    if mounted():
        # Not ours to unmount through fusermount (e.g. another owner): root can.
        subprocess.run(['umount', '-l', mnt], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    if kill_daemon:
        _kill_pids(_pids_with_arg(mnt, exact=True), grace=3.0)
    return not mounted()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as dead
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _kill_pids(pids, grace=5.0):
    pids = [p for p in pids if _alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------- cleanup registry

_live = set()
_live_lock = threading.RLock()
_handlers_installed = False
_prev_handlers = {}


def _cleanup_all():
    with _live_lock:
        servers = list(_live)
    for s in servers:
        try:
            s.stop()
        except Exception as e:  # keep cleaning the others
            sys.stderr.write('smbfixture: cleanup of %s failed: %s\n' % (s.tmpdir, e))


def _on_signal(signum, frame):
    _cleanup_all()
    prev = _prev_handlers.get(signum, signal.SIG_DFL)
    signal.signal(signum, prev)
    if callable(prev):
        prev(signum, frame)
    else:
        os.kill(os.getpid(), signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_cleanup_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        cur = signal.getsignal(sig)
        if cur in (signal.SIG_DFL, signal.default_int_handler, None):
            _prev_handlers[sig] = cur if cur is not None else signal.SIG_DFL
            signal.signal(sig, _on_signal)


# ---------------------------------------------------------------- the server

def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _socket_inodes_listening(port):
    """Inodes of LISTEN sockets on 127.0.0.1:port or 0.0.0.0:port."""
    inodes = set()
    want = {'0100007F:%04X' % port, '00000000:%04X' % port}
    try:
        with open('/proc/net/tcp') as f:
            next(f)
            for line in f:
                p = line.split()
                if p[1] in want and p[3] == '0A':
                    inodes.add(p[9])
    except OSError:
        pass
    return inodes


def _pid_listens(pid, port):
    inodes = _socket_inodes_listening(port)
    if not inodes:
        return False
    try:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:[') and link[8:-1] in inodes:
                return True
    except OSError:
        pass
    return False


class SambaServer:
    """A private smbd on 127.0.0.1:<free port>. See the module docstring.

    Parameters:
      signing   'default' (offered, not required) or 'mandatory' (global
                "server signing = mandatory": every client must sign).
      base_dir  parent of the mkdtemp() directory (default: $SMBFIXTURE_TMPDIR
                or the system temp dir).
      user      Samba user; must be a Unix user (default: the current one).
      password  its password (default: random).
      extra_global  dict of extra [global] options.
      extra_shares  dict name -> dict of options; 'path' defaults to
                    <tmpdir>/shares/<name>.
      start     start immediately (default True).
      keep      keep the directory after stop() (also $SMBFIXTURE_KEEP=1).
      debug_level  smbd -d level.
      start_timeout  seconds to wait for smbd to listen.
    """

    def __init__(self, signing='default', base_dir=None, user=None, password=None,
                 extra_global=None, extra_shares=None, start=True, keep=None,
                 debug_level=1, start_timeout=20.0):
        if signing not in ('default', 'auto', 'mandatory', 'disabled'):
            raise ValueError('signing must be default, auto, mandatory or disabled')
        self.smbd = find_tool('smbd')
        self.pdbedit = find_tool('pdbedit')
        if not self.smbd or not self.pdbedit:
            raise SambaUnavailable('smbd/pdbedit not found (install samba)')
        self.signing = signing
        self.host = HOST
        self.user = user or getpass.getuser()
        self.password = password or ('Pw' + secrets.token_urlsafe(15).replace('-', 'x'))
        self.extra_global = dict(extra_global or {})
        self.extra_shares = dict(extra_shares or {})
        self.debug_level = debug_level
        self.start_timeout = start_timeout
        if keep is None:
            keep = os.environ.get('SMBFIXTURE_KEEP', '') not in ('', '0')
        self.keep = keep
        base_dir = base_dir or os.environ.get('SMBFIXTURE_TMPDIR') or None
        if base_dir:
            os.makedirs(base_dir, exist_ok=True)
        self.tmpdir = tempfile.mkdtemp(prefix='smbfixture-', dir=base_dir)
        os.chmod(self.tmpdir, 0o755)  # smbd and FUSE daemons may need to traverse it
        self.conf = os.path.join(self.tmpdir, 'smb.conf')
        self.logfile = os.path.join(self.tmpdir, 'smbd.log')
        self.port = None
        self.proc = None
        self._mounts = []
        self._stopped = False
        self._lock = threading.RLock()
        for d in ('private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log',
                  'binddns', 'mnt', 'shares'):
            os.makedirs(os.path.join(self.tmpdir, d), exist_ok=True)
        os.chmod(os.path.join(self.tmpdir, 'private'), 0o700)
        os.chmod(os.path.join(self.tmpdir, 'ncalrpc'), 0o755)
        for name in list(SHARES) + list(self.extra_shares):
            p = self.extra_shares.get(name, {}).get('path') or self.share_path(name)
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o777)
        with _live_lock:
            _live.add(self)
        _install_handlers()
        if start:
            try:
                self.start()
            except BaseException:
                self.stop()
                raise

    # ------------------------------------------------------------ paths & names

    def share_path(self, share):
        """Server-side directory of a share (write test data straight here)."""
        opts = self.extra_shares.get(share, {})
        return opts.get('path') or os.path.join(self.tmpdir, 'shares', share)

    def unc(self, share, with_port=True):
        """'//127.0.0.1:PORT/share' (or without the port)."""
        if with_port:
            return '//%s:%d/%s' % (self.host, self.port, share)
        return '//%s/%s' % (self.host, share)

    def mountpoint(self, name):
        """A fresh empty directory under <tmpdir>/mnt for mounting."""
        p = os.path.join(self.tmpdir, 'mnt', name)
        os.makedirs(p, exist_ok=True)
        return p

    def track_mount(self, mnt):
        """Register a mountpoint outside tmpdir to be unmounted by stop()."""
        with self._lock:
            self._mounts.append(os.path.abspath(mnt))

    def log_tail(self, lines=40):
        out = []
        for path in [self.logfile] + sorted(
                os.path.join(self.tmpdir, 'log', f)
                for f in os.listdir(os.path.join(self.tmpdir, 'log'))):
            try:
                with open(path, errors='replace') as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            if tail:
                out.append('==> %s <==' % path)
                out.extend(tail)
        return '\n'.join(out)

    # ------------------------------------------------------------ config

    def _global_options(self):
        t = self.tmpdir
        g = {
            'server role': 'standalone server',
            'workgroup': 'SMBFTEST',
            'netbios name': 'SMBFTEST',
            'server string': 'smbfuse test fixture',
            'smb ports': str(self.port),
            'interfaces': '127.0.0.1/8',
            'bind interfaces only': 'yes',
            'disable netbios': 'yes',
            'server min protocol': 'SMB2_02',
            'server max protocol': 'SMB3_11',
            'server signing': self.signing,
            'passdb backend': 'tdbsam:%s/private/passdb.tdb' % t,
            'private dir': t + '/private',
            'lock directory': t + '/lock',
            'state directory': t + '/state',
            'cache directory': t + '/cache',
            'pid directory': t + '/pid',
            'ncalrpc dir': t + '/ncalrpc',
            'binddns dir': t + '/binddns',
            'smb passwd file': t + '/private/smbpasswd',
            'log file': t + '/log/log.%m',
            'max log size': '0',
            'log level': str(self.debug_level),
            'load printers': 'no',
            'printing': 'bsd',
            'printcap name': '/dev/null',
            'disable spoolss': 'yes',
            'show add printer wizard': 'no',
            'map to guest': 'never',
            'restrict anonymous': '2',
            'usershare max shares': '0',
            'unix password sync': 'no',
            'obey pam restrictions': 'no',
            'dns proxy': 'no',
            'multicast dns register': 'no',
            'host msdfs': 'no',
            # Durable handles (reopened after a reconnect with their locks):
            # Samba grants them only with these share settings (smb.conf(5),
            # "durable handles"); the defaults of the last three are yes.
            'durable handles': 'yes',
            'kernel oplocks': 'no',
            'kernel share modes': 'no',
            'posix locking': 'no',
        }
        g.update(self.extra_global)
        return g

    def _share_options(self):
        shares = {
            'rw': {'read only': 'no'},
            'ro': {'read only': 'yes'},
            'signed': {'read only': 'no',
                       'comment': 'signing %s (server-wide)' % self.signing},
            'sealed': {'read only': 'no', 'server smb encrypt': 'required'},
        }
        for name, opts in self.extra_shares.items():
            shares.setdefault(name, {}).update(opts)
        for name, opts in shares.items():
            opts.setdefault('path', self.share_path(name))
            opts.setdefault('valid users', self.user)
        return shares

    def _write_conf(self):
        lines = ['# generated by smbfixture.py', '[global]']
        lines += ['\t%s = %s' % kv for kv in self._global_options().items()]
        for name, opts in self._share_options().items():
            lines += ['', '[%s]' % name]
            lines += ['\t%s = %s' % kv for kv in opts.items()]
        tmp = self.conf + '.tmp'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.replace(tmp, self.conf)

    def _add_user(self):
        inp = (self.password + '\n') * 2
        r = subprocess.run([self.pdbedit, '-s', self.conf, '-a', '-u', self.user, '-t'],
                           input=inp, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise SambaStartError('pdbedit -a %s failed (%d): %s%s' % (
                self.user, r.returncode, r.stdout, r.stderr))

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self.proc is not None:
            return self
        last_err = None
        for attempt in range(8):
            self.port = _free_port()
            self._write_conf()
            if attempt == 0:
                self._add_user()
            try:
                self._spawn_and_wait()
                return self
            except _PortTaken as e:
                last_err = e
                continue
        raise SambaStartError('smbd could not bind a free port: %s' % last_err)

    def _spawn_and_wait(self):
        log = open(self.logfile, 'ab')
        try:
            self.proc = subprocess.Popen(
                [self.smbd, '-F', '--no-process-group', '--debug-stdout',
                 '-d', str(self.debug_level), '-s', self.conf],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                tail = self.log_tail()
                self._reap_children()
                self.proc = None
                if 'Address already in use' in tail or 'No sockets available' in tail:
                    raise _PortTaken('port %d: smbd exited %d' % (self.port, rc))
                raise SambaStartError('smbd exited with %d during start-up\n%s' % (rc, tail))
            if _pid_listens(self.proc.pid, self.port):
                # Listening socket is smbd's own; make sure it answers.
                try:
                    with socket.create_connection((self.host, self.port), timeout=2):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        tail = self.log_tail()
        self._kill_smbd()
        raise SambaStartError('smbd did not listen on %s:%d within %.0f s\n%s' % (
            self.host, self.port, self.start_timeout, tail))

    def _reap_children(self):
        # Helpers (smbd children, samba-dcerpcd, rpcd_*, samba-bgqd) name our
        # smb.conf in argv or inherit the process group.
        _kill_pids(_pids_with_arg(self.tmpdir + os.sep), grace=3.0)

    def _kill_smbd(self):
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: pgid == pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        self._reap_children()

    def crash(self):
        """Kill smbd and all its children at once (SIGKILL), as a crash would.

        The configuration, users and shares stay; restart() brings the server
        back on the same port."""
        with self._lock:
            if self.proc is None:
                return
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
            _kill_pids(_pids_with_arg(self.tmpdir + os.sep), grace=0.5)

    def restart(self):
        """Start smbd again on the same port after crash()."""
        with self._lock:
            if self.proc is not None:
                return self
            deadline = time.monotonic() + 15
            while True:
                try:
                    self._spawn_and_wait()
                    return self
                except _PortTaken:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def mounts(self):
        """Mountpoints currently mounted under tmpdir or registered."""
        with self._lock:
            tracked = set(self._mounts)
        prefix = self.tmpdir + os.sep
        return [m for _, m, _ in fuse_mounts()
                if m.startswith(prefix) or m in tracked]

    def unmount_all(self):
        ok = True
        # deepest first
        for m in sorted(self.mounts(), key=len, reverse=True):
            ok = force_unmount(m) and ok
        return ok

    def stop(self):
        """Unmount, stop smbd and its helpers, remove tmpdir. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self.unmount_all()
        finally:
            try:
                self._kill_smbd()
                self._reap_children()
            finally:
                with _live_lock:
                    _live.discard(self)
                if self.keep:
                    sys.stderr.write('smbfixture: kept %s\n' % self.tmpdir)
                else:
                    self._rmtree()

    def _rmtree(self):
        if self.mounts():  # never recurse into a live mount
            sys.stderr.write('smbfixture: %s still has mounts, left in place\n' % self.tmpdir)
            return

        def onerror(func, path, exc):
            if isinstance(exc[1], OSError) and exc[1].errno == errno.ENOENT:
                return
            sys.stderr.write('smbfixture: cannot remove %s: %s\n' % (path, exc[1]))
        shutil.rmtree(self.tmpdir, onerror=onerror)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return '<SambaServer %s:%s signing=%s dir=%s>' % (
            self.host, self.port, self.signing, self.tmpdir)

    # ------------------------------------------------------------ clients

    def smbclient(self, share, *args, user=None, password=None, encrypt=False,
                  options=(), timeout=60):
        """Run smbclient against a share; returns CompletedProcess (text).

        The password goes through the PASSWD environment variable, not argv.
        """
        smbclient = find_tool('smbclient')
        if not smbclient:
            raise SambaUnavailable('smbclient not found')
        cmd = [smbclient, '//%s/%s' % (self.host, share), '-p', str(self.port),
               '-U', user or self.user, '-s', os.devnull]
        if encrypt:
            cmd.append('--client-protection=encrypt')
        for o in options:
            cmd.append('--option=%s' % o)
        cmd += list(args)
        env = dict(os.environ)
        env['PASSWD'] = self.password if password is None else password
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)

    def negotiate(self, dialects=(0x0202, 0x0210, 0x0300, 0x0302), timeout=5):
        """Send a bare SMB2 NEGOTIATE; return the server's answer as a dict.

        {'status', 'dialect', 'security_mode', 'signing_required'} - lets a
        test prove that a signing='mandatory' server really demands signing.
        """
        return smb2_negotiate(self.host, self.port, dialects, timeout)

    def info(self):
        """Plain dict describing the server (for state files / child processes)."""
        return {'host': self.host, 'port': self.port, 'user': self.user,
                'password': self.password, 'tmpdir': self.tmpdir, 'conf': self.conf,
                'signing': self.signing, 'pid': self.proc.pid if self.proc else None,
                'shares': {s: self.share_path(s) for s in
                           list(SHARES) + list(self.extra_shares)}}


def smb2_negotiate(host, port, dialects=(0x0202, 0x0210, 0x0300, 0x0302), timeout=5):
    """Minimal SMB2 NEGOTIATE exchange (no 3.1.1: it would need contexts)."""
    import struct
    import uuid
    hdr = struct.pack('<4sHHIHHIIQIIQ16s', b'\xfeSMB', 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                      b'\0' * 16)
    body = struct.pack('<HHHHI16sQ', 36, len(dialects), 1, 0, 0, uuid.uuid4().bytes, 0)
    body += struct.pack('<%dH' % len(dialects), *dialects)
    pdu = hdr + body
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack('>I', len(pdu)) + pdu)

        def recv_exact(n):
            buf = b''
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise ConnectionError('connection closed during NEGOTIATE')
                buf += chunk
            return buf
        length = struct.unpack('>I', recv_exact(4))[0] & 0xffffff
        resp = recv_exact(length)
    if len(resp) < 70 or resp[:4] != b'\xfeSMB':
        raise ValueError('not an SMB2 response')
    status = struct.unpack_from('<I', resp, 8)[0]
    _, sec_mode, dialect = struct.unpack_from('<HHH', resp, 64)
    return {'status': status, 'dialect': dialect, 'security_mode': sec_mode,
            'signing_required': bool(sec_mode & 2)}


class _PortTaken(Exception):
    pass


if __name__ == '__main__':
    # python3 smbfixture.py [--signing mandatory]: run a server until Ctrl-C.
    import argparse
    import json
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--signing', default='default')
    a = ap.parse_args()
    try:
        with SambaServer(signing=a.signing) as srv:
            print(json.dumps(srv.info(), indent=2), flush=True)
            print('Ctrl-C to stop', file=sys.stderr)
            while srv.running:
                time.sleep(1)
            print(srv.log_tail(), file=sys.stderr)
    except SambaUnavailable as e:
        print('smbfixture: %s' % e, file=sys.stderr)
        sys.exit(77)
