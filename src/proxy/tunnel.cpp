// The tunnel phase (RFC 9110 §9.3.6): connect, answer 200, then relay bytes
// both ways unchanged until both directions have ended. An accepted Upgrade (101, see
// forward.cpp) ends in the same relay.
#include "observe/counter.h"
#include "proxy/exchange.h"
#include "tunnel/pipe.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

namespace ferry::proxy {

namespace asio = boost::asio;

asio::awaitable<void> exchange::tunnel_direction(bool toward_origin, tunnel::pipe_state& state,
                                                 std::uint64_t& bytes, net::error_code& result) {
    const auto idle = settings().tunnel_idle_timeout;
    const bool splice = settings().splice;
    // if/else, not ?: — GCC 12 mishandles co_await inside a conditional expression.
    if (toward_origin)
        result = co_await tunnel::pipe(client_in(), upstream_out(), idle, state, bytes, splice);
    else
        result = co_await tunnel::pipe(upstream_in(), client_out(), idle, state, bytes, splice);
    if (result && !state.stop) {
        // A reset or a timeout ends the whole tunnel: stop the other direction too.
        state.stop = true;
        for (auto* d : {&client_.stream.reading, &client_.stream.writing, &up().stream->reading,
                        &up().stream->writing})
            d->cancel();
    }
}

asio::awaitable<next> exchange::tunnel(const http::target& dest) {
    const auto& cfg = settings();
    // A tunnel gets a connection of its own, never a pooled HTTP one.
    const auto where = upstream::route_for(cfg, dest.where.host, dest.where.port);
    bool reused = false;
    if (auto e = co_await open_upstream(where, upstream_choice::fresh, reused))
        co_return co_await fail(e, true);
    if (where.parent) {
        const upstream::tunnel_timeouts timeouts{cfg.send_timeout, cfg.response_timeout};
        if (auto e = co_await upstream::open_tunnel(up(), dest, cfg.parent->authorization,
                                                    store_.request_out, response_storage(),
                                                    cfg.max_header_size, timeouts)) {
            drop_upstream();
            co_return co_await fail(e, true);
        }
    }

    rec_.status = 200;
    rec_.status_line = "HTTP/1.1 200 Connection established";
    store_.out.clear();
    client_.protocol.tunnel_established(store_.out);
    if (auto ec = co_await net::write_all(client_out(), asio::buffer(store_.out), cfg.send_timeout))
        co_return next::close;
    rec_.bytes_to_client += store_.out.size();
    co_return co_await relay_tunnel();
}

asio::awaitable<next> exchange::relay_tunnel() {
    using namespace asio::experimental::awaitable_operators;
    // Bytes the client sent after its request head are already in in_, bytes the origin sent
    // after its 101 head in the upstream buffer: each side's go first.
    tunnel::pipe_state state{ctx_.now(), false};
    auto& metrics = ctx_.metrics();
    observe::bump(metrics.tunnels);
    observe::bump(metrics.tunnels_total);
    std::uint64_t up = 0, down = 0;
    net::error_code up_error, down_error;
    co_await (tunnel_direction(true, state, up, up_error) &&
              tunnel_direction(false, state, down, down_error));
    observe::decrement(metrics.tunnels);
    rec_.bytes_from_client += up;
    rec_.bytes_to_client += down;
    rec_.body_bytes = down;
    if (up_error == asio::error::timed_out || down_error == asio::error::timed_out)
        rec_.cause = "ferry: tunnel idle timeout";
    else if (up_error && up_error != asio::error::operation_aborted)
        rec_.cause = fmt::format("ferry: tunnel closed: client side: {}", up_error.message());
    else if (down_error && down_error != asio::error::operation_aborted)
        rec_.cause = fmt::format("ferry: tunnel closed: origin side: {}", down_error.message());
    drop_upstream();
    co_return next::close;
}

} // namespace ferry::proxy
