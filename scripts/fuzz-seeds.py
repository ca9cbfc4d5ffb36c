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

    # Hand-written seeds, as they are.
    for folder in sorted(HAND.glob("*")):
        for f in sorted(folder.iterdir()):
            write(folder.name, f.read_bytes(), written)

    for target in sorted(written):
        print(f"{target}: {len(list((OUT / target).iterdir()))} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
