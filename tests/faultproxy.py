#!/usr/bin/env python3
"""faultproxy: a userspace TCP proxy with latency and fault injection.

Standard library only. Used by smbfuse's benchmarks (added latency) and by
tests of reconnect/timeout behaviour (cuts, stalls, refusals).

Library:

    from faultproxy import FaultProxy
    with FaultProxy('127.0.0.1', smb_port, delay_ms=5) as p:   # 5 ms each way
        mount(f'//127.0.0.1:{p.port}/share')
        p.cut()                  # RST every open connection now
        p.cut_after(1 << 20)     # RST each connection after 1 MiB (both ways summed)
        p.cut_every(2.0)         # RST all connections every 2 s
        p.stall(3.0)             # forward nothing for 3 s; sockets stay open
        p.refuse()               # accept and reset new connections at once
        p.normal()               # clear every fault (the delay stays)
        p.set_delay(5, 5)        # one-way delay client->server, server->client (ms)
        p.stats()                # {'bytes_c2s', 'bytes_s2c', 'accepted', ...}

CLI:

    faultproxy.py --target 127.0.0.1:445 [--listen 127.0.0.1:0] [--delay MS]
                  [--delay-c2s MS --delay-s2c MS] [--ctl /run/fp.sock]
                  [--sockbuf BYTES] [--queue-cap BYTES] [--no-splice] [-v]
    faultproxy.py ctl /run/fp.sock cut | cut_after N [c2s|s2c|both] |
                  cut_every T | stall [T] | refuse | normal | delay C2S [S2C] | stats
    faultproxy.py --selftest [--selftest-mb 1024]

The CLI prints one JSON line ({"port": N, "ctl": PATH, "pid": PID}) on
stdout once it listens. Signals: SIGUSR1 cuts every connection, SIGUSR2
toggles an indefinite stall, SIGHUP returns to normal, SIGTERM/SIGINT stop.

Design. Every proxied connection is served by one thread that owns both of
its sockets (non-blocking) and runs a poll() loop over them plus an eventfd
used to wake it when the proxy's settings change. Each direction is a delay
line: a FIFO of (release time, bytes) chunks; a chunk is read as soon as it
arrives, stamped with now + delay and written when that time has come, so
many chunks are in flight at once and throughput does not depend on the
delay (up to `queue_cap` bytes buffered per direction, then the proxy stops
reading and TCP flow control pushes back). On Linux the bytes never enter
Python: splice() moves them from the socket into a chain of pipes (the
FIFO that holds the line) and from there to the other socket when due,
about 0.35 CPU-seconds per GiB; `splice=False` / `--no-splice` copies
through recv()/send() instead. Because only the owning thread
ever touches a connection's sockets, a cut is prompt and real: SO_LINGER 0
then close() sends an RST at once. Note the proxy acknowledges data
locally, so the delay is added to every request/response exchange (what an
RTT does to a request/response protocol), while the client's own TCP window
is not limited by the RTT as it would be on a real long link.
"""

import argparse
import collections
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time

__all__ = ['FaultProxy', 'control']

CHUNK = 256 * 1024
PIPE_SIZE = 1 << 20
MAX_PIPES = 32  # per direction: bounds the fds (and, with PIPE_SIZE, the bytes) in flight
_SPLICE_FLAGS = getattr(os, 'SPLICE_F_MOVE', 1) | getattr(os, 'SPLICE_F_NONBLOCK', 2)
_LINGER0 = struct.pack('ii', 1, 0)
_IN = select.POLLIN
_OUT = select.POLLOUT
_ERRMASK = select.POLLERR | select.POLLHUP | select.POLLNVAL
_AGAIN = (BlockingIOError, InterruptedError)


def _parse_hostport(s, default_host='127.0.0.1'):
    if s.startswith('['):
        host, _, port = s[1:].partition(']:')
    elif ':' in s:
        host, _, port = s.rpartition(':')
    else:
        host, port = default_host, s
    return host or default_host, int(port)


def _rst_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER0)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _CopyLine:
    """Delay line through user memory: recv() chunks, send() them when due."""
    kind = 'copy'

    def __init__(self):
        self.entries = collections.deque()  # [release_time, memoryview]
        self.queued = 0

    def can_fill(self):
        return True

    def fill(self, sock, limit, release):
        """Read up to limit bytes into the line; 0 at EOF; BlockingIOError if none."""
        data = sock.recv(min(CHUNK, limit))
        if data:
            self.entries.append([release, memoryview(data)])
            self.queued += len(data)
        return len(data)

    def head_release(self):
        return self.entries[0][0] if self.entries else None

    def send(self, sock, limit):
        """Send (part of) the head chunk; BlockingIOError if sock is full."""
        e = self.entries[0]
        mv = e[1]
        n = sock.send(mv if limit is None or limit >= len(mv) else mv[:limit])
        self.queued -= n
        if n == len(mv):
            self.entries.popleft()
        else:
            e[1] = mv[n:]
        return n

    def close(self):
        self.entries.clear()
        self.queued = 0


class _Pipe:
    __slots__ = ('r', 'w', 'bytes', 'sealed')

    def __init__(self):
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.bytes = 0
        self.sealed = False
        try:
            fcntl.fcntl(self.w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # over the per-user pipe limits: keep the default 64 KiB

    def close(self):
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass


class _SpliceLine:
    """Delay line through kernel pipes: splice() socket -> pipe, and when the
    data is due, pipe -> socket. The bytes never enter user memory, so the
    proxy costs little CPU. Pipes are FIFOs like the line itself; a chain
    of them holds what is in flight, each entry (release, pipe, nbytes)."""
    kind = 'splice'

    def __init__(self):
        self.pipes = collections.deque()
        self.entries = collections.deque()  # [release_time, pipe, nbytes]
        self.free = []
        self.queued = 0

    def can_fill(self):
        return not (self.pipes and self.pipes[-1].sealed and len(self.pipes) >= MAX_PIPES)

    def _new_pipe(self):
        if len(self.pipes) >= MAX_PIPES:
            raise BlockingIOError()  # full: can_fill() is False until the head drains
        p = self.free.pop() if self.free else _Pipe()
        self.pipes.append(p)
        return p

    def fill(self, sock, limit, release):
        p = self.pipes[-1] if self.pipes and not self.pipes[-1].sealed else self._new_pipe()
        fd = sock.fileno()
        for _ in range(2):
            try:
                n = os.splice(fd, p.w, min(limit, PIPE_SIZE), flags=_SPLICE_FLAGS)
            except BlockingIOError:
                # The socket is empty, or the pipe is full: FIONREAD tells which.
                if p.bytes and _fionread(fd) > 0:
                    p.sealed = True
                    p = self._new_pipe()
                    continue
                raise
            if n:
                p.bytes += n
                self.entries.append([release, p, n])
                self.queued += n
            return n
        raise BlockingIOError()

    def head_release(self):
        return self.entries[0][0] if self.entries else None

    def send(self, sock, limit):
        e = self.entries[0]
        p = e[1]
        want = e[2] if limit is None or limit >= e[2] else limit
        n = os.splice(p.r, sock.fileno(), want, flags=_SPLICE_FLAGS)
        if n <= 0:
            raise BlockingIOError()
        e[2] -= n
        p.bytes -= n
        self.queued -= n
        if e[2] == 0:
            self.entries.popleft()
            if p.bytes == 0 and (p.sealed or not self.entries):
                # Drained: recycle (it may be the tail: just reuse it in place).
                if p.sealed:
                    self.pipes.remove(p)
                    p.sealed = False
                    if len(self.free) < 2:
                        self.free.append(p)
                    else:
                        p.close()
        return n

    def close(self):
        for p in list(self.pipes) + self.free:
            p.close()
        self.pipes.clear()
        self.free = []
        self.entries.clear()
        self.queued = 0


def _fionread(fd):
    try:
        return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0' * 4))[0]
    except OSError:
        return 0


def _splice_works():
    if not hasattr(os, 'splice') or not hasattr(fcntl, 'F_SETPIPE_SZ'):
        return False
    try:
        a, b = socket.socketpair()
        try:
            r, w = os.pipe()
            try:
                a.sendall(b'x')
                return os.splice(b.fileno(), w, 1) == 1
            finally:
                os.close(r)
                os.close(w)
        finally:
            a.close()
            b.close()
    except OSError:
        return False


class _Dir:
    """One direction of a connection: src -> delay line -> dst."""
    __slots__ = ('name', 'src', 'dst', 'line', 'eof_in', 'shut_out', 'forwarded')

    def __init__(self, name, src, dst, splice):
        self.name = name
        self.src, self.dst = src, dst
        self.line = _SpliceLine() if splice else _CopyLine()
        self.eof_in = False
        self.shut_out = False
        self.forwarded = 0


class _Reset(Exception):
    """The connection is to be torn down with an RST on both sides."""


class _Conn(threading.Thread):
    def __init__(self, proxy, csock, caddr, cid):
        super().__init__(name='faultproxy-conn-%d' % cid, daemon=True)
        self.proxy = proxy
        self.csock = csock
        self.caddr = caddr
        self.cid = cid
        self.usock = None
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.cut_requested = False
        self.cut_done = threading.Event()
        self.c2s = self.s2c = None
        self.rule_gen = -1
        self.rule_base = 0
        self.was_cut = False

    # -- called from other threads
    def wake(self):
        try:
            os.eventfd_write(self.wake_fd, 1)
        except OSError:
            pass

    def request_cut(self):
        self.cut_requested = True
        self.wake()

    def forwarded(self):
        a = self.c2s.forwarded if self.c2s else 0
        b = self.s2c.forwarded if self.s2c else 0
        return a, b

    def queued(self):
        """Bytes held in the delay lines now (read, not yet written)."""
        return sum(d.line.queued for d in (self.c2s, self.s2c) if d is not None)

    # -- the connection's own thread
    def run(self):
        p = self.proxy
        try:
            try:
                self.usock = socket.create_connection(p.target, timeout=p.connect_timeout)
            except OSError as e:
                p._log('conn %d: upstream %s:%d: %s' % (self.cid, p.target[0], p.target[1], e))
                _rst_close(self.csock)
                return
            for s in (self.csock, self.usock):
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if p.sockbuf:
                    for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                        try:
                            s.setsockopt(socket.SOL_SOCKET, opt, p.sockbuf)
                        except OSError:
                            pass
            self.c2s = _Dir('c2s', self.csock, self.usock, p.splice)
            self.s2c = _Dir('s2c', self.usock, self.csock, p.splice)
            try:
                graceful = self._loop()
            except _Reset:
                graceful = False
            except OSError as e:
                p._log('conn %d: %s' % (self.cid, e))
                graceful = False
            if graceful:
                self.csock.close()
                self.usock.close()
            else:
                _rst_close(self.csock)
                _rst_close(self.usock)
        except BaseException as e:  # never leave sockets open behind a bug
            p._log('conn %d: internal error: %r' % (self.cid, e))
            _rst_close(self.csock)
            if self.usock is not None:
                _rst_close(self.usock)
        finally:
            for d in (self.c2s, self.s2c):
                if d is not None:
                    d.line.close()
            try:
                os.close(self.wake_fd)
            except OSError:
                pass
            self.cut_done.set()
            p._conn_finished(self)

    def _budget(self, d):
        """Bytes d may still forward before the cut_after rule fires (None: no limit)."""
        rule = self.proxy._cut_after
        if rule is None:
            return None
        n, direction, gen = rule
        if gen != self.rule_gen:
            self.rule_gen = gen
            self.rule_base = self._rule_count(direction)
        if direction != 'both' and direction != d.name:
            return None
        return max(0, n - (self._rule_count(direction) - self.rule_base))

    def _rule_count(self, direction):
        if direction == 'c2s':
            return self.c2s.forwarded
        if direction == 's2c':
            return self.s2c.forwarded
        return self.c2s.forwarded + self.s2c.forwarded

    def _cut_now(self):
        self.was_cut = True
        self.proxy._count_cut()
        raise _Reset()

    def _send(self, d, now):
        """Write due data of d; returns False when dst would block."""
        line = d.line
        while line.queued:
            if line.head_release() > now:
                return True
            budget = self._budget(d)
            if budget is not None and budget == 0:
                self._cut_now()
            try:
                n = line.send(d.dst, budget)
            except BlockingIOError:
                return False
            d.forwarded += n
            if budget is not None and n == budget:
                self._cut_now()
        return True

    def _recv(self, d, delay, stalled):
        """Read what src has (up to the queue cap); returns False when drained."""
        cap = self.proxy.queue_cap
        line = d.line
        while line.queued < cap and line.can_fill():
            now = time.monotonic()
            try:
                n = line.fill(d.src, cap - line.queued, now + delay)
            except BlockingIOError:
                return False
            if n == 0:
                d.eof_in = True
                return False
            if delay <= 0 and not stalled:
                self._send(d, now)  # no delay: write straight through
        return True

    def _loop(self):
        p = self.proxy
        dirs = (self.c2s, self.s2c)
        poller = select.poll()
        poller.register(self.wake_fd, _IN)
        registered = {}
        fdsock = {self.csock.fileno(): self.csock, self.usock.fileno(): self.usock}
        while True:
            if self.cut_requested:
                self._cut_now()
            now = time.monotonic()
            stall_end = p._stall_end(now)
            stalled = stall_end is not None
            delays = p._delays
            masks = {self.csock.fileno(): 0, self.usock.fileno(): 0}
            timeout = None
            for d, delay in zip(dirs, delays):
                if not stalled:
                    if d.line.queued:
                        if not self._send(d, now):
                            masks[d.dst.fileno()] |= _OUT
                        elif d.line.queued:
                            wait = d.line.head_release() - now
                            timeout = wait if timeout is None else min(timeout, wait)
                    if d.eof_in and not d.line.queued and not d.shut_out:
                        try:
                            d.dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            raise _Reset()
                        d.shut_out = True
                    if not d.eof_in and d.line.queued < p.queue_cap and d.line.can_fill():
                        masks[d.src.fileno()] |= _IN
            if self.c2s.shut_out and self.s2c.shut_out:
                return True
            if stalled and stall_end != float('inf'):
                w = stall_end - now
                timeout = w if timeout is None else min(timeout, w)
            for fd, m in masks.items():
                if registered.get(fd, 0) != m:
                    if m == 0:
                        poller.unregister(fd)
                        registered.pop(fd, None)
                    elif fd in registered:
                        poller.modify(fd, m)
                        registered[fd] = m
                    else:
                        poller.register(fd, m)
                        registered[fd] = m
            ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
            events = poller.poll(ms)
            # Settings may have changed while we slept (the wake event can come
            # in the same batch as data): use the current ones.
            now = time.monotonic()
            delays = p._delays
            stalled = p._stall_end(now) is not None
            for fd, ev in events:
                if fd == self.wake_fd:
                    try:
                        os.eventfd_read(self.wake_fd)
                    except OSError:
                        pass
                    continue
                sock = fdsock[fd]
                if ev & _ERRMASK and not ev & (_IN | _OUT):
                    # Error or hang-up while we wanted neither: find out which.
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise _Reset()
                for d, delay in zip(dirs, delays):
                    if d.src is sock and ev & (_IN | _ERRMASK) and not d.eof_in:
                        try:
                            self._recv(d, delay, stalled)
                        except OSError:
                            raise _Reset()
                    if d.dst is sock and ev & (_OUT | _ERRMASK) and d.line.queued and not stalled:
                        try:
                            self._send(d, now)
                        except OSError:
                            raise _Reset()


class FaultProxy:
    """A TCP proxy 127.0.0.1:<port> -> target with delay and injectable faults.

    delay_ms: one-way delay for both directions, or a (c2s, s2c) pair.
    listen: (host, port); port 0 picks a free one (see .port).
    sockbuf: SO_SNDBUF/SO_RCVBUF for both sockets of each connection (None:
      kernel autotuning).
    queue_cap: bytes buffered per direction before reading stops.
    splice: move the bytes with splice() through pipes, never through user
      memory (default: when the platform has it), else recv()/send().
    """

    def __init__(self, target_host, target_port, delay_ms=0, listen=('127.0.0.1', 0),
                 sockbuf=None, queue_cap=64 << 20, connect_timeout=5.0, log=None,
                 splice=None, start=True):
        self.target = (target_host, int(target_port))
        self.splice = _splice_works() if splice is None else bool(splice)
        self.listen_addr = listen
        self.sockbuf = sockbuf
        self.queue_cap = queue_cap
        self.connect_timeout = connect_timeout
        self._logf = log
        if isinstance(delay_ms, (tuple, list)):
            c2s, s2c = delay_ms
        else:
            c2s = s2c = delay_ms
        self._delays = (c2s / 1000.0, s2c / 1000.0)
        self._lock = threading.RLock()
        self._conns = set()
        self._cid = 0
        self._closed_bytes = [0, 0]
        self._accepted = 0
        self._refused = 0
        self._cuts = 0
        self._refuse = False
        self._stall_until = None  # monotonic time, inf, or None
        self._cut_after = None    # (n, direction, generation)
        self._rule_gen = 0
        self._cut_every = None
        self._next_periodic_cut = None
        self._closing = False
        self._thread = None
        self._lsock = None
        self._wake_fd = None
        self.port = None
        if start:
            self.start()

    # ---------------------------------------------------------------- lifecycle
    def start(self):
        if self._thread is not None:
            return self
        ls = socket.socket(socket.AF_INET6 if ':' in self.listen_addr[0] else socket.AF_INET,
                           socket.SOCK_STREAM)
        try:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(self.listen_addr)
            ls.listen(128)
            ls.setblocking(False)
        except BaseException:
            ls.close()
            raise
        self._lsock = ls
        self.host = ls.getsockname()[0]
        self.port = ls.getsockname()[1]
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._thread = threading.Thread(target=self._accept_loop, name='faultproxy-accept',
                                        daemon=True)
        self._thread.start()
        return self

    def close(self, timeout=10.0):
        """Stop accepting, reset every connection, join every thread. Idempotent."""
        with self._lock:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
        if self._thread is not None:
            if not already:
                self._wake()
            self._thread.join(timeout)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.request_cut()
        deadline = time.monotonic() + timeout
        for c in conns:
            c.join(max(0.0, deadline - time.monotonic()))
        if self._lsock is not None:
            self._lsock.close()
            self._lsock = None
        if self._wake_fd is not None and (self._thread is None or not self._thread.is_alive()):
            try:
                os.close(self._wake_fd)
            except OSError:
                pass
            self._wake_fd = None

    stop = close

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return '<FaultProxy 127.0.0.1:%s -> %s:%d delay=%s>' % (
            self.port, self.target[0], self.target[1],
            tuple(d * 1000 for d in self._delays))

    @property
    def address(self):
        return (self.host, self.port)

    # ---------------------------------------------------------------- faults
    def set_delay(self, c2s_ms, s2c_ms=None):
        """One-way delays in ms (s2c defaults to c2s); applies to data read from now on."""
        if s2c_ms is None:
            s2c_ms = c2s_ms
        self._delays = (c2s_ms / 1000.0, s2c_ms / 1000.0)
        self._wake_all()

    def cut(self, wait=True, timeout=5.0):
        """Reset (RST via SO_LINGER 0) every open connection now.

        With wait, returns once every reset has been sent. Returns the count."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.request_cut()
        if wait:
            deadline = time.monotonic() + timeout
            for c in conns:
                c.cut_done.wait(max(0.0, deadline - time.monotonic()))
        return len(conns)

    def cut_after(self, nbytes, direction='both'):
        """Reset each connection once it has forwarded nbytes (counted from
        its start, or from now for connections already open). direction:
        'both' (the two directions summed), 'c2s' or 's2c'."""
        if direction not in ('both', 'c2s', 's2c'):
            raise ValueError('direction must be both, c2s or s2c')
        with self._lock:
            self._rule_gen += 1
            self._cut_after = (int(nbytes), direction, self._rule_gen)
        self._wake_all()

    def cut_every(self, seconds):
        """Reset every open connection every `seconds` seconds (None: stop)."""
        with self._lock:
            self._cut_every = seconds
            self._next_periodic_cut = (time.monotonic() + seconds) if seconds else None
        self._wake()

    def stall(self, seconds=None):
        """Forward nothing for `seconds` (None: until normal()); sockets stay open."""
        with self._lock:
            self._stall_until = float('inf') if seconds is None else time.monotonic() + seconds
        self._wake_all()

    def refuse(self, on=True):
        """Accept new connections and reset them at once."""
        self._refuse = bool(on)

    def normal(self):
        """Clear every fault (stall, refuse, cut_after, cut_every); keep the delay."""
        with self._lock:
            self._refuse = False
            self._stall_until = None
            self._cut_after = None
            self._cut_every = None
            self._next_periodic_cut = None
        self._wake_all()
        self._wake()

    def stats(self):
        with self._lock:
            c2s, s2c = self._closed_bytes
            queued = 0
            for c in self._conns:
                a, b = c.forwarded()
                c2s += a
                s2c += b
                queued += c.queued()
            return {'bytes_c2s': c2s, 'bytes_s2c': s2c, 'accepted': self._accepted,
                    'queued': queued,
                    'refused': self._refused, 'active': len(self._conns), 'cuts': self._cuts,
                    'delay_ms': [d * 1000 for d in self._delays],
                    'mode': 'splice' if self.splice else 'copy',
                    'stalled': self._stall_end(time.monotonic()) is not None,
                    'refusing': self._refuse,
                    'cut_after': list(self._cut_after[:2]) if self._cut_after else None,
                    'cut_every': self._cut_every}

    def wait_connections(self, n=1, timeout=10.0):
        """Wait until at least n connections have been accepted in total."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._accepted >= n:
                return True
            time.sleep(0.01)
        return False

    # ---------------------------------------------------------------- internals
    def _log(self, msg):
        if self._logf:
            self._logf('faultproxy: ' + msg)

    def _stall_end(self, now):
        s = self._stall_until
        if s is None:
            return None
        if s == float('inf') or s > now:
            return s
        return None

    def _count_cut(self):
        with self._lock:
            self._cuts += 1

    def _wake(self):
        fd = self._wake_fd
        if fd is not None:
            try:
                os.eventfd_write(fd, 1)
            except OSError:
                pass

    def _wake_all(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.wake()

    def _conn_finished(self, c):
        a, b = c.forwarded()
        with self._lock:
            self._conns.discard(c)
            self._closed_bytes[0] += a
            self._closed_bytes[1] += b

    def _accept_loop(self):
        poller = select.poll()
        poller.register(self._lsock.fileno(), _IN)
        poller.register(self._wake_fd, _IN)
        while True:
            with self._lock:
                if self._closing:
                    return
                nxt = self._next_periodic_cut
            now = time.monotonic()
            if nxt is not None and now >= nxt:
                with self._lock:
                    if self._cut_every:
                        self._next_periodic_cut = now + self._cut_every
                    nxt = self._next_periodic_cut
                self.cut(wait=False)
            ms = None if nxt is None else max(0, int((nxt - now) * 1000 + 0.999))
            for fd, ev in poller.poll(ms):
                if fd == self._wake_fd:
                    try:
                        os.eventfd_read(self._wake_fd)
                    except OSError:
                        pass
                    continue
                while True:
                    try:
                        cs, addr = self._lsock.accept()
                    except _AGAIN:
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                            time.sleep(0.05)
                            break
                        if e.errno in (errno.ECONNABORTED, errno.EPROTO):
                            continue
                        raise
                    if self._refuse or self._closing:
                        with self._lock:
                            self._refused += 1
                        _rst_close(cs)
                        continue
                    with self._lock:
                        self._cid += 1
                        self._accepted += 1
                        c = _Conn(self, cs, addr, self._cid)
                        self._conns.add(c)
                    c.start()


# ==================================================================== control socket

def control(path, command, timeout=10.0):
    """Send one command line to a CLI proxy's control socket; returns its JSON reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(command.strip().encode() + b'\n')
        buf = b''
        while not buf.endswith(b'\n'):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf.decode() or '{}')


def _apply_command(proxy, line):
    """Run one control command on proxy; returns a dict."""
    parts = line.split()
    if not parts:
        return {'ok': False, 'error': 'empty command'}
    cmd, args = parts[0].lower(), parts[1:]
    try:
        if cmd == 'cut':
            return {'ok': True, 'cut': proxy.cut()}
        if cmd == 'cut_after':
            proxy.cut_after(int(args[0]), args[1] if len(args) > 1 else 'both')
        elif cmd == 'cut_every':
            proxy.cut_every(float(args[0]) if args and args[0] != 'off' else None)
        elif cmd == 'stall':
            proxy.stall(float(args[0]) if args else None)
        elif cmd == 'refuse':
            proxy.refuse(not args or args[0] not in ('0', 'off', 'no'))
        elif cmd == 'normal':
            proxy.normal()
        elif cmd == 'delay':
            proxy.set_delay(float(args[0]), float(args[1]) if len(args) > 1 else None)
        elif cmd == 'stats':
            pass
        else:
            return {'ok': False, 'error': 'unknown command %r' % cmd}
    except (IndexError, ValueError) as e:
        return {'ok': False, 'error': 'bad arguments for %s: %s' % (cmd, e)}
    r = {'ok': True}
    r.update(proxy.stats())
    return r


class _ControlServer(threading.Thread):
    def __init__(self, proxy, path):
        super().__init__(name='faultproxy-ctl', daemon=True)
        self.proxy = proxy
        self.path = path
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o600)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.stopping:
                    return
                raise
            with c:
                c.settimeout(5)
                try:
                    buf = b''
                    while b'\n' not in buf:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    reply = _apply_command(self.proxy, buf.decode(errors='replace'))
                    c.sendall(json.dumps(reply).encode() + b'\n')
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        self.join(5)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _serve(a):
    host, port = _parse_hostport(a.target)
    lhost, lport = _parse_hostport(a.listen)
    c2s = a.delay_c2s if a.delay_c2s is not None else a.delay
    s2c = a.delay_s2c if a.delay_s2c is not None else a.delay
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if a.verbose else None
    stop = threading.Event()
    proxy = FaultProxy(host, port, delay_ms=(c2s, s2c), listen=(lhost, lport),
                       sockbuf=a.sockbuf, queue_cap=a.queue_cap, log=log,
                       splice=False if a.no_splice else None)
    ctl = None
    try:
        if a.ctl:
            ctl = _ControlServer(proxy, a.ctl)
            ctl.start()
        stalled = [False]

        def on_signal(signum, frame):
            if signum == signal.SIGUSR1:
                threading.Thread(target=proxy.cut, daemon=True).start()
            elif signum == signal.SIGUSR2:
                stalled[0] = not stalled[0]
                if stalled[0]:
                    proxy.stall(None)
                else:
                    proxy.normal()
            elif signum == signal.SIGHUP:
                stalled[0] = False
                proxy.normal()
            else:
                stop.set()
        for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(s, on_signal)
        info = {'port': proxy.port, 'host': proxy.host, 'ctl': a.ctl, 'pid': os.getpid(),
                'target': '%s:%d' % (host, port), 'delay_ms': [c2s, s2c],
                'mode': 'splice' if proxy.splice else 'copy'}
        print(json.dumps(info), flush=True)
        if a.port_file:
            with open(a.port_file + '.tmp', 'w') as f:
                f.write('%d\n' % proxy.port)
            os.replace(a.port_file + '.tmp', a.port_file)
        while not stop.wait(0.5):
            pass
    finally:
        if ctl is not None:
            ctl.close()
        proxy.close()
        if a.verbose:
            print('faultproxy: stopped; %s' % json.dumps(proxy.stats()), file=sys.stderr)
    return 0


# ==================================================================== self-test

def _echo_server_main(port_w):
    """Child process: TCP server on 127.0.0.1. First byte of each connection:
    E echo, D discard (reply 8-byte count after the client's EOF),
    S + 8-byte N: send N bytes then close."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', 0))
    ls.listen(64)
    os.write(port_w, b'%d\n' % ls.getsockname()[1])
    os.close(port_w)

    def recv_exact(c, n):
        b = b''
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                raise ConnectionError('eof')
            b += x
        return b

    def serve(c):
        try:
            mode = recv_exact(c, 1)
            if mode == b'E':
                while True:
                    x = c.recv(CHUNK)
                    if not x:
                        break
                    c.sendall(x)
            elif mode == b'D':
                buf = bytearray(1 << 20)
                total = 0
                while True:
                    n = c.recv_into(buf)
                    if not n:
                        break
                    total += n
                c.sendall(struct.pack('>Q', total))
            elif mode == b'S':
                n = struct.unpack('>Q', recv_exact(c, 8))[0]
                blk = os.urandom(1 << 20)
                mv = memoryview(blk)
                while n > 0:
                    k = min(n, len(blk))
                    c.sendall(mv[:k])
                    n -= k
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


class _EchoServer:
    def __init__(self):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _echo_server_main(w)
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            self.port = int(f.readline())
        self.pid = pid

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(self.pid, 0)


def _spawn_cli_proxy(target_port, delay, ctl, sockbuf=None, splice=True):
    import subprocess
    cmd = [sys.executable, os.path.abspath(__file__), '--target', '127.0.0.1:%d' % target_port,
           '--delay', str(delay), '--ctl', ctl]
    if not splice:
        cmd.append('--no-splice')
    if sockbuf:
        cmd += ['--sockbuf', str(sockbuf)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    info = json.loads(p.stdout.readline())
    return p, info


def _throughput(port, nbytes, upload):
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    if upload:
        s.sendall(b'D')
        blk = memoryview(os.urandom(1 << 20))
        left = nbytes
        while left > 0:
            k = min(left, len(blk))
            s.sendall(blk[:k])
            left -= k
        s.shutdown(socket.SHUT_WR)
        got = b''
        while len(got) < 8:
            x = s.recv(8 - len(got))
            if not x:
                break
            got += x
        total = struct.unpack('>Q', got)[0] if len(got) == 8 else -1
    else:
        s.sendall(b'S' + struct.pack('>Q', nbytes))
        buf = bytearray(1 << 20)
        total = 0
        while True:
            n = s.recv_into(buf)
            if not n:
                break
            total += n
    dt = time.monotonic() - t0
    s.close()
    if total != nbytes:
        raise AssertionError('moved %d of %d bytes' % (total, nbytes))
    return nbytes / dt / 1e6


def _ping(s, n=64):
    msg = os.urandom(n)
    t0 = time.monotonic()
    s.sendall(msg)
    got = b''
    while len(got) < n:
        x = s.recv(n - len(got))
        if not x:
            raise ConnectionError('eof')
        got += x
    assert got == msg, 'echo mismatch'
    return time.monotonic() - t0


def _echo_conn(port, timeout=5.0):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b'E')
    return s


def _expect_reset(s, within=2.0):
    """True if the socket sees ECONNRESET (RST), not a FIN, within `within` s."""
    s.settimeout(within)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            x = s.recv(65536)
            if not x:
                return False  # FIN
        return False
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def selftest(size_mb=1024):
    import tempfile
    results = []
    fails = 0

    def check(name, ok, detail=''):
        nonlocal fails
        results.append((name, ok, detail))
        if not ok:
            fails += 1
        print('%-4s %-40s %s' % ('ok' if ok else 'FAIL', name, detail), flush=True)

    base_threads = threading.active_count()
    echo = _EchoServer()
    tmp = tempfile.mkdtemp(prefix='faultproxy-')
    try:
        nbytes = size_mb << 20
        # ---- throughput through the CLI proxy (its own process: no GIL sharing)
        try:
            # The bar is absolute (>= 500 MB/s at 0 ms, >= 300 at 5 ms) unless
            # the machine itself is slower (busy): then half of the direct path.
            direct = {True: _throughput(echo.port, nbytes, True),
                      False: _throughput(echo.port, nbytes, False)}
            check('direct (no proxy)', True, 'c2s %.0f MB/s, s2c %.0f MB/s, load %.1f' % (
                direct[True], direct[False], os.getloadavg()[0]))
            modes = [True, False] if _splice_works() else [False]
            for splice, delay, need in [(m, d, n) for m in modes for d, n in ((0, 500), (5, 300))]:
                ctl = os.path.join(tmp, 'ctl%d' % delay)
                p, info = _spawn_cli_proxy(echo.port, delay, ctl,
                                           sockbuf=None if delay == 0 else 8 << 20, splice=splice)
                tag = 'delay=%dms %s' % (delay, info['mode'])
                try:
                    for upload in (True, False):
                        mbs = _throughput(info['port'], nbytes, upload)
                        check('throughput %s %s' % (tag, 'c2s' if upload else 's2c'),
                              mbs >= min(need, direct[upload] / 2),
                              '%.0f MB/s (need >= %.0f)' % (mbs, min(need, direct[upload] / 2)))
                    st = control(ctl, 'stats')
                    check('cli counters %s' % tag,
                          st['bytes_c2s'] >= nbytes and st['bytes_s2c'] >= nbytes
                          and st['accepted'] == 2,
                          'c2s=%d s2c=%d accepted=%d' % (st['bytes_c2s'], st['bytes_s2c'],
                                                         st['accepted']))
                    if delay:
                        s = _echo_conn(info['port'])
                        rtt = min(_ping(s) for _ in range(5))
                        s.close()
                        check('cli rtt %s' % tag,
                              2 * delay / 1000 <= rtt < 2 * delay / 1000 + 0.01,
                              '%.1f ms' % (rtt * 1000))
                    # control socket and signals
                    s = _echo_conn(info['port'])
                    _ping(s)
                    r = control(ctl, 'cut')
                    check('cli ctl cut %s' % tag,
                          r.get('ok') and r.get('cut') == 1 and _expect_reset(s),
                          json.dumps(r)[:60])
                    s = _echo_conn(info['port'])
                    _ping(s)
                    p.send_signal(signal.SIGUSR1)
                    check('cli SIGUSR1 cuts %s' % tag, _expect_reset(s))
                finally:
                    p.send_signal(signal.SIGTERM)
                    try:
                        rc = p.wait(10)
                    except Exception:
                        p.kill()
                        rc = p.wait()
                    p.stdout.close()
                    check('cli exits cleanly on SIGTERM %s' % tag,
                          rc == 0 and not os.path.exists(ctl), 'rc=%s' % rc)
        except (OSError, AssertionError, ValueError) as e:
            check('cli throughput', False, repr(e))

        # ---- faults through the library
        for splice in ([True, False] if _splice_works() else [False]):
            print('-- faults, library, %s mode' % ('splice' if splice else 'copy'), flush=True)
            with FaultProxy('127.0.0.1', echo.port, delay_ms=0, splice=splice) as fp:
                s = _echo_conn(fp.port)
                rtt0 = min(_ping(s) for _ in range(20))
                check('echo through proxy', True, 'rtt %.2f ms' % (rtt0 * 1000))
                fp.set_delay(5, 5)
                rtts = [_ping(s) for _ in range(10)]
                check('delay 5+5 ms -> rtt ~10 ms', 0.010 <= min(rtts) and max(rtts) < 0.025,
                      'min %.2f max %.2f ms' % (min(rtts) * 1000, max(rtts) * 1000))
                fp.set_delay(2, 8)
                rtt = min(_ping(s) for _ in range(5))
                check('asymmetric delay 2+8 ms', 0.010 <= rtt < 0.02, '%.2f ms' % (rtt * 1000))
                fp.set_delay(0, 0)
                _ping(s)
                s.close()

                # integrity and back-pressure: 128 MiB of random bytes echoed with
                # 1 ms each way through a 4 MiB queue; the client first sends
                # without reading, so every buffer on the way fills up.
                fp.set_delay(1, 1)
                fp.queue_cap = 4 << 20
                s = _echo_conn(fp.port)
                payload = os.urandom(128 << 20)
                s.setblocking(False)
                sent = 0
                max_queued = 0
                t_end = time.monotonic() + 1.0
                while time.monotonic() < t_end and sent < len(payload):
                    try:
                        sent += s.send(memoryview(payload)[sent:sent + (1 << 20)])
                    except BlockingIOError:
                        time.sleep(0.01)
                    max_queued = max(max_queued, fp.stats()['queued'])
                plateau = sent
                s.setblocking(True)
                s.settimeout(30)
                sender = threading.Thread(target=s.sendall, args=(memoryview(payload)[sent:],))
                sender.start()
                got = bytearray()
                while len(got) < len(payload):
                    x = s.recv(1 << 20)
                    if not x:
                        break
                    got += x
                sender.join()
                check('back-pressure bounds buffering',
                      plateau < len(payload) and max_queued <= 2 * (4 << 20) + 2 * PIPE_SIZE,
                      '%.1f MiB accepted before the client read, at most %.1f MiB in '
                      'the proxy' % (plateau / 1048576.0, max_queued / 1048576.0))
                check('128 MiB echoed intact', bytes(got) == payload, '%d bytes' % len(got))
                fp.queue_cap = 64 << 20
                fp.set_delay(0, 0)
                s.close()
                s = _echo_conn(fp.port)
                _ping(s)

                # cut now
                n = fp.cut()
                check('cut() resets with RST', n == 1 and _expect_reset(s), 'cut %d' % n)

                # cut after N bytes
                fp.cut_after(100000)
                before = fp.stats()
                s = _echo_conn(fp.port)  # 'E' is byte 1 of the budget
                reset = False
                try:
                    for _ in range(100):
                        _ping(s, 4096)
                except ConnectionResetError:
                    reset = True
                s.close()
                time.sleep(0.1)
                after = fp.stats()
                moved = (after['bytes_c2s'] - before['bytes_c2s']) + (after['bytes_s2c'] - before['bytes_s2c'])
                check('cut_after(100000) both ways', reset and moved == 100000,
                      'forwarded %d then reset=%s' % (moved, reset))
                fp.cut_after(50000, 's2c')
                before = fp.stats()
                s = _echo_conn(fp.port)
                reset = False
                got = 0
                try:
                    s.settimeout(5)
                    s.sendall(b'y' * 80000)
                    while True:
                        x = s.recv(65536)
                        if not x:
                            break
                        got += len(x)
                except ConnectionResetError:
                    reset = True
                s.close()
                time.sleep(0.1)
                after = fp.stats()
                check('cut_after(50000, s2c)', reset and
                      after['bytes_s2c'] - before['bytes_s2c'] == 50000 and got <= 50000,
                      's2c %d, client got %d, reset=%s' % (after['bytes_s2c'] - before['bytes_s2c'],
                                                           got, reset))
                fp.normal()

                # cut every T
                fp.cut_every(0.3)
                lifetimes = []
                for _ in range(3):
                    s = _echo_conn(fp.port)
                    ts = time.monotonic()
                    try:
                        while time.monotonic() - ts < 2:
                            _ping(s)
                            time.sleep(0.01)
                    except (ConnectionResetError, ConnectionError):
                        lifetimes.append(time.monotonic() - ts)
                    s.close()
                fp.cut_every(None)
                check('cut_every(0.3)', len(lifetimes) == 3 and max(lifetimes) < 0.45,
                      'connections lived %s s' % ', '.join('%.2f' % x for x in lifetimes))

                # stall
                s = _echo_conn(fp.port)
                _ping(s)
                fp.stall(0.5)
                s.settimeout(5)
                t = _ping(s)
                check('stall(0.5): held then delivered', 0.45 <= t < 0.7, '%.2f s' % t)
                fp.stall(None)
                s.settimeout(0.3)
                held = False
                try:
                    _ping(s)
                except socket.timeout:
                    held = True
                fp.normal()
                s.settimeout(5)
                # the held ping's reply arrives now; then a fresh ping works
                try:
                    got = b''
                    while len(got) < 64:
                        got += s.recv(64 - len(got))
                    t = _ping(s)
                    alive = True
                except OSError:
                    alive = False
                check('stall() indefinite, normal() resumes', held and alive)
                s.close()

                # refuse
                fp.refuse()
                try:
                    s = socket.create_connection(('127.0.0.1', fp.port), timeout=5)
                    refused = _expect_reset(s)
                except ConnectionResetError:  # the RST beat connect()'s return
                    refused = True
                check('refuse() resets new connections', refused)
                fp.normal()
                s = _echo_conn(fp.port)
                _ping(s)
                check('normal() accepts again', True)
                s.close()
                st = fp.stats()
                check('counters', st['accepted'] >= 7 and st['refused'] == 1 and st['cuts'] >= 5
                      and st['mode'] == ('splice' if splice else 'copy'),
                      json.dumps({k: st[k] for k in ('bytes_c2s', 'bytes_s2c', 'accepted',
                                                     'refused', 'cuts')}))
                # upstream down -> client reset
        dead = socket.socket()
        dead.bind(('127.0.0.1', 0))
        dport = dead.getsockname()[1]
        dead.close()
        with FaultProxy('127.0.0.1', dport) as fp:
            try:
                s = socket.create_connection(('127.0.0.1', fp.port), timeout=5)
                refused = _expect_reset(s)
            except ConnectionResetError:
                refused = True
            check('upstream refused -> client reset', refused)
        # graceful half-close passes a FIN
        with FaultProxy('127.0.0.1', echo.port, delay_ms=1) as fp:
            s = _echo_conn(fp.port)
            s.sendall(b'bye')
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            got = b''
            while True:
                x = s.recv(100)
                if not x:
                    break
                got += x
            s.close()
            check('half-close: data then FIN', got == b'bye')
        time.sleep(0.1)
        check('no threads left behind', threading.active_count() == base_threads,
              '%d threads (%d before)' % (threading.active_count(), base_threads))
    finally:
        echo.close()
        try:
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
            os.rmdir(tmp)
        except OSError:
            pass
    print('%d passed, %d failed' % (len(results) - fails, fails))
    return 1 if fails else 0


# ==================================================================== main

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == 'ctl':
        if len(argv) < 3:
            print('usage: faultproxy.py ctl CTL_SOCKET COMMAND [ARGS...]', file=sys.stderr)
            return 2
        r = control(argv[1], ' '.join(argv[2:]))
        print(json.dumps(r))
        return 0 if r.get('ok') else 1
    ap = argparse.ArgumentParser(
        description='TCP proxy with delay and fault injection (see module docstring).')
    ap.add_argument('--target', help='HOST:PORT to forward to')
    ap.add_argument('--listen', default='127.0.0.1:0', help='HOST:PORT (default 127.0.0.1:0)')
    ap.add_argument('--delay', type=float, default=0.0, help='one-way delay, ms, both ways')
    ap.add_argument('--delay-c2s', type=float, help='client->server delay, ms')
    ap.add_argument('--delay-s2c', type=float, help='server->client delay, ms')
    ap.add_argument('--sockbuf', type=int, help='SO_SNDBUF/SO_RCVBUF (default: autotune)')
    ap.add_argument('--queue-cap', type=int, default=64 << 20,
                    help='bytes buffered per direction (default 64 MiB)')
    ap.add_argument('--no-splice', action='store_true',
                    help='copy through user memory instead of splice()')
    ap.add_argument('--ctl', help='unix control socket path')
    ap.add_argument('--port-file', help='write the listening port here')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('--selftest', action='store_true', help='run the self-test')
    ap.add_argument('--selftest-mb', type=int, default=1024, help='MiB per throughput run')
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest(a.selftest_mb)
    if not a.target:
        ap.error('--target is required')
    return _serve(a)


if __name__ == '__main__':
    sys.exit(main())
