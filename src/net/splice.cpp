#include "net/splice.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ferry::net {

namespace asio = boost::asio;

namespace {

// Larger pipes mean fewer splice calls per byte (see docs/architecture.md for the figures).
constexpr int pipe_size = 1 << 20;
constexpr std::size_t cache_limit = 32;

// The calling thread's empty pipes, and how many it has lent. Every worker is one thread:
// nothing is shared. (A pipe given back on another thread, as coroutine frames are destroyed
// at exit, goes to that thread's cache; `lent` there does not go below zero.)
struct pipe_cache {
    std::vector<std::pair<int, int>> free;
    std::size_t lent = 0;
    ~pipe_cache() {
        for (auto [r, w] : free) {
            ::close(r);
            ::close(w);
        }
    }
};

pipe_cache& cache() {
    thread_local pipe_cache c;
    return c;
}

error_code last_error() {
    return error_code(errno, asio::error::get_system_category());
}

// Each wait checks the deadline and the stop flag first: a cancellation that came while no
// wait was bound (between the wake-up and the next system call) would otherwise be lost.
asio::awaitable<error_code> wait(asio::ip::tcp::socket& socket,
                                 asio::ip::tcp::socket::wait_type what, deadline& timer,
                                 const bool* stop) {
    if (timer.expired) co_return asio::error::timed_out;
    if (stop && *stop) co_return asio::error::operation_aborted;
    auto [ec] = co_await socket.async_wait(what, timer.bind());
    if (ec && timer.expired) ec = asio::error::timed_out;
    co_return ec;
}

} // namespace

bool splice_pipe::acquire() {
    if (read_ >= 0) return true;
    if (buffer_) {
        if (held_ > 0) return false; // bytes wait in the stand-in: it stays until empty
        buffer_.reset();
        buffer_size_ = 0;
    }
    auto& c = cache();
    if (!c.free.empty()) {
        std::tie(read_, write_) = c.free.back();
        c.free.pop_back();
        ++c.lent;
        return true;
    }
    if (c.lent + c.free.size() >= splice_pipe_limit) return false;
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    // May be refused (fs.pipe-max-size, the per-user pipe budget): the default still works.
    ::fcntl(fds[0], F_SETPIPE_SZ, pipe_size);
    read_ = fds[0];
    write_ = fds[1];
    ++c.lent;
    return true;
}

void splice_pipe::release() {
    buffer_.reset();
    buffer_size_ = 0;
    start_ = 0;
    if (read_ >= 0) {
        auto& c = cache();
        if (c.lent > 0) --c.lent;
        if (held_ == 0 && c.free.size() < cache_limit) {
            c.free.emplace_back(read_, write_);
        } else {
            ::close(read_);
            ::close(write_);
        }
        read_ = write_ = -1;
    }
    held_ = 0;
}

char* splice_pipe::buffer_space(std::size_t size) {
    if (!buffer_ || buffer_size_ < size) {
        buffer_ = std::make_unique_for_overwrite<char[]>(size);
        buffer_size_ = size;
    }
    start_ = 0;
    return buffer_.get();
}

bool can_splice(stream& s) {
    auto* socket = s.tcp();
    if (!socket) return false;
    error_code ec;
    if (!socket->native_non_blocking()) socket->native_non_blocking(true, ec);
    return !ec;
}

error_code prepare_for_splice(asio::ip::tcp::socket& socket) {
    error_code ec;
    if (!socket.native_non_blocking()) socket.native_non_blocking(true, ec);
    return ec;
}

std::size_t splice_chunk() {
    return pipe_size;
}

asio::awaitable<error_code> splice_in(inbound from, splice_pipe& pipe, std::size_t max,
                                      std::chrono::milliseconds timeout, const bool* stop,
                                      std::size_t& got) {
    got = 0;
    auto& socket = *from.source.tcp();
    auto& timer = from.source.reading;
    timer.arm(from.now(), timeout);
    error_code ec;
    for (;;) {
        const bool copy = pipe.copying();
        const std::size_t room =
            std::min(max, copy ? splice_pipe::copy_capacity : splice_pipe::buffer_capacity);
        auto n = !copy && pipe.acquire()
                     ? ::splice(socket.native_handle(), nullptr, pipe.write_end(), nullptr, max,
                                SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                     : ::recv(socket.native_handle(), pipe.buffer_space(room), room, MSG_DONTWAIT);
        if (n > 0) {
            got = std::size_t(n);
            pipe.added(got);
            if (copy && got == room) pipe.stop_copying(); // a bulk transfer: splice from now
            break;
        }
        if (n == 0) {
            ec = asio::error::eof;
            break;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) {
            ec = last_error();
            break;
        }
        pipe.release(); // empty: an idle connection holds no pipe
        if ((ec = co_await wait(socket, asio::ip::tcp::socket::wait_read, timer, stop))) break;
    }
    timer.disarm();
    co_return ec;
}

asio::awaitable<error_code> splice_out(outbound to, splice_pipe& pipe, bool more,
                                       std::chrono::milliseconds timeout, const bool* stop) {
    auto& socket = *to.sink.tcp();
    auto& timer = to.sink.writing;
    timer.arm(to.now(), timeout);
    error_code ec;
    const unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0u);
    while (pipe.held() > 0) {
        auto n = pipe.buffered()
                     ? ::send(socket.native_handle(), pipe.buffered_bytes(), pipe.held(),
                              MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0))
                     : ::splice(pipe.read_end(), nullptr, socket.native_handle(), nullptr,
                                pipe.held(), flags);
        if (n > 0) {
            pipe.removed(std::size_t(n));
            to.sink.sent += std::uint64_t(n); // left the pipe into the socket: sent
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || errno != EAGAIN) {
            ec = n == 0 ? error_code(asio::error::broken_pipe) : last_error();
            break;
        }
        if ((ec = co_await wait(socket, asio::ip::tcp::socket::wait_write, timer, stop))) break;
    }
    timer.disarm();
    if (ec == asio::error::timed_out) to.sink.write_timed_out = true;
    if (pipe.held() == 0) pipe.release();
    co_return ec;
}

} // namespace ferry::net
