// Socket waits with deadlines: each arms a deadline, awaits, disarms, and reports whether
// the deadline was what ended it. Errors come back as values.
#pragma once

#include "net/byte_buffer.h"
#include "net/deadline.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace ferry::net {

inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

using error_code = boost::system::error_code;

// A socket read side, its receive buffer, and the deadline for reads on it.
struct inbound {
    boost::asio::ip::tcp::socket& socket;
    byte_buffer& buffer;
    std::size_t buffer_limit;
    deadline& timer;
    const steady_time& now; // the worker's coarse clock
};

// A socket write side and its deadline.
struct outbound {
    boost::asio::ip::tcp::socket& socket;
    deadline& timer;
    const steady_time& now;
};

// Reads what is available (at least one byte) into in.buffer.
inline boost::asio::awaitable<error_code> read_some(inbound in, std::chrono::milliseconds timeout,
                                                    std::size_t& got) {
    auto [ptr, room] = in.buffer.prepare(4096, in.buffer_limit);
    in.timer.arm(in.now + timeout);
    auto [ec, n] =
        co_await in.socket.async_read_some(boost::asio::buffer(ptr, room), in.timer.bind());
    in.timer.disarm();
    in.buffer.commit(n);
    got = n;
    if (ec && in.timer.expired) ec = boost::asio::error::timed_out;
    co_return ec;
}

template <class Buffers>
boost::asio::awaitable<error_code> write_all(outbound out, const Buffers& buffers,
                                             std::chrono::milliseconds timeout) {
    out.timer.arm(out.now + timeout);
    auto [ec, n] = co_await boost::asio::async_write(out.socket, buffers, out.timer.bind());
    out.timer.disarm();
    if (ec && out.timer.expired) ec = boost::asio::error::timed_out;
    co_return ec;
}

} // namespace ferry::net
