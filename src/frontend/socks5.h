// The SOCKS5 front end (RFC 1928, RFC 1929): one client connection, start to end. It reads
// the greeting, chooses a method, checks a user and password against the htpasswd users,
// reads the request, and runs it as a CONNECT exchange (proxy/exchange.h) whose answers
// are SOCKS5 replies (frontend/socks5_answers.h): access rules, ports (--socks-ports),
// resolving, parents, the tunnel, its logs and metrics are a CONNECT's.
#pragma once

#include "frontend/host.h"
#include "frontend/socks5_answers.h"
#include "frontend/socks5_messages.h"
#include "net/byte_buffer.h"
#include "observe/socks5_metrics.h"
#include "proxy/exchange.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

namespace ferry::frontend {

// A new client connection on a socks5:// listener, admitted under the connection limits.
boost::asio::awaitable<void> serve_socks5(host& h, boost::asio::ip::tcp::socket socket,
                                          boost::asio::ip::tcp::endpoint peer);
// Any stream (an http:// listener's connection that began with 0x05, a test's in-memory
// one): serves it until it closes.
boost::asio::awaitable<void> serve_socks5_stream(host& h, std::unique_ptr<net::stream> client,
                                                 boost::asio::ip::tcp::endpoint peer,
                                                 std::uint64_t id);

class socks5_connection final : public net::drainable {
public:
    socks5_connection(host& h, std::unique_ptr<net::stream> client,
                      const boost::asio::ip::tcp::endpoint& peer, std::uint64_t id);
    ~socks5_connection() override;

    boost::asio::awaitable<void> run();

    void drain() override;
    void force_close() override;

private:
    // Reads one message: true when `out` is done or failed; false when the client closed,
    // stalled past the header timeout, or ferry is draining (counted).
    template <class T>
    boost::asio::awaitable<bool> read_message(socks5::parsed<T> (*parse)(std::string_view),
                                              socks5::parsed<T>& out);
    // Greeting, method, and the RFC 1929 exchange when chosen: false when the connection ends.
    boost::asio::awaitable<bool> negotiate();
    boost::asio::awaitable<bool> authenticate();
    // The request as a CONNECT exchange.
    boost::asio::awaitable<void> serve(const socks5::request& r);
    // Writes `out_`; false when the client did not take it.
    boost::asio::awaitable<bool> send();
    boost::asio::awaitable<void> close_gracefully();
    void failed(observe::socks5_failure why);
    void sent(socks5::reply r);
    const config::settings& settings() const { return *settings_; }

    host& host_;
    std::shared_ptr<const config::settings> settings_;
    std::unique_ptr<net::stream> client_;
    boost::asio::ip::tcp::endpoint peer_;
    std::string client_label_;
    std::uint64_t id_;
    net::byte_buffer in_{512};
    std::string out_;
    std::string user_;                // the RFC 1929 user, once verified
    std::size_t handshake_bytes_ = 0; // received before the request's exchange
    std::size_t handshake_sent_ = 0;  // sent before it (method choice, RFC 1929 status)
    bool handshaking_ = true;         // no exchange yet
    bool draining_ = false;
    bool tunnel_ended_ = false; // a tunnel both sides ended cleanly: close without draining
    socks5::answers answers_;
    std::unique_ptr<upstream::connection> upstream_;
    std::unique_ptr<proxy::exchange_storage> storage_; // made for the request
};

} // namespace ferry::frontend
