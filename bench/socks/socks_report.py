"""The SOCKS5 section of bench/report.py (issue 17; the rows come from bench/socks/phase.sh).

socks_section(data, big_mb) -> markdown lines; `data` is report.py's {(proxy, metric): {round: text}}.
Each cell is the median over rounds; ferry's ratios are medians of per-round ratios against the
better peer of that round (the faster for rates and MB/s, the smaller for memory and CPU).
"""
import statistics

SERVERS = [("ferry-socks", "ferry (socks5:// listener)"), ("dante-socks", "dante-server (danted)"),
           ("microsocks-socks", "microsocks")]
PEERS = ["dante-socks", "microsocks-socks"]
# (metric, column title, format, higher is better)
METRICS = [
    ("socks_cps", "new SOCKS5 connections/s", "{:,.0f}", True),
    ("socks_cps_cpu", "CPU µs / connection", "{:,.1f}", False),
    ("socks_big", "MB/s, one tunnel", "{:,.0f}", True),
    ("socks_big_cpu", "CPU s / GiB", "{:.2f}", False),
    ("socks_idle", "RSS B / idle tunnel", "{:,.0f}", False),
    ("socks_idle_pss", "PSS B / idle tunnel", "{:,.0f}", False),
]


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _cell(values, fmt):
    if not values:
        return "—"
    nums = [n for n in map(_num, values.values()) if n is not None]
    if nums:
        text = fmt.format(statistics.median(nums))
        return text if len(nums) == len(values) else f"{text} ({len(nums)} of {len(values)})"
    return sorted(values.values())[0]  # e.g. "not installed", "failed (...)"


def _vs_best(data, metric, higher):
    """Per round: ferry ÷ the better peer's value (and which peer that was)."""
    ferry = data.get(("ferry-socks", metric), {})
    out = {}
    for r, v in ferry.items():
        a = _num(v)
        peers = [(b, p) for p in PEERS if (b := _num(data.get((p, metric), {}).get(r))) is not None and b > 0]
        if a is None or not peers:
            continue
        b, p = (max if higher else min)(peers)
        out[r] = (a / b, p)
    return out


def _ratio_text(per_round):
    if not per_round:
        return "—", None
    vals = [v for v, _ in per_round.values()]
    med = statistics.median(vals)
    text = f"{med:.2f}"
    if len(vals) > 1:
        text += f" ({min(vals):.2f}–{max(vals):.2f})"
    return text, med


def socks_section(data, big_mb):
    if not any(m.startswith("socks_") for p, m in data if p.endswith("-socks")):
        return []
    size = f"{big_mb / 1024:g} GiB" if big_mb >= 1024 else f"{big_mb} MiB"
    rounds = sorted({r for (p, m), v in data.items() if m.startswith("socks_") and p != "machine" for r in v})
    lines = ["", "## SOCKS5 (issue 17)", "",
             f"ferry's socks5:// listener against dante-server and microsocks; {len(rounds)} round(s) of their "
             "own, the order rotated. New connections: bench/socks/socks_load.c, 50 clients in flight, each "
             "greeting (no auth), CONNECT to an echo origin by IPv4 address, 64 bytes there and back, close. "
             f"One tunnel: curl --socks5 of the {size} file from the nginx origin. Idle: 2,000 tunnels after one "
             "exchange each, on fresh processes, memory growth per tunnel (RSS summed over the processes; PSS "
             "splits the pages dante's forked children share). CPU: the server's processes, user + system. "
             "Medians over rounds; ferry's ratios are medians of per-round ratios against the better peer of "
             "each round (range).", "",
             "| server | " + " | ".join(t for _, t, _, _ in METRICS) + " | processes with the idle tunnels |",
             "| --- " * (len(METRICS) + 2) + "|"]
    for key, label in SERVERS:
        if not any((key, m) in data for m, _, _, _ in METRICS):
            continue
        procs = _cell(data.get((key, "socks_idle_procs"), {}), "{:.0f}")
        lines.append(f"| {label} | " + " | ".join(_cell(data.get((key, m), {}), f) for m, _, f, _ in METRICS)
                     + f" | {procs} |")
    ratios = {m: _ratio_text(_vs_best(data, m, hi)) for m, _, _, hi in METRICS}
    lines.append("| ferry ÷ the better peer | " + " | ".join(ratios[m][0] for m, _, _, _ in METRICS) + " | |")

    targets = [("socks_cps", "new SOCKS5 connections/s ≥ 1.10 × the better peer", lambda v: v >= 1.10),
               ("socks_big", f"{size} through one tunnel ≥ 1.10 × the better peer", lambda v: v >= 1.10),
               ("socks_idle", "RSS per idle tunnel ≤ the smaller peer's", lambda v: v <= 1.0)]
    lines += ["", "Issue 17's targets:", ""]
    for metric, text, ok in targets:
        med = ratios[metric][1]
        verdict = "not measured" if med is None else ("met" if ok(med) else "missed")
        shown = "—" if med is None else f"{med:.3f} (range {ratios[metric][0].partition(' ')[2].strip('()') or '—'})"
        lines.append(f"- {text}: {shown} → **{verdict}**")
    other = data.get(("machine", "socks_other"), {})
    if other:
        lines += ["", "Other processes' CPU per round: " + ", ".join(f"{other[r]}%" for r in sorted(other)) + "."]
    lines += ["", "| round | " + " | ".join(f"{label.split(' ')[0]} {t}" for key, label in SERVERS
                                           for m, t, _, _ in METRICS[0:5:2] if (key, m) in data) + " |"]
    shown = [(key, m) for key, _ in SERVERS for m, _, _, _ in METRICS[0:5:2] if (key, m) in data]
    lines.append("| --- " * (len(shown) + 1) + "|")
    for r in rounds:
        lines.append(f"| {r} | " + " | ".join(data[k].get(r, "—") for k in shown) + " |")
    return lines
