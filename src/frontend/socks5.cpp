#include "frontend/socks5.h"

#include "auth/authenticator.h"
#include "frontend/http1.h"
#include "observe/counter.h"

#include <boost/asio/buffer.hpp>
#include <fmt/format.h>
#include <unistd.h>

namespace ferry::frontend {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using observe::socks5_failure;

namespace {

// Longest SOCKS5 message: a greeting of 255 methods, credentials of 255 + 255 bytes.
constexpr std::size_t message_limit = 1024;

// One write(2), so that lines from several workers never interleave.
void write_stderr(const std::string& line) {
    std::size_t done = 0;
    while (done < line.size()) {
        const auto n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) return;
        done += std::size_t(n);
    }
}

// The access log's cause for a failure reply: the reply, then why ferry sent it.
std::string failure_cause(socks5::reply r, std::string_view why) {
    constexpr std::string_view prefix = "ferry: ";
    if (why.starts_with(prefix)) why.remove_prefix(prefix.size());
    auto cause = fmt::format("ferry: socks5: {} (reply 0x{:02x})", socks5::describe(r), int(r));
    if (!why.empty()) cause += fmt::format(": {}", why);
    return cause;
}

} // namespace

asio::awaitable<void> serve_socks5_stream(host& h, std::unique_ptr<net::stream> client,
                                          tcp::endpoint peer, std::uint64_t id) {
    try {
        socks5_connection c(h, std::move(client), peer, id);
        co_await c.run();
    } catch (const std::exception& e) {
        // Only a bug gets here; it must not take the other connections down with it.
        std::fprintf(stderr, "ferry: internal error in a SOCKS5 connection: %s\n", e.what());
    }
}

asio::awaitable<void> serve_socks5(host& h, tcp::socket socket, tcp::endpoint peer) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto id = h.next_connection_id();
    auto client = h.client_stream(std::move(socket));
    co_await serve_socks5_stream(h, std::move(client), peer, id);
}

socks5_connection::socks5_connection(host& h, std::unique_ptr<net::stream> client,
                                     const tcp::endpoint& peer, std::uint64_t id)
    : host_(h), settings_(h.settings()), client_(std::move(client)), peer_(peer),
      client_label_(peer_label(peer)), id_(id) {
    host_.add(this);
    observe::bump(host_.metrics().client_connections);
    observe::bump(host_.metrics().client_connections_total);
}

socks5_connection::~socks5_connection() {
    host_.connection_closed(peer_.address());
    observe::decrement(host_.metrics().client_connections);
    host_.remove(this);
}

void socks5_connection::drain() {
    draining_ = true;
    if (handshaking_) client_->reading.cancel(); // nothing is in flight yet
}

void socks5_connection::force_close() {
    draining_ = true;
    client_->close();
    if (upstream_) {
        upstream_->stream->writing.cancel(); // a name being resolved for the connection
        upstream_->stream->close();
    }
}

void socks5_connection::failed(socks5_failure why) {
    observe::bump(host_.metrics().socks5.handshake_failures[std::size_t(why)]);
}

void socks5_connection::sent(socks5::reply r) {
    observe::bump(host_.metrics().socks5.replies[std::size_t(r)]);
}

template <class T>
asio::awaitable<bool> socks5_connection::read_message(socks5::parsed<T> (*parse)(std::string_view),
                                                      socks5::parsed<T>& out) {
    // Each step has the header timeout, from when ferry starts waiting for it.
    const auto until = host_.now() + settings().header_timeout;
    for (;;) {
        out = parse(in_.data());
        if (out.status != socks5::read_status::need_more) co_return true;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - host_.now());
        boost::system::error_code ec = asio::error::timed_out;
        std::size_t got = 0;
        if (!draining_ && left.count() > 0)
            ec = co_await client_->read_some(in_, message_limit, left, got);
        if (!ec) continue;
        // Shutting down is not the client's stall: counted as a close.
        const bool stalled = ec == asio::error::timed_out && !draining_;
        failed(stalled ? socks5_failure::timeout : socks5_failure::closed);
        co_return false;
    }
}

asio::awaitable<bool> socks5_connection::send() {
    const auto ec = co_await client_->write(asio::buffer(out_), settings().send_timeout);
    if (!ec) handshake_sent_ += out_.size();
    co_return !ec;
}

asio::awaitable<bool> socks5_connection::negotiate() {
    socks5::parsed<socks5::greeting> greeting;
    if (!co_await read_message(&socks5::read_greeting, greeting)) co_return false;
    out_.clear();
    if (greeting.status == socks5::read_status::failed) {
        if (greeting.why == socks5::problem::bad_version) {
            failed(socks5_failure::bad_version); // not SOCKS5: nothing it could read
            co_return false;
        }
        failed(socks5_failure::no_methods);
        socks5::write_method(socks5::method::none_acceptable, out_);
        co_await send();
        co_return false;
    }
    handshake_bytes_ += greeting.used;
    in_.consume(greeting.used);
    const auto& cfg = settings();
    auto& auth = host_.auth();
    const bool may_pass = socks5::may_pass_without_user(cfg.acl, host_.default_policy(),
                                                        peer_.address(), auth.enabled());
    const auto chosen = socks5::choose_method(greeting.value, auth.enabled(), may_pass);
    socks5::write_method(chosen, out_);
    if (!co_await send()) co_return false;
    if (chosen == socks5::method::none_acceptable) {
        failed(socks5_failure::no_acceptable_method);
        co_return false;
    }
    if (chosen == socks5::method::password) co_return co_await authenticate();
    co_return true;
}

asio::awaitable<bool> socks5_connection::authenticate() {
    socks5::parsed<socks5::credentials> creds;
    if (!co_await read_message(&socks5::read_credentials, creds)) co_return false;
    out_.clear();
    if (creds.status == socks5::read_status::failed) {
        failed(socks5_failure::bad_version);
        socks5::write_password_status(false, out_);
        co_await send();
        co_return false;
    }
    handshake_bytes_ += creds.used;
    in_.consume(creds.used);
    // The call outside the co_await: GCC 12 mishandles class temporaries inside one.
    auto check =
        host_.auth().check_password(std::move(creds.value.user), std::move(creds.value.password));
    auto verdict = co_await std::move(check);
    socks5::write_password_status(verdict.ok(), out_);
    if (!verdict.ok()) {
        // The line fail2ban reads, as for a 407.
        write_stderr(auth::failure_line(verdict, client_label_));
        observe::bump(host_.metrics().auth_failures);
        failed(socks5_failure::auth_failed);
        co_await send();
        co_return false;
    }
    user_ = std::move(verdict.user);
    co_return co_await send();
}

asio::awaitable<void> socks5_connection::serve(const socks5::request& r) {
    const auto& cfg = settings();
    storage_ = std::make_unique<proxy::exchange_storage>(cfg.max_header_size);
    const auto target = socks5::authority(r);
    storage_->request_store =
        fmt::format("CONNECT {} HTTP/1.1\r\nHost: {}\r\n\r\n", target, target);
    const proxy::client_side side{*client_,
                                  in_,
                                  cfg.max_header_size + 1024,
                                  client_label_,
                                  peer_.address(),
                                  id_,
                                  upstream_,
                                  draining_,
                                  answers_,
                                  user_.empty() ? nullptr : &user_,
                                  0,
                                  proxy::front_kind::socks5};
    proxy::exchange ex(host_, side, *storage_, cfg);
    handshaking_ = false;
    ex.count_sent_before(handshake_sent_);
    co_await ex.run(handshake_bytes_);
    if (const auto reply = answers_.sent()) {
        sent(*reply);
        auto& rec = storage_->record;
        if (*reply != socks5::reply::succeeded) rec.cause = failure_cause(*reply, rec.cause);
        // Both sides ended their streams (no cause): the client has sent all it will.
        tunnel_ended_ =
            *reply == socks5::reply::succeeded && rec.cause.empty() && !rec.tunnel_refused;
    }
    ex.log();
}

asio::awaitable<void> socks5_connection::run() {
    host_.flow_connected(id_, client_label_);
    if (co_await negotiate()) {
        socks5::parsed<socks5::request> request;
        if (co_await read_message(&socks5::read_request, request)) {
            handshake_bytes_ += request.used;
            if (request.status == socks5::read_status::done) {
                in_.consume(request.used);
                co_await serve(request.value);
            } else if (const auto reply = socks5::reply_for(request.why)) {
                failed(socks5_failure::bad_request);
                out_.clear();
                socks5::write_reply(*reply, {}, out_);
                if (co_await send()) sent(*reply);
            } else {
                failed(socks5_failure::bad_version);
            }
        }
    }
    upstream_.reset();
    co_await close_gracefully();
    host_.flow_disconnected(id_, client_label_);
}

asio::awaitable<void> socks5_connection::close_gracefully() {
    if (!client_->is_open()) co_return;
    if (tunnel_ended_) { // its end was read and ours sent: nothing is left to drain
        client_->close();
        co_return;
    }
    client_->shutdown_send();
    // Read and drop what the client still sends for a moment, so that closing with unread
    // bytes does not reset the connection before it has read ferry's last reply. Bounded in
    // bytes and in time.
    in_.consume(in_.size());
    std::size_t drained = 0;
    const auto until = host_.now() + std::chrono::seconds(1);
    boost::system::error_code ec;
    while (!ec && drained < 64 * 1024 && !draining_ && host_.now() < until) {
        std::size_t got = 0;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - host_.now());
        ec = co_await client_->read_some(in_, message_limit, left, got);
        drained += got;
        in_.consume(got);
    }
    client_->close();
}

} // namespace ferry::frontend
