#include "config/options.h"

#include "config/option_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <thread>

namespace ferry::config {

namespace {

using namespace rows;

// --flow-log also turns the flow log on, wherever it is given.
option turns_flow_on(option o) {
    o.apply = [apply = o.apply](settings& s, std::string_view v) {
        auto problem = apply(s, v);
        if (problem.empty()) s.flow = true;
        return problem;
    };
    o.copy = [copy = o.copy](const settings& from, settings& to) {
        copy(from, to);
        to.flow = from.flow;
    };
    return o;
}

// The htpasswd file is read again on reload; only turning authentication on or off needs a
// restart.
option on_off_needs_restart(option o) {
    o.same = [](const settings& a, const settings& b) {
        return a.auth.htpasswd.empty() == b.auth.htpasswd.empty();
    };
    return o;
}

option masked(option o) {
    o.shown = [](std::string_view v) { return mask_password(v); };
    return o;
}

auto auth_htpasswd = [](auto& s) -> auto& {
    return s.auth.htpasswd;
};
auto auth_realm = [](auto& s) -> auto& {
    return s.auth.realm;
};

auto tls_field(std::string tls_settings::*member) {
    return [member](auto& s) -> auto& {
        return s.tls.*member;
    };
}
auto tls_cert = [](auto& s) -> auto& {
    return s.tls.cert;
};
auto tls_key = [](auto& s) -> auto& {
    return s.tls.key;
};
auto tls_handshake_timeout = [](auto& s) -> auto& {
    return s.tls.handshake_timeout;
};

// Where ferry listens and how many loops serve it.
std::vector<option> listen_options() {
    return {
        no_default_shown(row({"", 0, "port", k::integer, "PORT",
                              "Port to listen on at 127.0.0.1 (default 9001)", live},
                             &settings::listen, read_port)),
        row({"--listen", 'l', "listen", k::list, "ADDR",
             "Listen on HOST:PORT, [IPv6]:PORT or PORT, after http://, https:// or socks5://, "
             "then ?proxy_protocol_from=CIDR,... for the PROXY protocol; repeatable",
             live},
            &settings::listen, read_listen),
        no_default_shown(row({"--workers", 'w', "workers", k::integer, "N",
                              "Worker threads (default: one per core)", restart},
                             &settings::workers, count(1, 256))),
    };
}

// The flow log and the access log.
std::vector<option> log_options() {
    return {
        row({"--flow", 0, "flow", k::flag, "", "Print the flow log of every exchange (on stdout)",
             live},
            &settings::flow, read_on_off),
        row({"--access-log", 0, "access_log", k::text, "PATH|-|stderr|off",
             "Access log: - (stdout), stderr, off, or a file path", live},
            &settings::access_log, read_text),
        row({"--access-log-format", 0, "access_log_format", k::text, "ferry|squid|combined|json",
             "Access log format", live},
            &settings::access_log_format, read_log_format),
        row({"--log-flush-interval", 0, "log_flush_interval", k::seconds, "S",
             "Seconds an access-log line may wait to be written (0: at once)", live},
            &settings::log_flush_interval, seconds(true)),
        turns_flow_on(row({"--flow-log", 0, "flow_log", k::text, "PATH|-|stderr",
                           "Where the flow log goes (- is stdout); implies --flow", live},
                          &settings::flow_log, read_flow_log)),
    };
}

// The admin listener and the user ferry runs as.
std::vector<option> process_options() {
    return {
        row({"--admin-listen", 0, "admin_listen", k::text, "ADDR",
             "Serve the status page, the live flow, /metrics and /healthz on HOST:PORT or "
             "http://HOST:PORT (off by default)",
             restart},
            &settings::admin_listen, read_admin_listen),
        row({"--admin-auth", 0, "admin_auth", k::text, "none|token|basic",
             "Credentials the admin listener asks for (all but /healthz): a bearer token, or "
             "Basic with the htpasswd users",
             live},
            &settings::admin_auth,
            one_of({"none", "token", "basic"}, R"(expected "none", "token" or "basic")")),
        row({"--admin-token-file", 0, "admin_token_file", k::text, "FILE",
             "The admin listener's bearer token: this file's first line", live},
            &settings::admin_token_file, read_text),
        row({"--admin-flow-entries", 0, "admin_flow_entries", k::integer, "N",
             "Exchanges the admin listener's live flow view keeps", restart},
            &settings::admin_flow_entries, count(1, 100000)),
        row({"--status-on-proxy-port", 0, "status_on_proxy_port", k::on_off, "on|off",
             "Answer requests for ferry itself on the proxy ports with the admin listener's pages "
             "(not its live streams)",
             live},
            &settings::status_on_proxy_port, read_on_off),
        row({"--pac-proxy", 0, "pac_proxy", k::text, "HOST:PORT",
             "The proxy /proxy.pac names (default: from the listeners); https:// for HTTPS", live},
            &settings::pac_proxy, read_pac_proxy),
        row({"--user", 0, "user", k::text, "NAME",
             "Switch to this user after binding the listeners", restart},
            &settings::user, read_text),
    };
}

// What a request may be, and how many clients at once.
std::vector<option> request_options() {
    return {
        row({"--connect-ports", 0, "connect_ports", k::port_list, "LIST|any",
             "Ports CONNECT may reach: a comma-separated list, or any", live},
            &settings::connect_ports, read_connect_ports),
        row({"--socks-ports", 0, "socks_ports", k::port_list, "LIST|any",
             "Ports a SOCKS5 CONNECT may reach: a comma-separated list, or any", live},
            &settings::socks_ports, read_connect_ports),
        row({"--socks5-on-http", 0, "socks5_on_http", k::on_off, "on|off",
             "Serve SOCKS5 on http:// listeners to a connection whose first byte is 0x05", live},
            &settings::socks5_on_http, read_on_off),
        row({"--tunnel-sni", 0, "tunnel_sni", k::text, "any|match|require",
             "What a CONNECT tunnel's TLS ClientHello must name: any server, the CONNECT host "
             "(match), or that and a TLS hello at all (require)",
             live},
            &settings::tunnel_sni, read_tunnel_sni),
        row({"--max-header-size", 0, "max_header_size", k::integer, "BYTES",
             "Largest request or response head", live},
            &settings::max_header_size, count(1024, 1 << 24)),
        row({"--max-target-size", 0, "max_target_size", k::integer, "BYTES",
             "Longest request-target", live},
            &settings::max_target_size, count(64, 1 << 20)),
        row({"--max-connections", 0, "max_connections", k::integer, "N",
             "Client connections held at once, in all (0: from the open-file limit)", live},
            &settings::max_connections, count(0, 100'000'000)),
        row({"--max-connections-per-client", 0, "max_connections_per_client", k::integer, "N",
             "Client connections held at once from one address (0: no limit)", live},
            &settings::max_connections_per_client, count(0, 100'000'000)),
        row({"--splice", 0, "splice", k::on_off, "on|off",
             "Relay tunnels and large unchanged bodies with splice(2)", live},
            &settings::splice, read_on_off),
    };
}

// How long each wait may last.
std::vector<option> timeout_options() {
    return {
        row({"--header-timeout", 0, "header_timeout", k::seconds, "S",
             "Seconds to receive a request head", live},
            &settings::header_timeout, seconds(false)),
        row({"--idle-timeout", 0, "idle_timeout", k::seconds, "S",
             "Seconds a keep-alive client may stay idle", live},
            &settings::idle_timeout, seconds(false)),
        row({"--connect-timeout", 0, "connect_timeout", k::seconds, "S",
             "Seconds to resolve and connect to an origin", live},
            &settings::connect_timeout, seconds(false)),
        row({"--response-timeout", 0, "response_timeout", k::seconds, "S",
             "Seconds an origin may stay silent while a response is due", live},
            &settings::response_timeout, seconds(false)),
        row({"--send-timeout", 0, "send_timeout", k::seconds, "S",
             "Seconds a peer may leave ferry's writes unread", live},
            &settings::send_timeout, seconds(false)),
        row({"--shutdown-timeout", 0, "shutdown_timeout", k::seconds, "S",
             "Seconds in-flight exchanges get to finish on SIGINT/SIGTERM", live},
            &settings::shutdown_timeout, seconds(false)),
        row({"--tunnel-idle-timeout", 0, "tunnel_idle_timeout", k::seconds, "S",
             "Seconds a CONNECT tunnel may carry no bytes either way", live},
            &settings::tunnel_idle_timeout, seconds(false)),
        row({"--proxy-protocol-timeout", 0, "proxy_protocol_timeout", k::seconds, "S",
             "Seconds a PROXY protocol listener waits for the balancer's header", live},
            &settings::proxy_protocol_timeout, seconds(false)),
    };
}

// Upstream: DNS, connecting, the pool, the parent proxy.
std::vector<option> upstream_options() {
    return {
        row({"--dns-server", 0, "dns_server", k::list, "IP[:PORT]",
             "DNS server to use instead of the system's; repeatable", restart},
            &settings::dns_servers, read_dns_server),
        row({"--dns-timeout", 0, "dns_timeout", k::seconds, "S", "Seconds to resolve one name",
             restart},
            &settings::dns_timeout, seconds(false)),
        row({"--dns-negative-ttl", 0, "dns_negative_ttl", k::seconds, "S",
             "Seconds a name that failed to resolve is remembered", restart},
            &settings::dns_negative_ttl, seconds(true)),
        row({"--dns-cache-size", 0, "dns_cache_size", k::integer, "N", "Names cached per worker",
             restart},
            &settings::dns_cache_size, count(0, 100'000'000)),
        row({"--connect-attempt-timeout", 0, "connect_attempt_timeout", k::seconds, "S",
             "Seconds for one address of an origin while others remain to try", live},
            &settings::connect_attempt_timeout, seconds(false)),
        row({"--happy-eyeballs-delay", 0, "happy_eyeballs_delay", k::seconds, "S",
             "Seconds before the next address of an origin is tried beside the first", live},
            &settings::happy_eyeballs_delay, seconds(false)),
        row({"--pool-per-host", 0, "pool_per_host", k::integer, "N",
             "Idle upstream connections kept per host:port (0: no pool)", live},
            &settings::pool_per_host, count(0, 1'000'000)),
        row({"--pool-total", 0, "pool_total", k::integer, "N",
             "Idle upstream connections kept in all, per worker", live},
            &settings::pool_total, count(0, 100'000'000)),
        row({"--pool-idle-timeout", 0, "pool_idle_timeout", k::seconds, "S",
             "Seconds an idle upstream connection is kept", live},
            &settings::pool_idle_timeout, seconds(false)),
        masked(row({"--parent", 0, "parent", k::text, "URL",
                    "Send requests through this proxy: http:// or https://[user:pass@]host[:port]",
                    live},
                   &settings::parent, read_parent)),
        row({"--parent-ca", 0, "parent_ca", k::text, "FILE",
             "CA certificates (PEM) an https:// parent is verified against (default: the "
             "system's)",
             live},
            &settings::parent_ca, read_text),
        row({"--direct", 0, "direct", k::list, "RULE",
             "Bypass the parent for HOST, .DOMAIN (and subdomains) or a CIDR; repeatable", live},
            &settings::direct, read_direct),
    };
}

// Proxy authentication.
std::vector<option> auth_options() {
    return {
        on_off_needs_restart(row({"--htpasswd", 0, "auth.htpasswd", k::text, "FILE",
                                  "Require proxy credentials (Basic) checked against this "
                                  "htpasswd file",
                                  restart},
                                 auth_htpasswd, read_text)),
        row({"--auth-realm", 0, "auth.realm", k::text, "REALM", "Realm named in the 407 challenge",
             restart},
            auth_realm, read_realm),
    };
}

// The HTTPS listeners: certificates, ciphers, client certificates.
std::vector<option> tls_options() {
    return {
        row({"--tls-cert", 0, "tls_cert", k::list, "FILE",
             "Certificate chain (PEM) for https:// listeners; repeatable, chosen by SNI", live},
            tls_cert, read_file_list),
        row({"--tls-key", 0, "tls_key", k::list, "FILE",
             "Private key (PEM) of each --tls-cert, in order (default: in the cert file)", live},
            tls_key, read_file_list),
        no_default_shown(row({"--tls-ciphers", 0, "tls_ciphers", k::text, "LIST",
                              "TLS 1.2 cipher list, OpenSSL syntax (default: Mozilla's "
                              "intermediate)",
                              live},
                             tls_field(&tls_settings::ciphers), read_cipher_list)),
        row({"--tls-handshake-timeout", 0, "tls_handshake_timeout", k::seconds, "S",
             "Seconds a client has to complete the TLS handshake", live},
            tls_handshake_timeout, seconds(false)),
        row({"--tls-client-ca", 0, "tls_client_ca", k::text, "FILE",
             "Ask clients for certificates and verify them against these CAs (PEM)", live},
            tls_field(&tls_settings::client_ca), read_text),
        row({"--tls-client-auth", 0, "tls_client_auth", k::text, "optional|required",
             "Whether a client certificate is required (with --tls-client-ca)", live},
            tls_field(&tls_settings::client_auth),
            one_of({"optional", "required"}, R"(expected "optional" or "required")")),
        row({"--tls-client-identity", 0, "tls_client_identity", k::text,
             "cn|san-dns|san-email|san-uri", "What of a client certificate becomes the user name",
             live},
            tls_field(&tls_settings::client_identity),
            one_of({"cn", "san-dns", "san-email", "san-uri"},
                   R"(expected "cn", "san-dns", "san-email" or "san-uri")")),
        row({"--tls-client-crl", 0, "tls_client_crl", k::text, "FILE",
             "Refuse client certificates revoked in this CRL file (PEM)", live},
            tls_field(&tls_settings::client_crl), read_text),
    };
}

auto http2_field(auto http2_settings::*member) {
    return [member](auto& s) -> auto& {
        return s.http2.*member;
    };
}

// HTTP/2 from clients: where it is spoken, and the limits ferry announces.
std::vector<option> http2_options() {
    return {
        row({"--http2", 0, "http2", k::on_off, "on|off",
             "Offer HTTP/2 (ALPN h2) on https:// listeners", live},
            http2_field(&http2_settings::enabled), read_on_off),
        row({"--http2-cleartext", 0, "http2_cleartext", k::on_off, "on|off",
             "Accept HTTP/2 with prior knowledge (the h2 preface) on http:// listeners", live},
            http2_field(&http2_settings::cleartext), read_on_off),
        row({"--http2-max-concurrent-streams", 0, "http2_max_concurrent_streams", k::integer, "N",
             "Streams one HTTP/2 connection may have open at once", live},
            http2_field(&http2_settings::max_concurrent_streams), count(1, 10'000)),
        row({"--http2-max-header-list-size", 0, "http2_max_header_list_size", k::integer, "N",
             "Largest HTTP/2 request header list in bytes, decoded; larger gets 431", live},
            http2_field(&http2_settings::max_header_list_size), count(1024, 1 << 24)),
        row({"--http2-max-frame-size", 0, "http2_max_frame_size", k::integer, "BYTES",
             "Largest HTTP/2 frame a client may send", live},
            http2_field(&http2_settings::max_frame_size), count(16'384, 16'777'215)),
        row({"--http2-stream-window", 0, "http2_stream_window", k::integer, "BYTES",
             "Bytes of a request body a client may send ahead, per stream", live},
            http2_field(&http2_settings::stream_window), count(1024, 2'147'483'647)),
        row({"--http2-connection-window", 0, "http2_connection_window", k::integer, "BYTES",
             "Bytes of request bodies a client may send ahead, per connection", live},
            http2_field(&http2_settings::connection_window), count(65'535, 2'147'483'647)),
    };
}

// Command line only: which file to read, or check.
std::vector<option> file_options() {
    return {
        row({"--config", 0, "", k::text, "FILE",
             "Read settings from this TOML file; options given here win", live},
            &settings::config_file, read_text),
        row({"--check-config", 0, "", k::text, "FILE",
             "Check this TOML configuration file, say OK or what is wrong, and exit", live},
            &settings::config_file, read_text),
    };
}

// Every row, in the order --help and the documents list them.
std::vector<option> build() {
    std::vector<option> all;
    for (auto group : {listen_options, log_options, process_options, egress_options,
                       request_options, timeout_options, upstream_options, auth_options,
                       tls_options, http2_options, file_options}) {
        auto rows = group();
        all.insert(all.end(), std::make_move_iterator(rows.begin()),
                   std::make_move_iterator(rows.end()));
    }
    return all;
}

// Edit distance with transpositions (optimal string alignment), case-insensitive.
std::size_t distance(std::string_view a, std::string_view b) {
    auto low = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = low(a[i - 1]) == low(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && low(a[i - 1]) == low(b[j - 2]) && low(a[i - 2]) == low(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

} // namespace

std::span<const option> options() {
    static const std::vector<option> table = build();
    return table;
}

const option* find_flag(std::string_view flag) {
    for (const auto& o : options()) {
        if (!o.about.flag.empty() && o.about.flag == flag) return &o;
        if (o.about.short_flag != 0 && flag.size() == 2 && flag[0] == '-' &&
            flag[1] == o.about.short_flag)
            return &o;
    }
    return nullptr;
}

const option* find_key(std::string_view key) {
    for (const auto& o : options())
        if (!o.about.key.empty() && o.about.key == key) return &o;
    return nullptr;
}

std::string_view closest(std::string_view name, const std::vector<std::string_view>& candidates) {
    std::string_view best;
    std::size_t best_distance = 3; // at most two edits
    for (auto c : candidates) {
        const auto d = distance(name, c);
        if (d < best_distance && d * 3 <= name.size()) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

void finish(settings& s, bool access_log_given) {
    if (s.listen.empty()) s.listen = settings{}.listen;
    // The flow log on stdout owns it, unless an access log was asked for explicitly.
    if (s.flow && s.flow_log == "-" && !access_log_given) s.access_log = "off";
    if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());
}

} // namespace ferry::config
