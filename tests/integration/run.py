#!/usr/bin/env python3
"""smbfuse integration test runner (standard library only).

    SMBFUSE=build/smbfuse python3 tests/integration/run.py [-k SUBSTR] [-v] [NAME...]

Starts one private Samba per run (smbfixture.SambaServer) plus a second one
with mandatory signing, discovers ``test_*`` functions in
tests/integration/test_*.py (in file order) and runs each in its own process
with its own mount directory and a timeout (120 s, or @harness.timeout(N),
or $SMBFUSE_TEST_TIMEOUT). Prints PASS/FAIL/SKIP per test and a final line
``N passed, N failed, N skipped``; exits 0 iff nothing failed, 77 if smbd or
FUSE is unavailable. NAME selects tests as ``test_basic`` or
``test_basic.test_read_files`` (or just the function name).
"""

import argparse
import faulthandler
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import smbfixture  # noqa: E402
from smbfixture import SambaServer, SambaStartError, SambaUnavailable  # noqa: E402

SKIP_RC = 77
DEFAULT_TIMEOUT = 120


def discover(selectors, substr):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith('test_') and fn.endswith('.py')):
            continue
        modname = fn[:-3]
        mod = importlib.import_module(modname)
        funcs = [(f.__code__.co_firstlineno, name, f)
                 for name, f in vars(mod).items()
                 if name.startswith('test_') and inspect.isfunction(f)
                 and f.__module__ == modname]
        for _, name, f in sorted(funcs):
            full = '%s.%s' % (modname, name)
            if selectors and not any(s in (modname, name, full) for s in selectors):
                continue
            if substr and substr not in full:
                continue
            tests.append((full, f))
    return tests


# ------------------------------------------------------------ child side

def child_main(full, state_path):
    import harness
    with open(state_path) as f:
        state = json.load(f)
    modname, fname = full.split('.', 1)
    func = getattr(importlib.import_module(modname), fname)
    t = harness.TestContext(state, full)
    # A hung test prints where it hangs before the runner's watchdog kills it.
    faulthandler.dump_traceback_later(max(1, state['timeout'] - 2), exit=False)
    # SIGTERM from the runner's watchdog: unwind so cleanup runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    rc = 0
    try:
        func(t)
    except harness.Skip as e:
        with open(state['result'], 'w') as f:
            f.write(str(e))
        rc = SKIP_RC
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
        print('test interrupted (exit %s)' % rc, file=sys.stderr)
        rc = rc or 1
    except BaseException:
        traceback.print_exc()
        rc = 1
    finally:
        try:
            t.cleanup()
        except Exception:
            traceback.print_exc()
            rc = rc or 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


# ------------------------------------------------------------ parent side

def start_servers(servers):
    """The shared server, and a second one for the `signed` share: signing
    can only be made mandatory server-wide (see smbfixture)."""
    servers['main'] = SambaServer()
    servers['signing'] = SambaServer(signing='mandatory')


def empty_shares(servers):
    """Each test starts with empty share directories on every server."""
    for s in servers.values():
        for path in s.info()['shares'].values():
            for name in os.listdir(path):
                p = os.path.join(path, name)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass


def run_one(full, func, servers, smbfuse, args):
    main = servers['main']
    empty_shares(servers)
    workdir = tempfile.mkdtemp(prefix=full.replace('.', '-') + '-',
                               dir=os.path.join(main.tmpdir, 'mnt'))
    result = os.path.join(workdir, 'result')
    timeout = getattr(func, 'timeout', None) or args.timeout
    state = {
        'smbfuse': smbfuse,
        'timeout': timeout,
        'workdir': workdir,
        'result': result,
        'servers': {k: s.info() for k, s in servers.items()},
    }
    state_path = os.path.join(workdir, 'state.json')
    fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(state, f)
    logpath = os.path.join(workdir, 'output.log')
    t0 = time.monotonic()
    with open(logpath, 'wb') as log:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--child', full,
                              state_path], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir)
        timed_out = False
        try:
            rc = p.wait(timeout=timeout)
        except BaseException as e:
            if not isinstance(e, subprocess.TimeoutExpired):
                stop_child(p, workdir)  # interrupted: take the test down with us
                raise
            timed_out = True
            rc = stop_child(p, workdir)
    elapsed = time.monotonic() - t0
    with open(logpath, errors='replace') as f:
        output = f.read()
    notes = []
    leftover = mounts_under(workdir)
    for m in leftover:
        smbfixture.force_unmount(m)
        notes.append('left a mount behind: %s' % m)
    if timed_out:
        notes.append('timed out after %d s' % timeout)
    for name, s in servers.items():
        if not s.running and not getattr(func, 'restarts_server', False):
            notes.append('%s smbd died:\n%s' % (name, s.log_tail(20)))
    if rc == SKIP_RC and not notes:
        try:
            with open(result) as f:
                reason = f.read().strip()
        except OSError:
            reason = ''
        status = 'SKIP'
        detail = reason
    elif rc == 0 and not notes:
        status, detail = 'PASS', ''
    else:
        status = 'FAIL'
        detail = '\n'.join(notes + ([output.rstrip()] if output.strip() else []))
    if not mounts_under(workdir):
        shutil.rmtree(workdir, ignore_errors=True)
    return status, detail, elapsed, output


def stop_child(p, workdir):
    """Stop a test process: unblock it from a hung mount, SIGTERM (so it
    cleans up), then SIGKILL its whole process group."""
    for m in mounts_under(workdir):
        smbfixture._abort_fuse_connection(m)
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except OSError:
            pass
        try:
            p.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    return p.returncode if p.returncode is not None else -signal.SIGKILL


def _interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def mounts_under(d):
    prefix = os.path.abspath(d) + os.sep
    return [m for _, m, _ in smbfixture.fuse_mounts() if m.startswith(prefix)]


def main():
    ap = argparse.ArgumentParser(description='smbfuse integration tests')
    ap.add_argument('names', nargs='*', help='module, function or module.function')
    ap.add_argument('-k', dest='substr', help='run tests whose name contains this')
    ap.add_argument('-v', '--verbose', action='store_true', help='show output of passing tests')
    ap.add_argument('--timeout', type=int,
                    default=int(os.environ.get('SMBFUSE_TEST_TIMEOUT', DEFAULT_TIMEOUT)))
    ap.add_argument('--list', action='store_true', help='list tests and exit')
    ap.add_argument('--child', nargs=2, metavar=('TEST', 'STATE'), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(*args.child)
        return 1

    tests = discover(args.names, args.substr)
    if args.list:
        for full, _ in tests:
            print(full)
        return 0
    if not tests:
        print('no tests selected')
        print('0 passed, 0 failed')
        return 1 if (args.names or args.substr) else 0

    if not smbfixture.smbd_available():
        print('SKIP: smbd/pdbedit not found (install samba)')
        return SKIP_RC
    if not os.path.exists('/dev/fuse') or not shutil.which('fusermount3'):
        print('SKIP: /dev/fuse or fusermount3 missing (install fuse3)')
        return SKIP_RC
    smbfuse = os.environ.get('SMBFUSE') or os.path.join(ROOT, 'build', 'smbfuse')
    smbfuse = os.path.abspath(smbfuse)
    if not os.access(smbfuse, os.X_OK):
        print('FAIL: smbfuse binary %s not found; set SMBFUSE or build first' % smbfuse)
        print('0 passed, 1 failed')
        return 1

    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
    servers = {}
    # meson's timeout and CI cancellation send SIGTERM: unwind like Ctrl-C so
    # the running test, its mounts and both smbd instances are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        try:
            start_servers(servers)
        except SambaUnavailable as e:
            print('SKIP: %s' % e)
            return SKIP_RC
        except SambaStartError as e:
            print('FAIL: the Samba fixture did not start: %s' % e)
            counts['FAIL'] += 1
            tests = []
        if tests:
            print('# smbd on 127.0.0.1:%d (signing: 127.0.0.1:%d), smbfuse=%s' % (
                servers['main'].port, servers['signing'].port, smbfuse), flush=True)
        for full, func in tests:
            for name, s in list(servers.items()):
                if not s.running:  # a crashed smbd must not fail every later test
                    print('# restarting %s smbd' % name, flush=True)
                    s.stop()
                    servers[name] = SambaServer(signing=s.signing)
            status, detail, elapsed, output = run_one(full, func, servers, smbfuse, args)
            counts[status] += 1
            line = '%s %s (%.1fs)' % (status, full, elapsed)
            if status == 'SKIP' and detail:
                line += ': ' + detail
            print(line, flush=True)
            if status == 'FAIL' and detail:
                print('    ' + detail.replace('\n', '\n    '), flush=True)
            elif args.verbose and output.strip():
                print('    ' + output.rstrip().replace('\n', '\n    '), flush=True)
    except KeyboardInterrupt:
        print('interrupted', flush=True)
        counts['FAIL'] += 1
    finally:
        for s in servers.values():
            s.stop()
    summary = '%d passed, %d failed' % (counts['PASS'], counts['FAIL'])
    if counts['SKIP']:
        summary += ', %d skipped' % counts['SKIP']
    print(summary, flush=True)
    return 0 if counts['FAIL'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
