#include "net/memory_stream.h"

#include <algorithm>
#include <cstring>

namespace ferry::net {

namespace asio = boost::asio;

struct memory_stream::channel {
    explicit channel(asio::io_context& io) : wake(io) { wake.expires_at(steady_time::max()); }
    std::string bytes;
    bool ended = false;      // the writer shut down its sending side, or closed
    bool reset = false;      // the writer aborted
    bool closed = false;     // the reader closed: writes fail
    asio::steady_timer wake; // the reader waits on it; a write or an end cancels the wait
    void notify() { wake.cancel(); }
};

std::pair<std::unique_ptr<memory_stream>, std::unique_ptr<memory_stream>>
memory_stream::pair(asio::io_context& io, const steady_time& clock, deadline_list* deadlines) {
    auto a_to_b = std::make_shared<channel>(io);
    auto b_to_a = std::make_shared<channel>(io);
    std::unique_ptr<memory_stream> a(new memory_stream(clock, deadlines, b_to_a, a_to_b));
    std::unique_ptr<memory_stream> b(new memory_stream(clock, deadlines, a_to_b, b_to_a));
    return {std::move(a), std::move(b)};
}

memory_stream::memory_stream(const steady_time& clock, deadline_list* deadlines,
                             std::shared_ptr<channel> in, std::shared_ptr<channel> out)
    : stream(clock, deadlines), in_(std::move(in)), out_(std::move(out)) {}

memory_stream::~memory_stream() {
    close();
}

asio::awaitable<error_code> memory_stream::read_some(byte_buffer& into, std::size_t limit,
                                                     milliseconds timeout, std::size_t& got) {
    got = 0;
    reading.arm(now(), timeout);
    error_code ec;
    for (;;) {
        if (!open_) {
            ec = asio::error::operation_aborted;
            break;
        }
        if (!in_->bytes.empty()) {
            auto [ptr, room] = into.prepare(4096, limit);
            got = std::min(room, in_->bytes.size());
            std::memcpy(ptr, in_->bytes.data(), got);
            into.commit(got);
            in_->bytes.erase(0, got);
            break;
        }
        if (in_->reset) {
            ec = asio::error::connection_reset;
            break;
        }
        if (in_->ended) {
            ec = asio::error::eof;
            break;
        }
        auto [wec] = co_await in_->wake.async_wait(reading.bind());
        if (reading.expired) {
            ec = asio::error::timed_out;
            break;
        }
        // A wake-up by the writer cancels the timer without touching the deadline's signal;
        // a cancellation through the deadline (someone gave up on this read) ends the read.
        if (wec == asio::error::operation_aborted && in_->bytes.empty() && !in_->ended &&
            !in_->reset && open_) {
            ec = asio::error::operation_aborted;
            break;
        }
    }
    reading.disarm();
    co_return ec;
}

asio::awaitable<error_code> memory_stream::write(std::span<const asio::const_buffer> data,
                                                 milliseconds) {
    if (!open_ || out_->ended) co_return asio::error::broken_pipe;
    if (out_->closed) co_return asio::error::connection_reset;
    for (const auto& b : data) {
        out_->bytes.append(static_cast<const char*>(b.data()), b.size());
        sent += b.size();
    }
    out_->notify();
    co_return error_code{};
}

void memory_stream::shutdown_send() {
    if (out_->ended) return;
    out_->ended = true;
    out_->notify();
}

void memory_stream::close() {
    if (!open_) return;
    open_ = false;
    out_->ended = true;
    out_->notify();
    in_->closed = true;
    in_->notify(); // our own reader, if one waits
}

void memory_stream::abort() {
    if (!open_) return;
    out_->reset = true;
    close();
}

std::size_t memory_stream::pending_for_peer() const {
    return out_->bytes.size();
}

} // namespace ferry::net

namespace ferry::net {
bool memory_stream::peer_aborted() const {
    return in_->reset;
}
bool memory_stream::peer_ended() const {
    return in_->ended || in_->reset;
}
std::string memory_stream::take_received() {
    return std::exchange(in_->bytes, std::string());
}
} // namespace ferry::net
