// Chromium (Debian's, headless) with --proxy-server=https://127.0.0.1:P loads a page from a
// test origin through ferry's TLS listener: the page's script, its image, a fetch() and a
// WebSocket (ws:// through a proxy is a CONNECT tunnel). The page reports what loaded by
// requesting /done?…, which the origin writes to a file; ferry's access log shows each
// request went through it. Chromium trusts the proxy's certificate by its key
// (--ignore-certificate-errors-spki-list) and is told to proxy loopback too.
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/ports.h"
#include "support/temp_file.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* chromium = "/usr/bin/chromium";
constexpr const char* python = "/usr/bin/python3";

// The origin: python3's standard library only. argv: port, the file /done writes.
constexpr const char* origin_script = R"PY(import base64, hashlib, http.server, os, struct, sys

port, done = int(sys.argv[1]), sys.argv[2]
PAGE = b"""<!doctype html><html><head><title>ferry</title><script src="/app.js"></script>
</head><body><img id="img" src="/pixel.png"><div id="out"></div></body></html>"""
SCRIPT = b"""const results = {script: 'ok'};
function report() {
  if (!('fetch' in results && 'ws' in results && 'image' in results)) return;
  const order = ['script', 'image', 'fetch', 'ws'].map(k => [k, results[k]]);
  new Image().src = '/done?' + new URLSearchParams(order);
}
window.addEventListener('load', () => {
  results.image = document.getElementById('img').naturalWidth === 1 ? 'ok' : 'missing';
  fetch('/data.json').then(r => r.json()).then(j => { results.fetch = j.answer; report(); })
    .catch(e => { results.fetch = 'error'; report(); });
  const ws = new WebSocket('ws://' + location.host + '/ws');
  ws.onopen = () => ws.send('ping');
  ws.onmessage = e => { results.ws = e.data; ws.close(); report(); };
  ws.onerror = () => { results.ws = 'error'; report(); };
  report();
});
"""
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, kind, body):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ws":
            return self.websocket()
        if self.path.startswith("/done?"):
            with open(done + ".new", "w") as f:
                f.write(self.path[6:])
            os.rename(done + ".new", done)
            return self.answer("image/png", PNG)
        pages = {"/": ("text/html", PAGE), "/app.js": ("text/javascript", SCRIPT),
                 "/pixel.png": ("image/png", PNG),
                 "/data.json": ("application/json", b'{"answer": "ok"}')}
        if self.path in pages:
            return self.answer(*pages[self.path])
        self.send_error(404)

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept",
                         base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
        self.end_headers()
        self.close_connection = True
        first, second = self.rfile.read(2)
        n = second & 127
        if n == 126:
            n = struct.unpack(">H", self.rfile.read(2))[0]
        mask = self.rfile.read(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
        reply = b"pong:" + data
        self.wfile.write(bytes([0x81, len(reply)]) + reply)
        self.rfile.read(2)  # the client's close frame (or its end)

http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
)PY";

} // namespace

TEST(HttpsChromium, APageWithScriptImageFetchAndWebSocketLoadsThroughTheTlsListener) {
    if (::access(chromium, X_OK) != 0)
        GTEST_SKIP() << chromium << " missing (Debian package chromium)";
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    temp_file script(origin_script);
    const int origin_port = unused_port();
    const auto done = files.path("done.txt");
    background_program origin({python, script.path(), std::to_string(origin_port), done},
                              files.path("origin.log"));
    ASSERT_TRUE(wait_for_listener(origin_port)) << read_file(files.path("origin.log"));

    auto args = files.https_args();
    args.insert(args.end(), {"--connect-ports", std::to_string(origin_port)});
    ferry_process ferry(args, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto spki = files.spki_sha256(files.proxy_cert());
    ASSERT_FALSE(spki.empty());
    const auto home = files.path("home");
    std::filesystem::create_directories(home);
    auto argv = without_proxy_environment();
    argv.insert(argv.end(),
                {"HOME=" + home, chromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run",
                 "--user-data-dir=" + home + "/profile",
                 fmt::format("--proxy-server=https://127.0.0.1:{}", ferry.port()),
                 "--proxy-bypass-list=<-loopback>", "--ignore-certificate-errors-spki-list=" + spki,
                 fmt::format("http://127.0.0.1:{}/", origin_port)});
    background_program browser(argv, files.path("chromium.log"));
    ASSERT_TRUE(browser.started());

    // Chromium's start under a busy CI machine takes a few seconds; the page, then.
    const bool reported = eventually([&] { return std::filesystem::exists(done); }, 45s);
    ASSERT_TRUE(reported) << "the page never reported\nchromium:\n"
                          << tail(read_file(files.path("chromium.log"))) << "\nferry:\n"
                          << ferry.out() << ferry.err();
    EXPECT_EQ(read_file(done), "script=ok&image=ok&fetch=ok&ws=pong%3Aping");
    const auto base = fmt::format("http://127.0.0.1:{}", origin_port);
    for (const auto* path : {"/", "/app.js", "/pixel.png", "/data.json"})
        EXPECT_FALSE(wait_for_line(ferry, {"GET " + base + path + " 200 "}).empty())
            << path << " did not go through ferry:\n"
            << ferry.out();
    EXPECT_FALSE(wait_for_line(ferry, {fmt::format("CONNECT 127.0.0.1:{}", origin_port)}).empty())
        << "the WebSocket did not go through ferry:\n"
        << ferry.out();
}
