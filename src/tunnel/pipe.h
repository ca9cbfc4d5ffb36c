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

// How one direction ended.
struct pipe_end {
    net::error_code error;      // none when the source ended cleanly
    bool writing = false;       // the error came from the sink (else from the source)
    std::uint64_t received = 0; // bytes taken from the source (its buffer, or spliced in)
};

// Ends with no error when the source ended cleanly (the sink's sending side is then shut
// down), else with the error and the side it came from. The idle timeout counts from the
// last byte in either direction. With `splice`, bytes not already buffered move socket to
// socket through a kernel pipe (splice(2)) instead of through ferry's buffer. What reaches
// the sink is counted by the sink stream itself (net::stream::sent).
boost::asio::awaitable<void> pipe(net::inbound from, net::outbound to,
                                  std::chrono::milliseconds idle, pipe_state& state, bool splice,
                                  pipe_end& end);

} // namespace ferry::tunnel
