// Deadlines without a timer per wait. A connection sets a time point before each wait;
// its worker's ticker compares all of them a few times a second and calls expire() on the
// late ones, which cancels the operation waiting under that deadline — only that one: a
// request body can still be written while the response is read on the same socket.
// Setting a deadline is a store, not a syscall.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace ferry::net {

using steady_time = std::chrono::steady_clock::time_point;

struct deadline {
    steady_time at = steady_time::max();
    bool expired = false;
    // Bound to the operation waiting under this deadline; emitted when it passes.
    boost::asio::cancellation_signal signal;

    // A completion token for co_await that gives (error_code, ...) as a tuple, and whose
    // operation is cancelled when this deadline passes.
    auto bind() {
        return boost::asio::as_tuple(
            boost::asio::bind_cancellation_slot(signal.slot(), boost::asio::use_awaitable));
    }
    void cancel() { signal.emit(boost::asio::cancellation_type::terminal); }

    void arm(steady_time when) {
        at = when;
        expired = false;
    }
    void disarm() { at = steady_time::max(); }
};

// Intrusive registration in a worker's list of watched connections.
class watched {
public:
    watched() = default;
    watched(const watched&) = delete;
    watched& operator=(const watched&) = delete;
    virtual ~watched() = default;

    // Called by the ticker for each deadline that has passed; `which` is the deadline.
    virtual void expire(deadline& which) = 0;
    // Called when the worker starts draining (stop accepting) and when it force-closes.
    virtual void drain() = 0;
    virtual void force_close() = 0;

    // One deadline per direction and side: a request body can be read from the client
    // while the response is written back to it.
    deadline client_read;
    deadline client_write;
    deadline upstream_read;
    deadline upstream_write;

    watched* prev_ = nullptr;
    watched* next_ = nullptr;
};

} // namespace ferry::net
