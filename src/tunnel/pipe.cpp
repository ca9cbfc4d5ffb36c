#include "tunnel/pipe.h"

#include "net/splice.h"

#include <boost/asio/buffer.hpp>

namespace ferry::tunnel {

namespace asio = boost::asio;

asio::awaitable<net::error_code> pipe(net::inbound from, net::outbound to,
                                      std::chrono::milliseconds idle, pipe_state& state,
                                      std::uint64_t& bytes, bool splice) {
    splice = splice && net::can_splice(from.source) && net::can_splice(to.sink);
    net::splice_pipe kernel_pipe; // held only while bytes are in it
    for (;;) {
        if (state.stop) co_return asio::error::operation_aborted;
        std::size_t got = 0;
        if (from.buffer.empty()) {
            net::error_code ec;
            // if/else, not ?: — GCC 12 mishandles co_await inside a conditional expression.
            if (splice)
                ec = co_await net::splice_in(from, kernel_pipe, net::splice_chunk(), idle,
                                             &state.stop, got);
            else
                ec = co_await net::read_some(from, idle, got);
            if (state.stop) co_return asio::error::operation_aborted;
            if (ec == asio::error::timed_out && from.now() - state.last_activity < idle)
                continue; // this side is quiet, the other is not: the tunnel is alive
            if (ec == asio::error::eof) {
                to.sink.shutdown_send();
                co_return net::error_code{};
            }
            if (ec) co_return ec;
            state.last_activity = from.now();
        }
        if (kernel_pipe.held() > 0) {
            auto ec = co_await net::splice_out(to, kernel_pipe, false, idle, &state.stop);
            if (ec) co_return ec;
            bytes += got;
        } else {
            auto data = from.buffer.data();
            auto ec = co_await net::write_all(to, asio::buffer(data), idle);
            if (ec) co_return ec;
            bytes += data.size();
            from.buffer.consume(data.size());
        }
        state.last_activity = to.now();
    }
}

} // namespace ferry::tunnel
