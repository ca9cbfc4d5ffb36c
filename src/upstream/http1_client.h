// The HTTP/1.1 client ferry speaks on an upstream connection, to an origin or to the parent
// proxy: the request head it sends (origin-form to an origin, absolute-form with ferry's own
// credentials to a parent), the response heads it reads (parsed, failures named after the
// peer), and CONNECT through a parent. It knows nothing of the client: the exchange calls it
// and relays bodies between the client and `body_source` / `body_sink`, so a cache or a TLS
// parent wraps or replaces this file without editing the exchange.
#pragma once

#include "core/error.h"
#include "http/head.h"
#include "http/head_scanner.h"
#include "http/read_head.h"
#include "http/rewrite.h"
#include "http/target.h"
#include "net/io.h"
#include "upstream/connection.h"
#include "upstream/route.h"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace ferry::upstream {

// Where a response head is read into: lent by the exchange, reused across a client
// connection's exchanges so that reading a head allocates nothing once warm.
struct head_storage {
    http::head_scanner& scanner;
    std::string& bytes; // the head as received; `head` points into it
    http::response_head& head;
};

// The response body's source: the connection's stream behind the bytes already buffered.
// The buffer may grow to hold the largest head ferry accepts.
net::inbound body_source(connection& c, std::size_t max_header_size);
inline net::outbound body_sink(connection& c) {
    return {*c.stream};
}

// Appends the request head for `where` to `out`, with the forwarding fields `options` asks
// for. `parent_authorization` goes to a parent only (the client's Proxy-Authorization is for
// ferry and never forwarded).
void write_request_head(const route& where, const http::request_head& request,
                        const http::target& dest, const http::framing_fields& framing,
                        const http::request_options& options, std::string_view parent_authorization,
                        std::string& out);

// Sending a request head and reading a response head are on every request's path, so
// neither is a coroutine of its own: each returns the stream-level awaitable for the
// exchange to await directly, and a plain function says what the result means.

struct send_result {
    core::error problem;
    // Nothing could be sent: on a reused connection the peer had closed it, and a request
    // that may be retried can go again on a new one.
    bool retryable = false;
};
// Sends a request head that has no body; send_outcome() says what its error means.
inline boost::asio::awaitable<net::error_code> send_head(connection& c, std::string_view head,
                                                         std::chrono::milliseconds timeout) {
    return net::write_all(body_sink(c), boost::asio::buffer(head), timeout);
}
send_result send_outcome(const connection& c, const net::error_code& ec);

struct head_result {
    core::error problem; // none: storage.head holds the parsed head
    // The connection ended before a single byte: on a reused connection, the peer closed it
    // as the request went out (the request may be retried).
    bool nothing_received = false;
};
// Reads one response head (a 1xx included) within `timeout`; take_response_head() then
// parses it into `storage`, leaving what follows it (the body, or a tunnel's first bytes) in
// the connection's buffer.
inline boost::asio::awaitable<http::head_read_result>
read_response_head(connection& c, http::head_scanner& scanner, std::size_t max_header_size,
                   std::chrono::milliseconds timeout) {
    return http::read_head(body_source(c, max_header_size), scanner, {timeout, timeout});
}
head_result take_response_head(connection& c, head_storage storage,
                               const http::head_read_result& read,
                               std::chrono::milliseconds timeout);

struct tunnel_timeouts {
    std::chrono::milliseconds send;
    std::chrono::milliseconds answer;
};
// The CONNECT ferry sends a parent for the client's `head` (its X-Ferry-Loop goes on,
// extended with options.loop_token).
struct tunnel_request {
    const http::request_head& head;
    const http::target& dest;
    std::string_view authorization;
    http::request_options options;
};
// Asks the parent proxy on `c` for a tunnel to request.dest (CONNECT). None when it answered
// 2xx; bytes after its answer are the tunnel's and stay in the connection's buffer. `scratch`
// holds the request on its way.
boost::asio::awaitable<core::error> open_tunnel(connection& c, const tunnel_request& request,
                                                std::string& scratch, head_storage storage,
                                                std::size_t max_header_size,
                                                tunnel_timeouts timeouts);

} // namespace ferry::upstream
