// The order in which an origin's addresses are tried (RFC 8305 §4): families alternate,
// IPv6 first, each family keeping the order DNS gave, so that a broken family costs one
// attempt and not all of them.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <vector>

namespace ferry::upstream {

std::vector<boost::asio::ip::address>
interleave_families(const std::vector<boost::asio::ip::address>& addresses);

} // namespace ferry::upstream
