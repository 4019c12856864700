#!/usr/bin/env python3
"""Run a private demo Samba on 127.0.0.1 in the background (for contrib/demo.sh).

    demo_server.py start --state FILE [--mount MNT] [--base DIR]
    demo_server.py stop  --state FILE
    demo_server.py status --state FILE

start daemonizes a tests/integration/smbfixture.SambaServer, fills its `rw`
share with sample files and writes FILE (mode 0600) as JSON: pid, port, host,
user, password, tmpdir, share paths, mount. stop unmounts MNT (if given at
start), stops smbd and removes everything the server created.
"""

import argparse
import json
import os
import shutil
import signal
import struct
import sys
import time
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))

import smbfixture  # noqa: E402


def png(width, height):
    """A small RGB gradient PNG, built with zlib only."""
    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    rows = b''.join(
        b'\0' + bytes(v for x in range(width)
                      for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height))
    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b''))


def make_samples(root):
    files = {
        'README.txt': ('This directory is an SMB share served by a private Samba on\n'
                       '127.0.0.1 and mounted with smbfuse. Edit, copy and list away.\n'),
        'photos/gradient.png': png(64, 64),
        'docs/notes/todo.txt': '- try ls -l\n- cat this file\n- cp a large file in\n',
        'docs/numbers.csv': ''.join('%d,%d\n' % (i, i * i) for i in range(1000)),
        'data/random.bin': os.urandom(256 * 1024),
    }
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)


def write_state(path, state):
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(state, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


def read_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_ours(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return b'demo_server.py' in f.read()
    except OSError:
        return False


def serve(args, wfd):
    """Body of the daemon: start the server, report over wfd, wait."""
    try:
        srv = smbfixture.SambaServer(base_dir=args.base)
        if args.mount:
            srv.track_mount(args.mount)
        make_samples(srv.share_path('rw'))
        state = srv.info()
        state.update(pid=os.getpid(), smbd_pid=srv.proc.pid,
                     mount=args.mount,
                     log=srv.logfile)
        write_state(args.state, state)
    except Exception as e:
        os.write(wfd, ('error: %s\n' % e).encode())
        os._exit(1)
    os.write(wfd, b'ok\n')
    os.close(wfd)
    # SIGTERM/SIGINT/SIGHUP run smbfixture's cleanup, which unmounts, stops
    # smbd and removes the directory, then terminates us.
    while srv.running:
        time.sleep(1)
    sys.stderr.write('smbd exited:\n%s\n' % srv.log_tail())
    srv.stop()


def cmd_start(args):
    if args.base:
        os.makedirs(args.base, exist_ok=True)
    old = read_state(args.state)
    if old and is_ours(old.get('pid', 0)):
        print('demo server already running (pid %d, port %d)' % (old['pid'], old['port']),
              file=sys.stderr)
        return 1
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # first child: new session, fork the daemon, exit
        os.close(rfd)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        logpath = os.path.splitext(args.state)[0] + '.log'
        fd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir('/')
        try:
            serve(args, wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    os.waitpid(pid, 0)
    msg = b''
    while True:
        chunk = os.read(rfd, 4096)
        if not chunk:
            break
        msg += chunk
    os.close(rfd)
    if not msg.startswith(b'ok'):
        print('demo server failed to start: %s' % (msg.decode().strip() or 'no reason given'),
              file=sys.stderr)
        return 1
    st = read_state(args.state)
    print('demo Samba on %s:%d (pid %d), state in %s' % (st['host'], st['port'], st['pid'],
                                                         args.state))
    return 0


def cmd_stop(args):
    st = read_state(args.state)
    if not st:
        print('no demo server state in %s' % args.state)
        return 0
    pid = st.get('pid')
    if pid and is_ours(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while is_ours(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_ours(pid):
            os.kill(pid, signal.SIGKILL)
    # Whatever the daemon could not clean up (it was killed, or died).
    if st.get('mount'):
        smbfixture.force_unmount(st['mount'])
    tmpdir = st.get('tmpdir')
    if tmpdir and os.path.isdir(tmpdir):
        prefix = tmpdir.rstrip('/') + '/'
        for _, m, _ in smbfixture.fuse_mounts():
            if m.startswith(prefix):
                smbfixture.force_unmount(m)
        smbfixture._kill_pids(smbfixture._pids_with_arg(prefix))
        if not any(m.startswith(prefix) for _, m, _ in smbfixture.fuse_mounts()):
            shutil.rmtree(tmpdir, ignore_errors=True)
    for p in (args.state, os.path.splitext(args.state)[0] + '.log'):
        try:
            os.unlink(p)
        except OSError:
            pass
    print('demo server stopped')
    return 0


def cmd_status(args):
    st = read_state(args.state)
    if st and is_ours(st.get('pid', 0)):
        print('running: pid %d, //%s:%d/rw, user %s' % (st['pid'], st['host'], st['port'],
                                                       st['user']))
        return 0
    print('not running')
    return 1


def main():
    ap = argparse.ArgumentParser(description='private demo Samba for smbfuse')
    ap.add_argument('command', choices=('start', 'stop', 'status'))
    ap.add_argument('--state', required=True, help='JSON state file')
    ap.add_argument('--mount', help='mountpoint to unmount when stopping')
    ap.add_argument('--base', help='parent directory for the server files')
    args = ap.parse_args()
    args.state = os.path.abspath(args.state)
    args.mount = os.path.abspath(args.mount) if args.mount else None
    args.base = os.path.abspath(args.base) if args.base else None
    if args.command == 'start':
        if not smbfixture.smbd_available():
            print('smbd not found: install samba (contrib/install-deps.sh)', file=sys.stderr)
            return 1
        return cmd_start(args)
    return cmd_stop(args) if args.command == 'stop' else cmd_status(args)


if __name__ == '__main__':
    sys.exit(main())
