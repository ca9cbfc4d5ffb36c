// Resolves an origin's name and connects to it, all within the connect deadline. Every
// address is judged first (ferry itself: a loop; denied ones are left out); the rest race,
// families alternating (IPv6 first), the next one started after the Happy Eyeballs delay
// or at once when an attempt fails (happy_eyeballs.h); while others remain, an attempt gets
// at most the attempt timeout. Failures come back as errors naming the host.
#pragma once

#include "core/error.h"
#include "net/tcp_stream.h"
#include "upstream/resolver.h"

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::upstream {

struct connect_request {
    std::string_view host; // name, IPv4 or IPv6 literal (no brackets)
    std::uint16_t port = 0;
    std::chrono::milliseconds timeout{10'000}; // resolving and connecting, in all
    // True for an address that is ferry's own listener: connecting there would loop.
    std::function<bool(const boost::asio::ip::tcp::endpoint&)> is_self;
    std::chrono::milliseconds attempt_timeout{2'000};    // one address, while others remain
    std::chrono::milliseconds happy_eyeballs_delay{250}; // the next address, without a winner
    // When set: why the access rules refuse this address (empty: allowed). A name the rules
    // allowed may still resolve into a denied range. Called once per address, before any
    // connect; a denied address is never connected to.
    std::function<std::string(const boost::asio::ip::address&)> denied;
};

// The addresses a host gives without asking DNS: an IP literal's own, the loopback ones for
// "localhost" names (IPv6 first), none for "invalid" names (`ferry explain` shows the same).
enum class local_answer { answered, needs_query, invalid };
local_answer resolve_locally(std::string_view host,
                             std::vector<boost::asio::ip::address>& addresses);

// Connects `stream`; its write deadline bounds the whole (the resolution included), and a
// cancel of that deadline ends it.
boost::asio::awaitable<core::error> connect(net::tcp_stream& stream, resolver& names,
                                            const connect_request& request);

} // namespace ferry::upstream
