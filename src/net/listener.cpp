#include "net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace ferry::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

tcp::acceptor open_acceptor(asio::io_context& io, const tcp::endpoint& endpoint,
                            boost::system::error_code& ec) {
    tcp::acceptor acceptor(io);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    return acceptor;
}

tcp::endpoint claim_endpoint(const tcp::endpoint& endpoint, boost::system::error_code& ec) {
    asio::io_context io;
    tcp::acceptor probe(io);
    probe.open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) return endpoint;
    return probe.local_endpoint(ec);
}

bool has_unread_bytes(tcp::socket& socket) {
    int n = 0;
    return ::ioctl(socket.native_handle(), FIONREAD, &n) == 0 && n > 0;
}

namespace {

// The connections in the acceptor's queue, handed on without waiting (the owner, draining,
// decides what to do with one whose client has said nothing yet); then the acceptor is
// closed. Bounded by the largest backlog.
void accept_queued_then_close(tcp::acceptor& acceptor,
                              const std::function<void(tcp::socket)>& on_accept) {
    boost::system::error_code ec;
    acceptor.non_blocking(true, ec);
    for (int i = 0; !ec && i < asio::socket_base::max_listen_connections; ++i) {
        auto socket = acceptor.accept(ec);
        if (!ec) on_accept(std::move(socket));
        if (ec == asio::error::connection_aborted) ec = {}; // that client only
    }
    acceptor.close(ec);
}

} // namespace

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                  std::function<void(tcp::socket)> on_accept,
                                  std::function<bool()> stopping) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        if (stopping && stopping() && acceptor.is_open()) {
            accept_queued_then_close(acceptor, on_accept);
            co_return;
        }
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (!ec) {
            on_accept(std::move(socket));
            continue;
        }
        if (!acceptor.is_open()) co_return;
        if (ec == asio::error::operation_aborted) {
            if (stopping && stopping()) continue; // a drain: take the queue, above
            co_return;
        }
        if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
            ec == asio::error::no_memory || ec.value() == ENFILE) {
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        // Other errors (a connection aborted before accept) concern one client only.
    }
}

} // namespace ferry::net
