#include "app/admission.h"

#include <fmt/format.h>

namespace ferry::app {

admit_verdict decide_admission(std::size_t open_total, std::size_t open_for_client,
                               const connection_limits& limits) {
    if (limits.total != 0 && open_total >= limits.total) return admit_verdict::over_total;
    if (limits.per_client != 0 && open_for_client >= limits.per_client)
        return admit_verdict::over_client;
    return admit_verdict::admitted;
}

std::string refusal_cause(admit_verdict verdict, const connection_limits& limits,
                          const boost::asio::ip::address& client) {
    if (verdict == admit_verdict::over_client)
        return fmt::format("too many connections from {} (limit {})", client.to_string(),
                           limits.per_client);
    return fmt::format("too many connections (limit {})", limits.total);
}

std::size_t automatic_connection_limit(std::size_t open_file_limit) {
    constexpr std::size_t reserve = 128;
    if (open_file_limit <= reserve + 3) return 1;
    return (open_file_limit - reserve) / 3;
}

admit_verdict admission::admit(const boost::asio::ip::address& client,
                               const connection_limits& limits) {
    std::lock_guard lock(mutex_);
    auto& mine = per_client_[client];
    const auto verdict = decide_admission(total_.load(std::memory_order_relaxed), mine, limits);
    if (verdict != admit_verdict::admitted) {
        if (mine == 0) per_client_.erase(client);
        return verdict;
    }
    ++mine;
    total_.fetch_add(1, std::memory_order_relaxed);
    return verdict;
}

void admission::release(const boost::asio::ip::address& client) {
    std::lock_guard lock(mutex_);
    auto it = per_client_.find(client);
    if (it == per_client_.end()) return; // not admitted here: nothing to give back
    if (--it->second == 0) per_client_.erase(it);
    total_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t admission::open_from(const boost::asio::ip::address& client) const {
    std::lock_guard lock(mutex_);
    auto it = per_client_.find(client);
    return it == per_client_.end() ? 0 : it->second;
}

} // namespace ferry::app
