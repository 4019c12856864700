"""Kerberos: sec=krb5/krb5i against a real KDC (a Samba AD DC on loopback).

The DC is provisioned for this file's tests (a few seconds). The client gets
a ticket with kinit into a private credential cache; smbfuse finds it through
KRB5CCNAME and asks for cifs/<server name>, connecting to ip=127.0.0.1.
"""

import os
import subprocess
import time

import harness
from harness import mounted_type

try:
    from addc import SambaADDC, addc_available
except ImportError:  # pragma: no cover
    SambaADDC = None


def _need_dc(t):
    if SambaADDC is None:
        t.skip('addc fixture missing')
    why = addc_available()
    if why:
        t.skip(why)


def _mount(t, dc, mnt, extra='', env=None):
    opts = 'ip=127.0.0.1,port=%d,sec=krb5' % dc.smb_port
    if extra:
        opts += ',' + extra
    rc, out, err = t.run_smbfuse(['//%s/rw' % dc.service_host, mnt, '-o', opts],
                                 env=env or dc.env())
    deadline = time.monotonic() + 10
    while rc == 0 and mounted_type(mnt) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return rc, err


@harness.timeout(240)
def test_krb5_mount_read_write(t):
    _need_dc(t)
    with SambaADDC() as dc:
        dc.kinit()
        data = os.urandom(2 * 1024 * 1024 + 3)
        with open(os.path.join(dc.share_path('rw'), 'k.bin'), 'wb') as f:
            f.write(data)
        for extra in ('', 'vers=2.1', 'vers=3.0', 'sec=krb5i', 'seal'):
            mnt = t.new_mountpoint('k')
            rc, err = _mount(t, dc, mnt, extra)
            assert rc == 0, 'krb5 mount (%s) failed: %s' % (extra or 'default', err)
            assert 'k.bin' in os.listdir(mnt)
            with open(mnt + '/k.bin', 'rb') as f:
                assert f.read() == data, 'read over Kerberos (%s) differs' % extra
            name = 'w-%s.txt' % (extra.replace('=', '') or 'default')
            with open(os.path.join(mnt, name), 'w') as f:
                f.write('written with Kerberos\n')
            with open(os.path.join(dc.share_path('rw'), name)) as f:
                assert f.read() == 'written with Kerberos\n'
            t.umount(mnt)


@harness.timeout(240)
def test_krb5_errors(t):
    _need_dc(t)
    with SambaADDC() as dc:
        # no ticket in the cache
        env = dc.env()
        env['KRB5CCNAME'] = 'FILE:' + os.path.join(t.new_mountpoint('cc'), 'none')
        mnt = t.new_mountpoint('e')
        rc, err = _mount(t, dc, mnt, env=env)
        assert rc != 0, 'mount without a ticket succeeded'
        assert 'kinit' in err or 'ticket' in err.lower(), 'unclear error: %r' % err
        assert mounted_type(mnt) is None
        # a service the KDC does not know
        dc.kinit()
        rc, out, err = t.run_smbfuse(['//nosuchhost.smbf.test/rw', mnt, '-o',
                                      'ip=127.0.0.1,port=%d,sec=krb5' % dc.smb_port],
                                     env=dc.env())
        assert rc != 0
        assert 'unknown to the KDC' in err or 'not found' in err, 'unclear error: %r' % err
        assert mounted_type(mnt) is None
