#!/usr/bin/env python3
"""Connection floods against ferry for bench/soak.sh (scenarios 3 and 4).

usage:
  soak_conns.py flood FERRY_PORT ORIGIN_PORT PER_CLIENT_CONNS OTHER_CONNS
      Opens PER_CLIENT_CONNS connections from 127.0.0.1, then OTHER_CONNS from each of 127.0.0.2
      and 127.0.0.3, all idle (nothing sent). Each one is classified 1.5 s after the batch:
      held (open, nothing received), 503 with the per-client cause, 503 with the global cause,
      closed without an answer, or other. Then every connection is closed and a new client
      (127.0.0.4) asks for /1k.bin until it gets 200: the time that took.
  soak_conns.py fdx FERRY_PORT ORIGIN_PORT FERRY_PID IDLE_CONNS
      A keep-alive client gets /1k.bin; then IDLE_CONNS idle connections are opened (ferry runs
      with a small open-file limit, so it runs out of descriptors); during 5 s of saturation
      ferry's CPU is read from /proc/FERRY_PID/stat; the keep-alive client asks again; a new
      client tries once (2 s); then the idle connections are closed and a new client asks until
      it gets 200, and the keep-alive client asks a third time.
  soak_conns.py slowloris FERRY_PORT ORIGIN_PORT CONNS RATE SECONDS INTERVAL
      Keeps CONNS connections open for SECONDS, each sending an absolute-form request head a
      line at a time (the request line at once, then one header line every INTERVAL seconds,
      never the blank line), opening at most RATE a second; a connection that ferry closes is
      replaced until SECONDS are over, then no more are opened and the rest are awaited (at
      most 20 s). Reports how long ferry let each one live (from its first byte to ferry's
      close) and what ferry sent before closing.

Prints key=value lines on stdout (read by bench/soak.sh); every wait is bounded.
"""
import os
import resource
import selectors
import socket
import sys
import time


def request(origin_port):
    return (f"GET http://127.0.0.1:{origin_port}/1k.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{origin_port}\r\n\r\n").encode()


def read_response(sock, deadline):
    """Reads one response (Content-Length framing); returns (status or None, raw bytes)."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            break
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(body) >= length:
                break
    try:
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
    except (IndexError, ValueError):
        status = None
    return status, data


def get_once(port, origin_port, source, timeout):
    """One GET on a new connection: status or None."""
    s = socket.socket()
    try:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.sendall(request(origin_port))
        status, _ = read_response(s, time.monotonic() + timeout)
        return status
    except OSError:
        return None
    finally:
        s.close()


def get_until_ok(port, origin_port, source, limit):
    """Asks on new connections until a 200; returns (milliseconds, attempts) or (None, attempts)."""
    start = time.monotonic()
    attempts = 0
    while time.monotonic() - start < limit:
        attempts += 1
        if get_once(port, origin_port, source, 1.0) == 200:
            return round((time.monotonic() - start) * 1000), attempts
        time.sleep(0.05)
    return None, attempts


def open_idle(port, source, count, limit):
    """Non-blocking connects from `source`; returns the sockets whose connect completed."""
    sel = selectors.DefaultSelector()
    pending = []
    done = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.bind((source, 0))
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, 115):  # EINPROGRESS
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE)
        pending.append(s)
    deadline = time.monotonic() + limit
    left = len(pending)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            sel.unregister(s)
            left -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                s.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return done


def classify(socks, wait):
    """After `wait` seconds: what each idle connection got from ferry."""
    time.sleep(wait)
    out = {"held": 0, "r503_client": 0, "r503_total": 0, "closed": 0, "other": 0}
    for s in socks:
        try:
            data = s.recv(4096)
        except BlockingIOError:
            out["held"] += 1
            continue
        except OSError:
            out["closed"] += 1
            continue
        if not data:
            out["closed"] += 1
        elif data.startswith(b"HTTP/1.1 503") and b"too many connections from" in data:
            out["r503_client"] += 1
        elif data.startswith(b"HTTP/1.1 503") and b"too many connections (limit" in data:
            out["r503_total"] += 1
        else:
            out["other"] += 1
    return out


def flood(port, origin_port, per_client, other):
    results = {}
    all_socks = []
    for source, count in (("127.0.0.1", per_client), ("127.0.0.2", other), ("127.0.0.3", other)):
        socks = open_idle(port, source, count, 10)
        all_socks += socks
        got = classify(socks, 1.5)
        results[source] = got
        print(f"from={source} opened={count} connected={len(socks)} " +
              " ".join(f"{k}={v}" for k, v in got.items()), flush=True)
    # one 503 body as ferry sent it, for the report
    sample = socket.socket()
    sample.bind(("127.0.0.3", 0))
    sample.settimeout(2)
    try:
        sample.connect(("127.0.0.1", port))
        _, data = read_response(sample, time.monotonic() + 2)
        body = data.partition(b"\r\n\r\n")[2].decode(errors="replace").strip()
        print(f"sample_answer={data.split(b' ', 2)[1].decode() if data else 'none'} {body}")
    except OSError as e:
        print(f"sample_answer=error {e}")
    finally:
        sample.close()
    for s in all_socks:
        s.close()
    ms, attempts = get_until_ok(port, origin_port, "127.0.0.4", 10)
    print(f"resume_ms={ms if ms is not None else 'never'} resume_attempts={attempts}", flush=True)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def fdx(port, origin_port, pid, idle):
    hz = os.sysconf("SC_CLK_TCK")
    keep = socket.create_connection(("127.0.0.1", port), timeout=5)
    keep.sendall(request(origin_port))
    status, _ = read_response(keep, time.monotonic() + 5)
    print(f"keepalive_before={status}", flush=True)
    socks = open_idle(port, "127.0.0.1", idle, 10)
    time.sleep(1)
    print(f"idle_connected={len(socks)} ferry_fds={fd_count(pid)}", flush=True)
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(5)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    cpu = (c1 - c0) / hz / (t1 - t0) * 100
    print(f"saturated_cpu_pct={cpu:.1f} ferry_fds={fd_count(pid)}", flush=True)
    start = time.monotonic()
    keep.sendall(request(origin_port))
    status, data = read_response(keep, time.monotonic() + 5)
    print(f"keepalive_during={status} keepalive_during_ms={round((time.monotonic() - start) * 1000)}",
          flush=True)
    if status != 200:
        print("keepalive_during_answer=" +
              data.partition(b"\r\n\r\n")[2][:200].decode(errors="replace").strip(), flush=True)
    print(f"new_client_during={get_once(port, origin_port, '127.0.0.2', 2.0)}", flush=True)
    for s in socks:
        s.close()
    ms, attempts = get_until_ok(port, origin_port, "127.0.0.3", 10)
    print(f"resume_ms={ms if ms is not None else 'never'} resume_attempts={attempts}", flush=True)
    keep.sendall(request(origin_port))
    status, _ = read_response(keep, time.monotonic() + 5)
    print(f"keepalive_after={status} ferry_fds={fd_count(pid)}", flush=True)
    keep.close()


def slowloris(port, origin_port, conns, rate, seconds, interval):
    sel = selectors.DefaultSelector()
    live = {}  # socket -> [opened_at, next_send_at, first_bytes]
    lifetimes = []
    answers = {}
    failed = 0
    opened = 0
    start = time.monotonic()
    peak = 0
    line = (f"GET http://127.0.0.1:{origin_port}/1k.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{origin_port}\r\n").encode()

    def close(s, why):
        sel.unregister(s)
        opened_at, _, got = live.pop(s)
        s.close()
        lifetimes.append(time.monotonic() - opened_at)
        key = got.split(b"\r\n", 1)[0].decode(errors="replace") if got else why
        answers[key] = answers.get(key, 0) + 1

    while True:
        now = time.monotonic()
        filling = now - start < seconds
        if not filling and not live:
            break
        if not filling and now - start > seconds + 20:
            break
        # open new ones, at most `rate` a second since the start
        while filling and len(live) < conns and opened < rate * (now - start + 0.01):
            s = socket.socket()
            s.setblocking(False)
            opened += 1
            if s.connect_ex(("127.0.0.1", port)) not in (0, 115):
                failed += 1
                s.close()
                continue
            live[s] = [now, now, b""]
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        peak = max(peak, len(live))
        for key, ev in sel.select(timeout=0.05):
            s = key.fileobj
            if s not in live:
                continue
            if ev & selectors.EVENT_WRITE:
                # connected: the request line and Host, then only read events and timed lines
                try:
                    s.send(line)
                except OSError:
                    close(s, "error")
                    continue
                live[s][0] = time.monotonic()
                live[s][1] = live[s][0] + interval
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                close(s, "reset")
                continue
            if data:
                live[s][2] += data
                continue
            close(s, "closed")
        now = time.monotonic()
        for s, st in list(live.items()):
            if st[1] <= now:
                st[1] = now + interval
                try:
                    s.send(b"X-Slow-%d: %d\r\n" % (int(now * 1000) % 1000, int(now) % 1000))
                except OSError:
                    close(s, "error")
    for s in list(live):
        close(s, "still open at the end")
    lifetimes.sort()
    n = len(lifetimes)

    def q(f):
        return f"{lifetimes[min(n - 1, int(f * n))]:.2f}" if n else "none"

    print(f"opened={opened} failed={failed} peak_open={peak} closed={n} life_min={q(0)} "
          f"life_median={q(0.5)} life_p99={q(0.99)} life_max={q(1.0)} "
          f"own_cpu_s={sum(resource.getrusage(resource.RUSAGE_SELF)[:2]):.1f}", flush=True)
    for k, v in sorted(answers.items(), key=lambda kv: -kv[1]):
        print(f"answer={v} x {k}", flush=True)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "flood":
        flood(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 6 and sys.argv[1] == "fdx":
        fdx(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 8 and sys.argv[1] == "slowloris":
        slowloris(*(int(a) for a in sys.argv[2:6]), float(sys.argv[6]), float(sys.argv[7]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
