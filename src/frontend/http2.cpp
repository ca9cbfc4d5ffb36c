#include "frontend/http2.h"

#include "frontend/http1.h"
#include "frontend/http2_stream.h"
#include "net/io.h"
#include "net/tls_stream.h"
#include "observe/counter.h"
#include "util/base64.h"

#include <openssl/rand.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <unordered_map>

namespace ferry::frontend {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// What nghttp2 frames waits here until written; past this, it waits in nghttp2's queues
// (HEADERS, control frames) or in the exchanges' own buffers (DATA, framed only on demand).
constexpr std::size_t out_limit = 64 * 1024;
// The reading loop looks up this often: an idle connection, a reload, a drain.
constexpr std::chrono::milliseconds tick{1000};
// Frames that do no work for ferry (PING, SETTINGS after the first, PRIORITY, empty DATA,
// streams reset or refused, invalid frames) are "glitches", as HAProxy calls them: a leaky
// bucket per connection; past its size the client is told ENHANCE_YOUR_CALM and dropped.
constexpr double glitch_limit = 1000;
constexpr double glitch_leak_per_second = 100;
// Ended streams a connection keeps for its next ones (each holds a few KiB of capacity);
// an idle connection gives them back.
constexpr std::size_t spare_streams = 16;

// nghttp2's allocations, counted: what an idle connection holds is a metric.
struct counted_memory {
    std::size_t bytes = 0;
};
void* count_malloc(std::size_t size, void* user) {
    void* p = std::malloc(size);
    if (p) static_cast<counted_memory*>(user)->bytes += malloc_usable_size(p);
    return p;
}
void count_free(void* p, void* user) {
    if (!p) return;
    static_cast<counted_memory*>(user)->bytes -= malloc_usable_size(p);
    std::free(p);
}
void* count_calloc(std::size_t n, std::size_t size, void* user) {
    void* p = std::calloc(n, size);
    if (p) static_cast<counted_memory*>(user)->bytes += malloc_usable_size(p);
    return p;
}
void* count_realloc(void* p, std::size_t size, void* user) {
    auto& m = *static_cast<counted_memory*>(user);
    const std::size_t before = p ? malloc_usable_size(p) : 0;
    void* q = std::realloc(p, size);
    if (q) {
        m.bytes = m.bytes - before + malloc_usable_size(q);
    } else if (size == 0) {
        m.bytes -= before;
    }
    return q;
}

std::string websocket_key() {
    unsigned char key[16];
    RAND_bytes(key, sizeof key);
    return util::base64_encode({reinterpret_cast<const char*>(key), sizeof key});
}

class http2_connection final : public net::drainable, public h2_session {
public:
    http2_connection(host& h, std::unique_ptr<net::stream> client, const tcp::endpoint& peer,
                     std::uint64_t id, std::string identity, const asio::any_io_executor& ex);
    ~http2_connection() override;

    asio::awaitable<void> run(std::string received);
    void drain() override;
    void force_close() override;
    nghttp2_session* session() override { return session_; }
    void wake_writer() override { writer_wake_.cancel(); }

private:
    bool start_session();
    asio::awaitable<void> read_loop(std::string received);
    asio::awaitable<void> write_loop();
    asio::awaitable<void> serve_stream(h2_stream* s);
    bool feed(std::string_view bytes);
    void on_tick();
    void begin_drain();
    void glitch();
    void calm_down();
    void abandon_all();
    void note_idle();
    void forget(h2_stream* s);
    h2_stream* stream(std::int32_t id) {
        return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session_, id));
    }
    const config::settings& cfg() const { return *settings_; }
    observe::http2_counters& counters() { return host_.metrics().http2; }

    // nghttp2's callbacks (user_data is the connection).
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t flags, void* self);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id,
                             const std::uint8_t* data, std::size_t size, void* self);
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* self);
    static int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self);
    static int on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int, void* self);
    static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                           void* self);
    static int on_send_data(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* head,
                            std::size_t size, nghttp2_data_source* source, void* self);

    host& host_;
    std::shared_ptr<const config::settings> settings_;
    std::unique_ptr<net::stream> transport_;
    tcp::endpoint peer_;
    std::string label_;
    std::string identity_;
    std::uint64_t id_;
    asio::any_io_executor ex_;
    counted_memory memory_;
    nghttp2_session* session_ = nullptr;
    std::unordered_map<std::int32_t, std::unique_ptr<h2_stream>> streams_;
    std::vector<std::unique_ptr<h2_stream>> spare_; // ended streams, to be used again
    std::size_t exchanges_ = 0; // running now (a closed stream's may still be logging)
    asio::steady_timer writer_wake_;
    asio::steady_timer done_wake_;
    net::byte_buffer in_{16 * 1024};
    std::string out_;
    bool reader_done_ = false;
    bool dead_ = false; // the transport failed or was closed: nothing more is sent
    bool draining_ = false;
    bool calmed_ = false;
    int settings_frames_ = 0;
    double glitches_ = 0;
    net::steady_time glitch_at_{};
    net::steady_time idle_since_{};
    std::size_t idle_bytes_ = 0; // counted in the metrics while idle, else 0
};

http2_connection::http2_connection(host& h, std::unique_ptr<net::stream> client,
                                   const tcp::endpoint& peer, std::uint64_t id,
                                   std::string identity, const asio::any_io_executor& ex)
    : host_(h), settings_(h.settings()), transport_(std::move(client)), peer_(peer),
      label_(peer_label(peer)), identity_(std::move(identity)), id_(id), ex_(ex), writer_wake_(ex),
      done_wake_(ex) {
    writer_wake_.expires_at(net::steady_time::max());
    done_wake_.expires_at(net::steady_time::max());
    host_.add(this);
    auto& m = host_.metrics();
    observe::bump(m.client_connections);
    observe::bump(m.client_connections_total);
    observe::bump(counters().connections);
    observe::bump(counters().connections_total);
    glitch_at_ = idle_since_ = host_.now();
}

http2_connection::~http2_connection() {
    if (idle_bytes_ > 0) {
        observe::decrement(counters().idle_connections);
        observe::decrement(counters().idle_bytes, idle_bytes_);
    }
    streams_.clear();
    spare_.clear();
    if (session_) nghttp2_session_del(session_);
    host_.connection_closed(peer_.address());
    observe::decrement(host_.metrics().client_connections);
    observe::decrement(counters().connections);
    host_.remove(this);
}

bool http2_connection::start_session() {
    nghttp2_session_callbacks* cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // The exchange says when a byte is consumed: the windows are ferry's back-pressure.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_settings(opt, 32);
    // No RFC 7540 priority tree (RFC 9113 §5.3.2 deprecates it): closed streams are not
    // kept for it, which is most of what an idle session would hold.
    nghttp2_option_set_no_closed_streams(opt, 1);
    nghttp2_mem mem{&memory_, count_malloc, count_free, count_calloc, count_realloc};
    const int rv = nghttp2_session_server_new3(&session_, cb, this, opt, &mem);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) return false;
    const auto& h2 = cfg().http2;
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, std::uint32_t(h2.max_concurrent_streams)},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, std::uint32_t(h2.stream_window)},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, std::uint32_t(h2.max_frame_size)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, std::uint32_t(h2.max_header_list_size)},
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1}, // RFC 8441: WebSocket over a stream
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},   // RFC 9218: ferry does not prioritise
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          std::int32_t(h2.connection_window));
    return true;
}

asio::awaitable<void> http2_connection::run(std::string received) {
    using namespace asio::experimental::awaitable_operators;
    host_.flow_connected(id_, label_);
    if (start_session()) co_await (read_loop(std::move(received)) && write_loop());
    // The connection is gone: every exchange still running is cut, and waited for.
    abandon_all();
    while (exchanges_ > 0)
        co_await done_wake_.async_wait(net::use_nothrow);
    transport_->close();
    host_.flow_disconnected(id_, label_);
}

// ---- the two loops ----

asio::awaitable<void> http2_connection::read_loop(std::string received) {
    if (!received.empty()) feed(received);
    while (!dead_ && nghttp2_session_want_read(session_)) {
        std::size_t got = 0;
        auto ec = co_await transport_->read_some(in_, 64 * 1024, tick, got);
        if (dead_) break;
        if (ec == asio::error::timed_out || ec == asio::error::operation_aborted) {
            on_tick();
            continue;
        }
        if (ec) break;
        const bool ok = feed(in_.data());
        in_.consume(in_.size());
        if (!ok) break;
    }
    reader_done_ = true;
    wake_writer();
}

// Bytes from the client to nghttp2, whose callbacks do the rest. False when the connection
// cannot go on.
bool http2_connection::feed(std::string_view bytes) {
    const auto rv = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) return false; // not HTTP/2 at all: just close
    if (rv < 0) {
        // A flood of frames nghttp2 must answer (SETTINGS, PING): ferry is not a reflector.
        nghttp2_session_terminate_session(session_, rv == NGHTTP2_ERR_FLOODED
                                                        ? NGHTTP2_ENHANCE_YOUR_CALM
                                                        : NGHTTP2_PROTOCOL_ERROR);
        abandon_all();
    }
    wake_writer();
    return true;
}

asio::awaitable<void> http2_connection::write_loop() {
    while (!dead_) {
        if (nghttp2_session_send(session_) != 0) break;
        if (!out_.empty()) {
            auto ec = co_await transport_->write(asio::buffer(out_), cfg().send_timeout);
            out_.clear();
            if (ec) break;
            continue;
        }
        if (reader_done_) break;
        if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
        co_await writer_wake_.async_wait(net::use_nothrow);
    }
    // Nothing more goes either way: the reading loop ends with the transport.
    dead_ = true;
    transport_->shutdown_send();
    transport_->close();
}

// The reading loop's tick: take a reload as a drain, and close a connection idle too long.
void http2_connection::on_tick() {
    if (settings_ != host_.settings() && !draining_) begin_drain(); // clients reconnect
    if (exchanges_ > 0 || !streams_.empty()) return;
    note_idle();
    if (host_.now() - idle_since_ >= cfg().idle_timeout) begin_drain();
}

// A connection with no stream gives back its buffers, and says what it still holds.
void http2_connection::note_idle() {
    if (idle_bytes_ > 0) return;
    in_.release_if_empty();
    if (out_.empty()) std::string().swap(out_);
    spare_.clear();
    if (auto* tls = dynamic_cast<net::tls_stream*>(transport_.get());
        tls && tls->ssl() && !SSL_has_pending(tls->ssl()))
        SSL_free_buffers(tls->ssl());
    idle_bytes_ = sizeof(*this) + memory_.bytes + in_.capacity() + out_.capacity();
    observe::bump(counters().idle_connections);
    observe::bump(counters().idle_bytes, idle_bytes_);
}

void http2_connection::begin_drain() {
    if (draining_) return;
    draining_ = true;
    // RFC 9113 §6.8: the last stream ferry will serve; the in-flight ones finish.
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    wake_writer();
}

void http2_connection::drain() {
    begin_drain();
    transport_->reading.cancel(); // the reading loop looks at once
}

void http2_connection::force_close() {
    dead_ = true;
    abandon_all();
    transport_->close();
    wake_writer();
}

void http2_connection::glitch() {
    const auto now = host_.now();
    const double seconds = std::chrono::duration<double>(now - glitch_at_).count();
    glitch_at_ = now;
    glitches_ = std::max(0.0, glitches_ - seconds * glitch_leak_per_second) + 1;
    if (glitches_ > glitch_limit) calm_down();
}

void http2_connection::calm_down() {
    if (calmed_) return;
    calmed_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    abandon_all();
    wake_writer();
}

void http2_connection::abandon_all() {
    for (auto& [id, s] : streams_)
        if (!s->exchange_done()) s->abandon();
}

// ---- streams ----

void http2_connection::forget(h2_stream* s) {
    // A stream is kept while nghttp2 knows it and while its exchange runs (one whose
    // header block never ended has none).
    if (!s->closed() || (s->exchange_started && !s->exchange_done())) return;
    observe::decrement(counters().streams);
    auto it = streams_.find(s->id());
    // Kept for the next stream: its storage, buffers and timers are allocated already.
    if (spare_.size() < spare_streams) spare_.push_back(std::move(it->second));
    streams_.erase(it);
    if (streams_.empty()) idle_since_ = host_.now();
}

asio::awaitable<void> http2_connection::serve_stream(h2_stream* s) {
    if (idle_bytes_ > 0) {
        observe::decrement(counters().idle_connections);
        observe::decrement(counters().idle_bytes, std::exchange(idle_bytes_, 0));
    }
    try {
        const auto settings = settings_; // held until the exchange ends
        const auto& c = *settings;
        const h2_answers answers(*s);
        auto& store = s->storage;
        store.request_store.clear();
        h2_head head;
        if (!s->request.too_large)
            head = to_http1_head(s->request, s->remote_ended(),
                                 s->request.protocol.empty() ? std::string() : websocket_key(),
                                 store.request_store);
        s->chunked_body = head.chunked_body;
        const proxy::client_side side{*s,
                                      s->buffer,
                                      c.max_header_size + 1024,
                                      label_,
                                      peer_.address(),
                                      id_,
                                      s->upstream,
                                      s->draining,
                                      answers,
                                      identity_.empty() ? nullptr : &identity_,
                                      std::uint32_t(s->id())};
        proxy::exchange ex(host_, side, store, c);
        if (s->request.too_large) {
            const proxy::error e{core::errc::head_too_large,
                                 "ferry: request header list too large"};
            co_await ex.refuse(e, s->head_bytes);
        } else if (!head.problem.empty()) {
            const proxy::error e{core::errc::bad_request, head.problem};
            co_await ex.refuse(e, s->head_bytes);
        } else {
            co_await ex.run(s->head_bytes);
        }
        ex.log();
        const auto& r = store.record;
        const bool tunnel = r.method == "CONNECT" || r.status == 101;
        s->finish(r.cause.empty() && r.status != 0, tunnel);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: internal error in an HTTP/2 stream: %s\n", e.what());
        s->finish(false, false);
    }
    s->upstream.reset(); // a connection pinned to this stream goes with it
    --exchanges_;
    wake_writer();
    forget(s);
    if (exchanges_ == 0) done_wake_.cancel();
}

// ---- nghttp2's callbacks ----

int http2_connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    // nghttp2 refuses streams past the announced limit itself. Streams it closed whose
    // exchanges still run (a response's last DATA goes out before its exchange has logged;
    // a client reset one) count here: up to the limit again, then the work a client can
    // start is refused, however fast it resets streams (rapid reset, CVE-2023-44487).
    if (c.streams_.size() >= 2 * c.cfg().http2.max_concurrent_streams || c.calmed_) {
        nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, f->hd.stream_id,
                                  NGHTTP2_REFUSED_STREAM);
        c.glitch();
        return 0;
    }
    std::unique_ptr<h2_stream> s;
    if (!c.spare_.empty()) {
        s = std::move(c.spare_.back());
        c.spare_.pop_back();
        s->reuse(f->hd.stream_id);
    } else {
        s = std::make_unique<h2_stream>(c, f->hd.stream_id, c.host_.now(), &c.host_.deadlines(),
                                        c.ex_, c.cfg().max_header_size);
    }
    nghttp2_session_set_stream_user_data(c.session_, f->hd.stream_id, s.get());
    c.streams_.emplace(f->hd.stream_id, std::move(s));
    observe::bump(c.counters().streams);
    observe::bump(c.counters().streams_total);
    return 0;
}

int http2_connection::on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                                std::size_t namelen, const std::uint8_t* value,
                                std::size_t valuelen, std::uint8_t, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto* s = c.stream(f->hd.stream_id);
    if (!s || f->hd.type != NGHTTP2_HEADERS) return 0;
    const auto limit = c.cfg().http2.max_header_list_size;
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        s->request.decoded_size += namelen + valuelen + 32; // trailers: counted, not kept
    } else {
        s->request.add({reinterpret_cast<const char*>(name), namelen},
                       {reinterpret_cast<const char*>(value), valuelen}, limit);
    }
    // Far past the limit: an HPACK bomb (a few bytes that decode to megabytes).
    if (s->request.decoded_size > 4 * limit) {
        c.calm_down();
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

int http2_connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    const bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (f->hd.type) {
    case NGHTTP2_HEADERS: {
        auto* s = c.stream(f->hd.stream_id);
        if (!s) break;
        s->head_bytes += f->hd.length + 9;
        if (end) s->on_remote_end();
        if (f->headers.cat == NGHTTP2_HCAT_REQUEST && !s->exchange_started) {
            s->exchange_started = true;
            ++c.exchanges_;
            asio::co_spawn(c.ex_, c.serve_stream(s), asio::detached);
        }
        break;
    }
    case NGHTTP2_DATA:
        if (auto* s = c.stream(f->hd.stream_id); s && end) s->on_remote_end();
        if (f->hd.length == 0 && !end) c.glitch();
        break;
    case NGHTTP2_SETTINGS:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK) && c.settings_frames_++ > 0) c.glitch();
        break;
    case NGHTTP2_PING:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) c.glitch();
        break;
    case NGHTTP2_PRIORITY:
        c.glitch();
        break;
    case NGHTTP2_RST_STREAM: {
        observe::bump(c.counters().resets[0][observe::http2_error_slot(f->rst_stream.error_code)]);
        auto* s = c.stream(f->hd.stream_id);
        if (s && !s->exchange_done()) c.glitch(); // work started and thrown away
        break;
    }
    case NGHTTP2_GOAWAY:
        observe::bump(c.counters().goaways[0][observe::http2_error_slot(f->goaway.error_code)]);
        break;
    default:
        break;
    }
    return 0;
}

int http2_connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                                    const std::uint8_t* data, std::size_t size, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto* s = c.stream(id);
    if (s && !s->exchange_done()) {
        s->on_data(data, size);
        return 0;
    }
    // Nobody reads it: the window opens again at once.
    if (nghttp2_session_consume(session, id, size) != 0)
        nghttp2_session_consume_connection(session, size);
    return 0;
}

int http2_connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code,
                                      void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    auto* s = it->second.get();
    s->on_closed(code);
    c.forget(s);
    return 0;
}

int http2_connection::on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    switch (f->hd.type) {
    case NGHTTP2_DATA:
    case NGHTTP2_HEADERS:
        if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
            if (auto* s = c.stream(f->hd.stream_id)) s->on_end_sent();
        break;
    case NGHTTP2_RST_STREAM:
        observe::bump(c.counters().resets[1][observe::http2_error_slot(f->rst_stream.error_code)]);
        break;
    case NGHTTP2_GOAWAY:
        observe::bump(c.counters().goaways[1][observe::http2_error_slot(f->goaway.error_code)]);
        break;
    default:
        break;
    }
    return 0;
}

int http2_connection::on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int, void* self) {
    static_cast<http2_connection*>(self)->glitch();
    return 0;
}

ssize_t http2_connection::on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                                  void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (c.out_.size() >= out_limit) return NGHTTP2_ERR_WOULDBLOCK;
    c.out_.append(reinterpret_cast<const char*>(data), size);
    return ssize_t(size);
}

int http2_connection::on_send_data(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* head,
                                   std::size_t size, nghttp2_data_source* source, void* self) {
    auto& c = *static_cast<http2_connection*>(self);
    if (c.out_.size() >= out_limit) return NGHTTP2_ERR_WOULDBLOCK;
    c.out_.append(reinterpret_cast<const char*>(head), 9);
    const auto at = c.out_.size();
    c.out_.resize(at + size);
    static_cast<h2_stream*>(source->ptr)
        ->take_data(reinterpret_cast<std::uint8_t*>(c.out_.data() + at), size);
    (void)f; // never padded: ferry sets no padding callback
    return 0;
}

} // namespace

asio::awaitable<void> serve_http2_stream(host& h, std::unique_ptr<net::stream> client,
                                         tcp::endpoint peer, std::uint64_t id, std::string identity,
                                         std::string received) {
    try {
        const auto ex = co_await asio::this_coro::executor;
        http2_connection c(h, std::move(client), peer, id, std::move(identity), ex);
        co_await c.run(std::move(received));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: internal error in an HTTP/2 connection: %s\n", e.what());
    }
}

} // namespace ferry::frontend
