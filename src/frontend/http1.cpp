#include "frontend/http1.h"

#include "frontend/http1_answers.h"
#include "frontend/http2.h"
#include "frontend/https.h"
#include "frontend/socks5.h"
#include "http/read_head.h"
#include "net/listener.h"
#include "net/tls_stream.h"
#include "observe/counter.h"

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <fmt/format.h>
#include <optional>
#include <sys/socket.h>

namespace ferry::frontend {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// How long a quiet client keeps its connection object before it parks, when the worker is
// not crowded: long enough that a busy keep-alive connection's next request still finds it.
constexpr std::chrono::milliseconds park_after{1000};
// On a crowded worker, a client that came back after parking once parks at the next tick of
// the deadline ticker (at most 200 ms), not at once: parking after every exchange halved
// the requests served with 8,000 busy clients, as each one's next request resumed it.
constexpr std::chrono::milliseconds park_after_crowded{1};

double seconds(std::chrono::milliseconds d) {
    return double(d.count()) / 1000.0;
}

} // namespace

tcp::endpoint local_endpoint_of(net::stream& client) {
    auto* socket = client.tcp();
    if (auto* secure = dynamic_cast<net::tls_stream*>(&client)) socket = &secure->socket();
    boost::system::error_code ec;
    if (socket) {
        auto local = socket->local_endpoint(ec);
        if (!ec) return local;
    }
    return {};
}

std::string peer_label(const tcp::endpoint& peer) {
    if (peer.address().is_v6())
        return fmt::format("[{}]:{}", peer.address().to_string(), peer.port());
    return fmt::format("{}:{}", peer.address().to_string(), peer.port());
}

asio::awaitable<void> serve_http1_stream(host& h, std::unique_ptr<net::stream> client,
                                         tcp::endpoint peer, std::uint64_t id, bool resumed,
                                         std::string identity) {
    try {
        http1_connection c(h, std::move(client), peer, id, resumed, std::move(identity));
        co_await c.run();
    } catch (const std::exception& e) {
        // Only a bug gets here; it must not take the other connections down with it.
        std::fprintf(stderr, "ferry: internal error in a connection: %s\n", e.what());
    }
}

namespace {

// Holds a connection in the worker's list while its first bytes are awaited (before it is
// an HTTP/1, HTTP/2 or SOCKS5 connection): a drain closes it if its client has sent nothing
// (as an idle keep-alive connection is), a forced shutdown in any case.
class sniffing final : public net::drainable {
public:
    sniffing(host& h, net::stream& client) : host_(h), client_(client) { host_.add(this); }
    ~sniffing() override { host_.remove(this); }
    sniffing(const sniffing&) = delete;
    sniffing& operator=(const sniffing&) = delete;
    bool closed = false;
    void drain() override {
        if (!net::has_unread_bytes(*client_.tcp())) force_close();
    }
    void force_close() override {
        closed = true;
        client_.reading.cancel();
    }

private:
    host& host_;
    net::stream& client_;
};

// With --http2-cleartext or --socks5-on-http: the client's first bytes (up to 4), peeked,
// not consumed; nullopt when a shutdown closed the connection first. An HTTP/1 request never
// starts with "PRI " (RFC 9113 §3.4 chose the method so; nghttp2 checks the rest of the
// preface) nor with the byte 0x05 (SOCKS5's version). Peeked before waiting: behind a PROXY
// protocol header they may have come with the header, and the reactor's edge with them
// (epoll is edge-triggered: a wait would sit until header_timeout).
asio::awaitable<std::optional<std::string>> first_bytes(host& h, net::stream& client) {
    auto* socket = client.tcp();
    if (!socket) co_return std::string();
    char first[4];
    auto n = ::recv(socket->native_handle(), first, sizeof first, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        sniffing guard(h, client);
        client.reading.arm(h.now(), h.settings()->header_timeout);
        auto [ec] = co_await socket->async_wait(tcp::socket::wait_read, client.reading.bind());
        client.reading.disarm();
        if (guard.closed) co_return std::nullopt;
        if (ec) co_return std::string();
        n = ::recv(socket->native_handle(), first, sizeof first, MSG_PEEK | MSG_DONTWAIT);
    }
    co_return std::string(first, n > 0 ? std::size_t(n) : 0);
}

} // namespace

asio::awaitable<void> serve_http1(host& h, tcp::socket socket, tcp::endpoint peer) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto id = h.next_connection_id();
    auto client = h.client_stream(std::move(socket));
    const bool h2c = h.settings()->http2.cleartext, socks5 = h.settings()->socks5_on_http;
    if (h2c || socks5) {
        const auto sniffed = co_await first_bytes(h, *client);
        if (!sniffed) { // shutting down, and this client had sent nothing
            client->close();
            h.connection_closed(peer.address());
            co_return;
        }
        const auto& first = *sniffed;
        if (socks5 && !first.empty() && first[0] == char(socks5::version)) {
            co_await serve_socks5_stream(h, std::move(client), peer, id);
            co_return;
        }
        if (h2c && first == h2_preface.substr(0, 4)) {
            co_await serve_http2_stream(h, std::move(client), peer, id, {}, {});
            co_return;
        }
    }
    co_await serve_http1_stream(h, std::move(client), peer, id, false);
}

asio::awaitable<void> resume(host& h, tcp::socket socket, tcp::endpoint peer, std::uint64_t id,
                             std::unique_ptr<parked_session> extra) {
    if (extra)
        co_await extra->resume(h, std::move(socket), peer, id);
    else
        co_await serve_http1_stream(h, h.client_stream(std::move(socket)), peer, id, true);
}

http1_connection::http1_connection(host& h, std::unique_ptr<net::stream> client,
                                   const tcp::endpoint& peer, std::uint64_t id, bool resumed,
                                   std::string identity)
    : host_(h), settings_(h.settings()), client_(std::move(client)), peer_(peer),
      client_label_(peer_label(peer)), identity_(std::move(identity)), id_(id), resumed_(resumed),
      request_scanner_(settings_->max_header_size, settings_->max_target_size + 64, true),
      storage_(settings_->max_header_size) {
    host_.add(this);
    observe::bump(host_.metrics().client_connections);
    if (!resumed_) observe::bump(host_.metrics().client_connections_total);
}

http1_connection::~http1_connection() {
    if (!parked_) host_.connection_closed(peer_.address());
    observe::decrement(host_.metrics().client_connections);
    host_.remove(this);
}

void http1_connection::drain() {
    draining_ = true;
    if (idle_ && in_.empty()) client_->reading.cancel(); // no request has begun to arrive
}

void http1_connection::force_close() {
    draining_ = true;
    client_->close();
    if (upstream_) {
        upstream_->stream->writing.cancel(); // a name being resolved for the connection
        upstream_->stream->close();
    }
}

asio::awaitable<void> http1_connection::run() {
    if (!resumed_) host_.flow_connected(id_, client_label_);
    bool first = !resumed_;
    bool fresh = true; // no read yet on this connection object
    while (client_->is_open()) {
        // Between exchanges: take up a reloaded configuration (a pointer compare when none).
        if (settings_ != host_.settings()) settings_ = host_.settings();
        http::head_read_result r;
        if (!co_await next_head(first, fresh, r)) {
            if (parked_) co_return; // the parking lot has the socket now
            break;
        }
        const auto n = co_await serve(r);
        if (n == proxy::next::close || draining_) break;
    }
    // The origin connection is released first: the client may take a while to close.
    upstream_.reset();
    co_await close_gracefully();
    host_.flow_disconnected(id_, client_label_);
}

asio::awaitable<bool> http1_connection::next_head(bool& first, bool& fresh,
                                                  http::head_read_result& r) {
    const auto& cfg = settings();
    idle_ = in_.empty();
    if (draining_ && idle_) co_return false;
    // A quiet client with no origin connection bound to it parks (app/parking.h) after a
    // pause, so that a busy connection's next request still finds its connection object (and
    // its buffer) in place. On a crowded worker, a client that has never come back parks at
    // once (thousands of clients idle after one request each cost no memory, not even for
    // a moment), one that has comes back soon, likely: a short pause.
    const auto wait = first ? cfg.header_timeout : cfg.idle_timeout;
    const auto wait_until = host_.now() + wait;
    const bool parkable = idle_ && !upstream_;
    const bool crowded = host_.crowded();
    // Not before a first read: a new connection has its request on the way.
    if (parkable && !fresh && crowded && !resumed_ && park(wait_until)) co_return false;
    fresh = false;
    const auto pause = crowded ? park_after_crowded : park_after;
    const auto first_byte = parkable ? std::min(wait, pause) : wait;
    const net::inbound in{*client_, in_, cfg.max_header_size + 1024};
    r = co_await http::read_head(in, request_scanner_, {first_byte, cfg.header_timeout});
    using http::head_read_status;
    if (r.status == head_read_status::idle_timeout && first_byte < wait) {
        if (draining_) co_return false; // idle while shutting down: close now
        if (client_->is_open() && park(wait_until)) co_return false;
        // Not parked: wait on here for the rest of the idle timeout.
        r = co_await http::read_head(in, request_scanner_, {wait - first_byte, cfg.header_timeout});
    }
    idle_ = false;
    first = false;
    // Nothing of a request arrived: close quietly.
    co_return r.status != head_read_status::closed&& r.status !=
        head_read_status::idle_timeout&& r.status != head_read_status::failed;
}

asio::awaitable<proxy::next> http1_connection::serve(const http::head_read_result& r) {
    const auto& cfg = settings();
    const proxy::client_side side{*client_,
                                  in_,
                                  cfg.max_header_size + 1024,
                                  client_label_,
                                  peer_.address(),
                                  id_,
                                  upstream_,
                                  draining_,
                                  http1_answers(),
                                  identity_.empty() ? nullptr : &identity_,
                                  0,
                                  proxy::front_kind::http,
                                  cfg.forwarded ? local_endpoint_of(*client_) : tcp::endpoint()};
    proxy::exchange ex(host_, side, storage_, cfg);
    // GCC 12 destroys class temporaries inside a co_await expression twice: every argument
    // of an awaited call here is a named object.
    auto n = proxy::next::close;
    using http::head_read_status;
    if (r.status == head_read_status::timeout) {
        const proxy::error e{core::errc::header_timeout,
                             fmt::format("ferry: request head not received within {}s",
                                         seconds(cfg.header_timeout))};
        n = co_await ex.refuse(e, 0);
    } else if (r.status == head_read_status::cut_short) {
        ex.cut_short(in_.size(),
                     "ferry: client closed the connection in the middle of a request head");
    } else if (r.status == head_read_status::malformed) {
        proxy::error e;
        switch (r.scan.status) {
        case http::scan_status::line_too_long:
            e = {core::errc::target_too_long, "ferry: request-target too long"};
            break;
        case http::scan_status::head_too_large:
            e = {core::errc::head_too_large, "ferry: request header section too large"};
            break;
        default:
            e = {core::errc::bad_request, "ferry: request line or header not ended by CRLF"};
        }
        n = co_await ex.refuse(e, in_.size());
    } else {
        const auto begin = request_scanner_.head_begin();
        storage_.request_store.assign(in_.data().substr(begin, r.scan.head_end - begin));
        in_.consume(r.scan.head_end);
        n = co_await ex.run(r.scan.head_end);
    }
    ex.log();
    co_return n;
}

asio::awaitable<void> http1_connection::close_gracefully() {
    if (!client_->is_open()) co_return;
    client_->shutdown_send();
    // Read and drop what the client still sends for a moment, so that closing with unread
    // data does not reset the connection before the client has read the last response
    // (RFC 9112 §9.6). Bounded in bytes and in total time, however the client trickles.
    in_.consume(in_.size());
    std::size_t drained = 0;
    const auto until = host_.now() + std::chrono::seconds(2);
    const net::inbound in{*client_, in_, settings().max_header_size + 1024};
    boost::system::error_code ec;
    while (!ec && drained < 256 * 1024 && !draining_ && host_.now() < until) {
        std::size_t got = 0;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - host_.now());
        ec = co_await net::read_some(in, left, got);
        drained += got;
        in_.consume(got);
    }
    client_->close();
}

bool http1_connection::park(net::steady_time until) {
    std::unique_ptr<parked_session> extra;
    auto* socket = client_->tcp();
    auto* secure = socket ? nullptr : dynamic_cast<net::tls_stream*>(client_.get());
    if (secure) {
        extra = park_tls(*secure, identity_);
        if (!extra) return false;
        socket = &secure->socket();
    }
    parked_ = socket && host_.park(*socket, peer_, id_, until, extra);
    if (!parked_ && extra) unpark_tls(*secure, std::move(extra));
    return parked_;
}

} // namespace ferry::frontend
