#include "observe/timeline.h"

#include <bit>
#include <cmath>

namespace ferry::observe {

namespace {

constexpr std::size_t exact_below = 8;
constexpr unsigned top_exponent = 26; // the last full power of two: [2^26, 2^27) µs

template <class T>
void add(std::atomic<T>& c, T n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::size_t slot_of(std::int64_t second) {
    const auto n = static_cast<std::int64_t>(timeline_seconds);
    return static_cast<std::size_t>(((second % n) + n) % n);
}

} // namespace

std::size_t latency_bucket(std::uint64_t us) {
    if (us < exact_below) return static_cast<std::size_t>(us);
    const unsigned e = static_cast<unsigned>(std::bit_width(us)) - 1; // >= 3
    if (e > top_exponent) return latency_buckets - 1;
    const std::size_t step = (us >> (e - 2)) & 3;
    return exact_below + (e - 3) * 4 + step;
}

double latency_bucket_middle(std::size_t bucket) {
    if (bucket < exact_below) return double(bucket);
    const std::size_t e = (bucket - exact_below) / 4 + 3;
    const std::size_t step = (bucket - exact_below) % 4;
    const double width = std::ldexp(1.0, int(e) - 2);
    return std::ldexp(1.0, int(e)) + double(step) * width + width / 2;
}

std::optional<double> second_sample::percentile_ms(double q) const {
    std::uint64_t timed = 0;
    for (auto n : latency)
        timed += n;
    if (timed == 0) return std::nullopt;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * double(timed)));
    if (rank < 1) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < latency.size(); ++b) {
        seen += latency[b];
        if (seen >= rank) return latency_bucket_middle(b) / 1000.0;
    }
    return latency_bucket_middle(latency.size() - 1) / 1000.0;
}

timeline::timeline() : slots_(new slot[timeline_seconds]) {}

// The slot for `second`, emptied first when it held an older second. A seqlock's writer:
// the stamp is -1 while the counters are reset, so that a reader never takes a half-reset
// slot for either second.
timeline::slot& timeline::claim(std::int64_t second) {
    auto& s = slots_[slot_of(second)];
    if (s.second.load(std::memory_order_relaxed) == second) return s;
    s.second.store(-1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (auto* c : {&s.requests, &s.from_client, &s.to_client})
        c->store(0, std::memory_order_relaxed);
    for (auto& c : s.status)
        c.store(0, std::memory_order_relaxed);
    for (auto& c : s.latency)
        c.store(0, std::memory_order_relaxed);
    s.second.store(second, std::memory_order_release);
    return s;
}

void timeline::record(std::int64_t second, std::uint64_t from_client, std::uint64_t to_client,
                      int status, std::optional<std::uint64_t> latency_us) {
    auto& s = claim(second);
    add(s.requests, std::uint64_t(1));
    add(s.from_client, from_client);
    add(s.to_client, to_client);
    const std::size_t cls = status >= 100 && status <= 599 ? std::size_t(status / 100) : 0;
    add(s.status[cls], std::uint64_t(1));
    if (latency_us) add(s.latency[latency_bucket(*latency_us)], std::uint32_t(1));
}

void timeline::add_second(std::int64_t second, second_sample& out) const {
    const auto& s = slots_[slot_of(second)];
    if (s.second.load(std::memory_order_acquire) != second) return;
    second_sample read;
    read.requests = s.requests.load(std::memory_order_relaxed);
    read.bytes_from_clients = s.from_client.load(std::memory_order_relaxed);
    read.bytes_to_clients = s.to_client.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < s.status.size(); ++i)
        read.status[i] = s.status[i].load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < s.latency.size(); ++i)
        read.latency[i] = s.latency[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.second.load(std::memory_order_relaxed) != second) return; // reset while read
    out.requests += read.requests;
    out.bytes_from_clients += read.bytes_from_clients;
    out.bytes_to_clients += read.bytes_to_clients;
    for (std::size_t i = 0; i < out.status.size(); ++i)
        out.status[i] += read.status[i];
    for (std::size_t i = 0; i < out.latency.size(); ++i)
        out.latency[i] += read.latency[i];
}

std::vector<second_sample> merge_seconds(std::span<const timeline* const> timelines,
                                         std::int64_t last, std::size_t count) {
    std::vector<second_sample> out(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto second = last - std::int64_t(count - 1 - i);
        for (const auto* t : timelines)
            t->add_second(second, out[i]);
    }
    return out;
}

} // namespace ferry::observe
