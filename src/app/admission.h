// Connection limits: how many client connections ferry holds at once, in all and per client
// address. Every worker admits and releases here, so the counts are shared (an atomic total
// and a locked map, touched once per connection, never per request).
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ferry::config {
struct settings;
}

namespace ferry::app {

struct connection_limits {
    std::size_t total = 0;      // 0: no limit
    std::size_t per_client = 0; // 0: no limit
};

enum class admit_verdict { admitted, over_total, over_client };

// The decision alone: may one more connection open, with `open_total` open in all and
// `open_for_client` open from this client's address?
admit_verdict decide_admission(std::size_t open_total, std::size_t open_for_client,
                               const connection_limits& limits);

// The one-line answer a refused client gets (the body of a 503).
std::string refusal_cause(admit_verdict verdict, const connection_limits& limits,
                          const boost::asio::ip::address& client);

// What ferry holds in open files besides its clients' sockets and their upstream sockets.
struct descriptor_budget {
    unsigned workers = 1;
    std::size_t pool_total = 0;       // idle upstream connections each worker may keep
    std::size_t pipes_per_worker = 0; // splice pipes each worker may hold (two files each)
};

// The budget of a configuration: its workers, their pools' cap, their pipe limit.
descriptor_budget budget_for(const config::settings& settings);

// The reserve out of `open_file_limit`: 64 for the process (stdio, logs, the main loop, the
// admin listener), per worker 16 (its loops, acceptors, DNS sockets) and its pipes, and the
// workers' idle upstream pools at their cap, but no more than a quarter of the limit.
std::size_t descriptor_reserve(std::size_t open_file_limit, const descriptor_budget& budget);

// max_connections = 0: "(limit − reserve) / 2", at least 1. A client holds its socket and,
// in an exchange, one upstream socket; splice pipes and idle pooled connections are in the
// reserve.
std::size_t automatic_connection_limit(std::size_t open_file_limit,
                                       const descriptor_budget& budget);

// The open-file limit that lets `connections` clients in: 2 each, plus the reserve.
std::size_t files_needed(std::size_t connections, const descriptor_budget& budget);

// With max_connections = 0, ferry started as root raises its limit to hold this many clients
// (at most fs.nr_open), as Debian's squid unit allows its daemon 65,535 files.
constexpr std::size_t automatic_connection_target = 65'536;

// RLIMIT_NOFILE, soft and hard.
struct file_limit {
    std::size_t soft = 0;
    std::size_t hard = 0;
};

// What to ask for: the hard limit raised to `wanted` files when below it, never past
// `nr_open` (which only root, or CAP_SYS_RESOURCE, gets), and the soft one to the hard one.
file_limit raised_file_limit(file_limit now, std::size_t wanted, std::size_t nr_open);

// The start-up notice about the connection limit, empty when there is nothing to say: the
// automatic limit and why when it is under 10,000; an explicit max_connections that the
// open-file limit cannot hold, whatever its size (one it holds is the operator's own word:
// nothing to explain). `max_connections` is the setting (0: automatic).
std::string connection_limit_notice(std::size_t max_connections, std::size_t open_file_limit,
                                    const descriptor_budget& budget);

// 6624 → "6,624".
std::string with_thousands(std::size_t n);

class admission {
public:
    // Counts the connection in when the limits allow it; every admitted connection must be
    // released exactly once, when its socket is closed.
    admit_verdict admit(const boost::asio::ip::address& client, const connection_limits& limits);
    void release(const boost::asio::ip::address& client);

    std::size_t open() const { return total_.load(std::memory_order_relaxed); }
    std::size_t open_from(const boost::asio::ip::address& client) const;

private:
    std::atomic<std::size_t> total_{0};
    mutable std::mutex mutex_;
    std::unordered_map<boost::asio::ip::address, std::size_t> per_client_;
};

} // namespace ferry::app
