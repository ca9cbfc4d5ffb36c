#!/usr/bin/env python3
"""Page-load time of Chromium (headless) through an HTTPS proxy (issue 15's page-load scenario).

usage: page_load.py --proxy-port P --spki SHA256B64 [--loads K] [--resources N] [--delay-ms D]
                    [--kind script|img|async] [--chromium PATH] [--time-limit S] [--workdir DIR]

Runs its own origin on a free port of 127.0.0.1 (asyncio, standard library only): /page.html
names N resources — --kind script (the default): N <script src=/r/<i>.js> in the head; img: N
<img src=/r/<i>.png> (distinct 1x1 PNGs) in the body; async: N <script async> — and a script
that, on the window's load event, requests /done?... with three figures from the Navigation
Timing entry: res = load event - the page's responseEnd (the N resources: what HTTP/1.1 against
HTTP/2 to the proxy changes most),
full = load event - fetchStart (the page too, with the browser's first connection to the proxy),
page = responseEnd - fetchStart. (The page's own fetch includes the start of Chromium's network
service, a second or more on a busy 2-core machine and the same for both protocols: hence res
as the headline figure.) Every response, the page's included, is sent D ms (default 20) after
its request has been read; Cache-Control: no-store on all. Then K times (default 3): Chromium
with a fresh profile, told to use https://127.0.0.1:P as its proxy for everything (loopback
included: --proxy-bypass-list=<-loopback>) and to trust the proxy's certificate by its key
(--ignore-certificate-errors-spki-list; no CA is installed anywhere; --proxy-port 0: no proxy,
the direct reference), loads http://127.0.0.1:<origin>/page.html; the browser is stopped (its
process group: it was started in a session of its own) once /done has come or after
--time-limit seconds (default 30) per load. Whether Chromium speaks HTTP/2 or HTTP/1.1 to the
proxy is up to the proxy's ALPN; this script does not choose.

Why scripts in the head by default: Chromium's preload scanner asks for all of them at once, at
high priority. Images and async scripts are "delayable" (priority below MEDIUM) and Chromium's
resource scheduler keeps only a few of them in flight per host unless it knows the origin
supports priorities — which for an http:// origin behind a proxy it does not, HTTP/2 proxy or
not: through HAProxy's h2 front end 100 images reached the proxy about 10 at a time, async
scripts about 6 at a time, head scripts all 100 within a millisecond.

Prints one line: loads=<completed> ms=<res of each, comma-separated> median=<of res>
full=<each> median_full=<of full> page=<each> requests=<resources served per load>; exit status 1
if no load completed (the reasons on stderr, one "error:" line per load).
"""
import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import struct
import zlib


def png(seed):
    """A valid 1x1 RGB PNG whose pixel depends on seed (so no two bodies are alike)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = bytes([0, seed & 255, (seed >> 8) & 255, 7])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Origin:
    def __init__(self, resources, delay, kind):
        self.resources, self.delay, self.kind = resources, delay, kind
        self.done = None  # the list the load in progress reports into
        self.served = 0
        if kind == "img":
            imgs = "".join(f'<img src="/r/{i}.png" width="1" height="1">' for i in range(resources))
        elif kind == "async":
            imgs = "".join(f'<script async src="/r/{i}.js"></script>' for i in range(resources))
        else:  # scripts in the head, fetched at once by the preload scanner at high priority
            imgs = ""
        head = "".join(f'<script src="/r/{i}.js"></script>' for i in range(resources)) if kind == "script" else ""
        self.page = (f"<!doctype html><html><head><title>page load</title>{head}</head><body>"
                     f"{imgs}<script>window.addEventListener('load', () => {{"
                     "const n = performance.getEntriesByType('navigation')[0], t = performance.now();"
                     "new Image().src = '/done?res=' + (t - n.responseEnd).toFixed(1) + '&full=' + (t - n.fetchStart).toFixed(1)"
                     " + '&page=' + (n.responseEnd - n.fetchStart).toFixed(1); });</script>"
                     "</body></html>").encode()
        self.pngs = [png(i) for i in range(resources)]

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = line.split(" ")
                if len(parts) != 3:
                    break
                path = parts[1]
                if path.startswith("http://"):  # absolute-form, should a proxy pass it on so
                    path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
                await asyncio.sleep(self.delay)
                status, kind, body = "200 OK", "text/plain", b""
                if path == "/page.html":
                    kind, body = "text/html", self.page
                elif path.startswith("/r/") and path.endswith((".png", ".js")):
                    try:
                        if path.endswith(".js"):
                            n = int(path[3:-3])
                            body, kind = f"window.r{n} = {n};\n".encode() if n < self.resources else None, "text/javascript"
                            if body is None:
                                raise IndexError
                        else:
                            body, kind = self.pngs[int(path[3:-4])], "image/png"
                        self.served += 1
                    except (ValueError, IndexError):
                        status, body = "404 Not Found", b"no such resource\n"
                elif path.startswith("/done?"):
                    if self.done is not None:
                        self.done.append({k: float(v) for k, v in (kv.split("=") for kv in path[6:].split("&"))})
                    status = "204 No Content"
                else:
                    status, body = "404 Not Found", b"no such resource\n"
                head = (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                        "Cache-Control: no-store\r\n\r\n").encode()
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


def serve(origin, sock, ready):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(asyncio.start_server(origin.handle, sock=sock, backlog=512))
    origin.loop = loop
    ready.set()
    loop.run_forever()
    server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy-port", type=int, default=0, help="0: no proxy (the direct reference)")
    ap.add_argument("--spki", default="")
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--resources", type=int, default=100)
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--kind", choices=("script", "img", "async"), default="script")
    ap.add_argument("--time-limit", type=float, default=30)
    ap.add_argument("--workdir")
    a = ap.parse_args()

    origin = Origin(a.resources, a.delay_ms / 1000, a.kind)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready = threading.Event()
    threading.Thread(target=serve, args=(origin, sock, ready), daemon=True).start()
    ready.wait(5)

    work = tempfile.mkdtemp(prefix="page-load.", dir=a.workdir)
    times, counts, errors = [], [], []
    try:
        for k in range(a.loads):
            profile = os.path.join(work, f"profile-{k}")
            env = {key: v for key, v in os.environ.items() if "proxy" not in key.lower()}
            env["HOME"] = work
            argv = [a.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    f"--user-data-dir={profile}"]
            if a.proxy_port:
                argv += [f"--proxy-server=https://127.0.0.1:{a.proxy_port}", "--proxy-bypass-list=<-loopback>",
                         f"--ignore-certificate-errors-spki-list={a.spki}"]
            else:
                argv += ["--no-proxy-server"]
            argv.append(f"http://127.0.0.1:{port}/page.html")
            got = []  # the origin appends the page's figure; this thread polls it
            origin.done = got
            origin.served = 0
            log = open(os.path.join(work, f"chromium-{k}.log"), "wb")
            browser = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + a.time_limit
            while not got and time.monotonic() < deadline and browser.poll() is None:
                time.sleep(0.05)
            try:
                os.killpg(browser.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            browser.wait()
            log.close()
            origin.done = None
            if got:
                times.append(got[0])
                counts.append(origin.served)
            else:
                with open(os.path.join(work, f"chromium-{k}.log"), "rb") as f:
                    tail = f.read()[-300:].decode("utf-8", "replace").replace("\n", " ")
                why = "exited" if browser.returncode is not None and time.monotonic() < deadline else "timed out"
                errors.append(f"load {k + 1}: {why}, {origin.served} resources served; chromium: {tail}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if times:
        ms = [t["res"] for t in times]

        def join(key):
            return ",".join(f"{t[key]:.0f}" for t in times)

        print(f"loads={len(times)} ms={','.join(f'{t:.0f}' for t in ms)} median={statistics.median(ms):.1f} "
              f"full={join('full')} median_full={statistics.median(t['full'] for t in times):.1f} page={join('page')} "
              f"requests={','.join(map(str, counts))}")
    for e in errors:
        print("error: " + e, file=sys.stderr)
    return 0 if times else 1


if __name__ == "__main__":
    sys.exit(main())
