// The HTTP/2 front end (RFC 9113): one client connection carrying many streams, each an
// exchange (proxy/exchange.h) through the same phases as an HTTP/1 request. nghttp2 does the
// framing, HPACK, flow control and the message checks of §8.1.1 and §8.2; ferry owns the
// policy: what each stream becomes (frontend/http2_request.h), how answers are written
// (frontend/http2_stream.h), the limits ferry announces, abuse, draining.
//
// Two loops per connection — one reads and feeds nghttp2, one writes what nghttp2 frames —
// and one coroutine per stream's exchange. The connection object outlives them all: it
// returns only when every exchange has ended.
#pragma once

#include "frontend/host.h"
#include "net/byte_buffer.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

namespace ferry::frontend {

// The client connection preface (RFC 9113 §3.4) that starts prior-knowledge HTTP/2.
inline constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Serves an HTTP/2 connection until it ends: over TLS after ALPN chose h2, or a plain
// connection whose first bytes were the preface (`received`: bytes already read from it,
// the preface included). `identity`: a verified client certificate's user, or empty.
boost::asio::awaitable<void> serve_http2_stream(host& h, std::unique_ptr<net::stream> client,
                                                boost::asio::ip::tcp::endpoint peer,
                                                std::uint64_t id, std::string identity,
                                                std::string received);

} // namespace ferry::frontend
