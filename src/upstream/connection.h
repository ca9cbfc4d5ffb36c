// A connection to an origin (or to the parent proxy), with its receive buffer.
#pragma once

#include "net/byte_buffer.h"
#include "net/stream.h"
#include "net/tcp_stream.h"
#include "net/tls_stream.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ferry::upstream {

struct connection {
    // `open_gauge`, when given, counts the connections alive (the metrics' upstream gauge);
    // it belongs to the worker, which outlives every connection of its loop.
    //
    // A TCP connection on `io`, not yet connected: its stream lives inside the connection,
    // one allocation rather than two (idle pooled connections are many after a burst).
    connection(boost::asio::io_context& io, const net::steady_time& clock,
               net::deadline_list* deadlines, std::atomic<std::uint64_t>* open_gauge = nullptr)
        : gauge_(open_gauge) {
        tcp_.emplace(io, clock, deadlines);
        stream = &*tcp_;
        count(+1);
    }
    // Any other stream: a test's in-memory one.
    explicit connection(std::unique_ptr<net::stream> s,
                        std::atomic<std::uint64_t>* open_gauge = nullptr)
        : owned_(std::move(s)), gauge_(open_gauge) {
        stream = owned_.get();
        count(+1);
    }
    ~connection() { count(-1); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    net::stream* stream = nullptr; // never null: the TCP stream inside, or the one given
    // The TCP stream when this is a TCP connection (the connector connects it).
    net::tcp_stream* tcp() { return tcp_ ? &*tcp_ : nullptr; }
    // The TLS stream once start_tls() made this a TLS connection.
    net::tls_stream* tls() { return tls_; }
    // The socket underneath, TCP or TLS (null for a test's stream): what the pool peeks at.
    boost::asio::ip::tcp::socket* socket();

    // Goes on over TLS: the connected TCP socket moves into a TLS stream driving `ssl`
    // (in connect state), on the same loop and deadlines. The handshake is the caller's.
    void start_tls(net::ssl_ptr ssl, net::deadline_list* deadlines);
    net::byte_buffer buffer{32 * 1024};
    std::string key;        // what it is pooled under: "host:port", or the parent's
    std::string label;      // "host:port" for logs
    std::string address;    // the peer's IP address, for logs
    unsigned exchanges = 0; // completed on this connection
    // Connection-bound authentication (NTLM, Negotiate) was seen on it: it belongs to one
    // client from then on and never joins the pool.
    bool pinned = false;
    // While pooled: the byte a watching peek (pool.cpp) may land in.
    char watch_byte = 0;

    // An idle connection is reusable only if the origin has neither closed it nor sent
    // anything unasked: a zero-length or non-empty peek means it is not (a stream other than
    // TCP cannot be peeked: open and nothing buffered is all that is asked of it).
    bool still_usable();

    // Closes with a reset (SO_LINGER 0) instead of a FIN: for a connection given up with
    // request bytes still unsent, whose FIN would wait behind them while the origin does
    // not read — the origin would never learn the request was abandoned, and the kernel
    // would hold the socket and its buffer long after ferry let go of it.
    void abort();

private:
    void count(int delta) {
        if (gauge_)
            gauge_->store(gauge_->load(std::memory_order_relaxed) + delta,
                          std::memory_order_relaxed);
    }
    std::optional<net::tcp_stream> tcp_;
    std::unique_ptr<net::stream> owned_;
    net::tls_stream* tls_ = nullptr; // owned_, when it is TLS
    std::atomic<std::uint64_t>* gauge_;
};

} // namespace ferry::upstream
