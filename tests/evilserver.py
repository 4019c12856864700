#!/usr/bin/env python3
"""evilserver: a scripted malicious SMB2 server (standard library only).

It speaks enough real SMB 2.1 to get a client through NEGOTIATE, SESSION_SETUP
(SPNEGO + NTLMSSP; any AUTHENTICATE is accepted), TREE_CONNECT, CREATE,
QUERY_INFO, QUERY_DIRECTORY, READ, CLOSE and ECHO over a small read-only
in-memory tree, and then, per scenario, answers one chosen step with a
malformed message (or not at all).

Library:

    from evilserver import EvilServer
    with EvilServer(step='read', kind='read_more_than_asked') as s:   # s.port
        mount('//127.0.0.1:%d/share' % s.port)
        ...
        s.stats()    # {'connections': N, 'faults': N, 'requests': {cmd: N}}

    EvilServer()                      # a well-behaved server (no fault)
    EvilServer(step, kind, skip=0, times=None)
        step   which request is answered badly: negotiate, session1 (NTLM
               NEGOTIATE leg), session2 (AUTHENTICATE leg), tree, create,
               query_info, query_dir, read, close, echo, logoff, any (every
               answer but NEGOTIATE's), all (every answer), or idle (unsolicited:
               a moment after TREE_CONNECT, on every connection)
        kind   what is wrong with the answer: see KINDS (evilserver.py --list)
        skip   let this many matching requests through first
        times  fault this many matching requests (None: every one, on every
               connection, so a reconnecting client meets it again)

CLI:

    evilserver.py [--port N] [--step STEP --kind KIND] [--skip N] [--times N] [-v]
    evilserver.py --list

prints one JSON line {"port": N} once it listens; SIGINT/SIGTERM stop it.

The tree (share name is ignored):

    /hello.txt     b'hello, world\\n'
    /data.bin      200000 bytes, byte i = (i * 7 + 3) & 0xff
    /sub/          directory
    /sub/inner.txt b'inner\\n'

Everything is answered from memory; nothing on the host is touched. The
server refuses every write (STATUS_ACCESS_DENIED).
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading

# ------------------------------------------------------------------ protocol constants

NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0, 1, 2, 3, 4
CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, CANCEL, ECHO = 5, 6, 7, 8, 9, 10, 11, 12, 13
QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK = 14, 15, 16, 17, 18

CMD_NAMES = {
    NEGOTIATE: 'negotiate', SESSION_SETUP: 'session_setup', LOGOFF: 'logoff',
    TREE_CONNECT: 'tree_connect', TREE_DISCONNECT: 'tree_disconnect', CREATE: 'create',
    CLOSE: 'close', FLUSH: 'flush', READ: 'read', WRITE: 'write', LOCK: 'lock',
    IOCTL: 'ioctl', CANCEL: 'cancel', ECHO: 'echo', QUERY_DIRECTORY: 'query_dir',
    CHANGE_NOTIFY: 'change_notify', QUERY_INFO: 'query_info', SET_INFO: 'set_info',
    OPLOCK_BREAK: 'oplock_break',
}

# response StructureSize of each command (MS-SMB2 2.2.x)
RESP_SIZE = {
    NEGOTIATE: 65, SESSION_SETUP: 9, LOGOFF: 4, TREE_CONNECT: 16, TREE_DISCONNECT: 4,
    CREATE: 89, CLOSE: 60, FLUSH: 4, READ: 17, WRITE: 17, LOCK: 4, IOCTL: 49, ECHO: 4,
    QUERY_DIRECTORY: 9, CHANGE_NOTIFY: 9, QUERY_INFO: 9, SET_INFO: 2, OPLOCK_BREAK: 24,
}

FLAG_RESPONSE = 0x1
FLAG_ASYNC = 0x2
FLAG_RELATED = 0x4

STATUS_SUCCESS = 0x00000000
STATUS_PENDING = 0x00000103
STATUS_NO_MORE_FILES = 0x80000006
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_END_OF_FILE = 0xC0000011
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA
STATUS_NOT_A_DIRECTORY = 0xC0000103
STATUS_FILE_CLOSED = 0xC0000128
STATUS_INVALID_HANDLE = 0xC0000008

ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20

FILE_DIRECTORY_FILE = 0x1
FILE_NON_DIRECTORY_FILE = 0x40

RELATED_FID = b'\xff' * 16
FILETIME = 133485408000000000  # 2024-01-01T00:00:00Z

UNSOLICITED_MID = 0xFFFFFFFFFFFFFFFF


def pad8(n):
    return (n + 7) & ~7


# ------------------------------------------------------------------ the tree

def _tree():
    data = bytes(((i * 7 + 3) & 0xff) for i in range(200000))
    return {
        '': None,
        'hello.txt': b'hello, world\n',
        'data.bin': data,
        'sub': None,
        'sub\\inner.txt': b'inner\n',
    }


TREE = _tree()


def node_id(path):
    return 1000 + sorted(TREE).index(path)


def is_dir(path):
    return TREE[path] is None


def children(path):
    out = []
    for p in sorted(TREE):
        if p == '' or p == path:
            continue
        parent, _, name = p.rpartition('\\')
        if parent == path:
            out.append((name, p))
    return out


def size_of(path):
    return 0 if is_dir(path) else len(TREE[path])


def alloc_of(path):
    return (size_of(path) + 4095) & ~4095


def attrs_of(path):
    return ATTR_DIRECTORY if is_dir(path) else ATTR_ARCHIVE


# ------------------------------------------------------------------ DER / SPNEGO / NTLMSSP

def der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + content


NTLMSSP_OID = bytes.fromhex('2b0601040182370202 0a'.replace(' ', ''))


def neg_token_resp(state=None, mech=True, token=None, mic=None):
    """SPNEGO NegTokenResp (RFC 4178 4.2.2)."""
    parts = b''
    if state is not None:
        parts += der(0xa0, der(0x0a, bytes([state])))
    if mech:
        parts += der(0xa1, der(0x06, NTLMSSP_OID))
    if token is not None:
        parts += der(0xa2, der(0x04, token))
    if mic is not None:
        parts += der(0xa3, der(0x04, mic))
    return der(0xa1, der(0x30, parts))


def av_pair(av_id, value):
    return struct.pack('<HH', av_id, len(value)) + value


def utf16(s):
    return s.encode('utf-16-le')


def target_info(timestamp=True):
    ti = av_pair(2, utf16('EVIL')) + av_pair(1, utf16('EVILSRV'))
    ti += av_pair(4, utf16('evil.test')) + av_pair(3, utf16('evilsrv.evil.test'))
    if timestamp:
        ti += av_pair(7, struct.pack('<Q', FILETIME))
    return ti + av_pair(0, b'')


NTLM_FLAGS = (0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 | 0x00080000 |
              0x00800000 | 0x02000000 | 0x20000000 | 0x80000000)


def ntlm_challenge(ti=None, name=None, flags=NTLM_FLAGS, fields=None):
    """CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with Version; fields overrides the
    (len, maxlen, offset) of TargetName and TargetInfo."""
    name = utf16('EVIL') if name is None else name
    ti = target_info() if ti is None else ti
    hdr = 56
    name_off, ti_off = hdr, hdr + len(name)
    tn = (len(name), len(name), name_off)
    tif = (len(ti), len(ti), ti_off)
    if fields:
        tn, tif = fields.get('name', tn), fields.get('info', tif)
    m = b'NTLMSSP\0' + struct.pack('<I', 2)
    m += struct.pack('<HHI', *tn)
    m += struct.pack('<I', flags)
    m += bytes.fromhex('0123456789abcdef') + b'\0' * 8
    m += struct.pack('<HHI', *tif)
    m += bytes([6, 1, 0xb1, 0x1d, 0, 0, 0, 15])
    return m + name + ti


# ------------------------------------------------------------------ PDU building

class Req:
    """One request PDU of a frame."""

    def __init__(self, raw, start):
        self.raw = raw
        self.start = start  # offset in the frame
        (self.proto, self.hsize, self.charge, self.chseq, self.cmd, self.credit_req,
         self.flags, self.next, self.mid) = struct.unpack_from('<4sHHIHHIIQ', raw, 0)
        if self.flags & FLAG_ASYNC:
            self.async_id, = struct.unpack_from('<Q', raw, 32)
            self.tree_id = 0
        else:
            self.tree_id, = struct.unpack_from('<I', raw, 36)
        self.session_id, = struct.unpack_from('<Q', raw, 40)
        self.body = raw[64:]
        self.step = CMD_NAMES.get(self.cmd, 'cmd%d' % self.cmd)

    @property
    def related(self):
        return bool(self.flags & FLAG_RELATED)

    def u16(self, off):
        return struct.unpack_from('<H', self.raw, off)[0]

    def u32(self, off):
        return struct.unpack_from('<I', self.raw, off)[0]


def header(cmd, mid, status=STATUS_SUCCESS, credits=1, flags=FLAG_RESPONSE, tree_id=0,
           session_id=0, next_cmd=0, charge=0, async_id=None):
    if async_id is not None:
        flags |= FLAG_ASYNC
        mid_part = struct.pack('<Q', async_id)
    else:
        mid_part = struct.pack('<II', 0xFEFF, tree_id)
    return (b'\xfeSMB' + struct.pack('<HHIHHIIQ', 64, charge, status, cmd, credits, flags,
                                     next_cmd, mid) +
            mid_part + struct.pack('<Q', session_id) + b'\0' * 16)


def error_body(data=b''):
    return struct.pack('<HBBI', 9, 0, 0, len(data)) + (data or b'\0')


class Resp:
    """A response PDU under construction: header fields plus body bytes."""

    def __init__(self, req, status=STATUS_SUCCESS, body=b'', credits=None):
        self.req = req
        self.cmd = req.cmd
        self.mid = req.mid
        self.status = status
        self.body = body if body else error_body()
        self.credits = credits
        self.flags = FLAG_RESPONSE | (FLAG_RELATED if req.related else 0)
        self.tree_id = req.tree_id
        self.session_id = req.session_id
        self.async_id = None
        self.charge = req.charge
        self.next_cmd = None  # None: computed when the frame is built

    def hdr(self, next_cmd=0):
        cr = self.credits
        if cr is None:
            cr = max(1, min(self.req.credit_req, 512))
        return header(self.cmd, self.mid, self.status, cr, self.flags, self.tree_id,
                      self.session_id, next_cmd, self.charge, self.async_id)

    def pdu(self, next_cmd=0):
        return self.hdr(next_cmd) + self.body


def frame(payload):
    """Direct TCP transport framing (MS-SMB2 2.1)."""
    return struct.pack('>I', len(payload)) + payload


def compound(resps):
    """One frame payload holding resps as a compound (8-byte aligned)."""
    out = b''
    for i, r in enumerate(resps):
        last = i == len(resps) - 1
        body_len = 64 + len(r.body)
        nc = 0 if last else pad8(body_len)
        if r.next_cmd is not None:
            nc = r.next_cmd
        p = r.pdu(nc)
        if not last:
            p += b'\0' * (pad8(len(p)) - len(p))
        out += p
    return out


# ------------------------------------------------------------------ faults

class Hang(Exception):
    """Stop answering on this connection (keep it open)."""


class Close(Exception):
    """Close this connection now."""


# Body layout of the variable buffer of each response: (offset field pos, size,
# length field pos, size) within the body.
BUF_FIELDS = {
    NEGOTIATE: (56, 2, 58, 2),
    SESSION_SETUP: (4, 2, 6, 2),
    QUERY_INFO: (2, 2, 4, 4),
    QUERY_DIRECTORY: (2, 2, 4, 4),
    READ: (2, 1, 4, 4),
    CREATE: (80, 4, 84, 4),
}

_PACK = {1: '<B', 2: '<H', 4: '<I', 8: '<Q'}


def poke(b, pos, size, val):
    b = bytearray(b)
    struct.pack_into(_PACK[size], b, pos, val & ((1 << (8 * size)) - 1))
    return bytes(b)


def peek(b, pos, size):
    return struct.unpack_from(_PACK[size], b, pos)[0]


class Ctx:
    """What a fault sees: the connection, the frame's requests and responses, and
    the index of the one it targets."""

    def __init__(self, conn, reqs, resps, i):
        self.conn, self.reqs, self.resps, self.i = conn, reqs, resps, i

    @property
    def r(self):
        return self.resps[self.i]

    def send(self, data):
        self.conn.sendall(data)

    def send_frame(self, payload):
        self.conn.sendall(frame(payload))

    def send_normal(self):
        self.send_frame(compound(self.resps))


KINDS = {}


def kind(name, doc, steps=None):
    """Register a fault. steps: the commands it applies to (None: any)."""
    def deco(fn):
        fn.kind_name, fn.doc, fn.steps = name, doc, steps
        KINDS[name] = fn
        return fn
    return deco


def body_kind(name, doc, steps=None):
    """A fault that rewrites the targeted response (Resp) and sends the frame."""
    def deco(fn):
        def run(ctx):
            fn(ctx.r, ctx)
            # the same step again later in the frame (a compound of two
            # QUERY_DIRECTORY, say): faulted as well, as separate frames would be
            for j in range(ctx.i + 1, len(ctx.resps)):
                if ctx.conn.server.should_fault(ctx.conn, ctx.resps[j].req):
                    fn(ctx.resps[j], Ctx(ctx.conn, ctx.reqs, ctx.resps, j))
            ctx.send_normal()
        run.__doc__ = doc
        return kind(name, doc, steps)(run)
    return deco


# ---- transport level

@kind('frame_len_zero', 'a frame whose transport length is 0')
def _k(ctx):
    ctx.send(b'\0\0\0\0')
    raise Hang()


@kind('frame_len_zero_then_ok', 'a 0-length frame, then the real answer')
def _k(ctx):
    ctx.send(b'\0\0\0\0')
    ctx.send_normal()


@kind('frame_len_max', 'a frame header announcing 16 MiB - 1, then nothing')
def _k(ctx):
    ctx.send(b'\x00\xff\xff\xff')
    raise Hang()


@kind('frame_len_max_close', 'a frame header announcing 16 MiB - 1, some bytes, then close')
def _k(ctx):
    ctx.send(b'\x00\xff\xff\xff' + compound(ctx.resps))
    raise Close()


@kind('frame_len_32bit', 'a 4-byte big-endian length of 32 MiB (first byte not zero)')
def _k(ctx):
    ctx.send(struct.pack('>I', 32 << 20) + compound(ctx.resps))
    raise Hang()


@kind('frame_len_tiny', 'a frame of 3 bytes (shorter than a protocol id)')
def _k(ctx):
    ctx.send_frame(b'\xfeSM')
    raise Hang()


@kind('frame_len_short_hdr', 'a frame of 40 bytes: a truncated SMB2 header')
def _k(ctx):
    ctx.send_frame(ctx.r.pdu()[:40])
    raise Hang()


@kind('truncated', 'the frame length counts more bytes than are sent; the socket stays open')
def _k(ctx):
    p = compound(ctx.resps)
    ctx.send(struct.pack('>I', len(p) + 100) + p)
    raise Hang()


@kind('close_mid_frame', 'half of the frame, then the connection closes')
def _k(ctx):
    f = frame(compound(ctx.resps))
    ctx.send(f[:len(f) // 2])
    raise Close()


@kind('close_mid_header', 'two bytes of the transport header, then the connection closes')
def _k(ctx):
    ctx.send(b'\x00\x00')
    raise Close()


@kind('close', 'the connection closes instead of an answer')
def _k(ctx):
    raise Close()


@kind('reset', 'the connection is reset (RST) instead of an answer')
def _k(ctx):
    ctx.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    raise Close()


@kind('hang', 'never answer again on this connection (the socket stays open)')
def _k(ctx):
    raise Hang()


@kind('no_answer', 'drop this request silently, keep answering the others (ECHO too)')
def _k(ctx):
    others = [r for j, r in enumerate(ctx.resps) if j != ctx.i]
    if others:
        ctx.send_frame(compound(others))


@kind('garbage', '600 random bytes instead of a frame')
def _k(ctx):
    ctx.send(os.urandom(600))
    raise Hang()


@kind('garbage_frame', 'a well-framed payload of random bytes')
def _k(ctx):
    ctx.send_frame(os.urandom(300))
    ctx.send_normal()


@kind('smb1', 'an SMB1 (0xFF SMB) reply')
def _k(ctx):
    smb1 = b'\xffSMB' + bytes([0x72]) + b'\0' * 4 + bytes([0x98]) + struct.pack('<H', 0xc853)
    smb1 += b'\0' * 12 + struct.pack('<HHHH', 0, 0xfeff, 0, 0)
    smb1 += bytes([17]) + b'\0' * 34 + struct.pack('<H', 0)
    ctx.send_frame(smb1)
    raise Hang()


@kind('transform_garbage', 'a transform header (0xFD SMB) with garbage instead of the answer')
def _k(ctx):
    p = b'\xfdSMB' + os.urandom(16) + os.urandom(16) + struct.pack('<IHHQ', 200, 0, 1,
                                                                   ctx.r.session_id)
    ctx.send_frame(p + os.urandom(200))
    raise Hang()


@kind('transform_short', 'a transform header cut short (20 bytes)')
def _k(ctx):
    ctx.send_frame(b'\xfdSMB' + os.urandom(16))
    raise Hang()


@kind('transform_len_huge', 'a transform header whose OriginalMessageSize is 4 GiB - 1')
def _k(ctx):
    p = b'\xfdSMB' + b'\0' * 32 + struct.pack('<IHHQ', 0xFFFFFFFF, 0, 1, ctx.r.session_id)
    ctx.send_frame(p + b'\0' * 64)
    raise Hang()


@kind('compressed', 'a compression transform header (0xFC SMB), never negotiated')
def _k(ctx):
    p = b'\xfcSMB' + struct.pack('<IHHI', 0xFFFFFF, 1, 0, 0)
    ctx.send_frame(p + compound(ctx.resps))
    raise Hang()


# ---- header level

@body_kind('bad_protocol_id', 'ProtocolId 0xFE "SMC"')
def _k(r, ctx):
    orig = r.pdu

    def pdu(next_cmd=0):
        return b'\xfeSMC' + orig(next_cmd)[4:]
    r.pdu = pdu


@body_kind('hdr_structure_size', 'SMB2 header StructureSize 65 instead of 64')
def _k(r, ctx):
    orig = r.pdu
    r.pdu = lambda next_cmd=0: poke(orig(next_cmd), 4, 2, 65)


@body_kind('no_response_flag', 'the SERVER_TO_REDIR flag is clear (a request, not a response)')
def _k(r, ctx):
    r.flags &= ~FLAG_RESPONSE


@body_kind('wrong_command', 'the answer names another command (ECHO, or CLOSE for an ECHO)')
def _k(r, ctx):
    r.cmd = CLOSE if r.cmd == ECHO else ECHO


@body_kind('unknown_command', 'Command 0x0099')
def _k(r, ctx):
    r.cmd = 0x99


@body_kind('unknown_msgid', 'the answer carries a MessageId never used (+1000)')
def _k(r, ctx):
    r.mid += 1000


@body_kind('msgid_unsolicited', 'the answer carries MessageId 0xFFFF...FF but is not a break')
def _k(r, ctx):
    r.mid = UNSOLICITED_MID


@kind('never_sent', 'first an answer to a request never sent (MessageId + 5), then the real one')
def _k(ctx):
    ghost = Resp(ctx.r.req)
    ghost.body = ctx.r.body
    ghost.status = ctx.r.status
    ghost.mid = ctx.r.mid + 5 + ctx.r.charge
    ctx.send_frame(compound([ghost]))
    ctx.send_normal()


@kind('duplicate', 'the answer, twice (the second answers a request no longer pending)')
def _k(ctx):
    ctx.send_normal()
    ctx.send_normal()


@kind('split_async_dup', 'a final answer, then an interim STATUS_PENDING for the same MessageId')
def _k(ctx):
    ctx.send_normal()
    r = ctx.r
    interim = Resp(r.req, STATUS_PENDING, error_body(), credits=0)
    interim.async_id = 0x55
    ctx.send_frame(compound([interim]))


@body_kind('credits_65535', 'CreditResponse 65535 (on every answer it targets)')
def _k(r, ctx):
    r.credits = 65535


@body_kind('credits_zero', 'CreditResponse 0 (the client runs out of credits)')
def _k(r, ctx):
    r.credits = 0


@body_kind('credits_32768', 'CreditResponse 32768 (two of them overflow a 16-bit window)')
def _k(r, ctx):
    r.credits = 32768


@body_kind('session_id_other', 'the answer carries another SessionId')
def _k(r, ctx):
    r.session_id ^= 0x5A5A0000


@body_kind('signed_flag_garbage', 'SMB2_FLAGS_SIGNED with a garbage signature')
def _k(r, ctx):
    r.flags |= 0x8
    orig = r.pdu
    r.pdu = lambda next_cmd=0: orig(next_cmd)[:48] + os.urandom(16) + orig(next_cmd)[64:]


@kind('status_pending_forever', 'an interim STATUS_PENDING answer, then never the final one')
def _k(ctx):
    r = ctx.r
    interim = Resp(r.req, STATUS_PENDING, error_body())
    interim.async_id = 0x1234 + r.mid
    interim.tree_id = 0
    ctx.resps[ctx.i] = interim
    ctx.send_normal()


@kind('status_pending_sync', 'STATUS_PENDING without the ASYNC flag, then never the final one')
def _k(ctx):
    r = ctx.r
    interim = Resp(r.req, STATUS_PENDING, error_body())
    ctx.resps[ctx.i] = interim
    ctx.send_normal()


@kind('status_pending_storm', '2000 interim STATUS_PENDING answers, then the real one')
def _k(ctx):
    r = ctx.r
    interim = Resp(r.req, STATUS_PENDING, error_body(), credits=0)
    interim.async_id = 0x99
    one = frame(compound([interim]))
    ctx.send(one * 2000)
    ctx.send_normal()


# ---- compound chains

@kind('next_cmd_out_of_range', 'NextCommand points past the end of the frame')
def _k(ctx):
    ctx.r.next_cmd = 0x10000
    ctx.send_normal()


@kind('next_cmd_unaligned', 'NextCommand 66: not 8-byte aligned, inside the header of the next')
def _k(ctx):
    ctx.r.next_cmd = 66
    ctx.send_normal()


@kind('next_cmd_small', 'NextCommand 8: the next PDU would overlap this header')
def _k(ctx):
    ctx.r.next_cmd = 8
    ctx.send_normal()


@kind('next_cmd_to_end', 'NextCommand equals the PDU length but nothing follows')
def _k(ctx):
    r = ctx.r
    resps = ctx.resps[:ctx.i + 1]
    r.body += b'\0' * (pad8(64 + len(r.body)) - 64 - len(r.body))
    r.next_cmd = 64 + len(r.body)
    ctx.send_frame(compound(resps))


@kind('next_cmd_huge', 'NextCommand 0xFFFFFFF8')
def _k(ctx):
    ctx.r.next_cmd = 0xFFFFFFF8
    ctx.send_normal()


@kind('next_cmd_loop', 'a compound of 4000 copies of the same answer (same MessageId), chained')
def _k(ctx):
    r = ctx.r
    body = r.body + b'\0' * (pad8(64 + len(r.body)) - 64 - len(r.body))
    one = r.hdr(64 + len(body)) + body
    last = r.hdr(0) + body
    ctx.send_frame(one * 3999 + last)


@kind('compound_extra', 'a real answer followed (same frame) by an answer to a request never sent')
def _k(ctx):
    ghost = Resp(ctx.r.req)
    ghost.body = ctx.r.body
    ghost.mid = ctx.resps[-1].mid + 7
    ctx.send_frame(compound(ctx.resps + [ghost]))


@kind('compound_split_unrelated', 'the compound answered in one frame in reverse order')
def _k(ctx):
    ctx.send_frame(compound(list(reversed(ctx.resps))))


# ---- body level

@body_kind('body_structure_size', 'body StructureSize off by 2')
def _k(r, ctx):
    r.body = poke(r.body, 0, 2, peek(r.body, 0, 2) + 2)


@body_kind('body_structure_size_zero', 'body StructureSize 0')
def _k(r, ctx):
    r.body = poke(r.body, 0, 2, 0)


@body_kind('body_short', 'the body is cut to its first 2 bytes')
def _k(r, ctx):
    r.body = r.body[:2]


@body_kind('body_empty', 'a header with no body at all')
def _k(r, ctx):
    r.body = b''
    orig = r.pdu
    r.pdu = lambda next_cmd=0: orig(next_cmd)[:64]


@body_kind('body_half', 'the body is cut in half')
def _k(r, ctx):
    r.body = r.body[:max(2, len(r.body) // 2)]


@body_kind('err_status_success', 'an ERROR body (StructureSize 9) with STATUS_SUCCESS')
def _k(r, ctx):
    r.status = STATUS_SUCCESS
    r.body = error_body()


@body_kind('err_bytecount_huge', 'STATUS_ACCESS_DENIED with ErrorData ByteCount 0xFFFFFFFF')
def _k(r, ctx):
    r.status = STATUS_ACCESS_DENIED
    r.body = struct.pack('<HBBI', 9, 0, 0, 0xFFFFFFFF) + b'\0'


@body_kind('err_ctx_count', 'an error with ErrorContextCount 255 and 8 bytes of contexts')
def _k(r, ctx):
    r.status = STATUS_INVALID_PARAMETER
    r.body = struct.pack('<HBBI', 9, 255, 0, 8) + struct.pack('<II', 0xFFFFFFF0, 0)


@body_kind('err_short', 'an error status whose body is 4 bytes')
def _k(r, ctx):
    r.status = STATUS_ACCESS_DENIED
    r.body = struct.pack('<HH', 9, 0)


@body_kind('status_unknown', 'an unknown error NTSTATUS 0xC0DEDEAD with an error body')
def _k(r, ctx):
    r.status = 0xC0DEDEAD
    r.body = error_body()


@body_kind('status_warning_body', 'STATUS_BUFFER_OVERFLOW (a warning) with an error body')
def _k(r, ctx):
    r.status = 0x80000005
    r.body = error_body()


def _buf_fields(r):
    f = BUF_FIELDS.get(r.cmd)
    if not f:
        raise KeyError('no buffer in a %s response' % CMD_NAMES.get(r.cmd))
    return f


BUF_STEPS = ('negotiate', 'session1', 'session2', 'create', 'query_info', 'query_dir', 'read')


@body_kind('buf_off_past_end', 'the buffer offset points past the end of the frame',
           BUF_STEPS)
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    ln = peek(r.body, lp, lsz) or 16
    r.body = poke(poke(r.body, op, osz, 64 + len(r.body) + 64 if osz > 1 else 0xF8), lp, lsz, ln)


@body_kind('buf_off_zero', 'the buffer offset is 0 (inside the SMB2 header)', BUF_STEPS)
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    ln = peek(r.body, lp, lsz) or 16
    r.body = poke(poke(r.body, op, osz, 0), lp, lsz, ln)


@body_kind('buf_off_in_body', 'the buffer offset points into the fixed part of the body',
           BUF_STEPS)
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    ln = peek(r.body, lp, lsz) or 16
    r.body = poke(poke(r.body, op, osz, 66), lp, lsz, ln)


@body_kind('buf_len_huge', 'the buffer length is the largest its field holds', BUF_STEPS)
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    r.body = poke(r.body, lp, lsz, 0xFFFFFFFF)
    if peek(r.body, op, osz) == 0:
        r.body = poke(r.body, op, osz, 64 + RESP_SIZE[r.cmd] - 1)


@body_kind('buf_len_plus_one', 'the buffer length runs one byte past the frame', BUF_STEPS)
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    off = peek(r.body, op, osz)
    if off == 0:
        off = 64 + RESP_SIZE[r.cmd] - 1
        r.body = poke(r.body, op, osz, off)
    r.body = poke(r.body, lp, lsz, 64 + len(r.body) - off + 1)


@body_kind('buf_off_len_wrap', 'offset + length wraps around 2^32', ('create',))
def _k(r, ctx):
    op, osz, lp, lsz = _buf_fields(r)
    r.body = poke(poke(r.body, op, osz, 0xFFFFFFF0), lp, lsz, 0x20)


# ---- command specific: NEGOTIATE

def _neg_body(dialect=0x0210, sec_mode=1, caps=0x4, max_rw=1 << 20, ctx_count=0, ctx_off=0,
              sec=b'', extra=b''):
    b = struct.pack('<HHHH', 65, sec_mode, dialect, ctx_count) + b'EVILSERVERGUID!!'
    b += struct.pack('<IIIIQQ', caps, max_rw, max_rw, max_rw, FILETIME, 0)
    b += struct.pack('<HHI', 128 if sec else 0, len(sec), ctx_off)
    return b + sec + extra


@body_kind('neg_dialect_wildcard', 'dialect 0x02FF (SMB1-style multi-protocol answer)',
           ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x02FF)


@body_kind('neg_dialect_unoffered', 'dialect 0x0400 (never offered)', ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x0400)


@body_kind('neg_dialect_0202', 'dialect 2.0.2', ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x0202)


@body_kind('neg_311_no_ctx', 'dialect 3.1.1 with no negotiate contexts', ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x0311)


@body_kind('neg_311_ctx_count_huge', 'dialect 3.1.1, 65535 contexts, one present',
           ('negotiate',))
def _k(r, ctx):
    c = struct.pack('<HHI', 1, 38, 0) + struct.pack('<HHH', 1, 32, 1) + os.urandom(32)
    r.body = _neg_body(dialect=0x0311, ctx_count=65535, ctx_off=128, extra=c)


@body_kind('neg_311_ctx_off_out', 'dialect 3.1.1, context offset past the frame',
           ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x0311, ctx_count=1, ctx_off=0x7FFFFFF8)


@body_kind('neg_311_ctx_len_huge', 'dialect 3.1.1, a context whose DataLength is 65535',
           ('negotiate',))
def _k(r, ctx):
    c = struct.pack('<HHI', 1, 65535, 0) + struct.pack('<HHH', 1, 32, 1) + os.urandom(32)
    r.body = _neg_body(dialect=0x0311, ctx_count=1, ctx_off=128, extra=c)


@body_kind('neg_311_salt_len_huge', 'dialect 3.1.1, preauth SaltLength 65535', ('negotiate',))
def _k(r, ctx):
    c = struct.pack('<HHI', 1, 38, 0) + struct.pack('<HHH', 1, 65535, 1) + os.urandom(32)
    r.body = _neg_body(dialect=0x0311, ctx_count=1, ctx_off=128, extra=c)


@body_kind('neg_311_unsigned', 'dialect 3.1.1 done right, but the session will not be signed',
           ('negotiate',))
def _k(r, ctx):
    c = struct.pack('<HHI', 1, 38, 0) + struct.pack('<HHH', 1, 32, 1) + os.urandom(32)
    r.body = _neg_body(dialect=0x0311, ctx_count=1, ctx_off=128, extra=c)


@body_kind('neg_signing_required_30', 'dialect 3.0 requiring signing (the final session '
           'response is not signed)', ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(dialect=0x0300, sec_mode=3)


@body_kind('neg_max_rw_zero', 'MaxReadSize = MaxWriteSize = MaxTransactSize = 0',
           ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(max_rw=0)


@body_kind('neg_max_rw_tiny', 'MaxReadSize = MaxWriteSize = MaxTransactSize = 1',
           ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(max_rw=1)


@body_kind('neg_max_rw_huge', 'MaxReadSize = MaxWriteSize = MaxTransactSize = 4 GiB - 1',
           ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(max_rw=0xFFFFFFFF)


@body_kind('neg_secbuf_garbage', 'a security buffer of random bytes', ('negotiate',))
def _k(r, ctx):
    r.body = _neg_body(sec=os.urandom(90))


# ---- command specific: SESSION_SETUP

def _sess_body(tok, flags=0):
    return struct.pack('<HHHH', 9, flags, 72, len(tok)) + tok


def _set_challenge(r, chal=None, spnego=None):
    r.status = STATUS_MORE_PROCESSING_REQUIRED
    if spnego is None:
        spnego = neg_token_resp(1, True, chal)
    r.body = _sess_body(spnego)


S1 = ('session1',)


@body_kind('spnego_garbage', 'the security buffer is random bytes', ('session1', 'session2'))
def _k(r, ctx):
    r.body = _sess_body(os.urandom(120))


@body_kind('spnego_len_huge', 'a DER length of 2^31 in the SPNEGO token', ('session1', 'session2'))
def _k(r, ctx):
    r.body = _sess_body(b'\xa1\x84\x7f\xff\xff\xff\x30\x84\x7f\xff\xff\xf0' + b'\0' * 40)


@body_kind('spnego_len_long_form', 'a DER length in 9-byte long form', ('session1', 'session2'))
def _k(r, ctx):
    r.body = _sess_body(b'\xa1\x89' + b'\xff' * 9 + b'\0' * 40)


@body_kind('spnego_deep_nesting', '2000 nested DER constructed tags', ('session1', 'session2'))
def _k(r, ctx):
    t = b''
    for _ in range(2000):
        t = der(0x30, t) if len(t) < 60000 else t
    r.body = _sess_body(t[:65000])


@body_kind('spnego_no_token', 'NegTokenResp accept-incomplete without a responseToken', S1)
def _k(r, ctx):
    _set_challenge(r, spnego=neg_token_resp(1, True, None))


@body_kind('spnego_empty_token', 'NegTokenResp with an empty responseToken', S1)
def _k(r, ctx):
    _set_challenge(r, b'')


@body_kind('spnego_trailing', 'a valid NegTokenResp followed by trailing bytes', S1)
def _k(r, ctx):
    _set_challenge(r, spnego=neg_token_resp(1, True, ntlm_challenge()) + b'\0\0\0')


@body_kind('spnego_bad_mech', 'supportedMech is Kerberos, token still NTLMSSP', S1)
def _k(r, ctx):
    t = der(0xa0, der(0x0a, b'\x01')) + der(0xa1, der(0x06, bytes.fromhex('2a864886f712010202')))
    t += der(0xa2, der(0x04, ntlm_challenge()))
    _set_challenge(r, spnego=der(0xa1, der(0x30, t)))


@body_kind('ntlm_short', 'an NTLMSSP CHALLENGE of 20 bytes', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge()[:20])


@body_kind('ntlm_bad_signature', 'NTLMSSP signature "NTLMSSX"', S1)
def _k(r, ctx):
    _set_challenge(r, b'NTLMSSX\0' + ntlm_challenge()[8:])


@body_kind('ntlm_wrong_type', 'an NTLMSSP message of type 3 instead of 2', S1)
def _k(r, ctx):
    c = bytearray(ntlm_challenge())
    c[8] = 3
    _set_challenge(r, bytes(c))


@body_kind('ntlm_ti_off_out', 'TargetInfo offset past the message', S1)
def _k(r, ctx):
    ti = target_info()
    _set_challenge(r, ntlm_challenge(fields={'info': (len(ti), len(ti), 0x7FFFFFF0)}))


@body_kind('ntlm_ti_len_huge', 'TargetInfo length 65535', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(fields={'info': (65535, 65535, 64)}))


@body_kind('ntlm_ti_off_in_header', 'TargetInfo offset 8 (overlaps the fixed header)', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(fields={'info': (40, 40, 8)}))


@body_kind('ntlm_name_off_out', 'TargetName offset + length past the message', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(fields={'name': (200, 200, 56)}))


@body_kind('ntlm_name_odd', 'a Unicode TargetName of odd length', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(name=b'EVI'))


@body_kind('ntlm_av_len_huge', 'an AV pair whose length runs past TargetInfo', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=struct.pack('<HH', 2, 0xFFF0) + b'E\0' + av_pair(0, b'')))


@body_kind('ntlm_av_no_eol', 'TargetInfo without MsvAvEOL', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=av_pair(2, utf16('EVIL')) + av_pair(1, utf16('X'))))


@body_kind('ntlm_av_eol_early', 'MsvAvEOL followed by more pairs', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=av_pair(0, b'') + av_pair(2, utf16('EVIL')) +
                                     av_pair(0, b'')))


@body_kind('ntlm_av_timestamp_short', 'MsvAvTimestamp of 3 bytes', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=av_pair(7, b'abc') + av_pair(0, b'')))


@body_kind('ntlm_av_dup_timestamp', 'two MsvAvTimestamp pairs', S1)
def _k(r, ctx):
    ts = av_pair(7, struct.pack('<Q', FILETIME))
    _set_challenge(r, ntlm_challenge(ti=ts + ts + av_pair(0, b'')))


@body_kind('ntlm_av_many', '10000 AV pairs (TargetInfo near 64 KiB)', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=av_pair(2, b'AB') * 10000 + av_pair(0, b'')))


@body_kind('ntlm_oem_only', 'a challenge without NTLMSSP_NEGOTIATE_UNICODE', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(flags=NTLM_FLAGS & ~1))


@body_kind('ntlm_no_version_short', 'the VERSION flag set in a 48-byte message', S1)
def _k(r, ctx):
    _set_challenge(r, ntlm_challenge(ti=b'', name=b'')[:48])


@body_kind('sess1_success', 'STATUS_SUCCESS on the first leg (no challenge)', S1)
def _k(r, ctx):
    r.status = STATUS_SUCCESS
    r.body = _sess_body(neg_token_resp(0, False))


@body_kind('sess1_session_id_zero', 'SessionId 0 on the challenge', S1)
def _k(r, ctx):
    r.session_id = 0


@body_kind('sess2_more_processing', 'a third leg demanded: MORE_PROCESSING on AUTHENTICATE',
           ('session2',))
def _k(r, ctx):
    r.status = STATUS_MORE_PROCESSING_REQUIRED
    r.body = _sess_body(neg_token_resp(1, True, ntlm_challenge()))


@body_kind('sess2_bad_mic', 'accept-completed with a garbage mechListMIC', ('session2',))
def _k(r, ctx):
    r.body = _sess_body(neg_token_resp(0, False, None, os.urandom(16)))


@body_kind('sess2_mic_huge', 'accept-completed with a 4000-byte mechListMIC', ('session2',))
def _k(r, ctx):
    r.body = _sess_body(neg_token_resp(0, False, None, os.urandom(4000)))


@body_kind('sess2_reject', 'NegTokenResp reject with STATUS_SUCCESS', ('session2',))
def _k(r, ctx):
    r.body = _sess_body(neg_token_resp(2, False))


@body_kind('sess2_encrypt_flag', 'SessionFlags ENCRYPT_DATA on an SMB 2.1 session',
           ('session2',))
def _k(r, ctx):
    r.body = poke(r.body, 2, 2, 4)


@body_kind('sess2_guest_null', 'SessionFlags IS_GUEST|IS_NULL|0xFFF8', ('session2',))
def _k(r, ctx):
    r.body = poke(r.body, 2, 2, 0xFFFF)


@body_kind('sess2_session_id_other', 'a SessionId different from the challenge',
           ('session2',))
def _k(r, ctx):
    r.session_id += 1


# ---- TREE_CONNECT

@body_kind('tree_pipe', 'ShareType PIPE', ('tree',))
def _k(r, ctx):
    r.body = poke(r.body, 2, 1, 2)


@body_kind('tree_type_unknown', 'ShareType 0xEE', ('tree',))
def _k(r, ctx):
    r.body = poke(r.body, 2, 1, 0xEE)


@body_kind('tree_encrypt', 'ShareFlags ENCRYPT_DATA on an SMB 2.1 session', ('tree',))
def _k(r, ctx):
    r.body = poke(r.body, 4, 4, 0x8000)


@body_kind('tree_all_flags', 'ShareFlags, Capabilities and MaximalAccess all ones', ('tree',))
def _k(r, ctx):
    r.body = poke(poke(poke(r.body, 4, 4, 0xFFFF7FFF), 8, 4, 0xFFFFFFFF), 12, 4, 0xFFFFFFFF)


@body_kind('tree_id_zero', 'TreeId 0', ('tree',))
def _k(r, ctx):
    r.tree_id = 0


# ---- CREATE

@body_kind('create_fid_related', 'FileId all ones (the "related" sentinel)', ('create',))
def _k(r, ctx):
    r.body = r.body[:64] + RELATED_FID + r.body[80:]


@body_kind('create_ctx_garbage', 'a create context list of garbage', ('create',))
def _k(r, ctx):
    g = struct.pack('<IHHHHI', 0xFFFFFFF0, 16, 0xFFF0, 0, 24, 0x10000) + os.urandom(24)
    r.body = poke(poke(r.body[:88], 80, 4, 64 + 88), 84, 4, len(g)) + g


@body_kind('create_ctx_loop', 'a create context whose Next points to itself', ('create',))
def _k(r, ctx):
    g = struct.pack('<IHHHHI', 0, 16, 4, 0, 24, 8) + b'RqLs' + b'\0' * 4 + b'\0' * 8
    r.body = poke(poke(r.body[:88], 80, 4, 64 + 88), 84, 4, len(g)) + g


@body_kind('create_size_huge', 'EndOfFile and AllocationSize 2^63 - 1 and 2^64 - 1',
           ('create',))
def _k(r, ctx):
    r.body = poke(poke(r.body, 48, 8, 0xFFFFFFFFFFFFFFFF), 40, 8, 0x7FFFFFFFFFFFFFFF)


@body_kind('create_times_huge', 'every FILETIME 0xFFFFFFFFFFFFFFFF', ('create',))
def _k(r, ctx):
    b = r.body
    for off in (8, 16, 24, 32):
        b = poke(b, off, 8, 0xFFFFFFFFFFFFFFFF)
    r.body = b


@body_kind('create_attr_dir', 'a file reported with FILE_ATTRIBUTE_DIRECTORY and all bits',
           ('create',))
def _k(r, ctx):
    r.body = poke(r.body, 56, 4, 0xFFFFFFFF)


# ---- QUERY_INFO

def _qi_buf(r, buf):
    r.body = struct.pack('<HHI', 9, 72, len(buf)) + buf


@body_kind('qi_all_short', 'FileAllInformation of 20 bytes', ('query_info',))
def _k(r, ctx):
    _qi_buf(r, b'\0' * 20)


@body_kind('qi_all_name_huge', 'FileAllInformation with FileNameLength 0xFFFFFFFF',
           ('query_info',))
def _k(r, ctx):
    b = peek(r.body, 2, 2)
    buf = r.body[b - 64:]
    if len(buf) >= 100:
        buf = poke(buf, 96, 4, 0xFFFFFFFF)
    _qi_buf(r, buf)


@body_kind('qi_overflow_empty', 'STATUS_BUFFER_OVERFLOW with an empty buffer', ('query_info',))
def _k(r, ctx):
    r.status = 0x80000005
    _qi_buf(r, b'')


@body_kind('qi_size_negative', 'EndOfFile 2^64 - 1, AllocationSize 2^63, links 0',
           ('query_info',))
def _k(r, ctx):
    b = peek(r.body, 2, 2)
    buf = r.body[b - 64:]
    if len(buf) >= 64:
        buf = poke(poke(poke(buf, 48, 8, 0xFFFFFFFFFFFFFFFF), 40, 8, 1 << 63), 56, 4, 0)
    _qi_buf(r, buf)


@body_kind('qi_too_long', '64 KiB more than the client asked for', ('query_info',))
def _k(r, ctx):
    b = peek(r.body, 2, 2)
    _qi_buf(r, r.body[b - 64:] + b'\0' * 65536)


# ---- QUERY_DIRECTORY

def dirent(name16, next_off=None, name_len=None, attrs=ATTR_ARCHIVE, size=5, fid=77):
    e = struct.pack('<II', 0, 0) + struct.pack('<QQQQ', FILETIME, FILETIME, FILETIME, FILETIME)
    e += struct.pack('<QQI', size, (size + 4095) & ~4095, attrs)
    e += struct.pack('<II', len(name16) if name_len is None else name_len, 0)
    e += bytes([0, 0]) + b'\0' * 24 + b'\0\0' + struct.pack('<Q', fid)
    e += name16
    total = pad8(len(e))
    e += b'\0' * (total - len(e))
    if next_off is not None:
        e = poke(e, 0, 4, next_off)
    return e


def _qd_buf(r, buf):
    r.status = STATUS_SUCCESS
    r.body = struct.pack('<HHI', 9, 72, len(buf)) + buf


QD = ('query_dir',)


@body_kind('qd_next_past_end', 'NextEntryOffset past the end of the buffer', QD)
def _k(r, ctx):
    _qd_buf(r, dirent(utf16('a'), next_off=0x10000))


@body_kind('qd_next_small', 'NextEntryOffset 8 (shorter than the entry)', QD)
def _k(r, ctx):
    _qd_buf(r, dirent(utf16('aaaa'), next_off=8) + dirent(utf16('b')))


@body_kind('qd_next_loop_like', '30000 entries of 8 bytes each (NextEntryOffset 8)', QD)
def _k(r, ctx):
    _qd_buf(r, struct.pack('<II', 8, 0) * 8000)


@body_kind('qd_name_len_huge', 'FileNameLength 0xFFFFFFFE', QD)
def _k(r, ctx):
    _qd_buf(r, dirent(utf16('a'), name_len=0xFFFFFFFE))


@body_kind('qd_name_len_odd', 'FileNameLength 3', QD)
def _k(r, ctx):
    _qd_buf(r, dirent(utf16('ab'), name_len=3))


@body_kind('qd_entry_short', 'a 40-byte entry (shorter than the fixed part)', QD)
def _k(r, ctx):
    _qd_buf(r, dirent(utf16('a'))[:40])


@body_kind('qd_names_bad', 'names with "/", NUL, a lone surrogate, "", "." and ".." only', QD)
def _k(r, ctx):
    names = [utf16('a/b'), b'a\0b\0', b'\x00\xd8', b'', utf16('.'), utf16('..'),
             utf16('x' * 300), b'\xff\xfe' * 2000]
    es = [dirent(n) for n in names]
    buf = b''
    for i, e in enumerate(es):
        buf += poke(e, 0, 4, 0 if i == len(es) - 1 else len(e))
    _qd_buf(r, buf)


@body_kind('qd_dup_names', '500 entries all named "dup"', QD)
def _k(r, ctx):
    e = dirent(utf16('dup'))
    e = poke(e, 0, 4, len(e))
    last = dirent(utf16('dup'))
    _qd_buf(r, e * 499 + last)


@body_kind('qd_success_empty', 'STATUS_SUCCESS with an empty buffer, forever', QD)
def _k(r, ctx):
    _qd_buf(r, b'')


@body_kind('qd_endless', 'every answer holds 450 new names (a full 64 KiB); STATUS_NO_MORE_FILES never comes', QD)
def _k(r, ctx):
    c = ctx.conn
    c.endless = getattr(c, 'endless', 0) + 1
    es = [dirent(utf16('f%08d-%03d' % (c.endless, i))) for i in range(450)]
    _qd_buf(r, b''.join(poke(e, 0, 4, 0 if i == 449 else len(e)) for i, e in enumerate(es)))


@body_kind('qd_wrong_class_layout', 'entries in FileNamesInformation layout', QD)
def _k(r, ctx):
    n = utf16('short')
    _qd_buf(r, struct.pack('<III', 0, 0, len(n)) + n)


# ---- READ

RD = ('read',)


def _read_buf(r, data, off=80, length=None):
    r.status = STATUS_SUCCESS
    r.body = struct.pack('<HBBIII', 17, off, 0, len(data) if length is None else length, 0, 0)
    r.body += data


@body_kind('read_more_than_asked', 'DataLength larger than the requested Length', RD)
def _k(r, ctx):
    want = r.req.u32(64 + 4)
    _read_buf(r, b'Z' * (min(want, 1 << 20) + 4096))


@body_kind('read_data_off_small', 'DataOffset 16 (inside the header)', RD)
def _k(r, ctx):
    _read_buf(r, b'Q' * 64, off=16)


@body_kind('read_data_off_255', 'DataOffset 255 with DataLength past the frame', RD)
def _k(r, ctx):
    _read_buf(r, b'Q' * 64, off=255, length=64)


@body_kind('read_remaining_huge', 'DataRemaining 0xFFFFFFFF, DataLength 0', RD)
def _k(r, ctx):
    r.status = STATUS_SUCCESS
    r.body = struct.pack('<HBBIII', 17, 80, 0, 0, 0xFFFFFFFF, 0) + b'\0'


@body_kind('read_zero_success', 'STATUS_SUCCESS with 0 bytes (a server that never makes progress)',
           RD)
def _k(r, ctx):
    r.status = STATUS_SUCCESS
    r.body = struct.pack('<HBBIII', 17, 80, 0, 0, 0, 0) + b'\0'


@body_kind('read_eof_with_data', 'STATUS_END_OF_FILE with a data body', RD)
def _k(r, ctx):
    _read_buf(r, b'E' * 32)
    r.status = STATUS_END_OF_FILE


@body_kind('read_odd_structure', 'StructureSize 16 (even) and no data byte', RD)
def _k(r, ctx):
    r.body = struct.pack('<HBBIII', 16, 80, 0, 0, 0, 0)


# ---- CLOSE

@body_kind('close_short', 'a CLOSE answer of 8 bytes', ('close',))
def _k(r, ctx):
    r.body = r.body[:8]


@body_kind('close_invalid_handle', 'STATUS_INVALID_HANDLE on every CLOSE', ('close',))
def _k(r, ctx):
    r.status = STATUS_INVALID_HANDLE
    r.body = error_body()


# ---- unsolicited (step 'idle' or any)

def _break_pdu(body, mid=UNSOLICITED_MID, session_id=0, cmd=OPLOCK_BREAK):
    return header(cmd, mid, STATUS_SUCCESS, 0, FLAG_RESPONSE, 0, session_id) + body


@kind('unsolicited_break_short', 'an unsolicited OPLOCK_BREAK with a 4-byte body, then the answer')
def _k(ctx):
    ctx.send_frame(_break_pdu(struct.pack('<HH', 24, 0)))
    ctx.send_normal()


@kind('unsolicited_break_unknown_fid', 'an oplock break for a FileId never opened, then the answer')
def _k(ctx):
    ctx.send_frame(_break_pdu(struct.pack('<HBBI', 24, 1, 0, 0) + os.urandom(16)))
    ctx.send_normal()


@kind('unsolicited_lease_break_bad', 'a lease break (size 44) full of garbage, then the answer')
def _k(ctx):
    ctx.send_frame(_break_pdu(struct.pack('<HHI', 44, 0xFFFF, 0xFFFFFFFF) + os.urandom(36)))
    ctx.send_normal()


@kind('unsolicited_response', 'an unsolicited ECHO answer (MessageId 0xFFFF...FF), then the answer')
def _k(ctx):
    ctx.send_frame(_break_pdu(struct.pack('<HH', 4, 0), cmd=ECHO))
    ctx.send_normal()


@kind('unsolicited_data', '4 KiB of zeros between frames, then the answer')
def _k(ctx):
    ctx.send(b'\0' * 4096)
    ctx.send_normal()


IDLE_KINDS = ('garbage', 'garbage_frame', 'unsolicited_data', 'unsolicited_response',
              'unsolicited_break_short', 'unsolicited_break_unknown_fid',
              'unsolicited_lease_break_bad', 'never_sent', 'smb1', 'transform_garbage',
              'frame_len_max', 'close_mid_frame', 'credits_65535')


# ------------------------------------------------------------------ the server

STEP_OF = {
    NEGOTIATE: 'negotiate', TREE_CONNECT: 'tree', CREATE: 'create', CLOSE: 'close',
    READ: 'read', QUERY_DIRECTORY: 'query_dir', QUERY_INFO: 'query_info', ECHO: 'echo',
    LOGOFF: 'logoff', TREE_DISCONNECT: 'tree_disconnect', WRITE: 'write',
    SET_INFO: 'set_info', FLUSH: 'flush', IOCTL: 'ioctl',
}

STEPS = ('negotiate', 'session1', 'session2', 'tree', 'create', 'query_info', 'query_dir',
         'read', 'close', 'echo', 'logoff', 'any', 'all', 'idle')


class Open:
    def __init__(self, path):
        self.path = path
        self.listed = False


class Conn:
    def __init__(self, server, sock, num):
        self.server = server
        self.sock = sock
        self.num = num
        self.session_id = 0x0000100000000001 + (num << 8)
        self.tree_id = 7
        self.opens = {}
        self.next_vid = 1
        self.sess_legs = 0
        self.lock = threading.Lock()
        self.closed = False

    def sendall(self, data):
        with self.lock:
            self.sock.sendall(data)

    # -------------------------------------------------------------- reading

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            b = self.sock.recv(n - len(buf))
            if not b:
                raise Close()
            buf += b
        return buf

    def run(self):
        try:
            while not self.server.stopping.is_set():
                hdr = self.recv_exact(4)
                n = struct.unpack('>I', hdr)[0]
                if n > (16 << 20):
                    raise Close()
                data = self.recv_exact(n)
                self.handle_frame(data)
        except Hang:
            self.server.log('conn %d: hanging' % self.num)
            self.server.stopping.wait()
        except (Close, OSError):
            pass
        except Exception as e:  # a request this server cannot parse, or a bug in a fault
            print('evilserver:%d: conn %d: %s: %s' % (self.server.port, self.num,
                                                     type(e).__name__, e), file=sys.stderr)
        finally:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    # -------------------------------------------------------------- dispatch

    def handle_frame(self, data):
        if data[:4] != b'\xfeSMB':
            raise Close()  # the client never sends SMB1, transforms or compression here
        reqs, off = [], 0
        while True:
            req = Req(data[off:], off)
            reqs.append(req)
            if not req.next:
                break
            off += req.next
            if off + 64 > len(data):
                raise Close()
        for req in reqs:
            nc = req.next
            req.raw = req.raw[:nc] if nc else req.raw
            req.body = req.raw[64:]
        resps = []
        last_fid, last_status = None, STATUS_SUCCESS
        for req in reqs:
            self.server.count(req)
            if req.cmd == CANCEL:
                continue
            if req.related and last_status != STATUS_SUCCESS:
                resps.append(Resp(req, last_status))
                continue
            resp = self.dispatch(req, last_fid if req.related else None)
            if req.cmd == CREATE and resp.status == STATUS_SUCCESS:
                last_fid = resp.body[64:80]
            last_status = resp.status
            if req.cmd == SESSION_SETUP:
                resp.session_id = self.session_id
            resps.append(resp)
        if not resps:
            return
        # the fault
        for i, resp in enumerate(resps):
            if self.server.should_fault(self, resp.req):
                self.server.log('conn %d: fault %s on %s mid %d' % (
                    self.num, self.server.kind, resp.req.step, resp.req.mid))
                KINDS[self.server.kind](Ctx(self, reqs, resps, i))
                self.after_frame(reqs)
                return
        self.sendall(frame(compound(resps)))
        self.after_frame(reqs)

    def after_frame(self, reqs):
        if self.server.step == 'idle' and any(r.cmd == TREE_CONNECT for r in reqs):
            t = threading.Thread(target=self.idle_fault, daemon=True)
            t.start()

    def idle_fault(self):
        """Unsolicited input a moment after the tree connect (the client is idle)."""
        if self.server.stopping.wait(self.server.idle_delay):
            return
        if self.closed or not self.server.take_fault():
            return
        self.server.log('conn %d: idle fault %s' % (self.num, self.server.kind))
        fake = Req(header(ECHO, 1 << 40, flags=0, session_id=self.session_id,
                          tree_id=self.tree_id) + struct.pack('<HH', 4, 0), 0)
        resp = Resp(fake, body=struct.pack('<HH', 4, 0))
        try:
            KINDS[self.server.kind](Ctx(self, [fake], [resp], 0))
        except Hang:
            pass  # the reader thread keeps going; the client decides
        except (Close, OSError):
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispatch(self, req, related_fid):
        fn = {
            NEGOTIATE: self.negotiate, SESSION_SETUP: self.session_setup,
            TREE_CONNECT: self.tree_connect, CREATE: self.create, CLOSE: self.close,
            READ: self.read, QUERY_INFO: self.query_info, QUERY_DIRECTORY: self.query_dir,
            ECHO: self.simple, LOGOFF: self.simple, TREE_DISCONNECT: self.simple,
            FLUSH: self.simple,
        }.get(req.cmd)
        if fn is None:
            if req.cmd in (WRITE, SET_INFO):
                return Resp(req, STATUS_ACCESS_DENIED)
            return Resp(req, STATUS_NOT_SUPPORTED)
        try:
            return fn(req, related_fid)
        except (struct.error, IndexError, KeyError, UnicodeDecodeError) as e:
            self.server.log('conn %d: bad %s request: %r' % (self.num, req.step, e))
            return Resp(req, STATUS_INVALID_PARAMETER)

    # -------------------------------------------------------------- commands

    def simple(self, req, _fid):
        return Resp(req, body=struct.pack('<HH', 4, 0))

    def negotiate(self, req, _fid):
        dialects = [req.u16(64 + 36 + 2 * i) for i in range(req.u16(64 + 2))]
        if 0x0210 not in dialects:
            return Resp(req, STATUS_NOT_SUPPORTED)
        return Resp(req, body=_neg_body())

    def session_setup(self, req, _fid):
        off, n = req.u16(64 + 12), req.u16(64 + 14)
        tok = req.raw[off:off + n]
        self.sess_legs += 1
        if b'NTLMSSP\0\x03' in tok:  # AUTHENTICATE: accepted, whatever it says
            return Resp(req, body=_sess_body(neg_token_resp(0, False)))
        return Resp(req, STATUS_MORE_PROCESSING_REQUIRED,
                    _sess_body(neg_token_resp(1, True, ntlm_challenge())))

    def tree_connect(self, req, _fid):
        resp = Resp(req, body=struct.pack('<HBBIII', 16, 1, 0, 0, 0, 0x001F01FF))
        resp.tree_id = self.tree_id
        return resp

    def _fid(self, req, body_off, related_fid):
        fid = req.raw[body_off:body_off + 16]
        if fid == RELATED_FID and related_fid is not None:
            fid = related_fid
        return fid, self.opens.get(fid)

    def create(self, req, _fid):
        disp, opts = req.u32(64 + 36), req.u32(64 + 40)
        noff, nlen = req.u16(64 + 44), req.u16(64 + 46)
        name = req.raw[noff:noff + nlen].decode('utf-16-le') if nlen else ''
        path = name.strip('\\')
        if path not in TREE:
            parent = path.rpartition('\\')[0]
            if parent and parent not in TREE:
                return Resp(req, STATUS_OBJECT_PATH_NOT_FOUND)
            if disp == 1:
                return Resp(req, STATUS_OBJECT_NAME_NOT_FOUND)
            return Resp(req, STATUS_ACCESS_DENIED)
        if disp not in (1, 3):  # anything but open / open-if would write
            return Resp(req, STATUS_ACCESS_DENIED)
        if (opts & FILE_DIRECTORY_FILE) and not is_dir(path):
            return Resp(req, STATUS_NOT_A_DIRECTORY)
        if (opts & FILE_NON_DIRECTORY_FILE) and is_dir(path):
            return Resp(req, STATUS_FILE_IS_A_DIRECTORY)
        fid = struct.pack('<QQ', node_id(path), self.next_vid)
        self.next_vid += 1
        self.opens[fid] = Open(path)
        b = struct.pack('<HBBI', 89, 0, 0, 1)
        b += struct.pack('<QQQQ', FILETIME, FILETIME, FILETIME, FILETIME)
        b += struct.pack('<QQII', alloc_of(path), size_of(path), attrs_of(path), 0)
        b += fid + struct.pack('<II', 0, 0)
        return Resp(req, body=b)

    def close(self, req, related_fid):
        flags = req.u16(64 + 2)
        fid, o = self._fid(req, 64 + 8, related_fid)
        if o is None:
            return Resp(req, STATUS_FILE_CLOSED)
        del self.opens[fid]
        b = struct.pack('<HHI', 60, flags & 1, 0)
        if flags & 1:
            b += struct.pack('<QQQQ', FILETIME, FILETIME, FILETIME, FILETIME)
            b += struct.pack('<QQI', alloc_of(o.path), size_of(o.path), attrs_of(o.path))
        else:
            b += b'\0' * 52
        return Resp(req, body=b)

    def read(self, req, related_fid):
        length, offset = req.u32(64 + 4), struct.unpack_from('<Q', req.raw, 64 + 8)[0]
        fid, o = self._fid(req, 64 + 16, related_fid)
        if o is None:
            return Resp(req, STATUS_FILE_CLOSED)
        if is_dir(o.path):
            return Resp(req, STATUS_INVALID_PARAMETER)
        data = TREE[o.path]
        if offset >= len(data):
            return Resp(req, STATUS_END_OF_FILE)
        chunk = data[offset:offset + length]
        return Resp(req, body=struct.pack('<HBBIII', 17, 80, 0, len(chunk), 0, 0) + chunk)

    def query_info(self, req, related_fid):
        itype, cls = req.raw[64 + 2], req.raw[64 + 3]
        outlen = req.u32(64 + 4)
        fid, o = self._fid(req, 64 + 24, related_fid)
        if o is None:
            return Resp(req, STATUS_FILE_CLOSED)
        p = o.path
        basic = struct.pack('<QQQQII', FILETIME, FILETIME, FILETIME, FILETIME, attrs_of(p), 0)
        std = struct.pack('<QQIBBH', alloc_of(p), size_of(p), 1, 0, int(is_dir(p)), 0)
        if itype == 1 and cls == 18:  # FileAllInformation
            name = utf16('\\' + p)
            buf = basic + std + struct.pack('<Q', node_id(p)) + struct.pack('<IIQII', 0,
                                                                           0x001F01FF, 0, 0, 0)
            buf += struct.pack('<I', len(name)) + name
        elif itype == 1 and cls == 4:
            buf = basic
        elif itype == 1 and cls == 5:
            buf = std
        elif itype == 1 and cls == 6:
            buf = struct.pack('<Q', node_id(p))
        elif itype == 1 and cls == 34:  # FileNetworkOpenInformation
            buf = struct.pack('<QQQQQQII', FILETIME, FILETIME, FILETIME, FILETIME,
                              alloc_of(p), size_of(p), attrs_of(p), 0)
        elif itype == 1 and cls == 35:
            buf = struct.pack('<II', attrs_of(p), 0)
        elif itype == 2 and cls == 7:  # FileFsFullSizeInformation
            buf = struct.pack('<QQQII', 1 << 20, 1 << 19, 1 << 19, 8, 512)
        elif itype == 2 and cls == 3:
            buf = struct.pack('<QQII', 1 << 20, 1 << 19, 8, 512)
        elif itype == 2 and cls == 5:  # FileFsAttributeInformation
            fs = utf16('EVILFS')
            buf = struct.pack('<IiI', 0x3, 255, len(fs)) + fs
        elif itype == 2 and cls == 1:
            label = utf16('EVIL')
            buf = struct.pack('<QIIBB', FILETIME, 0x1234, len(label), 0, 0) + label
        else:
            return Resp(req, STATUS_INVALID_INFO_CLASS)
        status = STATUS_SUCCESS
        if len(buf) > outlen:
            buf, status = buf[:outlen], 0x80000005
        return Resp(req, status, struct.pack('<HHI', 9, 72, len(buf)) + buf)

    def query_dir(self, req, related_fid):
        cls, flags = req.raw[64 + 2], req.raw[64 + 3]
        fid, o = self._fid(req, 64 + 8, related_fid)
        outlen = req.u32(64 + 28)
        if o is None:
            return Resp(req, STATUS_FILE_CLOSED)
        if not is_dir(o.path):
            return Resp(req, STATUS_INVALID_PARAMETER)
        if cls != 37:
            return Resp(req, STATUS_INVALID_INFO_CLASS)
        if flags & 0x11:
            o.listed = False
        if o.listed:
            return Resp(req, STATUS_NO_MORE_FILES)
        o.listed = True
        ents = [('.', o.path), ('..', o.path)] + children(o.path)
        es = [dirent(utf16(n), attrs=attrs_of(p), size=size_of(p), fid=node_id(p))
              for n, p in ents]
        buf = b''
        for i, e in enumerate(es):
            buf += poke(e, 0, 4, 0 if i == len(es) - 1 else len(e))
        if len(buf) > outlen:
            return Resp(req, 0x80000005)
        return Resp(req, body=struct.pack('<HHI', 9, 72, len(buf)) + buf)


class EvilServer:
    """A listening malicious SMB2 server on 127.0.0.1 (a thread per connection)."""

    def __init__(self, step=None, kind=None, skip=0, times=None, host='127.0.0.1', port=0,
                 idle_delay=1.0, verbose=False):
        if (step is None) != (kind is None):
            raise ValueError('step and kind go together')
        if kind is not None and kind not in KINDS:
            raise ValueError('unknown fault kind %r' % kind)
        if step is not None and step not in STEPS:
            raise ValueError('unknown step %r' % step)
        self.step, self.kind, self.skip, self.times = step, kind, skip, times
        self.idle_delay = idle_delay
        self.verbose = verbose
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._seen = 0
        self._faults = 0
        self._conns = []
        self._requests = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def log(self, msg):
        if self.verbose:
            print('evilserver:%d: %s' % (self.port, msg), file=sys.stderr, flush=True)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                c = Conn(self, s, len(self._conns) + 1)
                self._conns.append(c)
            self.log('connection %d' % c.num)
            threading.Thread(target=c.run, daemon=True).start()

    def count(self, req):
        with self._lock:
            self._requests[req.step] = self._requests.get(req.step, 0) + 1

    def take_fault(self):
        """Count one matching request; True if it gets the fault."""
        with self._lock:
            self._seen += 1
            if self._seen <= self.skip:
                return False
            if self.times is not None and self._faults >= self.times:
                return False
            self._faults += 1
            return True

    def should_fault(self, conn, req):
        if self.kind is None or self.step == 'idle':
            return False
        step = STEP_OF.get(req.cmd, req.step)
        if req.cmd == SESSION_SETUP:
            off, n = req.u16(64 + 12), req.u16(64 + 14)
            step = 'session2' if b'NTLMSSP\0\x03' in req.raw[off:off + n] else 'session1'
        if self.step not in ('any', 'all') and self.step != step:
            return False
        if self.step == 'any' and req.cmd == NEGOTIATE:
            return False
        return self.take_fault()

    def stats(self):
        with self._lock:
            return {'connections': len(self._conns), 'faults': self._faults,
                    'requests': dict(self._requests)}

    def close(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def kinds_for(step):
    """Fault kinds that make sense at a step."""
    return sorted(k for k, fn in KINDS.items() if fn.steps is None or step in fn.steps)


def main():
    ap = argparse.ArgumentParser(description='scripted malicious SMB2 server')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--step', choices=STEPS)
    ap.add_argument('--kind')
    ap.add_argument('--skip', type=int, default=0)
    ap.add_argument('--times', type=int)
    ap.add_argument('--list', action='store_true', help='list fault kinds and exit')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    if args.list:
        for k in sorted(KINDS):
            fn = KINDS[k]
            print('%-32s %s%s' % (k, fn.doc, '' if fn.steps is None
                                  else ' [%s]' % ', '.join(fn.steps)))
        return 0
    try:
        srv = EvilServer(args.step, args.kind, args.skip, args.times, args.host, args.port,
                         verbose=args.verbose)
    except ValueError as e:
        ap.error(str(e))
    print(json.dumps({'port': srv.port}), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(1):
        pass
    srv.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
