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


KINDS = [("unwatched", "nobody watching"), ("status", "status page open"),
         ("flow", "status and flow pages open")]


def status_section(data):
    get = lambda m: data.get(("ferry-status", m), {})  # noqa: E731
    if not any(m.startswith("status_") for p, m in data if p == "ferry-status"):
        return []
    rounds = sorted({r for (p, m), v in data.items() if p == "ferry-status" for r in v})
    rps_u, cpu_u = get("status_rps_unwatched"), get("status_cpu_unwatched")
    lines = ["", "## Status page (issue 16)", "",
             f"One ferry with --admin-listen, wrk -t1 -c50, 1 KiB through it; {len(rounds)} round(s), each "
             "a run with nobody on the admin listener, one with headless Chromium holding the status page "
             "open (SSE, a tick a second) and one with the status and flow pages open (an SSE event per "
             "exchange), the order rotated. Ratios: medians of per-round ratios against the unwatched run "
             "(range). The browser shares the 2 cores: req/s watched includes that competition; ferry's CPU "
             "per request is what watching costs ferry itself.", "",
             "| | req/s | ÷ unwatched | ferry CPU µs / request | ÷ unwatched | browser CPU, % of a core | streams open mid-run |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for kind, label in KINDS:
        rps, cpu = get(f"status_rps_{kind}"), get(f"status_cpu_{kind}")
        if not rps:
            continue
        watchers = get(f"status_watchers_{kind}")
        shown = ", ".join(sorted(set(watchers.values()))) if watchers else "0"
        lines.append(
            f"| {label} | {_fmt(_median(rps), '{:,.0f}')} | {'—' if kind == 'unwatched' else _ratio(rps, rps_u)[0]} "
            f"| {_fmt(_median(cpu), '{:.2f}')} | {'—' if kind == 'unwatched' else _ratio(cpu, cpu_u)[0]} "
            f"| {_fmt(_median(get(f'status_browser_cpu_{kind}')), '{:.0f} %')} | {shown} |")
    other = data.get(("machine", "status_other"), {})
    if other:
        lines += ["", "Other processes' CPU per round: " + ", ".join(f"{other[r]}%" for r in sorted(other)) + "."]
    lines += ["", "| round | " + " | ".join(f"req/s {k}" for k, _ in KINDS) + " | "
              + " | ".join(f"CPU µs/req {k}" for k, _ in KINDS) + " |",
              "| --- " * (1 + 2 * len(KINDS)) + "|"]
    for r in rounds:
        lines.append(f"| {r} | " + " | ".join(get(f"status_rps_{k}").get(r, "—") for k, _ in KINDS) + " | "
                     + " | ".join(get(f"status_cpu_{k}").get(r, "—") for k, _ in KINDS) + " |")
    return lines
