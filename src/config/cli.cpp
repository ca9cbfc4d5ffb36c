#include "config/cli.h"

#include "config/config_file.h"
#include "util/base64.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <thread>

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

duration seconds(double s) {
    return duration(static_cast<long long>(s * 1000.0));
}

// --config / --check-config: the file's settings, then every option given on the command line.
cli_result with_config_file(const CLI::App& app, const settings& command_line,
                            const std::string& path, bool check_only) {
    auto loaded = load_config_file(path);
    if (!loaded.parsed) {
        std::fprintf(stderr, "ferry: %s\n", loaded.error.c_str());
        return {std::nullopt, 2};
    }
    settings s = std::move(*loaded.parsed);
    apply_command_line(s, command_line,
                       [&](std::string_view flag) { return app.count(std::string(flag)) > 0; });
    if (s.flow && !loaded.given.contains("access_log") && app.count("--access-log") == 0)
        s.access_log = "off";
    s.config_file = path;
    if (auto problem = check_merged(s, path); !problem.empty()) {
        std::fprintf(stderr, "ferry: %s\n", problem.c_str());
        return {std::nullopt, 2};
    }
    if (check_only) {
        std::printf("ferry: %s: OK\n", path.c_str());
        return {std::nullopt, 0};
    }
    return {std::move(s), 0};
}

} // namespace

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

bool parse_listen_address(std::string_view text, listen_address& out) {
    out = {};
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
        return parse_port(text, out.port);
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.empty() || out.host.find(':') != std::string::npos) return false;
    return parse_port(text.substr(colon + 1), out.port);
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
    constexpr std::string_view scheme = "http://";
    if (text.size() < scheme.size() || lower(text.substr(0, scheme.size())) != scheme)
        return "expected http://[user:pass@]host:port";
    text.remove_prefix(scheme.size());
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
    out.port = 80;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return "unclosed [ in the host";
        out.host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), out.port)))
            return "bad port";
        if (!is_ip_literal(out.host)) return "bad IPv6 address";
    } else {
        auto colon = text.rfind(':');
        out.host = lower(text.substr(0, colon));
        if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), out.port))
            return "bad port";
        if (!is_hostname(out.host)) return "bad host";
    }
    if (out.port == 0) return "bad port";
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

cli_result parse_command_line(int argc, char** argv) {
    settings s;
    CLI::App app{"ferry — an HTTP/1.1 forward proxy.\n"
                 "Point a client at it: curl -x http://127.0.0.1:9001 http://example.test/",
                 "ferry"};
    app.set_version_flag("-V,--version", "ferry " FERRY_VERSION);
    app.get_formatter()->column_width(36);

    std::optional<unsigned> port;
    std::vector<std::string> listen;
    double header_timeout = 10, idle_timeout = 60, connect_timeout = 10, response_timeout = 60,
           send_timeout = 60, shutdown_timeout = 10, tunnel_idle_timeout = 300;
    std::string connect_ports = "443";
    double dns_timeout = 5, dns_negative_ttl = 5, connect_attempt_timeout = 2,
           pool_idle_timeout = 60;
    std::vector<std::string> dns_servers, direct;
    std::string parent;
    std::string admin_listen;
    std::string config_file, check_config;

    app.add_option("port", port, "Port to listen on at 127.0.0.1 (default 9001)")
        ->check(CLI::Range(0u, 65535u));
    app.add_option("-l,--listen", listen, "Listen on HOST:PORT, [IPv6]:PORT or PORT; repeatable")
        ->type_name("ADDR")
        ->allow_extra_args(false);
    app.add_flag("--flow", s.flow, "Print the flow log of every exchange (on stdout)");
    app.add_option("--flow-log", s.flow_log,
                   "Flow log: - (stdout, the default), stderr, or a file path; implies --flow")
        ->type_name("PATH|-|stderr");
    app.add_option("--access-log", s.access_log,
                   "Access log: - (stdout, the default without --flow), stderr, off, or a file "
                   "path")
        ->type_name("PATH|-|off");
    std::string access_log_format = "ferry";
    app.add_option("--access-log-format", access_log_format,
                   "Access log format: ferry, squid, combined or json")
        ->check(CLI::IsMember({"ferry", "squid", "combined", "json"}))
        ->capture_default_str();
    app.add_option("-w,--workers", s.workers, "Worker threads (default: one per core)")
        ->check(CLI::Range(1u, 256u));
    app.add_option("--via", s.pseudonym, "Pseudonym in Via and Server fields")
        ->capture_default_str();
    app.add_option("--header-timeout", header_timeout, "Seconds to receive a request head")
        ->capture_default_str();
    app.add_option("--idle-timeout", idle_timeout, "Seconds a keep-alive client may stay idle")
        ->capture_default_str();
    app.add_option("--connect-timeout", connect_timeout,
                   "Seconds to resolve and connect to an origin")
        ->capture_default_str();
    app.add_option("--response-timeout", response_timeout,
                   "Seconds an origin may stay silent while a response is due")
        ->capture_default_str();
    app.add_option("--send-timeout", send_timeout, "Seconds a peer may leave ferry's writes unread")
        ->capture_default_str();
    app.add_option("--shutdown-timeout", shutdown_timeout,
                   "Seconds in-flight exchanges get to finish on SIGINT/SIGTERM")
        ->capture_default_str();
    app.add_option("--tunnel-idle-timeout", tunnel_idle_timeout,
                   "Seconds a CONNECT tunnel may carry no bytes either way")
        ->capture_default_str();
    app.add_option("--connect-ports", connect_ports,
                   "Ports CONNECT may reach: a comma-separated list, or any")
        ->capture_default_str();
    app.add_option("--dns-server", dns_servers,
                   "DNS server IP[:PORT] to use instead of the system's; repeatable")
        ->type_name("IP[:PORT]")
        ->allow_extra_args(false);
    app.add_option("--dns-timeout", dns_timeout, "Seconds to resolve one name")
        ->capture_default_str();
    app.add_option("--dns-negative-ttl", dns_negative_ttl,
                   "Seconds a name that failed to resolve is remembered")
        ->capture_default_str();
    app.add_option("--dns-cache-size", s.dns_cache_size, "Names cached per worker")
        ->capture_default_str();
    app.add_option("--connect-attempt-timeout", connect_attempt_timeout,
                   "Seconds for one address of an origin while others remain to try")
        ->capture_default_str();
    app.add_option("--pool-per-host", s.pool_per_host,
                   "Idle upstream connections kept per host:port (0: no pool)")
        ->capture_default_str();
    app.add_option("--pool-total", s.pool_total,
                   "Idle upstream connections kept in all, per worker")
        ->capture_default_str();
    app.add_option("--pool-idle-timeout", pool_idle_timeout,
                   "Seconds an idle upstream connection is kept")
        ->capture_default_str();
    app.add_option("--parent", parent,
                   "Send requests through this HTTP proxy: http://[user:pass@]host:port")
        ->type_name("URL");
    app.add_option("--direct", direct,
                   "Bypass the parent for HOST, .DOMAIN (and subdomains) or a CIDR; repeatable")
        ->type_name("RULE")
        ->allow_extra_args(false);
    app.add_option("--user", s.user, "Switch to this user after binding the listeners")
        ->type_name("NAME");
    app.add_option("--admin-listen", admin_listen,
                   "Serve /metrics and /healthz on HOST:PORT (off by default)")
        ->type_name("ADDR");
    app.add_option("--htpasswd", s.auth.htpasswd,
                   "Require proxy credentials (Basic) checked against this htpasswd file")
        ->type_name("FILE");
    app.add_option("--auth-realm", s.auth.realm, "Realm named in the 407 challenge")
        ->capture_default_str();
    std::string splice = "on";
    app.add_option("--splice", splice,
                   "Relay tunnels and large unchanged bodies with splice(2): on or off")
        ->check(CLI::IsMember({"on", "off"}))
        ->capture_default_str();
    app.add_option("--max-header-size", s.max_header_size, "Largest request or response head")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 24));
    app.add_option("--max-target-size", s.max_target_size, "Longest request-target")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(64), std::size_t(1) << 20));
    app.add_option("--max-connections", s.max_connections,
                   "Client connections held at once, in all (0: a third of the open-file limit)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(0), std::size_t(100'000'000)));
    app.add_option("--max-connections-per-client", s.max_connections_per_client,
                   "Client connections held at once from one address (0: no limit)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(0), std::size_t(100'000'000)));

    auto* config = app.add_option("--config", config_file,
                                  "Read settings from this TOML file; options given here win")
                       ->type_name("FILE");
    app.add_option("--check-config", check_config,
                   "Check this TOML configuration file, say OK or what is wrong, and exit")
        ->type_name("FILE")
        ->excludes(config);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, app.exit(e)};
    }

    s.listen.clear();
    if (port) s.listen.push_back({"127.0.0.1", static_cast<std::uint16_t>(*port)});
    for (const auto& text : listen) {
        listen_address a;
        if (!parse_listen_address(text, a)) {
            std::fprintf(stderr, "ferry: --listen %s: expected HOST:PORT or [IPv6]:PORT\n",
                         text.c_str());
            return {std::nullopt, 2};
        }
        s.listen.push_back(a);
    }
    if (s.listen.empty()) s.listen.push_back({"127.0.0.1", 9001});
    s.access_log_format = *observe::parse_access_log_format(access_log_format);
    s.splice = splice == "on";
    if (app.count("--flow-log") > 0) s.flow = true;
    // With --flow the flow log owns stdout, unless an access log was asked for explicitly.
    if (s.flow && s.flow_log == "-" && app.count("--access-log") == 0) s.access_log = "off";
    if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());

    if (!parse_port_list(connect_ports, s.connect_ports)) {
        std::fprintf(stderr, "ferry: --connect-ports %s: expected ports like 443,8443 or any\n",
                     connect_ports.c_str());
        return {std::nullopt, 2};
    }
    for (const auto& text : dns_servers) {
        dns_server server;
        if (!parse_dns_server(text, server)) {
            std::fprintf(stderr, "ferry: --dns-server %s: expected IP, IP:PORT or [IPv6]:PORT\n",
                         text.c_str());
            return {std::nullopt, 2};
        }
        s.dns_servers.push_back(server);
    }
    if (!parent.empty()) {
        parent_proxy p;
        if (auto problem = parse_parent(parent, p); !problem.empty()) {
            // Never echo a password: the message may end up in a journal.
            std::string shown = parent;
            if (auto at = shown.rfind('@'); at != std::string::npos) {
                auto start = shown.find("://");
                start = start == std::string::npos ? 0 : start + 3;
                auto colon = shown.find(':', start);
                if (colon != std::string::npos && colon < at)
                    shown.replace(colon + 1, at - colon - 1, "***");
            }
            std::fprintf(stderr, "ferry: --parent %s: %s\n", shown.c_str(), problem.c_str());
            return {std::nullopt, 2};
        }
        s.parent = p;
    }
    if (!admin_listen.empty()) {
        listen_address a;
        if (!parse_listen_address(admin_listen, a)) {
            std::fprintf(stderr, "ferry: --admin-listen %s: expected HOST:PORT or [IPv6]:PORT\n",
                         admin_listen.c_str());
            return {std::nullopt, 2};
        }
        s.admin_listen = a;
    }
    for (const auto& text : direct) {
        direct_rule rule;
        if (!parse_direct_rule(text, rule)) {
            std::fprintf(stderr, "ferry: --direct %s: expected a host, .domain, IP or CIDR\n",
                         text.c_str());
            return {std::nullopt, 2};
        }
        s.direct.push_back(rule);
    }
    for (unsigned char c : s.auth.realm) {
        if (c < 0x20 || c == 0x7f) {
            std::fprintf(stderr, "ferry: --auth-realm: control characters are not allowed\n");
            return {std::nullopt, 2};
        }
    }
    for (double t : {header_timeout, idle_timeout, connect_timeout, response_timeout, send_timeout,
                     shutdown_timeout, tunnel_idle_timeout, dns_timeout, connect_attempt_timeout,
                     pool_idle_timeout}) {
        if (!(t > 0)) {
            std::fprintf(stderr, "ferry: timeouts must be positive numbers of seconds\n");
            return {std::nullopt, 2};
        }
    }
    s.header_timeout = seconds(header_timeout);
    s.idle_timeout = seconds(idle_timeout);
    s.connect_timeout = seconds(connect_timeout);
    s.response_timeout = seconds(response_timeout);
    s.send_timeout = seconds(send_timeout);
    s.shutdown_timeout = seconds(shutdown_timeout);
    s.tunnel_idle_timeout = seconds(tunnel_idle_timeout);
    if (!(dns_negative_ttl >= 0)) {
        std::fprintf(stderr, "ferry: --dns-negative-ttl must be zero or more seconds\n");
        return {std::nullopt, 2};
    }
    s.dns_timeout = seconds(dns_timeout);
    s.dns_negative_ttl = seconds(dns_negative_ttl);
    s.connect_attempt_timeout = seconds(connect_attempt_timeout);
    s.pool_idle_timeout = seconds(pool_idle_timeout);
    if (app.count("--check-config") > 0) return with_config_file(app, s, check_config, true);
    if (app.count("--config") > 0) return with_config_file(app, s, config_file, false);
    return {std::move(s), 0};
}

} // namespace ferry::config
