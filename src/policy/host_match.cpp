#include "policy/host_match.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>

namespace ferry::policy {

namespace {

struct address_bytes {
    std::array<unsigned char, 16> bytes{};
    std::size_t size = 0;
};

address_bytes bytes_of(const boost::asio::ip::address& a) {
    address_bytes out;
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.bytes.begin());
        out.size = b.size();
    } else {
        out.bytes = a.to_v6().to_bytes();
        out.size = 16;
    }
    return out;
}

bool in_network(const boost::asio::ip::address& a, const boost::asio::ip::address& net,
                unsigned prefix) {
    if (a.is_v4() != net.is_v4()) return false;
    const auto x = bytes_of(a), y = bytes_of(net);
    for (std::size_t i = 0; i < x.size && prefix > 0; ++i) {
        const unsigned bits = prefix >= 8 ? 8 : prefix;
        const unsigned mask = (0xffu << (8 - bits)) & 0xffu;
        if ((x.bytes[i] & mask) != (y.bytes[i] & mask)) return false;
        prefix -= bits;
    }
    return true;
}

} // namespace

bool matches(const config::direct_rule& rule, std::string_view host) {
    using kind = config::direct_rule::kind;
    // A fully qualified name's trailing dot names the same host ("intranet.example.").
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
    switch (rule.what) {
    case kind::host:
        return host == rule.name;
    case kind::suffix:
        return host == rule.name || (host.size() > rule.name.size() && host.ends_with(rule.name) &&
                                     host[host.size() - rule.name.size() - 1] == '.');
    case kind::cidr: {
        boost::system::error_code ec;
        auto address = boost::asio::ip::make_address(std::string(host), ec);
        if (ec) return false;
        auto network = boost::asio::ip::make_address(rule.network, ec);
        if (ec) return false;
        if (address.is_v6() && address.to_v6().is_v4_mapped())
            address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
        return in_network(address, network, rule.prefix);
    }
    }
    return false;
}

} // namespace ferry::policy
