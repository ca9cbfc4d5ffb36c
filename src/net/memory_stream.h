// An in-memory byte stream pair, for tests: what one end writes the other reads, on one
// io_context, with the same deadlines, errors and half-close as a TCP stream. Writes never
// block (the buffer is unbounded), so a test scripts a peer by writing all of it at once.
#pragma once

#include "net/stream.h"

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <utility>

namespace ferry::net {

class memory_stream final : public stream {
public:
    // Two connected ends.
    static std::pair<std::unique_ptr<memory_stream>, std::unique_ptr<memory_stream>>
    pair(boost::asio::io_context& io, const steady_time& clock, deadline_list* deadlines);

    ~memory_stream() override;

    boost::asio::awaitable<error_code> read_some(byte_buffer& into, std::size_t limit,
                                                 milliseconds timeout, std::size_t& got) override;
    boost::asio::awaitable<error_code> write(std::span<const boost::asio::const_buffer> data,
                                             milliseconds timeout) override;
    using stream::write;
    void shutdown_send() override;
    void close() override;
    void abort() override;
    bool is_open() const override { return open_; }

    // Everything written to this end so far and not read by the peer (for assertions).
    std::size_t pending_for_peer() const;
    // The peer aborted (reset) its end.
    bool peer_aborted() const;
    // The peer ended its sending side (shut down, closed or aborted).
    bool peer_ended() const;
    // For a test driving this end without a coroutine: what the peer sent and this end has
    // not read, taken out.
    std::string take_received();

private:
    struct channel; // one direction's bytes, the eof/reset flags and the reader's wake-up
    memory_stream(const steady_time& clock, deadline_list* deadlines, std::shared_ptr<channel> in,
                  std::shared_ptr<channel> out);

    std::shared_ptr<channel> in_;
    std::shared_ptr<channel> out_;
    bool open_ = true;
};

} // namespace ferry::net
