// Zero-copy relaying between two TCP sockets: splice(2) moves bytes socket → pipe → socket
// inside the kernel, so a relayed body or tunnel never passes through ferry's memory.
//
// A pipe is held only while bytes are in it: taken from a per-thread cache when a transfer
// starts, given back as soon as it is empty again (so idle tunnels hold no pipe). A pipe that
// still holds bytes when its holder gives up is closed, never cached. Each thread (worker)
// holds at most splice_pipe_limit pipes, lent and cached together, so that the descriptors
// they take are bounded (the automatic connection limit counts them); a transfer that finds
// none left, or that the system refuses a pipe, moves its bytes through a small buffer of its
// own instead (read and write: a copy, but the same steps, counts and waits).
#pragma once

#include "net/io.h"

#include <chrono>
#include <cstddef>
#include <memory>

namespace ferry::net {

// Pipes one thread holds at most, lent and cached together (two descriptors each).
constexpr std::size_t splice_pipe_limit = 64;

// One pipe lent from the calling thread's cache, or, when none can be had, a buffer that
// stands in for it. Not shared between threads (every worker is one thread), not copyable.
class splice_pipe {
public:
    splice_pipe() = default;
    splice_pipe(const splice_pipe&) = delete;
    splice_pipe& operator=(const splice_pipe&) = delete;
    ~splice_pipe() { release(); }

    std::size_t held() const { return held_; } // bytes in the pipe, not yet written out

    // Takes a pipe if none is held; false when the thread has splice_pipe_limit already, or
    // the system has no pipe to give: the caller then uses the stand-in buffer.
    bool acquire();
    // Gives the pipe back to the cache when empty, else closes it; frees the stand-in buffer.
    void release();

    int read_end() const { return read_; }
    int write_end() const { return write_; }
    void added(std::size_t n) { held_ += n; }
    void removed(std::size_t n) {
        held_ -= n;
        start_ += n;
    }

    // The stand-in: when no pipe can be had, bytes read from the socket wait here instead.
    static constexpr std::size_t buffer_capacity = 64 * 1024;
    bool buffered() const { return buffer_ != nullptr; }
    // The stand-in, at least `size` bytes, allocated if need be; only while held() == 0.
    char* buffer_space(std::size_t size = buffer_capacity);
    const char* buffered_bytes() const { return buffer_.get() + start_; }

    // Copy first: splice_in reads into a small stand-in (read and write, no pipe) until one
    // read fills it, then splices from there on. Small exchanges (a request and its answer,
    // an interactive session) cost two system calls per message instead of a pipe's four
    // steps; bulk transfers splice after their first copy_capacity bytes.
    static constexpr std::size_t copy_capacity = 16 * 1024;
    void copy_first() { copying_ = true; }
    bool copying() const { return copying_; }
    void stop_copying() { copying_ = false; }

private:
    int read_ = -1;
    int write_ = -1;
    std::size_t held_ = 0;
    std::unique_ptr<char[]> buffer_;
    std::size_t buffer_size_ = 0;
    std::size_t start_ = 0; // where the held bytes begin in buffer_
    bool copying_ = false;
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
