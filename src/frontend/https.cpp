#include "frontend/https.h"

#include "frontend/http1.h"
#include "frontend/http2.h"
#include "http/local_reply.h"
#include "net/tls_stream.h"
#include "observe/counter.h"
#include "tls/handshake_failure.h"

#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::frontend {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr unsigned char tls_handshake_record = 0x16;

// What the first byte a client sent says it speaks.
enum class first_byte { tls, plain_http, other, nothing };

first_byte sniff(tcp::socket& socket) {
    unsigned char b = 0;
    const auto n = ::recv(socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0) return first_byte::nothing;
    if (b == tls_handshake_record) return first_byte::tls;
    if (b >= 'A' && b <= 'Z') return first_byte::plain_http; // a method's first letter
    return first_byte::other;
}

// Handshake failures are logged one line each, but no more than `burst` a second per worker
// (a flood of them must not flood the log); the next line says how many were left out.
class failure_log {
public:
    void write(const std::string& client, observe::tls_failure why, const std::string& detail,
               net::steady_time now) {
        if (now - window_ >= std::chrono::seconds(1)) {
            window_ = now;
            written_ = 0;
        }
        if (written_ >= burst) {
            ++suppressed_;
            return;
        }
        ++written_;
        auto line = fmt::format("ferry: TLS handshake from {} failed: {}", client,
                                observe::tls_failure_names[std::size_t(why)]);
        if (!detail.empty()) line += fmt::format(" ({})", detail);
        if (suppressed_ > 0)
            line += fmt::format(" [{} more not logged]", std::exchange(suppressed_, 0));
        line += '\n';
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
    }

private:
    static constexpr int burst = 20;
    net::steady_time window_{};
    int written_ = 0;
    std::uint64_t suppressed_ = 0;
};

thread_local failure_log failures;

// Holds a connection in the worker's list while it is not yet an HTTP/1 connection, so that
// a forced shutdown closes it too.
class handshaking final : public net::drainable {
public:
    handshaking(host& h, tcp::socket& socket) : host_(h), socket_(&socket) { host_.add(this); }
    ~handshaking() override { host_.remove(this); }
    void follow(tcp::socket& socket) { socket_ = &socket; }
    // Shutting down: a handshake is not an exchange in flight, and is not waited for.
    void drain() override { force_close(); }
    void force_close() override {
        boost::system::error_code ignored;
        socket_->close(ignored);
    }

private:
    host& host_;
    tcp::socket* socket_;
};

// nginx answers the same mistake with a 400 page; this is ferry's one line, in plain text.
asio::awaitable<void> answer_plain_http(net::stream& plain, host& h) {
    net::byte_buffer in(4096);
    std::size_t got = 0;
    // What the client sent is read first, so that closing does not reset the answer away.
    co_await plain.read_some(in, 64 * 1024, std::chrono::milliseconds(200), got);
    const http::local_reply reply(400, "ferry: plain HTTP request sent to the HTTPS port\n", true);
    std::string answer;
    http::write_local_reply(reply, h.settings()->pseudonym, h.http_date(), answer);
    co_await plain.write(asio::buffer(answer), h.settings()->send_timeout);
    plain.shutdown_send();
    co_await plain.read_some(in, 64 * 1024, std::chrono::milliseconds(500), got);
}

void failed(host& h, const tcp::endpoint& peer, observe::tls_failure why, std::string detail) {
    observe::bump(h.metrics().tls_failures[std::size_t(why)]);
    failures.write(peer_label(peer), why, detail, h.now());
}

class parked_tls final : public parked_session {
public:
    parked_tls(net::ssl_ptr ssl, std::string identity)
        : ssl_(std::move(ssl)), identity_(std::move(identity)) {}
    asio::awaitable<void> resume(host& h, tcp::socket socket, tcp::endpoint peer,
                                 std::uint64_t id) override {
        auto stream = std::make_unique<net::tls_stream>(std::move(socket), std::move(ssl_), h.now(),
                                                        &h.deadlines());
        co_await serve_http1_stream(h, std::move(stream), peer, id, true, std::move(identity_));
    }
    net::ssl_ptr take() { return std::move(ssl_); }

private:
    net::ssl_ptr ssl_;
    std::string identity_;
};

} // namespace

std::unique_ptr<parked_session> park_tls(net::tls_stream& stream, const std::string& identity) {
    // OpenSSL's record buffers (2 × ~16 KiB) go back now; it refuses while it holds bytes.
    if (!stream.ssl() || SSL_has_pending(stream.ssl()) || SSL_free_buffers(stream.ssl()) != 1)
        return nullptr;
    return std::make_unique<parked_tls>(stream.release_ssl(), identity);
}

void unpark_tls(net::tls_stream& stream, std::unique_ptr<parked_session> state) {
    stream.restore_ssl(static_cast<parked_tls&>(*state).take());
}

asio::awaitable<void> serve_https(host& h, tcp::socket socket, tcp::endpoint peer) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto context = h.tls_server(); // this connection's, whatever a reload brings
    const auto timeout = h.settings()->tls.handshake_timeout;
    const auto until = h.now() + timeout;
    std::string identity;
    std::unique_ptr<net::tls_stream> secure;
    {
        auto plain = h.client_stream(std::move(socket));
        handshaking guard(h, *plain->tcp());
        // The first byte, within the handshake's time. Peeked before waiting: behind a PROXY
        // protocol header it may have come with the header, and the reactor's edge with it
        // (epoll is edge-triggered: a wait would sit until the handshake timeout).
        auto kind = sniff(*plain->tcp());
        if (kind == first_byte::nothing) {
            plain->reading.arm(h.now(), timeout);
            auto [ec] =
                co_await plain->tcp()->async_wait(tcp::socket::wait_read, plain->reading.bind());
            plain->reading.disarm();
            if (!ec) kind = sniff(*plain->tcp());
        }
        if (kind != first_byte::tls || !context) {
            if (kind == first_byte::plain_http) {
                failed(h, peer, observe::tls_failure::plain_http, {});
                co_await answer_plain_http(*plain, h);
            } else if (kind == first_byte::other) {
                failed(h, peer, observe::tls_failure::not_tls, {});
            } else if (plain->reading.expired) {
                failed(h, peer, observe::tls_failure::timeout, {});
            }
            plain->close();
            h.connection_closed(peer.address());
            co_return;
        }
        secure = std::make_unique<net::tls_stream>(std::move(*plain->tcp()), context->new_session(),
                                                   h.now(), &h.deadlines());
        guard.follow(secure->socket());
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - h.now());
        const auto hs = co_await secure->handshake(std::max(left, std::chrono::milliseconds(1)));
        if (hs) {
            const auto why = tls::classify_handshake_failure(hs, secure->ssl());
            failed(h, peer, why, hs.category() == net::tls_category() ? hs.message() : "");
            secure->abort();
            h.connection_closed(peer.address());
            co_return;
        }
        observe::bump(h.metrics().tls_handshakes);
        if (SSL_session_reused(secure->ssl())) observe::bump(h.metrics().tls_resumed);
        identity = context->client_identity(secure->ssl());
    }
    // ALPN chose the protocol (tls/server_context: h2 first when HTTP/2 is on).
    if (secure->alpn() == "h2")
        co_await serve_http2_stream(h, std::move(secure), peer, h.next_connection_id(),
                                    std::move(identity), {});
    else
        co_await serve_http1_stream(h, std::move(secure), peer, h.next_connection_id(), false,
                                    std::move(identity));
}

} // namespace ferry::frontend
