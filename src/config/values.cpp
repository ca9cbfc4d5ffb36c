#include "config/values.h"

#include "util/base64.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace ferry::config {

namespace {

bool parse_port(std::string_view text, std::uint16_t& port) {
    unsigned value = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

bool is_ip_literal(const std::string& text) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(text, ec);
    return !ec;
}

bool is_hostname(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size()) return false;
        int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

bool parse_port_list(std::string_view text, std::vector<std::uint16_t>& out) {
    out.clear();
    if (text == "any") return true;
    while (!text.empty()) {
        auto comma = text.find(',');
        std::uint16_t port = 0;
        if (!parse_port(text.substr(0, comma), port) || port == 0) return false;
        out.push_back(port);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return !out.empty();
}

namespace {

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), lower-cased into `out`.
bool parse_scheme(std::string_view text, std::string& out) {
    if (text.empty()) return false;
    out = lower(text);
    if (out.front() < 'a' || out.front() > 'z') return false;
    return std::all_of(out.begin(), out.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    });
}

} // namespace

bool parse_listen_address(std::string_view text, listen_address& out) {
    out = {};
    const bool has_scheme = text.find("://") != std::string_view::npos;
    if (has_scheme) {
        const auto end = text.find("://");
        if (!parse_scheme(text.substr(0, end), out.scheme)) return false;
        text.remove_prefix(end + 3);
        if (text.ends_with('/')) text.remove_suffix(1); // http://127.0.0.1:8080/
    }
    if (text.empty()) return false;
    if (text.front() == '[') {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return false;
        out.host = std::string(text.substr(1, close - 1));
        return !out.host.empty() && parse_port(text.substr(close + 2), out.port);
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        out.host = "127.0.0.1";
        return !has_scheme && parse_port(text, out.port); // "http://8080" is no address
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.empty() || out.host.find_first_of(":/") != std::string::npos) return false;
    return parse_port(text.substr(colon + 1), out.port);
}

std::string listen_scheme_problem(std::string_view scheme) {
    if (std::find(std::begin(listen_schemes), std::end(listen_schemes), scheme) !=
        std::end(listen_schemes))
        return {};
    std::string served;
    for (auto s : listen_schemes) {
        if (!served.empty()) served += ", ";
        served += s;
    }
    return fmt::format("unknown scheme \"{}\" (ferry serves: {})", scheme, served);
}

std::string format_listen_address(const listen_address& a) {
    const bool v6 = a.host.find(':') != std::string::npos;
    const std::string_view scheme = a.scheme == "http" ? "" : std::string_view(a.scheme);
    auto out = fmt::format("{}{}{}{}{}:{}", scheme, scheme.empty() ? "" : "://", v6 ? "[" : "",
                           a.host, v6 ? "]" : "", a.port);
    if (!a.proxy_protocol) return out;
    out += "?proxy_protocol_from=";
    for (std::size_t i = 0; i < a.proxy_protocol_from.size(); ++i) {
        if (i > 0) out += ',';
        out += format_cidr(a.proxy_protocol_from[i]);
    }
    return out;
}

std::string format_cidr(const direct_rule& r) {
    return fmt::format("{}/{}", r.network, r.prefix);
}

std::string parse_balancer(std::string_view text, direct_rule& out) {
    if (!parse_direct_rule(text, out) || out.what != direct_rule::kind::cidr)
        return fmt::format("expected an IP or CIDR, not \"{}\"", text);
    boost::system::error_code ec;
    const auto network = boost::asio::ip::make_address(out.network, ec);
    if (!ec && network.is_v6() && network.to_v6().is_v4_mapped())
        return fmt::format(
            "\"{}\" is an IPv4-mapped IPv6 network, which never matches: "
            "IPv4 balancers are matched as IPv4, write it as {}/{}",
            text,
            boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, network.to_v6())
                .to_string(),
            out.prefix >= 96 ? out.prefix - 96 : 0);
    return {};
}

std::string parse_proxy_protocol_from(std::string_view text, std::vector<direct_rule>& out) {
    out.clear();
    if (text.empty()) return "expected at least one IP or CIDR";
    for (;;) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        direct_rule r;
        if (auto problem = parse_balancer(item, r); !problem.empty()) return problem;
        out.push_back(std::move(r));
        if (comma == std::string_view::npos) return {};
        text.remove_prefix(comma + 1);
    }
}

bool parse_dns_server(std::string_view text, dns_server& out) {
    out = {};
    if (text.empty()) return false;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return false;
        out.address = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), out.port)))
            return false;
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        auto colon = text.find(':');
        out.address = std::string(text.substr(0, colon));
        if (!parse_port(text.substr(colon + 1), out.port)) return false;
    } else {
        out.address = std::string(text); // IPv4, or IPv6 without a port
    }
    return out.port != 0 && is_ip_literal(out.address);
}

std::string parse_parent(std::string_view text, parent_proxy& out) {
    out = {};
    constexpr std::string_view plain = "http://", secure = "https://";
    if (text.size() >= secure.size() && lower(text.substr(0, secure.size())) == secure) {
        out.tls = true;
        text.remove_prefix(secure.size());
    } else if (text.size() >= plain.size() && lower(text.substr(0, plain.size())) == plain) {
        text.remove_prefix(plain.size());
    } else {
        return "expected http://[user:pass@]host[:port] or https://[user:pass@]host[:port]";
    }
    if (!text.empty() && text.back() == '/') text.remove_suffix(1);
    if (text.find('/') != std::string_view::npos) return "a parent proxy URL has no path";
    if (auto at = text.rfind('@'); at != std::string_view::npos) {
        auto userinfo = text.substr(0, at);
        text.remove_prefix(at + 1);
        auto colon = userinfo.find(':');
        std::string user, password;
        if (!percent_decode(userinfo.substr(0, colon), user) ||
            (colon != std::string_view::npos &&
             !percent_decode(userinfo.substr(colon + 1), password)))
            return "bad percent-encoding in the credentials";
        if (user.empty()) return "empty user name";
        if (user.find(':') != std::string::npos) return "a user name cannot contain ':'";
        out.authorization = "Basic " + util::base64_encode(user + ":" + password);
    }
    out.port = out.tls ? 443 : 80;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return "expected ] after the IPv6 address";
        out.host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), out.port)))
            return "expected a port 1-65535 after the host";
        if (!is_ip_literal(out.host)) return "expected an IPv6 address inside [ ]";
    } else {
        auto colon = text.rfind(':');
        out.host = lower(text.substr(0, colon));
        if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), out.port))
            return "expected a port 1-65535 after the host";
        if (!is_hostname(out.host))
            return out.tls ? "expected a host name or IP address after https://"
                           : "expected a host name or IP address after http://";
    }
    if (out.port == 0) return "expected a port 1-65535 after the host";
    return {};
}

bool parse_direct_rule(std::string_view text, direct_rule& out) {
    out = {};
    if (text.empty()) return false;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        out.what = direct_rule::kind::cidr;
        out.network = std::string(text.substr(0, slash));
        boost::system::error_code ec;
        auto address = boost::asio::ip::make_address(out.network, ec);
        if (ec) return false;
        auto digits = text.substr(slash + 1);
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), out.prefix);
        if (digits.empty() || r.ec != std::errc{} || r.ptr != digits.data() + digits.size())
            return false;
        return out.prefix <= (address.is_v4() ? 32u : 128u);
    }
    std::string host = lower(text);
    if (is_ip_literal(host)) {
        out.what = direct_rule::kind::cidr;
        out.network = host;
        out.prefix = host.find(':') != std::string::npos ? 128 : 32;
        return true;
    }
    if (host.front() == '.') {
        out.what = direct_rule::kind::suffix;
        out.name = host.substr(1);
    } else {
        out.what = direct_rule::kind::host;
        out.name = host;
    }
    return is_hostname(out.name) && out.name.front() != '.';
}

} // namespace ferry::config
