#include "config/cli.h"

#include <CLI/CLI.hpp>

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

duration seconds(double s) {
    return duration(static_cast<long long>(s * 1000.0));
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

    app.add_option("port", port, "Port to listen on at 127.0.0.1 (default 9001)")
        ->check(CLI::Range(0u, 65535u));
    app.add_option("-l,--listen", listen, "Listen on HOST:PORT, [IPv6]:PORT or PORT; repeatable")
        ->type_name("ADDR");
    app.add_flag("--flow", s.flow, "Print the flow log of every exchange on stdout");
    app.add_option("--access-log", s.access_log,
                   "Access log: - (stdout, the default without --flow), off, or a file path")
        ->type_name("PATH|-|off");
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
    app.add_option("--max-header-size", s.max_header_size, "Largest request or response head")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 24));
    app.add_option("--max-target-size", s.max_target_size, "Longest request-target")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(64), std::size_t(1) << 20));

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
    // With --flow the flow log owns stdout, unless an access log was asked for explicitly.
    if (s.flow && app.count("--access-log") == 0) s.access_log = "off";
    if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());

    if (!parse_port_list(connect_ports, s.connect_ports)) {
        std::fprintf(stderr, "ferry: --connect-ports %s: expected ports like 443,8443 or any\n",
                     connect_ports.c_str());
        return {std::nullopt, 2};
    }
    for (double t : {header_timeout, idle_timeout, connect_timeout, response_timeout, send_timeout,
                     shutdown_timeout, tunnel_idle_timeout}) {
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
    return {std::move(s), 0};
}

} // namespace ferry::config
