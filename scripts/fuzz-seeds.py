#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, tests/fuzz/corpus/<target>/, from the vendored test
vectors (tests/corpora: llhttp's Markdown cases, desync-guardian's YAML request heads) and
the hand-written seeds in tests/fuzz/seeds/<target>/ (copied as they are).

Run by hand after changing a source (the output is committed; nothing runs it at build
time): python3 scripts/fuzz-seeds.py. Needs python3-yaml. Deterministic: the same inputs
give the same files, named by their content's hash.
"""
import hashlib
import pathlib
import re
import shutil
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPORA = ROOT / "tests" / "corpora"
OUT = ROOT / "tests" / "fuzz" / "corpus"
HAND = ROOT / "tests" / "fuzz" / "seeds"
SEPARATOR = b"\n~~~\n"  # session_fuzz.cpp: client bytes, then each origin connection's


def unescape(text):
    """llhttp's escapes: \\r, \\n, \\t and \\xHH are literal bytes."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i:i + 1]
        if c == b"\\" and i + 1 < len(raw):
            n = raw[i + 1:i + 2]
            if n in (b"r", b"n", b"t"):
                out += {b"r": b"\r", b"n": b"\n", b"t": b"\t"}[n]
                i += 2
                continue
            if n == b"x" and re.fullmatch(rb"[0-9a-fA-F]{2}", raw[i + 2:i + 4]):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
        out += c
        i += 1
    return bytes(out)


def llhttp_cases(kind):
    """(name, bytes) of every llhttp case whose meta type starts with `kind`."""
    cases = []
    for md in sorted((CORPORA / "llhttp" / kind).glob("*.md")):
        meta = None
        lines = md.read_text(encoding="utf-8").split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"<!-- meta=(\{.*\}) -->", line)
            if m:
                meta = m.group(1)
            if line.strip() == "```http":
                j = i + 1
                while j < len(lines) and lines[j].strip() != "```":
                    j += 1
                if meta and f'"type": "{kind}' in meta:
                    # Newlines in the block stand for CRLF.
                    cases.append((f"{md.stem}-{len(cases)}",
                                  unescape("\r\n".join(lines[i + 1:j]))))
                meta = None
                i = j
            i += 1
    return cases


def desync_cases():
    """(name, head) of every desync-guardian case, in absolute-form with a Host."""
    cases = []
    for f in sorted((CORPORA / "desync-guardian").glob("*.yaml")):
        for case in yaml.safe_load(f.read_text(encoding="utf-8")) or []:
            method = str(case.get("method", "GET"))
            uri = str(case.get("uri", "/"))
            version = str(case.get("version", "HTTP/1.1"))
            head = f"{method} http://ORIGIN{uri} {version}".rstrip(" ") if version else \
                f"{method} http://ORIGIN{uri}"
            lines = [head, "Host: ORIGIN"]
            for h in case.get("headers") or []:
                lines.append(f"{h.get('name', '')}: {h.get('value', '')}")
            data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
            cases.append((f"{f.stem}-{len(cases)}", data))
    return cases


def every(cases, limit):
    """At most `limit` cases, spread over the whole list."""
    if len(cases) <= limit:
        return cases
    step = len(cases) / limit
    return [cases[int(k * step)] for k in range(limit)]


def write(target, data, written):
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    (folder / name).write_bytes(data)
    written[target] = written.get(target, 0) + 1


# ---- HTTP/2 (http2_fuzz.cpp): frames written by hand, HPACK as literals without indexing
# and without Huffman coding (RFC 7541 §6.2.2), so no library is needed.


def h2_frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + [value])


def hpack(fields):
    out = b""
    for name, value in fields:
        name, value = name.encode(), value.encode()
        out += b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value
    return out


H2_DATA, H2_HEADERS, H2_PRIORITY, H2_RST, H2_SETTINGS, H2_PING, H2_GOAWAY, H2_WINDOW, H2_CONT = (
    0, 1, 2, 3, 4, 6, 7, 8, 9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def h2_headers(stream, fields, end=True):
    return h2_frame(H2_HEADERS, END_HEADERS | (END_STREAM if end else 0), stream, hpack(fields))


def h2_get(stream, path="/", authority="127.0.0.1:8080", extra=()):
    return h2_headers(stream, [(":method", "GET"), (":scheme", "http"), (":authority", authority),
                               (":path", path)] + list(extra))


def h2_seeds():
    """(control byte, client bytes after the preface, origin scripts) for http2_fuzz.cpp."""
    settings = h2_frame(H2_SETTINGS, 0, 0)
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"
    post = [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1:8080"),
            (":path", "/up")]
    connect = [(":method", "CONNECT"), (":authority", "127.0.0.1:443")]
    websocket = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                 (":authority", "127.0.0.1:8080"), (":path", "/chat"),
                 ("sec-websocket-version", "13")]
    switch = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
    block = hpack([(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1:8080"),
                   (":path", "/split"), ("accept", "*/*")])
    return [
        (0, settings + h2_get(1), [ok]),
        (0, settings + h2_get(1, "/c", extra=[("cookie", "a=1"), ("cookie", "b=2")]), [chunked]),
        (0, settings + h2_get(1, "/close"), [until_close]),
        (2, settings + h2_get(1, "/a") + h2_get(3, "/b"), [ok, chunked]),
        (0, settings + h2_headers(1, post + [("content-length", "5")], False)
         + h2_frame(H2_DATA, END_STREAM, 1, b"hello"), [ok]),
        (2, settings + h2_headers(1, post, False) + h2_frame(H2_DATA, 0, 1, b"part one, ")
         + h2_frame(H2_DATA, END_STREAM, 1, b"part two"), [ok]),
        (0, settings + h2_headers(1, post + [("content-length", "50")], False)
         + h2_frame(H2_DATA, END_STREAM, 1, b"short"), [ok]),
        (8, settings + h2_headers(1, connect, False) + h2_frame(H2_DATA, 0, 1, b"ping")
         + h2_frame(H2_DATA, END_STREAM, 1, b"last"), []),
        (0, settings + h2_headers(1, websocket, False) + h2_frame(H2_DATA, 0, 1, b"\x81\x02hi"),
         [switch + b"\x81\x02yo"]),
        (0, settings + h2_frame(H2_HEADERS, 0, 1, block[:10]) + h2_frame(H2_CONT, 0, 1, block[10:20])
         + h2_frame(H2_CONT, END_HEADERS, 1, block[20:]), [ok]),
        (0, settings + h2_get(1, "/gone") + h2_frame(H2_RST, 0, 1, (8).to_bytes(4, "big")), [ok]),
        (0, h2_frame(H2_SETTINGS, 0, 0, (4).to_bytes(2, "big") + (1 << 20).to_bytes(4, "big")
                     + (5).to_bytes(2, "big") + (1 << 15).to_bytes(4, "big"))
         + h2_frame(H2_PING, 0, 0, b"12345678") + h2_frame(H2_WINDOW, 0, 0, (1 << 20).to_bytes(4, "big"))
         + h2_frame(H2_PRIORITY, 0, 1, bytes(5)) + h2_get(3) + h2_frame(H2_SETTINGS, ACK, 0), [ok]),
        (4, settings + h2_get(1, extra=[("x-big", "v" * 1200)]), [ok]),
        (0, settings + h2_get(1, "/then-goaway")
         + h2_frame(H2_GOAWAY, 0, 0, (1).to_bytes(4, "big") + bytes(4)), [ok]),
        (0, settings + h2_headers(1, [(":method", "GET"), (":path", "/no-authority"),
                                      (":scheme", "http"), ("Upper", "case")]), [ok]),
        (16, settings + h2_headers(1, [(":method", "OPTIONS"), (":scheme", "http"),
                                       (":authority", "127.0.0.1:8080"), (":path", "*")]), [ok]),
        (1, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", []),
    ]


# ---- TLS ClientHellos (client_hello_fuzz.cpp): written by hand (RFC 8446 §4.1.2), the
# shapes tests/integration/support/client_hello_bytes.h makes, and real clients' extensions.


def u16(n):
    return n.to_bytes(2, "big")


def tls_ext(kind, body):
    return u16(kind) + u16(len(body)) + body


def sni_ext(name):
    entry = b"\x00" + u16(len(name)) + name
    return tls_ext(0, u16(len(entry)) + entry)


def alpn_ext(protocols):
    names = b"".join(bytes([len(p)]) + p for p in protocols)
    return tls_ext(16, u16(len(names)) + names)


def client_hello(sni=b"example.test", alpn=(b"h2", b"http/1.1"), ech=False, padding=0,
                 extensions=True, extra=b"", record=16384):
    body = b"\x03\x03" + b"\x11" * 32 + b"\x20" + b"\x22" * 32
    body += u16(6) + b"\x13\x01\x13\x02\xc0\x2f" + b"\x01\x00"
    if extensions:
        ext = sni_ext(sni) if sni else b""
        ext += alpn_ext(alpn) if alpn else b""
        ext += tls_ext(43, b"\x04\x03\x04\x03\x03")   # supported_versions
        ext += tls_ext(10, b"\x00\x04\x00\x1d\x00\x17")  # supported_groups
        ext += tls_ext(0x0a0a, b"")                       # GREASE
        if ech:
            ext += tls_ext(0xfe0d, b"\x00\x00\x01\x00\x01\x2a\x00\x00\x00\x10" + b"\x55" * 16)
        ext += extra
        if padding:
            ext += tls_ext(21, b"\x00" * padding)
        body += u16(len(ext)) + ext
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    out = b""
    for at in range(0, len(message), record):
        part = message[at:at + record]
        out += b"\x16\x03\x01" + u16(len(part)) + part
    return out


def client_hello_seeds():
    """(split byte, the client's first bytes) for client_hello_fuzz.cpp."""
    return [
        (0, client_hello()),
        (3, client_hello(record=7)),
        (1, client_hello(sni=b"WWW.Example.TEST", alpn=(b"http/1.1",))),
        (0, client_hello(sni=b"", alpn=())),
        (0, client_hello(extensions=False)),
        (5, client_hello(ech=True, sni=b"public.example.test")),
        (9, client_hello(padding=600, record=100)),
        (0, client_hello(sni=b"bad name")),
        (0, client_hello(sni=b"127.0.0.1")),
        (0, client_hello(alpn=(b"h2", b""))),
        (0, client_hello(extra=tls_ext(43, b"\x02\x03\x04"))),  # a duplicate extension
        (0, client_hello(extra=b"\x00\x2a\x00\x09")),          # an extension cut short
        (0, client_hello()[:60]),
        (0, b"\x16\x03\x01\x00\x00"),
        (0, b"\x16\x03\x01\x40\x01"),
        (0, b"\x16\x03\x01\x00\x08\x02\x00\x00\x04abcd"),  # a ServerHello
        (0, b"\x16\x03\x01\x00\x04\x01\x01\x20\x00"),     # a 73 KiB hello announced
        (0, b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"),
        (0, b"SSH-2.0-OpenSSH_9.2\r\n"),
        (0, b"\x80\x2e\x01\x03\x01"),
    ]


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    written = {}
    requests = llhttp_cases("request")
    responses = llhttp_cases("response")
    desync = desync_cases()
    ok_response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

    # request_head: two control bytes (limits, split), then the bytes.
    for _, data in every(requests, 90):
        write("request_head", b"\x00\x05" + data, written)
    for _, data in every(desync, 80):
        write("request_head", b"\x00\x03" + data.replace(b"ORIGIN", b"example.com"), written)

    # response_head: control (method, client version), split, then the bytes.
    for k, (_, data) in enumerate(every(responses, 70)):
        write("response_head", bytes([k % 32, 7]) + data, written)

    # chunked: eight split bytes, then the bytes after a chunked message's head.
    for _, data in requests + responses:
        if b"chunked" in data.lower() and b"\r\n\r\n" in data:
            body = data.split(b"\r\n\r\n", 1)[1]
            if body:
                write("chunked", b"\x03\x01\x07\x02\x05\x0b\x01\xf0" + body, written)

    # session: control byte, the client's bytes, then the origin's answers.
    for k, (_, data) in enumerate(every(desync, 40)):
        body = b"0\r\n\r\n" if b"chunked" in data.lower() else b""
        write("session", bytes([k % 8]) + data + body + SEPARATOR + ok_response, written)
    for k, (_, data) in enumerate(every(responses, 30)):
        request = b"GET http://ORIGIN/ HTTP/1.1\r\nHost: ORIGIN\r\n\r\n"
        write("session", bytes([k % 8]) + request + SEPARATOR + data, written)

    # http2: control byte, the client's frames (the target adds the preface), origin scripts.
    for control, client, origins in h2_seeds():
        write("http2", bytes([control]) + b"".join([client] + [SEPARATOR + o for o in origins]),
              written)

    # client_hello: a split byte, then the client's first bytes.
    for split, data in client_hello_seeds():
        write("client_hello", bytes([split]) + data, written)

    # Hand-written seeds, as they are.
    for folder in sorted(HAND.glob("*")):
        for f in sorted(folder.iterdir()):
            write(folder.name, f.read_bytes(), written)

    for target in sorted(written):
        print(f"{target}: {len(list((OUT / target).iterdir()))} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
