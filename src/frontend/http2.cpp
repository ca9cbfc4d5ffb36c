#include "frontend/http2.h"

#include "frontend/http1.h"
#include "frontend/http2_connection.h"
#include "frontend/http2_stream.h"
#include "net/io.h"
#include "net/tls_stream.h"
#include "observe/counter.h"
#include "util/base64.h"

#include <openssl/rand.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>

namespace ferry::frontend {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

void* count_malloc(std::size_t size, void* user) {
    void* p = std::malloc(size);
    if (p) static_cast<h2::counted_memory*>(user)->bytes += malloc_usable_size(p);
    return p;
}
void count_free(void* p, void* user) {
    if (!p) return;
    static_cast<h2::counted_memory*>(user)->bytes -= malloc_usable_size(p);
    std::free(p);
}
void* count_calloc(std::size_t n, std::size_t size, void* user) {
    void* p = std::calloc(n, size);
    if (p) static_cast<h2::counted_memory*>(user)->bytes += malloc_usable_size(p);
    return p;
}
void* count_realloc(void* p, std::size_t size, void* user) {
    auto& m = *static_cast<h2::counted_memory*>(user);
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

} // namespace

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
    observe::decrement(counters().streams, streams_.size());
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
        auto ec = co_await transport_->read_some(in_, 64 * 1024, h2::tick, got);
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
    glitches_ = std::max(0.0, glitches_ - seconds * h2::glitch_leak_per_second) + 1;
    if (glitches_ > h2::glitch_limit) calm_down();
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
    if (spare_.size() < h2::spare_streams) spare_.push_back(std::move(it->second));
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
                                      std::uint32_t(s->id()),
                                      proxy::front_kind::http,
                                      c.forwarded ? local_endpoint_of(*transport_)
                                                  : asio::ip::tcp::endpoint()};
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
