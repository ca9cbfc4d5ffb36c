// Which front end serves a listener: chosen by the listener's scheme in the configuration
// (`--listen http://127.0.0.1:9001`, `listen = ["http://..."]`), never by a hard-coded
// call. A new client protocol is a new front end file and one row here.
#pragma once

#include "frontend/host.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <span>
#include <string_view>

namespace ferry::frontend {

// Serves one accepted client connection until it ends.
using serve_fn = boost::asio::awaitable<void> (*)(host&, boost::asio::ip::tcp::socket,
                                                  boost::asio::ip::tcp::endpoint);

struct front_end {
    std::string_view scheme; // as written in a listen address: "http"
    std::string_view what;   // for messages: "HTTP/1.1 forward proxy"
    serve_fn serve;
};

// Every front end ferry has.
std::span<const front_end> front_ends();
// The front end for `scheme`, or null when there is none.
const front_end* front_end_for(std::string_view scheme);

} // namespace ferry::frontend
