#include "config/field_text.h"

#include "config/values.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace ferry::config::field_text {

namespace {
constexpr std::string_view format_names[] = {"ferry", "squid", "combined", "json"};
constexpr std::string_view tunnel_sni_names[] = {"any", "match", "require"};
constexpr std::string_view address_shape = R"("HOST:PORT" or "[IPv6]:PORT")";
} // namespace

std::string read_text(std::string_view v, std::string& out) {
    if (v.empty()) return "expected a non-empty string";
    for (unsigned char c : v)
        if (c < 0x20 || c == 0x7f) return "control characters are not allowed";
    out = std::string(v);
    return {};
}

// A pseudonym goes into Via and Server: one token, no spaces.
std::string read_pseudonym(std::string_view v, std::string& out) {
    if (auto p = read_text(v, out); !p.empty()) return p;
    if (v.find_first_of(" ,()\"\\") != std::string_view::npos)
        return "expected a name without spaces, commas, parentheses or quotes";
    return {};
}

// Goes into `Proxy-Authenticate: Basic realm="..."`.
std::string read_realm(std::string_view v, std::string& out) {
    if (auto p = read_text(v, out); !p.empty()) return p;
    if (v.find_first_of("\"\\") != std::string_view::npos)
        return "a realm cannot contain quotes or backslashes";
    return {};
}

bool whole_integer(std::string_view v, long long& out) {
    auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    return !v.empty() && r.ec == std::errc{} && r.ptr == v.data() + v.size();
}

std::string read_on_off(std::string_view v, bool& out) {
    if (v != "on" && v != "off") return "expected on or off";
    out = v == "on";
    return {};
}

// The flow log goes somewhere once asked for: "off" would be a file named so, or nothing.
std::string read_flow_log(std::string_view v, std::string& out) {
    if (v == "off")
        return R"(expected a file path, "-" or "stderr": the flow log is off unless asked for)";
    return read_text(v, out);
}

std::string read_log_format(std::string_view v, observe::access_log_format& out) {
    auto f = observe::parse_access_log_format(v);
    if (!f) return R"(expected "ferry", "squid", "combined" or "json")";
    out = *f;
    return {};
}

std::string read_tunnel_sni(std::string_view v, tunnel_sni_policy& out) {
    for (std::size_t i = 0; i < std::size(tunnel_sni_names); ++i)
        if (v == tunnel_sni_names[i]) {
            out = static_cast<tunnel_sni_policy>(i);
            return {};
        }
    return R"(expected "any", "match" or "require")";
}

// The positional port: listen on 127.0.0.1:PORT, in front of the --listen addresses.
std::string read_port(std::string_view v, std::vector<listen_address>& out) {
    long long n = 0;
    if (!whole_integer(v, n) || n < 0 || n > 65535) return "expected a port 0-65535";
    out.insert(out.begin(), listen_address{"127.0.0.1", static_cast<std::uint16_t>(n)});
    return {};
}

std::string read_connect_ports(std::string_view v, std::vector<std::uint16_t>& out) {
    if (!parse_port_list(v, out)) return R"(expected a port 1-65535 or "any")";
    return {};
}

// The scheme picks the front end (frontend/registry): one ferry does not serve is refused
// here, from the command line and the file alike, rather than served as something else.
// "?proxy_protocol_from=CIDR,..." after the address turns the PROXY protocol on (issue 17).
std::string read_listen(std::string_view v, std::vector<listen_address>& out) {
    listen_address a;
    const auto query = v.find('?');
    if (!parse_listen_address(v.substr(0, query), a))
        return fmt::format("expected {}", address_shape);
    if (auto problem = listen_scheme_problem(a.scheme); !problem.empty()) return problem;
    if (query != std::string_view::npos) {
        constexpr std::string_view key = "proxy_protocol_from=";
        const auto rest = v.substr(query + 1);
        if (!rest.starts_with(key))
            return R"(expected "?proxy_protocol_from=CIDR[,CIDR...]" after the address)";
        if (auto p = parse_proxy_protocol_from(rest.substr(key.size()), a.proxy_protocol_from);
            !p.empty())
            return "proxy_protocol_from: " + p;
        a.proxy_protocol = true;
    }
    out.push_back(a);
    return {};
}

// ferry's own pages are plain HTTP: `http://` may be written, nothing else.
std::string read_admin_listen(std::string_view v, std::optional<listen_address>& out) {
    listen_address a;
    if (!parse_listen_address(v, a)) return fmt::format("expected {}", address_shape);
    if (a.scheme != "http")
        return fmt::format("unknown scheme \"{}\" (the admin listener serves http only)", a.scheme);
    out = a;
    return {};
}

// The proxy a PAC file names: [http://|https://]HOST:PORT (https: "HTTPS host:port").
std::string read_pac_proxy(std::string_view v, std::optional<listen_address>& out) {
    listen_address a;
    const auto sep = v.find("://");
    const auto rest = sep == std::string_view::npos ? v : v.substr(sep + 3);
    if (!parse_listen_address(v, a) || rest.find(':') == std::string_view::npos || a.port == 0)
        return R"(expected "HOST:PORT", "[IPv6]:PORT" or https://HOST:PORT)";
    if (a.scheme != "http" && a.scheme != "https")
        return fmt::format("unknown scheme \"{}\" (expected http or https)", a.scheme);
    for (char c : a.host)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':')
            return "expected a host name or IP address before the port";
    out = a;
    return {};
}

std::string read_dns_server(std::string_view v, std::vector<dns_server>& out) {
    dns_server s;
    if (!parse_dns_server(v, s)) return R"(expected "IP", "IP:PORT" or "[IPv6]:PORT")";
    out.push_back(s);
    return {};
}

// The message never repeats the URL: it may hold a password.
std::string read_parent(std::string_view v, std::optional<parent_proxy>& out) {
    parent_proxy p;
    if (auto why = parse_parent(v, p); !why.empty()) return why;
    out = p;
    return {};
}

std::string read_direct(std::string_view v, std::vector<direct_rule>& out) {
    direct_rule r;
    if (!parse_direct_rule(v, r)) return R"(expected a host, ".domain", IP or CIDR)";
    out.push_back(r);
    return {};
}

// --trusted-forwarders: IPs or CIDRs, one or a comma-separated list, appended.
std::string read_trusted_forwarders(std::string_view v, std::vector<direct_rule>& out) {
    std::vector<direct_rule> more;
    if (auto problem = parse_proxy_protocol_from(v, more); !problem.empty()) return problem;
    out.insert(out.end(), more.begin(), more.end());
    return {};
}

// "http://user:***@host": a --parent value as a message may show it.
std::string mask_password(std::string_view value) {
    std::string shown(value);
    if (auto at = shown.rfind('@'); at != std::string::npos) {
        auto start = shown.find("://");
        start = start == std::string::npos ? 0 : start + 3;
        auto colon = shown.find(':', start);
        if (colon != std::string::npos && colon < at)
            shown.replace(colon + 1, at - colon - 1, "***");
    }
    return shown;
}

std::string read_file_list(std::string_view v, std::vector<std::string>& out) {
    std::string file;
    if (auto p = read_text(v, file); !p.empty()) return p;
    out.push_back(std::move(file));
    return {};
}

// An OpenSSL cipher list: the characters its syntax uses, checked by OpenSSL when loaded.
std::string read_cipher_list(std::string_view v, std::string& out) {
    if (auto p = read_text(v, out); !p.empty()) return p;
    if (v.find_first_of(" \t\"'") != std::string_view::npos)
        return "expected an OpenSSL cipher list such as ECDHE-RSA-AES128-GCM-SHA256:...";
    return {};
}

// ---- a value as the command line writes it ("" when there is nothing to show) ----

std::string to_text(const std::string& s) {
    return s;
}
std::string to_text(bool b) {
    return b ? "on" : "off";
}
std::string to_text(std::size_t n) {
    return std::to_string(n);
}
std::string to_text(unsigned n) {
    return std::to_string(n);
}
std::string to_text(duration d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000);
    return fmt::format("{}", static_cast<double>(d.count()) / 1000.0);
}
std::string to_text(observe::access_log_format f) {
    return std::string(format_names[static_cast<std::size_t>(f)]);
}
std::string to_text(tunnel_sni_policy p) {
    return std::string(tunnel_sni_names[static_cast<std::size_t>(p)]);
}
std::string to_text(const std::vector<std::uint16_t>& ports) {
    if (ports.empty()) return "any";
    return fmt::format("{}", fmt::join(ports, ","));
}
std::string to_text(const std::vector<listen_address>& l) {
    return l.size() == 1 ? format_listen_address(l[0]) : std::string();
}

} // namespace ferry::config::field_text
