// The HTTPS front end (an https:// listener): TLS with the client, then the HTTP/1 front end
// unchanged over the TLS stream. Before the handshake it looks at the first byte: a plain
// HTTP request gets a 400 saying so (as nginx answers), other bytes that are not a TLS
// record are closed on. The whole handshake has tls_handshake_timeout; failures are
// counted by reason in /metrics and logged with the client's address. A verified client
// certificate's identity becomes the connection's user.
#pragma once

#include "frontend/host.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace ferry::frontend {

boost::asio::awaitable<void> serve_https(host& h, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

} // namespace ferry::frontend
