#include "tunnel/pipe.h"

#include "net/splice.h"

#include <boost/asio/buffer.hpp>

namespace ferry::tunnel {

namespace asio = boost::asio;

asio::awaitable<void> pipe(net::inbound from, net::outbound to, std::chrono::milliseconds idle,
                           pipe_state& state, bool splice, pipe_end& end) {
    splice = splice && net::can_splice(from.source) && net::can_splice(to.sink);
    net::splice_pipe kernel_pipe; // held only while bytes are in it
    kernel_pipe.copy_first();     // small messages copied, bulk spliced (net/splice.h)
    for (;;) {
        if (state.stop) {
            end.error = asio::error::operation_aborted;
            co_return;
        }
        if (from.buffer.empty()) {
            std::size_t got = 0;
            net::error_code ec;
            // if/else, not ?: — GCC 12 mishandles co_await inside a conditional expression.
            if (splice)
                ec = co_await net::splice_in(from, kernel_pipe, net::splice_chunk(), idle,
                                             &state.stop, got);
            else
                ec = co_await net::read_some(from, idle, got);
            end.received += got; // in the pipe or the buffer: received, sent on or not
            if (state.stop) {
                end.error = asio::error::operation_aborted;
                co_return;
            }
            if (ec == asio::error::timed_out && from.now() - state.last_activity < idle)
                continue; // this side is quiet, the other is not: the tunnel is alive
            if (ec == asio::error::eof) {
                to.sink.shutdown_send();
                co_return;
            }
            if (ec) {
                end.error = ec;
                co_return;
            }
            state.last_activity = from.now();
        } else {
            end.received += from.buffer.size(); // there before the tunnel: the head's leftover
        }
        net::error_code ec;
        if (kernel_pipe.held() > 0) {
            ec = co_await net::splice_out(to, kernel_pipe, false, idle, &state.stop);
        } else {
            auto data = from.buffer.data();
            ec = co_await net::write_all(to, asio::buffer(data), idle);
            from.buffer.consume(data.size());
        }
        if (ec) {
            end.error = ec;
            end.writing = true;
            co_return;
        }
        state.last_activity = to.now();
    }
}

} // namespace ferry::tunnel
