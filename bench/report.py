#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into the benchmark table (Markdown, readable as plain text).

usage: report.py RESULTS.tsv FACTS.txt NOTES.txt BIG_MB
RESULTS.tsv rows: round, proxy, metric, value (a number, or a text such as "failed").
Each cell is the median over rounds; ferry's ratios are medians of per-round ratios, so that
drift between rounds on a shared machine cancels out.
"""
import statistics
import sys
from collections import Counter, defaultdict

PROXIES = [  # (key in the results, label in the table)
    ("direct", "no proxy (direct)"),
    ("haproxy", "HAProxy (dynamic forward)"),
    ("nginx", "nginx (keep-alive relay)"),
    ("ferry", "ferry"),
    ("ferry-log", "ferry, access log to a file"),
]
PEERS = [("haproxy", "ferry ÷ HAProxy"), ("nginx", "ferry ÷ nginx"), ("direct", "ferry ÷ direct")]


def metrics(big_mb):
    size = f"{big_mb / 1024:g} GiB" if big_mb >= 1024 else f"{big_mb} MiB"
    return [  # (key, column title, format)
        ("rps", "req/s, 50 conns, 1 KiB", "{:,.0f}"),
        ("cpu", "proxy CPU µs / request", "{:.1f}"),
        ("p50", "p50 latency, 1 conn (µs)", "{:,.0f}"),
        ("big", f"{size} download MB/s", "{:,.0f}"),
        ("connect", f"{size} via CONNECT MB/s", "{:,.0f}"),
    ]


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


def ratio(mine, theirs):
    per_round = []
    for rnd, value in mine.items():
        a, b = number(value), number(theirs.get(rnd, ""))
        if a is not None and b is not None and b > 0:
            per_round.append(a / b)
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


def main():
    results, facts_path, notes_path, big_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    data, rounds = load(results)
    cols = metrics(big_mb)
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
    lines += ["", f"Medians over {len(rounds)} interleaved round(s); MB = 10^6 bytes.", ""]

    rows = []
    for key, label in PROXIES:
        row = [label]
        for metric, _, fmt in cols:
            if key == "direct" and metric == "cpu":
                row.append("—")
            elif key == "direct" and metric == "connect":
                row.append(cell(data.get((key, metric), {}), fmt) + " (plain download)")
            else:
                row.append(cell(data.get((key, metric), {}), fmt))
        rows.append(row)
    lines += table(["proxy"] + [title for _, title, _ in cols], rows)

    lines += ["", "ferry's ratios, median of per-round ratios (range). Higher is better for ferry in req/s "
              "and MB/s, lower is better in CPU and latency.", ""]
    rows = []
    for peer, label in PEERS + [("ferry", "ferry with access log ÷ ferry")]:
        mine_key = "ferry-log" if label.startswith("ferry with") else "ferry"
        rows.append([label] + [ratio(data.get((mine_key, m), {}), data.get((peer, m), {}))
                               for m, _, _ in cols])
    lines += table(["ratio"] + [title for _, title, _ in cols], rows)

    lines += ["", "Per-round values:", ""]
    rows = []
    for metric, title, fmt in cols:
        for key, label in PROXIES:
            values = data.get((key, metric))
            if not values:
                continue
            shown = []
            for rnd in rounds:
                n = number(values.get(rnd, "—"))
                shown.append(fmt.format(n) if n is not None else values.get(rnd, "—"))
            rows.append([title, label] + shown)
    lines += table(["scenario", "proxy"] + [f"round {r}" for r in rounds], rows)

    with open(notes_path, encoding="utf-8") as f:
        notes = [line.strip() for line in f if line.strip()]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
