#include "policy/destinations.h"

#include "policy/host_match.h"

#include <fmt/format.h>

namespace ferry::policy {

namespace asio = boost::asio;

namespace {

using category = destination_category;

bool in_v4(const asio::ip::address_v4::bytes_type& b, std::uint8_t a0, std::uint8_t a1,
           std::uint8_t mask1) {
    return b[0] == a0 && (b[1] & mask1) == a1;
}

category classify_v4(const asio::ip::address_v4& a, bool deny_private) {
    const auto b = a.to_bytes();
    if (a == asio::ip::make_address_v4("169.254.169.254") ||
        a == asio::ip::make_address_v4("100.100.100.200"))
        return category::metadata;
    if (b[0] == 127) return category::loopback;
    if (in_v4(b, 169, 254, 0xff)) return category::link_local;
    if (b[0] == 0) return category::unspecified;
    if ((b[0] & 0xf0) == 224) return category::multicast;
    if (a == asio::ip::address_v4::broadcast()) return category::broadcast;
    if (!deny_private) return category::none;
    if (b[0] == 10 || in_v4(b, 172, 16, 0xf0) || in_v4(b, 192, 168, 0xff))
        return category::private_range;
    if (in_v4(b, 100, 64, 0xc0)) return category::shared_range;
    return category::none;
}

category classify_v6(const asio::ip::address_v6& a, bool deny_private) {
    const auto b = a.to_bytes();
    if (a == asio::ip::make_address_v6("fd00:ec2::254")) return category::metadata;
    if (a.is_loopback()) return category::loopback;
    if (a.is_unspecified()) return category::unspecified;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return category::link_local;
    if (b[0] == 0xff) return category::multicast;
    if (deny_private && (b[0] & 0xfe) == 0xfc) return category::unique_local;
    return category::none;
}

bool all_zero(const asio::ip::address_v6::bytes_type& b, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i)
        if (b[i] != 0) return false;
    return true;
}

asio::ip::address_v4 last_four(const asio::ip::address_v6::bytes_type& b) {
    return asio::ip::address_v4({b[12], b[13], b[14], b[15]});
}

std::string_view words(category c, const asio::ip::address& reached) {
    switch (c) {
    case category::none:
        return "not protected";
    case category::admin_listener:
        return "ferry's admin listener";
    case category::loopback:
        return "loopback";
    case category::link_local:
        return "link-local";
    case category::metadata:
        return reached.is_v4() && reached.to_v4().to_bytes()[0] == 169
                   ? "link-local (cloud metadata)"
                   : "a cloud metadata address";
    case category::unspecified:
        return "unspecified";
    case category::multicast:
        return "multicast";
    case category::broadcast:
        return "broadcast";
    case category::private_range:
        return "private (RFC 1918)";
    case category::shared_range:
        return "shared address space (RFC 6598)";
    case category::unique_local:
        return "unique-local (RFC 4193)";
    }
    return "protected";
}

// The shortest CIDR prefix that names a protected address of category `c`: the category's
// own range (a rule for 127.0.0.0/8 names loopback; 0.0.0.0/0 names nothing protected).
unsigned reopening_prefix(category c, const asio::ip::address& reached) {
    const bool v4 = reached.is_v4();
    const unsigned exact = v4 ? 32 : 128;
    switch (c) {
    case category::loopback:
    case category::unspecified:
        return v4 ? 8 : 128;
    case category::link_local:
        return v4 ? 16 : 10;
    case category::multicast:
        return v4 ? 4 : 8;
    case category::private_range: {
        const auto first = v4 ? reached.to_v4().to_bytes()[0] : 0;
        return first == 10 ? 8 : first == 172 ? 12 : 16;
    }
    case category::shared_range:
        return 10;
    case category::unique_local:
        return 7;
    case category::none:
        return 0;
    case category::admin_listener:
    case category::metadata:
    case category::broadcast:
        return exact;
    }
    return exact;
}

} // namespace

std::string_view exposure(const config::settings& s, default_policy listeners) {
    if (listeners == default_policy::loopback_and_private) return "a listener is not on loopback";
    for (const auto& l : s.listen)
        if (l.proxy_protocol) return "a listener takes the PROXY protocol";
    return {};
}

bool safe_destinations_apply(const config::settings& s, default_policy listeners) {
    if (s.safe_destinations == "on") return true;
    if (s.safe_destinations == "off") return false;
    return !exposure(s, listeners).empty();
}

std::string safe_destinations_notice(const config::settings& s, default_policy listeners) {
    const auto why = exposure(s, listeners);
    if (!safe_destinations_apply(s, listeners)) {
        if (why.empty()) return {};
        return "ferry: safe destinations off (safe_destinations = off): clients may reach this "
               "host's loopback services and cloud metadata addresses through ferry";
    }
    return fmt::format(
        "ferry: safe destinations on ({}): loopback, link-local, cloud metadata, unspecified, "
        "multicast and broadcast addresses and the admin listener{} are refused as destinations "
        "unless an [[acl]] rule names them",
        s.safe_destinations == "on" ? "safe_destinations = on" : why,
        s.private_destinations == "deny" ? ", and private ranges (private_destinations = deny),"
                                         : "");
}

asio::ip::address reached_address(const asio::ip::address& a) {
    if (!a.is_v6()) return a;
    const auto v6 = a.to_v6();
    const auto b = v6.to_bytes();
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
    // IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated); :: and ::1 are IPv6's own.
    if (all_zero(b, 0, 12) && !v6.is_unspecified() && !v6.is_loopback()) return last_four(b);
    // NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the gateway connects to the IPv4.
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && all_zero(b, 4, 12))
        return last_four(b);
    return a;
}

destination_category classify(const asio::ip::address& a, bool deny_private) {
    const auto reached = reached_address(a);
    if (reached.is_v4()) return classify_v4(reached.to_v4(), deny_private);
    return classify_v6(reached.to_v6(), deny_private);
}

std::string_view category_words(destination_category c, const asio::ip::address& a) {
    return words(c, reached_address(a));
}

std::string destination_refusal(const asio::ip::address& a, std::uint16_t port,
                                destination_category c) {
    const auto reached = reached_address(a);
    std::string named = reached.to_string();
    if (a.is_v6() && reached.is_v4() && !a.to_v6().is_v4_mapped())
        named = fmt::format("{} ({})", a.to_string(), reached.to_string());
    if (c == category::admin_listener)
        named = reached.is_v6() ? fmt::format("[{}]:{}", named, port)
                                : fmt::format("{}:{}", named, port);
    return fmt::format("ferry: destination {} is {}; allow it with an access rule", named,
                       words(c, reached));
}

bool explicitly_allowed(const std::vector<config::acl_rule>& rules, const acl_verdict& verdict,
                        std::string_view host, const asio::ip::address& a, destination_category c) {
    if (verdict.what != acl_verdict::kind::allow || verdict.rule == 0 ||
        verdict.rule > rules.size())
        return false;
    const auto reached = reached_address(a);
    const unsigned shortest = reopening_prefix(c, reached);
    const auto reached_text = reached.to_string();
    for (const auto& d : rules[verdict.rule - 1].destinations) {
        if (d.what == config::direct_rule::kind::host && d.name == host) return true;
        if (d.what != config::direct_rule::kind::cidr || d.prefix < shortest) continue;
        if (matches(d, reached_text)) return true;
    }
    return false;
}

} // namespace ferry::policy
