#!/usr/bin/env python3
"""Headless Chromium on ferry's admin pages, for tests/integration/status_browser_test.cpp and
bench/status/phase.sh. Debian's chromium and python3 (standard library), driven over the
DevTools protocol on a pipe (cdp.py); the traffic goes through ferry with Debian's curl.

    driver.py SCENARIO key=value...
      chromium=PATH   the browser (default /usr/bin/chromium)
      workdir=DIR     its profile and log (required)
      admin=PORT      ferry's admin listener on 127.0.0.1 (required)
      proxy=PORT      ferry's proxy port on 127.0.0.1 (status, flow)
      origin=PORT     a test origin on 127.0.0.1 (status, flow); origin2=PORT a second one (flow)
      secret=TEXT     sent as Cookie, Authorization and Proxy-Authorization values (status, flow)
      shot=PATH       where the screenshot goes (status, flow, nojs)
      limit=S         the whole run's bound in seconds (default 40)
      hold=S          watch: how long to keep the pages open (default: until stdin closes)
      pages=LIST      watch: status,flow (the default) or status

Scenarios:
  status  the status page with JavaScript: live figures before and after 23 requests through
          ferry (20 x 200, 2 x 404, 1 x 503), the plots' last points, the host table
  flow    the flow page: 6 exchanges from two clients to two origins shown live, the filters,
          pause (2 more held back) and resume (they come)
  nojs    both pages with JavaScript disabled: the server-rendered tables and blocks
  watch   (benchmark) the status page (and the flow page) open and live until told to stop

Prints what it saw as key=value lines (values on one line) and done=1 last; the test asserts
on them. Something unexpected prints error=... and exits 1.
"""
import base64
import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CdpError  # noqa: E402

opt = {"chromium": "/usr/bin/chromium", "limit": "40"}
for arg in sys.argv[2:]:
    k, _, v = arg.partition("=")
    opt[k] = v


def say(key, value):
    print(f"{key}={str(value).replace(chr(10), ' ')}", flush=True)


def fail(text):
    say("error", text)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Traffic: curl through ferry, one connection per call (several URLs reuse it).

def curl(urls, *extra, interface=None):
    argv = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "-x", f"http://127.0.0.1:{opt['proxy']}"]
    if interface:
        argv += ["--interface", interface]
    argv += list(extra)
    for u in urls:
        argv += [u, "-o", "/dev/null"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    r = subprocess.run(argv, env=env, capture_output=True, timeout=30)
    if r.returncode != 0:
        fail(f"curl {' '.join(urls)}: exit {r.returncode}: {r.stderr.decode(errors='replace')[:200]}")


def secret_headers():
    s = opt.get("secret", "")
    if not s:
        return []
    basic = base64.b64encode(f"user:{s}".encode()).decode()
    return ["-H", f"Cookie: session={s}", "-H", f"Authorization: Bearer {s}",
            "--proxy-header", f"Proxy-Authorization: Basic {basic}"]


def origin(port_key, path):
    return f"http://127.0.0.1:{opt[port_key]}{path}"


# ---------------------------------------------------------------------------------------------
# Reading the page.

def admin(path):
    return f"http://127.0.0.1:{opt['admin']}{path}"


def js(value):
    return json.dumps(value)


def secrets_in(page):
    """Whether the secret (or its Basic encoding) is anywhere in the page, its scripts' data included."""
    s = opt.get("secret", "")
    if not s:
        return 0
    text = page.html() + (page.eval("JSON.stringify([window.ferryStatus && ferryStatus.status])") or "")
    basic = base64.b64encode(f"user:{s}".encode()).decode()
    return int(s in text or basic in text)


def page_text(markup):
    """The text of an HTML document, on one line (scripts and styles left out)."""
    markup = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def status_page(b):
    p = b.new_page()
    p.navigate(admin("/"))
    mode = p.wait("window.ferryStatus && ferryStatus.ticks >= 1 && ferryStatus.mode", 10)
    say("mode", mode or p.eval("window.ferryStatus ? ferryStatus.mode + ' ' + ferryStatus.error : 'no script'"))
    return p


# The sum of a plot series' last n points (null as 0).
def recent(p, plot, index, n=20):
    return p.eval(f"ferryStatus.plots[{js(plot)}].data[{index}].slice(-{n}).reduce((a, v) => a + (v || 0), 0)")


def scenario_status(b):
    p = status_page(b)
    cell = "(document.querySelector('[data-key=\"totals.requests\"]') || {}).textContent"
    before = int((p.eval(cell) or "-1").replace(",", ""))
    say("before_requests", before)
    say("plot_points", p.eval("ferryStatus.plots.requests.data[0].length"))
    urls = [origin("origin", f"/size/1000?n={i}") for i in range(20)]
    urls += [origin("origin", "/status/404"), origin("origin", "/status/404"), origin("origin", "/status/503")]
    curl(urls, *secret_headers())
    want = before + len(urls)
    p.wait(f"Number(({cell} || '').replace(/,/g, '')) >= {want}", 8)
    say("after_requests", (p.eval(cell) or "").replace(",", ""))
    say("api_requests", p.eval("ferryStatus.status.totals.requests"))
    # A second's requests reach the plots with the next tick (the last complete second).
    p.wait(f"ferryStatus.plots.requests.data[1].slice(-20).reduce((a, v) => a + (v || 0), 0) >= {len(urls)}", 6)
    say("plot_requests_recent", recent(p, "requests", 1))
    say("plot_bytes_to_clients_recent", recent(p, "bytes", 2))
    say("plot_4xx_recent", recent(p, "errors", 1))
    say("plot_5xx_recent", recent(p, "errors", 2))
    say("plot_p50_max_recent", p.eval("Math.max(0, ...ferryStatus.plots.latency.data[1].slice(-20).filter((v) => v !== null))"))
    say("plot_last_t_age", p.eval("Math.round(Date.now() / 1000) - ferryStatus.plots.requests.data[0].slice(-1)[0]"))
    say("ticks", p.eval("ferryStatus.ticks"))
    host = f"127.0.0.1:{opt['origin']}"
    say("host_requests", p.eval(f"(document.querySelector('[data-key={js('hosts.' + host + '.requests')}]') || {{}}).textContent"))
    say("live", p.eval("document.getElementById('live').textContent"))
    say("secret_in_page", secrets_in(p))
    if opt.get("shot"):
        p.screenshot(opt["shot"])
        say("screenshot", opt["shot"])

    # A second page in a browser without EventSource (as behind something that blocks
    # streams): it polls /api/status, and its figures follow the traffic all the same.
    q = b.new_page()
    q.call("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"})
    q.navigate(admin("/"))
    say("poll_mode", q.wait("window.ferryStatus && ferryStatus.mode === 'poll' && ferryStatus.mode", 8)
        or q.eval("window.ferryStatus && ferryStatus.mode"))
    base = int((q.eval(cell) or "-1").replace(",", ""))
    curl([origin("origin", f"/polled/{i}") for i in range(5)])
    q.wait(f"Number(({cell} || '').replace(/,/g, '')) >= {base + 5}", 8)
    say("poll_requests_added", int((q.eval(cell) or "-1").replace(",", "")) - base)
    say("poll_live", q.eval("document.getElementById('live').textContent"))


FLOW_SHOWN = ("Array.from(document.querySelectorAll('pre.flow-block:not([hidden])'))"
              ".filter((e) => e.dataset.host.endsWith(':' + {o1}) || e.dataset.host.endsWith(':' + {o2})).length")


def scenario_flow(b):
    p = b.new_page()
    p.navigate(admin("/flow"))
    mode = p.wait("window.ferryFlow && ferryFlow.mode === 'sse' && ferryFlow.mode", 10)
    say("mode", mode or p.eval("window.ferryFlow ? ferryFlow.mode + ' ' + ferryFlow.error : 'no script'"))
    shown = FLOW_SHOWN.format(o1=js(opt["origin"]), o2=js(opt["origin2"]))
    # Client 127.0.0.1: 2 GET 200 and a POST 200 to origin, a GET 404 to origin, a GET 503 to
    # origin2. Client 127.0.0.2: a GET 200 to origin2 with the secrets.
    curl([origin("origin", "/a"), origin("origin", "/b")])
    curl([origin("origin", "/echo")], "--data", "posted")
    curl([origin("origin", "/status/404")])
    curl([origin("origin2", "/status/503")])
    curl([origin("origin2", "/c")], *secret_headers(), interface="127.0.0.2")
    p.wait(f"{shown} >= 6", 8)
    say("blocks", p.eval(shown))
    say("first_block", p.eval("(document.querySelector('pre.flow-block') || {}).textContent || ''")[:300])

    def with_filters(**f):
        fields = {"client": "", "host": "", "status": "", "method": ""}
        fields.update(f)
        p.eval("(() => { const f = document.getElementById('filters');"
               f"for (const [k, v] of Object.entries({js(fields)})) f.elements[k].value = v;"
               "f.dispatchEvent(new Event('input', {bubbles: true})); })()")
        return p.eval(shown)

    say("filter_host_origin2", with_filters(host=f"127.0.0.1:{opt['origin2']}"))
    say("filter_status_4xx", with_filters(status="4xx"))
    say("filter_status_503", with_filters(status="503"))
    say("filter_status_404_503", with_filters(status="404, 503"))
    say("filter_status_2xx", with_filters(status="2xx"))
    say("filter_method_post", with_filters(method="post"))
    say("filter_client_2", with_filters(client="127.0.0.2"))
    say("filter_client_1_origin_2xx", with_filters(client="127.0.0.1", host=f":{opt['origin']}", status="2xx"))
    say("filter_address", p.eval("location.search"))
    say("filter_none", with_filters())

    p.eval("document.getElementById('pause').click()")
    curl([origin("origin", "/while-paused/1"), origin("origin", "/while-paused/2")])
    missed = p.wait("ferryFlow.missed >= 2 && ferryFlow.missed", 6)
    time.sleep(0.3)
    say("paused_missed", missed or 0)
    say("paused_blocks", p.eval(shown))
    say("pause_button", p.eval("document.getElementById('pause').textContent"))
    p.eval("document.getElementById('pause').click()")
    p.wait(f"{shown} >= 8", 6)
    say("resumed_blocks", p.eval(shown))
    say("resumed_last", p.eval("(Array.from(document.querySelectorAll('pre.flow-block')).pop() || {}).textContent || ''")[:200])
    say("secret_in_page", secrets_in(p))
    if opt.get("shot"):
        p.screenshot(opt["shot"])
        say("screenshot", opt["shot"])


def scenario_nojs(b):
    p = b.new_page(javascript=False)
    p.navigate(admin("/"))
    markup = p.html()
    # What status.js adds when it runs: uPlot's plots, its own tables' data-key cells.
    say("status_scripted", int('class="u-wrap' in markup or "data-key=" in markup))
    say("status_tables", markup.count("<table"))
    say("status_text", page_text(markup)[:4000])
    say("secret_in_page", secrets_in(p))
    if opt.get("shot"):
        p.screenshot(opt["shot"])
        say("screenshot", opt["shot"])
    p.navigate(admin("/flow"))
    markup = p.html()
    say("flow_blocks", len(re.findall(r'<pre class="flow-block"', markup)))
    say("flow_filters_hidden", int(re.search(r'<form[^>]*id="filters"[^>]*hidden', markup) is not None))
    say("flow_secret_in_page", secrets_in(p))


class Stop(Exception):
    """SIGTERM: the benchmark is done with the pages."""


def scenario_watch(b):
    say("browser_pid", b.pid)
    pages = opt.get("pages", "status,flow").split(",")
    status = status_page(b)
    if status.eval("ferryStatus.mode") != "sse":
        fail("the status page is not live")
    flow = None
    if "flow" in pages:
        flow = b.new_page()
        flow.navigate(admin("/flow"))
        if not flow.wait("window.ferryFlow && ferryFlow.mode === 'sse'", 10):
            fail("the flow page is not live: " + str(flow.eval("window.ferryFlow && ferryFlow.mode")))
    say("ready", 1)
    hold = float(opt["hold"]) if "hold" in opt else None
    stop = threading.Event()
    if hold is None:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    try:
        stop.wait(hold)
    except Stop:
        pass
    say("ticks", status.eval("ferryStatus.ticks"))
    if flow:
        say("flow_received", flow.eval("ferryFlow.received"))
        say("flow_state", flow.eval("JSON.stringify({mode: ferryFlow.mode, rate: ferryFlow.rate, skipped: ferryFlow.skipped})"))


def main():
    scenarios = {"status": scenario_status, "flow": scenario_flow, "nojs": scenario_nojs, "watch": scenario_watch}
    if len(sys.argv) < 2 or sys.argv[1] not in scenarios:
        fail("usage: driver.py status|flow|nojs|watch key=value...")
    if "workdir" not in opt or "admin" not in opt:
        fail("workdir= and admin= are required")
    limit = float(opt["limit"])
    if sys.argv[1] != "watch" or "hold" in opt:
        signal.signal(signal.SIGALRM, lambda *_: fail(f"timeout after {limit:.0f} s"))
        signal.alarm(int(limit + (float(opt.get("hold", 0)))))
    # SIGTERM (the benchmark stopping a watch) closes the browser on the way out.
    def on_term(*_):
        raise Stop()
    signal.signal(signal.SIGTERM, on_term)
    try:
        with Browser(opt["chromium"], opt["workdir"]) as b:
            say("browser", b.command("Browser.getVersion").get("product", "?"))
            scenarios[sys.argv[1]](b)
    except CdpError as e:
        fail(str(e))
    except Stop:
        fail("stopped (SIGTERM)")
    say("done", 1)


if __name__ == "__main__":
    main()
