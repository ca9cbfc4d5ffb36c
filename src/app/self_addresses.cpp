#include "app/self_addresses.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <random>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The host's interface addresses (loopback included; scope ids dropped: a target names none).
std::vector<asio::ip::address> interface_addresses() {
    std::vector<asio::ip::address> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            out.push_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            asio::ip::address_v6::bytes_type bytes;
            std::copy_n(in6->sin6_addr.s6_addr, bytes.size(), bytes.begin());
            out.push_back(asio::ip::address_v6(bytes));
        }
    }
    ::freeifaddrs(list);
    return out;
}

} // namespace

std::vector<tcp::endpoint> self_endpoints(const std::vector<tcp::endpoint>& bound) {
    std::vector<tcp::endpoint> self(bound);
    const bool wildcard = std::any_of(bound.begin(), bound.end(), [](const tcp::endpoint& e) {
        return e.address().is_unspecified();
    });
    if (!wildcard) return self;
    const auto local = interface_addresses();
    for (const auto& listener : bound) {
        if (!listener.address().is_unspecified()) continue;
        for (const auto& a : local) {
            if (a.is_v4() != listener.address().is_v4()) continue; // :: listeners are v6-only
            const tcp::endpoint e(a, listener.port());
            if (std::find(self.begin(), self.end(), e) == self.end()) self.push_back(e);
        }
    }
    return self;
}

std::string make_loop_token() {
    std::random_device random;
    const std::uint64_t high = random(), low = random();
    return fmt::format("{:016x}", (high << 32) | (low & 0xffffffffu));
}

} // namespace ferry::app
