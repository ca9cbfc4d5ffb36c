// One direction of a byte tunnel (CONNECT): copy until the source ends its stream, then
// end ours toward the sink (half-close) and let the other direction go on.
#pragma once

#include "net/io.h"

#include <chrono>
#include <cstdint>

namespace ferry::tunnel {

struct pipe_state {
    net::steady_time last_activity; // shared by both directions: idle means neither moves
    bool stop = false;              // set when the other direction failed
};

// Returns no error when the source ended cleanly (the sink's sending side is then shut
// down), else the error. The idle timeout counts from the last byte in either direction.
// With `splice`, bytes not already buffered move socket to socket through a kernel pipe
// (splice(2)) instead of through ferry's buffer.
boost::asio::awaitable<net::error_code> pipe(net::inbound from, net::outbound to,
                                             std::chrono::milliseconds idle, pipe_state& state,
                                             std::uint64_t& bytes, bool splice);

} // namespace ferry::tunnel
