// The HTTP/2 front end, whole exchanges without a socket: frontend::serve_http2_stream serves
// one end of an in-memory stream pair on test_host (a clock the test moves, a scripted origin
// behind every upstream connection), and the test drives the other end with a real nghttp2
// client session — so every frame ferry sends is checked by nghttp2's client-side rules
// (malformed responses, connection-specific fields, flow control) as a browser would.
#include "../proxy/test_host.h"

#include "frontend/http2.h"

#include <nghttp2/nghttp2.h>

#include <gtest/gtest.h>
#include <list>
#include <map>

namespace ferry::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using fields = std::vector<std::pair<std::string, std::string>>;

// What the client saw of one stream.
struct h2_reply {
    fields headers; // the final response's, pseudo-headers included
    std::vector<fields> interim;
    std::string body;
    bool end_stream = false; // END_STREAM received
    bool closed = false;
    std::uint32_t close_code = 0;
    bool reset = false; // RST_STREAM received from ferry
    std::uint32_t reset_code = 0;

    std::string field(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (n == name) return v;
        return {};
    }
    bool has(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (n == name) return true;
        return false;
    }
};

// A request body's bytes for nghttp2's data provider; `end` sets END_STREAM after them.
struct body_source {
    std::string bytes;
    std::size_t at = 0;
    bool end = true;
};

ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                  std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& b = *static_cast<body_source*>(source->ptr);
    const auto n = std::min(length, b.bytes.size() - b.at);
    std::memcpy(buf, b.bytes.data() + b.at, n);
    b.at += n;
    if (b.at == b.bytes.size()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!b.end) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return ssize_t(n);
}

// An HTTP/2 client connection to ferry's front end over a memory stream.
class h2_client {
public:
    struct options {
        bool auto_window_update = true; // false: the client consumes only when told
        std::uint32_t initial_window = 65535;
    };
    // A client that reads a stream's DATA only when the test says so (consume()).
    static options slow_reader() {
        options o;
        o.auto_window_update = false;
        return o;
    }

    explicit h2_client(test_host& h) : h2_client(h, options{}) {}
    h2_client(test_host& h, options o) : h_(h) {
        auto [ours, ferrys] = net::memory_stream::pair(h.io, h.now(), &h.deadlines());
        end_ = std::move(ours);
        asio::co_spawn(
            h.io,
            frontend::serve_http2_stream(h, std::move(ferrys),
                                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 41000),
                                         h.next_connection_id(), "", ""),
            [done = done_](std::exception_ptr) { *done = true; });

        nghttp2_session_callbacks* cb = nullptr;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_send_callback(cb, on_send);
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
        nghttp2_option* opt = nullptr;
        nghttp2_option_new(&opt);
        if (!o.auto_window_update) nghttp2_option_set_no_auto_window_update(opt, 1);
        nghttp2_session_client_new2(&session_, cb, this, opt);
        nghttp2_option_del(opt);
        nghttp2_session_callbacks_del(cb);
        const nghttp2_settings_entry settings[] = {
            {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
            {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o.initial_window},
        };
        nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
        // The connection's window is never what holds a stream back here: only the stream's.
        nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 1 << 24);
    }
    // The client goes: ferry's connection ends (and is gone before the host is).
    ~h2_client() {
        end_->close();
        for (int i = 0; i < 100 && !*done_; ++i)
            h_.advance(200ms);
        EXPECT_TRUE(*done_) << "the connection outlived its client";
        nghttp2_session_del(session_);
    }

    // A request; `body` null: the HEADERS frame ends the stream. `end`: the body ends it.
    std::int32_t request(const fields& head, const std::string* body = nullptr, bool end = true) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [n, v] : head)
            nva.push_back(nv(names_.emplace_back(n), v));
        if (!body && end)
            return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, this);
        if (!body) // HEADERS alone, the stream left open (a tunnel, a body to come)
            return nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, -1, nullptr, nva.data(),
                                          nva.size(), this);
        nghttp2_data_provider provider{};
        provider.source.ptr = &sources_.emplace_back(body_source{*body, 0, end});
        provider.read_callback = read_body;
        return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, this);
    }
    std::int32_t get(std::string_view authority, std::string_view path, fields extra = {}) {
        fields head{{":method", "GET"},
                    {":scheme", "http"},
                    {":authority", std::string(authority)},
                    {":path", std::string(path)}};
        head.insert(head.end(), extra.begin(), extra.end());
        return request(head);
    }
    // DATA on an open stream (a tunnel, a body sent in parts); `end` half-closes.
    void data(std::int32_t id, std::string bytes, bool end) {
        nghttp2_data_provider provider{};
        provider.source.ptr = &sources_.emplace_back(body_source{std::move(bytes), 0, end});
        provider.read_callback = read_body;
        const int rv =
            nghttp2_submit_data(session_, end ? NGHTTP2_FLAG_END_STREAM : 0, id, &provider);
        ASSERT_EQ(rv, 0) << nghttp2_strerror(rv);
    }
    // GOAWAY(NO_ERROR): the client opens no more streams (and accepts no pushed one).
    void goaway_now() {
        const int rv =
            nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
        ASSERT_EQ(rv, 0) << nghttp2_strerror(rv);
    }
    void reset(std::int32_t id, std::uint32_t code) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
    }
    // Opens the stream's window again for `n` bytes read (without automatic updates).
    void consume(std::int32_t id, std::size_t n) { nghttp2_session_consume(session_, id, n); }

    // Frames both ways until neither side has anything more to say (no time passes).
    void pump() {
        for (int i = 0; i < 1000; ++i) {
            bool progress = false;
            nghttp2_session_send(session_);
            if (!out_.empty()) {
                send_raw(out_);
                out_.clear();
                progress = true;
            }
            h_.settle();
            const auto got = end_->take_received();
            if (!got.empty()) {
                progress = true;
                received_bytes += got.size();
                const auto rv = nghttp2_session_mem_recv(
                    session_, reinterpret_cast<const std::uint8_t*>(got.data()), got.size());
                EXPECT_EQ(rv, ssize_t(got.size())) << nghttp2_strerror(int(rv));
            }
            if (!progress) return;
        }
        ADD_FAILURE() << "the exchange did not settle";
    }
    // Bytes that skip nghttp2 (a frame the client session would not send).
    void send_raw(std::string bytes) {
        asio::co_spawn(
            h_.io,
            [s = end_.get(), bytes = std::move(bytes)]() -> asio::awaitable<void> {
                co_await s->write(asio::buffer(bytes), std::chrono::hours(1));
            },
            asio::detached);
    }
    // Moves the clock (timeouts, the front end's tick), framing after each step.
    void advance(std::chrono::milliseconds by) {
        for (; by > 0ms; by -= std::min<std::chrono::milliseconds>(by, 200ms)) {
            h_.advance(std::min<std::chrono::milliseconds>(by, 200ms));
            pump();
        }
    }

    bool ferry_ended() const { return end_->peer_ended(); }
    bool connection_done() const { return *done_; }
    void close() { end_->close(); }

    std::map<std::int32_t, h2_reply> streams;
    bool goaway = false;
    std::int32_t goaway_last = -1;
    std::uint32_t goaway_code = 0;
    bool peer_settings = false;
    std::map<std::int32_t, std::uint32_t> remote_settings;
    std::size_t received_bytes = 0;

private:
    static nghttp2_nv nv(const std::string& n, const std::string& v) {
        return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                NGHTTP2_NV_FLAG_NO_COPY_NAME};
    }
    static h2_client& self(void* p) { return *static_cast<h2_client*>(p); }
    static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                           void* p) {
        self(p).out_.append(reinterpret_cast<const char*>(data), size);
        return ssize_t(size);
    }
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
        self(p).current_[f->hd.stream_id].clear();
        return 0;
    }
    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t, void* p) {
        self(p).current_[f->hd.stream_id].emplace_back(
            std::string(reinterpret_cast<const char*>(name), namelen),
            std::string(reinterpret_cast<const char*>(value), valuelen));
        return 0;
    }
    // A complete header block: a 1xx, the final head, or trailers (kept with the head).
    void on_head(std::int32_t id) {
        auto& r = streams[id];
        auto block = std::move(current_[id]);
        current_.erase(id);
        if (!block.empty() && block[0].first == ":status" && block[0].second.starts_with("1"))
            r.interim.push_back(std::move(block));
        else
            r.headers.insert(r.headers.end(), block.begin(), block.end());
    }
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
        auto& c = self(p);
        switch (f->hd.type) {
        case NGHTTP2_HEADERS:
            c.on_head(f->hd.stream_id);
            [[fallthrough]];
        case NGHTTP2_DATA:
            if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) c.streams[f->hd.stream_id].end_stream = true;
            break;
        case NGHTTP2_RST_STREAM:
            c.streams[f->hd.stream_id].reset = true;
            c.streams[f->hd.stream_id].reset_code = f->rst_stream.error_code;
            break;
        case NGHTTP2_GOAWAY:
            c.goaway = true;
            c.goaway_last = f->goaway.last_stream_id;
            c.goaway_code = f->goaway.error_code;
            break;
        case NGHTTP2_SETTINGS:
            if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) {
                c.peer_settings = true;
                for (std::size_t i = 0; i < f->settings.niv; ++i)
                    c.remote_settings[f->settings.iv[i].settings_id] = f->settings.iv[i].value;
            }
            break;
        default:
            break;
        }
        return 0;
    }
    static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                       std::size_t size, void* p) {
        self(p).streams[id].body.append(reinterpret_cast<const char*>(data), size);
        return 0;
    }
    static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
        auto& r = self(p).streams[id];
        r.closed = true;
        r.close_code = code;
        return 0;
    }

    test_host& h_;
    std::unique_ptr<net::memory_stream> end_;
    std::shared_ptr<bool> done_ = std::make_shared<bool>(false);
    nghttp2_session* session_ = nullptr;
    std::string out_;
    std::list<body_source> sources_;
    // Names are sent as given (nghttp2 lower-cases the names it copies): kept until sent.
    std::list<std::string> names_;
    std::map<std::int32_t, fields> current_; // header blocks being received
};

const std::string origin = "127.0.0.1:8080";

std::string ok(std::string_view body, std::string_view extra = "") {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra) + "\r\n" + std::string(body);
}

// The head the origin received (up to the blank line).
std::string head_of(const std::string& received) {
    return received.substr(0, received.find("\r\n\r\n") + 4);
}

std::string lower(std::string_view s) {
    std::string out;
    for (char c : s)
        out += char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A header line in the head, the name compared without case (ferry may write its own case).
bool has_line(const std::string& head, std::string_view line) {
    const auto colon = line.find(':');
    const std::string want = lower(line.substr(0, colon)) + std::string(line.substr(colon));
    for (std::size_t at = head.find("\r\n"); at != std::string::npos;
         at = head.find("\r\n", at + 2)) {
        const auto eol = head.find("\r\n", at + 2);
        const auto got = std::string_view(head).substr(at + 2, eol - at - 2);
        const auto c = got.find(':');
        if (c != std::string_view::npos &&
            lower(got.substr(0, c)) + std::string(got.substr(c)) == want)
            return true;
    }
    return false;
}

bool has_field(const std::string& head, std::string_view name) {
    return lower(head).find("\r\n" + std::string(name) + ":") != std::string::npos;
}

// ---- the connection ----

TEST(Http2FrontEnd, AnnouncesItsLimitsAndExtendedConnect) {
    config::settings s;
    s.http2.max_concurrent_streams = 7;
    s.http2.max_header_list_size = 4000;
    test_host h(s);
    h2_client c(h);
    c.pump();
    ASSERT_TRUE(c.peer_settings);
    EXPECT_EQ(c.remote_settings[NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS], 7u);
    EXPECT_EQ(c.remote_settings[NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE], 4000u);
    EXPECT_EQ(c.remote_settings[NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL], 1u);
    EXPECT_FALSE(c.goaway);
    EXPECT_FALSE(c.ferry_ended());
}

// ---- forwarding ----

TEST(Http2FrontEnd, GetIsForwardedAsHttp11AndAnsweredInFrames) {
    test_host h;
    h.origins.push_back({{ok("hello, h2", "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                                          "X-Origin: yes\r\n")}});
    h2_client c(h);
    const auto id = c.get(origin, "/x?q=1", {{"user-agent", "h2-test/1"}, {"te", "trailers"}});
    c.pump();

    ASSERT_EQ(h.upstream_logs.size(), 1u);
    EXPECT_EQ(h.connects, std::vector<std::string>{origin});
    const auto head = head_of(h.upstream_logs[0]->received);
    EXPECT_TRUE(head.starts_with("GET /x?q=1 HTTP/1.1\r\n")) << head;
    EXPECT_TRUE(has_line(head, "Host: " + origin)) << head;
    EXPECT_TRUE(has_field(head, "via")) << head;
    EXPECT_TRUE(has_line(head, "user-agent: h2-test/1")) << head;
    // No body framing for a GET that ended with its HEADERS, nothing connection-specific.
    EXPECT_FALSE(has_field(head, "transfer-encoding")) << head;
    EXPECT_FALSE(has_field(head, "content-length")) << head;
    EXPECT_FALSE(has_field(head, "keep-alive")) << head;
    EXPECT_FALSE(has_field(head, "upgrade")) << head;
    EXPECT_FALSE(has_field(head, "proxy-connection")) << head;
    EXPECT_EQ(h.upstream_logs[0]->received, head) << "no body bytes";

    const auto& r = c.streams[id];
    EXPECT_EQ(r.field(":status"), "200");
    EXPECT_EQ(r.field("x-origin"), "yes");
    EXPECT_EQ(r.field("content-length"), "9");
    EXPECT_FALSE(r.field("via").empty());
    // nghttp2's client would have reset a response with these; check anyway.
    EXPECT_FALSE(r.has("connection"));
    EXPECT_FALSE(r.has("keep-alive"));
    EXPECT_EQ(r.body, "hello, h2");
    EXPECT_TRUE(r.end_stream);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.close_code, NGHTTP2_NO_ERROR);
    EXPECT_FALSE(r.reset);

    ASSERT_EQ(h.records.size(), 1u);
    const auto& rec = h.records[0];
    EXPECT_EQ(rec.status, 200);
    EXPECT_EQ(rec.stream, std::uint32_t(id));
    EXPECT_NE(rec.connection, 0u);
    EXPECT_EQ(rec.method, "GET");
    EXPECT_TRUE(rec.cause.empty()) << rec.cause;
    EXPECT_EQ(rec.body_bytes, 9u);
    EXPECT_FALSE(c.ferry_ended()); // the connection stays for more streams
}

TEST(Http2FrontEnd, ResponseBodyOfUnknownLengthEndsWithEndStream) {
    test_host h;
    std::string body(40000, 'z');
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = char('a' + i % 26);
    // Until close: ferry learns the end only when the origin closes.
    h.origins.push_back({{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body}, true});
    h2_client c(h);
    const auto id = c.get(origin, "/stream");
    c.pump();
    const auto& r = c.streams[id];
    EXPECT_EQ(r.field(":status"), "200");
    EXPECT_FALSE(r.has("content-length"));
    EXPECT_FALSE(r.has("transfer-encoding"));
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body) << "body differs";
    EXPECT_TRUE(r.end_stream);
    EXPECT_FALSE(r.reset);
}

TEST(Http2FrontEnd, PostWithContentLengthIsForwardedByteExact) {
    test_host h;
    h.origins.push_back({{ok("stored")}});
    std::string body;
    for (int i = 0; i < 70000; ++i) // more than a stream window: flow control both ways
        body += char(i * 7 % 251);
    h2_client c(h);
    const auto id = c.request({{":method", "POST"},
                               {":scheme", "http"},
                               {":authority", origin},
                               {":path", "/upload"},
                               {"content-length", std::to_string(body.size())},
                               {"content-type", "application/octet-stream"}},
                              &body);
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    const auto& got = h.upstream_logs[0]->received;
    const auto head = head_of(got);
    EXPECT_TRUE(head.starts_with("POST /upload HTTP/1.1\r\n")) << head;
    EXPECT_TRUE(has_line(head, "content-length: " + std::to_string(body.size()))) << head;
    EXPECT_FALSE(has_field(head, "transfer-encoding")) << head;
    EXPECT_EQ(got.size(), head.size() + body.size());
    EXPECT_TRUE(got.substr(head.size()) == body) << "the body changed on the way";
    const auto& r = c.streams[id];
    EXPECT_EQ(r.field(":status"), "200");
    EXPECT_EQ(r.body, "stored");
    EXPECT_TRUE(r.end_stream);
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].method, "POST");
    EXPECT_TRUE(h.records[0].cause.empty()) << h.records[0].cause;
}

// The chunks of an HTTP/1.1 chunked body, decoded (test-side, strict enough for ferry's own).
std::optional<std::string> dechunk(std::string_view coded) {
    std::string out;
    for (;;) {
        const auto eol = coded.find("\r\n");
        if (eol == std::string_view::npos) return std::nullopt;
        const auto size = std::stoul(std::string(coded.substr(0, eol)), nullptr, 16);
        coded.remove_prefix(eol + 2);
        if (size == 0) return coded == "\r\n" ? std::optional(out) : std::nullopt;
        if (coded.size() < size + 2 || coded.substr(size, 2) != "\r\n") return std::nullopt;
        out.append(coded.substr(0, size));
        coded.remove_prefix(size + 2);
    }
}

TEST(Http2FrontEnd, PostWithoutContentLengthIsChunkedToTheOrigin) {
    test_host h;
    h.origins.push_back({{ok("got it")}});
    std::string body;
    for (int i = 0; i < 30000; ++i)
        body += char(i % 256);
    h2_client c(h);
    const auto id = c.request(
        {{":method", "POST"}, {":scheme", "http"}, {":authority", origin}, {":path", "/p"}},
        nullptr, false);
    // No END_STREAM on HEADERS and no content-length: a body of unknown length.
    (void)id;
    c.pump();
    c.data(id, body.substr(0, 1000), false);
    c.pump();
    c.data(id, body.substr(1000), true);
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    const auto& got = h.upstream_logs[0]->received;
    const auto head = head_of(got);
    EXPECT_TRUE(head.starts_with("POST /p HTTP/1.1\r\n")) << head;
    EXPECT_TRUE(has_line(head, "Transfer-Encoding: chunked")) << head;
    EXPECT_FALSE(has_field(head, "content-length")) << head;
    const auto decoded = dechunk(std::string_view(got).substr(head.size()));
    ASSERT_TRUE(decoded.has_value()) << "not a complete chunked body";
    EXPECT_EQ(decoded->size(), body.size());
    EXPECT_TRUE(*decoded == body) << "the body changed on the way";
    const auto& r = c.streams[id];
    EXPECT_EQ(r.field(":status"), "200");
    EXPECT_EQ(r.body, "got it");
    EXPECT_TRUE(r.end_stream);
    EXPECT_FALSE(r.reset);
}

TEST(Http2FrontEnd, EmptyPostGetsContentLengthZeroAtTheOrigin) {
    test_host h;
    h.origins.push_back({{ok("")}});
    h2_client c(h);
    const auto id = c.request(
        {{":method", "POST"}, {":scheme", "http"}, {":authority", origin}, {":path", "/e"}});
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    const auto head = head_of(h.upstream_logs[0]->received);
    EXPECT_TRUE(has_line(head, "Content-Length: 0")) << head;
    EXPECT_EQ(c.streams[id].field(":status"), "200");
    EXPECT_TRUE(c.streams[id].end_stream);
}

TEST(Http2FrontEnd, CookieCrumbsReachTheOriginJoined) {
    test_host h;
    h.origins.push_back({{ok("")}});
    h2_client c(h);
    c.get(origin, "/c", {{"cookie", "a=1"}, {"cookie", "b=2"}});
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    const auto head = head_of(h.upstream_logs[0]->received);
    EXPECT_TRUE(has_line(head, "cookie: a=1; b=2")) << head;
}

TEST(Http2FrontEnd, TwoStreamsAtOnceEachGetTheirOwnAnswer) {
    test_host h;
    h.origins.push_back({{ok("first answer")}});
    h.origins.push_back({{ok("the second one")}});
    h2_client c(h);
    const auto a = c.get(origin, "/a");
    const auto b = c.get(origin, "/b");
    c.pump();
    // Both in flight together: two upstream connections, one per stream.
    ASSERT_EQ(h.upstream_logs.size(), 2u);
    std::map<std::string, std::string> answer_for; // path → the answer its origin sent
    const std::string answers[] = {"first answer", "the second one"};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto head = head_of(h.upstream_logs[i]->received);
        const auto path = head.substr(4, head.find(' ', 4) - 4);
        answer_for[path] = answers[i];
    }
    ASSERT_EQ(answer_for.size(), 2u);
    EXPECT_EQ(c.streams[a].body, answer_for["/a"]);
    EXPECT_EQ(c.streams[b].body, answer_for["/b"]);
    EXPECT_TRUE(c.streams[a].end_stream);
    EXPECT_TRUE(c.streams[b].end_stream);
    ASSERT_EQ(h.records.size(), 2u);
    EXPECT_NE(h.records[0].stream, h.records[1].stream);
    EXPECT_EQ(h.records[0].connection, h.records[1].connection);
}

TEST(Http2FrontEnd, SlowStreamDoesNotHoldBackAnother) {
    test_host h;
    const std::string big(200000, 'b');
    h.origins.push_back({{ok(big)}});
    h.origins.push_back({{ok("quick")}});
    h2_client c(h, h2_client::slow_reader());
    const auto slow = c.get(origin, "/big");
    c.pump();
    // The slow stream has filled its window (65535) and the client reads no more of it.
    EXPECT_LE(c.streams[slow].body.size(), 65535u);
    EXPECT_FALSE(c.streams[slow].end_stream);
    const auto fast = c.get(origin, "/small");
    c.pump();
    EXPECT_EQ(c.streams[fast].body, "quick");
    EXPECT_TRUE(c.streams[fast].end_stream);
    c.consume(fast, 5);
    // Then the slow one is read, and completes.
    for (int i = 0; i < 20 && !c.streams[slow].end_stream; ++i) {
        c.consume(slow, c.streams[slow].body.size());
        c.pump();
    }
    EXPECT_EQ(c.streams[slow].body.size(), big.size());
    EXPECT_TRUE(c.streams[slow].end_stream);
}

// ---- tunnels ----

TEST(Http2FrontEnd, ConnectStreamTunnelsWithHalfClose) {
    test_host h;
    origin_script echo;
    echo.tunnel_echo = true;
    h.origins.push_back(echo);
    h2_client c(h);
    const auto id =
        c.request({{":method", "CONNECT"}, {":authority", "127.0.0.1:443"}}, nullptr, false);
    c.pump();
    EXPECT_EQ(h.connects, std::vector<std::string>{"127.0.0.1:443"});
    EXPECT_EQ(c.streams[id].field(":status"), "200");
    EXPECT_FALSE(c.streams[id].end_stream);
    c.data(id, "ping over h2", false);
    c.pump();
    EXPECT_EQ(c.streams[id].body, "ping over h2");
    // The client half-closes: the origin's side sees the end, the tunnel stays open the
    // other way until the origin ends too.
    c.data(id, "last", true);
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    EXPECT_EQ(h.upstream_logs[0]->received, "ping over h2last");
    EXPECT_EQ(c.streams[id].body, "ping over h2last");
    c.advance(1000ms);
    EXPECT_TRUE(h.upstream_logs[0]->closed_by_ferry);
    EXPECT_TRUE(c.streams[id].end_stream);
    EXPECT_FALSE(c.streams[id].reset) << "code " << c.streams[id].reset_code;
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].method, "CONNECT");
    EXPECT_EQ(h.records[0].status, 200);
}

TEST(Http2FrontEnd, ConnectToAPortNotAllowedIs403) {
    test_host h;
    h2_client c(h);
    const auto id =
        c.request({{":method", "CONNECT"}, {":authority", "127.0.0.1:25"}}, nullptr, false);
    c.pump();
    EXPECT_TRUE(h.connects.empty());
    EXPECT_EQ(c.streams[id].field(":status"), "403");
    EXPECT_NE(c.streams[id].body.find("port 25"), std::string::npos) << c.streams[id].body;
    EXPECT_FALSE(c.ferry_ended()); // one stream's refusal never closes the connection
}

// ---- malformed, reset, drained ----

TEST(Http2FrontEnd, ContentLengthMismatchIsResetAndNeverCompletedAtTheOrigin) {
    test_host h;
    h.origins.push_back({{ok("should not be sent")}});
    h2_client c(h);
    const std::string body = "only five";
    const auto id = c.request({{":method", "POST"},
                               {":scheme", "http"},
                               {":authority", origin},
                               {":path", "/short"},
                               {"content-length", "100"}},
                              &body);
    c.pump();
    c.advance(1000ms);
    const auto& r = c.streams[id];
    EXPECT_TRUE(r.reset);
    EXPECT_EQ(r.reset_code, NGHTTP2_PROTOCOL_ERROR);
    EXPECT_NE(r.field(":status"), "200");
    // Whatever reached the origin is not a complete request of 100 bytes of body.
    for (const auto& log : h.upstream_logs) {
        const auto head = head_of(log->received);
        EXPECT_LT(log->received.size(), head.size() + 100) << log->received;
    }
    for (const auto& rec : h.records)
        EXPECT_FALSE(rec.cause.empty()) << "status " << rec.status;
    EXPECT_FALSE(c.ferry_ended()); // a stream error, not a connection error
}

TEST(Http2FrontEnd, MoreDataThanContentLengthIsReset) {
    test_host h;
    h.origins.push_back({{ok("should not be sent")}});
    h2_client c(h);
    const std::string body = "twelve bytes";
    const auto id = c.request({{":method", "POST"},
                               {":scheme", "http"},
                               {":authority", origin},
                               {":path", "/long"},
                               {"content-length", "4"}},
                              &body);
    c.pump();
    c.advance(1000ms);
    EXPECT_TRUE(c.streams[id].reset);
    EXPECT_EQ(c.streams[id].reset_code, NGHTTP2_PROTOCOL_ERROR);
    for (const auto& log : h.upstream_logs)
        EXPECT_EQ(log->received.find("twelve"), std::string::npos) << log->received;
}

TEST(Http2FrontEnd, ClientResetMidResponseEndsTheExchangeWithACause) {
    test_host h;
    h.origins.push_back({{ok(std::string(300000, 'r'))}});
    h2_client c(h, h2_client::slow_reader());
    const auto id = c.get(origin, "/huge");
    c.pump();
    ASSERT_EQ(c.streams[id].field(":status"), "200");
    EXPECT_FALSE(c.streams[id].end_stream);
    EXPECT_TRUE(h.records.empty()) << "the exchange is waiting on the client's window";
    c.reset(id, NGHTTP2_CANCEL);
    c.pump();
    c.advance(400ms);
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].stream, std::uint32_t(id));
    EXPECT_FALSE(h.records[0].cause.empty());
    EXPECT_LT(h.records[0].body_bytes, 300000u);
    // The origin connection is not reused for a half-sent body.
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    EXPECT_NE(h.records[0].upstream_fate, observe::exchange_record::fate::kept);
    // The connection goes on: another stream is served.
    h.origins.push_back({{ok("after")}});
    const auto next = c.get(origin, "/after");
    for (int i = 0; i < 5 && !c.streams[next].end_stream; ++i) {
        c.consume(next, 100);
        c.pump();
    }
    EXPECT_EQ(c.streams[next].body, "after");
}

TEST(Http2FrontEnd, DrainSendsGoawayAndLetsTheStreamInFlightFinish) {
    test_host h;
    const std::string big(100000, 'd');
    h.origins.push_back({{ok(big)}});
    h2_client c(h, h2_client::slow_reader());
    const auto id = c.get(origin, "/draining");
    c.pump();
    ASSERT_FALSE(c.streams[id].end_stream);
    ASSERT_EQ(h.drainables.size(), 1u);
    h.drainables[0]->drain();
    c.pump();
    EXPECT_TRUE(c.goaway);
    EXPECT_EQ(c.goaway_code, NGHTTP2_NO_ERROR);
    EXPECT_EQ(c.goaway_last, id);
    EXPECT_FALSE(c.ferry_ended());
    // The stream in flight completes...
    for (int i = 0; i < 20 && !c.streams[id].end_stream; ++i) {
        c.consume(id, c.streams[id].body.size());
        c.pump();
    }
    EXPECT_EQ(c.streams[id].body.size(), big.size());
    EXPECT_TRUE(c.streams[id].end_stream);
    EXPECT_FALSE(c.streams[id].reset);
    // ...and then the connection closes by itself.
    c.advance(2000ms);
    EXPECT_TRUE(c.ferry_ended());
    EXPECT_TRUE(c.connection_done());
    EXPECT_EQ(h.open_connections(), 0);
}

// RFC 9113 §6.8: a GOAWAY from the client still lets the streams up to its last stream id
// finish; then the connection ends.
TEST(Http2FrontEnd, ClientGoawayStillGetsItsStreamAnswered) {
    test_host h;
    h.origins.push_back({{ok("answered")}});
    h2_client c(h);
    const auto id = c.get(origin, "/last");
    c.goaway_now();
    c.pump();
    EXPECT_EQ(c.streams[id].body, "answered");
    EXPECT_TRUE(c.streams[id].end_stream);
    int waited = 0;
    for (; waited < 70 && !c.ferry_ended(); ++waited)
        c.advance(1000ms);
    EXPECT_LE(waited, 2) << "seconds before ferry closed after the client's GOAWAY";
    EXPECT_EQ(h.metrics().http2.streams.load(), 0u) << "ferry_http2_streams_open";
}

TEST(Http2FrontEnd, ClientGoneCutsEveryExchangeAndEnds) {
    test_host h;
    h.origins.push_back({{ok(std::string(200000, 'g'))}});
    h2_client c(h, h2_client::slow_reader());
    c.get(origin, "/gone");
    c.pump();
    c.close();
    c.advance(1000ms);
    EXPECT_TRUE(c.connection_done());
    EXPECT_EQ(h.open_connections(), 0);
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_FALSE(h.records[0].cause.empty());
}

// Past SETTINGS_MAX_CONCURRENT_STREAMS (sent before the client heard the limit) a stream is
// refused — RST_STREAM(REFUSED_STREAM), safe to retry (RFC 9113 §8.7) — and the others go on.
TEST(Http2FrontEnd, StreamsPastTheConcurrencyLimitAreRefused) {
    config::settings s;
    s.http2.max_concurrent_streams = 2;
    test_host h(s);
    // Each origin closes after its answer: the later stream gets a connection of its own.
    h.origins.push_back({{ok("one")}, true});
    h.origins.push_back({{ok("two")}, true});
    h2_client c(h);
    const auto a = c.get(origin, "/1");
    const auto b = c.get(origin, "/2");
    const auto extra = c.get(origin, "/3");
    c.pump();
    EXPECT_EQ(c.streams[a].body, "one");
    EXPECT_EQ(c.streams[b].body, "two");
    EXPECT_TRUE(c.streams[extra].reset);
    EXPECT_EQ(c.streams[extra].reset_code, NGHTTP2_REFUSED_STREAM);
    EXPECT_EQ(h.upstream_logs.size(), 2u);
    // Once those are done, a new stream is served.
    h.origins.push_back({{ok("again")}});
    const auto later = c.get(origin, "/4");
    c.pump();
    EXPECT_EQ(c.streams[later].body, "again");
}

TEST(Http2FrontEnd, HeaderListPastTheLimitIs431) {
    config::settings s;
    s.http2.max_header_list_size = 1024;
    test_host h(s);
    h2_client c(h);
    const auto id = c.get(origin, "/big", {{"x-big", std::string(1500, 'v')}});
    c.pump();
    EXPECT_TRUE(h.connects.empty());
    EXPECT_EQ(c.streams[id].field(":status"), "431");
    EXPECT_TRUE(c.streams[id].end_stream);
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 431);
    EXPECT_FALSE(c.ferry_ended());
}

TEST(Http2FrontEnd, WebsocketOverExtendedConnectReachesAnUpgradingOrigin) {
    test_host h;
    h.origins.push_back(
        {{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
          "Sec-WebSocket-Protocol: chat\r\n\r\nfrom origin"}});
    h2_client c(h);
    c.pump(); // RFC 8441 §3: the client waits for SETTINGS_ENABLE_CONNECT_PROTOCOL
    const auto id = c.request({{":method", "CONNECT"},
                               {":protocol", "websocket"},
                               {":scheme", "http"},
                               {":authority", origin},
                               {":path", "/chat"},
                               {"sec-websocket-version", "13"},
                               {"sec-websocket-protocol", "chat"}},
                              nullptr, false);
    c.pump();
    ASSERT_EQ(h.upstream_logs.size(), 1u);
    const auto head = head_of(h.upstream_logs[0]->received);
    EXPECT_TRUE(head.starts_with("GET /chat HTTP/1.1\r\n")) << head;
    EXPECT_TRUE(has_line(head, "Upgrade: websocket")) << head;
    EXPECT_TRUE(has_field(head, "sec-websocket-key")) << head;
    EXPECT_TRUE(has_line(head, "sec-websocket-version: 13")) << head;
    const auto& r = c.streams[id];
    EXPECT_EQ(r.field(":status"), "200"); // §5: the origin's 101 is the client's 200
    EXPECT_EQ(r.field("sec-websocket-protocol"), "chat");
    EXPECT_FALSE(r.has("sec-websocket-accept"));
    EXPECT_FALSE(r.has("upgrade"));
    EXPECT_EQ(r.body, "from origin");
    c.data(id, "from client", false);
    c.pump();
    EXPECT_EQ(h.upstream_logs[0]->received, head + "from client");
    EXPECT_FALSE(r.reset);
}

// RFC 9113 §8.2.1: a field name with upper-case letters makes the request malformed (§8.1.1):
// a stream error, nothing forwarded (the client sends the name as given: NO_COPY_NAME).
TEST(Http2FrontEnd, UpperCaseFieldNameIsMalformed) {
    test_host h;
    h.origins.push_back({{ok("should not be sent")}});
    h2_client c(h);
    const auto id = c.get(origin, "/upper", {{"X-Upper", "1"}});
    c.pump();
    EXPECT_TRUE(h.connects.empty())
        << "forwarded: " << (h.upstream_logs.empty() ? "" : h.upstream_logs[0]->received);
    EXPECT_TRUE(c.streams[id].reset);
    EXPECT_EQ(c.streams[id].reset_code, NGHTTP2_PROTOCOL_ERROR);
}

// A malformed request (RFC 9113 §8.2.2: a connection-specific field) is a stream error:
// nghttp2 resets the stream before ferry sees a request, so no exchange starts. Such streams must
// not stay counted — against the streams gauge nor against max_concurrent_streams.
TEST(Http2FrontEnd, MalformedStreamsAreForgotten) {
    config::settings s;
    s.http2.max_concurrent_streams = 2;
    test_host h(s);
    h2_client c(h);
    for (int i = 0; i < 3; ++i) {
        const auto bad = c.get(origin, "/bad", {{"connection", "keep-alive"}});
        c.pump();
        EXPECT_TRUE(c.streams[bad].reset);
        EXPECT_EQ(c.streams[bad].reset_code, NGHTTP2_PROTOCOL_ERROR);
    }
    EXPECT_TRUE(h.connects.empty());
    EXPECT_EQ(h.metrics().http2.streams.load(), 0u) << "ferry_http2_streams_open";
    // A good request on the same connection is still served, not refused.
    h.origins.push_back({{ok("fine")}});
    const auto good = c.get(origin, "/good");
    c.pump();
    EXPECT_FALSE(c.streams[good].reset)
        << "reset with code " << c.streams[good].reset_code << " (7 = REFUSED_STREAM)";
    EXPECT_EQ(c.streams[good].body, "fine");
}

// The gauges come back to zero when a connection ends, whatever its streams were doing.
TEST(Http2FrontEnd, GaugesReturnToZeroWhenTheConnectionEnds) {
    test_host h;
    h.origins.push_back({{ok("x")}});
    {
        h2_client c(h);
        c.get(origin, "/one");
        c.pump();
        c.get(origin, "/two"); // no origin script left: waits for its answer
        c.pump();
        EXPECT_EQ(h.metrics().http2.connections.load(), 1u);
        c.close();
        c.advance(2000ms);
        EXPECT_TRUE(c.connection_done());
    }
    EXPECT_EQ(h.metrics().http2.connections.load(), 0u);
    EXPECT_EQ(h.metrics().http2.streams.load(), 0u) << "ferry_http2_streams_open";
    EXPECT_EQ(h.metrics().client_connections.load(), 0u);
    EXPECT_EQ(h.metrics().http2.streams_total.load(), 2u);
}

TEST(Http2FrontEnd, NotHttp2AtAllIsClosed) {
    test_host h;
    h2_client c(h);
    c.send_raw("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    h.settle();
    c.advance(400ms);
    EXPECT_TRUE(c.ferry_ended());
    EXPECT_TRUE(h.records.empty());
}

} // namespace
} // namespace ferry::testing
