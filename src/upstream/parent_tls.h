// TLS to the parent proxy (--parent https://): after the TCP connect, the connection goes
// on over a TLS stream, verified against the client context in force, resuming the last
// session this worker had with the parent. http1_client and tunnels then run over it as
// they do over TCP (a tunnel copies: splice cannot pass OpenSSL).
#pragma once

#include "core/error.h"
#include "net/deadline.h"
#include "tls/client_context.h"
#include "upstream/connection.h"
#include "upstream/route.h"

#include <boost/asio/awaitable.hpp>

namespace ferry::upstream {

// A worker's side of TLS to parents: the client context in force (replaced on reload,
// null when there is no https:// parent) and the worker's own sessions.
struct parent_tls {
    explicit parent_tls(std::shared_ptr<const tls::client_context> c) : context(std::move(c)) {}
    std::shared_ptr<const tls::client_context> context;
    tls::session_cache sessions;
};

// Runs the TLS handshake with the parent on `c` (connected over TCP) until `until`. The
// failure is a 502 whose one line names the parent and why ("ferry: TLS to parent
// 127.0.0.1:8443 failed: certificate verify failed (self-signed certificate)"); a
// handshake that does not end in time is a 504.
boost::asio::awaitable<core::error> start_tls(connection& c, parent_tls* tls, const route& where,
                                              net::deadline_list& deadlines,
                                              net::steady_time until);

// Whether `c`, an idle TLS connection to the parent, was verified under the client context
// in force: after a reload changed the CAs, older ones are not used again.
bool under_current_context(connection& c, const parent_tls* tls);

} // namespace ferry::upstream
