"""Real programs on the mount: cp -a, tar x / tar c, rsync -a, git, make.

Each builds or copies something on the mount the way people do and checks
the result against a local copy (diff -r) or the program's own view of it
(git status, make -q, a second rsync that has nothing to do). Files are
compared on the server's disk too where that says more.
"""

import os
import shutil
import subprocess
import time

import harness


def _run(argv, cwd=None, env=None, timeout=120, ok=True):
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if ok:
        assert r.returncode == 0, '%s failed (%d):\n%s%s' % (' '.join(argv), r.returncode,
                                                              r.stdout, r.stderr)
    return r


def _need(t, *tools):
    for tool in tools:
        if not shutil.which(tool):
            t.skip('%s is not installed (contrib/install-deps.sh)' % tool)


def _tree(root):
    """A small source tree: nested directories, empty, small and 1 MiB files,
    names with spaces and UTF-8, a relative symlink, one old mtime."""
    os.makedirs(os.path.join(root, 'a', 'b', 'c'))
    os.makedirs(os.path.join(root, 'empty dir'))
    files = {
        'top.txt': b'top\n',
        'empty': b'',
        'a/one.bin': os.urandom(4096),
        'a/b/big.bin': os.urandom(1024 * 1024 + 17),
        'a/b/c/deep.txt': b'deep\n' * 100,
        'a/b/caf\u00e9 \u00fc.txt': b'unicode\n',
    }
    for rel, data in files.items():
        with open(os.path.join(root, rel), 'wb') as f:
            f.write(data)
    os.symlink('b/c/deep.txt', os.path.join(root, 'a', 'link'))
    os.utime(os.path.join(root, 'top.txt'), (1_000_000_000, 1_000_000_000))
    return files


def _diff(a, b):
    r = _run(['diff', '-r', '--no-dereference', a, b], ok=False)
    assert r.returncode == 0, 'diff -r %s %s:\n%s%s' % (a, b, r.stdout, r.stderr)


def _mtimes(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = int(st.st_mtime)
    return out


# ------------------------------------------------------------------ copies and archives

def test_cp_a_tree(t):
    """cp -a keeps contents, symlinks (mfsymlinks) and modification times."""
    mnt = t.mount('rw', 'mfsymlinks')
    src = t.new_mountpoint('src')
    _tree(src)
    _run(['cp', '-a', src, mnt + '/copy'])
    _diff(src, mnt + '/copy')
    assert os.readlink(mnt + '/copy/a/link') == 'b/c/deep.txt'
    assert _mtimes(mnt + '/copy') == _mtimes(src)
    assert os.path.getsize(os.path.join(t.share_path('rw'), 'copy/a/b/big.bin')) == \
        1024 * 1024 + 17
    t.umount(mnt)


def test_tar_x_then_c_round_trip(t):
    """A tarball extracted onto the mount and archived again from it holds
    the same files, symlink and mtimes."""
    mnt = t.mount('rw', 'mfsymlinks')
    src = t.new_mountpoint('src')
    _tree(src)
    work = t.new_mountpoint('work')
    _run(['tar', '-C', src, '-cf', work + '/in.tar', '.'])
    os.mkdir(mnt + '/x')
    _run(['tar', '-C', mnt + '/x', '-xf', work + '/in.tar'])
    _diff(src, mnt + '/x')
    _run(['tar', '-C', mnt + '/x', '-cf', work + '/out.tar', '.'])
    back = os.path.join(work, 'back')
    os.mkdir(back)
    _run(['tar', '-C', back, '-xf', work + '/out.tar'])
    _diff(src, back)
    assert _mtimes(back) == _mtimes(src)
    listing_in = _run(['tar', '-tvf', work + '/in.tar']).stdout.split('\n')
    listing_out = _run(['tar', '-tvf', work + '/out.tar']).stdout.split('\n')
    # names, sizes, mtimes and the symlink agree (modes follow file_mode/dir_mode)
    strip = lambda lines: sorted(' '.join(ln.split()[2:]) for ln in lines if ln)
    assert strip(listing_in) == strip(listing_out)
    t.umount(mnt)


def test_rsync_a_tree(t):
    """rsync -a to the mount, diff -r, and a second rsync finds nothing to
    send (sizes and mtimes came through); a changed file is sent again."""
    _need(t, 'rsync')
    mnt = t.mount('rw', 'mfsymlinks')
    src = t.new_mountpoint('src')
    _tree(src)
    _run(['rsync', '-a', src + '/', mnt + '/dst/'])
    _diff(src, mnt + '/dst')
    assert _mtimes(mnt + '/dst') == _mtimes(src)
    # --no-perms: permission bits beyond the write bit are not stored (file_mode)
    r = _run(['rsync', '-a', '--no-perms', '--itemize-changes', src + '/', mnt + '/dst/'])
    assert r.stdout.strip() == '', 'second rsync sent:\n' + r.stdout
    with open(src + '/a/one.bin', 'ab') as f:
        f.write(b'more')
    r = _run(['rsync', '-a', '--no-perms', '--itemize-changes', src + '/', mnt + '/dst/'])
    assert [ln.split()[-1] for ln in r.stdout.splitlines()] == ['a/one.bin'], r.stdout
    _diff(src, mnt + '/dst')
    # and back from the mount
    back = t.new_mountpoint('back')
    _run(['rsync', '-a', mnt + '/dst/', back + '/'])
    _diff(src, back)
    t.umount(mnt)


# ------------------------------------------------------------------ git

@harness.timeout(180)
def test_git_repository_on_the_mount(t):
    """git init, add, commit, status, a branch and checkout, fsck, and a
    clone from the mount: git's lock files, renames, chmod of objects and
    index timestamps all work."""
    _need(t, 'git')
    mnt = t.mount('rw', 'mfsymlinks')
    home = t.new_mountpoint('home')
    env = dict(os.environ, HOME=home, GIT_CONFIG_NOSYSTEM='1', LC_ALL='C',
               GIT_AUTHOR_DATE='2024-01-01T00:00:00Z', GIT_COMMITTER_DATE='2024-01-01T00:00:00Z')
    git = ['git', '-c', 'user.name=smbfuse test', '-c', 'user.email=test@smbfuse.invalid',
           '-c', 'init.defaultBranch=main', '-c', 'safe.directory=*']
    repo = mnt + '/repo'
    os.mkdir(repo)
    _run(git + ['init', '-q'], cwd=repo, env=env)
    _tree(repo)
    _run(git + ['add', '-A'], cwd=repo, env=env)
    _run(git + ['commit', '-q', '-m', 'first'], cwd=repo, env=env)
    assert _run(git + ['status', '--porcelain'], cwd=repo, env=env).stdout == ''
    # a change is seen, committed on a branch, and checkout switches contents
    _run(git + ['checkout', '-q', '-b', 'topic'], cwd=repo, env=env)
    with open(repo + '/top.txt', 'a') as f:
        f.write('changed\n')
    assert _run(git + ['status', '--porcelain'], cwd=repo, env=env).stdout == ' M top.txt\n'
    _run(git + ['commit', '-q', '-am', 'second'], cwd=repo, env=env)
    _run(git + ['checkout', '-q', 'main'], cwd=repo, env=env)
    with open(repo + '/top.txt') as f:
        assert f.read() == 'top\n'
    assert _run(git + ['status', '--porcelain'], cwd=repo, env=env).stdout == ''
    _run(git + ['fsck', '--strict'], cwd=repo, env=env)
    log = _run(git + ['log', '--oneline', '--all'], cwd=repo, env=env).stdout
    assert len(log.splitlines()) == 2, log
    # the symlink is committed as a symlink (mode 120000)
    tree = _run(git + ['ls-tree', '-r', 'HEAD'], cwd=repo, env=env).stdout
    assert any(ln.startswith('120000') and ln.endswith('\ta/link') for ln in tree.splitlines())
    # a clone off the mount has the same files
    clone = os.path.join(home, 'clone')
    _run(git + ['clone', '-q', repo, clone], env=env)
    _diff(os.path.join(clone, 'a'), repo + '/a')
    t.umount(mnt)


# ------------------------------------------------------------------ make

MAKEFILE = '''\
prog: main.o util.o
\tcc -o prog main.o util.o
%.o: %.c util.h
\tcc -c -o $@ $<
'''
MAIN_C = '''\
#include <stdio.h>
#include "util.h"
int main(void) { printf("%d\\n", twice(21)); return 0; }
'''
UTIL_C = '''\
#include "util.h"
int twice(int x) { return VALUE * x; }
'''


def test_make_c_project(t):
    """make builds a two-file C program on the mount; the binary runs; a
    second make has nothing to do (mtimes are right); touching one source
    rebuilds only what depends on it."""
    _need(t, 'make', 'cc')
    mnt = t.mount('rw')
    d = mnt + '/proj'
    os.mkdir(d)
    for name, text in (('Makefile', MAKEFILE), ('main.c', MAIN_C), ('util.c', UTIL_C),
                       ('util.h', '#define VALUE 2\nint twice(int x);\n')):
        with open(os.path.join(d, name), 'w') as f:
            f.write(text)
    old = time.time() - 100  # sources older than anything make writes
    for name in ('Makefile', 'main.c', 'util.c', 'util.h'):
        os.utime(os.path.join(d, name), (old, old))
    _run(['make'], cwd=d)
    assert _run([d + '/prog']).stdout == '42\n'  # file_mode 0755: executable
    r = _run(['make'], cwd=d)
    assert 'Nothing to be done' in r.stdout or 'up to date' in r.stdout, r.stdout
    assert _run(['make', '-q'], cwd=d, ok=False).returncode == 0
    # a newer source: only its object and the program are rebuilt
    os.utime(d + '/util.c')
    r = _run(['make'], cwd=d)
    assert 'util.c' in r.stdout and 'main.c' not in r.stdout, r.stdout
    assert _run(['make', '-q'], cwd=d, ok=False).returncode == 0
    # and a changed header rebuilds both
    with open(d + '/util.h', 'w') as f:
        f.write('#define VALUE 3\nint twice(int x);\n')
    r = _run(['make'], cwd=d)
    assert 'main.c' in r.stdout and 'util.c' in r.stdout, r.stdout
    assert _run([d + '/prog']).stdout == '63\n'
    assert os.path.exists(os.path.join(t.share_path('rw'), 'proj', 'prog'))
    t.umount(mnt)
