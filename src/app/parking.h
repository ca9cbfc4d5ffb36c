// Idle keep-alive clients without a session. A session whose client has gone quiet hands
// its socket here and ends, so its coroutine frames, receive buffer and header storage go
// back. The socket leaves the event loop for an epoll set of the lot's own, and what stays
// in user memory is an 80-byte record (descriptor, client address, id, deadline) and, for a
// TLS connection, its OpenSSL session state (record buffers released). When the
// client sends its next request (or closes), the record is handed back (on_ready) and a new
// session takes the connection up again. nginx keeps idle connections about this small.
#pragma once

#include "frontend/host.h"
#include "net/deadline.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ferry::app {

struct parked_client {
    int fd = -1;
    boost::asio::ip::tcp::endpoint peer;
    std::uint64_t id = 0;
    net::steady_time until; // closed when nothing arrived by then (the idle timeout)
    frontend::parked_session* extra = nullptr; // owned: a TLS session's state, or null
    parked_client* prev = nullptr;
    parked_client* next = nullptr; // in the lot's age order, or in its free list
};

// One per worker; not thread-safe.
class parking_lot {
public:
    // on_ready: the client sent something (or closed): its descriptor is the caller's now.
    // on_closed: the lot closed it (deadline passed, or close_all).
    using ready_fn = std::function<void(int fd, const parked_client&,
                                        std::unique_ptr<frontend::parked_session> extra)>;
    using closed_fn = std::function<void(const parked_client&)>;

    parking_lot(boost::asio::io_context& io, ready_fn on_ready, closed_fn on_closed);
    ~parking_lot();
    parking_lot(const parking_lot&) = delete;
    parking_lot& operator=(const parking_lot&) = delete;

    // Takes the socket out of the event loop into the lot. On failure (no epoll set, out of
    // memory) the socket is left as it was and false comes back.
    // `extra` is taken with it (when the socket is).
    bool park(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp::endpoint& peer,
              std::uint64_t id, net::steady_time until,
              std::unique_ptr<frontend::parked_session>& extra);
    std::size_t size() const { return count_; }

    // Closes those whose deadline has passed.
    void close_expired(net::steady_time now);
    // Closes every one, and parks nothing more.
    void close_all();

private:
    void watch();
    void take_ready();
    parked_client* allocate();
    void release(parked_client* p);
    void link(parked_client* p);
    void unlink(parked_client* p);
    void close(parked_client* p);

    boost::asio::posix::stream_descriptor epoll_; // the lot's epoll set, readable when one is
    ready_fn on_ready_;
    closed_fn on_closed_;
    std::vector<std::unique_ptr<parked_client[]>> slabs_;
    parked_client* free_ = nullptr;
    parked_client* oldest_ = nullptr;
    parked_client* newest_ = nullptr;
    std::size_t count_ = 0;
    bool watching_ = false;
    bool closed_ = false;
};

} // namespace ferry::app
