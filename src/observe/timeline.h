// The last 15 minutes, one sample per second (issue 16's status page): requests, bytes each
// way, answers by status class and a latency histogram fine enough for p50/p95/p99. Each
// worker owns a timeline and is its only writer (relaxed loads and stores, as counter.h; no
// allocation after construction); the admin listener reads every worker's and merges them
// second by second.
//
// Latency buckets: exact below 8 µs, then four linear steps per power of two (8-10-12-14-16
// µs, 16-20-24-28-32 µs, ...), up to 2^27 µs (134 s; longer lands in the last bucket). A
// percentile is reported as the middle of its bucket: at most 12.5% from the true value of
// the exchange of that rank.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace ferry::observe {

inline constexpr std::size_t timeline_seconds = 900;
inline constexpr std::size_t latency_buckets = 104;

// The bucket of a latency in microseconds, and the value a bucket stands for (its middle), µs.
std::size_t latency_bucket(std::uint64_t us);
double latency_bucket_middle(std::size_t bucket);

// One second's figures, as plain numbers (a merge of the workers').
struct second_sample {
    std::uint64_t requests = 0;
    std::uint64_t bytes_from_clients = 0;
    std::uint64_t bytes_to_clients = 0;
    std::array<std::uint64_t, 6> status{}; // [0]: no answer (000), [1..5]: 1xx..5xx
    std::array<std::uint64_t, latency_buckets> latency{};

    // The latency under which a share `q` (0..1) of the timed exchanges finished, in
    // milliseconds; none when no exchange was timed in this second.
    std::optional<double> percentile_ms(double q) const;
};

class timeline {
public:
    timeline();
    timeline(const timeline&) = delete;
    timeline& operator=(const timeline&) = delete;

    // One exchange that ended in `second` (Unix time); `latency_us` when it is timed (not a
    // tunnel). The writer's seconds never go back by more than the ring holds.
    void record(std::int64_t second, std::uint64_t from_client, std::uint64_t to_client, int status,
                std::optional<std::uint64_t> latency_us);

    // Adds what this timeline holds for `second` into `out` (nothing when that second is no
    // longer, or not yet, in the ring). Any thread.
    void add_second(std::int64_t second, second_sample& out) const;

private:
    using counter = std::atomic<std::uint64_t>;
    struct slot {
        std::atomic<std::int64_t> second{-1}; // -1: being reset, or never written
        counter requests{0}, from_client{0}, to_client{0};
        std::array<counter, 6> status{};
        std::array<std::atomic<std::uint32_t>, latency_buckets> latency{};
    };
    slot& claim(std::int64_t second);

    std::unique_ptr<slot[]> slots_;
};

// The workers' timelines merged for each of the `count` seconds ending with `last`
// (oldest first).
std::vector<second_sample> merge_seconds(std::span<const timeline* const> timelines,
                                         std::int64_t last, std::size_t count);

} // namespace ferry::observe
