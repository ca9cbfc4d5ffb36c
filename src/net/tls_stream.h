// A byte stream over TLS: OpenSSL driven directly on the non-blocking TCP socket (no BIO
// pair, no copy), under the same interface as tcp_stream, so the HTTP/1 front end, the
// relay and tunnels run over it unchanged. OpenSSL reads and writes the socket itself; when
// it would block, the stream waits for readiness under the direction's deadline. One read
// and one write may be in flight at once (a tunnel), as on a TCP stream.
//
// tcp() is null: bytes cannot be spliced past OpenSSL, and the relay copies instead.
#pragma once

#include "net/stream.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string_view>

namespace ferry::net {

struct ssl_deleter {
    void operator()(SSL* s) const { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

// The error category of a failed TLS operation: the OpenSSL error queue's first code (what
// ERR_error_string names), or the verify result for a refused certificate.
const boost::system::error_category& tls_category();

class tls_stream final : public stream {
public:
    // `ssl` is set up for its role (SSL_set_accept_state / SSL_set_connect_state, SNI, host
    // check) but not yet bound to a socket.
    tls_stream(boost::asio::ip::tcp::socket socket, ssl_ptr ssl, const steady_time& clock,
               deadline_list* deadlines);
    ~tls_stream() override;

    // Runs the handshake to its end, under the reading deadline.
    boost::asio::awaitable<error_code> handshake(milliseconds timeout);

    boost::asio::awaitable<error_code> read_some(byte_buffer& into, std::size_t limit,
                                                 milliseconds timeout, std::size_t& got) override;
    boost::asio::awaitable<error_code> write(std::span<const boost::asio::const_buffer> data,
                                             milliseconds timeout) override;
    using stream::write;
    // Sends close_notify (if the socket takes it now) and ends the TCP send side.
    void shutdown_send() override;
    void close() override;
    void abort() override;
    bool is_open() const override { return socket_.is_open(); }

    SSL* ssl() const { return ssl_.get(); }
    boost::asio::ip::tcp::socket& socket() { return socket_; }
    // The protocol ALPN chose ("http/1.1"), empty when none was.
    std::string_view alpn() const;
    // Hands the TLS state and the socket over (to be parked); the stream is closed after.
    ssl_ptr release_ssl() { return std::move(ssl_); }
    void restore_ssl(ssl_ptr ssl) { ssl_ = std::move(ssl); }

    // A peer that closed TCP without close_notify: eof for a client (browsers do it all the
    // time, and HTTP framing finds a cut-short request), an error for a server, whose
    // body read to the close would otherwise be passed off as complete.
    bool truncation_is_eof = true;

private:
    enum class step { done, wait_read, wait_write, failed };
    step after(int result, error_code& ec);
    error_code truncated() const;
    boost::asio::awaitable<error_code> wait(step s, deadline& under);
    boost::asio::awaitable<error_code> write_one(const char* data, std::size_t size);
    void send_close_notify();

    boost::asio::ip::tcp::socket socket_;
    ssl_ptr ssl_;
};

} // namespace ferry::net
