#include "proxy/decision.h"

#include "upstream/special_names.h"

#include <fmt/format.h>

namespace ferry::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

decision reject(errc code, std::string cause) {
    decision d;
    d.kind = action::reject;
    d.problem = {code, std::move(cause)};
    return d;
}

// Whether the target names one of ferry's listeners before any DNS lookup: an address
// literal, or a loopback name. Names that resolve to ferry are caught after resolution.
bool targets_self(const http::authority& where, std::span<const tcp::endpoint> self) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(std::string(where.host), ec);
    if (ec) {
        if (upstream::classify_name(where.host) != upstream::special_name::loopback) return false;
        return is_self_endpoint({asio::ip::address_v4::loopback(), where.port}, self) ||
               is_self_endpoint({asio::ip::address_v6::loopback(), where.port}, self);
    }
    return is_self_endpoint({address, where.port}, self);
}

bool max_forwards_is_zero(const http::request_head& head) {
    if (head.method != "OPTIONS" && head.method != "TRACE") return false;
    for (const auto& f : head.fields)
        if (http::iequals(f.name, "max-forwards"))
            return !f.value.empty() && f.value.find_first_not_of('0') == std::string_view::npos;
    return false;
}

bool is_connect_port_allowed(std::uint16_t port, std::span<const std::uint16_t> allowed) {
    if (allowed.empty()) return true;
    for (auto p : allowed)
        if (p == port) return true;
    return false;
}

// CONNECT host:port (RFC 9110 §9.3.6, RFC 9112 §3.2.3): authority-form only, port required.
decision decide_connect(const http::request_head& head, std::span<const tcp::endpoint> self,
                        std::span<const std::uint16_t> connect_ports, std::string_view ports_option,
                        decision d) {
    if (d.framing.kind != http::body_kind::none &&
        !(d.framing.kind == http::body_kind::length && d.framing.length == 0))
        return reject(errc::bad_request, "ferry: a CONNECT request cannot carry a body");
    const auto colon = head.target.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == head.target.size() ||
        head.target.back() == ']')
        return reject(errc::bad_request, "ferry: CONNECT needs a host:port target");
    if (auto e = http::parse_authority(head.target, 0, d.target.where);
        e != http::target_error::none)
        return reject(errc::bad_request,
                      fmt::format("ferry: invalid CONNECT target: {}", http::describe(e)));
    if (!is_connect_port_allowed(d.target.where.port, connect_ports))
        return reject(errc::forbidden, fmt::format("ferry: CONNECT to port {} is not allowed ({})",
                                                   d.target.where.port, ports_option));
    if (targets_self(d.target.where, self))
        return reject(errc::loop_detected, "ferry: CONNECT addressed to the proxy itself");
    d.kind = action::tunnel;
    return d;
}

} // namespace

std::vector<asio::ip::address> parent_known_addresses(std::string_view host) {
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1); // an absolute name
    std::vector<asio::ip::address> out;
    boost::system::error_code ec;
    const auto literal = asio::ip::make_address(std::string(host), ec);
    if (!ec)
        out.push_back(literal);
    else if (upstream::classify_name(host) == upstream::special_name::loopback)
        out = {asio::ip::address_v6::loopback(), asio::ip::address_v4::loopback()};
    return out;
}

bool is_self_endpoint(const tcp::endpoint& endpoint, std::span<const tcp::endpoint> self) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    for (const auto& listener : self) {
        if (listener.port() != endpoint.port()) continue;
        if (listener.address() == address) return true;
        // Connecting to 0.0.0.0 or :: reaches this host, loopback listeners included.
        if (address.is_unspecified() &&
            (listener.address().is_loopback() || listener.address().is_unspecified()))
            return true;
        // A wildcard listener also answers on loopback addresses.
        if (listener.address().is_unspecified() && address.is_loopback()) return true;
    }
    return false;
}

decision decide(const http::request_head& head, std::span<const tcp::endpoint> self,
                std::span<const std::uint16_t> connect_ports, std::string_view ports_option) {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with several → 400.
    const int hosts = http::count_fields(head, "host");
    if (hosts > 1) return reject(errc::bad_request, "ferry: more than one Host header");
    if (hosts == 0 && head.minor == 1)
        return reject(errc::bad_request, "ferry: missing Host header");
    const auto host_field = http::find_field(head, "host");
    if (hosts == 1) {
        http::authority a;
        if (http::parse_authority(host_field, 80, a) != http::target_error::none)
            return reject(errc::bad_request, "ferry: invalid Host header");
    }

    decision d;
    if (auto e = http::request_framing(head, d.framing); e != http::framing_error::none) {
        auto code =
            e == http::framing_error::unknown_coding ? errc::not_implemented : errc::bad_request;
        return reject(code, fmt::format("ferry: {}", http::describe(e)));
    }
    if (head.method == "CONNECT")
        return decide_connect(head, self, connect_ports, ports_option, std::move(d));

    if (auto e = http::parse_request_target(head.method, head.target, host_field, d.target);
        e != http::target_error::none)
        return reject(errc::bad_request, fmt::format("ferry: {}", http::describe(e)));

    if (targets_self(d.target.where, self)) {
        if (head.method == "GET" || head.method == "HEAD") {
            d.kind = action::status_page;
            return d;
        }
        return reject(errc::loop_detected, "ferry: request addressed to the proxy itself");
    }
    if (max_forwards_is_zero(head)) {
        d.kind = head.method == "TRACE" ? action::answer_trace : action::answer_options;
        return d;
    }
    d.kind = action::forward;
    return d;
}

} // namespace ferry::proxy
