#include "net/tls_stream.h"

#include <openssl/err.h>

#include <string>
#include <vector>

namespace ferry::net {

namespace asio = boost::asio;

namespace {

class tls_error_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tls"; }
    std::string message(int value) const override {
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
        return reason ? reason : "TLS error";
    }
};

// Large writes go as they are; several small buffers (a head and a short body) are joined
// first, so that they leave as one record and one write(2) rather than one each.
constexpr std::size_t join_below = 16 * 1024;

} // namespace

const boost::system::error_category& tls_category() {
    static const tls_error_category category;
    return category;
}

tls_stream::tls_stream(asio::ip::tcp::socket socket, ssl_ptr ssl, const steady_time& clock,
                       deadline_list* deadlines)
    : stream(clock, deadlines), socket_(std::move(socket)), ssl_(std::move(ssl)) {
    error_code ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_ && socket_.is_open()) SSL_set_fd(ssl_.get(), socket_.native_handle());
}

tls_stream::~tls_stream() {
    if (socket_.is_open()) close();
}

std::string_view tls_stream::alpn() const {
    const unsigned char* name = nullptr;
    unsigned int size = 0;
    if (ssl_) SSL_get0_alpn_selected(ssl_.get(), &name, &size);
    return {reinterpret_cast<const char*>(name), size};
}

error_code tls_stream::truncated() const {
    if (truncation_is_eof) return asio::error::eof;
    return asio::error::broken_pipe;
}

// What an OpenSSL call's result asks for next. On failure `ec` names why.
tls_stream::step tls_stream::after(int result, error_code& ec) {
    if (result == 1) return step::done;
    switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
        return step::wait_read;
    case SSL_ERROR_WANT_WRITE:
        return step::wait_write;
    case SSL_ERROR_ZERO_RETURN:
        ec = asio::error::eof;
        return step::failed;
    case SSL_ERROR_SYSCALL:
        if (errno == ECONNRESET || errno == EPIPE)
            ec = asio::error::connection_reset;
        else if (ERR_peek_error() == 0 && errno != 0)
            ec = error_code(errno, boost::system::system_category());
        else
            ec = truncated();
        ERR_clear_error();
        return step::failed;
    default: {
        unsigned long e = ERR_get_error();
        if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            ec = truncated();
        else
            ec = error_code(static_cast<int>(e ? e : 1), tls_category());
        ERR_clear_error();
        return step::failed;
    }
    }
}

asio::awaitable<error_code> tls_stream::wait(step s, deadline& under) {
    auto what = s == step::wait_read ? asio::socket_base::wait_read : asio::socket_base::wait_write;
    auto [ec] = co_await socket_.async_wait(what, under.bind());
    co_return ec;
}

asio::awaitable<error_code> tls_stream::handshake(milliseconds timeout) {
    error_code ec;
    reading.arm(now(), timeout);
    for (;;) {
        errno = 0;
        step s = after(SSL_do_handshake(ssl_.get()), ec);
        if (s == step::done || s == step::failed) break;
        ec = co_await wait(s, reading);
        if (ec) break;
    }
    reading.disarm();
    if (ec && reading.expired) ec = asio::error::timed_out;
    co_return ec;
}

asio::awaitable<error_code> tls_stream::read_some(byte_buffer& into, std::size_t limit,
                                                  milliseconds timeout, std::size_t& got) {
    got = 0;
    if (!ssl_) co_return asio::error::bad_descriptor;
    auto [ptr, room] = into.prepare(4096, limit);
    error_code ec;
    reading.arm(now(), timeout);
    for (;;) {
        std::size_t n = 0;
        errno = 0;
        step s = after(SSL_read_ex(ssl_.get(), ptr, room, &n), ec);
        if (s == step::done) {
            into.commit(n);
            got = n;
            break;
        }
        if (s == step::failed) break;
        ec = co_await wait(s, reading);
        if (ec) break;
    }
    reading.disarm();
    if (ec && reading.expired) ec = asio::error::timed_out;
    co_return ec;
}

asio::awaitable<error_code> tls_stream::write_one(const char* data, std::size_t size) {
    error_code ec;
    while (size > 0) {
        std::size_t n = 0;
        errno = 0;
        step s = after(SSL_write_ex(ssl_.get(), data, size, &n), ec);
        if (s == step::done) {
            sent += n;
            data += n;
            size -= n;
            continue;
        }
        if (s == step::failed) break;
        // Retried with the same arguments, as OpenSSL requires.
        ec = co_await wait(s, writing);
        if (ec) break;
    }
    co_return ec;
}

asio::awaitable<error_code> tls_stream::write(std::span<const asio::const_buffer> data,
                                              milliseconds timeout) {
    if (!ssl_) co_return asio::error::bad_descriptor;
    writing.arm(now(), timeout);
    error_code ec;
    std::size_t total = asio::buffer_size(data);
    if (data.size() > 1 && total < join_below) {
        std::vector<char> joined(total);
        asio::buffer_copy(asio::buffer(joined), data);
        ec = co_await write_one(joined.data(), joined.size());
    } else {
        for (const auto& b : data) {
            ec = co_await write_one(static_cast<const char*>(b.data()), b.size());
            if (ec) break;
        }
    }
    writing.disarm();
    if (ec && writing.expired) {
        ec = asio::error::timed_out;
        write_timed_out = true;
    }
    co_return ec;
}

void tls_stream::send_close_notify() {
    if (!ssl_ || !socket_.is_open() || !SSL_is_init_finished(ssl_.get())) return;
    // Once, without waiting: if the socket cannot take it now, the FIN still ends the stream.
    if ((SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) == 0) SSL_shutdown(ssl_.get());
    ERR_clear_error();
}

void tls_stream::shutdown_send() {
    send_close_notify();
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void tls_stream::close() {
    if (write_timed_out) {
        abort();
        return;
    }
    send_close_notify();
    error_code ignored;
    socket_.close(ignored);
}

void tls_stream::abort() {
    error_code ignored;
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
}

} // namespace ferry::net
