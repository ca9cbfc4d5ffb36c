// A byte stream over a TCP socket.
#pragma once

#include "net/stream.h"

namespace ferry::net {

class tcp_stream final : public stream {
public:
    tcp_stream(boost::asio::ip::tcp::socket socket, const steady_time& clock,
               deadline_list* deadlines)
        : stream(clock, deadlines), socket_(std::move(socket)) {}
    tcp_stream(boost::asio::io_context& io, const steady_time& clock, deadline_list* deadlines)
        : stream(clock, deadlines), socket_(io) {}
    ~tcp_stream() override {
        if (socket_.is_open()) close();
    }

    boost::asio::awaitable<error_code> read_some(byte_buffer& into, std::size_t limit,
                                                 milliseconds timeout, std::size_t& got) override;
    boost::asio::awaitable<error_code> write(std::span<const boost::asio::const_buffer> data,
                                             milliseconds timeout) override;
    using stream::write;
    void shutdown_send() override;
    void close() override;
    // After a write timed out (write_timed_out), close() is an abort().
    // SO_LINGER 0: a FIN would wait behind the unsent bytes, and the kernel would hold
    // them (up to its socket buffer, megabytes) for a peer that keeps its window shut.
    void abort() override;
    bool is_open() const override { return socket_.is_open(); }
    boost::asio::ip::tcp::socket* tcp() override { return &socket_; }

    boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
    boost::asio::ip::tcp::socket socket_;
};

} // namespace ferry::net
