// The tunnel phase (RFC 9110 §9.3.6): connect, answer 200, then relay bytes
// both ways unchanged until both directions have ended. An accepted Upgrade (101, see
// forward.cpp) ends in the same relay.
#include "observe/counter.h"
#include "proxy/causes.h"
#include "proxy/exchange.h"
#include "tunnel/pipe.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

namespace ferry::proxy {

namespace asio = boost::asio;

asio::awaitable<void> exchange::tunnel_direction(bool toward_origin, tunnel::pipe_state& state,
                                                 tunnel::pipe_end& end) {
    const auto idle = settings().tunnel_idle_timeout;
    const bool splice = settings().splice;
    // if/else, not ?: — GCC 12 mishandles co_await inside a conditional expression.
    if (toward_origin)
        co_await tunnel::pipe(client_in(), upstream_out(), idle, state, splice, end);
    else
        co_await tunnel::pipe(upstream_in(), client_out(), idle, state, splice, end);
    if (end.error && !state.stop) {
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
    if (auto ec =
            co_await net::write_all(client_out(), asio::buffer(store_.out), cfg.send_timeout)) {
        rec_.cause = client_write_problem(ec, "200 response").cause;
        drop_upstream();
        co_return next::close;
    }
    co_return co_await relay_tunnel();
}

// Who ended a tunnel that did not end cleanly: the idle timeout, or the side whose read or
// write failed first (toward the origin, reads are the client's side and writes the
// origin's; toward the client, the other way round). A tunnel both sides closed has none.
std::string exchange::tunnel_cause(const tunnel::pipe_end& up, const tunnel::pipe_end& down) const {
    const auto aborted = asio::error::operation_aborted;
    if (up.error == asio::error::timed_out || down.error == asio::error::timed_out)
        return causes::tunnel_idle(settings().tunnel_idle_timeout);
    const tunnel::pipe_end* first = up.error && up.error != aborted ? &up : nullptr;
    if (!first && down.error && down.error != aborted) first = &down;
    if (!first) return {};
    const bool client_side = (first == &up) != first->writing;
    return fmt::format("ferry: tunnel closed: {} side: {}", client_side ? "client" : "origin",
                       first->error.message());
}

asio::awaitable<next> exchange::relay_tunnel() {
    using namespace asio::experimental::awaitable_operators;
    // Bytes the client sent after its request head are already in in_, bytes the origin sent
    // after its 101 head in the upstream buffer: each side's go first.
    tunnel::pipe_state state{ctx_.now(), false};
    auto& metrics = ctx_.metrics();
    observe::bump(metrics.tunnels);
    observe::bump(metrics.tunnels_total);
    tunnel::pipe_end up, down;
    const auto sent_before = client_.stream.sent;
    co_await (tunnel_direction(true, state, up) && tunnel_direction(false, state, down));
    observe::decrement(metrics.tunnels);
    // From the client: what ferry received of it (sent on or not); to the client: what its
    // socket accepted (the log phase counts it for the whole exchange).
    rec_.bytes_from_client += up.received;
    rec_.body_bytes = client_.stream.sent - sent_before;
    rec_.cause = tunnel_cause(up, down);
    drop_upstream();
    co_return next::close;
}

} // namespace ferry::proxy
