"""The status-page section of bench/report.py (issue 16; the rows come from bench/status/phase.sh).

status_section(data) -> markdown lines; `data` is report.py's {(proxy, metric): {round: text}}.
"""
import statistics


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _median(values):
    nums = [n for n in map(_num, values.values()) if n is not None]
    return statistics.median(nums) if nums else None


def _ratio(mine, theirs):
    """Median and range of the per-round ratios mine ÷ theirs."""
    per_round = [a / b for r, v in mine.items()
                 if (a := _num(v)) is not None and (b := _num(theirs.get(r))) is not None and b > 0]
    if not per_round:
        return "—", []
    text = f"{statistics.median(per_round):.3f}"
    if len(per_round) > 1:
        text += f" ({min(per_round):.3f}–{max(per_round):.3f})"
    return text, per_round


def _fmt(value, fmt):
    return "—" if value is None else fmt.format(value)


def status_section(data):
    get = lambda m: data.get(("ferry-status", m), {})  # noqa: E731
    if not any(m.startswith("status_") for p, m in data if p == "ferry-status"):
        return []
    rounds = sorted({r for (p, m), v in data.items() if p == "ferry-status" for r in v})
    rps_u, rps_w = get("status_rps_unwatched"), get("status_rps_watched")
    cpu_u, cpu_w = get("status_cpu_unwatched"), get("status_cpu_watched")
    rps_ratio, _ = _ratio(rps_w, rps_u)
    cpu_ratio, _ = _ratio(cpu_w, cpu_u)
    lines = ["", "## Status page (issue 16)", "",
             f"One ferry with --admin-listen, wrk -t1 -c50, 1 KiB through it; {len(rounds)} interleaved round(s), "
             "each an unwatched run (nobody on the admin listener) and a watched one (headless Chromium with "
             "the status page and the flow page open, both streams live), the order alternating. "
             "Ratios: medians of per-round ratios watched ÷ unwatched (range).", ""]
    lines += ["| | req/s | ferry CPU µs / request | browser CPU, % of one core |", "| --- | --- | --- | --- |",
              f"| unwatched | {_fmt(_median(rps_u), '{:,.0f}')} | {_fmt(_median(cpu_u), '{:.2f}')} | — |",
              f"| watched (status + flow pages) | {_fmt(_median(rps_w), '{:,.0f}')} | {_fmt(_median(cpu_w), '{:.2f}')} | "
              f"{_fmt(_median(get('status_browser_cpu')), '{:.0f} %')} |",
              f"| **watched ÷ unwatched** | **{rps_ratio}** | **{cpu_ratio}** | |"]
    watchers = get("status_watchers")
    if watchers:
        lines += ["", "SSE watchers at the end of each watched run (ferry_admin_clients): "
                  + ", ".join(watchers[r] for r in sorted(watchers)) + "."]
    other = data.get(("machine", "status_other"), {})
    if other:
        lines.append("Other processes' CPU per round: " + ", ".join(f"{other[r]}%" for r in sorted(other)) + ".")
    per_round = ["", "| round | req/s unwatched | req/s watched | CPU µs/req unwatched | CPU µs/req watched |",
                 "| --- | --- | --- | --- | --- |"]
    for r in rounds:
        per_round.append(f"| {r} | {rps_u.get(r, '—')} | {rps_w.get(r, '—')} | {cpu_u.get(r, '—')} | {cpu_w.get(r, '—')} |")
    return lines + per_round
