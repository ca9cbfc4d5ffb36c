// Name resolution that never blocks the event loop: c-ares, driven by the worker's own
// io_context (its sockets are waited on like any other, its timeouts by one timer), with
// a cache that honours the answers' TTLs and remembers missing names for a short while.
// /etc/hosts is read first, then DNS: the servers of --dns-server, or /etc/resolv.conf's.
//
// One per worker, used from that worker's thread only: no locks. Lookups of one name at the
// same time share one query. Every lookup ends within --dns-timeout.
#pragma once

#include "config/settings.h"
#include "core/error.h"
#include "upstream/dns_cache.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct ares_channeldata;
struct ares_addrinfo;

namespace ferry::upstream {

struct resolve_result {
    std::vector<boost::asio::ip::address> addresses; // in the order DNS gave them
    core::error error; // when there are none: resolve_failed or resolve_timeout, naming the host
};

// Counted on the worker's thread, read by the metrics page from another: relaxed atomics.
struct resolver_stats {
    std::atomic<std::uint64_t> cache_hits{0};   // answered from the cache
    std::atomic<std::uint64_t> cache_misses{0}; // a query was needed (or joined)
};

class resolver {
public:
    // The error_code is operation_aborted when the caller cancelled (the query goes on and
    // its answer is still cached) or the resolver shut down; otherwise success, and the
    // result holds the addresses or the error.
    using signature = void(boost::system::error_code, resolve_result);

    // Throws std::runtime_error when c-ares cannot be set up (bad --dns-server).
    resolver(boost::asio::io_context& io, const config::settings& settings);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    // Resolves `name` (not an IP literal) to its IPv6 and IPv4 addresses. Supports
    // per-operation cancellation (a bound cancellation slot).
    template <class Token>
    auto async_resolve(std::string_view name, Token&& token) {
        return boost::asio::async_initiate<Token, signature>(
            [this](auto handler, std::string n) {
                start(std::move(n),
                      boost::asio::any_completion_handler<signature>(std::move(handler)));
            },
            token, std::string(name));
    }

    // Ends every lookup (waiters see operation_aborted) and closes c-ares' sockets, so the
    // worker's loop can run out. Later lookups fail at once.
    void shutdown();

    const resolver_stats& stats() const { return stats_; }

private:
    using clock = std::chrono::steady_clock;
    using handler_type = boost::asio::any_completion_handler<signature>;
    struct lookup;
    struct watch;

    void start(std::string name, handler_type handler);
    void wait_for(std::uint64_t id, lookup& l, handler_type handler);
    void cancel_waiter(std::uint64_t id);
    void finish(lookup& l, boost::system::error_code ec, const resolve_result& result);
    void complete(handler_type handler, boost::system::error_code ec, resolve_result result,
                  bool clear_slot);

    static void on_done(void* arg, int status, int timeouts, ares_addrinfo* res);
    static void on_socket_state(void* data, int fd, int readable, int writable);
    void socket_state(int fd, bool readable, bool writable);
    void arm(const std::shared_ptr<watch>& w);
    void reschedule();
    void on_timer();
    void expire_overdue(clock::time_point now);

    boost::asio::io_context& io_;
    std::chrono::milliseconds timeout_;
    ares_channeldata* channel_ = nullptr;
    dns_cache cache_;
    std::unordered_map<std::string, lookup*> inflight_;  // owned by their c-ares callbacks
    std::unordered_map<std::uint64_t, lookup*> waiting_; // waiter id → its lookup
    std::uint64_t next_waiter_ = 1;
    std::unordered_map<int, std::shared_ptr<watch>> watches_; // c-ares sockets
    boost::asio::steady_timer timer_;
    bool timer_armed_ = false;
    resolver_stats stats_;
    clock::time_point timer_at_;
};

} // namespace ferry::upstream
