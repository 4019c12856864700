"""A loopback relay that lets a test rewrite SMB2 frames in flight.

Both directions are parsed into transport frames; a hook may return a
changed frame (bytes) or None to pass it unchanged. Used to play the
man in the middle: downgrade a NEGOTIATE, corrupt a signed response.
"""

import socket
import struct
import threading


def commands(frame):
    """Commands of the PDUs in an (unencrypted) frame."""
    out, off = [], 0
    while off + 64 <= len(frame) and frame[off:off + 4] == b'\xfeSMB':
        out.append(struct.unpack_from('<H', frame, off + 12)[0])
        nxt = struct.unpack_from('<I', frame, off + 20)[0]
        if not nxt:
            break
        off += nxt
    return out


class TamperProxy:
    def __init__(self, target_port, c2s=None, s2c=None, host='127.0.0.1'):
        self.target = (host, target_port)
        self.hooks = {'c2s': c2s, 's2c': s2c}
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.socks += [c, s]
            threading.Thread(target=self._relay, args=(c, s, 'c2s'), daemon=True).start()
            threading.Thread(target=self._relay, args=(s, c, 's2c'), daemon=True).start()

    @staticmethod
    def _recv_exact(sock, n):
        buf = b''
        while len(buf) < n:
            x = sock.recv(n - len(buf))
            if not x:
                raise EOFError
            buf += x
        return buf

    def _relay(self, a, b, direction):
        try:
            while True:
                hdr = self._recv_exact(a, 4)
                n = struct.unpack('>I', hdr)[0] & 0xFFFFFF
                frame = self._recv_exact(a, n)
                hook = self.hooks[direction]
                if hook:
                    new = hook(frame)
                    if new is not None:
                        frame = new
                b.sendall(struct.pack('>I', len(frame)) + frame)
        except (OSError, EOFError):
            pass
        finally:
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
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
