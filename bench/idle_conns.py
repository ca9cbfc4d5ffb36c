#!/usr/bin/env python3
"""Idle keep-alive client connections through a proxy, and what they cost it in memory.

usage: idle_conns.py PROXY_PORT ORIGIN_PORT CONNS PID... [--concurrency N] [--time-limit S] [--hold S]
                     [--settle S] [--tls [--cafile FILE]]

Opens CONNS connections to the proxy on 127.0.0.1, sends one absolute-form keep-alive GET of
/1k.bin on each and reads the complete response (Content-Length framing), with at most
--concurrency requests in flight. All connections that got their response stay open; after
--hold seconds the resident memory (VmRSS) of the proxy's processes — the PIDs given and their
children, e.g. nginx's workers — is read again and compared with the value before the first
connection; with --settle S it is then read every 0.25 s until it has not changed for S seconds
(at most 10 s more), because ferry lets go of a served client's buffers within about 1.25 s,
in steps, and a read at 1 s sometimes falls before the last step. Then every connection is closed.

With --tls the proxy's port is a TLS listener (issue 14): each connection first does a TLS
handshake (TLS 1.2 or 1.3, ALPN http/1.1; the certificate verified against --cafile when given),
then sends the same request inside TLS; the RSS figures are then those of idle TLS clients.

Prints one line of key=value pairs on stdout:
  ok          responses received completely with status 200 (kept open)
  still_open  of those, connections still open after the hold (the proxy did not close them)
  closed      of those, connections the proxy closed (EOF/reset) after its response
  refused     connects refused or reset before a response; failed: other errors / timeouts;
  bad_status  responses other than 200 (e.g. a proxy's "too many connections" page)
  rss_before_kb, rss_after_kb, rss_per_conn_b = (after - before) / still_open in bytes
  seconds     time to open the connections and get the responses
  handshake_failed  with --tls: TLS handshakes that failed (also counted in failed)
  settled_s   with --settle: seconds after the hold until the last change of the RSS
Everything is bounded by --time-limit (default 60 s): what has not finished by then counts as failed.
"""
import argparse
import errno
import os
import resource
import selectors
import socket
import ssl
import sys
import time


def rss_kb(roots):
    """Sum of VmRSS over the processes in roots and their direct children (threads share it)."""
    roots = set(roots)
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if int(entry) not in roots and ppid not in roots:
                continue
            with open(f"/proc/{entry}/status", encoding="utf-8") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


class Conn:
    __slots__ = ("sock", "buf", "state", "need")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.state = "connecting"
        self.need = None  # total bytes of head + body once the head is parsed


def tls_context(cafile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = False  # the certificate names 127.0.0.1; no SNI to an IP address
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def still_open_tls(sock):
    """A TLS socket that select() calls readable: closed (close_notify, EOF or reset), or only a
    record that carries no data (a TLS 1.3 session ticket)?"""
    try:
        return sock.recv(1) != b""
    except ssl.SSLWantReadError:
        return True
    except (OSError, ssl.SSLError):
        return False


def parse_head(buf):
    """(status, total length of head + body, closes) once the head is complete, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    length = None
    closes = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length" and value.isdigit():
            length = int(value)
        elif name in ("connection", "proxy-connection") and "close" in value.lower():
            closes = True
    return status, (end + 4 + length) if length is not None else None, closes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proxy_port", type=int)
    ap.add_argument("origin_port", type=int)
    ap.add_argument("conns", type=int)
    ap.add_argument("pids", type=int, nargs="+")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--settle", type=float, default=0.0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cafile")
    args = ap.parse_args()
    tls = tls_context(args.cafile) if args.tls else None

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.conns + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    request = (f"GET http://127.0.0.1:{args.origin_port}/1k.bin HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{args.origin_port}\r\n"
               "Connection: keep-alive\r\nProxy-Connection: keep-alive\r\n\r\n").encode()
    counts = dict(ok=0, refused=0, failed=0, bad_status=0, announced_close=0)
    handshake_failed = 0
    errors = {}
    done = []  # sockets with a complete 200 response, kept open
    sel = selectors.DefaultSelector()
    started = 0
    in_flight = 0
    rss_before = rss_kb(args.pids)
    t0 = time.monotonic()
    deadline = t0 + args.time_limit

    def finish(conn, outcome, err=None):
        nonlocal in_flight, handshake_failed
        if conn.state == "handshake" and outcome != "ok":
            handshake_failed += 1
        sel.unregister(conn.sock)
        in_flight -= 1
        if outcome == "ok":
            done.append(conn.sock)
        else:
            conn.sock.close()
        counts[outcome] += 1
        if err:
            errors[err] = errors.get(err, 0) + 1

    while time.monotonic() < deadline and (started < args.conns or in_flight):
        while started < args.conns and in_flight < args.concurrency:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            rc = s.connect_ex(("127.0.0.1", args.proxy_port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                counts["refused" if rc == errno.ECONNREFUSED else "failed"] += 1
                errors[errno.errorcode.get(rc, str(rc))] = errors.get(errno.errorcode.get(rc, str(rc)), 0) + 1
                continue
            sel.register(s, selectors.EVENT_WRITE, Conn(s))
            in_flight += 1
        for key, _ in sel.select(timeout=0.2):
            conn = key.data
            s = conn.sock
            if conn.state == "connecting":
                rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if rc:
                    finish(conn, "refused" if rc in (errno.ECONNREFUSED, errno.ECONNRESET) else "failed",
                           errno.errorcode.get(rc, str(rc)))
                    continue
                if tls:
                    sel.unregister(s)
                    s = conn.sock = tls.wrap_socket(s, do_handshake_on_connect=False)
                    sel.register(s, selectors.EVENT_WRITE, conn)
                    conn.state = "handshake"
            if conn.state == "handshake":
                try:
                    s.do_handshake()
                except ssl.SSLWantReadError:
                    sel.modify(s, selectors.EVENT_READ, conn)
                    continue
                except ssl.SSLWantWriteError:
                    sel.modify(s, selectors.EVENT_WRITE, conn)
                    continue
                except (OSError, ssl.SSLError) as e:
                    finish(conn, "failed", f"TLS handshake: {getattr(e, 'reason', None) or e}")
                    continue
                conn.state = "sending"
            if conn.state in ("connecting", "sending"):
                try:
                    s.send(request)  # a few hundred bytes: fits in an empty socket buffer
                except OSError as e:
                    finish(conn, "refused", errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                conn.state = "reading"
                sel.modify(s, selectors.EVENT_READ, conn)
                continue
            try:
                data = s.recv(65536)
                while tls and data and s.pending():  # decrypted bytes select() does not see
                    data += s.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except ssl.SSLError as e:
                finish(conn, "failed", f"TLS: {e.reason or e}")
                continue
            except OSError as e:
                finish(conn, "refused", errno.errorcode.get(e.errno, str(e.errno)))
                continue
            if not data:
                finish(conn, "refused" if not conn.buf else "failed",
                       "EOF before a response" if not conn.buf else "EOF inside a response")
                continue
            conn.buf += data
            if conn.need is None:
                head = parse_head(conn.buf)
                if head is None:
                    continue
                status, need, closes = head
                if status != 200:
                    finish(conn, "bad_status", f"status {status}")
                    continue
                if need is None:
                    finish(conn, "failed", "no Content-Length")
                    continue
                if closes:
                    counts["announced_close"] += 1
                conn.need = need
            if len(conn.buf) >= conn.need:
                conn.buf = b""
                finish(conn, "ok")
    seconds = time.monotonic() - t0
    for key in list(sel.get_map().values()):
        counts["failed"] += 1
        errors["time limit"] = errors.get("time limit", 0) + 1
        key.fileobj.close()
    sel.close()

    time.sleep(args.hold)
    rss_after = rss_kb(args.pids)
    settled = None
    if args.settle > 0:
        held = time.monotonic()
        stable_since = held
        while time.monotonic() - stable_since < args.settle and time.monotonic() - held < 10:
            time.sleep(0.25)
            now = rss_kb(args.pids)
            if now != rss_after:
                rss_after, stable_since = now, time.monotonic()
        settled = stable_since - held
    # Which of the kept connections has the proxy closed? A readable socket here is EOF or reset.
    closed = 0
    probe = selectors.DefaultSelector()
    for s in done:
        probe.register(s, selectors.EVENT_READ)
    for key, _ in probe.select(timeout=0):
        if tls:
            closed += not still_open_tls(key.fileobj)
            continue
        try:
            if key.fileobj.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except OSError:
            closed += 1
    probe.close()
    for s in done:
        s.close()
    still_open = len(done) - closed
    per_conn = (rss_after - rss_before) * 1024 / still_open if still_open else 0
    fields = dict(counts, still_open=still_open, closed=closed, rss_before_kb=rss_before,
                  rss_after_kb=rss_after, rss_per_conn_b=f"{per_conn:.0f}", seconds=f"{seconds:.1f}")
    if settled is not None:
        fields["settled_s"] = f"{settled:.2f}"
    if tls:
        fields["handshake_failed"] = handshake_failed
    print(" ".join(f"{k}={v}" for k, v in fields.items()))
    if errors:
        print("errors: " + ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
