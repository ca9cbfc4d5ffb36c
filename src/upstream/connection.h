// An upstream connection kept for the next request to the same origin.
#pragma once

#include "net/byte_buffer.h"

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace ferry::upstream {

struct connection {
    explicit connection(boost::asio::io_context& io) : socket(io) {}

    boost::asio::ip::tcp::socket socket;
    net::byte_buffer buffer{32 * 1024};
    std::string host; // as in the request-target, lower-cased
    std::uint16_t port = 0;
    std::string label;      // "host:port" for logs
    unsigned exchanges = 0; // completed on this connection

    bool serves(std::string_view h, std::uint16_t p) const { return port == p && host == h; }

    // An idle connection is reusable only if the origin has neither closed it nor sent
    // anything unasked: a zero-length or non-empty peek means it is not.
    bool still_usable();
};

} // namespace ferry::upstream
