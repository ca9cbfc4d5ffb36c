#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into the benchmark table (Markdown, readable as plain text).

usage: report.py RESULTS.tsv FACTS.txt NOTES.txt BIG_MB CONNS [OLD_LABEL]
RESULTS.tsv rows: round, proxy, metric, value (a number, or a text such as "failed").
Round 0 holds the scenarios measured once per run (idle connections, CONNS busy connections).
Each cell is the median over rounds; ferry's ratios are medians of per-round ratios, so that
drift between rounds on a shared machine cancels out. Ends with issue 5's targets, met or missed
(when HAProxy or nginx took part). With a second ferry ("ferry-old", labelled OLD_LABEL), a
"new ÷ old" table: per metric the median of per-round ratios, their range and quartiles, a
distribution-free confidence interval of the median and the verdict on issue 12's ±3 %.
The TLS rows (issue 14; proxies "<name>-tls", metrics "tls_*", rounds of their own; see
bench/tls/phase.sh) get a section of their own: medians, ferry's ratios with their intervals,
and issue 14's targets against HAProxy. The HTTP/2 rows (issue 15; proxies "<name>-h2" and
"ferry-h1page", metrics "h2_*"/"h1_tunnel", rounds of their own; see bench/h2/phase.sh) too: requests
through four h2 front ends, CONNECT streams, idle HTTP/2 connections, Chromium's page load, and
issue 15's targets (against the best peer per round).
"""
import math
import os
import statistics
import sys
from collections import Counter, defaultdict

PROXIES = [  # (key in the results, label in the table)
    ("direct", "no proxy (direct)"),
    ("haproxy", "HAProxy (dynamic forward)"),
    ("nginx", "nginx (keep-alive relay)"),
    ("squid", "Squid (no cache)"),
    ("privoxy", "Privoxy (toggle 0)"),
    ("tinyproxy", "tinyproxy"),
    ("ferry", "ferry"),
    ("ferry-old", "ferry-old"),  # the label comes from the command line
    ("ferry-log", "ferry, access log to a file"),
]
PEERS = [("haproxy", "ferry ÷ HAProxy"), ("nginx", "ferry ÷ nginx"), ("direct", "ferry ÷ direct")]


def metrics(big_mb, conns):
    size = f"{big_mb / 1024:g} GiB" if big_mb >= 1024 else f"{big_mb} MiB"
    return [  # (key, column title, format)
        ("rps", "req/s, 50 conns, 1 KiB", "{:,.0f}"),
        ("cpu", "proxy CPU µs / request", "{:.1f}"),
        ("p50", "p50 latency, 1 conn (µs)", "{:,.0f}"),
        ("big", f"{size} download MB/s", "{:,.0f}"),
        ("connect", f"{size} via CONNECT MB/s", "{:,.0f}"),
        ("idle", f"RSS per idle keep-alive client conn ({conns:,} conns)", "{:,.0f} B"),
        ("errors", f"errors at {conns:,} conns (req/s)", "{:,.0f}"),
    ]


ONCE = {"idle", "errors", "many_rps"}  # measured once per run, recorded as round 0


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def load(path):
    data = defaultdict(dict)  # (proxy, metric) -> {round: value text}
    rounds = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            rnd, proxy, metric, value = parts
            data[(proxy, metric)][int(rnd)] = value
            if not metric.startswith(("tls_", "h2_", "h1_", "status_", "socks_")):  # TLS, HTTP/2, status, SOCKS5: rounds of their own
                rounds.add(int(rnd))
    return data, sorted(rounds)


def cell(values, fmt):
    if not values:
        return "—"
    nums = [n for n in map(number, values.values()) if n is not None]
    if not nums:
        return Counter(values.values()).most_common(1)[0][0]
    text = fmt.format(statistics.median(nums))
    if len(nums) < len(values):
        text += f" ({len(values) - len(nums)} of {len(values)} failed)"
    return text


def ratio_values(mine, theirs):
    per_round = []
    for rnd, value in mine.items():
        a, b = number(value), number(theirs.get(rnd, ""))
        if a is not None and b is not None and b > 0:
            per_round.append(a / b)
    return per_round


def ratio(mine, theirs):
    per_round = ratio_values(mine, theirs)
    if not per_round:
        return "—"
    text = f"{statistics.median(per_round):.2f}"
    if len(per_round) > 1:
        text += f" ({min(per_round):.2f}–{max(per_round):.2f})"
    return text


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def errors_cell(data, key, fmt):
    errors = data.get((key, "errors"), {})
    text = cell(errors, fmt)
    rps = [n for n in map(number, data.get((key, "many_rps"), {}).values()) if n is not None]
    if rps and number(errors.get(0, "")) is not None:
        text += f" ({statistics.median(rps):,.0f} req/s)"
    return text


def target_rows(data, conns):
    """Issue 5's targets: (target, ferry's figure, met / missed)."""
    def get(proxy, metric):
        return data.get((proxy, metric), {})

    def versus(label, mine, theirs, limit, higher_is_better, unit_fmt):
        per_round = ratio_values(mine, theirs)
        if not per_round:
            why = next((v for v in mine.values() if number(v) is None), None) or "not measured"
            return [label, why, "missed" if why != "not measured" else "not measured"]
        r = statistics.median(per_round)
        a = statistics.median(n for n in map(number, mine.values()) if n is not None)
        b = statistics.median(n for n in map(number, theirs.values()) if n is not None)
        met = r >= limit if higher_is_better else r <= limit
        shown = f"{r:.3f}" if round(r, 2) == limit else f"{r:.2f}"  # 0.804 must not read as 0.80, met
        return [label, f"{shown}× ({unit_fmt.format(a)} vs {unit_fmt.format(b)})", "met" if met else "missed"]

    rows = [
        versus("req/s ≥ 1.10× HAProxy", get("ferry", "rps"), get("haproxy", "rps"), 1.10, True, "{:,.0f}"),
        versus("CPU / request ≤ 0.80× HAProxy", get("ferry", "cpu"), get("haproxy", "cpu"), 0.80, False,
               "{:.1f} µs"),
        versus("p50 latency ≤ nginx", get("ferry", "p50"), get("nginx", "p50"), 1.00, False, "{:,.0f} µs"),
        versus("download ≥ 1.10× HAProxy", get("ferry", "big"), get("haproxy", "big"), 1.10, True, "{:,.0f} MB/s"),
        versus("CONNECT ≥ 1.10× HAProxy's plain download", get("ferry", "connect"), get("haproxy", "big"), 1.10,
               True, "{:,.0f} MB/s"),
        versus("RSS per idle connection ≤ nginx", get("ferry", "idle"), get("nginx", "idle"), 1.00, False,
               "{:,.0f} B"),
    ]
    errors = get("ferry", "errors")
    n = number(errors.get(0, "")) if errors else None
    if n is None:
        rows.append([f"0 errors at {conns:,} connections", errors.get(0, "not measured") if errors else
                     "not measured", "missed" if errors else "not measured"])
    else:
        rows.append([f"0 errors at {conns:,} connections", errors_cell(data, "ferry", "{:,.0f}"),
                     "met" if n == 0 else "missed"])
    return rows


TOLERANCE = 0.03  # issue 12: new ÷ old within ±3 %
CONFIDENCE = 0.95


def binom_cdf(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def median_ci(values):
    """Distribution-free confidence interval of the median: (low, high, coverage) from order statistics.

    [x_(k), x_(n+1-k)] covers the true median with probability 1 - 2 P(Bin(n, 1/2) <= k - 1); k is the
    largest with coverage >= 95 %, or 1 when none reaches it (fewer than 6 rounds: the coverage says so).
    """
    xs = sorted(values)
    n = len(xs)
    if n < 2:
        return None
    best = 1
    for k in range(1, n // 2 + 1):
        if 1 - 2 * binom_cdf(k - 1, n) >= CONFIDENCE:
            best = k
    return xs[best - 1], xs[n - best], 1 - 2 * binom_cdf(best - 1, n)


def rounds_needed(values):
    """Rough count of rounds for a 95 % interval of the median only ±3 % wide, at the spread seen so
    far: the fewest with which "within ±3 %" could be said even if new and old are equal."""
    if len(values) < 4:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    sigma = (q3 - q1) / 1.349  # the standard deviation of a normal distribution with this IQR
    # The median's standard error is ~1.2533 sigma / sqrt(n); the interval is ±1.96 of them.
    return math.ceil((1.96 * 1.2533 * sigma / TOLERANCE) ** 2)


def verdict(values, ci, higher_is_better):
    n = len(values)
    if n < 3 or ci is None:
        return f"{n} round(s): too few to say"
    low, high, _ = ci
    if 1 - TOLERANCE <= low and high <= 1 + TOLERANCE:
        return "within ±3 %"
    if low > 1 + TOLERANCE or high < 1 - TOLERANCE:
        better = (low > 1) == higher_is_better
        return f"outside ±3 %: new is {'better' if better else 'worse'}"
    need = rounds_needed(values)
    if need is None:
        return "not settled"
    return f"not settled; at this spread ±3 % takes ≥ ~{5 * math.ceil(max(need, n + 1) / 5)} rounds"


def compare_section(data, rounds, cols, old_label, conns):
    """issue 12: new ÷ old per metric."""
    better = {"rps": True, "cpu": False, "p50": False, "big": True, "connect": True, "idle_fresh": False,
              "idle_total": False}
    rows = []
    per_round_metrics = [(m, t, f) for m, t, f in cols if m in better and m != "idle"]
    per_round_metrics.append(("idle_fresh", f"RSS per idle conn ({conns:,} conns; fresh process each round)",
                              "{:,.0f} B"))
    per_round_metrics.append(("idle_total", f"RSS holding {conns:,} idle conns (fresh process each round)",
                              "{:,.0f} KiB"))
    for metric, title, fmt in per_round_metrics:
        new, old = data.get(("ferry", metric), {}), data.get(("ferry-old", metric), {})
        if not new and not old:
            continue
        values = ratio_values({r: v for r, v in new.items() if r != 0}, old)
        row = [title, cell(new, fmt), cell(old, fmt)]
        if not values:
            rows.append(row + ["—"] * 5 + ["not measured"])
            continue
        med = statistics.median(values)
        ci = median_ci(values)
        quart = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else None
        row += [f"**{med:.3f}**", f"{min(values):.3f}–{max(values):.3f}",
                f"{quart[0]:.3f}–{quart[2]:.3f}" if quart else "—",
                f"{ci[0]:.3f}–{ci[1]:.3f} ({ci[2] * 100:.0f} %)" if ci else "—",
                str(len(values)), verdict(values, ci, better[metric])]
        rows.append(row)
    if not rows:
        return []
    lines = ["", f"## New ÷ old: ferry against {old_label}", "",
             f"Per metric, the ratio new ÷ old in each round (the two ferries ran next to each other, "
             f"which one first alternating), and over the {len(rounds)} round(s): the median, the range, "
             "the interquartile range, and a distribution-free confidence interval of the median "
             "(order statistics of the per-round ratios; its coverage in brackets, 95 % from 6 rounds). "
             "\"within ±3 %\" needs that whole interval inside 0.970–1.030; \"outside\" needs it wholly "
             "beyond; otherwise the rounds so far cannot tell, and the estimate is the fewest rounds whose "
             "interval would be ±3 % wide at the spread seen (from the IQR; rerun with BENCH_ROUNDS, on a quiet "
             "machine if the load line above says otherwise). Higher is better in req/s and MB/s, lower in "
             "CPU, latency and memory.", ""]
    lines += table(["metric", "new (median)", "old (median)", "new ÷ old (median)", "range", "IQR",
                    "CI of the median", "rounds", "±3 %"], rows)
    once = []
    # The long-running processes' idle figure depends on how much free heap the rounds left them
    # (two runs of one binary read 8 B and 635 B): shown, but not as a ratio; the fresh-process row is the one.
    for metric, what, fmt in (("idle", "RSS per idle conn on the long-running processes (heap history varies: "
                               "no ratio; use the fresh-process row)", "{:,.0f} B"),
                              ("many_rps", f"req/s at {conns:,} conns", "{:,.0f}"),
                              ("errors", f"errors at {conns:,} conns", "{:,.0f}")):
        new = data.get(("ferry", metric), {}).get(0)
        old = data.get(("ferry-old", metric), {}).get(0)
        if new is None and old is None:
            continue
        a, b = number(new or ""), number(old or "")
        shown_a = fmt.format(a) if a is not None else (new or "—")
        shown_b = fmt.format(b) if b is not None else (old or "—")
        text = f"{what}: new {shown_a}, old {shown_b}"
        if a is not None and b is not None and b > 0 and metric == "many_rps":
            text += f", new ÷ old {a / b:.3f}"
        once.append(text)
    if once:
        lines += ["", "Once per run, after the rounds (one sample each, so no spread): " + "; ".join(once) + "."]
    return lines


TLS_PROXIES = [
    ("haproxy-tls", "HAProxy (bind ... ssl crt)"),
    ("squid-tls", "Squid (https_port, GnuTLS)"),
    ("apache-tls", "Apache httpd (SSL vhost, ProxyRequests On)"),
    ("ferry-tls", "ferry (--listen https://)"),
]


def tls_metrics(big_mb, conns):
    size = f"{big_mb / 1024:g} GiB" if big_mb >= 1024 else f"{big_mb} MiB"
    return [  # (key, column title, format, higher is better)
        ("tls_rps", "req/s, 50 conns, 1 KiB, keep-alive", "{:,.0f}", True),
        ("tls_cpu", "proxy CPU µs / request", "{:.1f}", False),
        ("tls_hs_full", "full handshakes/s", "{:,.0f}", True),
        ("tls_hs_full_cpu", "proxy CPU µs / full handshake", "{:,.0f}", False),
        ("tls_hs_res", "resumed handshakes/s", "{:,.0f}", True),
        ("tls_hs_res_cpu", "proxy CPU µs / resumed handshake", "{:,.0f}", False),
        ("tls_big", f"{size} download MB/s", "{:,.0f}", True),
        ("tls_big_cpu", "proxy CPU s / GiB", "{:.2f}", False),
        ("tls_idle", f"RSS per idle TLS client ({conns:,} clients)", "{:,.0f} B", False),
    ]


def ratio_with_interval(mine, theirs):
    """ferry ÷ peer: median of per-round ratios, its range and the distribution-free interval of the
    median with its coverage (the same order statistics as the new ÷ old table)."""
    values = ratio_values(mine, theirs)
    if not values:
        return "—"
    text = f"{statistics.median(values):.2f}"
    ci = median_ci(values)
    if ci and (ci[0], ci[1]) == (min(values), max(values)):  # up to 5 rounds the interval is the range
        text += f" ({ci[0]:.2f}–{ci[1]:.2f}, {ci[2] * 100:.0f} %)"
    elif ci:
        text += f" ({min(values):.2f}–{max(values):.2f}; CI {ci[0]:.2f}–{ci[1]:.2f}, {ci[2] * 100:.0f} %)"
    return text


def tls_targets(data):
    """Issue 14's targets: ferry against HAProxy, each a median of per-round ratios."""
    def get(proxy, metric):
        return data.get((proxy, metric), {})

    rows = []
    for metric, label, limit, higher in (("tls_rps", "TLS keep-alive req/s ≥ 1.10× HAProxy", 1.10, True),
                                         ("tls_hs_full", "full handshakes/s ≥ 1.10× HAProxy", 1.10, True),
                                         ("tls_hs_res", "resumed handshakes/s ≥ 1.10× HAProxy", 1.10, True),
                                         ("tls_big", "download through TLS ≥ 1.10× HAProxy", 1.10, True),
                                         ("tls_idle", "RSS per idle TLS client ≤ 0.50× HAProxy", 0.50, False)):
        mine, theirs = get("ferry-tls", metric), get("haproxy-tls", metric)
        values = ratio_values(mine, theirs)
        if not values:
            why = next((v for v in list(mine.values()) + list(theirs.values()) if number(v) is None), None)
            rows.append([label, why or "not measured", "not measured"])
            continue
        r = statistics.median(values)
        ci = median_ci(values)
        met = r >= limit if higher else r <= limit
        status = "met" if met else "missed"
        if ci and len(values) > 1:  # does the interval of the median say the same?
            sure = ci[0] >= limit if higher else ci[1] <= limit
            unsure = (ci[0] < limit <= ci[1]) if higher else (ci[0] <= limit < ci[1])
            if unsure:
                status += f" (interval {ci[0]:.2f}–{ci[1]:.2f} straddles {limit:.2f})"
            elif sure != met:
                status += " (interval disagrees)"
        shown = ratio_with_interval(mine, theirs)
        if round(r, 2) == limit:  # 1.097 must not read as 1.10, missed
            shown = f"{r:.3f}" + shown[shown.index(" "):] if " " in shown else f"{r:.3f}"
        rows.append([label, shown, status])
    return rows


def tls_section(data, big_mb, conns):
    present = {proxy for proxy, _ in data}
    proxies = [(k, label) for k, label in TLS_PROXIES if k in present]
    if not proxies:
        return []
    tls_rounds = sorted({r for (p, m), vals in data.items() if m.startswith("tls_") for r in vals if r != 0})
    cols = tls_metrics(big_mb, conns)
    lines = ["", "## TLS (issue 14)", "",
             f"Medians over {len(tls_rounds)} interleaved round(s) of their own, after the plain ones. Keep-alive: "
             "wrk -t1 -c50 over TLS to the proxy, absolute-form GETs inside. Handshakes: bench/tls/tls_handshakes "
             "(8 in flight; connect, handshake, close_notify), resumed = one session ticket offered each time. "
             "Download: curl --proxy https://. CPU: the proxy's processes (/proc, user + system), per unit. "
             f"Idle: {conns:,} keep-alive TLS clients after one 1 KiB GET each, RSS growth per client "
             "(once per run).", ""]
    rows = []
    for key, label in proxies:
        rows.append([label] + [cell(data.get((key, m), {}), fmt) for m, _, fmt, _ in cols])
    lines += table(["proxy"] + [title for _, title, _, _ in cols], rows)
    suites = [f"{label.split(' (')[0]}: {data[(key, 'tls_suite')][0]}" for key, label in proxies
              if (key, "tls_suite") in data]
    if suites:
        lines += ["", "Negotiated by the handshake client (version, cipher, key exchange): " + "; ".join(suites) + "."]
    other = data.get(("machine", "tls_other"), {})
    if other:
        lines.append("Other processes' CPU, share of all cores, per TLS round: "
                     + ", ".join(f"{other[r]}%" if r in other else "—" for r in tls_rounds) + ".")
    if "ferry-tls" in present:
        rows = []
        for peer, label in proxies:
            if peer == "ferry-tls":
                continue
            rows.append([f"ferry ÷ {label.split(' (')[0]}"]
                        + [ratio_with_interval(data.get(("ferry-tls", m), {}), data.get((peer, m), {}))
                           for m, _, _, _ in cols])
        if rows:
            lines += ["", "ferry's ratios: median of per-round ratios, then the distribution-free interval of "
                      "that median (order statistics) and its coverage. With few rounds that interval is the "
                      "range of the per-round ratios (coverage 50 % with 2 rounds, 75 % with 3, 94 % with 5); when "
                      "it is narrower (≥ 95 %, from about 9 rounds), the range comes first, then \"CI\". Higher is "
                      "better for ferry in req/s, handshakes/s and MB/s, lower in CPU and memory.", ""]
            lines += table(["ratio"] + [title for _, title, _, _ in cols], rows)
        if "haproxy-tls" in present:
            lines += ["", "Issue 14 targets (ferry ÷ HAProxy, median of per-round ratios):", ""]
            lines += table(["target", "ferry ÷ HAProxy", "status"], tls_targets(data))
    rows = []
    for metric, title, fmt, _ in cols:
        if metric == "tls_idle":
            continue
        for key, label in proxies:
            values = data.get((key, metric))
            if not values:
                continue
            shown = []
            for rnd in tls_rounds:
                n = number(values.get(rnd, "—"))
                shown.append(fmt.format(n) if n is not None else values.get(rnd, "—"))
            rows.append([title, label.split(" (")[0]] + shown)
    if rows:
        lines += ["", "TLS per-round values:", ""]
        lines += table(["scenario", "proxy"] + [f"round {r}" for r in tls_rounds], rows)
    return lines


H2_PROXIES = [
    ("haproxy-h2", "HAProxy (bind ... ssl alpn h2,http/1.1)"),
    ("apache-h2", "Apache httpd (Protocols h2, H2ProxyRequests On)"),
    ("nghttpx-h2", "nghttpx --http2-proxy + its backend"),
    ("ferry-h2", "ferry (--listen https://)"),
]
H2_PEERS = ["haproxy-h2", "apache-h2", "nghttpx-h2"]


def best_peer(data, metric, higher):
    """Per round, the best of the HTTP/2 peers' values: {round: value}, and {round: peer}."""
    best, who = {}, {}
    for peer in H2_PEERS:
        for rnd, text in data.get((peer, metric), {}).items():
            n = number(text)
            if n is None or n <= 0:
                continue
            if rnd not in best or (n > best[rnd] if higher else n < best[rnd]):
                best[rnd], who[rnd] = n, peer
    return {r: str(v) for r, v in best.items()}, who


def target_row(label, mine, theirs, limit, higher, against=""):
    """[label, ratio with interval, met / missed]: the median of per-round ratios against limit."""
    values = ratio_values(mine, theirs)
    if not values:
        why = next((v for v in list(mine.values()) + list(theirs.values()) if number(v) is None), None)
        return [label, why or "not measured", "not measured"]
    r = statistics.median(values)
    met = r >= limit if higher else r <= limit
    status = "met" if met else "missed"
    ci = median_ci(values)
    if ci and len(values) > 1:
        unsure = (ci[0] < limit <= ci[1]) if higher else (ci[0] <= limit < ci[1])
        if unsure:
            status += f" (interval {ci[0]:.2f}–{ci[1]:.2f} straddles {limit:.2f})"
    shown = ratio_with_interval(mine, theirs)
    if round(r, 2) == limit:  # 1.097 must not read as 1.10, missed
        shown = f"{r:.3f}" + (shown[shown.index(" "):] if " " in shown else "")
    return [label, shown + against, status]


def h2_section(data, big_mb):
    present = {proxy for proxy, _ in data}
    proxies = [(k, label) for k, label in H2_PROXIES if k in present]
    if not proxies and "ferry-h1page" not in present:
        return []
    h2_rounds = sorted({r for (p, m), vals in data.items() if m.startswith(("h2_", "h1_")) for r in vals if r != 0})
    size = f"{big_mb / 1024:g} GiB" if big_mb >= 1024 else f"{big_mb} MiB"
    lines = ["", "## HTTP/2 (issue 15)", "",
             f"Medians over {len(h2_rounds)} interleaved round(s) of their own. Requests: bench/h2/h2load_proxy "
             "(one thread, epoll, nghttp2) over TLS with ALPN h2, 1 KiB GETs (:scheme http, :authority the origin) "
             "on 10 connections × 100 streams in flight; CPU: the proxy's processes (/proc, user + system) per "
             f"request, nghttpx's counted with its backend HTTP/1.1 proxy's. Tunnels: 10 CONNECT streams on one "
             f"HTTP/2 connection, each an HTTP/1.1 GET of the {size} file inside, MB/s in total (10^6 B/s); "
             "ferry's HTTP/1.1 CONNECT: the same over 10 TLS connections with ALPN http/1.1. Idle: HTTP/2 "
             "connections after one 1 KiB GET each, on fresh processes, RSS growth per connection (once per run).",
             ""]
    cols = [("h2_rps", "req/s, 10 conns × 100 streams, 1 KiB", "{:,.0f}"),
            ("h2_cpu", "proxy CPU µs / request", "{:.1f}"),
            ("h2_tunnel", f"10 CONNECT streams × {size}, MB/s", "{:,.0f}"),
            ("h2_tunnel_cpu", "proxy CPU s / GiB tunnelled", "{:.2f}"),
            ("h1_tunnel", f"10 HTTP/1.1 CONNECTs × {size}, MB/s", "{:,.0f}"),
            ("h1_tunnel_cpu", "proxy CPU s / GiB (HTTP/1.1)", "{:.2f}"),
            ("h2_idle", "RSS per idle HTTP/2 connection", "{:,.0f} B")]
    rows = []
    for key, label in proxies:
        row = [label]
        for metric, _, fmt in cols:
            values = data.get((key, metric), {})
            if not values and metric in ("h2_tunnel", "h2_tunnel_cpu") and key == "haproxy-h2":
                row.append("no CONNECT (forward mode)")
            elif not values and metric.startswith("h2_tunnel") and key == "nghttpx-h2":
                row.append("not measured")
            else:
                row.append(cell(values, fmt))
        rows.append(row)
    if rows:
        lines += table(["proxy"] + [t for _, t, _ in cols], rows)
    other = data.get(("machine", "h2_other"), {})
    if other:
        lines.append("")
        lines.append("Other processes' CPU, share of all cores, per HTTP/2 round: "
                     + ", ".join(f"{other[r]}%" if r in other else "—" for r in h2_rounds) + ".")
    if "ferry-h2" in present:
        rows = []
        for peer, label in proxies:
            if peer == "ferry-h2":
                continue
            rows.append([f"ferry ÷ {label.split(' (')[0].split(' --')[0]}"]
                        + [ratio_with_interval(data.get(("ferry-h2", m), {}), data.get((peer, m), {}))
                           for m in ("h2_rps", "h2_cpu", "h2_tunnel", "h2_idle")])
        if rows:
            lines += ["", "ferry's ratios: median of per-round ratios, then the range or interval of that median "
                      "and its coverage (as in the TLS section).", ""]
            lines += table(["ratio", "req/s", "CPU / request", "CONNECT streams MB/s", "RSS per idle conn"], rows)

        rps_best, rps_who = best_peer(data, "h2_rps", True)
        cpu_best, cpu_who = best_peer(data, "h2_cpu", False)

        def named(who):
            names = sorted({w.replace("-h2", "") for w in who.values()})
            return f" (best peer per round: {', '.join(names)})" if names else ""

        targets = [
            target_row("req/s ≥ 1.10× the best peer", data.get(("ferry-h2", "h2_rps"), {}), rps_best, 1.10, True,
                       named(rps_who)),
            target_row("CPU / request ≤ 0.80× the best peer", data.get(("ferry-h2", "h2_cpu"), {}), cpu_best, 0.80,
                       False, named(cpu_who)),
            target_row("CONNECT-stream throughput ≥ 1.10× Apache's", data.get(("ferry-h2", "h2_tunnel"), {}),
                       data.get(("apache-h2", "h2_tunnel"), {}), 1.10, True),
            target_row("CONNECT-stream throughput ≥ 0.90× ferry's HTTP/1.1 CONNECT",
                       data.get(("ferry-h2", "h2_tunnel"), {}), data.get(("ferry-h2", "h1_tunnel"), {}), 0.90, True),
            target_row("RSS per idle HTTP/2 connection ≤ HAProxy's", data.get(("ferry-h2", "h2_idle"), {}),
                       data.get(("haproxy-h2", "h2_idle"), {}), 1.00, False),
        ]
        lines += ["", "Issue 15 targets (ferry's median of per-round ratios; against the best peer of that round "
                  "for req/s and CPU):", ""]
        lines += table(["target", "ferry ÷ peer", "status"], targets)
        one2, one1 = data.get(("ferry-h2", "h2_tunnel1"), {}), data.get(("ferry-h2", "h1_tunnel1"), {})
        if one2 or one1:
            lines += ["", f"One tunnel alone through ferry (what one connection carries): one CONNECT stream "
                      f"{cell(one2, '{:,.0f}')} MB/s ({cell(data.get(('ferry-h2', 'h2_tunnel1_cpu'), {}), '{:.2f}')} "
                      f"CPU s / GiB), one HTTP/1.1 CONNECT tunnel over TLS {cell(one1, '{:,.0f}')} MB/s "
                      f"({cell(data.get(('ferry-h2', 'h1_tunnel1_cpu'), {}), '{:.2f}')} CPU s / GiB); "
                      f"h2 ÷ HTTP/1.1: {ratio_with_interval(one2, one1)}."]
    if "ferry-h1page" in present or ("ferry-h2", "h2_page") in data:
        h2p, h1p = data.get(("ferry-h2", "h2_page"), {}), data.get(("ferry-h1page", "h2_page"), {})
        h2f, h1f = data.get(("ferry-h2", "h2_page_full"), {}), data.get(("ferry-h1page", "h2_page_full"), {})
        lines += ["", "Page load (bench/h2/page_load.py): Chromium headless through ferry's TLS listener, a page of "
                  "100 resources (scripts in its head unless BENCH_H2_PAGE_KIND said otherwise), each response 20 ms after "
                  "its request; the median of each round's loads. \"100 resources\": from the page's responseEnd to "
                  "the load event; \"page + resources\": from fetchStart (the browser's first connection to the proxy "
                  "and the page included).", ""]
        lines += table(["", "HTTP/2 (ms)", "HTTP/1.1, --http2 off (ms)", "h2 ÷ h1"],
                       [["100 resources", cell(h2p, "{:,.0f}"), cell(h1p, "{:,.0f}"), ratio_with_interval(h2p, h1p)],
                        ["page + resources", cell(h2f, "{:,.0f}"), cell(h1f, "{:,.0f}"), ratio_with_interval(h2f, h1f)]])
    rows = []
    per_round = [("h2_rps", "req/s", "{:,.0f}"), ("h2_cpu", "CPU µs / request", "{:.1f}"),
                 ("h2_tunnel", "CONNECT streams MB/s", "{:,.0f}"), ("h1_tunnel", "HTTP/1.1 CONNECT MB/s", "{:,.0f}"),
                 ("h2_tunnel1", "one CONNECT stream MB/s", "{:,.0f}"), ("h1_tunnel1", "one HTTP/1.1 CONNECT MB/s", "{:,.0f}"),
                 ("h2_page", "page load, 100 resources (ms)", "{:,.0f}")]
    for metric, title, fmt in per_round:
        for key, label in proxies + [("ferry-h1page", "ferry --http2 off")]:
            values = data.get((key, metric))
            if not values:
                continue
            shown = []
            for rnd in h2_rounds:
                n = number(values.get(rnd, "—"))
                shown.append(fmt.format(n) if n is not None else values.get(rnd, "—"))
            rows.append([title, label.split(" (")[0]] + shown)
    if rows:
        lines += ["", "HTTP/2 per-round values:", ""]
        lines += table(["scenario", "proxy"] + [f"round {r}" for r in h2_rounds], rows)
    return lines


def plain_section(data, rounds, cols, proxies, present, once_done, old_label, conns):
    """The plain rows: the main table, new ÷ old, ferry's ratios, issue 5's targets, per-round values."""
    lines = []
    lines += ["", f"Medians over {len(rounds)} interleaved round(s); MB = 10^6 bytes. The last two columns are "
              f"measured once per run, after the rounds{'' if once_done else ' (not reached in this run)'}: "
              "RSS growth of the proxy's processes per idle keep-alive client connection (one 1 KiB GET each, "
              f"all {conns:,} open), and wrk -t2 -c{conns} for 5 s: socket errors + non-2xx responses.", ""]

    rows = []
    for key, label in proxies:
        row = [label]
        for metric, _, fmt in cols:
            if key == "direct" and metric in ("cpu", "idle"):
                row.append("—")
            elif key == "direct" and metric == "connect":
                row.append(cell(data.get((key, metric), {}), fmt) + " (plain download)")
            elif metric == "errors":
                row.append(errors_cell(data, key, fmt))
            else:
                row.append(cell(data.get((key, metric), {}), fmt))
        rows.append(row)
    lines += table(["proxy"] + [title for _, title, _ in cols], rows)

    if "ferry-old" in present:
        lines += compare_section(data, rounds, cols, old_label, conns)

    ratio_cols = [(m, t) for m, t, _ in cols if m != "errors"]
    rows = []
    for peer, label in PEERS + [("ferry", "ferry with access log ÷ ferry")]:
        mine_key = "ferry-log" if label.startswith("ferry with") else "ferry"
        if peer not in present or mine_key not in present:
            continue
        rows.append([label] + [ratio(data.get((mine_key, m), {}), data.get((peer, m), {})) for m, _ in ratio_cols])
    if rows:
        lines += ["", "ferry's ratios, median of per-round ratios (range). Higher is better for ferry in req/s "
                  "and MB/s, lower is better in CPU, latency and memory.", ""]
        lines += table(["ratio"] + [title for _, title in ratio_cols], rows)
    if "haproxy" in present:
        lines += ["", "- ferry's CONNECT MB/s ÷ HAProxy's plain download MB/s: "
                  + ratio(data.get(("ferry", "connect"), {}), data.get(("haproxy", "big"), {}))]
    if "nginx" in present:
        lines += ["- ferry's RSS per idle connection ÷ nginx's: "
                  + ratio(data.get(("ferry", "idle"), {}), data.get(("nginx", "idle"), {}))]

    if "haproxy" in present or "nginx" in present:
        lines += ["", "Issue 5 targets (ferry's median ratio of per-round ratios, and the medians):", ""]
        lines += table(["target", "ferry", "status"], target_rows(data, conns))

    lines += ["", "Per-round values:", ""]
    rows = []
    per_round_cols = [c for c in cols if c[0] not in ONCE]
    if ("ferry", "idle_fresh") in data:
        per_round_cols.append(("idle_fresh", "RSS per idle conn, fresh process", "{:,.0f} B"))
    if ("ferry", "idle_total") in data:
        per_round_cols.append(("idle_total", "RSS holding the idle conns, fresh process", "{:,.0f} KiB"))
    for metric, title, fmt in per_round_cols:
        for key, label in proxies:
            values = data.get((key, metric))
            if not values:
                continue
            shown = []
            for rnd in rounds:
                n = number(values.get(rnd, "—"))
                shown.append(fmt.format(n) if n is not None else values.get(rnd, "—"))
            rows.append([title, label] + shown)
        if "ferry-old" in present and ("ferry", metric) in data:
            new, old = data.get(("ferry", metric), {}), data.get(("ferry-old", metric), {})
            shown = []
            for rnd in rounds:
                a, b = number(new.get(rnd, "")), number(old.get(rnd, ""))
                shown.append(f"{a / b:.3f}" if a is not None and b is not None and b > 0 else "—")
            rows.append([title, "new ÷ old"] + shown)
    lines += table(["scenario", "proxy"] + [f"round {r}" for r in rounds], rows)

    return lines


def main():
    results, facts_path, notes_path = sys.argv[1], sys.argv[2], sys.argv[3]
    big_mb, conns = int(sys.argv[4]), int(sys.argv[5])
    old_label = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else "ferry-old"
    proxies = [(k, old_label if k == "ferry-old" else label) for k, label in PROXIES]
    data, rounds = load(results)
    present = {proxy for proxy, _ in data}
    proxies = [(k, label) for k, label in proxies if k in present]
    once_done = 0 in rounds
    rounds = [r for r in rounds if r != 0]
    cols = metrics(big_mb, conns)
    lines = ["# ferry benchmark", ""]
    with open(facts_path, encoding="utf-8") as f:
        lines += [f"- {line.strip()}" for line in f if line.strip()]
    other = data.get(("machine", "other"), {})
    if other:
        shown = ", ".join(f"{other[r]}%" if r in other else "—" for r in rounds)
        lines.append(f"- other processes' CPU, share of all cores, per round: {shown}")
        if max(number(v) or 0 for v in other.values()) > 10:
            lines.append("  (above ~10%, other work competed for the 2 cores: that round's numbers, ratios "
                         "included, are noisy; rerun on a quiet machine)")
    plain_metrics = {m for m, _, _ in cols} | {"many_rps"}
    if not any(metric in plain_metrics for _, metric in data):
        lines += ["", "No plain rows in this run (BENCH_H2=only, BENCH_STATUS=only or BENCH_SOCKS=only)."]
    else:
        lines += plain_section(data, rounds, cols, proxies, present, once_done, old_label, conns)
    lines += tls_section(data, big_mb, conns)
    lines += h2_section(data, big_mb)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "status"))
    from report_section import status_section  # bench/status/report_section.py (issue 16)
    lines += status_section(data)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "socks"))
    from socks_report import socks_section  # bench/socks/socks_report.py (issue 17)
    lines += socks_section(data, big_mb)

    with open(notes_path, encoding="utf-8") as f:
        notes = [line.strip() for line in f if line.strip()]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
