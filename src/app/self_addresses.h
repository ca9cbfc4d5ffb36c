// Who ferry is, for loop detection (issue 18): the addresses that reach its own listeners,
// and the token that marks the requests it sent to a parent proxy.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

namespace ferry::app {

// Every bound listener, and for a wildcard listener (0.0.0.0, ::) each of the host's
// interface addresses of its family (getifaddrs) with its port: `http://<a local address>:
// <port>/` reaches ferry itself. Taken at start and on every reload.
std::vector<boost::asio::ip::tcp::endpoint>
self_endpoints(const std::vector<boost::asio::ip::tcp::endpoint>& bound);

// A random 64-bit token as 16 hex digits: this instance's mark in X-Ferry-Loop.
std::string make_loop_token();

} // namespace ferry::app
