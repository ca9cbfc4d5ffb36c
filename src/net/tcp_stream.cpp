#include "net/tcp_stream.h"

#include <boost/asio/write.hpp>

namespace ferry::net {

namespace asio = boost::asio;

asio::awaitable<error_code> tcp_stream::read_some(byte_buffer& into, std::size_t limit,
                                                  milliseconds timeout, std::size_t& got) {
    auto [ptr, room] = into.prepare(4096, limit);
    reading.arm(now(), timeout);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(ptr, room), reading.bind());
    reading.disarm();
    into.commit(n);
    got = n;
    if (ec && reading.expired) ec = asio::error::timed_out;
    co_return ec;
}

asio::awaitable<error_code> tcp_stream::write(std::span<const asio::const_buffer> data,
                                              milliseconds timeout) {
    writing.arm(now(), timeout);
    auto [ec, n] = co_await asio::async_write(socket_, data, writing.bind());
    writing.disarm();
    sent += n; // also when cut short: what the kernel took before the error
    if (ec && writing.expired) {
        ec = asio::error::timed_out;
        write_timed_out = true;
    }
    co_return ec;
}

void tcp_stream::shutdown_send() {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void tcp_stream::close() {
    if (write_timed_out) {
        abort();
        return;
    }
    error_code ignored;
    socket_.close(ignored);
}

void tcp_stream::abort() {
    error_code ignored;
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
}

} // namespace ferry::net
