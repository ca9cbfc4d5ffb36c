// A counter written by one thread (its worker) and read by another (the metrics page):
// a relaxed load and store, no locked instruction on the hot path.
#pragma once

#include <atomic>
#include <cstdint>

namespace ferry::observe {

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline void decrement(std::atomic<std::uint64_t>& gauge, std::uint64_t n = 1) {
    gauge.store(gauge.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

inline void set(std::atomic<std::uint64_t>& gauge, std::uint64_t value) {
    gauge.store(value, std::memory_order_relaxed);
}

inline std::uint64_t read(const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
}

} // namespace ferry::observe
