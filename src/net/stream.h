// A byte stream: what the front ends, the relay and the tunnel read and write, whatever
// carries the bytes — a TCP socket (tcp_stream), TLS later, an in-memory pipe in tests
// (memory_stream). Each direction has its deadline, armed by every wait from the stream's
// clock; the loop's ticker (deadline.h) cancels a wait whose deadline passed, and the wait
// returns timed_out. Errors come back as values: eof when the peer ended its side,
// operation_aborted when someone cancelled the wait.
#pragma once

#include "net/byte_buffer.h"
#include "net/deadline.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <span>

namespace ferry::net {

using error_code = boost::system::error_code;
using std::chrono::milliseconds;

class stream {
public:
    // `clock`: the loop's coarse clock, which deadlines are armed from; `deadlines`: the
    // ticker that expires them (null: waits never time out by themselves).
    stream(const steady_time& clock, deadline_list* deadlines)
        : reading(deadlines), writing(deadlines), clock_(clock) {}
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    virtual ~stream() = default;

    // Reads what is available, at least one byte, into `into` (which grows up to `limit`).
    virtual boost::asio::awaitable<error_code>
    read_some(byte_buffer& into, std::size_t limit, milliseconds timeout, std::size_t& got) = 0;
    // Writes all of `data`.
    virtual boost::asio::awaitable<error_code>
    write(std::span<const boost::asio::const_buffer> data, milliseconds timeout) = 0;
    // A coroutine, not a forwarder: `data` must live in its frame until the write ends.
    boost::asio::awaitable<error_code> write(boost::asio::const_buffer data, milliseconds timeout) {
        co_return co_await write(std::span<const boost::asio::const_buffer>(&data, 1), timeout);
    }

    // Ends this side's sending (the peer reads eof); reading goes on.
    virtual void shutdown_send() = 0;
    // Closes both directions; waits in progress end with operation_aborted.
    virtual void close() = 0;
    // Closes so that the peer learns at once, unsent bytes dropped (TCP: a reset).
    virtual void abort() = 0;
    virtual bool is_open() const = 0;
    // The TCP socket underneath when this stream is nothing more (no TLS, no framing):
    // splice(2) moves bytes between two such streams, and an idle client can be parked.
    virtual boost::asio::ip::tcp::socket* tcp() { return nullptr; }

    const steady_time& now() const { return clock_; }

    // A write (or splice) toward the peer timed out: the peer stopped reading, and closing
    // resets the connection (see abort()).
    bool write_timed_out = false;

    // Bytes the transport accepted from ferry on this stream so far, counted from what each
    // write or splice returned (a write cut short by an error counts what went out before
    // it): what the access log's byte counts are taken from.
    std::uint64_t sent = 0;

    // Cancels whatever waits in that direction now (the deadline itself stays unarmed).
    deadline reading;
    deadline writing;

private:
    const steady_time& clock_;
};

} // namespace ferry::net
