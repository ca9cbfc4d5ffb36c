#include "app/admission.h"

#include "config/settings.h"
#include "net/splice.h"

#include <algorithm>
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

namespace {

constexpr std::size_t process_reserve = 64;
constexpr std::size_t worker_reserve = 16;
constexpr std::size_t notice_below = 10'000;

// The reserve without the idle pools.
std::size_t fixed_reserve(const descriptor_budget& b) {
    return process_reserve + b.workers * (worker_reserve + 2 * b.pipes_per_worker);
}

} // namespace

descriptor_budget budget_for(const config::settings& settings) {
    return {settings.workers, settings.pool_total, net::splice_pipe_limit};
}

std::size_t descriptor_reserve(std::size_t open_file_limit, const descriptor_budget& budget) {
    return fixed_reserve(budget) +
           std::min(budget.workers * budget.pool_total, open_file_limit / 4);
}

std::size_t automatic_connection_limit(std::size_t open_file_limit,
                                       const descriptor_budget& budget) {
    const auto reserve = descriptor_reserve(open_file_limit, budget);
    if (open_file_limit < reserve + 4) return 1;
    return (open_file_limit - reserve) / 2;
}

std::size_t files_needed(std::size_t connections, const descriptor_budget& budget) {
    // The pools count at their cap or at a quarter of the limit, whichever is less: either
    // way of reaching `connections` will do, and the smaller is enough.
    const auto base = 2 * connections + fixed_reserve(budget);
    return std::min(base + budget.workers * budget.pool_total, (4 * base + 2) / 3);
}

file_limit raised_file_limit(file_limit now, std::size_t wanted, std::size_t nr_open) {
    file_limit next = now;
    if (wanted > now.hard) next.hard = std::max(now.hard, std::min(wanted, nr_open));
    next.soft = next.hard;
    return next;
}

std::string with_thousands(std::size_t n) {
    auto digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string connection_limit_notice(std::size_t max_connections, std::size_t open_file_limit,
                                    const descriptor_budget& budget) {
    const auto fits = automatic_connection_limit(open_file_limit, budget);
    if (max_connections == 0) {
        if (fits >= notice_below) return {};
        return fmt::format("ferry: serving at most {} connections at once: the open-files limit "
                           "is {} (ulimit -n); raise it or set max_connections",
                           with_thousands(fits), with_thousands(open_file_limit));
    }
    if (fits < max_connections)
        return fmt::format("ferry: max_connections is {}, but the open-files limit of {} (ulimit "
                           "-n) holds {} clients in exchange at once: past that, new clients "
                           "wait to be accepted and new origin connections fail; raise the "
                           "limit or lower max_connections",
                           with_thousands(max_connections), with_thousands(open_file_limit),
                           with_thousands(fits));
    return {}; // the operator's own limit, and the files hold it
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
