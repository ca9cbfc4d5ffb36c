// The PROXY protocol at accept (issue 17): on a listener that asks for it, a connection is
// believed only from a balancer in its proxy_protocol_from, and served only once the
// balancer's header (net/proxy_header) is read — exactly its bytes, nothing after them, so a
// TLS listener's handshake and a front end's first read start where the client's bytes do.
// The source address the header carries is the client's from then on: admission, access
// rules, logs, the status page.
#pragma once

#include "config/settings.h"
#include "net/deadline.h"
#include "observe/metrics.h"

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ferry::app {

using proxy_refusal = observe::proxy_protocol_refusal;

// Whether `peer` (the connection's own address) is one of the balancers `from` lists.
bool trusted_balancer(const boost::asio::ip::address& peer,
                      const std::vector<config::direct_rule>& from);

// Where a header wait stands; the worker's drain and force_close cancel it.
struct header_wait {
    net::deadline deadline;
    bool cancelled = false;
    void cancel() {
        cancelled = true;
        deadline.cancel();
    }
};

// What the header said: the client's endpoint (the connection's own for a health check or
// an address ferry cannot use), or why the connection is refused, with the parser's words.
struct header_refusal {
    proxy_refusal reason;
    std::string_view why;
};
using header_result = std::variant<boost::asio::ip::tcp::endpoint, header_refusal>;

// Reads the header from `socket`, whose peer is `balancer`: peeks what has arrived (never
// consuming past the header), waits for more on the loop (armed on `wait.deadline`, which the
// caller attached to its ticker and armed), then receives exactly the header's bytes.
boost::asio::awaitable<header_result> read_proxy_header(boost::asio::ip::tcp::socket& socket,
                                                        boost::asio::ip::tcp::endpoint balancer,
                                                        header_wait& wait);

// stderr lines for refused connections, shared by the workers: at most one a second per
// reason, the next one saying how many were left out. Thread-safe.
class refusal_log {
public:
    // The line to print now ("" when this one is left out).
    std::string line(proxy_refusal reason, const boost::asio::ip::tcp::endpoint& peer,
                     const boost::asio::ip::tcp::endpoint& listener, std::string_view why,
                     std::chrono::steady_clock::time_point now);

private:
    struct slot {
        std::chrono::steady_clock::time_point last{};
        std::uint64_t left_out = 0;
    };
    std::mutex mutex_;
    std::array<slot, observe::proxy_protocol_refusal_names.size()> slots_{};
};

} // namespace ferry::app
