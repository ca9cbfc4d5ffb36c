// One side of a connection as the relay and the tunnel see it: a stream and, for reading,
// the receive buffer in front of it. Errors come back as values.
#pragma once

#include "net/byte_buffer.h"
#include "net/stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ferry::net {

inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

// A stream's read side and its receive buffer, which may grow to buffer_limit.
struct inbound {
    stream& source;
    byte_buffer& buffer;
    std::size_t buffer_limit;
    const steady_time& now() const { return source.now(); }
};

// A stream's write side.
struct outbound {
    stream& sink;
    const steady_time& now() const { return sink.now(); }
};

// Reads what is available (at least one byte) into in.buffer.
inline boost::asio::awaitable<error_code> read_some(inbound in, milliseconds timeout,
                                                    std::size_t& got) {
    return in.source.read_some(in.buffer, in.buffer_limit, timeout, got);
}

inline boost::asio::awaitable<error_code> write_all(outbound out, boost::asio::const_buffer data,
                                                    milliseconds timeout) {
    return out.sink.write(data, timeout);
}

inline boost::asio::awaitable<error_code>
write_all(outbound out, std::span<const boost::asio::const_buffer> data, milliseconds timeout) {
    return out.sink.write(data, timeout);
}

} // namespace ferry::net
