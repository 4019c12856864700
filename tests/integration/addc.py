"""A private Samba AD DC (Kerberos KDC + file server) on loopback, for tests.

Standard library only; reuses smbfixture's process, port and cleanup helpers.
Typical use:

    from addc import SambaADDC
    with SambaADDC() as dc:                        # provisions, starts, stops
        dc.kinit()                                  # TGT for dc.user into dc.ccache
        env = dc.env()                              # KRB5_CONFIG + KRB5CCNAME
        r = dc.smbclient('rw', '-c', 'ls')          # --use-kerberos=required
        # smbfuse: connect to dc.host:dc.smb_port, ticket for cifs/<dc.service_host>
        subprocess.run([smbfuse, dc.unc('rw'), mnt, '-o', ...], env=env)

What it builds, in its own mkdtemp() directory (two instances never share a
file, port or socket):
  - `samba-tool domain provision` of realm SMBF.TEST / domain SMBF with a DC
    named SMBFDC (DNS name smbfdc.smbf.test), no DNS server. The admin
    password is random and never leaves samba-tool (nothing here needs it).
  - a test user (default `smbfuser`, random password) added offline to
    sam.ldb, password given on stdin, never in argv.
  - smb.conf running only the services a Kerberos SMB test needs:
    s3fs (smbd), kdc (KDC + kpasswd) and winbindd (smbd on a DC maps SIDs to
    uids through it), bound to 127.0.0.1 on free ports: smb_port, kdc_port,
    kpasswd_port (the KDC ports free for both TCP and UDP).
  - krb5.conf for clients: realm SMBF.TEST, kdc = 127.0.0.1:<kdc_port>,
    no DNS lookups, no reverse DNS, no hostname canonicalisation, so
    cifs/<service_host> needs no resolver entry.
  - a share `rw` (read-write, <tmpdir>/shares/rw, mode 0777).

Service principal: the DC's machine account carries HOST/SMBFDC and
HOST/smbfdc.smbf.test, and AD's sPNMappings make cifs/<either> resolve to it
(checked with kvno). A client connects to `host` (127.0.0.1) but must ask
for a ticket for cifs/<service_host>; `service_host` is the DNS name,
`netbios_host` the short one (both work with this krb5.conf).

Samba quirks handled here (Debian 12, Samba 4.17):
  - smbd on a DC reaches winbindd only through the compiled-in socket
    directory /run/samba/winbindd (a `winbindd socket directory` setting is
    honoured by winbindd but not by smbd's client outside Samba's selftest
    build): without it every Kerberos SESSION_SETUP fails with
    NT_STATUS_INTERNAL_ERROR. So samba runs in a private mount namespace
    (`unshare --mount`) with <tmpdir>/run bind-mounted over /run/samba; the
    system's /run/samba is untouched and instances do not see each other.
    This needs root (Samba as a DC needs root anyway).
  - provision reads the system smb.conf unless given another one: an empty
    file is passed.
  - `samba -i` exits when its stdin reaches EOF: stdin is a pipe held by this
    object, so a test runner killed with SIGKILL still takes samba down.
    `--maximum-runtime` is a second backstop.

stop() (also run by the context manager, atexit and the signal handlers of
smbfixture) unmounts FUSE mounts under the directory, kills the whole samba
process group by pid, sweeps any straggler of that group, and removes the
directory.
"""

import errno
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

import smbfixture as _sf
from smbfixture import SambaStartError, SambaUnavailable, find_tool

__all__ = ['SambaADDC', 'addc_available', 'SambaUnavailable', 'SambaStartError']

HOST = '127.0.0.1'
REALM = 'SMBF.TEST'
DOMAIN = 'SMBF'
NETBIOS = 'SMBFDC'
# Every tool this fixture runs; `addc_available()` checks them.
_TOOLS = ('samba', 'samba-tool', 'smbd', 'winbindd', 'kinit', 'unshare', 'mount')


def addc_available():
    """None when a DC can run here, else the reason (for a skip message)."""
    missing = [t for t in _TOOLS if not find_tool(t)]
    if missing:
        return 'missing %s (install samba-ad-dc krb5-user)' % ', '.join(missing)
    if os.geteuid() != 0:
        return 'a Samba AD DC needs root'
    return None


def _random_password():
    # AD complexity: upper, lower, digit, symbol; no quoting trouble.
    return 'Pw-%s-9a' % secrets.token_urlsafe(15).replace('-', 'x').replace('_', 'y')


def _port_free(port):
    """True when port can be bound on HOST for both TCP and UDP right now."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _free_ports(n):
    """n distinct ports free for TCP and UDP on HOST (best effort: races
    are handled by retrying start-up)."""
    ports = []
    while len(ports) < n:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            p = s.getsockname()[1]
        if p not in ports and _port_free(p):
            ports.append(p)
    return ports


def _procs():
    """(pid, pgid, cmdline bytes) of every live (non-zombie) process but us."""
    out, me = [], os.getpid()
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        # fields[0] is the state, fields[2] the process group
        if len(fields) > 2 and fields[0] != 'Z':
            out.append((int(d), int(fields[2]), cmd))
    return out


def _tree_pids(pgid, needle):
    """(pid, pgid) of the samba tree: samba's process group, plus smbd and winbindd,
    which samba starts as daemons in sessions of their own (their argv names
    our smb.conf, needle), plus everything in those processes' groups (their
    renamed children, e.g. smbd-notifyd, winbindd domain children)."""
    procs = _procs()
    groups = {pgid}
    nb = needle.encode()
    for pid, pg, cmd in procs:
        if nb in cmd:
            groups.add(pg)
    return [(pid, pg) for pid, pg, _ in procs if pg in groups]


def _parse_globals(path):
    """[global] options of a Samba-written smb.conf as an ordered dict."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in '#;':
                continue
            if line.startswith('['):
                section = line.strip('[]').strip().lower()
                continue
            if section in ('global', 'globals') and '=' in line:
                k, v = line.split('=', 1)
                out[k.strip().lower()] = v.strip()
    return out


class _PortTaken(Exception):
    pass


class SambaADDC:
    """A private Samba AD DC on 127.0.0.1. See the module docstring.

    Parameters:
      realm, domain, netbios_name   names of the domain and of the DC
      user, password  the test user (password random by default)
      base_dir   parent of the mkdtemp() directory ($SMBFIXTURE_TMPDIR or
                 the system temp dir)
      extra_global   dict of extra smb.conf [global] options
      extra_shares   dict name -> dict of options ('path' defaults to
                     <tmpdir>/shares/<name>)
      start      provision and start at once (default True)
      keep       keep the directory after stop() (also $SMBFIXTURE_KEEP=1)
      debug_level    samba log level
      start_timeout  seconds to wait for the ports to answer
      max_runtime    samba exits by itself after this many seconds

    Attributes (after start): host, smb_port, kdc_port, kpasswd_port, realm,
    domain, netbios_name, service_host, netbios_host, user, password,
    principal, krb5_conf, ccache, smb_conf, tmpdir, provision_seconds.
    """

    def __init__(self, realm=REALM, domain=DOMAIN, netbios_name=NETBIOS, user='smbfuser',
                 password=None, base_dir=None, extra_global=None, extra_shares=None,
                 start=True, keep=None, debug_level=1, start_timeout=60.0,
                 max_runtime=3 * 3600):
        why = addc_available()
        if why:
            raise SambaUnavailable(why)
        self.host = HOST
        self.realm = realm.upper()
        self.dns_domain = realm.lower()
        self.domain = domain.upper()
        self.netbios_name = netbios_name.upper()
        self.service_host = '%s.%s' % (self.netbios_name.lower(), self.dns_domain)
        self.netbios_host = self.netbios_name
        self.user = user
        self.password = password or _random_password()
        self.principal = '%s@%s' % (self.user, self.realm)
        self.extra_global = dict(extra_global or {})
        self.extra_shares = dict(extra_shares or {})
        self.debug_level = debug_level
        self.start_timeout = start_timeout
        self.max_runtime = int(max_runtime)
        if keep is None:
            keep = os.environ.get('SMBFIXTURE_KEEP', '') not in ('', '0')
        self.keep = keep
        base_dir = base_dir or os.environ.get('SMBFIXTURE_TMPDIR') or None
        if base_dir:
            os.makedirs(base_dir, exist_ok=True)
        self.tmpdir = tempfile.mkdtemp(prefix='smbf-addc-', dir=base_dir)
        os.chmod(self.tmpdir, 0o755)
        self.prov_dir = os.path.join(self.tmpdir, 'dc')
        self.smb_conf = os.path.join(self.prov_dir, 'etc', 'smb.conf')
        self.krb5_conf = os.path.join(self.tmpdir, 'krb5.conf')
        self.ccache = 'FILE:' + os.path.join(self.tmpdir, 'ccache')
        self.logfile = os.path.join(self.tmpdir, 'samba.log')
        self.smb_port = self.kdc_port = self.kpasswd_port = None
        self.provision_seconds = None
        self.proc = None
        self._provisioned = False
        self._stopped = False
        self._lock = threading.RLock()
        for d in ('log', 'run', 'shares', 'mnt', 'pid', 'ncalrpc'):
            os.makedirs(os.path.join(self.tmpdir, d), exist_ok=True)
        for name in ['rw'] + list(self.extra_shares):
            p = self.share_path(name)
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o777)
        with _sf._live_lock:
            _sf._live.add(self)
        _sf._install_handlers()
        if start:
            try:
                self.start()
            except BaseException:
                self.stop()
                raise

    # ------------------------------------------------------------ names

    def share_path(self, share):
        """Server-side directory of a share."""
        opts = self.extra_shares.get(share, {})
        return opts.get('path') or os.path.join(self.tmpdir, 'shares', share)

    def unc(self, share, with_port=True):
        """'//127.0.0.1:PORT/share' (the address to connect to)."""
        if with_port:
            return '//%s:%d/%s' % (self.host, self.smb_port, share)
        return '//%s/%s' % (self.host, share)

    def mountpoint(self, name):
        p = os.path.join(self.tmpdir, 'mnt', name)
        os.makedirs(p, exist_ok=True)
        return p

    def env(self, ccache=None, base=None):
        """Environment for a Kerberos client of this realm (a copy)."""
        e = dict(os.environ if base is None else base)
        e['KRB5_CONFIG'] = self.krb5_conf
        e['KRB5CCNAME'] = ccache or self.ccache
        e.pop('KRB5_KTNAME', None)
        return e

    def log_tail(self, lines=40):
        out = []
        paths = [self.logfile]
        logdir = os.path.join(self.tmpdir, 'log')
        if os.path.isdir(logdir):
            paths += sorted(os.path.join(logdir, f) for f in os.listdir(logdir)
                            if os.path.isfile(os.path.join(logdir, f)))
        for path in paths:
            try:
                with open(path, errors='replace') as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            if tail:
                out.append('==> %s <==' % path)
                out.extend(tail)
        return '\n'.join(out)

    # ------------------------------------------------------------ provisioning

    def _run(self, cmd, what, input=None, timeout=120):
        # start_new_session: no controlling tty, so getpass() in samba-tool
        # reads the password from stdin instead of /dev/tty.
        r = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=timeout, start_new_session=True)
        if r.returncode != 0:
            raise SambaStartError('%s failed (%d):\n%s%s' % (
                what, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
        return r

    def _provision(self):
        empty = os.path.join(self.tmpdir, 'empty.conf')
        open(empty, 'w').close()
        t0 = time.monotonic()
        self._run([find_tool('samba-tool'), 'domain', 'provision',
                   '--configfile=' + empty, '--targetdir=' + self.prov_dir,
                   '--realm=' + self.realm, '--domain=' + self.domain,
                   '--host-name=' + self.netbios_name, '--host-ip=' + HOST,
                   '--server-role=dc', '--dns-backend=NONE', '--use-rfc2307',
                   '--quiet'],
                  'samba-tool domain provision', timeout=300)
        self._provision_globals = _parse_globals(self.smb_conf)
        self._write_conf()
        # Offline: straight into sam.ldb, before samba runs (no LDAP server
        # needed). samba-tool prompts twice (password, retype) on stdin.
        sam = os.path.join(self.prov_dir, 'private', 'sam.ldb')
        self._run([find_tool('samba-tool'), 'user', 'add', self.user,
                   '--configfile=' + self.smb_conf, '-H', 'tdb://' + sam],
                  'samba-tool user add', input=(self.password + '\n') * 2)
        self.provision_seconds = time.monotonic() - t0
        self._provisioned = True

    # ------------------------------------------------------------ config

    def _global_options(self):
        t, p = self.tmpdir, self._provision_globals
        g = {
            'netbios name': self.netbios_name,
            'workgroup': self.domain,
            'realm': self.realm,
            'server role': 'active directory domain controller',
            # kdc (also kpasswd), smbd and the winbindd smbd needs; no
            # rpc/ldap/cldap/nbt/dns/drepl/kcc/dnsupdate/ntp_signd, so no
            # fixed privileged port (135, 389, 53, 137...) is ever bound.
            'server services': 's3fs, kdc, winbindd',
            'private dir': p.get('private dir', self.prov_dir + '/private'),
            'lock directory': p.get('lock directory', self.prov_dir),
            'state directory': p.get('state directory', self.prov_dir + '/state'),
            'cache directory': p.get('cache directory', self.prov_dir + '/cache'),
            'binddns dir': p.get('binddns dir', self.prov_dir + '/bind-dns'),
            'pid directory': t + '/pid',
            'ncalrpc dir': t + '/ncalrpc',
            # The compiled-in default, which smbd uses regardless; it is our
            # <tmpdir>/run inside samba's mount namespace.
            'winbindd socket directory': '/run/samba/winbindd',
            'interfaces': HOST + '/8',
            'bind interfaces only': 'yes',
            'smb ports': str(self.smb_port),
            'krb5 port': str(self.kdc_port),
            'kpasswd port': str(self.kpasswd_port),
            'disable netbios': 'yes',
            'dns proxy': 'no',
            'server min protocol': 'SMB2_02',
            'server max protocol': 'SMB3_11',
            'prefork children': '2',
            'log file': t + '/log/log.%m',
            'max log size': '0',
            'log level': str(self.debug_level),
            'load printers': 'no',
            'printing': 'bsd',
            'printcap name': '/dev/null',
            'disable spoolss': 'yes',
            'multicast dns register': 'no',
        }
        if 'idmap_ldb:use rfc2307' in p:
            g['idmap_ldb:use rfc2307'] = p['idmap_ldb:use rfc2307']
        g.update(self.extra_global)
        return g

    def _share_options(self):
        sysvol = os.path.join(self._global_options()['state directory'], 'sysvol')
        shares = {
            'sysvol': {'path': sysvol, 'read only': 'no'},
            'netlogon': {'path': os.path.join(sysvol, self.dns_domain, 'scripts'),
                         'read only': 'no'},
            'rw': {'read only': 'no'},
        }
        for name, opts in self.extra_shares.items():
            shares.setdefault(name, {}).update(opts)
        for name, opts in shares.items():
            opts.setdefault('path', self.share_path(name))
        return shares

    def _write_conf(self):
        if self.smb_port is None:
            self.smb_port, self.kdc_port, self.kpasswd_port = _free_ports(3)
        lines = ['# generated by addc.py', '[global]']
        lines += ['\t%s = %s' % kv for kv in self._global_options().items()]
        for name, opts in self._share_options().items():
            lines += ['', '[%s]' % name]
            lines += ['\t%s = %s' % kv for kv in opts.items()]
        tmp = self.smb_conf + '.tmp'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.replace(tmp, self.smb_conf)
        self._write_krb5_conf()

    def _write_krb5_conf(self):
        kdc = '%s:%d' % (HOST, self.kdc_port)
        kpw = '%s:%d' % (HOST, self.kpasswd_port)
        text = '\n'.join([
            '# generated by addc.py',
            '[libdefaults]',
            '\tdefault_realm = %s' % self.realm,
            '\tdns_lookup_realm = false',
            '\tdns_lookup_kdc = false',
            '\trdns = false',
            '\tdns_canonicalize_hostname = false',
            '\tudp_preference_limit = 1',
            '\tforwardable = true',
            '[realms]',
            '\t%s = {' % self.realm,
            '\t\tkdc = %s' % kdc,
            '\t\tadmin_server = %s' % kpw,
            '\t\tkpasswd_server = %s' % kpw,
            '\t\tdefault_domain = %s' % self.dns_domain,
            '\t}',
            '[domain_realm]',
            '\t.%s = %s' % (self.dns_domain, self.realm),
            '\t%s = %s' % (self.dns_domain, self.realm),
            '\t%s = %s' % (self.netbios_name.lower(), self.realm),
            '',
        ])
        tmp = self.krb5_conf + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, self.krb5_conf)

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self.proc is not None:
            return self
        if not self._provisioned:
            self._provision()
        last = None
        for attempt in range(6):
            if attempt:
                self.smb_port = None  # pick new ports
                self._write_conf()
            try:
                self._spawn_and_wait()
                return self
            except _PortTaken as e:
                last = e
        raise SambaStartError('samba could not bind free ports: %s' % last)

    def _spawn_and_wait(self):
        # unshare gives samba a private mount namespace in which <tmpdir>/run
        # hides /run/samba (see the module docstring); sh then execs samba,
        # so self.proc.pid is samba's pid and the group leader.
        script = ('mkdir -p /run/samba && mount --bind "$1" /run/samba && '
                  'shift && exec "$@"')
        cmd = [find_tool('unshare'), '--mount', '--propagation', 'private', '--',
               '/bin/sh', '-c', script, 'sh', os.path.join(self.tmpdir, 'run'),
               find_tool('samba'), '-i', '--no-process-group', '-s', self.smb_conf,
               '-d', str(self.debug_level), '--maximum-runtime=%d' % self.max_runtime]
        log = open(self.logfile, 'ab')
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         close_fds=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        want = (self.smb_port, self.kdc_port)
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                tail = self.log_tail()
                self._kill()
                if 'Address already in use' in tail or 'Failed to bind' in tail:
                    raise _PortTaken('ports %s: samba exited %d' % (want, rc))
                raise SambaStartError('samba exited with %d during start-up\n%s' % (rc, tail))
            pids = [p for p, _ in _tree_pids(self.proc.pid, self.tmpdir + os.sep)]
            if all(self._group_listens(p, pids) for p in want):
                try:
                    for p in want:
                        with socket.create_connection((HOST, p), timeout=2):
                            pass
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        tail = self.log_tail()
        self._kill()
        raise SambaStartError('samba did not listen on %s ports %s within %.0f s\n%s' % (
            HOST, want, self.start_timeout, tail))

    def _group_listens(self, port, pids):
        return any(_sf._pid_listens(p, port) for p in pids)

    def _kill(self):
        """Kill the samba tree (see _tree_pids) by process group, then stragglers."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: pgid == pid
        try:
            self.proc.stdin.close()  # samba -i exits on EOF
        except OSError:
            pass
        needle = self.tmpdir + os.sep
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            tree = _tree_pids(pgid, needle)
            if not tree:
                break
            for g in {pg for _, pg in tree} | {pgid}:
                try:
                    os.killpg(g, sig)
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + wait
            while _tree_pids(pgid, needle) and time.monotonic() < deadline:
                time.sleep(0.05)
        _sf._kill_pids([p for p, _ in _tree_pids(pgid, needle)], grace=1.0)
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def mounts(self):
        prefix = self.tmpdir + os.sep
        return [m for _, m, _ in _sf.fuse_mounts() if m.startswith(prefix)]

    def stop(self):
        """Unmount, stop samba and all its processes, remove tmpdir. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            for m in sorted(self.mounts(), key=len, reverse=True):
                _sf.force_unmount(m)
        finally:
            try:
                self._kill()
            finally:
                with _sf._live_lock:
                    _sf._live.discard(self)
                if not self.keep:
                    self._rmtree()

    def _rmtree(self):
        if self.mounts():
            sys.stderr.write('addc: %s still has mounts, left in place\n' % self.tmpdir)
            return

        def onerror(func, path, exc):
            if isinstance(exc[1], OSError) and exc[1].errno == errno.ENOENT:
                return
            sys.stderr.write('addc: cannot remove %s: %s\n' % (path, exc[1]))
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
        return '<SambaADDC %s smb=%s kdc=%s dir=%s>' % (
            self.realm, self.smb_port, self.kdc_port, self.tmpdir)

    # ------------------------------------------------------------ clients

    def kinit(self, user=None, password=None, ccache=None, lifetime=None, timeout=30):
        """Get a TGT (password on stdin) into ccache (default self.ccache).

        Returns the ccache name ('FILE:...'). Raises SambaStartError on
        failure, with kinit's message.
        """
        ccache = ccache or self.ccache
        principal = '%s@%s' % (user or self.user, self.realm)
        cmd = [find_tool('kinit')]
        if lifetime:
            cmd += ['-l', str(lifetime)]
        cmd.append(principal)
        r = subprocess.run(cmd, input=(self.password if password is None else password) + '\n',
                           capture_output=True, text=True, timeout=timeout,
                           env=self.env(ccache), start_new_session=True)
        if r.returncode != 0:
            raise SambaStartError('kinit %s failed (%d): %s' % (principal, r.returncode,
                                                                r.stderr.strip()))
        return ccache

    def kdestroy(self, ccache=None):
        tool = find_tool('kdestroy')
        if tool:
            subprocess.run([tool], env=self.env(ccache), capture_output=True, timeout=30)

    def kvno(self, service_principal, ccache=None):
        """Run kvno (gets a service ticket); CompletedProcess (text)."""
        return subprocess.run([find_tool('kvno'), service_principal], capture_output=True,
                              text=True, timeout=30, env=self.env(ccache))

    def export_keytab(self, path, principal=None):
        """Keys of the DC's machine account (which holds the cifs/ SPNs) into
        a keytab, for a GSS acceptor in tests (e.g. krb5_probe --accept)."""
        self._run([find_tool('samba-tool'), 'domain', 'exportkeytab', path,
                   '--principal=' + (principal or self.netbios_name + '$'),
                   '--configfile=' + self.smb_conf], 'samba-tool domain exportkeytab')
        os.chmod(path, 0o600)
        return path

    def smbclient(self, share, *args, service_host=None, ccache=None, options=(),
                  timeout=60):
        """smbclient with Kerberos only, against a share; CompletedProcess.

        Connects to host:smb_port and asks for cifs/<service_host> (default
        self.service_host). Run kinit() first.
        """
        tool = find_tool('smbclient')
        if not tool:
            raise SambaUnavailable('smbclient not found')
        cmd = [tool, '//%s/%s' % (service_host or self.service_host, share),
               '-I', self.host, '-p', str(self.smb_port), '-s', os.devnull,
               '--use-kerberos=required', '-N']
        cmd += ['--option=%s' % o for o in options]
        cmd += list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=self.env(ccache), stdin=subprocess.DEVNULL)

    def info(self):
        """Plain dict describing the DC (for state files / child processes)."""
        return {'host': self.host, 'smb_port': self.smb_port, 'kdc_port': self.kdc_port,
                'kpasswd_port': self.kpasswd_port, 'realm': self.realm,
                'domain': self.domain, 'service_host': self.service_host,
                'netbios_host': self.netbios_host, 'user': self.user,
                'password': self.password, 'principal': self.principal,
                'krb5_conf': self.krb5_conf, 'ccache': self.ccache,
                'smb_conf': self.smb_conf, 'tmpdir': self.tmpdir,
                'pid': self.proc.pid if self.proc else None,
                'shares': {s: self.share_path(s) for s in ['rw'] + list(self.extra_shares)}}


def _self_check(dc, probe=None):
    """kinit, kvno, smbclient over Kerberos, and optionally krb5_probe runs.
    Prints what it does; returns True when everything behaved."""
    ok = True

    def report(what, good, detail=''):
        nonlocal ok
        ok = ok and good
        print('%s %s%s' % ('PASS' if good else 'FAIL', what,
                            (': ' + detail.strip()) if detail else ''), flush=True)

    dc.kinit()
    report('kinit %s' % dc.principal, True)
    for h in (dc.service_host, dc.netbios_host):
        r = dc.kvno('cifs/%s@%s' % (h, dc.realm))
        report('kvno cifs/%s' % h, r.returncode == 0, r.stdout + r.stderr)
    with open(os.path.join(dc.share_path('rw'), 'hello.txt'), 'w') as f:
        f.write('hello\n')
    r = dc.smbclient('rw', '-c', 'ls; mkdir made-by-krb5')
    report('smbclient //%s/rw -I %s -p %d --use-kerberos=required -c ls' % (
        dc.service_host, dc.host, dc.smb_port),
        r.returncode == 0 and 'hello.txt' in r.stdout and
        os.path.isdir(os.path.join(dc.share_path('rw'), 'made-by-krb5')),
        '' if r.returncode == 0 else r.stdout + r.stderr)
    if not probe:
        return ok

    def run_probe(args, env):
        r = subprocess.run([probe] + args, capture_output=True, text=True, timeout=60,
                           env=env)
        return r.returncode, (r.stdout + r.stderr).strip()

    for h in (dc.service_host, dc.netbios_host):
        rc, out = run_probe([h], dc.env())
        report('krb5_probe %s' % h, rc == 0, out)
    keytab = dc.export_keytab(os.path.join(dc.tmpdir, 'dc.keytab'))
    rc, out = run_probe(['--accept', keytab, dc.service_host], dc.env())
    report('krb5_probe --accept (mutual auth, session keys)', rc == 0 and
           'session key 32 bytes' in out, out)
    rc, out = run_probe([dc.service_host],
                        dc.env(ccache='FILE:' + os.path.join(dc.tmpdir, 'no-such-ccache')))
    report('krb5_probe without a ccache fails with ENOKEY',
           rc == 1 and 'no Kerberos ticket: run kinit' in out, out)
    for h in ('nosuchhost.' + dc.dns_domain, dc.host):
        rc, out = run_probe([h], dc.env())
        report('krb5_probe %s fails with ENOENT' % h,
               rc == 1 and 'unknown to the KDC' in out, out)
    return ok


if __name__ == '__main__':
    # python3 addc.py [--check [--probe PATH]]: run a DC until Ctrl-C, or
    # check it (and krb5_probe, when given) and exit 0/1.
    import argparse
    import json
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true',
                    help='kinit, kvno cifs/<host>, smbclient ls, then stop')
    ap.add_argument('--probe', metavar='PATH',
                    help='with --check: also run this krb5_probe binary')
    a = ap.parse_args()
    try:
        t0 = time.monotonic()
        with SambaADDC() as dc:
            print('up in %.1f s (provision %.1f s)' % (time.monotonic() - t0,
                                                       dc.provision_seconds), file=sys.stderr)
            info = dc.info()
            if a.check:
                info.pop('password')
            print(json.dumps(info, indent=2), flush=True)
            if a.check:
                sys.exit(0 if _self_check(dc, a.probe) else 1)
            print('Ctrl-C to stop', file=sys.stderr)
            while dc.running:
                time.sleep(1)
            print(dc.log_tail(), file=sys.stderr)
    except SambaUnavailable as e:
        print('addc: %s' % e, file=sys.stderr)
        sys.exit(77)
