"""A loopback TCP relay that records the SMB2 requests a client sends.

Used to count round trips: each client->server transport frame is one
round trip (a compound counts once), and its commands are recorded.
Unencrypted sessions only (sealed frames show as 'TRANSFORM').
"""

import socket
import struct
import threading

COMMANDS = ['NEGOTIATE', 'SESSION_SETUP', 'LOGOFF', 'TREE_CONNECT', 'TREE_DISCONNECT',
            'CREATE', 'CLOSE', 'FLUSH', 'READ', 'WRITE', 'LOCK', 'IOCTL', 'CANCEL', 'ECHO',
            'QUERY_DIRECTORY', 'CHANGE_NOTIFY', 'QUERY_INFO', 'SET_INFO', 'OPLOCK_BREAK']


def _commands(frame):
    if frame[:4] == b'\xfdSMB':
        return ['TRANSFORM']
    out, off = [], 0
    while off + 64 <= len(frame) and frame[off:off + 4] == b'\xfeSMB':
        cmd = struct.unpack_from('<H', frame, off + 12)[0]
        out.append(COMMANDS[cmd] if cmd < len(COMMANDS) else '0x%x' % cmd)
        nxt = struct.unpack_from('<I', frame, off + 20)[0]
        if not nxt:
            break
        off += nxt
    return out


class CountProxy:
    def __init__(self, target_port, host='127.0.0.1'):
        self.target = (host, target_port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.frames = []  # list of command lists, in order
        self.lock = threading.Lock()
        self.socks = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.socks += [c, s]
            threading.Thread(target=self._c2s, args=(c, s), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c), daemon=True).start()

    @staticmethod
    def _recv_exact(sock, n):
        buf = b''
        while len(buf) < n:
            x = sock.recv(n - len(buf))
            if not x:
                raise EOFError
            buf += x
        return buf

    def _c2s(self, c, s):
        try:
            while True:
                hdr = self._recv_exact(c, 4)
                n = struct.unpack('>I', hdr)[0] & 0xFFFFFF
                frame = self._recv_exact(c, n)
                with self.lock:
                    self.frames.append(_commands(frame))
                s.sendall(hdr + frame)
        except (OSError, EOFError):
            pass
        finally:
            for x in (c, s):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _pipe(self, a, b):
        try:
            while True:
                x = a.recv(1 << 16)
                if not x:
                    break
                b.sendall(x)
        except OSError:
            pass
        finally:
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def mark(self):
        """Position to count from."""
        with self.lock:
            return len(self.frames)

    def since(self, mark, ignore=('ECHO',)):
        """Frames sent since mark (keepalives ignored)."""
        with self.lock:
            return [f for f in self.frames[mark:] if not set(f) <= set(ignore)]

    def close(self):
        self.stopping = True
        self.lsock.close()
        with self.lock:
            for x in self.socks:
                try:
                    x.close()
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
