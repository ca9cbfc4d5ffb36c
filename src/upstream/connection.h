// A connection to an origin (or to the parent proxy), with its receive buffer.
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
    std::string key;        // what it is pooled under: "host:port", or the parent's
    std::string label;      // "host:port" for logs
    std::string address;    // the peer's IP address, for logs
    unsigned exchanges = 0; // completed on this connection
    // Connection-bound authentication (NTLM, Negotiate) was seen on it: it belongs to one
    // client from then on and never joins the pool.
    bool pinned = false;

    // An idle connection is reusable only if the origin has neither closed it nor sent
    // anything unasked: a zero-length or non-empty peek means it is not.
    bool still_usable();
};

} // namespace ferry::upstream
