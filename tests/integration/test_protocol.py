"""Protocol depth against a real Samba: every dialect, signing and cipher
algorithm, and the downgrade and tampering protections.

Servers restricted to one algorithm prove that algorithm works end to end:
there is nothing else the two sides could have agreed on.
"""

import os
import struct

import harness
from smbfixture import SambaServer
from tamperproxy import TamperProxy, commands

NEGOTIATE, TREE_CONNECT = 0, 3


def _roundtrip(t, mnt, tag):
    data = os.urandom(300000)
    with open(os.path.join(mnt, tag + '.bin'), 'wb') as f:
        f.write(data)
    with open(os.path.join(mnt, tag + '.bin'), 'rb') as f:
        assert f.read() == data, '%s: read back differs' % tag


def _server_mount(t, srv, share, *opts):
    unc = '//127.0.0.1:%d/%s' % (srv.port, share)
    return t.mount(share, *opts, unc=unc, user=srv.user, password=srv.password)


def test_every_dialect_signed(t):
    for vers in ('2.0', '2.1', '3.0', '3.02', '3.1.1'):
        mnt = t.mount('rw', 'vers=' + vers, 'sign')
        _roundtrip(t, mnt, 'v' + vers)
        t.umount(mnt)


@harness.timeout(120)
def test_each_signing_algorithm(t):
    for alg in ('AES-128-GMAC', 'AES-128-CMAC', 'HMAC-SHA256'):
        with SambaServer(signing='mandatory',
                         extra_global={'server smb3 signing algorithms': alg}) as srv:
            mnt = _server_mount(t, srv, 'rw', 'vers=3.1.1')
            _roundtrip(t, mnt, alg)
            t.umount(mnt)


@harness.timeout(120)
def test_each_cipher(t):
    for cipher in ('AES-128-GCM', 'AES-128-CCM', 'AES-256-GCM', 'AES-256-CCM'):
        with SambaServer(extra_global={'server smb3 encryption algorithms': cipher}) as srv:
            mnt = _server_mount(t, srv, 'sealed', 'vers=3.1.1')
            _roundtrip(t, mnt, cipher)
            t.umount(mnt)
    # 3.0 and 3.0.2 know only AES-128-CCM
    for vers in ('3.0', '3.02'):
        mnt = t.mount('rw', 'vers=' + vers, 'seal')
        _roundtrip(t, mnt, 'seal' + vers)
        t.umount(mnt)


def test_seal_refused_without_smb3(t):
    r = t.try_mount('rw', 'vers=2.1', 'seal')
    assert r.rc != 0 and not r.mounted
    assert 'encrypt' in r.stderr.lower(), 'unclear error: %r' % r.stderr


def _downgrade(frame):
    """Rewrite 3.1.1 out of the client's NEGOTIATE (a man in the middle)."""
    if commands(frame)[:1] != [NEGOTIATE] or len(frame) < 64 + 36:
        return None
    count = struct.unpack_from('<H', frame, 64 + 2)[0]
    out = bytearray(frame)
    for i in range(count):
        off = 64 + 36 + 2 * i
        if struct.unpack_from('<H', out, off)[0] == 0x0311:
            struct.pack_into('<H', out, off, 0x0302)
    return bytes(out)


def test_downgrade_is_detected(t):
    with TamperProxy(t.srv.port, c2s=_downgrade) as p:
        r = t.try_mount('rw', unc='//127.0.0.1:%d/rw' % p.port)
        assert r.rc != 0, 'a negotiation downgraded to 3.0.2 was accepted'
        assert not r.mounted
        assert 'validat' in r.stderr.lower(), 'not caught by VALIDATE_NEGOTIATE: %r' % r.stderr
        # and without the tampering the same path works
    with TamperProxy(t.srv.port) as p:
        mnt = t.mount('rw', unc='//127.0.0.1:%d/rw' % p.port)
        t.umount(mnt)


def test_tampered_signed_response_rejected(t):
    state = {'done': False}

    def corrupt(frame):
        # flip one bit in the body of the (signed) TREE_CONNECT response
        if not state['done'] and commands(frame)[:1] == [TREE_CONNECT]:
            state['done'] = True
            out = bytearray(frame)
            out[64 + 4] ^= 0x01
            return bytes(out)
        return None

    with TamperProxy(t.srv.port, s2c=corrupt) as p:
        r = t.try_mount('rw', 'vers=3.1.1', unc='//127.0.0.1:%d/rw' % p.port)
        assert state['done'], 'no TREE_CONNECT response went through the proxy'
        assert r.rc != 0 and not r.mounted, 'a response with a bad signature was accepted'
