#!/usr/bin/python3
"""An HTTP/2 client for ferry's framing and attack tests (issue 15).

Frames are written byte by byte here and HPACK comes from python3-hpack (python3-h2's
dependency), so a request can break any rule of RFC 9113 on purpose; well-formed exchanges
use python3-h2's connection state machine. It talks prior knowledge (h2c) to a plain
listener, or TLS with ALPN h2 to an https:// one.

    h2probe.py [--tls CA] [--witness ORIGIN_URL] HOST:PORT CASE [ARG...]

Each case prints lines of `key=value` words (or one line per sub-case) that the C++ test
checks; the exit status is 0 unless the probe itself could not run (a connection refused,
a Python exception). See the functions named case_* below.
"""

import argparse
import hashlib
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import time

import hpack

import h2.config
import h2.connection
import h2.events
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
          "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
          "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
          "HTTP_1_1_REQUIRED"]

# SETTINGS identifiers
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, \
    MAX_HEADER_LIST_SIZE = range(1, 7)
ENABLE_CONNECT_PROTOCOL = 8


def error_name(code):
    return ERRORS[code] if code < len(ERRORS) else "0x%x" % code


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def settings_frame(values=None, ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in (values or {}).items())
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def rst_frame(stream, code):
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def readable(sock, timeout):
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    return bool(select.select([sock], [], [], timeout)[0])


def b(s):
    return s if isinstance(s, bytes) else s.encode()


class Peer:
    """One connection: raw frames out, frames parsed in, a log of what the server did."""

    def __init__(self, target, tls_ca=None, settings=None, ack_settings=True):
        host, port = target.rsplit(":", 1)
        raw = socket.create_connection((host, int(port)), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.alpn = None
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            raw = ctx.wrap_socket(raw, server_hostname=host)
            self.alpn = raw.selected_alpn_protocol()
        self.sock = raw
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.decoder.max_header_list_size = 1 << 30
        self.inbuf = b""
        self.ack_settings = ack_settings
        self.server_settings = {}
        self.goaway = None  # (error name, last stream id) of the latest GOAWAY
        self.goaways = []  # every GOAWAY, in order
        self.closed = None  # "closed" or "reset" once the server ended the connection
        self.resets = {}  # stream -> error name
        self.status = {}  # stream -> status
        self.headers = {}  # stream -> list of (name, value)
        self.bodies = {}  # stream -> bytes
        self.ended = set()  # streams the server ended (END_STREAM)
        self.frames_in = {}  # frame type -> count
        self.pending_block = None  # (stream, bytes) of a header block awaiting CONTINUATION
        self.send(PREFACE + settings_frame(settings))

    # -- output
    def send(self, data):
        self.sock.sendall(data)

    def block(self, headers):
        return self.encoder.encode([(b(n), b(v)) for n, v in headers], huffman=False)

    def send_headers(self, stream, headers, end_stream=True, max_frame=16384, ftype=HEADERS):
        """HEADERS (and CONTINUATION frames when the block is bigger than max_frame)."""
        block = headers if isinstance(headers, bytes) else self.block(headers)
        pieces = [block[i:i + max_frame] for i in range(0, len(block), max_frame)] or [b""]
        out = b""
        for i, piece in enumerate(pieces):
            flags = END_HEADERS if i == len(pieces) - 1 else 0
            if i == 0 and end_stream:
                flags |= END_STREAM
            out += frame(ftype if i == 0 else CONTINUATION, flags, stream, piece)
        self.send(out)

    # -- input
    def feed(self, data):
        self.inbuf += data
        while len(self.inbuf) >= 9:
            length = int.from_bytes(self.inbuf[0:3], "big")
            if len(self.inbuf) < 9 + length:
                break
            ftype, flags = self.inbuf[3], self.inbuf[4]
            stream = int.from_bytes(self.inbuf[5:9], "big") & 0x7FFFFFFF
            payload = self.inbuf[9:9 + length]
            self.inbuf = self.inbuf[9 + length:]
            self.on_frame(ftype, flags, stream, payload)

    def on_frame(self, ftype, flags, stream, payload):
        self.frames_in[ftype] = self.frames_in.get(ftype, 0) + 1
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload) - 5, 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[k] = v
            if self.ack_settings:
                self.send_quietly(settings_frame(ack=True))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (error_name(code), last & 0x7FFFFFFF)
            self.goaways.append(self.goaway)
        elif ftype == RST_STREAM:
            self.resets[stream] = error_name(struct.unpack(">I", payload[:4])[0])
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if flags & PRIORITY_FLAG:
                    payload = payload[5:]
                self.pending_block = (stream, payload)
            else:
                self.pending_block = (stream, self.pending_block[1] + payload)
            if flags & END_HEADERS:
                fields = self.decoder.decode(self.pending_block[1], raw=True)
                self.pending_block = None
                fields = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in fields]
                for n, v in fields:
                    if n == ":status" and not v.startswith("1"):
                        self.status[stream] = int(v)
                        self.headers[stream] = fields
            if ftype == HEADERS and flags & END_STREAM:
                self.ended.add(stream)
        elif ftype == DATA:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            self.bodies[stream] = self.bodies.get(stream, b"") + payload
            if flags & END_STREAM:
                self.ended.add(stream)
            if payload:  # keep the windows open: a well-behaved reader
                self.send_quietly(window_update(0, len(payload)) +
                                  window_update(stream, len(payload)))

    def send_quietly(self, data):
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def receive(self, timeout):
        """Reads what is there within `timeout`; false once the server ended the connection."""
        if self.closed:
            return False
        ready = readable(self.sock, timeout)
        if not ready:
            return True
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            self.closed = "reset"
            return False
        except ssl.SSLError:
            self.closed = "reset"
            return False
        except socket.timeout:
            return True
        if not data:
            self.closed = "closed"
            return False
        self.feed(data)
        return True

    def wait(self, done, seconds):
        """Reads until done() or the connection ends or `seconds` pass; done()'s value."""
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            if not self.receive(min(0.1, max(0.0, deadline - time.monotonic()))):
                break
        return done()

    def outcome(self, stream, seconds=5):
        """What the server did about `stream`: its status, a reset, a GOAWAY, or the close."""
        self.wait(lambda: stream in self.resets or stream in self.ended or
                  self.goaway is not None, seconds)
        if stream in self.status and (stream in self.resets or stream not in self.ended):
            # A response, then the reset (or the GOAWAY) before its end.
            self.wait(lambda: stream in self.resets or self.goaway is not None, 1)
            if stream in self.resets:
                return "status %d RST_STREAM %s" % (self.status[stream], self.resets[stream])
        if stream in self.resets:
            return "RST_STREAM " + self.resets[stream]
        if self.goaway is not None:
            return "GOAWAY " + self.goaway[0]
        if stream in self.status:
            return "status %d" % self.status[stream]
        if self.closed:
            return self.closed
        return "nothing"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(authority, path, method="GET"):
    return [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)]


# ---------------------------------------------------------------- well-formed, with python3-h2


class H2Client:
    """python3-h2's client state machine on a socket: the well-behaved client."""

    def __init__(self, target, tls_ca=None, settings=None):
        host, port = target.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=10)
        self.alpn = None
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            sock = ctx.wrap_socket(sock, server_hostname=host)
            self.alpn = sock.selected_alpn_protocol()
        self.sock = sock
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=True, header_encoding="latin-1"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.conn.max_inbound_frame_size = 1 << 24
        self.flush()
        self.responses = {}  # stream -> {"status", "headers", "body", "ended", "reset"}
        self.goaway = None
        self.closed = False
        self.to_send = {}  # stream -> remaining body bytes (sent as windows allow)
        self.finish = set()  # streams whose END_STREAM goes after their body

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, headers, body=None, end_stream=None):
        stream = self.conn.get_next_available_stream_id()
        if end_stream is None:
            end_stream = body is None
        self.conn.send_headers(stream, headers, end_stream=end_stream)
        self.responses[stream] = {"status": None, "headers": [], "body": b"", "ended": False,
                                  "reset": None}
        if body is not None:
            self.to_send[stream] = body
            self.finish.add(stream)
        self.pump_bodies()
        self.flush()
        return stream

    def pump_bodies(self):
        for stream in list(self.to_send):
            body = self.to_send[stream]
            while body:
                room = min(self.conn.local_flow_control_window(stream),
                           self.conn.max_outbound_frame_size, len(body))
                if room <= 0:
                    break
                self.conn.send_data(stream, body[:room])
                body = body[room:]
            self.to_send[stream] = body
            if not body:
                del self.to_send[stream]
                if stream in self.finish:
                    self.conn.end_stream(stream)
                    self.finish.discard(stream)

    def step(self, timeout=0.1):
        if not readable(self.sock, timeout):
            return True
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            r = self.responses.get(getattr(event, "stream_id", 0))
            if isinstance(event, h2.events.ResponseReceived):
                r["headers"] = list(event.headers)
                r["status"] = int(dict(event.headers)[":status"])
            elif isinstance(event, h2.events.DataReceived):
                r["body"] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                r["ended"] = True
            elif isinstance(event, h2.events.StreamReset):
                if r is not None:
                    r["reset"] = error_name(int(event.error_code))
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = (error_name(int(event.error_code)), event.last_stream_id)
        self.pump_bodies()
        self.flush()
        return True

    def wait(self, streams, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(self.responses[s]["ended"] or self.responses[s]["reset"] for s in streams):
                return True
            if not self.step(0.1):
                break
        return all(self.responses[s]["ended"] or self.responses[s]["reset"] for s in streams)

    def describe(self, stream):
        r = self.responses[stream]
        if r["reset"]:
            return "RST_STREAM " + r["reset"]
        if not r["ended"]:
            return "unfinished" if r["status"] is None else "status %d unfinished" % r["status"]
        return "status %d" % r["status"]


def pattern(n, seed=b"ferry"):
    """n bytes that differ from place to place, so a byte out of order shows."""
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def quoted(text):
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def case_forward(args):
    """GETs and POSTs, several streams at once; prints each stream's outcome and details."""
    auth = args.authority
    c = H2Client(args.target, args.tls)
    print("alpn=%s" % c.alpn)
    big = pattern(600000)
    s_get = c.start(request(auth, "/headers") + [
        ("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3"), ("x-probe", "kept"),
        ("te", "trailers"), ("user-agent", "h2probe")])
    s_post_cl = c.start(request(auth, "/echo", "POST") + [("content-length", str(len(big)))],
                        body=big)
    s_post_stream = c.start(request(auth, "/echo", "POST"), body=big[::-1])
    s_empty_post = c.start(request(auth, "/echo", "POST") + [("content-length", "0")])
    s_size = c.start(request(auth, "/size/1000000"))
    ok = c.wait([s_get, s_post_cl, s_post_stream, s_empty_post, s_size], 20)
    print("all-ended=%s" % ok)
    r = c.responses[s_get]
    print("get %s" % c.describe(s_get))
    print("get-head=%s" % quoted(r["body"].decode("latin-1")))
    print("get-response-fields=%s" % ",".join(n for n, _ in r["headers"]))
    for name, stream, expect in (("post-cl", s_post_cl, big), ("post-stream", s_post_stream,
                                                              big[::-1]),
                                 ("post-empty", s_empty_post, b"")):
        body = c.responses[stream]["body"]
        print("%s %s bytes=%d exact=%s" % (name, c.describe(stream), len(body), body == expect))
    body = c.responses[s_size]["body"]
    print("size %s bytes=%d" % (c.describe(s_size), len(body)))

    # Ten slow requests at once on one connection: together they take one delay, not ten.
    began = time.monotonic()
    slow = [c.start(request(auth, "/slow/700")) for _ in range(10)]
    c.wait(slow, 15)
    print("concurrent=%s seconds=%.2f" % (",".join(c.describe(s) for s in slow),
                                          time.monotonic() - began))


MALFORMED = {}


def malformed(name, origin_reach="never"):
    def register(fn):
        MALFORMED[name] = (fn, origin_reach)
        return fn
    return register


# Each sends its request on a fresh connection (stream 1 unless it says otherwise) and returns
# the stream to watch. The path carries the case's name, so the test can tell whether it
# reached the origin.
def _headers_case(extra=(), drop=(), replace=None, end_stream=True):
    def send(p, auth, path):
        fields = [f for f in request(auth, path) if f[0] not in drop]
        if replace:
            fields = replace(fields)
        p.send_headers(1, fields + list(extra), end_stream=end_stream)
        return 1
    return send


for _name, _extra in (("uppercase-name", [("X-Upper", "1")]),
                      ("connection", [("connection", "keep-alive")]),
                      ("keep-alive", [("keep-alive", "timeout=5")]),
                      ("proxy-connection", [("proxy-connection", "keep-alive")]),
                      ("transfer-encoding", [("transfer-encoding", "chunked")]),
                      ("upgrade", [("upgrade", "websocket")]),
                      ("te-gzip", [("te", "gzip")]),
                      ("unknown-pseudo", [(":foo", "bar")]),
                      ("response-pseudo", [(":status", "200")]),
                      ("duplicate-path", [(":path", "/second")]),
                      ("duplicate-method", [(":method", "GET")]),
                      ("value-cr", [("x-bad", "a\rb")]),
                      ("value-lf", [("x-bad", "a\nb")]),
                      ("value-nul", [("x-bad", "a\x00b")]),
                      ("name-space", [("x bad", "1")]),
                      ("name-colon-inside", [("x:bad", "1")])):
    MALFORMED[_name] = (_headers_case(extra=_extra), "never")

for _name, _drop in (("missing-method", (":method",)), ("missing-scheme", (":scheme",)),
                     ("missing-path", (":path",))):
    MALFORMED[_name] = (_headers_case(drop=_drop), "never")

MALFORMED["pseudo-after-regular"] = (_headers_case(
    replace=lambda f: [f[0], f[1], f[2], ("x-regular", "1"), f[3]]), "never")
MALFORMED["empty-path"] = (_headers_case(
    replace=lambda f: f[:3] + [(":path", "")]), "never")


@malformed("connect-with-scheme-and-path")
def _connect_with_path(p, auth, path):
    p.send_headers(1, [(":method", "CONNECT"), (":authority", auth), (":scheme", "http"),
                       (":path", path)], end_stream=False)
    return 1


@malformed("connect-without-authority")
def _connect_without_authority(p, auth, path):
    p.send_headers(1, [(":method", "CONNECT"), ("x-marker", path)], end_stream=False)
    return 1


@malformed("content-length-more", origin_reach="incomplete")
def _cl_more(p, auth, path):
    block = p.block(request(auth, path, "POST") + [("content-length", "10")])
    p.send(frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, END_STREAM, 1, b"x" * 20))
    return 1


@malformed("content-length-less", origin_reach="incomplete")
def _cl_less(p, auth, path):
    block = p.block(request(auth, path, "POST") + [("content-length", "10")])
    p.send(frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, END_STREAM, 1, b"x" * 5))
    return 1


@malformed("content-length-data-in-two", origin_reach="any")
def _cl_more_later(p, auth, path):
    # The excess comes in a second DATA frame, after ferry may have forwarded the first ten.
    block = p.block(request(auth, path, "POST") + [("content-length", "10")])
    p.send(frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, 0, 1, b"x" * 10))
    time.sleep(0.3)
    p.send(frame(DATA, END_STREAM, 1, b"y" * 5))
    return 1


@malformed("data-after-end-stream", origin_reach="any")
def _data_after_end(p, auth, path):
    # In one write, so ferry reads the DATA while the stream is half-closed (remote), not
    # after a fast origin's answer closed it (nghttp2 then ignores it silently).
    block = p.block(request(auth, path.replace("/malformed/", "/slow/500?")))
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block) + frame(DATA, END_STREAM, 1,
                                                                       b"late"))
    return 1


@malformed("headers-on-stream-0")
def _headers_stream_0(p, auth, path):
    p.send_headers(0, request(auth, path))
    return 0


@malformed("even-stream-id")
def _even_stream(p, auth, path):
    p.send_headers(2, request(auth, path))
    return 2


@malformed("oversized-data-frame", origin_reach="incomplete")
def _oversized_data(p, auth, path):
    block = p.block(request(auth, path, "POST") + [("content-length", "16385")])
    p.send(frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, END_STREAM, 1, b"z" * 16385))
    return 1


@malformed("oversized-headers-frame")
def _oversized_headers(p, auth, path):
    block = p.block(request(auth, path) + [("x-big", "b" * 16500)])
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    return 1


@malformed("te-trailers-allowed", origin_reach="complete")
def _te_trailers(p, auth, path):
    # Control: the one `te` value RFC 9113 §8.2.2 allows, forwarded (and answered).
    p.send_headers(1, request(auth, path) + [("te", "trailers")])
    return 1


def case_malformed(args):
    """One line per malformed request: `NAME OUTCOME origin=never|incomplete|any|complete`."""
    names = args.rest or sorted(MALFORMED)
    for name in names:
        send, reach = MALFORMED[name]
        p = Peer(args.target, args.tls, {ENABLE_PUSH: 0})
        p.wait(lambda: bool(p.server_settings), 3)
        stream = send(p, args.authority, "/malformed/" + name)
        result = p.outcome(stream, 5)
        if result.startswith("status"):
            # A response before the reset is allowed (RFC 9113 §8.1.1); read to its end.
            p.wait(lambda: stream in p.ended or stream in p.resets or p.goaway, 2)
        print("%s %s origin=%s" % (name, result, reach))
        p.close()


def case_concurrency(args):
    """Opens LIMIT + 2 slow streams where ferry allows LIMIT; prints each stream's outcome.
    With `noack` after LIMIT the client has not acknowledged ferry's SETTINGS yet."""
    limit = int(args.rest[0])
    ack = len(args.rest) < 2 or args.rest[1] != "noack"
    p = Peer(args.target, args.tls, {ENABLE_PUSH: 0}, ack_settings=ack)
    p.wait(lambda: bool(p.server_settings), 3)
    print("advertised=%s" % p.server_settings.get(MAX_CONCURRENT_STREAMS))
    streams = [1 + 2 * i for i in range(limit + 2)]
    for s in streams:
        p.send_headers(s, request(args.authority, "/slow/1000"))
    p.wait(lambda: all(s in p.ended or s in p.resets for s in streams) or p.goaway, 10)
    for s in streams:
        if s in p.resets:
            print("stream %d RST_STREAM %s" % (s, p.resets[s]))
        elif s in p.ended:
            print("stream %d status %d body=%s" % (s, p.status.get(s, 0),
                                                    quoted(p.bodies.get(s, b"").decode())))
        else:
            print("stream %d nothing" % s)
    print("goaway=%s" % (p.goaway[0] if p.goaway else "none"))
    # The connection is still usable for a new stream once the others are done.
    if not ack:
        p.send_quietly(settings_frame(ack=True))
    later = streams[-1] + 2
    p.send_headers(later, request(args.authority, "/after"))
    print("later %s" % p.outcome(later, 5))


def case_header_list(args):
    """A request whose header list is SIZE bytes (RFC 9113 §6.5.2), in fields of 8 KiB."""
    size = int(args.rest[0])
    p = Peer(args.target, args.tls, {ENABLE_PUSH: 0})
    p.wait(lambda: bool(p.server_settings), 3)
    print("advertised=%s" % p.server_settings.get(MAX_HEADER_LIST_SIZE))
    fields = request(args.authority, "/header-list/%d" % size)
    used = sum(len(n) + len(v) + 32 for n, v in fields)
    i = 0
    while used < size:
        value = "v" * min(8192, max(1, size - used - 32 - 8))
        fields.append(("x-fill-%02d" % i, value))
        used += len(fields[-1][0]) + len(value) + 32
        i += 1
    p.send_headers(1, fields)
    print("size=%d %s" % (used, p.outcome(1, 5)))
    p.send_headers(3, request(args.authority, "/after-header-list"))
    print("after %s" % p.outcome(3, 5))


def case_drain(args):
    """A slow stream in flight, then SIGTERM (or the signal in the second ARG) to the pid in
    the first ARG; prints the stream's outcome and the GOAWAY."""
    pid = int(args.rest[0])
    # The raw client: python3-h2 takes any GOAWAY for the connection's end and refuses the
    # frames of the streams that the GOAWAY lets finish.
    p = Peer(args.target, args.tls, {ENABLE_PUSH: 0})
    p.send_headers(1, request(args.authority, "/slow/1500"))
    p.wait(lambda: False, 0.5)
    os.kill(pid, int(args.rest[1]) if len(args.rest) > 1 else 15)
    p.wait(lambda: 1 in p.ended or 1 in p.resets, 10)
    p.wait(lambda: p.closed is not None, 5)
    outcome = "RST_STREAM " + p.resets[1] if 1 in p.resets else \
        ("status %d" % p.status[1] if 1 in p.ended else "unfinished")
    print("stream %s body=%s" % (outcome, quoted(p.bodies.get(1, b"").decode())))
    # RFC 9113 §6.8 lets a server announce 2^31-1 first, then the real last stream.
    print("goaways=%s" % (",".join("%s/%d" % g for g in p.goaways) or "none"))
    print("connection=%s" % (p.closed or "open"))


# ---------------------------------------------------------------- attacks


class Witness:
    """Another client, curl over HTTP/1.1 through the same proxy, started during an attack."""

    def __init__(self, args):
        self.proc = None
        if not args.witness:
            return
        host_port = args.target
        self.began = time.monotonic()
        proxy = ("https://" if args.tls else "http://") + host_port
        cmd = ["env", "-u", "http_proxy", "-u", "https_proxy", "-u", "no_proxy", "-u",
               "HTTPS_PROXY", "-u", "NO_PROXY", "curl", "-sS", "-o", "/dev/null", "-w",
               "%{http_code} %{time_total}", "--max-time", "5", "--proxy", proxy]
        if args.tls:
            cmd += ["--proxy-cacert", args.tls]
        self.proc = subprocess.Popen(cmd + [args.witness], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def report(self):
        if not self.proc:
            return "witness=none"
        out, err = self.proc.communicate(timeout=10)
        words = out.decode().split()
        if len(words) != 2:
            return "witness=failed:%s" % quoted(err.decode().strip())
        return "witness=%s witness-seconds=%s" % (words[0], words[1])


def pump(p, chunks, max_bytes, seconds, witness_after=0):
    """Sends chunks() as fast as the socket takes them, reading all the while, until max_bytes
    went out, the server ended the connection, or `seconds` passed; then waits up to 3 s for
    the end. Returns (bytes sent, seconds, how the sending stopped)."""
    p.sock.setblocking(False)
    began = time.monotonic()
    deadline = began + seconds
    sent = 0
    buf = b""
    stopped = "all-sent"
    while sent < max_bytes:
        if p.closed:
            stopped = "closed"
            break
        if p.goaway is not None:
            stopped = "goaway"
            break
        if time.monotonic() > deadline:
            stopped = "deadline"
            break
        if not buf:
            buf = chunks()
        r, w, _ = select.select([p.sock], [p.sock], [], 0.2)
        if r:
            p.sock.setblocking(True)
            p.receive(0)
            p.sock.setblocking(False)
        if w:
            try:
                n = p.sock.send(buf)
            except (BlockingIOError, ssl.SSLWantWriteError):
                n = 0
            except OSError:
                p.closed = p.closed or "reset"
                stopped = "closed"
                break
            buf = buf[n:]
            sent += n
    elapsed = time.monotonic() - began
    p.sock.setblocking(True)
    p.sock.settimeout(5)
    p.wait(lambda: p.closed is not None, 3)
    return sent, elapsed, stopped


def attack_report(name, p, sent, elapsed, stopped, witness, extra=""):
    end = ("GOAWAY %s" % p.goaway[0]) if p.goaway else "no-goaway"
    print("attack=%s end=%s connection=%s stopped=%s sent=%d seconds=%.2f %s%s" % (
        name, end.replace(" ", ":"), p.closed or "open", stopped, sent, elapsed,
        witness.report(), extra))


def case_attack(args):
    name = args.rest[0]
    auth = args.authority
    settings = {ENABLE_PUSH: 0}
    if name == "zero-window":
        settings[INITIAL_WINDOW_SIZE] = 0
    p = Peer(args.target, args.tls, settings)
    p.wait(lambda: bool(p.server_settings), 3)
    witness = Witness(args)
    state = {"stream": 1, "count": 0}

    if name == "rapid-reset":
        def chunks():
            out = b""
            for _ in range(100):
                s = state["stream"]
                state["stream"] += 2
                state["count"] += 1
                out += frame(HEADERS, END_HEADERS | END_STREAM, s,
                             p.block(request(auth, "/rapid-reset"))) + rst_frame(s, 8)
            return out
        sent, elapsed, stopped = pump(p, chunks, 4 << 20, 8)
        attack_report(name, p, sent, elapsed, stopped, witness, " streams=%d" % state["count"])
    elif name in ("continuation-flood", "continuation-flood-empty"):
        head = p.block(request(auth, "/continuation-flood"))
        p.send(frame(HEADERS, END_STREAM, 1, head))
        filler = b"" if name.endswith("empty") else \
            hpack.Encoder().encode([(b"x-flood", b"f" * 16000)], huffman=False)
        # Literal never-indexed fields (0x10 prefix) so ferry's table does not grow either way.
        if filler:
            filler = b"\x10" + filler[1:]

        def chunks():
            return frame(CONTINUATION, 0, 1, filler) * 64
        sent, elapsed, stopped = pump(p, chunks, 64 << 20 if filler else 16 << 20, 8)
        attack_report(name, p, sent, elapsed, stopped, witness)
    elif name == "hpack-bomb":
        # One 4000-byte field enters the dynamic table, then each further byte refers to it
        # (index 62): 16 000 references per frame, 64 MB of fields per frame once decoded.
        head = p.block(request(auth, "/hpack-bomb"))
        insert = p.encoder.encode([(b"x-bomb", b"B" * 4000)], huffman=False)
        p.send(frame(HEADERS, END_STREAM, 1, head + insert))

        # 64 frames: 1 024 000 references, 4 GB of fields; the last frame ends the block.
        def chunks():
            state["count"] += 1
            return frame(CONTINUATION, END_HEADERS if state["count"] == 64 else 0, 1,
                         b"\xbe" * 16000)
        sent, elapsed, stopped = pump(p, chunks, 64 * 16009, 8)
        attack_report(name, p, sent, elapsed, stopped, witness, " status=%s" % p.status.get(1))
    elif name == "settings-flood":
        one = settings_frame({INITIAL_WINDOW_SIZE: 65535})
        sent, elapsed, stopped = pump(p, lambda: one * 1000, 16 << 20, 8)
        attack_report(name, p, sent, elapsed, stopped, witness)
    elif name == "ping-flood":
        one = frame(PING, 0, 0, b"12345678")
        sent, elapsed, stopped = pump(p, lambda: one * 1000, 16 << 20, 8)
        attack_report(name, p, sent, elapsed, stopped, witness)
    elif name == "empty-data-flood":
        p.send_headers(1, request(auth, "/echo", "POST"), end_stream=False)
        one = frame(DATA, 0, 1, b"")
        sent, elapsed, stopped = pump(p, lambda: one * 1000, 16 << 20, 8)
        attack_report(name, p, sent, elapsed, stopped, witness)
    elif name == "zero-window":
        # SETTINGS_INITIAL_WINDOW_SIZE 0 and never a WINDOW_UPDATE: ferry may send headers,
        # never a byte of body, for 100 streams of 1 MB each.
        count = int(args.rest[1]) if len(args.rest) > 1 else 100
        size = args.rest[3] if len(args.rest) > 3 else "4000000"
        for i in range(count):
            s = 1 + 2 * i
            p.send(frame(HEADERS, END_HEADERS | END_STREAM, s,
                         p.block(request(auth, "/size/" + size))))
        began = time.monotonic()
        hold = float(args.rest[2]) if len(args.rest) > 2 else 6
        # Read without ever granting window (this Peer sends WINDOW_UPDATE only for DATA).
        # Until ferry gives up every stream (or the connection), or `hold` seconds pass.
        p.wait(lambda: p.closed is not None or len(p.resets) >= count, hold)
        body = sum(len(v) for v in p.bodies.values())
        codes = sorted(set(p.resets.values()))
        attack_report(name, p, 0, time.monotonic() - began, "held", witness,
                      " responses=%d body-bytes=%d resets=%d reset-codes=%s" % (
                          len(p.status), body, len(p.resets), ",".join(codes) or "none"))
    else:
        raise SystemExit("unknown attack " + name)


def case_get(args):
    """One GET of the path in ARG on a fresh connection: its outcome and body."""
    p = Peer(args.target, args.tls, {ENABLE_PUSH: 0})
    p.send_headers(1, request(args.authority, args.rest[0]))
    print("get %s body=%s" % (p.outcome(1, 10), quoted(p.bodies.get(1, b"").decode())))


def case_alpn(args):
    """TLS: which protocol the server chose, and a GET over it when that is h2."""
    c = H2Client(args.target, args.tls)
    print("alpn=%s" % c.alpn)
    if c.alpn == "h2":
        s = c.start(request(args.authority, "/over-tls"))
        c.wait([s], 10)
        print("get %s body=%s" % (c.describe(s), quoted(c.responses[s]["body"].decode())))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", help="CA file: TLS with ALPN h2, http/1.1")
    parser.add_argument("--witness", help="URL another client (curl) fetches during an attack")
    parser.add_argument("target", help="HOST:PORT of the proxy")
    parser.add_argument("authority", help=":authority of the origin (HOST:PORT)")
    parser.add_argument("case")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    cases = {"forward": case_forward, "malformed": case_malformed,
             "concurrency": case_concurrency, "header-list": case_header_list,
             "drain": case_drain, "attack": case_attack, "alpn": case_alpn,
             "get": case_get}
    cases[args.case](args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
