// The HTTP/1 front end: one client connection, start to end. It reads request heads (keep-
// alive, pipelining, the header timeout), hands each to an exchange (proxy/exchange.h), and
// parks the connection when it idles (app/parking.h). One coroutine; its state lives here,
// in the coroutine frame of serve_http1.
#pragma once

#include "frontend/host.h"
#include "http/head_scanner.h"
#include "http/read_head.h"
#include "net/byte_buffer.h"
#include "proxy/exchange.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

namespace ferry::frontend {

// A new client connection, admitted under the connection limits.
boost::asio::awaitable<void> serve_http1(host& h, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);
// A parked client that sent something: a new connection object carries on with it (over
// TLS again when `extra` holds a TLS session: frontend/https.h).
boost::asio::awaitable<void> resume(host& h, boost::asio::ip::tcp::socket socket,
                                    boost::asio::ip::tcp::endpoint peer, std::uint64_t id,
                                    std::unique_ptr<parked_session> extra);
// Any stream (TLS, a test's in-memory one): serves it until it closes. `resumed`: the
// connection was parked after earlier exchanges, and is counted already. `identity`: the
// user a verified client certificate names, or empty.
boost::asio::awaitable<void> serve_http1_stream(host& h, std::unique_ptr<net::stream> client,
                                                boost::asio::ip::tcp::endpoint peer,
                                                std::uint64_t id, bool resumed,
                                                std::string identity = {});

// The address a client connection came in on (TCP or TLS; unspecified for any other stream):
// Forwarded's by=.
boost::asio::ip::tcp::endpoint local_endpoint_of(net::stream& client);

// "192.0.2.1:4711", "[2001:db8::1]:4711": how logs name a client.
std::string peer_label(const boost::asio::ip::tcp::endpoint& peer);

class http1_connection final : public net::drainable {
public:
    http1_connection(host& h, std::unique_ptr<net::stream> client,
                     const boost::asio::ip::tcp::endpoint& peer, std::uint64_t id, bool resumed,
                     std::string identity = {});
    ~http1_connection() override;

    boost::asio::awaitable<void> run();

    void drain() override;
    void force_close() override;

private:
    // Waits for the next request head, parking the connection when it stays quiet; false
    // when the connection ends here (closed, idle, parked, or draining).
    boost::asio::awaitable<bool> next_head(bool& first, bool& fresh, http::head_read_result& r);
    boost::asio::awaitable<proxy::next> serve(const http::head_read_result& r);
    boost::asio::awaitable<void> close_gracefully();
    bool park(net::steady_time until);
    const config::settings& settings() const { return *settings_; }

    host& host_;
    std::shared_ptr<const config::settings> settings_;
    std::unique_ptr<net::stream> client_;
    boost::asio::ip::tcp::endpoint peer_;
    std::string client_label_;
    std::string identity_; // a verified client certificate's user, or empty
    std::uint64_t id_;
    bool resumed_;
    bool parked_ = false; // the client connection went to the parking lot, still open

    net::byte_buffer in_{16 * 1024};
    http::head_scanner request_scanner_;
    proxy::exchange_storage storage_;
    std::unique_ptr<upstream::connection> upstream_; // pinned across exchanges, or in use
    bool idle_ = false;                              // waiting for a request with nothing buffered
    bool draining_ = false;                          // finish the exchange in flight, then close
};

} // namespace ferry::frontend
