#include "app/pac.h"

#include "upstream/route.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::app {

namespace asio = boost::asio;

namespace {

// The host of a Host field when it names this machine plausibly: a DNS name or an IP literal
// (lower-cased, brackets and port removed); "" otherwise.
std::string host_of(std::string_view field) {
    std::string_view host = field;
    if (host.starts_with("[")) {
        const auto end = host.find(']');
        if (end == std::string_view::npos) return {};
        host = host.substr(1, end - 1);
        boost::system::error_code ec;
        asio::ip::make_address_v6(std::string(host), ec);
        return ec ? std::string() : std::string(host);
    }
    host = host.substr(0, host.find(':'));
    if (host.empty() || host.size() > 253) return {};
    std::string out;
    for (char c : host) {
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return {};
        out += c;
    }
    return out;
}

std::string ipv4_mask(unsigned prefix) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix);
    return fmt::format("{}.{}.{}.{}", mask >> 24, (mask >> 16) & 0xff, (mask >> 8) & 0xff,
                       mask & 0xff);
}

// One --direct rule as a condition on `h` (the lower-cased host without a final dot).
std::string condition(const config::direct_rule& r) {
    using kind = config::direct_rule::kind;
    switch (r.what) {
    case kind::host:
        return fmt::format("h == {}", js_string(r.name));
    case kind::suffix:
        return fmt::format("h == {} || dnsDomainIs(h, {})", js_string(r.name),
                           js_string("." + r.name));
    case kind::cidr: {
        boost::system::error_code ec;
        const auto net = asio::ip::make_address(r.network, ec);
        if (ec) return "false";
        if (net.is_v4())
            return fmt::format("ferryIsIPv4(h) && isInNet(h, {}, {})", js_string(r.network),
                               js_string(ipv4_mask(r.prefix)));
        return fmt::format("ferryInNet6(h, {}, {})", js_string(r.network), r.prefix);
    }
    }
    return "false";
}

// Old JavaScript only (PAC engines embed old interpreters): var, function, no arrows.
constexpr std::string_view helpers = R"js(
function ferryIsIPv4(h) {
    return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

// An IPv6 literal as its eight 16-bit words, or null.
function ferryWords6(h) {
    if (h.indexOf(":") < 0 || !/^[0-9a-f:.]+$/.test(h)) return null;
    var halves = h.split("::");
    if (halves.length > 2) return null;
    var head = halves[0] ? halves[0].split(":") : [];
    var tail = halves.length == 2 && halves[1] ? halves[1].split(":") : [];
    var last = tail.length ? tail : head;
    if (last.length && last[last.length - 1].indexOf(".") >= 0) {
        var v4 = last.pop();
        if (!ferryIsIPv4(v4)) return null;
        var b = v4.split(".");
        last.push((parseInt(b[0], 10) * 256 + parseInt(b[1], 10)).toString(16));
        last.push((parseInt(b[2], 10) * 256 + parseInt(b[3], 10)).toString(16));
    }
    var fill = 8 - head.length - tail.length;
    if (halves.length == 1 ? fill != 0 : fill < 1) return null;
    var words = head;
    for (var i = 0; i < fill; i++) words = words.concat(["0"]);
    words = words.concat(tail);
    var out = [];
    for (var j = 0; j < 8; j++) {
        if (!/^[0-9a-f]{1,4}$/.test(words[j])) return null;
        out.push(parseInt(words[j], 16));
    }
    return out;
}

function ferryInNet6(h, net, bits) {
    var a = ferryWords6(h), n = ferryWords6(net);
    if (!a || !n) return false;
    for (var i = 0; i < 8 && bits > 0; i++) {
        var take = bits >= 16 ? 16 : bits;
        var mask = (0xffff << (16 - take)) & 0xffff;
        if ((a[i] & mask) != (n[i] & mask)) return false;
        bits -= take;
    }
    return true;
}
)js";

} // namespace

std::string js_string(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '/' || c == '_' ||
                           c == '-' || c == ' ' || c == ';' || c == '[' || c == ']';
        out += plain ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    }
    return out + "\"";
}

std::vector<pac_proxy> pac_proxies(const config::settings& s,
                                   std::span<const pac_listener> listeners,
                                   std::string_view request_host) {
    if (s.pac_proxy)
        return {{s.pac_proxy->scheme == "https", s.pac_proxy->host, s.pac_proxy->port}};
    bool only_loopback = true;
    for (const auto& l : listeners)
        if (!l.endpoint.address().is_loopback()) only_loopback = false;
    const auto named = host_of(request_host);
    std::vector<pac_proxy> out;
    for (const auto& l : listeners) {
        const auto a = l.endpoint.address();
        if (a.is_loopback() && !only_loopback) continue;
        pac_proxy p{l.scheme == "https", a.is_unspecified() ? named : a.to_string(),
                    l.endpoint.port()};
        if (p.host.empty()) continue;
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
}

std::string pac_proxy_list(const std::vector<pac_proxy>& proxies) {
    std::string out;
    for (const auto& p : proxies) {
        if (!out.empty()) out += "; ";
        out += fmt::format("{} {}", p.https ? "HTTPS" : "PROXY",
                           upstream::host_port_label(p.host, p.port));
    }
    return out;
}

std::string pac_file(const config::settings& s, const std::vector<pac_proxy>& proxies) {
    std::string out =
        "// Proxy auto-config generated by ferry from its running configuration.\n"
        "function FindProxyForURL(url, host) {\n"
        "    var h = String(host).toLowerCase();\n"
        "    if (h.length > 1 && h.charAt(h.length - 1) == \".\") h = h.substring(0, h.length "
        "- 1);\n"
        "    if (h.charAt(0) == \"[\") h = h.substring(1, h.length - 1);\n"
        "    // The client's own machine.\n"
        "    if (h == \"localhost\" || dnsDomainIs(h, \".localhost\") ||\n"
        "        (ferryIsIPv4(h) && isInNet(h, \"127.0.0.0\", \"255.0.0.0\")) || h == \"::1\")\n"
        "        return \"DIRECT\";\n";
    if (!s.direct.empty()) out += "    // --direct rules.\n";
    for (const auto& r : s.direct)
        out += fmt::format("    if ({}) return \"DIRECT\";\n", condition(r));
    out += fmt::format("    return {};\n}}\n", js_string(pac_proxy_list(proxies)));
    out += helpers;
    return out;
}

} // namespace ferry::app
