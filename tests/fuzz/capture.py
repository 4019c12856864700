#!/usr/bin/env python3
"""Regenerate the fuzz seed corpus (tests/fuzz/corpus/<target>/) from real traffic.

    meson setup build-seed -Dtests=false && ninja -C build-seed smbfuse
    python3 tests/fuzz/capture.py [--smbfuse build-seed/smbfuse] [--out tests/fuzz/corpus]

Starts a private smbd (tests/integration/smbfixture.py) and a TCP relay
between smbfuse and smbd that records every frame in both directions. Mounts
share rw (default options: no signing, no encryption), runs ls -lR, reads,
writes, mkdir, rename, statfs, unlink and failing lookups, unmounts, then does
a shorter run on share sealed (SMB3 encryption). Each server->client frame is
split into its PDUs (NextCommand) and filed by command (the u16 at offset 12):

    frame      the whole frame with its 4-byte transport header (fuzz_frame
               parses that header itself)
    negotiate session tree create close read write ioctl info
               one PDU each, header included
    querydir   one byte (the FileInformationClass the request asked for,
               found by MessageId), then the PDU
    error      PDUs with a non-zero status and an ERROR body (StructureSize 9)
    spnego     security buffers of NEGOTIATE and SESSION_SETUP responses
    ntlmssp    the CHALLENGE_MESSAGE inside them
    transform  sealed frames: one byte (cipher - 1: they will not open with the
               harness's fixed key) then the frame; plus, when the Python
               'cryptography' package is present, captured plaintext frames
               sealed with KEY below (which fuzz_transform opens), and
               round-trip inputs (control bit 2)
    utf16      names used during the capture: byte 0 / 1, then UTF-16LE / UTF-8

The PDUs in tests/vectors/wire-samba-4.17.txt (also real smbd responses, with
FileInformationClasses smbfuse does not ask for) are added too. Seeds are
named by the SHA-1 of their content (as libFuzzer names its own), deduplicated,
and each target keeps at most MAX_PER_TARGET of them, smallest first within
each (command, status) kind, none over MAX_SEED bytes. Existing seeds in --out
are removed first.
"""

import argparse
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from smbfixture import SambaServer, force_unmount, fuse_mounts  # noqa: E402

# Must match fuzz_key in fuzz_transform.c (128-bit ciphers use the first 16 bytes).
KEY = bytes(range(32))
SESSION_ID = 0x0000400000000011

MAX_PER_TARGET = 24
MAX_SEED = 24 * 1024

SMB2_MAGIC = b'\xfeSMB'
TRANSFORM_MAGIC = b'\xfdSMB'
CMD_DIR = {0x00: 'negotiate', 0x01: 'session', 0x02: 'session', 0x03: 'tree', 0x04: 'tree',
           0x05: 'create', 0x06: 'close', 0x07: 'close', 0x08: 'read', 0x09: 'write',
           0x0B: 'ioctl', 0x0D: 'close', 0x0E: 'querydir', 0x10: 'info', 0x11: 'info'}
CMD_QUERY_DIRECTORY = 0x0E
# Statuses whose responses carry the command's own body (MS-SMB2 3.3.4.4).
BODY_STATUSES = (0, 0xC0000016, 0x80000005)  # SUCCESS, MORE_PROCESSING_REQUIRED, BUFFER_OVERFLOW
CIPHER_KEY_LEN = {1: 16, 2: 16, 3: 32, 4: 32}
VECTOR_QD_CLASS = {'QD_IDBOTH': 0x25, 'QD_IDFULL': 0x26, 'QD_DIR': 1, 'QD_FULL': 2,
                   'QD_BOTH': 3, 'QD_NAMES': 12}
NAMES = ['hello.txt', 'héllo wörld.txt', '日本語のファイル', 'emoji-😀-🎉', 'a b+c=d,e;f',
         'dir/sub/deep.bin', 'Ωmega ∑ ≠']


def u16(b, o):
    return struct.unpack_from('<H', b, o)[0]


def u32(b, o):
    return struct.unpack_from('<I', b, o)[0]


# ---------------------------------------------------------------- relay

class Relay:
    """Accepts smbfuse connections and pipes each to smbd, recording frames."""

    def __init__(self, port):
        self.dst = ('127.0.0.1', port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.frames = []  # (conn id, 'c2s' | 's2c', frame bytes with transport header)
        self.lock = threading.Lock()
        self.nconn = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(self.dst)
            with self.lock:
                self.nconn += 1
                cid = self.nconn
            threading.Thread(target=self._pump, args=(cid, 'c2s', c, s), daemon=True).start()
            threading.Thread(target=self._pump, args=(cid, 's2c', s, c), daemon=True).start()

    def _pump(self, cid, direction, src, dst):
        buf = b''
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                while len(buf) >= 4:
                    n = struct.unpack('>I', buf[:4])[0] & 0xFFFFFF
                    if len(buf) < 4 + n:
                        break
                    with self.lock:
                        self.frames.append((cid, direction, buf[:4 + n]))
                    buf = buf[4 + n:]
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()


# ---------------------------------------------------------------- file system activity

def step(what, fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        print('  (%s: %s)' % (what, e))
        return None


def activity(mnt, full=True):
    """The operations whose responses we want: each failure is tolerated."""
    for rel in ('dir', 'dir/sub', 'other'):
        step('mkdir', os.mkdir, os.path.join(mnt, rel))
    for i, name in enumerate(NAMES):
        data = (name.encode() + b'\n') * (1 + 37 * i)
        path = os.path.join(mnt, name)
        step('write', lambda p=path, d=data: open(p, 'wb').write(d))
    if full:
        big = os.path.join(mnt, 'big.bin')
        step('write', lambda: open(big, 'wb').write(os.urandom(9000) * 3))
        step('append', lambda: open(big, 'ab').write(b'tail' * 100))
    subprocess.run(['ls', '-lR', mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for root, _, files in os.walk(mnt):
        for f in files:
            step('read', lambda p=os.path.join(root, f): open(p, 'rb').read())
    step('statfs', os.statvfs, mnt)
    step('stat missing', os.stat, os.path.join(mnt, 'no', 'such', 'file'))
    step('open missing', lambda: open(os.path.join(mnt, 'missing.txt'), 'rb'))
    step('rename', os.rename, os.path.join(mnt, NAMES[0]), os.path.join(mnt, 'dir', 'moved.txt'))
    if full:
        step('rename dir', os.rename, os.path.join(mnt, 'other'), os.path.join(mnt, 'renamed'))
        step('rename over', os.rename, os.path.join(mnt, NAMES[1]), os.path.join(mnt, NAMES[2]))
        step('truncate', os.truncate, os.path.join(mnt, 'big.bin'), 1000)
        step('utime', os.utime, os.path.join(mnt, 'dir'), (1e9, 1e9))
        step('chmod', os.chmod, os.path.join(mnt, 'dir', 'moved.txt'), 0o600)
        step('rmdir nonempty', os.rmdir, os.path.join(mnt, 'dir'))
        step('unlink', os.unlink, os.path.join(mnt, NAMES[3]))
        step('mkdir exists', os.mkdir, os.path.join(mnt, 'dir'))
    subprocess.run(['ls', '-laR', mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    step('sync', os.sync)


def mounted(mnt):
    return any(m == mnt for _, m, _ in fuse_mounts(''))


def capture_share(srv, smbfuse, share, opts, full):
    relay = Relay(srv.port)
    mnt = tempfile.mkdtemp(prefix='fuzzcap-')
    srv.track_mount(mnt)
    unc = '//127.0.0.1:%d/%s' % (relay.port, share)
    o = ['username=' + srv.user, 'password=' + srv.password] + opts
    print('mount %s %s -o %s' % (unc, mnt, ','.join(o[:1] + ['password=...'] + o[2:])))
    r = subprocess.run([smbfuse, unc, mnt, '-o', ','.join(o)], capture_output=True, text=True,
                       timeout=60)
    deadline = time.monotonic() + 10
    while r.returncode == 0 and not mounted(mnt) and time.monotonic() < deadline:
        time.sleep(0.05)
    if r.returncode != 0 or not mounted(mnt):
        print('  mount failed (rc %d): %s' % (r.returncode, r.stderr.strip()))
    else:
        activity(mnt, full)
        subprocess.run(['fusermount3', '-u', mnt], check=False)
        deadline = time.monotonic() + 15
        while mounted(mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        if mounted(mnt):
            force_unmount(mnt)
    time.sleep(0.5)  # let LOGOFF and the last replies cross the relay
    relay.close()
    if not mounted(mnt):
        os.rmdir(mnt)
    with relay.lock:
        frames = list(relay.frames)
    print('  %d frames on %d connection(s)' % (len(frames), relay.nconn))
    return frames


# ---------------------------------------------------------------- classification

def split_pdus(msg):
    """PDUs of an SMB2 message (compound chain), by NextCommand."""
    out, off = [], 0
    while off + 64 <= len(msg) and msg[off:off + 4] == SMB2_MAGIC:
        nxt = u32(msg, off + 20)
        end = off + nxt if nxt else len(msg)
        if end > len(msg) or (nxt and nxt < 64):
            break
        out.append(msg[off:end])
        if not nxt:
            break
        off = end
    return out


def negotiated_cipher(pdu):
    """SMB2_ENCRYPTION_* chosen in a NEGOTIATE response (AES-128-CCM for 3.0/3.0.2)."""
    body = pdu[64:]
    if len(body) < 64:
        return 0
    dialect = u16(body, 4)
    if dialect in (0x0300, 0x0302):
        return 1
    if dialect != 0x0311:
        return 0
    count, off = u16(body, 6), u32(body, 60)
    for _ in range(count):
        if off + 8 > len(pdu):
            break
        ctype, dlen = u16(pdu, off), u16(pdu, off + 2)
        if ctype == 2 and dlen >= 4:
            return u16(pdu, off + 10)
        off += (8 + dlen + 7) & ~7
    return 0


def security_buffer(pdu):
    cmd, body = u16(pdu, 12), pdu[64:]
    if cmd == 0 and len(body) >= 64:
        off, n = u16(body, 56), u16(body, 58)
    elif cmd == 1 and len(body) >= 8:
        off, n = u16(body, 4), u16(body, 6)
    else:
        return b''
    return pdu[off:off + n] if n and off + n <= len(pdu) else b''


def pdu_kind(msg):
    """'command:status' of the first PDU: seeds are kept round-robin over kinds."""
    if len(msg) < 16:
        return 'short'
    return '%02x:%08x' % (u16(msg, 12), u32(msg, 8))


class Corpus:
    def __init__(self):
        self.seeds = {}  # target -> {sha1: (kind, data)}

    def add(self, target, data, kind=''):
        if not data or len(data) > MAX_SEED:
            return
        h = hashlib.sha1(data).hexdigest()
        self.seeds.setdefault(target, {}).setdefault(h, (kind, data))

    def add_pdu(self, pdu, qd_class=None):
        cmd, status, kind = u16(pdu, 12), u32(pdu, 8), pdu_kind(pdu)
        # SESSION_SETUP, QUERY_DIRECTORY and QUERY_INFO bodies are StructureSize 9 too.
        if status not in BODY_STATUSES and len(pdu) >= 66 and u16(pdu, 64) == 9:
            self.add('error', pdu, kind)
            return
        target = CMD_DIR.get(cmd)
        if target == 'querydir':
            self.add(target, bytes([qd_class if qd_class is not None else 0x25]) + pdu, kind)
        elif target:
            self.add(target, pdu, kind)
        tok = security_buffer(pdu)
        if tok:
            self.add('spnego', tok, kind)
            i = tok.find(b'NTLMSSP\x00\x02\x00\x00\x00')
            if i >= 0:
                self.add('ntlmssp', tok[i:], kind)

    def write(self, out):
        total = 0
        for target in sorted(self.seeds):
            d = os.path.join(out, target)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            # Round-robin over kinds, smallest first in each, so one kind cannot crowd out the rest.
            by_kind = {}
            for h, (kind, data) in self.seeds[target].items():
                by_kind.setdefault(kind, []).append((len(data), h, data))
            queues = [sorted(v) for _, v in sorted(by_kind.items())]
            kept = 0
            while kept < MAX_PER_TARGET and any(queues):
                for q in queues:
                    if q and kept < MAX_PER_TARGET:
                        _, h, data = q.pop(0)
                        with open(os.path.join(d, h), 'wb') as f:
                            f.write(data)
                        kept += 1
                        total += len(data)
            print('  corpus/%-10s %3d seeds' % (target, kept))
        print('  total %d bytes' % total)


def seal(cipher, plain, nonce):
    """A TRANSFORM_HEADER frame (MS-SMB2 2.2.41) sealed with KEY, or None."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
    except ImportError:
        return None
    nlen = 11 if cipher in (1, 3) else 12
    nonce16 = nonce[:nlen].ljust(16, b'\0')
    aad = nonce16 + struct.pack('<IHHQ', len(plain), 0, 1, SESSION_ID)
    key = KEY[:CIPHER_KEY_LEN[cipher]]
    aead = AESCCM(key, tag_length=16) if cipher in (1, 3) else AESGCM(key)
    ct = aead.encrypt(nonce16[:nlen], plain, aad)
    return TRANSFORM_MAGIC + ct[-16:] + aad + ct[:-16]


def classify(corpus, frames):
    """File the frames of one capture run."""
    qd_class, cipher = {}, {}
    for cid, direction, frame in frames:
        msg = frame[4:]
        if direction == 'c2s':
            for pdu in split_pdus(msg):
                if u16(pdu, 12) == CMD_QUERY_DIRECTORY and len(pdu) > 67:
                    qd_class[(cid, struct.unpack_from('<Q', pdu, 24)[0])] = pdu[66]
            continue
        if msg[:4] == TRANSFORM_MAGIC:
            c = cipher.get(cid, 2)
            corpus.add('transform', bytes([(c - 1) & 3]) + msg, 'captured')
            continue
        corpus.add('frame', frame, pdu_kind(msg))
        for pdu in split_pdus(msg):
            if u16(pdu, 12) == 0 and u32(pdu, 8) == 0:
                cipher[cid] = negotiated_cipher(pdu) or 2
            corpus.add_pdu(pdu, qd_class.get((cid, struct.unpack_from('<Q', pdu, 24)[0])))


def add_generated(corpus):
    """Seeds derived from captured data: FUZZ_KEY-sealed frames, round trips, names."""
    plain = sorted({d for _, d in corpus.seeds.get('frame', {}).values()}, key=len)
    plain = [f[4:] for f in plain if len(f) < 2048]
    for i, msg in enumerate(plain[:12]):
        cipher = 1 + i % 4
        sealed = seal(cipher, msg, hashlib.sha256(msg).digest())
        if sealed:
            corpus.add('transform', bytes([cipher - 1]) + sealed, 'sealed-%d' % cipher)
        corpus.add('transform', bytes([4 | (cipher - 1)]) + msg, 'roundtrip')
    for name in NAMES:
        corpus.add('utf16', b'\0' + name.encode('utf-16-le'), 'utf16')
        corpus.add('utf16', b'\1' + name.encode('utf-8'), 'utf8')


def add_vectors(corpus):
    path = os.path.join(ROOT, 'tests', 'vectors', 'wire-samba-4.17.txt')
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return
    for line in lines:
        if not line or line.startswith('#'):
            continue
        name, _, hexdata = line.partition(' ')
        try:
            pdu = bytes.fromhex(hexdata.strip())
        except ValueError:
            continue
        if pdu[:4] != SMB2_MAGIC:
            continue
        corpus.add_pdu(pdu, VECTOR_QD_CLASS.get(name))
        corpus.add('frame', struct.pack('>I', len(pdu)) + pdu, pdu_kind(pdu))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smbfuse', default=os.path.join(ROOT, 'build-seed', 'smbfuse'))
    ap.add_argument('--out', default=os.path.join(HERE, 'corpus'))
    args = ap.parse_args()
    smbfuse = os.path.abspath(args.smbfuse)
    if not os.access(smbfuse, os.X_OK):
        sys.exit('%s not found: meson setup build-seed -Dtests=false && '
                 'ninja -C build-seed smbfuse' % smbfuse)
    corpus = Corpus()
    with SambaServer() as srv:
        print('smbd on port %d' % srv.port)
        classify(corpus, capture_share(srv, smbfuse, 'rw', [], True))
        classify(corpus, capture_share(srv, smbfuse, 'sealed', [], False))
        if not corpus.seeds.get('transform'):
            classify(corpus, capture_share(srv, smbfuse, 'sealed', ['seal'], False))
    add_vectors(corpus)
    add_generated(corpus)
    corpus.write(args.out)


if __name__ == '__main__':
    main()
