// The HTTPS front end (an https:// listener): TLS with the client, then the HTTP/1 front end
// unchanged over the TLS stream. Before the handshake it looks at the first byte: a plain
// HTTP request gets a 400 saying so (as nginx answers), other bytes that are not a TLS
// record are closed on. The whole handshake has tls_handshake_timeout; failures are
// counted by reason in /metrics and logged with the client's address. A verified client
// certificate's identity becomes the connection's user.
#pragma once

#include "frontend/host.h"
#include "net/tls_stream.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

namespace ferry::frontend {

boost::asio::awaitable<void> serve_https(host& h, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

// An idle TLS client parks as a plain one does, keeping only its OpenSSL state (record
// buffers released) and identity: what the parking lot holds beside the socket. Null when
// it cannot park (OpenSSL holds bytes the client sent that are not read yet).
std::unique_ptr<parked_session> park_tls(net::tls_stream& stream, const std::string& identity);
// A park that failed: the state goes back to its stream.
void unpark_tls(net::tls_stream& stream, std::unique_ptr<parked_session> state);

} // namespace ferry::frontend
