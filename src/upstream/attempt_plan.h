// The timing of a connection race (RFC 8305 §5, "Connection Attempt Delay"), with no
// sockets and no clock of its own: the caller passes the time and does the I/O. The first
// address starts at once; the next one `delay` after the last start without a winner, or
// at once when an attempt ends; earlier attempts go on meanwhile. While other addresses
// remain, an attempt is given up after `attempt_timeout`; the last address has no limit of
// its own (the connect deadline ends it).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace ferry::upstream {

class attempt_plan {
public:
    using time = std::chrono::steady_clock::time_point;
    using duration = std::chrono::milliseconds;

    attempt_plan(std::size_t addresses, duration delay, duration attempt_timeout);

    // The next address to try now (its index), marked running; none when it is not time.
    std::optional<std::size_t> start_due(time now);
    // A running attempt whose time is up, marked ended; none when no attempt is late.
    std::optional<std::size_t> give_up_due(time now);
    // A running attempt failed by itself: the next address may start at once.
    void failed(std::size_t i, time now);

    // When start_due or give_up_due will next have something (time::max(): never; what
    // happens then comes from the attempts themselves or the connect deadline).
    time next_event() const;
    // Every address was tried and none is still running.
    bool lost() const { return started_ == count_ && running_ == 0; }
    std::size_t started() const { return started_; }
    std::size_t running() const { return running_; }

private:
    std::size_t count_;
    duration delay_;
    duration attempt_timeout_;
    std::size_t started_ = 0;
    std::size_t running_ = 0;
    time next_start_ = time::min();
    // Per started attempt: when it is given up (time::max(): never); ended ones are unset.
    std::vector<std::optional<time>> give_up_;
};

} // namespace ferry::upstream
