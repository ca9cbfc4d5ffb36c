// Idle keep-alive upstream connections, shared by every client of one worker (so no locks).
// Keyed by where the connection goes ("host:port", or the parent proxy's); most recently
// used first; capped per key and in total (oldest closed first); closed after an idle
// timeout. A connection is handed out only if the origin has neither closed it nor sent
// anything unasked: one put since the last sweep is checked with a non-blocking peek; the
// sweep starts a watch (a pending one-byte peek) on the others, which drops a connection
// as soon as its origin closes it or talks (no CLOSE_WAIT sockets waiting for the idle
// timeout) and spares them the check.
#pragma once

#include "net/deadline.h"
#include "upstream/connection.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::upstream {

struct pool_limits {
    std::size_t per_key = 32;
    std::size_t total = 1024;
    std::chrono::milliseconds idle_timeout{60'000};
};

// Written on the worker's thread, read by the metrics page from another: relaxed atomics.
struct pool_stats {
    std::atomic<std::uint64_t> opened{0};  // new upstream connections
    std::atomic<std::uint64_t> reused{0};  // handed out from the pool
    std::atomic<std::uint64_t> stale{0};   // found closed (or talking) when about to be handed out
    std::atomic<std::uint64_t> evicted{0}; // closed for a cap or the idle timeout
    std::atomic<std::uint64_t> idle{0};    // idle connections in the pool now
};

class pool {
public:
    explicit pool(pool_limits limits) : limits_(limits) {}

    // A usable idle connection for `key`, most recent first; null when there is none.
    std::unique_ptr<connection> take(std::string_view key);
    // Keeps `c` (its `key` set) as idle from `now` and returns true; closes it at once and
    // returns false when the caps are zero.
    bool put(std::unique_ptr<connection> c, net::steady_time now);
    // Closes idle connections past the idle timeout.
    void sweep(net::steady_time now);
    // Closes every idle connection (drain, shutdown).
    void clear();

    // New caps (reload); idle connections beyond them are closed as new ones are put.
    void set_limits(pool_limits limits) { limits_ = limits; }
    void note_opened() {
        stats_.opened.store(stats_.opened.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
    }
    const pool_stats& stats() const { return stats_; }
    std::size_t idle() const { return lru_.size(); }
    std::size_t idle(std::string_view key) const;

private:
    struct entry {
        std::unique_ptr<connection> conn;
        net::steady_time since;
        bool watched = false;
    };
    using lru_list = std::list<entry>; // oldest at the front
    void erase(lru_list::iterator it);
    // Moves the node at `it` (its connection gone) to spare_.
    void retire(lru_list::iterator it);
    // Starts the watch on a pooled connection; the origin closing it or talking on it
    // drops it (found by address: the watch may end after the connection is gone).
    void watch(connection& c);
    void drop_watched(const connection* c);

    pool_limits limits_;
    lru_list lru_;
    // Nodes of entries taken or closed, reused by put(): no allocation per request.
    lru_list spare_;
    struct key_hash {
        using is_transparent = void; // look up by string_view without a copy
        std::size_t operator()(std::string_view k) const {
            return std::hash<std::string_view>{}(k);
        }
    };
    // Per key, the entries in the order they were put (most recent last).
    std::unordered_map<std::string, std::vector<lru_list::iterator>, key_hash, std::equal_to<>>
        by_key_;
    pool_stats stats_;
};

} // namespace ferry::upstream
