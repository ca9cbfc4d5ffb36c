#include "upstream/attempt_plan.h"

#include <algorithm>

namespace ferry::upstream {

attempt_plan::attempt_plan(std::size_t addresses, duration delay, duration attempt_timeout)
    : count_(addresses), delay_(delay), attempt_timeout_(attempt_timeout) {
    give_up_.reserve(addresses);
}

std::optional<std::size_t> attempt_plan::start_due(time now) {
    if (started_ == count_ || (running_ > 0 && now < next_start_)) return std::nullopt;
    const bool last = started_ + 1 == count_;
    give_up_.push_back(last ? time::max() : now + attempt_timeout_);
    next_start_ = now + delay_;
    ++running_;
    return started_++;
}

std::optional<std::size_t> attempt_plan::give_up_due(time now) {
    for (std::size_t i = 0; i < give_up_.size(); ++i) {
        if (give_up_[i] && *give_up_[i] <= now) {
            failed(i, now);
            return i;
        }
    }
    return std::nullopt;
}

void attempt_plan::failed(std::size_t i, time now) {
    if (i >= give_up_.size() || !give_up_[i]) return; // not running (given up already)
    give_up_[i].reset();
    --running_;
    next_start_ = now;
}

attempt_plan::time attempt_plan::next_event() const {
    time next = started_ < count_ ? next_start_ : time::max();
    for (const auto& at : give_up_)
        if (at) next = std::min(next, *at);
    return next;
}

} // namespace ferry::upstream
