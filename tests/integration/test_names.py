"""Names: the characters SMB forbids (refused, or mapped with mapposix /
mapchars as mount.cifs does) and a directory of 100,000 entries listed
completely.

The fixture's Samba stores names as UTF-8 on its disk and has no vfs_catia
or vfs_fruit, so a private-use character the client sends is what lands in
the share's directory: the tests read the mapping straight off the server's
disk.
"""

import errno
import os
import subprocess
import time

import harness

# cifs.ko fs/smb/client/cifs_unicode.h: SFM_* (mapposix) and UNI_* (mapchars).
SFM = {'"': '\uf020', '*': '\uf021', ':': '\uf022', '<': '\uf023', '>': '\uf024',
       '?': '\uf025', '\\': '\uf026', '|': '\uf027'}
SFM.update({chr(c): chr(0xf000 + c) for c in range(1, 0x20)})
SFU = {':': '\uf03a', '*': '\uf02a', '?': '\uf03f', '<': '\uf03c', '>': '\uf03e', '|': '\uf07c'}


def sfm(name):
    """The server spelling of one name under mapposix (final space/period too)."""
    out = ''.join(SFM.get(c, c) for c in name)
    if out.endswith(' '):
        out = out[:-1] + '\uf028'
    elif out.endswith('.'):
        out = out[:-1] + '\uf029'
    return out


def sfu(name):
    return ''.join(SFU.get(c, c) for c in name)


def _srv(t, rel=''):
    return os.path.join(t.share_path('rw'), rel)


def _raises(err, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == err, '%s%r: expected %s, got %r' % (
            fn.__name__, args, errno.errorcode[err], e)
        return
    raise AssertionError('%s%r succeeded, expected %s' % (fn.__name__, args,
                                                          errno.errorcode[err]))


def _write(path, data):
    with open(path, 'w') as f:
        f.write(data)


def _read(path):
    with open(path) as f:
        return f.read()


# ------------------------------------------------------------------ any Unicode

UNICODE_NAMES = [
    'caf\u00e9 \u00fcber na\u00efve.txt',       # Latin-1 accents
    '\u540d\u524d\u30d5\u30a1\u30a4\u30eb.txt',  # CJK (3-byte UTF-8)
    '\U0001f600 smile \U0001f680.txt',           # outside the BMP: UTF-16 surrogate pairs
    '\U0001d11e clef \U00010348.txt',            # more astral characters
    '\u0645\u0631\u062d\u0628\u0627.txt',          # right-to-left
    'e\u0301 combining.txt',                      # a combining accent (kept as given)
]


def test_unicode_names_round_trip(t):
    """Names with any Unicode, surrogate pairs included, are created, listed,
    renamed and removed through the mount, and are the same UTF-8 bytes on
    the server's disk."""
    mnt = t.mount('rw')
    d = mnt + '/uni'
    os.mkdir(d)
    for i, name in enumerate(UNICODE_NAMES):
        _write(os.path.join(d, name), 'content %d' % i)
    assert sorted(os.listdir(d)) == sorted(UNICODE_NAMES)
    assert sorted(os.listdir(_srv(t, 'uni'))) == sorted(UNICODE_NAMES)
    for i, name in enumerate(UNICODE_NAMES):
        assert _read(os.path.join(d, name)) == 'content %d' % i
        assert os.stat(os.path.join(d, name)).st_size == len('content %d' % i)
    # rename each into a directory with an astral name, then remove it all
    sub = os.path.join(d, '\U0001f4c1 folder')
    os.mkdir(sub)
    for name in UNICODE_NAMES:
        os.rename(os.path.join(d, name), os.path.join(sub, '\u2192' + name))
    assert sorted(os.listdir(_srv(t, 'uni/\U0001f4c1 folder'))) == \
        sorted('\u2192' + n for n in UNICODE_NAMES)
    for name in UNICODE_NAMES:
        os.unlink(os.path.join(sub, '\u2192' + name))
    os.rmdir(sub)
    os.rmdir(d)
    assert not os.path.exists(_srv(t, 'uni'))
    t.umount(mnt)


# ------------------------------------------------------------------ forbidden characters

def test_forbidden_names_refused_without_mapping(t):
    """No mapping option: every name with a character SMB forbids fails with
    EINVAL on create, mkdir, rename, link and symlink (ENOENT on lookup: it
    cannot exist), and nothing reaches the server. A trailing space or period is no forbidden character."""
    mnt = t.mount('rw', 'mfsymlinks')
    _write(mnt + '/ok', 'x')
    for c in '":*?<>|\\\x01\x1f':
        name = 'a%sb' % c
        _raises(errno.EINVAL, open, mnt + '/' + name, 'w')
        _raises(errno.EINVAL, os.mkdir, mnt + '/' + name)
        _raises(errno.EINVAL, os.rename, mnt + '/ok', mnt + '/' + name)
        _raises(errno.EINVAL, os.link, mnt + '/ok', mnt + '/' + name)
        _raises(errno.EINVAL, os.symlink, 'ok', mnt + '/' + name)
        _raises(errno.ENOENT, os.stat, mnt + '/' + name)  # no such name can exist
    assert os.listdir(_srv(t)) == ['ok']
    # no mapping back either: a private-use name on the server is shown as it is
    t.write_server('rw', 'raw\uf022name', b'r')
    assert sorted(os.listdir(mnt)) == ['ok', 'raw\uf022name']
    assert _read(mnt + '/raw\uf022name') == 'r'
    # A final space or period is stored as it is; Samba (mangled names = yes)
    # then lists such a name under an 8.3 name: mapposix avoids that.
    _write(mnt + '/dot.', 'd')
    assert sorted(os.listdir(_srv(t))) == ['dot.', 'ok', 'raw\uf022name']
    assert _read(mnt + '/dot.') == 'd'
    t.umount(mnt)


def test_mapposix_round_trip(t):
    """mapposix: names with forbidden characters are stored with the SFM
    private-use characters and work through create, stat, listing (readdir
    and readdirplus), rename, link, mkdir, rmdir and unlink."""
    mnt = t.mount('rw', 'mapposix')
    names = ['a:b?c', 'q"u*o<t>e|', 'back\\slash', 'ends.', 'ends ', 'ctl\x01\x1fx',
             'mid. dle']
    for n in names:
        _write(mnt + '/' + n, n)
    os.mkdir(mnt + '/d:ir?')
    _write(mnt + '/d:ir?/in|side', 'inside')
    # the server's disk holds the mapped names
    assert sorted(os.listdir(_srv(t))) == sorted([sfm(n) for n in names] + [sfm('d:ir?')])
    assert os.listdir(_srv(t, sfm('d:ir?'))) == [sfm('in|side')]
    assert sfm('ends.') == 'ends\uf029' and sfm('mid. dle') == 'mid. dle'
    # and the mount shows the originals, with attributes from the listing
    assert sorted(os.listdir(mnt)) == sorted(names + ['d:ir?'])
    with os.scandir(mnt) as it:
        seen = {e.name: e.stat().st_size for e in it}
    assert seen == dict({n: len(n) for n in names}, **{'d:ir?': seen['d:ir?']})
    for n in names:
        assert _read(mnt + '/' + n) == n
        assert os.stat(mnt + '/' + n).st_size == len(n)
    r = subprocess.run(['ls', '-la', mnt + '/d:ir?'], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and 'in|side' in r.stdout, r
    # rename (file and directory), link, unlink, rmdir
    os.rename(mnt + '/a:b?c', mnt + '/x<y>z')
    os.rename(mnt + '/d:ir?', mnt + '/d|2')
    os.link(mnt + '/x<y>z', mnt + '/l*k')
    assert os.stat(mnt + '/l*k').st_nlink == 2
    assert _read(mnt + '/d|2/in|side') == 'inside'
    srv = set(os.listdir(_srv(t)))
    assert {sfm('x<y>z'), sfm('d|2'), sfm('l*k')} <= srv and sfm('a:b?c') not in srv, srv
    os.unlink(mnt + '/d|2/in|side')
    os.rmdir(mnt + '/d|2')
    os.unlink(mnt + '/l*k')
    for n in names[1:]:
        os.unlink(mnt + '/' + n)
    assert os.listdir(mnt) == ['x<y>z']
    assert os.listdir(_srv(t)) == [sfm('x<y>z')]
    # a name another SFM client (macOS) stored is shown with the originals
    t.write_server('rw', 'mac\uf022made\uf029', b'mac')
    assert _read(mnt + '/mac:made.') == 'mac'
    # a mapped space/period inside a name is no SFM form: shown as it is
    t.write_server('rw', 'in\uf029side', b'i')
    assert 'in\uf029side' in os.listdir(mnt)
    assert _read(mnt + '/in\uf029side') == 'i'
    t.umount(mnt)


def test_mapchars_round_trip(t):
    """mapchars: the Services for Unix forms (U+F000 + the character) for
    : * ? < > |; '"', '\\' and control characters have none and stay refused."""
    mnt = t.mount('rw', 'mapchars')
    _write(mnt + '/a:b*c?d<e>f|g', 'sfu')
    os.mkdir(mnt + '/dir:1')
    os.rename(mnt + '/a:b*c?d<e>f|g', mnt + '/dir:1/n?ame')
    assert os.listdir(_srv(t)) == [sfu('dir:1')] == ['dir\uf03a1']
    assert os.listdir(_srv(t, 'dir\uf03a1')) == ['n\uf03fame']
    assert os.listdir(mnt + '/dir:1') == ['n?ame']
    assert _read(mnt + '/dir:1/n?ame') == 'sfu'
    for c in '"\\\x01':
        _raises(errno.EINVAL, open, mnt + '/x%sy' % c, 'w')
    # a trailing period is left to the server
    _write(mnt + '/end.', 'e')
    assert 'end.' in os.listdir(_srv(t))
    # SFM forms mean nothing here
    t.write_server('rw', 'f\uf022', b'f')
    assert 'f\uf022' in os.listdir(mnt)
    t.umount(mnt)
    # the last of mapchars / mapposix wins
    mnt = t.mount('rw', 'mapchars', 'mapposix')
    _write(mnt + '/p:q', 'p')
    assert sfm('p:q') in os.listdir(_srv(t))
    t.umount(mnt)


# ------------------------------------------------------------------ large directories

@harness.timeout(240)
def test_directory_of_100k_entries(t):
    """100,000 entries created on the server are listed completely through
    the mount: readdir (os.listdir), readdirplus with attributes
    (os.scandir + stat), and ls -a with . and .. (the client stops a listing
    at 2^20 entries). Measured: the listing takes about 2.5 s, as much under
    ASan; creating and removing the files on the server's disk costs more."""
    count = 100000
    d = _srv(t, 'big')
    os.mkdir(d)
    names = ['f%06d' % i for i in range(count)]
    t0 = time.monotonic()
    for n in names:
        os.close(os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY, 0o644))
    with open(os.path.join(d, names[7]), 'wb') as f:
        f.write(b'seven')  # one size the listing must carry
    create_s = time.monotonic() - t0
    mnt = t.mount('rw')
    try:
        t0 = time.monotonic()
        listed = os.listdir(mnt + '/big')
        list_s = time.monotonic() - t0
        assert len(listed) == count, len(listed)
        assert set(listed) == set(names)
        t0 = time.monotonic()
        sizes = {}
        with os.scandir(mnt + '/big') as it:
            for e in it:
                sizes[e.name] = e.stat(follow_symlinks=False).st_size
        scan_s = time.monotonic() - t0
        assert len(sizes) == count and set(sizes) == set(names)
        assert sizes[names[7]] == 5 and sizes[names[8]] == 0
        r = subprocess.run(['ls', '-a', '-f', mnt + '/big'], capture_output=True, text=True,
                           timeout=180)
        assert r.returncode == 0, r.stderr
        out = r.stdout.split('\n')[:-1]
        assert len(out) == count + 2, len(out)
        assert '.' in out and '..' in out
        assert set(out) - {'.', '..'} == set(names)
        print('%d entries: created on the server in %.1f s, listdir %.1f s, scandir+stat %.1f s'
              % (count, create_s, list_s, scan_s))
        t.umount(mnt)
    finally:
        for n in names:
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
