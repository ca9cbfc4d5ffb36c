#include "util/cidr_set.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>

namespace ferry::util {

namespace {

std::uint32_t v4_of(const ip_bytes& a) {
    return (std::uint32_t(a.bytes[0]) << 24) | (std::uint32_t(a.bytes[1]) << 16) |
           (std::uint32_t(a.bytes[2]) << 8) | std::uint32_t(a.bytes[3]);
}

unsigned __int128 v6_of(const ip_bytes& a) {
    unsigned __int128 v = 0;
    for (unsigned char b : a.bytes)
        v = (v << 8) | b;
    return v;
}

bool is_v4_mapped(const ip_bytes& a) {
    static constexpr unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return !a.v4 && std::memcmp(a.bytes.data(), prefix, sizeof prefix) == 0;
}

// Sorts the intervals and joins those that overlap or touch.
template <class T>
void merge(std::vector<std::pair<T, T>>& ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::size_t out = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (out > 0 &&
            (ranges[out - 1].second == T(~T(0)) || ranges[i].first <= ranges[out - 1].second + 1)) {
            ranges[out - 1].second = std::max(ranges[out - 1].second, ranges[i].second);
            continue;
        }
        ranges[out++] = ranges[i];
    }
    ranges.resize(out);
    ranges.shrink_to_fit();
}

template <class T>
bool inside(const std::vector<std::pair<T, T>>& ranges, T value) {
    // The last interval starting at or before `value`.
    auto after = std::upper_bound(ranges.begin(), ranges.end(), value,
                                  [](T v, const std::pair<T, T>& r) { return v < r.first; });
    return after != ranges.begin() && value <= std::prev(after)->second;
}

} // namespace

std::optional<ip_bytes> parse_ip(std::string_view text) {
    char buf[48];
    if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    if (std::memchr(buf, '\0', text.size())) return std::nullopt;
    ip_bytes out;
    out.v4 = text.find(':') == std::string_view::npos;
    if (::inet_pton(out.v4 ? AF_INET : AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
    return out;
}

void cidr_set::insert(const ip_bytes& network, unsigned prefix) {
    if (network.v4) {
        prefix = std::min(prefix, 32u);
        const std::uint32_t host_bits = prefix == 0 ? ~0u : (prefix == 32 ? 0u : ~0u >> prefix);
        const std::uint32_t first = v4_of(network) & ~host_bits;
        v4_.emplace_back(first, first | host_bits);
        return;
    }
    prefix = std::min(prefix, 128u);
    const u128 all = ~u128(0);
    const u128 host_bits = prefix == 0 ? all : (prefix == 128 ? u128(0) : all >> prefix);
    const u128 first = v6_of(network) & ~host_bits;
    v6_.emplace_back(first, first | host_bits);
}

void cidr_set::seal() {
    merge(v4_);
    merge(v6_);
}

bool cidr_set::contains(const ip_bytes& address) const {
    return address.v4 ? inside(v4_, v4_of(address)) : inside(v6_, v6_of(address));
}

bool cidr_set::contains_literal(std::string_view text) const {
    if (empty()) return false;
    auto address = parse_ip(text);
    if (!address) return false;
    if (is_v4_mapped(*address)) {
        address->v4 = true;
        std::memmove(address->bytes.data(), address->bytes.data() + 12, 4);
    }
    return contains(*address);
}

std::size_t cidr_set::memory_bytes() const {
    return v4_.capacity() * sizeof(v4_[0]) + v6_.capacity() * sizeof(v6_[0]);
}

} // namespace ferry::util
