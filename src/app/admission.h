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

// "(limit − reserve) / 3": a client connection may hold an upstream connection and a pipe of
// two descriptors for splice; the reserve covers listeners, logs, DNS and pipe caches.
std::size_t automatic_connection_limit(std::size_t open_file_limit);

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
