// Node's http2 client against an HTTP/2 proxy (ferry's https:// listener, ALPN h2), with the
// origins it reaches started in this same process on the loopback ports it is given.
// Run by tests/integration/http2_clients_test.cpp; Node's standard library only (Debian 12's
// nodejs is 18, this runs on 18 and 20).
//
//   node client.js SCENARIO key=value...
//     proxy=PORT     the proxy's TLS port on 127.0.0.1 (required)
//     ca=FILE        the CA that signed the proxy's certificate (required)
//     echo=PORT      a TCP origin that echoes every byte, and ends when the client ends
//     drain=PORT     a TCP origin that reads to the client's end, only then answers
//     http=PORT      an HTTP/1.1 origin (also a WebSocket origin on /chat)
//     streams=N size=BYTES   for the tunnels scenario
//     target=HOST:PORT       for the refused scenario
//
// It prints what it saw as key=value lines (values never contain a newline) and exits 0;
// the test asserts on them. Anything unexpected prints error=... and exits 1; a run that
// takes longer than limit= seconds (default 20) prints error=timeout and exits 2.
'use strict';
const http2 = require('http2');
const http = require('http');
const net = require('net');
const fs = require('fs');
const crypto = require('crypto');

const scenario = process.argv[2];
const opt = {};
for (const a of process.argv.slice(3)) {
    const i = a.indexOf('=');
    opt[a.slice(0, i)] = a.slice(i + 1);
}

function out(key, value) {
    process.stdout.write(`${key}=${String(value).replace(/[\r\n]/g, ' ')}\n`);
}
function fail(why) {
    out('error', why);
    process.exit(1);
}
setTimeout(() => {
    out('error', 'timeout');
    process.exit(2);
}, Number(opt.limit || 20) * 1000).unref();
process.on('uncaughtException', e => fail(`uncaught: ${e.stack || e}`));

const sha = b => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);

// Bytes that differ per stream and per position, so a mix-up between streams shows.
function pattern(seed, size) {
    const b = Buffer.alloc(size);
    let x = (seed * 2654435761 + 12345) >>> 0;
    for (let i = 0; i < size; ++i) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = x >>> 24;
    }
    return b;
}

// ---- origins ---------------------------------------------------------------------------

function listen(server, port) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(port), '127.0.0.1', () => resolve(server));
    });
}

// Echoes every byte; ends its side when the client has ended its own (after the echo).
function echoOrigin(port) {
    return listen(net.createServer(s => {
        s.on('error', () => {});
        s.pipe(s);
    }), port);
}

// Reads until the client's end, then answers "got N SHA\n" and 256 KiB of pattern(7), and
// ends: what the client gets back after it has half-closed.
function drainOrigin(port) {
    return listen(net.createServer(s => {
        s.on('error', () => {});
        const parts = [];
        s.on('data', d => parts.push(d));
        s.on('end', () => {
            const all = Buffer.concat(parts);
            s.write(`got ${all.length} ${sha(all)}\n`);
            s.end(pattern(7, 256 * 1024));
        });
    }), port);
}

// Says "hello" and ends its side at once (half-close), then reads to the client's end and
// records what it got: the other half-close, the origin's first.
const firstGot = [];
function firstOrigin(port) {
    return listen(net.createServer({allowHalfOpen: true}, s => {
        s.on('error', () => {});
        s.end('hello');
        const parts = [];
        s.on('data', d => parts.push(d));
        s.on('end', () => {
            const all = Buffer.concat(parts);
            firstGot.push(`${all.length} ${sha(all)}`);
            s.destroy();
        });
    }), port);
}

const originSaw = {requests: [], upgrades: [], streamed: 0, streamedSha: ''};

// GET /echo answers what the origin received as JSON; /big?n=N sends N bytes of pattern(3);
// POST /sum answers the body's length and hash; /delay?ms=M answers after M ms;
// an Upgrade: websocket on /chat is accepted and each message echoed as "echo:" + text.
function httpOrigin(port) {
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        originSaw.requests.push({method: req.method, url: req.url, version: req.httpVersion,
                                 headers: req.rawHeaders});
        const parts = [];
        req.on('data', d => parts.push(d));
        req.on('end', () => {
            const body = Buffer.concat(parts);
            if (url.pathname === '/big') {
                const n = Number(url.searchParams.get('n'));
                res.writeHead(200, {'content-type': 'application/octet-stream',
                                    'content-length': n, 'x-origin': 'yes',
                                    'connection': 'keep-alive', 'keep-alive': 'timeout=5'});
                res.end(pattern(3, n));
            } else if (url.pathname === '/stream') {
                // N bytes in 64 KiB pieces, each written when the socket took the last:
                // originSaw.streamed is what the proxy has taken so far.
                const n = Number(url.searchParams.get('n'));
                res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': n});
                const hash = crypto.createHash('sha256');
                let i = 0;
                const more = () => {
                    while (i * 65536 < n) {
                        const piece = Buffer.alloc(Math.min(65536, n - i * 65536), (i * 7) & 255);
                        ++i;
                        hash.update(piece);
                        const ok = res.write(piece, () => { originSaw.streamed += piece.length; });
                        if (!ok) return res.once('drain', more);
                    }
                    originSaw.streamedSha = hash.digest('hex').slice(0, 16);
                    res.end();
                };
                more();
            } else if (url.pathname === '/sum') {
                res.writeHead(200, {'content-type': 'text/plain'});
                res.end(`${body.length} ${sha(body)}`);
            } else if (url.pathname === '/delay') {
                setTimeout(() => {
                    res.writeHead(200, {'content-type': 'text/plain'});
                    res.end(url.searchParams.get('i') || 'ok');
                }, Number(url.searchParams.get('ms')));
            } else {
                res.writeHead(200, {'content-type': 'application/json',
                                    'set-cookie': ['a=1', 'b=2']});
                res.end(JSON.stringify({method: req.method, url: req.url,
                                        version: req.httpVersion, headers: req.rawHeaders,
                                        body: body.toString()}));
            }
        });
    });
    server.on('upgrade', (req, socket) => {
        originSaw.upgrades.push({url: req.url, version: req.httpVersion, headers: req.rawHeaders});
        socket.on('error', () => {});
        const key = req.headers['sec-websocket-key'];
        if (req.url !== '/chat' || !key || (req.headers.upgrade || '').toLowerCase() !== 'websocket') {
            socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
            return;
        }
        const accept = crypto.createHash('sha1')
            .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
                     `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        const reader = frameReader(true, (opcode, payload) => {
            if (opcode === 8) {
                socket.end(frame(8, payload, false));
            } else if (opcode === 1 || opcode === 2) {
                socket.write(frame(opcode, Buffer.concat([Buffer.from('echo:'), payload]), false));
            }
        });
        socket.on('data', reader);
    });
    return listen(server, port);
}

// ---- WebSocket frames (RFC 6455 §5.2) --------------------------------------------------

function frame(opcode, payload, masked) {
    payload = Buffer.from(payload);
    const n = payload.length;
    const head = [0x80 | opcode];
    const m = masked ? 0x80 : 0;
    if (n < 126) head.push(m | n);
    else if (n < 65536) head.push(m | 126, n >> 8, n & 255);
    else {
        head.push(m | 127, 0, 0, 0, 0);
        head.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    }
    if (!masked) return Buffer.concat([Buffer.from(head), payload]);
    const mask = crypto.randomBytes(4);
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; ++i) body[i] = payload[i] ^ mask[i & 3];
    return Buffer.concat([Buffer.from(head), mask, body]);
}

// Returns a 'data' handler that calls onFrame(opcode, payload) for each complete frame;
// `expectMasked`: frames from a client are masked, from a server not.
function frameReader(expectMasked, onFrame) {
    let buf = Buffer.alloc(0);
    return chunk => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
            if (buf.length < 2) return;
            const opcode = buf[0] & 15;
            const masked = (buf[1] & 0x80) !== 0;
            let n = buf[1] & 127, at = 2;
            if (n === 126) {
                if (buf.length < 4) return;
                n = buf.readUInt16BE(2);
                at = 4;
            } else if (n === 127) {
                if (buf.length < 10) return;
                n = Number(buf.readBigUInt64BE(2));
                at = 10;
            }
            if (masked !== expectMasked) throw new Error(`frame masked=${masked}`);
            const maskLen = masked ? 4 : 0;
            if (buf.length < at + maskLen + n) return;
            const mask = buf.subarray(at, at + maskLen);
            const payload = Buffer.from(buf.subarray(at + maskLen, at + maskLen + n));
            if (masked)
                for (let i = 0; i < n; ++i) payload[i] ^= mask[i & 3];
            buf = buf.subarray(at + maskLen + n);
            onFrame(opcode, payload);
        }
    };
}

// ---- the client -------------------------------------------------------------------------

function connect() {
    const ca = fs.readFileSync(opt.ca);
    return new Promise((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${opt.proxy}`, {ca});
        session.once('error', reject);
        // The proxy's SETTINGS first: extended CONNECT needs to know it is allowed.
        session.once('remoteSettings', () => resolve(session));
    });
}

// With auth=USER:PASS, every request carries proxy-authorization (Basic).
function withAuth(headers) {
    if (!opt.auth) return headers;
    return {...headers, 'proxy-authorization': 'Basic ' + Buffer.from(opt.auth).toString('base64')};
}

// One request on `session`: resolves {status, headers, body} when the stream ends.
function request(session, headers, body) {
    return new Promise((resolve, reject) => {
        const stream = session.request(withAuth(headers), {endStream: body === undefined});
        let response = null;
        const parts = [];
        stream.on('response', h => { response = h; });
        stream.on('data', d => parts.push(d));
        stream.on('end', () => resolve({status: response && response[':status'],
                                        headers: response || {}, body: Buffer.concat(parts),
                                        id: stream.id}));
        stream.on('error', reject);
        if (body !== undefined) stream.end(body);
    });
}

// A CONNECT stream to 127.0.0.1:port; resolves the stream once the proxy answered 200.
function tunnel(session, port) {
    return new Promise((resolve, reject) => {
        const stream = session.request(withAuth({':method': 'CONNECT',
                                                 ':authority': `127.0.0.1:${port}`}),
                                       {endStream: false});
        stream.on('response', h => {
            if (h[':status'] === 200) resolve(stream);
            else {
                const parts = [];
                stream.on('data', d => parts.push(d));
                stream.on('end', () => reject(new Error(`status ${h[':status']}: ${Buffer.concat(parts)}`)));
            }
        });
        stream.on('error', reject);
    });
}

function readAll(stream) {
    return new Promise((resolve, reject) => {
        const parts = [];
        stream.on('data', d => parts.push(d));
        stream.on('end', () => resolve(Buffer.concat(parts)));
        stream.on('error', reject);
    });
}

// Writes `data` in pieces of at most 16 KiB, each after the last was taken, then ends.
async function writeAll(stream, data) {
    for (let at = 0; at < data.length; at += 16384) {
        if (!stream.write(data.subarray(at, at + 16384)))
            await new Promise(r => stream.once('drain', r));
    }
    stream.end();
}

const scenarios = {
    // `streams` CONNECT streams at once on one connection to the echo origin, each sending
    // `size` bytes of its own pattern and ending; each must get exactly its bytes back.
    async tunnels(session) {
        const n = Number(opt.streams || 50), size = Number(opt.size || 65536);
        const started = Date.now();
        const results = await Promise.all(Array.from({length: n}, async (_, i) => {
            const stream = await tunnel(session, opt.echo);
            const sent = pattern(100 + i, size + i);
            const [back] = await Promise.all([readAll(stream), writeAll(stream, sent)]);
            return {id: stream.id, exact: back.equals(sent), bytes: back.length};
        }));
        out('streams', results.length);
        out('exact', results.filter(r => r.exact).length);
        out('bytes_back', results.reduce((a, r) => a + r.bytes, 0));
        out('bytes_sent', n * size + n * (n - 1) / 2);
        out('stream_ids', results.map(r => r.id).join(','));
        out('ms', Date.now() - started);
    },

    // The client sends 1 MiB and ends its side; the origin answers only after that end, so
    // what comes back proves the half-close reached it and the other direction stayed open.
    async halfclose(session) {
        const stream = await tunnel(session, opt.drain);
        const sent = pattern(5, 1024 * 1024);
        const [back] = await Promise.all([readAll(stream), writeAll(stream, sent)]);
        const nl = back.indexOf(10);
        out('summary', back.subarray(0, nl).toString());
        out('expected_summary', `got ${sent.length} ${sha(sent)}`);
        const rest = back.subarray(nl + 1);
        out('rest_bytes', rest.length);
        out('rest_exact', rest.equals(pattern(7, 256 * 1024)));
    },

    // The origin half-closes first: the client reads its "hello" and END_STREAM, then sends
    // 512 KiB and ends; the origin must get them all, and its end of input.
    async originfirst(session) {
        const stream = await tunnel(session, opt.first);
        const back = await readAll(stream);
        out('greeting', back.toString());
        const sent = pattern(13, 512 * 1024);
        await writeAll(stream, sent);
        const started = Date.now();
        while (firstGot.length === 0 && Date.now() - started < 5000)
            await new Promise(r => setTimeout(r, 20));
        out('origin_got', firstGot[0]);
        out('expected', `${sent.length} ${sha(sent)}`);
    },

    // Without credentials (auth= not used for these two): 407 with a challenge; then with
    // them (user= USER:PASS): 200 for a GET and a CONNECT.
    async auth(session) {
        const base = {':scheme': 'http', ':authority': `127.0.0.1:${opt.http}`};
        const r = await request(session, {...base, ':method': 'GET', ':path': '/echo?q=1'});
        out('noauth_status', r.status);
        out('noauth_challenge', r.headers['proxy-authenticate']);
        out('noauth_body', JSON.stringify(r.body.toString()));
        const c = await request(session, {':method': 'CONNECT', ':authority': `127.0.0.1:${opt.echo}`});
        out('noauth_connect_status', c.status);
        opt.auth = opt.user;
        const ok = await request(session, {...base, ':method': 'GET', ':path': '/echo?q=1'});
        out('auth_status', ok.status);
        const saw = JSON.parse(ok.body.toString());
        const names = [];
        for (let i = 0; i < saw.headers.length; i += 2) names.push(saw.headers[i].toLowerCase());
        out('origin_header_names', names.sort().join(','));
        const stream = await tunnel(session, opt.echo);
        const [back] = await Promise.all([readAll(stream), writeAll(stream, Buffer.from('in'))]);
        out('auth_tunnel', back.toString());
    },

    // Drain: three requests the origin holds 1.5 s and a tunnel are in flight when this
    // sends SIGTERM to the proxy (pid=): a GOAWAY(NO_ERROR) comes, the three finish, the
    // tunnel still carries bytes both ways, and a new stream is not served.
    async drain(session) {
        let goaway = null;
        session.on('goaway', (code, last) => { goaway = {code, last, at: Date.now()}; });
        const base = {':scheme': 'http', ':authority': `127.0.0.1:${opt.http}`};
        const stream = await tunnel(session, opt.echo);
        const held = Array.from({length: 3}, (_, i) =>
            request(session, {...base, ':method': 'GET', ':path': `/delay?ms=1500&i=${i}`}));
        const started = Date.now();
        while (originSaw.requests.length < 3 && Date.now() - started < 5000)
            await new Promise(r => setTimeout(r, 10));
        process.kill(Number(opt.pid), 'SIGTERM');
        while (!goaway && Date.now() - started < 5000) await new Promise(r => setTimeout(r, 10));
        out('goaway', goaway ? `${goaway.code}:${goaway.last}` : 'none');
        let fresh;
        try {
            fresh = await request(session, {...base, ':method': 'GET', ':path': '/echo?q=late'});
            fresh = `status ${fresh.status}`;
        } catch (e) {
            fresh = e.code || String(e);
        }
        out('after_goaway', fresh);
        const done = await Promise.all(held);
        out('held', done.map(d => `${d.status}:${d.body}`).join(','));
        out('held_ids', done.map(d => d.id).join(','));
        const [back] = await Promise.all([readAll(stream), writeAll(stream, Buffer.from('still'))]);
        out('tunnel', back.toString());
        out('tunnel_id', stream.id);
    },

    // CONNECT to a port the proxy refuses.
    async refused(session) {
        const r = await request(session, {':method': 'CONNECT', ':authority': opt.target});
        out('status', r.status);
        out('content_type', r.headers['content-type']);
        out('body', JSON.stringify(r.body.toString()));
        // An allowed port where nothing listens.
        if (opt.closed) {
            const c = await request(session, {':method': 'CONNECT',
                                              ':authority': `127.0.0.1:${opt.closed}`});
            out('closed_status', c.status);
            out('closed_body', JSON.stringify(c.body.toString()));
        }
        // The connection is still usable: a tunnel to an allowed port after it.
        if (opt.echo) {
            const stream = await tunnel(session, opt.echo);
            const [back] = await Promise.all([readAll(stream), writeAll(stream, Buffer.from('after'))]);
            out('after', back.toString());
        }
    },

    // A tunnel that carries one exchange of bytes and then stays idle: how and when the proxy
    // ends it (with --tunnel-idle-timeout), and whether the connection still carries a new one.
    async idle(session) {
        const stream = await tunnel(session, opt.echo);
        stream.write('x');
        await new Promise(r => stream.once('data', r));
        const started = Date.now();
        const how = await new Promise(resolve => {
            stream.on('data', () => {});
            stream.on('end', () => resolve('end_stream'));
            stream.on('close', () => resolve(`rst_stream:${stream.rstCode}`));
            stream.on('error', () => {});
        });
        out('idle_end', how);
        out('idle_ms', Date.now() - started);
        const again = await tunnel(session, opt.echo);
        const [back] = await Promise.all([readAll(again), writeAll(again, Buffer.from('again'))]);
        out('after', back.toString());
    },

    // Forwarded requests (:scheme http) to the HTTP/1.1 origin.
    async get(session) {
        const authority = `127.0.0.1:${opt.http}`;
        const base = {':scheme': 'http', ':authority': authority};
        const r = await request(session, {...base, ':method': 'GET', ':path': '/echo?q=1',
                                           'cookie': ['c1=1', 'c2=2'], 'x-test': 'h2',
                                           'user-agent': 'node-h2'});
        out('get_status', r.status);
        out('get_via', r.headers['via']);
        out('get_set_cookie', JSON.stringify(r.headers['set-cookie']));
        const saw = JSON.parse(r.body.toString());
        out('origin_request', `${saw.method} ${saw.url} HTTP/${saw.version}`);
        const h = {};
        for (let i = 0; i < saw.headers.length; i += 2) {
            const k = saw.headers[i].toLowerCase();
            h[k] = h[k] === undefined ? saw.headers[i + 1] : `${h[k]}|${saw.headers[i + 1]}`;
        }
        out('origin_host', h.host);
        out('origin_via', h.via);
        out('origin_cookie', h.cookie);
        out('origin_x_test', h['x-test']);
        out('origin_header_names', Object.keys(h).sort().join(','));

        const big = await request(session, {...base, ':method': 'GET', ':path': '/big?n=2097152'});
        out('big_status', big.status);
        out('big_exact', big.body.equals(pattern(3, 2097152)));
        out('big_connection_header', big.headers['connection'] === undefined ? 'absent' : 'present');
        out('big_keep_alive_header', big.headers['keep-alive'] === undefined ? 'absent' : 'present');
        out('big_content_length', big.headers['content-length']);

        const upload = pattern(9, 1024 * 1024 + 7);
        const post = await request(session, {...base, ':method': 'POST', ':path': '/sum',
                                              'content-type': 'application/octet-stream'}, upload);
        out('post_status', post.status);
        out('post_answer', post.body.toString());
        out('post_expected', `${upload.length} ${sha(upload)}`);

        // 40 requests at once, each held 300 ms by the origin: multiplexed, they take about
        // 300 ms, not 40 × 300.
        const started = Date.now();
        const many = await Promise.all(Array.from({length: 40}, (_, i) =>
            request(session, {...base, ':method': 'GET', ':path': `/delay?ms=300&i=${i}`})));
        out('many_ok', many.filter((m, i) => m.status === 200 && m.body.toString() === String(i)).length);
        out('many_ms', Date.now() - started);
        out('stream_ids', [r, big, post, ...many].map(x => x.id).join(','));
    },

    // One forwarded GET; what the origin saw, and the stream's id.
    async one(session) {
        const r = await request(session, {':scheme': 'http', ':authority': `127.0.0.1:${opt.http}`,
                                          ':method': 'GET', ':path': '/echo?q=1'});
        out('status', r.status);
        out('stream_id', r.id);
        const saw = JSON.parse(r.body.toString());
        out('origin_request', `${saw.method} ${saw.url} HTTP/${saw.version}`);
        const via = [];
        for (let i = 0; i < saw.headers.length; i += 2)
            if (saw.headers[i].toLowerCase() === 'via') via.push(saw.headers[i + 1]);
        out('origin_via', via.join(', '));
    },

    // A stream whose reader stops: the proxy must hold its origin back (bounded by the
    // windows and buffers), while other streams on the connection go on; then it resumes and
    // gets every byte.
    async slow(session) {
        const n = Number(opt.size || 32 * 1024 * 1024);
        const base = {':scheme': 'http', ':authority': `127.0.0.1:${opt.http}`};
        const stream = session.request({...base, ':method': 'GET', ':path': `/stream?n=${n}`});
        const hash = crypto.createHash('sha256');
        let got = 0;
        const ended = new Promise((resolve, reject) => {
            stream.on('data', d => { got += d.length; hash.update(d); });
            stream.on('end', resolve);
            stream.on('error', reject);
        });
        await new Promise(r => stream.once('data', r));
        stream.pause();
        const started = Date.now();
        const others = await Promise.all(Array.from({length: 20}, (_, i) =>
            request(session, {...base, ':method': 'GET', ':path': `/delay?ms=0&i=${i}`})));
        out('others_ok', others.filter((o, i) => o.status === 200 && o.body.toString() === String(i)).length);
        out('others_ms', Date.now() - started);
        await new Promise(r => setTimeout(r, Math.max(0, 1500 - (Date.now() - started))));
        out('held_streamed', originSaw.streamed);
        out('held_received', got);
        stream.resume();
        await ended;
        out('size', n);
        out('received', got);
        out('exact', hash.digest('hex').slice(0, 16) === originSaw.streamedSha);
    },

    // RFC 8441: :protocol websocket to /chat on the HTTP origin, two messages and a close.
    async websocket(session) {
        out('enable_connect_protocol', session.remoteSettings.enableConnectProtocol);
        const stream = session.request({':method': 'CONNECT', ':protocol': 'websocket',
                                        ':scheme': 'http', ':path': '/chat',
                                        ':authority': `127.0.0.1:${opt.http}`,
                                        'sec-websocket-version': '13'}, {endStream: false});
        const messages = [];
        let closed = false;
        const done = new Promise((resolve, reject) => {
            stream.on('response', h => {
                out('status', h[':status']);
                if (h[':status'] !== 200) return resolve();
                stream.write(frame(1, 'hello', true));
                stream.write(frame(2, pattern(11, 70000), true));
            });
            stream.on('data', frameReader(false, (opcode, payload) => {
                if (opcode === 8) {
                    closed = true;
                    return;
                }
                messages.push({opcode, payload});
                if (messages.length === 2) stream.end(frame(8, Buffer.from([3, 232]), true));
            }));
            stream.on('end', resolve);
            stream.on('close', resolve);
            stream.on('error', reject);
        });
        await done;
        out('messages', messages.length);
        if (messages[0]) out('first', `${messages[0].opcode}:${messages[0].payload}`);
        if (messages[1]) out('second_exact', messages[1].opcode === 2 &&
            messages[1].payload.equals(Buffer.concat([Buffer.from('echo:'), pattern(11, 70000)])));
        out('close_echoed', closed);
        const u = originSaw.upgrades[0];
        if (u) {
            out('origin_request', `GET ${u.url} HTTP/${u.version}`);
            const names = [];
            for (let i = 0; i < u.headers.length; i += 2) names.push(u.headers[i].toLowerCase());
            out('origin_header_names', names.sort().join(','));
        }
    },
};

(async () => {
    if (!scenarios[scenario]) fail(`unknown scenario ${scenario}`);
    if (opt.echo) await echoOrigin(opt.echo);
    if (opt.drain) await drainOrigin(opt.drain);
    if (opt.first) await firstOrigin(opt.first);
    if (opt.http) await httpOrigin(opt.http);
    const session = await connect();
    out('alpn', session.alpnProtocol);
    const rs = session.remoteSettings;
    out('settings', ['maxConcurrentStreams', 'initialWindowSize', 'maxFrameSize',
                     'maxHeaderListSize', 'enableConnectProtocol']
                        .map(k => `${k}:${rs[k]}`).join(','));
    await scenarios[scenario](session);
    // (A proxy that drained may be closing the connection already: close() does nothing then,
    // and the session's 'close' event still comes.)
    if (!session.destroyed) {
        await new Promise(r => {
            session.once('close', r);
            session.close();
        });
    }
    out('done', 1);
    process.exit(0);
})().catch(e => fail(e && e.stack ? e.stack.replace(/\n\s*/g, ' | ') : String(e)));
