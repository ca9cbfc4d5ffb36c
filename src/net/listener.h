// Listening sockets and the accept loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

namespace ferry::net {

// Binds a listening socket with SO_REUSEADDR and SO_REUSEPORT, so that each worker has its
// own acceptor on the same address and the kernel spreads connections among them.
boost::asio::ip::tcp::acceptor open_acceptor(boost::asio::io_context& io,
                                             const boost::asio::ip::tcp::endpoint& endpoint,
                                             boost::system::error_code& ec);

// Checks that no other process serves `endpoint` (SO_REUSEPORT would otherwise let a second
// ferry share the port silently) and returns the endpoint with its port chosen when 0.
boost::asio::ip::tcp::endpoint claim_endpoint(const boost::asio::ip::tcp::endpoint& endpoint,
                                              boost::system::error_code& ec);

// Whether the peer's first bytes have arrived (FIONREAD).
bool has_unread_bytes(boost::asio::ip::tcp::socket& socket);

// Accepts until the acceptor is closed. Out of file descriptors or memory, it backs off
// briefly and tries again instead of spinning or giving up. Once `stopping` says so (a
// drain: the owner then cancels the acceptor to wake the loop), it hands on the connections
// the kernel has already completed, then closes the acceptor: a close alone would reset them
// after their client's connect succeeded, which no client or balancer retries. The owner
// closes one whose client has said nothing (has_unread_bytes), as a drain closes an idle
// keep-alive connection, or gives it a moment when its client always speaks first.
boost::asio::awaitable<void>
accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
            std::function<void(boost::asio::ip::tcp::socket)> on_accept,
            std::function<bool()> stopping = {});

} // namespace ferry::net
