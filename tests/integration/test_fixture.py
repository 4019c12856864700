"""The Samba fixture itself, checked with smbclient (no smbfuse involved).

If these fail, every other integration failure is suspect.
"""

import os
import subprocess

from smbfixture import find_tool, smb2_negotiate


def _smbclient(t, share, *args, server='main', password=None):
    tool = find_tool('smbclient')
    if not tool:
        t.skip('smbclient not installed')
    s = t.server(server)
    env = dict(os.environ, PASSWD=s.password if password is None else password)
    r = subprocess.run([tool, '//%s/%s' % (s.host, share), '-p', str(s.port), '-U', s.user,
                        '-s', os.devnull] + list(args),
                       capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout + r.stderr


def test_fixture_shares(t):
    for server in ('main', 'signing'):
        for share in ('rw', 'ro', 'signed', 'sealed'):
            t.write_server(share, 'probe.txt', 'probe\n', server=server)
            rc, out = _smbclient(t, share, '-c', 'ls', server=server)
            assert rc == 0 and 'probe.txt' in out, '%s/%s: %s' % (server, share, out)
    rc, out = _smbclient(t, 'rw', '--option=client min protocol=SMB3', '-c', 'ls')
    assert rc == 0, out


def test_fixture_rejects(t):
    rc, out = _smbclient(t, 'rw', '-c', 'ls', password='wrong-password')
    assert rc != 0 and 'LOGON_FAILURE' in out, out
    rc, out = _smbclient(t, 'nosuchshare', '-c', 'ls')
    assert rc != 0 and 'BAD_NETWORK_NAME' in out, out
    rc, out = _smbclient(t, 'ro', '-c', 'mkdir x')
    assert 'ACCESS_DENIED' in out or 'MEDIA_WRITE_PROTECTED' in out, out
    # rw really is writable
    rc, out = _smbclient(t, 'rw', '-c', 'mkdir made-by-smbclient')
    assert rc == 0 and os.path.isdir(os.path.join(t.share_path('rw'), 'made-by-smbclient')), out


def test_fixture_sealed_needs_encryption(t):
    # SMB 2.1 cannot encrypt: the tree connect must be refused.
    rc, out = _smbclient(t, 'sealed', '--option=client max protocol=SMB2_10', '-c', 'ls')
    assert rc != 0 and 'ACCESS_DENIED' in out, out
    rc, out = _smbclient(t, 'sealed', '--client-protection=encrypt', '-c', 'ls')
    assert rc == 0, out
    rc, out = _smbclient(t, 'rw', '--option=client max protocol=SMB2_10', '-c', 'ls')
    assert rc == 0, 'plain shares must not need encryption: ' + out


def test_fixture_signing(t):
    main = smb2_negotiate('127.0.0.1', t.server('main').port)
    signing = smb2_negotiate('127.0.0.1', t.server('signing').port)
    assert main['status'] == 0 and signing['status'] == 0
    assert not main['signing_required'], main
    assert signing['signing_required'], signing
    rc, out = _smbclient(t, 'signed', '-c', 'ls', server='signing')
    assert rc == 0, out
