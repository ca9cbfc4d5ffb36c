"""Headless Chromium driven over the Chrome DevTools Protocol, Python's standard library only.

Chromium is started with --remote-debugging-pipe: the protocol's JSON messages, each ended by a
NUL byte, go in on the browser's file descriptor 3 and come out on 4 (what Puppeteer does with
`pipe: true`). No WebDriver, no port, no package beyond Debian's chromium and python3: the
browser is the one the other Chromium tests use, and nothing has to match its version.

    with Browser("/usr/bin/chromium", workdir) as b:
        page = b.new_page()
        page.navigate("http://127.0.0.1:9/")
        page.eval("document.title")
"""
import base64
import json
import os
import select
import signal
import subprocess
import time


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, chromium, workdir, extra_args=(), start_timeout=30):
        os.makedirs(workdir, exist_ok=True)
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--no-proxy-server", "--hide-scrollbars", "--mute-audio",
                "--remote-debugging-pipe", "--user-data-dir=" + os.path.join(workdir, "profile"),
                *extra_args, "about:blank"]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["HOME"] = workdir
        self._log = open(os.path.join(workdir, "chromium.log"), "wb")
        # The pipes become the browser's descriptors 3 and 4 by a redirection of the shell that
        # execs it; its own session, so that close() can stop the whole process group.
        self._proc = subprocess.Popen(
            ["/bin/sh", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "sh", *args],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self._events = []
        self.command("Browser.getVersion", timeout=start_timeout)

    @property
    def pid(self):
        """The browser's process id; it leads a session of its own (ps -s PID: all its processes)."""
        return self._proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._proc.poll() is None:
            try:
                self.command("Browser.close", timeout=3)
            except (CdpError, OSError):
                pass
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                return None
            data = os.read(self._from_browser, 1 << 16)
            if not data:
                raise CdpError("the browser closed its end (exit status %s)" % self._proc.poll())
            self._buf += data
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def command(self, method, params=None, session=None, timeout=10):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply is None:
                raise CdpError(f"{method}: no answer within {timeout} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method, session=None, timeout=10):
        """The first event `method` (of `session`) received so far or within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] == method and (session is None or ev.get("sessionId") == session):
                    return self._events.pop(i)
            msg = self._read_message(deadline)
            if msg is None:
                return None
            if "method" in msg:
                self._events.append(msg)

    def new_page(self, width=1280, height=900, javascript=True):
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if not javascript:
            page.call("Emulation.setScriptExecutionDisabled", {"value": True})
        return page


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def call(self, method, params=None, timeout=10):
        return self.browser.command(method, params, self.session, timeout)

    def navigate(self, url, timeout=15):
        """Loads `url` and waits for its load event; raises CdpError when it does not come."""
        self.browser._events = [e for e in self.browser._events if e.get("sessionId") != self.session]
        result = self.call("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise CdpError(f"{url}: {result['errorText']}")
        if self.browser.wait_event("Page.loadEventFired", self.session, timeout) is None:
            raise CdpError(f"{url}: no load event within {timeout} s")

    def eval(self, expression, timeout=10):
        """The value of a JavaScript expression (promises awaited), as JSON gives it back."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError(f"{expression[:80]}: {d.get('exception', {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    def wait(self, expression, timeout=10, interval=0.1):
        """Polls `expression` until it is truthy; its last value (falsy at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(interval)

    def html(self):
        """The document as it is now, through the DOM domain (works with scripts disabled)."""
        root = self.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", {"nodeId": root})["outerHTML"]

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, 20)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
