// The tunnel phase (RFC 9110 §9.3.6): connect, answer 200, then relay bytes
// both ways unchanged until both directions have ended. An accepted Upgrade (101, see
// forward.cpp) ends in the same relay.
#include "http/head_parser.h"
#include "http/read_head.h"
#include "http/rewrite.h"
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

asio::awaitable<error> exchange::connect_through_parent(const http::target& dest) {
    const auto& cfg = settings();
    store_.request_out.clear();
    http::write_parent_connect(dest, cfg.parent->authorization, store_.request_out);
    if (auto ec = co_await net::write_all(upstream_out(), asio::buffer(store_.request_out),
                                          cfg.send_timeout))
        co_return error{errc::upstream_closed, fmt::format("ferry: cannot send CONNECT to {} ({})",
                                                           up().label, ec.message())};
    auto r = co_await http::read_head(upstream_in(), store_.response_scanner,
                                      {cfg.response_timeout, cfg.response_timeout});
    using http::head_read_status;
    switch (r.status) {
    case head_read_status::complete:
        break;
    case head_read_status::idle_timeout:
    case head_read_status::timeout:
        co_return error{errc::response_timeout,
                        fmt::format("ferry: no answer to CONNECT from {}", up().label)};
    case head_read_status::malformed:
        co_return error{errc::bad_response,
                        fmt::format("ferry: malformed answer to CONNECT from {}", up().label)};
    default:
        co_return error{errc::upstream_closed,
                        fmt::format("ferry: {} closed the connection instead of answering CONNECT",
                                    up().label)};
    }
    const auto begin = store_.response_scanner.head_begin();
    store_.response_store.assign(up().buffer.data().substr(begin, r.scan.head_end - begin));
    up().buffer.consume(r.scan.head_end); // what follows is the tunnel's
    if (auto e = http::parse_response_head(store_.response_store, resp_);
        e != http::parse_error::none)
        co_return error{errc::bad_response,
                        fmt::format("ferry: invalid answer to CONNECT from {}: {}", up().label,
                                    http::describe(e))};
    if (resp_.status < 200 || resp_.status > 299)
        co_return error{errc::bad_response,
                        fmt::format("ferry: {} refused CONNECT to {}: {}", up().label,
                                    dest.where.text, resp_.status_line)};
    co_return error{};
}

asio::awaitable<next> exchange::tunnel(const http::target& dest) {
    const auto& cfg = settings();
    // A tunnel gets a connection of its own, never a pooled HTTP one.
    const auto where = upstream::route_for(cfg, dest.where.host, dest.where.port);
    bool reused = false;
    if (auto e = co_await open_upstream(where, upstream_choice::fresh, reused))
        co_return co_await fail(e, true);
    if (where.parent) {
        if (auto e = co_await connect_through_parent(dest)) {
            drop_upstream();
            co_return co_await fail(e, true);
        }
    }

    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    rec_.status = 200;
    rec_.status_line = "HTTP/1.1 200 Connection established";
    if (auto ec =
            co_await net::write_all(client_out(), asio::buffer(established), cfg.send_timeout))
        co_return next::close;
    rec_.bytes_to_client += established.size();
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
