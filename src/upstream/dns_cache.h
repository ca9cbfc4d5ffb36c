// Names resolved recently, with what they resolved to, until their DNS TTL runs out; and
// names that do not exist, for a short while. Pure: no I/O, the time is passed in.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ferry::upstream {

class dns_cache {
public:
    using clock = std::chrono::steady_clock;
    using addresses = std::vector<boost::asio::ip::address>;

    // A TTL above this is cut down to it, so that a typo in a zone cannot pin an address.
    static constexpr std::chrono::seconds max_ttl{3600};

    // `capacity` 0 caches nothing; `negative_ttl` 0 remembers no failures.
    dns_cache(std::size_t capacity, std::chrono::milliseconds negative_ttl)
        : capacity_(capacity), negative_ttl_(negative_ttl) {}

    // What is known of `name` at `now`: its addresses, or an empty list for a name known
    // not to exist (or to have no address); nothing when it is not cached or has expired.
    std::optional<addresses> find(const std::string& name, clock::time_point now);

    // Remembers an answer for `ttl` (the smallest TTL of its records). TTL 0: not cached.
    void put(const std::string& name, addresses found, std::chrono::seconds ttl,
             clock::time_point now);
    // Remembers that `name` has no address, for the negative TTL.
    void put_negative(const std::string& name, clock::time_point now);

    std::size_t size() const { return entries_.size(); }

private:
    using expiry_index = std::multimap<clock::time_point, std::string>;
    struct entry {
        addresses found; // empty: negative
        expiry_index::iterator expiry;
    };

    void store(const std::string& name, addresses found, clock::time_point until,
               clock::time_point now);
    void erase(std::unordered_map<std::string, entry>::iterator it);
    // Makes room for one entry: drops what has expired, else what expires soonest.
    void make_room(clock::time_point now);

    std::size_t capacity_;
    std::chrono::milliseconds negative_ttl_;
    std::unordered_map<std::string, entry> entries_;
    expiry_index by_expiry_;
};

} // namespace ferry::upstream
