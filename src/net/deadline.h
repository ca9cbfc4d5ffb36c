// Deadlines without a timer per wait. A stream sets a time point before each wait; its
// worker's ticker (deadline_list::expire_passed) compares all of them a few times a second
// and cancels the operation waiting under each late one — only that one: a request body
// can still be written while the response is read on the same connection.
// Arming a deadline is a store, not a syscall.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace ferry::net {

using steady_time = std::chrono::steady_clock::time_point;

class deadline_list;

class deadline {
public:
    deadline() = default;
    explicit deadline(deadline_list* list) { attach(list); }
    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;
    ~deadline() { detach(); }

    steady_time at = steady_time::max();
    bool expired = false;
    // While held, a deadline that passes is renewed for its last timeout instead of
    // expiring: an origin's response is not late while the request body is still on its way.
    bool held = false;
    std::chrono::milliseconds period{0}; // the timeout it was last armed with

    // A completion token for co_await that gives (error_code, ...) as a tuple, and whose
    // operation is cancelled when this deadline passes (or cancel() is called).
    auto bind() {
        return boost::asio::as_tuple(
            boost::asio::bind_cancellation_slot(signal_.slot(), boost::asio::use_awaitable));
    }
    void cancel() {
        cancelled = true;
        signal_.emit(boost::asio::cancellation_type::terminal);
    }
    // cancel() was called (or the deadline passed) since it was last armed: for a loop of
    // waits, whose cancel may land between two of them and cancel nothing.
    bool cancelled = false;

    void arm(steady_time now, std::chrono::milliseconds timeout) {
        at = now + timeout;
        period = timeout;
        expired = false;
        cancelled = false;
    }
    // To a time point rather than a timeout (period unchanged).
    void arm_at(steady_time when) {
        at = when;
        expired = false;
        cancelled = false;
    }
    void disarm() { at = steady_time::max(); }
    // Between waits: frees the cancellation handler the last wait installed, which Asio
    // otherwise keeps for the next one. For a stream going idle for long (a pooled upstream
    // connection): its small blocks, scattered over the heap after a burst, pin pages. Not
    // done after every wait: that costs an allocation per wait.
    void release() { signal_.slot().clear(); }

    // Registration with a ticker (a worker's, or a test's); a deadline with none never passes
    // by itself.
    void attach(deadline_list* list);
    void detach();

private:
    friend class deadline_list;
    boost::asio::cancellation_signal signal_;
    deadline_list* list_ = nullptr;
    deadline* prev_ = nullptr;
    deadline* next_ = nullptr;
};

// Every deadline of one event loop. Not thread-safe: one loop, one list.
class deadline_list {
public:
    deadline_list() = default;
    deadline_list(const deadline_list&) = delete;
    deadline_list& operator=(const deadline_list&) = delete;
    ~deadline_list();

    // Expires every deadline at or before `now` (renews the held ones) and cancels what
    // waits under it.
    void expire_passed(steady_time now);
    std::size_t size() const { return size_; }

private:
    friend class deadline;
    deadline* head_ = nullptr;
    deadline* cursor_ = nullptr; // the next one expire_passed visits (a cancel may unlink)
    std::size_t size_ = 0;
};

inline void deadline::attach(deadline_list* list) {
    detach();
    if (!list) return;
    list_ = list;
    next_ = list->head_;
    if (next_) next_->prev_ = this;
    list->head_ = this;
    ++list->size_;
}

inline void deadline::detach() {
    if (!list_) return;
    if (list_->cursor_ == this) list_->cursor_ = next_;
    if (prev_)
        prev_->next_ = next_;
    else
        list_->head_ = next_;
    if (next_) next_->prev_ = prev_;
    --list_->size_;
    list_ = nullptr;
    prev_ = next_ = nullptr;
}

inline deadline_list::~deadline_list() {
    while (head_)
        head_->detach();
}

inline void deadline_list::expire_passed(steady_time now) {
    for (deadline* d = head_; d != nullptr; d = cursor_) {
        cursor_ = d->next_;
        if (d->at > now) continue;
        if (d->held) {
            d->at = now + d->period;
            continue;
        }
        d->at = steady_time::max();
        d->expired = true;
        d->cancel(); // may end a stream, and with it other deadlines: cursor_ follows
    }
    cursor_ = nullptr;
}

// A connection its worker can drain and close (intrusive list of the worker's).
class drainable {
public:
    drainable() = default;
    drainable(const drainable&) = delete;
    drainable& operator=(const drainable&) = delete;
    virtual ~drainable() = default;

    // The worker stops accepting: finish the exchange in flight, then close.
    virtual void drain() = 0;
    // Close now.
    virtual void force_close() = 0;

    drainable* prev_ = nullptr;
    drainable* next_ = nullptr;
};

} // namespace ferry::net
