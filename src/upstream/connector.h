// Resolves an origin's name and connects to it, trying each address in turn, all within
// the connect deadline. Failures come back as errors naming the host.
#pragma once

#include "net/io.h"
#include "proxy/error.h"

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string_view>

namespace ferry::upstream {

struct connect_request {
    std::string_view host; // name, IPv4 or IPv6 literal (no brackets)
    std::uint16_t port;
    std::chrono::milliseconds timeout;
    // True for an address that is ferry's own listener: connecting there would loop.
    std::function<bool(const boost::asio::ip::tcp::endpoint&)> is_self;
};

// `resolver` and `timer` belong to the caller, which cancels them when the deadline passes.
boost::asio::awaitable<proxy::error> connect(boost::asio::ip::tcp::socket& socket,
                                             boost::asio::ip::tcp::resolver& resolver,
                                             net::deadline& timer, const net::steady_time& now,
                                             const connect_request& request);

} // namespace ferry::upstream
