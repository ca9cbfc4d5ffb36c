// A connection race (Happy Eyeballs v2, RFC 8305 §5) over an origin's addresses, in the
// order given: each attempt on a socket of its own, started as upstream/attempt_plan says;
// the first to connect wins and becomes the stream's socket, the others are cancelled and
// closed before the race returns. The stream's write deadline, armed by the caller, bounds
// the whole, and a cancel of it ends the race.
#pragma once

#include "net/tcp_stream.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

namespace ferry::upstream {

struct race_timing {
    std::chrono::milliseconds delay{250};             // between two starts without a winner
    std::chrono::milliseconds attempt_timeout{2'000}; // one attempt, while others remain
};

// How a race (or a single attempt) ended: `last` is empty when one connected.
struct race_outcome {
    boost::system::error_code last; // the last attempt's failure
    bool timed_out = false;         // the stream's write deadline passed
};

boost::asio::awaitable<race_outcome>
race_addresses(net::tcp_stream& stream, const std::vector<boost::asio::ip::address>& addresses,
               std::uint16_t port, race_timing timing);

} // namespace ferry::upstream
