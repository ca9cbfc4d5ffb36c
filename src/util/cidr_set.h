// A large set of IP networks (`[[acl]]` dest_file and client_file, issue 18): per family,
// the networks as sorted, merged address intervals, searched by bisection (O(log n), no
// allocation). Pure: no I/O. Built once by config/list_file, then shared read-only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::util {

// An address as bytes: IPv4 in the first four of `bytes`, network order.
struct ip_bytes {
    bool v4 = true;
    std::array<unsigned char, 16> bytes{};
};

// An IPv4 (dotted decimal) or IPv6 literal, without brackets or a zone; nothing else.
// No allocation.
std::optional<ip_bytes> parse_ip(std::string_view text);

class cidr_set {
public:
    // Adds the network; bits past `prefix` (≤ 32 or 128) are ignored. Call seal() after the
    // last one and before the first lookup.
    void insert(const ip_bytes& network, unsigned prefix);
    void seal(); // sorts and merges the intervals

    // True when the address is inside a network of its own family (an IPv4-mapped IPv6
    // address is an IPv6 address here: callers unmap first, as policy/host_match does).
    bool contains(const ip_bytes& address) const;
    // An IP literal inside one of the networks (IPv4-mapped IPv6 judged as IPv4); false for
    // any other text, names included.
    bool contains_literal(std::string_view text) const;

    bool empty() const { return v4_.empty() && v6_.empty(); }
    std::size_t intervals() const { return v4_.size() + v6_.size(); }
    std::size_t memory_bytes() const;
    bool operator==(const cidr_set&) const = default;

private:
    using u128 = unsigned __int128;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_; // [first, last], sorted
    std::vector<std::pair<u128, u128>> v6_;
};

} // namespace ferry::util
