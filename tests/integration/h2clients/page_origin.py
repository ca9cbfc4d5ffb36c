# The origin of tests/integration/http2_chromium_test.cpp: python3's standard library only.
# argv: port, the file /done writes, the number of resources the page loads, origin delay (ms).
# GET / is a page of N images (/img/I.png) and a script; once every image has loaded or failed
# the script opens a WebSocket (/ws), sends "ping", and reports by requesting
# /done?images=LOADED&failed=FAILED&ws=ANSWER, whose query this server writes to the file.
import base64, hashlib, http.server, os, struct, sys, time

port, done, count, delay = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
IMAGES = "".join(f'<img src="/img/{i}.png" width="1" height="1">' for i in range(count))
PAGE = f"""<!doctype html><html><head><title>ferry h2</title></head><body>{IMAGES}
<script src="/app.js"></script></body></html>""".encode()
SCRIPT = b"""function report(ws) {
  const images = [...document.images];
  const loaded = images.filter(i => i.complete && i.naturalWidth === 1).length;
  new Image().src = '/done?' + new URLSearchParams(
      [['images', loaded], ['failed', images.length - loaded], ['ws', ws]]);
}
window.addEventListener('load', () => {
  const ws = new WebSocket('ws://' + location.host + '/ws');
  ws.onopen = () => ws.send('ping');
  ws.onmessage = e => { ws.close(); report(e.data); };
  ws.onerror = () => report('error');
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
        if self.path.startswith("/img/"):
            if delay:
                time.sleep(delay / 1000)
            return self.answer("image/png", PNG)
        if self.path == "/":
            return self.answer("text/html", PAGE)
        if self.path == "/app.js":
            return self.answer("text/javascript", SCRIPT)
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
        self.wfile.flush()
        self.rfile.read(2)  # the client's close frame (or its end)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


Server(("127.0.0.1", port), Handler).serve_forever()
