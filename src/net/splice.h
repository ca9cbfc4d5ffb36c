// Zero-copy relaying between two TCP sockets: splice(2) moves bytes socket → pipe → socket
// inside the kernel, so a relayed body or tunnel never passes through ferry's memory.
//
// A pipe is held only while bytes are in it: taken from a per-thread cache when a transfer
// starts, given back as soon as it is empty again (so idle tunnels hold no pipe). A pipe that
// still holds bytes when its holder gives up is closed, never cached.
#pragma once

#include "net/io.h"

#include <chrono>
#include <cstddef>

namespace ferry::net {

// One pipe lent from the calling thread's cache. Not shared between threads (every worker is
// one thread), not copyable.
class splice_pipe {
public:
    splice_pipe() = default;
    splice_pipe(const splice_pipe&) = delete;
    splice_pipe& operator=(const splice_pipe&) = delete;
    ~splice_pipe() { release(); }

    std::size_t held() const { return held_; } // bytes in the pipe, not yet written out

    // Takes a pipe if none is held; false when the system has no pipe to give.
    bool acquire();
    // Gives the pipe back to the cache when empty, else closes it.
    void release();

    int read_end() const { return read_; }
    int write_end() const { return write_; }
    void added(std::size_t n) { held_ += n; }
    void removed(std::size_t n) { held_ -= n; }

private:
    int read_ = -1;
    int write_ = -1;
    std::size_t held_ = 0;
};

// Moves up to `max` bytes from the socket into the pipe (which must be empty), waiting for
// readability under from.source.reading when nothing is there. `got` is what was moved; eof comes
// back as boost::asio::error::eof, a passed deadline as timed_out, `*stop` turned true as
// operation_aborted. The pipe is given back while waiting. from.buffer is not used (the
// caller empties it first).
boost::asio::awaitable<error_code> splice_in(inbound from, splice_pipe& pipe, std::size_t max,
                                             std::chrono::milliseconds timeout, const bool* stop,
                                             std::size_t& got);

// Writes everything the pipe holds to the socket, waiting for writability under to.sink.writing
// when the socket is full. `more` tells the kernel more bytes follow (MSG_MORE). The pipe
// is given back once empty. Every byte that leaves the pipe into the socket is added to
// to.sink.sent as it goes, so a splice_out that fails half-way has counted what went out;
// bytes still in the pipe were never sent and are not counted.
boost::asio::awaitable<error_code> splice_out(outbound to, splice_pipe& pipe, bool more,
                                              std::chrono::milliseconds timeout, const bool* stop);

// Makes the socket non-blocking at the descriptor level, which splice needs.
error_code prepare_for_splice(boost::asio::ip::tcp::socket& socket);
// True when `s` is a plain TCP stream, made ready for splice: only then do splice_in and
// splice_out apply to it.
bool can_splice(stream& s);

// Bytes moved per splice_in at most: the pipe's capacity.
std::size_t splice_chunk();

} // namespace ferry::net
